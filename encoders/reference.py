"""qiskit-optimization adapters: the independent reference the encoders are checked against.

qiskit-optimization is a test extra, not a runtime dependency, so it is imported inside the
functions. ``qiskit_qubo`` runs qiskit's own ``QuadraticProgramToQubo`` on the same program;
the converters themselves are public in :mod:`qbench.interop`.
"""

from __future__ import annotations

from typing import Any

from qbench.interop import from_quadratic_program, to_quadratic_program
from qbench.program import BinaryProgram

__all__ = ["from_quadratic_program", "qiskit_qubo", "to_quadratic_program"]


def qiskit_qubo(program: BinaryProgram, penalty: float | None = None) -> Any:
    """qiskit-optimization's QUBO of the program (``penalty=None``: its automatic penalty)."""
    from qiskit_optimization.converters import QuadraticProgramToQubo

    return QuadraticProgramToQubo(penalty=penalty).convert(to_quadratic_program(program))
