"""Seconds per QAOA energy evaluation: the in-house exact engine vs Aer.

Usage: ``python benchmarks/qaoa_speed.py [--quick] [--max-n 26] [--min-n 12] [--p 2]``.

Workload: a dense random QUBO (all n(n−1)/2 couplings) on n qubits, QAOA with the X mixer,
p = 2, random angles. Methods, each timed as the minimum over ``--repeat`` evaluations after
one warm-up (numba compilation, transpilation and cost vector are done beforehand, once):

1. ``exact`` — :class:`qbench.hardware.exact.ExactBackend` (numba blocked kernels);
2. ``exact numpy`` — the same backend with ``engine="numpy"``;
3. ``Aer sv`` — ``AerSimulator(method="statevector")`` running qiskit's
   ``qaoa_ansatz(SparsePauliOp)`` (transpiled once) with ``save_statevector``: bind, run,
   then ``Σ|ψ|²·cost`` with the precomputed cost vector;
4. ``Aer EstimatorV2`` — ``qiskit_aer.primitives.EstimatorV2`` on the transpiled circuit and the
   SparsePauliOp; skipped (marked "skipped") once its predicted time (last time × 4 per 2
   qubits) exceeds ``--budget`` seconds (default 60).

All energies are cross-checked (the largest difference to ``exact`` is printed). One "sweep" is
the time of one elementwise complex multiply over the 2ⁿ state (``np.multiply(a, b, out=a)``,
complex128, measured in the same run); the table gives the exact engine's cost in sweeps per
QAOA layer. Targets: ≥ 20× faster than Aer EstimatorV2 at n = 22, ≤ 4 sweeps per layer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from time import perf_counter

import numpy as np
import scipy.sparse as sp

from qbench.encoders.ising import cost_vector, to_ising
from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.exact import ExactBackend
from qbench.program import BinaryProgram


def dense_qubo(n: int) -> BinaryProgram:
    """A dense random QUBO (seeded by n)."""
    rng = np.random.default_rng(n)
    return BinaryProgram(
        linear=rng.normal(size=n),
        quadratic=sp.csr_matrix(np.triu(rng.normal(size=(n, n)), k=1)),
        constant=1.0,
        name=f"dense-n{n}",
    )


def best_of(repeat: int, fn: Callable[[], float]) -> tuple[float, float]:
    """Minimum wall time over ``repeat`` calls (after one warm-up) and the last value."""
    value = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = perf_counter()
        value = fn()
        best = min(best, perf_counter() - t0)
    return best, value


def sweep_time(n: int, repeat: int = 3) -> float:
    """Seconds of one elementwise complex128 multiply over 2ⁿ amplitudes (in place)."""
    a = np.full(1 << n, 1 + 0j)
    b = np.full(1 << n, np.exp(0.1j))
    return best_of(repeat, lambda: float(np.multiply(a, b, out=a)[0].real))[0]


def aer_methods(qubo: BinaryProgram, p: int) -> tuple[Callable, Callable]:
    """Energy functions (params in our layout) for Aer statevector and Aer EstimatorV2."""
    from qiskit import transpile
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import EstimatorV2

    op, offset = to_ising(qubo)
    qc = qaoa_ansatz(op, reps=p)  # parameters sorted by name: β[0..p-1], γ[0..p-1]
    sim = AerSimulator(method="statevector")
    with_save = qc.copy()
    with_save.save_statevector()
    tqc_sv = transpile(with_save, sim)
    tqc = transpile(qc, sim)
    cost = cost_vector(qubo)
    estimator = EstimatorV2()

    def reorder(params: np.ndarray) -> np.ndarray:
        return np.concatenate([params[p:], params[:p]])

    def aer_sv(params: np.ndarray) -> float:
        bound = tqc_sv.assign_parameters(reorder(params))
        state = np.asarray(sim.run(bound).result().get_statevector())
        return float(np.dot(state.real**2 + state.imag**2, cost))

    def aer_est(params: np.ndarray) -> float:
        (res,) = estimator.run([(tqc, op, reorder(params))]).result()
        return float(res.data.evs) + offset

    return aer_sv, aer_est


def fmt(t: float | None) -> str:
    return "skipped" if t is None else f"{t:.4g}"


def ratio(t: float | None, ref: float) -> str:
    return "—" if t is None else f"{t / ref:.1f}×"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 20")
    parser.add_argument("--min-n", type=int, default=12)
    parser.add_argument("--max-n", type=int, default=26)
    parser.add_argument("--p", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per evaluation")
    args = parser.parse_args(argv)
    max_n = 20 if args.quick else args.max_n
    p = args.p
    exact = ExactBackend()
    exact_np = ExactBackend(engine="numpy")
    print(f"# QAOA energy evaluation, dense random QUBO, p = {p}, {os.cpu_count()} CPUs")
    print()
    print(
        "| n | exact (s) | exact numpy (s) | Aer sv (s) | Aer EstimatorV2 (s) "
        "| numpy/exact | Aer sv/exact | Aer Est/exact | sweep (s) | sweeps/layer | max |ΔE| |"
    )
    print("|---" * 11 + "|")
    est_last: float | None = None
    for n in range(args.min_n, max_n + 1, 2):
        qubo = dense_qubo(n)
        ansatz = QAOAAnsatz(qubo, p=p)
        params = np.random.default_rng(n).uniform(-0.5, 0.5, 2 * p)
        t_exact, e_exact = best_of(args.repeat, lambda a=ansatz, x=params: exact.expectation(a, x))
        t_np, e_np = best_of(args.repeat, lambda a=ansatz, x=params: exact_np.expectation(a, x))
        aer_sv, aer_est = aer_methods(qubo, p)
        t_sv, e_sv = best_of(args.repeat, lambda f=aer_sv, x=params: f(x))
        energies = [e_np, e_sv]
        t_est = None
        if est_last is None or est_last * 4 <= args.budget:
            t_est, e_est = best_of(1 if n >= 22 else args.repeat, lambda f=aer_est, x=params: f(x))
            energies.append(e_est)
            est_last = t_est
        sweep = sweep_time(n)
        diff = max(abs(e - e_exact) for e in energies)
        print(
            f"| {n} | {fmt(t_exact)} | {fmt(t_np)} | {fmt(t_sv)} | {fmt(t_est)} "
            f"| {ratio(t_np, t_exact)} | {ratio(t_sv, t_exact)} | {ratio(t_est, t_exact)} "
            f"| {sweep:.3g} | {t_exact / sweep / p:.1f} | {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
