"""Simplicial-node removal for maximum independent set: fix what an optimum may contain before
the QUBO reaches a solver.

A node whose neighbours are pairwise adjacent (a *simplicial* node; an isolated node too) lies
in some maximum independent set: given any maximum set, swapping in the node for its at most
one chosen neighbour keeps the set independent and as large. So the node is fixed to 1 and its
neighbours to 0, the closed neighbourhood leaves the graph, and the rule repeats on what is
left, lowest node first (the comparative study, arXiv:2503.12121, removes them before building
the QUBO: 1dc.64 goes from 64 to 50 nodes). The rule stops before the graph would be empty, so
a solver always gets a qubit (on Sloane's 1tc graphs up to 64 nodes it would otherwise find the
whole optimum). Fixing folds exactly into the QUBO (:class:`qbench.shrinking.merge.FoldedQubo`),
and the answer is expanded to the full graph, where it is evaluated: gaps are against the full
graph's optimum, never the reduced one's.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from qbench.errors import ConfigError
from qbench.params import parse_params
from qbench.preprocessing.base import Preprocessor
from qbench.shrinking.merge import FoldedQubo, Groups, Shrunk


def simplicial_fixings(graph: nx.Graph) -> tuple[list[int], list[int]]:
    """(nodes fixed to 1, nodes fixed to 0) by repeated simplicial-node removal, lowest node
    first, stopping before the graph would be empty."""
    left = graph.copy()
    ones: list[int] = []
    zeros: list[int] = []
    found = True
    while found:
        found = False
        for v in sorted(left.nodes):
            near = sorted(left.neighbors(v))
            clique = all(left.has_edge(a, b) for i, a in enumerate(near) for b in near[i + 1 :])
            if clique and len(near) + 1 < left.number_of_nodes():
                ones.append(v)
                zeros += near
                left.remove_nodes_from([v, *near])
                found = True
                break
    return ones, zeros


def _graph(problem: Any) -> nx.Graph:
    graph = getattr(problem, "graph", None)
    if problem.kind != "mis" or graph is None:
        raise ConfigError(
            f"preprocess 'simplicial' works on maximum independent set graphs (problem mis), "
            f"not on {problem.kind}"
        )
    return graph


def apply(problem: Any, encoding: Any, options: dict[str, Any], seed: int) -> Shrunk:
    """The encoding's QUBO with the simplicial fixings folded in (``seed`` is not used)."""
    ones, zeros = simplicial_fixings(_graph(problem))
    qubo = encoding.qubo
    folded, groups = FoldedQubo(qubo), Groups.identity(qubo.n_vars)
    for node, value in [*((v, 1) for v in ones), *((v, 0) for v in zeros)]:
        folded.fold(folded.reference, node, value)
        groups.absorb(groups.reference, node, value)
    fixed = np.zeros(qubo.n_vars, dtype=bool)
    fixed[ones + zeros] = True
    kept = np.flatnonzero(~fixed)
    return Shrunk(original=qubo, qubo=folded.program(kept), kept=kept, groups=groups,
                  target=kept.size)  # fmt: skip


def size(options: dict[str, Any], n: int, problem: Any = None) -> int:
    """Qubits left of ``n``: the reduced graph's nodes plus any slack (n without a problem)."""
    if problem is None:
        return n
    ones, zeros = simplicial_fixings(_graph(problem))
    return n - len(ones) - len(zeros)


PREPROCESSOR = Preprocessor(
    name="simplicial",
    params=(),
    description="MIS: fix simplicial nodes to 1 and their neighbours to 0 (exact), then solve "
    "the rest",
    options=lambda raw: parse_params((), raw, "preprocessing 'simplicial'"),
    label=lambda options: "simplicial",
    labels=("simplicial",),
    size=size,
    apply=apply,
    implies_repair=False,
    deterministic=True,
    problems=("mis",),
)
