"""qsense: signal processing for quantum sensors.

Models, denoising and fusion, Allan-family stability and spectra, and calibration
drift studies for cold-atom gravimeters, NV magnetometers and atomic clocks, side by
side with the classical instruments they would replace.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qsense")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
