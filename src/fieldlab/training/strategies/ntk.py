r"""NTK-trace balancing of the loss terms.

Wang, Yu and Perdikaris (2022), *When and why PINNs fail to train: a neural tangent kernel
perspective*, J. Comput. Phys. 449. With :math:`\operatorname{tr} K_k / n_k = \frac{1}{n_k}\sum_i
\|\nabla_\theta r_k(z_i)\|^2` (estimated on the first ``points`` points of each term):

.. math::
    \hat\lambda_k = \frac{\sum_j \operatorname{tr} K_j / n_j}{\operatorname{tr} K_k / n_k}, \qquad
    \lambda_k \leftarrow \alpha\, \lambda_k + (1 - \alpha)\, \hat\lambda_k .
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field

from .base import Strategy, register


@register
class NTKTrace(Strategy):
    kind: Literal["ntk"] = "ntk"
    every: int = Field(100, gt=0)
    alpha: float = Field(0.9, ge=0, lt=1)
    points: int = Field(64, gt=0, description="points per term for the trace estimate")

    def init(self, terms):
        return {"w": {k: jnp.ones((), terms.dtype) for k in terms.names}}

    def update(self, state, ctx):
        tr = ctx.ntk_traces(self.points)
        total = sum(tr.values())
        tiny = jnp.finfo(total.dtype).tiny
        # a term with no gradient (all its weights 0) keeps its weight
        return {"w": {k: jnp.where(tr[k] > tiny, self.alpha * state["w"][k] + (1 - self.alpha) * total / jnp.maximum(tr[k], tiny),
                                state["w"][k]) for k in state["w"]}}

    def term_weights(self, state):
        return state["w"]

    def scalars(self, state):
        return {f"weight_{k}": float(v) for k, v in state["w"].items()}
