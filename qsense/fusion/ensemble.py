"""Clock-ensemble time scale: the AT1 algorithm (Allan, Gray & Machlan 1974).

A timing lab measures its clocks against one another; no clock is perfect, and the
ensemble of them, weighted by how well each one predicts itself, keeps better time
than any one clock. :func:`ensemble_time_scale` computes that "paper clock" from the
measured phase differences and returns each clock's deviation from it.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from qsense._numba import any_nonfinite
from qsense._validate import positive_float, positive_int, warn
from qsense.fusion._kernels import EPOCH, STATE_COLUMNS, at1, new_state
from qsense.quantities import quantity_attrs
from qsense.signal import GRID_RTOL, as_series, common_grid, time_grid

__all__ = ["ensemble_time_scale"]

#: Fewest epochs the ensemble accepts (a frequency estimate needs two, an error three).
_MIN_EPOCHS = 3

#: Default weight cap: a clock may carry at most this many times an equal share.
_CAP_SHARES = 2.5


def _clock_records(data: Any) -> tuple[dict[str, Any], list[str], Any]:
    """Split ``data`` into one 1-D record per clock: ({label: record}, names, time)."""
    if isinstance(data, xr.Dataset):
        names = [str(k) for k in data.data_vars]
        records = {f"data[{k!r}]": data[k] for k in names}
    elif isinstance(data, Mapping):
        names = [str(k) for k in data]
        if len(set(names)) != len(names):
            raise ValueError(f"data must have distinct clock names, got {names}")
        records = {f"data[{k!r}]": v for k, v in zip(names, data.values(), strict=True)}
    elif isinstance(data, xr.DataArray):
        if data.ndim != 2 or set(data.dims) != {"time", "clock"}:
            raise ValueError(
                "data must be a 2-D DataArray on dimensions ('time', 'clock'), "
                f"got dims {data.dims}"
            )
        data = data.transpose("time", "clock")
        if "clock" in data.coords:
            names = [str(v) for v in data["clock"].values]
        else:
            names = [str(k) for k in range(data.sizes["clock"])]
        if len(set(names)) != len(names):
            raise ValueError(f"data must have distinct clock names, got {names}")
        records = {
            f"data[{k!r}]": data.isel(clock=j).drop_vars("clock", errors="ignore")
            for j, k in enumerate(names)
        }
    else:
        if isinstance(data, str | bytes) or data is None or np.ndim(data) != 2:
            raise TypeError(
                "data must be a 2-D DataArray (time, clock), a Dataset or dict of one "
                "phase record per clock, or a 2-D array of shape (n_epochs, n_clocks); "
                f"got {type(data).__name__} of {np.ndim(data)} dimensions"
            )
        arr = np.asarray(data)
        names = [str(k) for k in range(arr.shape[1])]
        records = {f"data[{k!r}]": arr[:, j] for j, k in enumerate(names)}
    if len(names) < 2:
        raise ValueError(f"data must hold at least 2 clocks to form an ensemble, got {names}")
    time = None
    first = next(iter(records.values()))
    if isinstance(first, xr.DataArray) and "time" in first.coords:
        t = first["time"].values
        if np.issubdtype(t.dtype, np.datetime64):
            time = t
    return records, names, time


def _clock_matrix(
    data: Any, records: dict[str, Any], rate: Any, min_length: int
) -> tuple[np.ndarray, float]:
    """The validated phases as a C-contiguous (n, n_clocks) float64 array, and the rate.

    A 2-D numeric array or DataArray is checked as a whole (its first clock through
    :func:`qsense.signal.as_series` for the length, rate and time coordinate) and used
    without a copy when already float64 and C-contiguous; anything else goes clock by
    clock through :func:`qsense.signal.common_grid`.
    """
    values = data.transpose("time", "clock").values if isinstance(data, xr.DataArray) else data
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        labels = list(records)
        _, rate = as_series(records[labels[0]], rate, name=labels[0], min_length=min_length)
        u = np.ascontiguousarray(values, dtype=np.float64)
        if any_nonfinite(u.reshape(-1)):
            for j, label in enumerate(labels):
                if np.isinf(u[:, j]).any():
                    raise ValueError(f"{label} contains infinite values; use NaN for a gap")
                if np.isnan(u[:, j]).all():
                    raise ValueError(f"{label} is entirely NaN")
        return u, rate
    columns, rate = common_grid(records, rate, min_length=min_length)
    return np.column_stack(columns), rate


def _resume(
    state: Any, names: list[str], rate: float, time: Any, n_clocks: int
) -> tuple[np.ndarray, Any]:
    """Kernel state with epochs counted from the first epoch of ``data``, and the start
    time of ``data`` (``next_time`` of the previous result, for plain arrays)."""
    if state is None:
        return new_state(n_clocks), None
    if not isinstance(state, xr.Dataset) or "state" not in state:
        raise TypeError(
            "state must be the Dataset returned by a previous ensemble_time_scale call "
            f"(with its 'state' variable) or None, got {type(state).__name__}"
        )
    held = state["state"]
    if held.dims != ("clock", "field") or list(held["field"].values) != list(STATE_COLUMNS):
        raise ValueError(
            f"state['state'] must be on (clock, field) with fields {list(STATE_COLUMNS)}"
        )
    held_names = [str(v) for v in held["clock"].values]
    if held_names != names:
        raise ValueError(
            f"state holds clocks {held_names} but data has {names}: pass the same clocks "
            "in the same order (a clock joining later: NaN in the earlier records)"
        )
    values = np.array(held.values, dtype=np.float64)
    prev_rate, next_time = state.attrs.get("sample_rate"), state.attrs.get("next_time")
    if not np.all(np.isfinite(values)) or not isinstance(prev_rate, numbers.Real):
        raise ValueError("state must hold a finite state and its sample_rate attribute")
    if abs(prev_rate - rate) > GRID_RTOL * rate:
        raise ValueError(f"state was made at {prev_rate} Hz but data is at {rate} Hz")
    try:
        start = np.datetime64(next_time, "ns")
    except (TypeError, ValueError):
        raise ValueError(f"state has no valid next_time attribute, got {next_time!r}") from None
    offset = 0.0
    if time is not None:
        offset = float((time[0] - start) / np.timedelta64(1, "ns")) * 1e-9 * rate
        if offset < -GRID_RTOL or abs(offset - round(offset)) > GRID_RTOL:
            raise ValueError(
                f"data must start at state's next_time {next_time} or a whole number of "
                f"epochs after it, got {time[0]}"
            )
    values[:, EPOCH] -= round(offset)
    return values, start


def _per_clock(name: str, value: Any, names: list[str]) -> np.ndarray:
    """A positive float per clock from a scalar, a sequence in clock order, or a dict
    by clock name."""
    n_clocks = len(names)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.full(n_clocks, positive_float(name, value))
    if isinstance(value, Mapping):
        keys = {str(k): v for k, v in value.items()}
        if sorted(keys) != sorted(names):
            raise ValueError(f"{name} must give one value per clock {names}, got {list(keys)}")
        return np.array([positive_float(f"{name}[{k!r}]", keys[k]) for k in names])
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(
            f"{name} must be a time constant in s, one per clock or a dict by clock name, "
            f"got {type(value).__name__} {value!r}"
        )
    if len(value) != n_clocks:
        raise ValueError(
            f"{name} must be one value or one per clock ({n_clocks}), got {len(value)}"
        )
    return np.array([positive_float(f"{name}[{k}]", v) for k, v in enumerate(value)])


def ensemble_time_scale(
    data: Any,
    rate: float | None = None,
    *,
    time_constant: float | Sequence[float] | Mapping[str, float],
    error_time_constant: float | Sequence[float] | Mapping[str, float] | None = None,
    max_weight: float | None = None,
    outlier_threshold: float | None = 4.0,
    warmup_samples: int = 10,
    reset_samples: int | None = 3,
    taus: Any = "octave",
    state: xr.Dataset | None = None,
) -> xr.Dataset:
    """AT1 clock-ensemble time scale from the clocks' phase differences.

    Parameters
    ----------
    data : xarray.DataArray (time, clock), xarray.Dataset, dict, or array (n, n_clocks)
        Phase (time) of each clock against one common reference, in s: ``X_iR = x_i -
        x_R``, as a time-interval counter or a phase comparator gives them. The
        reference may be one of the clocks (its column is then 0) or an outside
        transfer oscillator: only differences between clocks enter the algorithm, so
        the result does not depend on it. A 2-D DataArray on dimensions ``time`` and
        ``clock`` (names from the ``clock`` coordinate), a Dataset or dict of one 1-D
        record per clock on one time grid, or a numeric array of shape (n_epochs,
        n_clocks). NaN marks a clock missing at an epoch (dropped out, not yet joined).
        At least 2 clocks and 3 epochs (1 when continuing from ``state``); no clock
        entirely NaN; no infinities.
    rate : float, optional
        Measurement rate in Hz (epochs every ``tau0 = 1 / rate`` s); required for plain
        arrays, otherwise from the time coordinate (or from ``state``).
    time_constant : float, sequence of float or dict {clock: float}
        Time constant (s) of each clock's exponential frequency filter, ``m_i =
        time_constant_i / tau0``: one for all clocks, one per clock in order, or a
        dict by clock name (e.g. a maser's shorter than a caesium's). Set it near the
        averaging time where the clock's white FM gives way to random-walk FM (or
        flicker FM) noise; > 0.
    error_time_constant : float, sequence of float or dict {clock: float}, optional
        Time constant (s) of the smoothing of each clock's squared prediction error,
        which sets the weights; default 10 times ``time_constant``; > 0.
    max_weight : float, optional
        Largest weight any clock may carry, in [1/n_clocks, 1]; default
        ``min(1, 2.5 / n_clocks)``, the relative cap of the BIPM's weighting for EAL
        since 2014 (Panfilo et al., Metrologia 51, 285 (2014); check against the
        paper). The clocks over the cap are held at it and the others renormalised.
    outlier_threshold : float or None
        A weighted clock whose prediction error, against the ensemble of the other
        clocks, exceeds this many times its expected rms is left out of the ensemble
        at that epoch (a frequency or phase step, a glitch); its squared error enters
        its variance clipped at ``outlier_threshold**2`` times the variance. Needs 3
        weighted clocks. Default 4; None disables.
    warmup_samples : int
        Number of prediction-error updates a clock needs before it is weighted (a
        joining clock runs with weight 0 until then); >= 1, default 10.
    reset_samples : int or None
        An outlier epoch leaves the clock's frequency estimate unchanged; after this
        many consecutive outlier epochs (a frequency step) the estimate is reset to
        their mean phase slope, so that the step does not leak into ensemble time
        through the filter's slow tail. >= 1, default 3; None never resets.
    taus : {"octave", "decade", "all"}, array_like of float or None
        Averaging times (s) of the Allan-deviation estimates (see Returns), as in
        :func:`qsense.stability.oadev`; None skips them.
    state : xarray.Dataset, optional
        The result of a previous call on the epochs just before ``data`` (same clocks
        in the same order, same rate): the time scale continues from its ``state``
        variable exactly as if the two records had been processed in one call (a
        real-time time scale run epoch by epoch or day by day, or a long record in
        chunks). ``data`` must start at or after the previous result's ``next_time``
        on its grid (skipped epochs count as missing); plain arrays are taken to start
        at ``next_time``. The parameters of this call apply from its first epoch; the
        Allan estimates cover this call's epochs only.

    Returns
    -------
    xarray.Dataset
        On dimensions ``time`` and ``clock``:

        - ``deviation`` (s): ``x_i - x_ens``, each clock's time minus ensemble time
          (NaN where the clock is missing);
        - ``weight`` (dimensionless): the weight each clock carried at each epoch (0
          when missing, warming up or an outlier; the weights of an epoch sum to 1,
          or to 0 at an epoch where no clock is present);
        - ``frequency`` (dimensionless): the clock's filtered fractional frequency
          against the ensemble, ``y_ie``;
        - ``sigma`` (s): the clock's smoothed rms prediction error over one epoch,
          corrected for its own weight: an estimate of its ``tau0 *
          sigma_y(tau0)`` for white FM noise;
        - ``outlier`` (bool): epochs where the clock was left out as an outlier;
        - ``ensemble_sigma`` (s, on ``time``): ``sqrt(sum w_i**2 sigma_i**2)``, the
          ensemble's own rms prediction error implied by the weights and the clocks'
          error estimates (NaN during start-up), an *estimate* assuming independent
          clocks.

        On ``tau`` (s), unless ``taus`` is None: ``adev_deviation`` (tau, clock), the
        overlapping Allan deviation of each ``deviation`` (measured); and, for 3 or
        more clocks, the *estimates* ``adev_clock`` (tau, clock) of each clock's own
        Allan deviation and ``adev_ensemble`` (tau) of the ensemble's, from the
        weighted cornered hat of Notes (NaN where the estimate is negative).
        ``state`` (clock, field): the algorithm's state after the last epoch, to pass
        as ``state=`` to the next call. Attributes: ``method`` ("AT1"), the parameters
        as used, ``sample_rate``, ``next_time`` (ISO 8601, the epoch after the last)
        and ``reference``.

    Warns
    -----
    UserWarning
        When no clock finishes its warm-up within the record (the weights stay equal
        and ``ensemble_sigma`` is NaN), and as :func:`qsense.stability.oadev` warns for
        a record too short for the requested ``taus``.

    Raises
    ------
    ValueError
        Naming ``data`` (fewer than 2 clocks or 3 epochs, a clock entirely NaN, clocks
        on different grids, infinities), ``rate``, or the parameter with a bad value.
    TypeError
        Naming the parameter of a wrong type.

    Notes
    -----
    AT1 (Allan, Gray & Machlan, NBS Monograph 140 (1974); Tavella & Thomas, Metrologia
    28, 57 (1991); Levine, Rev. Sci. Instrum. 83, 021101 (2012); the equations below
    are this implementation's, derived where noted, not checked line by line against
    these papers). With ``x_ie`` the
    time of clock i minus ensemble time and ``y_ie`` its frequency estimate, at each
    epoch ``t`` whose previous valid epoch for clock i is ``t - dt_i``:

    - prediction ``xp_i = x_ie(t - dt_i) + y_ie dt_i``;
    - ensemble, from the measurements ``X_iR(t)``: ``x_ie(t) = X_iR(t) + c(t)`` with
      ``c = sum_k w_k (xp_k - X_kR(t))`` over the weighted clocks (weights summing to
      1), i.e. the weighted mean of the prediction errors ``e_k = x_ke(t) - xp_k`` is
      zero: ensemble time continues its clocks' predictions;
    - frequency, exponential filter: ``y_ie <- ((x_ie(t) - x_ie(t - dt_i)) / dt_i +
      m_i y_ie) / (1 + m_i)``, ``m_i = min(j, time_constant_i / dt_i)`` after ``j``
      earlier estimates (a running mean at start-up; the first is the first phase
      difference);
    - error variance: ``s_i**2 <- (e_i**2 / (1 - w_i) + n_i s_i**2) / (n_i + 1)``,
      ``n_i = min(j, error_time_constant_i / dt_i)`` after ``j`` earlier updates.
      Dividing by ``1 - w_i`` undoes the clock's pull on the ensemble: with
      independent clocks and ``w ~ 1 / s**2``, ``E e_i**2 = s_i**2 (1 - w_i)``; for
      capped weights it overestimates the variance of the clocks held at the cap;
    - weights ``w_i ~ 1 / s_i**2`` over the present, warmed-up, non-outlier clocks,
      capped at ``max_weight``;
    - outliers, worst first while 3 or more clocks are weighted: clock i's error
      against the ensemble of the others, ``e_i' = X_iR + (c - w_i (xp_i - X_iR)) /
      (1 - w_i) - xp_i``, beyond ``outlier_threshold`` times its expected rms
      ``sqrt(s_i**2 + sum_{k != i} (w_k / (1 - w_i))**2 s_k**2)``: the clock is
      removed, the weights and ``c`` recomputed, and the next worst tested. An
      outlier's frequency estimate is held; after ``reset_samples`` consecutive
      outliers (a frequency step) it is reset to their mean slope and the clock
      restarts its error variance and warm-up (operational AT1 detects and resets
      steps in its own ways; this rule is this implementation's).

    A clock that drops out keeps its state; when it returns its prediction spans the
    whole gap. Start-up, and any epoch where no weighted clock is present: the clocks
    with a previous epoch share equal weights (the first epoch, with none, sets
    ensemble time to the clocks' mean). A clock's error variance starts at its third
    valid epoch, when it has a frequency estimate to predict with. Ensemble time
    is therefore continuous across a clock leaving or joining: only the weighted mean
    of the remaining clocks' prediction errors enters it, and a member's frequency
    step is left out and reset (in the tests, ensemble frequency took up 0.2 % of a
    2e-11 step of a clock of weight 0.3, an amount set by the noise of the reset, not
    by the step; 3 % without the reset, 8 % without the outlier test, against 30 %
    for a plain weighted mean).

    The Allan-deviation estimates take the time-mean weights ``w`` over the
    established epochs and independent clocks, for which ``AVAR(x_i - x_ens) = (1 -
    2 w_i) A_i + E`` with ``E = sum_k w_k**2 A_k`` the ensemble's own Allan variance:
    an N-cornered hat weighted by ``w``, solved for ``A`` (singular for 2 clocks, so
    reported from 3). They are estimates: with time-varying weights, correlated clocks
    or the frequency filter's transfer function they are approximate.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.cumsum(rng.normal(size=(2000, 4)) * [1, 2, 3, 4], axis=0) * 1e-12
    >>> out = ensemble_time_scale(x - x[:, :1], rate=1.0, time_constant=100.0, taus=None)
    >>> w = out.weight.isel(time=-1).values
    >>> bool(w[0] > w[1] > w[2] > w[3]), round(float(w.sum()), 12)
    (True, 1.0)
    """
    records, names, time = _clock_records(data)
    if rate is None and isinstance(state, xr.Dataset):  # e.g. one epoch, no grid to read
        rate = state.attrs.get("sample_rate")
    u, rate = _clock_matrix(data, records, rate, _MIN_EPOCHS if state is None else 1)
    n_clocks = len(names)
    tau_f = _per_clock("time_constant", time_constant, names)
    if error_time_constant is None:
        tau_e = 10.0 * tau_f
    else:
        tau_e = _per_clock("error_time_constant", error_time_constant, names)
    if max_weight is None:
        cap = min(1.0, _CAP_SHARES / n_clocks)
    else:
        cap = positive_float("max_weight", max_weight)
        if not 1.0 / n_clocks <= cap <= 1.0:
            raise ValueError(
                f"max_weight must be in [1/n_clocks, 1] = [{1.0 / n_clocks:.6g}, 1] for "
                f"{n_clocks} clocks, got {max_weight!r}"
            )
    if outlier_threshold is None:
        threshold = np.inf
    else:
        threshold = positive_float("outlier_threshold", outlier_threshold)
    warmup = positive_int("warmup_samples", warmup_samples)
    n = u.shape[0]
    dev = np.empty((n, n_clocks))
    weight = np.empty((n, n_clocks))
    freq = np.empty((n, n_clocks))
    sigma = np.empty((n, n_clocks))
    outlier = np.empty((n, n_clocks), dtype=np.int8)
    ens_sigma = np.empty(n)
    state, start = _resume(state, names, rate, time, n_clocks)
    reset = np.inf if reset_samples is None else float(positive_int("reset_samples", reset_samples))
    at1(u, rate, tau_f, tau_e, cap, threshold, float(warmup), reset, 0, state,
        dev, weight, freq, sigma, outlier, ens_sigma)  # fmt: skip
    if not np.isfinite(ens_sigma).any():
        warn(
            f"no clock of data finished its warm-up of warmup_samples={warmup} error "
            f"updates in {n} epochs (a clock needs warmup_samples + 2 valid epochs): the "
            "clocks kept equal weights and ensemble_sigma is NaN throughout"
        )
    if time is None:
        time = time_grid(n, rate, start)
    state[:, EPOCH] -= n  # the next call's first epoch is 0
    next_time = time[-1] + np.timedelta64(round(1e9 / rate), "ns")
    coords = {"time": time, "clock": names}
    dims = ("time", "clock")
    phase = quantity_attrs("phase")
    out = xr.Dataset(
        {
            "deviation": (dims, dev, {**phase, "long_name": "clock time minus ensemble time"}),
            "weight": (dims, weight, {"units": "1", "long_name": "ensemble weight"}),
            "frequency": (
                dims,
                freq,
                {**quantity_attrs("fractional_frequency"), "long_name": "frequency vs ensemble"},
            ),
            "sigma": (dims, sigma, {**phase, "long_name": "rms prediction error per epoch"}),
            "outlier": (dims, outlier.astype(bool), {"long_name": "left out as an outlier"}),
            "ensemble_sigma": (
                ("time",),
                ens_sigma,
                {**phase, "long_name": "ensemble rms prediction error per epoch (estimate)"},
            ),
            "state": (("clock", "field"), state, {"long_name": "AT1 state after the last epoch"}),
        },
        coords={**coords, "field": list(STATE_COLUMNS)},
        attrs={
            "method": "AT1",
            "sample_rate": rate,
            "time_constant": tau_f,
            "error_time_constant": tau_e,
            "max_weight": cap,
            "outlier_threshold": "none" if outlier_threshold is None else threshold,
            "warmup_samples": warmup,
            "reset_samples": "none" if reset_samples is None else int(reset),
            "next_time": str(np.datetime_as_string(next_time, unit="ns")),
            "reference": "Allan, Gray & Machlan, NBS Monograph 140 (1974)",
        },
    )
    if taus is not None:
        out = out.merge(_allan_estimates(dev, weight, ens_sigma, rate, taus, names))
    return out


def _allan_estimates(dev, weight, ens_sigma, rate, taus, names) -> xr.Dataset:
    """``adev_deviation`` and, from 3 clocks, the weighted cornered-hat estimates."""
    from qsense.stability import oadev  # stability does not import fusion: no cycle

    first = oadev(dev[:, 0], rate, "phase", taus)
    tau = first["tau"].values
    b = np.empty((len(names), tau.size))
    b[0] = first["dev"].values ** 2
    for j in range(1, len(names)):
        b[j] = oadev(dev[:, j], rate, "phase", tau)["dev"].values ** 2
    variables = {
        "adev_deviation": (
            ("clock", "tau"),
            np.sqrt(b),
            {"units": "1", "long_name": "Allan deviation of clock minus ensemble"},
        )
    }
    established = np.isfinite(ens_sigma)
    if len(names) >= 3 and established.any():
        w = weight[established].mean(axis=0)
        m = np.diag(1.0 - 2.0 * w) + (w**2)[None, :]
        if np.linalg.matrix_rank(m) == len(names):
            a = np.linalg.solve(m, b)
            e = (w**2) @ a
            with np.errstate(invalid="ignore"):
                variables["adev_clock"] = (
                    ("clock", "tau"),
                    np.where(a > 0, np.sqrt(np.abs(a)), np.nan),
                    {"units": "1", "long_name": "Allan deviation of each clock (estimate)"},
                )
                variables["adev_ensemble"] = (
                    ("tau",),
                    np.where(e > 0, np.sqrt(np.abs(e)), np.nan),
                    {"units": "1", "long_name": "Allan deviation of the ensemble (estimate)"},
                )
        else:
            warn("the mean weights make the cornered hat singular: no Allan estimates")
    return xr.Dataset(variables, coords={"tau": tau, "clock": names})
