"""Suites: TOML → validated grid of runs with stable ids; all mistakes in one error; dry run."""

import pickle
from collections import Counter

import pytest

from qbench.errors import ConfigError
from qbench.hardware.aer import statevector_bytes
from qbench.hardware.exact import required_bytes
from qbench.pipeline import prepare
from qbench.spec import load_spec
from qbench.suite import RunConfig, load_suite

GRID = """
name = "grid"
seeds = [0, 1, 2]
instances = ["pet3", "1tc.8", { problem = "mdkp", n = [6, 8], m = 2, seed = 1 }]

[[solvers]]
name = "mip"

[[solvers]]
name = "sa"
encoders = ["none", { name = "qubo", penalty = "tight" }]
num_reads = [8, 16]

[[solvers]]
name = "qaoa"
p = [1, 2]
backend = ["exact", "aer_mps"]

[[exclude]]
solver = "qaoa"
problem = "mis"
"""


def write(tmp_path, text, name="suite.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_expansion_counts(tmp_path):
    suite = load_suite(write(tmp_path, GRID))
    # per instance: mip 1 (deterministic: once) + sa 2 encoders × 2 num_reads + qaoa 2 p × 2
    # backends = 8 seeded configs × 3 seeds, 4 instances, minus qaoa on the one MIS instance
    # (4 configs × 3 seeds), + mip once per instance
    assert len(suite.runs) == 4 * 8 * 3 - 4 * 3 + 4 == 88
    assert len({r.run_id for r in suite.runs}) == 88
    per_solver = Counter(r.solver for r in suite.runs)
    assert per_solver == {"mip": 4, "sa": 4 * 4 * 3, "qaoa": 3 * 4 * 3}
    assert not any(r.solver == "qaoa" and r.spec == "1tc.8" for r in suite.runs)
    assert Counter(r.seed for r in suite.runs) == {0: 32, 1: 28, 2: 28}
    text = GRID.replace("seeds = [0, 1, 2]", "seeds = [0, 1, 2]\nrepeat_deterministic = true")
    again = load_suite(write(tmp_path, text, "again.toml"))
    assert Counter(r.solver for r in again.runs)["mip"] == 4 * 3
    qubo_sa = [r for r in suite.runs if r.solver == "sa" and r.encoder == "qubo"]
    assert len(qubo_sa) == 24
    assert all(r.params["encoder.penalty"] == "tight" for r in qubo_sa)
    # TOML "none" is None: quantum solvers then get the qubo default, like `qbench run`
    qaoa = next(r for r in suite.runs if r.solver == "qaoa")
    assert qaoa.encoder is None and qaoa.prepare().encoder.name == "qubo"
    assert suite.name == "grid" and suite.timeout is None
    assert str(suite.out) == "runs/grid"  # the default, relative to the current directory


def test_same_config_twice_is_one_run(tmp_path):
    text = """
name = "dup"
instances = ["1tc.8", "1tc.8"]
repetitions = 2
[[solvers]]
name = "qaoa"
encoders = ["none", "qubo"]   # none → qubo for a quantum solver: the same runs
"""
    suite = load_suite(write(tmp_path, text))
    assert [r.seed for r in suite.runs] == [0, 1]


def test_run_ids_are_stable_and_equal_prepare(tmp_path):
    first = load_suite(write(tmp_path, GRID))
    again = load_suite(write(tmp_path, GRID, "copy.toml"), out=tmp_path / "elsewhere")
    assert [r.run_id for r in first.runs] == [r.run_id for r in again.runs]
    assert again.out == tmp_path / "elsewhere"
    for cfg in first.runs[::7]:
        direct = prepare(cfg.spec, cfg.solver, dict(cfg.params), cfg.seed, cfg.encoder, False)
        assert cfg.run_id == direct.run_id == cfg.prepare().run_id
    # changing one swept value changes exactly the ids of the runs that used it
    changed = load_suite(write(tmp_path, GRID.replace("p = [1, 2]", "p = [1, 3]"), "p3.toml"))
    old, new = {r.run_id for r in first.runs}, {r.run_id for r in changed.runs}
    p2 = {r.run_id for r in first.runs if r.params.get("p") == 2}
    assert len(p2) == 2 * 3 * 3 and old - new == p2 and len(new - old) == len(p2)
    # a generator table's key order does not matter
    swapped = GRID.replace("n = [6, 8], m = 2, seed = 1", "seed = 1, m = 2, n = [6, 8]")
    assert [r.run_id for r in load_suite(write(tmp_path, swapped, "sw.toml")).runs] == [
        r.run_id for r in first.runs
    ]


def test_runconfig_pickles(tmp_path):
    cfg = load_suite(write(tmp_path, GRID)).runs[-1]
    assert isinstance(cfg, RunConfig)
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_generator_tables_sweep_into_spec_strings(tmp_path):
    text = """
name = "gen"
instances = [
  { problem = "mdkp", correlated = false, seed = [1, 2], n = [8, 10], m = 2 },
  { problem = "mis", n = 6, p = 0.5 },
]
[[solvers]]
name = "mip"
"""
    specs = [r.spec for r in load_suite(write(tmp_path, text)).runs]
    assert specs == [
        "mdkp:n=8,m=2,correlated=false,seed=1",
        "mdkp:n=8,m=2,correlated=false,seed=2",
        "mdkp:n=10,m=2,correlated=false,seed=1",
        "mdkp:n=10,m=2,correlated=false,seed=2",
        "mis:n=6,p=0.5",
    ]
    assert load_spec(specs[2]).n_vars == 10 and load_spec(specs[4]).n_vars == 6


def test_all_mistakes_in_one_error(tmp_path):
    text = """
name = "bad"
colour = 1
seeds = [0, -1]
encoders = ["none", "nope"]
instances = ["pet3", "nosuch", { problem = "mdkp", n = [8, 0], q = 2 }, 5]
[[solvers]]
name = "qaoa"
p = [1, 1.5]
backend = "gpu"
[[solvers]]
name = "mipp"
[[solvers]]
name = "sa"
num_reads = "many"
zz = 1
[[exclude]]
color = "red"
solver = "qaoaa"
"""
    with pytest.raises(ConfigError) as err:
        load_suite(write(tmp_path, text))
    message = str(err.value)
    expected = {
        "colour: unknown key; allowed: name,": "",
        "seeds[1]: must be an integer >= 0": "",
        "encoders[1].name: unknown encoder 'nope'; allowed: none, lagrangian, qubo": "",
        "instances[1]: unknown instance 'nosuch'": "",
        "instances[2].q: unknown key; allowed: problem, file, n, m": "",
        "instances[2]: spec 'mdkp:n=0'": "",
        "instances[3]: expected a spec string or a table, got int": "",
        "solvers[0].p: solver 'qaoa': parameter p=1.5 is not a valid int": "",
        "solvers[0].backend: unknown backend 'gpu'; allowed: aer_mps": "",
        "solvers[1].name: unknown solver 'mipp'; allowed: brute,": "",
        "solvers[2].num_reads: solver 'sa': parameter num_reads='many' is not a valid int": "",
        "solvers[2].zz: solver 'sa': unknown parameter(s) zz; allowed: beta_max": "",
        "exclude[0].color: unknown key; allowed: instance, problem, solver, encoder, "
        "preprocess, backend": "",
        "exclude[0].solver: unknown solver 'qaoaa'": "",
    }
    for line in expected:
        assert line in message, line
    assert "(14 problems)" in message and str(tmp_path / "suite.toml") in message


def test_encoder_values_and_missing_parts_are_checked(tmp_path):
    text = """
name = "enc"
instances = ["pet3"]
[[solvers]]
name = "sa"
encoders = [{ name = "qubo", penalty = "lots" }]
"""
    with pytest.raises(ConfigError, match=r"solvers\[0\]\.encoders\[0\]: .*penalty must be"):
        load_suite(write(tmp_path, text))
    with pytest.raises(ConfigError) as err:
        load_suite(write(tmp_path, "seeds = [0]\nrepetitions = 2\n"))
    for line in ("name: required", "instances: required", "solvers: required", "repetitions:"):
        assert line in str(err.value)
    everything = """
name = "none"
instances = ["pet3"]
[[solvers]]
name = "mip"
[[exclude]]
problem = "mdkp"
"""
    with pytest.raises(ConfigError, match="exclude: the exclusions remove every run"):
        load_suite(write(tmp_path, everything))


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'name = "x"\ninstances = ["pet3"]\nseeds = [0, 1\n')
    with pytest.raises(
        ConfigError, match=r"suite\.toml: invalid TOML: Unclosed array .*end of file, line 3"
    ):
        load_suite(path)
    path = write(tmp_path, 'name = "x"\nsolvers = = 1\n', "two.toml")
    with pytest.raises(ConfigError, match=r"two\.toml: invalid TOML: .*line 2"):
        load_suite(path)
    with pytest.raises(ConfigError, match="cannot read suite"):
        load_suite(tmp_path / "missing.toml")


def test_dry_run_counts_qubits_and_refuses_what_does_not_fit(tmp_path):
    text = """
name = "dry"
instances = ["hp1", "1tc.16", "pet5"]
[[solvers]]
name = "mip"
[[solvers]]
name = "sa"
encoders = ["lagrangian"]
[[solvers]]
name = "qaoa"
backend = ["exact", "aer_statevector", "aer_mps"]
"""
    suite = load_suite(write(tmp_path, text))
    plan = {(d["instance"], d["solver"], d["backend"]): d for d in suite.dry_run()}
    assert len(plan) == len(suite.runs) == 3 * 5
    assert plan["hp1", "qaoa", "exact"]["n_qubits"] == 60
    assert plan["hp1", "mip", "classical"]["n_qubits"] == load_spec("hp1").n_vars == 28
    assert plan["hp1", "sa", "classical"]["n_qubits"] == 28  # lagrangian: no slack qubits
    assert plan["hp1", "sa", "classical"]["encoder"] == "lagrangian"
    small = plan["1tc.16", "qaoa", "exact"]
    assert small["n_qubits"] == 16 and small["encoder"] == "qubo"
    assert small["memory_bytes"] == required_bytes(16) and small["fits"] and not small["reason"]
    sv = plan["1tc.16", "qaoa", "aer_statevector"]
    assert sv["memory_bytes"] == statevector_bytes(16) and sv["fits"]
    big = plan["pet5", "qaoa", "exact"]
    assert big["n_qubits"] == 122 and big["memory_bytes"] == required_bytes(122)
    assert big["fits"] is False and "122 qubits" in big["reason"]
    assert plan["pet5", "qaoa", "aer_statevector"]["fits"] is False
    mps = plan["pet5", "qaoa", "aer_mps"]
    assert mps["fits"] is True and mps["memory_bytes"] is None
    assert plan["pet5", "mip", "classical"]["fits"] is True


def test_exclusions_match_names_encoders_and_backends(tmp_path):
    text = """
name = "ex"
instances = [{ problem = "mdkp", n = 8, m = 2, seed = 1 }, "pet3"]
[[solvers]]
name = "sa"
encoders = ["none", { name = "lagrangian", max_iter = [5, 10] }]
[[solvers]]
name = "qaoa"
backend = ["exact", "aer_mps"]
[[exclude]]
instance = "mdkp-n8-m2-t0.5-s1"   # the generated instance's name
backend = "classical"
[[exclude]]
encoder = "qubo"                   # what qaoa gets by default
backend = ["aer_mps"]
"""
    runs = load_suite(write(tmp_path, text)).runs
    kept = {(r.spec, r.solver, r.encoder, r.params.get("backend")) for r in runs}
    assert kept == {
        ("mdkp:n=8,m=2,seed=1", "qaoa", None, "exact"),
        ("pet3", "sa", None, None),
        ("pet3", "sa", "lagrangian", None),
        ("pet3", "qaoa", None, "exact"),
    }
    assert len(runs) == 5  # pet3 × lagrangian has two max_iter values
    typo = text.replace("mdkp-n8-m2-t0.5-s1", "mdkp-n8")
    with pytest.raises(ConfigError, match=r"exclude\[0\]\.instance: 'mdkp-n8' matches no"):
        load_suite(write(tmp_path, typo))


def test_a_solver_table_sets_its_own_seeds(tmp_path):
    """``seeds`` in a solver table overrides the suite's for that table only (one seed for the
    expensive simulator runs, three for the cheap ones); mistakes name the table's key."""
    text = """
name = "own-seeds"
seeds = [0, 1, 2]
instances = ["pet3"]

[[solvers]]
name = "sa"

[[solvers]]
name = "qaoa"
seeds = [5]
"""
    suite = load_suite(write(tmp_path, text))
    seeds = {(r.solver, r.seed) for r in suite.runs}
    assert seeds == {("sa", 0), ("sa", 1), ("sa", 2), ("qaoa", 5)}
    bad = text.replace("seeds = [5]", "seeds = [-1]")
    with pytest.raises(ConfigError, match=r"solvers\[1\]\.seeds\[0\]: must be an integer >= 0"):
        load_suite(write(tmp_path, bad))
    reps = text.replace("seeds = [5]", "repetitions = 2")
    assert sorted(r.seed for r in load_suite(write(tmp_path, reps)).runs if r.solver == "qaoa") == [
        0,
        1,
    ]


def test_dry_run_estimates_aer_mps_runs_and_refuses_beyond_the_timeout(tmp_path):
    """aer_mps rows get memory and seconds from the circuit's bond dimensions; a run whose
    estimate exceeds the timeout does not fit, with the numbers."""
    text = """
name = "mps"
instances = ["pb4"]

[[solvers]]
name = "cvar_vqe"
backend = "aer_mps"
ansatz = "real_amplitudes"
entanglement = "circular"
reps = 2
maxiter = [10, 100000]
"""
    suite = load_suite(write(tmp_path, text))
    with pytest.raises(ConfigError, match="timeout must be a positive number of seconds"):
        suite.dry_run(timeout=-5)
    rows = suite.dry_run(timeout=600)
    by_budget = {r["run_id"]: r for r in rows}
    short, long = sorted(by_budget.values(), key=lambda r: r["est_s"])
    assert short["fits"] and short["memory_bytes"] > 0 and 0 < short["est_s"] < 600
    assert not long["fits"] and long["est_s"] > 600
    assert "100000 evaluations at bond dimension up to 2^4" in long["reason"]
    assert "beyond the timeout of 600 s" in long["reason"]


def test_a_solver_table_sets_its_own_local_search(tmp_path):
    text = """
name = "own-search"
instances = ["pet3"]

[[solvers]]
name = "sa"

[[solvers]]
name = "qaoa"
local_search = true
"""
    suite = load_suite(write(tmp_path, text))
    assert {(r.solver, r.local_search) for r in suite.runs} == {("sa", False), ("qaoa", True)}
    with pytest.raises(ConfigError, match=r"solvers\[1\]\.local_search: must be true or false"):
        load_suite(write(tmp_path, text.replace("local_search = true", 'local_search = "yes"')))
