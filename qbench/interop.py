"""Interoperability: qbench's BinaryProgram to and from other tools' models.

qiskit-optimization's ``QuadraticProgram`` (an optional dependency: ``pip install
qiskit-optimization``, part of the test extra) in both directions, constraints included, so a
model built with qiskit-optimization runs through qbench's encoders and solvers
(``run(from_quadratic_program(qp), "mip")``) and a qbench problem goes to qiskit's
converters and algorithms (``to_quadratic_program(problem.program)``); ``qbench.pipeline.run``
takes the converted program as it takes a problem spec. Variables keep their
names and order; only binary variables, a linear or quadratic objective and linear
constraints exist on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.program import BinaryProgram

_INSTALL = "qiskit-optimization is not installed: pip install qiskit-optimization"


def _qiskit_optimization() -> Any:
    try:
        import qiskit_optimization
    except ImportError:
        raise ConfigError(_INSTALL) from None
    return qiskit_optimization


def to_quadratic_program(program: BinaryProgram) -> Any:
    """The same program as a qiskit-optimization QuadraticProgram (same names, same order)."""
    qp = _qiskit_optimization().QuadraticProgram(name=program.name)
    names = program.var_names
    for name in names:
        qp.binary_var(name)
    q = program.quadratic.tocoo()
    quadratic = {(names[i], names[j]): float(v) for i, j, v in zip(q.row, q.col, q.data)}
    linear = {names[i]: float(v) for i, v in enumerate(program.linear) if v != 0}
    objective = qp.minimize if program.sense == "min" else qp.maximize
    objective(constant=float(program.constant), linear=linear, quadratic=quadratic)
    A = program.A.tocsr()
    for r, (sense, rhs, cname) in enumerate(
        zip(program.senses, program.b, program.constraint_names)
    ):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        row = {names[j]: float(v) for j, v in zip(A.indices[lo:hi], A.data[lo:hi]) if v != 0}
        qp.linear_constraint(row, sense, float(rhs), name=cname)
    return qp


def from_quadratic_program(qp: Any) -> BinaryProgram:
    """A QuadraticProgram over binary variables with linear constraints (e.g. a qiskit QUBO,
    or a model built with qiskit-optimization) as a BinaryProgram; anything else (integer or
    continuous variables, quadratic constraints) is refused with what and where."""
    n = qp.get_num_vars()
    bad = [v.name for v in qp.variables if v.vartype.name != "BINARY"]
    if bad:
        raise ConfigError(
            f"QuadraticProgram {qp.name!r}: variables {', '.join(bad[:5])} are not binary "
            "(qbench programs are binary; convert integers first, e.g. with qiskit's "
            "IntegerToBinary)"
        )
    if qp.quadratic_constraints:
        names = ", ".join(c.name for c in qp.quadratic_constraints[:5])
        raise ConfigError(
            f"QuadraticProgram {qp.name!r}: quadratic constraints ({names}) are not supported; "
            "only linear constraints are"
        )
    rows = qp.linear_constraints
    A = sp.lil_matrix((len(rows), n))
    for r, con in enumerate(rows):
        for j, v in con.linear.to_dict().items():
            A[r, int(j)] = float(v)
    return BinaryProgram(
        linear=qp.objective.linear.to_array(),
        quadratic=sp.csr_matrix(qp.objective.quadratic.to_array()),
        constant=qp.objective.constant,
        A=A.tocsr(),
        b=np.array([float(c.rhs) for c in rows]),
        senses=tuple(c.sense.label for c in rows),
        sense="min" if qp.objective.sense.value == 1 else "max",
        var_names=[v.name for v in qp.variables],
        constraint_names=[c.name for c in rows],
        name=qp.name,
    )
