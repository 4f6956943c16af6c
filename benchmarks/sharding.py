#!/usr/bin/env python
"""Training steps per second against the number of devices that share the collocation points.

No machine with several GPUs was available, so the devices are CPU host devices that XLA simulates
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``, set in a child process before JAX starts).
Each configuration trains ``heat1d`` with an MLP through ``fieldlab.train`` (the library's own
trainer, :mod:`fieldlab.training.sharding` included) for ``--steps`` Adam steps in compiled chunks
of 50, and reports the median of the per-chunk steps/s over all chunks but the first (which
includes compilation). Three configurations:

- ``plain``: one process without the flag: one CPU device, XLA's default threads (the usual run);
- ``1 of 2``: with the flag, ``devices=1``: the points on the first of two host devices;
- ``2 of 2``: with the flag, ``devices=2``: the points split across both (data parallel).

The configurations are interleaved: each repeat runs every one of them once (in a rotated order),
so that a change of the machine's load hits all of them alike. Usage::

    python benchmarks/sharding.py                       # interior 2000 and 8000 points, 3 repeats
    python benchmarks/sharding.py --interior 4000 --repeats 2 --steps 300
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import busy_cores, cpu_model  # noqa: E402 - benchmarks/ is on sys.path when a script runs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "results" / "sharding.md"
CONFIGS = {"plain": (None, 1), "1 of 2": (2, 1), "2 of 2": (2, 2)}  # (simulated host devices, devices used)


def child(interiors: list[int], steps: int, devices: int, width: int) -> None:
    import jax

    import fieldlab

    out = {"jax_devices": len(jax.devices()), "rates": {}}
    for n in interiors:
        recipe = {"sampling": {"interior": n, "boundary": 200, "initial": 200},
                  "stages": [{"optimizer": "adam", "steps": steps, "lr": 1e-3}], "chunk": 50, "eval_every": steps}
        run = fieldlab.train("heat1d", "mlp", recipe, width=width, depth=3, progress=False, devices=devices)
        rates = [r["steps_per_s"] for r in run.history[1:]]
        out["rates"][str(n)] = statistics.median(rates)
    print("RESULT " + json.dumps(out), flush=True)


def run_config(name: str, interiors: list[int], steps: int, width: int) -> dict:
    host, devices = CONFIGS[name]
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env["JAX_PLATFORMS"] = "cpu"
    if host:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={host}"
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, __file__, "--child", "--devices", str(devices), "--steps", str(steps), "--width", str(width),
           "--interior", ",".join(map(str, interiors))]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interior", default="2000,8000", help="comma-separated interior point counts")
    ap.add_argument("--steps", type=int, default=300, help="Adam steps per run (chunks of 50)")
    ap.add_argument("--width", type=int, default=32, help="MLP width (depth 3)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    interiors = [int(x) for x in args.interior.split(",")]
    if args.child:
        child(interiors, args.steps, args.devices, args.width)
        return

    import jax

    start = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    load0, busy0 = os.getloadavg(), busy_cores()
    names = list(CONFIGS)
    rates: dict[str, dict[int, list[float]]] = {c: {n: [] for n in interiors} for c in names}
    t0 = time.perf_counter()
    for rep in range(args.repeats):
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            res = run_config(name, interiors, args.steps, args.width)
            assert res["jax_devices"] == (CONFIGS[name][0] or 1), res
            for n in interiors:
                rates[name][n].append(res["rates"][str(n)])
            print(f"repeat {rep + 1}: {name}: " + ", ".join(f"{n}: {res['rates'][str(n)]:.1f} steps/s" for n in interiors),
                  flush=True)
    wall = time.perf_counter() - t0
    load1, busy1 = os.getloadavg(), busy_cores()

    def fmt_load(la):
        return " / ".join(f"{v:.2f}" for v in la)

    lines = [
        "# Steps per second against the number of devices (simulated host devices)", "",
        f"Date: {start.isoformat()}", "",
        f"Machine: {os.cpu_count()} CPU cores ({cpu_model()}), {platform.platform()}; JAX {jax.__version__} on CPU; "
        f"Python {platform.python_version()}. **No GPU machine was available to this measurement**: the two devices "
        "are CPU host devices simulated by XLA (`--xla_force_host_platform_device_count=2`), which share the same "
        "two physical cores.", "",
        f"Load average (1 / 5 / 15 min) at start: {fmt_load(load0)}; at end: {fmt_load(load1)}. Other processes "
        f"used about {busy0 if busy0 is not None else float('nan'):.1f} of {os.cpu_count()} cores just before and "
        f"{busy1 if busy1 is not None else float('nan'):.1f} just after the measurement (a shared machine): absolute "
        "rates are low and noisy.", "",
        f"Command: `{shlex.join(['python', 'benchmarks/sharding.py', *sys.argv[1:]])}`", "",
        f"heat1d, MLP width {args.width} x depth 3, Adam, {args.steps} steps per run in compiled chunks of 50, 200 "
        f"boundary and 200 initial points; median over the chunks after the first of each run, then median "
        f"[min, max] over {args.repeats} interleaved repeats ({wall / 60:.1f} min in all).", "",
        "| interior points | " + " | ".join(f"{c} [steps/s]" for c in names) + " | 2 of 2 / 1 of 2 |",
        "|---:|" + "---:|" * (len(names) + 1),
    ]
    for n in interiors:
        cells = []
        for c in names:
            v = rates[c][n]
            cells.append(f"{statistics.median(v):.1f} [{min(v):.1f}, {max(v):.1f}]")
        ratio = statistics.median(rates["2 of 2"][n]) / statistics.median(rates["1 of 2"][n])
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
    lines += [
        "", "`plain`: one device, XLA's default threads; `1 of 2`: two simulated host devices, the points on the "
        "first; `2 of 2`: the points split across both, everything else replicated (data parallel).", "",
        "What this shows and what it does not: on one machine the simulated devices divide the same cores, so "
        "splitting the points can at best recover what one device with all threads already does; the ratio "
        "`2 of 2 / 1 of 2` measures how well the points' work divides between two devices that each get "
        "a share of the cores, including the all-reduce of the gradient at every step. It says nothing about GPUs, "
        "where each device brings its own compute and memory; no GPU measurement was made.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
