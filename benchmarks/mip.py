"""CBC vs HiGHS wall time of the mip solver on the shipped MDKP, MIS and TSP instances.

Usage: ``python benchmarks/mip.py [--quick] [--repeat N] [--time-limit S]``. Prints a Markdown
table (median wall time over the repeats, the cbc/highs ratio, whether both engines reached the
same objective) and the geometric mean of the ratios.

``python benchmarks/mip.py --overshoot [--time-limit S]`` instead measures how far the whole
``solve`` call runs past ``time_limit`` (default 5 s) on a hard dense MIS like the complement of
the DIMACS graph p_hat300-1 (which is not shipped): the complement of G(300, 0.244).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from time import perf_counter

import networkx as nx

from qbench.problems.base import Problem
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.tsp import TSP
from qbench.solvers import mip

INSTANCES = Path(str(files("qbench.data") / "instances"))
MDKP_NAMES = ("hp1", "hp2", "pb1", "pb2", "pb4", "pb5", "pet2", "pet3", "pet4", "pet5", "pet6")
MDKP_NAMES += ("pet7",)
MIS_NAMES = ("1tc.8", "1tc.16", "1tc.32", "1tc.64", "1et.64", "1dc.64")
TSP_NAMES = ("burma14", "ulysses16", "gr17")
QUICK = {"hp1", "pb5", "pet7", "1tc.64", "1dc.64", "burma14"}


def instances(quick: bool) -> Iterator[tuple[str, Problem]]:
    """The shipped instances (name, problem), read with the problem classes' own readers."""
    groups = (
        (MDKP, "mdkp", ".dat", MDKP_NAMES),
        (MIS, "mis", ".txt", MIS_NAMES),
        (TSP, "tsp", ".tsp", TSP_NAMES),
    )
    for cls, folder, suffix, names in groups:
        for name in names:
            if not quick or name in QUICK:
                yield name, cls.read(INSTANCES / folder / f"{name}{suffix}")


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence native writes to stdout (HiGHS prints a banner from C++ on first use)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def timed(problem: Problem, engine: str, repeat: int, time_limit: float | None):
    """Median wall time of ``repeat`` solves and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = perf_counter()
        result = mip.solve(problem, engine=engine, seed=0, time_limit=time_limit)
        times.append(perf_counter() - start)
    return statistics.median(times), result


def hard_mis(n: int = 300, p: float = 0.244, seed: int = 1) -> MIS:
    """The complement of G(n, p): with the defaults as dense as p_hat300-1's complement (34 000
    edges, a clique cover of about 8 300 rows)."""
    return MIS(nx.complement(nx.gnp_random_graph(n, p, seed=seed)), name=f"co-G({n},{p})")


def overshoot(time_limit: float) -> None:
    """Print each engine's wall time on :func:`hard_mis` against ``time_limit``."""
    problem = hard_mis()
    print("| engine | time_limit | wall_s | overshoot_s | status | objective | bound |")
    print("|---|---|---|---|---|---|---|")
    for engine in mip.ENGINES:
        with quiet_stdout():
            start = perf_counter()
            result = mip.solve(problem, engine=engine, seed=0, time_limit=time_limit)
            wall = perf_counter() - start
        print(
            f"| {engine} | {time_limit:g} | {wall:.2f} | {wall - time_limit:+.2f} "
            f"| {result.status} | {result.objective} | {result.bound} |"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table; returns 1 if the engines disagree anywhere."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 6-instance subset")
    parser.add_argument("--repeat", type=int, default=3, help="solves per engine (median)")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve")
    parser.add_argument(
        "--overshoot", action="store_true", help="wall time past time_limit on a hard dense MIS"
    )
    args = parser.parse_args(argv)
    if args.overshoot:
        overshoot(args.time_limit or 5.0)
        return 0
    rows, ratios, disagree = [], [], False
    for name, problem in instances(args.quick):
        with quiet_stdout():
            cbc_s, cbc = timed(problem, "cbc", args.repeat, args.time_limit)
            highs_s, highs = timed(problem, "highs", args.repeat, args.time_limit)
        same = cbc.objective == highs.objective and cbc.status == highs.status == "optimal"
        disagree |= not same
        ratio = cbc_s / highs_s
        ratios.append(ratio)
        rows.append(
            f"| {name} | {problem.kind} | {problem.n_vars} | {cbc_s:.3f} | {highs_s:.3f} "
            f"| {ratio:.2f} | {'yes' if same else 'no'} |"
        )
    print("| instance | problem | n_vars | cbc_s | highs_s | ratio cbc/highs | objectives equal |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"\nGeometric-mean ratio cbc/highs over {len(ratios)} instances: {geo:.2f}")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
