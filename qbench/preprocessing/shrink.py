"""Graph shrinking as a pipeline stage: options, row label, size for dry runs, and the run's
call into :mod:`qbench.shrinking` (sample-based correlations come from simulated annealing)."""

from __future__ import annotations

from typing import Any

from qbench.preprocessing.base import Preprocessor
from qbench.program import BinaryProgram
from qbench.shrinking import MODES, PARAMS, RULE_CHOICES, Shrunk, parse_options, shrink_problem
from qbench.shrinking.merge import resolve_target
from qbench.solvers import sa


def label(options: dict[str, Any]) -> str:
    """The row's ``preprocess``: shrink-plain or shrink-adaptive, + -aware with the rules."""
    aware = "-aware" if options.get("rules") == "constraints" else ""
    return f"shrink-{options['mode']}{aware}"


def apply(problem: Any, encoding: Any, options: dict[str, Any], seed: int) -> Shrunk:
    """Shrink a run's encoding (validated ``options``); empirical correlations come from
    simulated-annealing samples of each (shrunken) QUBO."""
    samples = None
    if options["correlations"] == "samples":

        def samples(qubo: BinaryProgram, s: int) -> Any:
            return sa.sample(qubo, seed=s)

    return shrink_problem(problem, encoding, seed=seed, samples=samples, **options)


def size(options: dict[str, Any], n: int, problem: Any = None) -> int:
    """Qubits left of ``n`` (ConfigError when the target does not fit n); the problem does not
    matter."""
    return resolve_target(options["target"], n)


PREPROCESSOR = Preprocessor(
    name="shrink",
    params=PARAMS,
    description="merge correlated qubits until the QUBO fits the target, then expand and repair",
    options=parse_options,
    label=label,
    labels=tuple(label({"mode": m, "rules": r}) for m in MODES for r in RULE_CHOICES),
    size=size,
    apply=apply,
)
