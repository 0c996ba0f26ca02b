"""Multidimensional knapsack (SAC-94 / OR-Library): items of maximum profit within m capacities.

A solution is the item bitstring x (variable ``j`` = item j). The program is
``max profits·x  s.t.  weights x <= capacities`` (one row ``cap{i}`` per resource).

Files (the layout is told from the content, :func:`mknap_layout`):

* SAC-94, one instance: ``n m opt``, n profits, the m×n weight matrix row by row, m capacities
  (``opt`` 0 means unknown).
* OR-Library ``mknap1`` (mknap1.txt): the number of problems K alone on the first line, then K
  blocks in the SAC-94 layout.
* OR-Library ``mknap2`` (mknap2.txt): ``//`` comment lines, then blocks of ``m n`` (constraints
  first), n profits, m capacities, the m×n weights, the optimum; a line of text before a block
  names it.

Instances of a multi-instance file are named ``<file stem>-<index>`` (1-based, as OR-Library
numbers them) and addressed as ``FILE#index`` or ``FILE#name`` (:meth:`MDKP.read_instance`,
specs ``mdkp:mknap1.txt#3``). Weights and capacities must be non-negative, which is what makes
every instance repairable (the empty knapsack is always feasible); every coefficient is finite
with ``|value| <= 10**12`` (:data:`qbench.textio.MAX_VALUE`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import Param
from qbench.problems.base import Problem, check_seed
from qbench.program import BinaryProgram
from qbench.textio import (
    TokenReader,
    check_values,
    format_number,
    looks_numeric,
    read_text,
    require_tokens,
)

#: the file layouts :func:`mknap_layout` tells apart
SAC94, MKNAP1, MKNAP2 = "sac94", "mknap1", "mknap2"
_FORMATS = (
    "a SAC-94 instance ('n m opt', n profits, the m×n weights, m capacities) or an "
    "OR-Library mknap file"
)
_EMPTY = f"the file is empty; expected {_FORMATS}"


def mknap_layout(text: str) -> str:
    """The layout of an MDKP file, told by its first non-blank line: ``mknap2`` when it is a
    ``//`` comment, ``mknap1`` when it holds one number (the instance count K), else ``sac94``
    (``n m opt``)."""
    for line in io.StringIO(text):
        words = line.replace(",", " ").split()
        if not words:
            continue
        if words[0].startswith("//"):
            return MKNAP2
        return MKNAP1 if len(words) == 1 else SAC94
    return SAC94


def _nth_value(parts: list, k: int) -> str:
    """The name of the k-th number (0-based) of a block laid out as ``parts`` (name, shape)."""
    for name, shape in parts:
        size = math.prod(shape)
        if k < size:
            if len(shape) == 2:
                return f"{name} [{k // shape[1]},{k % shape[1]}]"
            return f"{name} [{k}]" if shape else name
        k -= size
    return "end of block"


def _select(problems: list[MDKP], path: str | Path, selector: str) -> MDKP:
    """The instance a ``FILE#selector`` names: a 1-based index or a name (any case)."""
    count = len(problems)
    text = selector.strip()
    if text.isascii() and text.isdigit():
        if 1 <= int(text) <= count:
            return problems[int(text) - 1]
    else:
        for problem in problems:
            if problem.name.lower() == text.lower():
                return problem
    names = ", ".join(p.name for p in problems[:10]) + (", ..." if count > 10 else "")
    raise ConfigError(
        f"{path}#{selector}: no such instance; the file holds {count} "
        f"(#1 .. #{count}, or by name: {names})"
    )


class MDKP(Problem):
    """A multidimensional knapsack: ``profits`` (n,), ``weights`` (m, n), ``capacities`` (m,)."""

    kind: ClassVar[str] = "mdkp"
    #: generator parameters (``qbench generate mdkp ...``, specs ``mdkp:n=12,m=3``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed", bounds="[0, inf)"),
        Param("n", int, 20, "items", bounds="[1, inf)"),
        Param("m", int, 5, "knapsack constraints", bounds="[1, inf)"),
        Param(
            "tightness",
            float,
            0.5,
            "capacity = tightness × row sum of the weights",
            bounds="(0, 1]",
        ),
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
        for values, what in ((profits, "profit"), (weights, "weight"), (capacities, "capacity")):
            check_values(values, what)
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
    def estimate_bytes(cls, n: int, m: int) -> int:  # type: ignore[override]
        """~96 bytes per weight (the matrix, its tokens while read, the program's sparse copy)
        and ~200 per item and per constraint (vectors and variable/row names)."""
        return 96 * n * m + 200 * (n + m)

    @classmethod
    def _check_block(
        cls, tokens: TokenReader, label: str, n: int, m: int, header: int | None, parts: list
    ) -> None:
        """Before allocating: the file must hold the block's numbers and the instance must fit.

        ``parts`` lists the block's data in file order as (name, shape) with shape () for one
        number, (k,) for a vector and (rows, cols) for a matrix.
        """
        need = sum(math.prod(shape) for _, shape in parts)
        if need > tokens.remaining:
            require_tokens(
                tokens,
                need,
                label + _nth_value(parts, tokens.remaining),
                f"n={n:,}, m={m:,}",
                f"{label}the sizes",
            )
        why = cls.memory_refusal(n=n, m=m)
        if why:
            raise InstanceFormatError(why, tokens.path, header)

    @classmethod
    def _read_block(cls, tokens: TokenReader, label: str) -> MDKP:
        """One ``n m opt / profits / weights / capacities`` block (SAC-94, mknap1)."""
        n = tokens.int(f"{label}number of items n", min_value=1)
        header = tokens.line
        m = tokens.int(f"{label}number of constraints m", min_value=1)
        opt = tokens.float(f"{label}optimum opt (0 if unknown)")
        parts = [("profit", (n,)), ("weight", (m, n)), ("capacity", (m,))]
        cls._check_block(tokens, label, n, m, header, parts)
        profits = tokens.floats(n, f"{label}profit")
        weights = tokens.matrix(m, n, f"{label}weight", nonnegative=f"{label}weight")
        capacities = tokens.floats(m, f"{label}capacity", nonnegative=f"{label}capacity")
        return cls(profits, weights, capacities, best_known=None if opt == 0 else opt)

    @classmethod
    def _read_block_mknap2(cls, tokens: TokenReader, label: str) -> MDKP:
        """One mknap2 block: ``m n``, profits, capacities, the m×n weights, the optimum."""
        m = tokens.int(f"{label}number of constraints m", min_value=1)
        header = tokens.line
        n = tokens.int(f"{label}number of items n", min_value=1)
        parts = [("profit", (n,)), ("capacity", (m,)), ("weight", (m, n)), ("optimum", ())]
        cls._check_block(tokens, label, n, m, header, parts)
        profits = tokens.floats(n, f"{label}profit")
        capacities = tokens.floats(m, f"{label}capacity", nonnegative=f"{label}capacity")
        weights = tokens.matrix(m, n, f"{label}weight", nonnegative=f"{label}weight")
        opt = tokens.float(f"{label}optimum (0 if unknown)")
        return cls(profits, weights, capacities, best_known=None if opt == 0 else opt)

    @classmethod
    def _read_sac94(cls, text: str, path: str | Path) -> MDKP:
        tokens = TokenReader(text, path)
        if tokens.total == 0:
            raise InstanceFormatError(
                f"file ends early: expected number of items n ({_EMPTY})", path
            )
        problem = cls._read_block(tokens, "")
        n, m = problem.size()["n"], problem.size()["m"]
        tokens.expect_end(f"end of file after the {m} capacities (n={n}, m={m})")
        problem.name = Path(path).stem
        return problem

    @classmethod
    def read(cls, path: str | Path) -> MDKP:
        """Parse a SAC-94 file (``n m opt``, profits, m×n weights, capacities; opt 0: unknown),
        or an OR-Library mknap file holding one instance (layout told by :func:`mknap_layout`).

        A mknap file holding several instances is refused with the way to name one
        (``FILE#K``, :meth:`read_instance`).
        """
        text = read_text(path, _FORMATS)
        layout = mknap_layout(text)
        if layout == SAC94:
            return cls._read_sac94(text, path)
        problems = cls._read_mknap_text(text, path, layout)
        if len(problems) == 1:
            return problems[0]
        raise ConfigError(
            f"{path} is an OR-Library {layout} file holding {len(problems)} instances: name "
            f"one as {path}#1 .. {path}#{len(problems)} (e.g. mdkp:{path}#1)"
        )

    @classmethod
    def read_instance(cls, path: str | Path, selector: str) -> MDKP:
        """Instance ``selector`` of a file: its 1-based index (``3``) or its name (``mknap1-3``,
        or a name line of mknap2); a SAC-94 file holds one instance, ``1``."""
        text = read_text(path, _FORMATS)
        layout = mknap_layout(text)
        if layout == SAC94:
            problems = [cls._read_sac94(text, path)]
        else:
            problems = cls._read_mknap_text(text, path, layout)
        return _select(problems, path, selector)

    @classmethod
    def read_mknap(cls, path: str | Path, layout: str | None = None) -> list[MDKP]:
        """Parse an OR-Library mknap file into its instances, named '<stem>-<1..K>' (or by the
        name line before a mknap2 block).

        ``layout`` is ``"mknap1"`` (K, then K SAC-94 blocks) or ``"mknap2"`` (``//`` comments,
        then blocks ``m n``, profits, capacities, weights, optimum); by default a file opening
        with a ``//`` comment is mknap2, any other mknap1.
        """
        text = read_text(path, _FORMATS)
        if layout is None:
            layout = MKNAP2 if mknap_layout(text) == MKNAP2 else MKNAP1
        if layout not in (MKNAP1, MKNAP2):
            raise ValueError(f"unknown mknap layout {layout!r}; allowed: {MKNAP1}, {MKNAP2}")
        return cls._read_mknap_text(text, path, layout)

    @classmethod
    def _read_mknap_text(cls, text: str, path: str | Path, layout: str) -> list[MDKP]:
        stem = Path(path).stem
        problems = []
        if layout == MKNAP1:
            tokens = TokenReader(text, path)
            count = tokens.int("the number of problems K", min_value=1)
            for index in range(1, count + 1):
                problem = cls._read_block(tokens, f"problem {index}/{count}: ")
                problem.name = f"{stem}-{index}"
                problems.append(problem)
            tokens.expect_end(f"end of file after the {count} problems")
            return problems
        # mknap2: '//' starts a comment; a line of text (not numbers) before a block names it
        stripped = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
        tokens = TokenReader(stripped, path)
        while not tokens.at_end():
            index = len(problems) + 1
            name = None
            token, _ = tokens.peek()
            if not looks_numeric(token):
                name = re.sub(r"\.dat$", "", tokens.skip_line(), flags=re.IGNORECASE)
            problem = cls._read_block_mknap2(tokens, f"problem {index}: ")
            problem.name = name or f"{stem}-{index}"
            problems.append(problem)
        if not problems:
            raise InstanceFormatError(
                "no instances: expected OR-Library mknap2 blocks (m n, profits, capacities, "
                "weights, optimum) after the '//' comments",
                path,
            )
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
        check_seed("mdkp", seed)
        n, m, tightness = int(n), int(m), float(tightness)
        cls.check_generator_size(n=n, m=m)
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
