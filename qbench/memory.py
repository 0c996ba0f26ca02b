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


def _proc_status_bytes(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmSize, VmData) in bytes, None if unreadable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rlimit_headroom() -> tuple[int | None, str]:
    """Bytes the address-space/data rlimits still allow this process to map, and which limit."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None, ""
    best: tuple[int | None, str] = (None, "")
    for name, field in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
        soft = resource.getrlimit(getattr(resource, name))[0]
        used = _proc_status_bytes(field)
        if soft == resource.RLIM_INFINITY or used is None:
            continue
        room = max(int(soft) - used, 0)
        if best[0] is None or room < best[0]:
            best = (room, f"{name} less {field}")
    return best


def _cgroup_headroom() -> int | None:
    """memory.max − memory.current of this process's cgroup (v2), None when unlimited/unknown."""
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            current = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - current, 0)


def allocatable_memory() -> tuple[int | None, str]:
    """(bytes this process can allocate now, what sets that limit); (None, "") if unknown.

    The least of MemAvailable (:func:`available_memory`), the container's cgroup headroom and
    the address-space/data rlimits less what the process maps already: an allocation beyond any
    of them fails, so an up-front check must use the smallest.
    """
    options = [(available_memory(), "MemAvailable")]
    options.append((_cgroup_headroom(), "cgroup memory.max less memory.current"))
    options.append(_rlimit_headroom())
    known = [(room, source) for room, source in options if room is not None]
    return min(known) if known else (None, "")


def memory_shortfall(what: str, required: int) -> str | None:
    """None when ``required`` bytes fit in :func:`allocatable_memory`; else the sentence saying
    why not, with both numbers: "<what> needs ~1.5 GiB (N bytes) but only M bytes ... are free"."""
    room, source = allocatable_memory()
    if room is None or required <= room:
        return None
    return (
        f"{what} needs ~{format_bytes(required)} ({required:,} bytes) but only "
        f"{format_bytes(room)} ({room:,} bytes) can be allocated now ({source})"
    )
