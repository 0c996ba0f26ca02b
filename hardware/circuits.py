"""Qiskit circuits for the ansätze: QAOA (all mixers, multi-angle) and VQE, plus helpers.

:func:`qaoa_circuit` follows the conventions and the parameter layout documented on
:class:`~qbench.hardware.base.QAOAAnsatz` exactly, so the same parameter vector means the same
state on the in-house exact engine, on Aer and on hardware. Bit order is qiskit's: qubit i is
QUBO variable i and basis state ``s`` has ``x_i = (s >> i) & 1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector, ParameterVectorElement
from qiskit.circuit.library import XXPlusYYGate, efficient_su2, real_amplitudes

if TYPE_CHECKING:
    from qbench.hardware.base import QAOAAnsatz


#: VQE ansatz kinds accepted by :func:`vqe_ansatz`
VQE_KINDS = ("efficient_su2", "real_amplitudes", "ry_rz_cx")
#: entanglement patterns of the ry_rz_cx ansatz
RY_RZ_CX_ENTANGLEMENT = ("linear", "circular", "full")
#: the basis :func:`circuit_metrics` counts in
METRICS_BASIS = ("rz", "sx", "x", "cx")
#: above this many qubits basis states no longer fit an int64 and are Python ints instead


def xy_pairs(group: list[int], kind: str) -> list[tuple[int, int]]:
    """Qubit pairs of an XY mixer on one one-hot group, in the order QAOAAnsatz documents.

    ``"ring"``: pairs ``(a_k, a_{k+1})`` with even k first, then odd k, then the closing pair
    ``(a_{g-1}, a_0)`` (only for g >= 3: a ring of two has a single edge); ``"complete"``: all
    pairs in lexicographic order of their positions in the group.
    """
    g = len(group)
    if kind == "complete":
        return [(group[a], group[b]) for a in range(g) for b in range(a + 1, g)]
    if kind != "ring":
        raise ValueError(f"unknown XY pair kind {kind!r}; allowed: ring, complete")
    chain = [(group[k], group[k + 1]) for k in range(g - 1)]
    pairs = chain[0::2] + chain[1::2]
    if g >= 3:
        pairs.append((group[g - 1], group[0]))
    return pairs


def cost_terms(ansatz: QAOAAnsatz) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """The cost terms in ma-QAOA order: nonzero linear (variable order), then quadratic (csr)."""
    qubo = ansatz.qubo
    lin = np.flatnonzero(qubo.linear)
    q = qubo.quadratic
    rows = np.repeat(np.arange(q.shape[0]), np.diff(q.indptr))
    terms = [(int(i),) for i in lin] + [(int(i), int(j)) for i, j in zip(rows, q.indices)]
    coeffs = np.concatenate([qubo.linear[lin], q.data]).astype(float)
    return terms, coeffs


def qaoa_circuit(ansatz: QAOAAnsatz) -> QuantumCircuit:
    """The QAOA circuit of ``ansatz`` with one ParameterVector ``θ`` in the documented layout.

    ``qc.assign_parameters(params)`` binds a plain array in layout order (qiskit orders a
    vector's elements by index). Cost layer: ``P(-γ h_i)`` and ``CP(-γ Q_ij)`` in the QUBO basis,
    i.e. exactly ``exp(-i γ (C - constant))``; multi-angle gives each term its own γ. A
    parameter that acts on nothing (γ of a QUBO without terms) does not appear in
    ``qc.parameters``; the Aer backends bind by vector index, so they stay correct.
    """
    n, p = ansatz.n_qubits, ansatz.p
    mixer = ansatz.mixer
    if ansatz.multi_angle and mixer.startswith("xy"):
        raise ValueError("multi-angle QAOA is defined for the x and warm mixers (one β per qubit)")
    theta = ParameterVector("θ", ansatz.n_params)
    qc = QuantumCircuit(n, name=f"qaoa-p{p}-{mixer}" + ("-ma" if ansatz.multi_angle else ""))
    terms, coeffs = cost_terms(ansatz)
    warm = None
    if mixer == "warm":
        warm = ansatz.warm_thetas()
        for j in range(n):
            qc.ry(float(warm[j]), j)
    elif mixer.startswith("xy"):
        for j in range(n):
            if (int(ansatz.initial_state) >> j) & 1:
                qc.x(j)
    else:
        qc.h(range(n))
    block = len(terms) + n if ansatz.multi_angle else 0
    for layer in range(p):
        if ansatz.multi_angle:
            start = layer * block
            gammas = [theta[start + t] for t in range(len(terms))]
            betas = [theta[start + len(terms) + j] for j in range(n)]
        else:
            gammas = [theta[layer]] * len(terms)
            betas = [theta[p + layer]] * n
        for term, coeff, gamma in zip(terms, coeffs, gammas):
            if len(term) == 1:
                qc.p(-float(coeff) * gamma, term[0])
            else:
                qc.cp(-float(coeff) * gamma, term[0], term[1])
        if mixer == "x":
            for j in range(n):
                qc.rx(2 * betas[j], j)
        elif mixer == "warm":
            for j in range(n):
                qc.ry(-float(warm[j]), j)
                qc.rz(-2 * betas[j], j)
                qc.ry(float(warm[j]), j)
        else:
            kind = mixer.removeprefix("xy_")
            for group in ansatz.groups:
                for a, b in xy_pairs(list(group), kind):
                    # XXPlusYYGate(θ, 0) = exp(-i θ/4 (XX + YY)): θ = 2β gives the documented
                    # exp(-i β (XX + YY)/2)
                    qc.append(XXPlusYYGate(2 * betas[0], 0.0), [a, b])
    return qc


def vqe_ansatz(
    kind: str, n_qubits: int, reps: int = 1, entanglement: str = "linear"
) -> QuantumCircuit:
    """A hardware-efficient VQE ansatz: qiskit's efficient_su2 / real_amplitudes, or ry_rz_cx.

    ``ry_rz_cx`` (the comparative study's ansatz): per repetition RY(θ) then RZ(φ) on every
    qubit followed by CX gates (linear: the chain i→i+1; circular: plus n-1→0; full: all i<j),
    and a final RY/RZ layer; parameters ``θ`` of length ``2 n (reps + 1)``, layer by layer,
    RY angles of qubits 0..n-1 then RZ angles.
    """
    if n_qubits < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")
    if reps < 0:
        raise ValueError(f"reps must be >= 0, got {reps}")
    if kind == "efficient_su2":
        return efficient_su2(n_qubits, reps=reps, entanglement=entanglement)
    if kind == "real_amplitudes":
        return real_amplitudes(n_qubits, reps=reps, entanglement=entanglement)
    if kind != "ry_rz_cx":
        raise ValueError(f"unknown VQE ansatz {kind!r}; allowed: {', '.join(VQE_KINDS)}")
    if entanglement not in RY_RZ_CX_ENTANGLEMENT:
        raise ValueError(
            f"ry_rz_cx entanglement {entanglement!r} unknown; "
            f"allowed: {', '.join(RY_RZ_CX_ENTANGLEMENT)}"
        )
    n = n_qubits
    theta = ParameterVector("θ", 2 * n * (reps + 1))
    if entanglement == "full":
        links = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        links = [(i, i + 1) for i in range(n - 1)]
        if entanglement == "circular" and n > 2:
            links.append((n - 1, 0))
    qc = QuantumCircuit(n, name=f"ry_rz_cx-r{reps}")
    for layer in range(reps + 1):
        base = 2 * n * layer
        for j in range(n):
            qc.ry(theta[base + j], j)
        for j in range(n):
            qc.rz(theta[base + n + j], j)
        if layer < reps:
            for a, b in links:
                qc.cx(a, b)
    return qc


def circuit_metrics(qc: QuantumCircuit) -> dict:
    """Depth and gate counts of the logical circuit, transpiled to {rz, sx, x, cx} at level 0.

    Level 0 with no coupling map only unrolls high-level gates (no routing, no optimisation), so
    the numbers describe the circuit as built, comparable across ansätze. Parameters are bound
    to fixed non-zero values first: counts do not depend on them, and transpiling the symbolic
    global phase of a deep parameterised QAOA circuit takes minutes.
    """
    n_params = qc.num_parameters
    if n_params:
        qc = qc.assign_parameters(np.linspace(0.1, 0.9, n_params))
    flat = transpile(qc, basis_gates=list(METRICS_BASIS), optimization_level=0)
    ops = dict(flat.count_ops())
    two = sum(1 for inst in flat.data if inst.operation.num_qubits == 2)
    return {
        "n_qubits": qc.num_qubits,
        "n_params": n_params,
        "depth": flat.depth(),
        "two_qubit_depth": flat.depth(lambda inst: inst.operation.num_qubits == 2),
        "two_qubit_gates": two,
        "one_qubit_gates": sum(1 for inst in flat.data if inst.operation.num_qubits == 1),
        "ops": {str(k): int(v) for k, v in ops.items()},
        "basis": "+".join(METRICS_BASIS),
    }


#: two-qubit gates :func:`brickwork_ansatz` accepts
BRICKWORK_ENTANGLERS = ("cx", "cz")


def brickwork_ansatz(n_qubits: int, depth: int, entangler: str = "cx") -> QuantumCircuit:
    """A brickwork circuit: RY·RZ on every qubit, then ``depth`` layers of entanglers and rotations.

    Layer l applies the entangler to the neighbour pairs (q, q+1) with q ≡ l (mod 2) — the bricks
    of alternate layers are offset by one qubit, so two layers couple every neighbour pair and
    the light cone grows by one qubit per layer at two-qubit depth 1 per layer — followed by
    RY(θ) then RZ(φ) on every qubit. Parameters ``θ`` of length ``2 n (depth + 1)``, layer by
    layer: RY angles of qubits 0..n-1, then RZ angles (the layout of ``ry_rz_cx``).
    """
    if n_qubits < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    if entangler not in BRICKWORK_ENTANGLERS:
        raise ValueError(
            f"unknown entangler {entangler!r}; allowed: {', '.join(BRICKWORK_ENTANGLERS)}"
        )
    n = n_qubits
    theta = ParameterVector("θ", 2 * n * (depth + 1))
    qc = QuantumCircuit(n, name=f"brickwork-d{depth}")
    for layer in range(depth + 1):
        if layer:
            for q in range((layer - 1) % 2, n - 1, 2):
                getattr(qc, entangler)(q, q + 1)
        base = 2 * n * layer
        for j in range(n):
            qc.ry(theta[base + j], j)
        for j in range(n):
            qc.rz(theta[base + n + j], j)
    return qc


def parameter_index(ansatz, qc: QuantumCircuit, tqc: QuantumCircuit) -> np.ndarray:
    """Position in the ansatz's parameter layout of each parameter of ``tqc``, a transpiled
    ``qc``: the θ-vector index for QAOA, the order of ``qc.parameters`` otherwise."""
    if ansatz.kind == "qaoa":  # its circuit's θ vector is the layout itself
        position = {p: p.index for p in tqc.parameters if isinstance(p, ParameterVectorElement)}
    else:
        position = {p: k for k, p in enumerate(qc.parameters)}
    missing = [p for p in tqc.parameters if p not in position]
    if missing:
        raise ValueError(f"circuit parameters outside the ansatz layout: {missing}")
    return np.array([position[p] for p in tqc.parameters], dtype=np.int64)


def ising_form(qc: QuantumCircuit) -> QuantumCircuit:
    """``qc`` with every P/CP gate rewritten as RZ/RZZ rotations, equal up to global phase.

    ``P(λ) = e^{iλ/2} RZ(λ)`` and ``CP(λ) = e^{iλ/4} RZ(λ/2)⊗RZ(λ/2) · RZZ(−λ/2)``. Hardware
    transpilation needs this for parameterised QAOA: converting P/CP gives a symbolic global
    phase that grows with every gate, and transpiling it takes minutes from p = 2 on.
    """
    out = qc.copy_empty_like()
    out.global_phase = 0.0
    for inst in qc.data:
        name, qubits = inst.operation.name, inst.qubits
        if name == "p":
            out.rz(inst.operation.params[0], qubits[0])
        elif name == "cp":
            lam = inst.operation.params[0]
            out.rz(lam / 2, qubits[0])
            out.rz(lam / 2, qubits[1])
            out.rzz(-lam / 2, qubits[0], qubits[1])
        else:
            out.append(inst)
    return out
