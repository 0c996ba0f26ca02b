"""Exact forms of a QUBO: the Ising operator (qiskit's qubit order) and the full cost vector.

Conventions, shared with qiskit and qiskit-optimization: variable i is qubit i, ``x_i = (1 −
Z_i)/2``, and basis state index ``s`` holds ``x_i = (s >> i) & 1`` (qubit 0 is the least
significant bit, the rightmost character of a Pauli label). So ``cost_vector(q)[s]`` is the
energy of the bitstring of state ``s`` and equals the diagonal of ``to_ising(q)`` plus its
offset. The energy of explicit bitstrings is just ``qubo.objective(bits)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from qiskit.quantum_info import SparsePauliOp

from qbench.memory import require_memory
from qbench.program import BinaryProgram

#: dtypes the cost vector can be built in
COST_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def to_ising(qubo: BinaryProgram) -> tuple[SparsePauliOp, float]:
    """The Ising operator and offset of an unconstrained min QUBO: ``E(x) = <x|op|x> + offset``.

    ``c x_i = c/2 − (c/2) Z_i`` and ``q x_i x_j = q/4 (1 − Z_i − Z_j + Z_i Z_j)``; terms are
    built in one ``SparsePauliOp.from_sparse_list`` call (no identity term: the constant goes to
    the offset, as in qiskit-optimization's ``to_ising``).
    """
    _check_qubo(qubo)
    n = qubo.n_vars
    q = qubo.quadratic.tocoo()
    z = -0.5 * qubo.linear
    np.subtract.at(z, q.row, 0.25 * q.data)
    np.subtract.at(z, q.col, 0.25 * q.data)
    offset = float(qubo.constant + 0.5 * qubo.linear.sum() + 0.25 * q.data.sum())
    terms = [("Z", [int(i)], float(z[i])) for i in np.flatnonzero(z)]
    terms += [("ZZ", [int(i), int(j)], 0.25 * float(v)) for i, j, v in zip(q.row, q.col, q.data)]
    if not terms:
        return SparsePauliOp("I" * max(1, n), 0.0), offset
    return SparsePauliOp.from_sparse_list(terms, num_qubits=n), offset


def from_ising(op: SparsePauliOp, offset: float = 0.0) -> BinaryProgram:
    """The min QUBO of a diagonal Ising operator (I, Z and ZZ terms only): inverse of to_ising.

    ``Z_i = 1 − 2 x_i`` and ``Z_i Z_j = 1 − 2 x_i − 2 x_j + 4 x_i x_j``. Raises ValueError for
    X/Y factors, terms on three or more qubits, or complex coefficients.
    """
    op = SparsePauliOp(op).simplify(atol=0)
    n = op.num_qubits
    if np.any(np.abs(op.coeffs.imag) > 1e-10):
        raise ValueError("the operator has complex coefficients; an Ising energy must be real")
    if np.any(op.paulis.x):
        raise ValueError("the operator has X or Y factors; only diagonal (I, Z, ZZ) terms map")
    weights = op.paulis.z.sum(axis=1)
    if np.any(weights > 2):
        bad = op.paulis[int(np.flatnonzero(weights > 2)[0])]
        raise ValueError(f"term {bad} acts on more than two qubits; a QUBO is quadratic")
    coeffs = op.coeffs.real
    constant = float(offset) + float(coeffs[weights == 0].sum())
    linear = np.zeros(n)
    single = np.flatnonzero(weights == 1)
    idx = op.paulis.z[single].argmax(axis=1)
    np.add.at(linear, idx, -2.0 * coeffs[single])
    constant += float(coeffs[single].sum())
    pairs = np.flatnonzero(weights == 2)
    qubits = np.nonzero(op.paulis.z[pairs])[1].reshape(-1, 2)  # row-major: (i < j) per term
    rows, cols = qubits[:, 0], qubits[:, 1]
    w = coeffs[pairs]
    np.add.at(linear, rows, -2.0 * w)
    np.add.at(linear, cols, -2.0 * w)
    constant += float(w.sum())
    quadratic = sp.csr_matrix((4.0 * w, (rows, cols)), shape=(n, n))
    return BinaryProgram(linear=linear, quadratic=quadratic, constant=constant)


def cost_vector_bytes(n: int, dtype: np.dtype | type = np.float64) -> int:
    """Peak bytes of :func:`cost_vector` for n qubits: the 2ⁿ vector plus a 2ⁿ⁻¹ work buffer."""
    size = 1 << n
    return (size + size // 2) * np.dtype(dtype).itemsize


def cost_vector(
    qubo: BinaryProgram, dtype: np.dtype | type = np.float64, max_bytes: int | None = None
) -> np.ndarray:
    """Energy of every basis state: ``cost[s] = E(bits of s)``, length 2ⁿ, built by doubling.

    For qubit i the upper half ``cost[2^i : 2^(i+1)]`` is the lower half plus
    ``h_i + Σ_{j<i} Q_ji bit_j(s)``; that coupling vector is itself built by doubling over j
    (only up to the last j with ``Q_ji ≠ 0``, then tiled), so the whole vector costs O(2ⁿ)
    additions in a few numpy passes and no Python loop over states. Memory is checked up front
    against MemAvailable (or ``max_bytes``): ResourceError states required and available bytes.
    """
    _check_qubo(qubo)
    dtype = np.dtype(dtype)
    if dtype not in COST_DTYPES:
        raise ValueError(f"dtype must be float64 or float32, got {dtype}")
    n = qubo.n_vars
    require_memory(
        f"cost vector of n={n} qubits (2^{n} {dtype.name} entries plus a half-size work buffer)",
        cost_vector_bytes(n, dtype),
        max_bytes,
    )
    size = 1 << n
    cost = np.empty(size, dtype=dtype)
    cost[0] = qubo.constant
    if n == 0:
        return cost
    work = np.empty(max(1, size >> 1), dtype=dtype)
    columns = sp.csc_matrix(qubo.quadratic)
    columns.sort_indices()
    for i in range(n):
        half = 1 << i
        start, stop = columns.indptr[i], columns.indptr[i + 1]
        rows, values = columns.indices[start:stop], columns.data[start:stop]
        if rows.size == 0:
            np.add(cost[:half], qubo.linear[i], out=cost[half : 2 * half])
            continue
        period = 1 << (int(rows[-1]) + 1)  # the coupling repeats beyond the last j
        coupling = np.zeros(int(rows[-1]) + 1)
        coupling[rows] = values
        work[0] = qubo.linear[i]
        for j in range(int(rows[-1]) + 1):
            np.add(work[: 1 << j], coupling[j], out=work[1 << j : 2 << j])
        np.add(
            cost[:half].reshape(-1, period),
            work[:period],
            out=cost[half : 2 * half].reshape(-1, period),
        )
    return cost


def _check_qubo(qubo: BinaryProgram) -> None:
    if qubo.n_constraints or qubo.sense != "min":
        raise ValueError("expected an unconstrained min QUBO (an Encoding's qubo)")
