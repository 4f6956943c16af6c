"""Ablation of the training strategies: each one on and off, under identical problems, seeds and budgets.

Runs ``fieldlab bench`` cells (problem x recipe x seed, the problem's own backbone by default, a fixed
budget per run: wall time or steps) through :func:`fieldlab.bench.runner.run_grid`, so an interrupted
ablation resumes where it stopped, and writes ``docs/results/ablation.md`` (keeping its hand-written
"## Reading" section). The recipes of a problem: ``plain`` (its default stages, no strategies: "off"),
``plain+S`` for each strategy ``S`` ("on": that strategy alone, its default options) and ``default``
(the problem's own recipe, strategies and all). Per problem and recipe: the relative L2 error (median
over seeds, [min, max]) and its ratio to ``plain``, with the machine and date.

A cell that cannot differ from ``plain`` is not run, and the table says why: a strategy that weighs
loss terms on a loss of one term (hard constraints), causal weighting or time marching on a steady
problem, a stage swap with no stage to swap. Usage:

    python benchmarks/ablation.py [--problems burgers,cavity,allen-cahn] [--strategies gradnorm,ntk,...]
                                  [--model default] [--seeds 3] [--time 60 | --steps 1000] [--workers 2]
                                  [--out ablation-runs]

``--steps`` fixes each run's optimiser steps instead of its wall time, split over the default stages
in their proportions, with every step schedule (learning-rate decay, strategy refreshes, ramps)
scaled alike (:meth:`fieldlab.training.recipe.Recipe.with_steps`): on a shared, loaded machine a
step budget compares recipes fairly where a time budget would not.
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import cpu_model, write_keeping  # noqa: E402

from fieldlab.bench.report import recipe_of  # noqa: E402
from fieldlab.bench.runner import BenchSpec, run_grid  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = "gradnorm,ntk,relobralo,rba,sa,residual-data,causal,rad,r3,rar-g,time-marching,ssbfgs64,lbfgs32"


def skip_reason(spec: BenchSpec, problem: str, recipe: str) -> str | None:
    """Why ``recipe`` cannot train ``problem`` differently from ``plain`` (``None``: it can)."""
    from fieldlab.bench.runner import Cell
    from fieldlab.run import _problem_for
    from fieldlab.training.losses import term_names

    if recipe in ("plain", "default"):
        return None
    cfg = spec.config(Cell(problem, spec.models[0], 0, None, recipe))
    off = spec.config(Cell(problem, spec.models[0], 0, None, "plain"))
    if cfg.recipe == off.recipe:
        return "the same recipe as plain (nothing to replace)"
    pb = _problem_for(cfg, None)
    names = term_names(pb)
    for st in cfg.recipe.strategies:
        if st.kind in ("causal", "time-marching") and not hasattr(pb.domain, "sample_initial"):
            return "needs a time-dependent problem"
        why = st.no_effect(names, tuple(pb.equations))
        if why:
            return f"no effect: {why}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default="burgers,cavity,allen-cahn")
    ap.add_argument("--strategies", default=STRATEGIES, help="each is run as plain+S")
    ap.add_argument("--model", default="default", help="backbone (default: each problem's own)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time", type=float, default=None, help="wall-time budget per run [s] (default 60 without --steps)")
    ap.add_argument("--steps", type=int, default=None, help="optimiser steps per run, instead of a time budget")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="ablation-runs")
    ap.add_argument("--page", default=str(ROOT / "docs" / "results" / "ablation.md"))
    args = ap.parse_args()
    if args.steps is None and args.time is None:
        args.time = 60.0
    budget = f"--steps {args.steps}" if args.steps else f"--time {args.time:g}"
    each = (f"{args.steps} optimiser steps (split over the problem's default stages in their proportions, step schedules "
            "scaled alike)" if args.steps else f"{args.time:g} s of wall time (compilation included) with the problem's default stages")
    strategies = args.strategies.split(",")
    recipes = ["plain", *(f"plain+{s}" for s in strategies), "default"]
    started = datetime.datetime.now()
    results, skipped = [], {}
    for problem in args.problems.split(","):
        probe = BenchSpec((problem,), (args.model,), args.seeds, args.steps, args.time, (), None, tuple(recipes))
        skipped[problem] = {rc: why for rc in recipes if (why := skip_reason(probe, problem, rc))}
        spec = BenchSpec((problem,), (args.model,), args.seeds, args.steps, args.time, (), None,
                         tuple(rc for rc in recipes if rc not in skipped[problem]))
        for rc, why in skipped[problem].items():
            print(f"{problem} {rc}: not run ({why})", flush=True)
        results += run_grid(spec, Path(args.out), args.workers,
                            on_done=lambda r, k, n: print(f"[{k}/{n}] {r['key']}: {r.get('rel_l2', r['status'])}", flush=True))
    by = defaultdict(lambda: defaultdict(list))
    for r in results:
        by[r["problem"]][recipe_of(r)].append(r)
    lines = ["# Ablation of the training strategies", "",
             f"`python benchmarks/ablation.py --problems {args.problems} --strategies {args.strategies} --model {args.model} "
             f"--seeds {args.seeds} {budget} --workers {args.workers}`: backbone `{args.model}`"
             f"{' (each problem’s own)' if args.model == 'default' else ''}, each run {each}. `plain` is the problem's "
             "default stages without strategies (off); each other row adds one strategy with its default options to "
             "them (on; `ssbfgs64` replaces L-BFGS stages by float64 self-scaled BFGS, `lbfgs32` dense quasi-Newton "
             "stages by float32 L-BFGS); `default` is the problem's own recipe. Relative L2 error against the "
             "reference: median over seeds [min, max]; ratio = median / plain's median (below 1: the strategy helps).", "",
             f"Measured {started:%Y-%m-%d} on {cpu_model()} ({platform.machine()}), {args.workers} worker processes "
             f"sharing the machine's cores.", ""]
    for problem in args.problems.split(","):
        rows = by[problem]
        base = [r["rel_l2"] for r in rows.get("plain", []) if r["status"] == "ok"]
        base_med = float(np.median(base)) if base else math.nan
        lines += [f"## {problem}", "", "| recipe | rel L2 median [min, max] | ratio to plain | steps (median) | time [s] (median) | failed |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name in recipes:
            shown = name.removeprefix("plain+")
            if name in skipped[problem]:
                lines.append(f"| {shown} | not run: {skipped[problem][name]} | - | - | - | - |")
                continue
            rs = rows.get(name, [])
            ok = [r for r in rs if r["status"] == "ok"]
            if not ok:
                lines.append(f"| {shown} | - | - | - | - | {len(rs) - len(ok)}/{len(rs)} |")
                continue
            e = np.array([r["rel_l2"] for r in ok])
            med = float(np.median(e))
            lines.append(f"| {shown} | {med:.2e} [{e.min():.2e}, {e.max():.2e}] | {med / base_med:.2f} | "
                         f"{int(np.median([r['steps'] for r in ok]))} | {np.median([r['wall_time_s'] for r in ok]):.0f} | "
                         f"{len(rs) - len(ok)}/{len(rs)} |")
        lines.append("")
    page = Path(args.page)
    page.parent.mkdir(parents=True, exist_ok=True)
    write_keeping(page, "\n".join(lines), "## Reading")  # the written reading is kept
    print(f"wrote {args.page}")

if __name__ == "__main__":
    main()
