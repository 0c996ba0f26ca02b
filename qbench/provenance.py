"""Provenance of a run: qbench version, git revision and dirty flag, package versions, host."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("qiskit", "qiskit-aer", "numpy", "scipy", "pandas", "networkx", "pulp", "highspy")


def qbench_version() -> str:
    """The installed qbench's version (``0.0.0+unknown`` from a source tree not installed)."""
    try:
        return version("qbench")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache
def provenance() -> dict[str, object]:
    """Fields recorded on every row; computed once per process."""
    rev = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if rev else None
    info: dict[str, object] = {
        "qbench_version": qbench_version(),
        "git_rev": rev,
        "git_dirty": None if status is None else bool(status),
        "python_version": platform.python_version(),
        "host": platform.node(),
    }
    for pkg in PACKAGES:
        try:
            info[f"{pkg.replace('-', '_')}_version"] = version(pkg)
        except PackageNotFoundError:
            info[f"{pkg.replace('-', '_')}_version"] = None
    return info
