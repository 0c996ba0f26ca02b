"""Encoders: binary program → QUBO/Ising (penalty with slack, unbalanced, Lagrangian). Issue 3."""
