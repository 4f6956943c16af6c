r"""Kovasznay flow: steady incompressible Navier-Stokes with an exact solution, Re = 20.

.. math::
    u u_x + v u_y + p_x - \tfrac{1}{Re} \Delta u = 0, \quad
    u v_x + v v_y + p_y - \tfrac{1}{Re} \Delta v = 0, \quad
    u_x + v_y = 0

on ``[-0.5, 1] x [-0.5, 1.5]``, with the exact solution of Kovasznay (Proc. Camb. Phil. Soc. 44,
58-62, 1948), the laminar wake behind a grid:

.. math::
    u = 1 - e^{\lambda x} \cos(2 \pi y), \quad
    v = \frac{\lambda}{2 \pi} e^{\lambda x} \sin(2 \pi y), \quad
    p = \tfrac12 \left(1 - e^{2 \lambda x}\right), \qquad
    \lambda = \frac{Re}{2} - \sqrt{\frac{Re^2}{4} + 4 \pi^2}.

Conditions: ``u, v`` equal the exact solution on the whole boundary; the pressure, fixed only up to
a constant by these, equals the exact one on the outlet ``x = 1``. Reference: the exact formula
on a 151 x 201 grid (all three fields).

Hard constraints (default): each velocity component is the transfinite (Coons) interpolant of its
boundary values plus a multiple of the distance-like factor ``s (1 - s) t (1 - t)`` (``s, t`` the
coordinates scaled to ``[0, 1]``), and ``p = p_outlet + (1 - x) N_p``; the interpolant uses the
boundary data only.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..geometry import Box
from ..problem import Dirichlet, Problem, Reference
from . import register

RE = 20.0
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)
X0, X1, Y0, Y1 = -0.5, 1.0, -0.5, 1.5


def exact(x, y, xp=np):
    """Exact ``(u, v, p)`` stacked on a new last axis; ``xp`` is ``numpy`` or ``jax.numpy``."""
    e = xp.exp(LAMBDA * x)
    u = 1 - e * xp.cos(2 * xp.pi * y)
    v = LAMBDA / (2 * xp.pi) * e * xp.sin(2 * xp.pi * y)
    p = 0.5 * (1 - e * e)
    return xp.stack(xp.broadcast_arrays(u, v, p), axis=-1)


def momentum(F, p):
    u, v = F.u, F.v
    nu = 1 / p["Re"]
    return jnp.stack([
        u * F.d(u, "x") + v * F.d(u, "y") + F.d("p", "x") - nu * F.laplacian(u, ("x", "y")),
        u * F.d(v, "x") + v * F.d(v, "y") + F.d("p", "y") - nu * F.laplacian(v, ("x", "y")),
    ])


def continuity(F, p):
    return F.d("u", "x") + F.d("v", "y")


def _boundary(k):
    return lambda x, y: exact(x, y, jnp)[..., k]


def _coons(x, y):
    """Transfinite interpolant of the exact ``(u, v)`` from its values on the four sides only."""
    s, t = (x - X0) / (X1 - X0), (y - Y0) / (Y1 - Y0)
    g = lambda a, b: exact(a, b, jnp)[:2]  # noqa: E731
    edges = (1 - s) * g(X0, y) + s * g(X1, y) + (1 - t) * g(x, Y0) + t * g(x, Y1)
    corners = ((1 - s) * (1 - t) * g(X0, Y0) + s * (1 - t) * g(X1, Y0)
               + (1 - s) * t * g(X0, Y1) + s * t * g(X1, Y1))
    return edges - corners, s * (1 - s) * t * (1 - t)


def _transform(z, out):
    x, y = z[0], z[1]
    base, bubble = _coons(x, y)
    p_out = 0.5 * (1 - math.exp(2 * LAMBDA * X1))
    return jnp.stack([base[0] + bubble * out[0], base[1] + bubble * out[1], p_out + (X1 - x) * out[2]])


def _reference() -> Reference:
    x, y = np.linspace(X0, X1, 151), np.linspace(Y0, Y1, 201)
    return Reference((x, y), exact(x[:, None], y[None, :]), "exact (Kovasznay 1948)")


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 2000, "boundary": 400, "split": "each"},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            # dense self-scaled Broyden in float64 on a 3.4k-parameter network: 2.3e-5, where a
            # 7.9k-parameter network with float32 L-BFGS ends at 5.5e-5
            {"optimizer": "ssbroyden", "steps": 4000, "dtype": "float64"},
        ],
    },
}


@register("kovasznay", DEFAULTS)
def kovasznay() -> Problem:
    return Problem(
        name="kovasznay",
        coords=("x", "y"),
        fields=("u", "v", "p"),
        domain=Box([X0, Y0], [X1, Y1]),
        equations={"momentum": momentum, "continuity": continuity},
        conditions={
            "boundary_u": Dirichlet("u", _boundary(0)),
            "boundary_v": Dirichlet("v", _boundary(1)),
            "outlet_p": Dirichlet("p", _boundary(2), where=lambda x, y: np.isclose(x, X1)),
        },
        params={"Re": RE},
        transform=_transform,
        exact=("boundary_u", "boundary_v", "outlet_p"),
        reference=_reference,
        description=("steady Navier-Stokes u.grad(u) + grad(p) = (1/Re) lap(u), div(u) = 0 on "
                     "[-0.5,1] x [-0.5,1.5], Re = 20; Kovasznay's exact solution on the boundary, p at x = 1"),
    )
