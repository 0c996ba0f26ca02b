"""What an ansatz gives the exact engines: the QAOA start state, XY pairs and per-layer phase
QUBO and mixer matrices, and the per-ansatz cache (cost vector, dense QUBO, Aer circuit)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from qbench.encoders.ising import cost_vector
from qbench.hardware.base import Ansatz, QAOAAnsatz
from qbench.hardware.gates import ry, rz
from qbench.program import BinaryProgram


def xy_pairs(ansatz: QAOAAnsatz) -> list[tuple[int, int]]:
    """The XY-mixer pairs in application order (ring: even, odd, closing; complete: lex)."""
    pairs: list[tuple[int, int]] = []
    for group in ansatz.groups:
        g = [int(q) for q in group]
        if len(g) < 2:
            continue
        if ansatz.mixer == "xy_complete":
            pairs += [(g[a], g[b]) for a in range(len(g)) for b in range(a + 1, len(g))]
            continue
        chain = [(g[k], g[k + 1]) for k in range(len(g) - 1)]
        pairs += chain[0::2] + chain[1::2]
        if len(g) > 2:
            pairs.append((g[-1], g[0]))
    return pairs


def start_amplitudes(ansatz: QAOAAnsatz) -> np.ndarray:
    """The product start state as per-qubit amplitudes (n, 2): |+⟩, RY(θ)|0⟩ or a basis state."""
    n = ansatz.n_qubits
    if ansatz.mixer == "x":
        return np.full((n, 2), 1 / math.sqrt(2), dtype=complex)
    if ansatz.mixer == "warm":
        theta = ansatz.warm_thetas()
        return np.stack([np.cos(theta / 2), np.sin(theta / 2)], axis=1).astype(complex)
    bits = (int(ansatz.initial_state) >> np.arange(n)) & 1
    amps = np.zeros((n, 2), dtype=complex)
    amps[np.arange(n), bits] = 1.0
    return amps


def weighted_qubo(qubo: BinaryProgram, gammas: np.ndarray) -> BinaryProgram:
    """ma-QAOA: the QUBO whose coefficients are γ_t·c_t (linear terms, then csr quadratic)."""
    nz = np.flatnonzero(qubo.linear)
    linear = np.zeros(qubo.n_vars)
    linear[nz] = gammas[: nz.size] * qubo.linear[nz]
    q = qubo.quadratic
    quad = sp.csr_matrix((q.data * gammas[nz.size :], q.indices, q.indptr), shape=q.shape)
    return BinaryProgram(linear=linear, quadratic=quad)


def dense_qubo(qubo: BinaryProgram) -> tuple[np.ndarray, np.ndarray]:
    """(h, Qs): linear terms and the symmetric dense coupling matrix (zero diagonal)."""
    q = qubo.quadratic.toarray()
    return np.ascontiguousarray(qubo.linear, dtype=float), q + q.T


def ansatz_cache(ansatz: Ansatz) -> dict:
    """Per-ansatz cache (cost vector, dense QUBO; also the transpiled Aer circuit and Pauli
    groups), reset when ``ansatz.qubo`` is replaced."""
    qubo = getattr(ansatz, "qubo", None)
    cache = ansatz.__dict__.get("_exact_cache")
    if cache is None or cache.get("qubo") is not qubo:
        cache = {"qubo": qubo}
        ansatz.__dict__["_exact_cache"] = cache
    return cache


def cached_cost(ansatz: Ansatz) -> np.ndarray:
    """``cost_vector(qubo) − constant`` (float64), built once per ansatz."""
    cache = ansatz_cache(ansatz)
    if "cost" not in cache:
        cost = cost_vector(ansatz.qubo)
        cost -= ansatz.qubo.constant
        cache["cost"] = cost
    return cache["cost"]


def cached_dense(ansatz: Ansatz) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dense_qubo` of ``ansatz.qubo``, built once per ansatz."""
    cache = ansatz_cache(ansatz)
    if "dense" not in cache:
        cache["dense"] = dense_qubo(ansatz.qubo)
    return cache["dense"]


def qaoa_layers(
    ansatz: QAOAAnsatz, params: np.ndarray
) -> Iterator[tuple[BinaryProgram | None, float, float | np.ndarray]]:
    """Per layer: (phase QUBO or None, γ) and the mixer's β (scalar, or per-qubit array)."""
    p, n = ansatz.p, ansatz.n_qubits
    if params.size != ansatz.n_params:
        raise ValueError(f"expected {ansatz.n_params} parameters, got {params.size}")
    if not ansatz.multi_angle:
        for layer in range(p):
            yield None, float(params[layer]), float(params[p + layer])
        return
    t = ansatz.n_terms
    for layer in range(p):
        block = params[layer * (t + n) : (layer + 1) * (t + n)]
        yield weighted_qubo(ansatz.qubo, block[:t]), 1.0, block[t:]


def mixer_mats(ansatz: QAOAAnsatz, beta: float | np.ndarray) -> np.ndarray:
    """The (n, 2, 2) per-qubit mixer unitaries at β: RX, or RY(θ)·RZ(−2β)·RY(−θ) when warm."""
    n = ansatz.n_qubits
    if ansatz.mixer != "warm" and not np.ndim(beta):  # the common case, without arrays of β
        c, s = math.cos(beta), math.sin(beta)
        return np.broadcast_to(np.array([[c, -1j * s], [-1j * s, c]]), (n, 2, 2))
    betas = np.broadcast_to(np.asarray(beta, dtype=float), (n,))
    if ansatz.mixer == "warm":
        theta = ansatz.warm_thetas()
        return np.stack([ry(theta[j]) @ rz(-2 * betas[j]) @ ry(-theta[j]) for j in range(n)])
    mats = np.empty((n, 2, 2), dtype=complex)  # rx(β) per qubit, without n small arrays
    mats[:, 0, 0] = mats[:, 1, 1] = np.cos(betas)
    mats[:, 0, 1] = mats[:, 1, 0] = -1j * np.sin(betas)
    return mats
