"""D-Wave's simulated annealing (dwave-samplers' ``SimulatedAnnealingSampler``, the Ocean SDK's
reference QUBO annealer) as a qbench solver: the standard baseline for a QUBO, beside qbench's
``sa``, which anneals the constrained program itself with its own penalty.

An optional dependency (``pip install dwave-samplers``, the ``ocean`` extra); the solver is
registered always and says how to install it when it is missing. It runs on the encoder's QUBO
(``--encoder qubo`` by default) through :func:`qbench.interop.to_bqm` and returns the
lowest-energy read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qbench.errors import ConfigError
from qbench.params import Param
from qbench.solvers.base import Solver, SolveResult

DEFAULT_NUM_READS = 100
DEFAULT_NUM_SWEEPS = 1000


def solve(
    target: Any,
    *,
    seed: int | None = None,
    num_reads: int | None = DEFAULT_NUM_READS,
    num_sweeps: int | None = DEFAULT_NUM_SWEEPS,
) -> SolveResult:
    """The lowest-energy of ``num_reads`` annealing reads of ``num_sweeps`` sweeps each."""
    from qbench.interop import to_bqm
    from qbench.solvers.variational import qubo_of

    qubo = qubo_of(target, "dwave_sa")
    try:
        from dwave.samplers import SimulatedAnnealingSampler
    except ImportError:
        raise ConfigError(
            "solver 'dwave_sa' needs dwave-samplers: pip install dwave-samplers (or \".[ocean]\")"
        ) from None
    num_reads = DEFAULT_NUM_READS if num_reads is None else int(num_reads)
    num_sweeps = DEFAULT_NUM_SWEEPS if num_sweeps is None else int(num_sweeps)
    bqm = to_bqm(qubo)
    sampleset = SimulatedAnnealingSampler().sample(
        bqm,
        num_reads=num_reads,
        num_sweeps=num_sweeps,
        seed=None if seed is None else int(seed) % (2**32),
    )
    best = sampleset.first
    x = np.array([best.sample[v] for v in qubo.var_names], dtype=np.int8)
    energies = sampleset.record.energy
    info = {
        "num_reads": num_reads,
        "best_energy": float(best.energy),
        "p_best": float(np.mean(np.isclose(energies, best.energy))),
    }
    return SolveResult(
        x=x,
        status="feasible",
        objective=float(qubo.objective(x)),
        n_evaluations=num_reads * num_sweeps * qubo.n_vars,
        iterations=num_sweeps,
        info=info,
    )


SOLVER = Solver(
    name="dwave_sa",
    needs_qubo=True,
    solve=solve,
    params=(
        Param("num_reads", int, DEFAULT_NUM_READS, "annealing reads", bounds="[1, inf)"),
        Param("num_sweeps", int, DEFAULT_NUM_SWEEPS, "sweeps per read", bounds="[1, inf)"),
    ),
    description="D-Wave's simulated annealing (dwave-samplers) on the QUBO: the Ocean "
    "baseline; best of num_reads reads",
)
