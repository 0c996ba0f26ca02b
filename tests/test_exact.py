"""Exact engine: vs qiskit's StatevectorEstimator, dense expm references, the p=1 formula."""

from functools import reduce

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from qiskit.circuit.library import efficient_su2, qaoa_ansatz
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import Statevector
from scipy.linalg import expm

from qbench.encoders.ising import to_ising
from qbench.errors import ResourceError
from qbench.hardware import exact
from qbench.hardware.base import CircuitAnsatz, QAOAAnsatz
from qbench.hardware.exact import ExactBackend, simulate, xy_pairs
from qbench.program import BinaryProgram

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)


def random_qubo(seed: int, n: int, density: float = 0.6) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    q = np.triu(rng.normal(size=(n, n)), k=1) * (rng.random((n, n)) < density)
    lin = rng.normal(size=n) * (rng.random(n) < 0.8)
    return BinaryProgram(linear=lin, quadratic=q, constant=rng.normal())


def bits(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def on(op: np.ndarray, qubit: int, n: int, op2: np.ndarray | None = None, qubit2: int = -1):
    """``op`` on one qubit (and ``op2`` on ``qubit2``) in qiskit order (qubit 0 rightmost)."""
    factors = {qubit: op} if op2 is None else {qubit: op, qubit2: op2}
    return reduce(np.kron, [factors.get(q, I2) for q in reversed(range(n))])


def align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` times the global phase that best matches it to ``b``."""
    overlap = np.vdot(a, b)
    return a * overlap / abs(overlap)


# ---- qiskit reference: qaoa_ansatz + StatevectorEstimator --------------------------------------


@pytest.mark.parametrize(("seed", "n", "p"), [(0, 5, 1), (1, 8, 2), (2, 10, 3), (3, 12, 2)])
def test_energy_and_state_match_qiskit_qaoa_ansatz(seed: int, n: int, p: int) -> None:
    qubo = random_qubo(seed, n)
    op, offset = to_ising(qubo)
    ansatz = QAOAAnsatz(qubo, p=p)
    params = np.random.default_rng(seed).uniform(-1, 1, 2 * p)
    gammas, betas = params[:p], params[p:]
    qc = qaoa_ansatz(op, reps=p)
    # qiskit sorts parameters by name: β[0..p-1] then γ[0..p-1]
    names = [prm.name for prm in qc.parameters]
    assert names == [f"β[{k}]" for k in range(p)] + [f"γ[{k}]" for k in range(p)]
    qiskit_params = np.concatenate([betas, gammas])
    (res,) = StatevectorEstimator().run([(qc, op, qiskit_params)]).result()
    ref_energy = float(res.data.evs) + offset
    backend = ExactBackend()
    assert backend.expectation(ansatz, params) == pytest.approx(ref_energy, abs=1e-9)
    assert ExactBackend(engine="numpy").expectation(ansatz, params) == pytest.approx(
        ref_energy, abs=1e-9
    )
    # qiskit's cost layer is exp(-iγH) with H = C - offset; ours exp(-iγ(C - constant)): the
    # states agree up to a global phase
    ref_state = Statevector(qc.assign_parameters(qiskit_params)).data
    ours = simulate(ansatz, params)
    np.testing.assert_allclose(align(ours, ref_state), ref_state, atol=1e-10)


def test_circuit_ansatz_matches_estimator() -> None:
    qubo = random_qubo(7, 6)
    op, offset = to_ising(qubo)
    qc = efficient_su2(6, reps=2)
    ansatz = CircuitAnsatz(qubo, qc=qc, name="su2")
    params = np.random.default_rng(1).uniform(-np.pi, np.pi, qc.num_parameters)
    (res,) = StatevectorEstimator().run([(qc, op, params)]).result()
    for engine in exact.ENGINES if exact.HAVE_NUMBA else ("numpy",):
        got = ExactBackend(engine=engine).expectation(ansatz, params)
        assert got == pytest.approx(float(res.data.evs) + offset, abs=1e-9)


# ---- dense-matrix references from the documented conventions ------------------------------------


def dense_phase(qubo: BinaryProgram, gamma: float) -> np.ndarray:
    energies = qubo.objective(bits(qubo.n_vars)) - qubo.constant
    return np.exp(-1j * gamma * energies)


def dense_ma_phase(qubo: BinaryProgram, gammas: np.ndarray) -> np.ndarray:
    """exp(-i Σ_t γ_t c_t term_t(s)): linear terms in variable order, then csr quadratic terms."""
    b = bits(qubo.n_vars)
    terms = [(i,) for i in np.flatnonzero(qubo.linear)]
    coefs = [qubo.linear[i] for i in np.flatnonzero(qubo.linear)]
    q = qubo.quadratic.tocoo()  # csr -> coo keeps the csr (row-major) order
    terms += list(zip(q.row, q.col))
    coefs += list(q.data)
    assert len(terms) == len(gammas)
    angle = sum(g * c * np.prod(b[:, list(t)], axis=1) for g, c, t in zip(gammas, coefs, terms))
    return np.exp(-1j * angle)


def dense_reference(ansatz: QAOAAnsatz, params: np.ndarray, pairs=None) -> np.ndarray:
    n, p = ansatz.n_qubits, ansatz.p
    if ansatz.mixer == "warm":
        theta = 2 * np.arcsin(np.sqrt(ansatz.warm_start))
        ry = [expm(-0.5j * t * Y) for t in theta]
        state = reduce(np.kron, [ry[q] @ np.array([1, 0]) for q in reversed(range(n))])
    elif ansatz.mixer == "x":
        state = np.full(1 << n, 2 ** (-n / 2), dtype=complex)
    else:
        state = np.zeros(1 << n, dtype=complex)
        state[ansatz.initial_state] = 1
    t = ansatz.n_terms
    for layer in range(p):
        if ansatz.multi_angle:
            block = params[layer * (t + n) : (layer + 1) * (t + n)]
            state = dense_ma_phase(ansatz.qubo, block[:t]) * state
            betas = block[t:]
        else:
            state = dense_phase(ansatz.qubo, params[layer]) * state
            betas = np.full(n, params[p + layer])
        if ansatz.mixer == "x":
            h = sum(b * on(X, q, n) for q, b in enumerate(betas))
            state = expm(-1j * h) @ state
        elif ansatz.mixer == "warm":
            for q in range(n):
                u = expm(-0.5j * theta[q] * Y) @ expm(1j * betas[q] * Z) @ expm(0.5j * theta[q] * Y)
                state = on(u, q, n) @ state
        else:
            for a, b in pairs:
                h = (on(X, a, n, X, b) + on(Y, a, n, Y, b)) / 2
                state = expm(-1j * betas[0] * h) @ state
    return state


ENGINES = exact.ENGINES if exact.HAVE_NUMBA else ("numpy",)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("block_bits", [3, 13])
def test_warm_start_matches_dense(engine: str, block_bits: int) -> None:
    rng = np.random.default_rng(3)
    qubo = random_qubo(4, 6)
    warm = np.array([0.0, 1.0, 0.3, 0.5, 0.9, 0.05])
    ansatz = QAOAAnsatz(qubo, p=2, mixer="warm", warm_start=warm)
    params = rng.uniform(-1, 1, 4)
    got = simulate(ansatz, params, engine=engine, block_bits=block_bits)
    np.testing.assert_allclose(got, dense_reference(ansatz, params), atol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("block_bits", [3, 13])
def test_multi_angle_matches_dense(engine: str, block_bits: int) -> None:
    qubo = random_qubo(5, 6)
    ansatz = QAOAAnsatz(qubo, p=2, multi_angle=True)
    assert ansatz.n_params == 2 * (ansatz.n_terms + 6)
    params = np.random.default_rng(5).uniform(-1, 1, ansatz.n_params)
    got = simulate(ansatz, params, engine=engine, block_bits=block_bits)
    np.testing.assert_allclose(got, dense_reference(ansatz, params), atol=1e-10)
    e = ExactBackend(engine=engine, block_bits=block_bits).expectation(ansatz, params)
    ref = dense_reference(ansatz, params)
    assert e == pytest.approx(float(np.abs(ref) ** 2 @ qubo.objective(bits(6))), abs=1e-10)


def test_xy_pair_orders() -> None:
    qubo = random_qubo(0, 7)
    ring = QAOAAnsatz(qubo, mixer="xy_ring", groups=[[0, 1, 2, 3, 4], [5, 6]], initial_state=33)
    assert xy_pairs(ring) == [(0, 1), (2, 3), (1, 2), (3, 4), (4, 0), (5, 6)]
    full = QAOAAnsatz(qubo, mixer="xy_complete", groups=[[0, 2, 4]], initial_state=1)
    assert xy_pairs(full) == [(0, 2), (0, 4), (2, 4)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mixer", ["xy_ring", "xy_complete"])
@pytest.mark.parametrize("block_bits", [3, 13])
def test_xy_matches_dense_and_conserves_weight(engine: str, mixer: str, block_bits: int) -> None:
    qubo = random_qubo(6, 6)
    groups = [[0, 3, 5, 1], [2, 4]]
    init = (1 << 3) | (1 << 4)
    ansatz = QAOAAnsatz(qubo, p=2, mixer=mixer, groups=groups, initial_state=init)
    params = np.random.default_rng(6).uniform(-1, 1, 4)
    pairs = (
        [(0, 3), (5, 1), (3, 5), (1, 0), (2, 4)]  # ring: even, odd, closing (written out)
        if mixer == "xy_ring"
        else [(0, 3), (0, 5), (0, 1), (3, 5), (3, 1), (5, 1), (2, 4)]
    )
    got = simulate(ansatz, params, engine=engine, block_bits=block_bits)
    np.testing.assert_allclose(got, dense_reference(ansatz, params, pairs), atol=1e-10)
    b = bits(6)
    one_hot = np.all([b[:, g].sum(axis=1) == 1 for g in groups], axis=0)
    assert np.sum(np.abs(got[~one_hot]) ** 2) < 1e-10
    assert np.sum(np.abs(got[one_hot]) ** 2) == pytest.approx(1.0, abs=1e-12)


# ---- engines agree; dtypes; primitives -----------------------------------------------------------


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("block_bits", [4, 6, 13])
@pytest.mark.parametrize(
    "kind", ["x", "warm", "multi", "xy_ring", "xy_complete"], ids=lambda k: f"mixer={k}"
)
def test_numba_matches_numpy(kind: str, block_bits: int) -> None:
    n = 12
    qubo = random_qubo(11, n, density=0.9)
    rng = np.random.default_rng(12)
    groups = [[0, 5, 9], [1, 2, 3, 4], [6, 11, 7, 8, 10]]
    init = (1 << 5) | (1 << 3) | (1 << 10)
    kwargs = {
        "x": {},
        "warm": {"mixer": "warm", "warm_start": rng.random(n)},
        "multi": {"multi_angle": True},
        "xy_ring": {"mixer": "xy_ring", "groups": groups, "initial_state": init},
        "xy_complete": {"mixer": "xy_complete", "groups": groups, "initial_state": init},
    }[kind]
    ansatz = QAOAAnsatz(qubo, p=3, **kwargs)
    params = rng.uniform(-1, 1, ansatz.n_params)
    a = simulate(ansatz, params, engine="numba", block_bits=block_bits)
    b = simulate(ansatz, params, engine="numpy")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    ea = ExactBackend(engine="numba", block_bits=block_bits).expectation(ansatz, params)
    eb = ExactBackend(engine="numpy").expectation(ansatz, params)
    assert ea == pytest.approx(eb, abs=1e-12 * max(1.0, abs(eb)))
    c64 = simulate(ansatz, params, dtype="complex64", engine="numba", block_bits=block_bits)
    assert c64.dtype == np.complex64
    np.testing.assert_allclose(c64, b, rtol=0, atol=1e-5)
    e64 = ExactBackend(dtype="complex64").expectation(ansatz, params)
    assert e64 == pytest.approx(eb, abs=1e-4)


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
def test_primitives_agree() -> None:
    n = 10
    rng = np.random.default_rng(2)
    state = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    cost = rng.normal(size=1 << n)
    mats = np.stack([expm(-1j * (rng.normal() * X + rng.normal() * Z)) for _ in range(n)])
    results = {}
    for engine in ENGINES:
        s = state.copy()
        exact.phase(s, cost, 0.7, engine)
        exact.apply_1q(s, mats, engine, block_bits=4)
        exact.apply_xy(s, [(0, 9), (3, 4), (8, 1)], 0.4, engine, block_bits=4)
        results[engine] = (s, exact.expectation(s, cost, engine), exact.probabilities(s, engine))
    (sa, ea, pa), (sb, eb, pb) = results["numba"], results["numpy"]
    np.testing.assert_allclose(sa, sb, atol=1e-12)
    assert ea == pytest.approx(eb, rel=1e-12)
    np.testing.assert_allclose(pa, pb, atol=1e-12)
    # dense check of apply_1q on qubit order: U_q acts on bit q of the index
    dense = reduce(np.kron, list(mats[::-1]))
    s = state.copy()
    exact.apply_1q(s, mats, "numpy")
    np.testing.assert_allclose(s, dense @ state, atol=1e-10)


# ---- p = 1 analytic formula ---------------------------------------------------------------------


def test_p1_maxcut_matches_wang_hadfield_formula() -> None:
    """Wang, Hadfield, Jiang, Rieffel, PRA 97, 022304 (2018), triangle-free graphs.

    With C = Σ_uv (1 − Z_uZ_v)/2 (the cut size) and |γ,β⟩ = e^{−iβB} e^{−iγC} |+⟩ⁿ, B = Σ X_j,
    each edge has ⟨C_uv⟩ = 1/2 + 1/4 sin(4β) sin γ (cos^{d_u} γ + cos^{d_v} γ), d = degree − 1.
    Our ansatz uses exactly these conventions when the QUBO *is* the cut size,
    C(x) = Σ_uv (x_u + x_v − 2 x_u x_v) (as a function; min/max sense plays no role here):
    the cost layer exp(−iγ(C − const)) differs from e^{−iγC} by a global phase only, and the
    mixer RX(2β) = e^{−iβX}. So ⟨Z_uZ_v⟩ = 1 − 2⟨C_uv⟩
    = −1/2 sin 4β sin γ (cos^{d_u}γ + cos^{d_v}γ).
    """
    g = nx.cycle_graph(8)
    g.add_edges_from([(0, 3), (2, 7), (8, 0)])  # chords of odd length 3/5 and a pendant node
    assert sum(nx.triangles(g).values()) == 0
    n = g.number_of_nodes()
    lin = np.zeros(n)
    quad = sp.lil_matrix((n, n))
    for u, v in g.edges:
        lin[u] += 1
        lin[v] += 1
        quad[min(u, v), max(u, v)] += -2
    qubo = BinaryProgram(linear=lin, quadratic=quad.tocsr())
    ansatz = QAOAAnsatz(qubo, p=1)
    b = bits(n)
    for gamma, beta in [(0.4, 0.3), (1.1, -0.7), (-0.6, 0.2)]:
        dist = ExactBackend().distribution(ansatz, np.array([gamma, beta]))
        for u, v in g.edges:
            zz = float(dist.probs @ ((1 - 2 * b[:, u]) * (1 - 2 * b[:, v])))
            du, dv = g.degree(u) - 1, g.degree(v) - 1
            formula = (
                -0.5
                * np.sin(4 * beta)
                * np.sin(gamma)
                * (np.cos(gamma) ** du + np.cos(gamma) ** dv)
            )
            assert zz == pytest.approx(formula, abs=1e-10)
        total = sum(
            0.5
            + 0.25
            * np.sin(4 * beta)
            * np.sin(gamma)
            * (np.cos(gamma) ** (g.degree(u) - 1) + np.cos(gamma) ** (g.degree(v) - 1))
            for u, v in g.edges
        )
        assert ExactBackend().expectation(ansatz, np.array([gamma, beta])) == pytest.approx(
            total, abs=1e-10
        )


# ---- distribution, resources ------------------------------------------------------------------


def test_distribution_exact_and_sampled() -> None:
    qubo = random_qubo(9, 9)
    ansatz = QAOAAnsatz(qubo, p=2)
    params = np.array([0.3, -0.5, 0.8, 0.2])
    backend = ExactBackend()
    dist = backend.distribution(ansatz, params)
    assert dist.exact and dist.shots is None
    np.testing.assert_array_equal(dist.states, np.arange(1 << 9))
    assert dist.probs.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(dist.probs, np.abs(simulate(ansatz, params, engine="numpy")) ** 2)
    # the expectation includes the constant: Σ p(s) E(s) with E from the QUBO itself
    assert backend.expectation(ansatz, params) == pytest.approx(
        float(dist.probs @ ansatz.costs(dist.states)), abs=1e-10
    )
    shots = backend.distribution(ansatz, params, shots=4000, seed=3)
    again = backend.distribution(ansatz, params, shots=4000, seed=3)
    assert not shots.exact and shots.shots == 4000
    np.testing.assert_array_equal(shots.states, again.states)
    assert shots.probs.sum() == pytest.approx(1.0)
    assert np.all(np.diff(shots.states) > 0)
    # empirical frequencies near the exact ones (4000 shots: |error| < 5σ ≈ 0.04)
    assert np.max(np.abs(shots.probs - dist.probs[shots.states])) < 0.04


def test_oversized_refused_with_numbers() -> None:
    ansatz = QAOAAnsatz(random_qubo(0, 10), p=1)
    backend = ExactBackend(max_bytes=10_000)
    required = exact.required_bytes(10, np.complex128, exact.choose_engine(backend.engine, 10))
    assert required > 10_000
    with pytest.raises(ResourceError) as err:
        backend.check(ansatz)
    msg = str(err.value)
    assert "n=10" in msg and f"{required:,}" in msg and "10,000" in msg
    with pytest.raises(ResourceError, match="n=10"):
        simulate(ansatz, [0.1, 0.2], max_bytes=10_000)
    with pytest.raises(ResourceError, match="n=10"):
        backend.expectation(ansatz, np.array([0.1, 0.2]))
    ExactBackend(max_bytes=required).check(ansatz)  # exactly enough: accepted
    # a 40-qubit state does not fit in this machine's memory
    with pytest.raises(ResourceError, match="n=40"):
        ExactBackend().check(QAOAAnsatz(random_qubo(0, 40, density=0.05), p=1))


def test_cost_cache_and_bad_input() -> None:
    ansatz = QAOAAnsatz(random_qubo(1, 6), p=1)
    backend = ExactBackend(engine="numpy")
    backend.expectation(ansatz, [0.1, 0.2])
    cost = exact.cached_cost(ansatz)
    backend.expectation(ansatz, [0.3, 0.4])
    assert exact.cached_cost(ansatz) is cost
    np.testing.assert_allclose(cost, ansatz.qubo.objective(bits(6)) - ansatz.qubo.constant)
    with pytest.raises(ValueError, match="expected 2 parameters"):
        backend.expectation(ansatz, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="engine"):
        ExactBackend(engine="cuda")
    with pytest.raises(ValueError, match="dtype"):
        ExactBackend(dtype="float32")
    info = ExactBackend().info()
    assert info["backend"] == "exact" and ExactBackend.exact


@pytest.mark.parametrize("kind", ["x", "warm", "multi", "xy_ring", "xy_complete"])
def test_matches_qaoa_circuit_of_the_circuits_module(kind: str) -> None:
    """Cross-check with hardware.circuits.qaoa_circuit (no global phase, same layout)."""
    n = 6
    rng = np.random.default_rng(21)
    kwargs = {
        "x": {},
        "warm": {"mixer": "warm", "warm_start": rng.random(n)},
        "multi": {"multi_angle": True},
        "xy_ring": {"mixer": "xy_ring", "groups": [[0, 1, 2], [3, 4, 5]], "initial_state": 10},
        "xy_complete": {"mixer": "xy_complete", "groups": [[0, 2, 4, 5]], "initial_state": 6},
    }[kind]
    ansatz = QAOAAnsatz(random_qubo(22, n), p=2, **kwargs)
    params = rng.uniform(-1, 1, ansatz.n_params)
    ref = Statevector(ansatz.circuit().assign_parameters(params)).data
    np.testing.assert_allclose(simulate(ansatz, params), ref, atol=1e-10)


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
def test_layers_share_their_boundary_passes() -> None:
    """With a 1-qubit mixer over m passes, p layers take p·(m − 1) + 1 passes (odd layers run
    their passes in reverse; a layer's last and the next one's first merge around its phase);
    XY mixers keep p·m. The states are test_numba_matches_numpy's."""
    from qbench.hardware.exact.engine import _layer_steps, qaoa_layers
    from qbench.hardware.exact.schedule import schedule_1q

    n, p, block = 12, 3, 6
    qubo = random_qubo(3, n, density=0.9)
    ansatz = QAOAAnsatz(qubo, p=p)
    params = np.random.default_rng(1).uniform(-1, 1, ansatz.n_params)
    m = len(schedule_1q(n, np.zeros((n, 2, 2), complex), block))
    h, qs = np.zeros(n), np.zeros((n, n))
    steps = _layer_steps(ansatz, list(qaoa_layers(ansatz, params)), block, h, qs)
    assert m > 1 and len(steps) == p * (m - 1) + 1
    assert [at > 0 for _, phase, at in steps if phase is not None] == [False] + [True] * (p - 1)


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("mode", ["rx", "unit_rx", "real", "general"])
def test_low_bit_simd_gates_match_numpy(mode: str) -> None:
    """The register kernels for buffer bits 0-5 (:mod:`.simd`) against numpy, one 2×2 per
    bit (the identity on bit 4, as the pass kernel fills bits without a gate)."""
    from numba import njit

    from qbench.hardware.exact import simd

    kernel = {
        "rx": simd.low6_rx,
        "unit_rx": simd.low6_unit_rx,
        "real": simd.low6_real,
        "general": simd.low6_general,
    }[mode]

    @njit
    def run(re, im, coef):
        for k in range(0, re.size, 64):
            kernel(re, im, k, coef)

    rng = np.random.default_rng(5)
    mats, coef = [], []
    for bit in range(6):
        a = rng.uniform(-3, 3)
        if mode in ("rx", "unit_rx"):
            c, s = (1.0, np.tan(a)) if mode == "unit_rx" else (np.cos(a), np.sin(a))
            mats.append(np.array([[c, -1j * s], [-1j * s, c]]))
            coef += [c, s]
        elif mode == "real":
            mats.append(rng.normal(size=(2, 2)).astype(complex))
            coef += list(mats[-1].real.ravel())
        else:
            mats.append(expm(-1j * (rng.normal() * X + rng.normal() * Y + rng.normal() * Z)))
            coef += [v for z in mats[-1].ravel() for v in (z.real, z.imag)]
        if bit == 4:  # no gate on bit 4: the identity in this mode's layout
            width = len(coef) // (bit + 1)
            coef[-width:] = {2: [1.0, 0.0], 4: [1.0, 0.0, 0.0, 1.0]}.get(
                width, [1.0] + [0.0] * 5 + [1.0, 0.0]
            )
            mats[-1] = np.eye(2, dtype=complex)
    x = rng.normal(size=1 << 9) + 1j * rng.normal(size=1 << 9)
    ref = x.copy()
    for bit, u in enumerate(mats):  # u on bit `bit`: index = (high, bit, low)
        ref = np.einsum("ij,ajk->aik", u, ref.reshape(-1, 2, 1 << bit)).reshape(-1)
    re, im = x.real.copy(), x.imag.copy()
    run(re, im, np.array(coef))
    np.testing.assert_allclose(re + 1j * im, ref, atol=1e-12)


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
def test_unit_rx_scale_and_mixed_angles() -> None:
    """The engine's unit-form mixer (each RX over its cosine, the product in the phase) where
    |cos β| ≥ |sin β|, plain RX elsewhere: multi-angle β on both sides of π/4 in one pass."""
    from qbench.hardware.exact.engine import unit_rx

    betas = np.array([0.3, 1.2, -0.7, 2.0, 3.0])
    mats = np.stack([np.cos(b) * I2 - 1j * np.sin(b) * X for b in betas])
    unit, scale = unit_rx(mats)
    small = np.abs(np.cos(betas)) >= np.abs(np.sin(betas))
    assert scale == pytest.approx(np.prod(np.cos(betas[small])))
    np.testing.assert_allclose(unit[small, 0, 0], 1.0)
    np.testing.assert_array_equal(unit[~small], mats[~small])
    n = 12
    ansatz = QAOAAnsatz(random_qubo(4, n, density=0.9), p=2, multi_angle=True)
    rng = np.random.default_rng(4)
    params = rng.uniform(-1, 1, ansatz.n_params)
    params[-n:] = rng.choice([0.3, 1.2, -0.9, 2.2], size=n)  # the last layer's β per qubit
    for block in (6, 13):
        a = simulate(ansatz, params, engine="numba", block_bits=block)
        np.testing.assert_allclose(a, simulate(ansatz, params, engine="numpy"), atol=1e-12)


@pytest.mark.skipif(not exact.HAVE_NUMBA, reason="numba not installed")
def test_energy_reuses_its_state_and_simulate_takes_it() -> None:
    """Energy evaluations keep their state array in the ansatz's cache for the next one (no
    fresh pages per evaluation); ``simulate`` takes it, so a returned state is never written
    by a later evaluation."""
    from qbench.hardware.exact.ansatz import ansatz_cache

    ansatz = QAOAAnsatz(random_qubo(6, 10), p=2)
    x1, x2 = np.array([0.3, -0.2, 0.5, 0.1]), np.array([-0.4, 0.6, 0.2, 0.3])
    e1 = exact.energy(ansatz, x1)
    kept = ansatz_cache(ansatz)["state"]
    assert exact.energy(ansatz, x1) == e1 and ansatz_cache(ansatz)["state"] is kept
    state = simulate(ansatz, x2)
    assert state is kept and "state" not in ansatz_cache(ansatz)
    saved = state.copy()
    assert exact.energy(ansatz, x1) == pytest.approx(e1, abs=1e-13)
    np.testing.assert_array_equal(state, saved)
    np.testing.assert_allclose(state, simulate(ansatz, x2, engine="numpy"), atol=1e-12)
