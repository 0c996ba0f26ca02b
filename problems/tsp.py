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

import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError, InstanceFormatError, ResourceError
from qbench.memory import memory_shortfall
from qbench.params import Param
from qbench.problems.base import PermutationProblem, check_seed
from qbench.program import BinaryProgram
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
        return _TsplibReader(path).parse()

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
            raise ConfigError(f"tsp generator: n must be an integer >= {_MIN_CITIES}, got {n!r}")
        if kind not in TSP_KINDS:
            raise ConfigError(
                f"tsp generator: unknown kind {kind!r}; allowed: {', '.join(TSP_KINDS)}"
            )
        check_seed("tsp", seed)
        n = int(n)
        cls.check_generator_size(n=n)
        rng = np.random.default_rng(seed)
        name = f"tsp-{kind}-n{n}-s{seed}"
        if kind == "euclidean":
            coords = rng.integers(0, 1000, size=(n, 2)).astype(float)
            return cls(coords=coords, edge_weight_type="EUC_2D", name=name)
        upper = np.triu(rng.integers(1, 1000, size=(n, n)), k=1)
        return cls(dist=(upper + upper.T).astype(float), edge_weight_type="EXPLICIT", name=name)


class _TsplibReader:
    """One pass over a TSPLIB file: header keywords, then numeric sections, checked at the end."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
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
        why = TSP.memory_refusal(n=n)
        if why:
            raise self.error(f"DIMENSION {n:,}: {why}", self.header["DIMENSION"][1])

    def _build(self) -> TSP:
        self._require("TYPE")
        n = int(self._require("DIMENSION")[0])
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
                return TSP(coords=coords, edge_weight_type=ew_type, name=name, best_known=best)
            return TSP(dist=dist, edge_weight_type="EXPLICIT", name=name, best_known=best)
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
