"""Solvers: classical (mip, brute, sa), variational (QAOA and VQE families) and qubit-compressed
(pce, qrao) ones.

``get_solver(name)`` is the one way to look a solver up; it lists the names on a typo.
"""

from __future__ import annotations

from dataclasses import replace

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.solvers import brute, mip, pce, qaoa, qrao, sa, vqe
from qbench.solvers.base import Solver, SolveResult


def _pce_qubits(qubo, params: dict) -> int:
    """PCE's qubits: the given n_qubits, else the smallest n with 3·C(n, k) >= N."""
    return params.get("n_qubits") or pce.qubits_for(qubo.n_vars, params.get("k") or 2)


def _qrao_qubits(qubo, params: dict) -> int:
    """QRAO's qubits: the colour classes of the QUBO's graph packed d variables per qubit."""
    encoding = params.get("encoding") or "3,1"
    return qrao.assign(qubo, qrao.ENCODINGS[encoding]).n_qubits


_QUANTUM = (
    *qaoa.SOLVERS,
    *vqe.SOLVERS,
    replace(pce.PCE, qubits=_pce_qubits),
    replace(qrao.QRAO, qubits=_qrao_qubits),
)
SOLVERS: dict[str, Solver] = {s.name: s for s in (mip.SOLVER, brute.SOLVER, sa.SOLVER, *_QUANTUM)}
#: solvers that need a QUBO (an encoder): the variational quantum ones
QUANTUM_SOLVERS = frozenset(s.name for s in _QUANTUM)

__all__ = ["QUANTUM_SOLVERS", "SOLVERS", "Param", "SolveResult", "Solver", "get_solver"]


def get_solver(name: str) -> Solver:
    """The registered solver of this name, or ConfigError listing the names."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown solver {name!r}; allowed: {', '.join(sorted(SOLVERS))}"
        ) from None
