"""Classical optimisers for variational solvers, all under one hard evaluation budget.

``minimize(fun, x0, method, maxiter, tol, seed)`` runs COBYLA, Powell, Nelder-Mead or L-BFGS-B
through ``scipy.optimize.minimize`` or SPSA (implemented here) and returns the best point seen.
``maxiter`` is the budget of *objective evaluations* (the expensive quantity on a quantum
backend), not of iterations: it is passed to scipy as whichever of ``maxiter``/``maxfev``/
``maxfun`` the method honours, and every call goes through a counter that stops the run hard
(a private exception, caught here) once the budget is spent, so no method can overrun it, not
even L-BFGS-B whose finite-difference gradients cost ``n + 1`` evaluations each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from qbench.errors import ConfigError

METHODS = ("COBYLA", "Powell", "Nelder-Mead", "L-BFGS-B", "SPSA")
#: first step of COBYLA (initial trust-region radius) and Nelder-Mead (initial simplex edge):
#: ~0.5 rad explores angles without jumping across whole periods of the (scaled) QAOA/VQE
#: landscape (scipy's Nelder-Mead default, 5% of each coordinate, stalls at zero angles)
INITIAL_STEP = 0.5


@dataclass
class OptResult:
    """Outcome of a budgeted minimisation: the best point seen and what it cost."""

    x: np.ndarray
    fun: float
    n_evaluations: int
    iterations: int
    history: list[float] = field(default_factory=list)
    #: True when the evaluation budget stopped the run (rather than the method's own test)
    budget_hit: bool = False


class _BudgetSpent(Exception):
    """Raised by the counter when the evaluation budget is exhausted."""


class _Counter:
    """Wraps the objective: counts calls, records history, keeps the best point, stops at budget."""

    def __init__(self, fun: Callable[[np.ndarray], float], budget: int):
        self.fun = fun
        self.budget = budget
        self.n = 0
        self.history: list[float] = []
        self.best_x: np.ndarray | None = None
        self.best_f = math.inf

    @property
    def left(self) -> int:
        return self.budget - self.n

    def __call__(self, x: np.ndarray) -> float:
        if self.n >= self.budget:
            raise _BudgetSpent
        x = np.array(x, dtype=float, copy=True)
        value = float(self.fun(x))
        self.n += 1
        self.history.append(value)
        if value < self.best_f or self.best_x is None:
            self.best_f, self.best_x = value, x
        return value


def minimize(
    fun: Callable[[np.ndarray], float],
    x0: np.ndarray,
    method: str = "COBYLA",
    maxiter: int = 200,
    tol: float | None = None,
    seed: int | None = None,
) -> OptResult:
    """Minimise ``fun`` from ``x0`` in at most ``maxiter`` evaluations; the best point seen wins."""
    if method not in METHODS:
        raise ConfigError(f"unknown optimizer {method!r}; allowed: {', '.join(METHODS)}")
    maxiter = int(maxiter)
    if maxiter < 1:
        raise ConfigError(f"optimizer budget maxiter must be >= 1, got {maxiter}")
    x0 = np.asarray(x0, dtype=float).ravel()
    counter = _Counter(fun, maxiter)
    iterations = [0]
    budget_hit = False
    if x0.size == 0:  # nothing to optimise: one evaluation of the fixed point
        counter(x0)
    elif method == "SPSA":
        try:
            _spsa(counter, x0, seed, iterations)
        except _BudgetSpent:
            budget_hit = True
    else:

        def callback(*_args) -> None:
            iterations[0] += 1

        # COBYLA insists on >= n + 2 evaluations; the counter still stops it at the budget
        simplex = np.vstack([x0, x0 + INITIAL_STEP * np.eye(x0.size)])
        options: dict = {
            "COBYLA": {"maxiter": max(maxiter, x0.size + 2), "rhobeg": INITIAL_STEP},
            "Powell": {"maxfev": maxiter, "maxiter": maxiter},
            "Nelder-Mead": {"maxfev": maxiter, "maxiter": maxiter, "initial_simplex": simplex},
            "L-BFGS-B": {"maxfun": maxiter, "maxiter": maxiter},
        }[method]
        try:
            res = scipy_minimize(
                counter, x0, method=method, tol=tol, options=options, callback=callback
            )
            iterations[0] = int(getattr(res, "nit", iterations[0]) or iterations[0])
        except _BudgetSpent:
            budget_hit = True
    return OptResult(
        x=counter.best_x,
        fun=counter.best_f,
        n_evaluations=counter.n,
        iterations=iterations[0],
        history=counter.history,
        budget_hit=budget_hit,
    )


#: SPSA gains (Spall 1998): a_k = a / (k + 1 + A)^α, c_k = c / (k + 1)^γ
SPSA_ALPHA = 0.602
SPSA_GAMMA = 0.101
SPSA_C = 0.1
SPSA_A = 0.2
#: calibration: the first step should move each parameter by about this much
SPSA_TARGET_STEP = 0.2
SPSA_CALIBRATION_PAIRS = 5


def _spsa(counter: _Counter, x0: np.ndarray, seed: int | None, iterations: list[int]) -> None:
    """SPSA with Spall's standard gains; ``a`` calibrated from a few gradient samples.

    Each iteration costs two evaluations, ``f(x ± c_k Δ)`` with Δ a seeded Rademacher vector;
    the gradient estimate ``(f₊ − f₋) / (2 c_k) Δ`` drives ``x ← x − a_k ĝ``. Calibration (as
    qiskit's SPSA does) spends up to ``SPSA_CALIBRATION_PAIRS`` pairs at x0, at most a tenth of
    the budget, to set ``a`` so the first step moves each parameter by ``SPSA_TARGET_STEP``,
    which makes the gains independent of the objective's energy scale; with no budget for it
    ``a = SPSA_A``. One evaluation is kept back for the final iterate. The best point among all
    evaluated ones is the result (the counter tracks it).
    """
    rng = np.random.default_rng(seed)
    n = x0.size
    budget = counter.left
    pairs = min(SPSA_CALIBRATION_PAIRS, budget // 20)
    n_iter = max(0, (budget - 2 * pairs - 1) // 2)
    stability = 0.1 * n_iter
    a = SPSA_A
    if pairs:
        mags = []
        for _ in range(pairs):
            delta = rng.choice((-1.0, 1.0), size=n)
            diff = counter(x0 + SPSA_C * delta) - counter(x0 - SPSA_C * delta)
            mags.append(abs(diff) / (2 * SPSA_C))
        mean = float(np.mean(mags))
        if mean > 0 and np.isfinite(mean):
            a = SPSA_TARGET_STEP * (stability + 1) ** SPSA_ALPHA / mean
    x = x0.copy()
    for k in range(n_iter):
        ak = a / (k + 1 + stability) ** SPSA_ALPHA
        ck = SPSA_C / (k + 1) ** SPSA_GAMMA
        delta = rng.choice((-1.0, 1.0), size=n)
        diff = counter(x + ck * delta) - counter(x - ck * delta)
        x = x - ak * diff / (2 * ck) * delta
        iterations[0] += 1
    counter(x)
