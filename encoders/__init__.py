"""Encoders: binary program → QUBO (penalty with slack, unbalanced, slack-free Lagrangian).

``get_encoder(name)`` is the one way to look an encoder up. ``lagrangian`` is driven in a run by
the multiplier search, a meta-solver in :mod:`qbench.solvers.lagrangian` (``meta_solver``).
"""

from __future__ import annotations

from qbench.encoders import lagrangian, qubo, unbalanced
from qbench.encoders.base import Encoder, Encoding
from qbench.params import lookup

ENCODERS: dict[str, Encoder] = {
    e.name: e for e in (qubo.ENCODER, unbalanced.ENCODER, lagrangian.ENCODER)
}

__all__ = ["ENCODERS", "Encoder", "Encoding", "get_encoder"]


def get_encoder(name: str) -> Encoder:
    """The registered encoder of this name, or ConfigError listing the names."""
    return lookup(ENCODERS, name, "encoder", also=("none",))
