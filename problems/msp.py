"""Market split (Cornuéjols & Dawande 1998): split n retailers so each product's demand halves.

Retailer j has demand ``demands[i, j]`` for product i; a solution x ∈ {0,1}ⁿ assigns retailers
to the first division. The goal ``demands @ x == targets`` is usually unattainable exactly, so the
problem minimises the total deviation ``sum_i |demands[i]·x - targets[i]|`` (0 iff x is a
perfect split). Every x is feasible: there are no constraints.

File format (``.msp``), mirroring QOBLIB's market split ``.dat`` files::

    # optional comment lines start with '#'; these two are understood:
    # name ms-example
    # best_known 0
    m n
    d_11 d_12 ... d_1n b_1
    ...
    d_m1 d_m2 ... d_mn b_m

i.e. the sizes, then one line per product holding its n demands followed by its target.
All numbers are non-negative integers. Text after a ``#`` on any line is a comment.
Demands and targets lie within ``10**12``, and so does the largest value of the squared-deviation
program, ``Σ_i max(Σ_j d_ij, b_i)²``, which keeps the QUBO exact in float64.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import Param
from qbench.problems.base import Problem, check_seed
from qbench.program import BinaryProgram, as_rows
from qbench.textio import (
    MAX_VALUE,
    MAX_VALUE_TEXT,
    format_number,
    parse_int,
    parse_real,
    read_text,
    value_limit_message,
)

#: random streams of :meth:`MSP.generate`
MSP_RNGS = ("default", "legacy")

_FORMATS = "an .msp file ('m n', then per product n demands and its target)"

_BEST_KNOWN = re.compile(r"^#\s*best_known\b\s*(.*)$")
_NAME = re.compile(r"^#\s*name\b\s*(.*)$")


def _integer_array(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as an int64 array, refusing non-integral, non-finite or negative entries."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":  # Python integers too large for int64
        with contextlib.suppress(TypeError, ValueError):
            arr = arr.astype(float)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    as_float = arr.astype(float)
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"{what} must be integers")
    if np.any(as_float < 0):
        raise ValueError(f"{what} must be non-negative")
    big = np.flatnonzero(as_float.ravel() > MAX_VALUE)
    if big.size:
        raise ValueError(value_limit_message(what, arr.ravel()[big[0]]))
    return arr.astype(np.int64)


def _program_scale(demands: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, max(Σ_j d_ij, b_i)²: the squared-deviation program's values reach their sum."""
    top = np.maximum(demands.astype(float).sum(axis=1), targets.astype(float))
    return top**2


def _scale_message(scale: float) -> str:
    return (
        f"the squared-deviation program reaches Σ_i max(Σ_j d_ij, b_i)² = {scale:.6g}, beyond "
        f"the limit {MAX_VALUE_TEXT} (its values would not be exact in float64)"
    )


class MSP(Problem):
    """A market split instance: ``demands`` (m×n, non-negative integers), ``targets`` (m,)."""

    kind: ClassVar[str] = "msp"
    #: generator parameters (``qbench generate msp ...``, specs ``msp:m=3``)
    generator_params: ClassVar[tuple[Param, ...]] = (
        Param("seed", int, 0, "random seed", bounds="[0, inf)"),
        Param("m", int, 3, "products (rows)", bounds="[1, inf)"),
        Param("n", int, None, "retailers (None: 10(m − 1))", bounds="[1, inf)"),
        Param("max_demand", int, 99, "demands uniform in 0..max_demand", bounds="[0, inf)"),
        Param(
            "rng",
            str,
            "default",
            "numpy's Generator, or the legacy seeding of the comparative study's instances",
            MSP_RNGS,
        ),
    )
    extension: ClassVar[str] = ".msp"
    sense: ClassVar[str] = "min"

    def __init__(
        self,
        demands: np.ndarray,
        targets: np.ndarray,
        name: str = "",
        best_known: float | None = None,
    ):
        demands = _integer_array(demands, "demands")
        targets = _integer_array(targets, "targets").ravel()
        if demands.ndim != 2 or demands.shape[0] < 1 or demands.shape[1] < 1:
            raise ValueError(f"demands must be a non-empty (m, n) matrix, got {demands.shape}")
        if targets.size != demands.shape[0]:
            raise ValueError(
                f"targets has {targets.size} entries, expected {demands.shape[0]} (one per row)"
            )
        scale = float(_program_scale(demands, targets).sum())
        if scale > MAX_VALUE:
            raise ValueError(_scale_message(scale))
        self.demands = demands
        self.targets = targets
        self.name = name
        self.best_known = None if best_known is None else float(best_known)

    @property
    def n_vars(self) -> int:
        return self.demands.shape[1]

    def size(self) -> dict[str, int]:
        """The number of products m and of retailers n."""
        m, n = self.demands.shape
        return {"m": m, "n": n}

    def deviations(self, x: np.ndarray) -> np.ndarray:
        """Signed deviations ``demands·x - targets``: shape (k, m), or (m,) for one bitstring."""
        X, single = as_rows(x, self.n_vars)
        dev = X @ self.demands.T.astype(float) - self.targets
        return dev[0] if single else dev

    def deviation_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(demands, targets)``: the objective is ``Σ_i |demands_i·x − targets_i|``, which
        the ``qubo`` encoder's ``deviation="slack"`` encodes with integer slack."""
        return self.demands.astype(float), self.targets.astype(float)

    def objective(self, x: np.ndarray) -> np.ndarray | float:
        """Total absolute deviation ``sum_i |demands[i]·x - targets[i]|`` (0 = perfect split)."""
        X, single = as_rows(x, self.n_vars)
        values = np.abs(X @ self.demands.T.astype(float) - self.targets).sum(axis=1)
        return float(values[0]) if single else values

    def violations(self, x: np.ndarray) -> np.ndarray | float:
        """Always 0: market split has no constraints."""
        X, single = as_rows(x, self.n_vars)
        return 0.0 if single else np.zeros(X.shape[0])

    def is_feasible(self, x: np.ndarray) -> np.ndarray | bool:
        """Always True: every bitstring is a (possibly imperfect) split."""
        X, single = as_rows(x, self.n_vars)
        return True if single else np.ones(X.shape[0], dtype=bool)

    def to_program(self) -> BinaryProgram:
        """The unconstrained squared surrogate ``min sum_i (demands[i]·x - targets[i])²`` (QUBO).

        This is the standard market-split QUBO, not the problem's own objective: its value is
        the sum of *squared* deviations. Its minimisers coincide with the problem's exactly when
        a perfect split (objective 0) exists; otherwise the two can disagree. Expanded:
        ``sum_i b_i² + sum_j (sum_i d_ij² - 2 b_i d_ij) x_j + sum_{j<k} 2 (DᵀD)_jk x_j x_k``.
        """
        d = self.demands.astype(float)
        b = self.targets.astype(float)
        gram = d.T @ d
        return BinaryProgram(
            linear=np.diag(gram) - 2.0 * (d.T @ b),
            quadratic=2.0 * np.triu(gram, k=1),
            constant=float(b @ b),
            sense="min",
            var_names=[f"x{j}" for j in range(self.n_vars)],
            name=self.name,
        )

    def repair(self, x: np.ndarray) -> np.ndarray:
        """``x`` itself as int8: every bitstring is feasible."""
        X, _ = as_rows(x, self.n_vars)
        return X[0].astype(np.int8)

    @classmethod
    def generate(
        cls,
        seed: int = 0,
        m: int = 3,
        n: int | None = None,
        max_demand: int = 99,
        rng: str = "default",
    ) -> MSP:
        """Cornuéjols–Dawande instance: d_ij ~ U{0..max_demand}, b_i = floor(sum_j d_ij / 2).

        ``n`` defaults to 10(m-1), the size at which these instances become hard (so m = 1
        needs an explicit n). ``rng="legacy"`` draws the demands as the comparative study
        (arXiv:2503.12121) did, ``numpy.random.seed(seed)`` then ``numpy.random.randint(0,
        max_demand + 1, (m, n))``, so ``msp:m=3,seed=2,rng=legacy`` is its instance.
        """
        if rng not in MSP_RNGS:
            raise ConfigError(f"msp generator: unknown rng {rng!r}; allowed: {', '.join(MSP_RNGS)}")
        m = _int_param("m", m, 1)
        if n is None and m == 1:
            raise ConfigError("msp generator: n must be given for m=1 (default 10(m-1) is 0)")
        n = _int_param("n", 10 * (m - 1) if n is None else n, 1)
        max_demand = _int_param("max_demand", max_demand, 0)
        check_seed("msp", seed)
        worst = m * (n * max_demand) ** 2
        if worst > MAX_VALUE:
            raise ConfigError(
                f"msp generator: m·(n·max_demand)² = {worst:.6g} (the largest value of the "
                f"squared-deviation program) is beyond the limit {MAX_VALUE_TEXT}"
            )
        cls.check_generator_size(m=m, n=n)
        if rng == "legacy":
            demands = np.random.RandomState(seed).randint(0, max_demand + 1, size=(m, n))
        else:
            demands = np.random.default_rng(seed).integers(
                0, max_demand, size=(m, n), endpoint=True
            )
        targets = demands.sum(axis=1) // 2
        suffix = "" if max_demand == 99 else f"-d{max_demand}"
        suffix += "-legacy" if rng == "legacy" else ""
        return cls(demands, targets, name=f"msp-m{m}-n{n}{suffix}-s{seed}")

    @classmethod
    def estimate_bytes(cls, m: int, n: int) -> int:  # type: ignore[override]
        """~48 bytes per pair of retailers (the dense Gram matrix of the QUBO, its triangle and
        CSR) and ~64 per demand (the matrix, its float copies, tokens while read)."""
        return 48 * n * n + 64 * m * n + 200 * (m + n)

    @classmethod
    def read(cls, path: str | Path) -> MSP:
        """Parse a ``.msp`` file (see the module docstring); errors name file, line and reason.

        The sizes are checked against the rows the file holds and the memory the instance and
        its QUBO need before anything is allocated.
        """
        path = Path(path)
        text = read_text(path, _FORMATS)

        name: str | None = None
        best_known: float | None = None
        data: list[tuple[int, str]] = []  # (line number, text without comment)
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if stripped.startswith("#"):
                if match := _BEST_KNOWN.match(stripped):
                    if best_known is not None:
                        raise InstanceFormatError("duplicate best_known comment", path, number)
                    value = match.group(1).split()
                    if len(value) != 1:
                        raise InstanceFormatError(
                            "expected one number after best_known", path, number
                        )
                    best_known = parse_real(value[0], "best_known", path, number)
                elif (match := _NAME.match(stripped)) and name is None:
                    name = match.group(1).strip() or None
                continue
            content = raw.split("#", 1)[0]
            if content.strip():
                data.append((number, content))

        last_line = len(text.splitlines()) or None
        if not data:
            if not text.strip():
                last_line = None
            empty = "" if last_line else f" (the file is empty; expected {_FORMATS})"
            raise InstanceFormatError(
                f"file ends early: expected the sizes 'm n'{empty}", path, last_line
            )
        head_line, head = data[0]
        sizes = _words(head)
        if len(sizes) != 2:
            raise InstanceFormatError(
                f"expected the sizes 'm n' (2 numbers), got {len(sizes)}", path, head_line
            )
        m = parse_int(sizes[0], "the number of rows m", path, head_line, min_value=1)
        n = parse_int(sizes[1], "the number of variables n", path, head_line, min_value=1)

        rows = data[1:]
        if len(rows) < m:
            raise InstanceFormatError(
                f"file ends early: expected {m} rows of {n} demands and a target, got {len(rows)}",
                path,
                rows[-1][0] if rows else head_line,
            )
        if len(rows) > m:
            extra_line, extra = rows[m]
            raise InstanceFormatError(
                f"unexpected extra data {extra.strip()!r}: expected end of file after {m} rows",
                path,
                extra_line,
            )
        words = []
        for i, (line, content) in enumerate(rows):  # every row's count before any allocation
            words.append(_words(content))
            if len(words[-1]) != n + 1:
                raise InstanceFormatError(
                    f"row {i + 1} has {len(words[-1])} numbers, expected {n + 1} "
                    f"({n} demands then the target)",
                    path,
                    line,
                )
        why = cls.memory_refusal(m=m, n=n)
        if why:
            raise InstanceFormatError(why, path, head_line)
        demands = np.empty((m, n), dtype=np.int64)
        targets = np.empty(m, dtype=np.int64)
        for i, ((line, _), tokens) in enumerate(zip(rows, words)):
            for j in range(n):
                demands[i, j] = parse_int(
                    tokens[j], f"demand d[{i + 1},{j + 1}]", path, line, min_value=0,
                    max_value=MAX_VALUE,
                )  # fmt: skip
            targets[i] = parse_int(
                tokens[n], f"target b[{i + 1}]", path, line, min_value=0, max_value=MAX_VALUE
            )
        scale = _program_scale(demands, targets)
        if scale.sum() > MAX_VALUE:
            raise InstanceFormatError(
                _scale_message(float(scale.sum())), path, rows[int(np.argmax(scale))][0]
            )
        return cls(demands, targets, name=name or path.stem, best_known=best_known)

    def write(self, path: str | Path) -> None:
        """Save in the ``.msp`` format (name and best_known as comments)."""
        if any(ch in self.name for ch in "\n\r"):
            raise ValueError("the instance name must be a single line")
        m, n = self.demands.shape
        lines = []
        if self.name:
            lines.append(f"# name {self.name}")
        if self.best_known is not None:
            lines.append(f"# best_known {format_number(self.best_known)}")
        lines.append(f"{m} {n}")
        lines += [
            " ".join(map(str, [*row.tolist(), int(b)]))
            for row, b in zip(self.demands, self.targets)
        ]
        Path(path).write_text("\n".join(lines) + "\n")


def _int_param(name: str, value: object, minimum: int) -> int:
    """A generator parameter as an int >= minimum, or ConfigError naming the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"msp generator: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _words(text: str) -> list[str]:
    """Whitespace- (or comma-) separated tokens of a line."""
    return text.replace(",", " ").split()
