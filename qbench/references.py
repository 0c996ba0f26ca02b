"""Reference values for instances that carry no published one, so every row gets a gap.

A generated instance (or a file from elsewhere) has no best known value, so ``gap_pct``,
``approx_ratio`` and ``p_optimal`` would stay empty although an exact method can settle it in
seconds. Before a suite runs, each such instance gets a reference once: brute force where it is
small (at most :data:`BRUTE_VARS` binary variables or :data:`BRUTE_ITEMS` permuted items), else
the MIP with a time limit. The store keeps it with its kind — ``optimal`` when proven, else
``best_found`` with the dual bound reached — next to ``published`` values given in a suite's
instance table; runs then see it as the instance's ``best_known``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from qbench.errors import QbenchError
from qbench.problems import Problem
from qbench.solvers import get_solver
from qbench.spec import load_spec

#: brute force settles instances with at most this many binary variables (2^20 states) ...
BRUTE_VARS = 20
#: ... or permutation problems with at most this many freely permuted items (8! orders)
BRUTE_ITEMS = 8


@dataclass(frozen=True)
class Reference:
    """An instance's reference value, how sure it is, and where it came from."""

    value: float
    kind: str
    bound: float | None = None
    source: str = ""


def compute(problem: Problem, time_limit: float) -> Reference | None:
    """The best value an exact method reaches: brute force on small instances, else the MIP
    within ``time_limit`` seconds; None when neither finds a feasible answer."""
    t0 = time.perf_counter()
    try:
        result = get_solver("brute").solve(problem, max_vars=BRUTE_VARS, max_perm=BRUTE_ITEMS)
        method = "brute"
    except QbenchError:  # too large to enumerate
        result = get_solver("mip").solve(problem, time_limit=time_limit)
        method = f"mip (time_limit {time_limit:g} s)"
    if result.x is None or not bool(problem.is_feasible(result.x)):
        return None
    kind = "optimal" if result.status == "optimal" else "best_found"
    source = f"{method}, {time.perf_counter() - t0:.2f} s"
    return Reference(float(problem.objective(result.x)), kind, result.bound, source)


def attach(
    runs: list[Any],
    store: Any,
    time_limit: float,
    log: Any = None,
    problems: dict[str, Problem] | None = None,
) -> list[Any]:
    """The runs with the reference of their instance (``RunConfig.reference``): published in
    the suite, else stored, else computed now and stored; instances whose file carries a
    best known value are left as they are. ``log(text)`` hears about each computed one;
    ``problems`` (spec -> instance) spares loading the instances again."""
    known = store.references()
    problems = problems or {}
    by_spec: dict[str, tuple[float, str] | None] = {}
    out = []
    for cfg in runs:
        if cfg.spec not in by_spec:
            problem = problems.get(cfg.spec) or load_spec(cfg.spec)
            by_spec[cfg.spec] = _reference(cfg, problem, store, known, time_limit, log)
        found = by_spec[cfg.spec]
        out.append(cfg if found is None else replace(cfg, reference=found))
    return out


def _reference(
    cfg: Any, problem: Problem, store: Any, known: dict, time_limit: float, log: Any
) -> tuple[float, str] | None:
    """(value, kind) for one spec, or None when the instance carries its own or none exists."""
    if problem.best_known is not None:
        return None
    name = problem.name or cfg.spec
    if cfg.reference is not None:
        store.set_reference(name, cfg.reference[0], cfg.reference[1], source="suite")
        return cfg.reference
    if name in known:
        return known[name]["value"], known[name]["kind"]
    ref = compute(problem, time_limit)
    if ref is None:
        return None
    store.set_reference(name, ref.value, ref.kind, ref.bound, ref.source)
    if log is not None:
        log(f"reference of {name}: {ref.kind} {ref.value:g} ({ref.source})")
    return ref.value, ref.kind
