"""unbalanced encoder: no slack qubits, the paper's energy formula, measured feasibility."""

import numpy as np
import pytest
import scipy.sparse as sp

from qbench.encoders import qubo as qubo_encoder
from qbench.encoders.ising import cost_vector
from qbench.encoders.unbalanced import DEFAULT_LAM1, DEFAULT_LAM2, ENCODER, encode, tune
from qbench.errors import ConfigError, ResourceError
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.qap import QAP
from qbench.program import BinaryProgram
from qbench.solvers.brute import solve


def minimiser(enc) -> np.ndarray:
    s = int(np.argmin(cost_vector(enc.qubo)))
    return enc.decode((s >> np.arange(enc.n_qubits)) & 1)


def direct_energy(program, X, lam1, lam2, lam_eq, scale):
    """The paper's energy written out row by row, independently of the encoder's algebra."""
    sign = 1.0 if program.sense == "min" else -1.0
    energy = sign * program.objective(X)
    coeffs = np.concatenate([program.linear, program.quadratic.data])
    unit = np.abs(coeffs[coeffs != 0]).mean() if scale == "mean" else 1.0
    A = program.A.toarray()
    for a, b, sense in zip(A, program.b, program.senses):
        activity = X @ a
        if sense == "==":
            energy = energy + lam_eq * (activity - b) ** 2
            continue
        h = b - activity if sense == "<=" else activity - b
        w = np.abs(a[a != 0]).mean() if scale == "mean" else 1.0
        energy = energy + unit * (-lam1 * h / w + lam2 * (h / w) ** 2)
    return energy


@pytest.mark.parametrize("scale", ["mean", "none"])
@pytest.mark.parametrize("seed", range(4))
def test_energy_is_the_papers_formula(seed, scale):
    rng = np.random.default_rng(seed)
    n, m = 7, 4
    program = BinaryProgram(
        linear=rng.normal(size=n) * 5,
        quadratic=sp.csr_matrix(np.triu(rng.normal(size=(n, n)), k=1)),
        constant=1.0,
        A=sp.csr_matrix(rng.normal(size=(m, n)).round(2)),  # real coefficients: no slack needed
        b=rng.normal(size=m),
        senses=("<=", ">=", "==", "<="),
        sense=("min", "max")[seed % 2],
    )
    enc = encode(program, lam1=0.7, lam2=0.3, lam_eq=4.0, scale=scale)
    assert enc.n_qubits == n and enc.n_slack == 0 and enc.metadata["rows"]["dropped"] == 0
    X = rng.integers(0, 2, size=(64, n)).astype(float)
    expected = direct_energy(program, X, 0.7, 0.3, 4.0, scale)
    assert np.allclose(enc.energy(X), expected)
    assert enc.metadata["lam1"] == 0.7 and enc.metadata["lam2"] == 0.3
    assert enc.metadata["lam_eq"] == 4.0 and enc.metadata["scale"] == scale


def test_no_slack_qubits_on_the_knapsack_and_defaults():
    problem = MDKP.generate(seed=3, n=28, m=4)
    enc = encode(problem)
    assert enc.n_qubits == 28 and enc.n_slack == 0
    assert enc.metadata["lam1"] == DEFAULT_LAM1 == 0.96
    assert enc.metadata["lam2"] == DEFAULT_LAM2 == 0.0371
    assert enc.metadata["objective_unit"] == pytest.approx(problem.profits.mean())
    assert enc.metadata["row_units"]["cap0"] == pytest.approx(
        problem.weights[0][problem.weights[0] > 0].mean()
    )
    X = np.random.default_rng(0).integers(0, 2, size=(32, 28)).astype(float)
    assert np.allclose(enc.energy(X), direct_energy(problem.program, X, 0.96, 0.0371, 0, "mean"))


@pytest.mark.parametrize(("m", "at_least"), [(2, 0.9), (3, 0.9)])
def test_default_minimiser_is_feasible_for_most_knapsacks(m, at_least):
    """Measured with the defaults on 30 Chu–Beasley instances, n = 10: m = 2 and m = 3 both
    100 % feasible (m = 1: 63 %); the ground state is rarely the exact optimum."""
    feasible = 0
    for seed in range(30):
        problem = MDKP.generate(seed=seed, n=10, m=m)
        feasible += bool(problem.is_feasible(minimiser(encode(problem))))
    assert feasible / 30 >= at_least


def test_tune_finds_a_feasible_pair_at_least_as_good_as_the_default():
    for seed in range(5):
        problem = MDKP.generate(seed=seed, n=10, m=1)
        best = solve(problem).objective
        tuned = tune(problem)
        assert tuned["feasible"]
        assert tuned["objective"] <= best + 1e-9
        x = minimiser(encode(problem, lam1=tuned["lam1"], lam2=tuned["lam2"]))
        assert problem.is_feasible(x)
        assert problem.objective(x) == pytest.approx(tuned["objective"])
        x_default = minimiser(encode(problem))
        if problem.is_feasible(x_default):
            assert tuned["objective"] >= problem.objective(x_default)
    with pytest.raises(ResourceError, match="max_vars"):
        tune(MDKP.generate(seed=0, n=30, m=1))


def test_pattern_and_equality_rows_match_the_qubo_encoder():
    # MIS edges are x_u + x_v <= 1 patterns and QAP rows are equalities: same QUBO as 'qubo'
    for program in (MIS.generate(seed=2, n=9).program, QAP.generate(seed=1, n=3).program):
        for lam_eq in ("auto", "tight", 3.0):
            ours = encode(program, lam_eq=lam_eq).qubo
            ref = qubo_encoder.encode(program, penalty=lam_eq).qubo
            assert np.allclose(ours.linear, ref.linear) and ours.constant == ref.constant
            assert np.allclose(ours.quadratic.toarray(), ref.quadratic.toarray())
    enc = encode(MIS.generate(seed=2, n=9), lam_eq="tight")
    assert enc.metadata["lam_eq"] == 2.0 and problem_is_valid(enc)


def problem_is_valid(enc) -> bool:
    x = minimiser(enc)
    return (
        bool(enc.program.is_feasible(x))
        and enc.program.objective(x) == solve(enc.program).objective
    )


def test_redundant_rows_are_dropped():
    program = BinaryProgram(
        linear=[1, 2, 3], A=sp.csr_matrix([[1, 1, 1], [2, 2, 1]]), b=[5, 3], senses=("<=", "<="),
        sense="max",
    )  # fmt: skip
    enc = encode(program)
    assert enc.metadata["rows"]["dropped"] == 1 and list(enc.metadata["row_units"]) == ["c1"]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lam1": -1}, "lam1 must be a non-negative number"),
        ({"lam2": "x"}, "lam2 must be a non-negative number"),
        ({"scale": "max"}, "scale 'max' not allowed"),
        ({"lam_eq": 0}, "positive number"),
    ],
)
def test_bad_parameters_are_refused(params, match):
    with pytest.raises(ConfigError, match=match):
        encode(MDKP.generate(seed=0, n=5, m=1), **params)


def test_declared_parameters():
    params = ENCODER.parse_params({"lam1": "1.25", "lam2": "1"})
    assert params == {"lam1": 1.25, "lam2": 1.0, "lam_eq": "auto", "scale": "mean"}
    with pytest.raises(ConfigError, match="allowed: mean, none"):
        ENCODER.parse_params({"scale": "raw"})
    assert ENCODER.encode(MDKP.generate(seed=0, n=6, m=2), **params).n_qubits == 6
