"""NV-centre ground-state spin Hamiltonian, solved exactly (private).

H/h = D Sz^2 + E (Sx^2 - Sy^2) + gamma B.S
      [+ A_par Sz Iz + A_perp (Sx Ix + Sy Iy) + P Iz^2 - gamma_n B.I]   (Hz)

in the frame of one NV axis (z along the N-V axis). Constants and sources are in
:mod:`qsense.sensors.nv` (``GAMMA_E``, ``NITROGEN``).
"""

from __future__ import annotations

import numpy as np

#: The four <111> NV axes in the cubic crystal frame (unit vectors).
NV_AXES = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]], dtype=float) / np.sqrt(3.0)


def spin_matrices(s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sx, Sy, Sz for spin ``s`` in the basis m = s, s-1, ..., -s."""
    m = np.arange(s, -s - 1, -1.0)
    sp = np.diag(np.sqrt(s * (s + 1) - m[1:] * (m[1:] + 1)), 1)  # S+ |m> = c |m+1>
    sx = (sp + sp.T) / 2
    sy = (sp - sp.T) / 2j
    return sx.astype(complex), sy, np.diag(m).astype(complex)


def nv_frame(axis: np.ndarray) -> np.ndarray:
    """Rows x, y, z of the NV frame: z = axis; x = the crystal [001] (or [100] when the
    axis is within 25 deg of [001]) made orthogonal to z; y = z cross x."""
    z = axis / np.linalg.norm(axis)
    ref = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = ref - (ref @ z) * z
    x /= np.linalg.norm(x)
    return np.array([x, np.cross(z, x), z])


def transitions(
    b_nv: np.ndarray,
    D: float,
    E: float,
    gamma: float,
    nucleus: tuple[float, float, float, float, float] | None,
) -> np.ndarray:
    """Transition frequencies (Hz) for one NV, B (T) given in its own frame.

    Returns shape (2,) without a nucleus ([lower, upper]), else (2, 2I+1): the
    ms=0 -> ms=-1 and ms=0 -> ms=+1 lines (rows ordered by mean frequency), one per
    nuclear projection mI, ascending. Eigenstates are labelled by their largest overlap
    with the |ms, mI> basis (valid away from level anti-crossings).
    """
    sx, sy, sz = spin_matrices(1.0)
    h = D * sz @ sz + E * (sx @ sx - sy @ sy) + gamma * (b_nv[0] * sx + b_nv[1] * sy + b_nv[2] * sz)
    if nucleus is None:
        w, v = np.linalg.eigh(h)
        i0 = int(np.argmax(np.abs(v[1, :])))  # basis order +1, 0, -1
        f = np.sort(np.delete(w, i0) - w[i0])
        return f
    spin, a_par, a_perp, quad, gamma_n = nucleus
    ix, iy, iz = spin_matrices(spin)
    ne, nn = 3, ix.shape[0]
    one_e, one_n = np.eye(ne), np.eye(nn)
    hh = np.kron(h, one_n)
    hh += a_par * np.kron(sz, iz) + a_perp * (np.kron(sx, ix) + np.kron(sy, iy))
    hh += quad * np.kron(one_e, iz @ iz)
    hh -= gamma_n * np.kron(one_e, b_nv[0] * ix + b_nv[1] * iy + b_nv[2] * iz)
    w, v = np.linalg.eigh(hh)
    label = np.argmax(np.abs(v) ** 2, axis=0)  # basis index of each eigenstate
    energy = np.full(ne * nn, np.nan)
    energy[label] = w
    energy = energy.reshape(ne, nn)  # rows ms=+1, 0, -1; columns mI = I ... -I
    lines = np.array([energy[0] - energy[1], energy[2] - energy[1]])
    lines = np.sort(lines, axis=1)
    return lines[np.argsort(lines.mean(axis=1))]
