"""Reading instance files: their text, their numbers and whitespace tokens with line numbers.

Every reader takes its numbers through this module, so all formats share one number syntax and
one set of limits, and every error names the file, the line, the value and what was expected.

Number syntax (the formats' own, never Python's): an integer is ASCII digits with an optional
sign (``-12``); a real adds an optional decimal point and a decimal exponent (``1.5``, ``.5``,
``2e3``, ``-1.25E-2``). Digit-group underscores (``1_000``), non-ASCII digits (``٣``), ``0x``
prefixes and other Python spellings are refused; ``inf``/``nan`` are recognised only to be
refused as not finite. Where a format wants an integer, an integral real (``3.0``, ``1e3``) is
accepted as before unless the reader asks for plain digits.

Limits:

* :data:`MAX_VALUE` (10**12) bounds the magnitude of every coefficient read (profits, weights,
  capacities, flows, distances, coordinates, demands, targets, best known values). float64
  holds integers exactly only up to 2**53 ≈ 9.0e15; the MIP baseline passes coefficients
  through PuLP's MPS file (13 significant digits) to solvers with absolute tolerances, and CBC
  already reports an always-feasible MDKP with coefficients near 2**48 ≈ 2.8e14 infeasible.
  10**12 keeps every such integer exact there with a margin of 2**8, lets sums of 9 000 of
  them stay exact in float64, and is 10**4 above every published instance qbench reads.
* :data:`MAX_COUNT` (2**53) bounds sizes, counts and ids before their memory check, so no
  such number ever reaches numpy beyond what float64/int64 represent exactly.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import numpy as np

from qbench.errors import InstanceFormatError
from qbench.memory import memory_shortfall

#: largest magnitude of a coefficient read from a file or given to a constructor (see above)
MAX_VALUE = 10**12
#: how messages write :data:`MAX_VALUE`
MAX_VALUE_TEXT = "10**12"
#: largest size, count or id read from a file (exact in float64 and int64)
MAX_COUNT = 2**53

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_REAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NON_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.ASCII | re.IGNORECASE)

#: bytes of memory one character of a file costs while it is read (text, lines, tokens)
_BYTES_PER_CHAR = 8


def is_integer_text(token: str) -> bool:
    """True when ``token`` is an integer in the formats' syntax (ASCII digits, optional sign)."""
    return _INTEGER.fullmatch(token) is not None


def is_real_text(token: str) -> bool:
    """True when ``token`` is a real in the formats' syntax (see the module docstring)."""
    return _REAL.fullmatch(token) is not None


def is_number(token: str) -> bool:
    """True for a number in the formats' syntax, or a non-finite word (inf, nan) to refuse."""
    return is_real_text(token) or _NON_FINITE.fullmatch(token) is not None


def looks_numeric(token: str) -> bool:
    """True when ``token`` starts like a number (sign, point or any digit, Unicode included):
    a reader treats it as a number, so malformed ones are refused as numbers, not keywords."""
    first = token[:1]
    return bool(first) and (first in "+-." or first.isdigit() or first.isnumeric())


def _syntax_hint(token: str) -> str:
    """Why a number-like token is refused, when that is not obvious from the token."""
    if "_" in token:
        return " (no '_' digit separators: write the digits alone)"
    if not token.isascii():
        return " (numbers use the ASCII digits 0-9 only)"
    return ""


def parse_int(
    token: str,
    what: str,
    path: str | Path | None = None,
    line: int | None = None,
    *,
    min_value: int | None = None,
    max_value: int | None = MAX_COUNT,
    reals: bool = True,
    expected: str | None = None,
) -> int:
    """``token`` as an integer, or InstanceFormatError naming ``what``, the file and the line.

    ``reals`` also accepts integral reals (``3.0``, ``1e3``); ``expected`` replaces the phrase
    "an integer for <what>" in the syntax error; the bounds are inclusive.
    """
    value: int | None = None
    if is_integer_text(token):
        value = int(token)
    elif reals and is_real_text(token):
        as_float = float(token)
        if not np.isfinite(as_float):
            raise InstanceFormatError(value_limit_message(what, token, max_value), path, line)
        if as_float.is_integer():
            value = int(as_float)
    if value is None:
        phrase = expected or f"an integer for {what}"
        raise InstanceFormatError(
            f"expected {phrase}, got {token!r}{_syntax_hint(token)}", path, line
        )
    if min_value is not None and value < min_value:
        raise InstanceFormatError(f"{what} must be >= {min_value}, got {value}", path, line)
    if max_value is not None and value > max_value:
        raise InstanceFormatError(value_limit_message(what, token, max_value), path, line)
    return value


def parse_real(
    token: str,
    what: str,
    path: str | Path | None = None,
    line: int | None = None,
    *,
    limit: float | None = MAX_VALUE,
) -> float:
    """``token`` as a finite float with ``|value| <= limit``, or InstanceFormatError naming
    ``what``, the value, the file, the line and the limit."""
    if is_real_text(token):
        value = float(token)
        if limit is not None and not abs(value) <= limit:  # also catches 1e400 -> inf
            raise InstanceFormatError(value_limit_message(what, token, limit), path, line)
        return value
    if _NON_FINITE.fullmatch(token):
        raise InstanceFormatError(f"{what} is not finite: {token!r}", path, line)
    raise InstanceFormatError(
        f"expected a number for {what}, got {token!r}{_syntax_hint(token)}", path, line
    )


def value_limit_message(what: str, value: object, limit: float | None = MAX_VALUE) -> str:
    """The sentence refusing a number beyond its limit (:data:`MAX_VALUE` for coefficients,
    :data:`MAX_COUNT` for sizes and ids), naming the number and the limit."""
    if limit == MAX_COUNT:
        return f"{what} = {value} is beyond the limit 2**53 = {MAX_COUNT:,}"
    shown = MAX_VALUE_TEXT if limit == MAX_VALUE else f"{limit:,}"
    return (
        f"{what} = {value} is beyond the limit |value| <= {shown} "
        "(larger values are not exact in the solvers' float64 arithmetic)"
    )


def check_values(values: np.ndarray, what: str) -> None:
    """ValueError unless every entry is finite with ``|v| <= MAX_VALUE`` (for constructors)."""
    arr = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(arr.ravel()))
    if bad.size:
        raise ValueError(f"{what} must be finite, got {arr.ravel()[bad[0]]}")
    big = np.flatnonzero(np.abs(arr.ravel()) > MAX_VALUE)
    if big.size:
        raise ValueError(value_limit_message(what, show_value(arr.ravel()[big[0]])))


def read_text(path: str | Path, expected: str = "an instance file") -> str:
    """A file's UTF-8 text without a leading byte-order mark, or InstanceFormatError naming the
    file (unreadable, not UTF-8, or too large to read into the memory available now)."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InstanceFormatError(f"cannot read file ({exc.strerror})", path) from None
    why = memory_shortfall(f"reading this {size:,}-byte file", size * _BYTES_PER_CHAR)
    if why:
        raise InstanceFormatError(why, path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InstanceFormatError(f"cannot read file ({exc.strerror})", path) from None
    except UnicodeDecodeError:
        raise InstanceFormatError(
            f"not a text file (not UTF-8): expected {expected}", path
        ) from None


def read_head(path: str | Path, size: int = 1 << 16) -> str:
    """The first ``size`` bytes of a file as UTF-8 text (BOM dropped, a character cut at the end
    tolerated), for guessing its format; InstanceFormatError when unreadable or not UTF-8."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(size)
    except OSError as exc:
        raise InstanceFormatError(f"cannot read file ({exc.strerror})", path) from None
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(raw, final=len(raw) < size)
    except UnicodeDecodeError:
        raise InstanceFormatError(
            "not a text file (not UTF-8): expected an instance file", path
        ) from None


def _split(line: str) -> list[str]:
    return line.replace(",", " ").split()


class TokenReader:
    """Reads numbers token by token from a text, remembering each token's line number.

    Lines are split lazily, one at a time, so a large file costs its text and not a Python
    object per token; :attr:`remaining` tells how many tokens are left before any is read.
    """

    def __init__(self, text: str, path: str | Path | None = None, start_line: int = 1):
        self.path = path
        self._lines = text.splitlines()
        self._start = start_line
        self._next_row = 0  # index of the next line to split
        self._buffer: list[str] = []  # tokens of the current line not read yet, reversed
        self._buffer_line: int | None = None
        self.total = 0
        self.last_line: int | None = None  # line of the file's last token
        for i, line in enumerate(self._lines):
            count = len(_split(line))
            if count:
                self.total += count
                self.last_line = start_line + i
        self.pos = 0
        #: line of the token read last (None before the first)
        self.line: int | None = None

    @classmethod
    def from_file(cls, path: str | Path, expected: str = "an instance file") -> TokenReader:
        return cls(read_text(path, expected), path)

    def __len__(self) -> int:
        return self.total

    @property
    def remaining(self) -> int:
        """Tokens not read yet."""
        return self.total - self.pos

    def _peek_line(self) -> int | None:
        """Line of the next token (None at the end), splitting lines as needed."""
        while not self._buffer and self._next_row < len(self._lines):
            tokens = _split(self._lines[self._next_row])
            tokens.reverse()
            self._buffer = tokens
            self._buffer_line = self._start + self._next_row
            self._next_row += 1
        return self._buffer_line if self._buffer else None

    def peek(self) -> tuple[str, int] | None:
        """The next token and its line without reading it, or None at the end."""
        line = self._peek_line()
        return None if line is None else (self._buffer[-1], line)

    def error(self, message: str, line: int | None = None) -> InstanceFormatError:
        """An error at the line of the token read last (or the given one)."""
        if line is None:
            line = self.line if self.line is not None else self._peek_line()
        return InstanceFormatError(message, self.path, line)

    def _next(self, what: str) -> tuple[str, int]:
        if self._peek_line() is None:
            raise InstanceFormatError(
                f"file ends early: expected {what}", self.path, self.last_line
            )
        token = self._buffer.pop()
        self.pos += 1
        self.line = self._buffer_line
        return token, self._buffer_line

    def skip_line(self) -> str:
        """The rest of the current line (from the next token) as text, consumed."""
        self._peek_line()
        words = list(reversed(self._buffer))
        self.pos += len(words)
        self.line = self._buffer_line
        self._buffer = []
        return " ".join(words)

    def int(
        self, what: str, min_value: int | None = None, max_value: int | None = MAX_COUNT
    ) -> int:
        """Next token as an integer (``what`` names it in errors), optionally bounded."""
        token, line = self._next(what)
        return parse_int(token, what, self.path, line, min_value=min_value, max_value=max_value)

    def float(self, what: str, limit: float | None = MAX_VALUE) -> float:
        """Next token as a finite float within ``±limit``."""
        token, line = self._next(what)
        return parse_real(token, what, self.path, line, limit=limit)

    def _value(self, what: str, nonnegative: str | None) -> float:
        value = self.float(what)
        if nonnegative is not None and value < 0:
            raise self.error(f"{nonnegative} must be non-negative, got {format_number(value)}")
        return value

    def floats(self, count: int, what: str, nonnegative: str | None = None) -> np.ndarray:
        """The next ``count`` tokens as floats; ``nonnegative`` (a label) refuses negatives.
        Nothing is allocated for more numbers than the file holds."""
        if count > self.remaining:
            for i in range(count):  # fails at the first bad or missing number
                self._value(f"{what} [{i}]", nonnegative)
        out = np.empty(count, dtype=float)
        for i in range(count):
            out[i] = self._value(f"{what} [{i}]", nonnegative)
        return out

    def matrix(self, rows: int, cols: int, what: str, nonnegative: str | None = None) -> np.ndarray:
        """The next rows×cols tokens as a float matrix, read row by row (nothing is allocated
        for more numbers than the file holds)."""
        if rows * cols > self.remaining:
            for i in range(rows):
                for j in range(cols):
                    self._value(f"{what} [{i},{j}]", nonnegative)
        out = np.empty((rows, cols), dtype=float)
        for i in range(rows):
            for j in range(cols):
                out[i, j] = self._value(f"{what} [{i},{j}]", nonnegative)
        return out

    def at_end(self) -> bool:
        return self.pos >= self.total

    def expect_end(self, what: str = "end of file") -> None:
        """Refuse trailing tokens: a count that was wrong would otherwise go unnoticed."""
        if not self.at_end():
            token, line = self.peek()
            raise InstanceFormatError(
                f"unexpected extra data {token!r}: expected {what}", self.path, line
            )


def require_tokens(
    tokens: TokenReader, count: int, first_missing: str, sizes: str, after: str
) -> None:
    """Refuse up front, before anything is allocated, sizes that promise ``count`` more numbers
    than the file holds; ``first_missing`` names the first number the file lacks."""
    if count > tokens.remaining:
        raise InstanceFormatError(
            f"file ends early: expected {first_missing} ({sizes} need {count:,} numbers "
            f"after {after}; the file holds {tokens.remaining:,})",
            tokens.path,
            tokens.last_line,
        )


def show_value(value: float) -> str:
    """A number for a message: as written in files, or in 6 digits when it is huge."""
    return format_number(value) if abs(value) < 1e15 else f"{value:.6g}"


def format_number(value: float) -> str:
    """Integral floats without the '.0', so written instances look like the published files."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
