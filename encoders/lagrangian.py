"""Slack-free Lagrangian encoding: a QUBO over the program's own variables, no slack qubits.

Every constraint row is written as ``g_j(x) = a_j·x − b_j (<=, ==) 0`` (``>=`` rows are
negated). For multipliers λ (λ_j >= 0 on inequality rows, free sign on equality rows) and an
augmentation weight ρ >= 0 the QUBO is

    E_λ,ρ(x) = s·f(x) + Σ_ineq λ_j g_j(x) + Σ_eq [λ_e g_e(x) + (ρ/2) g_e(x)²]

with s = +1 for min and −1 for max programs. Inequality rows (including the MIS edge rows
x_u + x_v <= 1) enter linearly only: a quadratic term for an inequality needs a slack register
or max(0, g)², which is not quadratic, and a squared term on a feasible but inactive row would
break weak duality. Equality rows may also carry the squared term, which is zero on every
feasible point, so for every admissible (λ, ρ)

    L(λ, ρ) = min_x E_λ,ρ(x) <= s·f(x*)     (weak duality)

and the energy at a feasible point never exceeds ``s·f`` there. ``g(x_λ)`` at a minimiser x_λ is
a supergradient of the concave dual function L(·, ρ).

The augmented method squares inequality rows too (``squared`` of :func:`lagrangian_qubo`, the
quadratic branch of the standard max(0, λ + ρg)² term): still no slack qubits, but no weak
duality either, so that method claims no bound on inequality programs.

The multipliers are chosen by the meta-solver :mod:`qbench.solvers.lagrangian` (five update
methods around any inner QUBO solver); this encoder names it (``meta_solver``), so a run with
``--encoder lagrangian --solver S`` is that search with S inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.encoders.base import Encoder, Encoding
from qbench.errors import ConfigError
from qbench.params import ListOf, Param
from qbench.program import BinaryProgram

# --------------------------------------------------------------------------------------------
# the encoding


@dataclass(frozen=True)
class Rows:
    """The constraint rows of a program as ``G x − h (<=, ==) 0``; ``eq`` marks equality rows."""

    G: sp.csr_matrix
    h: np.ndarray
    eq: np.ndarray

    @classmethod
    def of(cls, program: BinaryProgram) -> Rows:
        """Flip the ``>=`` rows so every row reads ``g(x) <= 0`` or ``g(x) == 0``."""
        senses = np.array(program.senses, dtype=object)
        flip = np.where(senses == ">=", -1.0, 1.0)
        G = sp.csr_matrix(sp.diags(flip) @ program.A) if senses.size else program.A.tocsr()
        return cls(G=G, h=flip * program.b, eq=senses == "==")

    @property
    def m(self) -> int:
        return self.h.size

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """g(x) of one bitstring (the supergradient of the dual function at its λ)."""
        return np.asarray(self.G @ np.asarray(x, dtype=float)).ravel() - self.h

    def violation(self, g: np.ndarray) -> np.ndarray:
        """How much each row is broken by: max(g, 0) for inequalities, |g| for equalities."""
        return np.where(self.eq, np.abs(g), np.maximum(g, 0.0))

    def project(self, lam: np.ndarray) -> np.ndarray:
        """Projection onto the admissible multipliers: λ >= 0 on inequality rows."""
        return np.where(self.eq, lam, np.maximum(lam, 0.0))


def parse_lam(lam: Any, rows: Rows, owner: str = "encoder 'lagrangian'") -> np.ndarray:
    """Multipliers from None (zeros), a number (broadcast), 'a,b,...' text or a sequence."""
    m = rows.m
    if lam is None:
        return np.zeros(m)
    if isinstance(lam, str):
        try:
            values = [float(tok) for tok in lam.replace(";", ",").split(",") if tok.strip()]
        except ValueError:
            raise ConfigError(
                f"{owner}: lam={lam!r} must be a number or a comma-separated list of numbers"
            ) from None
        arr = np.array(values, dtype=float)
    else:
        try:
            arr = np.atleast_1d(np.asarray(lam, dtype=float)).ravel()
        except (TypeError, ValueError):
            raise ConfigError(
                f"{owner}: lam={lam!r} is not a number or a list of numbers"
            ) from None
    if arr.size == 1:
        arr = np.full(m, float(arr[0]))
    if arr.size != m:
        raise ConfigError(
            f"{owner}: lam has {arr.size} values but the program has {m} constraint rows "
            "(give one number to broadcast, or one per row)"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{owner}: lam values must be finite, got {arr.tolist()}")
    bad = np.flatnonzero(~rows.eq & (arr < 0))
    if bad.size:
        raise ConfigError(
            f"{owner}: multipliers of inequality rows must be >= 0; rows {bad.tolist()} have "
            f"{arr[bad].tolist()}"
        )
    return arr


def lagrangian_qubo(
    program: BinaryProgram,
    lam: np.ndarray,
    rho: float,
    rows: Rows | None = None,
    squared: np.ndarray | None = None,
) -> BinaryProgram:
    """The QUBO E_λ,ρ(x) of the module docstring as an unconstrained min BinaryProgram.

    ``squared`` (a mask over the rows; default: the equality rows) names the rows that carry
    (ρ/2)g²: the augmented Lagrangian's x-step squares inequality rows too
    (:mod:`qbench.solvers.lagrangian`).
    """
    rows = Rows.of(program) if rows is None else rows
    s = 1.0 if program.sense == "min" else -1.0
    lam = np.asarray(lam, dtype=float)
    linear = s * program.linear + np.asarray(rows.G.T @ lam).ravel()
    constant = s * program.constant - float(lam @ rows.h)
    quadratic = s * program.quadratic
    squared = rows.eq if squared is None else np.asarray(squared, dtype=bool)
    if rho and squared.any():
        Gs = rows.G[np.flatnonzero(squared)]
        hs = rows.h[squared]
        # (ρ/2)(Gs x − hs)² = (ρ/2)[xᵀ GsᵀGs x − 2 hsᵀ Gs x + hs·hs]; x_i² = x_i folds in
        quadratic = quadratic + (0.5 * rho) * (Gs.T @ Gs)
        linear = linear - rho * np.asarray(Gs.T @ hs).ravel()
        constant += 0.5 * rho * float(hs @ hs)
    return BinaryProgram(
        linear=linear,
        quadratic=quadratic,
        constant=constant,
        sense="min",
        var_names=program.var_names,
        name=f"{program.name}-lagrangian" if program.name else "lagrangian",
    )


def check_rho(rho: Any, owner: str) -> float:
    """ρ as a finite float >= 0 (None: 0), or ConfigError naming ``owner``."""
    try:
        value = float(0.0 if rho is None else rho)
    except (TypeError, ValueError):
        raise ConfigError(f"{owner}: rho={rho!r} is not a number") from None
    if not (np.isfinite(value) and value >= 0):
        raise ConfigError(f"{owner}: rho must be a finite number >= 0, got {rho!r}")
    return value


def encode(
    program: Any, *, lam: Any = None, rho: float | None = 0.0, method: str = "fixed"
) -> Encoding:
    """Slack-free Lagrangian QUBO of a BinaryProgram (or Problem) for fixed multipliers."""
    owner = "encoder 'lagrangian'"
    program = getattr(program, "program", program)
    rows = Rows.of(program)
    lam_arr = parse_lam(lam, rows, owner)
    rho_val = check_rho(rho, owner)
    qubo = lagrangian_qubo(program, lam_arr, rho_val, rows)
    return Encoding(
        encoder="lagrangian",
        qubo=qubo,
        program=program,
        n_slack=0,
        metadata={
            "lam": lam_arr.tolist(),
            "rho": rho_val,
            "method": method,
            "n_ineq": int((~rows.eq).sum()),
            "n_eq": int(rows.eq.sum()),
        },
    )


ENCODER = Encoder(
    name="lagrangian",
    params=(
        Param(
            "lam",
            ListOf(float),
            None,
            "multipliers: one number broadcast to all rows or a comma-separated list "
            "(None: 0; inequality rows need >= 0)",
        ),
        Param(
            "rho",
            float,
            0.0,
            "weight of the squared residual (ρ/2)g² on equality rows",
            bounds="[0, inf)",
        ),
    ),
    description="slack-free Lagrangian QUBO: objective + λ·g(x) (+ (ρ/2)g² on equality rows); "
    "qubits = problem variables",
    encode=encode,
    meta_solver="lagrangian",
)
