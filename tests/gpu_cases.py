"""The GPU engine against the CPU engine and qiskit, run by tests/test_gpu.py in a subprocess.

Not collected by a plain ``pytest`` run (no ``test_`` prefix): numba's CUDA simulator must be
switched on (``NUMBA_ENABLE_CUDASIM=1``) before numba.cuda is first imported, so this module
runs in a process of its own — under the simulator on machines without a GPU, on the device
where there is one (``QBENCH_GPU_TEST_N`` sets the qubit count, default 5).
"""

import math
import os

import numpy as np
import pytest
import scipy.sparse as sp

from qbench.errors import ConfigError, ResourceError
from qbench.hardware import get_backend
from qbench.hardware.base import QAOAAnsatz
from qbench.hardware.exact import ExactBackend, engine, gpu
from qbench.hardware.exact.gpu import CX, CZ, ONE_Q, XY
from qbench.program import BinaryProgram

if not gpu.engine_ready():
    pytest.skip("no GPU and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True)

N = int(os.environ.get("QBENCH_GPU_TEST_N", "5"))
TOL = {"complex128": 1e-11, "complex64": 2e-5}


def qubo(n: int, seed: int) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    quad = sp.csr_matrix(np.triu(rng.normal(size=(n, n)), k=1))
    return BinaryProgram(linear=rng.normal(size=n), quadratic=quad, constant=0.7)


def ansatz(mixer: str, p: int) -> QAOAAnsatz:
    q = qubo(N, 1)
    if mixer == "warm":
        return QAOAAnsatz(q, p=p, mixer="warm", warm_start=np.linspace(0.1, 0.9, N))
    if mixer == "xy_ring":
        return QAOAAnsatz(q, p=p, mixer="xy_ring", groups=[[0, 1, 2], list(range(3, N))],
                          initial_state=0b1001)  # fmt: skip
    if mixer == "xy_complete":
        return QAOAAnsatz(q, p=p, mixer="xy_complete", groups=[list(range(N - 1))],
                          initial_state=0b10)  # fmt: skip
    return QAOAAnsatz(q, p=p, multi_angle=mixer == "ma")


CASES = [  # (mixer, p, block_bits): 3 forces several passes with high qubits
    ("x", 1, None), ("x", 2, None), ("x", 2, 0), ("x", 2, 3), ("warm", 2, None),
    ("xy_ring", 2, None), ("xy_ring", 1, 3), ("xy_ring", 1, 0), ("xy_complete", 1, None),
    ("ma", 1, None), ("ma", 1, 0),
]  # fmt: skip


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize(("mixer", "p", "block_bits"), CASES)
def test_qaoa_matches_the_cpu_engine(mixer, p, block_bits, dtype):
    from qbench.hardware.exact import gpu_ansatz

    a = ansatz(mixer, p)
    params = np.random.default_rng(p).uniform(-1, 1, a.n_params)
    ref = engine.simulate(a, params, engine="numpy")
    state = gpu_ansatz.simulate(a, params, dtype, block_bits)
    assert state.dtype == np.dtype(dtype) and state.shape == (1 << N,)
    assert np.abs(state - ref).max() < TOL[dtype]
    e = gpu_ansatz.energy(a, params, dtype, block_bits)
    assert abs(e - engine.energy(a, params, engine="numpy")) < 10 * TOL[dtype]


def test_backend_and_spec_route_qaoa_to_the_gpu():
    a = ansatz("x", 2)
    params = np.array([0.3, -0.5, 0.7, 0.2])
    cpu = ExactBackend(engine="numpy")
    for backend in (ExactBackend(engine="gpu"), get_backend("exact:gpu")):
        assert backend.engine == "gpu" and backend.info()["engine"] == "gpu"
        backend.check(a)
        assert abs(backend.expectation(a, params) - cpu.expectation(a, params)) < 1e-11
        got = backend.distribution(a, params).probs
        assert np.abs(got - cpu.distribution(a, params).probs).max() < 1e-12
    with pytest.raises(ConfigError, match="unknown engine"):
        get_backend("exact:cuda")


def test_energy_is_reproducible_and_follows_a_new_problem():
    a, b = ansatz("x", 1), QAOAAnsatz(qubo(N, 9), p=1)
    params = np.array([0.4, 0.3])
    first = engine.energy(a, params, engine="gpu")
    assert engine.energy(a, params, engine="gpu") == first  # fixed-order reduction
    assert abs(engine.energy(b, params, engine="gpu") - engine.energy(b, params, "complex128",
               "numpy")) < 1e-11  # fmt: skip
    assert engine.energy(a, params, engine="gpu") == first


def random_circuit(n: int, seed: int):
    """A gate list and the same circuit in qiskit: U, RY, RZ, CX, CZ and XY rotations."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import XXPlusYYGate
    from qiskit.quantum_info import random_unitary

    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    kinds, q0, q1, mats = [], [], [], []
    for layer in range(3):
        for q in range(n):
            u = random_unitary(2, seed=int(rng.integers(1 << 30))).data
            qc.unitary(u, [q])
            kinds.append(ONE_Q), q0.append(q), q1.append(q), mats.append(u)
        for a in range(layer % 2, n - 1, 2):
            b = int(rng.integers(n))
            b = b if b != a else (a + 1) % n
            kind = [CX, CZ, XY][(a + layer) % 3]
            beta = float(rng.uniform(-2, 2))
            mat = np.array([[math.cos(beta), -1j * math.sin(beta)], [0, 0]])
            if kind == CX:
                qc.cx(a, b)
            elif kind == CZ:
                qc.cz(a, b)
            else:
                qc.append(XXPlusYYGate(2 * beta, 0.0), [a, b])
            kinds.append(kind), q0.append(a), q1.append(b), mats.append(mat)
    qc.ry(0.3, 0)
    qc.rz(-0.8, n - 1)
    for q, m in ((0, [[math.cos(0.15), -math.sin(0.15)], [math.sin(0.15), math.cos(0.15)]]),
                 (n - 1, np.diag([np.exp(0.4j), np.exp(-0.4j)]))):  # fmt: skip
        kinds.append(ONE_Q), q0.append(q), q1.append(q), mats.append(np.asarray(m, complex))
    return (kinds, q0, q1, np.array(mats)), qc


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("block_bits", [None, 0, 3])
def test_gate_lists_match_qiskit_statevector(dtype, block_bits):
    from qiskit.quantum_info import Statevector

    ops, qc = random_circuit(N, 5)
    ref = Statevector(qc).data
    state = gpu.circuit_state(N, *ops, dtype, block_bits=block_bits)
    assert np.abs(state - ref).max() < TOL[dtype]
    q = qubo(N, 2)
    h, qs = q.linear, q.quadratic.toarray() + q.quadratic.toarray().T
    e = gpu.circuit_energy(N, *ops, h, qs, q.constant, dtype, block_bits=block_bits)
    from qbench.encoders.ising import cost_vector

    assert abs(e - float(np.abs(ref) ** 2 @ cost_vector(q))) < 10 * TOL[dtype]


def test_refusals_name_the_numbers():
    q = qubo(N, 3)
    h, qs = q.linear, q.quadratic.toarray() + q.quadratic.toarray().T
    amps = np.full((N, 2), 2**-0.5)
    mix = np.stack([np.eye(2)] * N)
    with pytest.raises(
        ResourceError, match=rf"n={N} qubits .* needs 64\.0 MiB .* max_bytes is 1000 bytes"
    ):
        gpu.qaoa_energy(h, qs, 0.0, amps, [(0.1, mix)], max_bytes=1000)
    with pytest.raises(ValueError, match="unknown gate kind 2"):
        gpu.circuit_state(N, [2], [0], [1], np.eye(2)[None])
    with pytest.raises(ValueError, match="two different qubits"):
        gpu.circuit_state(N, [CX], [1], [1], np.eye(2)[None])
    with pytest.raises(ValueError, match="shape"):
        gpu.qaoa_energy(h, qs, 0.0, amps[1:], [(0.1, mix)])
