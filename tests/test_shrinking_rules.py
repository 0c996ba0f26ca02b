"""Constraint-aware shrinking: rules never allow a forbidden merge; they pay off in feasibility."""

import networkx as nx
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qbench.encoders import get_encoder
from qbench.problems import MDKP, MIS, generate
from qbench.shrinking import constraint_rules, finish, shrink_problem
from qbench.shrinking.merge import Groups, merge
from qbench.shrinking.rules import feasible_points
from qbench.solvers import get_solver

PROBLEMS = {
    "mis": {"n": 10, "p": 0.35},
    "mdkp": {"n": 6, "m": 2},
    "qap": {"n": 3},
    "tsp": {"n": 4},
}


def states(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def random_correlate(seed: int):
    def correlate(small, round):
        m = np.random.default_rng([seed, round]).uniform(-1, 1, size=(small.n_vars + 1,) * 2)
        return (m + m.T) / 2

    return correlate


def fixings(groups: Groups, n_vars: int):
    """(ones, zeros) among the problem variables for every merged group and root value b, each
    with the reference's fixings added (the reference group alone once). A group of one problem
    variable is no merge: that variable alone may break a row at 1 (an MDKP item heavier than a
    capacity) and is then simply 0 in every feasible answer."""
    ref = groups.reference
    roots, flips = groups.root[:n_vars], groups.flip[:n_vars]
    base = np.full(n_vars, -1)
    base[roots == ref] = flips[roots == ref]
    yield set(np.flatnonzero(base == 1)), set(np.flatnonzero(base == 0))
    for r in np.unique(roots[roots != ref]):
        if np.count_nonzero(roots == r) < 2:
            continue
        for b in (0, 1):
            values = base.copy()
            values[roots == r] = flips[roots == r] ^ b
            yield set(np.flatnonzero(values == 1)), set(np.flatnonzero(values == 0))


def forbidden(problem, encoding, groups: Groups) -> str | None:
    """A forbidden merge in the final groups, checked on the problem's own data, else None."""
    n = problem.n_vars
    for ones, zeros in fixings(groups, n):
        if problem.kind == "mis":
            if any(u in ones and v in ones for u, v in problem.graph.edges):
                return f"adjacent vertices both 1: {sorted(ones)}"
        elif problem.kind == "mdkp":
            load = problem.weights[:, sorted(ones)].sum(axis=1)
            if np.any(load > problem.capacities):
                return f"items {sorted(ones)} weigh {load} > {problem.capacities}"
        else:  # assignment matrix x[i*k + j]
            k = problem.perm_size
            cells = np.array(sorted(ones), dtype=int)
            if len(set(cells // k)) < len(cells) or len(set(cells % k)) < len(cells):
                return f"two ones in a row or column: {cells}"
            for line in range(k):
                row, col = set(line * k + np.arange(k)), set(np.arange(k) * k + line)
                if row <= zeros or col <= zeros:
                    return f"row/column {line} all fixed to 0"
    if encoding.n_slack:  # no group mixes items with slack, or slack of two constraints
        sizes = [entry["bits"] for entry in encoding.metadata["slack"]]
        cls = np.concatenate([np.full(n, -1), np.repeat(np.arange(len(sizes)), sizes)])
        for r in np.unique(groups.root):
            members = np.flatnonzero(groups.root == r)
            if r != groups.reference and len(set(cls[members])) > 1:
                return f"group {members} mixes classes {set(cls[members])}"
    return None


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(sorted(PROBLEMS)),
    seed=st.integers(0, 1000),
    fraction=st.floats(0.2, 0.9),
    mode=st.sampled_from(["plain", "adaptive"]),
)
@example(kind="mdkp", seed=604, fraction=0.5, mode="plain")  # item 4 outweighs a capacity
def test_constraint_rules_never_allow_a_forbidden_merge(kind, seed, fraction, mode):
    """Random correlations propose any merge; the final groups must respect the problem."""
    problem = generate(kind, seed=seed, **PROBLEMS[kind])
    enc = get_encoder("qubo").encode(problem.program)
    rules = constraint_rules(problem, enc)
    target = max(1, int(round(fraction * enc.n_qubits)))
    shrunk = merge(enc.qubo, random_correlate(seed), target=target, mode=mode, every=3, rules=rules)
    assert forbidden(problem, enc, shrunk.groups) is None
    # the shrunken space still holds a feasible x (the enumerated-points guard)
    if shrunk.n_after <= 14:
        x = enc.decode(shrunk.expand(states(shrunk.n_after)))
        assert problem.is_feasible(x).any()
    # energy identity holds with rules too
    Y = states(min(shrunk.n_after, 10))
    Y = np.hstack([Y, np.zeros((len(Y), shrunk.n_after - Y.shape[1]))])
    np.testing.assert_allclose(
        shrunk.qubo.objective(Y), enc.qubo.objective(shrunk.expand(Y)), atol=1e-6, rtol=1e-12
    )


def test_without_rules_random_merges_do_break_constraints():
    """The check above is not vacuous: plain merging produces forbidden groups."""
    broken = 0
    for seed in range(10):
        problem = generate("qap", seed=seed, n=3)
        enc = get_encoder("qubo").encode(problem.program)
        shrunk = merge(enc.qubo, random_correlate(seed), target=4)
        broken += forbidden(problem, enc, shrunk.groups) is not None
    assert broken >= 5


def test_rules_on_hand_made_merges():
    # MIS path 0-1-2: an equal merge of adjacent 0, 1 is refused, of 0, 2 allowed; fixing
    # x1 = 1 is refused while a neighbour can still be 1, allowed once both are fixed to 0
    problem = MIS(nx.path_graph(3))
    enc = get_encoder("qubo").encode(problem.program)
    rules = constraint_rules(problem, enc)
    groups = Groups.identity(3)
    ref = groups.reference
    assert not rules.allows(groups, 0, 1, 0) and rules.allows(groups, 0, 1, 1)
    assert rules.allows(groups, 0, 2, 0)
    assert not rules.allows(groups, ref, 1, 1)
    groups.absorb(ref, 0, 0)
    assert not rules.allows(groups, ref, 1, 1)
    groups.absorb(ref, 2, 0)
    assert rules.allows(groups, ref, 1, 1)
    groups = Groups.identity(3)
    groups.absorb(0, 2, 1)  # x2 = 1 − x0: vertex 1 always has a neighbour at 1
    assert not rules.allows(groups, ref, 1, 1) and rules.allows(groups, ref, 1, 0)
    # MDKP: equal merge allowed only while the group fits; items never merge with slack
    problem = MDKP([5, 5, 5], [[4, 4, 3]], [7])
    enc = get_encoder("qubo").encode(problem.program)
    rules = constraint_rules(problem, enc)
    groups = Groups.identity(enc.n_qubits)
    assert not rules.allows(groups, 0, 1, 0) and rules.allows(groups, 0, 2, 0)  # 8 > 7, 7 <= 7
    assert rules.allows(groups, 0, 1, 1)
    slack = problem.n_vars
    assert not rules.allows(groups, 0, slack, 0)
    assert rules.allows(groups, slack, slack + 1, 0)
    assert rules.allows(groups, groups.reference, slack, 1)


def test_feasible_points_enumeration():
    assert feasible_points(generate("qap", n=3)).shape == (6, 9)
    mis = generate("mis", seed=0, n=8)
    pts = feasible_points(mis)
    assert pts.shape[1] == 8 and mis.is_feasible(pts).all()
    assert feasible_points(generate("mis", n=20)) is None
    assert feasible_points(generate("qap", n=9)) is None


#: feasible-before-repair counts of the comparison below (reported in the commit)
KINDS = {"mis": {"n": 14, "p": 0.3}, "mdkp": {"n": 8, "m": 2}, "qap": {"n": 4}}


def test_constraint_aware_shrinking_is_feasible_more_often():
    """Exact inner solver on QUBOs shrunk to 50%: aware >= plain per kind, > in total."""
    brute = get_solver("brute")
    counts = {}
    for kind, params in KINDS.items():
        for rules in ("none", "constraints"):
            feasible = 0
            for seed in range(10):
                problem = generate(kind, seed=seed, **params)
                enc = get_encoder("qubo").encode(problem.program)
                shrunk = shrink_problem(
                    problem, enc, rules=rules, target=0.5, correlations="sdp", seed=seed
                )
                assert shrunk.reached_target
                y = brute.solve(shrunk.qubo, seed=0).x
                feasible += finish(problem, enc, shrunk, y)["feasible_before_repair"]
            counts[kind, rules] = feasible
    print(counts)
    for kind in KINDS:
        assert counts[kind, "constraints"] >= counts[kind, "none"], kind
    assert counts["qap", "constraints"] == 10
    total = {r: sum(counts[k, r] for k in KINDS) for r in ("none", "constraints")}
    assert total["constraints"] > total["none"]
    assert counts == {
        ("mis", "none"): 10, ("mis", "constraints"): 10,
        ("mdkp", "none"): 10, ("mdkp", "constraints"): 10,
        ("qap", "none"): 6, ("qap", "constraints"): 10,
    }  # fmt: skip


def test_constraint_aware_shrinking_with_qaoa_correlations():
    """The same comparison with p = 1 QAOA correlations (QAP: 0 vs 10 feasible)."""
    brute = get_solver("brute")
    counts = {}
    for rules in ("none", "constraints"):
        feasible = 0
        for seed in range(10):
            problem = generate("qap", seed=seed, n=4)
            enc = get_encoder("qubo").encode(problem.program)
            shrunk = shrink_problem(
                problem, enc, rules=rules, target=0.5, correlations="qaoa", seed=seed
            )
            y = brute.solve(shrunk.qubo, seed=0).x
            feasible += finish(problem, enc, shrunk, y)["feasible_before_repair"]
        counts[rules] = feasible
    assert counts["constraints"] == 10 > counts["none"]


def test_rules_with_other_encodings_and_plain_programs():
    """Slack-free encodings, a program without a problem (generic), no constraints at all."""
    problem = generate("mdkp", seed=1, n=6, m=2)
    for name in ("unbalanced", "lagrangian"):
        enc = get_encoder(name).encode(problem.program)
        rules = constraint_rules(problem, enc)
        shrunk = merge(enc.qubo, random_correlate(1), target=2, rules=rules)
        assert forbidden(problem, enc, shrunk.groups) is None
    enc = get_encoder("qubo").encode(problem.program)
    rules = constraint_rules(None, enc)
    assert rules.kind == "generic" and rules.points is not None
    shrunk = merge(enc.qubo, random_correlate(2), target=8, rules=rules)
    assert forbidden(problem, enc, shrunk.groups) is None
    msp = generate("msp", seed=0, m=2, n=8)
    enc = get_encoder("qubo").encode(msp.program)
    shrunk = merge(enc.qubo, random_correlate(3), target=1, rules=constraint_rules(msp, enc))
    assert shrunk.reached_target  # nothing to refuse
