"""qbench: benchmark quantum optimization against classical methods on constrained problems.

The Python façade — one run, a suite, its stored results::

    import qbench

    row = qbench.run("hp1", solver="mip")                   # one tidy row (a dict)
    row = qbench.run(problem, solver="qaoa", params={"p": 2})  # a Problem or a BinaryProgram
    df = qbench.run_suite("suites/quickstart.toml")         # every row of the suite's store
    df = qbench.load_results("runs/quickstart")             # the stored rows, later

The modules behind them: :mod:`qbench.pipeline` (one run), :mod:`qbench.suite` (suite files),
:mod:`qbench.runner` (running suites), :mod:`qbench.report` (tables, plots, exports).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qbench.provenance import qbench_version
from qbench.threads import configure_environment

# first thing, before numba's OpenMP runtime or Aer's is loaded: passive OpenMP waits and the
# thread variables of QBENCH_THREADS (setdefault: the user's own settings win; qbench.threads)
configure_environment()

if TYPE_CHECKING:  # the heavy modules load on first use, so `import qbench` stays light
    import pandas as pd

    from qbench.problems import Problem
    from qbench.program import BinaryProgram

__version__ = qbench_version()
__all__ = ["__version__", "load_results", "run", "run_suite"]


def run(
    instance: str | Problem | BinaryProgram,
    solver: str = "mip",
    params: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    encoder: str | None = None,
    preprocess: str | None = None,
    repair: bool = False,
    best_known: float | None = None,
    local_search: bool = False,
) -> dict[str, Any]:
    """Run one (instance, encoder, preprocessing, solver, seed) and return its result row.

    ``instance`` is a spec string (a shipped name such as ``"hp1"``, a file, ``"mis:graph.txt"``
    or a generator spec ``"mdkp:n=12,m=3,seed=1"``), a Problem or a BinaryProgram; ``params``
    are the ``--set`` keys of ``qbench solve``; ``best_known`` a published value for an instance
    whose file holds none; ``local_search`` runs one round of the problem's local search on the
    answer (``objective_raw`` / ``gap_pct_raw`` keep the solver's own). The row's ``answer``
    holds the answer itself (bitstring, final parameters, trace, top states). Raises QbenchError
    on bad input; a run that fails returns a row with ``status="error"``.

    >>> qbench.run("pet3", solver="mip")["objective"]  # doctest: +SKIP
    4015.0
    """
    from qbench.pipeline import run as run_one

    return run_one(
        instance, solver, params, seed, encoder,
        repair=repair, preprocess=preprocess, best_known=best_known, local_search=local_search,
    )  # fmt: skip


def run_suite(
    suite: str | Path,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    timeout: float | None = None,
    dask: str | None = None,
    progress: bool = True,
    retry: str | None = None,
) -> pd.DataFrame:
    """Run a suite file's missing runs into its store (resuming) and return every stored row.

    ``out`` overrides the suite's results folder; ``workers``, ``timeout``, ``dask`` and
    ``retry`` (``"error,timeout"``: rerun failed runs) as for ``qbench run``. Raises
    ConfigError listing every mistake of an invalid suite.
    """
    from qbench.runner import run_suite as run_loaded
    from qbench.suite import load_suite

    loaded = load_suite(suite, out=out)
    return run_loaded(
        loaded, workers=workers, dask=dask, timeout=timeout, progress=progress, retry=retry
    )


def load_results(folder: str | Path, solutions: bool = False) -> pd.DataFrame:
    """The stored rows of a results folder (one row per run, the tidy table); ``solutions``
    adds each run's answer (bitstring ``x``, ``final_params``, ``trace``, ``top_states``).
    ConfigError when it holds none."""
    from qbench.report import load

    return load(folder, solutions=solutions)
