"""fieldlab: learn physical fields and the laws behind them, with physics-informed networks in JAX.

Public API::

    import fieldlab
    run = fieldlab.train("burgers")                # built-in problem, default model and recipe
    run.metrics["rel_l2"]; run.predict(points)     # (n, 2) -> (n, 1)
    run = fieldlab.load_run("runs/burgers-mlp")    # reload a run directory
"""

from .config import RunConfig
from .errors import FieldlabError
from .problem import (Condition, Data, Dirichlet, Fields, Initial, InitialRate, Neumann, Periodic, Problem,
                      Reference, Robin)
from .run import Run, load_run, resume, solve, train
from .training.recipe import Recipe, Sampling, Stage

__version__ = "0.1.0"

__all__ = [
    "Condition", "Data", "Dirichlet", "FieldlabError", "Fields", "Initial", "InitialRate", "Neumann",
    "Periodic", "Problem", "Recipe", "Reference", "Robin", "Run", "RunConfig", "Sampling", "Stage",
    "load_run", "resume", "solve", "train",
]
