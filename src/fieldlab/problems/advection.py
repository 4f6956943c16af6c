r"""Linear advection in 1D at high speed, the PINN failure mode of Krishnapriyan et al. (NeurIPS 2021).

.. math::
    u_t + \beta u_x = 0, \quad x \in [0, 2\pi],\ t \in [0, 1],\ \beta = 30, \qquad
    u(x, 0) = \sin x, \quad u(0, t) = u(2\pi, t),

exact solution :math:`u = \sin(x - \beta t)`: about five periods pass through the domain. With
the residual dominated by ``beta u_x``, a plain PINN typically learns a wrong, nearly
``t``-independent solution. Reference: the exact formula on a 257 x 201 grid. Hard constraints
(default): ``u = sin(x) + t N(x, t)`` satisfies the initial condition; periodicity (of ``u`` only,
the equation being first order) is in the loss.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Initial, Periodic, Problem, Reference
from . import register

BETA = 30.0


def exact(x, t, xp=np):
    """Exact solution; ``xp`` is ``numpy`` (float64 reference) or ``jax.numpy``."""
    return xp.sin(x - BETA * t)


def residual(F, p):
    return F.d("u", "t") + p["beta"] * F.d("u", "x")


def _reference() -> Reference:
    x, t = np.linspace(0, 2 * np.pi, 257), np.linspace(0, 1, 201)
    return Reference((x, t), exact(x[:, None], t[None, :])[..., None], "exact (characteristics)")


def _transform(z, out):
    x, t = z[0], z[1]
    return jnp.sin(x) + t * out


DEFAULTS = {
    "model": {"name": "mlp", "width": 50, "depth": 4},
    "recipe": {
        "sampling": {"interior": 2000, "boundary": 200, "initial": 200},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 1e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "lbfgs", "steps": 2000},
        ],
    },
}


@register("advection", DEFAULTS)
def advection() -> Problem:
    return Problem(
        name="advection",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(0.0, 2 * np.pi) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "periodic": Periodic("x", order=0),
            "initial": Initial("u", lambda x, t: jnp.sin(x)),
        },
        params={"beta": BETA},
        transform=_transform,
        exact=("initial",),
        reference=_reference,
        description="u_t + beta u_x = 0 on [0,2pi] x [0,1], beta = 30; u(x,0) = sin x, periodic; exact u = sin(x - beta t)",
    )
