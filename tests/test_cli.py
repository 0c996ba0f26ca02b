"""The command line: one row per spec, JSON output, generate, instances, one-line errors."""

import json

import pytest

from qbench.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_prints_a_table_with_the_known_optimum(capsys):
    code, out, err = run_cli(capsys, "solve", "pet2", "1tc.16", "--solver", "mip")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("| instance") and len(lines) == 4
    assert "| pet2 " in out and "87061" in out and "| 1tc.16 " in out


def test_solve_json_row_has_the_schema_and_provenance(capsys):
    code, out, _ = run_cli(capsys, "solve", "mdkp:n=10,m=2,seed=3", "--solver", "brute", "--json")
    assert code == 0
    row = json.loads(out)
    for key in (
        "run_id",
        "problem",
        "instance",
        "n_vars",
        "solver",
        "objective",
        "feasible",
        "gap_pct",
        "status",
        "time_total_s",
        "qbench_version",
        "git_rev",
        "numpy_version",
    ):
        assert key in row  # fmt: skip
    assert row["problem"] == "mdkp" and row["n_vars"] == 10 and row["feasible"] is True
    assert row["status"] == "ok" and row["solver_status"] == "optimal"


def test_solver_parameters_are_passed_and_validated(capsys):
    code, out, _ = run_cli(capsys, "solve", "pet2", "--set", "engine=highs", "--json")
    assert code == 0 and json.loads(out)["objective"] == 87061
    code, _, err = run_cli(capsys, "solve", "pet2", "--set", "engine=gurobi")
    assert code == 2 and "allowed: cbc, highs" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "solve", "pet2", "--set", "nosuch=1")
    assert code == 2 and "unknown parameter(s) nosuch" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "nosuch-instance"], "unknown instance 'nosuch-instance'"),
        (["solve", "pet2", "--solver", "magic"], "unknown solver 'magic'; allowed:"),
        (["solve", "mdkp:n=zero"], "n='zero' is not a valid int"),
        (["solve", "mdkp:size=4"], "unknown parameter(s) size"),
        (["solve", "knapsack:n=4"], "unknown instance"),
        (["generate", "tsp", "n=2", "-o", "x.tsp"], "tsp"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.startswith("qbench: error:") and len(err.strip().splitlines()) == 1


def test_a_refused_run_exits_non_zero_with_the_reason(capsys):
    code, out, err = run_cli(capsys, "solve", "pet7", "--solver", "brute")
    assert code == 1
    assert "50" in err and "qbench: error: pet7" in err


def test_malformed_file_names_file_and_line(capsys, tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("3 1 0\n1 2 x\n1 1 1\n2\n")
    code, _, err = run_cli(capsys, "solve", str(bad))
    assert code == 2 and "bad.dat, line 2" in err and "'x'" in err


@pytest.mark.parametrize(
    "problem, params, ext",
    [("mdkp", ["n=8", "m=2"], "dat"), ("mis", ["n=9", "model=regular", "d=2"], "dimacs"),
     ("qap", ["n=4", "kind=nugent"], "dat"), ("tsp", ["n=5"], "tsp"), ("msp", ["m=2"], "msp")],
)  # fmt: skip
def test_generate_then_solve_the_file(capsys, tmp_path, problem, params, ext):
    path = tmp_path / f"inst.{ext}"
    code, out, err = run_cli(capsys, "generate", problem, *params, "seed=4", "-o", str(path))
    assert code == 0, err and path.exists()
    code, out, err = run_cli(capsys, "solve", f"{problem}:{path}", "--solver", "brute", "--json")
    assert code == 0, err
    row = json.loads(out)
    assert row["problem"] == problem and row["feasible"] and row["solver_status"] == "optimal"
    code, out2, _ = run_cli(capsys, "solve", f"{problem}:{path}", "--solver", "mip", "--json")
    assert json.loads(out2)["objective"] == pytest.approx(row["objective"])


def test_instances_lists_every_shipped_instance(capsys):
    code, out, _ = run_cli(capsys, "instances", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 37
    by_name = {r["name"]: r for r in rows}
    assert by_name["hp1"]["best_known"] == 3418 and by_name["hp1"]["size"] == "n=28 m=4"
    assert by_name["1dc.64"]["n_vars"] == 64 and by_name["gr17"]["best_known"] == 2085
    assert by_name["1dc.128"]["best_known"] == 16 and by_name["1et.128"]["size"] == "n=128 m=672"
    assert by_name["karate"]["best_known"] == 20 and by_name["ms_03_050_002"]["size"] == "m=3 n=20"
    assert {r["problem"] for r in rows} == {"mdkp", "mis", "qap", "tsp", "msp"}


def test_solvers_lists_parameters(capsys):
    code, out, _ = run_cli(capsys, "solvers")
    assert code == 0 and "mip:" in out and "engine=cbc" in out and "brute:" in out


def test_encode_prints_qubits_slack_and_penalty(capsys):
    code, out, _ = run_cli(capsys, "encode", "hp1", "--encoder", "qubo", "--json")
    info = json.loads(out)
    assert code == 0 and info["n_qubits"] == 60 and info["n_slack"] == 32
    assert info["penalty"] > 0 and info["n_quadratic"] > 0
    code, out, _ = run_cli(capsys, "encode", "hp1", "--encoder", "lagrangian", "--json")
    assert json.loads(out)["n_qubits"] == 28
    code, out, _ = run_cli(capsys, "encode", "1dc.64")
    assert code == 0 and "n_qubits" in out and " 64" in out


@pytest.mark.parametrize("encoder", ["qubo", "lagrangian"])
def test_encoded_solve_reaches_the_optimum_of_a_small_mis(capsys, encoder):
    code, out, err = run_cli(
        capsys, "solve", "1tc.16", "--encoder", encoder, "--solver", "brute", "--json",
        "--set", "penalty=tight" if encoder == "qubo" else "method=bundle",
    )  # fmt: skip
    assert code == 0, err
    row = json.loads(out)
    assert row["encoder"] == encoder and row["n_qubits"] == 16 and row["feasible"] is True
    if encoder == "qubo":  # an exact QUBO minimiser with a valid penalty is the optimum
        assert row["objective"] == 8 and row["n_slack"] == 0


def test_set_keys_route_to_encoder_and_solver(capsys):
    # 'penalty' is declared by both: it goes to the encoder; solver.* forces the solver
    code, out, err = run_cli(
        capsys, "solve", "pet2", "--encoder", "unbalanced", "--solver", "sa", "--json",
        "--set", "lam1=1.25", "--set", "lam2=1.0", "--set", "num_reads=8",
        "--set", "solver.penalty=5",
    )  # fmt: skip
    assert code == 0, err
    params = json.loads(json.loads(out)["params"])
    assert params["encoder.lam1"] == 1.25 and params["num_reads"] == 8 and params["penalty"] == 5
    code, _, err = run_cli(capsys, "solve", "pet2", "--encoder", "qubo", "--set", "bogus=1")
    assert code == 2 and "encoder 'qubo' takes" in err and "solver 'mip' takes" in err
    code, _, err = run_cli(capsys, "solve", "pet2", "--encoder", "slackless")
    assert code == 2 and "allowed: none, lagrangian, qubo, unbalanced" in err


def test_qaoa_row_has_quantum_fields_and_defaults_to_the_qubo_encoder(capsys):
    code, out, err = run_cli(
        capsys, "solve", "1tc.8", "--solver", "qaoa", "--set", "p=2", "--json", "--seed", "3"
    )
    assert code == 0, err
    row = json.loads(out)
    assert row["encoder"] == "qubo" and row["backend"] == "exact" and row["n_qubits"] == 8
    assert 0 < row["p_feasible"] <= 1 and 0 <= row["p_optimal"] <= row["p_feasible"]
    # one CP per edge per layer, two CX each in the {rz, sx, x, cx} basis
    assert row["depth"] > 0 and row["two_qubit_gates"] == 2 * 6 * 2
    assert row["feasible"] and row["objective"] == 4 and row["shots"] == 1024


def test_backend_flag_and_unknown_backend(capsys):
    code, out, err = run_cli(
        capsys, "solve", "1tc.8", "--solver", "cvar_vqe", "--backend", "aer_statevector",
        "--set", "maxiter=60", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["backend"] == "aer_statevector"
    code, _, err = run_cli(capsys, "solve", "1tc.8", "--solver", "qaoa", "--backend", "qpu9")
    assert code == 2 and "qpu9" in err and "exact" in err


def test_repair_is_recorded_separately_from_the_raw_answer(capsys):
    # a random-angle QAOA sample of a dense graph with a too-small penalty is usually infeasible
    args = ["solve", "mis:n=10,p=0.6,seed=2", "--solver", "qaoa", "--set", "maxiter=0",
            "--set", "penalty=0.5", "--set", "shots=1", "--json"]  # fmt: skip
    rows = []
    for seed in range(6):
        code, out, err = run_cli(capsys, *args, "--seed", str(seed), "--repair")
        assert code == 0, err
        rows.append(json.loads(out))
    repaired = [r for r in rows if r["repaired"]]
    assert repaired, "expected at least one infeasible raw answer"
    for r in rows:
        assert r["feasible"] is True
        assert r["repaired"] == (not r["feasible_raw"])
