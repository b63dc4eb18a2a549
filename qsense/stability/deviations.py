"""Allan-family deviations: ADEV, OADEV, MDEV, TDEV, HDEV, OHDEV, TOTDEV, MTIE, TIE rms
and the Groslambert codeviation.

Every statistic has the same signature, ``f(data, rate=None, data_type="phase",
taus="octave", ci=0.683, bias_correction=True)``, and returns an
:class:`xarray.Dataset` on the coordinate ``tau`` (s) with ``dev``, ``dev_lo``,
``dev_hi`` (two-sided interval at level ``ci`` from the chi-square distribution with
the Greenhall/Riley EDF of the identified noise type), ``n`` (number of terms),
``edf`` and ``alpha`` (noise exponent of S_y(f) ~ f^alpha, -2 ... +2). Values,
term counts, tau sets and limits reproduce Stable32 (see :mod:`._taus`).

Gaps (NaN) are handled as Stable32 does: a term is skipped when it touches a missing
sample, and ``n`` counts the valid terms only. For ``data_type="phase"`` a term
touches the phase samples it reads (MDEV/TDEV: all of ``x[j..j+3m-1]``). For
``data_type="freq"`` the frequency record is integrated to phase with each gap
filled by the mean frequency, and exactly the terms whose span straddles a missing
frequency sample are dropped, which is the same as computing from the frequency data
directly; a gap therefore never poisons the rest of the record.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import choice
from qsense.signal import as_series
from qsense.stability import _kernels, _kernels_modified
from qsense.stability._pipeline import check_options, compute, to_phase
from qsense.stability._taus import averaging_factors
from qsense.stability.noise_id import identify_alpha

__all__ = [
    "adev",
    "gcodev",
    "hdev",
    "mdev",
    "mtie",
    "oadev",
    "ohdev",
    "tdev",
    "tierms",
    "totdev",
]

DataType = Literal["phase", "freq"]
Taus = Literal["octave", "decade", "all"] | Any

_PARAMS = """
    Parameters
    ----------
    data : xarray.DataArray or array-like of float, shape (n,)
        Phase (time error) in s, or dimensionless fractional frequency, per
        ``data_type``; NaN marks a missing sample. A DataArray on dimension ``time``
        gives the rate from its coordinate.
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); required for a plain array.
    data_type : {"phase", "freq"}
        ``"phase"`` (s) or ``"freq"`` (fractional frequency).
    taus : {"octave", "decade", "all"} or array-like of float
        Averaging times in s (rounded to multiples of ``tau0``), or a Stable32 set:
        ``"octave"`` (m = 1, 2, 4, ...), ``"decade"`` (1, 2, 4, 10, 20, ...) or
        ``"all"`` (Stable32 "many tau"), up to the statistic's Stable32 limit.
    ci : float
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        Apply the noise-type bias correction where one exists (TOTDEV for flicker
        and random-walk FM, as Stable32); no effect on the other statistics.

    Returns
    -------
    xarray.Dataset
        Coordinates ``tau`` (s) and ``m`` (averaging factor); variables ``dev``,
        ``dev_lo``, ``dev_hi`` ({units}), ``n`` (int), ``edf``, ``alpha`` (int);
        attributes ``statistic``, ``data_type``, ``ci``, ``sample_rate`` (Hz),
        ``bias_correction``, ``units``.
"""


def _doc(units: str):
    def deco(func):
        func.__doc__ = func.__doc__.replace("{params}", _PARAMS.replace("{units}", units))
        return func

    return deco


def _run(
    name, raw, data, rate, data_type, taus, ci, bias_correction, *, units="1", kind="variance"
):
    return compute(
        name,
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=raw,
        units=units,
        kind=kind,
        spans_gaps=True,
        long_name=_LONG[name],
    )


_LONG = {
    "adev": "Allan deviation",
    "oadev": "overlapping Allan deviation",
    "mdev": "modified Allan deviation",
    "tdev": "time deviation",
    "hdev": "Hadamard deviation",
    "ohdev": "overlapping Hadamard deviation",
    "totdev": "total deviation",
    "mtie": "maximum time interval error",
    "tierms": "rms time interval error",
    "gcodev": "Groslambert codeviation",
}


@_doc("dimensionless")
def adev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Allan deviation (non-overlapping), NIST SP 1065 eq. (7)-(8).

    ``AVAR(tau) = sum_i (x[i+2m] - 2x[i+m] + x[i])^2 / (2 tau^2 (N/m - 2))`` over
    ``i = 0, m, 2m, ...``, with ``tau = m tau0`` and ``n = floor((N-1)/m) - 1`` terms.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(1).normal(size=4096)
    >>> ds = adev(y, rate=1.0, data_type="freq")
    >>> bool(0.9 < ds.dev.sel(tau=1.0) < 1.1)
    True
    """
    return _run("adev", _kernels.adev_raw, data, rate, data_type, taus, ci, bias_correction)


@_doc("dimensionless")
def oadev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Overlapping Allan deviation, NIST SP 1065 eq. (10).

    ``AVAR(tau) = sum_{i=0}^{N-2m-1} (x[i+2m] - 2x[i+m] + x[i])^2 / (2 tau^2 (N - 2m))``.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(1).normal(size=4096)
    >>> ds = oadev(y, rate=1.0, data_type="freq", taus=[1.0, 10.0])
    >>> ds.n.values.tolist()
    [4095, 4077]
    """
    return _run("oadev", _kernels.oadev_raw, data, rate, data_type, taus, ci, bias_correction)


@_doc("dimensionless")
def mdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Modified Allan deviation, NIST SP 1065 eq. (14).

    ``MVAR(tau) = sum_j (sum_{i=j}^{j+m-1} x[i+2m] - 2x[i+m] + x[i])^2 /
    (2 m^2 tau^2 (N - 3m + 1))``.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).normal(size=3000)
    >>> int(mdev(x, rate=1.0, taus=[4.0]).n[0])
    2989
    """
    return _run(
        "mdev", _kernels_modified.mdev_raw, data, rate, data_type, taus, ci, bias_correction
    )


@_doc("s")
def tdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Time deviation, NIST SP 1065 eq. (15): ``TDEV = tau / sqrt(3) * MDEV`` (s).
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> x = 1e-9 * np.random.default_rng(2).normal(size=3000)
    >>> ds = tdev(x, rate=1.0)
    >>> ds.attrs["units"]
    's'
    """
    return _run(
        "tdev",
        _kernels_modified.tdev_raw,
        data,
        rate,
        data_type,
        taus,
        ci,
        bias_correction,
        units="s",
    )


@_doc("dimensionless")
def hdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Hadamard deviation (non-overlapping), NIST SP 1065 eq. (17)-(18).

    ``HVAR(tau) = sum_i (x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i])^2 / (6 tau^2 n)`` over
    ``i = 0, m, 2m, ...``, ``n = floor((N-1)/m) - 2``.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(3).normal(size=1000)
    >>> int(hdev(y, rate=1.0, data_type="freq", taus=[10.0]).n[0])
    98
    """
    return _run("hdev", _kernels.hdev_raw, data, rate, data_type, taus, ci, bias_correction)


@_doc("dimensionless")
def ohdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Overlapping Hadamard deviation, NIST SP 1065 eq. (20).

    ``HVAR(tau) = sum_{i=0}^{N-3m-1} (x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i])^2 /
    (6 tau^2 (N - 3m))``.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(3).normal(size=1000)
    >>> int(ohdev(y, rate=1.0, data_type="freq", taus=[10.0]).n[0])
    971
    """
    return _run("ohdev", _kernels.ohdev_raw, data, rate, data_type, taus, ci, bias_correction)


@_doc("dimensionless")
def totdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Total deviation, NIST SP 1065 eq. (25).

    The phase is extended at both ends by reflection about the end points
    (``x*[-j] = 2x[0] - x[j]``, ``x*[N-1+j] = 2x[N-1] - x[N-1-j]``) and
    ``TOTVAR(tau) = sum_{i=1}^{N-2} (x*[i-m] - 2x*[i] + x*[i+m])^2 / (2 tau^2 (N-2))``.
    With ``bias_correction`` the variance is divided by Stable32's flicker/random-walk
    FM bias factor (Howe; SP 1065 sec. 5.2.11). Leading and trailing NaN are
    trimmed before reflecting.
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(4).normal(size=1000)
    >>> int(totdev(x, rate=1.0, taus=[8.0]).n[0])
    998
    """
    return _run("totdev", _kernels.totdev_raw, data, rate, data_type, taus, ci, bias_correction)


@_doc("s")
def mtie(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Maximum time interval error (s), ITU-T G.810 / NIST SP 1065 eq. (37).

    ``MTIE(tau) = max_i (max_{i<=k<=i+m} x[k] - min_{i<=k<=i+m} x[k])`` over the
    ``n = N - m`` windows of ``m + 1`` samples, computed with monotone deques in
    O(N) time and memory per tau. ``taus="all"`` is Stable32's fast set
    ``m = 2**k - 1``. No confidence interval (``dev_lo``/``dev_hi``/``edf`` NaN);
    ``ci`` and ``bias_correction`` are accepted for a uniform signature. ``n`` counts
    windows, as Stable32's fast mode prints; its normal mode prints N instead (the
    values agree).
    {params}
    Examples
    --------
    >>> import numpy as np
    >>> float(mtie([0.0, 1.0, -1.0, 0.0], rate=1.0, taus=[1.0, 2.0]).dev[1])
    2.0
    """
    return _run(
        "mtie",
        _kernels.mtie_raw,
        data,
        rate,
        data_type,
        taus,
        ci,
        bias_correction,
        units="s",
        kind="value",
    )


@_doc("s")
def tierms(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Rms time interval error (s), as Stable32 ("TIE rms"; ITU-T G.810):
    ``TIErms(tau) = sqrt(sum_{i=0}^{N-m-1} (x[i+m] - x[i])^2 / (N - m))``.

    No confidence interval (``dev_lo``/``dev_hi``/``edf`` NaN).
    {params}
    Examples
    --------
    >>> float(tierms([0.0, 1.0, 2.0], rate=1.0, taus=[1.0]).dev[0])
    1.0
    """
    return _run(
        "tierms",
        _kernels.tierms_raw,
        data,
        rate,
        data_type,
        taus,
        ci,
        bias_correction,
        units="s",
        kind="value",
    )


def gcodev(
    data1: Any,
    data2: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Groslambert codeviation of two records measured against a common reference.

    ``GCOV(tau) = sum_{i=0}^{N-2m-1} d1_i d2_i / (2 tau^2 (N - 2m))`` with
    ``d_i = x[i+2m] - 2x[i+m] + x[i]`` of each record (the overlapping Allan
    covariance; Vernotte, Lantz et al., "Three-cornered hat and Groslambert covariance",
    IEEE TUFFC 62(8), 2015). ``dev = sign(GCOV) sqrt(|GCOV|)``: for the records A-B and
    A-C it estimates the Allan deviation of the common clock A, with noise of B and C
    averaging out instead of being subtracted, so it cannot go imaginary. A term is
    skipped when either record is missing a sample it reads.

    Parameters
    ----------
    data1, data2 : xarray.DataArray or array-like of float, shape (n,)
        The two records (same length and rate), phase in s or fractional frequency.
    rate, data_type, taus, ci, bias_correction
        As for :func:`oadev` (``ci``/``bias_correction`` do not apply: no interval).

    Returns
    -------
    xarray.Dataset
        As :func:`oadev`; ``dev`` is signed, ``dev_lo``/``dev_hi``/``edf`` are NaN and
        ``alpha`` is identified on ``data1``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> a, b, c = rng.normal(size=(3, 20000))
    >>> ds = gcodev(a - b, a - c, rate=1.0, data_type="freq", taus=[1.0])
    >>> bool(0.9 < ds.dev[0] < 1.1)
    True
    """
    data_type = choice("data_type", data_type, ("phase", "freq"))
    ci = check_options(ci, bias_correction)
    v1, r1 = as_series(data1, rate, name="data1", min_length=2)
    v2, r2 = as_series(data2, rate, name="data2", min_length=2)
    if v1.size != v2.size:
        raise ValueError(f"data1 and data2 must have the same length, got {v1.size} and {v2.size}")
    if abs(r1 - r2) > 1e-6 * r1:
        raise ValueError(f"data1 and data2 must have the same rate, got {r1!r} and {r2!r} Hz")
    p1 = to_phase(v1, r1, data_type)
    p2 = to_phase(v2, r1, data_type)
    m = averaging_factors("gcodev", taus, p1.x.size, r1)
    var, n = _kernels.gcodev_raw(p1.x, p2.x, m, r1)
    dev = np.where(n > 0, np.sign(var) * np.sqrt(np.abs(var)), np.nan)
    alpha = np.array(
        [
            identify_alpha(p1.x, int(mk), "oadev", data_type) if nk > 0 else 0
            for mk, nk in zip(m, n, strict=True)
        ],
        dtype=np.int64,
    )
    nan = np.full(m.size, np.nan)
    return xr.Dataset(
        {
            "dev": ("tau", dev, {"units": "1", "long_name": _LONG["gcodev"]}),
            "dev_lo": ("tau", nan.copy(), {"units": "1"}),
            "dev_hi": ("tau", nan.copy(), {"units": "1"}),
            "n": ("tau", n, {"long_name": "number of terms"}),
            "edf": ("tau", nan.copy(), {"long_name": "equivalent degrees of freedom"}),
            "alpha": ("tau", alpha, {"long_name": "noise exponent of S_y(f) ~ f^alpha"}),
        },
        coords={
            "tau": ("tau", m / r1, {"units": "s", "long_name": "averaging time"}),
            "m": ("tau", m, {"long_name": "averaging factor"}),
        },
        attrs={
            "statistic": "gcodev",
            "data_type": data_type,
            "ci": ci,
            "sample_rate": float(r1),
            "bias_correction": int(bool(bias_correction)),
            "units": "1",
        },
    )
