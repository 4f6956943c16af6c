"""Time and accuracy of the default `fieldlab solve burgers`, and the start-up time of `fieldlab --help`.

Runs the real command line in a subprocess (so the wall time includes interpreter start-up, JAX
import and compilation), reads the run's metrics.json and history.csv, and prints a Markdown
section with the machine and date. Usage:

    python benchmarks/burgers_default.py [--repeats 1] [--out docs/results/benchmarks-burgers.md]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIELDLAB = [sys.executable, "-m", "fieldlab.cli"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_help(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([*FIELDLAB, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def solve_once(workdir: Path, seed: int) -> dict:
    out = workdir / f"burgers-{seed}"
    t = time.perf_counter()
    subprocess.run([*FIELDLAB, "solve", "burgers", "--out", str(out), "--quiet", "--seed", str(seed)], check=True)
    wall = time.perf_counter() - t
    metrics = json.loads((out / "metrics.json").read_text())
    rows = list(csv.DictReader(open(out / "history.csv")))
    reached = next((float(r["time"]) for r in rows if r["rel_l2"] and float(r["rel_l2"]) <= 2e-3), None)
    return {"seed": seed, "process_wall_s": wall, "train_wall_s": metrics["wall_time_s"], "rel_l2": metrics["rel_l2"],
            "max_ae": metrics["max_ae"], "steps": metrics["steps"], "stops": metrics["stops"], "t_2e-3": reached}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=1, help="number of seeds (0, 1, ...)")
    ap.add_argument("--out", type=Path, default=Path("docs/results/benchmarks-burgers.md"))
    args = ap.parse_args()
    help_s = time_help()
    with tempfile.TemporaryDirectory() as tmp:
        results = [solve_once(Path(tmp), seed) for seed in range(args.repeats)]
    lines = [
        "## Default `fieldlab solve burgers`",
        "",
        f"Measured {datetime.date.today().isoformat()} on {platform.node() or 'this machine'}: {cpu_model()}, "
        f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, CPU only.",
        f"Command: `python benchmarks/burgers_default.py --repeats {args.repeats}`.",
        "",
        "| seed | process wall [s] | training wall [s] (compile incl.) | first time rel L2 <= 2e-3 [s] | rel L2 | max abs err | steps | stages |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        t2 = f"{r['t_2e-3']:.1f}" if r["t_2e-3"] is not None else "not reached"
        lines.append(f"| {r['seed']} | {r['process_wall_s']:.1f} | {r['train_wall_s']:.1f} | {t2} | {r['rel_l2']:.2e} | "
                     f"{r['max_ae']:.2e} | {r['steps']} | {'; '.join(r['stops'])} |")
    lines += ["", f"`fieldlab --help`: median {help_s:.2f} s over 5 runs.", ""]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
