"""Research-grade results: configurations told apart, references for every instance, answers
stored, stale rows reported and pruned, deterministic solvers run once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qbench
from qbench import cli
from qbench.answers import pack_bits, unpack_bits
from qbench.errors import InstanceFormatError
from qbench.problems import read
from qbench.runner import run_suite
from qbench.spec import load_spec
from qbench.store import Store
from qbench.suite import load_suite

STUDY = """
name = "study"
seeds = [0, 1]
instances = [{ problem = "mis", n = [6, 8], p = 0.4, seed = 1 }]
[[solvers]]
name = "qaoa"
label = "QAOA"
p = [1, 2]
maxiter = 20
[[solvers]]
name = "mip"
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The small study run once: 2 graphs × (QAOA p = 1, 2 on 2 seeds + MIP once)."""
    folder = tmp_path_factory.mktemp("study")
    path = write(folder, STUDY)
    suite = load_suite(path, out=folder / "out")
    df = run_suite(suite, progress=False)
    return path, folder / "out", suite, df


def test_swept_parameters_and_labels_tell_configurations_apart(study):
    path, _, suite, df = study
    dry = load_suite(path).dry_run()
    assert suite.varying_params() == ["p"]
    qaoa = [r for r in dry if r["solver"] == "qaoa"]
    assert sorted({r["p"] for r in qaoa}) == [1, 2] and {r["label"] for r in qaoa} == {"QAOA"}
    assert {r["p"] for r in dry if r["solver"] == "mip"} == {None}
    assert set(df.loc[df["solver"] == "qaoa", "label"]) == {"QAOA"}


def test_deterministic_solvers_run_once_per_instance_and_rows_say_so(study):
    _, _, suite, df = study
    assert len(suite.runs) == 2 * (2 * 2 + 1) == len(df)
    mip = df[df["solver"] == "mip"]
    assert len(mip) == 2 and set(mip["seed"]) == {0} and mip["deterministic"].all()
    assert not df.loc[df["solver"] == "qaoa", "deterministic"].any()


def test_every_instance_gets_a_reference_once(study):
    path, out, suite, df = study
    assert df["best_known"].notna().all() and df["gap_pct"].notna().all()
    assert set(df["reference_kind"]) == {"optimal"}
    with Store(out) as store:
        refs = store.references()
    assert len(refs) == 2 and all(r["kind"] == "optimal" for r in refs.values())
    assert all("brute" in r["source"] for r in refs.values())  # 6 and 8 binary variables
    mip = df[df["solver"] == "mip"].set_index("instance")["objective"]
    for name, ref in refs.items():
        assert ref["value"] == mip[name]
    first = {k: v["found_at"] for k, v in refs.items()}
    run_suite(load_suite(path, out=out), progress=False)  # nothing left to run or compute
    with Store(out) as store:
        assert {k: v["found_at"] for k, v in store.references().items()} == first
    # p_optimal needs the reference at run time: the QAOA rows have it
    assert df.loc[df["solver"] == "qaoa", "p_optimal"].notna().all()


def test_answers_are_stored_and_reproduce_the_rows(study, capsys):
    _, out, _, df = study
    with Store(out) as store:
        answers = store.answers()
        solutions = store.dataframe(solutions=True)
    assert set(answers) == set(df["run_id"])
    for _, row in solutions.iterrows():
        problem = load_spec(f"mis:n={row['n_vars']},p=0.4,seed=1")
        x = np.array([int(c) for c in row["x"]])
        assert problem.objective(x) == row["objective"]  # the stored answer is the row's
        if row["solver"] == "qaoa":
            assert len(row["final_params"]) == 2 * int(json.loads(row["params"])["p"])
            assert 0 < len(row["trace"]) <= 20 and len(row["top_states"]) > 0
    run_id = df.loc[df["solver"] == "qaoa", "run_id"].iloc[0]
    assert cli.main(["show", str(out), run_id[:10], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_id"] == run_id and set(shown["x"]) <= {"0", "1"}
    assert cli.main(["show", str(out), "zz"]) == 2
    assert "matches 0 runs" in capsys.readouterr().err


def test_answers_come_back_through_load_results_and_exports(study, tmp_path, capsys):
    _, out, _, df = study
    plain = qbench.load_results(out)
    assert "x" not in plain.columns and len(plain) == len(df)
    full = qbench.load_results(out, solutions=True)
    assert full["x"].notna().all() and set(full["x"].str.len()) == set(df["n_vars"])
    target = tmp_path / "answers.csv"
    assert cli.main(["export", str(out), "--solutions", "-o", str(target)]) == 0
    back = pd.read_csv(target, dtype={"x": str})
    merged = back.set_index("run_id").loc[full["run_id"]]
    assert list(merged["x"]) == list(full["x"])  # bitstrings keep their leading zeros
    qaoa = merged[merged["solver"] == "qaoa"].iloc[0]
    assert isinstance(json.loads(qaoa["final_params"]), list)
    assert isinstance(json.loads(qaoa["top_states"])[0][0], str)
    capsys.readouterr()


def test_packed_bits_round_trip():
    for n in (1, 7, 8, 9, 100):
        x = np.random.default_rng(n).integers(0, 2, n)
        assert np.array_equal(unpack_bits(pack_bits(x)), x)


def test_rows_of_removed_configurations_are_left_out_and_pruned(tmp_path, capsys):
    path = write(tmp_path, STUDY.replace("p = [1, 2]", "p = 1").replace("[6, 8]", "6"))
    out = tmp_path / "out"
    first = run_suite(load_suite(path, out=out), progress=False)
    assert len(first) == 3
    path.write_text(path.read_text().replace("maxiter = 20", "maxiter = 10"))
    second = run_suite(load_suite(path, out=out), progress=False)
    assert len(second) == 3  # the edited QAOA runs anew; the old ones are not mixed in
    with Store(out) as store:
        assert len(store.stale()) == 2 and len(store.dataframe(current=False)) == 5
    assert cli.main(["table", str(out)]) == 0
    captured = capsys.readouterr()
    assert "note: 2 stored row(s) of configurations no longer in the suite" in captured.err
    qaoa = [line for line in captured.out.splitlines() if "| qaoa " in line]
    assert len(qaoa) == 1 and "| 2    | 0      |" in qaoa[0]  # 2 seeds of the edited config
    assert cli.main(["prune", str(out)]) == 0
    with Store(out) as store:
        assert store.stale() == [] and len(store.history()) == 2
    assert cli.main(["table", str(out)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_published_values_for_instances_without_one(tmp_path):
    text = STUDY.replace("instances = [{ problem = \"mis\", n = [6, 8], p = 0.4, seed = 1 }]",
                         'instances = [{ problem = "mis", n = 6, p = 0.4, seed = 1, '
                         "best_known = 2 }]")  # fmt: skip
    df = run_suite(load_suite(write(tmp_path, text), out=tmp_path / "out"), progress=False)
    assert set(df["best_known"]) == {2.0} and set(df["reference_kind"]) == {"published"}
    row = qbench.run("qap:n=4,seed=2", best_known=4000)
    assert row["best_known"] == 4000 and row["reference_kind"] == "published"
    assert row["gap_pct"] == pytest.approx(100 * (row["objective"] - 4000) / 4000)


def test_a_qaplib_solution_file_gives_the_best_known_value(tmp_path):
    (tmp_path / "nug12.dat").write_text(
        (Path(qbench.__file__).parent / "data" / "instances" / "qap" / "nug12.dat").read_text()
    )
    (tmp_path / "nug12.sln").write_text("12 578\n12 7 9 3 4 8 11 1 5 6 10 2\n")
    assert read(tmp_path / "nug12.dat", "qap").best_known == 578
    (tmp_path / "nug12.sln").write_text("12 570\n12 7 9 3 4 8 11 1 5 6 10 2\n")
    with pytest.raises(InstanceFormatError, match="nug12.sln, line 1: .*570 is not the cost 578"):
        read(tmp_path / "nug12.dat", "qap")


def test_version_and_a_closed_pipe():
    assert (
        qbench.__version__
        in subprocess.run(
            [sys.executable, "-m", "qbench.cli", "--version"], capture_output=True, text=True
        ).stdout
    )
    done = subprocess.run(
        f"{sys.executable} -m qbench.cli solvers | head -1",
        shell=True, capture_output=True, text=True,
    )  # fmt: skip
    assert done.stdout.startswith("mip:") and done.stderr == ""


def test_a_reference_fills_gaps_of_rows_stored_without_a_sense():
    from qbench.store import with_reference

    ref = {"value": 10.0, "kind": "optimal"}
    old = {"problem": "mis", "objective": 8.0, "feasible": True, "best_known": None}
    row = with_reference(old, ref)  # a row of an earlier qbench: the problem's sense applies
    assert (row["gap_pct"], row["approx_ratio"], row["reference_kind"]) == (20.0, 0.8, "optimal")
    tsp = with_reference({**old, "problem": "tsp", "objective": 12.5}, ref)
    assert (tsp["gap_pct"], tsp["approx_ratio"]) == (25.0, 0.8)
    assert with_reference({**old, "best_known": 9.0}, ref)["best_known"] == 9.0  # kept
