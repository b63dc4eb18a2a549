"""Every public function of qsense against bad input (hypothesis).

Each public function that takes a record is called with empty, 1- to 3-sample, NaN,
all-NaN, inf, 2-D, string, numeric-string, object, bool and complex arrays, lists,
scalars, DataArrays on non-monotonic, non-uniform, duplicated or missing time
coordinates, Datasets, and bad rates. It must either return a result or raise a
ValueError/TypeError whose message names the parameter it was given. It must never:
raise anything else, let a numpy RuntimeWarning through, warn from a line that is not
the caller's, or return a result that is entirely NaN or empty without a warning.

A completeness check fails when a public function is neither called here nor listed
with the reason it takes no record.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import bad_records
import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings

from qsense import denoise, fusion, noise, signal, spectral, stability
from qsense.signal import time_grid

HERE = __file__

MODULES = (
    "qsense.signal",
    "qsense.noise",
    "qsense.quantities",
    "qsense.seeding",
    "qsense.stability",
    "qsense.spectral",
    "qsense.denoise",
    "qsense.fusion",
    "qsense.io",
    "qsense.plot",
    "qsense.report",
    "qsense.sensors",
    "qsense.environment",
    "qsense.calibration",
)


# ---------------------------------------------------------------- the call table
@dataclass(frozen=True)
class Recipe:
    """How to call one public function with a record ``data`` and a ``rate``."""

    call: Callable
    names: tuple[str, ...]  # parameter names an error about the record may mention
    n_min: int = 4


def _two(f, a_name, b_name, **kw):
    """A two-record function: the bad record first, a valid one of the same length second."""

    def call(data, rate):
        other = bad_records.like(data, 64, 99)
        return f(data, other, rate, **kw)

    return Recipe(call, (a_name, b_name))


#: The single-record statistics (taking data_type).
STATISTICS = (
    "adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "mtotdev", "ttotdev",
    "htotdev", "theo1", "theobr", "theoh", "mtie", "tierms", "noise_id",
)  # fmt: skip


def _stat(f):
    return Recipe(lambda d, r: f(d, rate=r, data_type="freq"), ("data",))


def _gravity_corrections(data, rate):
    """The record as the tilt_x channel of a valid 9.8 m s-2 record on 1-s UTC times."""
    size = np.size(data) if isinstance(data, np.ndarray | list | xr.DataArray) else 8
    size = max(int(size), 1)
    g = xr.DataArray(
        np.full(size, 9.8), dims=("time",), coords={"time": time_grid(size, 1.0)},
        attrs={"units": "m s-2"},
    )  # fmt: skip
    return importlib.import_module("qsense.environment").gravity_corrections(
        g, lat=45.0, lon=7.0, height=0.0, tilt_x=data, tilt_y=np.zeros(size), tide=None
    )


RECIPES: dict[str, Recipe] = {
    "qsense.signal.as_series": Recipe(lambda d, r: signal.as_series(d, r), ("data",)),
    "qsense.signal.phase_to_freq": Recipe(lambda d, r: signal.phase_to_freq(d, r), ("data",)),
    "qsense.signal.freq_to_phase": Recipe(lambda d, r: signal.freq_to_phase(d, r), ("data",)),
    "qsense.signal.make_series": Recipe(lambda d, r: signal.make_series(d, r), ("values",)),
    "qsense.signal.rate_from_time": Recipe(lambda d, r: signal.rate_from_time(d), ("time",)),
    "qsense.signal.common_grid": Recipe(
        lambda d, r: signal.common_grid(
            {"a": d, "b": bad_records.values(max(np.size(d), 1), 1)}, r
        ),
        ("a", "b", "records"),
    ),
    **{f"qsense.stability.{name}": _stat(getattr(stability, name)) for name in STATISTICS},
    "qsense.stability.analyse": Recipe(
        lambda d, r: stability.analyse(d, rate=r, data_type="freq", statistics="all"),
        ("data",),
    ),
    "qsense.stability.gcodev": _two(stability.gcodev, "data", "data2", data_type="freq"),
    "qsense.stability.dynamic_adev": Recipe(
        lambda d, r: stability.dynamic_adev(d, rate=r, data_type="freq"), ("data",), n_min=64
    ),
    "qsense.stability.three_cornered_hat": Recipe(
        lambda d, r: stability.three_cornered_hat(
            {
                ("a", "b"): d,
                ("b", "c"): bad_records.values(max(np.size(d), 1), 1),
                ("a", "c"): bad_records.values(max(np.size(d), 1), 2),
            },
            rate=r,
            data_type="freq",
        ),
        ("pairs", "('a', 'b')", "a", "b"),
    ),
    "qsense.spectral.psd": Recipe(lambda d, r: spectral.psd(d, r), ("data",)),
    "qsense.spectral.asd": Recipe(lambda d, r: spectral.asd(d, r), ("data",)),
    "qsense.spectral.fit_power_law": Recipe(lambda d, r: spectral.fit_power_law(d, r), ("data",)),
    "qsense.spectral.noise_floor": Recipe(
        lambda d, r: spectral.noise_floor(d, (0.05, 0.4), r), ("data",)
    ),
    "qsense.spectral.sensitivity": Recipe(
        lambda d, r: spectral.sensitivity(d, (0.05, 0.4), r), ("data",)
    ),
    "qsense.spectral.snr_band": Recipe(
        lambda d, r: spectral.snr_band(d, (0.1, 0.2), r, floor_band=(0.25, 0.45)), ("data",)
    ),
    "qsense.spectral.snr_tone": Recipe(lambda d, r: spectral.snr_tone(d, 0.1, r), ("data",)),
    "qsense.spectral.coherence": _two(spectral.coherence, "x", "y"),
    "qsense.spectral.transfer_function": _two(spectral.transfer_function, "x", "y"),
    "qsense.denoise.hampel": Recipe(lambda d, r: denoise.hampel(d, r, window_samples=5), ("data",)),
    "qsense.denoise.mad_filter": Recipe(lambda d, r: denoise.mad_filter(d, r), ("data",)),
    "qsense.denoise.remove_drift": Recipe(lambda d, r: denoise.remove_drift(d, r), ("data",)),
    "qsense.denoise.savgol_smooth": Recipe(
        lambda d, r: denoise.savgol_smooth(d, r, window_samples=5, polyorder=2), ("data",)
    ),
    "qsense.denoise.wavelet_denoise": Recipe(lambda d, r: denoise.wavelet_denoise(d, r), ("data",)),
    "qsense.denoise.lockin": Recipe(lambda d, r: denoise.lockin(d, r, f_mod=0.1), ("data",)),
    "qsense.fusion.complementary": _two(fusion.complementary, "low", "high", crossover=0.05),
    "qsense.fusion.crossover_frequency": _two(fusion.crossover_frequency, "low", "high"),
    "qsense.fusion.kalman_fuse": _two(fusion.kalman_fuse, "quantum", "classical"),
    "qsense.fusion.regress_out": _two(fusion.regress_out, "data", "aux"),
    "qsense.fusion.ensemble_time_scale": Recipe(
        lambda d, r: fusion.ensemble_time_scale(
            {"a": d, "b": bad_records.values(max(np.size(d), 1), 1)}, r, time_constant=10.0
        ),
        ("data",),
    ),
    "qsense.sensors.fit_fringes": Recipe(
        lambda d, r: importlib.import_module("qsense.sensors").fit_fringes(
            d, np.arange(np.size(d), dtype=float)
        ),
        ("population", "scan"),
    ),
    "qsense.sensors.fit_odmr": Recipe(
        lambda d, r: importlib.import_module("qsense.sensors").fit_odmr(
            np.linspace(2.86e9, 2.88e9, np.size(d) if isinstance(d, np.ndarray | list) else 64), d
        ),
        ("signal", "freqs"),
        n_min=8,
    ),
    "qsense.sensors.vector_field": Recipe(
        lambda d, r: importlib.import_module("qsense.sensors").vector_field(d), ("lines",)
    ),
    "qsense.sensors.fringe_gravity": Recipe(
        lambda d, r: importlib.import_module("qsense.sensors").fringe_gravity(d, T=0.1),
        ("phase",),
    ),
    "qsense.environment.driver_series": Recipe(
        lambda d, r: importlib.import_module("qsense.environment").driver_series(
            d, "pressure", rate=r
        ),
        ("data",),
    ),
    "qsense.environment.pressure_admittance_correction": Recipe(
        lambda d, r: importlib.import_module("qsense.environment").pressure_admittance_correction(
            d, rate=r
        ),
        ("pressure",),
    ),
    "qsense.environment.gravity_corrections": Recipe(_gravity_corrections, ("tilt_x",)),
    "qsense.calibration.fit_drift": Recipe(
        lambda d, r: importlib.import_module("qsense.calibration").fit_drift(d, r, noise="white"),
        ("data",),
    ),
    "qsense.calibration.fit_coefficients": Recipe(
        lambda d, r: importlib.import_module("qsense.calibration").fit_coefficients(
            d, {"temperature": bad_records.like(d, 64, 99)}, r, noise="white"
        ),
        ("data", "drivers"),
    ),
    "qsense.calibration.fit_scale_factor": Recipe(
        lambda d, r: importlib.import_module("qsense.calibration").fit_scale_factor(
            d, bad_records.like(d, 64, 99), r, noise="white"
        ),
        ("data", "reference"),
    ),
    "qsense.calibration.detect_tares": Recipe(
        lambda d, r: importlib.import_module("qsense.calibration").detect_tares(
            d, r, noise="white"
        ),
        ("data",),
    ),
}

#: Public names that take no record, each with where its bad input is tested instead.
NOT_A_RECORD = {
    "qsense.signal.attrs_for": "a data_type string: tests/test_signal.py",
    "qsense.signal.time_grid": "n and rate: tests/test_signal.py",
    "qsense.noise.PowerLawStream": "h, rate, seed: tests/test_noise_stream.py",
    "qsense.noise.adev_from_h": "h, tau, rate: tests/test_noise.py",
    "qsense.noise.h_from_adev": "adev, tau, rate: tests/test_noise.py",
    "qsense.noise.power_law": "n, rate, h, seed: tests/test_noise.py",
    "qsense.noise.psd_from_h": "h, frequency: tests/test_noise.py",
    "qsense.quantities.quantity_attrs": "a quantity name: test_quantities_and_seeding below",
    "qsense.seeding.generator": "a SeedSequence: test_quantities_and_seeding below",
    "qsense.seeding.seed_attrs": "a SeedSequence: test_quantities_and_seeding below",
    "qsense.seeding.seed_from_attrs": "attributes: test_quantities_and_seeding below",
    "qsense.seeding.seed_sequence": "a seed: test_quantities_and_seeding below",
    "qsense.seeding.spawn": "a SeedSequence: test_quantities_and_seeding below",
    "qsense.spectral.avar_from_psd": "a spectrum Dataset: tests/test_spectral.py",
    "qsense.spectral.default_nperseg": "a length: tests/test_spectral.py",
    "qsense.spectral.equivalent_dof": "segment starts and taps: tests/test_spectral.py",
    "qsense.spectral.h_from_adev": "qsense.noise.h_from_adev re-exported",
    "qsense.spectral.phase_noise_to_psd": "a phase-noise curve: tests/test_spectral.py",
    "qsense.spectral.psd_to_phase_noise": "a PSD curve: tests/test_spectral.py",
    "qsense.denoise.FitResult": "a result record, built by fit",
    "qsense.denoise.StateSpace": "matrices; filter/smooth take y: tests/denoise",
    "qsense.denoise.clock_model": "h coefficients: tests/denoise",
    "qsense.denoise.clock_q": "h coefficients: tests/denoise",
    "qsense.denoise.fit": "a model builder and y: tests/denoise",
    "qsense.denoise.local_level": "variances: tests/denoise",
    "qsense.denoise.local_linear_trend": "variances: tests/denoise",
    "qsense.io.Appender": "a path and Datasets: tests/io",
    "qsense.io.FileFormatError": "an exception class",
    "qsense.io.load": "a path: tests/io",
    "qsense.io.read_stable32": "a path: tests/io",
    "qsense.io.save": "a Dataset and a path: tests/io",
    "qsense.io.replacing": "a path: tests/io/test_hdf5.py",
    "qsense.io.simulate_to_file": "a model and a path: tests/io/test_lazy_io.py",
    "qsense.io.read_rinex_clock": "a path: tests/io/test_rinex.py",
    "qsense.io.read_tempo_clk": "a path: tests/io/test_tempo.py",
    "qsense.io.read_gnss_log": "a path: tests/io/test_gnsslog.py",
    "qsense.io.clean_gnss_log": "a raw log Dataset: tests/io/test_gnsslog.py (bad_records)",
    "qsense.io.to_uniform_grid": "an irregular series: tests/io/test_tempo.py (bad_records)",
    "qsense.io.read_cg5": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_cg6": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_burris": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_a10": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_ggp": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_tsf": "a path: tests/io/test_gravity_bad_input.py",
    "qsense.io.read_miniseed": "a path: tests/io/test_seismic_io.py (test_bad_input)",
    "qsense.io.read_iaga2002": "a path: tests/io/test_iaga.py (malformed files)",
    "qsense.io.read_qudi": "a path: tests/io/test_qudi.py (malformed files)",
    "qsense.plot.stability": "a stability result: tests/test_plot.py",
    "qsense.report.write_report": "a results file or StudyResults: tests/test_report.py "
    "(hypothesis: bad results and output)",
    "qsense.stability.per_statistic": "an analyse Dataset: tests/stability/test_analyse.py",
    "qsense.fusion.vibration_correction": "g and a seismometer record on datetime64 time, "
    "a gravimeter: tests/test_vibration_correction.py (bad_records on both)",
    "qsense.sensors.AtomicClock": "a model: tests/sensors/test_clock_bad_input.py",
    "qsense.sensors.ClockRun": "a run of an AtomicClock: tests/sensors/test_clock*.py",
    "qsense.sensors.Preset": "a record of a preset",
    "qsense.sensors.SensorModel": "the model base: tests/sensors",
    "qsense.sensors.budget_dataset": "model terms: tests/sensors",
    "qsense.sensors.environment_driver": "an environment Dataset: tests/sensors",
    "qsense.sensors.parameter": "a field declaration: tests/sensors",
    "qsense.sensors.samples_in": "a duration: tests/sensors",
    "qsense.sensors.simulation_dataset": "model output: tests/sensors",
    "qsense.sensors.start_time": "a date-time: tests/sensors",
    "qsense.sensors.Oscillator": "h_alpha, drift, rate; simulate/noise_budget: tests/sensors",
    "qsense.sensors.clock_process_noise": "h0, hm2, tau: tests/sensors/test_classical.py",
    "qsense.sensors.GnssReceiver": "pulse parameters; noise_budget: tests/sensors/test_gnss.py",
    "qsense.sensors.DisciplinedOscillator": "loop parameters: tests/sensors/test_gnss.py",
    "qsense.sensors.SpringGravimeter": "parameters, drivers, noise_budget: "
    "tests/sensors/test_classical_gravity.py",
    "qsense.sensors.SuperconductingGravimeter": "parameters, noise_budget: "
    "tests/sensors/test_classical_gravity.py",
    "qsense.sensors.Seismometer": "poles/zeros, drivers; to_acceleration(data, rate) with "
    "bad_records: tests/sensors/test_seismometer.py",
    "qsense.sensors.AtomGravimeter": "T, pulse_duration, contrast, psd, tau, frequency, "
    "environment: tests/sensors/test_gravimeter.py (test_bad_*)",
    "qsense.sensors.GravimeterRun": "a gravimeter and n: tests/sensors/test_gravimeter.py",
    "qsense.sensors.Fluxgate": "parameters, drivers, noise_budget: tests/sensors/test_fluxgate.py",
    "qsense.sensors.NVMagnetometer": "parameters, drivers, odmr/ramsey arrays, noise_budget: "
    "tests/sensors/test_nv_magnetometer_bad_input.py",
    "qsense.sensors.NVRun": "a run of an NVMagnetometer: tests/sensors/test_nv_magnetometer*.py",
    "qsense.environment.gravity_tide": (
        "times and a site: tests/environment/test_environment_bad_input.py"
    ),
    "qsense.environment.peterson_psd": "frequencies: tests/environment/test_seismic.py",
    "qsense.environment.seismic_acceleration": "n, rate, psd: tests/environment/test_seismic.py",
    "qsense.environment.nominal_pressure": "a height: tests/environment/test_drivers.py",
    "qsense.environment.pressure_series": "n, rate, model: tests/environment/test_drivers.py",
    "qsense.environment.temperature_series": "n, rate, model: tests/environment/test_drivers.py",
    "qsense.environment.site_environment": "n, rate, site: tests/environment/test_site.py",
    "qsense.calibration.Study": "a validated study: tests/calibration/test_study.py",
    "qsense.calibration.StudyError": "an exception class",
    "qsense.calibration.StudyResults": "a results file: tests/calibration/test_study_results.py",
    "qsense.calibration.load_study": "a path: tests/calibration/test_study.py (malformed files)",
    "qsense.calibration.parse_study": "TOML text: tests/calibration/test_study.py (hypothesis)",
    "qsense.calibration.open_results": "a path: tests/calibration/test_study_results.py",
    "qsense.calibration.run_study": "a study and options: tests/calibration/test_runner.py",
}


def _public_names() -> set[str]:
    names = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                names.add(f"{module_name}.{name}")
    return names


def test_every_public_function_is_covered():
    public = _public_names()
    uncovered = sorted(public - set(RECIPES) - set(NOT_A_RECORD))
    assert not uncovered, f"public functions without a bad-input recipe: {uncovered}"
    stale = sorted((set(RECIPES) | set(NOT_A_RECORD)) - public)
    assert not stale, f"entries for names that are no longer public: {stale}"


# ---------------------------------------------------------------- the property
def check(recipe: Recipe, kind: str, n: int, seed: int, rate) -> str:
    """Call one recipe on one bad record with the package's one checker (tests/bad_records.py);
    an error may name the record's parameter, ``rate`` or ``time``; a result must not be
    entirely NaN or empty without a warning."""
    data = bad_records.record(kind, n, seed)
    return bad_records.check(
        f"{kind} / rate={rate!r}",
        lambda: recipe.call(data, rate),
        (*recipe.names, "rate", "time"),
        HERE,
        nan_ok=True,  # a variable may be all NaN by design (MTIE's interval bounds)
    )


@pytest.mark.parametrize("name", sorted(RECIPES))
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    kind=bad_records.kinds,
    n=st.integers(4, 300),
    seed=st.integers(0, 2**16),
    rate=bad_records.rates,
)
def test_bad_input_is_refused_by_name_or_handled(name, kind, n, seed, rate):
    recipe = RECIPES[name]
    check(recipe, kind, max(n, recipe.n_min), seed, rate)


def test_the_checker_catches_what_it_must():
    def silent_nan(data, rate):
        return np.full(8, np.nan)

    def unnamed(data, rate):
        raise ValueError("something is wrong")

    def other_error(data, rate):
        return [][1]

    def library_warning(data, rate):
        return np.log(np.zeros(2))

    for fn, error in (
        (silent_nan, "all-NaN"),
        (unnamed, "does not name"),
        (library_warning, "RuntimeWarning"),
    ):
        with pytest.raises(AssertionError, match=error):
            check(Recipe(fn, ("data",)), "valid", 8, 0, 1.0)
    with pytest.raises(IndexError):
        check(Recipe(other_error, ("data",)), "valid", 8, 0, 1.0)


def test_quantities_and_seeding():
    from qsense.quantities import quantity_attrs
    from qsense.seeding import seed_from_attrs, seed_sequence

    for bad in ("", "Gravity", None, 3):
        with pytest.raises(ValueError, match="quantity"):
            quantity_attrs(bad)
    with pytest.raises(TypeError, match="long_name"):
        quantity_attrs("gravity", long_name=3)
    for bad, error in ((-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed"):
            seed_sequence(bad)
    for bad in ({}, {"seed": "x"}, {"seed": 1.5}, {"seed": np.zeros((2, 2), int)}, None):
        with pytest.raises(ValueError, match="seed"):
            seed_from_attrs(bad)
    big = np.random.SeedSequence(2**70).spawn(3)[2]
    from qsense.seeding import seed_attrs

    again = seed_from_attrs(seed_attrs(big))
    assert again.entropy == big.entropy and again.spawn_key == big.spawn_key
    assert noise.power_law(8, rate=1.0, h={0: 1.0}, seed=big).attrs["seed"] == str(2**70)
