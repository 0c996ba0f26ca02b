"""The result store of a suite: one SQLite file, ``<folder>/results.sqlite``, one row per run.

Table ``runs(run_id TEXT PRIMARY KEY, suite TEXT, status TEXT, finished_at TEXT, row TEXT)``
with the full result row as JSON (numpy values as plain numbers, NaN kept). Each ``add`` is
committed at once, so an interrupted suite loses at most the runs in flight and a re-run skips
``done_ids()``. A run_id already stored is kept (``INSERT OR IGNORE``): results are never
overwritten. A retried run (``qbench run --retry error,timeout``) replaces its row with
``add(row, replace=True)``: in one transaction the old row moves to ``history`` (same columns
plus ``superseded_at``), which tables never count, and the new one takes its place. The file
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
)
"""


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
        return cur.rowcount == 1

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

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row, in the order they were added."""
        with self._lock:
            texts = [r[0] for r in self._conn.execute("SELECT row FROM runs ORDER BY rowid")]
        return [json.loads(text) for text in texts]

    def dataframe(self) -> pd.DataFrame:
        """The tidy table: one row per run; columns ROW_FIELDS first, then the rest as seen."""
        rows = self.rows()
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
