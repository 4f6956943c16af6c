#!/usr/bin/env python
"""Per-step training cost of every registered backbone relative to the MLP, at equal parameter budget.

For one problem (``heat1d`` by default) and each parameter budget, every backbone of
``fieldlab.models.available()`` (KAN twice: ``basis="bspline"`` and ``basis="chebyshev"``) is
sized with ``budget=`` (the largest ``width`` whose parameter count does not exceed the budget,
other options at the bench's values) and its training step is built with the library's own
machinery, exactly as ``fieldlab solve`` / ``fieldlab bench`` build it:

* the config: ``fieldlab.config.resolve(problems.defaults(problem), {"model": {..., "budget": B}})``,
  as :meth:`fieldlab.bench.runner.BenchSpec.config` does (the problem's default recipe);
* the network: ``fieldlab.models.build`` (through ``fieldlab.run._build_model``);
* the loss: ``fieldlab.training.losses.make_loss`` on the problem's first collocation draw
  (``fieldlab.training.trainer.sample_batch``), jitted as the Trainer does;
* the step: ``fieldlab.training.optimizers.make_chunk`` for the recipe's first (Adam) stage: one
  compiled call = ``--chunk`` Adam steps (loss, gradient, update, finite check) in a ``lax.scan``.

What is timed is one such compiled call, from the same initial state every time (so every call
does exactly ``--chunk`` steps and no model can diverge away), until its outputs are ready.
Compilation is excluded: each chunk is called once (compile + run) before timing. The calls
are interleaved: for each repeat, every model is timed once (the order rotated by one model
per repeat, so no model always runs first or last), so a change of machine load hits all
models alike. The table gives each model's median ms/step over the repeats and the ratio of
that median to the MLP's median from the same run.

Usage::

    python benchmarks/step_cost.py                          # heat1d, budgets 3000 and 10000
    python benchmarks/step_cost.py --budgets 3000 --repeats 5 --chunk 50
    python benchmarks/step_cost.py --problem burgers --models mlp,kan,resnet
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

from _machine import cpu_model  # noqa: E402 - benchmarks/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "results" / "benchmarks-step-cost.md"
PROTECTED = REPO / "docs" / "results" / "benchmarks.md"
KAN_TARGET = 3.0  # issue 3: KAN within 3x of the MLP's step time at equal parameters


# -- machine ----------------------------------------------------------------------------------------
def loadavg() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def fmt_load(la) -> str:
    return "n/a" if la is None else " / ".join(f"{v:.2f}" for v in la)


def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by the whole machine, by this process) so far."""
    import resource

    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    machine = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    r = resource.getrusage(resource.RUSAGE_SELF)
    return machine, r.ru_utime + r.ru_stime


# -- the models -------------------------------------------------------------------------------------
def model_specs(names: list[str]) -> list[tuple[str, str, dict]]:
    """(label, backbone name, extra options); ``kan`` expands to both bases."""
    specs = []
    for name in names:
        if name == "kan":
            specs.append(("kan (bspline)", "kan", {"basis": "bspline"}))
            specs.append(("kan (chebyshev)", "kan", {"basis": "chebyshev"}))
        else:
            specs.append((name, name, {}))
    return specs


class Setup:
    """One backbone's compiled Adam chunk on the problem, ready to be timed."""

    def __init__(self, label: str, name: str, options: dict, problem: str, budget: int, chunk: int, seed: int):
        import jax
        import jax.numpy as jnp
        import numpy as np

        from fieldlab import models, problems
        from fieldlab.config import resolve
        from fieldlab.run import _build_model, _problem_for
        from fieldlab.training.losses import make_loss
        from fieldlab.training.optimizers import make_chunk
        from fieldlab.training.trainer import init_theta, sample_batch, set_dtype

        self.label, self.name, self.chunk = label, name, chunk
        cfg = resolve(problems.defaults(problem),
                      {"model": {"name": name, "budget": budget, **options}, "recipe": {"seed": seed}},
                      source=f"step-cost {label}")
        recipe = cfg.recipe
        stage = next((s for s in recipe.stages if s.optimizer == "adam"), None)
        if stage is None:
            raise SystemExit(f"the default recipe of {problem} has no Adam stage to time")
        self.options = cfg.model.options
        pb = _problem_for(cfg, None)
        dtype = set_dtype(recipe.dtype)
        net = _build_model(pb, cfg)
        self.params = models.count_params(net)
        lo, hi = (tuple(float(v) for v in np.ravel(b)) for b in pb.domain.bounds())
        self.width = models.base.width_for_budget(name, len(pb.coords), len(pb.fields), budget, lo=lo, hi=hi,
                                                  **{k: v for k, v in self.options.items() if k != "budget"})
        self.depth = self.options.get("depth", models.options_of(name).get("depth"))
        self.theta, static = init_theta(pb, net, dtype)
        loss_terms = jax.jit(make_loss(pb, static, recipe.weights, dtype))  # as Trainer.__init__
        self.batch = sample_batch(pb, recipe, 0, dtype)
        opt, self.run_chunk = make_chunk(stage, lambda th, b, aux: loss_terms(th, b)[0], chunk)
        self.opt_state = opt.init(self.theta)
        self.counters = jnp.zeros((len(stage.rules()),), jnp.int32)
        self.last = jnp.asarray(float("inf"), dtype)
        self.aux = {"states": [], "step": jnp.zeros((), jnp.int32)}  # no strategies: the plain loss
        self.stage = stage
        self.dtype = recipe.dtype
        self.n_points = {k: int(next(iter(v.values())).shape[0]) if isinstance(v, dict) else int(v.shape[0])
                         for k, v in self.batch.items()}
        t0 = time.perf_counter()
        self.call()  # compile (and run once)
        self.compile_s = time.perf_counter() - t0
        self.times: list[float] = []

    def call(self) -> float:
        """One chunk of ``self.chunk`` Adam steps from the initial state; seconds until the outputs are ready."""
        import jax

        t0 = time.perf_counter()
        out = self.run_chunk(self.theta, self.opt_state, self.batch, self.chunk, self.counters, self.last, self.aux)
        jax.block_until_ready(out)
        seconds = time.perf_counter() - t0
        done, reason = int(out[3]), int(out[4])
        if done != self.chunk:
            raise SystemExit(f"{self.label}: the chunk stopped after {done} of {self.chunk} steps (reason {reason}); "
                             "the step time would be wrong")
        self.final_loss = float(out[2][-1])
        return seconds


# -- measurement ------------------------------------------------------------------------------------
def measure(problem: str, budget: int, specs, chunk: int, repeats: int, warmup: int, seed: int) -> dict:
    setups = []
    t_build = time.perf_counter()
    for label, name, options in specs:
        print(f"[{budget}] building and compiling {label} ...", end="", flush=True)
        s = Setup(label, name, options, problem, budget, chunk, seed)
        print(f" {s.params} params, width {s.width}, compiled in {s.compile_s:.1f} s", flush=True)
        setups.append(s)
    build_s = time.perf_counter() - t_build
    for _ in range(warmup):  # untimed: first executions after compilation
        for s in setups:
            s.call()
    load_start = loadavg()
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    for r in range(repeats):
        order = setups[r % len(setups):] + setups[: r % len(setups)]
        for s in order:
            s.times.append(s.call() / chunk)
        line = ", ".join(f"{s.label} {1e3 * s.times[-1]:.2f}" for s in setups)
        print(f"[{budget}] repeat {r + 1}/{repeats} ms/step: {line}", flush=True)
    cpu1, wall = _cpu_seconds(), time.perf_counter() - t0
    others = None
    if cpu0 is not None and cpu1 is not None:
        others = max((cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1]), 0.0) / wall
        own = (cpu1[1] - cpu0[1]) / wall
    else:
        own = None
    mlp = next((s for s in setups if s.name == "mlp"), None)
    mlp_med = statistics.median(mlp.times) if mlp else None
    rows = []
    for s in setups:
        med = statistics.median(s.times)
        per_repeat = [t / m for t, m in zip(s.times, mlp.times)] if mlp else []
        rows.append({
            "label": s.label, "name": s.name, "params": s.params, "width": s.width, "depth": s.depth,
            "median_ms": 1e3 * med, "min_ms": 1e3 * min(s.times), "max_ms": 1e3 * max(s.times),
            "ratio": med / mlp_med if mlp_med else None,
            "ratio_lo": min(per_repeat) if per_repeat else None, "ratio_hi": max(per_repeat) if per_repeat else None,
            "compile_s": s.compile_s, "times_ms": [1e3 * t for t in s.times],
        })
    return {"budget": budget, "rows": rows, "load_start": load_start, "load_end": loadavg(),
            "others_busy": others, "own_busy": own, "timed_wall_s": wall, "build_s": build_s,
            "stage": setups[0].stage, "dtype": setups[0].dtype, "n_points": setups[0].n_points}


# -- report -----------------------------------------------------------------------------------------
def _c(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _r(v) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def table(res: dict) -> list[str]:
    lines = [
        "| model | width x depth | params | median ms/step | ratio to MLP (of medians) | per-repeat ratio range | min-max ms/step | compile [s] |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for r in res["rows"]:
        bold = "**" if r["name"] in ("mlp", "kan") else ""
        lines.append(
            f"| {bold}{r['label']}{bold} | {r['width']} x {r['depth']} | {r['params']} | {r['median_ms']:.2f} | "
            f"{bold}{_r(r['ratio'])}{bold} | {_r(r['ratio_lo'])} - {_r(r['ratio_hi'])} | "
            f"{r['min_ms']:.2f} - {r['max_ms']:.2f} | {r['compile_s']:.1f} |")
    return lines


def kan_verdict(res: dict) -> str:
    parts = []
    for r in res["rows"]:
        if r["name"] == "kan" and r["ratio"] is not None:
            ok = "within" if r["ratio"] <= KAN_TARGET else "NOT within"
            parts.append(f"{r['label']} {r['ratio']:.2f}x ({ok} {KAN_TARGET:g}x)")
    return "; ".join(parts) if parts else "KAN not measured"


def markdown(info: dict, results: list[dict], args, command: str) -> str:
    st = results[0]["stage"]
    lines = [
        f"# Per-step training cost of the backbones relative to the MLP ({args.problem}, equal parameter budget)",
        "",
        f"Date: {info['date']}",
        "",
        f"Machine: {info['cores']} CPU cores ({info['cpu']}), {info['platform']}; JAX {info['jax']} "
        f"(jaxlib {info['jaxlib']}) on {info['backend']}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '') or 'unset'}; "
        f"Python {info['python']}, fieldlab {info['fieldlab']}.",
        "",
        f"Load average (1 / 5 / 15 min) at start: {fmt_load(info['load_start'])}; at end: {fmt_load(info['load_end'])}.",
        "",
    ]
    busy = [r["others_busy"] for r in results if r["others_busy"] is not None]
    if busy and max(busy) > 0.25:
        lines += [
            f"> **Shared machine:** other processes used up to {max(busy):.2f} of {info['cores']} cores during the "
            "timed calls (see each budget). Absolute ms/step are inflated and noisy; the ratios are measured "
            "interleaved in the same run and are the numbers to compare.",
            "",
        ]
    for res in results:
        lines += [
            f"## Budget {res['budget']} parameters",
            "",
            *table(res),
            "",
            f"KAN vs MLP (issue 3 target: within {KAN_TARGET:g}x): {kan_verdict(res)}.",
            "",
            f"Load average at start / end of the timed calls: {fmt_load(res['load_start'])} -> {fmt_load(res['load_end'])}; "
            f"CPU used by other processes during them: {_c(res['others_busy'])} cores, by this script "
            f"{_c(res['own_busy'])} cores; timed wall {res['timed_wall_s']:.0f} s "
            f"(building and compiling all models: {res['build_s']:.0f} s).",
            "",
        ]
    lines += [
        "## Method",
        "",
        f"- Problem `{args.problem}` with its default recipe and default hard constraints: collocation points "
        f"{', '.join(f'{k} {v}' for k, v in results[0]['n_points'].items())} (first draw, fixed), {results[0]['dtype']}.",
        f"- Step: the recipe's first Adam stage (lr {st.lr:g}, decay {st.decay_rate:g} every {st.decay_steps}) as "
        f"`fieldlab.training.optimizers.make_chunk` builds it for the Trainer: one jitted call runs {args.chunk} steps "
        "(loss with all PDE derivatives, its gradient, the Adam update, the finite-loss check) in a `lax.scan`. "
        "The loss is `fieldlab.training.losses.make_loss`; the network is `fieldlab.models.build(..., budget=B)`, "
        "via the config that `fieldlab bench --budget B` resolves (problem defaults; the MLP keeps the problem's "
        "default depth, the other backbones their own default options; `width` is the largest that fits the budget).",
        f"- Timed: {args.repeats} calls per model, each from the same initial state (so exactly {args.chunk} steps), "
        "`time.perf_counter()` around the call and `jax.block_until_ready` of its outputs; ms/step = call time / "
        f"{args.chunk}. Not timed: building, compiling (first call; its time is in the last column, compile + one run), "
        f"and {args.warmup} warm-up call(s) per model.",
        "- Interleaved: for each repeat every model is timed once, the order rotated by one model per repeat. "
        "\"Ratio to MLP\" = median ms/step of the model / median ms/step of the MLP, both from this run; the per-repeat "
        "range is min-max over repeats of (model time / MLP time in the same repeat).",
        "- Only the MLP has a batched derivative fast path (`Backbone.taylor` override); every other backbone gets "
        "its derivatives by nested forward-mode `jvp` per point (`fieldlab.operators.taylor_jvp`) under `vmap`.",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", default="heat1d", help="built-in problem (default heat1d)")
    ap.add_argument("--budgets", "--budget", default="3000,10000",
                    help="comma-separated parameter budgets (default 3000,10000)")
    ap.add_argument("--models", default="", help="comma-separated backbones (default: all registered; kan = both bases)")
    ap.add_argument("--chunk", type=int, default=50, help="Adam steps per timed compiled call (default 50)")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per model, interleaved (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls per model after compiling (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="initialisation and sampling seed (default 0)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown output (default docs/results/benchmarks-step-cost.md)")
    args = ap.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    if not budgets or min(budgets) < 1 or args.chunk < 1 or args.repeats < 1 or args.warmup < 0:
        ap.error("--budgets, --chunk and --repeats must be positive, --warmup non-negative")
    out = args.out.resolve()
    if out == PROTECTED.resolve():
        ap.error(f"refusing to overwrite {PROTECTED.relative_to(REPO)}; choose another --out")

    import jax
    import jaxlib

    import fieldlab
    from fieldlab import models

    names = [m.strip() for m in args.models.split(",") if m.strip()] or models.available()
    unknown = sorted(set(names) - set(models.available()))
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {models.available()}")
    if "mlp" not in names:
        names = ["mlp", *names]
    names = ["mlp", *[n for n in names if n != "mlp"]]
    specs = model_specs(names)

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(REPO))
        except ValueError:
            return str(p)

    command = shlex.join(["python", "benchmarks/step_cost.py", *(sys.argv[1:] if argv is None else argv)])
    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "python": platform.python_version(), "fieldlab": fieldlab.__version__, "jax": jax.__version__,
        "jaxlib": jaxlib.__version__, "backend": ", ".join(sorted({d.platform.upper() for d in jax.devices()})),
        "load_start": loadavg(),
    }
    print(f"step cost on {args.problem}, budgets {budgets}, {len(specs)} models, {args.repeats} x {args.chunk} steps; "
          f"load average {fmt_load(info['load_start'])}", flush=True)
    results = [measure(args.problem, b, specs, args.chunk, args.repeats, args.warmup, args.seed) for b in budgets]
    info["load_end"] = loadavg()
    text = markdown(info, results, args, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print()
    print(text)
    print(f"written to {rel(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
