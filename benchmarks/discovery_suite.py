"""Closure discovery on every built-in case x regime x seed; writes docs/results/discovery.md.

    python benchmarks/discovery_suite.py [--seeds 3] [--workers 2] [--out discovery-suite] [--doc docs/results/discovery.md]
        [--cases case_a,...] [--regimes clean,...]
    python benchmarks/discovery_suite.py --spread-only [--coef-seeds 20] [--workers 2]   # docs/results/discovery-spread.md

Each cell (case, regime, seed) runs all six methods (strong-poly, weak-poly, weak-poly-refit, neural,
neural-symbolic, neural-symbolic-refit) through :func:`fieldlab.discovery.pipeline.run_discovery`, validates them by
re-simulation on the unseen initial conditions, and writes ``<out>/cells/<key>.json``; a rerun with
the same ``--out`` skips finished cells. The summary and the full table go to ``--doc``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np

CASES = ("case_a", "case_b", "case_c", "case_exp", "case_allee", "case_porous", "case_sigmoid", "case_sign")  # all built-in
REGIMES = ("clean", "noise1", "noise5", "sparse_x", "sparse_t", "sparse_xt")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import worker_pool  # noqa: E402
from fieldlab.discovery.registry import METHODS as ALL_METHODS, for_data  # noqa: E402  (a light module)

METHODS = for_data(ALL_METHODS, "1d", default=True)  # the registry's methods for one species in 1-D, the cases' data
POLY = ("strong-poly", "weak-poly", "weak-poly-refit")
ISSUE_POLY = ("strong-poly", "weak-poly")  # the issue's polynomial methods, for its 3x target
SYMBOLIC = ("neural-symbolic", "neural-symbolic-refit")
MATCHED, MISMATCHED = ("case_a", "case_b"), ("case_c", "case_exp")


def true_coefficients(text: str, degree: int) -> list[float] | None:
    """Coefficients (u^0..u^degree) of a polynomial truth, else None."""
    import sympy as sp

    u = sp.Symbol("u")
    expr = sp.expand(sp.sympify(text, locals={"u": u}))
    if not expr.is_polynomial(u) or sp.degree(expr, u) > degree:
        return None
    poly = sp.Poly(expr, u)
    return [float(poly.coeff_monomial(u**k)) for k in range(degree + 1)]


def coefficient_error(found: list[float], truth: list[float]) -> dict:
    f, t = np.asarray(found), np.asarray(truth)
    nz = t != 0
    return {"max_rel_nonzero": float(np.max(np.abs(f[nz] - t[nz]) / np.abs(t[nz]))),
            "max_spurious": float(np.max(np.abs(f[~nz]), initial=0.0))}


def run_cell(case: str, regime: str, seed: int, cells: str, figures: bool, runs: int = 1,
             noise: float | None = None) -> dict:
    """One cell: ``runs`` runs of the case's data (``make_dataset(..., runs=runs, noise=noise)``; a
    ``noise`` other than the regime's adds ``__n<noise>`` to the key), every method, validated."""
    from fieldlab.discovery import cases
    from fieldlab.discovery.pipeline import run_discovery

    key = cell_key(case, regime, seed, runs, noise)
    t0 = time.perf_counter()
    ds = cases.make_dataset(case, regime, seed, runs=runs, noise=noise)
    x = cases.fine_grid()
    _, t = cases.observation_grid()
    truth = cases.CASES[case]
    out = Path(cells) / key if figures else None
    # the generalisation assessment has its own benchmark (discovery_generalisation.py); here it would add ~30 s a cell
    res = run_discovery(ds, out, truth=truth, ics=cases.validation_ics(x), x=x, t=t, seed=seed, figures=figures,
                        assess=False)
    td, tr = true_coefficients(truth.D, 2), true_coefficients(truth.R, 3)
    for m in POLY:
        coef = res["methods"][m]["coefficients"]
        if td is not None and tr is not None:
            res["methods"][m]["coefficient_error"] = coefficient_error(coef["D"] + coef["R"], td + tr)
    rollout_ties(res, ds, truth, x, t)
    res["key"], res["wall"] = key, time.perf_counter() - t0
    from fieldlab.discovery.pipeline import _jsonable

    path = Path(cells) / f"{key}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_jsonable(res)))
    os.replace(tmp, path)
    return res


def cell_key(case: str, regime: str, seed: int, runs: int = 1, noise: float | None = None) -> str:
    return f"{case}__{regime}__s{seed}" + (f"__r{runs}" if runs > 1 else "") + (f"__n{noise:.4g}" if noise is not None else "")


def rollout_ties(res: dict, ds, truth, x, t) -> None:
    """Validate the pairs that neural-symbolic-refit reports as fitting the data as well as its choice
    (its ``ties``) on the same unseen initial conditions: adds ``rollout_mean`` to each tie."""
    import sympy as sp

    from fieldlab.discovery import cases, pipeline, symbolic

    for tie in res["methods"].get("neural-symbolic-refit", {}).get("ties", []):
        D, R = (symbolic.lambdify(sp.sympify(tie[k], locals={"u": symbolic.U})) for k in ("D", "R"))
        found = {"tie": pipeline.Found("tie", D, R, tie["D"], tie["R"], tie["family"], 0.0)}
        metrics = pipeline.evaluate(found, ds, truth=truth, ics=cases.validation_ics(x), x=x, t=t).metrics["tie"]
        tie["rollout_mean"], tie["ErrR"] = metrics["rollout_mean"], metrics["ErrR"]


def coefficient_spread(case: str, seeds: int, regime: str = "noise1", runs: int = 1, noise: float | None = None,
                       refit: bool = True, workers: int = 1) -> dict[str, list[float]]:
    """Largest relative coefficient error of weak-poly (and with ``refit`` weak-poly-refit) for seeds
    0..seeds-1 on ``make_dataset(case, regime, seed, runs=runs, noise=noise)`` (inf: wrong terms), in
    ``workers`` processes. weak-poly is the pipeline's: BIC-selected terms, coefficients by
    bias-compensated GLS."""
    jobs = [(case, seed, regime, runs, noise, refit) for seed in range(seeds)]
    if workers > 1:
        with worker_pool(workers) as pool:
            per_seed = list(pool.map(_spread_seed, *zip(*jobs)))
    else:
        per_seed = [_spread_seed(*job) for job in jobs]
    return {m: [errs[m] for errs in per_seed] for m in per_seed[0]}


def _spread_seed(case: str, seed: int, regime: str, runs: int, noise: float | None, refit: bool) -> dict[str, float]:
    from fieldlab.discovery import cases, pipeline

    truth = cases.CASES[case]
    td, tr = true_coefficients(truth.D, 2), true_coefficients(truth.R, 3)
    ds = cases.make_dataset(case, regime, seed, runs=runs, noise=noise)
    fit, _ = pipeline.weak_poly_fit(ds.x, ds.t, ds.u)
    fits = [("weak-poly", fit)] + ([("weak-poly-refit", pipeline.refit_poly(fit, ds.x, ds.t, ds.u))] if refit else [])
    out = {}
    for m, f in fits:
        err = coefficient_error(list(f.d) + list(f.r), td + tr)
        out[m] = err["max_rel_nonzero"] if err["max_spurious"] == 0 else float("inf")
    return out


def run_cells(jobs: list[tuple], workers: int, out: Path) -> tuple[list[dict], list[dict]]:
    """Run :func:`run_cell` on each argument tuple of ``jobs`` in ``workers`` processes, printing each
    as it finishes; returns the new cells' results and the invocations recorded in ``out/runs.json``
    (this one appended when it computed cells: date, cells, wall time, workers, load averages)."""
    load, t0, results = os.getloadavg(), time.perf_counter(), []
    with worker_pool(workers) as pool:
        futures = [pool.submit(run_cell, *job) for job in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            r = fut.result()
            ms = r["methods"]
            print(f"[{i}/{len(jobs)}] {r['key']}: rollout " + ", ".join(
                f"{m} {ms[m]['metrics']['rollout_mean']:.2e}" for m in METHODS) + f" ({r['wall']:.0f} s)", flush=True)
            results.append(r)
    wall = time.perf_counter() - t0
    runs_file = Path(out) / "runs.json"
    invocations = json.loads(runs_file.read_text()) if runs_file.exists() else []
    if jobs:
        invocations.append({"date": time.strftime("%Y-%m-%d %H:%M"), "cells": len(jobs), "wall": wall, "workers": workers,
                            "load": [load[0], os.getloadavg()[0]]})
        runs_file.write_text(json.dumps(invocations, indent=1))
    return results, invocations


def _num(v) -> float:
    return float("inf") if v is None else float(v)


def _ms(values) -> str:
    v = np.asarray([np.inf if x is None else x for x in values], float)
    if not np.all(np.isfinite(v)):
        n = int(np.sum(~np.isfinite(v)))
        fin = v[np.isfinite(v)]
        return f"{n}/{len(v)} failed" + (f"; {np.mean(fin):.2g}" if len(fin) else "")
    return f"{np.mean(v):.2g} ± {np.std(v):.1g}" if len(v) > 1 else f"{v[0]:.2g}"


def spread_table(spread: dict, seeds: int) -> list[str]:
    """Markdown lines of the coefficient spread (:func:`coefficient_spread` per matched case)."""
    lines = [f"Polynomial coefficients at 1% noise over more seeds (seeds 0-{seeds - 1}, the two polynomial "
             "methods only; largest relative error over the true nonzero coefficients, a wrong set of terms counts as a miss):", "",
             "| case | method | median | max | seeds within 2% |", "| --- | --- | ---: | ---: | ---: |"]
    for c, by_method in spread.items():
        for m, errs in by_method.items():
            e = np.asarray(errs)
            lines.append(f"| {c} | {m} | {np.median(e):.2%} | {np.max(e):.2%} | {int(np.sum(e <= 0.02))}/{len(e)} |")
    return lines


def spread_only(args) -> str:
    """The document of ``--spread-only``: the coefficient spread alone, with the machine and the date."""
    load, t0 = os.getloadavg(), time.perf_counter()
    spread = {c: coefficient_spread(c, args.coef_seeds, workers=args.workers) for c in MATCHED if c in args.cases.split(",")}
    wall = time.perf_counter() - t0
    return "\n".join([
        f"# Closure discovery: polynomial coefficients over {args.coef_seeds} seeds", "",
        "Produced by `benchmarks/discovery_suite.py --spread-only` (the command below); do not edit by hand. The "
        "coefficient table that the full suite writes into [discovery.md](discovery.md), computed alone: weak-poly is the pipeline's (BIC-selected "
        "terms, bias-compensated GLS coefficients), weak-poly-refit starts from it.", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}: {os.cpu_count()} CPU cores, "
        f"{platform.platform()}, Python {platform.python_version()}, CPU only; {wall / 60:.1f} min with {args.workers} "
        f"workers, load average {load[0]:.1f} at start and {os.getloadavg()[0]:.1f} at end.", "",
        "```", f"python benchmarks/discovery_suite.py --spread-only --coef-seeds {args.coef_seeds} --workers {args.workers} "
        f"--doc {args.doc}", "```", ""] + spread_table(spread, args.coef_seeds)) + "\n"


def summarise(results: list[dict], args) -> str:
    from fieldlab.discovery.symbolic import TIE

    by = {}
    for r in results:
        d = r["data"]
        by.setdefault((d["case"], d["regime"]), []).append(r)

    def metric(rs, m, k):
        return [r["methods"][m]["metrics"].get(k) for r in rs]

    lines = ["# Closure discovery: results", "",
             "Produced by `benchmarks/discovery_suite.py` (the command below); do not edit by hand. How the methods work: "
             "`fieldlab.discovery` (module docstrings) and the README. Comparison with PySINDy's weak SINDy: "
             "[discovery-pysindy.md](discovery-pysindy.md).", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.node() or 'this machine'}: {os.cpu_count()} CPU cores, "
             f"{platform.platform()}, Python {platform.python_version()}, CPU only (shared machine: load averages per run below).",
             "", "Command:", "", "```",
             f"python benchmarks/discovery_suite.py --seeds {args.seeds} --workers {args.workers} --out {args.out}"
             + (f" --coef-seeds {args.coef_seeds}" if args.coef_seeds != 20 else "")
             + (f" --cases {args.cases}" if args.cases != ",".join(CASES) else "")
             + (f" --regimes {args.regimes}" if args.regimes != ",".join(REGIMES) else "")
             + (f" --doc {args.doc}" if args.doc != "docs/results/discovery.md" else ""),
             "```", "",
             f"{len(results)} cells ({len(args.cases.split(','))} cases x {len(args.regimes.split(','))} regimes x {args.seeds} seeds), "
             f"{args.workers} worker processes (one thread each). Runs that computed cells (`{args.out}/runs.json`): "
             + "; ".join(f"finished {r['date']}: {r['cells']} cells in {r['wall'] / 60:.1f} min"
                         + (f", load average {r['load'][0]:.1f} at start and {r['load'][1]:.1f} at end" if "load" in r else "")
                         + (f" ({r['note']})" if r.get("note") else "")
                         for r in args.runs)
             + (f"; {sum(r['cells'] for r in args.runs)} cells in {sum(r['wall'] for r in args.runs) / 60:.1f} min in all"
                if len(args.runs) > 1 else "")
             + f". The per-cell mean is {np.mean([r['wall'] for r in results]):.1f} s.", "",
             "Setup: see `fieldlab.discovery.cases` (x in [0, 1], zero flux, t in [0, 3], 101 x 101 observations of a "
             "401-node solution; noise = level x std of the clean data). Rollouts: the discovered closures re-simulate "
             "four initial conditions never used for training (`bump`, `front`, `cosine`, `two_bumps`) over [0, 3] "
             "on the 401-node grid; the error is the relative L2 over space-time against the true closure's "
             "trajectory, averaged over the four. ErrD, ErrR: relative L2 over the observed range of u. "
             "BIR = Err(neural-symbolic) / Err(neural); the same ratio for neural-symbolic-refit shows how much refitting on "
             "the data repairs.", ""]
    # targets
    lines += ["## Targets", ""]
    lines += ["| target | case | measured (mean over seeds, [min, max]) | met |", "| --- | --- | --- | --- |"]
    for c in MATCHED:
        rs = by.get((c, "noise1"), [])
        if not rs:
            continue
        for m in ("weak-poly", "weak-poly-refit"):
            ce = [r["methods"][m]["coefficient_error"]["max_rel_nonzero"] for r in rs]
            ro = [_num(v) for v in metric(rs, m, "rollout_mean")]
            lines.append(f"| {m} coefficients within 2% at 1% noise | {c} | {np.mean(ce):.2%} [{min(ce):.2%}, {max(ce):.2%}] | "
                         f"{'yes' if max(ce) <= 0.02 else 'no'} |")
            lines.append(f"| {m} rollout <= 1e-2 at 1% noise | {c} | {np.mean(ro):.2e} [{min(ro):.2e}, {max(ro):.2e}] | "
                         f"{'yes' if max(ro) <= 1e-2 else 'no'} |")
    for c in MISMATCHED:
        rs = by.get((c, "noise1"), [])
        if not rs:
            continue
        for label, polys in (("best polynomial (strong-poly, weak-poly)", ISSUE_POLY), ("weak-poly-refit", ("weak-poly-refit",))):
            best = [min(_num(r["methods"][m]["metrics"]["rollout_mean"]) for m in polys) for r in rs]
            for m in SYMBOLIC:
                ns = [_num(v) for v in metric(rs, m, "rollout_mean")]
                ratio = [b / n for b, n in zip(best, ns)]
                if polys == ISSUE_POLY:
                    lines.append(f"| {m} rollout <= 2e-2 at 1% noise | {c} | {np.mean(ns):.2e} [{min(ns):.2e}, {max(ns):.2e}] | "
                                 f"{'yes' if max(ns) <= 2e-2 else 'no'} |")
                lines.append(f"| {label} rollout / {m} rollout >= 3 | {c} | {np.mean(ratio):.2f} "
                             f"[{min(ratio):.2f}, {max(ratio):.2f}] | {'yes' if min(ratio) >= 3 else 'no'} |")
    spread = getattr(args, "spread", {})
    if spread:
        lines += [""] + spread_table(spread, args.coef_seeds)
    lines += ["", "## Rollout relative L2 on unseen initial conditions (mean ± std over seeds)", "",
              "| case | regime | " + " | ".join(METHODS) + " |", "| --- | --- | " + " | ".join("---:" for _ in METHODS) + " |"]
    for (c, g), rs in sorted(by.items(), key=lambda kv: (CASES.index(kv[0][0]), REGIMES.index(kv[0][1]))):
        lines.append(f"| {c} | {g} | " + " | ".join(_ms(metric(rs, m, "rollout_mean")) for m in METHODS) + " |")
    for k in ("ErrD", "ErrR"):
        lines += ["", f"## {k}: relative L2 error of {k[-1]}(u) over the observed range (mean ± std over seeds)", "",
                  "| case | regime | " + " | ".join(METHODS) + " |", "| --- | --- | " + " | ".join("---:" for _ in METHODS) + " |"]
        for (c, g), rs in sorted(by.items(), key=lambda kv: (CASES.index(kv[0][0]), REGIMES.index(kv[0][1]))):
            lines.append(f"| {c} | {g} | " + " | ".join(_ms(metric(rs, m, k)) for m in METHODS) + " |")
    for m in SYMBOLIC:
        what = ("Bias inheritance ratio (neural-symbolic / neural)" if m == "neural-symbolic" else
                "Error ratio of the refitted formulas to the network (neural-symbolic-refit / neural)")
        lines += ["", f"## {what}, mean ± std over seeds, and chosen families", "",
                  "| case | regime | BIR_D | BIR_R | families chosen (D / R: count) |", "| --- | --- | ---: | ---: | --- |"]
        for (c, g), rs in sorted(by.items(), key=lambda kv: (CASES.index(kv[0][0]), REGIMES.index(kv[0][1]))):
            fam = {}
            for r in rs:
                f = r["methods"][m]["family"]
                fam[f"{f['D']} / {f['R']}"] = fam.get(f"{f['D']} / {f['R']}", 0) + 1
            lines.append(f"| {c} | {g} | {_ms(metric(rs, m, 'BIR_D'))} | {_ms(metric(rs, m, 'BIR_R'))} | "
                         + ", ".join(f"{k}: {v}" for k, v in fam.items()) + " |")
    lines += ["", "## Pairs the data do not tell apart (neural-symbolic-refit)", "",
              f"Cells where another polished pair is within {TIE:g} in BIC of the chosen one (`ties` in closures.json): such a "
              "difference is no real evidence for either. Each is validated like the chosen pair (rollout on the unseen "
              "initial conditions; ratio: best of strong-poly and weak-poly over it). Forecast: relative L2 difference "
              "between the chosen pair's and the tied pair's forecasts from the estimated initial condition at t = 3 "
              "(the end of the data) and t = 6.", "",
              "| cell | chosen D / R | rollout | ratio | tied D / R | BIC + | weight | ErrR | rollout | ratio | forecast at 3, 6 |",
              "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    n_tied = 0
    for r in sorted(results, key=lambda r: (CASES.index(r["data"]["case"]), REGIMES.index(r["data"]["regime"]), r["data"]["seed"])):
        ref = r["methods"]["neural-symbolic-refit"]
        ties = ref.get("ties") or []
        n_tied += bool(ties)
        best = min(_num(r["methods"][m]["metrics"]["rollout_mean"]) for m in ISSUE_POLY)
        own = _num(ref["metrics"]["rollout_mean"])
        for tie in ties:
            roll, fc = _num(tie.get("rollout_mean")), tie["forecast"]
            lines.append(f"| {r['key']} | {ref['family']['D']} / {ref['family']['R']} | {own:.2e} | {best / own:.2f} | "
                         f"{tie['family']['D']} / {tie['family']['R']} | {tie['delta']:.1f} | {tie['weight']:.2f} | "
                         f"{_num(tie.get('ErrR')):.2%} | {roll:.2e} | {best / roll:.2f} | "
                         f"{fc['at_end']:.1e}, {fc['at_horizon']:.1e} |")
    lines += ["", f"{n_tied} of {len(results)} cells have a tie.", ""]
    lines += ["", "## Polynomial coefficients (matched cases): largest relative error over the true nonzero "
              "coefficients, and largest spurious coefficient (weak-poly-refit keeps weak-poly's terms)", "",
              "| case | regime | weak-poly max rel. error | weak-poly-refit max rel. error | max spurious |",
              "| --- | --- | ---: | ---: | ---: |"]
    for (c, g), rs in sorted(by.items(), key=lambda kv: (CASES.index(kv[0][0]), REGIMES.index(kv[0][1]))):
        if c in MATCHED:
            ce = [r["methods"]["weak-poly"]["coefficient_error"] for r in rs]
            cr = [r["methods"]["weak-poly-refit"]["coefficient_error"] for r in rs]
            lines.append(f"| {c} | {g} | {_ms([e['max_rel_nonzero'] for e in ce])} | {_ms([e['max_rel_nonzero'] for e in cr])} | "
                         f"{_ms([e['max_spurious'] for e in ce])} |")
    lines += ["", "Per-cell results (formulas, every metric, rollout errors against time): "
              f"`{args.out}/cells/*.json`; figures for seed 0 of every case and regime in `{args.out}/cells/<case>__<regime>__s0/`.", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default="discovery-suite")
    ap.add_argument("--doc", default="docs/results/discovery.md")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--regimes", default=",".join(REGIMES))
    ap.add_argument("--coef-seeds", type=int, default=20,
                    help="seeds for the weak-poly coefficient spread of the matched cases at 1%% noise (0: skip)")
    ap.add_argument("--spread-only", action="store_true",
                    help="compute only the coefficient spread and write it to --doc (then default docs/results/discovery-spread.md)")
    args = ap.parse_args(argv)
    if args.spread_only:
        args.doc = "docs/results/discovery-spread.md" if args.doc == ap.get_default("doc") else args.doc
        text = spread_only(args)
        Path(args.doc).write_text(text)
        print(text)
        return 0
    cells = Path(args.out) / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    todo, results = [], []
    for c in args.cases.split(","):
        for g in args.regimes.split(","):
            for s in range(args.seeds):
                path = cells / f"{c}__{g}__s{s}.json"
                if path.exists():
                    results.append(json.loads(path.read_text()))
                else:
                    todo.append((c, g, s))
    print(f"{len(results)} cells done, {len(todo)} to run with {args.workers} workers", flush=True)
    new, args.runs = run_cells([(c, g, s, str(cells), s == 0) for c, g, s in todo], args.workers, Path(args.out))
    results += new
    args.spread = {c: coefficient_spread(c, args.coef_seeds, workers=args.workers) for c in MATCHED if c in args.cases.split(",")} if args.coef_seeds else {}
    text = summarise(results, args)
    Path(args.doc).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
