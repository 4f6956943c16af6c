r"""Poisson equation in 2D with a multi-scale manufactured solution.

.. math::
    -\Delta u = f \ \text{on}\ [0, 1]^2, \quad u = 0 \ \text{on the boundary}, \qquad
    u = \sum_m a_m \sin(k^x_m \pi x) \sin(k^y_m \pi y)

with modes (1, 1, 1), (4, 4, 0.1), (2, 6, 0.02) (:data:`fieldlab.reference.POISSON2D_MODES`) and
the matching analytic source. Reference: the exact formula on a 101 x 101 grid (a spectral sine
solver reproduces it to 1e-15, see the tests).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Box
from ..problem import Dirichlet, Problem, Reference
from ..reference import POISSON2D_MODES, poisson2d_exact
from . import register


def source(x, y):
    return sum(a * jnp.pi**2 * (kx**2 + ky**2) * jnp.sin(kx * jnp.pi * x) * jnp.sin(ky * jnp.pi * y)
               for kx, ky, a in POISSON2D_MODES)


def residual(F, p):
    return -F.laplacian("u", ("x", "y")) - source(F.x, F.y)


def _reference() -> Reference:
    x = y = np.linspace(0, 1, 101)
    return Reference((x, y), poisson2d_exact(x[:, None], y[None, :])[..., None], "exact (manufactured)")


def _transform(z, out):
    x, y = z[0], z[1]
    return x * (1 - x) * y * (1 - y) * out


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 2000, "boundary": 400},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            # dense self-scaled Broyden in float64 (3.3k parameters): 3.2e-6 where L-BFGS stalls near 5e-5
            {"optimizer": "ssbroyden", "steps": 3000, "dtype": "float64"},
        ],
    },
}


@register("poisson2d", DEFAULTS)
def poisson2d() -> Problem:
    return Problem(
        name="poisson2d",
        coords=("x", "y"),
        fields=("u",),
        domain=Box([0.0, 0.0], [1.0, 1.0]),
        equations={"pde": residual},
        conditions={"boundary": Dirichlet("u", 0.0)},
        transform=_transform,
        exact=("boundary",),
        reference=_reference,
        description="-(u_xx + u_yy) = f on [0,1]^2, u = 0 on the boundary; manufactured multi-scale u",
    )
