"""Encoders: binary program → QUBO (penalty with slack, unbalanced, slack-free Lagrangian).

``get_encoder(name)`` is the one way to look an encoder up; ``lagrangian`` also provides the
multiplier search (``lagrangian.solve``) that wraps any inner solver.
"""

from __future__ import annotations

from qbench.encoders import lagrangian, qubo, unbalanced
from qbench.encoders.base import Encoder, Encoding
from qbench.errors import ConfigError

ENCODERS: dict[str, Encoder] = {
    e.name: e for e in (qubo.ENCODER, unbalanced.ENCODER, lagrangian.ENCODER)
}

__all__ = ["ENCODERS", "Encoder", "Encoding", "get_encoder"]


def get_encoder(name: str) -> Encoder:
    """The registered encoder of this name, or ConfigError listing the names."""
    try:
        return ENCODERS[name]
    except KeyError:
        allowed = ", ".join(["none", *sorted(ENCODERS)])
        raise ConfigError(f"unknown encoder {name!r}; allowed: {allowed}") from None
