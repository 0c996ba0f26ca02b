"""brute: exhaustive enumeration against naive Python references, bitstrings and permutations."""

import itertools
import math
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from qbench.errors import ResourceError
from qbench.problems.base import PermutationProblem, assignment_constraints
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP
from qbench.program import BinaryProgram
from qbench.solvers import get_solver
from qbench.solvers.brute import SOLVER, _permutation_blocks, solve

INSTANCES = Path(str(files("qbench.data") / "instances"))


def random_instance(seed: int) -> dict:
    """Raw data of a random program: small integer coefficients (so ties are common)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 11))
    m = int(rng.integers(0, 4))
    return {
        "n": n,
        "linear": rng.integers(-5, 6, size=n),
        "Q": np.triu(rng.integers(-4, 5, size=(n, n)), k=1) * (rng.random((n, n)) < 0.5),
        "constant": float(rng.integers(-3, 4)),
        "A": rng.integers(-2, 4, size=(m, n)),
        "b": rng.integers(0, n + 1, size=m),
        "senses": tuple(rng.choice(["<=", "==", ">="], size=m)),
        "sense": str(rng.choice(["min", "max"])),
    }


def to_program(d: dict) -> BinaryProgram:
    return BinaryProgram(
        linear=d["linear"],
        quadratic=d["Q"],
        constant=d["constant"],
        A=d["A"].reshape(-1, d["n"]),
        b=d["b"],
        senses=d["senses"],
        sense=d["sense"],
    )


def naive_optimum(d: dict) -> tuple[float | None, list[int] | None]:
    """Best feasible (value, x) by a plain Python loop over states, bit i of the index = x_i."""
    n = d["n"]
    lin, Q = d["linear"].tolist(), d["Q"].tolist()
    best, best_x = None, None
    for idx in range(2**n):
        x = [(idx >> i) & 1 for i in range(n)]
        ok = True
        for row, rhs, s in zip(d["A"].tolist(), d["b"].tolist(), d["senses"]):
            lhs = sum(a * v for a, v in zip(row, x))
            ok &= {"<=": lhs <= rhs, "==": lhs == rhs, ">=": lhs >= rhs}[s]
        if not ok:
            continue
        value = d["constant"] + sum(c * v for c, v in zip(lin, x))
        value += sum(Q[i][j] * x[i] * x[j] for i in range(n) for j in range(n))
        better = best is None or (value < best if d["sense"] == "min" else value > best)
        if better:
            best, best_x = value, x
    return best, best_x


@pytest.mark.parametrize("seed", range(40))
def test_matches_naive_enumeration(seed):
    d = random_instance(seed)
    prog = to_program(d)
    value, x_ref = naive_optimum(d)
    result = solve(prog)
    assert result.n_evaluations == 2 ** d["n"]
    if value is None:
        assert result.status == "infeasible" and result.x is None
        assert result.info["n_feasible"] == 0
        return
    assert result.status == "optimal"
    assert result.objective == pytest.approx(value) and result.bound == result.objective
    assert prog.is_feasible(result.x)
    assert prog.objective(result.x) == pytest.approx(value)
    # ties: the first optimum in enumeration order (bit i of the state index is x_i)
    np.testing.assert_array_equal(result.x, x_ref)


def test_random_programs_cover_both_outcomes_and_senses():
    """The parametrised cases above are not vacuous: they include each kind of case."""
    cases = [random_instance(s) for s in range(40)]
    outcomes = {naive_optimum(d)[0] is None for d in cases}
    assert outcomes == {True, False}
    assert {d["sense"] for d in cases} == {"min", "max"}
    assert {s for d in cases for s in d["senses"]} == {"<=", "==", ">="}


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 16])
def test_chunk_size_does_not_change_the_result(chunk):
    d = random_instance(7)
    prog = to_program(d)
    ref = solve(prog)
    got = solve(prog, chunk=chunk)
    assert got.status == ref.status and got.objective == ref.objective
    np.testing.assert_array_equal(got.x, ref.x)


def test_infeasible_program():
    prog = BinaryProgram(linear=[1.0, 1.0], A=np.array([[1.0, 1.0]]), b=[3.0], senses=(">=",))
    result = solve(prog)
    assert result.status == "infeasible" and result.x is None and result.objective is None
    assert result.n_evaluations == 4


def test_refuses_too_many_variables_with_numbers():
    with pytest.raises(ResourceError) as info:
        solve(BinaryProgram(linear=np.ones(30)))
    msg = str(info.value)
    assert "n=30" in msg and "1,073,741,824" in msg and "max_vars=26" in msg
    with pytest.raises(ResourceError, match=r"n=12 .*4,096 states.*max_vars=10"):
        solve(BinaryProgram(linear=np.ones(12)), max_vars=10)
    assert solve(BinaryProgram(linear=np.ones(10)), max_vars=10).status == "optimal"


def test_solver_declaration():
    assert get_solver("brute") is SOLVER
    assert SOLVER.parse_params({}) == {"max_vars": 26, "max_perm": 10, "chunk": 65536}
    assert SOLVER.parse_params({"max_vars": "12"})["max_vars"] == 12


def test_msp_uses_the_absolute_deviation_not_the_surrogate():
    p = MSP.generate(seed=3, m=2, n=10, max_demand=20)
    ref = min(
        sum(abs(sum(d * v for d, v in zip(row, x)) - b) for row, b in zip(p.demands, p.targets))
        for x in itertools.product((0, 1), repeat=10)
    )
    result = solve(p)
    assert result.status == "optimal" and result.objective == ref
    assert p.objective(result.x) == ref
    # the counterexample of the squared surrogate: brute on the problem vs on its program
    q = MSP([[5], [2]], [3, 0])
    assert solve(q).objective == 3 and solve(q).x.tolist() == [0]
    assert solve(q.program).objective == 8 and solve(q.program).x.tolist() == [1]


@pytest.mark.parametrize(
    "cls, file, optimum",
    [
        (MDKP, "mdkp/pet2.dat", 87061),
        (MDKP, "mdkp/pet3.dat", 4015),
        (MDKP, "mdkp/pb5.dat", 2139),
        (MIS, "mis/1tc.8.txt", 4),
        (MIS, "mis/1tc.16.txt", 8),
    ],
)
def test_shipped_instances_have_their_published_optimum(cls, file, optimum):
    p = cls.read(INSTANCES / file)
    result = solve(p)
    assert result.status == "optimal" and result.objective == optimum
    assert p.is_feasible(result.x) and p.objective(result.x) == optimum
    assert result.n_evaluations == 2**p.n_vars


def test_mis_matches_networkx_maximum_independent_set():
    import networkx as nx

    for seed in range(4):
        p = MIS.generate(seed=seed, n=12)
        clique = max(len(c) for c in nx.find_cliques(nx.complement(p.graph)))
        assert solve(p).objective == clique


# ---- permutations -----------------------------------------------------------------------


class Assignment(PermutationProblem):
    """A linear assignment problem (max sum_i C[i, p(i)]): a tiny PermutationProblem for tests."""

    kind: ClassVar[str] = "assignment"

    def __init__(self, C):
        self.C = np.asarray(C, dtype=float)

    @property
    def sense(self) -> str:
        return "max"

    @property
    def perm_size(self) -> int:
        return self.C.shape[0]

    def size(self):
        return {"n": self.perm_size}

    def to_program(self):
        n = self.perm_size
        A = assignment_constraints(n)
        return BinaryProgram(self.C.ravel(), A=A, b=np.ones(2 * n), senses=("==",) * 2 * n,
                             sense="max")  # fmt: skip

    def permutation_costs(self, perms):
        P = np.atleast_2d(perms)
        return self.C[np.arange(self.perm_size), P].sum(axis=1)

    def write(self, path):
        raise NotImplementedError

    @classmethod
    def read(cls, path):
        raise NotImplementedError

    @classmethod
    def generate(cls, seed=0, n=5):
        return cls(np.random.default_rng(seed).integers(0, 50, size=(n, n)))


@pytest.mark.parametrize(
    "n, fixed, chunk", [(1, 0, 5), (4, 0, 1), (5, 0, 7), (6, 1, 24), (7, 0, 10**6)]
)
def test_permutation_blocks_are_all_permutations_in_order(n, fixed, chunk):
    blocks = list(_permutation_blocks(n, fixed, chunk))
    got = np.concatenate(blocks)
    expected = [
        p for p in itertools.permutations(range(n)) if list(p[:fixed]) == list(range(fixed))
    ]
    np.testing.assert_array_equal(got, np.array(expected).reshape(-1, n))
    assert all(len(b) <= max(chunk, 1) for b in blocks)


def test_max_sense_permutations_match_the_hungarian_algorithm():
    from scipy.optimize import linear_sum_assignment

    for seed in range(5):
        p = Assignment.generate(seed=seed, n=7)
        rows, cols = linear_sum_assignment(p.C, maximize=True)
        result = solve(p)
        assert result.status == "optimal" and result.n_evaluations == math.factorial(7)
        assert result.objective == p.C[rows, cols].sum()
        assert p.to_program().objective(result.x) == result.objective


@pytest.mark.parametrize("seed", range(4))
def test_qap_permutations_equal_bitstrings_of_the_program(seed):
    p = QAP.generate(seed=seed, n=3)
    by_perm = solve(p)
    by_bits = solve(p.program)
    assert by_perm.n_evaluations == 6 and by_bits.n_evaluations == 2**9
    assert by_perm.status == by_bits.status == "optimal"
    assert by_perm.objective == by_bits.objective
    assert p.program.objective(by_perm.x) == by_perm.objective
    assert p.is_feasible(by_perm.x)


def qap_reference(flow, dist) -> float:
    n = len(flow)
    return min(
        sum(flow[i][j] * dist[p[i]][p[j]] for i in range(n) for j in range(n))
        for p in itertools.permutations(range(n))
    )


def test_qap_matches_python_loop_over_permutations():
    p = QAP.generate(seed=5, n=6, kind="nugent")
    result = solve(p, chunk=100)
    assert result.objective == qap_reference(p.flow.tolist(), p.dist.tolist())
    assert result.n_evaluations == 720
    assert p.permutation_costs(np.array(result.info["perm"])) == result.objective


def test_tsp_permutations_equal_bitstrings_of_the_program():
    p = TSP.generate(seed=2, n=4)
    by_perm = solve(p)
    by_bits = solve(p.program)  # 2^16 states
    assert by_perm.objective == by_bits.objective
    expected = math.factorial(3) if TSP.perm_symmetric_start else math.factorial(4)
    assert by_perm.n_evaluations == expected
    assert p.program.objective(by_perm.x) == by_perm.objective


class FixedStartTSP(TSP):
    perm_symmetric_start: ClassVar[bool] = True


class FreeStartTSP(TSP):
    perm_symmetric_start: ClassVar[bool] = False


@pytest.mark.parametrize("seed", range(3))
def test_fixing_the_first_city_is_a_valid_reduction(seed):
    base = TSP.generate(seed=seed, n=7)
    fixed = solve(FixedStartTSP(dist=base.dist))
    free = solve(FreeStartTSP(dist=base.dist))
    assert fixed.n_evaluations == 720 and free.n_evaluations == 5040
    assert fixed.objective == free.objective
    assert fixed.info["perm"][0] == 0 and fixed.info["fixed_first"]
    tours = [[0, *rest] for rest in itertools.permutations(range(1, 7))]
    d = base.dist.tolist()
    assert fixed.objective == min(sum(d[t[i]][t[(i + 1) % 7]] for i in range(7)) for t in tours)


def test_refuses_too_many_permutations_with_numbers():
    with pytest.raises(ResourceError) as info:
        solve(QAP.generate(seed=0, n=11))
    msg = str(info.value)
    assert "n=11" in msg and "39,916,800" in msg and "max_perm=10" in msg
    with pytest.raises(ResourceError, match="720"):
        solve(QAP.generate(seed=0, n=6), max_perm=5)
    with pytest.raises(ResourceError, match=r"\(n-1\)! = 5! = 120"):
        solve(FixedStartTSP(dist=TSP.generate(seed=0, n=6).dist), max_perm=4)
    assert solve(FixedStartTSP(dist=TSP.generate(seed=0, n=6).dist), max_perm=5).status == "optimal"


def test_permutation_problem_through_its_program_uses_bitstrings():
    p = QAP.generate(seed=1, n=3)
    assert solve(p.program).info["method"] == "bitstrings"
    assert solve(p).info["method"] == "permutations"
