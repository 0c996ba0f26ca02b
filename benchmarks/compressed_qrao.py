"""QRAO: qbench's ``qrao`` solver vs qiskit-optimization's QuantumRandomAccessOptimizer.

Usage: ``python benchmarks/compressed_qrao.py [--maxiter 200] [--shots 1024] [--reps 1]``.

Both run on the same QUBO (the ``qubo`` encoder's, tight penalty) with the (3,1) QRAC,
efficient_su2 (linear entanglement, same reps), COBYLA with the same evaluation budget and
first step 0.5, start angles uniform in ±0.1, and magic rounding with the same number of shots.
qiskit-optimization 0.7 needs no qiskit-algorithms: its own ``minimum_eigensolvers.VQE`` and
``optimizers.COBYLA`` with qiskit's ``StatevectorEstimator`` / ``StatevectorSampler``.
Ours runs on the exact backend (Aer statevector + grouped Walsh–Hadamard Pauli expectations,
numpy magic-rounding sampler). Columns: qubits, wall time, ``ratio`` (time theirs / ours),
``compression`` (N / qubits), the relaxed energy reached (offset included;
``relaxed_ground``: exact ground energy of our relaxed Hamiltonian, up to 16 qubits) and the
best rounded QUBO energy (lower is better). Instances
whose QRAC needs more than ``--max-qiskit-qubits`` are run by ours only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from time import perf_counter

import numpy as np
import pandas as pd

from qbench.encoders.qubo import encode
from qbench.encoders.reference import to_quadratic_program
from qbench.program import BinaryProgram
from qbench.solvers import qrao
from qbench.spec import load_spec

#: MIS graphs (QUBO = the graph, sparse: real compression) and one knapsack (clique: none);
#: 60 MIS variables need 21 qubits, where one exact evaluation of the relaxed energy takes ~5 s
INSTANCES = (
    "mis:n=20,p=0.15,seed=1",
    "mis:n=30,p=0.1,seed=2",
    "mis:n=40,p=0.08,seed=3",
    "mdkp:n=3,m=1,seed=5",
)
GROUND_MAX_QUBITS = 16


def qubo_of_spec(spec: str) -> BinaryProgram:
    """The qubo encoder's QUBO (tight penalty) of an instance spec."""
    return encode(load_spec(spec).program, penalty="tight").qubo


def relaxed_ground(relaxation: qrao.Relaxation) -> float:
    """Exact ground energy (offset included) of a relaxed Hamiltonian, NaN if Lanczos stalls.

    When every qubit carries one Pauli letter (e.g. a clique QUBO: one variable per qubit) the
    terms commute and H is diagonal in that product basis: the minimum of the diagonal after
    mapping X, Y → Z (the same spectrum). Otherwise sparse Lanczos (eigsh).
    """
    from qiskit.quantum_info import PauliList, SparsePauliOp
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    from qbench.hardware.paulis import pauli_groups

    op = relaxation.operator
    if len(pauli_groups(op.paulis)) == 1:
        paulis = op.paulis
        diagonal = PauliList.from_symplectic(paulis.z | paulis.x, np.zeros_like(paulis.x))
        diagonal.phase = paulis.phase
        values = SparsePauliOp(diagonal, op.coeffs).to_matrix(sparse=True).diagonal().real
        return float(values.min()) + relaxation.offset
    matrix = op.to_matrix(sparse=True)
    try:
        value = eigsh(matrix, k=1, which="SA", return_eigenvectors=False, maxiter=300)[0]
    except ArpackNoConvergence:
        return np.nan
    return float(value) + relaxation.offset


def run_qiskit(qubo: BinaryProgram, reps: int, maxiter: int, shots: int, seed: int) -> dict:
    """qiskit-optimization's QRAO on the QUBO: qubits, seconds, relaxed and rounded energy."""
    from qiskit.circuit.library import efficient_su2
    from qiskit.primitives import StatevectorEstimator, StatevectorSampler
    from qiskit_optimization.algorithms.qrao import (
        MagicRounding,
        QuantumRandomAccessEncoding,
        QuantumRandomAccessOptimizer,
    )
    from qiskit_optimization.minimum_eigensolvers import VQE
    from qiskit_optimization.optimizers import COBYLA

    t0 = perf_counter()
    qp = to_quadratic_program(qubo)
    encoding = QuantumRandomAccessEncoding(max_vars_per_qubit=3)
    encoding.encode(qp)
    ansatz = efficient_su2(encoding.num_qubits, reps=reps, entanglement="linear")
    start = np.random.default_rng(seed).uniform(-0.1, 0.1, ansatz.num_parameters)
    vqe = VQE(
        StatevectorEstimator(), ansatz, COBYLA(maxiter=maxiter, rhobeg=0.5), initial_point=start
    )
    rounding = MagicRounding(StatevectorSampler(default_shots=shots, seed=seed), seed=seed)
    optimizer = QuantumRandomAccessOptimizer(vqe, max_vars_per_qubit=3, rounding_scheme=rounding)
    result = optimizer.solve(qp)
    return {
        "qubits": encoding.num_qubits,
        "time": perf_counter() - t0,
        "relaxed": float(result.relaxed_fval),
        "rounded": float(result.fval),
    }


def run_ours(qubo: BinaryProgram, reps: int, maxiter: int, shots: int, seed: int) -> dict:
    """qbench's qrao on the QUBO (exact backend, magic rounding)."""
    t0 = perf_counter()
    res = qrao.solve(qubo, seed=seed, encoding="3,1", reps=reps, maxiter=maxiter, shots=shots)
    return {
        "qubits": res.info["n_qubits"],
        "time": perf_counter() - t0,
        "relaxed": res.info["relaxed_energy"],
        "rounded": res.info["rounded_objective"],
    }


def qrao_vs_qiskit(
    instances: Sequence[str | tuple[str, BinaryProgram]] = INSTANCES,
    *,
    reps: int = 1,
    maxiter: int = 200,
    shots: int = 1024,
    seed: int = 0,
    max_qiskit_qubits: int = 16,
) -> pd.DataFrame:
    """One run of ours and of qiskit-optimization's QRAO per instance (a spec or (name, QUBO))."""
    rows = []
    for item in instances:
        name, qubo = (item, qubo_of_spec(item)) if isinstance(item, str) else item
        relaxation = qrao.relax(qubo, "3,1")
        n = relaxation.qrac.n_qubits
        print(f"{name}: N={qubo.n_vars}, {n} qubits", file=sys.stderr, flush=True)
        ours = run_ours(qubo, reps, maxiter, shots, seed)
        theirs = (
            run_qiskit(qubo, reps, maxiter, shots, seed)
            if n <= max_qiskit_qubits
            else dict.fromkeys(("qubits", "time", "relaxed", "rounded"), np.nan)
        )
        rows.append(
            {
                "instance": name,
                "N": qubo.n_vars,
                "qubits_ours": ours["qubits"],
                "qubits_theirs": theirs["qubits"],
                "time_ours_s": ours["time"],
                "time_theirs_s": theirs["time"],
                "ratio": theirs["time"] / ours["time"],
                "compression": qubo.n_vars / n,
                "relaxed_ground": relaxed_ground(relaxation) if n <= GROUND_MAX_QUBITS else np.nan,
                "relaxed_ours": ours["relaxed"],
                "relaxed_theirs": theirs["relaxed"],
                "rounded_ours": ours["rounded"],
                "rounded_theirs": theirs["rounded"],
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maxiter", type=int, default=200)
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-qiskit-qubits", type=int, default=16)
    args = parser.parse_args()
    table = qrao_vs_qiskit(
        INSTANCES,
        reps=args.reps,
        maxiter=args.maxiter,
        shots=args.shots,
        seed=args.seed,
        max_qiskit_qubits=args.max_qiskit_qubits,
    )
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
