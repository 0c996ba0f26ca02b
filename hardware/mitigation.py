"""TREX, twirled readout-error extinction (van den Berg et al., PRA 105, 032620).

Every measurement is twirled by random X flips, undone classically (by IBM Runtime's measurement
twirling on ``ibm_local``/``ibm``; per shot in :mod:`.noisy` on ``aer_noisy``), which turns the
readout error into a per-Z-string scale factor. That factor is measured on a calibration circuit
|0…0⟩ run in the same job (:func:`calibration_circuit`) and each Z-string expectation is divided
by it (:func:`trex_divide`).
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit

#: calibration values of at most this magnitude leave the expectation unmitigated
MIN_SCALE = 0.05


def calibration_circuit(isa: QuantumCircuit) -> QuantumCircuit:
    """|0…0⟩ measured on the same physical qubits into the same clbits as ``isa``."""
    cal = QuantumCircuit(isa.num_qubits, isa.num_clbits, name="trex-calibration")
    for inst in isa.data:
        if inst.operation.name == "measure":
            cal.measure(isa.find_bit(inst.qubits[0]).index, isa.find_bit(inst.clbits[0]).index)
    return cal


def trex_divide(raw: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """TREX division, guarded: a calibration too close to 0 leaves the value unmitigated."""
    ok = np.abs(scale) > MIN_SCALE
    out = np.array(raw, dtype=float)
    out[ok] = np.clip(raw[ok] / scale[ok], -1.0, 1.0)
    return out
