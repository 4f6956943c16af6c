"""Is the case_exp tie at 1 % noise the noise of the initial condition? Writes docs/results/discovery-start.md.

    python benchmarks/discovery_start.py [--case case_exp] [--regime noise1] [--seeds 0,1,2] [--workers 2]
        [--doc docs/results/discovery-start.md]

The output-error fits (``weak-poly-refit``, ``neural-symbolic-refit``) re-simulate the data from the
first snapshot plus 8 smooth corrections fitted with the laws (:func:`fieldlab.discovery.symbolic.polish_pair`),
so the snapshot's noise stays in the start. This script reruns every method with the base of that
start replaced, everything else unchanged:

- ``snapshot``: the pipeline as it is (the noisy first snapshot);
- ``projected``: the first snapshot projected on the first K zero-flux cosines
  (:func:`~fieldlab.discovery.validate.start_modes`), K chosen by Stein's unbiased risk estimate with the
  noise level estimated from the data (:func:`~fieldlab.discovery.poly.noise_sigma`): a denoiser a user could run;
- ``oracle``: the clean first snapshot (not available outside a benchmark).

It does so by replacing :func:`fieldlab.discovery.validate.simulation_start` for the data's own first
snapshot only (the unseen initial conditions of the validation are untouched). Reported per seed: the
pair chosen by neural-symbolic-refit, how far behind in BIC the true pair (exp-saturation D, exp R) is
among the polished pairs (0: chosen), rollouts on the unseen initial conditions, and the ratio of the best issue polynomial
(strong-poly, weak-poly) to neural-symbolic-refit.
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
from _machine import cpu_model, worker_pool  # noqa: E402
from discovery_suite import ISSUE_POLY  # noqa: E402

VARIANTS = ("snapshot", "projected", "oracle")
TRUE_PAIR = {"case_exp": ("exp-saturation", "exp"), "case_c": ("hill", "michaelis-menten")}


def projected(x: np.ndarray, first: np.ndarray, sigma: float) -> tuple[np.ndarray, int]:
    """``first`` projected on K zero-flux cosines, K minimising ``||first - P_K first||^2 + 2 sigma^2 K``."""
    from fieldlab.discovery.validate import start_modes

    best = None
    for k in range(8, len(first) // 2):
        basis = start_modes(x, k)
        fit = basis @ np.linalg.lstsq(basis, first, rcond=None)[0]
        risk = float(np.sum((first - fit) ** 2) + 2 * sigma**2 * k)
        if best is None or risk < best[0]:
            best = (risk, k, fit)
    return best[2], best[1]


def run(case: str, regime: str, seed: int, variant: str) -> dict:
    from fieldlab.discovery import cases, pipeline, poly, validate

    ds = cases.make_dataset(case, regime, seed)
    noisy, clean = ds.u[0, 0].copy(), np.asarray(cases._clean(case)[0], float)
    sigma, k = poly.noise_sigma(ds.u), None
    base = {"snapshot": noisy, "oracle": clean}.get(variant)
    if variant == "projected":
        base, k = projected(ds.x, noisy, sigma)
    original = validate.simulation_start

    def start(x, first, bc="neumann", min_nodes=301):  # first: (runs, nx), here one run
        first = np.asarray(first)
        own = first.shape == (1, noisy.size) and np.array_equal(first[0], noisy)
        return original(x, base[None] if own else first, bc, min_nodes)

    x = cases.fine_grid()
    _, t = cases.observation_grid()
    t0 = time.perf_counter()
    validate.simulation_start = start
    try:
        res = pipeline.run_discovery(ds, None, truth=cases.CASES[case], ics=cases.validation_ics(x), x=x, t=t,
                                     seed=seed, figures=False)
    finally:
        validate.simulation_start = original
    ms = res["methods"]
    rollout = {m: float("inf") if ms[m]["metrics"]["rollout_mean"] is None else ms[m]["metrics"]["rollout_mean"]
               for m in ms}
    nsr = ms["neural-symbolic-refit"]
    polished = [row for row in nsr["candidates"] if row.get("polished")]
    best = min(row["bic"] for row in polished)
    true = [row["bic"] - best for row in polished if (row["D"], row["R"]) == TRUE_PAIR.get(case)]
    return {"case": case, "seed": seed, "variant": variant, "modes": k,
            "start_error": float(np.sqrt(np.mean((base - clean) ** 2)) / sigma),
            "family": nsr["family"], "true_behind": true[0] if true else None, "ErrR": nsr["metrics"]["ErrR"],
            "rollout": rollout, "ratio": min(rollout[m] for m in ISSUE_POLY) / rollout["neural-symbolic-refit"],
            "wall": time.perf_counter() - t0}


def summarise(rows: list[dict], args, wall: float, load) -> str:
    lines = ["# Does the noise of the initial condition decide the case_exp tie?", "",
             "Produced by `benchmarks/discovery_start.py` (the command below); do not edit by hand. What the "
             "variants are: the script's docstring.", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()}: {os.cpu_count()} CPU cores ({cpu_model()}), "
             f"Python {platform.python_version()}, CPU only; {len(rows)} runs in {wall / 60:.1f} min with "
             f"{args.workers} workers, load average {load[0]:.1f} at start and {load[1]:.1f} at end.", "",
             "```", f"python benchmarks/discovery_start.py --case {args.case} --regime {args.regime} "
             f"--seeds {args.seeds} --workers {args.workers}", "```", "",
             "start error: RMS error of the start's base against the clean first snapshot, in units of the "
             "estimated noise. true pair behind: BIC of the true pair minus the chosen pair's, among the pairs "
             "polished on the data (0: chosen; blank: not polished). Rollouts: relative L2 on the four unseen "
             "initial conditions, mean.", "",
             "| seed | start | modes | start error | D, R chosen | true pair behind | ErrR | weak-poly-refit | "
             "neural-symbolic-refit | best issue polynomial / neural-symbolic-refit |",
             "| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in sorted(rows, key=lambda r: (r["seed"], VARIANTS.index(r["variant"]))):
        behind = "" if r["true_behind"] is None else f"{r['true_behind']:.2f}"
        lines.append(f"| {r['seed']} | {r['variant']} | {r['modes'] or ''} | {r['start_error']:.2f} | "
                     f"{r['family']['D']}, {r['family']['R']} | {behind} | {r['ErrR']:.2e} | "
                     f"{r['rollout']['weak-poly-refit']:.2e} | {r['rollout']['neural-symbolic-refit']:.2e} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case_exp")
    ap.add_argument("--regime", default="noise1")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--doc", default="docs/results/discovery-start.md")
    args = ap.parse_args(argv)
    jobs = [(args.case, args.regime, int(s), v) for s in args.seeds.split(",") for v in VARIANTS]
    load, t0 = os.getloadavg(), time.perf_counter()
    with worker_pool(args.workers) as pool:
        rows = []
        for r in pool.map(run, *zip(*jobs)):
            print(f"seed {r['seed']} {r['variant']}: {r['family']}, true pair behind {r['true_behind']}, "
                  f"ratio {r['ratio']:.2f} ({r['wall']:.0f} s)", flush=True)
            rows.append(r)
    text = summarise(rows, args, time.perf_counter() - t0, (load[0], os.getloadavg()[0]))
    Path(args.doc).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
