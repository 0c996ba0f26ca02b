"""qubo encoder: brute-force validity on all five problems, and qiskit-optimization parity."""

from importlib.resources import files
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from qiskit_optimization.converters import IntegerToBinary

from qbench.encoders.ising import cost_vector
from qbench.encoders.qubo import ENCODER, encode, slack_coefficients
from qbench.encoders.reference import from_quadratic_program, qiskit_qubo
from qbench.errors import ConfigError
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP
from qbench.program import BinaryProgram
from qbench.solvers.brute import solve

INSTANCES = Path(str(files("qbench.data") / "instances"))

#: qiskit-optimization's QuadraticProgramToQubo sizes (shared/instances/README.md)
SAC94_QUBITS = {
    "hp1": 60, "hp2": 67, "pb1": 59, "pb2": 66, "pb4": 45, "pb5": 116,
    "pet2": 99, "pet3": 102, "pet4": 107, "pet5": 122, "pet6": 86, "pet7": 100,
}  # fmt: skip
MIS_NODES = {"1tc.8": 8, "1tc.16": 16, "1tc.32": 32, "1tc.64": 64, "1et.64": 64, "1dc.64": 64}


def small_mdkp(seed: int, n: int = 6, m: int = 2) -> MDKP:
    """Chu–Beasley-like but with weights < 10, so the slack registers stay small (≤ 16 qubits)."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 10, size=(m, n))
    return MDKP(rng.integers(1, 20, size=n), weights, np.floor(0.5 * weights.sum(axis=1)))


GENERATORS = {
    "mdkp": small_mdkp,
    "mdkp-cb": lambda s: MDKP.generate(seed=s, n=4, m=1),  # weights 0..999: 10-11 slack bits
    "mis": lambda s: MIS.generate(seed=s, n=10),
    "qap": lambda s: QAP.generate(seed=s, n=3),
    "tsp": lambda s: TSP.generate(seed=s, n=4, kind=("euclidean", "random")[s % 2]),
    "msp": lambda s: MSP.generate(seed=s, m=2, n=8),
}


def states(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def energies_per_x(enc) -> np.ndarray:
    """min over slack assignments of the QUBO energy, for every x (state index order)."""
    cost = cost_vector(enc.qubo)
    return cost.reshape(1 << enc.n_slack, 1 << enc.n_vars).min(axis=0)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("penalty", ["auto", "tight"])
def test_valid_penalty_minimiser_is_a_feasible_optimum(kind, penalty):
    for seed in range(8):
        problem = GENERATORS[kind](seed)
        program = problem.program
        enc = encode(program, penalty=penalty)
        assert enc.n_qubits <= 16
        per_x = energies_per_x(enc)
        X = states(enc.n_vars)
        feasible = program.is_feasible(X)
        # feasible points with their best slack: energy = sign · objective of the program
        assert np.allclose(per_x[feasible], enc.sign * program.objective(X[feasible]))
        # the QUBO minimiser decodes to a feasible optimum of the problem itself
        cost = cost_vector(enc.qubo)
        s = int(np.argmin(cost))
        objective, ok = enc.evaluate(problem, (s >> np.arange(enc.n_qubits)) & 1)
        if kind == "msp":  # unconstrained surrogate: the program's optimum, by enumeration
            assert cost[s] == pytest.approx(program.objective(X).min())
        else:
            assert ok[0]
            assert objective[0] == pytest.approx(solve(problem).objective)
            # every infeasible x, whatever its slack, lies strictly above the optimum
            g_star = enc.sign * solve(problem).objective
            assert np.all(per_x[~feasible] > g_star)


def test_tight_is_smaller_than_auto_and_a_too_small_penalty_breaks_validity():
    for kind in ("mdkp", "mis", "qap", "tsp"):
        problem = GENERATORS[kind](1)
        tight = encode(problem.program, penalty="tight").metadata
        auto = encode(problem.program, penalty="auto").metadata
        assert tight["penalty"] < auto["penalty"]
        assert tight["penalty_rule"].startswith(
            "tight: " + ("assignment" if kind in ("qap", "tsp") else "packing")
        )
    assert encode(GENERATORS["mis"](0).program, penalty="tight").metadata["penalty"] == 2.0
    # MIS with P < 1: taking both ends of an edge pays (−2 + P < −1), so a too-small penalty
    # gives a minimiser that is not independent; the brute-force check above would catch it
    edge = MIS(nx.Graph([(0, 1)]))
    enc = encode(edge.program, penalty=0.5)
    assert int(np.argmin(cost_vector(enc.qubo))) == 3  # both nodes
    bad = 0
    for seed in range(5):
        problem = GENERATORS["mis"](seed)
        enc = encode(problem.program, penalty=0.5)
        s = int(np.argmin(cost_vector(enc.qubo)))
        bad += not problem.is_feasible(enc.decode((s >> np.arange(enc.n_qubits)) & 1))
    assert bad >= 3  # measured: 4 of 5


def _aligned(program, penalty=None):
    """Our encoding and qiskit's QUBO as BinaryPrograms with qiskit's qubits in our order."""
    enc = encode(program, penalty="auto" if penalty is None else penalty)
    qp = qiskit_qubo(program, penalty)
    ref = from_quadratic_program(qp)
    assert sorted(ref.var_names) == sorted(enc.qubo.var_names)
    order = [ref.var_names.index(name) for name in enc.qubo.var_names]
    P = sp.csr_matrix((np.ones(len(order)), (order, np.arange(len(order)))))
    ref = BinaryProgram(
        linear=ref.linear[order],
        quadratic=P.T @ ref.quadratic @ P,
        constant=ref.constant,
        var_names=enc.qubo.var_names,
    )
    return enc, ref, qp


def mixed_program(seed: int) -> BinaryProgram:
    """Every row kind: patterns (x+y<=1, sum>=k-1, x-y<=0), equality, slack, infeasible rows."""
    rng = np.random.default_rng(seed)
    n = 6
    rows = [[1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 0, 0], [1, 0, 0, 0, -1, 0]]
    b, senses = [1, 2, 0], ["<=", ">=", str(rng.choice(["<=", ">="]))]
    for _ in range(3):
        rows.append(list(rng.integers(-3, 4, size=n)))
        b.append(int(rng.integers(-2, 5)))
        senses.append(str(rng.choice(["<=", ">=", "=="])))
    return BinaryProgram(
        linear=rng.integers(-5, 6, size=n),
        quadratic=sp.csr_matrix(np.triu(rng.integers(-3, 4, size=(n, n)), k=1)),
        constant=2.0, A=sp.csr_matrix(np.array(rows)), b=b, senses=senses,
        sense=str(rng.choice(["min", "max"])),
    )  # fmt: skip


@pytest.mark.parametrize(
    "program",
    [MDKP.generate(seed=s, n=8, m=3).program for s in range(2)]
    + [MIS.generate(seed=s, n=12).program for s in range(2)]
    + [QAP.generate(seed=s, n=3).program for s in range(2)]
    + [TSP.generate(seed=0, n=4).program]
    + [mixed_program(s) for s in range(6)],
    ids=lambda p: p.name or "mixed",
)
@pytest.mark.parametrize("penalty", [None, 7.5])
def test_same_qubo_as_qiskit_optimization(program, penalty):
    enc, ref, qp = _aligned(program, penalty)
    assert enc.n_qubits == qp.get_num_vars()
    assert np.allclose(enc.qubo.linear, ref.linear)
    assert np.allclose(enc.qubo.quadratic.toarray(), ref.quadratic.toarray())
    assert enc.qubo.constant == pytest.approx(ref.constant)
    # and on bitstrings, evaluated by qiskit itself (qubits mapped by name)
    rng = np.random.default_rng(0)
    order = [ref.var_names.index(v.name) for v in qp.variables]
    for y in rng.integers(0, 2, size=(20, enc.n_qubits)):
        assert enc.energy(y) == pytest.approx(qp.objective.evaluate(y[order]))
    if penalty is None:
        assert enc.metadata["penalty_rule"].startswith("auto")


def test_slack_code_is_qiskits_integer_to_binary():
    convert = IntegerToBinary()._convert_var
    for upper in range(1, 300):
        ours = slack_coefficients(upper)
        theirs = [c for _, c in convert("s", 0, upper)]
        assert ours == theirs, upper
        assert len(ours) == int(np.floor(np.log2(upper))) + 1
        # every value 0..U is reachable and nothing beyond
        sums = states(len(ours)) @ np.array(ours)
        assert set(sums.astype(int)) == set(range(upper + 1))


def test_qubit_counts_of_the_shipped_instances():
    for name, qubits in SAC94_QUBITS.items():
        program = MDKP.read(INSTANCES / "mdkp" / f"{name}.dat").program
        enc = encode(program)
        assert enc.n_qubits == qubits, name
        assert enc.n_slack == sum(entry["bits"] for entry in enc.metadata["slack"])
    pet5 = MDKP.read(INSTANCES / "mdkp" / "pet5.dat").program
    dropped = encode(pet5, drop_redundant=True)
    assert dropped.n_qubits == 114 and dropped.metadata["rows"]["dropped"] == 1
    for name, nodes in MIS_NODES.items():
        enc = encode(MIS.read(INSTANCES / "mis" / f"{name}.txt").program)
        assert enc.n_qubits == nodes and enc.n_slack == 0
        assert enc.metadata["rows"]["pattern"] == enc.program.n_constraints


def test_slack_layout_metadata_and_decoding():
    program = MDKP(profits=[3, 2, 4], weights=[[2, 3, 4], [1, 1, 1]], capacities=[5, 2]).program
    enc = encode(program, penalty="12")
    assert enc.metadata["penalty"] == 12.0 and enc.metadata["penalty_rule"] == "fixed"
    assert enc.metadata["slack"] == [
        {"constraint": "cap0", "bits": 3, "coefficients": [1, 2, 2], "range": 5},
        {"constraint": "cap1", "bits": 2, "coefficients": [1, 1], "range": 2},
    ]
    assert enc.qubo.var_names[3:] == [f"cap0@int_slack@{i}" for i in range(3)] + [
        f"cap1@int_slack@{i}" for i in range(2)
    ]
    assert enc.decode([1, 0, 1, 1, 1, 1, 0, 1]).tolist() == [1, 0, 1]
    # x = (1, 1, 0): loads 5 <= 5 and 2 <= 2, slack 0: energy is -profit
    assert enc.energy([1, 1, 0, 0, 0, 0, 0, 0]) == pytest.approx(-5.0)


def test_ge_rows_infeasible_rows_and_non_integer_rows():
    # a >= row takes slack up to (max activity - rhs)
    ge = BinaryProgram(linear=[1, 1, 1], A=sp.csr_matrix([[1.0, 2.0, 1.0]]), b=[2], senses=(">=",))
    enc = encode(ge)
    assert enc.metadata["slack"] == [
        {"constraint": "c0", "bits": 2, "coefficients": [1, 1], "range": 2}
    ]
    per_x = energies_per_x(enc)
    feasible = ge.is_feasible(states(3))
    assert np.allclose(per_x[feasible], states(3)[feasible].sum(axis=1))
    assert np.all(per_x[~feasible] >= enc.metadata["penalty"])
    # 'x0 + x1 + x2 <= -1' can never hold: kept, like qiskit, as the penalty (a·x + 1)² with
    # no slack, so the QUBO still prefers the least violation (x = 0)
    never = BinaryProgram(
        linear=[-1, -1, -1], A=sp.csr_matrix(np.ones((1, 3))), b=[-1], senses=("<=",)
    )
    enc = encode(never)
    assert enc.metadata["rows"]["infeasible"] == 1 and enc.n_slack == 0
    assert int(np.argmin(cost_vector(enc.qubo))) == 0
    frac = BinaryProgram(linear=[1, 1], A=sp.csr_matrix([[0.5, 1.0]]), b=[1], senses=("<=",))
    with pytest.raises(ConfigError, match="non-integer coefficients"):
        encode(frac)
    # an equality row needs no slack, so real coefficients are fine (qiskit's 1e5 fallback)
    eq = BinaryProgram(linear=[1, 1], A=sp.csr_matrix([[0.5, 1.0]]), b=[1.5], senses=("==",))
    assert encode(eq).metadata["penalty"] == 1e5
    # a row no bitstring violates: kept with slack like qiskit, or dropped on request
    loose = BinaryProgram(linear=[1, 1], A=sp.csr_matrix([[1.0, 1.0]]), b=[3], senses=("<=",))
    assert encode(loose).n_slack == 2 and encode(loose, drop_redundant=True).n_slack == 0


@pytest.mark.parametrize("bad", ["-1", "0", "abc", float("nan"), True, None, "inf"])
def test_bad_penalties_are_refused(bad):
    with pytest.raises(ConfigError, match="'auto', 'tight' or a positive number"):
        encode(MIS.generate(seed=0, n=4).program, penalty=bad)


def test_declared_parameters():
    params = ENCODER.parse_params({"penalty": "tight", "drop_redundant": "yes"})
    assert params == {"penalty": "tight", "drop_redundant": True, "deviation": "squared"}
    enc = ENCODER.encode(QAP.generate(seed=0, n=3), **params)
    assert enc.encoder == "qubo" and enc.n_qubits == 9 and enc.n_slack == 0
    with pytest.raises(ConfigError, match="unknown parameter"):
        ENCODER.parse_params({"penality": 3})
    # no constraints: nothing to penalise
    msp = MSP.generate(seed=0, m=2, n=6).program
    assert encode(msp).metadata["penalty"] == 0.0
    assert np.allclose(encode(msp).qubo.objective(states(6)), msp.objective(states(6)))
