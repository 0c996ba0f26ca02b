"""D-Wave's simulated annealer (``dwave_sa``, dwave-samplers) vs qbench's ``sa`` on shipped
instances, in one run: both on the same penalty QUBO (``--encoder qubo``, auto penalty) with the
same reads and sweeps, and qbench's ``sa`` also on the constrained program itself (its own
penalty, the best feasible read).

Usage: ``python benchmarks/dwave_sa.py [--reads R] [--sweeps S] [--seeds K]``. Prints a Markdown
table: qubits, median wall seconds and median objective over the seeds per configuration, the
time ratio sa/dwave_sa on the QUBO, and the machine's load average before the run. Needs the
``ocean`` extra (``pip install dimod dwave-samplers``).
"""

from __future__ import annotations

import argparse
import os
import statistics
from time import perf_counter

from qbench.pipeline import run

INSTANCES = ("1tc.64", "1dc.64", "1tc.128", "nug12", "tai10a", "hp1", "pet5", "burma14")


def timed(spec: str, solver: str, encoder: str | None, params: dict, seed: int) -> tuple:
    t0 = perf_counter()
    row = run(spec, solver, params, seed=seed, encoder=encoder)
    seconds = perf_counter() - t0
    value = row["objective"] if row["status"] == "ok" else float("nan")
    return seconds, value, row["n_qubits"] or row["n_vars"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=64)
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    params = {"num_reads": args.reads, "num_sweeps": args.sweeps}
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); "
          f"{args.reads} reads x {args.sweeps} sweeps, median of {args.seeds} seeds")  # fmt: skip
    print()
    print("| instance | qubits | dwave_sa s | dwave_sa obj | sa (QUBO) s | sa (QUBO) obj | "
          "time sa/dwave_sa | sa (constrained) s | sa (constrained) obj |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for spec in INSTANCES:
        cells = {}
        for name, solver, encoder in (
            ("dwave", "dwave_sa", "qubo"), ("sa_qubo", "sa", "qubo"), ("sa", "sa", None),
        ):  # fmt: skip
            runs = [timed(spec, solver, encoder, params, seed) for seed in range(args.seeds)]
            cells[name] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
                runs[0][2],
            )
        d, q, c = cells["dwave"], cells["sa_qubo"], cells["sa"]
        print(f"| {spec} | {d[2]} | {d[0]:.2f} | {d[1]:g} | {q[0]:.2f} | {q[1]:g} | "
              f"{q[0] / d[0]:.1f}x | {c[0]:.2f} | {c[1]:g} |")  # fmt: skip


if __name__ == "__main__":
    main()
