"""The Pauli-observable seam of the backends (PCE, QRAO): exact grouped-WHT path vs qiskit."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import PauliList, SparsePauliOp, Statevector

from qbench.errors import ResourceError
from qbench.hardware import get_backend
from qbench.hardware.base import PauliAnsatz
from qbench.hardware.paulis import pauli_groups, walsh_hadamard


def _random_paulis(n: int, count: int, seed: int) -> PauliList:
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(count)]
    labels += ["-" + "X" * n, "-" + "Z" + "Y" * (n - 1), "I" * n]
    return PauliList(labels)


def _reference(qc, params, paulis) -> np.ndarray:
    sv = Statevector(qc.assign_parameters(params))
    return np.array([sv.expectation_value(SparsePauliOp(p)).real for p in paulis])


def test_walsh_hadamard_matches_the_parity_sums() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=32)
    s = np.arange(32)
    parity = np.array([[bin(a & m).count("1") % 2 for a in s] for m in s])
    assert np.allclose(walsh_hadamard(v), ((-1.0) ** parity) @ v)


def test_groups_are_qubit_wise_commuting_and_cover_every_pauli() -> None:
    paulis = _random_paulis(5, 60, 1)
    groups = pauli_groups(paulis)
    seen = np.concatenate([idx for _, idx in groups])
    assert sorted(seen) == list(range(len(paulis)))
    letters = {"I": 0, "X": 1, "Y": 2, "Z": 3}
    for basis, idx in groups:
        for k in idx:
            label = paulis[int(k)].to_label().lstrip("-")[::-1]  # qubit order
            for q, ch in enumerate(label):
                assert ch == "I" or letters[ch] == basis[q]


def test_uniform_basis_correlators_need_three_groups() -> None:
    """PCE's X^k / Y^k / Z^k correlators: three measurement bases whatever their number."""
    n = 7
    labels = []
    for a in range(n):
        for b in range(a + 1, n):
            for ch in "XYZ":
                row = ["I"] * n
                row[a] = row[b] = ch
                labels.append("".join(row))
    assert len(pauli_groups(PauliList(labels))) == 3


@pytest.mark.parametrize("backend", ["exact", "aer_statevector", "aer_mps"])
def test_pauli_expectations_equal_qiskit_statevector(backend: str) -> None:
    n = 5
    qc = efficient_su2(n, reps=2)
    paulis = _random_paulis(n, 40, 2)
    params = np.random.default_rng(3).normal(size=qc.num_parameters)
    got = get_backend(backend).pauli_expectations(PauliAnsatz(qc, paulis), params)
    assert np.allclose(got, _reference(qc, params, paulis), atol=1e-9)


def test_shot_backend_estimates_within_noise() -> None:
    n = 4
    qc = efficient_su2(n, reps=1)
    paulis = _random_paulis(n, 20, 4)
    params = np.random.default_rng(5).normal(size=qc.num_parameters)
    ansatz = PauliAnsatz(qc, paulis)
    got = get_backend("aer_shots", shots=4000).pauli_expectations(ansatz, params, seed=1)
    err = np.abs(got - _reference(qc, params, paulis))
    assert err.max() < 5 / np.sqrt(4000) and err.max() > 0  # noisy, but not wildly
    again = get_backend("aer_shots", shots=4000).pauli_expectations(ansatz, params, seed=1)
    assert np.array_equal(got, again)  # seeded


@pytest.mark.parametrize("backend", ["exact", "aer_statevector"])
def test_sample_circuits_follow_the_born_rule(backend: str) -> None:
    n, shots = 3, 20000
    qc = efficient_su2(n, reps=1)
    params = np.random.default_rng(6).normal(size=qc.num_parameters)
    bound = qc.assign_parameters(params)
    probs = Statevector(bound).probabilities()
    dists = get_backend(backend).sample_circuits([bound, bound], shots=shots, seed=7)
    assert len(dists) == 2
    for dist in dists:
        full = np.zeros(1 << n)
        full[np.asarray(dist.states, dtype=int)] = dist.probs
        assert np.abs(full - probs).max() < 4 * np.sqrt(0.25 / shots) + 1e-3


def test_pauli_ansatz_validates_its_observables() -> None:
    qc = efficient_su2(3, reps=1)
    with pytest.raises(ValueError, match="3"):
        PauliAnsatz(qc, PauliList(["XX"]))
    with pytest.raises(ValueError, match="Hermitian"):
        PauliAnsatz(qc, PauliList(["iXXX"]))


def test_oversized_pauli_ansatz_is_refused_up_front() -> None:
    qc = efficient_su2(30, reps=1)
    ansatz = PauliAnsatz(qc, PauliList(["Z" * 30]))
    with pytest.raises(ResourceError, match="30"):
        get_backend("exact", max_bytes=1 << 30).check(ansatz)
    with pytest.raises(ResourceError, match="30"):
        get_backend("aer_statevector", max_bytes=1 << 30).check(ansatz)
