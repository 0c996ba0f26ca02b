"""Simplicial-node removal: exact folding, the optimum kept, answers on the full graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from qbench.encoders import get_encoder
from qbench.errors import ConfigError
from qbench.pipeline import prepare, run
from qbench.plan import Plan
from qbench.preprocessing.simplicial import apply, simplicial_fixings
from qbench.problems.mis import MIS


def mis_size(graph: nx.Graph) -> int:
    """The maximum independent set size by networkx's exact clique search on the complement."""
    return nx.max_weight_clique(nx.complement(graph), weight=None)[1] if len(graph) else 0


def test_the_comparative_study_s_reduction_of_1dc64():
    problem = prepare("1dc.64").problem
    ones, zeros = simplicial_fixings(problem.graph)
    assert len(problem.graph) - len(ones) - len(zeros) == 50 and len(ones) == 2  # 64 -> 50
    plan = Plan(prepare("1dc.64", "qaoa", encoder="qubo", preprocess="simplicial"))
    assert plan.qubits() == (50, "")  # the dry run knows the reduced size


@pytest.mark.parametrize("seed", range(12))
def test_fixings_keep_a_maximum_independent_set(seed):
    graph = nx.gnp_random_graph(11, [0.15, 0.3, 0.5][seed % 3], seed=seed)
    ones, zeros = simplicial_fixings(graph)
    assert set(ones).isdisjoint(zeros) and not any(graph.has_edge(a, b) for a in ones for b in ones)
    rest = graph.subgraph(set(graph) - set(ones) - set(zeros))
    assert len(rest) >= 1 and len(ones) + mis_size(rest) == mis_size(graph)


@pytest.mark.parametrize("seed", range(4))
def test_folding_is_exact_and_answers_expand_to_the_full_graph(seed):
    problem = MIS.generate(seed=seed, n=12, p=0.25)
    encoding = get_encoder("qubo").encode(problem.program)
    reduced = apply(problem, encoding, {}, seed=0)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (64, reduced.qubo.n_vars))
    x = reduced.expand(y)
    assert x.shape == (64, 12)
    np.testing.assert_allclose(reduced.qubo.objective(y), encoding.qubo.objective(x))
    ones, zeros = simplicial_fixings(problem.graph)
    assert (x[:, ones] == 1).all() and (x[:, zeros] == 0).all()


def test_runs_reach_the_full_optimum_and_report_the_reduced_qubits():
    for name, qubits in (("1tc.8", 1), ("1dc.64", 50)):
        solver = "brute" if qubits <= 20 else "sa"
        row = run(name, solver, encoder="qubo", preprocess="simplicial")
        assert row["status"] == "ok" and row["gap_pct"] == 0  # the full graph's optimum
        assert (row["n_qubits_before"], row["n_qubits"]) == (len(prepare(name).problem.graph),
                                                             qubits)  # fmt: skip
        assert row["preprocess"] == "simplicial" and not row["repaired"]
    assert prepare("1tc.8", "brute", encoder="qubo", preprocess="simplicial").deterministic


def test_other_problems_are_refused_with_the_reason():
    with pytest.raises(ConfigError, match="'simplicial' works on mis instances; 'nug12' is a qap"):
        prepare("nug12", "sa", encoder="qubo", preprocess="simplicial")
    with pytest.raises(ConfigError, match="unknown parameter"):
        prepare("1tc.8", "sa", {"simplicial.rounds": 1}, encoder="qubo", preprocess="simplicial")
