"""The Recipe: everything about *how* to train that must be held identical when models are compared.

Recipes are Pydantic models, so a TOML config is validated field by field and an unknown or
misspelt key is an error that names the key. Optimiser stages (:mod:`.stages`) and strategies
(:mod:`.strategies`) are chosen by name (``optimizer = "lbfgs"``, ``kind = "causal"``) from their
registries and validated with their own options.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from ..errors import FieldlabError
from . import stages as _stages
from .stages import Stage
from .strategies import STRATEGIES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Sampling(_Strict):
    """Collocation counts and how points are drawn; ``resample_every = 0`` keeps points fixed.

    ``boundary`` is the number of points on the whole boundary: with ``split = "measure"`` each
    boundary condition gets the share of it that its part of the boundary measures, at least
    ``min(boundary, max(16, ceil(boundary / 10)))`` (four small holes get a few points each, the outer
    square most); with ``split = "each"`` every boundary condition gets ``boundary`` points. A
    condition's own ``count=`` overrides both. Each initial and data condition gets ``initial`` or
    ``data`` points (``data = 0`` uses every observation); a ``Point`` condition uses all its points.
    An adaptive collocation strategy in the recipe (``rar-g``, ``rad``, ``r3``, ``time-marching``)
    owns the interior points instead.

    ``batch``: interior points per step (0: all of them), for point sets too large for one step.
    The ``interior`` points are shuffled once per epoch (a permutation seeded by the seed, the
    draw and the epoch) and cut into ``interior // batch`` slices of ``batch`` points; step ``t``
    of a first-order stage uses slice ``t mod (interior // batch)`` of epoch
    ``t // (interior // batch)`` (the ``interior mod batch`` points left over change every epoch).
    A quasi-Newton or least-squares stage keeps the slice of its first step (its line search
    needs one fixed loss). The slices depend only on the step, so a resumed run sees the same
    ones. Boundary, initial and data points are not sliced.
    """

    interior: int = Field(2000, gt=0)
    boundary: int = Field(200, gt=0)
    initial: int = Field(200, gt=0)
    data: int = Field(0, ge=0)
    method: Literal["random", "sobol", "halton", "grid"] = "sobol"
    resample_every: int = Field(0, ge=0)
    split: Literal["measure", "each"] = "measure"
    batch: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _batch_fits(self):
        if self.batch >= self.interior:
            raise ValueError(f"sampling.batch ({self.batch}) must be smaller than sampling.interior ({self.interior}); "
                             "0 uses every point at every step")
        return self


def _default_stages():
    return [_stages.Adam(steps=2000), _stages.LBFGS(steps=2000)]


class Recipe(_Strict):
    """Optimiser stages, strategies, sampling, loss weights, budget, dtype and seed.

    Budget: each stage's ``steps``; or, with ``time`` (seconds, compilation included), each stage
    gets a share of the wall time proportional to its steps and runs until it is used up.
    ``weights``: static weight of each loss term (the PDE equations' and conditions' names).
    ``strategies``: loss weighting, causal weighting, continuation and adaptive collocation, applied
    together (term weights multiply).
    """

    stages: list[Any] = Field(default_factory=_default_stages)
    strategies: list[Any] = Field(default_factory=list)
    sampling: Sampling = Field(default_factory=Sampling)
    weights: dict[str, float] = Field(default_factory=dict)
    time: float | None = Field(None, gt=0)
    dtype: Literal["float32", "float64"] = "float32"
    seed: int = 0  # range checked by fieldlab.config.check, with the bounds in the message
    chunk: int = Field(50, gt=0, description="steps per compiled call; progress and checks between chunks")
    eval_every: int = Field(500, gt=0, description="steps between evaluations against the reference")

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, v):
        if not isinstance(v, list) or not v:
            raise ValueError("a recipe needs a non-empty list of stages")
        return [_stages.STAGES.validate(s, default="adam", where=f"recipe.stages.{i}") for i, s in enumerate(v)]

    @field_validator("strategies", mode="before")
    @classmethod
    def _strategies(cls, v):
        if not isinstance(v, list):
            raise ValueError("strategies must be a list of tables")
        return [STRATEGIES.validate(s, where=f"recipe.strategies.{i}") for i, s in enumerate(v)]

    @field_serializer("stages", "strategies")
    def _dump_parts(self, v):
        return [p.model_dump(exclude_none=True) for p in v]

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def stage_dtype(self, index: int) -> str:
        """The precision of stage ``index``: the last switch at or before it, else the recipe's."""
        dtype = self.dtype
        for s in self.stages[: index + 1]:
            dtype = s.dtype or dtype
        return dtype

    @property
    def uses_float64(self) -> bool:
        return any(self.stage_dtype(i) == "float64" for i in range(len(self.stages)))

    def with_steps(self, steps: int) -> Recipe:
        """Scale every stage's steps so that they add up to ``steps`` (same proportions), and every
        schedule measured in steps by the same factor ``f = steps / total_steps``: a stage's
        ``decay_steps`` and ``warmup``, a strategy's ``every``, a ramp's ``steps`` and ``milestones``, the
        sampling's ``resample_every`` (rounded, at least 1; ``warmup`` at least 0; ``resample_every = 0``
        stays 0). A shortened run so keeps the shape of the full one: as many learning-rate decays,
        collocation refreshes, redraws and time-marching windows, the same ramp. Every stage keeps at
        least one step (largest remainders share the rest), so ``steps`` must be at least the number of stages."""
        if steps < len(self.stages):
            raise FieldlabError(f"{steps} steps cannot be shared by the recipe's {len(self.stages)} stages; "
                                f"give at least {len(self.stages)}.")
        total = max(self.total_steps, 1)
        f = steps / total

        def scaled(part, fields, low=1):
            update = {k: max(low, int(round(getattr(part, k) * f))) for k in fields if isinstance(getattr(part, k, None), int)}
            return part.model_copy(update=update) if update else part

        stages = [scaled(scaled(s, ("decay_steps",)), ("warmup",), 0) for s in self.stages]
        stages = [s.model_copy(update={"steps": n}) for s, n in zip(stages, _share(steps, [s.steps for s in stages]))]
        strategies = [scaled(p, ("every", "steps")) for p in self.strategies]
        strategies = [p.model_copy(update={"milestones": tuple(int(round(m * f)) for m in p.milestones)})
                      if getattr(p, "milestones", None) else p for p in strategies]
        sampling = scaled(self.sampling, ("resample_every",)) if self.sampling.resample_every else self.sampling
        return self.model_copy(update={"stages": stages, "strategies": strategies, "sampling": sampling, "time": None})


def _share(steps: int, weights: list[int]) -> list[int]:
    """``steps`` split in proportion to ``weights``, each part at least 1 (largest remainders)."""
    total = max(sum(weights), 1)
    exact = [steps * w / total for w in weights]
    parts = [max(1, int(x)) for x in exact]
    order = sorted(range(len(parts)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    k = 0
    while sum(parts) < steps:  # hand out what flooring left, largest remainder first
        parts[order[k % len(parts)]] += 1
        k += 1
    while sum(parts) > steps:  # the minimum of 1 overdrew: take back from the largest part
        parts[parts.index(max(parts))] -= 1
    return parts


__all__ = ["Recipe", "Sampling", "Stage"]
