r"""Heat equation in 1D with an exact solution.

.. math::
    u_t = \alpha u_{xx}, \quad x \in [0, 1],\ t \in [0, 1],\ \alpha = 0.4, \qquad
    u(x, 0) = \sin(\pi x), \quad u(0, t) = u(1, t) = 0,

exact solution :math:`u = e^{-\alpha \pi^2 t} \sin(\pi x)`. Conditions are soft (in the loss) by
default; this is the small problem the tests train on.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Dirichlet, Initial, Problem, Reference
from ..reference import heat_exact
from . import register

ALPHA = 0.4


def residual(F, p):
    return F.d("u", "t") - p["alpha"] * F.d("u", "x", "x")


def _reference() -> Reference:
    x, t = np.linspace(0, 1, 101), np.linspace(0, 1, 101)
    return Reference((x, t), heat_exact(x, t, ALPHA).T[..., None], "exact")


DEFAULTS = {
    "model": {"name": "mlp", "width": 20, "depth": 3},
    "recipe": {
        "sampling": {"interior": 1000, "boundary": 100, "initial": 100},
        "stages": [
            {"optimizer": "adam", "steps": 1000, "lr": 5e-3, "decay_rate": 0.5, "decay_steps": 500},
            {"optimizer": "lbfgs", "steps": 1000},
        ],
    },
}


@register("heat1d", DEFAULTS)
def heat1d() -> Problem:
    return Problem(
        name="heat1d",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(0.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "boundary": Dirichlet("u", 0.0),
            "initial": Initial("u", lambda x, t: jnp.sin(jnp.pi * x)),
        },
        params={"alpha": ALPHA},
        reference=_reference,
        description="u_t = alpha u_xx on [0,1] x [0,1], alpha = 0.4; u(x,0) = sin(pi x), u(0,t) = u(1,t) = 0",
    )
