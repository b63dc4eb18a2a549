"""The site's environment: Earth tides, seismic noise and pressure/temperature drivers.

It knows nothing of sensors (DESIGN.md): a sensor model takes these series as drivers.
"""

from qsense.environment.corrections import gravity_corrections
from qsense.environment.drivers import (
    driver_series,
    nominal_pressure,
    pressure_admittance_correction,
    pressure_series,
    temperature_series,
)
from qsense.environment.seismic import peterson_psd, seismic_acceleration
from qsense.environment.site import site_environment
from qsense.environment.tides import gravity_tide

__all__ = [
    "driver_series",
    "gravity_corrections",
    "gravity_tide",
    "nominal_pressure",
    "peterson_psd",
    "pressure_admittance_correction",
    "pressure_series",
    "seismic_acceleration",
    "site_environment",
    "temperature_series",
]
