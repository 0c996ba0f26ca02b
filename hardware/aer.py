"""Qiskit Aer backends: exact statevector, matrix-product-state, and shot sampling.

* ``aer_statevector``: exact expectation (Aer EstimatorV2, precision 0) and exact probabilities
  (``save_probabilities``); with ``shots`` the distribution is sampled instead.
* ``aer_mps``: the matrix-product-state method for 30–150 qubits at modest depth; exact
  expectation through the estimator (MPS truncation aside), sampled distribution; nothing of
  size 2ⁿ is ever built.
* ``aer_shots``: only samples, as on hardware; the expectation is the mean sampled cost.

Each ansatz is transpiled once to the simulator's gate set and cached; parameters are bound by
their position in the ansatz's layout (QAOA: the ``θ`` vector index; circuits: the order of
``circuit.parameters``), in Python before each run (Aer's own binding mis-binds controlled
phase gates, qiskit-aer #2403). Seeds go to Aer's ``seed_simulator`` so runs repeat exactly.
Aer runs on the process's thread budget (``max_parallel_threads``, :mod:`qbench.threads`), so
suite workers share the cores instead of each taking all of them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import qiskit_aer
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerError, AerSimulator
from qiskit_aer.primitives import EstimatorV2, SamplerV2

from qbench.errors import ConfigError, ResourceError
from qbench.hardware.base import (
    Ansatz,
    Backend,
    Distribution,
    PauliAnsatz,
    Work,
    distribution_from_counts,
)
from qbench.hardware.circuits import parameter_index
from qbench.hardware.mps import mps_cost
from qbench.memory import format_bytes, require_memory
from qbench.pace import format_seconds
from qbench.params import Param
from qbench.threads import aer_threads

#: default number of shots when a backend samples
DEFAULT_SHOTS = 1024
#: qubit limit of the MPS backend (its purpose: 30–150 qubits at modest depth)
MPS_MAX_QUBITS = 150
#: net peak bytes per amplitude of a whole run on Aer's statevector method that reads no exact
#: distribution (aer_shots; Pauli estimates): Aer's complex128 state, measured 16.2–16.9 at
#: n = 20–22 (benchmarks/memory_peak.py), plus a 1-byte margin
AER_STATE_BYTES_PER_AMPLITUDE = 18
#: ... and of a run with the exact read-out (aer_statevector, QAOA and circuit ansätze): Aer's
#: state and the probabilities it saves beside it (8), the read-out's cost vector (8) and the
#: CVaR energy order (int32, 4); measured 36.3 (cvar_qaoa; qaoa 24.0, vqe 23.6) at n = 22
AER_EXACT_READOUT_BYTES_PER_AMPLITUDE = 38
#: bytes beyond the 2ⁿ arrays (transpiled circuits, Python objects, thread buffers)
AER_FIXED_BYTES = 4 << 20
#: how aer_mps computes the optimiser's energy expectation
MPS_ENERGIES = ("estimator", "samples")
#: simulation methods aer_shots accepts
SHOTS_METHODS = ("automatic", "statevector", "matrix_product_state")


def statevector_bytes(n: int, exact: bool = True) -> int:
    """Peak bytes of a whole n-qubit run on Aer's statevector method (measured, not a guess):
    with the exact read-out of the final distribution (``exact``: aer_statevector running a
    QAOA or circuit ansatz) :data:`AER_EXACT_READOUT_BYTES_PER_AMPLITUDE` · 2ⁿ, else (sampled
    read-out, Pauli estimates) :data:`AER_STATE_BYTES_PER_AMPLITUDE` · 2ⁿ; plus
    :data:`AER_FIXED_BYTES`. Measured before the read-out was made lean: 56–64 bytes per
    amplitude for QAOA on aer_statevector."""
    per = AER_EXACT_READOUT_BYTES_PER_AMPLITUDE if exact else AER_STATE_BYTES_PER_AMPLITUDE
    return per * (1 << n) + AER_FIXED_BYTES


class _Prepared:
    """An ansatz's circuit transpiled for one Aer method, with its parameter index map."""

    def __init__(self, ansatz: Ansatz | PauliAnsatz, simulator: AerSimulator):
        qc = ansatz.circuit()
        # the simulator's gate set, without its target's 63-qubit cap (MPS goes to 150)
        standard = get_standard_gate_name_mapping()
        basis = sorted(g for g in simulator.target.operation_names if g in standard)
        tqc = transpile(qc, basis_gates=basis, optimization_level=0)
        tqc.global_phase = 0.0  # irrelevant for probabilities and expectations
        self.circuit: QuantumCircuit = tqc
        self.index = parameter_index(ansatz, qc, tqc)
        if isinstance(ansatz, PauliAnsatz):
            op, offset = SparsePauliOp(ansatz.paulis), 0.0  # one observable per Pauli
        else:
            op, offset = ansatz.cost_operator
        if tqc.layout is not None:
            op = op.apply_layout(tqc.layout)
        self.operator = op
        self.offset = float(offset)
        measured = tqc.copy()
        measured.measure_all()
        self.measured = measured
        self.n_params = ansatz.n_params

    def values(self, params: np.ndarray) -> np.ndarray:
        """The circuit's parameter values (in ``circuit.parameters`` order) from layout params."""
        params = np.asarray(params, dtype=float).ravel()
        if params.size != self.n_params:
            raise ValueError(f"expected {self.n_params} parameters, got {params.size}")
        return params[self.index]

    def bound(self, params: np.ndarray, measured: bool = False) -> QuantumCircuit:
        """The circuit with ``params`` assigned in Python.

        Binding through the primitives' parameter values is avoided on purpose: Aer 0.17–0.18
        mis-binds parameterised controlled gates such as CP (qiskit-aer issue #2403), which
        every QAOA cost layer uses.
        """
        qc = self.measured if measured else self.circuit
        return qc.assign_parameters(self.values(params))


class AerBackend(Backend):
    """Common machinery: per-ansatz transpile cache, estimator expectation, sampler counts."""

    method: ClassVar[str] = "automatic"
    takes_shots: ClassVar[bool] = True
    #: True when Pauli expectations carry the estimator's shot noise N(0, 1/√shots)
    noisy_estimates: ClassVar[bool] = False

    @classmethod
    def readout_is_exact(cls, kind: str) -> bool:
        """True when a run of an ansatz ``kind`` on this backend reads the exact 2ⁿ distribution
        (an exact backend; Pauli ansätze read Pauli estimates instead)."""
        return bool(cls.exact) and kind != "pauli"

    @classmethod
    def statevector_fit(
        cls, name: str, n_qubits: int, available: int | None, kind: str = "qaoa"
    ) -> tuple[int, str]:
        """(bytes of a whole n-qubit Aer statevector run of an ansatz ``kind``
        (:func:`statevector_bytes`), why it would not fit or "")."""
        memory = statevector_bytes(n_qubits, cls.readout_is_exact(kind))
        if available is not None and memory > available:
            return memory, (
                f"{name} statevector of {n_qubits} qubits needs {format_bytes(memory)} but "
                f"{format_bytes(available)} are available; use aer_mps or fewer qubits"
            )
        return memory, ""

    @classmethod
    def mps_fit(cls, name: str, n_qubits: int) -> tuple[None, str]:
        """(None: MPS memory is not estimated, why it would be refused or "")."""
        if n_qubits > MPS_MAX_QUBITS:
            return None, f"{name}: {n_qubits} qubits exceeds the MPS limit of {MPS_MAX_QUBITS}"
        return None, ""

    def __init__(
        self,
        *,
        shots: int = DEFAULT_SHOTS,
        seed: int | None = None,
        max_bytes: int | None = None,
        **backend_options,
    ):
        if int(shots) < 1:
            raise ConfigError(f"backend {self.name!r}: shots must be >= 1, got {shots}")
        self.shots = int(shots)
        self.seed = seed
        self.max_bytes = max_bytes
        self.backend_options = dict(backend_options)
        try:
            self.simulator = AerSimulator(**self._options())
        except AerError as exc:
            raise ConfigError(
                f"backend {self.name!r}: bad simulator option(s) {sorted(backend_options)}: {exc}"
            ) from None
        self._cache: dict[int, tuple[weakref.ref, _Prepared]] = {}
        self._estimator: EstimatorV2 | None = None

    # -- preparation -------------------------------------------------------------------------
    def prepared(self, ansatz: Ansatz) -> _Prepared:
        """The transpiled circuit of ``ansatz``, cached per ansatz object (do not mutate it)."""
        key = id(ansatz)
        hit = self._cache.get(key)
        if hit is not None and hit[0]() is ansatz:
            return hit[1]
        self.check(ansatz)
        prep = _Prepared(ansatz, self.simulator)
        self._cache = {k: v for k, v in self._cache.items() if v[0]() is not None}
        self._cache[key] = (weakref.ref(ansatz), prep)
        return prep

    def _seed(self, seed: int | None) -> int | None:
        return self.seed if seed is None else int(seed)

    def _options(self) -> dict:
        """Aer's backend options: the method, the thread budget, the user's options."""
        return {
            "method": self.method,
            "max_parallel_threads": aer_threads(),
            **self.backend_options,
        }

    # -- primitives --------------------------------------------------------------------------
    def estimate(self, ansatz: Ansatz, params: np.ndarray) -> float:
        """Exact ⟨C⟩ via Aer's EstimatorV2 at precision 0 (no sampling noise), offset included."""
        prep = self.prepared(ansatz)
        if not np.any(prep.operator.coeffs):  # a constant cost: the estimator refuses zero ops
            prep.values(params)
            return prep.offset
        if self._estimator is None:
            self._estimator = EstimatorV2(
                options={"default_precision": 0.0, "backend_options": self._options()}
            )
        pub = (prep.bound(params), prep.operator)
        evs = self._estimator.run([pub]).result()[0].data.evs
        return float(np.real(evs)) + prep.offset

    def pauli_expectations(
        self, ansatz: PauliAnsatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """⟨P_k⟩ of every Pauli through Aer's EstimatorV2 in one PUB (the reference path, and
        the path hardware takes). Exact on statevector/MPS; ``aer_shots`` adds the estimator's
        N(0, 1/√shots) noise."""
        prep = self.prepared(ansatz)
        precision = 1.0 / np.sqrt(self.shots) if self.noisy_estimates else 0.0
        estimator = EstimatorV2(
            options={
                "default_precision": precision,
                "backend_options": self._options(),
                "run_options": {"seed_simulator": self._seed(seed)},
            }
        )
        observables = [prep.operator[k] for k in range(prep.operator.size)]  # signs kept
        evs = estimator.run([(prep.bound(params), observables)]).result()[0].data.evs
        return np.asarray(np.real(evs), dtype=float)

    def sample_circuits(
        self, circuits: list, *, shots: int, seed: int | None = None
    ) -> list[Distribution]:
        """``shots`` samples of each bound circuit in one SamplerV2 job (seeded)."""
        standard = get_standard_gate_name_mapping()
        basis = sorted(g for g in self.simulator.target.operation_names if g in standard)
        pubs = []
        for qc in circuits:
            measured = qc.copy()
            measured.measure_all()
            pubs.append(transpile(measured, basis_gates=basis, optimization_level=0))
        sampler = SamplerV2(
            default_shots=int(shots),
            seed=self._seed(seed),
            options={"backend_options": self._options()},
        )
        results = sampler.run(pubs).result()
        return [
            distribution_from_counts(r.data.meas.get_int_counts(), qc.num_qubits)
            for r, qc in zip(results, circuits)
        ]

    def sample(
        self, ansatz: Ansatz, params: np.ndarray, shots: int | None, seed: int | None
    ) -> Distribution:
        """``shots`` samples (default: the backend's) via Aer's SamplerV2, seeded."""
        prep = self.prepared(ansatz)
        shots = self.shots if shots is None else int(shots)
        if shots < 1:
            raise ValueError(f"shots must be >= 1, got {shots}")
        sampler = SamplerV2(
            default_shots=shots,
            seed=self._seed(seed),
            options={"backend_options": self._options()},
        )
        result = sampler.run([prep.bound(params, measured=True)]).result()[0]
        counts = result.data.meas.get_int_counts()
        return distribution_from_counts(counts, ansatz.n_qubits)

    def sampled_expectation(
        self, ansatz: Ansatz, params: np.ndarray, seed: int | None = None
    ) -> float:
        """The mean QUBO energy of the backend's ``shots`` samples (hardware's estimate)."""
        dist = self.sample(ansatz, params, None, seed)
        return float(np.dot(dist.probs, ansatz.costs(dist.states)))

    def info(self) -> dict:
        return {
            "backend": self.name,
            "method": self.method,
            "shots": self.shots,
            "seed": self.seed,
            "simulator": f"qiskit-aer {qiskit_aer.__version__}",
        }

    def _check_statevector(self, ansatz: Ansatz) -> None:
        """ResourceError when a whole run on a statevector of the ansatz's qubits
        (:func:`statevector_bytes`) won't fit."""
        n = ansatz.n_qubits
        exact = self.readout_is_exact(ansatz.kind)
        per = AER_EXACT_READOUT_BYTES_PER_AMPLITUDE if exact else AER_STATE_BYTES_PER_AMPLITUDE
        require_memory(
            f"backend {self.name!r}: a run on a statevector of n={n} qubits "
            f"({per} bytes per amplitude{' with the exact read-out' if exact else ''})",
            statevector_bytes(n, exact),
            self.max_bytes,
            hint="; use aer_mps or fewer qubits",
        )

    def _check_mps(self, ansatz: Ansatz, limit: int) -> None:
        n = ansatz.n_qubits
        if n > limit:
            raise ResourceError(
                f"backend {self.name!r}: n={n} qubits exceeds the MPS limit of {limit} qubits"
            )


class AerStatevectorBackend(AerBackend):
    """Aer statevector: exact expectation and exact probabilities (sampled when shots given)."""

    name: ClassVar[str] = "aer_statevector"
    exact: ClassVar[bool] = True
    method: ClassVar[str] = "statevector"

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        return cls.statevector_fit(name, n_qubits, available, kind)

    def check(self, ansatz: Ansatz) -> None:
        self._check_statevector(ansatz)

    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        return self.estimate(ansatz, params)

    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        if shots is not None:
            return self.sample(ansatz, params, shots, seed)
        probs = self.probabilities(ansatz, params, seed=seed)
        return Distribution(states=np.arange(probs.size, dtype=np.int64), probs=probs, exact=True)

    def probabilities(
        self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """Exact probabilities of all 2ⁿ states (``save_probabilities``) as one float64 vector
        indexed by state: :meth:`distribution` without its 2ⁿ states array."""
        prep = self.prepared(ansatz)
        qc = prep.bound(params)
        qc.save_probabilities(label="probs")
        result = self.simulator.run(qc, seed_simulator=self._seed(seed)).result()
        return np.asarray(result.data(0)["probs"], dtype=float)


class AerMPSBackend(AerBackend):
    """Aer matrix product state: estimator (or sampled) expectation, sampled distribution, up
    to 150 qubits."""

    name: ClassVar[str] = "aer_mps"
    exact: ClassVar[bool] = False
    method: ClassVar[str] = "matrix_product_state"
    params: ClassVar[tuple[Param, ...]] = (
        Param(
            "energy", str, "estimator",
            "the optimiser's energy expectation: estimator (Aer EstimatorV2 on the Ising "
            "operator, exact for the MPS state) or samples (mean QUBO energy of the run's shots, "
            "as hardware and the comparative study measure it; faster on dense QUBOs, see "
            "benchmarks/mps_evaluation.py)",
            MPS_ENERGIES,
        ),
    )  # fmt: skip

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        return cls.mps_fit(name, n_qubits)

    @classmethod
    def estimate_run(
        cls,
        name: str,
        n_qubits: int,
        work: Callable[[], Work],
        available: int | None,
        timeout: float | None,
    ) -> tuple[int | None, float | None, str] | None:
        """Memory and seconds of the run's circuits from their bond-dimension bounds
        (:mod:`qbench.hardware.mps`), refused beyond ``available`` bytes or ``timeout`` seconds.
        None (not estimated) where the bound is loose: circuits with blocks of diagonal gates
        (QAOA's cost layers), which the run itself paces (:mod:`qbench.pace`)."""
        if n_qubits > MPS_MAX_QUBITS:
            return None
        work = work()
        gates = None if work.gates is None else work.gates()
        if gates is None:
            return None
        cost = mps_cost(n_qubits, gates, work.shots)
        if not cost.tight:
            return None
        seconds = cost.seconds * work.bases * max(work.evaluations, 1)
        memory = int(cost.memory_bytes)
        bond = f"bond dimension up to 2^{cost.max_bond_log2}"
        reason = ""
        if available is not None and memory > available:
            reason = (
                f"{name}: {n_qubits} qubits at {bond} need {format_bytes(memory)} but "
                f"{format_bytes(available)} are available"
            )
        elif timeout is not None and seconds > timeout:
            reason = (
                f"{name}: {work.evaluations} evaluations at {bond} take about "
                f"{format_seconds(seconds)}, beyond the timeout of {format_seconds(timeout)}"
            )
        return memory, seconds, reason

    def __init__(self, *, max_qubits: int = MPS_MAX_QUBITS, energy: str = "estimator", **options):
        if energy not in MPS_ENERGIES:
            raise ConfigError(
                f"backend 'aer_mps': energy {energy!r} unknown; allowed: {', '.join(MPS_ENERGIES)}"
            )
        super().__init__(**options)
        self.max_qubits = int(max_qubits)
        self.energy = energy

    def check(self, ansatz: Ansatz) -> None:
        self._check_mps(ansatz, self.max_qubits)

    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        if self.energy == "samples":
            return self.sampled_expectation(ansatz, params, seed)
        return self.estimate(ansatz, params)

    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        return self.sample(ansatz, params, shots, seed)

    def info(self) -> dict:
        return {**super().info(), "max_qubits": self.max_qubits, "energy": self.energy}


class AerShotsBackend(AerBackend):
    """Aer sampling only, as on hardware: the expectation is the mean cost of ``shots`` samples."""

    name: ClassVar[str] = "aer_shots"
    exact: ClassVar[bool] = False
    noisy_estimates: ClassVar[bool] = True

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        """The default method's statevector (runs choose ``method`` only from Python)."""
        return cls.statevector_fit(name, n_qubits, available, kind)

    def __init__(self, *, method: str = "automatic", **options):
        if method not in SHOTS_METHODS:
            raise ConfigError(
                f"backend 'aer_shots': method {method!r} unknown; "
                f"allowed: {', '.join(SHOTS_METHODS)}"
            )
        self.method = method
        super().__init__(**options)

    def check(self, ansatz: Ansatz) -> None:
        if self.method == "matrix_product_state":
            self._check_mps(ansatz, MPS_MAX_QUBITS)
        else:
            self._check_statevector(ansatz)

    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        return self.sampled_expectation(ansatz, params, seed)

    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        return self.sample(ansatz, params, shots, seed)
