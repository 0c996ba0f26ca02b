"""MSP: generator, absolute-deviation objective, squared QUBO surrogate and the .msp format."""

import itertools
from pathlib import Path

import numpy as np
import pytest

import qbench.problems as problems
from qbench.errors import ConfigError, InstanceFormatError
from qbench.problems.msp import MSP


def all_bitstrings(n: int) -> np.ndarray:
    """Every x in {0,1}^n as rows, in itertools.product order."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)


def abs_deviation(demands, targets, x) -> float:
    """sum_i |d_i·x - b_i| written as plain Python loops (independent reference)."""
    total = 0
    for row, b in zip(demands.tolist(), targets.tolist()):
        total += abs(sum(d * int(v) for d, v in zip(row, x)) - b)
    return float(total)


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


def test_generate_is_deterministic_and_seed_dependent():
    a, b, c = MSP.generate(seed=1), MSP.generate(seed=1), MSP.generate(seed=2)
    np.testing.assert_array_equal(a.demands, b.demands)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.demands, c.demands)


def test_generate_explicit_sizes_and_max_demand():
    p = MSP.generate(seed=0, m=1, n=7, max_demand=3)
    assert p.size() == {"m": 1, "n": 7}
    assert set(np.unique(p.demands)) <= {0, 1, 2, 3}
    assert p.name == "msp-m1-n7-d3-s0"


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"m": 0}, "m must be an integer >= 1"),
        ({"m": 2, "n": 0}, "n must be an integer >= 1"),
        ({"m": 1}, "n must be given for m=1"),
        ({"max_demand": -1}, "max_demand must be an integer >= 0"),
        ({"m": 2.5}, "m must be an integer"),
        ({"n": True}, "n must be an integer"),
    ],
)
def test_generate_rejects_bad_parameters(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        MSP.generate(**params)


def test_registry_generates_and_coerces_text_parameters():
    p = problems.generate("msp", seed=3, m="2", n="8")
    assert isinstance(p, MSP) and p.size() == {"m": 2, "n": 8}
    assert problems.problem_class("msp") is MSP


def test_objective_is_total_absolute_deviation_vectorised():
    p = MSP.generate(seed=2, m=3, n=9)
    X = all_bitstrings(9)
    expected = [abs_deviation(p.demands, p.targets, x) for x in X]
    np.testing.assert_array_equal(p.objective(X), expected)
    assert p.objective(X[5]) == expected[5] and isinstance(p.objective(X[5]), float)
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


def test_constructor_validates():
    with pytest.raises(ValueError, match="one per row"):
        MSP([[1, 2]], [1, 2])
    with pytest.raises(ValueError, match="integers"):
        MSP([[1.5, 2]], [1])
    with pytest.raises(ValueError, match="non-negative"):
        MSP([[1, -2]], [1])
    with pytest.raises(ValueError, match="non-empty"):
        MSP(np.zeros((1, 0), dtype=int), [0])


def test_write_read_round_trip(tmp_path):
    p = MSP.generate(seed=9, m=3, n=12)
    p.best_known = 4
    path = tmp_path / "inst.msp"
    p.write(path)
    q = MSP.read(path)
    np.testing.assert_array_equal(q.demands, p.demands)
    np.testing.assert_array_equal(q.targets, p.targets)
    assert q.name == p.name and q.best_known == 4.0
    assert problems.read(path).name == p.name  # recognised by its extension
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


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("", None, "expected the sizes"),
        ("# only a comment\n", 1, "expected the sizes"),
        ("2\n", 1, "expected the sizes 'm n' (2 numbers), got 1"),
        ("2 3 4\n", 1, "got 3"),
        ("0 3\n", 1, "number of rows m must be >= 1"),
        ("2 -1\n", 1, "number of variables n must be >= 1"),
        ("2 x\n", 1, "expected an integer for the number of variables n, got 'x'"),
        ("2 3\n1 2 3 4\n", 2, "file ends early: expected 2 rows"),
        ("2 3\n", 1, "file ends early"),
        ("2 3\n1 2 3 4\n1 2 3\n", 3, "row 2 has 3 numbers, expected 4"),
        ("2 3\n1 2 3 4 5\n1 2 3\n", 2, "row 1 has 5 numbers, expected 4"),
        ("1 2\n1 -2 3\n", 2, "demand d[1,2] must be >= 0"),
        ("1 2\n1 2 -3\n", 2, "target b[1] must be >= 0"),
        ("1 2\n1 a 3\n", 2, "expected an integer for demand d[1,2], got 'a'"),
        ("1 2\n1 2.5 3\n", 2, "expected an integer"),
        ("1 2\n1 2 3\n\n4 5 6\n", 4, "unexpected extra data '4 5 6'"),
        ("# best_known abc\n1 1\n1 1\n", 1, "expected a number for best_known"),
        ("# best_known\n1 1\n1 1\n", 1, "expected one number after best_known"),
        ("# best_known 1\n# best_known 2\n1 1\n1 1\n", 2, "duplicate best_known"),
    ],
)
def test_read_errors_name_file_line_and_reason(tmp_path, text, line, fragment):
    path = tmp_path / "bad.msp"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as info:
        MSP.read(path)
    err = info.value
    assert fragment in str(err)
    assert err.path == str(path) and err.line == line


def test_read_missing_and_binary_files(tmp_path):
    with pytest.raises(InstanceFormatError, match="cannot read file"):
        MSP.read(tmp_path / "missing.msp")
    binary = tmp_path / "bin.msp"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InstanceFormatError, match="not a text file"):
        MSP.read(binary)


def test_write_refuses_multiline_name(tmp_path):
    p = MSP([[1]], [0], name="a\nb")
    with pytest.raises(ValueError, match="single line"):
        p.write(Path(tmp_path) / "x.msp")
