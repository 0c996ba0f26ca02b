"""The Solver seam: ``solve(target, seed=..., **params) -> SolveResult`` plus declared parameters.

``target`` is a Problem (classical solvers use its own formulation) or a BinaryProgram.
Solutions are always bitstrings over the target program's variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qbench.errors import ConfigError

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
class Param:
    """One declared solver parameter: its type, default, help and (optionally) allowed values."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None

    def coerce(self, raw: Any, solver: str) -> Any:
        """Turn a CLI/TOML value into this parameter's type, or raise ConfigError naming it."""
        if raw is None:
            return None
        try:
            if self.type is bool and isinstance(raw, str):
                low = raw.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value = low in ("1", "true", "yes", "on")
            elif isinstance(raw, str) and raw.strip().lower() in ("none", "null", ""):
                value = None
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"solver {solver!r}: parameter {self.name}={raw!r} is not a valid "
                f"{self.type.__name__}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"solver {solver!r}: parameter {self.name}={raw!r} not allowed; "
                f"allowed: {', '.join(map(str, self.choices))}"
            )
        return value


@dataclass(frozen=True)
class Solver:
    """A registered solver: its name, solve function and declared parameters."""

    name: str
    solve: Callable[..., SolveResult]
    params: tuple[Param, ...]
    description: str

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate and coerce user parameters; defaults fill in the rest."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            allowed = ", ".join(sorted(known)) or "(none)"
            raise ConfigError(
                f"solver {self.name!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"allowed: {allowed}"
            )
        out = {p.name: p.default for p in self.params}
        for key, value in raw.items():
            out[key] = known[key].coerce(value, self.name)
        return out
