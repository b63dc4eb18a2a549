"""Tests of the AT1 clock-ensemble time scale (qsense.fusion.ensemble_time_scale)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from qsense.fusion import ensemble_time_scale
from qsense.fusion._kernels import at1, new_state
from qsense.io import load, read_rinex_clock, save
from qsense.noise import power_law
from qsense.seeding import seed_sequence, spawn
from qsense.signal import time_grid
from qsense.stability import oadev


# ------------------------------------------------------------------ slow reference
def at1_reference(u, rate, tau_f, tau_e, max_weight, threshold, warmup, reset):
    """The AT1 equations of ensemble_time_scale's Notes, one epoch and clock at a time.

    Plain Python on lists, no shared code with the kernel. Returns (dev, weight, freq,
    sigma, outlier, ens_sigma) as numpy arrays.
    """
    n, nc = len(u), len(u[0])
    x = [None] * nc  # x_ie at the last valid epoch
    last = [None] * nc  # that epoch's index
    y = [0.0] * nc
    var = [0.0] * nc
    updates = [0] * nc
    seen = [0] * nc
    run = [0] * nc  # consecutive outlier epochs
    run_slope = [0.0] * nc
    slopes = [0] * nc  # slopes in the running mean of the frequency estimate
    out = {k: [[math.nan] * nc for _ in range(n)] for k in ("dev", "freq", "sigma")}
    out["weight"] = [[0.0] * nc for _ in range(n)]
    out["outlier"] = [[False] * nc for _ in range(n)]
    ens = [math.nan] * n

    def capped(raw):
        """raw / sum(raw) with none above max_weight (water-filling)."""
        keys = list(raw)
        if max_weight * len(keys) <= 1.0:
            return {k: 1.0 / len(keys) for k in keys}
        fixed = set()
        while True:
            free = sum(raw[k] for k in keys if k not in fixed)
            rest = 1.0 - max_weight * len(fixed)
            w = {k: max_weight if k in fixed else rest * raw[k] / free for k in keys}
            over = {k for k in keys if k not in fixed and w[k] > max_weight}
            if not over:
                return w
            fixed |= over

    for k in range(n):
        present = [i for i in range(nc) if not math.isnan(u[k][i])]
        prior = [i for i in present if last[i] is not None]
        dt = {i: (k - last[i]) / rate for i in prior}
        pred = {i: x[i] + y[i] * dt[i] for i in prior}
        est = [i for i in prior if updates[i] >= warmup]
        flags = set()
        if est:
            w = capped({i: 1.0 / max(var[i], 1e-300) for i in est})
            c = sum(w[i] * (pred[i] - u[k][i]) for i in est)
            while threshold < math.inf and len(w) >= 3:  # worst outlier first
                w2s = sum(w[i] ** 2 * var[i] for i in w)
                z = {}
                for i in w:
                    if 1.0 - w[i] > 1e-12:  # against the ensemble of the other clocks
                        c_others = (c - w[i] * (pred[i] - u[k][i])) / (1.0 - w[i])
                        e = u[k][i] + c_others - pred[i]
                        expected = var[i] + (w2s - w[i] ** 2 * var[i]) / (1.0 - w[i]) ** 2
                        if expected > 0 and e * e > threshold**2 * expected:
                            z[i] = e * e / expected
                if not z:
                    break
                worst = max(z, key=lambda i: (z[i], -i))  # first of equals, as the kernel
                flags.add(worst)
                w = capped({i: 1.0 / max(var[i], 1e-300) for i in w if i != worst})
                c = sum(w[i] * (pred[i] - u[k][i]) for i in w)
        elif prior:
            w = {i: 1.0 / len(prior) for i in prior}
            c = sum(w[i] * (pred[i] - u[k][i]) for i in prior)
        elif present:
            w = {i: 1.0 / len(present) for i in present}
            c = -sum(u[k][i] for i in present) / len(present)
        else:
            w, c = {}, 0.0
        for i in present:
            xe = u[k][i] + c
            wi = w.get(i, 0.0)
            if i in prior:
                if seen[i] >= 2:
                    e = xe - pred[i]
                    if 1.0 - wi > 1e-12:
                        e2 = e * e / (1.0 - wi)
                        if i in flags:
                            e2 = min(e2, threshold**2 * var[i])
                        ne = min(updates[i], tau_e[i] / dt[i])
                        var[i] = (e2 + ne * var[i]) / (ne + 1.0)
                        updates[i] += 1
                slope = (xe - x[i]) / dt[i]
                if i in flags:
                    run[i] += 1
                    run_slope[i] += slope
                    if run[i] >= reset:  # a frequency step: start the clock afresh
                        y[i] = run_slope[i] / run[i]
                        slopes[i], updates[i] = run[i], 0
                        run[i], run_slope[i] = 0, 0.0
                else:
                    run[i], run_slope[i] = 0, 0.0
                    m = min(slopes[i], tau_f[i] / dt[i])
                    y[i] = (slope + m * y[i]) / (1.0 + m)
                    slopes[i] += 1
            x[i], last[i] = xe, k
            seen[i] += 1
            out["dev"][k][i] = xe
            out["weight"][k][i] = wi
            out["outlier"][k][i] = i in flags
            out["freq"][k][i] = y[i] if seen[i] >= 2 else math.nan
            out["sigma"][k][i] = math.sqrt(var[i]) if updates[i] > 0 else math.nan
        if est:
            ens[k] = math.sqrt(sum(w[i] ** 2 * var[i] for i in w))
    keys = ("dev", "weight", "freq", "sigma", "outlier")
    return (*(np.array(out[key]) for key in keys), np.array(ens))


def run_kernel(u, rate, tau_f, tau_e, max_weight, threshold, warmup, reset, chunks=(None,)):
    """The kernel over ``u``, in the given chunks (split indices), state carried."""
    n, nc = u.shape
    outs = [np.empty((n, nc)) for _ in range(4)] + [np.empty((n, nc), np.int8), np.empty(n)]
    state = new_state(nc)
    edges = [0, *[c for c in chunks if c is not None], n]
    for a, b in itertools.pairwise(edges):
        part = [o[a:b] for o in outs]
        at1(np.ascontiguousarray(u[a:b]), rate, tau_f, tau_e, max_weight, threshold,
            float(warmup), float(reset), a, state, *part)  # fmt: skip
    return outs


# ------------------------------------------------------------------ simulated clocks
RATE = 1.0
#: White-FM and random-walk-FM levels of 4 clocks, all with the same crossover (~90 s):
#: sigma_y(1 s) = 1e-12 * (1, 1.2, 1.5, 2).
SCALES = np.array([1.0, 1.2, 1.5, 2.0])
H0, HM2 = 2e-24, 2e-29


def clock_phases(n: int, seed: int, scales=SCALES) -> np.ndarray:
    """True phases (s) of independent clocks with white FM + random-walk FM, (n, N)."""
    children = spawn(seed_sequence(seed), len(scales))
    cols = [
        power_law(n, rate=RATE, h={0: H0 * s**2, -2: HM2 * s**2}, data_type="phase", seed=c).values
        for s, c in zip(scales, children, strict=True)
    ]
    return np.column_stack(cols)


def tau_c() -> float:
    """Crossover of white FM and random-walk FM: h0 / (2 tau) = (2 pi^2 / 3) h-2 tau."""
    return math.sqrt(3 * H0 / (4 * math.pi**2 * HM2))


@pytest.fixture(scope="module")
def truth():
    return clock_phases(1 << 15, 2026)


@pytest.fixture(scope="module")
def scale(truth):
    return ensemble_time_scale(truth - truth[:, :1], rate=RATE, time_constant=tau_c())


# ------------------------------------------------------------------ kernel = reference
def _gappy_input(seed: int, n: int = 400) -> np.ndarray:
    x = clock_phases(n, seed)
    x[:, 2] += np.where(np.arange(n) > 250, (np.arange(n) - 250) * 2e-11, 0.0)  # freq step
    x[:40, 3] = np.nan  # joins late
    x[300:, 0] = np.nan  # drops out
    x[100:110, 1] = np.nan  # a gap
    x[[50, 51, 52], :] = np.nan  # everything missing
    return x - x[:, 1:2] * 0.5  # an outside reference


@pytest.mark.parametrize(
    ("max_weight", "threshold", "warmup", "reset"),
    [(0.625, 4.0, 10, 3), (0.4, 3.0, 2, math.inf), (0.625, 4.0, 5, 1), (0.9, math.inf, 1, 3)],
)
def test_kernel_matches_the_slow_reference(max_weight, threshold, warmup, reset):
    # (Uncapped, warmup=1 lets a clock reach w = 1 - 2e-7 from a one-sample variance;
    # the own-weight correction e^2 / (1 - w) then amplifies rounding 1e7-fold, so the
    # cases keep w <= 0.9.)
    u = _gappy_input(3)
    tau_f = np.array([20.0, 50.0, 80.0, 30.0])
    tau_e = 5 * tau_f
    args = (u, 2.0, tau_f, tau_e, max_weight, threshold, warmup, reset)
    got = run_kernel(*args)
    ref = at1_reference(*args)
    for name, g, r in zip(
        ("dev", "weight", "freq", "sigma", "outlier", "ens"), got, ref, strict=True
    ):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=name)
        scale = np.nanmax(np.abs(r)) if np.any(np.isfinite(r)) else 1.0
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12 * scale, err_msg=name)
    # the frequency step is flagged when outliers are detected
    assert (got[4].sum() > 0) == (threshold < math.inf)


def test_kernel_in_chunks_equals_one_call():
    u = _gappy_input(4)
    tau_f = np.full(4, 40.0)
    args = (u, 1.0, tau_f, 10 * tau_f, 0.625, 4.0, 10, 3)
    whole = run_kernel(*args)
    parts = run_kernel(*args, chunks=(1, 51, 137, 300))
    for g, r in zip(parts, whole, strict=True):
        np.testing.assert_array_equal(g, r)


# ------------------------------------------------------------------ physics
def test_ensemble_beats_the_best_clock(truth, scale):
    """The ensemble's time error (known to the simulation only) has a lower ADEV than
    the best clock's: at the inverse-variance optimum (0.65) within 0.05 up to 64 s,
    with disjoint 68 % CIs up to 512 s, and a ratio below 1 up to 4096 s, where only
    8 to 60 terms remain and the CIs overlap (over seeds 1-8 the ratio stayed in
    0.64-0.69 up to 64 s, 0.54-0.73 up to 512 s and 0.40-0.85 beyond)."""
    ens = truth[:, 0] - scale.deviation.values[:, 0]
    for j in range(1, 4):  # the same ensemble time through every clock
        np.testing.assert_allclose(truth[:, j] - scale.deviation.values[:, j], ens, atol=1e-20)
    taus = 2.0 ** np.arange(13)
    best = oadev(truth[:, 0], RATE, "phase", taus)
    got = oadev(ens[100:], RATE, "phase", taus)
    ratio = got.dev.values / best.dev.values
    optimal = 1 / math.sqrt(np.sum(1 / SCALES**2))  # 0.65 with inverse-variance weights
    np.testing.assert_allclose(ratio[:7], optimal, atol=0.05)
    assert np.all(got.dev_hi.values[:10] < best.dev_lo.values[:10]), ratio
    assert np.all(ratio < 1.0), ratio


def test_weights_follow_the_noise_levels(scale):
    w = scale.weight.isel(time=slice(2000, None)).mean("time").values
    assert np.all(np.diff(w) < 0), w
    np.testing.assert_allclose(scale.weight.sum("clock").values, 1.0, rtol=1e-12)
    assert scale.weight.values.max() <= 0.625 + 1e-12
    # The weights approach inverse variances (1 / scale^2, normalised): measured 2 %.
    ideal = 1 / SCALES**2 / np.sum(1 / SCALES**2)
    np.testing.assert_allclose(w, ideal, rtol=0.05)


def test_clock_noise_and_ensemble_stability_estimates(truth, scale):
    """sigma estimates tau0 * ADEV(tau0) of white FM, and the cornered-hat ADEV
    estimates agree with the true ADEVs of the clocks and of the ensemble."""
    sigma1 = math.sqrt(H0 / 2)  # ADEV(1 s) of white FM at the base level
    s = scale.sigma.isel(time=slice(5000, None)).mean("time").values
    np.testing.assert_allclose(s, sigma1 * SCALES, rtol=0.05)  # measured within 1 %
    ens = truth[:, 0] - scale.deviation.values[:, 0]
    tau = scale["tau"].values
    true_ens = oadev(ens, RATE, "phase", tau).dev.values
    np.testing.assert_allclose(scale.adev_ensemble.values[:8], true_ens[:8], rtol=0.15)
    for j in range(4):
        true_clock = oadev(truth[:, j], RATE, "phase", tau).dev.values
        np.testing.assert_allclose(scale.adev_clock.values[j, :8], true_clock[:8], rtol=0.15)
    # the per-epoch estimate matches the ensemble's one-step error
    predicted = float(np.nanmean(scale.ensemble_sigma.values[5000:]))
    assert 0.8 < predicted / (true_ens[0] * 1.0) < 1.3


def test_result_does_not_depend_on_the_reference(truth, scale):
    for ref in (1, 3):
        other = ensemble_time_scale(
            truth - truth[:, ref : ref + 1], rate=RATE, time_constant=tau_c()
        )
        for name in ("deviation", "frequency", "sigma", "weight", "ensemble_sigma"):
            a, b = scale[name].values, other[name].values
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9 * np.nanmax(np.abs(a)))


def _ensemble_error(true: np.ndarray, measured: np.ndarray, **kw) -> tuple[np.ndarray, xr.Dataset]:
    """AT1 on ``measured`` (NaN gaps), and its time error against ``true`` phases."""
    out = ensemble_time_scale(
        measured - measured[:, 1:2], rate=RATE, time_constant=tau_c(), taus=None, **kw
    )
    return true[:, 1] - out.deviation.values[:, 1], out


def test_a_frequency_step_is_flagged_without_a_jump(truth, scale):
    """Clock 1 (weight ~0.3) steps in frequency by 2e-11 (17 sigma per epoch): it is
    left out for 3 epochs, its frequency reset, and re-weighted after a new warm-up.
    Ensemble time does not jump and its frequency takes up 0.2 % of the step (a noise
    level, the error of the 3-epoch reset), against 8 % for AT1 without the outlier
    test (and ~30 %, the clock's weight, for a plain weighted mean of the clocks)."""
    n, k = truth.shape[0], truth.shape[0] // 2
    dy = 2e-11
    stepped = truth.copy()
    stepped[k:, 1] += dy * np.arange(n - k) / RATE
    base = truth[:, 1] - scale.deviation.values[:, 1]
    err, out = _ensemble_error(stepped, stepped)
    delta = err - base
    np.testing.assert_allclose(delta[:k], 0.0, atol=1e-18)  # rounding: other reference
    flagged = out.outlier.values[:, 1]
    assert flagged[k + 1 : k + 4].all() and not flagged[k - 100 : k + 1].any()
    after = flagged[k + 4 : k + 2000]
    assert not (after[1:] & after[:-1]).any()  # no further run (a lone false alarm may be)
    w = out.weight.values[:, 1]
    assert np.all(w[k + 1 : k + 14] == 0) and w[k + 14] > 0  # out, reset, warm-up, back
    assert w[k + 2000 :].mean() > 0.8 * scale.weight.values[k + 2000 :, 1].mean()
    sigma = float(np.nanmean(scale.ensemble_sigma.values[5000:]))
    assert np.max(np.abs(np.diff(delta))) < 3 * sigma
    taken_up = (delta[-1] - delta[-5001]) / 5000 / dy
    assert abs(taken_up) < 0.01
    change = out.frequency.values[-1, 1] - scale.frequency.values[-1, 1]
    np.testing.assert_allclose(change, dy, rtol=0.02)
    # without the outlier test the step leaks into ensemble frequency (measured 8 %)
    err_plain, _ = _ensemble_error(stepped, stepped, outlier_threshold=None)
    plain = truth[:, 1] - _ensemble_error(truth, truth, outlier_threshold=None)[1].deviation[:, 1]
    leaked = ((err_plain - plain)[-1] - (err_plain - plain)[-5001]) / 5000 / dy
    assert leaked > 10 * abs(taken_up) and leaked > 0.03


def test_a_phase_step_is_one_outlier(truth, scale):
    """Clock 2 jumps by 100 ps (80 sigma): one outlier epoch, its frequency estimate
    held (not pulled by 1e-10 / (1 + m)), and no step in ensemble time."""
    k = truth.shape[0] // 2
    jumped = truth.copy()
    jumped[k:, 2] += 1e-10
    err, out = _ensemble_error(jumped, jumped)
    delta = err - (truth[:, 1] - scale.deviation.values[:, 1])
    flagged = out.outlier.values[k - 100 : k + 100, 2]
    assert flagged[100] and flagged.sum() == 1
    sigma = float(np.nanmean(scale.ensemble_sigma.values[5000:]))
    assert np.max(np.abs(np.diff(delta))) < 3 * sigma
    shift = out.frequency.values[k : k + 100, 2] - scale.frequency.values[k : k + 100, 2]
    assert np.max(np.abs(shift)) < 1e-13  # vs 1e-10 / 88 = 1.1e-12 if the filter took it


def test_a_clock_leaving_and_one_joining(truth, scale):
    """Clock 0 (the best) leaves at n/2, clock 3 joins at n/4: ensemble time stays
    continuous (no step beyond its own noise), weights renormalise, the newcomer is
    weighted after its warm-up."""
    n = truth.shape[0]
    leave, join = n // 2, n // 4
    measured = truth.copy()
    measured[leave:, 0] = np.nan
    measured[:join, 3] = np.nan
    err, out = _ensemble_error(truth, measured)
    w = out.weight.values
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(w[leave:, 0] == 0) and np.all(np.isnan(out.deviation.values[leave:, 0]))
    # seen at join, frequency at join + 1, 10 error updates from join + 2: weighted
    assert np.all(w[: join + 12, 3] == 0) and w[join + 12, 3] > 0
    assert np.all(np.isnan(out.deviation.values[:join, 3]))
    sigma = float(np.nanmean(out.ensemble_sigma.values[join - 1000 : join]))
    # what the events add to ensemble time, against the run with every clock present:
    # at noise level (measured <= 1.3 sigma over 5 seeds; the ensemble's own step
    # from one epoch to the next is ~1 sigma rms, 5 sigma at the 99.9th percentile)
    added = np.diff(err - (truth[:, 1] - scale.deviation.values[:, 1]))
    for k in (join, leave):
        assert abs(added[k - 1]) < 2 * sigma, (k, added[k - 1] / sigma)
    late = w[leave + 2000 :].mean(axis=0)
    assert late[1] > late[2] > late[3] > 0
    # after the best clock leaves, the ensemble is worse than before but still better
    # than its best remaining clock
    tail = slice(leave + 2000, None)
    ens = oadev(err[tail], RATE, "phase", [1.0, 16.0]).dev.values
    best = oadev(truth[tail, 1], RATE, "phase", [1.0, 16.0]).dev.values
    assert np.all(ens < 0.9 * best)


def test_calls_chained_through_state_equal_one_call(truth, scale):
    """Three calls passing ``state`` on give exactly the one-call result; a DataArray
    chunk that starts 5 epochs after ``next_time`` equals one call with 5 NaN epochs."""
    u = truth - truth[:, :1]
    parts, prev = [], None
    for a, b in ((0, 10_000), (10_000, 10_001), (10_001, u.shape[0])):
        prev = ensemble_time_scale(u[a:b], RATE, time_constant=tau_c(), taus=None, state=prev)
        parts.append(prev)
    for name in ("deviation", "weight", "frequency", "sigma", "outlier", "ensemble_sigma"):
        joined = np.concatenate([p[name].values for p in parts])
        np.testing.assert_array_equal(joined, scale[name].values, err_msg=name)
    np.testing.assert_array_equal(np.concatenate([p.time.values for p in parts]), scale.time)
    np.testing.assert_array_equal(prev.state.values, scale.state.values)
    # a DataArray with a skipped stretch between the chunks
    da = xr.DataArray(u[:3000], dims=("time", "clock"), coords={"time": time_grid(3000, RATE)})
    gapped = da.copy()
    gapped[1000:1005] = np.nan
    one = ensemble_time_scale(gapped, time_constant=tau_c(), taus=None)
    first = ensemble_time_scale(da[:1000], time_constant=tau_c(), taus=None)
    second = ensemble_time_scale(da[1005:], time_constant=tau_c(), taus=None, state=first)
    np.testing.assert_array_equal(second.deviation.values, one.deviation.values[1005:])
    # epoch by epoch, as a real-time time scale runs (rate from state)
    step = ensemble_time_scale(da[1005:1006], time_constant=tau_c(), taus=None, state=first)
    np.testing.assert_array_equal(step.deviation.values, one.deviation.values[1005:1006])
    assert step.time.values[0] == da.time.values[1005]
    with pytest.raises(ValueError, match="next_time"):
        ensemble_time_scale(da[990:], time_constant=tau_c(), state=first)
    with pytest.raises(ValueError, match="state holds clocks"):
        ensemble_time_scale(da[1000:, :3], time_constant=tau_c(), state=first)
    with pytest.raises(ValueError, match=r"state was made at 1\.0 Hz"):
        ensemble_time_scale(u[:100], 2.0, time_constant=tau_c(), state=first)
    for wrong in ("state", first["state"], first.drop_vars("state")):
        with pytest.raises(TypeError, match="state must be the Dataset"):
            ensemble_time_scale(u[:100], RATE, time_constant=tau_c(), state=wrong)


def test_a_saved_result_continues_after_loading(tmp_path):
    """Day one's result written to HDF5 and read back carries the state for day two."""
    x = clock_phases(3000, 11)
    whole = ensemble_time_scale(x, RATE, time_constant=50.0)
    save(ensemble_time_scale(x[:1000], RATE, time_constant=50.0), tmp_path / "day1.h5")
    day2 = ensemble_time_scale(
        x[1000:], RATE, time_constant=50.0, taus=None, state=load(tmp_path / "day1.h5")
    )
    np.testing.assert_array_equal(day2.deviation.values, whole.deviation.values[1000:])


# ------------------------------------------------------------------ real clocks
GRG = (
    Path(__file__).resolve().parents[1]
    / "datasets/clocks/igs_rinex_clock/GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz"
)
#: Satellites by group, with the group's sigma_y(30 s) range from the dataset's
#: PROVENANCE.md (allantools OADEV of each clock against the reference BRUX).
GROUPS = {
    "Galileo": (["E01", "E02", "E03", "E04"], (1.8e-13, 2.4e-13)),
    "GPS low-noise": (["G01", "G03"], (2.5e-13, 3.8e-13)),
    "GPS higher-noise": (["G05", "G07"], (2.0e-12, 3.7e-12)),
    "GPS Cs-like": (["G08"], (3.0e-12, 4.2e-12)),
    "GLONASS": (["R01", "R02"], (1.4e-12, 4.7e-12)),
}


def test_real_gnss_satellite_clocks():
    """11 satellite clocks of an IGS final clock product (30 s, one day), each against
    the analysis centre's station BRUX (an outside reference): the weights go to the
    Galileo masers and the low-noise GPS Rb clocks, each clock's estimated ADEV(30 s)
    falls in its group's published range, the ensemble beats the best clock, and the
    result is the same with one of the satellites as the reference."""
    names = [c for group, _ in GROUPS.values() for c in group]
    bias = read_rinex_clock(GRG).bias.sel(clock=names).transpose("time", "clock")
    out = ensemble_time_scale(bias, time_constant=3000.0, taus=[30.0, 240.0])
    w = out.weight.isel(time=slice(500, None)).mean("time").to_series()
    good = w[GROUPS["Galileo"][0] + GROUPS["GPS low-noise"][0]]
    poor = w.drop(good.index)
    assert good.min() > 0.1 and poor.max() < 0.01, w.round(3).to_dict()
    adev30 = out.adev_clock.sel(tau=30.0).to_series()
    for group, (clocks, (lo, hi)) in GROUPS.items():
        assert np.all((adev30[clocks] > 0.85 * lo) & (adev30[clocks] < 1.15 * hi)), group
    assert float(out.adev_ensemble.sel(tau=30.0)) < 0.6 * adev30.min()
    other = ensemble_time_scale(bias - bias.sel(clock="E03"), time_constant=3000.0, taus=None)
    np.testing.assert_allclose(
        other.deviation.values, out.deviation.values, rtol=1e-9, atol=1e-9 * 1e-6
    )


# ------------------------------------------------------------------ bad input
BAD = [
    ({"data": np.zeros((100, 1))}, ValueError, "at least 2 clocks"),
    ({"data": {"a": np.ones(50)}}, ValueError, "at least 2 clocks"),
    ({"data": np.zeros(100)}, TypeError, "data must be a 2-D"),
    ({"data": "clocks"}, TypeError, "data must be"),
    ({"data": None}, TypeError, "data must be"),
    ({"data": {"a": np.zeros(50), "b": np.zeros(49)}}, ValueError, "same length"),
    ({"data": {"a": np.zeros(50), "b": np.full(50, np.nan)}}, ValueError, r"data\['b'\]"),
    ({"data": {"a": np.zeros(50), "b": np.r_[np.inf, np.zeros(49)]}}, ValueError, "infinite"),
    ({"data": np.zeros((2, 3))}, ValueError, "at least 3 samples"),
    ({"time_constant": 0.0}, ValueError, "time_constant"),
    ({"time_constant": -5.0}, ValueError, "time_constant"),
    ({"time_constant": np.nan}, ValueError, "time_constant"),
    ({"time_constant": "10"}, TypeError, "time_constant"),
    ({"time_constant": [10.0, 10.0]}, ValueError, "time_constant"),
    ({"time_constant": [10.0, 10.0, -1.0, 10.0]}, ValueError, r"time_constant\[2\]"),
    ({"time_constant": {"0": 1.0, "1": 1.0}}, ValueError, "one value per clock"),
    ({"time_constant": dict.fromkeys("0123", 1.0) | {"3": 0.0}}, ValueError, r"\['3'\]"),
    ({"error_time_constant": 0.0}, ValueError, "error_time_constant"),
    ({"max_weight": 0.1}, ValueError, "max_weight"),
    ({"max_weight": 1.5}, ValueError, "max_weight"),
    ({"max_weight": True}, TypeError, "max_weight"),
    ({"outlier_threshold": -1.0}, ValueError, "outlier_threshold"),
    ({"warmup_samples": 0}, ValueError, "warmup_samples"),
    ({"warmup_samples": 2.5}, TypeError, "warmup_samples"),
    ({"rate": -1.0}, ValueError, "rate"),
    ({"rate": None}, ValueError, "rate"),
]


@pytest.mark.parametrize(("change", "error", "match"), BAD)
def test_bad_input_is_refused_by_name(change, error, match):
    x = np.cumsum(np.random.default_rng(5).normal(size=(100, 4)), axis=0) * 1e-12
    kw = {"data": x, "rate": 1.0, "time_constant": 10.0, "taus": None, **change}
    with pytest.raises(error, match=match):
        ensemble_time_scale(kw.pop("data"), **kw)


def test_dataarray_and_dataset_inputs_agree_and_grids_are_checked():
    x = clock_phases(512, 8)
    t = time_grid(512, 2.0)
    da = xr.DataArray(x, dims=("time", "clock"), coords={"time": t, "clock": list("ABCD")})
    a = ensemble_time_scale(da, time_constant=50.0)
    b = ensemble_time_scale(da.to_dataset("clock"), time_constant=50.0)
    c = ensemble_time_scale(da.transpose("clock", "time"), time_constant=50.0)
    d = ensemble_time_scale(x, 2.0, time_constant=50.0)
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a, c)
    np.testing.assert_array_equal(a.deviation.values, d.deviation.values)
    assert list(a.clock.values) == list("ABCD") and a.attrs["sample_rate"] == 2.0
    by_name = ensemble_time_scale(da, time_constant={"D": 80.0, "A": 20.0, "B": 50, "C": 50})
    in_order = ensemble_time_scale(da, time_constant=[20.0, 50.0, 50.0, 80.0])
    xr.testing.assert_identical(by_name, in_order)
    assert (a.time.values == t).all()
    shifted = da.sel(clock="B").assign_coords(time=t + np.timedelta64(1, "s"))
    with pytest.raises(ValueError, match="must start at the same time"):
        ensemble_time_scale({"A": da.sel(clock="A"), "B": shifted}, time_constant=50.0)
    with pytest.raises(ValueError, match="distinct clock names"):
        ensemble_time_scale(da.assign_coords(clock=list("AABC")), time_constant=50.0)
    with pytest.raises(ValueError, match="dimensions"):
        ensemble_time_scale(da.rename(clock="station"), time_constant=50.0)
    two = ensemble_time_scale(x[:, :2], 2.0, time_constant=50.0)
    assert "adev_deviation" in two and "adev_ensemble" not in two  # 2 clocks: singular


# ------------------------------------------------------------------ bad input (hypothesis)
import bad_records as bad  # noqa: E402
import hypothesis.strategies as st  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402


def _as_clock_set(record, form: str, seed: int):
    """The bad record as one clock of an ensemble input of the given form."""
    partner = bad.like(record, 64, seed)
    if form == "dict":
        return {"a": partner, "b": record}
    if form == "dataset":
        try:
            return xr.Dataset({"a": partner, "b": record})
        except (ValueError, TypeError):  # xarray refuses to build it: pass it alone
            return record
    if form == "stacked":  # a 2-D array, or a 2-D DataArray if the record is one
        try:
            if isinstance(record, xr.DataArray):
                return xr.concat([partner, record], dim="clock").transpose("time", "clock")
            return np.column_stack([np.asarray(partner), np.asarray(record)])
        except (ValueError, TypeError):
            return record
    return record  # alone: not an ensemble


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=bad.kinds,
    form=st.sampled_from(["dict", "dataset", "stacked", "alone"]),
    n=st.integers(4, 120),
    seed=st.integers(0, 2**16),
    rate=bad.rates,
)
def test_bad_records_are_refused_by_name(kind, form, n, seed, rate):
    data = _as_clock_set(bad.record(kind, n, seed), form, seed)
    bad.check(
        f"ensemble_time_scale:{kind}/{form}/{rate!r}",
        lambda: ensemble_time_scale(data, rate, time_constant=10.0),
        ("data", "rate", "time"),
        __file__,
    )


PARAMS = st.sampled_from(
    [
        {"time_constant": v}
        for v in (0.0, -1.0, np.nan, np.inf, "10", None, True, [1.0], [1.0, np.nan], {})
    ]
    + [{"error_time_constant": v} for v in (0.0, np.inf, "1", [1.0, 2.0, 3.0])]
    + [{"max_weight": v} for v in (0.0, 0.4, 1.01, np.nan, "0.5", True)]
    + [{"outlier_threshold": v} for v in (0.0, -3.0, np.inf, "4", True)]
    + [{"warmup_samples": v} for v in (0, -1, 1.5, "10", None)]
    + [{"taus": v} for v in ("weekly", [-1.0], [1e9], "all", [1.0, 2.0])]
    + [{"state": v} for v in ("x", 1.0, xr.Dataset(), xr.Dataset({"state": 1.0}))]
)


@settings(max_examples=60, deadline=None)
@given(change=PARAMS)
def test_bad_parameters_are_refused_by_name(change):
    x = bad.values(256, 1)[:, None] * [1e-12, 2e-12] + [0.0, 1e-9]
    kw = {"time_constant": 10.0, **change}
    bad.check(
        f"ensemble_time_scale:{change!r}",
        lambda: ensemble_time_scale(x, 1.0, **kw),
        (*change, "taus"),
        __file__,
    )


def test_a_record_shorter_than_the_warmup_warns():
    x = clock_phases(12, 1)
    with pytest.warns(UserWarning, match="warm-up"):
        out = ensemble_time_scale(x, 1.0, time_constant=10.0, taus=None)
    np.testing.assert_allclose(out.weight.values[1:], 1 / 4)
    assert np.isnan(out.ensemble_sigma.values).all()
    # 13 epochs: weighted at the last one (3 epochs to the first error, 10 updates)
    assert np.isfinite(
        ensemble_time_scale(
            clock_phases(13, 1), 1.0, time_constant=10.0, taus=None
        ).ensemble_sigma.values[-1]
    )
