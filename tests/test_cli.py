"""Tests of the package entry points: ``import qsense`` and the ``qsense`` command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import qsense
from qsense.cli import main
from qsense.io import load
from qsense.noise import adev_from_h


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"qsense {qsense.__version__}"
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "stability" in out


def test_console_script_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "qsense.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("qsense ")


def test_top_level_exposes_subpackages_and_statistics():
    assert qsense.oadev is qsense.stability.oadev
    assert callable(qsense.spectral.psd) and callable(qsense.io.save)
    with pytest.raises(AttributeError, match="no attribute"):
        _ = qsense.not_a_thing


def test_demo_end_to_end(tmp_path, capsys):
    """The demo's file holds the simulation and an OADEV table that agrees with theory."""
    out, png = tmp_path / "demo.h5", tmp_path / "demo.png"
    assert main(["demo", "--n", "65536", "--seed", "3", "-o", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "theory inside" in text and png.stat().st_size > 10_000
    ds = load(out)
    assert ds["y"].sizes["time"] == 65536 and ds["y"].attrs["units"] == "1"
    from qsense._cli_demo import CLOCKS
    from qsense.sensors.classical import Oscillator

    cesium = Oscillator.preset(CLOCKS["cesium"])
    assert "5071A" in Oscillator.presets()[CLOCKS["cesium"]]
    assert ds["y"].attrs["model"] == "qsense.sensors.classical.Oscillator"
    theory = adev_from_h(cesium.h, ds.tau.values, 1.0, model="sampled")
    np.testing.assert_allclose(ds["oadev_theory"].values, theory, rtol=1e-12)
    # Statistical agreement: theory inside the 68 % interval at most taus (a binomial
    # 0.683 * 14 ~ 10 expected) and nowhere more than 25 % off.
    inside = (ds["oadev_dev_lo"] <= theory) & (theory <= ds["oadev_dev_hi"])
    assert int(inside.sum()) >= ds.sizes["tau"] // 2
    np.testing.assert_allclose(ds["oadev_dev"].values, theory, rtol=0.25)


def test_top_level_statistics_are_the_stability_ones():
    assert set(qsense._STATISTICS) == set(qsense.stability.__all__) - {"noise_id"}
