"""What a running suite is doing, on stderr: the runs in flight, done/total, failures, elapsed
time and an ETA a researcher can trust.

The runner tells a :class:`Progress` when each run starts (``start(cfg)``) and when its row
arrives (``finish(cfg_or_run_id, row)``), and closes it at the end (``close()``). Output:

* **terminal** (the stream is a tty): one live line, rewritten in place (``\\r``) on every start
  and finish and once a second while runs are in flight, so the clock of a long run is seen
  ticking. With ``rich`` installed and the real stderr a terminal, a ``rich`` live table of the
  runs in flight replaces the line (``rich`` is optional: imported lazily, and any failure to
  import or start it silently falls back to the plain line).
* **not a terminal** (CI logs, ``2> file``): one plain line per finished run and a summary line
  at every further 10 % of the runs, nothing rewritten, no control characters, so logs can be
  grepped (``grep 'status=timeout'``) and read by scripts (``key=value`` fields)::

      qbench: run 12/90 instance=mdkp:n=8,m=2,seed=1 solver=qaoa(p=2) seed=0 status=ok seconds=0.42
      qbench: 18/90 runs, 1 failed (0 error, 1 timeout), elapsed 1:02, eta 3:40

* **disabled** (``enabled=False``, or nothing to run): nothing at all.

ETA (:meth:`Progress.eta`): the time still needed is estimated run by run from the wall-clock
durations (start → finish) of the runs already finished, because a suite mixes runs that take
milliseconds (a MIP on 8 variables) with runs that take minutes (QAOA on 20 qubits) and a
linear extrapolation from the run count is wrong at both ends. A run's expected duration is the
mean duration of the finished runs that resemble it most, the first that has any of:

1. the same solver configuration (solver, encoder, preprocessing and parameters; any instance
   and seed) on an instance of similar size (same ``n_vars`` bucket ``[2^k, 2^(k+1))``; an
   instance's ``n_vars`` is learnt from the first finished row on it, whatever its solver);
2. the same solver on an instance of similar size (size matters more than, say, QAOA's ``p``);
3. the same solver configuration;
4. the same solver;
5. every finished run.

The remaining time is the sum over pending runs of their expected duration plus, over runs in
flight, what is left of theirs (expected minus time already running, at least 0), divided by
the number of workers (the larger of ``workers`` and the most runs ever seen in flight at once,
so an external Dask cluster counts with its real size) — but never less than the longest single
expected remainder, since one run cannot be shared between workers. Until a run has finished
the ETA is ``?``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from qbench.schema import FAILED_STATUSES

if TYPE_CHECKING:
    from qbench.suite import RunConfig

#: seconds between redraws of the live view while runs are in flight
REFRESH_S = 1.0
#: width assumed when the terminal's cannot be read
DEFAULT_WIDTH = 100
#: most runs listed in the rich table (the rest are counted)
RICH_ROWS = 20

# Every write to the stream, and every change of a Progress, happens under this lock. The
# runner forks its workers while the refresh thread may be writing; holding the lock across
# fork() means no child is born holding the stream's internal lock half-way through a write.
_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_LOCK.release
    )


def clock_text(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss`` of a duration in seconds."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def plain(value: Any) -> str:
    """``value`` as one grep-able token of a log line: control and line-separator characters
    become spaces, and a value that is empty or holds spaces or quotes is JSON-quoted (``=`` may
    stay: a field is split at its first ``=``)."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(value))
    if not text or any(c.isspace() or c in "\"'" for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _compact(value: Any) -> str:
    """A parameter value without spaces (lists and tables as compact JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _facets(cfg: RunConfig) -> dict[str, Any]:
    """What distinguishes a solver configuration, apart from instance and seed."""
    return {"encoder": cfg.encoder, "preprocess": cfg.preprocess, **cfg.params}


def _config_key(cfg: RunConfig) -> str:
    """The solver configuration as a hashable key (solver, encoder, preprocessing, params)."""
    return f"{cfg.solver} {_compact(_facets(cfg))}"


def _bucket(n_vars: Any) -> int | None:
    """The size bucket of ``n_vars``: k with ``2^k <= n_vars < 2^(k+1)`` (0 for 0 and 1)."""
    try:
        n = int(n_vars)
    except (TypeError, ValueError):
        return None
    return max(n, 1).bit_length() - 1


def _labels(runs: Sequence[RunConfig]) -> dict[str, str]:
    """run_id → a short solver-configuration label, ``qaoa(p=2,encoder=qubo)``: the solver
    name (or its table's ``label``) and, of its encoder, preprocessing and parameters, only
    those whose value differs between the suite's runs of that name (what tells this run from
    its siblings) and that this run sets (no ``preprocess=null``)."""
    seen: dict[str, dict[str, set[str]]] = {}
    for cfg in runs:
        values = seen.setdefault(_name(cfg), {})
        for key, value in _facets(cfg).items():
            values.setdefault(key, set()).add(_compact(value))
    out = {}
    for cfg in runs:
        values = seen[_name(cfg)]
        facets = _facets(cfg)
        shown = [f"{k}={_compact(facets[k])}" for k in values
                 if len(values[k]) > 1 and facets.get(k) is not None]  # fmt: skip
        out[cfg.run_id] = f"{_name(cfg)}({','.join(shown)})" if shown else _name(cfg)
    return out


def _name(cfg: RunConfig) -> str:
    """The suite's ``label`` of the run's solver table if it has one, else the solver name."""
    return getattr(cfg, "label", None) or cfg.solver


class _Mean:
    """A running mean."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1

    @property
    def value(self) -> float:
        return self.total / self.count


class Progress:
    """The progress display of one suite run; see the module docstring for the output and the
    ETA rule.

    ``runs``: the runs to come (their configs, for labels and per-solver ETAs) or just their
    number. ``workers``: how many run at once. ``stream``: default stderr. ``clock``: seconds
    (monotonic), replaceable in tests. ``refresh``: seconds between redraws of a live view while
    runs are in flight (None: redraw only on start and finish). ``rich``: None uses ``rich``
    when installed and the stream is the real stderr on a terminal; True tries it on any
    terminal stream; False never. Thread-safe; ``close()`` is idempotent.
    """

    def __init__(
        self,
        runs: Sequence[RunConfig] | int,
        *,
        workers: int = 1,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh: float | None = REFRESH_S,
        rich: bool | None = None,
    ) -> None:
        configs = [] if isinstance(runs, int) else list(runs)
        self.total = runs if isinstance(runs, int) else len(configs)
        self.configs = {cfg.run_id: cfg for cfg in configs}
        self.labels = _labels(configs)
        self.seeds = len({cfg.seed for cfg in configs}) > 1  # show seeds: they tell runs apart
        self.pending = set(self.configs)  # run_ids neither started nor finished
        self.flying: dict[str, tuple[RunConfig, float]] = {}  # run_id → (config, start)
        self.done = self.errors = self.timeouts = 0
        self.workers, self.peak = max(1, int(workers)), 0
        self.clock, self.refresh = clock, refresh
        self.stream: TextIO = sys.stderr if stream is None else stream
        self.enabled = enabled and self.total > 0
        self.tty = self.enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = clock()
        self._means: dict[Hashable, _Mean] = {}
        self._sizes: dict[str, int] = {}  # instance spec → its n_vars bucket
        self._config_keys: dict[str, str] = {}  # run_id → _config_key (the ETA sums them often)
        self._summarised = 0  # runs done at the last summary line (not a terminal)
        self._next_pct = 10
        self._closed = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._live: Any = None
        if self.tty and (rich or (rich is None and stream is None)):
            self._live = _start_rich(self.stream)
        if self.tty:
            with _LOCK:
                self._draw()

    # ------------------------------------------------------------------ the runner's hooks

    @property
    def failed(self) -> int:
        """Finished runs with status error or timeout."""
        return self.errors + self.timeouts

    def start(self, cfg: RunConfig) -> None:
        """A run has started (its clock starts now): show it in flight."""
        with _LOCK:
            self.configs.setdefault(cfg.run_id, cfg)
            self.pending.discard(cfg.run_id)
            self.flying[cfg.run_id] = (cfg, self.clock())
            self.peak = max(self.peak, len(self.flying))
            if self.tty and not self._closed:
                self._draw()
                self._tick()

    def finish(self, run: RunConfig | str | None, row: dict[str, Any]) -> None:
        """A run's row has arrived (``run``: its config or run_id; None if unknown): count it,
        learn its duration, and show it."""
        with _LOCK:
            if run is None or isinstance(run, str):
                rid, cfg = run, self.configs.get(run) if run is not None else None
            else:
                rid, cfg = run.run_id, self.configs.get(run.run_id, run)
            flight = self.flying.pop(rid, None) if rid is not None else None
            self.pending.discard(rid)
            self.done += 1
            status = row.get("status")
            self.errors += status == "error"
            self.timeouts += status == "timeout"
            seconds = _seconds(row.get("time_total_s"))
            wall = self.clock() - flight[1] if flight else seconds
            if wall is not None:
                self._learn(cfg, row, wall)
            if not self.enabled or self._closed:
                return
            if self.tty:
                self._draw()
                return
            if cfg is not None or (row.get("instance") and row.get("solver")):
                shown = seconds if seconds is not None else wall
                self._print(self._run_line(cfg, row, shown))
            pct = 100 * self.done / self.total
            if pct >= self._next_pct or self.done == self.total:
                self._print(self.line())
                self._summarised = self.done
                self._next_pct = (math.floor(pct / 10) + 1) * 10

    def update(self, row: dict[str, Any]) -> None:
        """``finish`` for a caller holding only the row (identified by its ``run_id``, if any)."""
        self.finish(row.get("run_id"), row)

    def close(self) -> None:
        """End the display: stop the refresh, end the live line (a terminal) or print a last
        summary if the log's last one is out of date (not a terminal)."""
        with _LOCK:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with _LOCK:
            if self._live is not None:
                with contextlib.suppress(Exception):
                    self._live.update(self._rich_view(), refresh=True)
                    self._live.stop()
            elif self.tty:
                self.stream.write("\n")
                self.stream.flush()
            elif self.enabled and self._summarised != self.done:
                self._print(self.line())

    # ------------------------------------------------------------------ ETA

    def _keys(self, cfg: RunConfig | None, solver: Any = None) -> list[Hashable]:
        """The similarity classes of a run, most similar first (see the module docstring)."""
        if cfg is None:
            return [("solver", solver), ("all",)] if solver else [("all",)]
        key = self._config_keys.get(cfg.run_id)
        if key is None:
            key = self._config_keys[cfg.run_id] = _config_key(cfg)
        bucket = self._sizes.get(cfg.spec)
        sized: list[Hashable] = []
        if bucket is not None:
            sized = [("config", key, bucket), ("solver", cfg.solver, bucket)]
        return [*sized, ("config", key), ("solver", cfg.solver), ("all",)]

    def _learn(self, cfg: RunConfig | None, row: dict[str, Any], seconds: float) -> None:
        if cfg is not None and cfg.spec not in self._sizes:
            bucket = _bucket(row.get("n_vars"))
            if bucket is not None:
                self._sizes[cfg.spec] = bucket
        for key in self._keys(cfg, row.get("solver")):
            self._means.setdefault(key, _Mean()).add(seconds)

    def expected(self, cfg: RunConfig | None) -> float | None:
        """The expected duration of a run: the mean of its most similar finished runs (None
        before any run has finished)."""
        for key in self._keys(cfg):
            mean = self._means.get(key)
            if mean is not None:
                return mean.value
        return None

    def eta(self) -> float | None:
        """Seconds until the last run finishes, by the rule of the module docstring; None until
        a run has finished."""
        overall = self._means.get(("all",))
        if overall is None:
            return None
        now = self.clock()
        rest = [self.expected(self.configs[rid]) or 0.0 for rid in self.pending]
        unknown = self.total - self.done - len(self.flying) - len(self.pending)
        rest += [overall.value] * max(unknown, 0)  # runs known only by their number
        for cfg, t0 in self.flying.values():
            rest.append(max((self.expected(cfg) or 0.0) - (now - t0), 0.0))
        if not rest:
            return 0.0
        return max(sum(rest) / max(self.workers, self.peak), max(rest))

    # ------------------------------------------------------------------ output

    def line(self) -> str:
        """The summary: done/total, failures, elapsed time and ETA."""
        eta = self.eta()
        failed = f", {self.failed} failed"
        if self.failed:
            failed += f" ({self.errors} error, {self.timeouts} timeout)"
        return (
            f"qbench: {self.done}/{self.total} runs{failed}, elapsed "
            f"{clock_text(self.clock() - self.t0)}, eta {'?' if eta is None else clock_text(eta)}"
        )

    def label(self, cfg: RunConfig) -> str:
        """The run's solver configuration, short (only what differs between its siblings)."""
        return self.labels.get(cfg.run_id) or _name(cfg)

    def in_flight(self) -> list[tuple[RunConfig, float]]:
        """The runs in flight with how long each has been running, longest first."""
        now = self.clock()
        runs = [(cfg, now - t0) for cfg, t0 in self.flying.values()]
        return sorted(runs, key=lambda run: -run[1])

    def live_line(self, width: int = DEFAULT_WIDTH) -> str:
        """The terminal line: the summary and as many runs in flight as fit in ``width``
        (longest running first, the rest counted; seeds shown when the suite has several), cut
        to ``width - 1`` characters."""
        text = self.line()
        runs = self.in_flight()
        if runs:
            text += f" | {len(runs)} running:"
            reserve = len(f", +{len(runs)} more")
            for i, (cfg, seconds) in enumerate(runs):
                seed = f" seed {cfg.seed}" if self.seeds else ""
                item = f" {self.label(cfg)}{seed} on {cfg.spec} {clock_text(seconds)}"
                item = ("," if i else "") + item
                if i and len(text) + len(item) + reserve >= width:
                    text += f", +{len(runs) - i} more"
                    break
                text += item
        return text if len(text) < width else text[: width - 2] + "…"

    def _run_line(self, cfg: RunConfig | None, row: dict[str, Any], seconds: float | None) -> str:
        """The log line of a finished run (not a terminal)."""
        instance = cfg.spec if cfg is not None else row.get("instance")
        solver = self.label(cfg) if cfg is not None else row.get("solver")
        seed = cfg.seed if cfg is not None else row.get("seed")
        fields = {
            "instance": instance,
            "solver": solver,
            "seed": seed,
            "status": row.get("status") or "?",
            "seconds": "?" if seconds is None else f"{seconds:.2f}",
        }
        text = f"qbench: run {self.done}/{self.total} "
        text += " ".join(f"{k}={plain(v)}" for k, v in fields.items() if v is not None)
        if row.get("status") in FAILED_STATUSES and row.get("error"):
            text += f" error={plain(str(row['error'])[:200])}"
        return text

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def _width(self) -> int:
        """The terminal's width: ``COLUMNS``, else the stream's terminal, else 100 (a pseudo
        terminal may report 0 columns)."""
        with contextlib.suppress(ValueError):
            if int(os.environ.get("COLUMNS", "0")) > 0:
                return int(os.environ["COLUMNS"])
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a file (io.UnsupportedOperation)
            columns = 0
        return columns if columns > 0 else DEFAULT_WIDTH

    def _draw(self) -> None:
        """Redraw the live view (the lock is held)."""
        if self._live is not None:
            try:
                self._live.update(self._rich_view(), refresh=True)
                return
            except Exception:  # noqa: BLE001 — rich is a nicety: the plain line takes over
                with contextlib.suppress(Exception):
                    self._live.stop()
                self._live = None
        self.stream.write("\r" + self.live_line(self._width()) + "\033[K")
        self.stream.flush()

    def _rich_view(self) -> Any:
        """The rich renderable: the summary line above a table of the runs in flight."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        runs = self.in_flight()
        if not runs:
            return Text(self.line())
        table = Table(expand=False)
        for name in ("instance", "solver", "seed", "running", "expected"):
            table.add_column(name, justify="right" if name in ("running", "expected") else "left")
        for cfg, seconds in runs[:RICH_ROWS]:
            expected = self.expected(cfg)
            table.add_row(
                cfg.spec, self.label(cfg), str(cfg.seed), clock_text(seconds),
                "?" if expected is None else clock_text(expected),
            )  # fmt: skip
        if len(runs) > RICH_ROWS:
            table.add_row(f"+{len(runs) - RICH_ROWS} more", "", "", "", "")
        return Group(Text(self.line()), table)

    def _tick(self) -> None:
        """Start the refresh thread, once (the lock is held)."""
        if self._ticker is not None or not self.refresh:
            return
        self._ticker = threading.Thread(target=self._refresh, name="qbench-progress", daemon=True)
        self._ticker.start()

    def _refresh(self) -> None:
        """Redraw every ``refresh`` seconds while runs are in flight, until closed."""
        while not self._stop.wait(self.refresh or REFRESH_S):
            with _LOCK:
                if not self._closed and self.flying:
                    with contextlib.suppress(Exception):  # a closed stream: stop quietly
                        self._draw()


def _seconds(value: Any) -> float | None:
    """A row's duration as a finite float, or None."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) else None


def _start_rich(stream: TextIO) -> Any:
    """A started ``rich`` Live view on ``stream``, or None when rich is not installed or cannot
    start (silently: the plain line is as good)."""
    try:
        from rich.console import Console
        from rich.live import Live
    except ImportError:
        return None
    try:
        live = Live(
            console=Console(file=stream, force_terminal=True),
            auto_refresh=False,  # redrawn by Progress under its lock (see _LOCK)
            redirect_stdout=False,  # forked workers must not inherit a proxy of the console
            redirect_stderr=False,
            transient=False,
        )
        live.start()
    except Exception:  # noqa: BLE001 — any failure: the plain line
        return None
    return live
