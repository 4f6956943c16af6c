"""Do discovered closures generalise, and does the report say when they do not?

    python benchmarks/discovery_generalisation.py [--cases case_allee,case_porous,case_sigmoid,case_sign,case_a]
        [--seeds 1] [--methods weak-poly,weak-poly-refit,neural-symbolic-refit] [--network-seeds 0]
        [--out discovery-generalisation] [--doc docs/results/discovery-generalisation.md]

For every case and seed: one observed run at 1 % noise (``fieldlab.discovery.cases.make_dataset(case,
"noise1", seed)``), the methods run, held-out validation chooses among their closures
(:mod:`fieldlab.discovery.assess`), and the chosen closure forecasts the four unseen initial
conditions of the case (``validation_ics``) over ``[0, 3]`` on the 401-node grid; its *actual*
error is the relative L2 over space-time against the true closure's forecast. The assessment flags a
forecast as not supported by the data from the data alone (ensemble spread, excursion from the
observed range). Target: every forecast whose actual error exceeds 1e-2 is flagged. ``--network-seeds K``
adds to the ensemble the neural-symbolic closures re-run with ``K`` other network seeds
(:func:`fieldlab.discovery.assess.network_seed_members`; minutes per seed). Each cell's
result is cached in ``--out`` (a JSON file per cell), so an interrupted run resumes. Writes the
table to ``--doc`` with the machine and the date.
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

TARGET = 1e-2


def cell(case: str, seed: int, methods: str, regime: str = "noise1", network_seeds: int = 0) -> dict:
    from fieldlab.discovery import cases
    from fieldlab.discovery.pipeline import run_discovery

    ds = cases.make_dataset(case, regime, seed)
    x = cases.fine_grid()
    _, t = cases.observation_grid()
    t0 = time.perf_counter()
    res = run_discovery(ds, None, methods=methods, truth=cases.CASES[case], ics=cases.validation_ics(x), x=x, t=t,
                        seed=seed, figures=False, network_seeds=network_seeds)
    a = res["assessment"]
    chosen = a["chosen"]
    return {"case": case, "seed": seed, "regime": regime, "seconds": time.perf_counter() - t0, "chosen": chosen,
            "D": res["methods"][chosen]["D"], "R": res["methods"][chosen]["R"], "holdout": a["holdout"]["errors"],
            "support": a["support"], "bands": a["bands"] and {k: a["bands"][k] for k in ("D_width", "R_width")},
            "experiment": a["experiment"], "members": a["members"], "network_seeds": a.get("network_seeds"),
            "rollouts": {m: r["metrics"]["rollout"] for m, r in res["methods"].items()},
            "forecasts": {n: {k: c.get(k) for k in ("spread", "spread_long", "excursion", "flag", "why", "actual",
                                                    "member_spreads", "member_to_chosen")}
                          for n, c in a["forecasts"].items()}}


def _pct(bands, key) -> str:
    return "- (no member)" if not bands else f"{bands[key]:.1%}"


def _g(v) -> str:
    return "failed" if v is None or not np.isfinite(v) else f"{v:.2e}"


def write_doc(rows: list[dict], args, wall: float, doc: Path) -> None:
    from fieldlab.discovery import assess

    for r in rows:  # the flags of the library's current thresholds, from the measured spread and excursion
        for c in r["forecasts"].values():
            if c.get("member_spreads") is not None and np.isfinite(c["spread"]):
                c["spread"] = assess.spread_statistic(c["member_spreads"])
            c["flag"] = bool(assess.flag_reasons(c["spread"], c["excursion"]))
    bad = [(r, n, c) for r in rows for n, c in r["forecasts"].items() if c["actual"] is None or c["actual"] > TARGET]
    missed = [(r, n) for r, n, c in bad if not c["flag"]]
    flagged = [(r, n, c) for r in rows for n, c in r["forecasts"].items() if c["flag"]]
    false_alarms = [(r, n) for r, n, c in flagged if c["actual"] is not None and c["actual"] <= TARGET]
    total = sum(len(r["forecasts"]) for r in rows)
    lines = [
        f"# Closure discovery: does it generalise? ({args.regime}"
        + (f", {args.network_seeds} network seeds)" if args.network_seeds else ")"), "",
        "Produced by `benchmarks/discovery_generalisation.py` (the command below); do not edit by hand. How the "
        "assessment works: [the discovery pipeline](../concepts/discovery.md#does-it-generalise) and "
        "`fieldlab.discovery.assess`.", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()}: {os.cpu_count()} CPU cores ({cpu_model()}), "
        f"{platform.platform()}, Python {platform.python_version()}, CPU only, a machine shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} when the page was written); {len(rows)} cells, "
        f"{sum(r['seconds'] for r in rows) / 60:.1f} min of discovery and assessment in all (the sum of the cells' "
        "times, cached cells included).", "",
        "Command:", "", "```",
        f"python benchmarks/discovery_generalisation.py --cases {','.join(args.cases)} --seeds {args.seeds} "
        f"--methods {args.methods} --regime {args.regime}"
        + (f" --network-seeds {args.network_seeds}" if args.network_seeds else ""), "```", "",
        f"Every case: one run observed in the regime `{args.regime}` (`fieldlab.discovery.cases.REGIMES`), seeds 0-{args.seeds - 1}"
        + (" (fewer than the suite's three)" if args.seeds < 3 else "") + ". Methods: " + ", ".join(f"`{m}`" for m in args.methods.split(","))
        + "; held-out validation (the last quarter of the time window) chooses among them. The chosen closure "
        "forecasts the four unseen initial conditions over [0, 3]; *actual* is its relative L2 error against the "
        "true closure's forecast (this needs the truth; the flag does not). Flag thresholds "
        f"(`fieldlab.discovery.assess`): ensemble spread > {assess.FLAG_SPREAD:g}, or an excursion beyond the observed "
        f"range of u > {assess.FLAG_EXCURSION:g} of it, or a member that fails to simulate."
        + (f" Network seeds: the neural-symbolic methods re-run with {args.network_seeds} other seed(s), their closures "
           "within the held-out bar added to the ensemble; network-seed members per cell: " + ", ".join(
               f"{r['case']} seed {r['seed']} {(r.get('network_seeds') or {}).get('members', 0)} of "
               f"{(r.get('network_seeds') or {}).get('computed', 0)}" for r in rows) + "." if args.network_seeds else ""),
        "",
        "## Summary", "",
        f"- forecasts checked: {total}; actual error above {TARGET:g}: {len(bad)}; of those flagged: "
        f"{len(bad) - len(missed)} (**{'all' if not missed else f'{len(missed)} missed'}**)",
        f"- flagged forecasts: {len(flagged)}, of which within {TARGET:g} all the same: {len(false_alarms)}",
    ]
    for r in rows:  # where held-out validation did not pick the method that forecasts best (measured against the truth)
        means = {m: float(np.mean(list(v.values()))) for m, v in r["rollouts"].items()}
        best = min(means, key=means.get)
        if best != r["chosen"] and means[r["chosen"]] > 2 * means[best]:
            lines.append(f"- {r['case']} seed {r['seed']}: held-out validation chose {r['chosen']} (mean forecast error "
                         f"{means[r['chosen']]:.2e}), but {best} forecasts better ({means[best]:.2e}); their held-out "
                         "errors were " + ", ".join(f"{m} {_g(r['holdout'][m])}" for m in (r["chosen"], best))
                         + " (the held-out window could not tell them apart)")
    lines += [
        "", "## Per forecast", "",
        "| case | seed | chosen | initial condition | actual error | ensemble spread | excursion | flagged | verdict |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        for n, c in r["forecasts"].items():
            big = c["actual"] is None or c["actual"] > TARGET
            verdict = ("flag right" if big and c["flag"] else "MISSED" if big else
                       "flagged, yet within 1e-2" if c["flag"] else "ok, not flagged")
            lines.append(f"| {r['case']} | {r['seed']} | {r['chosen']} | {n} | {_g(c['actual'])} | {_g(c['spread'])} | "
                         f"{c['excursion']:.2f} | {'yes' if c['flag'] else 'no'} | {verdict} |")
    lines += ["", "## Per cell", "",
              "| case | seed | chosen D(u) | chosen R(u) | held-out errors | support R | support D | band D | band R | "
              "proposed experiment | time [s] |",
              "| --- | ---: | --- | --- | --- | --- | --- | ---: | ---: | --- | ---: |"]
    for r in rows:
        ho = ", ".join(f"{m} {_g(e)}" for m, e in r["holdout"].items())
        s, ex = r["support"], r["experiment"]
        exp = "-" if not ex else f"{ex['initial_condition']}, t in [{ex['window'][0]:.3g}, {ex['window'][1]:.3g}]"
        lines.append(f"| {r['case']} | {r['seed']} | `{r['D']}` | `{r['R']}` | {ho} | [{s['R'][0]:.2f}, {s['R'][1]:.2f}] | "
                     f"[{s['D'][0]:.2f}, {s['D'][1]:.2f}] | {_pct(r['bands'], 'D_width')} | {_pct(r['bands'], 'R_width')} | "
                     f"{exp} | {r['seconds']:.0f} |")
    lines += ["", "Rollout errors of every method (mean over the four unseen initial conditions), for comparison with "
              "the chosen one:", "", "| case | seed | " + " | ".join(args.methods.split(",")) + " |",
              "| --- | ---: |" + " ---: |" * len(args.methods.split(","))]
    for r in rows:
        lines.append(f"| {r['case']} | {r['seed']} | " + " | ".join(
            _g(float(np.mean(list(r["rollouts"][m].values())))) for m in args.methods.split(",")) + " |")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="case_allee,case_porous,case_sigmoid,case_sign,case_a")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--regime", default="noise1", help="observation regime of fieldlab.discovery.cases.REGIMES")
    p.add_argument("--methods", default="weak-poly,weak-poly-refit,neural-symbolic-refit")
    p.add_argument("--network-seeds", type=int, default=0,
                   help="other network seeds whose neural-symbolic closures join the ensemble (default 0)")
    p.add_argument("--out", type=Path, default=Path("discovery-generalisation"))
    p.add_argument("--doc", type=Path, default=Path("docs/results/discovery-generalisation.md"))
    args = p.parse_args()
    args.cases = args.cases.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    t0, rows = time.perf_counter(), []
    for case in args.cases:
        for seed in range(args.seeds):
            path = args.out / (f"{case}-{args.regime}-s{seed}-{args.methods.replace(',', '+')}"
                               + (f"-ns{args.network_seeds}" if args.network_seeds else "") + ".json")
            if path.exists():
                rows.append(json.loads(path.read_text()))
                continue
            r = cell(case, seed, args.methods, args.regime, args.network_seeds)
            path.write_text(json.dumps(r, default=lambda v: None if v is None else float(v)))
            rows.append(json.loads(path.read_text()))
            print(f"{case} seed {seed}: chosen {r['chosen']}, " + ", ".join(
                f"{n} actual {_g(c['actual'])} spread {_g(c['spread'])}{' FLAG' if c['flag'] else ''}"
                for n, c in r["forecasts"].items()) + f" ({r['seconds']:.0f} s)", flush=True)
    write_doc(rows, args, time.perf_counter() - t0, args.doc)
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
