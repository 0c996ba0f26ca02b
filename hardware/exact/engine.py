"""The exact engine's interface: engine and dtype choice, the primitives on a state (each run by
numba's blocked kernels or the numpy reference), the memory model, and ``simulate``/``energy``
for any ansatz (QAOA in-house, circuits through Aer's statevector)."""

from __future__ import annotations

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
from qbench.hardware.exact.kernels import (
    HAVE_NUMBA,
    expectation_kernel,
    phase_kernel,
    probabilities_kernel,
)
from qbench.hardware.exact.schedule import (
    BLOCK_BITS,
    make_pass,
    run_pass,
    schedule_1q,
    schedule_seq,
    xy_gate,
    xy_passes,
)
from qbench.memory import require_memory

ENGINES = ("numba", "numpy")
DTYPES = {"complex128": np.dtype(np.complex128), "complex64": np.dtype(np.complex64)}

#: below this many qubits the default engine is numpy: numba's threads cost more than they save
#: on tiny states, and far more when the cores are busy (0.09 s vs 0.0007 s seen at n = 10)
NUMBA_MIN_QUBITS = 14

#: below this many qubits the numba kernels run on one thread: a state of up to 2^19 amplitudes
#: gains little from threads, and threads on busy cores (a suite's parallel workers) cost a lot
PARALLEL_MIN_QUBITS = 20


# ---------------------------------------------------------------------------------------------
# engine and dtype choice
# ---------------------------------------------------------------------------------------------


def choose_engine(engine: str | None, n_qubits: int | None = None) -> str:
    """The engine to use: the given one, else numba when installed and the state is not tiny."""
    if engine is None:
        small = n_qubits is not None and n_qubits < NUMBA_MIN_QUBITS
        return "numba" if HAVE_NUMBA and not small else "numpy"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    if engine == "numba" and not HAVE_NUMBA:
        raise ValueError("engine 'numba' requested but numba is not installed; use 'numpy'")
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


def state_bytes(n: int, dtype: str | np.dtype | type = np.complex128) -> int:
    """Bytes of one 2ⁿ statevector."""
    return (1 << n) * as_dtype(dtype).itemsize


def required_bytes(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    circuit: bool = False,
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
    if choose_engine(engine) == "numba":
        return sb + 16 * size
    return sb + 8 * size + max(2 * sb, 16 * size)


def check_memory(
    n: int,
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    max_bytes: int | None = None,
    circuit: bool = False,
) -> None:
    """ResourceError (n, required and available bytes) when an n-qubit simulation won't fit."""
    require_memory(
        f"exact simulation of n={n} qubits ({as_dtype(dtype).name} state, "
        f"{choose_engine(engine, n)} engine)",
        required_bytes(n, dtype, engine, circuit),
        max_bytes,
    )


# ---------------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------------


def _mixer_gates(ansatz: QAOAAnsatz, beta) -> list | np.ndarray:
    """The mixer at β for the pass schedule: XY gate tuples in order, or (n, 2, 2) matrices."""
    if ansatz.mixer.startswith("xy"):
        if np.ndim(beta):
            raise ValueError("multi-angle QAOA is defined for the x and warm mixers only")
        return [xy_gate(a, b, float(beta)) for a, b in xy_pairs(ansatz)]
    return mixer_mats(ansatz, beta)


def _simulate_numba(
    ansatz: QAOAAnsatz, params: np.ndarray, dtype: np.dtype, want_energy: bool, block: int
) -> tuple[np.ndarray, float]:
    """(state, energy) of a QAOA ansatz on the numba engine, one thread below
    :data:`PARALLEL_MIN_QUBITS` qubits (the thread count is restored after)."""
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
    """Per layer, the phase fused into the mixer's first pass; the first pass writes the start
    state, the last accumulates the energy (``want_energy``) instead of storing the state."""
    n = ansatz.n_qubits
    block = min(block, n)
    h, qs = cached_dense(ansatz)
    state = np.empty(1 << n, dtype=dtype)
    layers = list(qaoa_layers(ansatz, params))
    energy = 0.0
    for li, (wq, gamma, beta) in enumerate(layers):
        ph = (h, qs, gamma) if wq is None else (*dense_qubo(wq), gamma)
        gates = _mixer_gates(ansatz, beta)
        if isinstance(gates, np.ndarray):
            passes = schedule_1q(n, gates, block)
        else:
            passes = schedule_seq(n, gates, block)
        for k, ps in enumerate(passes):
            last = want_energy and li == len(layers) - 1 and k == len(passes) - 1
            energy = run_pass(
                state,
                ps,
                init=start_amplitudes(ansatz) if li == 0 and k == 0 else None,
                phase=ph if k == 0 else None,
                energy=(h, qs) if last else None,
                store=not last,
            )
    return state, energy + ansatz.qubo.constant


def circuit_state(
    ansatz: CircuitAnsatz | PauliAnsatz, params: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """Aer statevector of the bound circuit (transpiled once per ansatz, cached)."""
    qc = ansatz.circuit()
    if params.size != qc.num_parameters:
        raise ValueError(f"expected {qc.num_parameters} parameters, got {params.size}")
    cache = ansatz_cache(ansatz)
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
    dtype: str | np.dtype | type = np.complex128,
    engine: str | None = None,
    *,
    max_bytes: int | None = None,
    block_bits: int = BLOCK_BITS,
) -> np.ndarray:
    """The statevector of the ansatz at ``params`` (qiskit bit order), checked for memory first."""
    dtype, engine = as_dtype(dtype), choose_engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    check_memory(ansatz.n_qubits, dtype, engine, max_bytes, isinstance(ansatz, CircuitAnsatz))
    if isinstance(ansatz, CircuitAnsatz):
        return circuit_state(ansatz, params, dtype)
    if engine == "numba":
        return _simulate_numba(ansatz, params, dtype, False, block_bits)[0]
    return reference.simulate(ansatz, params, dtype)


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
    dtype, engine = as_dtype(dtype), choose_engine(engine, ansatz.n_qubits)
    params = np.asarray(params, dtype=float).ravel()
    check_memory(ansatz.n_qubits, dtype, engine, max_bytes, isinstance(ansatz, CircuitAnsatz))
    if isinstance(ansatz, QAOAAnsatz) and engine == "numba":
        return float(_simulate_numba(ansatz, params, dtype, True, block_bits)[1])
    if isinstance(ansatz, CircuitAnsatz):
        state = circuit_state(ansatz, params, dtype)
    else:
        state = reference.simulate(ansatz, params, dtype)
    if engine == "numba":
        h, qs = cached_dense(ansatz)
        n = ansatz.n_qubits
        ps = make_pass(n, set(range(min(block_bits, n))), [], min(block_bits, n))
        return float(run_pass(state, ps, energy=(h, qs), store=False)) + ansatz.qubo.constant
    return expectation(state, cached_cost(ansatz), engine) + ansatz.qubo.constant
