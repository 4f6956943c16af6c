"""Tutorial 3: compare backbones with ``fieldlab bench`` under one identical recipe.

This script runs the command below (what you would type in a shell) and prints the table it writes:

    fieldlab bench --problems poisson1d --models mlp,resnet --seeds 2 --steps 1000 \
        --workers 1 --out examples-out/bench

    python examples/bench_backbones.py                             # a few minutes on 2 CPU cores
    FIELDLAB_EXAMPLE_STEPS=40 python examples/bench_backbones.py   # seconds: a smoke test
"""

import os
import subprocess
import sys

from _budget import out_dir, steps

n = steps(1000)
seeds = "2" if n >= 200 else "1"
out = out_dir("bench")
command = [sys.executable, "-m", "fieldlab.cli", "bench", "--problems", "poisson1d", "--models", "mlp,resnet",
           "--seeds", seeds, "--steps", str(n), "--workers", "1", "--out", str(out)]
print("$ fieldlab " + " ".join(command[3:]), flush=True)
subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
print((out / "table.md").read_text())
