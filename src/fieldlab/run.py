"""Runs: the public entry points ``solve``, ``train``, ``resume`` and ``load_run``, and the :class:`Run`.

A run directory holds ``config.toml`` (the resolved configuration), ``checkpoint.json`` with its
``checkpoint-<step>.npz``, ``history.csv``, ``metrics.json`` and PNG figures. It can be reloaded
(:func:`load_run`) to predict at new points, and resumed (:func:`resume`) if it was interrupted.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import metrics as _metrics
from . import models, problems
from .config import RunConfig, read_toml, resolve
from .errors import FieldlabError
from .problem import Problem
from .training import checkpoint
from .training.losses import solution
from .training.recipe import Recipe
from .training.trainer import Trainer, read_history, set_dtype


def _problem_for(config: RunConfig, problem: Problem | None) -> Problem:
    pb = problem if problem is not None else problems.get(config.problem)
    return pb if config.hard_constraints else pb.soft()


def _build_model(problem: Problem, config: RunConfig):
    lo, hi = problem.domain.bounds()
    key = jax.random.PRNGKey(config.recipe.seed)
    return models.build(config.model.name, len(problem.coords), len(problem.fields), key=key,
                        lo=lo, hi=hi, **config.model.options)


class Run:
    """A trained (or partly trained) model with its problem, config, history and metrics."""

    def __init__(self, directory: Path | None, config: RunConfig, problem: Problem, theta, static,
                 history: list[dict], stops: list[str], metrics: dict[str, Any] | None = None):
        self.dir, self.config, self.problem = directory, config, problem
        self.theta, self.static, self.history, self.stops = theta, static, history, stops
        self.metrics = metrics or {}
        self._predict = jax.jit(lambda th, z: jax.vmap(solution(problem, th, static))(z))

    @property
    def params(self) -> dict[str, float]:
        """Trained problem parameters (inverse problems), as the residuals see them."""
        return {k: float(v) for k, v in self.problem.trainable_values(self.theta["pde"]).items()}

    def param_errors(self) -> dict[str, float]:
        """Relative error ``|trained - true| / |true|`` of each trained parameter whose true value is known."""
        true = self.problem.true_params
        return {k: abs(v - true[k]) / abs(true[k]) for k, v in self.params.items() if k in true}

    def predict(self, points) -> np.ndarray:
        """Fields at ``points`` of shape ``(n, d)`` (columns in the problem's coordinate order) -> ``(n, m)``."""
        pts = np.asarray(points, dtype=np.float64)
        d = len(self.problem.coords)
        if pts.ndim != 2 or pts.shape[1] != d:
            raise FieldlabError(
                f"points must have shape (n, {d}) with columns {', '.join(self.problem.coords)}; got {pts.shape}."
            )
        if not np.isfinite(pts).all():
            raise FieldlabError("points contain NaN or infinite values; remove those rows.")
        dtype = jax.tree_util.tree_leaves(self.theta)[0].dtype
        return np.asarray(self._predict(self.theta, jnp.asarray(pts, dtype)), dtype=np.float64)

    def evaluate(self) -> dict[str, float]:
        """Metrics against the problem's reference on its fixed evaluation grid."""
        if self.problem.reference is None:
            return {}
        ref = self.problem.reference()
        pred = ref.select(self.predict(ref.points), self.problem.fields)
        return _metrics.all_metrics(pred, ref.flat, ref.fields or self.problem.fields)

    def write_report(self) -> None:
        """Write ``metrics.json`` and figures into the run directory."""
        from .report.figures import curves, field_maps

        if self.dir is None:
            return
        if self.problem.reference is not None:
            ref = self.problem.reference()
            pred = ref.select(self.predict(ref.points), self.problem.fields).reshape(ref.values.shape)
            field_maps(self.dir, self.problem.coords, ref.fields or self.problem.fields, ref.axes, pred, ref.values)
        curves(self.dir, self.history)
        checkpoint.atomic_write_text(self.dir / "metrics.json", json.dumps(self.metrics, indent=2))


def _finish(trainer: Trainer, config: RunConfig, problem: Problem, out: Path | None) -> Run:
    state = trainer.state
    run = Run(out, config, problem, state.theta, trainer.static, state.history, state.stops)
    last = state.history[-1] if state.history else {}
    run.metrics = {
        **run.evaluate(),
        "params": run.params,
        **({"params_true": {k: problem.true_params[k] for k in run.param_errors()},
            "params_rel_error": run.param_errors()} if run.param_errors() else {}),
        "wall_time_s": state.elapsed,
        "steps": state.step,
        "final_loss": last.get("loss"),
        "stops": state.stops,
        "n_params": models.count_params(eqx.combine(state.theta["net"], trainer.static)),
        "reference": getattr(problem.reference(), "method", "") if problem.reference else None,
        "finished": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    run.write_report()
    return run


def _prepare_out(out: str | Path | None) -> Path | None:
    if out is None:
        return None
    out = Path(out)
    if (out / checkpoint.META).exists() or (out / "config.toml").exists():
        raise FieldlabError(f"{out} already holds a run; continue it with `fieldlab resume {out}` or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def solve(config: RunConfig, out: str | Path | None = None, *, problem: Problem | None = None,
          progress: bool = True, stop_after: int | None = None) -> Run:
    """Train according to a resolved :class:`RunConfig`; ``problem`` overrides the built-in of that name."""
    pb = _problem_for(config, problem)
    set_dtype(config.recipe.dtype)
    model = _build_model(pb, config)
    out = _prepare_out(out)
    if out is not None:
        checkpoint.atomic_write_text(out / "config.toml", config.to_toml())
    trainer = Trainer(pb, model, config, out, progress=progress, stop_after=stop_after)
    trainer.run()
    return _finish(trainer, config, pb, out)


def train(problem: Problem | str, model: str = "mlp", recipe: Recipe | dict | None = None, *,
          out: str | Path | None = None, progress: bool = True, hard_constraints: bool = True,
          **model_options) -> Run:
    """Train ``model`` on ``problem`` with ``recipe`` (the problem's defaults where built in).

    >>> run = fieldlab.train("heat1d", "mlp", {"stages": [{"optimizer": "adam", "steps": 500}]}, width=16)
    >>> run.metrics["rel_l2"]
    """
    name = problem if isinstance(problem, str) else problem.name
    base = problems.defaults(name) if isinstance(problem, str) else {"problem": name}
    update: dict[str, Any] = {"hard_constraints": hard_constraints, "model": {"name": model, **model_options}}
    if recipe is not None:
        update["recipe"] = recipe.model_dump() if isinstance(recipe, Recipe) else recipe
    config = resolve(base, update)
    return solve(config, out, problem=None if isinstance(problem, str) else problem, progress=progress)


def _load_config(directory: Path) -> RunConfig:
    directory = Path(directory)
    if not (directory / "config.toml").exists():
        raise FieldlabError(f"{directory} is not a fieldlab run directory (no config.toml).")
    return resolve(read_toml(directory / "config.toml"), source=str(directory / "config.toml"))


def resume(directory: str | Path, *, problem: Problem | None = None, progress: bool = True,
           stop_after: int | None = None) -> Run:
    """Continue an interrupted run from its last checkpoint, to the end of its recipe."""
    directory = Path(directory)
    config = _load_config(directory)
    pb = _problem_for(config, problem)
    set_dtype(config.recipe.dtype)
    trainer = Trainer(pb, _build_model(pb, config), config, directory, progress=progress, stop_after=stop_after)
    trainer.restore()
    trainer.run()
    return _finish(trainer, config, pb, directory)


def load_run(directory: str | Path, *, problem: Problem | None = None) -> Run:
    """Load a run directory (its last checkpoint) for prediction and evaluation."""
    directory = Path(directory)
    config = _load_config(directory)
    pb = _problem_for(config, problem)
    set_dtype(config.recipe.dtype)
    trainer = Trainer(pb, _build_model(pb, config), config, directory, progress=False)
    trainer.restore()
    s = trainer.state
    metrics = json.loads((directory / "metrics.json").read_text()) if (directory / "metrics.json").exists() else {}
    return Run(directory, config, pb, s.theta, trainer.static, read_history(directory / "history.csv"), s.stops, metrics)
