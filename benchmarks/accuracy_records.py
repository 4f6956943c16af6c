"""Accuracy records: each hard benchmark solved with the project's default recipe, against its target.

Each row runs the real command line (``fieldlab solve NAME [--model M] --quiet``) in a subprocess on
this machine, reads the run's metrics.json, and records the relative L2 error against the problem's
converged reference, the wall time and the steps, beside the target and the best published figure.
Rows accumulate in ``docs/results/accuracy-records.json`` (each with its machine and date), so rows
can be measured one at a time; the page ``docs/results/accuracy-records.md`` is rewritten from all
recorded rows, keeping its hand-written "## What was tried" section. Usage:

    python benchmarks/accuracy_records.py [--rows burgers,poisson2d] [--list]
    python benchmarks/accuracy_records.py --rows NAME --from-run RUN_DIR --note "load 3 to 7"

``--from-run`` records a run made beforehand with exactly the row's current default configuration
(the script checks it), for a default found by an experiment that already ran it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import busy_cores, cpu_model, write_keeping  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "docs" / "results" / "accuracy-records.json"
PAGE = ROOT / "docs" / "results" / "accuracy-records.md"

# name: (problem, model or None for the default, target rel L2, budget [s], anchors)
ROWS = {
    "burgers": ("burgers", None, 1e-4, 300, "DeepXDE example 4.4e-2 in 119 s on this machine; Raissi et al. 2019: 6.7e-4; "
                "quasi-Newton PINN papers (2024-2025): 1e-5 and below"),
    "allen-cahn": ("allen-cahn", None, 1e-3, 1200, "jaxpi 5.37e-5, PirateNet 2.24e-5 (GPU, 300k steps)"),
    "advection": ("advection", None, 1e-3, 600, "jaxpi 6.88e-4"),
    "helmholtz2d-hf": ("helmholtz2d-hf", "mlp", 1e-3, 600, "MLP at the bench budget: 0.81 (2026-12)"),
    "poisson2d": ("poisson2d", None, 1e-5, 600, ""),
    "helmholtz2d": ("helmholtz2d", None, 1e-5, 600, ""),
    "kovasznay": ("kovasznay", None, 1e-5, 600, ""),
    "cavity": ("cavity", None, 1e-2, None, "reference: own converged solver checked against Ghia et al. 1982"),
}


def default_config(name: str):
    """The resolved configuration that ``fieldlab solve PROBLEM [--model M]`` uses for row ``name``."""
    from fieldlab import problems
    from fieldlab.config import resolve

    problem, model = ROWS[name][:2]
    return resolve(problems.defaults(problem), *([{"model": {"name": model}}] if model else []))


def recorded_run(name: str, directory: Path) -> dict:
    """Metrics of a finished run directory made with exactly the current default configuration of row ``name``
    (refused otherwise: a row records the default recipe and nothing else)."""
    from fieldlab.run import _load_config

    def given(d):  # options left unset (None) take the backbone's defaults, which the run directory spells out
        return {k: given(v) for k, v in d.items() if v is not None} if isinstance(d, dict) else d

    ran, default = given(_load_config(directory).model_dump()), given(default_config(name).model_dump())
    if {**ran, "model": {}} != {**default, "model": {}} or any(ran["model"].get(k) != v for k, v in default["model"].items()):
        raise SystemExit(f"{directory} was not run with the current default configuration of {name}; run the row instead.")
    return json.loads((directory / "metrics.json").read_text())


def run_row(name: str, directory: Path | None = None, note: str = "") -> dict:
    problem, model, target, budget, anchors = ROWS[name]
    if directory is not None:
        m, busy = recorded_run(name, directory), None  # the load of a finished run comes in the note
    else:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "fieldlab.cli", "solve", problem, "--quiet", "--out", f"{tmp}/run"]
            if model:
                cmd += ["--model", model]
            busy = busy_cores()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                return {"name": name, "status": f"failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}"}
            m = json.loads(Path(f"{tmp}/run/metrics.json").read_text())
    return {"name": name, "problem": problem, "model": model or "default", "rel_l2": m["rel_l2"], "wall_s": m["wall_time_s"],
            "steps": m["steps"], "stops": m.get("stops", []), "target": target, "budget_s": budget, "anchors": anchors,
            "status": "ok", "date": datetime.date.today().isoformat(),
            "machine": f"{cpu_model()}, {platform.machine()}, {__import__('os').cpu_count()} cores "
                       + (f"({busy:.1f} busy before the run)" if busy is not None else f"({note or 'load not recorded'})")}


def verdict(r: dict) -> str:
    if r["status"] != "ok":
        return r["status"]
    met = r["rel_l2"] <= r["target"] and (r["budget_s"] is None or r["wall_s"] <= r["budget_s"])
    if met:
        return "met"
    parts = []
    if r["rel_l2"] > r["target"]:
        parts.append(f"error {r['rel_l2'] / r['target']:.1f}x the target")
    if r["budget_s"] is not None and r["wall_s"] > r["budget_s"]:
        parts.append(f"time {r['wall_s'] / r['budget_s']:.1f}x the budget")
    return "missed: " + ", ".join(parts)


def write_page(rows: dict[str, dict]) -> None:
    lines = ["# Accuracy records", "",
             "Each row is `fieldlab solve PROBLEM` with the project's default recipe (no options but the backbone where "
             "named), run by `python benchmarks/accuracy_records.py`. Relative L2 error against the problem's "
             "converged reference; wall time includes compilation. Each row gives its own machine and date.", "",
             "| problem | model | rel L2 | target | wall [s] | budget [s] | steps | verdict | best published | machine, date |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ROWS:
        r = rows.get(name)
        if r is None:
            lines.append(f"| {name} | | not measured yet | {ROWS[name][2]:g} | | {ROWS[name][3] or '-'} | | | {ROWS[name][4]} | |")
            continue
        if r["status"] != "ok":
            lines.append(f"| {name} | | | | | | | {r['status']} | | |")
            continue
        lines.append(f"| {r['problem']} | {r['model']} | {r['rel_l2']:.2e} | {r['target']:g} | {r['wall_s']:.0f} | "
                     f"{r['budget_s'] or '-'} | {r['steps']} | {verdict(r)} | {r['anchors']} | {r['machine']}, {r['date']} |")
    lines += ["", "Stages of each run (why each ended):", ""]
    for name, r in rows.items():
        if r.get("status") == "ok":
            lines.append(f"- {name}: " + "; ".join(r["stops"]))
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    write_keeping(PAGE, "\n".join(lines), "## What was tried")  # written by hand, kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to (re)measure")
    ap.add_argument("--list", action="store_true", help="list the rows and exit")
    ap.add_argument("--from-run", type=Path, help="record one row from a finished run directory made with exactly "
                    "the row's current default configuration (checked), instead of running it")
    ap.add_argument("--note", default="", help="with --from-run: the machine's load during that run, for the row")
    args = ap.parse_args()
    if args.list:
        for k, v in ROWS.items():
            print(k, v)
        return
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    for name in [r.strip() for r in args.rows.split(",") if r.strip()]:
        if name not in ROWS:
            sys.exit(f"unknown row {name}; rows: {', '.join(ROWS)}")
        print(f"{name} ...", flush=True)
        store[name] = run_row(name, args.from_run, args.note)
        print(f"  {store[name].get('rel_l2', '')} {store[name].get('wall_s', '')} s: {verdict(store[name])}", flush=True)
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(store, indent=1))
        write_page(store)


if __name__ == "__main__":
    main()
