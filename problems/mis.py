"""Maximum independent set: the largest set of vertices of a graph with no edge inside it.

A solution is the vertex bitstring x (variable ``v`` = node v, nodes 0..N-1). The program is
``max sum_v x_v  s.t.  x_u + x_v <= 1`` for every edge (u < v), one row ``e{u}_{v}`` each, in
sorted edge order.

Two file formats are read; the format is decided by content: a line starting with ``p`` means
DIMACS, anything else is a plain edge list.

* DIMACS edge format (written by :meth:`MIS.write`): ``c`` comment lines, one
  ``p edge N M`` line (``p col N M`` is accepted too) before any edge, then ``e u v`` lines with
  1-based node ids in 1..N. M must equal the number of ``e`` lines. A comment
  ``c best_known K`` sets ``best_known``.
* Plain edge list (written by :meth:`MIS.write_edgelist`): one edge ``u v`` per line, two
  non-negative 0-based integers; ``#`` starts a comment (whole line or trailing). There is no
  numeric header line (``N M`` would be indistinguishable from an edge): the node count is the
  largest id + 1, unless a directive comment ``# nodes N`` declares it (then ids must be < N;
  this keeps isolated high-numbered nodes). ``# best_known K`` sets ``best_known``.

In both formats self-loops are rejected, and a repeated edge (also reversed: ``u v`` then
``v u``) is merged into one, since some published DIMACS files list each edge in both
directions; in DIMACS the declared M still counts the ``e`` lines as written.

The node count (declared, or implied by the largest id) is checked against the memory its
graph and program need (:meth:`MIS.estimate_bytes`) before the graph is built.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import networkx as nx
import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import Param
from qbench.problems.base import Problem
from qbench.program import BinaryProgram
from qbench.textio import MAX_COUNT, format_number, parse_int, parse_real, read_text

_FORMATS = "a graph: a DIMACS edge file ('p edge N M', 'e u v') or a 0-based edge list ('u v')"

#: graph models of :meth:`MIS.generate`: random graphs, and Sloane's coding-theory graphs
MIS_MODELS = ("gnp", "regular", "unit_disk", "1tc", "1et", "1dc")
#: Sloane's coding-theory graphs ("Challenge Problems: Independent Sets in Graphs"): nodes are
#: the binary words of length k (n = 2^k), joined when one error of the kind can turn both into
#: the same word, so an independent set is a code correcting that error
CODE_GRAPHS = {
    "1tc": "a single transposition of adjacent bits",
    "1et": "a single transposition of adjacent bits, the last and first bits included",
    "1dc": "a single deletion",
}


class MIS(Problem):
    """A maximum independent set instance on ``graph`` (a networkx.Graph with nodes 0..N-1)."""

    kind: ClassVar[str] = "mis"
    #: generator parameters (``qbench generate mis ...``, specs ``mis:n=16,model=regular``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed"),
        Param("n", int, 16, "nodes", bounds="[1, inf)"),
        Param("model", str, "gnp", "graph model (1tc/1et/1dc: Sloane's, n = 2^k)", MIS_MODELS),
        Param("p", float, 0.3, "gnp: edge probability", bounds="[0, 1]"),
        Param("d", int, 3, "regular: degree", bounds="[0, inf)"),
        Param(
            "radius",
            float,
            0.3,
            "unit_disk: connection radius in the unit square",
            bounds="[0, inf)",
        ),
    )
    extension: ClassVar[str] = ".dimacs"
    sense: ClassVar[str] = "max"

    def __init__(self, graph: nx.Graph, name: str = "", best_known: float | None = None):
        nodes = list(graph.nodes)
        count = len(nodes)
        if count < 1:
            raise ValueError("the graph must have at least one node")
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in nodes)
        if not integral or set(nodes) != set(range(count)):
            raise ValueError(f"graph nodes must be the integers 0..{count - 1}")
        if nx.number_of_selfloops(graph):
            raise ValueError("the graph has self-loops; an independent set cannot use them")
        clean = nx.Graph()
        clean.add_nodes_from(range(count))
        clean.add_edges_from((int(u), int(v)) for u, v in graph.edges)
        self.graph = clean
        self.name = name
        self.best_known = None if best_known is None else float(best_known)

    def size(self) -> dict[str, int]:
        """The number of nodes n and of edges m."""
        return {"n": self.graph.number_of_nodes(), "m": self.graph.number_of_edges()}

    @property
    def edges(self) -> np.ndarray:
        """The edges as a sorted (M, 2) int array with u < v in each row."""
        pairs = np.array(sorted((min(e), max(e)) for e in self.graph.edges), dtype=np.intp)
        return pairs.reshape(-1, 2)

    def to_program(self) -> BinaryProgram:
        """max sum x s.t. x_u + x_v <= 1 for each edge u < v (rows 'e{u}_{v}', sorted)."""
        n = self.graph.number_of_nodes()
        edges = self.edges
        rows = np.repeat(np.arange(len(edges)), 2)
        A = sp.csr_matrix((np.ones(rows.size), (rows, edges.ravel())), shape=(len(edges), n))
        return BinaryProgram(
            linear=np.ones(n),
            A=A,
            b=np.ones(len(edges)),
            senses=("<=",) * len(edges),
            sense="max",
            var_names=[f"x{v}" for v in range(n)],
            constraint_names=[f"e{u}_{v}" for u, v in edges],
            name=self.name,
        )

    @cached_property
    def _adjacency(self) -> sp.csr_matrix:
        n = self.graph.number_of_nodes()
        return sp.csr_matrix(nx.to_scipy_sparse_array(self.graph, nodelist=range(n), dtype=int))

    def repair(self, x: np.ndarray) -> np.ndarray:
        """Drop the vertex with most conflicts until independent, then add min-degree vertices.

        The result is a maximal independent set; an independent input is only extended.
        """
        adj = self._adjacency
        n = adj.shape[0]
        chosen = np.asarray(x, dtype=float).ravel()
        if chosen.size != n:
            raise ValueError(f"expected a bitstring of length {n}, got {chosen.size} values")
        chosen = chosen > 0.5
        conflicts = np.where(chosen, adj @ chosen.astype(int), 0)
        while conflicts.max(initial=0) > 0:
            v = int(np.argmax(conflicts))  # most conflicts; ties to the lowest id
            chosen[v] = False
            nbrs = adj.indices[adj.indptr[v] : adj.indptr[v + 1]]
            conflicts[nbrs] -= chosen[nbrs]
            conflicts[v] = 0
        blocked = (adj @ chosen.astype(int)) > 0
        degree = np.diff(adj.indptr)
        for v in np.argsort(degree, kind="stable"):
            if not chosen[v] and not blocked[v]:
                chosen[v] = True
                blocked[adj.indices[adj.indptr[v] : adj.indptr[v + 1]]] = True
        return chosen.astype(np.int8)

    # ---- files --------------------------------------------------------------------------------

    @classmethod
    def estimate_bytes(cls, n: int, m: int) -> int:  # type: ignore[override]
        """~600 bytes per node and per edge: the networkx graph read and its clean copy, the
        edge list, the program's sparse rows and its variable and row names (measured)."""
        return 600 * (n + m)

    @classmethod
    def read(cls, path: str | Path) -> MIS:
        """Parse a DIMACS edge file or a plain 0-based edge list (see the module docstring).

        The node count (declared, or implied by the largest id) is checked against the memory
        its graph and program need before the graph is built.
        """
        path = Path(path)
        lines = read_text(path, _FORMATS).splitlines()
        first = next((line.split()[0] for line in lines if line.split()), None)
        if first is None:
            raise InstanceFormatError(f"empty file: expected {_FORMATS}", path)
        if any(line.split(None, 1)[:1] == ["p"] for line in lines):
            n, edges, best, where, line = _read_dimacs(lines, path)
        else:
            n, edges, best, where, line = _read_edgelist(lines, path)
        why = cls.memory_refusal(n=n, m=len(edges))
        if why:
            raise InstanceFormatError(f"{where}: {why}", path, line)
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(edges)
        del edges
        return cls(graph, name=path.stem, best_known=best)

    def write(self, path: str | Path) -> None:
        """Save in DIMACS edge format (1-based), with a 'c best_known K' line when known."""
        n, m = self.size()["n"], self.size()["m"]
        lines = []
        if self.best_known is not None:
            lines.append(f"c best_known {format_number(self.best_known)}")
        lines.append(f"p edge {n} {m}")
        lines += [f"e {u + 1} {v + 1}" for u, v in self.edges]
        Path(path).write_text("\n".join(lines) + "\n")

    def write_edgelist(self, path: str | Path) -> None:
        """Save as a plain 0-based edge list with '# nodes N' (and '# best_known K') directives."""
        lines = [f"# nodes {self.graph.number_of_nodes()}"]
        if self.best_known is not None:
            lines.append(f"# best_known {format_number(self.best_known)}")
        lines += [f"{u} {v}" for u, v in self.edges]
        Path(path).write_text("\n".join(lines) + "\n")

    # ---- generator ----------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        seed: int = 0,
        n: int = 16,
        model: str = "gnp",
        p: float = 0.3,
        d: int = 3,
        radius: float = 0.3,
    ) -> MIS:
        """A random graph: 'gnp' (G(n, p)), 'regular' (random d-regular) or 'unit_disk'; or
        one of Sloane's coding-theory graphs '1tc', '1et', '1dc' on n = 2^k nodes
        (:func:`code_graph`; the seed is not used).

        'unit_disk' places n points uniformly in the unit square and joins those at distance
        <= radius (networkx's random geometric graph). Only the chosen model's parameter is used.
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"mis generator: n must be an integer >= 1, got {n!r}")
        if model not in MIS_MODELS:
            raise ConfigError(
                f"mis generator: unknown model {model!r}; allowed: {', '.join(MIS_MODELS)}"
            )
        n = int(n)
        if model in CODE_GRAPHS:
            if n & (n - 1):
                raise ConfigError(f"mis generator: model {model} needs n = 2^k nodes, got n={n}")
            k = n.bit_length() - 1
            # a word's error ball holds <= k words, each in the balls of <= 2k words: m <= n k^2
            cls.check_generator_size(n=n, m=n * max(k, 1) ** 2)
            return cls(code_graph(model, k), name=f"mis-{model}-n{n}")
        if model == "gnp":
            if not _is_number(p) or not 0 <= p <= 1:
                raise ConfigError(f"mis generator: p must be a number in [0, 1], got {p!r}")
            cls.check_generator_size(n=n, m=math.ceil(float(p) * n * (n - 1) / 2))
            graph = nx.gnp_random_graph(n, float(p), seed=seed)
            name = f"mis-gnp-n{n}-p{p:g}-s{seed}"
        elif model == "regular":
            if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or not 0 <= d < n:
                raise ConfigError(
                    f"mis generator: d must be an integer with 0 <= d < n={n}, got {d!r}"
                )
            if (n * d) % 2:
                raise ConfigError(
                    f"mis generator: n*d must be even for a regular graph, got {n}*{d}"
                )
            cls.check_generator_size(n=n, m=n * int(d) // 2)
            graph = nx.random_regular_graph(int(d), n, seed=seed)
            name = f"mis-regular-n{n}-d{d}-s{seed}"
        else:
            if not _is_number(radius) or not 0 <= radius < np.inf:
                raise ConfigError(
                    f"mis generator: radius must be a finite number >= 0, got {radius!r}"
                )
            # expected edges without boundary effects: an upper estimate
            share = min(1.0, math.pi * float(radius) ** 2)
            cls.check_generator_size(n=n, m=math.ceil(share * n * (n - 1) / 2))
            graph = nx.random_geometric_graph(n, float(radius), seed=seed)
            name = f"mis-unit_disk-n{n}-r{radius:g}-s{seed}"
        return cls(graph, name=name)


def code_graph(model: str, k: int) -> nx.Graph:
    """Sloane's graph ``model`` (``CODE_GRAPHS``) on the 2^k binary words of length k: word w
    is node w, and two words are joined when the sets of words one error can make of them
    meet. Regenerates the published 1tc.*, 1et.* and 1dc.* files edge for edge."""
    n = 1 << k
    if model == "1dc":

        def ball(w: int) -> set:
            s = format(w, f"0{k}b") if k else ""
            return {s[:i] + s[i + 1 :] for i in range(k)}
    else:
        pairs = [(j, j + 1) for j in range(k - 1)]
        if model == "1et" and k > 2:
            pairs.append((k - 1, 0))

        def ball(w: int) -> set:
            swapped = {w ^ (1 << i) ^ (1 << j) for i, j in pairs if (w >> i & 1) != (w >> j & 1)}
            return {w} | swapped

    holders: dict = {}
    for w in range(n):
        for item in ball(w):
            holders.setdefault(item, []).append(w)
    graph = nx.empty_graph(n)
    for words in holders.values():
        graph.add_edges_from((u, v) for i, u in enumerate(words) for v in words[i + 1 :])
    return graph


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _best_known(tokens: list[str], line: int, path: Path) -> float:
    """The K of a 'best_known K' comment (tokens after the comment marker)."""
    if len(tokens) != 2:
        raise InstanceFormatError("expected 'best_known K' with one number K", path, line)
    return parse_real(tokens[1], "best_known K", path, line)


#: what a graph file's result of reading is: node count, edges (0-based), best known value, and
#: the text and line that set the node count (named when the graph would not fit)
_Read = tuple[int, list[tuple[int, int]], float | None, str, int | None]


def _read_dimacs(lines: list[str], path: Path) -> _Read:
    """The graph of a DIMACS edge file: nodes, edges, best_known, where the size was set."""
    n = None
    best = None
    declared = 0
    p_line = None
    edges: list[tuple[int, int]] = []
    for line, raw in enumerate(lines, start=1):
        toks = raw.split()
        if not toks:
            continue
        head = toks[0]
        if head == "c":
            if len(toks) > 1 and toks[1] == "best_known":
                best = _best_known(toks[1:], line, path)
            continue
        if head == "p":
            if n is not None:
                raise InstanceFormatError(f"second 'p' line (first on line {p_line})", path, line)
            if len(toks) != 4:
                raise InstanceFormatError("expected 'p edge N M'", path, line)
            if toks[1] not in ("edge", "col"):
                raise InstanceFormatError(
                    f"unsupported problem type {toks[1]!r} in the 'p' line: expected 'edge' "
                    "(or 'col')",
                    path,
                    line,
                )
            n = parse_int(toks[2], "the node count N", path, line, min_value=1)
            declared = parse_int(toks[3], "the edge count M", path, line, min_value=0)
            p_line = line
            continue
        if head == "e":
            if n is None:
                raise InstanceFormatError("edge line before the 'p edge N M' line", path, line)
            if len(toks) != 3:
                raise InstanceFormatError("expected 'e u v' with two node ids", path, line)
            u = _node_id(toks[1], "u", 1, n, line, path)
            v = _node_id(toks[2], "v", 1, n, line, path)
            if u == v:
                raise InstanceFormatError(f"self-loop on node {u + 1}", path, line)
            edges.append((u, v))
            continue
        raise InstanceFormatError(
            f"unsupported line type {head!r}: expected 'c', 'p edge N M' or 'e u v'", path, line
        )
    if n is None:
        raise InstanceFormatError(
            "no 'p edge N M' line: expected a DIMACS graph", path, len(lines) or None
        )
    if len(edges) != declared:
        raise InstanceFormatError(
            f"the 'p' line declares {declared} edges but the file has {len(edges)} 'e' lines",
            path,
            p_line,
        )
    return n, edges, best, f"'p edge {n} {declared}'", p_line


def _read_edgelist(lines: list[str], path: Path) -> _Read:
    """The graph of a plain 0-based edge list (see the module docstring)."""
    nodes = None
    nodes_line = None
    best = None
    edges: list[tuple[int, int]] = []
    edge_lines: list[int] = []
    last = None
    for line, raw in enumerate(lines, start=1):
        toks = raw.split()
        if not toks:
            continue
        last = line
        if toks[0].startswith("#"):
            directive = " ".join(toks).lstrip("#").split()
            if directive[:1] == ["nodes"]:
                if len(directive) != 2:
                    raise InstanceFormatError("expected '# nodes N' with one integer N", path, line)
                nodes = parse_int(directive[1], "the node count N", path, line, min_value=1)
                nodes_line = line
            elif directive[:1] == ["best_known"]:
                best = _best_known(directive, line, path)
            continue
        data = raw.split("#", 1)[0].split()
        if data and data[0] == "e":
            raise InstanceFormatError(
                "DIMACS 'e' line but no 'p edge N M' line: missing 'p' line", path, line
            )
        if len(data) != 2:
            raise InstanceFormatError(
                f"expected an edge 'u v' (two 0-based node ids), got {len(data)} values",
                path,
                line,
            )
        u = _node_id(data[0], "u", 0, None, line, path)
        v = _node_id(data[1], "v", 0, None, line, path)
        if u == v:
            raise InstanceFormatError(f"self-loop on node {u}", path, line)
        edges.append((u, v))
        edge_lines.append(line)
    if nodes is None:
        if not edges:
            raise InstanceFormatError(
                "no edges and no '# nodes N' line: expected a graph", path, last
            )
        top = max(range(len(edges)), key=lambda i: max(edges[i]))
        nodes = max(edges[top]) + 1
        where = f"node id {nodes - 1} implies {nodes:,} nodes (the largest id + 1)"
        return nodes, edges, best, where, edge_lines[top]
    for (u, v), line in zip(edges, edge_lines):
        if max(u, v) >= nodes:
            raise InstanceFormatError(
                f"node id {max(u, v)} out of range: '# nodes {nodes}' allows 0..{nodes - 1}",
                path,
                line,
            )
    return nodes, edges, best, f"'# nodes {nodes}'", nodes_line


def _node_id(token: str, what: str, base: int, n: int | None, line: int, path: Path) -> int:
    """One node id read as ``base``-based and returned 0-based, checked against 1..N / 0..N-1."""
    value = parse_int(token, f"node id {what}", path, line, max_value=None)
    last = n - 1 + base if n is not None else MAX_COUNT - 1
    if value < base or value > last:
        allowed = f"{base}..{last}" if n is not None else f">= {base}"
        if n is None and value > last:
            allowed = f"{base}..{last:,}"
        raise InstanceFormatError(f"node id {value} out of range: expected {allowed}", path, line)
    return value - base
