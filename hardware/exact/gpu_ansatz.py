"""A QAOA ansatz on the GPU engine (:mod:`.gpu`): its start state, layers and dense QUBO as the
plain arrays the engine takes, and when the exact backend picks the GPU.

``engine="gpu"`` runs every QAOA ansatz on the device (circuit and Pauli ansätze stay on Aer);
with no engine given, a QAOA ansatz of at least :data:`GPU_MIN_QUBITS` qubits runs there when
:func:`.gpu.gpu_available` (a real CUDA device, never the simulator) and the run fits in the
device's free memory, else on the CPU engines as before.
"""

from __future__ import annotations

import numpy as np

from qbench.hardware.base import Ansatz, QAOAAnsatz
from qbench.hardware.exact import gpu
from qbench.hardware.exact.ansatz import (
    cached_dense,
    dense_qubo,
    mixer_mats,
    qaoa_layers,
    start_amplitudes,
    xy_pairs,
)

#: below this many qubits the default engine stays on the CPU: a kernel launch (~10 µs) per
#: pass and the first call's compilation outweigh the work (an estimate, not yet measured)
GPU_MIN_QUBITS = 18


def use_gpu(ansatz: Ansatz, engine: str | None, dtype=np.complex128) -> bool:
    """Whether ``simulate``/``energy`` run this ansatz on the GPU engine: a QAOA ansatz with
    ``engine="gpu"``, or with no engine when a real GPU is present and the run fits."""
    if not isinstance(ansatz, QAOAAnsatz) or engine not in (None, "gpu"):
        return False
    if engine == "gpu":
        return True
    return (
        ansatz.n_qubits >= GPU_MIN_QUBITS
        and gpu.gpu_available()
        and gpu.fits(ansatz.n_qubits, dtype, cost=True)
    )


def layers(ansatz: QAOAAnsatz, params: np.ndarray) -> list:
    """The ansatz's layers at ``params`` as :func:`.gpu.qaoa_program` takes them."""
    out = []
    for wq, gamma, beta in qaoa_layers(ansatz, np.asarray(params, dtype=float).ravel()):
        if ansatz.mixer.startswith("xy"):
            if np.ndim(beta):
                raise ValueError("multi-angle QAOA is defined for the x and warm mixers only")
            mixer = [(a, b, float(beta)) for a, b in xy_pairs(ansatz)]
        else:
            mixer = mixer_mats(ansatz, beta)
        out.append((gamma, mixer) if wq is None else (gamma, mixer, dense_qubo(wq)))
    return out


def energy(ansatz: QAOAAnsatz, params: np.ndarray, dtype, block_bits: int | None = None) -> float:
    """⟨C⟩ (constant included) on the device; ResourceError when it won't fit there."""
    h, qs = cached_dense(ansatz)
    return gpu.qaoa_energy(
        h,
        qs,
        ansatz.qubo.constant,
        start_amplitudes(ansatz),
        layers(ansatz, params),
        dtype,
        block_bits=block_bits,
    )


def simulate(
    ansatz: QAOAAnsatz, params: np.ndarray, dtype, block_bits: int | None = None
) -> np.ndarray:
    """The statevector computed on the device, copied to the host."""
    h, qs = cached_dense(ansatz)
    return gpu.qaoa_state(
        h, qs, start_amplitudes(ansatz), layers(ansatz, params), dtype, block_bits=block_bits
    )


def check(ansatz: Ansatz, dtype) -> None:
    """ResourceError when a QAOA ansatz's state and cost vector won't fit on the device."""
    if isinstance(ansatz, QAOAAnsatz):
        gpu.check_device_memory(ansatz.n_qubits, dtype, cost=True)
