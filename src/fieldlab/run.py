"""Runs: the public entry points ``solve``, ``train``, ``resume`` and ``load_run``, and the :class:`Run`.

A run directory holds ``config.toml`` (the resolved configuration), ``problem.json`` (the problem's
fingerprint), ``model.json`` for a run of the user's own module (see :mod:`fieldlab.models.user`), ``checkpoint.json`` with its ``checkpoint-<step>.npz`` (see
:mod:`fieldlab.training.checkpoint`), ``history.csv``, ``metrics.json``, PNG figures and ``.lock``.
It can be reloaded (:func:`load_run`) to predict at new points, and resumed (:func:`resume`) after an
interruption or a crash at any moment. A run holds the directory's lock while it writes, and a
checkpoint exists from step 0 on. Loading verifies the manifest's checksums and refuses a problem
whose fingerprint differs from the one the run was trained on.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import metrics as _metrics
from . import models, problems
from .config import RunConfig, check_weights, parse_toml, resolve
from .errors import FieldlabError
from .problem import Problem, fingerprint, fingerprint_difference
from .training import checkpoint
from .training.losses import solution
from .training.recipe import Recipe
from .training.trainer import Trainer, set_dtype


def _problem_for(config: RunConfig, problem: Problem | None, directory: Path | None = None) -> Problem:
    if problem is None and directory is not None and config.problem.partition(":")[0] not in problems.available() \
            and not problems.is_file(config.problem):
        raise FieldlabError(f"{directory} was trained on problem '{config.problem}', which is not built in; load it from "
                            f"Python with load_run('{directory}', problem=...) or resume(..., problem=...).")
    pb = problem if problem is not None else problems.get(config.problem)
    return pb if config.hard_constraints else pb.soft()


def _build_model(problem: Problem, config: RunConfig, module=None, directory: Path | None = None):
    """The network: the registered backbone of the config's name, or the user's ``module``."""
    from .models import user

    if user.is_user(config.model.name):
        if module is None:
            where = directory or "this run"
            cls = config.model.name[len(user.PREFIX):]
            raise FieldlabError(f"{where} was trained with your own module {cls}, whose code a run directory does not "
                                f"hold; load it from Python with load_run('{where}', model={cls}(...)), a module built "
                                "the same way (its weights are read from the checkpoint).")
        net = user.adapt(module, len(problem.coords), len(problem.fields))
        path = Path(directory) / user.FILE if directory is not None else None
        if path is not None and path.exists():
            try:
                stored = json.loads(checkpoint.read_text(path))
            except json.JSONDecodeError:
                raise FieldlabError(f"{path} is not readable JSON; the run directory is damaged.") from None
            user.check_same(stored, net, directory)
        return net
    if module is not None:
        raise FieldlabError(f"{directory or 'this run'} was trained with the backbone '{config.model.name}', which "
                            "fieldlab rebuilds itself; drop model=.")
    lo, hi = problem.domain.bounds()
    # drawn in 32-bit mode whatever an earlier float64 run in this process switched on: the same seed
    # gives the same initial network in a fresh process and after other runs (a float64 recipe casts it)
    with jax.enable_x64(False):
        key = jax.random.PRNGKey(config.recipe.seed)
        return models.build(config.model.name, len(problem.coords), problem.n_outputs, key=key,
                            lo=lo, hi=hi, **config.model.options)


def check_points(points, problem: Problem, dtype: np.dtype, *, allow_outside: bool = False) -> np.ndarray:
    """``points`` as a float64 ``(n, d)`` array, or one sentence saying why they cannot be predicted at."""
    try:
        arr = np.asarray(points)
    except (ValueError, TypeError):
        raise FieldlabError("points must be a rectangular array of numbers; give an (n, d) array.") from None
    if arr.dtype.kind not in "iuf":
        raise FieldlabError(f"points must be real numbers, but they have dtype {arr.dtype}; give a float array.")
    d = len(problem.coords)
    if arr.ndim != 2 or arr.shape[1] != d or arr.shape[0] == 0:
        raise FieldlabError(
            f"points must have shape (n, {d}) with n >= 1 and columns {', '.join(problem.coords)}; got {arr.shape}."
        )
    pts = arr.astype(np.float64)
    if not np.isfinite(pts).all():
        raise FieldlabError("points contain NaN or infinite values; remove those rows.")
    limit = float(np.finfo(dtype).max) if np.dtype(dtype).kind == "f" else math.inf
    if np.abs(pts).max() > limit:
        raise FieldlabError(f"points exceed {limit:.3g}, the largest {np.dtype(dtype).name} number this run computes in; "
                            "remove or rescale those rows.")
    if not allow_outside:
        lo, hi = (np.asarray(b, np.float64) for b in problem.domain.bounds())
        tol = 1e-6 * np.maximum(1.0, hi - lo)
        outside = ((pts < lo - tol) | (pts > hi + tol)).any(axis=1)
        if outside.any():
            k = int(np.argmax(outside))
            box = " x ".join(f"{c} in [{a:g}, {b:g}]" for c, a, b in zip(problem.coords, lo, hi))
            raise FieldlabError(
                f"{int(outside.sum())} point(s) lie outside the domain ({box}), the first at row {k}; the network "
                "was not trained there, so remove them or pass allow_outside=True (--allow-outside on the command line)."
            )
    return pts


class Run:
    """A trained (or partly trained) model with its problem, config, history and metrics."""

    def __init__(self, directory: Path | None, config: RunConfig, problem: Problem, theta, static,
                 history: list[dict], stops: list[str], metrics: dict[str, Any] | None = None,
                 state: dict | None = None):
        self.dir, self.config, self.problem = directory, config, problem
        self.theta, self.static, self.history, self.stops = theta, static, history, stops
        self.metrics = metrics or {}
        self._state = state  # the trainer's counters (checkpoint metadata), for save()
        self._predict = jax.jit(lambda th, z: jax.vmap(solution(problem, th, static))(z))

    @property
    def params(self) -> dict[str, float]:
        """Trained problem parameters (inverse problems), as the residuals see them."""
        return {k: float(v) for k, v in self.problem.trainable_values(self.theta["pde"]).items()}

    def param_errors(self) -> dict[str, float]:
        """Relative error ``|trained - true| / |true|`` of each trained parameter whose true value is known."""
        true = self.problem.true_params
        return {k: abs(v - true[k]) / abs(true[k]) for k, v in self.params.items() if k in true}

    def predict(self, points, *, allow_outside: bool = False) -> np.ndarray:
        """Fields at ``points`` of shape ``(n, d)`` (columns in the problem's coordinate order) -> ``(n, m)``.

        Points must be real, finite in the run's dtype (float32 overflows above 3.4e38) and inside the
        domain's bounding box (to 1e-6 of its size); ``allow_outside=True`` predicts outside it too.
        """
        dtype = jax.tree_util.tree_leaves(self.theta)[0].dtype
        pts = check_points(points, self.problem, np.dtype(dtype), allow_outside=allow_outside)
        return np.asarray(self._predict(self.theta, jnp.asarray(pts, dtype)), dtype=np.float64)

    def evaluate(self) -> dict[str, float]:
        """Metrics against the problem's reference on its fixed evaluation grid."""
        if self.problem.reference is None:
            return {}
        ref = self.problem.reference()
        pred = ref.select(self.predict(ref.points, allow_outside=True), self.problem.fields)
        out = _metrics.all_metrics(pred, ref.flat, ref.fields or self.problem.fields)
        if self.problem.extra_metrics is not None:
            dtype = jax.tree_util.tree_leaves(self.theta)[0].dtype
            out.update(self.problem.extra_metrics(solution(self.problem, self.theta, self.static), dtype))
        return out

    @property
    def module(self):
        """The trained network (an ``equinox.Module``: the backbone, or the user's own module)."""
        net = eqx.combine(self.theta["net"], self.static)
        from .models.user import Batched

        return net.module if isinstance(net, Batched) else net

    def predict_grid(self, counts=None, *, allow_outside: bool = False):
        """Fields on a tensor grid over the domain's bounding box: ``(axes, values)``.

        ``counts`` gives one number of points per coordinate (default: :func:`fieldlab.export.default_counts`);
        ``axes`` holds one ``linspace(lo, hi, count)`` per coordinate and ``values`` has shape
        ``(*counts, m)``. Grid points outside the domain (a disk in its box, say) are NaN unless
        ``allow_outside=True``.
        """
        from .export import default_counts, grid_axes

        lo, hi = self.problem.domain.bounds()
        counts = default_counts(len(self.problem.coords)) if counts is None else tuple(counts)
        axes = grid_axes(lo, hi, counts, self.problem.coords)
        mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=-1)
        values = self.predict(mesh, allow_outside=True)
        if not allow_outside:
            values[~np.asarray(self.problem.domain.inside(mesh), bool)] = np.nan
        return axes, values.reshape(*counts, -1)

    def export(self, path: str | Path, *, grid=None, points=None, allow_outside: bool = False,
               units: dict[str, str] | None = None) -> Path:
        """Write the fields to ``path``: on a grid (``grid``: counts per coordinate, or None for the
        default) or at ``points`` ``(n, d)``. The format follows the suffix (``.npy``, ``.csv``,
        ``.nc``, ``.vtu``, ``.vtk``; see :mod:`fieldlab.export`); ``units`` names the unit of each
        coordinate and field (NetCDF and CSV headers), default ``"1"`` (nondimensional)."""
        from . import export as ex

        path = Path(path)
        ex.check_format(path)
        pb = self.problem
        units = {**(getattr(pb, "units", None) or {}), **(units or {})}
        if points is not None and grid is not None:
            raise FieldlabError("give either a grid or points to export at, not both.")
        if points is not None:
            dtype = np.dtype(jax.tree_util.tree_leaves(self.theta)[0].dtype)
            pts = check_points(points, pb, dtype, allow_outside=allow_outside)
            ex.write_points(path, pb.coords, pb.fields, pts, self.predict(pts, allow_outside=allow_outside), pb.name,
                            units=units)
        else:
            axes, values = self.predict_grid(grid, allow_outside=allow_outside)
            ex.write_grid(path, pb.coords, pb.fields, axes, values, pb.name, units=units)
        return path

    def plot(self) -> dict[str, Any]:
        """The run's figures as :class:`matplotlib.figure.Figure` objects, by name.

        Against the reference where the problem has one (on its grid), else the prediction on a
        default grid: a line plot for one coordinate (``profile``), maps for two (``prediction``,
        ``reference``, ``error``), mid-plane slices for three (``slices``), snapshots over time for a
        time-dependent problem (``snapshots``; line plots for 1D + t); ``curves`` of loss and error
        against steps and time. No pyplot state is touched, so the current backend stays as it is;
        in a notebook, display one with ``display(figs["profile"])``.
        """
        from .geometry import TimeDomain
        from .report import figures

        pb = self.problem
        timed = isinstance(pb.domain, TimeDomain)
        if pb.reference is not None:
            ref = pb.reference()
            pred = ref.select(self.predict(ref.points, allow_outside=True), pb.fields).reshape(ref.values.shape)
            if ref.grid:
                figs = figures.field_figures(pb.coords, ref.fields or pb.fields, ref.axes, pred, ref.values, timed=timed)
            else:
                figs = _scattered_figures(pb, ref, pred, ref.fields or pb.fields)
        else:
            axes, pred = self.predict_grid(figures.plot_counts(len(pb.coords)))
            figs = figures.field_figures(pb.coords, pb.fields, axes, pred, None, timed=timed)
        if self.history:
            figs["curves"] = figures.curves_figure(self.history)
        return figs

    def write_report(self) -> None:
        """Write ``metrics.json`` and the figures of :meth:`plot` (as PNG) into the run directory."""
        from .report.figures import save

        if self.dir is None:
            return
        for name, fig in self.plot().items():
            save(fig, self.dir / f"{name}.png")
        checkpoint.atomic_write_text(self.dir / "metrics.json", json.dumps(self.metrics, indent=2))

    def save(self, directory: str | Path) -> Path:
        """Write a run trained without ``out=`` to a new run directory, which loads and resumes like any.

        The checkpoint holds the trained arrays, counters and history (not the optimiser's state, so
        a resumed unfinished stage restarts its optimiser). A run that already has a directory is
        refused: copy that directory instead.
        """
        if self.dir is not None:
            raise FieldlabError(f"this run already lives in {self.dir}; copy that directory instead of saving it again.")
        if self._state is None:
            raise FieldlabError("this run holds no training state to save; train it with fieldlab.train.")
        out = check_out(directory)
        with checkpoint.RunLock(out):
            check_out(out)
            _write_start(out, self.config, self.problem, eqx.combine(self.theta["net"], self.static))
            arrays = {"theta": [np.asarray(x) for x in jax.tree_util.tree_leaves(self.theta)]}
            checkpoint.save(out, arrays, {**self._state, "has_opt_state": False}, history=self.history)
            self.dir = out
            self.write_report()
        return out


def _scattered_figures(problem: Problem, ref, pred: np.ndarray, names) -> dict:
    """Maps of a scattered reference: the points themselves (steady, or space-time in one space
    dimension), or the last time slice of a reference at scattered points x time slices."""
    from .report.figures import scattered_figures

    domain = problem.domain
    if ref.times is None:
        return scattered_figures(problem.coords, names, ref.points, pred, ref.values,
                                 inside=domain.inside if ref.points.shape[1] == 2 else None)
    space = ref.scattered
    if space.shape[1] == 1:  # (x, t) together
        return scattered_figures(problem.coords, names, ref.points, pred.reshape(-1, pred.shape[-1]), ref.flat)
    geometry = getattr(domain, "geometry", domain)
    return scattered_figures(problem.coords, names, space, pred[-1], ref.values[-1], inside=geometry.inside,
                             title=f" at {problem.coords[-1]} = {ref.times[-1]:g}")


def _finish(trainer: Trainer, config: RunConfig, problem: Problem, out: Path | None) -> Run:
    from .training.trainer import _meta

    state = trainer.state
    run = Run(out, config, problem, state.theta, trainer.static, state.history, state.stops, state=_meta(state))
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
    run.metrics["loss_terms"] = {k[5:]: v for k, v in last.items() if k.startswith("loss_")}
    run.metrics["diagnostics"] = _diagnostics(run, trainer)
    run.write_report()
    return run


def _diagnostics(run: Run, trainer: Trainer) -> list[dict[str, str]]:
    """Warnings for trivial or collapsed solutions (see :mod:`fieldlab.diagnostics`)."""
    from .diagnostics import diagnose

    z = np.asarray(trainer._base_batch()["interior"]["z"], np.float64)
    return diagnose(run.problem, run.metrics["loss_terms"], run.predict(z, allow_outside=True), z)


def check_out(out: str | Path) -> Path:
    """Check a new run directory before any work: refuse a file, a run, a non-run non-empty directory,
    or a location that cannot be created or written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FieldlabError(f"--out {out} is a file, not a directory; choose a new directory name.")
    if out.is_dir():
        if (out / checkpoint.META).exists() or (out / checkpoint.CONFIG).exists():
            raise FieldlabError(f"{out} already holds a run; continue it with `fieldlab resume {out}` or choose another --out.")
        others = [p.name for p in out.iterdir() if p.name != checkpoint.LOCK and not checkpoint.is_temporary(p.name)]
        if others:
            raise FieldlabError(f"{out} is a directory with other files in it (such as {sorted(others)[0]}); "
                                "choose a new or empty directory for the run.")
        if not os.access(out, os.W_OK | os.X_OK):
            raise FieldlabError(f"{out} is not writable; choose a writable location for the run.")
        return out
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FieldlabError(f"--out {out} lies under {parent}, which is a file; choose another location.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FieldlabError(f"{parent} is not writable, so {out} cannot be created; choose a writable location.")
    return out


def memory_estimate(config: RunConfig, problem: Problem) -> float:
    """A rough upper estimate (bytes) of the memory one training step needs: the collocation points
    times the network's activations and their derivatives."""
    from .training.trainer import condition_counts

    s = config.recipe.sampling
    counts = condition_counts(problem, s)
    points = s.interior + sum(
        (len(c.points) if c.kind in ("data", "point") and (counts[k] == 0 or counts[k] > len(c.points)) else counts[k])
        for k, c in problem.trained_conditions.items())
    opts = {} if config.model.name.startswith("user:") else {**models.options_of(config.model.name), **config.model.options}
    width, depth = int(opts.get("width", 32) or 32), int(opts.get("depth", 3) or 3)
    plan = problem.derivative_plan({k: jnp.asarray(v, jnp.float32) for k, v in problem.params.items()})
    itemsize = 8 if config.recipe.dtype == "float64" else 4
    return float(points) * width * (depth + 1) * (len(plan) + 1) * itemsize * 4 + points * len(problem.coords) * 8


def _check_memory(config: RunConfig, problem: Problem) -> None:
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return
    need = memory_estimate(config, problem)
    if need > total:
        raise FieldlabError(f"the recipe's collocation points need about {need / 2**30:.0f} GiB to train, more than "
                            f"this machine's {total / 2**30:.0f} GiB of memory; lower the counts in [recipe.sampling].")


def check_run(config: RunConfig, problem: Problem | None = None) -> Problem:
    """Checks of a config against its problem before any work (loss-weight names, memory); returns the problem."""
    pb = _problem_for(config, problem)
    check_weights(config, [*pb.equations, *pb.conditions])
    _check_memory(config, pb)
    return pb


def _write_start(out: Path, config: RunConfig, problem: Problem, net=None) -> None:
    from .models import user

    checkpoint.atomic_write_text(out / checkpoint.CONFIG, config.to_toml())
    checkpoint.atomic_write_text(out / checkpoint.PROBLEM, json.dumps({"fingerprint": fingerprint(problem)}, indent=2))
    if user.is_user(config.model.name):
        checkpoint.atomic_write_text(out / user.FILE, user.to_json(net))


def with_model_defaults(config: RunConfig) -> RunConfig:
    """The config with every backbone option written out (defaults included), so that a run directory
    rebuilds the same network even if a default changes later; with a parameter ``budget`` the width
    is left to it."""
    from .config import ModelConfig

    if config.model.name.startswith("user:"):
        return config
    defaults = models.options_of(config.model.name)
    given = config.model.options
    if "budget" in given:
        defaults = {k: v for k, v in defaults.items() if k != "width"}
    full = {**defaults, **given}
    return config.model_copy(update={"model": ModelConfig(name=config.model.name, **full)})


def solve(config: RunConfig, out: str | Path | None = None, *, problem: Problem | None = None,
          progress: bool = True, stop_after: int | None = None, callbacks=(), module=None,
          devices: int | None = None) -> Run:
    """Train according to a resolved :class:`RunConfig`; ``problem`` overrides the built-in of that name.

    ``devices``: how many of JAX's devices share the collocation points (default: all of them; see
    :mod:`fieldlab.training.sharding`). The result is the same up to round-off for any number.

    With ``out``, the directory is checked first (see :func:`check_out`), locked for the whole run,
    and holds a checkpoint from step 0 on, so that a run stopped at any moment can be resumed.
    ``callbacks`` are called between compiled chunks (:mod:`fieldlab.training.callbacks`);
    ``module`` is the user's own network for a config whose model is ``"user:<class>"``.
    """
    if out is not None:
        out = check_out(out)
    pb = check_run(config, problem)
    config = with_model_defaults(config)
    set_dtype(config.recipe.dtype)
    model = _build_model(pb, config, module)
    if out is None:
        trainer = Trainer(pb, model, config, None, progress=progress, stop_after=stop_after, callbacks=callbacks,
                          devices=devices)
        trainer.run()
        return _finish(trainer, config, pb, None)
    with checkpoint.RunLock(out):
        check_out(out)  # again under the lock: another process may have started a run here meanwhile
        _write_start(out, config, pb, model)
        trainer = Trainer(pb, model, config, out, progress=progress, stop_after=stop_after, callbacks=callbacks,
                          devices=devices)
        trainer.save()  # step 0: resumable from here on
        trainer.run()
        return _finish(trainer, config, pb, out)


def train(problem: Problem | str, model: str | eqx.Module = "mlp", recipe: Recipe | dict | None = None, *,
          out: str | Path | None = None, progress: bool = True, hard_constraints: bool = True,
          callbacks=(), devices: int | None = None, **model_options) -> Run:
    """Train ``model`` on ``problem`` with ``recipe`` (the problem's defaults where built in).

    ``model`` is a backbone name (with its options as keyword arguments) or the user's own
    ``equinox.Module``, pointwise ``(d,) -> (m,)`` or batched ``(n, d) -> (n, m)`` (see
    :mod:`fieldlab.models.user`; it is trained from its own weights, and reloading its run needs
    ``load_run(dir, model=...)``). ``callbacks`` are :class:`fieldlab.Callback` objects called
    between compiled chunks; one may stop the run. Without ``out`` the run lives in memory;
    :meth:`Run.save` writes it to a directory later.

    A problem of your own starts from counts and steps scaled with its dimension and domain
    (:func:`fieldlab.problems.scaled_recipe`); ``recipe`` overrides them key by key (a list of
    ``stages`` replaces the stages). With ``progress``, a line gives the expected cost once the
    first compiled chunk has run: points, parameters and the time per 1000 steps.

    ``devices``: how many of JAX's devices share the collocation points (default: all; see
    :mod:`fieldlab.training.sharding`).

    >>> run = fieldlab.train("heat1d", "mlp", {"stages": [{"optimizer": "adam", "steps": 500}]}, width=16)
    >>> run.metrics["rel_l2"]
    """
    from .models import user

    name = problem if isinstance(problem, str) else problem.name
    base = problems.defaults(name) if isinstance(problem, str) else {"problem": name, **problems.user_defaults(problem)}
    module = None
    if not isinstance(model, str):
        if model_options:
            raise FieldlabError(f"model options {sorted(model_options)} are for named backbones; build them into "
                                f"your {type(model).__name__} instead.")
        module, model = model, user.name_of(model) if isinstance(model, eqx.Module) else "?"
        if not isinstance(module, eqx.Module):
            user.adapt(module, 0, 0)  # one sentence: not a module
    update: dict[str, Any] = {"hard_constraints": hard_constraints, "model": {"name": model, **model_options}}
    if recipe is not None:
        update["recipe"] = recipe.model_dump() if isinstance(recipe, Recipe) else recipe
    config = resolve(base, update)
    return solve(config, out, problem=None if isinstance(problem, str) else problem, progress=progress,
                 callbacks=callbacks, module=module, devices=devices)


def _load_config(directory: Path) -> RunConfig:
    """The run's config, after checking the manifest's checksums of it and of the checkpoint metadata."""
    directory = Path(directory)
    if not (directory / checkpoint.CONFIG).is_file():
        raise FieldlabError(f"{directory} is not a fieldlab run directory (no config.toml).")
    if (directory / checkpoint.META).exists():
        checkpoint.read_meta(directory)
    path = directory / checkpoint.CONFIG
    data = parse_toml(checkpoint.read_text(path), path)
    sampling = data.get("recipe", {}).get("sampling")
    if isinstance(sampling, dict) and "split" not in sampling:
        sampling["split"] = "each"  # written before boundary counts were split by measure: keep its points
    return resolve(data, source=str(path))


def _check_problem(directory: Path, config: RunConfig, problem: Problem, given: bool) -> None:
    """Refuse a problem whose fingerprint differs from the one the run was trained on."""
    path = Path(directory) / checkpoint.PROBLEM
    if not path.exists():
        return  # a run directory from before fingerprints were recorded
    try:
        stored = json.loads(checkpoint.read_text(path))["fingerprint"]
        if not isinstance(stored, dict):
            raise TypeError
    except (json.JSONDecodeError, KeyError, TypeError):
        raise FieldlabError(f"{path} is not a readable problem fingerprint; the run directory is damaged.") from None
    diff = fingerprint_difference(stored, fingerprint(problem))
    if diff:
        which = "the problem passed" if given else f"the built-in problem '{config.problem}'"
        raise FieldlabError(
            f"{directory} was trained on a different problem than {which} (its {', '.join(diff)} differ); "
            f"pass the problem it was trained with, as in load_run('{directory}', problem=...)."
        )


def _prepare(directory: Path, problem: Problem | None) -> tuple[RunConfig, Problem]:
    config = _load_config(directory)
    pb = _problem_for(config, problem, directory)
    _check_problem(directory, config, pb, problem is not None)
    return config, pb


def resume(directory: str | Path, *, problem: Problem | None = None, progress: bool = True,
           stop_after: int | None = None, callbacks=(), model=None, devices: int | None = None) -> Run:
    """Continue an interrupted run from its last checkpoint, to the end of its recipe.

    A directory that holds a config but no checkpoint yet (stopped while starting) trains from the
    start, which gives the same result as an uninterrupted run. ``model``: for a run of the user's
    own module, a module built the same way (see :func:`load_run`).
    """
    directory = Path(directory)
    _load_config(directory)  # a clear error before a lock file is created in a directory that is not a run
    with checkpoint.RunLock(directory):
        config, pb = _prepare(directory, problem)
        set_dtype(config.recipe.dtype)
        trainer = Trainer(pb, _build_model(pb, config, model, directory), config, directory, progress=progress,
                          stop_after=stop_after, callbacks=callbacks, devices=devices)
        if (directory / checkpoint.META).exists():
            trainer.restore()
        elif any(directory.glob("checkpoint-*.npz")):
            raise FieldlabError(f"{directory / checkpoint.META} is missing but checkpoint arrays are there, so the "
                                "checkpoint is damaged; restore the file or start a new run.")
        else:  # stopped before its first checkpoint: train from the start
            trainer.save()
        trainer.run()
        return _finish(trainer, config, pb, directory)


def load_run(directory: str | Path, *, problem: Problem | None = None, model=None) -> Run:
    """Load a run directory (its last checkpoint) for prediction and evaluation.

    ``problem`` is needed for a run of a problem that is not built in (or that shares a built-in's
    name); a problem that differs from the one the run was trained on is refused. ``model`` is needed
    for a run of the user's own ``equinox.Module``: a module built the same way (any weights; its
    arrays are replaced by the checkpoint's, and other shapes are refused). The history comes
    from the checkpoint; a damaged ``metrics.json`` gives a warning and empty metrics.
    """
    directory = Path(directory)
    config, pb = _prepare(directory, problem)
    set_dtype(config.recipe.dtype)
    trainer = Trainer(pb, _build_model(pb, config, model, directory), config, directory, progress=False)
    trainer.restore()
    s = trainer.state
    metrics: dict[str, Any] = {}
    path = directory / "metrics.json"
    if path.exists():
        try:
            metrics = json.loads(checkpoint.read_text(path))
            if not isinstance(metrics, dict):
                raise ValueError
        except (FieldlabError, ValueError):
            warnings.warn(f"{path} is damaged, so the run's stored metrics are left out; "
                          f"`fieldlab resume {directory}` rewrites it.", stacklevel=2)
            metrics = {}
    return Run(directory, config, pb, s.theta, trainer.static, s.history, s.stops, metrics)
