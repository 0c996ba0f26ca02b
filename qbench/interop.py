"""Interoperability: qbench's BinaryProgram to and from other tools' models.

qiskit-optimization's ``QuadraticProgram`` (an optional dependency: ``pip install
qiskit-optimization``, part of the test extra) in both directions, constraints included, so a
model built with qiskit-optimization runs through qbench's encoders and solvers
(``run(from_quadratic_program(qp), "mip")``) and a qbench problem goes to qiskit's
converters and algorithms (``to_quadratic_program(problem.program)``); ``qbench.pipeline.run``
takes the converted program as it takes a problem spec. Variables keep their
names and order; only binary variables, a linear or quadratic objective and linear
constraints exist on both sides.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qbench.errors import ConfigError, InstanceFormatError
from qbench.program import BinaryProgram
from qbench.textio import read_text


def _optional(module: str, install: str) -> Any:
    """An optional dependency, or ConfigError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{module} is not installed: {install}") from None


def _rows(program: BinaryProgram):
    """Each constraint row as (name, sense, rhs, column indices, coefficients)."""
    A = program.A.tocsr()
    for r, (name, sense, rhs) in enumerate(
        zip(program.constraint_names, program.senses, program.b)
    ):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        yield name, sense, float(rhs), A.indices[lo:hi], A.data[lo:hi]


def to_quadratic_program(program: BinaryProgram) -> Any:
    """The same program as a qiskit-optimization QuadraticProgram (same names, same order)."""
    qiskit_optimization = _optional("qiskit_optimization", "pip install qiskit-optimization")
    qp = qiskit_optimization.QuadraticProgram(name=program.name)
    names = program.var_names
    for name in names:
        qp.binary_var(name)
    q = program.quadratic.tocoo()
    quadratic = {(names[i], names[j]): float(v) for i, j, v in zip(q.row, q.col, q.data)}
    linear = {names[i]: float(v) for i, v in enumerate(program.linear) if v != 0}
    objective = qp.minimize if program.sense == "min" else qp.maximize
    objective(constant=float(program.constant), linear=linear, quadratic=quadratic)
    for cname, sense, rhs, cols, vals in _rows(program):
        row = {names[j]: float(v) for j, v in zip(cols, vals) if v != 0}
        qp.linear_constraint(row, sense, rhs, name=cname)
    return qp


def from_quadratic_program(qp: Any) -> BinaryProgram:
    """A QuadraticProgram over binary variables with linear constraints (e.g. a qiskit QUBO,
    or a model built with qiskit-optimization) as a BinaryProgram; anything else (integer or
    continuous variables, quadratic constraints) is refused with what and where."""
    n = qp.get_num_vars()
    bad = [v.name for v in qp.variables if v.vartype.name != "BINARY"]
    if bad:
        raise ConfigError(
            f"QuadraticProgram {qp.name!r}: variables {', '.join(bad[:5])} are not binary "
            "(qbench programs are binary; convert integers first, e.g. with qiskit's "
            "IntegerToBinary)"
        )
    if qp.quadratic_constraints:
        names = ", ".join(c.name for c in qp.quadratic_constraints[:5])
        raise ConfigError(
            f"QuadraticProgram {qp.name!r}: quadratic constraints ({names}) are not supported; "
            "only linear constraints are"
        )
    rows = qp.linear_constraints
    A = sp.lil_matrix((len(rows), n))
    for r, con in enumerate(rows):
        for j, v in con.linear.to_dict().items():
            A[r, int(j)] = float(v)
    return BinaryProgram(
        linear=qp.objective.linear.to_array(),
        quadratic=sp.csr_matrix(qp.objective.quadratic.to_array()),
        constant=qp.objective.constant,
        A=A.tocsr(),
        b=np.array([float(c.rhs) for c in rows]),
        senses=tuple(c.sense.label for c in rows),
        sense="min" if qp.objective.sense.value == 1 else "max",
        var_names=[v.name for v in qp.variables],
        constraint_names=[c.name for c in rows],
        name=qp.name,
    )


# ---- LP and MPS files (through HiGHS) ---------------------------------------------------------

#: the model file formats :func:`read_model` and :func:`write_model` handle, by file ending
MODEL_FORMATS = {".lp": "LP (CPLEX LP format)", ".mps": "MPS (free or fixed)"}


def _highs() -> Any:
    highspy = _optional("highspy", 'pip install highspy (or ".[highs]")')
    sys.stdout.flush()  # HiGHS prints its banner on stdout at the first Highs(): keep it out
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return highspy, h


def _model_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in MODEL_FORMATS:
        allowed = ", ".join(MODEL_FORMATS)
        raise ConfigError(f"{path}: a model file must end in {allowed} (got {suffix or 'none'})")
    return suffix


def read_model(path: str | Path, fmt: str | None = None) -> BinaryProgram:
    """A binary program from an LP or MPS file (``fmt`` ".lp"/".mps"; default: the file's
    ending), read by HiGHS: binary variables only (integers with bounds [0, 1]), a linear or
    quadratic objective (the Hessian's ½ xᵀQx) and linear rows; a ranged row becomes a >= and
    a <= row. Anything else is refused with the names of what is wrong."""
    path = Path(path)
    suffix = _model_format(Path(f"x{fmt}") if fmt else path)
    highspy, h = _highs()
    with tempfile.TemporaryDirectory() as tmp:
        source = path
        if path.suffix.lower() != suffix:  # HiGHS tells the format by the ending
            source = Path(tmp) / f"model{suffix}"
            shutil.copyfile(path, source)
        status = h.readModel(str(source))
    if status != highspy.HighsStatus.kOk:
        raise InstanceFormatError(
            f"HiGHS could not read this as {MODEL_FORMATS[suffix]} (status {status.name}); "
            "check the file, or force another reader with KIND:FILE",
            path,
        )
    lp = h.getLp()
    n, m = lp.num_col_, lp.num_row_
    names = list(lp.col_names_) or [f"x{j}" for j in range(n)]
    lower, upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    integer = np.array(
        [t != highspy.HighsVarType.kContinuous for t in lp.integrality_] or [False] * n
    )
    # a fixed column (ZIMPL writes its objective offset as one, __ObjOffset = 1) is a constant
    fixed = (lower == upper) & np.isfinite(lower)
    binary = integer & (lower >= 0) & (upper <= 1)
    bad = [names[j] for j in range(n) if not (binary[j] or fixed[j])]
    if bad:
        raise InstanceFormatError(
            f"variables {', '.join(bad[:5])}{' …' if len(bad) > 5 else ''} are not binary "
            "(qbench reads binary programs: integer variables with bounds [0, 1], and fixed "
            "ones)",
            path,
        )
    a = lp.a_matrix_
    A = sp.csc_matrix((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)), (m, n))
    linear = np.asarray(lp.col_cost_, dtype=float).copy()
    quadratic = sp.csr_matrix((n, n))
    hess = h.getModel().hessian_
    if hess.dim_:
        Q = sp.csc_matrix(
            (np.asarray(hess.value_), np.asarray(hess.index_), np.asarray(hess.start_)), (n, n)
        ).tocoo()
        # ½ xᵀQx with Q's lower triangle stored: ½ Q_ii x_i (x_i² = x_i) and Q_ij x_i x_j
        diag = Q.row == Q.col
        np.add.at(linear, Q.row[diag], 0.5 * Q.data[diag])
        off = ~diag
        quadratic = sp.csr_matrix((Q.data[off], (Q.col[off], Q.row[off])), (n, n))
    rows, rhs, senses, cnames = [], [], [], []
    row_names = list(lp.row_names_) or [f"c{i}" for i in range(m)]
    A = A.tocsr()
    for i, (lo, hi) in enumerate(zip(lp.row_lower_, lp.row_upper_)):
        parts = [("==", lo)] if lo == hi else []
        if not parts:
            parts = [(">=", lo)] * int(np.isfinite(lo)) + [("<=", hi)] * int(np.isfinite(hi))
        for sense, value in parts:
            suffix_name = "" if len(parts) == 1 else ("_lo" if sense == ">=" else "_hi")
            rows.append(i), rhs.append(float(value)), senses.append(sense)
            cnames.append(row_names[i] + suffix_name)
    program = BinaryProgram(
        linear=linear,
        quadratic=quadratic,
        constant=float(lp.offset_),
        A=A[rows] if rows else sp.csr_matrix((0, n)),
        b=np.array(rhs),
        senses=tuple(senses),
        sense="max" if lp.sense_ == highspy.ObjSense.kMaximize else "min",
        var_names=names,
        constraint_names=cnames,
        name=path.stem,
    )
    return _substitute(program, fixed, lower) if fixed.any() else program


def _substitute(program: BinaryProgram, fixed: np.ndarray, values: np.ndarray) -> BinaryProgram:
    """The program over its free columns, the fixed ones replaced by their values: their
    objective terms move into the constant and the linear terms, their row terms into b."""
    keep = np.flatnonzero(~fixed)
    fix = np.flatnonzero(fixed)
    v = values[fix]
    Q = program.quadratic.tocsr()
    cross = Q[keep][:, fix] @ v + Q[fix][:, keep].T @ v  # x_k · (fixed value) terms
    constant = program.constant + float(program.linear[fix] @ v) + float(v @ (Q[fix][:, fix] @ v))
    A = program.A.tocsc()
    return BinaryProgram(
        linear=program.linear[keep] + np.asarray(cross).ravel(),
        quadratic=Q[keep][:, keep],
        constant=constant,
        A=A[:, keep],
        b=program.b - np.asarray(A[:, fix] @ v).ravel(),
        senses=program.senses,
        sense=program.sense,
        var_names=[program.var_names[k] for k in keep],
        constraint_names=program.constraint_names,
        name=program.name,
    )


def write_model(program: BinaryProgram, path: str | Path) -> Path:
    """Write the program as an LP or MPS file (by the ending) through HiGHS: binary variables,
    the objective (a quadratic one as HiGHS' ½ xᵀQx Hessian) and the rows."""
    path = Path(path)
    _model_format(path)
    highspy, h = _highs()
    n = program.n_vars
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, program.n_constraints
    lp.col_cost_ = np.asarray(program.linear, dtype=float)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    lp.offset_ = float(program.constant)
    lp.sense_ = highspy.ObjSense.kMaximize if program.sense == "max" else highspy.ObjSense.kMinimize
    A = program.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = A.indptr, A.indices
    lp.a_matrix_.value_ = A.data
    senses = np.array(program.senses, dtype=object)
    lp.row_lower_ = np.where(senses == "<=", -np.inf, program.b)
    lp.row_upper_ = np.where(senses == ">=", np.inf, program.b)
    lp.col_names_, lp.row_names_ = list(program.var_names), list(program.constraint_names)
    if h.passModel(lp) != highspy.HighsStatus.kOk:
        raise ConfigError(f"HiGHS refused the program {program.name!r} (names must be unique)")
    if program.quadratic.nnz:
        # xᵢxⱼ (i < j, upper triangle here) is ½ (Q_ij + Q_ji) xᵢxⱼ: Q's lower triangle
        Q = sp.csc_matrix(program.quadratic.T)  # lower triangle, column-wise
        hess = highspy.HighsHessian()
        hess.dim_, hess.format_ = n, highspy.HessianFormat.kTriangular
        hess.start_, hess.index_, hess.value_ = Q.indptr, Q.indices, Q.data
        if h.passHessian(hess) != highspy.HighsStatus.kOk:
            raise ConfigError(f"HiGHS refused the objective of {program.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if h.writeModel(str(path)) != highspy.HighsStatus.kOk:
        raise ConfigError(f"HiGHS could not write {path}")
    return path


# ---- dimod / Ocean -----------------------------------------------------------------------------


def _dimod() -> Any:
    return _optional("dimod", 'pip install dimod dwave-samplers (or ".[ocean]")')


def to_bqm(program: BinaryProgram) -> Any:
    """An unconstrained program (a QUBO, e.g. ``encoding.qubo``) as a dimod
    BinaryQuadraticModel over binary variables named as the program's; a max program is
    negated (dimod minimises). Constrained programs need an encoder first (or :func:`to_cqm`)."""
    if program.n_constraints:
        raise ConfigError(
            f"to_bqm: program {program.name!r} has {program.n_constraints} constraint(s); "
            "encode it first (e.g. get_encoder('qubo').encode(problem).qubo) or use to_cqm"
        )
    return _objective_bqm(program)


def _objective_bqm(program: BinaryProgram) -> Any:
    """The program's objective (its rows ignored) as a BINARY BinaryQuadraticModel, negated
    for max, its variables in the program's order."""
    dimod = _dimod()
    s = 1.0 if program.sense == "min" else -1.0
    names = program.var_names
    q = program.quadratic.tocoo()
    bqm = dimod.BinaryQuadraticModel(dimod.BINARY)
    bqm.add_linear_from((names[i], s * float(v)) for i, v in enumerate(program.linear))  # order
    bqm.add_quadratic_from(
        (names[i], names[j], s * float(v)) for i, j, v in zip(q.row, q.col, q.data)
    )
    bqm.offset = s * float(program.constant)
    return bqm


def from_bqm(bqm: Any, name: str = "") -> BinaryProgram:
    """A dimod BinaryQuadraticModel (BINARY or SPIN, converted) as an unconstrained min
    program, its variables in the model's order."""
    dimod = _dimod()
    if bqm.vartype is dimod.SPIN:
        bqm = bqm.change_vartype(dimod.BINARY, inplace=False)
    variables = list(bqm.variables)
    index = {v: i for i, v in enumerate(variables)}
    n = len(variables)
    linear = np.array([float(bqm.get_linear(v)) for v in variables])
    rows, cols, vals = [], [], []
    for (u, v), bias in bqm.quadratic.items():
        rows.append(index[u]), cols.append(index[v]), vals.append(float(bias))
    return BinaryProgram(
        linear=linear,
        quadratic=sp.csr_matrix((vals, (rows, cols)), shape=(n, n)),
        constant=float(bqm.offset),
        sense="min",
        var_names=[str(v) for v in variables],
        name=name,
    )


def to_cqm(program: BinaryProgram) -> Any:
    """The program as a dimod ConstrainedQuadraticModel: binary variables named as the
    program's, the objective (negated for max: dimod minimises) and every row with its sense
    and name, for Ocean's constrained samplers."""
    dimod = _dimod()
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(_objective_bqm(program))
    names = program.var_names
    for cname, sense, rhs, cols, vals in _rows(program):
        terms = [(names[j], float(v)) for j, v in zip(cols, vals)]
        cqm.add_constraint_from_iterable(terms, sense, rhs=rhs, label=cname)
    return cqm


# ---- QUBO files (.qs, ZIMPL's format, as QOBLIB ships its QUBOs) -------------------------------


#: the most variables a .qs file may declare (a QUBO beyond it fits no solver here)
MAX_QS_VARS = 10**6


def read_qs(path: str | Path) -> BinaryProgram:
    """A QUBO from a ``.qs`` file as ZIMPL (``-t q``) writes them and QOBLIB ships them:
    ``#`` comment lines, a header ``n nnz offset``, then ``nnz`` lines ``i j q`` (1-based,
    i <= j) of the upper triangle of a symmetric Q; the energy is ``xᵀQx + offset`` (an
    off-diagonal entry counts twice), minimised. Malformed lines are refused with the line."""
    path = Path(path)
    header, entries = None, []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        try:
            if header is None:
                if len(words) not in (2, 3):
                    raise ValueError
                header = (int(words[0]), int(words[1]), float(words[2]) if len(words) == 3 else 0.0)
                if not (1 <= header[0] <= MAX_QS_VARS and header[1] >= 0):
                    raise InstanceFormatError(
                        f"header: n = {header[0]} must be in 1..{MAX_QS_VARS:,} and "
                        f"nnz = {header[1]} >= 0", path, number,
                    )  # fmt: skip
                continue
            if len(words) != 3:
                raise ValueError
            i, j, value = int(words[0]), int(words[1]), float(words[2])
        except ValueError:
            expected = "'n nnz offset'" if header is None else "'i j value'"
            message = f"expected {expected}, got {raw.strip()!r}"
            raise InstanceFormatError(message, path, number) from None
        n = header[0]
        if not (1 <= i <= n and 1 <= j <= n) or not np.isfinite(value):
            raise InstanceFormatError(
                f"entry ({i}, {j}) = {value} is outside 1..{n} or not finite", path, number
            )
        entries.append((min(i, j) - 1, max(i, j) - 1, value))
    if header is None:
        raise InstanceFormatError("no header 'n nnz offset': an empty QUBO file", path)
    n, nnz, offset = header
    if len(entries) != nnz:
        raise InstanceFormatError(
            f"the header announces {nnz} entries, the file has {len(entries)}", path
        )
    linear = np.zeros(n)
    rows, cols, vals = [], [], []
    for i, j, value in entries:
        if i == j:
            linear[i] += value
        else:
            rows.append(i), cols.append(j), vals.append(2.0 * value)
    return BinaryProgram(
        linear=linear,
        quadratic=sp.csr_matrix((vals, (rows, cols)), shape=(n, n)),
        constant=offset,
        sense="min",
        var_names=[f"x#{k + 1}" for k in range(n)],
        name=path.stem,
    )


def write_qs(program: BinaryProgram, path: str | Path) -> Path:
    """Write an unconstrained program as a ``.qs`` QUBO file (see :func:`read_qs`); a max
    program is negated (the format minimises)."""
    path = Path(path)
    if program.n_constraints:
        raise ConfigError(
            f"write_qs: program {program.name!r} has {program.n_constraints} constraint(s); "
            "a .qs file holds a QUBO: encode it first"
        )
    s = 1.0 if program.sense == "min" else -1.0
    q = program.quadratic.tocoo()
    entries = [(i, i, s * v) for i, v in enumerate(program.linear) if v != 0]
    entries += [(int(i), int(j), 0.5 * s * v) for i, j, v in zip(q.row, q.col, q.data)]
    entries.sort()
    lines = [f"# {program.name or 'QUBO'} written by qbench: energy x'Qx + offset, minimised",
             "# Vars Non-zeros Offset",
             f"{program.n_vars} {len(entries)} {s * program.constant:.17g}"]  # fmt: skip
    lines += [f"{i + 1} {j + 1} {v:.17g}" for i, j, v in entries]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- one writer for every format ---------------------------------------------------------------

#: formats :func:`write_program` writes, by name and by file ending
WRITE_FORMATS = {"lp": ".lp", "mps": ".mps", "qubo": ".qs", "bqm": ".bqm", "json": ".json"}


def write_program(program: BinaryProgram, path: str | Path, fmt: str | None = None) -> Path:
    """Write a program (``qbench encode -o``: the encoded QUBO) as ``lp``/``mps`` (HiGHS),
    ``qubo`` (a ``.qs`` file), ``bqm`` (dimod's serialised BinaryQuadraticModel) or ``json``
    (name, sense, constant, variable names, linear terms and ``[i, j, q]`` quadratic terms);
    ``fmt`` defaults to the file's ending."""
    path = Path(path)
    if fmt is None:
        by_ending = {ending: name for name, ending in WRITE_FORMATS.items()}
        fmt = by_ending.get(path.suffix.lower())
    if fmt not in WRITE_FORMATS:
        allowed = ", ".join(f"{k} ({v})" for k, v in WRITE_FORMATS.items())
        raise ConfigError(f"cannot tell the format to write {path} in; allowed: {allowed}")
    if fmt in ("lp", "mps"):
        if path.suffix.lower() != WRITE_FORMATS[fmt]:
            raise ConfigError(f"{path}: an {fmt} file must end in {WRITE_FORMATS[fmt]}")
        return write_model(program, path)
    if fmt == "qubo":
        return write_qs(program, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "bqm":
        with open(path, "wb") as fh:
            shutil.copyfileobj(to_bqm(program).to_file(), fh)
        return path
    q = program.quadratic.tocoo()
    data = {
        "name": program.name, "sense": program.sense, "constant": program.constant,
        "var_names": program.var_names, "linear": program.linear.tolist(),
        "quadratic": [[int(i), int(j), float(v)] for i, j, v in zip(q.row, q.col, q.data)],
        "constraints": [
            {"name": name, "sense": sense, "rhs": rhs,
             "terms": [[int(j), float(v)] for j, v in zip(cols, vals)]}
            for name, sense, rhs, cols, vals in _rows(program)
        ],
    }  # fmt: skip
    path.write_text(json.dumps(data))
    return path
