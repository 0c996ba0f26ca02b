"""QOBLIB submissions: the exported table has QOBLIB's columns and the best stored solutions,
which are feasible with the reported value on the original instances."""

from __future__ import annotations

import csv

import numpy as np

from qbench.cli import main
from qbench.qoblib import COLUMNS
from qbench.spec import load_spec

SUITE = """name = "qob"
out = "{out}"
seeds = [0, 1]
instances = ["karate", "ms_03_050_002"]
[[solvers]]
name = "mip"
[[solvers]]
name = "sa"
num_reads = 8
num_sweeps = 200
"""


def test_export_writes_qoblibs_submission_table_and_solutions(tmp_path, capsys):
    suite = tmp_path / "qob.toml"
    suite.write_text(SUITE.format(out=tmp_path / "runs"))
    assert main(["run", str(suite)]) == 0
    folder = tmp_path / "submission"
    assert main(["export", str(tmp_path / "runs"), "--format", "qoblib", "-o", str(folder),
                 "--submitter", "the qbench tests"]) == 0  # fmt: skip
    with open(folder / "submission.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {(r["Problem Identifier"], r["Workflow"].split(" (")[0]): r for r in reader}
    mip = rows[("karate", "qbench: mip")]
    assert mip["Best Objective Value"] == "20" and mip["Optimality Bound"] == "20"
    assert mip["Algorithm Type"] == "Deterministic" and mip["# Runs"] == "1"
    assert mip["# Successful Runs"] == "1" and mip["Submitter"] == "the qbench tests"
    split = rows[("ms_03_050_002", "qbench: mip")]
    assert split["Best Objective Value"] == "0" and split["# Successful Runs"] == "1"
    sa = rows[("karate", "qbench: sa")]
    assert sa["Algorithm Type"] == "Stochastic" and sa["# Runs"] == "2"
    assert int(sa["# Feasible Runs"]) == 2 and sa["# Decision Variables"] == "34"
    # every .sol file holds a feasible solution of its reported value
    sols = sorted(folder.glob("*.sol"))
    assert len(sols) == 4
    for sol in sols:
        instance = load_spec(sol.stem.split("-")[0])
        lines = sol.read_text().splitlines()
        value = float(lines[1].split("=")[1])
        x = np.array([int(line.split()[1]) for line in lines[2:]])
        assert x.size == instance.n_vars and instance.is_feasible(x)
        assert instance.objective(x) == value
