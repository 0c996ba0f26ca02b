"""IBM devices: noisy Aer models, IBM Runtime local testing mode, and IBM Quantum hardware.

Three backend families share one code path, :class:`DeviceBackend`; only where the sampled
circuits run differs:

* ``aer_noisy:<device>`` — Aer with the noise model and target of a qiskit-ibm-runtime fake
  device (``fake_torino``, ``fake_fez``, ``fake_marrakesh``, ``fake_sherbrooke``, ...), compacted
  to the qubits each circuit uses (:mod:`qbench.hardware.noisy`);
* ``ibm_local:<device>`` — the IBM Runtime ``Sampler`` in local testing mode on the fake device:
  the code path hardware takes, simulated by qiskit-ibm-runtime itself;
* ``ibm:<backend>`` — IBM Quantum hardware through ``QiskitRuntimeService`` (saved account or
  ``QISKIT_IBM_*`` environment variables; ``channel``/``instance`` options).

Every circuit is transpiled once per ansatz to an ISA circuit of the device (preset pass
manager; standard QAOA routed with the commuting-gate swap strategy, :mod:`.transpile`) and run
through the Sampler (``qiskit_ibm_runtime.executor_sampler.Sampler``, the primitive 0.51
recommends; its SamplerV2 is deprecated). Expectations come from the samples: the QUBO energy
per sample, or for Pauli observables one measured circuit per qubit-wise commuting group.
``mitigation=trex`` is twirled readout-error extinction: every measurement is twirled by random
X flips (undone classically: by IBM Runtime's measurement twirling on ``ibm_local``/``ibm``; on
``aer_noisy`` every shot's readout is twirled in :mod:`.noisy`) and each Z-string
expectation is divided by its value on a calibration circuit |0…0⟩ run in the same job
(van den Berg et al., PRA 105, 032620).

Job ids, QPU seconds and queue seconds are kept per job and summed into the row; transient
service errors are retried with exponential backoff; a failed or cancelled job raises
:class:`~qbench.errors.HardwareError`, which the run records as an error row.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from qiskit import QuantumCircuit

from qbench.errors import ConfigError, HardwareError, ResourceError
from qbench.hardware.base import (
    Ansatz,
    Backend,
    Distribution,
    PauliAnsatz,
    QAOAAnsatz,
)
from qbench.hardware.circuits import distribution_from_counts, parameter_index
from qbench.params import Param

#: backend families: name prefix -> what follows the colon
FAMILIES = {"aer_noisy": "device", "ibm_local": "device", "ibm": "backend"}
#: the options every device backend takes (``--set backend.KEY=VALUE``, suites' backend_options)
PARAMS = (
    Param("optimization_level", int, 1, "preset pass manager level", (0, 1, 2, 3)),
    Param("layout", str, "default", "default, sabre, dense, trivial, or physical qubits '3,4,5'"),
    Param("seed_transpiler", int, 0, "seed of the transpiler's stochastic passes"),
    Param("routing", str, "auto", "auto: swap strategy for standard QAOA; default; swap_strategy",
          ("auto", "default", "swap_strategy")),
    Param("dd", str, "none", "dynamical decoupling sequence (IBM Runtime)",
          ("none", "XX", "XpXm", "XY4")),
    Param("twirling", str, "none", "Pauli twirling by IBM Runtime",
          ("none", "gates", "measure", "all")),
    Param("mitigation", str, "none", "readout mitigation: trex (twirled readout extinction)",
          ("none", "trex")),
    Param("trex_randomizations", int, 16, "IBM Runtime measurement twirls per circuit (trex)"),
    Param("mode", str, "auto", "job, batch or session; auto: a session for iterative loops",
          ("auto", "job", "batch", "session")),
    Param("channel", str, None, "ibm: ibm_quantum_platform or ibm_cloud (default: saved account)"),
    Param("instance", str, None, "ibm: instance CRN or name (default: saved account)"),
    Param("max_retries", int, 3, "retries of a job on transient service errors"),
    Param("backoff_s", float, 2.0, "first retry delay in seconds (doubles each retry)"),
    Param("job_timeout_s", float, 3600.0, "seconds to wait for one job's result"),
    Param("method", str, "automatic", "aer_noisy: automatic, density_matrix or statevector",
          ("automatic", "density_matrix", "statevector")),
)  # fmt: skip
#: a rough per-job overhead (seconds) for the QPU-seconds estimate of a dry run
JOB_OVERHEAD_S = 2.0
#: seconds per shot in that estimate: the default repetition delay of IBM devices
REP_DELAY_S = 250e-6


def _runtime():
    """The qiskit_ibm_runtime module, or a ConfigError saying how to install it."""
    try:
        import qiskit_ibm_runtime
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ConfigError(
            "aer_noisy:, ibm_local: and ibm: backends need qiskit-ibm-runtime: "
            "pip install 'qbench[ibm]'"
        ) from None
    return qiskit_ibm_runtime


@lru_cache(maxsize=1)
def fake_device_classes() -> dict[str, type]:
    """fake_<name> -> fake backend class of qiskit_ibm_runtime.fake_provider (V2 devices)."""
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    out = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if isinstance(cls, type) and issubclass(cls, FakeBackendV2) and attr.startswith("Fake"):
            stem = re.sub(r"V2$", "", attr[4:])
            out["fake_" + re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()] = cls
    return out


def device_key(name: str) -> str:
    """The fake_provider key of a device name (``fake_torino``, ``torino``, ``FakeTorino``,
    ``FakeManilaV2`` all work); ConfigError listing the devices when there is none."""
    _runtime()
    text = re.sub(r"V2$", "", name.strip())
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    key = text if text.startswith("fake_") else "fake_" + text.removeprefix("fake")
    classes = fake_device_classes()
    if key not in classes:
        raise ConfigError(f"unknown fake device {name!r}; allowed: {', '.join(sorted(classes))}")
    return key


@lru_cache(maxsize=16)
def fake_device(name: str):
    """The fake device called ``name`` (see :func:`device_key`), one object per process."""
    return fake_device_classes()[device_key(name)]()


def parse_options(name: str, raw: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
    """Validated device-backend options of backend ``name`` (ConfigError names what is wrong,
    as ``owner``: default "backend '<name>'")."""
    family = str(name).partition(":")[0]
    if family not in FAMILIES:
        if raw:
            keys = ", ".join(f"backend.{k}" for k in sorted(raw))
            raise ConfigError(
                f"{keys}: backend {name!r} takes no options; they are for "
                f"{', '.join(f'{f}:<{a}>' for f, a in FAMILIES.items())}"
            )
        return {}
    allowed = {p.name: p for p in PARAMS}
    out = {}
    for key, value in raw.items():
        if key not in allowed:
            raise ConfigError(
                f"unknown backend option {key!r}; allowed: {', '.join(sorted(allowed))}"
            )
        out[key] = allowed[key].coerce(value, owner or f"backend {name!r}")
    return out


def _layout(text: str) -> list[int] | str | None:
    """The ``layout`` option as transpile_isa takes it."""
    if text == "default":
        return None
    if text in ("sabre", "dense", "trivial"):
        return text
    try:
        return [int(q) for q in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"layout {text!r}: expected default, sabre, dense, trivial or physical qubits '3,4,5'"
        ) from None


def _z_expectations(dist: Distribution, masks: list[int], n: int) -> np.ndarray:
    """⟨Z_S⟩ = Σ_s p(s)·(−1)^{|s ∧ S|} of each support mask S over a sampled distribution."""
    probs = np.asarray(dist.probs, dtype=float)
    if n <= 62:
        states = np.asarray(dist.states, dtype=np.int64)
        m = np.asarray(masks, dtype=np.int64)
        parity = np.bitwise_count(states[:, None] & m[None, :]) & 1
        return probs @ (1.0 - 2.0 * parity)
    parity = np.array([[(int(s) & int(k)).bit_count() & 1 for k in masks] for s in dist.states])
    return probs @ (1.0 - 2.0 * parity.reshape(len(dist.states), len(masks)))


class _Compiled:
    """An ansatz's measured ISA circuits (one per measurement basis) and what they read."""

    def __init__(self, circuits: list[QuantumCircuit], index: np.ndarray, metrics: dict, n: int):
        self.circuits, self.index, self.metrics, self.n = circuits, index, metrics, n
        #: per circuit: (pauli indices, support masks, signs) read from it (Pauli ansätze)
        self.reads: list[tuple[np.ndarray, list[int], np.ndarray]] = []

    def bound(self, params: np.ndarray, n_params: int) -> list[QuantumCircuit]:
        values = np.asarray(params, dtype=float).ravel()
        if values.size != n_params:
            raise ValueError(f"expected {n_params} parameters, got {values.size}")
        return [qc.assign_parameters(values[self.index]) for qc in self.circuits]


class DeviceBackend(Backend):
    """A device-shaped backend: ISA transpilation, Sampler execution, job bookkeeping."""

    exact: ClassVar[bool] = False

    def __init__(
        self,
        family: str,
        target_name: str,
        *,
        shots: int = 1024,
        seed: int | None = None,
        max_bytes: int | None = None,
        service=None,
        **options: Any,
    ):
        if family not in FAMILIES:
            raise ConfigError(f"unknown backend family {family!r}; allowed: {', '.join(FAMILIES)}")
        if not target_name:
            raise ConfigError(
                f"backend {family}: needs a {FAMILIES[family]} name ({family}:<name>)"
            )
        self.family, self.target_name = family, target_name
        self.name = f"{family}:{target_name}"
        opts = {p.name: p.default for p in PARAMS}
        opts.update(parse_options(self.name, options))
        self.options = opts
        if int(shots) < 1:
            raise ConfigError(f"backend {self.name!r}: shots must be >= 1, got {shots}")
        self.shots, self.seed, self.max_bytes = int(shots), seed, max_bytes
        self.layout = _layout(opts["layout"])
        if family == "aer_noisy" and (opts["dd"] != "none" or opts["twirling"] != "none"):
            raise ConfigError(
                f"backend {self.name!r}: dd and twirling are applied by IBM Runtime; "
                f"use ibm_local:{target_name} (or mitigation=trex, which aer_noisy supports)"
            )
        if opts["trex_randomizations"] < 1:
            raise ConfigError(f"backend {self.name!r}: trex_randomizations must be >= 1")
        self.device = self._device(service)
        self._cache: dict[int, tuple[weakref.ref, _Compiled]] = {}
        self._simulator = None
        self._mode_obj = None
        self.jobs: list[dict[str, Any]] = []
        self.last_metrics: dict[str, Any] = {}
        self._rng = np.random.default_rng(seed)

    # -- the device ----------------------------------------------------------------------------
    def _device(self, service):
        if self.family in ("aer_noisy", "ibm_local"):
            return fake_device(self.target_name)
        runtime = _runtime()
        from qiskit.providers.exceptions import QiskitBackendNotFoundError
        from qiskit_ibm_runtime.exceptions import IBMAccountError, IBMNotAuthorizedError

        if service is None:
            kwargs = {k: self.options[k] for k in ("channel", "instance") if self.options[k]}
            try:
                service = runtime.QiskitRuntimeService(**kwargs)
            except (IBMAccountError, IBMNotAuthorizedError) as exc:
                raise ConfigError(
                    f"backend {self.name!r}: no usable IBM Quantum credentials ({exc}); save an "
                    "account with QiskitRuntimeService.save_account(...) or set QISKIT_IBM_TOKEN "
                    "and QISKIT_IBM_INSTANCE (README: 'IBM devices', Credentials)"
                ) from None
            except Exception as exc:
                raise HardwareError(
                    f"backend {self.name!r}: could not reach IBM Quantum: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        self.service = service
        try:
            if self.target_name == "least_busy":
                return service.least_busy(operational=True, simulator=False)
            return service.backend(self.target_name)
        except QiskitBackendNotFoundError as exc:
            raise ConfigError(
                f"backend {self.name!r}: the service has no such backend ({exc})"
            ) from None
        except Exception as exc:
            raise HardwareError(
                f"backend {self.name!r}: looking up the device failed: {type(exc).__name__}: {exc}"
            ) from None

    @property
    def n_device_qubits(self) -> int:
        return int(self.device.num_qubits)

    def check(self, ansatz: Ansatz | PauliAnsatz) -> None:
        """Refuse a circuit wider than the device, or a noisy simulation that would not fit."""
        n = ansatz.n_qubits
        if n > self.n_device_qubits:
            raise ResourceError(
                f"backend {self.name!r}: the circuit needs {n} qubits but the device has "
                f"{self.n_device_qubits}"
            )
        if self.family == "aer_noisy":
            self.simulator.check(n, f"backend {self.name!r}")

    @property
    def simulator(self):
        if self._simulator is None:
            from qbench.hardware.noisy import NoisySimulator

            self._simulator = NoisySimulator(
                self.device, method=self.options["method"], max_bytes=self.max_bytes
            )
        return self._simulator

    # -- transpilation -------------------------------------------------------------------------
    def _routing(self, ansatz) -> str:
        routing = self.options["routing"]
        standard = isinstance(ansatz, QAOAAnsatz) and ansatz.mixer == "x" and not ansatz.multi_angle
        if routing == "swap_strategy" and not standard:
            raise ConfigError(
                f"backend {self.name!r}: routing=swap_strategy routes standard QAOA cost layers "
                "(x mixer, one γ per layer); use routing=default or auto"
            )
        return (
            "swap_strategy"
            if routing == "swap_strategy" or (routing == "auto" and standard)
            else "default"
        )

    def _transpile(self, qc: QuantumCircuit) -> tuple[QuantumCircuit, dict]:
        from qbench.hardware.transpile import transpile_isa

        try:
            return transpile_isa(
                qc,
                self.device.target,
                optimization_level=self.options["optimization_level"],
                layout=self.layout,
                seed=self.options["seed_transpiler"],
            )
        except ValueError as exc:
            raise ConfigError(f"backend {self.name!r}: {exc}") from None

    def compiled(self, ansatz) -> _Compiled:
        """The ansatz's ISA circuits, transpiled once and cached per ansatz object."""
        key = id(ansatz)
        hit = self._cache.get(key)
        if hit is not None and hit[0]() is ansatz:
            return hit[1]
        self.check(ansatz)
        if isinstance(ansatz, PauliAnsatz):
            comp = self._compile_paulis(ansatz)
        else:
            comp = self._compile_diagonal(ansatz)
        self._cache = {k: v for k, v in self._cache.items() if v[0]() is not None}
        self._cache[key] = (weakref.ref(ansatz), comp)
        m = comp.metrics
        self.last_metrics = {
            "depth_transpiled": m.get("depth_transpiled"),
            "two_qubit_gates_transpiled": m.get("two_qubit_gates"),
            "swaps": m.get("swaps"),
            "routing": m.get("routing"),
            "circuits_per_estimate": len(comp.circuits),
        }
        return comp

    def _compile_diagonal(self, ansatz: Ansatz) -> _Compiled:
        from qbench.hardware.circuits import ising_form
        from qbench.hardware.transpile import transpile_qaoa_swap

        if isinstance(ansatz, QAOAAnsatz) and self._routing(ansatz) == "swap_strategy":
            try:
                isa, metrics = transpile_qaoa_swap(
                    ansatz,
                    self.device.target,
                    optimization_level=self.options["optimization_level"],
                    seed=self.options["seed_transpiler"],
                )
            except ValueError as exc:
                raise ConfigError(f"backend {self.name!r}: {exc}") from None
            logical = isa
        else:
            logical = ansatz.circuit()
            if isinstance(ansatz, QAOAAnsatz):  # RZ/RZZ: P/CP make transpiling take minutes
                logical = ising_form(logical)
            measured = logical.copy()
            measured.measure_all()
            isa, metrics = self._transpile(measured)
        return _Compiled([isa], parameter_index(ansatz, logical, isa), metrics, ansatz.n_qubits)

    def _compile_paulis(self, ansatz: PauliAnsatz) -> _Compiled:
        from qbench.hardware.exact import pauli_groups

        qc, paulis, n = ansatz.qc, ansatz.paulis, ansatz.n_qubits
        support = ((paulis.x | paulis.z).astype(object) * (1 << np.arange(n, dtype=object))).sum(1)
        sign = np.where(paulis.phase == 2, -1.0, 1.0)
        circuits, reads, metrics, index = [], [], None, None
        for basis, members in pauli_groups(paulis):
            rotated = qc.copy()
            for q, b in enumerate(basis):
                if b == 2:  # Y: S† then H maps Y to Z
                    rotated.sdg(q)
                if b in (1, 2):
                    rotated.h(q)
            rotated.measure_all()
            isa, m = self._transpile(rotated)
            circuits.append(isa)
            reads.append((members, [int(support[k]) for k in members], sign[members]))
            if metrics is None:
                metrics, index = m, parameter_index(ansatz, qc, isa)
            elif not np.array_equal(parameter_index(ansatz, qc, isa), index):
                raise ValueError("basis circuits disagree on the parameter order")
        comp = _Compiled(circuits, index, metrics, n)
        comp.reads = reads
        return comp

    # -- execution -----------------------------------------------------------------------------
    def _seed(self, seed: int | None) -> int:
        return int(self._rng.integers(2**31 - 1)) if seed is None else int(seed) % (2**31 - 1)

    def _calibration(self, isa: QuantumCircuit) -> QuantumCircuit:
        """|0…0⟩ measured on the same physical qubits into the same clbits as ``isa``."""
        cal = QuantumCircuit(isa.num_qubits, isa.num_clbits, name="trex-calibration")
        for inst in isa.data:
            if inst.operation.name == "measure":
                cal.measure(isa.find_bit(inst.qubits[0]).index, isa.find_bit(inst.clbits[0]).index)
        return cal

    def _run(
        self,
        circuits: list[QuantumCircuit],
        n: int,
        shots: int,
        seed: int,
        iterative: bool,
        mitigate: bool = True,
    ) -> tuple[list[Distribution], Distribution | None]:
        """Sampled distributions of bound ISA circuits, and with TREX the distribution of the
        calibration circuit run in the same job (else None)."""
        trex = mitigate and self.options["mitigation"] == "trex"
        batch = list(circuits) + ([self._calibration(circuits[0])] if trex else [])
        if self.family == "aer_noisy":  # twirled readout emulated per shot (hardware.noisy)
            what = f"backend {self.name!r}"
            counts = self.simulator.counts(batch, shots, seed, what, twirl=trex)
        else:  # IBM Runtime twirls the measurements itself (twirling.enable_measure)
            counts = self._submit(batch, shots, seed, iterative)
        dists = [distribution_from_counts(c, n) for c in counts]
        if trex:
            return dists[:-1], dists[-1]
        return dists, None

    # -- IBM Runtime ---------------------------------------------------------------------------
    def _sampler_options(self, seed: int) -> dict:
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
        if self.family == "ibm_local":
            opts["simulator"] = {"seed_simulator": seed}
        return opts

    def _execution_mode(self, iterative: bool):
        """The backend (job mode), or a Session/Batch opened on first use and kept."""
        mode = self.options["mode"]
        if mode == "auto":
            mode = "session" if iterative else "batch"
        if mode == "job":
            return self.device
        runtime = _runtime()
        kind = runtime.Session if mode == "session" else runtime.Batch
        if not isinstance(self._mode_obj, kind):
            self.close()
            self._mode_obj = kind(backend=self.device)
            OPEN.add(self)  # closed by close_open() after the run, also after an error
        return self._mode_obj

    def _submit(
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
            mode = self._execution_mode(iterative)
            sampler = Sampler(mode=mode, options=self._sampler_options(seed))
            return sampler.run(circuits, shots=int(shots))

        job, retries = self._retrying(submit, "submitting a job")
        try:
            result, waits = self._retrying(
                lambda: _wait(job, self.options["job_timeout_s"]), f"waiting for job {_job_id(job)}"
            )
        except HardwareError as exc:
            failure = _failure(exc.__cause__) if exc.__cause__ is not None else None
            if failure == "timed out":
                with contextlib.suppress(Exception):
                    job.cancel()  # do not leave it queued, billing later
            self._record(job, shots, len(circuits), status=failure or "error", retries=retries)
            raise
        self._record(job, shots, len(circuits), status="done", retries=retries + waits)
        return [_counts(pub) for pub in result]

    def _retrying(self, call, what: str) -> tuple[Any, int]:
        """(call(), retries used): transient errors retried after backoff_s·2^k seconds."""
        attempt = 0
        while True:
            try:
                return call(), attempt
            except Exception as exc:
                failure = _failure(exc)
                if failure is not None:
                    raise HardwareError(
                        f"backend {self.name!r}: {what.replace('waiting for ', '')} {failure}: "
                        f"{exc}"
                    ) from exc
                if attempt >= self.options["max_retries"] or not _transient(exc):
                    raise HardwareError(
                        f"backend {self.name!r}: {what} failed after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(self.options["backoff_s"] * 2**attempt)
                attempt += 1

    def _record(self, job, shots: int, n_circuits: int, status: str, retries: int = 0) -> None:
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
            queue = _seconds_between(stamps.get("created"), stamps.get("running"))
            if self.family == "ibm_local":
                qpu = None  # local testing mode charges nothing and runs no QPU
        self.jobs.append({
            "job_id": _job_id(job), "status": status, "shots": int(shots),
            "circuits": int(n_circuits), "qpu_s": qpu, "queue_s": queue, "retries": retries,
        })  # fmt: skip

    def close(self) -> None:
        """Close an open Session/Batch (safe to call twice)."""
        OPEN.discard(self)
        if self._mode_obj is not None:
            try:
                self._mode_obj.close()
            finally:
                self._mode_obj = None

    # -- the Backend interface -----------------------------------------------------------------
    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        comp = self.compiled(ansatz)
        shots = self.shots if shots is None else int(shots)
        dists, _ = self._run(  # bitstrings: no TREX calibration needed
            comp.bound(params, ansatz.n_params), comp.n, shots, self._seed(seed), True, False
        )
        return dists[0]

    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        """⟨C⟩ from ``shots`` samples; with TREX from the mitigated Z-term expectations."""
        comp = self.compiled(ansatz)
        dists, cal = self._run(
            comp.bound(params, ansatz.n_params), comp.n, self.shots, self._seed(seed), True
        )
        if cal is None:
            return float(np.dot(dists[0].probs, ansatz.costs(dists[0].states)))
        op, offset = ansatz.cost_operator
        masks = [int(sum(1 << int(q) for q in np.flatnonzero(z))) for z in op.paulis.z]
        raw = _z_expectations(dists[0], masks, comp.n)
        scale = _z_expectations(cal, masks, comp.n)
        return float(offset + np.real(op.coeffs) @ _mitigate(raw, scale))

    def pauli_expectations(
        self, ansatz: PauliAnsatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """⟨P_k⟩ of every Pauli: one measured circuit per qubit-wise commuting group."""
        comp = self.compiled(ansatz)
        dists, cal = self._run(
            comp.bound(params, ansatz.n_params), comp.n, self.shots, self._seed(seed), True
        )
        out = np.empty(len(ansatz.paulis))
        for dist, (members, masks, signs) in zip(dists, comp.reads):
            values = _z_expectations(dist, masks, comp.n)
            if cal is not None:
                values = _mitigate(values, _z_expectations(cal, masks, comp.n))
            out[members] = signs * values
        return out

    def sample_circuits(
        self, circuits: list, *, shots: int, seed: int | None = None
    ) -> list[Distribution]:
        """``shots`` samples of each bound logical circuit (transpiled here), in one job."""
        isa = []
        for qc in circuits:
            if qc.num_qubits > self.n_device_qubits:
                raise ResourceError(
                    f"backend {self.name!r}: the circuit needs {qc.num_qubits} qubits but the "
                    f"device has {self.n_device_qubits}"
                )
            measured = qc.copy()
            measured.measure_all()
            isa.append(self._transpile(measured)[0])
        if not isa:
            return []
        # TREX corrects expectations, not bitstrings: sample plainly
        dists, _ = self._run(
            isa, circuits[0].num_qubits, int(shots), self._seed(seed), False, mitigate=False
        )
        return dists

    def info(self) -> dict:
        """Device, options, transpiled metrics of the last compiled circuit, job bookkeeping."""
        qpu = [j["qpu_s"] for j in self.jobs if j["qpu_s"] is not None]
        queue = [j["queue_s"] for j in self.jobs if j["queue_s"] is not None]
        return {
            "backend": self.name,
            "family": self.family,
            "device": getattr(self.device, "name", self.target_name),
            "device_qubits": self.n_device_qubits,
            "shots": self.shots,
            "seed": self.seed,
            **{k: v for k, v in self.options.items() if v is not None},
            **self.last_metrics,
            "jobs": None if self.family == "aer_noisy" else len(self.jobs),
            "job_ids": [j["job_id"] for j in self.jobs if j["job_id"]],
            "retries": sum(j["retries"] for j in self.jobs),
            "qpu_time_s": float(sum(qpu)) if qpu else None,
            "queue_time_s": float(sum(queue)) if queue else None,
        }


#: device backends holding a Session/Batch open (qbench.run closes them after every run)
OPEN: weakref.WeakSet = weakref.WeakSet()


def close_open() -> None:
    """Close every open Session/Batch; explicit, in the caller's thread (never from a garbage
    collector callback, which may run on any thread in the middle of a request)."""
    for backend in list(OPEN):
        with contextlib.suppress(Exception):  # already closed or expired on the service
            backend.close()
    OPEN.clear()


def _mitigate(raw: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """TREX division, guarded: a calibration too close to 0 leaves the value unmitigated."""
    ok = np.abs(scale) > 0.05
    out = np.array(raw, dtype=float)
    out[ok] = np.clip(raw[ok] / scale[ok], -1.0, 1.0)
    return out


def _counts(pub) -> dict[str, int]:
    """Counts of a sampler pub result's (single) classical register."""
    data = pub.data
    names = list(data.keys()) if hasattr(data, "keys") else [n for n in vars(data)]
    return getattr(data, names[0]).get_counts()


def _wait(job, timeout: float):
    """The job's result; the local testing mode's job takes no timeout."""
    try:
        return job.result(timeout=timeout)
    except TypeError:
        return job.result()


def _job_id(job) -> str | None:
    try:
        return None if job is None else str(job.job_id())
    except Exception:
        return None


def _failure(exc: Exception) -> str | None:
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


def _transient(exc: BaseException) -> bool:
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


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (b - a).total_seconds())


def make_backend(name: str, **options: Any) -> DeviceBackend:
    """``aer_noisy:<device>``, ``ibm_local:<device>`` or ``ibm:<backend>`` with its options."""
    family, _, arg = str(name).partition(":")
    return DeviceBackend(family, arg.strip(), **options)


def estimate_usage(n_circuits: int, shots: int, jobs: int) -> dict[str, Any]:
    """Dry-run estimate of a hardware run: circuits, shots and QPU seconds.

    QPU seconds ≈ jobs × JOB_OVERHEAD_S + circuits × shots × REP_DELAY_S: IBM bills the time
    the QPU is locked, which per-job overhead and the shots' repetition delay dominate for
    circuits of a few microseconds. A rough guide, not a quote.
    """
    total_shots = int(n_circuits) * int(shots)
    return {
        "circuits": int(n_circuits),
        "shots": total_shots,
        "est_qpu_s": round(jobs * JOB_OVERHEAD_S + total_shots * REP_DELAY_S, 1),
    }
