"""Seconds per energy evaluation of hardware-efficient circuits: the in-house engine vs Aer.

Usage: ``python benchmarks/circuit_speed.py [--min-n 8] [--max-n 24] [--repeat 3]``.

Workload: a dense random QUBO on n qubits and the VQE-family circuits qbench's suites run —
``real_amplitudes`` (circular, reps 2: CVaR-VQE and VQE of the comparative suites),
``efficient_su2`` (reps 2: QRAO's default), ``ry_rz_cx`` (linear, reps 5: graph shrinking) and
the brickwork PCE ansatz (depth 4, CZ) — with random angles. One evaluation is what
``ExactBackend.expectation`` computes for a VQE step:

1. ``engine`` — the in-house engine (:mod:`qbench.hardware.exact.circuit`): the circuit compiled
   once, fused 1-qubit gates and CX/CZ in blocked passes, the energy fused into the last pass;
2. ``Aer`` — the previous path: ``AerSimulator(method="statevector")`` on the transpiled
   circuit (bind, run, ``save_statevector``), then ``Σ|ψ|²C`` in one numba pass.

Both run on one thread below 20 qubits (the engine's and qbench's Aer policy) and on the
process's thread budget from 20 on. Times are the minimum over ``--repeat`` evaluations after
a warm-up; Aer is skipped once its predicted time (last × 4.5 per 2 qubits) exceeds
``--budget`` seconds. The largest energy difference is printed; the load average is stated.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from qaoa_speed import best_of, dense_qubo  # noqa: E402

from qbench.hardware.base import CircuitAnsatz  # noqa: E402
from qbench.hardware.circuits import brickwork_ansatz, vqe_ansatz  # noqa: E402
from qbench.hardware.exact import ExactBackend  # noqa: E402
from qbench.hardware.exact.ansatz import cached_dense  # noqa: E402
from qbench.hardware.exact.engine import (  # noqa: E402
    aer_circuit_state,
    circuit_engine,
    numba_threads,
)
from qbench.hardware.exact.schedule import make_pass, run_pass  # noqa: E402

CIRCUITS = {
    "real_amplitudes": lambda n: vqe_ansatz("real_amplitudes", n, 2, "circular"),
    "efficient_su2": lambda n: vqe_ansatz("efficient_su2", n, 2, "reverse_linear"),
    "ry_rz_cx": lambda n: vqe_ansatz("ry_rz_cx", n, 5, "linear"),
    "brickwork": lambda n: brickwork_ansatz(n, 4, "cz"),
}


def aer_energy(ansatz: CircuitAnsatz, params: np.ndarray) -> float:
    """The previous exact path: Aer's state, then the energy in one numba pass."""
    state = aer_circuit_state(ansatz, params, np.dtype(np.complex128))
    n = ansatz.n_qubits
    ps = make_pass(n, set(range(min(13, n))), [], min(13, n))
    with numba_threads(n) as threads:
        value = run_pass(state, ps, energy=cached_dense(ansatz), store=False, threads=threads)
    return float(value) + ansatz.qubo.constant


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-n", type=int, default=8)
    parser.add_argument("--max-n", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per evaluation")
    parser.add_argument("--circuits", nargs="+", default=list(CIRCUITS), choices=list(CIRCUITS))
    args = parser.parse_args(argv)
    exact = ExactBackend()
    print(f"# VQE-circuit energy evaluation, dense random QUBO, {os.cpu_count()} CPUs")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print()
    print("| circuit | n | params | engine (s) | Aer (s) | Aer/engine | max |ΔE| |")
    print("|---" * 7 + "|")
    for name in args.circuits:
        last = None
        for n in range(args.min_n, args.max_n + 1, 2):
            qc = CIRCUITS[name](n)
            ansatz = CircuitAnsatz(qubo=dense_qubo(n), qc=qc)
            assert circuit_engine(ansatz) == "numba", name
            x = np.random.default_rng(n).uniform(-np.pi, np.pi, qc.num_parameters)
            rep = args.repeat if n < 22 else 1
            t_ours, e_ours = best_of(rep, lambda a=ansatz, p=x: exact.expectation(a, p))
            t_aer, diff = None, 0.0
            if last is None or last * 4.5 <= args.budget:
                t_aer, e_aer = best_of(rep, lambda a=ansatz, p=x: aer_energy(a, p))
                last, diff = t_aer, abs(e_aer - e_ours)
            aer = "skipped" if t_aer is None else f"{t_aer:.4g}"
            ratio = "—" if t_aer is None else f"{t_aer / t_ours:.1f}×"
            print(
                f"| {name} | {n} | {qc.num_parameters} | {t_ours:.4g} | {aer} | {ratio} "
                f"| {diff:.1e} |",
                flush=True,
            )
    print()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
