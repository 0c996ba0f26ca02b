"""The Problem seam: an instance in its own terms, evaluated on the variables of its binary program.

A problem's solution vector ``x`` is always a bitstring over the variables of ``to_program()``
(e.g. the n×n assignment matrix, row-major, for QAP/TSP), so solvers, encoders and the result
row all speak the same language. Evaluation accepts one bitstring (n,) or many (k, n).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.memory import memory_shortfall
from qbench.params import Param
from qbench.program import BinaryProgram, as_rows


def assignment_constraints(n: int) -> sp.csr_matrix:
    """The 2n equality rows of a row-major n×n assignment matrix: rows, then columns, sum to 1."""
    ones = sp.csr_matrix(np.ones((1, n)))
    eye = sp.identity(n, format="csr")
    return sp.vstack([sp.kron(eye, ones), sp.kron(ones, eye)], format="csr")


def check_seed(kind: str, seed: object) -> None:
    """ConfigError unless ``seed`` is a non-negative integer (numpy's generators refuse others)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"{kind} generator: seed must be an integer >= 0, got {seed!r}")


class Problem(ABC):
    """Base class of the five problems; subclasses set ``kind`` and implement the abstract parts."""

    kind: ClassVar[str] = ""
    #: file extension written by :meth:`write` (and recognised when reading a path)
    extension: ClassVar[str] = ""

    name: str = ""
    best_known: float | None = None

    #: 'min' or 'max'
    sense: ClassVar[str] = ""
    #: the parameters of :meth:`generate` (its signature's names and defaults), declared like
    #: every component's, so specs and suites parse and check them before generating
    generator_params: ClassVar[tuple[Param, ...]] = ()

    @abstractmethod
    def to_program(self) -> BinaryProgram:
        """The linear-constrained binary program of this instance (built fresh each call)."""

    @cached_property
    def program(self) -> BinaryProgram:
        """``to_program()``, built once."""
        return self.to_program()

    @property
    def n_vars(self) -> int:
        return self.program.n_vars

    @abstractmethod
    def size(self) -> dict[str, int]:
        """The instance's own size parameters, e.g. {'n': 28, 'm': 4}."""

    def objective(self, x: np.ndarray) -> np.ndarray | float:
        """Objective of one or many bitstrings, in the problem's own sense."""
        return self.program.objective(x)

    def violations(self, x: np.ndarray) -> np.ndarray | float:
        """Total amount by which the constraints are broken (0 when feasible)."""
        return self.program.violations(x)

    def is_feasible(self, x: np.ndarray) -> np.ndarray | bool:
        return self.program.is_feasible(x)

    @abstractmethod
    def repair(self, x: np.ndarray) -> np.ndarray:
        """A feasible bitstring close to ``x`` (one bitstring in, one out; always feasible)."""

    @abstractmethod
    def write(self, path: str | Path) -> None:
        """Save the instance in its native file format."""

    @classmethod
    @abstractmethod
    def read(cls, path: str | Path) -> Problem:
        """Parse a file; raise InstanceFormatError naming file, line and reason on bad input."""

    @classmethod
    @abstractmethod
    def generate(cls, seed: int = 0, **params) -> Problem:
        """A seeded random instance following the literature's generator."""

    @classmethod
    def read_instance(cls, path: str | Path, selector: str) -> Problem:
        """One instance of a multi-instance file (``FILE#selector``); formats that hold one
        instance refuse a selector."""
        raise ConfigError(
            f"{path}#{selector}: a {cls.kind} file holds one instance; drop '#{selector}' "
            "('#K' selects an instance of a multi-instance file, such as OR-Library mknap)"
        )

    @classmethod
    def estimate_bytes(cls, **sizes: int) -> int:
        """Rough peak bytes of an instance of these sizes plus its ``to_program()``, computed
        from the sizes alone so it can be checked before anything is allocated (0: unknown)."""
        return 0

    @classmethod
    def memory_refusal(cls, **sizes: int) -> str | None:
        """Why an instance of these sizes and its program would not fit in the memory that can
        be allocated now, with both numbers; None when it fits."""
        shown = ", ".join(f"{key}={value:,}" for key, value in sizes.items())
        what = f"the {cls.kind} instance ({shown}) with its binary program"
        return memory_shortfall(what, cls.estimate_bytes(**sizes))

    @classmethod
    def check_generator_size(cls, **sizes: int) -> None:
        """ConfigError ``<kind> generator: ...`` before generating an instance that would not
        fit (see :meth:`memory_refusal`)."""
        why = cls.memory_refusal(**sizes)
        if why:
            raise ConfigError(f"{cls.kind} generator: {why}")

    def local_search(self, x: np.ndarray) -> np.ndarray:
        """One round of local search from a feasible ``x`` (the comparative study's
        post-processing): each single flip, then each swap of a chosen and an unchosen variable,
        in index order, taken when it keeps ``x`` feasible and improves the objective. An
        infeasible ``x`` comes back unchanged."""
        x = np.asarray(x).astype(np.int8).copy()
        if not self.is_feasible(x):
            return x
        sign = 1.0 if self.sense == "max" else -1.0
        best = sign * float(self.objective(x))
        n = x.size
        for i in range(n):  # single flips, all at once per variable
            trial = x.copy()
            trial[i] ^= 1
            value = sign * float(self.objective(trial))
            if value > best + 1e-9 and self.is_feasible(trial):
                x, best = trial, value
        for i in range(n):  # swaps (i out, j in), every j of one i evaluated together
            if not x[i]:
                continue
            js = np.flatnonzero(x == 0)
            if js.size == 0:
                break
            trials = np.repeat(x[None, :], js.size, axis=0)
            trials[:, i] = 0
            trials[np.arange(js.size), js] = 1
            values = sign * np.asarray(self.objective(trials), dtype=float)
            ok = np.flatnonzero((values > best + 1e-9) & np.asarray(self.is_feasible(trials)))
            if ok.size:
                k = ok[np.argmax(values[ok])]
                x, best = trials[k], float(values[k])
        return x

    def best_move(self, x: np.ndarray) -> np.ndarray:
        """The comparative study's own post-processing, as its code does it: of every single
        flip and every swap of a chosen and an unchosen variable of ``x`` (feasible or not), the
        one best neighbour — feasible before infeasible, then the smaller violation, then the
        better objective — when it beats ``x`` itself; else ``x``. One move, not a round."""
        x = np.asarray(x).astype(np.int8).ravel()
        n = x.size
        flips = np.repeat(x[None, :], n, axis=0)
        flips[np.arange(n), np.arange(n)] ^= 1
        ones, zeros = np.flatnonzero(x == 1), np.flatnonzero(x == 0)
        out_idx, in_idx = np.repeat(ones, zeros.size), np.tile(zeros, ones.size)
        swaps = np.repeat(x[None, :], out_idx.size, axis=0)
        swaps[np.arange(out_idx.size), out_idx] = 0
        swaps[np.arange(out_idx.size), in_idx] = 1
        cands = np.vstack([x[None, :], flips, swaps])
        sign = 1.0 if self.sense == "max" else -1.0
        best = self._ranked_best(cands, sign)
        return cands[best].astype(np.int8)

    def _ranked_best(self, cands: np.ndarray, sign: float) -> int:
        """Index of the best row of ``cands`` (feasible, then least violation, then best
        objective; ties: the first, so ``x`` itself, listed first, wins them)."""
        feasible = np.asarray(self.is_feasible(cands), dtype=bool)
        violation = np.where(feasible, 0.0, np.asarray(self.violations(cands), dtype=float))
        value = sign * np.asarray(self.objective(cands), dtype=float)
        order = np.lexsort((np.arange(len(cands)), -np.round(value, 9), violation, ~feasible))
        return int(order[0])

    def gap_pct(self, value: float) -> float | None:
        """Relative gap to ``best_known`` in percent, signed so that worse is positive."""
        if self.best_known is None or self.best_known == 0 or value is None:
            return None
        diff = value - self.best_known if self.sense == "min" else self.best_known - value
        return 100.0 * diff / abs(self.best_known)

    def __repr__(self) -> str:
        size = ", ".join(f"{k}={v}" for k, v in self.size().items())
        return f"{type(self).__name__}({self.name!r}, {size}, best_known={self.best_known})"


class PermutationProblem(Problem):
    """A problem whose feasible solutions are the permutations of ``perm_size`` items.

    x is the row-major ``perm_size × perm_size`` assignment matrix: x[i, perm[i]] = 1.
    Brute force enumerates permutations (not 2^(n²) bitstrings) through ``permutation_costs``.
    """

    #: True when costs are invariant under the cyclic shift perm -> (perm - perm[0]) mod n (e.g.
    #: rotating a closed tour), so fixing perm[0] = 0 loses nothing and brute force enumerates
    #: (n-1)! permutations instead of n!
    perm_symmetric_start: ClassVar[bool] = False

    @property
    @abstractmethod
    def perm_size(self) -> int:
        """The number of items permuted."""

    @abstractmethod
    def permutation_costs(self, perms: np.ndarray) -> np.ndarray:
        """Objective of each row of a (k, n) integer array of permutations, vectorised."""

    def perm_rows(self, perms: np.ndarray) -> tuple[np.ndarray, bool]:
        """``perms`` as a (k, n) index array and whether a single permutation was given."""
        P = np.asarray(perms, dtype=np.intp)
        single = P.ndim == 1
        P = np.atleast_2d(P)
        n = self.perm_size
        if P.ndim != 2 or P.shape[1] != n:
            raise ValueError(f"expected permutations of length {n}, got shape {np.shape(perms)}")
        return P, single

    def assignment_program(
        self, quadratic: sp.spmatrix, row_label: str, col_label: str
    ) -> BinaryProgram:
        """min xᵀ Q x over n×n assignment matrices: each row and each column sums to one."""
        n = self.perm_size
        return BinaryProgram(
            linear=np.zeros(n * n),
            quadratic=quadratic,
            A=assignment_constraints(n),
            b=np.ones(2 * n),
            senses=("==",) * (2 * n),
            sense="min",
            var_names=[f"x_{i}_{k}" for i in range(n) for k in range(n)],
            constraint_names=[f"{row_label}_{i}" for i in range(n)]
            + [f"{col_label}_{k}" for k in range(n)],
            name=self.name,
        )

    def perm_to_x(self, perm: np.ndarray) -> np.ndarray:
        """The assignment bitstring of a permutation."""
        n = self.perm_size
        x = np.zeros((n, n))
        x[np.arange(n), np.asarray(perm, dtype=int)] = 1
        return x.ravel()

    def perms_to_x(self, perms: np.ndarray) -> np.ndarray:
        """The bitstrings of the rows of a (k, n) array of permutations, as (k, n_vars) bools
        (``perm_to_x`` row by row; used to enumerate a small problem's feasible points)."""
        P, _ = self.perm_rows(perms)
        n = self.perm_size
        return (P[:, :, None] == np.arange(n)).reshape(len(P), n * n)

    def x_to_perm(self, x: np.ndarray) -> np.ndarray:
        """The permutation of an assignment bitstring (must be a permutation matrix)."""
        X, _ = as_rows(x, self.perm_size**2)
        mat = X[0].reshape(self.perm_size, self.perm_size)
        if not (np.all(mat.sum(0) == 1) and np.all(mat.sum(1) == 1)):
            raise ValueError("bitstring is not a permutation matrix")
        return mat.argmax(axis=1)

    def local_search(self, x: np.ndarray) -> np.ndarray:
        """One round of pairwise exchanges from a permutation ``x``: for each item i in order,
        the best swap of its assignment with a later item's, taken when it lowers the cost
        (2-exchange; a non-permutation comes back unchanged)."""
        x = np.asarray(x).astype(np.int8).copy()
        try:
            perm = self.x_to_perm(x)
        except ValueError:
            return x
        best = float(self.permutation_costs(perm[None, :])[0])
        n = self.perm_size
        for i in range(n - 1):
            trials = np.repeat(perm[None, :], n - 1 - i, axis=0)
            js = np.arange(i + 1, n)
            trials[np.arange(js.size), i] = perm[js]
            trials[np.arange(js.size), js] = perm[i]
            costs = np.asarray(self.permutation_costs(trials), dtype=float)
            k = int(np.argmin(costs))
            if costs[k] < best - 1e-9:
                perm, best = trials[k], float(costs[k])
        return self.perm_to_x(perm).astype(np.int8)

    def repair(self, x: np.ndarray) -> np.ndarray:
        """Project onto the nearest permutation matrix (maximum overlap, Hungarian algorithm)."""
        from scipy.optimize import linear_sum_assignment

        n = self.perm_size
        mat = np.asarray(x, dtype=float).reshape(n, n)
        rows, cols = linear_sum_assignment(mat, maximize=True)
        perm = np.empty(n, dtype=int)
        perm[rows] = cols
        return self.perm_to_x(perm)
