"""Classical float64 reference solutions (no JAX): exact formulas and spectral solvers."""

from fieldlab.reference.burgers import BURGERS_N_QUAD, BURGERS_NU, burgers_exact
from fieldlab.reference.heat import heat_exact
from fieldlab.reference.poisson import (
    POISSON2D_MODES,
    poisson2d_exact,
    poisson2d_sine_solve,
    poisson2d_source,
)

__all__ = [
    "BURGERS_NU",
    "BURGERS_N_QUAD",
    "burgers_exact",
    "heat_exact",
    "POISSON2D_MODES",
    "poisson2d_exact",
    "poisson2d_source",
    "poisson2d_sine_solve",
]
