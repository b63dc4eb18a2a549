"""The one-read lag-1 ACF kernels (qsense.stability._kernels_acf) and the noise
identification built on them (qsense.stability._kernels_noise.acf_alphas), against
slow references: numpy.diff levels of ``x[::m]`` summed term by term with math.fsum,
and the two-pass r1 of ``noise_id.lag1_acf`` in the Riley & Greenhall loop.

Tolerances. The shifted sums are compared with the exactly rounded sums (fsum) of the
same terms to 1e-12 of the sum of their magnitudes (float64 accumulation over at most
1e5 terms in tiles). r1 is compared with the two-pass r1 computed in extended
precision to 1e-12 absolute: the one-pass r1 loses about eps (mean - shift)^2 / var
(times sqrt(n) in the products of a white level), the shift the mean of the level's
first 32 values, so ~1e-14 at most here (measured: 2e-15 on records whose offsets and
drifts dwarf their noise: a 1e-6 frequency offset with a quadratic drift, a frequency
offset 1e6 times its noise), while the float64 two-pass r1 (``noise_id.lag1_acf``) is
itself off by up to 1.2e-8 there. The number of differences d must equal the float64
two-pass loop's.
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.stability import _kernels_acf as K
from qsense.stability._kernels_noise import acf_alphas
from qsense.stability.noise_id import lag1_acf


def _levels(x: np.ndarray, m: int, base: int, dmax: int) -> list[np.ndarray]:
    z = x[::m]
    z = np.diff(z) if base else z
    return [np.diff(z, d) if d else z for d in range(dmax + 1)]


def _naive_shift(lev: np.ndarray) -> float:
    """The mean of the first SHIFT_POINTS values of a level (0 if empty)."""
    head = lev[: K.SHIFT_POINTS]
    return math.fsum(head) / head.size if head.size else 0.0


def _naive_sums(x: np.ndarray, m: int, base: int, dmax: int, shifts, lo=0, hi=None):
    """(sums (dmax + 1, 5), magnitudes (dmax + 1, 3)) of the decimated points with sample
    in [lo, hi), each level shifted by ``shifts[d]``, by plain loops and fsum."""
    hi = x.size if hi is None else hi
    out = np.full((dmax + 1, 5), np.nan)
    mag = np.zeros((dmax + 1, 3))
    for d, lev in enumerate(_levels(x, m, base, dmax)):
        sh = shifts[d]
        ts = [t for t in range(lev.size) if lo <= t * m < hi]
        v = [float(lev[t] - sh) for t in ts]
        pr = [float((lev[t] - sh) * (lev[t + 1] - sh)) for t in ts if t + 1 < lev.size]
        out[d, :3] = math.fsum(v), math.fsum(u * u for u in v), math.fsum(pr)
        mag[d] = sum(abs(u) for u in v), sum(u * u for u in v), sum(abs(u) for u in pr)
        if ts and ts[0] == 0:
            out[d, 3] = lev[0]
        if ts and ts[-1] == lev.size - 1:
            out[d, 4] = lev[-1]
    return out, mag


def _check_sums(got: np.ndarray, want: np.ndarray, mag: np.ndarray) -> None:
    np.testing.assert_array_less(np.abs(got[:, :3] - want[:, :3]), 1e-12 * mag + 1e-300)
    np.testing.assert_array_equal(got[:, 3:], want[:, 3:])


def _lag1_long(z: np.ndarray) -> float:
    """``noise_id.lag1_acf`` (two-pass, Stable32's normalisation) in extended precision
    (np.longdouble) on the float64 level, less its first value before the mean (the
    mean's own rounding, eps |mean|, would otherwise be ~1e-11 of r1 at an offset 1e9
    times the noise): the reference for r1."""
    if z.size < 2:
        return math.nan
    c = z.astype(np.longdouble)
    c = c - c[0]
    c = c - c.mean()
    den = (c * c).sum() / (z.size - 1)
    return float((c[:-1] * c[1:]).sum() / z.size / den) if den > 0 else math.nan


def _reference(x: np.ndarray, m: int, base: int, dmax: int) -> tuple[float, float, int]:
    """Riley & Greenhall loop with the two-pass r1 of ``noise_id.lag1_acf``: (its r1 in
    extended precision, its float64 r1, d)."""
    for d, lev in enumerate(_levels(x, m, base, dmax)):
        r1 = lag1_acf(lev)
        delta = r1 / (1.0 + r1) if r1 != -1.0 else -math.inf
        if delta < 0.25 or d >= dmax:
            return _lag1_long(lev), r1, d
    raise AssertionError("unreachable")  # pragma: no cover


def _check_alphas(x: np.ndarray, ms, base: int, dmax: int) -> None:
    """d identical to the float64 two-pass loop; r1 within 1e-12 of the two-pass r1 in
    extended precision (the float64 two-pass r1 itself is off by up to ~eps |mean| /
    (n sigma) where the mean dwarfs the noise: 1.2e-8 on the records below)."""
    ms = np.asarray(ms, dtype=np.int64)
    r1, d = acf_alphas(x, ms, bool(base), dmax)
    for k, m in enumerate(ms.tolist()):
        ref_long, ref_r1, ref_d = _reference(x, m, base, dmax)
        assert d[k] == ref_d, (m, base, dmax, r1[k], ref_r1)
        np.testing.assert_allclose(r1[k], ref_long, rtol=0, atol=1e-12, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(3, 12000),
    ms=st.lists(st.integers(1, 6000), min_size=1, max_size=5),
    base=st.sampled_from((0, 1)),
    dmax=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_acf_sums_equal_naive_levels(n, ms, base, dmax, seed):
    """Every factor of a random list (above the tile, above n/3, with 1 to a few points)
    and every level against loops over numpy.diff levels."""
    x = np.cumsum(np.random.default_rng(seed).standard_normal(n)) + 5.0
    got, shifts = K.acf_sums(x, np.asarray(ms), base, dmax)
    for k, m in enumerate(ms):
        want, mag = _naive_sums(x, m, base, dmax, shifts[k])
        _check_sums(got[k], want, mag)
        for d, lev in enumerate(_levels(x, m, base, dmax)):
            assert shifts[k, d] == pytest.approx(_naive_shift(lev), rel=1e-14, abs=1e-300)
    for low in range(1, dmax + 1):  # levels below `low` not summed, the others alike
        part, _ = K.acf_sums(x, np.asarray(ms), base, dmax, low=low)
        scale = 1e-13 * np.abs(got[:, low:, :3]).max()  # dmax = 1: one loop, not two
        np.testing.assert_allclose(part[:, low:, :3], got[:, low:, :3], rtol=0, atol=scale)
        np.testing.assert_array_equal(part[:, low:, 3:], got[:, low:, 3:])
        np.testing.assert_array_equal(part[:, :low, :3], 0.0)


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 9000), min_size=1, max_size=4, unique=True),
    ms=st.lists(st.integers(1, 5000), min_size=1, max_size=4),
    base=st.sampled_from((0, 1)),
    dmax=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_block_sums_add_up_to_the_record(cuts, ms, base, dmax, seed):
    """``acf_block_sums`` over consecutive blocks (the points past each block given as
    the streamed path gives them) against the naive sums of each block, and their total
    against the whole record's."""
    n = 9001
    x = np.cumsum(np.random.default_rng(seed).standard_normal(n)) - 3.0
    ms_arr = np.asarray(ms, dtype=np.int64)
    shifts = K.shifts_of(x, ms_arr, base, dmax)
    edges = [0, *sorted(cuts), n]
    total = np.zeros((len(ms), dmax + 1, 3))
    for a, b in itertools.pairwise(edges):
        ext = []
        for m in ms:
            t1 = -(-b // m)
            last = min(t1 + dmax + base + 1, (n - 1) // m + 1)
            ext.append(x[np.arange(t1, max(last, t1)) * m])
        got = K.acf_block_sums(x[a:b], a, b, ext, ms_arr, n, base, dmax, shifts)
        for k, m in enumerate(ms):
            want, mag = _naive_sums(x, m, base, dmax, shifts[k], a, b)
            _check_sums(got[k], want, mag)
        total += got[:, :, :3]
    whole, _ = K.acf_sums(x, ms_arr, base, dmax)
    np.testing.assert_allclose(total, whole[:, :, :3], rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("base", [0, 1])
@pytest.mark.parametrize("points", [3, 4, 5])
def test_short_records_at_a_factor(points, base):
    """3, 4, 5 decimated points: the levels that still have 2 points give r1, the
    others NaN, d as the reference loop."""
    x = np.cumsum(np.random.default_rng(points).standard_normal(1000))
    for m in (1, 7, 4500):
        y = x[: (points - 1) * m + 1] if m * (points - 1) < x.size else None
        if y is None:
            y = np.cumsum(np.random.default_rng(1).standard_normal((points - 1) * m + 1))
        for dmax in (0, 1, 2, 3):
            _check_alphas(y, [m], base, dmax)
            got, shifts = K.acf_sums(y, np.array([m]), base, dmax)
            want, mag = _naive_sums(y, m, base, dmax, shifts[0])
            _check_sums(got[0], want, mag)


def _noises(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 1e-3
    w = rng.standard_normal(n)
    return {
        "wfm phase": np.cumsum(w) * 1e-12,
        "rwfm phase": np.cumsum(np.cumsum(w)) * 1e-15 + 1.0,
        "wpm phase with offset and drifts": 1e-12 * w + 1e-6 * t + 3e-7 * t**2 + 1e3,
        "wfm phase with offset and drifts": np.cumsum(w) * 1e-12 + 1e-6 * t + 3e-7 * t**2,
        "wfm freq with offset": np.cumsum(1e-12 * w + 1e-6) * 1e-3,
        "wpm freq with offset": np.cumsum(1e-12 * np.diff(w, prepend=0.0) + 1e-6) * 1e-3,
    }


@pytest.mark.parametrize("name", list(_noises(8, 0)))
def test_alphas_equal_two_pass_reference_with_offsets_and_drifts(name):
    """r1 and d of the one-read shifted sums against the two-pass reference, on records
    whose offsets and drifts dwarf their noise (phase: a 1e-6 frequency offset and a
    quadratic drift; frequency: an offset 1e6 times the noise), octave and other
    factors, 2 and 3 differences at most, phase and frequency input."""
    x = _noises(70000, 3)[name]  # >= PARALLEL_FROM: the two halves in parallel
    ms = [1, 2, 3, 4, 8, 16, 100, 512, 2048, 4096, 5000]
    for base in (0, 1):
        for dmax in (2, 3):
            _check_alphas(x, ms, base, dmax)


def test_gaps_take_the_nan_aware_path():
    """A factor whose decimated record holds NaN gives the NaN-skipping r1 (the
    reference skips NaN samples and NaN products); factors that skip the NaN keep the
    one-read sums."""
    x = np.cumsum(np.random.default_rng(4).standard_normal(5000))
    x[[7, 1001]] = np.nan  # odd indices: seen by m = 1, not by even factors
    ms = np.array([1, 2, 3, 8], dtype=np.int64)
    for base in (0, 1):
        r1, d = acf_alphas(x, ms, bool(base), 2)
        for k, m in enumerate(ms.tolist()):
            _, ref_r1, ref_d = _reference(x, m, base, 2)
            assert d[k] == ref_d
            np.testing.assert_allclose(r1[k], ref_r1, rtol=0, atol=1e-12)


def test_constant_record_gives_no_r1():
    r1, d = acf_alphas(np.full(200, 2.5), np.array([1, 3]), False, 2)
    assert np.isnan(r1).all()
    np.testing.assert_array_equal(d, [2, 2])


def test_result_does_not_depend_on_threads():
    x = np.cumsum(np.random.default_rng(8).standard_normal(1 << 17))
    ms = 2 ** np.arange(12)
    a = K.acf_sums(x, ms, 0, 2)[0]
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        b = K.acf_sums(x, ms, 0, 2)[0]
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(a, b)


def _r1_of(sums: np.ndarray, nd: int, shift: float) -> float:
    """r1 of one level from its shifted sums, by acf_decide with no difference allowed."""
    r1, d, _ = K.acf_decide(np.asarray(sums)[None, None], np.array([nd]), np.array([[shift]]), 0)
    assert d[0] == 0
    return float(r1[0])


def test_r1_from_shifted_sums_edge_cases():
    """r1 from shifted sums: the textbook value, NaN with fewer than 2 points or no
    variance."""
    z = np.array([1.0, -1.0, 1.0, -1.0])
    sh = z[0]
    v = z - sh
    sums = np.array([v.sum(), (v * v).sum(), (v[:-1] * v[1:]).sum(), z[0], z[-1]])
    assert _r1_of(sums, 4, sh) == pytest.approx(lag1_acf(z), abs=1e-15)
    assert math.isnan(_r1_of(sums, 1, sh))
    assert math.isnan(_r1_of(np.array([0.0, 0.0, 0.0, 2.0, 2.0]), 5, 2.0))


def test_acf_block_sums_of_a_strided_block_equal_numpy_diff_levels():
    """(Formerly of ``_kernels_stream.acf_levels``.) One block [a, b) of a record whose
    factor-m points past the block are given: the sums of each level equal numpy.diff
    on the whole decimated record, first and last values where they fall in the block."""
    rng = np.random.default_rng(12)
    for _ in range(20):
        m = int(rng.integers(1, 4))
        n = int(rng.integers(2, 200))
        x = np.cumsum(rng.standard_normal(n))
        a = int(rng.integers(0, n))
        b = int(rng.integers(a, n + 1))
        base, dmax = int(rng.integers(0, 2)), int(rng.integers(0, 4))
        t1 = -(-b // m)
        last = min(t1 + dmax + base + 1, (n - 1) // m + 1)
        ext = [x[np.arange(t1, max(last, t1)) * m]]
        shift = rng.standard_normal((1, dmax + 1))
        got = K.acf_block_sums(x[a:b], a, b, ext, np.array([m]), n, base, dmax, shift)[0]
        for d, lev in enumerate(_levels(x, m, base, dmax)):
            ts = [t for t in range(lev.size) if a <= t * m < b]
            own = lev[ts] - shift[0, d]
            pairs = [
                (lev[t] - shift[0, d]) * (lev[t + 1] - shift[0, d]) for t in ts if t + 1 < lev.size
            ]
            want = [own.sum(), (own**2).sum(), sum(pairs)]
            np.testing.assert_allclose(got[d, :3], want, rtol=1e-12, atol=1e-9)
            assert (got[d, 3] == lev[0]) if ts and ts[0] == 0 else np.isnan(got[d, 3])
            assert (got[d, 4] == lev[-1]) if ts and ts[-1] == lev.size - 1 else np.isnan(got[d, 4])
