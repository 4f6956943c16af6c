r"""Poisson equation in 1D with a two-scale manufactured solution.

.. math::
    -u'' = f \ \text{on}\ [0, 1], \quad u(0) = u(1) = 0, \qquad
    u = \sin(\pi x) + 0.1 \sin(8 \pi x), \quad f = \pi^2 \sin(\pi x) + 6.4 \pi^2 \sin(8 \pi x).

The small fast mode carries most of the source (6.4 pi^2 against pi^2), so it cannot be
neglected even though it is a tenth of the solution: a test of spectral bias. Reference: the
exact formula on 1001 points. Hard constraints (default): ``u = x (1 - x) N(x)``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Interval
from ..problem import Dirichlet, Problem, Reference
from . import register

MODES: tuple[tuple[int, float], ...] = ((1, 1.0), (8, 0.1))  # (k, a): a sin(k pi x)


def exact(x, xp=np):
    """Exact solution; ``xp`` is ``numpy`` (float64 reference) or ``jax.numpy``."""
    return sum(a * xp.sin(k * xp.pi * x) for k, a in MODES)


def source(x, xp=jnp):
    """``f = -u''`` for :func:`exact`."""
    return sum(a * (k * xp.pi) ** 2 * xp.sin(k * xp.pi * x) for k, a in MODES)


def residual(F, p):
    return -F.d("u", "x", "x") - source(F.x)


def _reference() -> Reference:
    x = np.linspace(0, 1, 1001)
    return Reference((x,), exact(x)[..., None], "exact (manufactured)")


def _transform(z, out):
    x = z[0]
    return x * (1 - x) * out


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 3},
    "recipe": {
        "sampling": {"interior": 512, "boundary": 2},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "lbfgs", "steps": 2000},
        ],
    },
}


@register("poisson1d", DEFAULTS)
def poisson1d() -> Problem:
    return Problem(
        name="poisson1d",
        coords=("x",),
        fields=("u",),
        domain=Interval(0.0, 1.0),
        equations={"pde": residual},
        conditions={"boundary": Dirichlet("u", 0.0)},
        transform=_transform,
        exact=("boundary",),
        reference=_reference,
        description="-u'' = f on [0,1], u(0) = u(1) = 0; manufactured u = sin(pi x) + 0.1 sin(8 pi x)",
    )
