"""Graph shrinking inside the run pipeline, the CLI and suites (the library: test_shrinking*)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qbench.cli import main
from qbench.errors import ConfigError
from qbench.pipeline import prepare, run
from qbench.suite import load_suite

MIS = "mis:n=12,p=0.3,seed=1"


def test_shrunken_run_records_sizes_and_is_verified_on_the_original_problem() -> None:
    row = run(MIS, solver="brute", encoder="qubo", preprocess="shrink",
              params={"shrink.target": 6, "shrink.rules": "none"})  # fmt: skip
    assert row["status"] == "ok", row["error"]
    assert (row["n_qubits_before"], row["n_qubits"], row["shrink_ratio"]) == (12, 6, 0.5)
    assert row["preprocess"] == "shrink-plain"
    assert row["feasible"] is True  # repaired when needed: shrinking implies repair
    assert row["repair_moves"] == 0 if not row["repaired"] else row["repair_moves"] > 0
    assert row["time_preprocess_s"] > 0
    plain = run(MIS, solver="brute", encoder="qubo")
    assert plain["preprocess"] == "none" and plain["n_qubits_before"] is None
    assert row["objective"] <= plain["objective"]  # a shrunken QUBO cannot beat the optimum


def test_shrinking_with_qaoa_expands_the_final_distribution() -> None:
    row = run("1tc.16", solver="qaoa", preprocess="shrink", params={"shrink.target": 8})
    assert row["status"] == "ok" and row["n_qubits"] == 8
    assert 0.0 < row["p_feasible"] <= 1.0  # states of 8 qubits expanded to 16 and checked


def test_shrink_options_change_the_run_id_and_are_validated() -> None:
    a = prepare(MIS, "brute", {"shrink.target": 6}, 0, "qubo", preprocess="shrink")
    b = prepare(MIS, "brute", {"shrink.target": 5}, 0, "qubo", preprocess="shrink")
    c = prepare(MIS, "brute", {}, 0, "qubo")
    assert len({a.run_id, b.run_id, c.run_id}) == 3
    assert a.repair and a.config["preprocess"]["target"] == 6
    with pytest.raises(ConfigError, match="without preprocess"):
        prepare(MIS, "brute", {"shrink.target": 6}, 0, "qubo")
    with pytest.raises(ConfigError, match="allowed: none, shrink"):
        prepare(MIS, "brute", {}, 0, "qubo", preprocess="squeeze")
    with pytest.raises(ConfigError, match="encoder"):
        prepare(MIS, "sa", {}, 0, None, preprocess="shrink")
    with pytest.raises(ConfigError, match="xy_qaoa"):
        prepare("qap:n=3,seed=1", "xy_qaoa", {}, 0, None, preprocess="shrink")
    with pytest.raises(ConfigError, match="plain, adaptive"):
        prepare(MIS, "brute", {"shrink.mode": "x"}, 0, "qubo", preprocess="shrink")


def test_impossible_target_is_an_error_row_not_a_crash() -> None:
    row = run(MIS, solver="brute", encoder="qubo", preprocess="shrink",
              params={"shrink.target": 40})  # fmt: skip
    assert row["status"] == "error" and "40" in row["error"] and "12" in row["error"]


def test_cli_preprocess_flag(capsys) -> None:
    code = main(["solve", MIS, "--solver", "brute", "--encoder", "qubo", "--preprocess",
                 "shrink", "--set", "shrink.target=0.5", "--json"])  # fmt: skip
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["n_qubits"] == 6 and row["preprocess"] == "shrink-plain-aware"
    assert main(["solve", MIS, "--encoder", "qubo", "--set", "shrink.target=3"]) == 2
    assert "without preprocess" in capsys.readouterr().err


SUITE = """
name = "shrink"
seeds = [0, 1]
instances = ["mis:n=10,p=0.3,seed=1"]

[[solvers]]
name = "brute"
encoders = ["qubo"]
preprocess = ["none", {name = "shrink", mode = ["plain", "adaptive"], target = 0.5}]
"""
EXCLUDE = """
[[exclude]]
preprocess = "shrink-adaptive-aware"
"""


def test_suite_sweeps_preprocessing_and_excludes_by_label(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SUITE)
    suite = load_suite(path)
    labels = sorted(r["preprocess"] for r in suite.dry_run())
    # brute force alone is deterministic (once per instance); shrinking draws random numbers
    assert labels == ["none"] + ["shrink-adaptive-aware"] * 2 + ["shrink-plain-aware"] * 2
    sizes = {r["preprocess"]: r["n_qubits"] for r in suite.dry_run()}
    assert sizes == {"none": 10, "shrink-plain-aware": 5, "shrink-adaptive-aware": 5}
    assert len({r.run_id for r in suite.runs}) == 5
    cfg = next(r for r in suite.runs if r.preprocess == "shrink")
    assert cfg.prepare().preprocess_options["target"] == 0.5
    path.write_text(SUITE + EXCLUDE)
    kept = sorted({r["preprocess"] for r in load_suite(path).dry_run()})
    assert kept == ["none", "shrink-plain-aware"]


def test_suite_preprocess_mistakes_are_reported_with_key_paths(tmp_path) -> None:
    bad = SUITE.replace('mode = ["plain", "adaptive"]', 'mode = "fast"')
    path = tmp_path / "bad.toml"
    path.write_text(bad.replace('"none", {', '"squash", {'))
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    text = str(err.value)
    assert "solvers[0].preprocess[0]" in text and "squash" in text
    assert "solvers[0].preprocess[1].mode" in text and "plain, adaptive" in text
    path.write_text(SUITE.replace("target = 0.5", "target = 30"))
    with pytest.raises(ConfigError, match="30"):
        load_suite(path)
    path.write_text(SUITE + EXCLUDE.replace("shrink-adaptive-aware", "shrink-fast"))
    with pytest.raises(ConfigError, match="shrink-plain"):
        load_suite(path)


def test_shrunken_answers_decode_through_the_encoding() -> None:
    """MDKP with slack: the expanded bits include slack qubits; x has the item count."""
    row = run("mdkp:n=8,m=2,seed=1", solver="brute", encoder="qubo", preprocess="shrink",
              params={"shrink.target": 0.5})  # fmt: skip
    assert row["status"] == "ok", row["error"]
    assert row["n_qubits_before"] > 8 and row["n_qubits"] == round(row["n_qubits_before"] / 2)
    assert np.isfinite(row["objective"]) and row["feasible"] is True
