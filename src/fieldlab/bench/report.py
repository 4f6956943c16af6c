"""Bench tables (Markdown, CSV, JSON), figures and one HTML page from the per-cell results."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..training.checkpoint import atomic_write_text
from .runner import THRESHOLDS

METRICS = ("rel_l2", "mse", "rmse", "mae", "max_ae", "spec_low", "spec_mid", "spec_high", "wall_time_s",
           "steps_per_s") + tuple(f"t_{t:g}" for t in THRESHOLDS)
STALL_RATIO = 0.1  # a run "stalls" if its final loss is above this fraction of its first loss


def _stats(values):
    arr = np.array([v for v in values if v is not None], dtype=float)
    ok = arr[np.isfinite(arr)]
    if ok.size == 0:
        return math.nan, math.nan, 0
    return float(ok.mean()), float(ok.std(ddof=1)) if ok.size > 1 else 0.0, int(ok.size)


def _label(problem: str) -> str:
    from ..problems import label

    return label(problem)


def recipe_of(r: dict) -> str:
    """The training recipe of a result: a preset's name, a recipe file's stem, or the default."""
    from ..training.presets import label

    return "default" if r.get("recipe") is None else label(r["recipe"])


def who(r: dict) -> str:
    """Backbone, and training recipe when the bench compares recipes: the label of a curve."""
    return r["model"] if r.get("recipe") is None else f"{r['model']} / {recipe_of(r)}"


def aggregate(results: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds for each (problem, model, recipe, lr)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in results:
        groups[(r["problem"], r["model"], recipe_of(r), r.get("lr"))].append(r)
    rows = []
    for (problem, model, recipe, lr), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        row = {"problem": problem, "model": model, "recipe": recipe, "lr": lr, "seeds": len(rs), "failed": len(rs) - len(ok),
               "n_params": ok[0]["n_params"] if ok else None}
        for m in METRICS:
            mean, std, n = _stats([r.get(m) for r in ok])
            row[m], row[f"{m}_std"] = mean, std
            if m.startswith("t_"):  # the time to a threshold is a mean over the seeds that reached it
                row[f"{m}_reached"] = n
        rows.append(row)
    return rows


def lr_windows(results: list[dict]) -> dict[tuple[str, str], dict]:
    """Per (problem, model): the learning rates at which training neither diverged nor stalled (all seeds)."""
    by: dict[tuple, dict[float, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.get("lr") is not None:
            by[(r["problem"], r["model"])][r["lr"]].append(r)
    out = {}
    for key, per_lr in by.items():
        stable, verdicts = [], {}
        for lr, rs in sorted(per_lr.items()):
            if any(r["status"] != "ok" for r in rs):
                verdicts[lr] = "diverged"
            elif any(r["final_loss"] > STALL_RATIO * r["first_loss"] for r in rs):
                verdicts[lr] = "stalled"
            else:
                verdicts[lr] = "stable"
                stable.append(lr)
        out[key] = {"stable": stable, "verdicts": verdicts,
                    "window": (min(stable), max(stable)) if stable else None}
    return out


def _fmt(mean, std=None):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    text = f"{mean:.2e}" if abs(mean) < 0.01 or abs(mean) >= 1000 else f"{mean:.3g}"
    return text if not std else f"{text} ± {std:.1e}"


def markdown_table(rows: list[dict]) -> str:
    cols = ["problem", "model", "recipe", "lr", "params", "rel L2", "MSE", "RMSE", "MAE", "MaxAE", "spec low", "spec mid",
            "spec high", "wall [s]", "steps/s"] + [f"t(≤{t:g}) [s]" for t in THRESHOLDS] + ["failed"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in sorted(rows, key=lambda r: (r["problem"], r["rel_l2"] if np.isfinite(r["rel_l2"]) else np.inf)):
        cells = [_label(r["problem"]), r["model"], r.get("recipe", "default"), "-" if r["lr"] is None else f"{r['lr']:g}", str(r["n_params"] or "-")]
        ok = r["seeds"] - r["failed"]
        cells += [_fmt(r[m], r[f"{m}_std"]) + (f" ({r[m + '_reached']}/{ok} reached)"
                                                if 0 < r.get(f"{m}_reached", ok) < ok else "") for m in METRICS]
        cells.append(f"{r['failed']}/{r['seeds']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(out: Path, results: list[dict]) -> list[dict]:
    rows = aggregate(results)
    windows = lr_windows(results)
    md = [markdown_table(rows)]
    if windows:
        md += ["", "Stable learning-rate window (neither diverged nor stalled, all seeds):", "",
               "| problem | model | window | verdicts |", "|---|---|---|---|"]
        for (p, m), w in sorted(windows.items()):
            win = "none" if w["window"] is None else f"{w['window'][0]:g} – {w['window'][1]:g}"
            md.append(f"| {p} | {m} | {win} | " + ", ".join(f"{lr:g}: {v}" for lr, v in w["verdicts"].items()) + " |")
    atomic_write_text(out / "table.md", "\n".join(md) + "\n")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["problem"])
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out / "table.csv", buf.getvalue())
    payload = {"rows": rows, "lr_windows": {f"{p}/{m}": v for (p, m), v in windows.items()},
               "cells": [{k: v for k, v in r.items() if k != "curve"} for r in results]}
    atomic_write_text(out / "results.json", json.dumps(payload, indent=1, default=str))
    return rows


def write_figures(out: Path, results: list[dict]) -> list[Path]:
    from ..report.figures import Figures as plt  # Figure objects: the process's backend is left alone
    from ..report.figures import oriented_plane

    paths = []
    problems = sorted({r["problem"] for r in results})
    for problem in problems:
        rs = [r for r in results if r["problem"] == problem and r["status"] == "ok"]
        if not rs:
            continue
        # error against wall time: one line per model (first seed, first lr)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        firsts = {}
        for r in sorted(rs, key=lambda r: (r["seed"], r.get("lr") or 0)):
            firsts.setdefault(who(r), r)
        for model, r in sorted(firsts.items()):
            c = np.array(r["curve"])
            if c.size:
                ax.semilogy(c[:, 0], c[:, 1], label=f"{model} ({r['n_params']})")
        ax.set_xlabel("wall time [s]")
        ax.set_ylabel("relative L2 error")
        ax.set_title(_label(problem))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out / f"error_vs_time_{_label(problem)}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
        # error maps and spectra
        data = {}
        for model, r in firsts.items():
            npz = out / "cells" / f"{r['key']}.npz"
            if npz.exists():
                with np.load(npz) as z:
                    if "axis0" not in z:  # a scattered reference: no map or spectrum on a grid
                        continue
                    data[model] = (z["pred"], z["ref"], [z[f"axis{i}"] for i in range(z["ref"].ndim - 1)], r)
        if not data:
            continue
        n = len(data)
        cols = min(4, n)
        rows_ = int(math.ceil(n / cols))
        fig, axs = plt.subplots(rows_, cols, figsize=(3.4 * cols, 2.8 * rows_), squeeze=False)
        vmax = max(np.abs(p - f).max() for p, f, _, _ in data.values())
        for ax, (model, (pred, ref, axes, r)) in zip(axs.ravel(), sorted(data.items())):
            err = np.abs(pred - ref)[..., 0]
            if err.ndim == 2:  # as a run's maps: x across and y up, or time across (older cells: second axis across)
                names = r.get("coords") or ["", ""]
                image, extent, across, up = oriented_plane(err, axes[0], axes[1], names[0], names[1],
                                                    b_is_time=r.get("timed", True))
                im = ax.imshow(image, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax, extent=extent)
                ax.set_xlabel(across, fontsize=8)
                ax.set_ylabel(up, fontsize=8)
            else:
                ax.plot(axes[0], err)
            ax.set_title(f"{model}: max {err.max():.1e}", fontsize=8)
        for ax in axs.ravel()[n:]:
            ax.axis("off")
        if data and next(iter(data.values()))[0].ndim == 3:
            fig.colorbar(im, ax=axs.ravel().tolist(), shrink=0.8)
        paths.append(out / f"error_maps_{_label(problem)}.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for model, (pred, ref, _, _) in sorted(data.items()):
            e = np.fft.rfft(pred - ref, axis=0)
            spec = np.sqrt(np.mean(np.abs(e.reshape(e.shape[0], -1)) ** 2, axis=1))
            ax.semilogy(np.arange(spec.size), spec, label=model)
        ax.set_xlabel("wavenumber index (first coordinate)")
        ax.set_ylabel("error amplitude")
        ax.set_title(f"{_label(problem)}: error spectra")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out / f"spectra_{_label(problem)}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def write_html(out: Path, command: str, figures: list[Path]) -> Path:
    table = (out / "table.md").read_text() if (out / "table.md").exists() else ""
    imgs = "\n".join(f'<figure><img src="{html.escape(p.name)}" style="max-width:100%"><figcaption>{html.escape(p.stem)}'
                     f"</figcaption></figure>" for p in figures)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>fieldlab bench</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}} pre{{font-size:11px;overflow-x:auto}}</style></head>
<body><h1>fieldlab bench</h1><p>Command: <code>{html.escape(command)}</code></p>
<p>Tables: <a href="table.md">Markdown</a>, <a href="table.csv">CSV</a>, <a href="results.json">JSON</a>.</p>
<pre>{html.escape(table)}</pre>{imgs}</body></html>"""
    atomic_write_text(out / "index.html", page)
    return out / "index.html"
