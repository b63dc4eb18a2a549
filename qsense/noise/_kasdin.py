"""Whole-record power-law noise by the Kasdin & Walter (1992) method (FFT filtering)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import scipy.fft
import xarray as xr

from qsense._validate import choice, positive_float, positive_int
from qsense.noise._common import (
    ALPHAS,
    TERMS,
    coefficients,
    generators,
    innovation_variance,
    noise_attrs,
)
from qsense.seeding import Seed, seed_sequence
from qsense.signal import DataType, attrs_for, make_series

__all__ = ["power_law"]

_METHOD = "Kasdin-Walter 1992"


def _kw_coefficients(beta: int, n: int) -> np.ndarray:
    """Kasdin-Walter impulse response of ``(1 - z**-1)**(-beta/2)``, ``n`` terms.

    ``h_0 = 1``, ``h_k = h_{k-1} (beta/2 + k - 1) / k`` (Kasdin & Walter 1992;
    Kasdin 1995, discrete 1/f**alpha model), the binomial series of the fractional
    integrator.
    """
    k = np.arange(1, n, dtype=np.float64)
    ratio = k + (0.5 * beta - 1.0)
    ratio /= k
    out = np.empty(n)
    out[0] = 1.0
    np.cumprod(ratio, out=out[1:])
    return out


def _kw_filter(white: np.ndarray, beta: int) -> np.ndarray:
    """Filter white noise to a ``1/f**beta`` process; FFT convolution, O(n log n).

    The causal filter starts at rest (no noise before the first sample), so the first
    samples of a longer run equal a shorter run with the same stream. ``beta = 0`` is the
    identity and ``beta = 2`` (all ``h_k = 1``) is the exact running sum.
    """
    if beta == 0:
        return white
    if beta == 2:
        return np.cumsum(white)
    n = white.size
    nfft = scipy.fft.next_fast_len(2 * n - 1, real=True)
    spec = scipy.fft.rfft(white, nfft)
    spec *= scipy.fft.rfft(_kw_coefficients(beta, n), nfft)
    return scipy.fft.irfft(spec, nfft, overwrite_x=True)[:n]


def power_law(
    n: int,
    *,
    rate: float,
    h: Mapping[int, float],
    data_type: DataType = "freq",
    seed: Seed = None,
) -> xr.DataArray:
    """Realisation of power-law oscillator noise by the Kasdin & Walter (1992) method.

    Parameters
    ----------
    n : int
        Number of samples of the requested ``data_type`` (>= 2).
    rate : float
        Sample rate in Hz (> 0); ``tau0 = 1 / rate``.
    h : mapping {int: float}
        One-sided PSD coefficients of fractional frequency, ``S_y(f) = sum h[alpha] *
        f**alpha`` in 1/Hz (``h[alpha]`` in Hz**(-1-alpha)); alpha in {-2, -1, 0, 1, 2}
        (random-walk FM, flicker FM, white FM, flicker PM, white PM). Omitted alphas are
        0; values >= 0 with at least one > 0.
    data_type : {"freq", "phase"}
        ``"freq"``: fractional frequency (units ``"1"``); ``"phase"``: phase (time
        error) in s.
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the random streams. ``None`` draws fresh entropy, which is recorded.

    Returns
    -------
    xarray.DataArray, shape (n,)
        float64 samples on the data model's time grid (:func:`qsense.signal.make_series`)
        with attributes ``units``, ``quantity``, ``long_name``, ``sample_rate`` and, so
        that the file alone reproduces the run: ``h_alpha`` (int array [-2..2]), ``h``
        (the 5 coefficients), ``data_type``, ``method``, ``seed`` (the SeedSequence
        entropy: an int, a 1-D int array if it was a sequence, a decimal string if it
        exceeds int64), ``seed_spawn_key`` (only for a spawned SeedSequence) and
        ``qsense_version``. ``np.random.SeedSequence(seed, spawn_key=seed_spawn_key)``
        rebuilt from them reproduces the run.

    Notes
    -----
    **Filters.** Each term filters its own unit-variance Gaussian white noise ``w``
    through the Kasdin-Walter fractional integrator ``(1 - z**-1)**(-beta/2)``,
    ``h_0 = 1, h_k = h_{k-1} (beta/2 + k - 1) / k``, applied by zero-padded FFT
    convolution (O(n log n)). Its one-sided PSD is ``(2 s**2 / rate) / (2 sin(pi f /
    rate))**beta`` for innovation variance ``s**2`` (Kasdin 1995), i.e.
    ``2 s**2 / rate * (rate / (2 pi f))**beta`` at ``f << rate``, and ``s`` is chosen so
    that this equals the requested law there:

    ======  ===================  ====  ===========================  ===================
    alpha   filtered quantity    beta  s**2                         S_y at f << rate
    ======  ===================  ====  ===========================  ===================
     -2     frequency y          2     2 pi**2 h_-2 / rate          h_-2 f**-2
     -1     frequency y          1     pi h_-1                      h_-1 f**-1
      0     frequency y          0     h_0 rate / 2                 h_0
     +1     phase x (s)          1     h_1 / (4 pi)                 h_1 f
     +2     phase x (s)          0     h_2 rate / (8 pi**2)         h_2 f**2
    ======  ===================  ====  ===========================  ===================

    **PM terms** (alpha = +1, +2) are generated as white or flicker *phase* and
    first-differenced, ``y[i] = (x[i+1] - x[i]) * rate``, so ``S_y(f) = (2 rate sin(pi f
    / rate))**2 S_x(f) ~ (2 pi f)**2 S_x(f)``. **FM terms** in phase output are summed,
    ``x[0] = 0, x[i+1] = x[i] + y[i] / rate`` (the mean frequency is *not* removed).
    Hence, for the same seed, ``phase_to_freq(power_law(n + 1, data_type="phase"))``
    equals ``power_law(n, data_type="freq")`` to rounding error. Because the filters
    are causal and start at rest, the first ``k`` samples do not depend on ``n``.
    Random-walk FM (beta = 2) is exactly the running sum; flicker processes are not
    stationary (their level is set by the start) but their differences are, which is
    all the Allan family sees. The exact Allan deviation of these discrete processes
    is :func:`adev_from_h` with ``model="sampled"``.

    **Streaming.** :class:`~qsense.noise.PowerLawStream` continues the same noise chunk
    by chunk with a state that can be saved: for the same seed its white and random-walk
    terms equal these samples bit for bit and its flicker terms follow them to ~1e-5 rms
    (a bank of first-order filters instead of the FFT, accurate over a stated band).

    **Randomness.** ``SeedSequence(seed).spawn(5)`` gives one independent PCG64
    stream per alpha in the order of :data:`ALPHAS`, whether or not the term is
    present, so adding a term never changes the others. A given seed gives the same
    samples on any machine, up to the last-bit rounding of the FFT.

    Examples
    --------
    >>> y = power_law(1000, rate=1.0, h={0: 1e-22, -1: 1e-25}, seed=42)
    >>> y.sizes["time"], y.attrs["quantity"], y.attrs["seed"]
    (1000, 'fractional_frequency', 42)
    """
    n = positive_int("n", n, minimum=2)
    rate = positive_float("rate", rate)
    coeffs = coefficients(h)
    data_type = choice("data_type", data_type, ("phase", "freq"))
    ss = seed_sequence(seed)

    m = n if data_type == "freq" else n - 1  # number of frequency samples
    sums: dict[bool, np.ndarray] = {}  # is_phase -> sum of the phase or frequency terms
    for alpha, h_alpha, gen in zip(ALPHAS, coeffs, generators(ss), strict=True):
        if h_alpha == 0:
            continue
        beta, is_phase = TERMS[alpha]
        white = gen.standard_normal(m + is_phase)
        term = _kw_filter(white, beta)
        term *= math.sqrt(h_alpha * innovation_variance(alpha, rate))
        if is_phase in sums:
            sums[is_phase] += term
        else:
            sums[is_phase] = term
    x_pm, y_fm = sums.get(True), sums.get(False)

    if data_type == "freq":
        values = np.zeros(m) if y_fm is None else y_fm
        if x_pm is not None:
            values += np.diff(x_pm) * rate
    else:
        values = np.zeros(m + 1) if x_pm is None else x_pm
        if y_fm is not None:
            values[1:] += np.cumsum(y_fm) / rate

    attrs = noise_attrs(coeffs, data_type, ss, _METHOD)
    return make_series(values, rate, name="power_law_noise", attrs=attrs, **attrs_for(data_type))
