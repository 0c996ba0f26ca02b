"""Dry runs: what a prepared run will need before it runs — qubits, the memory of its backend and
whether it fits, and for device backends its circuits, shots and estimated QPU seconds.

Every figure comes from the components' declarations: the encoder's encoding gives the qubits,
a preprocessor its size after, a solver its physical qubits, ansatz kind and :class:`Work`, a
backend class its memory model (``fit``) and device usage (``usage``). Nothing here tests a
component's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from qbench.encoders import Encoding
from qbench.errors import QbenchError
from qbench.hardware import backend_class, resolve_backend
from qbench.hardware.base import Work
from qbench.memory import available_memory, format_bytes
from qbench.pipeline import Prepared
from qbench.problems import Problem
from qbench.program import BinaryProgram

#: the columns of the printed dry-run table, in order; a row also holds ``memory_bytes`` (the
#: integer behind ``memory``, for JSON output and programs)
DRY_RUN_COLUMNS = (
    "run_id", "instance", "encoder", "preprocess", "solver", "backend", "seed", "n_qubits",
    "memory", "est_s", "circuits", "shots", "est_qpu_s", "fits", "reason",
)  # fmt: skip
USAGE_FIELDS = ("circuits", "shots", "est_qpu_s")


@dataclass
class Sizes:
    """Sizes measured once and shared by the plans of a suite: encoded qubits (or why encoding
    failed) per (spec, encoder, encoder params), physical qubits per (that, solver, params)."""

    encoded: dict[tuple, tuple[int | None, str]] = field(default_factory=dict)
    physical: dict[tuple, int] = field(default_factory=dict)


class Plan:
    """A prepared run as dry runs see it; its encoding and QUBO are built only when asked."""

    def __init__(self, prep: Prepared, sizes: Sizes | None = None) -> None:
        self.prep = prep
        self.sizes = Sizes() if sizes is None else sizes

    @property
    def problem(self) -> Problem:
        return self.prep.problem

    @property
    def backend(self) -> str:
        return self.prep.backend

    @property
    def size_key(self) -> tuple:
        """Runs with equal keys have equal encoded sizes."""
        enc = self.prep.encoder
        params = json.dumps(self.prep.encoder_params, default=str)
        return (self.prep.spec, enc and enc.name, params)

    @cached_property
    def encoding(self) -> Encoding:
        """The run's encoding; an encoder driven by a meta-solver at its start parameters."""
        enc = self.prep.encoder
        if enc.meta_solver is not None:
            return enc.encode(self.problem.program)
        return enc.encode(self.problem, **self.prep.encoder_params)

    @cached_property
    def qubo(self) -> BinaryProgram:
        """What the solver sees: the encoding's QUBO, reduced by any preprocessor (seed 0)."""
        prep = self.prep
        if prep.preprocessor is None:
            return self.encoding.qubo
        reduced = prep.preprocessor.apply(self.problem, self.encoding, prep.preprocess_options, 0)
        return reduced.qubo

    def encoded_qubits(self) -> tuple[int | None, str]:
        """(qubits after encoding, "") or (None, why encoding failed); cached per size key."""
        key = self.size_key
        if key not in self.sizes.encoded:
            if self.prep.encoder is None:
                self.sizes.encoded[key] = (self.problem.n_vars, "")
            else:
                try:
                    self.sizes.encoded[key] = (self.encoding.n_qubits, "")
                except QbenchError as exc:
                    self.sizes.encoded[key] = (None, f"encoding failed: {exc}")
        return self.sizes.encoded[key]

    def qubits(self) -> tuple[int | None, str]:
        """(qubits the run's circuits act on, "") — encoded, then reduced by the preprocessor,
        then the solver's physical count — or (None, why unknown)."""
        n, reason = self.encoded_qubits()
        prep = self.prep
        if n is None:
            return n, reason
        if prep.preprocessor is not None:
            n = prep.preprocessor.size(prep.preprocess_options, n, prep.problem)
        solver = prep.solver
        if solver.qubits is not None and prep.encoder is not None:
            key = (self.size_key, solver.name, json.dumps(prep.solver_params, default=str))
            if key not in self.sizes.physical:
                self.sizes.physical[key] = solver.physical_qubits(self.qubo, prep.solver_params)
            n = self.sizes.physical[key]
        return n, ""

    def work(self) -> Work:
        """What the run asks of its backend (the solver's declaration on the run's QUBO)."""
        return self.prep.solver.work(self.qubo, self.prep.solver_params)


def dry_facts(
    plan: Plan,
    seed: int,
    run_id: str,
    available: int | None | str = "now",
    timeout: float | None = None,
) -> dict[str, Any]:
    """One dry-run row (:data:`DRY_RUN_COLUMNS` and ``memory_bytes``): the run's qubits; for
    solvers that run circuits the memory its backend needs, as data (``memory_bytes``, an
    integer) and as text (``memory``, :func:`~qbench.memory.format_bytes` short; both None where
    not estimated: hardware), whether it fits in ``available`` bytes (default: the memory
    available now) and why not; for device backends circuits, shots and estimated QPU seconds.
    A simulator that estimates its runs (aer_mps, from the circuit's bond dimensions) gives
    ``memory`` and ``est_s`` (seconds) and refuses a run beyond ``timeout`` (a suite's)."""
    prep = plan.prep
    available = available_memory() if available == "now" else available
    n_qubits, reason = plan.qubits()
    memory, seconds, usage = None, None, dict.fromkeys(USAGE_FIELDS)
    solver = prep.solver
    backend = plan.backend
    if n_qubits is not None and solver.ansatz is not None:
        backend = resolve_backend(backend, n_qubits, solver.ansatz, available)
        cls = backend_class(backend)
        memory, reason = cls.fit(backend, n_qubits, solver.ansatz, available)
        options = prep.solver_params.get("backend_options") or {}
        if solver.work is not None:
            usage = cls.usage(backend, plan.work, options) or usage
            if not reason:
                own = cls.estimate_run(backend, n_qubits, plan.work, available, timeout)
                if own is not None:
                    memory, seconds, reason = own
    enc = prep.encoder
    return {
        "run_id": run_id, "instance": prep.spec, "encoder": enc.name if enc else "none",
        "preprocess": prep.preprocess_label, "solver": solver.name, "backend": backend,
        "seed": seed, "n_qubits": n_qubits, "memory_bytes": memory,
        "memory": None if memory is None else format_bytes(memory, short=True),
        "est_s": None if seconds is None else float(f"{seconds:.3g}"), **usage,
        "fits": not reason, "reason": reason,
    }  # fmt: skip


def dry_run_row(prep: Prepared) -> dict[str, Any]:
    """The dry-run row of one prepared run (``qbench solve --dry-run``)."""
    return dry_facts(Plan(prep), prep.seed, prep.run_id)
