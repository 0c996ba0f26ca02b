"""qbench.interop: BinaryProgram <-> qiskit-optimization QuadraticProgram, checked by round trips
on every problem kind and by qiskit's own evaluation of objectives and constraints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qbench.errors import ConfigError
from qbench.interop import from_quadratic_program, to_quadratic_program
from qbench.pipeline import run
from qbench.spec import load_spec

pytest.importorskip("qiskit_optimization")

SPECS = [
    "mdkp:n=8,m=3,seed=1", "pet2", "1tc.8", "qap:n=3,seed=1", "tsp:n=4,seed=0",
    "tsp_degree:n=6,seed=0", "msp:m=2,n=6,seed=0",
]  # fmt: skip


def same_program(a, b) -> None:
    assert a.sense == b.sense and a.var_names == b.var_names and a.name == b.name
    np.testing.assert_allclose(a.linear, b.linear)
    np.testing.assert_allclose(a.quadratic.toarray(), b.quadratic.toarray())
    assert a.constant == pytest.approx(b.constant)
    np.testing.assert_allclose(a.A.toarray(), b.A.toarray())
    np.testing.assert_allclose(a.b, b.b)
    assert a.senses == b.senses and a.constraint_names == b.constraint_names


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_keeps_objective_and_constraints(spec):
    program = load_spec(spec).program
    qp = to_quadratic_program(program)
    back = from_quadratic_program(qp)
    same_program(program, back)
    # qiskit evaluates the same objective and the same feasibility
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, program.n_vars))
    for x in X:
        assert qp.objective.evaluate(x) == pytest.approx(program.objective(x))
        assert qp.is_feasible(x) == program.is_feasible(x)


def test_a_model_built_in_qiskit_optimization_runs_through_qbench():
    """A knapsack built with qiskit-optimization's own application class: qbench's MIP and
    brute force find the optimum that enumerating qiskit's model finds."""
    from qiskit_optimization.applications import Knapsack

    values, weights = [10, 13, 7, 8, 15, 4], [5, 6, 3, 4, 8, 2]
    qp = Knapsack(values, weights, max_weight=14).to_quadratic_program()
    best = max(
        qp.objective.evaluate(np.array(x))
        for x in itertools.product((0, 1), repeat=6)
        if qp.is_feasible(np.array(x))
    )
    program = from_quadratic_program(qp)
    for solver in ("mip", "brute"):
        row = run(program, solver)
        assert row["feasible"] and row["objective"] == pytest.approx(best)


def test_non_binary_models_are_refused_with_what_is_wrong():
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram("mixed")
    qp.binary_var("x")
    qp.integer_var(0, 3, "k")
    with pytest.raises(ConfigError, match="'mixed': variables k are not binary"):
        from_quadratic_program(qp)
    qp = QuadraticProgram("quad")
    qp.binary_var("x")
    qp.binary_var("y")
    qp.quadratic_constraint(quadratic={("x", "y"): 1}, sense="<=", rhs=0, name="q0")
    with pytest.raises(ConfigError, match="quadratic constraints \\(q0\\)"):
        from_quadratic_program(qp)
