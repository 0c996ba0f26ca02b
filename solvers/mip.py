"""The mip solver: the original problem (not its QUBO) as a mixed-integer program, through PuLP.

Exact, with a proven dual bound, so it is the classical reference every other solver is judged
against. Each problem kind has its own textbook formulation:

- MDKP: ``max p·x`` s.t. ``W x <= c``.
- MIS: ``max Σ x`` with ``Σ_{v in K} x_v <= 1`` for the cliques K of a greedy clique cover of the
  edges (every edge lies in one K; an edge alone gives ``x_u + x_v <= 1``). Measured against one
  row per edge and one per maximal clique: the Sloane 64-node graphs take < 0.15 s either way,
  but on random G(80, 0.5) CBC needs 5.7 s with the cover, 13 s with edges and 46 s with all
  maximal cliques (whose number also grows exponentially with density).
- QAP: Kaufman–Broeckx linearisation: binaries ``x_ik`` (facility i at location k), continuous
  ``w_ik >= 0`` with ``w_ik >= e_ik x_ik + Σ_jl f_ij d_kl x_jl - e_ik``, ``e_ik = Σ_jl f_ij d_kl``,
  ``min Σ w`` and the assignment equalities. Compact (n² + n² variables) but its LP bound is
  weak, so it only proves optimality for small n (about n <= 8); it needs non-negative data
  (other QAPs fall back to the generic linearisation).
- TSP: symmetric edge formulation (one binary per edge u < v, degree 2 per city) with subtour
  elimination cuts ``Σ_{e in δ(S)} x_e >= 2`` added lazily: solve, split the chosen edges into
  connected components, cut every subtour, re-solve until one tour remains. The time limit spans
  the whole loop; on a time-out the last subtours are patched into a tour (cheapest 2-exchange).
- MSP: ``min Σ (s⁺_i + s⁻_i)`` s.t. ``d_i·x - b_i = s⁺_i - s⁻_i``, ``s >= 0`` continuous.
- Anything else (a BinaryProgram, or a problem of another kind through its program): the linear
  objective plus one continuous ``y_ij`` per quadratic term, linearised on the side its sign needs
  (``y <= x_i``, ``y <= x_j`` or ``y >= x_i + x_j - 1``, ``y >= 0``), and the program's rows.

Engines: "cbc" (bundled with PuLP) and "highs" (highspy, ``pip install qbench[highs]``).
Solutions are bitstrings over the target program's variables; the objective is recomputed from
the bitstring by the target itself.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import networkx as nx
import numpy as np
import pulp

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.program import BinaryProgram
from qbench.solvers.base import Solver, SolveResult

ENGINES = ("cbc", "highs")
_SEED_MOD = 2**31 - 1
_HIGHS_SOLUTION_FEASIBLE = 2  # highspy SolutionStatus.kSolutionStatusFeasible
_PULP_SENSE = {"<=": pulp.LpConstraintLE, "==": pulp.LpConstraintEQ, ">=": pulp.LpConstraintGE}


@dataclass(frozen=True)
class _Options:
    """The validated solve options shared by every MIP solve of one call."""

    engine: str
    time_limit: float | None
    gap_rel: float | None
    msg: bool
    threads: int | None
    seed: int | None


@dataclass
class _Run:
    """Outcome of one MIP solve: status, dual bound on the MIP objective, wall time."""

    status: str
    bound: float | None
    seconds: float
    message: str = ""


class _Mip:
    """A PuLP model under construction, fed with index/coefficient arrays rather than algebra."""

    def __init__(self, sense: str):
        self.sense = sense
        self.prob = pulp.LpProblem(
            "qbench_mip", pulp.LpMaximize if sense == "max" else pulp.LpMinimize
        )
        self._prefixes: set[str] = set()

    def variables(
        self, prefix: str, count: int, *, binary: bool = True, up: float | None = None
    ) -> list[pulp.LpVariable]:
        """``count`` new variables (binary, or continuous in [0, up]) named prefix_0, prefix_1..."""
        if prefix in self._prefixes:
            raise ValueError(f"variable prefix {prefix!r} used twice")
        self._prefixes.add(prefix)
        cat = pulp.LpBinary if binary else pulp.LpContinuous
        make = getattr(self.prob, "add_variable", None)  # PuLP >= 3.3; LpVariable before
        if make is None:
            return [pulp.LpVariable(f"{prefix}_{i}", 0, up, cat) for i in range(count)]
        return [make(f"{prefix}_{i}", 0, up, cat=cat) for i in range(count)]

    @staticmethod
    def expr(variables: Sequence[pulp.LpVariable], coefs: Sequence[float]) -> Any:
        """The affine expression Σ coef·var, merging repeated variables and dropping zeros."""
        merged: dict[pulp.LpVariable, float] = {}
        for var, coef in zip(variables, coefs):
            merged[var] = merged.get(var, 0.0) + float(coef)
        return pulp.LpAffineExpression([(v, c) for v, c in merged.items() if c != 0.0])

    def constrain(
        self, variables: Sequence[pulp.LpVariable], coefs: Sequence[float], sense: str, rhs: float
    ) -> None:
        """Add the row Σ coef·var (sense) rhs."""
        row = pulp.LpConstraint(self.expr(variables, coefs), sense=_PULP_SENSE[sense], rhs=rhs)
        self.prob.addConstraint(row)

    def set_objective(self, variables: Sequence[pulp.LpVariable], coefs: Sequence[float]) -> None:
        self.prob.setObjective(self.expr(variables, coefs))

    @staticmethod
    def values(variables: Sequence[pulp.LpVariable]) -> np.ndarray:
        """Current solution values (unused variables count as 0)."""
        return np.array([v.varValue or 0.0 for v in variables], dtype=float)

    def objective_value(self) -> float | None:
        value = pulp.value(self.prob.objective)
        return None if value is None else float(value)

    def size(self) -> tuple[int, int]:
        return self.prob.numVariables(), self.prob.numConstraints()


@dataclass
class _Model:
    """A built formulation: the MIP and how to read the target's bitstring back from it."""

    mip: _Mip
    decode: Callable[[], np.ndarray]
    integral: bool
    offset: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def _is_integral(*arrays: Any) -> bool:
    """True when every number given is an integer (so objectives and bounds can be rounded)."""
    for arr in arrays:
        a = np.asarray(arr, dtype=float)
        if a.size and not np.all(a == np.round(a)):
            return False
    return True


def _binary(values: np.ndarray) -> np.ndarray:
    return (np.asarray(values) > 0.5).astype(np.int8)


# ----------------------------------------------------------------------------- formulations


def _mdkp_model(problem: Any) -> _Model:
    """max p·x s.t. W x <= c."""
    profits = np.asarray(problem.profits, dtype=float)
    weights = np.asarray(problem.weights, dtype=float)
    caps = np.asarray(problem.capacities, dtype=float)
    mip = _Mip("max")
    x = mip.variables("x", profits.size)
    mip.set_objective(x, profits)
    for row, cap in zip(weights, caps):
        nz = np.flatnonzero(row)
        mip.constrain([x[i] for i in nz], row[nz], "<=", float(cap))
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(profits))


def _clique_cover(graph: nx.Graph) -> list[list[int]]:
    """Cliques covering every edge: each uncovered edge grown greedily by common neighbours."""
    uncovered = {(min(u, v), max(u, v)) for u, v in graph.edges() if u != v}
    cliques = []
    while uncovered:
        u, v = min(uncovered)
        clique = [u, v]
        for w in sorted(set(graph[u]) & set(graph[v]) - {u, v}):
            if all(graph.has_edge(w, c) for c in clique[2:]):
                clique.append(w)
        cliques.append(clique)
        uncovered -= {(min(a, b), max(a, b)) for i, a in enumerate(clique) for b in clique[i + 1 :]}
    return cliques


def _mis_model(problem: Any) -> _Model:
    """max Σx s.t. Σ_{v in K} x_v <= 1 for each clique K of a greedy clique cover of the edges."""
    graph: nx.Graph = problem.graph
    n = graph.number_of_nodes()
    mip = _Mip("max")
    x = mip.variables("x", n)
    mip.set_objective(x, np.ones(n))
    cliques = _clique_cover(graph)
    for clique in cliques:
        mip.constrain([x[v] for v in clique], np.ones(len(clique)), "<=", 1)
    for u in sorted(nx.nodes_with_selfloops(graph)):
        mip.constrain([x[u]], [1], "<=", 0)
    info = {"n_clique_rows": sum(len(c) > 2 for c in cliques)}
    return _Model(mip, lambda: _binary(mip.values(x)), True, info=info)


def _qap_model(problem: Any) -> _Model:
    """Kaufman–Broeckx: min Σ w_ik, w_ik >= e_ik x_ik + Σ_jl f_ij d_kl x_jl - e_ik, assignment."""
    flow = np.asarray(problem.flow, dtype=float)
    dist = np.asarray(problem.dist, dtype=float)
    n = flow.shape[0]
    mip = _Mip("min")
    x = mip.variables("x", n * n)
    w = mip.variables("w", n * n, binary=False)
    mip.set_objective(w, np.ones(n * n))
    for i in range(n):
        mip.constrain(x[i * n : (i + 1) * n], np.ones(n), "==", 1)
        mip.constrain(x[i::n], np.ones(n), "==", 1)
    for i in range(n):
        for k in range(n):
            coef = np.outer(flow[i], dist[k]).ravel()  # coefficient of x_jl at j*n + l
            e_ik = float(coef.sum())
            coef[i * n + k] += e_ik
            nz = np.flatnonzero(coef)
            mip.constrain([w[i * n + k]] + [x[j] for j in nz], [1.0, *(-coef[nz])], ">=", -e_ik)
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(flow, dist))


def _msp_model(problem: Any) -> _Model:
    """min Σ (s⁺ + s⁻) s.t. d_i·x - s⁺_i + s⁻_i = b_i."""
    demands = np.asarray(problem.demands, dtype=float)
    targets = np.asarray(problem.targets, dtype=float)
    m, n = demands.shape
    mip = _Mip("min")
    x = mip.variables("x", n)
    sp_ = mip.variables("sp", m, binary=False)
    sm = mip.variables("sm", m, binary=False)
    mip.set_objective(sp_ + sm, np.ones(2 * m))
    for i in range(m):
        nz = np.flatnonzero(demands[i])
        mip.constrain(
            [x[j] for j in nz] + [sp_[i], sm[i]],
            [*demands[i, nz], -1.0, 1.0],
            "==",
            float(targets[i]),
        )
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(demands, targets))


def _generic_model(program: BinaryProgram) -> _Model:
    """Linear objective, one y_ij per quadratic term linearised on the side its sign needs, rows."""
    n = program.n_vars
    mip = _Mip(program.sense)
    x = mip.variables("x", n)
    q = program.quadratic.tocoo()
    y = mip.variables("y", q.nnz, binary=False, up=1.0)
    mip.set_objective(list(x) + list(y), np.concatenate([program.linear, q.data]))
    minimise = program.sense == "min"
    for t, (i, j, c) in enumerate(zip(q.row, q.col, q.data)):
        if (c > 0) == minimise:  # the solver wants y small: force it up when both are 1
            mip.constrain([y[t], x[i], x[j]], [1, -1, -1], ">=", -1)
        else:  # the solver wants y large: cap it by each factor
            mip.constrain([y[t], x[i]], [1, -1], "<=", 0)
            mip.constrain([y[t], x[j]], [1, -1], "<=", 0)
    A = program.A.tocsr()
    for r, (sense, rhs) in enumerate(zip(program.senses, program.b)):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        mip.constrain([x[j] for j in A.indices[lo:hi]], A.data[lo:hi], sense, float(rhs))
    integral = _is_integral(program.linear, program.quadratic.data, program.constant)
    return _Model(mip, lambda: _binary(mip.values(x)), integral, offset=program.constant)


def _model(target: Any) -> _Model:
    """The formulation of a target: its kind's own, else the generic one of its program."""
    if isinstance(target, BinaryProgram):
        return _generic_model(target)
    kind = getattr(target, "kind", "")
    if kind == "mdkp":
        return _mdkp_model(target)
    if kind == "mis":
        return _mis_model(target)
    if kind == "msp":
        return _msp_model(target)
    if kind == "qap" and np.min(target.flow) >= 0 and np.min(target.dist) >= 0:
        return _qap_model(target)
    return _generic_model(target.program)


# ----------------------------------------------------------------------------- engines


def _seed_value(seed: int | None) -> int | None:
    return None if seed is None else int(seed) % _SEED_MOD


def _run(mip: _Mip, opts: _Options, time_limit: float | None) -> _Run:
    """Solve the model once with the chosen engine."""
    if opts.engine == "highs":
        return _run_highs(mip, opts, time_limit)
    return _run_cbc(mip, opts, time_limit)


_CBC_BOUND = re.compile(r"^(?:Upper|Lower) bound:\s*(\S+)", re.MULTILINE)
_CBC_BEST_POSSIBLE = re.compile(r"best possible\s+(\S+?)[,)\s]")
_CBC_SOLUTION = re.compile(r"Integer solution of|Objective value:", re.MULTILINE)


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) < 1e40 else None


def _cbc_bound(log: str, sense: str) -> float | None:
    """The dual bound CBC printed: its final 'Upper/Lower bound' line, else its 'best possible'."""
    found = _CBC_BOUND.findall(log)
    if found:
        return _parse_float(found[-1])
    found = _CBC_BEST_POSSIBLE.findall(log)
    if found:
        value = _parse_float(found[-1])  # CBC minimises internally: negated for max
        return None if value is None else (-value if sense == "max" else value)
    return None


def _run_cbc(mip: _Mip, opts: _Options, time_limit: float | None) -> _Run:
    options = []
    seed = _seed_value(opts.seed)
    if seed is not None:
        options += [f"randomCbcSeed {seed}", f"randomSeed {seed}"]
    with tempfile.TemporaryDirectory(prefix="qbench-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():  # PuLP 3.3 flags the bundled CBC for its 4.0 release
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=time_limit,
                gapRel=opts.gap_rel,
                threads=opts.threads,
                options=options,
                logPath=str(log_path),
            )
        if not solver.available():
            raise ConfigError("engine 'cbc': PuLP's bundled CBC binary is not available here")
        start = perf_counter()
        try:
            mip.prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return _Run("error", None, perf_counter() - start, str(exc))
        seconds = perf_counter() - start
        log = log_path.read_text() if log_path.exists() else ""
    if opts.msg:
        print(log)
    status, sol_status = mip.prob.status, mip.prob.sol_status
    bound = _cbc_bound(log, mip.sense)
    if status == pulp.LpStatusOptimal and sol_status == pulp.LpSolutionOptimal:
        return _optimal_run(mip, opts, bound, seconds)
    if status == pulp.LpStatusOptimal and sol_status == pulp.LpSolutionIntegerFeasible:
        # CBC's solution file says 'Stopped on time - objective value ...' even without an
        # incumbent; only the log tells whether an integer solution was ever found
        found = "No feasible solution found" not in log and bool(_CBC_SOLUTION.search(log))
        return _Run("feasible" if found else "timeout", bound, seconds)
    if status == pulp.LpStatusInfeasible:
        if time_limit is not None and seconds >= time_limit:
            # CBC 2.10 says 'Pre-processing says infeasible' when the clock stops its presolve
            return _Run("timeout", None, seconds, "CBC stopped by the time limit in presolve")
        return _Run("infeasible", None, seconds)
    if status == pulp.LpStatusNotSolved and time_limit is not None:
        return _Run("timeout", bound, seconds)
    return _Run("error", bound, seconds, f"CBC status {pulp.LpStatus.get(status, status)}")


def _run_highs(mip: _Mip, opts: _Options, time_limit: float | None) -> _Run:
    try:
        import highspy
    except ImportError:
        raise ConfigError(
            "engine 'highs' needs the highspy package: pip install qbench[highs]"
        ) from None
    params: dict[str, Any] = {}
    seed = _seed_value(opts.seed)
    if seed is not None:
        params["random_seed"] = seed
    solver = pulp.HiGHS(
        msg=opts.msg,
        timeLimit=time_limit,
        # HiGHS stops at a 1e-4 relative gap by default: ask for proven optimality instead
        gapRel=0.0 if opts.gap_rel is None else opts.gap_rel,
        threads=opts.threads,
        **params,
    )
    reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
    if opts.threads is not None and reset is not None:
        reset(True)  # HiGHS refuses a thread count that differs from its running scheduler's
    start = perf_counter()
    try:
        mip.prob.solve(solver)
    except pulp.PulpSolverError as exc:
        return _Run("error", None, perf_counter() - start, str(exc))
    seconds = perf_counter() - start
    model = mip.prob.solverModel
    status = model.getModelStatus()
    info = model.getInfo()
    bound = _parse_float(str(info.mip_dual_bound))
    if bound is not None and mip.sense == "max":  # PuLP hands HiGHS the negated objective
        bound = -bound
    has_solution = int(info.primal_solution_status) == _HIGHS_SOLUTION_FEASIBLE
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        return _optimal_run(mip, opts, bound, seconds)
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return _Run("infeasible", None, seconds)
    limits = ("kTimeLimit", "kInterrupt", "kHighsInterrupt", "kIterationLimit", "kSolutionLimit")
    if any(status == getattr(ms, name, None) for name in limits):
        return _Run("feasible" if has_solution else "timeout", bound, seconds)
    return _Run("error", bound, seconds, f"HiGHS status {model.modelStatusToString(status)}")


def _optimal_run(mip: _Mip, opts: _Options, bound: float | None, seconds: float) -> _Run:
    """An engine's 'optimal': proven unless a user gap let it stop early with a looser bound."""
    value = mip.objective_value()
    if not opts.gap_rel or bound is None or value is None:
        return _Run("optimal", value if bound is None or not opts.gap_rel else bound, seconds)
    if abs(bound - value) <= 1e-9 * max(1.0, abs(value)):
        return _Run("optimal", value, seconds)
    return _Run("feasible", bound, seconds)


# ----------------------------------------------------------------------------- TSP loop


def _cycles(n: int, edges: np.ndarray) -> list[list[int]]:
    """The cycles of a 2-regular edge set, each walked from its smallest city."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(map(tuple, edges))
    cycles = []
    for comp in sorted(nx.connected_components(graph), key=min):
        start = min(comp)
        order, prev, cur = [start], None, start
        while True:
            nxt = [v for v in sorted(graph[cur]) if v != prev and (v != start or len(order) > 2)]
            if not nxt or nxt[0] == start:
                break
            prev, cur = cur, nxt[0]
            order.append(cur)
        cycles.append(order)
    return cycles


def _patch(cycles: list[list[int]], dist: np.ndarray) -> list[int]:
    """Join subtours into one tour, each time by the cheapest 2-exchange between two cycles."""
    cycles = sorted(cycles, key=len, reverse=True)
    tour = list(cycles[0])
    for cyc in cycles[1:]:
        a = np.array(tour)
        b = np.roll(a, -1)
        c = np.array(cyc)
        d = np.roll(c, -1)
        removed = dist[a, b][:, None] + dist[c, d][None, :]
        backward = dist[a[:, None], c[None, :]] + dist[d[None, :], b[:, None]] - removed
        forward = dist[a[:, None], d[None, :]] + dist[c[None, :], b[:, None]] - removed
        use_forward = forward.min() < backward.min()
        delta = forward if use_forward else backward
        ai, ci = np.unravel_index(int(np.argmin(delta)), delta.shape)
        size = len(cyc)
        if use_forward:  # a -> d ... (forward) ... c -> b
            seq = [cyc[(ci + 1 + t) % size] for t in range(size)]
        else:  # a -> c ... (backward) ... d -> b
            seq = [cyc[(ci - t) % size] for t in range(size)]
        tour = tour[: ai + 1] + seq + tour[ai + 1 :]
    return tour


def _tour_perm(tour: list[int]) -> np.ndarray:
    """perm[c] = position of city c in the tour started at city 0."""
    start = tour.index(0)
    order = tour[start:] + tour[:start]
    perm = np.empty(len(order), dtype=int)
    perm[np.array(order)] = np.arange(len(order))
    return perm


def _solve_tsp(problem: Any, opts: _Options, start: float) -> SolveResult:
    """Edge formulation with lazily added subtour cuts, re-solved until one tour remains."""
    dist = np.asarray(problem.dist, dtype=float)
    n = dist.shape[0]
    integral = _is_integral(dist)
    info: dict[str, Any] = {"engine": opts.engine, "formulation": "tsp-edges+subtour-cuts"}
    if n <= 3:  # a single tour up to direction: nothing to optimise
        x = problem.perm_to_x(np.arange(n))
        info.update(n_mip_vars=0, n_mip_constraints=0, subtour_cuts=0, gap=0.0)
        return _result(problem, x, "optimal", None, integral, 0, info, start)
    iu, ju = np.triu_indices(n, 1)
    mip = _Mip("min")
    e = mip.variables("e", iu.size)
    mip.set_objective(e, dist[iu, ju])
    for city in range(n):
        idx = np.flatnonzero((iu == city) | (ju == city))
        mip.constrain([e[k] for k in idx], np.ones(idx.size), "==", 2)
    deadline = None if opts.time_limit is None else start + opts.time_limit
    lower: float | None = None
    last_cycles: list[list[int]] | None = None
    status, tour, rounds, cuts, message = "timeout", None, 0, 0, ""
    while True:
        remaining = None if deadline is None else deadline - perf_counter()
        if remaining is not None and remaining <= 0:
            break
        run = _run(mip, opts, remaining)
        rounds += 1
        message = run.message
        if run.bound is not None:
            lower = run.bound if lower is None else max(lower, run.bound)
        if run.status not in ("optimal", "feasible"):
            status = run.status
            break
        chosen = _binary(mip.values(e)).astype(bool)
        cycles = _cycles(n, np.column_stack([iu[chosen], ju[chosen]]))
        last_cycles = cycles
        if len(cycles) == 1:
            status, tour = run.status, cycles[0]
            break
        for comp in cycles[: 1 if len(cycles) == 2 else len(cycles)]:
            inside = np.zeros(n, dtype=bool)
            inside[comp] = True
            cut = np.flatnonzero(inside[iu] != inside[ju])
            mip.constrain([e[k] for k in cut], np.ones(cut.size), ">=", 2)
            cuts += 1
    # time ran out with subtours left: join them into a tour (bounded by every round's bound)
    if tour is None and status in ("timeout", "feasible") and last_cycles is not None:
        status, tour = "feasible", _patch(last_cycles, dist)
    n_vars, n_rows = mip.size()
    info.update(n_mip_vars=n_vars, n_mip_constraints=n_rows, subtour_cuts=cuts)
    if message:
        info["message"] = message
    x = None if tour is None else problem.perm_to_x(_tour_perm(tour))
    return _result(problem, x, status, lower, integral, rounds, info, start)


# ----------------------------------------------------------------------------- results


def _result(
    target: Any,
    x: np.ndarray | None,
    status: str,
    bound: float | None,
    integral: bool,
    iterations: int,
    info: dict[str, Any],
    start: float,
) -> SolveResult:
    """Recompute the objective from x, tidy the bound (rounded when integral) and the status."""
    sense = target.sense
    objective = None
    if x is not None:
        x = _binary(x)
        if not bool(target.is_feasible(x)):
            info["message"] = "the solver's solution breaks the target's constraints"
            status = "error"
        objective = float(target.objective(x))
        if integral:
            objective = float(round(objective))
    if bound is not None and integral:  # the optimum is an integer: round the bound towards it
        bound = float(math.floor(bound + 1e-6) if sense == "max" else math.ceil(bound - 1e-6))
    if bound is not None and objective is not None:
        slack = (bound - objective) if sense == "max" else (objective - bound)
        if slack < -1e-6 * max(1.0, abs(objective)):  # a bound that cuts off a known solution
            info["message"] = f"dropped the engine's invalid bound {bound}"
            bound = None
    if status == "optimal":
        bound = objective
    elif (
        status == "feasible"
        and bound is not None
        and objective is not None
        and abs(bound - objective) <= 1e-9 * max(1.0, abs(objective))
    ):
        status = "optimal"  # the bound proves the incumbent optimal
    if status in ("optimal", "feasible") and objective is not None and bound is not None:
        info["gap"] = abs(bound - objective) / max(1.0, abs(objective))
    info["time_s"] = perf_counter() - start
    return SolveResult(
        x=x if status in ("optimal", "feasible") else None,
        status=status,
        objective=objective if status in ("optimal", "feasible") else None,
        bound=bound,
        iterations=iterations,
        info=info,
    )


def _options(
    seed: int | None,
    engine: str,
    time_limit: float | None,
    gap_rel: float | None,
    msg: bool,
    threads: int | None,
) -> _Options:
    """Validate the solve options (ConfigError names the bad one and what is allowed)."""
    if engine not in ENGINES:
        raise ConfigError(f"solver 'mip': engine {engine!r} not allowed; allowed: cbc, highs")
    if time_limit is not None and not time_limit > 0:
        raise ConfigError(f"solver 'mip': time_limit must be > 0 seconds, got {time_limit}")
    if gap_rel is not None and not gap_rel >= 0:
        raise ConfigError(f"solver 'mip': gap_rel must be >= 0, got {gap_rel}")
    if threads is not None and threads < 1:
        raise ConfigError(f"solver 'mip': threads must be >= 1, got {threads}")
    return _Options(engine, time_limit, gap_rel, bool(msg), threads, seed)


def solve(
    target: Any,
    *,
    seed: int | None = None,
    engine: str = "cbc",
    time_limit: float | None = None,
    gap_rel: float | None = None,
    msg: bool = False,
    threads: int | None = None,
) -> SolveResult:
    """Solve a Problem (in its own MIP formulation) or a BinaryProgram exactly with CBC or HiGHS."""
    opts = _options(seed, engine, time_limit, gap_rel, msg, threads)
    start = perf_counter()
    if not isinstance(target, BinaryProgram) and getattr(target, "kind", "") == "tsp":
        return _solve_tsp(target, opts, start)
    model = _model(target)
    run = _run(model.mip, opts, opts.time_limit)
    x = model.decode() if run.status in ("optimal", "feasible") else None
    bound = None if run.bound is None else run.bound + model.offset
    n_vars, n_rows = model.mip.size()
    info: dict[str, Any] = {
        "engine": opts.engine,
        "n_mip_vars": n_vars,
        "n_mip_constraints": n_rows,
    }
    info.update(model.info)
    if run.message:
        info["message"] = run.message
    return _result(target, x, run.status, bound, model.integral, 1, info, start)


SOLVER = Solver(
    name="mip",
    deterministic=True,
    solve=solve,
    params=(
        Param("engine", str, "cbc", "MIP engine: cbc (bundled with PuLP) or highs", ENGINES),
        Param("time_limit", float, None, "wall-clock limit in seconds (whole cut loop for TSP)"),
        Param("gap_rel", float, None, "stop at this relative gap (default: proven optimum)"),
        Param("threads", int, None, "solver threads (default: the engine's choice)"),
        Param("msg", bool, False, "print the engine's log"),
    ),
    description=(
        "Exact mixed-integer programming on the problem's own formulation (not the QUBO) "
        "through PuLP with CBC or HiGHS; reports the dual bound on a time-out."
    ),
)
