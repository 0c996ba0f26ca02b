"""The mip solver: the original problem (not its QUBO) as a mixed-integer program, CBC or HiGHS.

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

Engines: "cbc" (the binary bundled with PuLP, run as a process on an MPS file written here with
every number in full precision; PuLP's own writer keeps 13 significant digits) and "highs"
(highspy, ``pip install qbench[highs]``), both fed the same arrays. Solutions are bitstrings over
the target program's variables; the objective is recomputed from the bitstring by the target.

Time limits. ``time_limit`` bounds the wall time of the whole call: building the model (the
clique cover and every row stop at the deadline: status "timeout"), each engine run and the TSP
cut loop. The engine is told the time left (less 5 % and 0.25 s), but neither checks its clock
everywhere (HiGHS's MIP presolve ran 332 s past a 120 s limit on the DIMACS p_hat300-1
complement), so each runs in its own process, killed when still running :func:`grace` seconds
(1 s + 8 % of the limit) past the deadline: a call ends within the limit + 10 % + 2 s. HiGHS's
presolve gets at most half the time left: a HiGHS process that has not begun branching by then
is replaced by one without presolve. HiGHS streams every improving solution and dual bound from
its process as it finds them, so a killed run still reports the best solution (status
"feasible") and bound it reached; a killed CBC leaves its bound in its log, but no solution.
Without a time limit HiGHS runs in this process.

Output. No engine writes to stdout, which belongs to qbench's own output (``--json`` lines):
CBC's log goes to a file, HiGHS's child process has its stdout on /dev/null, and HiGHS in this
process runs with file descriptor 1 pointed at /dev/null (:func:`_c_stdout_to`: HiGHS prints its
banner from C when a ``Highs`` object is made, before any option can silence it). With
``msg=true`` each engine's log goes to stderr instead.

Coefficient limits. Both engines work in float64 with absolute tolerances, and past some
magnitude they answer wrongly rather than fail: on always-feasible knapsacks CBC reported
"infeasible" for profits near 1e15 and proved wrong optima ("optimal", 0.1–1 % short) for weights
near 1e9 (fine up to 5e8 on 30+ instances); HiGHS was exact up to 1e14 and crashed the process at
3e14; at 1e20 both call the instance infeasible (1e20 is HiGHS's infinity). So a model holding a
number beyond :data:`MAX_COEFFICIENT` (1e13: 30x below the first HiGHS failure, float64 sums of up
to 900 such integers stay exact) or, for CBC, a constraint coefficient beyond
:data:`CBC_MAX_COEFFICIENT` (1e8) is refused with a ConfigError naming the number. As a
backstop, an engine's "infeasible" is checked against a cheap feasible candidate (a Problem's
repair of all zeros, or all zeros / all ones of a program): if one exists the status is "error".
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import inspect
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
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
#: largest |number| (objective, constraint or right-hand side coefficient) either engine is given
MAX_COEFFICIENT = 1e13
#: largest |constraint coefficient| CBC is given (its cuts drop optimal solutions near 1e9)
CBC_MAX_COEFFICIENT = 1e8
_SEED_MOD = 2**31 - 1
_HIGHS_LIMITS = (
    "kTimeLimit",
    "kInterrupt",
    "kHighsInterrupt",
    "kIterationLimit",
    "kSolutionLimit",
    "kObjectiveBound",
    "kObjectiveTarget",
)
_ROW_SENSES = ("<=", "==", ">=")
#: with at least this many seconds left, HiGHS's presolve gets at most half of them
_PRESOLVE_GUARD_S = 1.0
_MPS_ROW = {"<=": "L", "==": "E", ">=": "G"}

PARAMS = (
    Param("engine", str, "cbc", "MIP engine: cbc (bundled with PuLP) or highs", ENGINES),
    Param(
        "time_limit",
        float,
        None,
        "wall-clock limit in seconds for the whole solve: model building, engine, TSP cut loop",
        bounds="(0, inf)",
    ),
    Param(
        "gap_rel",
        float,
        None,
        "stop at this relative gap (default: proven optimum)",
        bounds="[0, inf)",
    ),
    Param("threads", int, None, "solver threads (default: the engine's choice)", bounds="[1, inf)"),
    Param("msg", bool, False, "print the engine's log"),
)


def grace(time_limit: float) -> float:
    """Seconds an engine may run past the deadline before it is killed: 1 s + 8 % of the limit,
    so a whole solve ends within ``time_limit`` + 10 % + 2 s (what is left covers reading the
    engine's answer)."""
    return 1.0 + 0.08 * time_limit


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


class _OutOfTime(Exception):
    """The deadline passed while the model was being built (the message says how far it got)."""


class _Mip:
    """A MIP under construction, as arrays: column bounds and integrality, a dense objective,
    rows of (indices, coefficients, sense, right-hand side). Variables are column indices.

    Every column has lower bound 0. With a ``deadline`` (a ``perf_counter`` time),
    :meth:`constrain` raises :class:`_OutOfTime` once it has passed, so building a large model
    counts against the time limit. An engine stores its solution in :attr:`solution`."""

    def __init__(self, sense: str, deadline: float | None = None):
        self.sense = sense
        self.deadline = deadline
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.cost = np.zeros(0)
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.senses: list[str] = []
        self.rhs: list[float] = []
        self.labels: list[str] = []
        self.solution: np.ndarray | None = None
        # (first column, prefix, namer) of each variables() call
        self._blocks: list[tuple[int, str, Callable[[int], str] | None]] = []

    def variables(
        self,
        prefix: str,
        count: int,
        *,
        binary: bool = True,
        up: float | None = None,
        namer: Callable[[int], str] | None = None,
    ) -> list[int]:
        """``count`` new variables (binary, or continuous in [0, up]) named prefix_0, prefix_1...
        in messages, or ``namer(i)``."""
        if any(p == prefix for _, p, _ in self._blocks):
            raise ValueError(f"variable prefix {prefix!r} used twice")
        first = len(self.upper)
        self._blocks.append((first, prefix, namer))
        self.upper += [1.0 if binary else (math.inf if up is None else float(up))] * count
        self.integer += [binary] * count
        return list(range(first, first + count))

    def name(self, column: int) -> str:
        """How messages name a column: ``x_3`` for the fourth variable of prefix ``x``."""
        block = bisect.bisect_right([first for first, _, _ in self._blocks], column) - 1
        first, prefix, namer = self._blocks[block]
        return f"{prefix}_{column - first}" if namer is None else namer(column - first)

    def constrain(
        self,
        variables: Sequence[int],
        coefs: Sequence[float],
        sense: str,
        rhs: float,
        label: str = "",
    ) -> None:
        """Add the row Σ coef·var (sense) rhs, merging repeated variables and dropping zeros;
        ``label`` names it in messages (default ``row <index>``)."""
        if self.deadline is not None and perf_counter() > self.deadline:
            raise _OutOfTime(f"{len(self.rhs)} rows built")
        if sense not in _ROW_SENSES:
            raise ValueError(f"row sense {sense!r} not in {_ROW_SENSES}")
        if len(variables) <= 32:  # plain Python is 6x faster than numpy on short rows
            merged: dict[int, float] = {}
            for var, coef in zip(variables, coefs):
                merged[int(var)] = merged.get(int(var), 0.0) + float(coef)
            keys = sorted(k for k, v in merged.items() if v != 0.0)
            index = np.array(keys, dtype=np.int64)
            value = np.array([merged[k] for k in keys], dtype=float)
        else:
            index = np.asarray(variables, dtype=np.int64)
            value = np.asarray(coefs, dtype=float)
            if not np.all(index[1:] > index[:-1]):
                index, inverse = np.unique(index, return_inverse=True)
                value = np.bincount(inverse, weights=value, minlength=index.size)
            keep = value != 0.0
            index, value = index[keep], value[keep]
        self.rows.append((index, value))
        self.senses.append(sense)
        self.rhs.append(float(rhs))
        self.labels.append(label)

    def label(self, row: int) -> str:
        """How messages name a row: its label, else ``row <index>``."""
        return self.labels[row] or f"row {row}"

    def set_objective(self, variables: Sequence[int], coefs: Sequence[float]) -> None:
        cost = np.zeros(len(self.upper))
        np.add.at(cost, np.asarray(variables, dtype=np.int64), np.asarray(coefs, dtype=float))
        self.cost = cost

    def objective(self) -> np.ndarray:
        """The objective coefficient of every column (0 for columns added after it was set)."""
        cost = np.zeros(len(self.upper))
        cost[: self.cost.size] = self.cost
        return cost

    def values(self, variables: Sequence[int]) -> np.ndarray:
        """Current solution values (all 0 before a solution)."""
        if self.solution is None:
            return np.zeros(len(variables))
        return self.solution[np.asarray(variables, dtype=np.int64)]

    def objective_value(self) -> float | None:
        return None if self.solution is None else float(self.objective() @ self.solution)

    def size(self) -> tuple[int, int]:
        return len(self.upper), len(self.rhs)

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraint matrix row-wise: (start of each row and the end, columns, values)."""
        counts = np.array([index.size for index, _ in self.rows], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        index = np.concatenate([idx for idx, _ in self.rows] or [np.zeros(0, dtype=np.int64)])
        value = np.concatenate([val for _, val in self.rows] or [np.zeros(0)])
        return start, index, value

    def arrays(self) -> dict[str, Any]:
        """The model as plain arrays (row-wise matrix): what HiGHS is given, also in a child."""
        n, m = self.size()
        start, index, value = self.matrix()
        rhs = np.array(self.rhs, dtype=float)
        senses = np.array(self.senses, dtype=object)
        return {
            "maximize": np.array(self.sense == "max"),
            "cost": self.objective(),
            "upper": np.array(self.upper, dtype=float),
            "integer": np.array(self.integer, dtype=bool),
            "start": start,
            "index": index,
            "value": value,
            "row_lower": np.where(senses == "<=", -np.inf, rhs) if m else np.zeros(0),
            "row_upper": np.where(senses == ">=", np.inf, rhs) if m else np.zeros(0),
            "n": np.array(n),
        }


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


def _check_coefficients(mip: _Mip, engine: str) -> None:
    """ConfigError naming the first number of the model the engine cannot take exactly: any
    beyond :data:`MAX_COEFFICIENT` (also NaN or inf), or for CBC a constraint coefficient beyond
    :data:`CBC_MAX_COEFFICIENT` (see the module docstring for the measurements)."""
    why = "larger numbers make the engines report wrong statuses (e.g. 'infeasible')"
    cost = mip.objective()
    bad = np.flatnonzero(~(np.abs(cost) <= MAX_COEFFICIENT))
    if bad.size:
        j = int(bad[0])
        _refuse(f"objective coefficient of {mip.name(j)} = {cost[j]:.6g}", MAX_COEFFICIENT, why)
    rhs = np.array(mip.rhs, dtype=float)
    bad = np.flatnonzero(~(np.abs(rhs) <= MAX_COEFFICIENT))
    if bad.size:
        r = int(bad[0])
        _refuse(f"right-hand side of {mip.label(r)} = {rhs[r]:.6g}", MAX_COEFFICIENT, why)
    limit = CBC_MAX_COEFFICIENT if engine == "cbc" else MAX_COEFFICIENT
    start, index, value = mip.matrix()
    bad = np.flatnonzero(~(np.abs(value) <= limit))
    if bad.size:
        k = int(bad[0])
        row = int(np.searchsorted(start, k, side="right")) - 1
        what = f"coefficient of {mip.name(int(index[k]))} in {mip.label(row)} = {value[k]:.6g}"
        if abs(value[k]) <= MAX_COEFFICIENT:  # within the common limit: CBC's own
            _refuse(
                what,
                limit,
                "CBC proves wrong optima for constraint coefficients near 1e9; "
                f"engine=highs takes up to {MAX_COEFFICIENT:g}",
                engine="cbc",
            )
        _refuse(what, MAX_COEFFICIENT, why)


def _refuse(what: str, limit: float, why: str, engine: str | None = None) -> None:
    """ConfigError: ``what`` (a number, named) is beyond ``limit`` of ``engine`` (else both)."""
    who = f"engine {engine!r}" if engine else "both MIP engines"
    raise ConfigError(
        f"solver 'mip': {what} is beyond the limit |value| <= {limit:g} of {who} ({why}); "
        "rescale the instance"
    )


# ----------------------------------------------------------------------------- formulations


def _mdkp_model(problem: Any, deadline: float | None) -> _Model:
    """max p·x s.t. W x <= c."""
    profits = np.asarray(problem.profits, dtype=float)
    weights = np.asarray(problem.weights, dtype=float)
    caps = np.asarray(problem.capacities, dtype=float)
    mip = _Mip("max", deadline)
    x = mip.variables("x", profits.size)
    mip.set_objective(x, profits)
    for i, (row, cap) in enumerate(zip(weights, caps)):
        nz = np.flatnonzero(row)
        mip.constrain(np.asarray(x)[nz], row[nz], "<=", float(cap), f"capacity row {i}")
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(profits))


def _clique_cover(graph: nx.Graph, deadline: float | None = None) -> list[list[int]]:
    """Cliques covering every edge: the smallest uncovered edge (u, v), grown greedily by the
    common neighbours of u and v in increasing order that are adjacent to every vertex already
    added. Linear in the edges times the clique sizes (a 300-node graph with 34 000 edges: 0.4 s);
    raises :class:`_OutOfTime` past ``deadline``."""
    neighbours = {v: set(graph[v]) - {v} for v in graph}
    covered: dict[Any, set] = {v: set() for v in graph}
    cliques = []
    for u, v in sorted((min(a, b), max(a, b)) for a, b in graph.edges() if a != b):
        if v in covered[u]:
            continue
        if deadline is not None and perf_counter() > deadline:
            raise _OutOfTime(f"clique cover: {len(cliques)} cliques found")
        clique = [u, v]
        allowed = neighbours[u] & neighbours[v]
        for w in sorted(allowed):
            if w in allowed:  # adjacent to every vertex added so far
                clique.append(w)
                allowed &= neighbours[w]
        cliques.append(clique)
        members = set(clique)
        for a in clique:
            covered[a] |= members
    return cliques


def _mis_model(problem: Any, deadline: float | None) -> _Model:
    """max Σx s.t. Σ_{v in K} x_v <= 1 for each clique K of a greedy clique cover of the edges."""
    graph: nx.Graph = problem.graph
    n = graph.number_of_nodes()
    mip = _Mip("max", deadline)
    x = mip.variables("x", n)
    mip.set_objective(x, np.ones(n))
    cliques = _clique_cover(graph, deadline)
    for clique in cliques:
        mip.constrain([x[v] for v in sorted(clique)], np.ones(len(clique)), "<=", 1, "clique row")
    for u in sorted(nx.nodes_with_selfloops(graph)):
        mip.constrain([x[u]], [1], "<=", 0, f"self-loop of node {u}")
    info = {"n_clique_rows": sum(len(c) > 2 for c in cliques)}
    return _Model(mip, lambda: _binary(mip.values(x)), True, info=info)


def _qap_model(problem: Any, deadline: float | None) -> _Model:
    """Kaufman–Broeckx: min Σ w_ik, w_ik >= e_ik x_ik + Σ_jl f_ij d_kl x_jl - e_ik, assignment."""
    flow = np.asarray(problem.flow, dtype=float)
    dist = np.asarray(problem.dist, dtype=float)
    n = flow.shape[0]
    mip = _Mip("min", deadline)
    x = mip.variables("x", n * n, namer=lambda t: f"x_{t // n}_{t % n}")
    w = mip.variables("w", n * n, binary=False, namer=lambda t: f"w_{t // n}_{t % n}")
    mip.set_objective(w, np.ones(n * n))
    for i in range(n):
        mip.constrain(x[i * n : (i + 1) * n], np.ones(n), "==", 1, f"facility {i} placed")
        mip.constrain(x[i::n], np.ones(n), "==", 1, f"location {i} used")
    for i in range(n):
        for k in range(n):
            coef = np.outer(flow[i], dist[k]).ravel()  # coefficient of x_jl at j*n + l
            e_ik = float(coef.sum())
            coef[i * n + k] += e_ik
            nz = np.flatnonzero(coef)
            mip.constrain(
                [w[i * n + k]] + [x[j] for j in nz],
                [1.0, *(-coef[nz])],
                ">=",
                -e_ik,
                f"Kaufman-Broeckx row of facility {i} at location {k}",
            )
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(flow, dist))


def _msp_model(problem: Any, deadline: float | None) -> _Model:
    """min Σ (s⁺ + s⁻) s.t. d_i·x - s⁺_i + s⁻_i = b_i."""
    demands = np.asarray(problem.demands, dtype=float)
    targets = np.asarray(problem.targets, dtype=float)
    m, n = demands.shape
    mip = _Mip("min", deadline)
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
            f"demand row {i}",
        )
    return _Model(mip, lambda: _binary(mip.values(x)), _is_integral(demands, targets))


def _generic_model(program: BinaryProgram, deadline: float | None) -> _Model:
    """Linear objective, one y_ij per quadratic term linearised on the side its sign needs, rows."""
    n = program.n_vars
    mip = _Mip(program.sense, deadline)
    x = mip.variables("x", n)
    q = program.quadratic.tocoo()
    y = mip.variables("y", q.nnz, binary=False, up=1.0)
    mip.set_objective(list(x) + list(y), np.concatenate([program.linear, q.data]))
    minimise = program.sense == "min"
    for t, (i, j, c) in enumerate(zip(q.row, q.col, q.data)):
        if (c > 0) == minimise:  # the solver wants y small: force it up when both are 1
            mip.constrain([y[t], x[i], x[j]], [1, -1, -1], ">=", -1, f"product y_{t}")
        else:  # the solver wants y large: cap it by each factor
            mip.constrain([y[t], x[i]], [1, -1], "<=", 0, f"product y_{t}")
            mip.constrain([y[t], x[j]], [1, -1], "<=", 0, f"product y_{t}")
    A = program.A.tocsr()
    for r, (sense, rhs) in enumerate(zip(program.senses, program.b)):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        cols = np.asarray(x)[A.indices[lo:hi]]
        mip.constrain(cols, A.data[lo:hi], sense, float(rhs), f"program row {r}")
    integral = _is_integral(program.linear, program.quadratic.data, program.constant)
    return _Model(mip, lambda: _binary(mip.values(x)), integral, offset=program.constant)


def _model(target: Any, deadline: float | None = None) -> _Model:
    """The formulation of a target: its kind's own, else the generic one of its program."""
    if isinstance(target, BinaryProgram):
        return _generic_model(target, deadline)
    kind = getattr(target, "kind", "")
    if kind == "mdkp":
        return _mdkp_model(target, deadline)
    if kind == "mis":
        return _mis_model(target, deadline)
    if kind == "msp":
        return _msp_model(target, deadline)
    if kind == "qap" and np.min(target.flow) >= 0 and np.min(target.dist) >= 0:
        return _qap_model(target, deadline)
    return _generic_model(target.program, deadline)


# ----------------------------------------------------------------------------- engines


def _seed_value(seed: int | None) -> int | None:
    return None if seed is None else int(seed) % _SEED_MOD


def _run(mip: _Mip, opts: _Options, deadline: float | None) -> _Run:
    """Solve the model once with the chosen engine, within ``deadline`` (see the module doc)."""
    if deadline is not None and perf_counter() >= deadline:
        return _Run("timeout", None, 0.0, "the time limit was reached before the engine started")
    if opts.engine == "highs":
        return _run_highs(mip, opts, deadline)
    return _run_cbc(mip, opts, deadline)


def _engine_limit(deadline: float | None) -> float | None:
    """The time limit an engine is told: the time left less 5 % and 0.25 s, as both engines
    check their clocks only now and then (CBC was seen stopping 0.6–1.5 s after its ``-sec``)."""
    if deadline is None:
        return None
    left = deadline - perf_counter()
    return max(0.95 * left - 0.25, 0.5 * left, 0.01)


def _wait(proc: subprocess.Popen, deadline: float | None, extra: float) -> bool:
    """Wait for an engine process; kill it when it is still running ``extra`` seconds past the
    deadline (True), or when this wait is interrupted (never leave an engine running)."""
    try:
        if deadline is None:
            proc.wait()
            return False
        try:
            proc.wait(timeout=max(deadline + extra - perf_counter(), 0.0))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return True
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _extra(opts: _Options) -> float:
    return 0.0 if opts.time_limit is None else grace(opts.time_limit)


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


def _cbc_path() -> str:
    """The CBC binary bundled with PuLP (ConfigError when this platform has none)."""
    with warnings.catch_warnings():  # PuLP 3.3 flags the bundled CBC for its 4.0 release
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False)
    if not solver.available():
        raise ConfigError("engine 'cbc': PuLP's bundled CBC binary is not available here")
    return solver.path


def _number(value: float) -> str:
    return f"{float(value):.17g}"


def _write_mps(mip: _Mip, path: Path) -> None:
    """The model as an MPS file (columns C<j>, rows R<i>) with every number in full precision."""
    n, m = mip.size()
    lines = ["NAME qbench", "ROWS", " N OBJ"]
    lines += [f" {_MPS_ROW[sense]} R{r}" for r, sense in enumerate(mip.senses)]
    lines.append("COLUMNS")
    start, cols, vals = mip.matrix()
    rows = np.repeat(np.arange(m), np.diff(start))
    order = np.argsort(cols, kind="stable")  # column by column, as MPS lists them
    rows, cols, vals = rows[order], cols[order], vals[order]
    bounds = np.searchsorted(cols, np.arange(n + 1))
    cost = mip.objective()
    marked = False
    for j in range(n):
        if mip.integer[j] != marked:
            marked = mip.integer[j]
            lines.append(f"    MARKER 'MARKER' '{'INTORG' if marked else 'INTEND'}'")
        lines.append(f"    C{j} OBJ {_number(cost[j])}")
        lines += [
            f"    C{j} R{r} {_number(v)}"
            for r, v in zip(rows[bounds[j] : bounds[j + 1]], vals[bounds[j] : bounds[j + 1]])
        ]
    if marked:
        lines.append("    MARKER 'MARKER' 'INTEND'")
    lines.append("RHS")
    lines += [f"    RHS R{r} {_number(b)}" for r, b in enumerate(mip.rhs) if b != 0.0]
    lines.append("BOUNDS")
    for j, (up, integer) in enumerate(zip(mip.upper, mip.integer)):
        if integer and up == 1.0:
            lines.append(f" BV BND C{j}")
        elif math.isfinite(up):
            lines.append(f" UP BND C{j} {_number(up)}")
    lines.append("ENDATA")
    path.write_text("\n".join(lines) + "\n")


def _read_cbc_solution(path: Path, n: int) -> tuple[str, np.ndarray]:
    """CBC's solution file: its status line and the value of every column (0 when absent)."""
    values = np.zeros(n)
    with open(path) as handle:
        header = handle.readline().strip()
        for line in handle:
            parts = line.split()
            if parts[:1] == ["**"]:  # CBC marks the entries of an infeasible point
                parts = parts[1:]
            if len(parts) >= 3 and parts[1].startswith("C"):
                values[int(parts[1][1:])] = float(parts[2])
    return header, values


def _run_cbc(mip: _Mip, opts: _Options, deadline: float | None) -> _Run:
    """CBC as a process on a full-precision MPS file, told the time left and killed
    :func:`grace` seconds past the deadline (its bound is then read from its log)."""
    path = _cbc_path()
    with tempfile.TemporaryDirectory(prefix="qbench-cbc-") as tmp:
        folder = Path(tmp)
        _write_mps(mip, folder / "model.mps")
        args = [path, str(folder / "model.mps")]
        if mip.sense == "max":
            args.append("-max")
        limit = _engine_limit(deadline)
        if limit is not None:
            args += ["-sec", f"{limit:.3f}"]
        args += ["-timeMode", "elapsed"]
        if opts.gap_rel is not None:
            args += ["-ratio", _number(opts.gap_rel)]
        if opts.threads is not None:
            args += ["-threads", str(opts.threads)]
        seed = _seed_value(opts.seed)
        if seed is not None:
            args += ["-randomCbcSeed", str(seed), "-randomSeed", str(seed)]
        args += ["-solve", "-solution", str(folder / "solution.txt")]
        start = perf_counter()
        with open(folder / "cbc.log", "w") as log_file:
            proc = subprocess.Popen(
                args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            killed = _wait(proc, deadline, _extra(opts))
        seconds = perf_counter() - start
        log = (folder / "cbc.log").read_text(errors="replace")
        solution = folder / "solution.txt"
        header, values = "", None
        if not killed and solution.exists():
            header, values = _read_cbc_solution(solution, mip.size()[0])
    if opts.msg:
        print(log, file=sys.stderr, flush=True)
    bound = _cbc_bound(log, mip.sense)
    word = header.split(" ", 1)[0]
    if killed or values is None:
        if killed or deadline is not None and perf_counter() >= deadline:
            why = f"CBC was still running {_extra(opts):.1f} s past the time limit: stopped"
            return _Run("timeout", bound, seconds, why if killed else "")
        return _Run("error", None, seconds, f"CBC exited with code {proc.returncode}, no solution")
    if word == "Optimal":
        mip.solution = values
        return _optimal_run(mip, opts, bound, seconds)
    if word == "Stopped":
        # CBC's solution file says 'Stopped on time - objective value ...' even without an
        # incumbent; only the log tells whether an integer solution was ever found
        found = "No feasible solution found" not in log and bool(_CBC_SOLUTION.search(log))
        if found and "objective value" in header:
            mip.solution = values
            return _Run("feasible", bound, seconds)
        if deadline is not None:
            return _Run("timeout", bound, seconds)
        return _Run("error", bound, seconds, f"CBC: {header}")
    if word in ("Infeasible", "Integer"):
        if limit is not None and seconds >= limit:
            # CBC 2.10 says 'Pre-processing says infeasible' when the clock stops its presolve
            return _Run("timeout", None, seconds, "CBC stopped by the time limit in presolve")
        return _Run("infeasible", None, seconds)
    return _Run("error", bound, seconds, f"CBC: {header}")


def _highs_solve(model: dict, settings: dict, emit: Callable[[dict], None]) -> None:
    """Solve the arrays of :meth:`_Mip.arrays` with highspy; ``emit`` receives, as plain dicts,
    every improving solution ``{"x": [indices, values]}`` (its nonzeros) and new dual bound
    ``{"bound": b}`` when ``settings["stream"]``, then the outcome ``{"status", "bound", "x"}``.

    Self-contained (its imports inside, no module names) because a child process runs its
    source (:func:`_highs_child`). ``settings``: msg, gap_rel, threads, seed, stream and
    ``deadline`` (a ``time.time()`` value, or None)."""
    import time

    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", bool(settings["msg"]))
    highs.setOptionValue("mip_rel_gap", float(settings["gap_rel"]))
    if settings["threads"] is not None:
        reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
        if reset is not None:
            reset(True)  # HiGHS refuses a thread count that differs from its running scheduler's
        highs.setOptionValue("threads", int(settings["threads"]))
    if settings["seed"] is not None:
        highs.setOptionValue("random_seed", int(settings["seed"]))

    def sparse(values: Any) -> list[list]:
        """A solution as [indices, values] of its nonzeros (a TSP has 500 000 columns)."""
        nonzero = [(j, float(v)) for j, v in enumerate(values) if v != 0.0]
        return [[j for j, _ in nonzero], [v for _, v in nonzero]]

    lp = highspy.HighsLp()
    lp.num_col_ = int(model["n"])
    lp.num_row_ = len(model["row_lower"])
    lp.sense_ = (
        highspy.ObjSense.kMaximize if bool(model["maximize"]) else highspy.ObjSense.kMinimize
    )
    lp.col_cost_ = model["cost"]
    lp.col_lower_ = [0.0] * lp.num_col_
    lp.col_upper_ = model["upper"]
    lp.row_lower_ = model["row_lower"]
    lp.row_upper_ = model["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = model["start"]
    lp.a_matrix_.index_ = model["index"]
    lp.a_matrix_.value_ = model["value"]
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[int(flag)] for flag in model["integer"]]
    highs.passModel(lp)
    highs.setOptionValue("presolve", str(settings["presolve"]))
    if settings["stream"]:
        last = [None]

        def improving(event: Any) -> None:
            emit({"x": sparse(event.data_out.mip_solution)})

        def progress(event: Any) -> None:
            bound = float(event.data_out.mip_dual_bound)
            if bound != last[0]:
                last[0] = bound
                emit({"bound": bound})

        highs.cbMipImprovingSolution.subscribe(improving)
        highs.cbMipInterrupt.subscribe(progress)
    if settings["deadline"] is not None:
        highs.setOptionValue("time_limit", max(settings["deadline"] - time.time(), 0.01))
    highs.run()
    info = highs.getInfo()
    found = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    x = sparse(highs.getSolution().col_value) if found else None
    emit({"status": highs.getModelStatus().name, "bound": float(info.mip_dual_bound), "x": x})


#: the file descriptor of stderr, where an engine's log goes with ``msg=true``
_STDERR_FD = 2


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (HiGHS writes through them from C): text still
    buffered when file descriptor 1 is restored would land on the real stdout."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _c_stdout_to(target: int | None) -> Iterator[None]:
    """Point file descriptor 1 at ``target`` (a descriptor; None: /dev/null) for the block, so
    what C code writes to stdout (HiGHS's banner and log) stays off qbench's own output;
    ``sys.stdout`` redirection would not see it. Python's and C's buffers are flushed on both
    sides of the switch, so nothing crosses it. Nothing is redirected where descriptor 1 is not
    open."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    sink = os.open(os.devnull, os.O_WRONLY) if target is None else target
    try:
        _flush_c_stdio()
        os.dup2(sink, 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        if target is None:
            os.close(sink)


def _highs_main(folder: str) -> None:
    """The child process's entry: solve ``folder``/model.npz with settings.json, writing each
    record of :func:`_highs_solve` as a JSON line to records.jsonl as soon as it is found."""
    import json
    from pathlib import Path

    import numpy as np

    root = Path(folder)
    with np.load(root / "model.npz") as data:
        model = {key: data[key] for key in data.files}
    settings = json.loads((root / "settings.json").read_text())
    with open(root / "records.jsonl", "w") as out:

        def emit(record: dict) -> None:
            out.write(json.dumps(record) + "\n")
            out.flush()

        _highs_solve(model, settings, emit)


@dataclass
class _Child:
    """What a HiGHS process left: its records (the last solution and bound survive a kill),
    whether it was killed, whether that was at the presolve checkpoint, its stderr tail."""

    records: list[dict]
    killed: bool = False
    in_presolve: bool = False
    stderr: str = ""


def _highs_child(
    model: dict[str, Any],
    settings: dict[str, Any],
    deadline: float,
    extra: float,
    checkpoint: float | None = None,
) -> _Child:
    """Run :func:`_highs_solve` in a fresh Python process, killed ``extra`` seconds past the
    deadline, or at ``checkpoint`` when it has reported nothing yet (still in presolve: HiGHS
    reports from its first branch-and-bound step on)."""
    source = "\n".join(
        [
            "from __future__ import annotations",
            "import sys",
            inspect.getsource(_highs_solve),
            inspect.getsource(_highs_main),
            "_highs_main(sys.argv[1])",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="qbench-highs-") as tmp:
        folder = Path(tmp)
        path = folder / "records.jsonl"
        np.savez(folder / "model.npz", **model)
        limit = _engine_limit(deadline) or 0.01
        settings = {**settings, "stream": True, "deadline": time.time() + limit}
        (folder / "settings.json").write_text(json.dumps(settings))
        in_presolve = False
        with open(folder / "stderr.txt", "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", source, str(folder)],
                stdout=_STDERR_FD if settings["msg"] else subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
            try:
                if checkpoint is not None:
                    try:
                        proc.wait(timeout=max(checkpoint - perf_counter(), 0.0))
                    except subprocess.TimeoutExpired:
                        in_presolve = not (path.exists() and path.stat().st_size)
                killed = in_presolve or _wait(proc, deadline, extra)
            finally:
                if proc.poll() is None:  # stopped at the checkpoint, or interrupted
                    proc.kill()
                    proc.wait()
        records = []
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # the line being written when the process was killed
                break
        stderr = (folder / "stderr.txt").read_text(errors="replace").strip()[-500:]
    return _Child(records, killed, in_presolve, stderr)


def _run_highs(mip: _Mip, opts: _Options, deadline: float | None) -> _Run:
    """HiGHS in this process without a deadline; with one, in a child process (see the module
    docstring) whose presolve gets at most half the time left: a child that has not started
    branching by then is replaced by one without presolve for the other half."""
    try:
        import highspy  # noqa: F401 (a missing package is a ConfigError before any process)
    except ImportError:
        raise ConfigError(
            "engine 'highs' needs the highspy package: pip install qbench[highs]"
        ) from None
    settings: dict[str, Any] = {
        "msg": opts.msg,
        # HiGHS stops at a 1e-4 relative gap by default: ask for proven optimality instead
        "gap_rel": 0.0 if opts.gap_rel is None else opts.gap_rel,
        "threads": opts.threads,
        "seed": _seed_value(opts.seed),
        "presolve": "choose",
        "stream": False,
        "deadline": None,
    }
    model = mip.arrays()
    start = perf_counter()
    message = ""
    if deadline is None:
        child = _Child([])
        with _c_stdout_to(_STDERR_FD if opts.msg else None):
            _highs_solve(model, settings, child.records.append)
    else:
        left = deadline - start
        checkpoint = start + left / 2 if left >= _PRESOLVE_GUARD_S else None
        child = _highs_child(model, settings, deadline, _extra(opts), checkpoint)
        if child.in_presolve:
            message = f"HiGHS presolve still running after {left / 2:.1f} s: solved without it"
            settings["presolve"] = "off"
            child = _highs_child(model, settings, deadline, _extra(opts))
    seconds = perf_counter() - start
    records = child.records
    final = next((r for r in reversed(records) if "status" in r), None)
    bounds = [r["bound"] for r in records if r.get("bound") is not None]
    solutions = [r["x"] for r in records if r.get("x") is not None]
    bound = None if not bounds else _parse_float(str(bounds[-1]))
    if solutions:
        mip.solution = np.zeros(mip.size()[0])
        index, value = solutions[-1]
        mip.solution[np.asarray(index, dtype=np.int64)] = value
    if final is None:  # killed past the deadline, or the process died
        if child.killed:
            why = f"HiGHS was still running {_extra(opts):.1f} s past the time limit: stopped"
            status = "feasible" if solutions else "timeout"
            return _Run(status, bound, seconds, "; ".join(filter(None, [message, why])))
        failed = f"the HiGHS process failed: {child.stderr or 'no output'}"
        return _Run("error", None, seconds, failed)
    name = final["status"]
    if name == "kOptimal":
        run = _optimal_run(mip, opts, bound, seconds)
    elif name in ("kInfeasible", "kUnboundedOrInfeasible"):
        run = _Run("infeasible", None, seconds)
    elif name in _HIGHS_LIMITS:
        run = _Run("feasible" if solutions else "timeout", bound, seconds)
    else:
        run = _Run("error", bound, seconds, f"HiGHS status {name}")
    run.message = "; ".join(filter(None, [message, run.message]))
    return run


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


def _solve_tsp(problem: Any, opts: _Options, start: float, deadline: float | None) -> SolveResult:
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
    mip = _Mip("min", deadline)
    e = mip.variables("e", iu.size, namer=lambda k: f"edge ({iu[k]}, {ju[k]})")
    mip.set_objective(e, dist[iu, ju])
    for city in range(n):
        idx = np.flatnonzero((iu == city) | (ju == city))
        mip.constrain(idx, np.ones(idx.size), "==", 2, f"degree row of city {city}")
    mip.deadline = None  # the loop below watches the clock itself
    _check_coefficients(mip, opts.engine)
    lower: float | None = None
    last_cycles: list[list[int]] | None = None
    status, tour, rounds, cuts, message = "timeout", None, 0, 0, ""
    while deadline is None or perf_counter() < deadline:
        run = _run(mip, opts, deadline)
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
            mip.constrain(cut, np.ones(cut.size), ">=", 2, f"subtour cut {cuts}")
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


def _feasible_witness(target: Any) -> np.ndarray | None:
    """A bitstring the target accepts, found cheaply, or None: a Problem's repair of all zeros
    (feasible by the Problem contract), else all zeros or all ones."""
    n = int(target.n_vars)
    candidates = [np.zeros(n, dtype=np.int8), np.ones(n, dtype=np.int8)]
    if not isinstance(target, BinaryProgram):
        candidates.insert(0, np.asarray(target.repair(candidates[0])))
    return next((x for x in candidates if bool(target.is_feasible(x))), None)


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
    """Recompute the objective from x, tidy the bound (rounded when integral) and the status;
    an engine's 'infeasible' for a target with a feasible point becomes 'error'."""
    sense = target.sense
    objective = None
    if status == "infeasible" and _feasible_witness(target) is not None:
        info["message"] = (
            "the engine reported the model infeasible, but a feasible solution exists "
            "(numerical trouble in the engine)"
        )
        status = "error"
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
    """Validate the solve options against :data:`PARAMS` (ConfigError names the bad one and
    what is allowed), for callers that skip ``SOLVER.parse_params``."""
    if engine not in ENGINES:
        raise ConfigError(f"solver 'mip': engine {engine!r} not allowed; allowed: cbc, highs")
    declared = {param.name: param for param in PARAMS}
    for name, value in (("time_limit", time_limit), ("gap_rel", gap_rel), ("threads", threads)):
        param = declared[name]
        try:
            allowed = value is None or param.within(float(value))
        except (TypeError, ValueError):
            allowed = False
        if not allowed:
            raise ConfigError(
                f"solver 'mip': parameter {name}={value!r} out of range; allowed: {param.bounds}"
            )
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
    """Solve a Problem (in its own MIP formulation) or a BinaryProgram exactly with CBC or HiGHS,
    the whole call (model building included) within ``time_limit`` seconds plus
    :func:`grace`; ConfigError for a model with numbers the engine cannot take exactly."""
    opts = _options(seed, engine, time_limit, gap_rel, msg, threads)
    start = perf_counter()
    deadline = None if opts.time_limit is None else start + opts.time_limit
    try:
        if not isinstance(target, BinaryProgram) and getattr(target, "kind", "") == "tsp":
            return _solve_tsp(target, opts, start, deadline)
        model = _model(target, deadline)
    except _OutOfTime as stop:
        info = {"engine": opts.engine, "message": f"time limit reached building the model: {stop}"}
        return _result(target, None, "timeout", None, False, 0, info, start)
    _check_coefficients(model.mip, opts.engine)
    run = _run(model.mip, opts, deadline)
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
    params=PARAMS,
    description=(
        "Exact mixed-integer programming on the problem's own formulation (not the QUBO) "
        "with CBC or HiGHS; reports the dual bound on a time-out."
    ),
)
