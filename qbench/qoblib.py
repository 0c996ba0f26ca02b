"""QOBLIB submissions: a results folder in the Quantum Optimization Benchmark Library's format
(arXiv:2504.03832), so qbench results can be submitted to its track records.

:func:`submission` gives one row per instance and configuration with QOBLIB's columns (best
objective, bound, modelling approach, variables, workflow, runs, feasible and successful runs,
runtimes); :func:`write_submission` writes it as ``submission.csv`` beside one ``.sol`` file per
instance and configuration: the best stored solution as QOBLIB writes solutions
(``# Objective value = V``, then ``x#k value`` per variable, 1-based).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from qbench.report import SUCCESS_GAP

#: QOBLIB's submission columns, in its order
COLUMNS = (
    "Problem Identifier", "Submitter", "Date", "Reference", "Best Objective Value",
    "Optimality Bound", "Modelling Approach", "# Decision Variables", "# Binary Variables",
    "# Integer Variables", "Continuous Variables", "Decision Variables Range",
    "# Non-Zero Coefficients", "Coefficient Type", "Coefficient Range", "Workflow",
    "Algorithm Type", "# Runs", "# Feasible Runs", "# Successful Runs", "Success Threshold",
    "Total Runtime", "CPU Runtime", "GPU Runtime", "QPU Runtime", "Other HW Runtime",
)  # fmt: skip
NA = "N/A"
_MODELLING = {
    "qubo": "QUBO (penalty, slack variables)",
    "unbalanced": "QUBO (unbalanced penalization, slack-free)",
    "lagrangian": "QUBO (Lagrangian relaxation, slack-free)",
}


def _number(value: float) -> str:
    return f"{value:g}" if np.isfinite(value) else NA


def _seconds(values: pd.Series) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return f"{values.sum():.1f}s" if len(values) else NA


def _best_run(group: pd.DataFrame) -> pd.Series | None:
    ok = group[group["feasible"].eq(True) & group["objective"].notna()]
    if ok.empty:
        return None
    sense = ok["sense"].iloc[0]
    values = pd.to_numeric(ok["objective"])
    return ok.loc[values.idxmin() if sense == "min" else values.idxmax()]


def submission(
    df: pd.DataFrame, submitter: str = "qbench", success_gap: float = SUCCESS_GAP
) -> pd.DataFrame:
    """QOBLIB's submission table of a results table (:func:`qbench.report.load`, with
    ``solutions=True`` when the ``.sol`` files are wanted): one row per instance and
    configuration (``config``); error rows count as runs, not as feasible ones."""
    rows = []
    for (instance, config), group in df.groupby(["instance", "config"], sort=True):
        best = _best_run(group)
        first = group.iloc[0]
        encoder = str(first.get("encoder") or "none")
        qubits = first.get("n_qubits")
        variables = int(qubits) if pd.notna(qubits) else int(first["n_vars"])
        bounds = pd.to_numeric(group.get("bound"), errors="coerce").dropna()
        sense = first.get("sense")
        bound = (bounds.max() if sense == "min" else bounds.min()) if len(bounds) else np.nan
        finished = pd.to_datetime(group["finished_at"], errors="coerce").dropna()
        rev = first.get("git_rev")
        gaps = pd.to_numeric(group.get("gap_pct"), errors="coerce")
        # an optimum of 0 (a perfect market split) has no relative gap: success is hitting it
        feasible = group["feasible"].eq(True)
        exact = (
            (pd.to_numeric(group["best_known"], errors="coerce") == 0)
            & (pd.to_numeric(group["objective"], errors="coerce") == 0)
            & feasible
        )
        rows.append({
            "Problem Identifier": instance,
            "Submitter": submitter,
            "Date": finished.max().date().isoformat() if len(finished) else NA,
            "Reference": f"qbench {first.get('qbench_version') or ''}".strip()
            + (f" (git {str(rev)[:12]})" if isinstance(rev, str) else ""),
            "Best Objective Value": _number(float(best["objective"])) if best is not None else NA,
            "Optimality Bound": _number(float(bound)),
            "Modelling Approach": _MODELLING.get(encoder, "binary program (no QUBO)"),
            "# Decision Variables": variables,
            "# Binary Variables": variables,
            "# Integer Variables": 0,
            "Continuous Variables": 0,
            "Decision Variables Range": "{0, 1}",
            "# Non-Zero Coefficients": NA,
            "Coefficient Type": NA,
            "Coefficient Range": NA,
            "Workflow": f"qbench: {config} (solver {first['solver']}, encoder {encoder}, "
            f"preprocess {first.get('preprocess') or 'none'}, params {first.get('params')})",
            "Algorithm Type": "Deterministic" if bool(first.get("deterministic")) else "Stochastic",
            "# Runs": len(group),
            "# Feasible Runs": int(feasible.sum()),
            "# Successful Runs": int(((gaps <= success_gap) | exact).sum()),
            "Success Threshold": f"gap to the best known value <= {success_gap:g} % "
            "(a best known 0: equal to it)",
            "Total Runtime": _seconds(group["time_total_s"]),
            "CPU Runtime": _seconds(group["time_total_s"]),
            "GPU Runtime": NA,
            "QPU Runtime": _seconds(group["qpu_time_s"]) if "qpu_time_s" in group else NA,
            "Other HW Runtime": NA,
            "_config": config,
            "_x": best.get("x") if best is not None else None,
            "_objective": float(best["objective"]) if best is not None else None,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=[*COLUMNS, "_config", "_x", "_objective"])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"


def write_submission(
    df: pd.DataFrame, folder: str | Path, submitter: str = "qbench",
    success_gap: float = SUCCESS_GAP,
) -> Path:  # fmt: skip
    """Write ``submission.csv`` and the best solution of each row as ``.sol`` into ``folder``;
    returns the CSV's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = submission(df, submitter, success_gap)
    for instance, config, x, value in zip(
        table["Problem Identifier"], table["_config"], table["_x"], table["_objective"]
    ):
        if not isinstance(x, str):  # no feasible run, or loaded without solutions
            continue
        lines = ["# Solution written by qbench", f"# Objective value = {value:g}"]
        lines += [f"x#{i + 1} {bit}" for i, bit in enumerate(x)]
        (folder / f"{_slug(f'{instance}-{config}')}.sol").write_text("\n".join(lines) + "\n")
    path = folder / "submission.csv"
    table[list(COLUMNS)].to_csv(path, index=False)
    return path
