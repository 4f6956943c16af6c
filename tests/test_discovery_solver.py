"""The reaction-diffusion forward solver: exact solutions, second-order convergence, conservation, errors."""

import numpy as np
import pytest

from fieldlab.discovery.solver import simulate1d, simulate2d
from fieldlab.errors import FieldlabError

D0 = 0.05


def const(c):
    return lambda u: np.full_like(u, c)


def zero(u):
    return np.zeros_like(u)


def d_lin(u):
    return 0.01 + 0.05 * u


def r_logistic(u):
    return u * (1.0 - u)


def orders(errors):
    e = np.asarray(errors)
    return np.log2(e[:-1] / e[1:])


def assert_second_order(errors):
    p = orders(errors)
    assert np.all((p > 1.8) & (p < 2.2)), (errors, p)


# ------------------------------------------------------------------------------------------ 1-D


@pytest.mark.parametrize("a", [0.0, 0.7])
@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_neumann_exact_cosine_second_order(a, method):
    """u_t = D u_xx + a u, u_x = 0 at both ends: u = e^{at} + e^{(a - D pi^2) t} cos(pi x)."""
    t = np.array([0.0, 0.5, 1.0])
    errs = []
    for n in (11, 21, 41, 81):
        x = np.linspace(0.0, 1.0, n)
        u = simulate1d(const(D0), lambda u: a * u, 1.0 + np.cos(np.pi * x), x, t, method=method)
        assert u.shape == (3, n)
        assert np.array_equal(u[0], 1.0 + np.cos(np.pi * x))
        exact = np.exp(a * t)[:, None] + np.exp((a - D0 * np.pi**2) * t)[:, None] * np.cos(np.pi * x)
        errs.append(np.abs(u - exact).max())
    assert errs[-1] < 1e-4
    assert_second_order(errs)


def test_nonlinear_self_convergence_second_order():
    t = np.array([0.0, 1.0, 2.0])
    sols = {}
    for n in (21, 41, 81, 161):
        x = np.linspace(0.0, 1.0, n)
        u0 = 0.1 + 0.8 * np.exp(-(((x - 0.35) / 0.15) ** 2))
        sols[n] = simulate1d(d_lin, r_logistic, u0, x, t)
    diffs = [np.abs(sols[n] - sols[2 * n - 1][:, ::2]).max() for n in (21, 41, 81)]
    assert_second_order(diffs)


def test_neumann_mass_changes_only_by_reaction():
    x = np.linspace(0.0, 1.0, 101)
    t = np.linspace(0.0, 3.0, 7)
    u0 = 0.05 + 0.9 * np.exp(-(((x - 0.25) / 0.07) ** 2))
    mass = np.trapezoid(simulate1d(d_lin, zero, u0, x, t), x, axis=1)
    assert np.abs(mass / mass[0] - 1.0).max() < 1e-10
    # with R = a u the trapezoid mass grows exactly like e^{a t}, whatever the diffusion does
    mass = np.trapezoid(simulate1d(d_lin, lambda u: 0.4 * u, u0, x, t, rtol=1e-10, atol=1e-12), x, axis=1)
    assert np.abs(mass / (mass[0] * np.exp(0.4 * t)) - 1.0).max() < 1e-8


def test_dirichlet_exact_sine_second_order():
    t = np.array([0.0, 1.0])
    errs = []
    for n in (11, 21, 41, 81):
        x = np.linspace(0.0, 2.0, n)
        u = simulate1d(const(D0), zero, np.sin(np.pi * x / 2), x, t, bc="dirichlet")
        errs.append(np.abs(u[-1] - np.exp(-D0 * (np.pi / 2) ** 2) * np.sin(np.pi * x / 2)).max())
    assert_second_order(errs)


def test_dirichlet_values_held_and_steady_profile():
    x = np.linspace(0.0, 1.0, 41)
    t = np.array([0.0, 1.0, 80.0])
    u = simulate1d(d_lin, zero, np.full_like(x, 0.3), x, t, bc="dirichlet", bc_values=(1.0, 0.5))
    assert np.all(u[:, 0] == 1.0) and np.all(u[:, -1] == 0.5)
    assert np.all(u[0, 1:-1] == 0.3)
    # steady state of (D(u) u_x)_x = 0 with D = 0.01 + 0.05 u: the flux potential 0.01 u + 0.025 u^2 is linear
    phi = 0.01 * u[-1] + 0.025 * u[-1] ** 2
    assert np.abs(phi - (phi[0] + (phi[-1] - phi[0]) * x)).max() < 1e-7


def test_periodic_exact_second_order_and_duplicate_node():
    t = np.array([0.0, 1.0])
    errs = []
    for n in (11, 21, 41, 81):
        x = np.linspace(0.0, 1.0, n)  # the last node is the first one's periodic image
        u0 = 1.0 + 0.5 * np.cos(2 * np.pi * x) + 0.3 * np.sin(4 * np.pi * x)
        u = simulate1d(const(0.01), zero, u0, x, t, bc="periodic")
        assert np.array_equal(u[:, 0], u[:, -1])
        exact = (1.0 + 0.5 * np.exp(-0.01 * 4 * np.pi**2) * np.cos(2 * np.pi * x)
                 + 0.3 * np.exp(-0.01 * 16 * np.pi**2) * np.sin(4 * np.pi * x))
        errs.append(np.abs(u[-1] - exact).max())
    assert_second_order(errs)


def test_periodic_conserves_mass_and_is_translation_invariant():
    x = np.linspace(0.0, 1.0, 81)
    u0 = 0.1 + 0.8 * np.exp(-(((x - 0.5) / 0.1) ** 2))
    t = np.array([0.0, 1.0, 2.0])
    u = simulate1d(d_lin, zero, u0, x, t, bc="periodic")
    mass = u[:, :-1].sum(axis=1)
    assert np.abs(mass / mass[0] - 1.0).max() < 1e-10
    s0 = np.roll(u0[:-1], 20)
    shifted = simulate1d(d_lin, r_logistic, np.append(s0, s0[0]), x, t, bc="periodic")
    ref = simulate1d(d_lin, r_logistic, u0, x, t, bc="periodic")
    assert np.abs(np.roll(ref[:, :-1], 20, axis=1) - shifted[:, :-1]).max() < 1e-6


def test_single_time_and_constant_closures_from_scalars():
    x = np.linspace(0.0, 1.0, 21)
    u = simulate1d(lambda u: 0.02, lambda u: 0.0, np.cos(np.pi * x), x, [0.0])
    assert u.shape == (1, 21) and np.array_equal(u[0], np.cos(np.pi * x))
    u = simulate1d(lambda u: 0.02, lambda u: 0.0, np.cos(np.pi * x), x, [0.0, 0.5])
    assert abs(u[-1, 0] - np.exp(-0.02 * np.pi**2 * 0.5)) < 1e-3


# ------------------------------------------------------------------------------------------ 2-D


def _grid2(nx, ny, lx=1.0, ly=2.0):
    x, y = np.linspace(0.0, lx, nx), np.linspace(0.0, ly, ny)
    return x, y, *np.meshgrid(x, y)


def test_2d_neumann_exact_second_order():
    t = np.array([0.0, 1.0])
    rate = D0 * (np.pi**2 + (np.pi / 2) ** 2)
    errs = []
    for n in (9, 17, 33):
        x, y, X, Y = _grid2(n, 2 * n - 1)
        mode = np.cos(np.pi * X) * np.cos(np.pi * Y / 2)
        u = simulate2d(const(D0), zero, 1.0 + mode, x, y, t)
        assert u.shape == (2, 2 * n - 1, n)
        errs.append(np.abs(u[-1] - (1.0 + np.exp(-rate) * mode)).max())
    assert_second_order(errs)


def test_2d_dirichlet_and_periodic_match_discrete_eigenmodes():
    """Grid modes decay exactly at the discrete rate 4 D / h^2 sin^2(k h / 2) per direction."""
    t = np.array([0.0, 1.0])
    x, y, X, Y = _grid2(33, 33, 1.0, 1.0)
    h = x[1] - x[0]

    def rate(d, k):
        return 2 * d * 4 / h**2 * np.sin(k * h / 2) ** 2  # two directions, same wavenumber

    mode = np.sin(np.pi * X) * np.sin(np.pi * Y)
    u = simulate2d(const(D0), zero, mode, x, y, t, bc="dirichlet")
    assert np.abs(u[-1] - np.exp(-rate(D0, np.pi)) * mode).max() < 1e-6
    assert np.abs(u[-1] - np.exp(-2 * D0 * np.pi**2) * mode).max() < 5e-4  # the continuum solution
    border = np.ones_like(mode, bool)
    border[1:-1, 1:-1] = False
    assert np.array_equal(u[-1][border], mode[border])

    mode = np.cos(2 * np.pi * X) * np.sin(2 * np.pi * Y)
    u = simulate2d(const(0.01), zero, 1.0 + mode, x, y, t, bc="periodic")
    assert np.array_equal(u[:, 0, :], u[:, -1, :]) and np.array_equal(u[:, :, 0], u[:, :, -1])
    assert np.abs(u[-1] - (1.0 + np.exp(-rate(0.01, 2 * np.pi)) * mode)).max() < 1e-6


def test_2d_matches_1d_and_conserves_mass():
    x, y, X, Y = _grid2(41, 9)
    t = np.array([0.0, 1.0, 2.0])
    u0 = 0.1 + 0.8 * np.exp(-(((x - 0.35) / 0.15) ** 2))
    one = simulate1d(d_lin, r_logistic, u0, x, t)
    two = simulate2d(d_lin, r_logistic, np.tile(u0, (y.size, 1)), x, y, t)
    assert np.abs(two - one[:, None, :]).max() < 1e-6
    u0 = 0.1 + 0.8 * np.exp(-((X - 0.3) ** 2 + (Y - 1.2) ** 2) / 0.05)
    u = simulate2d(d_lin, zero, u0, x, y, t)
    mass = np.trapezoid(np.trapezoid(u, x, axis=2), y, axis=1)
    assert np.abs(mass / mass[0] - 1.0).max() < 1e-10


# ---------------------------------------------------------------------------------------- errors


X = np.linspace(0.0, 1.0, 21)
U0 = 0.5 + 0.1 * np.cos(np.pi * X)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"x": X**2}, "uniform"),
        ({"x": X[:2], "u0": U0[:2]}, "at least 3"),
        ({"bc": "robin"}, "unknown boundary condition 'robin'"),
        ({"method": "RK45"}, "unknown integrator 'RK45'"),
        ({"u0": U0[:-1]}, "u0 must have the shape of x"),
        ({"u0": np.where(X > 0.5, np.nan, U0)}, "u0 contains NaN"),
        ({"t": [0.0, 1.0, 0.5]}, "strictly increasing"),
        ({"t": []}, "t is empty"),
        ({"rtol": 0.0}, "must be positive"),
        ({"D": lambda u: 0.01 - u}, "D(u) is negative"),
        ({"D": lambda u: u[None, :5]}, "D(u) failed"),
        ({"R": lambda u: np.log(u - 1.0)}, "R(u) is NaN"),
        ({"R": "u*(1-u)"}, "R must be a callable"),
        ({"bc": "periodic"}, "the last node along x duplicates the first"),
        ({"R": lambda u: u**2, "u0": np.full_like(X, 2.0)}, "R(u) keeps u bounded"),
    ],
)
def test_bad_input_1d(kwargs, fragment):
    args = {"D": d_lin, "R": r_logistic, "u0": U0, "x": X, "t": [0.0, 1.0], **kwargs}
    with pytest.raises(FieldlabError) as info:
        simulate1d(**args)
    assert fragment in str(info.value)


def test_bad_input_2d():
    x, y, X2, Y2 = _grid2(11, 7)
    with pytest.raises(FieldlabError, match=r"shape \(len\(y\), len\(x\)\) = \(7, 11\)"):
        simulate2d(d_lin, zero, X2.T, x, y, [0.0, 1.0])
    with pytest.raises(FieldlabError, match="along y duplicates"):
        simulate2d(d_lin, zero, 1.0 + np.cos(2 * np.pi * X2) + Y2, x, y, [0.0, 1.0], bc="periodic")
    with pytest.raises(FieldlabError, match="y must be uniform"):
        simulate2d(d_lin, zero, X2, x, y**2, [0.0, 1.0])


def test_an_integrator_exception_is_a_failed_simulation(monkeypatch):
    """SuperLU's 'Factor is exactly singular' (BDF's Newton matrix, seen in a refit's trial laws) becomes the
    FieldlabError that callers treat as a failed simulation, not a traceback."""
    from fieldlab.discovery import solver

    def singular(*args, **kwargs):
        raise RuntimeError("Factor is exactly singular")

    monkeypatch.setattr(solver, "solve_ivp", singular)
    x, t = np.linspace(0, 1, 21), np.linspace(0, 1, 5)
    with pytest.raises(FieldlabError, match="integrator failed \\(Factor is exactly singular\\)"):
        simulate1d(lambda u: 0.01 + 0 * u, lambda u: u * (1 - u), 0.5 + 0.1 * np.cos(np.pi * x), x, t)
