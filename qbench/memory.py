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
    """ResourceError "<what> needs 1.5 GiB (N bytes) but <limit> is 1 GiB (M bytes)" when
    ``required`` won't fit (both counts as :func:`format_bytes` writes them).

    The limit is ``max_bytes`` when given, else the memory available now (MemAvailable).
    """
    available = available_memory() if max_bytes is None else int(max_bytes)
    if available is not None and required > available:
        source = "max_bytes" if max_bytes is not None else "available memory (MemAvailable)"
        needs, limit = format_bytes(required), format_bytes(available)
        raise ResourceError(f"{what} needs {needs} but {source} is {limit}{hint}")


#: binary units from the largest down: (name, bytes)
_UNITS = (
    ("EiB", 1 << 60),
    ("PiB", 1 << 50),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
)
#: below this (1 TiB) the exact count follows the human one in parentheses; from it on the count
#: is an estimate whose last digits mean nothing, and too long to read
EXACT_BELOW = 1 << 40
#: from this count on (1024 EiB) scientific notation, as the binary units beyond are little known
SCIENTIFIC_FROM = 1 << 70


def format_bytes(n: int, short: bool = False) -> str:
    """A byte count as every message and table of qbench states it, by one rule:

    - below 1 KiB the exact count: ``"512 bytes"``;
    - up to 1024 EiB binary units with 3 significant digits (``"1.5 GiB"``, ``"32 EiB"``),
      followed, below 1 TiB and unless ``short``, by the exact count in parentheses:
      ``"1.5 GiB (1,610,612,736 bytes)"``;
    - from 1024 EiB on scientific notation: ``"1.18e+21 bytes"``.

    ``short`` is for columns where space is short (the dry-run table's ``memory``).
    """
    n = int(n)
    if n >= SCIENTIFIC_FROM:
        return f"{n:.3g} bytes"
    for unit, size in _UNITS:
        if n >= size:
            value = n / size
            # 3 significant digits, but never "1e+03": 999.5 to 1023.9 are written whole
            human = f"{value:.3g} {unit}" if value < 999.5 else f"{value:.0f} {unit}"
            return human if short or n >= EXACT_BELOW else f"{human} ({n:,} bytes)"
    return "1 byte" if n == 1 else f"{n:,} bytes"


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
    why not, with both numbers (:func:`format_bytes`): "<what> needs ~1.5 GiB (N bytes) but only
    1 GiB (M bytes) can be allocated now (<what sets the limit>)"."""
    room, source = allocatable_memory()
    if room is None or required <= room:
        return None
    return (
        f"{what} needs ~{format_bytes(required)} but only {format_bytes(room)} "
        f"can be allocated now ({source})"
    )
