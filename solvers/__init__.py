"""Solvers: classical baselines now (mip, brute, sa); quantum solvers join in later issues.

``get_solver(name)`` is the one way to look a solver up; it lists the names on a typo.
"""

from __future__ import annotations

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.solvers import brute, mip, qaoa, sa, vqe
from qbench.solvers.base import Solver, SolveResult

SOLVERS: dict[str, Solver] = {
    s.name: s for s in (mip.SOLVER, brute.SOLVER, sa.SOLVER, *qaoa.SOLVERS, *vqe.SOLVERS)
}
#: solvers that need a QUBO (an encoder): the variational quantum ones
QUANTUM_SOLVERS = frozenset(s.name for s in (*qaoa.SOLVERS, *vqe.SOLVERS))

__all__ = ["QUANTUM_SOLVERS", "SOLVERS", "Param", "SolveResult", "Solver", "get_solver"]


def get_solver(name: str) -> Solver:
    """The registered solver of this name, or ConfigError listing the names."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown solver {name!r}; allowed: {', '.join(sorted(SOLVERS))}"
        ) from None
