"""sa: determinism, quality against brute force, constraint handling, the energy it anneals."""

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from qbench.errors import ConfigError
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP
from qbench.program import BinaryProgram
from qbench.solvers import brute, get_solver
from qbench.solvers.sa import SOLVER, _Annealer, auto_penalty, solve

FAST = {"num_reads": 32, "num_sweeps": 300}
INSTANCES = Path(str(files("qbench.data") / "instances"))


def random_program(seed: int, n_max: int = 12, constrained: bool = True) -> BinaryProgram:
    """A random program with integer data, mixed constraint senses, either sense; feasible."""
    rng = np.random.default_rng(seed)
    while True:
        n = int(rng.integers(4, n_max + 1))
        m = int(rng.integers(1, 4)) if constrained else 0
        prog = BinaryProgram(
            linear=rng.integers(-10, 11, size=n),
            quadratic=np.triu(rng.integers(-6, 7, size=(n, n)), k=1) * (rng.random((n, n)) < 0.5),
            constant=float(rng.integers(-5, 6)),
            A=rng.integers(-2, 4, size=(m, n)).reshape(m, n),
            b=rng.integers(0, n + 1, size=m),
            senses=tuple(rng.choice(["<=", "==", ">="], size=m)),
            sense=str(rng.choice(["min", "max"])),
        )
        if brute.solve(prog).status == "optimal":
            return prog


def test_deterministic_per_seed():
    prog = random_program(3)
    a, b = solve(prog, seed=7, **FAST), solve(prog, seed=7, **FAST)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.objective == b.objective and a.info == b.info
    p = MSP.generate(seed=1, m=3, n=16)
    runs = [solve(p, seed=s, num_reads=4, num_sweeps=20) for s in (0, 0, 1, 2, 3)]
    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    # different seeds run different chains (4 short reads on 2^16 states rarely coincide)
    assert len({tuple(r.x) for r in runs[1:]}) > 1


@pytest.mark.parametrize("constrained", [True, False])
def test_finds_the_brute_force_optimum_on_most_random_programs(constrained):
    hits = 0
    for seed in range(10):
        prog = random_program(100 * constrained + seed, constrained=constrained)
        ref = brute.solve(prog)
        result = solve(prog, seed=seed, **FAST)
        assert result.status == "feasible"  # a heuristic never claims optimality
        assert prog.is_feasible(result.x)
        assert result.objective == prog.objective(result.x)
        better_or_equal = result.objective >= ref.objective - 1e-9
        if prog.sense == "max":
            better_or_equal = result.objective <= ref.objective + 1e-9
        assert better_or_equal  # never beats the exact optimum
        hits += bool(np.isclose(result.objective, ref.objective))
    assert hits >= 8


def test_random_programs_mix_senses_and_constraint_types():
    progs = [random_program(100 + s) for s in range(10)]
    assert {p.sense for p in progs} == {"min", "max"}
    assert {s for p in progs for s in p.senses} == {"<=", "==", ">="}


def test_counts_and_info():
    prog = random_program(5)
    result = solve(prog, seed=0, num_reads=8, num_sweeps=50)
    assert result.n_evaluations == 8 * 50 * prog.n_vars and result.iterations == 50
    assert 0 < result.info["p_feasible"] <= 1 and result.info["num_reads"] == 8
    assert result.info["penalty"] == auto_penalty(prog)
    lb, ub = prog.objective_bounds()
    assert auto_penalty(prog) == 1 + ub - lb
    assert result.bound is None


def test_infeasible_program_returns_no_solution():
    prog = BinaryProgram(
        linear=[1.0, -1.0, 2.0], A=np.array([[1.0, 1.0, 1.0]]), b=[4.0], senses=(">=",)
    )
    result = solve(prog, seed=0, num_reads=8, num_sweeps=30)
    assert result.status == "infeasible" and result.x is None and result.objective is None
    assert result.info["p_feasible"] == 0 and "no read" in result.info["reason"]


def test_equality_constraints_are_respected_and_penalty_matters():
    # choose exactly 3 of 10 items, maximising a value that prefers taking all of them
    rng = np.random.default_rng(0)
    values = rng.integers(1, 20, size=10).astype(float)
    prog = BinaryProgram(linear=values, A=np.ones((1, 10)), b=[3.0], senses=("==",), sense="max")
    best = np.sort(values)[-3:].sum()
    for seed in range(4):
        stiff = solve(prog, seed=seed, **FAST)  # auto penalty: 1 + sum(values) = 105
        assert stiff.x.sum() == 3 and stiff.info["p_feasible"] == 1.0
        assert stiff.objective <= best
        # a single flip cannot move between feasible points, so a softer penalty anneals better
        soft = solve(prog, seed=seed, penalty=20.0, **FAST)
        assert soft.x.sum() == 3 and soft.objective == best


def test_energy_is_the_penalised_objective():
    prog = random_program(11)
    penalty = 7.5
    annealer = _Annealer(prog, penalty)
    X = np.random.default_rng(0).integers(0, 2, size=(50, prog.n_vars)).astype(float)
    res = np.atleast_2d(prog.residuals(X))
    viol = np.zeros_like(res)
    for r, s in enumerate(prog.senses):
        viol[:, r] = {"<=": np.maximum(res[:, r], 0), ">=": np.maximum(-res[:, r], 0)}.get(
            s, np.abs(res[:, r])
        )
    sign = 1.0 if prog.sense == "min" else -1.0
    expected = sign * prog.objective(X) + penalty * (viol**2).sum(axis=1)
    np.testing.assert_allclose(annealer.energy(X), expected)


@pytest.mark.parametrize("seed", range(3))
def test_cold_anneal_ends_in_single_flip_local_minima(seed):
    """A zero-temperature run only takes improving flips: a check of the incremental deltas."""
    prog = random_program(20 + seed)
    annealer = _Annealer(prog, auto_penalty(prog))
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 2, size=(16, prog.n_vars)).astype(float)
    final = annealer.anneal(start, np.full(60, 1e12), rng)
    energy = annealer.energy(final)
    assert np.all(energy <= annealer.energy(start) + 1e-9)
    for j in range(prog.n_vars):
        flipped = final.copy()
        flipped[:, j] = 1 - flipped[:, j]
        assert np.all(annealer.energy(flipped) >= energy - 1e-9)


def test_msp_target_is_judged_by_absolute_deviation():
    hits = 0
    for seed in range(10):
        p = MSP.generate(seed=seed, m=2, n=10, max_demand=30)
        ref = brute.solve(p)
        result = solve(p, seed=seed)  # market split is hard for SA: default effort
        assert result.status == "feasible" and result.info["p_feasible"] == 1.0
        assert result.objective == p.objective(result.x) >= ref.objective
        assert result.info["best_energy"] <= p.program.objective(result.x) + 1e-9
        hits += result.objective == ref.objective
    assert hits >= 7


@pytest.mark.parametrize("cls, n", [(QAP, 4), (TSP, 5)])
def test_permutation_problems_return_permutation_matrices(cls, n):
    hits = 0
    for seed in range(6):
        p = cls.generate(seed=seed, n=n)
        ref = brute.solve(p)
        result = solve(p, seed=seed, num_reads=64, num_sweeps=300)
        assert result.status == "feasible"
        perm = p.x_to_perm(result.x)  # raises unless x is a permutation matrix
        assert result.objective == p.permutation_costs(perm) >= ref.objective
        hits += result.objective == ref.objective
    assert hits >= 4


@pytest.mark.parametrize(
    "cls, params",
    [
        (MDKP, {"n": 12, "m": 3}),
        (MIS, {"n": 14}),
        (MIS, {"n": 14, "model": "unit_disk", "radius": 0.4}),
    ],
)
def test_mdkp_and_mis_reach_the_brute_force_optimum(cls, params):
    hits = 0
    for seed in range(6):
        p = cls.generate(seed=seed, **params)
        ref = brute.solve(p)
        result = solve(p, seed=seed, **FAST)
        assert result.status == "feasible" and p.is_feasible(result.x)
        assert result.objective == p.objective(result.x) <= ref.objective
        hits += result.objective == ref.objective
    assert hits >= 5


@pytest.mark.parametrize(
    "cls, file, optimum",
    [
        (MDKP, "mdkp/pet2.dat", 87061),
        (MDKP, "mdkp/pet3.dat", 4015),
        (MIS, "mis/1tc.16.txt", 8),
    ],
)
def test_shipped_instances_reach_their_published_optimum(cls, file, optimum):
    p = cls.read(INSTANCES / file)
    result = solve(p, seed=0)
    assert result.status == "feasible" and p.is_feasible(result.x)
    assert result.objective == p.objective(result.x) == optimum


def test_parameters():
    assert get_solver("sa") is SOLVER
    assert SOLVER.parse_params({}) == {
        "num_reads": 64,
        "num_sweeps": 1000,
        "penalty": None,
        "beta_min": None,
        "beta_max": None,
    }
    assert SOLVER.parse_params({"penalty": "none", "num_reads": "3"})["num_reads"] == 3
    prog = random_program(1)
    for bad in ({"num_reads": 0}, {"num_sweeps": 0}, {"penalty": -1.0}, {"penalty": np.inf}):
        with pytest.raises(ConfigError):
            solve(prog, **bad)
    with pytest.raises(ConfigError, match="beta_min <= beta_max"):
        solve(prog, beta_min=2.0, beta_max=1.0)
    result = solve(prog, seed=0, num_reads=4, num_sweeps=10, beta_min=0.1, beta_max=3.0)
    assert (result.info["beta_min"], result.info["beta_max"]) == (0.1, 3.0)


def test_quality_is_on_par_with_dwave_samplers():
    """Cross-check against D-Wave's reference annealer on unconstrained QUBOs (if installed)."""
    samplers = pytest.importorskip("dwave.samplers")
    ours = theirs = 0
    for seed in range(10):
        prog = random_program(200 + seed, constrained=False)
        prog = BinaryProgram(prog.linear, prog.quadratic, prog.constant, sense="min")
        ref = brute.solve(prog).objective
        qubo = {(i, i): v for i, v in enumerate(prog.linear)}
        coo = prog.quadratic.tocoo()
        qubo.update({(i, j): v for i, j, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data)})
        sample = samplers.SimulatedAnnealingSampler().sample_qubo(
            qubo, num_reads=32, num_sweeps=300, seed=seed
        )
        theirs += np.isclose(sample.first.energy + prog.constant, ref)
        ours += np.isclose(solve(prog, seed=seed, **FAST).objective, ref)
    assert theirs >= 8 and ours >= theirs - 1
