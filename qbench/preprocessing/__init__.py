"""Preprocessors: stages between the encoder and the solver (graph shrinking, simplicial-node
removal).

``get_preprocessor(name)`` is the one way to look one up; ``"none"`` means no preprocessing. A
new preprocessor is one module declaring a :class:`Preprocessor` plus its line here.
"""

from __future__ import annotations

from qbench.params import lookup
from qbench.preprocessing.base import Preprocessor, Reduction
from qbench.preprocessing.shrink import PREPROCESSOR as SHRINK
from qbench.preprocessing.simplicial import PREPROCESSOR as SIMPLICIAL

PREPROCESSORS: dict[str, Preprocessor] = {p.name: p for p in (SHRINK, SIMPLICIAL)}

__all__ = [
    "PREPROCESSORS",
    "SHRINK",
    "SIMPLICIAL",
    "Preprocessor",
    "Reduction",
    "get_preprocessor",
    "labels",
]


def get_preprocessor(name: str) -> Preprocessor:
    """The registered preprocessor of this name, or ConfigError listing the names."""
    return lookup(PREPROCESSORS, name, "preprocess", also=("none",))


def labels() -> tuple[str, ...]:
    """Every value the rows' ``preprocess`` column can take (``none`` first)."""
    return ("none", *(label for p in PREPROCESSORS.values() for label in p.labels))
