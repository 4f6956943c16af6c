"""Tutorial 4: identify two unknown constants of a PDE (a diffusivity and a rate) from observations.

The built-in ``reaction-inverse`` problem: two species with
``C_A_t = D C_A_xx - k_f C_A C_B^2`` and ``C_B_t = D C_B_xx - 2 k_f C_A C_B^2``; ``D`` and ``k_f``
start ten times too large and are trained together with the network from 1000 noisy observations.

    python examples/reaction_inverse.py                              # about a minute on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=60 python examples/reaction_inverse.py    # seconds: a smoke test

Writes ``examples-out/reaction_inverse/run/`` and ``parameters.png`` (D and k_f against the step).
"""

import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import fieldlab  # noqa: E402
from _budget import out_dir, steps  # noqa: E402
from fieldlab.problems.reaction_inverse import reaction_inverse  # noqa: E402

problem = reaction_inverse(noise=0.01)     # 1 % noise on the observations; n_obs and seed are options too
print("unknowns:", problem.trainable, "initial guesses:", {k: problem.params[k] for k in problem.trainable})

n = steps(3300)
recipe = {
    "sampling": {"interior": 2000},
    "weights": {"data": 10.0},
    "stages": [{"optimizer": "adam", "steps": max(1, n // 11), "lr": 5e-3},
               {"optimizer": "lbfgs", "steps": n - max(1, n // 11)}],
    "chunk": max(1, min(50, n // 4)),
    "eval_every": max(1, n // 10),
}
out = out_dir("reaction_inverse")
run = fieldlab.train(problem, "mlp", recipe, out=out / "run", width=48, depth=3)

for name, value in run.params.items():
    print(f"{name}: found {value:.4g}, true {problem.true_params[name]:.4g}, "
          f"relative error {run.param_errors()[name]:.2%}")

# history.csv has one row per chunk, with the parameters as the optimiser moved them.
with open(out / "run" / "history.csv") as f:
    rows = list(csv.DictReader(f))
fig, axs = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, name in zip(axs, ("D", "kf")):
    ax.plot([int(r["step"]) for r in rows], [float(r[f"param_{name}"]) for r in rows], label="trained")
    ax.axhline(problem.true_params[name], color="k", ls="--", lw=1, label="true")
    ax.set_xlabel("step")
    ax.set_title(name)
    ax.legend()
fig.tight_layout()
fig.savefig(out / "parameters.png", dpi=90)
print(f"wrote {out / 'parameters.png'}")
