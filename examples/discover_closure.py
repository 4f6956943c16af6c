"""Tutorial 5: discover the closure laws D(u) and R(u) of u_t = (D(u) u_x)_x + R(u) from a data file.

First the script writes a data file, as an instrument or a simulation would give it: the built-in
``case_a`` (D = 0.01 + 0.05 u, R = u (1 - u)) observed with 1 % noise, saved as ``data.npz``
(arrays ``x``, ``t``, ``u``). Then it forgets the truth, loads the file and discovers the laws;
each one is judged by re-simulating the PDE forward and comparing with the data.

    python examples/discover_closure.py                                  # all methods: minutes
    FIELDLAB_EXAMPLE_STEPS=1 python examples/discover_closure.py         # the polynomial methods: seconds

The same from the shell: ``fieldlab discover examples-out/discover/data.npz --methods weak-poly``.
Writes ``examples-out/discover/``: ``data.npz``, ``closures.json``, ``report.md`` and figures.
"""

import json

from _budget import out_dir, steps
from fieldlab.discovery import cases, data, pipeline

out = out_dir("discover")
out.mkdir()
data.save(cases.make_dataset("case_a", "noise1", seed=0), out / "data.npz")

ds = data.load(out / "data.npz")                        # checked: shapes, finite values, increasing grids
print(f"data: u of shape {ds.u.shape} (runs, nt, nx) on {ds.x.size} positions x {ds.t.size} times")
quick = steps(1000) < 100                               # a smoke test runs only the fast methods
methods = "strong-poly,weak-poly" if quick else "strong-poly,weak-poly,weak-poly-refit,neural-symbolic-refit"
result = pipeline.run_discovery(ds, out, methods=methods, log=print)

for name, record in result["methods"].items():
    print(f"{name:>22}: D = {record['D']},  R = {record['R']},  "
          f"rollout rel L2 {record['metrics']['rollout_mean']:.3g}")
print(json.dumps({m: r["metrics"]["rollout_mean"] for m, r in result["methods"].items()}))
