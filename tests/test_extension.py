"""A new component is its declaration plus one registry line: each test below declares a new
solver, backend or preprocessor in the test itself, registers it (monkeypatch), and runs it
through the pipeline, a suite and a dry run without touching any other module."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from qbench import preprocessing
from qbench.hardware import BACKENDS
from qbench.hardware.aer import statevector_bytes
from qbench.hardware.exact import ExactBackend
from qbench.pipeline import prepare, run
from qbench.plan import dry_run_row
from qbench.preprocessing import Preprocessor
from qbench.program import BinaryProgram
from qbench.solvers import SOLVERS, Solver, SolveResult, qaoa
from qbench.solvers.variational import common_params, work
from qbench.suite import load_suite


def greedy(target, *, seed=None, passes=1):
    """A classical heuristic on the problem itself: add items by index while feasible."""
    x = np.zeros(target.n_vars, dtype=np.int8)
    for _ in range(passes):
        for i in range(target.n_vars):
            x[i] = 1
            if not target.is_feasible(x):
                x[i] = 0
    return SolveResult(x=x, status="feasible", n_evaluations=target.n_vars)


GREEDY = Solver(name="greedy", params=(qaoa.Param("passes", int, 1, "sweeps"),),
                description="add items by index while feasible", solve=greedy)  # fmt: skip

TOY_QAOA = Solver(
    name="toy_qaoa", params=(qaoa.Param("p", int, 1, "layers"), *common_params()),
    description="plain QAOA under another name", solve=qaoa.solve,
    needs_qubo=True, ansatz="qaoa", work=work,
)  # fmt: skip


class TwinBackend(ExactBackend):
    """The exact simulator under another name (a new backend class)."""

    name = "twin"


@dataclass
class Fixed:
    """Fix qubit 0 to 0: the QUBO without it, and the way back."""

    qubo: BinaryProgram
    shrink_ratio: float

    def expand(self, y: np.ndarray) -> np.ndarray:
        y = np.atleast_2d(y)
        out = np.hstack([np.zeros((y.shape[0], 1)), y]).astype(np.int8)
        return out[0] if out.shape[0] == 1 else out


def fix_first(problem, encoding, options, seed) -> Fixed:
    q = encoding.qubo
    sub = BinaryProgram(linear=q.linear[1:], quadratic=q.quadratic[1:, 1:], constant=q.constant)
    return Fixed(sub, sub.n_vars / q.n_vars)


FIX_FIRST = Preprocessor(
    name="fix", params=(), description="fix qubit 0 to 0", options=lambda raw: {},
    label=lambda options: "fix", labels=("fix",), size=lambda options, n, problem: n - 1,
    apply=fix_first,
)  # fmt: skip


def test_a_new_classical_solver(monkeypatch, tmp_path):
    monkeypatch.setitem(SOLVERS, "greedy", GREEDY)
    row = run("pet3", solver="greedy", params={"passes": "2"})
    assert row["status"] == "ok" and row["feasible"] and row["solver"] == "greedy"
    assert row["backend"] == "classical" and row["n_evaluations"] == row["n_vars"]
    assert dry_run_row(prepare("pet3", "greedy"))["memory_bytes"] is None
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "s"\ninstances = ["pet3"]\n[[solvers]]\nname = "greedy"\npasses = [1, 2]\n'
    )
    assert len(load_suite(suite, out=tmp_path / "out").runs) == 2


def test_a_new_quantum_solver(monkeypatch):
    monkeypatch.setitem(SOLVERS, "toy_qaoa", TOY_QAOA)
    row = run("1tc.8", solver="toy_qaoa", params={"maxiter": 5})  # gets the qubo encoder
    assert (
        row["encoder"] == "qubo" and row["n_qubits"] == 8 and row["status"] in ("ok", "infeasible")
    )
    facts = dry_run_row(prepare("1tc.8", "toy_qaoa", {"backend": "aer_statevector"}))
    assert facts["memory_bytes"] == statevector_bytes(8) and facts["fits"]


def test_a_new_backend(monkeypatch):
    monkeypatch.setitem(BACKENDS, "twin", TwinBackend)
    row = run("1tc.8", solver="qaoa", params={"backend": "twin", "maxiter": 5})
    same = run("1tc.8", solver="qaoa", params={"backend": "exact", "maxiter": 5})
    assert row["backend"] == "twin" and row["objective"] == same["objective"]
    facts = dry_run_row(prepare("1tc.8", "qaoa", {"backend": "twin"}))
    assert facts["memory_bytes"] == dry_run_row(prepare("1tc.8", "qaoa"))["memory_bytes"]


def test_a_new_preprocessor(monkeypatch):
    monkeypatch.setitem(preprocessing.PREPROCESSORS, "fix", FIX_FIRST)
    row = run("1tc.8", solver="brute", encoder="qubo", preprocess="fix")
    assert row["preprocess"] == "fix" and row["n_qubits"] == 7 and row["n_qubits_before"] == 8
    assert row["repaired"] is not None and row["feasible"]
    assert dry_run_row(prepare("1tc.8", "qaoa", preprocess="fix"))["n_qubits"] == 7
    with pytest.raises(Exception, match="fix.x given without preprocess 'fix'"):
        prepare("1tc.8", "qaoa", {"fix.x": 1})
