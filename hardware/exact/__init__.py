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

Modules: :mod:`.engine` (engine and dtype choice, primitives, memory model, ``simulate`` and
``energy``), :mod:`.kernels` (numba kernels), :mod:`.schedule` (blocked passes),
:mod:`.reference` (the numpy engine), :mod:`.ansatz` (start state, layers, per-ansatz cache),
:mod:`.observables` (Pauli expectations), :mod:`.readout` (the read-out of full distributions
with chunk-sized temporaries) and :mod:`.backend` (:class:`ExactBackend`). :mod:`.gpu` is the
optional GPU engine (numba.cuda; ``engine="gpu"``, ``exact:gpu``) and :mod:`.gpu_ansatz` what
hands it a QAOA ansatz and decides when the default engine uses it.
"""

from qbench.hardware.exact.ansatz import cached_cost, start_amplitudes, xy_pairs
from qbench.hardware.exact.backend import ExactBackend
from qbench.hardware.exact.engine import (
    DTYPES,
    ENGINES,
    NUMBA_MIN_QUBITS,
    OBJECTIVES,
    PARALLEL_MIN_QUBITS,
    RUN_BYTES_PER_AMPLITUDE,
    RUN_FIXED_BYTES,
    apply_1q,
    apply_xy,
    check_memory,
    check_simulation,
    choose_engine,
    energy,
    expectation,
    phase,
    probabilities,
    required_bytes,
    simulate,
    simulation_bytes,
    state_bytes,
)
from qbench.hardware.exact.kernels import HAVE_NUMBA
from qbench.hardware.exact.observables import pauli_expectations
from qbench.hardware.exact.schedule import BLOCK_BITS, CHUNK_BITS

__all__ = [
    "BLOCK_BITS",
    "CHUNK_BITS",
    "DTYPES",
    "ENGINES",
    "HAVE_NUMBA",
    "NUMBA_MIN_QUBITS",
    "OBJECTIVES",
    "PARALLEL_MIN_QUBITS",
    "RUN_BYTES_PER_AMPLITUDE",
    "RUN_FIXED_BYTES",
    "ExactBackend",
    "apply_1q",
    "apply_xy",
    "cached_cost",
    "check_memory",
    "check_simulation",
    "choose_engine",
    "energy",
    "expectation",
    "pauli_expectations",
    "phase",
    "probabilities",
    "required_bytes",
    "simulate",
    "simulation_bytes",
    "start_amplitudes",
    "state_bytes",
    "xy_pairs",
]
