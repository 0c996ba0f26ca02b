"""One run → one tidy row: load the instance, solve, evaluate on the original problem, record.

The row follows the schema of DESIGN.md; fields of later stages (encoder, backend, qubits) are
present and empty so every table has the same columns.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from qbench import shrinking
from qbench.encoders import Encoding, get_encoder, lagrangian
from qbench.errors import ConfigError, QbenchError
from qbench.hardware import validate_backend
from qbench.hardware.base import state_bits
from qbench.hardware.ibm import close_open, parse_options
from qbench.params import Component
from qbench.problems import Problem
from qbench.provenance import provenance
from qbench.shrinking import Shrunk
from qbench.solvers import QUANTUM_SOLVERS, get_solver
from qbench.solvers.qaoa import onehot_groups
from qbench.spec import load_spec

#: columns of the row, in order (DESIGN.md "Result row"); provenance fields follow
ROW_FIELDS = (
    "suite", "run_id", "problem", "instance", "n_vars", "encoder", "preprocess", "solver",
    "backend", "seed", "params", "n_qubits", "n_slack", "n_qubits_before", "shrink_ratio",
    "depth", "depth_transpiled", "two_qubit_gates", "two_qubit_gates_transpiled", "swaps",
    "routing", "device", "mitigation", "shots", "n_evaluations", "iterations",
    "objective", "feasible", "best_known", "gap_pct", "approx_ratio", "bound", "p_feasible",
    "p_optimal", "repaired", "repair_moves", "objective_raw", "feasible_raw", "time_encode_s",
    "time_preprocess_s", "time_solve_s", "time_total_s", "qpu_time_s", "queue_time_s", "jobs",
    "job_ids", "status",
    "solver_status", "error", "started_at", "finished_at",
)  # fmt: skip


def run_id(config: dict[str, Any]) -> str:
    """A stable 16-hex id of a run's canonical config (sorted keys, no whitespace)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def approx_ratio(problem: Problem, value: float | None) -> float | None:
    """Quality in (0, 1], 1 = best known: obj/opt for max, opt/obj for min (same-sign values)."""
    opt = problem.best_known
    if value is None or opt is None or opt == 0 or value == 0 or (opt > 0) != (value > 0):
        return None
    return value / opt if problem.sense == "max" else opt / value


def _shrink(problem: Problem, encoding: Encoding, options: dict[str, Any], seed: int) -> Shrunk:
    """Shrink the encoding's QUBO; empirical correlations come from simulated-annealing samples."""
    from qbench.solvers import sa

    samples = None
    if options["correlations"] == "samples":

        def samples(qubo, s):
            return sa.sample(qubo, seed=s)

    return shrinking.shrink_problem(problem, encoding, seed=seed, samples=samples, **options)


def _number(value: Any) -> Any:
    """Plain Python numbers in the row (JSON- and SQLite-friendly), integral floats kept float."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def evaluate(problem: Problem, x: np.ndarray | None) -> dict[str, Any]:
    """Objective, feasibility and gap of a solution, computed on the original problem."""
    if x is None:
        return {"objective": None, "feasible": False, "gap_pct": None, "approx_ratio": None}
    objective = float(problem.objective(x))
    feasible = bool(problem.is_feasible(x))
    return {
        "objective": objective,
        "feasible": feasible,
        "gap_pct": problem.gap_pct(objective) if feasible else None,
        "approx_ratio": approx_ratio(problem, objective) if feasible else None,
    }


def distribution_quality(
    problem: Problem,
    encoding: Encoding,
    states: np.ndarray,
    probs: np.ndarray,
    shrunk: Shrunk | None = None,
) -> dict[str, float | None]:
    """p_feasible and p_optimal: probability mass of final states that decode to feasible /
    best-known solutions of the original problem (states of a shrunken QUBO expanded first)."""
    probs = np.asarray(probs, dtype=float)
    if shrunk is None:
        bits = state_bits(states, encoding.n_qubits)
    else:
        bits = np.atleast_2d(shrunk.expand(state_bits(states, shrunk.n_after)))
    objective, feasible = encoding.evaluate(problem, bits)
    total = probs.sum()
    p_opt = None
    if problem.best_known is not None:
        hit = feasible & np.isclose(objective, problem.best_known, rtol=1e-9, atol=1e-9)
        p_opt = float(probs[hit].sum() / total)
    return {"p_feasible": float(probs[feasible].sum() / total), "p_optimal": p_opt}


def device_facts(info: dict[str, Any]) -> dict[str, Any]:
    """Row fields of a device backend's info: transpiled metrics and job bookkeeping."""
    keys = ("depth_transpiled", "two_qubit_gates_transpiled", "swaps", "routing", "device",
            "mitigation", "qpu_time_s", "queue_time_s", "jobs")  # fmt: skip
    out = {k: info[k] for k in keys if info.get(k) is not None}
    if info.get("job_ids"):
        out["job_ids"] = ",".join(info["job_ids"])
    return out


def split_params(
    params: dict[str, Any], encoder: Component | None, solver: Component
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route ``--set`` keys to the encoder or the solver (``encoder.``/``solver.`` force it).

    A key both declare goes to the encoder: with an encoder the solver sees an unconstrained
    QUBO, so the constraint handling (e.g. ``penalty``) is the encoder's.
    """
    enc_names = {p.name for p in encoder.params} if encoder else set()
    sol_names = {p.name for p in solver.params}
    enc: dict[str, Any] = {}
    sol: dict[str, Any] = {}
    for key, value in params.items():
        role, dot, name = key.partition(".")
        if dot and role in ("encoder", "solver"):
            (enc if role == "encoder" else sol)[name] = value
        elif key in enc_names:
            enc[key] = value
        elif key in sol_names or encoder is None:
            sol[key] = value  # unknown keys without an encoder: the solver names the allowed ones
        else:
            raise ConfigError(
                f"unknown parameter {key!r}; encoder {encoder.name!r} takes "
                f"{', '.join(sorted(enc_names)) or '(none)'}, solver {solver.name!r} takes "
                f"{', '.join(sorted(sol_names)) or '(none)'}"
            )
    return enc, sol


@dataclass
class Prepared:
    """A validated run: everything resolved (defaults filled in) and its stable ``run_id``."""

    spec: str
    problem: Problem
    solver: Component
    encoder: Component | None
    encoder_params: dict[str, Any]
    solver_params: dict[str, Any]
    seed: int
    repair: bool
    config: dict[str, Any]
    #: graph-shrinking options (qbench.shrinking.parse_options), None without preprocessing
    shrink: dict[str, Any] | None = None

    @property
    def run_id(self) -> str:
        return run_id(self.config)


def prepare(
    spec: str,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    encoder: str | None = None,
    repair: bool = False,
    preprocess: str | None = None,
) -> Prepared:
    """Load the instance and validate names and parameters, before any solving; QbenchError on
    bad input. The canonical config (defaults filled in) is what ``run_id`` hashes.

    ``preprocess="shrink"`` shrinks the encoder's QUBO (options: ``shrink.KEY`` params) and
    turns ``repair`` on: an expanded answer is verified and repaired on the original problem.
    """
    problem = load_spec(spec)
    chosen = get_solver(solver)
    if encoder is None and chosen.name in QUANTUM_SOLVERS:
        encoder = "qubo"
    enc = None if encoder in (None, "none") else get_encoder(encoder)
    params = dict(params or {})
    shrink_raw = {k[7:]: params.pop(k) for k in list(params) if k.startswith("shrink.")}
    backend_raw = {k[8:]: params.pop(k) for k in list(params) if k.startswith("backend.")}
    shrink_options = _shrink_options(preprocess, shrink_raw, enc, chosen)
    repair = repair or shrink_options is not None
    if enc is not None and enc.name == "lagrangian":
        meta = Component("lagrangian", lagrangian.PARAMS, "multiplier search")
        meta_raw, solver_raw = split_params(params or {}, meta, chosen)
        enc_params = meta.parse_params(meta_raw)
    else:
        enc_raw, solver_raw = split_params(params or {}, enc, chosen)
        enc_params = enc.parse_params(enc_raw) if enc else {}
    solver_params = chosen.parse_params(solver_raw)
    _backend_options(solver_params, backend_raw, chosen)
    all_params = {**{f"encoder.{k}": v for k, v in enc_params.items()}, **solver_params}
    preprocess_config = shrink_options and {"name": "shrink", **shrink_options}
    config = {"instance": spec, "encoder": enc and enc.name, "preprocess": preprocess_config,
              "solver": solver, "params": all_params, "backend": None, "seed": seed}  # fmt: skip
    if repair:
        config["repair"] = True
    return Prepared(
        spec, problem, chosen, enc, enc_params, solver_params, seed, repair, config, shrink_options
    )


def _backend_options(solver_params: dict[str, Any], raw: dict[str, Any], solver: Component) -> None:
    """Check the backend name (no connection made) and fold ``backend.KEY`` options, validated,
    into the solver's ``backend_options``; a run without options keeps no such key."""
    options = dict(solver_params.pop("backend_options", None) or {})
    options.update(raw)
    name = solver_params.get("backend")
    if name is None:
        if options:
            keys = ", ".join(f"backend.{k}" for k in sorted(options))
            raise ConfigError(f"{keys}: solver {solver.name!r} runs no circuits on a backend")
        return
    validate_backend(name)  # an unknown name fails here, before any work
    if options:
        solver_params["backend_options"] = parse_options(name, options)


#: what ``preprocess`` accepts
PREPROCESSORS = ("none", "shrink")


def _shrink_options(
    preprocess: str | None, raw: dict[str, Any], enc: Component | None, solver: Component
) -> dict[str, Any] | None:
    """Validated shrinking options, None without preprocessing; ConfigError on misuse."""
    if preprocess in (None, "none"):
        if raw:
            keys = ", ".join(f"shrink.{k}" for k in sorted(raw))
            raise ConfigError(f"{keys} given without preprocess 'shrink' (--preprocess shrink)")
        return None
    if preprocess != "shrink":
        raise ConfigError(f"unknown preprocess {preprocess!r}; allowed: {', '.join(PREPROCESSORS)}")
    if enc is None or enc.name == "lagrangian":
        raise ConfigError(
            "preprocess 'shrink' works on an encoder's QUBO: use --encoder qubo or unbalanced"
        )
    if solver.name == "xy_qaoa":
        raise ConfigError("xy_qaoa cannot run on a shrunken QUBO: merges break its one-hot rows")
    return shrinking.parse_options(raw)


def preprocess_label(options: dict[str, Any] | None) -> str:
    """The row's ``preprocess``: none, shrink-plain, shrink-adaptive (+ -aware with rules)."""
    if options is None:
        return "none"
    aware = "-aware" if options.get("rules") == "constraints" else ""
    return f"shrink-{options['mode']}{aware}"


def run(
    spec: str,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    encoder: str | None = None,
    suite: str | None = None,
    repair: bool = False,
    preprocess: str | None = None,
) -> dict[str, Any]:
    """Run one (instance, encoder, solver, seed) and return its row; bad input raises QbenchError.

    Without an encoder the solver gets the problem itself. With ``qubo``/``unbalanced`` it gets
    the encoding's QUBO and its bits are decoded; ``lagrangian`` runs the multiplier search with
    the solver as its inner solver; quantum solvers default to the ``qubo`` encoder. Quality is
    always measured on the original problem; ``repair`` applies the problem's repair to an
    infeasible answer and records it (``repaired``, ``objective_raw``, ``feasible_raw``).
    """
    t0 = time.perf_counter()
    prep = prepare(spec, solver, params, seed, encoder, repair, preprocess)
    return execute(prep, suite=suite, t0=t0)


def execute(prep: Prepared, suite: str | None = None, t0: float | None = None) -> dict[str, Any]:
    """Solve a prepared run and return its row (a failing solve becomes an error row)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter() if t0 is None else t0
    problem, chosen, enc, seed = prep.problem, prep.solver, prep.encoder, prep.seed
    enc_params, solver_params, repair = prep.encoder_params, prep.solver_params, prep.repair
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        suite=suite, run_id=prep.run_id, problem=problem.kind,
        instance=problem.name or prep.spec, n_vars=problem.n_vars,
        encoder=enc.name if enc else "none", preprocess=preprocess_label(prep.shrink),
        solver=chosen.name,
        backend="classical", seed=seed, params=json.dumps(prep.config["params"], sort_keys=True),
        best_known=problem.best_known, repaired=False,
    )  # fmt: skip
    t1 = time.perf_counter()
    try:
        if enc is None:
            result = chosen.solve(problem, seed=seed, **solver_params)
            x, bound = result.x, result.bound
        elif enc.name == "lagrangian":
            result = lagrangian.solve(
                problem, inner=chosen, inner_params=solver_params, seed=seed, **enc_params
            )
            x, bound = result.x, result.bound
            row.update(n_qubits=problem.n_vars, n_slack=0)
        else:
            encoding = enc.encode(problem.program, **enc_params)
            row.update(
                n_qubits=encoding.n_qubits, n_slack=encoding.n_slack,
                time_encode_s=time.perf_counter() - t1,
            )  # fmt: skip
            extra = {}
            if chosen.name == "xy_qaoa":  # the one-hot rows of the original program
                extra["groups"], extra["initial_state"] = onehot_groups(problem.program)
            qubo, shrunk = encoding.qubo, None
            if prep.shrink is not None:
                t_pre = time.perf_counter()
                shrunk = _shrink(problem, encoding, prep.shrink, seed)
                qubo = shrunk.qubo
                row.update(
                    n_qubits_before=encoding.n_qubits, n_qubits=shrunk.n_after,
                    shrink_ratio=shrunk.shrink_ratio,
                    time_preprocess_s=time.perf_counter() - t_pre,
                )  # fmt: skip
            result = chosen.solve(qubo, seed=seed, **solver_params, **extra)
            x = None
            if result.x is not None:
                x = encoding.decode(result.x if shrunk is None else shrunk.expand(result.x))
            bound = None  # the solver's bound is on the QUBO energy, not the problem
            if "final_states" in result.info:
                row.update(distribution_quality(
                    problem, encoding, result.info["final_states"], result.info["final_probs"],
                    shrunk,
                ))  # fmt: skip
    except QbenchError as exc:
        close_open()  # an IBM Runtime session/batch never outlives its run
        row.update(status="error", error=str(exc))
    except BaseException:
        close_open()
        raise
    else:
        close_open()
        quality = evaluate(problem, x)
        row.update(objective_raw=quality["objective"], feasible_raw=quality["feasible"])
        if repair and x is not None:
            row["repair_moves"] = 0
        if repair and x is not None and not quality["feasible"]:
            x_raw, x = x, problem.repair(x)
            row["repaired"] = True
            row["repair_moves"] = int(np.count_nonzero(np.asarray(x) != np.asarray(x_raw)))
            quality = evaluate(problem, x)
        row.update(quality)
        # n_qubits: the physical qubits (fewer than the QUBO's bits for PCE and QRAO)
        for key in ("depth", "two_qubit_gates", "shots", "backend", "n_qubits"):
            if result.info.get(key) is not None:
                row[key] = result.info[key]
        row.update(device_facts(result.info.get("backend_info") or {}))
        row.update(
            bound=bound, n_evaluations=result.n_evaluations, iterations=result.iterations,
            solver_status=result.status,
        )  # fmt: skip
        if result.status in ("timeout", "infeasible", "error"):
            row["status"] = result.status
        else:
            row["status"] = "ok" if row["feasible"] else "infeasible"
        row["error"] = result.info.get("error")
    t2 = time.perf_counter()
    before = (row["time_encode_s"] or 0.0) + (row["time_preprocess_s"] or 0.0)
    row.update(
        time_solve_s=t2 - t1 - before, time_total_s=t2 - t0,
        started_at=started.isoformat(), finished_at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    row.update(provenance())
    return {k: _number(v) for k, v in row.items()}
