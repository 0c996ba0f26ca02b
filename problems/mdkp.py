"""Multidimensional knapsack (SAC-94 / OR-Library): items of maximum profit within m capacities.

A solution is the item bitstring x (variable ``j`` = item j). The program is
``max profits·x  s.t.  weights x <= capacities`` (one row ``cap{i}`` per resource).

Files: the SAC-94 single-instance format (``n m opt``, n profits, the m×n weight matrix row by
row, m capacities; ``opt`` 0 means unknown) and the OR-Library ``mknap`` multi-instance format
(the number of problems K first, then K blocks in the same layout; instances are named
``<file stem>-<index>`` with a 1-based index, as OR-Library numbers them).
Weights and capacities must be non-negative, which is what makes every instance repairable
(the empty knapsack is always feasible).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.problems.base import Problem
from qbench.program import BinaryProgram
from qbench.textio import TokenReader, format_number


class MDKP(Problem):
    """A multidimensional knapsack: ``profits`` (n,), ``weights`` (m, n), ``capacities`` (m,)."""

    kind: ClassVar[str] = "mdkp"
    #: generator parameters (``qbench generate mdkp ...``, specs ``mdkp:n=12,m=3``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed"),
        Param("n", int, 20, "items"),
        Param("m", int, 5, "knapsack constraints"),
        Param("tightness", float, 0.5, "capacity = tightness × row sum of the weights"),
        Param("correlated", bool, True, "profits correlated with the weights (Chu–Beasley)"),
    )
    extension: ClassVar[str] = ".dat"
    sense: ClassVar[str] = "max"

    def __init__(
        self,
        profits: np.ndarray,
        weights: np.ndarray,
        capacities: np.ndarray,
        name: str = "",
        best_known: float | None = None,
    ):
        profits = np.array(profits, dtype=float)
        weights = np.array(weights, dtype=float)
        capacities = np.array(capacities, dtype=float)
        if profits.ndim != 1 or profits.size < 1:
            raise ValueError(f"profits must be a non-empty vector, got shape {profits.shape}")
        n = profits.size
        if weights.ndim != 2 or weights.shape[1] != n or weights.shape[0] < 1:
            raise ValueError(f"weights must have shape (m >= 1, {n}), got {weights.shape}")
        if capacities.shape != (weights.shape[0],):
            raise ValueError(
                f"capacities has shape {capacities.shape}, expected ({weights.shape[0]},)"
            )
        if not all(np.all(np.isfinite(a)) for a in (profits, weights, capacities)):
            raise ValueError("profits, weights and capacities must be finite")
        if np.any(weights < 0) or np.any(capacities < 0):
            raise ValueError("weights and capacities must be non-negative")
        self.profits = profits
        self.weights = weights
        self.capacities = capacities
        self.name = name
        self.best_known = None if best_known is None else float(best_known)

    def size(self) -> dict[str, int]:
        """The number of items n and of resources (constraints) m."""
        return {"n": self.profits.size, "m": self.capacities.size}

    def to_program(self) -> BinaryProgram:
        """max profits·x s.t. weights x <= capacities, one row 'cap{i}' per resource."""
        n, m = self.profits.size, self.capacities.size
        return BinaryProgram(
            linear=self.profits,
            A=self.weights,
            b=self.capacities,
            senses=("<=",) * m,
            sense="max",
            var_names=[f"x{j}" for j in range(n)],
            constraint_names=[f"cap{i}" for i in range(m)],
            name=self.name,
        )

    # ---- repair -------------------------------------------------------------------------------

    def _ratios(self) -> np.ndarray:
        """profit / aggregate weight (sum_i w_ij / c_i over c_i > 0) per item; inf if weightless."""
        scaled = np.divide(
            self.weights,
            self.capacities[:, None],
            out=np.zeros_like(self.weights),
            where=self.capacities[:, None] > 0,
        )
        aggregate = scaled.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(aggregate > 0, self.profits / aggregate, np.inf)

    def repair(self, x: np.ndarray) -> np.ndarray:
        """Drop worst-ratio items until every capacity holds, then add best-ratio items that fit.

        Items heavier than a capacity on their own are removed first (they are in no feasible
        solution). A feasible input is only ever extended, so its profit never drops.
        """
        n = self.profits.size
        chosen = np.asarray(x, dtype=float).ravel()
        if chosen.size != n:
            raise ValueError(f"expected a bitstring of length {n}, got {chosen.size} values")
        W, c = self.weights, self.capacities
        fits_alone = np.all(c[:, None] >= W, axis=0)
        chosen = (chosen > 0.5) & fits_alone
        ratio = self._ratios()

        # drop phase: remove the worst-ratio chosen items until the loads fit (t = all of
        # them leaves the empty knapsack, which always fits since capacities are >= 0)
        picked = np.flatnonzero(chosen)
        drop_order = picked[np.argsort(ratio[picked], kind="stable")]
        load = W[:, picked].sum(axis=1)
        loads = np.column_stack([load, load[:, None] - np.cumsum(W[:, drop_order], axis=1)])
        fits = np.all(loads <= c[:, None], axis=0)
        fits[-1] = True
        n_drop = int(np.argmax(fits))
        if n_drop == drop_order.size:  # the empty knapsack: no rounding left in its load
            loads[:, n_drop] = 0.0
        chosen[drop_order[:n_drop]] = False
        load = loads[:, n_drop]

        # add phase: best ratio first, every item that still fits (loads only grow, so the
        # result is maximal: nothing left out would fit)
        for item in np.argsort(-ratio, kind="stable"):
            if chosen[item] or not fits_alone[item] or self.profits[item] <= 0:
                continue
            new_load = load + W[:, item]
            if np.all(new_load <= c):
                chosen[item] = True
                load = new_load
        return chosen.astype(np.int8)

    # ---- files --------------------------------------------------------------------------------

    @classmethod
    def _read_block(cls, tokens: TokenReader, label: str) -> MDKP:
        """One ``n m opt / profits / weights / capacities`` block from the token stream."""
        n = tokens.int(f"{label}number of items n", min_value=1)
        m = tokens.int(f"{label}number of constraints m", min_value=1)
        opt = tokens.float(f"{label}optimum opt (0 if unknown)")
        profits = tokens.floats(n, f"{label}profit")
        weights = tokens.matrix(m, n, f"{label}weight")
        _check_non_negative(tokens, weights.ravel(), f"{label}weight")
        capacities = tokens.floats(m, f"{label}capacity")
        _check_non_negative(tokens, capacities, f"{label}capacity")
        return cls(profits, weights, capacities, best_known=None if opt == 0 else opt)

    @classmethod
    def read(cls, path: str | Path) -> MDKP:
        """Parse a SAC-94 file: ``n m opt``, profits, m×n weights, capacities (opt 0: unknown)."""
        tokens = TokenReader.from_file(path)
        problem = cls._read_block(tokens, "")
        n, m = problem.size()["n"], problem.size()["m"]
        tokens.expect_end(f"end of file after the {m} capacities (n={n}, m={m})")
        problem.name = Path(path).stem
        return problem

    @classmethod
    def read_mknap(cls, path: str | Path) -> list[MDKP]:
        """Parse an OR-Library mknap file: K, then K SAC-94 blocks; names are '<stem>-<1..K>'."""
        tokens = TokenReader.from_file(path)
        count = tokens.int("the number of problems K", min_value=1)
        stem = Path(path).stem
        problems = []
        for index in range(1, count + 1):
            problem = cls._read_block(tokens, f"problem {index}/{count}: ")
            problem.name = f"{stem}-{index}"
            problems.append(problem)
        tokens.expect_end(f"end of file after the {count} problems")
        return problems

    def _block_text(self) -> str:
        n, m = self.profits.size, self.capacities.size
        opt = 0 if self.best_known is None else self.best_known

        def row(values: np.ndarray) -> str:
            return " ".join(format_number(v) for v in values)

        lines = [f"{n} {m} {format_number(opt)}", row(self.profits)]
        lines += [row(w) for w in self.weights]
        lines.append(row(self.capacities))
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> None:
        """Save in SAC-94 format (opt written as 0 when best_known is unknown)."""
        Path(path).write_text(self._block_text())

    @staticmethod
    def write_mknap(problems: Sequence[MDKP], path: str | Path) -> None:
        """Save several instances as one OR-Library mknap file (K, then K SAC-94 blocks)."""
        if not problems:
            raise ValueError("write_mknap needs at least one problem")
        blocks = "\n".join(p._block_text() for p in problems)
        Path(path).write_text(f"{len(problems)}\n\n{blocks}")

    # ---- generator ----------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        seed: int = 0,
        n: int = 20,
        m: int = 5,
        tightness: float = 0.5,
        correlated: bool = True,
    ) -> MDKP:
        """A Chu–Beasley instance: weights U{0..999}, capacity = tightness × row sum.

        Correlated profits are ``round(sum_i w_ij / m + 500 u_j)`` with u_j ~ U(0, 1) (the
        OR-Library mknapcb recipe); uncorrelated ones are U{1..999}.
        """
        for label, value in (("n", n), ("m", m)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"mdkp generator: {label} must be an integer >= 1, got {value!r}")
        if (
            isinstance(tightness, bool)
            or not isinstance(tightness, (int, float, np.floating, np.integer))
            or not 0 < tightness <= 1
        ):
            raise ConfigError(
                f"mdkp generator: tightness must be a number in (0, 1], got {tightness!r}"
            )
        if not isinstance(correlated, (bool, np.bool_)):
            raise ConfigError(
                f"mdkp generator: correlated must be true or false, got {correlated!r}"
            )
        n, m, tightness = int(n), int(m), float(tightness)
        rng = np.random.default_rng(seed)
        weights = rng.integers(0, 1000, size=(m, n)).astype(float)
        capacities = np.floor(tightness * weights.sum(axis=1))
        if correlated:
            profits = np.round(weights.sum(axis=0) / m + 500 * rng.random(n))
        else:
            profits = rng.integers(1, 1000, size=n).astype(float)
        tag = "" if correlated else "-unc"
        name = f"mdkp-n{n}-m{m}-t{tightness:g}{tag}-s{seed}"
        return cls(profits, weights, capacities, name=name)


def _check_non_negative(tokens: TokenReader, values: np.ndarray, what: str) -> None:
    """Refuse a negative weight/capacity, naming the line of the offending token."""
    bad = np.flatnonzero(values < 0)
    if bad.size:
        # the values were the last ``values.size`` tokens read
        tok, line = tokens.tokens[tokens.pos - values.size + bad[0]]
        raise tokens.error(f"{what} must be non-negative, got {tok}", line=line)
