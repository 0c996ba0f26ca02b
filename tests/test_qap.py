"""QAP: QAPLIB specifics, the assignment program against direct formulas and known optima.

The contract every problem shares (reading, round trips, malformed files, generator seeding and
parameters, vectorised evaluation, random-bitstring repair, constructor, program shape) is tested
once for all five in test_problem_contract.py.
"""

import itertools
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbench.problems.qap import QAP

QAP_DIR = Path(str(files("qbench.data") / "instances" / "qap"))

#: QAPLIB sizes and optima (from the shipped instance README)
SHIPPED = {
    "chr12a": (12, 9552),
    "chr12b": (12, 9742),
    "chr12c": (12, 11156),
    "had12": (12, 1652),
    "nug12": (12, 578),
    "rou12": (12, 235528),
    "scr12": (12, 31410),
    "tai10a": (10, 135028),
    "tai10b": (10, 1183760),
    "tai12a": (12, 224416),
    "tai12b": (12, 39464925),
}

#: QAPLIB nug12.sln (1-based): facility i at location p(i), cost 578
NUG12_SOLUTION = np.array([12, 7, 9, 3, 4, 8, 11, 1, 5, 6, 10, 2]) - 1


def direct_cost(problem: QAP, perm) -> float:
    """sum_ij flow[i,j] * dist[p(i),p(j)] with plain loops: the reference definition."""
    n = problem.perm_size
    return sum(
        problem.flow[i, j] * problem.dist[perm[i], perm[j]] for i in range(n) for j in range(n)
    )


def dense_objective(problem: QAP, X: np.ndarray) -> np.ndarray:
    """sum_{i,j,k,l} flow[i,j] dist[k,l] x[i,k] x[j,l] for each row of X (any bitstrings)."""
    n = problem.perm_size
    Xm = np.asarray(X, dtype=float).reshape(-1, n, n)
    return np.einsum("ij,kl,bik,bjl->b", problem.flow, problem.dist, Xm, Xm)


def brute_force_optimum(problem: QAP, chunk: int = 100_000) -> float:
    """Minimum of permutation_costs over all n! permutations, in chunks."""
    n = problem.perm_size
    it = itertools.permutations(range(n))
    best = np.inf
    while True:
        flat = itertools.chain.from_iterable(itertools.islice(it, chunk))
        block = np.fromiter(flat, dtype=np.intp).reshape(-1, n)
        if block.size == 0:
            return float(best)
        best = min(best, float(problem.permutation_costs(block).min()))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_instances_sampled_costs_respect_the_optimum(name):
    """No permutation beats the published optimum (sampled); identity/sample costs agree.

    Sizes, names, best known values and shapes of the shipped instances: test_problem_contract.
    """
    n, opt = SHIPPED[name]
    problem = QAP.read(QAP_DIR / f"{name}.dat")
    rng = np.random.default_rng(0)
    perms = np.argsort(rng.random((500, n)), axis=1)
    costs = problem.permutation_costs(perms)
    assert costs.min() >= opt
    assert costs[0] == pytest.approx(direct_cost(problem, perms[0]))
    X = np.array([problem.perm_to_x(p) for p in perms[:20]])
    np.testing.assert_allclose(problem.objective(X), costs[:20])


def test_nug12_published_solution_has_the_optimal_cost():
    problem = QAP.read(QAP_DIR / "nug12.dat")
    assert problem.permutation_costs(NUG12_SOLUTION) == 578
    assert direct_cost(problem, NUG12_SOLUTION) == 578
    x = problem.perm_to_x(NUG12_SOLUTION)
    assert problem.is_feasible(x)
    assert problem.objective(x) == 578
    # the other reading of the .sln (location i holds facility p(i)) is not optimal: the
    # flow/distance convention matters
    assert problem.permutation_costs(np.argsort(NUG12_SOLUTION)) > 578


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tai10a", "tai10b"])
def test_brute_force_finds_the_published_optimum(name):
    problem = QAP.read(QAP_DIR / f"{name}.dat")
    assert brute_force_optimum(problem) == SHIPPED[name][1]


@pytest.mark.parametrize("kind", ["taillard", "nugent", "asymmetric"])
def test_program_optimum_equals_permutation_optimum(kind):
    """n=3: every one of the 512 bitstrings, so the constraints and objective are checked whole."""
    if kind == "asymmetric":  # non-symmetric matrices with a non-zero diagonal
        rng = np.random.default_rng(9)
        problem = QAP(rng.integers(-5, 9, (3, 3)), rng.integers(0, 20, (3, 3)))
    else:
        problem = QAP.generate(seed=3, n=3, kind=kind)
    X = np.array(list(itertools.product([0, 1], repeat=9)), dtype=float)
    mats = X.reshape(-1, 3, 3)
    is_perm = np.all(mats.sum(1) == 1, axis=1) & np.all(mats.sum(2) == 1, axis=1)
    np.testing.assert_array_equal(problem.is_feasible(X), is_perm)
    np.testing.assert_allclose(problem.objective(X), dense_objective(problem, X))
    perms = np.array(list(itertools.permutations(range(3))))
    assert problem.objective(X[is_perm]).min() == problem.permutation_costs(perms).min()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    kind=st.sampled_from(["taillard", "nugent"]),
)
def test_objective_equals_permutation_costs(seed, n, kind):
    problem = QAP.generate(seed=seed % 50, n=n, kind=kind)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((6, n)), axis=1)
    X = np.array([problem.perm_to_x(p) for p in perms])
    costs = problem.permutation_costs(perms)
    np.testing.assert_allclose(problem.objective(X), costs)
    np.testing.assert_allclose(costs, [direct_cost(problem, p) for p in perms])
    assert np.all(problem.is_feasible(X))
    np.testing.assert_array_equal(problem.violations(X), 0)
    for p, x in zip(perms, X):
        np.testing.assert_array_equal(problem.x_to_perm(x), p)


def test_permutation_costs_vectorised_in_chunks(monkeypatch):
    import qbench.problems.qap as qap_module

    problem = QAP.generate(seed=4, n=6)
    perms = np.argsort(np.random.default_rng(1).random((50, 6)), axis=1)
    whole = problem.permutation_costs(perms)
    monkeypatch.setattr(qap_module, "_CHUNK_ELEMENTS", 36 * 7)  # 7 rows per chunk
    np.testing.assert_array_equal(problem.permutation_costs(perms), whole)
    with pytest.raises(ValueError, match="length 6"):
        problem.permutation_costs(np.zeros((2, 5), dtype=int))


def test_round_trip_non_integer_values(tmp_path):
    rng = np.random.default_rng(5)
    problem = QAP(rng.random((4, 4)) * 10, rng.normal(size=(4, 4)), name="frac")
    problem.write(tmp_path / "frac.dat")
    text = (tmp_path / "frac.dat").read_text()
    assert text.startswith("4\n\n")
    back = QAP.read(tmp_path / "frac.dat")
    np.testing.assert_array_equal(back.flow, problem.flow)
    np.testing.assert_array_equal(back.dist, problem.dist)
    assert back.name == "frac"


def test_reader_accepts_wrapped_lines_and_blank_lines(tmp_path):
    problem = QAP.generate(seed=2, n=3)
    numbers = [3, *problem.flow.ravel(), *problem.dist.ravel()]
    text = "\n\n".join(" ".join(str(int(v)) for v in numbers[i : i + 4]) for i in range(0, 19, 4))
    (tmp_path / "w.dat").write_text(text + "\n\n")
    back = QAP.read(tmp_path / "w.dat")
    np.testing.assert_array_equal(back.flow, problem.flow)
    np.testing.assert_array_equal(back.dist, problem.dist)


@pytest.mark.parametrize("kind", ["taillard", "nugent"])
def test_generated_matrices_are_symmetric_with_zero_diagonal(kind):
    """Seeding, names and sizes of the generator: test_problem_contract."""
    a = QAP.generate(seed=7, n=9, kind=kind)
    for mat in (a.flow, a.dist):
        np.testing.assert_array_equal(mat, mat.T)
        np.testing.assert_array_equal(np.diagonal(mat), 0)


def test_taillard_values():
    problem = QAP.generate(seed=0, n=40, kind="taillard")
    for mat in (problem.flow, problem.dist):
        off = mat[np.triu_indices(40, 1)]
        assert off.min() >= 0 and off.max() <= 99
        assert np.all(off == np.round(off))
        assert 40 < off.mean() < 60  # uniform on 0..99


def test_nugent_grid_matches_nug12_distances():
    """n=12 lays the locations on the 3x4 grid of nug12, whose first matrix is that grid."""
    generated = QAP.generate(seed=0, n=12, kind="nugent")
    nug12 = QAP.read(QAP_DIR / "nug12.dat")
    np.testing.assert_array_equal(generated.dist, nug12.flow)
    big = QAP.generate(seed=0, n=60, kind="nugent")
    off = big.flow[np.triu_indices(60, 1)]
    assert off.min() == 0 and off.max() <= 10
    assert 0.25 < np.mean(off == 0) < 0.42
    # 8 locations on a 3x3 grid: the farthest pair is 4 steps apart
    assert QAP.generate(n=8, kind="nugent").dist.max() == 4
