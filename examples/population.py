"""Tutorial 6: forecast an age-structured population under a fertility policy, and read it as a demographer.

The built-in ``population-china2024`` (China from the end of 2024, 1408 M people) with the policy as a
problem option; the birth condition ``p(0, t) = int beta(a, t) p(a, t) da`` is a nonlocal condition.

    python examples/population.py                              # several minutes on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=20 python examples/population.py    # a smoke test

Writes ``examples-out/population/run/`` (the run directory) and ``demography/`` with
``demography.csv`` (total, births, deaths and old-age dependency ratio per year, network and
reference), ``errors.csv``, ``trajectories.png`` and ``pyramids-*.png``.
"""

import fieldlab  # noqa: E402
from _budget import out_dir, steps  # noqa: E402
from fieldlab import demography  # noqa: E402

name = "population-china2024:policy=universal-two-child"   # or three-child, separate-two-child
n = steps(3000)
recipe = {  # Adam then float32 L-BFGS, n steps: cheaper than the default recipe's float64 stage
    "stages": [{"optimizer": "adam", "steps": max(1, 2 * n // 5), "lr": 2e-3, "decay_rate": 0.5,
                "decay_steps": max(1, n // 5)},
               {"optimizer": "lbfgs", "steps": n - max(1, 2 * n // 5), "memory": 50}],
    "chunk": max(1, min(50, n // 4)),
    "eval_every": max(1, n // 10),
}
out = out_dir("population")
run = fieldlab.train(name, "mlp", recipe, out=out / "run")
print(f"relative L2 error of p: {run.metrics['rel_l2']:.2e}")

# Indicators per year from the network and from the reference (method of characteristics).
net, ref = demography.from_run(run), demography.from_reference(name)
err = demography.errors(net, ref)
for k in (0, 10, 20, 30):
    print(f"{int(ref['year'][k])}: N = {net['total'][k] / 1e6:7.1f} M (reference {ref['total'][k] / 1e6:7.1f} M), "
          f"births {net['births'][k] / 1e6:5.2f} M ({ref['births'][k] / 1e6:5.2f} M), "
          f"OADR {net['oadr'][k]:4.1f} % ({ref['oadr'][k]:4.1f} %)")
print(f"largest errors over the years: N {err['total'].max():.2%}, births {err['births'].max():.2%}, "
      f"OADR {err['oadr'].max():.2f} points")

# The table and the figures (the same as `fieldlab demography RUN_DIR --out DIR`).
for what, path in demography.write_report([out / "run"], out / "demography").items():
    print(f"{what}: {path}")
