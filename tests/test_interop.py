"""qbench.interop: BinaryProgram <-> qiskit-optimization QuadraticProgram, checked by round trips
on every problem kind and by qiskit's own evaluation of objectives and constraints."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from qbench.errors import ConfigError
from qbench.interop import from_quadratic_program, to_quadratic_program
from qbench.pipeline import run
from qbench.spec import load_spec

pytest.importorskip("qiskit_optimization")

SPECS = [
    "mdkp:n=8,m=3,seed=1", "pet2", "1tc.8", "qap:n=3,seed=1", "tsp:n=4,seed=0",
    "tsp_degree:n=6,seed=0", "msp:m=2,n=6,seed=0",
]  # fmt: skip


def same_program(a, b) -> None:
    assert a.sense == b.sense and a.var_names == b.var_names and a.name == b.name
    np.testing.assert_allclose(a.linear, b.linear)
    np.testing.assert_allclose(a.quadratic.toarray(), b.quadratic.toarray())
    assert a.constant == pytest.approx(b.constant)
    np.testing.assert_allclose(a.A.toarray(), b.A.toarray())
    np.testing.assert_allclose(a.b, b.b)
    assert a.senses == b.senses and a.constraint_names == b.constraint_names


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_keeps_objective_and_constraints(spec):
    program = load_spec(spec).program
    qp = to_quadratic_program(program)
    back = from_quadratic_program(qp)
    same_program(program, back)
    # qiskit evaluates the same objective and the same feasibility
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, program.n_vars))
    for x in X:
        assert qp.objective.evaluate(x) == pytest.approx(program.objective(x))
        assert qp.is_feasible(x) == program.is_feasible(x)


def test_a_model_built_in_qiskit_optimization_runs_through_qbench():
    """A knapsack built with qiskit-optimization's own application class: qbench's MIP and
    brute force find the optimum that enumerating qiskit's model finds."""
    from qiskit_optimization.applications import Knapsack

    values, weights = [10, 13, 7, 8, 15, 4], [5, 6, 3, 4, 8, 2]
    qp = Knapsack(values, weights, max_weight=14).to_quadratic_program()
    best = max(
        qp.objective.evaluate(np.array(x))
        for x in itertools.product((0, 1), repeat=6)
        if qp.is_feasible(np.array(x))
    )
    program = from_quadratic_program(qp)
    for solver in ("mip", "brute"):
        row = run(program, solver)
        assert row["feasible"] and row["objective"] == pytest.approx(best)


def test_non_binary_models_are_refused_with_what_is_wrong():
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram("mixed")
    qp.binary_var("x")
    qp.integer_var(0, 3, "k")
    with pytest.raises(ConfigError, match="'mixed': variables k are not binary"):
        from_quadratic_program(qp)
    qp = QuadraticProgram("quad")
    qp.binary_var("x")
    qp.binary_var("y")
    qp.quadratic_constraint(quadratic={("x", "y"): 1}, sense="<=", rhs=0, name="q0")
    with pytest.raises(ConfigError, match="quadratic constraints \\(q0\\)"):
        from_quadratic_program(qp)


# ---- LP and MPS files ------------------------------------------------------------------------

pytest.importorskip("highspy")

HAND_LP = """\
Maximize
 obj: 3 x + 2 y + 4 z + [ 2 x * y ] / 2
Subject To
 c1: x + y + z <= 2
 c2: x - y >= -1
 c3: x + z = 1
Binary
 x y z
End
"""


def test_a_hand_written_lp_file_reads_as_written(tmp_path):
    from qbench.interop import read_model

    path = tmp_path / "hand.lp"
    path.write_text(HAND_LP)
    program = read_model(path)
    assert program.sense == "max" and program.var_names == ["x", "y", "z"]
    np.testing.assert_allclose(program.linear, [3, 2, 4])
    assert program.quadratic.toarray()[0, 1] == 1 and program.quadratic.nnz == 1
    assert program.constraint_names == ["c1", "c2", "c3"]
    assert program.senses == ("<=", ">=", "==")
    np.testing.assert_allclose(program.b, [2, -1, 1])
    # every bitstring: objective and feasibility as written above
    for bits in itertools.product((0, 1), repeat=3):
        x, y, z = bits
        feasible = x + y + z <= 2 and x - y >= -1 and x + z == 1
        assert program.objective(np.array(bits)) == 3 * x + 2 * y + 4 * z + x * y
        assert program.is_feasible(np.array(bits)) == feasible
    row = run(load_spec(str(path)), "brute")
    assert row["problem"] == "lp" and row["objective"] == 6  # x + y or y + z


RANGED_MPS = """\
NAME          RANGED
ROWS
 N  obj
 L  c1
COLUMNS
    MARKER                 'MARKER'                 'INTORG'
    x         obj       -1   c1   1
    z         obj       -1   c1   -1
    MARKER                 'MARKER'                 'INTEND'
RHS
    rhs       c1        0
RANGES
    rng       c1        1
BOUNDS
 UP bnd       x         1
 UP bnd       z         1
ENDATA
"""


def test_a_ranged_mps_row_becomes_two_rows(tmp_path):
    from qbench.interop import read_model

    path = tmp_path / "ranged.mps"
    path.write_text(RANGED_MPS)
    program = read_model(path)  # min −x − z s.t. −1 <= x − z <= 0
    assert program.constraint_names == ["c1_lo", "c1_hi"] and program.senses == (">=", "<=")
    np.testing.assert_allclose(program.b, [-1, 0])
    feasible = [program.is_feasible(np.array(x)) for x in ((0, 0), (1, 0), (0, 1), (1, 1))]
    assert feasible == [True, False, True, True]


@pytest.mark.parametrize("spec", SPECS)
def test_lp_and_mps_files_round_trip_every_problem_kind(spec, tmp_path):
    from qbench.interop import read_model, write_model

    program = load_spec(spec).program
    X = np.random.default_rng(1).integers(0, 2, size=(40, program.n_vars))
    # MPS keeps the column order
    back = read_model(write_model(program, tmp_path / "m.mps"))
    back.name = program.name  # a file's program is named after the file
    same_program(program, back)
    # LP files fix names, not order (HiGHS numbers variables as they first appear)
    back = read_model(write_model(program, tmp_path / "m.lp"))
    assert sorted(back.var_names) == sorted(program.var_names)
    Y = np.zeros_like(X)
    Y[:, [back.var_names.index(v) for v in program.var_names]] = X
    np.testing.assert_allclose(back.objective(Y), program.objective(X))
    np.testing.assert_array_equal(back.is_feasible(Y), program.is_feasible(X))


@pytest.mark.parametrize(
    ("name", "ending", "optimum"), [("pet2", ".mps", 87061), ("1tc.16", ".lp", 8)]
)
def test_shipped_instances_written_as_model_files_solve_to_their_optima(
    name, ending, optimum, tmp_path
):
    from qbench.problems.program import ProgramProblem

    path = tmp_path / f"{name}{ending}"
    ProgramProblem(load_spec(name).program).write(path)
    forced = tmp_path / "model.txt"  # KIND:FILE reads any ending in the kind's format
    forced.write_bytes(path.read_bytes())
    for spec in (str(path), f"{ending[1:]}:{forced}"):
        row = run(spec, "mip")
        assert row["problem"] == ending[1:] and row["objective"] == optimum


def test_bad_model_files_are_refused_with_what_is_wrong(tmp_path, capsys):
    from qbench.cli import main
    from qbench.errors import InstanceFormatError
    from qbench.interop import write_model

    broken = tmp_path / "broken.lp"
    broken.write_text("Maximize\n obj: 3 x +\nSubject To\n c1: x + y <=\nEnd\n")
    with pytest.raises(InstanceFormatError, match="broken.lp: HiGHS could not read this as LP"):
        load_spec(str(broken))
    general = tmp_path / "general.lp"
    general.write_text("Minimize\n obj: x + y\nSubject To\n c1: x + y >= 1\nBounds\n"
                       " 0 <= y <= 5\nGeneral\n y\nBinary\n x\nEnd\n")  # fmt: skip
    with pytest.raises(InstanceFormatError, match="variables y are not binary"):
        load_spec(str(general))
    assert main(["solve", str(general), "--solver", "mip"]) == 2
    assert "variables y are not binary" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"must end in \.lp, \.mps"):
        write_model(load_spec("1tc.8").program, tmp_path / "x.txt")
    from qbench.problems import generate

    with pytest.raises(ConfigError, match="lp instances are read from files"):
        generate("lp")
    with pytest.raises(ConfigError, match="lp generator: unknown parameter"):
        load_spec("lp:n=3")


# ---- QOBLIB files ------------------------------------------------------------------------------

#: QOBLIB's published optimal stable set of karate (07-independentset/solutions, x#k = 1)
KARATE_OPT = [5, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 29]


def test_qoblib_files_read_by_their_endings_and_solve_to_the_published_values(tmp_path):
    from qbench.instances import shipped

    data = Path(__file__).resolve().parents[1] / "qbench" / "data" / "instances"
    graph = tmp_path / "karate.gph"  # a .gph file is told by its ending, a .dat by its header
    graph.write_bytes((data / "mis" / "karate.gph").read_bytes())
    split = tmp_path / "ms_03_050_002.dat"
    split.write_bytes((data / "msp" / "ms_03_050_002.dat").read_bytes())
    karate, market = load_spec(str(graph)), load_spec(str(split))
    assert karate.kind == "mis" and karate.size() == {"n": 34, "m": 78}
    assert (market.kind, market.size()) == ("msp", {"m": 3, "n": 20})
    x = np.zeros(34, dtype=np.int8)
    x[np.array(KARATE_OPT) - 1] = 1  # the published solution is feasible with value 20
    assert karate.is_feasible(x) and karate.objective(x) == 20
    assert run(karate, "mip")["objective"] == 20
    row = run(market, "mip")
    assert row["feasible"] and row["objective"] == 0  # a perfect split exists
    # shipped under their QOBLIB names with the published values
    assert shipped()["karate"].best_known == 20 and shipped()["ms_03_050_002"].best_known == 0
    assert load_spec("karate").best_known == 20


# ---- .qs QUBO files ----------------------------------------------------------------------------

#: ZIMPL's own reference output (-t q) of: minimize 1000 x1, Σx == 1 and x1 == 1 as penalties
ZIMPL_QS = """\
# This file was automatically generated by Zimpl
# Vars Non-zeros Offset
4 10 2
1 1 998
1 2 1
1 3 1
1 4 1
2 2 -1
2 3 1
2 4 1
3 3 -1
3 4 1
4 4 -1
"""


def test_a_zimpl_qs_file_has_the_energies_of_its_model(tmp_path):
    path = tmp_path / "zimpl.qs"
    path.write_text(ZIMPL_QS)
    problem = load_spec(str(path))
    assert problem.kind == "qubo" and problem.n_vars == 4 and problem.sense == "min"
    for bits in itertools.product((0, 1), repeat=4):
        x = np.array(bits)
        # 1000 x1 + (Σx − 1)² + (x1 − 1)²: the model ZIMPL wrote
        expected = 1000 * x[0] + (x.sum() - 1) ** 2 + (x[0] - 1) ** 2
        assert problem.objective(x) == expected
    # its penalty weight 1 is too small for the objective: the minimum is x = (0, 1, 0, 0)
    assert run(str(path), "brute")["objective"] == 1
    forced = tmp_path / "zimpl.txt"
    forced.write_text(ZIMPL_QS)
    assert load_spec(f"qubo:{forced}").n_vars == 4


@pytest.mark.parametrize("spec", ["pet2", "1tc.8", "qap:n=3,seed=1"])
def test_qs_files_round_trip_encoded_qubos(spec, tmp_path):
    from qbench.encoders import get_encoder
    from qbench.interop import read_qs, write_qs

    qubo = get_encoder("qubo").encode(load_spec(spec)).qubo
    back = read_qs(write_qs(qubo, tmp_path / "q.qs"))
    X = np.random.default_rng(2).integers(0, 2, size=(30, qubo.n_vars))
    np.testing.assert_allclose(back.objective(X), qubo.objective(X))
    # a max program is negated: the file minimises
    flipped = qubo.__class__(-qubo.linear, -qubo.quadratic, -qubo.constant, sense="max")
    np.testing.assert_allclose(read_qs(write_qs(flipped, tmp_path / "m.qs")).objective(X),
                               qubo.objective(X))  # fmt: skip
    with pytest.raises(ConfigError, match="encode it first"):
        write_qs(load_spec(spec).program, tmp_path / "c.qs")


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("3 1 0\n1 1 x\n", 2, "expected 'i j value'"),
        ("3 1\n1 4 1.0\n", 2, r"entry \(1, 4\) = 1.0 is outside 1..3"),
        ("0 0 0\n", 1, "n = 0 must be in 1.."),
        ("# only a comment\n3\n", 2, "expected 'n nnz offset'"),
    ],
)
def test_malformed_qs_files_name_the_line(text, line, match, tmp_path):
    from qbench.errors import InstanceFormatError

    path = tmp_path / "bad.qs"
    path.write_text(text)
    with pytest.raises(InstanceFormatError, match=match) as info:
        load_spec(str(path))
    assert info.value.line == line
    path.write_text("3 2 0\n1 1 1\n")
    with pytest.raises(InstanceFormatError, match="announces 2 entries, the file has 1"):
        load_spec(str(path))


ZIMPL_LP = """\
Minimize
 cost: +17 x#1 +10 __ObjOffset@2 + [ 2 x#1 * x#2 ]/2
Subject To
 c1: x#1 + x#2 + __ObjOffset@2 >= 2
Bounds
 0 <= x#1 <= 1
 0 <= x#2 <= 1
 __ObjOffset@2 = 1
General
 x#1
 x#2
End
"""


def test_fixed_columns_become_constants(tmp_path):
    """ZIMPL (and so QOBLIB's .lp models) writes an objective offset as a variable fixed at 1:
    it is substituted, leaving 17 x1 + x1 x2 + 10 s.t. x1 + x2 >= 1 over the binaries."""
    from qbench.interop import read_model

    path = tmp_path / "zimpl.lp"
    path.write_text(ZIMPL_LP)
    program = read_model(path)
    assert program.var_names == ["x#1", "x#2"] and program.constant == 10
    for bits in itertools.product((0, 1), repeat=2):
        x1, x2 = bits
        assert program.objective(np.array(bits)) == 17 * x1 + x1 * x2 + 10
        assert program.is_feasible(np.array(bits)) == (x1 + x2 >= 1)
    assert run(str(path), "brute")["objective"] == 10  # x = (0, 1)
