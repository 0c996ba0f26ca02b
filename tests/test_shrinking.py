"""Graph shrinking: MaxCut identity, exact folding/expansion of merges, options and finish()."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from qbench.encoders import get_encoder
from qbench.errors import ConfigError
from qbench.preprocessing import SHRINK as COMPONENT
from qbench.problems import generate
from qbench.program import BinaryProgram
from qbench.shrinking import (
    PARAMS,
    finish,
    parse_options,
    shrink,
    shrink_problem,
)
from qbench.shrinking.maxcut import maxcut_to_qubo, qubo_to_maxcut
from qbench.shrinking.merge import THRESHOLDS, merge, resolve_target, threshold_value
from qbench.solvers import get_solver


def states(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def random_qubo(seed: int, n: int, density: float = 0.7, integer: bool = False) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n)) * (rng.random((n, n)) < density)
    lin = rng.normal(size=n)
    if integer:
        q, lin = np.round(4 * q), np.round(4 * lin)
    return BinaryProgram(linear=lin, quadratic=sp.csr_matrix(np.triu(q, 1)), constant=rng.normal())


def random_correlate(seed: int):
    """A correlation source that returns a seeded random symmetric matrix: any merge sequence."""

    def correlate(small: BinaryProgram, round: int) -> np.ndarray:
        rng = np.random.default_rng([seed, round])
        m = rng.uniform(-1, 1, size=(small.n_vars + 1,) * 2)
        m = (m + m.T) / 2
        np.fill_diagonal(m, 1.0)
        return m

    return correlate


# ---- MaxCut ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_maxcut_identity_exhaustive(seed):
    """E(x) = offset − cut(x) on every x, the cut measured by networkx on the reference graph."""
    n = 3 + seed % 4
    qubo = random_qubo(seed, n)
    mc = qubo_to_maxcut(qubo)
    graph = mc.to_networkx()
    assert graph.number_of_nodes() == n + 1 and mc.reference == n
    X = states(n)
    cuts = np.array([nx.cut_size(graph, set(np.flatnonzero(x)), weight="weight") for x in X])
    np.testing.assert_allclose(qubo.objective(X), mc.offset - cuts, atol=1e-9)
    np.testing.assert_allclose(mc.cut_value(X), cuts, atol=1e-9)
    assert mc.offset == qubo.constant
    back = maxcut_to_qubo(mc)
    np.testing.assert_allclose(back.objective(X), qubo.objective(X), atol=1e-9)
    np.testing.assert_allclose(back.linear, qubo.linear, atol=1e-12)
    assert abs(back.quadratic - qubo.quadratic).max() < 1e-12


# ---- merge folding and expansion ---------------------------------------------------------------


def replay_constraints(shrunk, X: np.ndarray) -> np.ndarray:
    """Which full bitstrings satisfy every logged merge relation (independent of expand)."""
    ok = np.ones(X.shape[0], dtype=bool)
    for step in shrunk.steps:
        rel = step.relation == "different"
        kept = 0.0 if step.kept == -1 else X[:, step.kept]
        ok &= X[:, step.removed] == np.abs(kept - rel)
    return ok


def check_exact(qubo: BinaryProgram, shrunk) -> None:
    """Energy identity on every small y, and expand() is a bijection onto the merged subspace."""
    Y = states(shrunk.n_after)
    X = shrunk.expand(Y)
    assert X.shape == (Y.shape[0], qubo.n_vars) and X.dtype == np.int8
    np.testing.assert_allclose(shrunk.qubo.objective(Y), qubo.objective(X), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(X[:, shrunk.kept], Y)  # y is read back from the kept vars
    full = states(qubo.n_vars)
    image = full[replay_constraints(shrunk, full)]
    assert len(np.unique(X, axis=0)) == len(Y) == len(image)
    np.testing.assert_array_equal(np.unique(X, axis=0), np.unique(image, axis=0))
    np.testing.assert_array_equal(shrunk.expand(Y[3 % len(Y)]), X[3 % len(Y)])


@pytest.mark.parametrize("seed", range(8))
def test_merges_fold_exactly_exhaustive(seed):
    """Random merge sequences (incl. fixings via the reference) on n = 8: exact on all states."""
    qubo = random_qubo(seed, 8)
    mode = ("plain", "adaptive")[seed % 2]
    shrunk = merge(qubo, random_correlate(seed), target=2 + seed % 4, mode=mode, every=2)
    assert shrunk.n_after == 2 + seed % 4 and shrunk.reached_target
    check_exact(qubo, shrunk)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 9),
    fraction=st.floats(0.05, 1.0),
    mode=st.sampled_from(["plain", "adaptive"]),
    threshold=st.sampled_from(THRESHOLDS),
    every=st.one_of(st.none(), st.integers(1, 4)),
    integer=st.booleans(),
)
def test_merges_fold_exactly_hypothesis(seed, n, fraction, mode, threshold, every, integer):
    qubo = random_qubo(seed, n, density=0.6, integer=integer)
    target = max(1, int(round(fraction * n)))
    shrunk = merge(
        qubo, random_correlate(seed), target=target, mode=mode, every=every, threshold=threshold
    )
    assert shrunk.n_after == target
    assert len(shrunk.steps) == n - target
    assert [s.n_after for s in shrunk.steps] == list(range(n - 1, target - 1, -1))
    check_exact(qubo, shrunk)


def test_shrink_sdp_keeps_identity_and_log():
    """A real run (SDP correlations) on an MIS QUBO: identity, log table, sizes."""
    problem = generate("mis", seed=3, n=10, p=0.3)
    enc = get_encoder("qubo").encode(problem.program)
    shrunk = shrink(enc.qubo, target=0.6, correlations="sdp", seed=1)
    assert (shrunk.n_before, shrunk.n_after, shrunk.shrink_ratio) == (10, 6, 0.6)
    check_exact(enc.qubo, shrunk)
    log = shrunk.log
    assert list(log.columns) == [
        "step", "kept", "removed", "relation", "strength", "n_after", "round", "threshold",
    ]  # fmt: skip
    assert len(log) == 4 and log["n_after"].tolist() == [9, 8, 7, 6]
    assert set(log["relation"]) <= {"equal", "different"}
    assert (np.diff(log["strength"]) <= 1e-12).all()  # plain mode: greedy down the list


def test_plain_greedy_follows_strongest_pairs():
    """Hand-made correlations: the strongest pair merges first, with the sign's relation."""
    qubo = random_qubo(0, 4)
    m = np.eye(5)
    m[0, 2] = m[2, 0] = -0.9  # x2 = 1 − x0
    m[1, 4] = m[4, 1] = 0.8  # x1 = 0 (reference)
    m[1, 3] = m[3, 1] = 0.5
    shrunk = merge(qubo, lambda q, r: m, target=2)
    steps = [(s.kept, s.removed, s.relation) for s in shrunk.steps]
    assert steps == [(0, 2, "different"), (-1, 1, "equal")]
    np.testing.assert_array_equal(shrunk.kept, [0, 3])
    np.testing.assert_array_equal(shrunk.expand([1, 0]), [1, 0, 0, 0])
    np.testing.assert_array_equal(shrunk.expand([0, 1]), [0, 0, 1, 1])


def test_adaptive_recomputes_on_threshold_and_every():
    calls = []

    def correlate(small, round):
        calls.append(small.n_vars)
        return random_correlate(7)(small, round)

    qubo = random_qubo(1, 8)
    shrunk = merge(qubo, correlate, target=2, mode="adaptive", every=2, threshold_param=1e-6)
    assert calls == [8, 6, 4] and shrunk.rounds == 3
    assert shrunk.log["round"].tolist() == [0, 0, 1, 1, 2, 2]
    calls.clear()
    shrunk = merge(qubo, correlate, target=2, mode="plain")
    assert calls == [8] and shrunk.rounds == 1


def test_thresholds():
    values = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.05])
    kw = {"round": 1, "first_max": 1.0, "seed": 0}
    assert threshold_value(values, "proportional", 0.5, **kw) == pytest.approx(0.45)
    assert threshold_value(values, "mean", None, **kw) == pytest.approx(values.mean())
    assert threshold_value(values, "median", None, **kw) == pytest.approx(0.45)
    assert threshold_value(values, "quantile", 0.75, **kw) == pytest.approx(0.775)
    assert threshold_value(values, "kmeans", None, **kw) == pytest.approx(0.7)
    assert threshold_value(values, "decay", 0.5, **kw) == pytest.approx(0.25)


def test_rules_refusing_everything_stop_early():
    class Never:
        def allows(self, groups, keep, drop, relation):
            return False

    shrunk = merge(random_qubo(0, 5), random_correlate(0), target=2, rules=Never())
    assert shrunk.n_after == 5 and not shrunk.reached_target and shrunk.steps == []


# ---- options and errors ------------------------------------------------------------------------


def test_target_resolution_and_errors():
    assert resolve_target(0.5, 10) == 5 and resolve_target(3, 10) == 3
    assert resolve_target(1.0, 7) == 7 and resolve_target(np.int64(2), 7) == 2
    with pytest.raises(ConfigError, match="larger than the n=4"):
        resolve_target(5, 4)
    with pytest.raises(ConfigError, match="at least 1"):
        resolve_target(0.01, 10)
    with pytest.raises(ConfigError, match="at least 1"):
        resolve_target(0, 10)
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        resolve_target(1.5, 10)
    with pytest.raises(ConfigError, match="qubit budget"):
        resolve_target(True, 10)


def test_shrink_errors_name_allowed_values():
    qubo = random_qubo(0, 4)
    with pytest.raises(ConfigError, match="allowed: sdp, qaoa, samples"):
        shrink(qubo, target=2, correlations="pca")
    with pytest.raises(ConfigError, match="needs samples"):
        shrink(qubo, target=2, correlations="samples")
    with pytest.raises(ConfigError, match="callable"):
        shrink(qubo, target=2, correlations="samples", samples=states(4), mode="adaptive")
    with pytest.raises(ConfigError, match="allowed: plain, adaptive"):
        shrink(qubo, target=2, mode="greedy")
    with pytest.raises(ConfigError, match="allowed: proportional, mean"):
        shrink(qubo, target=2, threshold="otsu")
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\)"):
        shrink(qubo, target=2, mode="adaptive", threshold="decay", threshold_param=1.5)
    with pytest.raises(ConfigError, match="unknown option.*allowed: rank, restarts, maxiter"):
        shrink(qubo, target=2, source_options={"gamma": 0.1})
    with pytest.raises(ConfigError, match="larger than"):
        shrink(qubo, target=9)


def test_params_parse_and_validate():
    assert [p.name for p in PARAMS] == [
        "target", "correlations", "mode", "every", "threshold", "threshold_param", "rules",
    ]  # fmt: skip
    opts = parse_options({"target": "12", "correlations": "qaoa", "every": "3"})
    assert opts["target"] == 12 and isinstance(opts["target"], int)
    assert parse_options({"target": "0.5"})["target"] == 0.5
    assert parse_options({})["rules"] == "constraints"
    with pytest.raises(ConfigError, match="preprocessing 'shrink'.*allowed: sdp, qaoa, samples"):
        parse_options({"correlations": "pca"})
    with pytest.raises(ConfigError, match="unknown parameter"):
        parse_options({"budget": 3})
    with pytest.raises(ConfigError, match="quantile"):
        parse_options({"threshold": "quantile", "threshold_param": "2"})
    assert COMPONENT.name == "shrink"


def test_samples_source_uses_given_samples():
    """Samples concentrated on one bitstring: shrinking fixes variables to exactly that."""
    qubo = random_qubo(2, 6)
    best = np.array([1, 0, 1, 1, 0, 0])
    shrunk = shrink(qubo, target=1, correlations="samples", samples=best[None, :])
    x = shrunk.expand(shrunk.qubo.n_vars * [0])
    x1 = shrunk.expand(shrunk.qubo.n_vars * [1])
    assert any((v == best).all() for v in (x, x1))


# ---- finish ------------------------------------------------------------------------------------


def test_finish_expands_decodes_and_repairs():
    problem = generate("qap", seed=1, n=3)
    enc = get_encoder("qubo").encode(problem.program)
    shrunk = shrink_problem(problem, enc, rules="none", target=0.5, seed=0)
    for y in states(shrunk.n_after)[[0, -1]]:
        rec = finish(problem, enc, shrunk, y)
        bits = shrunk.expand(y)
        np.testing.assert_array_equal(rec["x_raw"], bits[: problem.n_vars])
        assert rec["energy"] == pytest.approx(float(shrunk.qubo.objective(y)), abs=1e-9)
        assert rec["feasible"] and problem.is_feasible(rec["x"])
        assert rec["feasible_before_repair"] == bool(problem.is_feasible(rec["x_raw"]))
        assert rec["repaired"] == (not rec["feasible_before_repair"])
        assert rec["repair_moves"] == int(np.sum(rec["x"] != rec["x_raw"]))
        assert (rec["n_qubits_before"], rec["n_qubits_after"]) == (9, shrunk.n_after)
        assert rec["shrink_ratio"] == shrunk.n_after / 9
    Y = states(shrunk.n_after)
    bad = Y[~problem.is_feasible(enc.decode(shrunk.expand(Y)))]
    rec = finish(problem, enc, shrunk, bad[0], repair=False)
    assert not rec["feasible"] and not rec["repaired"] and rec["repair_moves"] == 0
    rec = finish(problem, enc, shrunk, bad[0])
    assert rec["feasible"] and rec["repaired"] and rec["repair_moves"] > 0


def test_finish_with_brute_inner_solver_on_mis():
    problem = generate("mis", seed=0, n=12, p=0.3)
    enc = get_encoder("qubo").encode(problem.program)
    shrunk = shrink_problem(problem, enc, target=6, correlations="qaoa", seed=0)
    y = get_solver("brute").solve(shrunk.qubo, seed=0).x
    rec = finish(problem, enc, shrunk, y)
    assert rec["feasible_before_repair"] and rec["n_qubits_after"] == 6
    brute_best = get_solver("brute").solve(enc.qubo, seed=0).objective
    assert rec["energy"] >= brute_best - 1e-9  # a restriction can only lose
    with pytest.raises(ValueError, match="12 qubits"):
        finish(problem, get_encoder("qubo").encode(generate("mis", n=5).program), shrunk, y)
