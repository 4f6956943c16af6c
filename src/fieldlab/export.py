"""Predictions leave fieldlab in the formats people use: NumPy, CSV, NetCDF and VTK (ParaView).

Two layouts:

- **points** (:func:`write_points`): fields predicted at scattered points ``(n, d)``;
- **grid** (:func:`write_grid`): fields on a tensor grid, one axis per coordinate (from
  :func:`grid_axes`, ``linspace(lo, hi, count)`` over the domain's bounding box), values of shape
  ``(*counts, m)``; grid points outside the domain are NaN.

Formats, by the file's suffix:

==========  ===================================================================================
``.npy``    the values alone: ``(n, m)`` at points; ``(*counts, m)`` on a grid (fields in the
            problem's order, axes in the coordinates' order)
``.csv``    a header with the coordinate and field names, then one row per point (a grid in C
            order: the last coordinate varies fastest)
``.nc``     NetCDF 3 (written by xarray with SciPy, so no C library is needed; every NetCDF reader
            opens it): on a grid, one dimension and coordinate variable per coordinate and one
            variable per field over them; at points, every variable along the dimension ``point``.
            Each variable has ``units`` (``"1"``, nondimensional, unless given) and ``long_name``;
            the global attributes name the problem and fieldlab's version
``.vtu``    VTK XML unstructured grid, for ParaView and VisIt (through meshio): a grid becomes
            cells (lines for one coordinate, quadrilaterals for two, hexahedra for three), points
            become vertices; each field, and each coordinate, is a point array. A time coordinate
            is drawn as a spatial axis (``x, t`` becomes the plane ``z = 0``); a grid of four
            coordinates (3D + t) has no VTK cell, so it is refused: export it as ``.nc``
``.vtk``    the same in VTK's legacy format
==========  ===================================================================================

Every file is written to a temporary name and renamed, so a failure never leaves half a file.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import FieldlabError

FORMATS = (".npy", ".csv", ".nc", ".vtu", ".vtk")
MAX_GRID_POINTS = 50_000_000


def check_format(path: Path) -> None:
    if Path(path).suffix not in FORMATS:
        raise FieldlabError(f"{path} must end in {', '.join(FORMATS)}; for example predictions.csv or field.vtu.")


def default_counts(d: int) -> tuple[int, ...]:
    """The default grid: about 10^4 to 4 x 10^5 points, whatever the number of coordinates."""
    return (1001,) if d == 1 else (201,) * 2 if d == 2 else (65,) * 3 if d == 3 else (25,) * d


def parse_grid(spec: str, coords: Sequence[str]) -> tuple[int, ...]:
    """``"256x101"`` -> ``(256, 101)``: one count (at least 2) per coordinate, or one sentence."""
    d = len(coords)
    example = "x".join(str(n) for n in default_counts(d))
    text = str(spec).strip().lower()
    if not re.fullmatch(r"\d+(\s*[x*,]\s*\d+)*", text):
        raise FieldlabError(f"--grid {spec} is not a grid; write one count per coordinate ({', '.join(coords)}), "
                            f"such as {example}.")
    counts = tuple(int(n) for n in re.split(r"\s*[x*,]\s*", text))
    if len(counts) != d:
        raise FieldlabError(f"--grid {spec} gives {len(counts)} count(s), but the problem has {d} coordinate(s) "
                            f"({', '.join(coords)}); give one count per coordinate, such as {example}.")
    check_counts(counts, coords)
    return counts


def check_counts(counts: Sequence[int], coords: Sequence[str]) -> None:
    if len(counts) != len(coords) or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in counts):
        raise FieldlabError(f"a grid needs one whole number per coordinate ({', '.join(coords)}); got {tuple(counts)}.")
    if min(counts) < 2:
        raise FieldlabError(f"a grid needs at least 2 points per coordinate; got {'x'.join(map(str, counts))}.")
    if math.prod(counts) > MAX_GRID_POINTS:
        raise FieldlabError(f"a {'x'.join(map(str, counts))} grid has {math.prod(counts):,} points, more than "
                            f"{MAX_GRID_POINTS:,}; choose fewer points per coordinate.")


def grid_axes(lo, hi, counts: Sequence[int], coords: Sequence[str]) -> tuple[np.ndarray, ...]:
    """``linspace(lo[i], hi[i], counts[i])`` for each coordinate ``i``."""
    check_counts(counts, coords)
    return tuple(np.linspace(float(a), float(b), int(n)) for a, b, n in zip(np.ravel(lo), np.ravel(hi), counts))


def read_points(path: Path) -> np.ndarray:
    """Points from a ``.npy`` array or a ``.csv`` file (numbers, with or without a header line)."""
    path = Path(path)
    if not path.is_file():
        raise FieldlabError(f"points file {path} does not exist.")
    if path.stat().st_size == 0:
        raise FieldlabError(f"points file {path} is empty; save an (n, d) array into it with numpy.save.")
    if path.suffix == ".csv":
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise FieldlabError(f"{path} is not a readable text file ({e}).") from None
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if lines and re.search(r"[a-df-zA-DF-Z_]", lines[0]):
            lines = lines[1:]  # a header of names
        try:
            pts = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=",", ndmin=2)
        except ValueError as e:
            raise FieldlabError(f"{path} is not a CSV of numbers ({e}); write one point per row, columns separated "
                                "by commas.") from None
        return pts
    try:
        pts = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        why = f" ({e})" if str(e) else " (it is empty)"
        raise FieldlabError(f"{path} is not a readable .npy array{why}; save it with numpy.save.") from None
    if not isinstance(pts, np.ndarray):  # an .npz archive
        pts.close()
        raise FieldlabError(f"{path} is an .npz archive, not a single .npy array; save the points with numpy.save.")
    return pts


def _version() -> str:
    from . import __version__

    return __version__


def _units(units: dict[str, str] | None, name: str) -> str:
    return str((units or {}).get(name, "1"))


def _csv(points: np.ndarray, values: np.ndarray, names: Sequence[str]) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, np.hstack([points, values]), delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return buf.getvalue().encode()


def _npy(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, values)
    return buf.getvalue()


def _netcdf(ds) -> bytes:
    return bytes(ds.to_netcdf(engine="scipy"))


def _vtk(path: Path, points: np.ndarray, cells: list, point_data: dict[str, np.ndarray]) -> bytes:
    """The bytes of a VTK file (``.vtu`` or ``.vtk``) written by meshio, through a scratch file."""
    import meshio

    xyz = np.zeros((len(points), 3))
    xyz[:, :points.shape[1]] = points
    mesh = meshio.Mesh(xyz, cells, point_data=point_data)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / f"out{Path(path).suffix}"
        if scratch.suffix == ".vtu":
            meshio.vtu.write(scratch, mesh, binary=True, compression="zlib")
        else:
            meshio.vtk.write(scratch, mesh, binary=True)
        return scratch.read_bytes()


def grid_cells(counts: Sequence[int]) -> list[tuple[str, np.ndarray]]:
    """VTK cells of a tensor grid whose points are in C order: lines, quadrilaterals or hexahedra."""
    counts = tuple(int(n) for n in counts)
    idx = np.arange(math.prod(counts)).reshape(counts)
    if len(counts) == 1:
        return [("line", np.stack([idx[:-1], idx[1:]], axis=-1))]
    if len(counts) == 2:
        a, b = idx[:-1, :-1], idx[1:, :-1]
        c, d = idx[1:, 1:], idx[:-1, 1:]
        return [("quad", np.stack([a, b, c, d], axis=-1).reshape(-1, 4))]
    if len(counts) == 3:
        corners = [idx[:-1, :-1, :-1], idx[1:, :-1, :-1], idx[1:, 1:, :-1], idx[:-1, 1:, :-1],
                   idx[:-1, :-1, 1:], idx[1:, :-1, 1:], idx[1:, 1:, 1:], idx[:-1, 1:, 1:]]
        return [("hexahedron", np.stack(corners, axis=-1).reshape(-1, 8))]
    raise FieldlabError(f"a grid of {len(counts)} coordinates has no VTK cell (ParaView draws up to three); export "
                        "it as .nc, or as .vtu at points.")


def encode(path: Path, coords, fields, points: np.ndarray, values: np.ndarray, problem: str = "",
           units: dict[str, str] | None = None) -> bytes:
    """The bytes of ``path``'s format for ``values`` (n, m) at ``points`` (n, d)."""
    suffix = Path(path).suffix
    check_format(path)
    if suffix == ".npy":
        return _npy(values)
    if suffix == ".csv":
        return _csv(points, values, (*coords, *fields))
    if suffix in (".vtu", ".vtk"):
        data = {name: np.ascontiguousarray(col) for name, col in zip((*fields, *coords), np.hstack([values, points]).T)}
        return _vtk(path, points, [("vertex", np.arange(len(points)).reshape(-1, 1))], data)
    import xarray as xr

    ds = xr.Dataset({name: ("point", np.asarray(col)) for name, col in
                     zip((*coords, *fields), np.hstack([points, values]).T)},
                    attrs={"problem": problem, "source": f"fieldlab {_version()}"})
    for c in coords:
        ds[c].attrs.update(long_name=f"coordinate {c}", units=_units(units, c))
    for f in fields:
        ds[f].attrs.update(long_name=f"predicted field {f}", units=_units(units, f))
    return _netcdf(ds)


def encode_grid(path: Path, coords, fields, axes: Sequence[np.ndarray], values: np.ndarray, problem: str = "",
                units: dict[str, str] | None = None) -> bytes:
    """The bytes of ``path``'s format for ``values`` of shape ``(*[len(a) for a in axes], m)``."""
    suffix = Path(path).suffix
    check_format(path)
    counts = tuple(len(a) for a in axes)
    if values.shape != (*counts, len(fields)):
        raise ValueError(f"values of shape {values.shape} do not match the grid {counts} and {len(fields)} fields")
    if suffix == ".npy":
        return _npy(values)
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=-1)
    flat = values.reshape(-1, len(fields))
    if suffix == ".csv":
        return _csv(mesh, flat, (*coords, *fields))
    if suffix in (".vtu", ".vtk"):
        cells = grid_cells(counts)
        data = {name: np.ascontiguousarray(col) for name, col in zip((*fields, *coords), np.hstack([flat, mesh]).T)}
        return _vtk(path, mesh, cells, data)
    import xarray as xr

    ds = xr.Dataset({f: (tuple(coords), values[..., k]) for k, f in enumerate(fields)},
                    coords={c: (c, np.asarray(a, np.float64)) for c, a in zip(coords, axes)},
                    attrs={"problem": problem, "source": f"fieldlab {_version()}",
                           "comment": "fields predicted by a physics-informed network; NaN outside the domain"})
    for c in coords:
        ds[c].attrs.update(long_name=f"coordinate {c}", units=_units(units, c))
    for f in fields:
        ds[f].attrs.update(long_name=f"predicted field {f}", units=_units(units, f))
    return _netcdf(ds)


def write_points(path: Path, coords, fields, points: np.ndarray, values: np.ndarray, problem: str = "",
                 units: dict[str, str] | None = None) -> None:
    """Write ``values`` (n, m) predicted at ``points`` (n, d) to ``path``, atomically."""
    from .training.checkpoint import atomic_write_bytes

    atomic_write_bytes(Path(path), encode(path, coords, fields, np.asarray(points, np.float64),
                                          np.asarray(values, np.float64), problem, units))


def write_grid(path: Path, coords, fields, axes: Sequence[np.ndarray], values: np.ndarray, problem: str = "",
               units: dict[str, str] | None = None) -> None:
    """Write ``values`` ``(*counts, m)`` on the grid ``axes`` to ``path``, atomically."""
    from .training.checkpoint import atomic_write_bytes

    atomic_write_bytes(Path(path), encode_grid(path, coords, fields, axes, np.asarray(values, np.float64),
                                               problem, units))


def parse_units(spec: str | None) -> dict[str, str]:
    """``"x=m,t=s,u=K"`` -> ``{"x": "m", "t": "s", "u": "K"}``, or one sentence."""
    if not spec:
        return {}
    out = {}
    for part in spec.split(","):
        name, sep, unit = part.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise FieldlabError(f"--units {spec} is not a list of units; write name=unit pairs such as x=m,t=s,u=K.")
        out[name.strip()] = unit.strip()
    return out
