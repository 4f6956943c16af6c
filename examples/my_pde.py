"""Tutorial 2: your own PDE, written in Python, solved, checked against an exact solution and exported.

The problem: Poisson's equation on the unit square with a manufactured solution,

    -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y)   on (0, 1)^2,     u = 0 on the boundary,

whose exact solution is u = sin(pi x) sin(pi y).

    python examples/my_pde.py                               # about a minute on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=60 python examples/my_pde.py     # a few seconds: a smoke test

Writes ``examples-out/my_pde/run/`` (the run directory, with prediction, reference and error maps)
and ``examples-out/my_pde/prediction.csv`` (x, y, u on a 41 x 41 grid).
"""

import jax.numpy as jnp
import numpy as np

import fieldlab
from _budget import out_dir, steps
from fieldlab.geometry import Box


def poisson(F, p):
    """Pointwise residual: zero where the PDE holds. F.d gives exact derivatives of the network."""
    return -(F.d("u", "x", "x") + F.d("u", "y", "y")) - 2 * jnp.pi**2 * jnp.sin(jnp.pi * F.x) * jnp.sin(jnp.pi * F.y)


def exact_reference() -> fieldlab.Reference:
    """The exact solution on a 64 x 64 grid: fieldlab measures every error against it."""
    x = y = np.linspace(0.0, 1.0, 64)
    X, Y = np.meshgrid(x, y, indexing="ij")
    return fieldlab.Reference((x, y), (np.sin(np.pi * X) * np.sin(np.pi * Y))[..., None], "exact")


problem = fieldlab.Problem(
    name="my-poisson",
    coords=("x", "y"),
    fields=("u",),
    domain=Box((0.0, 0.0), (1.0, 1.0)),
    equations={"pde": poisson},
    conditions={"walls": fieldlab.Dirichlet("u", 0.0)},
    reference=exact_reference,
    description="-(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0 on the boundary",
)

n = steps(2000)
recipe = {
    "sampling": {"interior": 2000, "boundary": 400},
    "stages": [{"optimizer": "adam", "steps": n // 2, "lr": 3e-3},
               {"optimizer": "lbfgs", "steps": n - n // 2}],
    "chunk": max(1, min(50, n // 4)),
    "eval_every": max(1, n // 4),
}
out = out_dir("my_pde")
run = fieldlab.train(problem, "mlp", recipe, out=out / "run", width=32, depth=3)
print(f"relative L2 error against the exact solution: {run.metrics['rel_l2']:.3e}")

# Export: the prediction on a grid of your choice, as CSV with a header.
x = y = np.linspace(0.0, 1.0, 41)
X, Y = np.meshgrid(x, y, indexing="ij")
points = np.stack([X.ravel(), Y.ravel()], axis=1)
u = run.predict(points)
np.savetxt(out / "prediction.csv", np.hstack([points, u]), delimiter=",", header="x,y,u", comments="")
print(f"wrote {out / 'prediction.csv'} ({len(points)} points); figures in {out / 'run'}")
