"""Every row of every Stable32 table for ADEV, OADEV, MDEV, TDEV, HDEV, OHDEV, TOTDEV,
TIE rms and MTIE, and the NIST SP 1065 / NBS published values.

Tables: datasets/reference/stability (see its PROVENANCE.md). For each table:

* the named tau set (``"octave"``, ``"decade"``, ``"all"`` = Stable32 "many tau")
  reproduces the table's averaging factors exactly;
* at the table's taus, ``n`` equals ``#`` exactly, ``tau`` equals ``Tau`` to its
  printed digits, and ``dev`` equals ``Sigma`` within 1e-4 (Stable32 prints 5
  digits), the bias correction (TOTDEV) taken with the table's own ``Alpha``;
* where the table has an interval: the identified ``alpha`` equals ``Alpha`` and
  ``dev_lo``/``dev_hi`` equal ``Min``/``Max Sigma`` within 1e-3 (these two depend on
  noise identification and EDF, see ``ALPHA_XFAIL``/``CI_XFAIL``).

Rows that cannot match are listed below with the reason; nothing is skipped silently.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

import qsense.stability as S
from qsense.stability import _bias, _edf

REF = Path(__file__).resolve().parents[2] / "datasets" / "reference" / "stability"
AT = REF / "allantools" / "tests"
AK = REF / "allantoolkit" / "tests" / "assets"
STATS = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "tierms", "mtie")


@functools.cache
def dataset(name: str) -> tuple[np.ndarray, float, str]:
    """(data, rate in Hz, data_type) of a reference data set."""
    files = {
        "phasedat": (AT / "phasedat/PHASE.DAT", 1.0, "phase"),
        "cs5071a": (AT / "Cs5071A/5071A_phase.txt.gz", 1.0, "phase"),
        "gps": (AT / "gps/gps_1pps_phase_data.txt.gz", 1.0, "phase"),
        "ocxo0": (AK / "ocxo/ocxo_frequency0.txt", 1.0, "freq"),
        "pink42": (AT / "pink_frequency/pink_frequency.txt", 1 / 42, "freq"),
        "pink1": (AT / "pink_frequency/pink_frequency.txt", 1.0, "freq"),
        "tic": (AT / "Keysight53230A_ti_noise_floor/tic_phase.txt", 1.0, "phase"),
        "sr_phase0": (AK / "Sr87/phase0/phase0_data.txt", 0.4, "phase"),
        "sr_phase": (AK / "Sr87/phase/phase_data.txt", 0.4, "phase"),
    }
    if name == "ocxo":  # counter readings in Hz of a 10 MHz oscillator
        return np.loadtxt(AT / "ocxo/ocxo_frequency.txt") / 1e7 - 1.0, 1.0, "freq"
    if name == "sr_freq":  # columns: time tag, fractional frequency
        return np.loadtxt(AK / "Sr87/freq/freq_data.txt")[:, 1], 0.4, "freq"
    path, rate, kind = files[name]
    return np.loadtxt(path), rate, kind


def parse_table(path: Path) -> np.ndarray:
    """Numeric rows of a Stable32 result file (header lines and #-comments dropped)."""
    rows = []
    for line in path.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            continue
        if len(vals) >= 4:
            rows.append(vals)
    return np.array(rows)


def _tables() -> list[tuple[str, str, str, Path]]:
    """(dataset, statistic, tau set, file) of every table of our statistics."""
    t = []
    pd = AT / "phasedat"
    for st in STATS[:-1]:
        t.append(("phasedat", st, "all", pd / f"phase_dat_{st}.txt"))
    for st in STATS[:7]:
        t.append(("phasedat", st, "octave", pd / f"phase_dat_{st}_octave.txt"))
    for st in STATS:
        t.append(("phasedat", st, "octave", AK / f"phasedat/{st}_octave.txt"))
    t.append(("phasedat", "mtie", "all", pd / "phase_dat_mtie.txt"))
    for st in STATS[:-1]:
        t.append(("cs5071a", st, "decade", AT / f"Cs5071A/{st}_decade.txt"))
        t.append(("cs5071a", st, "all", AT / f"Cs5071A/{st}_all.txt"))
    t.append(("cs5071a", "mtie", "all", AT / "Cs5071A/mtie_all.txt"))
    t.append(("cs5071a", "mtie", "all", AT / "Cs5071A/mtie_fast.txt"))
    t.append(("cs5071a", "mtie", "decade", AT / "Cs5071A/mtie_decade.txt"))
    t.append(("gps", "adev", "decade", AT / "gps/stable32_ADEV_decade.txt"))
    for st in ("hdev", "mdev", "oadev", "ohdev", "tdev", "totdev"):
        t.append(("gps", st, "octave", AT / f"gps/stable32_{st.upper()}_octave.txt"))
    for st in STATS[:7]:
        t.append(("ocxo", st, "octave", AT / f"ocxo/{st}_octave.txt"))
        t.append(("ocxo", st, "all", AT / f"ocxo/stable32_{st}_alltau.txt"))
        t.append(("ocxo0", st, "octave", AK / f"ocxo/{st}_octave_0.txt"))
        t.append(("pink42", st, "octave", AK / f"pink_frequency/{st}_octave.txt"))
    for st in STATS[:6]:
        t.append(("pink42", st, "all", AT / f"pink_frequency/{st}.txt"))
    t.append(("pink42", "totdev", "all", AT / "pink_frequency/totdev_alpha0.txt"))
    t.append(("pink1", "oadev", "octave", AT / "pink_frequency/s32_oadev_octave.txt"))
    t.append(("tic", "adev", "all", AT / "Keysight53230A_ti_noise_floor/tic_adev.txt"))
    for st in ("hdev", "mdev", "oadev", "ohdev", "tdev", "totdev", "tierms"):
        t.append(("tic", st, "octave", AT / f"Keysight53230A_ti_noise_floor/tic_{st}.txt"))
    for d in ("phase0", "phase", "freq"):
        for mode, taus in (("octave", "octave"), ("decade", "decade"), ("many", "all")):
            for st in STATS:
                f = AK / f"Sr87/{d}/{mode}/{st}.txt"
                if f.exists():
                    t.append((f"sr_{d}", st, taus, f))
        if (AK / f"Sr87/{d}/fastu/mtie.txt").exists():
            t.append((f"sr_{d}", "mtie", "all", AK / f"Sr87/{d}/fastu/mtie.txt"))
    return t


TABLES = _tables()


def _id(t):
    return str(t[3].relative_to(REF))


#: Files whose content is another statistic than their name says (PROVENANCE.md).
MISLABELLED = {"allantoolkit/tests/assets/Sr87/phase/octave/mdev.txt": "oadev"}

#: Tables whose tau set we do not reproduce, with the reason.
SET_XFAIL = {
    **{
        f"allantools/tests/pink_frequency/{st}.txt": (
            "older Stable32 many-tau spacing D=42 at G=2500 where the other 15 tables "
            "imply D=53 (OCXO G=4995 uses 53)"
        )
        for st in ("oadev", "mdev", "tdev", "ohdev")
    },
    "allantools/tests/pink_frequency/totdev_alpha0.txt": (
        "run stopped at AF ~ N/4 with D=42 spacing, not Stable32's TOTDEV limit N/2"
    ),
}

#: Tables whose Sigma we reproduce only to a looser tolerance, with the reason.
DEV_TOL = {
    **{
        f"allantools/tests/ocxo/{st}_octave.txt": 2e-3
        for st in ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev")
    },
}
DEV_TOL_REASON = (
    "Stable32 ran on ocxo_frequency.001, a differently rounded conversion of the Hz "
    "readings (header Max=Min=1.000000e+00); the same data as .003 (alltau tables) match "
    "to 1e-5. allantools needs 2e-4..2e-3 on these files too."
)


def _expected_n(stat: str, mode: str, n_phase: int, af: np.ndarray, table_n: np.ndarray):
    """Stable32's '#' except for non-fast MTIE, which prints N instead of the count of
    windows; we count windows (N - AF), equal to Stable32's fast-mode '#'."""
    if stat == "mtie" and np.all(table_n == n_phase):
        return n_phase - af
    return table_n


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_named_tau_set_matches_table(table):
    name, stat, taus, path = table
    key = _id(table)
    if key in SET_XFAIL:
        pytest.xfail(SET_XFAIL[key])
    data, rate, kind = dataset(name)
    ref = parse_table(path)
    stat = MISLABELLED.get(key, stat)
    ds = getattr(S, stat)(data, rate, kind, taus)
    np.testing.assert_array_equal(ds.m.values, ref[:, 0].astype(np.int64))


def _at_table_taus(table):
    name, stat, _, path = table
    key = _id(table)
    data, rate, kind = dataset(name)
    ref = parse_table(path)
    stat = MISLABELLED.get(key, stat)
    ds = getattr(S, stat)(data, rate, kind, ref[:, 0] / rate, bias_correction=False)
    return ds, ref, stat, data.size + (kind == "freq"), rate, data.size


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_table_rows_n_tau_dev(table):
    ds, ref, stat, n_phase, rate, n_in = _at_table_taus(table)
    af = ref[:, 0].astype(np.int64)
    np.testing.assert_array_equal(ds.m.values, af)
    np.testing.assert_allclose(ds.tau.values, ref[:, 1], rtol=5e-5)
    expected_n = _expected_n(stat, table[2], n_phase, af, ref[:, 2].astype(np.int64))
    np.testing.assert_array_equal(ds.n.values, expected_n)
    sigma = ref[:, 3] if ref.shape[1] == 4 else ref[:, 5]
    dev = ds.dev.values
    if stat == "totdev":  # Stable32's bias correction with the table's own alpha
        alpha = ref[:, 3].astype(int)
        b = [
            _bias.bias_factor(stat, int(a), int(m), n_in, rate)
            for a, m in zip(alpha, af, strict=True)
        ]
        dev = dev / np.sqrt(b)
    tol = DEV_TOL.get(_id(table), 1e-4)
    np.testing.assert_allclose(dev, sigma, rtol=tol, err_msg=DEV_TOL_REASON if tol > 1e-4 else "")


CI_TABLES = [t for t in TABLES if parse_table(t[3]).shape[1] >= 7 and parse_table(t[3])[0, 4] > 0]


@pytest.mark.parametrize("table", CI_TABLES, ids=_id)
def test_table_interval_given_table_alpha(table):
    """EDF and chi-square bounds (helper B's _edf) from the table's alpha and our dev."""
    _, ref, stat, n_phase, _, _ = _at_table_taus(table)
    alpha = ref[:, 3].astype(int)
    edf = np.array(
        [_edf.edf(stat, int(a), int(m), n_phase) for a, m in zip(alpha, ref[:, 0], strict=True)]
    )
    lo, hi = _edf.ci_bounds(ref[:, 5], edf, 0.683)
    np.testing.assert_allclose(lo, ref[:, 4], rtol=1e-3)
    np.testing.assert_allclose(hi, ref[:, 6], rtol=1e-3)


#: Rows (AF) where alpha or the interval still differ from the table. Noise
#: identification reproduces every other B1 row, including the last factors of each
#: table, where Stable32 keeps the previous tau's alpha (``noise_id.identify_alphas``).
ALPHA_XFAIL: dict[str, tuple[list[int], str]] = {
    "allantools/tests/Cs5071A/totdev_decade.txt": (
        [1, 2, 4, 10, 20, 40, 100],
        "Alpha 0 at every AF: forced by the user, not identified; the all-tau TOTDEV run "
        "on the same data reports 2 / 1 / 0 at these factors (test_noise_id.FORCED_ALPHA)",
    ),
    "allantools/tests/phasedat/phase_dat_totdev_octave.txt": (
        [128, 256],
        "Alpha 0 at every AF, where the allantoolkit run of the same PHASE.DAT TOTDEV "
        "(identical Sigma) reports 1 at AF 128 and 256, as we do: alpha apparently forced",
    ),
    "allantools/tests/ocxo/ohdev_octave.txt": (
        [4096],
        "alpha matches; Max Sigma is 2.3e-3 off, beyond DEV_TOL (the table was run on a "
        "differently rounded conversion of the OCXO readings, see DEV_TOL_REASON)",
    ),
}


@pytest.mark.parametrize("table", CI_TABLES, ids=_id)
def test_table_alpha_and_interval_end_to_end(table):
    """Full pipeline: noise identification (helper B's noise_id), bias, EDF, CI."""
    name, stat, _, path = table
    key = _id(table)
    data, rate, kind = dataset(name)
    ref = parse_table(path)
    stat = MISLABELLED.get(key, stat)
    ds = getattr(S, stat)(data, rate, kind, ref[:, 0] / rate)
    af = ref[:, 0].astype(int)
    tol = DEV_TOL.get(key, 1e-4)
    good = (
        (ds.alpha.values == ref[:, 3].astype(int))
        & np.isclose(ds.dev.values, ref[:, 5], rtol=tol, atol=0)
        & np.isclose(ds.dev_lo.values, ref[:, 4], rtol=max(tol, 1e-3), atol=0)
        & np.isclose(ds.dev_hi.values, ref[:, 6], rtol=max(tol, 1e-3), atol=0)
    )
    rows, reason = ALPHA_XFAIL.get(key, ([], ""))
    listed = np.isin(af, rows)
    assert not np.any(good & listed), (
        f"rows listed in ALPHA_XFAIL now match at AF {af[good & listed].tolist()}: unlist them"
    )
    unexpected = af[~good & ~listed]
    assert unexpected.size == 0, (
        f"alpha/dev/CI differ at AF {unexpected.tolist()}: ours alpha "
        f"{ds.alpha.values[~good & ~listed].tolist()}, Stable32 "
        f"{ref[~good & ~listed, 3].astype(int).tolist()}"
    )
    if np.any(~good & listed):
        pytest.xfail(f"AF {af[~good & listed].tolist()}: {reason}")


# ------------------------------------------------------------- NIST SP 1065 / NBS


def _nbs_rows():
    rows = []
    path = REF / "reference_values" / "nbs_reference_values.csv"
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("dataset,"):
            continue
        ds_name, stat, af, value, variant, *_ = line.split(",")
        if stat in STATS and variant == "published":
            rows.append((ds_name, stat, int(af), value))
    return rows


@pytest.mark.parametrize("row", _nbs_rows(), ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_nbs_published_values_to_printed_digits(row):
    """SP 1065 Tables 30/31 and Riley's Tables II/III, to the printed digits: within
    half a unit of the last digit, or one unit for the two Riley rows printed rounded
    the other way (HDEV 70.80608 for 70.806073; 3.910860e-02 for 3.9108605e-02)."""
    ds_name, stat, af, value = row
    y = np.loadtxt(REF / "reference_values" / f"{ds_name}_frequency.txt")
    ds = getattr(S, stat)(y, 1.0, "freq", [float(af)], bias_correction=False)
    mantissa, _, exponent = value.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    unit = 10.0 ** (int(exponent or 0) - decimals)
    slack = 1.0 if (ds_name, stat, af) in {("nbs9", "hdev", 1), ("nbs1000", "hdev", 100)} else 0.5
    assert abs(float(ds.dev[0]) - float(value)) <= slack * unit * (1 + 1e-9)
