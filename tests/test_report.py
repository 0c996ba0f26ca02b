"""Reports from stored rows: exact tables, aggregation over seeds, plots, exports, suites."""

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qbench import cli, report
from qbench.errors import ConfigError
from qbench.report import aggregate, export, plot, plot_data, table
from qbench.tables import latex_escape

SUITES = Path(__file__).resolve().parents[1] / "suites"


def _row(problem, instance, solver, encoder, seed, objective, gap, feasible, p_feas, time,
         status="ok", n_vars=16, n_qubits=None):  # fmt: skip
    return {
        "problem": problem, "instance": instance, "solver": solver, "encoder": encoder,
        "seed": seed, "n_vars": n_vars, "n_qubits": n_qubits, "objective": objective,
        "gap_pct": gap, "feasible": feasible, "p_feasible": p_feas, "time_total_s": time,
        "status": status,
    }  # fmt: skip


#: three seeds of QAOA on 1tc.16 (objective 8, 7, 3; the last infeasible), one refused QAOA
#: run on 1tc.8, three seeds of MIP on pet2 — deliberately not in sorted order
ROWS = [
    _row("mis", "1tc.16", "qaoa", "qubo", 0, 8.0, 0.0, True, 0.5, 1.0, n_qubits=16),
    _row("mis", "1tc.16", "qaoa", "qubo", 1, 7.0, 12.5, True, 0.25, 2.0, n_qubits=16),
    _row("mis", "1tc.16", "qaoa", "qubo", 2, 3.0, None, False, 0.125, 6.0, "infeasible", 16, 16),
    _row("mis", "1tc.8", "qaoa", "qubo", 0, None, None, None, None, 0.01, "error", 8, 8),
    _row("mdkp", "pet2", "mip", "none", 0, 87061.0, 0.0, True, None, 0.5, n_vars=10),
    _row("mdkp", "pet2", "mip", "none", 1, 87061.0, 0.0, True, None, 0.25, n_vars=10),
    _row("mdkp", "pet2", "mip", "none", 2, 87061.0, 0.0, True, None, 0.75, n_vars=10),
]


@pytest.fixture
def df():
    frame = pd.DataFrame(ROWS)
    frame["feasible_raw"] = frame["feasible"]  # no repair in these rows
    # columns the newer figure kinds read; the same parameters in every run of a solver
    frame["approx_ratio"] = [1.0, 7 / 8, None, None, 1.0, 1.0, 1.0]
    frame["p_optimal"] = [0.5, 0.25, 0.0, None, None, None, None]
    frame["time_solve_s"] = frame["time_total_s"] * 0.5
    frame["params"] = ['{"maxiter": 20, "p": 1}'] * 4 + ['{"engine": "cbc"}'] * 3
    return frame


# ------------------------------------------------------------------------------------ tables

MARKDOWN = """\
| problem | instance | solver | encoder | runs | errors | objective | objective_std | gap_pct | n_gap_pct | feasible | p_feasible | time_total_s |
|---------|----------|--------|---------|------|--------|-----------|---------------|---------|-----------|----------|------------|--------------|
| mdkp    | pet2     | mip    | none    | 3    | 0      | 87061     | 0             | 0       | 3         | 1        | -          | 0.5          |
| mis     | 1tc.8    | qaoa   | qubo    | 1    | 1      | -         | -             | -       | 0         | -        | -          | -            |
| mis     | 1tc.16   | qaoa   | qubo    | 3    | 0      | 6         | 2.646         | 6.25    | 2         | 0.6667   | 0.2917     | 3            |"""  # noqa: E501

LATEX = r"""\begin{tabular}{llllrrrrrrrrr}
\toprule
problem & instance & solver & encoder & runs & errors & objective & objective\_std & gap\_pct & n\_gap\_pct & feasible & p\_feasible & time\_total\_s \\
\midrule
mdkp & pet2 & mip & none & 3 & 0 & 87061 & 0 & 0 & 3 & 1 & - & 0.5 \\
mis & 1tc.8 & qaoa & qubo & 1 & 1 & - & - & - & 0 & - & - & - \\
mis & 1tc.16 & qaoa & qubo & 3 & 0 & 6 & 2.646 & 6.25 & 2 & 0.6667 & 0.2917 & 3 \\
\bottomrule
\end{tabular}"""  # noqa: E501

CSV = """\
problem,instance,solver,encoder,runs,errors,objective,objective_std,gap_pct,n_gap_pct,feasible,p_feasible,time_total_s
mdkp,pet2,mip,none,3,0,87061,0,0,3,1,,0.5
mis,1tc.8,qaoa,qubo,1,1,,,,0,,,
mis,1tc.16,qaoa,qubo,3,0,6,2.645751311,6.25,2,0.6666666667,0.2916666667,3"""  # noqa: E501


@pytest.mark.parametrize("fmt, expected", [("md", MARKDOWN), ("latex", LATEX), ("csv", CSV)])
def test_table_output_is_exactly_as_expected(df, fmt, expected):
    # sorted naturally (1tc.8 before 1tc.16), error rows counted but left out of the metrics,
    # feasible as a fraction, std of the first numeric metric (sqrt(7) for 8, 7, 3); the gap
    # covers 2 of the 3 runs of 1tc.16 (one answer is infeasible), so n_gap_pct says so
    assert table(df, fmt=fmt) == expected
    assert table(df.iloc[::-1].reset_index(drop=True), fmt=fmt) == expected  # order-independent


@pytest.mark.parametrize(
    "agg, objective, time",
    [("mean", 6.0, 3.0), ("median", 7.0, 2.0), ("min", 3.0, 1.0), ("max", 8.0, 6.0)],
)
def test_aggregation_over_seeds(df, agg, objective, time):
    out = aggregate(df, by=["instance"], metric=["objective", "time_total_s", "feasible"], agg=agg)
    assert list(out["instance"]) == ["1tc.8", "1tc.16", "pet2"]
    qaoa = out[out["instance"] == "1tc.16"].iloc[0]
    assert qaoa["runs"] == 3 and qaoa["errors"] == 0
    assert qaoa["objective"] == pytest.approx(objective)
    assert qaoa["time_total_s"] == pytest.approx(time)
    assert qaoa["feasible"] == pytest.approx(2 / 3)  # a fraction whatever the aggregation
    mip = out[out["instance"] == "pet2"].iloc[0]
    assert mip["time_total_s"] == pytest.approx({"mean": 0.5, "median": 0.5, "min": 0.25,
                                                 "max": 0.75}[agg])  # fmt: skip
    assert ("objective_std" in out.columns) == (agg == "mean")
    if agg == "mean":
        assert qaoa["objective_std"] == pytest.approx(np.std([8, 7, 3], ddof=1))


def test_grouping_by_seed_and_comma_lists(df):
    out = aggregate(df, by=["solver,seed"], metric=["objective"])
    assert list(zip(out["solver"], out["seed"])) == [
        ("mip", 0), ("mip", 1), ("mip", 2), ("qaoa", 0), ("qaoa", 1), ("qaoa", 2)
    ]  # fmt: skip
    assert list(out["runs"]) == [1, 1, 1, 2, 1, 1]  # qaoa seed 0: 1tc.16 and the refused 1tc.8
    assert list(out["objective"]) == [87061.0, 87061.0, 87061.0, 8.0, 7.0, 3.0]


def test_missing_group_keys_form_their_own_group(df):
    df.loc[0, "encoder"] = None
    out = aggregate(df, by=["encoder"], metric=["objective"])
    assert [None if pd.isna(v) else v for v in out["encoder"]] == ["none", "qubo", None]
    assert list(out["runs"]) == [3, 3, 1]


def test_unknown_columns_list_the_allowed_ones(df):
    with pytest.raises(ConfigError, match=r"unknown --by column\(s\) nosuch; allowed: .*instance"):
        table(df, by=["problem", "nosuch"])
    with pytest.raises(ConfigError, match=r"--metric column\(s\) status; allowed: .*gap_pct"):
        table(df, metric=["objective", "status"])  # a text column is no metric
    with pytest.raises(ConfigError, match="allowed: mean, median, min, max"):
        table(df, agg="average")
    with pytest.raises(ConfigError, match="allowed: md, latex, csv"):
        table(df, fmt="html")


def test_latex_escapes_special_characters():
    assert latex_escape("a_b & 50% #1 $x$ {y} ~^\\") == (
        r"a\_b \& 50\% \#1 \$x\$ \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )


# ------------------------------------------------------------------------------------ plots


def test_plot_data_means_and_standard_errors(df):
    data = plot_data(df, "feasibility_vs_size")
    assert list(data["facet"]) == ["mdkp", "mis"]  # one panel per problem
    assert list(data["line"]) == ["mip", "qaoa"]  # the refused 1tc.8 run is left out
    assert list(data["x"]) == [10.0, 16.0] and list(data["runs"]) == [3, 3]
    assert data["mean"].tolist() == pytest.approx([1.0, 2 / 3])
    assert data["sem"].tolist() == pytest.approx([0.0, np.std([1, 1, 0], ddof=1) / np.sqrt(3)])
    time = plot_data(df, "time_vs_qubits")  # classical runs sit at their problem variables
    assert list(time["line"]) == ["mip", "qaoa"] and list(time["classical"]) == [True, False]
    assert list(time["x"]) == [10.0, 16.0]
    assert time["mean"].tolist() == pytest.approx([0.5, 3.0])
    sem = [0.25 / np.sqrt(3), np.std([1, 2, 6], ddof=1) / np.sqrt(3)]
    assert time["sem"].tolist() == pytest.approx(sem)


@pytest.mark.parametrize("kind", list(report.KINDS))
def test_plot_writes_a_png_for_each_kind(df, tmp_path, kind):
    pytest.importorskip("matplotlib")
    path = plot(df, kind, tmp_path / "sub" / f"{kind}.png")
    assert path == tmp_path / "sub" / f"{kind}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_plot_refuses_unknown_kinds_and_empty_data(df, tmp_path):
    allowed = "allowed: feasibility_vs_size, raw_feasibility_vs_size, gap_vs_size"
    with pytest.raises(ConfigError, match=allowed):
        plot(df, "pie", tmp_path / "x.png")
    errors_only = df[df["status"] == "error"]
    with pytest.raises(ConfigError, match="nothing to plot for gap_vs_qubits"):
        plot(errors_only, "gap_vs_qubits", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------- a study: swept settings, metrics


def _run(n, solver, seed, params, *, encoder="qubo", gap=0.0, p_opt=None, t=1.0, qubits=None,
         status="ok", preprocess="none", label=None, problem="mis"):  # fmt: skip
    """One hand-made row of a study on generated graphs with n nodes."""
    feasible = status == "ok"
    return {
        "problem": problem, "instance": f"{problem}-n{n}", "n_vars": n, "encoder": encoder,
        "preprocess": preprocess, "solver": solver, "label": label, "seed": seed,
        "params": json.dumps(params, sort_keys=True), "n_qubits": qubits,
        "objective": None if not feasible else 10 * (1 - (gap or 0) / 100), "best_known": 10,
        "feasible": feasible, "gap_pct": gap if feasible else None,
        "approx_ratio": 1 - gap / 100 if feasible and gap is not None else None,
        "p_feasible": None, "p_optimal": p_opt, "time_solve_s": t, "time_total_s": t + 0.5,
        "status": status,
    }  # fmt: skip


def _qaoa(p, maxiter=60, objective="expectation"):
    return {"backend": "exact", "maxiter": maxiter, "objective": objective, "p": p, "shots": 64,
            "encoder.penalty": "auto"}  # fmt: skip


CVAR = {"alpha": 0.1, "backend": "exact", "maxiter": 60}


@pytest.fixture
def study():
    """QAOA p = 1, 2 on MIS graphs of 8 and 12 nodes (two seeds), CVaR-VQE, SA and MIP; QAOA
    p = 2 misses the optimum of the 12-node graph once; one refused CVaR-VQE run."""
    rows = []
    for n in (8, 12):
        for seed in (0, 1):
            for p in (1, 2):
                gap = 25.0 if (n, p, seed) == (12, 2, 1) else 0.0
                rows.append(_run(n, "qaoa", seed, _qaoa(p), gap=gap, p_opt=0.1 * p, t=p,
                                 qubits=n))  # fmt: skip
            rows.append(_run(n, "cvar_vqe", seed, CVAR, p_opt=0.5, qubits=n))
            rows.append(_run(n, "sa", seed, {"num_reads": 64}, encoder="none", gap=0.5 * seed,
                             t=0.25))  # fmt: skip
        rows.append(_run(n, "mip", 0, {"engine": "cbc"}, encoder="none", t=0.01))
    rows.append(_run(16, "cvar_vqe", 0, CVAR, status="error"))
    return pd.DataFrame(rows)


def test_swept_parameters_become_columns_and_configuration_names(study):
    derived = report.derive(study)
    assert report.varying_params(study) == ["p"]  # maxiter is 60 for every QAOA run
    assert list(derived["p"][:2]) == [1, 2] and pd.isna(derived["p"][2])  # cvar_vqe: no p
    assert sorted(set(derived["config"])) == ["cvar_vqe", "mip", "qaoa p=1", "qaoa p=2", "sa"]
    assert report.default_by(derived) == ["problem", "instance", "solver", "encoder", "p"]
    pd.testing.assert_frame_equal(report.derive(derived), derived)  # idempotent
    out = aggregate(study, metric=["gap_pct"])
    qaoa = out[out["solver"] == "qaoa"]
    assert list(zip(qaoa["instance"], qaoa["p"], qaoa["runs"], qaoa["gap_pct"])) == [
        ("mis-n8", 1, 2, 0.0), ("mis-n8", 2, 2, 0.0), ("mis-n12", 1, 2, 0.0),
        ("mis-n12", 2, 2, 12.5),
    ]  # fmt: skip
    text = table(study, metric=["gap_pct"])
    header = [c.strip() for c in text.splitlines()[0].split("|")[1:-1]]
    assert header == ["problem", "instance", "solver", "encoder", "p", "runs", "errors",
                      "gap_pct", "gap_pct_std"]  # fmt: skip
    # by p as a column, and any parameter on request even where it does not vary
    by_p = aggregate(study, by=["p"], metric=["relative_quality"])
    assert list(by_p["p"][:2]) == [1, 2] and list(by_p["runs"]) == [4, 4, 11]
    assert aggregate(study, by=["maxiter"], metric=["time_solve_s"])["runs"].tolist() == [13, 6]
    with pytest.raises(ConfigError, match=r"unknown --by column\(s\) nosuch"):
        aggregate(study, by=["nosuch"])


def test_parameter_columns_avoid_row_fields_and_configs_read_well(study):
    rows = study[study["solver"] == "qaoa"].copy()
    rows.loc[rows.index[::2], "params"] = json.dumps(_qaoa(1, objective="cvar"))
    rows.loc[rows.index[0], "label"] = "my QAOA"  # a suite table's own name wins
    shrunk = _run(8, "qaoa", 0, _qaoa(1), preprocess="shrink-plain-aware", qubits=4)
    other_encoder = _run(8, "qaoa", 0, _qaoa(1), encoder="unbalanced", qubits=8)
    derived = report.derive(pd.concat([rows, pd.DataFrame([shrunk, other_encoder])]))
    assert "param.objective" in derived and "objective" in derived  # a field keeps its values
    assert set(derived["param.objective"]) == {"cvar", "expectation"}
    assert derived["config"].tolist() == [
        "my QAOA", "qaoa objective=expectation p=2 + qubo",
        "qaoa objective=cvar p=1 + qubo", "qaoa objective=expectation p=2 + qubo",
        "qaoa objective=cvar p=1 + qubo", "qaoa objective=expectation p=2 + qubo",
        "qaoa objective=cvar p=1 + qubo", "qaoa objective=expectation p=2 + qubo",
        "qaoa objective=expectation p=1 + qubo + shrink-plain-aware",
        "qaoa objective=expectation p=1 + unbalanced",
    ]  # fmt: skip
    by = report.default_by(derived)
    assert by == ["problem", "instance", "solver", "encoder", "preprocess", "label",
                  "param.objective", "p"]  # fmt: skip
    # backend is a parameter and a field with the same values: the field is its column
    noisy = study[study["solver"] == "cvar_vqe"].copy()
    noisy["backend"] = ["exact", "aer_noisy:fake_torino"] * 2 + ["exact"]
    noisy["params"] = [json.dumps({"backend": b, "maxiter": 60}) for b in noisy["backend"]]
    derived = report.derive(noisy)
    assert "param.backend" not in derived and report.default_by(derived)[-1] == "backend"
    assert sorted(set(derived["config"])) == ["cvar_vqe backend=aer_noisy:fake_torino",
                                              "cvar_vqe backend=exact"]  # fmt: skip


def test_time_to_solution_formula_and_conventions():
    tts = report.time_to_solution
    assert tts(2.0, 0.5) == pytest.approx(2.0 * np.log(0.01) / np.log(0.5))  # 13.29 s
    assert tts(2.0, 0.1) == pytest.approx(87.417, abs=1e-3)  # 2 s · 43.7 repetitions
    assert tts(2.0, 0.99) == 2.0 and tts(2.0, 1.0) == 2.0  # one run is enough
    assert tts(2.0, 0.0) == np.inf  # never succeeds
    assert np.isnan(tts(None, 0.5)) and np.isnan(tts(2.0, None))
    rows = pd.DataFrame([
        _run(8, "qaoa", 0, {}, p_opt=0.5, t=2.0, qubits=8),  # from p_optimal
        _run(8, "sa", 0, {}, encoder="none", gap=0.0, t=0.3),  # one optimal answer: p = 1
        _run(8, "sa", 1, {}, encoder="none", gap=5.0, t=0.3),  # one suboptimal answer: p = 0
        _run(8, "qaoa", 1, {}, status="infeasible", t=1.0, qubits=8),
        _run(8, "qaoa", 2, {}, status="error", qubits=8),
    ])  # fmt: skip
    got = report.derive(rows)["tts99_s"].tolist()
    assert got[:4] == pytest.approx([tts(2.0, 0.5), 0.3, np.inf, np.inf]) and np.isnan(got[4])


def test_success_counts_within_the_gap_threshold(study):
    derived = report.derive(study)
    sa = derived[derived["solver"] == "sa"]
    assert sa["success"].tolist() == [True, True, True, True]  # gaps 0 and 0.5 % <= 1 %
    strict = report.derive(study, success_gap=0.1)
    assert strict[strict["solver"] == "sa"]["success"].tolist() == [True, False, True, False]
    unknown = {**_run(8, "qaoa", 2, {}), "gap_pct": None, "best_known": None}
    failed = [_run(8, "qaoa", 0, {}, status="infeasible"), _run(8, "qaoa", 1, {}, status="error")]
    rows = pd.DataFrame([*failed, unknown])
    assert report.derive(rows)["success"].tolist() == [False, None, None]
    out = aggregate(study, by=["config"], metric=["success", "successes", "relative_quality"],
                    success_gap=0.1)  # fmt: skip
    row = out.set_index("config").loc["sa"]
    assert (row["runs"], row["success"], row["successes"]) == (4, 0.5, 2)
    qaoa2 = out.set_index("config").loc["qaoa p=2"]
    assert (qaoa2["successes"], qaoa2["relative_quality"]) == (3, pytest.approx(0.9375))
    text = table(study, by=["config"], metric=["successes"], success_gap=0.1)
    assert "| sa       | 4    | 0      | 2         |" in text


def test_metrics_over_fewer_runs_than_the_group_say_how_many(study):
    out = aggregate(study, by=["problem"], metric=["p_optimal", "gap_pct", "feasible"])
    assert list(out.columns) == ["problem", "runs", "errors", "p_optimal", "p_optimal_std",
                                 "n_p_optimal", "gap_pct", "feasible"]  # fmt: skip
    assert (out["runs"][0], out["errors"][0], out["n_p_optimal"][0]) == (19, 1, 12)


# ------------------------------------------------------------------------------- study figures


def test_plot_points_never_pool_different_instances():
    rows = [
        _run(8, "qaoa", s, _qaoa(1), gap=0.0, qubits=8) for s in (0, 1)
    ] + [
        _run(64, "pce", s, {"depth": 4}, gap=50.0, qubits=8) for s in (0, 1)
    ] + [
        _run(60, "pce", 0, {"depth": 4}, gap=30.0, qubits=8),  # also 8 qubits, another size
        _run(8, "mip", 0, {}, encoder="none", t=0.01),
        _run(6, "mip", 0, {}, encoder="none", problem="mdkp", t=0.02),
    ]  # fmt: skip
    data = plot_data(pd.DataFrame(rows), "gap_vs_qubits")
    mis = data[data["facet"] == "mis"]
    assert list(data["facet"].unique()) == ["mdkp", "mis"]  # one panel per problem
    assert list(zip(mis["line"], mis["size"], mis["x"], mis["mean"], mis["runs"])) == [
        ("mip", 8, 8.0, 0.0, 1), ("pce", 60, 8.0, 30.0, 1), ("pce", 64, 8.0, 50.0, 2),
        ("qaoa", 8, 8.0, 0.0, 2),
    ]  # fmt: skip
    assert mis["classical"].tolist() == [True, False, False, False]  # mip at its n_vars
    time = plot_data(pd.DataFrame(rows), "time_vs_qubits", facet="problem")
    assert set(time["line"]) == {"mip", "pce", "qaoa"}  # classical runs stay on time plots


def test_plot_data_against_a_parameter_hue_and_facet(study):
    by_p = plot_data(study, "ratio_vs_p")  # one panel per problem size, p on x
    assert list(by_p["facet"]) == ["n = 8", "n = 8", "n = 12", "n = 12"]
    assert list(by_p["line"]) == ["qaoa"] * 4 and list(by_p["x"]) == [1.0, 2.0, 1.0, 2.0]
    assert by_p["mean"].tolist() == pytest.approx([1.0, 1.0, 1.0, 0.875])
    assert by_p["sem"].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.125])
    hue = plot_data(study, "gap_vs_size", hue="p", facet="solver")
    qaoa = hue[hue["facet"] == "qaoa"]
    assert list(qaoa["line"]) == ["p = 1", "p = 1", "p = 2", "p = 2"]
    assert set(hue[hue["facet"] == "sa"]["line"]) == {"sa"}  # no p: named by configuration
    tts = plot_data(study, "tts_vs_size")  # medians and quartiles
    q2 = tts[tts["line"] == "qaoa p=2"]
    assert q2["y"].tolist() == pytest.approx([report.time_to_solution(2.0, 0.2)] * 2)
    assert (tts["stat"] == "median").all()
    custom = plot_data(study, y="time_solve_s", x="n_vars", stat="mean")
    assert set(custom["line"]) == {"cvar_vqe", "mip", "qaoa p=1", "qaoa p=2", "sa"}
    with pytest.raises(ConfigError, match="no column.*nosuch"):
        plot_data(study, "gap_vs_size", hue="nosuch")
    with pytest.raises(ConfigError, match="allowed: mean, median"):
        plot_data(study, "gap_vs_size", stat="mode")


def test_a_label_names_the_configurations_it_sweeps(study):
    labelled = study.copy()
    labelled["label"] = [{"qaoa": "QAOA", "cvar_vqe": "CVaR-VQE"}.get(s) for s in study["solver"]]
    derived = report.derive(labelled)
    assert sorted(set(derived["config"])) == ["CVaR-VQE", "QAOA p=1", "QAOA p=2", "mip", "sa"]
    assert report.default_by(derived) == ["problem", "instance", "solver", "encoder", "label", "p"]
    pooled = plot_data(labelled, "gap_vs_size", hue="encoder")  # like seaborn's hue
    assert set(pooled["line"]) == {"qubo", "none"}
    assert pooled.set_index(["line", "x"])["runs"][("qubo", 8.0)] == 6  # QAOA p=1, 2, CVaR-VQE
    by_size = plot_data(labelled, y="p_optimal", x="p", hue="n_vars")  # one panel, a line per n
    assert set(by_size["facet"]) == {""} and list(by_size["line"]) == ["n = 8"] * 2 + ["n = 12"] * 2
    assert by_size["mean"].tolist() == pytest.approx([0.1, 0.2, 0.1, 0.2])


def test_log_axes_pool_zeros_and_say_what_they_cannot_draw(study, tmp_path):
    pytest.importorskip("matplotlib")
    rows = study.copy()
    rows.loc[(rows["solver"] == "cvar_vqe") & (rows["n_vars"] == 12), "p_optimal"] = 0.0
    data = plot_data(rows, "p_optimal_vs_size")
    cvar = data[data["line"] == "cvar_vqe"]
    assert cvar["mean"].tolist() == [0.5, 0.0]  # zeros count in the mean, none dropped
    path = plot(rows, "p_optimal_vs_size", tmp_path / "p.svg", logy=True)
    words = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text()))
    assert "not drawn (zero on the log axis): cvar_vqe at x = 12" in " ".join(words.split())


def test_captions_name_configurations_whose_runs_all_failed(study, tmp_path):
    pytest.importorskip("matplotlib")
    refused = pd.DataFrame([_run(n, "qrao", 0, {}, status="error", qubits=n) for n in (8, 12)])
    path = plot(pd.concat([study, refused]), "gap_vs_size", tmp_path / "gap.svg")
    words = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text()))
    assert "not drawn (every run refused or failed): qrao;" in " ".join(words.split())


def test_axis_limits_show_constant_series_whole():
    frame = pd.DataFrame({"y": [1.0, 1.0], "lo": [1.0, 1.0], "hi": [1.0, 1.0]})
    assert report._ylim(frame, "feasible", False, True) == (-0.03, 1.05)
    zero = pd.DataFrame({"y": [0.0], "lo": [0.0], "hi": [0.0]})
    assert report._ylim(zero, "gap_pct", False, False) == (-0.03, 1.0)
    low, high = report._ylim(frame * 2.0, "time_total_s", True, False)
    assert high / low >= 10 and low < 2.0 < high  # a decade at least on log axes


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"),
                                           ("svg", b"<?xml")])  # fmt: skip
def test_figures_in_every_format_with_facets_and_titles(study, tmp_path, suffix, magic):
    pytest.importorskip("matplotlib")
    path = plot(study, "gap_vs_size", tmp_path / f"gap.{suffix}", hue="p", facet="n_vars",
                title="Gap of QAOA by depth")  # fmt: skip
    assert path.read_bytes()[:5].startswith(magic)
    if suffix == "svg":  # text stays text: title and caption can be searched and edited
        text = path.read_text()
        assert "Gap of QAOA by depth" in text and "standard error" in text


def test_figures_refuse_other_formats(study, tmp_path):
    with pytest.raises(ConfigError, match=r"must end in \.png, \.pdf, \.svg"):
        plot(study, "gap_vs_size", tmp_path / "gap.jpg")
    assert not (tmp_path / "gap.jpg").exists()


def test_cli_table_and_plot_take_the_new_options(store_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    args = cli.build_parser().parse_args(
        ["table", str(store_dir), "--metric", "successes", "tts99_s", "--success-gap", "5"]
    )
    assert args.by is None and cli.cmd_table(args) == 0
    out = capsys.readouterr().out
    # QAOA's maxiter is 20 in the runs and the default in the refused one: it varies
    assert out.splitlines()[0].startswith("| problem | instance | solver | encoder | maxiter |")
    assert "successes" in out and "tts99_s" in out
    target = tmp_path / "fig.pdf"
    args = cli.build_parser().parse_args(
        ["plot", str(store_dir), "--kind", "time_vs_qubits", "--hue", "solver", "--facet",
         "problem", "--title", "Time", "--stat", "median", "-o", str(target)]
    )  # fmt: skip
    assert cli.cmd_plot(args) == 0 and target.read_bytes()[:4] == b"%PDF"
    args = cli.build_parser().parse_args(["plot", str(store_dir), "--y", "time_solve_s"])
    assert cli.cmd_plot(args) == 0
    assert (store_dir / "time_solve_s_vs_n_vars.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="needs --kind or --y"):
        cli.cmd_plot(cli.build_parser().parse_args(["plot", str(store_dir)]))


# ------------------------------------------------------------------------------------ exports


def test_export_csv_round_trips(df, tmp_path):
    path = export(df, tmp_path / "out" / "runs.csv", "csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(df.columns) and len(back) == len(df)
    expected = df.astype(object).where(df.notna(), np.nan)  # CSV has no None, only NaN
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_export_parquet_round_trips(df, tmp_path):
    pytest.importorskip("pyarrow")
    path = export(df, tmp_path / "runs.parquet", "parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)


def test_export_refuses_unknown_formats(df, tmp_path):
    with pytest.raises(ConfigError, match="allowed: parquet, csv"):
        export(df, tmp_path / "x.xlsx", "xlsx")


# ------------------------------------------------------------------- from a store (CLI entries)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    """A store with real rows: MIP on pet2 and QAOA on 1tc.8 (two seeds), a refused QAOA run."""
    from qbench.pipeline import run
    from qbench.store import Store

    folder = tmp_path_factory.mktemp("store")
    rows = [run("pet2", solver="mip", seed=s, suite="t") for s in (0, 1)]
    rows += [run("1tc.8", solver="qaoa", params={"maxiter": 20}, seed=s, suite="t")
             for s in (0, 1)]  # fmt: skip
    rows.append(run("pb4", solver="qaoa", seed=0, suite="t"))  # 45 qubits: refused
    assert rows[-1]["status"] == "error"
    with Store(folder) as store:
        for row in rows:
            store.add(row)
    return folder


def test_table_from_a_store(store_dir, capsys):
    args = argparse.Namespace(dir=str(store_dir), by=["instance", "solver"],
                              metric=["objective", "feasible", "gap_pct"], agg="mean",
                              format="md")  # fmt: skip
    assert cli.cmd_table(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("|")[1:-1] == [
        " instance ", " solver ", " runs ", " errors ", " objective ", " objective_std ",
        " feasible ", " gap_pct ",
    ]  # fmt: skip
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:]]
    assert [c[:4] for c in cells] == [["1tc.8", "qaoa", "2", "0"], ["pb4", "qaoa", "1", "1"],
                                      ["pet2", "mip", "2", "0"]]  # fmt: skip
    assert cells[2][4:] == ["87061", "0", "1", "0"]  # the optimum, both seeds
    assert cells[1][4:] == ["-", "-", "-", "-"]


def test_plot_and_export_from_a_store(store_dir, capsys):
    pytest.importorskip("matplotlib")
    args = argparse.Namespace(dir=str(store_dir), kind="feasibility_vs_size", output=None)
    assert cli.cmd_plot(args) == 0
    assert (store_dir / "feasibility_vs_size.png").read_bytes()[:4] == b"\x89PNG"
    args = argparse.Namespace(dir=str(store_dir), format="csv", output=None)
    assert cli.cmd_export(args) == 0
    assert "wrote 5 rows" in capsys.readouterr().out
    back = pd.read_csv(store_dir / "results.csv")
    assert len(back) == 5 and set(back["instance"]) == {"pet2", "1tc.8", "pb4"}
    assert "run_id" in back.columns and "git_rev" in back.columns


def test_cli_entries_fail_with_one_line_on_bad_input(store_dir, tmp_path):
    with pytest.raises(ConfigError, match="no results in .*results.sqlite not found") as exc:
        cli.cmd_table(argparse.Namespace(dir=str(tmp_path), by=None, metric=None,
                                             agg="mean", format="md"))  # fmt: skip
    assert "\n" not in str(exc.value) and not (tmp_path / "results.sqlite").exists()
    with pytest.raises(ConfigError, match="allowed: feasibility_vs_size"):
        cli.cmd_plot(argparse.Namespace(dir=str(store_dir), kind="nosuch", output=None))
    with pytest.raises(ConfigError, match=r"unknown --by column\(s\) nosuch; allowed: suite"):
        cli.cmd_table(argparse.Namespace(dir=str(store_dir), by=["nosuch"], metric=None,
                                             agg="mean", format="md"))  # fmt: skip


def test_missing_optional_packages_name_the_pip_command(df, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_extras(name, globals=None, *args, **kwargs):  # only for imports in qbench.report
        from_report = (globals or {}).get("__name__") == "qbench.report"
        if from_report and name.split(".")[0] in ("pyarrow", "matplotlib"):
            raise ImportError(name)
        return real_import(name, globals, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_extras)
    with pytest.raises(ConfigError, match="needs pyarrow.*pip install pyarrow"):
        export(df, tmp_path / "x.parquet", "parquet")
    with pytest.raises(ConfigError, match="need matplotlib.*pip install matplotlib"):
        plot(df, "gap_vs_size", tmp_path / "x.png")


# ----------------------------------------------------------------------------- shipped suites


def test_shipped_suites_load_with_the_expected_runs():
    from qbench.suite import load_suite

    quick = load_suite(SUITES / "quickstart.toml")
    assert quick.name == "quickstart" and quick.out == Path("runs/quickstart")
    # five problems x (qaoa, cvar_vqe) x two seeds, + MIP once per problem (deterministic)
    assert len(quick.runs) == 5 * 2 * 2 + 5
    dry = quick.dry_run()
    assert all(r["fits"] for r in dry)
    assert max(r["n_qubits"] for r in dry) <= 17
    assert {r["instance"].split(":")[0] for r in dry} == {"mdkp", "mis", "qap", "tsp", "msp"}

    mdkp = load_suite(SUITES / "comparative-mdkp.toml")
    dry = mdkp.dry_run()
    # MIP once per instance, SA / Lagrangian+SA / PCE three seeds, VQE and CVaR-VQE one
    assert len(dry) == 12 + 12 * 3 * 3 + 12 * 2
    by_solver = Counter((r["solver"], r["encoder"], r["backend"], r["fits"]) for r in dry)
    assert by_solver == {("mip", "none", "classical", True): 12,
                         ("sa", "none", "classical", True): 36,
                         ("sa", "lagrangian", "classical", True): 36,
                         ("pce", "qubo", "exact", True): 36,
                         ("vqe", "qubo", "aer_mps", True): 12,
                         ("cvar_vqe", "qubo", "aer_mps", True): 12}  # fmt: skip
    pce = {r["instance"]: r["n_qubits"] for r in dry if r["solver"] == "pce"}
    assert (pce["hp1"], pce["hp2"], pce["pb4"], pce["pb5"]) == (7, 8, 6, 10)  # 60, 67, 45, 116
    qubits = {r["instance"]: r["n_qubits"] for r in dry if r["solver"] == "vqe"}
    assert qubits == {
        "hp1": 60,
        "hp2": 67,
        "pb1": 59,
        "pb2": 66,
        "pb4": 45,
        "pb5": 116,
        "pet2": 99,
        "pet3": 102,
        "pet4": 107,
        "pet5": 122,
        "pet6": 86,
        "pet7": 100,
    }  # fmt: skip  (qiskit's QuadraticProgramToQubo sizes)
    # the MPS estimate of the paper's ansatz: under a minute per 100 evaluations of pet5
    est = {r["instance"]: r["est_s"] for r in dry if r["solver"] == "cvar_vqe"}
    assert 0 < est["pb4"] < est["pet5"] < 600

    mis = load_suite(SUITES / "comparative-mis.toml")
    dry = mis.dry_run()
    # MIP once, SA / PCE three seeds on 7 graphs; VQE, CVaR-VQE and QRAO one seed on 7;
    # QAOA and MA-QAOA three seeds on the three graphs up to 32 nodes
    assert len(dry) == 7 + 7 * 3 * 2 + 7 * 3 + 3 * 3 * 2
    assert all(r["fits"] for r in dry)
    compressed = {(r["instance"], r["solver"]): r["n_qubits"]
                  for r in dry if r["solver"] in ("pce", "qrao")}  # fmt: skip
    assert compressed[("1tc.64", "pce")] == 8 and compressed[("1tc.64", "qrao")] == 23
    assert compressed[("1dc.128", "pce")] == 10  # 3·C(10, 2) = 135 >= 128
    assert compressed[("1dc.128", "qrao")] == 46  # the paper's count
    backends = {(r["instance"], r["solver"]): r["backend"] for r in dry}
    for solver in ("qaoa", "ma_qaoa"):
        assert backends[("1tc.8", solver)] == backends[("1tc.16", solver)] == "exact"
        assert backends[("1tc.32", solver)] == "aer_mps"
        assert ("1tc.64", solver) not in backends
    assert {backends[(g, "vqe")] for g in ("1tc.8", "1dc.128")} == {"aer_mps"}

    qap = load_suite(SUITES / "comparative-qap.toml")
    dry = qap.dry_run()
    assert {r["instance"]: r["n_qubits"] for r in dry if r["solver"] == "vqe"} == {
        "tai10a": 100, "had12": 144, "nug12": 144}  # fmt: skip
    assert all(r["fits"] for r in dry)

    msp = load_suite(SUITES / "comparative-msp.toml")
    dry = msp.dry_run()
    assert len({r["instance"] for r in dry}) == 35
    slack = sorted(r["n_qubits"] for r in dry if r["solver"] == "vqe")
    assert slack == [46, 46, 48, 48, 50]  # the paper's absolute-deviation QUBO at m = 2
    refs = {cfg.spec: cfg.reference for cfg in msp.runs if cfg.solver == "mip"}
    assert refs["msp:m=10,rng=legacy,seed=0"] == (31.0, "published")

    cut = load_suite(SUITES / "cutting-slack.toml")
    dry = cut.dry_run()
    # 6 instances: MIP once, slack-QUBO SA 3 seeds; 5 methods x (exact with and without the
    # primal heuristic, once; SA 3 seeds; CVaR-VQE 1 seed)
    assert len(dry) == 6 * (1 + 3 + 5 * (2 + 3 + 1)) and all(r["fits"] for r in dry)
    qubits = {(r["instance"], r["encoder"]): r["n_qubits"] for r in dry if r["solver"] == "sa"}
    assert qubits[("tsp_degree:n=6,seed=0", "qubo")] == 35  # 15 edges + 20 subtour slack bits
    assert qubits[("tsp_degree:n=6,seed=0", "lagrangian")] == 15
    assert (qubits[("pet2", "qubo")], qubits[("pet2", "lagrangian")]) == (99, 10)
    methods = Counter(r["encoder.method"] for r in dry if r["encoder"] == "lagrangian")
    assert methods == dict.fromkeys(
        ["subgradient", "dual_averaging", "bundle", "cutting_plane", "augmented"], 6 * 6
    )

    study = load_suite(SUITES / "study-mis.toml")
    dry = study.dry_run()
    # 5 graphs x (QAOA p = 1, 2, 3 + CVaR-VQE + SA) x 3 seeds + MIP once per graph
    assert len(dry) == 5 * 5 * 3 + 5 and all(r["fits"] for r in dry)
    assert study.varying_params() == ["p"]
    qaoa = Counter((r["label"], r["p"]) for r in dry if r["solver"] == "qaoa")
    assert qaoa == {("QAOA", 1): 15, ("QAOA", 2): 15, ("QAOA", 3): 15}
    assert max(r["n_qubits"] for r in dry) == 16


@pytest.mark.slow
def test_quickstart_suite_runs_and_reports(tmp_path, capsys):
    """The whole quickstart (about 25 s on one core): every run ok, then table and plots."""
    from qbench.runner import run_suite
    from qbench.suite import load_suite

    suite = load_suite(SUITES / "quickstart.toml", out=tmp_path)
    df = run_suite(suite, workers=1, progress=False)
    assert len(df) == 25 and set(df["status"]) == {"ok"}
    mip = df[df["solver"] == "mip"].groupby("problem")["objective"].first()
    # the quantum answers are feasible and never better than the exact MIP optimum
    for _, row in df[df["solver"] != "mip"].iterrows():
        best = mip[row["problem"]]
        assert row["feasible"] and row["n_qubits"] <= 17
        assert row["objective"] <= best if row["problem"] == "mdkp" else row["objective"] >= best
    args = argparse.Namespace(dir=str(tmp_path), by=None, metric=None, agg="mean", format="md")
    assert cli.cmd_table(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + 15  # MIP once per instance, the quantum solvers on two seeds
    assert all(("| 1    | 0      |" if "| mip " in line else "| 2    | 0      |") in line
               for line in lines[2:])  # fmt: skip
    # every instance got a reference (MIP/brute, once, in the store): every row has a gap
    assert df["gap_pct"].notna().all() and set(df["reference_kind"]) == {"optimal"}
    for kind in ("feasibility_vs_size", "time_vs_qubits"):
        args = argparse.Namespace(dir=str(tmp_path), kind=kind, output=None)
        assert cli.cmd_plot(args) == 0
        assert (tmp_path / f"{kind}.png").stat().st_size > 10_000
    # the references give generated instances a gap to plot
    plot_args = argparse.Namespace(dir=str(tmp_path), kind="gap_vs_qubits", output=None)
    assert cli.cmd_plot(plot_args) == 0
    assert (tmp_path / "gap_vs_qubits.png").stat().st_size > 10_000


# ------------------------------------------------------------------ published tables beside ours


def test_shipped_paper_tables_parse_and_give_the_published_medians():
    mdkp = report.published("comparative-mdkp-simulator")
    assert len(mdkp) == 36 and set(mdkp["method"]) == {"pce", "vqe", "cvarvqe"}
    medians = mdkp[mdkp["paper_gap_pct"].map(np.isfinite)].groupby("method")["paper_gap_pct"]
    # the papers README: PCE 21.8 %, CVaR-VQE 34.0 %; VQE 19.9 % over its 11 feasible cells
    assert medians.median().round(1).to_dict() == {"cvarvqe": 34.0, "pce": 21.8, "vqe": 19.9}
    assert np.isinf(mdkp.set_index(["instance", "method"]).loc[("pb4", "vqe"), "paper_gap_pct"])
    mis = report.published("comparative-mis-simulator").set_index(["instance", "method"])
    assert mis.loc[("1tc.8", "qaoa"), "paper_gap_pct"] == 0.0  # quality 100 % -> gap 0
    quality = {"qaoa": 100.0, "maqaoa": 50.0}  # the CSV's relative solution quality on 1tc.16, %
    for method, value in quality.items():
        assert mis.loc[("1tc.16", method), "paper_gap_pct"] == pytest.approx(100 - value)
    assert mis.loc[("1dc.64", "qaoa"), "paper_gap_pct"] == "ME"  # out of memory, as written
    assert np.isinf(mis.loc[("1dc.128", "pce"), "paper_gap_pct"])


def test_tables_put_the_published_gap_beside_ours(tmp_path, capsys):
    paper = tmp_path / "paper.csv"
    paper.write_text("# a test table\ninstance,method,gap_pct\n1tc.16,QAOA,10\n1tc.16,MIP,0\n"
                     "pet2,MIP,inf\n1tc.8,QAOA,ME\n")  # fmt: skip
    rows = pd.DataFrame(ROWS)
    out = aggregate(rows, metric=["gap_pct", "feasible"], paper=report.published(paper))
    assert list(out.columns).index("paper_gap_pct") == list(out.columns).index("gap_pct") + 3
    cells = dict(zip(out["instance"], out["paper_gap_pct"]))
    assert cells == {"pet2": np.inf, "1tc.8": "ME", "1tc.16": 10.0}
    by_solver = aggregate(rows, by=["solver"], metric=["objective"], agg="median",
                          paper=report.published(paper))  # fmt: skip
    assert dict(zip(by_solver["solver"], by_solver["paper_gap_pct"])) == {"mip": np.inf,
                                                                          "qaoa": 10.0}  # fmt: skip
    with pytest.raises(ConfigError, match="no such file, and no shipped table.*shipped: "
                                          "comparative-mdkp-simulator"):  # fmt: skip
        report.published("nosuch")
    bad = tmp_path / "bad.csv"
    bad.write_text("instance,solver,gap\na,b,1\n")
    with pytest.raises(ConfigError, match="no column\\(s\\) method, value"):
        report.published(bad)


def test_bars_per_instance_put_the_published_value_beside_ours(store_dir, tmp_path, capsys):
    """One group per instance, ours solid and the paper's hatched (∞ and text cells too); the
    CLI draws it as kind by_instance (with --published alone too)."""
    from matplotlib.image import imread

    paper = tmp_path / "paper.csv"
    paper.write_text("# a test table\ninstance,method,gap_pct\n1tc.16,QAOA,10\n"
                     "pet2,MIP,inf\n1tc.8,QAOA,ME\npb4,QAOA,12\n")  # fmt: skip
    rows = pd.DataFrame(ROWS)
    path = report.plot_by_instance(rows, tmp_path / "bars.png", paper=report.published(paper))
    image = imread(path)
    assert image.shape[0] > 400 and image.shape[1] > 400
    with pytest.raises(ConfigError, match="nosuch"):
        report.plot_by_instance(rows, tmp_path / "x.png", y="nosuch")
    for extra in (["--kind", "by_instance"], []):
        out = tmp_path / f"cli{len(extra)}.png"
        argv = ["plot", str(store_dir), *extra, "--published", str(paper), "-o", str(out)]
        assert cli.main(argv) == 0 and out.is_file()
        assert "wrote" in capsys.readouterr().out
