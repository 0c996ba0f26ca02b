"""Aer backends against qiskit's reference primitives, the exact engine and each other."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import Statevector

from qbench.errors import ConfigError, ResourceError
from qbench.hardware import BACKENDS, get_backend
from qbench.hardware.aer import (
    AerMPSBackend,
    AerShotsBackend,
    AerStatevectorBackend,
    statevector_bytes,
)
from qbench.hardware.base import CircuitAnsatz, QAOAAnsatz
from qbench.hardware.circuits import vqe_ansatz
from qbench.program import BinaryProgram


def random_qubo(n: int, seed: int, density: float = 0.5) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    linear = rng.normal(size=n)
    quad = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < density), 1)
    return BinaryProgram(linear=linear, quadratic=sp.csr_matrix(quad), constant=rng.normal())


def chain_qubo(n: int, seed: int) -> BinaryProgram:
    """A nearest-neighbour QUBO: low entanglement, so MPS handles many qubits."""
    rng = np.random.default_rng(seed)
    quad = sp.diags(rng.normal(size=n - 1), 1, shape=(n, n))
    return BinaryProgram(linear=rng.normal(size=n), quadratic=quad, constant=0.5)


def reference_expectation(ansatz, params) -> float:
    """qiskit's StatevectorEstimator on the same circuit and cost operator."""
    op, offset = ansatz.cost_operator
    pub = (ansatz.circuit(), op, np.asarray(params))
    return float(StatevectorEstimator().run([pub]).result()[0].data.evs) + offset


def exact_stats(ansatz, params) -> tuple[float, float]:
    """Exact mean and standard deviation of the cost under |ψ|² (qiskit Statevector)."""
    probs = Statevector(ansatz.circuit().assign_parameters(params)).probabilities()
    costs = ansatz.costs(np.arange(probs.size))
    mean = float(probs @ costs)
    return mean, float(np.sqrt(probs @ (costs - mean) ** 2))


def ansatz_cases(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    qubo = random_qubo(n, seed)
    half = n // 2
    groups = [list(range(half)), list(range(half, n))]
    return [
        QAOAAnsatz(qubo, p=2),
        QAOAAnsatz(qubo, p=1, multi_angle=True),
        QAOAAnsatz(qubo, p=2, mixer="warm", warm_start=rng.random(n)),
        QAOAAnsatz(qubo, p=2, mixer="xy_ring", groups=groups, initial_state=1 | (1 << half)),
        QAOAAnsatz(qubo, p=1, mixer="xy_complete", groups=groups, initial_state=2 | (1 << n - 1)),
        CircuitAnsatz(qubo, qc=vqe_ansatz("efficient_su2", n, reps=2), name="su2"),
        CircuitAnsatz(qubo, qc=vqe_ansatz("ry_rz_cx", n, reps=2), name="ry_rz_cx"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_statevector_expectation_matches_qiskit_estimator(case):
    ansatz = ansatz_cases(6, 11)[case]
    backend = AerStatevectorBackend()
    rng = np.random.default_rng(case)
    for _ in range(2):
        params = rng.uniform(-np.pi, np.pi, ansatz.n_params)
        want = reference_expectation(ansatz, params)
        assert backend.expectation(ansatz, params) == pytest.approx(want, abs=1e-9)


def test_controlled_phase_binding_regression():
    """Aer's primitive-side binding gets CP wrong (qiskit-aer #2403); the backend must not."""
    ansatz = QAOAAnsatz(random_qubo(5, 3, density=1.0), p=1)
    params = np.array([0.9, 0.4])
    want = reference_expectation(ansatz, params)
    assert AerStatevectorBackend().expectation(ansatz, params) == pytest.approx(want, abs=1e-9)
    assert AerMPSBackend().expectation(ansatz, params) == pytest.approx(want, abs=1e-8)


def test_statevector_distribution_is_exact():
    backend = AerStatevectorBackend()
    for ansatz in ansatz_cases(5, 4)[::2]:
        params = np.random.default_rng(1).uniform(-1, 1, ansatz.n_params)
        dist = backend.distribution(ansatz, params)
        assert dist.exact and dist.shots is None
        want = Statevector(ansatz.circuit().assign_parameters(params)).probabilities()
        np.testing.assert_array_equal(dist.states, np.arange(32))
        np.testing.assert_allclose(dist.probs, want, atol=1e-12)


def test_statevector_with_shots_samples_deterministically():
    ansatz = ansatz_cases(5, 5)[0]
    params = np.array([0.3, -0.2, 0.5, 0.1])
    backend = AerStatevectorBackend()
    a = backend.distribution(ansatz, params, shots=500, seed=7)
    b = backend.distribution(ansatz, params, shots=500, seed=7)
    c = backend.distribution(ansatz, params, shots=500, seed=8)
    assert not a.exact and a.shots == 500
    assert a.probs.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.probs, b.probs)
    assert not (np.array_equal(a.states, c.states) and np.array_equal(a.probs, c.probs))


@pytest.mark.parametrize(("n", "seed"), [(8, 0), (10, 1)])
def test_mps_agrees_with_statevector(n, seed):
    ansatz = QAOAAnsatz(random_qubo(n, seed), p=2)
    params = np.random.default_rng(seed).uniform(-1, 1, 4)
    sv, mps = AerStatevectorBackend(), AerMPSBackend(shots=4000, seed=3)
    exact = sv.expectation(ansatz, params)
    assert mps.expectation(ansatz, params) == pytest.approx(exact, abs=1e-6)
    dist = mps.distribution(ansatz, params)
    assert not dist.exact and dist.shots == 4000
    mean, std = exact_stats(ansatz, params)
    assert mean == pytest.approx(exact, abs=1e-9)
    sampled = float(dist.probs @ ansatz.costs(dist.states))
    assert abs(sampled - exact) < 4 * std / np.sqrt(4000)


def test_mps_many_qubits_without_dense_vectors():
    """70 qubits (> int64 states): MPS expectation and samples, costs via ansatz.costs."""
    n = 70
    ansatz = QAOAAnsatz(chain_qubo(n, 2), p=1)
    params = np.array([0.4, 0.3])
    backend = get_backend("aer_mps", shots=2000, seed=5)
    exact = backend.expectation(ansatz, params)
    dist = backend.distribution(ansatz, params)
    assert dist.states.dtype == object and max(dist.states) >= 2**62
    costs = ansatz.costs(dist.states)
    sampled = float(dist.probs @ costs)
    std = float(np.sqrt(dist.probs @ (costs - sampled) ** 2))
    assert abs(sampled - exact) < 5 * std / np.sqrt(2000)


def test_shots_expectation_within_noise_and_seeded():
    ansatz = ansatz_cases(7, 6)[0]
    params = np.array([0.5, -0.3, 0.6, 0.2])
    mean, std = exact_stats(ansatz, params)
    backend = AerShotsBackend(shots=2000, seed=9)
    values = [backend.expectation(ansatz, params) for _ in range(2)]
    assert values[0] == values[1]  # the backend seed repeats exactly
    assert abs(values[0] - mean) < 4 * std / np.sqrt(2000)
    assert backend.expectation(ansatz, params, seed=10) != values[0]
    dist = backend.distribution(ansatz, params, shots=300, seed=1)
    assert dist.shots == 300 and not dist.exact
    mps_shots = AerShotsBackend(shots=2000, seed=9, method="matrix_product_state")
    assert abs(mps_shots.expectation(ansatz, params) - mean) < 4 * std / np.sqrt(2000)


def test_exact_engine_matches_aer_statevector():
    exact = get_backend("exact")
    sv = get_backend("aer_statevector")
    rng = np.random.default_rng(21)
    for seed in (1, 2):
        for ansatz in ansatz_cases(6, seed):
            params = rng.uniform(-np.pi, np.pi, ansatz.n_params)
            assert exact.expectation(ansatz, params) == pytest.approx(
                sv.expectation(ansatz, params), abs=1e-8
            )
            np.testing.assert_allclose(
                exact.distribution(ansatz, params).probs,
                sv.distribution(ansatz, params).probs,
                atol=1e-10,
            )


def test_registry_and_errors():
    assert {"aer_statevector", "aer_mps", "aer_shots"} <= set(BACKENDS)
    assert get_backend("exact").name == "exact"
    assert "exact" in BACKENDS
    backend = get_backend("aer_shots", shots=100, seed=4)
    assert isinstance(backend, AerShotsBackend) and backend.shots == 100
    info = backend.info()
    assert info["backend"] == "aer_shots" and info["seed"] == 4
    assert "qiskit-aer" in info["simulator"]
    with pytest.raises(ConfigError, match="allowed: .*aer_mps.*exact"):
        get_backend("aer_gpu")
    with pytest.raises(ConfigError, match=r"unknown backend 'gpu:x'.*aer_noisy:<device>"):
        get_backend("gpu:x")
    with pytest.raises(ConfigError, match="unknown fake device 'fake_nowhere'.*fake_torino"):
        get_backend("aer_noisy:fake_nowhere")
    with pytest.raises(ConfigError, match="unknown backend 'foo:bar'"):
        get_backend("foo:bar")
    with pytest.raises(ConfigError, match="bad simulator option"):
        get_backend("aer_statevector", shotz=10)
    with pytest.raises(ConfigError, match="shots must be >= 1"):
        get_backend("aer_mps", shots=0)
    with pytest.raises(ConfigError, match="allowed: automatic"):
        get_backend("aer_shots", method="density_matrix")


def test_check_refuses_with_numbers():
    ansatz = QAOAAnsatz(random_qubo(8, 0), p=1)
    need, sampled = statevector_bytes(8), statevector_bytes(8, exact=False)
    assert need > sampled  # the exact read-out holds the distribution and cost vector too
    backend = get_backend("aer_statevector", max_bytes=need - 1)
    with pytest.raises(ResourceError, match=rf"n=8 qubits.*needs .*\({need:,} bytes.*{need - 1:,}"):
        backend.check(ansatz)
    with pytest.raises(ResourceError, match=f"{need:,}"):
        backend.expectation(ansatz, np.zeros(2))  # refused before any simulation
    with pytest.raises(ResourceError, match=rf"max_bytes is .* \({sampled - 1:,} bytes\)"):
        get_backend("aer_shots", max_bytes=sampled - 1).distribution(ansatz, np.zeros(2))
    get_backend("aer_statevector", max_bytes=need).check(ansatz)  # exactly fits
    get_backend("aer_shots", max_bytes=sampled).check(ansatz)
    big = QAOAAnsatz(chain_qubo(151, 0), p=1)
    with pytest.raises(ResourceError, match="n=151 qubits exceeds the MPS limit of 150"):
        get_backend("aer_mps").check(big)
    with pytest.raises(ResourceError, match="limit of 20"):
        get_backend("aer_mps", max_qubits=20).expectation(QAOAAnsatz(chain_qubo(21, 0)), [0, 0])
    huge = QAOAAnsatz(chain_qubo(60, 0), p=1)
    with pytest.raises(ResourceError, match="MemAvailable"):
        get_backend("aer_statevector").check(huge)


def test_qubo_without_terms_binds_by_layout():
    """γ acts on nothing (no cost terms) and drops out of the circuit; β still binds right."""
    qubo = BinaryProgram(linear=np.zeros(3), constant=2.5)
    ansatz = QAOAAnsatz(qubo, p=2, mixer="xy_ring", groups=[[0, 1, 2]], initial_state=1)
    assert ansatz.circuit().num_parameters == 2  # only the two β remain
    sv, exact = AerStatevectorBackend(), get_backend("exact")
    params = np.array([0.3, 0.1, 0.2, 0.7])
    assert sv.expectation(ansatz, params) == pytest.approx(2.5, abs=1e-12)
    want = exact.distribution(ansatz, params).probs
    np.testing.assert_allclose(sv.distribution(ansatz, params).probs, want, atol=1e-12)
    for order in ([2, 3, 0, 1], [0, 1, 3, 2]):  # β in γ's slots; β order reversed
        other = exact.distribution(ansatz, params[order]).probs
        assert np.abs(other - want).max() > 1e-3  # so a wrong binding would be caught
