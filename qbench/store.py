"""The result store of a suite: one SQLite file, ``<folder>/results.sqlite``, one row per run.

Table ``runs(run_id TEXT PRIMARY KEY, suite TEXT, status TEXT, finished_at TEXT, row TEXT)``
with the full result row as JSON (numpy values as plain numbers, NaN kept). Each ``add`` is
committed at once, so an interrupted suite loses at most the runs in flight and a re-run skips
``done_ids()``. A run_id already stored is kept (``INSERT OR IGNORE``): results are never
overwritten. A retried run (``qbench run --retry error,timeout``) replaces its row with
``add(row, replace=True)``: in one transaction the old row moves to ``history`` (same columns
plus ``superseded_at``), which tables never count, and the new one takes its place.

Beside the rows: ``answers(run_id, answer)`` keeps each run's answer (:mod:`qbench.answers`:
the packed solution bitstring, final parameters, optimisation trace, top states), taken out of
the row a run returns under the key ``answer``; ``refs(instance, value, kind, bound, source,
found_at)`` the reference value of each instance (``published``, ``optimal`` — proven — or
``best_found`` with its dual bound), which fills ``best_known``, ``gap_pct`` and
``approx_ratio`` of rows that lack them; ``suite_runs(run_id, label)`` the run_ids of the suite
file as it was at its last ``qbench run``, so tables show the suite as it is now and report
rows of configurations no longer in it (``stale``; ``prune`` moves them to history). The file
is in WAL mode (``synchronous=NORMAL``) so readers (``qbench table`` while a suite runs) never
block the writer. Only the coordinating process writes: workers
return rows, the coordinator adds them (SQLite must not be written from several hosts).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qbench.answers import unpack_bits
from qbench.errors import ConfigError
from qbench.schema import ROW_FIELDS

FILENAME = "results.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    suite TEXT,
    status TEXT,
    finished_at TEXT,
    row TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    run_id TEXT NOT NULL,
    suite TEXT,
    status TEXT,
    finished_at TEXT,
    row TEXT NOT NULL,
    superseded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    run_id TEXT PRIMARY KEY,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refs (
    instance TEXT PRIMARY KEY,
    value REAL NOT NULL,
    kind TEXT NOT NULL,
    bound REAL,
    source TEXT,
    found_at TEXT
);
CREATE TABLE IF NOT EXISTS suite_runs (
    run_id TEXT PRIMARY KEY,
    label TEXT
)
"""
#: kinds of reference value, best first
REFERENCE_KINDS = ("published", "optimal", "best_found")


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars/arrays and other objects (paths, times → text)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def to_json(row: dict[str, Any]) -> str:
    """A row as JSON text; numpy values become plain numbers and lists."""
    return json.dumps(row, default=_plain, allow_nan=True)


class Store:
    """Open (or create) ``<folder>/results.sqlite``; ConfigError when it cannot be written.

    ``create=False`` opens an existing store only (for reading results of a finished run):
    a folder without results.sqlite is then a ConfigError naming it.
    """

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILENAME
        if not create and not self.path.is_file():
            raise ConfigError(f"no results in {self.folder}: {FILENAME} not found")
        if create:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create result folder {self.folder}: {exc.strerror or exc}"
                ) from None
            if not os.access(self.folder, os.W_OK | os.X_OK):
                raise ConfigError(f"result folder {self.folder} is not writable")
        self._lock = threading.Lock()
        try:
            # the coordinator may add rows from a callback thread; the lock serialises that
            self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            self._conn.commit()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open result store {self.path}: {exc}") from None

    # -- writing ------------------------------------------------------------------------------

    def add(self, row: dict[str, Any], replace: bool = False) -> bool:
        """Store one run's row and commit; False (nothing written) if its run_id is stored,
        unless ``replace``: then the stored row moves to ``history`` in the same transaction."""
        run_id = row.get("run_id")
        if not run_id:
            raise ValueError("a result row needs a run_id")
        row = dict(row)
        answer = row.pop("answer", None)
        values = (str(run_id), row.get("suite"), row.get("status"), row.get("finished_at"))
        with self._lock, self._conn:  # one transaction: committed, or rolled back on error
            if replace:
                self._conn.execute(
                    "INSERT INTO history (run_id, suite, status, finished_at, row, "
                    "superseded_at) SELECT run_id, suite, status, finished_at, row, ? FROM runs "
                    "WHERE run_id = ?",
                    (datetime.now(UTC).isoformat(), str(run_id)),
                )
                self._conn.execute("DELETE FROM runs WHERE run_id = ?", (str(run_id),))
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO runs (run_id, suite, status, finished_at, row) "
                "VALUES (?, ?, ?, ?, ?)",
                (*(None if v is None else str(v) for v in values), to_json(row)),
            )
            if cur.rowcount == 1:
                if answer is None:
                    self._conn.execute("DELETE FROM answers WHERE run_id = ?", (str(run_id),))
                else:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO answers (run_id, answer) VALUES (?, ?)",
                        (str(run_id), to_json(answer)),
                    )
        return cur.rowcount == 1

    def set_reference(
        self,
        instance: str,
        value: float,
        kind: str,
        bound: float | None = None,
        source: str | None = None,
    ) -> None:
        """Keep the reference value of an instance (a better kind, or the first, wins)."""
        if kind not in REFERENCE_KINDS:
            raise ValueError(f"reference kind {kind!r}; allowed: {', '.join(REFERENCE_KINDS)}")
        old = self.references().get(instance)
        if old is not None and REFERENCE_KINDS.index(old["kind"]) <= REFERENCE_KINDS.index(kind):
            return
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO refs (instance, value, kind, bound, source, found_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (instance, float(value), kind, bound, source, datetime.now(UTC).isoformat()),
            )

    def set_suite_runs(self, labels: dict[str, str | None]) -> None:
        """Record the current suite's run_ids (and their labels), replacing the last ones."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM suite_runs")
            self._conn.executemany(
                "INSERT INTO suite_runs (run_id, label) VALUES (?, ?)", list(labels.items())
            )

    def prune(self) -> int:
        """Move the rows of runs no longer in the suite (:meth:`stale`) to history; how many."""
        stale = self.stale()
        when = datetime.now(UTC).isoformat()
        with self._lock, self._conn:
            for run_id in stale:
                self._conn.execute(
                    "INSERT INTO history (run_id, suite, status, finished_at, row, "
                    "superseded_at) SELECT run_id, suite, status, finished_at, row, ? FROM runs "
                    "WHERE run_id = ?",
                    (when, run_id),
                )
                self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        return len(stale)

    # -- reading ------------------------------------------------------------------------------

    def done_ids(self) -> set[str]:
        """The run_ids already stored (whatever their status): a re-run skips them."""
        return set(self.statuses())

    def statuses(self) -> dict[str, str | None]:
        """run_id → status of every stored run."""
        with self._lock:
            return dict(self._conn.execute("SELECT run_id, status FROM runs").fetchall())

    def history(self) -> pd.DataFrame:
        """The rows retried runs replaced (oldest first), with ``superseded_at``."""
        with self._lock:
            found = self._conn.execute(
                "SELECT row, superseded_at FROM history ORDER BY rowid"
            ).fetchall()
        rows = [{**json.loads(text), "superseded_at": when} for text, when in found]
        return pd.DataFrame.from_records(rows)

    def rows(self, current: bool = False) -> list[dict[str, Any]]:
        """Every stored row in the order they were added (``current``: only the runs of the
        suite as it is now, when one was recorded), labels and references filled in."""
        keep = self.suite_runs() if current else {}
        with self._lock:
            found = self._conn.execute("SELECT run_id, row FROM runs ORDER BY rowid").fetchall()
        refs = self.references()
        out = []
        for run_id, text in found:
            if keep and run_id not in keep:
                continue
            row = json.loads(text)
            if keep.get(run_id) is not None:
                row["label"] = keep[run_id]
            out.append(with_reference(row, refs.get(row.get("instance"))))
        return out

    def suite_runs(self) -> dict[str, str | None]:
        """run_id → label of the suite as it was at its last run ({} when none recorded)."""
        with self._lock:
            return dict(self._conn.execute("SELECT run_id, label FROM suite_runs").fetchall())

    def stale(self) -> list[str]:
        """Stored run_ids of configurations no longer in the suite (none without a record)."""
        keep = self.suite_runs()
        if not keep:
            return []
        with self._lock:
            ids = [r[0] for r in self._conn.execute("SELECT run_id FROM runs ORDER BY rowid")]
        return [rid for rid in ids if rid not in keep]

    def references(self) -> dict[str, dict[str, Any]]:
        """instance → {value, kind, bound, source, found_at} of the stored references."""
        with self._lock:
            found = self._conn.execute(
                "SELECT instance, value, kind, bound, source, found_at FROM refs"
            ).fetchall()
        keys = ("value", "kind", "bound", "source", "found_at")
        return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in found}

    def answers(self) -> dict[str, dict[str, Any]]:
        """run_id → answer (:mod:`qbench.answers`) of every run that has one."""
        with self._lock:
            found = self._conn.execute("SELECT run_id, answer FROM answers").fetchall()
        return {run_id: json.loads(text) for run_id, text in found}

    def dataframe(self, current: bool = True, solutions: bool = False) -> pd.DataFrame:
        """The tidy table: one row per run; columns ROW_FIELDS first, then the rest as seen.

        ``current``: only the runs of the suite as it is now (when recorded); ``solutions``:
        add the answers' columns (``x`` as a 0/1 string, ``x_raw``, ``final_params``,
        ``trace``, ``top_states``)."""
        rows = self.rows(current=current)
        if solutions:
            answers = self.answers()
            rows = [{**row, **answer_columns(answers.get(row["run_id"]))} for row in rows]
        columns = list(ROW_FIELDS)
        known = set(columns)
        for row in rows:
            for key in row:
                if key not in known:
                    known.add(key)
                    columns.append(key)
        return pd.DataFrame.from_records(rows, columns=columns)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        conn, self._conn = getattr(self, "_conn", None), None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r})"


__all__ = ["FILENAME", "Store", "to_json"]


def answer_columns(answer: dict[str, Any] | None) -> dict[str, Any]:
    """An answer as table columns: bitstrings as 0/1 text, the rest as lists."""
    answer = answer or {}

    def bits(key: str) -> str | None:
        packed = answer.get(key)
        return None if packed is None else "".join(map(str, unpack_bits(packed)))

    return {
        "x": bits("x"), "x_raw": bits("x_raw"), "final_params": answer.get("params"),
        "trace": answer.get("trace"), "top_states": answer.get("top_states"),
        "trajectory": answer.get("trajectory"),
    }  # fmt: skip


def with_reference(row: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
    """The row with ``best_known``, ``gap_pct`` and ``approx_ratio`` from the instance's stored
    reference where the row has no best known value (and ``reference_kind`` set)."""
    if ref is None or row.get("best_known") is not None:
        return row
    opt, objective, sense = float(ref["value"]), row.get("objective"), row.get("sense")
    if sense is None:  # a row stored before rows carried their sense
        from qbench.problems import PROBLEMS

        kind = PROBLEMS.get(str(row.get("problem")))
        sense = kind.sense if kind is not None else None
    row = {**row, "best_known": opt, "reference_kind": ref["kind"]}
    if sense in ("min", "max") and objective is not None and row.get("feasible") and opt != 0:
        diff = objective - opt if sense == "min" else opt - objective
        row["gap_pct"] = 100.0 * diff / abs(opt)
        if (opt > 0) == (objective > 0) and objective != 0:
            row["approx_ratio"] = objective / opt if sense == "max" else opt / objective
    return row
