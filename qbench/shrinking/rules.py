"""Constraint-aware merge rules: refuse merges that would force a constraint to break.

After merges every original variable follows a node: ``x_v = x_root XOR flip_v``, with the
reference node fixed to 0 (:class:`qbench.shrinking.merge.Groups`). So a group with root value
b fixes all its members, and the reference's group fixes its members for good. A merge is
refused when afterwards any of these fails:

* **rows**: no group, at either root value b, together with the variables fixed through the
  reference, makes a constraint row of the ORIGINAL program unsatisfiable whatever the other
  variables do (interval test: the fixed part plus the row's free range ``[Σ min(0, a),
  Σ max(0, a)]`` over the unfixed variables misses the right-hand side). A merge into the
  reference re-checks every group against the reference's new fixings. Per problem this reads:

  - MIS (``x_u + x_v <= 1``): no group puts two adjacent vertices at 1 together, i.e. no
    "equal" merge of adjacent vertices (directly or through earlier merges), and no vertex
    fixed to 1 next to one a group can set to 1;
  - MDKP (``w·x <= c``): the items a group sets to 1 together (plus those fixed to 1) weigh at
    most the capacity in every dimension;
  - QAP/TSP (one-hot rows and columns of the assignment matrix): no group sets two variables
    of one row or one column to 1 together, and no row or column is left with all its
    variables fixed to 0;
  - any other program: the same test on its rows (``<=``, ``>=``, ``==``).

  The test is group-local (each group against the reference's fixings, not groups against
  each other), so it refuses what must break, not every combination that cannot work;
* **slack** (encodings with slack qubits): no group mixes a problem variable with a slack bit,
  or slack bits of different constraints (slack bits may be fixed through the reference: the
  decoded x does not depend on them). Merged slack can still leave a feasible x without a
  slack value that zeroes its penalty; requiring more (gap-free registers whose range keeps a
  feasible point) was tried and made MDKP shrinking stall far above its target;
* **feasible points** (small instances): when the feasible set can be enumerated — all
  permutation matrices of a QAP/TSP (the tours' edge vectors of a tsp_degree) with at most
  ``MAX_ENUM_PERM`` items, or all feasible bitstrings of a program with at most
  ``MAX_ENUM_VARS`` variables — at least one feasible x
  must stay consistent with all merges, so the shrunken space still contains a feasible point.
  This catches global conflicts the group-local row test cannot see (e.g. TSP merges that each
  respect rows and columns but together admit no tour).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from qbench.problems.base import PermutationProblem
from qbench.program import BinaryProgram
from qbench.shrinking.merge import Groups

_TOL = 1e-9
#: enumerate the feasible points of programs with at most this many variables (2^16 bitstrings)
MAX_ENUM_VARS = 16
#: ... and of permutation problems with at most this many items (8! = 40,320 assignments)
MAX_ENUM_PERM = 8


def feasible_points(problem: Any) -> np.ndarray | None:
    """All feasible x (rows, bool) of a small problem or program, else None (see module doc)."""
    if isinstance(problem, PermutationProblem):
        n = problem.perm_size
        if n > MAX_ENUM_PERM:
            return None
        perms = np.array(list(itertools.permutations(range(n))), dtype=np.intp).reshape(-1, n)
        return np.asarray(problem.perms_to_x(perms), dtype=bool)
    program = getattr(problem, "program", problem)
    n = program.n_vars
    if n > MAX_ENUM_VARS:
        return None
    X = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    return X[np.asarray(program.is_feasible(X), dtype=bool)].astype(bool)


class ConstraintRules:
    """Merge rule from a program's rows, its encoding's slack layout and (small instances) its
    enumerated feasible points; ``slack_class`` is −1 for problem variables, else the index of
    the constraint a slack qubit belongs to (module docstring)."""

    def __init__(
        self,
        program: BinaryProgram,
        n_qubits: int | None = None,
        slack_class: np.ndarray | None = None,
        points: np.ndarray | None = None,
        kind: str = "generic",
    ):
        self.kind = kind
        self.n_vars = program.n_vars
        self.n_qubits = self.n_vars if n_qubits is None else int(n_qubits)
        if slack_class is None:  # each slack bit its own class: no slack–slack merges
            slack_class = np.concatenate(
                [np.full(self.n_vars, -1), np.arange(self.n_qubits - self.n_vars)]
            )
        self.slack_class = np.asarray(slack_class, dtype=int)
        if self.slack_class.size != self.n_qubits:
            raise ValueError(
                f"slack_class has {self.slack_class.size} entries, expected {self.n_qubits}"
            )
        self.A = program.A.toarray()
        senses = np.array(program.senses, dtype=object)
        b = program.b
        #: rows as ``L <= a·x <= U``
        self.L = np.where((senses == ">=") | (senses == "=="), b, -np.inf)
        self.U = np.where((senses == "<=") | (senses == "=="), b, np.inf)
        self.neg = np.minimum(self.A, 0.0)
        self.pos = np.maximum(self.A, 0.0)
        self.lo, self.hi = self.neg.sum(axis=1), self.pos.sum(axis=1)
        #: enumerated feasible x (bool rows), or None when too many to list
        self.points = None if points is None else np.asarray(points, dtype=bool)
        self._cache: tuple[bytes, np.ndarray] | None = None

    @classmethod
    def for_encoding(cls, problem: Any, encoding: Any) -> ConstraintRules:
        """Rules of a problem (or None: the program) and its Encoding; slack from the metadata."""
        program = encoding.program
        n_slack = encoding.n_qubits - program.n_vars
        slack = encoding.metadata.get("slack") if n_slack else None
        classes = None
        if slack is not None and sum(entry["bits"] for entry in slack) == n_slack:
            sizes = [entry["bits"] for entry in slack]
            classes = np.concatenate(
                [np.full(program.n_vars, -1), np.repeat(np.arange(len(sizes)), sizes)]
            )
        kind = getattr(problem, "kind", "") or "generic"
        points = feasible_points(program if problem is None else problem)
        return cls(program, encoding.n_qubits, classes, points, kind)

    # ---- the tests -----------------------------------------------------------------------------

    def allows(self, groups: Groups, keep: int, drop: int, relation: int) -> bool:
        """False when the merge fails the slack, feasible-point or row test (module docstring)."""
        ref = groups.reference
        if self.slack_class[drop] >= 0 or (keep != ref and self.slack_class[keep] >= 0):
            return keep == ref or self.slack_class[keep] == self.slack_class[drop]
        if self.points is not None:
            x = self.points
            keep_x = False if keep == ref else x[:, keep]
            agree = (x[:, drop] ^ keep_x) == bool(relation)
            if not np.any(self._consistent(groups) & agree):
                return False
        return self._rows_ok(groups, keep, drop, relation)

    def _consistent(self, groups: Groups) -> np.ndarray:
        """Which enumerated points agree with every merge so far (cached per groups state)."""
        key = groups.root.tobytes() + groups.flip.tobytes()
        if self._cache is None or self._cache[0] != key:
            n = self.n_vars
            padded = np.zeros((self.points.shape[0], groups.reference + 1), dtype=bool)
            padded[:, :n] = self.points
            roots = groups.root[:n]
            checked = (roots < n) | (roots == groups.reference)
            agree = (padded[:, :n] ^ padded[:, roots]) == groups.flip[:n].astype(bool)
            self._cache = (key, np.all(agree[:, checked], axis=1))
        return self._cache[1]

    def _shift(self, idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Change of the rows' [lo, hi] range when problem variables ``idx`` are fixed to values."""
        keep = idx < self.n_vars
        idx, values = idx[keep], values[keep].astype(float)
        fixed = self.A[:, idx] @ values
        return fixed - self.neg[:, idx].sum(axis=1), fixed - self.pos[:, idx].sum(axis=1)

    def _ok(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        """True when every row's reachable [lo, hi] (columns: several fixings) meets [L, U]."""
        L, U = (self.L[:, None], self.U[:, None]) if lo.ndim == 2 else (self.L, self.U)
        return bool(np.all((lo <= U + _TOL) & (hi >= L - _TOL)))

    def _rows_ok(self, groups: Groups, keep: int, drop: int, relation: int) -> bool:
        """The interval test of every group the merge affects (module docstring)."""
        ref = groups.reference
        ref_idx, ref_flip = groups.members(ref)
        drop_idx, drop_flip = groups.members(drop)
        drop_flip = drop_flip ^ np.int8(relation)
        if keep == ref:
            idx = np.concatenate([ref_idx, drop_idx])
            dlo, dhi = self._shift(idx, np.concatenate([ref_flip, drop_flip]))
            lo, hi = self.lo + dlo, self.hi + dhi
            return self._ok(lo, hi) and self._groups_ok(groups, drop, lo, hi)
        dlo, dhi = self._shift(ref_idx, ref_flip)
        keep_idx, keep_flip = groups.members(keep)
        idx = np.concatenate([keep_idx, drop_idx])
        flips = np.concatenate([keep_flip, drop_flip])
        for value in (0, 1):
            glo, ghi = self._shift(idx, flips ^ np.int8(value))
            if not self._ok(self.lo + dlo + glo, self.hi + dhi + ghi):
                return False
        return True

    def _groups_ok(
        self,
        groups: Groups,
        skip: int,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> bool:
        """Every group but the reference and ``skip``, at both values, on top of (lo, hi)."""
        roots = groups.root[: self.n_vars]
        idx = np.flatnonzero((roots != groups.reference) & (roots != skip))
        if idx.size == 0:
            return True
        labels, col = np.unique(roots[idx], return_inverse=True)
        onehot = np.zeros((idx.size, labels.size))
        onehot[np.arange(idx.size), col] = 1.0
        for value in (0, 1):
            x = (groups.flip[idx] ^ np.int8(value)).astype(float)
            fixed = (self.A[:, idx] * x) @ onehot
            glo = fixed - self.neg[:, idx] @ onehot
            ghi = fixed - self.pos[:, idx] @ onehot
            if not self._ok(lo[:, None] + glo, hi[:, None] + ghi):
                return False
        return True


def constraint_rules(problem: Any, encoding: Any) -> ConstraintRules:
    """The constraint-aware rules of ``problem`` encoded as ``encoding`` (module docstring)."""
    return ConstraintRules.for_encoding(problem, encoding)
