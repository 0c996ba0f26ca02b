"""Table text: Markdown, LaTeX (booktabs) and CSV from rows of plain values.

The one place that formats a value for a table cell: missing as ``-``, booleans as yes/no,
integral floats without decimals, other floats with 4 significant digits (CSV keeps 10). Library
code (reports, the runner's summary, dry runs) and the command line all print through here.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

FORMATS = ("md", "latex", "csv")

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def format_value(value: Any) -> str:
    """One table cell: ``-`` for missing/NaN, yes/no, integral floats bare, else 4 digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of the given columns (missing values shown as '-')."""
    cells = [[format_value(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |"
              for r in cells]  # fmt: skip
    return "\n".join(lines)


def latex_escape(text: str) -> str:
    """Text with LaTeX's special characters escaped (for table cells and headers)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], n_left: int) -> str:
    """A booktabs tabular: the first ``n_left`` columns left-aligned, the rest right-aligned."""
    align = "l" * n_left + "r" * (len(columns) - n_left)
    lines = [f"\\begin{{tabular}}{{{align}}}", r"\toprule"]
    lines.append(" & ".join(latex_escape(c) for c in columns) + r" \\")
    lines.append(r"\midrule")
    for row in rows:
        lines.append(" & ".join(latex_escape(format_value(row[c])) for c in columns) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def csv_table(df: pd.DataFrame) -> str:
    """CSV text of a DataFrame (no index, 10 significant digits, no trailing newline)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.10g", lineterminator="\n")
    return buf.getvalue().rstrip("\n")
