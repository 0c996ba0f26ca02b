"""Offline fake of the IBM Quantum Platform REST service, faked at the HTTP transport.

Why: qbench's ``ibm:<backend>`` hardware path must be tested with the *real*
qiskit-ibm-runtime client classes (QiskitRuntimeService, IBMBackend, Session, Batch,
``executor_sampler.Sampler``, RuntimeJobV2, RetrySession retries, IAM auth) but
without network access or an IBM account. This module replaces only the transport:
``urllib3.connectionpool.HTTPConnectionPool._make_request`` (the call that would write
the request to a socket and read the reply) is patched, so ``requests``, the client's
``HTTPAdapter``/``urllib3`` retry loop (``PostForcelistRetry``), the IAM token manager of
``ibm_cloud_sdk_core`` and the IBM Platform Services SDK all run unchanged and every
HTTP request they make is answered by an in-process :class:`FakeIBMServer`.
As a second guard, inside :func:`fake_ibm_service` ``socket.socket.connect`` and
``socket.getaddrinfo`` raise ``AssertionError`` for any non-loopback address, and proxy
environment variables are removed, so no real traffic can leave the process.

Endpoints faked (anything else raises ``AssertionError("... METHOD URL")`` and is also
kept in ``FakeIBMServer.unexpected``, re-raised when the context manager exits):

IBM Cloud (account / instance discovery, used by ``QiskitRuntimeService.__init__``):

* ``POST https://iam.cloud.ibm.com/identity/token`` (IAM API-key -> bearer JWT)
  [endpoint name ``iam_token``]
* ``POST https://api.global-search-tagging.cloud.ibm.com/v3/resources/search``
  (instances of the account) [``global_search``]
* ``GET https://globalcatalog.cloud.ibm.com/api/v1/{plan_id}`` (plan name / pricing)
  [``global_catalog``]

IBM Quantum Platform API, ``https://[<region>.]quantum.cloud.ibm.com/api/v1`` (bearer
token and ``Service-CRN`` header are checked):

* ``GET /backends`` [``backends``]; ``GET /backends/{name}/configuration``
  [``backend_configuration``], ``/properties`` [``backend_properties``], ``/status``
  [``backend_status``]
* ``GET /instances/usage`` [``instance_usage``]
* ``POST /jobs`` (submit) [``job_submit``]; ``GET /jobs`` (list) [``jobs_list``]
* ``GET /jobs/{id}`` (status) [``job_get``]; ``DELETE /jobs/{id}`` [``job_delete``]
* ``GET /jobs/{id}/results`` [``job_results``]; ``GET /jobs/{id}/metrics``
  [``job_metrics``]; ``GET /jobs/{id}/logs`` [``job_logs``]
* ``POST /jobs/{id}/cancel`` [``job_cancel``]; ``PUT /jobs/{id}/tags`` [``job_tags``]
* ``POST /sessions`` (Session: mode ``dedicated``; Batch: mode ``batch``)
  [``session_create``]; ``GET /sessions/{id}`` [``session_get``];
  ``PATCH /sessions/{id}`` (close: stop accepting jobs) [``session_close``];
  ``DELETE /sessions/{id}/close`` (cancel) [``session_cancel``]

Jobs are executed for real: the submitted executor ``params`` (schema v2.0, as sent by
``executor_sampler.Sampler`` / ``Executor``) are decoded with the client's own
``QUANTUM_PROGRAM_PARAMS_CONVERTERS``, run with the client's local simulation
``fake_provider.executor.run_quantum_program.run_quantum_program`` on the served fake
device (Aer with the device's noise model), and the result is returned as an
``ibm_quantum_schemas`` ``QuantumProgramResultModel`` v2.0 JSON document, which the client
decodes with its normal decoder chain into a ``PrimitiveResult``. Like the real service,
a job whose circuits are not ISA for the device (unsupported gate or qubit pair) ends in
state ``Failed`` (knob ``validate_isa``); only program ``executor`` is accepted (other
program ids get HTTP 400 at submit).

Timing model (deterministic, so tests can assert on it):

* ``created``: wall-clock UTC time of the submit request;
* ``running = created + queue_seconds`` (server knob, default 1.0 s);
* ``quantum_seconds = qpu_overhead_seconds + sum over items of
  elements * shots * (rep_delay + circuit_duration)`` where ``rep_delay`` is the device's
  ``default_rep_delay`` and ``circuit_duration`` is
  ``QuantumCircuit.estimate_duration(target)`` (0 when it cannot be estimated);
* ``finished = running + quantum_seconds``.

Job state on ``GET /jobs/{id}``: ``Queued`` for the first ``polls_queued`` polls,
``Running`` for the next ``polls_running`` polls, then the final state (``Completed``,
``Failed`` or ``Cancelled``); the simulation runs when the job first reaches its final
state. Both poll knobs default to 0 (the first poll already sees the final state).

Besides the transport, :func:`fake_ibm_service` only (optionally) patches the client's
saved-account file location (``isolate_accounts``) and the urllib3 retry back-off
(``fast_retries``, off by default).

Public entry points: :class:`FakeIBMServer`, :func:`fake_ibm_service`,
:func:`credentials_env`, :func:`isolated_account_config`, :class:`RecordedRequest`,
:class:`FakeJob`, :class:`FakeSession`, constants :data:`DEFAULT_CRN`,
:data:`DEFAULT_TOKEN`, :data:`DEFAULT_BACKEND_NAME`, :data:`QUANTUM_API`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import math
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import numpy as np
import urllib3.connectionpool
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry

DEFAULT_CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:def::"
"""Instance CRN served by default (region us-east -> https://quantum.cloud.ibm.com)."""

DEFAULT_TOKEN = "fake-token"
"""API key accepted by the fake IAM endpoint by default."""

DEFAULT_BACKEND_NAME = "ibm_fake_manila"
"""Name under which FakeManilaV2 is served by default."""

QUANTUM_API = "https://quantum.cloud.ibm.com/api/v1"
"""Base URL the client resolves for a us-east CRN."""

_QUANTUM_HOST = re.compile(r"^(?:[a-z0-9-]+\.)?quantum\.cloud\.ibm\.com$")
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}
_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    520: "Unknown Error",
}


class _HTTPError(Exception):
    """An HTTP error reply produced by a handler."""

    def __init__(self, status: int, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else status


@dataclass
class RecordedRequest:
    """One HTTP request seen by the fake (also the ones answered with an injected error)."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]
    endpoint: str | None
    status: int | None = None


@dataclass
class FakeSession:
    """Server-side state of a Session (mode ``dedicated``) or Batch (mode ``batch``)."""

    id: str
    mode: str
    backend_name: str | None
    instance: str | None
    max_ttl: int | None
    created: datetime
    accepting_jobs: bool = True
    state: str = "open"
    closed_at: datetime | None = None
    cancelled: bool = False

    def to_dict(self, jobs: Sequence[FakeJob]) -> dict[str, Any]:
        """Session details in the ``GET /sessions/{id}`` format."""
        mine = [j for j in jobs if j.session_id == self.id]
        started = [j.running for j in mine if j.final_status is not None]
        done = [j.finished for j in mine if j.final_status is not None]
        return {
            "id": self.id,
            "backend_name": self.backend_name,
            "mode": self.mode,
            "interactive_ttl": 60,
            "max_ttl": self.max_ttl or 28800,
            "active_ttl": self.max_ttl or 28800,
            "state": self.state,
            "accepting_jobs": self.accepting_jobs,
            "started_at": _iso(self.created),
            "activated_at": _iso(min(started)) if started else None,
            "last_job_started": _iso(max(started)) if started else None,
            "last_job_completed": _iso(max(done)) if done else None,
            "closed_at": _iso(self.closed_at) if self.closed_at else None,
            "elapsed_time": round(sum(j.quantum_seconds for j in mine if j.final_status), 3),
            "timestamps": [{"status": "open", "timestamp": _iso(self.created)}]
            + ([{"status": "closed", "timestamp": _iso(self.closed_at)}] if self.closed_at else []),
        }


@dataclass
class FakeJob:
    """Server-side state of one submitted job."""

    id: str
    program_id: str
    backend_name: str
    params: dict[str, Any]
    session_id: str | None
    tags: list[str]
    created: datetime
    queue_seconds: float
    estimated_quantum_seconds: float
    outcome: tuple[str, str, int | None] | None
    """Injected final outcome: ("failed"|"cancelled", reason, reason_code) or None."""
    polls: int = 0
    final_status: str | None = None
    """``Completed`` / ``Failed`` / ``Cancelled`` once final, else None."""
    reason: str | None = None
    reason_code: int | None = None
    result_text: str | None = None
    quantum_seconds: float = 0.0
    running: datetime | None = None
    finished: datetime | None = None
    num_qubits: list[int] = field(default_factory=list)
    circuit_depths: list[int] = field(default_factory=list)

    def status(self, polls_queued: int, polls_running: int) -> str:
        """API status string for the current number of polls."""
        if self.final_status is not None:
            return self.final_status
        if self.polls <= polls_queued:
            return "Queued"
        return "Running"

    def usage(self) -> dict[str, Any]:
        """Usage block shared by the job and metrics responses."""
        if self.final_status is None:
            return {"status": "pending"}
        qs = round(self.quantum_seconds, 3)
        return {
            "quantum_seconds": qs,
            "seconds": qs,
            "qpu_charge_time_seconds": qs,
            "status": "final",
        }


def _iso(when: datetime) -> str:
    """UTC ISO-8601 with millisecond precision and a ``Z`` suffix, like the real API."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _new_id() -> str:
    """A 20 character lowercase id, shaped like IBM job/session ids."""
    return "d" + uuid.uuid4().hex[:19]


def _fake_jwt(subject: str, lifetime: int = 3600) -> str:
    """An unsigned-but-well-formed JWT; the client only decodes ``iat``/``exp``."""

    def b64(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    header = b64({"alg": "RS256", "typ": "JWT", "kid": "fake"})
    payload = b64({"iam_id": subject, "sub": subject, "iat": now, "exp": now + lifetime})
    return f"{header}.{payload}.ZmFrZS1zaWduYXR1cmU"


def _served_name(device: Any) -> str:
    """Default served name of a fake device: ``fake_manila`` -> ``ibm_fake_manila``."""
    return f"ibm_{device.backend_name}"


class FakeIBMServer:
    """In-process fake of the IBM Quantum Platform REST service.

    Args:
        devices: Fake devices to serve (``FakeBackendV2`` instances from
            ``qiskit_ibm_runtime.fake_provider``), either a mapping ``served name -> device``
            or a sequence (served as ``"ibm_" + device.backend_name``). Default:
            ``{"ibm_fake_manila": FakeManilaV2()}``.
        crn: Instance CRN of the (single) account instance.
        api_key: API key accepted by the IAM endpoint; ``None`` accepts any key.
        instance_name: Instance name reported by Global Search.
        plan: Plan display name reported by the Global Catalog.
        seed: Base seed of the simulations (job ``n`` uses ``seed + n``); ``None`` = random.
        queue_seconds: Simulated queue time (``running - created``) of every job.
        qpu_overhead_seconds: Fixed per-job QPU time added to the shot time.
        polls_queued: Number of ``GET /jobs/{id}`` polls answered ``Queued``.
        polls_running: Number of following polls answered ``Running``.
        noiseless: Simulate without the device noise model.
        validate_isa: Fail jobs whose circuits use instructions or qubit pairs the device
            target does not support (the real service rejects non-ISA circuits too).
    """

    def __init__(
        self,
        devices: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        crn: str = DEFAULT_CRN,
        api_key: str | None = DEFAULT_TOKEN,
        instance_name: str = "fake-instance",
        plan: str = "Open",
        seed: int | None = 1234,
        queue_seconds: float = 1.0,
        qpu_overhead_seconds: float = 1.0,
        polls_queued: int = 0,
        polls_running: int = 0,
        noiseless: bool = False,
        validate_isa: bool = True,
    ) -> None:
        if devices is None:
            from qiskit_ibm_runtime.fake_provider import FakeManilaV2

            devices = {DEFAULT_BACKEND_NAME: FakeManilaV2()}
        elif not isinstance(devices, Mapping):
            devices = {_served_name(d): d for d in devices}
        self.devices: dict[str, Any] = dict(devices)
        self.crn = crn
        self.api_key = api_key
        self.instance_name = instance_name
        self.plan = plan
        self.seed = seed
        self.queue_seconds = queue_seconds
        self.qpu_overhead_seconds = qpu_overhead_seconds
        self.polls_queued = polls_queued
        self.polls_running = polls_running
        self.noiseless = noiseless
        self.validate_isa = validate_isa
        self.backend_status: dict[str, dict[str, Any]] = {
            name: {"state": True, "status": "active", "message": "", "length_queue": 0}
            for name in self.devices
        }
        """Per-backend ``GET /backends/{name}/status`` payload (editable knob)."""
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[str] = []
        self.jobs: dict[str, FakeJob] = {}
        self.sessions: dict[str, FakeSession] = {}
        self._failures: dict[str, deque[tuple[int | None, str]]] = {}
        self._outcomes: deque[tuple[str, str, int | None]] = deque()
        self._tokens: set[str] = set()
        self._job_counter = itertools.count()
        self._lock = threading.RLock()
        self._plan_id = "fake-plan-" + uuid.uuid4().hex[:8]
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ knobs
    def fail_next(
        self,
        endpoint: str,
        count: int = 1,
        status: int | None = 502,
        message: str = "injected transient error",
    ) -> None:
        """Answer the next ``count`` requests to ``endpoint`` with an error.

        ``endpoint`` is one of the names listed in the module docstring (e.g.
        ``"job_submit"``, ``"job_get"``, ``"backends"``). ``status`` is the HTTP status
        (502/503/504/520... are retried by the client's ``RetrySession``, also for POST);
        ``status=None`` simulates a dropped connection (``ConnectionResetError``).
        """
        if endpoint not in {r[3] for r in self._routes}:
            raise ValueError(f"unknown endpoint name {endpoint!r}")
        with self._lock:
            queue = self._failures.setdefault(endpoint, deque())
            queue.extend([(status, message)] * count)

    def fail_next_job(
        self, message: str = "Fake job failure", reason_code: int | None = None
    ) -> None:
        """Make the next submitted job end in state ``Failed`` with ``message`` as reason."""
        with self._lock:
            self._outcomes.append(("failed", message, reason_code))

    def cancel_next_job(self, reason: str = "Job cancelled by the fake server") -> None:
        """Make the next submitted job end in state ``Cancelled``."""
        with self._lock:
            self._outcomes.append(("cancelled", reason, None))

    # ---------------------------------------------------------- inspection
    def requests_to(self, endpoint: str, *, ok_only: bool = False) -> list[RecordedRequest]:
        """Recorded requests to an endpoint name (optionally only the 2xx ones)."""
        return [
            r
            for r in self.requests
            if r.endpoint == endpoint and (not ok_only or 200 <= (r.status or 0) < 300)
        ]

    def submitted_jobs(self) -> list[FakeJob]:
        """Accepted jobs in submission order."""
        return list(self.jobs.values())

    def service_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``QiskitRuntimeService`` that authenticate to this fake."""
        return {
            "channel": "ibm_quantum_platform",
            "token": self.api_key or DEFAULT_TOKEN,
            "instance": self.crn,
        }

    def usage_consumed_seconds(self) -> float:
        """QPU seconds of all jobs that reached a final state."""
        return round(sum(j.quantum_seconds for j in self.jobs.values() if j.final_status), 3)

    # -------------------------------------------------------------- routing
    def _build_routes(self) -> list[tuple[str, str, re.Pattern[str], str, Callable[..., Any]]]:
        q = "quantum"
        raw = [
            ("POST", "iam", r"/identity/token", "iam_token", self._iam_token),
            ("POST", "search", r"/v3/resources/search", "global_search", self._global_search),
            ("GET", "catalog", r"/api/v1/(?P<plan>[^/]+)", "global_catalog", self._catalog),
            ("GET", q, r"/api/v1/backends", "backends", self._backends),
            (
                "GET",
                q,
                r"/api/v1/backends/(?P<name>[^/]+)/configuration",
                "backend_configuration",
                self._backend_configuration,
            ),
            (
                "GET",
                q,
                r"/api/v1/backends/(?P<name>[^/]+)/properties",
                "backend_properties",
                self._backend_properties,
            ),
            (
                "GET",
                q,
                r"/api/v1/backends/(?P<name>[^/]+)/status",
                "backend_status",
                self._backend_status,
            ),
            ("GET", q, r"/api/v1/instances/usage", "instance_usage", self._instance_usage),
            ("POST", q, r"/api/v1/jobs", "job_submit", self._job_submit),
            ("GET", q, r"/api/v1/jobs", "jobs_list", self._jobs_list),
            ("GET", q, r"/api/v1/jobs/(?P<job>[^/]+)", "job_get", self._job_get),
            ("DELETE", q, r"/api/v1/jobs/(?P<job>[^/]+)", "job_delete", self._job_delete),
            ("GET", q, r"/api/v1/jobs/(?P<job>[^/]+)/results", "job_results", self._job_results),
            ("GET", q, r"/api/v1/jobs/(?P<job>[^/]+)/metrics", "job_metrics", self._job_metrics),
            ("GET", q, r"/api/v1/jobs/(?P<job>[^/]+)/logs", "job_logs", self._job_logs),
            ("POST", q, r"/api/v1/jobs/(?P<job>[^/]+)/cancel", "job_cancel", self._job_cancel),
            ("PUT", q, r"/api/v1/jobs/(?P<job>[^/]+)/tags", "job_tags", self._job_tags),
            ("POST", q, r"/api/v1/sessions", "session_create", self._session_create),
            ("GET", q, r"/api/v1/sessions/(?P<sid>[^/]+)", "session_get", self._session_get),
            ("PATCH", q, r"/api/v1/sessions/(?P<sid>[^/]+)", "session_close", self._session_close),
            (
                "DELETE",
                q,
                r"/api/v1/sessions/(?P<sid>[^/]+)/close",
                "session_cancel",
                self._session_cancel,
            ),
        ]
        return [(m, h, re.compile(f"^{p}$"), n, f) for m, h, p, n, f in raw]

    @staticmethod
    def _host_kind(host: str) -> str | None:
        if host == "iam.cloud.ibm.com":
            return "iam"
        if host == "api.global-search-tagging.cloud.ibm.com":
            return "search"
        if host == "globalcatalog.cloud.ibm.com":
            return "catalog"
        if _QUANTUM_HOST.match(host):
            return "quantum"
        return None

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: returns ``(status, headers, body)``.

        Raises ``AssertionError`` for a URL the fake does not implement and
        ``ConnectionResetError`` for an injected dropped connection.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        hdrs = {str(k): str(v) for k, v in dict(headers or {}).items()}
        payload = _parse_body(body, hdrs)
        query = parse_qs(parts.query, keep_blank_values=True)
        kind = self._host_kind(host)
        match = None
        for r_method, r_kind, pattern, name, func in self._routes:
            if r_method == method.upper() and r_kind == kind:
                m = pattern.match(parts.path)
                if m:
                    match = (name, func, m.groupdict())
                    break
        record = RecordedRequest(
            method=method.upper(),
            url=url,
            host=host,
            path=parts.path,
            query=query,
            json=payload,
            headers=hdrs,
            endpoint=match[0] if match else None,
        )
        with self._lock:
            self.requests.append(record)
            if match is None:
                msg = f"fake IBM server: unexpected request {method.upper()} {url}"
                self.unexpected.append(msg)
                raise AssertionError(msg)
            name, func, groups = match
            failures = self._failures.get(name)
            if failures:
                status, message = failures.popleft()
                if status is None:
                    record.status = -1
                    raise ConnectionResetError(f"fake IBM server: {message} ({name})")
                record.status = status
                return _error_reply(status, f"{message} ({name})", status)
            try:
                if kind == "quantum":
                    self._check_auth(hdrs)
                result = func(payload=payload, query=query, headers=hdrs, **groups)
            except _HTTPError as err:
                record.status = err.status
                return _error_reply(err.status, err.message, err.code)
            record.status = 200
            if isinstance(result, tuple):
                status, text = result
                record.status = status
                return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
            if isinstance(result, str):
                return 200, {"Content-Type": "text/plain; charset=utf-8"}, result.encode()
            return 200, _JSON_HEADERS, json.dumps(result).encode()

    def _check_auth(self, headers: Mapping[str, str]) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        auth = lower.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self._tokens:
            raise _HTTPError(401, "Invalid or missing bearer token.", "UNAUTHORIZED")
        if lower.get("service-crn") != self.crn:
            raise _HTTPError(
                403, f"Instance {lower.get('service-crn')!r} is not accessible.", "FORBIDDEN"
            )

    # ----------------------------------------------------------- IBM Cloud
    def _iam_token(self, payload: Any, **_: Any) -> dict[str, Any]:
        data = payload if isinstance(payload, dict) else {}
        key = data.get("apikey")
        if self.api_key is not None and key != self.api_key:
            raise _HTTPError(400, "Provided API key could not be found.", "BXNIM0415E")
        token = _fake_jwt(f"IBMid-{key}")
        self._tokens.add(token)
        now = int(time.time())
        return {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": 3600,
            "expiration": now + 3600,
            "scope": "ibm openid",
        }

    def _check_cloud_bearer(self, headers: Mapping[str, str]) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        token = lower.get("authorization", "").removeprefix("Bearer ")
        if token not in self._tokens:
            raise _HTTPError(401, "Invalid IAM token.", "UNAUTHORIZED")

    def _global_search(self, headers: Mapping[str, str], **_: Any) -> dict[str, Any]:
        self._check_cloud_bearer(headers)
        item = {
            "crn": self.crn,
            "name": self.instance_name,
            "service_plan_unique_id": self._plan_id,
            "doc": {"extensions": {"fake_allocation": True}},
            "tags": [],
        }
        return {"items": [item], "limit": 100}

    def _catalog(self, headers: Mapping[str, str], plan: str, **_: Any) -> dict[str, Any]:
        self._check_cloud_bearer(headers)
        if plan != self._plan_id:
            raise _HTTPError(404, f"Catalog entry {plan} not found.")
        pricing = "free" if self.plan.lower() == "open" else "paid"
        return {
            "id": plan,
            "overview_ui": {"en": {"display_name": self.plan}},
            "metadata": {"pricing": {"type": pricing}},
        }

    # ------------------------------------------------------------ backends
    def _device(self, name: str) -> Any:
        try:
            return self.devices[name]
        except KeyError:
            raise _HTTPError(404, f"Backend {name} not found.", 1216) from None

    def _backends(self, **_: Any) -> dict[str, Any]:
        devices = []
        for name, dev in self.devices.items():
            st = self.backend_status[name]
            devices.append(
                {
                    "name": name,
                    "qubits": dev.num_qubits,
                    "physical_qubits": dev.num_qubits,
                    "status": {"name": "online" if st["state"] else "offline", "reason": ""},
                    "queue_length": st["length_queue"],
                    "is_simulator": False,
                    "processor_type": dev._conf_dict.get("processor_type", {}),
                }
            )
        return {"devices": devices}

    def _backend_configuration(self, name: str, **_: Any) -> dict[str, Any]:
        dev = self._device(name)
        conf = dev._load_json(dev.conf_filename)
        conf["backend_name"] = name
        return conf

    def _backend_properties(self, name: str, **_: Any) -> dict[str, Any]:
        dev = self._device(name)
        props = dev._load_json(dev.props_filename)
        props["backend_name"] = name
        return props

    def _backend_status(self, name: str, **_: Any) -> dict[str, Any]:
        dev = self._device(name)
        return {"backend_version": dev.backend_version, **self.backend_status[name]}

    def _instance_usage(self, **_: Any) -> dict[str, Any]:
        return {
            "instance_id": self.crn,
            "plan_id": self._plan_id,
            "usage_consumed_seconds": self.usage_consumed_seconds(),
            "usage_limit_reached": False,
        }

    # ---------------------------------------------------------------- jobs
    def _job(self, job: str) -> FakeJob:
        try:
            return self.jobs[job]
        except KeyError:
            raise _HTTPError(404, f"Job {job} not found.", 1291) from None

    def _job_submit(self, payload: Any, **_: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise _HTTPError(400, "Request body must be a JSON object.")
        program_id = payload.get("program_id")
        if program_id != "executor":
            raise _HTTPError(
                400,
                f"fake IBM server only runs program 'executor', got {program_id!r}",
            )
        name = payload.get("backend")
        if name not in self.devices:
            raise _HTTPError(400, f"Backend {name} is not available.", 1216)
        session_id = payload.get("session_id")
        if session_id is not None:
            sess = self.sessions.get(session_id)
            if sess is None:
                raise _HTTPError(404, f"Session {session_id} not found.")
            if not sess.accepting_jobs:
                raise _HTTPError(409, f"Session {session_id} is closed and not accepting jobs.")
            if sess.backend_name and sess.backend_name != name:
                raise _HTTPError(400, f"Session {session_id} runs on {sess.backend_name}.")
            sess.state = "active"
        params = payload.get("params") or {}
        try:
            program, _options = _decode_program(params)
        except Exception as exc:  # a schema error is a 400 on the real service too
            raise _HTTPError(400, f"Invalid executor params: {exc}") from None
        device = self.devices[name]
        estimate = self._estimate_quantum_seconds(program, device)
        job = FakeJob(
            id=_new_id(),
            program_id=program_id,
            backend_name=name,
            params=params,
            session_id=session_id,
            tags=list(payload.get("tags") or []),
            created=datetime.now(UTC),
            queue_seconds=self.queue_seconds,
            estimated_quantum_seconds=estimate,
            outcome=self._outcomes.popleft() if self._outcomes else None,
            num_qubits=[item.circuit.num_qubits for item in program.items],
            circuit_depths=[item.circuit.depth() for item in program.items],
        )
        self.jobs[job.id] = job
        return {"id": job.id, "backend": name, "session_id": session_id}

    def _estimate_quantum_seconds(self, program: Any, device: Any) -> float:
        rep_delay = float(device._conf_dict.get("default_rep_delay", 250.0)) * 1e-6
        total = self.qpu_overhead_seconds
        for item in program.items:
            try:
                duration = float(item.circuit.estimate_duration(device.target, unit="s"))
            except Exception:
                duration = 0.0
            shape = getattr(item, "shape", ()) or ()
            elements = int(np.prod(shape)) if len(shape) else 1
            total += elements * program.shots * (rep_delay + duration)
        return total

    def _finish(self, job: FakeJob) -> None:
        """Move a job to its final state, running the simulation if it completes."""
        if job.final_status is not None:
            return
        job.running = job.created + timedelta(seconds=job.queue_seconds)
        if job.outcome is not None:
            kind, reason, code = job.outcome
            job.final_status = "Failed" if kind == "failed" else "Cancelled"
            job.reason, job.reason_code = reason, code
            job.result_text = reason
            job.quantum_seconds = 0.0
            job.finished = job.running
            return
        try:
            job.result_text = self._execute(job)
            job.final_status = "Completed"
            job.quantum_seconds = job.estimated_quantum_seconds
        except Exception as exc:
            job.final_status = "Failed"
            job.reason = f"Error running the program: {type(exc).__name__}: {exc}"
            job.result_text = job.reason
            job.quantum_seconds = 0.0
        job.finished = job.running + timedelta(seconds=job.quantum_seconds)

    def _execute(self, job: FakeJob) -> str:
        from qiskit_ibm_runtime.fake_provider.executor.run_quantum_program import (
            run_quantum_program,
        )
        from qiskit_ibm_runtime.options_models.simulator import SimulatorOptions

        program, _options = _decode_program(job.params)
        device = self.devices[job.backend_name]
        for idx, item in enumerate(program.items):
            if item.circuit.num_qubits > device.num_qubits:
                raise ValueError(
                    f"circuit {idx} has {item.circuit.num_qubits} qubits but "
                    f"{job.backend_name} has {device.num_qubits}"
                )
            if self.validate_isa and (problem := _isa_violation(item.circuit, device.target)):
                raise ValueError(f"circuit {idx} is not ISA for {job.backend_name}: {problem}")
            if (samplex := getattr(item, "samplex", None)) is not None:
                samplex.finalize()  # a deserialized samplex must be finalized before sampling
        n = next(self._job_counter)
        seed = None if self.seed is None else self.seed + n
        target_backend = device
        if self.noiseless:
            from qiskit_aer import AerSimulator

            target_backend = AerSimulator()
        result = run_quantum_program(target_backend, program, SimulatorOptions(seed_simulator=seed))
        start = job.created + timedelta(seconds=job.queue_seconds)
        stop = start + timedelta(seconds=job.estimated_quantum_seconds)
        return _encode_result(result, program, start, stop)

    def _job_dict(self, job: FakeJob, include_params: bool) -> dict[str, Any]:
        status = job.status(self.polls_queued, self.polls_running)
        state: dict[str, Any] = {"status": status}
        if job.reason:
            state["reason"] = job.reason
        if job.reason_code is not None:
            state["reason_code"] = job.reason_code
        out: dict[str, Any] = {
            "id": job.id,
            "backend": job.backend_name,
            "state": state,
            "status": status,
            "program": {"id": job.program_id},
            "created": _iso(job.created),
            "runtime": "",
            "session_id": job.session_id,
            "tags": job.tags,
            "private": False,
            "user_id": "fake-user",
            "estimated_running_time_seconds": round(job.estimated_quantum_seconds, 3),
            "usage": job.usage(),
        }
        if include_params:
            out["params"] = job.params
        return out

    def _job_get(self, job: str, query: Mapping[str, list[str]], **_: Any) -> dict[str, Any]:
        fj = self._job(job)
        if fj.final_status is None:
            fj.polls += 1
            if fj.polls > self.polls_queued + self.polls_running:
                self._finish(fj)
        include = query.get("exclude_params", ["false"])[0] != "true"
        return self._job_dict(fj, include)

    def _jobs_list(self, query: Mapping[str, list[str]], **_: Any) -> dict[str, Any]:
        jobs = list(self.jobs.values())
        if "backend" in query:
            jobs = [j for j in jobs if j.backend_name == query["backend"][0]]
        if "session_id" in query:
            jobs = [j for j in jobs if j.session_id == query["session_id"][0]]
        if "pending" in query:
            pending = query["pending"][0] == "true"
            jobs = [j for j in jobs if (j.final_status is None) == pending]
        if query.get("sort", ["DESC"])[0] != "ASC":
            jobs.reverse()
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", [str(len(jobs) or 1)])[0])
        page = jobs[offset : offset + limit]
        return {
            "jobs": [self._job_dict(j, include_params=False) for j in page],
            "count": len(jobs),
            "limit": limit,
            "offset": offset,
        }

    def _job_delete(self, job: str, **_: Any) -> tuple[int, str]:
        self._job(job)
        del self.jobs[job]
        return 204, ""

    def _job_results(self, job: str, **_: Any) -> str:
        fj = self._job(job)
        if fj.final_status is None or fj.result_text is None:
            raise _HTTPError(404, f"Results for job {job} are not available yet.")
        return fj.result_text

    def _job_metrics(self, job: str, **_: Any) -> dict[str, Any]:
        fj = self._job(job)
        final = fj.final_status is not None
        return {
            "timestamps": {
                "created": _iso(fj.created),
                "running": _iso(fj.running) if fj.running else None,
                "finished": _iso(fj.finished) if final and fj.finished else None,
            },
            "bss": {"seconds": round(fj.quantum_seconds, 3) if final else 0},
            "usage": fj.usage(),
            "executions": len(fj.num_qubits),
            "num_circuits": len(fj.num_qubits),
            "num_qubits": fj.num_qubits,
            "circuit_depths": fj.circuit_depths,
            "qiskit_version": "fake-ibm-server",
            "estimated_start_time": _iso(fj.created + timedelta(seconds=fj.queue_seconds)),
            "estimated_completion_time": _iso(
                fj.created + timedelta(seconds=fj.queue_seconds + fj.estimated_quantum_seconds)
            ),
            "position_in_queue": None if final else 0,
            "position_in_provider": None if final else 0,
        }

    def _job_logs(self, job: str, **_: Any) -> str:
        fj = self._job(job)
        return f"fake IBM server log for job {fj.id}: {fj.final_status or 'pending'}\n"

    def _job_cancel(self, job: str, **_: Any) -> tuple[int, str]:
        fj = self._job(job)
        if fj.final_status is not None:
            raise _HTTPError(409, f"Job {job} is in final state {fj.final_status}.", 1229)
        fj.outcome = ("cancelled", "Cancelled by user", None)
        self._finish(fj)
        return 204, ""

    def _job_tags(self, job: str, payload: Any, **_: Any) -> tuple[int, str]:
        fj = self._job(job)
        fj.tags = list((payload or {}).get("tags", []))
        return 204, ""

    # ------------------------------------------------------------ sessions
    def _session(self, sid: str) -> FakeSession:
        try:
            return self.sessions[sid]
        except KeyError:
            raise _HTTPError(404, f"Session {sid} not found.") from None

    def _session_create(self, payload: Any, **_: Any) -> dict[str, Any]:
        data = payload if isinstance(payload, dict) else {}
        backend = data.get("backend")
        if backend is not None:
            self._device(backend)
        mode = data.get("mode", "dedicated")
        if mode not in ("dedicated", "batch"):
            raise _HTTPError(400, f"Invalid session mode {mode!r}.")
        sess = FakeSession(
            id=_new_id(),
            mode=mode,
            backend_name=backend,
            instance=data.get("instance"),
            max_ttl=data.get("max_ttl"),
            created=datetime.now(UTC),
        )
        self.sessions[sess.id] = sess
        return sess.to_dict([])

    def _session_get(self, sid: str, **_: Any) -> dict[str, Any]:
        return self._session(sid).to_dict(list(self.jobs.values()))

    def _session_close(self, sid: str, payload: Any, **_: Any) -> tuple[int, str]:
        sess = self._session(sid)
        if isinstance(payload, dict) and payload.get("accepting_jobs") is False:
            sess.accepting_jobs = False
            sess.state = "closed"
            sess.closed_at = datetime.now(UTC)
        return 204, ""

    def _session_cancel(self, sid: str, **_: Any) -> tuple[int, str]:
        sess = self._session(sid)
        sess.accepting_jobs = False
        sess.cancelled = True
        sess.state = "closed"
        sess.closed_at = datetime.now(UTC)
        for fj in self.jobs.values():
            if fj.session_id == sid and fj.final_status is None:
                fj.outcome = ("cancelled", "Session cancelled", None)
                self._finish(fj)
        return 204, ""


_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _error_reply(status: int, message: str, code: int | str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "errors": [{"code": code, "message": message, "more_info": "fake IBM server"}],
        "trace": "fake-trace",
        "status_code": status,
    }
    return status, _JSON_HEADERS, json.dumps(body).encode()


def _parse_body(body: Any, headers: Mapping[str, str]) -> Any:
    """JSON body, form fields (as a flat dict) or None."""
    if body is None:
        return None
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not isinstance(body, str) or not body:
        return None
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if "x-www-form-urlencoded" in ctype:
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return body


def _decode_program(params: Mapping[str, Any]) -> tuple[Any, Any]:
    """Decode executor ``params`` with the client's own schema converters."""
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    version = params.get("schema_version")
    if version != "v2.0":
        raise ValueError(f"fake IBM server supports executor schema v2.0, got {version!r}")
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[version]
    return converter.decoder(converter.model.model_validate(params))


def _isa_violation(circuit: Any, target: Any, index: Mapping[Any, int] | None = None) -> str | None:
    """First instruction of ``circuit`` that ``target`` does not support, or None.

    Control-flow blocks (``if_else``, ``for_loop``, ``box``...) are checked recursively with
    their qubits mapped to the physical qubits of the enclosing instruction.
    """
    from qiskit.circuit import ControlFlowOp

    if index is None:
        index = {q: i for i, q in enumerate(circuit.qubits)}
    for inst in circuit.data:
        op = inst.operation
        qargs = tuple(index[q] for q in inst.qubits)
        if op.name == "barrier":
            continue
        if isinstance(op, ControlFlowOp):
            if op.name != "box" and op.name not in target.operation_names:
                return f"control flow {op.name!r} is not supported by the target"
            for block in op.blocks:
                inner = {bq: qargs[i] for i, bq in enumerate(block.qubits)}
                if problem := _isa_violation(block, target, inner):
                    return problem
            continue
        if not target.instruction_supported(op.name, qargs):
            return f"instruction {op.name!r} on qubits {qargs} is not supported by the target"
    return None


def _encode_result(result: Any, program: Any, start: datetime, stop: datetime) -> str:
    """Encode a local ``QuantumProgramResult`` as the server's v2.0 result JSON."""
    from ibm_quantum_schemas.common import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import (
        ChunkPart,
        ChunkSpan,
        ItemMetadataModel,
        MetadataModel,
        QuantumProgramResultItemModel,
        QuantumProgramResultModel,
    )
    from qiskit_ibm_runtime.quantum_program.converters.converters_2_0 import (
        passthrough_data_to_2_0,
    )

    items = []
    parts = []
    for idx, item in enumerate(result):
        arrays = {name: np.asarray(val) for name, val in dict(item).items()}
        items.append(
            QuantumProgramResultItemModel(
                results={k: CompressedTensorModel.from_numpy(v) for k, v in arrays.items()},
                metadata=ItemMetadataModel(),
            )
        )
        shape = tuple(getattr(program.items[idx], "shape", ()) or ())
        size = int(math.prod(shape)) if shape else 1
        parts.append(
            ChunkPart(
                idx_item=idx,
                size=size,
                permutation=list(range(len(shape))),
                element_range=(0, size, 1),
            )
        )
    model = QuantumProgramResultModel(
        data=items,
        metadata=MetadataModel(chunk_timing=[ChunkSpan(start=start, stop=stop, parts=parts)]),
        passthrough_data=passthrough_data_to_2_0(result.passthrough_data),
        semantic_role=result._semantic_role,
    )
    return model.model_dump_json()


# --------------------------------------------------------------------- transport patch
_ACTIVE: list[FakeIBMServer] = []


def _patched_make_request(
    self: urllib3.connectionpool.HTTPConnectionPool,
    conn: Any,
    method: str,
    url: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    retries: Retry | None = None,
    timeout: Any = None,
    chunked: bool = False,
    response_conn: Any = None,
    preload_content: bool = True,
    decode_content: bool = True,
    enforce_content_length: bool = True,
) -> HTTPResponse:
    """Replacement of ``HTTPConnectionPool._make_request``: ask the fake, never the socket."""
    default_port = 443 if self.scheme == "https" else 80
    port = f":{self.port}" if self.port and self.port != default_port else ""
    full_url = url if "://" in url else f"{self.scheme}://{self.host}{port}{url}"
    if not _ACTIVE:
        raise AssertionError(f"no fake IBM server active for {method} {full_url}")
    status, resp_headers, data = _ACTIVE[-1].handle(method, full_url, headers or {}, body)
    all_headers = {**resp_headers, "Content-Length": str(len(data))}
    response = HTTPResponse(
        body=io.BytesIO(data),
        headers=all_headers,
        status=status,
        version=11,
        version_string="HTTP/1.1",
        reason=_REASONS.get(status, "Unknown"),
        preload_content=preload_content,
        decode_content=decode_content,
        enforce_content_length=enforce_content_length,
        request_method=method,
        request_url=full_url,
        retries=retries,
    )
    response._connection = response_conn  # type: ignore[attr-defined]
    response._pool = self  # type: ignore[attr-defined]
    return response


def _no_proxy_prepare(self: Any, conn: Any) -> None:
    raise AssertionError(f"fake IBM server: proxy tunnel attempted to {self.host}")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    return host in _LOOPBACK or (isinstance(host, str) and host.startswith("127."))


def _guard_connect(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise AssertionError(f"fake IBM server: real network connect attempted to {address!r}")
    return _real_connect(sock, address)


def _guard_connect_ex(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise AssertionError(f"fake IBM server: real network connect attempted to {address!r}")
    return _real_connect_ex(sock, address)


def _guard_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise AssertionError(f"fake IBM server: DNS lookup attempted for {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@contextlib.contextmanager
def isolated_account_config(config_dir: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """Point the client's saved-account file at ``config_dir`` (a fresh temp dir by default).

    Also sets ``HOME`` there, so ``QiskitRuntimeService()`` cannot pick up (or create) the
    developer's ``~/.qiskit/qiskit-ibm.json``. Yields the account file path.
    """
    from qiskit_ibm_runtime.accounts import management

    with contextlib.ExitStack() as stack:
        if config_dir is None:
            config_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="fake-ibm-"))
        path = os.path.join(os.fspath(config_dir), ".qiskit", "qiskit-ibm.json")
        stack.enter_context(mock.patch.dict(os.environ, {"HOME": os.fspath(config_dir)}))
        stack.enter_context(
            mock.patch.object(management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", path)
        )
        yield path


@contextlib.contextmanager
def credentials_env(
    server: FakeIBMServer | None = None,
    *,
    token: str | None = None,
    instance: str | None = None,
    channel: str | None = "ibm_quantum_platform",
) -> Iterator[None]:
    """Set ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` / ``QISKIT_IBM_CHANNEL``.

    Values default to the ones that authenticate to ``server`` (or the module defaults);
    a ``None`` value removes the variable. Previous values are restored on exit.
    """
    values = {
        "QISKIT_IBM_TOKEN": token or (server.api_key if server and server.api_key else None),
        "QISKIT_IBM_INSTANCE": instance or (server.crn if server else DEFAULT_CRN),
        "QISKIT_IBM_CHANNEL": channel,
    }
    if values["QISKIT_IBM_TOKEN"] is None:
        values["QISKIT_IBM_TOKEN"] = DEFAULT_TOKEN
    with mock.patch.dict(os.environ):
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield


@contextlib.contextmanager
def fake_ibm_service(
    server: FakeIBMServer | None = None,
    *,
    isolate_accounts: bool = True,
    fast_retries: bool = False,
    check_unexpected: bool = True,
    **server_kwargs: Any,
) -> Iterator[FakeIBMServer]:
    """Route all HTTP(S) traffic of this process to a :class:`FakeIBMServer`.

    Args:
        server: The fake to use; by default ``FakeIBMServer(**server_kwargs)``.
        isolate_accounts: Also apply :func:`isolated_account_config` (temp dir), so no
            saved account of the developer is read or written.
        fast_retries: Make the client's urllib3 retry back-off sleep 0 s (the only patch
            outside the transport; off by default, for tests that exhaust retries).
        check_unexpected: On a clean exit, raise ``AssertionError`` if any request hit a
            URL the fake does not implement (client code may have swallowed it).
        **server_kwargs: Passed to :class:`FakeIBMServer` when ``server`` is None.

    Yields:
        The server; configure knobs and inspect ``requests`` / ``jobs`` / ``sessions``.
    """
    if server is None:
        server = FakeIBMServer(**server_kwargs)
    elif server_kwargs:
        raise TypeError("pass either a server or server keyword arguments, not both")
    pool_cls = urllib3.connectionpool.HTTPConnectionPool
    with contextlib.ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if k not in _PROXY_ENV}
        stack.enter_context(mock.patch.dict(os.environ, env, clear=True))
        stack.enter_context(mock.patch.object(pool_cls, "_make_request", _patched_make_request))
        stack.enter_context(mock.patch.object(pool_cls, "_prepare_proxy", _no_proxy_prepare))
        stack.enter_context(mock.patch.object(socket.socket, "connect", _guard_connect))
        stack.enter_context(mock.patch.object(socket.socket, "connect_ex", _guard_connect_ex))
        stack.enter_context(mock.patch.object(socket, "getaddrinfo", _guard_getaddrinfo))
        if fast_retries:
            stack.enter_context(mock.patch.object(Retry, "get_backoff_time", lambda self: 0.0))
        if isolate_accounts:
            stack.enter_context(isolated_account_config())
        _ACTIVE.append(server)
        try:
            yield server
        finally:
            _ACTIVE.remove(server)
        if check_unexpected and server.unexpected:
            raise AssertionError("; ".join(server.unexpected))
