from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Balance, register


@register
class NTKTrace(Balance):
    kind: Literal["ntk"] = "ntk"
    every: int = Field(100, gt=0)
    points: int = Field(64, gt=0, description="points per term for the trace estimate")

    def measure(self, ctx):
        return ctx.ntk_traces(self.points)
