"""Declared parameters of every pluggable component: typed, defaulted, validated, parsed once.

Problems' generators, encoders, preprocessors, solvers and backends all declare their
parameters as :class:`Param` tuples, so a user's ``--set key=value``, generator spec or suite
TOML value is checked against the declaration up front, with the allowed names and values in the
message, never deep inside a run. A parameter's type is a Python type (``int``, ``float``,
``str``, ``bool``, ``dict``), a union (:class:`OneOf`, e.g. ``"auto" | "tight" | number``) or a
list (:class:`ListOf`, e.g. a comma list of angles); :meth:`Component.parse_params` turns raw
text or TOML values into those types once, and components receive parsed values.

Names and words are forgiving where that cannot change a result and strict where it could: a
value matching one of a parameter's choices but for case (``optimizer=cobyla``) is that choice,
in its declared spelling (so run ids, which hash the parsed values, do not change), while an
unknown value, parameter name or registry name is refused with the allowed ones and, when one
is close (:func:`difflib.get_close_matches`), "did you mean 'X'?".
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from qbench.errors import ConfigError

T = TypeVar("T")

#: text that means "no value" for a parameter that is not a plain string choice
NULL_WORDS = ("none", "null", "")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def closest(word: Any, options: Iterable[Any]) -> str | None:
    """The option (as text) closest to ``word`` by :func:`difflib.get_close_matches`, compared
    case-insensitively; None when none is close or ``word`` is not text."""
    if not isinstance(word, str):
        return None
    spelled: dict[str, str] = {}
    for option in options:
        spelled.setdefault(str(option).lower(), str(option))
    found = difflib.get_close_matches(word.strip().lower(), list(spelled), n=1)
    return spelled[found[0]] if found else None


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """``"; did you mean 'X'?"`` with the option :func:`closest` to ``word``, or "" when none is
    close: the tail of the messages refusing an unknown name or value."""
    match = closest(word, options)
    return "" if match is None else f"; did you mean {match!r}?"


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

    def words(self) -> list[str]:
        """The literal words among the alternatives (what a "did you mean" can suggest)."""
        return [alt for alt in self.alternatives if isinstance(alt, str)]


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
    #: False for a parameter added after runs were stored: at its default it stays out of run
    #: ids (and the row's params), so the ids of those runs do not change
    id_default: bool = True

    def __post_init__(self) -> None:
        if self.bounds is not None:
            interval(self.bounds)  # a malformed declaration fails at import

    def choice(self, raw: Any) -> tuple[Any, ...]:
        """``(the choice raw names,)``: ``raw`` itself when it is one of :attr:`choices`, else
        the one text choice equal to it but for case and surrounding blanks (``"cobyla"`` names
        ``"COBYLA"``); ``()`` when it names none (or several)."""
        if self.choices is None:
            return ()
        try:
            if raw in self.choices:
                return (raw,)
        except TypeError:  # unhashable values are compared by == only; nothing to match
            return ()
        if not isinstance(raw, str):
            return ()
        word = raw.strip().lower()
        same = [c for c in self.choices if isinstance(c, str) and c.lower() == word]
        return (same[0],) if len(same) == 1 else ()

    def coerce(self, raw: Any, owner: str) -> Any:
        """Turn a CLI/TOML value into this parameter's type, or raise ConfigError naming it;
        a choice given in another case comes back in its declared spelling."""
        if raw is None:
            return None
        chosen = self.choice(raw)
        try:
            if self.type is bool:
                value = parse_bool(raw)
            elif chosen:
                value = chosen[0]  # e.g. the choice "none", not the null value
            elif isinstance(raw, str) and raw.strip().lower() in NULL_WORDS:
                value = None
            elif self.type in (int, float):
                value = parse_number(self.type, raw)
            else:
                value = self.type(raw)
        except (TypeError, ValueError):
            if isinstance(self.type, OneOf | ListOf | Positive):
                words = self.type.words() if isinstance(self.type, OneOf) else []
                raise ConfigError(
                    f"{owner}: {self.name} must be {describe(self.type)}, got {raw!r}"
                    f"{did_you_mean(raw, words)}"
                ) from None
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} is not a valid {describe(self.type)}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{owner}: parameter {self.name}={raw!r} not allowed; "
                f"allowed: {', '.join(map(str, self.choices))}{did_you_mean(raw, self.choices)}"
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
    """Validate and coerce ``raw`` against declared ``params`` (ConfigError naming ``owner``,
    the allowed names and the closest to each unknown one); defaults fill in the rest. Names
    are exact (``maxIter`` is refused, with "did you mean 'maxiter'?")."""
    known = {p.name: p for p in params}
    unknown = sorted(set(raw) - set(known), key=str)
    if unknown:
        allowed = ", ".join(sorted(known)) or "(none)"
        raise ConfigError(
            f"{owner}: unknown parameter(s) {', '.join(map(str, unknown))}; allowed: {allowed}"
            f"{_suggestions(unknown, known)}"
        )
    out = {p.name: p.default for p in params}
    for key, value in raw.items():
        out[key] = known[key].coerce(value, owner)
    return out


def _suggestions(unknown: list[Any], known: Iterable[str]) -> str:
    """The "did you mean" tail for unknown names: ``; did you mean 'maxiter'?`` for one,
    ``; did you mean 'maxiter' for 'maxiters', 'shots' for 'shot'?`` for several."""
    known = list(known)
    if len(unknown) == 1:
        return did_you_mean(unknown[0], known)
    pairs = [(closest(name, known), name) for name in unknown]
    hints = [f"{match!r} for {str(name)!r}" for match, name in pairs if match is not None]
    return f"; did you mean {', '.join(hints)}?" if hints else ""


def lookup(registry: Mapping[str, T], name: str, what: str, also: tuple[str, ...] = ()) -> T:
    """The entry of a component registry called ``name``, or ConfigError ``unknown <what>
    'name'; allowed: ...`` listing ``also`` (words accepted elsewhere, e.g. "none") and the
    registered names, plus "did you mean 'X'?" when one is close. Names are exact: a run
    records the name it was given, so ``QAOA`` is refused ("did you mean 'qaoa'?")."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        names = [*also, *sorted(registry)]
        raise ConfigError(
            f"unknown {what} {name!r}; allowed: {', '.join(names)}{did_you_mean(name, names)}"
        ) from None
