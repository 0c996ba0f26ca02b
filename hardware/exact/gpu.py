"""The GPU statevector engine (numba.cuda): QAOA on a QUBO cost, and gate lists of small
hardware-efficient circuits, on one CUDA device.

Importable with numpy alone (numba.cuda is imported on first use) and without qiskit or the
rest of qbench, so a machine that has a GPU but not qiskit can load this file by path::

    spec = importlib.util.spec_from_file_location("gpu", "hardware/exact/gpu.py")

Conventions are the CPU engine's (:mod:`qbench.hardware.exact`): the state is a 1-D complex
array of length 2ⁿ in qiskit's bit order (qubit i = bit i of the index); the QUBO cost is
``C(x) = Σ h_i x_i + Σ_{i<j} Qs_ij x_i x_j + constant`` with ``(h, Qs)`` from
:func:`~qbench.hardware.exact.ansatz.dense_qubo` (Qs symmetric, zero diagonal); a QAOA layer is
the phase ``exp(-iγ(C − constant))`` and then the mixer; the energy is ``Σ|ψ_s|² C(s)``
including the constant.

What runs on the device:

* the cost vector ``C − constant``, one thread per index from ``(h, Qs)`` (float64 for a
  complex128 state, float32 for complex64, so 32 qubits need 48 GiB: a 32 GiB state and a
  16 GiB cost vector); nothing of size 2ⁿ is built on the host;
* *passes*, as in the CPU engine: a thread block gathers 2^L amplitudes into shared memory —
  the low :data:`CHUNK_BITS` qubits (so every gathered row is contiguous: coalesced loads) and
  the other qubits of the gates it applies — applies an ordered run of gates to them, and
  writes them back. The first pass of a QAOA layer applies the cost phase on load, the first
  pass of all writes the product start state instead of reading, and the last one accumulates
  ``Σ|ψ|²·cost`` (float64, per-block partial sums reduced by a second kernel in a fixed
  order, so energies are reproducible) without writing the state when only the energy is
  wanted. L is :data:`BLOCK_BITS` (12 for complex64, 11 for complex128: 32 KiB of shared
  memory). A layer of the X mixer on n qubits takes 1 + ⌈(n − L)/(L − 5)⌉ passes over the
  state: 4 at n = 32 in complex64;
* with ``block_bits=0`` the plain kernels instead: one elementwise phase kernel, one kernel per
  1-qubit gate over the 2^(n−1) amplitude pairs, one per 2-qubit gate over 2^(n−2) quadruples,
  and a separate energy reduction (n + 2 passes per X-mixer layer; kept as a cross-check).

Gate lists (:func:`circuit_state`): arrays ``kinds, q0, q1, mats`` with kind 0 a general 2×2
unitary ``mats[k]`` on qubit q0, kind 1 the XY Givens rotation ``exp(−iβ(X_aX_b+Y_aY_b)/2)`` on
(q0, q1) given as ``mats[k] = [[cos β, −i sin β], [0, 0]]``, kind 3 CX (control q0, target q1)
and kind 4 CZ on (q0, q1).

Memory is checked before anything is allocated: :func:`device_bytes` against the device's
free memory (``current_context().get_memory_info()``), a :class:`ResourceError` naming n, the
bytes needed and the bytes free. The cost vector and the state stay allocated between calls for
the same problem (:func:`release` frees them), so an optimiser's evaluations upload only the
angles.

float32 costs: the phase ``γ·C`` of a complex64 run carries C's relative rounding (6e-8), fine
for costs of order 10³ and small γ; penalty QUBOs with costs of 10⁶ and more want complex128.

Checked against the CPU engine and qiskit under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, tests/test_gpu.py), which runs the kernels as Python; that they
also compile for a real device is checked where NVVM is installed (PTX for sm_90, assembled by
ptxas: 64 registers, no spills, 34 KiB of shared memory per pass block). No run on a GPU is
recorded yet, so no timing either: benchmarks/gpu_qaoa.py is the script that records one.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from types import SimpleNamespace

import numpy as np

try:  # qbench's error type where qbench is importable; a stand-in when this file runs alone
    from qbench.errors import ResourceError
except ImportError:  # pragma: no cover - only when loaded by path without qbench

    class ResourceError(RuntimeError):  # type: ignore[no-redef]
        """A run refused up front because it would not fit (device memory), with the numbers."""


#: local qubits per pass by state dtype: 2^L amplitudes of shared memory per block (32 KiB)
BLOCK_BITS = {"complex64": 12, "complex128": 11}
#: lowest qubits every pass keeps local, so each gathered row is 2^5 contiguous amplitudes
CHUNK_BITS = 5
#: threads per block of every kernel
THREADS = 256
#: gate kinds of a gate list: 2×2 unitary, XY Givens rotation, CX, CZ
ONE_Q, XY, CX, CZ = 0, 1, 3, 4
KINDS = (ONE_Q, XY, CX, CZ)
#: bytes kept free on the device beyond the arrays (kernel launch buffers, partial sums)
DEVICE_MARGIN = 64 << 20

# pass-kernel flags
_INIT, _PHASE, _PHASE_QUBO, _ENERGY, _STORE = 1, 2, 4, 8, 16

_DTYPES = {"complex64": np.dtype(np.complex64), "complex128": np.dtype(np.complex128)}


# ---------------------------------------------------------------------------------------------
# availability
# ---------------------------------------------------------------------------------------------


def simulator() -> bool:
    """True when numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``, read by numba when
    it is imported): kernels then run as Python threads on the CPU."""
    try:
        import numba

        return bool(numba.config.ENABLE_CUDASIM)
    except Exception:
        return False


@functools.cache
def gpu_available() -> bool:
    """True when a real CUDA device is usable through numba.cuda; False on any error and
    under the CUDA simulator (which is no GPU: see :func:`engine_ready`). Cached per process.
    On Linux a machine without the NVIDIA driver answers without importing numba.cuda."""
    if simulator():
        return False
    if sys.platform.startswith("linux") and not any(
        os.path.exists(p) for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/dxg")
    ):
        return False
    try:
        cuda = _cuda()
        return bool(cuda.is_available()) and len(cuda.gpus) > 0
    except Exception:
        return False


def engine_ready() -> bool:
    """True when the engine can run: a real GPU, or the CUDA simulator (tests)."""
    return gpu_available() or simulator()


def require_gpu() -> None:
    """ValueError saying why unless :func:`engine_ready`."""
    if not engine_ready():
        raise ValueError(
            "engine 'gpu' requested but no CUDA device is usable through numba.cuda "
            "(install the gpu extra, pip install 'qbench[gpu]', on a machine with an NVIDIA "
            "driver; NUMBA_ENABLE_CUDASIM=1 runs it on numba's CUDA simulator, slowly); "
            "use engine 'numba' or 'numpy'"
        )


def device_name() -> str:
    """The device's name (as nvidia-smi prints it), "CUDA simulator", or "no GPU"."""
    if simulator():
        return "CUDA simulator"
    if not gpu_available():
        return "no GPU"
    name = _cuda().get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def free_memory() -> tuple[int, int]:
    """(free, total) device bytes; a huge number under the simulator (it reports infinity)."""
    free, total = (int(min(float(b), 2.0**62)) for b in _cuda().current_context().get_memory_info())
    return free, total


@functools.cache
def _cuda():
    """numba.cuda, imported on first use (it reads NUMBA_ENABLE_CUDASIM then)."""
    from numba import cuda

    return cuda


# ---------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------


def as_dtype(dtype) -> np.dtype:
    """complex64 or complex128 (a name or numpy dtype); ValueError otherwise."""
    dt = _DTYPES.get(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    if dt not in _DTYPES.values():
        raise ValueError(f"dtype must be complex128 or complex64, got {dtype!r}")
    return dt


def cost_dtype(dtype) -> np.dtype:
    """The cost vector's dtype: float32 for a complex64 state, float64 for complex128."""
    return np.dtype(np.float32) if as_dtype(dtype) == np.complex64 else np.dtype(np.float64)


def _format_bytes(b: int) -> str:
    """Bytes as "48.0 GiB (51539607552 bytes)" (the largest binary unit that is at least 1)."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= size:
            return f"{b / size:.1f} {unit} ({b} bytes)"
    return f"{b} bytes"


def device_bytes(n: int, dtype="complex64", cost: bool = True) -> int:
    """Device bytes of an n-qubit run: the state, the cost vector when ``cost`` (QAOA, or an
    energy), the per-block partial sums and :data:`DEVICE_MARGIN`."""
    size = 1 << n
    dt = as_dtype(dtype)
    blocks = size >> min(n, BLOCK_BITS[dt.name])
    return size * dt.itemsize + cost * size * cost_dtype(dt).itemsize + 8 * blocks + DEVICE_MARGIN


def check_device_memory(n: int, dtype="complex64", cost: bool = True, max_bytes=None) -> None:
    """ResourceError naming n, the bytes needed and the device's free bytes (or ``max_bytes``)
    when :func:`device_bytes` won't fit; what is cached for an earlier problem counts as free."""
    need = device_bytes(n, dtype, cost)
    if max_bytes is not None:
        free, source = int(max_bytes), "max_bytes"
    else:
        free = free_memory()[0] + _CACHE.held_bytes()
        source = f"free memory of {device_name()}"
    if need > free:
        raise ResourceError(
            f"GPU statevector of n={n} qubits ({as_dtype(dtype).name} state"
            f"{', float cost vector' if cost else ''}) needs {_format_bytes(need)} but the "
            f"{source} is {_format_bytes(free)}; use complex64, fewer qubits or a larger GPU"
        )


def fits(n: int, dtype="complex64", cost: bool = True) -> bool:
    """Whether an n-qubit run fits in the device's free memory now."""
    try:
        check_device_memory(n, dtype, cost)
    except ResourceError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------


#: numba.cuda once :func:`kernels` has run: a module global, because the CUDA simulator swaps
#: the kernels' global ``cuda`` for its fake module while they run
cuda = None


@functools.cache
def kernels() -> SimpleNamespace:
    """The device kernels, compiled on first launch (per argument types)."""
    global cuda
    import numba

    cuda = _cuda()
    f64 = numba.float64

    def grid_start_stride():
        start = np.int64(cuda.blockIdx.x) * cuda.blockDim.x + cuda.threadIdx.x
        return start, np.int64(cuda.gridDim.x) * cuda.blockDim.x

    grid = cuda.jit(device=True)(grid_start_stride)

    @cuda.jit(device=True)
    def qubo_cost(s, h, qs, n):
        """C(s) − constant from (h, Qs): over the set bits, h_i + Σ_{j<i set} Qs_ij."""
        c = 0.0
        for i in range(n):
            if (s >> i) & 1:
                c += h[i]
                for j in range(i):
                    if (s >> j) & 1:
                        c += qs[i, j]
        return c

    @cuda.jit(device=True)
    def product_amp(s, amps, n):
        """Π_q amps[q, bit q of s]: the product state's amplitude at index s."""
        a = complex(1.0, 0.0)
        for q in range(n):
            a *= amps[q, (s >> q) & 1]
        return a

    @cuda.jit
    def cost_kernel(cost, h, qs, n):
        """cost[s] = C(s) − constant, one thread per index (grid-stride)."""
        start, stride = grid()
        for s in range(start, cost.size, stride):
            cost[s] = qubo_cost(s, h, qs, n)

    @cuda.jit
    def init_kernel(state, amps, n):
        """The product state ⊗_q amps[q]."""
        start, stride = grid()
        for s in range(start, state.size, stride):
            state[s] = product_amp(s, amps, n)

    @cuda.jit
    def phase_kernel(state, cost, gamma):
        """state *= exp(-iγ cost)."""
        start, stride = grid()
        for s in range(start, state.size, stride):
            a = -gamma * cost[s]
            state[s] = state[s] * complex(math.cos(a), math.sin(a))

    @cuda.jit
    def phase_qubo_kernel(state, h, qs, gamma, n):
        """state *= exp(-iγ C_hq), C_hq computed per index (multi-angle layers)."""
        start, stride = grid()
        for s in range(start, state.size, stride):
            a = -gamma * qubo_cost(s, h, qs, n)
            state[s] = state[s] * complex(math.cos(a), math.sin(a))

    @cuda.jit
    def scale_kernel(state, factor):
        """state *= factor: one elementwise sweep (the unit of the benchmark)."""
        start, stride = grid()
        for s in range(start, state.size, stride):
            state[s] = state[s] * factor

    @cuda.jit
    def gate1_kernel(state, q, mats, g):
        """mats[g] on qubit q: one thread per amplitude pair (grid-stride)."""
        u00, u01, u10, u11 = mats[g, 0, 0], mats[g, 0, 1], mats[g, 1, 0], mats[g, 1, 1]
        start, stride = grid()
        bit = np.int64(1) << q
        for p in range(start, state.size >> 1, stride):
            i0 = ((p >> q) << (q + 1)) | (p & (bit - 1))
            i1 = i0 | bit
            x = state[i0]
            y = state[i1]
            state[i0] = u00 * x + u01 * y
            state[i1] = u10 * x + u11 * y

    @cuda.jit(device=True)
    def quad_index(p, qa, qb):
        """The index with zero bits at qa and qb, the others from p."""
        lo = qa if qa < qb else qb  # not min/max: numba's CUDA target fails to type them
        hi = qb if qa < qb else qa
        i = ((p >> lo) << (lo + 1)) | (p & ((np.int64(1) << lo) - 1))
        return ((i >> hi) << (hi + 1)) | (i & ((np.int64(1) << hi) - 1))

    @cuda.jit(device=True)
    def apply2(buf, i, kind, qa, qb, mats, g):
        """A 2-qubit gate (XY, CX, CZ) on the quadruple of ``buf`` at base index i."""
        ia = i | (np.int64(1) << qa)
        ib = i | (np.int64(1) << qb)
        iab = ia | ib
        if kind == 1:
            c = mats[g, 0, 0]
            s = mats[g, 0, 1]
            x = buf[ia]
            y = buf[ib]
            buf[ia] = c * x + s * y
            buf[ib] = s * x + c * y
        elif kind == 3:
            x = buf[ia]
            buf[ia] = buf[iab]
            buf[iab] = x
        elif kind == 4:
            buf[iab] = -buf[iab]

    @cuda.jit
    def gate2_kernel(state, kind, qa, qb, mats, g):
        """An XY, CX or CZ gate on (qa, qb): one thread per quadruple (grid-stride)."""
        start, stride = grid()
        for p in range(start, state.size >> 2, stride):
            apply2(state, quad_index(p, qa, qb), kind, qa, qb, mats, g)

    @cuda.jit(device=True)
    def block_sum(red, acc, partial):
        """Tree sum of each thread's ``acc`` over the block into partial[blockIdx]."""
        tid = cuda.threadIdx.x
        red[tid] = acc
        cuda.syncthreads()
        step = cuda.blockDim.x >> 1
        while step > 0:
            if tid < step:
                red[tid] += red[tid + step]
            cuda.syncthreads()
            step >>= 1
        if tid == 0:
            partial[cuda.blockIdx.x] = red[0]

    @cuda.jit
    def energy_kernel(state, cost, partial):
        """partial[block] = Σ |ψ_s|² cost_s over the block's grid-stride indices (float64)."""
        red = cuda.shared.array(THREADS, f64)
        start, stride = grid()
        acc = 0.0
        for s in range(start, state.size, stride):
            a = state[s]
            re = f64(a.real)
            im = f64(a.imag)
            acc += (re * re + im * im) * f64(cost[s])
        block_sum(red, acc, partial)

    @cuda.jit
    def reduce_kernel(partial, out):
        """out[0] = Σ partial, one block, in a fixed order (reproducible)."""
        red = cuda.shared.array(THREADS, f64)
        acc = 0.0
        for k in range(cuda.threadIdx.x, partial.size, cuda.blockDim.x):
            acc += partial[k]
        block_sum(red, acc, out)

    @cuda.jit
    def probabilities_kernel(state, out):
        """out[s] = |ψ_s|²."""
        start, stride = grid()
        for s in range(start, state.size, stride):
            a = state[s]
            out[s] = a.real * a.real + a.imag * a.imag

    def make_pass_kernel(ctype, size):
        """The pass kernel with a shared buffer of ``size`` amplitudes of ``ctype``."""

        @cuda.jit
        def pass_kernel(state, bits, pi, nloc, ops, mats, g0, g1, cost, hq, qq, gamma, flags,
                        amps, partial):  # fmt: skip
            """One pass: block b holds the amplitudes whose outer qubits (bits[pi, nloc:])
            spell b; buffer bit t is qubit bits[pi, t]. [init | load] → [phase] → gates
            ops[g0:g1] (kind, local a, local b) → [energy] → [store]."""
            buf = cuda.shared.array(size, ctype)
            red = cuda.shared.array(THREADS, f64)
            n = bits.shape[1]
            tid = cuda.threadIdx.x
            nt = cuda.blockDim.x
            blk = np.int64(cuda.blockIdx.x)
            local = np.int64(1) << nloc
            base = np.int64(0)
            for k in range(n - nloc):
                if (blk >> k) & 1:
                    base |= np.int64(1) << bits[pi, nloc + k]
            for t in range(tid, local, nt):
                idx = base
                for k in range(nloc):
                    if (t >> k) & 1:
                        idx |= np.int64(1) << bits[pi, k]
                a = product_amp(idx, amps, n) if flags & 1 else state[idx]
                if flags & 2:
                    ph = -gamma * cost[idx]
                    a = a * complex(math.cos(ph), math.sin(ph))
                elif flags & 4:
                    ph = -gamma * qubo_cost(idx, hq, qq, n)
                    a = a * complex(math.cos(ph), math.sin(ph))
                buf[t] = a
            cuda.syncthreads()
            for g in range(g0, g1):
                kind = ops[g, 0]
                qa = ops[g, 1]
                qb = ops[g, 2]
                if kind == 0:
                    u00, u01, u10, u11 = mats[g, 0, 0], mats[g, 0, 1], mats[g, 1, 0], mats[g, 1, 1]
                    bit = np.int64(1) << qa
                    for p in range(tid, local >> 1, nt):
                        i0 = ((p >> qa) << (qa + 1)) | (p & (bit - 1))
                        i1 = i0 | bit
                        x = buf[i0]
                        y = buf[i1]
                        buf[i0] = u00 * x + u01 * y
                        buf[i1] = u10 * x + u11 * y
                else:
                    for p in range(tid, local >> 2, nt):
                        apply2(buf, quad_index(p, qa, qb), kind, qa, qb, mats, g)
                cuda.syncthreads()
            acc = 0.0
            if flags & 24:
                for t in range(tid, local, nt):
                    idx = base
                    for k in range(nloc):
                        if (t >> k) & 1:
                            idx |= np.int64(1) << bits[pi, k]
                    a = buf[t]
                    if flags & 8:
                        re = f64(a.real)
                        im = f64(a.imag)
                        acc += (re * re + im * im) * f64(cost[idx])
                    if flags & 16:
                        state[idx] = a
            if flags & 8:
                block_sum(red, acc, partial)

        return pass_kernel

    passes = {
        "complex64": make_pass_kernel(numba.complex64, 1 << BLOCK_BITS["complex64"]),
        "complex128": make_pass_kernel(numba.complex128, 1 << BLOCK_BITS["complex128"]),
    }
    return SimpleNamespace(
        cost=cost_kernel,
        init=init_kernel,
        phase=phase_kernel,
        phase_qubo=phase_qubo_kernel,
        scale=scale_kernel,
        gate1=gate1_kernel,
        gate2=gate2_kernel,
        energy=energy_kernel,
        reduce=reduce_kernel,
        probabilities=probabilities_kernel,
        passes=passes,
    )


def _launch(size: int) -> tuple[int, int]:
    """(blocks, threads) of a grid-stride kernel over ``size`` items."""
    threads = max(1, min(THREADS, size))
    return max(1, min(-(-size // threads), 1 << 20)), threads


# ---------------------------------------------------------------------------------------------
# device primitives (device arrays in, device arrays out)
# ---------------------------------------------------------------------------------------------


def cost_vector(n: int, h: np.ndarray, Qs: np.ndarray, dtype="complex64"):
    """Device array of ``C(s) − constant`` for all 2ⁿ indices (:func:`cost_dtype`)."""
    cuda = _cuda()
    cost = cuda.device_array(1 << n, dtype=cost_dtype(dtype))
    fill_cost(cost, h, Qs)
    return cost


def fill_cost(cost, h: np.ndarray, Qs: np.ndarray) -> None:
    """Write ``C(s) − constant`` into the device array ``cost`` (one thread per index)."""
    cuda = _cuda()
    n = cost.size.bit_length() - 1
    h_d = cuda.to_device(np.ascontiguousarray(h, dtype=np.float64))
    q_d = cuda.to_device(np.ascontiguousarray(Qs, dtype=np.float64))
    kernels().cost[_launch(cost.size)](cost, h_d, q_d, n)


def product_state(state, amps: np.ndarray) -> None:
    """Write ⊗_q amps[q] ((n, 2) amplitudes) into the device array ``state``."""
    n = state.size.bit_length() - 1
    a = _cuda().to_device(np.ascontiguousarray(amps, dtype=np.complex128).reshape(n, 2))
    kernels().init[_launch(state.size)](state, a, n)


def phase(state, cost, gamma: float) -> None:
    """In place ``state *= exp(-iγ cost)`` on the device."""
    kernels().phase[_launch(state.size)](state, cost, float(gamma))


def apply_gate(state, kind: int, q0: int, q1: int, mat) -> None:
    """One gate of a gate list (:data:`KINDS`) on the device state, by the plain kernels."""
    m = _cuda().to_device(np.asarray(mat, dtype=np.complex128).reshape(1, 2, 2))
    k = kernels()
    if kind == ONE_Q:
        k.gate1[_launch(state.size >> 1)](state, int(q0), m, 0)
    else:
        k.gate2[_launch(max(1, state.size >> 2))](state, int(kind), int(q0), int(q1), m, 0)


def expectation(state, cost) -> float:
    """``Σ_s |ψ_s|² cost_s`` as a device reduction (float64, fixed order)."""
    cuda = _cuda()
    k = kernels()
    blocks, threads = _launch(state.size)
    partial = cuda.device_array(blocks, dtype=np.float64)
    k.energy[blocks, threads](state, cost, partial)
    return _reduce(partial)


def _reduce(partial) -> float:
    """Σ partial on the device (one block, fixed order), copied back."""
    out = _cuda().device_array(1, dtype=np.float64)
    kernels().reduce[1, THREADS](partial, out)
    return float(out.copy_to_host()[0])


def probabilities(state):
    """Device array of ``|ψ_s|²`` in the state's real precision."""
    real = np.float32 if state.dtype == np.complex64 else np.float64
    out = _cuda().device_array(state.size, dtype=real)
    kernels().probabilities[_launch(state.size)](state, out)
    return out


# ---------------------------------------------------------------------------------------------
# programs: layers of (phase, gates) scheduled into passes
# ---------------------------------------------------------------------------------------------


def _schedule(n: int, structure: tuple, block: int) -> tuple[np.ndarray, list, np.ndarray, list]:
    """Greedy packing, per layer, of the ordered gates ``structure[layer] = ((kind, a, b), …)``
    into passes of ``L = min(block, n)`` local qubits that always include the lowest
    ``min(CHUNK_BITS, L − 2)``; a layer with no gates gets one gate-free pass (its phase).
    Returns (bits, nloc, ops, [(g0, g1, layer, first)])."""
    L = min(block, n)
    chunk = set(range(max(0, min(CHUNK_BITS, L - 2))))
    rows, nlocs, ops, meta = [], [], [], []

    def close(used: set, gates: list, layer: int, first: bool) -> None:
        local = set(used) | chunk
        q = 0
        while len(local) < L:
            if q not in local:
                local.add(q)
            q += 1
        lbits = sorted(local)
        pos = {b: t for t, b in enumerate(lbits)}
        rows.append(lbits + [b for b in range(n) if b not in local])
        nlocs.append(len(lbits))
        g0 = len(ops)
        for kind, a, b in gates:
            ops.append((kind, pos[a], pos[b]))
        meta.append((g0, len(ops), layer, first))

    for layer, gates in enumerate(structure):
        used: set = set()
        current: list = []
        first = True
        for kind, a, b in gates:
            qubits = {a} if kind == ONE_Q else {a, b}
            if current and len(used | qubits | chunk) > L:
                close(used, current, layer, first)
                used, current, first = set(), [], False
            used |= qubits
            current.append((kind, a, b))
        if current or first:
            close(used, current, layer, first)
    ops_arr = np.array(ops, dtype=np.int32).reshape(-1, 3)
    if ops_arr.shape[0] == 0:
        ops_arr = np.zeros((1, 3), dtype=np.int32)
    return np.array(rows, dtype=np.int32), nlocs, ops_arr, meta


class _Cache:
    """What stays on the device between calls: the state buffer, the cost vector of the last
    (n, dtype, h, Qs) and the plans (pass tables) by structure."""

    def __init__(self) -> None:
        self.state = None
        self.cost = None
        self.cost_key = None
        self.plans: dict = {}

    def held_bytes(self) -> int:
        """Device bytes this cache holds (freed before a different problem is allocated)."""
        return sum(a.size * a.dtype.itemsize for a in (self.state, self.cost) if a is not None)

    def release(self) -> None:
        """Drop every cached device array and have numba free them now, with whatever else
        numba was asked to free (it defers frees, and the next check reads free memory)."""
        self.state = self.cost = self.cost_key = None
        self.plans.clear()
        if "numba.cuda" in sys.modules and gpu_available():
            with contextlib.suppress(AttributeError):  # a numba-cuda without the pending list
                _cuda().current_context().deallocations.clear()

    def arrays(self, n: int, dtype: np.dtype, h, Qs, need_cost: bool, max_bytes) -> tuple:
        """(state, cost or a 1-element stand-in) on the device, reused when they match."""
        cuda = _cuda()
        key = None
        if need_cost:
            h = np.ascontiguousarray(h, dtype=np.float64).reshape(n)
            Qs = np.ascontiguousarray(Qs, dtype=np.float64).reshape(n, n)
            key = (n, dtype.name, h.tobytes(), Qs.tobytes())
        state_ok = (
            self.state is not None and self.state.size == 1 << n and self.state.dtype == dtype
        )
        cost_ok = not need_cost or self.cost_key == key
        if not (state_ok and cost_ok):
            self.release()
            check_device_memory(n, dtype, need_cost, max_bytes)
            self.state = cuda.device_array(1 << n, dtype=dtype)
            if need_cost:
                self.cost = cost_vector(n, h, Qs, dtype)
                self.cost_key = key
        cost = self.cost if need_cost else cuda.device_array(1, dtype=cost_dtype(dtype))
        return self.state, cost

    def plan(self, n: int, structure: tuple, block: int) -> SimpleNamespace:
        """The pass table of ``structure`` on the device, built once: bits (P, n) int32 (local
        qubits first), nloc, ops (M, 3) int32 as (kind, local a, local b), and each pass's op
        range, layer and whether it is its layer's first."""
        key = (n, structure, block)
        if key not in self.plans:
            cuda = _cuda()
            bits, nloc, ops, meta = _schedule(n, structure, block)
            self.plans[key] = SimpleNamespace(
                bits=cuda.to_device(bits),
                nloc=nloc,
                ops=cuda.to_device(ops),
                ranges=[(g0, g1) for g0, g1, _, _ in meta],
                layer=[m[2] for m in meta],
                first=[m[3] for m in meta],
            )
        return self.plans[key]


_CACHE = _Cache()


def release() -> None:
    """Free the device arrays kept between calls (state, cost vector, pass tables) and any
    frees numba deferred."""
    _CACHE.release()


def _mats(gates: list) -> np.ndarray:
    """(M, 2, 2) complex128 of a program's gates (a zero stand-in when there are none)."""
    if not gates:
        return np.zeros((1, 2, 2), dtype=np.complex128)
    return np.ascontiguousarray(np.stack([g[3] for g in gates]), dtype=np.complex128)


def _run(
    n: int,
    dtype,
    amps: np.ndarray,
    program: list,
    h,
    Qs,
    want_energy: bool,
    block_bits: int | None,
    max_bytes: int | None,
):
    """Run ``program`` — per layer (phase, gates) with phase None, ("cost", γ) or ("qubo", γ,
    h_l, Qs_l) and gates [(kind, q0, q1, mat), …] — from the product state ``amps``. Returns
    the device state, and the energy ``Σ|ψ|²(C − constant)`` when ``want_energy`` (then the
    state is not written by the last pass)."""
    dtype = as_dtype(dtype)
    require_gpu()
    if not program:
        program = [(None, [])]
    uses_cost = want_energy or any(ph is not None and ph[0] == "cost" for ph, _ in program)
    state, cost = _CACHE.arrays(n, dtype, h, Qs, uses_cost, max_bytes)
    block = BLOCK_BITS[dtype.name] if block_bits is None else int(block_bits)
    if block == 0:
        return state, _run_plain(state, cost, amps, program, want_energy)
    if block < 2:
        raise ValueError(f"block_bits must be 0 (plain kernels) or >= 2, got {block_bits}")
    cuda = _cuda()
    structure = tuple(tuple((int(k), int(a), int(b)) for k, a, b, _ in g) for _, g in program)
    plan = _CACHE.plan(n, structure, min(block, BLOCK_BITS[dtype.name]))
    mats = cuda.to_device(_mats([g for _, gates in program for g in gates]))
    amps_d = cuda.to_device(np.ascontiguousarray(amps, dtype=np.complex128).reshape(n, 2))
    stub_h, stub_q = cuda.to_device(np.zeros(1)), cuda.to_device(np.zeros((1, 1)))
    kernel = kernels().passes[dtype.name]
    partial = None
    last = len(plan.nloc) - 1
    for pi, nloc in enumerate(plan.nloc):
        ph = program[plan.layer[pi]][0] if plan.first[pi] else None
        flags = _STORE
        gamma, hq, qq = 0.0, stub_h, stub_q
        if pi == 0:
            flags |= _INIT
        if ph is not None and ph[0] == "cost":
            flags |= _PHASE
            gamma = float(ph[1])
        elif ph is not None:
            flags |= _PHASE_QUBO
            gamma = float(ph[1])
            hq = cuda.to_device(np.ascontiguousarray(ph[2], dtype=np.float64))
            qq = cuda.to_device(np.ascontiguousarray(ph[3], dtype=np.float64))
        blocks = 1 << (n - nloc)
        if want_energy and pi == last:
            flags = (flags | _ENERGY) & ~_STORE
            partial = cuda.device_array(blocks, dtype=np.float64)
        out = partial if partial is not None else stub_h
        g0, g1 = plan.ranges[pi]
        threads = max(1, min(THREADS, 1 << max(0, nloc - 1)))
        kernel[blocks, threads](
            state, plan.bits, pi, nloc, plan.ops, mats, g0, g1, cost, hq, qq, gamma, flags,
            amps_d, out,
        )  # fmt: skip
    return state, (_reduce(partial) if want_energy else None)


def _run_plain(state, cost, amps, program: list, want_energy: bool):
    """:func:`_run` by the plain kernels (one launch per phase and per gate)."""
    cuda = _cuda()
    k = kernels()
    n = state.size.bit_length() - 1
    product_state(state, amps)
    for ph, gates in program:
        if ph is not None and ph[0] == "cost":
            phase(state, cost, ph[1])
        elif ph is not None:
            h_d = cuda.to_device(np.ascontiguousarray(ph[2], dtype=np.float64))
            q_d = cuda.to_device(np.ascontiguousarray(ph[3], dtype=np.float64))
            k.phase_qubo[_launch(state.size)](state, h_d, q_d, float(ph[1]), n)
        for kind, q0, q1, mat in gates:
            apply_gate(state, kind, q0, q1, mat)
    return expectation(state, cost) if want_energy else None


# ---------------------------------------------------------------------------------------------
# the high-level API: plain numpy in, numpy or floats out
# ---------------------------------------------------------------------------------------------


def _check_qubo(n: int, h, Qs) -> tuple[np.ndarray, np.ndarray]:
    """(h, Qs) as float64 arrays of shapes (n,) and (n, n); ValueError otherwise."""
    h = np.ascontiguousarray(h, dtype=np.float64)
    Qs = np.ascontiguousarray(Qs, dtype=np.float64)
    if h.shape != (n,) or Qs.shape != (n, n):
        raise ValueError(f"expected h of shape ({n},) and Qs ({n}, {n}); got {h.shape}, {Qs.shape}")
    return h, Qs


def qaoa_program(n: int, layers) -> list:
    """A QAOA program from ``layers``: each ``(γ, mixer)`` or ``(γ, mixer, (h_l, Qs_l))``.

    The mixer is an (n, 2, 2) array of per-qubit unitaries (X: RX(2β); warm:
    RY(θ)·RZ(−2β)·RY(−θ)) or a sequence of XY gates ``(a, b, β)`` applied in order. The
    phase is ``exp(-iγ(C − constant))``, or with a third item ``exp(-iγ C_l)`` of the layer's
    own QUBO (multi-angle QAOA: γ = 1 and the angles folded into h_l, Qs_l), computed per
    amplitude instead of read from the cost vector.
    """
    program = []
    for layer in layers:
        gamma, mixer, *rest = layer
        if rest:
            hl, ql = _check_qubo(n, *rest[0])
            ph = ("qubo", float(gamma), hl, ql)
        else:
            ph = ("cost", float(gamma))
        if np.ndim(mixer) == 3:
            mats = np.asarray(mixer, dtype=np.complex128)
            if mats.shape != (n, 2, 2):
                raise ValueError(f"mixer matrices must have shape ({n}, 2, 2), got {mats.shape}")
            gates = [(ONE_Q, q, q, mats[q]) for q in range(n)]
        else:
            gates = [(XY, *_pair(n, a, b), _xy_mat(beta)) for a, b, beta in mixer]
        program.append((ph, gates))
    return program


def _xy_mat(beta: float) -> np.ndarray:
    """``[[cos β, −i sin β], [0, 0]]``: how a gate list gives the XY rotation's angle."""
    return np.array([[math.cos(beta), -1j * math.sin(beta)], [0, 0]], dtype=np.complex128)


def _pair(n: int, a, b) -> tuple[int, int]:
    """(a, b) as two different qubits of n; ValueError otherwise."""
    a, b = int(a), int(b)
    if not (0 <= a < n and 0 <= b < n) or a == b:
        raise ValueError(f"a 2-qubit gate needs two different qubits in 0..{n - 1}, got ({a}, {b})")
    return a, b


def _start(n: int, start_amps) -> np.ndarray:
    """(n, 2) complex128 start amplitudes; ValueError on another shape."""
    amps = np.asarray(start_amps, dtype=np.complex128)
    if amps.shape != (n, 2):
        raise ValueError(f"start amplitudes must have shape ({n}, 2), got {amps.shape}")
    return amps


def qaoa_energy(
    h,
    Qs,
    constant: float,
    start_amps,
    layers,
    dtype="complex128",
    *,
    block_bits: int | None = None,
    max_bytes: int | None = None,
) -> float:
    """⟨ψ|C|ψ⟩ (constant included) of QAOA ``layers`` (:func:`qaoa_program`) from the product
    state ``start_amps`` (n, 2), all on the device; only the angles are uploaded when the
    QUBO is the previous call's. ``block_bits=0`` runs the plain kernels; ``max_bytes`` caps the
    device memory used (else its free memory). Raises ResourceError when the run won't fit,
    ValueError on bad shapes or when no GPU (nor the simulator) is usable.

    Example (on a GPU, or with NUMBA_ENABLE_CUDASIM=1)::

        >>> import numpy as np
        >>> rx = lambda b: np.array([[np.cos(b), -1j * np.sin(b)], [-1j * np.sin(b), np.cos(b)]])
        >>> plus = np.full((2, 2), 2**-0.5)
        >>> e = qaoa_energy([1.0, 1.0], [[0, -2.0], [-2.0, 0]], 0.0, plus,
        ...                 [(0.3, np.stack([rx(0.4)] * 2))])  # doctest: +SKIP
    """
    n = len(h)
    h, Qs = _check_qubo(n, h, Qs)
    _, energy = _run(
        n, dtype, _start(n, start_amps), qaoa_program(n, layers), h, Qs, True, block_bits,
        max_bytes,
    )  # fmt: skip
    return energy + float(constant)


def qaoa_state(
    h,
    Qs,
    start_amps,
    layers,
    dtype="complex128",
    *,
    block_bits: int | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """The QAOA statevector (host numpy array of ``dtype``) of :func:`qaoa_energy`'s run."""
    n = len(h)
    h, Qs = _check_qubo(n, h, Qs)
    state, _ = _run(
        n, dtype, _start(n, start_amps), qaoa_program(n, layers), h, Qs, False, block_bits,
        max_bytes,
    )  # fmt: skip
    return state.copy_to_host()


def circuit_program(n: int, kinds, q0, q1, mats) -> list:
    """A one-layer program (no phase) of a gate list; ValueError on unknown kinds or qubits."""
    kinds = np.asarray(kinds, dtype=np.int64).ravel()
    q0 = np.asarray(q0, dtype=np.int64).ravel()
    q1 = np.asarray(q1, dtype=np.int64).ravel()
    mats = np.asarray(mats, dtype=np.complex128).reshape(-1, 2, 2)
    if not kinds.size == q0.size == q1.size == mats.shape[0]:
        raise ValueError("kinds, q0, q1 and mats must have one entry per gate")
    gates = []
    for k, a, b, m in zip(kinds, q0, q1, mats, strict=True):
        if k not in KINDS:
            raise ValueError(f"unknown gate kind {k}; allowed: {', '.join(map(str, KINDS))}")
        if k == ONE_Q:
            if not 0 <= a < n:
                raise ValueError(f"qubit {a} out of range 0..{n - 1}")
            gates.append((ONE_Q, int(a), int(a), m))
        else:
            gates.append((int(k), *_pair(n, a, b), m))
    return [(None, gates)]


def _zero_amps(n: int) -> np.ndarray:
    """Per-qubit amplitudes of |0…0⟩."""
    amps = np.zeros((n, 2), dtype=np.complex128)
    amps[:, 0] = 1.0
    return amps


def circuit_state(
    n: int, kinds, q0, q1, mats, dtype="complex128", *, block_bits=None, max_bytes=None
) -> np.ndarray:
    """The state (host numpy array) of a gate list applied to |0…0⟩ (module docstring)."""
    state, _ = _run(
        n, dtype, _zero_amps(n), circuit_program(n, kinds, q0, q1, mats), None, None, False,
        block_bits, max_bytes,
    )  # fmt: skip
    return state.copy_to_host()


def circuit_energy(
    n: int,
    kinds,
    q0,
    q1,
    mats,
    h,
    Qs,
    constant: float,
    dtype="complex128",
    *,
    block_bits=None,
    max_bytes=None,
) -> float:
    """⟨ψ|C|ψ⟩ (constant included) of a gate list applied to |0…0⟩, on the device."""
    h, Qs = _check_qubo(n, h, Qs)
    _, energy = _run(
        n, dtype, _zero_amps(n), circuit_program(n, kinds, q0, q1, mats), h, Qs, True,
        block_bits, max_bytes,
    )  # fmt: skip
    return energy + float(constant)


def sweep_seconds(n: int, dtype="complex64", repeat: int = 5) -> float:
    """Seconds of one elementwise complex multiply over a 2ⁿ device state (best of
    ``repeat`` after a warm-up): the unit of "sweeps per layer". Reuses the cached state."""
    cuda = _cuda()
    dtype = as_dtype(dtype)
    state = _CACHE.state
    if state is None or state.size != 1 << n or state.dtype != dtype:
        _CACHE.release()
        check_device_memory(n, dtype, cost=False)
        state = _CACHE.state = cuda.device_array(1 << n, dtype=dtype)
    k = kernels().scale[_launch(state.size)]
    factor = complex(1.0, 0.0)
    k(state, factor)
    cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        k(state, factor)
        cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best
