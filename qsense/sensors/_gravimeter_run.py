"""The time loop of :class:`qsense.sensors.gravimeter.AtomGravimeter`: a run shot by shot.

:class:`GravimeterRun` holds a run's state (the lock, the fringe fit and the noise
generators), calls the numba kernel block by block and builds each chunk's Dataset;
``AtomGravimeter.simulate`` is one chunk of a fresh run. Public as
``qsense.sensors.gravimeter.GravimeterRun``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from qsense._validate import real_array, warn
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
from qsense.sensors._gravimeter_kernels import STATE_SIZE, gravimeter_shots, shot_vibration
from qsense.signal import DEFAULT_START

if TYPE_CHECKING:
    from qsense.sensors.gravimeter import AtomGravimeter

__all__ = ["GravimeterRun"]

#: Earth's rotation rate (rad/s), IERS Conventions (2010).
EARTH_RATE = 7.292115e-5
#: Shots simulated per kernel call inside a run.
_BLOCK = 1 << 18
#: Version tag of :meth:`GravimeterRun.state`.
_FORMAT = "qsense.sensors.gravimeter.GravimeterRun/1"
_TERMS = ("projection", "detection", "laser_phase", "k_bias", "lock_error")


def _check_model(gravimeter: Any) -> None:
    if not (
        isinstance(gravimeter, SensorModel)
        and any(c.__name__ == "AtomGravimeter" for c in type(gravimeter).__mro__)
    ):
        raise TypeError(f"gravimeter must be an AtomGravimeter, got {type(gravimeter).__name__}")


class GravimeterRun:
    """A run of an :class:`AtomGravimeter` continued chunk by chunk.

    The lock's state and every noise generator are carried from one :meth:`next` to the
    next, so the chunks joined along ``time`` equal one :meth:`AtomGravimeter.simulate`
    call with the same seed, shot for shot.

    Parameters
    ----------
    gravimeter : AtomGravimeter
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the run. Spawned into five children in this order: atom counts,
        detection, laser phase, white vibration, fringe scan.
    start : datetime-like, optional
        UTC time of the first shot.
    """

    def __init__(self, gravimeter: AtomGravimeter, *, seed: Seed = None, start: Any = None):
        _check_model(gravimeter)
        self._model = gravimeter
        self._ss = seed_sequence(seed)
        gens = [generator(s) for s in spawn(self._ss, 5)]
        self._atoms, self._det, self._laser, self._vib, scan = gens
        t0 = start_time(start)
        self._start = DEFAULT_START if t0 is None else t0
        self._shots = 0
        self._state = np.zeros(STATE_SIZE)
        self._per_shot = gravimeter._per_shot()
        self._scan(scan)

    def _scan(self, gen: np.random.Generator) -> None:
        """Fit P0 and C from a fringe scan (phase stepped over 2 pi) with the run's noise."""
        m = self._model
        k = m.scan_shots
        phase = 2.0 * math.pi * np.arange(k) / k
        s = m.scale_factor
        eps = gen.standard_normal(k) * math.hypot(
            self._per_shot["laser_phase"] * s, self._per_shot["vibration"] * s
        )
        p = m.fringe_offset - 0.5 * m.contrast * np.cos(phase + eps)
        frac = gen.binomial(m.atoms, np.clip(p, 0.0, 1.0)) / m.atoms
        frac = frac + m.detection_noise * gen.standard_normal(k)
        design = np.column_stack([np.ones(k), np.cos(phase), np.sin(phase)])
        a, b, c = np.linalg.lstsq(design, frac, rcond=None)[0]
        self._state[2] = a
        self._state[3] = max(2.0 * math.hypot(b, c), 1e-6)
        self._fit = (float(a), float(self._state[3]))

    @property
    def shots(self) -> int:
        """Shots simulated so far."""
        return self._shots

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run later or in another process.

        Returns
        -------
        dict
            ``format``, ``model_params`` (JSON of the gravimeter, checked by
            :meth:`from_state`), ``shots``, ``start`` (ISO time), ``lock`` (float64 (4,):
            the two k directions' chirp in m s-2, ``P0_hat``, ``C_hat``), ``fringe_fit``,
            ``rng`` (the PCG64 states of the atom counts, detection, laser phase and
            white vibration) and the run's ``seed``/``seed_spawn_key``.
        """
        return {
            **run_state(self._model, _FORMAT, self._start, self._ss),
            "shots": self._shots,
            "lock": self._state.copy(),
            "fringe_fit": self._fit,
            "rng": [
                copy.deepcopy(g.bit_generator.state)
                for g in (self._atoms, self._det, self._laser, self._vib)
            ],
        }

    @classmethod
    def from_state(cls, gravimeter: AtomGravimeter, state: Mapping[str, Any]) -> GravimeterRun:
        """Continue a run of ``gravimeter`` from :meth:`state`.

        Parameters
        ----------
        gravimeter : AtomGravimeter
            The gravimeter that made the state (checked against ``state["model_params"]``).
        state : mapping
            What :meth:`state` returned.

        Returns
        -------
        GravimeterRun
            Its next chunk is the one the saved run would have made.
        """
        _check_model(gravimeter)
        ss, start = run_state_seed(gravimeter, state, _FORMAT, "gravimeter")
        saved = state.get("rng")
        if not isinstance(saved, list | tuple) or len(saved) != 4:
            raise ValueError("state['rng'] must be the four saved generator states")
        shots = state.get("shots")
        if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 0:
            raise ValueError(f"state['shots'] must be an integer >= 0, got {shots!r}")
        lock = real_array("state['lock']", state.get("lock"))
        if lock.shape != (STATE_SIZE,) or not np.all(np.isfinite(lock)):
            raise ValueError(f"state['lock'] must be {STATE_SIZE} finite numbers, got {lock!r}")
        fit = real_array("state['fringe_fit']", state.get("fringe_fit"))
        if fit.shape != (2,) or not np.all(np.isfinite(fit)):
            raise ValueError(f"state['fringe_fit'] must be (P0, C), got {fit!r}")
        run = cls.__new__(cls)
        run._model = gravimeter
        run._ss = seed_sequence(ss)
        run._atoms, run._det, run._laser, run._vib = (
            generator_from_state(f"state['rng'][{i}]", g) for i, g in enumerate(saved)
        )
        run._start = start
        run._shots = int(shots)
        run._state = np.array(lock, dtype=np.float64)
        run._per_shot = gravimeter._per_shot()
        run._fit = (float(fit[0]), float(fit[1]))
        return run

    @property
    def fringe_fit(self) -> tuple[float, float]:
        """``(P0, C)`` fitted by the run's opening fringe scan."""
        return self._fit

    def next(self, n: int, environment: xr.Dataset | None = None) -> xr.Dataset:
        """The next ``n`` shots (>= 1) as a Dataset (see :meth:`AtomGravimeter.simulate`)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a whole number of shots >= 1, got {n!r}")
        return self._next(int(n), environment, int(n) * self._model.cycle_time)

    def _next(self, n: int, environment: Any, duration: Any) -> xr.Dataset:
        m = self._model
        t_c = m.cycle_time
        idx = self._shots + np.arange(n)
        offset_ns = np.rint(idx * (t_c * 1e9)).astype(np.int64)
        time = self._start + offset_ns.astype("timedelta64[ns]")
        tide = environment_driver(environment, "gravity", time, quantity="gravity")
        truth = np.full(n, m.g0) if tide is None else m.g0 + tide
        gradient = np.full(n, -m.gradient * (m.effective_height - m.quote_height))
        coriolis = np.full(
            n, -2.0 * EARTH_RATE * m.east_velocity * math.cos(math.radians(m.latitude))
        )
        vibration = self._vibration(environment, time, idx * t_c)
        per = self._per_shot
        if per["vibration"] > 0:
            vibration = vibration + per["vibration"] * self._vib.standard_normal(n)
        phi = per["laser_phase"] * m.scale_factor * self._laser.standard_normal(n)
        det = m.detection_noise * self._det.standard_normal(n)
        g_eff = truth + gradient + coriolis + vibration
        if self._shots == 0:  # the scan found the fringe: the lock starts on it
            self._state[0] = self._state[1] = g_eff[0]
        out = np.empty((7, n))
        outside = 0
        for lo in range(0, n, _BLOCK):
            hi = min(n, lo + _BLOCK)
            outside += gravimeter_shots(
                g_eff[lo:hi],
                phi[lo:hi],
                det[lo:hi],
                self._atoms,
                m.atoms,
                m.fringe_offset,
                m.contrast,
                m.scale_factor,
                m.k_independent_phase,
                m.lock_gain,
                self._shots + lo,
                self._state,
                out[:, lo:hi],
            )
        if outside:
            warn(
                f"AtomGravimeter: in {outside} of {n} shots the phase error left (-pi/2, pi/2) "
                "(vibration, laser phase noise or projection noise of few atoms): the "
                "mid-fringe lock may have slipped a fringe",
                RuntimeWarning,
            )
        first_time = self._start if self._shots == 0 else time[0]
        self._shots += n
        terms = {
            "gradient": gradient,
            "coriolis": coriolis,
            "vibration": vibration,
            **{name: out[i + 1] for i, name in enumerate(_TERMS)},
            "correction": out[6],
        }
        ds = simulation_dataset(
            m,
            rate=1.0 / t_c,
            start=first_time,
            measured=out[0],
            truth=truth,
            terms=terms,
            seed=self._ss,
            duration=duration,
            attrs={
                "first_shot": int(idx[0]),
                "fringe_fit_offset": self._fit[0],
                "fringe_fit_contrast": self._fit[1],
                "quote_height_m": m.quote_height,
                "effective_height_m": m.effective_height,
                "scale_factor_rad_per_m_s-2": m.scale_factor,
            },
        )
        return ds.assign_coords(time=("time", time, ds["time"].attrs))

    def _vibration(self, environment: Any, time: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Ground acceleration of the ``acceleration`` driver seen by each shot (m s-2)."""
        n = time.size
        if environment is None or "acceleration" not in getattr(environment, "data_vars", {}):
            environment_driver(environment, "acceleration", time, quantity="acceleration")
            return np.zeros(n)
        m = self._model
        half_ns = math.ceil((m.T + 2.0 * m.pulse_duration) * 1e9) + 1
        span = np.array([time[0], time[-1]]) + np.array([-half_ns, half_ns]).astype(
            "timedelta64[ns]"
        )
        environment_driver(environment, "acceleration", span, quantity="acceleration")
        da = environment["acceleration"]
        t_env = (
            (da["time"].values.astype("datetime64[ns]") - self._start).astype(np.int64) * 1e-9
        ).astype(np.float64)
        a_env = np.ascontiguousarray(da.values, dtype=np.float64)
        out = np.empty(n)
        shot_vibration(
            np.ascontiguousarray(t_env), a_env, centers.astype(np.float64), m.T,
            m.pulse_duration, out,
        )  # fmt: skip
        return out / m.T**2
