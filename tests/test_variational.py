"""Variational solvers: CVaR, budgeted optimisers, QAOA family and VQE family on small QUBOs.

References are independent: brute-force optima (qbench.solvers.brute), the full cost vector
(qbench.encoders.ising.cost_vector) and hand-computed CVaR values.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qbench.encoders.ising import cost_vector
from qbench.encoders.qubo import encode
from qbench.errors import ConfigError
from qbench.hardware import get_backend
from qbench.hardware.base import QAOAAnsatz
from qbench.problems import MDKP, QAP, TSP, generate
from qbench.solvers import brute
from qbench.solvers import qaoa as qaoa_mod
from qbench.solvers import vqe as vqe_mod
from qbench.solvers.optimizers import METHODS, minimize
from qbench.solvers.variational import cvar, local_search

INFO_KEYS = {
    "final_states", "final_probs", "samples", "energy", "cvar", "depth", "two_qubit_gates",
    "optimizer", "n_evaluations", "iterations", "backend", "params", "history", "x_raw",
    "postprocessed",
}  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------
def small_mdkp(seed: int) -> MDKP:
    """A 6-item, 1-row knapsack with weights 1..9: 4 slack bits, 10 qubits in all."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 10, size=(1, 6)).astype(float)
    profits = rng.integers(1, 10, size=6).astype(float)
    return MDKP(profits, weights, np.floor(0.5 * weights.sum(axis=1)), name=f"mdkp-s{seed}")


def p_ground(result, qubo) -> float:
    """Final probability of the QUBO's ground states (from the recorded distribution)."""
    costs = cost_vector(qubo)
    states, probs = result.info["final_states"], result.info["final_probs"]
    return float(probs[np.isclose(costs[states], costs.min())].sum())


def decoded_value(problem, encoding, bits) -> float | None:
    """Objective of decoded bits on the original problem, None when infeasible."""
    x = encoding.decode(bits)
    return float(problem.objective(x)) if problem.is_feasible(x) else None


@pytest.fixture(scope="module")
def mis_qubo():
    problem = generate("mis", n=8, seed=3)
    encoding = encode(problem.program, penalty="tight")
    return problem, encoding


# -- CVaR ------------------------------------------------------------------------------------
def test_cvar_alpha_one_is_the_mean_exactly():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50)
    probs = rng.random(50)
    probs /= probs.sum()
    assert cvar(values, probs, 1.0) == float(np.dot(probs, values))


def test_cvar_hand_computed_with_fractional_boundary():
    values = np.array([3.0, 1.0, 2.0, 5.0])
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    # sorted: 1 (0.2), 2 (0.3), 3 (0.1), 5 (0.4); the lowest 0.35 = 0.2 of 1 and 0.15 of 2
    assert cvar(values, probs, 0.35) == pytest.approx((0.2 * 1 + 0.15 * 2) / 0.35, abs=1e-12)
    assert cvar(values, probs, 0.2) == pytest.approx(1.0, abs=1e-12)
    assert cvar(values, probs, 0.6) == pytest.approx((0.2 + 0.6 + 0.3) / 0.6, abs=1e-12)
    # unnormalised probabilities are normalised first
    assert cvar(values, 2 * probs, 0.35) == pytest.approx(cvar(values, probs, 0.35))


def test_cvar_below_mean_and_monotone_in_alpha():
    rng = np.random.default_rng(1)
    for _ in range(20):
        values = rng.normal(size=30)
        probs = rng.random(30)
        alphas = np.linspace(0.05, 1.0, 20)
        curve = [cvar(values, probs, a) for a in alphas]
        assert curve[-1] == pytest.approx(np.dot(probs, values) / probs.sum())
        assert np.all(np.diff(curve) >= -1e-12)
        assert curve[0] >= values.min() - 1e-12
    with pytest.raises(ValueError):
        cvar([1.0], [1.0], 0.0)


# -- optimisers ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_optimizers_minimise_a_quadratic_within_budget(method):
    target = np.array([0.3, -0.7, 1.1, 0.2])

    def f(x):
        return float(np.sum((x - target) ** 2) + 2.0)

    res = minimize(f, np.zeros(4), method, maxiter=300, seed=5)
    assert res.n_evaluations <= 300
    assert len(res.history) == res.n_evaluations
    assert res.fun == pytest.approx(min(res.history))
    assert f(res.x) == pytest.approx(res.fun)
    tol = 0.02 if method == "SPSA" else 1e-4
    assert res.fun - 2.0 < tol
    np.testing.assert_allclose(res.x, target, atol=0.15 if method == "SPSA" else 0.02)
    for budget in (1, 7, 23):
        small = minimize(f, np.zeros(4), method, maxiter=budget, seed=5)
        assert small.n_evaluations <= budget
        assert len(small.history) == small.n_evaluations >= 1


def test_optimizer_refuses_unknown_method():
    with pytest.raises(ConfigError, match="allowed"):
        minimize(lambda x: 0.0, np.zeros(2), "BFGS")


# -- local search ----------------------------------------------------------------------------
def test_local_search_reaches_flip_local_optima(mis_qubo):
    _, encoding = mis_qubo
    qubo = encoding.qubo
    rng = np.random.default_rng(2)
    n = qubo.n_vars
    for _ in range(10):
        x0 = rng.integers(0, 2, n)
        x1, _ = local_search(qubo, x0, flips=1)
        x2, _ = local_search(qubo, x0, flips=2)
        e0, e1, e2 = (qubo.objective(x.astype(float)) for x in (x0, x1, x2))
        assert e1 <= e0 + 1e-9 and e2 <= e0 + 1e-9
        for i in range(n):  # no single flip improves x1 or x2
            for x, e in ((x1, e1), (x2, e2)):
                y = x.astype(float).copy()
                y[i] = 1 - y[i]
                assert qubo.objective(y) >= e - 1e-9
        for i, j in itertools.combinations(range(n), 2):  # no pair flip improves x2
            y = x2.astype(float).copy()
            y[[i, j]] = 1 - y[[i, j]]
            assert qubo.objective(y) >= e2 - 1e-9


# -- QAOA / VQE quality ----------------------------------------------------------------------
def _rates(make_problem, solve, seeds, **params):
    """Per seed: (raw optimal?, post-processed optimal?, p_ground, n_qubits)."""
    out = []
    for seed in seeds:
        problem = make_problem(seed)
        encoding = encode(problem.program, penalty="tight")
        opt = brute.solve(problem).objective
        result = solve(encoding.qubo, seed=seed, postprocess="flip1", **params)
        assert result.status == "feasible"
        assert result.info["postprocessed"] is True
        raw = decoded_value(problem, encoding, result.info["x_raw"])
        post = decoded_value(problem, encoding, result.x)
        # post-processing never makes the QUBO energy worse
        assert result.objective <= result.info["energy_raw"] + 1e-9
        out.append((raw == opt, post == opt, p_ground(result, encoding.qubo), encoding.n_qubits))
    return out


def test_qaoa_and_cvar_vqe_solve_small_mis():
    def make(seed):
        return generate("mis", n=10, seed=seed)

    uniform = 1 / 2**10
    for solve, params in (
        (qaoa_mod.solve, {"p": 3}),
        (vqe_mod.solve_cvar, {}),
    ):
        # 64 shots of 1024 states: a uniform sampler would hit a given optimum ~6% of the time
        rows = _rates(make, solve, range(6), shots=64, **params)
        raw = sum(r[0] for r in rows)
        post = sum(r[1] for r in rows)
        assert raw >= 5, rows
        assert post >= raw
        assert all(r[2] > 20 * uniform for r in rows), rows


@pytest.mark.slow
def test_qaoa_and_cvar_vqe_solve_small_mdkp():
    rows = _rates(small_mdkp, vqe_mod.solve_cvar, range(6), shots=64)
    assert all(r[3] <= 11 for r in rows)
    assert sum(r[0] for r in rows) >= 4, rows
    assert sum(r[1] for r in rows) >= sum(r[0] for r in rows)
    assert all(r[2] > 20 / 2 ** r[3] for r in rows), rows
    # the slack-penalty QUBO is hard for shallow QAOA: it amplifies the ground states only a
    # few-fold over uniform, so with the default 1024 shots (not 64) it finds the optimum
    rows = _rates(small_mdkp, qaoa_mod.solve, range(6), p=3)
    assert sum(r[0] for r in rows) >= 4, rows
    assert sum(r[1] for r in rows) >= sum(r[0] for r in rows)
    assert all(r[2] > 2 / 2 ** r[3] for r in rows), rows


def test_small_mdkp_fits_ten_qubits():
    sizes = [encode(small_mdkp(s).program, penalty="tight").n_qubits for s in range(6)]
    assert max(sizes) <= 11 and min(sizes) == 10


def test_transfer_init_no_worse_than_p1(mis_qubo):
    _, encoding = mis_qubo
    p1 = qaoa_mod.solve(encoding.qubo, seed=0, p=1, maxiter=100)
    p3 = qaoa_mod.solve(encoding.qubo, seed=0, p=3, init="transfer", maxiter=300)
    assert p3.info["p"] == 3 and len(p3.info["params"]) == 6
    stages = p3.info["stage_best"]
    assert len(stages) == 3
    assert stages[0] == pytest.approx(p1.info["energy"], abs=1e-3)
    assert p3.info["energy"] <= p1.info["energy"] + 1e-6
    assert p3.n_evaluations <= 300


def test_interp_matches_zhou_formula():
    layers = np.array([[1.0, 10.0], [2.0, 20.0]])  # depth 2, one γ and one β column
    new = qaoa_mod.interp(layers)
    # i = 1: 0·θ_0 + 1·θ_1; i = 2: ½θ_1 + ½θ_2; i = 3: 1·θ_2 + 0·θ_3
    np.testing.assert_allclose(new, [[1.0, 10.0], [1.5, 15.0], [2.0, 20.0]])


def test_fixed_angles_agree_across_backends(mis_qubo):
    _, encoding = mis_qubo
    common = {"p": 2, "init": "fixed", "gammas": "0.2,0.4", "betas": "-0.4,-0.2", "maxiter": 0}
    exact = qaoa_mod.solve(encoding.qubo, seed=1, **common)
    aer = qaoa_mod.solve(encoding.qubo, seed=1, backend="aer_statevector", **common)
    assert exact.n_evaluations == 0
    np.testing.assert_allclose(exact.info["params"], [0.2, 0.4, -0.4, -0.2])
    assert exact.info["energy"] == pytest.approx(aer.info["energy"], abs=1e-9)
    # sampled backend: counts add up to the shots, the energy is an estimate
    shots = qaoa_mod.solve(encoding.qubo, seed=1, backend="aer_shots", shots=200, **common)
    assert sum(shots.info["samples"].values()) == 200
    assert shots.info["energy"] == pytest.approx(exact.info["energy"], abs=1.0)


# -- XY and warm start -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tsp", "qap"])
def test_xy_qaoa_stays_in_the_one_hot_subspace(kind):
    problem = TSP.generate(seed=1, n=3) if kind == "tsp" else QAP.generate(seed=1, n=3)
    groups, start = qaoa_mod.onehot_groups(problem.program)
    assert groups == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert start == (1 << 0) | (1 << 4) | (1 << 8)  # the identity permutation
    encoding = encode(problem.program, penalty="tight")
    for mixer in qaoa_mod.XY_MIXERS:
        result = qaoa_mod.solve_xy(
            encoding.qubo, seed=0, p=2, maxiter=60, groups=groups, initial_state=start,
            xy_mixer=mixer,
        )  # fmt: skip
        states, probs = result.info["final_states"], result.info["final_probs"]
        bits = (states[:, None] >> np.arange(9)) & 1
        one_hot = np.all(bits.reshape(-1, 3, 3).sum(axis=2) == 1, axis=1)
        assert probs[~one_hot].sum() < 1e-10
        assert probs[one_hot].sum() == pytest.approx(1.0, abs=1e-9)
        assert result.info["groups"] == groups and result.info["mixer"] == mixer
        assert result.info["two_qubit_gates"] > 0


def test_xy_qaoa_needs_groups(mis_qubo):
    _, encoding = mis_qubo
    with pytest.raises(ConfigError, match="one-hot groups"):
        qaoa_mod.solve_xy(encoding.qubo, seed=0)
    with pytest.raises(ConfigError, match="exactly one bit"):
        qaoa_mod.solve_xy(encoding.qubo, seed=0, groups=[[0, 1]], initial_state=3)


def test_onehot_groups_greedy_on_mixed_rows():
    from qbench.program import BinaryProgram

    # rows: x0+x1+x2 = 1, x2+x3 = 1 (overlaps the first: skipped), x4+x5 = 1, x0+x3 <= 1
    A = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1], [1, 0, 0, 1, 0, 0]])
    program = BinaryProgram(
        linear=np.zeros(6), A=A, b=[1, 1, 1, 1], senses=("==", "==", "==", "<=")
    )
    groups, start = qaoa_mod.onehot_groups(program)
    assert groups == [[0, 1, 2], [4, 5]]
    # the greedy start picks x0 (row 2 uncovered) and x4
    assert start == (1 << 0) | (1 << 4)


def test_ws_qaoa_start_state_and_end_to_end(mis_qubo):
    problem, encoding = mis_qubo
    qubo = encoding.qubo
    c, relaxed = qaoa_mod.relaxed_solution(qubo, seed=0)
    grad = qubo.linear + (qubo.quadratic + qubo.quadratic.T) @ c
    # KKT of the box QP: no descent direction inside the box
    assert np.all(grad[c < 1 - 1e-6] >= -1e-4) and np.all(grad[c > 1e-6] <= 1e-4)
    assert relaxed <= qubo.objective(np.round(c)) + 1e-6
    eps = 0.01
    warm = np.clip(c, eps, 1 - eps)
    ansatz = QAOAAnsatz(qubo=qubo, p=1, mixer="warm", warm_start=warm)
    dist = get_backend("exact").distribution(ansatz, np.zeros(2))
    bits = (dist.states[:, None] >> np.arange(qubo.n_vars)) & 1
    product = np.prod(np.where(bits == 1, warm, 1 - warm), axis=1)
    np.testing.assert_allclose(dist.probs, product, atol=1e-10)
    rounded = int(np.dot(np.round(warm).astype(int), 1 << np.arange(qubo.n_vars)))
    assert int(dist.states[np.argmax(dist.probs)]) == rounded
    assert dist.probs.max() >= (1 - eps) ** qubo.n_vars - 1e-9

    opt = brute.solve(problem).objective
    result = qaoa_mod.solve_ws(qubo, seed=0, p=1, maxiter=60, epsilon=0.25)
    assert result.info["mixer"] == "warm" and result.info["epsilon"] == 0.25
    assert min(result.info["warm_start"]) >= 0.25 and max(result.info["warm_start"]) <= 0.75
    assert decoded_value(problem, encoding, result.x) == opt


# -- results, determinism, refusal -----------------------------------------------------------
def test_results_deterministic_with_documented_info(mis_qubo):
    _, encoding = mis_qubo
    for solve, params in (
        (qaoa_mod.solve, {"p": 2, "maxiter": 40}),
        (qaoa_mod.solve_ma, {"p": 1, "maxiter": 40, "optimizer": "SPSA"}),
        (qaoa_mod.solve_cvar, {"p": 1, "maxiter": 40}),
        (vqe_mod.solve, {"maxiter": 40, "ansatz": "real_amplitudes"}),
        (vqe_mod.solve_cvar, {"maxiter": 40, "optimizer": "Powell"}),
    ):
        a = solve(encoding.qubo, seed=7, **params)
        b = solve(encoding.qubo, seed=7, **params)
        assert set(a.info) >= INFO_KEYS
        np.testing.assert_array_equal(a.x, b.x)
        assert a.info["params"] == b.info["params"]
        assert a.info["samples"] == b.info["samples"]
        assert a.info["history"] == b.info["history"]
        assert a.info["depth"] > 0 and a.info["two_qubit_gates"] > 0
        assert a.status == "feasible"
        assert 0 < a.n_evaluations <= 40 and a.n_evaluations == len(a.info["history"])
        assert sum(a.info["samples"].values()) == 1024
        assert a.info["postprocessed"] is False
        np.testing.assert_array_equal(a.x, a.info["x_raw"])
        assert a.objective == pytest.approx(encoding.qubo.objective(a.x.astype(float)))
        assert a.info["cvar"] <= a.info["energy"] + 1e-9
        assert float(np.sum(a.info["final_probs"])) == pytest.approx(1.0, abs=1e-9)


def test_solvers_refuse_a_constrained_program(mis_qubo):
    problem, _ = mis_qubo
    for solver in (*qaoa_mod.SOLVERS, *vqe_mod.SOLVERS):
        with pytest.raises(ConfigError, match="needs an encoder"):
            solver.solve(problem.program, seed=0)
        with pytest.raises(ConfigError, match="needs an encoder"):
            solver.solve(problem, seed=0)


def test_declared_params_parse_and_run(mis_qubo):
    _, encoding = mis_qubo
    names = [s.name for s in (*qaoa_mod.SOLVERS, *vqe_mod.SOLVERS)]
    assert names == ["qaoa", "ma_qaoa", "ws_qaoa", "cvar_qaoa", "xy_qaoa", "vqe", "cvar_vqe"]
    cvar_qaoa = qaoa_mod.CVAR_QAOA
    params = cvar_qaoa.parse_params({"maxiter": "20", "postprocess": "flip2"})
    assert params["objective"] == "cvar" and params["alpha"] == 0.1
    result = cvar_qaoa.solve(encoding.qubo, seed=0, **params)
    assert result.info["objective"] == "cvar" and result.info["postprocessed"] is True
    with pytest.raises(ConfigError, match="allowed"):
        qaoa_mod.QAOA.parse_params({"optimizer": "Adam"})
    with pytest.raises(ConfigError, match="alpha"):
        qaoa_mod.solve(encoding.qubo, seed=0, alpha=1.5)
