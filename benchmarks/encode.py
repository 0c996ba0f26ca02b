"""Time to build the QUBO and its full cost vector: qbench vs the qiskit-optimization route.

Usage: ``python benchmarks/encode.py [--quick] [--sizes 16,20,24,28] [--budget S]``.

Workloads whose QUBO has exactly n qubits: ``mis`` (G(n, 0.3) graphs: every edge row is an
``x_u + x_v <= 1`` pattern, so no slack) and ``dense`` (an unconstrained QUBO with all n(n−1)/2
couplings). qbench: ``encoders.qubo.encode`` + ``encoders.ising.cost_vector`` (float64).
qiskit: ``QuadraticProgramToQubo().convert`` + ``to_ising`` + the diagonal of the operator via
``SparsePauliOp.to_matrix(sparse=True).diagonal()`` (its fastest route to all 2ⁿ energies; a
dense matrix would need 4ⁿ entries). Both start from their own model object (BinaryProgram /
QuadraticProgram, built beforehand). The reference is skipped (marked "skipped") once its
predicted time (last time × 2^Δn × term growth) exceeds ``--budget`` seconds or its sparse
matrix (≈ 32 bytes per state) would not fit in half the available memory. Where both ran, the
largest absolute difference of the two cost vectors is reported. qbench times are the minimum
over ``--repeat`` runs (default 3; "qbench cold" is the first run, whose time includes the
kernel's first-touch page faults of the fresh 2ⁿ vector); qiskit runs ``--qiskit-repeat``
times (default 1, its large sizes take tens of seconds); the speed-up compares the cold
qbench total with qiskit's, so neither side gains from a warm allocator.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from time import perf_counter

import numpy as np
import scipy.sparse as sp

from qbench.encoders import qubo
from qbench.encoders.ising import cost_vector
from qbench.encoders.reference import to_quadratic_program
from qbench.memory import available_memory
from qbench.problems.mis import MIS
from qbench.program import BinaryProgram

FULL_SIZES = (16, 20, 24, 26, 28)
QUICK_SIZES = (16, 18, 20)
#: bytes per basis state of qiskit's sparse diagonal matrix (complex128 data, indices, indptr)
SPARSE_BYTES_PER_STATE = 32


def mis_program(n: int) -> BinaryProgram:
    return MIS.generate(seed=n, n=n, model="gnp", p=0.3).program


def dense_program(n: int) -> BinaryProgram:
    rng = np.random.default_rng(n)
    return BinaryProgram(
        linear=rng.integers(-50, 51, size=n),
        quadratic=sp.csr_matrix(np.triu(rng.integers(-50, 51, size=(n, n)), k=1)),
        sense="min",
        name=f"dense-n{n}",
    )


WORKLOADS: dict[str, Callable[[int], BinaryProgram]] = {"mis": mis_program, "dense": dense_program}


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object, float]:
    """Minimum wall time over ``repeat`` calls, the last result and the first (cold) time."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        start = perf_counter()
        result = fn()
        times.append(perf_counter() - start)
    return min(times), result, times[0]


def ours(program: BinaryProgram, repeat: int) -> tuple[float, float, float, np.ndarray, int]:
    """(build, cost vector, cold total) seconds, the cost vector and the qubit count."""
    t_build, enc, cold_build = best_of(repeat, lambda: qubo.encode(program))
    t_cost, cost, cold_cost = best_of(repeat, lambda: cost_vector(enc.qubo))
    return t_build, t_cost, cold_build + cold_cost, cost, enc.n_qubits


def qiskit_route(program: BinaryProgram, repeat: int) -> tuple[float, float, float, np.ndarray]:
    from qiskit_optimization.converters import QuadraticProgramToQubo

    qp = to_quadratic_program(program)
    t_convert, qubo_qp, _ = best_of(repeat, lambda: QuadraticProgramToQubo().convert(qp))
    t_ising, (op, offset), _ = best_of(repeat, qubo_qp.to_ising)
    t_diag, diag, _ = best_of(repeat, lambda: op.to_matrix(sparse=True).diagonal().real + offset)
    return t_convert, t_ising, t_diag, diag


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "skipped"
    return f"{seconds:.3f}" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--sizes", default=None, help="comma-separated qubit counts")
    parser.add_argument("--budget", type=float, default=60.0, help="qiskit seconds per size")
    parser.add_argument("--repeat", type=int, default=3, help="qbench runs per size (minimum)")
    parser.add_argument("--qiskit-repeat", type=int, default=1, help="qiskit runs per size")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    cost_vector(dense_program(20))  # warm-up: imports, allocator
    print(
        "| workload | n | qubits | qbench build | qbench cost vector | qbench total | qbench cold "
        "| qiskit convert | qiskit to_ising | qiskit diagonal | qiskit total | speed-up "
        "| max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for workload, make in WORKLOADS.items():
        last: tuple[int, float, int] | None = None  # (n, qiskit total, number of terms)
        for n in sizes:
            program = make(n)
            t_build, t_cost, cold, cost, n_qubits = ours(program, args.repeat)
            terms = n + program.quadratic.nnz + program.n_constraints
            predicted = None
            if last is not None:
                predicted = last[1] * 2 ** (n - last[0]) * terms / last[2]
            memory = available_memory()
            fits = memory is None or SPARSE_BYTES_PER_STATE * 2**n < memory / 2
            if fits and (predicted is None or predicted <= args.budget):
                t_convert, t_ising, t_diag, diag = qiskit_route(program, args.qiskit_repeat)
                q_total = t_convert + t_ising + t_diag
                diff = float(np.abs(diag - cost).max())
                worst = max(worst, diff / max(1.0, float(np.abs(diag).max())))
                last = (n, q_total, terms)
                del diag
            else:
                t_convert = t_ising = t_diag = q_total = None
                diff = None
            total = t_build + t_cost
            ratio = f"{q_total / cold:.1f}×" if q_total is not None else "—"
            print(
                f"| {workload} | {n} | {n_qubits} | {fmt(t_build)} | {fmt(t_cost)} | {fmt(total)} "
                f"| {fmt(cold)} "
                f"| {fmt(t_convert)} | {fmt(t_ising)} | {fmt(t_diag)} | {fmt(q_total)} | {ratio} "
                f"| {'—' if diff is None else f'{diff:.1e}'} |",
                flush=True,
            )
            del cost
    print(f"\nlargest relative difference of the cost vectors: {worst:.1e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
