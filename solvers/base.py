"""The Solver seam: ``solve(target, seed=..., **params) -> SolveResult`` plus declared parameters.

``target`` is a Problem (classical solvers use its own formulation) or a BinaryProgram.
Solutions are always bitstrings over the target program's variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qbench.params import Component
from qbench.program import BinaryProgram

STATUSES = ("optimal", "feasible", "timeout", "infeasible", "error")


@dataclass
class SolveResult:
    """What a solver returns: the best solution found and how it got there."""

    x: np.ndarray | None
    status: str
    objective: float | None = None
    bound: float | None = None
    n_evaluations: int | None = None
    iterations: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} not in {STATUSES}")
        if self.x is not None:
            self.x = np.asarray(self.x, dtype=np.int8)


@dataclass(frozen=True)
class Solver(Component):
    """A registered solver: its name, declared parameters, description and solve function."""

    solve: Callable[..., SolveResult] = None
    #: physical qubits the solver needs for a QUBO and its parameters, when that is not the
    #: QUBO's bit count (the qubit-compressed solvers PCE and QRAO); used by dry runs
    qubits: Callable[[BinaryProgram, dict[str, Any]], int] | None = None

    role = "solver"
