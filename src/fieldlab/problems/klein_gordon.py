r"""Nonlinear Klein-Gordon equation in 1D with a manufactured solution (Wang, Teng and Perdikaris 2021).

.. math::
    u_{tt} + \alpha u_{xx} + \beta u + \gamma u^k = f, \quad x \in [0, 1],\ t \in [0, 1],
    \quad \alpha = -1,\ \beta = 0,\ \gamma = 1,\ k = 3,

i.e. the wave-type equation ``u_tt - u_xx + u^3 = f``, with the exact solution and its source

.. math::
    u = x \cos(5 \pi t) + (x t)^3, \qquad
    f = -25 \pi^2 x \cos(5 \pi t) + 6 x^3 t - 6 x t^3 + u^3

(``f`` is computed with the nominal constants, so it stays fixed if ``alpha, beta, gamma`` are
trained). Dirichlet values at ``x = 0`` (``u = 0``) and ``x = 1`` (``u = cos(5 pi t) + t^3``),
the initial value ``u(x, 0) = x`` and rate ``u_t(x, 0) = 0`` come from the exact solution.
Reference: the exact formula on a 101 x 101 grid. Conditions are soft (in the loss) by default,
as in the original benchmark (Wang, Teng and Perdikaris, SIAM J. Sci. Comput. 43, 2021).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Dirichlet, Initial, InitialRate, Problem, Reference
from . import register

ALPHA, BETA, GAMMA = -1.0, 0.0, 1.0
K = 3  # the power of the nonlinearity (an integer, not a trainable parameter)


def exact(x, t, xp=np):
    """Exact solution; ``xp`` is ``numpy`` (float64 reference) or ``jax.numpy``."""
    return x * xp.cos(5 * xp.pi * t) + (x * t) ** 3


def source(x, t, xp=jnp):
    """``f = u_tt + alpha u_xx + beta u + gamma u^k`` for :func:`exact`."""
    u = exact(x, t, xp)
    u_tt = -25 * xp.pi**2 * x * xp.cos(5 * xp.pi * t) + 6 * x**3 * t
    u_xx = 6 * x * t**3
    return u_tt + ALPHA * u_xx + BETA * u + GAMMA * u**K


def residual(F, p):
    u = F.u
    return F.d(u, "t", "t") + p["alpha"] * F.d(u, "x", "x") + p["beta"] * u + p["gamma"] * u**K - source(F.x, F.t)


def _reference() -> Reference:
    x, t = np.linspace(0, 1, 101), np.linspace(0, 1, 101)
    return Reference((x, t), exact(x[:, None], t[None, :])[..., None], "exact (manufactured)")


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


@register("klein-gordon", DEFAULTS)
def klein_gordon() -> Problem:
    return Problem(
        name="klein-gordon",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(0.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "boundary": Dirichlet("u", lambda x, t: exact(x, t, jnp)),
            "initial": Initial("u", lambda x, t: x),
            "rate": InitialRate("u", 0.0),
        },
        params={"alpha": ALPHA, "beta": BETA, "gamma": GAMMA},
        reference=_reference,
        description=("u_tt + alpha u_xx + beta u + gamma u^3 = f on [0,1] x [0,1], alpha = -1, beta = 0, gamma = 1; "
                     "manufactured u = x cos(5 pi t) + (x t)^3 gives f and the boundary, initial and rate values"),
    )
