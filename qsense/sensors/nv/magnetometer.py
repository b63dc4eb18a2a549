"""An NV-diamond magnetometer from its physics: ODMR line, lock-in, resonance tracking.

:class:`NVMagnetometer` takes the optical and microwave drive (Dréau et al. 2011 model:
contrast and linewidth), the photon collection rate, the coherence times and the spin
Hamiltonian of :mod:`qsense.sensors.nv` (``D``, ``E``, ``gamma``, the bias field and the
tracked orientation), and gives CW-ODMR spectra (:meth:`~NVMagnetometer.odmr`), pulsed
Ramsey fringes (:meth:`~NVMagnetometer.ramsey`), a simulated lock-in magnetometer
(:meth:`~NVMagnetometer.simulate`, a numba kernel over explicit state, continued chunk
by chunk by :class:`~qsense.sensors.nv.NVRun`) and its analytic noise budget
(:meth:`~NVMagnetometer.noise_budget`). The formulas and their sources are in
:mod:`qsense.sensors.nv._budget` (Dréau 2011; Barry et al. 2020; Taylor et al. 2008).

References
----------
A. Dréau et al., "Avoiding power broadening in optically detected magnetic resonance of
single NV defects for enhanced dc magnetic field sensitivity", PRB 84, 195204 (2011).
J. F. Barry et al., "Sensitivity optimization for NV-diamond magnetometry", Rev. Mod.
Phys. 92, 015004 (2020). J. M. Taylor et al., Nat. Phys. 4, 810 (2008). V. M. Acosta
et al., PRL 104, 070801 (2010) (dD/dT). I. Fescenko et al., Phys. Rev. Research 2, 023394
(2020) (two-line driving, flux concentrators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense import _validate
from qsense.seeding import Seed, generator, seed_sequence
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import samples_in
from qsense.sensors.nv._budget import budget, line_slope
from qsense.sensors.nv._presets import PRESETS
from qsense.sensors.nv._run import NVRun
from qsense.sensors.nv.odmr import (
    D_ZERO_FIELD,
    DD_DT,
    GAMMA_E,
    NV_AXES,
    T_REFERENCE,
    _vector,
    odmr,
    resonances,
)

__all__ = ["NVMagnetometer"]

_LINES = ("lower", "upper", "both")
_DIFF_FIELD = 1e-7  # T, central-difference step of the line slopes
_DIFF_TEMPERATURE = 1.0  # K


@dataclass(frozen=True, kw_only=True)
class NVMagnetometer(SensorModel):
    """A CW-ODMR NV magnetometer locked to one or two resonance lines.

    Parameters
    ----------
    max_contrast : float
        Dréau's contrast ceiling Theta (0, 0.5]; also the pulsed readout contrast.
    laser_saturation : float
        Laser saturation parameter ``s = P_laser / P_sat`` (> 0).
    rabi_frequency : float
        Microwave Rabi frequency ``Omega_R / 2 pi`` in Hz (> 0), ``proportional to
        sqrt(P_MW)``.
    pumping_rate : float
        Optical pumping rate at saturation ``Gamma_p_inf`` in s-1.
    cycling_rate : float
        Optical cycling rate at saturation ``Gamma_c_inf`` in s-1.
    t2_star : float
        Inhomogeneous dephasing time T2* in s (line width floor ``1 / (pi T2*)``; Ramsey).
    t2 : float
        Hahn-echo coherence time T2 in s (AC budget).
    photon_rate : float
        Detected photon rate R off resonance, photons per s.
    zero_field_splitting, strain, gamma : float
        ``D`` (Hz, at ``reference_temperature``), ``E`` (Hz) and the electron
        gyromagnetic ratio (Hz/T); defaults :data:`~qsense.sensors.nv.D_ZERO_FIELD`, 0,
        :data:`~qsense.sensors.nv.GAMMA_E`. ``D`` shifts by
        :data:`~qsense.sensors.nv.DD_DT` (-74.2 kHz/K) with temperature.
    bias_field : sequence of 3 float
        Static field (T) at the diamond, crystal frame.
    axis : int
        Tracked orientation, index 0-3 of :data:`~qsense.sensors.nv.NV_AXES`; the sensing
        axis is this NV's axis.
    ensemble : bool
        Whether the diamond holds all four orientations (the spectrum of :meth:`odmr`);
        the tracked line(s) must stay clear of the others.
    lines : {"lower", "upper", "both"}
        The ms=0 -> lower, ms=0 -> upper, or both lines of the tracked orientation.
    rate : float
        Output sample rate in Hz.
    modulation_frequency : float
        Square-wave frequency modulation of the (first) line in Hz; the second line is
        modulated at half of it. ``modulation_frequency / (2 rate)`` must be a whole
        number (modulation blocks per output sample).
    modulation_depth : float, optional
        Frequency deviation in Hz; None: ``linewidth / (2 sqrt 3)``, the steepest slope.
    loop_bandwidth : float
        Bandwidth of the integrator servo in Hz: gain ``1 - exp(-2 pi f_bw T_b)`` per
        block of ``T_b = 2 / modulation_frequency``.
    flux_gain : float
        Field amplification at the diamond (flux concentrators); 1 without.
    reference_temperature : float
        Temperature (K) at which ``D`` is ``zero_field_splitting``.
    readout_photons : float
        Pulsed readout: detected photons per shot (all spins).
    spins : int
        Pulsed readout: number of NV spins read out.
    init_time, readout_time : float
        Pulsed readout: initialisation and readout durations in s.
    laser_rin_white, laser_rin_flicker : float
        Laser relative intensity noise of the detected light, fractional, one-sided ASD
        in Hz^-1/2: ``S(f) = laser_rin_white^2 + laser_rin_flicker^2 / f`` (default 0;
        see the Notes for how the FM lock-in rejects it).
    bias_temperature_coefficient : float
        Bias field's fractional change per kelvin of ``temperature`` (K^-1; typical
        magnets: NdFeB -1.2e-3, SmCo -3.5e-4; default 0, a stable bias).
    microwave_white_fm, microwave_flicker_fm : float
        Fractional frequency noise ``y`` of the microwave reference: white FM ASD
        (Hz^-1/2, ``h_0 = value^2``) and flicker-FM Allan floor (``h_-1 = value^2 / (2
        ln 2)``); default 0.
    offset_random_walk : float
        Output offset random walk (T s^-1/2: variance ``value^2 t`` after ``t`` s); 0.

    Notes
    -----
    **Lines.** The tracked lines are the exact transitions of :func:`~qsense.sensors.nv.
    resonances` at the bias field and ``reference_temperature``, linearised: line ``i``
    sits at ``f_i = f_i,ref + a_i G b + c_i dT``, ``b`` the environment's
    ``magnetic_field`` along the sensing axis (T), ``G`` the flux gain and ``dT`` the
    temperature change (K); ``a_i`` (Hz/T) and ``c_i`` (Hz/K) are central differences of
    the exact resonances (``-gamma``, ``+gamma`` and ``DD_DT`` for a bias along the axis).
    **Loop.** See :mod:`qsense.sensors.nv._kernels`: square-wave FM, photon counts drawn
    Poisson at the collection rate (their normal limit from 1e5 counts per sub-step),
    block-wise Walsh demodulation (a square-reference lock-in) and an integrator servo
    per line. **Estimate.** From the servo frequencies
    averaged over each output sample, one line gives ``B = (f - f_ref) / (a G)``; two
    lines solve ``[a_0 c_0; a_1 c_1] [G b; dT] = f - f_ref`` for the field and the
    temperature, which cancels the D(T) shift. **Output terms** (T): ``B = truth +
    temperature + servo_lag + shot_noise``, exactly: ``temperature`` the false field of
    the temperature driver through the estimator (``c_0 / (a_0 G)`` per kelvin for one
    line, 0 for two), ``servo_lag`` the noiseless loop's lag, ``shot_noise`` the rest
    (photon shot noise through the loop, plus the line shape's departure from linear,
    negligible in lock); with two lines also ``temperature_estimate`` (K). Each tracked
    line is one Lorentzian of the model's linewidth (a hyperfine structure inside it is
    not resolved) and the other lines of the spectrum are taken to be far from it (the
    constructor refuses a bias field that leaves the tracked NV's two lines within four
    linewidths; other orientations of an ensemble are not checked). Environment
    drivers are sampled at the output times and held over each output sample. The
    **Real-instrument terms** (each a Dataset variable and budget term from its own seed
    child; derivations in :mod:`qsense.sensors.nv._run` and ``_budget``): ``laser_rin``,
    the intensity noise scaling each sub-step's counts, whose common-mode part cancels
    in the demodulation, the rest (RIN at the modulation frequency) read through the
    slope ``C |L'(depth)|``; ``microwave``, the drive's error ``f_line y``, read 1:1 as
    a line offset (two lines on one reference keep ``(f_1 - f_0) y / 2``);
    ``bias_temperature``, the bias field scaled by ``bias_temperature_coefficient dT``
    (a field at the diamond: two lines do not reject it); ``offset_random_walk``. The
    lock-in is the kernel's own block-wise square-reference demodulation, not
    :func:`qsense.denoise.lockin`, which filters a whole record non-causally and so
    cannot close a feedback loop (see :mod:`qsense.sensors.nv._run`).

    Examples
    --------
    >>> nv = NVMagnetometer.preset("bulk-ensemble")
    >>> ds = nv.simulate(1.0, seed=1)
    >>> ds.B.attrs["units"], ds.sizes["time"]
    ('T', 1000)
    """

    measured: ClassVar[str] = "B"
    quantity: ClassVar[str] = "magnetic_field"
    PRESETS: ClassVar[tuple[Preset, ...]] = PRESETS

    max_contrast: float = parameter(
        0.3, unit="1", minimum=0.0, open_minimum=True, maximum=0.5, doc="contrast ceiling Theta"
    )
    laser_saturation: float = parameter(
        0.1, unit="1", minimum=0.0, open_minimum=True, maximum=1e6, doc="P_laser / P_sat"
    )
    rabi_frequency: float = parameter(
        0.5e6, unit="Hz", minimum=0.0, open_minimum=True, maximum=1e10, doc="Omega_R / 2 pi"
    )
    pumping_rate: float = parameter(
        5e6, unit="s-1", minimum=0.0, open_minimum=True, maximum=1e12, doc="Gamma_p_inf"
    )
    cycling_rate: float = parameter(
        8e7, unit="s-1", minimum=0.0, open_minimum=True, maximum=1e12, doc="Gamma_c_inf"
    )
    t2_star: float = parameter(
        1e-6, unit="s", minimum=1e-10, maximum=1.0, doc="inhomogeneous dephasing time"
    )
    t2: float = parameter(1e-4, unit="s", minimum=1e-10, maximum=10.0, doc="Hahn-echo time")
    photon_rate: float = parameter(
        1e6, unit="s-1", minimum=1.0, maximum=1e18, doc="detected photons per second"
    )
    zero_field_splitting: float = parameter(
        D_ZERO_FIELD, unit="Hz", minimum=1e9, maximum=5e9, doc="D at reference temperature"
    )
    strain: float = parameter(0.0, unit="Hz", minimum=0.0, maximum=1e8, doc="E")
    gamma: float = parameter(
        GAMMA_E, unit="Hz T-1", minimum=1e9, maximum=1e11, doc="electron gyromagnetic ratio"
    )
    bias_field: tuple[float, ...] = parameter(
        (1e-3 / math.sqrt(3.0),) * 3, unit="T", kind="vector", minimum=-0.05, maximum=0.05
    )
    axis: int = parameter(0, unit="1", kind="int", minimum=0, maximum=3, doc="NV orientation")
    ensemble: bool = parameter(True, unit="1", kind="bool", doc="four orientations present")
    lines: str = parameter("lower", unit="1", kind="choice", options=_LINES, doc="lines tracked")
    rate: float = parameter(
        1000.0, unit="Hz", minimum=0.0, open_minimum=True, maximum=1e6, doc="output rate"
    )
    modulation_frequency: float = parameter(
        8000.0, unit="Hz", minimum=0.0, open_minimum=True, maximum=1e8, doc="FM frequency"
    )
    modulation_depth: float | None = parameter(
        None, unit="Hz", minimum=0.0, open_minimum=True, optional=True, doc="FM deviation"
    )
    loop_bandwidth: float = parameter(
        100.0, unit="Hz", minimum=0.0, open_minimum=True, doc="servo bandwidth"
    )
    flux_gain: float = parameter(
        1.0, unit="1", minimum=1e-3, maximum=1e6, doc="field gain of flux concentrators"
    )
    reference_temperature: float = parameter(
        T_REFERENCE, unit="K", minimum=0.0, open_minimum=True, doc="temperature of D"
    )
    readout_photons: float = parameter(
        0.03, unit="1", minimum=0.0, open_minimum=True, maximum=1e15, doc="photons per shot"
    )
    spins: int = parameter(1, unit="1", kind="int", minimum=1, maximum=1e15, doc="NV spins")
    init_time: float = parameter(1e-6, unit="s", minimum=0.0, doc="pulsed initialisation time")
    readout_time: float = parameter(0.3e-6, unit="s", minimum=0.0, doc="pulsed readout time")
    laser_rin_white: float = parameter(0.0, unit="Hz-1/2", minimum=0.0, maximum=0.01, doc="RIN")
    laser_rin_flicker: float = parameter(0.0, unit="Hz-1/2", minimum=0.0, maximum=0.01, doc="1/f")
    bias_temperature_coefficient: float = parameter(
        0.0, unit="K-1", minimum=-0.01, maximum=0.01, doc="bias field change per kelvin"
    )
    microwave_white_fm: float = parameter(0.0, unit="Hz-1/2", minimum=0.0, maximum=0.01, doc="y")
    microwave_flicker_fm: float = parameter(0.0, unit="1", minimum=0.0, maximum=0.01, doc="y")
    offset_random_walk: float = parameter(
        0.0, unit="T s-1/2", minimum=0.0, maximum=1e-3, doc="random-walk output offset"
    )

    def _check(self) -> None:
        if len(self.bias_field) != 3:
            raise ValueError(
                f"NVMagnetometer: bias_field must have 3 components (T), got {self.bias_field!r}"
            )
        ratio = self.modulation_frequency / (2.0 * self.rate)
        if not (ratio >= 1.0 - 1e-9 and abs(ratio - round(ratio)) <= 1e-9 * ratio):
            raise ValueError(
                "NVMagnetometer: modulation_frequency / (2 rate) must be a whole number >= 1 "
                f"(modulation blocks per output sample), got modulation_frequency="
                f"{self.modulation_frequency!r} Hz, rate={self.rate!r} Hz"
            )
        low, high = self._line_pair
        gap = high - low
        if not gap > 4.0 * self.linewidth:
            raise ValueError(
                f"NVMagnetometer: bias_field={self.bias_field!r} T splits the tracked NV's lines "
                f"by {gap:.4g} Hz, less than 4 linewidths ({4 * self.linewidth:.4g} Hz): the "
                "lines overlap and cannot be tracked apart; use a larger bias field"
            )
        if self.depth > gap / 4.0:
            raise ValueError(
                f"NVMagnetometer: modulation_depth={self.modulation_depth!r} Hz must be below a "
                f"quarter of the line splitting ({gap / 4:.4g} Hz)"
            )

    # ------------------------------------------------------------ derived physics
    @property
    def contrast(self) -> float:
        """CW contrast ``C = Theta Omega_R^2 / (Omega_R^2 + Gamma_p Gamma_c)`` (Dréau 2011)."""
        sat = self.laser_saturation / (1.0 + self.laser_saturation)
        omega2 = (2.0 * math.pi * self.rabi_frequency) ** 2
        rates = self.pumping_rate * self.cycling_rate * sat * sat
        return self.max_contrast * omega2 / (omega2 + rates)

    @property
    def linewidth(self) -> float:
        """CW full width at half maximum (Hz): Dréau's power-broadened width plus
        ``1 / (pi T2*)`` (see :mod:`qsense.sensors.nv._budget`)."""
        sat = self.laser_saturation / (1.0 + self.laser_saturation)
        g_p = self.pumping_rate * sat
        g_c = self.cycling_rate * sat
        omega2 = (2.0 * math.pi * self.rabi_frequency) ** 2
        power = g_c / (2.0 * math.pi) * math.sqrt(1.0 + omega2 / (g_p * g_c))
        return power + 1.0 / (math.pi * self.t2_star)

    @property
    def depth(self) -> float:
        """Modulation depth in Hz (``modulation_depth`` or ``linewidth / (2 sqrt 3)``)."""
        if self.modulation_depth is not None:
            return self.modulation_depth
        return self.linewidth / (2.0 * math.sqrt(3.0))

    @property
    def step_seconds(self) -> float:
        """Sub-step (half modulation period) in s: ``1 / (2 modulation_frequency)``."""
        return 0.5 / self.modulation_frequency

    @property
    def block_seconds(self) -> float:
        """Modulation block (four sub-steps, one servo update) in s."""
        return 4.0 * self.step_seconds

    @property
    def blocks_per_sample(self) -> int:
        """Modulation blocks per output sample."""
        return round(self.modulation_frequency / (2.0 * self.rate))

    @property
    def loop_gain(self) -> float:
        """Integrator gain per block, ``1 - exp(-2 pi loop_bandwidth T_b)``."""
        return -math.expm1(-2.0 * math.pi * self.loop_bandwidth * self.block_seconds)

    @property
    def lockin_slope(self) -> float:
        """Block lock-in output per Hz of line offset: ``4 R dt C |L'(depth)|`` (counts/Hz)."""
        slope = line_slope(self.linewidth / 2.0, self.depth)
        return 4.0 * self.photon_rate * self.step_seconds * self.contrast * slope

    def _hamiltonian(self) -> dict[str, Any]:
        return {"D": self.zero_field_splitting, "E": self.strain, "gamma": self.gamma}

    def _lines_at(self, field: np.ndarray, temperature: float) -> np.ndarray:
        d = self.zero_field_splitting + (temperature - self.reference_temperature) * DD_DT
        return resonances(field, D=d, E=self.strain, gamma=self.gamma, axes=NV_AXES[self.axis])

    @cached_property
    def _line_pair(self) -> np.ndarray:
        return self._lines_at(np.asarray(self.bias_field), self.reference_temperature)

    @cached_property
    def line_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, c)``: each tracked line's shift per tesla along the sensing axis (Hz/T, at
        the diamond) and per kelvin (Hz/K), central differences of the exact resonances."""
        bias = np.asarray(self.bias_field)
        u = NV_AXES[self.axis]
        t0 = self.reference_temperature
        da = (
            self._lines_at(bias + _DIFF_FIELD * u, t0) - self._lines_at(bias - _DIFF_FIELD * u, t0)
        ) / (2.0 * _DIFF_FIELD)
        dc = (
            self._lines_at(bias, t0 + _DIFF_TEMPERATURE)
            - self._lines_at(bias, t0 - _DIFF_TEMPERATURE)
        ) / (2.0 * _DIFF_TEMPERATURE)
        pick = {"lower": [0], "upper": [1], "both": [0, 1]}[self.lines]
        return da[pick], dc[pick]

    @cached_property
    def bias_coefficients(self) -> np.ndarray:
        """Each tracked line's shift (Hz) per unit fractional change of the bias field."""
        bias = np.asarray(self.bias_field)
        t0 = self.reference_temperature
        step = _DIFF_FIELD / max(float(np.linalg.norm(bias)), _DIFF_FIELD)
        d = self._lines_at(bias * (1 + step), t0) - self._lines_at(bias * (1 - step), t0)
        return d[{"lower": [0], "upper": [1], "both": [0, 1]}[self.lines]] / (2.0 * step)

    @cached_property
    def _estimator(self) -> np.ndarray:
        a, c = self.line_coefficients
        if a.size == 1:
            return np.array([[1.0 / (a[0] * self.flux_gain), 0.0], [0.0, 0.0]])
        return np.linalg.inv(
            np.array([[a[0] * self.flux_gain, c[0]], [a[1] * self.flux_gain, c[1]]])
        )

    def estimate(self, f_lower: Any, f_upper: Any) -> tuple[np.ndarray, np.ndarray]:
        """Field and temperature change from the servo frequencies.

        Parameters
        ----------
        f_lower, f_upper : array_like
            Offsets (Hz) of the servo frequencies from the reference lines: the first
            (or only) tracked line, and the second (ignored with one line).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            The field along the sensing axis outside the concentrators (T) and the
            temperature change (K; 0 with one line).
        """
        m = self._estimator
        f0 = np.asarray(f_lower, dtype=np.float64)
        f1 = np.asarray(f_upper, dtype=np.float64)
        return m[0, 0] * f0 + m[0, 1] * f1, m[1, 0] * f0 + m[1, 1] * f1

    @property
    def field_per_hz(self) -> float:
        """Field (T) per Hz of independent noise on each tracked line, through the estimator."""
        return float(math.hypot(*self._estimator[0]))

    @property
    def temperature_false_field(self) -> float:
        """False field (T/K) a temperature change puts on the estimate (0 with two lines)."""
        a, c = self.line_coefficients
        if a.size == 1:
            return float(c[0] / (a[0] * self.flux_gain))
        return float(self._estimator[0, 0] * c[0] + self._estimator[0, 1] * c[1])

    # ------------------------------------------------------------ spectra
    def odmr(
        self,
        freqs: Any,
        B: Any,
        *,
        seed: Seed = None,
        temperature: float | None = None,
        dwell_seconds: float = 1e-3,
    ) -> np.ndarray:
        """CW-ODMR spectrum with this model's contrast, linewidth and photon rate.

        :func:`qsense.sensors.nv.odmr` with ``contrast``, ``linewidth`` and ``rate =
        photon_rate``, over the four orientations (``ensemble``) or the tracked one.

        Parameters
        ----------
        freqs : array_like
            Microwave frequencies (Hz), 1-D, finite.
        B : array_like, shape (3,)
            Field at the diamond (T), crystal frame.
        seed : int, SeedSequence or None
            Seed of the photon shot noise.
        temperature : float, optional
            Temperature (K); None: ``reference_temperature``.
        dwell_seconds : float
            Integration time per frequency (s).

        Returns
        -------
        numpy.ndarray
            Normalised fluorescence (1 off resonance).
        """
        t = self.reference_temperature if temperature is None else temperature
        t = _validate.positive_float("temperature", t)
        d = self.zero_field_splitting + (t - self.reference_temperature) * DD_DT
        return odmr(
            freqs,
            B,
            contrast=self.contrast,
            linewidth=self.linewidth,
            rate=self.photon_rate,
            dwell_seconds=dwell_seconds,
            seed=seed,
            D=d,
            E=self.strain,
            gamma=self.gamma,
            axes="ensemble" if self.ensemble else NV_AXES[self.axis],
        )

    def ramsey(
        self,
        free_evolution: Any,
        B: Any,
        *,
        detuning: float = 1e6,
        repetitions: int = 1000,
        seed: Seed = None,
        temperature: float | None = None,
    ) -> np.ndarray:
        """Pulsed Ramsey readout: the normalised fluorescence after pi/2 - tau - pi/2.

        The microwave sits ``detuning`` below the first tracked line at the bias field and
        ``reference_temperature``; the line at field ``B`` and ``temperature`` is offset
        ``delta`` from it, and ``P0 = (1 + exp(-tau / T2*) cos(2 pi delta tau)) / 2``. Each
        point averages ``repetitions`` shots: the ms=0 count of ``spins`` spins is
        binomial (projection noise), the detected photons Poisson with mean
        ``readout_photons (1 - max_contrast (1 - P0))`` per shot.

        Parameters
        ----------
        free_evolution : array_like
            Free evolution times tau (s), 1-D, >= 0.
        B : array_like, shape (3,)
            Field at the diamond (T), crystal frame.
        detuning : float
            Microwave detuning below the line at the bias (Hz).
        repetitions : int
            Shots per point.
        seed : int, SeedSequence or None
            Seed of the projection and photon noise.
        temperature : float, optional
            Temperature (K); None: ``reference_temperature``.

        Returns
        -------
        numpy.ndarray
            Normalised fluorescence per free evolution time.
        """
        tau = _validate.real_array("free_evolution", free_evolution)
        if tau.ndim != 1 or tau.size == 0 or not np.all(np.isfinite(tau) & (tau >= 0)):
            raise ValueError(
                f"free_evolution must be a non-empty 1-D array of finite times >= 0 s, got {tau!r}"
            )
        if isinstance(detuning, bool) or not isinstance(detuning, int | float | np.number):
            raise TypeError(f"detuning must be a real number in Hz, got {detuning!r}")
        if not math.isfinite(float(detuning)):
            raise ValueError(f"detuning must be finite (Hz), got {detuning!r}")
        reps = _validate.positive_int("repetitions", repetitions)
        t = self.reference_temperature if temperature is None else temperature
        t = _validate.positive_float("temperature", t)
        b = _vector("B", B)
        index = 1 if self.lines == "upper" else 0
        line = self._lines_at(b, t)[index]
        drive = self._line_pair[index] - float(detuning)
        p0 = 0.5 * (1.0 + np.exp(-tau / self.t2_star) * np.cos(2 * np.pi * (line - drive) * tau))
        shots = reps * self.spins
        if shots > 2**62:
            raise ValueError(
                f"repetitions * spins must be <= 2**62 (binomial draws), got repetitions={reps} "
                f"with spins={self.spins}"
            )
        gen = generator(seed_sequence(seed))
        p_hat = gen.binomial(shots, p0) / shots
        photons = reps * self.readout_photons
        mean = photons * (1.0 - self.max_contrast * (1.0 - p_hat))
        return gen.poisson(mean) / photons

    # ------------------------------------------------------------ simulation
    def run(self, *, seed: Seed = None, start: Any = None) -> NVRun:
        """A run of this magnetometer to be continued chunk by chunk (see :class:`NVRun`)."""
        return NVRun(self, seed=seed, start=start)

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the locked magnetometer.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 output samples).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``); children in this order: the photon
            counts, the laser RIN, the offset random walk, the microwave reference.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset, optional
            Drivers on ``time``: ``magnetic_field`` (T, along the sensing axis, the
            truth) and ``temperature`` (K); each is used when present.

        Returns
        -------
        xarray.Dataset
            ``B`` (T), ``truth``, ``shot_noise``, ``servo_lag``, ``temperature``,
            ``laser_rin``, ``bias_temperature``, ``microwave``, ``offset_random_walk``
            (T) and, tracking
            both lines, ``temperature_estimate`` (K); see the class Notes.

        Warns
        -----
        RuntimeWarning
            When the lock is lost (a servo frequency more than one linewidth from its
            line in some modulation block): too much photon noise for the loop bandwidth,
            or a field or temperature change faster than the loop follows.
        """
        n = samples_in(duration, self.rate)
        return self.run(seed=seed, start=start)._next(n, environment, duration)

    def noise_budget(
        self, tau: Any = None, frequency: Any = None, *, readout: str = "cw"
    ) -> xr.Dataset:
        """Analytic sensitivity of the CW lock, or of a pulsed readout of the same diamond.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0).
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0; for ``"cw"`` at most ``rate / 2``).
        readout : {"cw", "ramsey", "hahn_echo"}
            ``"cw"``: the simulated lock's ``shot_noise`` (Barry et al. 2020, times the
            loop response in the ASD), ``laser_rin``, ``microwave``, ``offset_random_walk`` (each
            when non-zero; the bias temperature term depends on the temperature record:
            attr ``bias_false_field_per_kelvin``, T/K); ``"ramsey"`` (DC, T2*) and
            ``"hahn_echo"`` (AC at ``1 / tau``, T2): ``spin_projection`` and
            ``photon_shot_noise`` at the best free evolution (Taylor et al. 2008), flat
            in frequency.

        Returns
        -------
        xarray.Dataset
            ``asd`` (T/sqrt(Hz), one-sided: ``sqrt(2) eta``) and/or ``adev`` (T,
            ``eta / sqrt(tau)``) on (term, ...), with ``total`` and references; attrs
            ``eta`` (T s^1/2, Barry's ``delta B sqrt(t)``), ``readout`` and, pulsed,
            ``free_evolution`` (s). Referred to the field outside the concentrators.
        """
        return budget(self, tau, frequency, readout)
