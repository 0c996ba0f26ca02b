"""Pauli expectations from a statevector: every ⟨P_k⟩ from one basis rotation and one
Walsh–Hadamard transform per qubit-wise commuting group."""

from __future__ import annotations

import numpy as np

from qbench.hardware.exact import reference
from qbench.hardware.exact.readout import probabilities_into
from qbench.hardware.gates import BASIS_CHANGE
from qbench.hardware.paulis import pauli_groups


def walsh_hadamard_in_place(values: np.ndarray) -> np.ndarray:
    """:func:`qbench.hardware.paulis.walsh_hadamard` over ``values`` itself (float64, length
    2ⁿ), block by block: the same sums and differences, so the same result, without the copy
    and the half-size temporary."""
    n = values.size.bit_length() - 1
    for q in range(n):
        for v in reference.butterfly_views(values, q):
            a = v[:, 0, :].copy()
            v[:, 0, :] += v[:, 1, :]
            np.subtract(a, v[:, 1, :], out=v[:, 1, :])
    return values


def pauli_expectations(
    state: np.ndarray,
    paulis,
    groups: list[tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    """⟨ψ|P_k|ψ⟩ of every Pauli from one statevector: per qubit-wise commuting group, rotate a
    copy into the group's basis, take |ψ|² and one Walsh–Hadamard transform; ⟨P⟩ is the entry
    at P's support mask (times the label sign). Cost O(groups · n 2ⁿ), not O(#Paulis · 2ⁿ).

    Memory: one complex128 copy (reused by every group), one float64 vector for |ψ|² and its
    transform (in place), block-sized temporaries. ``overwrite=True`` lets the last group rotate
    a complex128 ``state`` itself (the caller no longer needs it), the copy freed before.
    """
    n = state.size.bit_length() - 1
    groups = pauli_groups(paulis) if groups is None else groups
    support = (paulis.x | paulis.z).astype(np.int64) @ (np.int64(1) << np.arange(n))
    sign = np.where(paulis.phase == 2, -1.0, 1.0)
    out = np.empty(len(paulis))
    rotated: np.ndarray | None = None
    probs = np.empty(state.size)
    in_place = overwrite and state.dtype == np.complex128 and state.flags.writeable
    for g, (basis, idx) in enumerate(groups):
        if in_place and g == len(groups) - 1:
            rotated = state  # the copy, if any, is freed here
        elif rotated is None:
            rotated = np.array(state, dtype=np.complex128, copy=True)
        else:
            np.copyto(rotated, state)
        if np.any((basis == 1) | (basis == 2)):
            reference.apply_1q(rotated, np.stack([BASIS_CHANGE[int(b)] for b in basis]))
        parity = walsh_hadamard_in_place(probabilities_into(rotated, probs, "numpy"))
        out[idx] = sign[idx] * parity[support[idx]]
    return out
