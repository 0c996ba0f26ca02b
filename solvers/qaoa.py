"""The QAOA family: qaoa, ma_qaoa, ws_qaoa, cvar_qaoa and xy_qaoa on a QUBO.

Every solver takes the unconstrained min QUBO of an encoding (a constrained program is refused:
it needs an encoder) and runs :class:`~qbench.hardware.base.QAOAAnsatz` through
:mod:`qbench.solvers.variational` (objective, budgeted optimiser, read-out, post-processing).

**Angle scaling.** The cost layer is ``exp(-i γ C)``; a QUBO with coefficients in the thousands
(MDKP) and one with unit coefficients (MIS) want γ's that differ by the same factor. So the
optimiser works on ``γ / s`` with ``s = 1 / mean_i L_i``, where ``L_i = |z_i| + Σ_j |J_ij|`` is
the magnitude of qubit i's Ising local field (``C = Σ z_i Z_i + Σ J_ij Z_i Z_j + const``): a
unit step in the scaled γ turns the typical qubit's phase by about one radian. The β's are not
scaled. ``info["params"]`` and ``gammas=``/``betas=`` are in true angles; ``info["gamma_scale"]``
is ``s``.

**Initial angles** (``init``):

* ``ramp`` (linear ramp, as in LR-QAOA): ``γ_l = (l − ½)/p · Δ · s`` and
  ``β_l = ∓(1 − (l − ½)/p) · Δ`` with ``Δ = 0.75``, l = 1..p: a discretised anneal. The β sign
  follows the mixer so the ramp starts in the mixer's ground state: ``exp(-i β Σ X)`` from
  ``|+⟩`` (the ground state of ``−Σ X``) anneals with β < 0; the warm mixer
  ``RY(θ) RZ(−2β) RY(−θ)`` (start = ground state of ``−Z_θ``) with β > 0; the XY mixers start
  from a basis state, not an eigenstate, and use β < 0.
* ``fixed``: the given ``gammas`` / ``betas`` (comma-separated lists of p true angles);
  with ``maxiter=0`` they are read out without optimisation.
* ``transfer`` (layer by layer, Zhou et al. 2020 INTERP): optimise p = 1 from the ramp, then
  repeatedly interpolate the optimum at depth q to depth q + 1
  (``θ'_i = (i−1)/q θ_{i−1} + (q−i+1)/q θ_i``, i = 1..q+1, with θ_0 = θ_{q+1} = 0) and
  re-optimise, up to p; the budget ``maxiter`` is split evenly over the p stages.

ma-QAOA uses the same schedules with every cost-term γ of a layer set to the layer's γ and every
qubit's β to the layer's β.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from qbench.errors import ConfigError
from qbench.hardware.base import QAOAAnsatz
from qbench.params import ListOf, Param
from qbench.program import BinaryProgram
from qbench.solvers.base import Solver, SolveResult
from qbench.solvers.variational import Run, common_params, qubo_of, settings_from, work

INITS = ("ramp", "fixed", "transfer")
XY_MIXERS = ("xy_ring", "xy_complete")
RAMP_DELTA = 0.75
#: β sign of the linear ramp per mixer (see the module docstring)
BETA_SIGN = {"x": -1.0, "warm": 1.0, "xy_ring": -1.0, "xy_complete": -1.0}
DEFAULT_EPSILON = 0.25
WARM_STARTS = 5


def gamma_scale(qubo: BinaryProgram) -> float:
    """``1 / mean_i L_i`` with ``L_i`` the Ising local-field magnitude of qubit i (1 if none)."""
    n = qubo.n_vars
    q = qubo.quadratic.tocoo()
    z = -0.5 * qubo.linear
    np.subtract.at(z, q.row, 0.25 * q.data)
    np.subtract.at(z, q.col, 0.25 * q.data)
    local = np.abs(z)
    np.add.at(local, q.row, 0.25 * np.abs(q.data))
    np.add.at(local, q.col, 0.25 * np.abs(q.data))
    mean = float(local.mean()) if n else 0.0
    return 1.0 / mean if mean > 1e-300 else 1.0


def ramp(p: int, mixer: str) -> tuple[np.ndarray, np.ndarray]:
    """Linear-ramp (γ_l in units of the γ scale, β_l) for p layers."""
    frac = (np.arange(1, p + 1) - 0.5) / p
    return frac * RAMP_DELTA, BETA_SIGN[mixer] * (1.0 - frac) * RAMP_DELTA


def interp(layers: np.ndarray) -> np.ndarray:
    """INTERP (Zhou et al.): per-layer angles of depth q, shape (q, k), to depth q + 1."""
    q = layers.shape[0]
    padded = np.vstack([np.zeros((1, layers.shape[1])), layers, np.zeros((1, layers.shape[1]))])
    i = np.arange(1, q + 2)[:, None]
    return (i - 1) / q * padded[i.ravel() - 1] + (q - i + 1) / q * padded[i.ravel()]


class _Layout:
    """The optimiser's θ of a QAOAAnsatz as per-layer rows, and its γ scale vector."""

    def __init__(self, ansatz: QAOAAnsatz, gscale: float):
        self.p = ansatz.p
        self.multi = ansatz.multi_angle
        self.n_gamma = ansatz.n_terms if self.multi else 1
        self.n_beta = ansatz.n_qubits if self.multi else 1
        row = np.concatenate([np.full(self.n_gamma, gscale), np.ones(self.n_beta)])
        self.scale = self.from_layers(np.tile(row, (self.p, 1)))

    def to_layers(self, theta: np.ndarray) -> np.ndarray:
        """θ → (p, n_gamma + n_beta) rows [γ's of layer l, β's of layer l]."""
        theta = np.asarray(theta, dtype=float)
        if self.multi:
            return theta.reshape(self.p, self.n_gamma + self.n_beta)
        return theta.reshape(2, self.p).T

    def from_layers(self, layers: np.ndarray) -> np.ndarray:
        if self.multi:
            return np.asarray(layers, dtype=float).ravel()
        return np.asarray(layers, dtype=float).T.ravel()

    def schedule(self, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """θ with every γ of layer l = gammas[l] and every β = betas[l]."""
        layers = np.hstack(
            [np.repeat(gammas[:, None], self.n_gamma, 1), np.repeat(betas[:, None], self.n_beta, 1)]
        )
        return self.from_layers(layers)


def _angles(text: Any, p: int, name: str, solver: str) -> np.ndarray:
    """A comma list of p floats, or ConfigError."""
    if text is None:
        raise ConfigError(f"solver {solver!r}: init=fixed needs {name} (a comma list of p angles)")
    if isinstance(text, (list, tuple, np.ndarray)):
        parts = list(text)
    else:
        parts = [t for t in str(text).replace(";", ",").split(",") if t.strip()]
    try:
        values = np.array([float(v) for v in parts], dtype=float)
    except ValueError:
        raise ConfigError(f"solver {solver!r}: {name}={text!r} is not a list of numbers") from None
    if values.size != p:
        raise ConfigError(f"solver {solver!r}: {name} has {values.size} values, expected p={p}")
    return values


def solve_qaoa(
    solver: str,
    target: Any,
    seed: int | None,
    params: dict[str, Any],
    *,
    mixer: str = "x",
    multi_angle: bool = False,
    groups: list[list[int]] | None = None,
    initial_state: int | None = None,
    warm_start: np.ndarray | None = None,
    info: dict[str, Any] | None = None,
) -> SolveResult:
    """The common QAOA driver: build the ansatz, choose start angles, optimise, read out."""
    qubo = qubo_of(target, solver)
    settings, own = settings_from(solver, params)
    p = int(own.pop("p", 1) or 1)
    init = own.pop("init", "ramp") or "ramp"
    gammas, betas = own.pop("gammas", None), own.pop("betas", None)
    if own:
        raise ConfigError(f"solver {solver!r}: unknown parameter(s) {', '.join(sorted(own))}")
    if p < 1:
        raise ConfigError(f"solver {solver!r}: p must be >= 1, got {p}")
    if init not in INITS:
        raise ConfigError(f"solver {solver!r}: unknown init {init!r}; allowed: {', '.join(INITS)}")

    def make(depth: int) -> QAOAAnsatz:
        return QAOAAnsatz(
            qubo=qubo,
            p=depth,
            mixer=mixer,
            multi_angle=multi_angle,
            groups=[list(g) for g in groups or []],
            initial_state=initial_state,
            warm_start=warm_start,
        )

    gscale = gamma_scale(qubo)
    start = 1 if init == "transfer" else p
    ansatz = make(start)
    run = Run(ansatz, settings, seed)
    layout = _Layout(ansatz, gscale)
    if init == "fixed":
        g = _angles(gammas, p, "gammas", solver) / gscale
        theta = layout.schedule(g, _angles(betas, p, "betas", solver))
    else:
        theta = layout.schedule(*ramp(start, mixer))
    stages = p - start + 1
    stage_energies = []
    for k in range(stages):
        budget = settings.maxiter // stages + (settings.maxiter % stages if k == stages - 1 else 0)
        res = run.optimise(theta, layout.scale, budget)
        theta = res.x
        stage_energies.append(float(res.fun) if np.isfinite(res.fun) else None)
        if k < stages - 1:
            layers = interp(layout.to_layers(theta))
            run.set_ansatz(make(run.ansatz.p + 1))
            layout = _Layout(run.ansatz, gscale)
            theta = layout.from_layers(layers)
    extra = {
        "p": p,
        "init": init,
        "mixer": mixer,
        "multi_angle": multi_angle,
        "gamma_scale": gscale,
        **({"stage_best": stage_energies} if init == "transfer" else {}),
        **(info or {}),
    }
    return run.finish(layout.scale * theta, extra)


def check_angles(params: dict[str, Any]) -> None:
    """Fixed angles come as p-long lists, and init=fixed needs both (ConfigError otherwise)."""
    p = params.get("p") or 1
    for name in ("gammas", "betas"):
        values = params.get(name)
        if values is not None and len(values) != p:
            raise ConfigError(f"{name} has {len(values)} values, expected p={p}")
    if params.get("init") == "fixed" and (
        params.get("gammas") is None or params.get("betas") is None
    ):
        raise ConfigError("init=fixed needs gammas and betas (comma lists of p angles)")


def _qaoa_params(objective: str = "expectation", alpha: float = 1.0) -> tuple[Param, ...]:
    return (
        Param("p", int, 1, "QAOA layers", bounds="[1, inf)"),
        Param("init", str, "ramp", "start angles: linear ramp, fixed lists, layer transfer", INITS),
        Param("gammas", ListOf(float), None, "init=fixed: comma list of p cost angles γ"),
        Param("betas", ListOf(float), None, "init=fixed: comma list of p mixer angles β"),
        *common_params(objective=objective, alpha=alpha),
    )


def solve(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """QAOA with the X mixer on the QUBO (standard angles: one γ and one β per layer)."""
    return solve_qaoa("qaoa", target, seed, params)


def solve_ma(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """Multi-angle QAOA: one γ per cost term and one β per qubit in every layer."""
    return solve_qaoa("ma_qaoa", target, seed, params, multi_angle=True)


def solve_cvar(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """CVaR-QAOA (Barkoutsos et al. 2020): minimise the CVaR_α of the energy (α default 0.1)."""
    params.setdefault("objective", "cvar")
    params.setdefault("alpha", 0.1)
    return solve_qaoa("cvar_qaoa", target, seed, params)


def relaxed_solution(
    qubo: BinaryProgram, seed: Any = None, starts: int = WARM_STARTS
) -> tuple[np.ndarray, float]:
    """A local minimiser c ∈ [0, 1]ⁿ of the QUBO's continuous relaxation, and its energy.

    The relaxation ``min h·c + cᵀQc`` over the box is a QP that is generally non-convex (the
    QUBO's Q is indefinite), so this is a *local* box-QP solution: L-BFGS-B with the exact
    gradient ``h + (Q + Qᵀ)c`` from the centre and ``starts − 1`` seeded uniform points, the
    lowest result kept. (Egger et al. solve the convex case exactly; this is the practical
    general-QUBO variant.)
    """
    W = (qubo.quadratic + qubo.quadratic.T).tocsr()
    h = qubo.linear

    def f(c: np.ndarray) -> tuple[float, np.ndarray]:
        wc = W @ c
        return float(qubo.constant + h @ c + 0.5 * c @ wc), h + wc

    rng = np.random.default_rng(seed)
    n = qubo.n_vars
    points = [np.full(n, 0.5)] + [rng.random(n) for _ in range(max(0, starts - 1))]
    best_c, best_f = None, np.inf
    for c0 in points:
        res = scipy_minimize(f, c0, jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * n)
        c = np.clip(res.x, 0.0, 1.0)
        value = f(c)[0]
        if value < best_f:
            best_c, best_f = c, value
    return best_c, float(best_f)


def solve_ws(
    target: Any, *, seed: int | None = None, epsilon: float | None = None, **params: Any
) -> SolveResult:
    """Warm-start QAOA (Egger et al. 2021): start and mixer from the regularised relaxed solution.

    c* from :func:`relaxed_solution` is regularised to ``clip(c*, ε, 1 − ε)`` so no qubit starts
    frozen in a basis state (ε = 0.5 gives the plain ``|+⟩`` start; small ε stays close to the
    rounded relaxation).
    """
    qubo = qubo_of(target, "ws_qaoa")
    eps = DEFAULT_EPSILON if epsilon is None else float(epsilon)
    if not 0.0 <= eps <= 0.5:
        raise ConfigError(f"solver 'ws_qaoa': epsilon must be in [0, 0.5], got {eps}")
    c, relaxed = relaxed_solution(qubo, seed=None if seed is None else [int(seed), 1])
    warm = np.clip(c, eps, 1.0 - eps)
    info = {"epsilon": eps, "relaxed_energy": relaxed, "warm_start": [float(v) for v in warm]}
    return solve_qaoa("ws_qaoa", target, seed, params, mixer="warm", warm_start=warm, info=info)


def onehot_groups(program: BinaryProgram) -> tuple[list[list[int]], int]:
    """Disjoint one-hot groups of a constrained program and a start state with one bit per group.

    Groups are the ``Σ_S x = 1`` rows (all coefficients 1, right-hand side 1) taken greedily in
    row order, skipping rows that share a variable with a chosen one. The start state sets, per
    group in order, the first variable whose other one-hot rows are not yet covered (else the
    one touching the fewest covered rows), so it satisfies as many one-hot rows as a greedy can;
    for the n×n assignment matrix of QAP/TSP the groups are its rows ``[i·n .. i·n + n − 1]``
    and the start is the identity permutation. Returns ``(groups, initial_state)`` with bit i of
    the integer = variable i (qiskit order).
    """
    A = program.A.tocsr()
    onehot = []
    for r in range(program.n_constraints):
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        vals = A.data[A.indptr[r] : A.indptr[r + 1]]
        if program.senses[r] == "==" and program.b[r] == 1 and cols.size and np.all(vals == 1):
            onehot.append(sorted(int(c) for c in cols))
    groups: list[list[int]] = []
    used: set[int] = set()
    for row in onehot:
        if used.isdisjoint(row):
            groups.append(row)
            used.update(row)
    others = [set(row) for row in onehot if row not in groups]
    covered = np.zeros(len(others), dtype=bool)
    state = 0
    for group in groups:
        best_v, best_hits = group[0], None
        for v in group:
            rows = [k for k, row in enumerate(others) if v in row]
            hits = int(covered[rows].sum()) if rows else 0
            if best_hits is None or hits < best_hits:
                best_v, best_hits = v, hits
            if hits == 0:
                break
        state |= 1 << best_v
        for k, row in enumerate(others):
            if best_v in row:
                covered[k] = True
    return groups, state


def onehot_inputs(program: BinaryProgram) -> dict[str, Any]:
    """xy_qaoa's inputs from the original program: its one-hot ``groups`` and a feasible
    ``initial_state`` (:func:`onehot_groups`)."""
    groups, state = onehot_groups(program)
    return {"groups": groups, "initial_state": state}


def _check_groups(groups: Any, initial_state: Any, n: int) -> tuple[list[list[int]], int]:
    """Validated one-hot groups (disjoint, in range) and a start with one bit set per group."""
    if not groups:
        raise ConfigError(
            "xy_qaoa needs one-hot groups (use it on QAP/TSP through the pipeline, which passes "
            "groups and initial_state from the problem's one-hot rows)"
        )
    groups = [[int(v) for v in g] for g in groups]
    flat = [v for g in groups for v in g]
    if len(flat) != len(set(flat)) or any(not 0 <= v < n for v in flat):
        raise ConfigError(f"xy_qaoa: groups must be disjoint qubit lists within 0..{n - 1}")
    if initial_state is None:
        initial_state = sum(1 << g[0] for g in groups)
    initial_state = int(initial_state)
    for g in groups:
        if sum((initial_state >> v) & 1 for v in g) != 1:
            raise ConfigError(f"xy_qaoa: initial_state must set exactly one bit of group {g}")
    return groups, initial_state


def solve_xy(
    target: Any,
    *,
    seed: int | None = None,
    xy_mixer: str | None = None,
    groups: list[list[int]] | None = None,
    initial_state: int | None = None,
    **params: Any,
) -> SolveResult:
    """QAOA with an XY mixer on one-hot groups: the state never leaves the one-hot subspace.

    ``groups`` and ``initial_state`` come from the pipeline (:func:`onehot_groups` on the
    original program); qubits outside every group keep their start value.
    """
    qubo = qubo_of(target, "xy_qaoa")
    mixer = xy_mixer or "xy_ring"
    if mixer not in XY_MIXERS:
        raise ConfigError(
            f"solver 'xy_qaoa': unknown xy_mixer {mixer!r}; allowed: {', '.join(XY_MIXERS)}"
        )
    groups, initial_state = _check_groups(groups, initial_state, qubo.n_vars)
    info = {"groups": groups, "initial_state": initial_state}
    return solve_qaoa(
        "xy_qaoa",
        target,
        seed,
        params,
        mixer=mixer,
        groups=groups,
        initial_state=initial_state,
        info=info,
    )


QAOA = Solver(
    name="qaoa",
    check=check_angles,
    needs_qubo=True,
    ansatz="qaoa",
    work=work,
    solve=solve,
    params=_qaoa_params(),
    description="QAOA (X mixer, p layers) on the QUBO; best sampled bitstring",
)
MA_QAOA = Solver(
    name="ma_qaoa",
    check=check_angles,
    needs_qubo=True,
    ansatz="qaoa",
    work=work,
    solve=solve_ma,
    params=_qaoa_params(),
    description="multi-angle QAOA: one γ per cost term and one β per qubit per layer",
)
WS_QAOA = Solver(
    name="ws_qaoa",
    check=check_angles,
    needs_qubo=True,
    ansatz="qaoa",
    work=work,
    solve=solve_ws,
    params=(
        *_qaoa_params(),
        Param(
            "epsilon",
            float,
            DEFAULT_EPSILON,
            "warm-start regularisation: c in [ε, 1-ε]",
            bounds="[0, 0.5]",
        ),
    ),
    description="warm-start QAOA (Egger et al.) from a local box-QP relaxation of the QUBO",
)
CVAR_QAOA = Solver(
    name="cvar_qaoa",
    check=check_angles,
    needs_qubo=True,
    ansatz="qaoa",
    work=work,
    solve=solve_cvar,
    params=_qaoa_params(objective="cvar", alpha=0.1),
    description="CVaR-QAOA: minimises the mean of the lowest α fraction of the energy",
)
XY_QAOA = Solver(
    name="xy_qaoa",
    check=check_angles,
    needs_qubo=True,
    ansatz="qaoa",
    work=work,
    inputs=onehot_inputs,
    solve=solve_xy,
    params=(
        *_qaoa_params(),
        Param("xy_mixer", str, "xy_ring", "XY mixer graph within each one-hot group", XY_MIXERS),
    ),
    description="QAOA with an XY mixer on one-hot groups (QAP/TSP assignment rows)",
)

SOLVERS = (QAOA, MA_QAOA, WS_QAOA, CVAR_QAOA, XY_QAOA)
