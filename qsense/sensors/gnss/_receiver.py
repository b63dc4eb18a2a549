"""The GNSS receiver's 1PPS time error (see :mod:`qsense.sensors.gnss`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense._validate import positive_float, warn
from qsense.noise import adev_from_h
from qsense.seeding import Seed, generator, seed_sequence, spawn
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import budget_dataset, samples_in, simulation_dataset, start_time

__all__ = ["GnssReceiver", "crossover_tau"]

_ROOT3 = math.sqrt(3.0)


# ---------------------------------------------------------------- the receiver
_RECEIVER_CITATION = (
    "PHYSICS.md sec. 1.6: PPS Allan deviation at 1 s measured by N8UR "
    "(quoted in jmfriedt/max2771_fx2lp, 240729_stability/README.md)"
)


@dataclass(frozen=True, kw_only=True)
class GnssReceiver(SensorModel):
    """The 1PPS time error of a GNSS timing receiver: white PM plus the sawtooth.

    At pulse ``k`` (time ``t_k = k / rate``) the time error of the pulse against GNSS
    time is::

        phase[k] = white[k] + sawtooth[k]
        white[k]    ~ N(0, rms**2)                      (white PM)
        sawtooth[k] = granularity * (frac(u0 + t_k / sawtooth_period) - 1/2)

    the pulse leaving on the next edge of the receiver's clock of period
    ``granularity``, whose phase against GNSS time slides by one period every
    ``sawtooth_period`` seconds (``granularity / sawtooth_period`` is the receiver
    clock's fractional frequency offset); ``u0`` is uniform on [0, 1) (seeded). With
    ``sawtooth_correction`` the user applies the receiver's reported quantisation error
    (u-blox ``qErr``) and the sawtooth is replaced by a white ``correction_residual``.

    Parameters
    ----------
    rms : float
        rms of the white phase noise in s (>= 0).
    granularity : float
        Period of the receiver clock that times the pulse, in s (>= 0; 0: no sawtooth).
    sawtooth_period : float
        Time in s over which the sawtooth sweeps one ``granularity`` (> 0).
    sawtooth_correction : bool
        Apply the receiver's published quantisation correction.
    correction_residual : float
        rms in s of what the correction leaves (>= 0; white).
    rate : float
        Pulse rate in Hz (> 0), 1 for a 1PPS output.

    Notes
    -----
    ``simulate`` returns ``phase`` (s), ``truth`` (zeros: GNSS time), ``white`` and
    ``sawtooth`` (or ``residual`` when corrected). Seeds: one child per term (white,
    then sawtooth / residual). The sawtooth is deterministic once ``u0`` is drawn; a
    real receiver's clock also wanders, which moves the sawtooth's period (and
    produces the "hanging bridges" where the offset is near a whole number of
    periods per second); that wander is not modelled.

    Examples
    --------
    >>> rx = GnssReceiver.preset("neo-m8")
    >>> round(float(rx.noise_budget(tau=1.0).adev.sel(term="total")[0]), 12)
    1e-08
    >>> sorted(rx.simulate(60.0, seed=1).data_vars)
    ['phase', 'sawtooth', 'truth', 'white']
    """

    measured: ClassVar[str] = "phase"
    quantity: ClassVar[str] = "phase"
    PRESETS: ClassVar[tuple[Preset, ...]] = (
        Preset(
            "zed-f9p",
            {"rms": 4e-9 / _ROOT3, "granularity": 0.0},
            citation=_RECEIVER_CITATION + " (u-blox ZED-F9P: 4e-9 at 1 s)",
            description=(
                "u-blox ZED-F9P 1PPS as white PM whose ADEV(1 s) = sqrt(3) rms = 4e-9 "
                "(rms 2.3 ns; the measured value, sawtooth included)."
            ),
        ),
        Preset(
            "neo-m8",
            {"rms": 1e-8 / _ROOT3, "granularity": 0.0},
            citation=_RECEIVER_CITATION + " (u-blox NEO-M8: 1e-8 at 1 s)",
            description=(
                "u-blox NEO-M8 1PPS as white PM whose ADEV(1 s) = sqrt(3) rms = 1e-8 "
                "(rms 5.8 ns; the measured value, sawtooth included)."
            ),
        ),
        Preset(
            "timing-sawtooth",
            {
                "rms": 5e-9,
                "granularity": 1.0 / 48e6,
                "sawtooth_period": 20.0,
                "correction_residual": 2e-9,
            },
            citation=(
                "PHYSICS.md sec. 1.6 (1PPS ~10-20 ns rms uncorrected, ~1-3 ns "
                "with the sawtooth correction; check against the receiver documentation); "
                "u-blox timing receiver integration manual (TIM-TP qErr)"
            ),
            description=(
                "A timing receiver whose pulse is timed by a 48 MHz clock (20.8 ns steps; "
                "assumed, check the receiver's documentation), 5 ns white PM, sawtooth "
                "period 20 s; corrected residual 2 ns (sawtooth_correction=True)."
            ),
        ),
    )

    rms: float = parameter(unit="s", minimum=0.0, doc="white PM rms")
    granularity: float = parameter(0.0, unit="s", minimum=0.0, doc="receiver clock period")
    sawtooth_period: float = parameter(
        60.0, unit="s", minimum=0.0, open_minimum=True, doc="period of the sawtooth"
    )
    sawtooth_correction: bool = parameter(False, unit="1", kind="bool", doc="apply qErr")
    correction_residual: float = parameter(
        0.0, unit="s", minimum=0.0, doc="rms left by the correction"
    )
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="pulse rate")

    def _check(self) -> None:
        if self.time_error_rms() == 0.0:
            raise ValueError(
                "GnssReceiver: rms, granularity (uncorrected) or correction_residual "
                "(corrected) must be > 0: a receiver without time error is GNSS time itself"
            )

    def time_error_rms(self) -> float:
        """Total rms of the pulse time error in s (the sawtooth as a uniform error).

        Returns
        -------
        float
            ``sqrt(rms**2 + granularity**2 / 12)``, or ``sqrt(rms**2 +
            correction_residual**2)`` with the correction.
        """
        other = (
            self.correction_residual**2 if self.sawtooth_correction else self.granularity**2 / 12.0
        )
        return math.sqrt(self.rms**2 + other)

    def _source(self, ss: np.random.SeedSequence) -> _PpsSource:
        return _PpsSource(self, ss)

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of pulses.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 pulses).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``).
        start : datetime-like, optional
            UTC time of the first pulse.
        environment : xarray.Dataset, optional
            Not used (the receiver has no environmental driver).

        Returns
        -------
        xarray.Dataset
            ``phase`` (s), ``truth``, ``white`` and ``sawtooth`` or ``residual``.
        """
        n = samples_in(duration, self.rate)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        terms = self._source(ss).next(n)
        total = np.zeros(n)
        for v in terms.values():
            total += v
        return simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=total,
            truth=np.zeros(n),
            terms=terms,
            seed=ss,
            duration=duration,
            attrs={"time_error_rms": self.time_error_rms()},
        )

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation of the pulses' phase and ASD of each term.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0).
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0, up to ``rate / 2``).

        Returns
        -------
        xarray.Dataset
            ``adev`` (dimensionless: the Allan deviation of fractional frequency from
            this phase record) and/or ``asd`` (phase, s/sqrt(Hz)) of ``white`` and
            ``sawtooth``/``residual``: white PM ``sqrt(3) sigma_x / tau`` (NIST SP 1065
            sec. 5.2: ``3 sigma_x**2 / tau**2`` for white phase of variance
            ``sigma_x**2`` sampled at ``tau0 <= tau``), ASD ``sigma_x sqrt(2 / rate)``;
            the sawtooth as a uniform error of rms ``granularity / sqrt(12)`` (exact when
            its period is short against tau, an upper bound at short tau otherwise).
        """
        for name, axis in (("tau", tau), ("frequency", frequency)):
            if isinstance(axis, xr.Dataset) or np.iscomplexobj(axis):
                raise TypeError(f"{name} must be real numbers in s or Hz, got {axis!r}")
        second = "residual" if self.sawtooth_correction else "sawtooth"
        sigma2 = (
            self.correction_residual
            if self.sawtooth_correction
            else self.granularity / math.sqrt(12.0)
        )
        white_ref = "NIST SP 1065 (2008) sec. 5.2: white PM, sigma_y = sqrt(3) sigma_x / tau"
        refs = {
            "white": white_ref,
            second: (
                white_ref + " with sigma_x = correction residual (u-blox TIM-TP qErr applied)"
                if self.sawtooth_correction
                else white_ref + " with sigma_x = granularity / sqrt(12) (uniform quantisation)"
            ),
        }
        sigmas = (("white", self.rms), (second, sigma2))
        adev = {k: (lambda t, s=s: _ROOT3 * s / t) for k, s in sigmas}
        asd = {k: s * math.sqrt(2.0 / self.rate) for k, s in sigmas}
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=adev if tau is not None else None,
            asd=asd if frequency is not None else None,
            references=refs,
        )


class _PpsSource:
    """The pulses' time-error terms chunk by chunk (white, then sawtooth or residual)."""

    def __init__(self, receiver: GnssReceiver, ss: np.random.SeedSequence) -> None:
        white_ss, saw_ss = spawn(ss, 2)
        self._r = receiver
        self._white = generator(white_ss)
        self._saw = generator(saw_ss)
        self._u0 = float(self._saw.random()) if not receiver.sawtooth_correction else 0.0
        self._k = 0

    def next(self, n: int) -> dict[str, np.ndarray]:
        r = self._r
        out = {"white": self._white.standard_normal(n) * r.rms}
        if r.sawtooth_correction:
            out["residual"] = self._saw.standard_normal(n) * r.correction_residual
        else:
            k = np.arange(self._k, self._k + n, dtype=np.float64)
            u = np.mod(self._u0 + k / (r.rate * r.sawtooth_period), 1.0)
            out["sawtooth"] = r.granularity * (u - 0.5)
        self._k += n
        return out


# ---------------------------------------------------------------- crossover
def crossover_tau(h: dict, drift: float, sigma_x: float, rate: float) -> float:
    """Averaging time where an oscillator's Allan deviation meets the GNSS reference's.

    Parameters
    ----------
    h : mapping {int: float}
        The oscillator's ``S_y`` coefficients (see :class:`~qsense.sensors.classical.
        Oscillator`).
    drift : float
        The oscillator's linear frequency drift in 1/s (adds ``|D| tau / sqrt 2``).
    sigma_x : float
        rms time error of the reference's pulses in s (> 0).
    rate : float
        Pulse (loop update) rate in Hz (> 0).

    Returns
    -------
    float
        ``tau`` in s with ``sigma_y,osc(tau) = sqrt(3) sigma_x / tau`` (PHYSICS.md
        sec. 1.6), the oscillator's from :func:`qsense.noise.adev_from_h` (table model),
        searched on ``[10 / rate, 1e8 s]``; the end of that range where the two do not
        cross there (a warning says which).

    Examples
    --------
    >>> floor = {-1: 1e-24 / (2 * math.log(2))}  # flicker floor sigma_y = 1e-12
    >>> round(crossover_tau(floor, 0.0, sigma_x=10e-9, rate=1.0))
    17321
    """
    sigma_x = positive_float("sigma_x", sigma_x)
    rate = positive_float("rate", rate)
    taus = np.logspace(math.log10(10.0 / rate), 8.0, 2000)
    osc = np.sqrt(adev_from_h(h, taus, rate) ** 2 + (drift * taus) ** 2 / 2.0)
    diff = np.log(osc) - np.log(_ROOT3 * sigma_x / taus)
    above = np.nonzero(diff >= 0)[0]
    if above.size == 0:
        warn(
            f"the oscillator stays below the GNSS Allan deviation up to 1e8 s; time constant "
            f"set to 1e8 s (sigma_x = {sigma_x!r} s)"
        )
        return 1e8
    i = int(above[0])
    if i == 0:
        warn(
            f"the oscillator is noisier than the GNSS reference already at 10 / rate = "
            f"{10.0 / rate!r} s; time constant set to that"
        )
        return float(taus[0])
    # linear interpolation of the log difference between the bracketing grid points
    t0, t1, d0, d1 = math.log(taus[i - 1]), math.log(taus[i]), diff[i - 1], diff[i]
    return float(math.exp(t0 + (t1 - t0) * (-d0) / (d1 - d0)))
