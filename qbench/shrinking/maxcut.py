"""A QUBO as weighted MaxCut on n + 1 nodes: the n variables plus one reference node (node n).

Node sides are bits z ∈ {0,1}^(n+1) with the reference on side 0, so ``x_i = z_i``: variable i is
1 exactly when node i is cut from the reference. With ``x_i x_j = (x_i + x_j − (x_i ⊕ x_j))/2``
the energy ``E(x) = c + Σ h_i x_i + Σ_{i<j} Q_ij x_i x_j`` becomes

    E(x) = offset − cut(x),   offset = c,
    w_ij = Q_ij / 2   (i < j < n),   w_in = −(h_i + ½ Σ_{j≠i} Q_ij)   (Q symmetrised),

an exact identity for every x (edge weights may be negative). In spins ``s = 1 − 2z`` (s_n = +1)
``cut = Σ_{a<b} w_ab (1 − s_a s_b)/2``, so the Ising couplings of the QUBO are ``W / 2`` and its
fields are the reference column ``W[:n, n] / 2`` — the form the SDP and QAOA correlations use.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from qbench.program import BinaryProgram, as_rows


@dataclass
class MaxCut:
    """Weighted MaxCut on ``n_nodes`` nodes, the last one the reference: ``E(x) = offset − cut``."""

    weights: sp.csr_matrix
    offset: float = 0.0

    def __post_init__(self) -> None:
        w = sp.csr_matrix(self.weights, dtype=float)
        if w.shape[0] != w.shape[1] or w.shape[0] < 1:
            raise ValueError(f"weights must be a non-empty square matrix, got shape {w.shape}")
        scale = max(1.0, float(abs(w).max())) if w.nnz else 1.0
        if (w - w.T).nnz and float(abs(w - w.T).max()) > 1e-12 * scale:
            raise ValueError("weights must be symmetric")
        w.setdiag(0.0)
        w.eliminate_zeros()
        self.weights = w
        self.offset = float(self.offset)

    @property
    def n_nodes(self) -> int:
        return self.weights.shape[0]

    @property
    def reference(self) -> int:
        """Index of the reference node (always on side 0)."""
        return self.n_nodes - 1

    def cut_value(self, x: np.ndarray) -> np.ndarray | float:
        """Cut weight of the sides ``[x, 0]`` (x over the n variables; one row or a (k, n) array).

        ``cut = Σ_{a<b} w_ab (z_a + z_b − 2 z_a z_b) = z·deg − zᵀ W z`` with z_n = 0.
        """
        X, single = as_rows(x, self.n_nodes - 1)
        w = self.weights[:-1, :-1]
        deg = np.asarray(self.weights.sum(axis=1)).ravel()[:-1]
        values = X @ deg - np.einsum("ij,ij->i", X @ w, X)
        return values[0] if single else values

    def to_networkx(self) -> nx.Graph:
        """The weighted graph (edge attribute ``weight``), node n the reference."""
        upper = sp.triu(self.weights, k=1).tocsr()
        return nx.from_scipy_sparse_array(upper, edge_attribute="weight")


def qubo_to_maxcut(qubo: BinaryProgram) -> MaxCut:
    """The MaxCut of an unconstrained min QUBO: ``E(x) = offset − cut(x)`` (module docstring)."""
    if qubo.n_constraints or qubo.sense != "min":
        raise ValueError("expected an unconstrained min QUBO (an Encoding's qubo)")
    n = qubo.n_vars
    q = qubo.quadratic
    sym = q + q.T
    ref = -(qubo.linear + 0.5 * np.asarray(sym.sum(axis=1)).ravel())
    col = sp.csr_matrix((ref, (np.arange(n), np.zeros(n, dtype=int))), shape=(n, 1))
    weights = sp.bmat([[0.5 * sym, col], [col.T, None]], format="csr")
    return MaxCut(weights=weights, offset=qubo.constant)


def maxcut_to_qubo(maxcut: MaxCut) -> BinaryProgram:
    """The min QUBO over the n non-reference nodes with ``E(x) = offset − cut([x, 0])``."""
    w = maxcut.weights
    n = maxcut.n_nodes - 1
    inner = w[:n, :n]
    linear = -(np.asarray(w.sum(axis=1)).ravel()[:n])
    return BinaryProgram(linear=linear, quadratic=2.0 * sp.triu(inner, k=1), constant=maxcut.offset)


def ising_fields(maxcut: MaxCut) -> tuple[np.ndarray, np.ndarray]:
    """Dense Ising fields h and symmetric couplings J of the QUBO, in spins s = 1 − 2x.

    ``E = offset − Σ_{a<b} w_ab/2 + Σ_i h_i s_i + Σ_{i<j} J_ij s_i s_j``, from
    ``cut = Σ_{a<b} w_ab (1 − s_a s_b)/2`` with s_n = +1: J = W/2 on the variables, h the
    reference column of W/2.
    """
    half = 0.5 * maxcut.weights.toarray()
    n = maxcut.n_nodes - 1
    return half[:n, n].copy(), half[:n, :n].copy()


def expected_energy(maxcut: MaxCut, correlations: np.ndarray) -> float:
    """QUBO energy implied by node correlations ``M_ab = ⟨s_a s_b⟩``: offset − Σ w (1 − M)/2."""
    w = maxcut.weights.tocoo()
    m = np.asarray(correlations, dtype=float)
    return maxcut.offset - 0.25 * float(np.sum(w.data * (1.0 - m[w.row, w.col])))
