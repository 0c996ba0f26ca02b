"""QAOA/VQE circuits against dense references built from the documented conventions."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qbench.hardware.base import QAOAAnsatz, distribution_from_counts, state_bits
from qbench.hardware.circuits import (
    circuit_metrics,
    qaoa_circuit,
    vqe_ansatz,
    xy_pairs,
)
from qbench.program import BinaryProgram

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)


def random_qubo(n: int, seed: int, density: float = 0.6) -> BinaryProgram:
    """A random QUBO with some zero linear terms and a sparse upper triangle."""
    rng = np.random.default_rng(seed)
    linear = rng.normal(size=n) * (rng.random(n) < 0.8)
    quad = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < density), 1)
    return BinaryProgram(linear=linear, quadratic=sp.csr_matrix(quad), constant=rng.normal())


def op_on(n: int, ops: dict[int, np.ndarray]) -> np.ndarray:
    """Dense operator with ``ops[q]`` on qubit q (qubit 0 = least significant = rightmost)."""
    return reduce(np.kron, [ops.get(q, I2) for q in reversed(range(n))])


def energies(qubo: BinaryProgram) -> np.ndarray:
    n = qubo.n_vars
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return qubo.objective(bits.astype(float))


def reference_terms(qubo: BinaryProgram) -> list[tuple[tuple[int, ...], float]]:
    """ma-QAOA terms: nonzero linear in variable order, then quadratic (i<j) lexicographic."""
    n = qubo.n_vars
    dense = qubo.quadratic.toarray()
    terms = [((i,), qubo.linear[i]) for i in range(n) if qubo.linear[i] != 0]
    terms += [((i, j), dense[i, j]) for i in range(n) for j in range(i + 1, n) if dense[i, j]]
    return terms


def reference_pairs(group: list[int], kind: str) -> list[tuple[int, int]]:
    g = len(group)
    if kind == "complete":
        return [(group[a], group[b]) for a in range(g) for b in range(a + 1, g)]
    even = [(group[k], group[k + 1]) for k in range(0, g - 1, 2)]
    odd = [(group[k], group[k + 1]) for k in range(1, g - 1, 2)]
    return even + odd + ([(group[-1], group[0])] if g >= 3 else [])


def reference_state(ansatz: QAOAAnsatz, params: np.ndarray) -> np.ndarray:
    """The QAOA state from the class docstring, with expm of the generators (no circuits)."""
    qubo, n, p = ansatz.qubo, ansatz.n_qubits, ansatz.p
    dim = 2**n
    bits = (np.arange(dim)[:, None] >> np.arange(n)) & 1
    if ansatz.mixer == "warm":
        c = np.asarray(ansatz.warm_start, dtype=float)
        psi = reduce(np.kron, [np.array([np.sqrt(1 - cj), np.sqrt(cj)]) for cj in c[::-1]])
        psi = psi.astype(complex)
    elif ansatz.mixer.startswith("xy"):
        psi = np.zeros(dim, dtype=complex)
        psi[ansatz.initial_state] = 1.0
    else:
        psi = np.full(dim, 2 ** (-n / 2), dtype=complex)
    terms = reference_terms(qubo)
    shifted = energies(qubo) - qubo.constant
    for layer in range(p):
        if ansatz.multi_angle:
            block = params[layer * (len(terms) + n) : (layer + 1) * (len(terms) + n)]
            gammas, betas = block[: len(terms)], block[len(terms) :]
            phase = np.zeros(dim)
            for (qubits, coeff), gamma in zip(terms, gammas):
                phase += gamma * coeff * np.prod(bits[:, list(qubits)], axis=1)
        else:
            gamma, beta = params[layer], params[p + layer]
            phase = gamma * shifted
            betas = np.full(n, beta)
        psi = np.exp(-1j * phase) * psi
        if ansatz.mixer == "x":
            gen = sum(betas[j] * op_on(n, {j: X}) for j in range(n))
            psi = sl.expm(-1j * gen) @ psi
        elif ansatz.mixer == "warm":
            c = np.asarray(ansatz.warm_start, dtype=float)
            gen = 0
            for j in range(n):
                off = -2 * np.sqrt(c[j] * (1 - c[j]))
                h_m = np.array([[2 * c[j] - 1, off], [off, 1 - 2 * c[j]]], dtype=complex)
                gen = gen + betas[j] * op_on(n, {j: h_m})  # Egger et al.'s H_M
            psi = sl.expm(-1j * gen) @ psi
        else:
            kind = ansatz.mixer.removeprefix("xy_")
            for group in ansatz.groups:
                for a, b in reference_pairs(group, kind):
                    gen = (op_on(n, {a: X, b: X}) + op_on(n, {a: Y, b: Y})) / 2
                    psi = sl.expm(-1j * betas[0] * gen) @ psi
    return psi


def one_hot_start(groups: list[list[int]], rng: np.random.Generator) -> int:
    return sum(1 << int(rng.choice(g)) for g in groups)


CASES = [
    ("x", False, 1),
    ("x", False, 2),
    ("x", True, 1),
    ("x", True, 2),
    ("warm", False, 2),
    ("warm", True, 1),
    ("xy_ring", False, 2),
    ("xy_complete", False, 2),
]


@pytest.mark.parametrize(("mixer", "multi", "p"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qaoa_statevector_matches_dense_reference(mixer, multi, p, seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(3, 7))
    qubo = random_qubo(n, seed)
    kwargs = {}
    if mixer == "warm":
        kwargs["warm_start"] = rng.random(n)
    if mixer.startswith("xy"):
        perm = rng.permutation(n)
        cut = int(rng.integers(1, n)) if n >= 4 else n
        groups = [sorted(perm[:cut].tolist()), sorted(perm[cut:].tolist())]
        groups = [g for g in groups if g]
        kwargs["groups"] = groups
        kwargs["initial_state"] = one_hot_start(groups, rng)
    ansatz = QAOAAnsatz(qubo, p=p, mixer=mixer, multi_angle=multi, **kwargs)
    qc = qaoa_circuit(ansatz)
    assert qc.num_parameters == ansatz.n_params
    assert qc.num_qubits == n
    params = rng.uniform(-np.pi, np.pi, size=ansatz.n_params)
    got = Statevector(qc.assign_parameters(params)).data
    want = reference_state(ansatz, params)
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)  # global phase included
    if mixer.startswith("xy"):
        probs = np.abs(got) ** 2
        bits = state_bits(np.arange(2**n), n)
        inside = np.all([bits[:, g].sum(axis=1) == 1 for g in kwargs["groups"]], axis=0)
        assert probs[~inside].sum() < 1e-10
        assert probs[inside].sum() == pytest.approx(1.0, abs=1e-10)


def test_parameters_bind_in_layout_order():
    """The vector elements sort by index even past 10, so a plain array binds in layout order."""
    qubo = random_qubo(5, 7, density=1.0)
    ansatz = QAOAAnsatz(qubo, p=2, multi_angle=True)
    assert ansatz.n_params > 20
    qc = qaoa_circuit(ansatz)
    assert [p.index for p in qc.parameters] == list(range(ansatz.n_params))
    values = np.arange(ansatz.n_params) * 0.1
    by_array = Statevector(qc.assign_parameters(values)).data
    by_dict = Statevector(qc.assign_parameters(dict(zip(qc.parameters, values)))).data
    np.testing.assert_allclose(by_array, by_dict, atol=1e-12)


def test_cost_layer_has_no_global_phase():
    """γ-only layer on |+⟩ⁿ: amplitudes are exp(-iγ(C(s) - constant)) / √2ⁿ exactly."""
    qubo = random_qubo(4, 3)
    ansatz = QAOAAnsatz(qubo, p=1)
    gamma = 0.83
    got = Statevector(qaoa_circuit(ansatz).assign_parameters([gamma, 0.0])).data
    want = np.exp(-1j * gamma * (energies(qubo) - qubo.constant)) / 4
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_xy_pairs_order():
    assert xy_pairs([4, 5, 6, 7, 8], "ring") == [(4, 5), (6, 7), (5, 6), (7, 8), (8, 4)]
    assert xy_pairs([0, 1, 2, 3], "ring") == [(0, 1), (2, 3), (1, 2), (3, 0)]
    assert xy_pairs([2, 5], "ring") == [(2, 5)]
    assert xy_pairs([1, 2, 3], "complete") == [(1, 2), (1, 3), (2, 3)]
    assert xy_pairs([3], "ring") == []


def test_multi_angle_xy_refused():
    ansatz = QAOAAnsatz(
        random_qubo(4, 0), mixer="xy_ring", multi_angle=True, groups=[[0, 1, 2, 3]], initial_state=1
    )
    with pytest.raises(ValueError, match="multi-angle"):
        qaoa_circuit(ansatz)


@pytest.mark.parametrize(
    ("kind", "n", "reps", "expected"),
    [
        ("efficient_su2", 4, 1, 2 * 4 * 2),
        ("efficient_su2", 5, 3, 2 * 5 * 4),
        ("real_amplitudes", 4, 2, 4 * 3),
        ("ry_rz_cx", 4, 2, 2 * 4 * 3),
        ("ry_rz_cx", 6, 1, 2 * 6 * 2),
    ],
)
def test_vqe_parameter_counts(kind, n, reps, expected):
    qc = vqe_ansatz(kind, n, reps=reps)
    assert qc.num_qubits == n
    assert qc.num_parameters == expected


def test_ry_rz_cx_structure():
    n, reps = 4, 2
    qc = vqe_ansatz("ry_rz_cx", n, reps=reps)
    names = [inst.operation.name for inst in qc.data]
    layer = ["ry"] * n + ["rz"] * n
    assert names == (layer + ["cx"] * (n - 1)) * reps + layer
    cx = [tuple(qc.find_bit(q).index for q in inst.qubits) for inst in qc.data if inst.name == "cx"]
    assert cx == [(0, 1), (1, 2), (2, 3)] * reps
    # parameters in layer order: RY of qubits 0..n-1, then RZ, layer after layer
    first = [inst.operation.params[0].index for inst in qc.data[: 2 * n]]
    assert first == list(range(2 * n))
    assert [p.index for p in qc.parameters] == list(range(qc.num_parameters))
    circ = vqe_ansatz("ry_rz_cx", 4, reps=1, entanglement="circular")
    assert circuit_metrics(circ)["two_qubit_gates"] == 4
    with pytest.raises(ValueError, match="allowed"):
        vqe_ansatz("nope", 3)


def test_circuit_metrics_known_circuit():
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.rz(0.3, 2)
    m = circuit_metrics(qc)
    assert m["two_qubit_gates"] == 2
    assert m["depth"] == 6  # h unrolls to rz·sx·rz (3), then cx, cx, rz on the critical path
    assert m["ops"] == {"rz": 3, "sx": 1, "cx": 2}
    assert m["ops"]["cx"] == 2
    # one CP = 2 CX; one XY pair = 2 CX; QAOA x-mixer p=1 on a triangle: 3 CP → 6 CX
    qubo = BinaryProgram(linear=np.ones(3), quadratic=sp.csr_matrix(np.triu(np.ones((3, 3)), 1)))
    m = circuit_metrics(qaoa_circuit(QAOAAnsatz(qubo, p=1)))
    assert m["two_qubit_gates"] == 6
    ring = QAOAAnsatz(qubo, mixer="xy_ring", groups=[[0, 1, 2]], initial_state=1)
    assert circuit_metrics(qaoa_circuit(ring))["two_qubit_gates"] == 6 + 3 * 2


def test_distribution_from_counts_little_endian():
    dist = distribution_from_counts({"001": 3, "100": 1, "0x1": 4}, 3)
    np.testing.assert_array_equal(dist.states, [1, 4])
    np.testing.assert_allclose(dist.probs, [7 / 8, 1 / 8])
    assert dist.shots == 8 and not dist.exact
    dist = distribution_from_counts(np.array([5, 5, 2, 5]), 3)
    np.testing.assert_array_equal(dist.states, [2, 5])
    np.testing.assert_allclose(dist.probs, [0.25, 0.75])
    big = distribution_from_counts({(1 << 99) + 3: 2, 1: 2}, 100)
    assert big.states.dtype == object and big.states[1] == (1 << 99) + 3
    bits = state_bits(big.states, 100)
    assert bits[1, 99] == 1 and bits[1, :2].tolist() == [1, 1] and bits[1, 2:99].sum() == 0
    with pytest.raises(ValueError, match="out of range"):
        distribution_from_counts({"1000": 1}, 3)
