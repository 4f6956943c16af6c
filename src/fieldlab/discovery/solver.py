r"""Forward solver for reaction-diffusion closures: conservative finite volumes and a stiff integrator.

Solves

.. math::  u_t = \nabla\cdot\big(D(u)\,\nabla u\big) + R(u)

on an interval (:func:`simulate1d`) or a rectangle (:func:`simulate2d`) by the method of lines.

**Space.** Node-centred finite volumes on a uniform grid of spacing ``h``. The flux through the face
between nodes ``i`` and ``i+1`` is ``F = D_face (u[i+1] - u[i]) / h`` with ``D_face`` the *mean of D
at the two nodes*, ``(D(u[i]) + D(u[i+1])) / 2``; node ``i`` changes by ``(F_right - F_left) / V_i
+ R(u[i])``. The scheme is second order in ``h``. In 2-D the same is done along each axis (a
five-point stencil).

**Boundary conditions** (one string for all edges):

- ``"neumann"``: zero flux. The end nodes own half cells (``V = h/2``; quarter cells at the corners
  in 2-D), so the trapezoid integral of ``u`` changes only through ``R``; with ``R = 0`` it is
  conserved to rounding.
- ``"dirichlet"``: boundary nodes are held fixed. In 1-D they take ``bc_values = (left, right)``
  at every output time, the first row included (an initial condition that disagrees is overwritten
  there). In 2-D they keep the boundary values of ``u0``.
- ``"periodic"``: ``x`` (and ``y``) include both end points and **the last node duplicates the
  first**, so the period is ``x[-1] - x[0]``; ``u0`` must agree on the two duplicated nodes
  (checked), the unknowns are the other nodes, and the output copies the first node into the last.

**Time.** ``scipy.integrate.solve_ivp`` with ``method="BDF"`` (default) or ``"Radau"`` and a sparse
Jacobian pattern (tridiagonal, five-point, with wrap-around entries when periodic), so each Jacobian
costs three to five right-hand-side evaluations. Everything runs in float64.

``D`` and ``R`` are vectorised NumPy callables: an array of ``u`` in, an array of the same shape
out (a scalar result is broadcast). Failures (integrator stopped, non-finite values, bad inputs)
raise :class:`~fieldlab.errors.FieldlabError`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from ..errors import FieldlabError

__all__ = ["BCS", "METHODS", "simulate1d", "simulate1d_sensitivities", "simulate2d"]

BCS = ("neumann", "dirichlet", "periodic")
METHODS = ("BDF", "Radau")

Closure = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------------------- checks


def _grid(x, name: str) -> tuple[np.ndarray, float]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 3:
        raise FieldlabError(f"{name} must be a 1-D grid of at least 3 nodes; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise FieldlabError(f"{name} contains NaN or infinite values; give a finite uniform grid.")
    h = (x[-1] - x[0]) / (x.size - 1)
    dx = np.diff(x)
    if not h > 0 or np.max(np.abs(dx - h)) > 1e-8 * h:
        raise FieldlabError(f"{name} must be uniform and increasing (e.g. numpy.linspace); got spacings "
                            f"from {dx.min():.6g} to {dx.max():.6g}.")
    return x, float(h)


def _times(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64).ravel()
    if t.size == 0:
        raise FieldlabError("t is empty; give at least the initial time.")
    if not np.all(np.isfinite(t)):
        raise FieldlabError("t contains NaN or infinite values.")
    if np.any(np.diff(t) <= 0):
        raise FieldlabError("t must be strictly increasing, starting with the initial time.")
    return t


def _options(bc: str, method: str, rtol: float, atol: float) -> None:
    if bc not in BCS:
        raise FieldlabError(f"unknown boundary condition '{bc}'; choose one of {', '.join(BCS)}.")
    if method not in METHODS:
        raise FieldlabError(f"unknown integrator '{method}'; choose one of {', '.join(METHODS)} "
                            "(stiff, with a sparse Jacobian).")
    if not (rtol > 0 and atol > 0):
        raise FieldlabError(f"rtol and atol must be positive; got rtol={rtol}, atol={atol}.")


def _eval(fn: Closure, u: np.ndarray) -> np.ndarray:
    v = np.asarray(fn(u), dtype=np.float64)
    return v if v.shape == u.shape else np.broadcast_to(v, u.shape)


def _check_closures(D: Closure, R: Closure, u: np.ndarray) -> None:
    for name, fn in (("D", D), ("R", R)):
        if not callable(fn):
            raise FieldlabError(f"{name} must be a callable of u (array in, array out); got {type(fn).__name__}.")
        try:
            with np.errstate(all="ignore"):
                v = _eval(fn, u)
        except FieldlabError:
            raise
        except Exception as e:  # a user callable: any failure is theirs to fix
            raise FieldlabError(f"{name}(u) failed on the initial condition ({type(e).__name__}: {e}); it must "
                                f"accept a NumPy array of u and return an array of the same shape.") from None
        if not np.all(np.isfinite(v)):
            raise FieldlabError(f"{name}(u) is NaN or infinite on the initial condition (u in "
                                f"[{u.min():.4g}, {u.max():.4g}]).")
        if name == "D" and v.min() < 0:
            raise FieldlabError(f"D(u) is negative (min {v.min():.4g}) on the initial condition; diffusion must be "
                                "non-negative or the problem is ill-posed.")


def _periodic_ends(u0: np.ndarray, axis: int, name: str) -> None:
    first, last = np.take(u0, 0, axis=axis), np.take(u0, -1, axis=axis)
    scale = max(1.0, float(np.max(np.abs(u0))))
    if np.max(np.abs(first - last)) > 1e-8 * scale:
        raise FieldlabError(f"periodic: the last node along {name} duplicates the first (period = {name}[-1] - "
                            f"{name}[0]), so u0 must be equal there; got a difference of "
                            f"{np.max(np.abs(first - last)):.3g}.")


# ----------------------------------------------------------------------------------- operators


def _div_last(u: np.ndarray, d: np.ndarray, h: float, bc: str) -> np.ndarray:
    """``(D u_x)_x`` along the last axis, conservative, with ``d = D(u)`` at the nodes."""
    if bc == "periodic":
        up, dp = np.roll(u, -1, axis=-1), np.roll(d, -1, axis=-1)
        flux = 0.5 * (d + dp) * (up - u) / h
        return (flux - np.roll(flux, 1, axis=-1)) / h
    flux = 0.5 * (d[..., 1:] + d[..., :-1]) * np.diff(u, axis=-1) / h
    out = np.empty_like(u)
    out[..., 1:-1] = np.diff(flux, axis=-1) / h
    if bc == "neumann":  # half cells of width h/2, no flux through the ends
        out[..., 0] = 2.0 * flux[..., 0] / h
        out[..., -1] = -2.0 * flux[..., -1] / h
    else:  # dirichlet: end nodes are frozen
        out[..., 0] = 0.0
        out[..., -1] = 0.0
    return out


def _pattern1d(m: int, periodic: bool) -> sp.csr_matrix:
    a = sp.diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1], format="lil")
    if periodic:
        a[0, m - 1] = 1
        a[m - 1, 0] = 1
    return a.tocsr()


def _integrate(rhs, y0: np.ndarray, t: np.ndarray, pattern, method: str, rtol: float, atol: float,
               jac=None) -> np.ndarray:
    if t.size == 1:
        return y0[None, :].copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        extra = {"jac_sparsity": pattern} if jac is None else {"jac": jac}
        try:
            sol = solve_ivp(rhs, (t[0], t[-1]), y0, method=method, t_eval=t, rtol=rtol, atol=atol, **extra)
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as e:  # e.g. SuperLU: "Factor is exactly singular"
            raise FieldlabError(f"the {method} integrator failed ({e}); the solution probably blows up or the laws are "
                                "not finite: check that R(u) keeps u bounded and D(u) >= 0 over the range of u.") from e
    if sol.status != 0 or sol.y.shape[1] != t.size:
        reached = sol.t[-1] if sol.t.size else t[0]
        raise FieldlabError(f"the {method} integrator stopped at t = {reached:.4g} of {t[-1]:.4g} ({sol.message}); "
                            "the solution probably blows up: check that R(u) keeps u bounded and D(u) >= 0 over "
                            "the range of u, or shorten t.")
    y = sol.y.T.copy()
    y[0] = y0  # the integrator's first row is interpolated; the initial condition is exact
    if not np.all(np.isfinite(y)):
        raise FieldlabError("the solution became NaN or infinite; check that R(u) keeps u bounded and D(u) >= 0.")
    return y


# ------------------------------------------------------------------------------------- solvers


def simulate1d(D: Closure, R: Closure, u0, x, t, bc: str = "neumann", bc_values=(0.0, 0.0),
               rtol: float = 1e-8, atol: float = 1e-10, method: str = "BDF") -> np.ndarray:
    """Solve ``u_t = (D(u) u_x)_x + R(u)`` on the uniform grid ``x`` (both end points included).

    Args:
        D: the diffusivity, a vectorised callable of ``u``.
        R: the reaction term, a vectorised callable of ``u``.
        u0: initial values on ``x``, shape ``(len(x),)``.
        x: uniform, increasing grid with both end points (periodic: the last node duplicates the first).
        t: strictly increasing output times; ``t[0]`` is the initial time.
        bc: ``"neumann"`` (zero flux), ``"dirichlet"`` (ends fixed to ``bc_values``) or ``"periodic"``.
        bc_values: ``(left, right)`` values for ``"dirichlet"``; ignored otherwise.
        rtol: the integrator's relative tolerance.
        atol: the integrator's absolute tolerance.
        method: ``"BDF"`` or ``"Radau"``.

    Returns:
        ``u`` of shape ``(len(t), len(x))``, float64; row 0 is ``u0`` (Dirichlet: ends set to ``bc_values``).
    """
    _options(bc, method, rtol, atol)
    x, h = _grid(x, "x")
    t = _times(t)
    u0 = np.array(u0, dtype=np.float64)
    if u0.shape != x.shape:
        raise FieldlabError(f"u0 must have the shape of x, ({x.size},); got {u0.shape}.")
    if not np.all(np.isfinite(u0)):
        raise FieldlabError("u0 contains NaN or infinite values.")
    if bc == "dirichlet":
        left, right = (float(v) for v in bc_values)
        u0[0], u0[-1] = left, right
    elif bc == "periodic":
        _periodic_ends(u0, 0, "x")
    y0 = u0[:-1] if bc == "periodic" else u0
    _check_closures(D, R, y0)

    def rhs(_t, u):
        out = _div_last(u, _eval(D, u), h, bc) + _eval(R, u)
        if bc == "dirichlet":
            out[0] = out[-1] = 0.0
        return out

    y = _integrate(rhs, y0, t, _pattern1d(y0.size, bc == "periodic"), method, rtol, atol)
    if bc == "dirichlet":  # exact, not up to the integrator's rounding
        y[:, 0], y[:, -1] = u0[0], u0[-1]
    elif bc == "periodic":
        y = np.concatenate([y, y[:, :1]], axis=1)
    return y


def simulate1d_sensitivities(D: Closure, R: Closure, dD: Closure, dR: Closure, D_p, R_p, u0, S0, x, t,
                             bc: str = "neumann", bc_values=(0.0, 0.0), rtol: float = 1e-8, atol: float = 1e-10,
                             method: str = "BDF") -> tuple[np.ndarray, np.ndarray]:
    r""":func:`simulate1d` together with the forward sensitivities :math:`S_k = \partial u / \partial\theta_k`
    of the solution to ``p`` parameters :math:`\theta` of the laws and of the initial condition.

    With the semi-discrete system :math:`\dot u = F(u, \theta)` (the finite volumes of
    :func:`simulate1d`), the sensitivities obey the variational equations

    .. math::  \dot S_k = J(u)\,S_k + \partial F / \partial \theta_k, \qquad S_k(t_0) = \partial u_0 / \partial \theta_k,

    integrated with :math:`u` as one stiff system (the same integrator and tolerances, the error
    controlled on :math:`u` and on :math:`S`; a finite-difference Jacobian of the whole system with
    its sparsity pattern, about six evaluations of it per Jacobian). The flux is bilinear in
    :math:`D(u)` and :math:`u`, so :math:`J S_k + \partial F/\partial\theta_k` is the flux operator
    applied to :math:`(u, D'(u) S_k + \partial D/\partial\theta_k)` plus that applied to
    :math:`(S_k, D(u))`, plus :math:`R'(u) S_k + \partial R/\partial\theta_k`.

    Args:
        D: the diffusivity, as for :func:`simulate1d`.
        R: the reaction term, as for :func:`simulate1d`.
        dD: its derivative :math:`D'(u)`, a vectorised callable of ``u``.
        dR: :math:`R'(u)`, likewise.
        D_p: a callable of ``u`` (n,) returning ``(p, n)``: :math:`\partial D/\partial\theta_k` at ``u``
            (zero rows for parameters of the initial condition).
        R_p: likewise :math:`\partial R/\partial\theta_k`.
        u0: initial values on ``x``, ``(len(x),)``.
        S0: ``(p, len(x))``, the derivatives of ``u0`` (zero rows for law parameters; Dirichlet ends are
            held, so they should vanish there).
        x: as for :func:`simulate1d`.
        t: as for :func:`simulate1d`.
        bc: as for :func:`simulate1d`.
        bc_values: as for :func:`simulate1d`.
        rtol: the integrator's relative tolerance (on ``u`` and ``S``).
        atol: the integrator's absolute tolerance.
        method: ``"BDF"`` or ``"Radau"``.

    Returns:
        ``(u, S)``: ``u`` of shape ``(len(t), len(x))`` as :func:`simulate1d`; ``S`` of shape
        ``(len(t), p, len(x))``.
    """
    _options(bc, method, rtol, atol)
    x, h = _grid(x, "x")
    t = _times(t)
    u0, S0 = np.array(u0, dtype=np.float64), np.array(S0, dtype=np.float64)
    if u0.shape != x.shape or S0.ndim != 2 or S0.shape[1] != x.size:
        raise FieldlabError(f"u0 must have shape ({x.size},) and S0 (p, {x.size}); got {u0.shape} and {S0.shape}.")
    if bc == "dirichlet":
        u0[0], u0[-1] = (float(v) for v in bc_values)
    elif bc == "periodic":
        _periodic_ends(u0, 0, "x")
    y0, s0 = (u0[:-1], S0[:, :-1]) if bc == "periodic" else (u0, S0)
    _check_closures(D, R, y0)
    n, p = y0.size, s0.shape[0]

    def rhs(_t, y):
        u, S = y[:n], y[n:].reshape(p, n)
        d = _eval(D, u)
        out = np.empty_like(y)
        out[:n] = _div_last(u, d, h, bc) + _eval(R, u)
        dd = _eval(dD, u) * S + np.asarray(D_p(u), dtype=np.float64).reshape(p, n)
        dS = (_div_last(np.broadcast_to(u, S.shape), dd, h, bc) + _div_last(S, np.broadcast_to(d, S.shape), h, bc)
              + _eval(dR, u) * S + np.asarray(R_p(u), dtype=np.float64).reshape(p, n))
        out[n:] = dS.ravel()
        if bc == "dirichlet":
            out[:n][[0, -1]] = 0.0
            out[n:].reshape(p, n)[:, [0, -1]] = 0.0
        return out

    eye, pattern = np.eye(n), _pattern1d(n, bc == "periodic")

    def jac(_t, y):  # kron(I, J(u)): the coupling of S to u left out (a modified Newton iteration)
        u = y[:n]
        cols = (_div_last(np.broadcast_to(u, eye.shape), _eval(dD, u) * eye, h, bc)
                + _div_last(eye, np.broadcast_to(_eval(D, u), eye.shape), h, bc) + _eval(dR, u) * eye)
        if bc == "dirichlet":
            cols[:, [0, -1]] = 0.0
        return sp.kron(sp.identity(p + 1), pattern.multiply(cols.T), format="csc")

    y = _integrate(rhs, np.concatenate([y0, s0.ravel()]), t, None, method, rtol, atol, jac=jac)
    u, S = y[:, :n], y[:, n:].reshape(t.size, p, n)
    if bc == "dirichlet":
        u[:, 0], u[:, -1] = u0[0], u0[-1]
    elif bc == "periodic":
        u = np.concatenate([u, u[:, :1]], axis=1)
        S = np.concatenate([S, S[:, :, :1]], axis=2)
    return u, S


def simulate2d(D: Closure, R: Closure, u0, x, y, t, bc: str = "neumann", rtol: float = 1e-8,
               atol: float = 1e-10, method: str = "BDF") -> np.ndarray:
    """Solve ``u_t = div(D(u) grad u) + R(u)`` on the rectangle ``x`` by ``y`` (uniform grids, ends included).

    ``u0`` has shape ``(len(y), len(x))`` (rows are ``y``). ``bc`` applies to all four edges:
    ``"neumann"`` (zero flux), ``"dirichlet"`` (boundary nodes keep the values of ``u0``) or
    ``"periodic"`` (in both directions; the last row and column duplicate the first).

    Returns ``u`` of shape ``(len(t), len(y), len(x))``, float64, with ``u[0] = u0``.
    """
    _options(bc, method, rtol, atol)
    x, hx = _grid(x, "x")
    y, hy = _grid(y, "y")
    t = _times(t)
    u0 = np.array(u0, dtype=np.float64)
    if u0.shape != (y.size, x.size):
        raise FieldlabError(f"u0 must have shape (len(y), len(x)) = ({y.size}, {x.size}); got {u0.shape}.")
    if not np.all(np.isfinite(u0)):
        raise FieldlabError("u0 contains NaN or infinite values.")
    if bc == "periodic":
        _periodic_ends(u0, 1, "x")
        _periodic_ends(u0, 0, "y")
        u0 = u0[:-1, :-1]
    shape = u0.shape
    _check_closures(D, R, u0)

    def rhs(_t, v):
        u = v.reshape(shape)
        d = _eval(D, u)
        out = _div_last(u, d, hx, bc) + _div_last(u.T, d.T, hy, bc).T + _eval(R, u)
        if bc == "dirichlet":
            out[0, :] = out[-1, :] = 0.0
            out[:, 0] = out[:, -1] = 0.0
        return out.ravel()

    periodic = bc == "periodic"
    ax, ay = _pattern1d(shape[1], periodic), _pattern1d(shape[0], periodic)
    pattern = (sp.kron(sp.identity(shape[0]), ax) + sp.kron(ay, sp.identity(shape[1]))).tocsr()
    sol = _integrate(rhs, u0.ravel(), t, pattern, method, rtol, atol).reshape(t.size, *shape)
    if bc == "dirichlet":  # exact, not up to the integrator's rounding
        sol[:, [0, -1], :] = u0[[0, -1], :]
        sol[:, :, [0, -1]] = u0[:, [0, -1]]
    elif periodic:
        sol = np.concatenate([sol, sol[:, :1, :]], axis=1)
        sol = np.concatenate([sol, sol[:, :, :1]], axis=2)
    return sol
