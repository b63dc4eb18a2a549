"""The time loop of :class:`~qsense.sensors.nv.NVMagnetometer`, carried chunk by chunk.

:class:`NVRun` holds a run's state (the servo frequencies, the noiseless linear loop and
the photon-count generator), calls the numba kernel :func:`~qsense.sensors.nv._kernels.
nv_lock` and builds each chunk's Dataset; ``NVMagnetometer.simulate`` is one chunk of a
fresh run.

Note on :func:`qsense.denoise.lockin`: it demodulates a whole record with a centred
(non-causal) boxcar or a zero-phase Butterworth filter, so it cannot sit inside a
feedback loop, where each block's error must be known before the next block's
microwave frequency is set. The kernel therefore demodulates block by block with the
square (Walsh) reference itself: ``sum_j w_j N_j`` over one block is what ``lockin``'s
boxcar gives for a square reference over one period, causal.

**Laser RIN and offset drift.** With ``laser_rin_white`` or ``laser_rin_flicker``, the
fractional intensity ``eps_j`` of each sub-step (a :class:`qsense.noise.PowerLawStream`
at the sub-step rate ``2 modulation_frequency``, interval means, flicker law held from
``1e-4`` of that rate: slower intensity changes are rejected by the demodulation
anyway) multiplies the counts, ``N_j (1 + eps_j)``. Linearised about the lock (each
tracked dip seen at ``+-depth``, ``N_j = R dt (1 - n_dips C L(depth))``), the block's
error gains ``R dt (1 - n_dips C L(depth)) sum_j w_j eps_j``: a constant ``eps`` (the
common-mode part) cancels since ``sum_j w_j = 0``, and what is left, the RIN near the
modulation frequency, reads as the line offset ``x = -(1 - n_dips C L(depth)) sum_j
w_j eps_j / (4 C |L'(depth)|)`` Hz. It passes through the same integrator,
``n_(b+1) = (1 - g) n_b + g x_b`` (:func:`scipy.signal.lfilter`, its state carried), is
averaged over each output sample like the servo frequencies, and goes through the
estimator. The part of ``eps`` that scales the error signal itself (a loop-gain change
proportional to the tracking error) is second order in lock and left out.
**Microwave reference.** With ``microwave_white_fm`` or ``microwave_flicker_fm`` the
reference's fractional frequency ``y`` (a PowerLawStream at the block rate, held over
each block) moves line ``i``'s drive by ``f_i y`` (``f_i`` its frequency at the
bias). The servo locks the real drive to the line, so the read frequency is off by
``x = -f_i y``, through the same integrator and estimator (its own filter state).
``offset_random_walk`` is drawn at the output rate (``h_-2 = q^2 / (2 pi^2)``) and added
to the output. Both are added to ``B``; each has its own seed child.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from scipy.signal import lfilter

from qsense._validate import real_array, warn
from qsense.noise import PowerLawStream
from qsense.seeding import Seed, generator, seed_sequence, spawn
from qsense.sensors._base import SensorModel
from qsense.sensors._build import (
    environment_driver,
    generator_from_state,
    run_state,
    run_state_seed,
    simulation_dataset,
    start_time,
)
from qsense.sensors.nv._budget import line_slope
from qsense.sensors.nv._kernels import STATE_SIZE, WALSH, nv_lock
from qsense.signal import DEFAULT_START

if TYPE_CHECKING:
    from qsense.sensors.nv.magnetometer import NVMagnetometer

__all__ = ["NVRun"]

#: Output samples computed per kernel call (the held drivers of a block: 32 MB).
_BLOCK_SAMPLES = 1 << 21
#: Version tag of :meth:`NVRun.state`.
_FORMAT = "qsense.sensors.nv.NVRun/2"
#: Sub-steps of laser RIN drawn per call (8 MB).
_RIN_SUBSTEPS = 1 << 20
#: Flicker RIN law held down to this fraction of the sub-step rate.
_RIN_BAND = 1e4


def rin_stream(model: NVMagnetometer, seed: Any) -> PowerLawStream | None:
    """The fractional laser-intensity stream at the sub-step rate, or None without RIN."""
    h = {0: model.laser_rin_white**2, -1: model.laser_rin_flicker**2}
    if not (h[0] > 0 or h[-1] > 0):
        return None
    rate = 2.0 * model.modulation_frequency
    return PowerLawStream(h, rate, seed=seed, tau_max=_RIN_BAND / rate)


def microwave_stream(model: NVMagnetometer, seed: Any) -> PowerLawStream | None:
    """The microwave reference's fractional frequency at the block rate, or None."""
    h = {0: model.microwave_white_fm**2, -1: model.microwave_flicker_fm**2 / (2 * np.log(2))}
    if not (h[0] > 0 or h[-1] > 0):
        return None
    return PowerLawStream(h, model.rate * model.blocks_per_sample, seed=seed)


def offset_stream(model: NVMagnetometer, seed: Any) -> PowerLawStream | None:
    """The random-walk output offset (T) at the output rate, or None without it."""
    if not model.offset_random_walk > 0:
        return None
    h = {-2: model.offset_random_walk**2 / (2.0 * np.pi**2)}
    return PowerLawStream(h, model.rate, seed=seed)


def rin_scale(model: NVMagnetometer) -> float:
    """Hz of line offset per unit ``sum_j w_j eps_j``: ``-(1 - n C L(depth)) / (4 C |L'|)``."""
    hw, depth = model.linewidth / 2.0, model.depth
    dips = 2.0 if model.lines == "both" else 1.0
    dimming = 1.0 - dips * model.contrast * hw * hw / (depth * depth + hw * hw)
    return -dimming / (4.0 * model.contrast * line_slope(hw, depth))


def _pad(values: np.ndarray) -> tuple[float, float]:
    return float(values[0]), float(values[1]) if values.size > 1 else 0.0


def _check_model(model: Any) -> None:
    if not (
        isinstance(model, SensorModel)
        and any(c.__name__ == "NVMagnetometer" for c in type(model).__mro__)
    ):
        raise TypeError(f"model must be an NVMagnetometer, got {type(model).__name__}")


class NVRun:
    """A run of an :class:`NVMagnetometer` continued chunk by chunk.

    The servo frequencies, the noiseless loop and the photon-count generator are carried
    from one :meth:`next` to the next, so the chunks joined along ``time`` equal one
    :meth:`NVMagnetometer.simulate` call with the same seed, bit for bit.

    Parameters
    ----------
    model : NVMagnetometer
        The magnetometer.
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the run (children: the photon counts, the laser RIN, the offset, the
        microwave reference).
    start : datetime-like, optional
        UTC time of the first sample.
    """

    def __init__(self, model: NVMagnetometer, *, seed: Seed = None, start: Any = None) -> None:
        _check_model(model)
        self._model = model
        self._ss = seed_sequence(seed)
        photons_ss, rin_ss, offset_ss, microwave_ss = spawn(self._ss, 4)
        self._gen = generator(photons_ss)
        self._rin = rin_stream(model, rin_ss)
        self._rin_loop = np.zeros(2)
        self._offset = offset_stream(model, offset_ss)
        self._microwave = microwave_stream(model, microwave_ss)
        self._microwave_loop = np.zeros(2)
        t0 = start_time(start)
        self._start = DEFAULT_START if t0 is None else t0
        self._state = np.zeros(STATE_SIZE)
        self._samples = 0

    @property
    def samples(self) -> int:
        """Output samples simulated so far."""
        return self._samples

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run later or in another process.

        Returns
        -------
        dict
            ``format``, ``model_params``, ``start``, ``seed``/``seed_spawn_key``,
            ``samples``, ``servo`` (float64 (4,): the servo frequencies and the noiseless
            loop's, Hz), ``photons_rng`` (PCG64 state), ``rin_loop`` and ``microwave_loop``
            (float64 (2,), Hz) and the states of the ``rin``, ``offset`` and
            ``microwave`` streams (None when off).
        """
        return {
            **run_state(self._model, _FORMAT, self._start, self._ss),
            "samples": self._samples,
            "servo": self._state.copy(),
            "photons_rng": copy.deepcopy(self._gen.bit_generator.state),
            "rin_loop": self._rin_loop.copy(),
            "rin": None if self._rin is None else self._rin.state(),
            "offset": None if self._offset is None else self._offset.state(),
            "microwave_loop": self._microwave_loop.copy(),
            "microwave": None if self._microwave is None else self._microwave.state(),
        }

    @classmethod
    def from_state(cls, model: NVMagnetometer, state: Mapping[str, Any]) -> NVRun:
        """Continue a run of ``model`` from :meth:`state`.

        Parameters
        ----------
        model : NVMagnetometer
            The magnetometer that made the state (checked against its parameters).
        state : mapping
            What :meth:`state` returned.

        Returns
        -------
        NVRun
        """
        _check_model(model)
        ss, start = run_state_seed(model, state, _FORMAT, "NV magnetometer")
        self = cls(model, seed=ss, start=start)
        samples = state.get("samples")
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 0:
            raise ValueError(f"state['samples'] must be an integer >= 0, got {samples!r}")
        servo = real_array("state['servo']", state.get("servo"))
        if servo.shape != (STATE_SIZE,) or not np.all(np.isfinite(servo)):
            raise ValueError(f"state['servo'] must be {STATE_SIZE} finite numbers, got {servo!r}")
        self._gen = generator_from_state("state['photons_rng']", state.get("photons_rng"))
        self._samples = int(samples)
        self._state = np.array(servo, dtype=np.float64)
        for key in ("rin_loop", "microwave_loop"):
            loop = real_array(f"state[{key!r}]", state.get(key))
            if loop.shape != (2,) or not np.all(np.isfinite(loop)):
                raise ValueError(f"state[{key!r}] must be 2 finite numbers, got {loop!r}")
            setattr(self, "_" + key, np.array(loop, dtype=np.float64))
        for key in ("rin", "offset", "microwave"):
            saved = state.get(key)
            if (saved is None) != (getattr(self, "_" + key) is None):
                raise ValueError(f"state[{key!r}] does not match the model's {key} noise")
            if saved is not None:
                setattr(self, "_" + key, PowerLawStream.from_state(saved))
        return self

    def next(self, samples: int, *, environment: xr.Dataset | None = None) -> xr.Dataset:
        """The next ``samples`` output samples, as :meth:`NVMagnetometer.simulate` gives them.

        Parameters
        ----------
        samples : int
            Number of output samples (>= 1).
        environment : xarray.Dataset, optional
            Drivers covering these samples (see :meth:`NVMagnetometer.simulate`).

        Returns
        -------
        xarray.Dataset
        """
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        return self._next(int(samples), environment, int(samples) / self._model.rate)

    def _times(self, first: int, n: int) -> np.ndarray:
        step = 1e9 / self._model.rate
        end = float(self._start.astype(np.int64)) + (first + n - 1) * step
        if not end < float(np.iinfo(np.int64).max):
            raise ValueError(
                f"samples {first} to {first + n - 1} from {self._start} end after 2262-04-11, "
                "the end of datetime64[ns]; simulate a shorter duration"
            )
        offsets = np.rint(np.arange(first, first + n, dtype=np.float64) * step).astype(np.int64)
        return self._start + offsets.astype("timedelta64[ns]")

    def _servo(self, x: np.ndarray, zi: np.ndarray, i: int, k: int) -> np.ndarray:
        """Line offsets ``x`` (Hz, one per block) through the integrator, averaged over
        each of the ``k`` output samples; the filter state ``zi[i]`` is carried."""
        blocks = self._model.blocks_per_sample
        g = self._model.loop_gain
        y, zf = lfilter([0.0, g], [1.0, g - 1.0], x, zi=zi[i : i + 1])
        zi[i] = zf[0]
        y = y.reshape(k, blocks)
        acc = y[:, 0].copy()
        for j in range(1, blocks):
            acc += y[:, j]
        return acc * (1.0 / blocks)

    def _rin_lines(self, n: int, lines: int) -> np.ndarray:
        """Servo-frequency offsets (Hz) the laser RIN gives, averaged per output sample."""
        out = np.zeros((2, n))
        if self._rin is None:
            return out
        blocks = self._model.blocks_per_sample
        scale = rin_scale(self._model)
        step = max(1, _RIN_SUBSTEPS // (4 * blocks))
        for lo in range(0, n, step):
            k = min(n, lo + step) - lo
            eps = self._rin.next(4 * blocks * k).reshape(k * blocks, 4)
            for i in range(lines):
                w = WALSH[i]
                x = w[0] * eps[:, 0] + w[1] * eps[:, 1] + w[2] * eps[:, 2] + w[3] * eps[:, 3]
                out[i, lo : lo + k] = self._servo(scale * x, self._rin_loop, i, k)
        return out

    def _microwave_lines(self, n: int, lines: int) -> np.ndarray:
        """Servo-frequency offsets (Hz) the microwave reference gives, per output sample."""
        out = np.zeros((2, n))
        if self._microwave is None:
            return out
        m = self._model
        freqs = m._line_pair[{"lower": [0], "upper": [1], "both": [0, 1]}[m.lines]]
        step = max(1, _RIN_SUBSTEPS // m.blocks_per_sample)
        for lo in range(0, n, step):
            k = min(n, lo + step) - lo
            y = self._microwave.next(m.blocks_per_sample * k)
            for i in range(lines):
                out[i, lo : lo + k] = self._servo(-freqs[i] * y, self._microwave_loop, i, k)
        return out

    def _next(self, n: int, environment: xr.Dataset | None, duration: Any) -> xr.Dataset:
        m = self._model
        first = self._samples
        times = self._times(first, n)
        field = environment_driver(environment, "magnetic_field", times, quantity="magnetic_field")
        temp = environment_driver(environment, "temperature", times, quantity="temperature")
        truth = np.zeros(n) if field is None else field
        d_temp = np.zeros(n) if temp is None else temp - m.reference_temperature
        a, c = m.line_coefficients
        bias = m.bias_coefficients * m.bias_temperature_coefficient
        lines = 2 if m.lines == "both" else 1
        out = np.empty((4, n))
        outside = 0
        for lo in range(0, n, _BLOCK_SAMPLES):
            hi = min(n, lo + _BLOCK_SAMPLES)
            f0 = np.zeros((2, hi - lo))
            for i in range(lines):
                f0[i] = a[i] * m.flux_gain * truth[lo:hi] + c[i] * d_temp[lo:hi]
                if bias[i] != 0:
                    f0[i] += bias[i] * d_temp[lo:hi]
            outside += nv_lock(
                f0,
                self._gen,
                lines,
                m.blocks_per_sample,
                m.photon_rate * m.step_seconds,
                m.contrast,
                m.linewidth / 2.0,
                m.depth,
                m.lockin_slope,
                m.loop_gain,
                m.linewidth,
                self._state,
                out[:, lo:hi],
            )
        self._samples += n
        if outside:
            warn(
                f"NVMagnetometer: in {outside} of {n * m.blocks_per_sample} modulation blocks a "
                "servo frequency was more than one linewidth from its line, where the lock-in "
                "error no longer points to it: the lock was lost (photon noise too large for "
                "the loop_bandwidth, or the field or temperature moved the line too fast), and "
                "B there is not the field",
                RuntimeWarning,
            )
        field_est, temp_est = m.estimate(out[0], out[1])
        lin_field, _ = m.estimate(out[2], out[3])
        false_field = m.temperature_false_field * d_temp
        bias_field, _ = m.estimate(*(bias[i] * d_temp if i < lines else 0.0 for i in (0, 1)))
        rin_lines = self._rin_lines(n, lines)
        rin, rin_temp = m.estimate(rin_lines[0], rin_lines[1])
        mw_lines = self._microwave_lines(n, lines)
        microwave, mw_temp = m.estimate(mw_lines[0], mw_lines[1])
        offset = np.zeros(n) if self._offset is None else self._offset.next(n)
        terms: dict[str, Any] = {
            "shot_noise": field_est - lin_field,
            "servo_lag": lin_field - truth - false_field - bias_field,
            "temperature": false_field,
            "laser_rin": rin,
            "bias_temperature": bias_field * np.ones(n),
            "microwave": microwave,
            "offset_random_walk": offset,
        }
        field_est = field_est + rin + microwave + offset
        temp_est = temp_est + rin_temp + mw_temp
        if lines == 2:
            terms["temperature_estimate"] = (m.reference_temperature + temp_est, "temperature")
        ds = simulation_dataset(
            m,
            rate=m.rate,
            start=self._start,
            measured=field_est,
            truth=truth,
            terms=terms,
            seed=self._ss,
            duration=duration,
            attrs={
                "first_sample": first,
                "contrast": m.contrast,
                "linewidth": m.linewidth,
                "modulation_depth": m.depth,
                "loop_gain": m.loop_gain,
                "temperature_false_field_per_kelvin": m.temperature_false_field,
                "bias_false_field_per_kelvin": float(m.estimate(*_pad(bias))[0]),
            },
        )
        return ds.assign_coords(time=("time", times, ds["time"].attrs))
