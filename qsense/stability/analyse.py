"""Many stability statistics of one record in one call (Stable32's "run all").

:func:`analyse` validates the options and the record once, converts frequency to phase
once, and shares between the statistics what they have in common, without changing a
single bit of any result: each statistic's slice equals its own function's result
(:func:`per_statistic` gives it back, ``xarray.testing.assert_identical``).

What is shared:

- validation (:func:`._pipeline.prepare`) and the frequency-to-phase integration;
- kernel passes: OADEV and TOTDEV (named tau sets) in one pass (TOTDEV's sum is
  OADEV's plus its edge terms), ADEV and HDEV (octave taus) from one decimation, the
  window sums of MDEV and TDEV (one pass, two scalings), the reflected
  window sums of MTOT and TTOT, the Theo1 sums of Theo1, TheoBR, ThêoH and of the
  TheoBR ratio (computed once per averaging factor), the TheoBR ratio itself, and any
  raw estimator called twice on the same factors (ThêoH's Allan rows and OADEV);
- noise identification: the lag-1 ACF once per factor for all statistics (one pass
  allowing 3 differences serves the Hadamard statistics and, wherever it stopped
  before a third, the Allan ones; it is re-run with 2 only where it did not), the B1
  ratio and the R(n) ratio once per factor, the Theo alpha once per record; only the B1
  decision, which depends on each statistic's number of terms, is made per statistic;
- the EDF of statistics with the same EDF rule (MDEV and TDEV, MTOT and TTOT, the Theo
  statistics) at the same factors and noise exponents, and one chi-square interval
  call for all statistics;
- the record's NaN scan, and the work arrays of the kernels that run one after another.

A dask-backed DataArray is handed to each statistic's public function instead (which
streams it where it can), and the results are assembled in the same layout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.indexes import PandasIndex

from qsense._validate import warn
from qsense.signal import DataType
from qsense.stability._analyse_work import Rows, Shared
from qsense.stability._pipeline import Columns, Request, attrs, compute_lazy, prepare
from qsense.stability._registry import SINGLE, SPECS, BiasTable, TauSet
from qsense.stability._result import result

__all__ = ["DEFAULT_STATISTICS", "analyse", "per_statistic"]

#: The statistics :func:`analyse` computes by default: the seven Allan-family ones.
DEFAULT_STATISTICS: tuple[str, ...] = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev")

_THEOBR_MIN = 90  # phase points TheoBR needs (its bias ratio)
_PART = "0 = overlapping Allan, 1 = TheoBR"


def analyse(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    statistics: Iterable[str] | str = DEFAULT_STATISTICS,
    taus: TauSet | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
    *,
    bias: BiasTable = "stable32",
    alpha: int | Any | None = None,
    progress: bool | None = False,
) -> xr.Dataset:
    """Several stability statistics of one record, sharing their common work.

    Every statistic gets exactly the numbers of its own function
    (``qsense.stability.<name>(data, rate, data_type, taus, ci, bias_correction,
    bias=bias, alpha=alpha)``): same ``dev``, bounds, ``n``, ``edf`` and ``alpha``,
    bit for bit. What the statistics have in common is done once: validation, the
    frequency-to-phase integration, kernel passes that serve several statistics (MDEV
    and TDEV, MTOT and TTOT, Theo1/TheoBR/ThêoH), the noise identification per
    averaging factor (lag-1 ACF, B1 and R(n) ratios), equal EDFs and the chi-square
    intervals (see the module docstring).

    Parameters
    ----------
    data : xarray.DataArray or array_like of float, shape (n,)
        Phase (time error) in s or dimensionless fractional frequency, per
        ``data_type``; NaN marks a missing sample. A DataArray on ``time`` gives the
        rate from its coordinate. A dask-backed DataArray is passed to each
        statistic's own function (which streams it where it can).
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); required for a plain array.
    data_type : {"phase", "freq"}
        ``"phase"`` (s) or ``"freq"`` (fractional frequency).
    statistics : str or sequence of str
        Names of single-record statistics (``"adev"``, ``"oadev"``, ``"mdev"``,
        ``"tdev"``, ``"hdev"``, ``"ohdev"``, ``"totdev"``, ``"mtotdev"``,
        ``"ttotdev"``, ``"htotdev"``, ``"theo1"``, ``"theobr"``, ``"theoh"``,
        ``"mtie"``, ``"tierms"``), in the order of the result, or ``"all"`` for all
        of them (TheoBR left out, with a warning, below 90 phase points). Default:
        :data:`DEFAULT_STATISTICS`. MTOT/TTOT/HTOT and TheoBR grow faster than N:
        at 3e4 points (octave taus) MTOT took 6 s and TheoBR (~N^3 / 900) 15 s here.
    taus : {"octave", "decade", "all"} or array_like of float
        Averaging times in s, or a Stable32 set, applied to each statistic by its own
        tau rule and limit (as its function does).
    ci : float
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        Apply each statistic's bias correction (see its function).
    bias : {"stable32", "sp1065"}
        Bias table (differs for MTOT/TTOT only; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one, for every statistic: one for every tau, or one per tau (then
        every statistic must have that many taus). None (default) identifies it.
    progress : bool or None
        For a dask-backed record: show a tqdm progress bar on standard error, one
        step per dask computation of the record streamed (a stage, or a batch of a
        large stage; each pass over the record adds its computations to the total, so
        the total grows as the passes are planned). None:
        when standard error is a terminal. Default False. Ignored for in-memory data.

    Returns
    -------
    xarray.Dataset
        Dimensions ``statistic`` (the names, in the order given) and ``tau``: the
        sorted union of the statistics' averaging times (s), values compared exactly
        (a Theo time 0.75 m tau0 may sit one ulp from an Allan one). A statistic with
        no row at a tau has ``m = 0``, ``n = 0``, ``alpha = 0`` and NaN ``dev``,
        ``dev_lo``, ``dev_hi``, ``edf`` there; a real row always has ``m >= 1`` (its
        ``n`` may be 0 where gaps leave no term). Coordinates: ``m`` (statistic, tau;
        int64 averaging factor), ``dev_units`` and ``dev_long_name`` (per statistic:
        ``"1"`` or ``"s"``, and the name of ``dev``). Variables ``dev``, ``dev_lo``,
        ``dev_hi`` (in ``dev_units``), ``edf`` (float64), ``n``, ``alpha`` (int64),
        and with ThêoH ``part`` (0 its Allan rows, 1 its Theo rows, -1 elsewhere:
        ThêoH with ``taus="all"`` may have an Allan and a Theo row at one tau, which
        then appears twice in ``tau``). Attributes: ``data_type``, ``ci``,
        ``sample_rate`` (Hz), ``bias_correction``, ``bias``, ``alpha_given``.
        :func:`per_statistic` returns each statistic's own Dataset.

    Raises
    ------
    ValueError, TypeError
        Naming the parameter: bad ``data`` (empty, 1 sample, all NaN, inf, 2-D, not
        numeric), ``rate``, ``data_type``, ``taus``, ``ci``, ``bias``, ``alpha``, or
        ``statistics`` (unknown or repeated name, empty); ``data`` under 90 phase
        points with ``"theobr"`` named explicitly.

    Warns
    -----
    UserWarning
        As each statistic's function: a record too short for any tau of a named set
        (that statistic's rows are then empty), explicit taus rounded or dropped;
        and TheoBR left out of ``"all"`` on a record too short for it.

    Examples
    --------
    >>> import numpy as np
    >>> from qsense.stability import oadev
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=10_000)) * 1e-9
    >>> ds = analyse(x, rate=1.0, statistics=["oadev", "mdev", "totdev"])
    >>> ds.sizes["statistic"], ds.sizes["tau"]  # TOTDEV goes one octave further
    (3, 13)
    >>> int(ds.m.sel(statistic="oadev", tau=4096.0))  # 0: no OADEV row at 4096 s
    0
    >>> bool((per_statistic(ds)["oadev"].dev == oadev(x, 1.0).dev).all())
    True
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    names, every = _names(statistics)
    if isinstance(data, xr.DataArray) and data.chunks is not None:
        show = sys.stderr.isatty() if progress is None else progress
        return _lazy(data, rate, names, every, taus, request, bias, alpha, show)
    record = prepare(data, rate, request.data_type)
    if every and record.n_phase < _THEOBR_MIN:
        names = _without_theobr(names, record.n_phase)
    shared = Shared(record, request, names, taus)
    rows = [shared.statistic(name, taus) for name in names]
    shared.intervals()
    return _assemble(rows, attrs(record, request))


def per_statistic(analysis: xr.Dataset) -> dict[str, xr.Dataset]:
    """Each statistic's own result Dataset from an :func:`analyse` Dataset.

    Parameters
    ----------
    analysis : xarray.Dataset
        The result of :func:`analyse` (or that Dataset saved and loaded again).

    Returns
    -------
    dict of str to xarray.Dataset
        Statistic name -> the Dataset its function returns (coordinate ``tau`` in s
        with ``m``, ``dev``, ``dev_lo``, ``dev_hi``, ``n``, ``edf``, ``alpha``; ThêoH
        also ``part``), rows in that function's order, attributes included.

    Raises
    ------
    TypeError
        If ``analysis`` is not an :func:`analyse` Dataset.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(1).normal(size=2000)
    >>> out = per_statistic(analyse(y, 1.0, "freq", ["adev", "tdev"]))
    >>> sorted(out), out["tdev"].attrs["units"]
    (['adev', 'tdev'], 's')
    """
    need = {"statistic", "tau", "m", "dev", "dev_lo", "dev_hi", "n", "edf", "alpha"}
    if not isinstance(analysis, xr.Dataset) or not need <= set(analysis.variables):
        raise TypeError(
            "analysis must be the Dataset of qsense.stability.analyse (with statistic, "
            f"tau, m, dev, dev_lo, dev_hi, n, edf, alpha), got {type(analysis).__name__}"
        )
    ds = analysis.transpose("statistic", "tau", ...)
    tau = ds["tau"].values
    arrays = {k: ds[k].values for k in ("m", "dev", "dev_lo", "dev_hi", "n", "edf", "alpha")}
    parts = ds["part"].values if "part" in ds else None
    out = {}
    for i, name in enumerate(ds["statistic"].values.tolist()):
        m = arrays["m"][i]
        rows = np.flatnonzero(m > 0)
        part = parts[i][rows] if parts is not None else np.zeros(rows.size, np.int64)
        rows = rows[np.lexsort((m[rows], part))]
        single = result(
            statistic=name,
            long_name=str(ds["dev_long_name"].values[i]),
            units=str(ds["dev_units"].values[i]),
            m=m[rows],
            tau=tau[rows],
            dev=arrays["dev"][i][rows],
            lo=arrays["dev_lo"][i][rows],
            hi=arrays["dev_hi"][i][rows],
            n=arrays["n"][i][rows],
            edf=arrays["edf"][i][rows],
            alpha=arrays["alpha"][i][rows],
            attrs=dict(ds.attrs),
        )
        if name == "theoh":
            single["part"] = ("tau", parts[i][rows], {"long_name": _PART})
        out[name] = single
    return out


# ------------------------------------------------------------------------ arguments


def _names(statistics: Any) -> tuple[list[str], bool]:
    """The statistic names (validated) and whether they are ``"all"``."""
    if isinstance(statistics, str):
        if statistics == "all":
            return list(SINGLE), True
        statistics = [statistics]
    if isinstance(statistics, bytes) or not isinstance(statistics, Iterable):
        raise TypeError(
            f"statistics must be 'all', a statistic name or a sequence of names, got {statistics!r}"
        )
    names = list(statistics)
    if not names:
        raise ValueError(f"statistics must name at least one statistic, got {statistics!r}")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"statistics must hold statistic names (str), got {name!r}")
        if name not in SINGLE:
            raise ValueError(
                f"statistics: statistic must be one of {SINGLE} or 'all', got {name!r}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"statistics must not repeat a name, got {names!r}")
    return names, False


def _without_theobr(names: list[str], n_phase: int) -> list[str]:
    warn(
        f"data is too short for theobr ({n_phase} phase points, it needs {_THEOBR_MIN}): "
        "left out of statistics='all'"
    )
    return [s for s in names if s != "theobr"]


# ------------------------------------------------------------------------ dask input


def _lazy(data, rate, names, every, taus, request, bias, alpha, show) -> xr.Dataset:
    """The streamed statistics together (:func:`._pipeline.compute_lazy`: one read of
    the record's stages for all of them), any other through its public function
    (which refuses a dask array, naming ``data.compute()``)."""
    if every:
        n_phase = data.size + (request.data_type == "freq")
        if n_phase < _THEOBR_MIN:
            names = _without_theobr(names, n_phase)
    from tqdm.auto import tqdm

    from qsense.stability._stream import STREAMED  # imports dask: only for dask input
    from qsense.stability._stream_run import reporting

    together = [name for name in names if name in STREAMED]
    with (
        tqdm(total=0, desc="streaming", unit="stage", disable=not show) as bar,
        reporting(bar if show else None),
    ):
        done = dict(
            zip(
                together,
                compute_lazy([SPECS[n] for n in together], data, rate, taus, request)
                if together
                else [],
                strict=True,
            )
        )
    rows, attributes = [], None
    for name in names:
        ds = done.get(name)
        if ds is None:
            ds = SPECS[name].function()(
                data,
                rate,
                request.data_type,
                taus,
                request.ci,
                request.bias_correction,
                bias=bias,
                alpha=alpha,
            )
        cols = Columns(
            *(ds[v].values for v in ("m", "tau", "dev", "dev_lo", "dev_hi", "n", "edf", "alpha"))
        )
        rows.append(Rows(name, cols, ds["part"].values if "part" in ds else None))
        if attributes is None:
            attributes = {k: v for k, v in ds.attrs.items() if k not in ("statistic", "units")}
    return _assemble(rows, attributes or {})


# ------------------------------------------------------------------------ the Dataset


def _assemble(rows: list[Rows], attributes: dict[str, Any]) -> xr.Dataset:
    """One Dataset on (statistic, tau): the sorted union of the taus, a tau repeated
    as often as one statistic has it (ThêoH's two parts)."""
    taus = [r.cols.tau for r in rows]
    everything = np.concatenate(taus) if taus else np.zeros(0)
    values = np.unique(everything)
    need = np.zeros(values.size, dtype=np.int64)
    places = []
    for tau in taus:
        pos = np.searchsorted(values, tau)
        order = np.argsort(pos, kind="stable")
        occurrence = np.zeros(tau.size, dtype=np.int64)
        if tau.size:  # rank among the rows of this statistic at the same tau
            sp = pos[order]
            first = np.r_[0, np.flatnonzero(np.diff(sp)) + 1]
            runs = np.diff(np.r_[first, sp.size])
            occurrence[order] = np.arange(sp.size) - np.repeat(first, runs)
            np.maximum.at(need, pos, occurrence + 1)
        places.append((pos, occurrence))
    start = np.r_[0, np.cumsum(need)[:-1]].astype(np.int64)
    union = np.repeat(values, need)
    shape = (len(rows), union.size)
    grid = {
        "m": np.zeros(shape, np.int64),
        "dev": np.full(shape, np.nan),
        "lo": np.full(shape, np.nan),
        "hi": np.full(shape, np.nan),
        "n": np.zeros(shape, np.int64),
        "edf": np.full(shape, np.nan),
        "alpha": np.zeros(shape, np.int64),
    }
    has_part = any(r.part is not None for r in rows)
    part = np.full(shape, -1, np.int64)
    for i, (r, (pos, occ)) in enumerate(zip(rows, places, strict=True)):
        col = start[pos] + occ
        for field, arr in grid.items():
            arr[i, col] = getattr(r.cols, field)
        if r.part is not None:
            part[i, col] = r.part
    ci = attributes.get("ci", float("nan"))
    dims = ("statistic", "tau")
    data_vars = {
        "dev": (dims, grid["dev"], {"long_name": "deviation (units: dev_units)"}),
        "dev_lo": (dims, grid["lo"], {"long_name": f"lower {ci:g} bound"}),
        "dev_hi": (dims, grid["hi"], {"long_name": f"upper {ci:g} bound"}),
        "n": (dims, grid["n"], {"long_name": "number of terms"}),
        "edf": (dims, grid["edf"], {"long_name": "equivalent degrees of freedom"}),
        "alpha": (dims, grid["alpha"], {"long_name": "noise exponent of S_y(f) ~ f^alpha"}),
    }
    if has_part:
        data_vars["part"] = (dims, part, {"long_name": f"theoh rows: {_PART}, -1 elsewhere"})
    names = np.array([r.name for r in rows], dtype=str)
    coords = {
        "statistic": ("statistic", names, {}),
        "tau": ("tau", union, {"units": "s", "long_name": "averaging time"}),
        "m": (dims, grid["m"], {"long_name": "averaging factor (0: no row)"}),
        "dev_units": ("statistic", np.array([SPECS[s].units for s in names], dtype=str), {}),
        "dev_long_name": (
            "statistic",
            np.array([SPECS[s].long_name for s in names], dtype=str),
            {},
        ),
    }
    # ready Variables and indexes: the same Dataset as from tuples, without its merging
    indexes = {
        "statistic": PandasIndex(pd.Index(names), "statistic"),
        "tau": PandasIndex(pd.Index(union), "tau"),
    }
    coordinates = xr.Coordinates({k: xr.Variable(*v) for k, v in coords.items()}, indexes=indexes)
    variables = {k: xr.Variable(*v) for k, v in data_vars.items()}
    return xr.Dataset(variables, coords=coordinates, attrs=dict(attributes))
