"""The numba engine of the exact Pauli expectations against the numpy reference and qiskit's
``Statevector.expectation_value``: random states and Pauli lists, PCE's and QRAO's observables,
the in-place rotation paths (small ``block_bits``), ``overwrite`` and complex64."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import PauliList, SparsePauliOp, Statevector

from qbench.hardware.exact import HAVE_NUMBA, pauli_expectations
from qbench.hardware.paulis import pauli_groups
from qbench.solvers import pce, qrao
from qbench.spec import load_spec

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")


def _state(n: int, seed: int, dtype=np.complex128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return (psi / np.linalg.norm(psi)).astype(dtype)


def _paulis(n: int, count: int, seed: int) -> PauliList:
    """Random I/X/Y/Z strings, a third of them with label sign "-", plus the all-X, all-Y and
    identity strings."""
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(count)]
    labels = [("-" if rng.random() < 1 / 3 else "") + s for s in labels]
    return PauliList(labels + ["X" * n, "-" + "Y" * n, "I" * n])


def _qiskit(state: np.ndarray, paulis: PauliList) -> np.ndarray:
    sv = Statevector(np.asarray(state, dtype=np.complex128))
    return np.array([sv.expectation_value(SparsePauliOp(p)).real for p in paulis])


@pytest.mark.parametrize("n", range(1, 13))
def test_random_paulis_match_numpy_and_qiskit(n: int) -> None:
    state = _state(n, n)
    paulis = _paulis(n, 40, 100 + n)
    kept = state.copy()
    fast = pauli_expectations(state, paulis)
    assert np.array_equal(state, kept)  # n <= 13: the state is only read
    assert np.allclose(fast, pauli_expectations(state, paulis, engine="numpy"), atol=1e-12)
    assert np.allclose(fast, _qiskit(state, paulis), atol=1e-12)


@pytest.mark.parametrize(("n", "block_bits"), [(4, 1), (5, 2), (7, 3), (9, 4), (12, 5), (14, 13)])
def test_in_place_rotations_match_and_restore_the_state(n: int, block_bits: int) -> None:
    """Small blocks put most qubits in the in-place passes (several per phase, several
    phases); overwrite=False gives the caller's state back to 1e-12."""
    state = _state(n, 7 + n)
    paulis = _paulis(n, 60, 200 + n)
    groups = pauli_groups(paulis)
    kept = state.copy()
    fast = pauli_expectations(state, paulis, groups, block_bits=block_bits)
    assert np.abs(state - kept).max() < 1e-12
    assert np.allclose(fast, _qiskit(kept, paulis), atol=1e-12)
    again = pauli_expectations(state, paulis, groups, overwrite=True, block_bits=block_bits)
    assert np.allclose(again, fast, atol=1e-12)


def test_overwrite_false_keeps_a_16_qubit_state() -> None:
    n = 16
    state = _state(n, 3)
    paulis = _paulis(n, 30, 4)
    kept = state.copy()
    fast = pauli_expectations(state, paulis)
    assert np.abs(state - kept).max() < 1e-12
    assert np.allclose(fast, pauli_expectations(kept, paulis, engine="numpy"), atol=1e-12)


@pytest.mark.parametrize("block_bits", [13, 3])
def test_complex64_state(block_bits: int) -> None:
    n = 9
    state = _state(n, 5, np.complex64)
    paulis = _paulis(n, 40, 6)
    kept = state.copy()
    fast = pauli_expectations(state, paulis, block_bits=block_bits)
    assert np.array_equal(state, kept)  # complex64: rotated in a copy, bit for bit
    reference = _qiskit(state, paulis)
    assert np.allclose(fast, reference, atol=1e-6)
    inplace = pauli_expectations(state, paulis, overwrite=True, block_bits=block_bits)
    assert np.allclose(inplace, reference, atol=1e-6)


def test_read_only_and_strided_states() -> None:
    n = 8
    state = _state(n, 11)
    paulis = _paulis(n, 30, 12)
    reference = _qiskit(state, paulis)
    frozen = state.copy()
    frozen.flags.writeable = False
    got = pauli_expectations(frozen, paulis, overwrite=True, block_bits=3)
    assert np.allclose(got, reference, atol=1e-12)
    wide = np.zeros(2 * state.size, dtype=np.complex128)
    wide[::2] = state
    assert np.allclose(pauli_expectations(wide[::2], paulis), reference, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_pce_correlators(k: int) -> None:
    n = 8
    labels = pce.correlators(60, n, k)
    paulis = PauliList(labels)
    assert len(pauli_groups(paulis)) == 3
    state = _state(n, 20 + k)
    for bb in (13, 3):
        fast = pauli_expectations(state, paulis, block_bits=bb)
        assert np.allclose(fast, _qiskit(state, paulis), atol=1e-12)


@pytest.mark.parametrize("encoding", ["3,1", "2,1"])
def test_qrao_observables(encoding: str) -> None:
    qubo = load_spec("mis:n=24,p=0.2,seed=3").program
    from qbench.encoders.qubo import encode

    relaxation = qrao.relax(encode(qubo).qubo, encoding)
    paulis = qrao.observables(relaxation)
    n = relaxation.qrac.n_qubits
    state = _state(n, 30)
    reference = _qiskit(state, paulis)
    for bb in (13, 4):
        fast = pauli_expectations(state, paulis, block_bits=bb)
        assert np.allclose(fast, reference, atol=1e-12)
    energy = relaxation.operator.coeffs.real @ fast[relaxation.qrac.n_vars :]
    assert np.isclose(energy, Statevector(state).expectation_value(relaxation.operator).real)


def test_engine_is_checked() -> None:
    with pytest.raises(ValueError, match="numba, numpy"):
        pauli_expectations(_state(2, 0), PauliList(["XZ"]), engine="gpu")


def test_parallel_kernels(monkeypatch) -> None:
    """The prange drivers (used from PARALLEL_MIN_QUBITS qubits) give the serial results."""
    from qbench.hardware.exact import observables

    n = 10
    state = _state(n, 40)
    paulis = _paulis(n, 50, 41)
    kept = state.copy()
    serial = pauli_expectations(state, paulis, block_bits=4)
    monkeypatch.setattr(observables, "PARALLEL_MIN_QUBITS", 1)
    parallel = pauli_expectations(state, paulis, block_bits=4)
    assert np.abs(state - kept).max() < 1e-12
    assert np.allclose(parallel, serial, atol=1e-12)
    assert np.allclose(parallel, _qiskit(kept, paulis), atol=1e-12)
