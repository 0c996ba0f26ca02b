"""The numba kernels of the exact engine's Pauli expectations (:mod:`.observables`): a blocked
in-place rotation of some qubits, and a read-only blocked measurement pass that rotates the low
qubits in a cache-resident buffer and reads the Z-parities a group needs from |ψ|² there.

Both gather 2^L amplitudes (real and imaginary parts as float64, whatever the state's dtype) of
a set of "local" qubits for one assignment of the others, work on them, and (rotation only)
scatter back. Each comes in a serial and a parallel driver (``prange`` over contiguous ranges
of outer assignments): the observables module picks by state size, so small states never wake
numba's threads. Butterflies at strides 1–8 get their own loops (constant index arithmetic, one
loop per kind): the generic loop over 2·stride blocks, or a branch inside the loop, does not
vectorise there and cost 2–5× more per amplitude (measured).
"""

from __future__ import annotations

import numpy as np

from qbench.hardware.exact.kernels import HAVE_NUMBA, butterfly, offsets

if HAVE_NUMBA:
    from numba import njit, prange

    @njit(cache=True, fastmath=True, inline="always")
    def _rotate_range(state, off, obits, gq, gm, lo, hi, re, im):  # pragma: no cover
        """Outer assignments lo..hi-1: gather, apply the gates (buffer bit gq[r], matrix gm[r])
        in order, scatter back."""
        size = off.size
        for o in range(lo, hi):
            base = np.int64(0)
            for k in range(obits.size):
                if (o >> k) & 1:
                    base |= np.int64(1) << obits[k]
            for i in range(size):
                z = state[base + off[i]]
                re[i] = z.real
                im[i] = z.imag
            for r in range(gq.size):
                butterfly(re, im, gq[r], gm[r])
            for i in range(size):
                state[base + off[i]] = complex(re[i], im[i])

    @njit(cache=True, fastmath=True)
    def rotate_serial(state, lbits, obits, gq, gm):  # pragma: no cover - compiled
        """In place, one thread: the 1-qubit gates (gq[r] a buffer bit, i.e. qubit
        lbits[gq[r]]; gm[r] its 2×2) on the local qubits, for every outer assignment."""
        off = offsets(lbits)
        re = np.empty(off.size)
        im = np.empty(off.size)
        _rotate_range(state, off, obits, gq, gm, 0, 1 << obits.size, re, im)

    @njit(parallel=True, cache=True, fastmath=True)
    def rotate_parallel(state, lbits, obits, gq, gm, threads):  # pragma: no cover - compiled
        """:func:`rotate_serial` over ``threads`` contiguous ranges of outer assignments."""
        off = offsets(lbits)
        n_outer = 1 << obits.size
        nth = max(1, min(threads, n_outer))
        for th in prange(nth):
            re = np.empty(off.size)
            im = np.empty(off.size)
            lo = th * n_outer // nth
            hi = (th + 1) * n_outer // nth
            _rotate_range(state, off, obits, gq, gm, lo, hi, re, im)

    @njit(cache=True, fastmath=True, inline="always")
    def _pair_x(xr, xi, yr, yi, i, j):  # pragma: no cover - compiled
        """x[i], y[j] ← a + b, a − b of a = x[i], b = y[j] (unnormalised H)."""
        ar = xr[i]
        ai = xi[i]
        br = yr[j]
        bi = yi[j]
        xr[i] = ar + br
        xi[i] = ai + bi
        yr[j] = ar - br
        yi[j] = ai - bi

    @njit(cache=True, fastmath=True, inline="always")
    def _pair_y(xr, xi, yr, yi, i, j):  # pragma: no cover - compiled
        """x[i], y[j] ← a − ib, a + ib of a = x[i], b = y[j] (unnormalised H·S†)."""
        ar = xr[i]
        ai = xi[i]
        br = yr[j]
        bi = yi[j]
        xr[i] = ar + bi
        xi[i] = ai - br
        yr[j] = ar - bi
        yi[j] = ai + br

    @njit(cache=True, fastmath=True, inline="always")
    def _measure_butterfly(re, im, t, kind):  # pragma: no cover - compiled
        """In place, unnormalised (×√2): the X-basis change H (kind 1: a+b, a−b) or the Y-basis
        change H·S† (kind 2: a−ib, a+ib) on buffer bit t. One loop per kind and small stride:
        a branch or a short inner loop inside the pair loop stops it vectorising (4× slower)."""
        s = 1 << t
        size = re.size
        if kind == 1:
            if s == 1:
                for m in range(size // 2):
                    _pair_x(re, im, re, im, 2 * m, 2 * m + 1)
            elif s == 2:
                for m in range(size // 4):
                    i = 4 * m
                    _pair_x(re, im, re, im, i, i + 2)
                    _pair_x(re, im, re, im, i + 1, i + 3)
            elif s == 4:  # constant shifts: one vector loop (a 4-pair body is 3× slower)
                for m in range(size // 2):
                    i = ((m >> 2) << 3) | (m & 3)
                    _pair_x(re, im, re, im, i, i + 4)
            elif s == 8:
                for m in range(size // 2):
                    i = ((m >> 3) << 4) | (m & 7)
                    _pair_x(re, im, re, im, i, i + 8)
            else:  # separate slices vectorise (indexing one array twice does not)
                for i0 in range(0, size, 2 * s):
                    xr = re[i0 : i0 + s]
                    xi = im[i0 : i0 + s]
                    yr = re[i0 + s : i0 + 2 * s]
                    yi = im[i0 + s : i0 + 2 * s]
                    for j in range(s):
                        _pair_x(xr, xi, yr, yi, j, j)
        elif s == 1:
            for m in range(size // 2):
                _pair_y(re, im, re, im, 2 * m, 2 * m + 1)
        elif s == 2:
            for m in range(size // 4):
                i = 4 * m
                _pair_y(re, im, re, im, i, i + 2)
                _pair_y(re, im, re, im, i + 1, i + 3)
        elif s == 4:
            for m in range(size // 2):
                i = ((m >> 2) << 3) | (m & 3)
                _pair_y(re, im, re, im, i, i + 4)
        elif s == 8:
            for m in range(size // 2):
                i = ((m >> 3) << 4) | (m & 7)
                _pair_y(re, im, re, im, i, i + 8)
        else:
            for i0 in range(0, size, 2 * s):
                xr = re[i0 : i0 + s]
                xi = im[i0 : i0 + s]
                yr = re[i0 + s : i0 + 2 * s]
                yi = im[i0 + s : i0 + 2 * s]
                for j in range(s):
                    _pair_y(xr, xi, yr, yi, j, j)

    @njit(cache=True, fastmath=True, inline="always")
    def _wht_pair(p, i, j):  # pragma: no cover - compiled
        a = p[i]
        b = p[j]
        p[i] = a + b
        p[j] = a - b

    @njit(cache=True, fastmath=True, inline="always")
    def _wht(p, u):  # pragma: no cover - compiled
        """In place: the unnormalised Walsh–Hadamard transform of p[:2^u] (strides 1–8 with
        constant index arithmetic, as :func:`_measure_butterfly`)."""
        half = (1 << u) // 2
        for t in range(u):
            s = 1 << t
            if s == 1:
                for m in range(half):
                    _wht_pair(p, 2 * m, 2 * m + 1)
            elif s == 2:
                for m in range(half):
                    i = ((m >> 1) << 2) | (m & 1)
                    _wht_pair(p, i, i + 2)
            elif s == 4:
                for m in range(half):
                    i = ((m >> 2) << 3) | (m & 3)
                    _wht_pair(p, i, i + 4)
            elif s == 8:
                for m in range(half):
                    i = ((m >> 3) << 4) | (m & 7)
                    _wht_pair(p, i, i + 8)
            else:
                for i0 in range(0, 2 * half, 2 * s):
                    x = p[i0 : i0 + s]
                    z = p[i0 + s : i0 + 2 * s]
                    for j in range(s):
                        a = x[j]
                        b = z[j]
                        x[j] = a + b
                        z[j] = a - b

    @njit(cache=True, inline="always")
    def _parity(x):  # pragma: no cover - compiled
        """popcount(x) mod 2 of a non-negative int64."""
        x ^= x >> 32
        x ^= x >> 16
        x ^= x >> 8
        x ^= x >> 4
        x ^= x >> 2
        x ^= x >> 1
        return x & 1

    @njit(cache=True, fastmath=True, inline="always")
    def _measure_range(  # pragma: no cover - compiled
        state, block, rq, rk, rstart, cidx, ubits, mlo, mhi, mstart, lo, hi,
        are, aim, bre, bim, pm, acc,
    ):  # fmt: skip
        """Blocks lo..hi-1 of the low ``block`` qubits: per group g, rotate a copy of the block
        (rotations rstart[g]..rstart[g+1]-1: buffer bit rq[r], kind rk[r], see
        :func:`_measure_butterfly`), |ψ|² summed into the group's used low bits (compact index
        cidx[g, i]; ubits[g] of them, all when ubits[g] == block), a Walsh–Hadamard transform
        over those, then ``acc[k] += (−1)^{|o ∧ mhi[k]|} · W[mlo[k]]`` for the group's masks k
        (unnormalised: ×2 per rotation)."""
        size = 1 << block
        n_groups = rstart.size - 1
        for o in range(lo, hi):
            base = np.int64(o) << block
            for i in range(size):
                z = state[base + i]
                are[i] = z.real
                aim[i] = z.imag
            for g in range(n_groups):
                if rstart[g + 1] > rstart[g]:
                    for i in range(size):
                        bre[i] = are[i]
                        bim[i] = aim[i]
                    for r in range(rstart[g], rstart[g + 1]):
                        _measure_butterfly(bre, bim, rq[r], rk[r])
                    sre = bre
                    sim = bim
                else:
                    sre = are
                    sim = aim
                u = ubits[g]
                if u == block:
                    for i in range(size):
                        pm[i] = sre[i] * sre[i] + sim[i] * sim[i]
                else:
                    for i in range(1 << u):
                        pm[i] = 0.0
                    cg = cidx[g]
                    for i in range(size):
                        pm[cg[i]] += sre[i] * sre[i] + sim[i] * sim[i]
                _wht(pm, u)
                for k in range(mstart[g], mstart[g + 1]):
                    v = pm[mlo[k]]
                    if _parity(o & mhi[k]):
                        acc[k] -= v
                    else:
                        acc[k] += v

    @njit(cache=True, fastmath=True)
    def measure_serial(  # pragma: no cover - compiled
        state, block, rq, rk, rstart, cidx, ubits, mlo, mhi, mstart
    ):
        """Σ over the state of each group's Z-parity at each of its masks (see
        :func:`_measure_range`), one thread; the state is only read."""
        size = 1 << block
        acc = np.zeros(mlo.size)
        n_outer = state.size >> block
        are = np.empty(size)
        aim = np.empty(size)
        bre = np.empty(size)
        bim = np.empty(size)
        pm = np.empty(size)
        _measure_range(
            state, block, rq, rk, rstart, cidx, ubits, mlo, mhi, mstart, 0, n_outer,
            are, aim, bre, bim, pm, acc,
        )  # fmt: skip
        return acc

    @njit(parallel=True, cache=True, fastmath=True)
    def measure_parallel(  # pragma: no cover - compiled
        state, block, rq, rk, rstart, cidx, ubits, mlo, mhi, mstart, threads
    ):
        """:func:`measure_serial` over ``threads`` contiguous ranges of blocks, one partial sum
        per thread."""
        size = 1 << block
        n_outer = state.size >> block
        nth = max(1, min(threads, n_outer))
        partial = np.zeros((nth, mlo.size))
        for th in prange(nth):
            are = np.empty(size)
            aim = np.empty(size)
            bre = np.empty(size)
            bim = np.empty(size)
            pm = np.empty(size)
            lo = th * n_outer // nth
            hi = (th + 1) * n_outer // nth
            _measure_range(
                state, block, rq, rk, rstart, cidx, ubits, mlo, mhi, mstart, lo, hi,
                are, aim, bre, bim, pm, partial[th],
            )  # fmt: skip
        return partial.sum(axis=0)

else:  # pragma: no cover - exercised only without numba

    def _needs_numba(*args, **kwargs):
        """Stand-in for every kernel when numba is missing (the engine choice refuses earlier)."""
        raise RuntimeError("engine 'numba' requested but numba is not installed; use 'numpy'")

    rotate_serial = rotate_parallel = measure_serial = measure_parallel = _needs_numba
