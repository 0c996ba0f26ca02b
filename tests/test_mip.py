"""The mip solver against known optima (SAC-94, Sloane, TSPLIB) and brute-force references."""

from __future__ import annotations

import itertools
import sys
from importlib.resources import files
from pathlib import Path
from time import perf_counter

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from qbench.errors import ConfigError
from qbench.problems.base import Problem
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP
from qbench.program import BinaryProgram
from qbench.solvers import brute, mip

INSTANCES = Path(str(files("qbench.data") / "instances"))
ENGINES = ("cbc", "highs")

MDKP_OPTIMA = {
    "hp1": 3418,
    "hp2": 3186,
    "pb1": 3090,
    "pb2": 3186,
    "pb4": 95168,
    "pb5": 2139,
    "pet2": 87061,
    "pet3": 4015,
    "pet4": 6120,
    "pet5": 12400,
    "pet6": 10618,
    "pet7": 16537,
}
MIS_OPTIMA = {"1tc.8": 4, "1tc.16": 8, "1tc.32": 12, "1tc.64": 20, "1et.64": 18, "1dc.64": 10}
TSP_OPTIMA = {"burma14": 3323, "ulysses16": 6859, "gr17": 2085}


def check_solution(problem, result, optimum: float | None = None) -> None:
    """The result is optimal, feasible, self-consistent and (if given) equal to the optimum."""
    assert result.status == "optimal", result.info
    assert result.x is not None and result.x.shape == (problem.n_vars,)
    assert set(np.unique(result.x)) <= {0, 1}
    assert bool(problem.is_feasible(result.x))
    assert float(problem.objective(result.x)) == result.objective
    assert result.bound == result.objective
    if optimum is not None:
        assert result.objective == optimum


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(MDKP_OPTIMA))
def test_mdkp_sac94_optima(name: str, engine: str) -> None:
    problem = MDKP.read(INSTANCES / "mdkp" / f"{name}.dat")
    result = mip.solve(problem, engine=engine, seed=0)
    check_solution(problem, result, MDKP_OPTIMA[name])
    assert result.iterations == 1
    assert result.info["engine"] == engine
    assert result.info["n_mip_vars"] == problem.size()["n"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(MIS_OPTIMA))
def test_mis_sloane_optima(name: str, engine: str) -> None:
    problem = MIS.read(INSTANCES / "mis" / f"{name}.txt")
    result = mip.solve(problem, engine=engine, seed=0)
    check_solution(problem, result, MIS_OPTIMA[name])
    assert result.x.sum() == MIS_OPTIMA[name]
    chosen = np.flatnonzero(result.x)
    assert problem.graph.subgraph(chosen.tolist()).number_of_edges() == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(TSP_OPTIMA))
def test_tsplib_optima(name: str, engine: str) -> None:
    problem = TSP.read(INSTANCES / "tsp" / f"{name}.tsp")
    result = mip.solve(problem, engine=engine, seed=0)
    check_solution(problem, result, TSP_OPTIMA[name])
    perm = problem.x_to_perm(result.x)
    assert perm[0] == 0  # the tour is reported starting from city 0
    assert result.iterations >= 1 and result.info["subtour_cuts"] >= 0


@pytest.mark.parametrize(
    ("kind", "n", "seed"),
    [("taillard", 5, 0), ("nugent", 5, 1), ("taillard", 6, 2), ("nugent", 6, 5)],
)
def test_qap_matches_brute_force(kind: str, n: int, seed: int) -> None:
    problem = QAP.generate(seed=seed, n=n, kind=kind)
    reference = brute.solve(problem).objective
    for engine in ENGINES:
        check_solution(problem, mip.solve(problem, engine=engine), reference)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("kind", "seed"), [("nugent", 3), ("taillard", 4), ("taillard", 6)])
def test_qap_matches_brute_force_more(kind: str, seed: int, engine: str) -> None:
    problem = QAP.generate(seed=seed, n=6, kind=kind)
    check_solution(problem, mip.solve(problem, engine=engine), brute.solve(problem).objective)


def test_qap_with_negative_data_uses_the_generic_linearisation() -> None:
    rng = np.random.default_rng(5)
    flow = rng.integers(-9, 10, (4, 4))
    dist = rng.integers(-9, 10, (4, 4))
    problem = QAP(flow, dist, name="qap-negative")
    perms = np.array(list(itertools.permutations(range(4))))
    reference = float(problem.permutation_costs(perms).min())
    for engine in ENGINES:
        result = mip.solve(problem, engine=engine)
        check_solution(problem, result, reference)
        assert result.info["n_mip_vars"] > 16  # x plus one y per quadratic term


@pytest.mark.parametrize("kind", ["euclidean", "random"])
@pytest.mark.parametrize("n", [5, 6])
def test_tsp_matches_brute_force(kind: str, n: int) -> None:
    for seed in range(3):
        problem = TSP.generate(seed=seed, n=n, kind=kind)
        reference = brute.solve(problem).objective
        for engine in ENGINES:
            check_solution(problem, mip.solve(problem, engine=engine), reference)


def test_tsp_with_three_cities_is_the_only_tour() -> None:
    problem = TSP(dist=np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]]), name="tri")
    check_solution(problem, mip.solve(problem), 12)


@pytest.mark.parametrize("seed", range(4))
def test_msp_matches_exhaustive_enumeration(seed: int) -> None:
    problem = MSP.generate(seed=seed, m=2, n=10)
    every = np.array(list(itertools.product((0, 1), repeat=10)))
    reference = float(np.abs(every @ problem.demands.T - problem.targets).sum(axis=1).min())
    for engine in ENGINES:
        result = mip.solve(problem, engine=engine)
        check_solution(problem, result, reference)
        assert result.info["n_mip_vars"] == 10 + 2 * 2


def random_program(seed: int) -> BinaryProgram:
    """A small program with every constraint sense and both objective signs."""
    rng = np.random.default_rng(seed)
    n = 8
    quadratic = sp.random(n, n, density=0.4, random_state=seed)
    quadratic.data = np.round(quadratic.data * 20 - 10)
    return BinaryProgram(
        rng.integers(-5, 6, n),
        quadratic,
        constant=3.0,
        A=rng.integers(-3, 4, (3, n)),
        b=rng.integers(-2, 5, 3),
        senses=tuple(rng.choice(["<=", ">=", "=="], 3)),
        sense=("min", "max")[seed % 2],
    )


@pytest.mark.parametrize("seed", range(12))
def test_generic_program_matches_brute_force(seed: int) -> None:
    program = random_program(seed)
    reference = brute.solve(program)
    for engine in ENGINES:
        result = mip.solve(program, engine=engine, seed=seed)
        if reference.status == "infeasible":
            assert result.status == "infeasible" and result.x is None
        else:
            check_solution(program, result, reference.objective)


def test_infeasible_program_is_reported() -> None:
    program = BinaryProgram(np.ones(3), A=np.ones((1, 3)), b=[4.0], senses=(">=",))
    for engine in ENGINES:
        result = mip.solve(program, engine=engine)
        assert result.status == "infeasible"
        assert result.x is None and result.objective is None


class CustomProblem(Problem):
    """A problem kind the mip solver has no formulation for: solved through its program."""

    kind = "custom"

    def __init__(self, program: BinaryProgram):
        self._program = program

    @property
    def sense(self) -> str:
        return self._program.sense

    def to_program(self) -> BinaryProgram:
        return self._program

    def size(self) -> dict[str, int]:
        return {"n": self._program.n_vars}

    def repair(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(self._program.n_vars)

    def write(self, path) -> None:
        raise NotImplementedError

    @classmethod
    def read(cls, path):
        raise NotImplementedError

    @classmethod
    def generate(cls, seed: int = 0, **params):
        raise NotImplementedError


def test_unknown_problem_kind_goes_through_its_program() -> None:
    # a 4-item knapsack: {0, 1} and {2, 3} both weigh 5 and are worth 9, the best
    program = BinaryProgram(
        [5, 4, 3, 6], A=np.array([[2, 3, 1, 4]]), b=[5], senses=("<=",), sense="max"
    )
    problem = CustomProblem(program)
    result = mip.solve(problem)
    check_solution(problem, result, brute.solve(program).objective)
    assert result.objective == 9


def test_engines_agree_and_seed_is_deterministic() -> None:
    problem = MDKP.read(INSTANCES / "mdkp" / "pb5.dat")
    runs = [mip.solve(problem, engine=engine, seed=7) for engine in ENGINES for _ in range(2)]
    assert len({r.objective for r in runs}) == 1
    assert np.array_equal(runs[0].x, runs[1].x) and np.array_equal(runs[2].x, runs[3].x)


@pytest.mark.parametrize("engine", ENGINES)
def test_thread_counts_can_change_between_solves(engine: str) -> None:
    problem = MDKP.read(INSTANCES / "mdkp" / "pet3.dat")
    for threads in (1, 2, None, 1):
        check_solution(problem, mip.solve(problem, engine=engine, threads=threads), 4015)


@pytest.mark.parametrize("engine", ENGINES)
def test_time_limit_never_claims_optimal(engine: str) -> None:
    problem = QAP.read(INSTANCES / "qap" / "nug12.dat")  # optimum 578; far beyond KB's reach
    for limit in (0.01, 0.5):
        result = mip.solve(problem, engine=engine, time_limit=limit)
        assert result.status in ("feasible", "timeout")
        assert result.bound is None or result.bound <= 578
        if result.status == "feasible":
            assert bool(problem.is_feasible(result.x))
            assert problem.objective(result.x) == result.objective >= 578
            assert result.bound is None or result.bound <= result.objective
        else:
            assert result.x is None and result.objective is None


@pytest.mark.parametrize("engine", ENGINES)
def test_tsp_time_limit_covers_the_cut_loop(engine: str) -> None:
    problem = TSP.generate(seed=1, n=80, kind="euclidean")  # several seconds to prove optimal
    result = mip.solve(problem, engine=engine, time_limit=0.4)
    assert result.status in ("feasible", "timeout")
    assert result.info["time_s"] < 5
    if result.status == "feasible":
        assert bool(problem.is_feasible(result.x))
        assert problem.objective(result.x) == result.objective
        assert result.bound is None or result.bound <= result.objective


def test_gap_rel_stops_early_without_claiming_more_than_proven() -> None:
    problem = TSP.generate(seed=1, n=30, kind="euclidean")
    exact = mip.solve(problem)
    for engine in ENGINES:
        result = mip.solve(problem, engine=engine, gap_rel=0.2)
        assert result.status in ("optimal", "feasible")
        assert bool(problem.is_feasible(result.x))
        assert result.bound <= exact.objective <= result.objective
        assert result.objective - result.bound <= 0.2 * result.objective
        if result.status == "optimal":
            assert result.objective == exact.objective == result.bound


def test_patch_joins_subtours_by_the_cheapest_exchange() -> None:
    rng = np.random.default_rng(0)
    pts = rng.random((7, 2))
    dist = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    cycles = [[0, 1, 2, 3], [4, 5, 6]]
    tour = mip._patch(cycles, dist)
    assert sorted(tour) == list(range(7))

    def length(t: list[int]) -> float:
        return float(sum(dist[t[i], t[(i + 1) % len(t)]] for i in range(len(t))))

    best = min(
        length(cycles[0][: i + 1] + seq + cycles[0][i + 1 :])
        for i in range(4)
        for j in range(3)
        for seq in (
            [cycles[1][(j + 1 + t) % 3] for t in range(3)],
            [cycles[1][(j - t) % 3] for t in range(3)],
        )
    )
    assert length(tour) == pytest.approx(best)
    perm = mip._tour_perm(tour)
    assert perm[0] == 0 and sorted(perm) == list(range(7))


def test_bad_parameters_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="allowed: cbc, highs"):
        mip.SOLVER.parse_params({"engine": "gurobi"})
    params = mip.SOLVER.parse_params({"engine": "highs", "time_limit": "2.5", "msg": "no"})
    assert params == {
        "engine": "highs",
        "time_limit": 2.5,
        "gap_rel": None,
        "threads": None,
        "msg": False,
    }
    problem = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    with pytest.raises(ConfigError, match="engine"):
        mip.solve(problem, engine="gurobi")
    with pytest.raises(ConfigError, match="time_limit"):
        mip.solve(problem, time_limit=0)


def test_missing_highspy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "highspy", None)  # makes `import highspy` fail
    problem = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    with pytest.raises(ConfigError, match=r"pip install qbench\[highs\]"):
        mip.solve(problem, engine="highs")


# ----------------------------------------------------------------------------- time limits


def hard_mis() -> MIS:
    """The complement of G(300, 0.244): as dense as the DIMACS p_hat300-1's complement (34 000
    edges, a clique cover of 8 300 rows), on which HiGHS's presolve ran 332 s past a 120 s
    limit; the old greedy cover alone took 6 s on it."""
    return MIS(nx.complement(nx.gnp_random_graph(300, 0.244, seed=1)), name="co-gnp-300")


def timed_solve(problem, **params):
    """The result of ``mip.solve`` and the wall time of the whole call."""
    start = perf_counter()
    result = mip.solve(problem, **params)
    return result, perf_counter() - start


def test_clique_cover_covers_every_edge_with_cliques() -> None:
    graph = nx.gnp_random_graph(60, 0.5, seed=3)
    cliques = mip._clique_cover(graph)
    covered = set()
    for clique in cliques:
        assert graph.subgraph(clique).number_of_edges() == len(clique) * (len(clique) - 1) // 2
        covered |= {frozenset(e) for e in itertools.combinations(clique, 2)}
    assert covered == {frozenset(e) for e in graph.edges()}


@pytest.mark.parametrize("engine", ENGINES)
def test_time_limit_counts_the_model_build(engine: str) -> None:
    problem = hard_mis()  # its clique cover alone takes about 0.4 s
    result, wall = timed_solve(problem, engine=engine, time_limit=0.05)
    assert result.status == "timeout"
    assert result.x is None and result.objective is None and result.bound is None
    assert "building the model" in result.info["message"]
    assert wall < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_time_limit_holds_on_a_hard_dense_mis(engine: str) -> None:
    problem = hard_mis()
    limit = 3.0
    result, wall = timed_solve(problem, engine=engine, time_limit=limit, seed=0)
    assert wall <= 1.1 * limit + 2.0, (wall, result.info)
    assert result.status in ("feasible", "timeout")
    assert result.info["n_mip_constraints"] > 8000  # the whole cover was built in time
    if result.status == "feasible":
        chosen = np.flatnonzero(result.x).tolist()
        assert problem.graph.subgraph(chosen).number_of_edges() == 0
        assert result.objective == len(chosen)
        assert result.bound is None or result.bound >= result.objective


def fake_engine(folder: Path, records: str = "") -> str:
    """An executable that ignores its arguments and hangs (after writing ``records`` to the
    HiGHS child's records file, its third argument), like an engine stuck in presolve."""
    script = folder / "stuck-engine"
    write = f"printf '{records}' > \"$3/records.jsonl\"\n" if records else ""
    script.write_text(f"#!/bin/sh\n{write}exec sleep 60\n")
    script.chmod(0o755)
    return str(script)


def test_stuck_cbc_is_killed_past_the_grace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(mip, "_cbc_path", lambda: fake_engine(tmp_path))
    problem = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    result, wall = timed_solve(problem, engine="cbc", time_limit=0.5)
    assert result.status == "timeout" and result.x is None
    assert "past the time limit: stopped" in result.info["message"]
    assert 0.5 <= wall < 0.5 + mip.grace(0.5) + 0.5


def test_stuck_highs_keeps_what_it_streamed_before_the_kill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    records = '{"bound": 5.0}\\n{"x": [[0], [1.0]]}\\n'
    monkeypatch.setattr(sys, "executable", fake_engine(tmp_path, records))
    problem = MDKP([3, 2], [[1, 1]], [1], name="two-items")
    result, wall = timed_solve(problem, engine="highs", time_limit=0.5)
    assert result.status == "feasible"
    assert result.x.tolist() == [1, 0] and result.objective == 3 and result.bound == 5
    assert "past the time limit: stopped" in result.info["message"]
    assert wall < 0.5 + mip.grace(0.5) + 1.0


# ----------------------------------------------------------------------------- coefficients


@pytest.mark.parametrize("engine", ENGINES)
def test_huge_coefficients_are_refused_not_called_infeasible(engine: str) -> None:
    # always feasible (the empty knapsack fits); both engines used to call it infeasible
    program = BinaryProgram([3, 2], A=[[1, 1]], b=[1e20], senses=("<=",), sense="max")
    with pytest.raises(ConfigError, match=r"right-hand side of program row 0 = 1e\+20.*1e\+13"):
        mip.solve(program, engine=engine)
    mdkp = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    mdkp.weights[0, 3] = 1e300  # past the readers' checks, as a program built in Python can be
    with pytest.raises(ConfigError, match=r"coefficient of x_3 in capacity row 0 = 1e\+300"):
        mip.solve(mdkp, engine=engine)
    tsp = TSP.generate(seed=0, n=6)
    tsp.dist[1, 2] = tsp.dist[2, 1] = 1e20
    with pytest.raises(ConfigError, match=r"objective coefficient of edge \(1, 2\) = 1e\+20"):
        mip.solve(tsp, engine=engine)
    with pytest.raises(ConfigError, match="objective coefficient of x_0 = nan"):
        mip.solve(BinaryProgram([np.nan, 1.0]), engine=engine)


def scaled_mdkp(scale: float) -> MDKP:
    """A 30-item, 3-resource knapsack with weights and capacities times ``scale`` (the optimal
    choice does not change); at 1e6 (weights near 1e9) CBC proved an optimum 0.06 % short."""
    rng = np.random.default_rng(9)
    weights = rng.integers(1, 1000, (3, 30)).astype(float)
    profits = rng.integers(1, 1000, 30).astype(float)
    caps = np.floor(weights.sum(axis=1) / 2)
    return MDKP(profits, weights * scale, caps * scale, name=f"scaled-{scale:g}")


def test_cbc_refuses_constraint_coefficients_it_solves_wrongly() -> None:
    reference = mip.solve(scaled_mdkp(1), engine="highs").objective
    big = scaled_mdkp(1e6)
    with pytest.raises(ConfigError, match=r"<= 1e\+08 of engine 'cbc'.*engine=highs"):
        mip.solve(big, engine="cbc")
    check_solution(big, mip.solve(big, engine="highs"), reference)
    within = scaled_mdkp(1e5)  # weights up to 1e8: CBC is exact there
    check_solution(within, mip.solve(within, engine="cbc"), reference)


def test_coefficients_reach_the_engines_in_full_precision() -> None:
    # PuLP's MPS writer keeps 13 digits: 1234567890123.4 < 2 x 617283945061.65 there, and CBC
    # claimed the pair optimal
    program = BinaryProgram(
        [1234567890123.4, 617283945061.65, 617283945061.65],
        A=np.array([[1, 1, 0], [1, 0, 1]]),
        b=[1, 1],
        senses=("<=", "<="),
        sense="max",
    )
    for engine in ENGINES:
        result = mip.solve(program, engine=engine)
        assert result.status == "optimal" and result.x.tolist() == [1, 0, 0]


def test_an_infeasible_claim_for_a_feasible_problem_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mip, "_run", lambda *args: mip._Run("infeasible", None, 0.0))
    problem = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    result = mip.solve(problem)
    assert result.status == "error" and result.x is None
    assert "a feasible solution exists" in result.info["message"]


def test_parameters_declare_their_ranges() -> None:
    bounds = {p.name: p.bounds for p in mip.SOLVER.params}
    assert bounds["time_limit"] == "(0, inf)"
    assert bounds["gap_rel"] == "[0, inf)"
    assert bounds["threads"] == "[1, inf)"
    for key, value in (("time_limit", "0"), ("time_limit", "inf"), ("gap_rel", "-0.1")):
        with pytest.raises(ConfigError, match=f"{key}=.*out of range"):
            mip.SOLVER.parse_params({key: value})
    with pytest.raises(ConfigError, match=r"threads=.*out of range; allowed: \[1, inf\)"):
        mip.SOLVER.parse_params({"threads": "0"})
    params = mip.SOLVER.parse_params({"time_limit": "0.001", "gap_rel": "0", "threads": "1"})
    assert (params["time_limit"], params["gap_rel"], params["threads"]) == (0.001, 0.0, 1)
    problem = MDKP.read(INSTANCES / "mdkp" / "pet2.dat")
    for key, value in (("gap_rel", -1), ("threads", 0), ("time_limit", float("nan"))):
        with pytest.raises(ConfigError, match=key):
            mip.solve(problem, **{key: value})


# ----------------------------------------------------------------------------- output


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("time_limit", [None, 30.0])
def test_engines_write_nothing_to_stdout(
    engine: str, time_limit: float | None, capfd: pytest.CaptureFixture[str]
) -> None:
    """HiGHS prints its banner from C when a Highs object is made (in this process without a
    time limit, in a child with one): stdout, captured at the descriptor, must stay empty."""
    from qbench.solvers import get_solver

    problem = MDKP.read(INSTANCES / "mdkp" / "pet3.dat")
    capfd.readouterr()
    result = get_solver("mip").solve(problem, engine=engine, time_limit=time_limit)
    out, err = capfd.readouterr()
    assert result.status == "optimal" and result.objective == 4015
    assert out == "" and "HiGHS" not in err


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("time_limit", [None, 30.0])
def test_msg_sends_the_engine_log_to_stderr(
    engine: str, time_limit: float | None, capfd: pytest.CaptureFixture[str]
) -> None:
    problem = MDKP.read(INSTANCES / "mdkp" / "pet3.dat")
    capfd.readouterr()
    result = mip.solve(problem, engine=engine, time_limit=time_limit, msg=True)
    out, err = capfd.readouterr()
    assert result.status == "optimal" and out == ""
    assert ("MIP has" if engine == "highs" else "Cbc") in err


def test_json_output_with_highs_is_only_the_json_line(capfd: pytest.CaptureFixture[str]) -> None:
    import json

    from qbench.cli import main

    for extra in ([], ["--set", "time_limit=30"]):
        capfd.readouterr()
        code = main(["solve", "pet3", "--set", "engine=highs", "--json", *extra])
        out, _ = capfd.readouterr()
        lines = out.splitlines()
        assert code == 0 and len(lines) == 1 and out.endswith("\n"), out
        assert json.loads(lines[0])["objective"] == 4015


def test_json_output_of_a_fresh_process_is_only_the_json_line() -> None:
    """HiGHS prints its banner once per process at most, so a test process that already ran it
    proves little: a fresh ``qbench solve --json`` with HiGHS in-process prints one line."""
    import json
    import subprocess

    argv = ["solve", "pet3", "--set", "engine=highs", "--json"]
    code = f"import sys; from qbench.cli import main; sys.exit(main({argv!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["objective"] == 4015, proc.stdout
