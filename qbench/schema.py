"""The result row's schema: its columns in order (DESIGN.md "Result row"), shared by the run
pipeline that fills rows and the store and reports that read them.

Beyond DESIGN.md's fields: ``sense`` (min/max of the problem), ``label`` (a suite solver
table's name for its configuration), ``deterministic`` (the solver's answer does not depend on
the seed, so a suite runs it once per instance), ``reference_kind`` (where ``best_known`` comes
from: published, optimal — proven by qbench — or best_found)."""

from __future__ import annotations

#: a row's ``status`` values of runs that gave no answer: refused or failed, or killed at the
#: timeout
FAILED_STATUSES = ("error", "timeout")

#: columns of the row, in order; provenance fields follow (qbench.provenance)
ROW_FIELDS = (
    "suite", "run_id", "problem", "sense", "instance", "n_vars", "encoder", "preprocess",
    "solver", "label", "backend", "seed", "deterministic", "params", "n_qubits", "n_slack",
    "n_qubits_before", "shrink_ratio",
    "depth", "depth_transpiled", "two_qubit_gates", "two_qubit_gates_transpiled", "swaps",
    "routing", "device", "mitigation", "shots", "n_evaluations", "iterations",
    "objective", "feasible", "best_known", "reference_kind", "gap_pct", "approx_ratio", "bound",
    "p_feasible",
    "p_optimal", "repaired", "repair_moves", "objective_raw", "feasible_raw", "gap_pct_raw",
    "local_moves", "feasible_move", "gap_pct_move", "time_encode_s",
    "time_preprocess_s", "time_solve_s", "time_total_s", "qpu_time_s", "queue_time_s", "jobs",
    "job_ids", "status",
    "solver_status", "error", "started_at", "finished_at",
)  # fmt: skip
