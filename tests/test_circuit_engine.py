"""The in-house engine for parameterised circuits (hardware/exact/circuit.py) against qiskit's
Statevector and Aer: states, fused energies, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import efficient_su2, real_amplitudes
from qiskit.quantum_info import Statevector

from qbench.hardware.base import CircuitAnsatz
from qbench.hardware.circuits import brickwork_ansatz, vqe_ansatz
from qbench.hardware.exact import ExactBackend
from qbench.hardware.exact.circuit import compile_circuit, run_circuit
from qbench.hardware.exact.engine import aer_circuit_state, circuit_engine, circuit_state
from qbench.hardware.exact.kernels import HAVE_NUMBA
from qbench.program import BinaryProgram

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the circuit engine runs on numba")


def ours(qc: QuantumCircuit, x: np.ndarray, block: int = 13, dtype=np.complex128) -> np.ndarray:
    compiled = compile_circuit(qc, block)
    assert compiled is not None
    return run_circuit(compiled, x, np.dtype(dtype))[0]


def exotic() -> QuantumCircuit:
    """Gates reached through definitions (cp, swap, rzz, sx, h), affine expressions, U with two
    parameters, a constant angle and a global phase."""
    t, u = Parameter("t"), Parameter("u")
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cp(2 * t + 1, 0, 1)
    qc.swap(1, 2)
    qc.rzz(u, 0, 2)
    qc.u(t, u, 0.3, 1)
    qc.sx(2)
    qc.cz(2, 0)
    qc.rx(-u / 3, 2)
    qc.global_phase = 0.4
    return qc


CIRCUITS = {
    "efficient_su2": lambda n: efficient_su2(n, reps=2),
    "real_amplitudes_circular": lambda n: real_amplitudes(n, reps=3, entanglement="circular"),
    "ry_rz_cx_full": lambda n: vqe_ansatz("ry_rz_cx", n, 2, "full"),
    "brickwork_cz": lambda n: brickwork_ansatz(n, 3, "cz"),
}


@pytest.mark.parametrize("kind", sorted(CIRCUITS))
@pytest.mark.parametrize("n", [2, 5, 9])
def test_states_equal_qiskit_statevector(kind, n):
    qc = CIRCUITS[kind](n)
    x = np.random.default_rng(n).uniform(-np.pi, np.pi, qc.num_parameters)
    ref = Statevector(qc.assign_parameters(x)).data
    assert np.abs(ours(qc, x) - ref).max() < 1e-12


def test_gates_through_definitions_and_global_phase():
    qc = exotic()
    for x in np.random.default_rng(0).uniform(-3, 3, (4, 2)):
        ref = Statevector(qc.assign_parameters(x)).data
        assert np.abs(ours(qc, x) - ref).max() < 1e-12  # phase included


@pytest.mark.parametrize("block", [4, 6, 13])
def test_several_passes_equal_one(block):
    """A 10-qubit circuit split over passes of 4 and 6 local qubits gives the state of one pass
    (and of qiskit) — the scheduling keeps the gate order."""
    qc = efficient_su2(10, reps=3, entanglement="circular")
    x = np.random.default_rng(1).uniform(-np.pi, np.pi, qc.num_parameters)
    compiled = compile_circuit(qc, block)
    assert len(compiled.passes) > 1 or block == 13
    ref = Statevector(qc.assign_parameters(x)).data
    assert np.abs(run_circuit(compiled, x, np.dtype(complex))[0] - ref).max() < 1e-12


def test_complex64_and_aer_agree():
    qc = real_amplitudes(12, reps=2, entanglement="circular")
    ansatz = CircuitAnsatz(qubo=None, qc=qc)
    x = np.random.default_rng(2).uniform(-np.pi, np.pi, qc.num_parameters)
    aer = aer_circuit_state(ansatz, x, np.dtype(np.complex128))
    assert circuit_engine(ansatz) == "numba"
    assert np.abs(circuit_state(ansatz, x, np.dtype(np.complex128)) - aer).max() < 1e-12
    narrow = circuit_state(ansatz, x, np.dtype(np.complex64))
    assert narrow.dtype == np.complex64 and np.abs(narrow - aer).max() < 1e-6


def test_uncompilable_circuits_run_through_aer():
    """Measurements and non-affine angles are not compiled; the state then comes from Aer."""
    t = Parameter("t")
    square = QuantumCircuit(2)
    square.ry(t * t, 0)
    square.cx(0, 1)
    assert compile_circuit(square, 13) is None
    ansatz = CircuitAnsatz(qubo=None, qc=square)
    assert circuit_engine(ansatz) == "aer"
    state = circuit_state(ansatz, np.array([0.7]), np.dtype(complex))
    assert np.abs(state - Statevector(square.assign_parameters([0.7])).data).max() < 1e-12
    measured = QuantumCircuit(1, 1)
    measured.measure(0, 0)
    assert compile_circuit(measured, 13) is None
    v = ParameterVector("v", 2)
    product = QuantumCircuit(1)
    product.rx(v[0] * v[1], 0)
    assert compile_circuit(product, 13) is None


def test_fused_energy_and_engine_choice_match_aer():
    """``ExactBackend.expectation`` of a VQE ansatz (energy fused into the last pass) equals
    Σ|ψ|²C of Aer's state, and ``engine="numpy"`` keeps Aer as the reference path."""
    n = 11
    rng = np.random.default_rng(3)
    q = np.triu(rng.normal(size=(n, n)), 1)
    qubo = BinaryProgram(linear=rng.normal(size=n), quadratic=q, constant=0.5)
    qc = vqe_ansatz("ry_rz_cx", n, 2, "circular")
    ansatz = CircuitAnsatz(qubo=qubo, qc=qc)
    x = rng.uniform(-np.pi, np.pi, qc.num_parameters)
    probs = np.abs(aer_circuit_state(ansatz, x, np.dtype(complex))) ** 2
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    ref = float(probs @ qubo.objective(bits))
    assert ExactBackend().expectation(ansatz, x) == pytest.approx(ref, abs=1e-10)
    assert ExactBackend(engine="numpy").expectation(ansatz, x) == pytest.approx(ref, abs=1e-10)
    assert circuit_engine(ansatz, "numpy") == "aer"
    with pytest.raises(ValueError, match="expected"):
        ExactBackend().expectation(ansatz, x[:-1])


def test_parameter_free_circuits():
    """A bound circuit (what QRAO's magic rounding and sampled read-outs simulate) runs too."""
    qc = efficient_su2(4, reps=1).assign_parameters(np.linspace(0.1, 1.6, 16))
    ref = Statevector(qc).data
    assert np.abs(ours(qc, np.zeros(0)) - ref).max() < 1e-12


def _random_pass(n: int, seed: int):
    """A one-pass gate list on n qubits: 1-qubit gates, then a run of CX/CZ, then more."""
    from qbench.hardware.exact.schedule import CX, CZ, ONE_Q, REAL, make_pass

    rng = np.random.default_rng(seed)

    def unitary():
        q, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
        return q

    gates = [(ONE_Q, (q,), unitary()) for q in rng.permutation(n)]
    for _ in range(7):
        a, b = rng.choice(n, 2, replace=False)
        gates.append((CX if rng.random() < 0.6 else CZ, (int(a), int(b)), np.zeros((2, 2))))
    gates += [(REAL, (q,), np.array([[0.6, -0.8], [0.8, 0.6]])) for q in rng.permutation(n)]
    return make_pass(n, set(range(n)), gates, n)


def test_folded_permutations_and_pair_order_keep_the_state():
    """A run of CX/CZ folded into one signed permutation, and a 1-qubit run reordered for
    pairing, give the state of the gates one by one."""
    from qbench.hardware.exact.schedule import PERM, fold_permutations, pair_order, run_pass

    n = 9
    rng = np.random.default_rng(4)
    start = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    for seed in range(3):
        plain, folded = _random_pass(n, seed), _random_pass(n, seed)
        keep = fold_permutations(folded)
        assert PERM in folded.kinds and folded.kinds.size == plain.kinds.size - 6
        assert folded.perm.shape == (1, 1 << n) and (folded.perm < 0).any() == (
            4 in plain.kinds  # a CZ negates some amplitudes
        )
        order = pair_order(folded)
        assert [folded.qa[k] for k in range(n)] == sorted(plain.qa[:n], reverse=True)
        assert len(order) == len(keep)
        a, b = start.copy(), start.copy()
        run_pass(a, plain, threads=1)
        run_pass(b, folded, threads=1)
        assert np.abs(a - b).max() < 1e-13


def test_compiled_layers_fold_into_the_initial_state_and_one_permutation():
    """A qubit's first 1-qubit op is written into the initial product state, and a CX ring is
    one permutation: real_amplitudes reps 1 is a single pass of one PERM and one RY layer."""
    from qbench.hardware.exact.schedule import PERM, REAL

    qc = real_amplitudes(6, reps=1, entanglement="circular")
    compiled = compile_circuit(qc, 13)
    (ps,) = compiled.passes
    assert list(ps.kinds) == [PERM] + [REAL] * 6
    assert (compiled.init_rows[:, 0] >= 0).all()
    x = np.random.default_rng(5).uniform(-np.pi, np.pi, qc.num_parameters)
    ref = Statevector(qc.assign_parameters(x)).data
    assert np.abs(run_circuit(compiled, x, np.dtype(complex))[0] - ref).max() < 1e-12
    layer = real_amplitudes(5, reps=0)  # one RY layer: the initial state alone, no gates
    compiled = compile_circuit(layer, 13)
    assert sum(p.kinds.size for p in compiled.passes) == 0
    x = np.linspace(-1, 1, 5)
    ref = Statevector(layer.assign_parameters(x)).data
    assert np.abs(run_circuit(compiled, x, np.dtype(complex))[0] - ref).max() < 1e-12


def test_one_pass_below_twenty_qubits_and_the_model_holds_its_buffers():
    """Below PARALLEL_MIN_QUBITS a circuit is one pass over the whole state; the memory model
    adds its buffers and tables (64 bytes per amplitude) there and nothing from 20 qubits on."""
    from qbench.hardware.exact.engine import (
        ONE_PASS_BYTES_PER_AMPLITUDE,
        PARALLEL_MIN_QUBITS,
        compiled_circuit,
        required_bytes,
    )

    ansatz = CircuitAnsatz(qubo=None, qc=real_amplitudes(14, reps=2, entanglement="circular"))
    compiled = compiled_circuit(ansatz)
    assert len(compiled.passes) == 1 and compiled.passes[0].lbits.size == 14
    for n in (14, PARALLEL_MIN_QUBITS):
        extra = required_bytes(n, kind="circuit") - required_bytes(n, kind="qaoa")
        assert extra == (ONE_PASS_BYTES_PER_AMPLITUDE << n if n < PARALLEL_MIN_QUBITS else 0)


def test_diagonals_and_cz_gather_into_one_sweep_per_layer():
    """RY·RZ layers with CZ bricks: each layer's RZs and the next CZs are one DIAG gate (the
    CZ signs in its table), the rest real; states equal qiskit's in one pass and in several,
    and the energy (which skips the last DIAG) equals Aer's."""
    from qbench.hardware.exact.schedule import DIAG, ONE_Q, REAL

    n = 7
    qc = brickwork_ansatz(n, 3, "cz")
    x = np.random.default_rng(6).uniform(-np.pi, np.pi, qc.num_parameters)
    ref = Statevector(qc.assign_parameters(x)).data
    for block in (n, 4):
        compiled = compile_circuit(qc, block)
        kinds = np.concatenate([ps.kinds for ps in compiled.passes])
        assert set(kinds) <= {DIAG, REAL, ONE_Q} and (kinds == REAL).sum() > (kinds == ONE_Q).sum()
        assert any(ps.dsign.shape[1] > 1 for ps in compiled.passes)  # CZ signs in a table
        assert np.abs(run_circuit(compiled, x, np.dtype(complex))[0] - ref).max() < 1e-12
    (ps,) = compile_circuit(qc, n).passes
    assert (ps.kinds == DIAG).sum() == 4 and ps.qb[ps.kinds == DIAG][-1] == 1  # last: skippable
    rng = np.random.default_rng(7)
    qubo = BinaryProgram(linear=rng.normal(size=n), quadratic=np.triu(rng.normal(size=(n, n)), 1))
    ansatz = CircuitAnsatz(qubo=qubo, qc=qc)
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    expected = float(np.abs(ref) ** 2 @ qubo.objective(bits))
    assert ExactBackend().expectation(ansatz, x) == pytest.approx(expected, abs=1e-10)
