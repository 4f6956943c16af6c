r"""Stopping rules as objects: when an optimiser stage ends before its step count.

A stage ends at its ``steps`` (or its share of a time budget), when the loss becomes non-finite, or
when one of its stopping rules fires. Each rule is a small object with one integer counter of
state, checked after every iteration inside the compiled chunk
(:func:`fieldlab.training.optimizers.make_chunk`); the counters are part of the checkpoint, so a
resumed run stops exactly where an uninterrupted one does. A new rule is one class here with
``@STOPS.register``.

Rules (``stop = [{rule = "..."}, ...]`` in a stage; without ``stop`` a stage gets the rules its
``tol`` and ``gtol`` options imply, see :func:`default_rules`):

- ``tolerance``: the relative loss change :math:`|L_k - L_{k-1}| / |L_k|` stays at or under ``tol``
  for ``patience`` consecutive iterations.
- ``stalled``: the loss does not change at all for ``patience`` consecutive iterations (in float32
  near convergence a quasi-Newton method can keep returning the same point).
- ``linesearch``: the line search fails (no sufficient decrease, or all of its evaluations used)
  ``patience`` times in a row, which in float32 near convergence means hundreds of wasted loss
  evaluations for no progress.
- ``gtol``: the gradient norm falls under ``gtol``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax.numpy as jnp
from pydantic import Field

from .registry import Part, Registry

STOPS = Registry("rule", "stopping rule")


class Progress(NamedTuple):
    """What a rule may look at after one iteration (all scalars, traced)."""

    loss: jnp.ndarray  # the loss at the start of the iteration
    last: jnp.ndarray  # the previous iteration's loss (inf before the first)
    grad_norm: jnp.ndarray
    linesearch_failed: jnp.ndarray  # bool; always False for stages without a line search


class StopRule(Part):
    """A stopping rule: ``check(count, progress) -> (stop, count)`` with one int32 counter of state.

    ``reason`` is the phrase reported when the rule ends a stage (``"lbfgs: tolerance after 812 steps"``).
    """

    rule: str

    @property
    def reason(self) -> str:
        return self.rule

    def check(self, count: jnp.ndarray, p: Progress) -> tuple[jnp.ndarray, jnp.ndarray]:
        raise NotImplementedError


def _relative_change(p: Progress) -> jnp.ndarray:
    return jnp.abs(p.loss - p.last) / jnp.maximum(jnp.abs(p.loss), jnp.finfo(p.loss.dtype).tiny)


def _counted(condition, count, patience):
    count = jnp.where(condition, count + 1, 0).astype(jnp.int32)
    return count >= patience, count


@STOPS.register
class Tolerance(StopRule):
    rule: Literal["tolerance"] = "tolerance"
    tol: float = Field(gt=0)
    patience: int = Field(10, gt=0)

    def check(self, count, p):
        return _counted(_relative_change(p) <= self.tol, count, self.patience)


@STOPS.register
class Stalled(StopRule):
    rule: Literal["stalled"] = "stalled"
    patience: int = Field(10, gt=0)

    @property
    def reason(self) -> str:
        return "stalled (the loss no longer changes)"

    def check(self, count, p):
        return _counted(_relative_change(p) <= 0, count, self.patience)


@STOPS.register
class LineSearch(StopRule):
    rule: Literal["linesearch"] = "linesearch"
    patience: int = Field(10, gt=0)

    @property
    def reason(self) -> str:
        return "stalled (line search finds no decrease)"

    def check(self, count, p):
        return _counted(p.linesearch_failed, count, self.patience)


@STOPS.register
class GradientTolerance(StopRule):
    rule: Literal["gtol"] = "gtol"
    gtol: float = Field(gt=0)

    def check(self, count, p):
        return p.grad_norm < self.gtol, count


def default_rules(tol: float, gtol: float, linesearch: bool) -> list[StopRule]:
    """The rules a stage's ``tol`` and ``gtol`` options imply (the behaviour before rules were objects).

    Line-search stages: ``tolerance`` when ``tol > 0``, else ``stalled``; and ``linesearch``. Every
    stage: ``gtol`` when ``gtol > 0``.
    """
    rules: list[StopRule] = []
    if linesearch:
        rules.append(Tolerance(tol=tol) if tol > 0 else Stalled())
        rules.append(LineSearch())
    if gtol > 0:
        rules.append(GradientTolerance(gtol=gtol))
    return rules
