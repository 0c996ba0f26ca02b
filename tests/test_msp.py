"""MSP: generator, squared QUBO surrogate and the .msp format specifics.

The contract every problem shares (round trips, malformed files, generator seeding and parameters,
vectorised evaluation, random-bitstring repair, constructor, program shape) is tested once for all
five in test_problem_contract.py.
"""

import itertools
from pathlib import Path

import numpy as np
import pytest

import qbench.problems as problems
from qbench.errors import ConfigError
from qbench.problems.msp import MSP


def all_bitstrings(n: int) -> np.ndarray:
    """Every x in {0,1}^n as rows, in itertools.product order."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)


def squared_deviation(demands, targets, x) -> float:
    """sum_i (d_i·x - b_i)² as plain Python loops."""
    total = 0
    for row, b in zip(demands.tolist(), targets.tolist()):
        total += (sum(d * int(v) for d, v in zip(row, x)) - b) ** 2
    return float(total)


def test_generate_follows_cornuejols_dawande():
    p = MSP.generate(seed=5, m=4)
    assert p.size() == {"m": 4, "n": 30}  # n = 10(m-1)
    assert p.demands.shape == (4, 30) and p.demands.dtype.kind == "i"
    assert p.demands.min() >= 0 and p.demands.max() <= 99
    assert p.demands.max() > 80  # uniform on 0..99: 120 draws reach the top range
    np.testing.assert_array_equal(p.targets, p.demands.sum(axis=1) // 2)
    assert p.name == "msp-m4-n30-s5" and p.best_known is None
    assert p.sense == "min" and p.kind == "msp" and p.extension == ".msp"


def test_generate_explicit_sizes_and_max_demand():
    p = MSP.generate(seed=0, m=1, n=7, max_demand=3)
    assert p.size() == {"m": 1, "n": 7}
    assert set(np.unique(p.demands)) <= {0, 1, 2, 3}
    assert p.name == "msp-m1-n7-d3-s0"


def test_registry_generates_and_coerces_text_parameters():
    p = problems.generate("msp", seed=3, m="2", n="8")
    assert isinstance(p, MSP) and p.size() == {"m": 2, "n": 8}
    assert problems.problem_class("msp") is MSP


def test_deviations_are_the_signed_row_residuals():
    """The objective (total absolute deviation, vectorised): test_problem_contract."""
    p = MSP.generate(seed=2, m=3, n=9)
    X = all_bitstrings(9)
    np.testing.assert_array_equal(p.deviations(X[7]), p.demands @ X[7] - p.targets)


def test_every_bitstring_is_feasible_and_repair_is_identity():
    p = MSP.generate(seed=0, m=2, n=6)
    X = all_bitstrings(6)
    assert np.all(p.is_feasible(X)) and p.is_feasible(X[3]) is True
    np.testing.assert_array_equal(p.violations(X), 0.0)
    assert np.all(p.program.is_feasible(X))
    x = np.array([1, 0, 1, 1, 0, 0])
    fixed = p.repair(x)
    assert fixed.dtype == np.int8
    np.testing.assert_array_equal(fixed, x)


def test_program_is_the_squared_deviation_qubo():
    p = MSP.generate(seed=4, m=3, n=10)
    prog = p.to_program()
    assert prog.sense == "min" and prog.n_constraints == 0 and prog.n_vars == 10
    X = all_bitstrings(10)
    expected = [squared_deviation(p.demands, p.targets, x) for x in X]
    np.testing.assert_allclose(prog.objective(X), expected, rtol=0, atol=1e-6)
    assert prog.constant == float(p.targets @ p.targets)


def test_surrogate_minimisers_coincide_with_a_perfect_split():
    rng = np.random.default_rng(11)
    demands = rng.integers(0, 20, size=(3, 10))
    planted = rng.integers(0, 2, size=10)
    p = MSP(demands, demands @ planted)
    X = all_bitstrings(10)
    abs_values, sq_values = p.objective(X), p.program.objective(X)
    assert abs_values.min() == 0 == sq_values.min()
    np.testing.assert_array_equal(abs_values == 0, np.isclose(sq_values, 0))
    assert p.objective(planted) == 0


def test_surrogate_can_disagree_without_a_perfect_split():
    # x=0 deviates (-3, 0): |.| sum 3, squares 9; x=1 deviates (2, 2): |.| sum 4, squares 8
    p = MSP([[5], [2]], [3, 0])
    X = np.array([[0.0], [1.0]])
    np.testing.assert_array_equal(p.objective(X), [3, 4])
    np.testing.assert_array_equal(p.program.objective(X), [9, 8])


def test_write_puts_the_sizes_after_the_comments(tmp_path):
    """The read-back (data, name, best known, the registry's reading): test_problem_contract."""
    p = MSP.generate(seed=9, m=3, n=12)
    p.best_known = 4
    path = tmp_path / "inst.msp"
    p.write(path)
    lines = path.read_text().splitlines()
    assert lines[2] == "3 12" and len(lines[3].split()) == 13


def test_write_read_without_comments_uses_file_stem(tmp_path):
    p = MSP([[1, 2, 3], [4, 5, 6]], [3, 7])
    path = tmp_path / "plain.msp"
    p.write(path)
    assert path.read_text() == "2 3\n1 2 3 3\n4 5 6 7\n"
    q = MSP.read(path)
    assert q.name == "plain" and q.best_known is None
    np.testing.assert_array_equal(q.demands, p.demands)


def test_read_accepts_comments_and_blank_lines(tmp_path):
    path = tmp_path / "c.msp"
    path.write_text("# a QOBLIB-like file\n\n# best_known 1\n1 2   # sizes\n\n3 4 3\n\n")
    q = MSP.read(path)
    np.testing.assert_array_equal(q.demands, [[3, 4]])
    np.testing.assert_array_equal(q.targets, [3])
    assert q.best_known == 1.0


def test_write_refuses_multiline_name(tmp_path):
    p = MSP([[1]], [0], name="a\nb")
    with pytest.raises(ValueError, match="single line"):
        p.write(Path(tmp_path) / "x.msp")


#: the comparative study's CPLEX optima (arXiv:2503.12121, the authors' Market_Share results):
#: (m, seed) -> minimal total absolute deviation, proven optimal
PUBLISHED_OPTIMA = {
    (2, 0): 3, (2, 1): 3, (2, 2): 7, (2, 3): 3, (2, 4): 6,
    (3, 0): 3, (3, 1): 2, (3, 2): 3, (3, 3): 3, (3, 4): 2,
}  # fmt: skip


@pytest.mark.parametrize(("m", "seed"), sorted(PUBLISHED_OPTIMA))
def test_legacy_seeding_regenerates_the_comparative_study_s_instances(m, seed):
    """numpy.random.seed(s); randint(0, 100, (m, 10(m-1))); targets int(0.5 · row sum): the
    MIP's optimum of each regenerated instance is the published one."""
    from qbench.pipeline import run

    problem = MSP.generate(seed=seed, m=m, rng="legacy")
    state = np.random.get_state()  # noqa: NPY002  (the authors' global calls, then put back)
    np.random.seed(seed)  # noqa: NPY002
    expected = np.random.randint(0, 100, (m, 10 * (m - 1)))  # noqa: NPY002
    np.random.set_state(state)  # noqa: NPY002
    np.testing.assert_array_equal(problem.demands, expected)
    np.testing.assert_array_equal(problem.targets, (0.5 * expected.sum(axis=1)).astype(int))
    assert problem.name == f"msp-m{m}-n{10 * (m - 1)}-legacy-s{seed}"
    row = run(f"msp:m={m},seed={seed},rng=legacy", "mip")
    assert row["status"] == "ok" and row["objective"] == PUBLISHED_OPTIMA[(m, seed)]


def test_the_default_stream_is_unchanged_by_the_legacy_option():
    a, b = MSP.generate(seed=3, m=2), MSP.generate(seed=3, m=2, rng="default")
    np.testing.assert_array_equal(a.demands, b.demands)
    assert not np.array_equal(a.demands, MSP.generate(seed=3, m=2, rng="legacy").demands)
    with pytest.raises(ConfigError, match="unknown rng 'mt'; allowed: default, legacy"):
        MSP.generate(seed=3, m=2, rng="mt")


# -- the comparative study's absolute-deviation QUBO with slack (encoder.deviation = "slack")


def _slack_encoding(problem, penalty="tight"):
    from qbench.encoders import get_encoder

    return get_encoder("qubo").encode(problem, deviation="slack", penalty=penalty)


@pytest.mark.parametrize("penalty", ["tight", "auto", 1.5])
def test_slack_deviation_energy_with_best_slack_is_the_absolute_deviation(penalty):
    """Brute force over every (x, slack): min over the slack bits of the QUBO energy equals
    Σ_i |d_i·x − b_i| for every x, so the QUBO's minimisers are the problem's optima."""
    problem = MSP(np.array([[2, 1, 2], [1, 2, 0]]), np.array([2, 1]))
    enc = _slack_encoding(problem, penalty)
    assert enc.n_qubits == 3 + 2 * 3 + 2 * 2  # U = 5 → 3 bits, U = 3 → 2 bits, s+ and s−
    Y = all_bitstrings(enc.n_qubits)
    energy = enc.energy(Y)
    for x in all_bitstrings(3):
        rows = np.all(Y[:, :3] == x, axis=1)
        assert energy[rows].min() == pytest.approx(problem.objective(x))
    best = Y[np.argmin(energy), :3]
    assert problem.objective(best) == min(problem.objective(all_bitstrings(3)))


def test_slack_deviation_matches_the_paper_s_qubit_counts_and_penalties():
    """The paper's m = 2..5 instances need 48–156 qubits (m = 2: 46–50 over seeds 0..4);
    auto is qiskit's 1 + Σ 2U_i, tight is 2."""
    counts = {m: [_slack_encoding(MSP.generate(seed=s, m=m, rng="legacy")).n_qubits
                  for s in range(5)] for m in (2, 5)}  # fmt: skip
    assert counts[2] == [50, 46, 48, 46, 48]
    assert max(counts[5]) == 156
    problem = MSP.generate(seed=0, m=2, rng="legacy")
    auto = _slack_encoding(problem, "auto")
    assert auto.metadata["penalty"] == 1 + 2 * problem.demands.sum()
    assert _slack_encoding(problem).metadata["penalty"] == 2.0
    assert auto.n_vars == problem.n_vars and auto.metadata["deviation"] == "slack"


def test_slack_deviation_is_refused_where_the_objective_has_no_deviations():
    from qbench.encoders import get_encoder
    from qbench.problems.mdkp import MDKP

    with pytest.raises(ConfigError, match="deviation='slack'.*mdkp.*deviation='squared'"):
        get_encoder("qubo").encode(MDKP.generate(n=4, m=1), deviation="slack")


def test_deviation_at_its_default_leaves_run_ids_unchanged():
    """A parameter added after runs were stored stays out of the id at its default."""
    from qbench.pipeline import prepare

    plain = prepare("msp:m=2,n=6", "sa", {}, 0, "qubo")
    squared = prepare("msp:m=2,n=6", "sa", {"encoder.deviation": "squared"}, 0, "qubo")
    slack = prepare("msp:m=2,n=6", "sa", {"encoder.deviation": "slack"}, 0, "qubo")
    assert plain.run_id == squared.run_id != slack.run_id
    assert "encoder.deviation" not in plain.config["params"]
