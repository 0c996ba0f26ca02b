"""The core binary program: canonical form and vectorised evaluation, checked against qiskit."""

import numpy as np
import pytest
import scipy.sparse as sp

from qbench.encoders.reference import to_quadratic_program
from qbench.program import BinaryProgram


def random_program(rng, n=7, m=4, sense="min"):
    dense_q = rng.integers(-5, 6, size=(n, n)) * (rng.random((n, n)) < 0.5)
    A = rng.integers(-3, 4, size=(m, n))
    b = rng.integers(-2, 6, size=m)
    senses = tuple(rng.choice(["<=", "==", ">="], size=m))
    return BinaryProgram(
        linear=rng.integers(-9, 10, size=n), quadratic=sp.csr_matrix(dense_q),
        constant=rng.integers(-4, 5), A=sp.csr_matrix(A), b=b, senses=senses, sense=sense,
    ), dense_q, A, b, senses  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_evaluation_matches_dense_formula_and_qiskit(seed):
    rng = np.random.default_rng(seed)
    prog, dense_q, A, b, senses = random_program(rng, sense=["min", "max"][seed % 2])
    X = rng.integers(0, 2, size=(40, prog.n_vars))
    expected = (
        prog.constant + X @ prog.linear + np.einsum("ki,ij,kj->k", X, prog.quadratic.toarray(), X)
    )
    # the canonical form preserves the value of the original dense Q (diagonal folded, symmetrised)
    orig = X @ (prog.linear - np.diag(dense_q)) + np.einsum("ki,ij,kj->k", X, dense_q, X)
    assert np.allclose(expected, orig + prog.constant)
    assert np.allclose(prog.objective(X), expected)
    qp = to_quadratic_program(prog)
    for x in X[:15]:
        assert prog.objective(x) == pytest.approx(qp.objective.evaluate(x))
        assert prog.is_feasible(x) == qp.is_feasible(x)
    assert prog.objective(X).shape == (40,)
    assert prog.violations(X).shape == (40,)


def test_canonical_quadratic_is_strict_upper_triangle():
    q = sp.csr_matrix(np.array([[2.0, 1.0], [3.0, 0.0]]))
    prog = BinaryProgram(linear=[1.0, 1.0], quadratic=q)
    assert prog.quadratic.toarray().tolist() == [[0.0, 4.0], [0.0, 0.0]]
    assert prog.linear.tolist() == [3.0, 1.0]
    assert prog.objective([1, 1]) == 3 + 1 + 4


def test_violation_amounts_by_sense():
    A = sp.csr_matrix(np.array([[1, 1], [1, 1], [1, 1]]))
    prog = BinaryProgram(linear=[0, 0], A=A, b=[1, 1, 1], senses=("<=", ">=", "=="))
    assert prog.violations([[1, 1], [0, 0], [1, 0]]).tolist() == [2.0, 2.0, 0.0]
    assert prog.is_feasible([1, 0]) is True


def test_bad_shapes_and_senses_are_refused():
    with pytest.raises(ValueError, match="senses"):
        BinaryProgram(linear=[0, 0], A=sp.csr_matrix(np.ones((1, 2))), b=[1], senses=("<",))
    with pytest.raises(ValueError, match="length 2"):
        BinaryProgram(linear=[0, 0]).objective([1, 0, 1])


def test_objective_bounds_contain_every_value():
    rng = np.random.default_rng(3)
    prog = random_program(rng, n=8)[0]
    X = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(float)
    values = prog.objective(X)
    lo, hi = prog.objective_bounds()
    assert lo <= values.min() and values.max() <= hi
