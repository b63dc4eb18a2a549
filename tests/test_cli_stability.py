"""``qsense stability FILE``: the printed table against Stable32, plot and HDF5 output."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path

import numpy as np
import pytest

import qsense.cli as cli

PHASEDAT = Path(__file__).resolve().parents[1] / "datasets/reference/stability/allantools/tests"
PHASEDAT = PHASEDAT / "phasedat"


@pytest.fixture(autouse=True)
def _registered(monkeypatch, tmp_path):
    if "qsense._cli_stability" not in cli._SUBCOMMANDS:
        monkeypatch.setattr(cli, "_SUBCOMMANDS", (*cli._SUBCOMMANDS, "qsense._cli_stability"))
    monkeypatch.chdir(tmp_path)


def _rows(text: str) -> dict[int, list[float]]:
    """Numeric rows of every printed table: {AF: [AF, tau, n, alpha, lo, dev, hi]}."""
    rows: dict[int, list[float]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[0].isdigit():
            rows[int(parts[0])] = [float(p) for p in parts]
    return rows


def _stable32(name: str) -> np.ndarray:
    return np.loadtxt(PHASEDAT / name, comments="#")


def test_oadev_table_matches_stable32_and_plot_is_written(capsys):
    assert cli.main(["stability", str(PHASEDAT / "PHASE.DAT")]) == 0
    out = capsys.readouterr().out
    assert "1001 phase points, tau0 = 1 s" in out
    rows = _rows(out)
    ref = _stable32("phase_dat_oadev_octave.txt")
    assert sorted(rows) == [int(af) for af in ref[:, 0]]
    matched_alpha = 0
    for af, tau, n, alpha, lo, dev, hi in ref:
        got = rows[int(af)]
        assert got[1] == tau and got[2] == n
        assert got[5] == pytest.approx(dev, rel=1e-4)  # Stable32 prints 5 digits
        if got[3] == alpha:  # same noise type -> same EDF -> same interval
            matched_alpha += 1
            assert got[4] == pytest.approx(lo, rel=2e-3)
            assert got[6] == pytest.approx(hi, rel=2e-3)
    assert matched_alpha >= 6
    png = Path("PHASE_oadev.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_several_statistics_no_plot_and_hdf5(capsys, tmp_path):
    io = pytest.importorskip("qsense.io")
    out_h5 = tmp_path / "res.h5"
    argv = ["stability", str(PHASEDAT / "PHASE.DAT"), "--stat", "mdev,tdev", "--no-plot"]
    assert cli.main([*argv, "-o", str(out_h5)]) == 0
    text = capsys.readouterr().out
    assert not list(tmp_path.glob("*.png"))
    blocks = text.split("\n\n")[1:]
    for stat, block in zip(("mdev", "tdev"), blocks, strict=False):
        ref = _stable32(f"phase_dat_{stat}_octave.txt")
        rows = _rows(block)
        np.testing.assert_allclose([rows[int(af)][5] for af in ref[:, 0]], ref[:, 5], rtol=1e-4)
    saved = io.load(out_h5)
    assert list(saved["statistic"].values) == ["mdev", "tdev"]
    np.testing.assert_allclose(
        saved["dev"].sel(statistic="mdev").dropna("tau").values,
        _stable32("phase_dat_mdev_octave.txt")[:, 5],
        rtol=1e-4,
    )


def test_frequency_file_decade_and_explicit_plot(capsys, tmp_path):
    nbs = PHASEDAT.parents[2] / "reference_values" / "nbs1000_frequency.txt"
    png = tmp_path / "sub.png"
    argv = ["stability", str(nbs), "--type", "freq", "--taus", "decade", "--plot", str(png)]
    assert cli.main(argv) == 0
    rows = _rows(capsys.readouterr().out)
    # NIST SP 1065 Table 31 (1000-point set): OADEV at AF 1, 10, 100
    assert rows[1][5] == pytest.approx(2.922319e-01, rel=1e-6)
    assert rows[10][5] == pytest.approx(9.159953e-02, rel=1e-6)
    assert rows[100][5] == pytest.approx(3.241343e-02, rel=1e-6)
    assert png.is_file()


def test_bad_inputs_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1.0\nx1\n")
    assert cli.main(["stability", str(bad), "--no-plot"]) == 2
    assert "bad.txt:2" in capsys.readouterr().err
    assert cli.main(["stability", str(PHASEDAT / "PHASE.DAT"), "--stat", "nosuch"]) == 2
    assert "statistic must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["stability", "x", "--plot", "a.png", "--no-plot"])


def test_hdf5_record_is_streamed_and_equals_the_text_file(capsys, tmp_path):
    """An HDF5 record (qsense.io.save) opened lazily: the same numbers as the PHASE.DAT
    text file it holds, every streamed statistic with --stat all; bad --var refused."""
    import xarray as xr

    from qsense.io import load, read_stable32, save
    from qsense.stability import analyse

    text = read_stable32(PHASEDAT / "PHASE.DAT", "phase", None, default_rate=1.0)
    record = xr.DataArray(text.values, dims="time", name="phase", attrs={"sample_rate": 1.0})
    save(record, tmp_path / "rec.h5")
    out_h5 = tmp_path / "res.h5"
    argv = ["stability", str(tmp_path / "rec.h5"), "--stat", "all", "--no-plot"]
    assert cli.main([*argv, "-o", str(out_h5)]) == 0
    assert "streamed" in capsys.readouterr().out
    got = load(out_h5)
    names = ["adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "mtie"]
    assert list(got.statistic.values) == names
    want = analyse(text.values, 1.0, "phase", names, "octave")
    np.testing.assert_array_equal(got.n.values, want.n.values)
    np.testing.assert_array_equal(got.alpha.values, want.alpha.values)
    np.testing.assert_allclose(got.dev.values, want.dev.values, rtol=1e-12)
    assert cli.main([*argv, "--var", "other"]) == 2
    assert "--var 'other'" in capsys.readouterr().err
    save(xr.Dataset({"a": record, "b": record}), tmp_path / "two.h5")
    assert cli.main(["stability", str(tmp_path / "two.h5"), "--no-plot"]) == 2
    assert "choose one with --var" in capsys.readouterr().err


def test_simulated_clock_file_variable_and_rate_from_its_time_coordinate(capsys, tmp_path):
    """A run streamed to disk by qsense.io.simulate_to_file (a Dataset of several
    variables, times but no sample_rate): --var picks the frequency, the rate comes
    from the time coordinate, the numbers are those of the in-memory record."""
    from qsense.io import load, simulate_to_file
    from qsense.sensors.clock import AtomicClock
    from qsense.stability import analyse

    path = tmp_path / "clock.h5"
    simulate_to_file(AtomicClock.preset("rb-pop"), 200.0, path, chunk_seconds=50.0, seed=3)
    out_h5 = tmp_path / "res.h5"
    argv = ["stability", str(path), "--var", "freq", "--type", "freq", "--stat", "oadev,mdev"]
    assert cli.main([*argv, "--no-plot", "-o", str(out_h5)]) == 0
    assert "tau0 = 0.004 s" in capsys.readouterr().out
    got = load(out_h5)
    freq = load(path)["freq"]
    want = analyse(freq.values, 250.0, "freq", ["oadev", "mdev"], "octave")
    np.testing.assert_array_equal(got.n.values, want.n.values)
    np.testing.assert_allclose(got.dev.values, want.dev.values, rtol=1e-12)


def test_plain_h5py_dataset_is_streamed_as_time_ordered_samples(capsys, tmp_path):
    """A 1-D dataset written by plain h5py (no dimension scales: a logger's file), its
    rate from a ``sample_rate`` attribute or --rate: the numbers of the in-memory
    record; a --rate that disagrees with the attribute is refused, naming it."""
    import h5py

    from qsense.io import load
    from qsense.stability import analyse

    x = np.cumsum(np.random.default_rng(4).standard_normal(5000)) * 1e-9
    path = tmp_path / "logger.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("phase", data=x, chunks=(512,)).attrs["sample_rate"] = 10.0
        f.create_dataset("bare", data=x, chunks=(700,))
    out_h5 = tmp_path / "res.h5"
    argv = ["stability", str(path), "--stat", "oadev,totdev", "--no-plot"]
    assert cli.main([*argv, "--var", "phase", "-o", str(out_h5)]) == 0
    assert "tau0 = 0.1 s" in capsys.readouterr().out
    want = analyse(x, 10.0, "phase", ["oadev", "totdev"], "octave")
    for var, extra in (("phase", []), ("bare", ["--rate", "10"])):
        assert cli.main([*argv, "--var", var, *extra, "-o", str(out_h5)]) == 0
        got = load(out_h5)
        np.testing.assert_array_equal(got.n.values, want.n.values)
        np.testing.assert_allclose(got.dev.values, want.dev.values, rtol=1e-12)
    capsys.readouterr()
    assert cli.main([*argv, "--var", "phase", "--rate", "2"]) == 2
    assert "'sample_rate' attribute" in capsys.readouterr().err
    assert cli.main([*argv, "--var", "bare"]) == 2
    assert "rate must be given" in capsys.readouterr().err
