"""One run → one tidy row: load the instance, solve, evaluate on the original problem, record.

The row follows the schema of DESIGN.md; fields of later stages (encoder, backend, qubits) are
present and empty so every table has the same columns.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from qbench.errors import QbenchError
from qbench.problems import Problem
from qbench.provenance import provenance
from qbench.solvers import get_solver
from qbench.spec import load_spec

#: columns of the row, in order (DESIGN.md "Result row"); provenance fields follow
ROW_FIELDS = (
    "suite", "run_id", "problem", "instance", "n_vars", "encoder", "preprocess", "solver",
    "backend", "seed", "params", "n_qubits", "n_slack", "depth", "depth_transpiled",
    "two_qubit_gates", "shots", "n_evaluations", "iterations", "objective", "feasible",
    "best_known", "gap_pct", "approx_ratio", "bound", "p_feasible", "p_optimal", "repaired",
    "time_encode_s", "time_solve_s", "time_total_s", "qpu_time_s", "status", "solver_status",
    "error", "started_at", "finished_at",
)  # fmt: skip


def run_id(config: dict[str, Any]) -> str:
    """A stable 16-hex id of a run's canonical config (sorted keys, no whitespace)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def approx_ratio(problem: Problem, value: float | None) -> float | None:
    """Quality in (0, 1], 1 = best known: obj/opt for max, opt/obj for min (same-sign values)."""
    opt = problem.best_known
    if value is None or opt is None or opt == 0 or value == 0 or (opt > 0) != (value > 0):
        return None
    return value / opt if problem.sense == "max" else opt / value


def _number(value: Any) -> Any:
    """Plain Python numbers in the row (JSON- and SQLite-friendly), integral floats kept float."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def evaluate(problem: Problem, x: np.ndarray | None) -> dict[str, Any]:
    """Objective, feasibility and gap of a solution, computed on the original problem."""
    if x is None:
        return {"objective": None, "feasible": False, "gap_pct": None, "approx_ratio": None}
    objective = float(problem.objective(x))
    feasible = bool(problem.is_feasible(x))
    return {
        "objective": objective,
        "feasible": feasible,
        "gap_pct": problem.gap_pct(objective) if feasible else None,
        "approx_ratio": approx_ratio(problem, objective) if feasible else None,
    }


def run(
    spec: str,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    suite: str | None = None,
) -> dict[str, Any]:
    """Run one (instance, solver, seed) and return its row; bad input raises QbenchError."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    problem = load_spec(spec)
    chosen = get_solver(solver)
    parsed = chosen.parse_params(params or {})
    config = {"instance": spec, "encoder": None, "preprocess": None, "solver": solver,
              "params": parsed, "backend": None, "seed": seed}  # fmt: skip
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        suite=suite, run_id=run_id(config), problem=problem.kind, instance=problem.name or spec,
        n_vars=problem.n_vars, encoder="none", preprocess="none", solver=solver,
        backend="classical", seed=seed, params=json.dumps(parsed, sort_keys=True),
        best_known=problem.best_known, repaired=False,
    )  # fmt: skip
    t1 = time.perf_counter()
    try:
        result = chosen.solve(problem, seed=seed, **parsed)
    except QbenchError as exc:
        row.update(status="error", error=str(exc))
    else:
        row.update(evaluate(problem, result.x))
        row.update(
            bound=result.bound, n_evaluations=result.n_evaluations, iterations=result.iterations,
            solver_status=result.status,
        )  # fmt: skip
        if result.status in ("timeout", "infeasible", "error"):
            row["status"] = result.status
        else:
            row["status"] = "ok" if row["feasible"] else "infeasible"
        row["error"] = result.info.get("error")
    t2 = time.perf_counter()
    row.update(
        time_solve_s=t2 - t1, time_total_s=t2 - t0, started_at=started.isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    row.update(provenance())
    return {k: _number(v) for k, v in row.items()}
