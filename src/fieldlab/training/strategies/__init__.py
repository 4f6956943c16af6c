"""Training strategies: loss weighting, causal weighting, curricula and adaptive collocation.

Each strategy is one module with one registered class; a recipe names them in its ``strategies``
list (``kind = "gradnorm"`` and the strategy's options). See :mod:`.base` for the contract.
"""

from . import causal, collocation, continuation, gradnorm, ntk, rba, relobralo, residual_data, sa  # noqa: F401 - register
from .base import STRATEGIES, Balance, Collocation, Context, PointWeights, Pool, Strategy, Terms, TermWeights

__all__ = ["STRATEGIES", "Balance", "Collocation", "Context", "PointWeights", "Pool", "Strategy", "TermWeights", "Terms"]
