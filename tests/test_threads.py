"""Thread budget: default, QBENCH_THREADS, cap_threads on numba and BLAS, workers' shares.

Whatever launches numba's OpenMP layer runs in a child process: once this (pytest) process had
launched it, forked runner workers of later tests that run parallel kernels would be killed.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qbench import runner, threads
from qbench.errors import ConfigError
from qbench.runner import run_suite
from qbench.solvers import SOLVERS
from qbench.solvers.base import Solver
from qbench.suite import load_suite
from qbench.threads import (
    PASSIVE_WAITS,
    THREAD_VARIABLES,
    aer_threads,
    default_budget,
    share,
    thread_budget,
)

CORES = len(os.sched_getaffinity(0))


@pytest.fixture
def fresh(monkeypatch):
    """No QBENCH_THREADS and no cap_threads in this process."""
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "_budget", None)
    return monkeypatch


def test_the_budget_defaults_to_the_usable_cores(fresh):
    assert thread_budget() == default_budget() == threads.usable_cores() == CORES
    assert aer_threads() == CORES
    assert share(1) == CORES and share(2) == max(1, CORES // 2)
    assert share(CORES * 4) == 1 and share(3, budget=7) == 2


def test_qbench_threads_overrides_the_budget_and_bad_values_name_it(fresh, tmp_path):
    fresh.setenv(threads.ENV, "3")
    assert thread_budget() == 3 and share(2) == 1 and aer_threads() == 3
    fresh.setenv(threads.ENV, " ")
    assert thread_budget() == CORES  # blank is unset
    for bad in ("0", "-2", "two", "1.5"):
        fresh.setenv(threads.ENV, bad)
        with pytest.raises(ConfigError, match=r"QBENCH_THREADS must be an integer >= 1.*got"):
            thread_budget()
    # a suite refuses to start (and writes nothing) with a bad value
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["hp1"]\n'
                    '[[solvers]]\nname = "mip"\n')  # fmt: skip
    with pytest.raises(ConfigError, match="QBENCH_THREADS"):
        run_suite(load_suite(path), workers=2, progress=False)
    assert not (tmp_path / "out").exists()


def test_cap_threads_refuses_a_bad_count(fresh):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="integer >= 1"):
            threads.cap_threads(bad)
    assert threads._budget is None


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {"QBENCH_THREADS", "NUMBA_NUM_THREADS", *THREAD_VARIABLES, *PASSIVE_WAITS}
    environ = {k: v for k, v in os.environ.items() if k not in inherited}  # a clean child
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=environ, timeout=120, check=True,
    )  # fmt: skip


CAP = """
    import json, os
    import qbench  # first: passive waits before numba's OpenMP runtime is loaded
    import numba, numpy as np, threadpoolctl
    from qbench.threads import cap_threads, thread_budget

    @numba.njit(parallel=True)
    def twice(a):
        for i in numba.prange(a.size):
            a[i] *= 2.0
        return a

    def state():
        info = threadpoolctl.threadpool_info()
        return {
            "budget": thread_budget(),
            "numba": numba.get_num_threads(),
            "blas": sorted({i["num_threads"] for i in info if i["user_api"] == "blas"
                            and i.get("threading_layer") != "disabled"}),  # not 1-thread builds
            "omp_env": os.environ.get("OMP_NUM_THREADS"),
            "wait": os.environ.get("OMP_WAIT_POLICY"),
        }

    twice(np.ones(64))
    out = {"layer": numba.threading_layer(), "max": numba.config.NUMBA_NUM_THREADS}
    cap_threads(1)
    out["one"] = state()
    cap_threads(4)
    out["four"] = state()
    print(json.dumps(out))
"""


def test_cap_threads_sets_numba_blas_and_the_environment():
    done = _python(CAP, OMP_DISPLAY_ENV="verbose")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["one"] == {"budget": 1, "numba": 1, "blas": [1], "omp_env": "1",
                          "wait": "PASSIVE"}  # fmt: skip
    four = out["four"]
    assert four["budget"] == 4 and four["blas"] == [4] and four["omp_env"] == "4"
    assert four["numba"] == min(4, out["max"])  # numba never above its pool
    if out["layer"] == "omp" and "GOMP_SPINCOUNT" in done.stderr:  # GNU libgomp: its own report
        spins = [line for line in done.stderr.splitlines() if "GOMP_SPINCOUNT" in line]
        assert spins and all("'0'" in line for line in spins)  # passive: no spinning


def test_a_users_wait_policy_and_thread_variables_win():
    code = """
        import os, qbench
        print(os.environ["OMP_WAIT_POLICY"], os.environ["OMP_NUM_THREADS"],
              os.environ["OPENBLAS_NUM_THREADS"], os.environ.get("NUMBA_NUM_THREADS"))
    """
    done = _python(code, OMP_WAIT_POLICY="active", QBENCH_THREADS="3", OMP_NUM_THREADS="5")
    assert done.stdout.split() == ["active", "5", "3", "3"]


def _probe(target, *, seed=None):
    """A test solver: reports its process's thread settings as its error message."""
    import numba
    import threadpoolctl

    threaded = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    blas = {i["num_threads"] for i in threaded if i.get("threading_layer") != "disabled"}
    raise RuntimeError(json.dumps({
        "budget": thread_budget(), "aer": aer_threads(), "numba": numba.get_num_threads(),
        "blas": sorted(blas), "omp_env": os.environ.get("OMP_NUM_THREADS"), "pid": os.getpid(),
    }))  # fmt: skip


def _probe_suite(tmp_path: Path, monkeypatch, name: str) -> Path:
    """A suite of two runs of the probe solver (registered here; forked workers inherit it)."""
    monkeypatch.setitem(SOLVERS, "probe", Solver(name="probe", params=(),
                        description="test solver", solve=_probe))  # fmt: skip
    path = tmp_path / f"{name}.toml"
    body = 'seeds = [0, 1]\ninstances = ["mdkp:n=6,m=2,seed=1"]\n[[solvers]]\nname = "probe"\n'
    path.write_text(f'name = "{name}"\nout = "{tmp_path / name}"\n{body}')
    return path


def _reports(df) -> list[dict]:
    assert (df["status"] == "error").all(), df["error"].tolist()
    return [json.loads(e.removeprefix("RuntimeError: ")) for e in df["error"]]


@pytest.mark.parametrize("env", [None, "4"])
def test_forked_workers_share_the_budget(tmp_path, fresh, env):
    if env is not None:
        fresh.setenv(threads.ENV, env)
    budget = thread_budget()
    df = run_suite(load_suite(_probe_suite(tmp_path, fresh, "two")), workers=2, progress=False)
    reports = _reports(df)
    assert len(reports) == 2 and all(r["pid"] != os.getpid() for r in reports)
    import numba  # imported, not launched: numba.config only

    each = max(1, budget // 2)
    for r in reports:
        assert r["budget"] == r["aer"] == each and r["blas"] == [each]
        assert r["numba"] == min(each, numba.config.NUMBA_NUM_THREADS)
        assert r["omp_env"] == str(each)
    assert thread_budget() == budget  # the coordinator is left as it was


def test_one_forked_worker_keeps_the_whole_budget(tmp_path, fresh):
    fresh.setenv(threads.ENV, "3")
    path = _probe_suite(tmp_path, fresh, "one")
    df = run_suite(load_suite(path), workers=1, timeout=60, progress=False)  # forked: a timeout
    assert {r["budget"] for r in _reports(df)} == {3}


def test_dask_tasks_share_their_host():
    pytest.importorskip("dask.distributed")

    def probe():  # defined here, so Dask pickles it by value
        import numba

        return thread_budget(), numba.get_num_threads()

    with runner._dask_client("local", 2) as client:
        hosts = runner.threads_by_host(client.nthreads())
        assert list(hosts.values()) == [2]  # two one-thread workers on this host
        futures = [client.submit(runner.on_dask_worker, hosts, probe, pure=False)
                   for _ in range(4)]  # fmt: skip
        results = client.gather(futures)
    each = max(1, default_budget() // 2)
    assert all(budget == each and 1 <= n <= each for budget, n in results)
