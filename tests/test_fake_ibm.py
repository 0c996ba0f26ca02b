"""Tests of the offline IBM Quantum Platform fake (tests/fake_ibm.py).

They drive the real qiskit-ibm-runtime client classes against the fake, to show that the
fake answers every request the client makes and in the format the client decodes.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

import pytest
import requests
from fake_ibm import (
    DEFAULT_BACKEND_NAME,
    DEFAULT_CRN,
    DEFAULT_TOKEN,
    FakeIBMServer,
    credentials_env,
    fake_ibm_service,
    isolated_account_config,
)
from qiskit import QuantumCircuit
from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import Batch, QiskitRuntimeService, Session
from qiskit_ibm_runtime.accounts import AccountNotFoundError, InvalidAccountError
from qiskit_ibm_runtime.exceptions import (
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
)
from qiskit_ibm_runtime.executor_sampler import Sampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeNairobiV2

SHOTS = 1000


def _service() -> QiskitRuntimeService:
    return QiskitRuntimeService(
        channel="ibm_quantum_platform", token=DEFAULT_TOKEN, instance=DEFAULT_CRN
    )


def _bell(backend) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)


def _ghz3(backend) -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure_all()
    return generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_service_and_backend_lookup_match_fake_device() -> None:
    with fake_ibm_service() as srv:
        service = _service()
        backend = service.backend(DEFAULT_BACKEND_NAME)
        ref = FakeManilaV2().target
        assert backend.name == DEFAULT_BACKEND_NAME
        assert backend.target.num_qubits == ref.num_qubits == 5
        assert set(backend.target.operation_names) == set(ref.operation_names)
        assert {"cx", "rz", "sx", "x"} <= set(backend.target.operation_names)
        assert sorted(backend.coupling_map.get_edges()) == sorted(
            ref.build_coupling_map().get_edges()
        )
        assert backend.status().operational
        assert service.active_instance() == DEFAULT_CRN
    hit = {r.endpoint for r in srv.requests}
    assert {"iam_token", "global_search", "backends", "backend_configuration"} <= hit
    assert all(r.headers.get("Service-CRN") == DEFAULT_CRN for r in srv.requests_to("backends"))


def test_several_devices_are_served() -> None:
    with fake_ibm_service(devices=[FakeManilaV2(), FakeNairobiV2()]):
        service = _service()
        names = sorted(b.name for b in service.backends())
        assert names == ["ibm_fake_manila", "ibm_fake_nairobi"]
        assert service.backend("ibm_fake_nairobi").num_qubits == 7


def test_job_mode_bell_counts_and_job_lookup() -> None:
    with fake_ibm_service() as srv:
        service = _service()
        backend = service.backend(DEFAULT_BACKEND_NAME)
        job = Sampler(mode=backend).run([_bell(backend)], shots=SHOTS)
        counts = job.result()[0].data.meas.get_counts()
        assert sum(counts.values()) == SHOTS
        assert counts.get("00", 0) + counts.get("11", 0) > 0.85 * SHOTS
        assert job.status() == "DONE"
        # a second submit gets a new id; retrieval by id goes through GET /jobs/{id}
        job2 = Sampler(mode=backend).run([_bell(backend)], shots=10)
        assert job2.job_id() != job.job_id()
        again = service.job(job.job_id())
        assert again.result()[0].data.meas.num_shots == SHOTS
    submit = srv.requests_to("job_submit")[0].json
    assert submit["program_id"] == "executor"
    assert submit["backend"] == DEFAULT_BACKEND_NAME
    assert "session_id" not in submit
    assert srv.jobs[job.job_id()].session_id is None


def test_ghz_three_qubits() -> None:
    with fake_ibm_service():
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        counts = Sampler(mode=backend).run([_ghz3(backend)], shots=SHOTS).result()[0]
        counts = counts.data.meas.get_counts()
        assert sum(counts.values()) == SHOTS
        assert counts.get("000", 0) + counts.get("111", 0) > 0.8 * SHOTS


def test_status_goes_queued_running_done() -> None:
    with fake_ibm_service(polls_queued=1, polls_running=1) as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        job = Sampler(mode=backend).run([_bell(backend)], shots=100)
        seen = [job.status(), job.status(), job.status()]
        assert seen == ["QUEUED", "RUNNING", "DONE"]
        assert srv.jobs[job.job_id()].final_status == "Completed"


def test_session_jobs_carry_session_id() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        circuit = _bell(backend)
        with Session(backend=backend) as session:
            job = Sampler(mode=session).run([circuit], shots=200)
            assert sum(job.result()[0].data.meas.get_counts().values()) == 200
            sid = session.session_id
            assert session.details()["mode"] == "dedicated"
    created = srv.requests_to("session_create")
    assert len(created) == 1
    assert created[0].json["mode"] == "dedicated"
    assert created[0].json["backend"] == DEFAULT_BACKEND_NAME
    assert srv.requests_to("job_submit")[0].json["session_id"] == sid
    assert job.session_id == sid
    closes = srv.requests_to("session_close")
    assert [c.path for c in closes] == [f"/api/v1/sessions/{sid}"]
    assert closes[0].json == {"accepting_jobs": False}
    assert not srv.sessions[sid].accepting_jobs


def test_batch_jobs_carry_batch_id_and_mode() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        circuit = _bell(backend)
        with Batch(backend=backend) as batch:
            sampler = Sampler(mode=batch)
            jobs = [sampler.run([circuit], shots=100) for _ in range(2)]
            results = [j.result() for j in jobs]
            bid = batch.session_id
    assert all(sum(r[0].data.meas.get_counts().values()) == 100 for r in results)
    assert srv.requests_to("session_create")[0].json["mode"] == "batch"
    assert srv.sessions[bid].mode == "batch"
    assert [r.json["session_id"] for r in srv.requests_to("job_submit")] == [bid, bid]
    assert srv.requests_to("session_close")[0].path.endswith(bid)


@pytest.mark.parametrize("status", [502, 503, 520])
def test_transient_submit_error_is_retried_by_client(status: int) -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        srv.fail_next("job_submit", 1, status=status)
        job = Sampler(mode=backend).run([_bell(backend)], shots=50)
        assert job.result()[0].data.meas.num_shots == 50
    attempts = srv.requests_to("job_submit")
    assert [a.status for a in attempts] == [status, 200]
    assert len(srv.jobs) == 1


def test_two_transient_errors_then_success() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        srv.fail_next("job_submit", 2, status=502)
        srv.fail_next("job_get", 1, status=504)
        job = Sampler(mode=backend).run([_bell(backend)], shots=50)
        assert job.result()[0].data.meas.num_shots == 50
    assert [a.status for a in srv.requests_to("job_submit")] == [502, 502, 200]
    assert [a.status for a in srv.requests_to("job_get")][:2] == [504, 200]


def test_exhausted_retries_surface_and_caller_retry_succeeds() -> None:
    with fake_ibm_service(fast_retries=True) as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        circuit = _bell(backend)
        srv.fail_next("job_submit", 6, status=502)
        with pytest.raises(IBMRuntimeError, match="Failed to run program"):
            Sampler(mode=backend).run([circuit], shots=20)
        assert len(srv.requests_to("job_submit")) == 6  # 1 try + 5 client retries
        job = Sampler(mode=backend).run([circuit], shots=20)
        assert job.result()[0].data.meas.num_shots == 20


def test_failed_job_raises_with_server_message() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        srv.fail_next_job("Qubit 3 lost calibration")
        job = Sampler(mode=backend).run([_bell(backend)], shots=20)
        with pytest.raises(RuntimeJobFailureError, match="Qubit 3 lost calibration"):
            job.result()
        assert job.status() == "ERROR"
        assert "Qubit 3 lost calibration" in job.error_message()
        ok = Sampler(mode=backend).run([_bell(backend)], shots=20)  # knob is one-shot
        assert ok.status() == "DONE"


def test_cancelled_job_raises_invalid_state() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        srv.cancel_next_job()
        job = Sampler(mode=backend).run([_bell(backend)], shots=20)
        with pytest.raises(RuntimeInvalidStateError, match="cancelled"):
            job.result()
        assert job.status() == "CANCELLED"


def test_client_cancel_of_queued_job() -> None:
    with fake_ibm_service(polls_queued=100) as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        job = Sampler(mode=backend).run([_bell(backend)], shots=20)
        assert job.status() == "QUEUED"
        job.cancel()
        assert srv.jobs[job.job_id()].final_status == "Cancelled"
        assert len(srv.requests_to("job_cancel")) == 1
        with pytest.raises(RuntimeInvalidStateError):
            job.result()


def test_metrics_and_usage_follow_timing_model() -> None:
    with fake_ibm_service(queue_seconds=2.5, qpu_overhead_seconds=0.5) as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        job = Sampler(mode=backend).run([_bell(backend)], shots=SHOTS)
        job.result()
        metrics = job.metrics()
        stamps = metrics["timestamps"]
        queue = (_parse(stamps["running"]) - _parse(stamps["created"])).total_seconds()
        qpu = metrics["usage"]["quantum_seconds"]
        run = (_parse(stamps["finished"]) - _parse(stamps["running"])).total_seconds()
        assert queue == pytest.approx(2.5, abs=2e-3)
        # overhead + shots * (rep_delay 250 us + circuit time)
        assert 0.5 + SHOTS * 250e-6 <= qpu < 0.5 + SHOTS * 300e-6
        assert run == pytest.approx(qpu, abs=2e-3)
        assert job.usage() == pytest.approx(qpu)
        assert job.usage_estimation["quantum_seconds"] == pytest.approx(qpu)
        assert _service().usage()["usage_consumed_seconds"] == pytest.approx(qpu)
    assert srv.usage_consumed_seconds() == pytest.approx(qpu)


def test_unknown_backend_raises_client_error() -> None:
    with fake_ibm_service():
        service = _service()
        with pytest.raises(QiskitBackendNotFoundError, match="No backend matches"):
            service.backend("ibm_does_not_exist")


def test_credentials_from_environment() -> None:
    with fake_ibm_service() as srv, credentials_env(srv):
        assert os.environ["QISKIT_IBM_TOKEN"] == DEFAULT_TOKEN
        service = QiskitRuntimeService()
        assert service.channel == "ibm_quantum_platform"
        assert service.active_instance() == DEFAULT_CRN
        assert service.backend(DEFAULT_BACKEND_NAME).num_qubits == 5


def test_no_credentials_raises_account_not_found(tmp_path, monkeypatch) -> None:
    for var in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_URL"):
        monkeypatch.delenv(var, raising=False)
    with fake_ibm_service(isolate_accounts=False) as srv, isolated_account_config(tmp_path):
        with pytest.raises(AccountNotFoundError, match="Unable to find account"):
            QiskitRuntimeService()
        with pytest.raises(AccountNotFoundError):
            QiskitRuntimeService(channel="ibm_quantum_platform")
    assert srv.requests == []  # failed before any HTTP request


def test_wrong_token_is_rejected_by_fake_iam() -> None:
    with fake_ibm_service() as srv, pytest.raises(InvalidAccountError, match="valid API token"):
        QiskitRuntimeService(
            channel="ibm_quantum_platform", token="wrong-token", instance=DEFAULT_CRN
        )
    assert [r.status for r in srv.requests_to("iam_token")][0] == 400


def test_unexpected_url_and_real_network_are_blocked() -> None:
    with (
        pytest.raises(AssertionError, match="GET https://example.com/x"),
        fake_ibm_service() as srv,
    ):
        with pytest.raises(AssertionError, match="unexpected request GET https://example.com/x"):
            requests.get("https://example.com/x", timeout=1)
        with pytest.raises(AssertionError, match="DNS lookup"):
            socket.create_connection(("example.com", 80), timeout=1)
        assert srv.unexpected


def test_server_object_can_be_passed_in() -> None:
    server = FakeIBMServer(seed=7, noiseless=True)
    with fake_ibm_service(server) as srv:
        assert srv is server
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        counts = Sampler(mode=backend).run([_bell(backend)], shots=200).result()[0]
        assert set(counts.data.meas.get_counts()) <= {"00", "11"}


def test_dropped_connection_on_status_poll_is_retried() -> None:
    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        srv.fail_next("job_get", 1, status=None)
        job = Sampler(mode=backend).run([_bell(backend)], shots=30)
        assert job.result()[0].data.meas.num_shots == 30
    assert [r.status for r in srv.requests_to("job_get")][:2] == [-1, 200]


def test_twirled_parametric_pub_runs_samplex_item() -> None:
    from qiskit.circuit import Parameter

    with fake_ibm_service() as srv:
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        theta = Parameter("t")
        qc = QuantumCircuit(2)
        qc.ry(theta, 0)
        qc.cx(0, 1)
        qc.measure_all()
        isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)
        sampler = Sampler(mode=backend)
        sampler.options.twirling.enable_gates = True
        result = sampler.run([(isa, [[0.0], [3.14159]])], shots=200).result()[0]
        bits = result.data.meas
        assert bits.shape == (2,)
        zero, pi = bits.get_counts(0), bits.get_counts(1)
        # twirling rounds the shots up to whole randomizations (client-side)
        assert sum(zero.values()) == sum(pi.values()) == bits.num_shots >= 200
        assert zero.get("00", 0) > 0.8 * bits.num_shots
        assert pi.get("11", 0) > 0.8 * bits.num_shots
    assert srv.jobs[next(iter(srv.jobs))].params["quantum_program"]["items"][0]["item_type"] == (
        "samplex"
    )


def test_non_isa_circuit_fails_like_the_real_service() -> None:
    with fake_ibm_service():
        backend = _service().backend(DEFAULT_BACKEND_NAME)
        qc = QuantumCircuit(3)
        qc.h(0)
        qc.cx(0, 2)
        qc.measure_all()
        job = Sampler(mode=backend).run([qc], shots=10)
        with pytest.raises(RuntimeJobFailureError, match="not ISA"):
            job.result()
