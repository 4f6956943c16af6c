"""``train`` joins a Problem, a Model and a Recipe, runs the optimiser stages and writes a run directory.

The loop is deterministic for a given seed: collocation points are a function of the seed and the
resampling index, steps run in compiled chunks whose boundaries depend only on the recipe, and a
checkpoint holds everything needed (network, trainable parameters, optimiser state, counters), so
an interrupted and resumed run ends where an uninterrupted one does.

With several devices the collocation points are split across them and everything else is
replicated (:mod:`.sharding`); with ``sampling.batch`` each step uses a slice of the interior
points (:func:`slice_indices`).
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
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
from .callbacks import Hooks, check_callbacks
from .losses import Objective, solution
from .optimizers import NON_FINITE, make_chunk, reason_of
from .progress import TrainingProgress
from .recipe import Recipe
from .sharding import Placement
from .strategies import Collocation, PointWeights, Pool

CHECKPOINT_SECONDS = 30.0


class Interrupted(FieldlabError):
    """Training was stopped by the user (Ctrl-C) after a checkpoint was saved."""


def set_dtype(dtype: str, *, enable: bool | None = None) -> Any:
    """Enable 64-bit JAX when asked for (``dtype == "float64"`` or ``enable``); return the JAX dtype."""
    if dtype == "float64" or enable:
        jax.config.update("jax_enable_x64", True)
    return jnp.float64 if dtype == "float64" else jnp.float32


def _cast(tree, dtype):
    """Floating leaves of ``tree`` cast to ``dtype`` (integers, keys and booleans kept)."""
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else a, tree)


def condition_counts(problem: Problem, sampling) -> dict[str, int]:
    """Points drawn for each trained condition (see :class:`~fieldlab.training.recipe.Sampling`).

    A condition's own ``count`` wins. Otherwise, with ``split = "measure"`` (the default), a boundary
    condition gets ``max(floor, round(boundary * f))`` points, where ``f`` is the share of the whole
    boundary it covers (:meth:`~fieldlab.problem.Condition.fraction`) and
    ``floor = min(boundary, max(16, ceil(boundary / 10)))``: conditions that cover the boundary
    between them share ``boundary`` points at one density, and a small part still gets a few.
    With ``split = "each"`` every boundary condition gets ``boundary`` points. Initial conditions
    get ``initial`` points, data conditions ``data`` (0: all observations), point conditions all their points.
    """
    s = sampling
    floor = min(s.boundary, max(16, math.ceil(s.boundary / 10)))
    out = {}
    for name, cond in problem.trained_conditions.items():
        try:
            if cond.count is not None:
                n = int(cond.count)
            elif cond.kind == "boundary":
                n = s.boundary if s.split == "each" else max(floor, round(s.boundary * cond.fraction(problem)))
            else:
                n = {"initial": s.initial, "data": s.data}.get(cond.kind, len(getattr(cond, "points", ())))
        except FieldlabError as e:
            raise FieldlabError(f"condition '{name}': {e}".rstrip(".") + ".") from None
        out[name] = n
    return out


def sample_batch(problem: Problem, recipe: Recipe, index: int, dtype) -> dict[str, dict[str, jax.Array]]:
    """Collocation points for the ``index``-th draw (deterministic in ``recipe.seed`` and ``index``)."""
    s = recipe.sampling
    seed = int(recipe.seed) * 1_000_003 + 7_919 * index
    batch = {"interior": {"z": problem.domain.sample_interior(s.interior, seed=seed, method=s.method)}}
    counts = condition_counts(problem, s)
    for k, (name, cond) in enumerate(problem.trained_conditions.items()):
        try:
            batch[name] = cond.sample(problem, counts[name], seed + 104_729 * (k + 1), s.method)
        except FieldlabError as e:
            raise FieldlabError(f"condition '{name}': {e}".rstrip(".") + ".") from None
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), batch)


def slice_indices(n: int, size: int, seed: int, draw: int, steps) -> np.ndarray:
    """The interior points (indices into the ``n`` of a draw) used at each of ``steps``, shape ``(len(steps), size)``.

    Epoch ``e = t // (n // size)`` is a permutation of the ``n`` points, seeded by ``(seed, draw, e)``;
    step ``t`` takes its block ``t mod (n // size)`` of ``size`` points. A function of its arguments
    only, so a resumed run uses the same slices.
    """
    per = n // size
    perms: dict[int, np.ndarray] = {}
    out = np.empty((len(steps), size), np.int64)
    for row, t in enumerate(steps):
        epoch, block = divmod(int(t), per)
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([int(seed), int(draw), epoch]).permutation(n)
        out[row] = perms[epoch][block * size:(block + 1) * size]
    return out


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
    stall: list[int] = field(default_factory=list)  # one counter per stopping rule of the stage
    last: float = math.inf
    draw: int = 0
    stops: list[str] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    aux: Any = None  # the strategies' states and the step: {"states": [...], "step": int32}
    colloc: np.ndarray | None = None  # interior points owned by an adaptive collocation strategy
    colloc_step: int = -1  # the step of the last collocation refresh


_META_KEYS = ("stage", "stage_step", "step", "elapsed", "stage_elapsed", "stall", "last", "draw", "stops", "colloc_step")


def _meta(state: TrainState) -> dict:
    keys = _META_KEYS
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
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a, dtype=jnp.asarray(l).dtype) for a, l in zip(arrays, leaves)])


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


class Trainer:
    """Runs the stages of a recipe on a problem and model; see :func:`fieldlab.train`.

    The loop never branches on a strategy's name: loss strategies act inside the compiled chunk
    through :class:`~fieldlab.training.losses.Objective`; an adaptive collocation strategy replaces
    the interior points between chunks, whose boundaries fall on its refresh steps; every state
    (network, optimiser, strategies, points) is one pytree saved by each checkpoint.
    """

    def __init__(self, problem: Problem, model: eqx.Module, config: RunConfig, out: Path | None,
                 progress: bool = True, stop_after: int | None = None, callbacks=(), devices=None):
        self.problem, self.config, self.recipe = problem, config, config.recipe
        self.hooks = Hooks(check_callbacks(callbacks), len(config.recipe.stages), out, config.model_dump(exclude_none=True))
        self.out = Path(out) if out is not None else None
        self.dtype = set_dtype(self.recipe.dtype, enable=self.recipe.uses_float64)
        self.progress = progress
        self.stop_after = stop_after  # testing hook: behave as if interrupted after this many steps
        theta, self.static = init_theta(problem, model, self.dtype)
        self.state = TrainState(theta=theta)
        colloc = [c for c in self.recipe.strategies if isinstance(c, Collocation)]
        if len(colloc) > 1:
            raise FieldlabError(f"a recipe takes one adaptive collocation strategy, got {', '.join(c.kind for c in colloc)}.")
        self.colloc = colloc[0] if colloc else None
        if self.recipe.sampling.batch:
            clash = [c.kind for c in self.recipe.strategies if isinstance(c, (Collocation, PointWeights))]
            if clash:
                raise FieldlabError(f"sampling.batch slices the interior points, which {', '.join(clash)} needs whole "
                                    "(it owns or weights each point); remove one or the other.")
        self._check_time_marching()
        moving = ([self.colloc.kind] if self.colloc else []) + (["resample_every"] if self.recipe.sampling.resample_every else [])
        pointwise = [c.kind for c in self.recipe.strategies if isinstance(c, PointWeights)]
        if moving and pointwise:
            warnings.warn(f"{', '.join(pointwise)} {'keeps' if len(pointwise) == 1 else 'keep'} one weight per point "
                          f"position, and {' and '.join(moving)} {'moves' if len(moving) == 1 else 'move'} the points "
                          "during training: a weight then applies to a point it was not learnt on. "
                          "Keep the points fixed (resample_every = 0, no adaptive collocation) for per-point weights.",
                          stacklevel=2)
        self.place = Placement(devices)  # several devices: the points are split across them
        loss_strategies = [c for c in self.recipe.strategies if not isinstance(c, Collocation)]
        self.objective = Objective(problem, self.static, self.recipe.weights, loss_strategies, self.dtype, self.recipe.seed)
        self.objective.residuals = self.place.pointwise(self.objective.residuals, tuple(problem.equations))
        # the loss the stage's optimiser minimises: frozen stages weigh without the residual-driven weights
        self.loss_terms = jax.jit(lambda th, b, aux, frozen=False: self.objective.terms(th, b, aux, frozen),
                                  static_argnames="frozen")
        self.reference = problem.reference() if problem.reference is not None else None
        if self.reference is not None:
            self.reference.check(problem)
        if self.reference is not None:
            self._predict = jax.jit(lambda th, z: jax.vmap(solution(problem, th, self.static))(z))
        self._residual = jax.jit(lambda th, b, aux: self.objective.pointwise(th, b, aux))

    # -- precision -----------------------------------------------------------------------------------
    def _size(self) -> int:
        """The number of trainable numbers (network arrays and parameters) the optimiser sees."""
        return sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(self.state.theta))

    def _use_dtype(self, name: str) -> None:
        """Switch to the precision of the current stage: network, strategy states, batches."""
        dtype = jnp.float64 if name == "float64" else jnp.float32
        if dtype == self.dtype:
            return
        self.dtype = self.objective.dtype = dtype
        s = self.state
        s.theta = _cast(s.theta, dtype)
        if s.aux is not None:
            s.aux = _cast(s.aux, dtype)

    # -- points --------------------------------------------------------------------------------------
    def _pool(self, z: np.ndarray, step: int) -> Pool:
        r, pb = self.recipe, self.problem
        lo, hi = (np.asarray(b, np.float64) for b in pb.domain.bounds())
        seed = int(r.seed) * 1_000_003 + 15_485_863
        rng = np.random.default_rng([int(r.seed), step])
        counter = [0]

        def draw(m: int) -> np.ndarray:
            counter[0] += 1
            return pb.domain.sample_interior(int(m), seed=seed + 7_919 * step + 104_723 * counter[0], method="random")

        def residual(points: np.ndarray) -> np.ndarray:
            batch = {**self._batch_conditions(), "interior": {"z": jnp.asarray(points, self.dtype)}}
            aux = self.state.aux if self.state.aux is not None else {"states": [], "step": jnp.int32(step)}
            r2 = self._residual(self.state.theta, batch, aux)
            return np.sqrt(np.asarray(sum(r2[k] for k in pb.equations), np.float64) / len(pb.equations))

        return Pool(np.asarray(z, np.float64), residual, draw, rng, step, len(pb.coords) - 1 if hasattr(pb.domain, "sample_initial") else None, lo, hi)

    def _base_batch(self):
        """The recipe's draw of points for the current draw index and precision (cached)."""
        s = self.state
        if getattr(self, "_base_key", None) != (s.draw, self.dtype):
            self._base, self._base_key = sample_batch(self.problem, self.recipe, s.draw, self.dtype), (s.draw, self.dtype)
        return self._base

    def _batch_conditions(self):
        return {k: v for k, v in self._base_batch().items() if k != "interior"}

    def _batch(self):
        """The current batch: the recipe's draw, with the collocation strategy's interior points."""
        s = self.state
        batch = dict(self._base_batch())
        if self.colloc is not None:
            if s.colloc is None:
                try:
                    s.colloc = self.colloc.start(self._pool(np.asarray(batch["interior"]["z"]), s.step))
                except ValueError as e:  # a strategy that does not fit the problem
                    raise FieldlabError(f"{e}.") from None
            batch["interior"] = {"z": jnp.asarray(s.colloc, self.dtype)}
        return batch

    def _step_batches(self, stage, batch):
        """``(batch of the compiled chunk, batch of step k of the chunk -> for the records)``, placed on the devices.

        Without ``sampling.batch`` both are ``batch``. With it, a first-order stage gets one slice of
        interior points per step of the chunk (stacked, see :func:`slice_indices`) and a frozen stage
        the slice of its first step.
        """
        s, size = self.state, self.recipe.sampling.batch
        if not size:
            placed = self.place.split(batch)
            return placed, lambda k: placed
        if getattr(self, "_host_key", None) != self._base_key:
            self._host_z, self._host_key = np.asarray(batch["interior"]["z"]), self._base_key
        z = self._host_z
        rest = self.place.split({k: v for k, v in batch.items() if k != "interior"})
        if stage.frozen:
            idx = slice_indices(len(z), size, self.recipe.seed, s.draw, [s.step - s.stage_step])[0]
            placed = {**rest, "interior": self.place.split({"z": jnp.asarray(z[idx], self.dtype)})}
            return placed, lambda k: placed
        idx = slice_indices(len(z), size, self.recipe.seed, s.draw, range(s.step, s.step + self.recipe.chunk))
        stacked = {**rest, "interior": self.place.split({"z": jnp.asarray(z[idx], self.dtype)}, axis=1)}
        return stacked, lambda k: {**rest, "interior": {"z": stacked["interior"]["z"][k]}}

    def _ensure_aux(self, batch) -> None:
        """Create (or resize) the strategies' states for the batch's point counts."""
        s = self.state
        sizes = self.objective.sizes(batch)
        if s.aux is None:
            s.aux = {"states": self.objective.bind(sizes), "step": jnp.int32(s.step)}
            self._sizes = sizes
        elif self._sizes != sizes:
            s.aux = {"states": [st.resize(x, sizes) for st, x in zip(self.objective.strategies, s.aux["states"])],
                     "step": s.aux["step"]}
            self._sizes = sizes

    def _check_time_marching(self) -> None:
        """Warn when a time-marching window reaches the whole interval only where no refresh happens:
        after the last step, or inside a quasi-Newton or least-squares stage (which keeps its points)."""
        c = self.colloc
        if c is None or c.kind != "time-marching" or self.recipe.time is not None:
            return
        full, start, total = (c.windows - 1) * c.every, 0, self.recipe.total_steps
        for stage in self.recipe.stages:
            if not stage.frozen and start <= full < start + stage.steps:
                return
            start += stage.steps
        where = (f"past the run's {total} steps" if full >= total else
                 "inside a quasi-Newton or least-squares stage, which keeps the points it starts with")
        warnings.warn(f"time-marching opens its last window at step {full} ({c.windows} windows every {c.every} "
                      f"steps), {where}: the end of the time interval is never trained. Lower 'every' so that "
                      "the windows open during the first-order stages.", stacklevel=3)

    def _strategy_step(self, stage) -> int:
        """The step the strategies see: the current one, or in a frozen (quasi-Newton, least-squares)
        stage its first step, so that a ramped parameter holds still while the stage runs."""
        s = self.state
        return s.step - s.stage_step if stage.frozen else s.step

    def _refresh_points(self, stage) -> None:
        s, c = self.state, self.colloc
        if c is None or stage.frozen or s.step == 0 or s.step % c.every or s.colloc_step == s.step:
            return
        s.colloc = c.refresh(self._pool(s.colloc, s.step))
        s.colloc_step = s.step

    # -- checkpoints -------------------------------------------------------------------------------
    def save(self) -> None:
        if self.out is None:
            return
        arrays = {"theta": _leaves(self.state.theta)}
        if self.state.opt_state is not None:
            arrays["opt"] = _leaves(self.state.opt_state)
        if self.state.aux is not None:
            arrays["aux"] = _leaves(self.state.aux)
        if self.state.colloc is not None:
            arrays["colloc"] = [np.asarray(self.state.colloc)]
        checkpoint.save(self.out, arrays, _meta(self.state), history=self.state.history)

    def restore(self) -> None:
        arrays, meta = checkpoint.load(self.out)
        s = self.state
        for k in _META_KEYS:
            if k in meta:
                setattr(s, k, meta[k])
        s.last = math.inf if meta["last"] is None else meta["last"]
        self._use_dtype(self.recipe.stage_dtype(min(s.stage, len(self.recipe.stages) - 1)))
        s.theta = _unflatten(s.theta, arrays["theta"])
        if "colloc" in arrays:
            s.colloc = np.asarray(arrays["colloc"][0])
        if "aux" in arrays:
            batch = self._batch()
            if self.recipe.sampling.batch:  # the strategies' states are sized for one slice
                batch = {**batch, "interior": {"z": batch["interior"]["z"][: self.recipe.sampling.batch]}}
            self._ensure_aux(batch)
            s.aux = _unflatten(s.aux, arrays["aux"])
        if meta["has_opt_state"]:
            opt = self.recipe.stages[s.stage].transform()
            s.opt_state = _unflatten(opt.init(s.theta), arrays["opt"])
        s.history = meta["history"]

    # -- evaluation --------------------------------------------------------------------------------
    def rel_l2(self, theta) -> float:
        if self.reference is None:
            return math.nan
        pred = self.reference.select(np.asarray(self._predict(theta, jnp.asarray(self.reference.points, self.dtype)), np.float64),
                                     self.problem.fields)
        ref = self.reference.flat
        return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainState:
        """Run the remaining stages. Ctrl-C asks to stop: the loop saves at the next chunk boundary,
        so XLA is never interrupted mid-call; a second Ctrl-C ends the process at once, keeping the
        last checkpoint (see :func:`checkpoint.interrupt_handler`)."""
        self._stop_requested = False
        previous = None
        if threading.current_thread() is threading.main_thread():
            stop = checkpoint.interrupt_handler(lambda: setattr(self, "_stop_requested", True))
            previous = signal.signal(signal.SIGINT, stop)
        last = lambda: self.state.history[-1] if self.state.history else None  # noqa: E731
        self.hooks.start(last(), self.state.step)
        reason = "failed"
        try:
            state = self._run()
            reason = "stopped" if self.hooks.stop else "finished"
            return state
        except Interrupted:
            reason = "interrupted"
            raise
        finally:
            self.hooks.end(last(), self.state.step, reason)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _chunk_length(self, stage, share) -> int:
        r, s = self.recipe, self.state
        n = r.chunk if share is not None else min(r.chunk, stage.steps - s.stage_step)
        if not stage.frozen:  # refreshes of points fall on chunk boundaries, so a resumed run matches
            for every in (r.sampling.resample_every, self.colloc.every if self.colloc else 0):
                if every:
                    n = min(n, every - s.step % every)
        return max(n, 1)

    def _run(self) -> TrainState:
        r, s = self.recipe, self.state
        budget_time = r.time
        total = budget_time if budget_time else r.total_steps
        unit = "s" if budget_time else "steps"
        t0 = time.perf_counter() - s.elapsed
        last_save = time.perf_counter()
        with TrainingProgress(total, unit, self.progress) as bar:
            try:
                while s.stage < len(r.stages):
                    stage, note = r.stages[s.stage].for_size(self._size())
                    if note and note not in s.stops:
                        s.stops.append(note)
                    self._use_dtype(r.stage_dtype(s.stage))
                    share = budget_time * stage.steps / max(r.total_steps, 1) if budget_time else None
                    opt, run_chunk = make_chunk(stage, self.objective.loss_fn(stage.frozen), r.chunk,
                                                update=self.objective.update,
                                                vector_fn=self.objective.vector_fn(stage.frozen),
                                                minibatch=bool(r.sampling.batch) and not stage.frozen)
                    if s.opt_state is None:
                        s.opt_state = opt.init(s.theta)
                    if len(s.stall) != len(stage.rules()):  # a new stage (or a checkpoint from before rules were objects)
                        s.stall = [0] * len(stage.rules())
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
                        if not stage.frozen and r.sampling.resample_every:
                            s.draw = s.step // r.sampling.resample_every
                        self._refresh_points(stage)
                        batch, step_batch = self._step_batches(stage, self._batch())
                        self._ensure_aux(step_batch(0))
                        n = self._chunk_length(stage, share)
                        aux = self.place.replicate({**s.aux, "step": jnp.int32(self._strategy_step(stage))})
                        s.theta, s.opt_state = self.place.replicate(s.theta), self.place.replicate(s.opt_state)
                        tic = time.perf_counter()
                        theta, opt_state, losses, done, code, stall, last, aux = run_chunk(
                            s.theta, s.opt_state, batch, n, jnp.asarray(s.stall, jnp.int32), jnp.asarray(s.last, self.dtype), aux)
                        done, code = int(done), int(code)
                        if code == NON_FINITE:
                            raise NonFiniteLossError(
                                f"the loss became non-finite near step {s.step + done} ({stage.optimizer} stage); "
                                "lower the learning rate, or try --dtype float64. The last finite state is saved."
                            )
                        rate = done / max(time.perf_counter() - tic, 1e-9)
                        self._cost_line(bar, stage, step_batch(0), done, time.perf_counter() - tic)
                        s.theta, s.opt_state, s.stall, s.last = theta, opt_state, [int(c) for c in stall], float(last)
                        s.aux = aux
                        s.step += done
                        s.stage_step += done
                        s.elapsed = time.perf_counter() - t0
                        s.stage_elapsed = time.perf_counter() - stage_t0
                        if code:
                            reason = reason_of(stage, code)
                        self._record(stage, step_batch(max(done, 1) - 1), done, rate, force=reason is not None)
                        row = s.history[-1]
                        bar.update(s.elapsed if budget_time else s.step, f"{stage.optimizer} {s.stage + 1}/{len(r.stages)}",
                                   row["loss"], rate, self._last_error())
                        if time.perf_counter() - last_save > CHECKPOINT_SECONDS:
                            self.save()
                            last_save = time.perf_counter()
                        if self.hooks.callbacks and self.hooks.chunk(row):
                            break
                    s.elapsed = time.perf_counter() - t0  # the stop check itself may come after the last chunk
                    if reason is not None:
                        s.stops.append(f"{stage.optimizer}: {reason} after {s.stage_step} steps")
                        s.stage += 1
                        s.stage_step, s.stage_elapsed, s.stall, s.last, s.opt_state = 0, 0.0, [], math.inf, None
                    if self.hooks.stop:  # a callback ended the run; the stage is kept, so resume continues it
                        s.stops.append(self.hooks.stop)
                        self.save()
                        break
                    self.save()
            except KeyboardInterrupt:
                self.save()
                where = f" {self.out}" if self.out else ""
                raise Interrupted(f"interrupted at step {s.step}; continue with: fieldlab resume{where}") from None
            except NonFiniteLossError:
                self.save()
                raise
        return s

    def _cost_line(self, bar, stage, batch, done: int, seconds: float) -> None:
        """Once per run, the expected cost: points, parameters, and the time per 1000 steps measured on
        the first chunk that runs compiled (the second of the first stage; the first one, with its
        compilation, when the stage has only one), extrapolated over the recipe when this is its last
        stage, else over this stage (later stages, other optimisers, run at their own rates)."""
        seen = getattr(self, "_cost", None)
        if seen == "shown" or not done:
            return
        last_chunk = self.state.stage_step + done >= stage.steps  # called before the counters move on
        if seen is None and not last_chunk:
            self._cost = (seconds, self.state.stage)
            return
        compile_s = seen[0] if seen is not None and seen[1] == self.state.stage else None
        self._cost = "shown"
        r = self.recipe
        n_int = int(batch["interior"]["z"].shape[0])
        n_cond = sum(int(v["z"].shape[0]) for k, v in batch.items() if k != "interior")
        n_par = sum(int(x.size) for x in jax.tree_util.tree_leaves(self.state.theta["net"]))
        per_1000 = 1000.0 * seconds / done
        timing = (f"first chunk with compilation {compile_s:.1f} s, then {per_1000:.2f} s per 1000 {stage.optimizer} steps" if compile_s is not None
                  else f"{per_1000:.2f} s per 1000 {stage.optimizer} steps (compilation included)")
        later = r.stages[self.state.stage + 1:]
        if r.time:
            total = ""
        elif not later:
            total = f"; the recipe's {r.total_steps} steps at this rate: about {_duration(per_1000 * r.total_steps / 1000)}"
        else:  # a later stage (a quasi-Newton one, float64) runs at its own rate: extrapolate over this stage only
            total = (f"; this stage's {stage.steps} steps at this rate: about {_duration(per_1000 * stage.steps / 1000)}, "
                     f"then {sum(st.steps for st in later)} steps of {', '.join(dict.fromkeys(st.optimizer for st in later))} "
                     "at their own rate")
        bar.note(f"cost: {n_int} interior + {n_cond} condition points, {n_par:,} parameters; {timing}{total}")

    def _last_error(self) -> float | None:
        for row in reversed(self.state.history):
            if not math.isnan(row.get("rel_l2", math.nan)):
                return row["rel_l2"]
        return None

    def _record(self, stage, batch, done: int, rate: float, force: bool) -> None:
        s, r, optimizer = self.state, self.recipe, stage.optimizer
        loss, terms = self.loss_terms(s.theta, batch, {**s.aux, "step": jnp.int32(self._strategy_step(stage))},
                                      frozen=stage.frozen)
        evaluate = force or (s.step // r.eval_every) > ((s.step - done) // r.eval_every)
        extra: dict[str, float] = {}
        for st, x in zip(self.objective.strategies, s.aux["states"]):
            extra.update(st.scalars(x))
        if self.colloc is not None:
            extra["interior_points"] = float(len(s.colloc))
        row = {"step": s.step, "stage": s.stage + 1, "optimizer": optimizer, "time": s.elapsed,
               "loss": float(loss), **{f"loss_{k}": float(v) for k, v in terms.items()},
               **{f"param_{k}": float(v) for k, v in self.problem.trainable_values(s.theta["pde"]).items()},
               **extra, "steps_per_s": rate, "rel_l2": self.rel_l2(s.theta) if evaluate else math.nan}
        s.history.append(row)
