"""The qubo encoder: penalty QUBO with log-binary slack, the same QUBO qiskit-optimization builds.

Energy (minimised): ``E(x, s) = sign·f(x) + Σ_rows penalty_row(x, s)`` with sign = −1 for max
programs. Rows are treated exactly as ``QuadraticProgramToQubo`` treats them, in this order:

* **Special patterns, no slack** (qiskit's ``LinearInequalityToPenalty``, Glover et al. 2019):
  ``Σ_S x ≤ 1`` (|S| ≥ 2, all coefficients 1) → ``P Σ_{i<j∈S} x_i x_j`` (so MIS needs exactly
  one qubit per node); ``Σ_S x ≥ |S|−1`` → ``P Σ_{i<j} (1−x_i)(1−x_j)``; ``x − y ≤ 0`` →
  ``P (x − x y)``; ``x − y ≥ 0`` → ``P (y − x y)``.
* **Equalities** ``a·x = b`` → ``P (a·x − b)²``.
* **Inequalities**: ``≥`` rows are negated into ``a·x ≤ b``, b is floored (coefficients must be
  integers, as qiskit's integer slack requires; otherwise ConfigError), and an integer slack
  ``s ∈ [0, U]``, ``U = b − min(a·x)``, gives ``P (a·x + s − b)²``. The slack is written in the
  bounded-coefficient binary code of qiskit's ``IntegerToBinary`` (Karimi & Ronagh 2017):
  ``k = ⌊log₂ U⌋ + 1`` bits with coefficients 1, 2, …, 2^(k−2) and a last one
  ``U − (2^(k−1) − 1)``, so every value 0..U is reachable and qubit counts match qiskit's. If
  ``U = 0`` the row is an equality without slack; if ``U < 0`` (no x can satisfy the row) it is
  kept, like qiskit does, as the equality penalty ``P (a·x − b)²`` with 0 slack bits, so the
  QUBO still prefers the least violation. A row whose maximum activity is ≤ b can never be
  violated: with ``drop_redundant=True`` it is dropped (no slack qubits); by default it is kept
  with its slack, as qiskit does, so qubit counts equal the published ones (SAC-94 pet5 has one
  such row: 122 qubits kept, 114 dropped).

Slack qubits follow the program's variables, grouped per row in row order, named
``<row>@int_slack@<k>`` as qiskit names them, so the QUBO is qiskit's bit for bit.

Penalty ``P``:

* ``"auto"`` reproduces qiskit exactly: ``1 + (upper − lower bound of the objective)`` from the
  sums of positive/negative coefficients, or ``1e5`` when a constraint coefficient or right-hand
  side is not an integer. qiskit applies it in two stages: pattern rows get the bound of the
  objective, the remaining rows the bound of (objective + pattern penalties); both are used
  here (``penalty`` and ``penalty_pattern`` in the metadata; they differ only when a program
  mixes pattern rows with other rows).
* ``"tight"``: the smallest penalty of the form ``1 + δ`` this module can prove valid, i.e. every
  QUBO minimiser decodes to a feasible optimum of the program (with g = sign·f the minimised
  objective; a feasible x with its best slack has ``E = g(x)``, so it suffices that every
  infeasible x has ``min_s E(x, s) > g*``):

  - *packing rows* (every kept row is ``a·x ≤ b`` with a ≥ 0 integer and b ≥ 0, or a
    ``Σ_S x ≤ 1`` pattern; MDKP and MIS): ``δ = max_i`` of the largest objective gain of
    dropping variable i, ``−g_i − Σ_j min(0, Q_ij)``, over the variables of the rows. From an
    infeasible x, repeatedly drop a chosen variable of a violated row: every drop lowers the
    penalty sum by at least 1 (a pattern row loses ≥ 1 pair; a slack row's ``(a·x − b)₊²`` with
    integer excess e ≥ 1 falls by ≥ 2e − 1) and raises g by at most δ, and it stops at a
    feasible y. So ``g* ≤ g(y) ≤ g(x) + δ·pen(x) < g(x) + P·pen(x)``. For MIS, P = 2.
  - *assignment rows* (the rows are exactly the 2k one-hot rows of a k×k assignment matrix; QAP
    and TSP) and a min-form objective with non-negative coefficients: ``δ = max_v`` of the
    largest cost of placing v = (i, c) into a partial permutation, ``g_v + min(Σ_{j≠i} max_{l≠c}
    Q_{v,(j,l)}, Σ_{l≠c} max_{j≠i} Q_{v,(j,l)})``. For an infeasible x take a maximum matching
    M ⊆ x: every row not covered by M is empty or sends a one into an over-full column, so
    ``pen(x) ≥ k − |M|``; completing M to a permutation π adds k − |M| variables, each costing
    at most δ, and dropping x∖M does not raise g (coefficients ≥ 0), so
    ``g* ≤ g(π) ≤ g(x) + δ·pen(x) < E(x)``.
  - no constraints: penalty 0 (nothing to penalise); anything else: the auto rule.

  Both proofs need the strict margin only (P > δ); the ``1 +`` follows qiskit's convention and
  keeps a unit energy gap for integer data.
* a number (float or numeric string, > 0): used for every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.encoders.base import Encoder, Encoding
from qbench.encoders.deviation import DEVIATIONS, encode_deviations
from qbench.errors import ConfigError
from qbench.params import OneOf, Param, Positive
from qbench.problems.base import assignment_constraints
from qbench.program import BinaryProgram

#: qiskit-optimization's penalty when constraint data are not all integers (not a proven bound)
QISKIT_FALLBACK_PENALTY = 1e5
#: tolerance for "this coefficient is an integer" and for flooring right-hand sides
_INT_TOL = 1e-9


@dataclass
class RowPlan:
    """How each constraint row of a program enters the QUBO (see the module docstring)."""

    n_vars: int
    #: pattern rows ``Σ_S x ≤ 1`` as 0/1 rows (penalty: pairs within S)
    le_one: sp.csr_matrix
    #: pattern rows ``Σ_S x ≥ |S|−1`` as 0/1 rows (penalty: pairs of zeros within S)
    ge_all_but_one: sp.csr_matrix
    #: pattern rows ``x − y ≤ 0`` as (x, y) index pairs (penalty x − x y; x ≥ y written as y ≤ x)
    implications: np.ndarray
    #: squared-penalty rows over variables + slack bits: ``(M y − beta)²``
    M: sp.csr_matrix
    beta: np.ndarray
    #: per kept general row: name, kind ('equality', 'slack', 'no_slack', 'infeasible')
    general: list[dict[str, Any]] = field(default_factory=list)
    #: slack layout: one entry per row with slack bits
    slack: list[dict[str, Any]] = field(default_factory=list)
    #: without slack (``plan_rows(..., slack=False)``): inequality rows as (name, cols, a, b)
    #: of ``a·x <= b``, for slack-free penalties such as the unbalanced one
    inequalities: list[tuple[str, np.ndarray, np.ndarray, float]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    pattern_names: list[str] = field(default_factory=list)
    #: every kept row is a packing row (a ≥ 0 integer, b ≥ 0, ≤) or a Σ x ≤ 1 pattern
    packing: bool = True
    #: all original constraint data (coefficients, right-hand sides) are integers
    integral_all: bool = True
    #: all data of the general rows after conversion are integers
    integral_general: bool = True

    @property
    def n_slack(self) -> int:
        return sum(entry["bits"] for entry in self.slack)

    @property
    def n_rows(self) -> int:
        """Rows that enter the QUBO (patterns, squared rows, slack-free inequalities)."""
        return self.n_pattern + len(self.general) + len(self.inequalities)

    @property
    def n_pattern(self) -> int:
        return self.le_one.shape[0] + self.ge_all_but_one.shape[0] + len(self.implications)

    def counts(self) -> dict[str, int]:
        """How many rows of each kind, for the metadata."""
        kinds = [row["kind"] for row in self.general]
        return {
            "pattern": self.n_pattern,
            "equality": kinds.count("equality"),
            "slack": kinds.count("slack"),
            "no_slack": kinds.count("no_slack"),
            "infeasible": kinds.count("infeasible"),
            "dropped": len(self.dropped),
            **({"slack_free": len(self.inequalities)} if self.inequalities else {}),
        }


def slack_coefficients(upper: int) -> list[int]:
    """qiskit's IntegerToBinary code of an integer in [0, upper]: 1, 2, 4, …, and a remainder."""
    upper = int(upper)
    if upper <= 0:
        return []
    power = upper.bit_length() - 1  # floor(log2(upper)), exact for integers
    return [1 << i for i in range(power)] + [upper - ((1 << power) - 1)]


def _is_integer(values: np.ndarray) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.all(np.abs(values - np.round(values)) <= _INT_TOL))


def plan_rows(program: BinaryProgram, drop_redundant: bool = False, slack: bool = True) -> RowPlan:
    """Classify every constraint row (pattern, equality, slack, dropped) and lay out the slack.

    With ``slack=False`` the non-pattern inequality rows are only collected (in ``a·x <= b``
    form, any real coefficients) in ``plan.inequalities`` for a slack-free penalty.
    """
    n = program.n_vars
    A = sp.csr_matrix(program.A)
    A.sort_indices()
    le_one, ge_rows, impl = [], [], []
    m_rows: list[tuple[np.ndarray, np.ndarray]] = []
    beta: list[float] = []
    plan = RowPlan(
        n_vars=n,
        le_one=None,
        ge_all_but_one=None,
        implications=None,
        M=None,
        beta=None,
        integral_all=_is_integer(A.data) and _is_integer(program.b),
    )
    n_slack = 0
    for r, (sense, rhs, name) in enumerate(
        zip(program.senses, program.b, program.constraint_names)
    ):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        cols, vals = A.indices[lo:hi], A.data[lo:hi]
        keep = vals != 0
        cols, vals = cols[keep], vals[keep]
        k = cols.size
        all_ones = k > 0 and bool(np.all(vals == 1))
        # qiskit's LinearInequalityToPenalty patterns, matched in its order
        if sense != "==" and k == 2 and rhs == 0 and vals.min() == -1 and vals.max() == 1:
            pos, neg = (cols[0], cols[1]) if vals[0] > 0 else (cols[1], cols[0])
            # x_pos − x_neg ≤ 0 means x_pos ≤ x_neg; ≥ 0 means x_neg ≤ x_pos
            impl.append((pos, neg) if sense == "<=" else (neg, pos))
            plan.pattern_names.append(name)
            plan.packing = False
            continue
        if sense == "<=" and k >= 2 and rhs == 1 and all_ones:
            le_one.append(cols)
            plan.pattern_names.append(name)
            continue
        if sense == ">=" and k >= 2 and rhs == k - 1 and all_ones:
            ge_rows.append(cols)
            plan.pattern_names.append(name)
            plan.packing = False
            continue
        if sense == "==":
            m_rows.append((cols, vals))
            beta.append(float(rhs))
            plan.general.append({"constraint": name, "kind": "equality"})
            plan.packing = False
            if not (_is_integer(vals) and _is_integer([rhs])):
                plan.integral_general = False
            continue
        # an inequality: write it as a·x <= b
        sign = 1.0 if sense == "<=" else -1.0
        a, b = sign * vals, sign * float(rhs)
        lo_act, hi_act = float(a[a < 0].sum()), float(a[a > 0].sum())
        if drop_redundant and hi_act <= b + _INT_TOL:
            plan.dropped.append(name)
            continue
        if not slack:
            plan.inequalities.append((name, cols, a, b))
            plan.packing = False
            continue
        if not _is_integer(a):
            raise ConfigError(
                f"encoder 'qubo': constraint {name!r} has non-integer coefficients, so it "
                "cannot take an integer slack register (as in qiskit-optimization); scale "
                "the row to integers or use the 'unbalanced' encoder"
            )
        a = np.round(a)
        b = math.floor(b + _INT_TOL)
        upper = int(round(b - lo_act))
        if np.any(a < 0) or b < 0:
            plan.packing = False
        entry = {"constraint": name}
        if upper > 0:
            coeffs = slack_coefficients(upper)
            slack_cols = n + n_slack + np.arange(len(coeffs))
            n_slack += len(coeffs)
            cols = np.concatenate([cols, slack_cols])
            a = np.concatenate([a, np.asarray(coeffs, dtype=float)])
            entry.update(kind="slack", bits=len(coeffs), coefficients=coeffs, range=upper)
            plan.slack.append(
                {"constraint": name, "bits": len(coeffs), "coefficients": coeffs, "range": upper}
            )
        else:
            entry["kind"] = "no_slack" if upper == 0 else "infeasible"
            if upper < 0:
                plan.packing = False
        m_rows.append((cols, a))
        beta.append(float(b))
        plan.general.append(entry)
    width = n + n_slack
    plan.le_one = _zero_one_rows(le_one, n)
    plan.ge_all_but_one = _zero_one_rows(ge_rows, n)
    plan.implications = np.array(impl, dtype=np.intp).reshape(-1, 2)
    rows = np.repeat(np.arange(len(m_rows)), [c.size for c, _ in m_rows])
    cols = np.concatenate([c for c, _ in m_rows]) if m_rows else np.zeros(0, dtype=np.intp)
    vals = np.concatenate([v for _, v in m_rows]) if m_rows else np.zeros(0)
    plan.M = sp.csr_matrix((vals, (rows, cols)), shape=(len(m_rows), width))
    plan.beta = np.asarray(beta, dtype=float)
    return plan


def _zero_one_rows(rows: list[np.ndarray], n: int) -> sp.csr_matrix:
    index = np.repeat(np.arange(len(rows)), [r.size for r in rows])
    cols = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    return sp.csr_matrix((np.ones(cols.size), (index, cols)), shape=(len(rows), n))


def pattern_terms(plan: RowPlan, width: int) -> tuple[np.ndarray, sp.csr_matrix, float]:
    """Linear, quadratic and constant parts of the pattern penalties with P = 1."""
    n = plan.n_vars
    linear = np.zeros(width)
    quad = sp.csr_matrix((width, width))
    constant = 0.0
    for R in (plan.le_one, plan.ge_all_but_one):
        if R.shape[0]:
            pairs = sp.triu(R.T @ R, k=1)  # Σ_rows Σ_{i<j in row} x_i x_j
            quad = quad + _pad(pairs, width)
    ge = plan.ge_all_but_one
    if ge.shape[0]:
        sizes = np.asarray(ge.sum(axis=1)).ravel()
        # Σ_{i<j}(1−x_i)(1−x_j) = C(k,2) − (k−1) Σ x_i + Σ_{i<j} x_i x_j
        linear[:n] -= ge.T @ (sizes - 1.0)
        constant += float((sizes * (sizes - 1) / 2).sum())
    if len(plan.implications):
        x, y = plan.implications[:, 0], plan.implications[:, 1]
        np.add.at(linear, x, 1.0)
        quad = quad + sp.csr_matrix((-np.ones(x.size), (x, y)), shape=(width, width))
    return linear, sp.csr_matrix(quad), constant


def _pad(mat: sp.spmatrix, width: int) -> sp.csr_matrix:
    mat = sp.coo_matrix(mat)
    return sp.csr_matrix((mat.data, (mat.row, mat.col)), shape=(width, width))


def objective_part(program: BinaryProgram, width: int) -> tuple[np.ndarray, sp.csr_matrix, float]:
    """The min-form objective ``sign·f`` padded to ``width`` bits."""
    sign = 1.0 if program.sense == "min" else -1.0
    linear = np.zeros(width)
    linear[: program.n_vars] = sign * program.linear
    return linear, _pad(sign * program.quadratic, width), sign * program.constant


def _range(linear: np.ndarray, quad: sp.spmatrix) -> float:
    """Upper minus lower bound of a canonical objective: the sum of absolute coefficients."""
    canon = BinaryProgram(linear=linear, quadratic=quad)
    lo, hi = canon.objective_bounds()
    return hi - lo


def auto_penalties(program: BinaryProgram, plan: RowPlan) -> tuple[float, float]:
    """qiskit's automatic penalties: (general rows, pattern rows), see the module docstring."""
    width = program.n_vars
    lin, quad, _ = objective_part(program, width)
    base = _range(lin, quad)
    pattern = 1.0 + base if plan.integral_all else QISKIT_FALLBACK_PENALTY
    if not plan.n_pattern:
        general = 1.0 + base
    else:
        p_lin, p_quad, _ = pattern_terms(plan, width)
        general = 1.0 + _range(lin + pattern * p_lin, quad + pattern * p_quad)
    if not plan.integral_general:
        general = QISKIT_FALLBACK_PENALTY
    return general, pattern


def tight_penalty(program: BinaryProgram, plan: RowPlan) -> tuple[float, str]:
    """The structure-specific valid penalty ``1 + δ`` (see the module docstring) and its rule."""
    n = program.n_vars
    sign = 1.0 if program.sense == "min" else -1.0
    g_lin = sign * program.linear
    g_q = sign * program.quadratic
    sym = sp.csr_matrix(g_q + g_q.T)
    if plan.packing:
        members = np.zeros(n, dtype=bool)
        members[plan.le_one.indices] = True
        M = plan.M[:, :n]
        members[M.indices[M.data > 0]] = True
        neg = np.asarray(sym.minimum(0).sum(axis=1)).ravel()
        gain = np.maximum(0.0, -g_lin - neg)
        delta = float(gain[members].max(initial=0.0))
        return 1.0 + delta, "tight: packing rows, 1 + largest gain of dropping one variable"
    k = math.isqrt(n)
    is_assignment = (
        k * k == n
        and k >= 1
        and plan.n_pattern == 0
        and not plan.dropped
        and program.n_constraints == 2 * k
        and all(s == "==" for s in program.senses)
        and np.all(program.b == 1)
        and (sp.csr_matrix(program.A) != assignment_constraints(k)).nnz == 0
    )
    if is_assignment and np.all(g_lin >= 0) and np.all(g_q.data >= 0):
        T = sym.toarray().reshape(k, k, k, k)  # T[i, c, j, l] = Q_{(i,c),(j,l)}
        same_row = np.eye(k, dtype=bool)[:, None, :, None]
        same_col = np.eye(k, dtype=bool)[None, :, None, :]
        T = np.where(same_row | same_col, 0.0, T)
        by_rows = T.max(axis=3).sum(axis=2)  # one partner per other row j
        by_cols = T.max(axis=2).sum(axis=2)  # one partner per other column l
        cost = g_lin.reshape(k, k) + np.minimum(by_rows, by_cols)
        return 1.0 + float(cost.max()), "tight: assignment rows, 1 + largest insertion cost"
    general, pattern = auto_penalties(program, plan)
    return max(general, pattern), "tight: no structure-specific bound applies, qiskit auto rule"


#: the ``penalty`` parameter's type: a rule name or a positive finite number
PENALTY = OneOf("auto", "tight", Positive(float))


def parse_penalty(penalty: Any, owner: str = "encoder 'qubo'") -> str | float:
    """'auto', 'tight' or a positive finite number (numeric strings accepted)."""
    try:
        return PENALTY(penalty)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{owner}: penalty must be {PENALTY.description}, got {penalty!r}"
        ) from None


def build_qubo(
    program: BinaryProgram,
    plan: RowPlan,
    penalty: float,
    pattern_penalty: float,
    extra: tuple[np.ndarray, sp.spmatrix, float] | None = None,
) -> BinaryProgram:
    """``sign·f + pattern_penalty·patterns + penalty·‖M y − β‖² (+ extra)`` as a min QUBO."""
    width = program.n_vars + plan.n_slack
    linear, quad, constant = objective_part(program, width)
    p_lin, p_quad, p_const = pattern_terms(plan, width)
    linear = linear + pattern_penalty * p_lin
    quad = quad + pattern_penalty * p_quad
    constant += pattern_penalty * p_const
    if plan.M.shape[0]:
        M = plan.M
        quad = quad + penalty * (M.T @ M)
        linear = linear - 2.0 * penalty * (M.T @ plan.beta)
        constant += penalty * float(plan.beta @ plan.beta)
    if extra is not None:
        linear = linear + extra[0]
        quad = quad + extra[1]
        constant += extra[2]
    names = list(program.var_names) + [
        f"{entry['constraint']}@int_slack@{i}" for entry in plan.slack for i in range(entry["bits"])
    ]
    return BinaryProgram(
        linear=linear,
        quadratic=sp.csr_matrix(quad),
        constant=constant,
        sense="min",
        var_names=names,
        name=program.name,
    )


def encode(
    program: Any,
    *,
    penalty: Any = "auto",
    drop_redundant: bool = False,
    deviation: str = "squared",
) -> Encoding:
    """Penalty QUBO with slack registers; ``program`` is a BinaryProgram (or a Problem).

    ``deviation="slack"`` encodes a problem whose objective is a sum of absolute deviations
    (market split) with integer slack as the comparative study does
    (:mod:`qbench.encoders.deviation`); ``"squared"`` uses its program (the squared surrogate).
    """
    choice = parse_penalty(penalty)
    if deviation == "slack":
        return encode_deviations(program, choice, slack_coefficients)
    program = getattr(program, "program", program)
    plan = plan_rows(program, drop_redundant=bool(drop_redundant))
    has_rows = plan.n_rows > 0
    if choice == "auto":
        general, pattern = auto_penalties(program, plan) if has_rows else (0.0, 0.0)
        rule = "auto: 1 + objective range (qiskit-optimization)" if has_rows else "no constraints"
    elif choice == "tight":
        value, rule = tight_penalty(program, plan) if has_rows else (0.0, "no constraints")
        general = pattern = value
    else:
        general = pattern = float(choice)
        rule = "fixed"
    qubo = build_qubo(program, plan, general, pattern)
    metadata: dict[str, Any] = {
        "penalty": general if plan.general or not plan.n_pattern else pattern,
        "penalty_rule": rule,
        "n_slack": plan.n_slack,
        "slack": plan.slack,
        "rows": plan.counts(),
    }
    if plan.n_pattern:
        metadata["penalty_pattern"] = pattern
    return Encoding(
        encoder="qubo", qubo=qubo, program=program, n_slack=plan.n_slack, metadata=metadata
    )


ENCODER = Encoder(
    name="qubo",
    params=(
        Param(
            "penalty",
            PENALTY,
            "auto",
            "'auto' (qiskit's 1 + objective range), 'tight' (smallest proven-valid "
            "penalty for packing/assignment rows) or a positive number",
        ),
        Param(
            "drop_redundant",
            bool,
            False,
            "drop rows that no bitstring can violate (fewer slack qubits than qiskit)",
        ),
        Param(
            "deviation",
            str,
            "squared",
            "a sum-of-absolute-deviations objective (msp): its squared surrogate, or integer "
            "slack s+ - s- per row as the comparative study encodes it",
            DEVIATIONS,
            id_default=False,
        ),
    ),
    description="penalty QUBO with log-binary slack registers, as qiskit-optimization builds it",
    encode=encode,
)
