"""qsense.plot.stability: log-log axes, CI error bars, noise-slope guides, overlays."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from qsense.plot import stability


def _result(stat="oadev", scale=1e-12, ci=True):
    tau = 2.0 ** np.arange(8)
    dev = scale / np.sqrt(tau)
    ds = xr.Dataset({"dev": ("tau", dev)}, coords={"tau": tau}, attrs={"statistic": stat})
    if ci:
        ds["dev_lo"] = ("tau", 0.9 * dev)
        ds["dev_hi"] = ("tau", 1.2 * dev)
        ds.attrs["ci"] = 0.683
    return ds


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_log_axes_labels_and_error_bars():
    res = _result()
    ax = stability(res)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "(s)" in ax.get_xlabel() and "tau" in ax.get_xlabel()
    assert "ADEV" in ax.get_ylabel()
    assert "68.3 %" in ax.get_title()
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), res["tau"].values)
    np.testing.assert_array_equal(line.get_ydata(), res["dev"].values)
    # the error-bar segments span [dev_lo, dev_hi]
    segs = next(c for c in ax.collections if hasattr(c, "get_segments")).get_segments()
    lo = np.array([s[0][1] for s in segs])
    hi = np.array([s[1][1] for s in segs])
    np.testing.assert_allclose(
        np.sort(np.c_[lo, hi], axis=1), np.c_[0.9, 1.2] * res["dev"].values[:, None]
    )


def test_noise_slope_guides_have_the_right_slopes_and_labels():
    ax = stability(_result())
    texts = {t.get_text() for t in ax.texts}
    assert any("WFM" in t and "-1/2" in t for t in texts)
    assert any("RWFM" in t and "1/2" in t for t in texts)
    slopes = {}
    for line in ax.lines[1:]:
        x, y = np.log10(line.get_xdata()), np.log10(line.get_ydata())
        slopes[round(float(np.polyfit(x, y, 1)[0]), 6)] = line
    assert {-1.0, -0.5, 0.0, 0.5} <= set(slopes)
    # the guides do not stretch the axis beyond the data's range
    lo, hi = ax.get_ylim()
    assert lo > 1e-14 and hi < 1e-11


def test_time_deviation_units_and_slopes():
    ax = stability(_result("tdev", 1e-9))
    assert ax.get_ylabel().endswith("(s)")
    assert [t.get_text() for t in ax.texts] == [
        r"$\tau^{-1/2}$ WPM",
        r"$\tau^{0}$ FPM",
        r"$\tau^{1/2}$ WFM",
        r"$\tau^{1}$ FFM",
        r"$\tau^{3/2}$ RWFM",
    ]


def test_no_guides_and_no_ci():
    ax = stability(_result(ci=False), guides=False)
    assert len(ax.lines) == 1 and not ax.texts
    assert ax.get_title() == ""


def test_overlay_list_on_given_axes_with_legend():
    fig, ax0 = plt.subplots()
    out = stability([_result(), _result("mdev", 2e-12)], ax=ax0, labels=["a", "b"])
    assert out is ax0
    assert [t.get_text() for t in ax0.get_legend().get_texts()] == ["a", "b"]
    assert fig.axes == [ax0]


def test_bad_input():
    with pytest.raises(TypeError, match="Dataset"):
        stability(np.ones(3))
    with pytest.raises(TypeError, match="Dataset"):
        stability([])
    with pytest.raises(ValueError, match="'dev'"):
        stability(xr.Dataset({"x": ("tau", [1.0])}, coords={"tau": [1.0]}))
    with pytest.raises(ValueError, match="labels"):
        stability([_result(), _result()], labels=["only one"])


def test_real_result_plots():
    from qsense.stability import oadev

    y = np.random.default_rng(0).standard_normal(4096) * 1e-12
    ax = stability(oadev(y, 1.0, "freq"))
    assert len(ax.lines[0].get_xdata()) > 5
