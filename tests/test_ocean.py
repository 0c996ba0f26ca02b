"""Ocean interop: qbench programs as dimod models (BQM, CQM) and back, and D-Wave's simulated
annealer as the ``dwave_sa`` solver, checked against dimod's own energies and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from qbench.encoders import get_encoder
from qbench.errors import ConfigError
from qbench.interop import from_bqm, to_bqm, to_cqm
from qbench.pipeline import run
from qbench.solvers import get_solver
from qbench.spec import load_spec

dimod = pytest.importorskip("dimod")

SPECS = ["mdkp:n=6,m=2,seed=1", "1tc.8", "qap:n=3,seed=1", "tsp_degree:n=5,seed=0", "msp:m=2,n=6"]


def samples(n: int, k: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(k, n))


@pytest.mark.parametrize("spec", SPECS)
def test_bqm_of_an_encoded_qubo_has_its_energies(spec):
    qubo = get_encoder("qubo").encode(load_spec(spec)).qubo
    bqm = to_bqm(qubo)
    X = samples(qubo.n_vars)
    np.testing.assert_allclose(bqm.energies((X, qubo.var_names)), qubo.objective(X))
    back = from_bqm(bqm)
    assert back.var_names == qubo.var_names and back.sense == "min"
    np.testing.assert_allclose(back.objective(X), qubo.objective(X))


def test_spin_models_and_max_programs_convert():
    h, J = {"a": 1.5, "b": -0.5}, {("a", "b"): 2.0, ("b", "c"): -1.0}
    spin = dimod.BinaryQuadraticModel.from_ising(h, J, offset=0.25)
    program = from_bqm(spin)
    for bits in np.ndindex(2, 2, 2):
        x = np.array(bits)
        spins = dict(zip(program.var_names, 2 * x - 1))
        assert program.objective(x) == pytest.approx(spin.energy(spins))
    mis = load_spec("1tc.8")  # max Σx: dimod minimises, so the model holds −Σx
    free = mis.program.__class__(mis.program.linear, sense="max", var_names=mis.program.var_names)
    x = np.ones(8)
    assert to_bqm(free).energy(dict(zip(free.var_names, x))) == -8
    with pytest.raises(ConfigError, match="encode it first"):
        to_bqm(mis.program)


@pytest.mark.parametrize("spec", SPECS)
def test_cqm_keeps_objective_and_constraints(spec):
    problem = load_spec(spec)
    program = problem.program
    cqm = to_cqm(program)
    assert set(cqm.constraints) == set(program.constraint_names)
    s = 1.0 if program.sense == "min" else -1.0
    for x in samples(program.n_vars, 40, seed=3):
        sample = dict(zip(program.var_names, x))
        assert cqm.objective.energy(sample) == pytest.approx(s * program.objective(x))
        assert cqm.check_feasible(sample) == program.is_feasible(x)


def test_dwave_sa_finds_the_optimum_of_small_qubos():
    pytest.importorskip("dwave.samplers")
    solver = get_solver("dwave_sa")
    for spec in ("1tc.16", "qap:n=3,seed=1", "tsp_degree:n=5,seed=0"):
        qubo = get_encoder("qubo").encode(load_spec(spec)).qubo
        best = get_solver("brute").solve(qubo).objective
        result = solver.solve(qubo, seed=0, num_reads=50, num_sweeps=500)
        assert result.objective == pytest.approx(best)
        again = solver.solve(qubo, seed=0, num_reads=50, num_sweeps=500)
        np.testing.assert_array_equal(again.x, result.x)  # seeded
    row = run("1tc.16", "dwave_sa", {}, seed=1, encoder="qubo")
    assert row["status"] == "ok" and row["objective"] == 8 and row["n_qubits"] == 16
    with pytest.raises(ConfigError, match="needs an encoder"):
        solver.solve(load_spec("1tc.8").program)


@pytest.mark.parametrize("ending", [".lp", ".mps", ".qs", ".bqm", ".json"])
def test_qbench_encode_writes_every_format_with_the_qubos_energies(ending, tmp_path, capsys):
    import json

    from qbench.cli import main
    from qbench.interop import read_model, read_qs

    pytest.importorskip("highspy")
    target = tmp_path / f"pet2{ending}"
    assert main(["encode", "pet2", "-o", str(target)]) == 0
    qubo = get_encoder("qubo").encode(load_spec("pet2")).qubo
    X = samples(qubo.n_vars)
    if ending in (".lp", ".mps"):
        back = read_model(target)
        order = [back.var_names.index(v) for v in qubo.var_names]
        Y = np.zeros_like(X)
        Y[:, order] = X
        np.testing.assert_allclose(back.objective(Y), qubo.objective(X))
    elif ending == ".qs":
        np.testing.assert_allclose(read_qs(target).objective(X), qubo.objective(X))
    elif ending == ".bqm":
        with open(target, "rb") as fh:
            bqm = dimod.BinaryQuadraticModel.from_file(fh)
        np.testing.assert_allclose(bqm.energies((X, qubo.var_names)), qubo.objective(X))
    else:
        data = json.loads(target.read_text())
        assert data["var_names"] == qubo.var_names and data["constraints"] == []
        q = np.zeros((qubo.n_vars, qubo.n_vars))
        for i, j, v in data["quadratic"]:
            q[i, j] = v
        energy = data["constant"] + X @ np.array(data["linear"]) + np.einsum("ki,ij,kj->k", X, q, X)
        np.testing.assert_allclose(energy, qubo.objective(X))
