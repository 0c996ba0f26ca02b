"""Device backends: aer_noisy, ibm_local (fake devices) and ibm (real client, faked network)."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import PauliList
from qiskit_aer import AerSimulator

from qbench.errors import ConfigError, ResourceError
from qbench.hardware import get_backend, validate_backend
from qbench.hardware import parse_backend_options as parse_options
from qbench.hardware.base import PauliAnsatz
from qbench.hardware.ibm import DeviceBackend, device_key, fake_device
from qbench.hardware.noisy import (
    NoisySimulator,
    active_qubits,
    compact,
    device_noise_model,
    reduced_noise_model,
)
from qbench.hardware.transpile import transpile_isa
from qbench.pipeline import run

MIS5 = "mis:n=5,p=0.5,seed=1"  # 5 nodes, optimum 3 (brute force)
SOLVERS = {
    "qaoa": {"p": 1, "maxiter": 8},
    "cvar_vqe": {"maxiter": 8, "reps": 1},
    "pce": {"maxiter": 12, "depth": 1},
    "qrao": {"maxiter": 8, "shots": 64},
}
ROW_KEYS = ("depth_transpiled", "two_qubit_gates_transpiled", "swaps")


# -- names and options ------------------------------------------------------------------------


def test_device_names_and_options_are_validated():
    assert device_key("torino") == device_key("FakeTorino") == "fake_torino"
    assert device_key("FakeManilaV2") == "fake_manila"
    validate_backend("aer_noisy:fake_fez")
    validate_backend("ibm:ibm_anything")  # no connection is made to validate a hardware name
    with pytest.raises(ConfigError, match="needs a device"):
        validate_backend("ibm_local:")
    with pytest.raises(ConfigError, match="unknown fake device 'fake_atlantis'"):
        validate_backend("ibm_local:fake_atlantis")
    with pytest.raises(ConfigError, match="unknown backend option 'shotz'; allowed: .*mitigation"):
        parse_options("aer_noisy:fake_fez", {"shotz": 3})
    with pytest.raises(ConfigError, match="mitigation.*allowed.*trex"):
        parse_options("ibm:x", {"mitigation": "zne"})
    with pytest.raises(ConfigError, match="takes no options"):
        parse_options("exact", {"twirling": "gates"})
    with pytest.raises(ConfigError, match="dd and twirling are applied by IBM Runtime"):
        get_backend("aer_noisy:fake_manila", twirling="gates")


def test_circuit_wider_than_the_device_is_refused():
    row = run("mis:n=6,p=0.5,seed=2", solver="qaoa",
              params={"backend": "ibm_local:fake_manila", "maxiter": 2})  # fmt: skip
    assert row["status"] == "error"
    assert "needs 6 qubits but the device has 5" in row["error"]


def test_noisy_simulation_too_big_for_memory_is_refused():
    backend = get_backend("aer_noisy:fake_torino", max_bytes=1 << 20, method="density_matrix")
    with pytest.raises(ResourceError, match="density_matrix simulation of 9 qubits needs"):
        backend.simulator.check(9, "test")


# -- the compacted noise model ----------------------------------------------------------------


def test_compacted_noise_model_gives_the_full_models_distribution():
    device = fake_device("fake_nairobi")
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 2)
    qc.cx(1, 2)
    qc.measure_all()
    isa, _ = transpile_isa(qc, device.target, optimization_level=1, layout=[4, 5, 6], seed=1)
    qubits = active_qubits(isa)
    assert qubits == [4, 5, 6]
    shots = 200_000
    full = AerSimulator(method="density_matrix", noise_model=device_noise_model(device))
    small = AerSimulator(
        method="density_matrix", noise_model=reduced_noise_model(device_noise_model(device), qubits)
    )
    a = full.run(isa, shots=shots, seed_simulator=1).result().get_counts()
    b = small.run(compact(isa, qubits), shots=shots, seed_simulator=2).result().get_counts()
    keys = set(a) | set(b)
    tv = 0.5 * sum(abs(a.get(k, 0) - b.get(k, 0)) for k in keys) / shots
    assert tv < 0.01
    # aer_noisy's path: gate noise in Aer, readout errors applied to the samples (twirled or not)
    for twirl in (False, True):
        c = NoisySimulator(device).counts([isa], shots, 4, "test", twirl=twirl)[0]
        c = {format(k, "03b"): v for k, v in c.items()}
        tv_c = 0.5 * sum(abs(a.get(k, 0) - c.get(k, 0)) for k in keys | set(c)) / shots
        assert tv_c < 0.01, (twirl, tv_c)
    # and the noise matters: the ideal distribution is further away than sampling noise
    ideal = AerSimulator().run(isa, shots=shots, seed_simulator=3).result().get_counts()
    tv_ideal = 0.5 * sum(abs(a.get(k, 0) - ideal.get(k, 0)) for k in keys | set(ideal)) / shots
    assert tv_ideal > 3 * tv


# -- TREX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["aer_noisy:fake_sherbrooke", "ibm_local:fake_nairobi"])
def test_trex_moves_z_expectations_towards_the_ideal(backend):
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.x(2)
    paulis = PauliList(["IIZ", "IZI", "ZII", "IZZ", "ZIZ", "ZZZ"])  # qubit 0 is the last letter
    ideal = np.array([-1, 1, -1, -1, 1, 1], dtype=float)
    ansatz = PauliAnsatz(qc, paulis)
    errors = {}
    for mitigation in ("none", "trex"):
        device = get_backend(backend, shots=40_000, seed=5, mitigation=mitigation)
        values = device.pauli_expectations(ansatz, np.zeros(0))
        errors[mitigation] = np.abs(values - ideal).sum()
    assert errors["none"] > 0.02  # readout errors are visible
    assert errors["trex"] < 0.5 * errors["none"]


# -- end to end, offline: every compressed and variational solver on both fake paths ----------


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("backend", ["aer_noisy:fake_torino", "ibm_local:fake_manila"])
def test_solvers_run_end_to_end_on_fake_devices(solver, backend):
    params = {**SOLVERS[solver], "backend": backend, "shots": 256}
    row = run(MIS5, solver=solver, params=params, seed=3)
    assert row["status"] in ("ok", "infeasible"), row["error"]
    assert row["backend"] == backend
    for key in ROW_KEYS:
        assert isinstance(row[key], int) and row[key] >= 0, key
    assert row["depth_transpiled"] > 0 and row["two_qubit_gates_transpiled"] > 0
    if backend.startswith("ibm_local"):
        assert row["jobs"] >= 1 and len(row["job_ids"].split(",")) == row["jobs"]
        assert row["qpu_time_s"] is None  # local testing mode uses no QPU
    else:
        assert row["jobs"] is None
    expected_routing = "swap_strategy" if solver == "qaoa" else "default"
    assert row["routing"] == expected_routing


def test_backend_options_reach_the_backend_and_the_run_id():
    base = {"backend": "aer_noisy:fake_manila", "maxiter": 3, "shots": 128}
    a = run(MIS5, solver="qaoa", params=base, seed=1)
    b = run(MIS5, solver="qaoa", params={**base, "backend.routing": "default"}, seed=1)
    assert a["routing"] == "swap_strategy" and b["routing"] == "default"
    assert a["run_id"] != b["run_id"]
    with pytest.raises(ConfigError, match="backend.routing: solver 'mip' runs no circuits"):
        run(MIS5, solver="mip", params={"backend.routing": "default"})


# -- ibm: the real client classes with the network replaced ------------------------------------

fake_ibm = pytest.importorskip("fake_ibm")


@pytest.fixture
def server():
    with fake_ibm.fake_ibm_service(fast_retries=True) as srv, fake_ibm.credentials_env(srv):
        yield srv


def _ibm_row(params=None, solver="qaoa", seed=0):
    base = {"backend": "ibm:ibm_fake_manila", "maxiter": 3, "shots": 200, **(params or {})}
    return run(MIS5, solver=solver, params=base, seed=seed)


def test_ibm_runs_in_a_session_and_records_jobs(server):
    row = _ibm_row()
    assert row["status"] in ("ok", "infeasible"), row["error"]
    jobs = server.submitted_jobs()
    assert row["jobs"] == len(jobs) >= 3
    assert row["job_ids"].split(",") == [job.id for job in jobs]
    sessions = list(server.sessions.values())
    assert len(sessions) == 1 and sessions[0].mode == "dedicated"
    assert all(job.session_id == sessions[0].id for job in jobs)
    assert not sessions[0].accepting_jobs  # closed at the end of the run
    assert row["qpu_time_s"] == pytest.approx(sum(job.quantum_seconds for job in jobs), abs=0.01)
    assert row["queue_time_s"] == pytest.approx(server.queue_seconds * len(jobs), rel=1e-3)
    assert row["two_qubit_gates_transpiled"] > 0


def test_ibm_batch_and_job_modes(server):
    _ibm_row({"backend.mode": "batch"})
    assert [s.mode for s in server.sessions.values()] == ["batch"]
    before = len(server.submitted_jobs())
    row = _ibm_row({"backend.mode": "job"})
    assert row["status"] in ("ok", "infeasible")
    assert all(job.session_id is None for job in server.submitted_jobs()[before:])


def test_ibm_retries_transient_errors(server):
    server.fail_next("job_submit", count=8, status=503)  # more than the client retries itself
    row = _ibm_row({"backend.backoff_s": 0.0})
    assert row["status"] in ("ok", "infeasible"), row["error"]
    attempts = server.requests_to("job_submit")
    assert sum(r.status == 503 for r in attempts) == 8


def test_ibm_gives_up_after_max_retries(server):
    server.fail_next("job_submit", count=100, status=502)
    row = _ibm_row({"backend.backoff_s": 0.0, "backend.max_retries": 1})
    assert row["status"] == "error"
    assert "submitting a job failed after 2 attempt(s)" in row["error"]


def test_ibm_failed_and_cancelled_jobs_become_error_rows(server):
    server.fail_next_job("calibration drift on qubit 3")
    row = _ibm_row()
    assert row["status"] == "error"
    assert "failed" in row["error"] and "calibration drift on qubit 3" in row["error"]
    failed = server.submitted_jobs()[0].id
    assert failed in row["error"]
    server.cancel_next_job("cancelled by an admin")
    row = _ibm_row(seed=1)
    assert row["status"] == "error" and "was cancelled" in row["error"]


def test_ibm_unknown_backend_and_missing_credentials():
    with fake_ibm.fake_ibm_service() as srv, fake_ibm.credentials_env(srv):
        row = _ibm_row({"backend": "ibm:ibm_nowhere"})
        assert row["status"] == "error" and "no such backend" in row["error"]
    with fake_ibm.fake_ibm_service() as srv, fake_ibm.isolated_account_config():
        row = _ibm_row()
        assert row["status"] == "error"
        assert "no usable IBM Quantum credentials" in row["error"]
        assert not srv.requests


def test_ibm_device_backend_is_the_real_client(server):
    backend = get_backend("ibm:ibm_fake_manila")
    assert isinstance(backend, DeviceBackend)
    assert type(backend.device).__name__ == "IBMBackend"
    assert backend.n_device_qubits == 5


# -- dry runs: estimates before anything is submitted ---------------------------------------


def test_hardware_smoke_suite_dry_run_estimates_usage_without_connecting():
    from qbench.suite import load_suite

    with fake_ibm.fake_ibm_service() as srv:
        rows = load_suite("suites/hardware-smoke.toml").dry_run()
        assert not srv.requests  # validation and estimates make no request
    device = [r for r in rows if r["backend"] == "ibm:least_busy"]
    assert {r["solver"] for r in device} == {"qaoa", "cvar_vqe", "pce", "qrao"}
    for r in device:
        assert r["fits"] and r["circuits"] > 0 and r["shots"] == r["circuits"] * 1000
        assert r["est_qpu_s"] > 0
    by = {r["solver"]: r for r in device}
    # PCE reads three bases (+ the TREX calibration) per evaluation, CVaR-VQE one circuit
    assert by["pce"]["circuits"] == 4 * (30 + 2) and by["cvar_vqe"]["circuits"] == 20 + 2
    assert by["pce"]["n_qubits"] == 3 and by["qaoa"]["n_qubits"] == 6


def test_solve_dry_run_refuses_a_circuit_wider_than_the_device(capsys):
    from qbench.cli import main

    code = main(["solve", "1tc.8", "--solver", "qaoa", "--set", "backend=ibm_local:fake_manila",
                 "--dry-run"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1 and "needs 8 qubits but the device has 5" in out
    args = ["--set", "backend=aer_noisy:fake_torino", "--set", "backend.mitigation=trex"]
    code = main(["solve", "1tc.8", "--solver", "qaoa", *args, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "aer_noisy:fake_torino" in out


def test_ibm_failed_status_polls_are_waited_out_not_resubmitted(server):
    server.fail_next("job_get", count=8, status=503)  # beyond the client's own retries
    row = _ibm_row({"backend.backoff_s": 0.0})
    assert row["status"] in ("ok", "infeasible"), row["error"]
    assert row["jobs"] == len(server.submitted_jobs())  # every job submitted once


def test_ibm_job_that_times_out_is_cancelled(server):
    server.polls_queued = 10**6  # the job never leaves the queue
    row = _ibm_row({"backend.job_timeout_s": 0.3})
    assert row["status"] == "error" and "timed out" in row["error"]
    assert server.requests_to("job_cancel")


def test_suite_backend_options_are_validated_with_their_key_path(tmp_path):
    from qbench.suite import load_suite

    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\ninstances = ["1tc.8"]\n[[solvers]]\nname = "qaoa"\n'
        'backend = "aer_noisy:fake_torino"\n'
        'backend_options = {mitigation = ["none", "zne"], routing = "default"}\n'
    )
    with pytest.raises(ConfigError, match=r"solvers\[0\]\.backend_options\.mitigation: .*'zne'"):
        load_suite(path)
    path.write_text(path.read_text().replace('"zne"', '"trex"'))
    suite = load_suite(path)
    assert len(suite.runs) == 2  # the list sweeps
    assert {r.params["backend.mitigation"] for r in suite.runs} == {"none", "trex"}
    assert len({r.run_id for r in suite.runs}) == 2
