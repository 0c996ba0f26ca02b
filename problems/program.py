"""Any linear-constrained binary program as a Problem, so ``qbench.run`` takes a BinaryProgram
as it takes the five problems: evaluated on its own objective and constraints."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from qbench.errors import ConfigError
from qbench.problems.base import Problem
from qbench.program import BinaryProgram


class ProgramProblem(Problem):
    """A BinaryProgram in the Problem seam: objective, violations and feasibility are the
    program's; ``repair`` is a greedy descent on the total violation (one bit flip at a time,
    the flip that lowers it most), which reaches feasibility on packing and covering rows but
    may stop at an infeasible point on others (the row then says infeasible)."""

    kind: ClassVar[str] = "program"

    def __init__(self, program: BinaryProgram, name: str = "", best_known: float | None = None):
        self._program = program
        self.name = name or program.name or "program"
        self.best_known = best_known

    @property
    def sense(self) -> str:  # type: ignore[override]
        return self._program.sense

    def to_program(self) -> BinaryProgram:
        return self._program

    def size(self) -> dict[str, int]:
        return {"n": self._program.n_vars, "m": self._program.n_constraints}

    def repair(self, x: np.ndarray) -> np.ndarray:
        """Flip the bit that lowers the total violation most, until none does."""
        x = np.asarray(x, dtype=np.int8).copy()
        n = x.size
        violation = float(self._program.violations(x))
        while violation > 0:
            flips = np.repeat(x[None, :], n, axis=0)
            flips[np.arange(n), np.arange(n)] ^= 1
            values = np.asarray(self._program.violations(flips), dtype=float)
            best = int(np.argmin(values))
            if values[best] >= violation:
                break
            x, violation = flips[best], float(values[best])
        return x

    def write(self, path: str | Path) -> None:
        """Save as an LP or MPS file (by the ending; :func:`qbench.interop.write_model`)."""
        from qbench.interop import write_model

        write_model(self._program, path)

    @classmethod
    def read(cls, path: str | Path) -> ProgramProblem:
        """A binary program from an LP or MPS file (by the ending, or the kind's format;
        :func:`qbench.interop.read_model`), named after the file."""
        from qbench.interop import read_model

        program = read_model(path, cls.extension or None)
        return cls(program, name=Path(path).stem)

    @classmethod
    def generate(cls) -> ProgramProblem:  # type: ignore[override]
        raise ConfigError(
            f"{cls.kind} instances are read from files (or built from a BinaryProgram), "
            "not generated"
        )


class LPProblem(ProgramProblem):
    """A binary program read from an LP file (``lp:FILE``, or a file ending in .lp). LP files
    name variables but fix no order: HiGHS numbers them as they first appear."""

    kind: ClassVar[str] = "lp"
    extension: ClassVar[str] = ".lp"


class MPSProblem(ProgramProblem):
    """A binary program read from an MPS file (``mps:FILE``, or a file ending in .mps)."""

    kind: ClassVar[str] = "mps"
    extension: ClassVar[str] = ".mps"


class QUBOProblem(ProgramProblem):
    """An unconstrained QUBO read from a ``.qs`` file (``qubo:FILE``, or a file ending in .qs;
    ZIMPL's format, as QOBLIB ships its QUBOs; :func:`qbench.interop.read_qs`), minimised."""

    kind: ClassVar[str] = "qubo"
    extension: ClassVar[str] = ".qs"

    def write(self, path: str | Path) -> None:
        """Save as a ``.qs`` file (:func:`qbench.interop.write_qs`)."""
        from qbench.interop import write_qs

        write_qs(self._program, path)

    @classmethod
    def read(cls, path: str | Path) -> QUBOProblem:
        from qbench.interop import read_qs

        return cls(read_qs(path), name=Path(path).stem)
