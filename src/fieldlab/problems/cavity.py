r"""Lid-driven cavity flow at Re = 100: steady incompressible Navier-Stokes in the unit square.

.. math::
    u u_x + v u_y + p_x - \tfrac{1}{Re} \Delta u = 0, \quad
    u v_x + v v_y + p_y - \tfrac{1}{Re} \Delta v = 0, \quad
    u_x + v_y = 0 \quad \text{on}\ [0, 1]^2,

``u = 1, v = 0`` on the lid ``y = 1``; ``u = v = 0`` on the other three walls. The wall velocity
jumps at the two upper corners, where the vorticity and the pressure are singular (the pressure
like ``1/r``). The pressure is fixed only up to a constant.

Reference: :func:`fieldlab.reference.cavity.cavity_reference`, a stream function-vorticity finite
difference solution (Richardson extrapolated from 128 and 64 cells), checked against Ghia, Ghia
and Shin (1982). It holds the velocity ``(u, v)`` at the 31 x 31 interior nodes ``k / 32``, where
it changes by 7e-4 relative L2 when both resolutions double (on the finer nodes ``k / 64``, one
``h = 1/64`` from the singular corners, by 3e-3). The pressure, singular at the corners and
defined up to a constant, is not compared.

Soft constraints only (the discontinuous lid has no smooth hard-constraint form).
"""

from __future__ import annotations

import numpy as np

from ..geometry import Box
from ..problem import Dirichlet, Problem, Reference
from ..reference.cavity import CAVITY_RE, cavity_reference
from . import register
from .kovasznay import continuity, momentum


def _on_lid(x, y):
    return np.isclose(y, 1.0)


def _reference() -> Reference:
    axis, values = cavity_reference(128, every=4, re=CAVITY_RE)
    return Reference((axis, axis), values, "stream function-vorticity finite differences, 128 and 64 cells, "
                     "Richardson extrapolated", fields=("u", "v"))


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},
    "recipe": {
        "sampling": {"interior": 4000, "boundary": 400, "split": "each"},
        "weights": {"lid": 10.0, "walls_u": 10.0, "walls_v": 10.0},
        # adaptive points (RAD) during Adam, then dense self-scaled Broyden in float64 on a 3.4k-parameter
        # network: 3.8e-2, where a 7.9k-parameter network with float32 L-BFGS ends at 0.12
        "strategies": [{"kind": "rad", "every": 1000}],
        "stages": [
            {"optimizer": "adam", "steps": 3000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "ssbroyden", "steps": 3000, "dtype": "float64"},
        ],
    },
}


@register("cavity", DEFAULTS)
def cavity() -> Problem:
    return Problem(
        name="cavity",
        coords=("x", "y"),
        fields=("u", "v", "p"),
        domain=Box([0.0, 0.0], [1.0, 1.0]),
        equations={"momentum": momentum, "continuity": continuity},
        conditions={
            "lid": Dirichlet("u", 1.0, where=_on_lid),
            "walls_u": Dirichlet("u", 0.0, where=lambda x, y: ~_on_lid(x, y)),
            "walls_v": Dirichlet("v", 0.0),
        },
        params={"Re": CAVITY_RE},
        reference=_reference,
        description=("lid-driven cavity: steady Navier-Stokes on [0,1]^2, Re = 100, u = 1 on the lid y = 1, "
                     "no slip elsewhere; reference: finite differences checked against Ghia et al. 1982"),
    )
