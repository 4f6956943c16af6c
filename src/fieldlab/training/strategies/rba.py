r"""Residual-based attention (RBA): pointwise weights that accumulate the normalised residual.

Anagnostopoulos, Toscano, Stergiopulos and Karniadakis (2024), *Residual-based attention in
physics-informed neural network*, Comput. Methods Appl. Mech. Engrg. 421. For each point ``i`` of a
weighted term, refreshed every ``every`` steps:

.. math::
    \lambda_i \leftarrow \gamma\, \lambda_i + \eta\, \frac{|r_i|}{\max_j |r_j|}, \qquad
    L_k = \frac{1}{n_k} \sum_i (\lambda_i r_i)^2 ,

so :math:`\lambda_i` stays in :math:`[0, \eta / (1 - \gamma)]`. ``terms`` names the weighted terms
(default: every PDE equation).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax.numpy as jnp
from pydantic import Field

from .base import PointWeights, register


@register
class RBA(PointWeights):
    kind: Literal["rba"] = "rba"
    gamma: float = Field(0.999, ge=0, lt=1, description="decay")
    eta: float = Field(0.01, gt=0, description="learning rate of the weights")
    default_terms: ClassVar[str] = "pde"
    fill: ClassVar[float] = 0.0

    def update(self, state, ctx):
        out = {}
        for k, lam in state.items():
            r = jnp.sqrt(ctx.r2[k])
            out[k] = self.gamma * lam + self.eta * r / jnp.maximum(jnp.max(r), jnp.finfo(r.dtype).tiny)
        return out

    def point_weights(self, state, r2, batch, frozen):
        return {k: jnp.square(lam) for k, lam in state.items()}

    def scalars(self, state):
        return {f"rba_mean_{k}": float(jnp.mean(v)) for k, v in state.items()}
