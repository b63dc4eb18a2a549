"""Property test: every public function of qsense.stability against bad input.

For each public function (the registry's statistics, ``noise_id``, ``gcodev``,
``three_cornered_hat``, ``dynamic_adev``) hypothesis draws one bad or borderline
argument at a time: empty, 1-, 2- and 3-sample records, NaN gaps, all-NaN, inf, 2-D,
strings, object arrays, lists, bool arrays, DataArrays with a non-monotonic or
non-uniform time coordinate, and bad ``rate``, ``taus``, ``ci`` or ``data_type``. The
call must either

- raise ``ValueError``/``TypeError`` whose message names the parameter (``data``,
  ``data1``, ``pairs[...]``, ``time`` for the coordinate, ``rate``, ``taus``, ``ci``,
  ``data_type``), or
- return a Dataset with no unexplained NaN: ``dev`` finite wherever ``n > 0``, and for
  the variance statistics ``edf``, ``dev_lo``, ``dev_hi`` finite there too,

with no warning other than the documented ones (record too short for any tau, taus
rounded or dropped, cornered-hat variance not positive). Counted cases are printed
(``pytest -s``); ``QSENSE_BAD_INPUT_EXAMPLES`` sets the examples per function (100), and
``HYPOTHESIS_PROFILE=explore`` draws new ones.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsense.stability as S
from qsense.stability._registry import PUBLIC, SPECS

FUNCS = sorted(PUBLIC)
ALLOWED_WARNINGS = re.compile(
    r"too short|rounded|dropped taus|taus is empty|not positive|complete term"
)
CASES: Counter[str] = Counter()


def _clean(n: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).normal(size=n)) * 1e-9


def _times(n: int, kind: str) -> np.ndarray:
    t = np.datetime64("2024-01-01T00:00:00", "ns") + np.arange(n) * np.timedelta64(1, "s")
    if kind == "shuffled":
        t = t[::-1].copy()
    elif kind == "uneven":
        t = t.copy()
        t[n // 2] += np.timedelta64(300, "ms")
    return t


@st.composite
def cases(draw) -> tuple[str, dict, str | None]:
    """(label, keyword arguments, parameter an error must name or None if valid)."""
    kind = draw(
        st.sampled_from(
            [
                "empty",
                "short",
                "gaps",
                "all_nan",
                "inf",
                "two_d",
                "string",
                "strings",
                "objects",
                "objects_none",
                "list",
                "bools",
                "time",
                "rate",
                "taus",
                "ci",
                "data_type",
            ]
        )
    )
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(4, 160))
    x = _clean(n, seed)
    kw: dict = {"data": x, "rate": draw(st.sampled_from([1.0, 0.4, 2.5]))}
    kw["data_type"] = draw(st.sampled_from(["phase", "freq"]))
    kw["taus"] = draw(
        st.one_of(
            st.sampled_from(["octave", "decade", "all"]),
            st.lists(st.sampled_from([0.4, 1.0, 2.0, 3.0, 7.5, 10.0, 40.0]), max_size=4),
        )
    )
    expect: str | None = "data"
    if kind == "empty":
        kw["data"] = draw(st.sampled_from([[], np.array([]), np.zeros((0,))]))
    elif kind == "short":
        k = draw(st.integers(1, 3))
        kw["data"] = x[:k]
        expect = "data" if k == 1 else None
    elif kind == "gaps":
        idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1, unique=True))
        x[idx] = np.nan
        expect = None
    elif kind == "all_nan":
        kw["data"] = np.full(n, np.nan)
    elif kind == "inf":
        x[draw(st.integers(0, n - 1))] = draw(st.sampled_from([np.inf, -np.inf]))
    elif kind == "two_d":
        kw["data"] = np.vstack([x, x])
    elif kind == "string":
        kw["data"] = draw(st.sampled_from(["1.0, 2.0, 3.0", b"123"]))
    elif kind == "strings":
        kw["data"] = draw(st.sampled_from([["1", "2", "3", "4"], np.array(["a"] * 5)]))
    elif kind == "objects":
        kw["data"] = np.array(list(x), dtype=object)
        expect = None
    elif kind == "objects_none":
        kw["data"] = np.array([*x[:-1], None], dtype=object)
    elif kind == "list":
        kw["data"] = x.tolist()
        expect = None
    elif kind == "bools":
        kw["data"] = np.arange(n) % 2 == 0
    elif kind == "time":
        coord = draw(st.sampled_from(["shuffled", "uneven"]))
        kw["data"] = xr.DataArray(x, dims="time", coords={"time": _times(n, coord)})
        kw["rate"] = None
        expect = "time"
    elif kind == "rate":
        kw["rate"] = draw(st.sampled_from([0.0, -1.0, np.nan, np.inf, "1", True, None]))
        expect = "rate"
    elif kind == "taus":
        kw["taus"] = draw(
            st.sampled_from(["weekly", [-1.0], [np.nan], [[1.0]], ["a"], [0.0], [np.inf]])
        )
        expect = "taus"
    elif kind == "ci":
        kw["ci"] = draw(st.sampled_from([0.0, 1.0, 1.5, -0.1, np.nan, "0.5", True, None]))
        expect = "ci"
    else:
        kw["data_type"] = draw(st.sampled_from(["frequency", "Phase", None, 1, ""]))
        expect = "data_type"
    return kind, kw, expect


def _call(name: str, kw: dict):
    kw = dict(kw)
    data = kw.pop("data")
    if name == "gcodev":
        return S.gcodev(data, data, **kw)
    if name == "three_cornered_hat":
        pairs = {("A", "B"): data, ("B", "C"): data, ("A", "C"): data}
        return S.three_cornered_hat(pairs, **kw)
    if name == "per_statistic":  # splits the Dataset of analyse
        return S.per_statistic(S.analyse(data, **kw))
    return getattr(S, name)(data, **kw)


def _names(expect: str, name: str) -> tuple[str, ...]:
    """What an error about ``expect`` may be called by ``name``."""
    if expect == "data":
        return {"gcodev": ("data1",), "three_cornered_hat": ("pairs[",)}.get(name, ("data",))
    if expect == "time":
        return ("time",)
    return (expect,)


def _check_result(name: str, out) -> None:
    if name == "per_statistic":  # each statistic's Dataset
        for single in out.values():
            _check_result(single.attrs["statistic"], single)
        return
    assert isinstance(out, xr.Dataset)
    if name == "noise_id":
        assert np.all(np.abs(out.alpha.values) <= 2)
        return
    if name == "three_cornered_hat":
        dev = out["dev"].values
        assert np.all(np.isfinite(dev) | out["negative"].values | ~np.isfinite(out["var"]))
        return
    n = out["n"].values
    used = n > 0
    assert np.all(np.isfinite(out["dev"].values[used])), "NaN dev where terms exist"
    spec = SPECS.get(name, SPECS["oadev"] if name == "dynamic_adev" else None)
    if spec is not None and spec.kind == "variance" and spec.edf != "none":
        for v in ("edf", "dev_lo", "dev_hi"):
            assert np.all(np.isfinite(out[v].values[used])), f"NaN {v} where terms exist"
    assert np.all(np.abs(out["alpha"].values) <= 2)


@pytest.mark.parametrize("name", FUNCS)
@settings(
    max_examples=int(os.environ.get("QSENSE_BAD_INPUT_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def test_bad_input_is_refused_or_handled(name, case):
    kind, kw, expect = case
    if name == "noise_id" and "ci" in kw:
        return  # noise_id has no ci parameter
    CASES[name] += 1
    also = ()
    if name == "theobr" and np.size(kw["data"]) < 90:
        also = ("data",)  # documented: TheoBR needs 90 phase points
        expect = expect or "data"
    if name == "three_cornered_hat" and expect is None:
        also = ("pairs have no averaging time",)  # documented: too short for every tau
    if name == "dynamic_adev" and kind == "short":
        expect = "data"  # at least 3 samples, and 3 give no tau
        if np.size(kw["data"]) == 3:
            expect = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = _call(name, kw)
        except (ValueError, TypeError) as err:
            assert expect is not None or any(p in str(err) for p in also), (
                f"{kind}: unexpected {type(err).__name__}: {err}"
            )
            assert any(p in str(err) for p in (*_names(expect or "", name), *also)), (
                f"{kind}: error does not name {expect!r}: {err}"
            )
            out = None
    for w in caught:
        assert issubclass(w.category, UserWarning) and not issubclass(w.category, RuntimeWarning), (
            f"{kind}: {w.category.__name__}: {w.message}"
        )
        assert ALLOWED_WARNINGS.search(str(w.message)), f"{kind}: undocumented warning {w.message}"
    if out is not None:
        assert expect is None, f"{kind}: accepted, expected an error naming {expect!r}"
        _check_result(name, out)


def test_zz_report_case_count():
    """Printed with ``pytest -s``: how many cases each function was given."""
    print(f"\nbad-input cases: {sum(CASES.values())} over {len(CASES)} functions: {dict(CASES)}")


def test_gaps_leaving_no_complete_term_warn_not_silent_nan():
    # four frequency samples, every other one missing: TTOTDEV has one tau and no term
    y = np.array([np.nan, -0.12, np.nan, 0.13])
    with pytest.warns(UserWarning, match="no averaging time has a complete term"):
        ds = S.ttotdev(y, rate=1.0, data_type="freq")
    assert ds.n.values.tolist() == [0]
    assert np.isnan(ds.dev.values).all()
