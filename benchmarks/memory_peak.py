"""Peak memory of whole variational solves, in bytes per amplitude, against the memory model.

Usage: ``python benchmarks/memory_peak.py [--n 18 20 22] [--solvers qaoa cvar_qaoa vqe ...]
[--dtypes complex128 complex64] [--backends exact exact-numpy aer_statevector aer_shots]
[--limit-gib 4]`` (``exact-numpy``: the exact backend forced onto its numpy engine).

Every (solver, backend, dtype, n) runs in a fresh subprocess (``--one``) so that peaks do not
mix: the solver first runs once at n = 16 (numba compilation, Aer and qiskit imports, their
caches), then the QUBO is built, the peak resident set (VmHWM) is reset through
``/proc/self/clear_refs`` and tracemalloc is started, and one solve runs (optimisation with a
small ``maxiter`` and the full read-out of ``Run.finish``). Reported per 2ⁿ amplitudes:

* ``traced`` — tracemalloc's peak: every numpy (and Python) allocation, not Aer's C++ memory;
* ``rss`` — VmHWM minus the resident set before the solve: the real net peak, Aer included;
* ``model`` — what the memory model states for this run (:func:`qbench.hardware.exact.
  required_bytes` with the ansatz kind, the solver's objective and the dtype, or the Aer
  backends' ``fit``); the checks themselves, not told the objective, state the larger of the
  expectation and CVaR figures of the kind.

Runs whose predicted peak (``--per-amp`` bytes per amplitude) exceeds ``--limit-gib`` are
skipped, so the script never takes more than that much memory.

Workloads: a dense random QUBO on n variables; qaoa/cvar_qaoa p = 1; vqe/cvar_vqe
efficient_su2 reps = 1; pce on 30 variables with ``n_qubits`` = n, depth 1; qrao on a chain of
3n variables (3 per qubit: n qubits), reps = 1. The exact backend's dtype is set by patching
its constructor's default (solvers take no dtype option).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import scipy.sparse as sp

from qbench.program import BinaryProgram

SOLVERS = ("qaoa", "cvar_qaoa", "vqe", "cvar_vqe", "pce", "qrao")
KINDS = {"qaoa": "qaoa", "cvar_qaoa": "qaoa", "vqe": "circuit", "cvar_vqe": "circuit",
         "pce": "pauli", "qrao": "pauli"}  # fmt: skip
OBJECTIVE = {"cvar_qaoa": "cvar", "cvar_vqe": "cvar"}  # the others: the expectation


#: the warm-up's qubits: at the numba engine's and Aer's parallel threshold (20; below it the
#: serial kernels run), so the measured solve loads no kernel, library or thread pool of its own
WARM_N = 20
#: glibc: every allocation above 64 KiB is mmapped and unmapped when freed (no dynamic mmap
#: threshold), so at small n freed arrays leave the resident set as they do at large n
ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}


def chain_qubo(n: int) -> BinaryProgram:
    """A random QUBO on a chain of n variables (QRAO packs 3 per qubit: n/3 qubits)."""
    rng = np.random.default_rng(n)
    return BinaryProgram(
        linear=rng.normal(size=n),
        quadratic=sp.diags(rng.normal(size=n - 1), 1, shape=(n, n)).tocsr(),
        constant=1.0,
        name=f"chain-n{n}",
    )


def _status(key: str) -> int:
    """A /proc/self/status field in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def solve_call(solver: str, n: int, dtype: str, backend: str, maxiter: int):
    """(function running one solve, its target) for the workload of ``solver`` on n qubits."""
    from qaoa_speed import dense_qubo  # a sibling benchmark: the same seeded dense QUBOs

    from qbench.solvers.registry import get_solver

    params: dict = {"maxiter": maxiter, "backend": backend}
    if solver in ("qaoa", "cvar_qaoa"):
        params["p"] = 1
        target = dense_qubo(n)
    elif solver in ("vqe", "cvar_vqe"):
        params["reps"] = 1
        target = dense_qubo(n)
    elif solver == "pce":
        params.update(n_qubits=n, depth=1, restarts=1)
        target = dense_qubo(30)
    else:
        params["reps"] = 1
        target = chain_qubo(3 * n)
    fn = get_solver(solver).solve
    return (lambda: fn(target, seed=7, **params)), target


def use_exact(dtype: str, engine: str | None) -> None:
    """Make every ExactBackend built from now on simulate in ``dtype`` on ``engine`` (solvers
    take no backend dtype option)."""
    from qbench.hardware.exact import ExactBackend

    init = ExactBackend.__init__

    def patched(self, **options) -> None:
        options.setdefault("dtype", dtype)
        options.setdefault("engine", engine)
        init(self, **options)

    ExactBackend.__init__ = patched


def split_backend(backend: str) -> tuple[str, str | None]:
    """("exact", "numpy") for "exact-numpy" (the exact backend forced onto an engine)."""
    name, _, engine = backend.partition("-")
    return name, engine or None


def measure_one(solver: str, n: int, dtype: str, backend: str, maxiter: int) -> dict:
    """Net peaks (traced and RSS) of one solve in this process, after a warm-up at n = WARM_N."""
    backend, engine = split_backend(backend)
    use_exact(dtype, engine)
    warm, _ = solve_call(solver, WARM_N, dtype, backend, 2)
    warm()
    run, target = solve_call(solver, n, dtype, backend, maxiter)
    del warm
    gc.collect()
    base = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    tracemalloc.start()
    result = run()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    hwm = _status("VmHWM")
    size = 1 << n
    return {
        "solver": solver,
        "backend": backend + (f"-{engine}" if engine else ""),
        "dtype": dtype,
        "n": n,
        "traced": traced / size,
        "rss": (hwm - base) / size,
        "model": model_bytes(solver, n, dtype, backend, engine) / size,
        "objective": float(result.objective),
    }


def model_bytes(solver: str, n: int, dtype: str, backend: str, engine: str | None = None) -> int:
    """What the backend's memory check states for this run."""
    from qbench.hardware import backend_class

    if backend == "exact":
        from qbench.hardware.exact import required_bytes

        objective = OBJECTIVE.get(solver, "expectation")
        try:
            return required_bytes(n, dtype, engine, kind=KINDS[solver], objective=objective)
        except TypeError:  # the model before it knew the ansatz kind
            return required_bytes(n, dtype, engine, circuit=KINDS[solver] != "qaoa")
    return backend_class(backend).fit(backend, n, KINDS[solver], None)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[18, 20, 22])
    ap.add_argument("--solvers", nargs="+", default=list(SOLVERS))
    ap.add_argument("--dtypes", nargs="+", default=["complex128", "complex64"])
    ap.add_argument("--backends", nargs="+", default=["exact"])
    ap.add_argument("--maxiter", type=int, default=3)
    ap.add_argument("--limit-gib", type=float, default=4.0)
    ap.add_argument("--per-amp", type=float, default=130.0, help="bytes/amplitude to predict")
    ap.add_argument("--one", nargs=5, metavar=("SOLVER", "N", "DTYPE", "BACKEND", "MAXITER"))
    args = ap.parse_args()
    if args.one:
        solver, n, dtype, backend, maxiter = args.one
        print(json.dumps(measure_one(solver, int(n), dtype, backend, int(maxiter))))
        return
    print(f"{'solver':10} {'backend':16} {'dtype':10} {'n':>3} {'traced':>7} {'rss':>7} "
          f"{'model':>7}   (bytes per amplitude)")  # fmt: skip
    for backend in args.backends:
        for solver in args.solvers:
            dtypes = args.dtypes if backend.startswith("exact") else ["complex128"]
            for dtype in dtypes:
                for n in args.n:
                    if args.per_amp * (1 << n) > args.limit_gib * (1 << 30):
                        print(f"{solver:10} {backend:16} {dtype:10} {n:3} skipped (limit)")
                        continue
                    cmd = [sys.executable, __file__, "--one", solver, str(n), dtype, backend,
                           str(args.maxiter)]  # fmt: skip
                    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
                    if out.returncode:
                        print(f"{solver:10} {backend:16} {dtype:10} {n:3} failed: "
                              f"{out.stderr.strip().splitlines()[-1]}")  # fmt: skip
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    print(f"{solver:10} {backend:16} {dtype:10} {n:3} {r['traced']:7.1f} "
                          f"{r['rss']:7.1f} {r['model']:7.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
