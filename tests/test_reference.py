"""Tests of the classical float64 reference solutions in ``fieldlab.reference``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fieldlab.reference import (
    BURGERS_N_QUAD,
    BURGERS_NU,
    burgers_exact,
    heat_exact,
    poisson2d_exact,
    poisson2d_sine_solve,
    poisson2d_source,
)

# every 8th x and 5th t of DeepXDE's Burgers.npz (tests/data/README.md)
BURGERS_NPZ = Path(__file__).parent / "data" / "burgers_deepxde_excerpt.npz"


def _rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ----------------------------------------------------------------------------- Burgers


@pytest.fixture(scope="module")
def burgers_grid():
    x = np.linspace(-1.0, 1.0, 256)
    t = np.linspace(0.0, 1.0, 101)
    return x, t, burgers_exact(x, t)


def test_burgers_shape_and_dtype():
    x = np.linspace(-1.0, 1.0, 256)
    t = np.linspace(0.0, 0.99, 100)
    u = burgers_exact(x, t)
    assert u.shape == (100, 256)
    assert u.dtype == np.float64
    assert np.all(np.isfinite(u))


def test_burgers_self_convergence(burgers_grid):
    x, t, u = burgers_grid
    u2 = burgers_exact(x, t, n_quad=2 * BURGERS_N_QUAD)
    # measured: 2.7e-16 (n_quad 512 -> 1024); 256 -> 512 gives 2.7e-16, 128 -> 256 gives 2.2e-10
    assert _rel_l2(u, u2) < 1e-7


def test_burgers_self_convergence_near_shock_and_small_t():
    x = np.concatenate([np.linspace(-0.02, 0.02, 201), [-1.0, -0.5, 0.5, 1.0]])
    t = np.concatenate([np.linspace(1.0 / np.pi, 1.0, 30), np.geomspace(1e-8, 1e-2, 10)])
    u = burgers_exact(x, t)
    u2 = burgers_exact(x, t, n_quad=2 * BURGERS_N_QUAD)
    assert np.max(np.abs(u - u2)) < 1e-12


def test_burgers_matches_outside_reference():
    d = np.load(BURGERS_NPZ)
    x, t, usol = d["x"].ravel(), d["t"].ravel(), d["usol"]  # usol is indexed [x, t]
    assert usol.shape == (32, 20)
    u = burgers_exact(x, t)
    ref = usol.T
    # measured on the excerpt: relative L2 3.6e-12, max abs 2.7e-11 (the file is documented as exact to ~1e-11)
    assert _rel_l2(u, ref) < 1e-10
    assert np.max(np.abs(u - ref)) < 1e-9


def test_burgers_initial_and_boundary_values(burgers_grid):
    x, t, u = burgers_grid
    np.testing.assert_array_equal(u[0], -np.sin(np.pi * x))
    assert np.max(np.abs(u[:, 0])) < 1e-12
    assert np.max(np.abs(u[:, -1])) < 1e-12
    # tiny t: continuous with the initial condition
    u_small = burgers_exact(x, [1e-10])[0]
    assert np.max(np.abs(u_small + np.sin(np.pi * x))) < 1e-8
    # odd symmetry in x
    np.testing.assert_allclose(u, -u[:, ::-1], atol=1e-13)


def _burgers_residual(x, t, h, dt, nu=BURGERS_NU):
    """Centred-difference residual u_t + u u_x - nu u_xx at the points (t, x)."""
    xs = np.concatenate([x - h, x, x + h])
    ts = np.concatenate([t - dt, t, t + dt])
    U = burgers_exact(xs, ts)
    nx, nt = x.size, t.size
    um, u0, up = U[nt : 2 * nt, :nx], U[nt : 2 * nt, nx : 2 * nx], U[nt : 2 * nt, 2 * nx :]
    u_t = (U[2 * nt :, nx : 2 * nx] - U[:nt, nx : 2 * nx]) / (2 * dt)
    u_x = (up - um) / (2 * h)
    u_xx = (up - 2 * u0 + um) / h**2
    res = u_t + u0 * u_x - nu * u_xx
    scale = np.abs(u_t) + np.abs(u0 * u_x) + np.abs(nu * u_xx)
    return res, scale


def test_burgers_pde_residual_away_from_shock():
    # after shock formation (t >= 1/pi) the solution is smooth for |x| >= 0.2
    x = np.concatenate([np.linspace(-0.95, -0.2, 40), np.linspace(0.2, 0.95, 40)])
    t = np.linspace(0.1, 0.95, 18)
    res, scale = _burgers_residual(x, t, h=1e-3, dt=1e-3)
    # O(h^2) truncation error: measured max |res| 1.5e-4 / 3.7e-5 / 9.3e-6 for h = dt = 2e-3 / 1e-3 / 5e-4
    # (max term scale ~3.9); the residual of the exact solution itself is far below this
    assert np.max(np.abs(res)) < 1e-4
    assert np.max(np.abs(res)) < 1e-4 * np.max(scale)


def test_burgers_pde_residual_before_shock_whole_domain():
    # before the gradient steepens (t <= 0.15) the solution is smooth everywhere
    x = np.linspace(-0.99, 0.99, 67)
    t = np.linspace(0.02, 0.15, 8)
    res, scale = _burgers_residual(x, t, h=1e-3, dt=1e-4)
    # measured max |res| 1.1e-5 (max scale ~4.8)
    assert np.max(np.abs(res)) < 1e-4 * np.max(scale)


# ----------------------------------------------------------------------------- heat


@pytest.mark.parametrize("alpha,n,L", [(0.4, 1, 1.0), (0.1, 3, 2.0)])
def test_heat_pde_and_boundary(alpha, n, L):
    x = np.linspace(0.0, L, 201)
    t = np.linspace(0.0, 1.0, 11)
    u = heat_exact(x, t, alpha=alpha, n=n, L=L)
    assert u.shape == (11, 201) and u.dtype == np.float64
    np.testing.assert_allclose(u[0], np.sin(n * np.pi * x / L), atol=1e-15)
    assert np.max(np.abs(u[:, 0])) < 1e-14
    assert np.max(np.abs(u[:, -1])) < 1e-12

    h, dt = 1e-3, 1e-4
    xi = np.linspace(0.05 * L, 0.95 * L, 37)
    ti = np.linspace(0.05, 0.95, 10)
    c = heat_exact(xi, ti, alpha, n, L)
    u_t = (heat_exact(xi, ti + dt, alpha, n, L) - heat_exact(xi, ti - dt, alpha, n, L)) / (2 * dt)
    u_xx = (heat_exact(xi + h, ti, alpha, n, L) - 2 * c + heat_exact(xi - h, ti, alpha, n, L)) / h**2
    res = u_t - alpha * u_xx
    assert np.max(np.abs(res)) < 1e-5 * max(1.0, np.max(np.abs(u_t)))


# ----------------------------------------------------------------------------- Poisson


def test_poisson_exact_vanishes_on_boundary():
    s = np.linspace(0.0, 1.0, 101)
    for x, y in [(0.0, s), (1.0, s), (s, 0.0), (s, 1.0)]:
        assert np.max(np.abs(poisson2d_exact(x, y))) < 1e-14
    # broadcasting
    assert poisson2d_exact(s[:, None], s[None, :]).shape == (101, 101)


def test_poisson_source_consistent_second_order():
    errs = []
    for n in (64, 128, 256):
        h = 1.0 / n
        g = np.linspace(0.0, 1.0, n + 1)
        U = poisson2d_exact(g[:, None], g[None, :])
        lap = (
            U[2:, 1:-1] + U[:-2, 1:-1] + U[1:-1, 2:] + U[1:-1, :-2] - 4 * U[1:-1, 1:-1]
        ) / h**2
        F = poisson2d_source(g[1:-1, None], g[None, 1:-1])
        errs.append(np.max(np.abs(-lap - F)) / np.max(np.abs(F)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert errs[-1] < 1e-3
    assert np.all(np.abs(orders - 2.0) < 0.1)


def test_poisson_sine_solve_self_convergence_and_exactness():
    x1, y1, U1 = poisson2d_sine_solve(63)
    x2, y2, U2 = poisson2d_sine_solve(127)  # spacing halves, grids nest
    np.testing.assert_allclose(x2[1::2], x1, rtol=0, atol=1e-15)
    # measured: 1.7e-16
    assert _rel_l2(U2[1::2, 1::2], U1) < 1e-7
    for x, y, U in ((x1, y1, U1), (x2, y2, U2)):
        exact = poisson2d_exact(x[:, None], y[None, :])
        # measured: max abs error ~6e-16
        assert np.max(np.abs(U - exact)) < 1e-10


def test_poisson_sine_solve_general_source():
    # -lap u = 1: compare with the classical double sine series at the centre
    x, y, U = poisson2d_sine_solve(255, source=lambda x, y: np.ones(np.broadcast_shapes(x.shape, y.shape)))
    assert U.shape == (255, 255)
    # u(1/2, 1/2) = 0.0736713532... for -lap u = 1 on the unit square; measured error 1.3e-6
    # (the constant source does not vanish on the boundary, so the sine series converges slowly)
    assert abs(U[127, 127] - 0.07367135328) < 1e-4
