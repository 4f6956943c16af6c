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
are inflated by the load, recorded in the page). Then the assessment (:mod:`fieldlab.discovery.systems_assess`):
every validation forecast's spread, excursion (joint in the state space for two species) and flag against
its actual error, and how much of the true laws
the ensemble bands hold on the supported ranges.
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
    a = result["assessment"]
    return {"flags": [{"ic": k, "spread": c["spread"], "excursion": c["excursion"],
                       "range_excursion": c["range_excursion"], "flag": c["flag"], "actual": c["actual"],
                       "why": c["why"]} for k, c in a["forecasts"].items()],
            "probes": probe_flags(case, ds),
            "band": band_coverage(case, a), "assess_s": a["seconds"], "members": a["members"],
            "case": case, "noise": noise, "seed": seed, "method": method,
            "coef_D": max(e["D"] for e in mt["coefficients"]), "coef_R": max(e["R"] for e in mt["coefficients"]),
            "max_true": max(e["max_true"] for e in mt["coefficients"]),
            "spurious": sum(len(e["spurious"]) for e in mt["coefficients"]),
            "forecast_mean": float(np.mean(forecasts)), "forecast_max": float(np.max(forecasts)),
            "fit_s": r["seconds"], "cell_s": time.perf_counter() - t0,
            "laws": "; ".join(f"D_{k} = {v['D']}, R_{k} = {v['R']}" for k, v in laws.items())}


def probe_flags(case: str, ds) -> list[dict]:
    """The assessment's flags for the four probe initial conditions of a data file
    (:func:`fieldlab.discovery.systems_assess.probe_ics`, shapes mapped onto each species' observed range), and the
    actual error of the chosen closure's forecast over the data's span against the true system, both simulated on
    the data grid."""
    from fieldlab.discovery import system_cases, systems_assess
    from fieldlab.discovery.coupled import simulate_system
    from fieldlab.discovery.species import fit_system

    fit = fit_system(ds)  # the weak-poly method's fit
    axes = (ds.x,) if ds.y is None else (ds.x, ds.y)
    sup = systems_assess.support(ds)
    probes = systems_assess.probe_ics(ds, sup)
    check = systems_assess.forecast_check(fit, systems_assess.ensemble(fit, ds), probes, axes, ds.t, sup,
                                          observed=systems_assess.observed_states(ds))
    out = []
    for k, w0 in probes.items():
        c = check[k]
        try:
            true = system_cases.simulate_case(case, w0, axes, ds.t)
            mine = simulate_system([law.D for law in fit.laws], fit.reaction, w0, axes, ds.t)
            actual = float(np.linalg.norm(mine - true) / np.linalg.norm(true))
        except Exception:  # a failed simulation: the forecast is as wrong as it gets
            actual = float("inf")
        out.append({"ic": k, "spread": c["spread"], "excursion": c["excursion"],
                    "range_excursion": c["range_excursion"], "flag": c["flag"], "actual": actual, "why": c["why"]})
    return out


def band_coverage(case: str, a: dict) -> dict:
    """Shares of the true laws inside the assessment's bands, worst species: ``D`` on the grid points within its
    supported range, ``R`` at the band's observed states whose every species lies within its supported range; and
    the largest excess outside the band relative to the largest ``|true|`` (``D_out``, ``R_out``)."""
    from fieldlab.discovery import system_cases

    truth = system_cases.SYSTEM_CASES[case]
    states = np.array(a["band_states"])
    D_true, R_true = truth.D_fns(), truth.R_fn()(states)
    sup = a["support"]
    inside = np.all([(states[i] >= sup[k]["R"][0]) & (states[i] <= sup[k]["R"][1]) for i, k in enumerate(sup)], 0)
    out = {"D": 1.0, "R": 1.0, "D_out": 0.0, "R_out": 0.0}
    for i, (k, b) in enumerate(a["bands"].items()):
        s = np.array(b["s"])
        on = (s >= sup[k]["D"][0]) & (s <= sup[k]["D"][1])
        for key, true, mask in (("D", D_true[i](s), on), ("R", R_true[i], inside)):
            lo, hi = np.array(b[f"{key}_lo"]), np.array(b[f"{key}_hi"])
            out[key] = min(out[key], float(np.mean(((lo <= true) & (true <= hi))[mask])))
            excess = np.maximum(lo - true, true - hi)[mask]
            out[f"{key}_out"] = max(out[f"{key}_out"], float(max(excess.max(), 0.0) / np.max(np.abs(true))))
    return out


def flag_table(rows: list[dict], key: str) -> list[str]:
    """The markdown table of the forecast checks ``r[key]`` of every row, then a summary line and a blank one."""
    lines = ["", "| case | noise | seed | initial condition | spread | excursion | range excursion | flagged | "
             "actual error | right |", "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |"]
    for r in rows:
        for f in r[key]:
            right = f["flag"] or f["actual"] <= 1e-2
            lines.append(f"| {r['case']} | {r['noise']:.0%} | {r['seed']} | {f['ic']} | {f['spread']:.2e} | "
                         f"{f['excursion']:.3f} | {f['range_excursion']:.3f} | "
                         f"{'yes: ' + f['why'] if f['flag'] else 'no'} | {f['actual']:.2e} | "
                         f"{'yes' if right else '**no**'} |")
    flags = [f for r in rows for f in r[key]]
    wrong = sum(1 for f in flags if not f["flag"] and f["actual"] > 1e-2)
    alarms = sum(1 for f in flags if f["flag"] and f["actual"] <= 1e-2)
    return lines + ["", f"{len(flags)} forecasts, {sum(f['flag'] for f in flags)} flagged ({alarms} of them with an "
                    f"actual error within 1e-2), {wrong} unflagged with an actual error above 1e-2; the largest actual "
                    f"error {max(f['actual'] for f in flags):.2e}.", ""]


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
    from fieldlab.discovery.systems_assess import EXCURSION_QUANTILE, FLAG_EXCURSION, FLAG_SPREAD

    lines += ["", "## Does it generalise? Flags against the actual forecast error", "",
              "For every cell, the assessment of `fieldlab.discovery.systems_assess` (in `closures.json`'s "
              "`assessment`): the chosen closure's 8-member ensemble (5 test-function sets, 3 parametric bootstrap "
              "resamples) forecasts each validation initial condition on the data grid; spread: the largest relative "
              "L2 distance of a member's forecast from the members' mean over the data's span; excursion "
              "(`systems_assess.joint_excursion`): with two species, each species scaled by its observed range, the "
              f"{EXCURSION_QUANTILE:.0%} quantile over the chosen forecast's nodes and times of the distance from its "
              "state (u, v) to the nearest observed state; with one species, the largest overshoot of its observed "
              "range (share of it); range excursion: the largest overshoot of a species' observed range (share of "
              "it), for comparison (the definition before 2026-12-07, not used for the flag). A forecast is flagged "
              f"when the spread exceeds {FLAG_SPREAD:g} or the excursion {FLAG_EXCURSION:g}. Actual: the relative L2 "
              "error of the "
              "chosen closure's forecast against the true system on the case's fine grid. A flag is *right* unless the "
              "forecast is unflagged and its actual error exceeds 1e-2."] + flag_table(rows, "flags") + [
              "The same for the four probe initial conditions that `fieldlab discover` checks on a data file without "
              "a truth (`systems_assess.probe_ics`: the shapes of the 1-D validation initial conditions mapped onto "
              "each species' observed range, along the diagonal in 2-D, the second species shifted by one shape); "
              "here the actual error is that of the chosen closure's forecast over the data's span against the true "
              "system, both simulated on the data grid."] + flag_table(rows, "probes") + [
              "Ensemble bands against the true laws: the share of the supported range (D) or of the observed states "
              "inside every species' supported range (R) where the true law lies inside the band (worst species), the "
              "largest excess outside the band relative to the largest true value, "
              "and the assessment's wall time.", "",
              "| case | noise | seed | members | D inside | D excess | R inside | R excess | assessment [s] |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        b = r["band"]
        lines.append(f"| {r['case']} | {r['noise']:.0%} | {r['seed']} | {r['members']} | {b['D']:.0%} | "
                     f"{b['D_out']:.1e} | {b['R']:.0%} | {b['R_out']:.1e} | {r['assess_s']:.1f} |")
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
