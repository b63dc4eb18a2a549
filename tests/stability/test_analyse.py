"""``qsense.stability.analyse``: many statistics of one record in one call.

- Every statistic's slice is identical (values to 0 ulp, ``n``, ``edf``, ``alpha``,
  coordinates and attributes) to its own function's result, for phase and frequency
  data, every named tau set and explicit taus, with gaps, imposed ``alpha``, both bias
  tables, no bias correction, another ``ci``; also read straight from the (statistic,
  tau) grid without :func:`per_statistic`, and after an HDF5 round trip.
- The work is shared: one MDEV/TDEV kernel pass, one lag-1 ACF per (factor, dmax),
  one Theo1 sum per factor.
- A dask-backed record gives the same Dataset (through the per-statistic functions).
- Bad ``statistics`` and bad records are refused by name (hypothesis).
- ``qsense stability FILE --stat all`` end to end: tables, HDF5 and CSV.
"""

from __future__ import annotations

import csv
import warnings

import bad_records
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsense
import qsense.stability as S
from qsense.stability._registry import SINGLE

AN = __import__("qsense.stability.analyse", fromlist=["analyse"])
WORK = __import__("qsense.stability._analyse_work", fromlist=["Shared"])


def _record(n: int, data_type: str, seed: int, gaps: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if data_type == "phase":
        x = np.cumsum(rng.normal(size=n)) * 1e-9 + 1e-10 * rng.normal(size=n)
    else:
        x = rng.normal(size=n) * 1e-12 + np.cumsum(rng.normal(size=n)) * 1e-14
    if gaps:
        x[rng.choice(n, size=max(n // 100, 3), replace=False)] = np.nan
    return x


def _singles(x, rate, data_type, taus, names=SINGLE, **kw):
    return {s: getattr(S, s)(x, rate, data_type, taus, **kw) for s in names}


def _check_identical(ds: xr.Dataset, refs: dict[str, xr.Dataset]) -> None:
    split = S.per_statistic(ds)
    assert list(split) == list(refs)
    for name, ref in refs.items():
        xr.testing.assert_identical(split[name], ref)
        # read from the grid directly: the statistic's rows, in tau order, at its taus
        sub = ds.sel(statistic=name)
        rows = np.flatnonzero(sub.m.values > 0)
        order = np.argsort(ref.tau.values, kind="stable")
        if name == "theoh":  # its Theo rows follow its Allan rows
            order = np.lexsort((ref.m.values, ref.part.values))
            rows = rows[np.lexsort((sub.m.values[rows], sub.part.values[rows]))]
        for var in ("dev", "dev_lo", "dev_hi", "n", "edf", "alpha", "m"):
            np.testing.assert_array_equal(sub[var].values[rows], ref[var].values[order])
            assert sub[var].dtype == ref[var].dtype
        np.testing.assert_array_equal(ds.tau.values[rows], ref.tau.values[order])
        empty = np.setdiff1d(np.arange(ds.sizes["tau"]), rows)
        assert np.all(sub.n.values[empty] == 0) and np.all(np.isnan(sub.dev.values[empty]))


CASES = [
    ("phase", "octave", False, 1200),
    ("phase", "decade", True, 1200),
    ("phase", "all", True, 700),
    ("phase", [1.0, 2.0, 7.5, 30.0, 96.0], True, 900),
    ("freq", "octave", True, 1100),
    ("freq", "decade", False, 1100),
    ("freq", "all", False, 600),
    ("freq", [0.5, 1.5, 3.0, 15.0, 150.0], True, 800),
]


@pytest.mark.parametrize(("data_type", "taus", "gaps", "n"), CASES)
def test_every_statistic_equals_its_own_function(data_type, taus, gaps, n):
    x = _record(n, data_type, 11, gaps)
    rate = 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # explicit taus rounded / dropped
        ds = S.analyse(x, rate, data_type, "all", taus)
        refs = _singles(x, rate, data_type, taus)
    assert list(ds.statistic.values) == list(SINGLE)
    _check_identical(ds, refs)


def test_theoh_with_two_rows_at_one_tau():
    """ThêoH 'all' on 1253 points has an Allan row and a Theo row at tau = 210 s."""
    x = _record(1253, "phase", 3, False)
    names = ["oadev", "theoh", "theo1"]
    ds = S.analyse(x, 1.0, "phase", names, "all")
    assert np.count_nonzero(ds.tau.values == 210.0) == 2
    _check_identical(ds, _singles(x, 1.0, "phase", "all", names))


@pytest.mark.parametrize(
    "kw",
    [
        {"alpha": 0},
        {"alpha": -1, "bias": "sp1065"},
        {"bias_correction": False},
        {"ci": 0.95},
        {"bias": "sp1065"},
    ],
)
def test_options_reach_every_statistic(kw):
    x = _record(900, "freq", 5, True)
    ds = S.analyse(x, 1.0, "freq", "all", "octave", **kw)
    _check_identical(ds, _singles(x, 1.0, "freq", "octave", **kw))
    assert ds.attrs["alpha_given"] == int("alpha" in kw)


def test_alpha_per_tau_needs_one_per_tau_of_every_statistic():
    x = _record(1000, "phase", 6, False)
    names = ["oadev", "mdev"]  # both have 8 octave taus on 1000 points
    per = [0, 0, 1, -1, 2, -2, 0, 1]
    ds = S.analyse(x, 1.0, "phase", names, alpha=per)
    _check_identical(ds, _singles(x, 1.0, "phase", "octave", names, alpha=per))
    with pytest.raises(ValueError, match="alpha"):
        S.analyse(x, 1.0, "phase", ["oadev", "totdev"], alpha=per)  # totdev has 9


def test_default_statistics_and_top_level_export():
    x = _record(3000, "phase", 7, False)
    ds = qsense.analyse(x, 1.0)
    assert tuple(ds.statistic.values) == AN.DEFAULT_STATISTICS
    assert qsense.per_statistic is S.per_statistic
    _check_identical(ds, _singles(x, 1.0, "phase", "octave", AN.DEFAULT_STATISTICS))
    assert ds.m.dtype == np.int64 and ds.n.dtype == np.int64 and ds.alpha.dtype == np.int64
    assert list(ds.dev_units.values) == ["1", "1", "1", "s", "1", "1", "1"]
    assert "part" not in ds


def test_datarray_input_and_hdf5_round_trip(tmp_path):
    io = pytest.importorskip("qsense.io")
    from qsense.signal import make_series

    x = _record(800, "freq", 8, True)
    da = make_series(x, 4.0)
    names = ["adev", "mtie", "theoh", "htotdev"]
    ds = S.analyse(da, None, "freq", names, "decade")
    refs = _singles(da, None, "freq", "decade", names)
    _check_identical(ds, refs)
    io.save(ds, tmp_path / "a.h5")
    back = io.load(tmp_path / "a.h5")
    for name, single in S.per_statistic(back).items():
        xr.testing.assert_identical(single, refs[name])


# ------------------------------------------------------------------------ sharing


def test_work_is_shared(monkeypatch):
    calls = {"mdev_sums": 0, "acf": [], "theo1": []}
    mdev_sums, acf, theo1 = WORK._mdev_sums, WORK.acf_alphas, WORK.theo1_raw

    def count_mdev(*a):
        calls["mdev_sums"] += 1
        return mdev_sums(*a)

    def count_acf(x, ms, freq, dmax):
        calls["acf"] += [(int(m), dmax) for m in ms]
        return acf(x, ms, freq, dmax)

    def count_theo1(x, ms, rate, span):
        calls["theo1"] += ms.tolist()
        return theo1(x, ms, rate, span)

    monkeypatch.setattr(WORK, "_mdev_sums", count_mdev)
    monkeypatch.setattr(WORK, "acf_alphas", count_acf)
    monkeypatch.setattr(WORK, "theo1_raw", count_theo1)
    steep = np.cumsum(np.cumsum(np.cumsum(np.random.default_rng(1).normal(size=1500))))
    for data_type, x in (("phase", _record(1500, "phase", 9, False)), ("freq", steep)):
        calls.update(mdev_sums=0, acf=[], theo1=[])
        ds = S.analyse(x, 1.0, data_type, "all", "octave")
        assert calls["mdev_sums"] == 1  # MDEV and TDEV from one pass
        assert len(calls["acf"]) == len(set(calls["acf"]))  # one ACF per (m, dmax) at most
        depth3 = [m for m, d in calls["acf"] if d == 3]
        assert len(depth3) == len(set(depth3)) and depth3  # one pass serves both depths
        redone = [m for m, d in calls["acf"] if d == 2]  # where the pass took 3 differences
        assert bool(redone) == (data_type == "freq") and set(redone) <= set(depth3)
        assert len(calls["theo1"]) == len(set(calls["theo1"]))  # Theo1, TheoBR, ThêoH, ratio
        monkeypatch.undo()
        _check_identical(ds, _singles(x, 1.0, data_type, "octave"))
        monkeypatch.setattr(WORK, "_mdev_sums", count_mdev)
        monkeypatch.setattr(WORK, "acf_alphas", count_acf)
        monkeypatch.setattr(WORK, "theo1_raw", count_theo1)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(5, 3000),
    data_type=st.sampled_from(["phase", "freq"]),
    taus=st.sampled_from(["octave", "decade", "all"]),
    gaps=st.lists(st.floats(0.0, 1.0), max_size=6),
    seed=st.integers(0, 2**16),
)
def test_shared_passes_equal_single_calls_for_any_record(n, data_type, taus, gaps, seed):
    """The shortcuts (OADEV + TOTDEV in one pass, MDEV/TDEV sums, ACF of both depths,
    B1/R(n) per factor) on random lengths, gaps anywhere (ends included)."""
    x = _record(n, data_type, seed, False)
    x[(np.asarray(gaps) * (n - 1)).astype(int)] = np.nan
    if np.isnan(x).all():
        x[n // 2] = 1e-9
    names = ["oadev", "totdev", "mdev", "tdev", "hdev", "ohdev", "mtie"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # record too short for a tau set
        ds = S.analyse(x, 1.0, data_type, names, taus)
        refs = _singles(x, 1.0, data_type, taus, names)
    _check_identical(ds, refs)


def test_dask_record_goes_through_each_function():
    da_mod = pytest.importorskip("dask.array")
    from qsense.signal import make_series

    x = _record(1000, "phase", 10, False)
    eager = make_series(x, 1.0)
    lazy = eager.copy(data=da_mod.from_array(x, chunks=300))
    names = ["oadev", "mdev", "tdev", "totdev", "theoh"]
    got = S.analyse(lazy, None, "phase", names, "decade")
    split = S.per_statistic(got)
    for name in names:  # exactly what each function gives on the dask record
        xr.testing.assert_identical(split[name], getattr(S, name)(lazy, None, "phase", "decade"))
    want = S.analyse(eager, None, "phase", names, "decade")
    for var in ("m", "n", "alpha", "edf"):
        np.testing.assert_array_equal(got[var].values, want[var].values)
    for var in ("dev", "dev_lo", "dev_hi"):
        np.testing.assert_allclose(got[var].values, want[var].values, rtol=1e-12)


def test_all_leaves_theobr_out_of_a_short_record():
    x = _record(60, "phase", 12, False)
    with pytest.warns(UserWarning, match="too short for theobr"):
        ds = S.analyse(x, 1.0, "phase", "all")
    assert "theobr" not in ds.statistic.values and "theoh" in ds.statistic.values
    with pytest.raises(ValueError, match="data must have at least 90 phase points"):
        S.analyse(x, 1.0, "phase", ["oadev", "theobr"])


def test_record_too_short_for_a_statistic_warns_like_it():
    x = _record(6, "phase", 13, False)  # ADEV's stop ratio 5 leaves no tau, OADEV's m = 1
    with pytest.warns(UserWarning, match="too short for adev") as caught:
        ds = S.analyse(x, 1.0, "phase", ["oadev", "adev"])
    assert len(caught) == 1 and caught[0].filename == __file__
    split = S.per_statistic(ds)
    assert split["adev"].sizes["tau"] == 0 and split["oadev"].sizes["tau"] == 1
    with pytest.warns(UserWarning, match="too short for adev"):
        xr.testing.assert_identical(split["adev"], S.adev(x, 1.0))


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("statistics", "error", "text"),
    [
        ("nosuch", ValueError, "statistic must be one of"),
        (["oadev", "gcodev"], ValueError, "statistics"),
        (["oadev", "oadev"], ValueError, "statistics must not repeat"),
        ([], ValueError, "statistics"),
        ((), ValueError, "statistics"),
        ("", ValueError, "statistics"),
        ("OADEV", ValueError, "statistics"),
        (["oadev", 3], TypeError, "statistics"),
        (3, TypeError, "statistics"),
        (None, TypeError, "statistics"),
        (b"oadev", TypeError, "statistics"),
        ([None], TypeError, "statistics"),
    ],
)
def test_bad_statistics_are_refused_by_name(statistics, error, text):
    x = _record(200, "phase", 1, False)
    with pytest.raises(error, match=text):
        S.analyse(x, 1.0, statistics=statistics)


@pytest.mark.parametrize("bad", [None, 3, xr.Dataset(), xr.DataArray([1.0])])
def test_per_statistic_refuses_what_analyse_did_not_make(bad):
    with pytest.raises(TypeError, match="analysis"):
        S.per_statistic(bad)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    kind=bad_records.kinds,
    n=st.integers(4, 200),
    seed=st.integers(0, 2**16),
    rate=bad_records.rates,
    ci=bad_records.cis,
    data_type=st.sampled_from(["phase", "freq", "Phase", None]),
    statistics=st.sampled_from(["all", ["oadev", "theoh"], "mtie", ["hdev", "nosuch"], 0]),
    taus=st.sampled_from(["octave", "decade", "all", [1.0, 3.0], [-1.0], "weekly", [[1.0]]]),
)
def test_bad_records_and_arguments_are_refused_by_name_or_handled(
    kind, n, seed, rate, ci, data_type, statistics, taus
):
    data = bad_records.record(kind, n, seed)
    bad_records.check(
        f"analyse {kind} / rate={rate!r} ci={ci!r} {data_type!r} {statistics!r} {taus!r}",
        lambda: S.per_statistic(
            S.analyse(data, rate, data_type, statistics, taus, ci)  # type: ignore[arg-type]
        ),
        ("data", "rate", "time", "ci", "data_type", "statistics", "taus"),
        __file__,
        nan_ok=True,
    )


# ------------------------------------------------------------------------ command line


def test_cli_stat_all_end_to_end(tmp_path, capsys):
    from qsense import cli

    x = _record(400, "phase", 14, True)
    src = tmp_path / "clock.txt"
    src.write_text("\n".join("nan" if np.isnan(v) else repr(float(v)) for v in x) + "\n")
    h5, table = tmp_path / "out.h5", tmp_path / "out.csv"
    argv = ["stability", str(src), "--stat", "all", "--no-plot", "-o", str(h5), "--csv", str(table)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    refs = _singles(x, 1.0, "phase", "octave")
    blocks = out.split("\n\n")[1:]
    assert [b.splitlines()[0].split()[0] for b in blocks[: len(SINGLE)]] == list(SINGLE)
    for block, ref in zip(blocks, refs.values(), strict=False):
        rows = [r for r in map(str.split, block.splitlines()[2:]) if r and r[0].isdigit()]
        assert [int(r[0]) for r in rows] == np.rint(ref.tau.values).astype(int).tolist()
        np.testing.assert_allclose([float(r[5]) for r in rows], ref.dev.values, rtol=1e-6)
    saved = qsense.io.load(h5)
    for name, single in S.per_statistic(saved).items():
        xr.testing.assert_equal(single, refs[name])
    with open(table, newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == sum(r.sizes["tau"] for r in refs.values())
    got = [(r["statistic"], float(r["tau_s"]), float(r["dev"])) for r in lines]
    want = [
        (s, t, d) for s, r in refs.items() for t, d in zip(r.tau.values, r.dev.values, strict=True)
    ]
    for (s1, t1, d1), (s2, t2, d2) in zip(got, want, strict=True):
        assert s1 == s2 and t1 == t2 and (d1 == d2 or (np.isnan(d1) and np.isnan(d2)))


def test_cli_list_of_statistics_with_plot(tmp_path, capsys, monkeypatch):
    from qsense import cli

    monkeypatch.chdir(tmp_path)
    x = _record(300, "freq", 15, False)
    src = tmp_path / "y.txt"
    src.write_text("\n".join(repr(float(v)) for v in x) + "\n")
    argv = ["stability", str(src), "--type", "freq", "--stat", "oadev,theo1", "--stat", "mtie"]
    assert cli.main(argv) == 0
    assert (tmp_path / "y_oadev_theo1_mtie.png").is_file()
    assert "theo1  (confidence" in capsys.readouterr().out
