r"""Self-adaptive pointwise weights (SA-PINN), trained by gradient ascent on the loss.

McClenny and Braga-Neto (2023), *Self-adaptive physics-informed neural networks*, J. Comput. Phys.
474. Each point of a weighted term has a weight :math:`\lambda_i` in
:math:`L_k = \frac{1}{n_k}\sum_i \lambda_i r_i^2`; the network descends the loss while the weights
ascend it. With the ascent step normalised per point (``n_k`` times the gradient):

.. math::
    \lambda_i \leftarrow \min\big(\lambda_i + \eta\, r_i^2 / \overline{r^2},\ \lambda_{\max}\big),

where :math:`\overline{r^2}` is the term's mean square (so ``eta`` is independent of the residual's
scale), refreshed every ``every`` steps. ``terms`` defaults to every term.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field

from .base import PointWeights, register


@register
class SelfAdaptive(PointWeights):
    kind: Literal["sa"] = "sa"
    eta: float = Field(0.01, gt=0, description="ascent step of the weights")
    max_weight: float = Field(100.0, gt=1)

    def update(self, state, ctx):
        out = {}
        for k, lam in state.items():
            r2 = ctx.r2[k]
            out[k] = jnp.minimum(lam + self.eta * r2 / jnp.maximum(jnp.mean(r2), jnp.finfo(r2.dtype).tiny), self.max_weight)
        return out

    def point_weights(self, state, r2, batch, frozen):
        return dict(state)

    def scalars(self, state):
        return {f"sa_mean_{k}": float(jnp.mean(v)) for k, v in state.items()}
