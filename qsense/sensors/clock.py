"""An atomic clock from its physics: Ramsey interrogation, projection noise, Dick effect, servo.

:class:`AtomicClock` steers a local oscillator (LO) to an atomic transition cycle by
cycle. Each cycle of length ``T_c`` holds two pi/2 pulses of length ``tau_p`` separated
by the free evolution ``T_R``, then dead time (preparation, detection). The LO's
fractional-frequency noise is simulated ``lo_samples_per_cycle`` times per cycle and
weighted by the Ramsey sensitivity function ``g(t)`` (Dick 1987; Santarelli et al.
1998); the detected atom number is binomial (Itano et al. 1993); an integrating servo
corrects the LO after each cycle. The time loop is a numba kernel over explicit state,
so :meth:`AtomicClock.run` continues a run chunk by chunk with the same samples as one
:meth:`AtomicClock.simulate` call.

References
----------
W. M. Itano et al., "Quantum projection noise: population fluctuations in two-level
systems", Phys. Rev. A 47, 3554 (1993). G. J. Dick, "Local oscillator induced
instabilities in trapped ion frequency standards", Proc. 19th PTTI, 133 (1987).
G. Santarelli et al., "Frequency stability degradation of an oscillator slaved to a
periodically interrogated atomic resonator", IEEE TUFFC 45, 887 (1998). G. Santarelli
et al., "Quantum projection noise in an atomic fountain: a high stability cesium
frequency standard", Phys. Rev. Lett. 82, 4619 (1999). W. J. Riley, NIST SP 1065 (2008).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from scipy.special import zeta

from qsense._validate import real_array
from qsense.noise import psd_from_h
from qsense.seeding import Seed
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import budget_dataset, samples_in
from qsense.sensors._clock_presets import PRESETS
from qsense.sensors._clock_run import ClockRun
from qsense.sensors._clock_sensitivity import (
    HARMONICS,
    dick_weights,
    effective_time,
    loop_residual_avar,
    loop_residual_psd,
)

__all__ = ["AtomicClock", "ClockRun"]


@dataclass(frozen=True, kw_only=True)
class AtomicClock(SensorModel):
    """A Ramsey-interrogated atomic clock that steers its local oscillator every cycle.

    Parameters
    ----------
    nu0 : float
        Clock transition frequency in Hz.
    ramsey_time : float
        Free evolution time ``T_R`` between the two pi/2 pulses, in s.
    cycle_time : float
        Cycle time ``T_c`` in s; ``T_R + 2 pulse_duration < T_c`` (the rest is dead time).
    atoms : int
        Atoms detected per cycle, ``N >= 1``.
    contrast : float
        Ramsey fringe contrast ``C`` in (0, 1].
    lo : object or None
        The local oscillator: None for an ideal (noiseless) LO, otherwise an object with
        ``lo.stream(rate, seed)`` returning a :class:`qsense.noise.PowerLawStream` of
        fractional frequency, ``lo.drift`` (1/s) and ``lo.h`` (``{alpha: h_alpha}``),
        such as :class:`qsense.sensors.classical.Oscillator`.
    pulse_duration : float
        Length ``tau_p`` of each pi/2 pulse in s; 0 for short pulses (rectangular
        sensitivity function).
    servo_gain : float
        Integrator gain ``G`` per cycle, in (0, 2). The loop's error decays as
        ``(1 - G)**k``: time constant ``-1 / ln|1 - G|`` cycles (about ``1 / G`` for
        small ``G``); ``G = 1`` (default) removes the measured error in one cycle.
    drift : float
        Linear fractional-frequency drift of the atomic reference in 1/s (e.g. the
        ageing of a vapour cell); the LO's own drift is ``lo.drift``.
    lo_samples_per_cycle : int
        LO samples per cycle (>= 2), default 100: the bandwidth of the simulated LO noise
        is ``lo_samples_per_cycle / (2 T_c)``.
    temperature_coefficient : float or None
        Fractional frequency shift per kelvin (1/K) of the environment's ``temperature``
        driver (K) about ``reference_temperature``; None: no temperature term.
    reference_temperature : float
        Temperature (K) of zero temperature shift, default 298.15 K.
    zeeman_coefficient : float
        Second-order Zeeman coefficient ``K_Z`` in Hz/T**2: the shift is ``K_Z B**2``
        (Hz), ``B`` the field at the atoms (below).
    c_field : float
        Static bias field at the atoms (the "C field") in T.
    field_shielding : float
        Shielding factor ``S >= 1`` of the environment's ``magnetic_field`` driver:
        ``B = c_field + B_env / S``.

    Notes
    -----
    **Interrogation.** Cycle ``k`` probes the central Ramsey fringe at its half-height
    point on side ``s_k = (-1)**k`` (square-wave modulation by ``+-1 / (4 T_eff)``, phase
    ``+-pi/2``). The Ramsey phase error is ``phi_k = 2 pi nu0 T_eff e_k`` with ``e_k =
    sum_i w_i y_i + c_k - r_k`` the fractional frequency error the atoms average: the LO
    samples ``y_i`` weighted by ``w_i``, the integral of ``g(t)`` over sample ``i``
    divided by ``T_eff = integral g dt = T_R + 4 tau_p / pi`` (see
    :mod:`qsense.sensors._clock_sensitivity`), the servo correction ``c_k`` and the
    reference shift ``r_k``. The excitation probability is ``P_k = (1 - s_k C sin
    phi_k) / 2`` and the detected count ``N_e ~ Binomial(N, P_k)`` (Itano et al. 1993).
    The error signal is the single mid-fringe point of each cycle, converted to
    fractional frequency through the fringe slope ``dP/dnu = pi C T_eff`` (Hz**-1)::

        e_hat_k = -s_k (N_e / N - 1/2) / (pi C T_eff nu0)

    and the servo integrates it: ``c_{k+1} = c_k - G e_hat_k``. With an ideal LO, the
    output is white FM of Allan deviation ``(1 / (2 pi nu0 T_eff C)) sqrt(T_c / (N
    tau))`` (Itano 1993; Santarelli 1999), exactly at every tau for ``G = 1``.

    **Output.** ``freq[k]`` is the output's fractional frequency averaged over cycle
    ``k`` (sample rate ``1 / T_c``), ``mean_i y_i + c_k``; ``phase[k]`` (s) the time error
    at the start of cycle ``k`` (``phase[0] = 0``). ``truth`` is the atomic reference,
    ``r_k = drift + temperature + zeeman`` (zeros for an ideal clock: no drift, no
    environment, no C field), each also a variable. The rest of ``freq`` is split,
    exactly, by the linearity of the servo into ``lo`` (the LO's cycle mean and drift as
    left by the servo: the free LO at short tau, falling as 1/tau beyond the loop time),
    ``dick`` (the servo's response to the aliased LO noise ``sum_i w_i y_i - mean_i
    y_i``: the Dick effect), ``qpn`` (its response to the measurement's departure from the
    linear fringe: the projection noise, plus the fringe curvature, negligible in lock)
    and ``servo_lag`` (the servo's lag behind ``truth``), so ``freq = truth + lo + dick +
    qpn + servo_lag``. The reference shifts are taken at each cycle's start: ``drift *
    t_k`` with ``t_k = k T_c`` from the run's first cycle, the temperature term zero
    without a driver or a coefficient, the Zeeman term ``K_Z B**2 / nu0``.

    **Seeds.** The simulation's SeedSequence is spawned into two children: the atom
    counts, then the LO's stream.

    Examples
    --------
    >>> clock = AtomicClock(nu0=9.2e9, ramsey_time=0.4, cycle_time=1.0, atoms=10**5)
    >>> ds = clock.simulate(100.0, seed=1)
    >>> float(ds.freq.std()) < 1e-12, ds.sizes["time"]
    (True, 100)
    """

    measured: ClassVar[str] = "freq"
    quantity: ClassVar[str] = "fractional_frequency"
    PRESETS: ClassVar[tuple[Preset, ...]] = PRESETS

    nu0: float = parameter(unit="Hz", minimum=0.0, open_minimum=True, doc="transition frequency")
    ramsey_time: float = parameter(
        unit="s", minimum=0.0, open_minimum=True, doc="free evolution time T_R"
    )
    cycle_time: float = parameter(unit="s", minimum=0.0, open_minimum=True, doc="cycle time T_c")
    atoms: int = parameter(unit="1", kind="int", minimum=1, doc="atoms detected per cycle")
    contrast: float = parameter(
        1.0, unit="1", minimum=0.0, open_minimum=True, maximum=1.0, doc="fringe contrast"
    )
    lo: Any = dataclasses.field(default=None)
    pulse_duration: float = parameter(0.0, unit="s", minimum=0.0, doc="pi/2 pulse length")
    servo_gain: float = parameter(
        1.0,
        unit="1",
        minimum=0.0,
        maximum=2.0,
        open_minimum=True,
        open_maximum=True,
        doc="integrator gain per cycle",
    )
    drift: float = parameter(0.0, unit="s-1", doc="linear drift of the atomic reference")
    lo_samples_per_cycle: int = parameter(100, unit="1", kind="int", minimum=2)
    temperature_coefficient: float | None = parameter(
        None, unit="K-1", optional=True, doc="fractional frequency per kelvin"
    )
    reference_temperature: float = parameter(
        298.15, unit="K", minimum=0.0, open_minimum=True, doc="temperature of zero shift"
    )
    zeeman_coefficient: float = parameter(0.0, unit="Hz T-2", doc="second-order Zeeman K_Z")
    c_field: float = parameter(0.0, unit="T", doc="static field at the atoms")
    field_shielding: float = parameter(1.0, unit="1", minimum=1.0, doc="shielding factor")

    def __post_init__(self) -> None:
        if isinstance(self.lo, Mapping):  # a recorded LO model (from_attrs)
            object.__setattr__(self, "lo", SensorModel.from_attrs(self.lo))
        super().__post_init__()

    def _check(self) -> None:
        busy = self.ramsey_time + 2.0 * self.pulse_duration
        if not busy < self.cycle_time:
            raise ValueError(
                "AtomicClock: ramsey_time + 2 * pulse_duration must be < cycle_time (the "
                f"cycle must hold both pulses and the free evolution), got ramsey_time="
                f"{self.ramsey_time!r} s, pulse_duration={self.pulse_duration!r} s, "
                f"cycle_time={self.cycle_time!r} s"
            )
        slope = 2.0 * math.pi * self.nu0 * self.effective_ramsey_time * self.contrast
        if not 1e-150 < slope < 1e150:  # keeps every variance in the model finite
            raise ValueError(
                "AtomicClock: nu0 * (ramsey_time + 4 pulse_duration / pi) * contrast must give "
                "a Ramsey phase per unit fractional frequency 2 pi nu0 T_eff C between 1e-150 "
                f"and 1e150 rad, got {slope!r} rad from nu0={self.nu0!r} Hz"
            )
        lo = self.lo
        if lo is None:
            return
        missing = [
            name
            for name, ok in (
                ("stream", callable(getattr(lo, "stream", None))),
                ("drift", isinstance(getattr(lo, "drift", None), int | float)),
                ("h", isinstance(getattr(lo, "h", None), Mapping)),
            )
            if not ok
        ]
        if missing or isinstance(getattr(lo, "drift", None), bool):
            raise TypeError(
                "AtomicClock: lo must be None or an oscillator with stream(rate, seed), a "
                "numeric drift (1/s) and a mapping h {alpha: h_alpha} (e.g. "
                f"qsense.sensors.classical.Oscillator); {type(lo).__name__} lacks {missing}"
            )

    def model_attrs(self) -> dict[str, str]:
        """netCDF-safe attributes; an LO that is a :class:`SensorModel` is recorded so
        :meth:`SensorModel.from_attrs` rebuilds it (any other LO only by its type name)."""
        clone = object.__new__(type(self))
        for field in dataclasses.fields(self):
            object.__setattr__(clone, field.name, getattr(self, field.name))
        lo = self.lo
        if isinstance(lo, SensorModel):
            record: Any = lo.model_attrs()
        elif lo is not None:
            record = f"{type(lo).__module__}.{type(lo).__qualname__} (not rebuildable)"
        else:
            record = None
        object.__setattr__(clone, "lo", record)
        return SensorModel.model_attrs(clone)

    # ------------------------------------------------------------ derived quantities
    @property
    def duty_cycle(self) -> float:
        """``d = T_R / T_c``."""
        return self.ramsey_time / self.cycle_time

    @property
    def effective_ramsey_time(self) -> float:
        """``T_eff = T_R + 4 tau_p / pi`` in s: the integral of the sensitivity function."""
        return self.cycle_time * effective_time(
            self.duty_cycle, self.pulse_duration / self.cycle_time
        )

    def qpn_adev(self, tau: Any) -> np.ndarray:
        """Projection-noise Allan deviation ``(1 / (2 pi nu0 T_eff C)) sqrt(T_c / (N tau))``.

        Itano et al., PRA 47, 3554 (1993); Santarelli et al., PRL 82, 4619 (1999)
        (``T_eff = T_R`` for short pulses).

        Parameters
        ----------
        tau : float or array-like of float
            Averaging times in s (> 0).

        Returns
        -------
        numpy.ndarray of float64
            Allan deviation (dimensionless), the shape of ``tau``.
        """
        tau = real_array("tau", tau)
        if tau.size == 0 or not np.all(np.isfinite(tau) & (tau > 0)):
            raise ValueError(f"tau must hold finite averaging times > 0 in s, got {tau!r}")
        scale = 1.0 / (2.0 * math.pi * self.nu0 * self.effective_ramsey_time * self.contrast)
        return scale * np.sqrt(self.cycle_time / (self.atoms * tau))

    def dick_variance_rate(self) -> float:
        """``tau * sigma_y**2(tau)`` of the Dick effect (s), Santarelli et al. 1998::

            sigma_y**2(tau) = (1 / tau) sum_{m >= 1} (|g_m|**2 / g0**2) S_y^LO(m / T_c)

        with ``|g_m|**2 = (g_m^c)**2 + (g_m^s)**2``, the Fourier coefficients of the
        sensitivity function computed by quadrature for m <= 1024 (``sinc**2(pi m d)``
        for short pulses, to 1e-15). Beyond, the weights are replaced by their mean
        asymptote ``A / m**2`` and summed in closed form (Hurwitz zeta): for flicker FM and
        d = 0.5 this tail is 2e-7 of the sum. White FM (alpha = 0) converges as 1/m
        (the tail is then ~1e-4 of the sum; with it the sum is within 1e-6 of a 2e7-term
        brute-force sum for d = 0.2 to 0.5);
        PM terms (alpha > 0) diverge for short pulses and are summed up to the simulated
        LO bandwidth, m <= lo_samples_per_cycle / 2. 0 for an ideal LO.
        """
        if self.lo is None:
            return 0.0
        d = self.duty_cycle
        p = self.pulse_duration / self.cycle_time
        weights, tail = dick_weights(d, p)
        m = np.arange(1, HARMONICS + 1, dtype=np.float64)
        t_c = self.cycle_time
        total = 0.0
        m_top = self.lo_samples_per_cycle // 2
        for alpha, h in sorted(self.lo.h.items()):
            if h <= 0:
                continue
            alpha = int(alpha)
            s_m = psd_from_h({alpha: h}, m / t_c)
            scale = tail * h * t_c ** (-alpha)
            if alpha <= 0:
                total += float(np.dot(weights, s_m)) + scale * float(zeta(2 - alpha, HARMONICS + 1))
            else:
                keep = m <= m_top
                total += float(np.dot(weights[keep], s_m[keep]))
                if m_top > HARMONICS:
                    far = np.arange(HARMONICS + 1, m_top + 1, dtype=np.float64)
                    total += scale * float(np.sum(far ** (alpha - 2.0)))
        return total

    # ------------------------------------------------------------ simulation
    def run(self, *, seed: Seed = None, start: Any = None) -> ClockRun:
        """A run of this clock to be continued chunk by chunk (see :class:`ClockRun`)."""
        return ClockRun(self, seed=seed, start=start)

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the clock, one sample per cycle.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 cycles).
        seed : int >= 0, numpy.random.SeedSequence or None
            Seed of the run (recorded in ``attrs``).
        start : datetime-like, optional
            UTC time of the first cycle.
        environment : xarray.Dataset, optional
            Drivers ``temperature`` (K) and ``magnetic_field`` (T) on a ``time``
            coordinate covering the run.

        Returns
        -------
        xarray.Dataset
            ``freq``, ``truth``, ``lo``, ``dick``, ``qpn``, ``servo_lag``, ``drift``,
            ``temperature``, ``zeeman`` (fractional frequency) and ``phase`` (s) at
            ``1 / cycle_time`` Hz (see the class Notes).
        """
        n = samples_in(duration, 1.0 / self.cycle_time)
        return self.run(seed=seed, start=start)._next(n, environment, duration)

    def _lo_psd(self, f: np.ndarray) -> np.ndarray:
        return psd_from_h(self.lo.h, f) if self.lo is not None else np.zeros(np.shape(f))

    def _lo_adev(self, tau: np.ndarray) -> np.ndarray:
        m = tau / self.cycle_time
        if np.any((m < 1.0) | (m > 1e15)):
            raise ValueError(
                f"tau must lie between cycle_time = {self.cycle_time!r} s (the clock gives one "
                f"sample per cycle) and 1e15 cycles, got {tau!r}"
            )
        if self.lo is None:
            return np.zeros(tau.shape)
        folds = max(1, self.lo_samples_per_cycle // 2)
        return np.sqrt(
            [
                loop_residual_avar(self._lo_psd, self.cycle_time, self.servo_gain, k, folds)
                for k in m
            ]
        )

    def _lo_asd(self, f: np.ndarray) -> np.ndarray:
        nyquist = 0.5 / self.cycle_time
        if np.any(f > nyquist):
            raise ValueError(
                f"frequency must be <= 1 / (2 cycle_time) = {nyquist:g} Hz (the clock's output "
                f"has one sample per cycle), got {f!r}"
            )
        if self.lo is None:
            return np.zeros(f.shape)
        folds = max(1, self.lo_samples_per_cycle // 2)
        psd = loop_residual_psd(self._lo_psd, self.cycle_time, self.servo_gain, f, folds)
        return np.sqrt(psd)

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD of the projection noise, the Dick effect, the LO's
        residual inside the loop and the drift.

        Parameters
        ----------
        tau : array-like of float, optional
            Averaging times in s, from ``cycle_time`` to 1e15 cycles (multiples of
            ``cycle_time``; interpolated between).
        frequency : array-like of float, optional
            Fourier frequencies in Hz, <= 1 / (2 cycle_time) (the output's Nyquist
            frequency). ``qpn`` and ``dick`` are their white-FM levels (for f << 1 / T_c).

        Returns
        -------
        xarray.Dataset
            Terms ``qpn`` (:meth:`qpn_adev`), ``dick`` (:meth:`dick_variance_rate`; the
            limit for tau beyond the servo's time constant), ``lo`` (the LO's cycle means
            through the servo's error response, the ``lo`` term of :meth:`simulate`,
            numerically, see ``qsense.sensors._clock_sensitivity.loop_residual_avar``),
            ``drift`` (``|D| tau / sqrt(2)``; ASD 0: a ramp has no stationary spectrum)
            and ``total`` (quadrature sum: ``lo`` and ``dick`` come from the same LO and
            are not quite independent, so at short tau the simulated total can differ
            by a few per cent).
        """
        qpn_rate = float(self.qpn_adev(1.0)) ** 2  # tau * sigma**2, s
        dick_rate = self.dick_variance_rate()
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev={
                "qpn": lambda t: np.sqrt(qpn_rate / t),
                "dick": lambda t: np.sqrt(dick_rate / t),
                "lo": self._lo_adev,
                "drift": lambda t: abs(self.drift) * t / math.sqrt(2.0),
            },
            asd={
                "qpn": math.sqrt(2.0 * qpn_rate),
                "dick": math.sqrt(2.0 * dick_rate),
                "lo": self._lo_asd,
                "drift": 0.0,
            },
            references={
                "qpn": "Itano et al., PRA 47, 3554 (1993); Santarelli et al., PRL 82, 4619 "
                "(1999): (1 / (2 pi nu0 T_eff C)) sqrt(T_c / (N tau))",
                "dick": "Santarelli et al., IEEE TUFFC 45, 887 (1998): (1/tau) sum_m "
                "(|g_m|^2 / g0^2) S_y^LO(m / T_c)",
                "lo": "S_y^LO of the cycle means through the servo's error response "
                "(1 - z^-1) / (1 - (1 - G) z^-1), Allan transfer function of NIST SP 1065 "
                "(numerical)",
                "drift": "NIST SP 1065 sec. 5.2.4: |D| tau / sqrt(2)",
            },
        )


ClockRun.__module__ = __name__  # documented (and pickled) as qsense.sensors.clock.ClockRun
