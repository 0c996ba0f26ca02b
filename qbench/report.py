"""Tables, figures and exports of a suite's stored rows (``qbench table | plot | export``).

Everything here reads a tidy DataFrame (one row per run, as ``qbench.store.Store.dataframe``
returns it) and never touches the runs themselves, so reports can be redrawn at any time.

Derived columns (``derive``; ``load`` and every report apply it, so a study's swept settings
never vanish):

- **parameters that vary** — the ``params`` JSON of a row holds every solver parameter and the
  encoder's as ``encoder.KEY`` (dict values such as ``backend_options`` as ``KEY.SUBKEY``). A
  key whose value differs between rows of one solver becomes a column
  named by the key (``p``, ``maxiter``, ``encoder.penalty``); a key that names an existing
  column with other values is prefixed ``param.`` (``param.objective``), one whose values that
  column already holds (``backend``) is that column. Any other key is expanded on request
  (``--by maxiter``, ``--x p``). Lists are JSON text.
- ``config`` — a readable name of the run's configuration: the row's ``label`` (else its
  solver), then the parameters that vary within that label (or solver) on one instance
  (``QAOA p=2``, ``qaoa p=2``; a backend chosen per instance size does not split a line),
  `` + encoder`` where the label or solver has several, `` + preprocess`` unless ``none``
  (for a label: where it has several).
- ``relative_quality`` — objective / best known in the problem's sense (obj/opt for max,
  opt/obj for min; 1 is optimal): the row's ``approx_ratio``, empty for infeasible answers.
- ``success`` — the run's answer is within ``success_gap`` % of the best known value (QOBLIB's
  "successful run": feasible with gap_pct <= threshold, default 1 %); false for infeasible or
  timed-out answers, empty without a best known value. The metric ``successes`` counts them.
- ``tts99_s`` — time to solution at 99 %: ``TTS = t · ln(1 − 0.99) / ln(1 − p)`` (Rønnow et
  al., Science 345, 420 (2014); Albash & Lidar, PRX 8, 031016 (2018)) with t the run's
  ``time_solve_s`` and p its ``p_optimal``, the probability that ONE sample of the final state
  is optimal: each run counts as a trial that succeeds with p, a pessimistic reading for a run
  that keeps the best of ``shots`` samples. Rows without ``p_optimal`` (classical solvers
  return one answer) take p = 1 when their answer is optimal (gap 0) and 0 when it is not.
  TTS = t when p >= 0.99 and ∞ when p = 0 (the optimum was never seen).

Aggregation (``table``): rows are grouped by the ``by`` columns (missing values form their own
group; by default problem, instance, solver, encoder, then ``preprocess``/``label`` where they
tell runs of one solver and encoder apart, then the varying parameters, so a suite without
swept settings prints what it always did). Each group reports ``runs`` (rows in the group)
and ``errors`` (rows with status "error", e.g. refused for memory), then one column per metric
over the runs that did not fail and have a value. A boolean metric (``feasible``, ``success``,
...) is the fraction of those runs where it is true, whatever ``agg``; ``successes`` is a
count; a numeric metric is their mean, median, min or max. With ``agg="mean"`` the first
numeric (non-boolean) metric is followed by ``<metric>_std``, its sample standard deviation
(ddof = 1; missing for a single value). A metric computed over fewer runs than ``runs −
errors`` in some group (no gap for infeasible answers, no p_feasible for classical runs) is
followed by ``n_<metric>``, the runs it covers. Rows are sorted by the ``by`` columns in
natural order (numbers numerically, "1tc.8" before "1tc.16", missing last). Numbers print
with 4 significant digits, integral values without decimals (as ``qbench solve`` prints them);
CSV keeps 10 significant digits.

Figures (``plot``): one line per configuration and instance group, one panel per ``facet``
value (default: per problem when there are several), so runs of different problems or
configurations never share a line; a ``hue`` column instead draws one line per value of it,
pooling the configurations that share the value (rows without one keep their configuration).
Where x is a property of the instance (``n_vars``) a point pools the seeds and the same-size
instances of its problem; where x is a measured resource (``n_qubits``) a point is one problem
size and the line follows the size (classical runs, which have no qubits, sit at their problem
variables, dashed); where x is a parameter (``--x p``) there is one line (or panel) per problem
size. Points are means with ± standard-error bars, or medians with interquartile bars
(``stat``); a caption under the axes says which and over how many runs. PNG, PDF or SVG by the
file's suffix.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qbench.errors import ConfigError
from qbench.schema import FAILED_STATUSES, ROW_FIELDS
from qbench.store import Store
from qbench.tables import FORMATS as TABLE_FORMATS
from qbench.tables import csv_table, format_table, format_value, latex_table

DEFAULT_BY = ("problem", "instance", "solver", "encoder")
DEFAULT_METRICS = ("objective", "gap_pct", "feasible", "p_feasible", "time_total_s")
AGGS = ("mean", "median", "min", "max")
EXPORT_FORMATS = ("parquet", "csv")
FIGURE_FORMATS = ("png", "pdf", "svg")
STATS = ("mean", "median")
#: row fields that are booleans (SQLite may hand them back as 0/1)
BOOLEAN_FIELDS = frozenset({"feasible", "feasible_raw", "repaired", "git_dirty", "success"})
#: the default threshold of a successful run: gap to the best known value in percent
SUCCESS_GAP = 1.0
#: the success probability time-to-solution aims at
TTS_TARGET = 0.99
#: count metrics: name -> the boolean column whose true values they count
COUNT_METRICS = {"successes": "success"}
#: the columns ``derive`` adds beside the expanded parameters
DERIVED = ("config", "relative_quality", "success", "tts99_s")
#: columns that are properties of the instance, not of the run
INSTANCE_COLUMNS = frozenset({"problem", "instance", "n_vars", "best_known", "sense"})
#: quantities in [0, 1]: figures show them on [0, 1.05]
UNIT_INTERVAL = frozenset({
    "feasible", "feasible_raw", "success", "p_feasible", "p_optimal", "relative_quality",
    "approx_ratio",
})  # fmt: skip
#: axis titles with units
LABELS = {
    "n_vars": "problem size (binary variables)",
    "n_qubits": "qubits",
    "n_qubits_before": "qubits before shrinking",
    "p": "QAOA layers p",
    "reps": "ansatz repetitions",
    "maxiter": "optimizer evaluations (budget)",
    "shots": "shots",
    "depth": "circuit depth (layers of gates)",
    "two_qubit_gates": "two-qubit gates",
    "gap_pct": "gap to best known (%)",
    "gap_pct_raw": "gap of the solver's own answer (%)",
    "gap_pct_move": "gap after the paper's one best move (%)",
    "objective": "objective value",
    "time_total_s": "total time per run (s)",
    "time_solve_s": "solve time per run (s)",
    "tts99_s": "time to solution, 99 % (s)",
    "feasible": "feasible answers (fraction of runs)",
    "feasible_raw": "feasible before repair (fraction of runs)",
    "p_feasible": "probability of a feasible sample",
    "p_optimal": "probability of an optimal sample",
    "relative_quality": "approximation ratio (1 = best known)",
    "approx_ratio": "approximation ratio (1 = best known)",
}
#: Okabe–Ito colours (colour-blind safe, yellow left out), then matplotlib's tab10
COLORS = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f",
)  # fmt: skip
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p")


@dataclass(frozen=True)
class Kind:
    """A figure kind: x and y columns, the title in words, log y axis, default statistic."""

    x: str
    y: str
    title: str
    logy: bool = False
    stat: str = "mean"


KINDS: dict[str, Kind] = {
    "feasibility_vs_size": Kind("n_vars", "feasible", "Feasible answers vs problem size"),
    "raw_feasibility_vs_size": Kind(
        "n_vars", "feasible_raw", "Feasible answers before repair vs problem size"
    ),
    "gap_vs_size": Kind("n_vars", "gap_pct", "Gap to the best known value vs problem size"),
    "gap_vs_qubits": Kind("n_qubits", "gap_pct", "Gap to the best known value vs qubits"),
    "time_vs_qubits": Kind("n_qubits", "time_total_s", "Run time vs qubits", logy=True),
    "time_vs_size": Kind("n_vars", "time_total_s", "Run time vs problem size", logy=True),
    "ratio_vs_size": Kind("n_vars", "relative_quality", "Approximation ratio vs problem size"),
    "ratio_vs_p": Kind("p", "relative_quality", "Approximation ratio vs QAOA layers"),
    "success_vs_size": Kind("n_vars", "success", "Successful runs vs problem size"),
    "p_feasible_vs_size": Kind(
        "n_vars", "p_feasible", "Probability of a feasible sample vs problem size"
    ),
    "p_optimal_vs_size": Kind(
        "n_vars", "p_optimal", "Probability of an optimal sample vs problem size"
    ),
    "tts_vs_size": Kind(
        "n_vars", "tts99_s", "Time to solution (99 %) vs problem size", logy=True, stat="median"
    ),
}


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


def _text(value: Any) -> str:
    """A parameter value in a name: booleans as JSON (true/false), numbers as tables print."""
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return format_value(value)


def _check_columns(df: pd.DataFrame, by: Sequence[str], metric: Sequence[str]) -> None:
    unknown = [c for c in by if c not in df.columns]
    if unknown:
        raise ConfigError(
            f"unknown --by column(s) {', '.join(unknown)}; allowed: {', '.join(df.columns)}"
        )
    numeric = [c for c in df.columns if _is_numeric(df[c])] + list(COUNT_METRICS)
    bad = [c for c in metric if c not in numeric]
    if bad:
        raise ConfigError(
            f"unknown or non-numeric --metric column(s) {', '.join(bad)}; "
            f"allowed: {', '.join(numeric)}"
        )


# ---------------------------------------------------------------------------- derived columns


def time_to_solution(t_run: float | None, p: float | None, target: float = TTS_TARGET) -> float:
    """TTS at ``target``: ``t_run · ln(1 − target) / ln(1 − p)`` — the time to repeat a run
    that succeeds with probability p until one succeeded with probability ``target`` (Rønnow
    et al. 2014). ``t_run`` when p >= target, ∞ when p = 0, NaN when either is unknown."""
    t_run, p = _plain(t_run), _plain(p)
    if t_run is None or p is None:
        return math.nan
    if p >= target:
        return float(t_run)
    if p <= 0:
        return math.inf
    return float(t_run) * math.log1p(-target) / math.log1p(-p)


def _param_value(value: Any) -> Any:
    """A parameter value as a column holds it: scalars as they are, lists as JSON text."""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def _param_dicts(df: pd.DataFrame) -> list[dict[str, Any] | None]:
    """Each row's parameters as a flat dict (``backend_options.mitigation``), None when the
    row has no readable ``params``."""
    if "params" not in df.columns:
        return [None] * len(df)
    out: list[dict[str, Any] | None] = []
    for text in df["params"]:
        text = _plain(text)
        try:
            raw = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            out.append(None)
            continue
        flat: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, dict) and value:
                flat.update({f"{key}.{k}": _param_value(v) for k, v in value.items()})
            else:
                flat[key] = _param_value(value)
        out.append(flat)
    return out


def _text_column(df: pd.DataFrame, name: str) -> list[Any]:
    """The column's values as plain Python values (None where missing or absent)."""
    if name not in df.columns:
        return [None] * len(df)
    return [_plain(v) for v in df[name]]


def _groups(df: pd.DataFrame) -> list[tuple]:
    """Each row's configuration group without parameters: (solver, encoder, preprocess)."""
    pre = [None if p in (None, "none") else p for p in _text_column(df, "preprocess")]
    return list(zip(_text_column(df, "solver"), _text_column(df, "encoder"), pre))


def varying_keys(
    solvers: list[Any], params: list[dict | None], within: list[Any] | None = None
) -> dict[Any, list[str]]:
    """Per solver, the parameter keys with more than one value among its rows (rows without a
    key do not count: conditional keys such as backend options vary with another key, and
    one encoder's keys are absent in another's rows); with ``within`` (each row's instance),
    only keys with more than one value among the rows of one instance."""
    within = within if within is not None else [None] * len(solvers)
    seen: dict[Any, dict[str, dict[Any, set]]] = {}
    for solver, values, group in zip(solvers, params, within):
        for key, value in (values or {}).items():
            seen.setdefault(solver, {}).setdefault(key, {}).setdefault(group, set()).add(value)
    return {
        g: sorted(k for k, by in keys.items() if any(len(v) > 1 for v in by.values()))
        for g, keys in seen.items()
    }


def _key_order(key: str) -> tuple:
    """Solver parameters first, then encoder ones, then option sub-keys, each by name."""
    return (key.startswith("encoder."), "." in key, key)


def varying_params(df: pd.DataFrame) -> list[str]:
    """The parameter keys that vary between rows of one solver (a swept ``p``)."""
    solvers = _text_column(df, "solver")
    found = {k for keys in varying_keys(solvers, _param_dicts(df)).values() for k in keys}
    return sorted(found, key=_key_order)


def _column_name(df: pd.DataFrame, key: str, values: list[Any]) -> str:
    """Where a parameter goes: its key, the existing column that already holds exactly its
    values, or ``param.KEY`` when the key names a field with other values."""
    if key not in df.columns and key not in ROW_FIELDS and key not in DERIVED:
        return key
    if key in df.columns:
        held = _text_column(df, key)
        if all(v is None or h is None or h == v for h, v in zip(held, values)):
            return key
    return f"param.{key}"


def _param_columns(
    df: pd.DataFrame, params: list[dict | None], keys: Iterable[str]
) -> dict[str, tuple[str, list[Any]]]:
    """key -> (column name, values per row) for the given parameter keys."""
    out = {}
    for key in keys:
        values = [None if p is None else p.get(key) for p in params]
        out[key] = (_column_name(df, key, values), values)
    return out


def _config_names(
    df: pd.DataFrame, exclude: Iterable[str] = (), params: list[dict | None] | None = None
) -> list[str]:
    """Each row's configuration name (see the module doc), leaving out the parameters whose
    columns are in ``exclude`` (a figure's x, facet or hue already shows them)."""
    params = _param_dicts(df) if params is None else params
    groups = _groups(df)
    labels = [v.strip() if isinstance(v, str) and v.strip() else None
              for v in _text_column(df, "label")]  # fmt: skip
    # a labelled row is named by its label, else by its solver, then what varies within
    heads = [label or str(solver) for label, (solver, _, _) in zip(labels, groups)]
    keyed = [(label is not None, head) for label, head in zip(labels, heads)]
    # a setting that changes only with the instance (a backend chosen per size) is not a
    # configuration of its own: one line follows it across sizes
    varying = varying_keys(keyed, params, _text_column(df, "instance"))
    keys = {k for ks in varying.values() for k in ks}
    column = {k: name for k, (name, _) in _param_columns(df, params, keys).items()}
    exclude = set(exclude)
    encoders: dict[Any, set] = {}
    pres: dict[Any, set] = {}
    for key, (_, encoder, pre) in zip(keyed, groups):
        encoders.setdefault(key, set()).add(encoder)
        pres.setdefault(key, set()).add(pre)
    names = []
    for key, head, (_, encoder, pre), values in zip(keyed, heads, groups, params, strict=True):
        parts = [head]
        for name in sorted(varying.get(key, ()), key=_key_order):
            if values is not None and name in values and column[name] not in exclude:
                parts.append(f"{name}={_text(values[name])}")
        text = " ".join(parts)
        labelled = key[0]
        if encoder not in (None, "none") and len(encoders[key]) > 1:
            text += f" + {encoder}"
        if pre is not None and (not labelled or len(pres[key]) > 1):
            text += f" + {pre}"
        names.append(text)
    return names


def _success(df: pd.DataFrame, success_gap: float) -> list[bool | None]:
    """Per row: within ``success_gap`` % of the best known value (see the module doc)."""
    out: list[bool | None] = []
    rows = zip(_text_column(df, "status"), _text_column(df, "feasible"),
               _text_column(df, "gap_pct"))  # fmt: skip
    for status, feasible, gap in rows:
        if status == "error":
            out.append(None)
        elif gap is not None:
            out.append(bool(float(gap) <= success_gap))
        elif status in ("timeout", "infeasible") or feasible is False or feasible == 0:
            out.append(False)
        else:
            out.append(None)  # feasible, but no best known value to compare with
    return out


def _tts(df: pd.DataFrame) -> list[float]:
    """Per row: TTS99 from p_optimal, or from whether a single answer is optimal."""
    out = []
    rows = zip(_text_column(df, "status"), _text_column(df, "time_solve_s"),
               _text_column(df, "p_optimal"), _text_column(df, "gap_pct"),
               _text_column(df, "feasible"))  # fmt: skip
    for status, t_run, p_opt, gap, feasible in rows:
        if status == "error":
            out.append(math.nan)
            continue
        p = p_opt
        if p is None and gap is not None:
            p = 1.0 if float(gap) <= 1e-9 else 0.0
        elif p is None and (feasible is False or status in ("timeout", "infeasible")):
            p = 0.0
        out.append(time_to_solution(t_run, p))
    return out


def derive(
    df: pd.DataFrame, success_gap: float = SUCCESS_GAP, columns: Iterable[str] = ()
) -> pd.DataFrame:
    """A copy of the tidy table with the derived columns (module doc): the parameters that
    vary (and any parameter named in ``columns``) as columns, ``config``,
    ``relative_quality``, ``success`` (within ``success_gap`` %) and ``tts99_s``.
    Idempotent: deriving a derived table gives the same table."""
    out = df.copy()
    params = _param_dicts(df)
    wanted = set(varying_params(df))
    present = {k for p in params if p for k in p}
    for name in columns:
        key = name.removeprefix("param.")
        if name not in df.columns and key in present:
            wanted.add(key)
    for _, (column, values) in _param_columns(df, params, sorted(wanted, key=_key_order)).items():
        if column not in df.columns or column.startswith("param."):
            out[column] = pd.Series(values, index=out.index, dtype=object)
    out["config"] = _config_names(df, params=params)
    has_ratio = "approx_ratio" in out.columns
    out["relative_quality"] = _as_float(out["approx_ratio"]) if has_ratio else math.nan
    out["success"] = pd.Series(_success(df, success_gap), index=out.index, dtype=object)
    out["tts99_s"] = _tts(df)
    return out


def default_by(df: pd.DataFrame) -> list[str]:
    """The default grouping: ``DEFAULT_BY``, then ``preprocess`` where it tells rows of one
    solver and encoder apart, ``label`` where the suite names configurations, then the
    parameters that vary (their columns)."""
    by = [c for c in DEFAULT_BY if c in df.columns] or list(DEFAULT_BY)
    pairs = list(zip(_text_column(df, "solver"), _text_column(df, "encoder")))
    for extra in ("preprocess", "label"):
        seen: dict[tuple, set] = {}
        for pair, value in zip(pairs, _text_column(df, extra)):
            seen.setdefault(pair, set()).add(value)
        if extra not in df.columns:
            continue
        named = extra == "label" and any(isinstance(v, str) and v for v in df[extra])
        if named or any(len(v) > 1 for v in seen.values()):
            by.append(extra)
    params = _param_dicts(df)
    for _, (column, _) in _param_columns(df, params, varying_params(df)).items():
        if column not in by:
            by.append(column)
    return by


# ---------------------------------------------------------------------------- table


def method_key(name: Any) -> str:
    """A method name as papers and qbench both spell it: lower case, letters and digits only
    ("CVaR-VQE" and "cvar_vqe" are "cvarvqe")."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _methods(df: pd.DataFrame) -> list[str]:
    """Each row's method as a paper names it: the solver table's label, else the solver
    (:func:`method_key`)."""
    return [method_key(label or solver) for label, solver in
            zip(_text_column(df, "label"), _text_column(df, "solver"))]  # fmt: skip


def published(source: str | Path) -> pd.DataFrame:
    """A paper's published table, long form: ``instance``, ``method`` (:func:`method_key`),
    ``paper_gap_pct``. ``source`` is a CSV file or the name of one shipped in
    ``qbench/data/papers`` (``comparative-mdkp-simulator``). The CSV has ``#`` comment lines,
    then ``instance`` and ``method`` columns and either ``gap_pct`` or ``value`` with
    ``value_kind`` (``relative_solution_quality_pct``: gap = 100 − value); ``inf`` (an
    infeasible answer) is kept as ∞, other text (``ME``: out of memory) as the text."""
    path = Path(source)
    if not path.is_file():
        from importlib.resources import files

        shipped = Path(str(files("qbench.data") / "papers" / f"{source}.csv"))
        if not shipped.is_file():
            names = sorted(p.stem for p in shipped.parent.glob("*.csv"))
            raise ConfigError(
                f"published table {str(source)!r}: no such file, and no shipped table of that "
                f"name; shipped: {', '.join(names)}"
            )
        path = shipped
    try:
        raw = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"published table {path}: cannot read it as CSV: {exc}") from None
    column = "gap_pct" if "gap_pct" in raw.columns else "value"
    missing = [c for c in ("instance", "method", column) if c not in raw.columns]
    if missing:
        raise ConfigError(
            f"published table {path}: no column(s) {', '.join(missing)}; expected instance, "
            "method and gap_pct (or value with value_kind)"
        )
    kinds = raw["value_kind"] if "value_kind" in raw.columns else pd.Series("gap_pct", raw.index)
    gaps: list[Any] = []
    for line, (text, kind) in enumerate(zip(raw[column], kinds), start=2):
        text = text.strip()
        if text.lower() == "inf":
            gaps.append(math.inf)
            continue
        try:
            value = float(text)
        except ValueError:
            gaps.append(text or None)  # "ME" and the like: shown as written
            continue
        if kind.startswith("relative_solution_quality"):
            value = 100.0 - value
        elif not kind.startswith("gap_pct"):
            raise ConfigError(
                f"published table {path}: value_kind {kind!r} (data row {line - 1}) unknown; "
                "allowed: gap_pct, relative_solution_quality_pct"
            )
        gaps.append(value)
    methods = raw["method"].map(method_key)
    return pd.DataFrame(
        {"instance": raw["instance"].str.strip(), "method": methods, "paper_gap_pct": gaps}
    )


def _paper_value(paper: pd.DataFrame, pairs: set[tuple[Any, str]], agg: str) -> Any:
    """The published gap of a group's (instance, method) pairs: the one value, or their
    ``agg`` over several (text entries such as "ME" left out); None when the paper has none."""
    found = [v for (i, m), v in zip(zip(paper["instance"], paper["method"]), paper["paper_gap_pct"])
             if (i, m) in pairs]  # fmt: skip
    if len(found) == 1:
        return found[0]
    numbers = [float(v) for v in found if isinstance(v, int | float)]
    return float(getattr(np, agg)(numbers)) if numbers else None


def aggregate(
    df: pd.DataFrame,
    by: Sequence[str] | None = None,
    metric: Sequence[str] = DEFAULT_METRICS,
    agg: str = "mean",
    success_gap: float = SUCCESS_GAP,
    paper: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The aggregated table as a DataFrame: ``by`` columns (default ``default_by``), runs,
    errors, metrics with their ``_std`` / ``n_`` companions (module doc), sorted; with a
    ``paper`` table (:func:`published`) a ``paper_gap_pct`` column beside ``gap_pct``."""
    metric = _columns(metric)
    if agg not in AGGS:
        raise ConfigError(f"unknown aggregation {agg!r}; allowed: {', '.join(AGGS)}")
    by = _columns(by) if by is not None else None
    df = derive(df, success_gap, columns=[*(by or ()), *metric])
    by = default_by(df) if by is None else by
    if not by:
        raise ConfigError(f"--by needs at least one column; allowed: {', '.join(df.columns)}")
    _check_columns(df, by, metric)
    source = {m: COUNT_METRICS.get(m, m) for m in metric}
    boolean = {m: m in COUNT_METRICS or _is_boolean(df[source[m]]) for m in metric}
    values = {m: _as_float(df[source[m]]) for m in metric}
    std_of = next((m for m in metric if not boolean[m]), None) if agg == "mean" else None
    if "status" in df:
        errors = (df["status"] == "error").fillna(False).astype(bool)
        values = {m: v.where(~errors) for m, v in values.items()}
    else:
        errors = None

    rows = []
    counts: dict[str, bool] = dict.fromkeys(metric, False)  # some group has a partial count
    groups: dict[tuple, list[int]] = {}  # plain keys: NaN/None together, ints stay ints
    for i, key in enumerate(zip(*(_text_column(df, c) for c in by))):
        groups.setdefault(key, []).append(i)
    methods = _methods(df)
    instances = _text_column(df, "instance")
    for keys, index in groups.items():
        row: dict[str, Any] = dict(zip(by, keys))
        if paper is not None:
            row["paper_gap_pct"] = _paper_value(paper, {(instances[i], methods[i]) for i in index},
                                                agg)  # fmt: skip
        row["runs"] = len(index)
        row["errors"] = int(errors.iloc[index].sum()) if errors is not None else 0
        for m in metric:
            v = values[m].iloc[index].dropna().to_numpy()
            if m in COUNT_METRICS:
                row[m] = int(v.sum())
                continue
            row[f"n_{m}"] = len(v)
            counts[m] |= 0 < len(v) < row["runs"] - row["errors"]
            if len(v) == 0:
                row[m] = None
            elif boolean[m]:
                row[m] = float(v.mean())
            else:
                row[m] = float(getattr(np, agg)(v))
            if m == std_of:
                row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else None
        rows.append(row)
    columns = [*by, "runs", "errors"]
    for m in metric:
        columns += [m, f"{m}_std"] if m == std_of else [m]
        columns += [f"n_{m}"] if counts[m] else []
        columns += ["paper_gap_pct"] if paper is not None and m == "gap_pct" else []
    if paper is not None and "gap_pct" not in metric:
        columns.append("paper_gap_pct")
    rows.sort(key=lambda r: tuple(_natural_key(r[c]) for c in by))
    return pd.DataFrame(rows, columns=columns)


def table(
    df: pd.DataFrame,
    by: Sequence[str] | None = None,
    metric: Sequence[str] = DEFAULT_METRICS,
    agg: str = "mean",
    fmt: str = "md",
    success_gap: float = SUCCESS_GAP,
    paper: pd.DataFrame | None = None,
) -> str:
    """The runs aggregated over seeds (see the module doc) as Markdown, LaTeX or CSV text."""
    if fmt not in TABLE_FORMATS:
        raise ConfigError(f"unknown table format {fmt!r}; allowed: {', '.join(TABLE_FORMATS)}")
    agg_df = aggregate(df, by, metric, agg, success_gap, paper)
    columns = list(agg_df.columns)
    if fmt == "csv":
        return csv_table(agg_df)
    rows = [{c: _plain(v) for c, v in r.items()} for r in agg_df.to_dict("records")]
    if fmt == "md":
        return format_table(rows, columns)
    n_by = columns.index("runs")
    return latex_table(rows, columns, n_left=n_by)


# ---------------------------------------------------------------------------- plot data


def _label(column: str, success_gap: float = SUCCESS_GAP) -> str:
    """An axis title with its unit."""
    if column == "success":
        return f"runs within {format_value(float(success_gap))} % of best known (fraction)"
    if column == "successes":
        return "successful runs"
    return LABELS.get(column, column.replace("_", " "))


def _value_label(column: str, value: Any) -> str:
    """A legend or panel name for one value of ``column``."""
    if column in ("config", "label", "solver", "encoder", "preprocess", "problem", "instance"):
        return str(value)
    if column == "n_vars":
        return f"n = {_text(value)}"
    return f"{column} = {_text(value)}"


def _resolve(
    kind: str | None, x: str | None, y: str | None, stat: str | None
) -> tuple[str, str, bool, str, str]:
    """(x, y, log y, statistic, title) of a figure from its kind and the overrides."""
    if kind is None and y is None:
        raise ConfigError(f"a figure needs a kind or a y column; kinds: {', '.join(KINDS)}")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown plot kind {kind!r}; allowed: {', '.join(KINDS)}")
    spec = KINDS[kind] if kind is not None else Kind("n_vars", str(y), "")
    x, y = x or spec.x, y or spec.y
    logy = spec.logy if y == spec.y else y.endswith("_s")
    stat = stat or (spec.stat if y == spec.y else "mean")
    if stat not in STATS:
        raise ConfigError(f"unknown statistic {stat!r}; allowed: {', '.join(STATS)}")
    title = spec.title if (x, y) == (spec.x, spec.y) else ""
    if not title:
        name = _label(y).split(" (")[0]
        title = f"{name[0].upper()}{name[1:]} vs {_label(x).split(' (')[0]}"
    return x, y, logy, stat, title


def _mode(x: str, params: set[str]) -> str:
    """How points pool runs: "instance" (x is the instance's: pool same-size instances),
    "parameter" (x is a setting: one line per problem size) or "resource" (x is measured per
    run: one point per problem size, the line follows size)."""
    if x in INSTANCE_COLUMNS:
        return "instance"
    return "parameter" if x in params else "resource"


def _point_stats(values: np.ndarray) -> dict[str, float]:
    """mean, standard error, median and quartiles (nearest rank: ∞ stays ∞) of the values."""
    n = len(values)
    finite = bool(np.isfinite(values).all())
    std = float(values.std(ddof=1)) if n > 1 and finite else (0.0 if n == 1 else math.nan)
    q25, q75 = np.quantile(values, [0.25, 0.75], method="nearest")
    return {"mean": float(values.mean()), "sem": std / math.sqrt(n), "median":
            float(np.median(values)), "q25": float(q25), "q75": float(q75)}  # fmt: skip


@dataclass
class _Figure:
    """A figure's points and the facts its drawing and caption need."""

    data: pd.DataFrame
    x: str
    y: str
    logy: bool
    title: str
    mode: str
    bounded: bool
    lacking: dict[str, list[str]]
    hue_order: list[str]
    failed: list[str]


def _all_param_columns(df: pd.DataFrame) -> set[str]:
    """The columns that hold parameters, row fields (``n_qubits``, ``shots``) left out: a
    field measures the run even where a parameter of that name sets it."""
    params = _param_dicts(df)
    keys = {k for p in params if p for k in p}
    names = {name for name, _ in _param_columns(df, params, keys).values()}
    return {name for name in names if name not in ROW_FIELDS}


def _points(
    df: pd.DataFrame,
    kind: str | None,
    x: str | None,
    y: str | None,
    hue: str | None,
    facet: str | None,
    stat: str | None,
    success_gap: float,
    log: bool | None = None,
) -> _Figure:
    """The points of a figure (see ``plot_data``) and how they were pooled; ``log`` overrides
    the kind's choice of a log y axis."""
    x, y, logy, stat, title = _resolve(kind, x, y, stat)
    logy = logy if log is None else bool(log)
    asked = [c for c in (x, y, hue, facet) if c]
    d = derive(df, success_gap, columns=asked)
    what = kind or f"{y} vs {x}"
    missing = [c for c in dict.fromkeys([*asked, "solver"]) if c not in d.columns]
    if missing:
        raise ConfigError(
            f"cannot plot {what}: the rows have no column(s) {', '.join(missing)}; "
            f"allowed: {', '.join(d.columns)}"
        )
    if not _is_numeric(d[y]):
        raise ConfigError(f"cannot plot {y}: not a numeric column")
    ok = d if "status" not in d else d[(d["status"] != "error").fillna(True)]
    ok = ok.reset_index(drop=True)
    failed = sorted(set(d["config"]) - set(ok["config"]), key=_natural_key)
    param_cols = _all_param_columns(ok)
    mode = _mode(x, param_cols)
    xs = _as_float(ok[x])
    nan = pd.Series(math.nan, index=ok.index)
    classical = (_as_float(ok["n_qubits"]) if "n_qubits" in ok else nan).isna().to_numpy()
    if x == "n_qubits" and "n_vars" in ok:
        xs = xs.where(xs.notna(), _as_float(ok["n_vars"]))
    ys = _as_float(ok[y])
    drawable = xs.notna() & ys.notna()
    configs = ok["config"]
    lacking: dict[str, list[str]] = {}  # column -> configurations left out for lack of it
    for config in sorted(set(configs[~drawable]) - set(configs[drawable]), key=_natural_key):
        column = x if xs[configs == config].isna().all() else y
        lacking.setdefault(column, []).append(config)
    pooled = {x} | ({facet} if facet else set()) | ({hue} if hue else set())
    rest = pd.Series(_config_names(ok, pooled & param_cols), index=ok.index)
    hue_col = hue or "config"
    if hue_col == "config":
        hue_val = rest
    else:
        raw = [_plain(v) for v in ok[hue_col]]
        hue_val = pd.Series([_value_label(hue_col, v) if v is not None else r
                             for v, r in zip(raw, rest)], index=ok.index)  # fmt: skip
    hue_order = sorted(set(hue_val), key=_natural_key)  # colours stay put across figures
    frame = pd.DataFrame({
        "x": xs, "y": ys, "size": _as_float(ok["n_vars"]) if "n_vars" in ok else nan,
        "problem": pd.Series(_text_column(ok, "problem"), index=ok.index, dtype=object),
        "hue": hue_val, "rest": rest, "classical": classical,
        "facet_raw": ok[facet].map(_plain) if facet else None,
    })[drawable]  # fmt: skip
    if frame.empty:
        hint = " (the gap needs instances with a best known value)" if y == "gap_pct" else ""
        raise ConfigError(f"nothing to plot for {what}: no successful runs with {x} and {y}{hint}")

    # panels: the facet column, else one per problem (and per size when x is a setting)
    if facet:
        parts = [frame["facet_raw"].map(lambda v: _value_label(facet, v))]
    else:
        parts = []
        if frame["problem"].nunique(dropna=False) > 1:
            parts.append(frame["problem"].astype(str))
        if mode == "parameter" and hue != "n_vars" and frame["size"].nunique(dropna=False) > 1:
            parts.append(frame["size"].map(lambda v: _value_label("n_vars", v)))
    frame["facet"] = pd.concat(parts, axis=1).astype(str).agg(", ".join, axis=1) if parts else ""
    rows = []
    for facet_value, panel in frame.groupby("facet", sort=False):
        rows += _panel_points(panel, facet_value, hue_col, mode)
    data = pd.DataFrame(rows)
    bounded = y in UNIT_INTERVAL or _is_boolean(d[y])
    center = data["mean"] if stat == "mean" else data["median"]
    lo = data["mean"] - data["sem"] if stat == "mean" else data["q25"]
    hi = data["mean"] + data["sem"] if stat == "mean" else data["q75"]
    if bounded:  # bars of fractions stay in [0, 1]
        lo, hi = lo.clip(lower=0.0), hi.where(center > 1.0, hi.clip(upper=1.0))
    data["y"], data["lo"], data["hi"] = center, lo.where(lo <= center, center), hi
    data["stat"] = stat
    order = sorted(range(len(data)), key=lambda i: (
        _natural_key(data["facet"][i]), _natural_key(data["hue"][i]),
        _natural_key(data["line"][i]), _natural_key(data["size"][i]), data["x"][i]))  # fmt: skip
    data = data.iloc[order].reset_index(drop=True)[[
        "facet", "line", "hue", "x", "size", "mean", "sem", "median", "q25", "q75", "y", "lo",
        "hi", "runs", "classical", "stat",
    ]]  # fmt: skip
    return _Figure(data, x, y, logy, title, mode, bounded, lacking, hue_order, failed)


def _panel_points(panel: pd.DataFrame, facet: str, hue_col: str, mode: str) -> list[dict]:
    """The points of one panel: lines by hue (by configuration when the hue is ``config``),
    problem and, for a parameter on x, problem size; points by x (and size)."""
    split_problem = panel["problem"].nunique(dropna=False) > 1
    split_size = (mode == "parameter" and hue_col != "n_vars"
                  and panel["size"].nunique(dropna=False) > 1)  # fmt: skip
    # a chosen hue pools the configurations that share its value (as seaborn's hue does)
    line_cols = ["hue"] if hue_col != "config" else ["hue", "rest"]
    line_cols += ["problem"] if split_problem else []
    line_cols += ["size"] if split_size else []
    point_cols = ["size", "x"] if mode == "resource" else ["x"]
    rows = []
    for keys, line in panel.groupby(line_cols, dropna=False, sort=False):
        keys = dict(zip(line_cols, keys))
        name = str(keys["hue"])
        if split_problem:
            name += f" · {keys['problem']}"
        if split_size:
            name += f" · {_value_label('n_vars', keys['size'])}"
        for pkeys, point in line.groupby(point_cols, dropna=False, sort=False):
            pkeys = dict(zip(point_cols, pkeys if isinstance(pkeys, tuple) else (pkeys,)))
            values = point["y"].to_numpy(dtype=float)
            rows.append({
                "facet": facet, "line": name, "hue": keys["hue"], "x": float(pkeys["x"]),
                "size": _plain(pkeys.get("size", point["size"].iloc[0])),
                **_point_stats(values), "runs": len(values),
                "classical": bool(point["classical"].all()),
            })  # fmt: skip
    return rows


def plot_data(
    df: pd.DataFrame,
    kind: str | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
    hue: str | None = None,
    facet: str | None = None,
    stat: str | None = None,
    success_gap: float = SUCCESS_GAP,
) -> pd.DataFrame:
    """What ``plot`` draws, one row per point: ``facet`` (panel), ``line`` (legend name),
    ``hue``, ``x``, ``size`` (problem variables of the point's instances), ``mean``, ``sem``,
    ``median``, ``q25``, ``q75``, the drawn ``y`` / ``lo`` / ``hi`` (as ``stat`` says),
    ``runs`` and ``classical`` (no qubits: on a qubit axis drawn at n_vars). Error rows are
    left out; the module doc says how lines and points pool runs."""
    return _points(df, kind, x, y, hue, facet, stat, success_gap).data


# ---------------------------------------------------------------------------- figures


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
    return Figure(layout="constrained", **kwargs)


def _figure_format(path: Path) -> str:
    """The figure format of a path's suffix; ConfigError for any other suffix."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        allowed = ", ".join(f".{f}" for f in FIGURE_FORMATS)
        raise ConfigError(f"cannot write a figure to {path}: the file must end in {allowed}")
    return fmt


def _save(fig: Any, path: str | Path) -> Path:
    """Write the figure in the format of the suffix (PNG at 200 dpi; PDF and SVG keep text
    as text, TrueType in PDF, as journals ask)."""
    from matplotlib import rc_context

    path = Path(path)
    fmt = _figure_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}):
        fig.savefig(path, format=fmt, dpi=200)
    return path


def _ylim(data: pd.DataFrame, y: str, logy: bool, bounded: bool) -> tuple[float, float]:
    """Axis limits that show every point: [0, 1.05] for fractions and ratios, zero included
    for values near it, a whole decade at least on log axes, never a tiny range around a
    constant series."""
    values = pd.concat([data["y"], data["lo"], data["hi"]]).to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if logy:
        values = values[values > 0]
    if values.size == 0:
        return (0.1, 10.0) if logy else (0.0, 1.0)
    vmin, vmax = float(values.min()), float(values.max())
    if bounded and not logy:
        return -0.03, max(1.05, vmax * 1.03)
    if logy:
        low, high = vmin / 1.6, vmax * 1.6
        if high / low < 10:
            mid = math.sqrt(low * high)
            low, high = mid / math.sqrt(10), mid * math.sqrt(10)
        return low, high
    if vmin >= 0 and vmax == 0:
        return -0.03, 1.0
    if vmin >= 0 and vmin <= 0.5 * vmax:
        top = vmax * 1.08
        return -0.03 * top, top
    span = vmax - vmin
    if span <= 1e-9 * max(1.0, abs(vmax)):
        span = max(abs(vmax) * 0.2, 1.0)
        return vmax - span / 2, vmax + span / 2
    return vmin - 0.06 * span, vmax + 0.06 * span


def _caption(data: pd.DataFrame, mode: str, notes: list[str]) -> str:
    """What the points and bars are, over how many runs, and what the figure leaves out."""
    runs = data["runs"]
    count = f"{runs.min()}" if runs.min() == runs.max() else f"{runs.min()}–{runs.max()}"
    stat = data["stat"].iloc[0]
    what = ("Points: mean over runs; bars: ± 1 standard error" if stat == "mean"
            else "Points: median over runs; bars: interquartile range")  # fmt: skip
    pooling = {
        "instance": "a point pools seeds and the instances of one problem and size",
        "resource": "a point is one problem size (seeds and same-size instances pooled), "
        "lines follow size",
        "parameter": "one line or panel per problem size, a point pools seeds",
    }[mode]
    parts = [f"{what}; {count} runs per point; {pooling}", *notes]
    return "; ".join(parts) + "."


def _wrap(text: str, width_in: float, fontsize: float) -> list[str]:
    """The caption broken into lines that fit the figure's width."""
    import textwrap

    chars = max(40, int(width_in * 72 / (fontsize * 0.52)))
    return textwrap.wrap(text, chars)


def plot(
    df: pd.DataFrame,
    kind: str | None,
    path: str | Path,
    *,
    x: str | None = None,
    y: str | None = None,
    hue: str | None = None,
    facet: str | None = None,
    stat: str | None = None,
    title: str | None = None,
    caption: bool = True,
    success_gap: float = SUCCESS_GAP,
    logy: bool | None = None,
) -> Path:
    """Draw a figure (``plot_data``'s points) to ``path``, PNG, PDF or SVG by its suffix: one
    kind of ``KINDS`` or any ``y`` against any ``x``, one line per ``hue`` value (default
    ``config``) and instance group, small multiples per ``facet`` value, error bars as
    ``stat`` says, a ``title`` (default: the kind's, in words; "" for none) and a caption
    under the axes stating what the bars are and over how many runs; ``logy`` a log y axis
    (default: the kind's; time axes are). Needs matplotlib."""
    path = Path(path)
    _figure_format(path)
    fig_spec = _points(df, kind, x, y, hue, facet, stat, success_gap, logy)
    data, x, y, logy = fig_spec.data, fig_spec.x, fig_spec.y, fig_spec.logy
    fig = _figure()  # fails early without matplotlib
    facets = list(dict.fromkeys(data["facet"]))
    n = len(facets)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    names = list(dict.fromkeys(data["line"]))
    legend_w = min(3.2, 1.0 + 0.065 * max(len(s) for s in names))
    width = (6.0 if n == 1 else 3.9 * ncols) + legend_w
    axes_h = 4.2 if n == 1 else 3.2 * nrows
    low, high = _ylim(data, y, logy, fig_spec.bounded)

    notes: list[str] = []
    if x == "n_qubits" and data["classical"].any():
        notes.append("classical solvers (dashed, open markers) at their problem variables")
    if y == "success":
        notes.append(f"success: gap to best known <= {format_value(float(success_gap))} %")
    if y == "tts99_s":
        notes.append("TTS = t_solve · ln(0.01)/ln(1 − p), p = p_optimal (single answers: 1 if "
                     "optimal, else 0)")  # fmt: skip
    infinite = data[~np.isfinite(data["y"])]
    if len(infinite):
        points = sorted({(r.line, r.x) for r in infinite.itertuples()},
                        key=lambda p: (_natural_key(p[0]), p[1]))  # fmt: skip
        where = [f"{line} at x = {_text(value)}" for line, value in points]
        notes.append("not drawn (infinite: optimum never found): " + ", ".join(where))
    if logy and (data["y"] <= 0).any():
        zero = data[data["y"] <= 0]
        points = sorted({(r.line, r.x) for r in zero.itertuples()},
                        key=lambda p: (_natural_key(p[0]), p[1]))  # fmt: skip
        where = [f"{line} at x = {_text(value)}" for line, value in points]
        notes.append("not drawn (zero on the log axis): " + ", ".join(where))
    if (~np.isfinite(data["hi"]) & np.isfinite(data["y"])).any():
        notes.append("bars cut at the top reach infinity")
    if hue and hue != "config":
        notes.append(f"a line pools the configurations that share its {_label(hue).split(' (')[0]}")
    if fig_spec.failed:
        notes.append(f"not drawn (every run refused or failed): {', '.join(fig_spec.failed)}")
    for column, configs in fig_spec.lacking.items():
        notes.append(f"not drawn (no {column}): {', '.join(configs)}")
    dodge = any(len(set(p["line"])) > 1 for _, p in data.groupby("facet"))
    if dodge:
        notes.append("points offset sideways for legibility")
    if fig_spec.mode == "resource" and (data["x"] != data["size"]).any():
        notes.append("n = problem variables where they differ from x")
    text = _caption(data, fig_spec.mode, notes) if caption else ""
    lines = _wrap(text, width, 7.0) if text else []
    caption_h = 0.16 * len(lines) + (0.1 if lines else 0)
    fig.set_size_inches(width, axes_h + caption_h + 0.5)
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    style: dict[str, tuple[str, str]] = {}
    for i, h in enumerate(fig_spec.hue_order):
        style[h] = (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)])
    handles: dict[str, Any] = {}
    dashes = ("-", ":", "-.", (0, (5, 1, 1, 1)))
    for k, facet_value in enumerate(facets):
        ax = axes[k // ncols][k % ncols]
        panel = data[data["facet"] == facet_value]
        xs = np.unique(panel["x"].to_numpy())
        gap = float(np.min(np.diff(xs))) if len(xs) > 1 else 1.0
        line_names = list(dict.fromkeys(panel["line"]))
        per_hue: dict[str, int] = {}
        for j, name in enumerate(line_names):
            line = panel[panel["line"] == name]
            line = line[np.isfinite(line["y"]) & ((line["y"] > 0) if logy else True)]
            if line.empty:
                continue
            color, marker = style[line["hue"].iloc[0]]
            nth = per_hue.setdefault(line["hue"].iloc[0], 0)
            per_hue[line["hue"].iloc[0]] += 1
            classical = bool(line["classical"].all()) and x == "n_qubits"
            linestyle = "--" if classical else dashes[nth % len(dashes)]
            offset = (j / (len(line_names) - 1) - 0.5) * 0.22 * gap if dodge and len(
                line_names) > 1 else 0.0  # fmt: skip
            hi = line["hi"].where(np.isfinite(line["hi"]), high)
            down, up = line["y"] - line["lo"], hi - line["y"]
            yerr = np.vstack([down.clip(lower=0), up.clip(lower=0)])
            artist = ax.errorbar(
                line["x"] + offset, line["y"], yerr=yerr, color=color, marker=marker,
                linestyle=linestyle, capsize=2.5, markersize=5, linewidth=1.4, elinewidth=0.9,
                markerfacecolor="white" if classical else color, label=name,
            )  # fmt: skip
            handles.setdefault(name, artist)
            if fig_spec.mode == "resource":  # which problem size a point is, where x hides it
                for px, py, size in zip(line["x"] + offset, line["y"], line["size"]):
                    if size is not None and not math.isclose(px - offset, size):
                        ax.annotate(f"n={_text(size)}", (px, py), textcoords="offset points",
                                    xytext=(4, 3), fontsize=6.5, color=color)  # fmt: skip
        if logy:
            ax.set_yscale("log")
        ax.set_ylim(low, high)
        spread = float(xs.max() - xs.min()) if len(xs) > 1 else 1.0
        if len(xs) <= 12 and np.allclose(xs, np.round(xs)) and gap >= 0.04 * spread:
            ax.set_xticks(xs)
            ax.set_xticklabels([_text(v) for v in xs])
        pad = 0.5 * gap if len(xs) > 1 else 1.0
        ax.set_xlim(xs.min() - pad, xs.max() + pad)
        ax.grid(True, alpha=0.3, linewidth=0.6)
        if n > 1:
            ax.set_title(str(facet_value), fontsize="medium")
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    xlabel = _label(x, success_gap)
    if x == "n_qubits" and data["classical"].any():
        xlabel = "qubits (classical solvers: problem variables)"
    ylabel = _label(y, success_gap)
    for k in range(n):
        ax = axes[k // ncols][k % ncols]
        if k + ncols >= n:  # the lowest panel of its column
            ax.set_xlabel(xlabel)
        if k % ncols == 0:
            ax.set_ylabel(ylabel)
    if title != "" and n == 1:
        axes[0][0].set_title(title or fig_spec.title)
    elif title != "":
        fig.suptitle(title or fig_spec.title)
    legend_title = "configuration" if (hue or "config") == "config" else _label(hue).split(" (")[0]
    fig.legend(list(handles.values()), list(handles), loc="outside right upper",
               title=legend_title, fontsize="small", title_fontsize="small")  # fmt: skip
    if lines:
        below = caption_h / (axes_h + caption_h + 0.5)  # the caption's share of the height
        fig.get_layout_engine().set(rect=(0, below, 1, 1 - below))
        fig.text(0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=7.0,
                 color="#333333")  # fmt: skip
    return _save(fig, path)


def plot_by_instance(
    df: pd.DataFrame,
    path: str | Path,
    *,
    y: str = "gap_pct",
    paper: pd.DataFrame | None = None,
    title: str | None = None,
    caption: bool = True,
    success_gap: float = SUCCESS_GAP,
) -> Path:
    """Grouped bars, one group per instance (by problem size), one bar per configuration: the
    median of ``y`` over its runs; with a ``paper`` table (:func:`published`) the published
    value of the same method and instance beside it, hatched (∞: an infeasible published
    answer; text such as ME written at the foot). Needs matplotlib."""
    path = Path(path)
    _figure_format(path)
    d = derive(df, success_gap, columns=["config", y])
    _check_columns(d, ["instance", "config"], [y])
    status = d["status"] if "status" in d else pd.Series("ok", index=d.index)
    ok, failed = d[status == "ok"], d[status.isin(FAILED_STATUSES)]
    ran = d[~status.isin(FAILED_STATUSES)]
    size = "n_vars" if "n_vars" in d else "instance"
    order = sorted(dict.fromkeys(d["instance"]),
                   key=lambda i: (_natural_key(d.loc[d["instance"] == i, size].iloc[0]),
                                  _natural_key(i)))  # fmt: skip
    has_y = pd.to_numeric(d[y], errors="coerce").notna()
    lacking = sorted(set(ok["config"]) - set(d.loc[has_y, "config"]), key=_natural_key)
    configs = sorted(set(d["config"]) - set(lacking), key=_natural_key)
    keys = dict(zip(d["config"], _methods(d)))  # the method a paper would list
    values = ok.groupby(["instance", "config"])[y].median()
    lookup = {} if paper is None else {
        (i, m): v for i, m, v in zip(paper["instance"], paper["method"], paper["paper_gap_pct"])
    }  # fmt: skip
    fig = _figure()
    width = min(16.0, 2.0 + 0.32 * len(order) * (len(configs) + (paper is not None) * 0.7))
    notes = [f"bars: median of the {_label(y, success_gap).split(' (')[0]} over a "
             "configuration's runs per instance"]  # fmt: skip
    if paper is not None:
        notes.append("hatched: the published value of the same method and instance, beside ours "
                     "(∞: infeasible; text: not run, as published)")  # fmt: skip
    missing = {(i, c) for i, c in zip(failed["instance"], failed["config"])
               if c in configs and (i, c) not in values.index}  # fmt: skip
    if missing:
        where: dict[str, list[str]] = {}
        for i in order:
            for c in configs:
                if (i, c) in missing:
                    where.setdefault(c, []).append(i)
        said = [
            f"{c} on {', '.join(v)}" if len(v) <= 3 else f"{c} on {len(v)} instances"
            for c, v in sorted(where.items(), key=lambda kv: _natural_key(kv[0]))
        ]
        notes.append("×: every run refused or failed (" + "; ".join(said) + ")")
    if lacking:
        notes.append(f"not drawn (no {_label(y, success_gap).split(' (')[0]}): "
                     + ", ".join(lacking))  # fmt: skip
    infeasible = {(i, c) for i, c in zip(ran["instance"], ran["config"])
                  if c in configs and (i, c) not in values.index}  # fmt: skip
    if infeasible:
        notes.append("∞ over a solid slot: our answers were infeasible (or had no value)")
    pairs = set(zip(d["instance"], d["config"]))
    absent: dict[str, list[str]] = {}
    for c in configs:
        for i in order:
            if (i, c) not in pairs and (i, keys[c]) in lookup:
                absent.setdefault(c, []).append(i)
    if absent:
        notes.append("not run here, published there: " + "; ".join(
            f"{c} on {', '.join(v)}" for c, v in absent.items()))  # fmt: skip
    notes.append("a short dash: a bar of height 0")
    text = "; ".join(notes) + "." if caption else ""
    lines = _wrap(text, width, 7.0) if text else []
    caption_h = 0.16 * len(lines) + (0.1 if lines else 0)
    fig.set_size_inches(width, 4.2 + caption_h + 0.5)
    ax = fig.subplots()
    finite = [float(v) for v in values if np.isfinite(v)]
    finite += [float(v) for v in lookup.values() if isinstance(v, int | float) and np.isfinite(v)]
    top = max(finite + [1.0]) * 1.12
    slots = [(c, False) for c in configs]
    if paper is not None:
        slots = [s for c in configs for s in ((c, False), (c, True)) if not s[1] or any(
            (i, keys[c]) in lookup for i in order)]  # fmt: skip
    step = 0.8 / max(len(slots), 1)
    handles: dict[str, Any] = {}
    for k, (c, published_bar) in enumerate(slots):
        color = COLORS[configs.index(c) % len(COLORS)]
        for j, inst in enumerate(order):
            xpos = j - 0.4 + (k + 0.5) * step
            if published_bar:
                v = lookup.get((inst, keys[c]))
                if v is None:
                    continue
                if isinstance(v, str):
                    ax.text(xpos, 0, v, ha="center", va="bottom", fontsize=6, rotation=90)
                    continue
                if not np.isfinite(v):
                    ax.text(xpos, top * 0.93, "∞", ha="center", va="center", fontsize=9,
                            color=color)  # fmt: skip
                    continue
                bar = ax.bar(xpos, v, step * 0.95, color=color, alpha=0.35, hatch="///",
                             edgecolor=color, linewidth=0.6)  # fmt: skip
                handles.setdefault(f"{c} (published)", bar)
                continue
            if (inst, c) in values.index and np.isfinite(values[(inst, c)]):
                bar = ax.bar(xpos, values[(inst, c)], step * 0.95, color=color,
                             edgecolor="black", linewidth=0.4)  # fmt: skip
                handles.setdefault(c, bar)
                if values[(inst, c)] == 0:
                    ax.plot(xpos, 0, marker="_", markersize=7, mew=2.5, color=color,
                            clip_on=False)  # fmt: skip
            elif (inst, c) in missing:
                ax.plot(xpos, top * 0.02, marker="x", color=color, markersize=5)
            elif (inst, c) in infeasible:
                ax.text(xpos, top * 0.93, "∞", ha="center", va="center", fontsize=9,
                        color=color, fontweight="bold")  # fmt: skip
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=30 if len(order) > 6 else 0, ha="right" if
                       len(order) > 6 else "center", fontsize="small")  # fmt: skip
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylim(0, top)
    ax.set_ylabel(_label(y, success_gap))
    ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
    if title != "":
        ax.set_title(title or f"{_label(y, success_gap).split(' (')[0].capitalize()} per instance")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper",
               title="configuration", fontsize="small", title_fontsize="small")  # fmt: skip
    if lines:
        below = caption_h / (4.2 + caption_h + 0.5)
        fig.get_layout_engine().set(rect=(0, below, 1, 1 - below))
        fig.text(0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=7.0,
                 color="#333333")  # fmt: skip
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


#: the plot kind of multiplier-search convergence (:func:`plot_convergence`)
CONVERGENCE = "convergence"


def _gap_curve(values: list, best_known: float) -> np.ndarray:
    """|value − best known| / |best known| in %, NaN where a value is missing."""
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=float)
    return 100.0 * np.abs(v - best_known) / max(abs(best_known), 1e-12)


def _median_curve(curves: list[np.ndarray]) -> np.ndarray:
    """The per-iteration median of runs of different lengths; a run that stopped keeps its
    last value (best-so-far values do not change after a stop)."""
    length = max(c.size for c in curves)
    padded = [np.pad(c, (0, length - c.size), mode="edge") if c.size else np.full(length, np.nan)
              for c in curves]  # fmt: skip
    with warnings.catch_warnings():  # an iteration where every run lacks a value stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.vstack(padded), axis=0)


def plot_convergence(df: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Save the convergence of a suite's Lagrangian multiplier searches: per instance (columns)
    and inner solver (rows), the gap of the best feasible point (solid) and of the best dual
    value (dashed) to the best known value per iteration, one colour per multiplier method,
    the median over seeds. ``df`` is :func:`load` with ``solutions=True``."""
    if "trajectory" not in df.columns:
        raise ConfigError("convergence plots need the runs' answers: load(..., solutions=True)")
    rows = df[[isinstance(t, dict) and bool(t.get("iteration")) for t in df["trajectory"]]]
    rows = rows[[bk is not None and np.isfinite(float(bk)) for bk in rows["best_known"]]]
    if rows.empty:
        raise ConfigError(
            "no run has a multiplier-search trajectory with a best known value "
            "(runs with --encoder lagrangian store one)"
        )
    params = [p or {} for p in _param_dicts(rows)]
    methods = [str(p.get("encoder.method", "subgradient")) for p in params]
    heads = [str(label or solver) for label, solver in
             zip(_text_column(rows, "label"), _text_column(rows, "solver"))]  # fmt: skip
    # other search settings that vary for one inner solver (e.g. encoder.repair) split its rows
    keys = sorted({k for p in params for k in p if k.startswith("encoder.")} - {"encoder.method"})
    varying = [k for k in keys
               if any(len({_text(p.get(k)) for h, p in zip(heads, params) if h == head}) > 1
                      for head in set(heads))]  # fmt: skip
    inner = [" ".join([head] + [f"{k[8:]}={_text(p.get(k))}" for k in varying])
             for head, p in zip(heads, params)]  # fmt: skip
    instances = sorted(set(rows["instance"]), key=_natural_key)
    inners = sorted(set(inner), key=_natural_key)
    palette = sorted(set(methods), key=_natural_key)
    fig = _figure(figsize=(2.5 * len(instances) + 1.8, 2.0 * len(inners) + 0.6))
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    axes = np.atleast_2d(fig.subplots(len(inners), len(instances), squeeze=False))
    colors = {m: f"C{i}" for i, m in enumerate(palette)}
    groups: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    for (_, row), method, solver in zip(rows.iterrows(), methods, inner):
        traj, bk = row["trajectory"], float(row["best_known"])
        key = (row["instance"], solver, method)
        groups.setdefault(key, []).append(
            (_gap_curve(traj.get("best_objective", []), bk), _gap_curve(traj["best_bound"], bk))
        )
    for (instance, solver, method), curves in groups.items():
        ax = axes[inners.index(solver), instances.index(instance)]
        primal = _median_curve([c[0] for c in curves])
        dual = _median_curve([c[1] for c in curves])
        it = np.arange(primal.size)
        ax.plot(it, primal, color=colors[method], linewidth=1.3)
        ax.plot(np.arange(dual.size), dual, color=colors[method], linewidth=1.0, linestyle="--")
    for i, solver in enumerate(inners):
        for j, instance in enumerate(instances):
            ax = axes[i, j]
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3, linewidth=0.6)
            if i == 0:
                ax.set_title(str(instance), fontsize="medium")
            if i == len(inners) - 1:
                ax.set_xlabel("iteration")
            if j == 0:
                ax.set_ylabel(f"{solver}\ngap to best known (%)")
    handles = [Line2D([], [], color=colors[m], label=m) for m in palette] + [
        Line2D([], [], color="0.3", label="best feasible"),
        Line2D([], [], color="0.3", linestyle="--", label="best dual value"),
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    fig.suptitle(title or "Multiplier searches: gap per iteration (median over seeds)")
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
    df = _lists_as_json(df)
    if fmt == "parquet":
        _parquet_safe(df).to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def _lists_as_json(df: pd.DataFrame) -> pd.DataFrame:
    """The table with list or dict cells (an answer's ``final_params``, ``trace``,
    ``top_states``) as compact JSON text, which both formats read back unambiguously."""
    out = df
    for column in df.columns:
        if df[column].dtype == object and any(isinstance(v, list | dict) for v in df[column]):
            out = out.copy() if out is df else out
            out[column] = df[column].map(
                lambda v: json.dumps(v, separators=(",", ":")) if isinstance(v, list | dict) else v
            )
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """The table with mixed-type text columns (a parameter that is "auto" in one run and 5.0
    in another) as text, which Parquet's typed columns need; other columns as they are."""
    out = df
    for column in df.columns:
        if df[column].dtype != object:
            continue
        kinds = {float if isinstance(v, int | float) and not isinstance(v, bool) else type(v)
                 for v in df[column].dropna()}  # fmt: skip
        if len(kinds) > 1:
            out = out.copy() if out is df else out
            out[column] = df[column].map(lambda v: None if _plain(v) is None else str(v))
    return out


# ---------------------------------------------------------------------------- loading


def load(
    folder: str | Path, success_gap: float = SUCCESS_GAP, solutions: bool = False
) -> pd.DataFrame:
    """The stored rows of a suite's output folder (the suite's current runs, ``Store.rows``)
    with the derived columns (``derive``: varying parameters, config, relative_quality,
    success, tts99_s); ``solutions`` adds each run's answer (``x``, ``x_raw``,
    ``final_params``, ``trace``, ``top_states``). ConfigError when it holds no results."""
    folder = Path(folder)
    if not (folder / "results.sqlite").is_file():
        raise ConfigError(
            f"no results in {folder}: {folder / 'results.sqlite'} not found "
            "(run `qbench run SUITE` first)"
        )
    with Store(folder) as store:
        df = store.dataframe(solutions=solutions)
    if df.empty:
        raise ConfigError(f"no runs stored in {folder / 'results.sqlite'} yet")
    return derive(df, success_gap)


def stale_note(folder: str | Path) -> str | None:
    """A note on the stored rows of configurations no longer in the suite (left out of
    tables), None when there are none."""
    with Store(folder) as store:
        n = len(store.stale())
    if not n:
        return None
    return (
        f"note: {n} stored row(s) of configurations no longer in the suite are left out; "
        f"`qbench prune {folder}` moves them to the store's history"
    )
