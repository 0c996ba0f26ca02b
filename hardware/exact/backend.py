"""``ExactBackend``: the exact engine as a :class:`~qbench.hardware.base.Backend` (exact
expectations, distributions, Pauli expectations and sampled circuits, memory-checked)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from qbench.errors import ConfigError
from qbench.hardware.base import Ansatz, Backend, CircuitAnsatz, Distribution, PauliAnsatz
from qbench.hardware.exact import gpu_ansatz
from qbench.hardware.exact.ansatz import ansatz_cache
from qbench.hardware.exact.engine import (
    ENGINES,
    OPTIONAL_ENGINES,
    as_dtype,
    check_memory,
    check_simulation,
    choose_engine,
    circuit_engine,
    circuit_state,
    energy,
    required_bytes,
    simulate,
    take_state,
)
from qbench.hardware.exact.observables import PAULI_ENGINES, pauli_expectations
from qbench.hardware.exact.readout import probabilities_in_place, sample_indices
from qbench.hardware.exact.schedule import BLOCK_BITS
from qbench.hardware.paulis import pauli_groups
from qbench.memory import format_bytes


class ExactBackend(Backend):
    """Exact statevector simulation in-house (numba blocked kernels, numpy fallback).

    Options: ``dtype`` ("complex128" | "complex64"), ``engine`` ("numba" | "numpy" | "gpu";
    default numba when installed, and for QAOA ansätze the GPU when one is present:
    :func:`.gpu_ansatz.use_gpu`), ``max_bytes`` (host memory limit instead of MemAvailable),
    ``block_bits`` (local qubits per pass of the CPU engine). The name ``exact:<engine>``
    (``exact:gpu``) sets the engine.
    """

    name = "exact"
    exact = True
    takes_shots = False
    #: ``exact:<engine>`` picks the engine
    families: ClassVar[dict[str, str]] = {"exact": "engine"}

    def __init__(
        self,
        dtype: str = "complex128",
        engine: str | None = None,
        max_bytes: int | None = None,
        block_bits: int = BLOCK_BITS,
    ) -> None:
        self.dtype = as_dtype(dtype)
        self.engine = None if engine is None else choose_engine(engine)
        self.max_bytes = max_bytes
        self.block_bits = int(block_bits)

    @classmethod
    def validate(cls, name: str) -> None:
        """ConfigError unless ``name`` is ``exact`` or ``exact:<engine>`` with a known engine."""
        _, sep, engine = str(name).partition(":")
        if sep and engine not in ENGINES + OPTIONAL_ENGINES:
            allowed = ", ".join(ENGINES + OPTIONAL_ENGINES)
            raise ConfigError(f"backend {name!r}: unknown engine; allowed: {allowed}")

    @classmethod
    def build(cls, name: str, **options) -> ExactBackend:
        """The exact backend; ``exact:<engine>`` sets ``engine``."""
        cls.validate(name)
        _, sep, engine = str(name).partition(":")
        if sep:
            options["engine"] = engine
        try:
            return cls(**options)
        except ValueError as exc:  # an engine this machine cannot run (no GPU)
            raise ConfigError(f"backend {name!r}: {exc}") from None

    @classmethod
    def fit(
        cls, name: str, n_qubits: int, kind: str, available: int | None
    ) -> tuple[int | None, str]:
        """Peak bytes of a whole exact run (:func:`required_bytes` of the ansatz ``kind``, default
        dtype and engine: optimisation and read-out) and why it is refused when ``available``
        bytes are too few. A QAOA ansatz runs on the in-house engine; "circuit" and "pauli"
        kinds run through Aer's statevector."""
        memory = required_bytes(n_qubits, kind=kind)
        if available is None or memory <= available:
            return memory, ""
        return memory, (
            f"exact simulation of {n_qubits} qubits needs {format_bytes(memory)} but "
            f"{format_bytes(available)} are available; use aer_mps or fewer qubits"
        )

    def check(self, ansatz: Ansatz) -> None:
        """ResourceError with n, required and available bytes when a whole run of the ansatz
        (:func:`required_bytes`: its kind, this dtype and engine) won't fit; on the GPU, its
        state and cost vector on the device, and on the host what the CPU engine's read-out
        holds (the GPU engine returns the same state for it)."""
        if gpu_ansatz.use_gpu(ansatz, self.engine, self.dtype):
            gpu_ansatz.check(ansatz, self.dtype)
        if isinstance(ansatz, (CircuitAnsatz, PauliAnsatz)):
            engine = circuit_engine(ansatz, self.engine)
        else:
            engine = self._host_engine(ansatz.n_qubits)
        check_memory(ansatz.n_qubits, self.dtype, engine, self.max_bytes, ansatz.kind)

    def _host_engine(self, n_qubits: int) -> str:
        """The CPU engine behind host-side work (memory model, read-out): this backend's, or
        the default one when the engine is the GPU."""
        return choose_engine(None if self.engine == "gpu" else self.engine, n_qubits)

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

    def probabilities(
        self, ansatz: Ansatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """The exact distribution as one float64 vector indexed by basis state: what
        :meth:`distribution` returns without its 2ⁿ states array. Written over the simulated
        state's buffer (:func:`~.readout.probabilities_in_place`), so it costs no memory beyond
        the state; ``seed`` is ignored (nothing is sampled)."""
        state = simulate(
            ansatz,
            params,
            self.dtype,
            self.engine,
            max_bytes=self.max_bytes,
            block_bits=self.block_bits,
        )
        return probabilities_in_place(state, self._host_engine(ansatz.n_qubits))

    def distribution(
        self,
        ansatz: Ansatz,
        params: np.ndarray,
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> Distribution:
        """Exact probabilities of all 2ⁿ states, or ``shots`` samples (default_rng(seed); the
        draws of ``Generator.choice``, without its 2ⁿ cumulative array)."""
        probs = self.probabilities(ansatz, params)
        if shots is None:
            return Distribution(states=np.arange(probs.size), probs=probs, exact=True)
        if shots < 1:
            raise ValueError(f"shots must be >= 1, got {shots}")
        probs /= probs.sum()
        samples = sample_indices(probs, int(shots), np.random.default_rng(seed))
        del probs
        states, counts = np.unique(samples, return_counts=True)
        return Distribution(states=states, probs=counts / shots, exact=False, shots=int(shots))

    def statevector(self, ansatz: CircuitAnsatz | PauliAnsatz, params: np.ndarray) -> np.ndarray:
        """The state of a circuit ansatz at ``params`` (the in-house circuit engine, else Aer's
        statevector), memory-checked; a complex64 state from Aer is copied out of Aer's buffer
        (8 rather than 16 bytes per amplitude held while PCE and QRAO work on it)."""
        engine = circuit_engine(ansatz, self.engine)
        check_simulation(ansatz.n_qubits, self.dtype, engine, self.max_bytes, ansatz.kind)
        params = np.asarray(params, dtype=float).ravel()
        out = take_state(ansatz, self.dtype)  # an energy evaluation's array, if one is kept
        state = circuit_state(ansatz, params, self.dtype, self.engine, self.block_bits, out)
        return state.copy() if state.base is not None and state.dtype == np.complex64 else state

    def pauli_expectations(
        self, ansatz: PauliAnsatz, params: np.ndarray, *, seed: int | None = None
    ) -> np.ndarray:
        """Exact ⟨P_k⟩ of all the ansatz's Paulis from one statevector, read per qubit-wise
        commuting group (:func:`~.observables.pauli_expectations`: this backend's engine, numba
        or numpy, else the default one, and block_bits; numba rotates the state in place)."""
        state = self.statevector(ansatz, params)
        cache = ansatz_cache(ansatz)
        if cache.get("pauli_groups_of") is not ansatz.paulis:
            cache.update(pauli_groups=pauli_groups(ansatz.paulis), pauli_groups_of=ansatz.paulis)
        return pauli_expectations(
            state,
            ansatz.paulis,
            cache["pauli_groups"],
            overwrite=True,
            engine=self.engine if self.engine in PAULI_ENGINES else None,
            block_bits=self.block_bits,
        )

    def sample_circuits(
        self, circuits: list, *, shots: int, seed: int | None = None
    ) -> list[Distribution]:
        """``shots`` samples of each bound circuit from its exact statevector (seeded)."""
        rng = np.random.default_rng(seed)
        out = []
        for qc in circuits:
            state = self.statevector(CircuitAnsatz(qubo=None, qc=qc), np.zeros(0))
            probs = probabilities_in_place(state, "numpy")
            del state
            probs /= probs.sum()
            draws = sample_indices(probs, int(shots), rng)
            del probs
            states, counts = np.unique(draws, return_counts=True)
            out.append(Distribution(states, counts / shots, exact=False, shots=int(shots)))
        return out

    def info(self) -> dict:
        """Backend facts for the result row: name, method, engine ("auto" if unset), dtype."""
        return {
            "backend": self.name,
            "method": "statevector",
            "engine": self.engine or "auto",
            "dtype": self.dtype.name,
        }
