"""Classical relative gravimeters: a spring (quartz) meter and a superconducting meter.

:class:`SpringGravimeter` is a Scintrex CG-5/CG-6-like meter: white reading noise
averaged over each reading, linear plus exponential drift, tares (steps), tilt and
temperature sensitivity, and the environment's gravity signal (tides) passed through.
:class:`SuperconductingGravimeter` is a GWR iGrav/OSG-like meter: a low white noise
floor, slow linear plus exponential drift, a calibration (scale) factor and an optional
pressure admittance. Both report ``g`` in m s-2 **relative**: the change of the reading
from the meter's arbitrary zero, ``g = truth + sum of the terms`` with every drift term
zero at the simulation start; an absolute level is not modelled (add a constant).

References
----------
W. J. Riley, "Handbook of Frequency Stability Analysis", NIST SP 1065 (2008), sec. 5.2
(white noise: sigma(tau) = sigma_1 sqrt(tau_1 / tau); linear drift: D tau / sqrt 2).
Scintrex, "CG-6 Autograv Gravity Meter" datasheet and CG-5 Operation Manual (part
867700). S. Rosat and J. Hinderer, "Noise levels of superconducting gravimeters:
updated comparison and time stability", Bull. Seismol. Soc. Am. 101(3), 1233-1241
(2011). M. Van Camp and O. Francis, "Is the instrumental drift of superconducting
gravimeters a linear or exponential function of time?", J. Geod. 81, 337-344 (2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense.seeding import Seed, generator, seed_sequence, spawn
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import (
    budget_dataset,
    environment_driver,
    samples_in,
    simulation_dataset,
    start_time,
)
from qsense.signal import time_grid

__all__ = ["SpringGravimeter", "SuperconductingGravimeter"]

_UGAL = 1e-8  # m s-2
_DAY = 86400.0
_YEAR = 365.25 * _DAY

_WHITE_REF = (
    "NIST SP 1065 (2008) sec. 5.2: white noise, sigma(tau) = sigma_1 sqrt(tau_1 / tau) "
    "(tau a whole number of samples); one-sided ASD sigma_1 sqrt(2 tau_1)"
)
_DRIFT_REF = "NIST SP 1065 (2008) sec. 5.2.4: linear drift D, sigma(tau) = |D| tau / sqrt 2"


def _drift_terms(model: Any, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear and exponential drift at ``seconds`` from the start (both 0 at t = 0)."""
    linear = model.drift_rate * seconds
    exponential = model.drift_exp_amplitude * -np.expm1(-seconds / model.drift_exp_time_constant)
    return linear, exponential


def _interval_means(
    environment: xr.Dataset | None, name: str, begins: np.ndarray, seconds: float, quantity: str
) -> np.ndarray | None:
    """Mean of a driver over ``[begin, begin + seconds)`` for each ``begin`` (datetime64).

    The exact integral of the driver's linear interpolant (trapezoids on its own grid),
    so a fast driver (microseism) is averaged as the meter averages it, whatever its
    sample rate; None when the environment lacks the driver.
    """
    step = np.timedelta64(round(seconds * 1e9), "ns")
    edges = np.append(begins, begins[-1] + step)
    # validation (units, coverage of every interval, finite values) by the shared helper
    if environment_driver(environment, name, edges, quantity=quantity) is None:
        return None
    assert environment is not None
    da = environment[name]
    t_env = np.asarray(da["time"].values).astype("datetime64[ns]")
    x = (t_env - t_env[0]).astype(np.int64).astype(np.float64) * 1e-9
    v = np.asarray(da.values, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(x))])
    at = (edges - t_env[0]).astype(np.int64).astype(np.float64) * 1e-9
    i = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    h = at - x[i]
    slope = (v[i + 1] - v[i]) / (x[i + 1] - x[i])
    integral = cum[i] + v[i] * h + 0.5 * slope * h * h
    return np.diff(integral) / seconds


# ---------------------------------------------------------------- spring gravimeter
_SPRING_PRESETS = (
    Preset(
        "cg6",
        {
            "sample_noise": 13.7 * _UGAL,
            "sample_rate": 1.0,
            "reading_seconds": 60.0,
            "drift_rate": -11.488 * _UGAL / _DAY,
        },
        citation=(
            "Scintrex CG-6 Autograv datasheet (reading resolution 0.1 uGal, standard deviation "
            "< 5 uGal, residual long-term drift < 20 uGal/day: specification values, not "
            "verified here against the datasheet itself); measured on a real CG-6 "
            "(USGS GSadjust test data CG-6_TestData.dat, CC0, shared datasets/gravity/"
            "relative_gsadjust): median StdDev of the 1 Hz samples 0.0137 mGal, drift "
            "correction rate -0.011488 mGal/day"
        ),
        description=(
            "Scintrex CG-6 quartz-spring meter, 60-s readings of 1 Hz samples: sample noise "
            "13.7 uGal (measured StdDev) -> reading noise 13.7/sqrt(60) = 1.8 uGal (typical; "
            "the datasheet bound is < 5 uGal); linear drift -11.5 uGal/day (one meter's "
            "measured rate; the datasheet bound after compensation is 20 uGal/day). No "
            "exponential drift, tares, tilt or temperature term by default (the meter "
            "compensates tilt and sensor temperature itself; set the coefficients to model "
            "residuals)."
        ),
    ),
    Preset(
        "cg5",
        {
            "sample_noise": 11.0 * _UGAL,
            "sample_rate": 1.0,
            "reading_seconds": 60.0,
            "drift_rate": 20.0 * _UGAL / _DAY,
        },
        citation=(
            "Scintrex CG-5 Operation Manual, part 867700 (reading resolution 1 uGal, standard "
            "deviation < 5 uGal, residual drift < 0.02 mGal/day: specification values, not "
            "verified here); measured on a real CG-5 (PyGrav/GSadjust test data "
            "CG-5_TestData.txt, shared datasets/gravity/relative_gsadjust): median SD of "
            "2096 60-s readings 0.011 mGal"
        ),
        description=(
            "Scintrex CG-5 quartz-spring meter, 60-s readings: sample noise 11 uGal (measured "
            "median SD, taken as that of 1 Hz samples) -> reading noise 1.4 uGal; drift at the "
            "manual's residual bound 20 uGal/day (worst case, sign arbitrary)."
        ),
    ),
)


@dataclass(frozen=True, kw_only=True)
class SpringGravimeter(SensorModel):
    """A relative spring gravimeter (Scintrex CG-5/CG-6-like): one value per reading.

    Reading ``k`` starts at ``t_k = k * reading_seconds`` from the simulation start (its
    time stamp) and averages ``m = reading_seconds * sample_rate`` raw samples of white
    noise of standard deviation ``sample_noise``, so its noise is
    ``sigma_r = sample_noise / sqrt(m)``. The deterministic terms are evaluated at the
    reading's middle ``t_k + reading_seconds / 2`` (the mean of a linear drift over the
    reading)::

        g[k] = truth + reading_noise + drift + drift_exponential + tares + vibration
               + tilt + temperature
        drift              = drift_rate * t
        drift_exponential  = drift_exp_amplitude * (1 - exp(-t / drift_exp_time_constant))
        tares              = sum of tare_sizes[j] over tares with tare_times[j] <= t_k
        tilt               = -tilt_coefficient * theta(t)**2
        temperature        = temperature_coefficient * (T(t) - reference_temperature)

    ``truth`` is the environment's ``gravity`` driver (m s-2, e.g. a tide; zeros without
    one), ``vibration`` the mean of its ``acceleration`` driver (vertical ground
    acceleration, m s-2, e.g. microseism) over the reading (the exact integral of the
    driver's linear interpolant: the reading's boxcar average; the meter's own
    anti-alias filter is not modelled), ``theta`` its ``tilt`` (rad) and ``T`` its
    ``temperature`` (K). A tare inside a reading shows from the next reading on.

    Parameters
    ----------
    sample_noise : float
        Standard deviation of one raw sample in m s-2 (>= 0): the CG-6 ``StdDev``
        column (1e-8 m s-2 = 1 uGal).
    sample_rate : float
        Raw sample rate in Hz (> 0), 1 Hz for the CG-5/CG-6 outputs.
    reading_seconds : float
        Duration of one reading in s (>= one sample); readings follow back to back.
    drift_rate : float
        Linear drift in m s-2 per s (1 uGal/day = 1.157e-13 m s-3).
    drift_exp_amplitude : float
        Asymptotic size of the exponential drift in m s-2 (0: none).
    drift_exp_time_constant : float
        Its time constant in s (> 0).
    tare_times : sequence of float
        Times of the tares in s from the start, strictly increasing, >= 0.
    tare_sizes : sequence of float
        Size of each tare in m s-2 (same length as ``tare_times``).
    tilt_coefficient : float
        Tilt sensitivity in m s-2 per rad**2 (>= 0); an uncompensated pendulum reads
        ``g cos(theta)``, i.e. ``g/2 = 4.90 m s-2 rad-2``; 0 (default) when the meter's
        tilt compensation is taken as perfect.
    temperature_coefficient : float
        Ambient temperature sensitivity in m s-2 per K.
    reference_temperature : float
        Temperature in K of zero temperature effect (> 0).

    Notes
    -----
    ``noise_budget`` gives the reading noise (white, NIST SP 1065 sec. 5.2) and the linear
    drift; the exponential drift and the tares are not stationary and have no Allan
    deviation of their own (they are in the simulation, not in the budget).

    Examples
    --------
    >>> cg6 = SpringGravimeter.preset("cg6")
    >>> ds = cg6.simulate(3600.0, seed=1)
    >>> ds.g.attrs["units"], ds.sizes["time"]
    ('m s-2', 60)
    """

    measured: ClassVar[str] = "g"
    quantity: ClassVar[str] = "gravity"
    PRESETS: ClassVar[tuple[Preset, ...]] = _SPRING_PRESETS

    sample_noise: float = parameter(unit="m s-2", minimum=0.0, doc="SD of one raw sample")
    sample_rate: float = parameter(
        1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="raw sample rate"
    )
    reading_seconds: float = parameter(
        60.0, unit="s", minimum=0.0, open_minimum=True, doc="duration of one reading"
    )
    drift_rate: float = parameter(0.0, unit="m s-3", doc="linear drift")
    drift_exp_amplitude: float = parameter(0.0, unit="m s-2", doc="exponential drift size")
    drift_exp_time_constant: float = parameter(
        _DAY, unit="s", minimum=0.0, open_minimum=True, doc="exponential drift time constant"
    )
    tare_times: tuple = parameter((), unit="s", kind="vector", minimum=0.0, doc="tare times")
    tare_sizes: tuple = parameter((), unit="m s-2", kind="vector", doc="tare sizes")
    tilt_coefficient: float = parameter(
        0.0, unit="m s-2 rad-2", minimum=0.0, doc="g change per squared tilt"
    )
    temperature_coefficient: float = parameter(0.0, unit="m s-2 K-1", doc="per kelvin")
    reference_temperature: float = parameter(
        298.15, unit="K", minimum=0.0, open_minimum=True, doc="temperature of zero effect"
    )

    def _check(self) -> None:
        m = self.reading_seconds * self.sample_rate
        if m < 1.0 - 1e-9:
            raise ValueError(
                f"SpringGravimeter: reading_seconds must hold at least one sample at "
                f"sample_rate={self.sample_rate!r} Hz, got {self.reading_seconds!r} s"
            )
        if len(self.tare_times) != len(self.tare_sizes):
            raise ValueError(
                f"SpringGravimeter: tare_times and tare_sizes must have the same length, got "
                f"{len(self.tare_times)} and {len(self.tare_sizes)}"
            )
        if np.any(np.diff(self.tare_times) <= 0):
            raise ValueError(
                f"SpringGravimeter: tare_times must be strictly increasing (s from the start), "
                f"got {self.tare_times!r}"
            )

    @property
    def reading_noise(self) -> float:
        """Standard deviation of one reading in m s-2: ``sample_noise / sqrt(m)``."""
        return self.sample_noise / math.sqrt(self.reading_seconds * self.sample_rate)

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of back-to-back readings.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 readings).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``); one child for the reading noise.
        start : datetime-like, optional
            UTC time of the first reading's start.
        environment : xarray.Dataset, optional
            Drivers on ``time`` covering every reading's middle (``acceleration``: every
            whole reading): ``gravity`` (m s-2), ``acceleration`` (m s-2), ``tilt``
            (rad), ``temperature`` (K); each is used when present.

        Returns
        -------
        xarray.Dataset
            ``g`` (m s-2, relative), ``truth`` and the terms ``reading_noise``,
            ``drift``, ``drift_exponential``, ``tares`` and, with their drivers,
            ``vibration``, ``tilt`` and ``temperature``; ``attrs['reading_noise']``
            (m s-2).
        """
        rate = 1.0 / self.reading_seconds
        n = samples_in(duration, rate)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        (noise_ss,) = spawn(ss, 1)
        times = time_grid(n, rate, t0)
        mid = times + np.timedelta64(round(self.reading_seconds * 5e8), "ns")
        seconds = (np.arange(n, dtype=np.float64) + 0.5) * self.reading_seconds
        begins = np.arange(n, dtype=np.float64) * self.reading_seconds
        gravity = environment_driver(environment, "gravity", mid, quantity="gravity")
        truth = np.zeros(n) if gravity is None else gravity
        terms: dict[str, Any] = {
            "reading_noise": self.reading_noise * generator(noise_ss).standard_normal(n)
        }
        terms["drift"], terms["drift_exponential"] = _drift_terms(self, seconds)
        tares = np.zeros(n)
        for when, size in zip(self.tare_times, self.tare_sizes, strict=True):
            tares[begins >= when] += size
        terms["tares"] = tares
        vibration = _interval_means(
            environment, "acceleration", times, self.reading_seconds, "acceleration"
        )
        if vibration is not None:
            terms["vibration"] = vibration
        tilt = environment_driver(environment, "tilt", mid, quantity="tilt")
        if tilt is not None:
            terms["tilt"] = -self.tilt_coefficient * tilt**2
        temp = environment_driver(environment, "temperature", mid, quantity="temperature")
        if temp is not None:
            terms["temperature"] = self.temperature_coefficient * (
                temp - self.reference_temperature
            )
        g = truth.copy()
        for values in terms.values():
            g += values
        return simulation_dataset(
            self,
            rate=rate,
            start=t0,
            measured=g,
            truth=truth,
            terms=terms,
            seed=ss,
            duration=duration,
            attrs={
                "reading_noise": self.reading_noise,
                "g_convention": (
                    "relative: change of the reading from the meter's zero, drifts 0 at the "
                    "start; time = start of each reading, terms at its middle"
                ),
            },
        )

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD of the reading noise and of the linear drift.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0); exact at whole numbers of readings.
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0).

        Returns
        -------
        xarray.Dataset
            Terms ``reading_noise`` (``sigma_r sqrt(T_r / tau)``; ASD
            ``sigma_r sqrt(2 T_r)``), ``drift`` (``|D| tau / sqrt 2``; ASD 0) and
            ``total``, in m s-2 (ASD in m s-2 Hz-1/2), with references.
        """
        sigma, t_r = self.reading_noise, self.reading_seconds
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=None
            if tau is None
            else {
                "reading_noise": lambda t: sigma * np.sqrt(t_r / t),
                "drift": lambda t: abs(self.drift_rate) * t / math.sqrt(2.0),
            },
            asd=None
            if frequency is None
            else {"reading_noise": sigma * math.sqrt(2.0 * t_r), "drift": 0.0},
            references={"reading_noise": _WHITE_REF, "drift": _DRIFT_REF},
        )


# ---------------------------------------------------------------- superconducting gravimeter
_SG_PRESETS = (
    Preset(
        "igrav",
        {
            "noise_asd": 0.3e-9,
            "rate": 1.0,
            "drift_rate": 7.0 * _UGAL / _YEAR,
        },
        citation=(
            "Noise: the seismic noise magnitude SNM = log10(PSD / (nm s-2)^2 Hz-1) + 2.5 "
            "over 340-600 s periods (Banka & Crossley 1999, definition as recalled: check; "
            "Rosat & Hinderer, BSSA 101(3), 1233 (2011) compare the SGs by it); OSG-057 at "
            "Lhasa: SNM 0.867, i.e. 0.15 nm s-2/sqrt(Hz) (Zhang et al., TAO 27, 807 (2016)); "
            "0.3 nm s-2/sqrt(Hz) (SNM 1.45) is taken as a typical good station (check the "
            "range against Rosat & Hinderer). Drift: iGrav #028 beside TT70 #011 at "
            "Matsushiro 2016-2018, ~7 uGal/year (JpGU 2019, SGD01-06); SG drift 'typically "
            "~10 nm/s2 per year' (Van Camp & Francis, J. Geod. 81, 337 (2007))"
        ),
        description=(
            "GWR iGrav superconducting gravimeter, 1 s samples: white noise 0.3 nm s-2/sqrt(Hz), "
            "linear drift 7 uGal/year = 2.2e-15 m s-3; no initial exponential drift (it is "
            "installation-specific: set drift_exp_amplitude and drift_exp_time_constant)."
        ),
    ),
)


@dataclass(frozen=True, kw_only=True)
class SuperconductingGravimeter(SensorModel):
    """A relative superconducting gravimeter (GWR iGrav/OSG-like).

    Sample ``k`` at ``t_k = k / rate`` from the start::

        g[k] = truth + pressure + calibration + vibration + noise + drift
               + drift_exponential
        pressure    = pressure_admittance * (p(t) - reference_pressure)
        calibration = (scale_factor - 1) * (truth + pressure)
        noise       : white, one-sided ASD noise_asd (sigma = noise_asd sqrt(rate / 2))
        drift       = drift_rate * t;  drift_exponential = A (1 - exp(-t / tau_e))

    ``truth`` is the environment's ``gravity`` driver (m s-2; zeros without one), ``p``
    its ``pressure`` (Pa), ``vibration`` the mean of its ``acceleration`` driver (m s-2)
    over each sample interval ``[t_k, t_k + 1/rate)`` (a boxcar; the SG's own
    anti-alias filter and feedback transfer function are not modelled). ``scale_factor``
    is the ratio of the calibration factor used to the true one (1: perfectly
    calibrated; SG calibrations reach ~0.1 %).

    Parameters
    ----------
    noise_asd : float
        White noise level in m s-2 Hz-1/2 (>= 0; 1 nm s-2 = 1e-9 m s-2).
    rate : float
        Sample rate in Hz (> 0), default 1 (IGETS 1-s records).
    drift_rate : float
        Linear drift in m s-3.
    drift_exp_amplitude, drift_exp_time_constant : float
        Exponential drift size (m s-2) and time constant (s, > 0).
    scale_factor : float
        Calibration scale factor (dimensionless, > 0), default 1.
    pressure_admittance : float, optional
        Gravity change per pascal (m s-2 Pa-1; -3 nm s-2/hPa = -3e-11 m s-2 Pa-1). None
        (default): no pressure term (leave it None when the ``gravity`` driver already
        holds the atmospheric effect).
    reference_pressure : float
        Pressure of zero effect in Pa (> 0).

    Examples
    --------
    >>> sg = SuperconductingGravimeter.preset("igrav")
    >>> ds = sg.simulate(600.0, seed=1)
    >>> float(ds.g.std()) < 1e-9
    True
    """

    measured: ClassVar[str] = "g"
    quantity: ClassVar[str] = "gravity"
    PRESETS: ClassVar[tuple[Preset, ...]] = _SG_PRESETS

    noise_asd: float = parameter(unit="m s-2 Hz-1/2", minimum=0.0, doc="white noise level")
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="sample rate")
    drift_rate: float = parameter(0.0, unit="m s-3", doc="linear drift")
    drift_exp_amplitude: float = parameter(0.0, unit="m s-2", doc="exponential drift size")
    drift_exp_time_constant: float = parameter(
        30.0 * _DAY, unit="s", minimum=0.0, open_minimum=True, doc="exponential time constant"
    )
    scale_factor: float = parameter(
        1.0, unit="1", minimum=0.0, open_minimum=True, doc="calibration scale factor"
    )
    pressure_admittance: float | None = parameter(
        None, unit="m s-2 Pa-1", optional=True, doc="gravity per pascal"
    )
    reference_pressure: float = parameter(
        101325.0, unit="Pa", minimum=0.0, open_minimum=True, doc="pressure of zero effect"
    )

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the gravimeter.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 samples).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed; one child for the white noise.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset, optional
            ``gravity`` (m s-2), ``acceleration`` (m s-2, covering every sample
            interval) and, with a pressure admittance, ``pressure`` (Pa).

        Returns
        -------
        xarray.Dataset
            ``g`` (m s-2, relative), ``truth``, ``noise``, ``drift``,
            ``drift_exponential``, ``calibration`` and (with their drivers)
            ``pressure`` and ``vibration``.
        """
        n = samples_in(duration, self.rate)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        (noise_ss,) = spawn(ss, 1)
        times = time_grid(n, self.rate, t0)
        seconds = np.arange(n, dtype=np.float64) / self.rate
        gravity = environment_driver(environment, "gravity", times, quantity="gravity")
        truth = np.zeros(n) if gravity is None else gravity
        terms: dict[str, Any] = {}
        signal = truth
        if self.pressure_admittance is not None:
            p = environment_driver(environment, "pressure", times, quantity="pressure")
            if p is not None:
                terms["pressure"] = self.pressure_admittance * (p - self.reference_pressure)
                signal = truth + terms["pressure"]
        terms["calibration"] = (self.scale_factor - 1.0) * signal
        vibration = _interval_means(
            environment, "acceleration", times, 1.0 / self.rate, "acceleration"
        )
        if vibration is not None:
            terms["vibration"] = vibration
        sigma = self.noise_asd * math.sqrt(self.rate / 2.0)
        terms["noise"] = sigma * generator(noise_ss).standard_normal(n)
        terms["drift"], terms["drift_exponential"] = _drift_terms(self, seconds)
        g = truth.copy()
        for values in terms.values():
            g += values
        return simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=g,
            truth=truth,
            terms=terms,
            seed=ss,
            duration=duration,
            attrs={"g_convention": "relative: change from the meter's zero, drifts 0 at start"},
        )

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD of the white noise and of the linear drift.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0).
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0).

        Returns
        -------
        xarray.Dataset
            Terms ``noise`` (``noise_asd / sqrt(2 tau)``; ASD ``noise_asd``), ``drift``
            (``|D| tau / sqrt 2``) and ``total``, m s-2, with references.
        """
        asd = self.noise_asd
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=None
            if tau is None
            else {
                "noise": lambda t: asd / np.sqrt(2.0 * t),
                "drift": lambda t: abs(self.drift_rate) * t / math.sqrt(2.0),
            },
            asd=None if frequency is None else {"noise": asd, "drift": 0.0},
            references={
                "noise": (
                    "white noise of one-sided PSD S = noise_asd^2: Allan variance S / (2 tau) "
                    "(NIST SP 1065 (2008) sec. 5.2, white FM row with h_0 = S)"
                ),
                "drift": _DRIFT_REF,
            },
        )
