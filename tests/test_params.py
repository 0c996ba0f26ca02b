"""One parameter system: Param types (plain, union, list), parsed once, the same way for
generators, encoders, preprocessors, solvers and backends."""

from __future__ import annotations

import inspect

import pytest

from qbench.encoders import ENCODERS
from qbench.errors import ConfigError
from qbench.hardware import BACKENDS, FAMILIES, parse_backend_options
from qbench.params import (
    ListOf,
    OneOf,
    Param,
    Positive,
    closest,
    did_you_mean,
    lookup,
    parse_params,
)
from qbench.pipeline import prepare
from qbench.preprocessing import PREPROCESSORS
from qbench.problems import PROBLEMS, generate
from qbench.solvers import META_SOLVERS, SOLVERS


def test_union_type_takes_words_then_types_in_order():
    penalty = OneOf("auto", "tight", Positive())
    assert penalty("Tight") == "tight" and penalty(" auto ") == "auto"
    assert penalty("2.5") == 2.5 and penalty(3) == 3.0
    for bad in ("-1", 0, "x", True, float("inf")):
        with pytest.raises(ValueError):
            penalty(bad)
    assert penalty.description == "'auto', 'tight' or a positive number"
    assert OneOf(int, float)("3") == 3 and OneOf(int, float)("0.5") == 0.5


def test_list_type_takes_text_lists_and_scalars():
    angles = ListOf(float)
    assert angles("0.1, 0.2;0.3") == [0.1, 0.2, 0.3]
    assert angles([1, 2]) == [1.0, 2.0] and angles(0.5) == [0.5]
    assert ListOf(int)("1,2") == [1, 2]
    with pytest.raises(ValueError):
        angles("0.1,x")
    with pytest.raises(ValueError):
        ListOf(int)("1.5")


def test_param_errors_name_owner_parameter_and_allowed_form():
    p = Param("penalty", OneOf("auto", Positive()), "auto", "")
    with pytest.raises(ConfigError, match=r"encoder 'x': penalty must be 'auto' or a positive"):
        p.coerce("-3", "encoder 'x'")
    n = Param("n", int, 1, "")
    assert n.coerce(4.0, "o") == 4 and n.coerce("7", "o") == 7 and n.coerce("none", "o") is None
    for bad in (4.5, True, "four"):
        with pytest.raises(ConfigError, match="parameter n=.* is not a valid int"):
            n.coerce(bad, "o")
    flag = Param("f", bool, False, "")
    assert flag.coerce("yes", "o") is True and flag.coerce(0, "o") is False
    with pytest.raises(ConfigError, match="not a valid bool"):
        flag.coerce("maybe", "o")
    with pytest.raises(ConfigError, match=r"o: unknown parameter\(s\) zz; allowed: f, n"):
        parse_params((flag, n), {"zz": 1}, "o")


def test_parsed_values_reach_components_typed_once():
    prep = prepare(
        "1tc.8", "qaoa",
        {"penalty": "7", "p": "2", "init": "fixed", "gammas": "0.1,0.2", "betas": "0.3,0.4"},
    )  # fmt: skip
    assert prep.encoder_params["penalty"] == 7.0
    assert prep.solver_params["gammas"] == [0.1, 0.2] and prep.solver_params["p"] == 2
    with pytest.raises(ConfigError, match="gammas must be a comma-separated list of float"):
        prepare("1tc.8", "qaoa", {"gammas": "a,b"})


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_generator_params_declare_the_generator_signature(kind):
    """The declaration and the classmethod agree: same names, same defaults, same order."""
    cls = PROBLEMS[kind]
    signature = inspect.signature(cls.generate).parameters
    declared = {p.name: p.default for p in cls.generator_params}
    assert list(declared) == list(signature)
    assert declared == {name: p.default for name, p in signature.items()}


def test_generators_parse_text_through_the_declaration():
    problem = generate("mdkp", n="6", m="2", seed="3", correlated="false")
    assert problem.size() == {"n": 6, "m": 2}
    with pytest.raises(ConfigError, match="mis generator: parameter model='ba' not allowed"):
        generate("mis", model="ba")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) size"):
        generate("qap", size=3)


def test_every_component_declares_params_the_same_way():
    components = [*PROBLEMS.values(), *ENCODERS.values(), *PREPROCESSORS.values(),
                  *SOLVERS.values(), *META_SOLVERS.values(), *BACKENDS.values(),
                  *FAMILIES.values()]  # fmt: skip
    for comp in components:
        # problems declare generator parameters (none for file-only kinds such as lp)
        params = comp.generator_params if hasattr(comp, "generator_params") else comp.params
        assert isinstance(params, tuple) and all(isinstance(p, Param) for p in params), comp


def test_backend_options_are_declared_params():
    assert parse_backend_options("aer_noisy:fake_fez", {"optimization_level": "2"}) == {
        "optimization_level": 2
    }
    with pytest.raises(ConfigError, match="takes no options"):
        parse_backend_options("exact", {"dd": "XX"})


def test_lookup_lists_the_registry():
    assert lookup({"a": 1, "b": 2}, "b", "thing") == 2
    with pytest.raises(ConfigError, match="unknown thing 'c'; allowed: none, a, b"):
        lookup({"b": 2, "a": 1}, "c", "thing", also=("none",))


def test_bounds_apply_to_numbers_and_list_items():
    angles = Param("gammas", ListOf(float), None, "", bounds="[-4, 4]")
    assert angles.coerce("0.5,-4", "o") == [0.5, -4.0]
    with pytest.raises(ConfigError, match=r"out of range; allowed: \[-4, 4\]"):
        angles.coerce("0.5,5", "o")
    level = Param("alpha", float, 1.0, "", bounds="(0, 1]")
    assert level.coerce(None, "o") is None and level.coerce("1", "o") == 1.0
    with pytest.raises(ConfigError, match=r"alpha='0' out of range; allowed: \(0, 1\]"):
        level.coerce("0", "o")
    with pytest.raises(ValueError, match="not an interval"):
        Param("x", int, 0, "", bounds="1..2")


def test_cross_parameter_checks_name_the_component():
    from qbench.solvers import get_solver

    qaoa = get_solver("qaoa")
    assert qaoa.parse_params({"p": "2", "gammas": "0.1,0.2"})["gammas"] == [0.1, 0.2]
    with pytest.raises(ConfigError, match=r"solver 'qaoa': gammas has 1 values, expected p=2"):
        qaoa.parse_params({"p": "2", "gammas": "0.1"})
    with pytest.raises(ConfigError, match="solver 'qaoa': init=fixed needs gammas and betas"):
        qaoa.parse_params({"init": "fixed", "gammas": "0.1"})
    with pytest.raises(ConfigError, match="solver 'sa': need beta_min <= beta_max"):
        get_solver("sa").parse_params({"beta_min": "3", "beta_max": "1"})


# -- choices in any case, "did you mean" for near misses -----------------------------------------


def test_choices_match_case_insensitively_and_come_back_canonical():
    optimizer = Param("optimizer", str, "COBYLA", "", ("COBYLA", "Powell", "L-BFGS-B"))
    assert optimizer.coerce("cobyla", "o") == "COBYLA"
    assert optimizer.coerce(" powell ", "o") == "Powell"
    assert optimizer.coerce("l-bfgs-b", "o") == "L-BFGS-B"
    scale = Param("scale", str, "mean", "", ("mean", "none"))
    assert scale.coerce("None", "o") == "none"  # the choice, not the null value
    assert scale.coerce("none", "o") == "none" and scale.coerce(None, "o") is None
    level = Param("level", int, 1, "", (0, 1, 2, 3))
    assert level.coerce("2", "o") == 2 and level.coerce(3, "o") == 3
    with pytest.raises(ConfigError, match=r"level='4' not allowed; allowed: 0, 1, 2, 3$"):
        level.coerce("4", "o")
    twins = Param("t", str, "a", "", ("a", "A"))  # an exact match decides; else ambiguous
    assert twins.coerce("A", "o") == "A" and twins.coerce("a", "o") == "a"


def test_a_choice_in_another_case_keeps_the_run_id():
    spelled = {"optimizer": "cobyla", "init": "RAMP"}
    canonical = {"optimizer": "COBYLA", "init": "ramp"}
    a, b = prepare("1tc.8", "qaoa", spelled), prepare("1tc.8", "qaoa", canonical)
    assert a.solver_params == b.solver_params and a.run_id == b.run_id
    assert a.run_id == prepare("1tc.8", "qaoa").run_id  # both are the defaults
    assert prepare("pet3", "mip", {"engine": "HiGHS"}).solver_params["engine"] == "highs"


def test_unknown_values_are_refused_with_a_suggestion():
    with pytest.raises(ConfigError) as err:
        get_solver_params("qaoa", {"optimizer": "cobila"})
    assert str(err.value) == (
        "solver 'qaoa': parameter optimizer='cobila' not allowed; "
        "allowed: COBYLA, Powell, Nelder-Mead, L-BFGS-B, SPSA; did you mean 'COBYLA'?"
    )
    with pytest.raises(ConfigError, match=r"allowed: cbc, highs; did you mean 'highs'\?$"):
        get_solver_params("mip", {"engine": "hihgs"})
    with pytest.raises(ConfigError, match=r"allowed: cbc, highs$"):  # nothing close
        get_solver_params("mip", {"engine": "gurobi"})
    penalty = Param("penalty", OneOf("auto", "tight", Positive()), "auto", "")
    with pytest.raises(ConfigError, match=r"got 'atuo'; did you mean 'auto'\?$"):
        penalty.coerce("atuo", "encoder 'qubo'")


def test_unknown_parameter_names_are_refused_with_a_suggestion():
    maxiter, shots = Param("maxiter", int, 1, ""), Param("shots", int, 1, "")
    with pytest.raises(ConfigError) as err:
        parse_params((maxiter, shots), {"maxiters": 3}, "solver 'x'")
    assert str(err.value) == (
        "solver 'x': unknown parameter(s) maxiters; allowed: maxiter, shots; "
        "did you mean 'maxiter'?"
    )
    with pytest.raises(ConfigError, match=r"did you mean 'maxiter' for 'maxiters', 'shots' for"):
        parse_params((maxiter, shots), {"maxiters": 3, "shot": 1, "zzz": 0}, "o")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) MaxIter; .*'maxiter'\?$"):
        parse_params((maxiter, shots), {"MaxIter": 3}, "o")  # names are exact
    with pytest.raises(ConfigError, match=r"allowed: maxiter, shots$"):
        parse_params((maxiter, shots), {"zzz": 0}, "o")


def test_registry_lookups_suggest_the_closest_name():
    from qbench.solvers import get_solver

    with pytest.raises(ConfigError, match=r"unknown solver 'qoaa'; allowed: .*did you mean 'qaoa'"):
        get_solver("qoaa")
    with pytest.raises(ConfigError, match=r"unknown solver 'QAOA'; .*did you mean 'qaoa'\?$"):
        get_solver("QAOA")
    with pytest.raises(ConfigError, match=r"unknown thing 'nome'; allowed: none, a; did you mean"):
        lookup({"a": 1}, "nome", "thing", also=("none",))
    with pytest.raises(ConfigError, match=r"unknown thing \['a'\]; allowed: a$"):
        lookup({"a": 1}, ["a"], "thing")  # unhashable: refused, nothing suggested


def test_closest_compares_case_insensitively_and_ignores_non_text():
    assert closest("Qoaa", ["qaoa", "vqe"]) == "qaoa"
    assert closest("POWEL", ["COBYLA", "Powell"]) == "Powell"
    assert closest(3, ["3"]) is None and closest("zzz", ["qaoa"]) is None
    assert did_you_mean("mipp", ["mip"]) == "; did you mean 'mip'?"
    assert did_you_mean("magic", ["mip", "sa"]) == ""


def get_solver_params(name: str, raw: dict) -> dict:
    """The solver's parsed parameters (ConfigError on a bad one)."""
    from qbench.solvers import get_solver

    return get_solver(name).parse_params(raw)
