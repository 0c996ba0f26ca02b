"""Solvers: classical (mip, brute, sa), variational (QAOA and VQE families), qubit-compressed
(pce, qrao), and meta-solvers that drive an inner solver (the Lagrangian multiplier search).

``get_solver(name)`` and ``get_meta_solver(name)`` are the one way to look them up; they list the
names on a typo. A new solver is one module declaring a :class:`Solver` plus its line in
:mod:`.registry`; a new meta-solver one module plus its line here.
"""

from __future__ import annotations

from qbench.params import Param, lookup
from qbench.solvers import lagrangian
from qbench.solvers.base import MetaSolver, Solver, SolveResult
from qbench.solvers.registry import SOLVERS, get_solver

#: solvers that drive an inner solver; an encoder names the one that drives it
META_SOLVERS: dict[str, MetaSolver] = {m.name: m for m in (lagrangian.SOLVER,)}

__all__ = [
    "META_SOLVERS",
    "SOLVERS",
    "MetaSolver",
    "Param",
    "SolveResult",
    "Solver",
    "get_meta_solver",
    "get_solver",
]


def get_meta_solver(name: str) -> MetaSolver:
    """The registered meta-solver of this name, or ConfigError listing the names."""
    return lookup(META_SOLVERS, name, "meta-solver")
