"""Up-front memory checks: refuse a run that would not fit, with the numbers, before allocating."""

from __future__ import annotations

import os

from qbench.errors import ResourceError


def available_memory() -> int | None:
    """Bytes available now: /proc/meminfo MemAvailable, else os.sysconf; None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def require_memory(what: str, required: int, max_bytes: int | None = None, hint: str = "") -> None:
    """ResourceError "<what> needs N bytes but <limit> is M bytes" when ``required`` won't fit.

    The limit is ``max_bytes`` when given, else the memory available now (MemAvailable).
    """
    available = available_memory() if max_bytes is None else int(max_bytes)
    if available is not None and required > available:
        source = "max_bytes" if max_bytes is not None else "available memory (MemAvailable)"
        raise ResourceError(
            f"{what} needs {required:,} bytes but {source} is {available:,} bytes{hint}"
        )


def format_bytes(n: int) -> str:
    """Human-readable byte count in binary units ("1.5 GiB", "512 bytes"); counts beyond a
    million EiB are written in scientific notation ("1.2e+25 bytes")."""
    for unit, size in (
        ("EiB", 1 << 60),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1e6 else f"{n:.3g} bytes"
    return f"{n} bytes"
