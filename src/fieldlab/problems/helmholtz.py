r"""Helmholtz equation in 2D with a manufactured solution, at two frequencies.

.. math::
    u_{xx} + u_{yy} + k^2 u = q \ \text{on}\ [-1, 1]^2, \quad u = 0 \ \text{on the boundary}, \qquad
    u = \sin(a_1 \pi x) \sin(a_2 \pi y), \quad q = \left(k^2 - (a_1^2 + a_2^2) \pi^2\right) u,

with ``k = 1``.

* ``helmholtz2d``: ``a1 = 1, a2 = 4``, the benchmark of Wang, Teng and Perdikaris (SIAM J. Sci.
  Comput. 43, 2021), where the stiff gradient flow of the soft-constrained loss first showed.
* ``helmholtz2d-hf``: ``a1 = 2, a2 = 6``, twice the frequency along x and 1.5 times along y
  (source amplitude about 390, against 170). Hard but feasible for the default tanh MLP:
  Adam alone stalls near 0.4 relative L2 and L-BFGS takes it to about 5e-3 (measured with the
  default recipe, against 1e-3 for ``helmholtz2d``). At ``a1 = 2, a2 = 8`` the same recipe does
  not converge at all (relative L2 above 1), and a sine-activation MLP reaches only 7e-2 there
  at three times the cost per step.

Reference: the exact formula on a 201 x 201 grid. Hard constraints (default):
``u = (1 - x^2)(1 - y^2) N(x, y)``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..geometry import Box
from ..problem import Dirichlet, Problem, Reference
from . import register

K = 1.0


def exact(x, y, a1: float, a2: float, xp=np):
    """Exact solution ``sin(a1 pi x) sin(a2 pi y)``; ``xp`` is ``numpy`` or ``jax.numpy``."""
    return xp.sin(a1 * xp.pi * x) * xp.sin(a2 * xp.pi * y)


def source(x, y, a1: float, a2: float, k: float = K, xp=jnp):
    """``q = u_xx + u_yy + k^2 u`` for :func:`exact`."""
    return (k * k - (a1 * a1 + a2 * a2) * xp.pi**2) * exact(x, y, a1, a2, xp)


def _transform(z, out):
    x, y = z[0], z[1]
    return (1 - x**2) * (1 - y**2) * out


def _builder(name: str, a1: float, a2: float):
    def residual(F, p):
        return F.laplacian("u", ("x", "y")) + p["k"] ** 2 * F.u - source(F.x, F.y, a1, a2)

    def reference() -> Reference:
        x = y = np.linspace(-1, 1, 201)
        return Reference((x, y), exact(x[:, None], y[None, :], a1, a2)[..., None], "exact (manufactured)")

    def build() -> Problem:
        return Problem(
            name=name,
            coords=("x", "y"),
            fields=("u",),
            domain=Box([-1.0, -1.0], [1.0, 1.0]),
            equations={"pde": residual},
            conditions={"boundary": Dirichlet("u", 0.0)},
            params={"k": K},
            transform=_transform,
            exact=("boundary",),
            reference=reference,
            description=(f"u_xx + u_yy + k^2 u = q on [-1,1]^2, k = 1, u = 0 on the boundary; "
                         f"exact u = sin({a1:g} pi x) sin({a2:g} pi y)"),
        )

    return build


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 4000, "boundary": 400},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            # dense self-scaled Broyden in float64: 2.6e-5 (6.9e-5 with 2000 points and 3000 steps),
            # where L-BFGS ends near 9.5e-4
            {"optimizer": "ssbroyden", "steps": 6000, "dtype": "float64"},
        ],
    },
}

DEFAULTS_HF = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 4000, "boundary": 800},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            # dense self-scaled Broyden in float64 on a 3.3k-parameter network: 1.9e-3, where a
            # 7.3k-parameter network with float32 L-BFGS ends at 3.6e-3
            {"optimizer": "ssbroyden", "steps": 3000, "dtype": "float64"},
        ],
    },
}

helmholtz2d = register("helmholtz2d", DEFAULTS)(_builder("helmholtz2d", 1.0, 4.0))
helmholtz2d_hf = register("helmholtz2d-hf", DEFAULTS_HF)(_builder("helmholtz2d-hf", 2.0, 6.0))
