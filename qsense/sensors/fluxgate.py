"""A single-axis fluxgate magnetometer: white + 1/f noise, offset drift, temperature.

:class:`Fluxgate` reports the field ``B`` (T) along its axis: the environment's
``magnetic_field`` driver (the truth) plus the sensor's noise and offset terms. The
noise is a one-sided power spectral density of the field,

    S_B(f) = h_0 + h_-1 / f            (T^2/Hz),
    h_0 = noise_asd^2,  h_-1 = noise_asd^2 * flicker_corner,

i.e. the power-law convention ``S_y(f) = h_alpha f^alpha`` of IEEE Std 1139 / Barnes et
al. (1971) applied to B instead of the fractional frequency y: the field samples are
drawn by :class:`qsense.noise.PowerLawStream` with ``data_type="freq"`` and these
``h_alpha`` (in T^2 Hz^(-1-alpha)), so each sample is the mean field over its sample
interval, and the closed forms of :func:`qsense.noise.adev_from_h` hold unchanged (they
depend only on the PSD). A random-walk offset of diffusion ``drift_random_walk`` (T
s^-1/2, i.e. ``Var[b(t + T) - b(t)] = q^2 T``) is the alpha = -2 term with
``h_-2 = q^2 / (2 pi^2)`` (its one-sided PSD ``q^2 / (2 pi^2 f^2)``; Allan variance
``(2 pi^2 / 3) h_-2 tau = q^2 tau / 3``).

References
----------
J. A. Barnes et al., "Characterization of frequency stability", IEEE Trans. Instrum.
Meas. IM-20(2), 105-120 (1971). W. J. Riley, "Handbook of Frequency Stability
Analysis", NIST SP 1065 (2008), sec. 5.2 (Allan variance of each power-law noise;
5.2.4 linear drift). USGS Geomagnetism Program, BOU observatory 1-second variation
data (IAGA-2002, CC0; usgs/geomag-algorithms etc/filter/BOU20200101vsec.sec).
Bartington Instruments, "Mag-03 three-axis magnetic field sensors" datasheet
(not seen here: its values are marked 'check' in the preset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense._validate import positive_int
from qsense.noise import PowerLawStream, adev_from_h
from qsense.seeding import Seed, seed_sequence, spawn
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import (
    budget_dataset,
    environment_driver,
    samples_in,
    simulation_dataset,
    start_time,
)
from qsense.signal import time_grid

__all__ = ["Fluxgate"]

#: Samples drawn from the noise streams per call in :meth:`Fluxgate.simulate`.
CHUNK_SAMPLES = 1 << 17

_YEAR = 365.25 * 86400.0

#: Term name of each power-law noise, by alpha.
_TERMS = {0: "noise_white", -1: "noise_flicker", -2: "drift_random_walk"}

_TABLE = {
    0: "white: sigma^2 = h_0 / (2 tau)",
    -1: "flicker: sigma^2 = 2 ln2 h_-1",
    -2: "random walk: sigma^2 = (2 pi^2 / 3) h_-2 tau = q^2 tau / 3",
}

_PRESETS = (
    Preset(
        "observatory",
        {
            "noise_asd": 11.3e-12,
            "flicker_corner": 0.0,
            "rate": 1.0,
            "resolution": 0.01e-9,
            "drift_rate": 5e-9 / _YEAR,
            "temperature_coefficient": 0.25e-9,
        },
        citation=(
            "USGS observatory fluxgate variometer, BOU (Boulder) 1-second variation data "
            "2020-01-01 00:00-00:15 UTC (usgs/geomag-algorithms etc/filter/"
            "BOU20200101vsec.sec, CC0; shared datasets/magnetometry PROVENANCE.md sec. 1: "
            "ASD 8-20 pT/sqrt(Hz) at 0.1-0.45 Hz, 0.01 nT resolution). Measured here "
            "(tests/sensors/test_fluxgate.py, Welch, 256-sample segments, linear detrend): "
            "median ASD over 0.1-0.45 Hz 12.2 (H), 11.2 (E), 13.4 (Z) pT/sqrt(Hz). Drift and "
            "temperature coefficient: the INTERMAGNET Magnetic Observatory (IMO) vector "
            "magnetometer requirements (intermagnet.org/imos/magobs-eng.php; INTERMAGNET "
            "Technical Reference Manual v4.6, 2012): thermal stability 0.25 nT/degC, long-term "
            "stability 5 nT/year, 1 Hz sampling"
        ),
        description=(
            "Observatory fluxgate variometer at 1 Hz: white 11.3 pT/sqrt(Hz), so that with "
            "the 0.01 nT quantisation (0.01 nT / sqrt(6 Hz) = 4.1 pT/sqrt(Hz)) the total "
            "is 12.0 pT/sqrt(Hz), the measured BOU floor; no 1/f term (a 15-min record "
            "does not resolve one below 0.1 Hz); linear drift 5 nT/year, 0.25 nT/K "
            "(INTERMAGNET bounds, worst case)."
        ),
    ),
    Preset(
        "mag03",
        {
            "noise_asd": 5e-12,
            "flicker_corner": 1.0,
            "rate": 1000.0,
            "temperature_coefficient": 0.1e-9,
        },
        citation=(
            "Bartington Mag-03 datasheet (not seen here): noise < 6 to 10 pT rms/sqrt(Hz) at 1 Hz "
            "(standard versions; low-noise versions lower), bandwidth DC to 3 kHz, offset "
            "temperature coefficient about 0.1 nT/K, as recalled (check against the "
            "datasheet). The split of the 1-Hz figure into a white floor and a 1/f corner "
            "is an assumption (check)"
        ),
        description=(
            "Commercial three-axis fluxgate (one axis modelled), 1 kHz samples: white "
            "5 pT/sqrt(Hz) with a 1 Hz flicker corner, so ASD(1 Hz) = 7.1 pT/sqrt(Hz), "
            "inside the datasheet's 6-10 pT/sqrt(Hz); offset tempco 0.1 nT/K."
        ),
    ),
)


def _sampled(tau: np.ndarray, rate: float) -> bool:
    m = tau * rate
    return bool(np.all((np.abs(m - np.rint(m)) <= 1e-9 * np.maximum(1.0, m)) & (m >= 0.5)))


@dataclass(frozen=True, kw_only=True)
class Fluxgate(SensorModel):
    """A single-axis fluxgate magnetometer.

    Sample ``k`` at ``t_k = k / rate`` from the start::

        B[k] = round(truth + noise_white + noise_flicker + drift_random_walk + drift
                     + temperature, resolution)
        drift       = drift_rate * t_k
        temperature = temperature_coefficient * (T(t_k) - reference_temperature)

    ``truth`` is the environment's ``magnetic_field`` driver (T; zeros without one),
    ``T`` its ``temperature`` driver (K). The noise terms follow the module docstring
    (``S_B = h_0 + h_-1 / f`` plus the random walk); ``quantization`` is the rounding
    to ``resolution`` (0: none).

    Parameters
    ----------
    noise_asd : float
        White noise level in T/sqrt(Hz) (one-sided ASD, >= 0).
    flicker_corner : float
        1/f corner frequency in Hz (>= 0), where the flicker PSD equals the white:
        ``h_-1 = noise_asd^2 * flicker_corner`` (T^2).
    drift_rate : float
        Linear offset drift in T/s.
    drift_random_walk : float
        Random-walk offset diffusion in T/sqrt(s) (>= 0).
    temperature_coefficient : float
        Offset change per kelvin in T/K.
    reference_temperature : float
        Temperature of zero offset change in K (> 0).
    rate : float
        Sample rate in Hz (> 0).
    resolution : float
        Output quantisation step in T (>= 0; 0: none).
    tau_max : float, optional
        Longest averaging time (s) over which the flicker and random-walk laws hold
        (:class:`~qsense.noise.PowerLawStream`; 100 to 1e10 samples).

    Examples
    --------
    >>> fg = Fluxgate.preset("observatory")
    >>> ds = fg.simulate(600.0, seed=1)
    >>> ds.B.attrs["units"], ds.sizes["time"]
    ('T', 600)
    """

    measured: ClassVar[str] = "B"
    quantity: ClassVar[str] = "magnetic_field"
    PRESETS: ClassVar[tuple[Preset, ...]] = _PRESETS

    noise_asd: float = parameter(unit="T Hz-1/2", minimum=0.0, doc="white noise ASD")
    flicker_corner: float = parameter(0.0, unit="Hz", minimum=0.0, doc="1/f corner frequency")
    drift_rate: float = parameter(0.0, unit="T s-1", doc="linear offset drift")
    drift_random_walk: float = parameter(
        0.0, unit="T s-1/2", minimum=0.0, doc="random-walk offset diffusion"
    )
    temperature_coefficient: float = parameter(0.0, unit="T K-1", doc="offset per kelvin")
    reference_temperature: float = parameter(
        298.15, unit="K", minimum=0.0, open_minimum=True, doc="temperature of zero offset"
    )
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="sample rate")
    resolution: float = parameter(0.0, unit="T", minimum=0.0, doc="quantisation step")
    tau_max: float | None = parameter(
        None, unit="s", minimum=0.0, open_minimum=True, optional=True, doc="flicker band"
    )

    def _check(self) -> None:
        if self.tau_max is not None:
            samples = self.tau_max * self.rate
            if not 100.0 <= samples <= 1e10:
                raise ValueError(
                    f"Fluxgate: tau_max must be between 100 and 1e10 samples at rate "
                    f"{self.rate!r} Hz, got {self.tau_max!r} s ({samples:.3g} samples)"
                )

    @property
    def h(self) -> dict[int, float]:
        """One-sided PSD coefficients ``{alpha: h_alpha}`` of the field noise, T^2 Hz^(-1-alpha)."""
        return {
            0: self.noise_asd**2,
            -1: self.noise_asd**2 * self.flicker_corner,
            -2: self.drift_random_walk**2 / (2.0 * math.pi**2),
        }

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
        chunk_samples: int = CHUNK_SAMPLES,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the fluxgate.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 samples at :attr:`rate`).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``); one child for the noise, whose
            :class:`~qsense.noise.PowerLawStream` spawns one child per alpha.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset, optional
            Drivers on ``time``: ``magnetic_field`` (T, the truth) and ``temperature``
            (K); each is used when present.
        chunk_samples : int
            Samples drawn from the noise streams per call; the result does not depend
            on it, bit for bit.

        Returns
        -------
        xarray.Dataset
            ``B`` (T), ``truth`` and the terms ``noise_white``, ``noise_flicker``,
            ``drift_random_walk`` (each when non-zero), ``drift``, ``temperature`` (with
            its driver) and ``quantization`` (with a resolution).
        """
        n = samples_in(duration, self.rate)
        chunk = positive_int("chunk_samples", chunk_samples)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        (noise_ss,) = spawn(ss, 1)
        times = time_grid(n, self.rate, t0)
        field = environment_driver(environment, "magnetic_field", times, quantity="magnetic_field")
        truth = np.zeros(n) if field is None else field
        terms: dict[str, Any] = {}
        for alpha, h_alpha in sorted(self.h.items(), reverse=True):
            if h_alpha == 0:
                continue
            stream = PowerLawStream(
                {alpha: h_alpha}, self.rate, data_type="freq", seed=noise_ss, tau_max=self.tau_max
            )
            out = np.empty(n)
            for i in range(0, n, chunk):
                out[i : i + chunk] = stream.next(min(chunk, n - i))
            terms[_TERMS[alpha]] = out
        terms["drift"] = self.drift_rate * np.arange(n, dtype=np.float64) / self.rate
        temp = environment_driver(environment, "temperature", times, quantity="temperature")
        if temp is not None:
            terms["temperature"] = self.temperature_coefficient * (
                temp - self.reference_temperature
            )
        b = truth.copy()
        for values in terms.values():
            b += values
        if self.resolution > 0:
            rounded = np.round(b / self.resolution) * self.resolution
            terms["quantization"] = rounded - b
            b = rounded
        return simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=b,
            truth=truth,
            terms=terms,
            seed=ss,
            duration=duration,
            attrs={
                "noise_convention": (
                    "S_B(f) = h_0 + h_-1/f + h_-2/f^2 (T^2/Hz, one-sided), drawn by "
                    "qsense.noise.PowerLawStream(data_type='freq'): samples are interval means"
                )
            },
        )

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """ASD and Allan deviation of each noise term and of the drift.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0); at whole numbers of samples the power-law terms
            are :func:`qsense.noise.adev_from_h` with ``model="sampled"``, otherwise
            ``model="table"``.
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0).

        Returns
        -------
        xarray.Dataset
            ``asd`` (T/sqrt(Hz): ``sqrt(h_alpha f^alpha)`` per term, so the total is
            ``sqrt(h_0 + h_-1/f + h_-2/f^2)``) and/or ``adev`` (T) on (term, ...):
            ``noise_white``, ``noise_flicker``, ``drift_random_walk`` (when non-zero),
            ``quantization`` (with a resolution: white of variance ``q^2/12``, ASD
            ``q / sqrt(6 rate)``, Allan deviation ``q / sqrt(12 rate tau)``), ``drift``
            (``|D| tau / sqrt 2``, ASD 0) and ``total``, with references.
        """
        for name, axis in (("tau", tau), ("frequency", frequency)):
            if isinstance(axis, xr.Dataset) or np.iscomplexobj(axis):
                raise TypeError(f"{name} must be real numbers in s or Hz, got {axis!r}")
        adev: dict[str, Any] = {}
        asd: dict[str, Any] = {}
        refs: dict[str, str] = {}
        rate = self.rate

        def term_adev(alpha: int, h_alpha: float):
            def f(t: np.ndarray) -> np.ndarray:
                model = "sampled" if _sampled(t, rate) else "table"
                return adev_from_h({alpha: h_alpha}, t, rate, model=model)

            return f

        def term_asd(alpha: int, h_alpha: float):
            return lambda f: np.sqrt(h_alpha * f ** float(alpha))

        for alpha, h_alpha in sorted(self.h.items(), reverse=True):
            if h_alpha == 0:
                continue
            name = _TERMS[alpha]
            adev[name] = term_adev(alpha, h_alpha)
            asd[name] = term_asd(alpha, h_alpha)
            refs[name] = (
                f"NIST SP 1065 (2008) sec. 5.2; Barnes et al., IEEE TIM 20, 105 (1971): "
                f"{_TABLE[alpha]} with S_B(f) = h_alpha f^alpha in T^2/Hz "
                "(qsense.noise.adev_from_h)"
            )
        q = self.resolution
        if q > 0:
            adev["quantization"] = lambda t: q / np.sqrt(12.0 * rate * t)
            asd["quantization"] = q / math.sqrt(6.0 * rate)
            refs["quantization"] = (
                "uniform rounding error, white of variance q^2/12 (Widrow & Kollar, "
                "'Quantization Noise', 2008): one-sided PSD q^2/(6 rate)"
            )
        adev["drift"] = lambda t: abs(self.drift_rate) * t / math.sqrt(2.0)
        asd["drift"] = 0.0
        refs["drift"] = "NIST SP 1065 (2008) sec. 5.2.4: linear drift D, sigma = |D| tau / sqrt 2"
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=adev if tau is not None else None,
            asd=asd if frequency is not None else None,
            references=refs,
        )
