"""Backends where circuits run: exact simulator, Aer, noisy device models, IBM Runtime.

``get_backend("aer_mps", shots=2000, seed=1)`` builds a backend by name. Names of the form
``kind:arg`` are device backends (:mod:`qbench.hardware.ibm`): ``aer_noisy:<device>``,
``ibm_local:<device>`` and ``ibm:<backend>``, with options such as ``optimization_level`` or
``mitigation`` (``backend.KEY=VALUE`` on the command line).
"""

from __future__ import annotations

from qbench.errors import ConfigError
from qbench.hardware.aer import (
    AerBackend,
    AerMPSBackend,
    AerShotsBackend,
    AerStatevectorBackend,
)
from qbench.hardware.base import Backend
from qbench.hardware.ibm import FAMILIES, device_key, make_backend, parse_options

#: backend name -> class; "exact" is added on first use of get_backend (hardware/exact.py)
BACKENDS: dict[str, type[Backend]] = {
    AerStatevectorBackend.name: AerStatevectorBackend,
    AerMPSBackend.name: AerMPSBackend,
    AerShotsBackend.name: AerShotsBackend,
}


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
    """The plain backend names get_backend accepts (device families take ``kind:arg``)."""
    _register_exact()
    return sorted(BACKENDS)


def get_backend(name: str, **options) -> Backend:
    """The backend called ``name``, built with ``options``; ConfigError lists allowed names."""
    names = backend_names()
    allowed = ", ".join(names + [f"{k}:<{v}>" for k, v in FAMILIES.items()])
    kind, sep, arg = str(name).partition(":")
    if sep:
        if kind not in FAMILIES:
            raise ConfigError(f"unknown backend {name!r}; allowed: {allowed}")
        return make_backend(name, **options)
    if kind in FAMILIES:
        raise ConfigError(f"backend {name!r} needs a {FAMILIES[kind]}: {kind}:<{FAMILIES[kind]}>")
    cls = BACKENDS.get(name)
    if cls is None:
        raise ConfigError(f"unknown backend {name!r}; allowed: {allowed}")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"backend {name!r}: bad options {sorted(options)}: {exc}") from None


def validate_backend(name: str) -> None:
    """ConfigError unless ``name`` is a backend get_backend can build; connects to nothing."""
    kind, sep, arg = str(name).partition(":")
    if not sep:
        if name not in backend_names():
            get_backend(name)  # raises with the allowed names
        return
    if kind not in FAMILIES:
        get_backend(name)
    if not arg.strip():
        raise ConfigError(f"backend {name!r} needs a {FAMILIES[kind]}: {kind}:<{FAMILIES[kind]}>")
    if kind in ("aer_noisy", "ibm_local"):
        device_key(arg)


def open_backend(name: str, *, shots: int, options: dict | None = None) -> Backend:
    """The backend a solver runs on: ``shots`` per estimate where the backend samples (Aer,
    devices), device ``options`` (``backend.KEY`` parameters) for ``kind:arg`` names."""
    options = dict(options or {})
    if ":" in str(name):
        return get_backend(name, shots=shots, **options)
    if options:
        parse_options(name, options)  # raises: plain backends take no device options
    cls = BACKENDS.get(name)
    if cls is not None and issubclass(cls, AerBackend):
        return get_backend(name, shots=shots)
    return get_backend(name)
