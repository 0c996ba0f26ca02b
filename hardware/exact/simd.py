"""Gates on a buffer's six lowest bits in SIMD registers: LLVM vector code written through numba
intrinsics, because the loop vectoriser leaves strides below 64 scalar or nearly so (a gate on
bit 0-2 cost 0.8-1.3 ns per amplitude, on bits 3-5 0.26-0.57; here 0.15 each, 0.28 general).

``low6_rx``, ``low6_unit_rx``, ``low6_real`` and ``low6_general`` apply one 2×2 gate per bit
0-5 (the identity where a bit has none) to the 64 amplitudes of a split (re, im) buffer from
index k, held as eight 8-wide vectors of each part: bits 0-2 are lanes within a vector (the
partner lane comes by a shuffle), bits 3-5 pick the vector. ``coef`` (float64, per bit) holds
the gates as :data:`MODES` says; each mode compiles to its own straight-line code.
"""

from __future__ import annotations

#: coefficient layouts, per bit: RX-type ``[[c, −is], [−is, c]]`` as (c, s); real 2×2 as
#: (u00, u01, u10, u11); general as (u00, u01, u10, u11), each re, im; unit RX as rx with c = 1
#: taken as given (one multiply-add per output: the QAOA engine folds each cosine into the phase)
MODES = {"rx": 2, "real": 4, "general": 8, "unit_rx": 2}
RX_MODE, REAL_MODE, GENERAL_MODE, UNIT_RX_MODE = 0, 1, 2, 3

try:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    HAVE_SIMD = True
except ImportError:  # pragma: no cover - numba missing: the kernels are not used
    HAVE_SIMD = False

if HAVE_SIMD:
    _V8 = ir.VectorType(ir.DoubleType(), 8)
    _I32 = ir.IntType(32)
    _FAST = ("fast",)

    def _ops(builder):
        """Vector arithmetic with fast-math flags, as short closures."""

        def mul(a, b):
            return builder.fmul(a, b, flags=_FAST)

        def add(a, b):
            return builder.fadd(a, b, flags=_FAST)

        def sub(a, b):
            return builder.fsub(a, b, flags=_FAST)

        return mul, add, sub

    def _splat(builder, x):
        """An 8-lane vector of the scalar x."""
        v = builder.insert_element(ir.Constant(_V8, ir.Undefined), x, ir.Constant(_I32, 0))
        return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, 8), [0] * 8))

    def _lanes(builder, bit, lo, hi):
        """Per lane: ``lo`` where the lane's ``bit`` is 0, else ``hi``."""
        mask = ir.Constant(ir.VectorType(ir.IntType(1), 8), [(j >> bit) & 1 for j in range(8)])
        return builder.select(mask, hi, lo)

    def _gate_rx(builder, c, s, ar, ai, br, bi):
        """(a, b) ← RX-type (c, s) on the pair: a' = c·a − i·s·b, b' = c·b − i·s·a (c None: 1)."""
        mul, add, sub = _ops(builder)
        if c is None:
            return (
                add(ar, mul(s, bi)),
                sub(ai, mul(s, br)),
                add(br, mul(s, ai)),
                sub(bi, mul(s, ar)),
            )
        return (
            add(mul(c, ar), mul(s, bi)),
            sub(mul(c, ai), mul(s, br)),
            add(mul(c, br), mul(s, ai)),
            sub(mul(c, bi), mul(s, ar)),
        )

    def _cmac(builder, ur, ui, xr, xi, vr, vi, yr, yi):
        """u·x + v·y for complex vectors (re, im); ui/vi None where the coefficient is real."""
        mul, add, sub = _ops(builder)
        re = add(mul(ur, xr), mul(vr, yr))
        im = add(mul(ur, xi), mul(vr, yi))
        if ui is not None:
            re = sub(sub(re, mul(ui, xi)), mul(vi, yi))
            im = add(add(im, mul(ui, xr)), mul(vi, yr))
        return re, im

    def _codegen_low6(mode: int):
        """The intrinsic's code generator for one coefficient mode."""
        width = tuple(MODES.values())[mode]

        def codegen(context, builder, signature, args):
            are, aim, k, acoef = args
            ra = context.make_array(signature.args[0])(context, builder, are)
            ia = context.make_array(signature.args[1])(context, builder, aim)
            ca = context.make_array(signature.args[3])(context, builder, acoef)

            def scalar(j):
                return builder.load(builder.gep(ca.data, [ir.Constant(k.type, j)]))

            def vptr(data, off):
                p = builder.gep(data, [builder.add(k, ir.Constant(k.type, off))])
                return builder.bitcast(p, _V8.as_pointer())

            xr = [builder.load(vptr(ra.data, 8 * v), align=8) for v in range(8)]
            xi = [builder.load(vptr(ia.data, 8 * v), align=8) for v in range(8)]
            for bit in range(6):
                cf = [_splat(builder, scalar(width * bit + j)) for j in range(width)]
                if mode == UNIT_RX_MODE:
                    cf[0] = None
                if bit < 3:  # partner lane j ^ 2^bit: a shuffle within each vector
                    mask = ir.Constant(ir.VectorType(_I32, 8), [j ^ (1 << bit) for j in range(8)])
                    for v in range(8):
                        pr = builder.shuffle_vector(xr[v], xr[v], mask)
                        pi = builder.shuffle_vector(xi[v], xi[v], mask)
                        if mode in (RX_MODE, UNIT_RX_MODE):  # symmetric: one formula per lane
                            xr[v], xi[v] = _gate_rx(builder, cf[0], cf[1], xr[v], xi[v], pr, pi)[:2]
                            continue
                        # lane bit 0: u00·x + u01·partner; lane bit 1: u11·x + u10·partner
                        step = 1 if mode == REAL_MODE else 2
                        u = [cf[step * j : step * j + step] for j in range(4)]
                        a = [_lanes(builder, bit, u[0][p], u[3][p]) for p in range(step)]
                        b = [_lanes(builder, bit, u[1][p], u[2][p]) for p in range(step)]
                        ai = a[1] if step == 2 else None
                        bi = b[1] if step == 2 else None
                        xr[v], xi[v] = _cmac(builder, a[0], ai, xr[v], xi[v], b[0], bi, pr, pi)
                    continue
                st = 1 << (bit - 3)  # partner vector v ^ 2^(bit − 3)
                for v in range(8):
                    if v & st:
                        continue
                    w = v | st
                    ar, ai_, br, bi_ = xr[v], xi[v], xr[w], xi[w]
                    if mode in (RX_MODE, UNIT_RX_MODE):
                        xr[v], xi[v], xr[w], xi[w] = _gate_rx(
                            builder, cf[0], cf[1], ar, ai_, br, bi_
                        )
                        continue
                    step = 1 if mode == REAL_MODE else 2
                    u = [cf[step * j : step * j + step] for j in range(4)]
                    im = [(q[1] if step == 2 else None) for q in u]
                    xr[v], xi[v] = _cmac(builder, u[0][0], im[0], ar, ai_, u[1][0], im[1], br, bi_)
                    xr[w], xi[w] = _cmac(builder, u[2][0], im[2], ar, ai_, u[3][0], im[3], br, bi_)
            for v in range(8):
                builder.store(xr[v], vptr(ra.data, 8 * v), align=8)
                builder.store(xi[v], vptr(ia.data, 8 * v), align=8)
            return context.get_dummy_value()

        return codegen

    def _intrinsic(mode: int, doc: str):
        """The intrinsic for one coefficient mode."""

        def typer(typingctx, bre, bim, k, coef):
            return types.void(bre, bim, k, coef), _codegen_low6(mode)

        typer.__doc__ = doc
        return intrinsic(typer)

    low6_rx = _intrinsic(RX_MODE, "RX-type gates (c, s per bit) on bits 0-5 of amplitudes k..k+63.")
    low6_real = _intrinsic(REAL_MODE, "Real 2×2 gates on bits 0-5 of amplitudes k..k+63.")
    low6_unit_rx = _intrinsic(UNIT_RX_MODE, "RX-type gates with c = 1 (as rx) on bits 0-5.")
    low6_general = _intrinsic(GENERAL_MODE, "General 2×2 gates on bits 0-5 of amplitudes k..k+63.")
