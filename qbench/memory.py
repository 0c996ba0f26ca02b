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
