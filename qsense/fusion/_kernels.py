"""numba kernel of the AT1 clock-ensemble time scale (private; see :mod:`.ensemble`).

The time loop runs over explicit per-clock state, passed in and updated in place, so
a long record can be processed chunk by chunk with the same result as one call. The
kernel never raises; the public wrapper validates everything first. The equations are
those of :func:`qsense.fusion.ensemble_time_scale` (see its Notes); the tests check
this kernel against a plain Python loop of the same equations.
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel

__all__ = ["EPOCH", "STATE_COLUMNS", "at1", "new_state"]

#: Columns of the per-clock state array, shape (n_clocks, len(STATE_COLUMNS)).
STATE_COLUMNS = (
    "x",  # x_ie at the clock's last valid epoch (s)
    "epoch",  # index of that epoch (any origin: only differences are used)
    "y",  # frequency estimate y_ie (fractional)
    "var",  # smoothed, own-weight-corrected prediction-error variance (s^2)
    "updates",  # number of variance updates so far
    "seen",  # number of valid epochs so far
    "run",  # consecutive epochs flagged as an outlier
    "run_slope",  # sum of the phase slopes over those epochs
    "fcount",  # number of slopes in the frequency estimate's running mean (start-up)
)
_X, _EPOCH, _Y, _VAR, _UPD, _SEEN, _RUN, _RUN_SLOPE, _FCOUNT = range(9)
#: Column of the last valid epoch's index, which a caller shifts between chunks.
EPOCH = _EPOCH


def new_state(n_clocks: int) -> np.ndarray:
    """A fresh AT1 state: no clock seen yet."""
    return np.zeros((n_clocks, len(STATE_COLUMNS)))


@kernel
def _cap(raw, use, max_weight, w):  # pragma: no cover - numba
    """Weights ``raw / sum(raw)`` over ``use``, none above ``max_weight`` (water-filling).

    Clocks over the cap are fixed at it and the rest renormalised, until none exceeds
    it; if ``max_weight * count <= 1`` every used clock gets ``1 / count``.
    """
    nc = raw.size
    count = 0
    for i in range(nc):
        w[i] = 0.0
        if use[i]:
            count += 1
    if count == 0:
        return 0
    if max_weight * count <= 1.0:
        for i in range(nc):
            if use[i]:
                w[i] = 1.0 / count
        return count
    capped = np.zeros(nc, dtype=np.bool_)
    n_capped = 0
    while True:
        free = 0.0
        for i in range(nc):
            if use[i] and not capped[i]:
                free += raw[i]
        rest = 1.0 - max_weight * n_capped
        again = False
        for i in range(nc):
            if use[i]:
                if capped[i]:
                    w[i] = max_weight
                else:
                    w[i] = rest * raw[i] / free
                    if w[i] > max_weight:
                        capped[i] = True
                        n_capped += 1
                        again = True
        if not again:
            return count


@kernel
def at1(
    u,
    rate,
    tau_f,
    tau_e,
    max_weight,
    threshold,
    warmup,
    reset,
    k0,
    state,
    dev,
    weight,
    freq,
    sigma,
    outlier,
    ens_sigma,
):  # pragma: no cover - numba
    """Run AT1 over the epochs of ``u`` (shape (n, n_clocks), s; NaN = clock absent).

    ``tau_f`` (n_clocks,) frequency and ``tau_e`` (n_clocks,) error time constants in s;
    ``reset``: consecutive outlier epochs after which a clock's frequency is reset to
    their mean slope (inf: never); ``k0`` the index of ``u[0]`` in the whole record;
    ``state`` updated in place.
    Outputs (n, n_clocks): ``dev`` x_ie (s), ``weight``, ``freq`` y_ie, ``sigma`` (s),
    ``outlier`` (0/1); ``ens_sigma`` (n,) (s).
    """
    n, nc = u.shape
    present = np.zeros(nc, dtype=np.bool_)
    prior = np.zeros(nc, dtype=np.bool_)
    use = np.zeros(nc, dtype=np.bool_)
    flag = np.zeros(nc, dtype=np.bool_)
    pred = np.zeros(nc)
    dt = np.zeros(nc)
    raw = np.zeros(nc)
    w = np.zeros(nc)
    xe = np.zeros(nc)
    thr2 = threshold * threshold
    for k in range(n):
        kk = k0 + k
        n_present = 0
        n_use = 0
        n_prior = 0
        for i in range(nc):
            ui = u[k, i]
            present[i] = ui == ui
            prior[i] = present[i] and state[i, _SEEN] > 0.0
            flag[i] = False
            use[i] = False
            raw[i] = 0.0
            if present[i]:
                n_present += 1
            if prior[i]:
                n_prior += 1
                dt[i] = (kk - state[i, _EPOCH]) / rate
                pred[i] = state[i, _X] + state[i, _Y] * dt[i]
                if state[i, _UPD] >= warmup:
                    use[i] = True
                    raw[i] = 1.0 / max(state[i, _VAR], 1e-300)
                    n_use += 1
        established = n_use > 0
        if not established:  # start-up or every weighted clock absent: equal weights
            for i in range(nc):
                use[i] = prior[i]
                raw[i] = 1.0 if prior[i] else 0.0
            n_use = n_prior
        c = 0.0
        if n_use > 0:
            _cap(raw, use, max_weight, w)
            for i in range(nc):
                if use[i]:
                    c += w[i] * (pred[i] - u[k, i])
            if established and thr2 < np.inf:
                # Outliers one at a time, worst first, each clock judged against the
                # ensemble of the others (leave one out) and its expected error; needs
                # 3 weighted clocks (with 2, the better one would be blamed).
                while n_use >= 3:
                    w2s = 0.0
                    for i in range(nc):
                        if use[i]:
                            w2s += w[i] * w[i] * state[i, _VAR]
                    worst = -1
                    zmax = thr2
                    for i in range(nc):
                        rest = 1.0 - w[i]
                        if use[i] and rest > 1e-12:
                            e = u[k, i] + (c - w[i] * (pred[i] - u[k, i])) / rest - pred[i]
                            vi = state[i, _VAR]
                            ev = vi + (w2s - w[i] * w[i] * vi) / (rest * rest)
                            if ev > 0.0 and e * e > zmax * ev:
                                zmax = e * e / ev
                                worst = i
                    if worst < 0:
                        break
                    flag[worst] = True
                    use[worst] = False
                    raw[worst] = 0.0
                    n_use -= 1
                    _cap(raw, use, max_weight, w)
                    c = 0.0
                    for i in range(nc):
                        if use[i]:
                            c += w[i] * (pred[i] - u[k, i])
        elif n_present > 0:  # nothing to predict from: (re)initialise on the mean
            for i in range(nc):
                w[i] = 0.0
                if present[i]:
                    w[i] = 1.0 / n_present
                    c -= u[k, i] / n_present
        else:
            for i in range(nc):
                w[i] = 0.0
        ens_var = 0.0
        for i in range(nc):
            if not present[i]:
                dev[k, i] = np.nan
                weight[k, i] = 0.0
                freq[k, i] = np.nan
                sigma[k, i] = np.nan
                outlier[k, i] = 0
                continue
            xe[i] = u[k, i] + c
            if prior[i]:
                # Growing memory at start-up: running means until the filters' time
                # constants are reached, exponential filters after.
                if state[i, _SEEN] >= 2.0:  # a frequency estimate exists: update s_i^2
                    e = xe[i] - pred[i]
                    if 1.0 - w[i] > 1e-12:  # own-weight correction (else no information)
                        e2 = e * e / (1.0 - w[i])
                        if flag[i]:
                            e2 = min(e2, thr2 * state[i, _VAR])
                        ne = min(state[i, _UPD], tau_e[i] / dt[i])
                        state[i, _VAR] = (e2 + ne * state[i, _VAR]) / (ne + 1.0)
                        state[i, _UPD] += 1.0
                slope = (xe[i] - state[i, _X]) / dt[i]
                if flag[i]:  # an outlier does not move the filter; a run of them resets it
                    state[i, _RUN] += 1.0
                    state[i, _RUN_SLOPE] += slope
                    if state[i, _RUN] >= reset:  # restart: frequency, variance, warm-up
                        state[i, _Y] = state[i, _RUN_SLOPE] / state[i, _RUN]
                        state[i, _FCOUNT] = state[i, _RUN]
                        state[i, _UPD] = 0.0
                        state[i, _RUN] = 0.0
                        state[i, _RUN_SLOPE] = 0.0
                else:
                    state[i, _RUN] = 0.0
                    state[i, _RUN_SLOPE] = 0.0
                    m = min(state[i, _FCOUNT], tau_f[i] / dt[i])
                    state[i, _Y] = (slope + m * state[i, _Y]) / (1.0 + m)
                    state[i, _FCOUNT] += 1.0
            state[i, _X] = xe[i]
            state[i, _EPOCH] = kk
            state[i, _SEEN] += 1.0
            dev[k, i] = xe[i]
            weight[k, i] = w[i]
            outlier[k, i] = 1 if flag[i] else 0
            freq[k, i] = state[i, _Y] if state[i, _SEEN] >= 2.0 else np.nan
            sigma[k, i] = np.sqrt(state[i, _VAR]) if state[i, _UPD] > 0.0 else np.nan
            if w[i] > 0.0:
                ens_var += w[i] * w[i] * state[i, _VAR]
        ens_sigma[k] = np.sqrt(ens_var) if established else np.nan
