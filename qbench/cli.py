"""The ``qbench`` command line: every argparse parser and command lives here; the commands call
library code (pipeline, suite, runner, report, tables), which never imports this module.

Every failure the user can cause ends in one line ``qbench: error: ...`` and exit code 2
(bad input) or 1 (a run that was refused or failed); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qbench.errors import ConfigError, QbenchError
from qbench.provenance import qbench_version
from qbench.tables import format_table, format_value

#: the columns `qbench solve` prints (the JSON output carries the whole row)
SOLVE_COLUMNS = (
    "instance", "problem", "n_vars", "encoder", "preprocess", "n_qubits", "solver", "backend",
    "seed",
    "objective", "best_known", "gap_pct", "feasible", "p_feasible", "status", "time_total_s",
)  # fmt: skip


def _key_values(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise QbenchError(f"{what}: expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def cmd_solve(args: argparse.Namespace) -> int:
    from qbench.pipeline import run

    params = _key_values(args.set, "--set")
    if args.backend:
        params["solver.backend"] = args.backend
    if args.dry_run:
        return _solve_dry_run(args, params)
    rows = [
        run(spec, solver=args.solver, params=params, seed=args.seed, encoder=args.encoder,
            repair=args.repair, preprocess=args.preprocess, best_known=args.best_known,
            local_search=getattr(args, "local_search", False))
        for spec in args.specs
    ]  # fmt: skip
    _print_rows(rows, SOLVE_COLUMNS, args.json)
    failed = [r for r in rows if r["status"] == "error"]
    for row in failed:
        print(f"qbench: error: {row['instance']}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0


def _print_rows(rows: list[dict], columns, as_json: bool) -> None:
    """Rows as one JSON object per line, or as a table of ``columns``."""
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
    else:
        print(format_table(rows, columns))


def _solve_dry_run(args: argparse.Namespace, params: dict) -> int:
    """Validate each run and print its qubits, memory and (device backends) estimated usage."""
    from qbench.pipeline import prepare
    from qbench.plan import DRY_RUN_COLUMNS, dry_run_row

    rows = [
        dry_run_row(prepare(spec, args.solver, params, args.seed, args.encoder, args.repair,
                            args.preprocess, local_search=getattr(args, "local_search", False)))
        for spec in args.specs
    ]  # fmt: skip
    _print_rows(rows, DRY_RUN_COLUMNS, args.json)
    return 0 if all(r["fits"] for r in rows) else 1


def cmd_encode(args: argparse.Namespace) -> int:
    from qbench.encoders import get_encoder
    from qbench.spec import load_spec

    problem = load_spec(args.spec)
    encoder = get_encoder(args.encoder)
    params = encoder.parse_params(_key_values(args.set, "--set"))
    summary = {"instance": problem.name or args.spec, "problem": problem.kind}
    encoding = encoder.encode(problem, **params)
    summary.update(encoding.summary())
    output = getattr(args, "output", None)
    if output:  # the QUBO (problem variables, then slack qubits) as a model file
        from qbench.interop import write_program

        fmt = getattr(args, "format", None)
        summary["written"] = str(write_program(encoding.qubo, output, fmt))
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        width = max(map(len, summary))
        for key, value in summary.items():
            shown = value if isinstance(value, list) else format_value(value)
            print(f"{key.ljust(width)}  {shown}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``qbench show DIR RUN_ID``: one stored run's row and its answer (bitstring, final
    parameters, trace, top states); RUN_ID may be a unique prefix."""
    from qbench.store import Store, answer_columns

    with Store(args.dir, create=False) as store:
        rows = [r for r in store.rows() if str(r["run_id"]).startswith(args.run_id)]
        if len(rows) != 1:
            found = ", ".join(str(r["run_id"]) for r in rows[:5]) or "none"
            raise ConfigError(f"run id {args.run_id!r} matches {len(rows)} runs ({found})")
        row = rows[0]
        columns = answer_columns(store.answers().get(row["run_id"]))
    if args.json:
        print(json.dumps({**row, **columns}, default=str))
        return 0
    shown = {k: v for k, v in row.items() if v is not None}
    width = max(map(len, [*shown, *columns]))
    for key, value in shown.items():
        print(f"{key.ljust(width)}  {format_value(value)}")
    for key, value in columns.items():
        if value is None:
            continue
        if key == "trace":
            value = f"{len(value)} evaluations, first {value[0]:.6g}, last {value[-1]:.6g}"
        elif key == "final_params":
            more = f" … ({len(value)} values)" if len(value) > 8 else ""
            value = ", ".join(f"{v:.6g}" for v in value[:8]) + more
        elif key == "top_states":
            value = ", ".join(f"{state} ({prob:.3g})" for state, prob in value[:5])
        print(f"{key.ljust(width)}  {value}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """``qbench prune DIR``: move rows of configurations no longer in the suite to history."""
    from qbench.store import Store

    with Store(args.dir, create=False) as store:
        moved = store.prune()
    print(f"moved {moved} rows of runs no longer in the suite to the store's history")
    return 0


def _solver_facts(solver: Any) -> str:
    """What a solver declares, in words: ``qbench solvers`` prints it under the name."""
    facts = [
        "needs a QUBO (encoder qubo by default)" if solver.needs_qubo else "any target",
        "deterministic" if solver.deterministic else "seeded",
        f"circuit kind {solver.ansatz}" if solver.ansatz else "no circuits",
    ]
    if solver.qubits is not None:
        facts.append("fewer qubits than QUBO bits")
    if solver.inputs is not None:
        facts.append("takes inputs from the original problem")
    return "; ".join(facts)


def _list_components(components, facts=None) -> None:
    """Each component's name, description, ``[facts(component)]`` if given, and parameters."""
    for comp in components:
        print(f"{comp.name}: {comp.description}")
        if facts is not None:
            print(f"    [{facts(comp)}]")
        for p in comp.params:
            choices = f" (one of {', '.join(map(str, p.choices))})" if p.choices else ""
            bounds = f" (in {p.bounds})" if p.bounds else ""
            print(f"    {p.name}={format_value(p.default)}  {p.help}{choices}{bounds}")


def cmd_encoders(args: argparse.Namespace) -> int:
    from qbench.encoders import ENCODERS
    from qbench.params import Component
    from qbench.solvers import get_meta_solver

    _list_components(ENCODERS.values())
    for enc in ENCODERS.values():
        if enc.meta_solver is not None:
            meta = get_meta_solver(enc.meta_solver)
            _list_components([Component(f"{meta.name} (with qbench solve)", meta.params,
                                        "multiplier search around the --solver as inner "
                                        "solver")])  # fmt: skip
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from qbench.problems import generate

    problem = generate(args.problem, **_key_values(args.params, "generate"))
    out = Path(args.output)
    problem.write(out)
    size = ", ".join(f"{k}={v}" for k, v in problem.size().items())
    print(f"wrote {problem.kind} instance {problem.name} ({size}) to {out}")
    return 0


def cmd_instances(args: argparse.Namespace) -> int:
    from qbench.instances import listing

    rows = [r for r in listing() if args.problem in (None, r["problem"])]
    if args.json:
        print(json.dumps(rows))
    else:
        print(format_table(rows, ("name", "problem", "size", "n_vars", "best_known", "source")))
    return 0


def cmd_solvers(args: argparse.Namespace) -> int:
    from qbench.solvers import SOLVERS

    _list_components(SOLVERS.values(), _solver_facts)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``qbench run``: the dry-run table, or run the suite and print its summary."""
    from qbench.plan import DRY_RUN_COLUMNS
    from qbench.runner import run_suite, summary
    from qbench.suite import load_suite

    suite = load_suite(args.suite, out=args.out)
    if args.dry_run:
        rows = suite.dry_run(timeout=args.timeout)
        extra = [k for k in suite.varying_params() if k not in DRY_RUN_COLUMNS]
        extra += ["label"] if any(r.get("label") for r in rows) else []
        at = DRY_RUN_COLUMNS.index("solver") + 1
        print(format_table(rows, [*DRY_RUN_COLUMNS[:at], *extra, *DRY_RUN_COLUMNS[at:]]))
        refused = sum(not r.get("fits", True) for r in rows)
        print(f"{suite.name}: {len(rows)} runs, {refused} would not fit, results -> "
              f"{suite.out}")  # fmt: skip
        return 0
    retry = getattr(args, "retry", None)
    if getattr(args, "retry_errors", False):
        retry = "error,timeout"
    df = run_suite(suite, workers=args.workers, dask=args.dask, timeout=args.timeout, retry=retry)
    if df.empty:
        print(f"{suite.name}: no runs")
        return 0
    counts, table = summary(df)
    print(f"{suite.name}: {len(df)} runs in {suite.out} ("
          + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")  # fmt: skip
    print(format_table(table.to_dict("records"), list(table.columns)))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    """``qbench table DIR``: the aggregated table of a results folder (default grouping:
    problem, instance, solver, encoder and the settings that vary, ``report.default_by``)."""
    from qbench.report import DEFAULT_METRICS, SUCCESS_GAP, load, published, stale_note, table

    metric = args.metric or DEFAULT_METRICS
    gap = getattr(args, "success_gap", None)
    gap = SUCCESS_GAP if gap is None else gap
    source = getattr(args, "published", None)
    paper = published(source) if source else None
    print(table(load(args.dir, gap), args.by or None, metric, args.agg or "mean",
                args.format or "md", success_gap=gap, paper=paper))  # fmt: skip
    note = stale_note(args.dir)
    if note:
        print(note, file=sys.stderr)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """``qbench plot DIR --kind K [-o FILE]``: draw the figure (default ``DIR/K.png``; PNG, PDF
    or SVG by the suffix of FILE)."""
    from qbench.report import CONVERGENCE, KINDS, SUCCESS_GAP, load, plot

    kind, y = args.kind, getattr(args, "y", None)
    if kind == BY_INSTANCE or getattr(args, "published", None):
        return _plot_by_instance(args)
    if kind == CONVERGENCE:
        from qbench.report import plot_convergence

        output = args.output or Path(args.dir) / f"{CONVERGENCE}.png"
        df = load(args.dir, solutions=True)
        print(f"wrote {plot_convergence(df, output, title=getattr(args, 'title', None))}")
        return 0
    if kind is not None and kind not in KINDS:
        raise ConfigError(
            f"unknown plot kind {kind!r}; allowed: {', '.join([*KINDS, BY_INSTANCE, CONVERGENCE])}"
        )
    if kind is None and y is None:
        raise ConfigError(f"plot needs --kind or --y; kinds: {', '.join(KINDS)}")
    gap = getattr(args, "success_gap", None)
    gap = SUCCESS_GAP if gap is None else gap
    name = kind or f"{y}_vs_{getattr(args, 'x', None) or 'n_vars'}"
    output = args.output or Path(args.dir) / f"{name}.png"
    path = plot(
        load(args.dir, gap), kind, output, x=getattr(args, "x", None), y=y,
        hue=getattr(args, "hue", None), facet=getattr(args, "facet", None),
        stat=getattr(args, "stat", None), title=getattr(args, "title", None),
        caption=not getattr(args, "no_caption", False), success_gap=gap,
        logy=getattr(args, "logy", None),
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


#: the plot kind of grouped bars per instance (:func:`qbench.report.plot_by_instance`)
BY_INSTANCE = "by_instance"


def _plot_by_instance(args: argparse.Namespace) -> int:
    """``qbench plot DIR --kind by_instance [--y COLUMN] [--published CSV|NAME]``."""
    from qbench.report import SUCCESS_GAP, load, plot_by_instance, published

    y = getattr(args, "y", None) or "gap_pct"
    source = getattr(args, "published", None)
    gap = getattr(args, "success_gap", None)
    gap = SUCCESS_GAP if gap is None else gap
    output = args.output or Path(args.dir) / f"{y}_by_instance.png"
    path = plot_by_instance(
        load(args.dir, gap), output, y=y, paper=published(source) if source else None,
        title=getattr(args, "title", None), caption=not getattr(args, "no_caption", False),
        success_gap=gap,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``qbench export DIR --format parquet|csv [-o FILE]``: every stored row (default
    ``DIR/results.<format>``); ``--format qoblib``: QOBLIB's submission table and best
    solutions (:mod:`qbench.qoblib`)."""
    from qbench.report import export, load

    fmt = args.format or "csv"
    if fmt == "qoblib":  # a folder: submission.csv and the best solutions as .sol files
        from qbench.qoblib import write_submission

        folder = args.output or Path(args.dir) / "qoblib"
        df = load(args.dir, solutions=True)
        path = write_submission(df, folder, getattr(args, "submitter", None) or "qbench")
        print(f"wrote the QOBLIB submission of {len(df)} runs to {path} (and .sol files)")
        return 0
    output = args.output or Path(args.dir) / f"results.{fmt}"
    df = load(args.dir, solutions=getattr(args, "solutions", False))
    path = export(df, output, fmt)
    print(f"wrote {len(df)} rows to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qbench",
        description="Benchmark quantum optimization against classical methods.",
    )
    parser.add_argument("--version", action="version", version=f"qbench {qbench_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve instances and print one result row each")
    p.add_argument("specs", nargs="+", metavar="SPEC",
                   help="file path, shipped name (hp1, 1dc.64, nug12, burma14) or generator "
                        "spec (mdkp:n=12,m=3,seed=1)")  # fmt: skip
    p.add_argument("--solver", default="mip", help="solver name (see `qbench solvers`)")
    p.add_argument(
        "--encoder",
        default=None,
        help="none (solver sees the problem), qubo, unbalanced or lagrangian "
        "(default: none; qubo for quantum solvers)",
    )
    p.add_argument(
        "--backend",
        help="where quantum solvers run: exact, aer_statevector, aer_mps, aer_shots, "
        "aer_noisy:<device>, ibm_local:<device>, ibm:<backend> (default exact)",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="repair an infeasible answer with the problem's repair (recorded in the row)",
    )
    p.add_argument(
        "--local-search",
        action="store_true",
        help="one round of the problem's local search on the answer (swaps that keep it "
        "feasible and improve it; the solver's own answer stays in objective_raw/gap_pct_raw)",
    )
    p.add_argument(
        "--preprocess",
        default="none",
        help="none, or shrink: merge correlated qubits of the encoder's QUBO until it fits "
        "shrink.target (options shrink.KEY=VALUE via --set; implies --repair)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="encoder or solver parameter (encoder.KEY / solver.KEY to force; "
                        "shrink.KEY for --preprocess shrink; backend.KEY for device "
                        "backends), repeatable")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed of the run")
    p.add_argument("--best-known", type=float, metavar="VALUE",
                   help="a published optimum of an instance whose file holds none")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print each row as one JSON object")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and print qubits, memory and, for device backends, circuits, "
                        "shots and estimated QPU seconds; nothing runs")  # fmt: skip
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("encode", help="encode an instance and print qubits, slack, penalty")
    p.add_argument("spec", metavar="SPEC", help="instance spec, as for solve")
    p.add_argument("--encoder", default="qubo", help="qubo, unbalanced or lagrangian")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="encoder parameter, repeatable")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="also write the QUBO to FILE (format by --format or the ending: "
                        ".lp, .mps, .qs, .bqm, .json)")  # fmt: skip
    p.add_argument("--format", default=None, choices=["lp", "mps", "qubo", "bqm", "json"],
                   help="the format of -o FILE (default: its ending)")  # fmt: skip
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("encoders", help="list encoders and their parameters")
    p.set_defaults(func=cmd_encoders)

    p = sub.add_parser("generate", help="write a seeded random instance to a file")
    p.add_argument("problem", help="mdkp, mis, qap, tsp, tsp_degree or msp")
    p.add_argument("params", nargs="*", metavar="KEY=VALUE", help="generator parameters")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("instances", help="list the shipped real instances")
    p.add_argument("--problem", help="only this problem kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_instances)

    p = sub.add_parser("run", help="run a suite (TOML) into its results store, resuming")
    p.add_argument("suite", metavar="SUITE", help="suite file, e.g. suites/quickstart.toml")
    p.add_argument("--out", help="results folder (default: the suite's `out`)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--dask", help="'local' (LocalCluster) or a scheduler address tcp://...")
    p.add_argument("--timeout", type=float, help="per-run seconds (default: the suite's)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the runs, their qubits and whether they fit")  # fmt: skip
    p.add_argument("--retry", metavar="STATUSES",
                   help="rerun stored runs with these statuses (error, timeout; comma list); "
                        "their old rows are kept as history")  # fmt: skip
    p.add_argument("--retry-errors", action="store_true",
                   help="same as --retry error,timeout")  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("table", help="aggregate a results folder into a table")
    p.add_argument("dir", metavar="DIR", help="results folder (holds results.sqlite)")
    p.add_argument("--by", nargs="+", default=None,
                   help="group columns (default: problem instance solver encoder, then "
                        "preprocess/label and the parameters that vary, e.g. p)")  # fmt: skip
    p.add_argument("--metric", nargs="+",
                   default=["objective", "gap_pct", "feasible", "p_feasible", "time_total_s"],
                   help="aggregated columns; also relative_quality, success, successes, "
                        "tts99_s, p_optimal, any numeric column")  # fmt: skip
    p.add_argument("--agg", default="mean", choices=["mean", "median", "min", "max"])
    p.add_argument("--format", default="md", choices=["md", "latex", "csv"])
    p.add_argument("--success-gap", type=float, default=None, metavar="PCT",
                   help="a run succeeds within this gap to the best known value, in %% "
                        "(default 1)")  # fmt: skip
    p.add_argument("--published", metavar="CSV|NAME",
                   help="a paper's table, its gap beside ours (paper_gap_pct): a CSV, or "
                        "comparative-mdkp-simulator / comparative-mis-simulator")  # fmt: skip
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("plot", help="plot a results folder (needs the plot extra)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument(
        "--kind",
        default=None,
        help="figure kind (see qbench.report.KINDS, or by_instance: grouped bars per instance, "
        "or convergence: Lagrangian multiplier searches per iteration); needed unless --y is given",
    )
    p.add_argument(
        "--x",
        default=None,
        metavar="COLUMN",
        help="x column instead of the kind's, e.g. p (default n_vars with --y)",
    )
    p.add_argument("--y", default=None, metavar="COLUMN", help="y column instead of the kind's")
    p.add_argument(
        "--hue",
        default=None,
        metavar="COLUMN",
        help="one colour per value of this column (default config)",
    )
    p.add_argument(
        "--facet",
        default=None,
        metavar="COLUMN",
        help="one panel per value of this column (default: per problem)",
    )
    p.add_argument("--stat", default=None, choices=["mean", "median"],
                   help="points and bars: mean ± standard error, or median and "
                        "interquartile range (default: the kind's)")  # fmt: skip
    p.add_argument("--title", default=None, help='figure title ("" for none)')
    p.add_argument("--published", metavar="CSV|NAME", default=None,
                   help="kind by_instance: draw a paper's published values beside ours (a CSV "
                        "or a shipped table, as for qbench table)")  # fmt: skip
    p.add_argument("--no-caption", action="store_true", help="leave out the caption under the axes")
    p.add_argument("--logy", action=argparse.BooleanOptionalAction, default=None,
                   help="log y axis (default: the kind's; time axes are log)")  # fmt: skip
    p.add_argument(
        "--success-gap",
        type=float,
        default=None,
        metavar="PCT",
        help="gap threshold of a successful run, in %% (default 1)",
    )
    p.add_argument(
        "-o", "--output", help="PNG, PDF or SVG file, by its suffix (default DIR/KIND.png)"
    )
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("export", help="export a results folder as parquet, csv or qoblib")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--format", default="csv", choices=["parquet", "csv", "qoblib"])
    p.add_argument("-o", "--output",
                   help="file to write (default DIR/results.FORMAT; qoblib: a folder, "
                        "default DIR/qoblib)")  # fmt: skip
    p.add_argument("--submitter", default=None, help="qoblib: the Submitter column")
    p.add_argument("--solutions", action="store_true",
                   help="add each run's answer: bitstring x, final_params, trace, top_states "
                        "(lists as JSON text)")  # fmt: skip
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("solvers", help="list solvers and their parameters")
    p.set_defaults(func=cmd_solvers)

    p = sub.add_parser("show", help="one stored run: its row and its answer")
    p.add_argument("dir", metavar="DIR", help="results folder (holds results.sqlite)")
    p.add_argument("run_id", metavar="RUN_ID", help="the run's id (a unique prefix will do)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("prune", help="move rows of runs no longer in the suite to history")
    p.add_argument("dir", metavar="DIR", help="results folder (holds results.sqlite)")
    p.set_defaults(func=cmd_prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except QbenchError as exc:
        print(f"qbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `qbench solvers | head -1`: the reader left, end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0
    except OSError as exc:
        print(f"qbench: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
