"""The brute solver: exact enumeration, the ground truth for small instances.

A BinaryProgram (or a Problem through its own objective and violations) is solved by evaluating
all 2ⁿ bitstrings in vectorised chunks: bit i of the state index is variable i. A
PermutationProblem is solved over its n! permutations instead of 2^(n²) bitstrings ((n-1)! when
the class declares ``perm_symmetric_start``, e.g. a closed tour fixed to start at city 0).
Ties keep the first optimum in enumeration order, so results are deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from qbench.errors import ConfigError, ResourceError
from qbench.params import Param
from qbench.problems.base import PermutationProblem
from qbench.program import FEAS_TOL
from qbench.solvers.base import Solver, SolveResult

DEFAULT_MAX_VARS = 26
DEFAULT_MAX_PERM = 10
DEFAULT_CHUNK = 1 << 16


def solve(
    target: Any,
    *,
    seed: int | None = None,
    max_vars: int | None = DEFAULT_MAX_VARS,
    max_perm: int | None = DEFAULT_MAX_PERM,
    chunk: int | None = DEFAULT_CHUNK,
) -> SolveResult:
    """Exact optimum by enumeration; ``seed`` is ignored (the method is deterministic)."""
    max_vars = DEFAULT_MAX_VARS if max_vars is None else int(max_vars)
    max_perm = DEFAULT_MAX_PERM if max_perm is None else int(max_perm)
    chunk = DEFAULT_CHUNK if chunk is None else int(chunk)
    if chunk < 1:
        raise ConfigError(f"solver 'brute': chunk must be >= 1, got {chunk}")
    if target.sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {target.sense!r}")
    if isinstance(target, PermutationProblem):
        return _solve_permutations(target, max_perm, chunk)
    return _solve_bitstrings(target, max_vars, chunk)


def _solve_bitstrings(target: Any, max_vars: int, chunk: int) -> SolveResult:
    """Enumerate all 2ⁿ bitstrings, keeping the best feasible one."""
    n = int(target.n_vars)
    if n > max_vars:
        raise ResourceError(
            f"brute force over n={n} binary variables means 2^{n} = {2**n:,} states; "
            f"the limit is max_vars={max_vars} (2^{max_vars} = {2**max_vars:,} states)"
        )
    total = 1 << n
    sign = 1.0 if target.sense == "min" else -1.0
    shifts = np.arange(n, dtype=np.int64)
    best_key, best_x, best_value = np.inf, None, None
    n_feasible = 0
    for start in range(0, total, chunk):
        idx = np.arange(start, min(start + chunk, total), dtype=np.int64)
        X = ((idx[:, None] >> shifts) & 1).astype(float)
        feasible = np.atleast_1d(np.asarray(target.violations(X))) <= FEAS_TOL
        count = int(feasible.sum())
        if not count:
            continue
        n_feasible += count
        candidates = X[feasible]
        values = np.atleast_1d(np.asarray(target.objective(candidates), dtype=float))
        j = int(np.argmin(sign * values))
        if sign * values[j] < best_key:
            best_key, best_x, best_value = sign * values[j], candidates[j], float(values[j])
    info = {"method": "bitstrings", "n_feasible": n_feasible}
    if best_x is None:
        return SolveResult(x=None, status="infeasible", n_evaluations=total, info=info)
    return SolveResult(
        x=best_x,
        status="optimal",
        objective=best_value,
        bound=best_value,
        n_evaluations=total,
        info=info,
    )


def _solve_permutations(problem: PermutationProblem, max_perm: int, chunk: int) -> SolveResult:
    """Enumerate the permutations (perm[0] = 0 fixed when the problem allows it)."""
    n = int(problem.perm_size)
    fixed = 1 if problem.perm_symmetric_start and n > 1 else 0
    free = n - fixed
    total = math.factorial(free)
    if free > max_perm:
        what = f"(n-1)! = {free}!" if fixed else f"n! = {n}!"
        raise ResourceError(
            f"brute force over the permutations of n={n} items means {what} = {total:,} "
            f"permutations; the limit is max_perm={max_perm} free items "
            f"({max_perm}! = {math.factorial(max_perm):,} permutations)"
        )
    sign = 1.0 if problem.sense == "min" else -1.0
    best_key, best_perm, best_value = np.inf, None, None
    for block in _permutation_blocks(n, fixed, chunk):
        costs = np.atleast_1d(np.asarray(problem.permutation_costs(block), dtype=float))
        j = int(np.argmin(sign * costs))
        if sign * costs[j] < best_key:
            best_key, best_perm, best_value = sign * costs[j], block[j].copy(), float(costs[j])
    return SolveResult(
        x=problem.perm_to_x(best_perm),
        status="optimal",
        objective=best_value,
        bound=best_value,
        n_evaluations=total,
        info={"method": "permutations", "perm": best_perm.tolist(), "fixed_first": bool(fixed)},
    )


def _permutation_blocks(n: int, fixed: int, chunk: int) -> Iterator[np.ndarray]:
    """All permutations of range(n) with the first ``fixed`` values in place, lexicographically.

    A table of the permutations of the last ``s`` free positions (the largest s with s! <= chunk)
    is built once; each prefix of the remaining positions (from itertools) is then broadcast
    against it, so every block of s! rows is produced without a Python loop over rows.
    """
    values = np.arange(fixed, n)
    free = n - fixed
    s = 0
    while s < free and math.factorial(s + 1) <= chunk:
        s += 1
    table = np.array(list(itertools.permutations(range(s))), dtype=np.intp).reshape(-1, s)
    k = free - s
    for prefix in itertools.permutations(values, k):
        rest = np.setdiff1d(values, prefix, assume_unique=True)  # sorted: keeps lexicographic
        block = np.empty((table.shape[0], n), dtype=np.intp)
        block[:, :fixed] = np.arange(fixed)
        block[:, fixed : fixed + k] = prefix
        block[:, fixed + k :] = rest[table]
        yield block


SOLVER = Solver(
    name="brute",
    deterministic=True,
    solve=solve,
    params=(
        Param(
            "max_vars",
            int,
            DEFAULT_MAX_VARS,
            "refuse binary programs with more variables",
            bounds="[1, inf)",
        ),
        Param(
            "max_perm",
            int,
            DEFAULT_MAX_PERM,
            "refuse permutation problems with more freely permuted items (10! = 3.6M)",
            bounds="[1, inf)",
        ),
        Param(
            "chunk", int, DEFAULT_CHUNK, "states evaluated per vectorised batch", bounds="[1, inf)"
        ),
    ),
    description="exact enumeration of all bitstrings (or permutations); small instances only",
)
