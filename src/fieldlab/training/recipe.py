"""The Recipe: everything about *how* to train that must be held identical when models are compared.

Recipes are Pydantic models, so a TOML config is validated field by field and an unknown or
misspelt key is an error that names the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Stage(_Strict):
    """One optimiser stage. Stages run in order; each ends at its step count or its time share.

    ``adam``: learning rate ``lr`` decayed exponentially by ``decay_rate`` every ``decay_steps``.
    ``lbfgs``: limited-memory BFGS with a zoom (strong Wolfe) line search, ``memory`` pairs; stops
    early only when the relative loss change stays under ``tol`` for 10 consecutive iterations,
    or the gradient norm is under ``gtol``; a stage whose loss does not change at all for 10
    iterations (the line search finds no decrease, common in float32 near convergence) stops as
    ``stalled``.
    """

    optimizer: Literal["adam", "lbfgs"] = "adam"
    steps: int = Field(1000, ge=0)
    lr: float = Field(1e-3, gt=0)
    decay_rate: float = Field(1.0, gt=0, le=1)
    decay_steps: int = Field(1000, gt=0)
    memory: int = Field(50, gt=0)
    tol: float = Field(0.0, ge=0)
    gtol: float = Field(0.0, ge=0)


class Sampling(_Strict):
    """Collocation counts and how points are drawn; ``resample_every = 0`` keeps points fixed.

    Each boundary, initial and data condition gets its own ``boundary``, ``initial`` or ``data``
    points (``data = 0`` uses every observation).
    """

    interior: int = Field(2000, gt=0)
    boundary: int = Field(200, gt=0)
    initial: int = Field(200, gt=0)
    data: int = Field(0, ge=0)
    method: Literal["random", "sobol", "halton", "grid"] = "sobol"
    resample_every: int = Field(0, ge=0)


class Recipe(_Strict):
    """Optimiser schedule, sampling, loss weights, budget, dtype and seed.

    Budget: each stage's ``steps``; or, with ``time`` (seconds, compilation included), each stage
    gets a share of the wall time proportional to its steps and runs until it is used up.
    """

    stages: list[Stage] = Field(default_factory=lambda: [Stage(optimizer="adam", steps=2000), Stage(optimizer="lbfgs", steps=2000)])
    sampling: Sampling = Field(default_factory=Sampling)
    weights: dict[str, float] = Field(default_factory=dict)
    time: float | None = Field(None, gt=0)
    dtype: Literal["float32", "float64"] = "float32"
    seed: int = 0
    chunk: int = Field(50, gt=0, description="steps per compiled call; progress and checks between chunks")
    eval_every: int = Field(500, gt=0, description="steps between evaluations against the reference")

    @field_validator("stages")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("a recipe needs at least one stage")
        return v

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def with_steps(self, steps: int) -> Recipe:
        """Scale every stage's steps so that they add up to ``steps`` (same proportions)."""
        total = max(self.total_steps, 1)
        stages = [s.model_copy(update={"steps": int(round(s.steps * steps / total))}) for s in self.stages]
        stages[-1] = stages[-1].model_copy(update={"steps": steps - sum(s.steps for s in stages[:-1])})
        return self.model_copy(update={"stages": stages, "time": None})
