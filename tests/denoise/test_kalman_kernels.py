"""Every Kalman/RTS kernel against a slow textbook reference, against each other and filterpy.

The reference is the matrix form of the textbook equations, one numpy call per line:
predict ``x = F x``, ``P = F P F' + Q``; update on the finite components ``k`` of
``y[t]``: ``S = H_k P H_k' + R_kk``, ``K = P H_k' S^-1``, ``x += K e``, Joseph form
``P = (I - K H_k) P (I - K H_k)' + K R_kk K'``; log-likelihood
``-1/2 (k log 2 pi + log det S + e' S^-1 e)``; RTS smoother
``C = Pf[t] F' Pp[t+1]^-1``, ``xs[t] = xf[t] + C (xs[t+1] - xp[t+1])``,
``Ps[t] = Pf[t] + C (Ps[t+1] - Pp[t+1]) C'``.

Agreement is measured per component against the largest magnitude of that component
over the record (states and covariance entries live on very different scales, e.g.
phase in s and fractional frequency), with ``RTOL = 1e-12``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.denoise import (
    StateSpace,
    _kernels,
    _kernels_small,
    _kernels_small_rts,
    clock_model,
    local_level,
)

filterpy_kalman = pytest.importorskip("filterpy.kalman")

RTOL = 1e-12


def _at(stack: np.ndarray, t: int) -> np.ndarray:
    return stack[t if stack.shape[0] > 1 else 0]


def reference_filter(F, H, Q, R, x0, P0, y):
    """Textbook Kalman filter (stacks with a leading time axis of 1 or T); NaN skipped."""
    T, m = y.shape
    n = x0.size
    x, P = x0.copy(), P0.copy()
    xf, xp = np.empty((T, n)), np.empty((T, n))
    Pf, Pp = np.empty((T, n, n)), np.empty((T, n, n))
    innov = np.full((T, m), np.nan)
    ll = 0.0
    for t in range(T):
        if t > 0:
            x = _at(F, t) @ x
            P = _at(F, t) @ P @ _at(F, t).T + _at(Q, t)
        xp[t], Pp[t] = x, P
        ok = ~np.isnan(y[t])
        if ok.any():
            Hk, Rk = _at(H, t)[ok], _at(R, t)[np.ix_(ok, ok)]
            e = y[t, ok] - Hk @ x
            S = Hk @ P @ Hk.T + Rk
            K = P @ Hk.T @ np.linalg.inv(S)
            x = x + K @ e
            A = np.eye(n) - K @ Hk
            P = A @ P @ A.T + K @ Rk @ K.T
            innov[t, ok] = e
            ll -= 0.5 * (ok.sum() * np.log(2 * np.pi) + np.linalg.slogdet(S)[1])
            ll -= 0.5 * e @ np.linalg.solve(S, e)
        xf[t], Pf[t] = x, P
    return xf, Pf, xp, Pp, innov, ll


def reference_smoother(F, xf, Pf, xp, Pp):
    """Textbook RTS smoother."""
    T = xf.shape[0]
    xs, Ps = xf.copy(), Pf.copy()
    for t in range(T - 2, -1, -1):
        C = Pf[t] @ _at(F, t + 1).T @ np.linalg.inv(Pp[t + 1])
        xs[t] = xf[t] + C @ (xs[t + 1] - xp[t + 1])
        Ps[t] = Pf[t] + C @ (Ps[t + 1] - Pp[t + 1]) @ C.T
    return xs, Ps


def assert_scaled(actual, desired, rtol=RTOL, what=""):
    """|actual - desired| <= rtol * max over time of |desired|, per component."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(desired), err_msg=what)
    if desired.size == 0 or np.all(np.isnan(desired)):
        return
    scale = np.nan_to_num(np.fmax.reduce(np.abs(desired), axis=0))  # NaN-ignoring max
    err = np.nan_to_num(np.fmax.reduce(np.abs(actual - desired), axis=0))
    worst = np.max(np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), err))
    assert worst <= rtol, f"{what}: scaled error {worst:.2e} > {rtol:.0e}"


def random_model(rng, n, m, T, tv):
    """Well-conditioned random model; stacks of length T where tv[name], else of length 1."""

    def spd(k):
        a = rng.normal(size=(k, k))
        return a @ a.T / k + 0.5 * np.eye(k)

    def stack(make, key):
        return np.stack([make() for _ in range(T if tv[key] else 1)])

    def stable():  # spectral radius <= 0.98: a well-conditioned (detectable) filter
        f = np.eye(n) + 0.2 * rng.normal(size=(n, n)) / n
        return f * min(1.0, 0.98 / np.max(np.abs(np.linalg.eigvals(f))))

    F = stack(stable, "F")
    H = stack(lambda: rng.normal(size=(m, n)), "H")
    Q = stack(lambda: 0.1 * spd(n), "Q")
    R = stack(lambda: spd(m), "R")
    return F, H, Q, R, rng.normal(size=n), 2.0 * spd(n)


def run_kernel(kern, F, H, Q, R, x0, P0, y, keep_pred=True):
    T, m = y.shape
    n = x0.size
    Tp = T if keep_pred else 1
    xf, Pf = np.empty((T, n)), np.empty((T, n, n))
    xp, Pp = np.empty((Tp, n)), np.empty((Tp, n, n))
    innov = np.empty((T, m))
    ll, bad = kern(y, F, H, Q, R, x0, P0, xf, Pf, xp, Pp, innov)
    assert bad == -1
    return xf, Pf, xp, Pp, innov, ll


def filters_for(n, m):
    out = [("generic", _kernels.kalman_filter)]
    if m == 1 and n in _kernels_small.FILTERS:
        out.append((f"unrolled n={n}", _kernels_small.FILTERS[n]))
    return out


def smooth_generic(F, Q, xf, Pf, xp, Pp):
    xs, Ps = np.empty_like(xf), np.empty_like(Pf)
    assert _kernels.rts_smoother(F, xf, Pf, xp, Pp, xs, Ps) == -1
    return xs, Ps


def smooth_unrolled(F, Q, xf, Pf, xp, Pp):
    """Unrolled smoother into new arrays, and in place on copies: identical results."""
    kern = _kernels_small_rts.SMOOTHERS[xf.shape[1]]
    xs, Ps = np.empty_like(xf), np.empty_like(Pf)
    assert kern(F, Q, xf, Pf, xs, Ps) == -1
    xi, Pi = xf.copy(), Pf.copy()
    assert kern(F, Q, xi, Pi, xi, Pi) == -1
    np.testing.assert_array_equal(xi, xs)
    np.testing.assert_array_equal(Pi, Ps)
    return xs, Ps


def smoothers_for(n):
    out = [("generic", smooth_generic)]
    if n in _kernels_small_rts.SMOOTHERS:
        out.append((f"unrolled n={n}", smooth_unrolled))
    return out


SHAPES = [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (1, 3)]
TV_CASES = {
    "constant": dict.fromkeys("FHQR", False),
    "time-varying": dict.fromkeys("FHQR", True),
    "F and R varying": {"F": True, "H": False, "Q": False, "R": True},
}


@pytest.mark.parametrize("n, m", SHAPES)
@pytest.mark.parametrize("tv_name", list(TV_CASES))
@pytest.mark.parametrize("with_nan", [False, True])
def test_filter_and_smoother_kernels_equal_textbook(n, m, tv_name, with_nan):
    rng = np.random.default_rng(100 * n + 10 * m + len(tv_name) + with_nan)
    T = 120
    F, H, Q, R, x0, P0 = random_model(rng, n, m, T, TV_CASES[tv_name])
    y = rng.normal(size=(T, m)) * 3.0
    if with_nan:
        y[[0, 7, 8, 50, T - 1]] = np.nan  # whole steps, including the first and last
        if m > 1:
            y[[20, 33], 0] = np.nan  # single components
    ref = reference_filter(F, H, Q, R, x0, P0, y)
    ref_s = reference_smoother(F, *ref[:4])
    names = ("xf", "Pf", "xp", "Pp", "innov")
    for label, kern in filters_for(n, m):
        got = run_kernel(kern, F, H, Q, R, x0, P0, y)
        for name, a, b in zip(names, got[:5], ref[:5], strict=True):
            assert_scaled(a, b, what=f"{label} {name}")
        assert got[5] == pytest.approx(ref[5], rel=RTOL, abs=0.0), label
        # without the predicted moments stored: the same filtered moments
        again = run_kernel(kern, F, H, Q, R, x0, P0, y, keep_pred=False)
        np.testing.assert_array_equal(again[0], got[0])
        np.testing.assert_array_equal(again[1], got[1])
    for label, smoother in smoothers_for(n):
        xs, Ps = smoother(F, Q, *ref[:4])
        assert_scaled(xs, ref_s[0], what=f"{label} smoothed x")
        assert_scaled(Ps, ref_s[1], what=f"{label} smoothed P")


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    T=st.integers(1, 40),
    tv=st.fixed_dictionaries({k: st.booleans() for k in "FHQR"}),
    nan_fraction=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_unrolled_kernels_equal_textbook_property(n, seed, T, tv, nan_fraction):
    rng = np.random.default_rng(seed)
    F, H, Q, R, x0, P0 = random_model(rng, n, 1, T, tv)
    y = rng.normal(size=(T, 1))
    y[rng.random(T) < nan_fraction] = np.nan
    ref = reference_filter(F, H, Q, R, x0, P0, y)
    got = run_kernel(_kernels_small.FILTERS[n], F, H, Q, R, x0, P0, y)
    for a, b in zip(got[:5], ref[:5], strict=True):
        assert_scaled(a, b)
    assert got[5] == pytest.approx(ref[5], rel=RTOL, abs=1e-300)
    xs, Ps = smooth_unrolled(F, Q, *ref[:4])
    ref_s = reference_smoother(F, *ref[:4])
    assert_scaled(xs, ref_s[0])
    assert_scaled(Ps, ref_s[1])


def test_clock_model_at_clock_scale_equals_textbook():
    """The benchmark's model (phase ~1e-9 s, frequency ~1e-13): unrolled n=2 path."""
    model = clock_model(1e-22, 1e-26, 1.0, r=1e-22, P0=np.diag([1e-18, 1e-22]))
    sim = model.simulate(2000, seed=11)
    y = sim["y"].values.copy()
    y[[3, 400, 401, 1999]] = np.nan
    out = model.filter(y)
    ref = reference_filter(model.F, model.H, model.Q, model.R, model.x0, model.P0, y)
    assert_scaled(out["x"].values, ref[0], what="x")
    assert_scaled(out["P"].values, ref[1], what="P")
    assert_scaled(out["innovation"].values, ref[4], what="innovation")
    assert out.attrs["loglik"] == pytest.approx(ref[5], rel=RTOL)
    sm = model.smooth(y)
    ref_s = reference_smoother(model.F, *ref[:4])
    assert_scaled(sm["x"].values, ref_s[0], what="smoothed x")
    assert_scaled(sm["P"].values, ref_s[1], what="smoothed P")


def _filterpy(F, H, Q, R, x0, P0, y):
    """filterpy with the x0-at-first-sample convention (no predict before step 0)."""
    T, m = y.shape
    n = x0.size
    kf = filterpy_kalman.KalmanFilter(dim_x=n, dim_z=m)
    kf.x = x0.reshape(n, 1).copy()
    kf.P = P0.copy()
    xs, Ps, ll = [], [], 0.0
    for t in range(T):
        if t > 0:
            kf.predict(F=_at(F, t), Q=_at(Q, t))
        if not np.isnan(y[t]).any():
            kf.update(y[t].reshape(m, 1), R=_at(R, t), H=_at(H, t))
            ll += kf.log_likelihood
        xs.append(kf.x.ravel().copy())
        Ps.append(kf.P.copy())
    return np.array(xs), np.array(Ps), ll


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("tv", [False, True])
def test_unrolled_kernels_equal_filterpy(n, tv):
    rng = np.random.default_rng(20 + n + 5 * tv)
    T = 150
    F, H, Q, R, x0, P0 = random_model(rng, n, 1, T, dict.fromkeys("FHQR", tv))
    y = rng.normal(size=(T, 1)) * 2.0
    y[[4, 5, 90]] = np.nan
    got = run_kernel(_kernels_small.FILTERS[n], F, H, Q, R, x0, P0, y)
    xs, Ps, ll = _filterpy(F, H, Q, R, x0, P0, y)
    assert_scaled(got[0], xs, rtol=RTOL, what="x vs filterpy")
    assert_scaled(got[1], Ps, rtol=RTOL, what="P vs filterpy")
    assert got[5] == pytest.approx(ll, rel=RTOL)


def test_public_filter_uses_the_unrolled_kernel_and_matches_generic():
    """StateSpace.filter/smooth on the n <= 3, m = 1 path equal the generic kernels."""
    rng = np.random.default_rng(30)
    F, H, Q, R, x0, P0 = random_model(rng, 3, 1, 50, dict.fromkeys("FHQR", True))
    y = rng.normal(size=50)
    y[10] = np.nan
    model = StateSpace(F, H, Q, R, x0, P0)
    out = model.filter(y)
    gen = run_kernel(_kernels.kalman_filter, F, H, Q, R, x0, P0, y[:, None])
    assert_scaled(out["x"].values, gen[0])
    assert_scaled(out["P"].values, gen[1])
    assert out.attrs["loglik"] == pytest.approx(gen[5], rel=RTOL)
    sm = model.smooth(y)
    xs, Ps = np.empty_like(gen[0]), np.empty_like(gen[1])
    _kernels.rts_smoother(F, *gen[:4], xs, Ps)
    assert_scaled(sm["x"].values, xs)
    assert_scaled(sm["P"].values, Ps)


def test_unrolled_kernels_report_non_positive_definite():
    for n in (1, 2, 3):
        F, H = np.eye(n)[None], np.eye(n)[:1][None]
        zero = np.zeros((1, n, n))
        y = np.ones((4, 1))
        xf, Pf = np.empty((4, n)), np.empty((4, n, n))
        ll, bad = _kernels_small.FILTERS[n](
            y, F, H, zero, np.zeros((1, 1, 1)), np.zeros(n), np.zeros((n, n)),
            xf, Pf, np.empty((1, n)), np.empty((1, n, n)), np.empty((4, 1)),
        )  # fmt: skip
        assert bad == 0 and np.isnan(ll)
        xs, Ps = np.empty((4, n)), np.empty((4, n, n))
        Pf = np.zeros((4, n, n))  # predicted F Pf F' + Q = 0 with Q = 0
        assert _kernels_small_rts.SMOOTHERS[n](F, zero, xf, Pf, xs, Ps) == 3
        assert _kernels.rts_smoother(F, xf, Pf, xf, Pf, xs, Ps) == 3
    with pytest.raises(ValueError, match="singular"):
        local_level(0.0, 1.0, P0=[[0.0]]).smooth(np.ones(3))


def test_small_kernels_are_generated():
    """qsense/denoise/_kernels_small*.py are exactly what the generator writes."""
    path = Path(__file__).with_name("gen_kalman_small.py")
    spec = importlib.util.spec_from_file_location("gen_kalman_small", path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert Path(_kernels_small.__file__).read_text() == gen.source("filter")
    assert Path(_kernels_small_rts.__file__).read_text() == gen.source("smoother")
