"""The MPS cost model: bond-dimension bounds from a circuit's two-qubit gates, and the pace
check that refuses a variational budget that would not finish in a run's time limit."""

import time

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qbench import pace
from qbench.errors import ResourceError
from qbench.hardware.circuits import vqe_ansatz
from qbench.hardware.mps import bond_logs, mps_cost, two_qubit_gates


def schmidt_log2(state: np.ndarray, n: int, cut: int) -> int:
    """log2 of the Schmidt rank between qubits 0..cut and cut+1..n-1 (qiskit's little endian:
    qubit q is bit q of the index, so the left block is the low bits)."""
    matrix = state.reshape(2 ** (n - cut - 1), 2 ** (cut + 1))
    rank = np.linalg.matrix_rank(matrix, tol=1e-10)
    return int(np.ceil(np.log2(rank)))


@pytest.mark.parametrize("kind,reps,entanglement", [
    ("real_amplitudes", 1, "linear"), ("real_amplitudes", 2, "circular"),
    ("ry_rz_cx", 3, "linear"), ("efficient_su2", 2, "full"),
])  # fmt: skip
def test_the_bond_bound_holds_for_random_hardware_efficient_circuits(kind, reps, entanglement):
    """Brute force on 7 qubits: the exact Schmidt rank at every cut never exceeds the bound,
    and for chains of CX it is reached at random angles (the bound is what MPS memory needs)."""
    n = 7
    qc = vqe_ansatz(kind, n, reps, entanglement).decompose()
    qc = qc.assign_parameters(np.random.default_rng(1).uniform(-np.pi, np.pi, qc.num_parameters))
    state = Statevector(qc).data
    logs = bond_logs(n, two_qubit_gates(qc))
    exact = [schmidt_log2(state, n, k) for k in range(n - 1)]
    assert all(e <= b for e, b in zip(exact, logs))
    if entanglement == "linear":
        assert exact == logs.tolist()


def test_diagonal_blocks_count_the_qubits_they_touch_not_the_gates():
    """Three CZ gates from qubit 0 across the middle cut add one bond bit (one qubit on the
    left), not three; the bound is flagged loose."""
    qc = QuantumCircuit(4)
    qc.h(range(4))
    for b in (1, 2, 3):
        qc.cz(0, b)
    gates = two_qubit_gates(qc)
    assert gates == [(0, 1, True), (0, 2, True), (0, 3, True)]
    assert bond_logs(4, gates).tolist() == [1, 1, 1]
    assert not mps_cost(4, gates, 100).tight
    qc.rx(0.3, 0)  # a non-diagonal gate ends the block: the next CZ adds again
    qc.cz(0, 1)
    assert bond_logs(4, two_qubit_gates(qc)).tolist() == [1, 1, 1]  # capped by min(k+1, n-k-1)


def test_cost_grows_with_shots_and_bond_dimension():
    chain = [(k, k + 1, False) for k in range(29)]
    one = mps_cost(30, chain, 1000)
    assert one.tight and one.max_bond_log2 == 1
    assert mps_cost(30, chain, 10000).seconds > one.seconds
    deeper = mps_cost(30, chain * 6, 1000)
    assert deeper.max_bond_log2 == 6 and deeper.memory_bytes > one.memory_bytes


def test_pace_refuses_a_budget_that_would_outlast_the_limit():
    calls = []

    def slow(x):
        calls.append(x)
        time.sleep(0.05)
        return 0.0

    pace.start(1.0)
    try:
        paced = pace.Paced(slow, 200, "vqe on aer_mps (60 qubits)")
        assert paced(0) == 0.0  # the first call (one-time costs) is not judged
        with pytest.raises(ResourceError, match=r"an evaluation takes .* 200 evaluations need "
                           r"about .* beyond the run's time limit of 1 s"):  # fmt: skip
            paced(1)
        ok = pace.Paced(slow, 3, "vqe")
        assert [ok(1), ok(2), ok(3)] == [0.0, 0.0, 0.0]
    finally:
        pace.start(None)
    assert pace.remaining() is None
    assert pace.Paced(slow, 10**9, "no limit")(3) == 0.0
