r"""ReLoBRaLo: relative loss balancing with random lookback.

Bischof and Kraus (2021), *Multi-objective loss balancing for physics-informed deep learning*,
arXiv:2110.09813. With :math:`K` terms and the softmax balance between two times

.. math::
    \hat\lambda_k(t, t') = K\, \frac{\exp\big(L_k(t) / (T L_k(t'))\big)}{\sum_j \exp\big(L_j(t) / (T L_j(t'))\big)},

.. math::
    \lambda_k(t) = \alpha\big(\rho\, \lambda_k(t-1) + (1-\rho)\, \hat\lambda_k(t, 0)\big)
                 + (1 - \alpha)\, \hat\lambda_k(t, t-1),

where :math:`\rho` is a Bernoulli variable with mean ``rho`` (the random lookback to the first
losses), ``T`` the temperature. "Previous" is the previous refresh (``every`` steps back).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from pydantic import Field

from .base import TermWeights, register


@register
class ReLoBRaLo(TermWeights):
    kind: Literal["relobralo"] = "relobralo"
    every: int = Field(1, gt=0)
    alpha: float = Field(0.999, ge=0, le=1)
    rho: float = Field(0.999, ge=0, le=1, description="mean of the Bernoulli lookback variable")
    temperature: float = Field(0.1, gt=0)

    def init(self, terms):
        one = {k: jnp.ones((), terms.dtype) for k in terms.names}
        nan = {k: jnp.full((), jnp.nan, terms.dtype) for k in terms.names}
        return {"w": one, "first": nan, "prev": nan, "key": jax.random.PRNGKey(terms.seed)}

    def _balance(self, now, then):
        keys = list(now)
        tiny = jnp.finfo(now[keys[0]].dtype).tiny
        z = jnp.stack([now[k] / (self.temperature * jnp.maximum(then[k], tiny)) for k in keys])
        return dict(zip(keys, len(keys) * jax.nn.softmax(z)))

    def update(self, state, ctx):
        L = ctx.losses
        first = {k: jnp.where(jnp.isnan(state["first"][k]), L[k], state["first"][k]) for k in L}
        prev = {k: jnp.where(jnp.isnan(state["prev"][k]), L[k], state["prev"][k]) for k in L}
        key, sub = jax.random.split(state["key"])
        rho = jax.random.bernoulli(sub, self.rho).astype(L[next(iter(L))].dtype)
        b0, b1 = self._balance(L, first), self._balance(L, prev)
        w = {k: self.alpha * (rho * state["w"][k] + (1 - rho) * b0[k]) + (1 - self.alpha) * b1[k] for k in L}
        return {"w": w, "first": first, "prev": dict(L), "key": key}

