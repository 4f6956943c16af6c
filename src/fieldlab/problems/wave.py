r"""Damped wave equation in 1D with an exact solution (one underdamped standing mode).

.. math::
    u_{tt} + \gamma u_t = c^2 u_{xx}, \quad x \in [0, 1],\ t \in [0, 1],\ c = 2,\ \gamma = 1,
    \qquad u(0, t) = u(1, t) = 0, \quad u(x, 0) = \sin(\pi x), \quad u_t(x, 0) = 0.

Separation of variables, ``u = sin(pi x) T(t)`` with ``T'' + gamma T' + c^2 pi^2 T = 0``,
``T(0) = 1``, ``T'(0) = 0``; underdamped since ``gamma < 2 c pi``:

.. math::
    u = \sin(\pi x)\, e^{-\gamma t / 2}
        \left(\cos(\omega t) + \frac{\gamma}{2 \omega} \sin(\omega t)\right), \qquad
    \omega = \sqrt{c^2 \pi^2 - \gamma^2 / 4} \approx 6.263,

so the window holds about one period, damped by ``e^{-1/2}``. Reference: the exact formula on a
101 x 101 grid. Hard constraints (default): ``u = sin(pi x) + x (1 - x) t^2 N(x, t)`` satisfies
the boundary, initial value and initial rate conditions exactly.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Dirichlet, Initial, InitialRate, Problem, Reference
from . import register

C = 2.0
GAMMA = 1.0
OMEGA = float(np.sqrt(C**2 * np.pi**2 - GAMMA**2 / 4))


def exact(x, t, xp=np):
    """Exact solution; ``xp`` is ``numpy`` (float64 reference) or ``jax.numpy``."""
    time = xp.exp(-GAMMA * t / 2) * (xp.cos(OMEGA * t) + GAMMA / (2 * OMEGA) * xp.sin(OMEGA * t))
    return xp.sin(xp.pi * x) * time


def residual(F, p):
    return F.d("u", "t", "t") + p["gamma"] * F.d("u", "t") - p["c"] ** 2 * F.d("u", "x", "x")


def _reference() -> Reference:
    x, t = np.linspace(0, 1, 101), np.linspace(0, 1, 101)
    return Reference((x, t), exact(x[:, None], t[None, :])[..., None], "exact (separation of variables)")


def _transform(z, out):
    x, t = z[0], z[1]
    return jnp.sin(jnp.pi * x) + x * (1 - x) * t**2 * out


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


@register("wave1d", DEFAULTS)
def wave1d() -> Problem:
    return Problem(
        name="wave1d",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(0.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "boundary": Dirichlet("u", 0.0),
            "initial": Initial("u", lambda x, t: jnp.sin(jnp.pi * x)),
            "rate": InitialRate("u", 0.0),
        },
        params={"c": C, "gamma": GAMMA},
        transform=_transform,
        exact=("boundary", "initial", "rate"),
        reference=_reference,
        description=("u_tt + gamma u_t = c^2 u_xx on [0,1] x [0,1], c = 2, gamma = 1; u(0,t) = u(1,t) = 0, "
                     "u(x,0) = sin(pi x), u_t(x,0) = 0; exact damped standing wave"),
    )
