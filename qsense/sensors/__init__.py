"""Sensor models: quantum sensors and the classical instruments beside them.

Every model has the same face (DESIGN.md, "Sensor models"), given by
:class:`SensorModel`: SI keyword parameters validated once, ``Model.preset(name)`` and
``Model.presets()`` for cited real instruments, ``model.params()`` that rebuilds the
model, ``model.simulate(duration, *, seed=None, start=None, environment=None)``
returning the measured variable, ``truth`` and one variable per noise term with the
parameters and the seed in ``attrs``, and ``model.noise_budget(tau, frequency)`` with
the closed form of each term. :func:`parameter`, :func:`simulation_dataset` and
:func:`budget_dataset` are what a model is written with.
"""

from __future__ import annotations

from qsense.sensors import nv
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import (
    budget_dataset,
    environment_driver,
    samples_in,
    simulation_dataset,
    start_time,
)
from qsense.sensors.classical import (
    Oscillator,
    Seismometer,
    SpringGravimeter,
    SuperconductingGravimeter,
    clock_process_noise,
)
from qsense.sensors.clock import AtomicClock, ClockRun
from qsense.sensors.fluxgate import Fluxgate
from qsense.sensors.fringes import K_EFF_RB87_D2, fit_fringes, fringe_gravity
from qsense.sensors.gnss import DisciplinedOscillator, GnssReceiver
from qsense.sensors.gravimeter import AtomGravimeter, GravimeterRun
from qsense.sensors.nv import NVMagnetometer, NVRun, fit_odmr, vector_field

__all__ = [
    "K_EFF_RB87_D2",
    "AtomGravimeter",
    "AtomicClock",
    "ClockRun",
    "DisciplinedOscillator",
    "Fluxgate",
    "GnssReceiver",
    "GravimeterRun",
    "NVMagnetometer",
    "NVRun",
    "Oscillator",
    "Preset",
    "Seismometer",
    "SensorModel",
    "SpringGravimeter",
    "SuperconductingGravimeter",
    "budget_dataset",
    "clock_process_noise",
    "environment_driver",
    "fit_fringes",
    "fit_odmr",
    "fringe_gravity",
    "nv",
    "parameter",
    "samples_in",
    "simulation_dataset",
    "start_time",
    "vector_field",
]
