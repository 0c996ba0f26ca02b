"""How many threads qbench's libraries may use, so that workers share a machine's cores.

A run's heavy loops are multi-threaded by libraries: numba (the exact engine's ``prange``
kernels), OpenMP (numba's threading layer here, and Aer's own copy), BLAS (numpy, scipy) and
Qiskit Aer. Each of them defaults to every core, so ``--workers 2`` on two cores ran four busy
threads on two cores. This module holds one number per process, the **thread budget**, and
applies it to all of them:

* :func:`thread_budget` — the budget: the cores this process may run on
  (``os.sched_getaffinity``), or the environment variable ``QBENCH_THREADS`` (an integer >= 1,
  the threads qbench may use in all, shared by its workers), or what :func:`cap_threads` set.
* :func:`cap_threads` — set the budget and apply it now: numba (``numba.set_num_threads``),
  BLAS and OpenMP (threadpoolctl, kept for the process), and ``OMP_NUM_THREADS`` & co. in the
  environment for libraries loaded and processes started later. The suite runner calls it at
  the start of every worker with ``share(workers)``: N workers split the budget; one worker
  keeps all of it.
* :func:`aer_threads` — the ``max_parallel_threads`` option of every ``AerSimulator``.
* :func:`configure_environment` — run by ``import qbench``: passive OpenMP waits
  (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``) and, when ``QBENCH_THREADS`` is set, the
  libraries' thread variables; all with ``setdefault``, so a user's own setting wins.

What was checked on this project's 2-core machine (numba 0.68, qiskit-aer 0.18, threadpoolctl
3.8, other engineers' processes busy on the same cores):

* numba's threading layer here is ``omp`` (``numba.threading_layer()`` after a parallel kernel;
  tbb is not installed): the system's GNU libgomp, loaded at the first parallel kernel (or
  ``set_num_threads``). Aer bundles a second libgomp (``qiskit_aer.libs``), loaded at
  ``import qiskit_aer``, which ``import qbench.runner`` already does.
* libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded. ``OMP_DISPLAY_ENV=verbose`` shows
  ``GOMP_SPINCOUNT = '300000'`` (libgomp's default: idle threads spin ~ms before sleeping)
  without it and ``'0'`` with it set by ``import qbench`` first; set after numba's first
  kernel, numba's runtime kept 300000 (too late) while Aer's, loaded later, got 0. Hence the
  defaults live in ``qbench/__init__.py``: import qbench before numba kernels run or
  ``qiskit_aer`` is imported.
* Effect: 3000 small parallel kernels (2^14 amplitudes, 2 threads) with 0.2 ms of Python
  between them, other processes busy on the cores (load 1.4–1.8): 14.8–15.2 s with
  libgomp's default waits, 0.64–1.2 s with passive waits. (Earlier, QAOA at n = 20 next to
  one busy process: 2 numba threads 3.6–3.8× slower than 1 by default, 0.73–1.0× of 1 with
  passive waits.)
* ``benchmarks/workers.py`` (12 QAOA runs, n = 20, exact backend; other engineers' processes
  kept the load average at 4–6 on the 2 cores): 1 worker 35.9 s; 2 workers capped (1 thread
  each) 56.5 s, uncapped (2 threads each) 39.7 s, uncapped with libgomp's default spinning
  waits 155.9 s. Passive waits are the large win; under such load the cap itself made the
  suite slower (Linux shares CPU time per thread, so fewer threads get less of it next to
  other users' processes; CPU seconds were the same), while it leaves the cores to those
  users. Forked workers also pay a set-up per run that inline runs pay once: the first n = 20
  energy in a fresh child took 0.7–0.8 s, the next 0.04–0.12 s.
* ``numba.set_num_threads`` is per thread (a new thread sees the default again), so Dask
  workers, which run tasks in their own threads, are capped inside each task.
* threadpoolctl does not reach Aer's threads (after ``threadpool_limits(1)`` Aer still updated
  its state with 2 threads); its ``max_parallel_threads`` option does, hence
  :func:`aer_threads`.
* numba's GNU-OpenMP layer is not fork-safe: once a process has launched it (a parallel kernel,
  or ``set_num_threads``, so also :func:`cap_threads`), a forked child that runs a parallel
  kernel is killed ("Terminating: fork() called from a process already using GNU OpenMP").
  The runner therefore caps inside its forked workers only, never in the coordinator. A
  coordinator that ran a parallel kernel itself (a QAOA through ``qbench.run`` earlier in the
  same session) still loses forked runs that use parallel kernels ("worker process died
  without a result (exit code -15)", checked with ``--workers 1 --timeout``).

Example::

    >>> from qbench.threads import cap_threads, thread_budget
    >>> cap_threads(1)  # doctest: +SKIP
    >>> thread_budget()  # doctest: +SKIP
    1
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: the environment variable that sets the thread budget (the threads qbench may use in all)
ENV = "QBENCH_THREADS"
#: variables the libraries read when they load (or when processes started later load them)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: OpenMP waits that sleep instead of spinning (GNU libgomp; Intel / LLVM runtimes)
PASSIVE_WAITS = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}

_budget: int | None = None  # set by cap_threads
_limiter: Any = None  # threadpoolctl's limiter: kept so the limits stay for the process


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()`` elsewhere)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _from_env() -> int | None:
    """``QBENCH_THREADS`` as an integer, None when unset; ConfigError when it is not >= 1."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from qbench.errors import ConfigError

        raise ConfigError(
            f"{ENV} must be an integer >= 1 (the threads qbench may use in all, shared by its "
            f"workers), got {raw!r}; unset it to use every usable core ({usable_cores()})"
        )
    return value


def default_budget() -> int:
    """The budget a process starts with: ``QBENCH_THREADS`` if set, else :func:`usable_cores`
    (ConfigError naming the variable when its value is not an integer >= 1)."""
    value = _from_env()
    return usable_cores() if value is None else value


def thread_budget() -> int:
    """This process's thread budget: what :func:`cap_threads` set, else :func:`default_budget`."""
    return _budget if _budget is not None else default_budget()


def share(workers: int, budget: int | None = None) -> int:
    """Each of ``workers`` workers' part of ``budget`` (default :func:`thread_budget`), >= 1."""
    return max(1, (thread_budget() if budget is None else budget) // max(1, int(workers)))


def aer_threads() -> int:
    """The ``max_parallel_threads`` option for an ``AerSimulator``: the thread budget."""
    return thread_budget()


def cap_threads(n: int) -> None:
    """Set this process's thread budget to ``n`` and apply it now.

    numba (if installed) runs its parallel kernels on ``min(n, NUMBA_NUM_THREADS)`` threads —
    for the calling thread: numba's setting is per thread; the BLAS and OpenMP libraries loaded
    so far are limited through threadpoolctl (for the rest of the process); ``OMP_NUM_THREADS``
    and the other :data:`THREAD_VARIABLES` are set for libraries loaded and processes started
    later (not ``NUMBA_NUM_THREADS``: numba re-reads it at every compile and refuses a change
    once its threads run); Aer reads the budget through :func:`aer_threads`. Launches numba's
    threading layer: see the module note on forking. Raises ValueError unless ``n`` is an
    integer >= 1.
    """
    global _budget, _limiter
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"the thread budget must be an integer >= 1, got {n!r}")
    n = int(n)
    _budget = n
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n)
    try:
        import numba
    except ImportError:  # numba is optional (the exact engine falls back to numpy)
        pass
    else:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=n)


def configure_environment() -> None:
    """Defaults for libraries not loaded yet (``import qbench`` runs this first thing):
    passive OpenMP waits, and the :data:`THREAD_VARIABLES` (and ``NUMBA_NUM_THREADS`` while
    numba is not imported) from ``QBENCH_THREADS`` when it is set. ``setdefault`` only: a
    variable the user set wins. Never raises (a bad ``QBENCH_THREADS`` is reported when the
    budget is read)."""
    for name, value in PASSIVE_WAITS.items():
        os.environ.setdefault(name, value)
    try:
        value = _from_env()
    except Exception:  # noqa: BLE001 — reported later, by thread_budget()
        return
    if value is None:
        return
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(value))
    if "numba" not in sys.modules:  # numba's pool size; read at import, and again at every
        os.environ.setdefault("NUMBA_NUM_THREADS", str(value))  # compile (see cap_threads)
