"""Dask-backed records with gaps (NaN) streamed through the stability statistics
(qsense.stability._stream_gaps, _kernels_stream_gaps).

The streamed result of a record with gaps must equal the in-memory result of the same
record for any chunking and any gap pattern (a single NaN, runs, NaN at the first or
last sample, NaN on chunk edges, a gap longer than a chunk): dev, dev_lo, dev_hi and edf
to 1e-12 relative, identical n, alpha and taus; the long-tau reads and the streamed
lag-1 ACF exercised by shrinking the module's memory budgets. The NaN-aware kernels are
checked against slow loops, and the gap-free path must not call them.
"""

from __future__ import annotations

import contextlib
import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamed import assert_same, chunking

import qsense.stability as S
from qsense.stability import _kernels_stream_gaps as K
from qsense.stability import _kernels_stream_span as KS
from qsense.stability import _kernels_window as W
from qsense.stability import _stream, _stream_gaps, _stream_run, _stream_span

da = pytest.importorskip("dask.array")

GAPPED = _stream_gaps.GAP_STATISTICS
PATTERNS = ("single", "run", "first", "last", "ends", "edges", "long", "sparse")


@contextlib.contextmanager
def _budgets(small: bool):
    """BLOCK_SAMPLES 1 (one block per chunk); ``small``: shrunken windows, gathers and
    stages (long-tau reads, streamed lag-1 ACF, several stages)."""
    if not small:
        with mock.patch.multiple(_stream, BLOCK_SAMPLES=1):
            yield
        return
    with (
        mock.patch.multiple(
            _stream, BLOCK_SAMPLES=1, WINDOW_SAMPLES=12, GATHER_SAMPLES=40, PERSIST_BYTES=0
        ),
        mock.patch.multiple(_stream_run, STAGE_SAMPLES=30),
    ):
        yield


def _record(kind: str, n: int, seed: int) -> np.ndarray:
    """Phase (s): white FM (a random walk, with an offset), or white PM."""
    rng = np.random.default_rng(seed)
    if kind == "wpm":
        return rng.standard_normal(n) * 1e-9 + 2e-6
    return np.cumsum(rng.standard_normal(n)) * 1e-9 + 2e-6


def _gapped(x: np.ndarray, pattern: str, chunks: tuple[int, ...], seed: int) -> np.ndarray:
    """``x`` with NaN placed by ``pattern`` (at least 30 finite points are left)."""
    rng = np.random.default_rng(seed)
    x = x.copy()
    n = x.size
    edges = np.cumsum(chunks)[:-1]
    if pattern == "single":
        x[rng.integers(n)] = np.nan
    elif pattern == "run":
        a = int(rng.integers(n - 10))
        x[a : a + int(rng.integers(2, 10))] = np.nan
    elif pattern == "first":
        x[: int(rng.integers(1, 5))] = np.nan
    elif pattern == "last":
        x[n - int(rng.integers(1, 5)) :] = np.nan
    elif pattern == "ends":
        x[0] = x[-1] = np.nan
    elif pattern == "edges":  # on both sides of chunk edges
        for e in edges[:: max(1, edges.size // 4)] if edges.size else [n // 2]:
            x[max(e - 1, 0) : e + 1] = np.nan
    elif pattern == "long":  # longer than the longest chunk (or than a third of x)
        size = min(max(chunks) + 2, n // 3)
        a = int(rng.integers(0, n - size))
        x[a : a + size] = np.nan
    else:
        x[rng.random(n) < 0.08] = np.nan
    return x


@settings(max_examples=25, deadline=None)
@given(
    stat=st.sampled_from(GAPPED),
    kind=st.sampled_from(("wfm", "wpm")),
    pattern=st.sampled_from(PATTERNS),
    taus=st.sampled_from(("octave", "decade", "all")),
    n=st.integers(60, 180),
    sizes=st.lists(st.integers(1, 70), min_size=1, max_size=10),
    small=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gaps_any_chunking_equals_in_memory(stat, kind, pattern, taus, n, sizes, small, seed):
    chunks = chunking(n, sizes)
    x = _gapped(_record(kind, n, seed), pattern, chunks, seed)
    f = getattr(S, stat)
    ref = f(x, rate=4.0, taus=taus)
    with _budgets(small):
        got = f(da.from_array(x, chunks=(chunks,)), rate=4.0, taus=taus)
    assert_same(got, ref, f"{stat} {kind} {pattern} {taus} n={n} chunks={chunks} small={small}")


@pytest.mark.parametrize("stat", GAPPED)
def test_gaps_on_every_chunk_edge_and_one_sample_chunks(stat):
    x = _gapped(_record("wfm", 64, 3), "sparse", (64,), 3)
    x[[0, 1, 31, 63]] = np.nan
    for chunks, taus in ((1, "octave"), (7, "all")):
        ref = getattr(S, stat)(x, rate=1.0, taus=taus)
        with _budgets(True):
            got = getattr(S, stat)(da.from_array(x, chunks=chunks), rate=1.0, taus=taus)
        assert_same(got, ref, f"{stat} chunks={chunks}")


def test_longer_record_streamed_acf_long_taus_and_rn_with_gaps():
    """N/m above GATHER_SAMPLES (streamed lag-1 ACF, then its NaN-aware pass), 2m above
    WINDOW_SAMPLES (lagged reads, decimated ADEV/HDEV), white PM (R(n) from the OADEV
    and MDEV sums of the record with gaps)."""
    budgets = dict(BLOCK_SAMPLES=64, WINDOW_SAMPLES=60, GATHER_SAMPLES=100)
    for kind in ("wfm", "wpm"):
        x = _record(kind, 1000, 4)
        x[[0, 3, 400, 401, 999]] = np.nan
        x[600:700] = np.nan  # longer than a chunk
        with (
            mock.patch.multiple(_stream, **budgets),
            mock.patch.multiple(_stream_run, STAGE_SAMPLES=256),
        ):
            for stat in GAPPED:
                ref = getattr(S, stat)(x, rate=1.0, taus="octave")
                got = getattr(S, stat)(da.from_array(x, chunks=97), rate=1.0, taus="octave")
                assert_same(got, ref, f"{stat} {kind}")
            y = _freq(kind, 1000, 5)
            y[[0, 3, 400, 401, 999]] = np.nan
            y[600:700] = np.nan
            for stat in ("oadev", "adev", "mdev", "totdev"):
                ref = getattr(S, stat)(y, rate=1.0, data_type="freq")
                got = getattr(S, stat)(da.from_array(y, chunks=97), rate=1.0, data_type="freq")
                assert_same(got, ref, f"{stat} {kind} freq")


def test_gap_free_path_does_not_call_the_nan_kernels():
    x = _record("wfm", 300, 1)
    spies = {
        name: mock.patch.object(_stream_gaps, name, wraps=getattr(_stream_gaps, name))
        for name in (
            "window_sums_nan",
            "lag_sum_nan",
            "lag_mdev_sum_nan",
            "block_sum_nan",
            "window_sums_span",
            "lag_sum_span",
        )
    }
    with contextlib.ExitStack() as stack:
        called = {k: stack.enter_context(v) for k, v in spies.items()}
        stack.enter_context(
            mock.patch.multiple(
                _stream, BLOCK_SAMPLES=16, WINDOW_SAMPLES=24, GATHER_SAMPLES=40, PERSIST_BYTES=0
            )
        )
        for stat in GAPPED:
            getattr(S, stat)(da.from_array(x, chunks=37), rate=1.0)
            getattr(S, stat)(da.from_array(x, chunks=37), rate=1.0, data_type="freq")
        assert not any(spy.called for spy in called.values())
        x[5] = np.nan
        for stat in ("oadev", "mdev"):
            getattr(S, stat)(da.from_array(x, chunks=37), rate=1.0)
        assert called["window_sums_nan"].called and called["lag_sum_nan"].called
        assert called["lag_mdev_sum_nan"].called and called["block_sum_nan"].called


@pytest.mark.parametrize("chunks", [(13,) * 15 + (5,), (1, 60, 2, 137)])
def test_mtie_far_windows_skip_the_gaps_between_blocks(chunks):
    """Factors longer than a block (pass 2): a window across a block holding a NaN is
    skipped (its extremes NaN), as one whose near or far samples hold one."""
    from qsense.stability import _stream_mtie as M
    from qsense.stability._kernels import mtie_raw
    from qsense.stability._registry import SPECS

    x = np.cumsum(np.random.default_rng(2).standard_normal(200))
    for holes in ([0], [199], [100], [20, 21, 150], list(range(40, 75))):
        y = x.copy()
        y[holes] = np.nan
        rec = _stream.prepare_lazy(SPECS["mtie"], da.from_array(y, chunks=(chunks,)), 1.0, "phase")
        ms = np.array([1, 5, 16, 40, 90, 150, 180, 198, 250], dtype=np.int64)
        s, n = M.mtie_sums(rec, ms, 16)
        v, c = mtie_raw(y, ms, 1.0)
        np.testing.assert_array_equal(n, c, err_msg=str(holes))
        np.testing.assert_array_equal(s, np.where(c > 0, v, 0.0), err_msg=str(holes))


def test_mtie_of_frequency_gaps_short_and_far_windows():
    """MTIE of frequency input with gaps: windows that straddle a gap skipped (span),
    whether they start and end in one block (pass 1) or far apart (pass 2), gaps on
    block edges and runs longer than a block."""
    y = _freq("rwfm", 240, 4)
    y[[0, 12, 13, 52, 53, 239]] = np.nan
    y[100:140] = np.nan
    ref = S.mtie(y, rate=1.0, data_type="freq", taus="all")
    for chunks in (13, (1, 52, 60, 127)):
        with _budgets(True):
            got = S.mtie(da.from_array(y, chunks=chunks), rate=1.0, data_type="freq", taus="all")
        assert_same(got, ref, f"chunks={chunks}")


def test_mtie_nan_kernels_against_loops():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(80)
    x[[5, 30, 31, 60]] = np.nan
    ms = np.array([0, 1, 3, 8, 20], dtype=np.int64)
    counts = np.array([80, 79, 60, 72, 30], dtype=np.int64)
    xh = np.concatenate([x, np.zeros(20)])  # a halo, past the counted windows

    def widest(lo_i, hi_i, m):
        best = 0.0
        for i in range(lo_i, hi_i):
            w = xh[i : i + m + 1]
            if not np.isnan(w).any():
                best = max(best, w.max() - w.min())
        return best

    got = K.short_ranges_nan(xh, ms, counts)
    for k, m in enumerate(ms.tolist()):
        assert got[k] == widest(0, counts[k], m)
    # long windows from near[i] to far[ends + i], extremes between given
    near, far = x[:20], x[50:]
    ends, cnt = np.array([0, 4]), np.array([20, 15])
    got = K.long_ranges_nan(near, far, ends, cnt, 1.5, -0.5)
    for k in range(2):
        best = 0.0
        for i in range(cnt[k]):
            w = np.concatenate([near[i:], [1.5, -0.5], far[: ends[k] + i + 1]])
            if not np.isnan(w).any():
                best = max(best, w.max() - w.min())
        assert got[k] == best
    assert np.all(K.long_ranges_nan(near[6:], far[3:], ends, cnt, np.nan, np.nan) == 0.0)


def _freq(kind: str, n: int, seed: int) -> np.ndarray:
    """Fractional frequency: white FM, random-walk FM, or white PM (differenced)."""
    rng = np.random.default_rng(seed)
    if kind == "wpm":
        return np.diff(rng.standard_normal(n + 1)) * 1e-12 + 3e-11
    y = rng.standard_normal(n) * 1e-12
    return (np.cumsum(y) if kind == "rwfm" else y) + 3e-11


@settings(max_examples=25, deadline=None)
@given(
    stat=st.sampled_from(_stream_span.FREQ_GAP_STATISTICS),
    kind=st.sampled_from(("wfm", "rwfm", "wpm")),
    pattern=st.sampled_from(PATTERNS),
    taus=st.sampled_from(("octave", "all")),
    n=st.integers(60, 180),
    sizes=st.lists(st.integers(1, 70), min_size=1, max_size=10),
    small=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_frequency_gaps_any_chunking_equals_in_memory(
    stat, kind, pattern, taus, n, sizes, small, seed
):
    """Frequency input with gaps: the mean of the finite samples, a gap integrated as
    the mean, a term valid iff it does not straddle a gap (span); noise ID on the
    phase marked NaN where a gap ends, as in memory."""
    chunks = chunking(n, sizes)
    y = _gapped(_freq(kind, n, seed), pattern, chunks, seed)
    f = getattr(S, stat)
    ref = f(y, rate=4.0, taus=taus, data_type="freq")
    with _budgets(small):
        got = f(da.from_array(y, chunks=(chunks,)), rate=4.0, taus=taus, data_type="freq")
    assert_same(got, ref, f"{stat} {kind} {pattern} {taus} n={n} chunks={chunks} small={small}")


def test_every_statistic_streams_gaps_and_infinities_are_refused():
    y = _freq("wfm", 200, 0)
    y[57] = np.nan
    assert set(_stream_span.FREQ_GAP_STATISTICS) == set(_stream.STREAMED) == set(GAPPED)
    with pytest.raises(ValueError, match="all NaN"):
        S.oadev(da.from_array(np.full(50, np.nan), chunks=20), rate=1.0, data_type="freq")
    y[120] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        S.oadev(da.from_array(y, chunks=50), rate=1.0, data_type="freq")
    x = _record("wfm", 200, 2)
    x[10] = np.nan
    x[120] = np.inf
    for stat in GAPPED:
        with pytest.raises(ValueError, match="infinite"):
            getattr(S, stat)(da.from_array(x, chunks=50), rate=1.0)
    x[0] = np.nan  # MDEV: the shift found past the NaN, then the inf
    with pytest.raises(ValueError, match="infinite"):
        S.mdev(da.from_array(x, chunks=50), rate=1.0)


def test_span_kernels_against_loops():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.standard_normal(100))
    sp = np.cumsum(rng.random(100) < 0.05).astype(np.float64)
    rows = np.stack([x, sp])
    cuts = [0, 30, 31, 77, 100]
    blocks = [rows[:, a:b] for a, b in itertools.pairwise(cuts)]
    ms = np.array([1, 4, 9], dtype=np.int64)
    for lags in (3, 4):
        coef = [(1.0, -2.0, 1.0), (-1.0, 3.0, -3.0, 1.0)][lags - 3]
        hi = np.maximum(100 - (lags - 1) * ms, 0)
        s, n = W.window_sums_span(blocks, cuts, ms, np.zeros(3, np.int64), hi, lags)
        for k, m in enumerate(ms.tolist()):
            want, cnt = 0.0, 0
            for i in range(min(30, hi[k])):
                if sp[i + (lags - 1) * m] == sp[i]:
                    want += sum(c * x[i + q * m] for q, c in enumerate(coef)) ** 2
                    cnt += 1
            np.testing.assert_allclose(s[k], want, rtol=1e-13)
            assert n[k] == cnt
        m = 6
        k = 100 - (lags - 1) * m
        s1, n1 = KS.lag_sum_span(*[rows[:, q * m : q * m + k] for q in range(lags)])
        ok = sp[(lags - 1) * m : (lags - 1) * m + k] == sp[:k]
        d = sum(c * x[q * m : q * m + k] for q, c in enumerate(coef))
        np.testing.assert_allclose(s1, np.sum(d[ok] ** 2), rtol=1e-13)
        assert n1 == ok.sum()


def test_totdev_trims_leading_and_trailing_nan_over_several_chunks():
    """TOTDEV reflects the record between its first and last finite samples (found
    chunk by chunk from each end), as the in-memory path; too few left: no term."""
    x = _record("wfm", 200, 6)
    x[:45] = np.nan
    x[150:] = np.nan
    x[[80, 120, 121]] = np.nan
    ref = S.totdev(x, rate=1.0, taus="all")
    for chunks in (10, (45, 1, 104, 50), 199):
        with _budgets(chunks != 10):
            got = S.totdev(da.from_array(x, chunks=chunks), rate=1.0, taus="all")
        assert_same(got, ref, f"chunks={chunks}")
    x[47:] = np.nan
    with pytest.warns(UserWarning, match="complete term"):
        ref = S.totdev(x, rate=1.0)
    with pytest.warns(UserWarning, match="complete term"):
        got = S.totdev(da.from_array(x, chunks=20), rate=1.0)
    assert_same(got, ref, "two finite points")


def test_all_nan_record_warns_as_in_memory():
    x = np.full(100, np.nan)
    with pytest.warns(UserWarning, match="no averaging time has a complete term"):
        out = S.oadev(da.from_array(x, chunks=30), rate=1.0)
    assert np.all(out.n.values == 0) and np.all(np.isnan(out.dev.values))


# ---------------------------------------------------------------- kernels against loops


def _touch_sum(x, i0, i1, m, lags, step=1):
    coef = [(1.0, -2.0, 1.0), (-1.0, 3.0, -3.0, 1.0)][lags - 3]
    s, n = 0.0, 0
    for i in range(i0, i1):
        if step > 1 and i % m:
            continue
        d = sum(c * x[i + q * m] for q, c in enumerate(coef))
        if not np.isnan(d):
            s += d * d
            n += 1
    return s, n


def test_window_sums_nan_against_loops():
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.standard_normal(120))
    x[rng.random(120) < 0.1] = np.nan
    cuts = [0, 13, 14, 60, 120]
    blocks = [x[a:b] for a, b in itertools.pairwise(cuts)]
    ms = np.array([1, 3, 8], dtype=np.int64)
    for lags in (3, 4):
        for strided in (False, True):
            hi = np.maximum(120 - (lags - 1) * ms, 0)
            s, n = W.window_sums_nan(blocks, cuts, ms, np.zeros(3, np.int64), hi, lags, strided)
            for k, m in enumerate(ms.tolist()):
                want = _touch_sum(x, 0, min(13, hi[k]), m, lags, m if strided else 1)
                np.testing.assert_allclose(s[k], want[0], rtol=1e-13)
                assert n[k] == want[1]
            # and the lagged reads of the long taus
            m = 5
            k = 120 - (lags - 1) * m
            got = K.lag_sum_nan(*[x[q * m : q * m + k] for q in range(lags)])
            want = _touch_sum(x, 0, k, m, lags)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
            assert got[1] == want[1]
    z = x[::3]
    for order in (2, 3):
        got = K.decimated_sum_nan(z, order)
        want = _touch_sum(z, 0, z.size - order, 1, order + 1)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
        assert got[1] == want[1]


def test_nan_prefix_sums_and_mdev_terms_against_loops():
    rng = np.random.default_rng(9)
    x = np.cumsum(rng.standard_normal(100)) + 4.0
    x[[0, 30, 31, 77]] = np.nan
    a = K.prefix_chunk_nan(x[:45], 4.0, (0.0, 0.0, 0.0), first=True)
    carry = K.block_sum_nan(x[:45], 4.0)
    np.testing.assert_allclose(carry[0] + carry[1], a[0, -1] + a[1, -1], rtol=1e-15)
    b = K.prefix_chunk_nan(x[45:], 4.0, carry)
    c = np.concatenate([a, b], axis=1)
    filled = np.where(np.isnan(x), 0.0, x - 4.0)
    np.testing.assert_allclose(c[0] + c[1], np.concatenate([[0], np.cumsum(filled)]), atol=1e-12)
    np.testing.assert_array_equal(c[2], np.concatenate([[0], np.cumsum(np.isnan(x))]))
    m = 4
    k = x.size - 3 * m + 1
    s, n = K.lag_mdev_sum_nan(*[c[:, q * m : q * m + k] for q in range(4)])
    want, cnt = 0.0, 0
    for j in range(k):
        w = sum(x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(j, j + m))
        if not np.isnan(w):
            want += w * w
            cnt += 1
    assert n == cnt
    np.testing.assert_allclose(s, want, rtol=1e-11)
    # the block windows of the three-row prefix sums
    ms = np.array([1, m], dtype=np.int64)
    hi = np.maximum(x.size - 3 * ms + 1, 0)
    s2, n2 = W.window_sums_nan([c[:, :50], c[:, 50:]], [0, 50, 101], ms, [0, 0], hi, 4, False)
    for q, mq in enumerate(ms.tolist()):
        want, cnt = 0.0, 0
        for j in range(min(50, hi[q])):
            w = sum(x[i + 2 * mq] - 2 * x[i + mq] + x[i] for i in range(j, j + mq))
            if not np.isnan(w):
                want += w * w
                cnt += 1
        assert n2[q] == cnt
        np.testing.assert_allclose(s2[q], want, rtol=1e-11)


def test_acf_levels_nan_against_loops():
    rng = np.random.default_rng(11)
    z = np.cumsum(rng.standard_normal(50))
    z[[3, 4, 20, 49]] = np.nan
    dmax, base = 2, 0
    shift = np.array([1.0, -0.5, 0.25])
    out = K.acf_levels_nan(z[:30], z[30:34], 0, 30, 50, base, dmax, shift)
    out2 = K.acf_levels_nan(z[30:], [], 30, 50, 50, base, dmax, shift)
    tot = out + out2
    lev = z
    for d in range(dmax + 1):
        v = lev - shift[d]
        ok = ~np.isnan(v)
        pair = ok[:-1] & ok[1:]
        want = [
            ok.sum(),
            v[ok].sum(),
            (v[ok] ** 2).sum(),
            pair.sum(),
            (v[:-1][pair] * v[1:][pair]).sum(),
            v[:-1][pair].sum(),
            v[1:][pair].sum(),
        ]
        np.testing.assert_allclose(tot[d], want, rtol=1e-12, atol=1e-12)
        # r1 as the in-memory NaN-aware lag-1 ACF
        u = lev[~np.isnan(lev)]
        mu = u.mean()
        c = lev - mu
        pr = c[:-1] * c[1:]
        ref = (np.nansum(pr) / u.size) / (((u - mu) ** 2).sum() / (u.size - 1))
        np.testing.assert_allclose(_stream_gaps.r1_nan(tot[d]), ref, rtol=1e-10)
        lev = np.diff(lev)


def test_mdev_span_rows_against_loops():
    """MDEV of frequency gaps: the third row g = span[k-1] + marked(k)/2 at C[k] keeps
    a term j iff span[j + 3m - 1] == span[j], across a chunk edge."""
    from qsense.stability._phase import to_phase

    y = _freq("wfm", 90, 8)
    y[[10, 11, 44, 45, 60]] = np.nan  # point 45 (y[44]) is marked: a gap at the edge
    pi = to_phase(y, 1.0, "freq")
    rows = np.stack([pi.x_filled, pi.span])
    carry = (*K.block_sum_nan(rows[0, :45], 0.0)[:2], rows[1, 45] - rows[1, 44], 0.0)
    a = KS.prefix_chunk_span(rows[:, :45], 0.0, (0.0, 0.0, 0.0, 0.0), first=True)
    a[2, -1] = rows[1, 44] + 0.5 * carry[2]  # what the carry of the next chunk gives
    a2 = KS.prefix_chunk_span(rows[:, :45], 0.0, (0.0, 0.0, carry[2], 0.0), first=True)
    np.testing.assert_array_equal(a, a2)
    b = KS.prefix_chunk_span(rows[:, 45:], 0.0, carry)
    c = np.concatenate([a, b], axis=1)
    x, sp = pi.x_filled, pi.span
    np.testing.assert_allclose(c[0] + c[1], np.concatenate([[0], np.cumsum(x)]), atol=1e-24)
    for m in (1, 3, 7):
        k = x.size - 3 * m + 1
        s, n = K.lag_mdev_sum_nan(*[c[:, q * m : q * m + k] for q in range(4)])
        want, cnt = 0.0, 0
        for j in range(k):
            if sp[j + 3 * m - 1] == sp[j]:
                w = sum(x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(j, j + m))
                want += w * w
                cnt += 1
        assert n == cnt
        np.testing.assert_allclose(s, want, rtol=1e-10)


def test_mtie_span_kernels_against_loops():
    rng = np.random.default_rng(12)
    x = np.cumsum(rng.standard_normal(90))
    sp = np.cumsum(rng.random(90) < 0.06).astype(np.float64)
    rows = np.stack([x, sp])
    ms = np.array([0, 2, 5, 13], dtype=np.int64)
    counts = np.array([90, 60, 80, 70], dtype=np.int64)

    def widest(i_from, m, count):
        best = 0.0
        for i in range(count):
            j = i_from + i
            if j + m < 90 and sp[j + m] == sp[j]:
                best = max(best, np.ptp(x[j : j + m + 1]))
        return best

    got = KS.short_ranges_span(rows, ms, np.minimum(counts, 90 - ms))
    for k, m in enumerate(ms.tolist()):
        assert got[k] == widest(0, m, min(counts[k], 90 - m))
    # windows from near[i] (points 0..19) to far[ends + i] (points 40..), between: 20..39
    near, far = rows[:, :20], rows[:, 40:]
    between = x[20:40]
    ends, cnt = np.array([0, 7]), np.array([20, 15])
    got = KS.long_ranges_span(near, far, ends, cnt, between.max(), between.min())
    for k in range(2):
        assert got[k] == widest(0, 40 + ends[k], cnt[k])


def test_streamed_acf_reads_again_only_the_blocks_with_a_gap():
    """A gap after the head: the lag-1 sums of the blocks without one are completed in
    closed form from their gap-free sums (a few samples read); only the blocks with a
    NaN are summed again, NaN-aware."""
    x = _record("wfm", 1500, 9)
    x[[400, 401, 977]] = np.nan
    y = _freq("wpm", 1500, 9)
    y[[600, 1100]] = np.nan
    with (
        mock.patch.multiple(_stream, BLOCK_SAMPLES=64, GATHER_SAMPLES=100),
        mock.patch.object(
            _stream_gaps, "noise_block_nan", wraps=_stream_gaps.noise_block_nan
        ) as spy,
    ):
        for data, dt in ((x, "phase"), (y, "freq")):
            for stat in ("oadev", "hdev"):
                spy.reset_mock()
                ref = getattr(S, stat)(data, rate=1.0, data_type=dt)
                got = getattr(S, stat)(da.from_array(data, chunks=97), rate=1.0, data_type=dt)
                assert_same(got, ref, f"{stat} {dt}")
                assert 0 < spy.call_count <= 4, spy.call_count


def test_strided_and_decimated_span_kernels_against_loops():
    rng = np.random.default_rng(13)
    x = np.cumsum(rng.standard_normal(120))
    sp = np.cumsum(rng.random(120) < 0.04).astype(np.float64)
    rows = np.stack([x, sp])
    cuts = [0, 50, 51, 120]
    blocks = [rows[:, a:b] for a, b in itertools.pairwise(cuts)]
    ms = np.array([1, 3, 7], dtype=np.int64)
    for lags in (3, 4):
        coef = [(1.0, -2.0, 1.0), (-1.0, 3.0, -3.0, 1.0)][lags - 3]
        hi = np.maximum(120 - (lags - 1) * ms, 0)
        s, n = W.window_sums_span(blocks, cuts, ms, np.zeros(3, np.int64), hi, lags, True)
        for k, m in enumerate(ms.tolist()):
            want, cnt = 0.0, 0
            for i in range(0, min(50, hi[k]), m):
                if sp[i + (lags - 1) * m] == sp[i]:
                    want += sum(c * x[i + q * m] for q, c in enumerate(coef)) ** 2
                    cnt += 1
            np.testing.assert_allclose(s[k], want, rtol=1e-13)
            assert n[k] == cnt
        z = rows[:, ::4]
        got = KS.decimated_sum_span(z, lags - 1)
        ok = z[1, lags - 1 :] == z[1, : z.shape[1] - lags + 1]
        d = sum(c * z[0, q : q + ok.size] for q, c in enumerate(coef))
        np.testing.assert_allclose(got[0], np.sum(d[ok] ** 2), rtol=1e-13)
        assert got[1] == ok.sum()
