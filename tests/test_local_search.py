"""One round of problem-aware local search (the comparative study's post-processing): never
worse, never infeasible, recorded beside the solver's own answer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qbench.answers import unpack_bits
from qbench.errors import ConfigError
from qbench.pipeline import prepare, run
from qbench.suite import load_suite

SPECS = ["pet3", "mdkp:n=20,m=3,seed=2", "1tc.16", "mis:n=14,seed=3", "nug12", "burma14",
         "msp:m=3,seed=1,rng=legacy"]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
def test_never_worse_and_never_infeasible(spec):
    problem = prepare(spec).problem
    sign = 1 if problem.sense == "max" else -1
    rng = np.random.default_rng(7)
    for _ in range(5):
        x = problem.repair(rng.integers(0, 2, problem.n_vars))
        y = problem.local_search(x)
        assert problem.is_feasible(y)
        assert sign * problem.objective(y) >= sign * problem.objective(x)
    bad = np.ones(problem.n_vars, dtype=np.int8)
    if not problem.is_feasible(bad):  # an infeasible answer is left alone
        np.testing.assert_array_equal(problem.local_search(bad), bad)


def test_from_nothing_a_round_reaches_a_maximal_set_and_a_full_knapsack():
    for spec in ("mis:n=14,seed=3", "pet3"):
        problem = prepare(spec).problem
        y = problem.local_search(np.zeros(problem.n_vars, dtype=np.int8))
        for i in np.flatnonzero(y == 0):  # no single item can be added any more
            more = y.copy()
            more[i] = 1
            assert not problem.is_feasible(more), (spec, i)


def test_a_permutation_round_beats_every_exchange_of_the_first_item():
    problem = prepare("nug12").problem
    perm = np.arange(12)
    x = problem.perm_to_x(perm)
    swaps = []
    for j in range(1, 12):
        p = perm.copy()
        p[[0, j]] = p[[j, 0]]
        swaps.append(problem.permutation_costs(p[None, :])[0])
    y = problem.local_search(x)
    assert problem.objective(y) <= min(min(swaps), problem.objective(x))
    assert sorted(problem.x_to_perm(y)) == list(range(12))  # still a permutation


def test_brute_force_on_a_tiny_knapsack_agrees_with_the_move_rules():
    """From every feasible x of a 6-item knapsack: the result is x or a better feasible point
    within Hamming distance 2 per accepted move, and exactly x when no flip or swap helps."""
    problem = prepare("mdkp:n=6,m=1,seed=1").problem
    for bits in itertools.product((0, 1), repeat=6):
        x = np.array(bits, dtype=np.int8)
        if not problem.is_feasible(x):
            continue
        flips = [x ^ np.eye(6, dtype=np.int8)[i] for i in range(6)]
        swaps = [x ^ np.eye(6, dtype=np.int8)[i] ^ np.eye(6, dtype=np.int8)[j]
                 for i in range(6) for j in range(6) if x[i] and not x[j]]  # fmt: skip
        better = [
            z
            for z in flips + swaps
            if problem.is_feasible(z) and problem.objective(z) > problem.objective(x)
        ]
        y = problem.local_search(x)
        if better:
            assert problem.objective(y) > problem.objective(x)
        else:
            np.testing.assert_array_equal(y, x)


def test_runs_record_the_solver_s_answer_and_the_searched_one():
    params = {"num_reads": 1, "num_sweeps": 1}
    plain = run("pet3", "sa", params)
    row = run("pet3", "sa", params, local_search=True)
    assert row["run_id"] != plain["run_id"]
    assert row["run_id"] == prepare("pet3", "sa", params, local_search=True).run_id
    assert (row["objective_raw"], row["gap_pct_raw"]) == (plain["objective"], plain["gap_pct"])
    assert row["objective"] > row["objective_raw"] and row["gap_pct"] < row["gap_pct_raw"]
    x = unpack_bits(row["answer"]["x"])
    x_raw = unpack_bits(row["answer"]["x_raw"])
    assert int(np.count_nonzero(x != x_raw)) == row["local_moves"] > 0
    assert plain["local_moves"] is None


def test_suites_take_local_search_and_refuse_other_values(tmp_path):
    base = 'name = "ls"\ninstances = ["pet3"]\n[[solvers]]\nname = "sa"\nnum_reads = 1\n'
    path = tmp_path / "s.toml"
    path.write_text("local_search = true\n" + base)
    suite = load_suite(path)
    assert all(r.local_search for r in suite.runs)
    assert suite.runs[0].prepare().local_search
    path.write_text('local_search = "yes"\n' + base)
    with pytest.raises(ConfigError, match="local_search: must be true or false, got 'yes'"):
        load_suite(path)


def _naive_best_move(problem, x):
    """The paper's one move as plain loops: every flip and every 1-out/1-in swap, ranked
    feasible first, then least violation, then best objective; x itself wins ties."""
    sign = 1.0 if problem.sense == "max" else -1.0

    def key(y):
        feasible = bool(problem.is_feasible(y))
        violation = 0.0 if feasible else float(problem.violations(y))
        return (not feasible, violation, -round(sign * float(problem.objective(y)), 9))

    best, best_key = x.copy(), key(x)
    n = x.size
    neighbours = []
    for i in range(n):
        y = x.copy()
        y[i] ^= 1
        neighbours.append(y)
    for i, j in itertools.product(np.flatnonzero(x == 1), np.flatnonzero(x == 0)):
        y = x.copy()
        y[i], y[j] = 0, 1
        neighbours.append(y)
    for y in neighbours:
        if key(y) < best_key:
            best, best_key = y, key(y)
    return best


@pytest.mark.parametrize("spec", ["mdkp:n=10,m=2,seed=3", "mis:n=9,seed=2", "msp:m=2,n=8"])
def test_the_paper_s_single_move_matches_a_loop_over_every_neighbour(spec):
    problem = prepare(spec, "sa").problem
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = rng.integers(0, 2, problem.n_vars).astype(np.int8)
        moved = problem.best_move(x)
        naive = _naive_best_move(problem, x)
        assert int(np.count_nonzero(moved != x)) <= 2
        assert float(problem.objective(moved)) == pytest.approx(float(problem.objective(naive)))
        assert bool(problem.is_feasible(moved)) == bool(problem.is_feasible(naive))


def test_runs_record_the_paper_s_single_move_beside_the_round():
    row = run("pet3", "sa", {"num_reads": 1, "num_sweeps": 1}, local_search=True)
    assert row["feasible_raw"] and row["feasible_move"]
    assert row["gap_pct"] <= row["gap_pct_move"] < row["gap_pct_raw"]
