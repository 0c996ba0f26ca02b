"""Backends where circuits run: exact simulator, Aer, IBM Runtime (later).

``get_backend("aer_mps", shots=2000, seed=1)`` builds a backend by name. Names of the form
``kind:arg`` (``aer_noisy:<device>``, ``ibm:<backend>``) are reserved for noisy simulation and
hardware and are refused with a clear ConfigError until they exist.
"""

from __future__ import annotations

from qbench.errors import ConfigError
from qbench.hardware.aer import AerMPSBackend, AerShotsBackend, AerStatevectorBackend
from qbench.hardware.base import Backend

#: backend name -> class; "exact" is added on first use of get_backend (hardware/exact.py)
BACKENDS: dict[str, type[Backend]] = {
    AerStatevectorBackend.name: AerStatevectorBackend,
    AerMPSBackend.name: AerMPSBackend,
    AerShotsBackend.name: AerShotsBackend,
}
#: "kind:arg" backend families planned but not implemented yet, with what the arg names
RESERVED_PREFIXES = {"aer_noisy": "device", "ibm": "backend"}


def _register_exact() -> None:
    """Add ExactBackend lazily so this module imports even before hardware/exact.py exists."""
    if "exact" in BACKENDS:
        return
    try:
        from qbench.hardware.exact import ExactBackend
    except ImportError:
        return
    BACKENDS[ExactBackend.name] = ExactBackend


def backend_names() -> list[str]:
    """The backend names get_backend accepts now (plus the reserved ``kind:arg`` families)."""
    _register_exact()
    return sorted(BACKENDS)


def get_backend(name: str, **options) -> Backend:
    """The backend called ``name``, built with ``options``; ConfigError lists allowed names."""
    names = backend_names()
    allowed = ", ".join(names + [f"{k}:<{v}>" for k, v in RESERVED_PREFIXES.items()])
    kind, sep, arg = str(name).partition(":")
    if sep:
        if kind in RESERVED_PREFIXES:
            raise ConfigError(
                f"backend {name!r}: {kind}:<{RESERVED_PREFIXES[kind]}> backends are not "
                f"available yet; available: {', '.join(names)}"
            )
        raise ConfigError(f"unknown backend {name!r}; allowed: {allowed}")
    cls = BACKENDS.get(name)
    if cls is None:
        raise ConfigError(f"unknown backend {name!r}; allowed: {', '.join(names)}")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"backend {name!r}: bad options {sorted(options)}: {exc}") from None
