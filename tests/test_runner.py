"""The suite runner: every run once, resume after SIGKILL, error/timeout rows, Dask = serial."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pandas as pd
import pytest

from qbench import cli, runner
from qbench.errors import ConfigError, QbenchError
from qbench.params import Param
from qbench.runner import Progress, execute_config, run_suite
from qbench.solvers import SOLVERS
from qbench.solvers.base import Solver
from qbench.store import Store
from qbench.suite import load_suite

#: fields that differ between two executions of the same run
VOLATILE = ("time_encode_s", "time_solve_s", "time_total_s", "qpu_time_s", "started_at",
            "finished_at", "host")  # fmt: skip


def write_suite(tmp_path: Path, body: str, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.toml"
    out = tmp_path / ("out" if name == "tiny" else f"out-{name}")
    path.write_text(f'name = "{name}"\nout = "{out}"\n{body}')
    return path


TINY = """
seeds = [0, 1]
repeat_deterministic = true
instances = [{ problem = "mdkp", n = [6, 8], m = 2, seed = 1 }]
[[solvers]]
name = "mip"
[[solvers]]
name = "brute"
"""


def stable(df: pd.DataFrame) -> pd.DataFrame:
    """The deterministic part of a result table, in run_id order."""
    return df.drop(columns=list(VOLATILE)).sort_values("run_id").reset_index(drop=True)


def test_a_suite_runs_every_run_once_with_real_results(tmp_path, monkeypatch):
    suite = load_suite(write_suite(tmp_path, TINY))
    assert len(suite.runs) == 8
    df = run_suite(suite, progress=False)
    assert sorted(df["run_id"]) == sorted(c.run_id for c in suite.runs)
    assert (df["status"] == "ok").all() and (df["suite"] == "tiny").all()
    # brute force and the MIP agree on the optimum of every (instance, seed)
    best = df.pivot_table(index=["instance", "seed"], columns="solver", values="objective")
    assert len(best) == 4 and (best["mip"] == best["brute"]).all()

    calls = []
    monkeypatch.setattr(runner, "execute_config", lambda *a: calls.append(a))
    again = run_suite(load_suite(suite.path), progress=False)  # everything done: nothing runs
    assert calls == []
    pd.testing.assert_frame_equal(again, df)


def test_process_pool_gives_the_serial_rows(tmp_path):
    path = write_suite(tmp_path, TINY)
    serial = run_suite(load_suite(path, out=tmp_path / "serial"), progress=False)
    pool = run_suite(load_suite(path, out=tmp_path / "pool"), workers=2, timeout=60,
                     progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(stable(pool), stable(serial))


KILLABLE = """
instances = [{ problem = "mdkp", n = 16, m = 2, seed = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }]
[[solvers]]
name = "brute"
"""


def stored(out: Path) -> int:
    try:
        with sqlite3.connect(out / "results.sqlite", timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_suite_killed_part_way_resumes_without_losses_or_duplicates(tmp_path, monkeypatch):
    path = write_suite(tmp_path, KILLABLE)
    out = tmp_path / "out"
    suite = load_suite(path)
    total = len(suite.runs)
    assert total == 12
    script = (
        "import sys\nfrom qbench.runner import run_suite\nfrom qbench.suite import load_suite\n"
        "run_suite(load_suite(sys.argv[1]), workers=2, timeout=60, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)])
    try:
        deadline = time.monotonic() + 60
        while stored(out) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL, "the suite finished before it could be killed"
    finally:
        if proc.poll() is None:
            proc.kill()
    with Store(out) as store:
        before = {r["run_id"]: r["finished_at"] for r in store.rows()}
    assert 1 <= len(before) < total

    real = runner.execute_config
    calls = []

    def counting(cfg, suite_name):
        calls.append(cfg.run_id)
        return real(cfg, suite_name)

    monkeypatch.setattr(runner, "execute_config", counting)
    df = run_suite(load_suite(path), progress=False)
    assert sorted(calls) == sorted(set(c.run_id for c in suite.runs) - set(before))
    assert len(df) == total and df["run_id"].is_unique
    assert set(df["run_id"]) == {c.run_id for c in suite.runs}
    assert (df["status"] == "ok").all()
    kept = df.set_index("run_id").loc[list(before), "finished_at"]
    assert kept.to_dict() == before  # rows stored before the kill are untouched


FAILING = """
timeout = 1
instances = ["mdkp:n=30,m=2,seed=1"]
[[solvers]]
name = "brute"
[[solvers]]
name = "sa"
num_sweeps = 100000000
[[solvers]]
name = "mip"
"""


def test_errors_and_timeouts_become_rows_and_the_suite_goes_on(tmp_path):
    suite = load_suite(write_suite(tmp_path, FAILING))
    assert suite.timeout == 1
    t0 = time.perf_counter()
    df = run_suite(suite, workers=2, progress=False).set_index("solver")
    assert time.perf_counter() - t0 < 20  # the runaway annealer was killed
    assert df.loc["brute", "status"] == "error"
    assert "max_vars" in df.loc["brute", "error"]  # brute refuses 2^30 states
    timed = df.loc["sa"]
    assert timed["status"] == "timeout" and timed["error"] == "timed out after 1 s"
    assert 1 <= timed["time_total_s"] < 10
    # a timeout row still says what ran, so it groups with the others in reports
    assert timed["problem"] == "mdkp" and timed["n_vars"] == 30
    assert timed["instance"] == df.loc["mip", "instance"] == "mdkp-n30-m2-t0.5-s1"
    assert df.loc["mip", "status"] == "ok" and df.loc["mip", "feasible"]
    assert df.loc["mip", "objective"] > 0


def _boom(target, *, seed=None, how="raise"):
    """A test solver: raises a non-qbench exception, or kills its process."""
    if how == "exit":
        os._exit(3)
    raise RuntimeError("boom: a solver bug")


def test_a_raising_solver_and_a_dying_worker_are_error_rows(tmp_path, monkeypatch):
    # the registry is patched in this process; forked workers inherit it
    solver = Solver(name="boom", params=(Param("how", str, "raise", "raise or exit"),),
                    description="test solver", solve=_boom)  # fmt: skip
    monkeypatch.setitem(SOLVERS, "boom", solver)
    body = """
instances = ["mdkp:n=6,m=2,seed=1"]
[[solvers]]
name = "boom"
how = ["raise", "exit"]
[[solvers]]
name = "brute"
"""
    suite = load_suite(write_suite(tmp_path, body))
    df = run_suite(suite, workers=2, timeout=30, progress=False)
    assert len(df) == 3
    by_how = {r["params"]: r for r in df.to_dict("records")}
    raised = next(r for p, r in by_how.items() if '"raise"' in p)
    died = next(r for p, r in by_how.items() if '"exit"' in p)
    assert raised["status"] == "error" and raised["error"] == "RuntimeError: boom: a solver bug"
    assert died["status"] == "error" and "exit code 3" in died["error"]
    assert died["problem"] == "mdkp" and died["solver"] == "boom"
    assert df.loc[df["solver"] == "brute", "status"].item() == "ok"
    # inline (one worker, no timeout) the raising run is an error row as well ("exit" would
    # end this process: inline runs have no isolation)
    inline = load_suite(write_suite(tmp_path, body.replace('["raise", "exit"]', '"raise"'), "b"))
    rows = run_suite(inline, progress=False).set_index("solver")
    assert rows.loc["boom", "error"] == "RuntimeError: boom: a solver bug"
    assert rows.loc["brute", "status"] == "ok"


def test_execute_config_never_raises(tmp_path):
    suite = load_suite(write_suite(tmp_path, TINY))
    good = suite.runs[0]
    bad = type(good)(good.spec, "mip", None, {"no_such_param": 1}, 0, False, "deadbeef")
    row = execute_config(bad, "tiny")
    assert row["status"] == "error" and "no_such_param" in row["error"]
    assert row["run_id"] == "deadbeef" and row["instance"] == good.spec and row["seed"] == 0
    assert row["qbench_version"] is not None  # provenance on failure rows too


def test_bad_arguments_are_config_errors(tmp_path, monkeypatch):
    suite = load_suite(write_suite(tmp_path, TINY))
    with pytest.raises(ConfigError, match="workers"):
        run_suite(suite, workers=0)
    with pytest.raises(ConfigError, match="timeout"):
        run_suite(suite, timeout=-1)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[distributed\]'"):
        run_suite(suite, dask="local")
    assert not (tmp_path / "out").exists()  # refused before the store was created


def test_progress_is_one_line_on_a_terminal_and_sparse_in_logs():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    log = io.StringIO()
    bar = Progress(100, stream=log)
    for i in range(100):
        bar.update({"status": "error" if i % 10 == 0 else "ok"})
    bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("qbench: 100/100 runs, 10 failed")
    tty = Tty()
    bar = Progress(3, stream=tty)
    for _ in range(3):
        bar.update({"status": "timeout"})
    bar.close()
    text = tty.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 4 and "3/3 runs, 3 failed" in text
    quiet = io.StringIO()
    bar = Progress(5, enabled=False, stream=quiet)
    bar.update({"status": "ok"})
    assert quiet.getvalue() == ""


def test_main_run_dry_run_run_and_bad_input(tmp_path, capsys):
    path = write_suite(tmp_path, TINY)
    args = Namespace(suite=str(path), out=None, workers=1, dask=None, timeout=None, dry_run=True)
    assert cli.cmd_run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("| run_id") and out.count("| mdkp-") + out.count("| mdkp:") == 8
    assert not (tmp_path / "out").exists()  # a dry run writes nothing

    args.dry_run = False
    assert cli.cmd_run(args) == 0
    out = capsys.readouterr().out
    assert "8 runs" in out and "ok 8" in out
    table = [line for line in out.splitlines() if line.startswith("| mdkp")]
    assert len(table) == 4  # per instance (n = 6, 8): (brute, none) and (mip, none)

    # bad input: one line from the CLI, which turns QbenchError into exit code 2
    from qbench.cli import main

    assert main(["run", str(path), "--workers", "0"]) == 2
    assert "workers must be an integer >= 1" in capsys.readouterr().err

    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qbench: error: ") and err.count("\n") == 1


def test_summary_counts_and_groups_like_qbench_table():
    """The summary after `qbench run` is `qbench table`'s: by instance and configuration, with
    its `errors` column, never averaging different instances together."""
    df = pd.DataFrame(
        {
            "problem": ["mdkp"] * 4, "instance": ["a", "a", "a", "b"], "solver": ["sa"] * 4,
            "encoder": ["none"] * 4, "status": ["ok", "error", "ok", "ok"],
            "objective": [10.0, None, 20.0, 99.0], "gap_pct": [0.0, None, 50.0, 1.0],
            "feasible": [True, False, True, True], "p_feasible": [None] * 4,
            "time_total_s": [1, 3, 2, 5],
        }
    )  # fmt: skip
    counts, table = runner.summary(df)
    assert counts.to_dict() == {"error": 1, "ok": 3}
    assert list(table["instance"]) == ["a", "b"] and "failed" not in table.columns
    row = table.iloc[0]
    assert row["runs"] == 3 and row["errors"] == 1
    assert row["objective"] == 15 and row["gap_pct"] == 25 and row["time_total_s"] == 1.5


def test_dask_local_cluster_gives_the_serial_rows(tmp_path):
    pytest.importorskip("dask.distributed")
    path = write_suite(tmp_path, TINY)
    serial = run_suite(load_suite(path, out=tmp_path / "serial"), progress=False)
    dask = run_suite(load_suite(path, out=tmp_path / "dask"), workers=2, dask="local",
                     progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(stable(dask), stable(serial))


def test_qbench_errors_are_not_wrapped(tmp_path):
    suite = load_suite(write_suite(tmp_path, TINY))
    cfg = suite.runs[0]
    bad = type(cfg)("mdkp:n=0,m=2,seed=1", "mip", None, {}, 0, False, "0123")
    row = execute_config(bad, None)
    assert row["status"] == "error" and not row["error"].startswith("ConfigError")
    with pytest.raises(QbenchError) as exc:
        bad.prepare()
    assert row["error"] == str(exc.value)  # the message as the CLI would print it


@pytest.mark.slow
def test_dask_timeouts_are_rows_and_the_worker_is_freed(tmp_path):
    pytest.importorskip("dask.distributed")
    body = FAILING.replace("timeout = 1", "timeout = 2")
    suite = load_suite(write_suite(tmp_path, body, "dasktimeout"))
    df = run_suite(suite, workers=1, dask="local", progress=False).set_index("solver")
    assert df.loc["sa", "status"] == "timeout" and df.loc["sa", "error"] == "timed out after 2 s"
    assert df.loc["brute", "status"] == "error"
    # the one worker was restarted after the timeout, so the run after it still finished
    assert df.loc["mip", "status"] == "ok"
