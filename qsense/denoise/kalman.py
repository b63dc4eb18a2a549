"""Linear-Gaussian state-space model: Kalman filter, RTS smoother, maximum-likelihood fit.

The model, with ``t = 0 .. T-1`` indexing the samples of the measurement record::

    x[0] ~ N(x0, P0)
    x[t] = F[t] x[t-1] + w[t],   w[t] ~ N(0, Q[t])      (t >= 1)
    y[t] = H[t] x[t]   + v[t],   v[t] ~ N(0, R[t])

``x0``/``P0`` are the prior of the state *at the first sample* (the convention of
pykalman; filterpy's ``KalmanFilter`` instead predicts before its first update). Each of
F, H, Q, R is either one matrix (time-invariant) or an array with a leading time axis of
length T (``F[0]`` and ``Q[0]`` are then unused).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.optimize
import xarray as xr

from qsense import __version__
from qsense._validate import positive_int, real_array, warn
from qsense.denoise import _kernels, _kernels_small, _kernels_small_rts
from qsense.denoise._common import read_measurements
from qsense.seeding import Seed, generator, seed_attrs, seed_sequence, spawn
from qsense.signal import time_grid

__all__ = ["FitResult", "StateSpace", "fit"]

#: Scale of the default vague prior: ``P0 = _DIFFUSE * max(diag Q, diag R) * I``.
_DIFFUSE = 1e6


def _matrix_stack(name: str, value: Any, ndim_one: int) -> np.ndarray:
    """``value`` as float64 with a leading time axis (length 1 if time-invariant)."""
    arr = np.ascontiguousarray(real_array(name, value), dtype=np.float64)
    if arr.ndim == ndim_one:
        arr = arr[np.newaxis]
    if arr.ndim != ndim_one + 1:
        raise ValueError(
            f"{name} must have {ndim_one} dimensions (time-invariant) or {ndim_one + 1} "
            f"(leading time axis), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has an empty time axis, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return arr


class StateSpace:
    """Linear-Gaussian state-space model with a numba Kalman filter and RTS smoother.

    Parameters
    ----------
    F : array_like, shape (n, n) or (T, n, n)
        State transition ``x[t] = F x[t-1] + w``.
    H : array_like, shape (m, n), (n,) for one measurement, or (T, m, n)
        Measurement matrix ``y[t] = H x[t] + v``.
    Q : array_like, shape (n, n) or (T, n, n)
        Process-noise covariance (symmetric, positive semi-definite), in state units
        squared per step.
    R : float or array_like, shape (m, m) or (T, m, m)
        Measurement-noise covariance, in measurement units squared.
    x0 : array_like, shape (n,), optional
        Prior mean of the state at the first sample. Default zeros.
    P0 : array_like, shape (n, n), optional
        Prior covariance of the state at the first sample. Default a vague prior on the
        scale of the noise, ``1e6 * max(diag(Q), diag(R)) * I``; pass it when the state
        has a known scale (e.g. a large clock frequency offset).
    state_names : sequence of str, optional
        Labels of the state coordinate. Default ``x0, x1, ...``.

    Attributes
    ----------
    F, H, Q, R : numpy.ndarray
        The system matrices as float64 with a leading time axis of length 1
        (time-invariant) or T: shapes (1 or T, n, n), (1 or T, m, n), (1 or T, n, n),
        (1 or T, m, m).
    x0 : numpy.ndarray, shape (n,)
    P0 : numpy.ndarray, shape (n, n)
    state_names : list of str
    n_states, n_obs : int

    Notes
    -----
    Filter: the predict/update recursion of Kalman (1960) with the Joseph-form
    covariance update ``P = (I - K H) P (I - K H)' + K R K'`` (Bucy & Joseph 1968),
    which keeps ``P`` symmetric positive semi-definite for any gain. The innovation
    covariance ``S = H P H' + R`` is Cholesky-factorised, and the log-likelihood is the
    prediction-error decomposition ``sum_t -1/2 (k_t log 2 pi + log det S_t + e_t' S_t^-1
    e_t)`` over the steps with ``k_t > 0`` measurements used (Harvey 1989, eq. 3.4.7).

    Missing data: a NaN component of ``y[t]`` is skipped, the other components of that
    step are still used (their rows of H and block of R); an all-NaN step is a
    prediction only. ``loglik`` then sums over the used components.

    Smoother: Rauch, Tung & Striebel (1965), ``C = Pf[t] F' Pp[t+1]^-1``.

    Kernels: up to 3 states with one measurement the filter runs an unrolled kernel
    (every state, covariance and matrix entry a local scalar; a time-invariant matrix
    loaded once), and up to 3 states the smoother does too, recomputing the predicted
    moments instead of storing them; other shapes use a generic n-state kernel working
    in buffers allocated once per call. Both agree with the textbook equations to
    ~1e-14 relative. Measured at 1e5 steps of :func:`clock_model` (2 states): ~25 ns
    per step for :meth:`filter`, about 1000x filterpy (``tests/benchmarks/bench_kalman.py``).

    Conventions against peers: filterpy's ``KalmanFilter.log_likelihood`` is the term
    of its last update only (the sum over updates equals ``loglik``), and filterpy
    predicts before its first update (start it one step earlier, or skip its first
    ``predict``, to match ``x0``/``P0`` here); pykalman uses the same ``x0`` convention
    as here.

    Examples
    --------
    >>> import numpy as np
    >>> model = StateSpace([[1.0]], [[1.0]], [[0.01]], [[1.0]], x0=[0.0], P0=[[10.0]])
    >>> out = model.filter(np.array([0.1, -0.2, np.nan, 0.3]))
    >>> out["x"].shape, out["P"].shape
    ((4, 1), (4, 1, 1))
    """

    def __init__(
        self,
        F: Any,
        H: Any,
        Q: Any,
        R: Any,
        x0: Any = None,
        P0: Any = None,
        *,
        state_names: Sequence[str] | None = None,
    ) -> None:
        self.F = _matrix_stack("F", F, 2)
        n = self.F.shape[-1]
        if self.F.shape[-2] != n or n < 1:
            raise ValueError(f"F must be square (n, n) with n >= 1, got shape {self.F.shape}")
        H_arr = real_array("H", H)
        if H_arr.ndim == 1:
            H_arr = H_arr[np.newaxis]
        self.H = _matrix_stack("H", H_arr, 2)
        if self.H.shape[-1] != n:
            raise ValueError(f"H must have {n} columns (one per state), got shape {self.H.shape}")
        m = self.H.shape[-2]
        if m < 1:
            raise ValueError(f"H must have at least one row, got shape {self.H.shape}")
        self.Q = _matrix_stack("Q", Q, 2)
        if self.Q.shape[-2:] != (n, n):
            raise ValueError(f"Q must be ({n}, {n}) or (T, {n}, {n}), got shape {self.Q.shape}")
        R_arr = real_array("R", R)
        if R_arr.ndim == 0:
            R_arr = R_arr.reshape(1, 1)
        self.R = _matrix_stack("R", R_arr, 2)
        if self.R.shape[-2:] != (m, m):
            raise ValueError(f"R must be ({m}, {m}) or (T, {m}, {m}), got shape {self.R.shape}")
        for name, mat in (("Q", self.Q), ("R", self.R)):
            if not np.allclose(mat, np.swapaxes(mat, -1, -2), rtol=1e-12, atol=0.0):
                raise ValueError(f"{name} must be symmetric")
            if np.any(np.diagonal(mat, axis1=-2, axis2=-1) < 0):
                raise ValueError(f"{name} must have a non-negative diagonal (variances)")
        if x0 is None:
            self.x0 = np.zeros(n)
        else:
            self.x0 = np.ascontiguousarray(real_array("x0", x0), dtype=np.float64).reshape(-1)
            if self.x0.shape != (n,) or not np.all(np.isfinite(self.x0)):
                raise ValueError(f"x0 must be {n} finite values, got {x0!r}")
        if P0 is None:
            scale = max(
                float(np.max(np.diagonal(self.Q, axis1=-2, axis2=-1))),
                float(np.max(np.diagonal(self.R, axis1=-2, axis2=-1))),
            )
            if scale <= 0:
                raise ValueError("P0 must be given when Q and R are both zero")
            self.P0 = _DIFFUSE * scale * np.eye(n)
        else:
            self.P0 = _matrix_stack("P0", P0, 2)[0]
            if np.ndim(P0) != 2 or self.P0.shape != (n, n):
                raise ValueError(f"P0 must be a ({n}, {n}) matrix, got shape {self.P0.shape}")
            if not np.allclose(self.P0, self.P0.T, rtol=1e-12, atol=0.0):
                raise ValueError("P0 must be symmetric (a covariance matrix)")
            if np.any(np.diagonal(self.P0) < 0):
                raise ValueError("P0 must have a non-negative diagonal (variances)")
        if state_names is None:
            state_names = [f"x{i}" for i in range(n)]
        if isinstance(state_names, str) or not isinstance(state_names, Sequence):
            raise TypeError(f"state_names must be a sequence of str, got {state_names!r}")
        self.state_names = [str(s) for s in state_names]
        if len(self.state_names) != n:
            raise ValueError(f"state_names must have {n} entries, got {len(self.state_names)}")

    @property
    def n_states(self) -> int:
        """Number of states n."""
        return self.F.shape[-1]

    @property
    def n_obs(self) -> int:
        """Number of measurement components m."""
        return self.H.shape[-2]

    def __repr__(self) -> str:
        return (
            f"StateSpace(n_states={self.n_states}, n_obs={self.n_obs}, states={self.state_names})"
        )

    def _prepare(self, y: Any, rate: float | None) -> tuple[np.ndarray, dict]:
        """Measurements as (T, m) float64 and the time coordinate; time axes checked."""
        arr, coords = read_measurements(y, rate, self.n_obs)
        if np.all(np.isnan(arr)):
            warn(
                "y has no finite measurement: the result is the prior x0, P0 propagated by "
                "the model (no update; loglik 0)"
            )
        T = arr.shape[0]
        for name, mat in (("F", self.F), ("H", self.H), ("Q", self.Q), ("R", self.R)):
            if mat.shape[0] not in (1, T):
                raise ValueError(
                    f"{name} has a time axis of length {mat.shape[0]} but y has {T} samples"
                )
        return arr, coords

    def _filter_arrays(self, arr: np.ndarray, keep_pred: bool = False) -> tuple:
        T, n, m = arr.shape[0], self.n_states, self.n_obs
        Tp = T if keep_pred else 1  # the kernel stores predictions only if it has T rows
        xf, xp = np.empty((T, n)), np.empty((Tp, n))
        Pf, Pp = np.empty((T, n, n)), np.empty((Tp, n, n))
        innov = np.empty((T, m))
        kern = _kernels.kalman_filter  # unrolled up to 3 states with one measurement
        if m == 1:
            kern = _kernels_small.FILTERS.get(n, kern)
        loglik, bad = kern(
            arr, self.F, self.H, self.Q, self.R, self.x0, self.P0, xf, Pf, xp, Pp, innov
        )
        if bad >= 0:
            raise ValueError(
                f"the innovation covariance H P H' + R is not positive definite at step {bad}; "
                "make R positive definite"
            )
        return xf, Pf, xp, Pp, innov, float(loglik)

    def _dataset(self, x, P, coords, attrs, extra=None) -> xr.Dataset:
        data_vars = {
            "x": (("time", "state"), x, {"long_name": "state estimate"}),
            "P": (("time", "state", "state2"), P, {"long_name": "state error covariance"}),
        }
        data_vars.update(extra or {})
        all_coords = dict(coords)
        all_coords["state"] = self.state_names
        all_coords["state2"] = self.state_names
        return xr.Dataset(data_vars, coords=all_coords, attrs=attrs)

    def simulate(
        self, n: int, *, seed: Seed = None, rate: float | None = None, start: Any = None
    ) -> xr.Dataset:
        """Draw one realisation of the model: exact discrete-time states and measurements.

        Parameters
        ----------
        n : int
            Number of samples T (>= 1); must match a time axis of the matrices.
        seed : None, int >= 0 or numpy.random.SeedSequence
            Seed of the random streams (the package convention of
            :mod:`qsense.seeding`): ``None`` draws fresh entropy, which is recorded in
            ``attrs`` like any other seed.
        rate : float, optional
            Sample rate in Hz for the time coordinate (none without it).
        start : datetime-like, optional
            Time of the first sample (UTC) when ``rate`` is given; default
            :data:`qsense.signal.DEFAULT_START`.

        Returns
        -------
        xarray.Dataset
            ``x`` (time, state) and ``y`` (time, obs). The first state is ``x0``
            exactly (not drawn from ``P0``, which is often a vague prior); then
            ``x[t] = F x[t-1] + w``, ``w ~ N(0, Q)``, and ``y = H x + v``, ``v ~ N(0, R)``,
            with Gaussian factors from the eigen-decomposition (so singular Q is fine).
            ``attrs``: ``seed`` and ``seed_spawn_key`` (:func:`qsense.seeding.seed_attrs`;
            ``model.simulate(n, seed=seed_from_attrs(ds.attrs))`` repeats the run),
            ``model`` and ``qsense_version``.

        Notes
        -----
        One :class:`numpy.random.SeedSequence` per run, spawned into two children in a
        fixed order: the process noise ``w`` and the measurement noise ``v``.

        Examples
        --------
        >>> from qsense.denoise import local_level
        >>> local_level(0.1, 1.0).simulate(5, seed=1)["y"].shape
        (5, 1)
        """
        n = positive_int("n", n)
        for name, mat in (("F", self.F), ("H", self.H), ("Q", self.Q), ("R", self.R)):
            if mat.shape[0] not in (1, n):
                raise ValueError(
                    f"{name} has a time axis of length {mat.shape[0]} but n is {n} samples"
                )
        if start is not None and rate is None:
            raise ValueError("start needs rate (the sample rate in Hz) to build the time grid")
        coords = {} if rate is None else {"time": time_grid(n, rate, start)}
        ss = seed_sequence(seed)
        rng_w, rng_v = (generator(child) for child in spawn(ss, 2))

        def per_step(mats: np.ndarray) -> np.ndarray:
            return np.broadcast_to(mats, (n, *mats.shape[1:]))

        def factor(cov: np.ndarray) -> np.ndarray:
            w, v = np.linalg.eigh(cov)
            return v * np.sqrt(np.clip(w, 0.0, None))[..., np.newaxis, :]

        w = np.einsum(
            "tij,tj->ti", per_step(factor(self.Q)), rng_w.standard_normal((n, self.n_states))
        )
        v = np.einsum(
            "tij,tj->ti", per_step(factor(self.R)), rng_v.standard_normal((n, self.n_obs))
        )
        x = np.empty((n, self.n_states))
        x[0] = self.x0
        for t in range(1, n):
            x[t] = self.F[t if self.F.shape[0] > 1 else 0] @ x[t - 1] + w[t]
        y = np.einsum("tij,tj->ti", per_step(self.H), x) + v
        return xr.Dataset(
            {
                "x": (("time", "state"), x, {"long_name": "true state"}),
                "y": (("time", "obs"), y, {"long_name": "simulated measurement"}),
            },
            coords={**coords, "state": self.state_names},
            attrs={**seed_attrs(ss), "model": "StateSpace", "qsense_version": __version__},
        )

    def loglik(self, y: Any) -> float:
        """Gaussian log-likelihood of the measurements ``y`` (see :meth:`filter`)."""
        arr, _ = self._prepare(y, None)
        return self._filter_arrays(arr)[-1]

    def filter(self, y: Any, rate: float | None = None) -> xr.Dataset:
        """Kalman filter: state estimates given the measurements up to each sample.

        Parameters
        ----------
        y : xarray.DataArray or array_like, shape (T,) or (T, m)
            Measurements, NaN where missing. A DataArray on ``time`` keeps its time
            coordinate.
        rate : float, optional
            Sample rate in Hz, used to build a time coordinate for a plain array.

        Returns
        -------
        xarray.Dataset
            ``x`` (time, state), ``P`` (time, state, state2), ``innovation`` (time, obs:
            ``y - H x_pred``, NaN where skipped); attributes ``loglik`` (float) and
            ``n_used`` (number of measurement components used).

        Warns
        -----
        UserWarning
            If ``y`` holds no finite measurement: the result is then the prior
            propagated by the model.
        """
        arr, coords = self._prepare(y, rate)
        xf, Pf, _, _, innov, ll = self._filter_arrays(arr)
        attrs = {"method": "kalman_filter", "loglik": ll, "n_used": int(np.sum(~np.isnan(arr)))}
        extra = {"innovation": (("time", "obs"), innov, {"long_name": "innovation y - H x_pred"})}
        return self._dataset(xf, Pf, coords, attrs, extra)

    def smooth(self, y: Any, rate: float | None = None) -> xr.Dataset:
        """RTS smoother: state estimates given the whole record.

        Parameters
        ----------
        y : xarray.DataArray or array_like, shape (T,) or (T, m)
            Measurements, NaN where missing.
        rate : float, optional
            Sample rate in Hz, used to build a time coordinate for a plain array.

        Returns
        -------
        xarray.Dataset
            ``x`` (time, state) and ``P`` (time, state, state2), the smoothed mean and
            covariance; attributes ``loglik`` (of the filter pass) and ``n_used``.
        """
        arr, coords = self._prepare(y, rate)
        unrolled = _kernels_small_rts.SMOOTHERS.get(self.n_states)
        if unrolled is not None:  # recomputes the predictions, smooths in place
            xs, Ps, _, _, _, ll = self._filter_arrays(arr)
            bad = unrolled(self.F, self.Q, xs, Ps, xs, Ps)
        else:
            xf, Pf, xp, Pp, _, ll = self._filter_arrays(arr, keep_pred=True)
            xs, Ps = np.empty_like(xf), np.empty_like(Pf)
            bad = _kernels.rts_smoother(self.F, xf, Pf, xp, Pp, xs, Ps)
        if bad >= 0:
            raise ValueError(
                f"the predicted covariance is singular at step {bad}; the RTS smoother needs "
                "a positive definite F P F' + Q (make Q or P0 positive definite)"
            )
        attrs = {"method": "rts_smoother", "loglik": ll, "n_used": int(np.sum(~np.isnan(arr)))}
        return self._dataset(xs, Ps, coords, attrs)


@dataclass(frozen=True)
class FitResult:
    """Result of :func:`fit`.

    Attributes
    ----------
    params : numpy.ndarray, shape (p,)
        Maximum-likelihood parameters (natural units, whatever ``transform``).
    loglik : float
        Log-likelihood at ``params``.
    model : StateSpace
        ``builder(params)``.
    result : scipy.optimize.OptimizeResult
        The optimiser's result (in the transformed parameters).
    """

    params: np.ndarray
    loglik: float
    model: StateSpace
    result: scipy.optimize.OptimizeResult


def fit(
    builder: Callable[[np.ndarray], StateSpace],
    y: Any,
    x0_params: Sequence[float],
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
    *,
    transform: Literal["none", "log"] = "none",
    method: str | None = None,
    options: dict | None = None,
) -> FitResult:
    """Maximum-likelihood fit of model parameters with :func:`scipy.optimize.minimize`.

    Parameters
    ----------
    builder : callable
        ``builder(params) -> StateSpace``, params a float array of shape (p,).
    y : xarray.DataArray or array_like, shape (T,) or (T, m)
        Measurements, NaN where missing.
    x0_params : sequence of float, length p
        Starting parameters (natural units).
    bounds : sequence of (low, high), optional
        Bounds in natural units (None for unbounded).
    transform : {"none", "log"}
        ``"log"`` optimises ``log(params)`` (parameters must be > 0): the right choice
        for noise levels spanning decades (h_alpha, variances).
    method : str, optional
        :func:`scipy.optimize.minimize` method; default its own choice (L-BFGS-B when
        bounds are given, BFGS otherwise).
    options : dict, optional
        Passed to the optimiser.

    Returns
    -------
    FitResult
        ``params``, ``loglik``, ``model`` and the optimiser ``result``.

    Notes
    -----
    The objective is the negative prediction-error log-likelihood of
    :meth:`StateSpace.filter` (Harvey 1989, sec. 3.4) divided by the number of
    measurement components used, which keeps finite-difference gradients well scaled
    (the raw log-likelihood of a long record is ~1e5 and quasi-Newton methods stopped
    early on it). A parameter set whose innovation covariance is not positive
    definite, or whose ``builder`` raises ``ValueError``, scores ``+inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from qsense.denoise import local_level
    >>> rng = np.random.default_rng(0)
    >>> y = np.cumsum(rng.normal(0, 0.1, 500)) + rng.normal(0, 1.0, 500)
    >>> res = fit(lambda p: local_level(p[0], p[1]), y, [1.0, 1.0], transform="log")
    >>> res.params.shape
    (2,)
    """
    if not callable(builder):
        raise TypeError(f"builder must be a callable params -> StateSpace, got {builder!r}")
    p0 = real_array("x0_params", x0_params).astype(np.float64).reshape(-1)
    if p0.size == 0 or not np.all(np.isfinite(p0)):
        raise ValueError(f"x0_params must be finite numbers, got {x0_params!r}")
    if transform not in ("none", "log"):
        raise ValueError(f"transform must be one of ('none', 'log'), got {transform!r}")
    if transform == "log":
        if np.any(p0 <= 0):
            raise ValueError(f"x0_params must be > 0 with transform='log', got {x0_params!r}")

        def to_natural(z: np.ndarray) -> np.ndarray:
            return np.exp(np.clip(z, -700.0, 700.0))

        start = np.log(p0)
        if bounds is not None:
            bounds = [
                (None if lo is None else np.log(lo), None if hi is None else np.log(hi))
                for lo, hi in bounds
            ]
    else:

        def to_natural(z: np.ndarray) -> np.ndarray:
            return np.asarray(z, dtype=np.float64)

        start = p0
    if bounds is not None and len(bounds) != p0.size:
        raise ValueError(f"bounds must have {p0.size} (low, high) pairs, got {len(bounds)}")
    model0 = builder(p0)
    if not isinstance(model0, StateSpace):
        raise TypeError(
            f"builder must return a StateSpace, got {type(model0).__name__} for x0_params"
        )
    arr, _ = read_measurements(y, None, model0.n_obs)
    n_used = int(np.sum(~np.isnan(arr)))
    if n_used < p0.size + 1:
        raise ValueError(
            f"y must have more finite measurements than parameters ({p0.size}) to fit, got {n_used}"
        )
    arr, _ = model0._prepare(arr, None)  # checks the time axes of the matrices

    def objective(z: np.ndarray) -> float:
        try:
            ll = builder(to_natural(z))._filter_arrays(arr)[-1]
        except ValueError:
            return np.inf
        return -ll / n_used if np.isfinite(ll) else np.inf

    res = scipy.optimize.minimize(objective, start, method=method, bounds=bounds, options=options)
    params = to_natural(res.x)
    model = builder(params)
    return FitResult(params=params, loglik=model.loglik(y), model=model, result=res)
