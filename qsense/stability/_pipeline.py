"""The one pipeline every stability statistic runs through.

:func:`compute` validates the options once (:class:`Request`) and the record once
(:func:`prepare`), picks the averaging factors by the statistic's registry tau rule,
calls its raw estimator, asks the noise-identification, bias and EDF modules for
``alpha``, the bias divisor, the EDF and the confidence interval of each tau
(:func:`evaluate`), and builds the result Dataset with :func:`._result.result`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from qsense._lazy import is_lazy
from qsense._validate import choice, confidence, warn
from qsense.signal import DataType, as_series
from qsense.stability import _bias, _edf
from qsense.stability._phase import PhaseInput, to_phase
from qsense.stability._registry import Spec, spec_of
from qsense.stability._result import result
from qsense.stability._taus import factors, warn_if_empty
from qsense.stability.noise_id import identify_alphas

__all__ = [
    "Columns",
    "Record",
    "Request",
    "attrs",
    "build",
    "columns",
    "compute",
    "evaluate",
    "given_alpha",
    "prepare",
]


@dataclass(frozen=True)
class Request:
    """The options every statistic shares, validated once.

    Attributes
    ----------
    data_type : {"phase", "freq"}
        What the data hold.
    ci : float
        Confidence level of the interval, in (0, 1).
    bias_correction : bool
        Whether the statistic's bias rule is applied.
    bias : {"stable32", "sp1065"}
        Which bias table (see :mod:`qsense.stability._bias`).
    alpha : None, int or numpy.ndarray of int64
        Noise exponent(s) imposed instead of identified (None: identify).
    """

    data_type: DataType = "phase"
    ci: float = 0.683
    bias_correction: bool = True
    bias: str = "stable32"
    alpha: int | np.ndarray | None = None

    @classmethod
    def checked(
        cls,
        data_type: Any = "phase",
        ci: Any = 0.683,
        bias_correction: Any = True,
        bias: Any = "stable32",
        alpha: Any = None,
    ) -> Request:
        """A Request from the public arguments; ValueError/TypeError naming the bad one."""
        data_type = choice("data_type", data_type, ("phase", "freq"))
        ci = confidence("ci", ci)
        if not isinstance(bias_correction, bool | np.bool_):
            raise TypeError(f"bias_correction must be True or False, got {bias_correction!r}")
        bias = choice("bias", bias, _bias.BIAS_TABLES)
        if bias != "stable32" and not bias_correction:
            raise ValueError(
                f"bias={bias!r} selects a bias correction but bias_correction is False; "
                "pass bias_correction=True (or leave bias at 'stable32')"
            )
        return cls(data_type, ci, bool(bias_correction), bias, _check_alpha(alpha))


def _check_alpha(alpha: Any) -> int | np.ndarray | None:
    """``alpha`` as None, an int in -2 ... 2, or a 1-D int64 array of them."""
    if alpha is None:
        return None
    if isinstance(alpha, bool | np.bool_ | str | bytes):
        raise TypeError(f"alpha must be None or integer noise exponents, got {alpha!r}")
    if isinstance(alpha, numbers.Integral):
        if not -2 <= int(alpha) <= 2:
            raise ValueError(f"alpha must be an integer noise exponent in -2 ... 2, got {alpha!r}")
        return int(alpha)
    try:
        arr = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be None or integer noise exponents, got {alpha!r}") from None
    if np.asarray(alpha).dtype.kind not in "iuf" or arr.ndim != 1:
        raise TypeError(
            f"alpha must be None, an int or a 1-D sequence of ints (one per tau), got {alpha!r}"
        )
    if not np.all(np.isin(arr, (-2.0, -1.0, 0.0, 1.0, 2.0))):
        raise ValueError(f"alpha must hold integer noise exponents in -2 ... 2, got {alpha!r}")
    return arr.astype(np.int64)


@dataclass(frozen=True)
class Record:
    """One validated record: samples, rate (Hz) and phase (see :func:`prepare`)."""

    values: np.ndarray
    rate: float
    phase: PhaseInput

    @property
    def n_phase(self) -> int:
        """Number of phase points N."""
        return self.phase.x.size


def prepare(data: Any, rate: float | None, data_type: str, name: str = "data") -> Record:
    """Validate a record once and convert it to phase (read-only: no copy of a large
    record; at least 2 samples, not all NaN, no inf)."""
    values, rate = as_series(data, rate, name=name, min_length=2, copy=False)
    return Record(values, rate, to_phase(values, rate, data_type))


@dataclass
class Columns:
    """The per-tau arrays of a result (see :func:`._result.result`)."""

    m: np.ndarray
    tau: np.ndarray
    dev: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray
    edf: np.ndarray
    alpha: np.ndarray


def given_alpha(alpha: int | np.ndarray | None, k: int) -> np.ndarray | None:
    if alpha is None or isinstance(alpha, int):
        return None if alpha is None else np.full(k, alpha, dtype=np.int64)
    if alpha.size != k:
        raise ValueError(
            f"alpha must be one int or one per averaging time ({k} here), got {alpha.size} values"
        )
    return alpha


def evaluate(
    spec: Spec,
    record: Record,
    m: np.ndarray,
    request: Request,
    *,
    alpha: np.ndarray | None = None,
    edf_alpha: int | None = None,
) -> Columns:
    """One statistic at the factors ``m`` of a prepared record.

    Parameters
    ----------
    spec : Spec
        The statistic (estimator, kind, tau scale, bias and EDF rules).
    record : Record
        From :func:`prepare`.
    m : numpy.ndarray of int64, shape (k,)
        Averaging factors.
    request : Request
        Shared options.
    alpha : numpy.ndarray of int64, shape (k,), optional
        Imposed noise exponents (None: identified by :mod:`.noise_id`).
    edf_alpha : int, optional
        Noise exponent of the EDF instead of ``alpha`` (TheoH's Theo rows: white FM).

    Returns
    -------
    Columns
        A tau with no valid term (``n = 0``) has NaN ``dev``, bounds and ``edf`` and
        ``alpha = 0``.
    """
    m = np.ascontiguousarray(m, dtype=np.int64)
    rate, phase = record.rate, record.phase
    vals, n = spec.estimator()(phase.gap_free, m, rate, phase.span)
    vals = np.asarray(vals, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    out_alpha = np.zeros(m.size, dtype=np.int64)
    valid = np.flatnonzero(n > 0)
    if alpha is None:
        out_alpha[valid] = identify_alphas(phase.x, m[valid], spec.name, request.data_type)
    else:
        out_alpha[valid] = alpha[valid]
    sizes = (record.values.size, record.n_phase, rate)
    return columns(spec, m, vals, n, out_alpha, sizes, request, edf_alpha)


def columns(
    spec: Spec,
    m: np.ndarray,
    vals: np.ndarray,
    n: np.ndarray,
    out_alpha: np.ndarray,
    sizes: tuple[int, int, float],
    request: Request,
    edf_alpha: int | None = None,
    *,
    edfs: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    bounds: bool = True,
) -> Columns:
    """The :class:`Columns` of raw values ``vals`` (variance or value) with ``n`` terms
    and noise exponents ``out_alpha`` at the factors ``m``: bias, deviation, EDF and
    interval; ``sizes`` = (input samples, phase points N, rate in Hz). Shared by
    :func:`evaluate`, the streaming path (:mod:`._stream`) and ``analyse``, which passes
    ``edfs(alpha, m)`` (its memoised ``_edf.edfs``) and ``bounds=False`` (it fills
    ``lo``/``hi`` of every statistic in one ``_edf.ci_bounds`` call; left NaN here)."""
    n_in, n_phase, rate = sizes
    k = m.size
    edf = np.full(k, np.nan)
    dev = np.full(k, np.nan)
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    valid = np.flatnonzero(n > 0)
    if spec.kind == "value":
        dev[valid] = vals[valid]
    else:
        var = vals[valid]
        a, mv = out_alpha[valid], m[valid]
        if request.bias_correction and spec.bias != "none":  # the others divide by 1
            # Stable32's T = n_in tau0 (Sr87 TOTDEV tables)
            var = var / _bias.bias_factors(spec.name, a, mv, n_in, rate, request.bias)
        dev[valid] = np.sqrt(var)
        if edf_alpha is not None:
            a = np.full(a.size, edf_alpha, dtype=np.int64)
        edf[valid] = _edf.edfs(spec.name, a, mv, n_phase) if edfs is None else edfs(a, mv)
        if bounds:
            lo, hi = _edf.ci_bounds(dev, edf, request.ci)
            lo = np.asarray(lo, dtype=np.float64)
            hi = np.asarray(hi, dtype=np.float64)
    tau = m.astype(np.float64) * (spec.tau_scale / rate)
    return Columns(m, tau, dev, lo, hi, n, edf, out_alpha)


def attrs(record: Any, request: Request) -> dict[str, Any]:
    """The attributes every stability result carries (but ``statistic`` and ``units``)."""
    return {
        "data_type": request.data_type,
        "ci": request.ci,
        "sample_rate": float(record.rate),
        "bias_correction": int(request.bias_correction),  # an int: netCDF has no bool
        "bias": request.bias,
        "alpha_given": int(request.alpha is not None),
    }


def compute(
    statistic: str | Spec, data: Any, rate: float | None, taus: Any, request: Request
) -> xr.Dataset:
    """Run one single-record statistic: validation, phase, taus, alpha, bias, EDF, CI.

    Parameters
    ----------
    statistic : str or Spec
        Registry name (or spec) of the statistic.
    data : xarray.DataArray or array-like, shape (n,), or Record
        Phase in s or fractional frequency (``request.data_type``); NaN marks a gap. A
        :class:`Record` from :func:`prepare` is used as it is (``rate`` ignored). A
        dask-backed DataArray (or dask array) is streamed chunk by chunk in bounded
        memory by :mod:`._stream` (statistics of ``_stream.STREAMED``, gaps
        included), with the same result.
    rate : float or None
        Sample rate in Hz (None for a DataArray with a time coordinate).
    taus : {"octave", "decade", "all"} or array-like of float
        Averaging times (s) or a named Stable32 set (see :mod:`._taus`).
    request : Request
        The validated shared options.

    Returns
    -------
    xarray.Dataset
        Coordinate ``tau`` (s) and ``m`` (averaging factor, on ``tau``); variables
        ``dev``, ``dev_lo``, ``dev_hi`` (in the spec's units), ``n`` (int64), ``edf``
        (float64), ``alpha`` (int64, S_y(f) ~ f^alpha); attrs ``statistic``,
        ``data_type``, ``ci``, ``sample_rate`` (Hz), ``bias_correction`` (1 or 0),
        ``bias``, ``alpha_given`` (1 or 0), ``units``.

    Warns
    -----
    UserWarning
        When the record is too short for any tau of a named set (empty result), or
        when gaps leave no averaging time a complete term (``dev`` NaN everywhere).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=1000)
    >>> compute("oadev", x, 1.0, "octave", Request()).tau.values[:3]
    array([1., 2., 4.])
    """
    spec = statistic if isinstance(statistic, Spec) else spec_of(statistic)
    if is_lazy(data):  # a dask-backed record: streamed in bounded memory
        return compute_lazy([spec], data, rate, taus, request)[0]
    record = data if isinstance(data, Record) else prepare(data, rate, request.data_type)
    m = factors(spec, taus, record.n_phase, record.rate)
    warn_if_empty(m, spec.name, record.n_phase, taus)
    cols = evaluate(spec, record, m, request, alpha=given_alpha(request.alpha, m.size))
    if cols.n.size and not np.any(cols.n > 0):
        warn(
            f"{spec.name}: no averaging time has a complete term (the gaps in data leave "
            f"none of its {record.n_phase} phase points usable); dev is NaN at every tau"
        )
    return build(spec, cols, attrs(record, request))


def compute_lazy(
    specs: list[Spec], data: Any, rate: float | None, taus: Any, request: Request
) -> list[xr.Dataset]:
    """:func:`compute` of several statistics of one dask-backed record, streamed
    together (:func:`qsense.stability._stream.drive`): the record is validated (and
    frequency integrated) once, and each stage of it is read once for all of them.

    Parameters
    ----------
    specs : list of Spec
        Statistics (of ``_stream.STREAMED``).
    data : dask-backed DataArray or dask array
        The record (phase in s, or fractional frequency).
    rate : float or None
        Sample rate (Hz), if ``data`` has no time coordinate or ``sample_rate``.
    taus : str or array_like
        Averaging times, as :func:`compute`.
    request : Request
        Options shared by the statistics.

    Returns
    -------
    list of xarray.Dataset
        One per statistic, as :func:`compute` returns it.
    """
    from qsense.stability import _stream

    lazy = _stream.prepare_lazy(specs[0], data, rate, request.data_type, merge=True)
    plans, flows = [], []
    for spec in specs:
        _stream.check_streamed(spec)
        m = factors(spec, taus, lazy.n_phase, lazy.rate)
        warn_if_empty(m, spec.name, lazy.n_phase, taus)
        imposed = given_alpha(request.alpha, m.size)
        plans.append(m)
        flows.append(_stream.flow(spec, lazy, m, request.data_type, imposed))
    sizes = (lazy.n_in, lazy.n_phase, lazy.rate)
    out = []
    for spec, m, (vals, n, alphas) in zip(specs, plans, _stream.drive(flows), strict=True):
        if n.size and not np.any(n > 0):  # gaps everywhere, as :func:`compute` warns
            warn(
                f"{spec.name}: no averaging time has a complete term (the gaps in data "
                f"leave none of its {lazy.n_phase} phase points usable); dev is NaN at "
                "every tau"
            )
        out.append(
            build(spec, columns(spec, m, vals, n, alphas, sizes, request), attrs(lazy, request))
        )
    return out


def build(spec: Spec, cols: Columns, attributes: dict[str, Any], **names: str) -> xr.Dataset:
    """The result Dataset of ``cols`` (``names`` may override ``statistic``/``long_name``)."""
    return result(
        statistic=names.get("statistic", spec.name),
        long_name=names.get("long_name", spec.long_name),
        units=spec.units,
        m=cols.m,
        tau=cols.tau,
        dev=cols.dev,
        lo=cols.lo,
        hi=cols.hi,
        n=cols.n,
        edf=cols.edf,
        alpha=cols.alpha,
        attrs=attributes,
    )
