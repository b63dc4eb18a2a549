"""Opening plain-text instrument files, gzip or not, for the clock-data readers (private).

One place checks the path (type, existence, a directory, an empty file), gunzips by the
magic bytes (not the name) and builds the :class:`~qsense.io.hdf5.FileFormatError` that
names the file and, for a bad line, the line number (``path:lineno: message``).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qsense.io.hdf5 import FileFormatError

__all__ = ["bad", "bool_arg", "check_path", "read_text", "to_float"]


def bad(path: Path, message: str, lineno: int | None = None) -> FileFormatError:
    """The error for a malformed file: ``'<path>[:<lineno>]: <message>'``."""
    where = f"{path}" if lineno is None else f"{path}:{lineno}"
    return FileFormatError(f"{where}: {message}", str(path))


def check_path(path: Any) -> Path:
    """``path`` as a :class:`Path` to an existing regular file, or raise.

    TypeError for a ``path`` that is not ``str``/``os.PathLike`` (bytes included);
    :class:`FileFormatError` (a ValueError and OSError) naming it when it does not exist
    or is a directory.
    """
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"path must be a str or os.PathLike file path, got {type(path).__name__} {path!r}"
        )
    raw = os.fspath(path)
    if not isinstance(raw, str):
        raise TypeError(f"path must be a text path (str), got {type(raw).__name__} {raw!r}")
    if not raw:
        raise ValueError("path must be a non-empty file path, got ''")
    p = Path(raw)
    if p.is_dir():
        raise bad(p, "is a directory, not a file")
    if not p.is_file():
        raise bad(p, "no such file")
    return p


def read_text(p: Path, *, strict: bool = True) -> str:
    """Whole file as text (gunzipped when it starts with the gzip magic bytes).

    Raises :class:`FileFormatError` naming the file for a corrupt or truncated gzip
    stream and, when ``strict``, for an empty file or bytes that are not text (NUL
    bytes, invalid ASCII/UTF-8). Not ``strict``: undecodable bytes become U+FFFD and an
    empty file gives ``""``, for formats whose headers are free text (Stable32).
    """
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as err:  # permission denied, I/O error: say which file
        raise bad(p, f"cannot be read ({type(err).__name__}: {err.strerror or err})") from None
    if not raw and strict:
        raise bad(p, "is empty")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
            kind = type(err).__name__
            if type(err).__module__ != "builtins":
                kind = f"{type(err).__module__}.{kind}"  # zlib.error, gzip.BadGzipFile
            raise bad(p, f"is gzip-compressed but corrupt or truncated ({kind}: {err})") from None
        if not raw and strict:
            raise bad(p, "is empty (an empty gzip stream)")
    if not strict:
        return raw.decode("utf-8", errors="replace")
    if b"\x00" in raw:
        lineno = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise bad(p, "holds a NUL byte: a binary file, not a text clock file", lineno)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        lineno = raw[: err.start].count(b"\n") + 1
        raise bad(p, f"holds a byte that is not text ({raw[err.start]:#04x})", lineno) from None


def to_float(
    p: Path,
    tokens: list[str],
    linenos: list[int] | np.ndarray,
    what: str | Callable[[int], str],
    given: np.ndarray | None = None,
) -> np.ndarray:
    """``tokens`` as float64 in one pass; on failure, raise naming the first bad token's line.

    Fortran ``D`` exponents (``0.1D-03``) are accepted. NaN and inf tokens are refused
    (a clock file marks a missing value by leaving the record out), except where the
    boolean mask ``given`` is False (padding the reader put there itself). ``what`` names
    the field in the message: a string, or a function of the token's index.
    """
    name = what if callable(what) else (lambda _k: what)
    try:
        out = np.array(tokens, dtype=np.float64)
    except ValueError:
        out = np.empty(len(tokens))
        for k, t in enumerate(tokens):
            try:
                out[k] = float(t.replace("D", "E").replace("d", "e"))
            except ValueError:
                raise bad(
                    p, f"cannot read {t!r} as a number ({name(k)})", int(linenos[k])
                ) from None
    bad_value = ~np.isfinite(out) if given is None else ~np.isfinite(out) & given
    if np.any(bad_value):
        k = int(np.argmax(bad_value))
        raise bad(p, f"{name(k)} is {tokens[k]!r}, not a finite number", int(linenos[k]))
    return out


def bool_arg(name: str, value: Any) -> bool:
    """``value`` as a bool, or TypeError naming ``name``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)
