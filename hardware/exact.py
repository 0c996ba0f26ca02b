"""The in-house exact statevector engine for QAOA on diagonal (QUBO) costs, and its Backend.

State: a 1-D complex array of length 2ⁿ in qiskit's bit order (index s, qubit i = bit i).

Two engines compute the same thing:

* ``"numba"`` (default when numba imports): blocked passes over memory. A *pass* picks a set of
  ``block_bits`` "local" qubits (the low qubits, or a group of high qubits plus the lowest others
  so that each gathered row is a contiguous run), and for each assignment of the other ("outer")
  qubits gathers the 2^block_bits amplitudes into a cache-resident buffer, applies in order any
  sequence of 1-qubit gates and XY rotations on local qubits, and scatters back; passes run in
  parallel (``prange``) over the outer assignments. The cost phase ``exp(-iγ(C − const))`` is fused
  into the first pass of a layer without a 2ⁿ cost vector and without a sin/cos per amplitude:
  for fixed outer bits, ``C = C_outer + C_local(lo) + Σ_{i local} b_i w_i(outer)``, so the phase is
  a precomputed local table times a product over local bits built by doubling (``block_bits``+1
  sin/cos per outer assignment). The start state (a product state) is written by the first pass
  (no read), and the energy ``Σ|ψ|²C`` is accumulated by the last pass (read-only). A QAOA layer
  with the x/warm/ma mixers costs 1 + ⌈(n − block_bits)/(block_bits − 3)⌉ passes (2 up to n = 23
  with the default block_bits = 13).
* ``"numpy"``: the reference: cost vector (:func:`qbench.encoders.ising.cost_vector`), one
  ``np.exp`` phase, and a reshape butterfly per qubit (``state.reshape(-1, 2, 2**q)``).

Both agree to ~1e-13 in complex128 (tests check 1e-12).

For a :class:`CircuitAnsatz` the statevector comes from Aer (``AerSimulator(method=
"statevector")``, circuit transpiled once per ansatz, then bind + run + ``save_statevector``).
Measured for efficient_su2 reps=2 (one evaluation incl. binding, 2 shared cores), qiskit's
``Statevector(circuit.assign_parameters(params))`` took 0.024 / 1.0 / 6.3 / 36 s at
n = 12 / 16 / 20 / 22 against Aer's 0.034 / 0.096 / 0.84 / 2.9 s, so Aer is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qbench.encoders.ising import cost_vector
from qbench.hardware.base import (
    Ansatz,
    Backend,
    CircuitAnsatz,
    Distribution,
    PauliAnsatz,
    QAOAAnsatz,
)
from qbench.memory import require_memory
from qbench.program import BinaryProgram

try:  # numba is an optional accelerator; numpy is the fallback
    import numba
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

ENGINES = ("numba", "numpy")
DTYPES = {"complex128": np.dtype(np.complex128), "complex64": np.dtype(np.complex64)}
#: local qubits per blocked pass: 2^13 amplitudes (128 KiB in complex128) per buffer
BLOCK_BITS = 13
#: lowest qubits always kept local in a high-qubit pass, so gathered rows are >= 8 amplitudes
CHUNK_BITS = 3

_ONE_Q, _XY, _RX = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


#: below this many qubits the default engine is numpy: numba's threads cost more than they save
#: on tiny states, and far more when the cores are busy (0.09 s vs 0.0007 s seen at n = 10)
NUMBA_MIN_QUBITS = 14


def _engine(engine: str | None, n_qubits: int | None = None) -> str:
    """The engine to use: the given one, else numba when installed and the state is not tiny."""
    if engine is None:
        small = n_qubits is not None and n_qubits < NUMBA_MIN_QUBITS
        return "numba" if HAVE_NUMBA and not small else "numpy"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    if engine == "numba" and not HAVE_NUMBA:
        raise ValueError("engine 'numba' requested but numba is not installed; use 'numpy'")
    return engine


def _dtype(dtype) -> np.dtype:
    dt = DTYPES.get(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    if dt not in DTYPES.values():
        raise ValueError(f"dtype must be complex128 or complex64, got {dtype!r}")
    return dt


def rx(beta: float) -> np.ndarray:
    """RX(2β) = exp(-iβX), the standard QAOA mixer on one qubit."""
    c, s = math.cos(beta), math.sin(beta)
    return np.array([[c, -1j * s], [-1j * s, c]])


def ry(theta: float) -> np.ndarray:
    """RY(θ) = exp(-iθY/2)."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rz(phi: float) -> np.ndarray:
    """RZ(φ) = exp(-iφZ/2)."""
    return np.diag([np.exp(-0.5j * phi), np.exp(0.5j * phi)])


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


def _product_state(amps: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """⊗_q amps[q] in qiskit order (qubit 0 is the fastest-varying index)."""
    state = np.ones(1, dtype=dtype)
    for q in range(amps.shape[0]):
        state = np.concatenate([state * amps[q, 0], state * amps[q, 1]])
    return state


def _weighted_qubo(qubo: BinaryProgram, gammas: np.ndarray) -> BinaryProgram:
    """ma-QAOA: the QUBO whose coefficients are γ_t·c_t (linear terms, then csr quadratic)."""
    nz = np.flatnonzero(qubo.linear)
    linear = np.zeros(qubo.n_vars)
    linear[nz] = gammas[: nz.size] * qubo.linear[nz]
    q = qubo.quadratic
    quad = sp.csr_matrix((q.data * gammas[nz.size :], q.indices, q.indptr), shape=q.shape)
    return BinaryProgram(linear=linear, quadratic=quad)


def _dense(qubo: BinaryProgram) -> tuple[np.ndarray, np.ndarray]:
    """(h, Qs): linear terms and the symmetric dense coupling matrix (zero diagonal)."""
    q = qubo.quadratic.toarray()
    return np.ascontiguousarray(qubo.linear, dtype=float), q + q.T


def _cache(ansatz: Ansatz) -> dict:
    """Per-ansatz cache (cost vector, dense QUBO), reset when ``ansatz.qubo`` is replaced."""
    qubo = getattr(ansatz, "qubo", None)
    cache = ansatz.__dict__.get("_exact_cache")
    if cache is None or cache.get("qubo") is not qubo:
        cache = {"qubo": qubo}
        ansatz.__dict__["_exact_cache"] = cache
    return cache


def cached_cost(ansatz: Ansatz) -> np.ndarray:
    """``cost_vector(qubo) − constant`` (float64), built once per ansatz."""
    cache = _cache(ansatz)
    if "cost" not in cache:
        cost = cost_vector(ansatz.qubo)
        cost -= ansatz.qubo.constant
        cache["cost"] = cost
    return cache["cost"]


def _cached_dense(ansatz: Ansatz) -> tuple[np.ndarray, np.ndarray]:
    cache = _cache(ansatz)
    if "dense" not in cache:
        cache["dense"] = _dense(ansatz.qubo)
    return cache["dense"]


# ---------------------------------------------------------------------------------------------
# numba kernels
# ---------------------------------------------------------------------------------------------

if HAVE_NUMBA:

    @njit(cache=True)
    def _local_energy(lbits, h, qs):  # pragma: no cover - compiled
        """Energy of the local qubits alone for every local index (doubling, O(2^L))."""
        nl = lbits.size
        size = 1 << nl
        energy = np.zeros(size)
        work = np.zeros(size)
        for t in range(nl):
            half = 1 << t
            i = lbits[t]
            work[0] = h[i]
            for u in range(t):
                step = 1 << u
                c = qs[lbits[u], i]
                for m in range(step):
                    work[step + m] = work[m] + c
            for m in range(half):
                energy[half + m] = energy[m] + work[m]
        return energy

    @njit(parallel=True, cache=True, fastmath=True)
    def _run_pass(  # pragma: no cover - compiled
        state,
        lbits,
        obits,
        kinds,
        qa,
        qb,
        mats,
        init_amps,
        do_init,
        ph_h,
        ph_q,
        gamma,
        do_phase,
        ex_h,
        ex_q,
        do_exp,
        store,
        threads,
    ):
        """One blocked pass: [init | gather] → [phase] → gates → [energy] → [scatter].

        The buffer is split into real and imaginary float64 arrays so the butterflies vectorise.
        """
        nl = lbits.size
        nh = obits.size
        size = 1 << nl
        n_outer = 1 << nh
        off = np.zeros(size, np.int64)
        for t in range(nl):
            half = 1 << t
            v = np.int64(1) << lbits[t]
            for m in range(half):
                off[half + m] = off[m] + v
        tre = np.ones(size)
        tim = np.zeros(size)
        if do_phase:
            el = _local_energy(lbits, ph_h, ph_q)
            for i in range(size):
                a = -gamma * el[i]
                tre[i] = math.cos(a)
                tim[i] = math.sin(a)
        ex_local = _local_energy(lbits, ex_h, ex_q) if do_exp else np.zeros(1)
        nth = max(1, min(threads, n_outer))
        partial = np.zeros(nth)
        for th in prange(nth):
            bre = np.empty(size)
            bim = np.empty(size)
            dre = np.empty(size)
            dim = np.empty(size)
            setbits = np.empty(max(nh, 1), np.int64)
            acc = 0.0
            for o in range(th * n_outer // nth, (th + 1) * n_outer // nth):
                base = np.int64(0)
                ns = 0
                for k in range(nh):
                    if (o >> k) & 1:
                        base |= np.int64(1) << obits[k]
                        setbits[ns] = obits[k]
                        ns += 1
                if do_init:
                    f = 1.0 + 0.0j
                    for k in range(nh):
                        f *= init_amps[obits[k], (o >> k) & 1]
                    bre[0] = f.real
                    bim[0] = f.imag
                    for t in range(nl):
                        half = 1 << t
                        a0 = init_amps[lbits[t], 0]
                        a1 = init_amps[lbits[t], 1]
                        for m in range(half):
                            xr = bre[m]
                            xi = bim[m]
                            bre[half + m] = xr * a1.real - xi * a1.imag
                            bim[half + m] = xr * a1.imag + xi * a1.real
                            bre[m] = xr * a0.real - xi * a0.imag
                            bim[m] = xr * a0.imag + xi * a0.real
                else:
                    for i in range(size):
                        z = state[base + off[i]]
                        bre[i] = z.real
                        bim[i] = z.imag
                if do_phase:
                    ch = 0.0
                    for k in range(ns):
                        j = setbits[k]
                        ch += ph_h[j]
                        for k2 in range(k + 1, ns):
                            ch += ph_q[j, setbits[k2]]
                    a = -gamma * ch
                    dre[0] = math.cos(a)
                    dim[0] = math.sin(a)
                    for t in range(nl):
                        i = lbits[t]
                        w = 0.0
                        for k in range(ns):
                            w += ph_q[i, setbits[k]]
                        a = -gamma * w
                        fr = math.cos(a)
                        fi = math.sin(a)
                        half = 1 << t
                        for m in range(half):
                            dre[half + m] = dre[m] * fr - dim[m] * fi
                            dim[half + m] = dre[m] * fi + dim[m] * fr
                    for i in range(size):
                        pr = tre[i] * dre[i] - tim[i] * dim[i]
                        pi = tre[i] * dim[i] + tim[i] * dre[i]
                        xr = bre[i]
                        xi = bim[i]
                        bre[i] = xr * pr - xi * pi
                        bim[i] = xr * pi + xi * pr
                for g in range(kinds.size):
                    ta = qa[g]
                    kind = kinds[g]
                    if kind == 0:  # general 2x2
                        u00r = mats[g, 0, 0].real
                        u00i = mats[g, 0, 0].imag
                        u01r = mats[g, 0, 1].real
                        u01i = mats[g, 0, 1].imag
                        u10r = mats[g, 1, 0].real
                        u10i = mats[g, 1, 0].imag
                        u11r = mats[g, 1, 1].real
                        u11i = mats[g, 1, 1].imag
                        s = 1 << ta
                        for i0 in range(0, size, 2 * s):
                            ar = bre[i0 : i0 + s]
                            ai = bim[i0 : i0 + s]
                            br = bre[i0 + s : i0 + 2 * s]
                            bi = bim[i0 + s : i0 + 2 * s]
                            for j in range(s):
                                xr = ar[j]
                                xi = ai[j]
                                yr = br[j]
                                yi = bi[j]
                                ar[j] = u00r * xr - u00i * xi + u01r * yr - u01i * yi
                                ai[j] = u00r * xi + u00i * xr + u01r * yi + u01i * yr
                                br[j] = u10r * xr - u10i * xi + u11r * yr - u11i * yi
                                bi[j] = u10r * xi + u10i * xr + u11r * yi + u11i * yr
                    elif kind == 2:  # RX-type: [[c, -i s], [-i s, c]]
                        c = mats[g, 0, 0].real
                        sn = -mats[g, 0, 1].imag
                        s = 1 << ta
                        for i0 in range(0, size, 2 * s):
                            ar = bre[i0 : i0 + s]
                            ai = bim[i0 : i0 + s]
                            br = bre[i0 + s : i0 + 2 * s]
                            bi = bim[i0 + s : i0 + 2 * s]
                            for j in range(s):
                                xr = ar[j]
                                xi = ai[j]
                                yr = br[j]
                                yi = bi[j]
                                ar[j] = c * xr + sn * yi
                                ai[j] = c * xi - sn * yr
                                br[j] = c * yr + sn * xi
                                bi[j] = c * yi - sn * xr
                    else:  # XY Givens rotation on local qubits (ta, tb)
                        tb = qb[g]
                        c = mats[g, 0, 0].real
                        sn = -mats[g, 0, 1].imag
                        lo_t = min(ta, tb)
                        hi_t = max(ta, tb)
                        lo_mask = (1 << lo_t) - 1
                        hi_mask = (1 << hi_t) - 1
                        bit_a = 1 << ta
                        bit_b = 1 << tb
                        for m in range(size >> 2):
                            x = ((m >> lo_t) << (lo_t + 1)) | (m & lo_mask)
                            x = ((x >> hi_t) << (hi_t + 1)) | (x & hi_mask)
                            i01 = x | bit_b
                            i10 = x | bit_a
                            xr = bre[i01]
                            xi = bim[i01]
                            yr = bre[i10]
                            yi = bim[i10]
                            bre[i01] = c * xr + sn * yi
                            bim[i01] = c * xi - sn * yr
                            bre[i10] = c * yr + sn * xi
                            bim[i10] = c * yi - sn * xr
                if do_exp:
                    ch = 0.0
                    for k in range(ns):
                        j = setbits[k]
                        ch += ex_h[j]
                        for k2 in range(k + 1, ns):
                            ch += ex_q[j, setbits[k2]]
                    dre[0] = ch
                    for t in range(nl):
                        i = lbits[t]
                        w = 0.0
                        for k in range(ns):
                            w += ex_q[i, setbits[k]]
                        half = 1 << t
                        for m in range(half):
                            dre[half + m] = dre[m] + w
                    for i in range(size):
                        acc += (bre[i] * bre[i] + bim[i] * bim[i]) * (ex_local[i] + dre[i])
                if store:
                    for i in range(size):
                        state[base + off[i]] = complex(bre[i], bim[i])
            partial[th] = acc
        return partial.sum()

    @njit(parallel=True, cache=True)
    def _phase_kernel(state, cost, gamma):  # pragma: no cover - compiled
        for i in prange(state.size):
            a = -gamma * cost[i]
            state[i] = state[i] * complex(math.cos(a), math.sin(a))

    @njit(parallel=True, cache=True)
    def _expectation_kernel(state, cost):  # pragma: no cover - compiled
        acc = 0.0
        for i in prange(state.size):
            z = state[i]
            acc += (z.real * z.real + z.imag * z.imag) * cost[i]
        return acc

    @njit(parallel=True, cache=True)
    def _probabilities_kernel(state, out):  # pragma: no cover - compiled
        for i in prange(state.size):
            z = state[i]
            out[i] = z.real * z.real + z.imag * z.imag


# ---------------------------------------------------------------------------------------------
# pass scheduling (numba engine)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Pass:
    """A blocked pass: its local qubits (buffer bit t is qubit lbits[t]) and gates on them."""

    lbits: np.ndarray
    obits: np.ndarray
    kinds: np.ndarray
    qa: np.ndarray
    qb: np.ndarray
    mats: np.ndarray


def _make_pass(n: int, used: set[int], gates: list, block: int) -> _Pass:
    """Local set = used qubits filled up with the lowest other qubits to ``block`` qubits."""
    local = set(used)
    q = 0
    while len(local) < block:
        if q not in local:
            local.add(q)
        q += 1
    # buffer bit order: gate-free qubits lowest, then gated ones with the smallest CHUNK_BITS
    # rotated to the top, so every butterfly has a stride >= 2^CHUNK_BITS (vectorised loops)
    gated = sorted({q for _, qubits, _ in gates for q in qubits})
    free = sorted(local - set(gated))
    k = min(max(0, CHUNK_BITS - len(free)), len(gated))
    lbits = np.array(free + gated[k:] + gated[:k], dtype=np.int64)
    pos = {int(b): t for t, b in enumerate(lbits)}
    obits = np.array([q for q in range(n) if q not in local], dtype=np.int64)
    m = len(gates)
    kinds = np.zeros(m, np.int64)
    qa = np.zeros(m, np.int64)
    qb = np.zeros(m, np.int64)
    mats = np.zeros((m, 2, 2), np.complex128)
    for g, (kind, qubits, mat) in enumerate(gates):
        kinds[g] = kind
        qa[g] = pos[qubits[0]]
        qb[g] = pos[qubits[-1]]
        mats[g] = mat
    return _Pass(lbits, obits, kinds, qa, qb, mats)


def _is_rx(u: np.ndarray) -> bool:
    """True for ``[[c, -is], [-is, c]]`` (c, s real): the cheaper real-coefficient butterfly."""
    return bool(
        u[0, 0] == u[1, 1] and u[0, 1] == u[1, 0] and u[0, 0].imag == 0 and u[0, 1].real == 0
    )


def _schedule_1q(n: int, mats: np.ndarray, block: int) -> list[_Pass]:
    """Commuting 1-qubit gates: low qubits in one pass, high qubits in balanced groups."""
    block = min(block, n)
    gates = [(_RX if _is_rx(mats[q]) else _ONE_Q, (q,), mats[q]) for q in range(n)]
    passes = [_make_pass(n, set(range(block)), gates[:block], block)]
    high = list(range(block, n))
    if high:
        budget = max(1, block - min(CHUNK_BITS, block - 1))
        groups = np.array_split(np.array(high), math.ceil(len(high) / budget))
        for grp in groups:
            sel = [int(q) for q in grp]
            passes.append(_make_pass(n, set(sel), [gates[q] for q in sel], block))
    return passes


def _schedule_seq(n: int, gates: list, block: int) -> list[_Pass]:
    """An ordered gate sequence, greedily packed: a pass's touched qubits fit its local set."""
    block = min(block, n)
    chunk = min(CHUNK_BITS, block - 1) if block > 1 else 0
    budget = block - chunk
    low = set(range(chunk))
    passes: list[_Pass] = []
    used: set[int] = set(range(block))  # the first pass is the phase pass over the low qubits
    current: list = []
    for gate in gates:
        trial = used | set(gate[1])
        if len(trial - low) > budget:
            passes.append(_make_pass(n, used, current, block))
            used, current = set(gate[1]), []
            trial = used
        used = trial
        current.append(gate)
    passes.append(_make_pass(n, used, current, block))
    return passes


def _xy_gate(a: int, b: int, beta: float) -> tuple:
    mat = np.array([[math.cos(beta), -1j * math.sin(beta)], [0, 0]])
    return (_XY, (a, b), mat)


def _run(
    state: np.ndarray,
    ps: _Pass,
    *,
    init: np.ndarray | None = None,
    phase: tuple | None = None,
    energy: tuple | None = None,
    store: bool = True,
) -> float:
    zero_h, zero_q = np.zeros(1), np.zeros((1, 1))
    ph_h, ph_q, gamma = phase if phase is not None else (zero_h, zero_q, 0.0)
    ex_h, ex_q = energy if energy is not None else (zero_h, zero_q)
    amps = init if init is not None else np.zeros((1, 2), np.complex128)
    return _run_pass(
        state,
        ps.lbits,
        ps.obits,
        ps.kinds,
        ps.qa,
        ps.qb,
        ps.mats,
        amps,
        init is not None,
        ph_h,
        ph_q,
        float(gamma),
        phase is not None,
        ex_h,
        ex_q,
        energy is not None,
        store,
        numba.get_num_threads(),
    )


# ---------------------------------------------------------------------------------------------
# primitives
# ---------------------------------------------------------------------------------------------


def phase(state: np.ndarray, cost: np.ndarray, gamma: float, engine: str | None = None) -> None:
    """In place ``state *= exp(-i γ cost)`` (one elementwise pass)."""
    if _engine(engine) == "numba":
        _phase_kernel(state, cost, float(gamma))
    else:
        state *= np.exp((-1j * gamma) * cost)


def apply_1q(
    state: np.ndarray, U: np.ndarray, engine: str | None = None, block_bits: int = BLOCK_BITS
) -> None:
    """In place: one 2×2 unitary per qubit, ``U`` of shape (n, 2, 2) (mixers RX, RY·RZ·RY)."""
    n = state.size.bit_length() - 1
    U = np.asarray(U, dtype=np.complex128).reshape(n, 2, 2)
    if _engine(engine) == "numba":
        for ps in _schedule_1q(n, U, block_bits):
            _run(state, ps)
        return
    for q in range(n):
        v = state.reshape(-1, 2, 1 << q)
        a, b = v[:, 0, :].copy(), v[:, 1, :]
        u = U[q]
        v[:, 0, :] = u[0, 0] * a + u[0, 1] * b
        v[:, 1, :] = u[1, 0] * a + u[1, 1] * b


def apply_xy(
    state: np.ndarray,
    pairs: list[tuple[int, int]],
    beta: float,
    engine: str | None = None,
    block_bits: int = BLOCK_BITS,
) -> None:
    """In place ``exp(-iβ(X_aX_b + Y_aY_b)/2)`` on each pair (a, b), in the given order.

    A Givens rotation of the amplitudes of ``|..0_a..1_b..⟩`` and ``|..1_a..0_b..⟩``: cos β on
    the diagonal, −i sin β off it; the other amplitudes are untouched.
    """
    n = state.size.bit_length() - 1
    if _engine(engine) == "numba":
        gates = [_xy_gate(a, b, beta) for a, b in pairs]
        for ps in _xy_passes(n, gates, block_bits):
            _run(state, ps)
        return
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


def _xy_passes(n: int, gates: list, block: int) -> list[_Pass]:
    return [ps for ps in _schedule_seq(n, gates, block) if ps.kinds.size]


def expectation(state: np.ndarray, cost: np.ndarray, engine: str | None = None) -> float:
    """``Σ_s |ψ_s|² cost_s``."""
    if _engine(engine) == "numba":
        return float(_expectation_kernel(state, cost))
    return float(np.dot(state.real**2 + state.imag**2, cost))


def probabilities(state: np.ndarray, engine: str | None = None) -> np.ndarray:
    """``|ψ_s|²`` as float64."""
    if _engine(engine) == "numba":
        out = np.empty(state.size)
        _probabilities_kernel(state, out)
        return out
    return state.real.astype(np.float64) ** 2 + state.imag.astype(np.float64) ** 2


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


#: basis change before a Z measurement: X → H, Y → H·S†, Z/I → nothing
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_BASIS_CHANGE = {
    0: np.eye(2, dtype=complex),
    1: _H,
    2: _H @ np.diag([1, -1j]),
    3: np.eye(2, dtype=complex),
}


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


def pauli_expectations(state: np.ndarray, paulis, groups=None) -> np.ndarray:
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
            apply_1q(rotated, np.stack([_BASIS_CHANGE[int(b)] for b in basis]), "numpy")
        parity = walsh_hadamard(probabilities(rotated, "numpy"))
        out[idx] = sign[idx] * parity[support[idx]]
    return out


# ---------------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------------


def state_bytes(n: int, dtype=np.complex128) -> int:
    """Bytes of one 2ⁿ statevector."""
    return (1 << n) * _dtype(dtype).itemsize


def required_bytes(
    n: int, dtype=np.complex128, engine: str | None = None, circuit: bool = False
) -> int:
    """Peak bytes of one evaluation or exact distribution (measured peaks, not a guess).

    numba: the state plus 16·2ⁿ for an exact distribution (float64 probabilities + int64
    states); numpy: the state, the float64 cost vector, and temporaries up to twice the state
    (the phase factor array and the butterfly half-copies), or the distribution arrays.
    A circuit ansatz (Aer) adds Aer's own complex128 state and the returned copy (32·2ⁿ).
    """
    size = 1 << n
    sb = state_bytes(n, dtype)
    if circuit:
        return 32 * size + required_bytes(n, dtype, engine)
    if _engine(engine) == "numba":
        return sb + 16 * size
    return sb + 8 * size + max(2 * sb, 16 * size)


def check_memory(
    n: int,
    dtype=np.complex128,
    engine: str | None = None,
    max_bytes: int | None = None,
    circuit: bool = False,
) -> None:
    """ResourceError (n, required and available bytes) when an n-qubit simulation won't fit."""
    require_memory(
        f"exact simulation of n={n} qubits ({_dtype(dtype).name} state, "
        f"{_engine(engine, n)} engine)",
        required_bytes(n, dtype, engine, circuit),
        max_bytes,
    )


def _layers(ansatz: QAOAAnsatz, params: np.ndarray):
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
        yield _weighted_qubo(ansatz.qubo, block[:t]), 1.0, block[t:]


def _mixer_mats(ansatz: QAOAAnsatz, beta) -> np.ndarray:
    n = ansatz.n_qubits
    betas = np.broadcast_to(np.asarray(beta, dtype=float), (n,))
    if ansatz.mixer == "warm":
        theta = ansatz.warm_thetas()
        return np.stack([ry(theta[j]) @ rz(-2 * betas[j]) @ ry(-theta[j]) for j in range(n)])
    return np.stack([rx(b) for b in betas])


def _mixer_gates(ansatz: QAOAAnsatz, beta) -> list | np.ndarray:
    if ansatz.mixer.startswith("xy"):
        if np.ndim(beta):
            raise ValueError("multi-angle QAOA is defined for the x and warm mixers only")
        return [_xy_gate(a, b, float(beta)) for a, b in xy_pairs(ansatz)]
    return _mixer_mats(ansatz, beta)


#: below this many qubits the numba kernels run on one thread: a state of up to 2^19 amplitudes
#: gains little from threads, and threads on busy cores (a suite's parallel workers) cost a lot
PARALLEL_MIN_QUBITS = 20


def _simulate_numba(
    ansatz: QAOAAnsatz, params: np.ndarray, dtype: np.dtype, want_energy: bool, block: int
) -> tuple[np.ndarray, float]:
    import numba

    threads = numba.get_num_threads()
    if ansatz.n_qubits < PARALLEL_MIN_QUBITS:
        numba.set_num_threads(1)
    try:
        return _simulate_numba_layers(ansatz, params, dtype, want_energy, block)
    finally:
        numba.set_num_threads(threads)


def _simulate_numba_layers(
    ansatz: QAOAAnsatz, params: np.ndarray, dtype: np.dtype, want_energy: bool, block: int
) -> tuple[np.ndarray, float]:
    n = ansatz.n_qubits
    block = min(block, n)
    h, qs = _cached_dense(ansatz)
    state = np.empty(1 << n, dtype=dtype)
    layers = list(_layers(ansatz, params))
    energy = 0.0
    for li, (wq, gamma, beta) in enumerate(layers):
        ph = (h, qs, gamma) if wq is None else (*_dense(wq), gamma)
        gates = _mixer_gates(ansatz, beta)
        if isinstance(gates, np.ndarray):
            passes = _schedule_1q(n, gates, block)
        else:
            passes = _schedule_seq(n, gates, block)
        for k, ps in enumerate(passes):
            last = want_energy and li == len(layers) - 1 and k == len(passes) - 1
            energy = _run(
                state,
                ps,
                init=start_amplitudes(ansatz) if li == 0 and k == 0 else None,
                phase=ph if k == 0 else None,
                energy=(h, qs) if last else None,
                store=not last,
            )
    return state, energy + ansatz.qubo.constant


def _simulate_numpy(ansatz: QAOAAnsatz, params: np.ndarray, dtype: np.dtype) -> np.ndarray:
    state = _product_state(start_amplitudes(ansatz), dtype)
    cost = cached_cost(ansatz)
    for wq, gamma, beta in _layers(ansatz, params):
        phase(state, cost if wq is None else cost_vector(wq), gamma, "numpy")
        if ansatz.mixer.startswith("xy"):
            apply_xy(state, xy_pairs(ansatz), float(beta), "numpy")
        else:
            apply_1q(state, _mixer_mats(ansatz, beta), "numpy")
    return state


def _circuit_state(
    ansatz: CircuitAnsatz | PauliAnsatz, params: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """Aer statevector of the bound circuit (transpiled once per ansatz, cached)."""
    qc = ansatz.circuit()
    if params.size != qc.num_parameters:
        raise ValueError(f"expected {qc.num_parameters} parameters, got {params.size}")
    cache = _cache(ansatz)
    if cache.get("circuit") is not qc:
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        sim = AerSimulator(method="statevector")
        saved = qc.copy()
        saved.save_statevector()
        cache.update(circuit=qc, sim=sim, transpiled=transpile(saved, sim))
    tqc = cache["transpiled"]
    bound = tqc.assign_parameters(params) if tqc.num_parameters else tqc
    data = cache["sim"].run(bound).result().get_statevector()
    return np.ascontiguousarray(np.asarray(data), dtype=dtype)


def simulate(
    ansatz: Ansatz,
    params: np.ndarray,
    dtype=np.complex128,
    engine: str | None = None,
    *,
    max_bytes: int | None = None,
    block_bits: int = BLOCK_BITS,
) -> np.ndarray:
    """The statevector of the ansatz at ``params`` (qiskit bit order), checked for memory first."""
    dtype, engine = _dtype(dtype), _engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    check_memory(ansatz.n_qubits, dtype, engine, max_bytes, isinstance(ansatz, CircuitAnsatz))
    if isinstance(ansatz, CircuitAnsatz):
        return _circuit_state(ansatz, params, dtype)
    if engine == "numba":
        return _simulate_numba(ansatz, params, dtype, False, block_bits)[0]
    return _simulate_numpy(ansatz, params, dtype)


def energy(
    ansatz: Ansatz,
    params: np.ndarray,
    dtype=np.complex128,
    engine: str | None = None,
    *,
    max_bytes: int | None = None,
    block_bits: int = BLOCK_BITS,
) -> float:
    """⟨ψ(params)|C|ψ(params)⟩ including the constant; numba fuses it into the last pass."""
    dtype, engine = _dtype(dtype), _engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    check_memory(ansatz.n_qubits, dtype, engine, max_bytes, isinstance(ansatz, CircuitAnsatz))
    if isinstance(ansatz, QAOAAnsatz) and engine == "numba":
        return float(_simulate_numba(ansatz, params, dtype, True, block_bits)[1])
    if isinstance(ansatz, CircuitAnsatz):
        state = _circuit_state(ansatz, params, dtype)
    else:
        state = _simulate_numpy(ansatz, params, dtype)
    if engine == "numba":
        h, qs = _cached_dense(ansatz)
        n = ansatz.n_qubits
        ps = _make_pass(n, set(range(min(block_bits, n))), [], min(block_bits, n))
        return float(_run(state, ps, energy=(h, qs), store=False)) + ansatz.qubo.constant
    return expectation(state, cached_cost(ansatz), engine) + ansatz.qubo.constant


class ExactBackend(Backend):
    """Exact statevector simulation in-house (numba blocked kernels, numpy fallback).

    Options: ``dtype`` ("complex128" | "complex64"), ``engine`` ("numba" | "numpy"; default
    numba when installed), ``max_bytes`` (memory limit instead of MemAvailable),
    ``block_bits`` (local qubits per pass).
    """

    name = "exact"
    exact = True

    def __init__(
        self,
        dtype: str = "complex128",
        engine: str | None = None,
        max_bytes: int | None = None,
        block_bits: int = BLOCK_BITS,
    ) -> None:
        self.dtype = _dtype(dtype)
        self.engine = None if engine is None else _engine(engine)
        self.max_bytes = max_bytes
        self.block_bits = int(block_bits)

    def check(self, ansatz: Ansatz) -> None:
        """ResourceError with n, required and available bytes when the state won't fit."""
        check_memory(
            ansatz.n_qubits,
            self.dtype,
            _engine(self.engine, ansatz.n_qubits),
            self.max_bytes,
            not isinstance(ansatz, QAOAAnsatz),
        )

    def expectation(self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None) -> float:
        """Exact ⟨C⟩ (constant included); ``seed`` is ignored (no sampling)."""
        return energy(
            ansatz,
            params,
            self.dtype,
            self.engine,
            max_bytes=self.max_bytes,
            block_bits=self.block_bits,
        )

    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        """Exact probabilities of all 2ⁿ states, or ``shots`` samples (default_rng(seed))."""
        state = simulate(
            ansatz,
            params,
            self.dtype,
            self.engine,
            max_bytes=self.max_bytes,
            block_bits=self.block_bits,
        )
        probs = probabilities(state, _engine(self.engine, ansatz.n_qubits))
        del state
        if shots is None:
            return Distribution(states=np.arange(probs.size), probs=probs, exact=True)
        if shots < 1:
            raise ValueError(f"shots must be >= 1, got {shots}")
        probs /= probs.sum()
        samples = np.random.default_rng(seed).choice(probs.size, size=int(shots), p=probs)
        states, counts = np.unique(samples, return_counts=True)
        return Distribution(states=states, probs=counts / shots, exact=False, shots=int(shots))

    def statevector(self, ansatz: CircuitAnsatz | PauliAnsatz, params: np.ndarray) -> np.ndarray:
        """The state of a circuit ansatz at ``params`` (Aer statevector), memory-checked."""
        check_memory(ansatz.n_qubits, self.dtype, "numpy", self.max_bytes, True)
        return _circuit_state(ansatz, np.asarray(params, dtype=float).ravel(), self.dtype)

    def pauli_expectations(
        self, ansatz: PauliAnsatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """Exact ⟨P_k⟩ of all the ansatz's Paulis from one statevector (grouped WHT)."""
        state = self.statevector(ansatz, params)
        cache = _cache(ansatz)
        if cache.get("pauli_groups_of") is not ansatz.paulis:
            cache.update(pauli_groups=pauli_groups(ansatz.paulis), pauli_groups_of=ansatz.paulis)
        return pauli_expectations(state, ansatz.paulis, cache["pauli_groups"])

    def sample_circuits(
        self, circuits: list, *, shots: int, seed: int | None = None
    ) -> list[Distribution]:
        """``shots`` samples of each bound circuit from its exact statevector (seeded)."""
        rng = np.random.default_rng(seed)
        out = []
        for qc in circuits:
            state = self.statevector(CircuitAnsatz(qubo=None, qc=qc), np.zeros(0))
            probs = probabilities(state, "numpy")
            draws = rng.choice(probs.size, size=int(shots), p=probs / probs.sum())
            states, counts = np.unique(draws, return_counts=True)
            out.append(Distribution(states, counts / shots, exact=False, shots=int(shots)))
        return out

    def info(self) -> dict:
        return {
            "backend": self.name,
            "method": "statevector",
            "engine": self.engine or "auto",
            "dtype": self.dtype.name,
        }
