"""The exact engine's interface: engine and dtype choice, the primitives on a state (each run by
numba's blocked kernels or the numpy reference), the memory model, and ``simulate``/``energy``
for any ansatz (QAOA in-house, circuits through Aer's statevector)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from qbench.hardware.base import Ansatz, CircuitAnsatz, PauliAnsatz, QAOAAnsatz
from qbench.hardware.exact import reference
from qbench.hardware.exact.ansatz import (
    ansatz_cache,
    cached_cost,
    cached_dense,
    dense_qubo,
    mixer_mats,
    qaoa_layers,
    start_amplitudes,
    xy_pairs,
)
from qbench.hardware.exact.circuit import compile_circuit, run_circuit
from qbench.hardware.exact.kernels import (
    HAVE_NUMBA,
    expectation_kernel,
    phase_kernel,
    probabilities_kernel,
)
from qbench.hardware.exact.readout import narrow_in_place
from qbench.hardware.exact.schedule import (
    BLOCK_BITS,
    Pass,
    is_rx,
    make_pass,
    run_pass,
    schedule_1q,
    schedule_seq,
    xy_gate,
    xy_passes,
)
from qbench.memory import require_memory
from qbench.threads import thread_budget

ENGINES = ("numba", "numpy")
#: engines accepted by name but not in ENGINES (which every machine runs, and tests loop over):
#: the GPU engine (:mod:`.gpu`), which needs a CUDA device or numba's CUDA simulator
OPTIONAL_ENGINES = ("gpu",)
DTYPES = {"complex128": np.dtype(np.complex128), "complex64": np.dtype(np.complex64)}

#: below this many qubits the default engine would be numpy; 0 since the pass schedules are
#: cached and small states run on one thread: numba is then faster at every n (n = 8 / 10 / 12:
#: see ``benchmarks/qaoa_speed.py --min-n 8``)
NUMBA_MIN_QUBITS = 0

#: below this many qubits the numba kernels run on one thread: a state of up to 2^19 amplitudes
#: gains little from threads, and threads on busy cores (a suite's parallel workers) cost a lot
PARALLEL_MIN_QUBITS = 20


# ---------------------------------------------------------------------------------------------
# engine and dtype choice
# ---------------------------------------------------------------------------------------------


def choose_engine(engine: str | None, n_qubits: int | None = None) -> str:
    """The engine to use: the given one, else numba when installed and the state is not tiny
    ("gpu", :mod:`.gpu`, is only used when asked for, or by ``simulate``/``energy`` for a QAOA
    ansatz when a GPU is present: :func:`.gpu_ansatz.use_gpu`)."""
    if engine is None:
        small = n_qubits is not None and n_qubits < NUMBA_MIN_QUBITS
        return "numba" if HAVE_NUMBA and not small else "numpy"
    if engine not in ENGINES + OPTIONAL_ENGINES:
        allowed = ", ".join(ENGINES + OPTIONAL_ENGINES)
        raise ValueError(f"unknown engine {engine!r}; allowed: {allowed}")
    if engine == "numba" and not HAVE_NUMBA:
        raise ValueError("engine 'numba' requested but numba is not installed; use 'numpy'")
    if engine == "gpu":
        from qbench.hardware.exact.gpu import require_gpu

        require_gpu()
    return engine


def as_dtype(dtype: str | np.dtype | type) -> np.dtype:
    """The state dtype (a :data:`DTYPES` name or a numpy dtype); ValueError unless complex."""
    dt = DTYPES.get(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    if dt not in DTYPES.values():
        raise ValueError(f"dtype must be complex128 or complex64, got {dtype!r}")
    return dt


# ---------------------------------------------------------------------------------------------
# primitives
# ---------------------------------------------------------------------------------------------


def phase(state: np.ndarray, cost: np.ndarray, gamma: float, engine: str | None = None) -> None:
    """In place ``state *= exp(-i γ cost)`` (one elementwise pass)."""
    if choose_engine(engine) == "numba":
        phase_kernel(state, cost, float(gamma))
    else:
        reference.phase(state, cost, gamma)


def apply_1q(
    state: np.ndarray, U: np.ndarray, engine: str | None = None, block_bits: int = BLOCK_BITS
) -> None:
    """In place: one 2×2 unitary per qubit, ``U`` of shape (n, 2, 2) (mixers RX, RY·RZ·RY)."""
    n = state.size.bit_length() - 1
    U = np.asarray(U, dtype=np.complex128).reshape(n, 2, 2)
    if choose_engine(engine) == "numba":
        for ps in schedule_1q(n, U, block_bits):
            run_pass(state, ps)
        return
    reference.apply_1q(state, U)


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
    if choose_engine(engine) == "numba":
        gates = [xy_gate(a, b, beta) for a, b in pairs]
        for ps in xy_passes(n, gates, block_bits):
            run_pass(state, ps)
        return
    reference.apply_xy(state, pairs, beta)


def expectation(state: np.ndarray, cost: np.ndarray, engine: str | None = None) -> float:
    """``Σ_s |ψ_s|² cost_s``."""
    if choose_engine(engine) == "numba":
        return float(expectation_kernel(state, cost))
    return reference.expectation(state, cost)


def probabilities(state: np.ndarray, engine: str | None = None) -> np.ndarray:
    """``|ψ_s|²`` as float64."""
    if choose_engine(engine) == "numba":
        out = np.empty(state.size)
        probabilities_kernel(state, out)
        return out
    return reference.probabilities(state)


# ---------------------------------------------------------------------------------------------
# memory model
# ---------------------------------------------------------------------------------------------

#: what a run's objective reads: the expectation (qaoa, vqe; PCE and QRAO read Pauli estimates)
#: or CVaR (cvar_qaoa, cvar_vqe), which keeps the energies' sort order through the whole run
OBJECTIVES = ("expectation", "cvar")

#: bytes per amplitude of a whole variational run on the exact backend — the optimisation, every
#: objective evaluation and the read-out (``Run.finish``; PCE's and QRAO's Pauli estimates and
#: decoding) — by (ansatz kind, objective, state dtype, engine): the net peak measured at the
#: largest n (24; 22 for the numpy engine and QRAO) with ``benchmarks/memory_peak.py``
#: (tracemalloc and the resident set's high-water mark in a fresh process), plus 1 byte,
#: rounded up; a kind's entry is its largest solver's (QRAO's for "pauli"). Measured bytes per
#: amplitude (before → after the lean read-out; complex128 / complex64):
#:
#: ========================  ================  ================
#: run                       before            after
#: ========================  ================  ================
#: qaoa (numba)              56.0 / 56.0       20.0 / 20.0
#: cvar_qaoa (numba)         64.1 / 64.1       28.1 / 20.2
#: qaoa (numpy engine)       56.0 / 56.0       32.3 / 32.3
#: cvar_qaoa (numpy engine)  64.4 / 64.4       29.1 / 29.1
#: vqe (Aer state)           40.1 / 40.2       28.0 / 28.0
#: cvar_vqe (Aer state)      64.2 / 64.2       28.0 / 28.0
#: pce (Aer state)           64.1 / 56.1       40.3 / 32.3
#: qrao (Aer state)          64.3 / 64.3       57.4 / 65.4
#: vqe (in-house engine)                        20.4 / 20.5
#: cvar_vqe (in-house)                          31.4 / 22.1
#: pce (in-house, no copy)                      17.6 / 9.7
#: qrao (in-house, no copy)                     32.9 / 40.9
#: ========================  ================  ================
#:
#: Where it comes from (S = 16 complex128, 8 complex64): qaoa — the state during the
#: optimisation, then |ψ|² written over it, then the cost vector built beside the probabilities
#: (8 + 8 + 4 work); cvar_qaoa — the cost vector (8) and its int32 order (4) kept while every
#: evaluation simulates a state (S + 12); the numpy engine computes in complex128 whatever the
#: dtype (S = 16); circuits — Aer's complex128 state (16, which the probabilities overwrite),
#: beside the cost vector and order; pce — Aer's state, one rotated complex128 copy and |ψ|²
#: (16 + 16 + 8); qrao — its magic rounding's collapsed half-states beside Aer's state. On the
#: in-house engine (measured at n = 20 and 22) a circuit's state is in its own dtype and
#: the Pauli estimates rotate it in place (no copy): vqe as qaoa; pce the state alone (S + 1);
#: qrao the state and its rounding's complex128 half-states (S + 17; complex64 S + 33).
RUN_BYTES_PER_AMPLITUDE: dict[tuple[str, str, str, str], int] = {
    **{("qaoa", "expectation", dt, "numba"): 21 for dt in DTYPES},
    ("qaoa", "cvar", "complex128", "numba"): 30,
    ("qaoa", "cvar", "complex64", "numba"): 22,
    **{("qaoa", "expectation", dt, "numpy"): 34 for dt in DTYPES},
    **{("qaoa", "cvar", dt, "numpy"): 31 for dt in DTYPES},
    **{("circuit", o, dt, "aer"): 29 for o in OBJECTIVES for dt in DTYPES},
    **{("circuit", "expectation", dt, "numba"): 21 for dt in DTYPES},
    ("circuit", "cvar", "complex128", "numba"): 30,
    ("circuit", "cvar", "complex64", "numba"): 22,
    **{("pauli", o, "complex128", "aer"): 59 for o in OBJECTIVES},
    **{("pauli", o, "complex64", "aer"): 67 for o in OBJECTIVES},
    **{("pauli", o, "complex128", "numba"): 34 for o in OBJECTIVES},
    **{("pauli", o, "complex64", "numba"): 42 for o in OBJECTIVES},
}

#: local qubits per QAOA pass from PARALLEL_MIN_QUBITS qubits on (:func:`qaoa_block`)
WIDE_BLOCK_BITS = 15

#: evaluations allocating less than this (32 MiB: 2²¹ complex128 amplitudes) skip the check
#: of the memory available now (a /proc/meminfo read, ~45 µs against a 10-qubit evaluation's
#: ~30 µs); the whole run was checked up front (:func:`check_memory`)
UNCHECKED_BYTES = 32 << 20

#: bytes a run needs beyond its 2ⁿ arrays (Python objects, the transpiled circuit, Pauli lists,
#: numba's and Aer's per-thread buffers): 1.5–4 MB measured at n = 18
RUN_FIXED_BYTES = 4 << 20


def state_bytes(n: int, dtype: str | np.dtype | type = np.complex128) -> int:
    """Bytes of one 2ⁿ statevector."""
    return (1 << n) * as_dtype(dtype).itemsize


def simulation_bytes(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    kind: str = "qaoa",
) -> int:
    """Bytes one evaluation allocates beyond what the run already holds: what ``simulate``,
    ``energy`` and ``ExactBackend.statevector`` check before each evaluation (the cached cost
    vector checks itself when built, the whole run is checked up front by
    :func:`check_memory`).

    numba QAOA: the state (S·2ⁿ). numpy QAOA: a complex128 state (that engine computes in
    double whatever the dtype) and |ψ|² for the energy (24·2ⁿ). A circuit: Aer's complex128
    state, which a complex64 state and the probabilities overwrite (16·2ⁿ), plus |ψ|² for an
    energy on the numpy engine (8·2ⁿ). Pauli estimates: Aer's state, the complex64 copy when
    that is the dtype, one rotated complex128 copy and |ψ|² (40·2ⁿ; 48 in complex64). A
    circuit or Pauli ansatz on the in-house engine: its state (S·2ⁿ), rotated in place.
    """
    size = 1 << n
    narrow = as_dtype(dtype) == np.complex64
    if kind != "qaoa" and _how(n, engine, kind) == "numba":
        return state_bytes(n, dtype)
    if kind == "pauli":
        return (40 + 8 * narrow) * size
    numpy_engine = choose_engine(engine, n) == "numpy"
    if kind != "qaoa":
        return (16 + 8 * numpy_engine) * size
    return 24 * size if numpy_engine else state_bytes(n, dtype)


def required_bytes(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    kind: str = "qaoa",
    objective: str | None = None,
) -> int:
    """Peak bytes of a whole variational run of an n-qubit ``kind`` ansatz — optimisation and
    read-out, measured, not a guess: :data:`RUN_BYTES_PER_AMPLITUDE` · 2ⁿ +
    :data:`RUN_FIXED_BYTES`, plus a one-pass circuit's buffers (:func:`one_pass_bytes`).

    ``objective`` ("expectation" or "cvar") picks the run's objective; None (what the backends'
    checks and dry runs use: they are not told the objective) takes the larger, so a CVaR run
    of the same ansatz kind fits too. complex128 QAOA: 21 bytes per amplitude for the
    expectation, 30 for CVaR; complex64: 21 and 22.
    """
    dt = as_dtype(dtype).name
    how = _how(n, engine, kind)
    objectives = OBJECTIVES if objective is None else (objective,)
    per = max(RUN_BYTES_PER_AMPLITUDE[kind, o, dt, how] for o in objectives)
    held = one_pass_bytes(n, kind) if how == "numba" else 0
    return per * (1 << n) + held + RUN_FIXED_BYTES


def _how(n: int, engine: str | None, kind: str) -> str:
    """Who simulates an n-qubit ``kind`` ansatz: the QAOA engine's name, else "numba" (the
    in-house circuit engine: numba installed and no other engine named) or "aer"
    (``engine="aer"``: a circuit the engine does not compile, :func:`circuit_engine`)."""
    if kind == "qaoa":
        return choose_engine(engine, n)
    if kind in ("circuit", "pauli") and HAVE_NUMBA and engine in (None, "numba"):
        return "numba"
    return "aer"


def _describe(n: int, dtype: str | np.dtype | type, engine: str | None, kind: str) -> str:
    """The run described in memory errors: "exact simulation of n=… qubits (…)"."""
    how = {"aer": "Aer statevector", "numba": "numba engine"}.get(_how(n, engine, kind))
    how = how or f"{choose_engine(engine, n)} engine"
    return f"exact simulation of n={n} qubits ({as_dtype(dtype).name} state, {how})"


def check_memory(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    max_bytes: int | None = None,
    kind: str = "qaoa",
) -> None:
    """ResourceError (n, required and available bytes) when a whole n-qubit run of a ``kind``
    ansatz (:func:`required_bytes`) won't fit: what a backend checks before a run starts."""
    require_memory(
        f"{_describe(n, dtype, engine, kind)}, a whole {kind} run",
        required_bytes(n, dtype, engine, kind),
        max_bytes,
    )


def check_simulation(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    max_bytes: int | None = None,
    kind: str = "qaoa",
) -> None:
    """ResourceError when one simulation (:func:`simulation_bytes`) won't fit in what is
    available now: checked before every evaluation, when the run's own cached arrays (cost
    vector, energy order) already hold their share and are no longer "available"."""
    required = simulation_bytes(n, dtype, engine, kind)
    if max_bytes is None and required < UNCHECKED_BYTES:
        return  # reading MemAvailable would cost more than a small evaluation itself
    require_memory(_describe(n, dtype, engine, kind), required, max_bytes)


# ---------------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------------


def _mixer_passes(ansatz: QAOAAnsatz, beta, block: int) -> tuple[list[Pass], float]:
    """The mixer at β as blocked passes, and the scale its matrices leave out (:func:`unit_rx`):
    the schedule is built once per ansatz and block size (it depends on the qubits and gate
    kinds only), each evaluation refills the matrices."""
    n = ansatz.n_qubits
    cache = ansatz_cache(ansatz)
    key = ("mixer_passes", block)
    if ansatz.mixer.startswith("xy"):
        if np.ndim(beta):
            raise ValueError("multi-angle QAOA is defined for the x and warm mixers only")
        gates = [xy_gate(a, b, float(beta)) for a, b in xy_pairs(ansatz)]
        if key not in cache:
            cache[key] = schedule_seq(n, gates, block)
        for ps in cache[key]:
            ps.mats[:] = gates[0][2] if gates else 0
        return cache[key], 1.0
    mats, scale = unit_rx(mixer_mats(ansatz, beta))
    if key not in cache:
        cache[key] = schedule_1q(n, mats, block)
    for ps in cache[key]:
        ps.mats = mats[ps.lbits[ps.qa]]
    return cache[key], scale


def unit_rx(mats: np.ndarray) -> tuple[np.ndarray, float]:
    """1-qubit mixer matrices with each RX-type one, ``[[c, −is], [−is, c]]`` with |c| ≥ |s|,
    divided by its c, and the product of those c: the kernels then spend one multiply-add per
    output instead of two (a 2¹⁵ buffer's 12 RX gates: 95 → 76 µs), and the engine multiplies
    the layer's phase by the product (magnitudes stay within a layer's; no under- or
    overflow). Other matrices are kept as they are."""
    c, s = mats[:, 0, 0].real, mats[:, 0, 1].imag
    unit = is_rx(mats) & (np.abs(c) >= np.abs(s))
    if not unit.any():
        return mats, 1.0
    out = np.array(mats)
    out[unit] /= c[unit, None, None]
    return out, float(np.prod(c[unit]))


def qaoa_block(n: int, block_bits: int) -> int:
    """Local qubits per QAOA pass: ``block_bits`` (at most n), except that the default
    :data:`~.schedule.BLOCK_BITS` (13) widens to :data:`WIDE_BLOCK_BITS` from
    :data:`PARALLEL_MIN_QUBITS` qubits, where a layer then needs one pass fewer (measured,
    p = 2, one core: 28 → 24 ms at n = 20, 121 → 105 ms at 22, 550 → 465 ms at 24; below 20
    the narrower block wins: 1.28 vs 1.87 ms at 16)."""
    if block_bits == BLOCK_BITS and n >= PARALLEL_MIN_QUBITS:
        block_bits = WIDE_BLOCK_BITS
    return min(block_bits, n)


@contextmanager
def numba_threads(n_qubits: int) -> Iterator[int]:
    """The thread count for numba's kernels on an n-qubit state, set for the block: 1 below
    :data:`PARALLEL_MIN_QUBITS` qubits (the serial kernels; numba's pool is left alone), else
    the process's thread budget (:func:`qbench.threads.thread_budget`: a suite worker's share
    of the cores), numba's count restored after."""
    if n_qubits < PARALLEL_MIN_QUBITS:
        yield 1
        return
    import numba

    threads = numba.get_num_threads()
    want = min(thread_budget(), numba.config.NUMBA_NUM_THREADS)
    if want != threads:
        numba.set_num_threads(want)
    try:
        yield want
    finally:
        if want != threads:
            numba.set_num_threads(threads)


def _simulate_numba(
    ansatz: QAOAAnsatz,
    params: np.ndarray,
    dtype: np.dtype,
    want_energy: bool,
    block: int,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """(state, energy) of a QAOA ansatz on the numba engine (threads: :func:`numba_threads`)."""
    with numba_threads(ansatz.n_qubits) as threads:
        return _simulate_numba_layers(ansatz, params, dtype, want_energy, block, threads, out)


def _simulate_numba_layers(
    ansatz: QAOAAnsatz,
    params: np.ndarray,
    dtype: np.dtype,
    want_energy: bool,
    block: int,
    threads: int,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Per layer, the phase fused into the mixer's first pass; the first pass writes the start
    state (into ``out`` when given), the last accumulates the energy (``want_energy``) instead
    of storing the state."""
    n = ansatz.n_qubits
    block = qaoa_block(n, block)
    h, qs = cached_dense(ansatz)
    state = np.empty(1 << n, dtype=dtype) if out is None else out
    steps = _layer_steps(ansatz, list(qaoa_layers(ansatz, params)), block, h, qs)
    energy = 0.0
    for k, (ps, phase, phase_at) in enumerate(steps):
        last = want_energy and k == len(steps) - 1
        energy = run_pass(
            state,
            ps,
            init=start_amplitudes(ansatz) if k == 0 else None,
            phase=phase,
            phase_at=phase_at,
            energy=(h, qs) if last else None,
            store=not last,
            threads=threads,
        )
    return state, energy + ansatz.qubo.constant


def _layer_steps(ansatz: QAOAAnsatz, layers: list, block: int, h, qs) -> list[tuple]:
    """The passes of all layers as (pass, phase or None, gate index of the phase). A layer is
    its cost phase, then its mixer's passes. With a 1-qubit mixer over several passes, odd
    layers run their passes in reverse order, so a layer's last pass and the next layer's first
    hold the same qubits and merge into one: [mixer gates, next phase, next mixer gates] — p
    layers of m passes take p·(m − 1) + 1 passes instead of p·m."""
    steps: list[tuple] = []
    merge = not ansatz.mixer.startswith("xy")
    for li, (wq, gamma, beta) in enumerate(layers):
        passes, scale = _mixer_passes(ansatz, beta, block)
        ph = (h, qs, gamma, scale) if wq is None else (*dense_qubo(wq), gamma, scale)
        if merge and len(passes) > 1 and li % 2:
            passes = passes[::-1]
        for k, ps in enumerate(passes):
            ps.local_offsets()  # computed once on the cached pass, shared by its copies
            if k == 0 and steps and merge and len(passes) > 1:
                prev = steps[-1][0]
                joined = Pass(
                    ps.lbits,
                    ps.obits,
                    np.concatenate([prev.kinds, ps.kinds]),
                    np.concatenate([prev.qa, ps.qa]),
                    np.concatenate([prev.qb, ps.qb]),
                    np.concatenate([prev.mats, ps.mats]),  # copies both
                    off=ps.off,
                    tables=ps.tables,
                )
                steps[-1] = (joined, ph, prev.kinds.size)
                continue
            steps.append((_snapshot(ps), ph if k == 0 else None, 0))
    return steps


def _snapshot(ps: Pass) -> Pass:
    """The pass with a copy of this layer's matrices (:func:`_mixer_passes` refills the cached
    passes' matrices for each layer's β)."""
    mats = ps.mats.copy()
    return Pass(ps.lbits, ps.obits, ps.kinds, ps.qa, ps.qb, mats, off=ps.off, tables=ps.tables)


#: circuits below PARALLEL_MIN_QUBITS (run on one thread) are compiled into one pass, the whole
#: state as the kernel's buffer: no gathers, each CX/CZ layer one permutation; 1.4-1.7× faster
#: than blocks of 2^13 at 12-18 qubits. Its buffers and permutation tables may take up to this
#: many bytes per amplitude (4 buffer rows of 8, 4 per permutation table, 1 per CZ sign row);
#: a circuit needing more tables runs in blocks.
ONE_PASS_BYTES_PER_AMPLITUDE = 64


def _held_bytes(compiled) -> int:
    """Bytes per amplitude a one-pass circuit holds: 4 buffer rows of 8, 4 per permutation
    table, 1 per CZ sign row."""
    return 32 + sum(4 * ps.perm.shape[0] + ps.dsign.shape[0] for ps in compiled.passes)


def one_pass_bytes(n: int, kind: str) -> int:
    """What a one-pass circuit may hold beyond the model's per-amplitude figure: its kernel
    buffers and permutation tables (:data:`ONE_PASS_BYTES_PER_AMPLITUDE` · 2ⁿ below
    PARALLEL_MIN_QUBITS for circuit and Pauli ansätze on the engine; else 0)."""
    if kind in ("circuit", "pauli") and n < PARALLEL_MIN_QUBITS:
        return ONE_PASS_BYTES_PER_AMPLITUDE << n
    return 0


def compiled_circuit(ansatz: CircuitAnsatz | PauliAnsatz, block_bits: int = BLOCK_BITS):
    """The ansatz's circuit compiled for the numba engine (:mod:`.circuit`; cached per circuit
    and block size), or None when numba is missing or the circuit has gates it does not run.
    With the default block, below PARALLEL_MIN_QUBITS it is one pass over the whole state
    (:data:`ONE_PASS_BYTES_PER_AMPLITUDE`)."""
    qc = ansatz.circuit()
    cache = ansatz_cache(ansatz)
    hit = cache.get("compiled")
    if hit is None or hit[0] is not qc or hit[1] != block_bits:
        one_pass = block_bits == BLOCK_BITS and qc.num_qubits < PARALLEL_MIN_QUBITS
        compiled = compile_circuit(qc, qc.num_qubits if one_pass else block_bits)
        if one_pass and compiled and _held_bytes(compiled) > ONE_PASS_BYTES_PER_AMPLITUDE:
            compiled = compile_circuit(qc, block_bits)
        hit = cache["compiled"] = (qc, block_bits, compiled)
    return hit[2]


def circuit_engine(ansatz: CircuitAnsatz | PauliAnsatz, engine: str | None = None) -> str:
    """Who simulates a circuit ansatz: "numba" (the in-house engine, when it compiles the circuit
    and no other engine is asked for) or "aer" (Aer's statevector)."""
    if engine in (None, "numba") and compiled_circuit(ansatz) is not None:
        return "numba"
    return "aer"


def circuit_state(
    ansatz: CircuitAnsatz | PauliAnsatz,
    params: np.ndarray,
    dtype: np.dtype,
    engine: str | None = None,
    block_bits: int = BLOCK_BITS,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The statevector of the bound circuit: the in-house engine when it compiles the circuit
    (:func:`circuit_engine`; 15-25× faster than Aer at 16 qubits, in the state's own dtype,
    written into ``out`` when given), else Aer's statevector."""
    qc = ansatz.circuit()
    if params.size != qc.num_parameters:
        raise ValueError(f"expected {qc.num_parameters} parameters, got {params.size}")
    if circuit_engine(ansatz, engine) == "numba":
        with numba_threads(ansatz.n_qubits) as threads:
            compiled = compiled_circuit(ansatz, block_bits)
            return run_circuit(compiled, params, dtype, threads=threads, out=out)[0]
    return aer_circuit_state(ansatz, params, dtype)


def aer_circuit_state(
    ansatz: CircuitAnsatz | PauliAnsatz, params: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """Aer statevector of the bound circuit (transpiled once per ansatz, cached), in Aer's own
    buffer: complex128 as returned, complex64 rounded over the buffer's first half
    (:func:`~.readout.narrow_in_place`), so no second state-sized array is allocated. Aer runs
    one OpenMP thread below :data:`PARALLEL_MIN_QUBITS` qubits, as the numba engine does: its
    threads gain 1.4× at 16 qubits on an idle 2-core machine but cost 4-10× beside a second
    process (236 vs 56 ms per 16-qubit evaluation on a busy machine, 766 vs 76 ms with
    ``--workers 2``); above, the process's thread budget."""
    qc = ansatz.circuit()
    cache = ansatz_cache(ansatz)
    if cache.get("circuit") is not qc:
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        threads = 1 if ansatz.n_qubits < PARALLEL_MIN_QUBITS else thread_budget()
        sim = AerSimulator(method="statevector", max_parallel_threads=threads)
        saved = qc.copy()
        saved.save_statevector()
        cache.update(circuit=qc, sim=sim, transpiled=transpile(saved, sim))
    tqc = cache["transpiled"]
    bound = tqc.assign_parameters(params) if tqc.num_parameters else tqc
    data = np.ascontiguousarray(np.asarray(cache["sim"].run(bound).result().get_statevector()))
    return narrow_in_place(data) if dtype == np.complex64 else data


def simulate(
    ansatz: Ansatz,
    params: np.ndarray,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    *,
    max_bytes: int | None = None,
    block_bits: int = BLOCK_BITS,
) -> np.ndarray:
    """The statevector of the ansatz at ``params`` (qiskit bit order), checked for memory first."""
    from qbench.hardware.exact import gpu_ansatz  # numba.cuda is imported only if a GPU is used

    if gpu_ansatz.use_gpu(ansatz, engine, dtype):
        check_simulation(ansatz.n_qubits, dtype, "gpu", max_bytes, ansatz.kind)
        return gpu_ansatz.simulate(ansatz, np.asarray(params, dtype=float), as_dtype(dtype))
    dtype, engine = as_dtype(dtype), choose_engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    out = take_state(ansatz, dtype)  # the caller owns the state: the cache lets go of it
    if out is None:
        check_simulation(ansatz.n_qubits, dtype, engine, max_bytes, ansatz.kind)
    if isinstance(ansatz, CircuitAnsatz):
        return circuit_state(ansatz, params, dtype, engine, block_bits, out)
    if engine == "numba":
        return _simulate_numba(ansatz, params, dtype, False, block_bits, out)[0]
    return reference.simulate(ansatz, params, dtype)


def take_state(ansatz: Ansatz, dtype: np.dtype) -> np.ndarray | None:
    """The state array an earlier energy evaluation of the ansatz left in its cache (taken out
    of it), or None. Energy evaluations reuse it, since a fresh 2ⁿ array faults in its pages
    inside the first pass: at 22 qubits that cost more than the whole simulation. ``simulate``
    takes it for the state it returns, so the run never holds two."""
    state = ansatz_cache(ansatz).pop("state", None)
    if state is None or state.size != 1 << ansatz.n_qubits or state.dtype != dtype:
        return None
    return state


def energy(
    ansatz: Ansatz,
    params: np.ndarray,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    *,
    max_bytes: int | None = None,
    block_bits: int = BLOCK_BITS,
) -> float:
    """⟨ψ(params)|C|ψ(params)⟩ including the constant; numba fuses it into the last pass."""
    from qbench.hardware.exact import gpu_ansatz

    if gpu_ansatz.use_gpu(ansatz, engine, dtype):  # on the device: no host memory needed
        return gpu_ansatz.energy(ansatz, np.asarray(params, dtype=float), as_dtype(dtype))
    dtype, engine = as_dtype(dtype), choose_engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    out = take_state(ansatz, dtype)
    if out is None:
        check_simulation(ansatz.n_qubits, dtype, engine, max_bytes, ansatz.kind)
    if isinstance(ansatz, QAOAAnsatz) and engine == "numba":
        out, value = _simulate_numba(ansatz, params, dtype, True, block_bits, out)
        ansatz_cache(ansatz)["state"] = out  # kept for the next evaluation (:func:`take_state`)
        return float(value)
    if isinstance(ansatz, CircuitAnsatz) and circuit_engine(ansatz, engine) == "numba":
        with numba_threads(ansatz.n_qubits) as threads:  # run_circuit checks the params
            compiled = compiled_circuit(ansatz, block_bits)
            dense = cached_dense(ansatz)
            out, value = run_circuit(compiled, params, dtype, dense, threads, out)
        ansatz_cache(ansatz)["state"] = out
        return float(value) + ansatz.qubo.constant
    if isinstance(ansatz, CircuitAnsatz):
        state = circuit_state(ansatz, params, dtype, engine, block_bits)
    else:
        state = reference.simulate(ansatz, params, dtype)
    if engine == "numba":
        n, block = ansatz.n_qubits, min(block_bits, ansatz.n_qubits)
        cache = ansatz_cache(ansatz)
        if ("energy_pass", block) not in cache:
            cache["energy_pass", block] = make_pass(n, set(range(block)), [], block)
        ps = cache["energy_pass", block]
        with numba_threads(n) as threads:
            value = run_pass(state, ps, energy=cached_dense(ansatz), store=False, threads=threads)
        return float(value) + ansatz.qubo.constant
    return expectation(state, cached_cost(ansatz), engine) + ansatz.qubo.constant
