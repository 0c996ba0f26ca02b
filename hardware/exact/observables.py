"""Pauli expectations from a statevector: every ⟨P_k⟩ from one basis rotation and one
Walsh–Hadamard transform per qubit-wise commuting group."""

from __future__ import annotations

import numpy as np

from qbench.hardware.exact import reference
from qbench.hardware.gates import BASIS_CHANGE
from qbench.hardware.paulis import pauli_groups, walsh_hadamard


def pauli_expectations(
    state: np.ndarray, paulis, groups: list[tuple[np.ndarray, np.ndarray]] | None = None
) -> np.ndarray:
    """⟨ψ|P_k|ψ⟩ of every Pauli from one statevector: per qubit-wise commuting group, rotate a
    copy into the group's basis, take |ψ|² and one Walsh–Hadamard transform; ⟨P⟩ is the entry
    at P's support mask (times the label sign). Cost O(groups · n 2ⁿ), not O(#Paulis · 2ⁿ)."""
    n = state.size.bit_length() - 1
    groups = pauli_groups(paulis) if groups is None else groups
    support = (paulis.x | paulis.z).astype(np.int64) @ (np.int64(1) << np.arange(n))
    sign = np.where(paulis.phase == 2, -1.0, 1.0)
    out = np.empty(len(paulis))
    for basis, idx in groups:
        rotated = np.array(state, dtype=np.complex128, copy=True)
        if np.any((basis == 1) | (basis == 2)):
            reference.apply_1q(rotated, np.stack([BASIS_CHANGE[int(b)] for b in basis]))
        parity = walsh_hadamard(reference.probabilities(rotated))
        out[idx] = sign[idx] * parity[support[idx]]
    return out
