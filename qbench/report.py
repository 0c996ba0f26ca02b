"""Tables, plots and exports of a suite's stored rows (``qbench table | plot | export``).

Everything here reads a tidy DataFrame (one row per run, as ``qbench.store.Store.dataframe``
returns it) and never touches the runs themselves, so reports can be redrawn at any time.

Aggregation (``table``): rows are grouped by the ``by`` columns (missing values form their own
group); each group reports ``runs`` (rows in the group) and ``errors`` (rows with status
"error", e.g. refused for memory), then one column per metric over the runs that did not
fail and have a value. A boolean metric (``feasible``, ``repaired``, ...) is the fraction of
those runs where it is true, whatever ``agg``; a numeric metric is their mean, median, min or
max. With ``agg="mean"`` the first numeric (non-boolean) metric is followed by ``<metric>_std``, its
sample standard deviation (ddof = 1; missing for a single value). Rows are sorted by the ``by``
columns in natural order (numbers numerically, "1tc.8" before "1tc.16", missing last).
Numbers print with 4 significant digits, integral values without decimals (as ``qbench
solve`` prints them); CSV keeps 10 significant digits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qbench.errors import ConfigError
from qbench.store import Store
from qbench.tables import FORMATS as TABLE_FORMATS
from qbench.tables import csv_table, format_table, latex_table

DEFAULT_BY = ("problem", "instance", "solver", "encoder")
DEFAULT_METRICS = ("objective", "gap_pct", "feasible", "p_feasible", "time_total_s")
AGGS = ("mean", "median", "min", "max")
EXPORT_FORMATS = ("parquet", "csv")
#: row fields that are booleans (SQLite may hand them back as 0/1)
BOOLEAN_FIELDS = frozenset({"feasible", "feasible_raw", "repaired", "git_dirty"})

#: plot kind -> (x column, y column, x label, y label, log y)
KINDS: dict[str, tuple[str, str, str, str, bool]] = {
    "feasibility_vs_size": ("n_vars", "feasible", "problem variables", "fraction feasible", False),
    "raw_feasibility_vs_size": (
        "n_vars",
        "feasible_raw",
        "problem variables",
        "fraction feasible before repair",
        False,
    ),
    "gap_vs_size": ("n_vars", "gap_pct", "problem variables", "gap to best known (%)", False),
    "gap_vs_qubits": ("n_qubits", "gap_pct", "qubits", "gap to best known (%)", False),
    "time_vs_qubits": ("n_qubits", "time_total_s", "qubits", "total time (s)", True),
}
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p")


# ---------------------------------------------------------------------------- helpers


def _columns(items: Iterable[str] | str) -> list[str]:
    """Column names from a list and/or comma-separated strings (``--by problem,solver``)."""
    if isinstance(items, str):
        items = [items]
    return [name.strip() for item in items for name in item.split(",") if name.strip()]


def _plain(value: Any) -> Any:
    """A Python scalar (numpy scalars unwrapped, NaN/NA as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _is_boolean(series: pd.Series) -> bool:
    """True for a boolean column: a known boolean field, bool dtype, or only bools stored."""
    if series.name in BOOLEAN_FIELDS or pd.api.types.is_bool_dtype(series):
        return True
    if series.dtype == object:
        values = series.dropna()
        return len(values) > 0 and all(isinstance(v, bool | np.bool_) for v in values)
    return False


def _is_numeric(series: pd.Series) -> bool:
    """True for a column usable as a metric: numbers or booleans (an all-empty column too)."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    if series.dtype == object:
        return all(isinstance(v, int | float | np.number | np.bool_) for v in series.dropna())
    return False


def _as_float(series: pd.Series) -> pd.Series:
    """The column as float64 with NaN for missing (booleans as 0/1)."""
    return pd.to_numeric(series.map(_plain), errors="coerce").astype(float)


def _natural_key(value: Any) -> tuple:
    """Sort key: numbers numerically, strings with digit runs as numbers, missing last."""
    value = _plain(value)
    if value is None:
        return (2,)
    if isinstance(value, int | float):
        return (0, float(value))
    parts = re.split(r"(\d+)", str(value))
    return (1, tuple(int(p) if i % 2 else p for i, p in enumerate(parts)))


def _check_columns(df: pd.DataFrame, by: Sequence[str], metric: Sequence[str]) -> None:
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        raise ConfigError(
            f"unknown --by column(s) {', '.join(unknown)}; allowed: {', '.join(df.columns)}"
        )
    numeric = [c for c in df.columns if _is_numeric(df[c])]
    bad = [c for c in metric if c not in numeric]
    if bad:
        raise ConfigError(
            f"unknown or non-numeric --metric column(s) {', '.join(bad)}; "
            f"allowed: {', '.join(numeric)}"
        )


# ---------------------------------------------------------------------------- table


def aggregate(
    df: pd.DataFrame,
    by: Sequence[str] = DEFAULT_BY,
    metric: Sequence[str] = DEFAULT_METRICS,
    agg: str = "mean",
) -> pd.DataFrame:
    """The aggregated table as a DataFrame: ``by`` columns, runs, errors, metrics (sorted)."""
    by, metric = _columns(by), _columns(metric)
    if agg not in AGGS:
        raise ConfigError(f"unknown aggregation {agg!r}; allowed: {', '.join(AGGS)}")
    if not by:
        raise ConfigError(f"--by needs at least one column; allowed: {', '.join(df.columns)}")
    _check_columns(df, by, metric)
    boolean = {m: _is_boolean(df[m]) for m in metric}
    values = {m: _as_float(df[m]) for m in metric}
    std_of = next((m for m in metric if not boolean[m]), None) if agg == "mean" else None
    if "status" in df:
        errors = (df["status"] == "error").fillna(False).astype(bool)
        values = {m: v.where(~errors) for m, v in values.items()}
    else:
        errors = None

    columns = [*by, "runs", "errors"]
    for m in metric:
        columns += [m, f"{m}_std"] if m == std_of else [m]
    rows = []
    keyed = df[by].astype(object)  # so NaN/None keys group together and keep their types
    for keys, part in keyed.groupby(by, dropna=False, sort=False):
        index = part.index
        row: dict[str, Any] = {c: _plain(k) for c, k in zip(by, keys)}
        row["runs"] = len(index)
        row["errors"] = int(errors.loc[index].sum()) if errors is not None else 0
        for m in metric:
            v = values[m].loc[index].dropna().to_numpy()
            if len(v) == 0:
                row[m] = None
            elif boolean[m]:
                row[m] = float(v.mean())
            else:
                row[m] = float(getattr(np, agg)(v))
            if m == std_of:
                row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else None
        rows.append(row)
    rows.sort(key=lambda r: tuple(_natural_key(r[c]) for c in by))
    return pd.DataFrame(rows, columns=columns)


def table(
    df: pd.DataFrame,
    by: Sequence[str] = DEFAULT_BY,
    metric: Sequence[str] = DEFAULT_METRICS,
    agg: str = "mean",
    fmt: str = "md",
) -> str:
    """The runs aggregated over seeds (see the module doc) as Markdown, LaTeX or CSV text."""
    if fmt not in TABLE_FORMATS:
        raise ConfigError(f"unknown table format {fmt!r}; allowed: {', '.join(TABLE_FORMATS)}")
    agg_df = aggregate(df, by, metric, agg)
    columns = list(agg_df.columns)
    if fmt == "csv":
        return csv_table(agg_df)
    rows = [{c: _plain(v) for c, v in r.items()} for r in agg_df.to_dict("records")]
    if fmt == "md":
        return format_table(rows, columns)
    return latex_table(rows, columns, n_left=len(_columns(by)))


# ---------------------------------------------------------------------------- plot


def _line_label(solver: Any, encoder: Any, preprocess: Any = None) -> str:
    """The line of a run in plots: solver, then encoder and preprocessing when there are any."""
    label = str(solver) if _plain(encoder) in (None, "none") else f"{solver} + {encoder}"
    return label if _plain(preprocess) in (None, "none") else f"{label} + {preprocess}"


def plot_data(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """What ``plot`` draws: per line (solver [+ encoder] [+ preprocessing]) and x, the mean y
    over the runs (seeds and same-size instances; error rows left out), its standard error and
    count."""
    if kind not in KINDS:
        raise ConfigError(f"unknown plot kind {kind!r}; allowed: {', '.join(KINDS)}")
    xcol, ycol, _, _, logy = KINDS[kind]
    missing = [c for c in (xcol, ycol, "solver", "encoder") if c not in df.columns]
    if missing:
        raise ConfigError(f"cannot plot {kind}: the rows have no column(s) {', '.join(missing)}")
    ok = df if "status" not in df else df[(df["status"] != "error").fillna(True)]
    pre = ok["preprocess"] if "preprocess" in ok else [None] * len(ok)
    data = pd.DataFrame({
        "line": [_line_label(s, e, p) for s, e, p in zip(ok["solver"], ok["encoder"], pre)],
        "x": _as_float(ok[xcol]).to_numpy(), "y": _as_float(ok[ycol]).to_numpy(),
    }).dropna()  # fmt: skip
    if logy:
        data = data[data["y"] > 0]
    if data.empty:
        hint = " (the gap needs instances with a best known value)" if ycol == "gap_pct" else ""
        raise ConfigError(
            f"nothing to plot for {kind}: no successful runs with {xcol} and {ycol}{hint}"
        )
    stats = data.groupby(["line", "x"])["y"].agg(["mean", "std", "count"]).reset_index()
    stats["sem"] = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
    order = sorted(range(len(stats)), key=lambda i: (_natural_key(stats["line"][i]), stats["x"][i]))
    out = stats.iloc[order][["line", "x", "mean", "sem", "count"]].reset_index(drop=True)
    return out.rename(columns={"count": "runs"})


def _figure(**kwargs: Any):
    """A matplotlib Figure (no pyplot: no global backend state), or ConfigError saying how to
    install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "plots need matplotlib, which is not installed: pip install matplotlib "
            '(or pip install -e ".[plot]")'
        ) from None
    return Figure(layout="tight", **kwargs)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path


def plot(df: pd.DataFrame, kind: str, path: str | Path) -> Path:
    """Draw one of ``KINDS`` to a PNG (dpi 150): one line per (solver, encoder) with markers,
    the mean over the runs at each x and standard-error bars (``plot_data``). Needs
    matplotlib (the ``plot`` extra)."""
    data = plot_data(df, kind)
    _, _, xlabel, ylabel, logy = KINDS[kind]
    fig = _figure(figsize=(6.4, 4.8))
    ax = fig.add_subplot()
    for i, (label, line) in enumerate(data.groupby("line", sort=False)):
        ax.errorbar(line["x"], line["mean"], yerr=line["sem"], marker=MARKERS[i % len(MARKERS)],
                    capsize=3, label=label)  # fmt: skip
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(kind.replace("_", " "))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path)


def plot_trajectory(df: pd.DataFrame, path: str | Path) -> Path:
    """Save a two-panel plot of a Lagrangian multiplier search's trajectory
    (``result.info["trajectory"]`` of :mod:`qbench.solvers.lagrangian`): dual value, best dual
    value and objectives per iteration above, the multipliers below."""
    fig = _figure(figsize=(7, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    it = df["iteration"]
    top.plot(it, df["dual_bound"], label="dual value s·L(λ)")
    top.plot(it, df["best_bound"], label="best dual value", linestyle="--")
    top.plot(it, df["objective"], label="inner solution objective", alpha=0.5)
    top.plot(it, df["best_objective"], label="best feasible objective", linestyle=":")
    top.set_ylabel("objective")
    top.legend(loc="best", fontsize="small")
    for col in [c for c in df.columns if c.startswith("lam_")]:
        bottom.plot(it, df[col], linewidth=0.8)
    bottom.set_xlabel("iteration")
    bottom.set_ylabel("multipliers λ")
    return _save(fig, path)


# ---------------------------------------------------------------------------- export


def export(df: pd.DataFrame, path: str | Path, fmt: str = "csv") -> Path:
    """Write all rows (every column) as Parquet (needs pyarrow) or CSV; returns the path."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; allowed: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                "parquet export needs pyarrow, which is not installed: pip install pyarrow "
                "(or use --format csv)"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------- loading


def load(folder: str | Path) -> pd.DataFrame:
    """The stored rows of a suite's output folder; ConfigError when it holds no results."""
    folder = Path(folder)
    if not (folder / "results.sqlite").is_file():
        raise ConfigError(
            f"no results in {folder}: {folder / 'results.sqlite'} not found "
            "(run `qbench run SUITE` first)"
        )
    with Store(folder) as store:
        df = store.dataframe()
    if df.empty:
        raise ConfigError(f"no runs stored in {folder / 'results.sqlite'} yet")
    return df
