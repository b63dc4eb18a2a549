"""Vector magnetometry from the eight ODMR lines of an NV ensemble.

:func:`vector_field` inverts the exact ground-state Hamiltonian of the four <111> NV
orientations (the model of :func:`qsense.sensors.nv.resonances`) for the field vector.

Why the answer is a set. Without strain (E = 0) the two lines of one NV depend only on
|B| and on |B . n_i| (its axis n_i): the Hamiltonian is invariant under rotations about
the axis and under B -> -B (time reversal). An ensemble spectrum tells neither which
line pair belongs to which of the four axes nor the sign of each projection, so every
field obtained from B by an operation of the cubic point group O_h = T_d x {1, -1} (the
48 signed permutations of (Bx, By, Bz), which permute the four <111> axes up to sign)
gives the same eight lines. E.g. B = (1.34, 2.67, 4.01) mT and (-4.01, -2.67, -1.34) mT
are indistinguishable. A bias field (a known vector the field is near, e.g. the applied
bias magnet) picks one. With E != 0 the strain axis of each NV breaks the symmetry
slightly; each image is then refined on the exact Hamiltonian and kept only if it still
reproduces the lines.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import least_squares

from qsense import _validate
from qsense.sensors.nv._hamiltonian import NV_AXES, nv_frame, spin_matrices
from qsense.sensors.nv.odmr import (
    D_ZERO_FIELD,
    DD_DT,
    GAMMA_E,
    T_REFERENCE,
    _finite,
    _vector,
)

__all__ = ["VectorField", "vector_field"]

#: Frames (rows x, y, z; crystal coordinates) of the four NV axes, as in ``resonances``.
_FRAMES = np.array([nv_frame(ax) for ax in NV_AXES])
_S = np.array(spin_matrices(1.0))  # (3, 3, 3): Sx, Sy, Sz; basis ms = +1, 0, -1
#: The 48 signed permutation matrices: the cubic point group O_h acting on B.
_OH = np.array(
    [
        np.diag(s) @ np.eye(3)[list(p)]
        for p in itertools.permutations(range(3))
        for s in itertools.product((1.0, -1.0), repeat=3)
    ]
)
#: The 8 sign patterns of the four projections with the first positive.
_SIGNS = np.array([(1.0, *s) for s in itertools.product((1.0, -1.0), repeat=3)])
#: Pairings refined when the eight lines come unpaired (best by the invariants first).
_N_PAIRINGS = 8
#: chi-square p-value below which a solution does not reproduce the lines.
_P_REFUSE = 1e-6
#: Smallest residual scale (Hz) when ``sigma`` is None (eigenvalue round-off ~1e-6 Hz).
_SIGMA_FLOOR = 1e-3
_DOF = 5  # 8 lines - 3 field components


def _pairings(items: tuple[int, ...]) -> list[list[tuple[int, int]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for j, other in enumerate(rest):
        for tail in _pairings(rest[:j] + rest[j + 1 :]):
            out.append([(first, other), *tail])
    return out


_PAIRINGS = np.array(_pairings(tuple(range(8))))  # (105, 4, 2) line indices


@dataclass(frozen=True)
class VectorField:
    """Result of :func:`vector_field` (fields in T, crystal frame; frequencies in Hz).

    Attributes
    ----------
    B : numpy.ndarray, shape (3,)
        The field. NaN when ``ambiguous`` (no bias given and more than one solution):
        the lines alone do not say which member of ``solutions`` is the field.
    B_err : numpy.ndarray, shape (3,)
        1-sigma uncertainty of each component (NaN when ``ambiguous``; inf where the
        lines do not constrain the field to first order, e.g. B along [110] with E = 0,
        where two NVs are perpendicular to B and see it only in second order). Linear
        propagation does not hold within about one error of such points (and of B = 0).
    covariance : numpy.ndarray, shape (3, 3)
        Covariance of ``B`` (T^2), by linear propagation of the line uncertainties
        through the exact Hamiltonian, (J^T W J)^-1.
    magnitude, magnitude_err : float
        |B| and its 1-sigma uncertainty (T); known even when the direction is ambiguous.
    solutions : numpy.ndarray, shape (n_solutions, 3)
        Every field that reproduces the lines (without E: the O_h images of one field,
        48 for a generic direction, fewer on a symmetry plane or axis), sorted
        descending (x, then y, then z): the first is the image with
        Bx >= By >= Bz >= 0 when there is one.
    covariances : numpy.ndarray, shape (n_solutions, 3, 3)
        The covariance of each solution (T^2).
    n_solutions : int
        Number of distinct solutions.
    ambiguous : bool
        True when no bias was given and n_solutions > 1.
    assignment : numpy.ndarray of int
        For the chosen ``B``: the NV axis (row of :data:`NV_AXES`) of each input line,
        same shape as the input lines; -1 when ``ambiguous``.
    residuals : numpy.ndarray
        Input lines minus the lines of ``B`` (or of ``solutions[0]`` when ambiguous),
        Hz, same shape as the input.
    chi2 : float
        Sum of squared residuals over sigma^2 (5 degrees of freedom); NaN without sigma.
    """

    B: np.ndarray
    B_err: np.ndarray
    covariance: np.ndarray
    magnitude: float
    magnitude_err: float
    solutions: np.ndarray
    covariances: np.ndarray
    n_solutions: int
    ambiguous: bool
    assignment: np.ndarray
    residuals: np.ndarray
    chi2: float


def _model(u: np.ndarray, d: float, e: float) -> tuple[np.ndarray, np.ndarray]:
    """Lines (4, 2) in Hz and their Jacobian (4, 2, 3) in Hz per Hz of u = gamma B
    (crystal frame), from the exact 3x3 Hamiltonian of each axis (Hellmann-Feynman)."""
    b_nv = _FRAMES @ u  # (4, 3) gamma B in each NV frame
    sx, sy, sz = _S
    h0 = d * sz @ sz + e * (sx @ sx - sy @ sy)
    h = h0[None] + np.einsum("kj,jab->kab", b_nv, _S)
    w, v = np.linalg.eigh(h)
    i0 = np.argmax(np.abs(v[:, 1, :]), axis=1)  # the ms = 0-like state of each axis
    spin = np.einsum("kan,jab,kbn->knj", v.conj(), _S, v).real  # <n|S_j|n>, (4, 3, 3)
    lines = np.empty((4, 2))
    jac = np.empty((4, 2, 3))
    for k in range(4):
        others = [n for n in range(3) if n != i0[k]]
        others.sort(key=lambda n: w[k, n])
        for m, n in enumerate(others):
            lines[k, m] = w[k, n] - w[k, i0[k]]
            jac[k, m] = (spin[k, n] - spin[k, i0[k]]) @ _FRAMES[k]
    return lines, jac


def _assign(model: np.ndarray, meas: np.ndarray, paired: bool) -> np.ndarray:
    """Index into model.ravel() for each measured line (meas.ravel() order)."""
    if paired:
        best, best_cost = None, np.inf
        for perm in itertools.permutations(range(4)):
            cost = float(np.sum((model[list(perm)] - meas) ** 2))
            if cost < best_cost:
                best, best_cost = perm, cost
        return np.array([2 * p + m for p in best for m in (0, 1)])
    idx = np.empty(8, dtype=int)
    idx[np.argsort(meas.ravel(), kind="stable")] = np.argsort(model.ravel(), kind="stable")
    return idx


def _refine(
    u0: np.ndarray, meas: np.ndarray, weight: np.ndarray, paired: bool, d: float, e: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares u = gamma B (Hz) reproducing the lines; returns u, the assignment
    and the weighted Jacobian (8, 3) at u."""
    m = meas.ravel()
    u = np.asarray(u0, dtype=float)
    scale = 1e6  # fit in MHz of gamma B: well conditioned
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = x.tobytes()
        if key not in cache:  # LM asks for the residual and the Jacobian at one x
            cache.clear()
            cache[key] = _model(x * scale, d, e)
        return cache[key]

    for _ in range(3):
        idx = _assign(_model(u, d, e)[0], meas, paired)

        def fun(x, idx=idx):
            return (model(x)[0].ravel()[idx] - m) * weight

        def jac(x, idx=idx):
            return model(x)[1].reshape(8, 3)[idx] * weight[:, None] * scale

        res = least_squares(fun, u / scale, jac=jac, method="lm", xtol=1e-15, ftol=1e-15,
                            gtol=1e-15)  # fmt: skip
        u = res.x * scale
        if np.array_equal(_assign(_model(u, d, e)[0], meas, paired), idx):
            break
    lines, jac = _model(u, d, e)
    idx = _assign(lines, meas, paired)
    return u, idx, jac.reshape(8, 3)[idx] * weight[:, None]


def _starts(
    meas: np.ndarray, paired: bool, d: float, e: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """Starting gamma B (Hz) from the Hamiltonian invariants, for the best pairings.

    Per pair (fl, fu): with l0 = (2D - fl - fu)/3 and l1,2 = l0 + fl,u the eigenvalues,
    (gamma B)^2 = D^2 - E^2 - (l0 l1 + l0 l2 + l1 l2) and, for E = 0,
    (gamma B_perp)^2 = -l0 l1 l2 / D; then B = (3/4) sum_i s_i |B.n_i| n_i over signs s
    that close sum_i s_i |B.n_i| = 0 (the four <111> axes sum to zero). Returns the
    starts of the best pairings and their scores (inconsistency of the invariants, Hz^2).
    """
    pairs = meas[None] if paired else np.sort(meas.ravel()[_PAIRINGS], axis=2)
    fl, fu = pairs[..., 0], pairs[..., 1]
    l0 = (2 * d - fl - fu) / 3
    l1, l2 = l0 + fl, l0 + fu
    u2 = d * d - e * e - (l0 * l1 + l0 * l2 + l1 * l2)  # (P, 4)
    p2 = u2 + l0 * l1 * l2 / d  # (gamma B_par)^2
    a = np.sqrt(np.clip(p2, 0.0, None))
    closure = np.abs(a @ _SIGNS.T)  # (P, 8)
    best_sign = np.argmin(closure, axis=1)
    u2m = np.mean(u2, axis=1, keepdims=True)
    score = (
        np.std(u2, axis=1)
        + np.abs(np.sum(p2, axis=1) - 4 / 3 * u2m[:, 0])
        + np.min(closure, axis=1) ** 2
        + np.sum(np.clip(-p2, 0, None), axis=1)
    )
    order = np.argsort(score, kind="stable")[:_N_PAIRINGS]
    return [0.75 * (_SIGNS[best_sign[i]] * a[i]) @ NV_AXES for i in order], score[order]


def _mhz(f: np.ndarray) -> str:
    return "[" + ", ".join(f"{x / 1e6:.6f}" for x in np.ravel(f)) + "]"


def _check_lines(lines: Any) -> tuple[np.ndarray, bool]:
    if hasattr(lines, "data_vars"):
        raise TypeError("lines must be an array of 8 frequencies (Hz), got a Dataset")
    f = _validate.real_array("lines", lines)
    if f.shape not in ((4, 2), (8,)):
        raise ValueError(
            f"lines must have shape (4, 2) (one row per NV orientation) or (8,) (unsorted), "
            f"got shape {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError(f"lines must be finite, got {f.ravel().tolist()} Hz")
    if not np.all((f > 0) & (f < 1e12)):
        raise ValueError(
            f"lines must be positive frequencies below 1 THz (Hz), got {f.ravel().tolist()}"
        )
    return f, f.ndim == 2


def _check_sigma(sigma: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if sigma is None:
        return None
    s = _validate.real_array("sigma", sigma)
    if s.ndim == 0:
        s = np.full(shape, float(s))
    if s.shape != shape:
        raise ValueError(f"sigma must be a scalar or have the lines' shape {shape}, got {s.shape}")
    if not np.all(np.isfinite(s) & (s >= 1e-9) & (s <= 1e12)):
        raise ValueError(f"sigma must be between 1e-9 and 1e12 Hz, got {s.ravel().tolist()}")
    return s


def _within(name: str, value: float, low: float, high: float, unit: str) -> float:
    if not low < value <= high:
        raise ValueError(f"{name} must be in ({low:g}, {high:g}] {unit}, got {value!r}")
    return value


def vector_field(
    lines: Any,
    *,
    sigma: Any = None,
    bias: Any = None,
    D: float = D_ZERO_FIELD,
    E: float = 0.0,
    gamma: float = GAMMA_E,
    temperature: float | None = None,
    tolerance: float = 100e3,
) -> VectorField:
    """The field vector (T, crystal frame) from the eight ODMR lines of an NV ensemble.

    Inverts the exact ground-state Hamiltonian of :func:`resonances` (``axes="ensemble"``).
    Starting values come from the invariants of each NV's 3x3 Hamiltonian (as in
    :func:`field_from_lines`): trace and second invariant give |B|, the determinant
    gives |B . n_i| (exact for E = 0); for unpaired lines the 105 ways of pairing eight
    lines are ranked by how well the four pairs agree on |B| and close the tetrahedral
    sum, and the best are refined by Levenberg-Marquardt least squares of all eight
    lines against the exact eigenvalues (analytic Hellmann-Feynman Jacobian). The
    covariance is the linear propagation (J^T W J)^-1 of the line uncertainties.

    **Ambiguity (T_d symmetry).** The lines fix |B . n_i| for the four <111> axes but
    not which line pair belongs to which axis nor the sign of each projection: every
    image of B under the 48 signed permutations of (Bx, By, Bz) (the cubic point group
    T_d together with B -> -B) gives the same spectrum (exactly for E = 0; for E != 0
    each image is refined and kept if it still fits). Without ``bias`` all of them are
    returned in ``solutions``, ``ambiguous`` is True and ``B`` is NaN (48 solutions for a
    generic direction; 24, 12, 8 or 6 on symmetry planes and axes). With ``bias`` the
    solution nearest to it is returned as ``B``; a warning says when the bias is nearly
    as close to another solution (it then does not single one out).

    Parameters
    ----------
    lines : array_like, shape (4, 2) or (8,)
        Line centres (Hz): one row per NV orientation ([lower, upper], in any axis
        order; the pairing is then used), or the eight lines in any order (the pairing
        is found). Valid below the ground-state level anti-crossing (|gamma B| < D,
        about 0.1 T) and without hyperfine structure (give each multiplet's centre).
    sigma : float or array_like, optional
        1-sigma uncertainty of each line (Hz, 1e-9 to 1e12), scalar or the shape of
        ``lines``; a solution is refused when its chi-square (5 degrees of freedom) has
        p < 1e-6.
        None: the noise is unknown; the errors are scaled by the best fit's residual
        (sqrt(RSS / 5)) and a solution is refused when its rms residual exceeds
        ``tolerance``.
    bias : array_like, shape (3,), optional
        A field (T, crystal frame) known to be near the true one (e.g. the applied bias
        magnet; below 100 T per component): selects the nearest solution.
    D : float
        Zero-field splitting (Hz, 1 MHz to 1 THz) (at 300 K when ``temperature`` is given).
    E : float
        Strain splitting (Hz, |E| < D), along each NV frame's x axis as in
        :func:`resonances`.
    gamma : float
        Electron gyromagnetic ratio (Hz/T, 1e6 to 1e13), default :data:`GAMMA_E`
        (28.032 GHz/T, g = 2.0028).
    temperature : float, optional
        Temperature (K, up to 1000): D + dD/dT (temperature - 300 K), dD/dT = -74.2 kHz/K.
    tolerance : float
        Largest rms line residual (Hz) accepted when ``sigma`` is None (default
        100 kHz, about 3.6 uT).

    Returns
    -------
    VectorField
        ``B``, ``B_err``, ``covariance``, ``magnitude``, ``solutions``,
        ``n_solutions``, ``ambiguous``, ``assignment``, ``residuals``, ``chi2``.

    Raises
    ------
    ValueError
        ``lines`` of the wrong shape, non-finite or not positive; lines no field can
        produce (no solution passes the chi-square or ``tolerance`` test); bad
        ``sigma``, ``bias``, ``D``, ``E``, ``gamma``, ``temperature`` or ``tolerance``.

    Examples
    --------
    >>> import numpy as np
    >>> from qsense.sensors.nv import resonances, vector_field
    >>> B = np.array([1.34e-3, 2.67e-3, 4.01e-3])
    >>> lines = resonances(B).ravel()[::-1]  # the 8 lines in any order
    >>> vector_field(lines).n_solutions
    48
    >>> out = vector_field(lines, bias=[1e-3, 3e-3, 4e-3])
    >>> bool(np.allclose(out.B, B, rtol=0, atol=1e-12))
    True
    """
    meas, paired = _check_lines(lines)
    if paired:
        meas = np.sort(meas, axis=1)
    shape = meas.shape
    sig = _check_sigma(sigma, shape)
    b_bias = None if bias is None else _vector("bias", bias)
    if b_bias is not None and not np.max(np.abs(b_bias)) <= 100.0:
        raise ValueError(f"bias must be a field below 100 T per component, got {b_bias!r} T")
    d = _within("D", _validate.positive_float("D", D), 1e6, 1e12, "Hz")
    e = _finite("E", E)
    if not abs(e) < d:
        raise ValueError(f"E must be smaller than D = {d!r} Hz in magnitude, got {e!r} Hz")
    g = _within("gamma", _validate.positive_float("gamma", gamma), 1e6, 1e13, "Hz/T")
    if temperature is not None:
        t = _within("temperature", _validate.positive_float("temperature", temperature), 0.0,
                    1000.0, "K")  # fmt: skip
        d = d + DD_DT * (t - T_REFERENCE)
    tol = _validate.positive_float("tolerance", tolerance)
    weight = np.ones(8) if sig is None else 1.0 / sig.ravel()
    m = meas.ravel()

    chi2_limit = float(stats.chi2.isf(_P_REFUSE, _DOF))

    def accepted(rss: float) -> bool:
        return rss <= 8 * tol * tol if sig is None else rss <= chi2_limit

    fits = []  # (rss_weighted, u, idx, weighted jac)
    starts, scores = _starts(meas, paired, d, e)
    for u0, score in zip(starts, scores, strict=True):
        key = np.sort(np.abs(u0))
        if any(np.linalg.norm(key - np.sort(np.abs(f[1]))) < 1e-2 * np.linalg.norm(u0)
               for f in fits):  # fmt: skip
            continue  # a start within 1 % of the orbit of a fit made converges to it
        if fits and accepted(min(f[0] for f in fits)) and score > 10 * scores[0]:
            break  # a fit is accepted and the remaining pairings are far less consistent
        u, idx, wj = _refine(u0, meas, weight, paired, d, e)
        r = (_model(u, d, e)[0].ravel()[idx] - m) * weight
        fits.append((float(r @ r), u, idx, wj))
    best = min(fits, key=lambda f: f[0])
    if sig is None:
        rms = np.sqrt(best[0] / 8)
        if rms > tol:
            raise ValueError(
                f"lines = {_mhz(m)} MHz: no field reproduces them (best rms residual {rms:.4g} Hz "
                f"> tolerance {tol:.4g} Hz; D = {d!r} Hz, E = {e!r} Hz)"
            )
        noise = max(np.sqrt(best[0] / _DOF), _SIGMA_FLOOR)
    else:
        noise = 1.0
    limit = chi2_limit * noise**2
    if best[0] > limit:
        raise ValueError(
            f"lines = {_mhz(m)} MHz: no field reproduces them within sigma (chi-square "
            f"{best[0]:.4g} for 5 degrees of freedom, p < {_P_REFUSE:g}; D = {d!r} Hz, "
            f"E = {e!r} Hz)"
        )

    # every O_h image of each accepted fit (one fit per orbit), refined when E != 0
    sols: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []
    reps: list[np.ndarray] = []  # sorted |gamma B| of the fits imaged so far
    for rss0, u_fit, _, wj0 in sorted(fits, key=lambda f: f[0]):
        if rss0 > limit:
            continue
        # two solutions are the same when closer than round-off or than a hundredth of
        # their 1-sigma error (capped at 1e-4 |u|): several starts reach one minimum
        spread = noise / np.sqrt(max(np.linalg.eigvalsh(wj0.T @ wj0)[0], 1e-300))
        unorm = float(np.linalg.norm(u_fit))
        near = 1e-9 * max(unorm, 1.0) + min(0.01 * spread, 1e-4 * unorm)
        key = np.sort(np.abs(u_fit))
        if any(np.linalg.norm(key - k) <= near for k in reps):
            continue  # an image of a fit already imaged
        reps.append(key)
        for op in _OH:
            u = op @ u_fit
            if e != 0.0:
                u, idx, wj = _refine(u, meas, weight, paired, d, e)
                lines_u = _model(u, d, e)[0]
            else:
                lines_u, jac_u = _model(u, d, e)
                idx = _assign(lines_u, meas, paired)
                wj = jac_u.reshape(8, 3)[idx] * weight[:, None]
            r = (lines_u.ravel()[idx] - m) * weight
            rss = float(r @ r)
            if rss > limit:
                continue
            if sols and np.min(np.linalg.norm(np.array([q[0] for q in sols]) - u, axis=1)) <= near:
                continue
            sols.append((u, idx, wj, rss))
    sols.sort(key=lambda s: tuple(-s[0]))

    def cov_of(wj: np.ndarray) -> np.ndarray:
        a = wj.T @ wj
        if np.linalg.cond(a) > 1e14:
            return np.full((3, 3), np.inf)
        return np.linalg.inv(a) * noise**2 / (g * g)

    solutions = np.array([s[0] for s in sols]) / g
    covs = np.array([cov_of(s[2]) for s in sols])
    n = len(sols)
    chosen = 0
    if b_bias is not None and n > 1:
        dist = np.linalg.norm(solutions - b_bias, axis=1)
        order = np.argsort(dist)
        chosen = int(order[0])
        gap = np.linalg.norm(solutions[order[0]] - solutions[order[1]])
        if dist[order[1]] - dist[order[0]] < 0.1 * gap:
            _validate.warn(
                f"bias = {b_bias!r} T is nearly as close to the solution "
                f"{solutions[order[1]]!r} T as to {solutions[chosen]!r} T: it does not "
                "single out the field"
            )
    ambiguous = b_bias is None and n > 1
    u_c, idx_c, _, rss_c = sols[chosen]
    residuals = m - _model(u_c, d, e)[0].ravel()[idx_c]
    mag = float(np.linalg.norm(solutions[chosen]))
    mvec = solutions[chosen] / mag if mag > 0 else np.zeros(3)
    finite = mag > 0 and bool(np.all(np.isfinite(covs[chosen])))
    mag_err = float(np.sqrt(mvec @ covs[chosen] @ mvec)) if finite else np.inf
    if ambiguous:
        b_out = np.full(3, np.nan)
        cov_out = np.full((3, 3), np.nan)
        assignment = np.full(shape, -1)
    else:
        b_out, cov_out = solutions[chosen], covs[chosen]
        assignment = (idx_c // 2).reshape(shape)
    return VectorField(
        B=b_out,
        B_err=np.sqrt(np.diag(cov_out)),
        covariance=cov_out,
        magnitude=mag,
        magnitude_err=mag_err,
        solutions=solutions,
        covariances=covs,
        n_solutions=n,
        ambiguous=ambiguous,
        assignment=assignment,
        residuals=residuals.reshape(shape),
        chi2=float(rss_c) if sig is not None else np.nan,
    )
