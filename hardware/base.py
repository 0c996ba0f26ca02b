"""The Backend seam: where a parameterised circuit runs and what comes back.

A variational solver owns an :class:`Ansatz` (a parameterised state whose cost is the diagonal
QUBO energy) and asks a :class:`Backend` for the expectation of that cost or for the measured
distribution. Bit order everywhere is qiskit's: state index s has x_i = (s >> i) & 1 on qubit i.

Ansatz kinds:

* :class:`QAOAAnsatz` — p layers of ``exp(-i γ C)`` then a mixer, on a start state. Its
  parameter vector is laid out as documented on the class, and both the in-house exact engine
  and the qiskit circuit (for Aer and hardware) follow that layout.
* :class:`CircuitAnsatz` — any parameterised qiskit circuit (VQE ansätze); parameters are bound
  in the order of ``circuit.parameters``.
* :class:`PauliAnsatz` — a parameterised circuit read out through a list of Pauli observables
  rather than a diagonal cost (the qubit-compressed solvers: PCE's correlators, QRAO's relaxed
  Hamiltonian); :meth:`Backend.pauli_expectations` estimates all of them from one state.
"""

from __future__ import annotations

import contextlib
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.program import BinaryProgram

MIXERS = ("x", "xy_ring", "xy_complete", "warm")
#: what a solver's circuit is: a QAOA schedule (diagonal cost, the exact engine's own kind), a
#: parameterised circuit read out on the QUBO's diagonal cost (VQE), or a circuit read out
#: through Pauli observables (PCE, QRAO); backends size their memory per kind
ANSATZ_KINDS = ("qaoa", "circuit", "pauli")


def state_bits(states: np.ndarray, n: int) -> np.ndarray:
    """(k, n) float bits of integer states; n > 62 takes Python ints (object arrays) in chunks."""
    if n <= 62:
        states = np.asarray(states, dtype=np.int64).reshape(-1)
        return ((states[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(float)
    states = np.asarray(states, dtype=object).reshape(-1)
    chunks = []
    for start in range(0, n, 62):
        width = min(62, n - start)
        low = np.array([(int(s) >> start) & ((1 << width) - 1) for s in states], dtype=np.int64)
        chunks.append((low[:, None] >> np.arange(width, dtype=np.int64)) & 1)
    return np.concatenate(chunks, axis=1).astype(float)


@dataclass
class Ansatz(ABC):
    """A parameterised state on ``qubo.n_vars`` qubits whose cost is the QUBO's diagonal energy."""

    qubo: BinaryProgram

    @property
    def n_qubits(self) -> int:
        return self.qubo.n_vars

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Length of the parameter vector."""

    @abstractmethod
    def circuit(self):
        """The parameterised qiskit ``QuantumCircuit`` (no measurements), for Aer and hardware."""

    @cached_property
    def cost_operator(self):
        """(SparsePauliOp, offset) of the cost, for estimator-based backends."""
        from qbench.encoders.ising import to_ising

        return to_ising(self.qubo)

    def costs(self, states: np.ndarray) -> np.ndarray:
        """QUBO energy of integer basis states (any n: evaluates the bits, no 2ⁿ vector)."""
        return np.atleast_1d(self.qubo.objective(state_bits(states, self.n_qubits)))


@dataclass
class QAOAAnsatz(Ansatz):
    """QAOA: ``|ψ⟩ = Π_l U_M(β_l) U_C(γ_l) |s⟩`` with ``U_C(γ) = exp(-i γ C)``, C the QUBO energy.

    Parameter layout (``p`` layers):

    * standard: ``[γ_1..γ_p, β_1..β_p]`` (2p values);
    * ``multi_angle=True`` (ma-QAOA): per layer, one γ per cost term — the QUBO's nonzero linear
      terms (in variable order) then its nonzero quadratic terms (in the csr order of
      ``qubo.quadratic``) — followed by one β per qubit; layer blocks are concatenated:
      ``[γ_1 (T values), β_1 (n values), γ_2, β_2, ...]``.

    Mixers (``mixer``):

    * ``"x"``: ``exp(-i β Σ_j X_j)`` = RX(2β) on every qubit, start ``|+⟩^n``;
    * ``"warm"`` (WS-QAOA, Egger et al. 2021): start ``Π_j RY(θ_j)|0⟩`` with
      ``θ_j = 2 arcsin(√c_j)`` from the relaxed solution ``warm_start`` = c ∈ [0, 1]ⁿ, mixer
      ``RY(θ_j) RZ(-2β) RY(-θ_j)`` on each qubit;
    * ``"xy_ring"`` / ``"xy_complete"``: for each one-hot group in ``groups`` (lists of qubits),
      ``exp(-i β (X_aX_b + Y_aY_b)/2)`` over the pairs of a ring (a_k, a_{k+1 mod g}) or of all
      pairs, applied pair after pair in the listed order (ring: even-indexed pairs first, then
      odd, then the closing pair; complete: lexicographic); start: the basis state
      ``initial_state`` (an integer with one bit set per group). The Hamming weight of every
      group is conserved, so the state never leaves the one-hot subspace.

    The cost layer ignores the QUBO's constant (a global phase).
    """

    kind: ClassVar[str] = "qaoa"

    p: int = 1
    mixer: str = "x"
    multi_angle: bool = False
    groups: list[list[int]] = field(default_factory=list)
    initial_state: int | None = None
    warm_start: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.mixer not in MIXERS:
            raise ValueError(f"unknown mixer {self.mixer!r}; allowed: {', '.join(MIXERS)}")
        if self.p < 1:
            raise ValueError(f"p must be >= 1, got {self.p}")
        if self.mixer.startswith("xy") and (not self.groups or self.initial_state is None):
            raise ValueError("XY mixers need one-hot groups and a feasible initial_state")
        if self.mixer == "warm" and self.warm_start is None:
            raise ValueError("the warm mixer needs warm_start (relaxed values in [0, 1])")

    def warm_thetas(self) -> np.ndarray:
        """WS-QAOA angles θ_j = 2 arcsin(√c_j) of the relaxed solution c ∈ [0, 1]ⁿ."""
        c = np.clip(np.asarray(self.warm_start, dtype=float).ravel(), 0.0, 1.0)
        if c.size != self.n_qubits:
            raise ValueError(f"warm_start has {c.size} values, expected {self.n_qubits}")
        return 2.0 * np.arcsin(np.sqrt(c))

    @property
    def n_terms(self) -> int:
        """Cost terms with their own angle in ma-QAOA: nonzero linear + quadratic terms."""
        return int(np.count_nonzero(self.qubo.linear)) + int(self.qubo.quadratic.nnz)

    @property
    def n_params(self) -> int:
        if self.multi_angle:
            return self.p * (self.n_terms + self.n_qubits)
        return 2 * self.p

    def circuit(self):
        from qbench.hardware.circuits import qaoa_circuit

        return qaoa_circuit(self)


@dataclass
class CircuitAnsatz(Ansatz):
    """Any parameterised qiskit circuit on ``qubo.n_vars`` qubits (VQE, CVaR-VQE)."""

    kind: ClassVar[str] = "circuit"

    qc: object = None
    name: str = ""

    @property
    def n_qubits(self) -> int:
        return self.qc.num_qubits

    @property
    def n_params(self) -> int:
        return self.qc.num_parameters

    def circuit(self):
        return self.qc


@dataclass(eq=False)
class PauliAnsatz:
    """A parameterised circuit plus the Pauli observables to estimate on it.

    ``paulis`` is a qiskit ``PauliList`` of Hermitian Paulis (label phase ``""`` or ``"-"``) on
    ``qc.num_qubits`` qubits; parameters are bound in the order of ``qc.parameters``.
    """

    kind: ClassVar[str] = "pauli"

    qc: object
    paulis: object
    name: str = ""

    def __post_init__(self) -> None:
        if self.paulis.num_qubits != self.qc.num_qubits:
            raise ValueError(
                f"paulis act on {self.paulis.num_qubits} qubits, the circuit has "
                f"{self.qc.num_qubits}"
            )
        if np.any(self.paulis.phase % 2):
            raise ValueError("paulis must be Hermitian (label phase '' or '-', not ±i)")

    @property
    def n_qubits(self) -> int:
        return self.qc.num_qubits

    @property
    def n_params(self) -> int:
        return self.qc.num_parameters

    def circuit(self):
        return self.qc


@dataclass
class Distribution:
    """Measured (or exact) distribution over basis states: ``probs[k]`` of state ``states[k]``."""

    states: np.ndarray
    probs: np.ndarray
    exact: bool
    shots: int | None = None


def _as_state(key, n: int) -> int:
    if isinstance(key, str):
        text = key.replace(" ", "")
        return int(text, 16) if text.startswith("0x") else int(text, 2)
    return int(key)


def states_array(values: list[int], n: int) -> np.ndarray:
    """Integer basis states as int64 (n <= 62) or as Python ints in an object array (larger n)."""
    if n <= 62:
        return np.asarray(values, dtype=np.int64).reshape(-1)
    out = np.empty(len(values), dtype=object)
    out[:] = [int(v) for v in values]
    return out


def distribution_from_counts(counts, n: int) -> Distribution:
    """A sampled Distribution from qiskit counts or an array of sampled integer states.

    Counts keys may be qiskit bitstrings (little-endian: qubit 0 is the rightmost character),
    hex strings (``"0x.."``) or integers; an array holds one integer state per shot. States are
    sorted; probabilities are count / shots.
    """
    if isinstance(counts, Mapping):
        merged: dict[int, int] = {}
        for key, c in counts.items():
            s = _as_state(key, n)
            merged[s] = merged.get(s, 0) + int(c)
        keys = sorted(merged)
        freq = np.array([merged[k] for k in keys], dtype=float)
    else:
        samples = np.asarray(counts)
        if samples.dtype == object:
            uniq: dict[int, int] = {}
            for s in samples.ravel():
                uniq[int(s)] = uniq.get(int(s), 0) + 1
            keys = sorted(uniq)
            freq = np.array([uniq[k] for k in keys], dtype=float)
        else:
            values, freq = np.unique(samples.astype(np.int64).ravel(), return_counts=True)
            keys, freq = values.tolist(), freq.astype(float)
    for s in keys:
        if s < 0 or s >> n:
            raise ValueError(f"state {s} is out of range for {n} qubits")
    shots = int(freq.sum())
    if shots == 0:
        raise ValueError("no samples: the counts are empty")
    return Distribution(states=states_array(keys, n), probs=freq / shots, exact=False, shots=shots)


@dataclass(frozen=True)
class Work:
    """What one variational run asks of a backend, as a dry run counts it: circuits per estimate
    (one per measurement basis), objective evaluations, shots per circuit, and whether it reads
    expectation values (readout mitigation calibrates those) rather than only bitstrings;
    ``gates()`` lists one circuit's two-qubit gates (:func:`qbench.hardware.mps.two_qubit_gates`
    form) for the MPS cost estimate, None where the solver does not say."""

    bases: int
    evaluations: int
    shots: int
    expectations: bool = True
    gates: Callable[[], list] | None = None


class Backend(ABC):
    """Where circuits run: exact expectation and distribution, or shot-based estimates.

    Besides running circuits, a backend class declares what it needs and costs, so the pipeline,
    dry runs and suites ask it instead of testing its name: ``takes_shots`` (built with the
    solver's shots), ``params`` (the options users set as ``backend.KEY=VALUE``), and the
    class methods :meth:`validate`, :meth:`fit`, :meth:`usage` and :meth:`build`, which work on a
    backend *name* without building (or connecting to) anything.
    """

    name: ClassVar[str] = ""
    #: True when ``distribution`` returns exact probabilities (no shot noise)
    exact: ClassVar[bool] = False
    #: True when the backend samples: it is built with the solver's ``shots``
    takes_shots: ClassVar[bool] = False
    #: options users may set (``--set backend.KEY=VALUE``, a suite's ``backend_options``)
    params: ClassVar[tuple[Param, ...]] = ()

    @classmethod
    def check_options(cls, raw: dict[str, Any], owner: str) -> dict[str, Any]:
        """``raw`` user options validated and typed with :attr:`params` (only the given keys);
        ConfigError naming an unknown option with the allowed ones, or a bad value."""
        allowed = {p.name: p for p in cls.params}
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise ConfigError(
                f"unknown backend option {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
            )
        return {key: allowed[key].coerce(value, owner) for key, value in raw.items()}

    @classmethod
    def validate(cls, name: str) -> None:
        """ConfigError when backend ``name`` of this class cannot be built; connects to nothing."""
        return None

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        """(peak bytes, or None where not estimated; why it would be refused, or "") of an
        ``n_qubits`` circuit of ansatz ``kind`` (:data:`ANSATZ_KINDS`) with ``available`` bytes
        free; default: nothing estimated, nothing refused."""
        return None, ""

    @classmethod
    def usage(
        cls, name: str, work: Callable[[], Work], options: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Circuits, shots and estimated QPU seconds of a run on a device (dry runs), None for
        simulators. ``work()`` gives the run's :class:`Work` (called only when needed: it may
        encode the instance)."""
        return None

    @classmethod
    def estimate_run(
        cls,
        name: str,
        n_qubits: int,
        work: Callable[[], Work],
        available: int | None,
        timeout: float | None,
    ) -> tuple[int | None, float | None, str] | None:
        """A simulator's own estimate of a run: (peak bytes, seconds, why it would be refused or
        ""); None where it has none (then :meth:`fit` decides). ``work()`` gives the run's
        :class:`Work` (called only when needed, as for :meth:`usage`)."""
        return None

    @classmethod
    def build(cls, name: str, **options: Any) -> Backend:
        """The backend called ``name``, built with constructor ``options``."""
        return cls(**options)

    def check(self, ansatz: Ansatz) -> None:
        """Refuse up front (ResourceError with the numbers) what would not fit; default: fits."""
        return None

    @abstractmethod
    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        """⟨ψ(params)| C |ψ(params)⟩ of the ansatz's QUBO cost (constant included)."""

    @abstractmethod
    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        """The measurement distribution: exact when the backend can, else ``shots`` samples."""

    def pauli_expectations(
        self, ansatz: PauliAnsatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """⟨ψ(params)|P_k|ψ(params)⟩ for every Pauli of the ansatz (real, one per Pauli)."""
        raise NotImplementedError(f"backend {self.name!r} cannot estimate Pauli observables")

    def sample_circuits(
        self, circuits: list, *, shots: int, seed: int | None = None
    ) -> list[Distribution]:
        """``shots`` measured samples of each bound circuit (no measurements in the circuits)."""
        raise NotImplementedError(f"backend {self.name!r} cannot sample circuits")

    def probabilities(
        self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray | None:
        """The exact distribution as one float64 vector indexed by basis state (``distribution``
        without its 2ⁿ states array), where the backend computes it exactly; None otherwise."""
        return None

    def statevector(self, ansatz: Ansatz | PauliAnsatz, params: np.ndarray) -> np.ndarray | None:
        """The exact state at ``params`` where the backend holds one in memory (lets solvers
        sample it in numpy instead of running circuits); None otherwise."""
        return None

    def close(self) -> None:
        """Release what the backend holds open (an IBM Runtime session or batch); default: none."""
        return None

    def info(self) -> dict:
        """Backend facts for the result row (name, method, device...)."""
        return {"backend": self.name}


#: backends holding a service connection open (an IBM Runtime session or batch); the pipeline
#: closes them after every run with :func:`close_open`
OPEN: weakref.WeakSet = weakref.WeakSet()


def close_open() -> None:
    """Close every backend in :data:`OPEN`; explicit, in the caller's thread (never from a garbage
    collector callback, which may run on any thread in the middle of a request)."""
    for backend in list(OPEN):
        with contextlib.suppress(Exception):  # already closed or expired on the service
            backend.close()
    OPEN.clear()
