"""Classical oscillators from power-law coefficients, and the clock's process noise.

:class:`Oscillator` is a quartz, rubidium, caesium-beam or hydrogen-maser frequency
standard described by its one-sided fractional-frequency spectrum ``S_y(f) = sum
h[alpha] f**alpha`` (IEEE Std 1139; Barnes et al. 1971), a linear frequency drift and an
optional temperature coefficient. Its noise comes from the streaming generator
:class:`qsense.noise.PowerLawStream` chunk by chunk, so days of samples cost bounded
working memory; :meth:`Oscillator.stream` hands the same noise to a model that needs
the oscillator at another rate (an atomic clock's local oscillator, a disciplined
oscillator's loop). :func:`clock_process_noise` is the discrete process-noise
covariance of the two- or three-state clock model (Zucca & Tavella 2005) that
:func:`qsense.denoise.clock_model` is built on.

References
----------
J. A. Barnes et al., "Characterization of frequency stability", IEEE Trans. Instrum.
Meas. IM-20(2), 105-120 (1971). W. J. Riley, "Handbook of Frequency Stability
Analysis", NIST SP 1065 (2008), sec. 5.2 (the Allan variance of each power-law
noise; sec. 5.2.4: drift). C. Zucca and P. Tavella, "The clock model and its
relationship with the Allan and related variances", IEEE Trans. UFFC 52(2), 289-296
(2005).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense._validate import positive_float, positive_int
from qsense.noise import ALPHAS, PowerLawStream, adev_from_h, h_from_adev
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

__all__ = ["NOISE_TERMS", "Oscillator", "clock_process_noise"]

#: Name of each power-law term in a simulation and a noise budget, by alpha.
NOISE_TERMS: dict[int, str] = {
    -2: "noise_rwfm",
    -1: "noise_ffm",
    0: "noise_wfm",
    1: "noise_fpm",
    2: "noise_wpm",
}

#: Samples generated per call of the noise streams in :meth:`Oscillator.simulate`.
CHUNK_SAMPLES = 1 << 17

_DAY = 86400.0
_MONTH = 30.0 * _DAY


# ---------------------------------------------------------------- clock process noise
def clock_process_noise(
    h0: float, hm2: float, tau: float, *, q3: float = 0.0, drift: bool = False
) -> np.ndarray:
    """Process-noise covariance of the clock model over one step ``tau``.

    Parameters
    ----------
    h0 : float
        White-FM level h_0 of ``S_y(f) = h_0`` (s, i.e. 1/Hz), >= 0.
    hm2 : float
        Random-walk-FM level h_-2 of ``S_y(f) = h_-2 f^-2`` (1/s), >= 0.
    tau : float
        Step in s (> 0).
    q3 : float
        Random-run diffusion coefficient of the drift state (s^-3), >= 0.
    drift : bool
        Return the 3-state (phase, frequency, drift) matrix; otherwise 2-state.

    Returns
    -------
    numpy.ndarray, shape (2, 2) or (3, 3)
        In units of (s, 1, 1/s) squared.

    Notes
    -----
    Zucca & Tavella (2005), IEEE Trans. UFFC 52(2), 289-296: the clock is the solution
    of ``dX1 = (X2 + mu1) dt + sigma1 dW1``, ``dX2 = (X3 + mu2) dt + sigma2 dW2``,
    ``dX3 = sigma3 dW3`` with independent Wiener processes, so that the Allan variance
    is ``sigma1^2 / tau + sigma2^2 tau / 3 + sigma3^2 tau^3 / 20``. Matching this
    with the power-law Allan variances ``h_0 / (2 tau)`` (white FM) and
    ``(2 pi^2 / 3) h_-2 tau`` (random-walk FM) of NIST SP 1065 (sec. 5.2, power-law table) gives
    ``q1 = sigma1^2 = h_0 / 2`` and ``q2 = sigma2^2 = 2 pi^2 h_-2``. The exact discrete
    covariance over ``tau`` is

        Q = [[q1 tau + q2 tau^3/3 + q3 tau^5/20, q2 tau^2/2 + q3 tau^4/8, q3 tau^3/6],
             [.,                                 q2 tau + q3 tau^3/3,     q3 tau^2/2],
             [.,                                 .,                       q3 tau     ]]

    (the 2-state matrix is its upper-left block with ``q3 = 0``). ``Q[0, 0]`` is also
    the variance of the time error a free-running clock of known initial frequency
    accumulates over ``tau`` (used for holdover predictions).

    Examples
    --------
    >>> clock_process_noise(2.0, 0.0, 1.0)
    array([[1., 0.],
           [0., 0.]])
    """
    h0 = positive_float("h0", h0, allow_zero=True)
    hm2 = positive_float("hm2", hm2, allow_zero=True)
    tau = positive_float("tau", tau)
    q3 = positive_float("q3", q3, allow_zero=True)
    if not isinstance(drift, bool | np.bool_):
        raise TypeError(f"drift must be True or False, got {drift!r}")
    if q3 > 0 and not drift:
        raise ValueError(f"q3 must be 0 for the 2-state clock (drift=False), got {q3!r}")
    q1 = h0 / 2.0
    q2 = 2.0 * np.pi**2 * hm2
    Q = np.array(
        [
            [q1 * tau + q2 * tau**3 / 3 + q3 * tau**5 / 20, q2 * tau**2 / 2 + q3 * tau**4 / 8,
             q3 * tau**3 / 6],
            [q2 * tau**2 / 2 + q3 * tau**4 / 8, q2 * tau + q3 * tau**3 / 3, q3 * tau**2 / 2],
            [q3 * tau**3 / 6, q3 * tau**2 / 2, q3 * tau],
        ]
    )  # fmt: skip
    return Q if drift else Q[:2, :2].copy()


# ---------------------------------------------------------------- presets
def _h(adev: float, tau: float, alpha: int) -> float:
    """``h_alpha`` of a datasheet ``sigma_y(tau)`` (table model, 1 Hz sampling)."""
    return float(h_from_adev(adev, tau, rate=1.0, alpha=alpha))


_PRESETS = (
    Preset(
        "tcxo",
        {
            "h": {0: _h(5e-10, 1.0, 0), -1: _h(1e-9, 1.0, -1), -2: _h(1e-9, 200.0, -2)},
            "drift": 1e-6 / (365.25 * _DAY),
        },
        citation=(
            "PHYSICS.md sec. 1.7 (TCXO ~1e-9 at 1 s, minimum near 200 s: the real "
            "MAX2771 TCXO vs GPS record, shared datasets/clocks/gnss_sdr_tcxo_vs_gps, "
            "jmfriedt/max2771_fx2lp); ageing 1 ppm/year, a typical TCXO datasheet value"
        ),
        description=(
            "Temperature-compensated crystal oscillator. h_alpha = "
            "qsense.noise.h_from_adev (table model, 1 Hz) of: white FM 5e-10 at 1 s, flicker "
            "FM floor 1e-9, random-walk FM reaching the floor at 200 s; drift 1e-6/year = "
            "3.2e-14 /s. Typical values, not one product's specification."
        ),
    ),
    Preset(
        "ocxo",
        {
            "h": {
                0: _h(math.sqrt(1e-25), 1.0, 0),
                -1: _h(1e-12, 1.0, -1),
                -2: _h(1e-12, 1e3, -2),
            },
            "drift": 2e-11 / _DAY,
        },
        citation=(
            "PHYSICS.md sec. 1.7 (SC-cut OCXO: 1e-12...1e-13 at 1 s, floor "
            "1e-12...1e-13, ageing 1e-10...1e-11/day; typical datasheet values of double-oven "
            "10 MHz SC-cut OCXOs, not verified against one datasheet); the `qsense demo` "
            "'ocxo' clock"
        ),
        description=(
            "10 MHz SC-cut oven-controlled crystal oscillator. h_alpha = "
            "qsense.noise.h_from_adev (table model, 1 Hz) of: white FM 3.16e-13 at 1 s "
            "(h0 = 2e-25), flicker FM floor 1e-12 (h_-1 = 7.2e-25), random-walk FM 1e-12 at "
            "1000 s (h_-2 = 1.5e-28); ageing 2e-11/day = 2.3e-16 /s."
        ),
    ),
    Preset(
        "rubidium",
        {
            "h": {0: _h(2e-11, 1.0, 0), -1: _h(2e-13, 1.0, -1)},
            "drift": 5e-11 / _MONTH,
        },
        citation=(
            "PHYSICS.md sec. 1.7 (Rb standard: 1e-11...2e-11 at 1 s, floor "
            "1e-12...1e-13, ~5e-11/month); typical datasheet values of a compact Rb "
            "standard (SRS PRS10 class: 2e-11 at 1 s, 2e-12 at 100 s; check the datasheet)"
        ),
        description=(
            "Rubidium vapour-cell frequency standard. h_alpha = qsense.noise.h_from_adev "
            "(table model, 1 Hz) of: white FM 2e-11 tau^-1/2, flicker FM floor 2e-13; ageing "
            "5e-11/month = 1.9e-17 /s."
        ),
    ),
    Preset(
        "cs-5071a",
        {"h": {0: _h(5e-12, 1.0, 0), -1: _h(1e-14, 1.0, -1)}, "drift": 0.0},
        citation=(
            "PHYSICS.md sec. 1.7 (Cs 5071A high-performance tube: ~5e-12 at 1 s "
            "typical, specification 8.5e-12 tau^-1/2, flicker floor <= 1e-14; Microchip "
            "5071A datasheet); the `qsense demo` 'cesium' clock"
        ),
        description=(
            "Caesium-beam primary frequency standard of the HP/Agilent/Microchip 5071A class "
            "(high-performance tube). h_alpha = qsense.noise.h_from_adev (table model, 1 Hz) "
            "of the typical white FM 5e-12 tau^-1/2 (h0 = 5e-23) and the 1e-14 flicker floor "
            "(h_-1 = 7.2e-29); no drift (a primary standard)."
        ),
    ),
    Preset(
        "h-maser",
        {
            "h": {
                2: _h(8.66e-14, 1.0, 2),
                0: _h(5e-14, 1.0, 0),
                -1: _h(1e-15, 1.0, -1),
            },
            "drift": 1e-16 / _DAY,
        },
        citation=(
            "PHYSICS.md sec. 1.7 (active H-maser: ~1e-13 at 1 s, 2e-15 at 1000 s, "
            "~1e-16/day drift; typical datasheet values of active masers, e.g. Microchip "
            "MHM 2010, T4Science iMaser; check the datasheet); the `qsense demo` 'maser' clock"
        ),
        description=(
            "Active hydrogen maser. h_alpha = qsense.noise.h_from_adev (table model, 1 Hz, "
            "f_h = 0.5 Hz) of: white PM 8.66e-14 at 1 s and white FM 5e-14 tau^-1/2 (together "
            "1e-13 at 1 s), flicker FM floor 1e-15 (1.9e-15 at 1000 s in all); drift "
            "1e-16/day = 1.2e-21 /s."
        ),
    ),
    Preset(
        "csac",
        {"h": {0: _h(3e-10, 1.0, 0), -1: _h(1e-12, 1.0, -1)}, "drift": 9e-10 / _MONTH},
        citation=(
            "PHYSICS.md sec. 1.7 (Microchip SA.45s chip-scale atomic clock: "
            "~3e-10 at 1 s, ~1e-11 at 1000 s, ageing 0.6-0.9 ppb/month; SA.45s datasheet "
            "values, marked 'check' there)"
        ),
        description=(
            "Chip-scale atomic clock of the Microchip SA.45s class. h_alpha = "
            "qsense.noise.h_from_adev (table model, 1 Hz) of: white FM 3e-10 tau^-1/2 "
            "(9.5e-12 at 1000 s), flicker FM floor 1e-12 (assumed: below the datasheet's "
            "last point); ageing 9e-10/month = 3.5e-16 /s (datasheet maximum)."
        ),
    ),
)


def _sampled(tau: np.ndarray, rate: float) -> bool:
    m = tau * rate
    return bool(np.all((np.abs(m - np.rint(m)) <= 1e-9 * np.maximum(1.0, m)) & (m >= 0.5)))


# ---------------------------------------------------------------- the model
@dataclass(frozen=True, kw_only=True)
class Oscillator(SensorModel):
    """A classical frequency standard: power-law noise, linear drift, temperature.

    The fractional frequency at sample ``k`` (time ``t_k = k / rate`` from the start) is::

        freq[k] = sum_alpha noise_alpha[k] + drift * t_k
                  + temperature_coefficient * (T(t_k) - reference_temperature)

    with ``noise_alpha`` the power-law noise of ``S_y(f) = h[alpha] f**alpha`` drawn by
    :class:`qsense.noise.PowerLawStream` (the samples are mean frequencies over each
    sample interval, PM terms as phase differences) and ``T`` the environment's
    ``temperature`` driver.

    Parameters
    ----------
    h : mapping {int: float}
        One-sided PSD coefficients of fractional frequency, ``h[alpha]`` in
        Hz**(-1-alpha), alpha in {-2, -1, 0, 1, 2} (random-walk FM, flicker FM, white FM,
        flicker PM, white PM); values >= 0, at least one > 0.
    drift : float
        Linear fractional-frequency drift D in 1/s (ageing; 1e-10/day = 1.16e-15 /s).
    rate : float
        Output sample rate in Hz (> 0), default 1.
    temperature_coefficient : float, optional
        Fractional frequency change per kelvin (1/K), applied to the environment's
        ``temperature`` driver (K) about ``reference_temperature``. None (default): no
        temperature term.
    reference_temperature : float
        Temperature in K at which the temperature term is zero (default 298.15 K).
    tau_max : float, optional
        Longest averaging time in s over which the flicker terms hold their law (see
        :class:`~qsense.noise.PowerLawStream`; between 100 and 1e10 samples). Default:
        the stream's, ``1e9 / rate``.

    Notes
    -----
    ``simulate`` returns ``freq`` (fractional frequency), ``phase`` (time error in s,
    ``phase[0] = 0``, ``phase[k] = sum_{j<k} freq[j] / rate``: the time error at the
    start of sample ``k``, which the mean frequency ``freq[k]`` then advances), ``truth``
    (zeros: the ideal clock), one variable per non-zero power-law term
    (``noise_rwfm``, ``noise_ffm``, ``noise_wfm``, ``noise_fpm``, ``noise_wpm``),
    ``drift`` and, when a temperature coefficient and a driver are given,
    ``temperature``. ``freq`` is the sum of the terms. Seeds: the simulation's
    SeedSequence is spawned into one child for the noise, whose
    :class:`~qsense.noise.PowerLawStream` spawns one child per alpha (so adding a noise
    type never changes another's samples, and :meth:`stream` with that child gives the
    same total noise).

    Examples
    --------
    >>> osc = Oscillator.preset("ocxo")
    >>> ds = osc.simulate(3600.0, seed=1)
    >>> sorted(ds.data_vars)[:3]
    ['drift', 'freq', 'noise_ffm']
    """

    measured: ClassVar[str] = "freq"
    quantity: ClassVar[str] = "fractional_frequency"
    PRESETS: ClassVar[tuple[Preset, ...]] = _PRESETS

    h: dict = parameter(
        unit="Hz-(alpha+1)",
        kind="mapping",
        minimum=0.0,
        doc="one-sided S_y(f) coefficients {alpha: h_alpha}",
    )
    drift: float = parameter(0.0, unit="s-1", doc="linear fractional-frequency drift")
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="sample rate")
    temperature_coefficient: float | None = parameter(
        None, unit="K-1", optional=True, doc="fractional frequency per kelvin"
    )
    reference_temperature: float = parameter(
        298.15, unit="K", minimum=0.0, open_minimum=True, doc="temperature of zero shift"
    )
    tau_max: float | None = parameter(
        None, unit="s", minimum=0.0, open_minimum=True, optional=True, doc="flicker band"
    )

    def _check(self) -> None:
        for key in self.h:
            if key not in ALPHAS:
                raise ValueError(
                    f"Oscillator: h has the key alpha={key!r}; the accepted alphas are {ALPHAS} "
                    "(-2 random-walk FM ... +2 white PM)"
                )
        if not any(v > 0 for v in self.h.values()):
            raise ValueError(f"Oscillator: h must have at least one h_alpha > 0, got {self.h!r}")
        if self.tau_max is not None:
            samples = self.tau_max * self.rate
            if not 100.0 <= samples <= 1e10:
                raise ValueError(
                    f"Oscillator: tau_max must be between 100 and 1e10 samples at rate "
                    f"{self.rate!r} Hz, got {self.tau_max!r} s ({samples:.3g} samples)"
                )

    # -- the interface other models use
    def stream(self, rate: float, seed: Seed) -> PowerLawStream:
        """This oscillator's fractional-frequency noise at any sample rate.

        Parameters
        ----------
        rate : float
            Sample rate in Hz (> 0) of the stream (e.g. many samples per clock cycle
            for an atomic clock's local oscillator).
        seed : int >= 0, numpy.random.SeedSequence or None
            Seed of the stream (one child per alpha, see
            :class:`~qsense.noise.PowerLawStream`).

        Returns
        -------
        qsense.noise.PowerLawStream
            ``data_type="freq"``, the same ``h``; ``tau_max`` is this oscillator's when
            it lies in the stream's band at ``rate`` (100 to 1e10 samples), else the
            stream's default. Drift and temperature are not included (``self.drift``).
        """
        rate = positive_float("rate", rate)
        tau_max = self.tau_max
        if tau_max is not None and not 100.0 <= tau_max * rate <= 1e10:
            tau_max = None
        return PowerLawStream(self.h, rate, data_type="freq", seed=seed, tau_max=tau_max)

    # -- simulate
    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
        chunk_samples: int = CHUNK_SAMPLES,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the oscillator.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 samples at :attr:`rate`).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``); None draws fresh entropy.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset, optional
            Drivers on a ``time`` coordinate; ``temperature`` (K) is used when
            :attr:`temperature_coefficient` is set.
        chunk_samples : int
            Samples drawn from the noise streams per call (bounds the working memory
            beyond the output); the result does not depend on it, bit for bit.

        Returns
        -------
        xarray.Dataset
            ``freq``, ``phase`` (s), ``truth`` and the terms (see the class Notes).
        """
        n = samples_in(duration, self.rate)
        chunk = positive_int("chunk_samples", chunk_samples)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        (noise_ss,) = spawn(ss, 1)
        terms: dict[str, Any] = {}
        for alpha in sorted(self.h):
            if self.h[alpha] == 0:
                continue
            stream = PowerLawStream(
                {alpha: self.h[alpha]},
                self.rate,
                data_type="freq",
                seed=noise_ss,
                tau_max=self.tau_max,
            )
            out = np.empty(n)
            for i in range(0, n, chunk):
                out[i : i + chunk] = stream.next(min(chunk, n - i))
            terms[NOISE_TERMS[alpha]] = out
        seconds = np.arange(n, dtype=np.float64) / self.rate
        terms["drift"] = self.drift * seconds
        if self.temperature_coefficient is not None and environment is not None:
            temp = environment_driver(
                environment, "temperature", time_grid(n, self.rate, t0), quantity="temperature"
            )
            if temp is not None:
                terms["temperature"] = self.temperature_coefficient * (
                    temp - self.reference_temperature
                )
        freq = np.zeros(n)
        for values in terms.values():
            freq += values
        phase = np.zeros(n)
        np.cumsum(freq[:-1] / self.rate, out=phase[1:])
        terms["phase"] = (phase, "phase")
        return simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=freq,
            truth=np.zeros(n),
            terms=terms,
            seed=ss,
            duration=duration,
            attrs={"phase_convention": "phase[0] = 0, phase[k] = sum_{j<k} freq[j] / rate"},
        )

    # -- noise budget
    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD of each power-law term and of the drift.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0). Where all are whole numbers of samples at
            :attr:`rate`, each term is :func:`qsense.noise.adev_from_h` with
            ``model="sampled"`` (the exact Allan deviation of the sampled process),
            otherwise ``model="table"``.
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0) of the one-sided ASD ``sqrt(h_alpha
            f**alpha)`` (1/sqrt(Hz)).

        Returns
        -------
        xarray.Dataset
            ``adev`` and/or ``asd`` on (term, tau/frequency): one term per non-zero
            ``h_alpha``, ``drift`` (Allan deviation ``|D| tau / sqrt(2)``, NIST SP 1065
            sec. 5.2.4; no stationary spectrum, ASD 0) and ``total``; the ``reference``
            of each term. ``attrs['adev_model']`` says which model was used.
        """
        for name, axis in (("tau", tau), ("frequency", frequency)):
            if isinstance(axis, xr.Dataset) or np.iscomplexobj(axis):
                raise TypeError(f"{name} must be real numbers in s or Hz, got {axis!r}")
        adev: dict[str, Any] = {}
        asd: dict[str, Any] = {}
        refs: dict[str, str] = {}
        table = {
            -2: "random-walk FM: (2 pi^2/3) h_-2 tau",
            -1: "flicker FM: 2 ln2 h_-1",
            0: "white FM: h_0 / (2 tau)",
            1: "flicker PM: [1.038 + 3 ln(2 pi f_h tau)] h_1 / (4 pi^2 tau^2)",
            2: "white PM: 3 f_h h_2 / (4 pi^2 tau^2)",
        }
        model = ["table"]

        def term_adev(alpha: int, h_alpha: float):
            def f(t: np.ndarray) -> np.ndarray:
                model[0] = "sampled" if _sampled(t, self.rate) else "table"
                return adev_from_h({alpha: h_alpha}, t, self.rate, model=model[0])

            return f

        def term_asd(alpha: int, h_alpha: float):
            return lambda f: np.sqrt(h_alpha * f ** float(alpha))

        for alpha in sorted(self.h):
            if self.h[alpha] == 0:
                continue
            name = NOISE_TERMS[alpha]
            adev[name] = term_adev(alpha, self.h[alpha])
            asd[name] = term_asd(alpha, self.h[alpha])
            refs[name] = (
                f"NIST SP 1065 (2008) sec. 5.2 (power-law table); Barnes et al., IEEE TIM 20, 105 "
                f"(1971): {table[alpha]} (qsense.noise.adev_from_h; sampled: exact for "
                f"the discrete process at rate {self.rate:g} Hz)"
            )
        adev["drift"] = lambda t: abs(self.drift) * t / math.sqrt(2.0)
        asd["drift"] = 0.0
        refs["drift"] = "NIST SP 1065 (2008) sec. 5.2.4: linear drift D, sigma_y = D tau / sqrt 2"
        out = budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=adev if tau is not None else None,
            asd=asd if frequency is not None else None,
            references=refs,
        )
        if tau is not None:
            out.attrs["adev_model"] = model[0]
        return out


# The classical gravity instruments (issue 11) live in their own modules and are
# re-exported here, beside the oscillators.
from qsense.sensors.gravimeters_classical import (  # noqa: E402
    SpringGravimeter,
    SuperconductingGravimeter,
)
from qsense.sensors.seismometer import Seismometer  # noqa: E402

__all__ += ["Seismometer", "SpringGravimeter", "SuperconductingGravimeter"]
