"""The package's seams, checked on its source: no import cycles, no module reaching into another
module's ``_private`` names, no library code importing the command line, and no pipeline module
testing a component's name (components declare what they need; the pipeline asks)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def package_modules() -> dict[str, Path]:
    """Module name → file of every module of the installed package (pyproject's package-dir)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = config["package-dir"]
    modules: dict[str, Path] = {}
    for package in config["packages"]:
        parent = max((p for p in dirs if package == p or package.startswith(p + ".")), key=len)
        rest = package[len(parent) + 1 :].split(".") if package != parent else []
        folder = ROOT / dirs[parent] / Path(*rest)
        for path in folder.glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
    return modules


MODULES = package_modules()


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every import in a module, at any level
    (functions too), except ``if TYPE_CHECKING:`` blocks; relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    skip = {id(n) for node in ast.walk(tree) if _type_checking(node) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out += [(base, alias.name, node.lineno) for alias in node.names]
    return out


def graph() -> dict[str, set[str]]:
    """Import edges between the package's modules (``from pkg import mod`` → pkg.mod)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for module, item, _ in imports(name, path):
            target = f"{module}.{item}" if item and f"{module}.{item}" in MODULES else module
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_package_is_found():
    names = ("qbench", "qbench.pipeline", "qbench.problems.mdkp", "qbench.solvers.qaoa",
             "qbench.hardware.exact.kernels", "qbench.encoders.qubo", "qbench.cli")  # fmt: skip
    for name in names:
        assert name in MODULES, name


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def private_uses(name: str, path: Path) -> list[str]:
    """Underscore names this module takes from another package module: ``from m import _x`` and
    ``m._x`` on a module bound by ``import m`` / ``from pkg import m``."""
    found = []
    bound: dict[str, str] = {}  # local name -> package module
    for module, item, line in imports(name, path):
        full = f"{module}.{item}" if item else module
        if item and full in MODULES:
            bound[item] = full
        elif item is None and module in MODULES:
            bound[module.split(".")[0]] = module.split(".")[0]
        private = item and item.startswith("_") and not item.startswith("__")
        if private and module in MODULES and module != name:
            found.append(f"{name}:{line} imports {module}.{item}")
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = bound.get(node.value.id)
            attr = node.attr
            if target and target != name and attr.startswith("_") and not attr.startswith("__"):
                found.append(f"{name}:{node.lineno} uses {target}.{attr}")
    return found


def test_no_module_reaches_into_another_modules_private_names():
    assert [use for name, path in MODULES.items() for use in private_uses(name, path)] == []


def test_the_private_check_finds_one(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from qbench.pipeline import _record\nimport qbench.suite as s\n")
    assert private_uses("qbench.bad", path) == ["qbench.bad:1 imports qbench.pipeline._record"]


def test_library_code_never_imports_the_command_line():
    offenders = [
        name for name, path in MODULES.items()
        if name != "qbench.cli" and any(m == "qbench.cli" for m, _, _ in imports(name, path))
    ]  # fmt: skip
    assert offenders == []


#: the modules that wire components together: they must ask components, never test names
PIPELINE = (
    "qbench.pipeline", "qbench.plan", "qbench.suite", "qbench.runner", "qbench.cli",
    "qbench.hardware", "qbench.preprocessing", "qbench.solvers", "qbench.encoders",
)  # fmt: skip


def component_names() -> set[str]:
    """Every registered solver, meta-solver, encoder, preprocessor and backend name/family."""
    from qbench.encoders import ENCODERS
    from qbench.hardware import BACKENDS, FAMILIES
    from qbench.preprocessing import PREPROCESSORS
    from qbench.solvers import META_SOLVERS, SOLVERS

    return {*SOLVERS, *META_SOLVERS, *ENCODERS, *PREPROCESSORS, *BACKENDS, *FAMILIES}


def name_tests(source: str, names: set[str], where: str) -> list[str]:
    """Comparisons or membership tests of anything against a component name literal."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        for side in [node.left, *node.comparators]:
            literals = [side] if isinstance(side, ast.Constant) else []
            if isinstance(side, ast.Tuple | ast.List | ast.Set):
                literals = [e for e in side.elts if isinstance(e, ast.Constant)]
            if any(isinstance(c.value, str) and c.value in names for c in literals):
                bad.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return bad


@pytest.mark.parametrize("module", PIPELINE)
def test_pipeline_modules_do_not_test_component_names(module):
    assert name_tests(MODULES[module].read_text(), component_names(), module) == []


def test_the_name_check_finds_one():
    source = 'if solver.name == "pce" or enc in ("qubo", 3):\n    pass\n'
    assert name_tests(source, {"pce", "qubo"}, "m") == [
        "m:1 solver.name == 'pce'",
        "m:1 enc in ('qubo', 3)",
    ]
