"""The merge loop: fold the most correlated pair of a QUBO into one variable until it fits.

Nodes are the n variables and the reference node n (fixed to x = 0, see
:mod:`qbench.shrinking.maxcut`). Merging node ``drop`` into node ``keep`` with relation 0
("equal") substitutes ``x_drop = x_keep``, relation 1 ("different") ``x_drop = 1 − x_keep``;
with the reference as ``keep`` that fixes ``x_drop = 0`` or ``1``. The substitution folds the
linear, quadratic and constant terms exactly, so the shrunken QUBO's energy of y equals the
original energy of ``expand(y)`` for every y.

Which pair: the largest ``|M_ab|`` among active nodes whose merge the rules allow; the relation
is the sign (``M > 0`` equal, ``M < 0`` different, see :mod:`qbench.shrinking.correlations`);
of a pair of variables the lower index is kept, the reference is always kept.

* plain mode: correlations once, then greedy merges down the sorted list. After a merge the
  kept node keeps its own row of M and the removed node's row is dropped (a pair (keep, k)
  keeps its strength and place in the order).
* adaptive mode: correlations are recomputed on the current shrunken QUBO after ``every``
  merges (when set) and whenever the next pair is weaker than the round's threshold (after at
  least one merge in the round): ``proportional`` c·max|M| (c = 0.5), ``mean``, ``median``,
  ``quantile`` q (q = 0.75), ``kmeans`` (the lowest value of the upper cluster of a seeded
  2-means split of the |M| values), ``decay`` f^(t+1)·max|M| of the first round in round t
  (f = 0.9); the statistics are over the active pairs' |M| of the round.

Rules (:mod:`qbench.shrinking.rules`) may refuse a merge. The sorted list is walked in passes:
a refused pair is skipped and asked again in the next pass (a rule may allow it after other
merges), and a round ends when a pass merges nothing. When no allowed pair is left before the
target the loop stops (``Shrunk.reached_target`` is False).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.cluster.vq import kmeans2

from qbench.errors import ConfigError
from qbench.program import BinaryProgram, as_rows

MODES = ("plain", "adaptive")
THRESHOLDS = ("proportional", "mean", "median", "quantile", "kmeans", "decay")
#: default ``threshold_param`` of the rules that take one
THRESHOLD_DEFAULTS = {"proportional": 0.5, "quantile": 0.75, "decay": 0.9}
RELATIONS = ("equal", "different")
#: how the merge log names the reference node
REFERENCE = -1


@dataclass
class Groups:
    """Which original variable follows which node: ``x_v = x_{root[v]} XOR flip[v]``.

    ``root[v]`` is an active variable or the reference ``n`` (whose value is 0).
    """

    root: np.ndarray
    flip: np.ndarray

    @classmethod
    def identity(cls, n: int) -> Groups:
        return cls(np.arange(n), np.zeros(n, dtype=np.int8))

    @property
    def n(self) -> int:
        return self.root.size

    @property
    def reference(self) -> int:
        return self.root.size

    def members(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """Original variables following ``node`` and their flips."""
        idx = np.flatnonzero(self.root == node)
        return idx, self.flip[idx]

    def absorb(self, keep: int, drop: int, relation: int) -> None:
        """Record ``x_drop = x_keep XOR relation`` for ``drop`` and everything following it."""
        mask = self.root == drop
        self.root[mask] = keep
        self.flip[mask] ^= np.int8(relation)

    def values(self, node_values: np.ndarray) -> np.ndarray:
        """Original variables (k, n) from node values (k, n + 1); the reference column is 0."""
        return (node_values[:, self.root].astype(np.int8) ^ self.flip).astype(np.int8)


class Rule(Protocol):
    """Something that may refuse a merge, given the groups before it."""

    def allows(self, groups: Groups, keep: int, drop: int, relation: int) -> bool: ...


@dataclass(frozen=True)
class MergeStep:
    """One merge: ``x_removed = x_kept`` (equal) or ``1 − x_kept`` (different); kept −1 = x is 0."""

    step: int
    kept: int
    removed: int
    relation: str
    strength: float
    n_after: int
    round: int
    threshold: float


@dataclass
class Shrunk:
    """A shrunken QUBO, the merges that made it and the way back to the original variables."""

    original: BinaryProgram
    qubo: BinaryProgram
    #: original index of each variable of the shrunken QUBO
    kept: np.ndarray
    groups: Groups
    steps: list[MergeStep] = field(default_factory=list)
    target: int = 0
    #: how many times correlations were computed
    rounds: int = 0

    @property
    def n_before(self) -> int:
        return self.original.n_vars

    @property
    def n_after(self) -> int:
        return self.qubo.n_vars

    @property
    def shrink_ratio(self) -> float:
        """Fraction of the variables kept: n_after / n_before."""
        return self.n_after / self.n_before

    @property
    def reached_target(self) -> bool:
        return self.n_after <= self.target

    @property
    def log(self) -> pd.DataFrame:
        """The merge steps as a table (one row per merge)."""
        columns = list(MergeStep.__dataclass_fields__)
        return pd.DataFrame([asdict(s) for s in self.steps], columns=columns)

    def expand(self, y: np.ndarray) -> np.ndarray:
        """Original bitstrings of bitstrings of the shrunken QUBO: (n_after,) or (k, n_after)."""
        Y, single = as_rows(y, self.n_after)
        nodes = np.zeros((Y.shape[0], self.n_before + 1), dtype=np.int8)
        nodes[:, self.kept] = np.rint(Y).astype(np.int8)
        x = self.groups.values(nodes)
        return x[0] if single else x


class FoldedQubo:
    """A QUBO in dense form (h, symmetric Q with zero diagonal, c) that merges fold into."""

    def __init__(self, qubo: BinaryProgram):
        q = qubo.quadratic.toarray()
        self.h = qubo.linear.astype(float).copy()
        self.q = q + q.T
        self.c = float(qubo.constant)
        self.names = list(qubo.var_names)

    @property
    def reference(self) -> int:
        return self.h.size

    def fold(self, keep: int, drop: int, relation: int) -> None:
        """Substitute ``x_drop = x_keep XOR relation`` (keep = n: ``x_drop = relation``)."""
        h, q = self.h, self.q
        row = q[drop].copy()
        if keep == self.reference:
            if relation:
                self.c += h[drop]
                h += row
        else:
            coupling = row[keep]
            row[keep] = 0.0
            if relation:
                self.c += h[drop]
                h[keep] -= h[drop]
                h += row
                row = -row
            else:
                h[keep] += h[drop] + coupling
            q[keep] += row
            q[:, keep] += row
        h[drop] = 0.0
        q[drop] = 0.0
        q[:, drop] = 0.0

    def program(self, kept: np.ndarray) -> BinaryProgram:
        """The QUBO over the ``kept`` variables (in that order)."""
        sub = self.q[np.ix_(kept, kept)]
        return BinaryProgram(
            linear=self.h[kept],
            quadratic=sp.csr_matrix(np.triu(sub, k=1)),
            constant=self.c,
            var_names=[self.names[k] for k in kept],
        )


def resolve_target(target: int | float, n: int) -> int:
    """Qubits to shrink to: an int is a qubit budget, a float in (0, 1] a fraction of n."""
    if isinstance(target, (bool, np.bool_)) or not isinstance(
        target, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(
            f"shrink: target must be a qubit budget (int) or a fraction in (0, 1] (float), "
            f"got {target!r}"
        )
    if isinstance(target, (int, np.integer)):
        count = int(target)
        if count > n:
            raise ConfigError(f"shrink: target={count} qubits is larger than the n={n} variables")
    else:
        if not 0 < target <= 1:
            raise ConfigError(f"shrink: a fractional target must be in (0, 1], got {target!r}")
        count = int(round(float(target) * n))
    if count < 1:
        raise ConfigError(
            f"shrink: target={target!r} of n={n} variables leaves {count} qubits; need at least 1"
        )
    return count


def check_threshold(rule: str, param: float | None) -> float | None:
    """The rule's parameter (default filled in), or ConfigError naming the allowed values."""
    if rule not in THRESHOLDS:
        raise ConfigError(f"shrink: unknown threshold {rule!r}; allowed: {', '.join(THRESHOLDS)}")
    if rule not in THRESHOLD_DEFAULTS:
        return None
    value = THRESHOLD_DEFAULTS[rule] if param is None else float(param)
    ok = {"proportional": 0 < value <= 1, "quantile": 0 <= value <= 1, "decay": 0 < value < 1}
    if not ok[rule]:
        allowed = {"proportional": "(0, 1]", "quantile": "[0, 1]", "decay": "(0, 1)"}[rule]
        raise ConfigError(f"shrink: threshold_param for {rule!r} must be in {allowed}, got {param}")
    return value


def threshold_value(
    strengths: np.ndarray,
    rule: str,
    param: float | None,
    *,
    round: int,
    first_max: float,
    seed: int,
) -> float:
    """The round's threshold on |M| (see the module docstring)."""
    if rule == "proportional":
        return param * float(strengths.max())
    if rule == "mean":
        return float(strengths.mean())
    if rule == "median":
        return float(np.median(strengths))
    if rule == "quantile":
        return float(np.quantile(strengths, param))
    if rule == "decay":
        return first_max * param ** (round + 1)
    if np.ptp(strengths) <= 1e-12 * max(1.0, float(strengths.max())):
        return float(strengths.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centroids, labels = kmeans2(strengths[:, None], 2, minit="++", seed=seed)
    upper = int(np.argmax(centroids[:, 0]))
    chosen = strengths[labels == upper]
    return float(chosen.min()) if chosen.size else float(strengths.max())


def merge(
    qubo: BinaryProgram,
    correlate: Callable[[BinaryProgram, int], np.ndarray],
    *,
    target: int | float,
    mode: str = "plain",
    every: int | None = None,
    threshold: str = "proportional",
    threshold_param: float | None = None,
    rules: Rule | None = None,
    seed: int = 0,
) -> Shrunk:
    """Shrink ``qubo`` to ``target`` qubits by merging correlated pairs (module docstring).

    ``correlate(small_qubo, round)`` returns the (m+1)×(m+1) correlation matrix of a QUBO over
    m variables (reference last); ``every`` and the threshold apply in adaptive mode only.
    """
    if qubo.n_constraints or qubo.sense != "min":
        raise ValueError("expected an unconstrained min QUBO (an Encoding's qubo)")
    if mode not in MODES:
        raise ConfigError(f"shrink: unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    if every is not None and int(every) < 1:
        raise ConfigError(f"shrink: every must be >= 1 merges (or unset), got {every}")
    param = check_threshold(threshold, threshold_param)
    n = qubo.n_vars
    goal = resolve_target(target, n)
    adaptive = mode == "adaptive"
    folded = FoldedQubo(qubo)
    groups = Groups.identity(n)
    active = np.ones(n + 1, dtype=bool)
    steps: list[MergeStep] = []
    rounds, first_max, n_active = 0, 0.0, n
    while n_active > goal:
        nodes = np.flatnonzero(active)
        m = np.asarray(correlate(folded.program(nodes[:-1]), rounds), dtype=float)
        if m.shape != (nodes.size, nodes.size):
            raise ValueError(f"correlations of shape {m.shape}, expected {(nodes.size,) * 2}")
        rows, cols = np.triu_indices(nodes.size, k=1)
        values = m[rows, cols]
        order = np.argsort(-np.abs(values), kind="stable")
        first, second, values = nodes[rows[order]], nodes[cols[order]], values[order]
        first_max = first_max if rounds else float(np.abs(values).max())
        limit = float("nan")
        if adaptive:
            limit = threshold_value(
                np.abs(values), threshold, param, round=rounds, first_max=first_max, seed=seed
            )
        merged, restart, progress = 0, False, True
        while progress and n_active > goal and not restart:  # passes down the sorted list
            progress = False
            live = np.flatnonzero(active[first] & active[second])
            for a, b, value in zip(first[live], second[live], values[live]):
                if n_active <= goal:
                    break
                if not (active[a] and active[b]):
                    continue
                if adaptive and merged and abs(value) < limit:
                    restart = True
                    break
                relation = int(value < 0)
                keep, drop = (int(b), int(a)) if b == n else (int(a), int(b))  # keep the reference
                if rules is not None and not rules.allows(groups, keep, drop, relation):
                    continue
                folded.fold(keep, drop, relation)
                groups.absorb(keep, drop, relation)
                active[drop] = False
                n_active -= 1
                merged += 1
                progress = True
                steps.append(
                    MergeStep(
                        step=len(steps),
                        kept=REFERENCE if keep == n else keep,
                        removed=drop,
                        relation=RELATIONS[relation],
                        strength=float(abs(value)),
                        n_after=n_active,
                        round=rounds,
                        threshold=limit,
                    )
                )
                if adaptive and every is not None and merged >= int(every):
                    restart = True
                    break
        rounds += 1
        if not restart and not (adaptive and merged):
            break  # target reached, or no allowed pair left (plain: one round only)
    kept = np.flatnonzero(active[:n])
    return Shrunk(
        original=qubo,
        qubo=folded.program(kept),
        kept=kept,
        groups=groups,
        steps=steps,
        target=goal,
        rounds=rounds,
    )
