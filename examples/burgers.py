"""Tutorial 1: solve the viscous Burgers equation from Python and read the run directory.

    python examples/burgers.py                              # about 2-3 minutes on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=60 python examples/burgers.py    # a few seconds: a smoke test

Writes ``examples-out/burgers/`` (a fieldlab run directory with its figures).
"""

import json

import numpy as np

import fieldlab
from _budget import out_dir, steps

n = steps(3000)
recipe = {
    "sampling": {"interior": 4000},
    "stages": [
        {"optimizer": "adam", "steps": n // 3, "lr": 2e-3},
        {"optimizer": "lbfgs", "steps": n - n // 3},
    ],
    "chunk": max(1, min(50, n // 3)),
    "eval_every": max(1, n // 6),
}
out = out_dir("burgers")
run = fieldlab.train("burgers", "mlp", recipe, out=out, width=32, depth=4)

print(f"relative L2 error against the reference: {run.metrics['rel_l2']:.3e}")
print(f"steps: {run.metrics['steps']}, wall time: {run.metrics['wall_time_s']:.1f} s")
print("u at (x, t) = (0.5, 0.5):", run.predict(np.array([[0.5, 0.5]]))[0, 0])

# Everything is also on disk: reload the run and predict with it.
again = fieldlab.load_run(out)
assert np.allclose(again.predict(np.array([[0.5, 0.5]])), run.predict(np.array([[0.5, 0.5]])))
print(json.dumps({k: run.metrics[k] for k in ("rel_l2", "steps")}))
print("files:", ", ".join(sorted(p.name for p in out.iterdir())))
