"""A run's time limit as the run sees it, so a variational solver can refuse, after timing an
evaluation, a budget that would not finish in time (instead of being killed at the limit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from qbench.errors import ResourceError

_deadline: float | None = None
_limit: float | None = None


def start(limit_s: float | None) -> None:
    """Start this process's run clock: ``limit_s`` seconds from now (None: no limit)."""
    global _deadline, _limit
    _limit = None if limit_s is None else float(limit_s)
    _deadline = None if limit_s is None else time.monotonic() + float(limit_s)


def remaining() -> float | None:
    """Seconds left before the run's limit, or None when the run has none."""
    return None if _deadline is None else _deadline - time.monotonic()


def format_seconds(seconds: float) -> str:
    """Seconds as text: "3.2 s", "1,840 s (31 min)", "7.2e+05 s (200 h)"."""
    text = f"{seconds:.3g} s" if seconds < 1000 else f"{seconds:,.0f} s"
    if seconds >= 3600:
        return f"{text} ({seconds / 3600:.3g} h)"
    if seconds >= 120:
        return f"{text} ({seconds / 60:.0f} min)"
    return text


class Paced:
    """``objective`` timed on its second call (the first carries one-time costs: compilation,
    transpilation, caches): ResourceError, with the numbers, when that time times the
    evaluations still to come exceeds what is left of the run's limit."""

    def __init__(self, objective: Callable[..., Any], evaluations: int, what: str):
        self.objective = objective
        self.evaluations = int(evaluations)
        self.what = what
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls != 2:
            return self.objective(*args, **kwargs)
        t0 = time.monotonic()
        value = self.objective(*args, **kwargs)
        each = time.monotonic() - t0
        left = remaining()
        if left is not None and each * (self.evaluations - 2) > left:
            total = format_seconds(each * self.evaluations)
            raise ResourceError(
                f"{self.what}: an evaluation takes {format_seconds(each)}, so "
                f"{self.evaluations} evaluations need about {total}, beyond the run's time "
                f"limit of {format_seconds(_limit)} ({format_seconds(max(left, 0.0))} left); "
                "refused instead of timing out"
            )
        return value
