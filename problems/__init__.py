"""Problems: MDKP, MIS, QAP, TSP (positions; TSPDegree: edges), MSP — instances in their own terms,
generators and readers.

``problem_class(kind)``, ``generate(kind, **params)`` and ``read(path, kind=None)`` are the one way
to get an instance from a name; the CLI and suites go through them.
"""

from __future__ import annotations

from pathlib import Path

from qbench.errors import ConfigError, InstanceFormatError
from qbench.params import NULL_WORDS, describe, lookup, parse_params
from qbench.problems.base import PermutationProblem, Problem
from qbench.problems.mdkp import MDKP, MKNAP2, mknap_layout
from qbench.problems.mis import MIS
from qbench.problems.msp import MSP
from qbench.problems.program import LPProblem, MPSProblem, QUBOProblem
from qbench.problems.qap import QAP
from qbench.problems.tsp import TSP, TSPDegree
from qbench.textio import is_integer_text, is_number, read_head

PROBLEMS: dict[str, type[Problem]] = {
    cls.kind: cls
    for cls in (MDKP, MIS, QAP, TSP, TSPDegree, MSP, LPProblem, MPSProblem, QUBOProblem)
}

#: file endings recognised when reading a path without an explicit problem kind (a .tsp file
#: reads as "tsp"; ``tsp_degree:FILE.tsp`` reads it in the edge formulation)
EXTENSIONS = {
    ".tsp": "tsp",
    ".msp": "msp",
    ".dimacs": "mis",
    ".col": "mis",
    ".clq": "mis",
    ".edges": "mis",
    ".edgelist": "mis",
    ".gph": "mis",  # QOBLIB's DIMACS graphs
    ".lp": "lp",
    ".mps": "mps",
    ".qs": "qubo",
}

__all__ = [
    "MDKP",
    "MIS",
    "MSP",
    "PROBLEMS",
    "QAP",
    "TSP",
    "PermutationProblem",
    "Problem",
    "TSPDegree",
]


def problem_class(kind: str) -> type[Problem]:
    """The class of a problem kind (any case), or ConfigError listing the kinds."""
    return lookup(PROBLEMS, str(kind).lower(), "problem")


def generator_params(kind: str) -> dict[str, object]:
    """The generator parameters of a problem kind with their defaults, in declaration order."""
    return {p.name: p.default for p in problem_class(kind).generator_params}


def generate(problem: str, /, **params: object) -> Problem:
    """A seeded random instance; parameters (text or values) are parsed with the class's
    declared ``generator_params``, unknown ones refused with the allowed ones listed. Numbers
    given as text must use the formats' syntax (ASCII digits; no ``1_000``, no ``٣``)."""
    cls = problem_class(problem)
    raw = dict(params)
    owner = f"{cls.kind} generator"
    declared = {p.name: p for p in cls.generator_params}
    for key, value in raw.items():
        param = declared.get(key)
        if param is None or not isinstance(value, str) or param.type not in (int, float):
            continue
        text = value.strip()
        valid = is_integer_text(text) if param.type is int else is_number(text)
        if not valid and text.lower() not in NULL_WORDS:
            rule = "ASCII digits with an optional sign"
            if param.type is float:
                rule += ", decimal point and exponent"
            raise ConfigError(
                f"{owner}: parameter {key}={value!r} is not a valid {describe(param.type)} ({rule})"
            )
    values = parse_params(cls.generator_params, raw, owner)
    return cls.generate(**{k: v for k, v in values.items() if k in raw})


#: the kinds, as the "force a reader" hint lists them
_KINDS_HINT = "name the file as KIND:FILE with KIND one of {kinds} to force a reader"


def force_hint() -> str:
    """How to force a reader: ``KIND:FILE`` with the kinds listed."""
    return _KINDS_HINT.format(kinds=", ".join(sorted(PROBLEMS)))


def sniff_kind(path: Path) -> str:
    """Guess the problem kind of a file from its ending, or for '.dat', '.txt' and no ending
    from its first line: one number is QAPLIB (.dat) or an OR-Library mknap1 file (.txt), two
    in a .dat file are QOBLIB market split (``m n``), three are SAC-94 (``n m opt``), a ``//``
    comment is an OR-Library mknap2 file, anything else in a .txt file is a graph (MIS)."""
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix in (".dat", ".txt", ""):
        head = read_head(path)
        first = next((line.split() for line in head.splitlines() if line.strip()), [])
        layout = mknap_layout(head)
        if layout == MKNAP2:
            return "mdkp"
        numbers = all(is_number(word) for word in first)
        if suffix == ".dat" and len(first) == 1:
            return "qap"  # QAPLIB: n alone on the first line
        if suffix == ".dat" and len(first) == 2 and numbers:
            return "msp"  # QOBLIB market split: m n, then m rows of n demands and the target
        if len(first) == 1 and numbers:
            return "mdkp"  # OR-Library mknap1: the instance count K alone
        if len(first) == 3 and (suffix == ".dat" or numbers):
            return "mdkp"  # SAC-94: n m opt
        if suffix in (".txt", "") and first:
            return "mis"
        if not first:
            raise InstanceFormatError(
                "empty file: cannot tell its problem; expected an instance file "
                f"(see `qbench instances` for the formats); {force_hint()}",
                path,
            )
    raise ConfigError(
        f"cannot tell the problem of {path}: expected an ending .tsp (TSPLIB), .msp, "
        ".dimacs/.col/.clq/.edges/.edgelist/.gph (graphs), .lp/.mps (binary programs), .qs "
        "(QUBOs), .dat "
        "(QAPLIB: n alone on the first line; QOBLIB market split: 'm n'; SAC-94: 'n m opt') or "
        ".txt (OR-Library mknap or a graph, told by content); "
        f"{force_hint()}"
    )


def split_selector(spec: str | Path) -> tuple[Path, str | None]:
    """``FILE#K`` -> (FILE, "K"): the instance K of a multi-instance file (1-based index or
    name); a path that exists as given, '#' included, is a file without a selector."""
    text = str(spec)
    if "#" in text and not Path(text).exists():
        file, _, selector = text.rpartition("#")
        if file and selector:
            return Path(file), selector
    return Path(text), None


def read(path: str | Path, kind: str | None = None) -> Problem:
    """Read an instance file (``FILE`` or ``FILE#K``, the instance K of a multi-instance file),
    guessing its problem from the file when ``kind`` is not given.

    Errors about a whole file (empty, not UTF-8, unknown format) say how to force a reader.
    """
    file, selector = split_selector(path)
    if not file.is_file():
        raise ConfigError(f"no such instance file: {file}")
    try:
        cls = problem_class(kind or sniff_kind(file))
        if selector is not None:
            return cls.read_instance(file, selector)
        return cls.read(file)
    except InstanceFormatError as exc:
        if exc.line is not None or "KIND:FILE" in str(exc):
            raise
        message = str(exc)[len(exc.path or "<text>") + 2 :]
        raise InstanceFormatError(f"{message}; {force_hint()}", exc.path) from None
