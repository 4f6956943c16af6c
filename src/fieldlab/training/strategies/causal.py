r"""Causal weighting for time-dependent problems: later times wait until earlier ones are resolved.

Wang, Sankaran and Perdikaris (2024), *Respecting causality for training physics-informed neural
networks*, Comput. Methods Appl. Mech. Engrg. 421. The interior points are split by time into
``chunks`` equal intervals; with :math:`L_i` the mean squared PDE residual in chunk ``i``,

.. math::
    w_i = \exp\Big(-\varepsilon \sum_{j < i} L_j\Big), \qquad
    L_r = \frac{1}{M} \sum_{i=1}^{M} w_i L_i ,

the weights being constants for differentiation. :math:`\varepsilon` follows the schedule ``eps``:
at each refresh, when every weight exceeds ``delta`` (all of time is resolved at this
:math:`\varepsilon`), the next value is taken. Off in quasi-Newton stages (a line search needs one
fixed function).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from pydantic import Field, field_validator

from .base import Strategy, register


@register
class Causal(Strategy):
    kind: Literal["causal"] = "causal"
    every: int = Field(100, gt=0)
    chunks: int = Field(32, ge=2)
    eps: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 100.0)
    delta: float = Field(0.99, gt=0, lt=1)

    @field_validator("eps")
    @classmethod
    def _eps(cls, v):
        if not v or any(not (e > 0) for e in v):
            raise ValueError("eps must be a non-empty list of positive numbers")
        return v

    def init(self, terms):
        if terms.time_index is None:
            raise ValueError("causal weighting needs a time-dependent problem (time as the last coordinate)")
        return {"level": jnp.zeros((), jnp.int32), "min_w": jnp.ones((), terms.dtype)}

    def chunk_weights(self, level, r2, t):
        """Chunk index of each point, and ``w_i`` of each chunk, from the residuals ``r2`` at times ``t``."""
        lo, hi = jnp.min(t), jnp.max(t)
        idx = jnp.clip(((t - lo) / jnp.maximum(hi - lo, 1e-30) * self.chunks).astype(jnp.int32), 0, self.chunks - 1)
        sums = jax.ops.segment_sum(r2, idx, self.chunks)
        counts = jnp.maximum(jax.ops.segment_sum(jnp.ones_like(r2), idx, self.chunks), 1)
        L = sums / counts
        eps = jnp.asarray(self.eps, r2.dtype)[level]
        w = jax.lax.stop_gradient(jnp.exp(-eps * (jnp.cumsum(L) - L)))
        return idx, w, counts

    def _pde_r2(self, r2):
        pde = self.terms_info.pde
        return sum(r2[k] for k in pde) / len(pde)

    def point_weights(self, state, r2, batch, frozen):
        if frozen:
            return {}
        t = batch["interior"]["z"][:, self.terms_info.time_index]
        idx, w, counts = self.chunk_weights(state["level"], self._pde_r2(r2), t)
        n = t.shape[0]
        per_point = w[idx] * n / (self.chunks * counts[idx])
        return {k: per_point for k in self.terms_info.pde}

    def update(self, state, ctx):
        t = ctx.batch["interior"]["z"][:, self.terms_info.time_index]
        _, w, _ = self.chunk_weights(state["level"], self._pde_r2(ctx.r2), t)
        min_w = jnp.min(w)
        level = jnp.where(min_w > self.delta, jnp.minimum(state["level"] + 1, len(self.eps) - 1), state["level"])
        return {"level": level.astype(jnp.int32), "min_w": min_w}

    def scalars(self, state):
        return {"causal_eps": float(self.eps[int(state["level"])]), "causal_min_weight": float(state["min_w"])}
