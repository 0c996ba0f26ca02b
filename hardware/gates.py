"""Single-qubit gate matrices shared by the simulators and the solvers (qiskit conventions)."""

from __future__ import annotations

import math

import numpy as np


def rx(beta: float) -> np.ndarray:
    """RX(2β) = exp(-iβX), the standard QAOA mixer on one qubit."""
    c, s = math.cos(beta), math.sin(beta)
    return np.array([[c, -1j * s], [-1j * s, c]])


def ry(theta: float) -> np.ndarray:
    """RY(θ) = exp(-iθY/2)."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rz(phi: float) -> np.ndarray:
    """RZ(φ) = exp(-iφZ/2)."""
    return np.diag([np.exp(-0.5j * phi), np.exp(0.5j * phi)])


#: Hadamard
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)

#: basis change before a Z measurement, by Pauli letter code 0 = I, 1 = X, 2 = Y, 3 = Z:
#: X → H, Y → H·S†, Z/I → nothing
BASIS_CHANGE = {
    0: np.eye(2, dtype=complex),
    1: H,
    2: H @ np.diag([1, -1j]),
    3: np.eye(2, dtype=complex),
}
