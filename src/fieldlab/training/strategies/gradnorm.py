r"""Gradient-norm balancing of the loss terms ("learning-rate annealing").

Wang, Teng and Perdikaris (2021), *Understanding and mitigating gradient flow pathologies in
physics-informed neural networks*, SIAM J. Sci. Comput. 43; in the form of Wang et al. (2023),
*An expert's guide to training PINNs*:

.. math::
    \hat\lambda_k = \frac{\sum_j \|\nabla_\theta L_j\|}{\|\nabla_\theta L_k\|}, \qquad
    \lambda_k \leftarrow \alpha\, \lambda_k + (1 - \alpha)\, \hat\lambda_k,

refreshed every ``every`` steps, so every weighted term pulls on the parameters with the same
gradient norm.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field

from .base import Strategy, register


@register
class GradNorm(Strategy):
    kind: Literal["gradnorm"] = "gradnorm"
    every: int = Field(100, gt=0)
    alpha: float = Field(0.9, ge=0, lt=1, description="running-average factor")

    def init(self, terms):
        return {"w": {k: jnp.ones((), terms.dtype) for k in terms.names}}

    def update(self, state, ctx):
        norms = ctx.grad_norms()
        total = sum(norms.values())
        tiny = jnp.finfo(total.dtype).tiny
        # a term with no gradient (all its weights 0) keeps its weight
        return {"w": {k: jnp.where(norms[k] > tiny, self.alpha * state["w"][k] + (1 - self.alpha) * total / jnp.maximum(norms[k], tiny),
                                state["w"][k]) for k in state["w"]}}

    def term_weights(self, state):
        return state["w"]

    def scalars(self, state):
        return {f"weight_{k}": float(v) for k, v in state["w"].items()}
