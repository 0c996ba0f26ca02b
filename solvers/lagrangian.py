"""The Lagrangian multiplier search: a meta-solver that maximises the Lagrangian dual of a
binary program by calling ANY inner QUBO solver on the slack-free Lagrangian QUBO
(:mod:`qbench.encoders.lagrangian`) for the current multipliers.

Methods: projected subgradient ascent (normalised diminishing steps α₀/√(k+1) or Polyak steps),
Nesterov's weighted dual averaging, a proximal bundle method, Kelley's cutting planes, or the
augmented Lagrangian (method of multipliers on every row: equality rows carry (ρ/2)g², inequality
rows the standard (max(0, λ + ρg)² − λ²)/(2ρ) on the branch of the last inner answer — no slack
qubits; ρ grows while the violation does not shrink). ρ of
the other methods defaults to an instance scale near an exact penalty when the program has
equality rows (they need no slack, so the squared term is free); ``rho=0`` gives the plain
Lagrangian dual, which for assignment rows (TSP, QAP) is weak.

Primal solutions: by default every inner answer goes through a primal heuristic on the original
problem (repaired when infeasible, then one round of the problem's local search) and the best
feasible point is kept (``repair=false``: only inner answers that happen to be feasible; on the
12 SAC-94 instances with SA inside, median gap 29.9 % without it, 1.75 % with it). Inner
solvers that take an ``initial_point`` (VQE, CVaR-VQE) start each solve from the previous one's
angles (``warm_start``): consecutive QUBOs differ only in λ.

Bounds: the best dual value is a valid bound only when every inner call was solved to proven
optimality (status "optimal", e.g. the brute solver) and no inequality row is squared (the
augmented method's branch model breaks weak duality); otherwise it is only an estimate and
``bound`` is None. An integral objective (MIS, MDKP, TSPLIB distances) rounds a bound up to the
next integer. The search stops when that proven gap closes (``tol``). With linear multipliers
and no squared terms (MDKP, MIS) the dual optimum is the LP relaxation bound (the subproblem has
the integrality property; ``info["lp_bound"]`` holds it), so a duality gap usually remains and
is reported, not hidden.

``info["trajectory"]`` (a DataFrame, :data:`TRAJECTORY_COLUMNS`) records λ, ρ, the dual value and
the best feasible objective per iteration; :func:`qbench.report.plot_trajectory` draws one run,
``qbench plot DIR --kind convergence`` a suite's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog, minimize

from qbench.encoders.lagrangian import Rows, check_rho, lagrangian_qubo, parse_lam
from qbench.errors import ConfigError
from qbench.params import ListOf, Param
from qbench.problems.base import Problem
from qbench.program import BinaryProgram
from qbench.solvers.base import MetaSolver, Solver, SolveResult
from qbench.solvers.registry import get_solver

METHODS = ("subgradient", "dual_averaging", "bundle", "cutting_plane", "augmented")
STEP_RULES = ("diminishing", "polyak")
STOP_REASONS = (
    "gap_closed",
    "stalled",
    "max_iter",
    "model_converged",
    "bundle_converged",
    "zero_step",
    "inner_failed",
    "lp_failed",
)
#: the augmented method raises ρ when the violation norm is above this fraction of the last one
AUG_SHRINK = 0.25
#: fraction of the Polyak target above the best dual value while no feasible point is known
POLYAK_ESTIMATE = 0.1
#: Polyak steps halve θ after this many iterations without a better dual value
POLYAK_HALVE_AFTER = 5


# --------------------------------------------------------------------------------------------
# scales (defaults that adapt to the instance)


@dataclass(frozen=True)
class _Scales:
    """Instance scales behind the defaults: a typical multiplier (step size), the largest useful
    multiplier per row (box), the exact-penalty-like ρ, and the typical coefficient |a|."""

    lam_scale: float
    lam_hi: np.ndarray
    rho: float
    a_scale: float


def _scales(program: BinaryProgram, rows: Rows) -> _Scales:
    """Ratios (weight of x_i in the objective) / |a_ji| per row.

    With the full weight |c_i| + Σ_k |Q_ik| a multiplier above the row's largest ratio makes
    every variable of the row unattractive on its own: that bounds the useful λ_j (the box), and
    ρ = median ratio / |a| makes a violation cost about a full weight (near an exact penalty).
    The typical multiplier instead uses the marginal weight at the density the rows imply
    (d = median b_j / Σ_i |a_ji|, e.g. 1/n for assignment rows): |c_i| + d·Σ_k |Q_ik|.
    """
    q = abs(program.quadratic)
    couplings = np.asarray(q.sum(axis=0)).ravel() + np.asarray(q.sum(axis=1)).ravel()
    full = np.abs(program.linear) + couplings
    G = abs(rows.G).tocsr()
    if rows.m == 0 or G.nnz == 0:
        return _Scales(1.0, np.ones(rows.m), 1.0, 1.0)
    row_sums = np.asarray(G.sum(axis=1)).ravel()
    ok_rows = row_sums > 1e-12
    n = program.n_vars
    density = (
        float(np.median(np.abs(rows.h[ok_rows]) / row_sums[ok_rows])) if ok_rows.any() else 0.5
    )
    density = min(max(density, 1.0 / max(n, 1)), 1.0)
    marginal = np.abs(program.linear) + density * couplings
    lam_hi = np.ones(rows.m)
    typical, exact = [], []
    for j in range(rows.m):
        cols = G.indices[G.indptr[j] : G.indptr[j + 1]]
        coef = G.data[G.indptr[j] : G.indptr[j + 1]]
        ok = coef > 1e-12
        if not ok.any():
            continue
        ratio = full[cols[ok]] / coef[ok]
        lam_hi[j] = max(float(ratio.max()), 1e-9)
        exact.append(float(np.median(ratio)))
        typical.append(float(np.median(marginal[cols[ok]] / coef[ok])))
    a_scale = float(np.median(G.data[G.data > 1e-12]))

    def positive(values: list[float]) -> float:
        value = float(np.median(values)) if values else 1.0
        return value if np.isfinite(value) and value > 0 else 1.0

    return _Scales(positive(typical), lam_hi, positive(exact) / a_scale, a_scale)


# --------------------------------------------------------------------------------------------
# multiplier updates


@dataclass
class _Step:
    """What an update returns: the next λ and ρ, or a reason to stop."""

    lam: np.ndarray | None
    rho: float
    stop: str | None = None
    #: the augmented method's rows that carry (ρ/2)g² in the next x-step
    squared: np.ndarray | None = None


@dataclass
class _Updater:
    """Shared state of the dual methods: rows, box, and the iteration's oracle answers."""

    rows: Rows
    lo: np.ndarray
    hi: np.ndarray
    tol: float

    def clip(self, lam: np.ndarray) -> np.ndarray:
        return np.clip(lam, self.lo, self.hi)

    def step(self, k: int, lam, dual, g, rho, upper) -> _Step:  # pragma: no cover - interface
        """Next (λ, ρ) from λ_k, L(λ_k), the supergradient g(x_k), ρ_k and the target UB."""
        raise NotImplementedError


@dataclass
class _Subgradient(_Updater):
    """Projected supergradient ascent: normalised diminishing steps or Polyak steps.

    Polyak steps use θ (UB − L(λ))/‖g‖² and, as Held, Wolfe and Crowder do, halve θ after
    POLYAK_HALVE_AFTER steps without a better dual value (the target UB may be a poor estimate).
    """

    rule: str = "diminishing"
    alpha0: float = 1.0
    theta: float = 1.0
    best: float = -np.inf
    since_gain: int = 0

    def step(self, k, lam, dual, g, rho, upper) -> _Step:
        norm2 = float(g @ g)
        if norm2 <= 0.0:
            return _Step(None, rho, "zero_step")
        if self.rule == "polyak":
            if dual > self.best:
                self.best, self.since_gain = dual, 0
            else:
                self.since_gain += 1
                if self.since_gain >= POLYAK_HALVE_AFTER:
                    self.theta, self.since_gain = 0.5 * self.theta, 0
            alpha = self.theta * max(upper - dual, 0.0) / norm2
            if alpha <= 0.0:
                return _Step(None, rho, "zero_step")
            return _Step(self.rows.project(lam + alpha * g), rho)
        alpha = self.alpha0 / math.sqrt(k + 1)
        return _Step(self.rows.project(lam + alpha * g / math.sqrt(norm2)), rho)


@dataclass
class _DualAveraging(_Updater):
    """Nesterov's weighted dual averaging: λ = proj(λ₀ + γ_k Σ g_i/‖g_i‖), γ_k = α₀/√(k+1)."""

    alpha0: float = 1.0
    lam0: np.ndarray = None
    total: np.ndarray = None

    def step(self, k, lam, dual, g, rho, upper) -> _Step:
        norm = float(np.linalg.norm(g))
        if self.total is None:
            self.total = np.zeros_like(g)
        if norm > 0.0:
            self.total = self.total + g / norm
        elif not self.total.any():
            return _Step(None, rho, "zero_step")
        gamma = self.alpha0 / math.sqrt(k + 1)
        return _Step(self.rows.project(self.lam0 + gamma * self.total), rho)


def _cut_values(cuts: list[tuple[np.ndarray, float, np.ndarray]], lam: np.ndarray) -> float:
    """The cutting-plane model min_i L_i + g_i·(λ − λ_i) at λ."""
    return min(Li + float(gi @ (lam - li)) for li, Li, gi in cuts)


@dataclass
class _Bundle(_Updater):
    """Proximal bundle: trial = argmax model(λ) − (μ/2)‖λ − center‖², serious/null steps."""

    mu: float | None = None
    m_serious: float = 0.1
    lam_scale: float = 1.0
    cuts: list = field(default_factory=list)
    center: np.ndarray = None
    center_L: float = -np.inf
    predicted: float = 0.0
    n_serious: int = 0

    def step(self, k, lam, dual, g, rho, upper) -> _Step:
        self.cuts.append((lam.copy(), float(dual), g.copy()))
        if self.center is None:
            self.center, self.center_L = lam.copy(), float(dual)
            if self.mu is None:
                norm = float(np.linalg.norm(g))
                self.mu = norm / self.lam_scale if norm > 0 else 1.0
        elif dual - self.center_L >= self.m_serious * self.predicted:
            self.center, self.center_L = lam.copy(), float(dual)
            self.n_serious += 1
        trial = self._prox_point()
        self.predicted = _cut_values(self.cuts, trial) - self.center_L
        if self.predicted <= self.tol * max(1.0, abs(self.center_L)):
            return _Step(None, rho, "bundle_converged")
        return _Step(trial, rho)

    def _prox_value(self, lam: np.ndarray) -> float:
        d = lam - self.center
        return _cut_values(self.cuts, lam) - 0.5 * self.mu * float(d @ d)

    def _prox_point(self) -> np.ndarray:
        """Solve the bundle QP with SLSQP in scaled variables; keep the best of it, the pure
        prox step along the center's own cut, and the center itself."""
        c, Lc = self.center, self.center_L
        D = self.lam_scale
        T = max(1.0, abs(Lc))
        offs = np.array([Li + float(gi @ (c - li)) - Lc for li, Li, gi in self.cuts]) / T
        grads = np.array([gi for _, _, gi in self.cuts]) * (D / T)
        quad = self.mu * D * D / T
        m = c.size

        def fun(z):
            return -z[m] + 0.5 * quad * float(z[:m] @ z[:m])

        def jac(z):
            out = np.empty_like(z)
            out[:m] = quad * z[:m]
            out[m] = -1.0
            return out

        cons = {
            "type": "ineq",
            "fun": lambda z: offs + grads @ z[:m] - z[m],
            "jac": lambda z: np.hstack([grads, -np.ones((len(offs), 1))]),
        }
        bounds = [(lo, hi) for lo, hi in zip((self.lo - c) / D, (self.hi - c) / D)] + [(None, None)]
        z0 = np.zeros(m + 1)
        z0[m] = float(offs.min())
        candidates = [c.copy()]
        own = self.cuts[-1][2] if np.array_equal(self.cuts[-1][0], c) else None
        if own is not None:
            candidates.append(self.clip(c + own / self.mu))
        try:
            res = minimize(
                fun, z0, jac=jac, bounds=bounds, constraints=[cons], method="SLSQP",
                options={"maxiter": 200, "ftol": 1e-12},
            )  # fmt: skip
            if np.all(np.isfinite(res.x)):
                candidates.append(self.clip(c + D * res.x[:m]))
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - scipy edge cases
            pass
        values = [self._prox_value(lam) for lam in candidates]
        return candidates[int(np.argmax(values))]


@dataclass
class _CuttingPlane(_Updater):
    """Kelley: next λ = argmax of the cutting-plane model over the box (a HiGHS LP)."""

    cuts: list = field(default_factory=list)
    model_max: float = np.inf

    def step(self, k, lam, dual, g, rho, upper) -> _Step:
        self.cuts.append((lam.copy(), float(dual), g.copy()))
        m = lam.size
        # variables (λ, t): maximise t s.t. t − g_i·λ <= L_i − g_i·λ_i
        grads = np.array([gi for _, _, gi in self.cuts])
        A_ub = np.hstack([-grads, np.ones((len(self.cuts), 1))])
        b_ub = np.array([Li - float(gi @ li) for li, Li, gi in self.cuts])
        cost = np.zeros(m + 1)
        cost[m] = -1.0
        bounds = list(zip(self.lo, self.hi)) + [(None, None)]
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:  # pragma: no cover - the box keeps the LP feasible and bounded
            return _Step(None, rho, "lp_failed")
        self.model_max = float(-res.fun)
        best_L = max(Li for _, Li, _ in self.cuts)
        if self.model_max - best_L <= self.tol * max(1.0, abs(best_L)):
            return _Step(None, rho, "model_converged")
        return _Step(self.clip(np.asarray(res.x[:m])), rho)


@dataclass
class _Augmented(_Updater):
    """Augmented Lagrangian (method of multipliers) on every row. Equality rows carry
    λg + (ρ/2)g². Inequality rows carry the standard term ψ(g) = (max(0, λ + ρg)² − λ²)/(2ρ):
    λg + (ρ/2)g² where λ + ρg > 0, the constant −λ²/(2ρ) elsewhere. The x-step needs a QUBO, so
    each row takes the branch its last inner answer was on (all quadratic at the start). Then
    λ ← λ + ρg (max(0, ·) on inequality rows) and ρ ← min(ρ·growth, ρ_max) unless the violation
    norm fell below AUG_SHRINK of the last one."""

    growth: float = 2.0
    rho_max: float = np.inf
    last_violation: float = np.inf

    def step(self, k, lam, dual, g, rho, upper) -> _Step:
        new_lam = self.rows.project(lam + rho * g)
        squared = self.rows.eq | (new_lam + rho * g > 0)
        violation = float(np.linalg.norm(self.rows.violation(g)))
        new_rho = rho
        if violation > 0 and violation > AUG_SHRINK * self.last_violation:
            new_rho = min(rho * self.growth, self.rho_max)
        self.last_violation = violation
        if violation == 0 and new_rho == rho and np.array_equal(new_lam, lam):
            return _Step(None, rho, "zero_step")
        return _Step(new_lam, new_rho, squared=squared)


# --------------------------------------------------------------------------------------------
# the meta-solver


def _rounded(dual: float, integral: bool) -> float:
    """A lower bound on a min objective, rounded up to an integer when the objective is one."""
    if not (integral and np.isfinite(dual)):
        return dual
    return float(math.ceil(dual - 1e-9 * max(1.0, abs(dual))))


def _gap(upper: float, dual: float, integral: bool) -> float:
    """Best feasible (min form) minus the best dual value (rounded when integral), or inf."""
    if not (np.isfinite(upper) and np.isfinite(dual)):
        return np.inf
    return upper - _rounded(dual, integral)


PARAMS: tuple[Param, ...] = (
    Param("method", str, "subgradient", "dual update", choices=METHODS),
    Param("max_iter", int, 50, "inner solver calls at most", bounds="[1, inf)"),
    Param("step_rule", str, "diminishing", "subgradient steps", choices=STEP_RULES),
    Param(
        "alpha0",
        float,
        None,
        "initial step (λ units) of diminishing/dual-averaging steps (None: typical |obj|/|a|)",
        bounds="(0, inf)",
    ),
    Param("theta", float, 1.0, "Polyak step factor", bounds="(0, 2]"),
    Param(
        "rho",
        float,
        None,
        "weight of (ρ/2)g² on equality rows (and, for 'augmented', on the inequality rows on "
        "their quadratic branch), the initial one for 'augmented' (None: from the instance's "
        "scale when it has equality rows or the method is augmented; 0: plain Lagrangian)",
        bounds="[0, inf)",
    ),
    Param(
        "rho_growth",
        float,
        2.0,
        "augmented: factor ρ grows by while the violation stays",
        bounds="[1, inf)",
    ),
    Param("rho_max", float, None, "augmented: cap on ρ (None: 1e4 × initial ρ)", bounds="(0, inf)"),
    Param(
        "mu",
        float,
        None,
        "bundle: proximal weight (None: first step of typical λ size)",
        bounds="(0, inf)",
    ),
    Param(
        "bundle_m",
        float,
        0.1,
        "bundle: serious step when gain >= bundle_m × predicted",
        bounds="(0, 1)",
    ),
    Param(
        "lam_max",
        float,
        None,
        "bundle/cutting plane: box |λ_j| <= lam_max (None: 2 × largest useful per row)",
        bounds="(0, inf)",
    ),
    Param("lam0", ListOf(float), None, "initial multipliers: one number or a comma list"),
    Param(
        "patience",
        int,
        20,
        "stop after this many iterations without a better bound",
        bounds="[1, inf)",
    ),
    Param("tol", float, 1e-6, "relative duality gap counted as closed", bounds="[0, inf)"),
    Param(
        "warm_start",
        bool,
        True,
        "start each inner solve from the previous one's parameters (inner solvers that take an "
        "initial_point: vqe, cvar_vqe)",
        id_default=False,
    ),
    Param(
        "repair",
        bool,
        True,
        "primal heuristic at every iteration: repair the inner answer on the original problem, "
        "then one round of its local search; the best feasible point is kept",
    ),
)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(f"solver 'lagrangian': {message}")


def _resolve_inner(inner: Any) -> Solver:
    """A Solver object (or a registered solver name)."""
    if isinstance(inner, str):
        return get_solver(inner)
    _check(hasattr(inner, "solve"), f"inner must be a Solver or a solver name, got {inner!r}")
    return inner


def solve(
    target: Any,
    *,
    inner: Any,
    inner_params: dict[str, Any] | None = None,
    method: str = "subgradient",
    max_iter: int = 50,
    seed: int | None = None,
    tol: float = 1e-6,
    rho: float | None = None,
    step_rule: str = "diminishing",
    alpha0: float | None = None,
    theta: float = 1.0,
    rho_growth: float = 2.0,
    rho_max: float | None = None,
    mu: float | None = None,
    bundle_m: float = 0.1,
    lam_max: float | None = None,
    lam0: Any = None,
    patience: int = 20,
    repair: bool = True,
    warm_start: bool = True,
) -> SolveResult:
    """Maximise the Lagrangian dual with an inner QUBO solver; return the best feasible point."""
    defaults = {p.name: p.default for p in PARAMS}
    max_iter = defaults["max_iter"] if max_iter is None else max_iter
    tol = defaults["tol"] if tol is None else tol
    theta = defaults["theta"] if theta is None else theta
    rho_growth = defaults["rho_growth"] if rho_growth is None else rho_growth
    bundle_m = defaults["bundle_m"] if bundle_m is None else bundle_m
    patience = defaults["patience"] if patience is None else patience
    method = defaults["method"] if method is None else method
    step_rule = defaults["step_rule"] if step_rule is None else step_rule
    _check(method in METHODS, f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    _check(step_rule in STEP_RULES, f"step_rule {step_rule!r}; allowed: {', '.join(STEP_RULES)}")
    _check(int(max_iter) >= 1, f"max_iter must be >= 1, got {max_iter}")
    _check(int(patience) >= 1, f"patience must be >= 1, got {patience}")
    _check(float(tol) >= 0, f"tol must be >= 0, got {tol}")
    _check(0 < float(theta) <= 2, f"theta must be in (0, 2], got {theta}")
    _check(float(rho_growth) >= 1, f"rho_growth must be >= 1, got {rho_growth}")
    _check(0 < float(bundle_m) < 1, f"bundle_m must be in (0, 1), got {bundle_m}")
    _check(mu is None or float(mu) > 0, f"mu must be > 0, got {mu}")
    _check(alpha0 is None or float(alpha0) > 0, f"alpha0 must be > 0, got {alpha0}")
    _check(lam_max is None or float(lam_max) > 0, f"lam_max must be > 0, got {lam_max}")
    max_iter, patience, tol = int(max_iter), int(patience), float(tol)
    solver = _resolve_inner(inner)
    inner_params = dict(inner_params or {})
    _check("seed" not in inner_params, "pass the seed as seed=, not in inner_params")

    program = target.program if isinstance(target, Problem) else target
    rows = Rows.of(program)
    n, m = program.n_vars, rows.m
    s = 1.0 if program.sense == "min" else -1.0
    scales = _scales(program, rows)
    lam = parse_lam(lam0, rows, "solver 'lagrangian'")
    # the target's objective is what the best solution is judged by; the bound is on the
    # program's objective, so it bounds the target only when the two coincide (not for MSP)
    same_objective = not isinstance(target, Problem) or type(target).objective is Problem.objective
    auto_rho = scales.rho if rows.eq.any() else 0.0
    rho = auto_rho if rho is None else check_rho(rho, "solver 'lagrangian'")
    if method == "augmented" and rho == 0.0:
        rho = scales.rho
    # the augmented method squares inequality rows too (all of them in the first x-step)
    squared = np.ones(m, dtype=bool) if method == "augmented" and not rows.eq.all() else None
    integral = program.is_integral()
    proven = same_objective and squared is None  # the dual values can be bounds at all
    declared = {p.name for p in getattr(solver, "params", ())}
    warm = bool(warm_start) and "initial_point" in declared
    hi = 2.0 * scales.lam_hi if lam_max is None else np.full(m, float(lam_max))
    hi = np.maximum(hi, np.abs(lam))
    lo = np.where(rows.eq, -hi, 0.0)
    can_repair = bool(repair) and hasattr(target, "repair")
    can_search = can_repair and hasattr(target, "local_search")

    base = {"rows": rows, "lo": lo, "hi": hi, "tol": tol}
    a0 = scales.lam_scale if alpha0 is None else float(alpha0)
    if method == "subgradient":
        updater: _Updater = _Subgradient(**base, rule=step_rule, alpha0=a0, theta=float(theta))
    elif method == "dual_averaging":
        updater = _DualAveraging(**base, alpha0=a0, lam0=lam.copy())
    elif method == "bundle":
        updater = _Bundle(
            **base,
            mu=None if mu is None else float(mu),
            m_serious=float(bundle_m),
            lam_scale=scales.lam_scale,
        )
    elif method == "cutting_plane":
        updater = _CuttingPlane(**base)
    else:
        cap = 1e4 * rho if rho_max is None else float(rho_max)
        updater = _Augmented(**base, growth=float(rho_growth), rho_max=max(cap, rho))

    rng = np.random.default_rng(seed)
    best_x, best_key, best_obj = None, np.inf, None
    upper = np.inf  # best feasible program objective, min form
    best_dual, best_lam, last_gain = -np.inf, lam.copy(), 0
    all_exact = True
    n_evals, evals_known = 0, True
    records: list[dict[str, Any]] = []
    stop_reason = "max_iter"
    iterations = 0

    for k in range(max_iter):
        qubo = lagrangian_qubo(program, lam, rho, rows, squared)
        inner_seed = None if seed is None else int(rng.integers(2**31 - 1))
        res = solver.solve(qubo, seed=inner_seed, **inner_params)
        if warm and res.info.get("params") is not None:  # the next inner solve starts here
            inner_params["initial_point"] = [float(v) for v in res.info["params"]]
        if res.n_evaluations is None:
            evals_known = False
        else:
            n_evals += int(res.n_evaluations)
        if res.x is None:
            stop_reason = "inner_failed"
            break
        iterations = k + 1
        all_exact = all_exact and res.status == "optimal"
        x = np.asarray(res.x, dtype=float)[:n]
        dual = float(qubo.objective(x))
        g = rows.residuals(x)
        feasible = bool(target.is_feasible(x))
        objective = float(target.objective(x))
        candidates = [x]
        if can_repair:
            fixed = x.astype(np.int8) if feasible else target.repair(x.astype(np.int8))
            if can_search:
                fixed = target.local_search(fixed)
            candidates.append(np.asarray(fixed, dtype=float))
        for cand in candidates:
            if not bool(target.is_feasible(cand)):
                continue
            key = s * float(target.objective(cand))
            if key < best_key:
                best_key, best_x, best_obj = key, cand.astype(np.int8), s * key
            upper = min(upper, s * float(program.objective(cand)))
        if dual > best_dual + tol * max(1.0, abs(best_dual)) or not np.isfinite(best_dual):
            last_gain = k
        if dual > best_dual:
            best_dual, best_lam = dual, lam.copy()
        record: dict[str, Any] = {"iteration": k}
        record.update({f"lam_{j}": float(lam[j]) for j in range(m)})
        record.update(
            {
                "rho": rho,
                "lagrangian": dual,
                # a dual value only where the QUBO's minimum can bound the target's optimum
                "dual_bound": s * dual if proven else math.nan,
                "residual_norm": float(np.linalg.norm(g)),
                "violation": float(rows.violation(g).sum()),
                "feasible": feasible,
                "objective": objective,
                "best_objective": best_obj,
                "best_bound": s * best_dual if proven else math.nan,
            }
        )
        records.append(record)
        gap_now = _gap(upper, best_dual, integral)
        if proven and all_exact and np.isfinite(gap_now) and gap_now <= tol * max(1.0, abs(upper)):
            stop_reason = "gap_closed"
            break
        if k - last_gain >= patience:
            stop_reason = "stalled"
            break
        if k == max_iter - 1:
            break
        target_value = (
            upper if np.isfinite(upper) else best_dual + POLYAK_ESTIMATE * max(1.0, abs(best_dual))
        )
        step = updater.step(k, lam, dual, g, rho, target_value)
        if step.stop is not None:
            stop_reason = step.stop
            break
        lam, rho = step.lam, step.rho
        if step.squared is not None:
            squared = step.squared

    bound_valid = bool(proven and all_exact and iterations > 0)
    # an integral objective's optimum is an integer: the bound rounds up to the next one
    bound_min = _rounded(best_dual, integral) if bound_valid else best_dual
    gap = _gap(upper, best_dual, integral and bound_valid)
    rel_gap = gap / max(1.0, abs(upper)) if np.isfinite(gap) else np.inf
    closed = np.isfinite(gap) and gap <= tol * max(1.0, abs(upper))
    columns = ["iteration", *[f"lam_{j}" for j in range(m)], *TRAJECTORY_COLUMNS]
    trajectory = pd.DataFrame.from_records(records, columns=columns)
    info = {
        "method": method,
        "step_rule": step_rule if method == "subgradient" else None,
        "inner": getattr(solver, "name", str(solver)),
        "lam": np.asarray(lam, dtype=float).tolist(),
        "best_lam": best_lam.tolist(),
        "rho": float(rho),
        # the gap to the dual values; None where they are no bounds at all (squared rows)
        "duality_gap": float(gap) if proven else None,
        "relative_gap": float(rel_gap) if proven else None,
        "dual_bound_estimate": float(s * best_dual) if np.isfinite(best_dual) else None,
        "bound_valid": bound_valid,
        "stop_reason": stop_reason,
        "n_qubits": n,
        "n_inner_calls": len(records),
        "lp_bound": program.lp_bound(),
        "warm_start": warm,
        "trajectory": trajectory,
    }
    if method == "bundle":
        info["n_serious"] = updater.n_serious
    common = {
        "bound": float(s * bound_min) if bound_valid else None,
        "iterations": iterations,
        "n_evaluations": n_evals if evals_known else None,
        "info": info,
    }
    if best_x is None:
        return SolveResult(x=None, status="infeasible", **common)
    status = "optimal" if closed and bound_valid else "feasible"
    return SolveResult(x=best_x, status=status, objective=best_obj, **common)


#: the trajectory's columns after ``iteration`` and the per-row ``lam_0 … lam_{m-1}``:
#: ρ, L(λ) (min form), s·L(λ) (the problem's sense), ‖g‖, total violation, whether the inner
#: solution is feasible, its objective, the best feasible objective so far and the best dual
#: value so far in the problem's sense (a bound only when info["bound_valid"]).
TRAJECTORY_COLUMNS = (
    "rho",
    "lagrangian",
    "dual_bound",
    "residual_norm",
    "violation",
    "feasible",
    "objective",
    "best_objective",
    "best_bound",
)


SOLVER = MetaSolver(
    name="lagrangian",
    params=PARAMS,
    description="Lagrangian multiplier search around an inner QUBO solver (--encoder lagrangian "
    "--solver S): subgradient, dual averaging, bundle, cutting plane or augmented",
    solve=solve,
)
