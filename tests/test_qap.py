"""QAP: QAPLIB reading/writing, the assignment program against direct formulas and known optima."""

import itertools
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbench.errors import ConfigError, InstanceFormatError
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
def test_shipped_instances_read(name):
    n, opt = SHIPPED[name]
    problem = QAP.read(QAP_DIR / f"{name}.dat")
    assert problem.size() == {"n": n}
    assert problem.flow.shape == problem.dist.shape == (n, n)
    assert problem.best_known is None  # QAPLIB files have no place for it
    assert problem.name == name
    assert problem.n_vars == n * n
    # no permutation beats the published optimum (sampled), and identity/sample costs agree
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


def test_program_shape():
    problem = QAP.generate(seed=1, n=5)
    prog = problem.to_program()
    assert prog.n_vars == 25 and prog.n_constraints == 10
    assert prog.sense == "min" and set(prog.senses) == {"=="}
    np.testing.assert_array_equal(prog.b, np.ones(10))
    assert prog.var_names[7] == "x_1_2"  # row-major: i*n + k


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


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), data=st.data())
def test_repair_and_violations_on_random_bitstrings(n, data):
    problem = QAP.generate(seed=n, n=n)
    bits = data.draw(st.lists(st.integers(0, 1), min_size=n * n, max_size=n * n))
    x = np.array(bits, dtype=float)
    mat = x.reshape(n, n)
    is_perm = bool(np.all(mat.sum(0) == 1) and np.all(mat.sum(1) == 1))
    assert bool(problem.is_feasible(x)) == is_perm
    assert (problem.violations(x) > 0) == (not is_perm)
    assert problem.objective(x) == pytest.approx(dense_objective(problem, x)[0])
    fixed = problem.repair(x)
    assert fixed.shape == (n * n,)
    assert problem.is_feasible(fixed)
    if is_perm:
        np.testing.assert_array_equal(fixed, x)
    # repair keeps as many ones as possible: no permutation matrix overlaps x more
    perms = np.array(list(itertools.permutations(range(n))))
    best_overlap = mat[np.arange(n), perms].sum(axis=1).max()
    assert (fixed * x).sum() == best_overlap


def test_permutation_costs_vectorised_in_chunks(monkeypatch):
    import qbench.problems.qap as qap_module

    problem = QAP.generate(seed=4, n=6)
    perms = np.argsort(np.random.default_rng(1).random((50, 6)), axis=1)
    whole = problem.permutation_costs(perms)
    monkeypatch.setattr(qap_module, "_CHUNK_ELEMENTS", 36 * 7)  # 7 rows per chunk
    np.testing.assert_array_equal(problem.permutation_costs(perms), whole)
    with pytest.raises(ValueError, match="length 6"):
        problem.permutation_costs(np.zeros((2, 5), dtype=int))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_round_trip(name, tmp_path):
    problem = QAP.read(QAP_DIR / f"{name}.dat")
    out = tmp_path / f"{name}.dat"
    problem.write(out)
    back = QAP.read(out)
    np.testing.assert_array_equal(back.flow, problem.flow)
    np.testing.assert_array_equal(back.dist, problem.dist)


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


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", None, "file ends early: expected the size n"),
        ("-3\n", 1, "size n must be >= 1"),
        ("0\n", 1, "size n must be >= 1"),
        ("two\n", 1, "expected an integer for the size n"),
        ("2.5\n", 1, "expected an integer"),
        ("2\n0 1\n1 0\n\n0 5\n5\n", 6, "file ends early: expected distance matrix B [1,1]"),
        ("2\n0 1\n1 0\n0 x\n5 0\n", 4, "expected a number for distance matrix B [0,1]"),
        ("2\n0 1\n1 0\n0 5\n5 0\n7\n", 6, "unexpected extra data '7'"),
        ("2\n0 1\n1 nan\n0 5\n5 0\n", 3, "not finite"),
        ("3\n0 1\n1 0\n0 5\n5 0\n", 5, "file ends early"),
    ],
)
def test_reader_rejects_malformed_files(tmp_path, text, line, fragment):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as info:
        QAP.read(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_reader_rejects_missing_and_binary_files(tmp_path):
    with pytest.raises(InstanceFormatError, match="cannot read"):
        QAP.read(tmp_path / "absent.dat")
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InstanceFormatError, match="not a text file"):
        QAP.read(tmp_path / "bin.dat")


@pytest.mark.parametrize("kind", ["taillard", "nugent"])
def test_generator_is_deterministic_and_seeded(kind):
    a = QAP.generate(seed=7, n=9, kind=kind)
    b = QAP.generate(seed=7, n=9, kind=kind)
    c = QAP.generate(seed=8, n=9, kind=kind)
    np.testing.assert_array_equal(a.flow, b.flow)
    np.testing.assert_array_equal(a.dist, b.dist)
    assert not np.array_equal(a.flow, c.flow)
    assert a.name == f"qap-{kind}-n9-s7"
    assert a.size() == {"n": 9}
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


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": -2}, "n must be an integer >= 1"),
        ({"n": 2.5}, "n must be an integer >= 1"),
        ({"kind": "grid"}, "allowed: taillard, nugent"),
    ],
)
def test_generator_rejects_bad_parameters(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        QAP.generate(**params)


def test_constructor_validates_shapes():
    with pytest.raises(ValueError, match="square"):
        QAP(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="like flow"):
        QAP(np.zeros((2, 2)), np.zeros((3, 3)))
