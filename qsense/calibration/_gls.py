"""Regression with correlated noise as a state-space model (the engine of qsense.calibration).

A record ``y`` (normalised to O(1)) is modelled as ``y[t] = X[t] @ beta + u[t] + v[t]``:
``X`` the regressors (drift basis, drivers, a reference record), ``beta`` constant
coefficients, ``u`` a correlated noise process (none, AR(1), a random walk, or flicker
approximated by a sum of AR(1) processes) and ``v`` white noise. The coefficients are
states with a vague (approximately diffuse) prior, so one pass of the Kalman filter of
:class:`qsense.denoise.StateSpace` gives the generalised-least-squares estimate of
``beta`` and its covariance at the last sample, NaN gaps skipped, and its
log-likelihood is (up to a constant) the restricted (REML) likelihood of the noise
parameters, which :func:`qsense.denoise.fit` maximises (Harvey 1989, sec. 3.4 and
5.3; de Jong 1991, "The diffuse Kalman filter", Ann. Stat. 19(2)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from qsense.denoise import StateSpace, fit

__all__ = [
    "METHOD",
    "NOISE_MODELS",
    "Builder",
    "GLSResult",
    "gls",
    "gls_at",
    "hessian",
    "normalise",
]

#: Noise models of the residual (besides the white measurement noise ``v``).
NOISE_MODELS = ("white", "ar1", "flicker", "random_walk")

#: Prior variance of the regression coefficients, in units of the variance of the
#: least-squares residual (which is removed before filtering, so the coefficients are
#: corrections of that size): vague enough to bias nothing (1e-4 relative), small
#: enough to keep the likelihood smooth. With 1e8 its rounding noise (~1e-5 in the
#: log-likelihood of a quadratic drift) stalled the optimiser.
KAPPA = 1e4


def kappa(resid: np.ndarray) -> float:
    """Prior variance of the coefficients for a least-squares residual ``resid``."""
    r = resid[np.isfinite(resid)]
    return KAPPA * max(1.0, float(np.var(r)) if r.size > 1 else 1.0)


#: Optimiser of the noise parameters (in log-parameters). Nelder-Mead, not L-BFGS-B:
#: scipy's L-BFGS-B calls multi-threaded BLAS on its tiny matrices, which on 2 busy
#: cores took 1.4 s against 0.06 s for the same AR(1) fit (same optimum to 0.02 in
#: log-likelihood); its default tolerances also stopped ~1 % short on the flat
#: likelihood of a variance.
METHOD = "Nelder-Mead"
_OPTIONS = {"xatol": 1e-4, "fatol": 1e-9, "maxiter": 2000}

#: Bounds of the noise parameters in normalised units (variance, 1 - phi).
_VAR_BOUNDS = (1e-10, 1e4)
_ONE_MINUS_PHI_BOUNDS = (1e-7, 1.0)


def normalise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(y - centre) / scale`` with the median and a robust scale of the first differences."""
    ok = np.isfinite(y)
    centre = float(np.median(y[ok]))
    dy = np.diff(y)
    dy = dy[np.isfinite(dy)]
    scale = 0.0
    if dy.size:
        scale = float(np.median(np.abs(dy - np.median(dy)))) * 1.4826 / np.sqrt(2.0)
    if not scale > 0:
        scale = float(np.std(y[ok]))
    if not scale > 0:
        scale = max(abs(centre), 1.0)
    return (y - centre) / scale, centre, scale


def _flicker_phis(n: int) -> np.ndarray:
    """AR(1) coefficients, one per decade of correlation time from 1 sample to ``n``.

    At most 5 (each is a state of the filter). Starting at 3 samples with fewer
    components was 2x faster but covered a flicker drift rate's truth 78 % of the time
    against the nominal 68 % (100 seeds, n = 256); this spacing gave 73 %.
    """
    decades = max(1, int(np.ceil(np.log10(max(n, 10)))))
    count = min(decades + 1, 5)
    corr_times = np.logspace(0.0, np.log10(max(n, 10)), count)
    return np.exp(-1.0 / corr_times)


@dataclass(frozen=True)
class _Noise:
    """Noise block: parameter count, start, bounds and the block matrices."""

    kind: str
    n: int  # samples (for the flicker decades)

    @property
    def n_states(self) -> int:
        return {"white": 0, "ar1": 1, "random_walk": 1, "flicker": len(_flicker_phis(self.n))}[
            self.kind
        ]

    def start(self, resid: np.ndarray) -> list[float]:
        r = resid[np.isfinite(resid)]
        var = float(np.var(r)) if r.size > 1 else 1.0
        var = min(max(var, 1e-6), 1e3)
        a, b = resid[:-1], resid[1:]
        ok = np.isfinite(a) & np.isfinite(b)
        rho = float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 2 else 0.0
        rho = min(max(rho if np.isfinite(rho) else 0.0, 0.05), 0.99)
        if self.kind == "white":
            return [var * r.size / max(r.size - 2, 1)]
        if self.kind == "ar1":
            return [1.0 - rho, rho * var, (1 - rho) * var + 1e-6]
        if self.kind == "random_walk":
            d = np.diff(resid)
            dv = float(np.nanvar(d)) if np.sum(np.isfinite(d)) > 1 else var
            return [max(dv * 0.5, 1e-6), max(dv * 0.25, 1e-6)]
        return [0.5 * var, 0.5 * var]  # flicker

    def bounds(self) -> list[tuple[float, float]]:
        if self.kind == "ar1":
            return [_ONE_MINUS_PHI_BOUNDS, _VAR_BOUNDS, _VAR_BOUNDS]
        return [_VAR_BOUNDS] * (1 if self.kind == "white" else 2)

    def blocks(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(F, Q, P0) of the noise states and the white variance ``r``."""
        if self.kind == "white":
            z = np.zeros((0, 0))
            return z, z, z, float(theta[0])
        if self.kind == "ar1":
            phi = 1.0 - theta[0]
            s2 = theta[1]
            q = s2 * (1.0 - phi * phi)
            return np.array([[phi]]), np.array([[q]]), np.array([[s2]]), float(theta[2])
        if self.kind == "random_walk":  # starts at 0: its initial value is the offset's
            return np.eye(1), np.array([[theta[0]]]), np.zeros((1, 1)), float(theta[1])
        phis = _flicker_phis(self.n)  # equal variance per decade of correlation time
        s2 = theta[0] / phis.size
        return (
            np.diag(phis),
            np.diag(s2 * (1.0 - phis**2)),
            np.diag(np.full(phis.size, s2)),
            float(theta[1]),
        )

    def names(self) -> list[str]:
        return {
            "white": ["white_variance"],
            "ar1": ["ar1_one_minus_phi", "ar1_variance", "white_variance"],
            "random_walk": ["random_walk_variance_per_sample", "white_variance"],
            "flicker": ["flicker_variance", "white_variance"],
        }[self.kind]


def build(X: np.ndarray, noise: _Noise, theta: np.ndarray, prior: float = KAPPA) -> StateSpace:
    """The state-space model of ``y = X beta + u + v`` for noise parameters ``theta``."""
    T, p = X.shape
    Fn, Qn, P0n, r = noise.blocks(theta)
    k = Fn.shape[0]
    n = p + k
    F = np.eye(n)
    F[p:, p:] = Fn
    Q = np.zeros((n, n))
    Q[p:, p:] = Qn
    P0 = np.zeros((n, n))
    P0[:p, :p] = prior * np.eye(p)
    P0[p:, p:] = P0n
    H = np.ones((T, 1, n))
    H[:, 0, :p] = X
    return StateSpace(F, H, Q, [[r]], np.zeros(n), P0)


class Builder:
    """``theta -> StateSpace`` for a fixed noise model, reusing one validated model.

    The first call builds (and validates) the model; later calls only write the new
    noise blocks (and, with :meth:`set_design`, a new design ``X``) into its
    matrices. The blocks of :class:`_Noise` are valid for any ``theta`` inside the
    bounds, and the validation cost ~10x the filter itself on short records.
    """

    def __init__(self, X: np.ndarray, noise: _Noise, prior: float = KAPPA) -> None:
        self.X = X
        self.noise = noise
        self.prior = prior
        self.model: StateSpace | None = None

    def set_design(self, X: np.ndarray) -> None:
        self.X = X
        if self.model is not None:
            self.model.H[:, 0, : X.shape[1]] = X

    def __call__(self, theta: np.ndarray) -> StateSpace:
        theta = np.asarray(theta, dtype=np.float64)
        if self.model is None:
            self.model = build(self.X, self.noise, theta, self.prior)
            return self.model
        Fn, Qn, P0n, r = self.noise.blocks(theta)
        p, m = self.X.shape[1], self.model
        m.F[0, p:, p:] = Fn
        m.Q[0, p:, p:] = Qn
        m.P0[p:, p:] = P0n
        m.R[0, 0, 0] = r
        return m


@dataclass(frozen=True)
class GLSResult:
    """Coefficients, their covariance and the fitted noise model (normalised units)."""

    beta: np.ndarray
    cov: np.ndarray
    theta: np.ndarray
    theta_names: list[str]
    loglik: float
    chi2: float  # sum of squared standardised innovations after the diffuse steps
    dof: int
    kind: str
    model: StateSpace


def _innovation_var(model: StateSpace, Pf: np.ndarray) -> np.ndarray:
    """Innovation variances ``S[t] = H (F P[t-1] F' + Q) H' + R`` (``P0`` at t = 0)."""
    F, Q, H, R = model.F[0], model.Q[0], model.H[:, 0, :], model.R[0, 0, 0]
    Pp = np.empty_like(Pf)
    Pp[0] = model.P0
    Pp[1:] = F @ Pf[:-1] @ F.T + Q
    return np.einsum("ti,tij,tj->t", H, Pp, H) + R


def _summarise(
    model: StateSpace, y: np.ndarray, beta0: np.ndarray, noise: _Noise, theta
) -> GLSResult:
    """GLS result of ``model`` on ``y - X beta0`` (``beta0`` added back to the states)."""
    p = beta0.size
    out = model.filter(y)
    x = out["x"].values
    P = out["P"].values
    e = out["innovation"].values[:, 0]
    S = _innovation_var(model, P)
    used = np.flatnonzero(np.isfinite(e))
    after = used[p:]  # the first p used steps are dominated by the vague prior
    chi2 = float(np.sum(e[after] ** 2 / S[after]))
    cov = P[-1, :p, :p]
    cov = 0.5 * (cov + cov.T)
    return GLSResult(
        beta=beta0 + x[-1, :p],
        cov=cov,
        theta=np.asarray(theta, dtype=np.float64),
        theta_names=noise.names(),
        loglik=float(out.attrs["loglik"]),
        chi2=chi2,
        dof=int(max(after.size - len(theta), 1)),
        kind=noise.kind,
        model=model,
    )


def ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares on the finite samples: coefficients and residual (NaN at gaps)."""
    ok = np.isfinite(y)
    beta, *_ = np.linalg.lstsq(X[ok], y[ok], rcond=None)
    return beta, y - X @ beta


def reml_nll(
    X: np.ndarray, y: np.ndarray, noise: _Noise, theta: np.ndarray, builder: Builder | None = None
) -> float:
    """Negative restricted log-likelihood of the noise parameters ``theta``.

    The least-squares fit is removed first: the diffuse (REML) likelihood does not
    change when ``X gamma`` is added to ``y``, and the vague prior then only has to
    cover the O(noise) correction, which keeps the filter exact to rounding.
    ``builder`` (for the same ``noise``) reuses one model across calls.
    """
    _, resid = ols(X, y)
    if builder is None:
        builder = Builder(X, noise, kappa(resid))
    else:
        builder.set_design(X)
    try:
        return -builder(theta).loglik(resid)
    except ValueError:
        return np.inf


def gls_at(X: np.ndarray, y: np.ndarray, noise: _Noise, theta: np.ndarray) -> GLSResult:
    """The GLS fit of ``y`` on ``X`` for given noise parameters."""
    beta0, resid = ols(X, y)
    return _summarise(build(X, noise, theta, kappa(resid)), resid, beta0, noise, theta)


def gls(X: np.ndarray, y: np.ndarray, kind: str) -> GLSResult:
    """Fit ``y = X beta + noise`` with the noise model ``kind`` (REML, Kalman GLS).

    ``y`` normalised (noise O(1)), NaN for gaps; ``X`` (T, p) finite and O(1).
    """
    noise = _Noise(kind, y.size)
    beta0, resid = ols(X, y)
    start = noise.start(resid)
    builder = Builder(X, noise, kappa(resid))
    res = fit(
        builder, resid, start, noise.bounds(), transform="log", method=METHOD, options=_OPTIONS
    )
    return _summarise(build(X, noise, res.params, kappa(resid)), resid, beta0, noise, res.params)


def gls_auto(X: np.ndarray, y: np.ndarray, kinds: tuple[str, ...]) -> GLSResult:
    """The noise model of ``kinds`` with the smallest BIC (Schwarz 1978)."""
    best, best_bic = None, np.inf
    n = int(np.sum(np.isfinite(y)))
    for kind in kinds:
        r = gls(X, y, kind)
        bic = -2.0 * r.loglik + r.theta.size * np.log(n)
        if bic < best_bic:
            best, best_bic = r, bic
    assert best is not None
    return best


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    x = np.asarray(x, dtype=np.float64)
    k = x.size
    Hm = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = steps[i]
        Hm[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = steps[j]
            Hm[i, j] = Hm[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4.0 * steps[i] * steps[j])
    return Hm


def minimize_1d_grid(f: Callable[[float], float], grid: np.ndarray) -> float:
    """Minimum of ``f`` over a log grid, refined by a bounded scalar search."""
    vals = np.array([f(g) for g in grid])
    i = int(np.nanargmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi <= lo:
        return float(grid[i])
    res = scipy.optimize.minimize_scalar(
        lambda z: f(float(np.exp(z))), bounds=(np.log(lo), np.log(hi)), method="bounded"
    )
    return float(np.exp(res.x)) if res.fun <= vals[i] else float(grid[i])
