"""A run's answer, kept beside its row: the solution bitstring (packed), the final parameters, the
optimisation trace and the final distribution's most probable states.

Rows hold scalars for tables; the answer holds what a result needs to be verified, resubmitted
or reused (parameter transfer): ``x`` is the answer on the problem's variables, ``x_raw`` the
answer before repair when it differs, ``params`` the solver's final parameters (e.g. QAOA
angles), ``trace`` the objective per evaluation, ``top_states`` the :data:`TOP_STATES` most
probable states of the final distribution as ``[bitstring over the QUBO's qubits, probability]``
(bit i of qubit i is character i), ``trajectory`` a multiplier search's per-iteration values
(:data:`TRAJECTORY_KEEP`, for convergence figures). The store keeps answers in their own table,
keyed by run_id.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: how many of the final distribution's most probable states an answer keeps
TOP_STATES = 32


def pack_bits(bits: Any) -> dict[str, Any]:
    """A bitstring as ``{"n": length, "hex": packed bytes}`` (bit i → byte i//8, bit i%8)."""
    x = np.asarray(bits, dtype=np.uint8).ravel()
    return {"n": int(x.size), "hex": np.packbits(x, bitorder="little").tobytes().hex()}


def unpack_bits(packed: dict[str, Any]) -> np.ndarray:
    """The int8 bitstring of :func:`pack_bits`' output."""
    raw = np.frombuffer(bytes.fromhex(packed["hex"]), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[: int(packed["n"])].astype(np.int8)


def state_text(state: int, n: int) -> str:
    """A basis state index as its bitstring over n qubits, qubit i first."""
    return "".join("1" if (int(state) >> i) & 1 else "0" for i in range(n))


def top_states(
    states: Any, probs: Any, n_qubits: int, k: int = TOP_STATES
) -> list[list[str | float]]:
    """The ``k`` most probable states as ``[bitstring, probability]``, most probable first."""
    probs = np.asarray(probs, dtype=float).ravel()
    states = np.asarray(states).ravel()
    if probs.size == 0:
        return []
    order = np.argsort(-probs, kind="stable")[:k]
    return [[state_text(states[i], n_qubits), float(probs[i])] for i in order]


#: the columns of a Lagrangian search's trajectory an answer keeps (not the per-row λ)
TRAJECTORY_KEEP = (
    "iteration", "rho", "dual_bound", "best_bound", "objective", "best_objective", "violation",
    "feasible",
)  # fmt: skip


def trajectory_lists(df: Any) -> dict[str, list]:
    """The kept trajectory columns as JSON-ready lists (missing values as None)."""
    out: dict[str, list] = {}
    for col in TRAJECTORY_KEEP:
        if col in df:
            out[col] = [
                None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v
                for v in df[col].astype(object).tolist()
            ]
    return out


def answer(
    x: Any, x_raw: Any = None, info: dict[str, Any] | None = None, n_qubits: int | None = None
) -> dict[str, Any] | None:
    """The answer of a run from its final ``x`` (problem variables), the answer before repair,
    and the solver's ``info``; None when the run has no answer."""
    if x is None:
        return None
    info = info or {}
    out: dict[str, Any] = {"x": pack_bits(x)}
    if x_raw is not None and not np.array_equal(np.asarray(x_raw), np.asarray(x)):
        out["x_raw"] = pack_bits(x_raw)
    if info.get("params") is not None:
        out["params"] = [float(v) for v in info["params"]]
    if info.get("history"):
        out["trace"] = [float(v) for v in info["history"]]
    if info.get("trajectory") is not None:
        out["trajectory"] = trajectory_lists(info["trajectory"])
    if "final_states" in info and n_qubits:
        out["top_states"] = top_states(info["final_states"], info["final_probs"], n_qubits)
    return out
