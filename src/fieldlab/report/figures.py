"""PNG figures of a run: prediction, reference, absolute error (on the reference grid) and curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


class Figures:
    """``subplots`` and ``close`` in the shape of pyplot's, on :class:`matplotlib.figure.Figure`
    objects: no backend switch and no global figure state, so figures are safe in notebooks and threads."""

    @staticmethod
    def subplots(*args, figsize=None, layout=None, **kwargs):
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout=layout)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig) -> None:
        fig.clear()


def _plt() -> type[Figures]:
    return Figures


def field_maps(out: Path, coords, fields, axes, pred: np.ndarray, ref: np.ndarray) -> list[Path]:
    """Maps of the first two coordinates for each field; ``pred``/``ref`` shaped like the grid + (m,)."""
    if len(axes) != 2:
        return []
    plt = _plt()
    a, b = axes
    extent = [b[0], b[-1], a[0], a[-1]]
    paths = []
    err = np.abs(pred - ref)
    for name, data, cmap in (("prediction", pred, "RdBu_r"), ("reference", ref, "RdBu_r"), ("error", err, "magma")):
        fig, axs = plt.subplots(1, len(fields), figsize=(5.2 * len(fields), 4), squeeze=False)
        for k, field in enumerate(fields):
            ax = axs[0, k]
            im = ax.imshow(data[..., k], origin="lower", aspect="auto", extent=extent, cmap=cmap)
            ax.set_xlabel(coords[1])
            ax.set_ylabel(coords[0])
            title = {"prediction": f"{field}, predicted", "reference": f"{field}, reference",
                     "error": f"|{field} - reference|, max {err[..., k].max():.2e}"}[name]
            ax.set_title(title)
            fig.colorbar(im, ax=ax)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def curves(out: Path, history: list[dict]) -> Path | None:
    """Loss against step and relative L2 error against wall time."""
    if not history:
        return None
    plt = _plt()
    step = np.array([r["step"] for r in history])
    loss = np.array([r["loss"] for r in history])
    t = np.array([r["time"] for r in history])
    err = np.array([r.get("rel_l2", math.nan) for r in history], dtype=float)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.semilogy(step, loss, label="total")
    for key in history[-1]:
        if key.startswith("loss_"):
            a1.semilogy(step, [r.get(key, math.nan) for r in history], lw=0.8, label=key[5:])
    a1.set_xlabel("step")
    a1.set_ylabel("loss")
    a1.legend(fontsize=8)
    ok = np.isfinite(err)
    if ok.any():
        a2.semilogy(t[ok], err[ok], "o-", ms=3)
    a2.set_xlabel("wall time [s]")
    a2.set_ylabel("relative L2 error")
    for ax in (a1, a2):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = out / "curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scattered_maps(out: Path, coords, fields, points: np.ndarray, pred: np.ndarray, ref: np.ndarray,
                   inside=None, title: str = "") -> list[Path]:
    """Filled contours of prediction, reference and absolute error at scattered 2-D ``points`` (n, 2).

    ``pred`` and ``ref`` are ``(n, m)``. The values are drawn on the Delaunay triangulation of the
    points; ``inside`` (``(k, 2) -> bool (k,)``, optional) masks the triangles whose centroid lies
    outside the domain, so that holes and concave parts stay empty. In one dimension (``points``
    ``(n, 1)``) the three panels are curves along the coordinate instead.
    """
    from matplotlib.tri import Triangulation

    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] not in (1, 2) or len(points) < 3:
        return []
    plt = _plt()
    err = np.abs(pred - ref)
    tri = None
    if points.shape[1] == 2:
        tri = Triangulation(points[:, 0], points[:, 1])
        if inside is not None:
            centroids = points[tri.triangles].mean(axis=1)
            tri.set_mask(~np.asarray(inside(centroids), dtype=bool))
    order = np.argsort(points[:, 0])
    paths = []
    for name, data, cmap in (("prediction", pred, "RdBu_r"), ("reference", ref, "RdBu_r"), ("error", err, "magma")):
        fig, axs = plt.subplots(1, len(fields), figsize=(5.2 * len(fields), 4), squeeze=False)
        for k, field in enumerate(fields):
            ax = axs[0, k]
            if tri is not None:
                im = ax.tricontourf(tri, data[:, k], levels=40, cmap=cmap)
                ax.set_aspect("equal")
                ax.set_ylabel(coords[1])
                fig.colorbar(im, ax=ax)
            else:
                ax.plot(points[order, 0], data[order, k], ".-", ms=3)
            ax.set_xlabel(coords[0])
            label = {"prediction": f"{field}, predicted", "reference": f"{field}, reference",
                     "error": f"|{field} - reference|, max {err[:, k].max():.2e}"}[name]
            ax.set_title(f"{label}{title}", fontsize=9)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
