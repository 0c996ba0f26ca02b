"""Correlations between the n + 1 MaxCut nodes of a QUBO: which variables are likely equal.

Convention (every source): ``M`` is a symmetric (n+1)×(n+1) matrix over the variables and the
reference node n, an estimate of ``⟨s_a s_b⟩`` with spins ``s_i = 1 − 2 x_i`` and ``s_n = +1``.
So for variables i, j: ``M_ij > 0`` means x_i = x_j is likely, ``M_ij < 0`` means x_i ≠ x_j;
and ``M_in = ⟨s_i⟩``: > 0 means x_i = 0 is likely, < 0 means x_i = 1. The diagonal is 1.

Sources:

* ``"sdp"`` — the Goemans–Williamson MaxCut relaxation ``max Σ w_ab (1 − v_a·v_b)/2`` over unit
  vectors, solved low-rank (Burer–Monteiro): rank ``r = ceil(sqrt(2(n+1))) + 1`` (above the
  Barvinok–Pataki bound, so generic instances have no spurious local optima), rows of a free
  matrix normalised to unit length, L-BFGS-B with the exact gradient, several seeded restarts,
  best kept; ``M = V Vᵀ``. :func:`sdp_cvxpy` solves the same SDP with cvxpy (optional, imported
  lazily) as a reference.
* ``"qaoa"`` — exact p = 1 QAOA moments ``⟨Z_i⟩`` and ``⟨Z_i Z_j⟩`` of the QUBO's own n-qubit
  circuit ``e^{−iβΣX} e^{−iγC} |+⟩ⁿ`` (qbench's QAOAAnsatz convention), in closed form for an
  Ising cost with fields (see :func:`qaoa_moments`); with zero fields it is the weighted-MaxCut
  formula of Wang, Hadfield et al. (2018). Fields are kept as fields rather than as couplings
  to the reference node because the (n+1)-qubit MaxCut circuit is a different circuit (its
  mixer acts on the reference too). (γ, β) are given or chosen by a grid plus a Nelder–Mead
  polish of the p = 1 expected energy (= offset − expected cut).
* ``"samples"`` — empirical ``E[s_a s_b]`` of bitstrings from any solver, weighted by counts or
  probabilities; raw by default (it is what tells equal from different), or connected
  ``E[s_i s_j] − E[s_i]E[s_j]`` between variables (the reference row stays ``E[s_i]``: a
  connected correlation with a constant is 0 and would carry nothing).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from qbench.errors import ConfigError
from qbench.program import BinaryProgram
from qbench.shrinking.maxcut import MaxCut, expected_energy, ising_fields, qubo_to_maxcut

SOURCES = ("sdp", "qaoa", "samples")
#: options each source accepts (passed as keywords to :func:`correlation_matrix`)
SOURCE_OPTIONS = {
    "sdp": ("rank", "restarts", "maxiter"),
    "qaoa": ("gamma", "beta", "grid"),
    "samples": ("connected",),
}


def correlation_matrix(
    qubo: BinaryProgram,
    source: str = "sdp",
    *,
    seed: int = 0,
    samples: Any = None,
    **options: Any,
) -> np.ndarray:
    """The (n+1)×(n+1) correlation matrix of a QUBO from one source (module docstring).

    ``samples`` (source "samples") is anything :func:`sample_rows` reads, or a callable
    ``samples(qubo, seed)`` returning one, so it can be re-drawn on a shrunken QUBO.
    """
    if source not in SOURCES:
        raise ConfigError(f"unknown correlation source {source!r}; allowed: {', '.join(SOURCES)}")
    unknown = sorted(set(options) - set(SOURCE_OPTIONS[source]))
    if unknown:
        allowed = ", ".join(SOURCE_OPTIONS[source])
        raise ConfigError(
            f"correlation source {source!r}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {allowed}"
        )
    if source == "sdp":
        return sdp(qubo, seed=seed, **options).correlations
    if source == "qaoa":
        return qaoa(qubo, **options).correlations
    if samples is None:
        raise ConfigError("correlation source 'samples' needs samples (bitstrings with counts)")
    drawn = samples(qubo, seed) if callable(samples) else samples
    return sample_correlations(drawn, qubo.n_vars, **options)


# ---- SDP (Goemans–Williamson relaxation) -------------------------------------------------------


@dataclass
class SDPResult:
    """A solution of the MaxCut SDP: unit vectors, their Gram matrix and the bounds it gives."""

    vectors: np.ndarray
    correlations: np.ndarray
    #: SDP value: an upper bound on the maximum cut
    cut_bound: float
    #: ``offset − cut_bound``: a lower bound on the QUBO's minimum energy
    energy_bound: float


def default_rank(n_nodes: int) -> int:
    """Burer–Monteiro rank ``ceil(sqrt(2 n_nodes)) + 1`` (at most n_nodes)."""
    return min(n_nodes, math.ceil(math.sqrt(2 * n_nodes)) + 1)


def _as_maxcut(target: BinaryProgram | MaxCut) -> MaxCut:
    return target if isinstance(target, MaxCut) else qubo_to_maxcut(target)


def _sdp_result(maxcut: MaxCut, vectors: np.ndarray, gram: np.ndarray) -> SDPResult:
    gram = 0.5 * (gram + gram.T)
    np.fill_diagonal(gram, 1.0)
    energy = expected_energy(maxcut, gram)
    return SDPResult(vectors, gram, maxcut.offset - energy, energy)


def _single_blas_thread():
    """Limit BLAS to one thread while optimising, when threadpoolctl is installed.

    scipy's L-BFGS-B calls BLAS on vectors of n·r entries; a multi-threaded OpenBLAS pays
    thread hand-offs on each call: measured 40× slower per iteration with 2 threads on a busy
    2-core machine (0.1 s vs 0.003 s for 11 iterations of a 119-variable problem).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def sdp(
    target: BinaryProgram | MaxCut,
    *,
    rank: int | None = None,
    restarts: int = 3,
    maxiter: int = 2000,
    seed: int = 0,
) -> SDPResult:
    """Burer–Monteiro solution of the MaxCut SDP: ``min ½⟨W, VVᵀ⟩`` over unit-norm rows of V.

    V = U / ‖U‖ row-wise for a free U; the gradient ``(G − diag(G Vᵀ) V) / ‖u‖`` with
    ``G = W V`` goes to scipy's L-BFGS-B. W is scaled to max |w| = 1 for the tolerances.
    """
    maxcut = _as_maxcut(target)
    n = maxcut.n_nodes
    rank = default_rank(n) if rank is None else int(rank)
    if not 1 <= rank <= n:
        raise ConfigError(f"sdp: rank must be in 1..{n} (number of nodes), got {rank}")
    if int(restarts) < 1:
        raise ConfigError(f"sdp: restarts must be >= 1, got {restarts}")
    if maxcut.weights.nnz == 0:
        return _sdp_result(maxcut, np.eye(n, rank), np.eye(n))
    w = sp.csr_matrix(maxcut.weights / abs(maxcut.weights).max())

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        u = flat.reshape(n, rank)
        norms = np.linalg.norm(u, axis=1, keepdims=True)
        v = u / norms
        g = w @ v
        value = 0.5 * float(np.sum(g * v))
        grad = (g - np.sum(g * v, axis=1, keepdims=True) * v) / norms
        return value, grad.ravel()

    best_value, best_v = np.inf, None
    with _single_blas_thread():
        for child in np.random.SeedSequence(seed).spawn(int(restarts)):
            u0 = np.random.default_rng(child).standard_normal((n, rank))
            res = minimize(
                fun,
                u0.ravel(),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": int(maxiter), "ftol": 1e-13, "gtol": 1e-9},
            )
            if res.fun < best_value:
                u = res.x.reshape(n, rank)
                best_value, best_v = res.fun, u / np.linalg.norm(u, axis=1, keepdims=True)
    return _sdp_result(maxcut, best_v, best_v @ best_v.T)


def sdp_cvxpy(target: BinaryProgram | MaxCut, *, solver: str | None = None) -> SDPResult:
    """Reference solution of the same SDP with cvxpy (optional: ``pip install cvxpy``)."""
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("sdp_cvxpy needs cvxpy; install it with 'pip install cvxpy'") from None
    maxcut = _as_maxcut(target)
    n = maxcut.n_nodes
    w = maxcut.weights.toarray()
    x = cp.Variable((n, n), PSD=True)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.multiply(w, x))), [cp.diag(x) == 1])
    problem.solve(solver=solver)
    gram = np.asarray(x.value, dtype=float)
    vals, vecs = np.linalg.eigh(0.5 * (gram + gram.T))
    vectors = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return _sdp_result(maxcut, vectors, gram)


# ---- QAOA p = 1 --------------------------------------------------------------------------------


@dataclass
class QAOAResult:
    """p = 1 QAOA correlations at (γ, β) and the expected QUBO energy there."""

    gamma: float
    beta: float
    correlations: np.ndarray
    energy: float


#: bound on the (pairs × n) temporaries of :func:`pair_moments`, in elements
_CHUNK_ELEMENTS = 1 << 21


def _prod_except(t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row products of t (pairs × n) leaving out columns a[k] and b[k] of row k (t is scratch)."""
    rows = np.arange(t.shape[0])
    t[rows, a] = 1.0
    t[rows, b] = 1.0
    return np.prod(t, axis=1)


def pair_moments(
    h: np.ndarray,
    J: np.ndarray,
    gamma: float,
    beta: float,
    u: np.ndarray,
    v: np.ndarray,
) -> np.ndarray:
    """``⟨Z_u Z_v⟩`` of p = 1 QAOA for the pairs (u[k], v[k]), u ≠ v (formula of
    :func:`qaoa_moments`), vectorised over pairs in chunks: O(pairs × n)."""
    n = h.size
    g2, s2, s4 = 2.0 * gamma, math.sin(2 * beta), math.sin(4 * beta)
    out = np.empty(u.size)
    cos_j, sin_j = np.cos(g2 * J), np.sin(g2 * J)  # cos(x ± y) from these: no cos per entry
    step = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, u.size, step):
        a, b = u[start : start + step], v[start : start + step]
        ca, cb, cc, ss = cos_j[a], cos_j[b], cos_j[a] * cos_j[b], sin_j[a] * sin_j[b]
        single = np.cos(g2 * h[a]) * _prod_except(ca, a, b)
        single += np.cos(g2 * h[b]) * _prod_except(cb, a, b)
        minus = np.cos(g2 * (h[a] - h[b])) * _prod_except(cc + ss, a, b)
        plus = np.cos(g2 * (h[a] + h[b])) * _prod_except(cc - ss, a, b)
        out[start : start + step] = 0.5 * s4 * np.sin(g2 * J[a, b]) * single + 0.5 * s2 * s2 * (
            minus - plus
        )
    return out


def qaoa_moments(
    h: np.ndarray, J: np.ndarray, gamma: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``⟨Z_u⟩`` and ``⟨Z_u Z_v⟩`` of p = 1 QAOA on ``C = Σ h_u Z_u + Σ_{u<v} J_uv Z_u Z_v``.

    State ``e^{−iβΣX} e^{−iγC} |+⟩ⁿ`` (J symmetric, zero diagonal). Heisenberg picture:
    ``⟨Z_u⟩ = sin2β sin(2γh_u) Π_w cos(2γJ_uw)`` and

        ⟨Z_u Z_v⟩ = ½ sin4β sin(2γJ_uv) [cos(2γh_u) Π_{w≠u,v} cos(2γJ_uw) + (u↔v)]
                  + ½ sin²2β [cos(2γ(h_u−h_v)) Π_{w≠u,v} cos(2γ(J_uw−J_vw))
                              − cos(2γ(h_u+h_v)) Π_{w≠u,v} cos(2γ(J_uw+J_vw))].

    Costs O(n³) for all pairs.
    """
    h = np.asarray(h, dtype=float)
    J = np.asarray(J, dtype=float)
    z = math.sin(2 * beta) * np.sin(2 * gamma * h) * np.prod(np.cos(2 * gamma * J), axis=1)
    u, v = np.triu_indices(h.size, k=1)
    zz = np.eye(h.size)
    zz[u, v] = zz[v, u] = pair_moments(h, J, gamma, beta, u, v)
    return z, zz


def qaoa_energy(target: BinaryProgram | MaxCut, gamma: float, beta: float) -> float:
    """Expected QUBO energy of p = 1 QAOA at (γ, β), from the moments of coupled pairs only."""
    maxcut = _as_maxcut(target)
    h, J = ising_fields(maxcut)
    u, v = np.nonzero(np.triu(J, k=1))
    z = math.sin(2 * beta) * np.sin(2 * gamma * h) * np.prod(np.cos(2 * gamma * J), axis=1)
    base = maxcut.offset - float(np.triu(J, k=1).sum() + h.sum())
    zz = pair_moments(h, J, gamma, beta, u, v)
    return base + float(h @ z) + float(J[u, v] @ zz)


def qaoa_correlations(target: BinaryProgram | MaxCut, gamma: float, beta: float) -> np.ndarray:
    """(n+1)×(n+1) p = 1 QAOA correlations at (γ, β): M_ij = ⟨Z_i Z_j⟩, M_in = ⟨Z_i⟩."""
    maxcut = _as_maxcut(target)
    h, J = ising_fields(maxcut)
    z, zz = qaoa_moments(h, J, gamma, beta)
    n = h.size
    m = np.eye(n + 1)
    m[:n, :n] = zz
    m[:n, n] = m[n, :n] = z
    return m


def qaoa(
    target: BinaryProgram | MaxCut,
    *,
    gamma: float | None = None,
    beta: float | None = None,
    grid: tuple[int, int] = (16, 12),
) -> QAOAResult:
    """p = 1 QAOA correlations at the given (γ, β), or at angles minimising the expected energy.

    Search: γ on a log grid from ``0.01/max|c|`` to ``π/median|c|`` (c the Ising coefficients),
    β on ``grid[1]`` midpoints of (−π/2, π/2) (one period, using the (γ, β) → (−γ, −β)
    symmetry), then a Nelder–Mead polish from the best grid point.
    """
    maxcut = _as_maxcut(target)

    def energy(angles: np.ndarray) -> float:
        return qaoa_energy(maxcut, *angles)

    if (gamma is None) != (beta is None):
        raise ConfigError("qaoa correlations: give both gamma and beta, or neither")
    if gamma is None:
        coeffs = np.abs(maxcut.weights.data)
        if coeffs.size == 0:
            gamma, beta = 0.0, 0.0
        else:
            n_gamma, n_beta = (int(v) for v in grid)
            gammas = np.geomspace(0.01 / coeffs.max(), math.pi / np.median(coeffs), n_gamma)
            betas = -math.pi / 2 + (np.arange(n_beta) + 0.5) * math.pi / n_beta
            values = [(energy(np.array([g, b])), g, b) for g in gammas for b in betas]
            _, g0, b0 = min(values)
            res = minimize(
                energy,
                np.array([g0, b0]),
                method="Nelder-Mead",
                options={"maxiter": 80, "xatol": 1e-6 * g0, "fatol": 1e-10},
            )
            gamma, beta = (float(v) for v in res.x)
    m = qaoa_correlations(maxcut, float(gamma), float(beta))
    return QAOAResult(float(gamma), float(beta), m, expected_energy(maxcut, m))


# ---- samples ----------------------------------------------------------------------------------


def sample_rows(samples: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bitstrings (k, n) and non-negative weights (k,) from samples of any solver.

    Accepts a (k, n) 0/1 array (unit weights), a pair ``(bits, weights)``, a mapping from
    qiskit bitstrings (``'0110'``, qubit 0 rightmost) or integer basis states to counts, or an
    object with ``states`` and ``probs`` (a :class:`qbench.hardware.base.Distribution`).
    """
    if hasattr(samples, "states") and hasattr(samples, "probs"):
        samples = dict(zip(np.asarray(samples.states).tolist(), samples.probs))
    if isinstance(samples, Mapping):
        keys = list(samples)
        weights = np.asarray([samples[k] for k in keys], dtype=float)
        if keys and all(isinstance(k, str) for k in keys):
            if any(len(k) != n or set(k) - {"0", "1"} for k in keys):
                raise ValueError(f"sample bitstrings must be {n} characters of 0/1")
            bits = np.array([[int(c) for c in reversed(k)] for k in keys], dtype=float)
        else:
            states = np.asarray(keys, dtype=np.int64)
            bits = ((states[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(float)
    elif isinstance(samples, tuple) and len(samples) == 2:
        bits = np.atleast_2d(np.asarray(samples[0], dtype=float))
        weights = np.asarray(samples[1], dtype=float).ravel()
    else:
        bits = np.atleast_2d(np.asarray(samples, dtype=float))
        weights = np.ones(bits.shape[0])
    if bits.ndim != 2 or bits.shape[1] != n or bits.shape[0] != weights.size:
        raise ValueError(
            f"expected {n}-bit samples with one weight each, got bits of shape {bits.shape} "
            f"and {weights.size} weights"
        )
    if not np.all((bits == 0) | (bits == 1)):
        raise ValueError("samples must be 0/1 bitstrings")
    if np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError("sample weights must be non-negative with a positive sum")
    return bits, weights


def sample_correlations(samples: Any, n: int, *, connected: bool = False) -> np.ndarray:
    """(n+1)×(n+1) weighted ``E[s_a s_b]`` of samples (s = 1 − 2x, s_n = +1); see module doc."""
    bits, weights = sample_rows(samples, n)
    spins = np.hstack([1.0 - 2.0 * bits, np.ones((bits.shape[0], 1))])
    p = weights / weights.sum()
    m = (spins * p[:, None]).T @ spins
    if connected:
        mean = m[:n, n]
        m[:n, :n] -= np.outer(mean, mean)
    np.fill_diagonal(m, 1.0)
    return m
