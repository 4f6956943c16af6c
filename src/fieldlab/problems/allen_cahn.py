r"""Allen-Cahn equation in 1D, periodic, the benchmark of Wang, Sankaran and Perdikaris (2022).

.. math::
    u_t = \varepsilon u_{xx} + 5 (u - u^3), \quad x \in [-1, 1],\ t \in [0, 1],\
    \varepsilon = 10^{-4}, \qquad u(x, 0) = x^2 \cos(\pi x), \quad u \text{ periodic in } x.

The reaction drives ``u`` to the stable states ``+-1`` within a time of about 0.2, separated by
interfaces of width ``sqrt(2 eps / 5) ~ 0.006``: a stiff, sharp solution that plain PINNs
famously fail on. Reference: Fourier pseudo-spectral in space (2048 modes) with ETDRK4 in time
(step 1e-3), float64 (:func:`fieldlab.reference.allen_cahn.allen_cahn_reference`), converged
to about 1e-9 relative L2, on a 513 x 201 grid. Hard constraints (default):
``u = x^2 cos(pi x) + t N(x, t)`` satisfies the initial condition; periodicity of ``u`` and
``u_x`` is in the loss.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..problem import Initial, Periodic, Problem, Reference
from ..reference.allen_cahn import ALLEN_CAHN_EPS, ALLEN_CAHN_RATE, allen_cahn_reference
from . import register


def initial(x, t=None):
    return x**2 * jnp.cos(jnp.pi * x)


def residual(F, p):
    u = F.u
    return F.d(u, "t") - p["eps"] * F.d(u, "x", "x") - p["rate"] * (u - u**3)


@functools.lru_cache(maxsize=1)
def _reference() -> Reference:
    x, t = np.linspace(-1, 1, 513), np.linspace(0, 1, 201)
    u = allen_cahn_reference(ALLEN_CAHN_EPS, x=x, t=t, rate=ALLEN_CAHN_RATE)
    return Reference((x, t), u.T[..., None], "Fourier pseudo-spectral (2048 modes) + ETDRK4 (dt = 1e-3)")


def _transform(z, out):
    x, t = z[0], z[1]
    return x**2 * jnp.cos(jnp.pi * x) + t * out


DEFAULTS = {
    # x enters through (cos pi x, sin pi x) (exactly periodic) and 32 random Fourier features, and the
    # residual is weighted causally in time: 4.0e-2, where a plain MLP with the same stages ends at 0.53
    "model": {"name": "fourier", "width": 48, "depth": 4, "features": 32, "periodic": [0]},
    "recipe": {
        "sampling": {"interior": 4000, "boundary": 200, "initial": 200},
        "strategies": [{"kind": "causal"}],
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 1e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "lbfgs", "steps": 1500},
        ],
    },
}


@register("allen-cahn", DEFAULTS)
def allen_cahn() -> Problem:
    return Problem(
        name="allen-cahn",
        coords=("x", "t"),
        fields=("u",),
        domain=Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0),
        equations={"pde": residual},
        conditions={
            "periodic": Periodic("x", order=1),
            "initial": Initial("u", initial),
        },
        params={"eps": ALLEN_CAHN_EPS, "rate": ALLEN_CAHN_RATE},
        transform=_transform,
        exact=("initial",),
        reference=_reference,
        description=("u_t = eps u_xx + 5 (u - u^3) on [-1,1] x [0,1], eps = 1e-4; u(x,0) = x^2 cos(pi x), "
                     "periodic in x"),
    )
