"""Device paths: swap-strategy vs preset routing, and compacted vs full noisy simulation.

Table 1 — dense QAOA (complete-graph QUBO, p = 1) transpiled for fake_torino: two-qubit gates,
depth and transpile time of the commuting-gate swap strategy (ours) vs qiskit's preset pass
manager (the reference), at optimisation levels 1 and 3; ratios reference / ours.

Table 2 — one noisy sampling run (2000 shots) of the routed circuit: qbench's aer_noisy path
(circuit compacted to its active qubits with their errors) vs Aer with the full device model
(``AerSimulator.from_backend``, the reference), time per run and total-variation distance
between the two count distributions.

    python benchmarks/hardware.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from qiskit_aer import AerSimulator

from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.circuits import ising_form
from qbench.hardware.ibm import fake_device
from qbench.hardware.noisy import NoisySimulator
from qbench.hardware.transpile import transpile_isa, transpile_qaoa_swap
from qbench.program import BinaryProgram


def dense_qubo(n: int, seed: int = 0) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    quad = np.triu(rng.normal(size=(n, n)), 1)
    return BinaryProgram(linear=rng.normal(size=n), quadratic=sp.csr_matrix(quad))


def routing_table(sizes: list[int], device) -> list[dict]:
    rows = []
    for n in sizes:
        ansatz = QAOAAnsatz(dense_qubo(n), p=1)
        for level in (1, 3):
            t = time.perf_counter()
            _, ours = transpile_qaoa_swap(ansatz, device.target, optimization_level=level, seed=1)
            t_ours = time.perf_counter() - t
            logical = ising_form(ansatz.circuit())
            logical.measure_all()
            t = time.perf_counter()
            _, ref = transpile_isa(logical, device.target, optimization_level=level, seed=1)
            t_ref = time.perf_counter() - t
            rows.append({
                "n": n, "level": level,
                "2q swap": ours["two_qubit_gates"], "2q preset": ref["two_qubit_gates"],
                "2q ratio": ref["two_qubit_gates"] / ours["two_qubit_gates"],
                "depth swap": ours["depth_transpiled"], "depth preset": ref["depth_transpiled"],
                "t swap s": t_ours, "t preset s": t_ref,
            })  # fmt: skip
            print(_fmt(rows[-1]), flush=True)
    return rows


def noisy_table(sizes: list[int], device, shots: int = 2000) -> list[dict]:
    rows = []
    ours = NoisySimulator(device)
    t = time.perf_counter()
    full = AerSimulator.from_backend(device)
    t_model = time.perf_counter() - t
    for n in sizes:
        ansatz = QAOAAnsatz(dense_qubo(n), p=1)
        isa, _ = transpile_qaoa_swap(ansatz, device.target, seed=1)
        bound = isa.assign_parameters(np.linspace(0.2, 0.7, isa.num_parameters))
        ours.counts([bound], shots, 1, "benchmark")  # build the device model once
        t = time.perf_counter()
        a = ours.counts([bound], shots, 1, "benchmark")[0]
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        b = full.run(bound, shots=shots, seed_simulator=2).result().get_counts()
        t_ref = time.perf_counter() - t
        tv = 0.5 * sum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b)) / shots
        rows.append({
            "n": n, "ours s": t_ours, "full model s": t_ref, "speed-up": t_ref / t_ours,
            "TV(ours, full)": tv, "full model build s": t_model,
        })  # fmt: skip
        print(_fmt(rows[-1]), flush=True)
    return rows


def _fmt(row: dict) -> str:
    return "  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes")
    args = parser.parse_args()
    device = fake_device("fake_torino")
    sizes = [6, 10] if args.quick else [6, 8, 10, 12, 16]
    print("# routing: swap strategy (ours) vs preset pass manager (reference), fake_torino")
    routing_table(sizes, device)
    print("\n# noisy sampling: compacted model (ours) vs full device model (reference)")
    noisy_table([4, 8] if args.quick else [4, 8, 12], device)


if __name__ == "__main__":
    main()
