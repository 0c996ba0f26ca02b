"""The Solver seam: ``solve(target, seed=..., **params) -> SolveResult`` plus declared parameters.

``target`` is a Problem (classical solvers use its own formulation) or a BinaryProgram.
Solutions are always bitstrings over the target program's variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qbench.hardware.base import Work
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
    """A registered solver: its name, declared parameters, description and solve function, and
    what it needs and costs, which the run pipeline, dry runs and suites ask instead of testing
    its name."""

    solve: Callable[..., SolveResult] = None
    #: True when it runs on an unconstrained QUBO, so a run puts an encoder in front of it
    #: (``qubo`` when none is named)
    needs_qubo: bool = False
    #: True when its answer does not depend on the seed (an exact method)
    deterministic: bool = False
    #: the kind of circuit it runs on a backend (``hardware.base.ANSATZ_KINDS``: "qaoa",
    #: "circuit", "pauli"), None when it runs no circuit; backends size memory per kind
    ansatz: str | None = None
    #: physical qubits it needs for a QUBO and its parameters, when that is not the QUBO's bit
    #: count (the qubit-compressed PCE and QRAO)
    qubits: Callable[[BinaryProgram, dict[str, Any]], int] | None = None
    #: what one run asks of a backend (measurement bases, evaluations, shots) for a QUBO and its
    #: parameters; dry runs turn it into device usage
    work: Callable[[BinaryProgram, dict[str, Any]], Work] | None = None
    #: extra keyword inputs it needs from the ORIGINAL problem's binary program, beyond the
    #: QUBO (e.g. the one-hot groups of an XY mixer); indexed by the problem's variables, so a
    #: preprocessor that merges variables cannot run before it
    inputs: Callable[[BinaryProgram], dict[str, Any]] | None = None

    role = "solver"

    def physical_qubits(self, qubo: BinaryProgram, params: dict[str, Any]) -> int:
        """The qubits its circuits act on for this QUBO and parameters."""
        return qubo.n_vars if self.qubits is None else int(self.qubits(qubo, params))


@dataclass(frozen=True)
class MetaSolver(Component):
    """A solver that drives an inner solver: ``solve(target, *, inner, inner_params, seed,
    **params) -> SolveResult`` (the Lagrangian multiplier search solves one QUBO per
    iteration with the inner solver). An encoder names the meta-solver that drives it
    (``Encoder.meta_solver``)."""

    solve: Callable[..., SolveResult] = None

    role = "solver"
