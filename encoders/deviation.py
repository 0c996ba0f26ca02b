"""A sum of absolute deviations ``Σ_i |D_i·x − b_i|`` as a penalty QUBO with integer slack.

The comparative study (arXiv:2503.12121) writes market split as
``min Σ_i (s⁺_i + s⁻_i)`` subject to ``D_i·x + s⁺_i − s⁻_i = b_i`` with integer
``s⁺_i, s⁻_i ∈ [0, U_i]``, ``U_i = Σ_j D_ij`` (its CPLEX models' bounds), and hands that program
to qiskit-optimization: each integer becomes ``⌊log₂ U_i⌋ + 1`` bits in qiskit's bounded-coefficient
code and each equality the penalty ``P (D_i·x + s⁺_i − s⁻_i − b_i)²``. This module builds that
QUBO (48–156 qubits on the paper's m = 2..5 instances). Unlike the squared surrogate
``Σ_i (D_i·x − b_i)²`` it minimises the problem's own objective: for a fixed x, the slack that
makes the residual t = r + s⁺ − s⁻ vanish costs |r| (r = D_i·x − b_i), while any t ≠ 0 costs
at least ``|r| − |t| + P t²``, more than |r| when ``P > 1`` (t is an integer). Hence with the
best slack the energy is exactly ``Σ_i |D_i·x − b_i|`` and ``penalty = "tight"`` is ``P = 2``;
``"auto"`` is qiskit's ``1 + Σ_i 2 U_i`` (the range of the slack objective).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.encoders.base import Encoding
from qbench.errors import ConfigError
from qbench.program import BinaryProgram

#: how a sum-of-absolute-deviations objective enters the ``qubo`` encoder
DEVIATIONS = ("squared", "slack")


def deviation_rows(target: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(D, b)`` of a target whose objective is ``Σ_i |D_i·x − b_i|``, or ConfigError."""
    rows = getattr(target, "deviation_rows", None)
    if rows is None:
        kind = getattr(target, "kind", "binary program")
        raise ConfigError(
            "encoder 'qubo': deviation='slack' encodes an objective that is a sum of absolute "
            f"deviations Σ|D x − b| (market split, msp); a {kind} target has none "
            f"(allowed for it: deviation='squared')"
        )
    D, b = rows()
    return np.asarray(D, dtype=float), np.asarray(b, dtype=float).ravel()


def encode_deviations(target: Any, choice: str | float, codes) -> Encoding:
    """The slack QUBO of ``target``'s absolute deviations (module docstring); ``choice`` is the
    parsed penalty ('auto', 'tight' or a number), ``codes(U)`` the bits' coefficients of an
    integer in [0, U]."""
    D, b = deviation_rows(target)
    program = target.program
    m, n = D.shape
    uppers = [int(round(u)) for u in D.sum(axis=1)]
    row_codes = [np.asarray(codes(u), dtype=float) for u in uppers]
    n_slack = 2 * sum(c.size for c in row_codes)
    layout, names, weights = [], [], []
    # penalty rows M y − b: D_i on x, +coefficients on s⁺_i, −coefficients on s⁻_i
    M = sp.lil_matrix((m, n + n_slack))
    M[:, :n] = D
    at = n
    for i, (upper, coeffs) in enumerate(zip(uppers, row_codes)):
        for side, sign in (("plus", 1.0), ("minus", -1.0)):
            layout.append({"constraint": f"dev{i}_{side}", "upper": upper,
                           "bits": int(coeffs.size), "coefficients": coeffs.tolist()})  # fmt: skip
            names += [f"s_{side}_{i}@int_slack@{k}" for k in range(coeffs.size)]
            weights.append(coeffs)
            M[i, at : at + coeffs.size] = sign * coeffs
            at += coeffs.size
    M = sp.csr_matrix(M)
    slack_weight = np.concatenate([np.zeros(n), *weights])
    if choice == "auto":
        penalty, rule = 1.0 + float(slack_weight.sum()), "auto: 1 + objective range (qiskit)"
    elif choice == "tight":
        penalty, rule = 2.0, "tight: P > 1 keeps the best slack equal to |D x − b|"
    else:
        penalty, rule = float(choice), "fixed"
    qubo = BinaryProgram(
        linear=slack_weight - 2.0 * penalty * (M.T @ b),
        quadratic=sp.csr_matrix(penalty * (M.T @ M)),
        constant=penalty * float(b @ b),
        sense="min",
        var_names=list(program.var_names) + names,
        name=program.name,
    )
    metadata = {
        "deviation": "slack",
        "penalty": penalty,
        "penalty_rule": rule,
        "n_slack": n_slack,
        "slack": layout,
        "rows": {"equality": m},
    }
    return Encoding(encoder="qubo", qubo=qubo, program=program, n_slack=n_slack,
                    metadata=metadata)  # fmt: skip
