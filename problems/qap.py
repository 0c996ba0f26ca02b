"""Quadratic assignment (QAPLIB): place n facilities on n locations, minimising flow × distance.

A solution is the n×n assignment matrix x (row-major, variable ``i*n + k``), x[i, k] = 1 when
facility i sits at location k. The cost of a permutation p is ``sum_ij flow[i,j] * dist[p(i),p(j)]``
(the QAPLIB convention: the first matrix of a ``.dat`` file is ``flow``, the second ``dist``).
Every entry, and every program coefficient ``flow[i,j]·dist[k,l]``, lies within ``10**12``
(:data:`qbench.textio.MAX_VALUE`), so costs stay exact in float64 and in the MIP baseline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import Param
from qbench.problems.base import PermutationProblem, check_seed
from qbench.program import BinaryProgram
from qbench.textio import (
    MAX_VALUE,
    MAX_VALUE_TEXT,
    TokenReader,
    check_values,
    format_number,
    require_tokens,
)

_FORMATS = "a QAPLIB instance (n, the n×n flow matrix, the n×n distance matrix)"

#: generator models of :meth:`QAP.generate`
QAP_KINDS = ("taillard", "nugent")

#: bound on the (rows × n × n) temporary of :meth:`QAP.permutation_costs`, in elements
_CHUNK_ELEMENTS = 1 << 22


class QAP(PermutationProblem):
    """A quadratic assignment instance: ``flow`` between facilities, ``dist`` between locations."""

    kind: ClassVar[str] = "qap"
    #: generator parameters (``qbench generate qap ...``, specs ``qap:n=8,kind=nugent``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed", bounds="[0, inf)"),
        Param("n", int, 8, "facilities (= locations)", bounds="[1, inf)"),
        Param("kind", str, "taillard", "uniform [0, 99] or grid Manhattan distances", QAP_KINDS),
    )
    extension: ClassVar[str] = ".dat"
    sense: ClassVar[str] = "min"

    def __init__(
        self,
        flow: np.ndarray,
        dist: np.ndarray,
        name: str = "",
        best_known: float | None = None,
    ):
        flow = np.array(flow, dtype=float)
        dist = np.array(dist, dtype=float)
        if flow.ndim != 2 or flow.shape[0] != flow.shape[1] or flow.shape[0] < 1:
            raise ValueError(f"flow must be a non-empty square matrix, got shape {flow.shape}")
        if dist.shape != flow.shape:
            raise ValueError(f"dist has shape {dist.shape}, expected {flow.shape} like flow")
        if not (np.all(np.isfinite(flow)) and np.all(np.isfinite(dist))):
            raise ValueError("flow and dist must be finite")
        check_values(flow, "flow")
        check_values(dist, "dist")
        reason = _product_limit(flow, dist)
        if reason:
            raise ValueError(reason)
        self.flow = flow
        self.dist = dist
        self.name = name
        self.best_known = None if best_known is None else float(best_known)

    @property
    def perm_size(self) -> int:
        return self.flow.shape[0]

    def size(self) -> dict[str, int]:
        """The number of facilities (= locations)."""
        return {"n": self.perm_size}

    def to_program(self) -> BinaryProgram:
        """min sum_{i,j,k,l} flow[i,j] dist[k,l] x[i,k] x[j,l] s.t. x is an assignment matrix."""
        # kron(flow, dist)[i*n+k, j*n+l] = flow[i,j] * dist[k,l]; the diagonal (i==j, k==l) is
        # folded into the linear part by BinaryProgram because x² = x.
        quadratic = sp.kron(sp.csr_matrix(self.flow), sp.csr_matrix(self.dist), format="csr")
        return self.assignment_program(quadratic, "facility", "location")

    def permutation_costs(self, perms: np.ndarray) -> np.ndarray | float:
        """Cost of each row of a (k, n) array of permutations (facility i at location p[i])."""
        P, single = self.perm_rows(perms)
        n = self.perm_size
        out = np.empty(P.shape[0])
        step = max(1, _CHUNK_ELEMENTS // (n * n))
        for start in range(0, P.shape[0], step):
            block = P[start : start + step]
            out[start : start + step] = np.einsum(
                "kij,ij->k", self.dist[block[:, :, None], block[:, None, :]], self.flow
            )
        return float(out[0]) if single else out

    @classmethod
    def estimate_bytes(cls, n: int) -> int:  # type: ignore[override]
        """~64 bytes per entry of the n⁴ Kronecker product of the program (worst case, dense
        flows: its COO temporaries and CSR), ~300 per matrix entry (tokens, matrices, names)."""
        return 64 * n**4 + 300 * n**2

    @classmethod
    def read(cls, path: str | Path) -> QAP:
        """Parse a QAPLIB ``.dat`` file: n, the n×n flow matrix, the n×n distance matrix.

        n is checked against the numbers the file holds and the memory the instance and its
        n²-variable program need before anything is allocated.
        """
        tokens = TokenReader.from_file(path, _FORMATS)
        if tokens.total == 0:
            message = (
                f"file ends early: expected the size n (the file is empty; expected {_FORMATS})"
            )
            raise InstanceFormatError(message, path)
        n = tokens.int("the size n", min_value=1)
        header = tokens.line
        if 2 * n * n > tokens.remaining:
            k = tokens.remaining
            name = "flow matrix A" if k < n * n else "distance matrix B"
            k %= n * n
            require_tokens(
                tokens, 2 * n * n, f"{name} [{k // n},{k % n}]", f"n={n:,}", "the size n"
            )
        why = cls.memory_refusal(n=n)
        if why:
            raise InstanceFormatError(why, path, header)
        flow = tokens.matrix(n, n, "flow matrix A")
        dist = tokens.matrix(n, n, "distance matrix B")
        tokens.expect_end(f"end of file after the two {n}x{n} matrices")
        reason = _product_limit(flow, dist)
        if reason:
            raise InstanceFormatError(reason, path, header)
        problem = cls(flow, dist, name=Path(path).stem)
        solution = Path(path).with_suffix(".sln")
        if solution.is_file():
            problem.best_known = read_solution(solution, problem)
        return problem

    def write(self, path: str | Path) -> None:
        """Save in QAPLIB format (n, blank line, flow matrix, blank line, distance matrix)."""
        n = self.perm_size

        def block(mat: np.ndarray) -> str:
            return "\n".join(" ".join(format_number(v) for v in row) for row in mat)

        Path(path).write_text(f"{n}\n\n{block(self.flow)}\n\n{block(self.dist)}\n")

    @classmethod
    def generate(cls, seed: int = 0, n: int = 8, kind: str = "taillard") -> QAP:
        """A random instance: 'taillard' (uniform symmetric, like tai*a) or 'nugent' (grid)."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"qap generator: n must be an integer >= 1, got {n!r}")
        if kind not in QAP_KINDS:
            raise ConfigError(
                f"qap generator: unknown kind {kind!r}; allowed: {', '.join(QAP_KINDS)}"
            )
        check_seed("qap", seed)
        n = int(n)
        cls.check_generator_size(n=n)
        rng = np.random.default_rng(seed)
        if kind == "taillard":
            flow = _symmetric(rng.integers(0, 100, size=(n, n)))
            dist = _symmetric(rng.integers(0, 100, size=(n, n)))
        else:
            cols = math.ceil(math.sqrt(n))
            cells = np.arange(n)
            grid = np.stack([cells // cols, cells % cols], axis=1)
            dist = np.abs(grid[:, None, :] - grid[None, :, :]).sum(axis=2)
            values = rng.integers(1, 11, size=(n, n))
            values[rng.random((n, n)) < 1 / 3] = 0
            flow = _symmetric(values)
        return cls(flow, dist, name=f"qap-{kind}-n{n}-s{seed}")


def _symmetric(values: np.ndarray) -> np.ndarray:
    """The symmetric matrix with zero diagonal built from the strict upper triangle of values."""
    upper = np.triu(values, k=1)
    return (upper + upper.T).astype(float)


def _product_limit(flow: np.ndarray, dist: np.ndarray) -> str | None:
    """Why the program's coefficients flow[i,j]·dist[k,l] would leave the exact range
    (:data:`qbench.textio.MAX_VALUE`), or None."""
    top = float(np.abs(flow).max(initial=0.0)) * float(np.abs(dist).max(initial=0.0))
    if top <= MAX_VALUE:
        return None
    return (
        f"the program's coefficients flow·dist reach {format_number(np.abs(flow).max())} × "
        f"{format_number(np.abs(dist).max())} = {top:.6g}, beyond the limit |value| <= "
        f"{MAX_VALUE_TEXT}"
    )


def read_solution(path: str | Path, problem: QAP) -> float:
    """The value of a QAPLIB ``.sln`` file (``n value``, then the permutation, 1-based) beside
    an instance: the published best known value, checked against the cost of its permutation
    (InstanceFormatError when the size or the cost disagrees)."""
    tokens = TokenReader.from_file(path, "QAPLIB .sln: n, the value, then n facility positions")
    n = tokens.int("the size n", min_value=1)
    if n != problem.perm_size:
        raise InstanceFormatError(
            f"the solution is for n={n}, the instance has n={problem.perm_size}", path, 1
        )
    value = tokens.float("the solution value")
    perm = [tokens.int(f"position of facility {i + 1}", min_value=1) for i in range(n)]
    perm = np.array(perm) - 1
    if sorted(perm.tolist()) != list(range(n)):
        raise tokens.error(f"the {n} positions are not a permutation of 1..{n}")
    cost = float(problem.permutation_costs(perm))
    if not np.isclose(cost, value, rtol=1e-9, atol=1e-6):
        raise InstanceFormatError(
            f"the solution value {value:g} is not the cost {cost:g} of its permutation", path, 1
        )
    return value
