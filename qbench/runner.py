"""Run a suite: every missing run once, rows written as they finish, resumable at any moment.

Only the coordinating process writes to the store (``Store.add`` commits each row at once), so
a suite killed at any point and started again runs exactly the runs whose ``run_id`` is not in
the store yet: none lost, none duplicated.

Execution modes:

* **inline** — ``workers == 1`` and no timeout: runs execute one after another in this process
  (nothing to enforce, easiest to debug and profile).
* **local processes** — otherwise: up to ``workers`` forked child processes, each running ONE
  run and sending its row back through a pipe; a run past its timeout is killed
  (``terminate``, then ``kill``) and becomes a ``timeout`` row; a child that dies without a row
  (e.g. the OOM killer) becomes an ``error`` row. Children die with the coordinator (Linux
  ``PR_SET_PDEATHSIG``), so a killed suite leaves no orphans behind.
* **Dask** — ``dask="local"`` (a ``LocalCluster`` of ``workers`` single-threaded processes) or
  ``dask="tcp://host:port"`` (an existing scheduler). Workers import qbench up front and at
  most one run per worker thread is in flight; a run's clock starts when the scheduler hands
  it to a worker (so queueing and imports do not count). A run past its timeout is cancelled
  and recorded as ``timeout``; on our own ``LocalCluster`` its worker is restarted to really
  stop it; on an external cluster the worker thread keeps computing until the run returns
  (Python threads cannot be killed) — its result is dropped.

Threads: the workers share the machine's cores (:mod:`qbench.threads`). Each forked child
starts with :func:`~qbench.threads.cap_threads` at ``thread_budget() // workers`` (at least 1;
one worker keeps the whole budget), so numba, BLAS, OpenMP and Aer together run about as many
threads as there are cores; each Dask task caps its worker thread at the worker process's
budget divided by the task threads of all workers on its host. The coordinator itself is never
capped (numba's OpenMP layer, once launched, breaks forked children that use it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from qbench import pace, references, report
from qbench.errors import ConfigError, QbenchError
from qbench.pipeline import execute
from qbench.progress import Progress
from qbench.provenance import provenance
from qbench.schema import FAILED_STATUSES, ROW_FIELDS
from qbench.suite import RunConfig, Suite
from qbench.threads import cap_threads, default_budget, share, thread_budget

#: seconds between polls of the running child processes / Dask futures
POLL_S = 0.05


# --------------------------------------------------------------------------- rows


def failure_row(
    cfg: RunConfig,
    suite_name: str | None,
    status: str,
    error: str,
    *,
    started: datetime | None = None,
    elapsed: float | None = None,
    describe: bool = True,
) -> dict[str, Any]:
    """A full row for a run that produced none (prepare failed, raised, timed out, died).

    With ``describe`` the instance is loaded again (cheap next to a run) so that problem,
    instance name, n_vars, best_known, encoder and params match the run's other rows and the
    row groups with them in reports; if that fails too, the spec stands in.
    """
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        suite=suite_name, run_id=cfg.run_id, instance=cfg.spec, encoder=cfg.encoder or "none",
        preprocess="none", solver=cfg.solver, seed=cfg.seed, label=cfg.label,
        params=json.dumps(cfg.params, sort_keys=True, default=str), repaired=False,
        feasible=False, status=status, error=error,
    )  # fmt: skip
    if describe:
        with contextlib.suppress(Exception):
            prep = cfg.prepare()
            row.update(
                problem=prep.problem.kind, instance=prep.problem.name or cfg.spec,
                n_vars=prep.problem.n_vars, best_known=prep.problem.best_known,
                encoder=prep.encoder.name if prep.encoder else "none", solver=prep.solver.name,
                backend=prep.backend, preprocess=prep.preprocess_label,
                params=json.dumps(prep.config["params"], sort_keys=True, default=str),
                sense=prep.problem.sense, deterministic=prep.deterministic,
                reference_kind=prep.reference_kind,
            )  # fmt: skip
    now = datetime.now(UTC)
    if elapsed is not None:
        row["time_total_s"] = float(elapsed)
    row["started_at"] = (started or now).isoformat()
    row["finished_at"] = now.isoformat()
    row.update(provenance())
    return row


def execute_config(cfg: RunConfig, suite_name: str | None) -> dict[str, Any]:
    """Run one config and return its row; never raises (any exception → an ``error`` row).

    The picklable worker entry of the process pool and of Dask.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        row = execute(cfg.prepare(), suite=suite_name, t0=t0, label=cfg.label)
        row["run_id"] = cfg.run_id  # the id the store resumes by, whatever execute computed
        return row
    except Exception as exc:  # noqa: BLE001 — a row is never lost, the message is kept
        message = str(exc) if isinstance(exc, QbenchError) else f"{type(exc).__name__}: {exc}"
        return failure_row(
            cfg, suite_name, "error", message, started=started,
            elapsed=time.perf_counter() - t0, describe=not isinstance(exc, QbenchError),
        )  # fmt: skip


def timeout_message(seconds: float) -> str:
    """The ``error`` text of a timed-out run."""
    return f"timed out after {seconds:g} s"


# --------------------------------------------------------------------------- local pool


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this child when the coordinator dies (best effort)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(
    cfg: RunConfig,
    suite_name: str | None,
    conn: Any,
    parent: int,
    timeout: float | None,
    threads: int,
) -> None:
    """Body of a forked worker process: ``threads`` threads (:func:`qbench.threads.cap_threads`),
    one run, its row through the pipe; the run's clock (:mod:`qbench.pace`) starts with the
    timeout, so solvers can refuse what would not finish."""
    _die_with_parent()
    pace.start(timeout)
    if os.getppid() != parent:  # the coordinator died before the death signal was armed
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    cap_threads(threads)
    conn.send(execute_config(cfg, suite_name))
    conn.close()


class _Slot:
    """A live child process running one config."""

    def __init__(
        self,
        ctx: Any,
        cfg: RunConfig,
        suite_name: str | None,
        timeout: float | None,
        threads: int,
    ):
        self.cfg = cfg
        self.reader, writer = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_child,
            args=(cfg, suite_name, writer, os.getpid(), timeout, threads),
            daemon=True,
        )
        self.started = datetime.now(UTC)
        self.t0 = time.perf_counter()
        self.proc.start()
        writer.close()  # the child holds the only writer: EOF when it dies

    def poll(self) -> dict[str, Any] | None | bool:
        """The row if one arrived, False if the child died without one, None if running."""
        try:
            if self.reader.poll():
                return self.reader.recv()
        except (EOFError, OSError):
            return False
        return None if self.proc.is_alive() else (self._last_chance())

    def _last_chance(self) -> dict[str, Any] | bool:
        try:
            return self.reader.recv() if self.reader.poll() else False
        except (EOFError, OSError):
            return False

    def stop(self) -> None:
        """Kill the child (terminate, then kill) and release the pipe."""
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(1.0)
            if self.proc.is_alive():
                self.proc.kill()
        self.proc.join()
        self.reader.close()


def _run_local(
    todo: list[RunConfig],
    suite_name: str | None,
    workers: int,
    timeout: float | None,
    emit: Any,
    started: Any = None,
) -> None:
    """Run configs in up to ``workers`` forked children, each with its share of the thread
    budget, enforcing ``timeout`` by killing; ``started(cfg)`` (if given) is told when a run's
    child is started."""
    ctx = multiprocessing.get_context("fork")
    threads = share(workers)
    queue = list(reversed(todo))
    live: list[_Slot] = []
    try:
        while queue or live:
            while queue and len(live) < workers:
                live.append(_Slot(ctx, queue.pop(), suite_name, timeout, threads))
                if started is not None:
                    started(live[-1].cfg)
            progressed = False
            for slot in list(live):
                result = slot.poll()
                elapsed = time.perf_counter() - slot.t0
                if result is None and timeout is not None and elapsed > timeout:
                    slot.stop()
                    result = failure_row(
                        slot.cfg, suite_name, "timeout", timeout_message(timeout),
                        started=slot.started, elapsed=elapsed,
                    )  # fmt: skip
                elif result is False:
                    code = slot.proc.exitcode
                    slot.stop()
                    result = failure_row(
                        slot.cfg, suite_name, "error",
                        f"worker process died without a result (exit code {code})",
                        started=slot.started, elapsed=elapsed,
                    )  # fmt: skip
                elif result is not None:
                    slot.stop()
                if result is not None:
                    live.remove(slot)
                    emit(result)
                    progressed = True
            if not progressed:
                time.sleep(POLL_S)
    finally:
        for slot in live:  # interrupted: no child outlives the coordinator
            slot.stop()


# --------------------------------------------------------------------------- dask


def _dask() -> Any:
    try:
        import dask.distributed as dd
    except ImportError:
        raise ConfigError(
            "--dask needs the distributed extra: pip install -e '.[distributed]'"
        ) from None
    return dd


@contextlib.contextmanager
def _dask_client(address: str, workers: int) -> Iterator[Any]:
    """A connected Dask client with warm workers: ``"local"`` starts a LocalCluster of
    ``workers`` single-threaded processes, else ``address`` is an existing scheduler
    (ConfigError when it cannot be reached or its workers cannot import qbench)."""
    dd = _dask()
    with contextlib.ExitStack() as stack:
        if address == "local":
            cluster = stack.enter_context(
                dd.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )  # fmt: skip
            )
            client = stack.enter_context(dd.Client(cluster))
        else:
            try:
                client = stack.enter_context(dd.Client(address, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError(f"cannot reach the Dask scheduler {address!r}: {exc}") from None
        _warm_workers(client)
        yield client


def _run_dask(
    todo: list[RunConfig],
    suite_name: str | None,
    client: Any,
    own: bool,
    timeout: float | None,
    emit: Any,
    started: Any = None,
) -> None:
    """Run configs on a connected Dask client (``own``: our LocalCluster, whose workers may be
    restarted to stop a timed-out run); ``started(cfg)`` (if given) is told when a worker has
    picked a run up."""
    queue = list(reversed(todo))
    live: dict[Any, _Flight] = {}
    slots, hosts, checked = 1, {}, -math.inf
    while queue or live:
        if queue and time.perf_counter() - checked > 2.0:  # workers may come and go
            nthreads = client.nthreads()
            slots, checked = max(1, sum(nthreads.values())), time.perf_counter()
            hosts = threads_by_host(nthreads)
        while queue and len(live) < slots:
            cfg = queue.pop()
            future = client.submit(
                on_dask_worker, hosts, execute_config, cfg, suite_name, pure=False
            )
            live[future] = _Flight(cfg)
        watch = timeout is not None or started is not None
        if watch and any(f.t0 is None for f in live.values()):
            where = _processing(client)  # a run's clock starts when a worker has it
            for future, flight in live.items():
                if flight.t0 is None and future.key in where:
                    flight.start(where[future.key])
                    if started is not None:
                        started(flight.cfg)
        done = [f for f in live if f.done()]
        for future in done:
            flight = live.pop(future)
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 — e.g. KilledWorker, a lost worker
                row = flight.failure(suite_name, "error", f"{type(exc).__name__}: {exc}")
            emit(row)
        for future, flight in list(live.items()):
            if timeout is None or flight.t0 is None or future.done():
                continue
            if time.perf_counter() - flight.t0 <= timeout:
                continue
            del live[future]
            future.cancel()
            emit(flight.failure(suite_name, "timeout", timeout_message(timeout)))
            if own and flight.worker:  # really stop the run: a fresh worker process
                with contextlib.suppress(Exception):
                    client.restart_workers([flight.worker], raise_for_error=False)
                    _warm_workers(client)
                    checked = -math.inf
            done.append(future)
        if not done:
            time.sleep(POLL_S * 2)


class _Flight:
    """A run submitted to Dask: its config and, once a worker has it, when that happened."""

    def __init__(self, cfg: RunConfig):
        self.cfg, self.submitted = cfg, time.perf_counter()
        self.started: datetime | None = None
        self.t0: float | None = None
        self.worker: str | None = None

    def start(self, worker: str) -> None:
        self.started, self.t0, self.worker = datetime.now(UTC), time.perf_counter(), worker

    def failure(self, suite_name: str | None, status: str, error: str) -> dict[str, Any]:
        t0 = self.submitted if self.t0 is None else self.t0
        return failure_row(
            self.cfg, suite_name, status, error, started=self.started,
            elapsed=time.perf_counter() - t0,
        )  # fmt: skip


def threads_by_host(nthreads: dict[str, int]) -> dict[str, int]:
    """Task threads of all Dask workers per host, from ``Client.nthreads()`` (address → n)."""
    hosts: dict[str, int] = {}
    for address, n in nthreads.items():
        host = _address_host(address)
        hosts[host] = hosts.get(host, 0) + int(n)
    return hosts


def _address_host(address: str) -> str:
    with contextlib.suppress(Exception):
        from distributed.comm import get_address_host

        return str(get_address_host(address))
    return address


def on_dask_worker(hosts: dict[str, int], fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a Dask task thread capped at its share of the host (the worker
    process's :func:`~qbench.threads.default_budget` divided by the task threads of all
    workers on its host, ``hosts`` from :func:`threads_by_host`; the worker's own when its host
    is not listed)."""
    from distributed import get_worker

    worker = get_worker()
    threads_here = hosts.get(_address_host(worker.address)) or worker.state.nthreads
    cap_threads(share(threads_here, default_budget()))
    return fn(*args)


def _warm() -> int:
    """Import the whole run pipeline on a Dask worker, so no run's clock pays for it."""
    import qbench.runner  # noqa: F401

    return os.getpid()


def _warm_workers(client: Any) -> None:
    """Run ``_warm`` on every worker; a worker that cannot import qbench is a ConfigError."""
    try:
        client.run(_warm)
    except Exception as exc:  # noqa: BLE001 — whatever the worker raised, one clear line
        raise ConfigError(
            f"Dask workers cannot import qbench: {type(exc).__name__}: {exc}"
        ) from None


def _processing(client: Any) -> dict[str, str]:
    """Key → address of the worker the scheduler gave it to ({} if the scheduler is busy)."""
    try:
        return {key: w for w, keys in client.processing().items() for key in keys}
    except Exception:  # noqa: BLE001 — a missed poll only delays a clock
        return {}


# --------------------------------------------------------------------------- entry points


#: statuses of stored rows that ``retry`` may rerun
RETRYABLE = FAILED_STATUSES


def pending(
    suite: Suite, stored: Iterable[str] | dict[str, str | None], retry: Iterable[str] = ()
) -> list[RunConfig]:
    """The suite's runs not stored yet, plus those stored with a status in ``retry``
    (``stored``: run_ids, or run_id → status), in suite order, each run_id once."""
    statuses = stored if isinstance(stored, dict) else dict.fromkeys(stored)
    again = set(retry)
    seen: set[str] = set()
    todo = []
    for cfg in suite.runs:
        rid = cfg.run_id
        if rid in seen or (rid in statuses and statuses[rid] not in again):
            continue
        seen.add(rid)
        todo.append(cfg)
    return todo


def retry_statuses(retry: Iterable[str] | str | None) -> tuple[str, ...]:
    """``retry`` as statuses (a comma list or an iterable); ConfigError naming the allowed."""
    items = retry.split(",") if isinstance(retry, str) else list(retry or ())
    statuses = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    bad = [s for s in statuses if s not in RETRYABLE]
    if bad:
        raise ConfigError(
            f"cannot retry status {', '.join(map(repr, bad))}; allowed: {', '.join(RETRYABLE)}"
        )
    return statuses


def run_suite(
    suite: Suite,
    *,
    workers: int = 1,
    dask: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
    retry: Iterable[str] | str | None = None,
) -> pd.DataFrame:
    """Run the suite's missing runs (resume) and return every row of its store.

    ``timeout`` (seconds per run) overrides ``suite.timeout``. Each row is written by this
    process as soon as its run finishes; failures (error, timeout) are rows too, and count as
    done unless ``retry`` names their status (``"error,timeout"``): those runs run again and
    their old rows move to the store's history. Nothing is written before the runs can start
    (bad arguments, a Dask scheduler that cannot be reached).
    """
    from qbench.store import Store

    again = retry_statuses(retry)
    if int(workers) != workers or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers}")
    workers = int(workers)
    thread_budget()  # a bad QBENCH_THREADS fails before anything is written
    limit = suite.limit(timeout)
    if dask is not None:
        _dask()  # a missing extra fails before anything is opened
    provenance()  # computed once here; forked children inherit it (no git call per run)
    with contextlib.ExitStack() as stack:
        # the cluster first: an unreachable scheduler must not leave an empty store behind
        client = stack.enter_context(_dask_client(dask, workers)) if dask is not None else None
        store = stack.enter_context(Store(suite.out))
        store.set_suite_runs({cfg.run_id: cfg.label for cfg in suite.runs})
        stored = store.statuses()
        todo = pending(suite, stored, again)
        if suite.references and todo:  # every instance gets a reference before its runs

            def log(text: str) -> None:
                if progress:
                    print(f"qbench: {text}", file=sys.stderr)

            todo = references.attach(todo, store, suite.reference_time_limit, log, suite.problems())
        retried = {c.run_id for c in todo if c.run_id in stored}
        skipped = len({c.run_id for c in suite.runs}) - len(todo)
        if progress and (skipped or retried):
            print(f"qbench: resuming {suite.name}: {skipped} runs already done, "
                  f"{len(todo)} to go ({len(retried)} retried)", file=sys.stderr)  # fmt: skip
        bar = Progress(todo, workers=workers, enabled=progress)
        started = bar.start if bar.enabled else None

        def emit(row: dict[str, Any]) -> None:
            store.add(row, replace=row.get("run_id") in retried)
            bar.finish(row.get("run_id"), row)

        try:
            if client is not None:
                _run_dask(todo, suite.name, client, dask == "local", limit, emit, started)
            elif workers == 1 and limit is None:
                for cfg in todo:
                    bar.start(cfg)
                    emit(execute_config(cfg, suite.name))
            else:
                _run_local(todo, suite.name, workers, limit, emit, started)
        finally:
            bar.close()
        return store.dataframe()


#: metrics of the table printed after ``qbench run``
SUMMARY_METRICS = ("objective", "gap_pct", "feasible", "p_feasible", "time_total_s")


def summary(df: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Counts by status, and the suite's table: grouped by instance and configuration with the
    columns of ``qbench table`` (:func:`qbench.report.aggregate`, its default grouping)."""
    counts = df["status"].fillna("-").value_counts().sort_index()
    return counts, report.aggregate(df, metric=SUMMARY_METRICS)
