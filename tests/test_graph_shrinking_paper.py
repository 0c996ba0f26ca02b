"""The shipped suite of the Adaptive Graph Shrinking paper's protocol (arXiv:2506.14250):
it parses, and its dry run plans the runs the protocol asks for (shrink to round(2/3 × n),
SDP correlations recomputed after every merge, CVaR-VQE reps 5 / 8) and nothing else."""

import math
from collections import Counter
from pathlib import Path

import pytest

from qbench.suite import load_suite

SUITE = Path(__file__).resolve().parents[1] / "suites" / "graph-shrinking-paper.toml"

#: qubits of each instance's penalty QUBO before shrinking
QUBITS = {
    "1tc.8": 8,
    "1tc.16": 16,
    "qap:n=3,seed=1": 9,
    "qap:n=4,seed=1": 16,
    "mdkp:n=4,m=2,seed=1": 25,
}
SHRUNK = ("shrink-adaptive", "shrink-adaptive-aware")


@pytest.fixture(scope="module")
def suite():
    return load_suite(SUITE)


@pytest.fixture(scope="module")
def dry(suite):
    return suite.dry_run()


def test_plans_every_method_on_every_instance(suite, dry):
    assert suite.name == "graph-shrinking-paper"
    assert suite.timeout == 600
    assert all(r["fits"] for r in dry)
    # per instance: CVaR-VQE × (none, shrink, shrink-aware) × 3 seeds, brute force once on
    # the full QUBO and 3 seeds × 2 on the shrunken ones; no CVaR-VQE on MDKP's full QUBO
    assert len(dry) == 4 * (9 + 7) + 6 + 7 == 77
    cells = Counter((r["solver"], r["preprocess"], r["backend"], r["label"]) for r in dry)
    expected = {("cvar_vqe", "none", "exact", "CVaR-VQE"): 6}  # MIS only
    expected.update({("cvar_vqe", p, "exact", "CVaR-VQE"): 9 for p in SHRUNK})  # MIS, MDKP
    expected.update({("vqe", p, "exact", "CVaR-VQE"): 6 for p in ("none", *SHRUNK)})  # QAP
    expected[("brute", "none", "classical", None)] = 5  # deterministic: once per instance
    expected.update({("brute", p, "classical", None): 15 for p in SHRUNK})
    assert cells == expected
    by_instance = Counter(r["instance"] for r in dry)
    assert by_instance == {spec: 13 if spec.startswith("mdkp") else 16 for spec in QUBITS}


def test_shrinks_to_two_thirds_after_every_merge(suite, dry):
    shrunk = [cfg for cfg in suite.runs if cfg.preprocess == "shrink"]
    assert len(shrunk) == 5 * 2 * 3 * 2  # instances × rules × seeds × (CVaR-VQE, brute)
    for cfg in shrunk:
        assert math.isclose(cfg.params["shrink.target"], 2 / 3, rel_tol=0, abs_tol=1e-15)
        assert cfg.params["shrink.every"] == 1
        assert cfg.params["shrink.mode"] == "adaptive"
        assert cfg.params["shrink.correlations"] == "sdp"
        assert cfg.repair
    assert Counter(cfg.params["shrink.rules"] for cfg in shrunk) == {"none": 30, "constraints": 30}
    for r in dry:  # the paper's round(2/3 × n) qubits, the full QUBO without shrinking
        n = QUBITS[r["instance"]]
        assert r["n_qubits"] == (n if r["preprocess"] == "none" else round(2 * n / 3))


def test_cvar_vqe_settings_follow_the_paper(suite):
    vqe = [cfg for cfg in suite.runs if cfg.solver in ("cvar_vqe", "vqe")]
    assert len(vqe) == 42
    for cfg in vqe:
        p = cfg.params
        assert (p["ansatz"], p["entanglement"], p["alpha"]) == ("ry_rz_cx", "linear", 0.25)
        assert (p["optimizer"], p["maxiter"], p["init_scale"]) == ("COBYLA", 1000, math.pi)
        assert p["backend"] == "exact"  # the statevector: see the suite's header
        qap = cfg.spec.startswith("qap")
        assert p["reps"] == (8 if qap else 5)
        # QAP's table is vqe with the CVaR objective: the same computation as cvar_vqe
        assert cfg.solver == ("vqe" if qap else "cvar_vqe")
        assert p.get("objective") == ("cvar" if qap else None)
    assert Counter(cfg.seed for cfg in vqe) == {0: 14, 1: 14, 2: 14}
