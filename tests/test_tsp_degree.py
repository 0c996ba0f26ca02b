"""tsp_degree: the degree-constrained (edge) TSP formulation beside the position one ("tsp").

Checked against references that do not use the program: the feasible set against "is one cycle
through every city" (all 2^(n(n-1)/2) edge vectors for n = 5, 6; every 2-regular edge set for
n = 7, 8), optima against brute force on the position formulation, slack qubits against the
binary slack code's ceil(log2 |S|) bits per subtour row.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

import qbench.problems as problems
from qbench.encoders import get_encoder
from qbench.errors import ConfigError
from qbench.problems import TSP, TSPDegree
from qbench.problems.tsp import MAX_SUBTOUR_ROWS, subtour_row_count
from qbench.shrinking.rules import feasible_points
from qbench.solvers import get_solver
from qbench.spec import load_spec


def edges_of(n: int) -> list[tuple[int, int]]:
    """The edges (i, j), i < j, in lexicographic order, written out by hand."""
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def is_hamiltonian_cycle(n: int, x: np.ndarray) -> bool:
    """Whether the chosen edges form one cycle through all n cities (networkx, not the program)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(e for e, bit in zip(edges_of(n), x, strict=True) if bit)
    return all(d == 2 for _, d in graph.degree) and nx.is_connected(graph)


def all_edge_vectors(m: int) -> np.ndarray:
    """Every x in {0,1}^m as rows (bit i of the row index is variable i)."""
    idx = np.arange(1 << m, dtype=np.int64)
    return ((idx[:, None] >> np.arange(m)) & 1).astype(float)


def two_factors(n: int) -> np.ndarray:
    """Every 2-regular spanning edge set of K_n (disjoint cycles of length >= 3), from the cycle
    decompositions of the permutations, as unique edge vectors."""
    index = {e: k for k, e in enumerate(edges_of(n))}
    found = set()
    for perm in itertools.permutations(range(n)):
        if any(perm[v] == v or perm[perm[v]] == v for v in range(n)):
            continue  # fixed points and 2-cycles are no cycles of a simple graph
        x = [0] * len(index)
        for v in range(n):
            x[index[(min(v, perm[v]), max(v, perm[v]))]] = 1
        found.add(tuple(x))
    return np.array(sorted(found), dtype=float)


def tour_edges(tour) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(tour, np.roll(tour, -1), strict=True)}


# ---- the feasible set ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [5, 6])
def test_feasible_points_are_exactly_the_hamiltonian_cycles(n):
    """All 2^(n(n-1)/2) edge vectors (32,768 for n = 6): feasible iff one cycle through all."""
    problem = TSPDegree.generate(seed=0, n=n)
    X = all_edge_vectors(n * (n - 1) // 2)
    feasible = np.asarray(problem.is_feasible(X), dtype=bool)
    # the reference: degree 2 everywhere (numpy), then connected (networkx) for those rows
    incidence = np.array([[v in e for e in edges_of(n)] for v in range(n)], dtype=float)
    two_regular = np.all(X @ incidence.T == 2, axis=1)
    expected = np.zeros(len(X), dtype=bool)
    expected[two_regular] = [is_hamiltonian_cycle(n, x) for x in X[two_regular]]
    np.testing.assert_array_equal(feasible, expected)
    assert feasible.sum() == math.factorial(n - 1) // 2  # the (n-1)!/2 undirected tours
    np.testing.assert_array_equal(np.asarray(problem.violations(X)) == 0, expected)


@pytest.mark.parametrize("n", [7, 8])
def test_every_subtour_of_a_two_factor_is_cut(n):
    """n = 7, 8: of all 2-regular edge sets (the points the degree rows allow), exactly the
    Hamiltonian cycles satisfy the subtour rows."""
    problem = TSPDegree.generate(seed=0, n=n)
    X = two_factors(n)
    np.testing.assert_array_equal(problem.program.residuals(X)[:, :n], 0)  # degree rows hold
    expected = np.array([is_hamiltonian_cycle(n, x) for x in X])
    assert 0 < expected.sum() < len(X)  # both kinds of 2-factors are there
    np.testing.assert_array_equal(np.asarray(problem.is_feasible(X), dtype=bool), expected)
    assert expected.sum() == math.factorial(n - 1) // 2


def test_program_shape_names_and_objective():
    problem = load_spec("tsp_degree:n=6,seed=0")
    prog = problem.to_program()
    assert prog.n_vars == problem.n_vars == 15
    assert prog.var_names == [f"x_{i}_{j}" for i, j in edges_of(6)]
    assert prog.sense == "min" and prog.quadratic.nnz == 0 and prog.constant == 0
    np.testing.assert_array_equal(prog.linear, [problem.dist[i, j] for i, j in edges_of(6)])
    subsets = [s for s in itertools.combinations(range(6), 3) if 0 in s]
    assert prog.constraint_names == [f"degree_{v}" for v in range(6)] + [
        "subtour_" + "_".join(map(str, s)) for s in subsets
    ]
    assert prog.senses == ("==",) * 6 + ("<=",) * 10
    np.testing.assert_array_equal(prog.b, [2] * 6 + [2] * 10)
    A = prog.A.toarray()
    for v in range(6):  # degree rows: the edges at v
        np.testing.assert_array_equal(A[v], [v in e for e in edges_of(6)])
    for row, s in zip(A[6:], subsets, strict=True):  # subtour rows: the edges inside S
        np.testing.assert_array_equal(row, [set(e) <= set(s) for e in edges_of(6)])
    tour = np.array([0, 3, 1, 5, 2, 4])
    x = np.array([e in tour_edges(tour) for e in edges_of(6)], dtype=float)
    assert problem.objective(x) == pytest.approx(problem.tour_length(tour))


@pytest.mark.parametrize(("n", "rows"), [(3, 0), (4, 0), (5, 0), (6, 10), (7, 35), (8, 91)])
def test_subtour_row_counts(n, rows):
    problem = TSPDegree.generate(seed=1, n=n)
    prog = problem.program
    names = [c for c in prog.constraint_names if c.startswith("subtour_")]
    assert len(names) == rows == subtour_row_count(n)
    assert prog.n_constraints == n + rows
    assert len(set(names)) == rows
    if rows:
        sizes = {len(name.split("_")) - 1 for name in names}
        assert min(sizes) == 3 and max(sizes) == n // 2
    assert [subtour_row_count(k) for k in (9, 10, 12, 13, 14)] == [210, 456, 1969, 4004, 8086]


# ---- optimum -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("n", [5, 6, 7])
def test_optimum_equals_the_position_formulation(n, seed):
    """brute and mip (CBC) on tsp_degree reach brute's optimum on tsp, with a feasible tour."""
    edge = load_spec(f"tsp_degree:n={n},seed={seed}")
    position = load_spec(f"tsp:n={n},seed={seed}")
    reference = get_solver("brute").solve(position)
    brute = get_solver("brute").solve(edge)
    mip = get_solver("mip").solve(edge)
    assert brute.status == mip.status == reference.status == "optimal"
    for result in (brute, mip):
        assert edge.is_feasible(result.x)
        assert result.objective == pytest.approx(reference.objective)
        assert edge.objective(result.x) == pytest.approx(reference.objective)
    assert mip.bound == pytest.approx(reference.objective)


def test_brute_over_the_programs_bitstrings_agrees():
    """The program alone (2^15 bitstrings, no permutation path) has the same optimum."""
    edge = load_spec("tsp_degree:n=6,seed=2")
    by_bits = get_solver("brute").solve(edge.program)
    by_perms = get_solver("brute").solve(load_spec("tsp:n=6,seed=2"))
    assert by_bits.objective == pytest.approx(by_perms.objective)
    assert by_bits.info["n_feasible"] == 60


# ---- qubits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [6, 7, 8])
def test_penalty_qubo_has_slack_for_exactly_the_subtour_rows(n):
    """Each row Σ_{e ⊂ S} x_e <= |S| - 1 gets ceil(log2 |S|) slack bits (qiskit's bounded binary
    code for the range 0..|S|-1); the degree equalities none; lagrangian: no slack at all."""
    problem = TSPDegree.generate(seed=0, n=n)
    m = n * (n - 1) // 2
    qubo = get_encoder("qubo").encode(problem.program)
    subtours = [c for c in problem.program.constraint_names if c.startswith("subtour_")]
    bits = {c: math.ceil(math.log2(len(c.split("_")) - 1)) for c in subtours}
    layout = {entry["constraint"]: entry["bits"] for entry in qubo.metadata["slack"]}
    assert layout == bits
    assert qubo.n_slack == sum(bits.values())
    assert qubo.n_qubits == m + qubo.n_slack
    expected_slack = {6: 20, 7: 70, 8: 182}[n]
    assert qubo.n_slack == expected_slack
    free = get_encoder("lagrangian").encode(problem.program)
    assert free.n_qubits == m and free.n_slack == 0


# ---- repair, local search, tours -----------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 4, 5, 6, 8, 11])
def test_repair_gives_a_tour_and_keeps_tours(n):
    problem = TSPDegree.generate(seed=n, n=n)
    m = problem.n_vars
    rng = np.random.default_rng(n)
    for density in (0.0, 0.2, 0.5, 1.0):
        for _ in range(20):
            x = (rng.random(m) < density).astype(float)
            y = problem.repair(x)
            assert y.shape == (m,) and set(np.unique(y)) <= {0, 1}
            assert problem.is_feasible(y) and is_hamiltonian_cycle(n, y)
            np.testing.assert_array_equal(problem.repair(y), y)  # a tour is kept
    for _ in range(10):
        tour = rng.permutation(n)
        x = np.array([e in tour_edges(tour) for e in edges_of(n)], dtype=float)
        np.testing.assert_array_equal(problem.repair(x), x)
        # a tour less some edges (disjoint paths): every remaining edge is kept
        partial = x.copy()
        partial[rng.choice(np.flatnonzero(x), size=rng.integers(1, n + 1), replace=False)] = 0
        y = problem.repair(partial)
        assert is_hamiltonian_cycle(n, y) and np.all(y >= partial)


def test_repair_prefers_the_inputs_edges_then_short_ones():
    """Four cities on a square: the input's long diagonal is kept over the shorter sides."""
    coords = np.array([[0, 0], [0, 10], [10, 10], [10, 0]], dtype=float)
    problem = TSPDegree(coords=coords, edge_weight_type="EUC_2D")
    diagonal = np.array([e == (0, 2) for e in edges_of(4)], dtype=float)
    y = problem.repair(diagonal)
    assert y[edges_of(4).index((0, 2))] == 1 and is_hamiltonian_cycle(4, y)
    assert problem.repair(np.zeros(6)) @ problem.program.linear == 40  # the square itself


@pytest.mark.parametrize("n", [4, 6, 9])
def test_local_search_is_one_round_of_2opt_never_worse(n):
    problem = TSPDegree.generate(seed=5, n=n)
    rng = np.random.default_rng(n)
    improved = 0
    for _ in range(30):
        x = problem.perm_to_x(rng.permutation(n))
        y = problem.local_search(x)
        assert y.dtype == np.int8 and is_hamiltonian_cycle(n, y)
        assert problem.objective(y) <= problem.objective(x) + 1e-9
        improved += problem.objective(y) < problem.objective(x) - 1e-9
    if n > 4:
        assert improved > 0
    bad = np.zeros(problem.n_vars)
    bad[:3] = 1
    np.testing.assert_array_equal(problem.local_search(bad), bad)  # not a tour: unchanged


def test_local_search_uncrosses_a_crossing_tour():
    coords = np.array([[0, 0], [0, 10], [10, 10], [10, 0]], dtype=float)
    problem = TSPDegree(coords=coords, edge_weight_type="EUC_2D")
    crossing = problem.perm_to_x(np.array([0, 2, 1, 3]))  # visits 0, 2, 1, 3: both diagonals
    assert problem.objective(crossing) > 40
    assert problem.objective(problem.local_search(crossing)) == 40


@pytest.mark.parametrize("n", [3, 5, 8])
def test_perm_to_x_and_x_to_perm_round_trip(n):
    problem = TSPDegree.generate(seed=2, n=n)
    rng = np.random.default_rng(n)
    perms = np.array([rng.permutation(n) for _ in range(25)])
    X = problem.perms_to_x(perms)
    assert X.shape == (25, n * (n - 1) // 2)
    for perm, row in zip(perms, X, strict=True):
        x = problem.perm_to_x(perm)
        np.testing.assert_array_equal(x, row)
        tour = np.argsort(perm)
        assert {e for e, bit in zip(edges_of(n), x, strict=True) if bit} == tour_edges(tour)
        assert problem.objective(x) == pytest.approx(problem.permutation_costs(perm))
        back = problem.x_to_perm(x)
        assert back[0] == 0 and sorted(back) == list(range(n))
        np.testing.assert_array_equal(problem.perm_to_x(back), x)
    two_triangles = np.array([e in {(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)}
                              for e in edges_of(6)], dtype=float)  # fmt: skip
    six = TSPDegree.generate(seed=0, n=6)
    assert not six.is_feasible(two_triangles)
    for bad in (two_triangles, np.zeros(15), np.ones(15)):
        with pytest.raises(ValueError, match="Hamiltonian cycle"):
            six.x_to_perm(bad)


def test_shrinking_enumerates_tours_as_edge_vectors():
    problem = TSPDegree.generate(seed=0, n=6)
    points = feasible_points(problem)
    assert points.shape[1] == problem.n_vars
    unique = np.unique(points, axis=0)
    assert len(unique) == 60 and np.all(problem.is_feasible(unique.astype(float)))


# ---- instances -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["euclidean", "random"])
@pytest.mark.parametrize(("n", "seed"), [(6, 0), (9, 4)])
def test_same_cities_as_tsp(kind, n, seed):
    edge = load_spec(f"tsp_degree:n={n},seed={seed},kind={kind}")
    position = load_spec(f"tsp:n={n},seed={seed},kind={kind}")
    assert type(edge) is TSPDegree and type(position) is TSP
    assert edge.kind == "tsp_degree" and position.kind == "tsp"
    np.testing.assert_array_equal(edge.dist, position.dist)
    assert (edge.coords is None) == (position.coords is None)
    if edge.coords is not None:
        np.testing.assert_array_equal(edge.coords, position.coords)
    assert edge.edge_weight_type == position.edge_weight_type
    assert edge.name == position.name and edge.size() == position.size() == {"n": n}


def test_tsplib_files_read_in_either_formulation(tmp_path):
    original = TSP.generate(seed=3, n=7, kind="random")
    original.best_known = 1234
    path = tmp_path / "seven.tsp"
    original.write(path)
    edge = load_spec(f"tsp_degree:{path}")
    assert type(edge) is TSPDegree and edge.best_known == 1234
    np.testing.assert_array_equal(edge.dist, original.dist)
    assert type(load_spec(str(path))) is TSP  # a .tsp without KIND: still "tsp"
    assert type(problems.read(path)) is TSP and problems.sniff_kind(path) == "tsp"
    edge.write(tmp_path / "again.tsp")
    back = TSPDegree.read(tmp_path / "again.tsp")
    np.testing.assert_array_equal(back.dist, original.dist)
    assert back.name == original.name and back.best_known == 1234
    assert problems.PROBLEMS["tsp_degree"] is TSPDegree


def test_too_many_subtour_rows_are_refused(tmp_path):
    assert TSPDegree.generate(seed=0, n=13).program.n_constraints == 13 + 4004
    with pytest.raises(ConfigError, match=r"tsp_degree generator: n=14 cities need 8,086 "):
        load_spec("tsp_degree:n=14")
    with pytest.raises(ConfigError, match=f"limited to {MAX_SUBTOUR_ROWS:,} rows"):
        TSPDegree(dist=np.ones((20, 20)) - np.eye(20))
    from qbench.instances import shipped

    burma = shipped()["burma14"].path
    with pytest.raises(ConfigError, match=r"burma14.tsp: n=14 cities need 8,086 subtour"):
        load_spec(f"tsp_degree:{burma}")
    assert load_spec("burma14").kind == "tsp"  # the shipped instance is unchanged
    big = tmp_path / "big.tsp"
    big.write_text("NAME : big\nTYPE : TSP\nDIMENSION : 100000\nEDGE_WEIGHT_TYPE : EUC_2D\n")
    with pytest.raises(ConfigError, match="n=100,000 cities need more than"):
        problems.read(big, "tsp_degree")
