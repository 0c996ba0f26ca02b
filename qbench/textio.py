"""Whitespace-token reading with line numbers, shared by the instance readers for clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qbench.errors import InstanceFormatError


def read_text(path: str | Path) -> str:
    """A file's text, or InstanceFormatError naming the file when it cannot be read as text."""
    path = Path(path)
    try:
        return path.read_text()
    except OSError as exc:
        raise InstanceFormatError(f"cannot read file ({exc.strerror})", path) from None
    except UnicodeDecodeError:
        raise InstanceFormatError("not a text file", path) from None


class TokenReader:
    """Reads numbers token by token from a text file, remembering each token's line number."""

    def __init__(self, text: str, path: str | Path | None = None, start_line: int = 1):
        self.path = path
        self.tokens: list[tuple[str, int]] = [
            (tok, start_line + i)
            for i, line in enumerate(text.splitlines())
            for tok in line.replace(",", " ").split()
        ]
        self.pos = 0

    @classmethod
    def from_file(cls, path: str | Path) -> TokenReader:
        return cls(read_text(path), path)

    def error(self, message: str, line: int | None = None) -> InstanceFormatError:
        """An error at the current token's line (or the given one)."""
        if line is None and self.tokens:
            line = self.tokens[min(self.pos, len(self.tokens) - 1)][1]
        return InstanceFormatError(message, self.path, line)

    def _next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.tokens):
            last = self.tokens[-1][1] if self.tokens else None
            raise InstanceFormatError(f"file ends early: expected {what}", self.path, last)
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def int(self, what: str, min_value: int | None = None) -> int:
        """Next token as an integer (``what`` names it in errors), optionally bounded below."""
        tok, line = self._next(what)
        try:
            value = int(tok)
        except ValueError:
            try:
                as_float = float(tok)
            except ValueError:
                as_float = None
            if as_float is None or not as_float.is_integer():
                raise InstanceFormatError(
                    f"expected an integer for {what}, got {tok!r}", self.path, line
                ) from None
            value = int(as_float)
        if min_value is not None and value < min_value:
            raise InstanceFormatError(
                f"{what} must be >= {min_value}, got {value}", self.path, line
            )
        return value

    def float(self, what: str) -> float:
        """Next token as a finite float."""
        tok, line = self._next(what)
        try:
            value = float(tok)
        except ValueError:
            raise InstanceFormatError(
                f"expected a number for {what}, got {tok!r}", self.path, line
            ) from None
        if not np.isfinite(value):
            raise InstanceFormatError(f"{what} is not finite: {tok!r}", self.path, line)
        return value

    def floats(self, count: int, what: str) -> np.ndarray:
        """The next ``count`` tokens as floats."""
        return np.array([self.float(f"{what} [{i}]") for i in range(count)], dtype=float)

    def matrix(self, rows: int, cols: int, what: str) -> np.ndarray:
        """The next rows×cols tokens as a float matrix, read row by row."""
        return np.array(
            [[self.float(f"{what} [{i},{j}]") for j in range(cols)] for i in range(rows)],
            dtype=float,
        )

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def expect_end(self, what: str = "end of file") -> None:
        """Refuse trailing tokens: a count that was wrong would otherwise go unnoticed."""
        if not self.at_end():
            tok, line = self.tokens[self.pos]
            raise InstanceFormatError(
                f"unexpected extra data {tok!r}: expected {what}", self.path, line
            )


def format_number(value: float) -> str:
    """Integral floats without the '.0', so written instances look like the published files."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
