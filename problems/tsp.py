"""Symmetric travelling salesman (TSPLIB 95): visit n cities once each, minimising the tour length.

A solution is the n×n position matrix x (row-major, variable ``c*n + t``), x[c, t] = 1 when city
c is visited at tour position t; as a permutation, ``perm[c]`` is the position of city c, so the
visiting order is ``argsort(perm)``. Distances follow the TSPLIB 95 definitions exactly.

Reading: a trailing ``.tsp`` in NAME is dropped (ulysses16's NAME is "ulysses16.tsp"); sections
qbench cannot use (fixed edges, tours, CVRP and HCP data) are refused with the reason; every
weight lies within ``10**12`` and every coordinate within :data:`MAX_COORDINATE`; DIMENSION is
checked against the data and the memory of the n×n distances and the n²-variable program.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import ClassVar

import networkx as nx
import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError, InstanceFormatError, ResourceError
from qbench.memory import memory_shortfall
from qbench.params import Param
from qbench.problems.base import PermutationProblem, check_seed
from qbench.program import BinaryProgram, as_rows
from qbench.textio import (
    MAX_COUNT,
    MAX_VALUE,
    check_values,
    format_number,
    looks_numeric,
    parse_int,
    parse_real,
    read_text,
    show_value,
)

#: edge weight types computed from node coordinates
COORD_TYPES = ("EUC_2D", "CEIL_2D", "GEO", "ATT")
#: every supported EDGE_WEIGHT_TYPE
EDGE_WEIGHT_TYPES = (*COORD_TYPES, "EXPLICIT")
#: supported EDGE_WEIGHT_FORMATs of EXPLICIT instances
EDGE_WEIGHT_FORMATS = ("FULL_MATRIX", "UPPER_ROW", "LOWER_ROW", "UPPER_DIAG_ROW", "LOWER_DIAG_ROW")
#: generator models of :meth:`TSP.generate`
TSP_KINDS = ("euclidean", "random")

_HEADER_KEYS = (
    "NAME",
    "TYPE",
    "COMMENT",
    "DIMENSION",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "NODE_COORD_TYPE",
    "DISPLAY_DATA_TYPE",
)
_SECTIONS = ("NODE_COORD_SECTION", "EDGE_WEIGHT_SECTION", "DISPLAY_DATA_SECTION")
#: sections qbench does not read, and why (what the section holds)
_UNSUPPORTED_SECTIONS = {
    "FIXED_EDGES_SECTION": "fixed edges (edges every tour must contain) are not supported",
    "TOUR_SECTION": "tours belong in a .tour file, not in a TSP instance",
    "DEPOT_SECTION": "depots are vehicle-routing (CVRP) data; only TYPE: TSP is supported",
    "DEMAND_SECTION": "demands are vehicle-routing (CVRP) data; only TYPE: TSP is supported",
    "EDGE_DATA_SECTION": "edge lists are graph data (HCP); only TYPE: TSP is supported",
}
#: largest |coordinate|: every distance between two such points stays within MAX_VALUE
#: (|dx|, |dy| <= MAX_VALUE / 2, so the Euclidean distance is <= 0.71 MAX_VALUE)
MAX_COORDINATE = MAX_VALUE // 4
#: bytes of temporaries one block of distance rows may take (see :func:`coord_distances`)
_BLOCK_BYTES = 1 << 25
_FORMATS = "a TSPLIB 95 file (NAME, TYPE : TSP, DIMENSION, EDGE_WEIGHT_TYPE, a data section)"
_BEST_KNOWN = re.compile(r"^best_known\s+(\S+)\s*$")
_MIN_CITIES = 3


def _nint(values: np.ndarray) -> np.ndarray:
    """TSPLIB's nint: (int)(x + 0.5)."""
    return np.floor(values + 0.5)


def _distance_block(
    xy: np.ndarray, rad: np.ndarray | None, a: int, b: int, kind: str
) -> np.ndarray:
    """TSPLIB distances from the points a..b-1 to the points a..n-1, shape (b-a, n-a)."""
    if kind == "GEO":
        lat, lon = rad[:, 0], rad[:, 1]
        q1 = np.cos(lon[a:b, None] - lon[None, a:])
        q2 = np.cos(lat[a:b, None] - lat[None, a:])
        q3 = np.cos(lat[a:b, None] + lat[None, a:])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        return np.trunc(6378.388 * np.arccos(arg) + 1.0)
    dx = xy[a:b, None, 0] - xy[None, a:, 0]
    dy = xy[a:b, None, 1] - xy[None, a:, 1]
    sq = dx**2 + dy**2
    if kind == "EUC_2D":
        return _nint(np.sqrt(sq))
    if kind == "CEIL_2D":
        return np.ceil(np.sqrt(sq))
    r = np.sqrt(sq / 10.0)  # ATT
    t = _nint(r)
    return np.where(t < r, t + 1.0, t)


def coord_distances(coords: np.ndarray, edge_weight_type: str) -> np.ndarray:
    """The TSPLIB 95 distance matrix of node coordinates (zero diagonal, exactly symmetric).

    Computed in blocks of rows, each only against the points after it (the upper triangle, then
    mirrored), so the only n×n array is the result: no n×n×2 difference array.
    """
    if edge_weight_type not in COORD_TYPES:
        raise ValueError(
            f"edge weight type {edge_weight_type!r} is not computed from coordinates; "
            f"allowed: {', '.join(COORD_TYPES)}"
        )
    xy = np.asarray(coords, dtype=float)
    n = xy.shape[0]
    rad = None
    if edge_weight_type == "GEO":
        deg = np.trunc(xy)
        rad = 3.141592 * (deg + 5.0 * (xy - deg) / 3.0) / 180.0
    dist = np.zeros((n, n))
    rows = max(1, _BLOCK_BYTES // (64 * max(n, 1)))  # ~8 temporaries of rows × n floats
    for a in range(0, n, rows):
        b = min(n, a + rows)
        block = _distance_block(xy, rad, a, b, edge_weight_type)
        block[:, : b - a] = np.triu(block[:, : b - a], k=1)  # keep j > i only
        dist[a:b, a:] = block
        dist[b:, a:b] = block[:, b - a :].T
        dist[a:b, a:b] += block[:, : b - a].T
    return dist


def _triangle(n: int, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Row/column indices, in file order, of the entries an EXPLICIT format lists."""
    if fmt == "FULL_MATRIX":
        rows, cols = np.indices((n, n))
        return rows.ravel(), cols.ravel()
    if fmt == "UPPER_ROW":
        return np.triu_indices(n, 1)
    if fmt == "LOWER_ROW":
        return np.tril_indices(n, -1)
    if fmt == "UPPER_DIAG_ROW":
        return np.triu_indices(n, 0)
    if fmt == "LOWER_DIAG_ROW":
        return np.tril_indices(n, 0)
    raise ValueError(
        f"unknown EDGE_WEIGHT_FORMAT {fmt!r}; allowed: {', '.join(EDGE_WEIGHT_FORMATS)}"
    )


class TSP(PermutationProblem):
    """A symmetric TSP instance: ``dist`` (n×n), optional ``coords`` and their TSPLIB weight type.

    Pass ``dist`` directly (EXPLICIT), or ``coords`` with a coordinate ``edge_weight_type`` and
    let the distances be computed by the TSPLIB rule (given both, they must agree).
    """

    kind: ClassVar[str] = "tsp"
    #: generator parameters (``qbench generate tsp ...``, specs ``tsp:n=8``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed", bounds="[0, inf)"),
        Param("n", int, 8, "cities", bounds="[3, inf)"),
        Param("kind", str, "euclidean", "EUC_2D points or symmetric random distances", TSP_KINDS),
    )
    extension: ClassVar[str] = ".tsp"
    sense: ClassVar[str] = "min"
    #: rotating a closed tour does not change its length: brute force fixes city 0 at position 0
    perm_symmetric_start: ClassVar[bool] = True

    def __init__(
        self,
        dist: np.ndarray | None = None,
        coords: np.ndarray | None = None,
        edge_weight_type: str = "EXPLICIT",
        name: str = "",
        best_known: float | None = None,
    ):
        if edge_weight_type not in EDGE_WEIGHT_TYPES:
            raise ValueError(
                f"edge_weight_type {edge_weight_type!r} not supported; "
                f"allowed: {', '.join(EDGE_WEIGHT_TYPES)}"
            )
        source = dist if dist is not None else coords
        if source is not None and np.ndim(source) == 2:  # before any n×n array is built
            why = self.cities_refusal(int(np.shape(source)[0]))
            if why:
                raise ConfigError(f"{self.kind}: {why}")
        if coords is not None:
            coords = np.array(coords, dtype=float)
            if coords.ndim != 2 or coords.shape[1] != 2 or not np.all(np.isfinite(coords)):
                raise ValueError(f"coords must be a finite (n, 2) array, got shape {coords.shape}")
            big = np.abs(coords) > MAX_COORDINATE
            if big.any():
                raise ValueError(
                    f"coordinate {show_value(coords[big][0])} is beyond the limit "
                    f"|coordinate| <= {MAX_COORDINATE:,} (distances must stay within 10**12)"
                )
        if dist is None:
            if coords is None or edge_weight_type not in COORD_TYPES:
                raise ValueError(
                    "give dist, or coords with an edge_weight_type in " + ", ".join(COORD_TYPES)
                )
            n = coords.shape[0]
            why = memory_shortfall(f"the {n:,}×{n:,} distance matrix", 8 * n * n + _BLOCK_BYTES)
            if why:
                raise ResourceError(why)
            dist = coord_distances(coords, edge_weight_type)
            given = False
        else:
            given = True
        dist = np.array(dist, dtype=float)
        if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
            raise ValueError(f"dist must be a square matrix, got shape {dist.shape}")
        if dist.shape[0] < _MIN_CITIES:
            raise ValueError(f"a TSP needs at least {_MIN_CITIES} cities, got {dist.shape[0]}")
        if not np.all(np.isfinite(dist)):
            raise ValueError("dist must be finite")
        check_values(dist, "distance")
        if not np.array_equal(dist, dist.T):
            raise ValueError("dist must be symmetric (asymmetric TSP is not supported)")
        if coords is not None:
            if coords.shape[0] != dist.shape[0]:
                raise ValueError(f"coords has {coords.shape[0]} rows, dist {dist.shape[0]}")
            if (
                given
                and edge_weight_type in COORD_TYPES
                and not np.array_equal(dist, coord_distances(coords, edge_weight_type))
            ):
                raise ValueError(f"dist does not match the {edge_weight_type} distances of coords")
        self.dist = dist
        self.coords = coords
        self.edge_weight_type = edge_weight_type
        self.name = name
        self.best_known = None if best_known is None else float(best_known)

    @property
    def perm_size(self) -> int:
        return self.dist.shape[0]

    def size(self) -> dict[str, int]:
        """The number of cities."""
        return {"n": self.perm_size}

    def to_program(self) -> BinaryProgram:
        """min sum_t sum_{u!=v} dist[u,v] x[u,t] x[v,t+1 mod n] s.t. x is an assignment matrix."""
        n = self.perm_size
        off_diag = self.dist.copy()
        np.fill_diagonal(off_diag, 0.0)
        # kron(dist, S)[u*n+t, v*n+s] = dist[u,v] * S[t,s], S the cyclic successor t -> t+1.
        succ = sp.csr_matrix((np.ones(n), (np.arange(n), (np.arange(n) + 1) % n)), shape=(n, n))
        quadratic = sp.kron(sp.csr_matrix(off_diag), succ, format="csr")
        return self.assignment_program(quadratic, "city", "position")

    def permutation_costs(self, perms: np.ndarray) -> np.ndarray | float:
        """Closed tour length of each row of a (k, n) array of positions (perm[c] = position)."""
        P, single = self.perm_rows(perms)
        tours = np.argsort(P, axis=1)
        costs = self.dist[tours, np.roll(tours, -1, axis=1)].sum(axis=1)
        return float(costs[0]) if single else costs

    def tour_length(self, tour: np.ndarray) -> float:
        """Closed length of a tour given as the visiting order of the cities (0-based)."""
        tour = np.asarray(tour, dtype=np.intp)
        return float(self.dist[tour, np.roll(tour, -1)].sum())

    @classmethod
    def cities_refusal(cls, n: int) -> str | None:
        """Why this formulation refuses n cities whatever the memory (None: it takes them);
        checked by the generator, the reader (before the data is parsed) and the constructor."""
        return None

    @classmethod
    def estimate_bytes(cls, n: int) -> int:  # type: ignore[override]
        """~72 bytes per entry of the program's n²(n−1) quadratic terms (its Kronecker product's
        temporaries and CSR) and ~400 per distance (the matrix, its tokens, assignment rows)."""
        return 72 * n**3 + 400 * n**2

    @classmethod
    def read(cls, path: str | Path) -> TSP:
        """Parse a TSPLIB 95 symmetric TSP file (EUC_2D, CEIL_2D, GEO, ATT or EXPLICIT).

        DIMENSION is checked against the data the file holds, then against the memory the n×n
        distances and the n²-variable program need, before either is built.
        """
        return _TsplibReader(path, cls).parse()

    def write(self, path: str | Path, edge_weight_format: str | None = None) -> None:
        """Save in TSPLIB 95 format: coordinates when the weights come from them, else EXPLICIT.

        ``edge_weight_format`` forces an EXPLICIT section in that format (default FULL_MATRIX).
        """
        n = self.perm_size
        name = self.name or Path(path).stem
        if any(ch in name for ch in "\n\r"):
            raise ValueError("the instance name must be a single line")
        lines = [f"NAME : {name}", "TYPE : TSP"]
        if self.best_known is not None:
            lines.append(f"COMMENT : best_known {format_number(self.best_known)}")
        lines.append(f"DIMENSION : {n}")
        use_coords = (
            edge_weight_format is None
            and self.coords is not None
            and self.edge_weight_type in COORD_TYPES
        )
        if use_coords:
            lines.append(f"EDGE_WEIGHT_TYPE : {self.edge_weight_type}")
            lines.append("NODE_COORD_SECTION")
            lines += [
                f"{i + 1} {format_number(x)} {format_number(y)}"
                for i, (x, y) in enumerate(self.coords)
            ]
        else:
            fmt = edge_weight_format or "FULL_MATRIX"
            if fmt not in EDGE_WEIGHT_FORMATS:
                raise ValueError(
                    f"unknown edge_weight_format {fmt!r}; allowed: {', '.join(EDGE_WEIGHT_FORMATS)}"
                )
            if fmt in ("UPPER_ROW", "LOWER_ROW") and np.any(np.diagonal(self.dist) != 0):
                raise ValueError(f"{fmt} cannot hold the non-zero diagonal of this matrix")
            lines += ["EDGE_WEIGHT_TYPE : EXPLICIT", f"EDGE_WEIGHT_FORMAT : {fmt}"]
            lines.append("EDGE_WEIGHT_SECTION")
            rows, cols = _triangle(n, fmt)
            values = self.dist[rows, cols]
            # one matrix row per line, as in the published files
            breaks = np.flatnonzero(np.diff(rows)) + 1
            for chunk in np.split(values, breaks):
                if chunk.size:
                    lines.append(" ".join(format_number(v) for v in chunk))
        lines.append("EOF")
        Path(path).write_text("\n".join(lines) + "\n")

    @classmethod
    def generate(cls, seed: int = 0, n: int = 8, kind: str = "euclidean") -> TSP:
        """A random instance: 'euclidean' (integer points in [0,1000)², EUC_2D) or 'random'."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < _MIN_CITIES:
            raise ConfigError(
                f"{cls.kind} generator: n must be an integer >= {_MIN_CITIES}, got {n!r}"
            )
        if kind not in TSP_KINDS:
            raise ConfigError(
                f"{cls.kind} generator: unknown kind {kind!r}; allowed: {', '.join(TSP_KINDS)}"
            )
        check_seed(cls.kind, seed)
        n = int(n)
        why = cls.cities_refusal(n)
        if why:
            raise ConfigError(f"{cls.kind} generator: {why}")
        cls.check_generator_size(n=n)
        rng = np.random.default_rng(seed)
        name = f"tsp-{kind}-n{n}-s{seed}"
        if kind == "euclidean":
            coords = rng.integers(0, 1000, size=(n, 2)).astype(float)
            return cls(coords=coords, edge_weight_type="EUC_2D", name=name)
        upper = np.triu(rng.integers(1, 1000, size=(n, n)), k=1)
        return cls(dist=(upper + upper.T).astype(float), edge_weight_type="EXPLICIT", name=name)


#: the most subtour elimination rows :class:`TSPDegree` writes out (n = 13 needs 4,004, n = 14
#: 8,086): beyond it the program, and the penalty QUBO's slack register, grow too fast to use
MAX_SUBTOUR_ROWS = 5000
#: sizes above this are refused without counting their rows exactly (n = 14 already exceeds)
_COUNT_CITIES = 64


def edge_index(i: np.ndarray | int, j: np.ndarray | int, n: int) -> np.ndarray | int:
    """Index of the undirected edge (i, j), i < j, among the n(n−1)/2 edges in lexicographic
    order (0,1), (0,2), …, (0,n−1), (1,2), …"""
    return i * n - i * (i + 1) // 2 + (j - i - 1)


def subtour_subsets(n: int) -> list[tuple[int, ...]]:
    """The city sets S of the subtour elimination rows: 3 <= |S| <= n/2, and for |S| == n/2 only
    the sets that hold city 0 (S and its complement cut the same edges), lexicographically."""
    subsets = []
    for k in range(3, n // 2 + 1):
        combos = itertools.combinations(range(n), k)
        subsets += [s for s in combos if 2 * k < n or s[0] == 0]
    return subsets


def subtour_row_count(n: int) -> int:
    """The number of :func:`subtour_subsets` of n cities, counted without listing them."""
    rows = sum(math.comb(n, k) for k in range(3, (n - 1) // 2 + 1))
    if n % 2 == 0 and n // 2 >= 3:
        rows += math.comb(n - 1, n // 2 - 1)
    return rows


class TSPDegree(TSP):
    """The same symmetric TSP in the degree-constrained (edge) formulation, kind "tsp_degree".

    Variables: one binary ``x_i_j`` per undirected edge i < j, in lexicographic order
    (:func:`edge_index`), n(n−1)/2 of them. ``min Σ d_ij x_ij`` subject to the degree equalities
    ``degree_v``: ``Σ_{e ∋ v} x_e == 2`` for every city v, and the Dantzig–Fulkerson–Johnson
    subtour elimination inequalities ``subtour_<cities of S>``: ``Σ_{e ⊂ S} x_e <= |S| − 1`` for
    every S with 3 <= |S| <= n/2 (at |S| = n/2 only the S holding city 0: under the degree rows
    S and its complement give the same cut). A subtour needs at least 3 cities, and one of a
    subtour and the rest has at most n/2, so the feasible points are exactly the Hamiltonian
    cycles, each once (n = 5: no subtour rows; 6: 10; 7: 35; 8: 91).

    This is the formulation of the "Cutting Slack" paper (arXiv:2507.12159): its inequalities
    need log-binary slack qubits in a penalty QUBO (``ceil(log2 |S|)`` per row) but none in a
    slack-free (Lagrangian, unbalanced) encoding, unlike the position formulation ``tsp``
    (n² variables, equalities only).

    Instances come from the same generator and TSPLIB reader as :class:`TSP`: ``tsp_degree:
    n=6,seed=0`` has the cities (and the name) of ``tsp:n=6,seed=0``; ``tsp_degree:FILE.tsp``
    reads a TSPLIB file. The number of subtour rows grows like C(n, n/2), so instances that
    would need more than :data:`MAX_SUBTOUR_ROWS` rows (n >= 14) are refused with a
    ConfigError naming n and the row count, by the generator, the reader and the constructor.

    As a permutation problem it shares :class:`TSP`'s permutations (``perm[c]`` = position of
    city c): brute force enumerates tours, ``perm_to_x`` gives a tour's edge vector and
    ``x_to_perm`` the tour of an edge vector that is a Hamiltonian cycle.
    """

    kind: ClassVar[str] = "tsp_degree"

    @property
    def n_edges(self) -> int:
        n = self.perm_size
        return n * (n - 1) // 2

    @classmethod
    def cities_refusal(cls, n: int) -> str | None:
        """Why n cities are refused: more than :data:`MAX_SUBTOUR_ROWS` subtour rows."""
        if n <= _COUNT_CITIES:
            rows = subtour_row_count(n)
            if rows <= MAX_SUBTOUR_ROWS:
                return None
            count = f"{rows:,}"
        else:
            count = f"more than {math.comb(n, 3):,}"
        largest = max(k for k in range(3, 30) if subtour_row_count(k) <= MAX_SUBTOUR_ROWS)
        return (
            f"n={n:,} cities need {count} subtour elimination rows (every city set S with "
            f"3 <= |S| <= n/2); the {cls.kind} formulation is limited to {MAX_SUBTOUR_ROWS:,} "
            f"rows (n <= {largest}); use 'tsp' (the position formulation, n² variables, no "
            "subtour rows) for larger instances"
        )

    @classmethod
    def estimate_bytes(cls, n: int) -> int:  # type: ignore[override]
        """~400 bytes per distance (the matrix and its tokens), ~48 per nonzero of the rows
        (COO triplets, CSR) and ~200 per variable and row (names, bounds, senses)."""
        if n > _COUNT_CITIES:
            return 1 << 62  # refused by the row limit long before
        edges = n * (n - 1) // 2
        rows = subtour_row_count(n)
        nnz = 2 * edges  # degree rows
        for k in range(3, n // 2 + 1):  # rows of |S| = k, at n/2 only those holding city 0
            sets = math.comb(n - 1, k - 1) if 2 * k == n else math.comb(n, k)
            nnz += sets * math.comb(k, 2)
        return 400 * n * n + 48 * nnz + 200 * (edges + n + rows)

    def to_program(self) -> BinaryProgram:
        """min Σ d_ij x_ij s.t. degree 2 at every city and the subtour rows (class docstring)."""
        n, m = self.perm_size, self.n_edges
        iu, ju = np.triu_indices(n, 1)
        rows = [np.concatenate([iu, ju])]  # degree rows: city v in edge e
        cols = [np.concatenate([np.arange(m), np.arange(m)])]
        names = [f"degree_{v}" for v in range(n)]
        rhs = [np.full(n, 2.0)]
        offset = n
        for k in range(3, n // 2 + 1):
            subsets = np.array([s for s in subtour_subsets(n) if len(s) == k], dtype=np.intp)
            if subsets.size == 0:
                continue
            a, b = np.triu_indices(k, 1)  # the pairs of cities of S, in increasing order
            edges = edge_index(subsets[:, a], subsets[:, b], n)  # (rows, C(k, 2))
            ids = offset + np.arange(len(subsets))
            rows.append(np.repeat(ids, a.size))
            cols.append(edges.ravel())
            rhs.append(np.full(len(subsets), k - 1.0))
            names += ["subtour_" + "_".join(map(str, s)) for s in subsets.tolist()]
            offset += len(subsets)
        r, c = np.concatenate(rows), np.concatenate(cols)
        A = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(offset, m))
        return BinaryProgram(
            linear=self.dist[iu, ju],
            A=A,
            b=np.concatenate(rhs),
            senses=("==",) * n + ("<=",) * (offset - n),
            sense="min",
            var_names=[f"x_{i}_{j}" for i, j in zip(iu.tolist(), ju.tolist(), strict=True)],
            constraint_names=names,
            name=self.name,
        )

    # ---- tours and edge vectors -------------------------------------------------------------

    def perms_to_x(self, perms: np.ndarray) -> np.ndarray:
        """The edge vectors (k, n(n−1)/2) of the tours of a (k, n) array of positions."""
        P, _ = self.perm_rows(perms)
        n = self.perm_size
        tours = np.argsort(P, axis=1)
        nxt = np.roll(tours, -1, axis=1)
        lo, hi = np.minimum(tours, nxt), np.maximum(tours, nxt)
        X = np.zeros((len(P), self.n_edges), dtype=bool)
        X[np.arange(len(P))[:, None], edge_index(lo, hi, n)] = True
        return X

    def perm_to_x(self, perm: np.ndarray) -> np.ndarray:
        """The edge vector of a tour given as positions (``perm[c]`` = position of city c)."""
        return self.perms_to_x(np.asarray(perm)[None, :])[0].astype(float)

    def tour_of(self, x: np.ndarray) -> np.ndarray | None:
        """The visiting order of an edge vector that is a Hamiltonian cycle (from city 0 towards
        its smaller neighbour), else None."""
        n = self.perm_size
        X, _ = as_rows(x, self.n_edges)
        if X.shape[0] != 1 or not np.all((X == 0) | (X == 1)):
            return None
        iu, ju = np.triu_indices(n, 1)
        chosen = X[0] == 1
        degree = np.bincount(np.concatenate([iu[chosen], ju[chosen]]), minlength=n)
        if not np.all(degree == 2):
            return None
        neighbours = [[] for _ in range(n)]
        for i, j in zip(iu[chosen].tolist(), ju[chosen].tolist(), strict=True):
            neighbours[i].append(j)
            neighbours[j].append(i)
        tour, prev, cur = [0], 0, min(neighbours[0])
        while cur != 0:
            tour.append(cur)
            a, b = neighbours[cur]
            prev, cur = cur, (b if a == prev else a)
        return np.array(tour, dtype=np.intp) if len(tour) == n else None

    def x_to_perm(self, x: np.ndarray) -> np.ndarray:
        """The positions of the tour of an edge vector (a Hamiltonian cycle; else ValueError),
        city 0 at position 0."""
        tour = self.tour_of(x)
        if tour is None:
            raise ValueError("bitstring is not the edge vector of a Hamiltonian cycle")
        perm = np.empty(self.perm_size, dtype=np.intp)
        perm[tour] = np.arange(self.perm_size)
        return perm

    # ---- repair and local search --------------------------------------------------------------

    def repair(self, x: np.ndarray) -> np.ndarray:
        """A Hamiltonian cycle keeping x's edges where it can: greedy edge insertion over x's
        edges (shortest first), then the other edges (shortest first), each taken when both
        ends have degree < 2 and it closes no cycle (union-find), until a Hamiltonian path
        remains, closed by the edge between its ends. A tour comes back as it is."""
        n, m = self.perm_size, self.n_edges
        x = np.asarray(x, dtype=float).ravel()
        if x.size != m:
            raise ValueError(f"expected bitstrings of length {m}, got shape {x.shape}")
        if self.tour_of(x) is not None:
            return x.copy()
        iu, ju = np.triu_indices(n, 1)
        weight = self.dist[iu, ju]
        order = np.lexsort((np.arange(m), weight, x <= 0.5))  # x's edges, then by length
        components = nx.utils.UnionFind(range(n))
        degree = np.zeros(n, dtype=int)
        y = np.zeros(m)
        taken = 0
        for e in order.tolist():
            if taken == n - 1:
                break
            i, j = int(iu[e]), int(ju[e])
            if degree[i] == 2 or degree[j] == 2:
                continue
            if components[i] == components[j]:
                continue
            components.union(i, j)
            degree[i] += 1
            degree[j] += 1
            y[e] = 1.0
            taken += 1
        ends = np.flatnonzero(degree == 1)  # the Hamiltonian path's two ends
        y[edge_index(int(ends[0]), int(ends[1]), n)] = 1.0
        return y

    def local_search(self, x: np.ndarray) -> np.ndarray:
        """One round of 2-opt from a tour x: for each tour position i in order, the best
        reversal of the segment after it (replace edges (a, b), (c, d) by (a, c), (b, d)),
        taken when it shortens the tour. Never worse; a non-tour comes back unchanged."""
        x = np.asarray(x).astype(np.int8).copy()
        tour = self.tour_of(x) if x.ndim == 1 and x.size == self.n_edges else None
        if tour is None:
            return x
        n, d = self.perm_size, self.dist
        for i in range(n - 2):
            js = np.arange(i + 2, n if i > 0 else n - 1)  # (a, b) and (c, d) not adjacent
            if js.size == 0:
                continue
            a, b = tour[i], tour[i + 1]
            c, e = tour[js], tour[(js + 1) % n]
            delta = d[a, c] + d[b, e] - d[a, b] - d[c, e]
            k = int(np.argmin(delta))
            if delta[k] < -1e-9:
                j = int(js[k])
                tour[i + 1 : j + 1] = tour[i + 1 : j + 1][::-1].copy()
        perm = np.empty(n, dtype=np.intp)
        perm[tour] = np.arange(n)
        return self.perm_to_x(perm).astype(np.int8)


class _TsplibReader:
    """One pass over a TSPLIB file: header keywords, then numeric sections, checked at the end."""

    def __init__(self, path: str | Path, cls: type[TSP] | None = None):
        self.path = Path(path)
        #: the class built from the file (TSP, or a formulation of the same data such as
        #: TSPDegree); its size limit and memory estimate are the ones checked
        self.cls = cls or TSP
        self.lines = read_text(self.path, _FORMATS).splitlines()
        self.header: dict[str, tuple[str, int]] = {}
        self.best_known: float | None = None
        #: section name -> (line of the keyword, [(line number, tokens)] of its data lines)
        self.sections: dict[str, tuple[int, list[tuple[int, list[str]]]]] = {}

    def error(self, message: str, line: int | None) -> InstanceFormatError:
        return InstanceFormatError(message, self.path, line)

    def parse(self) -> TSP:
        if not any(line.strip() for line in self.lines):
            raise self.error(f"empty file: missing TYPE header; expected {_FORMATS}", None)
        current: list[tuple[int, list[str]]] | None = None
        seen_eof = False
        for number, raw in enumerate(self.lines, start=1):
            tokens = raw.split()
            if not tokens:
                continue
            if seen_eof:
                raise self.error(f"unexpected data after EOF: {raw.strip()!r}", number)
            if current is not None and looks_numeric(tokens[0]):
                current.append((number, tokens))
                continue
            current = None
            key, value = _split_keyword(raw)
            if key == "EOF":
                seen_eof = True
            elif key in _SECTIONS:
                if key in self.sections:
                    raise self.error(f"duplicate {key}", number)
                if "DIMENSION" not in self.header:
                    raise self.error(f"{key} before DIMENSION: expected DIMENSION first", number)
                current = []
                self.sections[key] = (number, current)
            elif key in _UNSUPPORTED_SECTIONS:
                raise self.error(f"unsupported section {key}: {_UNSUPPORTED_SECTIONS[key]}", number)
            elif key in _HEADER_KEYS:
                self._header(key, value, number)
            elif looks_numeric(tokens[0]):
                raise self.error(f"numbers {raw.strip()!r} outside a data section", number)
            else:
                raise self.error(
                    f"unknown keyword {key!r}; expected one of "
                    f"{', '.join(_HEADER_KEYS + _SECTIONS)} or EOF",
                    number,
                )
        return self._build()

    def _header(self, key: str, value: str, line: int) -> None:
        if key == "COMMENT":
            self._comment(value, line)
            return
        if key in self.header:
            raise self.error(f"duplicate {key}", line)
        if not value:
            raise self.error(f"{key} has no value", line)
        word = value.split()[0].upper()
        if key == "TYPE" and word != "TSP":
            raise self.error(f"unsupported TYPE {value!r}: only TSP (symmetric) is supported", line)
        if key == "DIMENSION":
            value = str(
                parse_int(
                    value,
                    "DIMENSION",
                    self.path,
                    line,
                    min_value=_MIN_CITIES,
                    max_value=MAX_COUNT,
                    reals=False,
                    expected="an integer DIMENSION",
                )
            )
        if key == "EDGE_WEIGHT_TYPE" and word not in EDGE_WEIGHT_TYPES:
            raise self.error(
                f"unsupported EDGE_WEIGHT_TYPE {value!r}; supported: "
                f"{', '.join(EDGE_WEIGHT_TYPES)}",
                line,
            )
        if key == "EDGE_WEIGHT_FORMAT" and word not in (*EDGE_WEIGHT_FORMATS, "FUNCTION"):
            raise self.error(
                f"unsupported EDGE_WEIGHT_FORMAT {value!r}; supported: "
                f"{', '.join(EDGE_WEIGHT_FORMATS)}",
                line,
            )
        if key == "NODE_COORD_TYPE" and word not in ("TWOD_COORDS", "NO_COORDS"):
            raise self.error(
                f"unsupported NODE_COORD_TYPE {value!r}; supported: TWOD_COORDS, NO_COORDS", line
            )
        self.header[key] = (value if key in ("NAME", "DIMENSION") else word, line)

    def _require(self, key: str) -> tuple[str, int]:
        if key not in self.header:
            last = len(self.lines) or None
            raise self.error(f"missing {key} header", last)
        return self.header[key]

    def _check_memory(self, n: int) -> None:
        """Refuse, at the DIMENSION line, an instance whose distances and program won't fit."""
        why = self.cls.memory_refusal(n=n)
        if why:
            raise self.error(f"DIMENSION {n:,}: {why}", self.header["DIMENSION"][1])

    def _build(self) -> TSP:
        self._require("TYPE")
        n = int(self._require("DIMENSION")[0])
        why = self.cls.cities_refusal(n)
        if why:  # before the data is parsed or the distances built
            raise ConfigError(f"{self.path}: {why}")
        ew_type, _ = self._require("EDGE_WEIGHT_TYPE")
        coords = None
        if ew_type == "EXPLICIT":
            fmt, fmt_line = self._require("EDGE_WEIGHT_FORMAT")
            if fmt not in EDGE_WEIGHT_FORMATS:
                raise self.error(
                    f"EDGE_WEIGHT_FORMAT {fmt} does not fit EXPLICIT weights; supported: "
                    f"{', '.join(EDGE_WEIGHT_FORMATS)}",
                    fmt_line,
                )
            dist = self._edge_weights(n, fmt)
        else:
            if "EDGE_WEIGHT_SECTION" in self.sections:
                raise self.error(
                    f"EDGE_WEIGHT_SECTION given but EDGE_WEIGHT_TYPE is {ew_type}: "
                    "expected EXPLICIT weights or coordinates, not both",
                    self.sections["EDGE_WEIGHT_SECTION"][0],
                )
            coords = self._coords(n)
            self._check_memory(n)
        if "NODE_COORD_SECTION" in self.sections and coords is None:
            self._coords(n)  # validated, but EXPLICIT weights do not use them
        name = re.sub(r"\.tsp$", "", self.header.get("NAME", ("", 0))[0], flags=re.IGNORECASE)
        name = name or self.path.stem
        best = self.best_known
        try:
            if coords is not None:
                return self.cls(coords=coords, edge_weight_type=ew_type, name=name, best_known=best)
            return self.cls(dist=dist, edge_weight_type="EXPLICIT", name=name, best_known=best)
        except ValueError as exc:  # checked above; kept so that no ValueError escapes a read
            raise self.error(str(exc), None) from None

    def _comment(self, text: str, line: int) -> None:
        """Pick up ``COMMENT : best_known <v>`` (written by TSP.write); other comments are free."""
        match = _BEST_KNOWN.match(text)
        if not match:
            return
        if self.best_known is not None:
            raise self.error("duplicate best_known comment", line)
        token = match.group(1)
        if not looks_numeric(token) and not token.lower().lstrip("+-").startswith(("inf", "nan")):
            raise self.error(f"expected a number after best_known, got {token!r}", line)
        self.best_known = parse_real(token, "best_known", self.path, line)

    def _section(self, key: str) -> tuple[int, list[tuple[int, list[str]]]]:
        if key not in self.sections:
            last = len(self.lines) or None
            raise self.error(f"missing {key} (required by EDGE_WEIGHT_TYPE)", last)
        return self.sections[key]

    def _coords(self, n: int) -> np.ndarray:
        start, rows = self._section("NODE_COORD_SECTION")
        seen: dict[int, tuple[float, float]] = {}
        for line, tokens in rows:
            if len(tokens) != 3:
                raise self.error(
                    f"expected 'id x y' in NODE_COORD_SECTION, got {len(tokens)} values", line
                )
            node = _parse_int(tokens[0], "node id", self.path, line)
            if not 1 <= node <= n:
                raise self.error(f"node id {node} out of range 1..{n} (DIMENSION)", line)
            if node in seen:
                raise self.error(f"duplicate node id {node}", line)
            what = f"coordinate of node {node}"
            x, y = (
                parse_real(tok, what, self.path, line, limit=MAX_COORDINATE) for tok in tokens[1:]
            )
            seen[node] = (x, y)
        if len(seen) < n:  # ids are distinct and in range, so exactly n means all present
            missing = next(k for k in range(1, n + 1) if k not in seen)
            raise self.error(
                f"NODE_COORD_SECTION ends after {len(seen)} of {n} nodes (missing id {missing})",
                rows[-1][0] if rows else start,
            )
        return np.array([seen[k] for k in range(1, n + 1)], dtype=float)

    def _edge_weights(self, n: int, fmt: str) -> np.ndarray:
        """The EXPLICIT matrix: its count checked, then its memory, then read into place."""
        start, rows = self._section("EDGE_WEIGHT_SECTION")
        counts = np.array([len(tokens) for _, tokens in rows], dtype=np.int64)
        ends = np.cumsum(counts)  # number of values up to and including each row

        def line_of(index: int) -> int:
            return rows[int(np.searchsorted(ends, index, side="right"))][0]

        total = int(ends[-1]) if rows else 0
        expected = {
            "FULL_MATRIX": n * n,
            "UPPER_ROW": n * (n - 1) // 2,
            "LOWER_ROW": n * (n - 1) // 2,
            "UPPER_DIAG_ROW": n * (n + 1) // 2,
            "LOWER_DIAG_ROW": n * (n + 1) // 2,
        }[fmt]
        if total != expected:
            where = line_of(expected) if total > expected else (rows[-1][0] if rows else start)
            raise self.error(
                f"EDGE_WEIGHT_SECTION has {total} numbers, expected {expected} "
                f"for {fmt} with DIMENSION {n}",
                where,
            )
        self._check_memory(n)
        weights = np.empty(expected)
        k = 0
        for line, tokens in rows:
            for tok in tokens:
                weights[k] = parse_real(tok, "edge weight", self.path, line)
                k += 1
        r, c = _triangle(n, fmt)
        dist = np.zeros((n, n))
        dist[r, c] = weights
        if fmt == "FULL_MATRIX":
            bad = np.flatnonzero(dist.ravel() != dist.T.ravel())
            if bad.size:
                i, j = divmod(int(bad[0]), n)
                raise self.error(
                    f"FULL_MATRIX is not symmetric (d[{i + 1}][{j + 1}]={format_number(dist[i, j])}"
                    f" but d[{j + 1}][{i + 1}]={format_number(dist[j, i])}); "
                    "asymmetric TSP is not supported",
                    line_of(int(bad[0])),
                )
        else:
            dist[c, r] = weights
        return dist


def _split_keyword(raw: str) -> tuple[str, str]:
    """``KEY : VALUE`` (any spacing around the colon, or no colon) -> (KEY upper-cased, VALUE)."""
    if ":" in raw:
        key, value = raw.split(":", 1)
        key = key.strip()
        if " " in key or "\t" in key:  # e.g. "NAME foo: bar" -> keyword is the first word
            key, rest = key.split(None, 1)
            value = f"{rest}:{value}"
    else:
        parts = raw.split(None, 1)
        key, value = parts[0], parts[1] if len(parts) > 1 else ""
    return key.upper(), value.strip()


def _parse_int(token: str, what: str, path: Path, line: int) -> int:
    """A plain integer (digits, no real spelling) such as a node id."""
    return parse_int(
        token, what, path, line, max_value=None, reals=False, expected=f"an integer {what}"
    )
