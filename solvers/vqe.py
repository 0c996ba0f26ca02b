"""The VQE family: vqe and cvar_vqe with hardware-efficient ansätze on a QUBO.

The ansatz is :func:`qbench.hardware.circuits.vqe_ansatz` (``efficient_su2``,
``real_amplitudes`` or ``ry_rz_cx``) wrapped in a
:class:`~qbench.hardware.base.CircuitAnsatz`; the optimiser, read-out and post-processing are
those of :mod:`qbench.solvers.variational`. Start angles are seeded uniform in
``[-init_scale, init_scale]`` (small: the state starts near ``|0…0⟩`` and the optimiser does not
begin on a barren random plateau). cvar_vqe (Barkoutsos et al. 2020) minimises the CVaR_α of the
sampled energy instead of its mean; α = 1 is plain VQE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qbench.errors import ConfigError
from qbench.hardware.base import CircuitAnsatz
from qbench.params import ListOf, Param
from qbench.solvers.base import Solver, SolveResult
from qbench.solvers.variational import (
    Run,
    common_params,
    init_scale_param,
    qubo_of,
    settings_from,
    work,
)

ANSATZE = ("efficient_su2", "real_amplitudes", "ry_rz_cx")
ENTANGLEMENTS = ("linear", "reverse_linear", "circular", "full", "pairwise", "sca")
DEFAULT_INIT_SCALE = 0.1
DEFAULT_VQE_MAXITER = 400


def solve_vqe(solver: str, target: Any, seed: int | None, params: dict[str, Any]) -> SolveResult:
    """The common VQE driver: build the circuit, draw start angles, optimise, read out."""
    from qbench.hardware.circuits import vqe_ansatz

    qubo = qubo_of(target, solver)
    settings, own = settings_from(solver, params)
    kind = own.pop("ansatz", None) or "efficient_su2"
    reps = own.pop("reps", None)
    reps = 1 if reps is None else int(reps)
    entanglement = own.pop("entanglement", None) or "linear"
    init_scale = own.pop("init_scale", None)
    init_scale = DEFAULT_INIT_SCALE if init_scale is None else float(init_scale)
    initial_point = own.pop("initial_point", None)
    if own:
        raise ConfigError(f"solver {solver!r}: unknown parameter(s) {', '.join(sorted(own))}")
    if kind not in ANSATZE:
        raise ConfigError(
            f"solver {solver!r}: unknown ansatz {kind!r}; allowed: {', '.join(ANSATZE)}"
        )
    if reps < 0:
        raise ConfigError(f"solver {solver!r}: reps must be >= 0, got {reps}")
    try:
        qc = vqe_ansatz(kind, qubo.n_vars, reps, entanglement)
    except ValueError as exc:
        raise ConfigError(f"solver {solver!r}: {exc}") from None
    ansatz = CircuitAnsatz(qubo=qubo, qc=qc, name=kind)
    run = Run(ansatz, settings, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
    theta0 = rng.uniform(-init_scale, init_scale, size=ansatz.n_params)
    if initial_point is not None:
        theta0 = np.asarray(initial_point, dtype=float).ravel()
        if theta0.size != ansatz.n_params or not np.all(np.isfinite(theta0)):
            raise ConfigError(
                f"solver {solver!r}: initial_point has {theta0.size} values; the {kind} ansatz "
                f"(reps {reps}) on {qubo.n_vars} qubits takes {ansatz.n_params} finite angles"
            )
    res = run.optimise(theta0, np.ones(ansatz.n_params), settings.maxiter)
    info = {"ansatz": kind, "reps": reps, "entanglement": entanglement, "init_scale": init_scale}
    return run.finish(res.x, info)


def _vqe_params(objective: str = "expectation", alpha: float = 1.0) -> tuple[Param, ...]:
    return (
        Param("ansatz", str, "efficient_su2", "hardware-efficient circuit", ANSATZE),
        Param("reps", int, 1, "ansatz repetitions (entangling layers)", bounds="[0, inf)"),
        Param("entanglement", str, "linear", "entangling pattern", ENTANGLEMENTS),
        init_scale_param(DEFAULT_INIT_SCALE),
        Param(
            "initial_point",
            ListOf(float),
            None,
            "start angles, one per ansatz parameter (None: random within ±init_scale)",
            id_default=False,
        ),
        *common_params(maxiter=DEFAULT_VQE_MAXITER, objective=objective, alpha=alpha),
    )


def solve(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """VQE: minimise the energy expectation of a hardware-efficient ansatz on the QUBO."""
    params.setdefault("maxiter", DEFAULT_VQE_MAXITER)
    return solve_vqe("vqe", target, seed, params)


def solve_cvar(target: Any, *, seed: int | None = None, **params: Any) -> SolveResult:
    """CVaR-VQE: minimise the CVaR_α of the energy (α default 0.1; α = 1 is plain VQE)."""
    params.setdefault("maxiter", DEFAULT_VQE_MAXITER)
    params.setdefault("objective", "cvar")
    params.setdefault("alpha", 0.1)
    return solve_vqe("cvar_vqe", target, seed, params)


VQE = Solver(
    name="vqe",
    needs_qubo=True,
    ansatz="circuit",
    work=work,
    solve=solve,
    params=_vqe_params(),
    description="VQE with a hardware-efficient ansatz on the QUBO; best sampled bitstring",
)
CVAR_VQE = Solver(
    name="cvar_vqe",
    needs_qubo=True,
    ansatz="circuit",
    work=work,
    solve=solve_cvar,
    params=_vqe_params(objective="cvar", alpha=0.1),
    description="CVaR-VQE: minimises the mean of the lowest α fraction of the energy",
)

SOLVERS = (VQE, CVAR_VQE)
