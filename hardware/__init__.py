"""Backends where circuits run: exact simulator, Aer, noisy device models, IBM Runtime.

``get_backend("aer_mps", shots=2000, seed=1)`` builds a backend by name. Plain names are
registered in :data:`BACKENDS`; names of the form ``family:arg`` (``aer_noisy:<device>``,
``ibm_local:<device>``, ``ibm:<backend>``) belong to a class that lists the family in its
``families``. Every question about a backend — its options, whether it takes shots, whether a
circuit fits, what a device run costs — is asked of its class (:func:`backend_class`), so a new
backend is one module plus its line here. ``auto`` is no backend of its own: a run resolves it
(:func:`resolve_backend`) to the exact simulator while the state fits, Aer's MPS beyond.
"""

from __future__ import annotations

from typing import Any

from qbench.errors import ConfigError
from qbench.hardware.aer import AerMPSBackend, AerShotsBackend, AerStatevectorBackend
from qbench.hardware.base import Backend, close_open
from qbench.hardware.exact import ExactBackend
from qbench.hardware.ibm import DeviceBackend

#: plain backend name -> class
BACKENDS: dict[str, type[Backend]] = {
    cls.name: cls for cls in (ExactBackend, AerStatevectorBackend, AerMPSBackend, AerShotsBackend)
}
#: the name that picks the exact simulator while the run fits in memory, aer_mps beyond
AUTO = "auto"
#: backend family (the part of ``family:arg`` before the colon) -> class
FAMILIES: dict[str, type[Backend]] = {
    **dict.fromkeys(ExactBackend.families, ExactBackend),
    **dict.fromkeys(DeviceBackend.families, DeviceBackend),
}

__all__ = [
    "AUTO",
    "BACKENDS",
    "FAMILIES",
    "Backend",
    "allowed_names",
    "backend_class",
    "backend_names",
    "check_option",
    "close_open",
    "get_backend",
    "open_backend",
    "parse_backend_options",
    "resolve_backend",
    "validate_backend",
]


def _family_pattern(family: str) -> str:
    """``aer_noisy:<device>``: how names of a family are written."""
    return f"{family}:<{FAMILIES[family].families[family]}>"


def backend_names() -> list[str]:
    """The plain backend names get_backend accepts (device families take ``kind:arg``)."""
    return sorted(BACKENDS)


def allowed_names() -> list[str]:
    """Every backend name pattern, for messages: plain names, ``auto``, then ``family:<arg>``."""
    return [*backend_names(), AUTO] + [_family_pattern(f) for f in FAMILIES]


def backend_class(name: str) -> type[Backend]:
    """The class that builds backend ``name``; ConfigError lists the allowed names."""
    kind, sep, arg = str(name).partition(":")
    cls = FAMILIES.get(kind) if sep else BACKENDS.get(kind)
    if cls is None:
        if not sep and kind in FAMILIES:
            what = FAMILIES[kind].families[kind]
            raise ConfigError(f"backend {name!r} needs a {what}: {_family_pattern(kind)}")
        raise ConfigError(f"unknown backend {name!r}; allowed: {', '.join(allowed_names())}")
    return cls


def get_backend(name: str, **options: Any) -> Backend:
    """The backend called ``name``, built with ``options``; ConfigError lists allowed names."""
    cls = backend_class(name)
    try:
        return cls.build(str(name), **options)
    except TypeError as exc:
        raise ConfigError(f"backend {name!r}: bad options {sorted(options)}: {exc}") from None


def validate_backend(name: str) -> None:
    """ConfigError unless ``name`` is a backend get_backend can build, or ``auto``; connects to
    nothing."""
    if name == AUTO:
        return
    backend_class(name).validate(str(name))


def resolve_backend(
    name: str, n_qubits: int, kind: str, available: int | None | str = "now"
) -> str:
    """``name`` itself, or for ``auto``: ``exact`` when an ``n_qubits`` run of ansatz ``kind``
    fits in ``available`` bytes (default: the memory that can be allocated now, so the choice
    follows the machine; rows record what ran), else ``aer_mps``, whose memory grows with the
    entanglement instead of 2^n."""
    if name != AUTO:
        return name
    if available == "now":
        from qbench.memory import allocatable_memory

        available = allocatable_memory()[0]
    _, reason = ExactBackend.fit("exact", n_qubits, kind, available)
    return "exact" if not reason else "aer_mps"


def parse_backend_options(
    name: str, raw: dict[str, Any], owner: str | None = None
) -> dict[str, Any]:
    """The user options (``backend.KEY=VALUE``) of backend ``name``, validated and typed with
    its class's declared ``params``; ConfigError names what is wrong (as ``owner``)."""
    cls = backend_class(name)
    if not cls.params:
        if raw:
            keys = ", ".join(f"backend.{k}" for k in sorted(raw))
            takers = [n for n, c in sorted(BACKENDS.items()) if c.params]
            takers += [_family_pattern(f) for f, c in FAMILIES.items() if c.params]
            raise ConfigError(
                f"{keys}: backend {name!r} takes no options; they are for {', '.join(takers)}"
            )
        return {}
    return cls.check_options(raw, owner or f"backend {name!r}")


def check_option(key: str, value: Any, owner: str = "backend options") -> Any:
    """One backend option checked before its backend is known (a suite's ``backend_options``):
    typed with the declaration of the first backend class that takes ``key``; ConfigError
    when no backend takes it or the value is bad."""
    classes = [*BACKENDS.values(), *FAMILIES.values()]
    for cls in classes:
        if any(p.name == key for p in cls.params):
            return cls.check_options({key: value}, owner)[key]
    allowed = sorted({p.name for cls in classes for p in cls.params})
    raise ConfigError(f"unknown backend option {key!r}; allowed: {', '.join(allowed)}")


def open_backend(name: str, *, shots: int, options: dict | None = None) -> Backend:
    """The backend a solver runs on: built with ``shots`` where the backend samples, and with
    the user's ``options`` (``backend.KEY`` parameters, validated against its declaration)."""
    options = parse_backend_options(name, dict(options or {}))
    if backend_class(name).takes_shots:
        options["shots"] = shots
    return get_backend(name, **options)
