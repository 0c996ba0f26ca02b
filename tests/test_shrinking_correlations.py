"""Correlation sources of shrinking: BM SDP vs cvxpy, p=1 QAOA vs exact simulation, samples."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from qbench.encoders import get_encoder
from qbench.errors import ConfigError
from qbench.hardware.base import Distribution, QAOAAnsatz
from qbench.hardware.exact import energy, simulate
from qbench.problems import generate
from qbench.program import BinaryProgram
from qbench.shrinking.correlations import (
    correlation_matrix,
    default_rank,
    qaoa,
    qaoa_correlations,
    sample_correlations,
    sdp,
    sdp_cvxpy,
)
from qbench.shrinking.maxcut import MaxCut, maxcut_to_qubo
from qbench.solvers import get_solver


def states(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def random_qubo(seed: int, n: int) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.7)
    return BinaryProgram(
        linear=rng.normal(size=n), quadratic=sp.csr_matrix(np.triu(q, 1)), constant=rng.normal()
    )


def random_maxcut(seed: int, n: int) -> MaxCut:
    rng = np.random.default_rng(seed)
    w = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.6), 1)
    return MaxCut(sp.csr_matrix(w + w.T))


def exact_moments(qubo: BinaryProgram, gamma: float, beta: float) -> np.ndarray:
    """(n+1)×(n+1) ⟨s_a s_b⟩ from qbench's exact statevector of QAOAAnsatz(qubo, p=1)."""
    n = qubo.n_vars
    probs = np.abs(simulate(QAOAAnsatz(qubo=qubo, p=1), [gamma, beta], engine="numpy")) ** 2
    spins = np.hstack([1 - 2 * states(n), np.ones((1 << n, 1))])
    return (spins * probs[:, None]).T @ spins


# ---- SDP ---------------------------------------------------------------------------------------


def test_sdp_rank_and_shape():
    assert default_rank(10) == 6 and default_rank(2) == 2 and default_rank(121) == 17
    res = sdp(random_qubo(0, 7), seed=0)
    assert res.vectors.shape == (8, default_rank(8))
    np.testing.assert_allclose(np.diag(res.correlations), 1.0)
    np.testing.assert_allclose(res.correlations, res.correlations.T)
    assert np.linalg.eigvalsh(res.correlations).min() > -1e-9
    with pytest.raises(ConfigError, match="rank must be in 1..8"):
        sdp(random_qubo(0, 7), rank=9)


@pytest.mark.parametrize("seed", range(4))
def test_sdp_is_a_lower_bound_on_the_energy(seed):
    """offset − SDP cut bound <= brute-force minimum energy of the QUBO."""
    qubo = random_qubo(seed, 8)
    res = sdp(qubo, seed=seed)
    best = get_solver("brute").solve(qubo, seed=0).objective
    assert res.energy_bound <= best + 1e-7
    assert res.cut_bound >= qubo.constant - best - 1e-7


@pytest.mark.parametrize("seed,n", [(0, 6), (1, 10), (2, 16), (3, 24)])
def test_sdp_matches_cvxpy_on_generic_graphs(seed, n):
    """Gaussian weights: the SDP optimum is unique, so the whole Gram matrix must agree."""
    pytest.importorskip("cvxpy")
    mc = random_maxcut(seed, n)
    ours, ref = sdp(mc, seed=seed), sdp_cvxpy(mc)
    assert ours.cut_bound == pytest.approx(ref.cut_bound, rel=1e-3)
    np.testing.assert_allclose(ours.correlations, ref.correlations, atol=2e-3)


@pytest.mark.parametrize("kind,params", [("mis", {"n": 10}), ("qap", {"n": 3})])
def test_sdp_matches_cvxpy_on_penalty_qubos(kind, params):
    """Penalty QUBOs have degenerate SDP optima: compare the value and the strong signs."""
    pytest.importorskip("cvxpy")
    for seed in range(2):
        qubo = get_encoder("qubo").encode(generate(kind, seed=seed, **params).program).qubo
        ours, ref = sdp(qubo, seed=seed), sdp_cvxpy(qubo)
        assert ours.cut_bound == pytest.approx(ref.cut_bound, rel=1e-3)
        strong = np.abs(ref.correlations) > 0.9
        assert strong.sum() > qubo.n_vars + 1  # more than the diagonal
        np.testing.assert_array_equal(
            np.sign(ours.correlations[strong]), np.sign(ref.correlations[strong])
        )


# ---- QAOA p = 1 --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_qaoa_formula_matches_exact_simulator(seed):
    """Closed-form ⟨Z_i⟩, ⟨Z_iZ_j⟩ == qbench's exact statevector (fields, random angles)."""
    rng = np.random.default_rng(100 + seed)
    qubo = random_qubo(seed, 3 + seed % 5)
    gamma, beta = rng.uniform(-2, 2), rng.uniform(-2, 2)
    np.testing.assert_allclose(
        qaoa_correlations(qubo, gamma, beta), exact_moments(qubo, gamma, beta), atol=1e-9
    )


def test_qaoa_zero_fields_is_the_maxcut_formula():
    """Unweighted MaxCut: Wang et al. (2018) ⟨C_uv⟩ with d = deg − 1 and λ triangles on uv.

    Our cost is the QUBO energy −cut, so their γ is −γ here.
    """
    graph = nx.gnp_random_graph(7, 0.5, seed=4)
    n = graph.number_of_nodes()
    adj = nx.to_numpy_array(graph)
    weights = np.zeros((n + 1, n + 1))
    weights[:n, :n] = adj  # the reference node stays isolated: no fields
    qubo = maxcut_to_qubo(MaxCut(sp.csr_matrix(weights)))
    gamma, beta = 0.43, 0.31
    m = qaoa_correlations(qubo, gamma, beta)
    np.testing.assert_allclose(m[:n, n], 0.0, atol=1e-12)
    g = -gamma
    for u, v in graph.edges:
        du, dv = graph.degree(u) - 1, graph.degree(v) - 1
        lam = len(set(graph[u]) & set(graph[v]))
        cut = (
            0.5
            + 0.25 * np.sin(4 * beta) * np.sin(g) * (np.cos(g) ** du + np.cos(g) ** dv)
            - 0.25
            * np.sin(2 * beta) ** 2
            * np.cos(g) ** (du + dv - 2 * lam)
            * (1 - np.cos(2 * g) ** lam)
        )
        assert m[u, v] == pytest.approx(1 - 2 * cut, abs=1e-12)


def test_qaoa_angle_search_energy_matches_simulator():
    qubo = get_encoder("qubo").encode(generate("mis", seed=1, n=7).program).qubo
    res = qaoa(qubo)
    exact = energy(QAOAAnsatz(qubo=qubo, p=1), [res.gamma, res.beta], engine="numpy")
    assert res.energy == pytest.approx(exact, abs=1e-9)
    plus = float(qubo.objective(states(7)).mean())  # energy of |+⟩ (γ = 0)
    assert res.energy < plus - 1e-6
    given = qaoa(qubo, gamma=0.1, beta=0.2)
    assert (given.gamma, given.beta) == (0.1, 0.2)
    with pytest.raises(ConfigError, match="both gamma and beta"):
        qaoa(qubo, gamma=0.1)


# ---- samples -----------------------------------------------------------------------------------


def test_samples_equal_exact_distribution_moments():
    """A Distribution (states, probs) of the exact QAOA state gives the same matrix."""
    qubo = random_qubo(3, 5)
    probs = np.abs(simulate(QAOAAnsatz(qubo=qubo, p=1), [0.3, -0.7], engine="numpy")) ** 2
    dist = Distribution(states=np.arange(32), probs=probs, exact=True)
    m = correlation_matrix(qubo, "samples", samples=dist)
    np.testing.assert_allclose(m, qaoa_correlations(qubo, 0.3, -0.7), atol=1e-12)


def test_sample_formats_and_convention():
    """'01' is x0 = 1, x1 = 0 (qiskit order); M_ij > 0 equal, M_in > 0 means x_i = 0."""
    m = sample_correlations({"01": 3, "11": 1}, 2)
    # x0 = 1 always (s0 = −1); x1 = 0 in 3 of 4 samples
    assert m[0, 2] == -1.0 and m[1, 2] == pytest.approx(0.5)
    assert m[0, 1] == pytest.approx(-0.5)
    same = sample_correlations(({1: 3, 3: 1}), 2)
    np.testing.assert_allclose(same, m)
    bits = np.array([[1, 0], [1, 0], [1, 0], [1, 1]])
    np.testing.assert_allclose(sample_correlations(bits, 2), m)
    np.testing.assert_allclose(sample_correlations((bits[[0, 3]], [3, 1]), 2), m)
    conn = sample_correlations(bits, 2, connected=True)
    assert conn[0, 1] == pytest.approx(-0.5 - (-1.0) * 0.5) and conn[1, 2] == m[1, 2]
    with pytest.raises(ValueError, match="0/1"):
        sample_correlations(np.array([[2, 0]]), 2)
    with pytest.raises(ValueError, match="2-bit samples"):
        sample_correlations(np.ones((3, 3)), 2)


def test_callable_samples_and_source_errors():
    qubo = random_qubo(0, 4)
    calls = []

    def draw(q, seed):
        calls.append((q.n_vars, seed))
        return np.zeros((1, q.n_vars))

    m = correlation_matrix(qubo, "samples", samples=draw, seed=5)
    assert calls == [(4, 5)] and np.all(m == 1.0)
    with pytest.raises(ConfigError, match="needs samples"):
        correlation_matrix(qubo, "samples")
    with pytest.raises(ConfigError, match="allowed: sdp, qaoa, samples"):
        correlation_matrix(qubo, "spectral")
    with pytest.raises(ConfigError, match="allowed: gamma, beta, grid"):
        correlation_matrix(qubo, "qaoa", restarts=3)
