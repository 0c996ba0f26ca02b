"""The numpy reference engine: cost-vector phase and reshape butterflies on a full 2ⁿ state.

The fallback when numba is missing (and the default on tiny states); the numba engine is tested
against it. Every function works in place on a 1-D complex state in qiskit's bit order.
"""

from __future__ import annotations

import math

import numpy as np

from qbench.encoders.ising import cost_vector
from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.exact.ansatz import (
    cached_cost,
    mixer_mats,
    qaoa_layers,
    start_amplitudes,
    xy_pairs,
)


def _product_state(amps: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """⊗_q amps[q] in qiskit order (qubit 0 is the fastest-varying index)."""
    state = np.ones(1, dtype=dtype)
    for q in range(amps.shape[0]):
        state = np.concatenate([state * amps[q, 0], state * amps[q, 1]])
    return state


def phase(state: np.ndarray, cost: np.ndarray, gamma: float) -> None:
    """In place ``state *= exp(-i γ cost)`` (one elementwise pass)."""
    state *= np.exp((-1j * gamma) * cost)


def apply_1q(state: np.ndarray, U: np.ndarray) -> None:
    """In place: one 2×2 unitary per qubit, ``U`` of shape (n, 2, 2), a butterfly per qubit."""
    n = state.size.bit_length() - 1
    U = np.asarray(U, dtype=np.complex128).reshape(n, 2, 2)
    for q in range(n):
        v = state.reshape(-1, 2, 1 << q)
        a, b = v[:, 0, :].copy(), v[:, 1, :]
        u = U[q]
        v[:, 0, :] = u[0, 0] * a + u[0, 1] * b
        v[:, 1, :] = u[1, 0] * a + u[1, 1] * b


def apply_xy(state: np.ndarray, pairs: list[tuple[int, int]], beta: float) -> None:
    """In place ``exp(-iβ(X_aX_b + Y_aY_b)/2)`` on each pair (a, b), in the given order."""
    c, s = math.cos(beta), -1j * math.sin(beta)
    for a, b in pairs:
        lo, hi = min(a, b), max(a, b)
        v = state.reshape(-1, 2, 1 << (hi - lo - 1), 2, 1 << lo)
        # axis 1 is the bit of `hi`, axis 3 the bit of `lo`
        i01 = (slice(None), 1, slice(None), 0) if b == hi else (slice(None), 0, slice(None), 1)
        i10 = (slice(None), 0, slice(None), 1) if b == hi else (slice(None), 1, slice(None), 0)
        u, w = v[i01].copy(), v[i10]
        v[i01] = c * u + s * w
        v[i10] = s * u + c * w


def expectation(state: np.ndarray, cost: np.ndarray) -> float:
    """``Σ_s |ψ_s|² cost_s``."""
    return float(np.dot(state.real**2 + state.imag**2, cost))


def probabilities(state: np.ndarray) -> np.ndarray:
    """``|ψ_s|²`` as float64."""
    return state.real.astype(np.float64) ** 2 + state.imag.astype(np.float64) ** 2


def simulate(ansatz: QAOAAnsatz, params: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The QAOA statevector: product start state, then per layer the cost vector's phase and
    the mixer (per-qubit unitaries, or XY pairs in order)."""
    state = _product_state(start_amplitudes(ansatz), dtype)
    cost = cached_cost(ansatz)
    for wq, gamma, beta in qaoa_layers(ansatz, params):
        phase(state, cost if wq is None else cost_vector(wq), gamma)
        if ansatz.mixer.startswith("xy"):
            apply_xy(state, xy_pairs(ansatz), float(beta))
        else:
            apply_1q(state, mixer_mats(ansatz, beta))
    return state
