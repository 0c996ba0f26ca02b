"""The numba kernels of the exact engine: one blocked pass, and elementwise phase, energy and
probabilities over a whole state (``HAVE_NUMBA`` says whether numba imported)."""

from __future__ import annotations

import math

import numpy as np

try:  # numba is an optional accelerator; numpy is the fallback
    from numba import get_num_threads, njit, prange

    from qbench.hardware.exact.simd import low6_general, low6_real, low6_rx, low6_unit_rx

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

#: below this butterfly stride the 2×2 gates index pairs directly instead of slicing rows
SHORT_BITS = 3
SHORT_STRIDE = 1 << SHORT_BITS
#: gates on the buffer's lowest bits run in SIMD registers, all of them in one sweep (:mod:`.simd`)
LOW_BITS = 6

if HAVE_NUMBA:

    @njit(inline="always")
    def _pair(bre, bim, j, k, u):  # pragma: no cover - compiled
        """The 2×2 gate u (:func:`_coeffs`) on amplitudes j and k."""
        bre[j], bim[j], bre[k], bim[k] = _bf(bre[j], bim[j], bre[k], bim[k], u)

    @njit(cache=True, fastmath=True)
    def _quad(bre, bim, size, ta, tb, u, v, mode):  # pragma: no cover - compiled
        """2×2 gates u on buffer bit ta and v on bit tb (both strides >= 8) in one sweep: each
        quad of amplitudes is loaded once, both butterflies applied in registers, stored once.
        ``mode`` 1: both are RX-type ([[c, −is], [−is, c]]; with both c = 1, one multiply-add
        per output), else both real (RY-type). The
        coefficients are read into scalars first: loads from ``u``/``v`` inside the loop could
        alias the stores, which would keep LLVM from vectorising it."""
        sa = 1 << ta
        sb = 1 << tb
        s_lo = min(sa, sb)
        s_hi = max(sa, sb)
        a00r, a01r, a10r, a11r = u[0, 0].real, u[0, 1].real, u[1, 0].real, u[1, 1].real
        b00r, b01r, b10r, b11r = v[0, 0].real, v[0, 1].real, v[1, 0].real, v[1, 1].real
        cu = a00r
        su = -u[0, 1].imag
        cv = b00r
        sv = -v[0, 1].imag
        if mode == 1 and cu == 1.0 and cv == 1.0:
            mode = 3  # both cosines 1 (the QAOA engine's unit form): one multiply-add each
        for i0 in range(0, size, 2 * s_hi):
            for k0 in range(i0, i0 + s_hi, 2 * s_lo):
                p0r = bre[k0 : k0 + s_lo]
                p0i = bim[k0 : k0 + s_lo]
                par = bre[k0 + sa : k0 + sa + s_lo]
                pai = bim[k0 + sa : k0 + sa + s_lo]
                pbr = bre[k0 + sb : k0 + sb + s_lo]
                pbi = bim[k0 + sb : k0 + sb + s_lo]
                p2r = bre[k0 + sa + sb : k0 + sa + sb + s_lo]
                p2i = bim[k0 + sa + sb : k0 + sa + sb + s_lo]
                for j in range(s_lo):
                    x0r = p0r[j]
                    x0i = p0i[j]
                    xar = par[j]
                    xai = pai[j]
                    xbr = pbr[j]
                    xbi = pbi[j]
                    x2r = p2r[j]
                    x2i = p2i[j]
                    if mode == 2:
                        y0r = a00r * x0r + a01r * xar
                        y0i = a00r * x0i + a01r * xai
                        yar = a10r * x0r + a11r * xar
                        yai = a10r * x0i + a11r * xai
                        ybr = a00r * xbr + a01r * x2r
                        ybi = a00r * xbi + a01r * x2i
                        y2r = a10r * xbr + a11r * x2r
                        y2i = a10r * xbi + a11r * x2i
                        p0r[j] = b00r * y0r + b01r * ybr
                        p0i[j] = b00r * y0i + b01r * ybi
                        pbr[j] = b10r * y0r + b11r * ybr
                        pbi[j] = b10r * y0i + b11r * ybi
                        par[j] = b00r * yar + b01r * y2r
                        pai[j] = b00r * yai + b01r * y2i
                        p2r[j] = b10r * yar + b11r * y2r
                        p2i[j] = b10r * yai + b11r * y2i
                    elif mode == 3:
                        y0r = x0r + su * xai
                        y0i = x0i - su * xar
                        yar = xar + su * x0i
                        yai = xai - su * x0r
                        ybr = xbr + su * x2i
                        ybi = xbi - su * x2r
                        y2r = x2r + su * xbi
                        y2i = x2i - su * xbr
                        p0r[j] = y0r + sv * ybi
                        p0i[j] = y0i - sv * ybr
                        pbr[j] = ybr + sv * y0i
                        pbi[j] = ybi - sv * y0r
                        par[j] = yar + sv * y2i
                        pai[j] = yai - sv * y2r
                        p2r[j] = y2r + sv * yai
                        p2i[j] = y2i - sv * yar
                    else:
                        # u on bit a: pairs (0, a) and (b, ab)
                        y0r = cu * x0r + su * xai
                        y0i = cu * x0i - su * xar
                        yar = cu * xar + su * x0i
                        yai = cu * xai - su * x0r
                        ybr = cu * xbr + su * x2i
                        ybi = cu * xbi - su * x2r
                        y2r = cu * x2r + su * xbi
                        y2i = cu * x2i - su * xbr
                        # v on bit b: pairs (0, b) and (a, ab)
                        p0r[j] = cv * y0r + sv * ybi
                        p0i[j] = cv * y0i - sv * ybr
                        pbr[j] = cv * ybr + sv * y0i
                        pbi[j] = cv * ybi - sv * y0r
                        par[j] = cv * yar + sv * y2i
                        pai[j] = cv * yai - sv * y2r
                        p2r[j] = cv * y2r + sv * yai
                        p2i[j] = cv * y2i - sv * yar

    @njit(inline="always")
    def _double(re, im, half, a0, a1):  # pragma: no cover - compiled
        """One doubling step of a product table: entries half..2·half−1 become entries
        0..half−1 times ``a1``, those times ``a0`` (a product state, a diagonal's table)."""
        for m in range(half):
            xr = re[m]
            xi = im[m]
            re[half + m] = xr * a1.real - xi * a1.imag
            im[half + m] = xr * a1.imag + xi * a1.real
            re[m] = xr * a0.real - xi * a0.imag
            im[m] = xr * a0.imag + xi * a0.real

    @njit(inline="always")
    def _product_phase(bre, bim, cre, cim, c0, f, mre, mim, mode):  # pragma: no cover
        """Multiply the buffer by c0 · Π_t f[t, bit t of the index] (a product over its bits)
        times m[i]: (mre + i·mim)[i] for mode 2, the real mre[i] for mode 1, 1 for mode 0. The
        product is a table of the low 10 bits in the spare pair (cre, cim), times one factor
        per row of the rest, so no 2^L table is written and read back."""
        size = bre.size
        nl = f.shape[0]
        lo = min(nl, 10)
        cre[0] = c0.real
        cim[0] = c0.imag
        for t in range(lo):
            _double(cre, cim, 1 << t, f[t, 0], f[t, 1])
        width = 1 << lo
        for r in range(size >> lo):
            fh = 1.0 + 0.0j
            for t in range(lo, nl):
                fh *= f[t, (r >> (t - lo)) & 1]
            fr = fh.real
            fi = fh.imag
            r0 = r << lo
            rr = bre[r0 : r0 + width]
            ri = bim[r0 : r0 + width]
            if mode == 2:  # one loop per mode: a branch inside would keep it from vectorising
                mr = mre[r0 : r0 + width]
                mi = mim[r0 : r0 + width]
                for j in range(width):
                    ur = cre[j] * fr - cim[j] * fi
                    ui = cre[j] * fi + cim[j] * fr
                    _cmul(rr, ri, j, ur * mr[j] - ui * mi[j], ur * mi[j] + ui * mr[j])
            elif mode == 1:
                mr = mre[r0 : r0 + width]
                for j in range(width):
                    _cmul(
                        rr,
                        ri,
                        j,
                        (cre[j] * fr - cim[j] * fi) * mr[j],
                        (cre[j] * fi + cim[j] * fr) * mr[j],
                    )
            else:
                for j in range(width):
                    _cmul(rr, ri, j, cre[j] * fr - cim[j] * fi, cre[j] * fi + cim[j] * fr)

    @njit(inline="always")
    def _cmul(re, im, j, ur, ui):  # pragma: no cover - compiled
        """Element j of (re, im) times ur + i·ui."""
        xr = re[j]
        xi = im[j]
        re[j] = xr * ur - xi * ui
        im[j] = xr * ui + xi * ur

    @njit(inline="always")
    def _bf(ar, ai, br, bi, c):  # pragma: no cover - compiled
        """(a, b) ← c·(a, b) for c = (u00, u01, u10, u11 as re, im pairs), in registers."""
        return (
            c[0] * ar - c[1] * ai + c[2] * br - c[3] * bi,
            c[0] * ai + c[1] * ar + c[2] * bi + c[3] * br,
            c[4] * ar - c[5] * ai + c[6] * br - c[7] * bi,
            c[4] * ai + c[5] * ar + c[6] * bi + c[7] * br,
        )

    @njit(inline="always")
    def _coeffs(u):  # pragma: no cover - compiled
        """A 2×2 complex matrix as (u00, u01, u10, u11), each as re, im: scalars in registers."""
        return (
            u[0, 0].real, u[0, 0].imag, u[0, 1].real, u[0, 1].imag,
            u[1, 0].real, u[1, 0].imag, u[1, 1].real, u[1, 1].imag,
        )  # fmt: skip

    @njit(inline="always")
    def _low_coeffs(out, mats, qa, g, e, mode):  # pragma: no cover - compiled
        """Gates g..e−1 (on distinct buffer bits < LOW_BITS) as :func:`.simd.low6_rx` (mode 0),
        ``low6_real`` (1) or ``low6_general`` (2) coefficients, the identity on other bits.
        Returns the mode, 3 (``low6_unit_rx``) for RX gates whose cosines are all 1 (the QAOA
        engine's unit form)."""
        width = 2 if mode == 0 else 4 if mode == 1 else 8
        for b in range(LOW_BITS):
            for j in range(width):
                out[width * b + j] = 0.0
            out[width * b] = 1.0  # c = 1 (rx), u00 = 1 (real and general)
            if mode == 1:
                out[width * b + 3] = 1.0
            elif mode == 2:
                out[width * b + 6] = 1.0
        for k in range(g, e):
            b = qa[k]
            u = mats[k]
            if mode == 0:
                out[2 * b] = u[0, 0].real
                out[2 * b + 1] = -u[0, 1].imag
            elif mode == 1:
                out[4 * b] = u[0, 0].real
                out[4 * b + 1] = u[0, 1].real
                out[4 * b + 2] = u[1, 0].real
                out[4 * b + 3] = u[1, 1].real
            else:
                for j in range(4):
                    z = u[j // 2, j % 2]
                    out[8 * b + 2 * j] = z.real
                    out[8 * b + 2 * j + 1] = z.imag
        if mode == 0:
            for b in range(LOW_BITS):
                if out[2 * b] != 1.0:
                    return 0
            return 3
        return mode

    @njit(cache=True, fastmath=True, inline="always")
    def butterfly(re, im, t, u):  # pragma: no cover - compiled
        """In place: the 2×2 complex ``u`` on buffer bit t (stride ≥ 8: the rows are sliced so
        the loop vectorises) of a split (re, im) buffer."""
        u00r = u[0, 0].real
        u00i = u[0, 0].imag
        u01r = u[0, 1].real
        u01i = u[0, 1].imag
        u10r = u[1, 0].real
        u10i = u[1, 0].imag
        u11r = u[1, 1].real
        u11i = u[1, 1].imag
        s = 1 << t
        for i0 in range(0, re.size, 2 * s):
            ar = re[i0 : i0 + s]
            ai = im[i0 : i0 + s]
            br = re[i0 + s : i0 + 2 * s]
            bi = im[i0 + s : i0 + 2 * s]
            for j in range(s):
                xr = ar[j]
                xi = ai[j]
                yr = br[j]
                yi = bi[j]
                ar[j] = u00r * xr - u00i * xi + u01r * yr - u01i * yi
                ai[j] = u00r * xi + u00i * xr + u01r * yi + u01i * yr
                br[j] = u10r * xr - u10i * xi + u11r * yr - u11i * yi
                bi[j] = u10r * xi + u10i * xr + u11r * yi + u11i * yr

    @njit(cache=True)
    def offsets(lbits):  # pragma: no cover - compiled
        """State offset of every buffer index of a pass (buffer bit t is qubit lbits[t])."""
        nl = lbits.size
        off = np.zeros(1 << nl, np.int64)
        for t in range(nl):
            half = 1 << t
            v = np.int64(1) << lbits[t]
            for m in range(half):
                off[half + m] = off[m] + v
        return off

    @njit(cache=True)
    def local_energy(lbits, h, qs):  # pragma: no cover - compiled
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

    def pass_kernel(  # pragma: no cover - compiled
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
        ph_scale,
        do_phase,
        phase_at,
        ex_h,
        ex_q,
        do_exp,
        store,
        threads,
        off,
        el,
        ex_local,
        perm,
        dfac,
        dsign,
        work,
        table,
    ):
        """One blocked pass: [init | gather] → gates, the phase before gate ``phase_at`` →
        [energy] → [scatter].

        The buffer is split into real and imaginary float64 arrays so the butterflies vectorise.
        ``off`` (:func:`offsets`), ``el`` and ``ex_local`` (:func:`local_energy` of the phase's
        and the energy's QUBO) depend on the pass alone, so callers compute them once. Gate kind
        6 is a signed permutation of the buffer (row ``qa[g]`` of ``perm``: a run of CX/CZ gates
        folded into one gather, see :func:`~.schedule.fold_permutations`); kind 7 multiplies
        it by the product phase of per-buffer-bit diagonals ``dfac[qa[g]]`` times the CZ signs
        ``dsign[qa[g]]`` where given (skipped for the energy where ``qb[g]`` is 1: |ψ|² does
        not see it, :func:`~.schedule.fold_diagonals`).
        ``work`` (4·threads rows of ≥ 2^L) holds each thread's buffer and spare pair, ``table``
        (4 rows) the phase's local factors and the start state's local product, written once
        per call and read by every block (:func:`~.schedule.workspace`): allocating them
        per call would fault in fresh pages each time (from 256 KiB on, malloc maps them anew:
        9-14 ns per element, more than the pass itself).
        """
        nl = lbits.size
        nh = obits.size
        size = 1 << nl
        n_outer = 1 << nh
        tre = table[0, :size]  # the phase's local factors, shared by the threads (read-only)
        tim = table[1, :size]
        init_table = do_init and nh > 0 and table.shape[0] == 4
        if init_table:  # the start state's local product, once for all blocks
            ire = table[2, :size]
            iim = table[3, :size]
            ire[0] = 1.0
            iim[0] = 0.0
            for t in range(nl):
                _double(ire, iim, 1 << t, init_amps[lbits[t], 0], init_amps[lbits[t], 1])
        else:
            ire = tre
            iim = tim
        if do_phase:
            for i in range(size):
                a = -gamma * el[i]
                tre[i] = math.cos(a)
                tim[i] = math.sin(a)
        nth = max(1, min(threads, n_outer, work.shape[0] // 4))
        run = 0  # buffer bits 0..run−1 are qubits 0..run−1: gathers copy rows of 2^run
        while run < nl and lbits[run] == run:
            run += 1
        lowest = run == nl  # the buffer is one block of the state
        rows = run >= SHORT_BITS and not lowest
        row = 1 << run
        partial = np.zeros(nth)
        for th in prange(nth):
            bre = work[4 * th, :size]
            bim = work[4 * th + 1, :size]
            cre = work[4 * th + 2, :size]  # the spare pair: permutations' target, phase and
            cim = work[4 * th + 3, :size]  # energy rows
            setbits = np.empty(max(nh, 1), np.int64)
            fac = np.ones((nl, 2), np.complex128)  # the phase's per-local-bit factors
            wts = np.empty(nl)  # the energy's couplings of each local bit to the outer ones
            lowc = np.empty(8 * LOW_BITS)  # the gates on buffer bits 0-5 (:func:`_low_coeffs`)
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
                    if init_table:
                        fr = f.real
                        fi = f.imag
                        for i in range(size):
                            bre[i] = fr * ire[i] - fi * iim[i]
                            bim[i] = fr * iim[i] + fi * ire[i]
                    else:
                        bre[0] = f.real
                        bim[0] = f.imag
                        for t in range(nl):
                            _double(
                                bre, bim, 1 << t, init_amps[lbits[t], 0], init_amps[lbits[t], 1]
                            )
                elif lowest:  # buffer bit t is qubit t: the buffer is one block of the state
                    src = state[base : base + size]
                    for i in range(size):
                        bre[i] = src[i].real
                        bim[i] = src[i].imag
                elif rows:  # contiguous rows of 2^run amplitudes
                    for r0 in range(0, size, row):
                        src = state[base + off[r0] : base + off[r0] + row]
                        for i in range(row):
                            bre[r0 + i] = src[i].real
                            bim[r0 + i] = src[i].imag
                else:
                    for i in range(size):
                        z = state[base + off[i]]
                        bre[i] = z.real
                        bim[i] = z.imag
                skip = 0
                for g in range(kinds.size + 1):
                    if do_phase and g == phase_at:  # the cost phase, before gate phase_at:
                        # the local table times a product over local bits of the couplings to
                        # the set outer bits
                        ch = 0.0
                        for k in range(ns):
                            j = setbits[k]
                            ch += ph_h[j]
                            for k2 in range(k + 1, ns):
                                ch += ph_q[j, setbits[k2]]
                        for t in range(nl):
                            i = lbits[t]
                            w = 0.0
                            for k in range(ns):
                                w += ph_q[i, setbits[k]]
                            fac[t, 1] = complex(math.cos(-gamma * w), math.sin(-gamma * w))
                        c0 = complex(math.cos(-gamma * ch), math.sin(-gamma * ch)) * ph_scale
                        _product_phase(bre, bim, cre, cim, c0, fac, tre, tim, 2)
                    if g == kinds.size:
                        break
                    if skip:  # gates applied with an earlier one
                        skip -= 1
                        continue
                    ta = qa[g]
                    kind = kinds[g]
                    if (kind == 0 or kind == 2 or kind == 5) and ta < LOW_BITS and size >= 64:
                        # 1-qubit gates on buffer bits 0-5 (distinct, no phase between): one
                        # register sweep for them all (:mod:`.simd`), identity on bits without
                        e = g
                        used = 0
                        mode = 0 if kind == 2 else 1 if kind == 5 else 2
                        while e < kinds.size and (e == g or not do_phase or phase_at != e):
                            ke = kinds[e]
                            if not (ke == 0 or ke == 2 or ke == 5) or qa[e] >= LOW_BITS:
                                break
                            if (used >> qa[e]) & 1:
                                break
                            if ke != kind:
                                mode = 2
                            used |= 1 << qa[e]
                            e += 1
                        if e - g >= 2 or ta < SHORT_BITS:
                            mode = _low_coeffs(lowc, mats, qa, g, e, mode)
                            for k in range(0, size, 64):
                                if mode == 3:
                                    low6_unit_rx(bre, bim, k, lowc)
                                elif mode == 0:
                                    low6_rx(bre, bim, k, lowc)
                                elif mode == 1:
                                    low6_real(bre, bim, k, lowc)
                                else:
                                    low6_general(bre, bim, k, lowc)
                            skip = e - g - 1
                            continue
                    if (
                        g + 1 < kinds.size
                        and (not do_phase or phase_at != g + 1)
                        and (kind == 2 or kind == 5)
                        and kinds[g + 1] == kind
                        and qa[g + 1] != ta
                        and min(ta, qa[g + 1]) >= (LOW_BITS if size >= 64 else SHORT_BITS)
                    ):  # two RX or two real gates in one sweep over the buffer (radix 4; a pair
                        # of general ones measured slower than two sweeps: 0.36 vs 0.32 ns each);
                        # gates on bits below LOW_BITS are left to the register sweep
                        mode = 1 if kind == 2 else 2
                        _quad(bre, bim, size, ta, qa[g + 1], mats[g], mats[g + 1], mode)
                        skip = 1
                        continue
                    if kind == 0:  # general 2x2
                        s = 1 << ta
                        if s < SHORT_STRIDE:  # slices would cost more than the pair itself
                            u = _coeffs(mats[g])
                            if s == 1:
                                for j in range(0, size, 2):
                                    _pair(bre, bim, j, j + 1, u)
                            elif s == 2:
                                for j in range(0, size, 4):
                                    _pair(bre, bim, j, j + 2, u)
                                    _pair(bre, bim, j + 1, j + 3, u)
                            else:
                                for j in range(0, size, 8):
                                    _pair(bre, bim, j, j + 4, u)
                                    _pair(bre, bim, j + 1, j + 5, u)
                                    _pair(bre, bim, j + 2, j + 6, u)
                                    _pair(bre, bim, j + 3, j + 7, u)
                            continue
                        butterfly(bre, bim, ta, mats[g])
                    elif kind == 5:  # real 2x2 (RY-type)
                        u00r = mats[g, 0, 0].real
                        u01r = mats[g, 0, 1].real
                        u10r = mats[g, 1, 0].real
                        u11r = mats[g, 1, 1].real
                        s = 1 << ta
                        if s < SHORT_STRIDE:
                            for i0 in range(0, size, 2 * s):
                                for j in range(i0, i0 + s):
                                    xr = bre[j]
                                    xi = bim[j]
                                    yr = bre[j + s]
                                    yi = bim[j + s]
                                    bre[j] = u00r * xr + u01r * yr
                                    bim[j] = u00r * xi + u01r * yi
                                    bre[j + s] = u10r * xr + u11r * yr
                                    bim[j + s] = u10r * xi + u11r * yi
                            continue
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
                                ar[j] = u00r * xr + u01r * yr
                                ai[j] = u00r * xi + u01r * yi
                                br[j] = u10r * xr + u11r * yr
                                bi[j] = u10r * xi + u11r * yi
                    elif kind == 2:  # RX-type: [[c, -i s], [-i s, c]]
                        c = mats[g, 0, 0].real
                        sn = -mats[g, 0, 1].imag
                        unit = c == 1.0  # the QAOA engine's unit form: one multiply-add each
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
                                if unit:
                                    ar[j] = xr + sn * yi
                                    ai[j] = xi - sn * yr
                                    br[j] = yr + sn * xi
                                    bi[j] = yi - sn * xr
                                else:
                                    ar[j] = c * xr + sn * yi
                                    ai[j] = c * xi - sn * yr
                                    br[j] = c * yr + sn * xi
                                    bi[j] = c * yi - sn * xr
                    elif kind == 7:  # diagonal product phase, times the CZ signs if any
                        if qb[g] == 1 and do_exp:
                            continue
                        if dsign.shape[1] == size:
                            sg = dsign[ta]
                            _product_phase(bre, bim, cre, cim, 1.0 + 0.0j, dfac[ta], sg, sg, 1)
                        else:
                            _product_phase(bre, bim, cre, cim, 1.0 + 0.0j, dfac[ta], tre, tim, 0)
                    elif kind == 6:  # signed permutation: gather into the second buffer
                        src = perm[ta]
                        for i in range(size):
                            j = src[i]  # ~j: the amplitude negated
                            neg = j >> 31  # -1 when negated, else 0
                            j ^= neg
                            sg = 1.0 + 2.0 * neg
                            cre[i] = sg * bre[j]
                            cim[i] = sg * bim[j]
                        bre, cre = cre, bre
                        bim, cim = cim, bim
                    elif kind == 3 or kind == 4:  # CX (control ta, target tb) or CZ
                        sa = 1 << ta
                        sb = 1 << qb[g]
                        s_lo = min(sa, sb)
                        s_hi = max(sa, sb)
                        # j runs over the indices with both bits clear, in contiguous runs
                        for i0 in range(0, size, 2 * s_hi):
                            for k0 in range(i0, i0 + s_hi, 2 * s_lo):
                                if kind == 4:
                                    for j in range(k0 + sa + sb, k0 + sa + sb + s_lo):
                                        bre[j] = -bre[j]
                                        bim[j] = -bim[j]
                                    continue
                                j0 = k0 + sa
                                ar = bre[j0 : j0 + s_lo]
                                ai = bim[j0 : j0 + s_lo]
                                br = bre[j0 + sb : j0 + sb + s_lo]
                                bi = bim[j0 + sb : j0 + sb + s_lo]
                                for j in range(s_lo):
                                    xr = ar[j]
                                    xi = ai[j]
                                    ar[j] = br[j]
                                    ai[j] = bi[j]
                                    br[j] = xr
                                    bi[j] = xi
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
                    # the couplings of the local bits to the set outer ones: a table of the
                    # low 10 bits plus one sum per row of the rest (no 2^L table per block)
                    lo = min(nl, 10)
                    for t in range(nl):
                        i = lbits[t]
                        w = 0.0
                        for k in range(ns):
                            w += ex_q[i, setbits[k]]
                        wts[t] = w
                    cre[0] = ch
                    for t in range(lo):
                        half = 1 << t
                        for m in range(half):
                            cre[half + m] = cre[m] + wts[t]
                    width = 1 << lo
                    for r in range(size >> lo):
                        wr = 0.0
                        for t in range(lo, nl):
                            if (r >> (t - lo)) & 1:
                                wr += wts[t]
                        r0 = r << lo
                        rr = bre[r0 : r0 + width]
                        ri = bim[r0 : r0 + width]
                        el_r = ex_local[r0 : r0 + width]
                        part = 0.0
                        for j in range(width):
                            part += (rr[j] * rr[j] + ri[j] * ri[j]) * (el_r[j] + cre[j] + wr)
                        acc += part
                if store and lowest:
                    dst = state[base : base + size]
                    for i in range(size):
                        dst[i] = complex(bre[i], bim[i])
                elif store and rows:
                    for r0 in range(0, size, row):
                        dst = state[base + off[r0] : base + off[r0] + row]
                        for i in range(row):
                            dst[i] = complex(bre[r0 + i], bim[r0 + i])
                elif store:
                    for i in range(size):
                        state[base + off[i]] = complex(bre[i], bim[i])
            partial[th] = acc
        return partial.sum()

    # two compiled versions of one body: threaded (prange over outer blocks) and serial, which
    # skips numba's thread pool altogether (its launch costs ~10 µs, more than a small pass);
    # distinct names keep their on-disk caches apart
    _body = pass_kernel
    _body.__qualname__ = "pass_kernel_serial"
    pass_kernel_serial = njit(cache=True, fastmath=True)(_body)
    _body.__qualname__ = "pass_kernel"
    pass_kernel = njit(parallel=True, cache=True, fastmath=True)(_body)

    @njit(parallel=True, cache=True)
    def phase_kernel(state, cost, gamma):  # pragma: no cover - compiled
        for i in prange(state.size):
            a = -gamma * cost[i]
            state[i] = state[i] * complex(math.cos(a), math.sin(a))

    @njit(parallel=True, cache=True)
    def expectation_kernel(state, cost):  # pragma: no cover - compiled
        acc = 0.0
        for i in prange(state.size):
            z = state[i]
            acc += (z.real * z.real + z.imag * z.imag) * cost[i]
        return acc

    @njit(parallel=True, cache=True)
    def probabilities_kernel(state, out):  # pragma: no cover - compiled
        for i in prange(state.size):
            z = state[i]
            out[i] = z.real * z.real + z.imag * z.imag

else:  # pragma: no cover - exercised only without numba

    def _needs_numba(*args, **kwargs):
        """Stand-in for every kernel when numba is missing (the engine choice refuses earlier)."""
        raise RuntimeError("engine 'numba' requested but numba is not installed; use 'numpy'")

    pass_kernel = pass_kernel_serial = offsets = butterfly = local_energy = phase_kernel = (
        expectation_kernel
    ) = probabilities_kernel = _needs_numba
    get_num_threads = _needs_numba
