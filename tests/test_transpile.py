"""ISA transpilation: default routing and QAOA swap strategies keep the measured distribution.

The key check simulates the routed ISA circuits (restricted to the qubits they touch) and
compares the distribution over QUBO bitstrings, read through the measurements' classical bits,
with the unrouted ``qaoa_circuit``: any permutation bug in routing or readout shows up there.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit.transpiler import CouplingMap
from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeNairobiV2, FakeTorino

from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.circuits import qaoa_circuit
from qbench.hardware.transpile import line_layout, transpile_isa, transpile_qaoa_swap
from qbench.program import BinaryProgram


@pytest.fixture(scope="module")
def manila():
    return FakeManilaV2().target


@pytest.fixture(scope="module")
def nairobi():
    return FakeNairobiV2().target


@pytest.fixture(scope="module")
def torino():
    return FakeTorino().target


def random_qubo(n: int, seed: int, density: float = 1.0, quadratic: bool = True) -> BinaryProgram:
    """A random QUBO; ``density`` < 1 leaves some pairs uncoupled (not every edge routed)."""
    rng = np.random.default_rng(seed)
    quad = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < density), 1)
    if not quadratic:
        quad[:] = 0.0
    return BinaryProgram(linear=rng.normal(size=n), quadratic=sp.csr_matrix(quad), constant=0.7)


def bind(qc: QuantumCircuit, params: np.ndarray) -> QuantumCircuit:
    """Bind θ[k] = params[k] by vector index (both circuits name their vector θ)."""
    return qc.assign_parameters({p: float(params[p.index]) for p in qc.parameters})


def compact(isa: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """The unitary part of an ISA circuit on the qubits it touches, and clbit -> compact qubit."""
    idx = {q: k for k, q in enumerate(isa.qubits)}
    active = sorted(
        {idx[q] for inst in isa.data if inst.operation.name != "barrier" for q in inst.qubits}
    )
    pos = {q: k for k, q in enumerate(active)}
    small = QuantumCircuit(len(active), global_phase=isa.global_phase)
    meas: dict[int, int] = {}
    seen_measure = False
    for inst in isa.data:
        name = inst.operation.name
        if name == "measure":
            seen_measure = True
            meas[isa.find_bit(inst.clbits[0]).index] = pos[idx[inst.qubits[0]]]
        elif name != "barrier":
            assert not seen_measure, "a gate after a measurement: not a final-measurement circuit"
            small.append(inst.operation, [pos[idx[q]] for q in inst.qubits])
    return small, [meas[c] for c in range(len(meas))]


def routed_probs(isa: QuantumCircuit, params: np.ndarray) -> np.ndarray:
    """Exact distribution of the bound ISA circuit over its classical bits (qiskit order)."""
    small, order = compact(bind(isa, params))
    return Statevector(small).probabilities(order)


def reference_probs(ansatz: QAOAAnsatz, params: np.ndarray) -> np.ndarray:
    return Statevector(qaoa_circuit(ansatz).assign_parameters(params)).probabilities()


def assert_same_distribution(isa: QuantumCircuit, ansatz: QAOAAnsatz, params) -> None:
    np.testing.assert_allclose(
        routed_probs(isa, params), reference_probs(ansatz, params), atol=1e-8
    )


def measured(ansatz: QAOAAnsatz) -> QuantumCircuit:
    qc = qaoa_circuit(ansatz)
    qc.measure_all()
    return qc


# --- correctness: same distribution as the unrouted circuit ---------------------------------

CASES = [
    # (device, n, p, density, seed)
    ("manila", 4, 1, 1.0, 1),
    ("manila", 4, 2, 0.6, 2),
    ("manila", 5, 1, 1.0, 3),
    ("manila", 5, 2, 1.0, 4),
    ("nairobi", 5, 2, 0.6, 5),
    ("nairobi", 4, 2, 1.0, 6),
    ("torino", 6, 1, 1.0, 7),
    ("torino", 6, 2, 1.0, 8),
    ("manila", 2, 2, 1.0, 9),
    ("manila", 3, 2, 1.0, 10),
]


@pytest.mark.parametrize(("device", "n", "p", "density", "seed"), CASES)
@pytest.mark.parametrize("level", [1, 3])
def test_routed_distributions_match(request, device, n, p, density, seed, level):
    target = request.getfixturevalue(device)
    ansatz = QAOAAnsatz(random_qubo(n, seed, density), p=p)
    params = np.random.default_rng(seed + 100).uniform(-np.pi, np.pi, 2 * p)
    ref = reference_probs(ansatz, params)
    default_isa, _ = transpile_isa(measured(ansatz), target, optimization_level=level, seed=seed)
    swap_isa, metrics = transpile_qaoa_swap(ansatz, target, optimization_level=level, seed=seed)
    assert default_isa.num_qubits == swap_isa.num_qubits == target.num_qubits
    np.testing.assert_allclose(routed_probs(default_isa, params), ref, atol=1e-8)
    np.testing.assert_allclose(routed_probs(swap_isa, params), ref, atol=1e-8)
    if n >= 3 and density == 1.0:
        assert metrics["swaps"] > 0  # a complete graph cannot fit a line without SWAPs


@pytest.mark.parametrize("level", [0, 2])
def test_swap_routing_other_levels(manila, level):
    ansatz = QAOAAnsatz(random_qubo(5, 11), p=2)
    params = np.array([0.4, -0.9, 1.3, 0.2])
    isa, _ = transpile_qaoa_swap(ansatz, manila, optimization_level=level, seed=3)
    np.testing.assert_allclose(
        routed_probs(isa, params), reference_probs(ansatz, params), atol=1e-8
    )


@pytest.mark.parametrize(
    ("device", "n", "p"), [("manila", 5, 1), ("torino", 6, 1), ("torino", 6, 2)]
)
def test_swap_routing_without_measurements_uses_final_layout(request, device, n, p):
    """measure=False: the final layout says which physical qubit holds each variable."""
    target = request.getfixturevalue(device)
    ansatz = QAOAAnsatz(random_qubo(n, 12), p=p)
    params = np.random.default_rng(n + p).uniform(-np.pi, np.pi, 2 * p)
    isa, _ = transpile_qaoa_swap(ansatz, target, measure=False, seed=1)
    assert not any(inst.operation.name == "measure" for inst in isa.data)
    final = isa.layout.final_index_layout()[:n]
    initial = isa.layout.initial_index_layout()[:n]
    assert final != initial  # the SWAP layers leave a permutation: the test means something
    small, _ = compact(bind(isa, params))
    active = sorted(set(initial) | set(final))
    assert small.num_qubits == len(active)
    probs = Statevector(small).probabilities([active.index(q) for q in final])
    np.testing.assert_allclose(probs, reference_probs(ansatz, params), atol=1e-8)


def test_final_permutation_is_not_an_involution(torino):
    """The 6-variable line strategy's permutation is no involution, so the layout convention
    (variable -> position versus its inverse) matters in the test above."""
    isa, _ = transpile_qaoa_swap(QAOAAnsatz(random_qubo(6, 12), p=1), torino, measure=False)
    initial = isa.layout.initial_index_layout()[:6]
    final = isa.layout.final_index_layout()[:6]
    perm = [initial.index(q) for q in final]
    assert [perm[perm[k]] for k in range(6)] != list(range(6))


def test_warm_mixer_swap_routing(nairobi):
    qubo = random_qubo(5, 13)
    warm = np.array([0.1, 0.8, 0.5, 0.0, 1.0])
    ansatz = QAOAAnsatz(qubo, p=2, mixer="warm", warm_start=warm)
    params = np.array([0.3, -0.7, 0.9, 0.25])
    isa, metrics = transpile_qaoa_swap(ansatz, nairobi, seed=2)
    np.testing.assert_allclose(
        routed_probs(isa, params), reference_probs(ansatz, params), atol=1e-8
    )
    assert metrics["routing"] == "swap_strategy"


def test_no_quadratic_terms_needs_no_swaps(manila):
    ansatz = QAOAAnsatz(random_qubo(4, 14, quadratic=False), p=2)
    params = np.array([0.5, 1.1, -0.4, 0.6])
    isa, metrics = transpile_qaoa_swap(ansatz, manila, seed=0)
    assert metrics["swaps"] == 0 and metrics["two_qubit_gates"] == 0
    np.testing.assert_allclose(
        routed_probs(isa, params), reference_probs(ansatz, params), atol=1e-8
    )


def test_counts_keys_read_as_qubo_bitstrings_on_aer(manila):
    """Sampled counts of the swap-routed circuit on Aer match the reference distribution."""
    from qiskit_aer import AerSimulator

    ansatz = QAOAAnsatz(random_qubo(5, 15), p=2)
    params = np.array([0.6, -0.45, 0.35, 1.2])
    isa, _ = transpile_qaoa_swap(ansatz, manila, seed=4)
    shots = 40000
    counts = AerSimulator().run(bind(isa, params), shots=shots, seed_simulator=5).result()
    freq = np.zeros(32)
    for key, c in counts.get_counts().items():
        freq[int(key, 2)] += c / shots
    ref = reference_probs(ansatz, params)
    assert ref.max() > 2 * (1 / 32)  # a peaked distribution: a permutation would move mass
    assert 0.5 * np.abs(freq - ref).sum() < 0.02


# --- gate counts: swap strategy vs default routing on a dense QAOA --------------------------


@pytest.mark.parametrize("n", [8, 10, 12])
@pytest.mark.parametrize("level", [1, 3])
def test_swap_strategy_beats_default_routing_on_dense_qaoa(torino, n, level):
    ansatz = QAOAAnsatz(random_qubo(n, 20 + n), p=1)
    assert ansatz.qubo.quadratic.nnz == n * (n - 1) // 2
    # the default route gets numeric angles (only helps it optimise); the swap route stays
    # parameterised
    bound = measured(ansatz).assign_parameters(np.array([0.37, 0.81]))
    _, default = transpile_isa(bound, torino, optimization_level=level, seed=7)
    _, swap = transpile_qaoa_swap(ansatz, torino, optimization_level=level, seed=7)
    print(f"n={n} level={level}: default {default} swap {swap}")
    assert swap["two_qubit_gates"] < default["two_qubit_gates"]
    assert default["swaps"] > 0
    # line strategy: n-2 SWAP layers of alternately ceil((n-1)/2) and floor((n-1)/2) SWAPs
    assert swap["swaps"] == sum((n - 1 + (k % 2 == 0)) // 2 for k in range(n - 2))


# --- metrics and argument checks ------------------------------------------------------------


def test_metrics_are_ints_and_zero_swaps_for_a_line(manila):
    qc = QuantumCircuit(5)
    qc.h(0)
    for q in range(4):
        qc.cx(q, q + 1)
    qc.measure_all()
    for level in (0, 1, 2, 3):
        isa, m = transpile_isa(qc, manila, optimization_level=level, layout="trivial", seed=1)
        assert set(m) == {"depth_transpiled", "two_qubit_gates", "swaps", "routing"}
        assert all(type(m[k]) is int for k in ("depth_transpiled", "two_qubit_gates", "swaps"))
        assert m["routing"] == "default"
        assert m["swaps"] == 0
        assert m["two_qubit_gates"] == 4
        assert m["depth_transpiled"] >= 5


def test_dense_circuit_on_trivial_layout_needs_swaps(manila):
    qc = QuantumCircuit(5)
    qc.h(range(5))
    for a in range(5):
        for b in range(a + 1, 5):
            qc.cz(a, b)
    for level in (1, 3):
        isa, m = transpile_isa(qc, manila, optimization_level=level, layout="trivial", seed=1)
        assert m["swaps"] > 0
        assert m["two_qubit_gates"] >= 10 + m["swaps"]
        assert not any(inst.operation.name == "swap" for inst in isa.data)  # translated


def test_explicit_layout_is_used(nairobi):
    qc = QuantumCircuit(3)
    qc.cx(0, 1)
    qc.cx(1, 2)
    isa, m = transpile_isa(qc, nairobi, optimization_level=1, layout=[0, 1, 3], seed=0)
    assert isa.layout.initial_index_layout()[:3] == [0, 1, 3]
    assert m["swaps"] == 0


def test_width_checks(manila, nairobi):
    with pytest.raises(ValueError, match=r"6 qubits.*only 5"):
        transpile_isa(QuantumCircuit(6), manila)
    with pytest.raises(ValueError, match=r"6 qubits.*only 5"):
        transpile_qaoa_swap(QAOAAnsatz(random_qubo(6, 0), p=1), manila)
    # Nairobi's 7 qubits hold no line of 6 (its longest path has 5)
    with pytest.raises(ValueError, match=r"no line .* of 6"):
        transpile_qaoa_swap(QAOAAnsatz(random_qubo(6, 0), p=1), nairobi)


@pytest.mark.parametrize("level", [-1, 4, 1.5])
def test_bad_optimization_level(manila, level):
    with pytest.raises(ValueError, match="0, 1, 2, 3"):
        transpile_isa(QuantumCircuit(2), manila, optimization_level=level)
    with pytest.raises(ValueError, match="0, 1, 2, 3"):
        transpile_qaoa_swap(QAOAAnsatz(random_qubo(3, 0), p=1), manila, optimization_level=level)


@pytest.mark.parametrize(
    ("layout", "match"),
    [
        ("noise_aware", "sabre, dense, trivial"),
        ([0, 1], "lists 2 physical qubits.*3 qubits"),
        ([0, 1, 1], "repeats"),
        ([0, 1, 7], r"\[7\] are not on the device"),
        ([0, 1.0, 2], "integer"),
    ],
)
def test_bad_layout(manila, layout, match):
    with pytest.raises(ValueError, match=match):
        transpile_isa(QuantumCircuit(3), manila, layout=layout)


def test_unsupported_ansatz_kinds(manila):
    qubo = random_qubo(4, 0)
    xy = QAOAAnsatz(qubo, p=1, mixer="xy_ring", groups=[[0, 1, 2, 3]], initial_state=1)
    with pytest.raises(ValueError, match="standard QAOA"):
        transpile_qaoa_swap(xy, manila)
    with pytest.raises(ValueError, match="standard QAOA"):
        transpile_qaoa_swap(QAOAAnsatz(qubo, p=1, multi_angle=True), manila)


# --- line_layout ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 12, 30])
def test_line_layout_is_a_simple_path(torino, n):
    cmap = torino.build_coupling_map()
    edges = {frozenset(e) for e in cmap.get_edges()}
    line = line_layout(torino, n, seed=3)
    assert len(line) == n == len(set(line))
    assert all(frozenset(pair) in edges for pair in zip(line, line[1:]))
    assert line == line_layout(torino, n, seed=3)


def test_line_layout_prefers_low_error_edges(torino):
    """The chosen 8-line has lower summed CZ error than the median 8-line found from each start."""
    errors = {}
    for qargs, prop in torino["cz"].items():
        errors[frozenset(qargs)] = prop.error
    line = line_layout(torino, 8, seed=0)
    chosen = sum(errors[frozenset(e)] for e in zip(line, line[1:]))
    plain = CouplingMap(torino.build_coupling_map().get_edges())
    others = []
    for start_seed in range(5):
        other = line_layout(plain, 8, seed=start_seed)
        others.append(sum(errors[frozenset(e)] for e in zip(other, other[1:])))
    assert chosen <= np.median(others)


def test_line_layout_errors(nairobi):
    assert len(line_layout(nairobi, 5)) == 5
    with pytest.raises(ValueError, match="no line"):
        line_layout(nairobi, 6)
    with pytest.raises(ValueError, match="only 7"):
        line_layout(nairobi, 8)
    with pytest.raises(ValueError, match=">= 1"):
        line_layout(nairobi, 0)
    line = CouplingMap.from_line(4)
    assert line_layout(line, 4) in ([0, 1, 2, 3], [3, 2, 1, 0])
