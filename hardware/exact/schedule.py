"""Blocked pass scheduling for the numba engine: which qubits a pass holds local and which gates
it applies (commuting 1-qubit layers, ordered XY sequences), and running one pass on a state."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from qbench.hardware.exact.kernels import (
    get_num_threads,
    local_energy,
    offsets,
    pass_kernel,
    pass_kernel_serial,
)

#: local qubits per blocked pass: 2^13 amplitudes (128 KiB in complex128) per buffer
BLOCK_BITS = 13
#: lowest qubits always kept local in a high-qubit pass, so gathered rows are >= 8 amplitudes
CHUNK_BITS = 3

#: gate kinds of :func:`pass_kernel`: general 2x2, XY Givens rotation, RX-type 2x2, CX
#: (control, target), CZ, real 2x2 (RY-type: half the multiplications of a general one), a
#: signed permutation of the buffer (a folded run of CX/CZ, :func:`fold_permutations`), a
#: diagonal product phase (1-qubit diagonal gates gathered by :func:`fold_diagonals`)
ONE_Q, XY, RX, CX, CZ, REAL, PERM, DIAG = 0, 1, 2, 3, 4, 5, 6, 7


_NO_PERM, _NO_TABLE = np.zeros((1, 1), np.int32), np.zeros((2, 1))
_NO_DFAC, _NO_SIGN = np.ones((1, 1, 2), np.complex128), np.ones((1, 1), np.int8)


@dataclass
class Pass:
    """A blocked pass: its local qubits (buffer bit t is qubit lbits[t]) and gates on them."""

    lbits: np.ndarray
    obits: np.ndarray
    kinds: np.ndarray
    qa: np.ndarray
    qb: np.ndarray
    mats: np.ndarray
    #: state offset of each buffer index, computed on the first run
    off: np.ndarray | None = None
    #: local energy tables of the QUBOs this pass has phased or measured: id → (h, Qs, table)
    tables: dict = field(default_factory=dict)
    #: the signed permutations of its PERM gates, one row each: the buffer index each amplitude
    #: comes from (int32; ~j where it is negated)
    perm: np.ndarray = field(default_factory=lambda: _NO_PERM)
    #: the op rows of its DIAG gates: (gates, local qubits, k), −1 for none; their diagonal
    #: factors (gates, local qubits, 2) per evaluation (see :func:`fold_diagonals`)
    drows: np.ndarray | None = None
    dfac: np.ndarray = field(default_factory=lambda: _NO_DFAC)
    #: the CZ signs of its DIAG gates, one int8 row each, when any has CZs
    dsign: np.ndarray = field(default_factory=lambda: _NO_SIGN)

    def local_offsets(self) -> np.ndarray:
        """:attr:`off`, computed on first use."""
        if self.off is None:
            self.off = offsets(self.lbits)
        return self.off

    def replace_gates(self, kinds: list, qa: list, qb: list, keep: list[int]) -> None:
        """New gate arrays; ``keep`` is, per new gate, the old gate whose matrix it takes."""
        self.kinds = np.array(kinds, dtype=np.int64)
        self.qa = np.array(qa, dtype=np.int64)
        self.qb = np.array(qb, dtype=np.int64)
        self.mats = self.mats[keep]

    def local_table(self, h: np.ndarray, qs: np.ndarray) -> np.ndarray:
        """:func:`local_energy` of (h, Qs) on this pass's local qubits, computed once per QUBO."""
        hit = self.tables.get(id(qs))
        if hit is None or hit[0] is not h or hit[1] is not qs:
            if len(self.tables) > 4:  # ma-QAOA builds a QUBO per layer: keep a few
                self.tables.clear()
            hit = self.tables[id(qs)] = (h, qs, local_energy(self.lbits, h, qs))
        return hit[2]


def make_pass(n: int, used: set[int], gates: list, block: int) -> Pass:
    """Local set = used qubits filled up with the lowest other qubits to ``block`` qubits, in
    ascending order (buffer bit t is the t-th lowest), so the gathers copy contiguous rows."""
    local = set(used)
    q = 0
    while len(local) < block:
        if q not in local:
            local.add(q)
        q += 1
    lbits = np.array(sorted(local), dtype=np.int64)
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
    return Pass(lbits, obits, kinds, qa, qb, mats)


def is_rx(mats: np.ndarray) -> np.ndarray:
    """Per 2×2 matrix of ``mats`` (…, 2, 2): whether it is ``[[c, -is], [-is, c]]`` (c, s
    real), the cheaper real-coefficient butterfly."""
    c, s = mats[..., 0, 0], mats[..., 0, 1]
    return (c == mats[..., 1, 1]) & (s == mats[..., 1, 0]) & (c.imag == 0) & (s.real == 0)


def schedule_1q(n: int, mats: np.ndarray, block: int) -> list[Pass]:
    """Commuting 1-qubit gates (a mixer layer) in blocked passes: the first holds the low
    ``block`` qubits (where QAOA fuses its phase) and gates them all (those on the lowest six
    buffer bits in SIMD registers); the high qubits follow in groups of at most ``block −``
    :data:`CHUNK_BITS`, each pass filled up with the lowest qubits, so its gathers copy
    contiguous rows of at least 2^CHUNK_BITS amplitudes."""
    block = min(block, n)
    rx = is_rx(mats)
    gates = [(RX if rx[q] else ONE_Q, (q,), mats[q]) for q in range(n)]
    passes = [make_pass(n, set(range(block)), gates[:block], block)]
    high = list(range(block, n))
    if high:
        budget = max(1, block - CHUNK_BITS)
        for grp in np.array_split(np.array(high), math.ceil(len(high) / budget)):
            sel = [int(q) for q in grp]
            passes.append(make_pass(n, set(sel), [gates[q] for q in sel], block))
    return passes


def schedule_seq(n: int, gates: list, block: int) -> list[Pass]:
    """An ordered gate sequence, greedily packed: a pass's touched qubits fit its local set
    (the first pass holds the low ``block`` qubits, where QAOA fuses its phase; the lowest
    :data:`CHUNK_BITS` qubits may be gated in every pass)."""
    block = min(block, n)
    chunk = min(CHUNK_BITS, block - 1) if block > 1 else 0
    budget = block - chunk
    low = set(range(chunk))
    passes: list[Pass] = []
    used: set[int] = set(range(block))  # the first pass is the phase pass over the low qubits
    current: list = []
    for gate in gates:
        trial = used | set(gate[1])
        if len(trial - low) > budget:
            passes.append(make_pass(n, used, current, block))
            used, current = set(gate[1]), []
            trial = used
        used = trial
        current.append(gate)
    passes.append(make_pass(n, used, current, block))
    return passes


#: the shortest run of CX/CZ gates worth one permutation gather (each alone sweeps half the
#: buffer at ~0.3 ns per amplitude, the gather costs about two of them)
MIN_FOLD = 3


def fold_permutations(ps: Pass, min_run: int = MIN_FOLD) -> list[int]:
    """Fold every run of at least ``min_run`` consecutive CX/CZ gates of ``ps`` into one PERM
    gate: the run maps buffer amplitudes by a signed permutation, applied as one gather into a
    second buffer instead of one sweep per gate. Returns, for each gate left, the index of the
    gate it came from (a PERM gate: the run's first)."""
    size = 1 << ps.lbits.size
    keep: list[int] = []
    perms = []
    kinds, qa, qb = [], [], []
    g, m = 0, ps.kinds.size
    while g < m:
        end = g
        while end < m and ps.kinds[end] in (CX, CZ):
            end += 1
        if end - g >= min_run:
            x = np.arange(size, dtype=np.int64)
            src, sgn = x.copy(), np.ones(size)
            for k in range(g, end):
                a, b = int(ps.qa[k]), int(ps.qb[k])
                if ps.kinds[k] == CX:  # v'[x] = v[x ^ (x_a << b)]
                    partner = x ^ (((x >> a) & 1) << b)
                    src, sgn = src[partner], sgn[partner]
                else:  # CZ: −1 where both bits are set
                    sgn = np.where((x >> a) & (x >> b) & 1, -sgn, sgn)
            kinds.append(PERM)
            qa.append(len(perms))
            qb.append(0)
            perms.append(np.where(sgn < 0, ~src, src))
            keep.append(g)
            g = end
            continue
        kinds.append(int(ps.kinds[g]))
        qa.append(int(ps.qa[g]))
        qb.append(int(ps.qb[g]))
        keep.append(g)
        g += 1
    if perms:
        ps.replace_gates(kinds, qa, qb, keep)
        ps.perm = np.array(perms, dtype=np.int32)
    return keep


def fold_diagonals(ps: Pass, rows: list[int], last: bool) -> list[int]:
    """Gather the pass's diagonal gates — 1-qubit ones (kind DIAG, ``rows`` their op rows) and
    CZ — into as few DIAG gates as the gates between allow: a diagonal waits, while other
    diagonals and CX with its qubit as control commute with it, until a gate that does not (a
    1-qubit gate or CX target on its qubit, an XY rotation); then all waiting ones are applied
    in one sweep, by a product table of the 1-qubit diagonals times the CZs' signs. What still
    waits at the end of the ``last`` pass is marked (qb = 1): the energy, Σ|ψ|²C, does not see
    it, so the kernel skips it there. Sets ``ps.drows`` (and ``ps.dsign`` when there are CZs);
    returns the old index of each gate left (a DIAG gate: its first member)."""
    pending: dict[int, list[int]] = {}  # buffer bit → op rows
    pairs: list[tuple[int, int]] = []  # waiting CZs
    first: list[int] = []  # the gate index of the first waiting diagonal
    keep: list[int] = []
    kinds, qa, qb = [], [], []
    groups: list[tuple[dict[int, list[int]], list[tuple[int, int]]]] = []

    def flush(final: bool) -> None:
        keep.append(first.pop())
        kinds.append(DIAG)
        qa.append(len(groups))
        qb.append(int(final))
        groups.append((dict(pending), list(pairs)))
        pending.clear()
        pairs.clear()

    for k in range(ps.kinds.size):
        kind, a, b = int(ps.kinds[k]), int(ps.qa[k]), int(ps.qb[k])
        if kind in (DIAG, CZ):
            if not pending and not pairs:
                first.append(k)
            if kind == CZ:
                pairs.append((a, b))
            else:
                pending.setdefault(a, []).append(rows[k])
            continue
        touched = set(pending) | {t for pair in pairs for t in pair}
        if touched & ({b} if kind == CX else {a, b}):
            flush(False)
        keep.append(k)
        kinds.append(kind)
        qa.append(a)
        qb.append(b)
    if pending or pairs:
        flush(last)
    if groups:
        depth = max([len(ks) for g, _ in groups for ks in g.values()] + [1])
        drows = np.full((len(groups), ps.lbits.size, depth), -1, dtype=np.int64)
        for d, (group, _) in enumerate(groups):
            for t, ks in group.items():
                drows[d, t, : len(ks)] = ks
        ps.drows = drows
        if any(cz for _, cz in groups):
            x = np.arange(1 << ps.lbits.size)
            ps.dsign = np.ones((len(groups), x.size), dtype=np.int8)
            for d, (_, cz) in enumerate(groups):
                for a, b in cz:
                    ps.dsign[d, (x >> a) & (x >> b) & 1 == 1] *= -1
        ps.replace_gates(kinds, qa, qb, keep)
    return keep


def pair_order(ps: Pass) -> list[int]:
    """Reorder each run of consecutive 1-qubit gates on distinct qubits (they commute) from the
    highest buffer bit down, so the kernel pairs those on the higher bits into one sweep each
    and those on the six lowest come last, where one register sweep applies them all
    (:mod:`.simd`). Returns the old index of each gate."""
    order: list[int] = []
    g, m = 0, ps.kinds.size
    while g < m:
        end = g
        while end < m and ps.kinds[end] in (ONE_Q, RX, REAL):
            end += 1
        run = list(range(g, end))
        if len({int(ps.qa[k]) for k in run}) == len(run):
            run.sort(key=lambda k: -int(ps.qa[k]))
        order.extend(run or [g])
        g = max(end, g + 1)
    ps.kinds, ps.qa, ps.qb, ps.mats = ps.kinds[order], ps.qa[order], ps.qb[order], ps.mats[order]
    return order


def xy_gate(a: int, b: int, beta: float) -> tuple:
    """The gate tuple (kind, qubits, matrix) of ``exp(-iβ(X_aX_b + Y_aY_b)/2)`` for a pass."""
    mat = np.array([[math.cos(beta), -1j * math.sin(beta)], [0, 0]])
    return (XY, (a, b), mat)


def xy_passes(n: int, gates: list, block: int) -> list[Pass]:
    """The passes of an ordered XY gate sequence, dropping gate-free ones (``schedule_seq``
    starts with a pass over the low qubits meant for a fused cost phase)."""
    return [ps for ps in schedule_seq(n, gates, block) if ps.kinds.size]


#: stand-ins for the kernel's unused arguments (never written)
_ZERO_H, _ZERO_Q, _NO_AMPS = np.zeros(1), np.zeros((1, 1)), np.zeros((1, 2), np.complex128)


_WORK = threading.local()


def workspace(size: int, threads: int, tables: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pass kernel's buffers on ``size`` amplitudes: ``work``, 4 rows per thread (its
    buffer and spare pair, re and im), and ``table``, 4 rows with ``tables`` (the phase's local
    factors, the start state's local product), else one element wide. Both are views of one
    array per calling thread, kept and grown to the largest request: (4·threads + 4 with
    ``tables``)·8 bytes per amplitude."""
    rows = 4 * threads + (4 if tables else 0)
    flat = getattr(_WORK, "flat", None)
    if flat is None or flat.size < rows * size:
        flat = _WORK.flat = np.empty(rows * size)
    work = flat[: 4 * threads * size].reshape(4 * threads, size)
    table = flat[4 * threads * size : rows * size].reshape(4, size) if tables else _NO_TABLE
    return work, table


def run_pass(
    state: np.ndarray,
    ps: Pass,
    *,
    init: np.ndarray | None = None,
    phase: tuple | None = None,
    energy: tuple | None = None,
    store: bool = True,
    threads: int = 0,
    phase_at: int = 0,
) -> float:
    """Run pass ``ps`` on ``state`` in place: write the product state ``init`` (per-qubit
    amplitudes) instead of reading, fuse the cost ``phase`` (h, Qs, γ[, scale]: times a real
    scale, 1 if not given) before gate ``phase_at`` (0: before all), accumulate the ``energy``
    (h, Qs) last; ``store=False`` leaves the state unwritten. ``threads``: 1 runs the serial
    kernel, 0 (default) numba's current thread count. Returns the energy."""
    ph_h, ph_q, gamma, *scale = phase if phase is not None else (_ZERO_H, _ZERO_Q, 0.0)
    ex_h, ex_q = energy if energy is not None else (_ZERO_H, _ZERO_Q)
    amps = init if init is not None else _NO_AMPS
    threads = threads or get_num_threads()
    kernel = pass_kernel_serial if threads == 1 else pass_kernel
    blocked_init = init is not None and ps.obits.size > 0  # one local table for all blocks
    work, table = workspace(1 << ps.lbits.size, threads, phase is not None or blocked_init)
    return kernel(
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
        float(scale[0]) if scale else 1.0,
        phase is not None,
        phase_at,
        ex_h,
        ex_q,
        energy is not None,
        store,
        threads,
        ps.local_offsets(),
        ps.local_table(ph_h, ph_q) if phase is not None else _ZERO_H,
        ps.local_table(ex_h, ex_q) if energy is not None else _ZERO_H,
        ps.perm,
        ps.dfac,
        ps.dsign,
        work,
        table,
    )
