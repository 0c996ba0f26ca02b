"""Seconds per CVaR-VQE objective evaluation on Aer's MPS simulator: our sampled path against
Aer EstimatorV2 on the same circuit.

The comparative study (arXiv:2503.12121) runs CVaR-VQE on SAC-94 MDKP penalty QUBOs of 45–122
qubits on Aer's matrix_product_state method with 1000 shots per evaluation. Per evaluation,
qbench samples the bound ansatz (SamplerV2, MPS) and evaluates the sampled bitstrings on the
QUBO in vectorised chunks (:class:`qbench.solvers.variational.Energies`: never a 2ⁿ object),
then takes CVaR_α. The reference is what an estimator-based loop would pay for the energy
expectation of the same circuit: Aer's EstimatorV2 on the QUBO's Ising operator (n linear +
up to n(n−1)/2 ZZ terms) with the same MPS options. Both run on identical circuits and angles
(the paper's ansatz: RY layers with circular CX, reps 2, random start angles). The column
``model_s`` is what dry runs estimate for one such evaluation from the circuit's bond
dimensions (:mod:`qbench.hardware.mps`), beside the measured time.

``--qaoa`` adds one p = 1 QAOA circuit (1000 shots, seeded random angles) per Sloane MIS graph
on the same simulator, measured beside the model: QAOA's cost layers are blocks of diagonal
gates, for which the model's bound is loose (dry runs do not estimate them; a run paces itself
after its first evaluation, :mod:`qbench.pace`), and these times are why comparative-mis leaves
QAOA out on its 64-node graphs.

Run: ``python benchmarks/mps_evaluation.py [--quick] [--qaoa]`` (quick: pb4, 45 qubits, only).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from qbench.encoders import get_encoder
from qbench.hardware import get_backend
from qbench.hardware.base import CircuitAnsatz
from qbench.hardware.circuits import vqe_ansatz
from qbench.hardware.mps import mps_cost, two_qubit_gates
from qbench.pipeline import prepare
from qbench.solvers.variational import Energies, circuit_gates

SHOTS = 1000
ALPHA = 0.25
REPEATS = 3


def timed(call, repeats: int = REPEATS) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls (after one warm-up call) and the last value."""
    value = call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), value


def evaluation_times(name: str) -> dict:
    """One instance: qubits, ZZ terms, seconds per sampled CVaR evaluation and per EstimatorV2
    expectation, and their ratio."""
    problem = prepare(name).problem
    qubo = get_encoder("qubo").encode(problem.program).qubo
    qc = vqe_ansatz("real_amplitudes", qubo.n_vars, 2, "circular")
    ansatz = CircuitAnsatz(qubo=qubo, qc=qc, name="real_amplitudes")
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, ansatz.n_params)
    backend = get_backend("aer_mps", shots=SHOTS, seed=1)
    energies = Energies(ansatz, use_vector=False)

    def sampled() -> float:
        dist = backend.distribution(ansatz, theta, shots=SHOTS, seed=2)
        return energies.cvar(dist, ALPHA)

    t_sampled, cvar_value = timed(sampled)
    t_estimator, expectation = timed(lambda: backend.estimate(ansatz, theta))
    return {
        "instance": name,
        "qubits": qubo.n_vars,
        "zz_terms": int(qubo.quadratic.nnz),
        "sampled_cvar_s": t_sampled,
        "estimator_s": t_estimator,
        "estimator/sampled": t_estimator / t_sampled,
        "model_s": mps_cost(qubo.n_vars, two_qubit_gates(qc.decompose()), SHOTS).seconds,
        "cvar_0.25": cvar_value,
        "expectation": expectation,
    }


def qaoa_circuit_time(name: str) -> dict:
    """Seconds of one sampled p = 1 QAOA circuit of an MIS graph's penalty QUBO on aer_mps."""
    from qbench.hardware.base import QAOAAnsatz

    problem = prepare(name).problem
    qubo = get_encoder("qubo").encode(problem.program).qubo
    ansatz = QAOAAnsatz(qubo=qubo, p=1)
    theta = np.random.default_rng(0).uniform(0, np.pi, ansatz.n_params)
    backend = get_backend("aer_mps", shots=SHOTS, seed=1)
    gates = circuit_gates(qubo, {"p": 1})
    backend.prepared(ansatz)  # transpile outside the timing
    t0 = time.perf_counter()
    backend.distribution(ansatz, theta, shots=SHOTS, seed=2)
    seconds = time.perf_counter() - t0
    bound = mps_cost(qubo.n_vars, gates, SHOTS)
    return {"instance": name, "qubits": qubo.n_vars, "zz_terms": int(qubo.quadratic.nnz),
            "seconds": seconds, "200 evaluations (h)": 200 * seconds / 3600,
            "bond bound (log2)": bound.max_bond_log2}  # fmt: skip


def main(argv: list[str]) -> None:
    names = ["pb4"] if "--quick" in argv else ["pb4", "hp1", "pet5"]
    rows = [evaluation_times(name) for name in names]
    table = pd.DataFrame(rows)
    print(f"CVaR-VQE evaluation on aer_mps ({SHOTS} shots, alpha {ALPHA}; RY + circular CX, "
          "reps 2): ours (sampled, vectorised QUBO energies) vs Aer EstimatorV2")  # fmt: skip
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if "--qaoa" in argv:
        graphs = ["1tc.8", "1tc.16", "1tc.32", "1tc.64", "1et.64"]
        table = pd.DataFrame([qaoa_circuit_time(name) for name in graphs])
        print(f"\nOne p = 1 QAOA circuit on aer_mps ({SHOTS} shots), MIS penalty QUBOs:")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main(sys.argv[1:])
