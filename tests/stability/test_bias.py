"""Bias corrections against Stable32 tables (raw deviations from allantools, test oracle)."""

from __future__ import annotations

import csv
import functools
import math
import warnings
from pathlib import Path

import allantools
import numpy as np
import pandas as pd
import pytest

from qsense.stability._bias import bias_factor

DATA = {
    "phasedat": ("allantools/tests/phasedat/PHASE.DAT", "phase", 1.0),
    "ocxo": ("allantoolkit/tests/assets/ocxo/ocxo_frequency0.txt", "freq", 1.0),
    "pink": ("allantools/tests/pink_frequency/pink_frequency.txt", "freq", 1 / 42),
    "sr87": ("allantoolkit/tests/assets/Sr87/phase0/phase0_data.txt", "phase", 0.4),
    "nbs1000": ("reference_values/nbs1000_frequency.txt", "freq", 1.0),
    "nbs9": ("reference_values/nbs9_frequency.txt", "freq", 1.0),
}
RAW = {
    "totdev": allantools.totdev,
    "htotdev": allantools.htotdev,
    "mtotdev": allantools.mtotdev,
    "ttotdev": allantools.ttotdev,
    "theo1": allantools.theo1,
}


def read_table(path: Path) -> np.ndarray:
    """Numeric 7-column rows of a Stable32 result file (commented rows skipped)."""
    rows = []
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) != 7 or line.lstrip().startswith("#"):
            continue
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            continue
    return np.array(rows)


@functools.cache
def _load(root: Path, key: str) -> tuple[np.ndarray, float]:
    rel, data_type, rate = DATA[key]
    frame = pd.read_csv(root / rel, sep=r"\s+", comment="#", header=None)
    values = frame.iloc[:, -1].to_numpy(dtype=float)
    if data_type == "freq":
        return np.concatenate(([0.0], np.cumsum(values - values.mean()) / rate)), rate
    return values, rate


@pytest.fixture
def stab(reference_dir) -> Path:
    return reference_dir / "stability"


def raw_dev(statistic: str, x: np.ndarray, rate: float, m: int) -> float:
    """Uncorrected deviation from allantools (taus in s; Theo1 takes m tau0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(RAW[statistic](x, rate=rate, data_type="phase", taus=[m / rate])[1][0])


CASES = [
    # (table, data set, statistic): every row, corrected = raw / sqrt(bias_factor)
    ("allantoolkit/tests/assets/ocxo/totdev_octave_0.txt", "ocxo", "totdev"),
    ("allantoolkit/tests/assets/pink_frequency/totdev_octave.txt", "pink", "totdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/octave/totdev.txt", "sr87", "totdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/decade/totdev.txt", "sr87", "totdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/many/totdev.txt", "sr87", "totdev"),
    ("allantoolkit/tests/assets/phasedat/totdev_octave.txt", "phasedat", "totdev"),
    ("allantoolkit/tests/assets/phasedat/htotdev_octave.txt", "phasedat", "htotdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/octave/htotdev.txt", "sr87", "htotdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/decade/htotdev.txt", "sr87", "htotdev"),
    ("allantoolkit/tests/assets/phasedat/mtotdev_octave.txt", "phasedat", "mtotdev"),
    ("allantoolkit/tests/assets/phasedat/ttotdev_octave.txt", "phasedat", "ttotdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/octave/mtotdev.txt", "sr87", "mtotdev"),
    ("allantoolkit/tests/assets/Sr87/phase0/octave/theo1.txt", "sr87", "theo1"),
]


@pytest.mark.parametrize(("table", "key", "statistic"), CASES)
def test_bias_corrected_dev_matches_stable32(stab, table, key, statistic):
    x, rate = _load(stab, key)
    rows = read_table(stab / table)
    assert rows.size > 0
    corrected_rows = 0
    for af, _tau, _num, alpha, _lo, sigma, _hi in rows:
        m = int(af)
        b = bias_factor(statistic, int(alpha), m, x.size, rate)
        corrected_rows += b != 1.0
        expected = raw_dev(statistic, x, rate, m) / math.sqrt(b)
        assert sigma == pytest.approx(expected, rel=2e-4), (table, m, int(alpha), b)
    if statistic in ("htotdev", "theo1") or "ocxo" in table or "many" in table:
        assert corrected_rows > 0  # the table does exercise a correction


def test_theo1_fpm_bias_from_stable32_pair(stab):
    # Stable32 Theo1 of PHASE.DAT with alpha 1 (corrected) and alpha 0 (raw), 181 rows.
    root = stab / "allantools/tests/phasedat"
    fpm = read_table(root / "phase_dat_theo1.txt")
    raw = read_table(root / "phase_dat_theo1_alpha0.txt")
    assert np.array_equal(fpm[:, 0], raw[:, 0]) and fpm.shape[0] == 181
    for (af, *_r, sigma, _hi), row0 in zip(fpm, raw, strict=True):
        b = bias_factor("theo1", 1, int(af), 1001, 1.0)
        assert sigma == pytest.approx(row0[5] / math.sqrt(b), rel=2e-4)


def test_htotdev_nobias_run_is_raw(stab):
    # Stable32 HTOT with alpha forced to 2 (white PM): no correction.
    x, rate = _load(stab, "phasedat")
    for af, *_r, alpha, _lo, sigma, _hi in read_table(
        stab / "allantools/tests/phasedat/phase_dat_htotdev_octave_nobias.txt"
    ):
        assert bias_factor("htotdev", int(alpha), int(af), x.size, rate) == 1.0
        assert sigma == pytest.approx(raw_dev("htotdev", x, rate, int(af)), rel=2e-4)


def test_published_nbs_htotdev_values(stab):
    # NIST SP 1065 Tables 30/31 HTOT values are bias-corrected for white FM (0.995).
    with open(stab / "reference_values/nbs_reference_values.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))]
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    checked = 0
    for r in body:
        if r[col["statistic"]] != "htotdev" or r[col["variant"]] != "bias_corrected":
            continue
        key, m = r[col["dataset"]], int(r[col["af"]])
        x, rate = _load(stab, key)
        expected = raw_dev("htotdev", x, rate, m) / math.sqrt(
            bias_factor("htotdev", 0, m, x.size, rate)
        )
        assert float(r[col["value"]]) == pytest.approx(expected, rel=2e-6)
        checked += 1
    assert checked == 3


def test_closed_form_factors():
    # TOTVAR/AVAR = 1 - a tau/T, a = 1/(3 ln 2) (FFM), 3/4 (RWFM), T = N tau0
    assert bias_factor("totdev", -1, 100, 1001, 1.0) == pytest.approx(
        1 - 100 / (3 * math.log(2) * 1001)
    )
    assert bias_factor("totdev", -2, 100, 1001, 1.0) == pytest.approx(1 - 0.75 * 100 / 1001)
    assert bias_factor("totdev", 0, 100, 1001, 1.0) == 1.0
    assert [bias_factor("htotdev", a, 10, 1001, 1.0) for a in (2, 1, 0, -1, -2)] == [
        1.0,
        1.0,
        0.995,
        0.851,
        0.771,
    ]
    assert bias_factor("htotdev", -2, 1, 1001, 1.0) == 1.0  # m = 1 is OHDEV
    for stat in ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "mtotdev", "ttotdev"):
        assert bias_factor(stat, -1, 10, 1001, 1.0) == 1.0
    for stat in ("theobr", "theoh"):  # already bias-removed
        assert bias_factor(stat, -1, 10, 1001, 1.0) == 1.0
    # Theo1 WPM / RWFM from the Howe (2006) fits Avar/Theo1 = c0 + c1 m^p
    assert bias_factor("theo1", 2, 10, 1001, 1.0) == pytest.approx(1 / (0.09 + 0.74 / 10**0.4))
    assert bias_factor("theo1", -2, 10, 1001, 1.0) == pytest.approx(1 / (2.70 - 1.53 / 10**0.85))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="statistic"):
        bias_factor("foo", 0, 1, 100, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        bias_factor("theo1", 3, 10, 100, 1.0)
    with pytest.raises(ValueError, match="m must"):
        bias_factor("totdev", -1, 0, 100, 1.0)
