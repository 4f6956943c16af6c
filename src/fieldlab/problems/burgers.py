r"""Viscous Burgers equation in 1D, the classic PINN benchmark (Raissi et al. 2019).

.. math::
    u_t + u u_x = \nu u_{xx}, \quad x \in [-1, 1],\ t \in [0, 1], \quad \nu = 0.01/\pi,
    \qquad u(x, 0) = -\sin(\pi x), \quad u(\pm 1, t) = 0.

A steep front forms at x = 0 near t = 0.3. Reference: exact solution by the Cole-Hopf transform,
evaluated by composite Gauss-Legendre quadrature (:func:`fieldlab.reference.burgers_exact`),
on a 256 x 101 grid. Hard constraints (default): ``u = -sin(pi x) + t (1 - x^2) N(x, t)``
satisfies the initial and boundary conditions exactly.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Dirichlet, Initial, Problem, Reference
from ..reference import BURGERS_NU, burgers_exact
from . import register


def residual(F, p):
    u = F.u
    return F.d(u, "t") + u * F.d(u, "x") - p["nu"] * F.d(u, "x", "x")


def _reference() -> Reference:
    x, t = np.linspace(-1, 1, 256), np.linspace(0, 1, 101)
    return Reference((x, t), burgers_exact(x, t, BURGERS_NU).T[..., None], "Cole-Hopf, composite Gauss-Legendre quadrature")


def _transform(z, out):
    x, t = z[0], z[1]
    return -jnp.sin(jnp.pi * x) + t * (1 - x**2) * out


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 8000, "method": "sobol", "resample_every": 0, "split": "each"},
        # residual-based adaptive distribution of the points during Adam (they gather at the steep
        # front), then dense self-scaled Broyden in float64 on the last draw: 2.6e-4, where Adam and
        # float32 L-BFGS on fixed Sobol points end at 1.3e-3
        "strategies": [{"kind": "rad", "every": 1000, "candidates": 40000}],
        "stages": [
            {"optimizer": "adam", "steps": 4000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "ssbroyden", "steps": 3000, "dtype": "float64"},
        ],
    },
}


@register("burgers", DEFAULTS)
def burgers() -> Problem:
    return Problem(
        name="burgers",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "left": Dirichlet("u", 0.0, where=lambda x, t: np.isclose(x, -1.0)),
            "right": Dirichlet("u", 0.0, where=lambda x, t: np.isclose(x, 1.0)),
            "initial": Initial("u", lambda x, t: -jnp.sin(jnp.pi * x)),
        },
        params={"nu": BURGERS_NU},
        transform=_transform,
        exact=("left", "right", "initial"),
        reference=_reference,
        description="u_t + u u_x = nu u_xx on [-1,1] x [0,1], nu = 0.01/pi; u(x,0) = -sin(pi x), u(+-1,t) = 0",
    )
