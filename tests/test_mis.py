"""MIS: DIMACS and edge-list reading/writing, the program against known optima, the repair."""

from importlib.resources import files
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from qbench.errors import ConfigError, InstanceFormatError
from qbench.problems.mis import MIS

MIS_DIR = Path(str(files("qbench.data") / "instances" / "mis"))

#: Sloane's graphs: nodes, edges, maximum independent set size (from the shipped README)
SHIPPED = {
    "1tc.8": (8, 6, 4),
    "1tc.16": (16, 22, 8),
    "1tc.32": (32, 68, 12),
    "1tc.64": (64, 192, 20),
    "1et.64": (64, 264, 18),
    "1dc.64": (64, 543, 10),
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


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_instances_read(name):
    nodes, edges, _ = SHIPPED[name]
    problem = read_shipped(name)
    assert problem.size() == {"n": nodes, "m": edges}
    assert sorted(problem.graph.nodes) == list(range(nodes))
    assert problem.name == name
    assert problem.best_known is None  # the files carry no optimum
    prog = problem.program
    assert prog.n_vars == nodes and prog.n_constraints == edges


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
    _, size = nx.max_weight_clique(nx.complement(problem.graph), weight=None)
    assert size == opt


def test_objective_and_violations_vectorised_match_numpy():
    problem = read_shipped("1tc.32")
    X = (np.random.default_rng(2).random((300, 32)) < 0.15).astype(float)
    obj, viol = problem.objective(X), problem.violations(X)
    assert obj.shape == viol.shape == (300,)
    np.testing.assert_array_equal(obj, X.sum(axis=1))
    edges = problem.edges
    direct = np.maximum(X[:, edges[:, 0]] + X[:, edges[:, 1]] - 1, 0).sum(axis=1)
    np.testing.assert_array_equal(viol, direct)
    assert 0 < np.count_nonzero(viol) < 300
    np.testing.assert_array_equal(problem.is_feasible(X), independent(problem, X))


def test_program_shape():
    problem = MIS(nx.path_graph(4), name="p4")
    prog = problem.to_program()
    assert prog.sense == "max" and prog.senses == ("<=",) * 3
    assert prog.constraint_names == ["e0_1", "e1_2", "e2_3"]
    np.testing.assert_array_equal(prog.A.toarray(), [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    np.testing.assert_array_equal(prog.b, 1)
    np.testing.assert_array_equal(prog.linear, 1)
    assert problem.size() == {"n": 4, "m": 3}


def test_constructor_validates():
    with pytest.raises(ValueError, match="at least one node"):
        MIS(nx.Graph())
    with pytest.raises(ValueError, match="0..2"):
        MIS(nx.relabel_nodes(nx.path_graph(3), {0: "a"}))
    with pytest.raises(ValueError, match="0..1"):
        MIS(nx.Graph([(1, 2)]))
    g = nx.path_graph(3)
    g.add_edge(1, 1)
    with pytest.raises(ValueError, match="self-loops"):
        MIS(g)


# ---- round trips -------------------------------------------------------------------------------


def assert_same(a: MIS, b: MIS) -> None:
    assert a.size() == b.size()
    assert sorted(a.graph.edges) == sorted(b.graph.edges)
    assert a.best_known == b.best_known


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_dimacs_round_trip(name, tmp_path):
    problem = read_shipped(name)
    problem.best_known = SHIPPED[name][2]
    problem.write(tmp_path / f"{name}.dimacs")
    text = (tmp_path / f"{name}.dimacs").read_text()
    assert f"c best_known {SHIPPED[name][2]}\n" in text
    assert f"p edge {SHIPPED[name][0]} {SHIPPED[name][1]}\n" in text
    back = MIS.read(tmp_path / f"{name}.dimacs")
    assert_same(back, problem)
    assert back.name == name


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


# ---- malformed files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", None, "empty file"),
        ("\n\n", None, "empty file"),
        ("p edge 4 3\ne 1 2\ne 2 3\n", 1, "declares 3 edges but the file has 2 'e' lines"),
        ("p edge 4 1\ne 1 2\ne 2 3\n", 1, "declares 1 edges but the file has 2 'e' lines"),
        ("c x\np edge 4 1\ne 1 two\n", 3, "expected an integer for node id v, got 'two'"),
        ("p edge -4 1\ne 1 2\n", 1, "node count N must be >= 1"),
        ("p edge 0 0\n", 1, "node count N must be >= 1"),
        ("p edge 4 -1\n", 1, "edge count M must be >= 0"),
        ("p edge four 1\ne 1 2\n", 1, "expected an integer for the node count N"),
        ("p edge 4 1\ne 1 5\n", 2, "node id 5 out of range: expected 1..4"),
        ("p edge 4 1\ne 0 2\n", 2, "node id 0 out of range: expected 1..4"),
        ("p edge 4 1\ne 3 3\n", 2, "self-loop on node 3"),
        ("p edge 4 1\ne 1 2 3\n", 2, "expected 'e u v'"),
        ("p edge 4 1\ne 1\n", 2, "expected 'e u v'"),
        ("p edge 4\n", 1, "expected 'p edge N M'"),
        ("p sp 4 1\ne 1 2\n", 1, "unsupported problem type 'sp'"),
        ("e 1 2\np edge 4 1\n", 1, "edge line before the 'p edge N M' line"),
        ("p edge 4 1\ne 1 2\np edge 4 1\n", 3, "second 'p' line"),
        ("p edge 4 1\nn 1 5\ne 1 2\n", 2, "unsupported line type 'n'"),
        ("c best_known many\np edge 2 1\ne 1 2\n", 1, "expected a number for best_known"),
        ("e 1 2\ne 2 3\n", 1, "missing 'p' line"),
        ("0 1\n1 -2\n", 2, "node id -2 out of range: expected >= 0"),
        ("0 1\n1 1\n", 2, "self-loop on node 1"),
        ("0 1\n1 2 3\n", 2, "expected an edge 'u v'"),
        ("0 1\n7\n", 2, "expected an edge 'u v'"),
        ("0 1\n1 x\n", 2, "expected an integer for node id v, got 'x'"),
        ("0 1\n1 2.5\n", 2, "expected an integer for node id v"),
        ("# nodes 3\n0 1\n1 3\n", 3, "node id 3 out of range: '# nodes 3' allows 0..2"),
        ("# nodes -1\n0 1\n", 1, "node count N must be >= 1"),
        ("# nodes\n0 1\n", 1, "expected '# nodes N'"),
        ("# only a comment\n", 1, "no edges and no '# nodes N' line"),
    ],
)
def test_reader_rejects_malformed_files(tmp_path, text, line, fragment):
    path = tmp_path / "bad.dimacs"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as info:
        MIS.read(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_reader_rejects_missing_and_binary_files(tmp_path):
    with pytest.raises(InstanceFormatError, match="cannot read"):
        MIS.read(tmp_path / "absent.dimacs")
    (tmp_path / "bin.dimacs").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InstanceFormatError, match="not a text file"):
        MIS.read(tmp_path / "bin.dimacs")


# ---- generator ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "params", "name"),
    [
        ("gnp", {"p": 0.3}, "mis-gnp-n20-p0.3-s7"),
        ("regular", {"d": 3}, "mis-regular-n20-d3-s7"),
        ("unit_disk", {"radius": 0.3}, "mis-unit_disk-n20-r0.3-s7"),
    ],
)
def test_generator_is_deterministic_and_seeded(model, params, name):
    a = MIS.generate(seed=7, n=20, model=model, **params)
    b = MIS.generate(seed=7, n=20, model=model, **params)
    c = MIS.generate(seed=8, n=20, model=model, **params)
    assert sorted(a.graph.edges) == sorted(b.graph.edges)
    assert sorted(a.graph.edges) != sorted(c.graph.edges)
    assert sorted(a.graph.nodes) == list(range(20))
    assert a.name == name
    assert a.best_known is None


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


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": 3.5}, "n must be an integer >= 1"),
        ({"model": "ba"}, "allowed: gnp, regular, unit_disk"),
        ({"p": 1.5}, r"p must be a number in \[0, 1\]"),
        ({"p": -0.1}, r"p must be a number in \[0, 1\]"),
        ({"model": "regular", "n": 5, "d": 3}, "n\\*d must be even"),
        ({"model": "regular", "n": 4, "d": 4}, "0 <= d < n=4"),
        ({"model": "regular", "d": -1}, "0 <= d < n"),
        ({"model": "unit_disk", "radius": -0.1}, "radius must be a finite number >= 0"),
        ({"model": "unit_disk", "radius": float("inf")}, "radius must be a finite number"),
    ],
)
def test_generator_rejects_bad_parameters(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        MIS.generate(**params)


# ---- repair ------------------------------------------------------------------------------------


def is_maximal(problem: MIS, y: np.ndarray) -> bool:
    """Every vertex outside y has a neighbour inside y (nothing could be added)."""
    adj = nx.to_numpy_array(problem.graph, nodelist=range(len(y)))
    return bool(np.all((adj @ y)[y == 0] > 0))


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 1000),
    n=st.integers(1, 24),
    model=st.sampled_from(["gnp", "regular", "unit_disk"]),
    p=st.floats(0, 1),
    radius=st.floats(0, 1.5),
    data=st.data(),
)
def test_repair_of_random_bitstrings(seed, n, model, p, radius, data):
    d = 2 if n > 2 else 0
    problem = MIS.generate(seed=seed, n=n, model=model, p=p, d=d, radius=radius)
    x = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    y = problem.repair(x)
    assert y.shape == (n,) and y.dtype == np.int8
    assert problem.is_feasible(y) and independent(problem, y)[0]
    assert is_maximal(problem, y)
    if independent(problem, x)[0]:  # an independent input is only extended
        assert np.all(y >= x)
        assert problem.objective(y) >= problem.objective(x)
    np.testing.assert_array_equal(problem.repair(y), y)


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
