"""Noisy Aer simulation of an IBM device, cut down to the qubits a circuit uses.

``NoiseModel.from_backend`` of a 133-qubit device takes seconds and Aer re-reads all of it on
every run (~3 s per run on fake_torino however small the circuit). An ISA circuit touches few
physical qubits, so :class:`NoisySimulator` keeps the device noise model once per process and
runs each circuit *compacted*: its active physical qubits renumbered 0..k-1, with the gate and
readout errors of exactly those qubits (and couplings) moved to the new numbers. The errors of
the qubits the circuit uses are unchanged, so the result is the same distribution (tested
against the full model); idle qubits, which can never affect the measured ones, are dropped.

Readout errors are applied classically to the sampled bits (as Aer itself does), which lets
``twirl=True`` emulate measurement twirling for TREX at no simulation cost: each shot's bits
are flipped by a random mask before the readout error and flipped back after it (the twirling
X gates are taken as ideal). Idle-time (delay) relaxation is left out: ISA circuits here are not
scheduled and hold no delays, which is also what the full model does with them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from qbench.memory import require_memory
from qbench.threads import aer_threads

#: simulation methods of aer_noisy; automatic = density matrix up to DENSITY_MATRIX_MAX_QUBITS
NOISY_METHODS = ("automatic", "density_matrix", "statevector")
#: above this many active qubits the automatic method samples noisy statevector trajectories
DENSITY_MATRIX_MAX_QUBITS = 10


@lru_cache(maxsize=8)
def device_noise_model(device) -> NoiseModel:
    """The full noise model of a device (cached per device object: it is slow to build)."""
    return NoiseModel.from_backend(device)


def active_qubits(qc: QuantumCircuit) -> list[int]:
    """Physical qubits that any instruction (barriers aside) acts on, in increasing order."""
    used: set[int] = set()
    for inst in qc.data:
        if inst.operation.name != "barrier":
            used.update(qc.find_bit(q).index for q in inst.qubits)
    return sorted(used)


def compact(qc: QuantumCircuit, qubits: list[int]) -> QuantumCircuit:
    """``qc`` on ``len(qubits)`` qubits: physical qubit ``qubits[k]`` becomes qubit k."""
    new = {q: k for k, q in enumerate(qubits)}
    out = QuantumCircuit(len(qubits), qc.num_clbits, global_phase=qc.global_phase)
    for inst in qc.data:
        idx = [qc.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "barrier":
            idx = [q for q in idx if q in new]
            if not idx:
                continue
        out.append(
            inst.operation,
            [out.qubits[new[q]] for q in idx],
            [out.clbits[qc.find_bit(c).index] for c in inst.clbits],
        )
    return out


def reduced_noise_model(full: NoiseModel, qubits: list[int], readout: bool = True) -> NoiseModel:
    """The errors of ``full`` on ``qubits`` only, renumbered like :func:`compact` (without the
    readout errors when ``readout`` is False).

    Reads the model's per-qubit tables (``from_backend`` builds only local errors); a model
    with default (all-qubit) errors is refused rather than silently reduced.
    """
    if full._default_quantum_errors or full._default_readout_error is not None:
        raise ValueError("reduced_noise_model expects a device model with only local errors")
    new = {q: k for k, q in enumerate(qubits)}
    model = NoiseModel(basis_gates=full.basis_gates)
    for name, table in full._local_quantum_errors.items():
        for where, error in table.items():
            if all(q in new for q in where):
                model.add_quantum_error(error, name, [new[q] for q in where], warnings=False)
    for where, error in full._local_readout_errors.items():
        if readout and all(q in new for q in where):
            model.add_readout_error(error, [new[q] for q in where], warnings=False)
    return model


def readout_flips(full: NoiseModel, qc: QuantumCircuit) -> np.ndarray:
    """(2, clbits) probabilities that a measured 0 (row 0) or 1 (row 1) is read flipped, per
    clbit of ``qc`` from the readout error of the physical qubit measured into it."""
    flips = np.zeros((2, qc.num_clbits))
    for inst in qc.data:
        if inst.operation.name != "measure":
            continue
        q, c = qc.find_bit(inst.qubits[0]).index, qc.find_bit(inst.clbits[0]).index
        error = full._local_readout_errors.get((q,))
        if error is not None:
            probs = np.asarray(error.probabilities, dtype=float)
            flips[:, c] = probs[0, 1], probs[1, 0]
    return flips


def apply_readout(
    counts: dict[str, int], flips: np.ndarray, twirl: bool, rng: np.random.Generator
) -> dict[int, int]:
    """Integer-state counts after per-shot readout errors, optionally measurement-twirled: the
    bits are XORed with a random mask before the error and with the same mask after it."""
    c = flips.shape[1]
    keys = list(counts)
    reps = np.array([counts[k] for k in keys], dtype=np.int64)
    bits = np.array([[ch == "1" for ch in k.replace(" ", "")[::-1]] for k in keys], dtype=bool)
    bits = np.repeat(bits.reshape(len(keys), c), reps, axis=0)
    mask = rng.random(bits.shape) < 0.5 if twirl else np.zeros_like(bits)
    pre = bits ^ mask
    flipped = rng.random(bits.shape) < np.where(pre, flips[1], flips[0])
    out = pre ^ flipped ^ mask
    if c <= 62:
        states = out.astype(np.int64) @ (np.int64(1) << np.arange(c, dtype=np.int64))
        values, freq = np.unique(states, return_counts=True)
        return {int(v): int(f) for v, f in zip(values, freq)}
    merged: dict[int, int] = {}
    for row in out:
        s = int("".join("1" if b else "0" for b in row[::-1]), 2)
        merged[s] = merged.get(s, 0) + 1
    return merged


def noisy_bytes(k: int, method: str) -> int:
    """Peak bytes of a k-qubit noisy run: 16·4ᵏ (density matrix) or 2 × 16·2ᵏ (statevector)."""
    return 16 * (1 << (2 * k)) if method == "density_matrix" else 2 * 16 * (1 << k)


def resolve_method(method: str, k: int) -> str:
    """The Aer method for k active qubits: ``automatic`` picks the density matrix up to
    DENSITY_MATRIX_MAX_QUBITS (exact noise averaging, faster for small circuits)."""
    if method == "automatic":
        return "density_matrix" if k <= DENSITY_MATRIX_MAX_QUBITS else "statevector"
    return method


class NoisySimulator:
    """Runs bound ISA circuits of one device under its noise model, compacted per circuit."""

    def __init__(self, device, *, method: str = "automatic", max_bytes: int | None = None):
        if method not in NOISY_METHODS:
            raise ValueError(f"method {method!r} unknown; allowed: {', '.join(NOISY_METHODS)}")
        self.device, self.method, self.max_bytes = device, method, max_bytes
        self._models: dict[tuple[int, ...], NoiseModel] = {}

    def check(self, k: int, what: str) -> None:
        """Refuse up front (ResourceError with the numbers) a k-qubit run that would not fit."""
        method = resolve_method(self.method, k)
        require_memory(
            f"{what}: a noisy {method} simulation of {k} qubits",
            noisy_bytes(k, method),
            self.max_bytes,
            hint="; use fewer qubits or method=statevector",
        )

    def model(self, qubits: list[int]) -> NoiseModel:
        """The device's gate errors on ``qubits`` (readout is applied to the samples)."""
        key = tuple(qubits)
        if key not in self._models:
            full = device_noise_model(self.device)
            self._models[key] = reduced_noise_model(full, qubits, readout=False)
        return self._models[key]

    def counts(
        self,
        circuits: list[QuantumCircuit],
        shots: int,
        seed: int | None,
        what: str,
        twirl: bool = False,
    ) -> list[dict[int, int]]:
        """Integer-state counts (bit i = clbit i) of each bound ISA circuit, ``shots`` each,
        with the device's readout errors; ``twirl`` twirls every shot's measurement."""
        out = []
        rng = np.random.default_rng(seed)
        full = device_noise_model(self.device)
        for qc in circuits:
            qubits = active_qubits(qc)
            self.check(len(qubits), what)
            method = resolve_method(self.method, len(qubits))
            sim = AerSimulator(
                method=method,
                noise_model=self.model(qubits),
                max_parallel_threads=aer_threads(),
            )
            small = compact(qc, qubits)
            result = sim.run(
                small, shots=int(shots), seed_simulator=int(rng.integers(2**31 - 1))
            ).result()
            out.append(apply_readout(result.get_counts(0), readout_flips(full, qc), twirl, rng))
        return out
