r"""Steady lid-driven cavity flow by second-order finite differences and Newton's method.

Problem: incompressible Navier-Stokes on ``[0, 1]^2``, lid ``y = 1`` moving with ``u = 1``,
the other walls at rest, Reynolds number ``Re`` (100 for the built-in problem).

Method. Stream function and vorticity, ``u = psi_y``, ``v = -psi_x``, ``omega = v_x - u_y``:

.. math::
    \Delta \psi = -\omega, \qquad
    \psi_y \omega_x - \psi_x \omega_y = \tfrac{1}{Re} \Delta \omega,

on the uniform grid ``x_i = i h``, ``h = 1 / n``, with central differences (five-point
Laplacian), ``psi = 0`` on the walls, and the wall vorticity of Thom's formula (from
``psi(wall + h n) = psi_wall + h psi_n + h^2/2 psi_nn``):
``omega_wall = -2 psi_adjacent / h^2 - 2 U_wall / h`` (``U_wall = 1`` on the lid, 0 elsewhere).
The corner values of ``omega`` enter no stencil. The discrete system is solved by Newton's
method from rest (sparse LU of the Jacobian, SuperLU), to a residual of 1e-10.
Velocities at the nodes are central differences of ``psi``. Local errors are O(h^2) (the lid
corners, where the wall velocity jumps, are singular and converge more slowly nearby), and
:func:`cavity_reference` returns the Richardson extrapolation ``(4 f_n - f_{n/2}) / 3`` of two
resolutions at the nodes they share. The built-in problem uses ``n = 128`` and the nodes ``k / 32``,
where doubling both resolutions changes the result by 7e-4 relative L2 (3e-3 on the nodes
``k / 64``, where the nodes next to the lid corners dominate); without extrapolation the
128-cell solution differs from the 256-cell one by 6e-3 on the nodes ``k / 64``.

Check (Ghia, Ghia and Shin, J. Comput. Phys. 48, 387-411, 1982, Re = 100, 129 x 129 grid,
multigrid, tables I and II): :data:`GHIA_U` (``u`` on the vertical centre line ``x = 1/2``) and
:data:`GHIA_V` (``v`` on the horizontal centre line ``y = 1/2``). Ghia's values are given to
five digits from a 129-point second-order solution. Measured against them, the 128-cell solution
here differs by at most 4.2e-3 in ``u`` and 8.4e-3 in ``v`` (at the minimum of ``v`` near
``x = 0.86``, which this solver puts lower than Ghia's table at every resolution from 64 to 256
cells); see ``docs/results/benchmarks-flow.md``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["CAVITY_RE", "CAVITY_N", "GHIA_U", "GHIA_V", "cavity_solve", "cavity_reference"]

CAVITY_RE = 100.0
CAVITY_N = 256

# Ghia, Ghia & Shin (1982), Re = 100: (y, u) on x = 0.5 (table I) and (x, v) on y = 0.5 (table II).
GHIA_U = np.array([
    (1.0000, 1.00000), (0.9766, 0.84123), (0.9688, 0.78871), (0.9609, 0.73722), (0.9531, 0.68717),
    (0.8516, 0.23151), (0.7344, 0.00332), (0.6172, -0.13641), (0.5000, -0.20581), (0.4531, -0.21090),
    (0.2813, -0.15662), (0.1719, -0.10150), (0.1016, -0.06434), (0.0703, -0.04775), (0.0625, -0.04192),
    (0.0547, -0.03717), (0.0000, 0.00000),
])
GHIA_V = np.array([
    (1.0000, 0.00000), (0.9688, -0.05906), (0.9609, -0.07391), (0.9531, -0.08864), (0.9453, -0.10313),
    (0.9063, -0.16914), (0.8594, -0.22445), (0.8047, -0.24533), (0.5000, 0.05454), (0.2344, 0.17527),
    (0.2266, 0.17507), (0.1563, 0.16077), (0.0938, 0.12317), (0.0781, 0.10890), (0.0703, 0.10091),
    (0.0625, 0.09233), (0.0000, 0.00000),
])


def _d1(n: int, h: float) -> sp.csr_matrix:
    """Central first difference on ``n + 1`` nodes (rows at the two ends are zero)."""
    m = n + 1
    main = sp.diags([-np.ones(m - 1), np.ones(m - 1)], [-1, 1], shape=(m, m), format="lil")
    main[0, :] = 0
    main[n, :] = 0
    return (main / (2 * h)).tocsr()


def _d2(n: int, h: float) -> sp.csr_matrix:
    m = n + 1
    main = sp.diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1], shape=(m, m), format="lil")
    main[0, :] = 0
    main[n, :] = 0
    return (main / h**2).tocsr()


@functools.lru_cache(maxsize=8)
def cavity_solve(n: int = CAVITY_N, re: float = CAVITY_RE, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve on the ``(n + 1) x (n + 1)`` node grid; return ``(psi, u, v)``, each indexed ``[i, j]`` = ``(x_i, y_j)``.

    ``u`` and ``v`` hold the wall velocities on the boundary (``u = 1`` on the lid including its
    two end nodes). Raises ``RuntimeError`` if Newton's method does not reach ``tol`` (max norm of
    the residual) in 30 iterations.
    """
    h = 1.0 / n
    m = n + 1
    N = m * m
    eye = sp.identity(m, format="csr")
    Dx, Dy = sp.kron(_d1(n, h), eye, format="csr"), sp.kron(eye, _d1(n, h), format="csr")
    L = (sp.kron(_d2(n, h), eye) + sp.kron(eye, _d2(n, h))).tocsr()
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    i, j = i.ravel(), j.ravel()
    wall = (i == 0) | (i == n) | (j == 0) | (j == n)
    corner = ((i == 0) | (i == n)) & ((j == 0) | (j == n))
    interior = ~wall
    # Thom's wall vorticity: omega_w + 2 psi_adj / h^2 = -2 U_w / h, as rows W psi + omega = lid
    k = np.arange(N)
    adj = np.where(i == 0, k + m, np.where(i == n, k - m, np.where(j == 0, k + 1, k - 1)))
    rows = np.flatnonzero(wall & ~corner)
    W = sp.csr_matrix((np.full(rows.size, 2 / h**2), (rows, adj[rows])), shape=(N, N))
    lid = np.where((j == n) & ~corner, -2.0 / h, 0.0)
    Pi, Pw = sp.diags(interior.astype(float)), sp.diags(wall.astype(float))
    Pb = sp.diags((wall & ~corner).astype(float))
    nu = 1.0 / re

    def residual(psi, om):
        r1 = np.where(interior, L @ psi + om, psi)
        conv = (Dy @ psi) * (Dx @ om) - (Dx @ psi) * (Dy @ om) - nu * (L @ om)
        r2 = np.where(interior, conv, np.where(corner, om, om + W @ psi - lid))
        return np.concatenate([r1, r2])

    def jacobian(psi, om):
        J11 = Pi @ L + Pw
        J12 = Pi
        J21 = Pi @ (sp.diags(Dx @ om) @ Dy - sp.diags(Dy @ om) @ Dx) + W
        J22 = Pi @ (sp.diags(Dy @ psi) @ Dx - sp.diags(Dx @ psi) @ Dy - nu * L) + Pb + sp.diags(corner.astype(float))
        return sp.bmat([[J11, J12], [J21, J22]], format="csc")

    x = np.zeros(2 * N)  # Newton from rest converges at Re = 100 (five iterations)
    for _ in range(30):
        psi, om = x[:N], x[N:]
        r = residual(psi, om)
        if np.abs(r).max() < tol:
            break
        x = x - spla.spsolve(jacobian(psi, om), r)
    else:
        raise RuntimeError(f"cavity Newton iteration did not converge (residual {np.abs(r).max():.2e}).")
    psi = x[:N].reshape(m, m)
    u, v = (Dy @ x[:N]).reshape(m, m), (-(Dx @ x[:N])).reshape(m, m)
    u[:, n], u[:, 0], u[0, :], u[n, :] = 1.0, 0.0, 0.0, 0.0
    u[0, n] = u[n, n] = 1.0
    v[:, 0], v[:, n], v[0, :], v[n, :] = 0.0, 0.0, 0.0, 0.0
    return psi, u, v


def cavity_reference(n: int = CAVITY_N, every: int = 2, re: float = CAVITY_RE) -> tuple[np.ndarray, np.ndarray]:
    """Velocity ``(u, v)`` at the interior nodes ``k * every / n`` of the ``n``-grid, Richardson extrapolated.

    Returns ``(axis, values)``: ``axis`` the 1-D coordinates (``n / every - 1`` points, walls
    excluded), ``values`` of shape ``(len(axis), len(axis), 2)`` indexed ``[x, y, field]``,
    ``(4 f_n - f_{n/2}) / 3`` from :func:`cavity_solve` at ``n`` and ``n / 2``.
    """
    if every < 2 or every % 2 or n % every:
        raise ValueError(f"every = {every} must be even and divide n = {n} (the coarse grid holds every other node).")
    _, uf, vf = cavity_solve(n, re)
    _, uc, vc = cavity_solve(n // 2, re)
    fine, coarse = slice(every, n, every), slice(every // 2, n // 2, every // 2)
    u = (4 * uf[fine, fine] - uc[coarse, coarse]) / 3
    v = (4 * vf[fine, fine] - vc[coarse, coarse]) / 3
    axis = np.arange(every, n, every) / n
    return axis, np.stack([u, v], axis=-1)
