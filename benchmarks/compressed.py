"""Qubit-compressed solvers, in one run: PCE correlator speed and QRAO against qiskit-optimization.

1. PCE: loss evaluations per second of our grouped Walsh–Hadamard path (``exact`` backend)
   against Aer's EstimatorV2 and qiskit's StatevectorEstimator on the same circuit, parameters
   and N correlators, with the speed-up ratios and the largest value difference
   (:func:`compressed_pce.pce_speed`).
2. QRAO: our ``qrao`` solver against qiskit-optimization's QuantumRandomAccessOptimizer on the
   same QUBOs (same QRAC, ansatz, optimiser, budget, rounding shots): qubits, wall time and
   its ratio, relaxed energy and rounded objective (:func:`compressed_qrao.qrao_vs_qiskit`).

Run: ``python benchmarks/compressed.py [--quick]`` (quick: the two smallest sizes of each).
"""

from __future__ import annotations

import sys

from compressed_pce import pce_speed
from compressed_qrao import INSTANCES, qrao_vs_qiskit


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    sizes = (60, 116) if quick else (60, 116, 144, 500)
    print("PCE: loss evaluations per second (ours = exact backend, grouped WHT)")
    print(pce_speed(sizes).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print()
    print("QRAO: ours vs qiskit-optimization QuantumRandomAccessOptimizer")
    instances = INSTANCES[:2] if quick else INSTANCES
    print(qrao_vs_qiskit(instances).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main(sys.argv[1:])
