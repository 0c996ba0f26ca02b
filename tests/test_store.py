"""Result store: SQLite in WAL mode, one committed row per run, first result kept, tidy frame."""

import math
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

from qbench.errors import ConfigError
from qbench.pipeline import ROW_FIELDS, run
from qbench.store import FILENAME, Store


def fake_row(run_id, status="ok", **extra):
    row = dict.fromkeys(ROW_FIELDS)
    row.update(
        run_id=run_id, suite="t", status=status, finished_at="2025-01-01T00:00:00+00:00",
        objective=np.float64(12.5), seed=np.int64(3), feasible=np.bool_(True),
        gap_pct=float("nan"), n_vars=np.int32(5),
    )  # fmt: skip
    row.update(extra)
    return row


def test_round_trip_of_a_real_row(tmp_path):
    real = run("1tc.8", solver="brute", suite="t")
    with Store(tmp_path / "out") as store:
        assert store.add(real) is True
        assert store.add(fake_row("b", extra_col=[1, 2], another=np.arange(2))) is True
        assert store.done_ids() == {real["run_id"], "b"}
        rows = store.rows()
        answer = real.pop("answer")  # kept in its own table, not in the row
        assert rows[0] == real  # plain JSON values come back unchanged
        assert store.answers()[real["run_id"]] == answer and answer["x"]["n"] == 8
        fake = rows[1]
        assert fake["objective"] == 12.5 and fake["seed"] == 3 and fake["feasible"] is True
        assert isinstance(fake["seed"], int) and math.isnan(fake["gap_pct"])
        assert fake["another"] == [0, 1]
        df = store.dataframe()
    assert len(df) == 2 and list(df["run_id"]) == [real["run_id"], "b"]
    columns = list(df.columns)
    assert columns[: len(ROW_FIELDS)] == list(ROW_FIELDS)
    extras = [k for k in real if k not in ROW_FIELDS] + ["extra_col", "another"]
    assert columns[len(ROW_FIELDS) :] == extras  # then the rest, in first-seen order
    assert df.loc[0, "objective"] == real["objective"] == 4
    assert (tmp_path / "out" / FILENAME).is_file()


def test_empty_store_has_the_schema_columns(tmp_path):
    with Store(tmp_path) as store:
        df = store.dataframe()
        assert df.empty and list(df.columns) == list(ROW_FIELDS)
        assert store.rows() == [] and store.done_ids() == set() and len(store) == 0


def test_duplicate_run_id_keeps_the_first(tmp_path):
    with Store(tmp_path) as store:
        assert store.add(fake_row("x", status="ok")) is True
        assert store.add(fake_row("x", status="error")) is False
        assert len(store) == 1 and store.rows()[0]["status"] == "ok"
    with pytest.raises(ValueError, match="run_id"):
        Store(tmp_path).add({"status": "ok"})


def test_data_survives_close_and_reopen(tmp_path):
    store = Store(tmp_path)
    for i in range(5):
        store.add(fake_row(f"r{i}"))
    store.close()
    store.close()  # idempotent
    with Store(tmp_path, create=False) as again:
        assert again.done_ids() == {f"r{i}" for i in range(5)}
        assert [r["run_id"] for r in again.rows()] == [f"r{i}" for i in range(5)]


def test_wal_mode_and_concurrent_reader(tmp_path):
    with Store(tmp_path) as store:
        reader = sqlite3.connect(tmp_path / FILENAME)
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # a reader holding a transaction open does not block the writer (WAL)
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
        store.add(fake_row("a"))
        reader.execute("COMMIT")
        assert reader.execute("SELECT run_id, status FROM runs").fetchall() == [("a", "ok")]
        # another process sees every committed row while the writer is still open
        store.add(fake_row("b", status="error"))
        code = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT COUNT(*) FROM runs').fetchone()[0])"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / FILENAME)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert out.stdout.strip() == "2"
        reader.close()


def test_add_from_another_thread(tmp_path):
    with Store(tmp_path) as store:
        worker = threading.Thread(target=store.add, args=(fake_row("t"),))
        worker.start()
        worker.join()
        assert store.done_ids() == {"t"}


def test_unusable_folders_are_config_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"cannot create result folder .*file/sub"):
        Store(blocker / "sub")
    with pytest.raises(ConfigError, match="file"):
        Store(blocker)
    with pytest.raises(ConfigError, match=r"no results in .*nothing"):
        Store(tmp_path / "nothing", create=False)
