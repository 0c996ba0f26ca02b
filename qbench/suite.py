"""Benchmark suites: one TOML file names a grid of runs, validated in full before anything runs.

Schema (every key is checked; a mistake anywhere is reported together with all the others)::

    name = "quickstart"            # required
    description = "..."            # optional, free text
    out = "runs/quickstart"        # folder of results.sqlite (default "runs/<name>"); relative
                                   # to the current directory; load_suite(path, out=...) overrides
    seeds = [0, 1, 2]              # or: repetitions = 3  (→ seeds 0, 1, 2); default [0]
    timeout = 120                  # optional, seconds per run
    repair = false                 # optional: repair infeasible answers (recorded in the row)
    local_search = false           # optional: one round of the problem's local search
    repeat_deterministic = false   # run deterministic solvers (mip, brute) once per instance,
                                   # not once per seed (true: every seed)
    references = true              # compute a reference value (MIP, brute force where smaller)
                                   # for instances without a published one, once, in the store
    reference_time_limit = 60      # seconds for each such MIP
    encoders = ["none"]            # default encoders of solvers that set none of their own;
                                   # items: a name or a table {name = "qubo", penalty = "tight"}
    preprocess = ["none"]          # default preprocessing of solvers that set none: "none" or
                                   # a table {name = "shrink", mode = ["plain", "adaptive"]}
    instances = [                  # shipped names, files, generator specs (strings) or tables
      "pet3", "1tc.16", "mdkp:n=12,m=3,seed=1", "path/to/file.tsp",
      { problem = "mdkp", n = [8, 10, 12], m = 2, seed = 1 },  # a generator; lists sweep
      { file = "my.dat", problem = "qap" },                     # a file, reader forced
      { file = "other.tsp", best_known = 2085 },                # a published value it lacks
    ]

    [[solvers]]
    name = "mip"

    [[solvers]]
    name = "qaoa"
    label = "QAOA"                 # optional: this table's configuration name in tables/plots
    seeds = [0]                    # optional: this table's own seeds (or repetitions = N)
    local_search = true            # optional: this table's own local_search
    encoders = ["qubo"]            # per-solver override (names or tables)
    preprocess = ["none", "shrink"]  # per-solver override (names or tables)
    backend = "exact"              # any solver parameter; a list value sweeps
    p = [1, 2]
    "encoder.penalty" = "tight"    # a quoted "encoder."/"solver." prefix forces the routing

    [[exclude]]                    # drop the runs matching ALL given fields
    solver = "qaoa"                # fields: instance, problem, solver, encoder, backend;
    problem = ["tsp", "qap"]       # a list matches any of its values

Expansion: instances × (each solver × its encoders × its preprocessing × its parameter sweep) ×
seeds, minus the
exclusions, duplicates (same ``run_id``) dropped. Lists sweep as a Cartesian product, in
generator tables, encoder tables and solver tables alike. A generator table becomes the spec
string ``"mdkp:n=8,m=2,seed=1"`` (the generator's parameter order, ``seed`` last, whatever the
TOML order), so its ``run_id`` does not depend on how the table is written.

Encoder ``"none"`` means "no encoder" for classical solvers (they get the problem itself) and
"the default" for quantum solvers, which need a QUBO and get ``qubo`` as in ``qbench run``;
``RunConfig.encoder`` is then ``None``. Parameters in a solver table go where ``qbench run
--set`` sends them: a key the encoder declares (e.g. ``penalty``) configures the encoder.

For exclusions, ``instance`` matches the spec string or the instance name, ``encoder`` the
encoder actually used (``none``, ``qubo``, ...), ``backend`` the solver's backend parameter or
``classical`` for solvers without one. Relative instance file paths, like ``out``, are relative
to the current directory. ``run_id`` is ``qbench.pipeline.prepare(...).run_id``: the hash of the
canonical config (defaults filled in), so it is stable across machines and reorderings and a
changed parameter changes exactly the ids of the runs it applies to.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qbench import preprocessing
from qbench.encoders import get_encoder
from qbench.errors import ConfigError, QbenchError
from qbench.hardware import allowed_names, check_option, validate_backend
from qbench.params import Component, Param, parse_params
from qbench.pipeline import (
    CLASSICAL,
    Prepared,
    encoder_component,
    prepare,
    resolve_encoder,
    run_id,
    split_params,
)
from qbench.plan import Plan, Sizes, dry_facts
from qbench.problems import PROBLEMS, Problem, generator_params, problem_class
from qbench.solvers import SOLVERS, get_solver
from qbench.spec import load_spec

#: keys of a solver table that are not solver parameters
TABLE_KEYS = ("name", "encoders", "preprocess", "label", "seeds", "repetitions", "local_search")
TOP_KEYS = ("name", "description", "out", "seeds", "repetitions", "timeout", "repair",
            "local_search", "repeat_deterministic", "references", "reference_time_limit",
            "encoders", "preprocess", "instances", "solvers", "exclude")  # fmt: skip
#: seconds the reference MIP of an instance may take unless the suite says otherwise
REFERENCE_TIME_LIMIT = 60.0
EXCLUDE_FIELDS = ("instance", "problem", "solver", "encoder", "preprocess", "backend")


@dataclass(frozen=True)
class RunConfig:
    """One run of a suite: what ``qbench.pipeline.prepare`` needs, plus its stable ``run_id``.

    ``params`` holds the suite's values for this run: encoder-table ones prefixed ``encoder.``
    and the solver table's ones as written (defaults are filled in by ``prepare``).
    """

    spec: str
    solver: str
    encoder: str | None
    params: dict[str, Any] = field(hash=False)
    seed: int
    repair: bool
    run_id: str
    preprocess: str | None = None
    #: the solver table's name for this configuration (tables, legends), None if it has none
    label: str | None = None
    #: (value, kind) of the instance's reference when its file holds none: published in the
    #: suite, or computed by the runner (optimal / best_found); not part of the run_id
    reference: tuple[float, str] | None = None
    #: one round of the problem's local search on each answer
    local_search: bool = False

    def prepare(self) -> Prepared:
        """Load and validate the run (``qbench.pipeline.prepare``); QbenchError on bad input."""
        value, kind = self.reference or (None, "published")
        return prepare(
            self.spec,
            self.solver,
            dict(self.params),
            self.seed,
            self.encoder,
            self.repair,
            self.preprocess,
            best_known=value,
            reference_kind=kind,
            local_search=self.local_search,
        )


@dataclass
class Suite:
    """A loaded, validated suite: its runs in expansion order and where results go."""

    name: str
    path: Path
    out: Path
    timeout: float | None
    runs: list[RunConfig]
    description: str = ""
    #: compute references for instances without a published value, and their MIP time limit
    references: bool = True
    reference_time_limit: float = REFERENCE_TIME_LIMIT
    _plans: dict[str, Plan] = field(default_factory=dict, repr=False, compare=False)
    _sizes: Sizes = field(default_factory=Sizes, repr=False, compare=False)

    def limit(self, timeout: float | None = None) -> float | None:
        """Seconds per run: ``timeout`` (a command line's) or the suite's; ConfigError unless
        positive."""
        limit = self.timeout if timeout is None else timeout
        if limit is not None and not limit > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {limit}")
        return limit

    def dry_run(self, timeout: float | None = None) -> list[dict[str, Any]]:
        """Per run: its qubits, the memory its backend would need and whether it fits, and for
        device backends circuits, shots and estimated QPU seconds (:func:`qbench.plan.dry_facts`);
        aer_mps runs estimated beyond ``timeout`` (default: the suite's) do not fit.
        """
        out = []
        limit = self.limit(timeout)
        varying = self.varying_params()
        for cfg in self.runs:
            plan = self._plans.get(cfg.run_id)
            if plan is None:  # a Suite built by hand: prepare (and load) this run now
                plan = Plan(cfg.prepare(), self._sizes)
            facts = dry_facts(plan, cfg.seed, cfg.run_id, timeout=limit)
            params = plan.prep.config["params"]
            facts.update({k: params.get(k) for k in varying if k not in facts}, label=cfg.label)
            out.append(facts)
        return out

    def problems(self) -> dict[str, Problem]:
        """spec -> the instance as loaded when the suite was validated (no second load)."""
        return {cfg.spec: self._plans[cfg.run_id].problem
                for cfg in self.runs if cfg.run_id in self._plans}  # fmt: skip

    def varying_params(self) -> list[str]:
        """The parameter keys (as in a row's ``params``) whose values differ between runs of one
        solver, in first-seen order: the columns that tell its configurations apart (as
        :func:`qbench.report.varying_params` finds them in stored rows)."""
        from qbench.report import varying_keys

        solvers, params = [], []
        for cfg in self.runs:
            plan = self._plans.get(cfg.run_id)
            raw = plan.prep.config["params"] if plan is not None else cfg.params
            solvers.append(cfg.solver)
            params.append({k: json.dumps(v, sort_keys=True, default=str) for k, v in raw.items()})
        varying = {key for keys in varying_keys(solvers, params).values() for key in keys}
        return [key for key in dict.fromkeys(k for p in params for k in p) if key in varying]


def load_suite(path: str | Path, out: str | Path | None = None) -> Suite:
    """Read and validate a suite TOML and expand its runs; ONE ConfigError lists every mistake
    with its TOML key path (``solvers[1].p: ...``) before anything runs."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read suite {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if "at end of document" in message:  # name the line anyway
            last = len(text.splitlines()) or 1
            message = message.replace("at end of document", f"at end of file, line {last}")
        raise ConfigError(f"{path}: invalid TOML: {message}") from None
    return _Builder(path, data, out).build()


# ---------------------------------------------------------------------------------------------
# validation and expansion
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoder:
    """One encoder choice of a solver: the name (None for "none") and one parameter combo."""

    name: str | None
    params: dict[str, Any]
    where: str = ""


def _effective_encoder(solver: str | None, encoder: str | None) -> Component | None:
    """The component ``prepare`` routes encoder parameters to: the run's encoder (``qubo`` for
    a solver that needs a QUBO), or the meta-solver that drives it."""
    if solver is None:
        enc = None if encoder in (None, "none") else get_encoder(encoder)
    else:
        enc = resolve_encoder(get_solver(solver), encoder)
    return encoder_component(enc)


def _sweep(value: Any) -> list[Any]:
    """The values a TOML value stands for: a list sweeps, anything else is one value."""
    return list(value) if isinstance(value, list) else [value]


def _product(table: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of per-key value lists, keys in the table's order."""
    keys = list(table)
    return [dict(zip(keys, combo)) for combo in itertools.product(*table.values())]


def _type_name(value: Any) -> str:
    return type(value).__name__


class _Builder:
    """Collects every problem of a suite file, then expands the runs (or raises once)."""

    def __init__(self, path: Path, data: dict[str, Any], out: str | Path | None) -> None:
        self.path, self.data, self.out = path, data, out
        self.problems: list[str] = []
        self.loaded: dict[str, Problem] = {}
        #: published reference values given in instance tables (``best_known = ...``), by spec
        self.published: dict[str, float] = {}
        #: the ``label`` of each solver table, by its key path
        self.labels: dict[str, str] = {}
        #: seeds of solver tables that set their own (``seeds`` / ``repetitions`` in the table)
        self.solver_seeds: dict[str, list[int]] = {}
        #: ``local_search`` of solver tables that set their own
        self.solver_local: dict[str, bool] = {}
        self.backend_ok: dict[str, str | None] = {}
        self.sizes = Sizes()

    def error(self, where: str, message: str) -> None:
        line = f"{where}: {message}"
        if line not in self.problems:
            self.problems.append(line)

    def fail_if_any(self) -> None:
        if self.problems:
            count = len(self.problems)
            raise ConfigError(
                f"invalid suite {self.path} ({count} problem{'s' * (count > 1)}):\n  "
                + "\n  ".join(self.problems)
            )

    # -- top level ----------------------------------------------------------------------------

    def build(self) -> Suite:
        data = self.data
        for key in data:
            if key not in TOP_KEYS:
                self.error(key, f"unknown key; allowed: {', '.join(TOP_KEYS)}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error("name", "required: a non-empty string naming the suite")
            name = ""
        description = data.get("description", "")
        if not isinstance(description, str):
            self.error("description", f"must be a string, got {_type_name(description)}")
        seeds = self.seeds()
        timeout = self.timeout()
        repair = self.flag(data, "repair", False)
        local_search = self.flag(data, "local_search", False)
        out = self.out_folder(name)
        default_encoders = self.encoders(data.get("encoders", ["none"]), "encoders")
        default_pre = self.preprocessing(data.get("preprocess", ["none"]), "preprocess")
        specs = self.instances()
        solvers = self.solvers(default_encoders, default_pre)
        excludes = self.excludes()
        self.check_excluded_instances(excludes, specs)
        repeat = self.flag(data, "repeat_deterministic", False)
        references = self.flag(data, "references", True)
        limit = data.get("reference_time_limit", REFERENCE_TIME_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
            self.error(
                "reference_time_limit", f"must be a positive number of seconds, got {limit!r}"
            )
            limit = REFERENCE_TIME_LIMIT
        runs, plans = self.expand(specs, solvers, seeds, repair, excludes, repeat, local_search)
        self.fail_if_any()
        return Suite(
            name, self.path, out, timeout, runs, description, references,
            float(limit), plans, self.sizes,
        )  # fmt: skip

    def flag(self, data: dict[str, Any], key: str, default: bool, at: str = "") -> bool:
        """A true/false key (``default`` when absent) of the suite or of the table at key path
        ``at``; a mistake is reported and the default used."""
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(f"{at}{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def seeds(self, data: dict | None = None, at: str = "") -> list[int]:
        """The suite's seeds (or a solver table's, ``data`` at key path ``at``)."""
        data = self.data if data is None else data
        if "seeds" in data and "repetitions" in data:
            self.error(f"{at}repetitions", "give either seeds or repetitions, not both")
            return [0]
        if "repetitions" in data:
            reps = data["repetitions"]
            if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
                self.error(f"{at}repetitions", f"must be an integer >= 1, got {reps!r}")
                return [0]
            return list(range(reps))
        seeds = data.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds:
            self.error(
                f"{at}seeds",
                f"must be a non-empty list of integers like [0, 1, 2], got {seeds!r} "
                "(for N seeds 0..N-1 write repetitions = N)",
            )
            return [0]
        good = []
        for i, seed in enumerate(seeds):
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                self.error(f"{at}seeds[{i}]", f"must be an integer >= 0, got {seed!r}")
            elif seed in good:
                self.error(f"{at}seeds[{i}]", f"duplicate seed {seed}")
            else:
                good.append(seed)
        return good or [0]  # no valid seed: reported above; one stands in so runs still expand

    def timeout(self) -> float | None:
        timeout = self.data.get("timeout")
        if timeout is None:
            return None
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            self.error("timeout", f"must be a positive number of seconds, got {timeout!r}")
            return None
        return float(timeout)

    def out_folder(self, name: str) -> Path:
        """The results folder: ``--out`` when given, else the suite's ``out``; a bad ``out``
        is an error either way."""
        out = self.data.get("out")
        if out is not None and (not isinstance(out, str) or not out.strip()):
            self.error("out", f"must be a folder path (string), got {out!r}")
            out = None
        if self.out is not None:
            return Path(self.out).expanduser()
        return Path("runs") / (name or "suite") if out is None else Path(out).expanduser()

    # -- encoders -----------------------------------------------------------------------------

    def encoders(self, value: Any, where: str) -> list[_Encoder]:
        """Encoder items (names or tables, list values sweep) → one _Encoder per combo."""

        def lookup(name: str) -> tuple[Component, str]:
            comp = _effective_encoder(None, name)
            assert comp is not None
            return comp, ""

        return self.choices(value, where, "encoder", lookup)

    def preprocessing(self, value: Any, where: str) -> list[_Encoder]:
        """Preprocessing items ("none", a name or a table {name = "shrink", ...}, list values
        sweep) → one choice per combo, its options as ``<name>.KEY`` parameters."""

        def lookup(name: str) -> tuple[Component, str]:
            pre = preprocessing.get_preprocessor(name)
            return pre, f"{pre.name}."

        return self.choices(value, where, "preprocess", lookup)

    def choices(self, value: Any, where: str, kind: str, lookup) -> list[_Encoder]:
        """Named choices — a name, a table ``{name = ..., KEY = value}`` or a list of them; list
        values sweep — → one _Encoder per combo. ``lookup(name)`` gives the Component that
        checks the parameters and the prefix their keys get (ConfigError: unknown name);
        ``none`` takes no parameters."""
        items = [value] if isinstance(value, str | dict) else value
        if not isinstance(items, list) or not items:
            self.error(where, f"must be a non-empty list of {kind} names or tables, got {value!r}")
            return []
        out: list[_Encoder] = []
        for i, item in enumerate(items):
            at = f"{where}[{i}]"
            if isinstance(item, str):
                item = {"name": item}
            if not isinstance(item, dict):
                self.error(at, f"expected a {kind} name or table, got {_type_name(item)}")
                continue
            name = item.get("name")
            if not isinstance(name, str):
                self.error(f"{at}.name", f"required: the {kind} name (string)")
                continue
            raw = {k: v for k, v in item.items() if k != "name"}
            if name == "none":
                for key in raw:
                    self.error(f"{at}.{key}", f"{kind} 'none' takes no parameters")
                out.append(_Encoder(None, {}, at))
                continue
            try:
                comp, prefix = lookup(name)
            except ConfigError as exc:
                self.error(f"{at}.name", str(exc))
                continue
            values: dict[str, list[Any]] = {}
            for key, val in raw.items():
                vals = self.values(f"{at}.{key}", val)
                for v in vals:  # an encoder's values are reported where its encodings are
                    self.check_param(at if kind == "encoder" else f"{at}.{key}", comp, key, v)
                values[key] = vals
            out.extend(
                _Encoder(name, {prefix + k: v for k, v in combo.items()}, at)
                for combo in _product(values)
            )
        return out

    # -- parameters ---------------------------------------------------------------------------

    def values(self, where: str, value: Any) -> list[Any]:
        """The swept values of a parameter, each a plain TOML scalar (else an error)."""
        vals = _sweep(value)
        if not vals:
            self.error(where, "empty list: nothing to sweep")
        good = []
        for v in vals:
            if isinstance(v, str | int | float | bool):
                good.append(v)
            else:
                self.error(
                    where,
                    f"must be a string, number or boolean (a list sweeps), got {_type_name(v)}",
                )
        return good

    def check_param(self, where: str, comp: Component, key: str, value: Any) -> None:
        """Validate one value with the component's own declaration (its messages); checks
        across parameters run later, on each whole combination (``prepare``)."""
        try:
            parsed = parse_params(comp.params, {key: value}, comp.owner)
        except ConfigError as exc:
            self.error(where, str(exc))
            return
        decl: Param = next(p for p in comp.params if p.name == key)
        if decl.type is bool and not isinstance(value, bool | str):
            self.error(where, f"{comp.owner}: parameter {key}={value!r} is not a valid bool")
        if key == "backend" and parsed[key] is not None:
            message = self.check_backend(parsed[key])
            if message:
                self.error(where, message)

    def check_backend(self, name: str) -> str | None:
        """validate_backend's message for a bad name (cached; nothing is built or connected)."""
        if name not in self.backend_ok:
            try:
                validate_backend(name)
                self.backend_ok[name] = None
            except ConfigError as exc:
                self.backend_ok[name] = str(exc)
        return self.backend_ok[name]

    # -- instances ----------------------------------------------------------------------------

    def instances(self) -> list[tuple[str, str]]:
        """(spec, key path) of every instance, loaded once each; bad ones are reported."""
        items = self.data.get("instances")
        if not isinstance(items, list) or not items:
            self.error("instances", "required: a non-empty list of instance specs or tables")
            return []
        specs: list[tuple[str, str]] = []
        for i, item in enumerate(items):
            at = f"instances[{i}]"
            if isinstance(item, str):
                specs.append((item.strip(), at))
            elif isinstance(item, dict):
                specs.extend((spec, at) for spec in self.instance_table(at, item))
            else:
                self.error(at, f"expected a spec string or a table, got {_type_name(item)}")
        out = []
        for spec, at in specs:
            if spec not in self.loaded:
                try:
                    self.loaded[spec] = load_spec(spec)
                except QbenchError as exc:
                    self.error(at, f"spec {spec!r}: {exc}" if spec not in str(exc) else str(exc))
                    continue
                out.append((spec, at))
        return out

    def instance_table(self, at: str, table: dict[str, Any]) -> list[str]:
        """A generator table → its spec strings (lists sweep); a file table → 'kind:path'."""
        kind = table.get("problem")
        if kind is not None:
            try:
                kind = problem_class(str(kind)).kind
            except ConfigError as exc:
                self.error(f"{at}.problem", str(exc))
                return []
        best = table.get("best_known")
        if best is not None and (isinstance(best, bool) or not isinstance(best, int | float)):
            self.error(f"{at}.best_known", f"must be a number, got {best!r}")
            best = None
        if "file" in table:
            for key in table:
                if key not in ("file", "problem", "best_known"):
                    self.error(
                        f"{at}.{key}", "unknown key for a file; allowed: file, problem, best_known"
                    )
            file = table["file"]
            if not isinstance(file, str) or not file.strip():
                self.error(f"{at}.file", f"must be a path (string), got {file!r}")
                return []
            spec = f"{kind}:{file}" if kind else file
            if best is not None:
                self.published[spec] = float(best)
            return [spec]
        if kind is None:
            self.error(
                at,
                "a table needs 'problem' (a generator: problem, then its parameters) or 'file'; "
                f"problems: {', '.join(sorted(PROBLEMS))}",
            )
            return []
        allowed = generator_params(kind)
        order = [k for k in allowed if k != "seed"] + ["seed"]
        values: dict[str, list[Any]] = {}
        for key in table:
            if key in ("problem", "best_known"):
                continue
            if key not in allowed:
                self.error(
                    f"{at}.{key}",
                    f"unknown key; allowed: problem, file, {', '.join(order)}, best_known",
                )
                continue
            vals = self.values(f"{at}.{key}", table[key])
            for v in vals:
                if isinstance(v, str) and ("," in v or "=" in v):
                    self.error(f"{at}.{key}", f"value {v!r} must not contain ',' or '='")
            values[key] = vals
        # a table of defaults only (or only unknown keys, reported above) is the default seed
        ordered = {k: values[k] for k in order if k in values} or {"seed": [allowed["seed"]]}
        specs = [
            f"{kind}:" + ",".join(f"{k}={_spec_value(v)}" for k, v in combo.items())
            for combo in _product(ordered)
        ]
        if best is not None:
            if len(specs) > 1:
                self.error(f"{at}.best_known", "a table that sweeps names several instances")
            self.published.update(dict.fromkeys(specs, float(best)))
        return specs

    # -- solvers ------------------------------------------------------------------------------

    def solvers(
        self, default: list[_Encoder], default_pre: list[_Encoder]
    ) -> list[tuple[str, str, list[_Encoder], list[_Encoder], list]]:
        """(key path, solver name, encoder choices, preprocessing choices, parameter combos) per
        solver table."""
        items = self.data.get("solvers")
        if not isinstance(items, list) or not items:
            self.error("solvers", "required: at least one [[solvers]] table with a name")
            return []
        out = []
        for i, table in enumerate(items):
            at = f"solvers[{i}]"
            if not isinstance(table, dict):
                self.error(at, f"expected a table ([[solvers]]), got {_type_name(table)}")
                continue
            name = table.get("name")
            if not isinstance(name, str):
                self.error(f"{at}.name", f"required: the solver name; allowed: {_names()}")
                continue
            try:
                solver = get_solver(name)
            except ConfigError as exc:
                self.error(f"{at}.name", str(exc))
                continue
            encoders = default
            if "encoders" in table:
                encoders = self.encoders(table["encoders"], f"{at}.encoders")
            pre = default_pre
            if "preprocess" in table:
                pre = self.preprocessing(table["preprocess"], f"{at}.preprocess")
            values: dict[str, list[Any]] = {}
            label = table.get("label")
            if label is not None:
                if isinstance(label, str) and label.strip():
                    self.labels[at] = label.strip()
                else:
                    self.error(f"{at}.label", f"must be a non-empty string, got {label!r}")
            if "seeds" in table or "repetitions" in table:
                self.solver_seeds[at] = self.seeds(table, f"{at}.")
            if "local_search" in table:
                self.solver_local[at] = self.flag(table, "local_search", False, f"{at}.")
            for key, value in table.items():
                if key in TABLE_KEYS:
                    continue
                if key == "backend_options":  # a table: each option sweeps like a parameter
                    values.update(self.backend_options(value, f"{at}.{key}"))
                    continue
                vals = self.values(f"{at}.{key}", value)
                values[key] = vals
                # with no valid encoder (reported), the values are still checked, as the
                # solver's default routing would send them
                names = {e.name for e in encoders} or {None}
                for v in vals:
                    for enc in names:
                        self.check_routed(f"{at}.{key}", solver, enc, key, v)
            out.append((at, name, encoders, pre, _product(values)))
        return out

    def backend_options(self, table: Any, where: str) -> dict[str, list[Any]]:
        """``backend_options = {mitigation = "trex", ...}``: swept ``backend.KEY`` values."""
        if not isinstance(table, dict):
            self.error(where, f"must be a table of device-backend options, got {_type_name(table)}")
            return {}
        out = {}
        for key, value in table.items():
            vals = self.values(f"{where}.{key}", value)
            for v in vals:
                try:
                    check_option(key, v, owner="device-backend options")
                except ConfigError as exc:
                    self.error(f"{where}.{key}", str(exc))
            out[f"backend.{key}"] = vals
        return out

    def check_routed(self, where: str, solver: Component, enc: str | None, key: str, v: Any):
        """Check a solver-table value where ``prepare`` would route it (encoder or solver)."""
        comp = _effective_encoder(solver.name, enc)
        try:
            to_enc, to_solver = split_params({key: v}, comp, solver)
        except ConfigError as exc:
            self.error(where, str(exc))
            return
        for target, part in ((comp, to_enc), (solver, to_solver)):
            for k, val in part.items():
                self.check_param(where, target, k, val)

    # -- exclusions ---------------------------------------------------------------------------

    def excludes(self) -> list[tuple[str, dict[str, set[str]]]]:
        items = self.data.get("exclude", [])
        if not isinstance(items, list):
            self.error("exclude", "must be a list of [[exclude]] tables")
            return []
        out = []
        for i, table in enumerate(items):
            at = f"exclude[{i}]"
            if not isinstance(table, dict):
                self.error(at, f"expected a table ([[exclude]]), got {_type_name(table)}")
                continue
            if not table:
                self.error(at, f"empty: give at least one of {', '.join(EXCLUDE_FIELDS)}")
                continue
            rule: dict[str, set[str]] = {}
            for key, value in table.items():
                where = f"{at}.{key}"
                if key not in EXCLUDE_FIELDS:
                    self.error(where, f"unknown key; allowed: {', '.join(EXCLUDE_FIELDS)}")
                    continue
                vals = _sweep(value)
                if not vals or not all(isinstance(v, str) for v in vals):
                    self.error(where, f"must be a string or a list of strings, got {value!r}")
                    continue
                for v in vals:
                    message = _exclude_value_error(key, v)
                    if message:
                        self.error(where, message)
                rule[key] = set(vals)
            out.append((at, rule))
        return out

    def check_excluded_instances(self, excludes, specs) -> None:
        """An ``instance`` exclusion must name a listed instance (else it is a silent typo)."""
        if any(p.startswith("instances") for p in self.problems):
            return  # some instances failed to load: their names are unknown
        names = {spec for spec, _ in specs} | {self.loaded[spec].name for spec, _ in specs}
        for at, rule in excludes:
            for value in sorted(rule.get("instance", ())):
                if value not in names:
                    shown = ", ".join(sorted(names))
                    self.error(
                        f"{at}.instance",
                        f"{value!r} matches no instance of the suite (specs or names: {shown})",
                    )

    # -- expansion ----------------------------------------------------------------------------

    def expand(
        self, specs, solvers, seeds, repair, excludes, repeat_deterministic=False,
        local_search=False,
    ):  # fmt: skip
        """Every run in order; ``prepare`` validates each config once (the seed only enters
        the config's ``seed``, so the other seeds' ids are hashed without reloading). A
        deterministic solver runs with the first seed only, unless ``repeat_deterministic``."""
        runs: list[RunConfig] = []
        plans: dict[str, Plan] = {}
        # a table with a reported mistake would fail in prepare with the same message: only
        # tables without one report prepare's errors (e.g. gammas of the wrong length for p)
        flagged = [line.split(":", 1)[0] for line in self.problems]

        def reported(where: str) -> bool:
            return any(f == where or f.startswith((where + ".", where + "[")) for f in flagged)

        seen: set[tuple[str, str]] = set()
        grid = [
            (spec, at, solver, enc, pre, combo)
            for spec, _ in specs
            for at, solver, encoders, pres, combos in solvers
            for enc in encoders
            for pre in pres
            for combo in combos
        ]
        for spec, at, solver, enc, pre, combo in grid:
            problem = self.loaded[spec]
            params = {**{f"encoder.{k}": v for k, v in enc.params.items()}, **pre.params, **combo}
            search = self.solver_local.get(at, local_search)
            try:
                prep = prepare(spec, solver, params, seeds[0], enc.name, repair, pre.name,
                               local_search=search)  # fmt: skip
            except QbenchError as exc:
                if not any(reported(w) for w in (at, enc.where, pre.where) if w):
                    self.error(at, f"instance {spec!r}, encoder {enc.name or 'none'}: {exc}")
                continue
            plan = Plan(prep, self.sizes)
            n_qubits, reason = plan.encoded_qubits()  # encoding validates its values (penalty=)
            if n_qubits is None:
                where = enc.where if enc.params else at
                if (where, reason) not in seen:  # once, not once per instance
                    seen.add((where, reason))
                    self.error(where, f"instance {spec!r}: {reason}")
                continue
            if prep.preprocessor is not None:
                try:
                    prep.preprocessor.size(prep.preprocess_options, n_qubits, prep.problem)
                except ConfigError as exc:
                    self.error(pre.where, f"instance {spec!r}: {exc}")
                    continue
            fields = {
                "instance": {spec, problem.name},
                "problem": {problem.kind},
                "solver": {solver},
                "encoder": {prep.encoder.name if prep.encoder else "none"},
                "backend": {prep.backend},
                "preprocess": {prep.preprocess_label},
            }
            if any(all(fields[k] & v for k, v in rule.items()) for _, rule in excludes):
                continue
            once = prep.deterministic and not repeat_deterministic
            published = self.published.get(spec)
            reference = None if published is None else (published, "published")
            own = self.solver_seeds.get(at, seeds)
            for seed in own[:1] if once else own:
                rid = run_id({**prep.config, "seed": seed})
                if rid not in plans:
                    plans[rid] = plan
                    runs.append(
                        RunConfig(
                            spec,
                            solver,
                            enc.name,
                            params,
                            seed,
                            repair,
                            rid,
                            pre.name,
                            self.labels.get(at),
                            reference,
                            search,
                        )  # fmt: skip
                    )
        if not runs and not self.problems:
            self.error("exclude", "the exclusions remove every run of the suite")
        return runs, plans


def _spec_value(value: Any) -> str:
    """A generator value as spec text (booleans lower-case, like TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _names() -> str:
    return ", ".join(sorted(SOLVERS))


def _exclude_value_error(key: str, value: str) -> str | None:
    """Why an exclusion value can never match (a typo), reusing the registries' messages."""
    try:
        if key == "problem":
            problem_class(value)
        elif key == "solver":
            get_solver(value)
        elif key == "encoder" and value != "none":
            get_encoder(value)
    except ConfigError as exc:
        return str(exc)
    labels = preprocessing.labels()
    if key == "preprocess" and value not in labels:
        return f"unknown preprocess {value!r}; allowed: {', '.join(labels)}"
    if key == "backend" and value != CLASSICAL:
        try:
            validate_backend(value)
        except ConfigError:
            return f"unknown backend {value!r}; allowed: {', '.join([CLASSICAL, *allowed_names()])}"
    return None
