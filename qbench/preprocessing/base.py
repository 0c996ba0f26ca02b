"""The Preprocessor seam: a stage between the encoder and the solver that rewrites the QUBO's
variables (graph shrinking merges them), with the way back.

A preprocessor declares its parameters and what it implies, and :meth:`Preprocessor.apply`
returns a :class:`Reduction`: the QUBO the solver sees and ``expand``, which maps the solver's
bits back to the encoding's qubits. The run pipeline, dry runs and suites ask these
declarations; none of them tests a preprocessor's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qbench.params import Component
from qbench.program import BinaryProgram


class Reduction(Protocol):
    """What a preprocessor hands on: the reduced QUBO and the way back to the encoding's qubits."""

    qubo: BinaryProgram

    @property
    def shrink_ratio(self) -> float:
        """Qubits kept: n_after / n_before."""

    def expand(self, y: np.ndarray) -> np.ndarray:
        """The encoding's bitstrings of reduced bitstrings, (n_after,) or (k, n_after)."""


@dataclass(frozen=True)
class Preprocessor(Component):
    """A registered preprocessing stage.

    ``options(raw)`` validates its options (defaults filled in); ``label(options)`` is the row's
    ``preprocess`` value and ``labels`` every value its runs can carry; ``size(options, n,
    problem)`` the qubits left of ``n`` (dry runs, without running it; ``problem`` may be None);
    ``apply(problem, encoding, options, seed)`` the :class:`Reduction`. ``implies_repair``: an
    expanded answer may break constraints, so runs repair it on the original problem.
    ``keeps_variables``: False when it merges variables, so solvers that take inputs indexed by
    them cannot follow it. ``deterministic``: the reduction ignores the seed (suites then run a
    deterministic solver behind it once per instance). ``problems``: the problem kinds it works
    on (empty: any).
    """

    options: Callable[[dict[str, Any]], dict[str, Any]] = None
    label: Callable[[dict[str, Any]], str] = None
    labels: tuple[str, ...] = ()
    size: Callable[..., int] = None
    apply: Callable[..., Reduction] = None
    implies_repair: bool = True
    keeps_variables: bool = False
    #: True when its reduction does not depend on the seed (shrinking's correlations do)
    deterministic: bool = False
    #: the problem kinds it works on; empty for any
    problems: tuple[str, ...] = ()

    role = "preprocessing"
