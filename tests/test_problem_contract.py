"""The problem contract, written once and parametrised over MDKP, MIS, QAP, TSP (and its edge
formulation tsp_degree) and MSP.

Every problem reads its shipped instances with their best known value, round-trips write → read,
refuses malformed files with an InstanceFormatError naming file, line and reason (and missing and
binary files clearly), generates deterministically per seed and refuses bad generator parameters
by name, evaluates one bitstring (n,) or many rows (k, n) alike, repairs any bitstring into a
feasible one, validates its constructor and builds a program of the right shape and names.

What differs between the problems lives in one table per kind (``KINDS``): its files' quirks,
numpy references for its objective/violations/feasibility, its repair rule and hypothesis
strategy. Problem-specific tests (generator statistics, format variants, published optima and
tours, surrogates) stay in tests/test_<kind>.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import qbench.problems as problems
from qbench.errors import ConfigError, InstanceFormatError
from qbench.instances import load_shipped, shipped
from qbench.problems import MDKP, MIS, MSP, QAP, TSP, Problem, TSPDegree


def all_bitstrings(n: int) -> np.ndarray:
    """Every x in {0,1}^n as rows, in itertools.product order."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)


def rows(X) -> np.ndarray:
    """One bitstring (n,) or many (k, n) as float rows (k, n)."""
    return np.atleast_2d(np.asarray(X, dtype=float))


# ---- numpy references: objective, violations and feasibility computed without the program --------


@dataclass(frozen=True)
class Reference:
    """Each function takes the problem and rows (k, n) and returns one value per row."""

    objective: Callable[[Problem, np.ndarray], np.ndarray]
    violations: Callable[[Problem, np.ndarray], np.ndarray]
    feasible: Callable[[Problem, np.ndarray], np.ndarray]


def mdkp_excess(problem: MDKP, X) -> np.ndarray:
    """Total load above the capacities, row by row."""
    return np.maximum(rows(X) @ problem.weights.T - problem.capacities, 0).sum(axis=1)


def mis_edges(problem: MIS) -> np.ndarray:
    return np.array(list(problem.graph.edges), dtype=int).reshape(-1, 2)


def mis_conflicts(problem: MIS, X) -> np.ndarray:
    """Number of edges with both ends chosen, row by row."""
    X, edges = rows(X), mis_edges(problem)
    return np.maximum(X[:, edges[:, 0]] + X[:, edges[:, 1]] - 1, 0).sum(axis=1)


def mis_independent(problem: MIS, X) -> np.ndarray:
    """Rows of X with no edge inside, checked edge by edge (not via the program)."""
    X, edges = rows(X).astype(bool), mis_edges(problem)
    return ~np.any(X[:, edges[:, 0]] & X[:, edges[:, 1]], axis=1)


def assignment_matrices(problem, X) -> np.ndarray:
    n = problem.perm_size
    return rows(X).reshape(-1, n, n)


def assignment_violations(problem, X) -> np.ndarray:
    """Sum over rows and columns of |sum - 1| of the n×n assignment matrix."""
    mats = assignment_matrices(problem, X)
    return np.abs(mats.sum(2) - 1).sum(1) + np.abs(mats.sum(1) - 1).sum(1)


def is_permutation(problem, X) -> np.ndarray:
    mats = assignment_matrices(problem, X)
    return np.all(mats.sum(1) == 1, axis=1) & np.all(mats.sum(2) == 1, axis=1)


def qap_dense_objective(problem: QAP, X) -> np.ndarray:
    """sum_{i,j,k,l} flow[i,j] dist[k,l] x[i,k] x[j,l] for each row of X (any bitstrings)."""
    Xm = assignment_matrices(problem, X)
    return np.einsum("ij,kl,bik,bjl->b", problem.flow, problem.dist, Xm, Xm)


def tsp_dense_objective(problem: TSP, X) -> np.ndarray:
    """sum_t sum_{u!=v} d[u,v] x[u,t] x[v,t+1 mod n] for each row of X (any bitstrings)."""
    Xm = assignment_matrices(problem, X)
    off = problem.dist * (1 - np.eye(problem.perm_size))
    return np.einsum("uv,but,bvt->b", off, Xm, np.roll(Xm, -1, axis=2))


def msp_abs_deviation(problem: MSP, X) -> np.ndarray:
    """sum_i |d_i·x - b_i| written as plain Python loops, row by row."""
    values = []
    for x in rows(X):
        total = 0
        for row, b in zip(problem.demands.tolist(), problem.targets.tolist()):
            total += abs(sum(d * int(v) for d, v in zip(row, x)) - b)
        values.append(float(total))
    return np.array(values)


# ---- repair rules: what a repaired bitstring keeps of its input ----------------------------------

RepairRule = Callable[[Problem, np.ndarray, np.ndarray, bool], None]


def mdkp_maximal(problem: MDKP, y: np.ndarray) -> bool:
    """No left-out item with positive profit fits into the repaired knapsack any more."""
    load = problem.weights @ y
    return all(
        np.any(load + problem.weights[:, j] > problem.capacities)
        for j in np.flatnonzero(y == 0)
        if problem.profits[j] > 0
    )


def mis_maximal(problem: MIS, y: np.ndarray) -> bool:
    """Every vertex outside y has a neighbour inside y (nothing could be added)."""
    adj = nx.to_numpy_array(problem.graph, nodelist=range(len(y)))
    return bool(np.all((adj @ y)[y == 0] > 0))


def maximal_extension(is_maximal: Callable[[Problem, np.ndarray], bool]) -> RepairRule:
    """Subset problems: the repair is maximal, and a feasible input is only extended."""

    def rule(problem, x, y, feasible):
        assert is_maximal(problem, y)
        if feasible:
            assert np.all(y >= x)
            assert problem.objective(y) >= problem.objective(x)

    return rule


def nearest_permutation(problem, x, y, feasible):
    """Permutation problems: a permutation matrix is kept; otherwise the repair keeps as many of
    the input's ones as any permutation matrix can (no permutation overlaps x more)."""
    if feasible:
        np.testing.assert_array_equal(y, x)
    n = problem.perm_size
    perms = np.array(list(itertools.permutations(range(n))))
    best_overlap = x.reshape(n, n)[np.arange(n), perms].sum(axis=1).max()
    assert (y * x).sum() == best_overlap


def unchanged(problem, x, y, feasible):
    """Unconstrained problems: every bitstring is feasible and the repair returns it as it is."""
    assert feasible
    np.testing.assert_array_equal(y, x)


# ---- hypothesis strategies for the repair test ---------------------------------------------------


@st.composite
def mis_instances(draw) -> MIS:
    n = draw(st.integers(1, 24))
    return MIS.generate(
        seed=draw(st.integers(0, 1000)),
        n=n,
        model=draw(st.sampled_from(["gnp", "regular", "unit_disk"])),
        p=draw(st.floats(0, 1)),
        d=2 if n > 2 else 0,
        radius=draw(st.floats(0, 1.5)),
    )


# ---- samples for the vectorised evaluation test --------------------------------------------------


def permutations_and_noise(seed: int, k: int) -> Callable[[Problem], np.ndarray]:
    """k assignment bitstrings of random permutations, half of them with random bits flipped."""

    def sample(problem) -> np.ndarray:
        rng = np.random.default_rng(seed)
        n = problem.perm_size
        X = np.array([problem.perm_to_x(p) for p in np.argsort(rng.random((k, n)), axis=1)])
        flips = rng.random(X.shape) < 1 / n
        flips[: k // 2] = False
        return np.abs(X - flips)

    return sample


# ---- the table: one entry per problem kind -------------------------------------------------------


class Shipped(NamedTuple):
    size: dict
    best_known: float
    #: the name the file itself gives (TSPLIB's NAME), where it is not the index name
    file_name: str | None = None


@dataclass(frozen=True)
class GenCase:
    """A generator call: seeds[0] twice must agree, seeds[1] must change the ``differs`` parts."""

    params: dict
    name: str  # of the instance generated with seeds[0]
    seeds: tuple[int, int] = (7, 8)
    size: dict | None = None
    differs: tuple[str, ...] = ()
    expect: dict = field(default_factory=dict)  # fingerprint parts known in advance


@dataclass(frozen=True)
class ProgramCase:
    """``expect``: a program attribute (dotted name) -> its value, or a function of the problem."""

    make: Callable[[], Problem]
    expect: dict
    size: dict | None = None


@dataclass(frozen=True)
class VectorCase:
    make: Callable[[], Problem]
    sample: Callable[[Problem], np.ndarray]


@dataclass(frozen=True)
class Kind:
    cls: type[Problem]
    #: the instance data in its own terms; equal parts mean equal instances
    fingerprint: Callable[[Problem], dict]
    #: asserts that the data's shapes agree with size()
    consistent: Callable[[Problem], None]
    #: (n_vars, n_constraints) of the program from size()
    program_shape: Callable[[dict], tuple[int, int]]
    #: shipped instances by name
    shipped: dict[str, Shipped]
    #: whether the shipped files themselves carry the best known value
    shipped_files_carry_best_known: bool
    #: whether the file format stores the name (else it is the file's stem) and the best known
    format_stores_name: bool
    format_stores_best_known: bool
    #: a generated instance for the round trip: generator parameters and best known to attach
    round_trip_generated: tuple[dict, float | None]
    generator_cases: list[GenCase]
    #: (parameters, message fragment as a regex, as pytest.raises(match=...) takes it)
    bad_generator_params: list[tuple[dict, str]]
    #: (file text, line named by the error or None, message fragment)
    malformed: list[tuple[str, int | None, str]]
    #: (id, a call that must raise ValueError, message fragment as a regex)
    bad_constructions: list[tuple[str, Callable[[], object], str]]
    program: ProgramCase
    vectorised: VectorCase
    reference: Reference
    #: relative tolerance of objective/violation values against the reference (0: exact)
    rtol: float
    #: whether every bitstring is feasible (no constraints)
    all_feasible: bool
    repair_instances: st.SearchStrategy
    repair_settings: settings
    #: dtype of a repaired bitstring, or None where it is not promised
    repair_dtype: type | None
    repair_rule: RepairRule


# ---- MDKP ----------------------------------------------------------------------------------------


def mdkp_consistent(problem: MDKP) -> None:
    n, m = problem.size()["n"], problem.size()["m"]
    assert problem.profits.shape == (n,)
    assert problem.weights.shape == (m, n)
    assert problem.capacities.shape == (m,)


MDKP_KIND = Kind(
    cls=MDKP,
    fingerprint=lambda p: {"profits": p.profits, "weights": p.weights, "capacities": p.capacities},
    consistent=mdkp_consistent,
    program_shape=lambda size: (size["n"], size["m"]),
    #: SAC-94 sizes and optima (from the shipped instance README)
    shipped={
        "hp1": Shipped({"n": 28, "m": 4}, 3418),
        "hp2": Shipped({"n": 35, "m": 4}, 3186),
        "pb1": Shipped({"n": 27, "m": 4}, 3090),
        "pb2": Shipped({"n": 34, "m": 4}, 3186),
        "pb4": Shipped({"n": 29, "m": 2}, 95168),
        "pb5": Shipped({"n": 20, "m": 10}, 2139),
        "pet2": Shipped({"n": 10, "m": 10}, 87061),
        "pet3": Shipped({"n": 15, "m": 10}, 4015),
        "pet4": Shipped({"n": 20, "m": 10}, 6120),
        "pet5": Shipped({"n": 28, "m": 10}, 12400),
        "pet6": Shipped({"n": 39, "m": 5}, 10618),
        "pet7": Shipped({"n": 50, "m": 5}, 16537),
    },
    shipped_files_carry_best_known=True,
    format_stores_name=False,
    format_stores_best_known=True,
    round_trip_generated=({"seed": 9, "n": 7, "m": 3}, 1234),
    generator_cases=[
        GenCase(
            {"n": 30, "m": 4, "correlated": True},
            "mdkp-n30-m4-t0.5-s7",
            size={"n": 30, "m": 4},
            differs=("weights", "profits"),
        ),
        GenCase(
            {"n": 30, "m": 4, "correlated": False},
            "mdkp-n30-m4-t0.5-unc-s7",
            size={"n": 30, "m": 4},
            differs=("weights", "profits"),
        ),
    ],
    bad_generator_params=[
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": 2.5}, "n must be an integer >= 1"),
        ({"m": 0}, "m must be an integer >= 1"),
        ({"m": True}, "m must be an integer >= 1"),
        ({"tightness": 0}, r"tightness must be a number in \(0, 1\]"),
        ({"tightness": 1.5}, r"tightness must be a number in \(0, 1\]"),
        ({"tightness": "half"}, r"tightness must be a number in \(0, 1\]"),
        ({"correlated": "yes"}, "correlated must be true or false"),
    ],
    malformed=[
        ("", None, "file ends early: expected number of items n"),
        ("-3 2 0\n", 1, "number of items n must be >= 1"),
        ("3 -1 0\n", 1, "number of constraints m must be >= 1"),
        ("3 0 0\n", 1, "number of constraints m must be >= 1"),
        ("three 2 0\n", 1, "expected an integer for number of items n"),
        ("2 1 0\n5 6\n1 x\n3\n", 3, "expected a number for weight [0,1]"),
        ("2 1 0\n5 6\n1 2\n", 3, "file ends early: expected capacity [0]"),
        ("2 2 0\n5 6\n1 2\n3 4\n9\n", 5, "file ends early: expected capacity [1]"),
        ("2 1 0\n5 6\n1 2\n3\n4\n", 5, "unexpected extra data '4'"),
        ("2 1 0\n5 6\n1 -2\n3\n", 3, "weight must be non-negative, got -2"),
        ("2 1 0\n5 6\n1 2\n-3\n", 4, "capacity must be non-negative, got -3"),
        ("2 1 0\n5 inf\n1 2\n3\n", 2, "not finite"),
        ("2 1 zero\n", 1, "expected a number for optimum"),
    ],
    bad_constructions=[
        ("empty", lambda: MDKP([], np.zeros((1, 0)), [1]), "non-empty"),
        ("weights-shape", lambda: MDKP([1, 2], np.zeros((1, 3)), [1]), "weights must have shape"),
        ("capacities-shape", lambda: MDKP([1, 2], np.zeros((2, 2)), [1]), "capacities has shape"),
        ("negative", lambda: MDKP([1, 2], [[1, -1]], [1]), "non-negative"),
        ("nan", lambda: MDKP([1, np.nan], [[1, 1]], [1]), "finite"),
    ],
    program=ProgramCase(
        make=lambda: MDKP.generate(seed=1, n=6, m=3),
        expect={
            "sense": "max",
            "senses": ("<=",) * 3,
            "constraint_names": ["cap0", "cap1", "cap2"],
            "var_names": [f"x{j}" for j in range(6)],
            "A": lambda p: p.weights,
            "b": lambda p: p.capacities,
            "linear": lambda p: p.profits,
            "quadratic.nnz": 0,
            "constant": 0,
        },
    ),
    vectorised=VectorCase(
        make=lambda: load_shipped("hp1"),
        sample=lambda p: np.random.default_rng(3).integers(0, 2, size=(200, 28)).astype(float),
    ),
    reference=Reference(
        objective=lambda p, X: rows(X) @ p.profits,
        violations=mdkp_excess,
        feasible=lambda p, X: mdkp_excess(p, X) == 0,
    ),
    rtol=1e-7,
    all_feasible=False,
    repair_instances=st.builds(
        MDKP.generate,
        seed=st.integers(0, 1000),
        n=st.integers(1, 25),
        m=st.integers(1, 6),
        tightness=st.floats(0.05, 1.0),
        correlated=st.booleans(),
    ),
    repair_settings=settings(max_examples=80, deadline=None),
    repair_dtype=np.int8,
    repair_rule=maximal_extension(mdkp_maximal),
)


# ---- MIS -----------------------------------------------------------------------------------------


def mis_consistent(problem: MIS) -> None:
    size = problem.size()
    assert sorted(problem.graph.nodes) == list(range(size["n"]))
    assert problem.graph.number_of_edges() == size["m"]


def path_with_self_loop() -> nx.Graph:
    graph = nx.path_graph(3)
    graph.add_edge(1, 1)
    return graph


MIS_KIND = Kind(
    cls=MIS,
    fingerprint=lambda p: {"nodes": sorted(p.graph.nodes), "edges": sorted(p.graph.edges)},
    consistent=mis_consistent,
    program_shape=lambda size: (size["n"], size["m"]),
    #: Sloane's graphs: nodes, edges, maximum independent set size (from the shipped README)
    shipped={
        "1tc.8": Shipped({"n": 8, "m": 6}, 4),
        "1tc.16": Shipped({"n": 16, "m": 22}, 8),
        "1tc.32": Shipped({"n": 32, "m": 68}, 12),
        "1tc.64": Shipped({"n": 64, "m": 192}, 20),
        "1et.64": Shipped({"n": 64, "m": 264}, 18),
        "1dc.64": Shipped({"n": 64, "m": 543}, 10),
        "1tc.128": Shipped({"n": 128, "m": 512}, 38),
        "1et.128": Shipped({"n": 128, "m": 672}, 28),
        "1dc.128": Shipped({"n": 128, "m": 1471}, 16),
        "karate": Shipped({"n": 34, "m": 78}, 20),  # QOBLIB 07-independentset
    },
    shipped_files_carry_best_known=False,
    format_stores_name=False,
    format_stores_best_known=True,
    round_trip_generated=({"seed": 9, "n": 20, "model": "gnp", "p": 0.3}, 7),
    generator_cases=[
        GenCase(
            {"n": 20, "model": model, **params},
            name,
            differs=("edges",),
            expect={"nodes": list(range(20))},
        )
        for model, params, name in [
            ("gnp", {"p": 0.3}, "mis-gnp-n20-p0.3-s7"),
            ("regular", {"d": 3}, "mis-regular-n20-d3-s7"),
            ("unit_disk", {"radius": 0.3}, "mis-unit_disk-n20-r0.3-s7"),
        ]
    ],
    bad_generator_params=[
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
    malformed=[
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
    bad_constructions=[
        ("no-nodes", lambda: MIS(nx.Graph()), "at least one node"),
        ("labels", lambda: MIS(nx.relabel_nodes(nx.path_graph(3), {0: "a"})), "0..2"),
        ("gap", lambda: MIS(nx.Graph([(1, 2)])), "0..1"),
        ("self-loop", lambda: MIS(path_with_self_loop()), "self-loops"),
    ],
    program=ProgramCase(
        make=lambda: MIS(nx.path_graph(4), name="p4"),
        size={"n": 4, "m": 3},
        expect={
            "sense": "max",
            "senses": ("<=",) * 3,
            "constraint_names": ["e0_1", "e1_2", "e2_3"],
            "A": np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]),
            "b": 1,
            "linear": 1,
        },
    ),
    vectorised=VectorCase(
        make=lambda: load_shipped("1tc.32"),
        sample=lambda p: (np.random.default_rng(2).random((300, 32)) < 0.15).astype(float),
    ),
    reference=Reference(
        objective=lambda p, X: rows(X).sum(axis=1),
        violations=mis_conflicts,
        feasible=mis_independent,
    ),
    rtol=0,
    all_feasible=False,
    repair_instances=mis_instances(),
    repair_settings=settings(max_examples=100, deadline=None),
    repair_dtype=np.int8,
    repair_rule=maximal_extension(mis_maximal),
)


# ---- QAP -----------------------------------------------------------------------------------------


def qap_consistent(problem: QAP) -> None:
    n = problem.size()["n"]
    assert problem.flow.shape == problem.dist.shape == (n, n)


QAP_KIND = Kind(
    cls=QAP,
    fingerprint=lambda p: {"flow": p.flow, "dist": p.dist},
    consistent=qap_consistent,
    program_shape=lambda size: (size["n"] ** 2, 2 * size["n"]),
    #: QAPLIB sizes and optima (from the shipped instance README)
    shipped={
        "chr12a": Shipped({"n": 12}, 9552),
        "chr12b": Shipped({"n": 12}, 9742),
        "chr12c": Shipped({"n": 12}, 11156),
        "had12": Shipped({"n": 12}, 1652),
        "nug12": Shipped({"n": 12}, 578),
        "rou12": Shipped({"n": 12}, 235528),
        "scr12": Shipped({"n": 12}, 31410),
        "tai10a": Shipped({"n": 10}, 135028),
        "tai10b": Shipped({"n": 10}, 1183760),
        "tai12a": Shipped({"n": 12}, 224416),
        "tai12b": Shipped({"n": 12}, 39464925),
    },
    shipped_files_carry_best_known=False,  # QAPLIB files have no place for it
    format_stores_name=False,
    format_stores_best_known=False,
    round_trip_generated=({"seed": 9, "n": 5, "kind": "nugent"}, 52),
    generator_cases=[
        GenCase({"n": 9, "kind": kind}, f"qap-{kind}-n9-s7", size={"n": 9}, differs=("flow",))
        for kind in ["taillard", "nugent"]
    ],
    bad_generator_params=[
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": -2}, "n must be an integer >= 1"),
        ({"n": 2.5}, "n must be an integer >= 1"),
        ({"kind": "grid"}, "allowed: taillard, nugent"),
    ],
    malformed=[
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
    bad_constructions=[
        ("not-square", lambda: QAP(np.zeros((2, 3)), np.zeros((2, 3))), "square"),
        ("dist-shape", lambda: QAP(np.zeros((2, 2)), np.zeros((3, 3))), "like flow"),
    ],
    program=ProgramCase(
        make=lambda: QAP.generate(seed=1, n=5),
        expect={
            "n_vars": 25,
            "n_constraints": 10,
            "sense": "min",
            "senses": ("==",) * 10,
            "b": np.ones(10),
            # row-major: i*n + k, so var_names[7] == "x_1_2"
            "var_names": [f"x_{i}_{k}" for i in range(5) for k in range(5)],
        },
    ),
    vectorised=VectorCase(make=lambda: load_shipped("nug12"), sample=permutations_and_noise(4, 60)),
    reference=Reference(
        objective=qap_dense_objective, violations=assignment_violations, feasible=is_permutation
    ),
    rtol=1e-7,
    all_feasible=False,
    repair_instances=st.integers(1, 6).map(lambda n: QAP.generate(seed=n, n=n)),
    repair_settings=settings(max_examples=60, deadline=None),
    repair_dtype=None,
    repair_rule=nearest_permutation,
)


# ---- TSP -----------------------------------------------------------------------------------------

TSP_HEADER = "NAME : t\nTYPE : TSP\nDIMENSION : 3\n"
TSP_COORDS = "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 0\n"
TSP_EXPLICIT = "NAME : t\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"

TSP_MALFORMED = [
    # truncated sections
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nEOF\n", 7,
     "ends after 2 of 3 nodes"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2\nEOF\n", 7,
     "has 2 numbers, expected 3"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1 2\n1 0 3\n", 8,
     "has 6 numbers, expected 9"),
    # wrong dimension: too many numbers / nodes
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4\nEOF\n", 8,
     "has 4 numbers, expected 3"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\n" + TSP_COORDS + "4 1 1\nEOF\n", 9,
     "node id 4 out of range 1..3"),
    ("NAME : t\nTYPE : TSP\nDIMENSION : 100000000\nEDGE_WEIGHT_TYPE : GEO\n" + TSP_COORDS, 8,
     "ends after 3 of 100000000 nodes"),
    ("NAME : t\nTYPE : TSP\nDIMENSION : 100000000\n" + "EDGE_WEIGHT_TYPE : EXPLICIT\n"
     "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1\n", 7, "has 2 numbers"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\n" + TSP_COORDS + "EDGE_WEIGHT_SECTION\n1 2 3\n", 9,
     "EDGE_WEIGHT_SECTION given but EDGE_WEIGHT_TYPE is EUC_2D"),
    # non-numeric data
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 x 4\n3 6 0\n", 7,
     "expected a number for coordinate of node 2, got 'x'"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2.5 3 4\n3 6 0\n", 7,
     "expected an integer node id"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 two 3\n", 7,
     "expected a number for edge weight, got 'two'"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 inf 3\n", 7,
     "not finite"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3\n3 6 0\n", 7,
     "expected 'id x y'"),
    ("NAME : t\nTYPE : TSP\nDIMENSION : three\n", 3, "expected an integer DIMENSION"),
    # node ids
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 3 4\n3 6 0\n", 7,
     "duplicate node id 1"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n0 0 0\n2 3 4\n3 6 0\n", 6,
     "node id 0 out of range"),
    # unsupported kinds
    ("NAME : t\nTYPE : ATSP\n", 2, "unsupported TYPE 'ATSP'"),
    ("NAME : t\nTYPE : CVRP\n", 2, "unsupported TYPE 'CVRP'"),
    ("TYPE : HCP\n", 1, "only TSP"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_3D\n", 4,
     "supported: EUC_2D, CEIL_2D, GEO, ATT, EXPLICIT"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : MAN_2D\n", 4, "unsupported EDGE_WEIGHT_TYPE 'MAN_2D'"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : UPPER_COL\n", 5, "unsupported EDGE_WEIGHT_FORMAT"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : FUNCTION\nEDGE_WEIGHT_SECTION\n1 2 3\n", 5,
     "does not fit EXPLICIT"),
    (TSP_HEADER + "NODE_COORD_TYPE : THREED_COORDS\n", 4, "unsupported NODE_COORD_TYPE"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nFIXED_EDGES_SECTION\n1 2\n-1\n", 5,
     "unsupported section FIXED_EDGES_SECTION"),
    # bad dimension
    ("NAME : t\nTYPE : TSP\nDIMENSION : -4\n", 3, "DIMENSION must be >= 3, got -4"),
    ("NAME : t\nTYPE : TSP\nDIMENSION : 2\n", 3, "DIMENSION must be >= 3"),
    # asymmetric
    (TSP_EXPLICIT + "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1 2\n1 0 3\n2 4 0\n",
     8, "not symmetric (d[2][3]=3 but d[3][2]=4)"),
    # structure
    ("NAME : t\nTYPE : TSP\nNODE_COORD_SECTION\n1 0 0\n", 3, "before DIMENSION"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\n", 4, "missing NODE_COORD_SECTION"),
    (TSP_EXPLICIT + "EDGE_WEIGHT_SECTION\n1 2 3\n", 6, "missing EDGE_WEIGHT_FORMAT"),
    ("NAME : t\nTYPE : TSP\nEDGE_WEIGHT_TYPE : EUC_2D\n", 3, "missing DIMENSION"),
    ("", None, "missing TYPE"),
    (TSP_HEADER + "DIMENSION : 4\n", 4, "duplicate DIMENSION"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\n" + TSP_COORDS + "NODE_COORD_SECTION\n", 9,
     "duplicate NODE_COORD_SECTION"),
    (TSP_HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\n" + TSP_COORDS + "EOF\n1 2 3\n", 10, "after EOF"),
    (TSP_HEADER + "CAPACITY : 10\n", 4, "unknown keyword 'CAPACITY'"),
    (TSP_HEADER + "1 2 3\n", 4, "outside a data section"),
    (TSP_HEADER + "NAME : again\n", 4, "duplicate NAME"),
    ("NAME : t\nTYPE :\n", 2, "TYPE has no value"),
    (TSP_HEADER + "COMMENT : best_known lots\n", 4, "expected a number after best_known"),
    (TSP_HEADER + "COMMENT : best_known 5\nCOMMENT : best_known 6\n", 5, "duplicate best_known"),
]  # fmt: skip


def tsp_consistent(problem: TSP) -> None:
    n = problem.size()["n"]
    assert problem.dist.shape == (n, n)
    np.testing.assert_array_equal(problem.dist, problem.dist.T)
    assert (problem.coords is None) == (problem.edge_weight_type == "EXPLICIT")


TSP_KIND = Kind(
    cls=TSP,
    fingerprint=lambda p: {
        "dist": p.dist,
        "coords": p.coords,
        "edge_weight_type": p.edge_weight_type,
    },
    consistent=tsp_consistent,
    program_shape=lambda size: (size["n"] ** 2, 2 * size["n"]),
    #: TSPLIB sizes and optimal tour lengths
    shipped={
        "burma14": Shipped({"n": 14}, 3323),
        "ulysses16": Shipped({"n": 16}, 6859),  # NAME "ulysses16.tsp" without ".tsp"
        "gr17": Shipped({"n": 17}, 2085),
    },
    shipped_files_carry_best_known=False,
    format_stores_name=True,  # NAME
    format_stores_best_known=True,  # COMMENT : best_known
    round_trip_generated=({"seed": 9, "n": 6, "kind": "random"}, 1234.5),
    generator_cases=[
        GenCase(
            {"n": 30, "kind": "euclidean"},
            "tsp-euclidean-n30-s4",
            seeds=(4, 5),
            size={"n": 30},
            differs=("coords",),
        ),
        GenCase(
            {"n": 30, "kind": "random"},
            "tsp-random-n30-s4",
            seeds=(4, 5),
            size={"n": 30},
            differs=("dist",),
        ),
    ],
    bad_generator_params=[
        ({"n": 2}, "n must be an integer >= 3"),
        ({"n": -1}, "n must be an integer >= 3"),
        ({"n": 4.0}, "n must be an integer >= 3"),
        ({"kind": "clustered"}, "allowed: euclidean, random"),
    ],
    malformed=TSP_MALFORMED,
    bad_constructions=[
        (
            "asymmetric",
            lambda: TSP(dist=np.array([[0, 1, 2], [1, 0, 3], [2, 4, 0]])),
            "symmetric",
        ),
        ("two-cities", lambda: TSP(dist=np.zeros((2, 2))), "at least 3"),
        ("no-dist", lambda: TSP(coords=np.zeros((3, 2))), "give dist"),
        (
            "dist-and-coords-disagree",
            lambda: TSP(
                dist=np.ones((3, 3)) - np.eye(3),
                coords=np.array([[0.0, 0], [3, 4], [6, 0]]),
                edge_weight_type="EUC_2D",
            ),
            "does not match",
        ),
    ],
    program=ProgramCase(
        make=lambda: TSP.generate(seed=1, n=5),
        expect={
            "n_vars": 25,
            "n_constraints": 10,
            "sense": "min",
            "senses": ("==",) * 10,
            # city u at position t is x_u_t, row-major: var_names[7] == "x_1_2"
            "var_names": [f"x_{u}_{t}" for u in range(5) for t in range(5)],
            # each (u,t)-(v,t±1) pair once in the upper triangle: n positions × n(n-1) pairs
            "quadratic.nnz": 5 * 5 * 4,
            "linear": 0,
        },
    ),
    vectorised=VectorCase(
        make=lambda: load_shipped("burma14"), sample=permutations_and_noise(5, 60)
    ),
    reference=Reference(
        objective=tsp_dense_objective, violations=assignment_violations, feasible=is_permutation
    ),
    rtol=1e-7,
    all_feasible=False,
    repair_instances=st.integers(3, 6).map(lambda n: TSP.generate(seed=n, n=n)),
    repair_settings=settings(max_examples=60, deadline=None),
    repair_dtype=None,
    repair_rule=nearest_permutation,
)


# ---- TSP, edge formulation (tsp_degree): the TSP's data, reader and generator -------------------


def degree_edges(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def degree_objective(problem: TSPDegree, X) -> np.ndarray:
    """Sum of d[i, j] over the chosen edges, row by row."""
    n = problem.perm_size
    return rows(X) @ np.array([problem.dist[i, j] for i, j in degree_edges(n)])


def degree_violations(problem: TSPDegree, X) -> np.ndarray:
    """Sum over cities of |deg(v) - 2| plus, for every city set S with 3 <= |S| <= n/2 (city 0
    in S when |S| = n/2), the edges inside S beyond |S| - 1."""
    n, X = problem.perm_size, rows(X)
    edges = degree_edges(n)
    total = np.zeros(len(X))
    for v in range(n):
        total += np.abs(X[:, [k for k, e in enumerate(edges) if v in e]].sum(axis=1) - 2)
    for size in range(3, n // 2 + 1):
        for S in itertools.combinations(range(n), size):
            if 2 * size == n and 0 not in S:
                continue
            inside = [k for k, (i, j) in enumerate(edges) if i in S and j in S]
            total += np.maximum(X[:, inside].sum(axis=1) - (size - 1), 0)
    return total


def degree_hamiltonian(problem: TSPDegree, X) -> np.ndarray:
    """Rows whose edges form one cycle through every city (networkx)."""
    n = problem.perm_size
    found = []
    for x in rows(X):
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(e for e, bit in zip(degree_edges(n), x, strict=True) if bit)
        found.append(all(d == 2 for _, d in graph.degree) and nx.is_connected(graph))
    return np.array(found)


def degree_repair_rule(problem, x, y, feasible):
    """A tour is kept; x's edges, when they form disjoint paths, are all kept."""
    if feasible:
        np.testing.assert_array_equal(y, x)
    n = problem.perm_size
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(e for e, bit in zip(degree_edges(n), x, strict=True) if bit)
    if max(d for _, d in graph.degree) <= 2 and nx.is_forest(graph):
        assert np.all(y >= x)


TSP_DEGREE_KIND = Kind(
    cls=TSPDegree,
    fingerprint=TSP_KIND.fingerprint,
    consistent=tsp_consistent,
    program_shape=lambda size: (
        size["n"] * (size["n"] - 1) // 2,
        size["n"] + problems.tsp.subtour_row_count(size["n"]),
    ),
    shipped={},  # the shipped TSPLIB instances have n >= 14: too many subtour rows
    shipped_files_carry_best_known=False,
    format_stores_name=True,  # NAME
    format_stores_best_known=True,  # COMMENT : best_known
    round_trip_generated=({"seed": 9, "n": 6, "kind": "random"}, 1234.5),
    generator_cases=[
        GenCase(
            {"n": 9, "kind": kind},
            f"tsp-{kind}-n9-s4",  # the name of its tsp twin: the same cities
            seeds=(4, 5),
            size={"n": 9},
            differs=("dist",),
            expect={"dist": TSP.generate(seed=4, n=9, kind=kind).dist},
        )
        for kind in ("euclidean", "random")
    ],
    bad_generator_params=[
        *TSP_KIND.bad_generator_params,
        ({"n": 14}, "n=14 cities need 8,086 subtour elimination rows"),
    ],
    # a DIMENSION too large for the subtour rows is refused by a ConfigError before the memory
    malformed=[case for case in TSP_MALFORMED if "DIMENSION : 100000000" not in case[0]],
    bad_constructions=[
        (
            "asymmetric",
            lambda: TSPDegree(dist=np.array([[0, 1, 2], [1, 0, 3], [2, 4, 0]])),
            "symmetric",
        ),
        ("two-cities", lambda: TSPDegree(dist=np.zeros((2, 2))), "at least 3"),
        ("no-dist", lambda: TSPDegree(coords=np.zeros((3, 2))), "give dist"),
    ],
    program=ProgramCase(
        make=lambda: TSPDegree.generate(seed=1, n=6),
        expect={
            "n_vars": 15,
            "n_constraints": 16,
            "sense": "min",
            "senses": ("==",) * 6 + ("<=",) * 10,
            "var_names": [f"x_{i}_{j}" for i, j in degree_edges(6)],
            "linear": lambda p: [p.dist[i, j] for i, j in degree_edges(6)],
            "quadratic.nnz": 0,
            "constant": 0,
        },
    ),
    vectorised=VectorCase(
        make=lambda: TSPDegree.generate(seed=3, n=8), sample=permutations_and_noise(5, 60)
    ),
    reference=Reference(
        objective=degree_objective, violations=degree_violations, feasible=degree_hamiltonian
    ),
    rtol=1e-7,
    all_feasible=False,
    repair_instances=st.integers(3, 8).map(lambda n: TSPDegree.generate(seed=n, n=n)),
    repair_settings=settings(max_examples=60, deadline=None),
    repair_dtype=None,
    repair_rule=degree_repair_rule,
)


# ---- MSP -----------------------------------------------------------------------------------------


def msp_consistent(problem: MSP) -> None:
    m, n = problem.size()["m"], problem.size()["n"]
    assert problem.demands.shape == (m, n)
    assert problem.targets.shape == (m,)


MSP_KIND = Kind(
    cls=MSP,
    fingerprint=lambda p: {"demands": p.demands, "targets": p.targets},
    consistent=msp_consistent,
    program_shape=lambda size: (size["n"], 0),
    shipped={"ms_03_050_002": Shipped({"m": 3, "n": 20}, 0)},  # QOBLIB 01-marketsplit
    shipped_files_carry_best_known=False,
    format_stores_name=True,  # '# name' comment
    format_stores_best_known=True,  # '# best_known' comment
    round_trip_generated=({"seed": 9, "m": 3, "n": 12}, 4),
    generator_cases=[
        GenCase({}, "msp-m3-n20-s1", seeds=(1, 2), size={"m": 3, "n": 20}, differs=("demands",)),
    ],
    bad_generator_params=[
        ({"m": 0}, "m must be an integer >= 1"),
        ({"m": 2, "n": 0}, "n must be an integer >= 1"),
        ({"m": 1}, "n must be given for m=1"),
        ({"max_demand": -1}, "max_demand must be an integer >= 0"),
        ({"m": 2.5}, "m must be an integer"),
        ({"n": True}, "n must be an integer"),
    ],
    malformed=[
        ("", None, "expected the sizes"),
        ("# only a comment\n", 1, "expected the sizes"),
        ("2\n", 1, "expected the sizes 'm n' (2 numbers), got 1"),
        ("2 3 4\n", 1, "got 3"),
        ("0 3\n", 1, "number of rows m must be >= 1"),
        ("2 -1\n", 1, "number of variables n must be >= 1"),
        ("2 x\n", 1, "expected an integer for the number of variables n, got 'x'"),
        ("2 3\n1 2 3 4\n", 2, "file ends early: expected 2 rows"),
        ("2 3\n", 1, "file ends early"),
        ("2 3\n1 2 3 4\n1 2 3\n", 3, "row 2 has 3 numbers, expected 4"),
        ("2 3\n1 2 3 4 5\n1 2 3\n", 2, "row 1 has 5 numbers, expected 4"),
        ("1 2\n1 -2 3\n", 2, "demand d[1,2] must be >= 0"),
        ("1 2\n1 2 -3\n", 2, "target b[1] must be >= 0"),
        ("1 2\n1 a 3\n", 2, "expected an integer for demand d[1,2], got 'a'"),
        ("1 2\n1 2.5 3\n", 2, "expected an integer"),
        ("1 2\n1 2 3\n\n4 5 6\n", 4, "unexpected extra data '4 5 6'"),
        ("# best_known abc\n1 1\n1 1\n", 1, "expected a number for best_known"),
        ("# best_known\n1 1\n1 1\n", 1, "expected one number after best_known"),
        ("# best_known 1\n# best_known 2\n1 1\n1 1\n", 2, "duplicate best_known"),
    ],
    bad_constructions=[
        ("targets-shape", lambda: MSP([[1, 2]], [1, 2]), "one per row"),
        ("fractional", lambda: MSP([[1.5, 2]], [1]), "integers"),
        ("negative", lambda: MSP([[1, -2]], [1]), "non-negative"),
        ("empty", lambda: MSP(np.zeros((1, 0), dtype=int), [0]), "non-empty"),
    ],
    program=ProgramCase(
        make=lambda: MSP.generate(seed=4, m=3, n=10),
        size={"m": 3, "n": 10},
        expect={
            "n_vars": 10,
            "n_constraints": 0,
            "sense": "min",
            "senses": (),
            "constraint_names": [],
            "var_names": [f"x{j}" for j in range(10)],
        },
    ),
    vectorised=VectorCase(
        make=lambda: MSP.generate(seed=2, m=3, n=9), sample=lambda p: all_bitstrings(9)
    ),
    reference=Reference(
        objective=msp_abs_deviation,
        violations=lambda p, X: np.zeros(len(rows(X))),
        feasible=lambda p, X: np.ones(len(rows(X)), dtype=bool),
    ),
    rtol=0,
    all_feasible=True,
    repair_instances=st.builds(
        MSP.generate, seed=st.integers(0, 1000), m=st.integers(1, 4), n=st.integers(1, 12)
    ),
    repair_settings=settings(max_examples=50, deadline=None),
    repair_dtype=np.int8,
    repair_rule=unchanged,
)


KINDS: dict[str, Kind] = {
    k.cls.kind: k for k in (MDKP_KIND, MIS_KIND, QAP_KIND, TSP_KIND, TSP_DEGREE_KIND, MSP_KIND)
}


def kind_params(make_cases: Callable[[Kind], list], ids: Callable | None = None) -> list:
    """pytest.param(kind, *case) for every case of every kind, with readable ids."""
    params = []
    for kind, spec in KINDS.items():
        for i, case in enumerate(make_cases(spec)):
            values = case if isinstance(case, tuple) else (case,)
            label = ids(case) if ids else str(i)
            params.append(pytest.param(kind, *values, id=f"{kind}-{label}"))
    return params


def assert_same(a: dict, b: dict) -> None:
    """Two fingerprints hold the same data, part by part."""
    assert a.keys() == b.keys()
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ---- shipped instances ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_index_lists_exactly_the_table(kind):
    """qbench.instances ships these instances of the kind, and no others."""
    names = {name for name, entry in shipped().items() if entry.problem == kind}
    assert names == set(KINDS[kind].shipped)


@pytest.mark.parametrize(
    ("kind", "name"), kind_params(lambda spec: sorted(spec.shipped), ids=lambda name: name)
)
def test_shipped_instances_read_with_their_best_known(kind, name):
    spec = KINDS[kind]
    size, best_known, file_name = spec.shipped[name]
    entry = shipped()[name]
    assert entry.problem == kind and entry.best_known == best_known
    problem = spec.cls.read(entry.path)
    assert problem.size() == size
    assert problem.name == (file_name or name)
    assert problem.best_known == (best_known if spec.shipped_files_carry_best_known else None)
    n_vars, n_constraints = spec.program_shape(size)
    assert problem.n_vars == n_vars
    assert problem.program.n_constraints == n_constraints
    spec.consistent(problem)
    # through the instance library and the registry: the same data, with the best known value
    loaded = load_shipped(name)
    assert loaded.name == name and loaded.best_known == best_known
    # a relative gap to an optimum of 0 (a perfect market split) is undefined: None
    assert loaded.gap_pct(best_known) == (0 if best_known else None)
    assert_same(spec.fingerprint(loaded), spec.fingerprint(problem))
    assert_same(spec.fingerprint(problems.read(entry.path, kind)), spec.fingerprint(problem))


# ---- write → read round trips --------------------------------------------------------------------

GENERATED = "generated"


@pytest.mark.parametrize(
    ("kind", "name"),
    kind_params(lambda spec: [*sorted(spec.shipped), GENERATED], ids=lambda name: name),
)
def test_write_read_round_trip(kind, name, tmp_path):
    spec = KINDS[kind]
    if name == GENERATED:
        params, best_known = spec.round_trip_generated
        problem = spec.cls.generate(**params)
        problem.best_known = best_known
    else:
        problem = load_shipped(name)  # with its best known value attached
    # a format that stores the name is written under another one, so the name must come back
    stem = "out" if spec.format_stores_name else problem.name
    path = tmp_path / f"{stem}{spec.cls.extension}"
    problem.write(path)
    back = spec.cls.read(path)
    assert back.size() == problem.size()
    assert_same(spec.fingerprint(back), spec.fingerprint(problem))
    assert back.name == problem.name
    assert back.best_known == (problem.best_known if spec.format_stores_best_known else None)
    spec.consistent(back)
    assert problems.read(path).name == problem.name  # the registry recognises the written file


# ---- malformed, missing and binary files ---------------------------------------------------------


@pytest.mark.parametrize(("kind", "text", "line", "fragment"), kind_params(lambda s: s.malformed))
def test_reader_rejects_malformed_files(kind, text, line, fragment, tmp_path):
    spec = KINDS[kind]
    path = tmp_path / f"bad{spec.cls.extension}"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as info:
        spec.cls.read(path)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_reader_rejects_missing_and_binary_files(kind, tmp_path):
    cls = KINDS[kind].cls
    absent = tmp_path / f"absent{cls.extension}"
    with pytest.raises(InstanceFormatError, match="cannot read file") as info:
        cls.read(absent)
    assert info.value.path == str(absent)
    for i, payload in enumerate([b"\xff\xfe\x00\x01", b"\xff\xfe\x00\x81"]):
        binary = tmp_path / f"bin{i}{cls.extension}"
        binary.write_bytes(payload)
        with pytest.raises(InstanceFormatError, match="not a text file") as info:
            cls.read(binary)
        assert info.value.path == str(binary)


# ---- generator -----------------------------------------------------------------------------------

GENERATOR_CASES = kind_params(lambda spec: spec.generator_cases, ids=lambda case: case.name)


@pytest.mark.parametrize(("kind", "case"), GENERATOR_CASES)
def test_generator_is_deterministic_and_seeded(kind, case):
    spec = KINDS[kind]
    seed, other = case.seeds
    a = spec.cls.generate(seed=seed, **case.params)
    b = spec.cls.generate(seed=seed, **case.params)
    c = spec.cls.generate(seed=other, **case.params)
    fa, fc = spec.fingerprint(a), spec.fingerprint(c)
    assert_same(fa, spec.fingerprint(b))
    for key in case.differs:
        assert not np.array_equal(fa[key], fc[key]), key
    for key, value in case.expect.items():
        np.testing.assert_array_equal(fa[key], value, err_msg=key)
    if case.size is not None:
        assert a.size() == case.size
    assert a.name == case.name
    assert a.best_known is None
    spec.consistent(a)


@pytest.mark.parametrize(("kind", "case"), GENERATOR_CASES)
def test_registry_generate_matches_the_class(kind, case):
    spec = KINDS[kind]
    seed = case.seeds[0]
    via_registry = problems.generate(kind, seed=seed, **case.params)
    direct = spec.cls.generate(seed=seed, **case.params)
    assert type(via_registry) is spec.cls and problems.PROBLEMS[kind] is spec.cls
    assert_same(spec.fingerprint(via_registry), spec.fingerprint(direct))
    assert via_registry.name == direct.name


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    kind_params(
        lambda spec: spec.bad_generator_params,
        ids=lambda case: ",".join(f"{k}={v!r}" for k, v in case[0].items()),
    ),
)
def test_generator_rejects_bad_parameters(kind, params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        KINDS[kind].cls.generate(**params)


# ---- constructor and program ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "label", "construct", "fragment"),
    kind_params(lambda spec: spec.bad_constructions, ids=lambda case: case[0]),
)
def test_constructor_validates(kind, label, construct, fragment):
    with pytest.raises(ValueError, match=fragment):
        construct()


@pytest.mark.parametrize("kind", KINDS)
def test_program_shape_and_names(kind):
    case = KINDS[kind].program
    problem = case.make()
    prog = problem.to_program()
    if case.size is not None:
        assert problem.size() == case.size
    for key, expected in case.expect.items():
        actual = attrgetter(key)(prog)
        if sp.issparse(actual):
            actual = actual.toarray()
        if callable(expected):
            expected = expected(problem)
        if isinstance(actual, np.ndarray):
            np.testing.assert_array_equal(actual, expected, err_msg=key)
        else:
            assert actual == expected, key
    # sizes that every program agrees on
    assert prog.sense == problem.sense
    assert len(prog.var_names) == prog.n_vars == problem.n_vars
    assert len(prog.constraint_names) == len(prog.senses) == len(prog.b) == prog.n_constraints
    assert prog.A.shape == (prog.n_constraints, prog.n_vars)


# ---- vectorised evaluation -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_objective_and_violations_vectorised_match_numpy(kind):
    """Rows (k, n) give k values matching the numpy reference and the row-by-row calls."""
    spec = KINDS[kind]
    problem = spec.vectorised.make()
    X = spec.vectorised.sample(problem)
    k = len(X)
    obj, viol, feasible = problem.objective(X), problem.violations(X), problem.is_feasible(X)
    assert obj.shape == viol.shape == feasible.shape == (k,)
    np.testing.assert_allclose(obj, spec.reference.objective(problem, X), rtol=spec.rtol)
    np.testing.assert_allclose(viol, spec.reference.violations(problem, X), rtol=spec.rtol)
    np.testing.assert_array_equal(feasible, spec.reference.feasible(problem, X))
    np.testing.assert_array_equal(feasible, viol == 0)
    if spec.all_feasible:
        assert np.count_nonzero(viol) == 0
    else:
        assert 0 < np.count_nonzero(viol) < k  # both feasible and infeasible rows were checked
    for x, o, v, f in zip(X, obj, viol, feasible):  # one bitstring gives a scalar
        one = problem.objective(x)
        assert isinstance(one, float)
        np.testing.assert_allclose(one, o, rtol=spec.rtol)
        assert problem.violations(x) == pytest.approx(v, rel=spec.rtol, abs=0)
        assert problem.is_feasible(x) is bool(f)


# ---- repair --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_repair_of_random_bitstrings(kind):
    """Any bitstring repairs to a feasible one, by the kind's rule; the repair is idempotent."""
    spec = KINDS[kind]

    @spec.repair_settings
    @given(problem=spec.repair_instances, data=st.data())
    def check(problem, data):
        n = problem.n_vars
        x = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
        feasible = bool(spec.reference.feasible(problem, x)[0])
        assert problem.is_feasible(x) is feasible
        assert (problem.violations(x) > 0) == (not feasible)
        expected = spec.reference.objective(problem, x)[0]
        np.testing.assert_allclose(problem.objective(x), expected, rtol=spec.rtol)
        y = problem.repair(x)
        assert y.shape == (n,)
        if spec.repair_dtype is not None:
            assert y.dtype == spec.repair_dtype
        assert set(np.unique(y)) <= {0, 1}
        assert problem.is_feasible(y) and spec.reference.feasible(problem, y)[0]
        assert problem.violations(y) == 0
        spec.repair_rule(problem, x, y, feasible)
        np.testing.assert_array_equal(problem.repair(y), y)  # idempotent

    check()
