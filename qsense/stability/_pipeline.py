"""The one pipeline every stability statistic runs through.

``compute`` validates the input, converts it to phase once, picks the averaging
factors, calls the statistic's raw estimator, and asks the noise-identification,
bias and EDF modules for ``alpha``, the bias divisor, the EDF and the confidence
interval of each tau, then assembles the result Dataset.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from xarray.indexes import PandasIndex

from qsense._validate import choice
from qsense.signal import as_series
from qsense.stability import _bias, _edf, noise_id
from qsense.stability._taus import averaging_factors
from qsense.stability.noise_id import identify_alpha, identify_alphas

__all__ = ["PhaseInput", "check_options", "compute", "to_phase"]

DataType = Literal["phase", "freq"]


def _noise_exponents(x: np.ndarray, m: np.ndarray, statistic: str, data_type: str) -> np.ndarray:
    """alpha at every factor of ``m`` in one kernel call, or tau by tau through this
    module's ``identify_alpha`` when it has been replaced (the Stable32 table tests
    impose each table's reported alpha that way)."""
    if identify_alpha is not noise_id.identify_alpha:
        return np.array(
            [identify_alpha(x, int(k), statistic, data_type) for k in m], dtype=np.int64
        )
    return identify_alphas(x, m, statistic, data_type)


class PhaseInput:
    """Phase record prepared once for the raw estimators.

    Attributes
    ----------
    x : numpy.ndarray of float64, shape (N,)
        Phase in seconds. Phase input: the data, NaN at gaps. Frequency input: the
        integral of ``y - mean(y)`` (NIST SP 1065 eq. 3), a frequency gap integrated
        as the mean frequency and marked NaN at the phase sample it ends on.
    span : numpy.ndarray of float64, shape (N,), or None
        Frequency input with gaps only: ``span[i]`` = number of missing frequency
        samples before phase sample ``i``. A term that uses phase samples ``a < b``
        is valid iff ``span[b] == span[a]`` (it does not straddle a gap); ``x_filled``
        is then the phase with the gap integrated as the mean (no NaN).
    x_filled : numpy.ndarray of float64, shape (N,), or None
        See ``span``.
    """

    __slots__ = ("span", "x", "x_filled")

    def __init__(self, x: np.ndarray, span: np.ndarray | None, x_filled: np.ndarray | None):
        self.x = x
        self.span = span
        self.x_filled = x_filled


def to_phase(values: np.ndarray, rate: float, data_type: str) -> PhaseInput:
    """Convert validated samples to a :class:`PhaseInput` (NaN-aware).

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n,)
        Phase in s or fractional frequency; NaN marks a gap.
    rate : float
        Sample rate in Hz.
    data_type : {"phase", "freq"}
        What ``values`` holds.

    Returns
    -------
    PhaseInput
        ``N = n`` phase points for phase input, ``n + 1`` for frequency input.
    """
    if data_type == "phase":
        return PhaseInput(values, None, None)
    gap = np.isnan(values)
    dev = np.where(gap, 0.0, values - np.mean(values[~gap]))
    x = np.empty(values.size + 1)
    x[0] = 0.0
    np.cumsum(dev / rate, out=x[1:])
    if not gap.any():
        return PhaseInput(x, None, None)
    span = np.zeros(values.size + 1)
    np.cumsum(gap, out=span[1:])
    marked = x.copy()
    marked[1:][gap] = np.nan
    return PhaseInput(marked, span, x)


def check_options(ci: Any, bias_correction: Any) -> float:
    """Validate the shared ``ci`` and ``bias_correction`` arguments; return ``ci``."""
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci must be a confidence level in (0, 1), e.g. 0.683, got {ci!r}")
    if not isinstance(bias_correction, bool | np.bool_):
        raise TypeError(f"bias_correction must be True or False, got {bias_correction!r}")
    return float(ci)


def compute(
    statistic: str,
    data: Any,
    rate: float | None,
    data_type: DataType,
    taus: Any,
    *,
    ci: float,
    bias_correction: bool,
    raw: Callable[..., tuple[np.ndarray, np.ndarray]],
    max_m: Callable[[int], int] | None = None,
    tau_scale: float = 1.0,
    units: str = "1",
    kind: Literal["variance", "value"] = "variance",
    spans_gaps: bool = False,
    factors: Callable[[Any, int, float], np.ndarray] | None = None,
    long_name: str = "",
) -> xr.Dataset:
    """Run one statistic through validation, phase conversion, taus, CI and bias.

    Parameters
    ----------
    statistic : str
        Name stored in ``attrs["statistic"]`` and passed to the tau selection,
        ``noise_id.identify_alpha``, ``_bias.bias_factor`` and ``_edf.edf``.
    data : xarray.DataArray or array-like, shape (n,)
        Phase in s or fractional frequency (``data_type``); NaN marks a gap.
    rate : float or None
        Sample rate in Hz (None for a DataArray with a time coordinate).
    data_type : {"phase", "freq"}
        Kind of ``data``.
    taus : {"octave", "decade", "all"} or array-like of float
        Averaging times (s) or a named Stable32 set (see :mod:`._taus`).
    ci : float
        Confidence level of ``dev_lo``/``dev_hi``, in (0, 1) (0.683 = 1 sigma).
    bias_correction : bool
        Divide the variance by ``_bias.bias_factor(statistic, alpha, m, n_in, rate)``
        with ``n_in`` the number of input samples (as Stable32, whose record length
        is ``T = n_in tau0``: N phase or N - 1 frequency samples; verified on the Sr87
        frequency and phase TOTDEV tables). The EDF gets the number of phase points N.
    raw : callable
        ``raw(x, m, rate) -> (values, n)``: ``x`` the phase record (float64, s, shape
        (N,), NaN at gaps), ``m`` the int64 averaging factors, ``rate`` in Hz;
        returns float64 ``values`` (the variance, or the final value when
        ``kind="value"``) and int64 ``n`` (number of terms; 0 gives NaN). With
        ``spans_gaps=True`` it is called ``raw(x, m, rate, span)`` instead, where
        ``span`` is None or the gap count of :class:`PhaseInput` and ``x`` is then
        the gap-filled phase (see :func:`to_phase`).
    max_m : callable, optional
        ``max_m(N) -> int``: largest averaging factor (overrides the stop ratio).
    tau_scale : float
        ``tau = tau_scale * m / rate`` (0.75 for Theo1/TheoBR/TheoH).
    units : str
        Units of ``dev`` (``"1"`` or ``"s"``).
    kind : {"variance", "value"}
        ``"variance"``: ``dev = sqrt(values / bias)`` with a chi-square interval;
        ``"value"``: ``dev = values`` (MTIE, TIE rms) with no interval (NaN bounds
        and EDF).
    spans_gaps : bool
        Whether ``raw`` takes the ``span`` argument (drops exactly the terms that
        straddle a frequency gap).
    factors : callable, optional
        ``factors(taus, N, rate) -> int64 array`` replacing the default averaging
        factor selection (for statistics with their own tau sets).
    long_name : str
        ``long_name`` attribute of ``dev``.

    Returns
    -------
    xarray.Dataset
        Coordinate ``tau`` (s) and ``m`` (averaging factor, on ``tau``); variables
        ``dev``, ``dev_lo``, ``dev_hi`` (in ``units``), ``n`` (int64), ``edf``
        (float64), ``alpha`` (int64, S_y(f) ~ f^alpha); attrs ``statistic``,
        ``data_type``, ``ci``, ``sample_rate`` (Hz), ``bias_correction`` (1 or 0: an
        int so that the Dataset writes to netCDF), ``units``. A tau with no valid
        term (``n = 0``) has NaN ``dev``, bounds and ``edf`` and ``alpha = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from qsense.stability._kernels import oadev_raw
    >>> x = np.random.default_rng(0).normal(size=1000)
    >>> ds = compute("oadev", x, 1.0, "phase", "octave", ci=0.683,
    ...              bias_correction=True, raw=oadev_raw)
    >>> ds.tau.values[:3]
    array([1., 2., 4.])
    """
    data_type = choice("data_type", data_type, ("phase", "freq"))
    ci = check_options(ci, bias_correction)
    # Read-only from here on: no copy of a large record.
    values, rate = as_series(data, rate, name="data", min_length=2, copy=False)
    phase = to_phase(values, rate, data_type)
    n_phase = phase.x.size
    if factors is not None:
        m = np.asarray(factors(taus, n_phase, rate), dtype=np.int64)
    else:
        m = averaging_factors(statistic, taus, n_phase, rate, tau_scale=tau_scale, max_m=max_m)
    m = np.ascontiguousarray(m, dtype=np.int64)

    if spans_gaps:
        xk = phase.x if phase.span is None else phase.x_filled
        vals, n = raw(xk, m, rate, phase.span)
    else:
        vals, n = raw(phase.x, m, rate)
    vals = np.asarray(vals, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    vals = np.where(n > 0, vals, np.nan)

    k = m.size
    alpha = np.zeros(k, dtype=np.int64)
    edf = np.full(k, np.nan)
    dev = np.full(k, np.nan)
    valid = np.flatnonzero(n > 0)
    alpha[valid] = _noise_exponents(phase.x, m[valid], statistic, data_type)
    if kind == "value":
        dev[valid] = vals[valid]
    else:
        var = vals[valid]
        if bias_correction and statistic not in _bias._NONE:  # others divide by 1
            var = var / _bias.bias_factors(statistic, alpha[valid], m[valid], values.size, rate)
        dev[valid] = np.sqrt(var)
        edf[valid] = _edf.edfs(statistic, alpha[valid], m[valid], n_phase)
    if kind == "value":
        lo = np.full(k, np.nan)
        hi = np.full(k, np.nan)
    else:
        lo, hi = _edf.ci_bounds(dev, edf, float(ci))
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)

    tau = m.astype(np.float64) * (tau_scale / rate)
    variables = {
        "dev": (dev, {"units": units, "long_name": long_name or statistic}),
        "dev_lo": (lo, {"units": units, "long_name": f"lower {ci:g} bound"}),
        "dev_hi": (hi, {"units": units, "long_name": f"upper {ci:g} bound"}),
        "n": (n, {"long_name": "number of terms"}),
        "edf": (edf, {"long_name": "equivalent degrees of freedom"}),
        "alpha": (alpha, {"long_name": "noise exponent of S_y(f) ~ f^alpha"}),
    }
    attrs = {
        "statistic": statistic,
        "data_type": data_type,
        "ci": float(ci),
        "sample_rate": float(rate),
        "bias_correction": int(bool(bias_correction)),
        "units": units,
    }
    return _dataset(variables, tau, m, attrs)


def _dataset(
    variables: dict[str, tuple[np.ndarray, dict[str, Any]]],
    tau: np.ndarray,
    m: np.ndarray,
    attrs: dict[str, Any],
) -> xr.Dataset:
    """The result Dataset on ``tau`` (s, with its index) and ``m``, built from ready
    Variables: the same Dataset as ``xr.Dataset`` with tuples, without its merging."""
    coords = xr.Coordinates(
        {
            "tau": xr.Variable("tau", tau, {"units": "s", "long_name": "averaging time"}),
            "m": xr.Variable("tau", m, {"long_name": "averaging factor"}),
        },
        indexes={"tau": PandasIndex(pd.Index(tau), "tau")},
    )
    data_vars = {k: xr.Variable("tau", v, a) for k, (v, a) in variables.items()}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
