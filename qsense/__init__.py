"""qsense: signal processing for quantum sensors.

Models, denoising and fusion, Allan-family stability and spectra, and calibration
drift studies for cold-atom gravimeters, NV magnetometers and atomic clocks, side by
side with the classical instruments they would replace.

Subpackages (``qsense.stability``, ``qsense.spectral``, ...) and the stability
statistics (``qsense.oadev``, ...) are imported on first use, so ``import qsense`` and
the command line start quickly.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from qsense.stability._registry import PUBLIC

try:
    __version__ = version("qsense")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

_SUBMODULES = (
    "denoise",
    "environment",
    "fusion",
    "io",
    "noise",
    "plot",
    "quantities",
    "seeding",
    "sensors",
    "signal",
    "spectral",
    "stability",
)
# The stability functions exposed here: every statistic of the registry plus the cornered
# hat and the dynamic deviation (the registry module is light: no numpy, no numba).
_STATISTICS = tuple(name for name in sorted(PUBLIC) if name != "noise_id")

__all__ = ["__version__", *_SUBMODULES, *_STATISTICS]


def __getattr__(name: str) -> Any:
    """Import a subpackage or a stability statistic on first access."""
    if name in _SUBMODULES:
        return importlib.import_module(f"qsense.{name}")
    if name in _STATISTICS:
        return getattr(importlib.import_module("qsense.stability"), name)
    raise AttributeError(f"module 'qsense' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
