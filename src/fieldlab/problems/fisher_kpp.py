r"""Fisher-KPP reaction-diffusion equation in 1D with an exact travelling front.

.. math::
    u_t = D u_{xx} + r u (1 - u), \quad x \in [-1, 1],\ t \in [0, 1],\ D = 0.02,\ r = 3,

with the exact solution of Ablowitz and Zeppetella (Bull. Math. Biol. 41, 1979),

.. math::
    u = \left(1 + e^{\kappa (x - x_0) - 5 r t / 6}\right)^{-2}, \qquad
    \kappa = \sqrt{r / (6 D)} = 5,\ x_0 = -0.25,

a front from ``u = 1`` (left) to ``u = 0`` (right) of width about ``1/kappa`` that moves right at
speed ``5 r / (6 kappa) = 0.5``, from ``x = -0.25`` to ``x = 0.25``. Initial and Dirichlet
boundary values are taken from this solution. Reference: the exact formula on a 201 x 101 grid.
Conditions are soft (in the loss) by default.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Dirichlet, Initial, Problem, Reference
from . import register

D = 0.02
R = 3.0
X0 = -0.25
KAPPA = float(np.sqrt(R / (6 * D)))


def exact(x, t, xp=np):
    """Exact travelling front; ``xp`` is ``numpy`` (float64 reference) or ``jax.numpy``."""
    return 1.0 / (1.0 + xp.exp(KAPPA * (x - X0) - 5 * R * t / 6)) ** 2


def _exact_jnp(x, t):
    return exact(x, t, jnp)


def residual(F, p):
    u = F.u
    return F.d(u, "t") - p["D"] * F.d(u, "x", "x") - p["r"] * u * (1 - u)


def _reference() -> Reference:
    x, t = np.linspace(-1, 1, 201), np.linspace(0, 1, 101)
    return Reference((x, t), exact(x[:, None], t[None, :])[..., None], "exact (Ablowitz-Zeppetella travelling wave)")


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 2000, "boundary": 200, "initial": 200},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "lbfgs", "steps": 2000},
        ],
    },
}


@register("fisher-kpp", DEFAULTS)
def fisher_kpp() -> Problem:
    return Problem(
        name="fisher-kpp",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "boundary": Dirichlet("u", _exact_jnp),
            "initial": Initial("u", _exact_jnp),
        },
        params={"D": D, "r": R},
        reference=_reference,
        description=("u_t = D u_xx + r u (1 - u) on [-1,1] x [0,1], D = 0.02, r = 3; exact travelling front "
                     "u = (1 + exp(5 (x + 0.25) - 2.5 t))^-2 gives the initial and boundary values"),
    )
