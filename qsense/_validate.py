"""Parameter checks shared by the public API.

Every check raises a ``ValueError`` (bad value) or ``TypeError`` (bad type) whose
message names the parameter, the value received and what would be accepted.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["choice", "confidence", "positive_float", "positive_int", "real_array", "warn"]


def positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite positive float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not np.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return out


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    out = int(value)
    if out < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return out


def choice(name: str, value: Any, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, or raise naming ``name``."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def real_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array of real numbers (any shape), or raise naming ``name``.

    The one check of "numbers" for the package. Refused with a TypeError: strings and
    bytes (numeric strings too), None, bool and complex arrays, and object arrays holding
    anything but real numbers (a numeric string, None or a bool element); refused with a
    ValueError: ragged nested sequences. Integers and object arrays of real numbers are
    converted; a float64 array is returned without a copy.
    """
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(
            f"{name} must be numeric (real numbers), got {type(value).__name__} {value!r}"
        )
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array of numbers (not ragged)") from None
    except TypeError:  # e.g. an xarray.Dataset, which refuses conversion
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__}"
        ) from None
    if arr.dtype == object:
        for v in arr.flat:
            if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
                raise TypeError(
                    f"{name} must hold real numbers, got an element {v!r} of type "
                    f"{type(v).__name__} (numeric strings, None and bool are refused; "
                    "use NaN for a gap)"
                )
        try:
            return arr.astype(np.float64)
        except OverflowError:
            raise ValueError(f"{name} holds an integer too large for a float") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be numeric (real numbers), got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def confidence(name: str, value: Any) -> float:
    """Return ``value`` as a confidence level strictly between 0 and 1, or raise naming ``name``.

    The one rule for every ``ci`` parameter of the package: a real number (not a bool,
    not a numeric string) with ``0 < value < 1``, for example 0.683 for one sigma.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a confidence level in (0, 1) such as 0.683, "
            f"got {type(value).__name__} {value!r}"
        )
    out = float(value)
    if not 0.0 < out < 1.0:  # also refuses NaN
        raise ValueError(
            f"{name} must be a confidence level in (0, 1) such as 0.683, got {value!r}"
        )
    return out


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning attributed to the first caller outside the qsense package.

    ``stacklevel=2`` points at the right line only when the public function warns
    itself; a check two calls deep would blame qsense's own code. This walks the stack
    to the user's line instead (Python 3.12's ``skip_file_prefixes``, on 3.11 too).
    """
    frame = sys._getframe(1)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
