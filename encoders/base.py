"""The Encoding seam: a QUBO over qubits whose first ``n_vars`` bits are the program's variables.

Every encoder turns a :class:`BinaryProgram` into an :class:`Encoding`. The QUBO is itself an
unconstrained BinaryProgram in *min* form: a max problem enters with its objective negated, so
on a feasible point with optimal slack the energy equals ``sign · objective`` (sign = +1 for
min, −1 for max). Extra qubits (slack registers) come after the problem variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qbench.params import Component
from qbench.program import BinaryProgram, as_rows


@dataclass
class Encoding:
    """What an encoder returns: the QUBO, how to decode its bits, and what went into it."""

    encoder: str
    qubo: BinaryProgram
    program: BinaryProgram
    n_slack: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.qubo.n_constraints or self.qubo.sense != "min":
            raise ValueError("an encoding's QUBO must be an unconstrained minimisation")
        if self.qubo.n_vars != self.program.n_vars + self.n_slack:
            raise ValueError(
                f"QUBO has {self.qubo.n_vars} bits, expected {self.program.n_vars} variables "
                f"+ {self.n_slack} slack"
            )

    @property
    def n_qubits(self) -> int:
        return self.qubo.n_vars

    @property
    def n_vars(self) -> int:
        return self.program.n_vars

    @property
    def sign(self) -> float:
        """+1 when the program minimises, −1 when it maximises (the QUBO always minimises)."""
        return 1.0 if self.program.sense == "min" else -1.0

    def energy(self, bits: np.ndarray) -> np.ndarray | float:
        """QUBO energy of one bitstring over the qubits, or of each row of a (k, n_qubits) array."""
        return self.qubo.objective(bits)

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """The program's variables of one or many qubit bitstrings (slack bits dropped)."""
        X, single = as_rows(bits, self.n_qubits)
        x = X[:, : self.n_vars].astype(np.int8)
        return x[0] if single else x

    def evaluate(self, target: Any, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective and feasibility on the ORIGINAL problem (or program) of decoded bitstrings."""
        x = np.atleast_2d(self.decode(bits))
        objective = np.atleast_1d(np.asarray(target.objective(x), dtype=float))
        feasible = np.atleast_1d(np.asarray(target.is_feasible(x), dtype=bool))
        return objective, feasible

    def summary(self) -> dict[str, Any]:
        """Sizes and settings, as ``qbench encode`` prints them."""
        return {
            "encoder": self.encoder,
            "n_vars": self.n_vars,
            "n_qubits": self.n_qubits,
            "n_slack": self.n_slack,
            "n_linear": int(np.count_nonzero(self.qubo.linear)),
            "n_quadratic": int(self.qubo.quadratic.nnz),
            "offset": self.qubo.constant,
            **self.metadata,
        }


@dataclass(frozen=True)
class Encoder(Component):
    """A registered encoder: ``encode(program, **params) -> Encoding`` plus declared parameters.

    ``meta_solver`` names the meta-solver (``qbench.solvers.get_meta_solver``) that drives this
    encoding in a run, when its parameters change from one inner solve to the next (the
    Lagrangian multipliers); a run then hands the user's solver to that meta-solver as its inner
    solver. None for an encoding that is built once (its QUBO goes to the solver as is).
    """

    encode: Callable[..., Encoding] = None
    meta_solver: str | None = None

    role = "encoder"
