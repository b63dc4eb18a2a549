"""A cold-atom gravimeter from its physics: Mach-Zehnder interferometer, fringe lock, noise.

:class:`AtomGravimeter` simulates an absolute atom gravimeter shot by shot. Each shot is
a pi/2 - pi - pi/2 Raman interferometer (pulses ``tau``, ``2 tau``, ``tau``; free
evolution ``T`` between pulse edges) whose phase is

    Phi = k_eff (g_eff - 2 pi alpha / k_eff) (T + 2 tau)(T + 4 tau / pi) + phi_laser + ...

with ``alpha`` the Raman chirp (Hz/s) and ``(T + 2 tau)(T + 4 tau / pi)`` the integral of
the finite-pulse sensitivity function (Cheinet et al., IEEE TIM 57, 1141 (2008)). The
fringe ``P = P0 - (C / 2) cos(Phi)`` is read with the projection noise of the true atom
number (binomial) and detection noise; a mid-fringe lock alternating the k_eff direction
(and the fringe side) steers the chirp, and the reported g is the chirp's g plus the
fringe reading's residual. Vibration enters through the sensitivity function, from a
sampled ground acceleration (the environment's ``acceleration`` driver) or a white
acceleration noise; laser phase noise through the same transfer function.

References
----------
P. Cheinet et al., "Measurement of the sensitivity function in a time-domain atomic
interferometer", IEEE Trans. Instrum. Meas. 57, 1141 (2008). J. Le Gouet et al., "Limits
to the sensitivity of a low noise compact atomic gravimeter", Appl. Phys. B 92, 133
(2008). A. Peters, K. Y. Chung, S. Chu, "High-precision gravity measurements using atom
interferometry", Metrologia 38, 25 (2001). A. Louchet-Chauvet et al., "The influence of
transverse motion within an atomic gravimeter", New J. Phys. 13, 065025 (2011).
V. Menoret et al., "Gravity measurements below 1e-9 g with a transportable absolute
quantum gravimeter", Sci. Rep. 8, 12300 (2018). C. Freier et al., "Mobile quantum
gravity sensor with unprecedented stability", J. Phys. Conf. Ser. 723, 012050 (2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense._validate import real_array
from qsense.seeding import Seed
from qsense.sensors import _gravimeter_response as _resp
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import (
    budget_dataset,
    samples_in,
)
from qsense.sensors._gravimeter_presets import PRESETS
from qsense.sensors._gravimeter_run import GravimeterRun

__all__ = ["AtomGravimeter", "GravimeterRun"]


def _real(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array (a Dataset or mapping is refused naming ``name``)."""
    if isinstance(value, xr.Dataset | dict):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {type(value).__name__}"
        )
    return real_array(name, value)


@dataclass(frozen=True, kw_only=True)
class AtomGravimeter(SensorModel):
    """An absolute cold-atom gravimeter: Mach-Zehnder interferometer under a fringe lock.

    Parameters
    ----------
    T : float
        Free evolution time between pulse edges in s (> 0).
    pulse_duration : float
        Duration ``tau`` of a pi/2 pulse in s (the pi pulse lasts ``2 tau``; Rabi
        frequency ``pi / (2 tau)``), ``0 < tau < T``.
    cycle_time : float
        Shot period ``T_c`` in s, longer than the interferometer ``2 T + 4 tau``.
    atoms : int
        Atoms detected per shot ``N``.
    contrast : float
        Fringe contrast ``C`` in (0, 1].
    k_eff : float
        Effective wave vector in rad/m (Rb-87 D2: 1.6106e7).
    fringe_offset : float
        Fringe offset ``P0``; ``P0 +- C / 2`` within [0, 1].
    detection_noise : float
        Standard deviation of the measured transition probability beyond projection
        noise (electronic, technical), dimensionless.
    laser_phase_psd : float
        One-sided white PSD of the Raman laser phase in rad**2/Hz.
    vibration_asd : float
        One-sided white ground-acceleration ASD in m s-2 Hz-1/2 (besides the
        environment's ``acceleration`` driver).
    g0 : float
        Gravity at the quote height (m s-2), before tides (the ``gravity`` driver).
    gradient : float
        Vertical gravity gradient ``gamma`` in s-2 (g decreases upward by ``gamma`` per m).
    launch_velocity : float
        Vertical velocity of the cloud at the first pulse in m/s (up > 0, half the recoil
        included).
    quote_height : float
        Height (m) at which g is quoted, above the cloud's position at the first pulse.
    latitude : float
        Latitude in degrees.
    east_velocity : float
        Mean eastward velocity of the cloud in m/s (Coriolis).
    k_independent_phase : float
        Interferometer phase (rad) that does not reverse with k_eff (quadratic Zeeman,
        light shifts); the k-reversal average removes it.
    lock_gain : float
        Integrator gain of the fringe lock per shot of one k direction, in (0, 2).
    scan_shots : int
        Shots of the fringe scan that starts a run (fits ``P0`` and ``C``), >= 8.

    Notes
    -----
    **Shots.** Shot ``i`` of a run is stamped at the middle of its pi pulse, ``start + i
    T_c``. Its k direction is ``d = +1`` for even ``i``, ``-1`` for odd; its fringe side
    ``s = +1`` when ``i // 2`` is even. The phase error is ``eps = d k_eff S (g_eff -
    g_hat_d) + phi_k + phi_laser`` (``S = (T + 2 tau)(T + 4 tau / pi)``, ``g_hat_d`` the
    lock's chirp ``2 pi alpha_d / k_eff``), the fringe ``P = P0 - (C / 2) cos(s pi / 2 +
    eps)``, the detected fraction ``n2 / N + det`` with ``n2 ~ Binomial(N, P)``.

    **Lock.** A fringe scan of ``scan_shots`` shots at the start of the run fits ``P0`` and
    ``C`` (least squares ``a + b cos phi + c sin phi``); the lock then reads ``eps_hat = s
    (P - P0_hat) 2 / C_hat`` (``P0_hat`` tracked by an exponential average of the
    readings, 1/128 per shot), reports ``g = g_hat_d + d eps_hat / (k_eff S)`` and steps
    ``g_hat_d`` by ``lock_gain`` times the residual. The run starts locked on the true
    g_eff of its first shot (the scan's fringe found). The two sides cancel ``P0`` errors;
    neither P0 = 0.5 nor C = 1 is assumed.

    **Output.** ``g = truth + gradient + coriolis + vibration + laser_phase + projection +
    detection + k_bias + lock_error`` (m s-2), exactly up to rounding. ``truth`` is ``g0``
    plus the ``gravity`` driver, at ``quote_height``. ``gradient = -gamma (z_eff -
    quote_height)`` with ``z_eff = v0 T - (7/12) g0 T**2`` (Peters et al. 2001);
    ``coriolis = -2 Omega_E v_E cos(lat)`` (an eastward cloud sees less gravity);
    ``vibration`` the ground acceleration weighted by the sensitivity function, divided by
    ``T**2``; ``k_bias = d phi_k / (k_eff S)`` alternates with k; ``lock_error`` the lock's
    departure from a linear fringe (fringe curvature, ``C_hat``, ``P0_hat`` errors).
    ``correction`` is the lock's ``g_hat_d`` (not a term of the sum).

    Examples
    --------
    >>> grav = AtomGravimeter.preset("aqg")
    >>> ds = grav.simulate(60.0, seed=1)
    >>> ds.sizes["time"], bool(abs(float(ds.g.mean() - ds.truth.mean())) < 1e-6)
    (111, True)
    """

    measured: ClassVar[str] = "g"
    quantity: ClassVar[str] = "gravity"
    PRESETS: ClassVar[tuple[Preset, ...]] = PRESETS

    T: float = parameter(unit="s", minimum=0.0, open_minimum=True, doc="free evolution time")
    pulse_duration: float = parameter(
        unit="s", minimum=0.0, open_minimum=True, doc="pi/2 pulse duration"
    )
    cycle_time: float = parameter(unit="s", minimum=0.0, open_minimum=True, doc="shot period")
    atoms: int = parameter(unit="1", kind="int", minimum=1, doc="atoms detected per shot")
    contrast: float = parameter(
        unit="1", minimum=0.0, open_minimum=True, maximum=1.0, doc="fringe contrast"
    )
    k_eff: float = parameter(1.6106e7, unit="rad m-1", minimum=0.0, open_minimum=True)
    fringe_offset: float = parameter(0.5, unit="1", minimum=0.0, maximum=1.0)
    detection_noise: float = parameter(0.0, unit="1", minimum=0.0)
    laser_phase_psd: float = parameter(0.0, unit="rad2 Hz-1", minimum=0.0)
    vibration_asd: float = parameter(0.0, unit="m s-2 Hz-1/2", minimum=0.0)
    g0: float = parameter(9.80, unit="m s-2", minimum=0.0, open_minimum=True)
    gradient: float = parameter(3.086e-6, unit="s-2")
    launch_velocity: float = parameter(0.0, unit="m s-1")
    quote_height: float = parameter(0.0, unit="m")
    latitude: float = parameter(45.0, unit="degree", minimum=-90.0, maximum=90.0)
    east_velocity: float = parameter(0.0, unit="m s-1")
    k_independent_phase: float = parameter(0.0, unit="rad")
    lock_gain: float = parameter(
        0.5, unit="1", minimum=0.0, maximum=2.0, open_minimum=True, open_maximum=True
    )
    scan_shots: int = parameter(64, unit="1", kind="int", minimum=8)

    def _check(self) -> None:
        if not self.pulse_duration < self.T:
            raise ValueError(
                f"AtomGravimeter: pulse_duration must be < T, got pulse_duration="
                f"{self.pulse_duration!r} s and T={self.T!r} s"
            )
        if not 2.0 * self.T + 4.0 * self.pulse_duration < self.cycle_time:
            raise ValueError(
                "AtomGravimeter: cycle_time must exceed the interferometer 2 T + 4 "
                f"pulse_duration = {2 * self.T + 4 * self.pulse_duration!r} s, got "
                f"cycle_time={self.cycle_time!r} s"
            )
        low = self.fringe_offset - 0.5 * self.contrast
        high = self.fringe_offset + 0.5 * self.contrast
        if low < 0.0 or high > 1.0:
            raise ValueError(
                "AtomGravimeter: the fringe fringe_offset +- contrast / 2 must lie in [0, 1], "
                f"got fringe_offset={self.fringe_offset!r}, contrast={self.contrast!r}"
            )

    # ------------------------------------------------------------ response
    @property
    def scale_factor(self) -> float:
        """``k_eff (T + 2 tau)(T + 4 tau / pi)``: interferometer phase per m s-2 (rad m-1 s2)."""
        tau = self.pulse_duration
        return self.k_eff * (self.T + 2.0 * tau) * (self.T + 4.0 * tau / math.pi)

    @property
    def effective_height(self) -> float:
        """Height (m, above the cloud at the first pulse) whose g the atoms measure:
        ``v0 T - (7/12) g0 T**2`` (Peters, Chung, Chu, Metrologia 38, 25 (2001))."""
        return self.launch_velocity * self.T - 7.0 / 12.0 * self.g0 * self.T**2

    def _frequency(self, frequency: Any) -> np.ndarray:
        f = _real("frequency", frequency)
        if not np.all(np.isfinite(f) & (f >= 0)):
            raise ValueError(f"frequency must hold finite values >= 0 in Hz, got {frequency!r}")
        return f

    def sensitivity(self, t: Any) -> np.ndarray:
        """Sensitivity function ``g_s(t)`` (Cheinet et al. 2008, eq. 4), dimensionless.

        Parameters
        ----------
        t : float or array-like of float
            Time in s from the middle of the pi pulse.

        Returns
        -------
        numpy.ndarray of float64
            ``g_s`` at ``t`` (odd in t; 1 during the free evolution after the pi pulse).
        """
        arr = _real("t", t)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"t must be finite times in s, got {t!r}")
        return _resp.sensitivity(arr, self.T, self.pulse_duration)

    def phase_transfer(self, frequency: Any) -> np.ndarray:
        """``|H(2 pi f)|**2`` (dimensionless): laser phase PSD to interferometer phase PSD.

        Cheinet et al. (2008), the transfer function with finite Rabi pulses (eq. in
        the module docstring of :mod:`qsense.sensors._gravimeter_response`), evaluated
        without its 0/0 at ``f = 1 / (4 tau)``.

        Parameters
        ----------
        frequency : float or array-like of float
            Fourier frequency in Hz (>= 0).

        Returns
        -------
        numpy.ndarray of float64
        """
        return _resp.phase_transfer(self._frequency(frequency), self.T, self.pulse_duration)

    def acceleration_transfer(self, frequency: Any) -> np.ndarray:
        """``|H_a|**2 = k_eff**2 |H(2 pi f)|**2 / (2 pi f)**4`` in rad**2 s**4 m**-2.

        Interferometer phase PSD (rad**2/Hz) per ground-acceleration PSD (m**2 s**-4 /
        Hz); at 0 Hz, its limit ``(k_eff (T + 2 tau)(T + 4 tau / pi))**2``.

        Parameters
        ----------
        frequency : float or array-like of float
            Fourier frequency in Hz (>= 0).

        Returns
        -------
        numpy.ndarray of float64
        """
        f = self._frequency(frequency)
        w = 2.0 * math.pi * f
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self.k_eff**2 * _resp.phase_transfer(f, self.T, self.pulse_duration) / w**4
        return np.where(f == 0, self.scale_factor**2, out)

    def shot_noise(self) -> float:
        """Projection-noise limit per shot in m s-2: ``2 sqrt(P0 (1 - P0) / N) / (C k_eff S)``.

        ``1 / (C sqrt(N) k_eff T**2)`` at ``P0 = 0.5`` for short pulses (PHYSICS.md 2.4).
        """
        p0 = self.fringe_offset
        return 2.0 * math.sqrt(p0 * (1.0 - p0) / self.atoms) / (self.contrast * self.scale_factor)

    def vibration_adev(self, tau: Any, psd: Any) -> np.ndarray:
        """Allan deviation of g (m s-2) from ground vibration of PSD ``psd``: the aliasing sum

        ``sigma_g**2(tau) = (1 / tau) [S_a(0) dc**2 / 2 + sum_{n >= 1} |H(2 pi n / T_c)|**2
        S_a(n / T_c) / ((2 pi n / T_c)**4 T**4)]``, ``dc = (T + 2 tau_p)(T + 4 tau_p / pi) /
        T**2`` (Cheinet et al. 2008 eq. 19; Le Gouet et al. 2008; the n = 0 term keeps
        noise that reaches DC: without it the sum is ~10 % low for white noise).

        Parameters
        ----------
        tau : float or array-like of float
            Averaging times in s (> 0; valid for tau >> cycle_time).
        psd : float, callable or (frequency, values)
            One-sided acceleration PSD in m**2 s**-4 / Hz: a white level, a callable of
            frequency (Hz), or arrays (frequency in Hz increasing, values) interpolated
            linearly, held at the first value below the first frequency, zero above the
            last (a measured seismometer PSD).

        Returns
        -------
        numpy.ndarray of float64
            The shape of ``tau``.
        """
        t = _real("tau", tau)
        if t.size == 0 or not np.all(np.isfinite(t) & (t > 0)):
            raise ValueError(f"tau must hold finite averaging times > 0 in s, got {tau!r}")
        rate = _resp.vibration_variance_rate(psd, self.T, self.pulse_duration, self.cycle_time)
        return np.sqrt(rate / t)

    def _per_shot(self) -> dict[str, float]:
        """Per-shot standard deviation (m s-2) of each white term."""
        s = self.scale_factor
        return {
            "projection": self.shot_noise(),
            "detection": 2.0 * self.detection_noise / (self.contrast * s),
            "laser_phase": math.sqrt(
                self.laser_phase_psd * _resp.laser_phase_variance_rate(self.pulse_duration)
            )
            / s,
            "vibration": self.vibration_asd
            * math.sqrt(0.5 * _resp.weight_square_integral(self.T, self.pulse_duration))
            / self.T**2,
        }

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD (m s-2) of each white term of the model.

        Parameters
        ----------
        tau : array-like of float, optional
            Averaging times in s (valid for tau >> cycle_time).
        frequency : array-like of float, optional
            Fourier frequencies in Hz (white levels, valid below ``1 / (2 T_c)``).

        Returns
        -------
        xarray.Dataset
            Terms ``projection`` (:meth:`shot_noise` ``sqrt(T_c / tau)``), ``detection``,
            ``laser_phase`` (``sqrt(S_phi pi**2 / (4 tau_p)) / (k_eff S)`` per shot: the
            integral of ``|H|**2``), ``vibration`` (:meth:`vibration_adev` of the white
            ``vibration_asd``) and ``total``.
        """
        rates = {k: v**2 * self.cycle_time for k, v in self._per_shot().items()}
        rates["vibration"] = _resp.vibration_variance_rate(
            self.vibration_asd**2, self.T, self.pulse_duration, self.cycle_time
        )
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev={k: (lambda t, r=r: np.sqrt(r / t)) for k, r in rates.items()},
            asd={k: math.sqrt(2.0 * r) for k, r in rates.items()},
            references={
                "projection": "Itano et al., PRA 47, 3554 (1993): 2 sqrt(P0 (1 - P0) / N) / "
                "(C k_eff S) per shot, 1 / (C sqrt(N) k_eff T^2) at P0 = 1/2",
                "detection": "2 sigma_P / (C k_eff S) per shot",
                "laser_phase": "Cheinet et al., IEEE TIM 57, 1141 (2008): integral of |H|^2 "
                "S_phi = S_phi pi^2 / (4 tau) per shot",
                "vibration": "Cheinet et al. (2008) eq. 19 with the n = 0 term; Le Gouet et "
                "al., Appl. Phys. B 92, 133 (2008)",
            },
        )

    # ------------------------------------------------------------ simulation
    def run(self, *, seed: Seed = None, start: Any = None) -> GravimeterRun:
        """A run of this gravimeter continued chunk by chunk (see :class:`GravimeterRun`)."""
        return GravimeterRun(self, seed=seed, start=start)

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of shots (one sample per shot).

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 shots).
        seed : int >= 0, numpy.random.SeedSequence or None
            Seed of the run (recorded in ``attrs``).
        start : datetime-like, optional
            UTC time of the first shot.
        environment : xarray.Dataset, optional
            Drivers on a ``time`` coordinate covering the run: ``acceleration`` (m s-2,
            vertical ground acceleration, up > 0, sampled finely enough to resolve the
            interferometer: it is linearly interpolated between its samples, which lowers
            the response at frequency f by ``(2 pi f / rate)**2 / 12``, and integrated
            exactly against the sensitivity function over each shot) and ``gravity``
            (m s-2, e.g. a tide, added to ``truth``).

        Returns
        -------
        xarray.Dataset
            ``g``, ``truth``, ``gradient``, ``coriolis``, ``vibration``, ``laser_phase``,
            ``projection``, ``detection``, ``k_bias``, ``lock_error`` and ``correction``
            (m s-2) at ``1 / cycle_time`` Hz (see the class Notes).
        """
        n = samples_in(duration, 1.0 / self.cycle_time)
        return self.run(seed=seed, start=start)._next(n, environment, duration)


GravimeterRun.__module__ = __name__  # documented as qsense.sensors.gravimeter.GravimeterRun
