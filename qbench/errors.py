"""The error types of qbench: each names what is wrong so the CLI can print one clear line."""

from __future__ import annotations

from pathlib import Path


class QbenchError(Exception):
    """Base class of every error qbench raises on purpose (bad input, refused run)."""


class InstanceFormatError(QbenchError):
    """A file that does not parse: names the file, the line (or token) and what was expected."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or "<text>"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {message}")


class ConfigError(QbenchError):
    """A bad spec, solver name or parameter: the message lists the allowed values."""


class ResourceError(QbenchError):
    """A run refused up front because it would not fit (memory, size limits), with the numbers."""


class HardwareError(QbenchError):
    """A job on a device or service that failed, was cancelled or could not be submitted."""
