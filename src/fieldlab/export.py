"""Predictions leave fieldlab in the formats people use: ``.npy``, ``.csv`` and NetCDF (``.nc``).

:func:`write_points` writes fields predicted at scattered points. Formats, by the file's suffix:

- ``.npy``: the values alone, shape ``(n, m)`` (fields in the problem's order);
- ``.csv``: a header with the coordinate and field names, then one row per point;
- ``.nc``: a NetCDF file (through xarray) with one variable per coordinate and per field along the
  dimension ``point``, and the problem's name as an attribute; it reopens with ``xarray.open_dataset``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .errors import FieldlabError

FORMATS = (".npy", ".csv", ".nc")


def check_format(path: Path) -> None:
    if Path(path).suffix not in FORMATS:
        raise FieldlabError(f"{path} must end in {', '.join(FORMATS)}; for example predictions.csv.")


def encode(path: Path, coords, fields, points: np.ndarray, values: np.ndarray, problem: str = "") -> bytes:
    """The bytes of ``path``'s format for ``values`` (n, m) at ``points`` (n, d)."""
    suffix = Path(path).suffix
    check_format(path)
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, values)
        return buf.getvalue()
    if suffix == ".csv":
        buf = io.StringIO()
        np.savetxt(buf, np.hstack([points, values]), delimiter=",", header=",".join((*coords, *fields)),
                   comments="", fmt="%.17g")
        return buf.getvalue().encode()
    import xarray as xr

    ds = xr.Dataset({name: ("point", np.asarray(col)) for name, col in
                     zip((*coords, *fields), np.hstack([points, values]).T)}, attrs={"problem": problem})
    for c in coords:
        ds[c].attrs["long_name"] = f"coordinate {c}"
    for f in fields:
        ds[f].attrs["long_name"] = f"predicted field {f}"
    return ds.to_netcdf(engine="scipy")


def write_points(path: Path, coords, fields, points: np.ndarray, values: np.ndarray, problem: str = "") -> None:
    """Write ``values`` (n, m) predicted at ``points`` (n, d) to ``path`` (``.npy``, ``.csv`` or ``.nc``), atomically."""
    from .training.checkpoint import atomic_write_bytes

    atomic_write_bytes(Path(path), encode(path, coords, fields, np.asarray(points, np.float64),
                                          np.asarray(values, np.float64), problem))
