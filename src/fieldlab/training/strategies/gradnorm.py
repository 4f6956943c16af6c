from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Balance, register


@register
class GradNorm(Balance):
    kind: Literal["gradnorm"] = "gradnorm"
    every: int = Field(100, gt=0)

    def measure(self, ctx):
        return ctx.grad_norms()
