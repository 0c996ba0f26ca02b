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
through the Sampler (:mod:`.runtime`). Expectations come from the samples: the QUBO energy per
sample, or for Pauli observables one measured circuit per qubit-wise commuting group.
``mitigation=trex`` is twirled readout-error extinction (:mod:`.mitigation`): each Z-string
expectation is divided by its value on a calibration circuit |0…0⟩ run in the same job.

Job ids, QPU seconds and queue seconds are kept per job (:class:`.runtime.RuntimeJobs`) and
summed into the row; a failed or cancelled job raises :class:`~qbench.errors.HardwareError`,
which the run records as an error row. The device names and options (:data:`FAMILIES`,
:data:`PARAMS`) and the dry-run estimate live in :mod:`.devices` and are re-exported here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from qiskit import QuantumCircuit

from qbench.errors import ConfigError, HardwareError, ResourceError
from qbench.hardware.base import (
    OPEN,
    Ansatz,
    Backend,
    Distribution,
    PauliAnsatz,
    QAOAAnsatz,
    Work,
    distribution_from_counts,
)
from qbench.hardware.circuits import parameter_index
from qbench.hardware.devices import (
    FAMILIES,
    PARAMS,
    device_key,
    estimate_usage,
    fake_device,
    parse_layout,
    runtime_module,
)
from qbench.hardware.mitigation import calibration_circuit, trex_divide
from qbench.hardware.paulis import z_expectations
from qbench.hardware.runtime import RuntimeJobs
from qbench.memory import format_bytes
from qbench.params import Param

__all__ = [
    "FAMILIES",
    "PARAMS",
    "DeviceBackend",
    "device_key",
    "estimate_usage",
    "fake_device",
    "make_backend",
]


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
    """A device-shaped backend: ISA transpilation, sampled execution (Aer with the device's
    noise, or IBM Runtime jobs through :class:`.runtime.RuntimeJobs`), TREX mitigation."""

    exact: ClassVar[bool] = False
    takes_shots: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = PARAMS
    #: backend families: name prefix -> what follows the colon (``aer_noisy:<device>``)
    families: ClassVar[dict[str, str]] = FAMILIES

    # -- what a backend name needs and costs, without building anything ------------------------
    @classmethod
    def validate(cls, name: str) -> None:
        """ConfigError unless ``name`` is ``family:arg`` with a non-empty arg and, for the fake
        device families, a device that exists; connects to nothing."""
        kind, _, arg = str(name).partition(":")
        if kind not in FAMILIES:
            raise ConfigError(f"unknown backend family {kind!r}; allowed: {', '.join(FAMILIES)}")
        if not arg.strip():
            raise ConfigError(
                f"backend {name!r} needs a {FAMILIES[kind]}: {kind}:<{FAMILIES[kind]}>"
            )
        if kind in ("aer_noisy", "ibm_local"):
            device_key(arg)

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        """Width against the device (fake devices; ``ibm:`` is checked when it runs) and, for the
        simulated families, the noisy simulation's memory."""
        from qbench.hardware.noisy import noisy_bytes, resolve_method

        family, _, device = name.partition(":")
        if family == "ibm":
            return None, ""
        width = fake_device(device).num_qubits
        if n_qubits > width:
            return None, f"{name}: the circuit needs {n_qubits} qubits but the device has {width}"
        method = resolve_method("automatic", n_qubits)
        memory = noisy_bytes(n_qubits, method)
        if available is not None and memory > available:
            return memory, (
                f"noisy {method} simulation of {n_qubits} qubits needs {format_bytes(memory)} "
                f"but {format_bytes(available)} are available; use fewer qubits"
            )
        return memory, ""

    @classmethod
    def usage(cls, name: str, work: Callable[[], Work], options: dict[str, Any]) -> dict[str, Any]:
        """Circuits, shots and estimated QPU seconds (:func:`.devices.estimate_usage`): one job
        per objective evaluation with one circuit per measurement basis (plus the TREX
        calibration where expectations are read), and two more for the read-out."""
        work = work()
        per_estimate = work.bases
        if options.get("mitigation") == "trex" and work.expectations:
            per_estimate += 1  # the calibration circuit (bitstrings alone need none)
        jobs = work.evaluations + 2  # the final read-out: samples and an expectation
        return estimate_usage(jobs * per_estimate, work.shots, jobs)

    @classmethod
    def build(cls, name: str, **options: Any) -> DeviceBackend:
        """The device backend called ``name`` (:func:`make_backend`)."""
        return make_backend(name, **options)

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
        opts.update(self.check_options(options, f"backend {self.name!r}"))
        self.options = opts
        if int(shots) < 1:
            raise ConfigError(f"backend {self.name!r}: shots must be >= 1, got {shots}")
        self.shots, self.seed, self.max_bytes = int(shots), seed, max_bytes
        self.layout = parse_layout(opts["layout"])
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
        #: IBM Runtime jobs (ibm_local, ibm); aer_noisy submits none
        self.runtime = RuntimeJobs(self.name, self.device, opts, local=family == "ibm_local")
        self.last_metrics: dict[str, Any] = {}
        self._rng = np.random.default_rng(seed)

    # -- the device ----------------------------------------------------------------------------
    def _device(self, service):
        if self.family in ("aer_noisy", "ibm_local"):
            return fake_device(self.target_name)
        runtime = runtime_module()
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
    def jobs(self) -> list[dict[str, Any]]:
        """One record per IBM Runtime job: id, status, shots, circuits, QPU/queue s, retries."""
        return self.runtime.jobs

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
        from qbench.hardware.paulis import pauli_groups

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
        batch = list(circuits) + ([calibration_circuit(circuits[0])] if trex else [])
        if self.family == "aer_noisy":  # twirled readout emulated per shot (hardware.noisy)
            what = f"backend {self.name!r}"
            counts = self.simulator.counts(batch, shots, seed, what, twirl=trex)
        else:  # IBM Runtime twirls the measurements itself (twirling.enable_measure)
            try:
                counts = self.runtime.submit(batch, shots, seed, iterative)
            finally:  # a Session/Batch left open is closed by close_open() after the run
                if self.runtime.is_open:
                    OPEN.add(self)
                else:
                    OPEN.discard(self)
        dists = [distribution_from_counts(c, n) for c in counts]
        if trex:
            return dists[:-1], dists[-1]
        return dists, None

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
        raw = z_expectations(dists[0], masks, comp.n)
        scale = z_expectations(cal, masks, comp.n)
        return float(offset + np.real(op.coeffs) @ trex_divide(raw, scale))

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
            values = z_expectations(dist, masks, comp.n)
            if cal is not None:
                values = trex_divide(values, z_expectations(cal, masks, comp.n))
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

    def close(self) -> None:
        """Close an open Session/Batch (safe to call twice)."""
        OPEN.discard(self)
        self.runtime.close()

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


def make_backend(name: str, **options: Any) -> DeviceBackend:
    """``aer_noisy:<device>``, ``ibm_local:<device>`` or ``ibm:<backend>`` with its options."""
    family, _, arg = str(name).partition(":")
    return DeviceBackend(family, arg.strip(), **options)
