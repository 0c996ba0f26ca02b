"""qiskit-optimization adapters: the independent reference the encoders are checked against.

qiskit-optimization is a test extra, not a runtime dependency, so it is imported inside the
functions. ``qiskit_qubo`` runs qiskit's own ``QuadraticProgramToQubo`` on the same program.
"""

from __future__ import annotations

from typing import Any

from qbench.program import BinaryProgram


def to_quadratic_program(program: BinaryProgram) -> Any:
    """The same program as a qiskit-optimization QuadraticProgram (same names, same order)."""
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram(name=program.name)
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


def qiskit_qubo(program: BinaryProgram, penalty: float | None = None) -> Any:
    """qiskit-optimization's QUBO of the program (``penalty=None``: its automatic penalty)."""
    from qiskit_optimization.converters import QuadraticProgramToQubo

    return QuadraticProgramToQubo(penalty=penalty).convert(to_quadratic_program(program))


def from_quadratic_program(qp: Any) -> BinaryProgram:
    """An unconstrained binary QuadraticProgram (e.g. a qiskit QUBO) as a BinaryProgram."""
    import scipy.sparse as sp

    n = qp.get_num_vars()
    if qp.get_num_binary_vars() != n or qp.linear_constraints or qp.quadratic_constraints:
        raise ValueError("expected an unconstrained QuadraticProgram over binary variables")
    sense = "min" if qp.objective.sense.value == 1 else "max"
    return BinaryProgram(
        linear=qp.objective.linear.to_array(),
        quadratic=sp.csr_matrix(qp.objective.quadratic.to_array()),
        constant=qp.objective.constant,
        sense=sense,
        var_names=[v.name for v in qp.variables],
        name=qp.name,
    )
