"""Every public function of qsense.spectral against bad input (issue 9, hypothesis).

Each either returns a correct result or raises ValueError/TypeError naming the
parameter (see tests/bad_records.py for the rules the checker enforces).
"""

from __future__ import annotations

import bad_records as bad
import hypothesis.strategies as st
import numpy as np
import pytest
import scipy.signal
import xarray as xr
from hypothesis import HealthCheck, given, settings

from qsense import spectral
from qsense.spectral.density import window_taps

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _pair(f):
    """A two-channel function with the bad record as x (``first``) or as y."""

    def call(d, r, first=True):
        other = bad.like(d, 64, 7)
        return f(d, other, r) if first else f(other, d, r)

    return call


RECORD_CALLS = {
    "psd": (lambda d, r: spectral.psd(d, r), ("data",), False),
    "asd": (lambda d, r: spectral.asd(d, r), ("data",), False),
    "noise_floor": (lambda d, r: spectral.noise_floor(d, (0.05, 0.4), r), ("data", "band"), False),
    "noise_floor_mean": (
        lambda d, r: spectral.noise_floor(d, (0.05, 0.4), r, estimator="mean"),
        ("data", "band"),
        False,
    ),
    "sensitivity": (lambda d, r: spectral.sensitivity(d, (0.05, 0.4), r), ("data", "band"), False),
    "snr_tone": (lambda d, r: spectral.snr_tone(d, 0.1, r), ("data", "f0"), False),
    "snr_band": (
        lambda d, r: spectral.snr_band(d, (0.1, 0.2), r, floor_band=(0.25, 0.45)),
        ("data", "band", "floor_band"),
        False,
    ),
    "fit_power_law": (lambda d, r: spectral.fit_power_law(d, r), ("data", "band"), False),
    "fit_power_law_one": (
        lambda d, r: spectral.fit_power_law(d, r, alphas=(0,), band=(0.01, 0.3)),
        ("data", "band"),
        False,
    ),
    "coherence_x": (lambda d, r: _pair(spectral.coherence)(d, r), ("x", "y"), True),
    "coherence_y": (lambda d, r: _pair(spectral.coherence)(d, r, False), ("x", "y"), True),
    "transfer_x": (lambda d, r: _pair(spectral.transfer_function)(d, r), ("x", "y"), True),
    "transfer_y": (lambda d, r: _pair(spectral.transfer_function)(d, r, False), ("x", "y"), True),
    "avar_from_psd_of": (
        lambda d, r: spectral.avar_from_psd(spectral.psd(d, r), [1.0, 4.0]),
        ("data", "taus", "spectrum"),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(RECORD_CALLS))
@SETTINGS
@given(kind=bad.kinds, n=st.integers(4, 300), seed=st.integers(0, 2**16), rate=bad.rates)
def test_spectral_bad_records_refused_by_name(name, kind, n, seed, rate):
    call, names, nan_ok = RECORD_CALLS[name]
    data = bad.record(kind, n, seed)
    bad.check(
        f"{name}:{kind}/{rate!r}",
        lambda: call(data, rate),
        (*names, "rate", "time", "nperseg"),
        __file__,
        nan_ok=nan_ok,
    )


CI_CALLS = {
    "psd": lambda x, ci: spectral.psd(x, 1.0, ci=ci),
    "asd": lambda x, ci: spectral.asd(x, 1.0, ci=ci),
    "noise_floor": lambda x, ci: spectral.noise_floor(x, (0.1, 0.4), 1.0, ci=ci),
    "sensitivity": lambda x, ci: spectral.sensitivity(x, (0.1, 0.4), 1.0, ci=ci),
    "snr_tone": lambda x, ci: spectral.snr_tone(x, 0.2, 1.0, ci=ci),
    "snr_band": lambda x, ci: spectral.snr_band(x, (0.1, 0.2), 1.0, floor_band=(0.3, 0.4), ci=ci),
}


@pytest.mark.parametrize("name", sorted(CI_CALLS))
@settings(max_examples=12, deadline=None)
@given(ci=bad.cis)
def test_spectral_ci_one_rule(name, ci):
    x = bad.values(1024, 3)
    out = bad.check(f"{name}:ci={ci!r}", lambda: CI_CALLS[name](x, ci), ("ci",), __file__)
    valid = isinstance(ci, float | np.floating) and 0 < ci < 1
    assert (out == "result") == valid, (ci, out)


ARGUMENTS = st.sampled_from(
    [
        ("window", "hann"),
        ("window", ("tukey", 0.25)),
        ("window", "nope"),
        ("window", 3),
        ("window", None),
        ("nperseg", 64),
        ("nperseg", 1),
        ("nperseg", 0),
        ("nperseg", 2.5),
        ("nperseg", "64"),
        ("nperseg", 10**9),
        ("nperseg", True),
        ("overlap", 0.0),
        ("overlap", 0.75),
        ("overlap", 1.0),
        ("overlap", -0.1),
        ("overlap", "0.5"),
        ("overlap", np.nan),
        ("detrend", "linear"),
        ("detrend", False),
        ("detrend", "quadratic"),
        ("detrend", None),
        ("units", "m"),
        ("units", 3),
    ]
)


@pytest.mark.parametrize("func", ["psd", "coherence", "noise_floor"])
@settings(max_examples=40, deadline=None)
@given(arg=ARGUMENTS)
def test_welch_options_refused_by_name(func, arg):
    key, value = arg
    x = bad.values(512, 5)
    calls = {
        "psd": lambda: spectral.psd(x, 1.0, **{key: value}),
        "coherence": lambda: spectral.coherence(x, x + bad.values(512, 6), 1.0, **{key: value}),
        "noise_floor": lambda: spectral.noise_floor(x, (0.1, 0.4), 1.0, **{key: value}),
    }
    if func == "coherence" and key == "units":
        return  # coherence has no units argument; covered by the TypeError of Python
    bad.check(f"{func}:{key}={value!r}", calls[func], (key,), __file__, nan_ok=True)


BANDS = st.sampled_from(
    [
        (0.1, 0.3),
        (0.3, 0.1),
        (0.0, 0.5),
        (-0.1, 0.2),
        (0.1, 0.9),
        (0.1, np.nan),
        (0.1, np.inf),
        ("0.1", "0.3"),
        "0.1, 0.3",
        0.2,
        (0.1,),
        (0.1, 0.2, 0.3),
        (True, 0.3),
        None,
        [0.1, 0.3],
        np.array([0.1, 0.3]),
        (0.2001, 0.2002),
    ]
)


@pytest.mark.parametrize("func", ["noise_floor", "snr_band", "snr_band_floor", "fit_power_law"])
@settings(max_examples=30, deadline=None)
@given(band=BANDS)
def test_bands_refused_by_name(func, band):
    x = bad.values(1024, 8)
    calls = {
        "noise_floor": (lambda: spectral.noise_floor(x, band, 1.0), "band"),
        "snr_band": (lambda: spectral.snr_band(x, band, 1.0, floor_band=(0.3, 0.45)), "band"),
        "snr_band_floor": (
            lambda: spectral.snr_band(x, (0.1, 0.2), 1.0, floor_band=band),
            "floor_band",
        ),
        "fit_power_law": (lambda: spectral.fit_power_law(x, 1.0, band=band), "band"),
    }
    call, name = calls[func]
    bad.check(f"{func}:{band!r}", call, (name,), __file__)


SCALARS = st.sampled_from(
    [1.0, 0.2, 0.0, -1.0, np.nan, np.inf, "0.2", True, None, [0.2], 1e300, 3, np.float32(0.2)]
)


@settings(max_examples=80, deadline=None)
@given(
    f0=SCALARS,
    half_width=st.sampled_from([0, 3, -1, 2.5, "3", 10**6]),
    floor_width=st.sampled_from([1, 32, 0, "32", 10**6]),
    bandwidth=st.sampled_from([None, 1.0, 0.0, -1.0, "1", np.nan]),
)
def test_snr_tone_arguments(f0, half_width, floor_width, bandwidth):
    x = bad.values(1024, 9)
    bad.check(
        f"snr_tone:{f0!r}/{half_width!r}/{floor_width!r}/{bandwidth!r}",
        lambda: spectral.snr_tone(
            x, f0, 1.0, half_width=half_width, floor_width=floor_width, bandwidth=bandwidth
        ),
        ("f0", "half_width", "floor_width", "bandwidth", "data"),
        __file__,
    )


@settings(max_examples=40, deadline=None)
@given(scale=SCALARS, scale_units=st.sampled_from([None, "m s-2", 3, ""]))
def test_sensitivity_scale(scale, scale_units):
    x = bad.values(1024, 10)
    bad.check(
        f"sensitivity:{scale!r}/{scale_units!r}",
        lambda: spectral.sensitivity(x, (0.1, 0.4), 1.0, scale=scale, scale_units=scale_units),
        ("scale", "scale_units", "units"),
        __file__,
    )


ALPHAS = st.sampled_from(
    [(-2, 0), (0,), 0, (), (0, 0), ("0", "1"), "012", (np.nan,), [[0, 1]], None, (True,), (1.5,)]
)


@settings(max_examples=30, deadline=None)
@given(alphas=ALPHAS)
def test_fit_power_law_alphas(alphas):
    x = bad.values(2048, 11)
    bad.check(
        f"fit_power_law:{alphas!r}",
        lambda: spectral.fit_power_law(x, 1.0, alphas=alphas),
        ("alphas", "data", "band"),
        __file__,
    )


def _spectrum(kind: str):
    f = np.geomspace(1e-4, 0.5, 64)
    s = 1e-22 / f
    base = xr.DataArray(s, dims="frequency", coords={"frequency": f})
    return {
        "valid": base,
        "psd": spectral.psd(bad.values(4096, 12), 1.0),
        "array": s,
        "strings": xr.DataArray(s.astype(str), dims="frequency", coords={"frequency": f}),
        "nan": base.where(base.frequency != f[3]),
        "zero": base * 0,
        "negative": -base,
        "one": base[:1],
        "no_coord": xr.DataArray(s, dims="frequency"),
        "str_coord": xr.DataArray(s, dims="frequency", coords={"frequency": f.astype(str)}),
        "wrong_dim": xr.DataArray(s, dims="f"),
        "decreasing": base[::-1],
        "dataset_no_psd": xr.Dataset({"x": base}),
        "2d": xr.DataArray(np.stack([s, s]), dims=("a", "frequency"), coords={"frequency": f}),
        "none": None,
    }[kind]


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(
        [
            "valid",
            "psd",
            "array",
            "strings",
            "nan",
            "zero",
            "negative",
            "one",
            "no_coord",
            "str_coord",
            "wrong_dim",
            "decreasing",
            "dataset_no_psd",
            "2d",
            "none",
        ]
    ),
    taus=st.sampled_from([[1.0], 10.0, [], [0.0], [-1.0], [np.nan], ["1"], "1", [[1.0]], None]),
    f_h=st.sampled_from([None, 0.4, 2.0, 0.0, "0.4", True, np.nan]),
    interpolation=st.sampled_from(["auto", "linear", "loglog", "cubic", None]),
)
def test_avar_from_psd_arguments(kind, taus, f_h, interpolation):
    spectrum = _spectrum(kind)
    bad.check(
        f"avar_from_psd:{kind}/{taus!r}/{f_h!r}/{interpolation!r}",
        lambda: spectral.avar_from_psd(spectrum, taus, f_h=f_h, interpolation=interpolation),
        ("spectrum", "taus", "f_h", "interpolation", "tau"),
        __file__,
    )


CURVES = st.sampled_from(
    [
        ([-100.0, -110.0], [10.0, 100.0]),
        ([-100.0], [10.0]),
        (-100.0, 10.0),
        ([], []),
        (["-100"], [10.0]),
        ([-100.0], ["10"]),
        ("-100", 10.0),
        ([np.nan], [10.0]),
        ([np.inf], [10.0]),
        ([-100.0], [0.0]),
        ([-100.0], [-1.0]),
        ([-100.0], [np.nan]),
        ([-100.0, -90.0], [10.0]),
        ([[-100.0]], [[10.0]]),
        ([True], [10.0]),
        ([-100.0], None),
        (None, [10.0]),
        (np.array([1, "a"], dtype=object), [1.0, 2.0]),
    ]
)


def _as_psd(values):
    """A PSD-like curve from a phase-noise test curve: numbers made non-negative, rest as is."""
    arr = np.asarray(values, dtype=object)
    flat = list(arr.flat)
    if values is None or not all(
        isinstance(v, float | int) and not isinstance(v, bool) for v in flat
    ):
        return values
    return np.abs(np.asarray(values, dtype=float)) * 1e-20


@pytest.mark.parametrize("direction", ["to_psd", "to_phase_noise"])
@settings(max_examples=60, deadline=None)
@given(curve=CURVES, nu0=SCALARS)
def test_phase_noise_conversions(direction, curve, nu0):
    values, frequency = curve
    if direction == "to_psd":
        call = lambda: spectral.phase_noise_to_psd(values, frequency, nu0=nu0)  # noqa: E731
        names = ("phase_noise", "frequency", "nu0")
    else:
        psd = _as_psd(values)
        call = lambda: spectral.psd_to_phase_noise(psd, frequency, nu0=nu0)  # noqa: E731
        names = ("psd", "frequency", "nu0")
    bad.check(f"{direction}:{curve!r}/{nu0!r}", call, names, __file__, nan_ok=True)


STARTS = st.sampled_from(
    ["valid", "list", "float_whole", "float", "empty", "2d", "nan", "string", "unsorted",
     "negative", "bool", "duplicate", "none", "huge"]
)  # fmt: skip
TAPS = st.sampled_from(
    ["hann", "list", "zeros", "nan", "2d", "string", "complex", "empty", "one", "int"]
)


def _starts(kind: str):
    v = np.arange(8) * 32
    return {
        "valid": v,
        "list": list(v),
        "float_whole": v.astype(float),
        "float": v + 0.5,
        "empty": np.array([], dtype=int),
        "2d": np.stack([v, v]),
        "nan": np.array([0.0, np.nan]),
        "string": "0, 32",
        "unsorted": v[::-1],
        "negative": v - 64,
        "bool": v > 0,
        "duplicate": np.array([0, 0, 32]),
        "none": None,
        "huge": np.array([0, 2**62]),
    }[kind]


def _taps(kind: str):
    w = scipy.signal.get_window("hann", 64)
    return {
        "hann": w,
        "list": list(w),
        "zeros": np.zeros(64),
        "nan": np.full(64, np.nan),
        "2d": np.stack([w, w]),
        "string": "hann",
        "complex": w + 1j,
        "empty": np.array([]),
        "one": np.array([1.0]),
        "int": np.ones(64, dtype=int),
    }[kind]


@settings(max_examples=150, deadline=None)
@given(
    starts=STARTS,
    taps=TAPS,
    n_bins=st.sampled_from([1, 4, 33, 34, 0, -1, 2.5, "2", True, 10**30, np.int64(3)]),
)
def test_equivalent_dof_validates_every_parameter(starts, taps, n_bins):
    s, t = _starts(starts), _taps(taps)
    out = bad.check(
        f"equivalent_dof:{starts}/{taps}/{n_bins!r}",
        lambda: spectral.equivalent_dof(s, t, n_bins),
        ("starts", "taps", "n_bins"),
        __file__,
    )
    if out == "result":
        nu = spectral.equivalent_dof(s, t, n_bins)
        k = np.size(s)
        assert np.isfinite(nu) and 0 < nu <= 2 * k * int(n_bins) * (1 + 1e-12)


def test_equivalent_dof_messages():
    w = scipy.signal.get_window("hann", 64)
    with pytest.raises(ValueError, match="taps must not be all zero"):
        spectral.equivalent_dof([0, 32], np.zeros(64))
    with pytest.raises(ValueError, match="n_bins must be at most 33"):
        spectral.equivalent_dof([0, 32], w, 10**30)
    with pytest.raises(ValueError, match="starts must be strictly increasing"):
        spectral.equivalent_dof([32, 0], w)
    with pytest.raises(ValueError, match="taps must be finite"):
        spectral.equivalent_dof([0], np.full(4, np.nan))
    with pytest.raises(ValueError, match="starts must be a non-empty 1-D"):
        spectral.equivalent_dof(np.zeros((2, 2), int), w)
    # lists are accepted (the AttributeError of issue 9) and give the array's answer
    assert spectral.equivalent_dof(list(range(0, 320, 32)), list(w)) == pytest.approx(
        spectral.equivalent_dof(np.arange(0, 320, 32), w), rel=1e-15
    )


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from([1, 4, 100, 10**6, 0, -5, 2.5, "100", True, None, np.int32(64)]))
def test_default_nperseg(n):
    out = bad.check(f"default_nperseg:{n!r}", lambda: spectral.default_nperseg(n), ("n",), __file__)
    if out == "result":
        assert 1 <= spectral.default_nperseg(n) <= int(n)


def test_window_taps_of_a_psd():
    p = spectral.psd(bad.values(512, 1), 1.0, nperseg=64, window=("tukey", 0.25))
    np.testing.assert_array_equal(window_taps(p), scipy.signal.get_window(("tukey", 0.25), 64))


# ----------------------------------------------------- short records blame data (issue 9)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: spectral.noise_floor(bad.values(8, 1), (0.1, 0.11), 1.0),
            r"data is too short .* band=\(0\.1, 0\.11\).* at least \d+ consecutive samples",
        ),
        (
            lambda: spectral.noise_floor(bad.values(4096, 1), (0.2001, 0.2002), 1.0, nperseg=64),
            r"nperseg=64 is too short .* pass nperseg>=\d+",
        ),
        (
            lambda: spectral.noise_floor(spectral.psd(bad.values(64, 1), 1.0), (0.2001, 0.2002)),
            r"data \(a spectrum of 64-sample segments\) is too coarse",
        ),
        (
            lambda: spectral.fit_power_law(bad.values(10, 1), 1.0, band=(0.05, 0.45)),
            r"data is too short for 5 interior frequency bins",
        ),
        (
            lambda: spectral.snr_tone(bad.values(8, 1), 0.2, 1.0),
            r"data is too short for a tone of 7 bins",
        ),
        (
            lambda: spectral.snr_band(bad.values(6, 1), (0.1, 0.15), 1.0, floor_band=(0.2, 0.4)),
            r"data is too short",
        ),
    ],
)
def test_short_records_blame_data_and_say_how_long(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_length_given_in_the_message_is_enough():
    with pytest.raises(ValueError, match=r"at least (\d+) consecutive") as e:
        spectral.noise_floor(bad.values(8, 1), (0.1, 0.11), 1.0)
    import re

    need = int(re.search(r"give data at least (\d+) consecutive", str(e.value)).group(1))
    spectral.noise_floor(bad.values(need, 1), (0.1, 0.11), 1.0)  # now it works
    with pytest.raises(ValueError, match="data is too short"):
        spectral.noise_floor(bad.values(need - 1, 1), (0.1, 0.11), 1.0)


def test_statistic_keyword_renamed_estimator():
    x = bad.values(1024, 2)
    with pytest.raises(TypeError, match="estimator"):
        spectral.noise_floor(x, (0.1, 0.4), 1.0, statistic="mean")
    out = spectral.noise_floor(x, (0.1, 0.4), 1.0, estimator="mean")
    assert out.attrs["estimator"] == "mean" and out.attrs["statistic"] == "noise_floor"
    assert spectral.sensitivity(x, (0.1, 0.4), 1.0).attrs["statistic"] == "sensitivity"


def test_two_channels_use_common_grid():
    x = bad.record("da_valid", 64, 1)
    y = x.copy()
    y["time"] = y["time"] + np.timedelta64(10, "s")
    with pytest.raises(ValueError, match="x and y must start at the same time"):
        spectral.coherence(x, y)
    from qsense.signal import time_grid

    with pytest.raises(ValueError, match="x and y must share one sample rate"):
        spectral.transfer_function(x, y.assign_coords(time=time_grid(y.size, 2.0)))


def test_constant_channel_refused():
    x = bad.values(256, 3)
    with pytest.raises(ValueError, match="y has no power"):
        spectral.coherence(x, np.ones(256), 1.0)
    with pytest.raises(ValueError, match="x has no power"):
        spectral.transfer_function(np.zeros(256), x, 1.0)
    with pytest.raises(ValueError, match=r"noise floor of data .* is zero"):
        spectral.snr_tone(np.ones(1024), 0.2, 1.0)
    with pytest.raises(ValueError, match="zero PSD"):
        spectral.fit_power_law(np.ones(1024), 1.0)
