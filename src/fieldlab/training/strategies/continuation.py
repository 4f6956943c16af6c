r"""Parameter continuation: a problem parameter moves from an easy value to its true value.

A viscosity, an interface width or a wavenumber is ramped during training, so the network first
learns a smoother problem (Krishnapriyan et al. 2021, *Characterizing possible failure modes in
physics-informed neural networks*, curriculum regularisation). With target :math:`p^*` (the
problem's value), start :math:`p_0` and progress :math:`s = \min(1, k / \text{steps})` at step ``k``:

- ``linear``: :math:`p = p_0 + s (p^* - p_0)`;
- ``geometric``: :math:`p = p_0 (p^* / p_0)^s` (same signs, for scales such as a viscosity);
- ``staged``: :math:`p` = ``values[j]`` from step ``milestones[j-1]`` on (``values[0]`` before the
  first milestone), then :math:`p^*` after the last one. A staged ramp of a wavenumber is the staged
  frequency curriculum of Tao et al. (2025, xLSTM-PINN): low frequencies first, higher ones later.

In quasi-Newton stages the value is held at the stage's first step. The parameter must be one of the
problem's constant parameters.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field, model_validator

from .base import Strategy, register


@register
class Continuation(Strategy):
    kind: Literal["continuation"] = "continuation"
    param: str
    mode: Literal["linear", "geometric", "staged"] = "geometric"
    start: float | None = None
    steps: int = Field(1000, gt=0, description="length of the ramp (linear, geometric)")
    values: tuple[float, ...] = ()
    milestones: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _check(self):
        if self.mode == "staged":
            if not self.values or len(self.milestones) != len(self.values):
                raise ValueError("staged continuation needs 'values' and as many increasing 'milestones'")
            if list(self.milestones) != sorted(self.milestones):
                raise ValueError("continuation milestones must increase")
        elif self.start is None:
            raise ValueError(f"{self.mode} continuation needs a 'start' value")
        return self

    def init(self, terms):
        if self.param not in terms.params:
            raise ValueError(f"continuation of '{self.param}': not a constant parameter of the problem "
                             f"({', '.join(terms.params) or 'it has none'})")
        if self.mode == "geometric" and not (self.start * terms.params[self.param] > 0):
            raise ValueError("geometric continuation needs a start value of the same sign as the target, not 0")
        return {}

    def value(self, step):
        target = self.terms_info.params[self.param]
        k = jnp.asarray(step)
        if self.mode == "staged":
            vals = jnp.asarray((*self.values, target))
            return vals[jnp.sum(k >= jnp.asarray(self.milestones))]
        s = jnp.clip(k / self.steps, 0.0, 1.0)
        if self.mode == "linear":
            return self.start + s * (target - self.start)
        return self.start * (target / self.start) ** s

    def params(self, state, step):
        return {self.param: self.value(step)}
