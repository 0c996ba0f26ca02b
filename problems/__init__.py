"""Problems: MDKP, MIS, QAP, TSP, MSP — instances in their own terms, generators and readers.

``problem_class(kind)``, ``generate(kind, **params)`` and ``read(path, kind=None)`` are the one way
to get an instance from a name; the CLI and suites go through them.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from qbench.errors import ConfigError, InstanceFormatError
from qbench.problems.base import PermutationProblem, Problem
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP

PROBLEMS: dict[str, type[Problem]] = {cls.kind: cls for cls in (MDKP, MIS, QAP, TSP, MSP)}

#: file endings recognised when reading a path without an explicit problem kind
EXTENSIONS = {
    ".tsp": "tsp",
    ".msp": "msp",
    ".dimacs": "mis",
    ".col": "mis",
    ".clq": "mis",
    ".edges": "mis",
    ".edgelist": "mis",
}

__all__ = ["MDKP", "MIS", "MSP", "PROBLEMS", "QAP", "TSP", "PermutationProblem", "Problem"]


def problem_class(kind: str) -> type[Problem]:
    """The class of a problem kind, or ConfigError listing the kinds."""
    try:
        return PROBLEMS[kind.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown problem {kind!r}; allowed: {', '.join(sorted(PROBLEMS))}"
        ) from None


def generator_params(kind: str) -> dict[str, object]:
    """The generator parameters of a problem kind with their defaults."""
    sig = inspect.signature(problem_class(kind).generate)
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }


def _coerce(kind: str, key: str, raw: object, default: object) -> object:
    """Turn a text value into the type of the parameter's default (int, float, bool, str)."""
    if not isinstance(raw, str):
        return raw
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if default is None:
            for cast in (int, float):
                try:
                    return cast(raw)
                except ValueError:
                    pass
        return raw
    except ValueError:
        raise ConfigError(
            f"{kind} generator: {key}={raw!r} is not a valid {type(default).__name__}"
        ) from None


def generate(problem: str, /, **params: object) -> Problem:
    """A seeded random instance; unknown parameters are refused with the allowed ones listed."""
    cls = problem_class(problem)
    allowed = generator_params(cls.kind)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{cls.kind} generator: unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )
    values = {k: _coerce(cls.kind, k, v, allowed[k]) for k, v in params.items()}
    return cls.generate(**values)


def sniff_kind(path: Path) -> str:
    """Guess the problem kind of a file from its ending, or for '.dat' from its first line."""
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix == ".dat":
        try:
            with path.open() as fh:
                first = next((line.split() for line in fh if line.strip()), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceFormatError(f"cannot read file ({exc})", path) from None
        if len(first) == 1:
            return "qap"  # QAPLIB: n alone on the first line
        if len(first) == 3:
            return "mdkp"  # SAC-94: n m opt
    if suffix in (".txt", ""):
        return "mis"
    raise ConfigError(
        f"cannot tell the problem of {path}; name it as KIND:PATH with KIND in "
        f"{', '.join(sorted(PROBLEMS))}"
    )


def read(path: str | Path, kind: str | None = None) -> Problem:
    """Read an instance file, guessing its problem from the file when ``kind`` is not given."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such instance file: {path}")
    return problem_class(kind or sniff_kind(path)).read(path)
