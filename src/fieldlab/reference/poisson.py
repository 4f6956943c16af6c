"""Manufactured multi-scale solution of the 2-D Poisson equation and a spectral sine solver.

Problem: ``-laplace(u) = f`` on ``[0, 1]^2`` with ``u = 0`` on the boundary, where

    u(x, y) = sum_m a_m sin(kx_m pi x) sin(ky_m pi y),
    f(x, y) = sum_m a_m pi^2 (kx_m^2 + ky_m^2) sin(kx_m pi x) sin(ky_m pi y),

with the modes ``POISSON2D_MODES`` = (kx, ky, a): a smooth O(1) mode, a 0.1 mode of four times
the frequency and a small anisotropic mode (so that x and y are not interchangeable).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.fft

__all__ = [
    "POISSON2D_MODES",
    "poisson2d_exact",
    "poisson2d_source",
    "poisson2d_sine_solve",
]

POISSON2D_MODES: tuple[tuple[int, int, float], ...] = (
    (1, 1, 1.0),
    (4, 4, 0.1),
    (2, 6, 0.02),
)


def poisson2d_exact(x, y) -> np.ndarray:
    """Exact solution ``u(x, y)`` (broadcasting ``x`` against ``y``); zero on the boundary of ``[0,1]^2``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    u = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for kx, ky, a in POISSON2D_MODES:
        u = u + a * np.sin(kx * np.pi * x) * np.sin(ky * np.pi * y)
    return u


def poisson2d_source(x, y) -> np.ndarray:
    """Source ``f = -laplace(u)`` for :func:`poisson2d_exact` (analytic, broadcasting)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    f = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    for kx, ky, a in POISSON2D_MODES:
        lam = np.pi**2 * (kx * kx + ky * ky)
        f = f + a * lam * np.sin(kx * np.pi * x) * np.sin(ky * np.pi * y)
    return f


def poisson2d_sine_solve(
    n: int,
    source: Callable[[np.ndarray, np.ndarray], np.ndarray] = poisson2d_source,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral solve of ``-laplace(u) = source`` on ``[0,1]^2`` with ``u = 0`` on the boundary.

    ``source`` is sampled on the ``n x n`` interior grid ``x_i = i / (n + 1)``, ``i = 1..n``; a
    type-I discrete sine transform gives its sine-series coefficients ``f_jk`` (exact for sine
    modes ``j, k <= n``), which are divided by the exact continuous eigenvalues
    ``pi^2 (j^2 + k^2)`` and transformed back. For a source that is a finite sine sum with all
    modes ``<= n`` the result equals the exact solution to rounding error. Grids nest when
    ``n -> 2 n + 1`` (the spacing halves), which is how self-convergence is checked.

    Returns ``(x, y, U)`` with 1-D ``x``, ``y`` of length ``n`` and ``U[i, j] = u(x_i, y_j)``.
    """
    n = int(n)
    if n < 1:
        raise ValueError("poisson2d_sine_solve: n must be >= 1")
    x = np.arange(1, n + 1, dtype=np.float64) / (n + 1)
    y = x.copy()
    F = np.asarray(source(x[:, None], y[None, :]), dtype=np.float64)
    F = np.broadcast_to(F, (n, n))
    coef = scipy.fft.dstn(F, type=1)
    j = np.arange(1, n + 1, dtype=np.float64)
    lam = np.pi**2 * (j[:, None] ** 2 + j[None, :] ** 2)
    U = scipy.fft.idstn(coef / lam, type=1)
    return x, y, U
