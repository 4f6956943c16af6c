"""Figures of a discovery run: learned against true closures, rollout errors, space-time error maps,
how the forecasts of pairs that fit the data equally well part beyond the data, and the ensemble's
bands with the range of u the data support (the generalisation assessment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_figures(out: Path, found: dict, ds, truth, checked, assessment: dict | None = None) -> list[Path]:
    """``checked``: the :class:`~.pipeline.Validation` of ``found`` (rollouts and their references);
    ``assessment``: :func:`~.assess.assess`'s result, for ``generalisation.png``."""
    from ..report.figures import Figures as plt  # Figure objects: the process's backend is left alone

    paths = []
    lo, hi = float(ds.u.min()), float(ds.u.max())
    u = np.linspace(lo, hi, 256)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("D", "R")):
        if truth is not None:
            ax.plot(u, getattr(truth, f"{key}_fn")()(u), "k-", lw=2.5, label="truth")
        for m, f in found.items():
            ax.plot(u, getattr(f, key)(u), lw=1.3, ls="--" if "poly" in m else "-", label=m)
        ax.set_xlabel("u")
        ax.set_title(f"{key}(u) over the observed range")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "closures.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    if assessment and assessment.get("bands") and assessment.get("chosen") in found:
        paths.append(_bands_figure(out / "generalisation.png", found[assessment["chosen"]], assessment, truth, plt))
    ties = [(m, tie) for m, f in found.items() for tie in f.info.get("ties") or []]
    if ties:
        paths.append(_ties_figure(out / "ties.png", ties, float(ds.t[-1]), plt))
    references = checked.references
    if not references:
        return paths
    t, x = checked.t, checked.x
    names = list(references)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        for m in found:
            roll = checked.rollouts.get(m, {}).get(name)
            if roll is None:
                continue
            err = np.linalg.norm(roll - references[name], axis=1) / np.linalg.norm(references[name], axis=1)
            ax.semilogy(t, np.maximum(err, 1e-16), label=m)
        ax.set_title(f"rollout from '{name}'")
        ax.set_xlabel("t")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("relative L2 error")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "rollout.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    name = names[0]
    rolled = [(m, checked.rollouts.get(m, {}).get(name)) for m in found]
    rolled = [(m, r) for m, r in rolled if r is not None]
    if rolled:
        errors = [np.abs(r - references[name]) for _, r in rolled]
        # one colour scale for all panels, so that they compare at a glance; a method far worse than
        # the best saturates rather than washing the others out (its panel title gives its maximum)
        best = min(float(e.max()) for e in errors)
        vmax = min(max(float(e.max()) for e in errors), 10 * best) or 1.0
        fig, axes = plt.subplots(1, len(rolled), figsize=(3.4 * len(rolled) + 1.0, 3.4), squeeze=False,
                                 layout="constrained")
        for ax, (m, _), err in zip(axes[0], rolled, errors):
            im = ax.pcolormesh(x, t, err, shading="auto", cmap="magma", vmin=0.0, vmax=vmax)
            ax.set_title(f"{m}\n(max {err.max():.2g})", fontsize=9)
            ax.set_xlabel("x")
        fig.colorbar(im, ax=axes[0].tolist(), label="|error|")
        axes[0][0].set_ylabel("t")
        fig.suptitle(f"space-time error of the rollout from '{name}' (one colour scale)", fontsize=10)
        paths.append(out / "error_map.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _ties_figure(path: Path, ties: list, t_end: float, plt) -> Path:
    """Forecast difference against time for each pair that fits the data as well as the chosen one."""
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for m, tie in ties:
        fc = tie["forecast"]
        ax.semilogy(fc["times"], np.maximum(fc["difference"], 1e-16),
                    label=f"{m}: {tie['family']['D']} / {tie['family']['R']} (+{tie['delta']:.1f})")
    ax.axvspan(0.0, t_end, color="0.85", zorder=0, label="observed")
    ax.set_xlabel("t")
    ax.set_ylabel("relative L2 difference from the chosen pair")
    ax.set_title("forecasts of the pairs the data do not tell apart", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _bands_figure(path: Path, chosen, a: dict, truth, plt) -> Path:
    """The chosen D and R, the ensemble's band and the range of u the data support for each law."""
    b, sup = a["bands"], a["support"]
    u = np.asarray(b["u"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("D", "R")):
        ax.axvspan(*sup[key], color="0.88", zorder=0, label="supported by the data")
        ax.fill_between(u, b[f"{key}_lo"], b[f"{key}_hi"], color="C0", alpha=0.3, label="ensemble band")
        ax.plot(u, getattr(chosen, key)(u), "C0-", lw=1.5, label=f"chosen ({a['chosen']})")
        if truth is not None:
            ax.plot(u, getattr(truth, f"{key}_fn")()(u), "k--", lw=1.2, label="truth")
        ax.set_xlabel("u")
        ax.set_title(f"{key}(u): band {b[f'{key}_width']:.1%} of its largest value")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
