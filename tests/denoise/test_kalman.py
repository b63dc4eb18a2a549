"""Kalman filter / RTS smoother / ML fit of qsense.denoise against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.denoise import StateSpace, clock_model, fit, local_level, local_linear_trend
from qsense.sensors.classical import clock_process_noise
from qsense.signal import make_series

filterpy_kalman = pytest.importorskip("filterpy.kalman")


def _random_model(rng, n=3, m=2, T=None):
    """A well-conditioned random model; matrices with a time axis if T is given."""

    def spd(k):
        a = rng.normal(size=(k, k))
        return a @ a.T + k * np.eye(k)

    if T is None:
        F = np.eye(n) + 0.1 * rng.normal(size=(n, n))
        return F, rng.normal(size=(m, n)), 0.1 * spd(n), spd(m)
    F = np.stack([np.eye(n) + 0.1 * rng.normal(size=(n, n)) for _ in range(T)])
    H = rng.normal(size=(T, m, n))
    Q = np.stack([0.1 * spd(n) for _ in range(T)])
    R = np.stack([spd(m) for _ in range(T)])
    return F, H, Q, R


def _filterpy_run(F, H, Q, R, x0, P0, y):
    """filterpy oracle with the x0-at-first-sample convention: no predict before step 0."""
    T, m = y.shape
    n = x0.size
    kf = filterpy_kalman.KalmanFilter(dim_x=n, dim_z=m)
    kf.x = x0.reshape(n, 1).copy()
    kf.P = P0.copy()
    tv = F.ndim == 3
    xs, Ps, ll = [], [], 0.0
    for t in range(T):
        if t > 0:
            kf.predict(F=F[t] if tv else F, Q=Q[t] if tv else Q)
        if np.all(np.isfinite(y[t])):
            kf.update(y[t].reshape(m, 1), R=R[t] if tv else R, H=H[t] if tv else H)
            ll += kf.log_likelihood  # filterpy: log N(y; H x_pred, S) of this update only
        xs.append(kf.x.ravel().copy())
        Ps.append(kf.P.copy())
    return np.array(xs), np.array(Ps), ll


def _textbook_filter(F, H, Q, R, x0, P0, y):
    """Slow numpy filter (standard-form update) that drops NaN components row by row."""
    x, P = x0.copy(), P0.copy()
    xs, Ps, ll = [], [], 0.0
    for t in range(y.shape[0]):
        if t > 0:
            x = F @ x
            P = F @ P @ F.T + Q
        ok = np.isfinite(y[t])
        if ok.any():
            Hk, Rk = H[ok], R[np.ix_(ok, ok)]
            S = Hk @ P @ Hk.T + Rk
            e = y[t, ok] - Hk @ x
            K = P @ Hk.T @ np.linalg.inv(S)
            x = x + K @ e
            P = (np.eye(x.size) - K @ Hk) @ P
            _, logdet = np.linalg.slogdet(S)
            ll += -0.5 * (ok.sum() * np.log(2 * np.pi) + logdet + e @ np.linalg.solve(S, e))
        xs.append(x)
        Ps.append(P)
    return np.array(xs), np.array(Ps), ll


def _gls_smoother(F, H, Q, R, x0, P0, y):
    """Batch GLS on the stacked state: posterior mean and per-step covariances."""
    T, n = y.shape[0], x0.size
    J = np.zeros((T * n, T * n))
    h = np.zeros(T * n)
    P0i, Qi = np.linalg.inv(P0), np.linalg.inv(Q)
    J[:n, :n] += P0i
    h[:n] += P0i @ x0
    for t in range(1, T):
        D = np.zeros((n, T * n))  # x[t] - F x[t-1]
        D[:, (t - 1) * n : t * n] = -F
        D[:, t * n : (t + 1) * n] = np.eye(n)
        J += D.T @ Qi @ D
    for t in range(T):
        ok = np.isfinite(y[t])
        if ok.any():
            Hk = H[ok]
            Rki = np.linalg.inv(R[np.ix_(ok, ok)])
            J[t * n : (t + 1) * n, t * n : (t + 1) * n] += Hk.T @ Rki @ Hk
            h[t * n : (t + 1) * n] += Hk.T @ Rki @ y[t, ok]
    cov = np.linalg.inv(J)
    mean = cov @ h
    Ps = np.array([cov[t * n : (t + 1) * n, t * n : (t + 1) * n] for t in range(T)])
    return mean.reshape(T, n), Ps


def _simulate(F, H, Q, R, x0, P0, T, rng):
    n = x0.size
    x = rng.multivariate_normal(x0, P0)
    ys = []
    for t in range(T):
        if t > 0:
            x = F @ x + rng.multivariate_normal(np.zeros(n), Q)
        ys.append(H @ x + rng.multivariate_normal(np.zeros(H.shape[0]), R))
    return np.array(ys)


def test_filter_equals_filterpy_time_invariant():
    rng = np.random.default_rng(1)
    F, H, Q, R = _random_model(rng)
    x0, P0 = rng.normal(size=3), 2.0 * np.eye(3)
    y = _simulate(F, H, Q, R, x0, P0, 200, rng)
    y[[5, 17, 18, 100]] = np.nan  # whole steps missing: prediction only
    out = StateSpace(F, H, Q, R, x0, P0).filter(y)
    xs, Ps, ll = _filterpy_run(F, H, Q, R, x0, P0, y)
    np.testing.assert_allclose(out["x"].values, xs, rtol=1e-10, atol=1e-10 * np.abs(xs).max())
    np.testing.assert_allclose(out["P"].values, Ps, rtol=1e-10, atol=1e-12)
    assert out.attrs["loglik"] == pytest.approx(ll, rel=1e-10)
    assert out.attrs["n_used"] == 2 * (200 - 4)


def test_filter_equals_filterpy_time_varying():
    rng = np.random.default_rng(2)
    T = 60
    F, H, Q, R = _random_model(rng, n=2, m=2, T=T)
    x0, P0 = np.zeros(2), np.eye(2)
    y = rng.normal(size=(T, 2))
    out = StateSpace(F, H, Q, R, x0, P0).filter(y)
    xs, Ps, ll = _filterpy_run(F, H, Q, R, x0, P0, y)
    np.testing.assert_allclose(out["x"].values, xs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["P"].values, Ps, rtol=1e-10, atol=1e-12)
    assert out.attrs["loglik"] == pytest.approx(ll, rel=1e-10)


def test_clock_filter_equals_filterpy_at_clock_scale():
    """2-state clock at realistic scales (phase ~1e-9 s): same states and likelihood."""
    rng = np.random.default_rng(3)
    model = clock_model(1e-22, 1e-26, 1.0, r=1e-22, P0=np.diag([1e-18, 1e-22]))
    y = _simulate(model.F[0], model.H[0], model.Q[0], model.R[0], model.x0, model.P0, 300, rng)
    out = model.filter(y[:, 0])
    xs, Ps, ll = _filterpy_run(
        model.F[0], model.H[0], model.Q[0], model.R[0], model.x0, model.P0, y
    )
    xscale, pscale = np.abs(xs).max(0), np.abs(Ps).max(0)  # per state: phase s, freq 1
    np.testing.assert_allclose(out["x"].values / xscale, xs / xscale, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["P"].values / pscale, Ps / pscale, rtol=1e-10, atol=1e-10)
    assert out.attrs["loglik"] == pytest.approx(ll, rel=1e-10)


def test_partial_nan_components_match_textbook_subset_update():
    rng = np.random.default_rng(4)
    F, H, Q, R = _random_model(rng, n=3, m=3)
    x0, P0 = np.zeros(3), np.eye(3)
    y = _simulate(F, H, Q, R, x0, P0, 80, rng)
    y[3, 1] = np.nan
    y[10, [0, 2]] = np.nan
    y[11] = np.nan
    out = StateSpace(F, H, Q, R, x0, P0).filter(y)
    xs, Ps, ll = _textbook_filter(F, H, Q, R, x0, P0, y)
    np.testing.assert_allclose(out["x"].values, xs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["P"].values, Ps, rtol=1e-9, atol=1e-12)
    assert out.attrs["loglik"] == pytest.approx(ll, rel=1e-10)
    innov = out["innovation"].values
    assert (
        np.isnan(innov[3, 1]) and np.isfinite(innov[3, [0, 2]]).all() and np.isnan(innov[11]).all()
    )


def test_nan_step_equals_filter_without_update():
    """A NaN measurement gives exactly the run that skips that update."""
    rng = np.random.default_rng(5)
    model = local_linear_trend(0.01, 0.001, 1.0, x0=[0.0, 0.0], P0=np.eye(2))
    y = np.cumsum(rng.normal(size=50))
    y_gap = y.copy()
    y_gap[20] = np.nan
    out = model.filter(y_gap)
    # Reference: the same filter split around the gap, predict-only through step 20.
    first = model.filter(y[:20])
    F = model.F[0]
    x20 = F @ first["x"].values[-1]
    P20 = F @ first["P"].values[-1] @ F.T + model.Q[0]
    x21 = F @ x20
    P21 = F @ P20 @ F.T + model.Q[0]
    rest = local_linear_trend(0.01, 0.001, 1.0, x0=x21, P0=P21).filter(y[21:])
    np.testing.assert_allclose(out["x"].values[20], x20, rtol=1e-13)
    np.testing.assert_allclose(out["x"].values[21:], rest["x"].values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["P"].values[21:], rest["P"].values, rtol=1e-12)
    assert out.attrs["loglik"] == pytest.approx(
        first.attrs["loglik"] + rest.attrs["loglik"], rel=1e-12
    )


def test_rts_smoother_equals_batch_gls():
    rng = np.random.default_rng(6)
    F, H, Q, R = _random_model(rng, n=3, m=2)
    x0, P0 = rng.normal(size=3), 3.0 * np.eye(3)
    y = _simulate(F, H, Q, R, x0, P0, 30, rng)
    y[7] = np.nan
    y[12, 0] = np.nan
    out = StateSpace(F, H, Q, R, x0, P0).smooth(y)
    mean, Ps = _gls_smoother(F, H, Q, R, x0, P0, y)
    np.testing.assert_allclose(out["x"].values, mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out["P"].values, Ps, rtol=1e-9, atol=1e-11)
    filt = StateSpace(F, H, Q, R, x0, P0).filter(y)
    np.testing.assert_allclose(out["x"].values[-1], filt["x"].values[-1], rtol=1e-14)
    assert out.attrs["loglik"] == filt.attrs["loglik"]


def test_dataarray_time_coordinate_kept():
    y = make_series(np.arange(10.0), rate=2.0, units="m")
    out = local_level(0.1, 1.0).smooth(y)
    assert (out["time"].values == y["time"].values).all()
    assert list(out["state"].values) == ["level"]
    numpy_out = local_level(0.1, 1.0).filter(np.arange(10.0), rate=2.0)
    assert (numpy_out["time"].values == y["time"].values).all()
    xr.testing.assert_allclose(numpy_out["x"], local_level(0.1, 1.0).filter(y)["x"])
    two = xr.DataArray(np.ones((10, 2)), dims=("time", "obs"), coords={"time": y["time"]})
    model2 = StateSpace([[1.0]], [[1.0], [2.0]], [[0.1]], np.eye(2))
    assert (model2.smooth(two)["time"].values == y["time"].values).all()
    with pytest.raises(ValueError, match="dims"):
        model2.filter(two.transpose())


def test_clock_q_relations():
    q = clock_process_noise(3.0, 0.5, 2.0, q3=0.7, drift=True)
    q1, q2, q3, tau = 1.5, 2 * np.pi**2 * 0.5, 0.7, 2.0
    assert q[0, 0] == pytest.approx(q1 * tau + q2 * tau**3 / 3 + q3 * tau**5 / 20)
    assert q[0, 1] == pytest.approx(q2 * tau**2 / 2 + q3 * tau**4 / 8)
    assert q[0, 2] == pytest.approx(q3 * tau**3 / 6)
    assert q[1, 1] == pytest.approx(q2 * tau + q3 * tau**3 / 3)
    assert q[2, 2] == pytest.approx(q3 * tau)
    np.testing.assert_array_equal(q, q.T)
    with pytest.raises(ValueError, match="q3"):
        clock_process_noise(1.0, 1.0, 1.0, q3=1.0)


def test_clock_q_gives_the_power_law_allan_variance():
    """h <-> q: a clock simulated from Q has AVAR = h0/(2 tau) + (2 pi^2/3) h-2 tau."""
    allantools = pytest.importorskip("allantools")
    h0, hm2, T = 1e-22, 1e-26, 40_000
    rng = np.random.default_rng(7)
    L = np.linalg.cholesky(clock_process_noise(h0, hm2, 1.0))
    z = rng.standard_normal((T, 2)) @ L.T
    freq = np.cumsum(z[:, 1])
    phase = np.cumsum(z[:, 0] + np.concatenate([[0.0], freq[:-1]]))
    taus = np.array([1.0, 10.0, 100.0, 1000.0])
    t, dev, _, _ = allantools.oadev(phase, rate=1.0, data_type="phase", taus=taus)
    expected = np.sqrt(h0 / (2 * t) + 2 * np.pi**2 / 3 * hm2 * t)
    np.testing.assert_allclose(dev, expected, rtol=0.15)


def test_fit_recovers_clock_h0_hm2():
    h0, hm2, r, T = 1e-22, 1e-25, 2e-23, 10_000
    rng = np.random.default_rng(0)
    model = clock_model(h0, hm2, 1.0, r=r)
    L = np.linalg.cholesky(model.Q[0])
    x = np.zeros(2)
    phase = np.empty(T)
    for t in range(T):  # exact discrete simulation of the 2-state clock
        if t:
            x = model.F[0] @ x + L @ rng.standard_normal(2)
        phase[t] = x[0]
    y = phase + rng.normal(0.0, np.sqrt(r), T)
    P0 = np.diag([1e-18, 1e-20])
    res = fit(
        lambda p: clock_model(p[0], p[1], 1.0, r=p[2], P0=P0),
        y,
        [1e-21, 1e-24, 1e-23],
        transform="log",
        bounds=[(1e-30, 1e-15)] * 3,
    )
    assert res.result.success
    np.testing.assert_allclose(res.params[:2], [h0, hm2], rtol=0.2)
    assert res.loglik == pytest.approx(res.model.loglik(y))
    assert res.loglik >= clock_model(h0, hm2, 1.0, r=r, P0=P0).loglik(y)


def test_invalid_inputs():
    with pytest.raises(ValueError, match="F must be square"):
        StateSpace(np.ones((2, 3)), [[1.0, 0.0]], np.eye(2), [[1.0]])
    with pytest.raises(ValueError, match="H must have 2 columns"):
        StateSpace(np.eye(2), [[1.0]], np.eye(2), [[1.0]])
    with pytest.raises(ValueError, match="Q must be symmetric"):
        StateSpace(np.eye(2), [[1.0, 0.0]], [[1.0, 0.5], [0.0, 1.0]], [[1.0]])
    model = local_level(1.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        model.filter(np.ones((5, 2)))
    with pytest.raises(ValueError, match="infinite"):
        model.filter(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="time axis of length 3"):
        StateSpace(np.ones((3, 1, 1)), [[1.0]], [[1.0]], [[1.0]]).filter(np.ones(5))
    with pytest.raises(ValueError, match="not positive definite"):
        StateSpace([[1.0]], [[1.0]], [[0.0]], [[0.0]], P0=[[0.0]]).filter(np.ones(3))
    with pytest.raises(ValueError, match="transform"):
        fit(lambda p: local_level(p[0], 1.0), np.ones(5), [1.0], transform="exp")


def test_simulate_has_the_model_covariances():
    model = clock_model(1e-22, 1e-25, 1.0, r=1e-23, x0=[1e-9, 1e-12])
    sim = model.simulate(20_000, seed=8, rate=1.0)
    x, y = sim["x"].values, sim["y"].values[:, 0]
    np.testing.assert_array_equal(x[0], [1e-9, 1e-12])
    w = x[1:] - x[:-1] @ model.F[0].T
    d = np.sqrt(np.diag(model.Q[0]))  # compare on the correlation scale: sampling error ~0.01
    np.testing.assert_allclose(np.cov(w.T) / np.outer(d, d), model.Q[0] / np.outer(d, d), atol=0.04)
    assert np.var(y - x[:, 0]) == pytest.approx(1e-23, rel=0.05)
    again = model.simulate(20_000, seed=8)
    np.testing.assert_array_equal(again["y"].values, sim["y"].values)
    assert sim["time"].size == 20_000


def test_simulate_unseeded_run_is_reproducible_from_its_attrs(tmp_path):
    """seed=None records the entropy it drew (never 'None'); the file repeats the run."""
    import xarray as xr

    from qsense.seeding import seed_from_attrs

    model = clock_model(1e-22, 1e-25, 1.0, r=1e-23)
    sim = model.simulate(500, rate=1.0)
    assert sim.attrs["seed"] != "None" and sim.attrs["model"] == "StateSpace"
    path = tmp_path / "sim.nc"
    sim.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        again = model.simulate(500, seed=seed_from_attrs(back.attrs), rate=1.0)
    np.testing.assert_array_equal(again["y"].values, sim["y"].values)
    np.testing.assert_array_equal(again["x"].values, sim["x"].values)
    assert again.attrs["seed"] == sim.attrs["seed"]
    # a spawned child SeedSequence round-trips with its spawn key
    child = np.random.SeedSequence(5).spawn(3)[2]
    first = model.simulate(50, seed=child)
    np.testing.assert_array_equal(
        model.simulate(50, seed=seed_from_attrs(first.attrs))["y"].values, first["y"].values
    )


def test_simulate_noise_streams_and_start():
    """w and v come from separate spawned streams; start sets the first time stamp."""
    model = local_level(1.0, 1.0, x0=[0.0])
    quiet = local_level(1.0, 1e-300, x0=[0.0])  # same process-noise stream, no v
    a, b = model.simulate(100, seed=3), quiet.simulate(100, seed=3)
    np.testing.assert_array_equal(a["x"].values, b["x"].values)
    sim = model.simulate(4, seed=1, rate=2.0, start="2026-01-01T00:00")
    assert sim["time"].values[0] == np.datetime64("2026-01-01T00:00", "ns")
    assert sim["time"].values[-1] == np.datetime64("2026-01-01T00:00:01.5", "ns")
    with pytest.raises(ValueError, match="start needs rate"):
        model.simulate(4, seed=1, start="2026-01-01")
    with pytest.raises(TypeError, match="seed"):
        model.simulate(4, seed="1")


def test_empty_and_degenerate_measurements():
    model = local_level(1.0, 1.0)
    for bad in (np.array([]), [], np.zeros((0, 1))):
        with pytest.raises(ValueError, match=r"^y must have shape"):
            model.filter(bad)
        with pytest.raises(ValueError, match=r"^y must have shape"):
            model.smooth(bad)
        with pytest.raises(ValueError, match=r"^y must have shape"):
            model.loglik(bad)
    with pytest.raises(TypeError, match=r"^y must be"):
        model.filter("1.0")
    with pytest.raises(TypeError, match=r"^y must hold real numbers"):
        model.filter(np.array([1.0, "a"], dtype=object))
    with pytest.warns(UserWarning, match="no finite measurement"):
        out = model.filter(np.full(3, np.nan))
    assert out.attrs["loglik"] == 0.0 and out.attrs["n_used"] == 0
    np.testing.assert_array_equal(out["P"].values[:, 0, 0], model.P0[0, 0] + [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="P0 must be symmetric"):
        StateSpace(np.eye(2), [[1.0, 0.0]], np.eye(2), [[1.0]], P0=[[1.0, 0.5], [0.0, 1.0]])


def test_fit_refuses_all_nan_and_too_few_measurements():
    def builder(p):
        return local_level(p[0], p[1])

    with pytest.raises(ValueError, match=r"^y must have more finite measurements"):
        fit(builder, np.full(50, np.nan), [1.0, 1.0], transform="log")
    with pytest.raises(ValueError, match=r"^y must have more finite measurements"):
        fit(builder, [1.0, np.nan], [1.0, 1.0], transform="log")
    with pytest.raises(TypeError, match="builder"):
        fit(None, np.ones(5), [1.0])
    with pytest.raises(TypeError, match="x0_params"):
        fit(builder, np.ones(5), ["a", "b"])
