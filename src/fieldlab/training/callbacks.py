"""Callbacks: user code called by the training loop between compiled chunks.

The loop runs its steps in compiled chunks (``recipe.chunk`` steps each); after every chunk it
records one history row and calls each callback's :meth:`Callback.on_chunk` with a
:class:`ChunkInfo`. Callbacks never run inside XLA, so they may do anything Python can (log, plot,
write files) without changing the compiled step, and they cost nothing between their calls.

Contract:

- ``on_start(info)`` once before the first chunk of a (possibly resumed) run, ``on_chunk(info)``
  after every chunk, ``on_end(info)`` once when the run ends, whether it finished, was stopped, was
  interrupted or failed (``info.reason`` says which).
- ``on_chunk`` may return ``True`` (or call ``info.request_stop(why)``) to end the run: the loop
  saves a checkpoint and returns a normal :class:`~fieldlab.run.Run` whose ``stops`` list ends with
  ``"stopped by <callback>: <why>"``. A stopped run with a directory can be continued with
  ``fieldlab resume``.
- The numbers in ``info`` are plain Python floats. An exception raised by a callback ends the run
  at once (``on_end`` sees ``"failed"``); the last checkpoint stays, and ``fieldlab resume`` continues.

A callback is usually a small class::

    class StopBelow(fieldlab.Callback):
        def on_chunk(self, info):
            return info.losses["loss"] < 1e-4

    fieldlab.train(problem, "mlp", recipe, callbacks=[StopBelow()])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FieldlabError


@dataclass
class ChunkInfo:
    """What a callback sees after a chunk.

    Attributes:
        step: optimiser steps done so far (over all stages).
        stage: the 1-based index of the current stage; ``stages``: how many the recipe has.
        optimizer: the current stage's optimiser name (``"adam"``, ``"lbfgs"``, ...).
        elapsed: wall time of training so far in seconds (compilation included).
        losses: the total ``"loss"`` and each term (``"pde"``, ``"walls"``, ...), weighted as trained.
        metrics: every other number of the history row: ``rel_l2`` against the reference (NaN
            between evaluations), trained parameters ``param_<name>``, strategy scalars,
            ``steps_per_s``.
        out: the run directory, or ``None``.
        config: the run's resolved configuration as a nested dict (problem, model, recipe).
        reason: in ``on_end`` only: ``"finished"``, ``"stopped"``, ``"interrupted"`` or ``"failed"``.
    """

    step: int
    stage: int
    stages: int
    optimizer: str
    elapsed: float
    losses: dict[str, float]
    metrics: dict[str, float]
    out: Any = None
    config: dict | None = None
    reason: str | None = None
    stop_reason: str | None = field(default=None, repr=False)

    def request_stop(self, why: str = "requested") -> None:
        """Ask the loop to end the run after this chunk (with a checkpoint)."""
        self.stop_reason = why

    @classmethod
    def from_row(cls, row: dict, stages: int, out=None, config: dict | None = None) -> ChunkInfo:
        """A ChunkInfo from one history row of the trainer."""
        skip = {"step", "stage", "optimizer", "time", "loss"}
        losses = {"loss": float(row["loss"]), **{k[5:]: float(v) for k, v in row.items() if k.startswith("loss_")}}
        metrics = {k: float(v) for k, v in row.items() if k not in skip and not k.startswith("loss_")}
        return cls(int(row["step"]), int(row["stage"]), stages, str(row["optimizer"]), float(row["time"]),
                   losses, metrics, out, config)


class Callback:
    """Base class: override any of the three hooks (each does nothing by default)."""

    def on_start(self, info: ChunkInfo) -> None:
        """Before the first chunk (``info`` holds the state so far: step 0, or the resumed step)."""

    def on_chunk(self, info: ChunkInfo) -> bool | None:
        """After each chunk; return ``True`` (or call ``info.request_stop``) to end the run."""

    def on_end(self, info: ChunkInfo) -> None:
        """When the run ends; ``info.reason`` says how."""

    @property
    def name(self) -> str:
        return type(self).__name__


class StopWhen(Callback):
    """Stop when ``loss`` falls below ``loss_below``, or ``rel_l2`` (when evaluated) below ``rel_l2_below``."""

    def __init__(self, *, loss_below: float | None = None, rel_l2_below: float | None = None):
        if loss_below is None and rel_l2_below is None:
            raise FieldlabError("StopWhen needs loss_below or rel_l2_below; give at least one threshold.")
        self.loss_below, self.rel_l2_below = loss_below, rel_l2_below

    def on_chunk(self, info: ChunkInfo) -> bool | None:
        if self.loss_below is not None and info.losses["loss"] < self.loss_below:
            info.request_stop(f"loss {info.losses['loss']:.3g} < {self.loss_below:g}")
        err = info.metrics.get("rel_l2", math.nan)
        if self.rel_l2_below is not None and not math.isnan(err) and err < self.rel_l2_below:
            info.request_stop(f"rel_l2 {err:.3g} < {self.rel_l2_below:g}")
        return None


def check_callbacks(callbacks: Sequence[Any] | None) -> tuple[Callback, ...]:
    """The callbacks as a tuple; anything without the hooks is one sentence."""
    if callbacks is None:
        return ()
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise FieldlabError("callbacks must be a list, such as callbacks=[StopWhen(loss_below=1e-4)].")
    for c in callbacks:
        if not all(callable(getattr(c, hook, None)) for hook in ("on_start", "on_chunk", "on_end")):
            raise FieldlabError(f"{type(c).__name__} is not a callback: subclass fieldlab.Callback and override "
                                "on_start, on_chunk or on_end.")
    return tuple(callbacks)


class Hooks:
    """The trainer's side: calls every callback and gathers stop requests."""

    def __init__(self, callbacks: Sequence[Callback], stages: int, out=None, config: dict | None = None):
        self.callbacks, self.stages, self.out, self.config = tuple(callbacks), stages, out, config
        self.stop: str | None = None  # "stopped by NAME: why", once requested

    def _info(self, row: dict | None, step: int) -> ChunkInfo:
        if row is None:
            return ChunkInfo(step, 1, self.stages, "", 0.0, {}, {}, self.out, self.config)
        return ChunkInfo.from_row(row, self.stages, self.out, self.config)

    def start(self, row: dict | None, step: int) -> None:
        for c in self.callbacks:
            c.on_start(self._info(row, step))

    def chunk(self, row: dict) -> bool:
        """Call ``on_chunk`` of each callback; True when one of them asked to stop."""
        for c in self.callbacks:
            info = self._info(row, int(row["step"]))
            if c.on_chunk(info) is True and info.stop_reason is None:
                info.request_stop()
            if info.stop_reason is not None and self.stop is None:
                self.stop = f"stopped by {getattr(c, 'name', type(c).__name__)}: {info.stop_reason}"
        return self.stop is not None

    def end(self, row: dict | None, step: int, reason: str) -> None:
        for c in self.callbacks:
            info = self._info(row, step)
            info.reason = reason
            c.on_end(info)
