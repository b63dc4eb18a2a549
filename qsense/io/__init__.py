"""File input and output: HDF5 (NetCDF4) round trips and readers of instrument formats.

Only this subpackage touches files. Each module adds its public names below.
"""

from __future__ import annotations

from qsense.io._simulate import simulate_to_file
from qsense.io.append import Appender
from qsense.io.gnsslog import clean_gnss_log, read_gnss_log
from qsense.io.gravimeters import read_a10, read_burris
from qsense.io.hdf5 import FileFormatError, load, replacing, save
from qsense.io.iaga import read_iaga2002
from qsense.io.igets import read_ggp, read_tsf
from qsense.io.qudi import read_qudi
from qsense.io.rinex import read_rinex_clock
from qsense.io.scintrex import read_cg5, read_cg6
from qsense.io.seismic import read_miniseed
from qsense.io.stable32 import read_stable32
from qsense.io.tempo import read_tempo_clk, to_uniform_grid

__all__ = [
    "Appender",
    "FileFormatError",
    "clean_gnss_log",
    "load",
    "read_a10",
    "read_burris",
    "read_cg5",
    "read_cg6",
    "read_ggp",
    "read_gnss_log",
    "read_iaga2002",
    "read_miniseed",
    "read_qudi",
    "read_rinex_clock",
    "read_stable32",
    "read_tempo_clk",
    "read_tsf",
    "replacing",
    "save",
    "simulate_to_file",
    "to_uniform_grid",
]
