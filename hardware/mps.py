"""What a circuit costs on Aer's matrix-product-state simulator, from its two-qubit gates alone.

Across the cut between qubits k and k+1 (qubits in register order, as Aer's MPS keeps them) the
Schmidt rank of the state is at most ``2^g_k``, g_k the number of two-qubit gates whose qubits
lie on both sides, and never more than ``2^min(k+1, n−k−1)``. With Aer's truncation threshold
(1e-16) random angles reach these bounds, so they give the bond dimensions χ_k of the run:

* memory: two ``χ_{k−1} × χ_k`` complex128 matrices per qubit;
* time per circuit: each gate on qubits a < b is applied after moving b next to a by swaps, a
  ``χ³`` SVD per step (``(b − a) χ³``, χ the largest bond it spans), and each shot samples every
  qubit (``shots · Σ_k χ_k²``), plus a fixed per-circuit overhead.

The constants were fitted to Aer runs on this project's 2-core machine with both cores busy, as
suites run (whole 200-evaluation runs come out 10–17 % above the estimate; one evaluation on an
idle machine about 1.5× below it: ``benchmarks/mps_evaluation.py`` prints the estimate beside the
measured time). They give the order of magnitude a dry run needs to refuse what would not finish
in a suite's timeout, not a prediction to the second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: seconds per unit of ``(b − a) χ³`` gate work
GATE_SECONDS = 2.0e-7
#: seconds per unit of ``shots · χ²`` sampling work per qubit
SHOT_SECONDS = 1.5e-8
#: fixed seconds per circuit (transpile-free submission, result conversion)
CIRCUIT_SECONDS = 2.0e-3
#: fixed seconds per two-qubit gate (its bookkeeping, whatever the bond dimension)
PER_GATE_SECONDS = 1.0e-6
#: bytes per complex amplitude of an MPS tensor
AMPLITUDE_BYTES = 16


@dataclass(frozen=True)
class MPSCost:
    """The estimated bond dimensions, memory and seconds of one circuit with its shots."""

    n_qubits: int
    #: log2 of the largest bond dimension
    max_bond_log2: int
    memory_bytes: float
    seconds: float
    #: False where blocks of diagonal gates make the bound loose (Aer moves qubits as it
    #: applies them, so QAOA's cost layers entangle far less than the bound)
    tight: bool = True


#: two-qubit gates that are diagonal in the computational basis (a run of them is one block)
DIAGONAL = frozenset({"cp", "cz", "rzz", "crz", "cu1", "cphase"})
#: a gate list item: (a, b, diagonal), or None where a non-diagonal one-qubit gate ends a block
Gate = tuple[int, int, bool] | None


def _blocks(gates: Iterable[Gate]) -> list[list[tuple[int, int]]]:
    """Runs of gates whose increments add: a non-diagonal gate alone, or a maximal run of
    diagonal ones (which commute, so their rank across a cut is bounded jointly)."""
    out: list[list[tuple[int, int]]] = []
    open_block = False
    for gate in gates:
        if gate is None:
            open_block = False
            continue
        a, b, diagonal = gate
        pair = (min(a, b), max(a, b))
        if diagonal and open_block:
            out[-1].append(pair)
        else:
            out.append([pair])
        open_block = diagonal
    return out


def bond_logs(n_qubits: int, gates: Iterable[Gate]) -> np.ndarray:
    """log2 of the bond-dimension bound at each of the ``n − 1`` cuts (see the module doc):
    a block of diagonal gates adds at each cut the fewer of the distinct qubits its crossing
    gates touch on either side; any other gate adds 1 at the cuts it spans."""
    return _bond_logs(n_qubits, _blocks(gates))


def _bond_logs(n_qubits: int, blocks: list[list[tuple[int, int]]]) -> np.ndarray:
    n = int(n_qubits)
    crossing = np.zeros(max(n - 1, 0), dtype=np.int64)
    for block in blocks:
        if len(block) == 1:
            lo, hi = block[0]
            crossing[lo:hi] += 1
            continue
        for k in range(n - 1):
            left = {a for a, b in block if a <= k < b}
            right = {b for a, b in block if a <= k < b}
            crossing[k] += min(len(left), len(right))
    cut = np.arange(n - 1)
    return np.minimum(crossing, np.minimum(cut + 1, n - cut - 1))


def mps_cost(n_qubits: int, gates: Iterable[Gate], shots: int) -> MPSCost:
    """The :class:`MPSCost` of an ``n_qubits`` circuit with two-qubit ``gates`` (in order, as
    :func:`two_qubit_gates` lists them) and ``shots`` samples."""
    blocks = _blocks(gates)
    logs = _bond_logs(n_qubits, blocks)
    chi = 2.0 ** logs.astype(float)
    sites = np.concatenate([[1.0], chi]) * np.concatenate([chi, [1.0]])  # χ_{k−1} χ_k per qubit
    memory = float(2 * AMPLITUDE_BYTES * sites.sum())
    pairs = [pair for block in blocks for pair in block]
    gate_work = sum((b - a) * float(chi[a:b].max()) ** 3 for a, b in pairs if b > a)
    seconds = (
        CIRCUIT_SECONDS
        + GATE_SECONDS * gate_work
        + SHOT_SECONDS * int(shots) * float((chi**2).sum())
        + PER_GATE_SECONDS * len(pairs)
    )
    tight = all(len(block) == 1 for block in blocks)
    return MPSCost(int(n_qubits), int(logs.max(initial=0)), memory, seconds, tight)


def two_qubit_gates(circuit) -> list[Gate]:
    """A qiskit circuit's two-qubit gates in order as (a, b, diagonal), with None wherever a
    non-diagonal one-qubit gate separates them."""
    out: list[Gate] = []
    for inst in circuit.data:
        name = inst.operation.name
        if name in ("barrier", "measure"):
            continue
        if len(inst.qubits) == 2:
            a, b = (circuit.find_bit(q).index for q in inst.qubits)
            out.append((a, b, name in DIAGONAL))
        elif name not in ("p", "rz", "z", "s", "sdg", "t", "tdg", "u1") and out and out[-1]:
            out.append(None)
    return out
