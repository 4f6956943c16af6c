"""``train`` joins a Problem, a Model and a Recipe, runs the optimiser stages and writes a run directory.

The loop is deterministic for a given seed: collocation points are a function of the seed and the
resampling index, steps run in compiled chunks whose boundaries depend only on the recipe, and a
checkpoint holds everything needed (network, trainable parameters, optimiser state, counters), so
an interrupted and resumed run ends where an uninterrupted one does.
"""

from __future__ import annotations

import csv
import io
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..config import RunConfig
from ..errors import FieldlabError, NonFiniteLossError
from ..problem import Problem
from . import checkpoint
from .losses import make_loss, solution
from .optimizers import REASONS, make_chunk, make_optimizer
from .progress import TrainingProgress
from .recipe import Recipe

CHECKPOINT_SECONDS = 30.0


class Interrupted(FieldlabError):
    """Training was stopped by the user (Ctrl-C) after a checkpoint was saved."""


def set_dtype(dtype: str) -> Any:
    """Enable 64-bit JAX when asked for; return the JAX dtype."""
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    return jnp.float64 if dtype == "float64" else jnp.float32


def sample_batch(problem: Problem, recipe: Recipe, index: int, dtype) -> dict[str, dict[str, jax.Array]]:
    """Collocation points for the ``index``-th draw (deterministic in ``recipe.seed`` and ``index``)."""
    s = recipe.sampling
    seed = int(recipe.seed) * 1_000_003 + 7_919 * index
    batch = {"interior": {"z": problem.domain.sample_interior(s.interior, seed=seed, method=s.method)}}
    counts = {"boundary": s.boundary, "initial": s.initial, "data": s.data}
    for k, (name, cond) in enumerate(problem.trained_conditions.items()):
        batch[name] = cond.sample(problem, counts[cond.kind], seed + 104_729 * (k + 1), s.method)
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), batch)


def init_theta(problem: Problem, model: eqx.Module, dtype):
    """Split a model into trainable arrays (with the problem's trainable parameters) and static parts."""
    model = jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, model)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    return {"net": params, "pde": problem.trainable_init(dtype)}, static


@dataclass
class TrainState:
    theta: Any
    opt_state: Any = None
    stage: int = 0
    stage_step: int = 0
    step: int = 0
    elapsed: float = 0.0
    stage_elapsed: float = 0.0
    stall: list[int] = field(default_factory=lambda: [0, 0])
    last: float = math.inf
    draw: int = 0
    stops: list[str] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)


def _meta(state: TrainState) -> dict:
    keys = ("stage", "stage_step", "step", "elapsed", "stage_elapsed", "stall", "last", "draw", "stops")
    out = {k: getattr(state, k) for k in keys}
    out["last"] = None if math.isinf(out["last"]) else out["last"]
    out["has_opt_state"] = state.opt_state is not None
    return out


def _leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _unflatten(template, arrays: list[np.ndarray]):
    leaves, treedef = jax.tree_util.tree_flatten(template)
    if len(leaves) != len(arrays):
        raise FieldlabError("the checkpoint does not match this model and recipe; was the config edited?")
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a, dtype=l.dtype) for a, l in zip(arrays, leaves)])


def write_history(path: Path, rows: list[dict[str, float]]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, restval="")
    w.writeheader()
    w.writerows(rows)
    checkpoint.atomic_write_text(path, buf.getvalue())


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: (v if k == "optimizer" else float(v) if v != "" else math.nan) for k, v in r.items()} for r in csv.DictReader(f)]


class Trainer:
    """Runs the stages of a recipe on a problem and model; see :func:`fieldlab.train`."""

    def __init__(self, problem: Problem, model: eqx.Module, config: RunConfig, out: Path | None,
                 progress: bool = True, stop_after: int | None = None):
        self.problem, self.config, self.recipe = problem, config, config.recipe
        self.out = Path(out) if out is not None else None
        self.dtype = set_dtype(self.recipe.dtype)
        self.progress = progress
        self.stop_after = stop_after  # testing hook: behave as if interrupted after this many steps
        theta, self.static = init_theta(problem, model, self.dtype)
        self.state = TrainState(theta=theta)
        self.loss_terms = jax.jit(make_loss(problem, self.static, self.recipe.weights, self.dtype))
        self.reference = problem.reference() if problem.reference is not None else None
        if self.reference is not None:
            self._ref_points = jnp.asarray(self.reference.points, self.dtype)
            self._predict = jax.jit(lambda th, z: jax.vmap(solution(problem, th, self.static))(z))

    # -- checkpoints -------------------------------------------------------------------------------
    def save(self) -> None:
        if self.out is None:
            return
        arrays = {"theta": _leaves(self.state.theta)}
        if self.state.opt_state is not None:
            arrays["opt"] = _leaves(self.state.opt_state)
        checkpoint.save(self.out, arrays, _meta(self.state))
        write_history(self.out / "history.csv", self.state.history)

    def restore(self) -> None:
        arrays, meta = checkpoint.load(self.out)
        s = self.state
        s.theta = _unflatten(s.theta, arrays["theta"])
        for k in ("stage", "stage_step", "step", "elapsed", "stage_elapsed", "stall", "draw", "stops"):
            setattr(s, k, meta[k])
        s.last = math.inf if meta["last"] is None else meta["last"]
        if meta["has_opt_state"]:
            opt = make_optimizer(self.recipe.stages[s.stage])
            s.opt_state = _unflatten(opt.init(s.theta), arrays["opt"])
        s.history = read_history(self.out / "history.csv")

    # -- evaluation --------------------------------------------------------------------------------
    def rel_l2(self, theta) -> float:
        if self.reference is None:
            return math.nan
        pred = self.reference.select(np.asarray(self._predict(theta, self._ref_points), np.float64), self.problem.fields)
        ref = self.reference.flat
        return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainState:
        """Run the remaining stages. Ctrl-C asks to stop: the loop saves at the next chunk boundary
        (a second Ctrl-C interrupts at once), so XLA is never interrupted mid-call."""
        self._stop_requested = False
        previous = None
        if threading.current_thread() is threading.main_thread():
            def request_stop(signum, frame):
                if self._stop_requested:
                    raise KeyboardInterrupt
                self._stop_requested = True

            previous = signal.signal(signal.SIGINT, request_stop)
        try:
            return self._run()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _run(self) -> TrainState:
        r, s = self.recipe, self.state
        budget_time = r.time
        total = budget_time if budget_time else r.total_steps
        unit = "s" if budget_time else "steps"
        t0 = time.perf_counter() - s.elapsed
        last_save = time.perf_counter()
        batch, batch_draw = None, -1
        with TrainingProgress(total, unit, self.progress) as bar:
            try:
                while s.stage < len(r.stages):
                    stage = r.stages[s.stage]
                    share = budget_time * stage.steps / max(r.total_steps, 1) if budget_time else None
                    opt, run_chunk = make_chunk(stage, lambda th, b: self.loss_terms(th, b)[0], r.chunk)
                    if s.opt_state is None:
                        s.opt_state = opt.init(s.theta)
                    stage_t0 = time.perf_counter() - s.stage_elapsed
                    reason = None
                    while reason is None:
                        if share is None and s.stage_step >= stage.steps:
                            reason = "steps"
                            break
                        if share is not None and time.perf_counter() - stage_t0 >= share:
                            reason = "time"
                            break
                        if self._stop_requested or (self.stop_after is not None and s.step >= self.stop_after):
                            raise KeyboardInterrupt
                        n = r.chunk if share is not None else min(r.chunk, stage.steps - s.stage_step)
                        if stage.optimizer == "adam" and r.sampling.resample_every:
                            s.draw = s.step // r.sampling.resample_every
                        if s.draw != batch_draw:
                            batch, batch_draw = sample_batch(self.problem, r, s.draw, self.dtype), s.draw
                        tic = time.perf_counter()
                        theta, opt_state, losses, done, code, stall, last = run_chunk(
                            s.theta, s.opt_state, batch, n, jnp.asarray(s.stall, jnp.int32), jnp.asarray(s.last, self.dtype))
                        done, code = int(done), int(code)
                        if code == 3:
                            raise NonFiniteLossError(
                                f"the loss became non-finite near step {s.step + done} ({stage.optimizer} stage); "
                                "lower the learning rate, or try --dtype float64. The last finite state is saved."
                            )
                        rate = done / max(time.perf_counter() - tic, 1e-9)
                        s.theta, s.opt_state, s.stall, s.last = theta, opt_state, [int(c) for c in stall], float(last)
                        s.step += done
                        s.stage_step += done
                        s.elapsed = time.perf_counter() - t0
                        s.stage_elapsed = time.perf_counter() - stage_t0
                        if code:
                            reason = REASONS[code]
                        self._record(stage.optimizer, batch, done, rate, force=reason is not None)
                        row = s.history[-1]
                        bar.update(s.elapsed if budget_time else s.step, f"{stage.optimizer} {s.stage + 1}/{len(r.stages)}",
                                   row["loss"], rate, self._last_error())
                        if time.perf_counter() - last_save > CHECKPOINT_SECONDS:
                            self.save()
                            last_save = time.perf_counter()
                    s.elapsed = time.perf_counter() - t0  # the stop check itself may come after the last chunk
                    s.stops.append(f"{stage.optimizer}: {reason} after {s.stage_step} steps")
                    s.stage += 1
                    s.stage_step, s.stage_elapsed, s.stall, s.last, s.opt_state = 0, 0.0, [0, 0], math.inf, None
                    self.save()
            except KeyboardInterrupt:
                self.save()
                where = f" {self.out}" if self.out else ""
                raise Interrupted(f"interrupted at step {s.step}; continue with: fieldlab resume{where}") from None
            except NonFiniteLossError:
                self.save()
                raise
        return s

    def _last_error(self) -> float | None:
        for row in reversed(self.state.history):
            if not math.isnan(row.get("rel_l2", math.nan)):
                return row["rel_l2"]
        return None

    def _record(self, optimizer: str, batch, done: int, rate: float, force: bool) -> None:
        s, r = self.state, self.recipe
        loss, terms = self.loss_terms(s.theta, batch)
        evaluate = force or (s.step // r.eval_every) > ((s.step - done) // r.eval_every)
        row = {"step": s.step, "stage": s.stage + 1, "optimizer": optimizer, "time": s.elapsed,
               "loss": float(loss), **{f"loss_{k}": float(v) for k, v in terms.items()},
               **{f"param_{k}": float(v) for k, v in self.problem.trainable_values(s.theta["pde"]).items()},
               "steps_per_s": rate, "rel_l2": self.rel_l2(s.theta) if evaluate else math.nan}
        s.history.append(row)
