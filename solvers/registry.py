"""The solver registry: every solver a run can name (``--solver``), looked up by
:func:`get_solver`. A new solver is one module declaring a :class:`~.base.Solver` plus its line
here."""

from __future__ import annotations

from qbench.params import lookup
from qbench.solvers import brute, dwave_sa, mip, pce, qaoa, qrao, sa, vqe
from qbench.solvers.base import Solver

SOLVERS: dict[str, Solver] = {
    s.name: s
    for s in (
        mip.SOLVER,
        brute.SOLVER,
        sa.SOLVER,
        dwave_sa.SOLVER,
        *qaoa.SOLVERS,
        *vqe.SOLVERS,
        pce.PCE,
        qrao.QRAO,
    )
}


def get_solver(name: str) -> Solver:
    """The registered solver of this name, or ConfigError listing the names."""
    return lookup(SOLVERS, name, "solver")
