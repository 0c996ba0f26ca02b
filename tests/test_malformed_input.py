"""Hostile and malformed instance input (issue 14): bad input never costs memory or a traceback.

Per format (MDKP SAC-94 and OR-Library mknap, MIS DIMACS and edge lists, QAPLIB, TSPLIB, .msp
and generator specs): size bombs refused before anything is allocated (run in a child process
under an address-space rlimit, so a regression fails instead of exhausting the machine), the
formats' own number syntax, coefficient limits, byte-order marks, whole-file errors, large
TSPLIB coordinate files, multi-instance mknap files and TSPLIB quirks. Every refusal is checked
on the reader (file, line, fragments) and through ``qbench solve`` (one line, exit code 2).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from test_mdkp import MKNAP1  # the OR-Library mknap1 text the MDKP reader tests type in

import qbench
import qbench.memory
import qbench.problems as problems
from qbench.cli import main
from qbench.errors import ConfigError, InstanceFormatError
from qbench.instances import shipped
from qbench.problems import MDKP, MIS, MSP, QAP, TSP
from qbench.problems.tsp import coord_distances
from qbench.spec import load_spec
from qbench.textio import MAX_VALUE, is_number, parse_int, parse_real

KINDS = ("mdkp", "mis", "msp", "qap", "tsp")


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def cli_error(capsys, *argv: str) -> str:
    """Run ``qbench ARGV``: it must exit 2 with exactly one line ``qbench: error: ...``."""
    code = main(list(argv))
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, (code, captured.out, err)
    assert err.startswith("qbench: error:") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


# ---- malformed files, per format -----------------------------------------------------------------
#
# (case id, file name, content, line named by the error or None, fragments of the message)

MDKP_SAC94 = [
    ("n-underscore", "a.dat", "1_000 1 0\n", 1, ["expected an integer for number of items n",
                                               "'1_000'", "no '_'"]),
    ("profit-arabic-digit", "a.dat", "2 1 0\n٣ 5\n1 2\n3\n", 2, ["profit [0]", "'٣'", "ASCII"]),
    ("profit-1e20", "a.dat", "2 1 0\n1e20 5\n1 2\n3\n", 2, ["profit [0] = 1e20",
                                                          "|value| <= 10**12"]),
    ("weight-1e308", "a.dat", "2 1 0\n1 5\n1 1e308\n3\n", 3, ["weight [0,1] = 1e308", "10**12"]),
    ("capacity-beyond-2**53", "a.dat", "2 1 0\n1 5\n1 2\n9007199254740993\n", 4,
     ["capacity [0] = 9007199254740993", "10**12"]),
    ("capacity-overflow", "a.dat", "2 1 0\n1 5\n1 2\n1e400\n", 4, ["capacity [0] = 1e400"]),
    ("opt-nan", "a.dat", "2 1 nan\n1 5\n1 2\n3\n", 1, ["not finite"]),
    ("size-bomb", "a.dat", "1000000000 5 0\n1 2 3\n", 2,
     ["file ends early: expected profit [3]", "n=1,000,000,000, m=5",
      "need 6,000,000,005 numbers", "the file holds 3"]),
    ("size-bomb-m", "a.dat", "2 1000000000000 0\n1 2\n", 2,
     ["file ends early: expected weight [0,0]", "m=1,000,000,000,000"]),
    ("size-beyond-2**53", "a.dat", "1e20 1 0\n", 1, ["number of items n = 1e20",
                                                    "2**53 = 9,007,199,254,740,992"]),
]  # fmt: skip

MKNAP = [
    ("mknap1-count-bomb", "mknap1.txt", "1000000000\n1 1 0\n5\n1\n3\n", 5,
     ["file ends early: expected problem 2/1000000000: number of items n"]),
    ("mknap1-block-bomb", "mknap1.txt", "2\n1 1 0\n5\n1\n3\n100000000 100 0\n1\n", 7,
     ["problem 2/2: profit [1]", "n=100,000,000, m=100", "the file holds 1"]),
    ("mknap1-underscore", "mknap1.txt", "1\n1 1 0\n5\n1_0\n3\n", 4,
     ["problem 1/1: weight [0,0]", "'1_0'"]),
    ("mknap2-truncated", "mknap2.txt", "// mknap2\n1 2\n5 7\n3\n3 4\n0\n2 2\n1 1\n", 8,
     ["file ends early: expected problem 2: capacity [0]", "need 9 numbers"]),
    ("mknap2-negative-weight", "mknap2.txt", "// c\n1 2\n5 7\n3\n3 -4\n0\n", 5,
     ["problem 1: weight must be non-negative, got -4"]),
    ("mknap2-no-blocks", "mknap2.txt", "// only comments\n//\n", None, ["no instances"]),
    ("mknap2-huge-value", "mknap2.txt", "// c\n1 2\n5 7e300\n3\n3 4\n0\n", 3,
     ["problem 1: profit [1] = 7e300", "10**12"]),
]  # fmt: skip

MIS_DIMACS = [
    ("n-underscore", "g.dimacs", "p edge 1_000 0\n", 1, ["the node count N", "'1_000'"]),
    ("n-arabic", "g.dimacs", "p edge ٣ 0\n", 1, ["the node count N", "ASCII"]),
    ("n-1e20", "g.dimacs", "p edge 1e20 0\n", 1, ["the node count N = 1e20", "2**53"]),
    ("node-underscore", "g.dimacs", "p edge 4 1\ne 1 1_0\n", 2, ["node id v", "'1_0'"]),
    ("edge-count-bomb", "g.dimacs", "p edge 3 1000000000000\ne 1 2\n", 1,
     ["declares 1000000000000 edges but the file has 1 'e' lines"]),
    ("best-known-huge", "g.dimacs", "c best_known 1e99\np edge 2 1\ne 1 2\n", 1,
     ["best_known K = 1e99", "10**12"]),
]  # fmt: skip

MIS_EDGES = [
    ("nodes-underscore", "g.edges", "# nodes 1_000\n0 1\n", 1, ["the node count N", "'1_000'"]),
    ("id-arabic", "g.edges", "0 ٣\n", 1, ["node id v", "ASCII"]),
    ("id-beyond-2**53", "g.edges", "0 99999999999999999999\n", 1,
     ["node id 99999999999999999999 out of range"]),
]  # fmt: skip

QAP_CASES = [
    ("n-underscore", "q.dat", "1_0\n", 1, ["expected an integer for the size n", "'1_0'"]),
    ("flow-1e20", "q.dat", "2\n0 1e20\n1 0\n0 1\n1 0\n", 2, ["flow matrix A [0,1] = 1e20"]),
    ("dist-arabic", "q.dat", "2\n0 1\n1 0\n0 ٣\n1 0\n", 4, ["distance matrix B [0,1]", "ASCII"]),
    ("products-beyond-limit", "q.dat", "2\n0 1e7\n1e7 0\n0 1e7\n1e7 0\n", 1,
     ["flow·dist reach 10000000 × 10000000", "10**12"]),
    ("size-bomb", "q.dat", "100000\n0 1\n", 2,
     ["file ends early: expected flow matrix A [0,2]", "n=100,000",
      "need 20,000,000,000 numbers", "the file holds 2"]),
]  # fmt: skip

TSP_HEAD = "NAME : t\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n"
TSP_EXPLICIT = (
    "NAME : t\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
    "EDGE_WEIGHT_FORMAT : UPPER_ROW\nEDGE_WEIGHT_SECTION\n"
)
TSPLIB = [
    ("dimension-underscore", "t.tsp", "NAME : t\nTYPE : TSP\nDIMENSION : 1_000\n", 3,
     ["expected an integer DIMENSION, got '1_000'", "no '_'"]),
    ("dimension-arabic", "t.tsp", "NAME : t\nTYPE : TSP\nDIMENSION : ٣\n", 3,
     ["expected an integer DIMENSION", "ASCII"]),
    ("dimension-beyond-2**53", "t.tsp", "NAME : t\nTYPE : TSP\nDIMENSION : 99999999999999999\n",
     3, ["DIMENSION = 99999999999999999", "2**53"]),
    ("coordinate-1e200", "t.tsp", TSP_HEAD + "1 0 0\n2 1e200 0\n3 5 5\n", 7,
     ["coordinate of node 2 = 1e200", "250,000,000,000"]),
    ("coordinate-underscore", "t.tsp", TSP_HEAD + "1 0 0\n2 1_0 0\n3 5 5\n", 7,
     ["coordinate of node 2", "'1_0'"]),
    ("node-id-arabic", "t.tsp", TSP_HEAD + "1 0 0\n٢ 1 0\n3 5 5\n", 7,
     ["expected an integer node id, got '٢'"]),
    ("weight-1e20", "t.tsp", TSP_EXPLICIT + "1 1e20 3\nEOF\n", 7, ["edge weight = 1e20"]),
    ("weight-1e308", "t.tsp", TSP_EXPLICIT + "1 2 1e308\nEOF\n", 7, ["edge weight = 1e308"]),
    ("fixed-edges", "t.tsp", TSP_HEAD.replace("NODE_COORD_SECTION\n", "") + "FIXED_EDGES_SECTION\n"
     "1 2\n-1\n", 5, ["unsupported section FIXED_EDGES_SECTION", "fixed edges"]),
    ("tour-section", "t.tsp", "NAME : t\nTYPE : TSP\nTOUR_SECTION\n1\n", 3,
     ["unsupported section TOUR_SECTION", ".tour file"]),
    ("best-known-underscore", "t.tsp", "COMMENT : best_known 1_000\n", 1,
     ["best_known", "'1_000'"]),
]  # fmt: skip

MSP_CASES = [
    ("n-10^20", "m.msp", "1 100000000000000000000\n1 2 3\n", 1,
     ["the number of variables n = 100000000000000000000", "2**53"]),
    ("m-times-n-bomb", "m.msp", "3 1000000000\n1 2 3\n1 2 3\n1 2 3\n", 2,
     ["row 1 has 3 numbers, expected 1000000001"]),
    ("rows-bomb", "m.msp", "1000000000 3\n1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\n", 5,
     ["file ends early: expected 1000000000 rows"]),
    ("demand-beyond-int64", "m.msp", "1 2\n1 99999999999999999999999 3\n", 2,
     ["demand d[1,2] = 99999999999999999999999", "10**12"]),
    ("target-underscore", "m.msp", "1 2\n1 2 1_000\n", 2, ["target b[1]", "'1_000'"]),
    ("demand-arabic", "m.msp", "1 2\n١ 2 3\n", 2, ["demand d[1,1]", "ASCII"]),
    ("squares-beyond-limit", "m.msp", "1 2\n1000000 1000000 5\n", 2,
     ["squared-deviation program reaches", "4e+12", "10**12"]),
]  # fmt: skip

FILE_CASES = [
    pytest.param(kind, *case, id=f"{fmt}-{case[0]}")
    for kind, fmt, cases in [
        ("mdkp", "sac94", MDKP_SAC94),
        ("mdkp", "mknap", MKNAP),
        ("mis", "dimacs", MIS_DIMACS),
        ("mis", "edgelist", MIS_EDGES),
        ("qap", "qaplib", QAP_CASES),
        ("tsp", "tsplib", TSPLIB),
        ("msp", "msp", MSP_CASES),
    ]
    for case in cases
]


@pytest.mark.parametrize(("kind", "case", "name", "content", "line", "fragments"), FILE_CASES)
def test_malformed_file_is_refused_with_file_line_and_reason(
    kind, case, name, content, line, fragments, tmp_path, capsys
):
    path = write(tmp_path, name, content)
    with pytest.raises(InstanceFormatError) as info:
        problems.read(path, kind)
    assert info.value.path == str(path)
    assert info.value.line == line
    for fragment in fragments:
        assert fragment in str(info.value), fragment
    err = cli_error(capsys, "solve", f"{kind}:{path}")
    assert str(path) in err and all(fragment in err for fragment in fragments)


# ---- 1. size bombs, in a child process under an address-space limit -----------------------------

#: what a child needs on top of what importing qbench and solving a tiny instance maps: enough
#: for the refusals, far below every bomb (tens of GiB to TiB)
HEADROOM = 768 << 20

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    limit = int(sys.argv[1])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from qbench.cli import main
    code = main(sys.argv[2:])
    peak = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmPeak:"))
    print(json.dumps({"code": code, "vmpeak_kb": int(peak)}))
    """
)


def run_child(limit: int, *argv: str) -> tuple[dict, str]:
    """``qbench ARGV`` in a fresh interpreter under RLIMIT_AS = limit (0: none)."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]  # a MemoryError would be a traceback
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.fixture(scope="module")
def address_limit() -> int:
    """RLIMIT_AS for the bomb children: the address space a child maps importing qbench and
    solving a tiny instance (measured: ~1.8 GiB here, thread pools and libraries included)
    plus :data:`HEADROOM`."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc and RLIMIT_AS")
    result, _ = run_child(0, "solve", "mdkp:n=6,m=2", "--solver", "brute")
    assert result["code"] == 0
    limit = result["vmpeak_kb"] * 1024 + HEADROOM
    assert limit < 8 << 30, "importing qbench maps more than expected"
    return limit


BOMB_FILES = {
    "mis-dimacs-1e9": ("bomb.dimacs", "p edge 1000000000 0\n"),
    "mis-dimacs-1e20": ("bomb.dimacs", "p edge 1e20 0\n"),
    "mis-edges-nodes": ("bomb.edges", "# nodes 1000000000\n0 1\n"),
    "mis-edges-id": ("bomb.edges", "0 1\n0 999999999\n"),
    "msp-n-1e20": ("bomb.msp", "1 100000000000000000000\n1 2 3\n"),
    "msp-m-times-n": ("bomb.msp", "3 1000000000\n1 2 3\n1 2 3\n1 2 3\n"),
    "msp-n-times-n": ("bomb.msp", "2 1000000\n" + ("0 " * 1000000 + "0\n") * 2),
    "qap-n": ("bomb.dat", "100000\n" + "0 " * 1000 + "\n"),
    "sac94-n": ("bomb.dat", "1000000000 5 0\n1 2 3\n"),
    "tsp-dimension": ("bomb.tsp", TSP_HEAD.replace("DIMENSION : 3", "DIMENSION : 85900")),
}
BOMBS = [
    # (id, spec (or a BOMB_FILES key), fragments of the one-line error)
    ("mis-dimacs-1e9", None, ["bomb.dimacs, line 1", "n=1,000,000,000", "needs ~", "bytes"]),
    ("mis-dimacs-1e20", None, ["bomb.dimacs, line 1", "N = 1e20", "2**53"]),
    ("mis-edges-nodes", None, ["bomb.edges, line 1", "'# nodes 1000000000'", "can be allocated"]),
    ("mis-edges-id", None, ["bomb.edges, line 2", "node id 999999999 implies 1,000,000,000 nodes"]),
    ("msp-n-1e20", None, ["bomb.msp, line 1", "n = 100000000000000000000", "2**53"]),
    ("msp-m-times-n", None, ["bomb.msp, line 2", "expected 1000000001"]),
    ("msp-n-times-n", None, ["bomb.msp, line 1", "n=1,000,000", "needs ~", "can be allocated"]),
    ("qap-n", None, ["bomb.dat, line 2", "n=100,000", "the file holds 1,000"]),
    ("sac94-n", None, ["bomb.dat, line 2", "n=1,000,000,000, m=5", "the file holds 3"]),
    ("tsp-dimension", None, ["bomb.tsp, line 5", "ends after 0 of 85900 nodes"]),
    ("mdkp-generator", "mdkp:n=1000000000,m=5", ["spec 'mdkp:n=1000000000,m=5'",
                                                 "n=1,000,000,000, m=5", "needs ~", "bytes"]),
    ("mis-generator", "mis:n=100000000", ["spec 'mis:n=100000000'", "n=100,000,000", "needs ~"]),
    ("mis-generator-regular", "mis:n=100000000,model=regular,d=4", ["n=100,000,000",
                                                                   "m=200,000,000"]),
    ("qap-generator", "qap:n=100000", ["qap generator", "n=100,000", "needs ~"]),
    ("tsp-generator", "tsp:n=100000", ["tsp generator", "n=100,000", "needs ~"]),
    ("msp-generator", "msp:m=2,n=10000000,max_demand=0", ["msp generator", "n=10,000,000"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "spec", "fragments"), BOMBS, ids=[b[0] for b in BOMBS])
def test_size_bombs_are_refused_before_allocating(case, spec, fragments, address_limit, tmp_path):
    if spec is None:
        name, content = BOMB_FILES[case]
        spec = str(write(tmp_path, name, content))
    result, err = run_child(address_limit, "solve", spec)
    assert result["code"] == 2, err
    assert err.startswith("qbench: error:") and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_the_bomb_children_are_confined(address_limit):
    """The rlimit is real: a child asking for far more than it allows is refused up front."""
    result, err = run_child(address_limit, "solve", "tsp:n=400")
    assert result["code"] == 2 and "RLIMIT_AS less VmSize" in err, err


# ---- 1. sizes the file could hold but memory could not -----------------------------------------


@pytest.fixture
def tiny_memory(monkeypatch):
    """Pretend only 1 MiB can be allocated now."""
    monkeypatch.setattr(qbench.memory, "allocatable_memory", lambda: (1 << 20, "test limit"))


def qaplib_text(n: int) -> str:
    row = " ".join(["1"] * n)
    return f"{n}\n" + "\n".join([row] * (2 * n)) + "\n"


FITS_THE_FILE_NOT_MEMORY = [
    ("mdkp", "a.dat", lambda: f"200 60 0\n{'1 ' * 200}\n" + f"{'1 ' * 200}\n" * 60 + "5 " * 60,
     1, ["n=200, m=60"]),
    ("mdkp", "mknap2.txt", lambda: "// c\n60 200\n" + "1 " * (200 + 60 + 60 * 200 + 1), 2,
     ["n=200, m=60"]),
    ("mis", "g.dimacs", lambda: "p edge 5000 0\n", 1, ["'p edge 5000 0'", "n=5,000, m=0"]),
    ("mis", "g.edges", lambda: "# nodes 5000\n0 1\n", 1, ["'# nodes 5000'"]),
    ("mis", "g.edges", lambda: "0 4999\n", 1, ["node id 4999 implies 5,000 nodes"]),
    ("qap", "q.dat", lambda: qaplib_text(20), 1, ["n=20"]),
    ("tsp", "t.tsp", lambda: TSP_HEAD.replace("DIMENSION : 3", "DIMENSION : 60") + "".join(
        f"{i} {i} {i % 7}\n" for i in range(1, 61)), 3, ["DIMENSION 60", "n=60"]),
    ("tsp", "t.tsp", lambda: TSP_EXPLICIT.replace("DIMENSION : 3", "DIMENSION : 60")
     + "1 " * (60 * 59 // 2) + "\n", 3, ["DIMENSION 60"]),
    ("msp", "m.msp", lambda: "1 500\n" + "1 " * 500 + "7\n", 1, ["m=1, n=500"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "name", "make", "line", "fragments"),
    FITS_THE_FILE_NOT_MEMORY,
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(FITS_THE_FILE_NOT_MEMORY)],
)
def test_sizes_the_file_holds_but_memory_cannot_are_refused(
    kind, name, make, line, fragments, tiny_memory, tmp_path, capsys
):
    path = write(tmp_path, name, make())
    with pytest.raises(InstanceFormatError) as info:
        problems.read(path, kind)
    message = str(info.value)
    assert info.value.line == line
    numbers = r"needs ~[\d.]+ \w+ \([\d,]+ bytes\) but only 1 MiB \(1,048,576 bytes\)"
    assert re.search(numbers, message), message
    assert "test limit" in message and all(f in message for f in fragments), message
    err = cli_error(capsys, "solve", f"{kind}:{path}")
    assert "1,048,576 bytes" in err


@pytest.mark.parametrize(
    "spec",
    ["mdkp:n=200,m=60", "mis:n=5000,p=0", "qap:n=20", "tsp:n=60", "msp:m=1,n=500"],
)
def test_generators_refuse_what_memory_cannot_hold(spec, tiny_memory, capsys):
    with pytest.raises(ConfigError, match=r"generator: the \w+ instance .* needs ~.*1,048,576"):
        load_spec(spec)
    assert "1,048,576 bytes" in cli_error(capsys, "solve", spec)


@pytest.mark.parametrize("kind", KINDS)
def test_estimates_grow_with_the_sizes_and_cover_the_program(kind):
    """The estimate is at least the bytes of the built instance's program arrays."""
    cls = problems.PROBLEMS[kind]
    small = {"mdkp": {"n": 30, "m": 5}, "mis": {"n": 40, "m": 100}, "qap": {"n": 6},
             "tsp": {"n": 7}, "msp": {"m": 3, "n": 20}}[kind]  # fmt: skip
    big = {k: 10 * v for k, v in small.items()}
    assert 0 < cls.estimate_bytes(**small) < cls.estimate_bytes(**big)
    params = dict(small)
    if kind == "mis":
        params = {"n": 40, "model": "regular", "d": 5}
    problem = cls.generate(seed=1, **params)
    prog = problem.to_program()
    arrays = prog.linear.nbytes + prog.quadratic.data.nbytes + prog.A.data.nbytes
    assert cls.estimate_bytes(**problem.size()) >= arrays


GENERATOR_BOUNDS = {
    ("mdkp", "seed"): "[0, inf)", ("mdkp", "n"): "[1, inf)", ("mdkp", "m"): "[1, inf)",
    ("mdkp", "tightness"): "(0, 1]",
    ("mis", "n"): "[1, inf)", ("mis", "p"): "[0, 1]", ("mis", "d"): "[0, inf)",
    ("mis", "radius"): "[0, inf)",
    ("qap", "seed"): "[0, inf)", ("qap", "n"): "[1, inf)",
    ("tsp", "seed"): "[0, inf)", ("tsp", "n"): "[3, inf)",
    ("msp", "seed"): "[0, inf)", ("msp", "m"): "[1, inf)", ("msp", "n"): "[1, inf)",
    ("msp", "max_demand"): "[0, inf)",
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_generator_params_declare_their_ranges(kind):
    """Every numeric generator parameter with a range declares it (MIS seeds have none:
    networkx takes any integer)."""
    declared = {
        (kind, p.name): p.bounds
        for p in problems.PROBLEMS[kind].generator_params
        if p.type in (int, float)
    }
    expected = {key: value for key, value in GENERATOR_BOUNDS.items() if key[0] == kind}
    if kind == "mis":
        expected[("mis", "seed")] = None
    assert declared == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("mdkp:n=0", "n='0' out of range; allowed: [1, inf)"),
        ("mdkp:tightness=1.5", "tightness='1.5' out of range; allowed: (0, 1]"),
        ("mdkp:seed=-1", "seed='-1' out of range; allowed: [0, inf)"),
        ("mis:p=nan", "p='nan' out of range; allowed: [0, 1]"),
        ("mis:model=unit_disk,radius=inf", "radius='inf' out of range"),
        ("tsp:n=2", "n='2' out of range; allowed: [3, inf)"),
        ("msp:max_demand=100000000000000000000", "beyond the limit 10**12"),
        ("qap:seed=-3", "seed='-3' out of range"),
    ],
)
def test_generator_specs_are_checked_against_the_ranges(spec, fragment, capsys):
    with pytest.raises(ConfigError) as info:
        load_spec(spec)
    assert fragment in str(info.value) and f"spec {spec!r}" in str(info.value)
    assert fragment in cli_error(capsys, "solve", spec)


@pytest.mark.parametrize("cls", [MDKP, QAP, TSP, MSP])
def test_generator_classmethods_refuse_negative_seeds(cls):
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        cls.generate(seed=-1)


# ---- 2. the formats' number syntax, shared by every reader ---------------------------------------


@pytest.mark.parametrize("token", ["0", "12", "-3", "+4", "007"])
def test_integers_in_the_formats_syntax(token):
    assert parse_int(token, "x") == int(token)


@pytest.mark.parametrize(
    "token", ["1_000", "٣", "١٢", "0x10", "1 0", "", "²", "1e3.5", "one", "--1", "1__0"]
)
def test_python_only_integers_are_refused(token):
    with pytest.raises(InstanceFormatError, match="expected an integer for x"):
        parse_int(token, "x")


@pytest.mark.parametrize(
    ("token", "value"),
    [("1.5", 1.5), (".5", 0.5), ("5.", 5.0), ("2e3", 2000.0), ("-1.25E-2", -0.0125), ("+7", 7.0)],
)
def test_reals_in_the_formats_syntax(token, value):
    assert parse_real(token, "x") == value and is_number(token)


@pytest.mark.parametrize("token", ["1_000.5", "٣.5", "1e", "e5", "0x1p3", "1.5j", "1,5", "½"])
def test_python_only_reals_are_refused(token):
    assert not is_number(token)
    with pytest.raises(InstanceFormatError, match="expected a number for x"):
        parse_real(token, "x")


@pytest.mark.parametrize("token", ["inf", "-Infinity", "nan", "NaN"])
def test_non_finite_words_are_refused_as_not_finite(token):
    with pytest.raises(InstanceFormatError, match="not finite"):
        parse_real(token, "x")


def test_integral_reals_still_read_as_integers():
    """Unchanged: where an integer is expected, 3.0 and 1e3 are accepted (2.5 is not)."""
    assert parse_int("3.0", "x") == 3 and parse_int("1e3", "x") == 1000
    with pytest.raises(InstanceFormatError, match="got '2.5'"):
        parse_int("2.5", "x")


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("mdkp:n=1_000", "n='1_000' is not a valid int (ASCII digits"),
        ("mdkp:n=٣", "n='٣' is not a valid int"),
        ("mis:p=0_5", "p='0_5' is not a valid float"),
        ("qap:n=１２", "n='１２' is not a valid int"),
    ],
)
def test_generator_specs_use_the_same_number_syntax(spec, fragment, capsys):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_spec(spec)
    assert fragment in cli_error(capsys, "solve", spec)


# ---- 3. values the problems cannot represent exactly --------------------------------------------


@pytest.mark.parametrize(
    ("construct", "fragment"),
    [
        (lambda: MDKP([1e20, 1], [[1, 1]], [1]), "profit = 1e+20 is beyond the limit"),
        (lambda: MDKP([1, 1], [[1, 1e308]], [1]), "weight = 1e+308"),
        (lambda: MDKP([1, 1], [[1, 1]], [2.0**53 + 2]), "capacity = 9.0072e+15"),
        (lambda: QAP([[0, 1e20], [1, 0]], np.ones((2, 2))), "flow = 1e+20"),
        (lambda: QAP(np.full((2, 2), 1e7), np.full((2, 2), 1e7)), "flow·dist reach"),
        (lambda: TSP(dist=np.array([[0, 1e20, 1], [1e20, 0, 1], [1, 1, 0]])), "distance = 1e+20"),
        (lambda: TSP(coords=[[1e200, 0], [0, 0], [1, 1]], edge_weight_type="EUC_2D"),
         "coordinate 1e+200 is beyond the limit"),
        (lambda: MSP([[10**30, 1]], [1]), "demands = 1e+30 is beyond the limit"),
        (lambda: MSP([[2**63 + 5]], [1]), "beyond the limit"),
        (lambda: MSP([[10**6, 10**6]], [0]), "squared-deviation program reaches"),
    ],
)  # fmt: skip
def test_constructors_refuse_values_beyond_the_limits(construct, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        construct()


def test_coefficients_at_the_limit_stay_exact():
    """At 10**12 the problem's own arithmetic is exact (checked against Python integers on every
    bitstring), and the MIP baseline never calls the always-feasible instance infeasible (as it
    did with coefficients beyond ~2**48): it solves it or refuses it with a reason."""
    scale = MAX_VALUE // 4
    profits, weights, capacities = [3, 2, 4], [[2, 1, 3], [1, 2, 1]], [4, 3]
    problem = MDKP(
        np.array(profits) * scale, np.array(weights) * scale, np.array(capacities) * scale,
        name="at-the-limit",
    )  # fmt: skip
    X = np.array(list(np.ndindex(2, 2, 2)), dtype=float)
    exact = [sum(p * scale * int(x) for p, x in zip(profits, row)) for row in X]
    assert problem.objective(X).tolist() == exact
    brute = qbench.run(problem, solver="brute")
    assert brute["objective"] == 6 * scale
    for engine in ("cbc", "highs"):
        row = qbench.run(problem, solver="mip", params={"engine": engine})
        assert row["solver_status"] != "infeasible", row
        assert row["status"] == "error" or row["objective"] == 6 * scale, row


# ---- 4. byte-order marks ----------------------------------------------------------------------

BOM = "\ufeff"
VALID = [
    ("mdkp", "k.dat", "2 1 0\n5 6\n1 2\n3\n"),
    ("mdkp", "mknap1.txt", "1\n2 1 0\n5 6\n1 2\n3\n"),
    ("mdkp", "mknap2.txt", "// c\n1 2\n5 6\n3\n1 2\n11\n"),
    ("mis", "g.dimacs", "c best_known 2\np edge 3 1\ne 1 2\n"),
    ("mis", "g.txt", "# nodes 3\n0 1\n"),
    ("qap", "q.dat", "2\n0 1\n1 0\n0 5\n5 0\n"),
    ("tsp", "t.tsp", TSP_HEAD + "1 0 0\n2 3 4\n3 6 0\nEOF\n"),
    ("msp", "m.msp", "# best_known 0\n1 2\n1 1 1\n"),
]


def fingerprint(problem) -> dict:
    data = {"size": problem.size(), "name": problem.name, "best": problem.best_known}
    prog = problem.to_program()
    data["linear"] = prog.linear.tolist()
    data["A"] = prog.A.toarray().tolist()
    data["b"] = prog.b.tolist()
    data["Q"] = prog.quadratic.toarray().tolist()
    return data


@pytest.mark.parametrize(("kind", "name", "text"), VALID, ids=[v[1] for v in VALID])
def test_a_byte_order_mark_is_accepted(kind, name, text, tmp_path):
    plain = problems.read(write(tmp_path, name, text))  # the kind guessed from the file
    (tmp_path / "bom").mkdir()
    marked = write(tmp_path / "bom", name, (BOM + text).encode("utf-8"))
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf")
    assert plain.kind == kind
    assert fingerprint(problems.read(marked)) == fingerprint(plain)
    assert fingerprint(problems.read(marked, kind)) == fingerprint(plain)


def test_a_byte_order_mark_inside_a_file_is_still_an_error(tmp_path):
    path = write(tmp_path, "k.dat", "2 1 0\n5 " + BOM + "6\n1 2\n3\n")
    with pytest.raises(InstanceFormatError) as info:
        problems.read(path)
    assert info.value.line == 2


# ---- 5. whole-file errors say what was expected and how to force a reader ---------------------


def assert_whole_file_error(message: str, path: Path) -> None:
    assert str(path) in message and ", line" not in message
    assert "expected" in message
    assert "KIND:FILE" in message and ", ".join(sorted(problems.PROBLEMS)) in message


@pytest.mark.parametrize(
    "name",
    ["e.dat", "e.txt", "e.tsp", "e.msp", "e.dimacs", "e"],
)
def test_empty_files(name, tmp_path, capsys):
    path = write(tmp_path, name, "\n \n")
    with pytest.raises(InstanceFormatError) as info:
        problems.read(path)
    assert info.value.line is None
    assert_whole_file_error(str(info.value), path)
    assert_whole_file_error(cli_error(capsys, "solve", str(path)), path)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_files_with_a_forced_reader(kind, tmp_path, capsys):
    path = write(tmp_path, "empty.txt", "")
    with pytest.raises(InstanceFormatError) as info:
        problems.read(path, kind)
    assert info.value.line is None and "empty" in str(info.value)
    assert_whole_file_error(str(info.value), path)
    cli_error(capsys, "solve", f"{kind}:{path}")


@pytest.mark.parametrize("name", ["b.dat", "b.txt", "b.tsp", "b.msp", "b.edges"])
def test_files_that_are_not_utf8(name, tmp_path, capsys):
    path = write(tmp_path, name, b"2 1 0\n\xff\xfe\x00\x81\n")
    with pytest.raises(InstanceFormatError, match=r"not a text file \(not UTF-8\)") as info:
        problems.read(path)
    assert info.value.line is None
    assert_whole_file_error(str(info.value), path)
    assert_whole_file_error(cli_error(capsys, "solve", str(path)), path)


@pytest.mark.parametrize(("name", "text"), [("x.xyz", "1 2\n"), ("x.dat", "1 2 3 4\n")])
def test_files_whose_problem_cannot_be_told(name, text, tmp_path, capsys):
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match="cannot tell the problem of") as info:
        problems.read(path)
    assert_whole_file_error(str(info.value), path)
    assert ".tsp" in str(info.value) and ".txt" in str(info.value)
    assert_whole_file_error(cli_error(capsys, "solve", str(path)), path)


# ---- 6. large TSPLIB coordinate files ----------------------------------------------------------


def coordinate_file(tmp_path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    xy = rng.integers(0, 10**6, size=(n, 2))
    body = "".join(f"{i + 1} {x} {y}\n" for i, (x, y) in enumerate(xy.tolist()))
    head = TSP_HEAD.replace("DIMENSION : 3", f"DIMENSION : {n}").replace("NAME : t", "NAME : big")
    return write(tmp_path, "big.tsp", head + body + "EOF\n")


def test_a_20000_city_file_is_refused_without_the_distance_temporary(tmp_path, capsys):
    """20 000 cities: 3.2 GB of distances, 8·10¹² program terms. Refused at DIMENSION with the
    numbers, and reading it peaks far below even one n×n array."""
    path = coordinate_file(tmp_path, 20_000)
    tracemalloc.start()
    try:
        with pytest.raises(InstanceFormatError) as info:
            TSP.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.line == 3
    assert "DIMENSION 20,000" in str(info.value) and "bytes" in str(info.value)
    assert peak < 100 << 20, peak  # the n×n distances alone would be 3.2 GB
    assert "DIMENSION 20,000" in cli_error(capsys, "solve", str(path))


def test_distances_are_computed_in_row_blocks():
    """No n×n×2 difference array: the peak is the result plus bounded blocks."""
    n = 2000
    xy = np.random.default_rng(1).random((n, 2)) * 1000
    for kind in ("EUC_2D", "CEIL_2D", "ATT", "GEO"):
        tracemalloc.start()
        try:
            dist = coord_distances(xy, kind)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < dist.nbytes + (40 << 20), (kind, peak)  # was > 4 n² floats
        assert np.array_equal(dist, dist.T) and not np.diagonal(dist).any()
        i, j = 17, 1234
        scalar = coord_distances(xy[[i, j]], kind)[0, 1]
        assert dist[i, j] == scalar


def test_a_coordinate_file_that_fits_still_reads(tmp_path):
    problem = TSP.read(coordinate_file(tmp_path, 150))
    assert problem.size() == {"n": 150} and problem.name == "big"
    assert problem.dist.shape == (150, 150)


# ---- 7. OR-Library mknap files from the command line and suites --------------------------------

#: the layout of OR-Library mknap2.txt (mknapinfo): '//' comments; per problem 'm n', the n
#: profits, the m capacities, the m×n constraint matrix, the optimal value; the second block
#: is the first problem of mknap1 (optimum 3800) re-laid out, the first a 2×3 one (optimum 17)
MKNAP2 = """//Test problems in the layout of mknap2.txt
//  number of knapsacks m, number of objects n
//  object profits, knapsack capacities, constraint matrix (m rows), optimal value
//
TINY1.DAT
2 3
10 7 5
6 4
3 2 4
1 2 2
17
//
PET1
10 6
100 600 1200 2400 500 2000
80 96 20 36 44 48 10 18 22 24
8 12 13 64 22 41
8 12 13 75 22 41
3 6 4 18 6 4
5 10 8 32 6 12
5 13 8 42 6 20
5 13 8 48 6 20
0 0 0 0 8 0
3 0 4 0 8 0
3 2 4 0 8 4
3 2 4 8 8 4
3800
"""


@pytest.fixture
def mknap(tmp_path) -> tuple[Path, Path]:
    return write(tmp_path, "mknap1.txt", MKNAP1), write(tmp_path, "mknap2.txt", MKNAP2)


def test_mknap_files_are_told_from_their_content(mknap):
    first, second = mknap
    assert problems.sniff_kind(first) == "mdkp" and problems.sniff_kind(second) == "mdkp"


def test_a_multi_instance_file_asks_which_instance(mknap, capsys):
    first, _ = mknap
    for spec in (str(first), f"mdkp:{first}"):
        with pytest.raises(ConfigError, match=r"mknap1 file holding 2 instances") as info:
            load_spec(spec)
        assert f"{first}#1 .. {first}#2" in str(info.value)
        cli_error(capsys, "solve", spec)


def test_each_instance_is_addressable(mknap):
    first, second = mknap
    one = load_spec(f"{first}#1")
    assert one.name == "mknap1-1" and one.size() == {"n": 6, "m": 10} and one.best_known == 3800
    two = load_spec(f"mdkp:{first}#2")
    assert two.name == "mknap1-2" and two.size() == {"n": 2, "m": 1}
    assert load_spec(f"{first}#MKNAP1-2").name == "mknap1-2"  # by name, any case
    assert MDKP.read_mknap(first)[1].name == "mknap1-2"
    tiny, pet1 = MDKP.read_mknap(second)
    assert tiny.name == "TINY1" and tiny.size() == {"n": 3, "m": 2} and tiny.best_known == 17
    np.testing.assert_array_equal(tiny.weights, [[3, 2, 4], [1, 2, 2]])
    np.testing.assert_array_equal(tiny.capacities, [6, 4])
    assert pet1.name == "PET1"
    for a, b in ((pet1.profits, one.profits), (pet1.weights, one.weights)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pet1.capacities, one.capacities)
    assert load_spec(f"{second}#2").name == "PET1" == load_spec(f"mdkp:{second}#pet1").name


def test_mknap_instances_solve_from_the_command_line(mknap, capsys):
    first, second = mknap
    code = main(["solve", f"{first}#1", f"mdkp:{second}#TINY1", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(r["instance"], r["objective"], r["gap_pct"]) for r in rows] == [
        ("mknap1-1", 3800, 0),
        ("TINY1", 17, 0),
    ]


def test_mknap_instances_in_a_suite(mknap, tmp_path):
    first, second = mknap
    suite = write(
        tmp_path,
        "mknap.toml",
        f'name = "mknap"\ninstances = ["mdkp:{first}#1", "{second}#2", '
        f'{{ file = "{first}#2", problem = "mdkp" }}]\n[[solvers]]\nname = "mip"\n',
    )
    frame = qbench.run_suite(suite, out=tmp_path / "runs")
    found = dict(zip(frame["instance"], frame["objective"]))
    assert found == {"mknap1-1": 3800, "PET1": 3800, "mknap1-2": 7}


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [("3", "no such instance; the file holds 2 (#1 .. #2"), ("0", "no such instance"),
     ("nosuch", "by name: mknap1-1, mknap1-2")],
)  # fmt: skip
def test_bad_selectors_are_refused(mknap, selector, fragment, capsys):
    first, _ = mknap
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_spec(f"{first}#{selector}")
    cli_error(capsys, "solve", f"{first}#{selector}")


def test_single_instance_formats_refuse_a_selector(tmp_path, capsys):
    graph = write(tmp_path, "g.dimacs", "p edge 2 1\ne 1 2\n")
    with pytest.raises(ConfigError, match="a mis file holds one instance"):
        load_spec(f"{graph}#1")
    sac = write(tmp_path, "s.dat", "2 1 0\n5 6\n1 2\n3\n")
    assert load_spec(f"{sac}#1").name == "s"
    cli_error(capsys, "solve", f"{graph}#1")


def test_a_file_named_with_a_hash_is_still_a_file(tmp_path):
    path = write(tmp_path, "odd#1.dat", "2 1 0\n5 6\n1 2\n3\n")
    assert load_spec(str(path)).name == "odd#1"


def test_a_mknap_file_with_one_instance_reads_as_it(tmp_path):
    path = write(tmp_path, "one.txt", "1\n2 1 0\n5 6\n1 2\n3\n")
    assert MDKP.read(path).name == "one-1" and load_spec(str(path)).size() == {"n": 2, "m": 1}


# ---- 8. TSPLIB quirks ----------------------------------------------------------------------------


def test_names_lose_a_trailing_tsp(tmp_path):
    path = write(tmp_path, "x.tsp", TSP_HEAD.replace("NAME : t", "NAME : ulysses9.TSP") +
                 "1 0 0\n2 3 4\n3 6 0\n")  # fmt: skip
    assert TSP.read(path).name == "ulysses9"
    assert TSP.read(shipped()["ulysses16"].path).name == "ulysses16"


def test_fixed_edges_are_named_as_what_is_unsupported(tmp_path):
    text = (
        "NAME : linhp3\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\n"
        "FIXED_EDGES_SECTION\n1 2\n-1\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 0\nEOF\n"
    )
    with pytest.raises(InstanceFormatError, match="fixed edges") as info:
        TSP.read(write(tmp_path, "linhp3.tsp", text))
    assert "symmetric TSP only" not in str(info.value) and info.value.line == 5


# ---- every kind: the shipped instances still read as before ------------------------------------


@pytest.mark.parametrize("name", sorted(shipped()))
def test_shipped_instances_still_read(name):
    entry = shipped()[name]
    problem = problems.read(entry.path)
    assert problem.kind == entry.problem


def test_classes_are_the_registry():
    assert {cls.kind for cls in (MDKP, MIS, QAP, TSP, MSP)} == set(KINDS)
