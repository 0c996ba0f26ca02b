"""Quantum random access optimisation, QRAO (Fuller et al., arXiv 2111.03167).

A (d,1) quantum random access code (QRAC) packs up to d = 3 (or 2, or 1) binary variables into
one qubit: variable i becomes a Pauli P_i ∈ {X, Y, Z} of its qubit, and the QUBO's Ising form
``E = offset + Σ h_i s_i + Σ J_ij s_i s_j`` (``s_i = 1 − 2x_i``, from
:func:`qbench.encoders.ising.to_ising`) relaxes to ``H = Σ √d h_i P_i + Σ d J_ij P_i P_j``
(``s_i → √d P_i``, offset kept). The QRAC state of a bitstring x (qubit q along
``Σ_k s_k P_k / √d``) has ``⟨H⟩ + offset = E(x)``, so the ground energy of H bounds the QUBO
minimum from below. Interacting variables must sit on different qubits, so the assignment
follows qiskit-optimization's QuantumRandomAccessEncoding: networkx's greedy colouring
(largest first) of the interaction graph, colour classes in order, each class's variables in
index order packed d per qubit on X, Y, Z ((2,1): X, Z; (1,1): Z). The spectra of H equal
qiskit-optimization's (its qubit q is our qubit n−1−q). The (1,1) control keeps variable i on
qubit i, so its H is the Ising Hamiltonian itself and QRAO(1,1) is VQE on the QUBO.

VQE minimises ``⟨H⟩`` over efficient_su2; every term comes from ``backend.pauli_expectations``
(one statevector and a few grouped Walsh–Hadamard transforms on the exact backend, Aer's
estimator elsewhere). The final state is rounded:

* ``semideterministic`` (Pauli rounding): x_i = 0 if ⟨P_i⟩ > 0, 1 if ⟨P_i⟩ < 0, a seeded coin
  if |⟨P_i⟩| ≤ 1e-8 (as qiskit-optimization does);
* ``magic``: each shot measures every qubit in one of the 2^(d−1) magic bases, drawn uniformly
  (seeded); the two states of basis b have Bloch vectors ``±Σ_k σ_bk P_k / √d`` with sign
  patterns σ_b ∈ {+++, +−−, −+−, −−+} ((2,1): {++, +−}), and outcome m decodes slot k to
  ``x = [σ_bk < 0] XOR m`` (Fuller et al. eq. (8)). Shots are grouped by basis choice and run
  with ``backend.sample_circuits`` (Aer, hardware); the exact backend rotates and samples the
  final statevector in numpy instead (same distribution, tested). Magic rounding is unbiased,
  ``E[ŝ_i] = ⟨P_i⟩/√d`` and ``E[ŝ_i ŝ_j] = ⟨P_i P_j⟩/d`` on different qubits, so a QRAC state
  of x gives back each x_i with probability (1 + 1/d)/2 (2/3, 3/4, 1), while measuring P_i
  itself would give (1 + 1/√d)/2.

The rounded bitstring of lowest QUBO energy is the answer (optionally post-processed by local
search); all rounded bitstrings with their frequencies are ``info["final_states"]`` /
``info["final_probs"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import PauliList, SparsePauliOp

from qbench.errors import ConfigError
from qbench.hardware.base import Backend, PauliAnsatz, Work, state_bits
from qbench.hardware.paulis import pauli_groups
from qbench.params import Param
from qbench.program import BinaryProgram
from qbench.solvers.base import Solver, SolveResult
from qbench.solvers.optimizers import minimize
from qbench.solvers.variational import (
    circuit_facts,
    common_params,
    init_scale_param,
    postprocessed,
    qubo_of,
    settings_from,
)
from qbench.solvers.vqe import DEFAULT_INIT_SCALE, DEFAULT_VQE_MAXITER, ENTANGLEMENTS

#: encoding name -> variables per qubit d
ENCODINGS = {"3,1": 3, "2,1": 2, "1,1": 1}
ROUNDINGS = ("magic", "semideterministic")
#: Pauli of each slot of a qubit (1 X, 2 Y, 3 Z), in qiskit-optimization's order
SLOT_PAULIS = {1: (3,), 2: (1, 3), 3: (1, 2, 3)}
#: magic bases: the sign of each slot's Pauli in the Bloch vector of outcome 0
MAGIC_SIGNS = {
    1: np.array([[1]]),
    2: np.array([[1, 1], [1, -1]]),
    3: np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]),
}
#: semideterministic rounding flips a seeded coin when |⟨P_i⟩| is at most this
ZERO_ATOL = 1e-8
DEFAULT_SHOTS = 1024
#: amplitudes per chunk of magic rounding's collapse (temporaries of 1 MiB)
MAGIC_CHUNK = 1 << 16
#: above this many variables rounded bitstrings are Python ints (object arrays), as elsewhere
MAX_INT64_BITS = 62


@dataclass(frozen=True)
class QRAC:
    """Where the variables live: variable i is Pauli slot ``slot[i]`` of qubit ``qubit[i]``."""

    d: int
    qubit: np.ndarray
    slot: np.ndarray
    n_qubits: int

    @property
    def n_vars(self) -> int:
        return int(self.qubit.size)

    @property
    def q2vars(self) -> list[list[int]]:
        """The variables of each qubit, by slot."""
        out: list[list[int]] = [[] for _ in range(self.n_qubits)]
        for i in np.lexsort((self.slot, self.qubit)):
            out[self.qubit[i]].append(int(i))
        return out

    def variable_paulis(self) -> PauliList:
        """P_i of every variable, in variable order, on ``n_qubits`` qubits."""
        letters = np.asarray(SLOT_PAULIS[self.d])[self.slot]
        rows = np.arange(self.n_vars)
        x = np.zeros((self.n_vars, self.n_qubits), dtype=bool)
        z = np.zeros_like(x)
        x[rows, self.qubit] = letters != 3
        z[rows, self.qubit] = letters != 1
        return PauliList.from_symplectic(z, x)

    def bloch_angles(self, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Polar angles (θ, φ) of the Bloch vectors ``Σ_k signs[..., k] P_k / √d``."""
        signs = np.asarray(signs, dtype=float)
        vec = np.zeros(signs.shape[:-1] + (3,))
        for k, letter in enumerate(SLOT_PAULIS[self.d]):
            vec[..., letter - 1] = signs[..., k] / np.sqrt(self.d)
        return np.arccos(np.clip(vec[..., 2], -1.0, 1.0)), np.arctan2(vec[..., 1], vec[..., 0])

    def state_circuit(self, x: np.ndarray) -> QuantumCircuit:
        """The QRAC state of bits x: qubit q along ``Σ_k s_k P_k / √d`` (empty slots s = +1)."""
        signs = np.ones((self.n_qubits, self.d))
        signs[self.qubit, self.slot] = 1 - 2 * np.asarray(x, dtype=float)
        theta, phi = self.bloch_angles(signs)
        qc = QuantumCircuit(self.n_qubits, name="qrac_state")
        for q in range(self.n_qubits):
            qc.ry(theta[q], q)
            qc.rz(phi[q], q)
        return qc

    def basis_change(self, bases: np.ndarray) -> QuantumCircuit:
        """Rotation taking magic basis ``bases[q]`` of each qubit q to the computational basis
        (outcome 0 = the basis state along ``+Σ_k σ_k P_k``): RZ(−φ) then RY(−θ)."""
        qc = QuantumCircuit(self.n_qubits, name="magic_basis")
        if self.d == 1:
            return qc
        theta, phi = self.bloch_angles(MAGIC_SIGNS[self.d][np.asarray(bases)])
        for q in range(self.n_qubits):
            qc.rz(-phi[q], q)
            qc.ry(-theta[q], q)
        return qc

    def basis_matrices(self) -> np.ndarray:
        """The 2×2 unitaries of :meth:`basis_change`, one per magic basis: (2^(d−1), 2, 2)."""
        from qbench.hardware.gates import ry, rz

        theta, phi = self.bloch_angles(MAGIC_SIGNS[self.d])
        return np.stack([ry(-t) @ rz(-p) for t, p in zip(theta, phi)])

    def decode(self, outcomes: np.ndarray, bases: np.ndarray) -> np.ndarray:
        """Rounded bits (k, n_vars) of measured qubit bits (k, n_qubits) in magic ``bases``
        (one choice (n_qubits,) for all rows, or one per row (k, n_qubits))."""
        flip = MAGIC_SIGNS[self.d][np.asarray(bases)[..., self.qubit], self.slot] < 0
        return (np.asarray(outcomes)[:, self.qubit].astype(bool) ^ flip).astype(np.int8)


def assign(qubo: BinaryProgram, d: int) -> QRAC:
    """Variables to (qubit, slot): greedy colouring of the interaction graph, d per qubit."""
    import networkx as nx

    n = qubo.n_vars
    if d == 1:
        return QRAC(1, np.arange(n), np.zeros(n, dtype=np.int64), n)
    q = qubo.quadratic.tocoo()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(q.row.tolist(), q.col.tolist()))
    node_colour = nx.greedy_color(graph)  # largest first, as qiskit-optimization
    colour = np.array([node_colour[i] for i in range(n)], dtype=np.int64)
    sizes = np.bincount(colour)
    order = np.lexsort((np.arange(n), colour))  # by colour, then index
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    per_class = -(-sizes // d)  # qubits per colour class
    qubit = (np.cumsum(per_class) - per_class)[colour] + rank // d
    return QRAC(d, qubit, rank % d, int(per_class.sum()))


@dataclass(frozen=True)
class Relaxation:
    """The relaxed Hamiltonian ``operator`` (+ ``offset``) of a QUBO under a QRAC."""

    qrac: QRAC
    operator: SparsePauliOp
    offset: float


def relax(qubo: BinaryProgram, encoding: str = "3,1") -> Relaxation:
    """The QRAC relaxation of a QUBO: to_ising's terms with each s_i replaced by √d P_i."""
    from qbench.encoders.ising import to_ising

    if encoding not in ENCODINGS:
        raise ConfigError(f"unknown QRAC encoding {encoding!r}; allowed: {', '.join(ENCODINGS)}")
    qrac = assign(qubo, ENCODINGS[encoding])
    ising, offset = to_ising(qubo)
    support = ising.paulis.z.astype(np.int64)  # (terms, variables): which s_i each term holds
    if support.size and np.max(support @ (qrac.qubit[:, None] == np.arange(qrac.n_qubits))) > 1:
        raise AssertionError("interacting variables share a qubit")  # the colouring forbids it
    var = qrac.variable_paulis()
    x = support @ var.x.astype(np.int64)
    z = support @ var.z.astype(np.int64)
    coeffs = ising.coeffs.real * np.sqrt(qrac.d) ** support.sum(axis=1)
    paulis = PauliList.from_symplectic(z.astype(bool), x.astype(bool))
    return Relaxation(qrac, SparsePauliOp(paulis, coeffs), float(offset))


def pack(bits: np.ndarray) -> np.ndarray:
    """Integer states of bit rows (bit i = variable i); object dtype beyond 62 bits."""
    bits = np.atleast_2d(bits)
    n = bits.shape[1]
    if n <= MAX_INT64_BITS:
        return bits.astype(np.int64) @ (np.int64(1) << np.arange(n, dtype=np.int64))
    return bits.astype(object) @ np.array([1 << i for i in range(n)], dtype=object)


def semideterministic_rounding(expectations: np.ndarray, seed: int | None = None) -> np.ndarray:
    """x_i = [⟨P_i⟩ < 0]; a seeded coin where |⟨P_i⟩| ≤ ZERO_ATOL."""
    e = np.asarray(expectations, dtype=float)
    coin = np.random.default_rng(seed).integers(2, size=e.size)
    return np.where(np.abs(e) <= ZERO_ATOL, coin, e < 0).astype(np.int8)


def sample_magic(
    state: np.ndarray, bases: np.ndarray, mats: np.ndarray, seed: int | None = None
) -> np.ndarray:
    """Exact measurement outcomes (shots, n) of a statevector, shot s measuring qubit q in
    basis ``bases[s, q]`` (rotation ``mats[b]``, then Z).

    Qubits are measured one at a time from the highest: shots sharing the bases and outcomes
    measured so far share one (unnormalised) collapsed state, which halves at every qubit, so
    the cost is about ``shots · 2ⁿ`` rather than ``shots · n · 2ⁿ`` for rotating the whole
    state once per basis choice. The outcome weights come from the halves' Gram entries
    (‖low‖², ‖high‖², ⟨low|high⟩: no temporary), and a collapsed half-state is built only for
    a branch some shot takes, one at a time: beside the state at most 8 + 4 + … < 16 bytes per
    amplitude (complex128), where building both branches of every basis at once held ~32.
    """
    rng = np.random.default_rng(seed)
    bases = np.asarray(bases)
    out = np.zeros(bases.shape, dtype=np.int8)

    rows_of = [[(complex(a), complex(c)) for a, c in m] for m in np.asarray(mats)]

    def collapse(ua: complex, low: np.ndarray, ub: complex, high: np.ndarray) -> np.ndarray:
        """``ua·low + ub·high`` with one half-size array and chunk-sized temporaries."""
        if low.size <= MAGIC_CHUNK:
            return ua * low + ub * high
        phi = np.multiply(low, ua)
        for a in range(0, phi.size, MAGIC_CHUNK):
            phi[a : a + MAGIC_CHUNK] += ub * high[a : a + MAGIC_CHUNK]
        return phi

    def descend(psi: np.ndarray, shots: np.ndarray, k: int) -> None:
        low, high = psi.reshape(2, -1)  # qubit k-1, the highest left, is 0 / 1
        ll, hh = np.vdot(low, low).real, np.vdot(high, high).real
        lh = complex(np.vdot(low, high))
        which = bases[shots, k - 1]
        for b in np.unique(which):
            sel = shots[which == b]
            rows = rows_of[b]
            # ‖u_m0·low + u_m1·high‖² of outcome m = 0, 1
            w0, w1 = (
                max(0.0, abs(a) ** 2 * ll + abs(c) ** 2 * hh + 2 * (a.conjugate() * c * lh).real)
                for a, c in rows
            )
            ones = rng.random(sel.size) * (w0 + w1) >= w0
            out[sel, k - 1] = ones
            if k > 1:
                for m, sub in ((0, sel[~ones]), (1, sel[ones])):
                    if sub.size:
                        descend(collapse(*rows[m][:1], low, rows[m][1], high), sub, k - 1)

    descend(np.asarray(state, dtype=np.complex128), np.arange(bases.shape[0]), bases.shape[1])
    return out


def magic_rounding(
    backend: Backend,
    ansatz: PauliAnsatz,
    params: np.ndarray,
    qrac: QRAC,
    shots: int,
    seed: int | None = None,
    fast: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``shots`` magic-basis measurements of the ansatz state, decoded: (distinct bit rows
    (k, n_vars) int8, their counts). Bases are drawn uniformly per shot and qubit; a backend that
    holds the state (``backend.statevector``, the exact one) is sampled in numpy (``fast``),
    others run one circuit per distinct basis choice through ``sample_circuits``, one job per
    shot count."""
    rng = np.random.default_rng(seed)
    n = qrac.n_qubits
    draws = rng.integers(len(MAGIC_SIGNS[qrac.d]), size=(int(shots), n))
    state = backend.statevector(ansatz, params) if fast else None
    if state is not None:
        outcomes = sample_magic(state, draws, qrac.basis_matrices(), rng.integers(2**63 - 1))
        rounded = qrac.decode(outcomes, draws)
        weights = np.ones(int(shots), dtype=np.int64)
    else:
        configs, config_shots = np.unique(draws, axis=0, return_counts=True)
        bound = ansatz.circuit().assign_parameters(np.asarray(params, dtype=float))
        rows: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for count in np.unique(config_shots):
            which = np.flatnonzero(config_shots == count)
            circuits = [bound.compose(qrac.basis_change(configs[j])) for j in which]
            dists = backend.sample_circuits(
                circuits, shots=int(count), seed=int(rng.integers(2**63 - 1))
            )
            for j, dist in zip(which, dists):
                c = np.rint(np.asarray(dist.probs) * count).astype(np.int64)
                keep = c > 0
                rows.append(qrac.decode(state_bits(np.asarray(dist.states)[keep], n), configs[j]))
                counts.append(c[keep])
        rounded, weights = np.concatenate(rows), np.concatenate(counts)
    bits, inverse = np.unique(rounded, axis=0, return_inverse=True)
    return bits, np.bincount(inverse.ravel(), weights=weights).astype(np.int64)


def _own(params: dict[str, Any], name: str, default: Any) -> Any:
    value = params.pop(name, None)
    return default if value is None else value


def observables(relaxation: Relaxation) -> PauliList:
    """What QRAO measures, as one list: the variables' P_i (for rounding), then H's terms."""
    var, op = relaxation.qrac.variable_paulis(), relaxation.operator
    return PauliList.from_symplectic(
        np.vstack([var.z, op.paulis.z]), np.vstack([var.x, op.paulis.x])
    )


def solve(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """QRAO: VQE on the QRAC-relaxed Hamiltonian of the QUBO, then magic or Pauli rounding."""
    from qbench.hardware import open_backend
    from qbench.hardware.circuits import vqe_ansatz

    qubo = qubo_of(target, "qrao")
    unknown = sorted(set(params) - {p.name for p in PARAMS})
    if unknown:
        raise ConfigError(
            f"solver 'qrao': unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(p.name for p in PARAMS))}"
        )
    params = dict(params)
    encoding = str(_own(params, "encoding", "3,1"))
    rounding = _own(params, "rounding", "magic")
    reps = int(_own(params, "reps", 1))
    entanglement = _own(params, "entanglement", "linear")
    init_scale = float(_own(params, "init_scale", DEFAULT_INIT_SCALE))
    params.setdefault("maxiter", DEFAULT_VQE_MAXITER)
    settings, _ = settings_from("qrao", params)
    if encoding not in ENCODINGS:
        raise ConfigError(
            f"solver 'qrao': unknown encoding {encoding!r}; allowed: {', '.join(ENCODINGS)}"
        )
    if rounding not in ROUNDINGS:
        raise ConfigError(
            f"solver 'qrao': unknown rounding {rounding!r}; allowed: {', '.join(ROUNDINGS)}"
        )
    if reps < 0:
        raise ConfigError(f"solver 'qrao': reps must be >= 0, got {reps}")

    relaxation = relax(qubo, encoding)
    qrac, op = relaxation.qrac, relaxation.operator
    try:
        qc = vqe_ansatz("efficient_su2", qrac.n_qubits, reps, entanglement)
    except ValueError as exc:
        raise ConfigError(f"solver 'qrao': {exc}") from None
    n_vars = qubo.n_vars
    ansatz = PauliAnsatz(qc, observables(relaxation), name=f"qrao({encoding})")
    coeffs = op.coeffs.real
    backend = open_backend(settings.backend, shots=settings.shots, options=settings.backend_options)
    backend.check(ansatz)

    seeds = np.random.SeedSequence(seed).spawn(4)
    eval_rng = np.random.default_rng(seeds[0])

    def expectations(theta: np.ndarray) -> np.ndarray:
        return backend.pauli_expectations(ansatz, theta, seed=int(eval_rng.integers(2**63 - 1)))

    def energy(theta: np.ndarray) -> float:
        return float(coeffs @ expectations(theta)[n_vars:]) + relaxation.offset

    theta = np.random.default_rng(seeds[1]).uniform(-init_scale, init_scale, qc.num_parameters)
    n_evaluations = iterations = 0
    history: list[float] = []
    if settings.maxiter > 0:
        res = minimize(
            energy,
            theta,
            method=settings.optimizer,
            maxiter=settings.maxiter,
            tol=settings.tol,
            seed=int(np.random.default_rng(seeds[2]).integers(2**63 - 1)),
        )
        theta, n_evaluations, iterations, history = (
            res.x,
            res.n_evaluations,
            res.iterations,
            res.history,
        )
    values = expectations(theta)
    relaxed_energy = float(coeffs @ values[n_vars:]) + relaxation.offset

    round_seed = int(np.random.default_rng(seeds[3]).integers(2**63 - 1))
    if rounding == "magic":
        bits, counts = magic_rounding(backend, ansatz, theta, qrac, settings.shots, round_seed)
    else:
        bits = semideterministic_rounding(values[:n_vars], round_seed)[None, :]
        counts = np.ones(1, dtype=np.int64)
    energies = np.atleast_1d(qubo.objective(bits.astype(float)))
    best = np.lexsort((-counts, energies))[0]  # lowest energy, then most frequent
    x_raw, energy_raw = bits[best], float(energies[best])
    x, post = postprocessed(qubo, x_raw, energy_raw, settings.postprocess)
    info = {
        "final_states": pack(bits),
        "final_probs": counts / counts.sum(),
        "n_qubits": qrac.n_qubits,
        "n_vars": n_vars,
        "compression_ratio": n_vars / qrac.n_qubits,
        "encoding": encoding,
        "relaxed_energy": relaxed_energy,
        "rounded_objective": energy_raw,
        "rounding": rounding,
        **circuit_facts(ansatz, theta),
        "ansatz": "efficient_su2",
        "reps": reps,
        "entanglement": entanglement,
        "init_scale": init_scale,
        "optimizer": settings.optimizer,
        "backend": backend.name,
        "backend_info": backend.info(),
        "params": [float(v) for v in theta],
        "history": list(history),
        "shots": settings.shots if rounding == "magic" else None,
        "n_evaluations": n_evaluations,
        "iterations": iterations,
        **post,
    }
    backend.close()  # a session or batch on IBM Runtime ends with the solve
    return SolveResult(
        x=x,
        status="feasible",
        objective=float(qubo.objective(np.asarray(x, dtype=float))),
        n_evaluations=n_evaluations,
        iterations=iterations,
        info=info,
    )


_COMMON = ("optimizer", "maxiter", "tol", "backend", "postprocess", "backend_options")
PARAMS = (
    Param(
        "encoding", str, "3,1", "variables per qubit: QRAC (3,1), (2,1), or (1,1)", tuple(ENCODINGS)
    ),
    Param("reps", int, 1, "efficient_su2 repetitions (entangling layers)", bounds="[0, inf)"),
    Param("entanglement", str, "linear", "entangling pattern", ENTANGLEMENTS),
    init_scale_param(DEFAULT_INIT_SCALE),
    Param("rounding", str, "magic", "magic-basis sampling or Pauli signs", ROUNDINGS),
    Param("shots", int, DEFAULT_SHOTS, "magic-rounding shots", bounds="[1, inf)"),
    *(p for p in common_params(maxiter=DEFAULT_VQE_MAXITER) if p.name in _COMMON),
)


def physical_qubits(qubo: BinaryProgram, params: dict[str, Any]) -> int:
    """QRAO's qubits: the colour classes of the QUBO's graph packed d variables per qubit."""
    return assign(qubo, ENCODINGS[params.get("encoding") or "3,1"]).n_qubits


def work(qubo: BinaryProgram, params: dict[str, Any]) -> Work:
    """One evaluation measures each qubit-wise commuting group of QRAO's observables."""
    relaxation = relax(qubo, str(params.get("encoding") or "3,1"))
    return Work(
        bases=len(pauli_groups(observables(relaxation))),
        evaluations=int(params.get("maxiter") or 0),
        shots=int(params.get("shots") or 0),
    )


QRAO = Solver(
    name="qrao",
    needs_qubo=True,
    ansatz="pauli",
    qubits=physical_qubits,
    work=work,
    solve=solve,
    params=PARAMS,
    description="QRAO: VQE on a QRAC relaxation (3 or 2 variables per qubit), then rounding",
)

SOLVERS = (QRAO,)
