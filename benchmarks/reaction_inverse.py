"""Identify D and k_f of the two-species reaction-diffusion system; writes docs/results/inverse.md.

    python benchmarks/reaction_inverse.py [--seeds 3] [--noise 0,0.01] [--doc docs/results/inverse.md]

Every run is the built-in problem's default recipe (``fieldlab solve reaction-inverse``) with the
observation noise and the seed (network initialisation, observation points and noise draws) varied.
Targets (issue 4): D and k_f within 1 % on clean data, within 5 % with 1 % noise.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--noise", default="0,0.01")
    ap.add_argument("--doc", default="docs/results/inverse.md")
    args = ap.parse_args(argv)

    import fieldlab
    from fieldlab.problems import defaults
    from fieldlab.problems.reaction_inverse import reaction_inverse

    load0 = os.getloadavg()
    rows = []
    for noise in [float(v) for v in args.noise.split(",")]:
        for seed in range(args.seeds):
            problem = reaction_inverse(noise=noise, seed=seed)
            recipe = {**defaults("reaction-inverse")["recipe"], "seed": seed}
            t0 = time.perf_counter()
            run = fieldlab.train(problem, "mlp", recipe, progress=False,
                                 **{k: v for k, v in defaults("reaction-inverse")["model"].items() if k != "name"})
            wall = time.perf_counter() - t0
            err = run.param_errors()
            first = None
            for row in run.history:  # first time both parameters are within the target and stay there
                ok = all(abs(row[f"param_{k}"] - problem.true_params[k]) / problem.true_params[k] <= (0.01 if noise == 0 else 0.05)
                         for k in ("D", "kf"))
                first = (first or row["time"]) if ok else None
            rows.append((noise, seed, run.params["D"], run.params["kf"], err["D"], err["kf"], run.metrics["rel_l2"], wall, first))
            print(f"noise {noise:g} seed {seed}: D {run.params['D']:.6g} ({err['D']:.2%}), kf {run.params['kf']:.6g} "
                  f"({err['kf']:.2%}), field rel L2 {run.metrics['rel_l2']:.2e}, {wall:.0f} s", flush=True)
    lines = ["# Inverse problem: two-species reaction-diffusion (`reaction-inverse`)", "",
             "C_A,t = D C_A,xx - k_f C_A C_B^2, C_B,t = D C_B,xx - 2 k_f C_A C_B^2 on [0, 1] x [0, 10]; true D = 2e-3, "
             "k_f = 0.1; both start ten times too large. Setup and recipe: `fieldlab.problems.reaction_inverse`.", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M')} UTC on {os.cpu_count()} CPU cores ({platform.platform()}, "
             f"Python {platform.python_version()}), CPU only; load average {load0[0]:.1f} at start, "
             f"{os.getloadavg()[0]:.1f} at end (shared machine: wall times are indicative).", "",
             f"Command: `python benchmarks/reaction_inverse.py --seeds {args.seeds} --noise {args.noise}`", "",
             "| noise | seed | D | k_f | error D | error k_f | fields rel L2 | wall [s] | within target for good after [s] |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for noise, seed, D, kf, eD, ek, rl2, wall, first in rows:
        lines.append(f"| {noise:.0%} | {seed} | {D:.6g} | {kf:.6g} | {eD:.2%} | {ek:.2%} | {rl2:.2e} | {wall:.0f} | "
                     f"{'-' if first is None else f'{first:.0f}'} |")
    for noise in sorted({r[0] for r in rows}):
        worst = max(max(r[4], r[5]) for r in rows if r[0] == noise)
        target = 0.01 if noise == 0 else 0.05
        lines += ["", f"Noise {noise:.0%}: worst parameter error {worst:.2%} (target {target:.0%}: "
                      f"{'met' if worst <= target else 'not met'})."]
    lines += ["", "Our reference (method of lines, 3200 intervals, BDF) differs from DeepXDE's `reaction.npz` by 5.8e-4 "
              "relative L2 (tests/test_reaction_inverse.py); it changes by 1.9e-7 when its grid doubles.", ""]
    Path(args.doc).write_text("\n".join(lines))
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
