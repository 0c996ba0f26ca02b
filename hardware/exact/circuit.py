"""Parameterised qiskit circuits on the in-house numba engine: compiled once per circuit into
fused 1-qubit gates (each angle affine in one parameter) and CX/CZ, scheduled into the blocked
passes of :mod:`.schedule`, so an evaluation is a few passes over the state, not one Aer job.

Compilation flattens the circuit through gate definitions down to RX, RY, RZ, P, U, CX, CZ and
constant 1-qubit gates; runs of 1-qubit gates between two-qubit gates fuse into one 2×2 matrix
per qubit (built per evaluation by :func:`fuse`). A circuit with anything else (measurements,
resets, other two-qubit gates without a definition, non-affine angles) is not compiled
(:func:`compile_circuit` returns None) and runs through Aer instead.
"""

from __future__ import annotations

import cmath
import heapq
import math
from dataclasses import dataclass

import numpy as np

from qbench.hardware.exact.kernels import HAVE_NUMBA
from qbench.hardware.exact.schedule import (
    CX,
    CZ,
    DIAG,
    ONE_Q,
    REAL,
    Pass,
    fold_diagonals,
    fold_permutations,
    pair_order,
    run_pass,
    schedule_seq,
)

#: elementary 1-qubit gate codes of :func:`fuse`: a constant matrix, then the rotations
_CONST, _RX, _RY, _RZ, _P, _U = 0, 1, 2, 3, 4, 5
_ROTATIONS = {"rx": _RX, "ry": _RY, "rz": _RZ, "p": _P, "u1": _P, "u": _U, "u3": _U}
_TWO_QUBIT = {"cx": CX, "cnot": CX, "cz": CZ}
_SKIP = {"barrier", "delay", "id"}


class NotCompiled(Exception):
    """The circuit uses something the engine does not run (it then goes through Aer)."""


@dataclass
class CompiledCircuit:
    """A circuit as fused 1-qubit ops and CX/CZ, scheduled into passes.

    Op k (a fused 1-qubit gate) is the product of elementary gates ``start[k]:start[k+1]``, each
    with a code, up to three angles ``a·θ[idx] + b`` (idx −1: the constant b) and a constant
    matrix (code 0). ``slots[j]`` gives, for each gate of pass j, its op row (−1 for CX/CZ).
    ``phase`` is the global phase as affine terms (idx, a, b).
    """

    n: int
    n_params: int
    start: np.ndarray
    code: np.ndarray
    idx: np.ndarray
    a: np.ndarray
    b: np.ndarray
    const: np.ndarray
    phase: tuple[np.ndarray, np.ndarray, np.ndarray]
    passes: list[Pass]
    slots: list[np.ndarray]
    n_two_qubit: int
    #: per qubit, the op rows (in order; −1: none) of its 1-qubit ops before its first two-qubit
    #: gate, which the first pass applies to |0⟩ while writing the product state
    init_rows: np.ndarray


def _affine(value, index: dict) -> tuple[int, float, float]:
    """(idx, a, b) with ``value = a·θ[idx] + b``; NotCompiled unless affine in one parameter."""
    params = getattr(value, "parameters", None)
    if not params:
        return -1, 0.0, float(value)
    if len(params) > 1:
        raise NotCompiled(f"angle {value} depends on {len(params)} parameters")
    (theta,) = params
    if value == theta:
        return index[theta], 1.0, 0.0
    b = float(value.bind({theta: 0.0}))
    a = float(value.bind({theta: 1.0})) - b
    if not math.isclose(float(value.bind({theta: 0.7})), a * 0.7 + b, abs_tol=1e-12):
        raise NotCompiled(f"angle {value} is not affine in {theta}")
    return index[theta], a, b


def _flatten(qc, qubits: tuple[int, ...], index: dict, out: list, phase: list) -> None:
    """Append (name, qubits, angles as affine triples, const matrix or None) of every gate."""
    phase.append(_affine(qc.global_phase, index))
    for inst in qc.data:
        op = inst.operation
        name = op.name
        qs = tuple(qubits[qc.find_bit(q).index] for q in inst.qubits)
        if name in _SKIP:
            continue
        if inst.clbits or name in ("measure", "reset"):
            raise NotCompiled(f"'{name}' is not a unitary gate")
        if name in _TWO_QUBIT and not op.params and len(qs) == 2:
            out.append((name, qs, (), None))
            continue
        if len(qs) == 1 and name in _ROTATIONS:
            out.append((name, qs, tuple(_affine(p, index) for p in op.params), None))
            continue
        if len(qs) == 1 and not any(getattr(p, "parameters", None) for p in op.params):
            try:
                out.append(("const", qs, (), np.asarray(op.to_matrix(), dtype=complex)))
                continue
            except Exception:  # noqa: BLE001 - fall through to the gate's definition
                pass
        definition = getattr(op, "definition", None)
        if definition is None:
            raise NotCompiled(f"gate '{name}' on {len(qs)} qubits has no definition")
        _flatten(definition, qs, index, out, phase)


def _diagonal(elem: tuple) -> bool:
    """An elementary 1-qubit gate (name, angles, matrix) that is diagonal."""
    name, _, mat = elem
    return name in ("rz", "p", "u1") or (mat is not None and not mat[0, 1] and not mat[1, 0])


def _real(elem: tuple) -> bool:
    """An elementary 1-qubit gate with a real matrix."""
    name, _, mat = elem
    return name == "ry" or (mat is not None and not mat.imag.any())


def _layered(ops: list[tuple]) -> list[tuple]:
    """The ops reordered, each still after every earlier op on its qubits: all ready 1-qubit
    ops, then every two-qubit gate that is or becomes ready, alternately. A layer of CX/CZ then
    sits in one run that :func:`~.schedule.fold_permutations` turns into one gather, and the
    1-qubit ops between sit together, in pairs of one sweep each."""
    last: dict[int, int] = {}
    waiting = [0] * len(ops)
    children: list[list[int]] = [[] for _ in ops]
    for i, (_, qs, _) in enumerate(ops):
        for p in {last[q] for q in qs if q in last}:
            children[p].append(i)
            waiting[i] += 1
        for q in qs:
            last[q] = i
    ready = {True: [], False: []}  # two-qubit?
    for i, op in enumerate(ops):
        if not waiting[i]:
            heapq.heappush(ready[len(op[1]) == 2], i)
    out: list[tuple] = []
    two = False
    while ready[True] or ready[False]:
        while ready[two]:
            i = heapq.heappop(ready[two])
            out.append(ops[i])
            for c in children[i]:
                waiting[c] -= 1
                if not waiting[c]:
                    heapq.heappush(ready[len(ops[c][1]) == 2], c)
        two = not two
    return out


def compile_circuit(qc, block_bits: int) -> CompiledCircuit | None:
    """The circuit compiled for the engine, or None when it uses anything the engine lacks."""
    if not HAVE_NUMBA:
        return None
    index = {p: i for i, p in enumerate(qc.parameters)}
    gates: list = []
    phase: list = []
    try:
        _flatten(qc, tuple(range(qc.num_qubits)), index, gates, phase)
    except (NotCompiled, KeyError, TypeError, ValueError):
        return None
    n = qc.num_qubits
    pending: list[list] = [[] for _ in range(n)]
    ops: list[tuple] = []  # (kind, qubits, elementary gates)

    def flush(q: int) -> None:
        """Queue qubit q's pending 1-qubit gates as ops: [diagonal] real [diagonal] when they
        have that form (RY·RZ layers: the diagonals then gather into few sweeps and the real
        part runs at half the cost), else one general op."""
        elems = pending[q]
        if not elems:
            return
        pending[q] = []
        lo, hi = 0, len(elems)
        while lo < hi and _diagonal(elems[lo]):
            lo += 1
        while hi > lo and _diagonal(elems[hi - 1]):
            hi -= 1
        if not all(_real(e) for e in elems[lo:hi]):
            ops.append((ONE_Q, (q,), elems))
            return
        for kind, part in ((DIAG, elems[:lo]), (REAL, elems[lo:hi]), (DIAG, elems[hi:])):
            if part:
                ops.append((kind, (q,), part))

    for name, qs, angles, mat in gates:
        if name in _TWO_QUBIT:
            for q in qs:
                flush(q)
            ops.append((_TWO_QUBIT[name], qs, []))
        else:
            pending[qs[0]].append((name, angles, mat))
    for q in range(n):
        flush(q)
    ops = _layered(ops)
    start, code, idx, a, b, const = [0], [], [], [], [], [np.eye(2, dtype=complex)]
    for kind, _, elems in ops:
        for name, angles, mat in elems:
            triples = list(angles) + [(-1, 0.0, 0.0)] * (3 - len(angles))
            code.append(_ROTATIONS.get(name, _CONST))
            idx.append([t[0] for t in triples])
            a.append([t[1] for t in triples])
            b.append([t[2] if name != "const" else len(const) for t in triples])
            if name == "const":
                const.append(mat)
        if kind in (ONE_Q, REAL, DIAG):
            start.append(len(code))
    one_q = [k for k, op in enumerate(ops) if op[0] in (ONE_Q, REAL, DIAG)]
    row = {k: r for r, k in enumerate(one_q)}
    # a qubit's 1-qubit ops before its first two-qubit gate act on |0⟩: they go into the
    # product state the first pass writes instead of sweeps over the state
    init_rows = np.full((n, 3), -1, dtype=np.int64)  # at most [diagonal] real [diagonal]
    entangled: set[int] = set()
    firsts: set[int] = set()
    for k, (kind, qs, _) in enumerate(ops):
        if kind in (ONE_Q, REAL, DIAG) and qs[0] not in entangled:
            slot = int(np.argmax(init_rows[qs[0]] < 0))
            init_rows[qs[0], slot] = row[k]
            firsts.add(k)
        elif kind not in (ONE_Q, REAL, DIAG):
            entangled.update(qs)
    kept = [k for k in range(len(ops)) if k not in firsts]
    placeholder = np.zeros((2, 2), dtype=complex)
    sequence = [(ops[k][0], ops[k][1], placeholder) for k in kept]
    passes = schedule_seq(n, sequence, block_bits)
    passes = [ps for ps in passes if ps.kinds.size] or passes[:1]  # the first writes the init
    slots, at = [], 0
    for j, ps in enumerate(passes):
        m = ps.kinds.size
        rows = [row.get(kept[at + k], -1) for k in range(m)]
        keep = fold_diagonals(ps, rows, last=j == len(passes) - 1)
        keep = [keep[k] for k in fold_permutations(ps)]
        keep = [keep[k] for k in pair_order(ps)]
        slot = [-1 if kd == DIAG else rows[k] for k, kd in zip(keep, ps.kinds)]
        slots.append(np.array(slot, dtype=np.int64))
        at += m
    ph = np.array(phase, dtype=float).reshape(-1, 3)
    return CompiledCircuit(
        n=n,
        n_params=len(index),
        start=np.array(start, dtype=np.int64),
        code=np.array(code, dtype=np.int64),
        idx=np.array(idx, dtype=np.int64).reshape(-1, 3),
        a=np.array(a, dtype=float).reshape(-1, 3),
        b=np.array(b, dtype=float).reshape(-1, 3),
        const=np.array(const),
        phase=(ph[:, 0].astype(np.int64), ph[:, 1], ph[:, 2]),
        passes=passes,
        slots=slots,
        n_two_qubit=len(ops) - len(one_q),
        init_rows=init_rows,
    )


if HAVE_NUMBA:
    from numba import njit

    @njit(cache=True)
    def _fuse(params, start, code, idx, a, b, const):  # pragma: no cover - compiled
        """Each op's 2×2 matrix: the product of its elementary gates in circuit order."""
        k_ops = start.size - 1
        out = np.zeros((k_ops + 1, 2, 2), np.complex128)  # last row: zeros for CX/CZ slots
        g = np.empty((2, 2), np.complex128)
        for k in range(k_ops):
            m00, m01, m10, m11 = 1.0 + 0j, 0j, 0j, 1.0 + 0j
            for e in range(start[k], start[k + 1]):
                ang = np.empty(3)
                for t in range(3):
                    ang[t] = b[e, t] + (a[e, t] * params[idx[e, t]] if idx[e, t] >= 0 else 0.0)
                c = code[e]
                if c == 0:
                    g[:, :] = const[int(b[e, 0])]
                elif c == 1:
                    cs, sn = math.cos(ang[0] / 2), math.sin(ang[0] / 2)
                    g[0, 0], g[0, 1], g[1, 0], g[1, 1] = cs, -1j * sn, -1j * sn, cs
                elif c == 2:
                    cs, sn = math.cos(ang[0] / 2), math.sin(ang[0] / 2)
                    g[0, 0], g[0, 1], g[1, 0], g[1, 1] = cs, -sn, sn, cs
                elif c == 3:
                    g[0, 0], g[0, 1] = cmath.exp(-0.5j * ang[0]), 0
                    g[1, 0], g[1, 1] = 0, cmath.exp(0.5j * ang[0])
                elif c == 4:
                    g[0, 0], g[0, 1], g[1, 0], g[1, 1] = 1, 0, 0, cmath.exp(1j * ang[0])
                else:
                    cs, sn = math.cos(ang[0] / 2), math.sin(ang[0] / 2)
                    g[0, 0] = cs
                    g[0, 1] = -cmath.exp(1j * ang[2]) * sn
                    g[1, 0] = cmath.exp(1j * ang[1]) * sn
                    g[1, 1] = cmath.exp(1j * (ang[1] + ang[2])) * cs
                m00, m01, m10, m11 = (
                    g[0, 0] * m00 + g[0, 1] * m10,
                    g[0, 0] * m01 + g[0, 1] * m11,
                    g[1, 0] * m00 + g[1, 1] * m10,
                    g[1, 0] * m01 + g[1, 1] * m11,
                )
            out[k, 0, 0], out[k, 0, 1], out[k, 1, 0], out[k, 1, 1] = m00, m01, m10, m11
        return out

    @njit(cache=True)
    def _initial(params, mats, init_rows, ph_idx, ph_a, ph_b):  # pragma: no cover - compiled
        """Per-qubit amplitudes of the product state the first pass writes: each qubit's ops
        before its first two-qubit gate applied to |0⟩, the global phase on qubit 0."""
        n = init_rows.shape[0]
        amps = np.zeros((n, 2), np.complex128)
        for q in range(n):
            a0, a1 = 1.0 + 0j, 0j
            for k in range(init_rows.shape[1]):
                r = init_rows[q, k]
                if r >= 0:
                    a0, a1 = (
                        mats[r, 0, 0] * a0 + mats[r, 0, 1] * a1,
                        mats[r, 1, 0] * a0 + mats[r, 1, 1] * a1,
                    )
            amps[q, 0], amps[q, 1] = a0, a1
        angle = 0.0
        for k in range(ph_idx.size):
            angle += ph_b[k] + (ph_a[k] * params[ph_idx[k]] if ph_idx[k] >= 0 else 0.0)
        amps[0] *= cmath.exp(1j * angle)
        return amps

    @njit(cache=True)
    def _diag_factors(mats, drows):  # pragma: no cover - compiled
        """Per DIAG gate and buffer bit, the product of its ops' diagonals (−1: none)."""
        g_n, l_n, k_n = drows.shape
        out = np.ones((g_n, l_n, 2), np.complex128)
        for g in range(g_n):
            for t in range(l_n):
                for k in range(k_n):
                    r = drows[g, t, k]
                    if r >= 0:
                        out[g, t, 0] *= mats[r, 0, 0]
                        out[g, t, 1] *= mats[r, 1, 1]
        return out


def fuse(compiled: CompiledCircuit, params: np.ndarray) -> np.ndarray:
    """The fused ops' matrices at ``params`` (rows of :attr:`CompiledCircuit.slots`; the last
    row is zeros, for the CX/CZ slots)."""
    c = compiled
    return _fuse(np.asarray(params, dtype=float), c.start, c.code, c.idx, c.a, c.b, c.const)


def run_circuit(
    compiled: CompiledCircuit,
    params: np.ndarray,
    dtype: np.dtype,
    energy: tuple[np.ndarray, np.ndarray] | None = None,
    threads: int = 0,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """(state, energy) at ``params``, starting from |0…0⟩ (the first pass writes it). With
    ``energy`` = (h, Qs) the last pass accumulates Σ|ψ|²C instead of storing, and the returned
    state is not the final one. ``threads`` as :func:`~.schedule.run_pass` takes it; ``out``,
    a 2ⁿ array of the dtype, is written instead of a new one."""
    if params.size != compiled.n_params:
        raise ValueError(f"expected {compiled.n_params} parameters, got {params.size}")
    params = np.asarray(params, dtype=float)
    mats = fuse(compiled, params)
    amps = _initial(params, mats, compiled.init_rows, *compiled.phase)
    state = np.empty(1 << compiled.n, dtype=dtype) if out is None else out
    value = 0.0
    last = len(compiled.passes) - 1
    for j, (ps, slots) in enumerate(zip(compiled.passes, compiled.slots)):
        ps.mats = mats[slots]
        if ps.drows is not None:
            ps.dfac = _diag_factors(mats, ps.drows)
        final = energy is not None and j == last
        value = run_pass(
            state,
            ps,
            init=amps if j == 0 else None,
            energy=energy if final else None,
            store=not final,
            threads=threads,
        )
    return state, value
