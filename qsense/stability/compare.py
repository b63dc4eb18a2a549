"""Comparisons of several clocks: the three-cornered hat and its N-clock generalisation.

A phase (or frequency) comparison of clocks ``i`` and ``j`` measures the difference
``x_ij = x_i - x_j``. When the clocks are independent the Allan-type variances add,
``s_ij^2 = sigma_i^2 + sigma_j^2`` at every averaging time, and with three or more clocks
the individual ``sigma_i^2`` can be solved for from the pairwise variances.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import choice, confidence, warn
from qsense.signal import DataType, common_grid
from qsense.stability._edf import ci_bounds
from qsense.stability._kernels import gcodev_raw
from qsense.stability._pipeline import Columns, Request, attrs, build, given_alpha, prepare
from qsense.stability._registry import SINGLE, SPECS, BiasTable, TauSet, statistic_function
from qsense.stability._taus import factors, warn_if_empty
from qsense.stability.noise_id import identify_alphas

__all__ = ["gcodev", "three_cornered_hat"]

#: Single-record statistics that ``statistic=`` accepts by name.
STATISTICS = SINGLE


def _design(pairs: list[tuple[str, str]], clocks: list[str]) -> np.ndarray:
    """Incidence matrix A (n_pairs, n_clocks): s_ij^2 = (A @ sigma^2)_ij."""
    index = {c: k for k, c in enumerate(clocks)}
    a = np.zeros((len(pairs), len(clocks)))
    for p, (i, j) in enumerate(pairs):
        a[p, index[i]] = 1.0
        a[p, index[j]] = 1.0
    return a


def _satterthwaite_edf(
    var: np.ndarray, weights: np.ndarray, s2: np.ndarray, edf: np.ndarray
) -> np.ndarray:
    """Satterthwaite EDF (clock, tau) of ``var = weights @ s2``, the pairs taken as independent.

    ``var`` is (clock, tau), ``weights`` (clock, pair), ``s2`` and ``edf`` (pair, tau):
    ``var^2 / sum_p (w_p s2_p)^2 / edf_p``. A pair of zero weight adds nothing (even with
    a NaN EDF); a non-positive pair EDF gives NaN.
    """
    terms = weights[:, :, None] * s2[None, :, :]  # (clock, pair, tau)
    nu = np.where(edf > 0, edf, np.nan)[None, :, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(terms == 0.0, 0.0, terms**2 / nu).sum(axis=1)
        return var**2 / spread


def _check_pairs(pairs: Any) -> tuple[list[tuple[str, str]], list[str]]:
    if not isinstance(pairs, Mapping):
        raise TypeError(
            "pairs must be a mapping {(clock_i, clock_j): x_ij} of pairwise comparison "
            f"records, got {type(pairs).__name__}"
        )
    keys: list[tuple[str, str]] = []
    clocks: list[str] = []
    seen: set[frozenset[str]] = set()
    for key in pairs:
        if (
            not isinstance(key, tuple)
            or len(key) != 2
            or not all(isinstance(c, str) for c in key)
            or key[0] == key[1]
        ):
            raise ValueError(
                f"pairs keys must be tuples of two different clock names (str), got {key!r}"
            )
        if frozenset(key) in seen:
            raise ValueError(f"pairs has the comparison {key!r} twice (in either order)")
        seen.add(frozenset(key))
        keys.append(key)
        clocks.extend(c for c in key if c not in clocks)
    if len(clocks) < 3:
        raise ValueError(
            f"pairs must compare at least 3 clocks for a cornered hat, got {len(clocks)}: {clocks}"
        )
    return keys, clocks


def three_cornered_hat(
    pairs: Mapping[tuple[str, str], Any],
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: TauSet | Any = "octave",
    *,
    statistic: str | Callable[..., xr.Dataset] = "oadev",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Individual clock stabilities from pairwise comparisons (three/N-cornered hat).

    Parameters
    ----------
    pairs : mapping {(str, str): xarray.DataArray or array-like}
        Comparison records keyed by ``(clock_i, clock_j)``, each the difference
        ``x_i - x_j`` (phase in s, or fractional frequency) of simultaneous measurements,
        shape (n,), all on one time grid (same length, rate and start: checked by
        :func:`qsense.signal.common_grid`, whose errors name both records). The
        sign (key order) does not matter. At least 3 clocks; every clock must be
        determined (for N clocks the comparison graph needs a cycle of odd length
        through all of them - all N(N-1)/2 pairs is the usual case).
    rate : float, optional
        Sample rate in Hz, for plain arrays.
    data_type : {"phase", "freq"}
        Type of every record.
    taus : {"octave", "decade", "all"} or array-like of float
        Averaging times (s), as for the statistic; the result keeps the taus present
        for every pair.
    statistic : str or callable
        Variance-type statistic applied to each pair: ``"oadev"`` (default),
        ``"mdev"``, ``"hdev"``, ``"tdev"``, ... (any function of
        :mod:`qsense.stability.deviations` or :mod:`qsense.stability.total`) or a
        function with the signature of :func:`qsense.stability.oadev`.
    ci : float
        Two-sided confidence level in (0, 1) of the per-clock intervals
        (``dev_lo``/``dev_hi``) and the pairwise ones (``pair_dev_lo``/``pair_dev_hi``).
    bias_correction : bool
        Passed to the statistic.

    Returns
    -------
    xarray.Dataset
        Coordinates ``clock`` (names in order of first appearance), ``tau`` (s) and
        ``pair`` (``"A-B"`` labels in the order given). Variables:

        - ``var`` (clock, tau): the estimated variance of each clock, which may come
          out negative when the clocks' noise is correlated or a clock is much more
          stable than the others (statistical scatter);
        - ``dev`` (clock, tau): ``sqrt(var)``, NaN where ``var <= 0``;
        - ``dev_lo``, ``dev_hi`` (clock, tau): confidence interval of ``dev`` at level
          ``ci`` (Satterthwaite, see Notes), NaN where ``var <= 0``;
        - ``edf`` (clock, tau): Satterthwaite equivalent degrees of freedom of ``var``,
          NaN where ``var <= 0``;
        - ``negative`` (clock, tau) bool: True where ``var <= 0`` (those ``dev`` are NaN);
        - ``pair_dev``, ``pair_dev_lo``, ``pair_dev_hi``, ``pair_n``, ``pair_edf``
          (pair, tau): the statistic of each comparison.

        Attributes ``statistic``, ``data_type``, ``ci``, ``sample_rate``, ``method``
        (``"closed form"`` for 3 clocks with 3 pairs, else ``"least squares"``).

    Raises
    ------
    ValueError
        Naming ``pairs`` (and both records where two disagree): fewer than 3 clocks, a
        repeated comparison, records not on one grid, clocks not determined by the
        comparisons, or no averaging time common to every pair (records too short).

    Warns
    -----
    UserWarning
        When some variance estimates are not positive (flagged in ``negative``), and the
        statistic's own warnings (e.g. a record too short for any tau).

    Notes
    -----
    With independent clocks, ``s_ij^2 = sigma_i^2 + sigma_j^2`` (Gray & Allan 1974). For
    three clocks the solution is exact (Gray & Allan 1974; NIST SP 1065, Riley 2008,
    "three-cornered hat"):

    .. math:: \\sigma_i^2 = (s_{ij}^2 + s_{ik}^2 - s_{jk}^2) / 2 .

    For N > 3 clocks the system is over-determined and is solved by least squares,
    ``sigma^2 = argmin ||A sigma^2 - s^2||``, with ``A`` the (pairs x clocks) incidence
    matrix (1 at the two clocks of each pair). For the complete set of N(N-1)/2 pairs
    this is Barnes' N-cornered hat (Barnes 1966; Torcaso et al. 1998):

    .. math:: \\sigma_i^2 = \\frac{1}{N-2}\\Big(\\sum_{j \\ne i} s_{ij}^2
              - \\frac{1}{N-1}\\sum_{k<l} s_{kl}^2\\Big),

    and for N = 3 it reduces to the closed form. The pairwise variances are weighted
    equally; correlations between clocks are not modelled.

    *Confidence intervals.* Each pairwise estimate is taken as
    ``s_p^2 ~ E[s_p^2] chi2(nu_p) / nu_p`` with ``nu_p`` the statistic's EDF
    (``pair_edf``). A clock's variance is the linear combination
    ``var_i = sum_p w_ip s_p^2`` (``w = pinv(A)``; ``w = +-1/2`` for three clocks), whose
    distribution is approximated by ``var_i chi2(nu_i) / nu_i`` with the Satterthwaite
    (1946; Welch 1947) effective degrees of freedom

    .. math:: \\nu_i = \\Big(\\sum_p w_{ip} s_p^2\\Big)^2 \\Big/
              \\sum_p \\frac{(w_{ip} s_p^2)^2}{\\nu_p},

    and the bounds are the chi-square ones of the single statistics (NIST SP 1065 eq. 46,
    as :func:`qsense.stability._edf.ci_bounds`):
    ``dev sqrt(nu_i / chi2.ppf((1 + ci)/2, nu_i))`` to
    ``dev sqrt(nu_i / chi2.ppf((1 - ci)/2, nu_i))``. The approximation has three known
    weaknesses:

    - It treats the pairwise estimates as independent, but two pairs sharing clock ``c``
      covary (by about ``2 sigma_c^4 / nu`` for a common EDF ``nu``; Ekstrom & Koppang
      2006 analyse the error of cornered-hat estimates). For three clocks of
      variances ``a, b, c`` and a common ``nu``, the variance of ``var_a`` is
      ``(2a^2 + ab + ac + bc) / nu`` while the formula implies
      ``(a^2 + b^2 + c^2 + ab + ac + bc) / nu``: the interval is too wide where
      ``a^2 < b^2 + c^2`` (equal clocks, or a quieter one) and too narrow where
      ``a^2 > b^2 + c^2`` (a clock much noisier than the others). With ``nu`` large, a
      nominal 68.3 % interval then covers about 73 % for three equal clocks, 66 % for
      four equal clocks, and 91 % / 82 % / 60 % for three clocks of deviations 1 : 2 : 3.
    - ``nu_i`` is computed from the estimates themselves, so it is small when the clock is
      much quieter than its comparisons (its variance is a small difference of large
      ones; Burdick & Graybill 1992 discuss this for variance components). At small
      ``nu_i`` the coverage departs from the large-``nu`` figures; in simulations of
      white-FM clocks (256 samples, ``oadev``, taus 1-16 samples, clock EDFs 5-200)
      nominal 68.3 % intervals covered 70-83 % for three equal clocks, 61-79 % for four,
      and 55-67 % (noisier pair) and 76-86 % (quieter pair) for four clocks at
      1 : 1 : 1.5 : 1.5. The interval also inherits any error of the pairs' EDF.
    - Where ``nu_i`` is so small (below 0.17 at 68.3 %) that the chi-square lower bound
      exceeds ``dev``, ``dev_lo`` is set to 0: the interval ``[0, dev_hi]`` contains the
      chi-square one and says the clock is not resolved. ``dev_hi`` is ``inf`` where the
      chi-square quantile underflows (``nu_i`` below about 0.01).

    Where ``var <= 0`` no chi-square interval exists and ``dev_lo``, ``dev_hi``, ``edf``
    are NaN (the pairwise intervals remain).

    References
    ----------
    J. E. Gray and D. W. Allan, "A method for estimating the frequency stability of an
    individual oscillator", Proc. 28th Frequency Control Symposium, pp. 243-246 (1974).
    J. A. Barnes, "Atomic timekeeping and the statistics of precision signal
    generators", Proc. IEEE 54, 207-220 (1966).
    F. Torcaso, C. R. Ekstrom, E. A. Burt and D. N. Matsakis, "Estimating frequency
    stability and cross-correlations", Proc. 30th PTTI Meeting, pp. 69-82 (1998).
    C. R. Ekstrom and P. A. Koppang, "Error bars for three-cornered hats", IEEE Trans.
    UFFC 53, 876-879 (2006).
    F. E. Satterthwaite, "An approximate distribution of estimates of variance
    components", Biometrics Bulletin 2, 110-114 (1946).
    B. L. Welch, "The generalization of 'Student's' problem when several different
    population variances are involved", Biometrika 34, 28-35 (1947).
    R. K. Burdick and F. A. Graybill, *Confidence Intervals on Variance Components*,
    Marcel Dekker (1992).
    W. J. Riley, *Handbook of Frequency Stability Analysis*, NIST SP 1065 (2008).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> a, b, c = (s * rng.standard_normal(4096) for s in (1e-12, 2e-12, 3e-12))
    >>> hat = three_cornered_hat({("A", "B"): a - b, ("B", "C"): b - c, ("A", "C"): a - c},
    ...                          rate=1.0, data_type="freq", taus=[1.0])
    >>> np.round(hat["dev"].sel(tau=1.0).values / 1e-12, 1)
    array([1., 2., 3.])
    >>> np.round(hat["edf"].sel(tau=1.0).values)  # the quietest clock is the least certain
    array([  50.,  660., 3562.])
    >>> lo, hi = (float(hat[v].sel(clock="A", tau=1.0)) / 1e-12 for v in ("dev_lo", "dev_hi"))
    >>> round(lo, 2), round(hi, 2)
    (0.95, 1.17)
    """
    keys, clocks = _check_pairs(pairs)
    func = statistic_function(statistic)
    data_type = choice("data_type", data_type, ("phase", "freq"))
    ci = confidence("ci", ci)
    records, rate = common_grid({f"pairs[{k!r}]": pairs[k] for k in keys}, rate, min_length=2)
    results = []
    for key, values in zip(keys, records, strict=True):
        try:
            res = func(
                values,
                rate=rate,
                data_type=data_type,
                taus=taus,
                ci=ci,
                bias_correction=bias_correction,
            )
        except (TypeError, ValueError) as err:
            raise type(err)(f"pairs[{key!r}]: {err}") from err
        results.append(res)
    labels = [f"{i}-{j}" for i, j in keys]
    stacked = xr.concat(
        [r[["dev", "dev_lo", "dev_hi", "n", "edf"]] for r in results],
        dim=xr.DataArray(labels, dims="pair", name="pair"),
        join="inner",
        coords="minimal",
        compat="override",
        combine_attrs="drop",
    )
    if stacked.sizes["tau"] == 0:
        raise ValueError(
            f"pairs have no averaging time in common for taus={taus!r} (records of "
            f"{records[0].size} samples may be too short); pass explicit taus"
        )

    a = _design(keys, clocks)
    if np.linalg.matrix_rank(a) < len(clocks):
        raise ValueError(
            f"pairs {labels} do not determine every clock of {clocks}: the comparisons "
            "need a closed loop of odd length (e.g. all pairs of three clocks)"
        )
    s2 = stacked["dev"].values ** 2  # (pair, tau)
    var = np.full((len(clocks), s2.shape[1]), np.nan)
    ok = np.all(np.isfinite(s2), axis=0)
    weights = np.linalg.pinv(a)  # (clock, pair): sigma^2 = weights @ s^2
    if np.any(ok):
        var[:, ok] = weights @ s2[:, ok]
    negative = var <= 0
    if np.any(negative):
        bad = [
            f"{clocks[i]} at tau={stacked['tau'].values[k]:g} s"
            for i, k in zip(*np.nonzero(negative), strict=True)
        ]
        warn(
            f"cornered hat: {len(bad)} variance estimate(s) are not positive ("
            + ", ".join(bad[:5])
            + (", ..." if len(bad) > 5 else "")
            + "); their dev is NaN and 'negative' is True"
        )
    with np.errstate(invalid="ignore"):
        dev = np.where(negative, np.nan, np.sqrt(np.abs(var)))
    edf = np.where(negative, np.nan, _satterthwaite_edf(var, weights, s2, stacked["edf"].values))
    with np.errstate(divide="ignore"):  # chi-square quantile underflows to 0 at tiny edf
        dev_lo, dev_hi = ci_bounds(dev, edf, ci)
    dev_lo = np.where(dev_lo > dev, 0.0, dev_lo)  # edf so small the chi2 bound excludes dev
    first = results[0]
    closed = len(clocks) == 3 and len(keys) == 3
    out = xr.Dataset(
        {
            "var": (("clock", "tau"), var, {"long_name": "estimated variance of each clock"}),
            "dev": (("clock", "tau"), dev, {"long_name": "estimated deviation of each clock"}),
            "dev_lo": (
                ("clock", "tau"),
                dev_lo,
                {"long_name": "lower confidence bound of dev (Satterthwaite)"},
            ),
            "dev_hi": (
                ("clock", "tau"),
                dev_hi,
                {"long_name": "upper confidence bound of dev (Satterthwaite)"},
            ),
            "edf": (
                ("clock", "tau"),
                edf,
                {"long_name": "Satterthwaite equivalent degrees of freedom of var"},
            ),
            "negative": (
                ("clock", "tau"),
                negative,
                {"long_name": "variance estimate not positive (dev is NaN)"},
            ),
            "pair_dev": stacked["dev"],
            "pair_dev_lo": stacked["dev_lo"],
            "pair_dev_hi": stacked["dev_hi"],
            "pair_n": stacked["n"],
            "pair_edf": stacked["edf"],
        },
        coords={"clock": clocks, "tau": stacked["tau"], "pair": labels},
        attrs={
            "statistic": first.attrs.get("statistic", getattr(func, "__name__", "")),
            "data_type": data_type,
            "ci": ci,
            "sample_rate": float(first.attrs["sample_rate"]),
            "method": "closed form" if closed else "least squares",
        },
    )
    out["tau"].attrs = dict(first["tau"].attrs) or {"units": "s", "long_name": "averaging time"}
    return out


def gcodev(
    data1: Any,
    data2: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: TauSet | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
    *,
    bias: BiasTable = "stable32",
    alpha: int | Any | None = None,
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
    data1, data2 : xarray.DataArray or array_like of float, shape (n,)
        The two records, phase in s or fractional frequency, on one time grid (same
        length, rate and start: :func:`qsense.signal.common_grid`); NaN marks a gap.
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); required for a plain array.
    data_type : {"phase", "freq"}
        ``"phase"`` (s) or ``"freq"`` (fractional frequency).
    taus : {"octave", "decade", "all"} or array_like of float
        Averaging times in s (rounded to multiples of ``tau0``), or a Stable32 set:
        ``"octave"`` (m = 1, 2, 4, ...), ``"decade"`` (1, 2, 4, 10, 20, ...) or
        ``"all"`` (Stable32 "many tau"), up to the statistic's Stable32 limit.
    ci : float
        Confidence level in (0, 1): checked, but no interval exists (NaN bounds).
    bias_correction : bool
        No effect (no bias correction; one signature for all).
    bias : {"stable32", "sp1065"}
        No effect (one signature for all).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the one
        identified on ``data1`` (oadev rule): one for every tau, or one per tau of
        the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        As :func:`oadev`; ``dev`` is signed (dimensionless), ``dev_lo``/``dev_hi``/
        ``edf`` are NaN and ``alpha`` is identified on ``data1``.

    Warns
    -----
    UserWarning
        When the records are too short for any tau of a named set (empty result).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> a, b, c = rng.normal(size=(3, 20000))
    >>> ds = gcodev(a - b, a - c, rate=1.0, data_type="freq", taus=[1.0])
    >>> bool(0.9 < ds.dev[0] < 1.1)
    True
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    (v1, v2), rate = common_grid({"data1": data1, "data2": data2}, rate, min_length=2)
    r1 = prepare(v1, rate, request.data_type, "data1")
    p1 = r1.phase
    p2 = prepare(v2, rate, request.data_type, "data2").phase
    spec = SPECS["gcodev"]
    m = factors(spec, taus, p1.x.size, rate)
    warn_if_empty(m, "gcodev", p1.x.size, taus)
    var, n = gcodev_raw(p1.x, p2.x, m, rate)
    valid = n > 0
    dev = np.where(valid, np.sign(var) * np.sqrt(np.abs(var)), np.nan)
    alpha_out = np.zeros(m.size, dtype=np.int64)
    given = given_alpha(request.alpha, m.size)
    if given is not None:
        alpha_out[valid] = given[valid]
    elif valid.any():
        alpha_out[valid] = identify_alphas(p1.x, m[valid], "oadev", request.data_type)
    nan = np.full(m.size, np.nan)
    return build(
        spec,
        Columns(m, m / rate, dev, nan, nan.copy(), n, nan.copy(), alpha_out),
        attrs(r1, request),
    )
