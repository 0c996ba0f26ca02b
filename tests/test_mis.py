"""MIS: DIMACS and edge-list specifics, the program against known optima, the repair.

The contract every problem shares (reading, round trips, malformed files, generator seeding and
parameters, vectorised evaluation, random-bitstring repair, constructor, program shape) is tested
once for all five in test_problem_contract.py.
"""

from importlib.resources import files
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from qbench.errors import ConfigError
from qbench.problems.mis import MIS, code_graph

MIS_DIR = Path(str(files("qbench.data") / "instances" / "mis"))

#: Sloane's graphs: nodes, edges, maximum independent set size (from the shipped README)
SHIPPED = {
    "1tc.8": (8, 6, 4),
    "1tc.16": (16, 22, 8),
    "1tc.32": (32, 68, 12),
    "1tc.64": (64, 192, 20),
    "1et.64": (64, 264, 18),
    "1dc.64": (64, 543, 10),
    "1tc.128": (128, 512, 38),
    "1et.128": (128, 672, 28),
    "1dc.128": (128, 1471, 16),
}


def read_shipped(name: str) -> MIS:
    return MIS.read(MIS_DIR / f"{name}.txt")


def all_bitstrings(n: int) -> np.ndarray:
    """Every bitstring of length n as a (2^n, n) array."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8)


def independent(problem: MIS, X: np.ndarray) -> np.ndarray:
    """Rows of X with no edge inside, checked edge by edge with numpy (not via the program)."""
    X = np.atleast_2d(X).astype(bool)
    edges = np.array(list(problem.graph.edges), dtype=int).reshape(-1, 2)
    return ~np.any(X[:, edges[:, 0]] & X[:, edges[:, 1]], axis=1)


def test_first_dimacs_edges_are_shifted_to_zero_based():
    problem = read_shipped("1tc.8")
    # the file lists e 2 3, e 2 5, e 3 5, e 4 6, e 4 7, e 6 7 (1-based)
    assert sorted(problem.graph.edges) == [(1, 2), (1, 4), (2, 4), (3, 5), (3, 6), (5, 6)]
    assert problem.program.constraint_names[:2] == ["e1_2", "e1_4"]


@pytest.mark.parametrize("name", ["1tc.8", "1tc.16"])
def test_brute_force_optimum_of_the_program_is_known(name):
    """All 2^n bitstrings: the program's feasible set is exactly the independent sets."""
    nodes, _, opt = SHIPPED[name]
    problem = read_shipped(name)
    X = all_bitstrings(nodes)
    feasible = problem.is_feasible(X)
    np.testing.assert_array_equal(feasible, independent(problem, X))
    np.testing.assert_array_equal(problem.objective(X), X.sum(axis=1))
    assert problem.objective(X[feasible]).max() == opt == X[independent(problem, X)].sum(1).max()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_milp_optimum_of_the_program_is_known(name):
    """Branch and bound on the program agrees with the published size and with a clique search."""
    opt = SHIPPED[name][2]
    problem = read_shipped(name)
    prog = problem.to_program()
    res = milp(
        -prog.linear,
        constraints=LinearConstraint(prog.A, -np.inf, prog.b),
        integrality=np.ones(prog.n_vars),
        bounds=Bounds(0, 1),
    )
    assert res.status == 0 and round(-res.fun) == opt
    assert problem.is_feasible(np.round(res.x)) and problem.objective(np.round(res.x)) == opt
    if name not in ("1et.128", "1dc.128"):  # exact clique search there takes minutes
        _, size = nx.max_weight_clique(nx.complement(problem.graph), weight=None)
        assert size == opt


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_sloane_graphs_are_regenerated_from_their_definition(name):
    """Each shipped file, Sloane's own (1dc.128 as the comparative study's authors ship it) or
    written by code_graph, holds exactly the graph of its error model."""
    model, n = name.split(".")
    graph = code_graph(model, int(n).bit_length() - 1)
    assert sorted(read_shipped(name).graph.edges) == sorted(tuple(sorted(e)) for e in graph.edges)
    generated = MIS.generate(n=int(n), model=model)
    assert generated.name == f"mis-{model}-n{n}" and generated.size()["m"] == SHIPPED[name][1]


def test_code_graph_models_need_a_power_of_two():
    with pytest.raises(ConfigError, match="model 1dc needs n = 2\\^k nodes, got n=12"):
        MIS.generate(n=12, model="1dc")


# ---- round trips -------------------------------------------------------------------------------


def assert_same(a: MIS, b: MIS) -> None:
    assert a.size() == b.size()
    assert sorted(a.graph.edges) == sorted(b.graph.edges)
    assert a.best_known == b.best_known


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_dimacs_writer_records_best_known_and_sizes(name, tmp_path):
    """The 'c best_known' comment and the 'p edge N M' line (the read-back: the contract tests)."""
    problem = read_shipped(name)
    problem.best_known = SHIPPED[name][2]
    problem.write(tmp_path / f"{name}.dimacs")
    text = (tmp_path / f"{name}.dimacs").read_text()
    assert f"c best_known {SHIPPED[name][2]}\n" in text
    assert f"p edge {SHIPPED[name][0]} {SHIPPED[name][1]}\n" in text


@pytest.mark.parametrize("name", ["1tc.8", "1dc.64"])
def test_edgelist_round_trip(name, tmp_path):
    problem = read_shipped(name)
    problem.write_edgelist(tmp_path / "g.edges")
    back = MIS.read(tmp_path / "g.edges")
    assert_same(back, problem)
    problem.best_known = 2.5
    problem.write_edgelist(tmp_path / "g.edges")
    assert MIS.read(tmp_path / "g.edges").best_known == 2.5


def test_round_trip_keeps_isolated_nodes(tmp_path):
    graph = nx.Graph([(0, 1)])
    graph.add_nodes_from(range(5))  # nodes 2..4 isolated, including the largest id
    problem = MIS(graph)
    for writer, fname in ((problem.write, "g.dimacs"), (problem.write_edgelist, "g.edges")):
        writer(tmp_path / fname)
        back = MIS.read(tmp_path / fname)
        assert back.size() == {"n": 5, "m": 1}
        assert back.best_known is None
    edgeless = MIS(nx.empty_graph(3))
    edgeless.write_edgelist(tmp_path / "e.edges")
    assert MIS.read(tmp_path / "e.edges").size() == {"n": 3, "m": 0}
    edgeless.write(tmp_path / "e.dimacs")
    assert MIS.read(tmp_path / "e.dimacs").size() == {"n": 3, "m": 0}


def test_plain_edge_list_reading(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# a triangle and a tail\n0 1\n1 2  # trailing comment\n2 0\n\n2 3\n")
    problem = MIS.read(path)
    assert problem.size() == {"n": 4, "m": 4}  # node count = largest id + 1
    assert problem.best_known is None
    path.write_text("# nodes 6\n#best_known 4\n0 1\n1 0\n")
    problem = MIS.read(path)
    assert problem.size() == {"n": 6, "m": 1}  # reversed duplicate merged
    assert problem.best_known == 4


def test_dimacs_variants(tmp_path):
    path = tmp_path / "g.col"
    # 'p col', duplicate and reversed edges merged (M counts the e lines), comments anywhere
    path.write_text("c hello\np col 4 4\ne 1 2\nc mid\ne 2 1\ne 3 4\ne 1 2\n")
    problem = MIS.read(path)
    assert problem.size() == {"n": 4, "m": 2}
    assert sorted(problem.graph.edges) == [(0, 1), (2, 3)]
    assert problem.name == "g"


# ---- generator ---------------------------------------------------------------------------------


def test_generator_models_have_their_structure():
    regular = MIS.generate(seed=1, n=30, model="regular", d=4)
    assert {deg for _, deg in regular.graph.degree} == {4}
    assert regular.size() == {"n": 30, "m": 60}
    dense = MIS.generate(seed=1, n=60, model="gnp", p=0.5)
    assert 0.4 < nx.density(dense.graph) < 0.6
    assert MIS.generate(seed=1, n=10, model="gnp", p=0).size()["m"] == 0
    assert MIS.generate(seed=1, n=10, model="gnp", p=1).size()["m"] == 45
    # unit disk: same seed gives networkx's points; edges are exactly the pairs within radius
    disk = MIS.generate(seed=3, n=40, model="unit_disk", radius=0.25)
    pos = nx.random_geometric_graph(40, 0.25, seed=3).nodes(data="pos")
    pts = np.array([pos[v] for v in range(40)])
    assert np.all((pts >= 0) & (pts <= 1))
    close = np.linalg.norm(pts[:, None] - pts[None], axis=2) <= 0.25
    expected = {(u, v) for u, v in zip(*np.nonzero(np.triu(close, 1)))}
    assert set(map(tuple, disk.edges)) == expected
    assert len(expected) > 0


# ---- repair ------------------------------------------------------------------------------------


def is_maximal(problem: MIS, y: np.ndarray) -> bool:
    """Every vertex outside y has a neighbour inside y (nothing could be added)."""
    adj = nx.to_numpy_array(problem.graph, nodelist=range(len(y)))
    return bool(np.all((adj @ y)[y == 0] > 0))


def test_repair_drops_the_most_conflicting_vertex():
    star = MIS(nx.star_graph(5))  # centre 0 joined to 1..5
    np.testing.assert_array_equal(star.repair(np.ones(6)), [0, 1, 1, 1, 1, 1])
    # the empty input grows into a maximal set by minimum degree: the leaves, not the centre
    np.testing.assert_array_equal(star.repair(np.zeros(6)), [0, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="length 6"):
        star.repair(np.ones(5))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_repair_of_all_ones_on_shipped_graphs(name):
    problem = read_shipped(name)
    nodes, _, opt = SHIPPED[name]
    y = problem.repair(np.ones(nodes))
    assert problem.is_feasible(y) and is_maximal(problem, y)
    assert 0.7 * opt <= problem.objective(y) <= opt
