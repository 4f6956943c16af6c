"""Checks and NetCDF reading for the data sets of :mod:`.data` that are 2-D (``y``) or hold two species (``v``).

Rules (each failure one :class:`~fieldlab.errors.FieldlabError`), in addition to those of
:func:`.data.validate` for ``x``, ``t`` and the values: ``y`` is 1-D, strictly increasing, with at
least :data:`~.data.MIN_X` positions; ``u`` has shape ``(nt, nx[, ny])`` or ``(runs, nt, nx[, ny])``
(no transposed layouts are guessed in 2-D); ``v``, when present, has exactly the shape of ``u``;
neither field is constant.
"""

from __future__ import annotations

import numpy as np

from ..errors import FieldlabError
from .data import MIN_T, MIN_X, Dataset

__all__ = ["nc_fields", "validate_fields"]


def validate_fields(ds: Dataset, source: str = "the dataset") -> Dataset:
    """:func:`.data.validate` for a data set with ``y`` or ``v``; returns it unchanged or raises."""
    grids = [("x", ds.x, MIN_X), ("t", ds.t, MIN_T)] + ([] if ds.y is None else [("y", ds.y, MIN_X)])
    for name, a, _ in grids:
        if a.ndim != 1:
            raise FieldlabError(f"{source}: '{name}' must be 1-D; got shape {a.shape}.")
    space = ds.space_shape
    one, many = (ds.t.size,) + space, "(runs, " + ", ".join(map(str, (ds.t.size,) + space)) + ")"
    if ds.u.ndim not in (len(one), len(one) + 1) or ds.u.shape[-len(one):] != one or ds.u.shape[0] == 0:
        names = "(len(t), len(x))" if ds.y is None else "(len(t), len(x), len(y))"
        raise FieldlabError(f"{source}: 'u' must have shape {names} = {one}, or {many} for several runs; "
                            f"got {ds.u.shape}.")
    if ds.v is not None and ds.v.shape != ds.u.shape:
        raise FieldlabError(f"{source}: 'v' (the second species) must have the shape of 'u', {ds.u.shape}; got {ds.v.shape}.")
    values = [(name, a) for name, a, _ in grids] + [(k, getattr(ds, k)) for k in ds.species]
    for name, a in values:
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise FieldlabError(f"{source}: '{name}' has {bad} NaN or infinite values; remove or fill them.")
    for name, a, least in grids:
        if a.size < least:
            raise FieldlabError(f"{source}: '{name}' has {a.size} points; discovery needs at least {least}.")
        if np.any(np.diff(a) <= 0):
            raise FieldlabError(f"{source}: '{name}' must be strictly increasing (sort it, with the fields along).")
    for name in ds.species:
        a = getattr(ds, name)
        scale = float(np.max(np.abs(a)))
        if float(np.std(a)) <= 1e-12 * scale or scale == 0.0:
            raise FieldlabError(f"{source}: '{name}' is constant ({float(a.flat[0]):.6g}); it holds no dynamics to "
                                "learn from.")
    return ds


def nc_fields(nc, path) -> tuple:
    """``(x, t, u, y, v)`` from an open xarray data set with a 2-D ``u`` (dimension ``y``) or a variable ``v``;
    dimensions stored in another order are transposed (the names make it unambiguous)."""
    u = nc["u"]
    space = ("x", "y") if "y" in u.dims else ("x",)
    dims = ("t",) + space if u.ndim == len(space) + 1 else ("run", "t") + space
    out = {}
    for name in ("u", "v"):
        if name not in nc.data_vars:
            continue
        a = nc[name]
        if set(a.dims) != set(dims):
            raise FieldlabError(f"{path}: '{name}' must have dimensions {dims}; got {tuple(a.dims)}.")
        out[name] = a.transpose(*dims)
    for c in ("t",) + space:
        if c not in u.coords:
            raise FieldlabError(f"{path}: 'u' lacks the coordinate '{c}'.")
    try:
        x, t = (np.asarray(u[c].values, dtype=np.float64) for c in ("x", "t"))
        y = np.asarray(u["y"].values, dtype=np.float64) if "y" in space else None
        values = {k: np.asarray(a.values, dtype=np.float64) for k, a in out.items()}
    except (TypeError, ValueError):
        raise FieldlabError(f"{path}: the coordinates and fields must be numeric.") from None
    return x, t, values["u"], y, values.get("v")
