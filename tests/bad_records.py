"""Bad inputs for the data-model room (signal, io, spectral, fusion) and the one checker.

Every public function there, given any of these, must return a correct result or raise
ValueError/TypeError whose message names the parameter (io: or the file and line);
never another exception, never a numpy RuntimeWarning, never a warning attributed to a
line other than the caller's, never an all-NaN or empty result without a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import xarray as xr
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from qsense.signal import time_grid

#: Every kind of record thrown at a function that takes a time series.
KINDS = (
    "valid", "empty", "one", "two", "three", "nan_some", "all_nan", "inf", "neg_inf",
    "two_d", "string", "numeric_string", "numeric_strings", "object_mixed", "object_none",
    "object_numbers", "bool", "complex", "list", "list_strings", "scalar", "none",
    "datetime", "da_valid", "da_one", "da_nonmonotonic", "da_nonuniform", "da_duplicate",
    "da_nat", "da_wrong_dim", "da_2d", "da_numeric_time", "da_string_time", "da_coarse_time",
    "da_no_coord", "dataset",
)  # fmt: skip

#: Rates: good ones (often) and every kind of bad one.
RATES = (1.0, 1.0, 10.0, 0.0, -1.0, np.nan, np.inf, "1", "10.0", True, [1.0], None, 1e-300)

#: Confidence levels: good and bad.
CIS = (0.683, 0.95, 0.0, 1.0, -0.5, 1.5, np.nan, "0.683", True, None, [0.683], np.float32(0.9))


def values(n: int, seed: int) -> np.ndarray:
    """A valid record: white noise plus a slow ramp."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n) + 0.01 * np.arange(n)


def _on(v: np.ndarray, t: np.ndarray) -> xr.DataArray:
    return xr.DataArray(v, dims=("time",), coords={"time": t})


def record(kind: str, n: int, seed: int) -> Any:
    """One record of the given kind (``n`` samples where a size applies)."""
    v = values(max(n, 4), seed)
    t = time_grid(v.size, 1.0)
    simple = {
        "valid": lambda: v,
        "empty": lambda: np.array([]),
        "one": lambda: v[:1],
        "two": lambda: v[:2],
        "three": lambda: v[:3],
        "all_nan": lambda: np.full(v.size, np.nan),
        "two_d": lambda: np.stack([v, v]),
        "string": lambda: "1.0, 2.0, 3.0",
        "numeric_string": lambda: "1.5",
        "numeric_strings": lambda: np.array([str(x) for x in v]),
        "object_mixed": lambda: np.array([1.0, "a", None, 2.0] * 4, dtype=object),
        "object_none": lambda: np.array([*v[:-1], None], dtype=object),
        "object_numbers": lambda: np.array(list(v), dtype=object),
        "bool": lambda: v > 0,
        "complex": lambda: v + 1j * v,
        "list": lambda: [float(x) for x in v],
        "list_strings": lambda: [str(x) for x in v],
        "scalar": lambda: 1.5,
        "none": lambda: None,
        "datetime": lambda: t,
        "da_valid": lambda: _on(v, t),
        "da_one": lambda: _on(v[:1], t[:1]),
        "da_wrong_dim": lambda: xr.DataArray(v, dims=("sample",)),
        "da_2d": lambda: xr.DataArray(np.stack([v, v]), dims=("x", "time")),
        "da_numeric_time": lambda: _on(v, np.arange(v.size) * 0.5),
        "da_string_time": lambda: _on(v, np.array([f"t{i}" for i in range(v.size)])),
        "da_coarse_time": lambda: _on(v, (np.arange(v.size) + 30).astype("datetime64[D]")),
        "da_no_coord": lambda: xr.DataArray(v, dims=("time",)),
        "dataset": lambda: xr.Dataset({"a": _on(v, t)}),
    }
    if kind in simple:
        return simple[kind]()
    if kind == "nan_some":
        v[:: max(2, v.size // 5)] = np.nan
        return v
    if kind in ("inf", "neg_inf"):
        v[v.size // 2] = np.inf if kind == "inf" else -np.inf
        return v
    t = t.copy()
    if kind == "da_nonmonotonic":
        t[[1, 2]] = t[[2, 1]]
    elif kind == "da_nonuniform":
        t[v.size // 2 :] += np.timedelta64(300, "ms")
    elif kind == "da_duplicate":
        t[1] = t[0]
    elif kind == "da_nat":
        t[2] = np.datetime64("NaT")
    else:
        raise AssertionError(kind)
    return _on(v, t)


def like(data: Any, n_default: int, seed: int) -> Any:
    """A valid partner record on the same grid as ``data`` (for two-record functions)."""
    if isinstance(data, xr.DataArray) and data.ndim == 1 and data.dims == ("time",):
        out = values(data.size, seed)
        if "time" in data.coords:
            return xr.DataArray(out, dims=("time",), coords={"time": data["time"].values})
        return xr.DataArray(out, dims=("time",), attrs=dict(data.attrs))
    size = np.size(data) if isinstance(data, np.ndarray | list) and np.ndim(data) == 1 else 0
    return values(size or n_default, seed)


kinds = st.sampled_from(KINDS)
rates = st.sampled_from(RATES)
cis = st.sampled_from(CIS)

#: Calls made by :func:`check` in this process: (function label, outcome) -> count.
TRIED: dict[tuple[str, str], int] = {}


def _arrays(result: Any) -> list[np.ndarray]:
    if isinstance(result, xr.Dataset):
        return [np.asarray(v.values) for v in result.data_vars.values()]
    if isinstance(result, xr.DataArray):
        return [np.asarray(result.values)]
    if isinstance(result, tuple | list):
        return [a for item in result for a in _arrays(item)]
    if isinstance(result, np.ndarray | float | int | np.floating):
        return [np.atleast_1d(np.asarray(result))]
    return []


def check(
    label: str,
    call: Callable[[], Any],
    names: Iterable[str],
    caller: str,
    *,
    allowed: tuple[type[BaseException], ...] = (ValueError, TypeError),
    nan_ok: bool = False,
    empty_ok: bool = False,
) -> str:
    """Run ``call``; assert the house rules for bad input; return "result" or "error".

    ``names``: words one of which an error message must contain (the parameter names).
    ``caller``: the test file, to which every warning must be attributed.
    ``nan_ok``: NaN entries in a result are documented (e.g. a 0 Hz bin).
    ``empty_ok``: an empty result is documented (e.g. ``time_grid(0, rate)``).
    """
    names = tuple(names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except allowed as err:
            message = str(err)
            assert any(name in message for name in names), (
                f"{label}: {type(err).__name__} does not name any of {names}: {message!r}"
            )
            outcome = "error"
        else:
            outcome = "result"
    for w in caught:
        assert not issubclass(w.category, RuntimeWarning | DeprecationWarning), (
            f"{label}: numpy/library {w.category.__name__} leaked: {w.message} "
            f"({w.filename}:{w.lineno})"
        )
        assert w.filename == caller, (
            f"{label}: warning attributed to {w.filename}:{w.lineno}, not the caller: {w.message}"
        )
    if outcome == "result" and not caught:
        arrays = [a for a in _arrays(result) if np.issubdtype(a.dtype, np.number)]
        assert empty_ok or sum(a.size for a in arrays) > 0, (
            f"{label}: empty result without a warning"
        )
        floats = [a for a in arrays if np.issubdtype(a.dtype, np.floating) and a.size]
        assert not floats or any(np.any(np.isfinite(a)) for a in floats), (
            f"{label}: an all-NaN result without a warning"
        )
        if not nan_ok:
            for a in floats:
                assert not np.all(np.isnan(a)), f"{label}: an all-NaN output without a warning"
    key = (label.split(":")[0], outcome)
    TRIED[key] = TRIED.get(key, 0) + 1
    try:
        event(outcome)  # shown by pytest --hypothesis-show-statistics
    except InvalidArgument:
        pass  # called outside a hypothesis test
    return outcome
