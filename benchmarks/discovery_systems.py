"""2-D and two-species closure discovery: coefficient and forecast errors; writes docs/results/discovery-systems.md.

    python benchmarks/discovery_systems.py [--cases fisher2d,predator_prey,brusselator,schnakenberg2d] [--noise 0,0.01]
        [--seeds 3] [--runs 1] [--doc docs/results/discovery-systems.md]

Every cell (case, noise level, seed) is ``fieldlab discover --case CASE`` in code: the built-in data
set of :mod:`fieldlab.discovery.system_cases` (one run by default), the registered method that
supports it (``weak-poly-2d`` or ``weak-poly-species``), and validation by re-simulation of the
case's unseen initial conditions on its fine grid (:func:`fieldlab.discovery.systems.run_system_discovery`).
Clean data (noise 0) do not depend on the seed: one seed is run. Reported per cell: the coefficient
errors of ``D`` and ``R`` (relative L2 over the union of the terms, worst species), the largest
relative error of a true coefficient, the terms found that the truth lacks, the mean and worst
forecast relative L2, and the seconds of the fit and of the whole cell (shared machine: wall times
are inflated by the load, recorded in the page).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402


def cell(case: str, noise: float, seed: int, runs: int) -> dict:
    from fieldlab.discovery import system_cases
    from fieldlab.discovery.systems import run_system_discovery

    t0 = time.perf_counter()
    ds = system_cases.make_system_dataset(case, "clean", seed, runs=runs, noise=noise)
    axes = system_cases.fine_axes(case)
    result = run_system_discovery(ds, None, truth=system_cases.SYSTEM_CASES[case],
                                  ics=system_cases.system_ics(case, axes, "validation"), x=axes)
    (method, r), = result["methods"].items()
    mt = r["metrics"]
    forecasts = [c["rel_l2"] for c in mt["forecast"].values()]
    laws = r.get("species") or {"u": {"D": r["D"], "R": r["R"]}}
    return {"case": case, "noise": noise, "seed": seed, "method": method,
            "coef_D": max(e["D"] for e in mt["coefficients"]), "coef_R": max(e["R"] for e in mt["coefficients"]),
            "max_true": max(e["max_true"] for e in mt["coefficients"]),
            "spurious": sum(len(e["spurious"]) for e in mt["coefficients"]),
            "forecast_mean": float(np.mean(forecasts)), "forecast_max": float(np.max(forecasts)),
            "fit_s": r["seconds"], "cell_s": time.perf_counter() - t0,
            "laws": "; ".join(f"D_{k} = {v['D']}, R_{k} = {v['R']}" for k, v in laws.items())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="fisher2d,predator_prey,brusselator,schnakenberg2d")
    p.add_argument("--noise", default="0,0.01")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--doc", default="docs/results/discovery-systems.md")
    args = p.parse_args()
    load, start, t0 = os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
    rows = []
    for case in args.cases.split(","):
        for noise in (float(v) for v in args.noise.split(",")):
            for seed in range(args.seeds if noise > 0 else 1):
                rows.append(cell(case, noise, seed, args.runs))
                r = rows[-1]
                print(f"{case} noise {noise:g} seed {seed}: coef D {r['coef_D']:.3g} R {r['coef_R']:.3g}, "
                      f"forecast {r['forecast_mean']:.3g} ({r['cell_s']:.1f} s)", flush=True)
    lines = ["# Discovery: 2-D data and two-species systems", "",
             f"Measured {start} on {cpu_model()}, {os.cpu_count()} cores (shared with other work; load average "
             f"{load:.1f} at start, {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}; "
             f"{(time.perf_counter() - t0) / 60:.1f} min. Command: `python benchmarks/discovery_systems.py"
             f" --cases {args.cases} --noise {args.noise} --seeds {args.seeds} --runs {args.runs}`.", "",
             "Each row: the built-in case (`fieldlab.discovery.system_cases`, one run), observed with Gaussian noise "
             "at the given share of each species' standard deviation, the method that supports it, and forecasts of "
             "the case's unseen initial conditions by re-simulation on its fine grid. Coefficient errors: relative L2 "
             "over the union of the found and true terms (worst species); max true: the largest relative error of a "
             "true coefficient; spurious: terms found that the truth lacks. Wall times are inflated by the shared "
             "machine's load.", "",
             "| case | noise | seed | method | coef. error D | coef. error R | max true | spurious | forecast mean | "
             "forecast worst | fit [s] | cell [s] |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['noise']:.0%} | {r['seed']} | {r['method']} | {r['coef_D']:.2e} | "
                     f"{r['coef_R']:.2e} | {r['max_true']:.2e} | {r['spurious']} | {r['forecast_mean']:.2e} | "
                     f"{r['forecast_max']:.2e} | {r['fit_s']:.2f} | {r['cell_s']:.1f} |")
    lines += ["", "Laws found (first seed of each case and noise level):", ""]
    seen = set()
    for r in rows:
        if (r["case"], r["noise"]) not in seen:
            seen.add((r["case"], r["noise"]))
            lines.append(f"- {r['case']}, noise {r['noise']:.0%}: `{r['laws']}`")
    Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
    Path(args.doc).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
