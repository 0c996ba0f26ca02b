"""The shipped instance library: real published instances with their best known values."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from qbench.errors import ConfigError


@dataclass(frozen=True)
class ShippedInstance:
    """One row of the shipped index: name, problem kind, file inside the package, best known."""

    name: str
    problem: str
    file: str
    best_known: float
    source: str

    @property
    def path(self) -> Path:
        return Path(str(files("qbench.data") / "instances" / self.file))


@cache
def shipped() -> dict[str, ShippedInstance]:
    """All shipped instances by name, from the package's instances.csv."""
    index = files("qbench.data") / "instances.csv"
    with index.open() as fh:
        return {
            row["name"]: ShippedInstance(
                row["name"], row["problem"], row["file"], float(row["best_known"]), row["source"]
            )
            for row in csv.DictReader(fh)
        }


def load_shipped(name: str):
    """Read a shipped instance by name and attach its best known value."""
    from qbench.problems import problem_class

    try:
        entry = shipped()[name]
    except KeyError:
        raise ConfigError(
            f"no shipped instance {name!r}; see `qbench instances` for the {len(shipped())} names"
        ) from None
    problem = problem_class(entry.problem).read(entry.path)
    problem.name = entry.name
    problem.best_known = entry.best_known
    return problem


def listing() -> list[dict]:
    """Name, problem, size and best known of every shipped instance, for printing."""
    rows = []
    for entry in shipped().values():
        problem = load_shipped(entry.name)
        size = " ".join(f"{k}={v}" for k, v in problem.size().items())
        rows.append(
            {
                "name": entry.name,
                "problem": entry.problem,
                "size": size,
                "n_vars": problem.n_vars,
                "best_known": entry.best_known,
                "source": entry.source,
            }
        )
    return rows
