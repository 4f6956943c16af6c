"""Default recipes of the issue-18 problems: `fieldlab solve NAME` at the built-in defaults, scored
against the issue's bars, written as a "Default recipes" section of a results page.

Each row runs the real command line (``fieldlab solve NAME --quiet --out WORK/NAME``) in a subprocess
(a finished run directory is reused) and reads its ``metrics.json``: the steps, the wall time
(compilation included) and, for the electrothermal scenarios, the relative L2 error of every field
on the 201 x 201 grid (the gauge scenarios add the pressure's mean and shape errors); for the
population problems, the largest error over the years 2024-2054 of the total population N and the
births B (relative) and of the old-age dependency ratio (points), from :mod:`fieldlab.demography`.
The load (1-minute load average) before and after each run is recorded beside it, because wall times
on a shared machine are not the recipe's. Usage:

    python benchmarks/default_recipes.py electrothermal [--problems a,b] [--work runs/defaults] [--report-only]
    python benchmarks/default_recipes.py population [...]

The section between ``<!-- default-recipes -->`` and ``<!-- /default-recipes -->`` of
``docs/results/electrothermal.md`` (or ``population.md``) is replaced, or appended if absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import cpu_model  # noqa: E402

from fieldlab.config import read_toml  # noqa: E402
from fieldlab.problems import label  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("u", "v", "p", "phi", "T")
SETS = {
    "electrothermal": ("electrothermal-coupled", "electrothermal-gauge", "electrothermal-gauge-point",
                       "electrothermal-transport", "electrothermal-interface"),
    "population": tuple(f"population-{v}" + ("" if p == "three-child" else f":policy={p}")
                        for v in ("china2024", "tao2025")
                        for p in ("three-child", "universal-two-child", "separate-two-child")),
}
BAR = {"field": 1e-2, "total": 5e-3, "births": 3e-2, "oadr": 0.5}
BEGIN, END = "<!-- default-recipes -->", "<!-- /default-recipes -->"


def recipe_text(cfg: dict) -> str:
    """A run's model and recipe (its config, as a dict) in one line."""
    m, r = cfg.get("model", {}), cfg.get("recipe", {})
    s = r.get("sampling", {})
    stages = ", ".join(f"{st.get('optimizer', 'adam')} {st.get('steps')}"
                       + (f" (lr {st['lr']:g})" if "lr" in st else "")
                       + (f" {st['dtype']}" if st.get("dtype") else "") for st in r.get("stages", []))
    weights = "; weights " + ", ".join(f"{k} {v:g}" for k, v in r["weights"].items()) if r.get("weights") else ""
    return (f"{m.get('name', 'mlp')} {m.get('width', '')}x{m.get('depth', '')}; {s.get('interior', '')} interior, "
            f"{s.get('boundary', '')} boundary points; {stages}{weights}")


def solve(name: str, out: Path) -> dict:
    """Run ``fieldlab solve name`` into ``out`` unless it holds a finished run; the run's metrics, loads and
    config (the recipe it was trained with, which a later change of the defaults does not rewrite)."""
    side = out.parent / f"{out.name}.load.json"
    if not (out / "metrics.json").exists():
        before = os.getloadavg()[0]
        cmd = [sys.executable, "-m", "fieldlab.cli", "solve", name, "--quiet", "--out", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{name}: {proc.stderr.strip()[-400:]}")
        side.write_text(json.dumps({"before": before, "after": os.getloadavg()[0]}))
    loads = json.loads(side.read_text()) if side.exists() else {}
    return {**json.loads((out / "metrics.json").read_text()), "load": loads, "config": read_toml(out / "config.toml")}


def population_errors(out: Path) -> dict[str, float]:
    """Largest error over the years of N, B (relative) and the OADR (points) of the run in ``out``."""
    from fieldlab.demography import errors, from_reference, from_run
    from fieldlab.run import load_run

    run = load_run(out)
    e = errors(from_run(run), from_reference(run.config.problem))
    return {k: float(np.max(e[k])) for k in ("total", "births", "oadr")}


def _load(m: dict) -> str:
    ld = m.get("load", {})
    return f"{ld['before']:.1f} / {ld['after']:.1f}" if ld else "-"


def electrothermal_rows(names, work: Path) -> list[str]:
    lines = ["| problem | recipe | steps | wall [s] | load before / after | " + " | ".join(FIELDS)
             + " | worst | p mean error | p shape error | bar (1e-2) |",
             "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in FIELDS) + " | --- | --- | --- | --- |"]
    for name in names:
        m = solve(name, work / label(name))
        errs = [m.get(f"rel_l2_{f}", float("nan")) for f in FIELDS]
        worst = max(errs)
        verdict = "met" if worst <= BAR["field"] else f"missed x{worst / BAR['field']:.1f}"
        extra = [f"{m[k]:.2e}" if k in m else "-" for k in ("p_mean_error", "rel_l2_p_shape")]
        lines.append(f"| {name} | {recipe_text(m['config'])} | {m['steps']} | {m['wall_time_s']:.0f} | {_load(m)} | "
                     + " | ".join(f"{e:.2e}" for e in errs) + f" | {worst:.2e} | " + " | ".join(extra)
                     + f" | {verdict} |")
    return lines


def population_rows(names, work: Path) -> list[str]:
    lines = ["| problem | recipe | steps | wall [s] | load before / after | rel L2 of p | max N error | max B error "
             "| max OADR error [points] | bar (0.5 %, 3 %, 0.5 points) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        m = solve(name, work / label(name))
        e = population_errors(work / label(name))
        ok = all(e[k] <= BAR[k] for k in ("total", "births", "oadr"))
        lines.append(f"| {name} | {recipe_text(m['config'])} | {m['steps']} | {m['wall_time_s']:.0f} | {_load(m)} | "
                     f"{m['rel_l2']:.2e} | {100 * e['total']:.2f} % | {100 * e['births']:.2f} % | {e['oadr']:.2f} | "
                     f"{'met' if ok else 'missed'} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--problems", default=None, help="comma-separated subset (default: all of the set)")
    ap.add_argument("--work", type=Path, default=Path("runs/defaults"))
    ap.add_argument("--out", type=Path, default=None, help="results page (default docs/results/SET.md)")
    args = ap.parse_args()
    names = args.problems.split(",") if args.problems else SETS[args.set]
    args.work.mkdir(parents=True, exist_ok=True)
    rows = (electrothermal_rows if args.set == "electrothermal" else population_rows)(names, args.work)
    cores = os.cpu_count()
    text = "\n".join([
        BEGIN, "## Default recipes", "",
        f"`fieldlab solve NAME` with the built-in defaults (no options), run by `python benchmarks/default_recipes.py "
        f"{args.set}` on {datetime.date.today().isoformat()}, {platform.node()}: {cpu_model()}, {cores} cores, CPU. "
        "The machine was shared: the load average before and after each run says how many cores' worth of other "
        "work it competed with, so the wall times are upper bounds of what the recipe takes on free cores; the "
        "steps fix the recipe, and its accuracy does not depend on the load.", "",
        *rows, "", END])
    page = args.out or ROOT / "docs" / "results" / f"{args.set}.md"
    old = page.read_text() if page.exists() else ""
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    page.write_text(new)
    print(text)


if __name__ == "__main__":
    main()
