"""The site's environment: Earth tides, seismic noise and pressure/temperature drivers.

It knows nothing of sensors (DESIGN.md): a sensor model takes these series as drivers.
"""

from qsense.environment.seismic import peterson_psd, seismic_acceleration
from qsense.environment.tides import gravity_tide

__all__ = ["gravity_tide", "peterson_psd", "seismic_acceleration"]
