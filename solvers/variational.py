"""Shared machinery of the variational solvers (QAOA family, VQE family).

A variational solver builds an :class:`~qbench.hardware.base.Ansatz` on the QUBO, picks a start
point, and hands :func:`run` the rest: the objective the optimiser sees (the expectation of the
QUBO energy, or its CVaR over the measured distribution), the budgeted optimisation, and the
read-out of the final state into a :class:`SolveResult`:

* the final distribution at the best angles (exact on exact backends, ``shots`` samples
  otherwise) and ``shots`` seeded samples of it; the sampled bitstring of lowest QUBO energy is
  the raw quantum answer;
* optional classical post-processing (``postprocess`` = ``flip1``/``flip2``: steepest-descent
  local search with 1- or 1-and-2-bit flips on the QUBO, from the best sample), recorded
  separately (``info["x_raw"]``, ``info["postprocessed"]``) so raw and post-processed quality
  are never confused;
* status "feasible" (a heuristic never claims optimality), ``objective`` = QUBO energy of x.

The optimiser may see rescaled parameters: ``ansatz params = scale * θ`` (QAOA divides its γ
by the QUBO's energy scale so one step size suits every instance); ``info["params"]`` holds the
ansatz's own parameters.

``info`` keys: ``final_states``/``final_probs`` (the final distribution; for exact backends only
states with probability > 1e-12 and at most the 2¹⁶ most probable, equal probabilities at that
boundary taken by lower state index; ``final_mass`` says how much probability they hold),
``samples`` ({state index: count}), ``energy`` (final expectation of the QUBO energy),
``cvar`` (CVaR at ``alpha``), ``alpha``, ``objective``, ``depth`` and ``two_qubit_gates`` (of
the logical, untranspiled circuit), ``optimizer``, ``n_evaluations``, ``iterations``,
``backend``, ``backend_info``, ``params``, ``history`` (objective per evaluation), ``x_raw``,
``energy_raw``, ``postprocess``, ``postprocessed``, ``n_qubits``, ``shots``. State index s
holds bit i of qubit i (qiskit order).

Memory: an exact backend's final distribution is read as one float64 probability vector
(``backend.probabilities``: no 2ⁿ states array, written over the state's own buffer on the
exact backend) and walked in chunks (:mod:`qbench.hardware.exact.readout`): the samples are
those of ``Generator.choice(p=...)`` without its cumulative array, the kept states are chosen
without sorting all 2ⁿ, and CVaR runs along the cached energy order (int32 up to 31 qubits)
only until α. Besides the state, a run holds the probabilities, the 2ⁿ cost vector and, for
CVaR, the order: the peaks that :func:`qbench.hardware.exact.required_bytes` states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.hardware.base import Ansatz, Backend, Distribution, Work, state_bits
from qbench.hardware.exact.readout import cvar_along, is_arange, most_probable, sample_indices
from qbench.pace import Paced
from qbench.params import Param
from qbench.program import BinaryProgram
from qbench.solvers.base import SolveResult
from qbench.solvers.optimizers import METHODS, OptResult, minimize

OBJECTIVES = ("expectation", "cvar")
POSTPROCESS = ("none", "flip1", "flip2")
#: final distributions of exact backends keep states above this probability ...
PROB_CUTOFF = 1e-12
#: ... and at most this many of them (the most probable)
MAX_FINAL_STATES = 1 << 16

DEFAULT_MAXITER = 200
DEFAULT_SHOTS = 1024


def init_scale_param(default: float) -> Param:
    """The start-angle spread the variational solvers take (each with its own default)."""
    return Param(
        "init_scale", float, default, "start angles uniform in ±init_scale", bounds="[0, inf)"
    )


def common_params(
    maxiter: int = DEFAULT_MAXITER, objective: str = "expectation", alpha: float = 1.0
) -> tuple[Param, ...]:
    """The parameters every variational solver declares (optimiser, budget, backend, read-out)."""
    return (
        Param("optimizer", str, "COBYLA", "classical optimiser", METHODS),
        Param(
            "maxiter",
            int,
            maxiter,
            "budget of objective evaluations (0: read out the start)",
            bounds="[0, inf)",
        ),
        Param(
            "tol",
            float,
            None,
            "optimiser tolerance (None: the method's default)",
            bounds="(0, inf)",
        ),
        Param(
            "shots",
            int,
            DEFAULT_SHOTS,
            "final samples (and per evaluation on shot backends)",
            bounds="[1, inf)",
        ),
        Param("backend", str, "exact", "where circuits run (qbench.hardware backends)"),
        Param("objective", str, objective, "what the optimiser minimises", OBJECTIVES),
        Param("alpha", float, alpha, "CVaR level; 1 = expectation", bounds="(0, 1]"),
        Param("postprocess", str, "none", "classical local search on the best sample", POSTPROCESS),
        Param("backend_options", dict, None, "device-backend options (set as backend.KEY=VALUE)"),
    )


def work(qubo: BinaryProgram, params: dict[str, Any]) -> Work:
    """What a variational run asks of a backend: one circuit per estimate, ``maxiter``
    evaluations, ``shots`` per circuit; expectations are read unless the objective is CVaR
    (which reads bitstrings)."""
    return Work(
        bases=1,
        evaluations=int(params.get("maxiter") or 0),
        shots=int(params.get("shots") or 0),
        expectations=params.get("objective") != "cvar",
        gates=lambda: circuit_gates(qubo, params),
    )


def circuit_gates(qubo: BinaryProgram, params: dict[str, Any]) -> list:
    """One circuit's two-qubit gates (:func:`qbench.hardware.mps.two_qubit_gates` form): the
    hardware-efficient ansatz of VQE-type solvers, or per QAOA layer one diagonal block of the
    QUBO's couplings followed by the mixer."""
    from qbench.hardware.circuits import vqe_ansatz
    from qbench.hardware.mps import two_qubit_gates

    if "ansatz" in params:
        qc = vqe_ansatz(params["ansatz"], qubo.n_vars, params.get("reps") or 0,
                        params.get("entanglement") or "linear")  # fmt: skip
        return two_qubit_gates(qc.decompose())
    rows, cols = qubo.quadratic.nonzero()
    layer = [(int(i), int(j), True) for i, j in zip(rows, cols)] + [None]
    return layer * int(params.get("p") or 1)


@dataclass
class Settings:
    """Validated common settings of one variational run."""

    solver: str
    optimizer: str = "COBYLA"
    maxiter: int = DEFAULT_MAXITER
    tol: float | None = None
    shots: int = DEFAULT_SHOTS
    backend: str = "exact"
    objective: str = "expectation"
    alpha: float = 1.0
    postprocess: str = "none"
    #: device-backend options (``backend.KEY`` parameters, validated by qbench.hardware.ibm)
    backend_options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        owner = f"solver {self.solver!r}"
        if self.optimizer not in METHODS:
            raise ConfigError(
                f"{owner}: unknown optimizer {self.optimizer!r}; allowed: {', '.join(METHODS)}"
            )
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"{owner}: unknown objective {self.objective!r}; allowed: {', '.join(OBJECTIVES)}"
            )
        if self.postprocess not in POSTPROCESS:
            raise ConfigError(
                f"{owner}: unknown postprocess {self.postprocess!r}; "
                f"allowed: {', '.join(POSTPROCESS)}"
            )
        self.maxiter, self.shots = int(self.maxiter), int(self.shots)
        if self.maxiter < 0:
            raise ConfigError(f"{owner}: maxiter must be >= 0, got {self.maxiter}")
        if self.shots < 1:
            raise ConfigError(f"{owner}: shots must be >= 1, got {self.shots}")
        self.alpha = float(self.alpha)
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError(f"{owner}: alpha must be in (0, 1], got {self.alpha}")


def settings_from(solver: str, params: dict[str, Any]) -> tuple[Settings, dict[str, Any]]:
    """Split solver keyword arguments into the common Settings and the solver's own ones."""
    names = set(Settings.__dataclass_fields__) - {"solver"}
    common = {k: v for k, v in params.items() if k in names and v is not None}
    rest = {k: v for k, v in params.items() if k not in names}
    return Settings(solver=solver, **common), rest


def qubo_of(target: Any, solver: str) -> BinaryProgram:
    """The unconstrained min program a variational solver runs on, or ConfigError."""
    program = getattr(target, "program", target)
    if not isinstance(program, BinaryProgram):
        raise ConfigError(f"solver {solver!r}: expected a BinaryProgram, got {type(target)}")
    if program.n_constraints or program.sense != "min":
        raise ConfigError(
            f"solver {solver!r} needs an encoder: it runs on an unconstrained min QUBO, got a "
            f"{program.sense} program with {program.n_constraints} constraint(s) "
            "(e.g. --encoder qubo)"
        )
    if program.n_vars < 1:
        raise ConfigError(f"solver {solver!r}: the program has no variables")
    return program


def cvar(values: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """CVaR_α of a discrete distribution: the mean of its lowest α probability mass.

    Values are sorted ascending and taken whole while their cumulative probability stays ≤ α;
    the state at the boundary contributes the remaining fraction. α = 1 is the plain mean
    (computed directly, so it equals ``Σ p v`` exactly). Probabilities are normalised first.
    """
    values = np.asarray(values, dtype=float).ravel()
    probs = np.asarray(probs, dtype=float).ravel()
    if values.shape != probs.shape or values.size == 0:
        raise ValueError("values and probs must be non-empty and of equal length")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    total = probs.sum()
    if total <= 0:
        raise ValueError("probabilities sum to zero")
    if alpha >= 1.0:
        return float(np.dot(probs, values) / total)
    order = np.argsort(values, kind="stable")
    return _cvar_sorted(values[order], probs[order] / total, alpha)


def _cvar_sorted(values: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """CVaR_α of values already sorted ascending with normalised probabilities."""
    cum = np.cumsum(probs)
    k = int(np.searchsorted(cum, alpha, side="left"))  # first index with cum >= alpha
    k = min(k, values.size - 1)
    before = cum[k - 1] if k else 0.0
    return float((np.dot(probs[:k], values[:k]) + (alpha - before) * values[k]) / alpha)


def full_probabilities(
    backend: Backend, ansatz: Ansatz, params: np.ndarray, seed: int | None
) -> np.ndarray | None:
    """The exact final distribution as one float64 vector indexed by basis state, from an exact
    backend that offers it (``probabilities``: the exact backend, Aer statevector) — the same
    numbers as ``distribution(shots=None).probs`` without the 2ⁿ states array — else None."""
    return backend.probabilities(ansatz, params, seed=seed) if backend.exact else None


class Energies:
    """QUBO energies of basis states: the 2ⁿ cost vector on exact backends (their read-out needs
    every state's energy; evaluating 2ⁿ states through the QUBO would allocate as much and take
    far longer), else evaluated per state."""

    def __init__(self, ansatz: Ansatz, use_vector: bool):
        self.ansatz = ansatz
        self.n = ansatz.n_qubits
        self._order: np.ndarray | None = None
        self._vector: np.ndarray | None = None
        self.use_vector = bool(use_vector)

    @property
    def vector(self) -> np.ndarray:
        """Energies minus the QUBO constant: the exact engine's cached vector, shared with it
        (one 2ⁿ array per ansatz, not two); kept across ansätze of the same QUBO."""
        if self._vector is None:
            from qbench.hardware.exact import cached_cost

            self._vector = cached_cost(self.ansatz)
        return self._vector

    @property
    def order(self) -> np.ndarray:
        """States sorted by energy, ties by index (for CVaR over full distributions without
        re-sorting): int32 while 2ⁿ fits (4 bytes per state instead of 8)."""
        if self._order is None:
            order = np.argsort(self.vector, kind="stable")
            if order.size <= np.iinfo(np.int32).max:
                order = order.astype(np.int32)
            self._order = order
        return self._order

    def is_full(self, states: np.ndarray) -> bool:
        """True when ``states`` is exactly 0..2ⁿ−1 in order (a full exact distribution)."""
        return self.use_vector and is_arange(np.asarray(states), 1 << self.n)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        if self.use_vector:
            return self.vector[np.asarray(states, dtype=np.int64)] + self.ansatz.qubo.constant
        states = np.asarray(states).ravel()
        out = np.empty(states.size)
        chunk = 1 << 14  # bounded (chunk, n) bit arrays
        for start in range(0, states.size, chunk):
            bits = state_bits(states[start : start + chunk], self.n)
            out[start : start + chunk] = self.ansatz.qubo.objective(bits)
        return out

    def cvar_full(self, probs: np.ndarray, alpha: float) -> float:
        """CVaR_α of the energy under a full distribution (``probs`` indexed by state, not
        necessarily normalised); α = 1 is the mean. No 2ⁿ temporaries: the mean is one dot
        product with the cost vector, CVaR walks :attr:`order` only until α."""
        total = float(probs.sum())
        constant = self.ansatz.qubo.constant
        if alpha >= 1.0:
            return (float(np.dot(probs, self.vector)) + constant * total) / total
        return cvar_along(self.vector, probs, self.order, alpha, total) + constant

    def cvar(self, dist: Distribution, alpha: float) -> float:
        """CVaR_α of the energy under a distribution."""
        states = np.asarray(dist.states)
        probs = np.asarray(dist.probs, dtype=float)
        if self.is_full(states):
            return self.cvar_full(probs, alpha)
        return cvar(self(states), probs, alpha)


class Objective:
    """What the optimiser minimises: energy expectation or CVaR_α at ``params = scale * θ``."""

    def __init__(
        self,
        ansatz: Ansatz,
        backend: Backend,
        settings: Settings,
        energies: Energies,
        scale: np.ndarray,
        rng: np.random.Generator,
    ):
        self.ansatz, self.backend, self.settings = ansatz, backend, settings
        self.energies, self.scale, self.rng = energies, np.asarray(scale, dtype=float), rng

    def params(self, theta: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(theta, dtype=float)

    def _seed(self) -> int:
        return int(self.rng.integers(2**63 - 1))

    def __call__(self, theta: np.ndarray) -> float:
        params = self.params(theta)
        s = self.settings
        if s.objective == "expectation":
            return float(self.backend.expectation(self.ansatz, params, seed=self._seed()))
        seed = self._seed()
        probs = full_probabilities(self.backend, self.ansatz, params, seed)
        if probs is not None:
            return self.energies.cvar_full(probs, s.alpha)
        dist = self.backend.distribution(
            self.ansatz, params, shots=None if self.backend.exact else s.shots, seed=seed
        )
        return self.energies.cvar(dist, s.alpha)


def local_search(qubo: BinaryProgram, x: np.ndarray, flips: int = 1) -> tuple[np.ndarray, int]:
    """Steepest descent on the QUBO from x with 1-bit (or 1- and 2-bit) flips; (x, moves made).

    With ``W = Q + Qᵀ`` the local field ``f = h + W x`` gives every 1-flip delta at once,
    ``Δ_i = d_i f_i`` (``d = 1 − 2x``), and every 2-flip delta as ``Δ_i + Δ_j + d_i d_j W_ij``;
    the best improving move is applied and the field updated until none improves.
    """
    x = np.asarray(x, dtype=float).copy()
    n = x.size
    W = sp.csr_matrix(qubo.quadratic + qubo.quadratic.T)
    dense = W.toarray() if flips == 2 else None
    field = qubo.linear + W @ x
    moves = 0
    for _ in range(10 * n * n + 10):
        d = 1.0 - 2.0 * x
        delta = d * field
        i = int(np.argmin(delta))
        best, pair = float(delta[i]), None
        if flips == 2 and n > 1:
            D = delta[:, None] + delta[None, :] + np.outer(d, d) * dense
            np.fill_diagonal(D, np.inf)
            k = int(np.argmin(D))
            if D.flat[k] < best - 1e-12:
                best, pair = float(D.flat[k]), divmod(k, n)
        if best >= -1e-9:
            break
        for j in pair if pair is not None else (i,):
            field += W[:, [j]].toarray().ravel() * (1.0 - 2.0 * x[j])
            x[j] = 1.0 - x[j]
        moves += 1
    return x.astype(np.int8), moves


def postprocessed(
    qubo: BinaryProgram, x_raw: np.ndarray, energy_raw: float, mode: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """The answer after optional local search (``mode`` none/flip1/flip2) and the info keys that
    keep the raw quantum answer beside it (x_raw, energy_raw, postprocess, postprocessed,
    postprocess_moves)."""
    x, moves = x_raw, 0
    if mode != "none":
        x, moves = local_search(qubo, x_raw, flips=2 if mode == "flip2" else 1)
    return x, {
        "x_raw": x_raw,
        "energy_raw": energy_raw,
        "postprocess": mode,
        "postprocessed": mode != "none",
        "postprocess_moves": moves,
    }


def bits_of(state: int, n: int) -> np.ndarray:
    """The bitstring (qubit i = bit i) of one basis state index."""
    return state_bits(np.array([int(state)], dtype=object), n)[0].astype(np.int8)


def circuit_facts(ansatz: Ansatz, params: np.ndarray) -> dict[str, int]:
    """Depth and two-qubit gate count of the ansatz's logical circuit, bound to ``params``.

    Binding first gives the same counts (the metrics unroll at optimisation level 0, which
    drops no gate) and avoids qiskit's symbolic global-phase blow-up when transpiling a
    parameterised QAOA circuit with p >= 2 (minutes for 10 qubits).
    """
    from qbench.hardware.circuits import circuit_metrics

    qc = ansatz.circuit()
    values = np.asarray(params, dtype=float)
    if qc.num_parameters:
        if qc.num_parameters == values.size:
            qc = qc.assign_parameters(values)
        else:  # parameters acting on nothing are absent; any value gives the same counts
            qc = qc.assign_parameters(dict.fromkeys(qc.parameters, 1.0))
    metrics = circuit_metrics(qc)
    return {"depth": int(metrics["depth"]), "two_qubit_gates": int(metrics["two_qubit_gates"])}


class Run:
    """One variational solve: the backend, the objective, the optimisation and the read-out."""

    def __init__(self, ansatz: Ansatz, settings: Settings, seed: int | None):
        from qbench.hardware import open_backend

        self.settings = settings
        self.backend = open_backend(
            settings.backend, shots=settings.shots, options=settings.backend_options
        )
        self.seeds = np.random.SeedSequence(seed).spawn(3)
        self.eval_rng = np.random.default_rng(self.seeds[0])
        self.opt_rng = np.random.default_rng(self.seeds[1])
        self.n_evaluations = 0
        self.iterations = 0
        self.history: list[float] = []
        self.set_ansatz(ansatz)

    def set_ansatz(self, ansatz: Ansatz) -> None:
        """Switch to another ansatz (layer-by-layer QAOA grows p); the same QUBO is kept."""
        self.backend.check(ansatz)
        old = getattr(self, "energies", None)
        self.ansatz = ansatz
        self.energies = Energies(ansatz, use_vector=bool(self.backend.exact))
        if old is not None and old.ansatz.qubo is ansatz.qubo:
            self.energies._vector, self.energies._order = old._vector, old._order

    def optimise(self, theta0: np.ndarray, scale: np.ndarray, budget: int) -> OptResult:
        """Minimise the objective from θ0 with ``budget`` evaluations (counts add up per run).

        A budget of 0 skips the optimisation and returns θ0 unevaluated (fixed angles).
        """
        if budget <= 0:
            return OptResult(
                x=np.asarray(theta0, dtype=float), fun=np.nan, n_evaluations=0, iterations=0
            )
        if self.settings.objective == "cvar":
            self._sort_energies()
        objective = Objective(
            self.ansatz, self.backend, self.settings, self.energies, scale, self.eval_rng
        )
        what = f"{self.settings.solver} on {self.settings.backend} ({self.ansatz.n_qubits} qubits)"
        res = minimize(
            Paced(objective, budget, what),
            theta0,
            method=self.settings.optimizer,
            maxiter=budget,
            tol=self.settings.tol,
            seed=int(self.opt_rng.integers(2**63 - 1)),
        )
        self.n_evaluations += res.n_evaluations
        self.iterations += res.iterations
        self.history.extend(res.history)
        return res

    def _sort_energies(self) -> None:
        """Build the cost vector's sort order now, when CVaR will need it on a full
        distribution: before any state or distribution exists, so that the sort's temporaries
        (an int64 index and its merge buffer) never add to them."""
        if self.energies.use_vector and self.settings.alpha < 1.0:
            _ = self.energies.order

    def _read_full(self, probs: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        """The read-out of a full exact distribution given as one probability vector (consumed:
        normalised in place), with chunk-sized temporaries only (see the module docstring)."""
        s = self.settings
        probs /= probs.sum()
        draws = sample_indices(probs, s.shots, rng)
        sampled, counts = np.unique(draws, return_counts=True)
        energy = self.energies.cvar_full(probs, 1.0)
        keep = most_probable(probs, PROB_CUTOFF, MAX_FINAL_STATES)
        return {
            "sampled": sampled,
            "counts": counts,
            "energy": energy,
            "cvar": energy if s.alpha >= 1.0 else self.energies.cvar_full(probs, s.alpha),
            "final_states": keep,
            "final_probs": probs[keep],
            "final_mass": float(probs[keep].sum()),
        }

    def _read_distribution(
        self, dist: Distribution, params: np.ndarray, rng: np.random.Generator
    ) -> dict[str, Any]:
        """The read-out of a Distribution: exact (all 2ⁿ states, or a support) or sampled."""
        s = self.settings
        states = np.asarray(dist.states)
        probs = np.asarray(dist.probs, dtype=float)
        probs = probs / probs.sum()
        if dist.exact:
            energy = float(np.dot(probs, self.energies(states)))
            idx, counts = np.unique(sample_indices(probs, s.shots, rng), return_counts=True)
            sampled = states[idx]
        else:
            energy = float(
                self.backend.expectation(self.ansatz, params, seed=int(rng.integers(2**63 - 1)))
            )
            total = dist.shots or s.shots
            counts = np.rint(probs * total).astype(np.int64)
            keep = counts > 0
            sampled, counts = states[keep], counts[keep]
        final_states, final_probs, mass = states, probs, 1.0
        if dist.exact:
            keep = most_probable(probs, PROB_CUTOFF, MAX_FINAL_STATES)
            final_states, final_probs = states[keep], probs[keep]
            mass = float(final_probs.sum())
        return {
            "sampled": sampled,
            "counts": counts,
            "energy": energy,
            "cvar": self.energies.cvar(Distribution(states, probs, dist.exact), s.alpha),
            "final_states": final_states,
            "final_probs": final_probs,
            "final_mass": mass,
        }

    def finish(self, params: np.ndarray, info: dict[str, Any] | None = None) -> SolveResult:
        """Read out the final state at ``params`` (ansatz parameters) into a SolveResult."""
        s = self.settings
        ansatz, backend = self.ansatz, self.backend
        rng = np.random.default_rng(self.seeds[2])
        params = np.asarray(params, dtype=float)
        exact = bool(backend.exact)
        seed = int(rng.integers(2**63 - 1))
        self._sort_energies()
        probs = full_probabilities(backend, ansatz, params, seed)
        if probs is not None:
            read = self._read_full(probs, rng)
            del probs
        else:
            dist = backend.distribution(ansatz, params, shots=None if exact else s.shots, seed=seed)
            read = self._read_distribution(dist, params, rng)
            del dist
        sampled, counts = read["sampled"], read["counts"]
        sample_energy = self.energies(sampled)
        # lowest energy first; ties: most frequent, then first listed (lowest state index)
        best = np.lexsort((np.arange(counts.size), -counts, sample_energy))[0]
        n = ansatz.n_qubits
        x_raw = bits_of(int(sampled[best]), n)
        energy_raw = float(sample_energy[best])
        x, post = postprocessed(ansatz.qubo, x_raw, energy_raw, s.postprocess)
        out = {
            "final_states": read["final_states"],
            "final_probs": read["final_probs"],
            "final_mass": read["final_mass"],
            "samples": {int(a): int(c) for a, c in zip(sampled, counts)},
            "energy": read["energy"],
            "cvar": read["cvar"],
            "alpha": s.alpha,
            "objective": s.objective,
            **circuit_facts(ansatz, params),
            "optimizer": s.optimizer,
            "n_evaluations": self.n_evaluations,
            "iterations": self.iterations,
            "backend": backend.name,
            "backend_info": backend.info(),
            "params": [float(v) for v in params],
            "history": list(self.history),
            **post,
            "n_qubits": n,
            "shots": s.shots,
            **(info or {}),
        }
        backend.close()  # a session or batch on IBM Runtime ends with the read-out
        return SolveResult(
            x=x,
            status="feasible",
            objective=float(ansatz.qubo.objective(np.asarray(x, dtype=float))),
            n_evaluations=self.n_evaluations,
            iterations=self.iterations,
            info=out,
        )
