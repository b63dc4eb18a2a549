"""Bad input thrown at every public function of qsense.denoise.

Each call must either return a sane result (same time grid; output NaN only where the
input is, or a documented qsense warning explaining it) or raise ValueError/TypeError
whose message names the offending parameter. Any other exception, a numpy
RuntimeWarning, or an unexplained all-NaN output fails.

Two layers: a fixed grid (every named bad case x every function, so each case is
tried everywhere) and hypothesis-drawn arrays (random lengths, dtypes, shapes, NaN/inf
positions and rates) per function.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from qsense import denoise
from qsense.denoise import StateSpace

RATE = 1.0


def _model_1():
    return denoise.local_level(1.0, 1.0)


def _model_2obs():
    return StateSpace([[1.0]], [[1.0], [0.5]], [[0.1]], np.eye(2))


def _fit(data, rate):
    return denoise.fit(
        lambda p: denoise.local_level(p[0], p[1]),
        data,
        [1.0, 1.0],
        transform="log",
        options={"maxiter": 3},
    )


#: name -> (call(data, rate), name of the data parameter in messages)
SERIES_FUNCS = {
    "hampel": (lambda d, r: denoise.hampel(d, r, window_samples=3), "data"),
    "mad_filter": (lambda d, r: denoise.mad_filter(d, r), "data"),
    "remove_drift_freq": (lambda d, r: denoise.remove_drift(d, r), "data"),
    "remove_drift_phase": (
        lambda d, r: denoise.remove_drift(d, r, data_type="phase", method="second_difference"),
        "data",
    ),
    "savgol_smooth": (
        lambda d, r: denoise.savgol_smooth(d, r, window_samples=3, polyorder=1),
        "data",
    ),
    "wavelet_denoise": (lambda d, r: denoise.wavelet_denoise(d, r, wavelet="haar"), "data"),
    "lockin_boxcar": (lambda d, r: denoise.lockin(d, r, f_mod=0.25, periods=1), "data"),
    "lockin_butter": (
        lambda d, r: denoise.lockin(d, r, f_mod=0.25, lowpass="butter", cutoff=0.05, order=1),
        "data",
    ),
    "StateSpace.filter": (lambda d, r: _model_1().filter(d, r), "y"),
    "StateSpace.smooth": (lambda d, r: _model_1().smooth(d, r), "y"),
    "StateSpace.loglik": (lambda d, r: _model_1().loglik(d), "y"),
    "fit": (_fit, "y"),
}


def _da(values, times):
    return xr.DataArray(np.asarray(values, float), dims=("time",), coords={"time": times})


_T0 = np.datetime64("2026-01-01T00:00:00", "ns")
_S = np.timedelta64(1, "s")

#: name -> (data, rate, parameter names any of which the error message may name)
DATA_CASES = {
    "empty": (np.array([]), RATE, ()),
    "empty list": ([], RATE, ()),
    "1 sample": (np.array([1.0]), RATE, ()),
    "2 samples": (np.array([1.0, 2.0]), RATE, ()),
    "3 samples, int": (np.array([1, 2, 4]), RATE, ()),
    "NaN inside": (np.array([1.0, np.nan, 3.0, 2.0, 5.0, np.nan, 1.0, 0.0]), RATE, ()),
    "all NaN": (np.full(8, np.nan), RATE, ()),
    "inf": (np.array([1.0, np.inf, 3.0, 2.0, 5.0, 4.0, 1.0, 0.0]), RATE, ()),
    "-inf": (np.array([1.0, 2.0, -np.inf, 2.0, 5.0, 4.0, 1.0, 0.0]), RATE, ()),
    "2-D": (np.ones((8, 3)), RATE, ()),
    "3-D": (np.ones((4, 2, 2)), RATE, ()),
    "0-D": (np.float64(3.0), RATE, ()),
    "string": ("1.0, 2.0", RATE, ()),
    "string array": (np.array(["1.0", "2.0", "3.0"]), RATE, ()),
    "bytes": (b"\x00\x01", RATE, ()),
    "object, non-numeric": (np.array([1.0, "a", None], dtype=object), RATE, ()),
    "object, numeric": (np.array([1.0, 2.0, 4.0, 3.0, 5.0, 6.0, 8.0, 7.0], dtype=object), RATE, ()),
    "list": ([1.0, 2.0, 4.0, 3.0, 5.0, 6.0, 8.0, 7.0], RATE, ()),
    "ragged list": ([[1.0, 2.0], [3.0]], RATE, ()),
    "complex": (np.ones(8, complex), RATE, ()),
    "bool": (np.ones(8, bool), RATE, ()),
    "datetime values": (np.arange(8).astype("datetime64[s]"), RATE, ()),
    "Dataset": (xr.Dataset({"a": ("time", np.ones(8))}), RATE, ()),
    "DataArray uniform": (_da(np.arange(8.0) % 3, _T0 + np.arange(8) * _S), None, ()),
    "DataArray non-monotonic time": (
        _da(np.arange(8.0), _T0 + np.array([0, 1, 2, 3, 5, 4, 6, 7]) * _S),
        None,
        ("time",),
    ),
    "DataArray non-uniform time": (
        _da(np.arange(8.0), _T0 + np.array([0, 1, 2, 3, 4, 6, 7, 8]) * _S),
        None,
        ("time",),
    ),
    "DataArray duplicate time": (
        _da(np.arange(4.0), _T0 + np.array([0, 1, 1, 2]) * _S),
        None,
        ("time",),
    ),
    "DataArray NaT": (
        _da(np.arange(4.0), np.array([_T0, _T0 + _S, np.datetime64("NaT", "ns"), _T0 + 3 * _S])),
        None,
        ("time",),
    ),
    "DataArray rate disagrees": (_da(np.arange(8.0), _T0 + np.arange(8) * _S), 2.0, ("rate",)),
    "DataArray 1 sample, no rate": (_da([1.0], _T0 + np.arange(1) * _S), None, ("rate",)),
    "DataArray 2-D": (
        xr.DataArray(np.ones((8, 2)), dims=("time", "x"), coords={"time": _T0 + np.arange(8) * _S}),
        None,
        (),
    ),
    "DataArray wrong dim": (xr.DataArray(np.ones(8), dims=("x",)), RATE, ()),
    "rate 0": (np.arange(8.0), 0.0, ("rate",)),
    "rate negative": (np.arange(8.0), -1.0, ("rate",)),
    "rate NaN": (np.arange(8.0), np.nan, ("rate",)),
    "rate inf": (np.arange(8.0), np.inf, ("rate",)),
    "rate string": (np.arange(8.0), "1", ("rate",)),
    "rate bool": (np.arange(8.0), True, ("rate",)),
    "rate complex": (np.arange(8.0), 1 + 1j, ("rate",)),
    "rate array": (np.arange(8.0), np.array([1.0, 2.0]), ("rate",)),
    "rate None, plain array": (np.arange(8.0), None, ("rate",)),
}


def _time_len(data) -> int | None:
    try:
        arr = np.asarray(data.values if isinstance(data, xr.DataArray) else data, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr.shape[0] if arr.ndim >= 1 else None


def check_call(call, data, rate, data_name, extra_names=()):
    """Run one call; enforce the bad-input contract. Returns 'ok', 'error' or 'warned'."""
    names = (data_name, *extra_names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call(data, rate)
        except (ValueError, TypeError) as err:
            msg = str(err)
            assert any(n in msg for n in names), (
                f"{type(err).__name__} names none of {names}: {msg}"
            )
            for w in caught:
                assert not issubclass(w.category, RuntimeWarning), str(w.message)
            return "error"
    for w in caught:
        assert not issubclass(w.category, RuntimeWarning), f"numpy warning: {w.message}"
    warned = any(issubclass(w.category, UserWarning) for w in caught)
    _check_result(out, data, warned)
    return "warned" if warned else "ok"


def _check_result(out, data, warned):
    """Same time grid; no unexplained NaN beyond the input's gaps."""
    if isinstance(out, float):  # loglik: -inf is right when e^2 / S overflows (y ~ 1e300)
        assert not np.isnan(out) and out != np.inf
        return
    if isinstance(out, denoise.FitResult):
        assert np.all(np.isfinite(out.params)) and np.isfinite(out.loglik)
        return
    n = _time_len(data)
    if "time" in out.dims and n is not None and "decimate" not in out.attrs:
        assert out.sizes["time"] == n
    variables = out.data_vars.values() if isinstance(out, xr.Dataset) else [out]
    for var in variables:
        if var.dtype.kind != "f":
            continue
        if np.all(np.isnan(var.values)):
            assert warned, f"unexplained all-NaN output {var.name!r}"
    if isinstance(out, xr.Dataset) and "x" in out:  # Kalman: states finite everywhere
        assert np.all(np.isfinite(out["x"].values))


@pytest.mark.parametrize("func", list(SERIES_FUNCS))
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_series_functions_bad_data_grid(func, case):
    call, data_name = SERIES_FUNCS[func]
    data, rate, extra = DATA_CASES[case]
    check_call(call, data, rate, data_name, extra)


#: Other parameters: (call, parameter expected in the message)
PARAM_CASES = {
    "hampel window_samples even": (
        lambda: denoise.hampel(np.ones(9), 1.0, window_samples=4),
        "window_samples",
    ),
    "hampel window_samples float": (
        lambda: denoise.hampel(np.ones(9), 1.0, window_samples=3.0),
        "window_samples",
    ),
    "hampel window_samples 1": (
        lambda: denoise.hampel(np.ones(9), 1.0, window_samples=1),
        "window_samples",
    ),
    "hampel n_sigmas NaN": (
        lambda: denoise.hampel(np.ones(9), 1.0, window_samples=3, n_sigmas=np.nan),
        "n_sigmas",
    ),
    "hampel replace": (
        lambda: denoise.hampel(np.ones(9), 1.0, window_samples=3, replace="zero"),
        "replace",
    ),
    "mad_filter n_sigmas string": (
        lambda: denoise.mad_filter(np.ones(9), 1.0, n_sigmas="3"),
        "n_sigmas",
    ),
    "savgol window_samples <= polyorder": (
        lambda: denoise.savgol_smooth(np.ones(9), 1.0, window_samples=3, polyorder=3),
        "window_samples",
    ),
    "savgol polyorder negative": (
        lambda: denoise.savgol_smooth(np.ones(9), 1.0, window_samples=3, polyorder=-1),
        "polyorder",
    ),
    "savgol deriv > polyorder": (
        lambda: denoise.savgol_smooth(np.ones(9), 1.0, window_samples=5, polyorder=1, deriv=2),
        "deriv",
    ),
    "wavelet name": (lambda: denoise.wavelet_denoise(np.ones(16), 1.0, wavelet="nope"), "wavelet"),
    "wavelet list": (lambda: denoise.wavelet_denoise(np.ones(16), 1.0, wavelet=["db4"]), "wavelet"),
    "wavelet level": (lambda: denoise.wavelet_denoise(np.ones(16), 1.0, level=40), "level"),
    "wavelet mode": (lambda: denoise.wavelet_denoise(np.ones(16), 1.0, mode="x"), "mode"),
    "wavelet threshold": (
        lambda: denoise.wavelet_denoise(np.ones(16), 1.0, threshold=-1.0),
        "threshold",
    ),
    "drift data_type": (lambda: denoise.remove_drift(np.ones(9), 1.0, data_type="x"), "data_type"),
    "drift method": (lambda: denoise.remove_drift(np.ones(9), 1.0, method="quadratic"), "method"),
    "lockin f_mod Nyquist": (lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.5), "f_mod"),
    "lockin f_mod string": (lambda: denoise.lockin(np.ones(64), 1.0, f_mod="0.1"), "f_mod"),
    "lockin phase string": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, phase="0"),
        "phase",
    ),
    "lockin phase inf": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, phase=np.inf),
        "phase",
    ),
    "lockin periods 0": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, periods=0),
        "periods",
    ),
    "lockin window longer than record": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, periods=20),
        "periods",
    ),
    "lockin cutoff": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, lowpass="butter", cutoff=0.6),
        "cutoff",
    ),
    "lockin order": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, lowpass="butter", order=0),
        "order",
    ),
    "lockin butter record too short": (
        lambda: denoise.lockin(np.ones(12), 1.0, f_mod=0.25, lowpass="butter", order=4),
        "order",
    ),
    "lockin decimate": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, decimate=0),
        "decimate",
    ),
    "lockin lowpass": (
        lambda: denoise.lockin(np.ones(64), 1.0, f_mod=0.25, lowpass="x"),
        "lowpass",
    ),
    "local_level q": (lambda: denoise.local_level(-1.0, 1.0), "q"),
    "local_level r string": (lambda: denoise.local_level(1.0, "1"), "r"),
    "local_linear_trend q_slope NaN": (
        lambda: denoise.local_linear_trend(1.0, np.nan, 1.0),
        "q_slope",
    ),
    "clock_q tau 0": (lambda: denoise.clock_q(1e-22, 1e-26, 0.0), "tau"),
    "clock_q h0 list": (lambda: denoise.clock_q([1e-22], 1e-26, 1.0), "h0"),
    "clock_model tau0 inf": (lambda: denoise.clock_model(1e-22, 1e-26, np.inf), "tau0"),
    "clock_model r 0": (lambda: denoise.clock_model(1e-22, 1e-26, 1.0, r=0.0), "r"),
    "clock_model P0 wrong shape": (
        lambda: denoise.clock_model(1e-22, 1e-26, 1.0, P0=np.eye(3)),
        "P0",
    ),
    "StateSpace F string": (lambda: StateSpace("1", [[1.0]], [[1.0]], [[1.0]]), "F"),
    "StateSpace F empty": (lambda: StateSpace(np.zeros((0, 0)), [[1.0]], [[1.0]], [[1.0]]), "F"),
    "StateSpace F NaN": (lambda: StateSpace([[np.nan]], [[1.0]], [[1.0]], [[1.0]]), "F"),
    "StateSpace F ragged": (
        lambda: StateSpace([[1.0, 2.0], [1.0]], [[1.0]], [[1.0]], [[1.0]]),
        "F",
    ),
    "StateSpace F object": (
        lambda: StateSpace(np.array([[None]], dtype=object), [[1.0]], [[1.0]], [[1.0]]),
        "F",
    ),
    "StateSpace F empty time axis": (
        lambda: StateSpace(np.ones((0, 1, 1)), [[1.0]], [[1.0]], [[1.0]]),
        "F",
    ),
    "StateSpace H no rows": (lambda: StateSpace([[1.0]], np.zeros((0, 1)), [[1.0]], [[1.0]]), "H"),
    "StateSpace Q negative": (lambda: StateSpace([[1.0]], [[1.0]], [[-1.0]], [[1.0]]), "Q"),
    "StateSpace R complex": (lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1j]]), "R"),
    "StateSpace x0 NaN": (
        lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1.0]], x0=[np.nan]),
        "x0",
    ),
    "StateSpace x0 string": (lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1.0]], x0="a"), "x0"),
    "StateSpace state_names int": (
        lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1.0]], state_names=3),
        "state_names",
    ),
    "StateSpace P0 3-D": (
        lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1.0]], P0=np.ones((2, 1, 1))),
        "P0",
    ),
    "StateSpace P0 asymmetric": (
        lambda: StateSpace(
            np.eye(2), [[1.0, 0.0]], np.eye(2), [[1.0]], P0=[[1.0, 1.0], [0.0, 1.0]]
        ),
        "P0",
    ),
    "StateSpace state_names": (
        lambda: StateSpace([[1.0]], [[1.0]], [[1.0]], [[1.0]], state_names=["a", "b"]),
        "state_names",
    ),
    "filter 2 obs given 1-D": (lambda: _model_2obs().filter(np.ones(5)), "y"),
    "filter time axis mismatch": (
        lambda: StateSpace(np.ones((3, 1, 1)), [[1.0]], [[1.0]], [[1.0]]).filter(np.ones(5)),
        "y",
    ),
    "simulate n 0": (lambda: _model_1().simulate(0), "n"),
    "simulate n float": (lambda: _model_1().simulate(5.0), "n"),
    "simulate seed negative": (lambda: _model_1().simulate(5, seed=-1), "seed"),
    "simulate seed string": (lambda: _model_1().simulate(5, seed="1"), "seed"),
    "simulate rate 0": (lambda: _model_1().simulate(5, rate=0.0), "rate"),
    "simulate start without rate": (lambda: _model_1().simulate(5, start="2026-01-01"), "start"),
    "simulate start bad": (lambda: _model_1().simulate(5, rate=1.0, start="yesterday"), "start"),
    "fit builder not callable": (lambda: denoise.fit(None, np.ones(9), [1.0]), "builder"),
    "fit builder returns other": (lambda: denoise.fit(lambda p: 3, np.ones(9), [1.0]), "builder"),
    "fit x0_params empty": (
        lambda: denoise.fit(lambda p: denoise.local_level(1.0, 1.0), np.ones(9), []),
        "x0_params",
    ),
    "fit x0_params <= 0 with log": (
        lambda: denoise.fit(
            lambda p: denoise.local_level(p[0], 1.0), np.ones(9), [0.0], transform="log"
        ),
        "x0_params",
    ),
    "fit bounds count": (
        lambda: denoise.fit(
            lambda p: denoise.local_level(p[0], 1.0), np.ones(9), [1.0], bounds=[(0, 1), (0, 1)]
        ),
        "bounds",
    ),
}


@pytest.mark.parametrize("case", list(PARAM_CASES))
def test_bad_parameters_name_the_parameter(case):
    call, name = PARAM_CASES[case]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value), str(info.value)


# --- hypothesis: random arrays, shapes, gaps and rates at every series function -------

_elements = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e-300, -1e300]),
)
_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=12)
_arrays = st.one_of(
    hnp.arrays(np.float64, _shapes, elements=_elements),
    hnp.arrays(np.float32, _shapes, elements=st.floats(-1e6, 1e6, width=32)),
    hnp.arrays(np.int64, _shapes, elements=st.integers(-(2**40), 2**40)),
)
_rates = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, 0, -1, True, "1"]),
    st.floats(1e-3, 1e3),
)


@settings(max_examples=60, deadline=None)
@given(func=st.sampled_from(sorted(SERIES_FUNCS)), data=_arrays, rate=_rates)
def test_series_functions_random_bad_input(func, data, rate):
    call, data_name = SERIES_FUNCS[func]
    check_call(call, data, rate, data_name, ("rate",))


@settings(max_examples=40, deadline=None)
@given(
    func=st.sampled_from(sorted(SERIES_FUNCS)),
    n=st.integers(2, 40),
    order=st.permutations(range(6)),
    jitter=st.lists(st.integers(-400, 400), min_size=40, max_size=40),
)
def test_series_functions_random_time_coordinates(func, n, order, jitter):
    """Uniform, permuted or jittered datetime64 grids: a result or an error naming time."""
    call, data_name = SERIES_FUNCS[func]
    ms = np.arange(n) * 1000 + np.array(jitter[:n])
    head = min(n, 6)
    ms[:head] = ms[:head][list(o for o in order if o < head)]
    times = _T0 + ms.astype("timedelta64[ms]")
    data = _da(np.sin(np.arange(n)), times)
    check_call(call, data, None, data_name, ("time", "rate"))


_matrix_like = st.one_of(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
               elements=_elements),
    st.sampled_from(["1", None, [[1.0], [1.0, 2.0]], np.array([[None]], dtype=object), 1j]),
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(which=st.sampled_from(["F", "H", "Q", "R", "x0", "P0"]), value=_matrix_like)
def test_state_space_random_matrices(which, value):
    """One system matrix replaced by a random array: a working model or an error naming it."""
    args = {"F": np.eye(2), "H": [[1.0, 0.0]], "Q": 0.1 * np.eye(2), "R": [[1.0]]}
    kwargs = {"x0": None, "P0": None}
    (args if which in args else kwargs)[which] = value
    try:
        model = StateSpace(**args, **kwargs)
    except (ValueError, TypeError) as err:
        # a wrong size may be reported by the matrix it no longer matches (F (1, 1) ->
        # "H must have 1 columns"), so any system parameter named is right
        assert which in str(err) or str(err).split()[0] in {"F", "H", "Q", "R"}, str(err)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = model.filter(np.ones(3))
        except ValueError as err:  # a legal but degenerate model (e.g. R = 0, P0 = 0)
            assert "positive definite" in str(err) or "time axis" in str(err), str(err)
            return
    assert not any(issubclass(w.category, RuntimeWarning) for w in caught)
    assert np.all(np.isfinite(out["x"].values))
