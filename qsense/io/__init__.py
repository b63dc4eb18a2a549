"""File input and output: HDF5 (NetCDF4) round trips and readers of instrument formats.

Only this subpackage touches files. Each module adds its public names below.
"""

from __future__ import annotations

from qsense.io.append import Appender
from qsense.io.gnsslog import clean_gnss_log, read_gnss_log
from qsense.io.hdf5 import FileFormatError, load, save
from qsense.io.rinex import read_rinex_clock
from qsense.io.stable32 import read_stable32
from qsense.io.tempo import read_tempo_clk, to_uniform_grid

__all__ = [
    "Appender",
    "FileFormatError",
    "clean_gnss_log",
    "load",
    "read_gnss_log",
    "read_rinex_clock",
    "read_stable32",
    "read_tempo_clk",
    "save",
    "to_uniform_grid",
]
