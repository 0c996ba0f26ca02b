"""TSP: TSPLIB 95 specifics, distance rules, the position program and known optimal tours.

The contract every problem shares (reading, round trips, malformed files, generator seeding and
parameters, vectorised evaluation, random-bitstring repair, constructor, program shape) is tested
once for all five in test_problem_contract.py.
"""

import itertools
import math
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbench.problems.tsp import EDGE_WEIGHT_FORMATS, TSP, coord_distances

TSP_DIR = Path(str(files("qbench.data") / "instances" / "tsp"))

#: published optimal tours (TSPLIB .opt.tour files, 1-based) and lengths
BURMA14_TOUR = np.array([1, 2, 14, 3, 4, 5, 6, 12, 7, 13, 8, 11, 9, 10]) - 1
ULYSSES16_TOUR = np.array([1, 14, 13, 12, 7, 6, 15, 5, 11, 9, 10, 16, 3, 2, 4, 8]) - 1
SHIPPED = {
    "burma14": (14, "GEO", 3323),
    "ulysses16": (16, "GEO", 6859),
    "gr17": (17, "EXPLICIT", 2085),
}


def held_karp(dist: np.ndarray) -> float:
    """Optimal closed tour length by the Held–Karp dynamic program (independent reference)."""
    d = np.asarray(dist, dtype=float)
    m = d.shape[0] - 1  # the last city is the fixed start
    full = 1 << m
    dp = np.full((full, m), np.inf)
    dp[1 << np.arange(m), np.arange(m)] = d[m, :m]
    masks = np.arange(full)
    popcount = np.array([bin(v).count("1") for v in range(full)])
    for size in range(2, m + 1):
        layer = masks[popcount == size]
        for j in range(m):
            sub = layer[(layer >> j) & 1 == 1]
            dp[sub, j] = (dp[sub ^ (1 << j)] + d[:m, j]).min(axis=1)
    return float((dp[full - 1] + d[:m, m]).min())


def geo_reference(lat_lon_a, lat_lon_b) -> int:
    """One TSPLIB 95 GEO distance, written as the scalar C code of the TSPLIB documentation."""

    def rad(v: float) -> float:
        deg = int(v)
        return 3.141592 * (deg + 5.0 * (v - deg) / 3.0) / 180.0

    lat_i, lon_i = map(rad, lat_lon_a)
    lat_j, lon_j = map(rad, lat_lon_b)
    q1 = math.cos(lon_i - lon_j)
    q2 = math.cos(lat_i - lat_j)
    q3 = math.cos(lat_i + lat_j)
    return int(6378.388 * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0)


def dense_objective(problem: TSP, X: np.ndarray) -> np.ndarray:
    """sum_t sum_{u!=v} d[u,v] x[u,t] x[v,t+1 mod n] for each row of X (any bitstrings)."""
    n = problem.perm_size
    Xm = np.asarray(X, dtype=float).reshape(-1, n, n)
    off = problem.dist * (1 - np.eye(n))
    return np.einsum("uv,but,bvt->b", off, Xm, np.roll(Xm, -1, axis=2))


def read_text(tmp_path, text: str, name: str = "t.tsp") -> TSP:
    path = tmp_path / name
    path.write_text(text)
    return TSP.read(path)


# --------------------------------------------------------------------------- shipped instances


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_instances_reach_their_optimum(name):
    """Sizes, names, best known values and symmetry of the shipped instances: the contract tests."""
    _, ew_type, opt = SHIPPED[name]
    problem = TSP.read(TSP_DIR / f"{name}.tsp")
    assert problem.edge_weight_type == ew_type
    assert (problem.coords is None) == (ew_type == "EXPLICIT")
    assert held_karp(problem.dist) == opt


@pytest.mark.parametrize(
    ("name", "tour", "length"),
    [("burma14", BURMA14_TOUR, 3323), ("ulysses16", ULYSSES16_TOUR, 6859)],
)
def test_published_optimal_tours(name, tour, length):
    problem = TSP.read(TSP_DIR / f"{name}.tsp")
    assert problem.tour_length(tour) == length
    positions = np.argsort(tour)  # perm[c] = position of city c
    assert problem.permutation_costs(positions) == length
    x = problem.perm_to_x(positions)
    assert problem.is_feasible(x)
    assert problem.objective(x) == length


def test_geo_distances_match_the_scalar_definition():
    for name in ("burma14", "ulysses16"):
        problem = TSP.read(TSP_DIR / f"{name}.tsp")
        n = problem.perm_size
        ref = np.array(
            [
                [0 if i == j else geo_reference(problem.coords[i], problem.coords[j])
                 for j in range(n)]
                for i in range(n)
            ]
        )  # fmt: skip
        np.testing.assert_array_equal(problem.dist, ref)
    # burma14 cities 1 and 2 (TSPLIB: 153)
    assert TSP.read(TSP_DIR / "burma14.tsp").dist[0, 1] == 153


def test_gr17_lower_diag_row():
    problem = TSP.read(TSP_DIR / "gr17.tsp")
    assert problem.dist[1, 0] == problem.dist[0, 1] == 633
    assert problem.dist[16, 15] == 336
    np.testing.assert_array_equal(np.diagonal(problem.dist), 0)


@pytest.mark.parametrize(
    ("ew_type", "a", "b", "expected"),
    [
        ("EUC_2D", (0, 0), (3, 4), 5),
        ("EUC_2D", (0, 0), (1, 1), 1),  # nint(1.414)
        ("EUC_2D", (0, 0), (1.5, 0), 2),  # nint rounds .5 up
        ("EUC_2D", (0, 0), (1.4, 1.4), 2),  # nint(1.98)
        ("CEIL_2D", (0, 0), (1, 1), 2),
        ("CEIL_2D", (0, 0), (3, 4), 5),
        ("ATT", (0, 0), (10, 0), 4),  # r = 3.162, t = 3 < r -> 4
        ("ATT", (0, 0), (30, 40), 16),  # r = 15.81, t = 16 >= r -> 16
        ("ATT", (0, 0), (0, 0.0), 0),
    ],
)
def test_coordinate_distance_rules(ew_type, a, b, expected):
    dist = coord_distances(np.array([a, b], dtype=float), ew_type)
    assert dist[0, 1] == dist[1, 0] == expected
    assert dist[0, 0] == 0


# --------------------------------------------------------------------------- program


@pytest.mark.parametrize("kind", ["euclidean", "random"])
def test_held_karp_matches_brute_force_on_generated(kind):
    problem = TSP.generate(seed=11, n=8, kind=kind)
    perms = np.array(list(itertools.permutations(range(8))))
    assert problem.permutation_costs(perms).min() == held_karp(problem.dist)


def test_program_optimum_on_all_bitstrings():
    """n=3: all 512 bitstrings; feasible exactly on permutation matrices, objective as defined."""
    problem = TSP.generate(seed=5, n=3, kind="random")
    X = np.array(list(itertools.product([0, 1], repeat=9)), dtype=float)
    mats = X.reshape(-1, 3, 3)
    is_perm = np.all(mats.sum(1) == 1, axis=1) & np.all(mats.sum(2) == 1, axis=1)
    np.testing.assert_array_equal(problem.is_feasible(X), is_perm)
    np.testing.assert_allclose(problem.objective(X), dense_objective(problem, X))
    d = problem.dist
    assert problem.objective(X[is_perm]).min() == d[0, 1] + d[1, 2] + d[2, 0]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 8),
    kind=st.sampled_from(["euclidean", "random"]),
)
def test_objective_equals_permutation_costs(seed, n, kind):
    problem = TSP.generate(seed=seed % 50, n=n, kind=kind)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((6, n)), axis=1)
    X = np.array([problem.perm_to_x(p) for p in perms])
    costs = problem.permutation_costs(perms)
    np.testing.assert_allclose(problem.objective(X), costs)
    tours = np.argsort(perms, axis=1)
    np.testing.assert_allclose(costs, [problem.tour_length(t) for t in tours])
    manual = [sum(problem.dist[t[i], t[(i + 1) % n]] for i in range(n)) for t in tours]
    np.testing.assert_allclose(costs, manual)
    # rotating or reversing a tour keeps its length
    shifted = np.argsort(np.roll(tours, 2, axis=1), axis=1)
    reversed_ = np.argsort(tours[:, ::-1], axis=1)
    np.testing.assert_allclose(problem.permutation_costs(shifted), costs)
    np.testing.assert_allclose(problem.permutation_costs(reversed_), costs)
    np.testing.assert_array_equal(problem.violations(X), 0)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("fmt", EDGE_WEIGHT_FORMATS)
def test_explicit_formats_round_trip(fmt, tmp_path):
    problem = TSP.generate(seed=3, n=7, kind="random")
    problem.best_known = 1234.5
    path = tmp_path / f"{fmt}.tsp"
    problem.write(path, edge_weight_format=fmt)
    text = path.read_text()
    assert f"EDGE_WEIGHT_FORMAT : {fmt}" in text
    assert "COMMENT : best_known 1234.5" in text
    back = TSP.read(path)
    np.testing.assert_array_equal(back.dist, problem.dist)
    assert back.edge_weight_type == "EXPLICIT" and back.coords is None
    assert back.best_known == 1234.5
    assert back.name == problem.name


def test_coordinate_round_trip_keeps_floats_and_best_known(tmp_path):
    rng = np.random.default_rng(2)
    for ew_type in ("EUC_2D", "CEIL_2D", "ATT", "GEO"):
        coords = np.round(rng.random((6, 2)) * 90, 2) + rng.random((6, 2)) * 1e-7
        problem = TSP(coords=coords, edge_weight_type=ew_type, name="pts", best_known=77)
        problem.write(tmp_path / "pts.tsp")
        back = TSP.read(tmp_path / "pts.tsp")
        np.testing.assert_array_equal(back.coords, coords)
        np.testing.assert_array_equal(back.dist, problem.dist)
        assert back.edge_weight_type == ew_type
        assert back.best_known == 77
        # forcing an explicit format keeps the distances (not the coordinates)
        problem.write(tmp_path / "m.tsp", edge_weight_format="UPPER_ROW")
        explicit = TSP.read(tmp_path / "m.tsp")
        np.testing.assert_array_equal(explicit.dist, problem.dist)
        assert explicit.coords is None


def test_writer_refuses_a_diagonal_it_cannot_hold(tmp_path):
    dist = np.array([[1.0, 2, 3], [2, 0, 4], [3, 4, 0]])
    problem = TSP(dist=dist)
    with pytest.raises(ValueError, match="diagonal"):
        problem.write(tmp_path / "d.tsp", edge_weight_format="UPPER_ROW")
    problem.write(tmp_path / "d.tsp", edge_weight_format="LOWER_DIAG_ROW")
    np.testing.assert_array_equal(TSP.read(tmp_path / "d.tsp").dist, dist)
    with pytest.raises(ValueError, match="allowed"):
        problem.write(tmp_path / "d.tsp", edge_weight_format="UPPER_COL")


# --------------------------------------------------------------------------- reading variants

HEADER = "NAME : t\nTYPE : TSP\nDIMENSION : 3\n"
COORDS = "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 0\n"


@pytest.mark.parametrize(
    "lines",
    [
        "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n",
        "NAME : t\nTYPE :TSP\nDIMENSION:3\nEDGE_WEIGHT_TYPE  :  EUC_2D\n",
        "name : t\ntype : tsp\nDIMENSION 3\nEDGE_WEIGHT_TYPE EUC_2D\n",
    ],
)
def test_header_spellings(tmp_path, lines):
    problem = read_text(tmp_path, lines + "COMMENT : any text: here\n" + COORDS + "EOF\n")
    np.testing.assert_array_equal(problem.dist[0], [0, 5, 6])
    assert problem.name == "t" and problem.best_known is None


def test_sections_in_any_order_wrapped_and_display_data_skipped(tmp_path):
    text = (
        "NAME : w\nTYPE : TSP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT : UPPER_ROW\nDISPLAY_DATA_TYPE : TWOD_DISPLAY\n"
        "EDGE_WEIGHT_SECTION\n1 2\n3 4 5\n\n6\n"
        "DISPLAY_DATA_SECTION\n1 0 0\n2 1 1\n3 2 2\n4 3 3\n"
    )  # no EOF line: optional
    problem = read_text(tmp_path, text)
    expected = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]])
    np.testing.assert_array_equal(problem.dist, expected)
    assert problem.coords is None


def test_nodes_may_come_in_any_order(tmp_path):
    text = HEADER + "EDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n3 6 0\n1 0 0\n2 3 4\nEOF\n"
    problem = read_text(tmp_path, text)
    np.testing.assert_array_equal(problem.coords, [[0, 0], [3, 4], [6, 0]])


# --------------------------------------------------------------------------- comments


def test_other_comments_do_not_set_best_known(tmp_path):
    text = HEADER + "COMMENT : optimum 3323\nEDGE_WEIGHT_TYPE : EUC_2D\n" + COORDS
    assert read_text(tmp_path, text).best_known is None
    text = HEADER + "COMMENT : best_known 11\nEDGE_WEIGHT_TYPE : EUC_2D\n" + COORDS
    assert read_text(tmp_path, text).best_known == 11


# --------------------------------------------------------------------------- generators


def test_euclidean_generator():
    """Seeding, names and sizes of both generators: test_problem_contract."""
    a = TSP.generate(seed=4, n=30, kind="euclidean")
    assert a.edge_weight_type == "EUC_2D"
    assert a.coords.min() >= 0 and a.coords.max() < 1000
    np.testing.assert_array_equal(a.coords, np.round(a.coords))
    diff = a.coords[:, None] - a.coords[None]
    np.testing.assert_array_equal(a.dist, np.floor(np.hypot(diff[..., 0], diff[..., 1]) + 0.5))


def test_random_generator():
    a = TSP.generate(seed=4, n=30, kind="random")
    assert a.edge_weight_type == "EXPLICIT" and a.coords is None
    np.testing.assert_array_equal(a.dist, a.dist.T)
    np.testing.assert_array_equal(np.diagonal(a.dist), 0)
    off = a.dist[np.triu_indices(30, 1)]
    assert off.min() >= 1 and off.max() < 1000


def test_constructor_computes_distances_from_coordinates():
    """What the constructor refuses: test_problem_contract."""
    coords = np.array([[0.0, 0], [3, 4], [6, 0]])
    problem = TSP(coords=coords, edge_weight_type="CEIL_2D")
    np.testing.assert_array_equal(problem.dist[0], [0, 5, 6])
