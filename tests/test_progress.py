"""The progress display: ETA from per-solver durations, runs in flight, a line per run in logs,
silence when disabled, ``rich`` optional; and the runner telling it when runs start."""

from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path

import pytest

from qbench import progress as progress_module
from qbench.progress import Progress, plain
from qbench.runner import run_suite
from qbench.suite import RunConfig, load_suite

SMALL, LARGE = "mdkp:n=8,m=2,seed=1", "mdkp:n=40,m=2,seed=1"
N_VARS = {SMALL: 8, LARGE: 40}


class Clock:
    """A fake monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    """An in-memory stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def cfg(spec: str, solver: str, seed: int = 0, **params: object) -> RunConfig:
    rid = f"{solver}-{spec}-{seed}-{sorted(params.items())}"
    return RunConfig(
        spec=spec, solver=solver, encoder=None, params=dict(params), seed=seed, repair=False,
        run_id=rid,
    )  # fmt: skip


def row(run: RunConfig, status: str = "ok", seconds: float | None = None, **extra: object):
    return {
        "run_id": run.run_id, "instance": run.spec, "solver": run.solver, "seed": run.seed,
        "status": status, "n_vars": N_VARS.get(run.spec), "time_total_s": seconds, **extra,
    }  # fmt: skip


def grid() -> list[RunConfig]:
    """mip and qaoa on a small and a large instance, two seeds each: 8 runs."""
    return [cfg(s, solver, seed) for solver in ("mip", "qaoa") for s in (SMALL, LARGE)
            for seed in (0, 1)]  # fmt: skip


def run(bar: Progress, clock: Clock, config: RunConfig, seconds: float, **kw: object) -> None:
    """Start a run now, finish it ``seconds`` later."""
    bar.start(config)
    clock.now += seconds
    bar.finish(config.run_id, row(config, seconds=seconds, **kw))


def test_eta_sums_per_solver_and_size_means_over_what_is_left():
    clock = Clock()
    runs = grid()
    mip_s0, mip_s1, mip_l0, mip_l1, qaoa_s0, qaoa_s1, qaoa_l0, qaoa_l1 = runs
    bar = Progress(runs, enabled=False, clock=clock)
    assert bar.eta() is None  # nothing finished: no basis for an estimate
    run(bar, clock, mip_s0, 1.0)
    # the overall mean (1 s) stands in for the 7 runs to come, qaoa included
    assert bar.eta() == pytest.approx(7.0)
    run(bar, clock, qaoa_s0, 10.0)
    # mip 1 s each (3), qaoa 10 s each (3): per solver, not the linear 5.5 s per run
    assert bar.eta() == pytest.approx(3 * 1.0 + 3 * 10.0)
    run(bar, clock, qaoa_l0, 100.0)
    # the large instance is now known to have 40 variables: qaoa on it is expected at 100 s,
    # qaoa on the small one still at 10 s; mip on the large one falls back to the mip mean
    assert bar.expected(qaoa_l1) == 100.0 and bar.expected(qaoa_s1) == 10.0
    assert bar.expected(mip_l0) == 1.0
    assert bar.eta() == pytest.approx(1.0 + 2 * 1.0 + 10.0 + 100.0)
    assert bar.done == 3 and clock.now == 111.0  # a linear ETA would say 185 s
    # a run in flight counts with what is left of its expected duration
    bar.start(qaoa_l1)
    clock.now += 30.0
    assert bar.eta() == pytest.approx(70.0 + 1.0 + 2 * 1.0 + 10.0)
    assert [(c.run_id, s) for c, s in bar.in_flight()] == [(qaoa_l1.run_id, 30.0)]
    assert mip_s1 in runs and mip_l1 in runs


def test_a_new_configuration_is_expected_to_take_its_solver_s_time_on_that_size():
    clock = Clock()
    runs = [cfg(s, "qaoa", 0, p=p) for p in (1, 2) for s in (SMALL, LARGE)]
    bar = Progress(runs, enabled=False, clock=clock)
    run(bar, clock, runs[0], 2.0)  # p=1, small
    run(bar, clock, runs[1], 50.0)  # p=1, large
    run(bar, clock, runs[2], 3.0)  # p=2, small
    # p=2 on the large instance: qaoa's time at that size, not p=2's mean on small instances
    assert bar.expected(runs[3]) == 50.0 and bar.eta() == pytest.approx(50.0)


def test_eta_divides_by_the_workers_but_not_below_the_longest_run():
    clock = Clock()
    runs = grid()
    bar = Progress(runs, workers=4, enabled=False, clock=clock)
    run(bar, clock, runs[0], 2.0)  # mip: 2 s, the overall mean for the other 7
    assert bar.eta() == pytest.approx(7 * 2.0 / 4)
    run(bar, clock, runs[4], 4.0)  # qaoa small: 4 s
    # left: mip 3 × 2 s, qaoa 3 × 4 s → 18 s of work on 4 workers
    assert bar.eta() == pytest.approx(18.0 / 4)
    for config in runs[1:4] + runs[5:7]:
        run(bar, clock, config, 2.0 if config.solver == "mip" else 4.0)
    # one qaoa run left: 4 workers cannot share it, the ETA is its whole expected duration
    assert bar.eta() == pytest.approx(4.0)


def test_eta_counts_as_many_workers_as_runs_seen_in_flight_at_once():
    clock = Clock()
    runs = [cfg(SMALL, "sa", seed) for seed in range(8)]
    bar = Progress(runs, workers=1, enabled=False, clock=clock)
    for config in runs[:4]:  # an external Dask cluster running 4 at once
        bar.start(config)
    clock.now = 3.0
    for config in runs[:4]:
        bar.finish(config, row(config, seconds=3.0))
    assert bar.peak == 4 and bar.eta() == pytest.approx(4 * 3.0 / 4)
    bar.start(runs[5])
    assert f"1 running: sa seed 5 on {SMALL} 0:00" in bar.live_line(200)  # seeds tell runs apart


def test_the_terminal_line_shows_the_runs_in_flight_longest_first(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = Clock()
    runs = [cfg(SMALL, "qaoa", 0, p=1), cfg(SMALL, "qaoa", 0, p=2), cfg(LARGE, "mip")]
    tty = Tty()
    bar = Progress(runs, stream=tty, clock=clock, refresh=None)
    bar.start(runs[1])
    clock.now = 65.0
    bar.start(runs[2])
    clock.now = 70.0
    last = tty.getvalue().split("\r")[-1]
    assert "0/3 runs, 0 failed" in last and "eta ?" in last
    # only the parameter that differs between the qaoa runs names the configuration
    assert f"2 running: qaoa(p=2) on {SMALL} 1:05, mip on {LARGE} 0:00\033[K" in last
    assert bar.live_line(200).endswith(f"2 running: qaoa(p=2) on {SMALL} 1:10, mip on {LARGE} 0:05")
    bar.finish(runs[2].run_id, row(runs[2], "timeout", 5.0, error="timed out after 5 s"))
    last = tty.getvalue().split("\r")[-1]
    assert "1/3 runs, 1 failed (0 error, 1 timeout)" in last and "1 running: qaoa(p=2)" in last
    narrow = bar.live_line(width=60)
    assert len(narrow) < 60 and narrow.endswith("…")
    bar.start(runs[0])
    line = bar.live_line(width=len(bar.line()) + 75)
    assert "2 running: qaoa(p=2) on" in line and line.endswith("+1 more")
    bar.close()
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1


def test_the_terminal_line_ticks_while_a_run_is_in_flight():
    runs = [cfg(SMALL, "qaoa")]
    tty = Tty()
    bar = Progress(runs, stream=tty, refresh=0.01)
    bar.start(runs[0])
    deadline = time.monotonic() + 5
    while tty.getvalue().count("\r") < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    bar.close()
    assert tty.getvalue().count("\r") >= 5  # redrawn with no event from the runner
    assert bar._ticker is not None and not bar._ticker.is_alive()
    written = tty.getvalue()
    time.sleep(0.05)
    assert tty.getvalue() == written and written.endswith("\n")  # nothing after close


def test_logs_get_one_plain_line_per_finished_run():
    clock = Clock()
    runs = [cfg(SMALL, "mip"), cfg(LARGE, "qaoa", 1, p=1), cfg(LARGE, "qaoa", 1, p=2)]
    log = io.StringIO()
    bar = Progress(runs, stream=log, clock=clock)
    run(bar, clock, runs[0], 0.5)
    bar.start(runs[1])
    clock.now += 2.0
    message = "ValueError: bad\nvalue\x1b[31m"  # a newline and an escape in an error message
    bar.finish(runs[1].run_id, row(runs[1], "error", error=message))  # no time in the row
    bar.finish(runs[2].run_id, row(runs[2], "timeout", 60.0, error="timed out after 60 s"))
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines == [
        f"qbench: run 1/3 instance={SMALL} solver=mip seed=0 status=ok seconds=0.50",
        "qbench: 1/3 runs, 0 failed, elapsed 0:00, eta 0:01",
        f"qbench: run 2/3 instance={LARGE} solver=qaoa(p=1) seed=1 status=error seconds=2.00 "
        'error="ValueError: bad value [31m"',
        "qbench: 2/3 runs, 1 failed (1 error, 0 timeout), elapsed 0:02, eta 0:02",
        f"qbench: run 3/3 instance={LARGE} solver=qaoa(p=2) seed=1 status=timeout "
        'seconds=60.00 error="timed out after 60 s"',
        "qbench: 3/3 runs, 2 failed (1 error, 1 timeout), elapsed 0:02, eta 0:00",
    ]
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text and all(line.isprintable() for line in lines)
    fields = dict(f.split("=", 1) for f in lines[0].split()[3:])
    assert fields == {"instance": SMALL, "solver": "mip", "seed": "0", "status": "ok",
                      "seconds": "0.50"}  # fmt: skip


def test_a_log_gets_a_summary_every_tenth_and_a_last_one_when_stopped_early():
    runs = [cfg(SMALL, "sa", seed) for seed in range(40)]
    log = io.StringIO()
    bar = Progress(runs, stream=log)
    for config in runs[:30]:
        bar.start(config)
        bar.finish(config.run_id, row(config, seconds=0.1))
    bar.close()  # interrupted after 30 of 40
    lines = log.getvalue().splitlines()
    summaries = [line for line in lines if not line.startswith("qbench: run ")]
    assert len(lines) - len(summaries) == 30
    assert [s.split(" runs")[0] for s in summaries] == [
        f"qbench: {n}/40" for n in (4, 8, 12, 16, 20, 24, 28, 30)
    ]


def test_plain_values_are_one_token_without_control_characters():
    assert plain("mdkp:n=8,m=2,seed=1") == "mdkp:n=8,m=2,seed=1"
    assert plain("my file.tsp") == '"my file.tsp"'
    assert plain("a\tb\u2028c") == '"a b c"'
    assert plain("") == '""'


def test_disabled_progress_prints_nothing():
    clock = Clock()
    runs = grid()
    for stream in (io.StringIO(), Tty()):
        bar = Progress(runs, enabled=False, stream=stream, clock=clock, refresh=0.01)
        run(bar, clock, runs[0], 1.0)
        bar.start(runs[1])
        bar.finish(runs[1], row(runs[1], "error", 1.0))
        bar.close()
        assert stream.getvalue() == "" and bar._ticker is None
        assert bar.done == 2 and bar.errors == 1  # still counted
    assert Progress([], stream=Tty()).enabled is False  # nothing to run: nothing shown


def hide_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if ``rich`` were not installed."""
    for name in ("rich", "rich.console", "rich.live", "rich.table"):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_rich_a_terminal_gets_the_plain_line(monkeypatch):
    hide_rich(monkeypatch)
    runs = [cfg(SMALL, "mip")]
    tty = Tty()
    bar = Progress(runs, stream=tty, rich=True, refresh=None)  # asked for, not installed
    bar.start(runs[0])
    bar.finish(runs[0].run_id, row(runs[0], seconds=0.2))
    bar.close()
    assert bar._live is None
    assert tty.getvalue().count("\r") == 3 and "1/1 runs, 0 failed" in tty.getvalue()
    # the default: the real stderr, a terminal, no rich → the same plain line, silently
    stderr = Tty()
    monkeypatch.setattr(sys, "stderr", stderr)
    bar = Progress(runs, refresh=None)
    bar.close()
    assert bar._live is None and stderr.getvalue().startswith("\rqbench: 0/1 runs")


def test_with_rich_a_terminal_gets_a_live_table():
    pytest.importorskip("rich")
    runs = [cfg(SMALL, "mip"), cfg(LARGE, "qaoa")]
    tty = Tty()
    bar = Progress(runs, stream=tty, rich=True, refresh=None)
    assert bar._live is not None
    bar.start(runs[1])
    bar.start(runs[0])
    bar.finish(runs[0].run_id, row(runs[0], seconds=0.2))
    bar.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())
    assert "1/2 runs, 0 failed" in text and LARGE in text and "running" in text


# --------------------------------------------------------------------------- the runner's hooks

TWO = """
instances = ["mdkp:n=6,m=2,seed=1", "mdkp:n=7,m=2,seed=1"]
seeds = [0]
[[solvers]]
name = "brute"
"""


def suite_file(tmp_path: Path, body: str = TWO, timeout: str = "") -> Path:
    path = tmp_path / "two.toml"
    path.write_text(f'name = "two"\nout = "{tmp_path / "out"}"\n{timeout}{body}')
    return path


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The run_ids the runner reports started, in order."""
    seen: list[str] = []
    original = Progress.start

    def record(self: Progress, config: RunConfig) -> None:
        seen.append(config.run_id)
        original(self, config)

    monkeypatch.setattr(progress_module.Progress, "start", record)
    return seen


@pytest.mark.parametrize(
    "workers, timeout", [(1, ""), (2, "timeout = 60\n")], ids=["inline", "processes"]
)
def test_the_runner_reports_each_start_and_finish(tmp_path, capsys, starts, workers, timeout):
    suite = load_suite(suite_file(tmp_path, timeout=timeout))
    df = run_suite(suite, workers=workers)
    err = capsys.readouterr().err
    ids = {c.run_id for c in suite.runs}
    assert sorted(starts) == sorted(ids) and len(df) == len(ids)
    lines = [line for line in err.splitlines() if line.startswith("qbench: run ")]
    assert len(lines) == len(ids)
    for spec in ("mdkp:n=6,m=2,seed=1", "mdkp:n=7,m=2,seed=1"):
        assert sum(f"instance={spec} solver=brute seed=0 status=ok seconds=" in x for x in lines)
    assert err.splitlines()[-1].startswith(f"qbench: {len(ids)}/{len(ids)} runs, 0 failed")


def test_progress_false_prints_nothing(tmp_path, capsys):
    run_suite(load_suite(suite_file(tmp_path)), progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_dask_reports_a_start_when_a_worker_picks_the_run_up(tmp_path, capsys, starts):
    pytest.importorskip("dask.distributed")
    suite = load_suite(suite_file(tmp_path))
    run_suite(suite, workers=1, dask="local")
    ids = {c.run_id for c in suite.runs}
    assert set(starts) <= ids  # a very short run may finish before the scheduler is asked
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("qbench: run ")]
    assert len(lines) == len(ids)


def test_labels_name_only_the_settings_a_run_sets_and_its_siblings_lack():
    def cfg(run_id: str, preprocess: str | None, params: dict) -> RunConfig:
        return RunConfig("mis:n=6,seed=1", "brute", None, params, 0, False, run_id, preprocess)

    runs = [cfg("a", None, {}), cfg("b", "shrink", {"shrink.mode": "plain"}),
            cfg("c", "shrink", {"shrink.mode": "adaptive"})]  # fmt: skip
    labels = progress_module._labels(runs)
    assert labels == {"a": "brute", "b": "brute(preprocess=shrink,shrink.mode=plain)",
                      "c": "brute(preprocess=shrink,shrink.mode=adaptive)"}  # fmt: skip
