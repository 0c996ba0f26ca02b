"""Problems: MDKP, MIS, QAP, TSP, MSP — instances in their own terms, generators and readers.

``problem_class(kind)``, ``generate(kind, **params)`` and ``read(path, kind=None)`` are the one way
to get an instance from a name; the CLI and suites go through them.
"""

from __future__ import annotations

from pathlib import Path

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import lookup, parse_params
from qbench.problems.base import PermutationProblem, Problem
from qbench.problems.mdkp import MDKP
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP

PROBLEMS: dict[str, type[Problem]] = {cls.kind: cls for cls in (MDKP, MIS, QAP, TSP, MSP)}

#: file endings recognised when reading a path without an explicit problem kind
EXTENSIONS = {
    ".tsp": "tsp",
    ".msp": "msp",
    ".dimacs": "mis",
    ".col": "mis",
    ".clq": "mis",
    ".edges": "mis",
    ".edgelist": "mis",
}

__all__ = ["MDKP", "MIS", "MSP", "PROBLEMS", "QAP", "TSP", "PermutationProblem", "Problem"]


def problem_class(kind: str) -> type[Problem]:
    """The class of a problem kind (any case), or ConfigError listing the kinds."""
    return lookup(PROBLEMS, str(kind).lower(), "problem")


def generator_params(kind: str) -> dict[str, object]:
    """The generator parameters of a problem kind with their defaults, in declaration order."""
    return {p.name: p.default for p in problem_class(kind).generator_params}


def generate(problem: str, /, **params: object) -> Problem:
    """A seeded random instance; parameters (text or values) are parsed with the class's
    declared ``generator_params``, unknown ones refused with the allowed ones listed."""
    cls = problem_class(problem)
    raw = dict(params)
    values = parse_params(cls.generator_params, raw, f"{cls.kind} generator")
    return cls.generate(**{k: v for k, v in values.items() if k in raw})


def sniff_kind(path: Path) -> str:
    """Guess the problem kind of a file from its ending, or for '.dat' from its first line."""
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix == ".dat":
        try:
            with path.open() as fh:
                first = next((line.split() for line in fh if line.strip()), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceFormatError(f"cannot read file ({exc})", path) from None
        if len(first) == 1:
            return "qap"  # QAPLIB: n alone on the first line
        if len(first) == 3:
            return "mdkp"  # SAC-94: n m opt
    if suffix in (".txt", ""):
        return "mis"
    raise ConfigError(
        f"cannot tell the problem of {path}; name it as KIND:PATH with KIND in "
        f"{', '.join(sorted(PROBLEMS))}"
    )


def read(path: str | Path, kind: str | None = None) -> Problem:
    """Read an instance file, guessing its problem from the file when ``kind`` is not given."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such instance file: {path}")
    return problem_class(kind or sniff_kind(path)).read(path)
