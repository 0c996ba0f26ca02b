"""Transpile circuits to a device's ISA: qiskit's preset routing, or swap strategies for QAOA.

:func:`transpile_isa` runs qiskit's preset pass manager and reports depth, two-qubit gate count
and the SWAPs its routing inserted. :func:`transpile_qaoa_swap` routes the QAOA cost layers of a
standard (x or warm mixer) :class:`~qbench.hardware.base.QAOAAnsatz` with a line swap strategy
(qiskit's commuting-gate router) on a path of physical qubits found by :func:`line_layout`: on
dense QUBOs this needs far fewer two-qubit gates than generic routing, because all ZZ terms of a
cost layer commute and the router may apply each as soon as its qubits are adjacent.

Bit order is qiskit's throughout: with measurements, classical bit i is QUBO variable i whatever
permutation the SWAP layers leave behind (the router moves every later gate, measurements
included, with its virtual qubit); without them, the returned circuit's
``layout.final_index_layout()`` gives the physical qubit that holds variable i at the end.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterExpression, ParameterVector
from qiskit.circuit.library import CXGate, PauliEvolutionGate, RZGate, RZZGate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import (
    CouplingMap,
    Layout,
    PassManager,
    StagedPassManager,
    Target,
    generate_preset_pass_manager,
)
from qiskit.transpiler.basepasses import AnalysisPass, TransformationPass
from qiskit.transpiler.passes.routing.commuting_2q_gate_routing import (
    Commuting2qGateRouter,
    FindCommutingPauliEvolutions,
    SwapStrategy,
)

from qbench.hardware.base import QAOAAnsatz

#: layout methods :func:`transpile_isa` accepts by name (qiskit's layout stage plugins)
LAYOUT_METHODS = ("sabre", "dense", "trivial")
#: optimisation levels of qiskit's preset pass managers
OPTIMIZATION_LEVELS = (0, 1, 2, 3)
#: QAOA mixers :func:`transpile_qaoa_swap` supports (single-qubit mixers only)
SWAP_MIXERS = ("x", "warm")
#: DFS expansions per start qubit in :func:`line_layout` (bounds the search on large devices)
_LINE_SEARCH_BUDGET = 5000
#: complete paths :func:`line_layout` compares by error before choosing
_LINE_CANDIDATES = 32


class _CountSwaps(AnalysisPass):
    """Record the number of SWAP gates in the DAG under ``key`` of a caller-owned dict."""

    def __init__(self, store: dict, key: str) -> None:
        super().__init__()
        self.store = store
        self.key = key

    def run(self, dag: DAGCircuit) -> None:
        self.store[self.key] = int(dag.count_ops(recurse=True).get("swap", 0))


class _DropSymbolicPhase(TransformationPass):
    """Rewrite parameterised P and CP gates without their global phase.

    ``P(λ) = e^{iλ/2} RZ(λ)`` and ``CP(λ) = e^{iλ/4} RZ_a(λ/2) RZ_b(λ/2) RZZ(-λ/2)``: translating
    P/CP to an RZ basis adds ``λ/2`` to a symbolic global phase per gate, and that growing
    expression makes the BasisTranslator take minutes on a dense parameterised QAOA circuit
    (76 s for 8 qubits on a 133-qubit target). Dropping the phase leaves the state unchanged up
    to a global phase, which no sampler or estimator observes.
    """

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        for node in list(dag.op_nodes()):
            if node.op.name not in ("p", "cp") or not isinstance(
                node.op.params[0], ParameterExpression
            ):
                continue
            lam = node.op.params[0]
            sub = DAGCircuit()
            sub.add_qubits(list(node.qargs))
            if node.op.name == "p":
                sub.apply_operation_back(RZGate(lam), node.qargs)
            else:
                a, b = node.qargs
                sub.apply_operation_back(RZGate(lam / 2), (a,))
                sub.apply_operation_back(RZGate(lam / 2), (b,))
                sub.apply_operation_back(RZZGate(-lam / 2), (a, b))
            dag.substitute_node_with_dag(node, sub)
        return dag


class _MergeZZSwap(TransformationPass):
    """Fuse a ZZ evolution directly followed by a SWAP on the same pair into three CX gates.

    RZZ(θ) then SWAP equals, in time order, ``CX(a,b) RZ_b(θ) CX(b,a) CX(a,b)``: the naive
    ``CX RZ CX`` + ``CX CX CX`` has a cancelling CX(a,b) pair in the middle. The swap strategy
    puts each layer's ZZ gates right before the SWAP on the same edge (edge colouring), so this
    saves two CX per SWAP at every optimisation level instead of relying on later cancellation,
    which misses it for CZ/ECR targets at level 1.
    """

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        merged: dict[DAGOpNode, DAGOpNode] = {}
        for node in dag.op_nodes():
            if node.op.name != "swap":
                continue
            preds = set(dag.op_predecessors(node))
            if len(preds) != 1:
                continue
            pred = preds.pop()
            theta = _zz_angle(pred)
            if theta is not None and set(pred.qargs) == set(node.qargs):
                merged[node] = pred
        if not merged:
            return dag
        skip = set(merged.values())
        out = dag.copy_empty_like()
        for node in dag.topological_op_nodes():
            if node in skip:
                continue
            if node in merged:
                a, b = node.qargs
                out.apply_operation_back(CXGate(), (a, b))
                out.apply_operation_back(RZGate(_zz_angle(merged[node])), (b,))
                out.apply_operation_back(CXGate(), (b, a))
                out.apply_operation_back(CXGate(), (a, b))
            else:
                out.apply_operation_back(node.op, node.qargs, node.cargs)
        return out


def _zz_angle(node: DAGOpNode):
    """θ of a two-qubit ``exp(-i t c ZZ)`` PauliEvolutionGate as RZZ(θ) (θ = 2tc), else None."""
    op = node.op
    if not isinstance(op, PauliEvolutionGate) or op.num_qubits != 2:
        return None
    operator = op.operator
    if isinstance(operator, list):
        return None
    operator = SparsePauliOp(operator).simplify()
    if len(operator) != 1 or operator.paulis[0].to_label() != "ZZ":
        return None
    coeff = operator.coeffs[0]
    if abs(coeff.imag) > 1e-12:
        return None
    return 2.0 * float(coeff.real) * op.time


def _extend_stage(pm: StagedPassManager, stage: str, passes: list) -> None:
    """Append ``passes`` to a stage of ``pm`` (after whatever the preset put there)."""
    new = PassManager()
    old = getattr(pm, stage)
    if old is not None:
        new.append(old.to_flow_controller())
    new.append(passes)
    setattr(pm, stage, new)


def _check_level(optimization_level: int) -> None:
    if optimization_level not in OPTIMIZATION_LEVELS:
        raise ValueError(
            f"optimization_level must be one of {', '.join(map(str, OPTIMIZATION_LEVELS))}, "
            f"got {optimization_level!r}"
        )


def _check_width(n_circuit: int, target: Target) -> None:
    if n_circuit > target.num_qubits:
        raise ValueError(
            f"the circuit has {n_circuit} qubits but the device has only {target.num_qubits}"
        )


def _metrics(isa: QuantumCircuit, swaps: int, routing: str) -> dict:
    """Depth (barriers ignored), two-qubit gate count and inserted SWAPs of an ISA circuit."""

    def is_gate(inst) -> bool:
        return not getattr(inst.operation, "_directive", False)

    return {
        "depth_transpiled": int(isa.depth(filter_function=is_gate)),
        "two_qubit_gates": int(
            sum(1 for inst in isa.data if is_gate(inst) and inst.operation.num_qubits == 2)
        ),
        "swaps": int(swaps),
        "routing": routing,
    }


def _check_layout(layout, n_circuit: int, target: Target) -> tuple[list[int] | None, str | None]:
    """(initial_layout, layout_method) for generate_preset_pass_manager, validated."""
    if layout is None:
        return None, None
    if isinstance(layout, str):
        if layout not in LAYOUT_METHODS:
            raise ValueError(
                f"unknown layout method {layout!r}; allowed: {', '.join(LAYOUT_METHODS)}, "
                "a list of physical qubits, or None"
            )
        return None, layout
    qubits = list(layout)
    if not all(isinstance(q, (int, np.integer)) and not isinstance(q, bool) for q in qubits):
        raise ValueError(f"layout must list integer physical qubits, got {layout!r}")
    qubits = [int(q) for q in qubits]
    if len(qubits) != n_circuit:
        raise ValueError(
            f"layout lists {len(qubits)} physical qubits, the circuit has {n_circuit} qubits"
        )
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"layout repeats physical qubits: {qubits}")
    bad = [q for q in qubits if not 0 <= q < target.num_qubits]
    if bad:
        raise ValueError(
            f"layout qubits {bad} are not on the device (qubits 0..{target.num_qubits - 1})"
        )
    return qubits, None


def transpile_isa(
    qc: QuantumCircuit,
    target: Target,
    *,
    optimization_level: int = 1,
    layout: list[int] | str | None = None,
    seed: int | None = None,
) -> tuple[QuantumCircuit, dict]:
    """The ISA circuit of ``qc`` for ``target`` (qiskit's preset pass manager) and its metrics.

    ``layout`` is an explicit initial layout (physical qubit of each circuit qubit), a layout
    method name among :data:`LAYOUT_METHODS`, or None for the preset default; ``seed`` seeds the
    stochastic passes. ``qc`` may be parameterised and contain measurements. Metrics:
    ``depth_transpiled`` (barriers ignored), ``two_qubit_gates``, ``swaps`` (inserted by the
    layout/routing stages: SWAPs after routing minus those left after the init stage) and
    ``routing="default"``. Parameterised P/CP gates are rewritten without their global phase
    first (:class:`_DropSymbolicPhase`), so the ISA circuit equals ``qc`` up to a global phase.
    """
    _check_level(optimization_level)
    _check_width(qc.num_qubits, target)
    initial_layout, layout_method = _check_layout(layout, qc.num_qubits, target)
    pm = generate_preset_pass_manager(
        optimization_level,
        target=target,
        initial_layout=initial_layout,
        layout_method=layout_method,
        seed_transpiler=seed,
    )
    counts: dict[str, int] = {}
    _extend_stage(pm, "pre_init", [_DropSymbolicPhase()])
    _extend_stage(pm, "post_init", [_CountSwaps(counts, "before")])
    _extend_stage(pm, "post_routing", [_CountSwaps(counts, "after")])
    isa = pm.run(qc)
    return isa, _metrics(isa, counts["after"] - counts["before"], "default")


def _as_coupling_map(device: Target | CouplingMap) -> CouplingMap:
    if isinstance(device, Target):
        cmap = device.build_coupling_map()
        if cmap is None:
            raise ValueError("the target has no coupling map (all-to-all): any order is a line")
        return cmap
    if isinstance(device, CouplingMap):
        return device
    raise TypeError(f"expected a Target or a CouplingMap, got {type(device).__name__}")


def _error_weights(device: Target | CouplingMap) -> tuple[dict, dict]:
    """(edge error, readout error) from a target's calibration; empty for a bare CouplingMap."""
    edge_err: dict[frozenset, float] = {}
    node_err: dict[int, float] = {}
    if not isinstance(device, Target):
        return edge_err, node_err
    for name in device.operation_names:
        props = device[name]
        for qargs, prop in props.items():
            if qargs is None or prop is None or prop.error is None:
                continue
            if len(qargs) == 2 and device.operation_from_name(name).num_qubits == 2:
                key = frozenset(qargs)
                edge_err[key] = min(edge_err.get(key, np.inf), float(prop.error))
            elif len(qargs) == 1 and name == "measure":
                node_err[qargs[0]] = float(prop.error)
    return edge_err, node_err


def line_layout(device: Target | CouplingMap, n: int, seed: int | None = None) -> list[int]:
    """A simple path of ``n`` physical qubits on the device, low-error when calibration is known.

    Depth-first search from every start qubit (neighbours tried lowest two-qubit error first, a
    bounded number of expansions per start) collects complete paths and returns the one with
    the smallest summed two-qubit plus readout error (a ``CouplingMap`` scores all paths 0, so
    the first found wins). ``seed`` breaks ties between equal scores (None behaves as 0, so the
    result is reproducible). Raises ValueError when no path of ``n`` qubits is found.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    cmap = _as_coupling_map(device)
    graph = nx.Graph()
    graph.add_nodes_from(range(cmap.size()))
    graph.add_edges_from((a, b) for a, b in cmap.get_edges() if a != b)
    if n > graph.number_of_nodes():
        raise ValueError(f"no line of {n} qubits: the device has only {graph.number_of_nodes()}")
    edge_err, node_err = _error_weights(device)
    rng = np.random.default_rng(0 if seed is None else seed)
    jitter = rng.random(graph.number_of_nodes()) * 1e-12

    def edge_cost(a: int, b: int) -> float:
        return edge_err.get(frozenset((a, b)), 0.0)

    def node_cost(q: int) -> float:
        return node_err.get(q, 0.0) + float(jitter[q])

    def score(path: list[int]) -> float:
        return sum(node_cost(q) for q in path) + sum(
            edge_cost(a, b) for a, b in zip(path, path[1:])
        )

    starts = sorted(graph.nodes, key=lambda q: (graph.degree[q] > 2, node_cost(q)))
    candidates: list[list[int]] = []
    for start in starts:
        path, on_path, budget = [start], {start}, [_LINE_SEARCH_BUDGET]
        found = _extend_path(graph, path, on_path, n, budget, edge_cost, node_cost)
        if found is not None:
            candidates.append(found)
            if len(candidates) >= _LINE_CANDIDATES:
                break
    if not candidates:
        raise ValueError(
            f"no line (simple path) of {n} connected qubits found on the coupling map "
            f"of {graph.number_of_nodes()} qubits"
        )
    return min(candidates, key=score)


def _extend_path(graph, path, on_path, n, budget, edge_cost, node_cost) -> list[int] | None:
    """Depth-first extension of ``path`` to ``n`` qubits, cheapest neighbour first."""
    if len(path) == n:
        return list(path)
    if budget[0] <= 0:
        return None
    budget[0] -= 1
    last = path[-1]
    nexts = [q for q in graph.neighbors(last) if q not in on_path]
    nexts.sort(key=lambda q: (edge_cost(last, q) + node_cost(q), q))
    for q in nexts:
        path.append(q)
        on_path.add(q)
        found = _extend_path(graph, path, on_path, n, budget, edge_cost, node_cost)
        if found is not None:
            return found
        path.pop()
        on_path.discard(q)
    return None


class _SetPermutation(TransformationPass):
    """Record the permutation the swap strategy left, so ``layout.final_layout`` tracks it.

    ``holder[w]`` is the variable on line position w at the end of the circuit; the property
    set entries are those qiskit's own permuting passes (ElidePermutations,
    Commuting2qGateRouter) write before layout.
    """

    def __init__(self, holder: list[int]) -> None:
        super().__init__()
        self.holder = list(holder)

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        if self.holder == sorted(self.holder):
            return dag
        input_qubit_mapping = {qubit: index for index, qubit in enumerate(dag.qubits)}
        self.property_set["original_layout"] = Layout(input_qubit_mapping)
        if self.property_set["original_qubit_indices"] is None:
            self.property_set["original_qubit_indices"] = input_qubit_mapping
        self.property_set["virtual_permutation_layout"] = Layout(
            {dag.qubits[w]: v for w, v in enumerate(self.holder)}
        )
        return dag


def _ising_terms(ansatz: QAOAAnsatz) -> tuple[dict[int, float], list[tuple[int, int, float]]]:
    """Z and ZZ coefficients of the cost (``to_ising``; the constant is a global phase)."""
    from qbench.encoders.ising import to_ising

    n = ansatz.n_qubits
    op, _ = to_ising(ansatz.qubo)
    z_terms: dict[int, float] = {}
    zz_terms: dict[tuple[int, int], float] = {}
    for label, coeff in zip(op.paulis.to_labels(), op.coeffs):
        support = sorted(n - 1 - k for k, ch in enumerate(label) if ch == "Z")
        c = float(np.real(coeff))
        if len(support) == 1:
            z_terms[support[0]] = z_terms.get(support[0], 0.0) + c
        elif len(support) == 2:
            key = (support[0], support[1])
            zz_terms[key] = zz_terms.get(key, 0.0) + c
    return (
        {j: c for j, c in z_terms.items() if c != 0.0},
        [(i, j, c) for (i, j), c in zz_terms.items() if c != 0.0],
    )


def _line_router(n: int) -> PassManager:
    """Route one commuting ZZ block on a line of n positions (full-connectivity line strategy).

    Even edges (swapped by the first SWAP layer) get the last colour, so each ZZ sits right
    before the SWAP on its edge and :class:`_MergeZZSwap` can fuse them; the later distance
    layers only hold gates on the edges their SWAP layer swaps next.
    """
    coloring = None
    if n >= 3:
        coloring = {}
        for k in range(n - 1):
            coloring[(k, k + 1)] = coloring[(k + 1, k)] = (k + 1) % 2
    strategy = SwapStrategy.from_line(list(range(n)))
    return PassManager(
        [FindCommutingPauliEvolutions(), Commuting2qGateRouter(strategy, edge_coloring=coloring)]
    )


def _routed_qaoa_circuit(ansatz: QAOAAnsatz, measure: bool) -> tuple[QuantumCircuit, int, list]:
    """The ansatz's QAOA circuit on a line of n positions, cost layers swap-routed.

    Same state (up to global phase) and θ layout ``[γ_1..γ_p, β_1..β_p]`` as ``qaoa_circuit``:
    ``exp(-iγC)`` is, up to phase, ``Π_i RZ(2γ h_i) exp(-iγ Σ J_ij Z_iZ_j)`` with the Ising terms
    of ``to_ising``. Each cost layer is routed on its own, from the positions the previous
    layers left, with its ZZ terms relabelled to those positions: qiskit's router mislocates a
    second block once its layout is no longer the identity (Qiskit/qiskit#16855), so it only
    ever sees one block starting from the trivial layout. Single-qubit gates and measurements
    follow each variable's position. Returns the circuit, the number of SWAPs and ``holder``
    (the variable on each position at the end).
    """
    n, p = ansatz.n_qubits, ansatz.p
    z_terms, zz_terms = _ising_terms(ansatz)
    router = _line_router(n) if zz_terms and n >= 2 else None
    theta = ParameterVector("θ", ansatz.n_params)
    qreg = QuantumRegister(n, "q")
    qc = QuantumCircuit(qreg, name=f"qaoa-p{p}-{ansatz.mixer}-swap")
    holder = list(range(n))  # holder[w]: variable on position w
    wire = list(range(n))  # wire[v]: position of variable v
    warm = None
    if ansatz.mixer == "warm":
        warm = ansatz.warm_thetas()
        for j in range(n):
            qc.ry(float(warm[j]), j)
    else:
        qc.h(range(n))
    swaps = 0
    for layer in range(p):
        gamma, beta = theta[layer], theta[p + layer]
        for j, h in sorted(z_terms.items()):
            qc.rz(2.0 * h * gamma, wire[j])
        if router is not None:
            op = SparsePauliOp.from_sparse_list(
                [("ZZ", [wire[i], wire[j]], c) for i, j, c in zz_terms], num_qubits=n
            )
            block = QuantumCircuit(n)
            block.append(PauliEvolutionGate(op, time=gamma), range(n))
            routed = router.run(block)
            for inst in routed.data:
                if inst.operation.name == "swap":
                    a, b = (routed.find_bit(q).index for q in inst.qubits)
                    holder[a], holder[b] = holder[b], holder[a]
                    swaps += 1
            qc.compose(routed, qubits=range(n), inplace=True)
            wire = [0] * n
            for w, v in enumerate(holder):
                wire[v] = w
        for j in range(n):
            if warm is None:
                qc.rx(2 * beta, wire[j])
            else:
                qc.ry(-float(warm[j]), wire[j])
                qc.rz(-2 * beta, wire[j])
                qc.ry(float(warm[j]), wire[j])
    if measure:
        creg = ClassicalRegister(n, "meas")
        qc.add_register(creg)
        qc.barrier()
        for j in range(n):
            qc.measure(wire[j], creg[j])
    return qc, swaps, holder


def transpile_qaoa_swap(
    ansatz: QAOAAnsatz,
    target: Target,
    *,
    optimization_level: int = 1,
    seed: int | None = None,
    measure: bool = True,
) -> tuple[QuantumCircuit, dict]:
    """The ISA circuit of a standard QAOA ansatz, cost layers routed by a line swap strategy.

    The ``n`` QUBO variables sit on a line of physical qubits (:func:`line_layout`); each cost
    layer's commuting ZZ terms are applied between SWAP layers of ``SwapStrategy.from_line`` by
    ``Commuting2qGateRouter``, which tracks the permutation and moves every later gate with its
    variable. The preset pass manager then only translates and optimises (routing method
    ``"none"``: it raises if anything were left unrouted). With ``measure`` the circuit ends in
    measurements into register ``meas`` with clbit i = variable i (as ``measure_all`` on
    ``qaoa_circuit``); without, ``isa.layout.final_index_layout()`` locates each variable.
    Parameters: one ``ParameterVector`` θ in QAOAAnsatz's standard layout. Metrics as in
    :func:`transpile_isa`, with ``routing="swap_strategy"`` and ``swaps`` the strategy's SWAPs.
    """
    _check_level(optimization_level)
    if ansatz.multi_angle or ansatz.mixer not in SWAP_MIXERS:
        raise ValueError(
            "swap-strategy routing supports standard QAOA (not multi-angle) with mixer "
            f"{' or '.join(repr(m) for m in SWAP_MIXERS)}; got mixer={ansatz.mixer!r}, "
            f"multi_angle={ansatz.multi_angle}"
        )
    n = ansatz.n_qubits
    _check_width(n, target)
    line = line_layout(target, n, seed)
    qc, swaps, holder = _routed_qaoa_circuit(ansatz, measure)
    pm = generate_preset_pass_manager(
        optimization_level,
        target=target,
        initial_layout=line,
        routing_method="none",
        seed_transpiler=seed,
    )
    _extend_stage(pm, "pre_init", [_MergeZZSwap(), _SetPermutation(holder)])
    isa = pm.run(qc)
    return isa, _metrics(isa, swaps, "swap_strategy")
