"""Instance specs: one string names a file, a shipped instance, or a seeded generator call.

Forms: ``path/to/file.tsp`` · ``KIND:path`` (force the reader) · ``hp1`` (shipped, see
``qbench instances``) · ``KIND:key=value,key=value`` (generator, e.g. ``mdkp:n=12,m=3,seed=1``).
A file holding several instances (OR-Library mknap) takes ``#K`` after its path: the K-th
instance (1-based) or the one named K, e.g. ``mknap1.txt#3`` or ``mdkp:mknap1.txt#3``.
"""

from __future__ import annotations

from pathlib import Path

from qbench.errors import ConfigError
from qbench.instances import load_shipped, shipped
from qbench.problems import PROBLEMS, Problem, generate, read, split_selector


def parse_params(text: str, where: str) -> dict[str, str]:
    """``key=value,key=value`` → dict; a malformed item raises ConfigError naming it."""
    params: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected key=value, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def load_spec(spec: str) -> Problem:
    """The problem a spec names (see the module docstring for the forms)."""
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    if sep and kind.lower() in PROBLEMS:
        if "=" in rest:
            try:
                return generate(kind, **parse_params(rest, f"spec {spec!r}"))
            except ConfigError as exc:
                if spec in str(exc):
                    raise
                raise ConfigError(f"spec {spec!r}: {exc}") from None
        return read(rest, kind.lower())
    if spec in shipped():
        return load_shipped(spec)
    if Path(spec).exists() or split_selector(spec)[0].is_file():
        return read(spec)
    raise ConfigError(
        f"unknown instance {spec!r}: not a file (or FILE#K, instance K of a multi-instance "
        "file), not a shipped instance (`qbench instances`), not a generator spec like "
        f"'mdkp:n=12,m=3,seed=1' (problems: {', '.join(sorted(PROBLEMS))})"
    )
