"""Ablation of the training strategies: each one on and off, under identical problems, seeds and budgets.

Runs ``fieldlab bench`` cells (problem x recipe x seed, the MLP backbone, a fixed budget per run:
wall time or steps) through :func:`fieldlab.bench.runner.run_grid`, so an interrupted ablation resumes where it
stopped, and writes ``docs/results/ablation.md`` (keeping its hand-written "## Reading" section): per problem, the relative L2 error of each recipe
(mean and spread over seeds) and its ratio to ``plain`` (the same stages without strategies), with
the machine and date. Usage:

    python benchmarks/ablation.py [--problems burgers,allen-cahn,advection] [--recipes plain,gradnorm,...]
                                  [--seeds 3] [--time 60 | --steps 1500] [--workers 2] [--out ablation-runs]

``--steps`` fixes each run's optimiser steps instead of its wall time (split over the default stages
in their proportions): on a shared, loaded machine a step budget compares recipes fairly where a
time budget would not.
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
from _machine import cpu_model  # noqa: E402

from fieldlab.bench.report import recipe_of  # noqa: E402
from fieldlab.bench.runner import BenchSpec, run_grid  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RECIPES = "plain,gradnorm,ntk,relobralo,rba,sa,causal,rad,r3,ssbfgs64"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default="burgers,allen-cahn,advection")
    ap.add_argument("--recipes", default=RECIPES)
    ap.add_argument("--model", default="mlp")
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
    each = (f"{args.steps} optimiser steps (split over the problem's default stages in their proportions)"
            if args.steps else f"{args.time:g} s of wall time (compilation included) with the problem's default stages")
    spec = BenchSpec(tuple(args.problems.split(",")), (args.model,), args.seeds, args.steps, args.time, (), None,
                     tuple(args.recipes.split(",")))
    started = datetime.datetime.now()
    results = run_grid(spec, Path(args.out), args.workers,
                       on_done=lambda r, k, n: print(f"[{k}/{n}] {r['key']}: {r.get('rel_l2', r['status'])}", flush=True))
    by = defaultdict(lambda: defaultdict(list))
    for r in results:
        by[r["problem"]][recipe_of(r)].append(r)
    lines = ["# Ablation of the training strategies", "",
             f"`python benchmarks/ablation.py --problems {args.problems} --recipes {args.recipes} --seeds {args.seeds} "
             f"{budget} --workers {args.workers}`: backbone `{args.model}`, each run {each}; `plain` is those stages without "
             f"strategies, every other recipe adds one strategy with its default options (`ssbfgs64` replaces L-BFGS "
             f"by float64 self-scaled BFGS, `lbfgs32` dense quasi-Newton stages by float32 L-BFGS). Relative L2 error against the reference: median over seeds [min, max]; "
             f"ratio = median / plain's median (below 1: the strategy helps).", "",
             f"Measured {started:%Y-%m-%d} on {cpu_model()} ({platform.machine()}), {args.workers} worker processes "
             f"sharing the machine's cores.", ""]
    for problem, recipes in by.items():
        base = [r["rel_l2"] for r in recipes.get("plain", []) if r["status"] == "ok"]
        base_med = float(np.median(base)) if base else math.nan
        lines += [f"## {problem}", "", "| recipe | rel L2 median [min, max] | ratio to plain | steps (median) | time [s] (median) | failed |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name in args.recipes.split(","):
            rs = recipes.get(name, [])
            ok = [r for r in rs if r["status"] == "ok"]
            if not ok:
                lines.append(f"| {name} | - | - | - | - | {len(rs) - len(ok)}/{len(rs)} |")
                continue
            e = np.array([r["rel_l2"] for r in ok])
            med = float(np.median(e))
            lines.append(f"| {name} | {med:.2e} [{e.min():.2e}, {e.max():.2e}] | {med / base_med:.2f} | "
                         f"{int(np.median([r['steps'] for r in ok]))} | {np.median([r['wall_time_s'] for r in ok]):.0f} | "
                         f"{len(rs) - len(ok)}/{len(rs)} |")
        lines.append("")
    page = Path(args.page)
    page.parent.mkdir(parents=True, exist_ok=True)
    old = page.read_text() if page.exists() else ""
    reading = old[old.index("## Reading"):] if "## Reading" in old else ""  # the written reading is kept
    page.write_text("\n".join(lines) + ("\n" + reading if reading else ""))
    print(f"wrote {args.page}")


if __name__ == "__main__":
    main()
