"""Hostile suites and failed runs: every mistake reported once with its key path, nothing written
before a run can start, failed runs retried with their old rows kept as history."""

from __future__ import annotations

from pathlib import Path

import pytest

from qbench import cli, runner
from qbench.errors import ConfigError
from qbench.pipeline import run
from qbench.store import Store
from qbench.suite import load_suite


def write(tmp_path: Path, text: str, name: str = "suite.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path, **kwargs) -> list[str]:
    """The problem lines of the one ConfigError that loading the suite raises."""
    with pytest.raises(ConfigError) as err:
        load_suite(path, **kwargs)
    return str(err.value).splitlines()[1:]


def test_invalid_seeds_are_reported_not_a_crash(tmp_path):
    path = write(tmp_path, 'name = "s"\nseeds = [-1, 0.5, true]\ninstances = ["pet3"]\n'
                           '[[solvers]]\nname = "mip"\n')  # fmt: skip
    lines = problems_of(path)
    assert [line.split(":")[0].strip() for line in lines] == ["seeds[0]", "seeds[1]", "seeds[2]"]
    assert "got -1" in lines[0] and "got 0.5" in lines[1] and "got True" in lines[2]


OUT_OF_RANGE = """
name = "ranges"
instances = ["1tc.8"]
[[solvers]]
name = "qaoa"
p = 0
maxiter = -1
shots = 0
alpha = 2.0
[[solvers]]
name = "qaoa"
p = 2
gammas = "0.1,0.2,0.3"
[[solvers]]
name = "sa"
num_reads = 0
[[solvers]]
name = "brute"
max_vars = -1
[[solvers]]
name = "mip"
time_limit = -5
"""


def test_values_out_of_range_are_each_reported_with_their_key_path(tmp_path):
    lines = problems_of(write(tmp_path, OUT_OF_RANGE))
    expected = {
        "solvers[0].p": "p=0 out of range; allowed: [1, inf)",
        "solvers[0].maxiter": "maxiter=-1 out of range; allowed: [0, inf)",
        "solvers[0].shots": "shots=0 out of range; allowed: [1, inf)",
        "solvers[0].alpha": "alpha=2.0 out of range; allowed: (0, 1]",
        "solvers[1]": "gammas has 3 values, expected p=2",
        "solvers[2].num_reads": "num_reads=0 out of range",
        "solvers[3].max_vars": "max_vars=-1 out of range",
        "solvers[4].time_limit": "time_limit=-5 out of range",
    }
    for where, fragment in expected.items():
        assert any(line.strip().startswith(f"{where}:") and fragment in line for line in lines), (
            where, lines,
        )  # fmt: skip
    assert len(lines) == len(expected)


def test_matching_gammas_are_no_error(tmp_path):
    text = 'name = "s"\ninstances = ["1tc.8"]\n[[solvers]]\nname = "qaoa"\np = 2\n'
    path = write(tmp_path, text + 'init = "fixed"\ngammas = "0.1,0.2"\nbetas = "-0.2,-0.1"\n')
    assert len(load_suite(path).runs) == 1


def test_one_error_does_not_mask_another(tmp_path):
    text = """
name = "masks"
instances = [{ problem = "mdkp", size = 3 }, "pet3"]
[[solvers]]
name = "qaoa"
encoders = ["nope"]
p = "x"
"""
    lines = problems_of(write(tmp_path, text))
    assert any(line.strip().startswith("instances[0].size: unknown key") for line in lines)
    assert any("unknown encoder 'nope'" in line for line in lines)
    assert any(line.strip().startswith("solvers[0].p:") and "'x'" in line for line in lines)
    assert not any("no such instance file" in line for line in lines)
    assert len(lines) == 3


def test_bad_out_is_an_error_whatever_else_is_given(tmp_path):
    path = write(tmp_path, 'name = "s"\nout = 5\ninstances = ["pet3"]\n[[solvers]]\nname = "mip"\n')
    for kwargs in ({}, {"out": tmp_path / "elsewhere"}):
        assert any(line.strip().startswith("out: must be a folder path") for line in
                   problems_of(path, **kwargs))  # fmt: skip


def test_unreachable_dask_scheduler_writes_nothing(tmp_path):
    pytest.importorskip("dask.distributed")
    path = write(tmp_path, f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["pet3"]\n'
                           '[[solvers]]\nname = "mip"\n')  # fmt: skip
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        runner.run_suite(load_suite(path), dask="tcp://127.0.0.1:9", progress=False)
    assert not (tmp_path / "out").exists()


TINY = """
name = "retry"
instances = ["pet3", "1tc.8"]
[[solvers]]
name = "mip"
"""


def test_failed_runs_are_retried_and_their_rows_kept_as_history(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, TINY)
    suite = load_suite(path, out=tmp_path / "out")
    real = runner.execute_config

    def crash_on_pet3(cfg, suite_name):
        if cfg.spec == "pet3":
            return runner.failure_row(cfg, suite_name, "error", "killed by the OOM killer")
        return real(cfg, suite_name)

    monkeypatch.setattr(runner, "execute_config", crash_on_pet3)
    first = runner.run_suite(suite, progress=False)
    assert sorted(first["status"]) == ["error", "ok"]
    monkeypatch.setattr(runner, "execute_config", real)
    again = runner.run_suite(suite, progress=False)  # errors count as done without --retry
    assert sorted(again["status"]) == ["error", "ok"]
    with pytest.raises(ConfigError, match="cannot retry status 'ok'; allowed: error, timeout"):
        runner.run_suite(suite, progress=False, retry="ok")
    # the CLI flag: only the error row runs again; the old row moves to history
    args = cli.build_parser().parse_args(["run", str(path), "--out", str(tmp_path / "out"),
                                          "--retry-errors"])  # fmt: skip
    assert args.func(args) == 0
    assert "1 runs in" not in capsys.readouterr().out
    with Store(tmp_path / "out") as store:
        df, history = store.dataframe(), store.history()
    assert len(df) == 2 and set(df["status"]) == {"ok"}
    assert len(history) == 1 and history.loc[0, "status"] == "error"
    assert history.loc[0, "error"] == "killed by the OOM killer" and history.loc[0, "superseded_at"]


def test_error_rows_of_device_backends_record_the_backend():
    pytest.importorskip("qiskit_ibm_runtime")
    row = run("1tc.8", solver="qaoa", params={"backend": "ibm_local:fake_manila", "maxiter": 2})
    assert row["status"] == "error" and "device has 5" in row["error"]
    assert row["backend"] == "ibm_local:fake_manila"


def test_failure_rows_record_the_backend_and_preprocessing(tmp_path):
    path = write(tmp_path, 'name = "s"\ninstances = ["1tc.8"]\n[[solvers]]\nname = "qaoa"\n'
                           'backend = "aer_mps"\npreprocess = ["shrink"]\n')  # fmt: skip
    cfg = load_suite(path).runs[0]
    row = runner.failure_row(cfg, "s", "timeout", "timed out after 1 s")
    assert row["backend"] == "aer_mps" and row["preprocess"] == "shrink-plain-aware"


def test_the_command_line_refuses_values_out_of_range(capsys):
    assert cli.main(["solve", "1tc.8", "--solver", "qaoa", "--set", "p=0"]) == 2
    err = capsys.readouterr().err
    assert err == "qbench: error: solver 'qaoa': parameter p='0' out of range; allowed: [1, inf)\n"
