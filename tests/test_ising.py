"""Ising forms: cost vector vs the SparsePauliOp diagonal and vs QUBO evaluation, qiskit order."""

import numpy as np
import pytest
import scipy.sparse as sp
from qiskit.quantum_info import SparsePauliOp
from qiskit_optimization.translators import to_ising as qiskit_to_ising

from qbench.encoders import qubo as qubo_encoder
from qbench.encoders.ising import (
    cost_vector,
    cost_vector_bytes,
    from_ising,
    to_ising,
)
from qbench.encoders.reference import to_quadratic_program
from qbench.errors import ResourceError
from qbench.memory import available_memory
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.program import BinaryProgram


def all_states(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def random_qubo(seed: int, n: int, density: float = 0.5) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    q = np.triu(rng.normal(size=(n, n)), k=1) * (rng.random((n, n)) < density)
    return BinaryProgram(
        linear=rng.normal(size=n) * (rng.random(n) < 0.8),
        quadratic=sp.csr_matrix(q),
        constant=float(rng.normal()),
    )


def pauli_diagonal(op: SparsePauliOp, offset: float) -> np.ndarray:
    return op.to_matrix(sparse=True).diagonal().real + offset


@pytest.mark.parametrize(("seed", "n", "density"), [(0, 1, 1), (1, 5, 1), (2, 9, 0.3), (3, 12, 1)])
def test_cost_vector_equals_qubo_values_and_pauli_diagonal(seed, n, density):
    qubo = random_qubo(seed, n, density)
    cost = cost_vector(qubo)
    assert cost.shape == (1 << n,) and cost.dtype == np.float64
    assert np.allclose(cost, qubo.objective(all_states(n)), atol=1e-12)
    op, offset = to_ising(qubo)
    assert op.num_qubits == n
    assert np.allclose(cost, pauli_diagonal(op, offset), atol=1e-12)


def test_qubit_order_is_qiskits():
    # x_1 alone costs 5: states with bit 1 set are s = 2, 3 (x_i = (s >> i) & 1)
    qubo = BinaryProgram(linear=[0.0, 5.0])
    assert cost_vector(qubo).tolist() == [0.0, 0.0, 5.0, 5.0]
    op, offset = to_ising(qubo)
    assert op.paulis.to_labels() == ["ZI"]  # qubit 0 is the rightmost character
    assert op.coeffs.real.tolist() == [-2.5] and offset == 2.5


@pytest.mark.parametrize("seed", range(3))
def test_to_ising_matches_qiskit_optimization(seed):
    qubo = random_qubo(seed, 7)
    op, offset = to_ising(qubo)
    ref_op, ref_offset = qiskit_to_ising(to_quadratic_program(qubo))
    assert offset == pytest.approx(ref_offset)
    difference = (op - ref_op).simplify(atol=1e-12)
    assert np.allclose(difference.coeffs, 0.0)


def test_from_ising_inverts_to_ising():
    qubo = random_qubo(7, 8)
    op, offset = to_ising(qubo)
    back = from_ising(op, offset)
    X = all_states(8)
    assert np.allclose(back.objective(X), qubo.objective(X))
    # an identity term goes to the constant; unsimplified repeats are summed
    op2 = SparsePauliOp.from_list([("IZ", 1.0), ("IZ", 2.0), ("II", 0.5), ("ZZ", 1.0)])
    back2 = from_ising(op2, 1.0)
    assert np.allclose(back2.objective(all_states(2)), pauli_diagonal(op2, 1.0))


@pytest.mark.parametrize(
    ("label", "coeff", "match"),
    [("XI", 1.0, "X or Y"), ("ZZZ", 1.0, "more than two"), ("ZI", 1j, "complex")],
)
def test_from_ising_refuses_non_quadratic_operators(label, coeff, match):
    with pytest.raises(ValueError, match=match):
        from_ising(SparsePauliOp.from_list([(label, coeff)]))


def test_empty_qubo_is_its_constant():
    qubo = BinaryProgram(linear=np.zeros(3), constant=4.0)
    op, offset = to_ising(qubo)
    assert offset == 4.0 and np.allclose(op.coeffs, 0.0)
    assert cost_vector(qubo).tolist() == [4.0] * 8


def test_float32_is_close_to_float64():
    qubo = random_qubo(11, 14)
    exact = cost_vector(qubo)
    single = cost_vector(qubo, dtype=np.float32)
    assert single.dtype == np.float32
    assert np.allclose(single, exact, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="float64 or float32"):
        cost_vector(qubo, dtype=np.int64)


def test_encoded_problems_with_slack_and_sparse_couplings():
    # MDKP with slack qubits (dense rows) and an MIS graph (sparse couplings, tiled coupling)
    for program in (
        MDKP(profits=[5, 4, 3], weights=[[2, 3, 1], [1, 1, 2]], capacities=[4, 3]).program,
        MIS.generate(seed=3, n=13).program,
    ):
        qubo = qubo_encoder.encode(program).qubo
        n = qubo.n_vars
        cost = cost_vector(qubo)
        assert np.allclose(cost, qubo.objective(all_states(n)))
        op, offset = to_ising(qubo)
        assert np.allclose(cost, pauli_diagonal(op, offset))


def test_large_vector_spot_checks():
    n = 22
    qubo = random_qubo(5, n, density=0.4)
    cost = cost_vector(qubo, dtype=np.float32)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 1 << n, size=3000)
    bits = ((s[:, None] >> np.arange(n)) & 1).astype(float)
    assert np.allclose(cost[s], qubo.objective(bits), rtol=1e-5, atol=1e-3)


def test_memory_check_refuses_with_the_numbers():
    qubo = random_qubo(0, 20)
    need = cost_vector_bytes(20, np.float64)
    assert need == (2**20 + 2**19) * 8
    with pytest.raises(ResourceError) as err:
        cost_vector(qubo, max_bytes=need - 1)
    message = str(err.value)
    assert "n=20" in message and f"{need:,}" in message and f"{need - 1:,}" in message
    assert cost_vector(qubo, dtype=np.float32, max_bytes=need // 2).size == 2**20
    # far beyond this machine: refused up front against MemAvailable, nothing allocated
    with pytest.raises(ResourceError, match="n=45"):
        cost_vector(random_qubo(1, 45, density=0.1))
    available = available_memory()
    assert available is None or available > 0
