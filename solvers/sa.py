"""The sa solver: simulated annealing on the penalised program, the classical heuristic baseline.

Energy (always minimised): ``E(x) = s·f(x) + penalty·Σ_r viol_r(x)²`` where ``f`` is the
program's objective, ``s = +1`` for min and ``-1`` for max, and ``viol_r`` is the amount row r of
``A x (<=,==,>=) b`` is broken by. ``num_reads`` independent chains run side by side as numpy
arrays; each sweep visits the variables in order and proposes a single-bit flip per chain
(Metropolis), with energy deltas kept incremental through the local fields of the symmetric
coupling matrix and the constraint residuals. β follows a geometric schedule from ``beta_min``
to ``beta_max`` (by default derived from the energy scale, as dwave-neal does: the hottest β
accepts the largest flip delta with probability 1/2, the coldest accepts the smallest
coefficient's delta with probability 1/100). The final states are judged by the target's own
objective and feasibility; the best feasible one is returned. A heuristic never claims
optimality, so a found solution has status "feasible".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.problems.base import Problem
from qbench.program import FEAS_TOL, BinaryProgram
from qbench.solvers.base import Solver, SolveResult

DEFAULT_NUM_READS = 64
DEFAULT_NUM_SWEEPS = 1000
#: sweeps between exact recomputations of the incremental fields (bounds float drift)
_REFRESH = 64


def auto_penalty(program: BinaryProgram) -> float:
    """1 + (range of the objective): any unit of squared violation outweighs any objective gain."""
    lb, ub = program.objective_bounds()
    return 1.0 + (ub - lb)


class _Annealer:
    """The penalised energy of one program and single-flip Metropolis sweeps over many chains."""

    def __init__(self, program: BinaryProgram, penalty: float):
        self.n = program.n_vars
        self.sign = 1.0 if program.sense == "min" else -1.0
        self.constant = self.sign * program.constant
        self.penalty = penalty
        self.linear = self.sign * program.linear
        q = program.quadratic
        self.coupling = sp.csr_matrix(self.sign * (q + q.T))  # symmetric, zero diagonal
        self.A = program.A.tocsr()
        self.b = program.b
        senses = np.array(program.senses, dtype=object)
        self.lo = np.where(senses == "<=", -np.inf, 0.0).astype(float)
        self.hi = np.where(senses == ">=", np.inf, 0.0).astype(float)
        cols = self.A.tocsc()
        cols.sort_indices()
        c = self.coupling
        self.nbr = [c.indices[c.indptr[j] : c.indptr[j + 1]] for j in range(self.n)]
        self.nbr_w = [c.data[c.indptr[j] : c.indptr[j + 1]][:, None] for j in range(self.n)]
        self.rows = [cols.indices[cols.indptr[j] : cols.indptr[j + 1]] for j in range(self.n)]
        self.row_a = [
            cols.data[cols.indptr[j] : cols.indptr[j + 1]][:, None] for j in range(self.n)
        ]
        self.row_lo = [self.lo[r][:, None] for r in self.rows]
        self.row_hi = [self.hi[r][:, None] for r in self.rows]

    def _sq_viol(self, res: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        viol = np.maximum(res - hi, 0.0) + np.maximum(lo - res, 0.0)
        return viol * viol

    def energy(self, X: np.ndarray) -> np.ndarray:
        """Penalised energy of each row of a (k, n) 0/1 array."""
        obj = self.constant + X @ self.linear + 0.5 * np.einsum("ij,ij->i", X @ self.coupling, X)
        res = (self.A @ X.T).T - self.b
        pen = self._sq_viol(res, self.lo, self.hi).sum(axis=1)
        return obj + self.penalty * pen

    def beta_range(self) -> tuple[float, float]:
        """Default (hot, cold) β from the largest possible and smallest typical flip deltas."""
        absc = abs(self.coupling)
        obj_max = np.abs(self.linear) + np.asarray(absc.sum(axis=1)).ravel()
        # a flip moves residual r by |a_rj|; its squared violation changes by at most
        # |a_rj| (2 V_r + |a_rj|) with V_r the largest violation row r can have
        a = abs(self.A)
        res_hi = np.asarray(self.A.maximum(0).sum(axis=1)).ravel() - self.b
        res_lo = np.asarray(self.A.minimum(0).sum(axis=1)).ravel() - self.b
        v_max = np.maximum(np.maximum(res_hi - self.hi, self.lo - res_lo), 0.0)
        pen_max = np.asarray((a.multiply(2.0 * v_max[:, None]) + a.multiply(a)).sum(axis=0))
        max_delta = float(np.max(obj_max + self.penalty * pen_max.ravel(), initial=0.0))
        coeffs = np.abs(np.concatenate([self.linear, self.coupling.data]))
        coeffs = coeffs[coeffs > 1e-12]
        if coeffs.size:
            min_delta = float(coeffs.min())
        else:
            a_nz = np.abs(self.A.data[np.abs(self.A.data) > 1e-12])
            min_delta = self.penalty * float((a_nz**2).min()) if a_nz.size else 1.0
        max_delta = max(max_delta, min_delta)
        return math.log(2.0) / max_delta, math.log(100.0) / min_delta

    def anneal(self, X: np.ndarray, betas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Run one sweep per β on the chains X (k, n), returning the final states (k, n)."""
        xt = np.ascontiguousarray(X.T, dtype=float)  # (n, k): one contiguous row per variable
        k = xt.shape[1]
        for sweep, beta in enumerate(betas):
            if sweep % _REFRESH == 0:
                field = np.asarray(self.coupling @ xt)  # (n, k) local fields
                res = np.asarray(self.A @ xt) - self.b[:, None]  # (m, k) residuals
            thresholds = -np.log1p(-rng.random((self.n, k))) / beta  # accept iff dE <= t
            for j in range(self.n):
                d = 1.0 - 2.0 * xt[j]
                delta = (self.linear[j] + field[j]) * d
                rows = self.rows[j]
                if rows.size:
                    r_old = res[rows]
                    r_new = r_old + self.row_a[j] * d
                    lo, hi = self.row_lo[j], self.row_hi[j]
                    pen = self._sq_viol(r_new, lo, hi) - self._sq_viol(r_old, lo, hi)
                    delta += self.penalty * pen.sum(axis=0)
                flip = np.where(delta <= thresholds[j], d, 0.0)
                if not flip.any():
                    continue
                xt[j] += flip
                field[self.nbr[j]] += self.nbr_w[j] * flip
                if rows.size:
                    res[rows] += self.row_a[j] * flip
        return xt.T.copy()


def _run_chains(
    annealer: _Annealer,
    seed: int | None,
    num_reads: int,
    num_sweeps: int,
    beta_min: float | None = None,
    beta_max: float | None = None,
) -> tuple[np.ndarray, float, float]:
    """Final states (num_reads, n) of seeded chains from random starts, and the β range used."""
    hot, cold = annealer.beta_range()
    beta_min = hot if beta_min is None else float(beta_min)
    beta_max = cold if beta_max is None else float(beta_max)
    if not (0 < beta_min <= beta_max and np.isfinite(beta_max)):
        raise ConfigError(f"solver 'sa': need 0 < beta_min <= beta_max, got {beta_min}, {beta_max}")
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 2, size=(num_reads, annealer.n)).astype(float)
    betas = np.geomspace(beta_min, beta_max, num_sweeps)
    X = annealer.anneal(start, betas, rng) if annealer.n else start
    return X, beta_min, beta_max


def sample(
    qubo: BinaryProgram, seed: int | None = None, num_reads: int = 64, num_sweeps: int = 200
) -> np.ndarray:
    """Final states (num_reads, n) of annealing chains on an unconstrained QUBO: low-energy
    samples, e.g. the empirical correlations of graph shrinking."""
    return _run_chains(_Annealer(qubo, 1.0), seed, int(num_reads), int(num_sweeps))[0]


def solve(
    target: Any,
    *,
    seed: int | None = None,
    num_reads: int | None = DEFAULT_NUM_READS,
    num_sweeps: int | None = DEFAULT_NUM_SWEEPS,
    penalty: float | None = None,
    beta_min: float | None = None,
    beta_max: float | None = None,
) -> SolveResult:
    """Best feasible final state of ``num_reads`` annealing chains (deterministic per seed)."""
    num_reads = DEFAULT_NUM_READS if num_reads is None else int(num_reads)
    num_sweeps = DEFAULT_NUM_SWEEPS if num_sweeps is None else int(num_sweeps)
    if num_reads < 1 or num_sweeps < 1:
        raise ConfigError(
            f"solver 'sa': num_reads and num_sweeps must be >= 1, got {num_reads}, {num_sweeps}"
        )
    program = target.program if isinstance(target, Problem) else target
    if penalty is None:
        penalty = auto_penalty(program)
    if not (np.isfinite(penalty) and penalty > 0):
        raise ConfigError(f"solver 'sa': penalty must be a positive number, got {penalty}")
    annealer = _Annealer(program, float(penalty))
    X, beta_min, beta_max = _run_chains(annealer, seed, num_reads, num_sweeps, beta_min, beta_max)
    n = program.n_vars

    feasible = np.atleast_1d(np.asarray(target.violations(X))) <= FEAS_TOL
    info = {
        "p_feasible": float(feasible.mean()),
        "penalty": float(penalty),
        "beta_min": beta_min,
        "beta_max": beta_max,
        "num_reads": num_reads,
        "best_energy": float(annealer.energy(X).min()) if n else 0.0,
    }
    common = {"n_evaluations": num_reads * num_sweeps * n, "iterations": num_sweeps}
    if not feasible.any():
        info["reason"] = "no read ended feasible"
        return SolveResult(x=None, status="infeasible", info=info, **common)
    values = np.atleast_1d(np.asarray(target.objective(X), dtype=float))
    sign = 1.0 if target.sense == "min" else -1.0
    key = np.where(feasible, sign * values, np.inf)
    best = int(np.argmin(key))
    info["n_best"] = int(np.count_nonzero(np.isclose(key, key[best])))
    return SolveResult(
        x=X[best], status="feasible", objective=float(values[best]), info=info, **common
    )


def check_temperatures(params: dict[str, Any]) -> None:
    """Given both, the schedule heats nothing: beta_min <= beta_max (ConfigError otherwise)."""
    lo, hi = params.get("beta_min"), params.get("beta_max")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"need beta_min <= beta_max, got {lo} > {hi}")


SOLVER = Solver(
    name="sa",
    check=check_temperatures,
    solve=solve,
    params=(
        Param(
            "num_reads", int, DEFAULT_NUM_READS, "independent annealing chains", bounds="[1, inf)"
        ),
        Param(
            "num_sweeps", int, DEFAULT_NUM_SWEEPS, "Metropolis sweeps per chain", bounds="[1, inf)"
        ),
        Param(
            "penalty",
            float,
            None,
            "weight of squared violations (None: 1 + objective range)",
            bounds="(0, inf)",
        ),
        Param(
            "beta_min",
            float,
            None,
            "initial inverse temperature (None: from energy scale)",
            bounds="(0, inf)",
        ),
        Param(
            "beta_max",
            float,
            None,
            "final inverse temperature (None: from energy scale)",
            bounds="(0, inf)",
        ),
    ),
    description="simulated annealing (single-flip Metropolis, geometric schedule) on the "
    "penalised program; heuristic, returns the best feasible read",
)
