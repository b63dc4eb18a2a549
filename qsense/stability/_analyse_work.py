"""The work several statistics of one record share, done once (see :mod:`.analyse`).

:class:`Shared` reproduces, for one prepared record, what
:func:`qsense.stability._pipeline.evaluate` and
:func:`qsense.stability.noise_id.identify_alphas` compute for each statistic, bit for
bit, with memoised pieces: raw estimator passes serving several statistics, noise
identification per factor, EDFs per rule, and one interval call at the end. Every
shortcut relies on a kernel whose result at one factor does not depend on the other
factors of its call (checked by tests/stability/test_analyse.py against each
statistic's own function).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qsense._numba import launch
from qsense.stability import _edf, _pipeline
from qsense.stability._kernels import (
    _block,
    _diff2,
    _diff3,
    _outputs,
    _scaled,
    _span_args,
    _strided,
    oadev_raw,
    strided_octave,
)
from qsense.stability._kernels_modified import _mdev_sums
from qsense.stability._kernels_noise import acf_alphas, b1_ratios, rn_ratios
from qsense.stability._kernels_totdev import totdev_edges
from qsense.stability._pipeline import Columns, Record, Request, given_alpha
from qsense.stability._registry import SPECS, Spec
from qsense.stability._taus import factors, theoh_factors, warn_if_empty
from qsense.stability._total_raw import br_ratio_check, mtot_raw, theo1_raw
from qsense.stability.noise_id import (
    _ACF_MIN_POINTS,
    _b1_decide,
    _dmax,
    _is_theo,
    _last_identified,
    _pm_alpha,
    _theo_alpha,
)

__all__ = ["FIELDS", "Rows", "Shared"]

#: The fields of :class:`Columns`, in order.
FIELDS = ("m", "tau", "dev", "lo", "hi", "n", "edf", "alpha")


@dataclass
class Rows:
    """One statistic's columns (ThêoH: both parts, told apart by ``part``)."""

    name: str
    cols: Columns
    part: np.ndarray | None = None


class Shared:
    """One record's statistics, with the work they share memoised (see the module)."""

    def __init__(self, record: Record, request: Request, names: list[str], taus: Any) -> None:
        self.record = record
        self.names = names
        self.taus = taus
        self.request = request
        self.x = record.phase.gap_free
        self.span = record.phase.span
        self.x_id = np.ascontiguousarray(record.phase.x, dtype=np.float64)  # noise ID input
        self.rate = record.rate
        self.n_phase = record.n_phase
        self._memo: dict[Any, Any] = {}
        self._theo: dict[int, tuple[float, int]] = {}
        self._acf: dict[tuple[int, int], int] = {}
        self._b1: dict[int, tuple[float, int]] = {}
        self._rn: dict[int, float] = {}
        self._variance: list[_Slice] = []  # columns awaiting their interval
        # both ACF depths wanted (Allan and Hadamard statistics): one kernel pass for both
        self._both = {2, 3} <= {_dmax(s) for s in names if not _is_theo(s)}

    def work(self) -> tuple[np.ndarray, np.ndarray]:
        """Two float64 work arrays of the record's length, shared by the kernels that
        run one after the other (MDEV's octave levels, the ADEV/HDEV decimation):
        fresh memory is zeroed by the system on first touch (~0.1 ms per MB here)."""
        if "work" not in self._memo:
            self._memo["work"] = (np.empty(self.x.size), np.empty(self.x.size))
        return self._memo["work"]

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # ------------------------------------------------------------ one statistic
    def statistic(self, name: str, taus: Any) -> Rows:
        """The columns of ``name``, as its public function computes them."""
        spec, n_phase, rate = SPECS[name], self.n_phase, self.rate
        if name == "theoh":
            return self._theoh(taus)
        if name == "theobr":
            br_ratio_check(n_phase)
        m = factors(spec, taus, n_phase, rate)
        warn_if_empty(m, spec.name, n_phase, taus)
        return Rows(name, self.columns(spec, m, given_alpha(self.request.alpha, m.size)))

    def _theoh(self, taus: Any) -> Rows:
        """:func:`qsense.stability.theoh`: Allan rows, then bias-removed Theo1 rows."""
        request = self.request
        m_a, m_b = theoh_factors(taus, self.n_phase, self.rate)
        warn_if_empty(np.r_[m_a, m_b], "theoh", self.n_phase, taus)
        per = given_alpha(request.alpha, m_a.size + m_b.size)
        a_a, a_b = (None, None) if per is None else (per[: m_a.size], per[m_a.size :])
        waiting = len(self._variance)
        adev_rows = self.columns(SPECS["oadev"], m_a, a_a)
        theo = SPECS["theo1" if request.bias_correction else "theobr"]
        theo_rows = self.columns(theo, m_b, a_b, edf_alpha=0)
        cols = Columns(
            *(np.concatenate([getattr(adev_rows, f), getattr(theo_rows, f)]) for f in FIELDS)
        )
        part = np.r_[np.zeros(m_a.size, np.int64), np.ones(m_b.size, np.int64)]
        # the intervals are filled in place by intervals(): point at the joined arrays
        self._variance[waiting:] = [_Slice(cols, 0, m_a.size), _Slice(cols, m_a.size, cols.m.size)]
        return Rows("theoh", cols, part)

    def columns(
        self,
        spec: Spec,
        m: np.ndarray,
        alpha: np.ndarray | None,
        *,
        edf_alpha: int | None = None,
    ) -> Columns:
        """:func:`qsense.stability._pipeline.evaluate` with the shared pieces (the
        interval is left to :meth:`intervals`)."""
        m = np.ascontiguousarray(m, dtype=np.int64)
        vals, n = self.raw(spec, m)
        vals = np.asarray(vals, dtype=np.float64)
        n = np.asarray(n, dtype=np.int64)
        out_alpha = np.zeros(m.size, dtype=np.int64)
        valid = np.flatnonzero(n > 0)
        if alpha is None:
            out_alpha[valid] = self.alphas(spec.name, m[valid])
        else:
            out_alpha[valid] = alpha[valid]
        sizes = (self.record.values.size, self.n_phase, self.rate)
        cols = _pipeline.columns(
            spec, m, vals, n, out_alpha, sizes, self.request, edf_alpha,
            edfs=lambda a, mv: self.edfs(spec, a, mv), bounds=False,
        )  # fmt: skip
        if spec.kind != "value":
            self._variance.append(_Slice(cols, 0, m.size))
        return cols

    def intervals(self) -> None:
        """The chi-square bounds of every variance statistic, in one call."""
        parts = self._variance
        if not parts:
            return
        dev = np.concatenate([p.get("dev") for p in parts])
        edf = np.concatenate([p.get("edf") for p in parts])
        lo, hi = _edf.ci_bounds(dev, edf, self.request.ci)
        start = 0
        for p in parts:
            stop = start + p.size
            p.put("lo", lo[start:stop])
            p.put("hi", hi[start:stop])
            start = stop

    # ------------------------------------------------------------ raw estimators
    def raw(self, spec: Spec, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``spec``'s raw estimator at ``m`` (the same numbers), sharing kernel passes."""
        name, x, span, rate = spec.name, self.x, self.span, self.rate
        key = m.tobytes()
        if name in ("mdev", "tdev"):  # as _kernels_modified.mdev_raw / tdev_raw
            nan = self._gaps()[1] == 1  # the record's NaN scan, shared
            ms, s, n = self.memo(
                ("mdev_sums", key), lambda: _mdev_sums(x, m, span, nan, self.work())
            )
            mf = ms.astype(np.float64)
            scale = rate**2 / (2.0 * mf**4) if name == "mdev" else 1.0 / (6.0 * mf**2)
            return _scaled(s, n, scale), n
        if name in ("mtotdev", "ttotdev"):  # as _total_raw.mtot_raw / ttot_raw
            var, n = self.memo(("mtot", key), lambda: mtot_raw(x, m, rate, span))
            if name == "mtotdev":
                return var, n
            tau = m / rate
            return var * tau * tau / 3.0, n
        if name == "theo1":
            return self.theo1(m)
        if name == "theobr":  # as _total_raw.theobr_raw
            if m.size == 0:
                return np.zeros(0), np.zeros(0, dtype=np.int64)
            var, n = self.theo1(m)
            ratio = self.memo("br_ratio", self._br_ratio)
            return var * ratio, (n if np.isfinite(ratio) else np.zeros_like(n))
        if name == "oadev" and self._with_totdev():
            self._oadev_totdev(m)
        if name in ("adev", "hdev", "ohdev"):
            return self.memo((spec.raw, key), lambda: self._differences(name, m))
        return self.memo((spec.raw, key), lambda: spec.estimator()(x, m, rate, span))

    def _gaps(self) -> tuple[np.ndarray, int]:
        """``_kernels._span_args`` of the record, once: its NaN scan is a parallel pass."""
        return self.memo("gaps", lambda: _span_args(self.x, self.span))

    def _differences(self, name: str, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``adev_raw``, ``hdev_raw`` (``_strided_sums``) and ``ohdev_raw`` of
        :mod:`._kernels`, the same kernel calls, with the record's gap scan shared."""
        x, rate = self.x, self.rate
        sp, mode = self._gaps()
        s, n = _outputs(ms)
        if name == "ohdev":
            launch(_diff3, x.size, x, sp, ms, mode, _block(x.size), s, n)
            return _scaled(s, n, rate**2 / (6.0 * ms.astype(np.float64) ** 2)), n
        order = 2 if name == "adev" else 3
        if mode == 0 and ms.size and np.all((ms & (ms - 1)) == 0):  # octave: decimate
            # ADEV and HDEV from one decimation (each level's sums do not depend on top)
            orders = (2, 3) if {"adev", "hdev"} <= set(self.names) else (order,)
            top = int(ms.max())
            old = self._memo.get(("strided_octave", orders))
            if old is None or old[0].shape[1] < top.bit_length():
                self._memo[("strided_octave", orders)] = strided_octave(
                    x, top, orders, self.work()[0]
                )
            sl, nl = self._memo[("strided_octave", orders)]
            k = np.log2(ms).astype(np.int64)
            r = orders.index(order)
            s, n = sl[r, k], nl[r, k]
        else:
            _strided(x, sp, ms, order, mode, s, n)
        scale = rate**2 / ((2.0 if name == "adev" else 6.0) * ms.astype(np.float64) ** 2)
        return _scaled(s, n, scale), n

    def _with_totdev(self) -> bool:
        """OADEV and TOTDEV both asked for, on a named tau set (whose factors come
        without warnings), of a record TOTDEV does not trim (no NaN at either end)."""
        return (
            "totdev" in self.names
            and isinstance(self.taus, str)
            and self.x.size >= 3
            and (self.span is not None or not (np.isnan(self.x[0]) or np.isnan(self.x[-1])))
        )

    def _oadev_totdev(self, mo: np.ndarray) -> None:
        """``oadev_raw`` at ``mo`` and ``totdev_raw`` at TOTDEV's factors with one
        ``_diff2`` pass where their calls would pair the factors alike: TOTDEV's sum is
        OADEV's interior sum plus its edge terms (``totdev_edges``). Memoised as the two
        estimators' calls."""
        spec_o, spec_t = SPECS["oadev"], SPECS["totdev"]
        mt = factors(spec_t, self.taus, self.n_phase, self.rate)
        keys = ((spec_o.raw, mo.tobytes()), (spec_t.raw, mt.tobytes()))
        if mo.size == 0 or mt.size == 0 or all(k in self._memo for k in keys):
            return
        x, rate, nx = self.x, self.rate, self.x.size
        mode = self._gaps()[1]
        mu = np.where(mt <= nx - 2, mt, 0)
        # _diff2 pairs the factors by position: one call serves both statistics when
        # its list is TOTDEV's (as totdev_raw calls it) and OADEV's factors are its
        # first ones, in whole pairs (as oadev_raw calls it); named sets are so
        shared = mo.size % 2 == 0 and mo.size <= mu.size and np.array_equal(mu[: mo.size], mo)
        if shared and np.all(mu > 0):
            st, nt = self._interior(mu)
            so, no = st[: mo.size].copy(), nt[: mo.size].copy()
        else:
            so, no = self._interior(mo)
            st, nt = self._interior(mu)
        totdev_edges(x, self.span, mode, mu, st, nt)
        for key, m, sm, nm in ((keys[0], mo, so, no), (keys[1], mt, st, nt)):
            scale = rate**2 / (2.0 * m.astype(np.float64) ** 2)
            self._memo[key] = (_scaled(sm, nm, scale), nm)

    def _interior(self, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_diff2`` sums and counts at ``ms`` (0: none) with ``c0 = m``, the call of
        ``oadev_raw`` (and of ``totdev_raw`` for its interior)."""
        x, nx = self.x, self.x.size
        sp, mode = self._gaps()
        nts = np.where(ms > 0, np.maximum(nx - 2 * ms, 0), 0).astype(np.int64)
        s, n = _outputs(ms)
        launch(_diff2, nx, x, sp, ms, ms.copy(), nts, mode, _block(nx), s, n)
        return s, n

    def theo1(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_total_raw.theo1_raw`` at ``m``, each factor computed once (its Theo1 sum
        does not depend on the other factors of the call)."""
        missing = sorted({int(v) for v in m.tolist()} - set(self._theo))
        if missing:
            var, n = theo1_raw(self.x, np.array(missing, dtype=np.int64), self.rate, self.span)
            self._theo.update(zip(missing, zip(var.tolist(), n.tolist(), strict=True), strict=True))
        got = [self._theo[v] for v in m.tolist()]
        return (
            np.array([g[0] for g in got], dtype=np.float64),
            np.array([g[1] for g in got], dtype=np.int64),
        )

    def _br_ratio(self) -> float:
        """``_total_raw.br_ratio`` with the shared Theo1 sums."""
        top = br_ratio_check(self.n_phase)
        i = np.arange(top + 1, dtype=np.int64)
        avar, na = oadev_raw(self.x, 9 + 3 * i, self.rate, self.span)
        th, nt = self.theo1(12 + 4 * i)
        good = (na > 0) & (nt > 0)
        if not good.any():
            return np.nan
        return float(np.mean(avar[good] / th[good]))

    # ------------------------------------------------------------ noise identification
    def alphas(self, name: str, m: np.ndarray) -> np.ndarray:
        """:func:`qsense.stability.noise_id.identify_alphas` with shared ACF, B1, R(n)."""
        x = self.x_id
        m = np.asarray(m, dtype=np.int64).reshape(-1)
        if _is_theo(name):
            return np.full(m.size, self.memo("theo_alpha", lambda: _theo_alpha(x)), np.int64)
        last = _last_identified(name, x.size)
        out = np.zeros(m.size, dtype=np.int64)
        acf = x.size // m >= _ACF_MIN_POINTS
        if acf.any():
            out[acf] = self._acf_alphas(m[acf], _dmax(name))
        kept = ~acf & (m > last)
        b1_at = np.flatnonzero(~acf & ~kept)
        if b1_at.size:
            out[b1_at] = self._b1_alphas(m[b1_at], name)
        if kept.any():  # Stable32 keeps the previous tau's alpha
            order = np.argsort(m, kind="stable")
            first = order[0]
            if kept[first]:
                out[first] = self._b1_alphas(np.array([last], dtype=np.int64), name)[0]
            for prev, k in zip(order[:-1].tolist(), order[1:].tolist(), strict=True):
                if kept[k]:
                    out[k] = out[prev]
        return out

    def _acf_alphas(self, m: np.ndarray, dmax: int) -> np.ndarray:
        """Rounded lag-1 ACF exponents, once per (factor, dmax): the kernel's result at
        one factor does not depend on the others of its call. With Allan and Hadamard
        statistics both, one pass with dmax = 3 serves dmax = 2 too wherever it stopped
        before a third difference (the loop is the same up to there); the factors where
        it took a third are run again with dmax = 2."""
        missing = sorted({int(v) for v in m.tolist() if (int(v), dmax) not in self._acf})
        if missing:
            ms = np.array(missing, dtype=np.int64)
            freq = self.request.data_type == "freq"
            if self._both:
                r1, d = acf_alphas(self.x_id, ms, freq, 3)
                self._store(ms, r1, d, 3)
                redo = d == 3
                if redo.any():
                    r1 = r1.copy()
                    d = d.copy()
                    r1[redo], d[redo] = acf_alphas(self.x_id, ms[redo], freq, 2)
                self._store(ms, r1, d, 2)
            else:
                self._store(ms, *acf_alphas(self.x_id, ms, freq, dmax), dmax)
        return np.array([self._acf[(int(v), dmax)] for v in m.tolist()], dtype=np.int64)

    def _store(self, ms: np.ndarray, r1: np.ndarray, d: np.ndarray, dmax: int) -> None:
        """Rounded exponents of ``noise_id._acf_exponents`` from the kernel's (r1, d)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = r1 / (1.0 + r1)
        shift = 2 if self.request.data_type == "phase" else 0
        finite = np.isfinite(delta)
        rounded = -np.round(2.0 * np.where(finite, delta, 0.0)) - 2 * d + shift
        alpha = np.where(finite, np.clip(rounded, -2, 2), 0).astype(np.int64)
        self._acf.update({(v, dmax): a for v, a in zip(ms.tolist(), alpha.tolist(), strict=True)})

    def _b1_alphas(self, m: np.ndarray, name: str) -> np.ndarray:
        """``noise_id._b1_alphas`` with the B1 and R(n) ratios computed once per factor."""
        x = self.x_id
        missing = sorted({int(v) for v in m.tolist()} - set(self._b1))
        if missing:
            b1, ny = b1_ratios(x, np.array(missing, dtype=np.int64))
            self._b1.update(zip(missing, zip(b1.tolist(), ny.tolist(), strict=True), strict=True))
        got = [self._b1[v] for v in m.tolist()]
        b1 = np.array([g[0] for g in got])
        ny = np.array([g[1] for g in got], dtype=np.int64)
        out, pm = _b1_decide(b1, ny, name, x.size, m)
        if pm.size:
            want = sorted({int(m[k]) for k in pm.tolist()} - set(self._rn))
            if want:
                rn = rn_ratios(x, np.array(want, dtype=np.int64))
                self._rn.update(zip(want, rn.tolist(), strict=True))
            for k in pm.tolist():
                out[k] = _pm_alpha(self._rn[int(m[k])], int(m[k]))
        return out

    # ------------------------------------------------------------ EDF
    def edfs(self, spec: Spec, alpha: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``_edf.edfs`` once per EDF rule, noise exponents and factors."""
        rule = spec.greenhall if spec.edf == "greenhall" else spec.edf
        key = ("edf", rule, alpha.tobytes(), m.tobytes())
        return self.memo(key, lambda: _edf.edfs(spec.name, alpha, m, self.n_phase))


class _Slice:
    """Rows ``start:stop`` of a :class:`Columns` (an interval is written through it)."""

    __slots__ = ("cols", "size", "start", "stop")

    def __init__(self, cols: Columns, start: int, stop: int) -> None:
        self.cols, self.start, self.stop, self.size = cols, start, stop, stop - start

    def get(self, field: str) -> np.ndarray:
        return getattr(self.cols, field)[self.start : self.stop]

    def put(self, field: str, values: np.ndarray) -> None:
        getattr(self.cols, field)[self.start : self.stop] = values
