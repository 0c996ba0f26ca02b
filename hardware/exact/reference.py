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
from qbench.hardware.exact.readout import probabilities_into

#: amplitudes per block of the elementwise passes (phase, butterflies): their temporaries (the
#: phase factor, a copy of a block's upper half, the products) stay O(BUTTERFLY_BLOCK) rather
#: than one or two states
BUTTERFLY_BLOCK = 1 << 17


def _product_state(amps: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """⊗_q amps[q] in qiskit order (qubit 0 is the fastest-varying index), built by doubling in
    one array. The amplitudes are complex128, so the state is complex128 whatever ``dtype``
    (numpy promotes ``state * amps[q, b]``): the numpy engine always computes in double."""
    n = amps.shape[0]
    out_dtype = np.result_type(dtype, amps.dtype) if n else np.dtype(dtype)
    state = np.empty(1 << n, dtype=out_dtype)
    state[0] = 1
    for q in range(n):
        half = 1 << q
        np.multiply(state[:half], amps[q, 1], out=state[half : 2 * half])
        state[:half] *= amps[q, 0]
    return state


def phase(state: np.ndarray, cost: np.ndarray, gamma: float) -> None:
    """In place ``state *= exp(-i γ cost)`` (one elementwise pass, in blocks of
    BUTTERFLY_BLOCK amplitudes: the complex128 factor never spans the whole state)."""
    if state.size <= BUTTERFLY_BLOCK:
        state *= np.exp((-1j * gamma) * cost)
        return
    for a in range(0, state.size, BUTTERFLY_BLOCK):
        b = a + BUTTERFLY_BLOCK
        state[a:b] *= np.exp((-1j * gamma) * cost[a:b])


def butterfly_views(x: np.ndarray, q: int) -> list[np.ndarray]:
    """Views of ``x.reshape(-1, 2, 2**q)`` in blocks of about BUTTERFLY_BLOCK amplitudes (the
    whole array when smaller): a butterfly on qubit q, elementwise on the pairs ``v[:, 0, :]``,
    ``v[:, 1, :]``, gives block by block the same numbers as on the whole array at once, with
    temporaries of one block."""
    whole = x.reshape(-1, 2, 1 << q)
    if x.size <= BUTTERFLY_BLOCK:
        return [whole]
    width = 1 << q
    cols = min(width, BUTTERFLY_BLOCK // 2)
    step = max(1, BUTTERFLY_BLOCK // (2 * width))
    return [
        whole[r : r + step, :, c : c + cols]
        for r in range(0, whole.shape[0], step)
        for c in range(0, width, cols)
    ]


def apply_1q(state: np.ndarray, U: np.ndarray) -> None:
    """In place: one 2×2 unitary per qubit, ``U`` of shape (n, 2, 2), a butterfly per qubit
    (block by block, :func:`butterfly_views`, so the temporaries stay small)."""
    n = state.size.bit_length() - 1
    U = np.asarray(U, dtype=np.complex128).reshape(n, 2, 2)
    for q in range(n):
        u = U[q]
        for v in butterfly_views(state, q):
            a, b = v[:, 0, :].copy(), v[:, 1, :]
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
    """``Σ_s |ψ_s|² cost_s``: |ψ|² squared in the state's precision, chunk by chunk into one
    float64 vector (no other 2ⁿ temporaries), then one dot product."""
    if state.size <= BUTTERFLY_BLOCK:  # the same numbers; small temporaries anyway
        return float(np.dot(state.real**2 + state.imag**2, cost))
    return float(np.dot(probabilities_into(state, np.empty(state.size), "numba"), cost))


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
