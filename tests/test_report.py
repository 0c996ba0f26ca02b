"""Reports from stored rows: exact tables, aggregation over seeds, plots, exports, suites."""

import argparse
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
    return frame


# ------------------------------------------------------------------------------------ tables

MARKDOWN = """\
| problem | instance | solver | encoder | runs | errors | objective | objective_std | gap_pct | feasible | p_feasible | time_total_s |
|---------|----------|--------|---------|------|--------|-----------|---------------|---------|----------|------------|--------------|
| mdkp    | pet2     | mip    | none    | 3    | 0      | 87061     | 0             | 0       | 1        | -          | 0.5          |
| mis     | 1tc.8    | qaoa   | qubo    | 1    | 1      | -         | -             | -       | -        | -          | -            |
| mis     | 1tc.16   | qaoa   | qubo    | 3    | 0      | 6         | 2.646         | 6.25    | 0.6667   | 0.2917     | 3            |"""  # noqa: E501

LATEX = r"""\begin{tabular}{llllrrrrrrrr}
\toprule
problem & instance & solver & encoder & runs & errors & objective & objective\_std & gap\_pct & feasible & p\_feasible & time\_total\_s \\
\midrule
mdkp & pet2 & mip & none & 3 & 0 & 87061 & 0 & 0 & 1 & - & 0.5 \\
mis & 1tc.8 & qaoa & qubo & 1 & 1 & - & - & - & - & - & - \\
mis & 1tc.16 & qaoa & qubo & 3 & 0 & 6 & 2.646 & 6.25 & 0.6667 & 0.2917 & 3 \\
\bottomrule
\end{tabular}"""  # noqa: E501

CSV = """\
problem,instance,solver,encoder,runs,errors,objective,objective_std,gap_pct,feasible,p_feasible,time_total_s
mdkp,pet2,mip,none,3,0,87061,0,0,1,,0.5
mis,1tc.8,qaoa,qubo,1,1,,,,,,
mis,1tc.16,qaoa,qubo,3,0,6,2.645751311,6.25,0.6666666667,0.2916666667,3"""  # noqa: E501


@pytest.mark.parametrize("fmt, expected", [("md", MARKDOWN), ("latex", LATEX), ("csv", CSV)])
def test_table_output_is_exactly_as_expected(df, fmt, expected):
    # sorted naturally (1tc.8 before 1tc.16), error rows counted but left out of the metrics,
    # feasible as a fraction, std of the first numeric metric (sqrt(7) for 8, 7, 3)
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
    assert list(data["line"]) == ["mip", "qaoa + qubo"]  # the refused 1tc.8 run is left out
    assert list(data["x"]) == [10.0, 16.0] and list(data["runs"]) == [3, 3]
    assert data["mean"].tolist() == pytest.approx([1.0, 2 / 3])
    assert data["sem"].tolist() == pytest.approx([0.0, np.std([1, 1, 0], ddof=1) / np.sqrt(3)])
    time = plot_data(df, "time_vs_qubits")  # classical runs have no qubits
    assert list(time["line"]) == ["qaoa + qubo"]
    assert time["mean"].tolist() == pytest.approx([3.0])
    assert time["sem"].tolist() == pytest.approx([np.std([1, 2, 6], ddof=1) / np.sqrt(3)])


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
    assert len(quick.runs) == 5 * 3 * 2  # five problems x (mip, qaoa, cvar_vqe) x two seeds
    dry = quick.dry_run()
    assert all(r["fits"] for r in dry)
    assert max(r["n_qubits"] for r in dry) <= 17
    assert {r["instance"].split(":")[0] for r in dry} == {"mdkp", "mis", "qap", "tsp", "msp"}

    mdkp = load_suite(SUITES / "comparative-mdkp.toml")
    dry = mdkp.dry_run()
    assert len(dry) == 12 * 7 * 3
    by_solver = Counter((r["solver"], r["encoder"], r["fits"]) for r in dry)
    assert by_solver == {("mip", "none", True): 36, ("sa", "none", True): 36,
                         ("sa", "lagrangian", True): 36, ("qaoa", "qubo", False): 36,
                         ("cvar_vqe", "qubo", False): 36, ("pce", "qubo", True): 36,
                         ("qrao", "qubo", False): 36}  # fmt: skip
    pce = {r["instance"]: r["n_qubits"] for r in dry if r["solver"] == "pce"}
    assert (pce["hp1"], pce["hp2"], pce["pb4"], pce["pb5"]) == (7, 8, 6, 10)  # 60, 67, 45, 116
    qubits = {r["instance"]: r["n_qubits"] for r in dry if r["solver"] == "qaoa"}
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
    assert all("needs" in r["reason"] for r in dry if not r["fits"])

    mis = load_suite(SUITES / "comparative-mis.toml")
    dry = mis.dry_run()
    assert len(dry) == 6 * 4 * 3 + 6 * 3 + 3 * 3  # + pce on all graphs, qrao up to 32 nodes
    compressed = {(r["instance"], r["solver"]): r["n_qubits"]
                  for r in dry if r["solver"] in ("pce", "qrao") and r["fits"]}  # fmt: skip
    assert compressed[("1tc.64", "pce")] == 8 and compressed[("1tc.32", "qrao")] < 32
    quantum = {(r["instance"], r["solver"]): (r["backend"], r["fits"])
               for r in dry if r["solver"] in ("qaoa", "cvar_vqe")}  # fmt: skip
    for solver in ("qaoa", "cvar_vqe"):
        assert quantum[("1tc.8", solver)] == ("exact", True)
        assert quantum[("1tc.16", solver)] == ("exact", True)
        assert quantum[("1tc.32", solver)] == ("aer_mps", True)
        for name in ("1tc.64", "1et.64", "1dc.64"):
            assert quantum[(name, solver)] == ("exact", False)


@pytest.mark.slow
def test_quickstart_suite_runs_and_reports(tmp_path, capsys):
    """The whole quickstart (about 25 s on one core): every run ok, then table and plots."""
    from qbench.runner import run_suite
    from qbench.suite import load_suite

    suite = load_suite(SUITES / "quickstart.toml", out=tmp_path)
    df = run_suite(suite, workers=1, progress=False)
    assert len(df) == 30 and set(df["status"]) == {"ok"}
    mip = df[df["solver"] == "mip"].groupby("problem")["objective"].first()
    # the quantum answers are feasible and never better than the exact MIP optimum
    for _, row in df[df["solver"] != "mip"].iterrows():
        best = mip[row["problem"]]
        assert row["feasible"] and row["n_qubits"] <= 17
        assert row["objective"] <= best if row["problem"] == "mdkp" else row["objective"] >= best
    args = argparse.Namespace(dir=str(tmp_path), by=None, metric=None, agg="mean", format="md")
    assert cli.cmd_table(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + 15 and all("| 2    | 0      |" in line for line in lines[2:])
    for kind in ("feasibility_vs_size", "time_vs_qubits"):
        args = argparse.Namespace(dir=str(tmp_path), kind=kind, output=None)
        assert cli.cmd_plot(args) == 0
        assert (tmp_path / f"{kind}.png").stat().st_size > 10_000
    # generated instances have no best known value, hence no gap to plot
    with pytest.raises(ConfigError, match="gap needs instances with a best known value"):
        cli.cmd_plot(argparse.Namespace(dir=str(tmp_path), kind="gap_vs_qubits", output=None))
