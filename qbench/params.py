"""Declared parameters of pluggable components (solvers, encoders): typed, defaulted, validated.

A user's ``--set key=value`` or suite TOML value is checked against the declaration, so a typo
or a bad value fails up front with the allowed names and values, never deep inside a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qbench.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One declared parameter: its type, default, help and (optionally) allowed values."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None

    def coerce(self, raw: Any, owner: str) -> Any:
        """Turn a CLI/TOML value into this parameter's type, or raise ConfigError naming it."""
        if raw is None:
            return None
        try:
            if self.type is bool and isinstance(raw, str):
                low = raw.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value = low in ("1", "true", "yes", "on")
            elif self.choices is not None and raw in self.choices:
                value = raw  # e.g. the choice "none", not the null value
            elif isinstance(raw, str) and raw.strip().lower() in ("none", "null", ""):
                value = None
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} is not a valid {self.type.__name__}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} not allowed; "
                f"allowed: {', '.join(map(str, self.choices))}"
            )
        return value


@dataclass(frozen=True)
class Component:
    """A named, registered piece (solver, encoder) with declared parameters."""

    name: str
    params: tuple[Param, ...]
    description: str

    #: how errors name this kind of component, e.g. "solver 'mip'"
    role = "component"

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate and coerce user parameters; defaults fill in the rest."""
        owner = f"{self.role} {self.name!r}"
        known = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            allowed = ", ".join(sorted(known)) or "(none)"
            raise ConfigError(
                f"{owner}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}"
            )
        out = {p.name: p.default for p in self.params}
        for key, value in raw.items():
            out[key] = known[key].coerce(value, owner)
        return out
