r"""Adaptive residual-data reweighting: the condition and data terms track the PDE residual.

Tao et al. (2025), *xLSTM-PINN: memory-gated spectral remodeling for physics-informed learning*
(arXiv:2511.12512), balance the physics residual against the data (and boundary) misfit with adaptive
weights; they give no formula that we reproduce, so this is our loss-ratio form of it. For every
non-PDE term ``c``, with :math:`L_r` the sum of the PDE terms,

.. math::
    \hat\lambda_c = \operatorname{clip}\big((L_r / L_c)^{\beta}, \lambda_{\min}, \lambda_{\max}\big),
    \qquad \lambda_c \leftarrow \alpha\, \lambda_c + (1 - \alpha)\, \hat\lambda_c,

so a condition that lags behind the residual is pulled up (and one far ahead is relaxed), within
bounds; the PDE terms keep weight 1.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field, model_validator

from .base import TermWeights, register


@register
class ResidualData(TermWeights):
    kind: Literal["residual-data"] = "residual-data"
    every: int = Field(100, gt=0)
    alpha: float = Field(0.9, ge=0, lt=1)
    beta: float = Field(0.5, gt=0, le=1)
    min_weight: float = Field(1e-2, gt=0)
    max_weight: float = Field(1e3, gt=0)

    @model_validator(mode="after")
    def _bounds(self):
        if self.min_weight > self.max_weight:
            raise ValueError(f"residual-data needs min_weight <= max_weight; got {self.min_weight:g} > {self.max_weight:g}")
        return self

    def init(self, terms):  # the PDE terms keep weight 1
        return {"w": {k: jnp.ones((), terms.dtype) for k in terms.names if k not in terms.pde}}

    def no_effect(self, names, pde):
        if all(k in pde for k in names):
            return "it weighs condition and data terms against the PDE residual and the loss has none"
        return None

    def update(self, state, ctx):
        Lr = sum(v for k, v in ctx.losses.items() if k not in state["w"])
        tiny = jnp.finfo(Lr.dtype).tiny
        w = {}
        for k, old in state["w"].items():
            target = jnp.clip((Lr / jnp.maximum(ctx.losses[k], tiny)) ** self.beta, self.min_weight, self.max_weight)
            w[k] = self.alpha * old + (1 - self.alpha) * target
        return {"w": w}

