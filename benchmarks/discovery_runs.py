"""Closure discovery from one run against several runs (initial conditions); writes docs/results/discovery-runs.md.

    python benchmarks/discovery_runs.py [--seeds 5] [--runs 1,3] [--equal-information] [--regime noise1]
        [--cases case_a,...] [--workers 2] [--out discovery-runs] [--doc docs/results/discovery-runs.md] [--coef-seeds 20]

Every cell (case, seed, number of runs) is a cell of ``benchmarks/discovery_suite.py`` (all six
methods, validated by re-simulation on the four unseen initial conditions, ties validated too) on
``make_dataset(case, regime, seed, runs=k)``: run ``j`` starts from ``TRAINING_ICS[j]``, each run
observed like the one-run data (101 x 101, the same noise level relative to the data's spread).
More runs mean more data as well as other initial conditions: the comparison asks what a second
and third experiment buy, not what a fixed budget of observations does. ``--equal-information``
adds, for every ``k > 1`` runs, the same runs with the noise level times ``sqrt(k)``: ``k`` times
the data at ``k`` times the noise variance carry about the information of one run, so what is left
of the gain is what the other initial conditions bring. Cells are written to
``<out>/cells/<key>.json``; a rerun with the same ``--out`` skips finished cells (each invocation
that computed cells is recorded in ``<out>/runs.json``). The figure (``--doc`` with ``.png``)
shows every seed's rollout error by method and number of runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from discovery_suite import (CASES, ISSUE_POLY, MATCHED, METHODS, _num, cell_key, coefficient_spread,  # noqa: E402
                             run_cells)


def variants(args) -> list[tuple[int, float | None]]:
    """(runs, noise level or None for the regime's) of every compared data set, in table order."""
    from fieldlab.discovery.cases import REGIMES

    out = [(int(k), None) for k in args.runs.split(",")]
    if args.equal_information:
        out += [(k, round(REGIMES[args.regime].noise * float(np.sqrt(k)), 6)) for k, _ in out if k > 1]
    return out


def variant_of(r: dict, args) -> tuple[int, float | None]:
    from fieldlab.discovery.cases import REGIMES

    noise = r["data"]["noise"]
    return r["data"].get("runs", 1), (None if np.isclose(noise, REGIMES[args.regime].noise) else round(noise, 6))


def label(v: tuple[int, float | None], args) -> str:
    """``3``, or ``3 (noise x1.73)`` for a noise level other than the regime's."""
    from fieldlab.discovery.cases import REGIMES

    k, noise = v
    return f"{k}" + ("" if noise is None else f" (noise x{noise / REGIMES[args.regime].noise:.2f})")


def _range(v, fmt: str) -> str:
    v = np.asarray(v, float)
    return f"{np.mean(v):{fmt}} [{np.min(v):{fmt}}, {np.max(v):{fmt}}]"


def figure(results: list[dict], args, path: Path) -> None:
    """Rollout error of the best polynomial method and of neural-symbolic-refit, per seed, by number of runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases, runs = args.cases.split(","), variants(args)
    fig, axes = plt.subplots(1, len(cases), figsize=((2.0 + 0.6 * len(runs)) * len(cases), 3.4), sharey=True, squeeze=False)
    for ax, c in zip(axes[0], cases):
        for i, v in enumerate(runs):
            rs = sorted((r for r in results if r["data"]["case"] == c and variant_of(r, args) == v),
                        key=lambda r: r["data"]["seed"])
            best = [min(_num(r["methods"][m]["metrics"]["rollout_mean"]) for m in ISSUE_POLY) for r in rs]
            own = [_num(r["methods"]["neural-symbolic-refit"]["metrics"]["rollout_mean"]) for r in rs]
            tied = [bool(r["methods"]["neural-symbolic-refit"].get("ties")) for r in rs]
            xs = i + np.linspace(-0.15, 0.15, max(len(rs), 1))[: len(rs)]
            ax.scatter(xs, best, marker="s", color="tab:gray", label="best polynomial" if i == 0 else None)
            ax.scatter(xs, own, marker="o", color="tab:blue", label="neural-symbolic-refit" if i == 0 else None)
            ax.scatter(xs[np.array(tied, bool)], np.array(own)[np.array(tied, bool)], marker="o", s=90,
                       facecolors="none", edgecolors="tab:red", label="tie reported" if i == 0 else None)
        ax.set_xticks(range(len(runs)), [label(v, args).replace(" (", "\n(") for v in runs], fontsize=8)
        ax.set_xlim(-0.5, len(runs) - 0.5)
        ax.set_xlabel("runs", fontsize=8)
        ax.set_yscale("log")
        ax.set_title(c, fontsize=10)
        ax.grid(alpha=0.3, which="both", axis="y")
    axes[0][0].set_ylabel("rollout rel. L2, unseen initial conditions")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"one run against several ({args.regime}, one point per seed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summarise(results: list[dict], args) -> str:
    by: dict = {}
    for r in results:
        by.setdefault((r["data"]["case"], variant_of(r, args)), []).append(r)
    runs = variants(args)
    lines = ["# Closure discovery from several runs", "",
             "Produced by `benchmarks/discovery_runs.py` (the command below); do not edit by hand. Each run is the same "
             "system observed from another training initial condition (`fieldlab.discovery.cases.TRAINING_ICS`: "
             "`training`, `step`, `ripple`, ...), on the same 101 x 101 grid and at the same relative noise level; the "
             "one-run cells are computed exactly as those of [discovery.md](discovery.md). More runs are more data as well "
             "as other initial conditions. Validation as in discovery.md: rollouts on the four unseen initial conditions."
             + (" Rows `k (noise xF)`: the same k runs with the noise level times F = sqrt(k); k times the data at k times "
                "the noise variance carry about the information of one run, so what remains of a gain there is what the "
                "other initial conditions bring." if args.equal_information else ""), "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}: {os.cpu_count()} CPU cores "
             f"({cpu_model()}), Python {platform.python_version()}, CPU only, shared machine.", "",
             "```", f"python benchmarks/discovery_runs.py --seeds {args.seeds} --runs {args.runs} "
             + ("--equal-information " if args.equal_information else "") + f"--regime {args.regime} "
             f"--cases {args.cases} --workers {args.workers} --out {args.out}"
             + (f" --coef-seeds {args.coef_seeds}" if args.coef_seeds != 20 else ""), "```", "",
             f"{len(results)} cells. Invocations that computed cells (`{args.out}/runs.json`): "
             + ("; ".join(f"finished {r['date']}: {r['cells']} cells in {r['wall'] / 60:.1f} min with {r['workers']} worker "
                          f"process(es)" for r in args.invocations) or "none recorded")
             + ". Mean wall time per cell: "
             + ", ".join(f"runs {label(v, args)} {np.mean([r['wall'] for r in by_v]):.0f} s" for v in runs
                         if (by_v := [r for r in results if variant_of(r, args) == v])) + ".", "",
             f"![rollout errors by number of runs]({Path(args.doc).with_suffix('.png').name})", ""]
    lines += [f"## Targets at {args.regime} by number of runs (mean [min, max] over seeds)", "",
              "| case | runs | weak-poly coefficients (max rel. error) | within 2% | neural-symbolic-refit rollout | "
              "best polynomial / neural-symbolic-refit rollout | ratio >= 3 | cells with a tie |",
              "| --- | ---: | --- | ---: | --- | --- | ---: | ---: |"]
    for c in args.cases.split(","):
        for v in runs:
            rs = by.get((c, v), [])
            if not rs:
                continue
            coef, within = "-", "-"
            if c in MATCHED:
                ce = [r["methods"]["weak-poly"]["coefficient_error"]["max_rel_nonzero"] for r in rs]
                coef, within = _range(ce, ".2%"), f"{sum(e <= 0.02 for e in ce)}/{len(ce)}"
            own = [_num(r["methods"]["neural-symbolic-refit"]["metrics"]["rollout_mean"]) for r in rs]
            best = [min(_num(r["methods"][m]["metrics"]["rollout_mean"]) for m in ISSUE_POLY) for r in rs]
            ratio = [b / o for b, o in zip(best, own)]
            tied = sum(bool(r["methods"]["neural-symbolic-refit"].get("ties")) for r in rs)
            lines.append(f"| {c} | {label(v, args)} | {coef} | {within} | {_range(own, '.2e')} | {_range(ratio, '.2f')} | "
                         f"{sum(x >= 3 for x in ratio)}/{len(ratio)} | {tied}/{len(rs)} |")
    if args.spread:
        lines += ["", f"weak-poly coefficients over more seeds (seeds 0-{args.coef_seeds - 1}, weak-poly only; largest relative "
                  "error over the true nonzero coefficients, a wrong set of terms counts as a miss):", "",
                  "| case | runs | median | max | seeds within 2% |", "| --- | ---: | ---: | ---: | ---: |"]
        for c, by_runs in args.spread.items():
            for v, errs in by_runs.items():
                e = np.asarray(errs)
                lines.append(f"| {c} | {label(v, args)} | {np.median(e):.2%} | {np.max(e):.2%} | {int(np.sum(e <= 0.02))}/{len(e)} |")
    lines += ["", "## Closure errors by number of runs (mean over seeds; ErrD / ErrR, relative L2 over the observed range)", "",
              "| case | runs | " + " | ".join(METHODS) + " | BIR_D, BIR_R (neural-symbolic) |",
              "| --- | ---: | " + " | ".join("---" for _ in METHODS) + " | --- |"]
    for c in args.cases.split(","):
        for v in runs:
            rs = by.get((c, v), [])
            if not rs:
                continue
            cells = []
            for m in METHODS:
                e = [(_num(r["methods"][m]["metrics"]["ErrD"]), _num(r["methods"][m]["metrics"]["ErrR"])) for r in rs]
                cells.append(f"{np.mean([a for a, _ in e]):.2g} / {np.mean([b for _, b in e]):.2g}")
            bir = [(_num(r["methods"]["neural-symbolic"]["metrics"]["BIR_D"]), _num(r["methods"]["neural-symbolic"]["metrics"]["BIR_R"]))
                   for r in rs]
            lines.append(f"| {c} | {label(v, args)} | " + " | ".join(cells)
                         + f" | {np.mean([a for a, _ in bir]):.2f}, {np.mean([b for _, b in bir]):.2f} |")
    lines += ["", "## Every cell: neural-symbolic-refit's choice and the pairs the data do not tell apart", "",
              "Ratio: best of strong-poly and weak-poly rollout over neural-symbolic-refit's. Ties: other polished pairs "
              "within 2 in BIC (their rollout on the unseen initial conditions in brackets).", "",
              "| case | seed | runs | chosen D / R | ErrD | ErrR | rollout | ratio | ties |",
              "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in sorted(results, key=lambda r: (CASES.index(r["data"]["case"]), r["data"]["seed"], runs.index(variant_of(r, args)))):
        ref = r["methods"]["neural-symbolic-refit"]
        mt = ref["metrics"]
        best = min(_num(r["methods"][m]["metrics"]["rollout_mean"]) for m in ISSUE_POLY)
        ties = "; ".join(f"{t['family']['D']} / {t['family']['R']} (+{t['delta']:.1f}, {_num(t.get('rollout_mean')):.1e})"
                         for t in ref.get("ties") or []) or "-"
        lines.append(f"| {r['data']['case']} | {r['data']['seed']} | {label(variant_of(r, args), args)} | {ref['family']['D']} / "
                     f"{ref['family']['R']} | {_num(mt['ErrD']):.2e} | {_num(mt['ErrR']):.2e} | {_num(mt['rollout_mean']):.2e} | "
                     f"{best / _num(mt['rollout_mean']):.2f} | {ties} |")
    lines += ["", f"Per-cell results: `{args.out}/cells/*.json`.", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--runs", default="1,3", help="comma-separated numbers of runs to compare")
    ap.add_argument("--equal-information", action="store_true",
                    help="also every k > 1 runs with the noise level times sqrt(k)")
    ap.add_argument("--regime", default="noise1")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default="discovery-runs")
    ap.add_argument("--doc", default="docs/results/discovery-runs.md")
    ap.add_argument("--coef-seeds", type=int, default=20,
                    help="seeds for the weak-poly coefficient spread of the matched cases (0: skip)")
    args = ap.parse_args(argv)
    cells = Path(args.out) / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    todo, results = [], []
    for c in args.cases.split(","):
        for s in range(args.seeds):
            for k, noise in variants(args):
                path = cells / (cell_key(c, args.regime, s, k, noise) + ".json")
                if path.exists():
                    results.append(json.loads(path.read_text()))
                else:
                    todo.append((c, s, k, noise))
    todo.sort(key=lambda cell: -cell[2])  # the longest cells first, so that the workers finish together
    print(f"{len(results)} cells done, {len(todo)} to run with {args.workers} workers", flush=True)
    jobs = [(c, args.regime, s, str(cells), False, k, noise) for c, s, k, noise in todo]
    new, args.invocations = run_cells(jobs, args.workers, Path(args.out))
    results += new
    args.spread = {c: {v: coefficient_spread(c, args.coef_seeds, args.regime, *v, refit=False, workers=args.workers)["weak-poly"]
                       for v in variants(args)}
                   for c in MATCHED if c in args.cases.split(",")} if args.coef_seeds else {}
    text = summarise(results, args)
    Path(args.doc).write_text(text)
    figure(results, args, Path(args.doc).with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
