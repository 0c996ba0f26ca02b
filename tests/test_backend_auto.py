"""backend = "auto": the exact simulator while the run fits in memory, Aer's MPS beyond."""

from __future__ import annotations

import pytest

from qbench.errors import ConfigError
from qbench.hardware import AUTO, allowed_names, resolve_backend, validate_backend
from qbench.pipeline import prepare, run
from qbench.plan import dry_run_row

GIB = 1 << 30


def test_auto_resolves_by_the_memory_a_run_needs():
    assert resolve_backend(AUTO, 8, "qaoa", 24 * GIB) == "exact"
    assert resolve_backend(AUTO, 40, "qaoa", 24 * GIB) == "aer_mps"  # 2^40 amplitudes
    assert resolve_backend(AUTO, 30, "circuit", 1 * GIB) == "aer_mps"
    assert resolve_backend(AUTO, 30, "qaoa", None) == "exact"  # unknown memory: no refusal
    assert resolve_backend("exact", 40, "qaoa", 24 * GIB) == "exact"  # a concrete name stays
    validate_backend(AUTO)
    assert AUTO in allowed_names()


def test_runs_and_dry_runs_record_the_backend_that_ran(monkeypatch):
    exact = run("1tc.8", "qaoa", {"backend": "exact", "maxiter": 10})
    auto = run("1tc.8", "qaoa", {"backend": AUTO, "maxiter": 10})
    assert auto["backend"] == "exact" and auto["status"] == "ok"
    assert (auto["objective"], auto["p_feasible"]) == (exact["objective"], exact["p_feasible"])
    assert auto["run_id"] != exact["run_id"]  # "auto" is the configuration
    big = dry_run_row(prepare("1tc.64", "qaoa", {"backend": AUTO}))
    assert (big["backend"], big["fits"], big["n_qubits"]) == ("aer_mps", True, 64)
    # with (pretend) little memory a small run goes to the MPS simulator
    monkeypatch.setattr("qbench.memory.allocatable_memory", lambda: (1 << 20, "test limit"))
    small = run("1tc.16", "qaoa", {"backend": AUTO, "maxiter": 3})
    assert small["backend"] == "aer_mps" and small["status"] == "ok" and small["feasible"]


def test_auto_resolves_for_a_meta_solver_s_inner_solver_too():
    row = run("pet3", "qaoa", {"backend": AUTO, "maxiter": 3}, encoder="lagrangian")
    assert row["status"] == "ok" and row["backend"] == "exact"


def test_auto_takes_no_backend_options():
    with pytest.raises(ConfigError, match="backend.method: backend 'auto' takes no options"):
        prepare("1tc.8", "qaoa", {"backend": AUTO, "backend.method": "statevector"})


def test_mps_energies_from_samples_follow_the_estimator():
    """aer_mps with energy=samples: the mean QUBO energy of the run's shots, within a few
    standard errors of EstimatorV2's exact value for the same circuit; seeded."""
    import numpy as np

    from qbench.encoders import get_encoder
    from qbench.hardware import get_backend
    from qbench.hardware.base import CircuitAnsatz
    from qbench.hardware.circuits import vqe_ansatz

    qubo = get_encoder("qubo").encode(prepare("1tc.16").problem.program).qubo
    ansatz = CircuitAnsatz(qubo=qubo, qc=vqe_ansatz("real_amplitudes", 16, 2, "circular"),
                           name="real_amplitudes")  # fmt: skip
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, ansatz.n_params)
    sampled = get_backend("aer_mps", shots=4000, seed=5, energy="samples")
    exact = get_backend("aer_mps", shots=4000, seed=5)
    dist = exact.distribution(ansatz, theta, shots=4000, seed=9)
    spread = float(np.sqrt(np.dot(dist.probs, ansatz.costs(dist.states) ** 2)) / np.sqrt(4000))
    value = sampled.expectation(ansatz, theta, seed=9)
    assert abs(value - exact.expectation(ansatz, theta)) < 4 * spread
    assert value == sampled.expectation(ansatz, theta, seed=9)  # same seed, same samples
    assert sampled.info()["energy"] == "samples" and exact.info()["energy"] == "estimator"
    row = run("1tc.8", "vqe", {"backend": "aer_mps", "backend.energy": "samples", "shots": 1000,
                               "maxiter": 5})  # fmt: skip
    assert row["status"] == "ok" and row["backend"] == "aer_mps"
    with pytest.raises(ConfigError, match="energy='sample' not allowed.*did you mean 'samples'"):
        prepare("1tc.8", "vqe", {"backend": "aer_mps", "backend.energy": "sample"})
    with pytest.raises(ConfigError, match="takes no options; they are for aer_mps, aer_noisy"):
        prepare("1tc.8", "vqe", {"backend": "exact", "backend.energy": "samples"})
