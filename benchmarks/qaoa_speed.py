"""Seconds per QAOA energy evaluation: the in-house exact engine vs QOKit's C simulator and Aer.

Usage: ``python benchmarks/qaoa_speed.py [--quick] [--min-n 8] [--max-n 26] [--p 1 2]
[--qokit-python PY]``.

Workload: a dense random QUBO (all n(n−1)/2 couplings) on n qubits, QAOA with the X mixer,
random angles. Methods, each timed as the minimum over ``--repeat`` evaluations after one
warm-up (numba compilation, transpilation and cost vectors are done beforehand, once):

1. ``exact`` — :class:`qbench.hardware.exact.ExactBackend` (numba blocked kernels);
2. ``QOKit`` — QOKit's C simulator (``choose_simulator(name="c")``, its fastest CPU one) on
   the same cost vector, run by ``--qokit-python`` (a Python where ``pip install qokit`` was
   done: QOKit pins its own qiskit, so it lives in its own environment). QOKit's wheel ships
   the C sources without their headers and without ``libcsim.so``; the worker builds it from
   QOKit's repository sources (``--qokit-src``, the folder with ``fur.h``) with
   ``gcc -O3 -march=native -fopenmp`` (QOKit's makefile uses no -O flag: this build is the
   faster one). Without ``--qokit-python`` the column says "not run".
3. ``exact numpy`` — the same backend with ``engine="numpy"`` (n <= 22);
4. ``Aer sv`` — ``AerSimulator(method="statevector")`` running qiskit's
   ``qaoa_ansatz(SparsePauliOp)`` (transpiled once) with ``save_statevector``: bind, run,
   then ``Σ|ψ|²·cost`` with the precomputed cost vector;
5. ``Aer EstimatorV2`` — ``qiskit_aer.primitives.EstimatorV2`` on the transpiled circuit and the
   SparsePauliOp. Aer columns are skipped once their predicted time (last time × 4 per 2
   qubits) exceeds ``--budget`` seconds (default 30).

All energies are cross-checked (the largest difference to ``exact`` is printed). One "sweep" is
the time of one elementwise complex multiply over the 2ⁿ state (``np.multiply(a, b, out=a)``,
complex128, measured in the same run); the table gives the exact engine's cost in sweeps per
QAOA layer. The machine's load average is printed before and after. Targets: ≤ 4 sweeps per
layer at n ≥ 22, ≥ 3× QOKit at n = 22–26 and ahead of it at every n ≥ 8.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
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


#: run by ``--qokit-python``: build QOKit's C simulator if missing, then time it on the cost
#: vector saved by the parent (QOKit's phase is exp(−iγC/2), so it gets 2γ)
QOKIT_WORKER = r"""
import json, os, subprocess, sys, time
import numpy as np
from qokit.fur.c.csim import libpath
if not libpath.libpath.is_file():
    src = sys.argv[2]
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-I", src,
                    *[os.path.join(src, f) for f in ("fur.c", "qaoa_fur.c", "diagonal.c")],
                    "-o", str(libpath.libpath), "-lm"], check=True)
from qokit.fur import choose_simulator
d = np.load(sys.argv[1])
sim = choose_simulator(name="c")(int(d["n"]), costs=d["cost"])
gammas, betas, repeat = 2 * d["gammas"], d["betas"], int(d["repeat"])
run = lambda: sim.get_expectation(sim.simulate_qaoa(gammas, betas))
e = run()
best = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter()
    e = run()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"t": best, "e": float(e)}))
"""


def qokit_time(
    python: str, src: str, n: int, cost: np.ndarray, params: np.ndarray, p: int, repeat: int
) -> tuple[float, float]:
    """(seconds, energy) of QOKit's C simulator, in the Python given by ``--qokit-python``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "qaoa.npz")
        np.savez(data, n=n, cost=cost, gammas=params[:p], betas=params[p:], repeat=repeat)
        out = subprocess.run(
            [python, "-c", QOKIT_WORKER, data, src], capture_output=True, text=True, check=True
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["t"], result["e"]


def fmt(t: float | None) -> str:
    return "skipped" if t is None else f"{t:.4g}"


def ratio(t: float | None, ref: float) -> str:
    return "—" if t is None else f"{t / ref:.1f}×"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 20")
    parser.add_argument("--min-n", type=int, default=8)
    parser.add_argument("--max-n", type=int, default=26)
    parser.add_argument("--p", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per evaluation")
    parser.add_argument("--qokit-python", default=os.environ.get("QOKIT_PYTHON"))
    parser.add_argument("--qokit-src", default=os.environ.get("QOKIT_SRC", ""))
    args = parser.parse_args(argv)
    max_n = 20 if args.quick else args.max_n
    exact = ExactBackend()
    exact_np = ExactBackend(engine="numpy")
    print(f"# QAOA energy evaluation, dense random QUBO, {os.cpu_count()} CPUs")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print()
    print(
        "| n | p | exact (s) | QOKit C (s) | exact numpy (s) | Aer sv (s) | Aer EstimatorV2 (s) "
        "| QOKit/exact | numpy/exact | Aer sv/exact | Aer Est/exact | sweep (s) "
        "| sweeps/layer | max |ΔE| |"
    )
    print("|---" * 14 + "|")
    last = {"sv": None, "est": None}
    for n in range(args.min_n, max_n + 1, 2):
        qubo = dense_qubo(n)
        cost = cost_vector(qubo)
        sweep = sweep_time(n)
        for p in args.p:
            ansatz = QAOAAnsatz(qubo, p=p)
            params = np.random.default_rng(n).uniform(-0.5, 0.5, 2 * p)
            rep = args.repeat
            t_exact, e_exact = best_of(rep, lambda a=ansatz, x=params: exact.expectation(a, x))
            energies = []
            t_qk = None
            if args.qokit_python:
                t_qk, e_qk = qokit_time(args.qokit_python, args.qokit_src, n, cost, params, p, rep)
                energies.append(e_qk)
            t_np = None
            if n <= 22:
                t_np, e_np = best_of(rep, lambda a=ansatz, x=params: exact_np.expectation(a, x))
                energies.append(e_np)
            aer_sv, aer_est = aer_methods(qubo, p)
            times = {}
            for key, fn in (("sv", aer_sv), ("est", aer_est)):
                times[key] = None
                if last[key] is None or last[key] * 4 <= args.budget:
                    times[key], e = best_of(1 if n >= 20 else rep, lambda f=fn, x=params: f(x))
                    energies.append(e)
                    last[key] = times[key] if p == args.p[-1] else last[key]
            diff = max((abs(e - e_exact) for e in energies), default=0.0)
            print(
                f"| {n} | {p} | {fmt(t_exact)} | {fmt(t_qk) if args.qokit_python else 'not run'} "
                f"| {fmt(t_np)} | {fmt(times['sv'])} | {fmt(times['est'])} "
                f"| {ratio(t_qk, t_exact)} | {ratio(t_np, t_exact)} "
                f"| {ratio(times['sv'], t_exact)} "
                f"| {ratio(times['est'], t_exact)} | {sweep:.3g} | {t_exact / sweep / p:.1f} "
                f"| {diff:.1e} |",
                flush=True,
            )
    print()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
