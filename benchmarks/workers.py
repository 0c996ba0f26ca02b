"""A QAOA suite with 1 and 2 workers: threads shared between workers vs every worker on all cores.

Usage: ``python benchmarks/workers.py [--n 20] [--p 2 3] [--seeds 3] [--maxiter 40]
[--workers 1 2] [--no-cap] [--spin]``.

Workload: a suite written to a temporary folder — QAOA with the exact backend (numba kernels,
parallel from n = 20) on a generated MIS graph and a generated MDKP, both through the
``unbalanced`` encoder (no slack qubits: ``--n`` qubits each), at each ``--p``, with ``--seeds``
seeds and ``--maxiter`` optimiser evaluations; 12 runs, 36 s with one worker on this project's
2-core machine (load average 4: other processes; results in :mod:`qbench.threads`).

Each row runs the whole suite in a fresh Python process (``--one``) through
:func:`qbench.runner.run_suite`, so no row inherits another's threads or caches:

* ``workers=1`` — inline, the whole thread budget (all usable cores);
* ``workers=N capped`` — the default: every forked worker gets ``cores // N`` threads
  (:mod:`qbench.threads`);
* ``workers=N uncapped`` (``--no-cap``) — ``QBENCH_THREADS = cores × N``, so every worker
  keeps all cores, as before the cap: N × cores busy threads on the cores;
* ``... spin`` (``--spin``) — uncapped and with GNU libgomp's default spinning waits
  (``GOMP_SPINCOUNT=300000``; qbench sets passive waits otherwise): the old behaviour.

Columns: wall time of ``run_suite``; CPU seconds of that process and its workers (user +
system, from ``getrusage``); the ratio of the wall time to the ``workers=1`` row of the same
invocation; the sum of the runs' own ``time_total_s``; the 1-minute load average before and
after the row (other processes on the machine count: read the ratios with it); the threads each
worker ran with, as observed inside the workers (``thread_budget()`` / numba's
``get_num_threads()``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

SUITE = """name = "workers-bench"
out = "{out}"
seeds = {seeds}
instances = ["mis:n={n},p=0.3,seed=1", "mdkp:n={n},m=2,seed=1"]

[[solvers]]
name = "qaoa"
encoders = ["unbalanced"]
backend = "exact"
p = {p}
maxiter = {maxiter}
"""


def write_suite(folder: Path, args: argparse.Namespace) -> Path:
    """The benchmark suite as a TOML file in ``folder``."""
    path = folder / "workers-bench.toml"
    path.write_text(
        SUITE.format(
            out=folder / "unused",
            seeds=list(range(args.seeds)),
            n=args.n,
            p=list(args.p),
            maxiter=args.maxiter,
        )  # fmt: skip
    )
    return path


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one(suite: str, out: str, workers: int) -> None:
    """Run the suite once (this process is the coordinator) and print one JSON line."""
    import numba

    from qbench import runner
    from qbench.suite import load_suite
    from qbench.threads import thread_budget

    real = runner.execute_config
    seen = Path(out) / "threads.jsonl"
    Path(out).mkdir(parents=True, exist_ok=True)

    def observed(cfg, suite_name):  # runs in the worker (forked children inherit the patch)
        with seen.open("a") as f:
            f.write(json.dumps([thread_budget(), numba.get_num_threads()]) + "\n")
        return real(cfg, suite_name)

    runner.execute_config = observed
    loaded = load_suite(suite, out=Path(out) / "store")
    t0, c0 = perf_counter(), cpu_seconds()
    df = runner.run_suite(loaded, workers=workers, progress=False)
    wall, cpu = perf_counter() - t0, cpu_seconds() - c0
    threads = sorted({tuple(json.loads(line)) for line in seen.read_text().splitlines()})
    print(json.dumps({
        "wall": wall, "cpu": cpu, "runs": len(df), "ok": int((df["status"] == "ok").sum()),
        "run_sum": float(df["time_total_s"].sum()), "threads": threads,
    }))  # fmt: skip


def row(suite: Path, folder: Path, workers: int, mode: str) -> dict:
    """One row: the suite in a fresh process with ``workers`` workers, ``mode`` capped /
    uncapped / spin."""
    env = dict(os.environ)
    cores = len(os.sched_getaffinity(0))
    env.pop("QBENCH_THREADS", None)
    if mode in ("uncapped", "spin"):
        env["QBENCH_THREADS"] = str(cores * workers)  # each worker's share: all cores
    if mode == "spin":
        env["GOMP_SPINCOUNT"] = "300000"  # libgomp's default spin before sleeping
    out = folder / f"w{workers}-{mode}"
    load_before = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(suite), str(out), str(workers)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    load_after = os.getloadavg()[0]
    if done.returncode != 0:
        raise SystemExit(f"row workers={workers} {mode} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(workers=workers, mode=mode, load_before=load_before, load_after=load_after)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("SUITE", "OUT", "WORKERS"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--n", type=int, default=20, help="qubits of each instance")
    parser.add_argument("--p", type=int, nargs="+", default=[2, 3], help="QAOA depths")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--maxiter", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    uncapped = "also run multi-worker rows uncapped (each worker on all cores)"
    parser.add_argument("--no-cap", action="store_true", help=uncapped)
    spin = "also run them uncapped with libgomp's default spinning waits"
    parser.add_argument("--spin", action="store_true", help=spin)
    args = parser.parse_args(argv)
    if args.one:
        one(args.one[0], args.one[1], int(args.one[2]))
        return
    cores = len(os.sched_getaffinity(0))
    print(f"# QAOA suite (exact backend, n = {args.n}, p = {args.p}, {args.seeds} seeds, "
          f"maxiter {args.maxiter}) on {cores} usable cores", flush=True)  # fmt: skip
    print()
    print("| workers | threads | wall (s) | × workers=1 | CPU (s) | Σ run time (s) | runs ok "
          "| load before | load after | threads per worker (budget / numba) |")  # fmt: skip
    print("|---" * 10 + "|", flush=True)
    with tempfile.TemporaryDirectory(prefix="qbench-workers-") as tmp:
        folder = Path(tmp)
        suite = write_suite(folder, args)
        base = None
        for workers in args.workers:
            modes = ["capped"]
            if workers > 1 and args.no_cap:
                modes.append("uncapped")
            if workers > 1 and args.spin:
                modes.append("spin")
            for mode in modes:
                r = row(suite, folder, workers, mode)
                base = r["wall"] if base is None and workers == 1 else base
                ratio = "—" if base is None else f"{r['wall'] / base:.2f}×"
                seen = ", ".join(f"{b} / {n}" for b, n in r["threads"])
                label = "shared" if mode == "capped" else mode
                if workers == 1:
                    label = "all"
                print(f"| {workers} | {label} | {r['wall']:.1f} | {ratio} | {r['cpu']:.1f} "
                      f"| {r['run_sum']:.1f} | {r['ok']}/{r['runs']} | {r['load_before']:.2f} "
                      f"| {r['load_after']:.2f} | {seen} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
