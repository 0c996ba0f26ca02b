"""The unbalanced encoder: inequality constraints without slack qubits (one qubit per variable).

Montañez-Barrera, Willsch, Maldonado-Romo & Michielsen, "Unbalanced penalization: a new approach
to encode inequality constraints of combinatorial problems for quantum optimization algorithms",
Quantum Sci. Technol. 9, 025022 (2024), arXiv:2211.13914. An inequality written as
``h(x) = b − a·x ≥ 0`` adds ``−λ1·h(x) + λ2·h(x)²`` to the minimised energy: the linear term
rewards slack and penalises violation, the small quadratic term keeps the knapsack from being
left empty, so a violation (h < 0) costs more than an equal amount of unused room (h > 0) — the
"unbalanced" penalty. It is not a valid penalty in the qubo encoder's sense: the ground state
is usually feasible and near-optimal, not guaranteed optimal (the paper's claim is that the
optimum lies near the ground state).

Scaling. The penalty is not scale-free: λ1 has the units of objective per unit of h and λ2 per
unit of h². The paper tunes λ per problem class; its knapsack values λ1 = 0.96, λ2 = 0.0371 (also
used by the PennyLane QUBO demo and dimod's ``penalization_method="unbalanced"``) are the
defaults here, applied in *average-item units* (``scale="mean"``): the objective is measured in
units of its mean absolute non-zero coefficient C (for MDKP: the mean profit) and each row's h
in units of the mean absolute non-zero coefficient w_r of that row (the mean item weight), i.e.
the added energy is ``C·(−λ1·h/w_r + λ2·(h/w_r)²)``. Then λ1 ≈ 1 means "one average item's
worth of room is worth about one average profit", a Lagrangian price at the average profit
density, so the same λ transfer between instances of different magnitudes. ``scale="none"``
applies λ to the raw h and objective as openqaoa/dimod do. Measured with the defaults
(QUBO minimiser by brute force, 30 Chu–Beasley instances each, n = 10): m = 2 and m = 3: 100 %
feasible; m = 1: 63 % feasible; the ground state is rarely the exact optimum (0–10 %), as
expected of fixed λ. Over 90 instances (m = 1..3, correlated or not) λ1 = 1.25, λ2 = 1.0 trade
feasibility (83 %) for optimal ground states (49 %, against 4 % with the defaults); :func:`tune`
picks λ for a class on small instances.

Other rows: rows no bitstring can violate are dropped (a penalty there would only distort the
landscape); equalities get ``λ_eq·(a·x − b)²`` and the slack-free patterns of the qubo encoder
(``x_u + x_v ≤ 1`` → ``λ_eq·x_u·x_v`` etc.) keep their exact quadratic penalty, with λ_eq
chosen like the qubo encoder's penalty ("auto" = qiskit's ``1 + objective range``, "tight", or
a number; "tight" is proven valid only when no unbalanced row is present).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.encoders.base import Encoder, Encoding
from qbench.encoders.ising import cost_vector
from qbench.encoders.qubo import (
    PENALTY,
    RowPlan,
    auto_penalties,
    build_qubo,
    parse_penalty,
    plan_rows,
    tight_penalty,
)
from qbench.errors import ConfigError, ResourceError
from qbench.params import Param
from qbench.program import FEAS_TOL, BinaryProgram

#: the paper's knapsack values (arXiv:2211.13914), used in average-item units by default
DEFAULT_LAM1 = 0.96
DEFAULT_LAM2 = 0.0371
SCALES = ("mean", "none")
#: largest program :func:`tune` enumerates
TUNE_MAX_VARS = 22


def _mean_abs(values: np.ndarray) -> float:
    values = np.abs(np.asarray(values, dtype=float))
    values = values[values > 0]
    return float(values.mean()) if values.size else 1.0


def scales(program: BinaryProgram, plan: RowPlan, scale: str) -> tuple[float, np.ndarray]:
    """Objective unit C and per-row h units w_r (all 1 for ``scale='none'``)."""
    if scale == "none":
        return 1.0, np.ones(len(plan.inequalities))
    objective = _mean_abs(np.concatenate([program.linear, program.quadratic.data]))
    rows = np.array([_mean_abs(a) for _, _, a, _ in plan.inequalities])
    return objective, rows


def _row_matrix(plan: RowPlan, width: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The slack-free inequality rows ``a·x <= b`` as a sparse matrix and right-hand sides."""
    rows = plan.inequalities
    index = np.repeat(np.arange(len(rows)), [cols.size for _, cols, _, _ in rows])
    cols = np.concatenate([c for _, c, _, _ in rows]) if rows else np.zeros(0, dtype=np.intp)
    vals = np.concatenate([a for _, _, a, _ in rows]) if rows else np.zeros(0)
    U = sp.csr_matrix((vals, (index, cols)), shape=(len(rows), width))
    return U, np.array([b for *_, b in rows], dtype=float)


def unbalanced_terms(
    plan: RowPlan, width: int, lam1: float, lam2: float, unit: float, row_units: np.ndarray
) -> tuple[np.ndarray, sp.csr_matrix, float]:
    """``Σ_r unit·(−λ1 h_r/w_r + λ2 (h_r/w_r)²)``, ``h_r = b_r − a_r·x``, as QUBO parts."""
    U, b = _row_matrix(plan, width)
    one = unit * lam1 / row_units  # per-row coefficient of −h
    two = unit * lam2 / row_units**2  # per-row coefficient of h²
    # −c1 (b − a·x) + c2 (b² − 2 b a·x + (a·x)²)
    linear = U.T @ (one - 2.0 * two * b)
    quad = sp.csr_matrix(U.T @ sp.diags(two) @ U)
    constant = float((-one * b + two * b * b).sum())
    return np.asarray(linear).ravel(), quad, constant


def _lam_eq(program: BinaryProgram, plan: RowPlan, choice: Any) -> tuple[float, float, str]:
    """(equality penalty, pattern penalty, rule) for the rows the unbalanced term does not take."""
    if not (plan.n_pattern or plan.general):
        return 0.0, 0.0, "no equality or pattern rows"
    if choice == "auto":
        general, pattern = auto_penalties(program, plan)
        return general, pattern, "auto: 1 + objective range (qiskit-optimization)"
    if choice == "tight":
        value, rule = tight_penalty(program, plan)
        return value, value, rule
    return float(choice), float(choice), "fixed"


def _check_lam(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if isinstance(value, bool) or not np.isfinite(out) or out < 0:
        raise ConfigError(
            f"encoder 'unbalanced': {name} must be a non-negative number, got {value!r}"
        )
    return out


def encode(
    program: Any,
    *,
    lam1: float = DEFAULT_LAM1,
    lam2: float = DEFAULT_LAM2,
    lam_eq: Any = "auto",
    scale: str = "mean",
) -> Encoding:
    """Unbalanced-penalty QUBO over the program's variables only (no slack qubits)."""
    program = getattr(program, "program", program)
    lam1, lam2 = _check_lam("lam1", lam1), _check_lam("lam2", lam2)
    if scale not in SCALES:
        raise ConfigError(
            f"encoder 'unbalanced': scale {scale!r} not allowed; allowed: {', '.join(SCALES)}"
        )
    choice = parse_penalty(lam_eq, owner="encoder 'unbalanced' (lam_eq)")
    plan = plan_rows(program, drop_redundant=True, slack=False)
    eq_penalty, pattern_penalty, rule = _lam_eq(program, plan, choice)
    unit, row_units = scales(program, plan, scale)
    n = program.n_vars
    extra = unbalanced_terms(plan, n, lam1, lam2, unit, row_units)
    qubo = build_qubo(program, plan, eq_penalty, pattern_penalty, extra=extra)
    metadata = {
        "lam1": lam1,
        "lam2": lam2,
        "lam_eq": eq_penalty if plan.general or not plan.n_pattern else pattern_penalty,
        "lam_eq_rule": rule,
        "scale": scale,
        "objective_unit": unit,
        "row_units": {name: float(w) for (name, *_), w in zip(plan.inequalities, row_units)},
        "rows": plan.counts(),
    }
    return Encoding(encoder="unbalanced", qubo=qubo, program=program, metadata=metadata)


def tune(
    program: Any,
    lam1: Sequence[float] = (0.25, 0.5, 0.75, 0.96, 1.25, 1.5, 2.0),
    lam2: Sequence[float] = (0.01, 0.0371, 0.1, 0.25, 0.5, 1.0),
    *,
    lam_eq: Any = "auto",
    scale: str = "mean",
    max_vars: int = TUNE_MAX_VARS,
) -> dict[str, Any]:
    """Grid search of (λ1, λ2) by brute force on a small program: the pair whose QUBO minimiser
    is feasible with the best objective (ties: first in grid order). For calibrating λ on small
    instances of a class, then encoding larger ones with them.

    The energy is affine in (λ1, λ2) — ``E = E0 + λ1·L + λ2·S`` — so three cost vectors serve
    the whole grid. Returns lam1, lam2, objective and feasible (False when no pair works;
    then the pair with the least violated minimiser is returned).
    """
    program = getattr(program, "program", program)
    n = program.n_vars
    if n > max_vars:
        raise ResourceError(
            f"tune enumerates 2^{n} states for n={n} variables; the limit is max_vars={max_vars}"
        )
    base = encode(program, lam1=0.0, lam2=0.0, lam_eq=lam_eq, scale=scale)
    plan = plan_rows(program, drop_redundant=True, slack=False)
    unit, row_units = scales(program, plan, scale)
    e0 = cost_vector(base.qubo)
    parts = []
    for l1, l2 in ((1.0, 0.0), (0.0, 1.0)):
        lin, quad, const = unbalanced_terms(plan, n, l1, l2, unit, row_units)
        parts.append(cost_vector(BinaryProgram(linear=lin, quadratic=quad, constant=const)))
    shifts = np.arange(n)
    sign = 1.0 if program.sense == "min" else -1.0
    best: tuple | None = None
    for l1, l2 in itertools.product(lam1, lam2):
        s = int(np.argmin(e0 + l1 * parts[0] + l2 * parts[1]))
        x = (s >> shifts) & 1
        violation = float(program.violations(x))
        value = float(program.objective(x))
        key = (violation > FEAS_TOL, violation, sign * value)
        if best is None or key < best[0]:
            best = (key, l1, l2, value, violation <= FEAS_TOL)
    _, l1, l2, value, feasible = best
    return {"lam1": float(l1), "lam2": float(l2), "objective": value, "feasible": feasible}


ENCODER = Encoder(
    name="unbalanced",
    params=(
        Param(
            "lam1",
            float,
            DEFAULT_LAM1,
            "weight of −h(x) (paper's knapsack value 0.96)",
            bounds="[0, inf)",
        ),
        Param(
            "lam2",
            float,
            DEFAULT_LAM2,
            "weight of h(x)² (paper's knapsack value 0.0371)",
            bounds="[0, inf)",
        ),
        Param(
            "lam_eq",
            PENALTY,
            "auto",
            "penalty of equality and x_u+x_v<=1-type rows: 'auto', 'tight' or a number",
        ),
        Param("scale", str, "mean", "units of λ: 'mean' (average item) or 'none' (raw)", SCALES),
    ),
    description="slack-free unbalanced penalization of inequalities (arXiv:2211.13914)",
    encode=encode,
)
