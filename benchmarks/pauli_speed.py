"""Exact Pauli expectations: the numba engine against the numpy reference, Aer and qiskit.

Usage: ``python benchmarks/pauli_speed.py [--quick] [--max-n 22] [--ref-max-n 16]``.

One call of :func:`qbench.hardware.exact.observables.pauli_expectations` (every ⟨P_k⟩ of a
PauliList from one statevector) on the state of efficient_su2 (reps 1, random angles) for two
observable sets per qubit count n = 12, 14, …, ``--max-n``:

* ``qrao``: QRAO's (3,1) observables (:func:`qbench.solvers.qrao.observables`: every variable's
  P_i and the relaxed Hamiltonian's terms) of a G(m, p) MIS graph with average degree ~4, m the
  largest node count up to 3n whose QRAC takes exactly n qubits;
* ``pce``: PCE's X/Y/Z correlators on every qubit pair (3·C(n, 2) of them, three groups).

Columns: Paulis and qubit-wise commuting groups; seconds per call of the numba engine
(``new_s``) and of the numpy reference (``old_s``), both with ``overwrite=True`` on a fresh
copy of the state as ``ExactBackend`` calls them (the copy is not timed), and their ratio;
``max_err``: the largest |difference| between them; up to ``--ref-max-n`` qubits also Aer's
EstimatorV2 (precision 0, all observables in one PUB; it simulates the circuit too, whose
statevector alone took ``aer_sv_s``) and qiskit's ``Statevector.expectation_value`` per
Pauli, with ratios to the new engine; ``new_B/amp`` and ``old_B/amp``: the peak extra memory
of one call (tracemalloc, which also sees numba's allocations; bytes per amplitude beside the
state): the numba engine's is a constant ~1.3 MB (per-thread block buffers: 2·2^15 float64 in the
rotation passes, 5·2^13 in the measurement pass), the numpy engine's a complex128 copy and |ψ|²
(24 bytes per amplitude, more on small states). The load average (1 min) is printed at start
and end: other processes share the cores.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from math import comb

import numpy as np

from qbench.hardware.exact.observables import pauli_expectations
from qbench.hardware.paulis import pauli_groups

#: repeat a timing until this many seconds passed (at least one call, at most MAX_CALLS)
MIN_SECONDS = 1.0
MAX_CALLS = 20


def qrao_paulis(n: int, seed: int = 0):
    """QRAO (3,1) observables of the largest average-degree-4 G(m, p) graph (m ≤ 3n) whose QRAC
    takes exactly n qubits, and m."""
    from qbench.encoders.qubo import encode
    from qbench.solvers import qrao
    from qbench.spec import load_spec

    for m in range(3 * n, n, -1):
        qubo = encode(load_spec(f"mis:n={m},p={4 / (m - 1):.6f},seed={seed}").program).qubo
        relaxation = qrao.relax(qubo, "3,1")
        if relaxation.qrac.n_qubits == n:
            return qrao.observables(relaxation), m
    raise RuntimeError(f"no graph of up to {3 * n} nodes takes {n} qubits")


def pce_paulis(n: int):
    """PCE's X/Y/Z correlators on every pair of n qubits."""
    from qiskit.quantum_info import PauliList

    from qbench.solvers.pce import correlators

    return PauliList(correlators(3 * comb(n, 2), n, 2))


def _seconds(fun, state: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds per call of ``fun(copy of state)`` (copy untimed) and the last result."""
    total, calls, out = 0.0, 0, None
    while calls < MAX_CALLS and (calls == 0 or total < MIN_SECONDS):
        work = state.copy()
        t0 = time.perf_counter()
        out = fun(work)
        total += time.perf_counter() - t0
        calls += 1
    return total / calls, out


def _peak_bytes(fun, state: np.ndarray) -> int:
    """Peak bytes tracemalloc sees allocated during ``fun(copy of state)`` beyond the copy."""
    work = state.copy()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fun(work)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def row(case: str, n: int, ref_max_n: int, seed: int = 0) -> dict:
    from qiskit.circuit.library import efficient_su2
    from qiskit.quantum_info import SparsePauliOp, Statevector
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import EstimatorV2

    if case == "qrao":
        paulis, nodes = qrao_paulis(n, seed)
    else:
        paulis, nodes = pce_paulis(n), None
    groups = pauli_groups(paulis)
    qc = efficient_su2(n, reps=1)
    bound = qc.assign_parameters(
        np.random.default_rng(seed).uniform(-np.pi, np.pi, qc.num_parameters)
    )
    saved = bound.copy()
    saved.save_statevector()
    sim = AerSimulator(method="statevector")
    t0 = time.perf_counter()
    state = np.ascontiguousarray(sim.run(saved).result().get_statevector())
    aer_sv = time.perf_counter() - t0

    def new(s):
        return pauli_expectations(s, paulis, groups, overwrite=True)

    def old(s):
        return pauli_expectations(s, paulis, groups, overwrite=True, engine="numpy")

    new(state.copy())  # compile / load the cached kernels
    new_s, new_v = _seconds(new, state)
    old_s, old_v = _seconds(old, state)
    out = {
        "case": case,
        "n": n,
        "nodes": nodes,
        "paulis": len(paulis),
        "groups": len(groups),
        "new_s": new_s,
        "old_s": old_s,
        "old/new": old_s / new_s,
        "max_err": float(np.abs(new_v - old_v).max()),
    }
    if n <= ref_max_n:
        estimator = EstimatorV2(options={"default_precision": 0.0})
        observables = [SparsePauliOp(p) for p in paulis]
        aer_s, aer_v = _seconds(
            lambda s: estimator.run([(bound, observables)]).result()[0].data.evs, state
        )
        sv = Statevector(state)
        sv_s, sv_v = _seconds(
            lambda s: np.array([sv.expectation_value(o).real for o in observables]), state
        )
        out.update(
            {
                "aer_est_s": aer_s,
                "aer_sv_s": aer_sv,
                "aer/new": aer_s / new_s,
                "qiskit_sv_s": sv_s,
                "sv/new": sv_s / new_s,
                "ref_err": float(max(np.abs(new_v - aer_v).max(), np.abs(new_v - sv_v).max())),
            }
        )
    out["new_B/amp"] = _peak_bytes(new, state) / state.size
    out["old_B/amp"] = _peak_bytes(old, state) / state.size
    return out


def main() -> None:
    from qbench.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 12, 14 only")
    parser.add_argument("--max-n", type=int, default=22)
    parser.add_argument("--ref-max-n", type=int, default=16, help="Aer / qiskit up to this n")
    args = parser.parse_args()
    sizes = range(12, (14 if args.quick else args.max_n) + 1, 2)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    start = time.perf_counter()
    for case in ("qrao", "pce"):
        rows = [row(case, n, args.ref_max_n) for n in sizes]
        columns = list(dict.fromkeys(c for r in rows for c in r))
        print(f"\n### {case}\n")
        print(format_table(rows, columns), flush=True)
    print(
        f"\nload average at end: {os.getloadavg()[0]:.2f}; "
        f"wall time {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
