"""Tutorial 6: a square with four circular holes, a pin, and reference data at scattered points.

The problem: Poisson's equation with Neumann conditions everywhere, so the solution is fixed only
up to a constant, which a pin (a Point condition) removes,

    -(u_xx + u_yy) = 2 pi^2 cos(pi x) cos(pi y)   on the unit square minus four disks,
    du/dn = 0 on the square's sides,   du/dn = grad(u_exact) . n on each hole,   u(0, 0) = 1,

whose exact solution is u = cos(pi x) cos(pi y). The reference is that exact solution at 2000
scattered points of the domain, written to a CSV file and read back, as data from a mesh-based
solver or from measurements would be.

    python examples/holes.py                               # about two minutes on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=60 python examples/holes.py     # a smoke test

Writes ``examples-out/holes/reference.csv`` and the run directory ``examples-out/holes/run/``
(prediction, reference and error maps on the scattered points).
"""

import jax.numpy as jnp
import numpy as np

import fieldlab
from _budget import out_dir, steps
from fieldlab.geometry import Box, Disk

square = Box((0.0, 0.0), (1.0, 1.0))
holes = [Disk((0.3, 0.3), 0.1), Disk((0.7, 0.3), 0.1), Disk((0.3, 0.7), 0.1), Disk((0.7, 0.7), 0.1)]
domain = square - holes[0] - holes[1] - holes[2] - holes[3]


def exact(x, y):
    """The exact solution; x and y are arrays of coordinates."""
    return np.cos(np.pi * x) * np.cos(np.pi * y)


def flux_into(hole):
    """du/dn of the exact solution on a hole, with n the domain's outward normal (into the hole)."""
    (cx, cy), r = hole.center, hole.radius

    def g(x, y):
        ux = -np.pi * np.sin(np.pi * x) * np.cos(np.pi * y)
        uy = -np.pi * np.cos(np.pi * x) * np.sin(np.pi * y)
        return -(ux * (x - cx) + uy * (y - cy)) / r

    return g


def poisson(F, p):
    return -(F.d("u", "x", "x") + F.d("u", "y", "y")) - 2 * jnp.pi**2 * jnp.cos(jnp.pi * F.x) * jnp.cos(jnp.pi * F.y)


# Reference data at scattered points: written to CSV, then loaded as a Reference.
out = out_dir("holes")
out.mkdir(parents=True)
points = domain.sample_interior(2000, seed=7, method="random")
np.savetxt(out / "reference.csv", np.column_stack([points, exact(points[:, 0], points[:, 1])]),
           delimiter=",", header="x,y,u", comments="")
reference = fieldlab.Reference.from_csv(out / "reference.csv", coords=("x", "y"))

conditions = {"sides": fieldlab.Neumann("u", 0.0, on=square)}
for i, hole in enumerate(holes):
    conditions[f"hole{i}"] = fieldlab.Neumann("u", flux_into(hole), on=hole)
conditions["pin"] = fieldlab.Point((0.0, 0.0), 1.0)

problem = fieldlab.Problem(
    name="holes", coords=("x", "y"), fields=("u",), domain=domain,
    equations={"pde": poisson}, conditions=conditions, reference=reference,
    description="Poisson on the unit square minus four disks, Neumann everywhere, pinned at (0, 0)",
)

n = steps(3000)
recipe = {
    "sampling": {"interior": 2000, "boundary": 400},
    "stages": [{"optimizer": "adam", "steps": n // 3, "lr": 3e-3},
               {"optimizer": "lbfgs", "steps": n - n // 3}],
    "chunk": max(1, min(50, n // 4)),
    "eval_every": max(1, n // 4),
}
run = fieldlab.train(problem, "mlp", recipe, out=out / "run", width=32, depth=3)
print(f"relative L2 error at the {len(points)} reference points: {run.metrics['rel_l2']:.3e}")
print(f"u(0, 0) = {run.predict([[0.0, 0.0]])[0, 0]:.4f} (pinned to 1)")
