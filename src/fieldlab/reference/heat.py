"""Exact solution of the 1-D heat equation with a single sine mode."""

from __future__ import annotations

import numpy as np

__all__ = ["heat_exact"]


def heat_exact(x, t, alpha: float = 0.4, n: int = 1, L: float = 1.0) -> np.ndarray:
    """``u = exp(-alpha (n pi / L)^2 t) sin(n pi x / L)``.

    Solves ``u_t = alpha u_xx`` on ``[0, L]`` with ``u(0, t) = u(L, t) = 0`` and
    ``u(x, 0) = sin(n pi x / L)``. Returns a float64 array of shape ``(len(t), len(x))``.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    t = np.asarray(t, dtype=np.float64).ravel()
    k = n * np.pi / L
    return np.exp(-alpha * k * k * t)[:, None] * np.sin(k * x)[None, :]
