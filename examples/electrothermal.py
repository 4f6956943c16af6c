"""Tutorial 8: five coupled fields across a material interface (electrothermal flow).

The built-in ``electrothermal-interface``: velocity (u, v), pressure p, electric potential phi and
temperature T on the unit square, coupled by a Coulomb force, buoyancy and Joule heating, with two
materials on either side of the oblique line y = 1/4 + x/2 (heat conductivity 1 | 4, electric
conductivity 1 | 5). T and phi are continuous across the line, and so are their normal fluxes; their
slopes jump. The exact fields are manufactured, so every field's error is known.

    python examples/electrothermal.py                              # 4000 steps, 5 to 10 minutes on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=20 python examples/electrothermal.py    # a smoke test

Writes the run directory ``examples-out/electrothermal/run/`` (metrics.json, prediction, reference
and error maps of the five fields, loss curves) and ``interface.png`` (T and phi along a line across
the interface, network against the exact fields, and the error).
"""

import numpy as np

import fieldlab
from _budget import out_dir, steps
from fieldlab import problems

name = "electrothermal-interface"
problem = problems.get(name)
print(problem.description)
for key, condition in problem.conditions.items():
    print(f"  condition {key}: {type(condition).__name__}")
print(f"  equations: {', '.join(problem.equations)}; outputs of the network: {problem.outputs} "
      f"for {len(problem.fields)} fields (T and phi are A + |d| B)")

# The problem's default recipe (Adam 6000, then float64 self-scaled Broyden 6000), cut to the budget in
# the same proportions: 2000 + 2000 steps for 4000.
recipe = fieldlab.Recipe.model_validate(problems.defaults(name)["recipe"]).with_steps(steps(4000))
out = out_dir("electrothermal")
run = fieldlab.train(name, "mlp", recipe, out=out / "run", width=32, depth=4)

m = run.metrics
print("relative L2 error per field: "
      + ", ".join(f"{f} {m[f'rel_l2_{f}']:.2e}" for f in problem.fields))
print("RMS interface residuals: "
      f"[T] {m['interface_jump_T']:.1e}, [k dT/dn] {m['interface_flux_jump_T']:.1e}, "
      f"[phi] {m['interface_jump_phi']:.1e}, [sigma dphi/dn] {m['interface_flux_jump_phi']:.1e}")

# T and phi along the vertical line x = 0.6, which crosses the interface at y = 0.55.
y = np.linspace(0.0, 1.0, 401)
z = np.column_stack([np.full_like(y, 0.6), y])
pred = run.predict(z)
exact = problems.electrothermal.exact_numpy("interface", z[:, 0], z[:, 1], "T"), \
    problems.electrothermal.exact_numpy("interface", z[:, 0], z[:, 1], "phi")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(2, 2, figsize=(9, 5.4), sharex=True, constrained_layout=True)
for col, k, ref, label in ((0, 4, exact[0], "T"), (1, 3, exact[1], "phi")):
    top, bottom = axes[0, col], axes[1, col]
    top.plot(y, ref, color="k", lw=2.5, alpha=0.35, label="exact")
    top.plot(y, pred[:, k], color="C0", lw=1.2, label="network")
    top.set_ylabel(label)
    bottom.semilogy(y, np.abs(pred[:, k] - ref) + 1e-12, color="C0", lw=1)
    bottom.set_ylabel(f"|{label} - exact|")
    bottom.set_xlabel("y (x = 0.6)")
    for ax in (top, bottom):
        ax.axvline(0.55, color="C3", ls=":", lw=1, label="interface")
    top.legend(frameon=False)
fig.savefig(out / "interface.png", dpi=120)
print(f"largest error along the line: T {np.abs(pred[:, 4] - exact[0]).max():.1e}, "
      f"phi {np.abs(pred[:, 3] - exact[1]).max():.1e}")
print(f"wrote {out / 'run'} and {out / 'interface.png'}")
