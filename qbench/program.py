"""The core model: a linear-constrained binary program, evaluated on many bitstrings at once.

Every problem converts to a :class:`BinaryProgram`; every encoder starts from one. Evaluation
is vectorised: pass an array of shape ``(k, n)`` and get ``k`` objectives / violations back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

SENSES = ("<=", "==", ">=")
FEAS_TOL = 1e-9


def as_rows(x: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a float (k, n) array and whether the input was a single vector."""
    arr = np.asarray(x, dtype=float)
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"expected bitstrings of length {n}, got array of shape {np.shape(x)}")
    return arr, single


def _unwrap(values: np.ndarray, single: bool):
    return values[0] if single else values


@dataclass
class BinaryProgram:
    """min/max ``constant + linear·x + xᵀ Q x`` over x ∈ {0,1}ⁿ subject to ``A x (<=,==,>=) b``.

    ``quadratic`` is stored upper-triangular with an empty diagonal (x_i² = x_i folds into
    ``linear``), so each pair appears once: the canonical form every encoder relies on.
    """

    linear: np.ndarray
    quadratic: sp.csr_matrix = None
    constant: float = 0.0
    A: sp.csr_matrix = None
    b: np.ndarray = None
    senses: tuple[str, ...] = ()
    sense: str = "min"
    var_names: list[str] = field(default_factory=list)
    constraint_names: list[str] = field(default_factory=list)
    name: str = ""

    def __post_init__(self) -> None:
        self.linear = np.asarray(self.linear, dtype=float).ravel()
        n = self.linear.size
        q = sp.csr_matrix((n, n)) if self.quadratic is None else sp.csr_matrix(self.quadratic)
        if q.shape != (n, n):
            raise ValueError(f"quadratic has shape {q.shape}, expected {(n, n)}")
        q = q.astype(float)
        self.linear = self.linear + q.diagonal()
        q = sp.triu(q, k=1) + sp.tril(q, k=-1).T
        self.quadratic = sp.csr_matrix(q)
        self.quadratic.eliminate_zeros()
        self.quadratic.sort_indices()
        self.A = sp.csr_matrix((0, n)) if self.A is None else sp.csr_matrix(self.A, dtype=float)
        m = self.A.shape[0]
        if self.A.shape[1] != n:
            raise ValueError(f"A has {self.A.shape[1]} columns, expected {n}")
        self.b = np.zeros(0) if self.b is None else np.asarray(self.b, dtype=float).ravel()
        self.senses = tuple(self.senses)
        if not (self.b.size == m == len(self.senses)):
            raise ValueError(
                f"A has {m} rows but b has {self.b.size} and senses {len(self.senses)}"
            )
        bad = sorted(set(self.senses) - set(SENSES))
        if bad:
            raise ValueError(f"unknown constraint senses {bad}; allowed: {SENSES}")
        if self.sense not in ("min", "max"):
            raise ValueError(f"sense must be 'min' or 'max', got {self.sense!r}")
        self.var_names = list(self.var_names) or [f"x{i}" for i in range(n)]
        self.constraint_names = list(self.constraint_names) or [f"c{j}" for j in range(m)]
        self.constant = float(self.constant)

    @property
    def n_vars(self) -> int:
        return self.linear.size

    @property
    def n_constraints(self) -> int:
        return self.A.shape[0]

    def objective(self, x: np.ndarray) -> np.ndarray | float:
        """Objective value of one bitstring (n,) or of each row of a (k, n) array."""
        X, single = as_rows(x, self.n_vars)
        values = self.constant + X @ self.linear + np.einsum("ij,ij->i", X @ self.quadratic, X)
        return _unwrap(values, single)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Signed residuals ``A x - b`` of shape (k, m) (or (m,) for one bitstring)."""
        X, single = as_rows(x, self.n_vars)
        res = (self.A @ X.T).T - self.b
        return _unwrap(res, single)

    def violations(self, x: np.ndarray) -> np.ndarray | float:
        """Total constraint violation (sum over rows of the amount each is broken by)."""
        X, single = as_rows(x, self.n_vars)
        res = np.atleast_2d(self.residuals(X))
        senses = np.array(self.senses, dtype=object)
        viol = np.zeros_like(res)
        le, ge, eq = senses == "<=", senses == ">=", senses == "=="
        viol[:, le] = np.maximum(res[:, le], 0.0)
        viol[:, ge] = np.maximum(-res[:, ge], 0.0)
        viol[:, eq] = np.abs(res[:, eq])
        return _unwrap(viol.sum(axis=1), single)

    def is_feasible(self, x: np.ndarray) -> np.ndarray | bool:
        """True where every constraint holds (to a small absolute tolerance)."""
        v = np.asarray(self.violations(x))
        return v <= FEAS_TOL if v.ndim else bool(v <= FEAS_TOL)

    def objective_bounds(self) -> tuple[float, float]:
        """Trivial bounds of the objective over {0,1}ⁿ: the sums of its negative/positive terms."""
        coeffs = np.concatenate([self.linear, self.quadratic.data])
        return (
            self.constant + float(coeffs[coeffs < 0].sum()),
            self.constant + float(coeffs[coeffs > 0].sum()),
        )

    def is_integral(self) -> bool:
        """True when every objective coefficient is an integer, so is every objective value
        (a lower bound on a min objective then rounds up to the next integer)."""
        coeffs = np.concatenate([self.linear, self.quadratic.data, [self.constant]])
        return bool(np.all(np.isfinite(coeffs)) and np.all(coeffs == np.round(coeffs)))

    def lp_bound(self) -> float | None:
        """The LP relaxation's optimum (x ∈ [0, 1]ⁿ, HiGHS): a bound on the program's optimum;
        None for a quadratic objective or an infeasible/failed LP."""
        if self.quadratic.nnz:
            return None
        from scipy.optimize import linprog

        s = 1.0 if self.sense == "min" else -1.0
        senses = np.array(self.senses, dtype=object)
        flip = np.where(senses == ">=", -1.0, 1.0)
        A = sp.csr_matrix(sp.diags(flip) @ self.A) if senses.size else self.A
        b = flip * self.b
        ub, eq = senses != "==", senses == "=="
        res = linprog(
            s * self.linear,
            A_ub=A[np.flatnonzero(ub)] if ub.any() else None,
            b_ub=b[ub] if ub.any() else None,
            A_eq=A[np.flatnonzero(eq)] if eq.any() else None,
            b_eq=b[eq] if eq.any() else None,
            bounds=(0.0, 1.0),
            method="highs",
        )
        return float(s * res.fun + self.constant) if res.status == 0 else None

    def summary(self) -> dict:
        """Sizes of the program, for printing."""
        return {
            "n_vars": self.n_vars,
            "n_constraints": self.n_constraints,
            "n_linear": int(np.count_nonzero(self.linear)),
            "n_quadratic": int(self.quadratic.nnz),
            "sense": self.sense,
        }
