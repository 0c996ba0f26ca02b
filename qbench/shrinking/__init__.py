"""Graph shrinking: merge correlated variables of a QUBO until it fits a qubit budget.

The pipeline (Adaptive Graph Shrinking): a QUBO is read as weighted MaxCut with a reference node
(:mod:`.maxcut`); correlations between nodes come from the GW SDP, p = 1 QAOA or solver samples
(:mod:`.correlations`); the most correlated pairs are merged (x_j := x_i or 1 − x_i, or fixed to
0/1 through the reference) with exact folding of the energy, optionally refusing merges that
must break a constraint (:mod:`.merge`, :mod:`.rules`); the small QUBO is solved by any solver;
:func:`finish` expands its solution back, decodes it, checks it on the original problem and
repairs it when infeasible.

Typical use::

    enc = get_encoder("qubo").encode(problem.program)
    shrunk = shrink_problem(problem, enc, target=0.5, correlations="sdp", seed=0)
    y = get_solver("brute").solve(shrunk.qubo, seed=0).x
    record = finish(problem, enc, shrunk, y)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qbench.errors import ConfigError
from qbench.params import Param, parse_params
from qbench.program import BinaryProgram
from qbench.shrinking.correlations import SOURCES, correlation_matrix
from qbench.shrinking.merge import (
    MODES,
    THRESHOLDS,
    Groups,
    MergeStep,
    Rule,
    Shrunk,
    check_threshold,
    merge,
)
from qbench.shrinking.rules import ConstraintRules, constraint_rules

#: values of the ``rules`` option: no rules, or the constraint-aware rules of the problem
RULE_CHOICES = ("none", "constraints")

__all__ = [
    "MODES",
    "PARAMS",
    "RULE_CHOICES",
    "SOURCES",
    "THRESHOLDS",
    "ConstraintRules",
    "Groups",
    "MergeStep",
    "Rule",
    "Shrunk",
    "constraint_rules",
    "correlation_matrix",
    "finish",
    "parse_options",
    "shrink",
    "shrink_problem",
]


def qubits_or_fraction(raw: Any) -> int | float:
    """A target from CLI/TOML text or a number: '12' → 12 qubits, '0.5' → half the qubits."""
    if isinstance(raw, (bool, np.bool_)):
        raise ValueError(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            return float(text)
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    return float(raw)


PARAMS: tuple[Param, ...] = (
    Param(
        "target",
        qubits_or_fraction,
        0.5,
        "size to shrink to: an integer qubit budget (12) or a fraction of the qubits in (0, 1]",
    ),
    Param("correlations", str, "sdp", "where correlations come from", SOURCES),
    Param("mode", str, "plain", "plain: correlations once; adaptive: recomputed", MODES),
    Param(
        "every",
        int,
        None,
        "adaptive: recompute after this many merges (unset: threshold only)",
        bounds="[1, inf)",
    ),
    Param("threshold", str, "proportional", "adaptive: when the next pair is too weak", THRESHOLDS),
    Param(
        "threshold_param",
        float,
        None,
        "c of proportional (0.5), q of quantile (0.75), f of decay (0.9); unset: the default",
    ),
    Param("rules", str, "constraints", "refuse merges that must break a constraint", RULE_CHOICES),
)


def parse_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Validated options (defaults filled in) for :func:`shrink_problem`, or ConfigError."""
    options = parse_params(PARAMS, raw, "preprocessing 'shrink'")
    check_threshold(options["threshold"], options["threshold_param"])
    if options["every"] is not None and options["every"] < 1:
        raise ConfigError(f"preprocessing 'shrink': every must be >= 1, got {options['every']}")
    return options


def shrink(
    qubo: BinaryProgram,
    *,
    target: int | float,
    correlations: str = "sdp",
    samples: Any = None,
    mode: str = "plain",
    every: int | None = None,
    threshold: str = "proportional",
    threshold_param: float | None = None,
    rules: Rule | None = None,
    seed: int = 0,
    source_options: dict[str, Any] | None = None,
) -> Shrunk:
    """Shrink an unconstrained min QUBO to ``target`` qubits (int budget or fraction in (0, 1]).

    ``correlations`` picks the source ("sdp", "qaoa", "samples"; ``source_options`` go to it,
    e.g. ``{"restarts": 5}`` or ``{"gamma": 0.3, "beta": 0.4}``); ``samples`` are bitstrings
    with counts (see :func:`qbench.shrinking.correlations.sample_rows`), or a callable
    ``samples(qubo, seed)`` that adaptive mode calls again on each shrunken QUBO. ``rules`` (e.g.
    :func:`constraint_rules`) may refuse merges. Every random choice derives from ``seed``.
    """
    source = correlations
    if source not in SOURCES:
        raise ConfigError(f"shrink: unknown correlations {source!r}; allowed: {', '.join(SOURCES)}")
    if source == "samples":
        if samples is None:
            raise ConfigError("shrink: correlations='samples' needs samples (bitstrings + counts)")
        if mode == "adaptive" and not callable(samples):
            raise ConfigError(
                "shrink: adaptive mode recomputes correlations on the shrunken QUBO, so "
                "correlations='samples' needs samples as a callable (qubo, seed) -> samples"
            )
    options = dict(source_options or {})

    def correlate(small: BinaryProgram, round: int) -> np.ndarray:
        round_seed = int(np.random.SeedSequence([seed, round]).generate_state(1)[0])
        return correlation_matrix(small, source, seed=round_seed, samples=samples, **options)

    return merge(
        qubo,
        correlate,
        target=target,
        mode=mode,
        every=every,
        threshold=threshold,
        threshold_param=threshold_param,
        rules=rules,
        seed=seed,
    )


def shrink_problem(
    problem: Any, encoding: Any, *, rules: str = "constraints", **options: Any
) -> Shrunk:
    """Shrink an encoding's QUBO, with the problem's constraint-aware rules unless rules='none'."""
    if rules not in RULE_CHOICES:
        raise ConfigError(f"shrink: unknown rules {rules!r}; allowed: {', '.join(RULE_CHOICES)}")
    rule = constraint_rules(problem, encoding) if rules == "constraints" else None
    return shrink(encoding.qubo, rules=rule, **options)


def finish(
    problem: Any, encoding: Any, shrunk: Shrunk, y_small: np.ndarray, *, repair: bool = True
) -> dict[str, Any]:
    """Expand a solution of the shrunken QUBO, decode it, check it on the problem, repair it.

    Returns ``x`` (final, repaired when needed and allowed), ``x_raw`` (decoded, before
    repair), ``bits`` (all qubits), ``energy`` (QUBO energy of the bits, equal to the small
    QUBO's energy of y), ``objective``, ``feasible``, ``feasible_before_repair``, ``repaired``,
    ``repair_moves`` (Hamming distance of the repair), ``n_qubits_before``, ``n_qubits_after``,
    ``shrink_ratio``, ``n_merges`` and ``reached_target``.
    """
    if shrunk.n_before != encoding.n_qubits:
        raise ValueError(
            f"the shrunken QUBO comes from {shrunk.n_before} qubits, the encoding has "
            f"{encoding.n_qubits}"
        )
    y = np.asarray(y_small).ravel()
    bits = shrunk.expand(y)
    x_raw = encoding.decode(bits)
    feasible_before = bool(problem.is_feasible(x_raw))
    x = x_raw
    if repair and not feasible_before:
        x = np.asarray(problem.repair(x_raw), dtype=np.int8)
    return {
        "x": x,
        "x_raw": x_raw,
        "bits": bits,
        "energy": float(encoding.energy(bits)),
        "objective": float(problem.objective(x)),
        "feasible": bool(problem.is_feasible(x)),
        "feasible_before_repair": feasible_before,
        "repaired": bool(repair and not feasible_before),
        "repair_moves": int(np.count_nonzero(x != x_raw)),
        "n_qubits_before": shrunk.n_before,
        "n_qubits_after": shrunk.n_after,
        "shrink_ratio": shrunk.shrink_ratio,
        "n_merges": len(shrunk.steps),
        "reached_target": shrunk.reached_target,
    }
