"""One run → one tidy row: load the instance, encode, preprocess, solve, evaluate on the original
problem, record.

The pipeline asks the components what they need — a solver whether it needs a QUBO and which
inputs it takes from the problem, an encoder which meta-solver drives it, a preprocessor whether
it implies repair and keeps the variables, a backend its parameters — and never tests a
component's name. The row follows the schema of DESIGN.md; fields of later stages (encoder,
backend, qubits) are present and empty so every table has the same columns.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from qbench.answers import answer
from qbench.encoders import ENCODERS, Encoder, Encoding, get_encoder
from qbench.errors import ConfigError, QbenchError
from qbench.hardware import (
    AUTO,
    close_open,
    parse_backend_options,
    resolve_backend,
    validate_backend,
)
from qbench.hardware.base import state_bits
from qbench.params import Component
from qbench.preprocessing import PREPROCESSORS, Preprocessor, Reduction, get_preprocessor
from qbench.problems import Problem
from qbench.problems.program import ProgramProblem
from qbench.program import BinaryProgram
from qbench.provenance import provenance
from qbench.schema import ROW_FIELDS
from qbench.solvers import MetaSolver, Solver, SolveResult, get_meta_solver, get_solver
from qbench.spec import load_spec

__all__ = ["CLASSICAL", "ROW_FIELDS", "Prepared", "evaluate", "execute", "prepare", "run", "run_id"]

#: the ``backend`` of runs whose solver runs no circuit (rows, exclusions and dry runs say so)
CLASSICAL = "classical"
#: solver info keys copied into the row when present (n_qubits: the physical qubits, fewer than
#: the QUBO's bits for PCE and QRAO)
INFO_FIELDS = ("depth", "two_qubit_gates", "shots", "backend", "n_qubits")


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
    reduction: Reduction | None = None,
) -> dict[str, float | None]:
    """p_feasible and p_optimal: probability mass of final states that decode to feasible /
    best-known solutions of the original problem (states of a reduced QUBO expanded first)."""
    probs = np.asarray(probs, dtype=float)
    if reduction is None:
        bits = state_bits(states, encoding.n_qubits)
    else:
        bits = np.atleast_2d(reduction.expand(state_bits(states, reduction.qubo.n_vars)))
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


def resolve_encoder(solver: Solver, encoder: str | None) -> Encoder | None:
    """The run's encoder: the named one, ``qubo`` for a solver that needs a QUBO when none is
    named, None for ``"none"`` (the solver gets the problem itself)."""
    if encoder is None and solver.needs_qubo:
        encoder = "qubo"
    return None if encoder in (None, "none") else get_encoder(encoder)


def encoder_component(enc: Encoder | None) -> Component | None:
    """What takes a run's encoder parameters: the meta-solver that drives the encoder (its
    multiplier options), else the encoder itself."""
    if enc is not None and enc.meta_solver is not None:
        return get_meta_solver(enc.meta_solver)
    return enc


@dataclass
class Prepared:
    """A validated run: everything resolved (defaults filled in) and its stable ``run_id``."""

    spec: str
    problem: Problem
    solver: Solver
    encoder: Encoder | None
    encoder_params: dict[str, Any]
    solver_params: dict[str, Any]
    seed: int
    repair: bool
    config: dict[str, Any]
    #: the preprocessor and its validated options; None without preprocessing
    preprocessor: Preprocessor | None = None
    preprocess_options: dict[str, Any] | None = None
    #: where ``problem.best_known`` comes from (published, optimal, best_found), None if unknown
    reference_kind: str | None = None
    #: one round of the problem's local search on the (repaired) answer
    local_search: bool = False

    @property
    def run_id(self) -> str:
        return run_id(self.config)

    @property
    def meta(self) -> MetaSolver | None:
        """The meta-solver that drives the encoder (the solver is then its inner solver)."""
        if self.encoder is None or self.encoder.meta_solver is None:
            return None
        return get_meta_solver(self.encoder.meta_solver)

    @property
    def deterministic(self) -> bool:
        """True when the run's answer does not depend on its seed: a deterministic solver and
        no preprocessing that draws random numbers."""
        pre = self.preprocessor
        return self.solver.deterministic and (pre is None or pre.deterministic)

    @property
    def backend(self) -> str:
        """Where the solver's circuits run, or ``classical`` when it runs none."""
        return self.solver_params.get("backend") or CLASSICAL

    @property
    def preprocess_label(self) -> str:
        """The row's ``preprocess``: ``none`` or the preprocessor's label of its options."""
        if self.preprocessor is None:
            return "none"
        return self.preprocessor.label(self.preprocess_options)


def as_problem(instance: str | Problem | BinaryProgram) -> tuple[str, Problem]:
    """(spec text, Problem) of a spec string, a Problem or a BinaryProgram."""
    if isinstance(instance, Problem):
        return instance.name or instance.kind, instance
    if isinstance(instance, BinaryProgram):
        problem = ProgramProblem(instance)
        return problem.name, problem
    if isinstance(instance, str):
        return instance, load_spec(instance)
    raise ConfigError(
        f"an instance is a spec string, a Problem or a BinaryProgram, got {type(instance).__name__}"
    )


def prepare(
    spec: str | Problem | BinaryProgram,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    encoder: str | None = None,
    repair: bool = False,
    preprocess: str | None = None,
    best_known: float | None = None,
    reference_kind: str = "published",
    local_search: bool = False,
) -> Prepared:
    """Load the instance and validate names and parameters, before any solving; QbenchError on
    bad input. The canonical config (defaults filled in) is what ``run_id`` hashes.

    ``preprocess`` names a preprocessor (options: ``<name>.KEY`` params); one that implies
    repair (shrinking) turns ``repair`` on: an expanded answer is verified and repaired on the
    original problem. ``best_known`` supplies the reference value of an instance whose file
    holds none (of kind ``reference_kind``: published, optimal or best_found); a value the
    instance carries itself wins. Neither enters the run's id. ``local_search`` runs one round
    of the problem's local search on the (repaired) answer (it enters the id when set).
    """
    spec, problem = as_problem(spec)
    kind = "published" if problem.best_known is not None else None
    if problem.best_known is None and best_known is not None:
        problem = copy.copy(problem)
        problem.best_known, kind = float(best_known), reference_kind
    chosen = get_solver(solver)
    enc = resolve_encoder(chosen, encoder)
    params = dict(params or {})
    pre = None if preprocess in (None, "none") else get_preprocessor(preprocess)
    if pre is not None and pre.problems and problem.kind not in pre.problems:
        raise ConfigError(
            f"preprocess {pre.name!r} works on {' and '.join(pre.problems)} instances; "
            f"{spec!r} is a {problem.kind} instance"
        )
    pre_raw, backend_raw = _split_prefixed(params, pre)
    pre_options = _preprocess_options(pre, pre_raw, enc, chosen)
    repair = repair or (pre is not None and pre.implies_repair)
    target = encoder_component(enc)
    enc_raw, solver_raw = split_params(params, target, chosen)
    enc_params = target.parse_params(enc_raw) if target else {}
    solver_params = chosen.parse_params(solver_raw)
    _backend_options(solver_params, backend_raw, chosen)
    keyed = _keyed(target, enc_params)
    all_params = {**{f"encoder.{k}": v for k, v in keyed.items()}, **_keyed(chosen, solver_params)}
    pre_config = pre and {"name": pre.name, **pre_options}
    config = {"instance": spec, "encoder": enc and enc.name, "preprocess": pre_config,
              "solver": solver, "params": all_params, "backend": None, "seed": seed}  # fmt: skip
    if repair:
        config["repair"] = True
    if local_search:
        config["local_search"] = True
    return Prepared(
        spec, problem, chosen, enc, enc_params, solver_params, seed, repair, config, pre,
        pre_options, kind, bool(local_search),
    )  # fmt: skip


def _keyed(component: Component | None, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that enter a run's id: all but those declared ``id_default=False`` and
    left at their default (added after runs were stored, whose ids must not change)."""
    quiet = {p.name: p.default for p in (component.params if component else ()) if not p.id_default}
    return {k: v for k, v in params.items() if not (k in quiet and v == quiet[k])}


def _split_prefixed(params: dict[str, Any], pre: Preprocessor | None) -> tuple[dict, dict]:
    """Pop ``<preprocessor>.KEY`` and ``backend.KEY`` entries out of ``params``: (options of the
    chosen preprocessor, backend options). Options of a preprocessor that is not chosen are
    refused."""
    grouped: dict[str, dict[str, Any]] = {}
    for key in list(params):
        head, dot, rest = key.partition(".")
        if dot and (head == "backend" or head in PREPROCESSORS):
            grouped.setdefault(head, {})[rest] = params.pop(key)
    backend = grouped.pop("backend", {})
    chosen = grouped.pop(pre.name, {}) if pre is not None else {}
    for name, raw in grouped.items():
        keys = ", ".join(f"{name}.{k}" for k in sorted(raw))
        raise ConfigError(f"{keys} given without preprocess {name!r} (--preprocess {name})")
    return chosen, backend


def _backend_options(solver_params: dict[str, Any], raw: dict[str, Any], solver: Solver) -> None:
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
    if options and name == AUTO:
        keys = ", ".join(f"backend.{k}" for k in sorted(options))
        raise ConfigError(f"{keys}: backend 'auto' takes no options (they belong to one backend)")
    if options:
        solver_params["backend_options"] = parse_backend_options(name, options)


def _preprocess_options(
    pre: Preprocessor | None, raw: dict[str, Any], enc: Encoder | None, solver: Solver
) -> dict[str, Any] | None:
    """Validated options of the chosen preprocessor, None without one; ConfigError on misuse."""
    if pre is None:
        return None
    if enc is None or enc.meta_solver is not None:
        fixed = [e.name for e in ENCODERS.values() if e.meta_solver is None]
        raise ConfigError(
            f"preprocess {pre.name!r} works on an encoder's QUBO: use --encoder "
            f"{' or '.join(fixed)}"
        )
    if solver.inputs is not None and not pre.keeps_variables:
        raise ConfigError(
            f"{solver.name} cannot run after preprocess {pre.name!r}: it takes inputs indexed "
            "by the problem's variables, which the preprocessing merges"
        )
    return pre.options(raw)


def run(
    spec: str | Problem | BinaryProgram,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    encoder: str | None = None,
    suite: str | None = None,
    repair: bool = False,
    preprocess: str | None = None,
    best_known: float | None = None,
    local_search: bool = False,
) -> dict[str, Any]:
    """Run one (instance, encoder, preprocessing, solver, seed) and return its row; bad input
    raises QbenchError.

    ``spec`` is a spec string (``hp1``, ``mdkp:n=12,m=3,seed=1``, a file), a Problem or a
    BinaryProgram. Without an encoder the solver gets the problem itself. With an encoder it gets
    the encoding's QUBO and its bits are decoded; an encoder driven by a meta-solver
    (``lagrangian``) runs that meta-solver with the solver inside; solvers that need a QUBO
    default to the ``qubo`` encoder. Quality is always measured on the original problem;
    ``repair`` applies the problem's repair to an infeasible answer and records it
    (``repaired``, ``objective_raw``, ``feasible_raw``, ``gap_pct_raw``); ``local_search`` then
    runs one round of the problem's local search (``local_moves``: bits it changed) and records
    the comparative study's single best move from the raw answer (``gap_pct_move``);
    ``best_known`` is a published value for an instance whose file holds none. The row's
    ``answer`` holds the answer itself
    (:mod:`qbench.answers`: bitstring, final parameters, trace, top states).
    """
    t0 = time.perf_counter()
    prep = prepare(spec, solver, params, seed, encoder, repair, preprocess, best_known,
                   local_search=local_search)  # fmt: skip
    return execute(prep, suite=suite, t0=t0)


def _resolved_params(prep: Prepared, qubo: BinaryProgram, row: dict[str, Any]) -> dict[str, Any]:
    """The solver's parameters with backend ``auto`` resolved for the circuits on ``qubo`` (the
    backend that runs goes into the row); other parameters as prepared."""
    params = prep.solver_params
    if params.get("backend") != AUTO:
        return params
    n = prep.solver.physical_qubits(qubo, params)
    row["backend"] = resolve_backend(AUTO, n, prep.solver.ansatz)
    return {**params, "backend": row["backend"]}


def _solve(prep: Prepared, row: dict[str, Any], t1: float) -> tuple[SolveResult, Any, Any, int]:
    """Encode, preprocess and solve: (result, answer on the problem's variables or None, bound
    on the problem's objective or None, bits of the states the solver's distribution is over)."""
    problem, chosen, enc, seed = prep.problem, prep.solver, prep.encoder, prep.seed
    meta = prep.meta
    if enc is None:
        result = chosen.solve(problem, seed=seed, **prep.solver_params)
        return result, result.x, result.bound, problem.n_vars
    if meta is not None:  # the encoding's size at its start multipliers, then the search
        encoding = enc.encode(problem.program)
        row.update(n_qubits=encoding.n_qubits, n_slack=encoding.n_slack)
        result = meta.solve(
            problem, inner=chosen, inner_params=_resolved_params(prep, encoding.qubo, row),
            seed=seed, **prep.encoder_params,
        )  # fmt: skip
        return result, result.x, result.bound, encoding.n_qubits
    encoding = enc.encode(problem, **prep.encoder_params)
    row.update(
        n_qubits=encoding.n_qubits, n_slack=encoding.n_slack,
        time_encode_s=time.perf_counter() - t1,
    )  # fmt: skip
    extra = chosen.inputs(problem.program) if chosen.inputs is not None else {}
    qubo, reduction = encoding.qubo, None
    if prep.preprocessor is not None:
        t_pre = time.perf_counter()
        reduction = prep.preprocessor.apply(problem, encoding, prep.preprocess_options, seed)
        qubo = reduction.qubo
        row.update(
            n_qubits_before=encoding.n_qubits, n_qubits=qubo.n_vars,
            shrink_ratio=reduction.shrink_ratio,
            time_preprocess_s=time.perf_counter() - t_pre,
        )  # fmt: skip
    result = chosen.solve(qubo, seed=seed, **_resolved_params(prep, qubo, row), **extra)
    x = None
    if result.x is not None:
        bits = result.x if reduction is None else reduction.expand(result.x)
        x = encoding.decode(bits)
    if "final_states" in result.info:
        row.update(distribution_quality(
            problem, encoding, result.info["final_states"], result.info["final_probs"],
            reduction,
        ))  # fmt: skip
    # the solver's bound is on the QUBO energy, not the problem
    return result, x, None, qubo.n_vars


def execute(
    prep: Prepared, suite: str | None = None, t0: float | None = None, label: str | None = None
) -> dict[str, Any]:
    """Solve a prepared run and return its row (a failing solve becomes an error row); the
    answer rides along under ``answer`` (the store keeps it in its own table)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter() if t0 is None else t0
    problem, chosen, enc = prep.problem, prep.solver, prep.encoder
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        suite=suite, run_id=prep.run_id, problem=problem.kind,
        instance=problem.name or prep.spec, n_vars=problem.n_vars,
        encoder=enc.name if enc else "none", preprocess=prep.preprocess_label,
        solver=chosen.name, backend=prep.backend, seed=prep.seed,
        params=json.dumps(prep.config["params"], sort_keys=True),
        best_known=problem.best_known, reference_kind=prep.reference_kind, repaired=False,
        sense=problem.sense, label=label, deterministic=prep.deterministic,
    )  # fmt: skip
    t1 = time.perf_counter()
    try:
        result, x, bound, n_bits = _solve(prep, row, t1)
    except QbenchError as exc:
        close_open()  # a service session/batch never outlives its run
        row.update(status="error", error=str(exc))
    except BaseException:
        close_open()
        raise
    else:
        close_open()
        row["answer"] = _record(prep, row, result, x, bound, n_bits)
    t2 = time.perf_counter()
    before = (row["time_encode_s"] or 0.0) + (row["time_preprocess_s"] or 0.0)
    row.update(
        time_solve_s=t2 - t1 - before, time_total_s=t2 - t0,
        started_at=started.isoformat(), finished_at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    row.update(provenance())
    return {k: v if k == "answer" else _number(v) for k, v in row.items()}


def _record(
    prep: Prepared,
    row: dict[str, Any],
    result: SolveResult,
    x: Any,
    bound: float | None,
    n_bits: int,
) -> dict[str, Any] | None:
    """The answer's quality on the original problem (repaired when asked) and the solver's
    facts, into the row; returns the answer (:func:`qbench.answers.answer`)."""
    problem = prep.problem
    x_raw = x
    quality = evaluate(problem, x)
    row.update(objective_raw=quality["objective"], feasible_raw=quality["feasible"],
               gap_pct_raw=quality.get("gap_pct"))  # fmt: skip
    if prep.repair and x is not None:
        row["repair_moves"] = 0
    if prep.repair and x is not None and not quality["feasible"]:
        x = problem.repair(x)
        row["repaired"] = True
        row["repair_moves"] = int(np.count_nonzero(np.asarray(x) != np.asarray(x_raw)))
        quality = evaluate(problem, x)
    if prep.local_search and x_raw is not None:  # the paper's single move, for comparison
        moved = evaluate(problem, problem.best_move(x_raw))
        row.update(feasible_move=moved["feasible"], gap_pct_move=moved["gap_pct"])
    if prep.local_search and x is not None:
        searched = problem.local_search(x)
        row["local_moves"] = int(np.count_nonzero(np.asarray(searched) != np.asarray(x)))
        x = searched
        quality = evaluate(problem, x)
    row.update(quality)
    for key in INFO_FIELDS:
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
    return answer(x, x_raw, result.info, n_bits)
