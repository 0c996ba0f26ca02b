"""IBM Runtime execution: Sampler jobs, sessions and batches, retries, and job bookkeeping.

:class:`RuntimeJobs` runs bound ISA circuits of one device as Sampler jobs
(``qiskit_ibm_runtime.executor_sampler.Sampler``, the primitive 0.51 recommends; its SamplerV2 is
deprecated) on ``ibm_local:`` (local testing mode) and ``ibm:`` (IBM Quantum hardware) backends.
It picks the execution mode (one job, or a Session/Batch opened on first use and kept until
:meth:`RuntimeJobs.close`), sets the Sampler's twirling and dynamical decoupling options (with
``mitigation=trex`` IBM Runtime twirls every measurement), and keeps each job's id, QPU seconds
and queue seconds. Transient service errors are retried with exponential backoff; a job is never
submitted twice; a failed, cancelled or timed-out job raises :class:`~qbench.errors.HardwareError`
naming it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from qiskit import QuantumCircuit

from qbench.errors import HardwareError
from qbench.hardware.devices import runtime_module

T = TypeVar("T")


class RuntimeJobs:
    """Sampler jobs of one device: execution mode, submission with retries, job records.

    ``name`` is the backend's name (for messages), ``device`` the IBM Runtime backend (or fake
    device), ``options`` the device-backend options (:data:`~.devices.PARAMS`) and ``local``
    True for the local testing mode (seeded simulator, no QPU seconds).
    """

    def __init__(self, name: str, device: Any, options: dict[str, Any], *, local: bool = False):
        self.name, self.device, self.options, self.local = name, device, options, local
        #: one record per job: job_id, status, shots, circuits, qpu_s, queue_s, retries
        self.jobs: list[dict[str, Any]] = []
        self._mode_obj: Any = None

    @property
    def is_open(self) -> bool:
        """True while a Session or Batch is open (close it with :meth:`close`)."""
        return self._mode_obj is not None

    def sampler_options(self, seed: int) -> dict[str, Any]:
        """The Sampler's options: twirling (measurement twirling for TREX), dynamical
        decoupling, and the simulator's seed in local testing mode."""
        o = self.options
        twirl, trex = o["twirling"], o["mitigation"] == "trex"
        opts: dict[str, Any] = {
            "twirling": {
                "enable_gates": twirl in ("gates", "all"),
                "enable_measure": twirl in ("measure", "all") or trex,
            },
            "dynamical_decoupling": {"enable": o["dd"] != "none"},
        }
        if trex:
            opts["twirling"]["num_randomizations"] = o["trex_randomizations"]
        if o["dd"] != "none":
            opts["dynamical_decoupling"]["sequence_type"] = o["dd"]
        if self.local:
            opts["simulator"] = {"seed_simulator": seed}
        return opts

    def execution_mode(self, iterative: bool) -> Any:
        """The backend (job mode), or a Session/Batch opened on first use and kept."""
        mode = self.options["mode"]
        if mode == "auto":
            mode = "session" if iterative else "batch"
        if mode == "job":
            return self.device
        runtime = runtime_module()
        kind = runtime.Session if mode == "session" else runtime.Batch
        if not isinstance(self._mode_obj, kind):
            self.close()
            self._mode_obj = kind(backend=self.device)
        return self._mode_obj

    def submit(
        self, circuits: list[QuantumCircuit], shots: int, seed: int, iterative: bool
    ) -> list[dict[str, int]]:
        """One Sampler job of ``circuits``; counts per circuit.

        Transient service errors are retried with backoff, separately for the submission and
        for the wait: a job whose status poll failed is waited on again, never resubmitted
        (that would run and bill it twice). A job that fails, is cancelled or times out (then
        it is cancelled) raises HardwareError naming the job.
        """
        from qiskit_ibm_runtime.executor_sampler import Sampler

        def submit():
            mode = self.execution_mode(iterative)
            sampler = Sampler(mode=mode, options=self.sampler_options(seed))
            return sampler.run(circuits, shots=int(shots))

        job, retries = self.retrying(submit, "submitting a job")
        try:
            result, waits = self.retrying(
                lambda: wait_for_result(job, self.options["job_timeout_s"]),
                f"waiting for job {job_id(job)}",
            )
        except HardwareError as exc:
            failure = job_failure(exc.__cause__) if exc.__cause__ is not None else None
            if failure == "timed out":
                with contextlib.suppress(Exception):
                    job.cancel()  # do not leave it queued, billing later
            self.record(job, shots, len(circuits), status=failure or "error", retries=retries)
            raise
        self.record(job, shots, len(circuits), status="done", retries=retries + waits)
        return [pub_counts(pub) for pub in result]

    def retrying(self, call: Callable[[], T], what: str) -> tuple[T, int]:
        """(call(), retries used): transient errors retried after backoff_s·2^k seconds."""
        attempt = 0
        while True:
            try:
                return call(), attempt
            except Exception as exc:
                failure = job_failure(exc)
                if failure is not None:
                    raise HardwareError(
                        f"backend {self.name!r}: {what.replace('waiting for ', '')} {failure}: "
                        f"{exc}"
                    ) from exc
                if attempt >= self.options["max_retries"] or not is_transient(exc):
                    raise HardwareError(
                        f"backend {self.name!r}: {what} failed after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(self.options["backoff_s"] * 2**attempt)
                attempt += 1

    def record(self, job: Any, shots: int, n_circuits: int, status: str, retries: int = 0) -> None:
        """Keep the job's id, QPU seconds and queue seconds (None where the service has none)."""
        qpu = queue = None
        if job is not None:
            try:
                metrics = job.metrics() or {}
            except Exception:  # metrics are bookkeeping: never lose a result over them
                metrics = {}
            usage = metrics.get("usage") or {}
            qpu = usage.get("quantum_seconds", usage.get("qpu_charge_time_seconds"))
            stamps = metrics.get("timestamps") or {}
            queue = seconds_between(stamps.get("created"), stamps.get("running"))
            if self.local:
                qpu = None  # local testing mode charges nothing and runs no QPU
        self.jobs.append({
            "job_id": job_id(job), "status": status, "shots": int(shots),
            "circuits": int(n_circuits), "qpu_s": qpu, "queue_s": queue, "retries": retries,
        })  # fmt: skip

    def close(self) -> None:
        """Close an open Session/Batch (safe to call twice)."""
        if self._mode_obj is not None:
            try:
                self._mode_obj.close()
            finally:
                self._mode_obj = None


def pub_counts(pub: Any) -> dict[str, int]:
    """Counts of a sampler pub result's (single) classical register."""
    data = pub.data
    names = list(data.keys()) if hasattr(data, "keys") else [n for n in vars(data)]
    return getattr(data, names[0]).get_counts()


def wait_for_result(job: Any, timeout: float) -> Any:
    """The job's result; the local testing mode's job takes no timeout."""
    try:
        return job.result(timeout=timeout)
    except TypeError:
        return job.result()


def job_id(job: Any) -> str | None:
    """The job's id, or None (no job, or the service cannot say)."""
    try:
        return None if job is None else str(job.job_id())
    except Exception:
        return None


def job_failure(exc: BaseException) -> str | None:
    """How a job ended badly ("failed", "was cancelled", "timed out"), else None."""
    from qiskit_ibm_runtime.exceptions import (
        RuntimeInvalidStateError,
        RuntimeJobFailureError,
        RuntimeJobMaxTimeoutError,
        RuntimeJobTimeoutError,
    )

    if isinstance(exc, RuntimeInvalidStateError) and "cancel" in str(exc).lower():
        return "was cancelled"
    if isinstance(exc, RuntimeJobFailureError):
        return "failed"
    if isinstance(exc, (RuntimeJobTimeoutError, RuntimeJobMaxTimeoutError)):
        return "timed out"
    return None


def is_transient(exc: BaseException | None) -> bool:
    """Errors worth retrying: 5xx/429 answers and connection problems of the service, also
    when the client wraps them (IBMRuntimeError from a RequestsApiError)."""
    import requests
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, RequestsApiError):  # status -1: no answer (connection, retries)
            code = getattr(exc, "status_code", -1)
            return code is None or code < 0 or code == 429 or code >= 500
        if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError)):
            return True
        if type(exc).__name__ == "IBMRuntimeError" and re.search(r"\b(5\d\d|429)\b", str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from ISO timestamp ``start`` to ``end`` (never negative), None if either is
    missing or unreadable."""
    if not start or not end:
        return None
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (b - a).total_seconds())
