"""The ``fieldlab`` command line: a thin shell over the Python API.

Heavy modules (JAX, the trainer) are imported inside the commands, so ``fieldlab --help`` is fast.
Errors the user can fix print one sentence and exit with status 2, without a traceback.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Learn physical fields and the laws behind them with physics-informed networks.")
err = Console(stderr=True)
out = Console()


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"fieldlab {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Show the version and exit.")):
    """Learn physical fields and the laws behind them with physics-informed networks."""


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


def _friendly(fn):
    """Turn user errors into one red sentence and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .errors import FieldlabError

        try:
            return fn(*args, **kwargs)
        except FieldlabError as e:
            from .training.trainer import Interrupted

            from rich.markup import escape

            code = 130 if isinstance(e, Interrupted) else 2
            text = escape(str(e))
            err.print(f"[bold red]error:[/] {text}" if code == 2 else f"[yellow]{text}[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


@app.command()
@_friendly
def problems():
    """List the built-in problems with their equations."""
    from rich.table import Table

    from . import problems as registry

    table = Table(title="built-in problems")
    for col in ("name", "coordinates", "fields", "equations and conditions"):
        table.add_column(col)
    for name in registry.available():
        pb = registry.get(name)
        opts = "".join(f"\noptions: {name}:{k}={'|'.join(v)} (default {v[0]})" for k, v in registry.options_of(name).items())
        table.add_row(name, ", ".join(pb.coords), ", ".join(pb.fields), pb.description + opts)
    out.print(table)


@app.command()
@_friendly
def models():
    """List the backbones with their options and defaults."""
    from . import models as registry

    for name in registry.available():
        opts = ", ".join(f"{k}={v}" for k, v in registry.options_of(name).items())
        out.print(f"[bold]{name}[/]  {opts}")


@app.command()
@_friendly
def solve(
    problem: str = typer.Argument(..., help="built-in problem name (see `fieldlab problems`), or a problem file "
                                  "path/to/file.py[:name] defining a Problem"),
    model: Optional[str] = typer.Option(None, help="backbone name (see `fieldlab models`)"),
    steps: Optional[int] = typer.Option(None, min=1, help="total optimiser steps, split over the stages in the recipe's proportions (step schedules: learning-rate decay, strategy refreshes, ramps, scaled alike)"),
    time: Optional[float] = typer.Option(None, min=0.1, help="wall-time budget in seconds (compilation included) instead of steps"),
    dtype: Optional[DType] = typer.Option(None, help="float32 (default) or float64"),
    seed: Optional[int] = typer.Option(None, help="random seed for initialisation and sampling, 0 to 2**32 - 1"),
    config: Optional[Path] = typer.Option(None, help="TOML file with problem/model/recipe settings"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="run directory (default runs/PROBLEM-MODEL-TIME)"),
    quiet: bool = typer.Option(False, help="no progress bar"),
    log: Optional[list[str]] = typer.Option(None, help="also log to tensorboard:DIR or mlflow:DIR (or mlflow:URI); "
                                            "repeat for both; needs the extra fieldlab[tensorboard] or fieldlab[mlflow]"),
):
    """Train a physics-informed network on a problem and write a run directory."""
    from . import problems as registry
    from .config import read_toml, resolve
    from .errors import FieldlabError

    if steps is not None and time is not None:
        raise FieldlabError("give either --steps or --time, not both.")
    if seed is not None:
        _check_seed(seed)
    label = registry.label(problem)
    if registry.is_file(problem):
        problem = registry.file_spec(problem)  # absolute, so that the run directory finds it from anywhere
    base = registry.defaults(problem)
    updates = []
    if config is not None:
        file_cfg = read_toml(config)
        if file_cfg.get("problem", problem) not in (problem, label):
            raise FieldlabError(f"{config} is for problem '{file_cfg['problem']}', not '{problem}'; drop its 'problem' key or match it.")
        updates.append({k: v for k, v in file_cfg.items() if k != "problem"})
    cli: dict = {"recipe": {}}
    if model is not None:
        cli["model"] = {"name": model}
    if dtype is not None:
        cli["recipe"]["dtype"] = dtype.value
    if seed is not None:
        cli["recipe"]["seed"] = seed
    if time is not None:
        cli["recipe"]["time"] = time
    cfg = resolve(base, *updates, cli, source=str(config) if config else "the options")
    if steps is not None:
        cfg.recipe = cfg.recipe.with_steps(steps)
    from . import models as model_registry

    model_registry.options_of(cfg.model.name)  # unknown model: fail before any output is written
    if out_dir is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path("runs") / f"{label}-{cfg.model.name}-{stamp}"
    from .run import check_out, check_run
    from .run import solve as run_solve

    check_out(out_dir)
    check_run(cfg)
    callbacks = []
    if log:
        from .loggers import from_spec

        callbacks = [from_spec(spec) for spec in log]

    budget = f"{cfg.recipe.time:g} s" if cfg.recipe.time else f"{cfg.recipe.total_steps} steps"
    err.print(f"solving [bold]{label}[/] with [bold]{cfg.model.name}[/] ({budget}, {cfg.recipe.dtype}) -> {out_dir}")
    run = run_solve(cfg, out_dir, progress=not quiet, callbacks=callbacks)
    _summary(run)


def _summary(run):
    m = run.metrics
    keys = ("rel_l2", "mse", "rmse", "mae", "max_ae")
    line = "  ".join(f"{k} {m[k]:.3e}" for k in keys if k in m)
    out.print(f"[green]done[/] in {m['wall_time_s']:.1f} s, {m['steps']} steps: {line}")
    fields = tuple(run.problem.fields)
    per_field = [f"{f} {m[f'rel_l2_{f}']:.2e}" for f in fields if f"rel_l2_{f}" in m]
    if len(per_field) > 1:
        out.print("  relative L2 per field: " + ", ".join(per_field))
    per_field_keys = {f"{q}_{f}" for q in keys for f in fields}
    own = {k: v for k, v in m.items() if isinstance(v, float) and k not in (*keys, "wall_time_s", "final_loss")
           and k not in per_field_keys}
    if own:  # the problem's own metrics (a gauge error, interface residuals, demographic errors)
        out.print("  " + ", ".join(f"{k} {v:.3e}" for k, v in own.items()))
    for stop in m.get("stops", []):
        out.print(f"  {stop}")
    if m.get("params"):
        true, error = m.get("params_true", {}), m.get("params_rel_error", {})

        def show(k, v):
            return f"{k} = {v:.6g}" + (f" (true {true[k]:.6g}, relative error {error[k]:.2%})" if k in true else "")

        out.print("  parameters: " + ", ".join(show(k, v) for k, v in m["params"].items()))
    from rich.markup import escape

    for d in m.get("diagnostics", []):
        out.print(f"  [yellow]warning:[/] {escape(d['message'])}; {escape(d['hint'])}.", highlight=False, soft_wrap=True)
    out.print(f"  run directory: {run.dir}")


_FORMATS_HELP = (".npy (values), .csv (coordinates and fields, with a header), .nc (NetCDF, with coordinates and "
                 "units), .vtu or .vtk (VTK, for ParaView)")


def _write_predictions(run_dir: Path, out_file: Path, points: Optional[Path], grid: Optional[str],
                       allow_outside: bool, units: Optional[str]) -> None:
    """Shared by eval and export: predict at the points file or on the grid, write out_file."""
    import warnings

    from rich.markup import escape

    from .errors import FieldlabError
    from .export import check_format, parse_grid, parse_units, read_points
    from .run import load_run

    if out_file.is_dir():
        raise FieldlabError(f"--out {out_file} is a directory; give a file name ending in .npy, .csv, .nc, .vtu or .vtk.")
    check_format(out_file)
    if points is not None and grid is not None:
        raise FieldlabError("give either --points or --grid, not both.")
    if run_dir.is_dir() and out_file.resolve().parent == run_dir.resolve():
        raise FieldlabError(f"--out {out_file} lies in the run directory, whose files fieldlab manages; "
                            "choose a path outside it.")
    unit_map = parse_units(units)
    pts = read_points(points) if points is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = load_run(run_dir)
    for w in caught:
        err.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False, soft_wrap=True)
    pb = run.problem
    unknown = sorted(set(unit_map) - {*pb.coords, *pb.fields})
    if unknown:
        raise FieldlabError(f"--units names {', '.join(unknown)}, which are not coordinates or fields of the problem "
                            f"({', '.join((*pb.coords, *pb.fields))}).")
    counts = parse_grid(grid, pb.coords) if grid is not None else None
    run.export(out_file, grid=counts, points=pts, allow_outside=allow_outside, units=unit_map)
    fields = ", ".join(pb.fields)
    if pts is not None:
        out.print(f"wrote {len(pts)} x {len(pb.fields)} predictions ({fields}) to {out_file}")
    else:
        from .export import default_counts

        shape = "x".join(map(str, counts or default_counts(len(pb.coords))))
        out.print(f"wrote {fields} on a {shape} grid over {', '.join(pb.coords)} to {out_file}")


@app.command(name="eval")
@_friendly
def eval_(
    run_dir: Path = typer.Argument(..., help="run directory"),
    out_file: Path = typer.Option(..., "--out", help="file for the predictions, not inside the run directory: "
                                  + _FORMATS_HELP),
    points: Optional[Path] = typer.Option(None, help=".npy array or .csv file (n, d) of real numbers, columns in the "
                                          "problem's coordinate order, inside the domain"),
    grid: Optional[str] = typer.Option(None, help="a grid over the domain's bounds instead of points: one count per "
                                       "coordinate, such as 256x101"),
    allow_outside: bool = typer.Option(False, "--allow-outside", help="also predict at points outside the domain "
                                       "(where the network was not trained)"),
    units: Optional[str] = typer.Option(None, help="units of coordinates and fields for the file, such as x=m,t=s,u=K "
                                        "(default 1, nondimensional)"),
):
    """Predict the fields of a trained run at given points or on a grid."""
    from .errors import FieldlabError

    if points is None and grid is None:
        raise FieldlabError("give --points FILE or --grid COUNTS (such as 256x101) to predict at.")
    _write_predictions(run_dir, out_file, points, grid, allow_outside, units)


@app.command()
@_friendly
def export(
    run_dir: Path = typer.Argument(..., help="run directory"),
    out_file: Path = typer.Option(..., "--out", help="file to write, not inside the run directory: " + _FORMATS_HELP),
    grid: Optional[str] = typer.Option(None, help="one count per coordinate over the domain's bounds, such as 256x101 "
                                       "[default: 1001 points for one coordinate, 201x201, 65x65x65, 25 per "
                                       "coordinate for four]"),
    points: Optional[Path] = typer.Option(None, help="predict at these points instead (.npy or .csv, (n, d))"),
    allow_outside: bool = typer.Option(False, "--allow-outside", help="predict on grid points outside the domain too "
                                       "(by default they are NaN)"),
    units: Optional[str] = typer.Option(None, help="units of coordinates and fields, such as x=m,t=s,u=K (default 1)"),
):
    """Export a trained run's fields on a grid (or at points): NumPy, CSV, NetCDF or VTK for ParaView."""
    _write_predictions(run_dir, out_file, points, grid, allow_outside, units)


@app.command()
@_friendly
def demography(
    targets: list[str] = typer.Argument(..., help="run directories of population problems, or population problem "
                                        "names (the reference; all three policies unless :policy=... is given)"),
    out_dir: Path = typer.Option(Path("demography"), "--out", help="directory for demography.csv, errors.csv and figures"),
):
    """Population indicators per year and scenario (total, births, deaths, old-age dependency ratio) as a CSV
    table, their errors against the reference, population pyramids and trajectories."""
    from .demography import write_report

    for what, path in write_report(targets, out_dir).items():
        out.print(f"{what}: {path}", highlight=False)


@app.command()
@_friendly
def resume(run_dir: Path = typer.Argument(..., help="run directory to continue"),
           quiet: bool = typer.Option(False, help="no progress bar")):
    """Continue an interrupted run from its last checkpoint."""
    from .run import resume as run_resume

    run = run_resume(run_dir, progress=not quiet)
    _summary(run)


@app.command()
@_friendly
def bench(
    problems_: str = typer.Option(..., "--problems", help="comma-separated built-in problems or problem files (file.py[:name])"),
    models_: str = typer.Option(..., "--models", help="comma-separated backbones (`default`: each problem's own backbone and its options)"),
    seeds: int = typer.Option(1, min=1, help="seeds per cell (0, 1, ...)"),
    steps: Optional[int] = typer.Option(None, min=1, help="total steps per run (same for every model)"),
    time: Optional[float] = typer.Option(None, min=0.1, help="wall-time budget per run in seconds"),
    lrs: Optional[str] = typer.Option(None, help="comma-separated Adam learning rates: also finds the stable window"),
    budget: Optional[int] = typer.Option(None, min=1, help="parameter budget: every backbone sized to at most this many"),
    recipes: Optional[str] = typer.Option(None, help="comma-separated training recipes to compare: presets (default, plain, "
                                          "ssbfgs64, lbfgs32, or a strategy: gradnorm, causal, rba, ...) or .toml recipe files"),
    workers: Optional[int] = typer.Option(None, min=1, help="cells at a time: local worker processes (default: one per GPU "
                                          "on a GPU machine, else one per CPU core); with --executor ray, the CPUs of a "
                                          "local Ray instance"),
    executor: str = typer.Option("local", help="where cells run: local (a process pool) or ray (one Ray task per cell)"),
    address: Optional[str] = typer.Option(None, help="address of an existing Ray cluster (auto, host:6379, "
                                          "ray://host:10001); default: a local Ray instance"),
    cpus_per_cell: float = typer.Option(1.0, min=0.0, help="CPU cores each Ray task declares"),
    gpus_per_cell: float = typer.Option(0.0, min=0.0, help="GPUs each Ray task declares; 0.5 puts two cells on one GPU, "
                                        "each with half of its memory"),
    memory_per_cell: Optional[str] = typer.Option(None, help="memory each Ray task declares, such as 4G"),
    retries: int = typer.Option(2, min=0, help="times a cell whose worker failed (crashed, preempted) is run again"),
    out_dir: Path = typer.Option(Path("bench"), "--out", help="output directory; an existing one is resumed"),
    report_only: bool = typer.Option(False, "--report-only", help="run nothing: tables and figures of the cells "
                                     "already finished in --out (a partial report of an interrupted bench)"),
):
    """Compare backbones on problems under one identical recipe; resumable; tables, figures, HTML."""
    from . import models as model_registry
    from . import problems as problem_registry
    from .bench.report import write_figures, write_html, write_tables
    from .bench.executors import EXECUTORS, Resources, parse_memory
    from .bench.runner import BenchSpec, Cell, check_spec, parse_list, run_grid
    from .errors import FieldlabError

    if executor not in EXECUTORS:
        raise FieldlabError(f"unknown --executor '{executor}'; choose one of {', '.join(EXECUTORS)}.")
    if executor != "ray" and (address or memory_per_cell or cpus_per_cell != 1.0 or gpus_per_cell):
        raise FieldlabError("--address and the --*-per-cell resources are for Ray tasks; add --executor ray.")
    if gpus_per_cell > 1 and gpus_per_cell != int(gpus_per_cell):
        raise FieldlabError(f"--gpus-per-cell must be a fraction of one GPU or a whole number; got {gpus_per_cell:g}.")
    resources = Resources(cpus_per_cell, gpus_per_cell, parse_memory(memory_per_cell))
    if steps is not None and time is not None:
        raise FieldlabError("give either --steps or --time, not both.")
    if time is not None and not math.isfinite(time):
        raise FieldlabError(f"--time must be a finite number of seconds; got {time}.")
    try:
        lr_list = parse_list(lrs, float)
    except ValueError:
        raise FieldlabError(f"--lrs must be comma-separated numbers such as 1e-4,1e-3,1e-2; got '{lrs}'.") from None
    from .training import presets

    recipe_list = parse_list(recipes)
    for rc in recipe_list:
        presets.check(rc)
    problem_list = tuple(problem_registry.file_spec(p) if problem_registry.is_file(p) else p for p in parse_list(problems_))
    spec = BenchSpec(problem_list, parse_list(models_), seeds, steps, time, lr_list, budget, recipe_list)
    if not spec.problems or not spec.models:
        raise FieldlabError("--problems and --models each need at least one name.")
    check_spec(spec)
    for p in spec.problems:
        problem_registry.defaults(p)
    for m in spec.models:
        model_registry.options_of(m)
    for p in spec.problems:
        for m in spec.models:
            for rc in recipe_list or (None,):
                spec.config(Cell(p, m, 0, None, rc))  # every configuration is valid before anything runs
    command = "fieldlab " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("fieldlab") else "fieldlab bench ..."
    total = len(spec.cells())
    err.print(f"bench: {len(spec.problems)} problems x {len(spec.models)} models x {seeds} seeds"
              f"{f' x {len(lr_list)} learning rates' if lr_list else ''}"
              f"{f' x {len(recipe_list)} recipes' if recipe_list else ''} = {total} runs -> {out_dir}")

    def done(rec, k, n):
        if rec["status"] == "ok":
            extra = f"rel L2 {rec['rel_l2']:.2e}, {rec['wall_time_s']:.1f} s"
        else:
            from rich.markup import escape

            extra = escape(f"{rec['status']}: {rec.get('message') or 'no message'}")
        if rec.get("attempts", 1) > 1 and rec["status"] != "lost":
            extra += f" (attempt {rec['attempts']})"
        err.print(f"  [{k}/{n}] {rec['key']}: {extra}", highlight=False, soft_wrap=True)

    results = run_grid(spec, out_dir, workers, on_done=done, run=not report_only, executor=executor, address=address,
                       resources=resources, retries=retries)
    lost = [r["key"] for r in results if r["status"] == "lost"]
    if lost:
        err.print(f"{len(lost)} run(s) lost their worker after {retries + 1} attempt(s): {', '.join(lost)}; they count as "
                  "failed in the table, and running the same command again retries them.", highlight=False, soft_wrap=True)
    if report_only:
        err.print(f"report only: {len(results)} of {total} runs finished in {out_dir}")
    if not results:
        raise FieldlabError(f"no finished runs in {out_dir} to report.")
    if not report_only and all(r["status"] != "ok" for r in results):
        first = results[0]
        raise FieldlabError(f"every bench run failed, for example {first['key']}: {first.get('message') or first['status']}")
    write_tables(out_dir, results)
    figures = write_figures(out_dir, results)
    page = write_html(out_dir, command, figures)
    out.print((out_dir / "table.md").read_text(), soft_wrap=True, markup=False)
    out.print(f"report: {page}")


@app.command()
@_friendly
def simulate(
    case: str = typer.Option(..., help="closure case: case_a, case_b, case_c, case_exp, case_allee, case_porous, "
                             "case_sigmoid, case_sign; 2-D fisher2d; two species predator_prey, brusselator, schnakenberg2d (2-D)"),
    regime: str = typer.Option("clean", help="observation regime: clean, noise1, noise5, sparse_x, sparse_t or "
                               "sparse_xt"),
    seed: int = typer.Option(0, help="seed of the observation noise, 0 to 2**32 - 1"),
    runs: int = typer.Option(1, help="runs from different training initial conditions (1-4); u gets shape "
                             "(runs, nt, nx) for more than one"),
    out_file: Path = typer.Option(..., "--out", help="data file to write: .npz or .nc (NetCDF)"),
):
    """Simulate a reaction-diffusion closure case and write its observed data set."""
    from .discovery.cases import make_dataset
    from .discovery.data import format_of, save

    _check_seed(seed)
    format_of(out_file)  # a bad file name fails before the simulation runs
    ds = make_dataset(case, regime, seed, runs=runs)
    save(ds, out_file)
    out.print(f"wrote {case}/{regime} (seed {seed}): u {_shape(ds)}, "
              f"u in [{ds.u.min():.3g}, {ds.u.max():.3g}] -> {out_file}", highlight=False, soft_wrap=True)


def _check_seed(seed: int) -> None:
    from .config import SEED_LIMIT
    from .errors import FieldlabError

    if not 0 <= seed < SEED_LIMIT:
        raise FieldlabError(f"--seed must be an integer from 0 to {SEED_LIMIT - 1}; got {seed}.")


def _shape(ds) -> str:
    space = f"{ds.x.size} positions" if ds.y is None else f"{ds.x.size} x {ds.y.size} positions"
    return (f"{ds.t.size} times x {space}" + (f" x {ds.runs} runs" if ds.runs > 1 else "")
            + (f", species {', '.join(ds.species)}" if len(ds.species) > 1 else ""))


def cases_system() -> tuple[str, ...]:
    """The built-in 2-D and two-species cases (fieldlab.discovery.system_cases.SYSTEM_CASES)."""
    from .discovery.system_cases import SYSTEM_CASES

    return tuple(SYSTEM_CASES)


def _discovery_methods() -> str:
    from .discovery.registry import METHODS  # the one list of methods (a light module: no JAX)

    return ",".join(METHODS)


DISCOVERY_METHODS = _discovery_methods()


@app.command()
@_friendly
def discover(
    data: Path | None = typer.Argument(None, help="data file (.npz with x (nx,), t (nt,), u (nt, nx) or (runs, nt, nx); "
                                       "or NetCDF .nc, NetCDF 3 or 4)"),
    case: str | None = typer.Option(None, help="built-in case instead of a file: case_a, case_b, case_c, case_exp, "
                                    "case_allee, case_porous, case_sigmoid, case_sign; 2-D fisher2d; two species predator_prey, brusselator, schnakenberg2d (2-D)"),
    regime: str = typer.Option("noise1", help="regime of the built-in case: clean, noise1, noise5, sparse_x, sparse_t, sparse_xt"),
    structure: str = typer.Option("reaction-diffusion", help="PDE structure: u_t = (D(u) u_x)_x + R(u)"),
    methods: str = typer.Option(DISCOVERY_METHODS, help="comma-separated methods"),
    criterion: str = typer.Option("bic", help="symbolic family selection: aic or bic"),
    bc: str | None = typer.Option(None, help="boundary condition of a data file, for its re-simulations (the refit's choice, "
                                  "rollouts): neumann, dirichlet, periodic (default: the file's meta 'bc', else neumann)"),
    seed: int = typer.Option(0, help="seed (noise of a built-in case, network initialisation), 0 to 2**32 - 1"),
    runs: int = typer.Option(1, help="runs of the built-in case from different training initial conditions (1-4)"),
    out_dir: Path | None = typer.Option(None, "--out", help="output directory [default: discover-<case or file name>]"),
    network_seeds: int = typer.Option(0, "--network-seeds", min=0,
                                      help="re-run the neural-symbolic methods with this many other network seeds and "
                                      "add their closures to the assessment's ensemble (1-D data; minutes per seed)"),
):
    """Discover D(u) and R(u) from data, compress to formulas, validate by forward re-simulation."""
    from .discovery import cases, data as data_io
    from .discovery.pipeline import STRUCTURES, run_discovery
    from .errors import FieldlabError

    _check_seed(seed)
    if structure not in STRUCTURES:
        raise FieldlabError(f"unknown structure '{structure}'; available: {', '.join(STRUCTURES)}.")
    if (data is None) == (case is None):
        raise FieldlabError("give either a data file or --case (not both).")
    bcs = ("neumann", "dirichlet", "periodic")  # fieldlab.discovery.solver.BCS (not imported: it pulls in JAX; a test checks)
    if bc is not None and bc not in bcs:
        raise FieldlabError(f"unknown boundary condition --bc {bc}; choose one of {', '.join(bcs)}.")
    if bc is not None and case is not None:
        raise FieldlabError("--bc is for a data file; a built-in case has its own boundary condition.")
    if case is not None and case in cases_system():
        from .discovery import system_cases

        ds = cases.make_dataset(case, regime, seed, runs=runs)
        axes = system_cases.fine_axes(case)
        extra = {"truth": system_cases.SYSTEM_CASES[case], "ics": system_cases.system_ics(case, axes, "validation"),
                 "x": axes, "t": ds.t}
        name = f"{case}-{regime}-s{seed}" + (f"-r{runs}" if runs > 1 else "")
    elif case is not None:
        ds = cases.make_dataset(case, regime, seed, runs=runs)
        x = cases.fine_grid()
        _, t = cases.observation_grid()
        extra = {"truth": cases.CASES[case], "ics": cases.validation_ics(x), "x": x, "t": t}
        name = f"{case}-{regime}-s{seed}" + (f"-r{runs}" if runs > 1 else "")
    else:
        if runs != 1:
            raise FieldlabError("--runs is for the built-in cases; a data file's runs are its u's first dimension.")
        ds = data_io.load(data)
        extra = {"bc": bc}
        name = data.stem
    out_dir = out_dir or Path(f"discover-{name}")
    out.print(f"discover: {_shape(ds)}, u in [{ds.u.min():.3g}, {ds.u.max():.3g}]",
              highlight=False)
    result = run_discovery(ds, out_dir, methods=methods, criterion=criterion, seed=seed, network_seeds=network_seeds,
                           log=lambda s: out.print("  " + s, highlight=False, soft_wrap=True), **extra)
    for m, r in result["methods"].items():
        mt = r["metrics"]
        parts = [f"{k} " + ("/".join(f"{v:.3g}" for v in mt[k]) if isinstance(mt[k], list) else f"{mt[k]:.3g}")
                 for k in ("ErrD", "ErrR", "BIR_D", "BIR_R") if k in mt]  # a list: one value per species
        for k, label in (("rollout_mean", "rollout"), ("forecast_mean", "forecast"), ("holdout", "held-out window")):
            if k in mt:
                parts.append(f"{label} rel L2 {mt[k]:.3g}")
        out.print(f"  [bold]{m}[/]: " + ", ".join(parts), highlight=False)
    a = result.get("assessment") or {}
    if a.get("chosen"):
        sup, flagged = a["support"], [n for n, c in a["forecasts"].items() if c["flag"]]
        per = sup if "R" not in sup else {"u": sup}  # 2-D or two species: one support per species
        out.print(f"  chosen by {a.get('chosen_by', 'held-out validation')}: [bold]{a['chosen']}[/]; data support " + "; ".join(
                  f"R for {k} in [{s['R'][0]:.3g}, {s['R'][1]:.3g}], D for {k} in [{s['D'][0]:.3g}, {s['D'][1]:.3g}]"
                  for k, s in per.items()), highlight=False, soft_wrap=True)
        out.print("  forecasts of unseen initial conditions " + (
            f"NOT SUPPORTED by the data: {', '.join(flagged)}" if flagged else "supported by the data")
            + (f"; next experiment: {a['experiment']['initial_condition']} over t in [{a['experiment']['window'][0]:.3g}, "
               f"{a['experiment']['window'][1]:.3g}]" if a.get("experiment") else ""), highlight=False, soft_wrap=True)
    out.print(f"closures and report: {out_dir / 'closures.json'}, {out_dir / 'report.md'}")


def main():  # pragma: no cover - entry point
    app(prog_name="fieldlab")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
