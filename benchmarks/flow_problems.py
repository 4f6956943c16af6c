"""The two flow problems: the cavity reference against Ghia, Ghia and Shin (1982), its convergence,
and the default `fieldlab solve kovasznay` and `fieldlab solve cavity` runs.

The solves run the real command line in a subprocess (wall time includes start-up, JAX import and
compilation) and read the run's metrics.json. Usage:

    python benchmarks/flow_problems.py [--no-solve] [--out docs/results/benchmarks-flow.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import busy_cores, cpu_model  # noqa: E402

from fieldlab.reference.cavity import GHIA_U, GHIA_V, cavity_reference, cavity_solve  # noqa: E402


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def ghia_section() -> list[str]:
    lines = ["## Cavity reference against Ghia, Ghia and Shin (1982), Re = 100", "",
             "Centre-line velocities of `fieldlab.reference.cavity.cavity_solve(n)` at Ghia's 17 points "
             "(nodes k/128 of their grid), differences to their tables I and II; the primary vortex "
             "(Ghia: psi = -0.103423 at (0.6172, 0.7344)).", "",
             "| cells n | solve [s] | u: max diff | u: RMS diff | v: max diff | v: RMS diff | v at x = 0.8047 (Ghia -0.24533) | psi min | at (x, y) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in (64, 128, 256):
        t0 = time.perf_counter()
        psi, u, v = cavity_solve(n)
        dt = time.perf_counter() - t0
        ku, kv = np.rint(GHIA_U[:, 0] * 128).astype(int) * n // 128, np.rint(GHIA_V[:, 0] * 128).astype(int) * n // 128
        if n < 128:  # Ghia's points that are not nodes of the coarse grid: linear interpolation
            grid = np.arange(n + 1) / n
            uu = np.interp(np.rint(GHIA_U[:, 0] * 128) / 128, grid, u[n // 2])
            vv = np.interp(np.rint(GHIA_V[:, 0] * 128) / 128, grid, v[:, n // 2])
        else:
            uu, vv = u[n // 2, ku], v[kv, n // 2]
        du, dv = uu - GHIA_U[:, 1], vv - GHIA_V[:, 1]
        i, j = np.unravel_index(np.argmin(psi), psi.shape)
        lines.append(f"| {n} | {dt:.1f} | {np.abs(du).max():.2e} | {np.sqrt(np.mean(du**2)):.2e} | "
                     f"{np.abs(dv).max():.2e} | {np.sqrt(np.mean(dv**2)):.2e} | {vv[7]:.5f} | {psi[i, j]:.6f} | "
                     f"({i / n:.4f}, {j / n:.4f}) |")
    lines += ["", "Convergence of the reference (relative L2 of (u, v) between resolutions, at interior nodes):", "",
              "| compared | nodes k/16 | nodes k/32 (the built-in grid) | nodes k/64 |", "| --- | --- | --- | --- |"]
    rows = {"plain 64 vs 128 cells": [], "plain 128 vs 256 cells": [],
            "extrapolated (64, 32) vs (128, 64)": [], "extrapolated (128, 64) vs (256, 128)": []}
    for m in (16, 32, 64):
        def plain(n, m=m):
            e = n // m
            return np.stack([a[e:-e:e, e:-e:e] for a in cavity_solve(n)[1:]], -1)
        rows["plain 64 vs 128 cells"].append(_rel(plain(64), plain(128)))
        rows["plain 128 vs 256 cells"].append(_rel(plain(128), plain(256)))
        rows["extrapolated (64, 32) vs (128, 64)"].append(
            _rel(cavity_reference(64, 64 // m)[1], cavity_reference(128, 128 // m)[1]) if m < 64 else float("nan"))
        rows["extrapolated (128, 64) vs (256, 128)"].append(_rel(cavity_reference(128, 128 // m)[1], cavity_reference(256, 256 // m)[1]))
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join("-" if np.isnan(x) else f"{x:.2e}" for x in vals) + " |")
    return lines


def solve(name: str, workdir: Path) -> dict:
    out = workdir / name
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fieldlab.cli", "solve", name, "--quiet", "--out", str(out)],
                          capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"fieldlab solve {name} failed:\n{proc.stdout}\n{proc.stderr}")
    m = json.loads((out / "metrics.json").read_text())
    m["process_wall_s"] = wall
    return m


def solve_section() -> list[str]:
    lines = ["## Default solves", "",
             "| problem | process wall [s] | training wall [s] | steps | rel L2 | per field | stages |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("kovasznay", "cavity"):
            load = busy_cores(1.0)
            m = solve(name, Path(tmp))
            fields = ", ".join(f"{k[7:]} {v:.2e}" for k, v in m.items() if k.startswith("rel_l2_"))
            lines.append(f"| {name} | {m['process_wall_s']:.0f} | {m['wall_time_s']:.0f} | {m['steps']} | "
                         f"{m['rel_l2']:.2e} | {fields} | {'; '.join(m['stops'])} |")
            if load is not None:
                lines.append(f"<!-- busy cores before the {name} solve: {load:.1f} -->")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-solve", action="store_true", help="only the reference tables")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    head = ["# Flow problems: Kovasznay and the lid-driven cavity", "",
            f"Measured {datetime.date.today().isoformat()} on {platform.node()}: {cpu_model()}, {os.cpu_count()} cores, "
            f"{platform.platform()}, Python {platform.python_version()}, CPU only.",
            f"Command: `python benchmarks/flow_problems.py{' --no-solve' if args.no_solve else ''}`.", ""]
    body = ghia_section()
    if not args.no_solve:
        body += [""] + solve_section()
    text = "\n".join(head + body) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
