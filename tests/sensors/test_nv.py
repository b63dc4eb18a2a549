"""NV resonances against an independent diagonalisation, degeneracies, hyperfine; ODMR."""

from __future__ import annotations

import numpy as np
import pytest

from qsense.sensors import nv

D, E, GAMMA = 2.8771e9, 3.1e6, 28.0e9
AXES = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) / np.sqrt(3)


def _reference(b_crystal: np.ndarray, axis: np.ndarray, d: float, e: float, g: float):
    """Independent exact solution: spin-1 matrices written out, B rotated by Rodrigues'
    formula taking the axis onto z, frame x fixed by the documented convention."""
    s2 = np.sqrt(2)
    sx = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]) / s2
    sy = np.array([[0, -1j, 0], [1j, 0, -1j], [0, 1j, 0]]) / s2
    sz = np.diag([1.0, 0.0, -1.0])
    z = axis / np.linalg.norm(axis)
    # documented x: [001] (or [100] near [001]) projected orthogonally to z
    ref = np.eye(3)[2] if abs(z[2]) < 0.9 else np.eye(3)[0]
    xv = np.cross(np.cross(z, ref), z)
    xv /= np.linalg.norm(xv)
    yv = np.cross(z, xv)
    bx, by, bz = xv @ b_crystal, yv @ b_crystal, z @ b_crystal
    h = d * sz @ sz + e * (sx @ sx - sy @ sy) + g * (bx * sx + by * sy + bz * sz)
    w, v = np.linalg.eigh(h)
    zero = np.argmax(np.abs(v[1]) ** 2)
    return np.sort([w[i] - w[zero] for i in range(3) if i != zero])


def test_matches_independent_diagonalisation_to_1khz():
    rng = np.random.default_rng(12)
    worst = 0.0
    for _ in range(200):
        direction = rng.standard_normal(3)
        b = direction / np.linalg.norm(direction) * rng.uniform(0, 0.1)
        got = nv.resonances(b, D=D, E=E, gamma=GAMMA)
        ref = np.array([_reference(b, a, D, E, GAMMA) for a in AXES])
        worst = max(worst, np.max(np.abs(got - ref)))
        single = nv.resonances(b, D=D, E=E, gamma=GAMMA, axes=AXES[2] * 5)
        assert np.max(np.abs(single - ref[2])) < 1e3
    assert worst < 1e3


@pytest.mark.parametrize(
    ("direction", "n_lines"), [([1, 0, 0], 2), ([0, 0, 1], 2), ([1, 1, 1], 4), ([1, 1, 0], 4)]
)
def test_degeneracies(direction, n_lines):
    b = 5e-3 * np.asarray(direction, float) / np.linalg.norm(direction)
    lines = nv.resonances(b).ravel()
    distinct = np.unique(np.round(lines / 1e3))  # 1 kHz bins
    assert distinct.size == n_lines


def test_axial_field_and_temperature():
    b = 2e-3 * AXES[0]
    f = nv.resonances(b, axes=AXES[0])
    assert f == pytest.approx([2.870e9 - nv.GAMMA_E * 2e-3, 2.870e9 + nv.GAMMA_E * 2e-3], abs=1.0)
    # g = 2.0028 (Doherty et al. 2013) times mu_B/h = 13.996245 GHz/T (CODATA 2018)
    assert nv.GAMMA_E == pytest.approx(2.0028 * 13.996245e9, rel=1e-7)
    assert nv.GAMMA_E == pytest.approx(28.03e9, rel=2e-4)  # PHYSICS.md 3.1
    shift = nv.resonances(b, axes=AXES[0], temperature=310.0) - f
    assert shift == pytest.approx([-742e3, -742e3], abs=1.0)


@pytest.mark.parametrize(("nucleus", "n", "split"), [("14N", 3, 2.14e6), ("15N", 2, 3.03e6)])
def test_hyperfine_lines_at_published_splittings(nucleus, n, split):
    b = 10e-3 * AXES[0]
    lines = nv.resonances(b, nitrogen=nucleus)
    assert lines.shape == (4, 2, n)
    axial = lines[0]  # the NV along B: both transitions show the pure A_par splitting
    np.testing.assert_allclose(np.diff(axial, axis=1), split, atol=10e3)
    bare = nv.resonances(b)[0]
    np.testing.assert_allclose(axial.mean(axis=1), bare, atol=0.1e6)


@pytest.mark.parametrize(
    ("kwargs", "exc", "word"),
    [
        ({"B": [0, 0]}, ValueError, "B"),
        ({"B": [0, np.nan, 0]}, ValueError, "B"),
        ({"B": "xyz"}, TypeError, "B"),
        ({"B": [0, 0, 0], "D": np.inf}, ValueError, "D"),
        ({"B": [0, 0, 0], "gamma": "28e9"}, TypeError, "gamma"),
        ({"B": [0, 0, 0], "nitrogen": "13C"}, ValueError, "nitrogen"),
        ({"B": [0, 0, 0], "axes": [0, 0, 0]}, ValueError, "axes"),
        ({"B": [0, 0, 0], "axes": "single"}, ValueError, "axes"),
        ({"B": [0, 0, 0], "temperature": -3.0}, ValueError, "temperature"),
    ],
)
def test_resonances_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        nv.resonances(**kwargs)


def test_odmr_spectrum_dips_and_shot_noise():
    f = np.linspace(2.86e9, 2.88e9, 401)
    b = 50e-6 * AXES[0]
    clean = nv.odmr(f, b, contrast=0.02, linewidth=0.5e6, axes=AXES[0])
    lines = nv.resonances(b, axes=AXES[0])
    for line in lines:
        assert f[np.argmin(np.abs(f - line))] == pytest.approx(line, abs=25e3)
        assert clean[np.argmin(np.abs(f - line))] == pytest.approx(0.98, abs=2e-3)
    assert clean[0] == pytest.approx(1.0, abs=1e-3)
    rate, dwell = 1e8, 1e-3
    noisy = nv.odmr(f, b, contrast=0.02, linewidth=0.5e6, axes=AXES[0], rate=rate,
                    dwell_seconds=dwell, seed=3)  # fmt: skip
    again = nv.odmr(f, b, contrast=0.02, linewidth=0.5e6, axes=AXES[0], rate=rate,
                    dwell_seconds=dwell, seed=3)  # fmt: skip
    np.testing.assert_array_equal(noisy, again)
    rel = np.std(noisy - clean) * np.sqrt(rate * dwell)  # Poisson: 1/sqrt(N)
    assert rel == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize(
    ("freqs", "kwargs", "exc", "word"),
    [
        ([], {}, ValueError, "freqs"),
        ([[2.87e9]], {}, ValueError, "freqs"),
        ([np.nan], {}, ValueError, "freqs"),
        ("abc", {}, TypeError, "freqs"),
        ([2.87e9], {"contrast": 1.5}, ValueError, "contrast"),
        ([2.87e9], {"linewidth": 0.0}, ValueError, "linewidth"),
        ([2.87e9], {"rate": -1.0}, ValueError, "rate"),
    ],
)
def test_odmr_bad_input(freqs, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        nv.odmr(freqs, [0, 0, 0], **kwargs)


def test_field_from_lines_inverts_resonances_exactly():
    rng = np.random.default_rng(7)
    for _ in range(50):
        direction = rng.standard_normal(3)
        b = direction / np.linalg.norm(direction) * rng.uniform(1e-4, 0.05)
        lines = nv.resonances(b, D=D, E=E, gamma=GAMMA)
        for fl, fu in lines:
            got, err = nv.field_from_lines(fl, fu, D=D, E=E, gamma=GAMMA)
            assert got == pytest.approx(np.linalg.norm(b), rel=1e-6, abs=1e-9)
            assert err == 0.0
    # error propagation against a finite difference
    fl, fu = 2.80e9, 2.95e9
    b0, err = nv.field_from_lines(fl, fu, sigma_lower=1e4, sigma_upper=2e4)
    d1 = nv.field_from_lines(fl + 1e4, fu)[0] - b0
    d2 = nv.field_from_lines(fl, fu + 2e4)[0] - b0
    assert err == pytest.approx(np.hypot(d1, d2), rel=1e-3)


def test_field_from_lines_refuses_inconsistent_lines():
    with pytest.raises(ValueError, match="inconsistent"):
        nv.field_from_lines(2.869e9, 2.8695e9, D=2.870e9)
    with pytest.raises(ValueError, match="f_lower"):
        nv.field_from_lines(2.88e9, 2.86e9)
    with pytest.raises(TypeError, match="f_upper"):
        nv.field_from_lines(2.86e9, "2.88e9")
    with pytest.raises(ValueError, match="sigma_lower"):
        nv.field_from_lines(2.86e9, 2.88e9, sigma_lower=-1.0)
