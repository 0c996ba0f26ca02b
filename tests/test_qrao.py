"""QRAO: the QRAC relaxation, the roundings and the solver, checked against independent references.

References: qiskit-optimization's QuantumRandomAccessEncoding / MagicRounding (relaxed
Hamiltonians, their spectra, QRAC states, magic-rounding recovery rates), qiskit's Statevector
(expectations), brute-force enumeration of QUBO energies, and the closed forms of magic
rounding (E[ŝ_i] = ⟨P_i⟩/√d, E[ŝ_i ŝ_j] = ⟨P_i P_j⟩/d on different qubits).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector, state_fidelity

from qbench.encoders.ising import to_ising
from qbench.encoders.qubo import encode
from qbench.encoders.reference import to_quadratic_program
from qbench.errors import ConfigError
from qbench.hardware import get_backend
from qbench.hardware.base import PauliAnsatz, state_bits
from qbench.hardware.circuits import vqe_ansatz
from qbench.problems import MDKP, generate
from qbench.program import BinaryProgram
from qbench.solvers import qrao
from qbench.solvers.qrao import (
    ENCODINGS,
    MAGIC_SIGNS,
    QRAC,
    magic_rounding,
    pack,
    relax,
    semideterministic_rounding,
)

D = {"3,1": 3, "2,1": 2, "1,1": 1}


# -- helpers ---------------------------------------------------------------------------------
def random_qubo(n: int, density: float, seed: int) -> BinaryProgram:
    """A random QUBO with integer-ish weights and a random interaction graph."""
    rng = np.random.default_rng(seed)
    mask = np.triu(rng.random((n, n)) < density, k=1)
    quad = np.where(mask, rng.integers(-5, 6, size=(n, n)), 0).astype(float)
    return BinaryProgram(
        linear=rng.integers(-5, 6, size=n).astype(float),
        quadratic=sp.csr_matrix(quad),
        constant=float(rng.integers(-3, 4)),
    )


def brute_energies(qubo: BinaryProgram) -> np.ndarray:
    """QUBO energy of every bitstring, enumerated (state s ↔ bits of s)."""
    bits = np.array(list(itertools.product((0, 1), repeat=qubo.n_vars)))[:, ::-1]
    return qubo.objective(bits.astype(float))


def qiskit_encoding(qubo: BinaryProgram, d: int):
    from qiskit_optimization.algorithms.qrao import QuantumRandomAccessEncoding

    enc = QuantumRandomAccessEncoding(max_vars_per_qubit=d)
    enc.encode(to_quadratic_program(qubo))
    return enc


def spectrum(op: SparsePauliOp) -> np.ndarray:
    return np.linalg.eigvalsh(op.to_matrix())


def expectations(qc, paulis) -> np.ndarray:
    sv = Statevector(qc)
    return np.array([sv.expectation_value(SparsePauliOp(p)).real for p in paulis])


def small_mdkp(seed: int, items: int = 6) -> MDKP:
    """A 1-row knapsack (weights 1..9): with 6 items 10–11 QUBO bits with its slack. Its
    penalty makes the QUBO a clique, so QRAC packs one variable per qubit: no compression."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 10, size=(1, items)).astype(float)
    profits = rng.integers(1, 10, size=items).astype(float)
    return MDKP(profits, weights, np.floor(0.5 * weights.sum(axis=1)), name=f"mdkp-s{seed}")


QUBOS = [
    ("random-a", lambda: random_qubo(10, 0.3, 1)),
    ("random-b", lambda: random_qubo(14, 0.2, 2)),
    ("random-c", lambda: random_qubo(9, 0.6, 3)),
    ("mis", lambda: encode(generate("mis", n=10, seed=4).program, penalty="tight").qubo),
    ("mdkp", lambda: encode(small_mdkp(5, items=5).program, penalty="tight").qubo),
]


# -- the relaxation --------------------------------------------------------------------------
@pytest.mark.parametrize("name,make", QUBOS, ids=[q[0] for q in QUBOS])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_relaxation_matches_qiskit_optimization(name, make, encoding):
    qubo = make()
    if encoding == "1,1" and qubo.n_vars > 10:
        pytest.skip("dense diagonalisation kept to 10 qubits")
    ours = relax(qubo, encoding)
    theirs = qiskit_encoding(qubo, D[encoding])
    assert ours.qrac.n_qubits == theirs.num_qubits <= 10
    assert ours.offset == pytest.approx(theirs.offset, abs=1e-9)
    # the whole spectrum (so the ground energy) agrees, offset included
    ev_ours, ev_theirs = spectrum(ours.operator), spectrum(theirs.qubit_op)
    assert np.allclose(ev_ours, ev_theirs, atol=1e-9)
    assert ev_ours[0] + ours.offset <= brute_energies(qubo).min() + 1e-9  # a relaxation
    if encoding != "1,1":  # same colouring and packing: the same operator, qubits reversed
        assert ours.qrac.q2vars == theirs.q2vars
        n = ours.qrac.n_qubits
        flipped = ours.operator.apply_layout(list(range(n))[::-1])
        assert np.allclose((flipped - theirs.qubit_op).simplify(atol=1e-12).coeffs, 0)


def test_interacting_variables_never_share_a_qubit():
    for seed in range(5):
        qubo = random_qubo(30, 0.15, seed)
        for d in (2, 3):
            qrac = relax(qubo, f"{d},1").qrac
            q = qubo.quadratic.tocoo()
            assert np.all(qrac.qubit[q.row] != qrac.qubit[q.col])
            assert np.bincount(qrac.qubit).max() <= d
            assert sorted(sum(qrac.q2vars, [])) == list(range(30))


def test_one_one_is_the_ising_hamiltonian():
    qubo = random_qubo(9, 0.4, 7)
    relaxation = relax(qubo, "1,1")
    op, offset = to_ising(qubo)
    assert relaxation.offset == offset
    assert np.allclose((relaxation.operator - op).simplify(atol=1e-12).coeffs, 0)
    matrix = relaxation.operator.to_matrix()
    assert np.allclose(matrix, np.diag(np.diag(matrix)))  # diagonal
    energies = brute_energies(qubo)
    assert np.allclose(np.diag(matrix).real + offset, energies)
    assert spectrum(relaxation.operator)[0] + offset == pytest.approx(energies.min())


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_qrac_state_of_x_has_energy_e_x(encoding):
    """⟨H⟩ on the QRAC state of x is the QUBO energy of x, and ⟨P_i⟩ = (1 − 2x_i)/√d."""
    qubo = random_qubo(12, 0.3, 11)
    relaxation = relax(qubo, encoding)
    qrac, d = relaxation.qrac, D[encoding]
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.integers(0, 2, size=12)
        qc = qrac.state_circuit(x)
        sv = Statevector(qc)
        assert sv.expectation_value(relaxation.operator).real + relaxation.offset == (
            pytest.approx(float(qubo.objective(x.astype(float))))
        )
        ev = expectations(qc, qrac.variable_paulis())
        assert np.allclose(ev, (1 - 2 * x) / np.sqrt(d))
        # measuring P_i itself recovers x_i with the QRAC's p = (1 + 1/√d)/2
        assert np.allclose((1 + ev * (1 - 2 * x)) / 2, (1 + 1 / np.sqrt(d)) / 2)
        if d > 1:  # the same state as qiskit-optimization's preparation (qubits reversed)
            theirs = Statevector(qiskit_encoding(qubo, d).state_preparation_circuit(list(x)))
            assert state_fidelity(sv, theirs.reverse_qargs()) == pytest.approx(1.0)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_basis_change_maps_magic_states_to_computational_states(d):
    qrac = QRAC(d, np.zeros(d, dtype=np.int64), np.arange(d), 1)
    for b, signs in enumerate(MAGIC_SIGNS[d]):
        change = qrac.basis_change(np.array([b]))
        assert np.allclose(Operator(change).data, qrac.basis_matrices()[b])
        for outcome, s in ((0, signs), (1, -signs)):
            state = qrac.state_circuit((1 - s) // 2).compose(change)
            assert Statevector(state).probabilities()[outcome] == pytest.approx(1.0)
            decoded = qrac.decode(np.array([[outcome]]), np.array([b]))[0]
            assert np.array_equal(decoded, (1 - s) // 2)


# -- rounding --------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_semideterministic_rounding_of_the_qrac_state_returns_x(encoding):
    qubo = random_qubo(11, 0.3, 12)
    qrac = relax(qubo, encoding).qrac
    backend = get_backend("exact")
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.integers(0, 2, size=11)
        ansatz = PauliAnsatz(qrac.state_circuit(x), qrac.variable_paulis())
        ev = backend.pauli_expectations(ansatz, np.zeros(0))
        assert np.array_equal(semideterministic_rounding(ev, seed=0), x)
    # |⟨P⟩| at zero: a seeded coin, reproducible
    ties = semideterministic_rounding(np.array([0.0, 1e-10, -0.3, 0.2] * 8), seed=5)
    assert np.array_equal(
        ties, semideterministic_rounding(np.array([0.0, 1e-10, -0.3, 0.2] * 8), 5)
    )
    assert np.all(ties[2::4] == 1) and np.all(ties[3::4] == 0)
    assert 0 < ties[0::4].sum() < 8


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_magic_rounding_recovery_rate_of_qrac_states(encoding):
    """Magic rounding gives each x_i back w.p. (1 + 1/d)/2 (not the (1 + 1/√d)/2 of a P_i
    measurement); qiskit-optimization's MagicRounding measures the same rate."""
    from qiskit.primitives import StatevectorSampler
    from qiskit_optimization.algorithms.qrao import MagicRounding, RoundingContext

    d = D[encoding]
    qubo = random_qubo(9, 0.25, 13)
    qrac = relax(qubo, encoding).qrac
    x = np.random.default_rng(2).integers(0, 2, size=9)
    shots = 4000
    ansatz = PauliAnsatz(qrac.state_circuit(x), qrac.variable_paulis())
    bits, counts = magic_rounding(get_backend("exact"), ansatz, np.zeros(0), qrac, shots, 3)
    assert counts.sum() == shots and set(np.unique(bits)) <= {0, 1} and bits.shape[1] == 9
    ours = float(counts @ (bits == x).mean(axis=1)) / shots
    expected = (1 + 1 / d) / 2
    sigma = np.sqrt(expected * (1 - expected) / shots) + 1e-12
    assert abs(ours - expected) < 5 * sigma, (ours, expected)

    enc = qiskit_encoding(qubo, d)
    context = RoundingContext(enc, None, enc.state_preparation_circuit(list(x)))
    rounding = MagicRounding(StatevectorSampler(default_shots=shots, seed=4), seed=4)
    samples = rounding.round(context).samples
    theirs = sum(s.probability * np.mean(s.x == x) for s in samples)
    assert abs(theirs - expected) < 5 * sigma, (theirs, expected)


def _magic_case():
    """A random efficient_su2 state on the (3,1) relaxation of a 10-variable QUBO (4 qubits)."""
    qubo = random_qubo(10, 0.35, 21)
    relaxation = relax(qubo, "3,1")
    qrac = relaxation.qrac
    qc = vqe_ansatz("efficient_su2", qrac.n_qubits, 2, "linear")
    params = np.random.default_rng(8).uniform(-np.pi, np.pi, qc.num_parameters)
    return qubo, relaxation, qrac, PauliAnsatz(qc, qrac.variable_paulis()), params


def _moments(bits: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spins = 1.0 - 2.0 * bits
    w = counts / counts.sum()
    return w @ spins, np.einsum("k,ki,kj->ij", w, spins, spins)


@pytest.mark.parametrize(
    "backend,fast,shots",
    [
        ("exact", True, 20000),
        ("aer_statevector", False, 4000),
        pytest.param("exact", False, 4000, marks=pytest.mark.slow),  # one Aer run per circuit
    ],
)
def test_magic_rounding_is_unbiased_on_every_path(backend, fast, shots):
    """Both the numpy fast path and the generic sample_circuits path reproduce the exact
    first and second moments of magic rounding (and the mean QUBO energy they imply)."""
    qubo, relaxation, qrac, ansatz, params = _magic_case()
    d = qrac.d
    sv = Statevector(ansatz.qc.assign_parameters(params))
    p1 = np.array([sv.expectation_value(SparsePauliOp(p)).real for p in qrac.variable_paulis()])
    var = qrac.variable_paulis()
    p2 = np.array([[sv.expectation_value(SparsePauliOp(var[i].dot(var[j]))).real
                    for j in range(10)] for i in range(10)])  # fmt: skip
    bits, counts = magic_rounding(get_backend(backend), ansatz, params, qrac, shots, 9, fast=fast)
    assert counts.sum() == shots
    mean, second = _moments(bits, counts)
    tol = 5 / np.sqrt(shots)
    assert np.allclose(mean, p1 / np.sqrt(d), atol=tol)
    apart = qrac.qubit[:, None] != qrac.qubit[None, :]
    assert np.allclose(second[apart], p2[apart] / d, atol=tol)
    assert np.allclose(second[~apart & ~np.eye(10, dtype=bool)], 0.0, atol=tol)
    # so the mean rounded QUBO energy is offset + Σ h ⟨P⟩/√d + Σ J ⟨PP⟩/d
    op, offset = to_ising(qubo)
    z = op.paulis.z
    predicted = offset
    for coeff, row in zip(op.coeffs.real, z):
        idx = np.flatnonzero(row)
        predicted += coeff * (p1[idx[0]] / np.sqrt(d) if idx.size == 1 else p2[idx[0], idx[1]] / d)
    energy = counts @ qubo.objective(bits.astype(float)) / shots
    scale = np.abs(op.coeffs).sum()
    assert abs(energy - predicted) < 5 * scale / np.sqrt(shots)


def test_fast_and_generic_magic_paths_agree_on_the_distribution():
    """Same decoded-bit distribution (total variation small) from both paths."""
    qrac = QRAC(3, np.repeat([0, 1], 3), np.tile([0, 1, 2], 2), 2)  # 6 variables, 64 strings
    qc = vqe_ansatz("efficient_su2", 2, 2, "linear")
    params = np.random.default_rng(3).uniform(-np.pi, np.pi, qc.num_parameters)
    ansatz = PauliAnsatz(qc, qrac.variable_paulis())
    backend = get_backend("exact")
    dists = []
    for fast in (True, False):
        bits, counts = magic_rounding(backend, ansatz, params, qrac, 8000, 17, fast=fast)
        dist = np.zeros(64)
        dist[pack(bits)] = counts / counts.sum()
        dists.append(dist)
    # exact decoded distribution: P(x) = Tr[ρ ⊗_q (I + Σ_k s_k P_k/√3)/8], s = 1 − 2x
    sv = Statevector(qc.assign_parameters(params))
    exact = np.zeros(64)
    for state in range(64):
        s = 1 - 2 * ((state >> np.arange(6)) & 1)
        effects = [
            (np.eye(2) + sum(s[3 * q + k] * Operator.from_label(p).data
                             for k, p in enumerate("XYZ")) / np.sqrt(3)) / 8
            for q in range(2)
        ]  # fmt: skip
        exact[state] = sv.expectation_value(Operator(np.kron(effects[1], effects[0]))).real
    assert exact.sum() == pytest.approx(1.0)
    for dist in dists:
        assert 0.5 * np.abs(dist - exact).sum() < 0.05
    assert 0.5 * np.abs(dists[0] - dists[1]).sum() < 0.06


def test_pack_round_trips_beyond_62_bits():
    rng = np.random.default_rng(0)
    for n in (5, 62, 70):
        bits = rng.integers(0, 2, size=(7, n))
        states = pack(bits)
        assert states.dtype == (object if n > 62 else np.int64)
        assert np.array_equal(state_bits(states, n), bits)


# -- the solver ------------------------------------------------------------------------------
INFO_KEYS = {
    "final_states", "final_probs", "n_qubits", "n_vars", "compression_ratio", "encoding",
    "relaxed_energy", "rounded_objective", "rounding", "depth", "two_qubit_gates", "optimizer",
    "backend", "backend_info", "params", "history", "shots", "n_evaluations", "iterations",
    "x_raw", "energy_raw", "postprocessed", "postprocess_moves",
}  # fmt: skip


def test_exact_and_aer_statevector_give_the_same_energies():
    qubo = random_qubo(12, 0.3, 41)
    results = [
        qrao.solve(qubo, seed=3, maxiter=25, backend=b, rounding="semideterministic")
        for b in ("exact", "aer_statevector")
    ]
    a, b = (r.info for r in results)
    assert len(a["history"]) == len(b["history"]) == 25
    assert np.allclose(a["history"], b["history"], atol=1e-9)
    assert a["relaxed_energy"] == pytest.approx(b["relaxed_energy"], abs=1e-9)
    assert np.array_equal(results[0].x, results[1].x)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("rounding", ["magic", "semideterministic"])
def test_solve_returns_a_valid_result(encoding, rounding):
    qubo = encode(generate("mis", n=9, seed=2).program, penalty="tight").qubo
    res = qrao.solve(
        qubo, seed=1, encoding=encoding, rounding=rounding, maxiter=60, shots=300,
        postprocess="flip1",
    )  # fmt: skip
    info = res.info
    assert set(info) >= INFO_KEYS
    assert res.status == "feasible" and res.x.shape == (9,) and set(res.x) <= {0, 1}
    assert info["n_qubits"] == relax(qubo, encoding).qrac.n_qubits
    assert info["compression_ratio"] == pytest.approx(9 / info["n_qubits"])
    assert info["n_evaluations"] == len(info["history"]) == 60
    assert res.objective == pytest.approx(float(qubo.objective(res.x.astype(float))))
    assert info["rounded_objective"] == pytest.approx(qubo.objective(info["x_raw"].astype(float)))
    assert res.objective <= info["rounded_objective"] + 1e-9  # local search never worsens
    probs = info["final_probs"]
    assert probs.sum() == pytest.approx(1.0) and np.all(probs > 0)
    rows = state_bits(info["final_states"], 9)
    energies = qubo.objective(rows)
    assert energies.min() == pytest.approx(info["rounded_objective"])
    if rounding == "magic":
        assert np.allclose(probs * 300, np.rint(probs * 300))
    else:
        assert len(probs) == 1
    # deterministic under a seed
    again = qrao.solve(
        qubo, seed=1, encoding=encoding, rounding=rounding, maxiter=60, shots=300,
        postprocess="flip1",
    )  # fmt: skip
    assert np.array_equal(again.x, res.x) and again.info["history"] == info["history"]


def test_bad_parameters_are_refused_with_the_allowed_values():
    qubo = random_qubo(5, 0.3, 0)
    with pytest.raises(ConfigError, match="allowed: 3,1, 2,1, 1,1"):
        qrao.solve(qubo, encoding="4,1")
    with pytest.raises(ConfigError, match="allowed: magic, semideterministic"):
        qrao.solve(qubo, rounding="pauli")
    with pytest.raises(ConfigError, match="unknown parameter.*alpha"):
        qrao.solve(qubo, alpha=0.5)
    with pytest.raises(ConfigError, match="optimizer"):
        qrao.solve(qubo, optimizer="Adam")
    with pytest.raises(ConfigError, match="encoder"):
        qrao.solve(generate("mis", n=5, seed=0).program)
    names = [p.name for p in qrao.QRAO.params]
    assert sorted(names) == sorted([
        "encoding", "reps", "entanglement", "optimizer", "maxiter", "tol", "init_scale",
        "backend", "shots", "rounding", "postprocess", "backend_options",
    ])  # fmt: skip
    with pytest.raises(ConfigError, match="allowed: 3,1"):
        qrao.QRAO.parse_params({"encoding": "5,1"})


def _random_mean(qubo: BinaryProgram, seed: int) -> float:
    rng = np.random.default_rng(seed)
    return float(qubo.objective(rng.integers(0, 2, size=(4000, qubo.n_vars)).astype(float)).mean())


@pytest.mark.parametrize("encoding", ["3,1", "2,1"])
def test_qrao_beats_random_bitstrings_on_small_mis(encoding):
    wins, hits = 0, 0
    for seed in range(5):
        problem = generate("mis", n=12, seed=seed)
        qubo = encode(problem.program, penalty="tight").qubo
        res = qrao.solve(qubo, seed=seed, encoding=encoding, maxiter=150, shots=256)
        wins += res.info["rounded_objective"] < _random_mean(qubo, seed)
        hits += res.info["rounded_objective"] == pytest.approx(brute_energies(qubo).min())
    assert wins >= 4, wins
    print(f"qrao({encoding}) MIS n=12: better than random {wins}/5, optimum {hits}/5")


def test_run_pipeline_rows(monkeypatch):
    """Through qbench.pipeline.run (qrao registered for the test): valid rows with p_feasible."""
    from qbench import solvers
    from qbench.pipeline import run

    monkeypatch.setitem(solvers.SOLVERS, "qrao", qrao.QRAO)
    for spec in ("mis:n=10,seed=3", "mdkp:n=5,m=1,seed=2"):
        row = run(spec, solver="qrao", encoder="qubo", seed=1,
                  params={"maxiter": 80, "shots": 256, "postprocess": "flip1"})  # fmt: skip
        assert row["status"] in ("ok", "infeasible"), row["error"]
        bits = row["n_vars"] + row["n_slack"]
        if spec.startswith("mis"):
            assert row["n_qubits"] < bits
        else:  # the knapsack penalty couples every pair of bits: a clique, one bit per qubit
            assert row["n_qubits"] == bits
        assert 0.0 <= row["p_feasible"] <= 1.0
        assert row["shots"] == 256 and row["n_evaluations"] == 80 and row["depth"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_success_rate_on_small_mdkp(encoding):
    """Raw QRAO on 6-item knapsacks (10–11 QUBO bits, a clique: no compression): the rounded
    objective beats random bitstrings in all seeds. Seen: optimum 3/6 with (3,1) and (2,1),
    whose magic rounding scatters samples around the relaxed state; 0/6 with (1,1), which is
    plain VQE (expectation objective) and samples a few near-classical states."""
    wins = hits = 0
    for seed in range(6):
        qubo = encode(small_mdkp(seed).program, penalty="tight").qubo
        res = qrao.solve(qubo, seed=seed, encoding=encoding, maxiter=300, shots=1024)
        wins += res.info["rounded_objective"] < _random_mean(qubo, seed)
        hits += res.info["rounded_objective"] == pytest.approx(brute_energies(qubo).min())
    print(f"qrao({encoding}) MDKP 6 items: better than random {wins}/6, optimum {hits}/6")
    assert wins == 6
    assert hits >= (3 if encoding != "1,1" else 0)
