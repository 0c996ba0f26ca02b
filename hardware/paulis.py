"""Pauli observables read from measured bits: qubit-wise commuting groups, Z-parities, and the
Walsh–Hadamard transform that gives every Z-parity of a distribution at once.

Shared by every backend that estimates Pauli lists (exact, Aer, devices) and by solvers and dry
runs that count measurement bases.
"""

from __future__ import annotations

import numpy as np

from qbench.hardware.base import Distribution


def pauli_groups(paulis) -> list[tuple[np.ndarray, np.ndarray]]:
    """Qubit-wise commuting groups of a PauliList: [(per-qubit basis 0=I/1=X/2=Y/3=Z, indices)].

    Greedy first fit in list order; one group per measurement basis, so PCE's X/Y/Z correlators
    form 3 groups however many there are.
    """
    letters = paulis.x.astype(np.int8) + 2 * paulis.z.astype(np.int8)  # 1 X, 2 Z, 3 Y
    letters = np.choose(letters, [0, 1, 3, 2])  # → 0 I, 1 X, 2 Y, 3 Z
    bases: list[np.ndarray] = []
    members: list[list[int]] = []
    for k, row in enumerate(letters):
        for basis, group in zip(bases, members):
            if np.all((row == 0) | (basis == 0) | (row == basis)):
                np.maximum(basis, row, out=basis)  # fill qubits the group left free
                group.append(k)
                break
        else:
            bases.append(row.copy())
            members.append([k])
    return [(b, np.array(m, dtype=np.int64)) for b, m in zip(bases, members)]


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh–Hadamard transform: ``out[m] = Σ_s values[s] (−1)^popcount(s & m)``.

    n butterflies over a copy (O(n 2ⁿ)): every Z-parity expectation of a distribution at once.
    """
    out = np.array(values, dtype=float, copy=True)
    n = out.size.bit_length() - 1
    for q in range(n):
        v = out.reshape(-1, 2, 1 << q)
        a = v[:, 0, :].copy()
        v[:, 0, :] += v[:, 1, :]
        np.subtract(a, v[:, 1, :], out=v[:, 1, :])
    return out


def z_expectations(dist: Distribution, masks: list[int], n: int) -> np.ndarray:
    """⟨Z_S⟩ = Σ_s p(s)·(−1)^{|s ∧ S|} of each support mask S over a sampled distribution."""
    probs = np.asarray(dist.probs, dtype=float)
    if n <= 62:
        states = np.asarray(dist.states, dtype=np.int64)
        m = np.asarray(masks, dtype=np.int64)
        parity = np.bitwise_count(states[:, None] & m[None, :]) & 1
        return probs @ (1.0 - 2.0 * parity)
    parity = np.array([[(int(s) & int(k)).bit_count() & 1 for k in masks] for s in dist.states])
    return probs @ (1.0 - 2.0 * parity.reshape(len(dist.states), len(masks)))
