"""Figures of a run, as :class:`matplotlib.figure.Figure` objects: fields against the reference and curves.

:func:`field_figures` chooses by the coordinates (time, when the problem has it, is the last):

==================  =====================================================================================
coordinates         figures
==================  =====================================================================================
``x``               ``profile``: each field against ``x``, predicted and reference; ``error`` below it
``x, y``            ``prediction``, ``reference``, ``error``: maps
``x, t``            the maps above, and ``snapshots``: line plots of each field at five times
``x, y, z``         ``slices``: the three mid-planes of each field; ``error_slices``
``x, y, t``         ``snapshots``: maps at four times (rows: fields, and their errors)
``x, y, z, t``      ``snapshots``: the mid-``z`` plane at four times
==================  =====================================================================================

Maps draw the first coordinate of a plane across and the second up (``x`` across, ``y`` up), except
that time, when it is in the plane, goes across (``x`` up, ``t`` across, as space-time diagrams are
drawn). Without a reference (``ref=None``) only the prediction is drawn. Nothing touches pyplot's global
state or the backend: figures are drawn on ``Figure`` objects (see :class:`Figures`) and saved with
:func:`save`.
"""

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


def save(fig, path: Path, dpi: int = 110) -> Path:
    """Save ``fig`` (PNG by the suffix) and free its artists."""
    fig.savefig(path, dpi=dpi)
    Figures.close(fig)
    return Path(path)


def plot_counts(d: int) -> tuple[int, ...]:
    """Grid counts for drawing a field without a reference grid."""
    return (401,) if d == 1 else (161,) * 2 if d == 2 else (49,) * 3 if d == 3 else (25,) * d


def oriented_plane(plane: np.ndarray, a_axis, b_axis, a_name: str, b_name: str, *, b_is_time: bool = False):
    """A plane over coordinates ``(a, b)`` (first array axis: ``a``) as ``(image, extent, across, up)`` for
    ``imshow(image, origin="lower", extent=extent)``: ``a`` across and ``b`` up, or, when ``b`` is time,
    ``b`` across and ``a`` up."""
    if b_is_time:
        return plane, [b_axis[0], b_axis[-1], a_axis[0], a_axis[-1]], b_name, a_name
    return plane.T, [a_axis[0], a_axis[-1], b_axis[0], b_axis[-1]], a_name, b_name


def _nearest(axis: np.ndarray, k: int) -> list[int]:
    """``k`` indices spread evenly over ``axis``, first and last included."""
    return sorted(set(np.linspace(0, len(axis) - 1, k).round().astype(int).tolist()))


def _maps(coords, fields, axes, pred, ref, timed: bool = False) -> dict:
    plt = _plt()
    a, b = axes
    figs = {}
    kinds = [("prediction", pred, "RdBu_r")]
    if ref is not None:
        err = np.abs(pred - ref)
        kinds += [("reference", ref, "RdBu_r"), ("error", err, "magma")]
    for name, data, cmap in kinds:
        fig, axs = plt.subplots(1, len(fields), figsize=(5.2 * len(fields), 4), squeeze=False)
        for k, field in enumerate(fields):
            ax = axs[0, k]
            image, extent, across, up = oriented_plane(data[..., k], a, b, coords[0], coords[1], b_is_time=timed)
            im = ax.imshow(image, origin="lower", aspect="auto", extent=extent, cmap=cmap)
            ax.set_xlabel(across)
            ax.set_ylabel(up)
            title = {"prediction": f"{field}, predicted", "reference": f"{field}, reference",
                     "error": f"|{field} - reference|, max {np.nanmax(data[..., k]):.2e}"}[name]
            ax.set_title(title)
            fig.colorbar(im, ax=ax)
        fig.tight_layout()
        figs[name] = fig
    return figs


def _profile(coords, fields, axes, pred, ref) -> dict:
    plt = _plt()
    (x,) = axes
    rows = 1 if ref is None else 2
    fig, axs = plt.subplots(rows, len(fields), figsize=(5.2 * len(fields), 3.2 * rows), squeeze=False, sharex=True)
    for k, field in enumerate(fields):
        ax = axs[0, k]
        ax.plot(x, pred[:, k], lw=1.8, label="predicted")
        if ref is not None:
            ax.plot(x, ref[:, k], "k--", lw=1.0, label="reference")
            e = axs[1, k]
            err = np.abs(pred[:, k] - ref[:, k])
            floor = max(float(np.nanmax(err)) * 1e-6, np.finfo(float).tiny) if np.isfinite(err).any() else 1.0
            e.semilogy(x, np.maximum(err, floor), color="C3", lw=1.0)  # exact zeros drawn at the floor
            e.set_ylabel(f"|{field} - reference|")
            e.set_xlabel(coords[0])
        else:
            ax.set_xlabel(coords[0])
        ax.set_ylabel(field)
        ax.legend(fontsize=8)
    for ax in axs.ravel():
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return {"profile": fig}


def _lines_over_time(coords, fields, axes, pred, ref) -> dict:
    """1D + t: each field against x at five times."""
    plt = _plt()
    x, t = axes
    picks = _nearest(t, 5)
    fig, axs = plt.subplots(1, len(fields), figsize=(5.2 * len(fields), 3.6), squeeze=False)
    for k, field in enumerate(fields):
        ax = axs[0, k]
        for j, i in enumerate(picks):
            ax.plot(x, pred[:, i, k], color=f"C{j}", lw=1.6, label=f"{coords[1]} = {t[i]:.3g}")
            if ref is not None:
                ax.plot(x, ref[:, i, k], "k--", lw=0.9)
        ax.set_xlabel(coords[0])
        ax.set_ylabel(field)
        ax.set_title(f"{field} over time" + (" (dashed: reference)" if ref is not None else ""))
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return {"snapshots": fig}


def _panel_grid(title_rows, planes, xlab, ylab, extent, cmaps):
    """One figure of image panels: ``planes[r][c]`` is a 2-D image (its first axis up, its second across)."""
    plt = _plt()
    nr, nc = len(planes), len(planes[0])
    fig, axs = plt.subplots(nr, nc, figsize=(3.6 * nc, 3.0 * nr), squeeze=False)
    for r in range(nr):
        for c in range(nc):
            ax = axs[r, c]
            im = ax.imshow(planes[r][c], origin="lower", aspect="auto", extent=extent[c] if isinstance(extent[0], list)
                           else extent, cmap=cmaps[r])
            ax.set_title(title_rows[r][c], fontsize=9)
            ax.set_xlabel(xlab[c] if isinstance(xlab, list) else xlab)
            ax.set_ylabel(ylab[c] if isinstance(ylab, list) else ylab)
            fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def _slices(coords, fields, axes, pred, ref) -> dict:
    """3D: the three mid-planes of each field (and of its error)."""
    mid = [len(a) // 2 for a in axes]
    planes_of = [
        (lambda v: v[:, :, mid[2]], (0, 1), f"{coords[2]} = {axes[2][mid[2]]:.3g}"),
        (lambda v: v[:, mid[1], :], (0, 2), f"{coords[1]} = {axes[1][mid[1]]:.3g}"),
        (lambda v: v[mid[0], :, :], (1, 2), f"{coords[0]} = {axes[0][mid[0]]:.3g}"),
    ]
    figs = {}
    kinds = [("slices", pred, "RdBu_r", "")] + ([("error_slices", np.abs(pred - ref), "magma", "|error| ")]
                                               if ref is not None else [])
    for name, data, cmap, label in kinds:
        rows = [[f"{label}{f}, {where}" for _, _, where in planes_of] for f in fields]
        drawn = [[oriented_plane(cut(data[..., k]), axes[a], axes[b], coords[a], coords[b]) for cut, (a, b), _ in planes_of]
                 for k in range(len(fields))]
        _, extents, xl, yl = (list(col) for col in zip(*drawn[0]))
        figs[name] = _panel_grid(rows, [[d[0] for d in row] for row in drawn], xl, yl, extents, [cmap] * len(fields))
    return figs


def _maps_over_time(coords, fields, axes, pred, ref) -> dict:
    """2D + t (or 3D + t at the mid-z plane): maps of each field at four times."""
    t = axes[-1]
    picks = _nearest(t, 4)
    if len(axes) == 4:
        m = len(axes[2]) // 2
        pred = pred[:, :, m]
        ref = ref[:, :, m] if ref is not None else None
        where = f", {coords[2]} = {axes[2][m]:.3g}"
    else:
        where = ""
    def image(plane):  # a spatial plane: the first coordinate across
        return oriented_plane(plane, axes[0], axes[1], coords[0], coords[1])

    rows, planes, cmaps = [], [], []
    for k, f in enumerate(fields):
        rows.append([f"{f}, {coords[-1]} = {t[i]:.3g}{where}" for i in picks])
        planes.append([image(pred[:, :, i, k])[0] for i in picks])
        cmaps.append("RdBu_r")
        if ref is not None:
            rows.append([f"|{f} - reference|, {coords[-1]} = {t[i]:.3g}" for i in picks])
            planes.append([image(np.abs(pred[:, :, i, k] - ref[:, :, i, k]))[0] for i in picks])
            cmaps.append("magma")
    _, extent, across, up = image(pred[:, :, 0, 0])
    return {"snapshots": _panel_grid(rows, planes, across, up, extent, cmaps)}


def field_figures(coords, fields, axes, pred: np.ndarray, ref: np.ndarray | None = None, *,
                  timed: bool = False) -> dict:
    """Figures of fields on a tensor grid (``pred``/``ref`` shaped like the grid + ``(m,)``), by name.

    ``timed``: the last coordinate is time. See the module's table for what each case draws.
    """
    d = len(axes)
    if d == 1:
        return _profile(coords, fields, axes, pred, ref)
    if d == 2:
        figs = _maps(coords, fields, axes, pred, ref, timed)
        if timed:
            figs.update(_lines_over_time(coords, fields, axes, pred, ref))
        return figs
    if d == 3 and not timed:
        return _slices(coords, fields, axes, pred, ref)
    if d in (3, 4) and timed:
        return _maps_over_time(coords, fields, axes, pred, ref)
    return {}


def field_maps(out: Path, coords, fields, axes, pred: np.ndarray, ref: np.ndarray) -> list[Path]:
    """Maps of the first two coordinates for each field written as PNG; ``pred``/``ref`` shaped like the grid + (m,)."""
    if len(axes) != 2:
        return []
    return [save(fig, Path(out) / f"{name}.png") for name, fig in _maps(coords, fields, axes, pred, ref).items()]


def curves_figure(history: list[dict]):
    """Loss against step and relative L2 error against wall time."""
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
    return fig


def curves(out: Path, history: list[dict]) -> Path | None:
    """``curves.png``: loss against step and relative L2 error against wall time."""
    if not history:
        return None
    return save(curves_figure(history), Path(out) / "curves.png")


def scattered_figures(coords, fields, points: np.ndarray, pred: np.ndarray, ref: np.ndarray,
                      inside=None, title: str = "") -> dict:
    """``prediction``, ``reference`` and ``error`` figures: filled contours of prediction, reference and absolute error at scattered 2-D ``points`` (n, 2).

    ``pred`` and ``ref`` are ``(n, m)``. The values are drawn on the Delaunay triangulation of the
    points; ``inside`` (``(k, 2) -> bool (k,)``, optional) masks the triangles whose centroid lies
    outside the domain, so that holes and concave parts stay empty. In one dimension (``points``
    ``(n, 1)``) the three panels are curves along the coordinate instead.
    """
    from matplotlib.tri import Triangulation

    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] not in (1, 2) or len(points) < 3:
        return {}
    plt = _plt()
    err = np.abs(pred - ref)
    tri = None
    if points.shape[1] == 2:
        tri = Triangulation(points[:, 0], points[:, 1])
        if inside is not None:
            centroids = points[tri.triangles].mean(axis=1)
            tri.set_mask(~np.asarray(inside(centroids), dtype=bool))
    order = np.argsort(points[:, 0])
    figs = {}
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
        figs[name] = fig
    return figs
