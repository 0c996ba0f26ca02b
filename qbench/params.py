"""Declared parameters of every pluggable component: typed, defaulted, validated, parsed once.

Problems' generators, encoders, preprocessors, solvers and backends all declare their
parameters as :class:`Param` tuples, so a user's ``--set key=value``, generator spec or suite
TOML value is checked against the declaration up front, with the allowed names and values in the
message, never deep inside a run. A parameter's type is a Python type (``int``, ``float``,
``str``, ``bool``, ``dict``), a union (:class:`OneOf`, e.g. ``"auto" | "tight" | number``) or a
list (:class:`ListOf`, e.g. a comma list of angles); :meth:`Component.parse_params` turns raw
text or TOML values into those types once, and components receive parsed values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from qbench.errors import ConfigError

T = TypeVar("T")

#: text that means "no value" for a parameter that is not a plain string choice
NULL_WORDS = ("none", "null", "")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def describe(kind: Any) -> str:
    """How messages name a parameter type: ``int``, ``'auto', 'tight' or a positive number``."""
    return getattr(kind, "description", None) or getattr(kind, "__name__", str(kind))


def parse_bool(raw: Any) -> bool:
    """A boolean from a bool or yes/no text (ValueError otherwise)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    raise ValueError(raw)


def parse_number(kind: type, raw: Any) -> Any:
    """``int(raw)`` or ``float(raw)``, refusing booleans and non-integral floats for ``int``."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if kind is int and isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    return kind(raw.strip() if isinstance(raw, str) else raw)


@dataclass(frozen=True)
class Positive:
    """A finite number > 0 (or >= 0 with ``zero=True``): a type usable inside :class:`OneOf`."""

    kind: type = float
    zero: bool = False

    @property
    def description(self) -> str:
        return "a non-negative number" if self.zero else "a positive number"

    def __call__(self, raw: Any) -> Any:
        value = parse_number(self.kind, raw)
        if not math.isfinite(value) or value < 0 or (value == 0 and not self.zero):
            raise ValueError(raw)
        return value


@dataclass(frozen=True)
class OneOf:
    """A union type: literal words and/or types, tried in order (``OneOf("auto", "tight",
    Positive())``); words match case-insensitively and are returned lower-case."""

    alternatives: tuple

    def __init__(self, *alternatives: Any) -> None:
        object.__setattr__(self, "alternatives", tuple(alternatives))

    @property
    def description(self) -> str:
        parts = [repr(a) if isinstance(a, str) else describe(a) for a in self.alternatives]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"

    def __call__(self, raw: Any) -> Any:
        if isinstance(raw, str):
            word = raw.strip().lower()
            for alt in self.alternatives:
                if isinstance(alt, str) and alt == word:
                    return alt
        for alt in self.alternatives:
            if isinstance(alt, str):
                continue
            try:
                return parse_number(alt, raw) if alt in (int, float) else alt(raw)
            except (TypeError, ValueError):
                continue
        raise ValueError(raw)


@dataclass(frozen=True)
class ListOf:
    """A list type: a list, or text of comma- (or semicolon-) separated items, each of ``item``
    type; one bare value is a list of one."""

    item: Callable[[Any], Any] = float

    @property
    def description(self) -> str:
        return f"a comma-separated list of {describe(self.item)}"

    def __call__(self, raw: Any) -> list:
        if isinstance(raw, str):
            items = [t for t in raw.replace(";", ",").split(",") if t.strip()]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        elif hasattr(raw, "tolist"):  # numpy arrays and scalars
            value = raw.tolist()
            items = value if isinstance(value, list) else [value]
        else:
            items = [raw]
        kind = self.item
        return [parse_number(kind, v) if kind in (int, float) else kind(v) for v in items]


_INTERVAL = re.compile(r"^\s*([\[(])\s*(-?inf|[-+0-9.e]+)\s*,\s*(-?inf|[-+0-9.e]+)\s*([\])])\s*$")


@cache
def interval(text: str) -> tuple[float, float, bool, bool]:
    """(low, high, low closed, high closed) of interval text like ``[1, inf)`` or ``(0, 1]``."""
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"not an interval: {text!r} (write e.g. '[0, inf)' or '(0, 1]')")
    left, low, high, right = match.groups()
    return float(low), float(high), left == "[", right == "]"


def in_interval(value: float, text: str) -> bool:
    """True when ``value`` lies in the interval ``text``."""
    low, high, low_closed, high_closed = interval(text)
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    return above and below


@dataclass(frozen=True)
class Param:
    """One declared parameter: its type, default, help, and (optionally) allowed values or the
    interval its numbers must lie in (``bounds="[1, inf)"``, ``"(0, 1]"``; list items each)."""

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple | None = None
    bounds: str | None = None

    def __post_init__(self) -> None:
        if self.bounds is not None:
            interval(self.bounds)  # a malformed declaration fails at import

    def coerce(self, raw: Any, owner: str) -> Any:
        """Turn a CLI/TOML value into this parameter's type, or raise ConfigError naming it."""
        if raw is None:
            return None
        try:
            if self.type is bool:
                value = parse_bool(raw)
            elif self.choices is not None and raw in self.choices:
                value = raw  # e.g. the choice "none", not the null value
            elif isinstance(raw, str) and raw.strip().lower() in NULL_WORDS:
                value = None
            elif self.type in (int, float):
                value = parse_number(self.type, raw)
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            if isinstance(self.type, OneOf | ListOf | Positive):
                raise ConfigError(
                    f"{owner}: {self.name} must be {describe(self.type)}, got {raw!r}"
                ) from None
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} is not a valid {describe(self.type)}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} not allowed; "
                f"allowed: {', '.join(map(str, self.choices))}"
            )
        if self.bounds is not None and not self.within(value):
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} out of range; allowed: {self.bounds}"
            )
        return value

    def within(self, value: Any) -> bool:
        """True when every number in ``value`` (a number or a list) lies in :attr:`bounds`."""
        items = value if isinstance(value, list) else [value]
        numbers = [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
        return all(in_interval(float(v), self.bounds) for v in numbers)


@dataclass(frozen=True)
class Component:
    """A named, registered piece (generator, encoder, preprocessor, solver) with parameters.

    ``check(params)`` (optional) validates what no single parameter can, e.g. that ``gammas``
    holds ``p`` angles; it raises ConfigError (prefixed with the component's name here) and
    runs on the whole parsed set, when a run is prepared."""

    name: str
    params: tuple[Param, ...]
    description: str
    check: Callable[[dict[str, Any]], None] | None = None

    #: how errors name this kind of component, e.g. "solver 'mip'"
    role = "component"

    @property
    def owner(self) -> str:
        """How messages name this component: ``solver 'mip'``."""
        return f"{self.role} {self.name!r}"

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate and coerce user parameters; defaults fill in the rest; then ``check``."""
        params = parse_params(self.params, raw, self.owner)
        if self.check is not None:
            try:
                self.check(params)
            except ConfigError as exc:
                raise ConfigError(f"{self.owner}: {exc}") from None
        return params


def parse_params(params: tuple[Param, ...], raw: dict[str, Any], owner: str) -> dict[str, Any]:
    """Validate and coerce ``raw`` against declared ``params`` (ConfigError naming ``owner``
    and the allowed names); defaults fill in the rest."""
    known = {p.name: p for p in params}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        allowed = ", ".join(sorted(known)) or "(none)"
        raise ConfigError(f"{owner}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
    out = {p.name: p.default for p in params}
    for key, value in raw.items():
        out[key] = known[key].coerce(value, owner)
    return out


def lookup(registry: Mapping[str, T], name: str, what: str, also: tuple[str, ...] = ()) -> T:
    """The entry of a component registry called ``name``, or ConfigError ``unknown <what>
    'name'; allowed: ...`` listing ``also`` (words accepted elsewhere, e.g. "none") and the
    registered names."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        allowed = ", ".join([*also, *sorted(registry)])
        raise ConfigError(f"unknown {what} {name!r}; allowed: {allowed}") from None
