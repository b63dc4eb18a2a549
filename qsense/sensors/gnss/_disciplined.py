"""The GNSS-disciplined oscillator: an Oscillator steered to a GnssReceiver's pulses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from qsense._validate import positive_float, positive_int
from qsense.noise import adev_from_h
from qsense.seeding import Seed, seed_sequence, spawn
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import budget_dataset, samples_in, simulation_dataset, start_time
from qsense.sensors.classical import CHUNK_SAMPLES, Oscillator, clock_process_noise
from qsense.sensors.gnss._kernels import KALMAN_STATE, PI_STATE, kalman_loop, pi_loop
from qsense.sensors.gnss._loop import frequencies, state_space
from qsense.sensors.gnss._receiver import GnssReceiver, crossover_tau

__all__ = ["DisciplinedOscillator"]

#: Loop settings written to a simulation's attributes.
_REPORTED = ("time_constant", "time_constant_source", "crossover_tau", "pps_sigma_x")


@dataclass(frozen=True, kw_only=True)
class DisciplinedOscillator(SensorModel):
    """An oscillator steered to GNSS time (a GPSDO), with an optional holdover.

    The free-running oscillator (:class:`~qsense.sensors.classical.Oscillator` of ``h``,
    ``drift``) is compared once per sample with the receiver's pulses
    (:class:`GnssReceiver` of ``pps_rms`` ...) and its frequency corrected::

        m[k] = x[k] + e[k]                 measured time error (s), e: pulse error
        c[k] = loop(m[0..k])               frequency correction
        freq[k] = y_free[k] + c[k],        x[k+1] = x[k] + freq[k] / rate

    ``method="pi"``: ``c = -(kp m + ki sum m / rate)`` with ``ki = 1 / time_constant**2``
    (1/s**2) and ``kp = 2 damping / time_constant`` (1/s), a type-2 loop of natural
    frequency ``1 / time_constant`` (continuous form ``X / Y = s / (s**2 + kp s + ki)``).
    ``method="kalman"``: a Kalman filter on the two-state clock (time error, free
    frequency) with the process noise of :func:`~qsense.sensors.classical.
    clock_process_noise` (the model of :func:`qsense.denoise.clock_model`) and
    measurement variance ``sigma_x**2``, steering ``c = -(y_hat + x_hat /
    time_constant)``. During the holdover ``[holdover_start, holdover_start +
    holdover_length)`` no pulse arrives and the loop holds its frequency estimate: for
    PI the running mean of ``c`` over the time constant (exponential, weight ``1 /
    (time_constant rate)``; the last ``c`` carries the last pulse's noise through
    ``kp``), for Kalman ``c = -y_hat`` (the phase-correction term dropped).

    Parameters
    ----------
    h : mapping {int: float}
        The oscillator's ``S_y`` coefficients (Hz**(-1-alpha)).
    drift : float
        The oscillator's linear frequency drift in 1/s.
    rate : float
        Loop update and output rate in Hz (> 0), 1 for 1PPS.
    tau_max : float, optional
        Flicker band of the oscillator's noise stream in s (see ``Oscillator``).
    pps_rms, granularity, sawtooth_period, sawtooth_correction, correction_residual
        The receiver: ``rms``, ``granularity`` ... of :class:`GnssReceiver` (s, bool).
    method : {"pi", "kalman"}
        Steering loop.
    time_constant : float, optional
        Loop time constant in s (>= 10 / rate). Default: :func:`crossover_tau` of the
        oscillator and the receiver's total pulse rms (PHYSICS.md sec. 1.6), reported
        in ``attrs["time_constant"]``.
    damping : float
        Damping ratio of the PI loop (> 0), default 1/sqrt(2).
    holdover_start, holdover_length : float, optional
        Start (s from the first sample) and length (s) of the GNSS outage; both or
        neither.

    Notes
    -----
    ``simulate`` returns ``freq`` (the steered fractional frequency), ``phase`` (its
    time error against GNSS time, s, same convention as ``Oscillator``), ``truth``
    (zeros), ``oscillator`` (the free-running frequency: noise plus drift),
    ``steering`` (``c``), ``pps_error`` (the pulses' time error, s) and
    ``gnss_available``. The loop starts locked (zero time error and steering; the
    noise streams start at rest). ``attrs`` hold ``time_constant`` (s), ``time_constant_source``
    (``"crossover"`` or ``"given"``), ``crossover_tau`` (s), ``pps_sigma_x`` (s) and,
    with a holdover, ``holdover_time_error`` (s, ``phase`` at its end minus at its
    start), ``holdover_initial_frequency`` (the steered frequency at its first sample,
    the loop's estimate error) beside :meth:`holdover_prediction`'s
    ``holdover_predicted_rms``, ``holdover_predicted_drift`` and
    ``holdover_predicted_total`` (free running from a known frequency). Seeds: children
    (oscillator noise, pulses).

    Examples
    --------
    >>> gpsdo = DisciplinedOscillator.preset("ocxo-gpsdo", holdover_start=2e4,
    ...                                      holdover_length=3600.0)
    >>> ds = gpsdo.simulate(3e4, seed=1)
    >>> ds.attrs["time_constant_source"], round(ds.attrs["time_constant"])
    ('crossover', 4002)
    >>> abs(ds.attrs["holdover_time_error"]) < 1e-7
    True
    """

    measured: ClassVar[str] = "freq"
    quantity: ClassVar[str] = "fractional_frequency"
    PRESETS: ClassVar[tuple[Preset, ...]] = ()  # filled below, from the parts' presets

    h: dict = parameter(unit="Hz-(alpha+1)", kind="mapping", minimum=0.0, doc="oscillator S_y")
    drift: float = parameter(0.0, unit="s-1", doc="oscillator drift")
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="loop rate")
    tau_max: float | None = parameter(
        None, unit="s", minimum=0.0, open_minimum=True, optional=True, doc="flicker band"
    )
    pps_rms: float = parameter(unit="s", minimum=0.0, doc="white PM rms of the pulses")
    granularity: float = parameter(0.0, unit="s", minimum=0.0, doc="receiver clock period")
    sawtooth_period: float = parameter(60.0, unit="s", minimum=0.0, open_minimum=True)
    sawtooth_correction: bool = parameter(False, unit="1", kind="bool")
    correction_residual: float = parameter(0.0, unit="s", minimum=0.0)
    method: str = parameter("pi", unit="1", kind="choice", options=("pi", "kalman"))
    time_constant: float | None = parameter(
        None, unit="s", minimum=0.0, open_minimum=True, optional=True, doc="loop time constant"
    )
    damping: float = parameter(
        1.0 / math.sqrt(2.0), unit="1", minimum=0.0, open_minimum=True, doc="PI damping"
    )
    holdover_start: float | None = parameter(None, unit="s", minimum=0.0, optional=True)
    holdover_length: float | None = parameter(
        None, unit="s", minimum=0.0, open_minimum=True, optional=True
    )

    def _check(self) -> None:
        self.oscillator()
        self.receiver()
        if (self.holdover_start is None) != (self.holdover_length is None):
            raise ValueError(
                "DisciplinedOscillator: give holdover_start and holdover_length together, got "
                f"holdover_start={self.holdover_start!r}, holdover_length={self.holdover_length!r}"
            )
        if self.time_constant is not None and self.time_constant * self.rate < 10.0:
            raise ValueError(
                f"DisciplinedOscillator: time_constant must be >= 10 samples (10 / rate = "
                f"{10.0 / self.rate:g} s) for the discrete loop, got {self.time_constant!r} s"
            )

    # -- the parts
    def oscillator(self) -> Oscillator:
        """The free-running oscillator being steered.

        Returns
        -------
        Oscillator
        """
        return Oscillator(h=self.h, drift=self.drift, rate=self.rate, tau_max=self.tau_max)

    def receiver(self) -> GnssReceiver:
        """The GNSS receiver whose pulses steer it.

        Returns
        -------
        GnssReceiver
        """
        return GnssReceiver(
            rms=self.pps_rms,
            granularity=self.granularity,
            sawtooth_period=self.sawtooth_period,
            sawtooth_correction=self.sawtooth_correction,
            correction_residual=self.correction_residual,
            rate=self.rate,
        )

    @classmethod
    def from_parts(
        cls, oscillator: Oscillator, receiver: GnssReceiver, **loop: Any
    ) -> DisciplinedOscillator:
        """A disciplined oscillator built from an oscillator and a receiver model.

        Parameters
        ----------
        oscillator : Oscillator
            The free-running oscillator (its ``h``, ``drift``, ``tau_max``; its rate
            must equal the receiver's).
        receiver : GnssReceiver
            The receiver (its rate is the loop rate).
        **loop
            ``method``, ``time_constant``, ``damping``, ``holdover_start``,
            ``holdover_length``.

        Returns
        -------
        DisciplinedOscillator
        """
        if not isinstance(oscillator, Oscillator):
            raise TypeError(f"oscillator must be an Oscillator, got {oscillator!r}")
        if not isinstance(receiver, GnssReceiver):
            raise TypeError(f"receiver must be a GnssReceiver, got {receiver!r}")
        if oscillator.rate != receiver.rate:
            raise ValueError(
                f"oscillator.rate ({oscillator.rate!r} Hz) must equal receiver.rate "
                f"({receiver.rate!r} Hz): the loop runs at the pulse rate"
            )
        return cls(
            h=oscillator.h,
            drift=oscillator.drift,
            rate=receiver.rate,
            tau_max=oscillator.tau_max,
            pps_rms=receiver.rms,
            granularity=receiver.granularity,
            sawtooth_period=receiver.sawtooth_period,
            sawtooth_correction=receiver.sawtooth_correction,
            correction_residual=receiver.correction_residual,
            **loop,
        )

    def loop_time_constant(self) -> tuple[float, str]:
        """The loop's time constant and where it came from.

        Returns
        -------
        (float, str)
            Time constant in s and ``"given"`` or ``"crossover"``
            (:func:`crossover_tau` of the oscillator and the pulses' total rms).
        """
        if self.time_constant is not None:
            return self.time_constant, "given"
        sigma_x = self.receiver().time_error_rms()
        return crossover_tau(self.h, self.drift, sigma_x, self.rate), "crossover"

    def holdover_prediction(self, length: float) -> dict[str, float]:
        """Time error a free-running oscillator of known initial frequency accumulates.

        Parameters
        ----------
        length : float
            Holdover length in s (> 0).

        Returns
        -------
        dict
            ``rms`` (s): ``sqrt(Q[0, 0] + 2 ln2 h_-1 T**2 + 2 sigma_wpm**2)`` with
            ``Q`` of :func:`~qsense.sensors.classical.clock_process_noise` (white FM
            ``h_0 T / 2`` and random-walk FM ``2 pi**2 h_-2 T**3 / 3``, exact; Zucca &
            Tavella 2005), flicker FM as ``T**2 sigma_y**2(T)`` (``T sigma_y(T)`` the
            usual time-prediction error, exact for white and random-walk FM) and the
            phase-noise terms as two independent phase samples; ``drift`` (s):
            ``D T**2 / 2``; ``total`` (s): ``sqrt(rms**2 + drift**2)``.
        """
        t = positive_float("length", length)
        q = clock_process_noise(self.h.get(0, 0.0), self.h.get(-2, 0.0), t)
        var = float(q[0, 0]) + 2.0 * math.log(2.0) * self.h.get(-1, 0.0) * t * t
        pm = {a: v for a, v in self.h.items() if a > 0 and v > 0}
        if pm:  # white PM: var(x(T) - x(0)) = 2 sigma_x**2 = (2/3) T**2 sigma_y**2(T)
            var += (2.0 / 3.0) * t * t * adev_from_h(pm, t, self.rate) ** 2
        drift = abs(self.drift) * t * t / 2.0
        rms = math.sqrt(var)
        return {"rms": rms, "drift": drift, "total": math.hypot(rms, drift)}

    # -- simulate
    def _loop_setup(self) -> dict[str, Any]:
        tau_c, source = self.loop_time_constant()
        sigma_x = self.receiver().time_error_rms()
        setup: dict[str, Any] = {
            "time_constant": tau_c,
            "time_constant_source": source,
            "crossover_tau": crossover_tau(self.h, self.drift, sigma_x, self.rate),
            "pps_sigma_x": sigma_x,
        }
        if self.method == "pi":
            setup["kp"] = 2.0 * self.damping / tau_c
            setup["ki"] = 1.0 / tau_c**2
        else:
            # flicker FM has no finite-state form: the filter takes the random-walk FM of
            # equal Allan variance at the time constant, (2 pi^2/3) h tau = 2 ln2 h_-1
            hm2 = self.h.get(-2, 0.0) + 3.0 * math.log(2.0) * self.h.get(-1, 0.0) / (
                math.pi**2 * tau_c
            )
            q = clock_process_noise(self.h.get(0, 0.0), hm2, 1.0 / self.rate)
            setup.update(q00=q[0, 0], q01=q[0, 1], q11=q[1, 1], r=sigma_x**2)
            setup["kalman_hm2"] = hm2
        return setup

    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
        chunk_samples: int = CHUNK_SAMPLES,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the steered oscillator.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 samples; must contain the holdover).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed (recorded in ``attrs``): one child for the oscillator's noise
            (:meth:`Oscillator.stream`), one for the pulses.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset, optional
            Not used (no temperature term in the steered oscillator).
        chunk_samples : int
            Samples per chunk of the noise streams and the loop kernel (bounds the
            working memory beyond the output); the result does not depend on it.

        Returns
        -------
        xarray.Dataset
            See the class Notes.
        """
        n = samples_in(duration, self.rate)
        chunk = positive_int("chunk_samples", chunk_samples)
        t0 = start_time(start)
        step = 1.0 / self.rate
        available = np.ones(n, dtype=np.bool_)
        hold = None
        if self.holdover_start is not None:
            i0 = round(self.holdover_start * self.rate)
            i1 = i0 + round(self.holdover_length * self.rate)
            if i1 >= n:
                raise ValueError(
                    f"duration must extend past the holdover's end, holdover_start + "
                    f"holdover_length = {self.holdover_start + self.holdover_length!r} s, "
                    f"got duration {n / self.rate!r} s"
                )
            if i1 == i0:
                raise ValueError(
                    f"holdover_length must cover at least one sample (1 / rate = {step!r} s), "
                    f"got {self.holdover_length!r} s"
                )
            available[i0:i1] = False
            hold = (i0, i1)
        setup = self._loop_setup()
        ss = seed_sequence(seed)
        osc_ss, pps_ss = spawn(ss, 2)
        stream = self.oscillator().stream(self.rate, osc_ss)
        pulses = self.receiver()._source(pps_ss)
        free = np.empty(n)
        pps = np.empty(n)
        freq = np.empty(n)
        phase = np.empty(n)
        state = None
        for i in range(0, n, chunk):
            m = min(chunk, n - i)
            part = slice(i, i + m)
            free[part] = stream.next(m) + self.drift * (np.arange(i, i + m) * step)
            pps[part] = sum(pulses.next(m).values())
            if state is None:
                state = self._initial_state(setup)
            self._run(setup, free[part], pps[part], available[part], step, state, freq, phase, part)
        attrs = {k: v for k, v in setup.items() if k in _REPORTED}
        attrs["method"] = self.method
        if hold is not None:
            length = (hold[1] - hold[0]) * step
            attrs["holdover_time_error"] = float(phase[hold[1]] - phase[hold[0]])
            attrs["holdover_initial_frequency"] = float(freq[hold[0]])
            prediction = self.holdover_prediction(length)
            attrs["holdover_predicted_rms"] = prediction["rms"]
            attrs["holdover_predicted_drift"] = prediction["drift"]
            attrs["holdover_predicted_total"] = prediction["total"]
        ds = simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=freq,
            truth=np.zeros(n),
            terms={
                "oscillator": free,
                "steering": freq - free,
                "phase": (phase, "phase"),
                "pps_error": (pps, "phase"),
            },
            seed=ss,
            duration=duration,
            attrs=attrs,
        )
        ds["gnss_available"] = ("time", available, {"long_name": "GNSS pulses received"})
        return ds

    def _initial_state(self, setup: dict[str, Any]) -> np.ndarray:
        """Zero time error and steering: the noise streams start at rest (zero mean
        frequency), so the loop starts locked. Kalman prior: ``P = diag(r, 3 r /
        time_constant**2)`` (the pulses' white PM over one time constant)."""
        if self.method == "pi":
            return np.zeros(PI_STATE)
        state = np.zeros(KALMAN_STATE)
        state[3] = setup["r"]
        state[5] = 3.0 * setup["r"] / setup["time_constant"] ** 2
        return state

    def _run(self, setup, free, pps, available, step, state, freq, phase, part) -> None:
        f_out = np.empty(free.size)
        x_out = np.empty(free.size)
        if self.method == "pi":
            smooth = min(1.0, step / setup["time_constant"])
            pi_loop(
                free, pps, available, step, setup["kp"], setup["ki"], smooth, state, f_out, x_out
            )
        else:
            kalman_loop(
                free,
                pps,
                available,
                step,
                setup["q00"],
                setup["q01"],
                setup["q11"],
                setup["r"],
                1.0 / setup["time_constant"],
                state,
                f_out,
                x_out,
            )
        freq[part] = f_out
        phase[part] = x_out

    # -- noise budget
    def closed_loop(self, frequency: Any) -> tuple[np.ndarray, np.ndarray]:
        """Transfer functions of the loop from the free oscillator and from the pulses.

        Parameters
        ----------
        frequency : float or array-like of float
            Fourier frequencies in Hz (> 0, up to ``rate / 2``).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray) of complex128
            ``H_osc(f)`` (steered frequency per free-running frequency) and ``H_pps(f)``
            (steered frequency per pulse time error, 1/s), from the discrete loop
            ``s' = A s + B u``, ``y = C s + D u`` (``u`` = free frequency, pulse error)
            at ``z = exp(2 pi i f / rate)``; the Kalman loop at its steady-state gain.
        """
        f = frequencies(frequency, self.rate)
        a, b, c, d = state_space(self.method, self._loop_setup(), self.rate)
        z = np.exp(2j * np.pi * f / self.rate)
        eye = np.eye(a.shape[0])
        out = np.empty((f.size, 2), dtype=np.complex128)
        for i, zi in enumerate(z):
            out[i] = c @ np.linalg.solve(zi * eye - a, b) + d
        return out[:, 0], out[:, 1]

    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """Allan deviation and ASD of the steered oscillator, term by term.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s, whole numbers of samples (``m / rate``).
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0, up to ``rate / 2``).

        Returns
        -------
        xarray.Dataset
            Terms ``oscillator`` (the free oscillator's ``S_y = sum h_alpha f**alpha``
            through ``H_osc``; PM terms as differenced phase, ``S_y = 4 sin**2(pi f /
            rate) rate**2 S_x``), ``gnss`` (white pulse error, ``S_x = 2 sigma_x**2 /
            rate``, through ``H_pps``) and ``drift`` (0: the loops remove a linear
            drift), with ASD ``sqrt(|H|**2 S)`` and the Allan variance of the sampled
            frequency, ``sigma**2(m) = int_0^{rate/2} S_y,out(f) 2 sin**4(pi f m /
            rate) / (m**2 sin**2(pi f / rate)) df`` (the overlapping Allan variance's
            filter; NIST SP 1065 sec. 5.2; Barnes et al. 1971), integrated on a log
            grid. The sawtooth is taken as white of rms ``granularity / sqrt(12)``.
        """
        for name, axis in (("tau", tau), ("frequency", frequency)):
            if isinstance(axis, xr.Dataset) or np.iscomplexobj(axis):
                raise TypeError(f"{name} must be real numbers in s or Hz, got {axis!r}")
        sigma_x = self.receiver().time_error_rms()

        def spectra(f: np.ndarray) -> dict[str, np.ndarray]:
            h_osc, h_pps = self.closed_loop(f)
            u = np.sin(np.pi * f / self.rate)
            s_osc = np.zeros_like(f)
            for alpha, value in self.h.items():
                if alpha <= 0:
                    s_osc += value * f ** float(alpha)
                else:  # PM: S_x = h f**alpha / (2 pi f)**2, differenced at the rate
                    s_osc += (
                        4.0 * u**2 * self.rate**2 * value * f ** float(alpha - 2) / (4.0 * np.pi**2)
                    )
            s_e = 2.0 * sigma_x**2 / self.rate
            return {
                "oscillator": np.abs(h_osc) ** 2 * s_osc,
                "gnss": np.abs(h_pps) ** 2 * s_e,
                "drift": np.zeros_like(f),
            }

        def adev(t: np.ndarray) -> dict[str, np.ndarray]:
            m = np.rint(t * self.rate)
            if np.any(np.abs(m - t * self.rate) > 1e-9 * np.maximum(m, 1.0)) or np.any(m < 1):
                raise ValueError(
                    f"tau must be whole numbers of samples (multiples of 1 / rate = "
                    f"{1.0 / self.rate!r} s), got {t!r}"
                )
            f = np.logspace(math.log10(self.rate) - 12.0, math.log10(self.rate / 2), 6000)
            weights = np.diff(f, prepend=0.0)
            s = spectra(f)
            u = np.sin(np.pi * f / self.rate)
            out = {k: np.empty(t.size) for k in s}
            for i, mi in enumerate(m):
                w = np.sin(np.pi * f * mi / self.rate) ** 4
                fast = weights > self.rate / (8.0 * mi)  # unresolved oscillation: its mean
                w[fast] = 3.0 / 8.0
                kernel = 2.0 * w / (mi**2 * u**2)
                for k, v in s.items():
                    out[k][i] = math.sqrt(float(np.sum(v * kernel * weights)))
            return out

        refs = {
            "oscillator": "free oscillator S_y (IEEE 1139 power law) through the loop's H_osc",
            "gnss": "white pulse error (PHYSICS.md sec. 1.6) through the loop's H_pps",
            "drift": "removed by the loop (type-2: a frequency ramp leaves no frequency error)",
        }
        adev_rows = asd_rows = None
        if tau is not None:
            cache: dict[str, Any] = {}

            def row(name: str):
                def f(t: np.ndarray) -> np.ndarray:
                    if "v" not in cache:
                        cache["v"] = adev(t)
                    return cache["v"][name]

                return f

            adev_rows = {k: row(k) for k in refs}
        if frequency is not None:
            asd_rows = {
                k: (lambda f, k=k: np.sqrt(spectra(frequencies(f, self.rate))[k])) for k in refs
            }
        out = budget_dataset(
            self, tau=tau, frequency=frequency, adev=adev_rows, asd=asd_rows, references=refs
        )
        out.attrs.update({k: v for k, v in self._loop_setup().items() if k in _REPORTED})
        return out


def _preset(name: str, oscillator: str, receiver: str, note: str, **rx: Any) -> Preset:
    parts = DisciplinedOscillator.from_parts(
        Oscillator.preset(oscillator), GnssReceiver.preset(receiver, **rx)
    )
    osc_cite = Oscillator.presets()[oscillator]
    rx_cite = GnssReceiver.presets()[receiver]
    return Preset(
        name,
        parts.params(),
        citation=f"oscillator: {osc_cite}; receiver: {rx_cite}",
        description=(
            f"Oscillator preset {oscillator!r} steered by a PI loop to GnssReceiver preset "
            f"{receiver!r}{note}; time constant at the Allan-deviation crossover "
            "(PHYSICS.md sec. 1.6)."
        ),
    )


DisciplinedOscillator.PRESETS = (
    _preset(
        "ocxo-gpsdo",
        "ocxo",
        "timing-sawtooth",
        " with the sawtooth correction",
        sawtooth_correction=True,
    ),
    _preset("rb-gpsdo", "rubidium", "zed-f9p", ""),
)
