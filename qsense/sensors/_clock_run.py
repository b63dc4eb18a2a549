"""The time loop of :class:`qsense.sensors.clock.AtomicClock`: a run carried chunk by chunk.

:class:`ClockRun` holds a run's state (servo, output phase, the atom-count generator and
the LO's stream), calls the numba kernel block by block and builds each chunk's Dataset;
``AtomicClock.simulate`` is one chunk of a fresh run. Public as
``qsense.sensors.clock.ClockRun``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

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
from qsense.sensors._clock_kernels import STATE_SIZE, clock_cycles
from qsense.sensors._clock_sensitivity import bin_weights
from qsense.signal import DEFAULT_START

if TYPE_CHECKING:
    from qsense.sensors.clock import AtomicClock

__all__ = ["ClockRun"]

#: LO samples generated and held at once inside a run (8 MB of float64).
_BLOCK_SAMPLES = 1 << 20
_TERMS = ("lo", "dick", "qpn", "servo_lag")
#: Version tag of :meth:`ClockRun.state`.
_FORMAT = "qsense.sensors.clock.ClockRun/1"


def _check_clock(clock: Any) -> None:
    if not (
        isinstance(clock, SensorModel)
        and any(c.__name__ == "AtomicClock" for c in type(clock).__mro__)
    ):
        raise TypeError(f"clock must be an AtomicClock, got {type(clock).__name__}")


class ClockRun:
    """A run of an :class:`AtomicClock` continued chunk by chunk.

    The servo's state, the output phase, the atom-count generator and the LO's stream
    are carried from one :meth:`next` to the next, so the chunks joined along ``time``
    equal one :meth:`AtomicClock.simulate` call with the same seed, sample for sample.

    Parameters
    ----------
    clock : AtomicClock
        The clock.
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the run.
    start : datetime-like, optional
        UTC time of the first cycle.

    Examples
    --------
    >>> clock = AtomicClock(nu0=9.2e9, ramsey_time=0.4, cycle_time=1.0, atoms=10**5)
    >>> run = clock.run(seed=1)
    >>> a, b = run.next(50), run.next(50)
    >>> bool((xr.concat([a, b], "time").freq == clock.simulate(100.0, seed=1).freq).all())
    True
    """

    def __init__(self, clock: AtomicClock, *, seed: Seed = None, start: Any = None) -> None:
        _check_clock(clock)
        self._clock = clock
        self._ss = seed_sequence(seed)
        atoms_ss, lo_ss = spawn(self._ss, 2)
        self._gen = generator(atoms_ss)
        t0 = start_time(start)
        self._start = DEFAULT_START if t0 is None else t0
        self._state = np.zeros(STATE_SIZE)
        self._cycles = 0
        self._rate = 1.0 / clock.cycle_time
        lo = clock.lo
        self._stream = None
        samples = clock.lo_samples_per_cycle
        self._weights = np.zeros(0)
        if lo is not None:
            self._stream = lo.stream(self._rate * samples, lo_ss)
            if getattr(self._stream, "data_type", "freq") != "freq" or not math.isclose(
                float(self._stream.rate), self._rate * samples, rel_tol=1e-12
            ):
                raise ValueError(
                    "lo.stream(rate, seed) must return fractional-frequency noise at the "
                    f"requested rate {self._rate * samples!r} Hz, got {self._stream!r}"
                )
            self._weights = bin_weights(
                samples, clock.duty_cycle, clock.pulse_duration / clock.cycle_time
            )

    @property
    def cycles(self) -> int:
        """Cycles simulated so far."""
        return self._cycles

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run later or in another process.

        Returns
        -------
        dict
            ``format``, ``model_params`` (JSON of the clock, checked by
            :meth:`from_state`), ``cycles``, ``start`` (ISO time), ``servo`` (float64
            (5,): the four servo corrections and the output phase in s),
            ``atoms_rng`` (the PCG64 state dict of the atom counts), ``lo`` (the LO
            stream's :meth:`qsense.noise.PowerLawStream.state`, or None) and the run's
            ``seed``/``seed_spawn_key``.
        """
        return {
            **run_state(self._clock, _FORMAT, self._start, self._ss),
            "cycles": self._cycles,
            "servo": self._state.copy(),
            "atoms_rng": copy.deepcopy(self._gen.bit_generator.state),
            "lo": None if self._stream is None else self._stream.state(),
        }

    @classmethod
    def from_state(cls, clock: AtomicClock, state: Mapping[str, Any]) -> ClockRun:
        """Continue a run of ``clock`` from :meth:`state`.

        Parameters
        ----------
        clock : AtomicClock
            The clock that made the state (checked against ``state["model_params"]``).
        state : mapping
            What :meth:`state` returned.

        Returns
        -------
        ClockRun
            Its next chunk is the one the saved run would have made.
        """
        _check_clock(clock)
        ss, start = run_state_seed(clock, state, _FORMAT, "clock")
        self = cls(clock, seed=ss, start=start)
        cycles = state.get("cycles")
        if isinstance(cycles, bool) or not isinstance(cycles, int | np.integer) or cycles < 0:
            raise ValueError(f"state['cycles'] must be an integer >= 0, got {cycles!r}")
        servo = real_array("state['servo']", state.get("servo"))
        if servo.shape != (STATE_SIZE,) or not np.all(np.isfinite(servo)):
            raise ValueError(f"state['servo'] must be {STATE_SIZE} finite numbers, got {servo!r}")
        self._gen = generator_from_state("state['atoms_rng']", state.get("atoms_rng"))
        if (state.get("lo") is None) != (self._stream is None):
            raise ValueError("state['lo'] does not match the clock's lo")
        if self._stream is not None:
            self._stream = PowerLawStream.from_state(state["lo"])
        self._cycles = int(cycles)
        self._state = np.array(servo, dtype=np.float64)
        return self

    def next(self, cycles: int, *, environment: xr.Dataset | None = None) -> xr.Dataset:
        """The next ``cycles`` cycles, as :meth:`AtomicClock.simulate` returns them.

        Parameters
        ----------
        cycles : int
            Number of cycles (>= 1).
        environment : xarray.Dataset, optional
            Drivers covering these cycles (see :meth:`AtomicClock.simulate`).

        Returns
        -------
        xarray.Dataset
            The cycles' samples on their own times (``start + k T_c`` for the run's
            cycle index ``k``).
        """
        if isinstance(cycles, bool) or not isinstance(cycles, int | np.integer) or cycles < 1:
            raise ValueError(f"cycles must be an integer >= 1, got {cycles!r}")
        return self._next(int(cycles), environment, int(cycles) * self._clock.cycle_time)

    def _times(self, first: int, n: int) -> np.ndarray:
        end = float(self._start.astype(np.int64)) + (first + n - 1) * (1e9 / self._rate)
        if not end < float(np.iinfo(np.int64).max):
            raise ValueError(
                f"cycles {first} to {first + n - 1} at cycle_time={1.0 / self._rate!r} s from "
                f"{self._start} end after 2262-04-11, the end of datetime64[ns]; simulate a "
                "shorter duration (fewer cycles) or start earlier"
            )
        k = np.arange(first, first + n, dtype=np.float64)
        offsets = np.rint(k * (1e9 / self._rate)).astype(np.int64)
        return self._start + offsets.astype("timedelta64[ns]")

    def _next(self, n: int, environment: xr.Dataset | None, duration: Any) -> xr.Dataset:
        clock = self._clock
        first = self._cycles
        times = self._times(first, n)
        seconds = np.arange(first, first + n, dtype=np.float64) * clock.cycle_time
        terms: dict[str, Any] = {"drift": clock.drift * seconds}
        temp = environment_driver(environment, "temperature", times, quantity="temperature")
        terms["temperature"] = (
            np.zeros(n)
            if temp is None or clock.temperature_coefficient is None
            else clock.temperature_coefficient * (temp - clock.reference_temperature)
        )
        field = environment_driver(environment, "magnetic_field", times, quantity="magnetic_field")
        b = clock.c_field + (0.0 if field is None else field / clock.field_shielding)
        terms["zeeman"] = np.broadcast_to(clock.zeeman_coefficient * b**2 / clock.nu0, (n,)).copy()
        truth = terms["drift"] + terms["temperature"] + terms["zeeman"]

        out = np.empty((7, n))
        samples = self._weights.size
        block = max(1, _BLOCK_SAMPLES // max(samples, 1))
        slope = 2.0 * math.pi * clock.nu0 * clock.effective_ramsey_time
        lo_drift = 0.0 if clock.lo is None else float(clock.lo.drift)
        offsets = (np.arange(samples) + 0.5) / max(samples, 1)
        outside = 0
        for lo_k in range(0, n, block):
            hi_k = min(n, lo_k + block)
            if self._stream is None:
                y = np.zeros((hi_k - lo_k, 0))
            else:
                y = self._stream.next((hi_k - lo_k) * samples).reshape(hi_k - lo_k, samples)
                if lo_drift != 0.0:
                    k = np.arange(first + lo_k, first + hi_k, dtype=np.float64)
                    y += lo_drift * clock.cycle_time * (k[:, None] + offsets[None, :])
            outside += clock_cycles(
                np.ascontiguousarray(y),
                self._weights,
                np.ascontiguousarray(truth[lo_k:hi_k]),
                self._gen,
                clock.atoms,
                clock.contrast,
                clock.servo_gain,
                slope,
                clock.cycle_time,
                first + lo_k,
                self._state,
                out[:, lo_k:hi_k],
            )
        self._cycles += n
        if outside:
            warn(
                f"AtomicClock: in {outside} of {n} cycles the Ramsey phase error left "
                "(-pi/2, pi/2), where the servo steers the wrong way: the clock is losing "
                "lock (the LO's noise or drift, or the projection noise of few atoms, is too "
                "large for this ramsey_time and servo_gain)",
                RuntimeWarning,
            )
        for i, name in enumerate(_TERMS, start=1):
            terms[name] = out[i]
        terms["phase"] = (out[5], "phase")
        ds = simulation_dataset(
            clock,
            rate=self._rate,
            start=self._start,
            measured=out[0],
            truth=truth,
            terms=terms,
            seed=self._ss,
            duration=duration,
            attrs={
                "first_cycle": first,
                "effective_ramsey_time": clock.effective_ramsey_time,
                "duty_cycle": clock.duty_cycle,
            },
        )
        return ds.assign_coords(time=("time", times, ds["time"].attrs))
