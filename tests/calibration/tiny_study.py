"""A tiny study shared by the study and runner tests (seconds each)."""

from __future__ import annotations

#: A small, complete study: a slow-cycling atom gravimeter vs a CG-6 over 5 days of tides.
TINY = """
name = "tiny"
title = "tiny test study"
seed = 11
cases = {cases}
duration = "5 d"
start = "2024-03-04T00:00:00"

[site]
name = "Wettzell"
lat = 49.144
lon = 12.878
height = 614.0

[environment]
interval = "10 min"
tide = "longman"

[sensors.quantum]
model = "AtomGravimeter"
preset = "aqg"
label = "atom gravimeter"
[sensors.quantum.params]
cycle_time = 60.0

[sensors.classical]
model = "SpringGravimeter"
preset = "cg6"
time_offset = "30 s"

[processing]
outliers = 5.0
decimate = "1 h"
correct = ["tide"]
drift_model = "linear"
drift_noise = "white"

[analysis]
taus = "octave"
asd_segment = "1 d"

[[criteria]]
id = "snr_m2"
kind = "snr"
frequency = "M2"
above = "10"
half_width = 1
floor_width = 3

[[criteria]]
id = "resolution"
kind = "resolution"
tau = "1 h"
below = "10 nm s-2"

[[criteria]]
id = "floor"
kind = "resolution"
band = ["0.02 mHz", "0.1 mHz"]
below = "100 nm s-2 Hz-1/2"

[[criteria]]
id = "drift"
kind = "drift"
below = "5 nm s-2 per day"

[[criteria]]
id = "stability"
kind = "stability"
tau = "4 h"
below = "2 uGal"

[cost]
currency = "EUR"
years = 5
[cost.quantum]
capital = 400000
operating = 20000
downtime = "2 d"
[cost.classical]
capital = 100000
operating = 5000
downtime = "10 d"
"""


def tiny_text(cases: int = 4) -> str:
    """The tiny study's TOML with ``cases`` Monte Carlo cases."""
    return TINY.format(cases=cases)
