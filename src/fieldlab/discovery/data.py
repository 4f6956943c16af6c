"""Observed fields for closure discovery: one scalar field ``u(t, x)`` on a grid, with metadata; or
several runs of it (the same system observed from several initial conditions on the same grid).

Schema (both formats hold the same thing):

============  ===================================  ==============================================
name          shape / type                         meaning
============  ===================================  ==============================================
``x``         ``(nx,)`` float64                    positions, strictly increasing
``t``         ``(nt,)`` float64                    times, strictly increasing
``u``         ``(nt, nx)`` float64                 ``u[k, i] = u(t[k], x[i])``
              or ``(runs, nt, nx)``                ``u[j, k, i]``: run ``j`` (several runs)
``meta``      JSON object                          free-form provenance (case, regime, seed, ...)
``y``         ``(ny,)`` float64, optional          2-D data: second coordinate, strictly increasing;
                                                   ``u`` is then ``(nt, nx, ny)`` or ``(runs, nt, nx, ny)``
``v``         like ``u``, optional                 a second species (two-species systems)
============  ===================================  ==============================================

The data set says what it is: :attr:`Dataset.dim` (1 or 2), :attr:`Dataset.species` (``("u",)`` or
``("u", "v")``) and :attr:`Dataset.kind` (``"1d"``, ``"2d"``, ``"1d-2species"``, ``"2d-2species"``),
which the registered methods declare they support (:mod:`.registry`).

- ``.npz``: arrays ``x``, ``t``, ``u`` and ``meta``, a 0-d string array holding the JSON text
  (``meta`` may be absent on reading). No pickle.
- ``.nc``: NetCDF, written as NetCDF 3 (xarray's ``scipy`` engine, so no C library is needed); read as
  NetCDF 3 or as NetCDF 4 / HDF5 (xarray's ``h5netcdf`` engine, through h5py), told apart by the
  file's first bytes. A variable
  ``u`` with dimensions ``("t", "x")``, or ``("run", "t", "x")`` for several runs, coordinates ``x``
  and ``t`` (2-D data: dimensions ``(["run",] "t", "x", "y")`` and the coordinate ``y``; a second
  species: a variable ``v`` like ``u``), and the JSON text in the global attribute ``meta``. Dimensions stored in another order
  are transposed on reading (the names make it unambiguous).

Rules checked on reading and writing, each failure one :class:`~fieldlab.errors.FieldlabError`:
all values finite; ``u`` of shape ``(len(t), len(x))`` or ``(runs, len(t), len(x))`` (an ``.npz``
``u`` stored as ``(len(x), len(t))`` is accepted when ``len(x) != len(t)``); ``x`` and ``t``
strictly increasing;
at least ``MIN_X = 8`` positions and ``MIN_T = 5`` times (fewer cannot support the derivatives and
test functions of the discovery methods); ``u`` not constant (standard deviation above ``1e-12``
times ``max |u|``, whatever the units; a constant field holds no dynamics). Non-uniform ``x`` and ``t`` are
allowed: the weak-form methods integrate with trapezoid weights.

Several runs are worth more than one longer one when two closures fit one trajectory equally well:
a second initial condition visits the states in another order and another mix of diffusion and
reaction (see docs/results/discovery-notes.md, "Ties").

Files are written to a temporary name and renamed, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FieldlabError
from ..training.checkpoint import atomic_write_bytes

__all__ = ["FORMATS", "MIN_T", "MIN_X", "Dataset", "format_of", "load", "save", "validate"]

FORMATS = (".npz", ".nc")
MIN_X = 8
MIN_T = 5


@dataclass
class Dataset:
    """Observed ``u`` with positions ``x``, times ``t`` and ``meta``; for 2-D data also ``y``, and for two
    species a second field ``v`` shaped like ``u``.

    ``u`` is always ``(runs, len(t), len(x))`` (2-D: ``(runs, len(t), len(x), len(y))``) once
    constructed: one run may be given without its ``runs`` axis and is stored with ``runs = 1`` (the only
    place where the two shapes meet; every discovery function takes the shape with runs). A one-run data
    set is written to file in the one-run layout of the schema.
    """

    x: np.ndarray
    t: np.ndarray
    u: np.ndarray
    meta: dict = field(default_factory=dict)
    y: np.ndarray | None = None  # 2-D data: u[..., k, i, j] = u(t[k], x[i], y[j])
    v: np.ndarray | None = None  # a second species, shaped like u

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float64)
        self.t = np.asarray(self.t, dtype=np.float64)
        self.meta = dict(self.meta or {})
        self.y = None if self.y is None else np.asarray(self.y, dtype=np.float64)
        u = np.asarray(self.u, dtype=np.float64)
        one = u.ndim == 1 + self.dim  # one run given without its runs axis
        self.u = u[None] if one else u
        if self.v is not None:
            v = np.asarray(self.v, dtype=np.float64)
            self.v = v[None] if one and v.ndim == 1 + self.dim else v

    @property
    def dim(self) -> int:
        """Space dimensions: 1, or 2 when the data set has ``y``."""
        return 1 if self.y is None else 2

    @property
    def species(self) -> tuple[str, ...]:
        """The observed fields: ``("u",)``, or ``("u", "v")`` for a two-species system."""
        return ("u",) if self.v is None else ("u", "v")

    @property
    def kind(self) -> str:
        """``"1d"``, ``"2d"``, ``"1d-2species"`` or ``"2d-2species"``: what a method must support."""
        return f"{self.dim}d" + ("" if self.v is None else f"-{len(self.species)}species")

    @property
    def space_shape(self) -> tuple[int, ...]:
        """``(nx,)``, or ``(nx, ny)`` for 2-D data."""
        return (self.x.size,) if self.y is None else (self.x.size, self.y.size)

    @property
    def runs(self) -> int:
        """The number of runs."""
        return int(self.u.shape[0])

    @property
    def stacked(self) -> np.ndarray:
        """``u`` itself, ``(runs, nt, nx)`` or ``(runs, nt, nx, ny)`` (the name from when ``u`` kept the shape
        it was given)."""
        return self.u

    def run(self, j: int) -> np.ndarray:
        """Run ``j``'s field, ``(nt, nx)`` (2-D: ``(nt, nx, ny)``)."""
        return self.u[j]


def validate(ds: Dataset, source: str = "the dataset") -> Dataset:
    """Check ``ds`` against the schema in the module docstring; returns it unchanged or raises."""
    if ds.y is not None or ds.v is not None:
        from .fields import validate_fields  # 2-D data and two species

        return validate_fields(ds, source)
    for name in ("x", "t"):
        a = getattr(ds, name)
        if a.ndim != 1:
            raise FieldlabError(f"{source}: '{name}' must be 1-D; got shape {a.shape}.")
    if ds.u.shape[-2:] != (ds.t.size, ds.x.size) or ds.u.ndim != 3 or ds.u.shape[0] == 0:
        raise FieldlabError(f"{source}: 'u' must have shape (len(t), len(x)) = ({ds.t.size}, {ds.x.size}), or "
                            f"(runs, {ds.t.size}, {ds.x.size}) for several runs; got {ds.u.shape}.")
    for name in ("x", "t", "u"):
        a = getattr(ds, name)
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise FieldlabError(f"{source}: '{name}' has {bad} NaN or infinite values; remove or fill them.")
    for name, least in (("x", MIN_X), ("t", MIN_T)):
        a = getattr(ds, name)
        if a.size < least:
            raise FieldlabError(f"{source}: '{name}' has {a.size} points; discovery needs at least {least}.")
        if np.any(np.diff(a) <= 0):
            raise FieldlabError(f"{source}: '{name}' must be strictly increasing (sort it, with 'u' along).")
    scale = float(np.max(np.abs(ds.u)))  # relative: data in tiny units are not constant
    if float(np.std(ds.u)) <= 1e-12 * scale or scale == 0.0:
        raise FieldlabError(f"{source}: 'u' is constant ({float(ds.u.flat[0]):.6g}); it holds no dynamics to "
                            "learn from.")
    return ds


def format_of(path) -> str:
    """``".npz"`` or ``".nc"`` from the file name; anything else raises."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise FieldlabError(f"{path}: unknown data format '{suffix or '(none)'}'; use a .npz or .nc file name.")
    return suffix


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _meta_json(meta: dict) -> str:
    try:
        return json.dumps(meta, default=_json_default, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise FieldlabError(f"meta must hold JSON-serialisable values (numbers, strings, lists, dicts): {e}.") from None


def _meta_parse(text: str, source: str) -> dict:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        raise FieldlabError(f"{source}: 'meta' is not valid JSON; drop it or write it with json.dumps.") from None
    if not isinstance(meta, dict):
        raise FieldlabError(f"{source}: 'meta' must be a JSON object; got {type(meta).__name__}.")
    return meta


def save(ds: Dataset, path) -> Path:
    """Write ``ds`` to ``path`` (``.npz`` or ``.nc``), atomically; parent folders are created."""
    path = Path(path)
    fmt = format_of(path)
    validate(ds, "dataset to save")
    text = _meta_json(ds.meta)
    one = ds.runs == 1  # the schema's one-run layout
    extra = {k: a for k, a in (("y", ds.y), ("v", None if ds.v is None else ds.v[0] if one else ds.v)) if a is not None}
    if fmt == ".npz":
        buf = io.BytesIO()
        np.savez(buf, x=ds.x, t=ds.t, u=ds.u[0] if one else ds.u, meta=np.array(text), **extra)
        data = buf.getvalue()
    else:
        import xarray as xr

        space = ("x",) if ds.y is None else ("x", "y")
        dims = ("t",) + space if one else ("run", "t") + space
        coords = {"t": ds.t, "x": ds.x} | ({} if ds.y is None else {"y": ds.y})
        fields = {k: xr.DataArray(a[0] if one else a, dims=dims, coords=coords, name=k)
                  for k, a in (("u", ds.u), ("v", ds.v)) if a is not None}
        data = bytes(xr.Dataset(fields).assign_attrs(meta=text).to_netcdf(engine="scipy"))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path


def load(path) -> Dataset:
    """Read a dataset written by :func:`save` (or by hand, following the schema) and validate it."""
    path = Path(path)
    fmt = format_of(path)
    if not path.is_file():
        raise FieldlabError(f"data file {path} does not exist.")
    ds = _load_npz(path) if fmt == ".npz" else _load_nc(path)
    return validate(ds, str(path))


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError, EOFError) as e:
        raise FieldlabError(f"{path} is not a readable .npz archive ({e}); write it with numpy.savez.") from None
    missing = [k for k in ("x", "t", "u") if k not in arrays]
    if missing:
        raise FieldlabError(f"{path} lacks array(s) {', '.join(missing)}; it needs x (nx,), t (nt,) and u (nt, nx) "
                            "or (runs, nt, nx).")
    try:
        x, t, u = (np.asarray(arrays[k], dtype=np.float64) for k in ("x", "t", "u"))
    except (TypeError, ValueError):
        raise FieldlabError(f"{path}: x, t and u must be numeric arrays.") from None
    if u.ndim == 2 and x.ndim == t.ndim == 1 and u.shape == (x.size, t.size) and x.size != t.size:
        u = u.T  # stored as (x, t); unambiguous because the lengths differ
    meta = {}
    if "meta" in arrays:
        m = arrays["meta"]
        if m.dtype.kind not in "US" or m.size != 1:
            raise FieldlabError(f"{path}: 'meta' must be a single JSON string.")
        meta = _meta_parse(str(m.reshape(()).item()), str(path))
    try:
        y, v = (None if k not in arrays else np.asarray(arrays[k], dtype=np.float64) for k in ("y", "v"))
    except (TypeError, ValueError):
        raise FieldlabError(f"{path}: y and v must be numeric arrays.") from None
    return Dataset(x, t, u, meta, y=y, v=v)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def netcdf_engine(path: Path) -> str:
    """xarray's engine for a NetCDF file: ``"h5netcdf"`` for NetCDF 4 (HDF5), else ``"scipy"`` (NetCDF 3)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise FieldlabError(f"cannot read {path} ({e.strerror or e}).") from None
    if head != _HDF5_SIGNATURE:
        return "scipy"
    try:
        import h5netcdf  # noqa: F401
        import h5py  # noqa: F401
    except ImportError:
        raise FieldlabError(f"{path} is NetCDF 4 (HDF5), which needs h5netcdf and h5py; install them with "
                            "pip install h5netcdf h5py, or write the file as NetCDF 3.") from None
    return "h5netcdf"


def _load_nc(path: Path) -> Dataset:
    import xarray as xr

    engine = netcdf_engine(path)
    try:
        with xr.open_dataset(path, engine=engine) as f:
            f.load()
            nc = f
    except Exception as e:  # xarray and its back ends raise many kinds for a bad file
        kind = "NetCDF 4 (HDF5)" if engine == "h5netcdf" else "NetCDF"
        raise FieldlabError(f"{path} is not a readable {kind} file ({type(e).__name__}); write it with "
                            "xarray's to_netcdf or use .npz.") from None
    if "u" not in nc.data_vars:
        raise FieldlabError(f"{path} has no variable 'u' (found: {', '.join(map(str, nc.data_vars)) or 'none'}).")
    u = nc["u"]
    if "y" in u.dims or "v" in nc.data_vars:
        from .fields import nc_fields  # 2-D data and two species

        x, t, values, y, v = nc_fields(nc, path)
        text = nc.attrs.get("meta")
        return Dataset(x, t, values, _meta_parse(str(text), str(path)) if text is not None else {}, y=y, v=v)
    dims = ("t", "x") if u.ndim == 2 else ("run", "t", "x")
    if set(u.dims) != set(dims):
        raise FieldlabError(f"{path}: 'u' must have dimensions ('t', 'x'), or ('run', 't', 'x') for several runs; got "
                            f"{tuple(u.dims)}.")
    if u.dims != dims:
        u = u.transpose(*dims)
    for c in ("x", "t"):
        if c not in u.coords:
            raise FieldlabError(f"{path}: 'u' lacks the coordinate '{c}'.")
    try:
        x, t, values = (np.asarray(a, dtype=np.float64) for a in (u["x"].values, u["t"].values, u.values))
    except (TypeError, ValueError):
        raise FieldlabError(f"{path}: x, t and u must be numeric.") from None
    text = nc.attrs.get("meta")
    meta = _meta_parse(str(text), str(path)) if text is not None else {}
    return Dataset(x, t, values, meta)
