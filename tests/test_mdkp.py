"""MDKP: SAC-94 / mknap specifics, the program against published optima, the repair.

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
from scipy.optimize import Bounds, LinearConstraint, milp

from qbench.errors import InstanceFormatError
from qbench.problems.mdkp import MDKP

MDKP_DIR = Path(str(files("qbench.data") / "instances" / "mdkp"))

#: SAC-94 sizes and optima (from the shipped instance README)
SHIPPED = {
    "hp1": (28, 4, 3418),
    "hp2": (35, 4, 3186),
    "pb1": (27, 4, 3090),
    "pb2": (34, 4, 3186),
    "pb4": (29, 2, 95168),
    "pb5": (20, 10, 2139),
    "pet2": (10, 10, 87061),
    "pet3": (15, 10, 4015),
    "pet4": (20, 10, 6120),
    "pet5": (28, 10, 12400),
    "pet6": (39, 5, 10618),
    "pet7": (50, 5, 16537),
}


def all_bitstrings(n: int) -> np.ndarray:
    """Every bitstring of length n as a (2^n, n) array."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def milp_optimum(problem: MDKP) -> float:
    """Optimum of the problem's program by HiGHS branch and bound (scipy.optimize.milp)."""
    prog = problem.to_program()
    res = milp(
        -prog.linear,
        constraints=LinearConstraint(prog.A, -np.inf, prog.b),
        integrality=np.ones(prog.n_vars),
        bounds=Bounds(0, 1),
    )
    assert res.status == 0
    return float(np.round(-res.fun, 6))


def brute_force_optimum(problem: MDKP) -> float:
    """Best profit over all 2^n bitstrings, checking capacities directly (not via the program)."""
    X = all_bitstrings(problem.size()["n"])
    fits = np.all(problem.capacities >= X @ problem.weights.T, axis=1)
    return float((X[fits] @ problem.profits).max())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_program_optimum_is_the_published_one(name):
    """Branch and bound on the program reaches the published optimum: reader and program agree.

    Sizes, names, best known values and shapes of the shipped instances: test_problem_contract.
    """
    problem = MDKP.read(MDKP_DIR / f"{name}.dat")
    opt = SHIPPED[name][2]
    assert milp_optimum(problem) == opt
    assert problem.gap_pct(opt) == 0


@pytest.mark.parametrize("name", ["pet2", "pet3"])
def test_program_brute_force_finds_the_published_optimum(name):
    problem = MDKP.read(MDKP_DIR / f"{name}.dat")
    X = all_bitstrings(problem.size()["n"])
    feasible = problem.is_feasible(X)
    best = problem.objective(X[feasible]).max()
    assert best == SHIPPED[name][2] == brute_force_optimum(problem)


# ---- round trips -------------------------------------------------------------------------------


def test_round_trip_unknown_optimum_and_fractions(tmp_path):
    rng = np.random.default_rng(5)
    problem = MDKP(rng.random(4) * 7, rng.random((2, 4)), [1.25, 0.5], name="frac")
    problem.write(tmp_path / "frac.dat")
    assert (tmp_path / "frac.dat").read_text().startswith("4 2 0\n")
    back = MDKP.read(tmp_path / "frac.dat")
    assert back.best_known is None
    np.testing.assert_array_equal(back.profits, problem.profits)
    np.testing.assert_array_equal(back.weights, problem.weights)
    np.testing.assert_array_equal(back.capacities, problem.capacities)


def test_mknap_round_trip(tmp_path):
    problems = [
        MDKP.read(MDKP_DIR / "pet2.dat"),
        MDKP.generate(seed=4, n=7, m=3),
        MDKP.generate(seed=5, n=3, m=1, correlated=False),
    ]
    path = tmp_path / "mknap1.txt"
    MDKP.write_mknap(problems, path)
    assert path.read_text().split()[0] == "3"
    back = MDKP.read_mknap(path)
    assert [p.name for p in back] == ["mknap1-1", "mknap1-2", "mknap1-3"]
    for a, b in zip(problems, back):
        np.testing.assert_array_equal(a.profits, b.profits)
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.capacities, b.capacities)
        assert a.best_known == b.best_known
    assert back[0].best_known == 87061 and back[1].best_known is None


#: the first problem of OR-Library mknap1.txt (optimum 3800) and a second one, in that file's
#: layout (count, then per problem 'n m opt', profits, the m×n weights, capacities)
MKNAP1 = """ 2
 6 10 3800
 100 600 1200 2400 500 2000
 8 12 13 64 22 41
 8 12 13 75 22 41
 3 6 4 18 6 4
 5 10 8 32 6 12
 5 13 8 42 6 20
 5 13 8 48 6 20
 0 0 0 0 8 0
 3 0 4 0 8 0
 3 2 4 0 8 4
 3 2 4 8 8 4
 80 96 20 36 44 48 10 18 22 24
 2 1 0
 5 7
 3 4
 6
"""


def test_mknap_reads_the_or_library_layout(tmp_path):
    """The first problem of OR-Library mknap1.txt (optimum 3800), typed in its own layout."""
    (tmp_path / "mknap1.txt").write_text(MKNAP1)
    first, second = MDKP.read_mknap(tmp_path / "mknap1.txt")
    assert first.size() == {"n": 6, "m": 10} and first.best_known == 3800
    assert milp_optimum(first) == 3800 == brute_force_optimum(first)
    assert second.size() == {"n": 2, "m": 1} and second.best_known is None
    np.testing.assert_array_equal(second.weights, [[3, 4]])
    assert second.name == "mknap1-2"


# ---- malformed mknap files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("0\n", 1, "number of problems K must be >= 1"),
        ("2\n1 1 0\n5\n1\n3\n", 5, "problem 2/2: number of items n"),
        ("1\n1 1 0\n5\n1\n3\n7\n", 6, "unexpected extra data '7'"),
        ("1\n1 1 0\n5\nq\n3\n", 4, "problem 1/1: weight [0,0]"),
    ],
)
def test_mknap_reader_rejects_malformed_files(tmp_path, text, line, fragment):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as info:
        MDKP.read_mknap(path)
    assert info.value.line == line
    assert fragment in str(info.value)


# ---- generator ---------------------------------------------------------------------------------


def test_generator_follows_chu_beasley():
    problem = MDKP.generate(seed=0, n=400, m=5, tightness=0.25)
    W = problem.weights
    assert W.min() >= 0 and W.max() <= 999 and np.all(np.round(W) == W)
    assert 450 < W.mean() < 550
    np.testing.assert_array_equal(problem.capacities, np.floor(0.25 * W.sum(axis=1)))
    # correlated profits: sum_i w_ij / m plus a U(0, 500) bonus, integers
    bonus = problem.profits - W.sum(axis=0) / 5
    assert np.all(problem.profits == np.round(problem.profits))
    assert bonus.min() >= -0.5 and bonus.max() <= 500.5
    assert 200 < bonus.mean() < 300
    assert np.corrcoef(problem.profits, W.sum(axis=0))[0, 1] > 0.5  # theory: about 0.67
    unc = MDKP.generate(seed=0, n=400, m=5, correlated=False)
    assert unc.profits.min() >= 1 and unc.profits.max() <= 999
    assert abs(np.corrcoef(unc.profits, unc.weights.sum(axis=0))[0, 1]) < 0.2


def test_generated_instance_brute_force_matches_milp():
    problem = MDKP.generate(seed=11, n=12, m=3, tightness=0.4)
    X = all_bitstrings(12)
    best = problem.objective(X[problem.is_feasible(X)]).max()
    assert best == brute_force_optimum(problem) == milp_optimum(problem)


# ---- repair ------------------------------------------------------------------------------------


def assert_maximal(problem: MDKP, y: np.ndarray) -> None:
    """No left-out item with positive profit fits into the repaired knapsack any more."""
    load = problem.weights @ y
    for j in np.flatnonzero(y == 0):
        if problem.profits[j] > 0:
            assert np.any(load + problem.weights[:, j] > problem.capacities)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n=st.integers(1, 8), m=st.integers(1, 3))
def test_repair_handles_zero_weights_zero_capacities_and_heavy_items(data, n, m):
    """Small integer data hits weightless items, empty capacities and items that never fit."""
    ints = st.integers(0, 6)
    weights = np.array(data.draw(st.lists(ints, min_size=n * m, max_size=n * m))).reshape(m, n)
    capacities = np.array(data.draw(st.lists(st.integers(0, 8), min_size=m, max_size=m)))
    profits = np.array(data.draw(st.lists(st.integers(-2, 9), min_size=n, max_size=n)))
    problem = MDKP(profits, weights, capacities)
    x = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    y = problem.repair(x)
    assert problem.is_feasible(y)
    assert_maximal(problem, y)
    # items heavier than some capacity on their own are never kept
    heavy = np.any(problem.weights > problem.capacities[:, None], axis=0)
    assert not np.any(y[heavy])
    if problem.is_feasible(x):
        assert np.all(y >= x)
        assert problem.objective(y) >= problem.objective(x)


def test_repair_drops_worst_ratio_items_first():
    # one capacity of 10; items 0 and 1 fill it; item 2 has the worst profit per weight
    problem = MDKP([50, 40, 5], [[5, 5, 5]], [10])
    np.testing.assert_array_equal(problem.repair(np.ones(3)), [1, 1, 0])
    # weightless items are always kept/added; an item heavier than the capacity is dropped
    problem = MDKP([1, 100, 3], [[0, 11, 4]], [10])
    np.testing.assert_array_equal(problem.repair(np.array([0, 1, 0])), [1, 0, 1])
    # a zero capacity rules out every item that uses it
    problem = MDKP([5, 6, 7], [[0, 1, 0], [3, 3, 3]], [0, 6])
    y = problem.repair(np.ones(3))
    assert y[1] == 0 and y.sum() == 2 and problem.is_feasible(y)
    with pytest.raises(ValueError, match="length 3"):
        problem.repair(np.ones(4))


def test_repair_on_shipped_instances_is_close_to_optimal():
    """The greedy repair of the all-ones string is a decent heuristic (within 15% of optimum)."""
    for name, (n, _m, opt) in SHIPPED.items():
        problem = MDKP.read(MDKP_DIR / f"{name}.dat")
        y = problem.repair(np.ones(n))
        assert problem.is_feasible(y)
        assert 0.85 * opt <= problem.objective(y) <= opt


def test_brute_force_helper_is_exhaustive():
    """The test's reference enumerates every subset (2^n rows, all distinct)."""
    X = all_bitstrings(4)
    assert len({tuple(r) for r in X}) == 16
    assert {tuple(r) for r in X} == set(itertools.product([0.0, 1.0], repeat=4))
