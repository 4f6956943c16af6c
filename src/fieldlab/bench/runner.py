"""Grids of problems x models x seeds (x learning rates), run in worker processes or on a Ray cluster, one file per cell.

Every cell uses the same Recipe (the problem's default recipe, with the bench's steps or time
budget, seed and learning rate), so that differences come from the backbone alone. A finished
cell writes ``cells/<key>.json`` (and ``<key>.npz`` with its prediction on the reference grid)
atomically; a bench that is run again with the same output directory skips finished cells.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .executors import EXECUTORS, Resources, default_workers, run_local, run_ray

THRESHOLDS = (1e-1, 1e-2, 1e-3)


@dataclasses.dataclass(frozen=True)
class Cell:
    problem: str
    model: str
    seed: int
    lr: float | None = None
    recipe: str | None = None  # a training preset or recipe file (see fieldlab.training.presets)

    @property
    def key(self) -> str:
        from ..training.presets import label

        lr = "" if self.lr is None else f"__lr{self.lr:g}"
        recipe = "" if self.recipe is None else f"__{label(self.recipe)}"
        from ..problems import label as problem_label

        return f"{problem_label(self.problem)}__{self.model}{recipe}__s{self.seed}{lr}"


@dataclasses.dataclass(frozen=True)
class BenchSpec:
    problems: tuple[str, ...]
    models: tuple[str, ...]
    seeds: int = 1
    steps: int | None = None
    time: float | None = None
    lrs: tuple[float, ...] = ()
    budget: int | None = None
    recipes: tuple[str, ...] = ()

    def cells(self) -> list[Cell]:
        lrs = self.lrs or (None,)
        recipes = self.recipes or (None,)
        return [Cell(p, m, s, lr, rc) for p in self.problems for m in self.models for rc in recipes
                for s in range(self.seeds) for lr in lrs]

    def config(self, cell: Cell):
        """The resolved RunConfig of one cell: identical recipe for every model."""
        from .. import problems
        from ..config import resolve
        from ..training import presets

        base = problems.defaults(cell.problem)
        if cell.recipe is not None:
            base["recipe"] = presets.apply(cell.recipe, base.get("recipe", {}))
        model: dict[str, Any] = {} if cell.model == "default" else {"name": cell.model}  # default: the problem's own
        if self.budget is not None:
            model["budget"] = self.budget
        recipe: dict[str, Any] = {"seed": cell.seed}
        if self.time is not None:
            recipe["time"] = self.time
        cfg = resolve(base, {"model": model, "recipe": recipe}, source=f"bench cell {cell.key}")
        if self.steps is not None:
            cfg.recipe = cfg.recipe.with_steps(self.steps)
        if cell.lr is not None:
            cfg.recipe = cfg.recipe.model_copy(update={"stages": [
                s.model_copy(update={"lr": cell.lr}) if s.optimizer in ("adam", "adamw") else s for s in cfg.recipe.stages]})
        total = cfg.recipe.total_steps if cfg.recipe.time is None else 10_000
        cfg.recipe = cfg.recipe.model_copy(update={"eval_every": max(cfg.recipe.chunk, total // 40)})
        return cfg


def check_spec(spec: BenchSpec) -> None:
    """Refuse a grid that would silently repeat cells or train by ascent: duplicate names, learning
    rates that are not finite numbers > 0, a time budget that is not finite."""
    from ..errors import FieldlabError

    for option, names in (("--problems", spec.problems), ("--models", spec.models), ("--lrs", spec.lrs)):
        dup = sorted({str(n) for n in names if list(names).count(n) > 1})
        if dup:
            raise FieldlabError(f"{option} lists {', '.join(dup)} more than once; give each entry once.")
    bad = [lr for lr in spec.lrs if not (math.isfinite(lr) and lr > 0)]
    if bad:
        raise FieldlabError(f"every learning rate in --lrs must be a finite number > 0; got {bad[0]:g}.")
    if spec.time is not None and not (math.isfinite(spec.time) and spec.time > 0):
        raise FieldlabError(f"the time budget must be a finite number of seconds > 0; got {spec.time}.")


def throughput(history: list[dict[str, Any]]) -> float:
    """Steps per second of a training history: the steps after the first record over the time they took.

    The first record's chunk (which holds the first compilation) is left out and every stage counts in
    its share of the steps; a median of the chunks' rates would instead be one stage's rate when
    the stages run at different speeds (Adam and a dense quasi-Newton stage).
    """
    span = history[-1]["time"] - history[0]["time"]
    if len(history) > 1 and span > 0:
        return float((history[-1]["step"] - history[0]["step"]) / span)
    return float(history[0]["steps_per_s"])


def compute_cell(spec: BenchSpec, cell: Cell) -> tuple[dict[str, Any], bytes | None]:
    """Train one cell; return its result record and its prediction on the reference grid (``.npz``
    bytes, None for a failed cell). Writes nothing, so it can run on any machine of a cluster."""
    from .. import metrics
    from ..errors import FieldlabError
    from ..geometry import TimeDomain
    from ..run import solve

    cfg = spec.config(cell)
    record: dict[str, Any] = {**dataclasses.asdict(cell), "key": cell.key, "status": "ok", "message": ""}
    t0 = time.perf_counter()
    try:
        run = solve(cfg, None, progress=False)
    except FieldlabError as e:  # a diverged or broken cell is a result, not a crash of the bench
        record.update(status="diverged" if "non-finite" in str(e) else "error", message=str(e),
                      wall_time_s=time.perf_counter() - t0)
        return record, None
    ref = run.problem.reference()
    pred = ref.select(run.predict(ref.points, allow_outside=True), run.problem.fields).reshape(ref.values.shape)
    hist = run.history
    times = [r["time"] for r in hist]
    errors = [r.get("rel_l2", math.nan) for r in hist]
    record.update(
        {k: run.metrics[k] for k in ("mse", "rmse", "mae", "max_ae", "rel_l2", "wall_time_s", "steps", "n_params", "stops")},
        **(metrics.spectral_error(pred, ref.values, axis=0) if ref.grid else {}),
        **metrics.time_to_threshold(times, errors, THRESHOLDS),
        steps_per_s=throughput(hist),
        first_loss=hist[0]["loss"], final_loss=hist[-1]["loss"],
        curve=[[t, e] for t, e in zip(times, errors) if np.isfinite(e)],
        model_options=cfg.model.options,
        coords=list(run.problem.coords), timed=isinstance(run.problem.domain, TimeDomain),
    )
    # per-field metrics (rel_l2_u, mse_p, ...) and the problem's own (a gauge error, interface residuals)
    record["metrics"] = {k: v for k, v in run.metrics.items() if isinstance(v, float) and k not in record
                        and k not in ("wall_time_s", "final_loss")}
    buf = io.BytesIO()
    where = {f"axis{i}": a for i, a in enumerate(ref.axes)} if ref.grid else {"points": ref.points}
    np.savez(buf, pred=pred, ref=ref.values, **where)
    return record, buf.getvalue()


def write_cell(cells_dir: str | Path, record: dict[str, Any], npz: bytes | None) -> None:
    """Write a cell's result files atomically: the prediction first, then the record that marks it done."""
    from ..training.checkpoint import atomic_write_bytes, atomic_write_text

    if npz is not None:
        atomic_write_bytes(Path(cells_dir) / f"{record['key']}.npz", npz)
    atomic_write_text(Path(cells_dir) / f"{record['key']}.json", json.dumps(record, indent=1))


def run_cell(spec: BenchSpec, cell: Cell, cells_dir: str) -> dict[str, Any]:
    """Train one cell and write its result files; returns the result record."""
    record, npz = compute_cell(spec, cell)
    write_cell(cells_dir, record, npz)
    return record


def load_results(cells_dir: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(Path(cells_dir).glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a damaged file is recomputed
    return out


def run_grid(spec: BenchSpec, out: Path, workers: int | None = None,
             on_done: Callable[[dict, int, int], None] | None = None, run: bool = True, *,
             executor: str = "local", address: str | None = None, resources: Resources | None = None,
             retries: int = 2) -> list[dict]:
    """Run every unfinished cell of ``spec`` and return all results (see :mod:`.executors`).

    ``executor="local"``: ``workers`` processes on this machine (default: one per GPU on a GPU
    machine, else one per core). ``executor="ray"``: one Ray task per cell on the cluster at
    ``address`` (default: a local instance of ``workers`` CPUs), each declaring ``resources``.
    A cell whose worker fails is retried ``retries`` times, then recorded as ``lost`` (and run
    again by the next call). ``run=False`` runs nothing and returns the cells already finished
    (a partial report).
    """
    from ..errors import FieldlabError

    check_spec(spec)
    if executor not in EXECUTORS:
        raise FieldlabError(f"unknown executor '{executor}'; choose one of {', '.join(EXECUTORS)}.")
    if address and executor != "ray":
        raise FieldlabError("--address names a Ray cluster; add --executor ray.")
    cells_dir = Path(out) / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    done = {k: r for k, r in load_results(cells_dir).items() if r.get("status") != "lost"}
    todo = [c for c in spec.cells() if c.key not in done] if run else []
    finished = len(spec.cells()) - len(todo)
    if todo:
        if executor == "ray":
            stream = run_ray(spec, todo, compute_cell, address=address, resources=resources or Resources(),
                             retries=retries, workers=workers)
        else:
            workers = max(1, min(workers or default_workers(), len(todo)))
            stream = run_local(spec, todo, workers, compute_cell, retries=retries)
        for _cell, (record, npz) in stream:
            write_cell(cells_dir, record, npz)
            finished += 1
            if on_done:
                on_done(record, finished, len(spec.cells()))
    results = load_results(cells_dir)
    return [results[c.key] for c in spec.cells() if c.key in results]


def parse_list(text: str | None, kind: Callable[[str], Any] = str) -> tuple:
    if not text:
        return ()
    return tuple(kind(x.strip()) for x in text.split(",") if x.strip())


__all__: Sequence[str] = ["BenchSpec", "Cell", "THRESHOLDS", "check_spec", "compute_cell", "load_results", "parse_list", "run_cell",
                          "run_grid", "write_cell"]
