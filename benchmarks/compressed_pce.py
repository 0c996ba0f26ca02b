"""PCE loss-evaluation speed: our grouped-WHT path against Estimator-based evaluation.

One PCE loss evaluation needs all N correlators ⟨Π_i⟩ of one parameterised state. Ours
(``ExactBackend.pauli_expectations``): one Aer statevector, then per measurement basis (X, Y, Z:
3 groups) a basis rotation, |ψ|² and one Walsh–Hadamard transform. The references evaluate the
same N observables on the same circuit and parameters through an Estimator: qiskit-aer's
EstimatorV2 (exact, precision 0) and qiskit's StatevectorEstimator, each with all N observables
in one PUB (StatevectorEstimator only up to ``SV_MAX_QUBITS``: NaN beyond). The table gives
evaluations per second, the speed-up of ours, and the largest |difference| of the values in the
same run.

Run: ``python benchmarks/compressed_pce.py [N ...]`` (default N = 60 116 144 500).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

#: repeat each timing until this many seconds have passed (at least one evaluation)
MIN_SECONDS = 1.0
#: qiskit's StatevectorEstimator is timed up to this many qubits (it took 1.5 s per evaluation
#: of 60 observables at n = 7 and 6 s for 144 at n = 11; n = 19 would take hours)
SV_MAX_QUBITS = 12


def _rate(fun, *args, min_seconds: float = MIN_SECONDS) -> tuple[float, np.ndarray]:
    """(evaluations per second, last result) of ``fun(*args)``, after one warm-up call."""
    out = fun(*args)
    count, t0 = 0, time.perf_counter()
    while True:
        out = fun(*args)
        count += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return count / elapsed, np.asarray(out, dtype=float)


def _estimate(estimator, pub) -> np.ndarray:
    """All observables of one PUB through an Estimator (V2)."""
    return estimator.run([pub]).result()[0].data.evs


def pce_speed(sizes=(60, 116, 144, 500), depth: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Loss evaluations per second of PCE's correlators: ours vs Aer and qiskit Estimators."""
    from qiskit.primitives import StatevectorEstimator
    from qiskit.quantum_info import PauliList, SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2 as AerEstimator

    from qbench.hardware import get_backend
    from qbench.hardware.base import PauliAnsatz
    from qbench.hardware.circuits import brickwork_ansatz
    from qbench.solvers.pce import DEFAULT_DEPTH, correlators, qubits_for

    depth = DEFAULT_DEPTH if depth is None else depth
    exact = get_backend("exact")
    aer = AerEstimator(options={"default_precision": 0.0})
    sv = StatevectorEstimator()
    rows = []
    for n_vars in sizes:
        n = qubits_for(int(n_vars))
        labels = correlators(int(n_vars), n)
        qc = brickwork_ansatz(n, depth)
        ansatz = PauliAnsatz(qc, PauliList(labels))
        params = np.random.default_rng(seed).uniform(-np.pi, np.pi, qc.num_parameters)
        observables = [SparsePauliOp(label) for label in labels]
        pub = (qc, observables, params)
        ours, values = _rate(exact.pauli_expectations, ansatz, params)
        aer_rate, aer_values = _rate(_estimate, aer, pub)
        sv_rate, sv_values = np.nan, np.full(len(labels), np.nan)
        if n <= SV_MAX_QUBITS:
            sv_rate, sv_values = _rate(_estimate, sv, pub)
        rows.append(
            {
                "n_vars": int(n_vars),
                "n_qubits": n,
                "n_params": qc.num_parameters,
                "ours_per_s": ours,
                "aer_estimator_per_s": aer_rate,
                "sv_estimator_per_s": sv_rate,
                "speedup_vs_aer": ours / aer_rate,
                "speedup_vs_sv": ours / sv_rate,
                "max_abs_diff_aer": float(np.max(np.abs(values - aer_values))),
                "max_abs_diff_sv": float(np.max(np.abs(values - sv_values))),
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [60, 116, 144, 500]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print(pce_speed(sizes).to_string(index=False))
