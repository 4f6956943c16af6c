r"""Problems: the mathematics of a PDE system, with no knowledge of networks or optimisers.

A :class:`Problem` names its coordinates (``("x", "t")``), its fields (``("u",)`` or
``("u", "v", "p")``) and its constant parameters, and holds pointwise residual equations and
conditions. Residuals are plain JAX functions of a :class:`Fields` view at one point::

    def burgers(F, p):
        u = F.u
        return F.d(u, "t") + u * F.d(u, "x") - p["nu"] * F.d(u, "x", "x")

``F.d(u, "x", "x")`` is the exact second partial of the field ``u`` (it may also be named,
``F.d("u", "x", "x")``); ``F.x`` is the coordinate value, ``F.u`` the field value. Derivatives are
computed once per multi-index, for all fields together, in forward mode (see :mod:`fieldlab.operators`).
A residual returns a scalar or a vector; its mean square is one loss term.

Conditions (:class:`Dirichlet`, :class:`Neumann`, :class:`Robin`, :class:`Periodic`,
:class:`Initial`, :class:`InitialRate`, :class:`Point`, :class:`Data`) follow one convention for the
functions they take, values and ``where=`` tests alike: they receive the coordinate columns as
arrays, one argument per coordinate in the problem's order, and return an array of the same length
(or a number). They are called with NumPy float64 arrays when points are drawn, never inside a JAX
trace, so NumPy and ``jax.numpy`` both work::

    Dirichlet("u", lambda x, y: np.sin(np.pi * x), where=lambda x, y: np.isclose(y, 0.0))
    Dirichlet(fields=("u", "v"), value=(0.0, 0.0), on=hole)      # several fields, one shape of Box(...) - hole
    Point((0.0, 0.0), 0.0, fields="p")                           # a pressure pin

Residuals and hard-constraint transforms, which are differentiated, are JAX functions of one point.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import FieldlabError
from .operators import partial_fn

Array = jax.Array
PointFn = Callable[[Array], Array]


class Fields:
    """Values and exact derivatives of every field at one point ``z``.

    Built by the trainer from a pointwise network ``net(z) -> (m,)``; cheap to create, derivatives
    are traced lazily and cached by (sorted) multi-index. ``known`` pre-fills that cache with
    derivatives computed elsewhere (the batched Taylor fast path of a backbone); with
    ``net=None`` only those are available.
    """

    def __init__(self, net: PointFn | None, z: Array, coords: Sequence[str], fields: Sequence[str],
                 known: Mapping[tuple[int, ...], Array] | None = None):
        self._net, self.z = net, z
        self._coords, self._fields = tuple(coords), tuple(fields)
        self._cache: dict[tuple[int, ...], Array] = dict(known or {})
        self._slices: dict[int, Array] = {}

    def _derivative(self, index: tuple[int, ...]) -> Array:
        index = tuple(sorted(index))  # mixed partials commute: one canonical order
        if index not in self._cache:
            if self._net is None:
                raise FieldlabError(f"derivative {index} was not prepared; this is a bug in the derivative plan.")
            self._cache[index] = partial_fn(self._net, index, self.z.shape[-1])(self.z)
        return self._cache[index]

    @property
    def values(self) -> Array:
        """All field values at the point, shape ``(m,)``."""
        return self._derivative(())

    def __getattr__(self, name: str) -> Array:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Array:
        if name in self._fields:
            k = self._fields.index(name)
            if k not in self._slices:  # cached, so that d(F.u, ...) can recognise the field by identity
                self._slices[k] = self.values[k]
            return self._slices[k]
        if name in self._coords:
            return self.z[self._coords.index(name)]
        raise FieldlabError(
            f"'{name}' is neither a field {self._fields} nor a coordinate {self._coords}; "
            "check the spelling in the residual."
        )

    def _field_index(self, field: str | Array) -> int:
        if isinstance(field, str):
            if field not in self._fields:
                raise FieldlabError(f"d() got unknown field '{field}'; fields are {self._fields}.")
            return self._fields.index(field)
        for k, value in self._slices.items():
            if value is field:
                return k
        raise FieldlabError(
            "d() takes a field as returned by F.<name> or its name as a string, not an expression; "
            "differentiate fields and combine the results instead."
        )

    def d(self, field: str | Array, *coords: str) -> Array:
        """Exact partial derivative of ``field`` with respect to the named coordinates, in order."""
        if not coords:
            raise FieldlabError("d() needs at least one coordinate, for example F.d('u', 'x').")
        bad = [c for c in coords if c not in self._coords]
        if bad:
            raise FieldlabError(f"d() got unknown coordinate(s) {bad}; coordinates are {self._coords}.")
        k = self._field_index(field)
        index = tuple(self._coords.index(c) for c in coords)
        return self._derivative(index)[k]

    def grad(self, field: str | Array, coords: Sequence[str] | None = None) -> Array:
        """Gradient of one field over ``coords`` (all coordinates by default)."""
        coords = self._coords if coords is None else coords
        return jnp.stack([self.d(field, c) for c in coords])

    def laplacian(self, field: str | Array, coords: Sequence[str]) -> Array:
        """Sum of unmixed second partials of one field over ``coords``."""
        return sum(self.d(field, c, c) for c in coords)


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------
#
# One convention for every callable a condition takes (``where=``, a value): it receives the
# coordinate columns as arrays, one argument per coordinate in the problem's order, and returns an
# array of the same length (or a scalar, broadcast). It is called with NumPy float64 arrays when
# points are drawn, never inside a JAX trace, so NumPy (``np.sin``) and ``jax.numpy`` (``jnp.sin``)
# both work. Targets are computed once per draw and carried with the points.

Value = Any  # a number, a callable of the coordinates, or one of these per field
Where = Callable[..., Any] | None

_NEW = {"digest": "skip-default"}  # fields added later: left out of fingerprints while at their default


def _call(fn: Callable, z: np.ndarray, what: str) -> Any:
    """``fn(*columns of z)``; a failure is one sentence naming ``what`` and the convention."""
    try:
        return fn(*np.asarray(z, np.float64).T)
    except FieldlabError:
        raise
    except Exception as e:  # the user's function: one sentence with its error and the convention
        raise FieldlabError(
            f"{what} fails on the coordinate arrays ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "write it as a function of the coordinate columns with NumPy or jax.numpy operations, such as "
            "lambda x, y: np.sin(np.pi * x) * y, without Python if/else on their values"
        ) from None


def _column(out: Any, n: int, what: str) -> np.ndarray:
    """One field's target values ``(n,)`` from a scalar or an array of length ``n``."""
    arr = np.asarray(out, dtype=np.float64)
    if arr.ndim == 0 or arr.shape in ((n,), (n, 1), (1,)):
        return np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (n,)).astype(np.float64)
    raise FieldlabError(f"{what} returns shape {arr.shape} for {n} points; return one value per point")


def _targets(value: Value, z: np.ndarray, names: tuple[str, ...], what: str) -> np.ndarray:
    """Target values ``(n, k)`` of the ``k`` fields ``names`` at points ``z`` (n, d).

    ``value`` is a number (every field), a callable of the coordinate columns returning one array
    (one field, or the same for every field) or a tuple/array of ``k`` arrays, or a sequence of ``k``
    numbers or callables (one per field).
    """
    n, k = len(z), len(names)
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = list(value)  # one number per field
    if isinstance(value, (tuple, list)) and not callable(value):
        if len(value) != k:
            raise FieldlabError(f"{what} gives {len(value)} values for the {k} field(s) {names}; give one per field")
        return np.stack([_column(_call(v, z, what) if callable(v) else v, n, what) for v in value], axis=1)
    if not callable(value):
        return np.broadcast_to(_column(value, 1, what)[0], (n, k)).astype(np.float64)
    out = _call(value, z, what)
    if isinstance(out, (tuple, list)):
        if len(out) != k:
            raise FieldlabError(f"{what} returns {len(out)} arrays for the {k} field(s) {names}; return one per field")
        return np.stack([_column(o, n, what) for o in out], axis=1)
    arr = np.asarray(out, dtype=np.float64)
    if k > 1 and n == k and arr.shape == (n, k):  # (points, fields) or (fields, points)? ask with one more point
        extra = np.asarray(_call(value, np.concatenate([z, z[:1]]), what), dtype=np.float64)
        return arr.T.copy() if extra.shape == (k, n + 1) else arr
    if k > 1 and arr.shape == (n, k):
        return arr
    if k > 1 and arr.shape == (k, n):
        return arr.T.copy()
    return np.repeat(_column(arr, n, what)[:, None], k, axis=1)


def _names(field: Any, fields: Any, kind: str) -> tuple[str, ...]:
    """The fields a condition constrains, from ``field`` (a name or a tuple) and/or ``fields``."""
    def as_tuple(f):
        return (f,) if isinstance(f, str) else tuple(f)

    if field is not None and fields is not None and as_tuple(field) != as_tuple(fields):
        raise FieldlabError(f"{kind} got field {field!r} and fields {fields!r}; give one of them.")
    chosen = fields if fields is not None else field
    if chosen is None:
        raise FieldlabError(f"{kind} needs the field(s) it constrains, as in {kind}('u', 0.0) or {kind}(fields=('u', 'v')).")
    names = as_tuple(chosen)
    if not names or not all(isinstance(f, str) for f in names):
        raise FieldlabError(f"{kind} fields must be names such as 'u', got {chosen!r}.")
    return names


class Condition(ABC):
    """One loss term that is not a PDE residual: boundary, initial, point or data condition.

    ``kind`` selects which collocation count of the recipe applies (``"boundary"``, ``"initial"``,
    ``"data"``; ``"point"`` uses every given point). :meth:`sample` returns arrays with a leading
    point axis, always with ``"z"`` (``(n, d)`` coordinates) and, for conditions with values,
    ``"target"`` (``(n, k)``); :meth:`residual` maps one such point (a dict of unbatched arrays) to the
    residual, given ``at(z) -> Fields``. :meth:`fraction` is the share of its kind's region (the whole
    boundary for boundary conditions) that the condition covers, which scales its point count.
    """

    kind: str = "boundary"
    count: int | None = None

    @abstractmethod
    def sample(self, problem: Problem, n: int, seed: int, method: str) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def residual(self, at: Callable[[Array], Fields], item: dict[str, Array], p: Mapping[str, Array]) -> Array: ...

    @property
    def names(self) -> tuple[str, ...] | None:
        """The fields this condition constrains (``None``: all, or decided by the problem)."""
        return None

    def fraction(self, problem: Problem) -> float:
        """Share in ``(0, 1]`` of the region of its kind that this condition covers (1: all of it)."""
        return 1.0

    def check(self, problem: Problem) -> None:
        """Raise a :class:`FieldlabError` if this condition does not fit ``problem``."""
        bad = [f for f in (self.names or ()) if f not in problem.fields]
        if bad:
            which = bad[0] if len(bad) == 1 else bad
            raise FieldlabError(
                f"{type(self).__name__} refers to field '{which}', but the problem's fields are {problem.fields}."
            )
        if self.count is not None and (isinstance(self.count, bool) or not isinstance(self.count, (int, np.integer))
                                       or self.count < 1):
            raise FieldlabError(f"{type(self).__name__} count must be a whole number of points >= 1, got {self.count!r}.")


def _as_geometries(on: Any) -> tuple:
    from .geometry import Geometry

    parts = tuple(on) if isinstance(on, (tuple, list)) else (on,)
    if not parts or not all(isinstance(g, Geometry) for g in parts):
        raise FieldlabError("on= takes a shape of the domain (such as a hole) or a list of shapes.")
    return parts


@dataclasses.dataclass(frozen=True)
class _OnBoundary(Condition):
    """A condition on the boundary, or on the part of it selected by ``on`` and ``where``.

    Args:
        field: the field's name, or a tuple of names (``("u", "v")``): one condition on several fields.
        value: the target: a number (every field), a callable of the coordinate columns returning an
            array (or a tuple of arrays, one per field), or a tuple with one number or callable per field.
        where: a test on the coordinate columns (``lambda x, y: np.isclose(x, 0.0)``) that keeps a part
            of the boundary.
        fields: the same as a tuple ``field``; give one of the two.
        on: a shape (or a list of shapes) from which the domain was built, such as a hole of
            ``Box(...) - hole``: keeps the boundary points that lie on that shape's boundary.
        count: this condition's number of points, instead of its share of the recipe's ``boundary``.
    """

    field: str | tuple[str, ...] | None = None
    value: Value = 0.0
    where: Where = None
    fields: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_NEW, kw_only=True)
    on: Any = dataclasses.field(default=None, metadata=_NEW, kw_only=True)
    count: int | None = dataclasses.field(default=None, metadata=_NEW, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "_names", _names(self.field, self.fields, type(self).__name__))
        object.__setattr__(self, "_on", None if self.on is None else _as_geometries(self.on))
        object.__setattr__(self, "_fractions", {})

    @property
    def names(self):
        return self._names

    def _selected(self, problem: Problem, z: np.ndarray) -> np.ndarray:
        """Bool (n,): boundary points ``z`` that ``on`` and ``where`` keep."""
        keep = np.ones(len(z), dtype=bool)
        if self._on is not None:
            spatial = z[:, : self._on[0].dim]
            tol = 1e-6 * float(np.max(np.subtract(*problem.domain.bounds()[::-1])))
            keep &= np.any([g.on_boundary(spatial, tol=tol) for g in self._on], axis=0)
        if self.where is not None:
            mask = np.asarray(_call(self.where, z, f"the 'where' of {type(self).__name__}"), dtype=bool)
            keep &= np.broadcast_to(mask, keep.shape)
        return keep

    def fraction(self, problem):
        if self._on is None and self.where is None:
            return 1.0
        key = id(problem.domain)
        if key not in self._fractions:
            z, _ = problem.domain.sample_boundary(4096, seed=12345, method="random")
            frac = float(np.mean(self._selected(problem, z)))
            if frac == 0.0:
                raise FieldlabError(
                    f"the {'on= shape' if self.where is None else 'where='} of {type(self).__name__} selects no part of the "
                    "boundary; check that it matches the domain (a shape the domain was built from, or a test with a "
                    "tolerance such as np.isclose(x, 1.0))"
                )
            self._fractions[key] = (problem.domain, frac)
        return self._fractions[key][1]

    def sample(self, problem, n, seed, method):
        frac = self.fraction(problem)
        selective = self._on is not None or self.where is not None
        if selective and method == "grid":
            z, normal = self._grid_part(problem, n, frac)
            return {"z": z, "normal": normal, "target": _targets(self.value, z, self._names, f"the value of {type(self).__name__}")}
        parts, have, k = [], 0, 0
        while have < n:
            # candidates per round: 4n (as before this rule existed, so the same seeds give the same points),
            # more for a part under 5 % of the boundary
            m = _part_candidates(n, frac) if selective else n
            z, normal = problem.domain.sample_boundary(m, seed=seed + 7919 * k, method=method)
            keep = self._selected(problem, z) if selective else slice(None)
            parts.append((z[keep], normal[keep]))
            have += len(parts[-1][0])
            k += 1
            if k > 50:
                raise FieldlabError(f"could not draw {n} points on the part of the boundary that {type(self).__name__} "
                                    "selects; widen its where= test")
        z = np.concatenate([p[0] for p in parts])[:n]
        normal = np.concatenate([p[1] for p in parts])[:n]
        return {"z": z, "normal": normal, "target": _targets(self.value, z, self._names, f"the value of {type(self).__name__}")}

    def _grid_part(self, problem, n, frac):
        """``n`` points of a boundary grid spread evenly over the selected part: a finer grid until the
        part holds ``n`` of its points, then thinned (the first ``n`` would cover only the part's start)."""
        from .geometry.base import thin_index

        m = _part_candidates(n, frac)
        for _ in range(20):
            z, normal = problem.domain.sample_boundary(m, method="grid")
            keep = np.flatnonzero(self._selected(problem, z))
            if len(keep) >= n:
                idx = keep[thin_index(len(keep), n)]
                return z[idx], normal[idx]
            m *= 2
        raise FieldlabError(f"could not draw {n} grid points on the part of the boundary that {type(self).__name__} "
                            "selects; widen its where= test")

    def check(self, problem):
        super().check(problem)
        if self._on is not None:
            spatial = problem.domain.geometry if hasattr(problem.domain, "geometry") else problem.domain
            bad = [g for g in self._on if g.dim != spatial.dim]
            if bad:
                raise FieldlabError(f"on= shape {bad[0]!r} has dimension {bad[0].dim}, but the domain's space has "
                                    f"dimension {spatial.dim}; pass a shape the domain was built from.")

    def _values(self, F: Fields) -> Array:
        return jnp.stack([F[f] for f in self._names])

    def _normal_derivatives(self, F: Fields, normal: Array) -> Array:
        spatial = F._coords[: normal.shape[-1]]
        return jnp.stack([jnp.dot(normal, F.grad(f, spatial)) for f in self._names])


@dataclasses.dataclass(frozen=True)
class Dirichlet(_OnBoundary):
    """``u = g`` on the (selected part of the) boundary; ``fields=("u", "v")`` sets several fields at once."""

    def residual(self, at, item, p):
        return self._values(at(item["z"])) - item["target"]


@dataclasses.dataclass(frozen=True)
class Neumann(_OnBoundary):
    """``du/dn = g`` (outward normal derivative over the spatial coordinates) on the boundary."""

    def residual(self, at, item, p):
        return self._normal_derivatives(at(item["z"]), item["normal"]) - item["target"]


@dataclasses.dataclass(frozen=True)
class Robin(_OnBoundary):
    """``a u + b du/dn = g`` on the boundary."""

    a: float = 1.0
    b: float = 1.0

    def residual(self, at, item, p):
        F = at(item["z"])
        return self.a * self._values(F) + self.b * self._normal_derivatives(F, item["normal"]) - item["target"]


@dataclasses.dataclass(frozen=True)
class Periodic(Condition):
    """Fields (and their first ``order`` derivatives along ``coord``) equal at both ends of ``coord``.

    Requires a box-shaped extent along ``coord`` (interval, box, or either times a time interval).
    """

    coord: str
    fields: tuple[str, ...] | None = None
    order: int = 1

    @property
    def names(self):
        return None if self.fields is None else ((self.fields,) if isinstance(self.fields, str) else tuple(self.fields))

    def sample(self, problem, n, seed, method):
        from .geometry.base import face_points

        i = problem.coords.index(self.coord)
        lo, hi = problem.domain.bounds()
        z = face_points(problem.domain, i, n, seed, method)
        z_lo, z_hi = z.copy(), z.copy()
        z_lo[:, i], z_hi[:, i] = lo[i], hi[i]
        return {"z": z_lo, "z_hi": z_hi}

    def residual(self, at, item, p):
        F_lo, F_hi = at(item["z"]), at(item["z_hi"])
        names = self.names or F_lo._fields
        out = []
        for name in names:
            out.append(F_lo[name] - F_hi[name])
            for k in range(1, self.order + 1):
                out.append(F_lo.d(name, *[self.coord] * k) - F_hi.d(name, *[self.coord] * k))
        return jnp.stack(out)

    def check(self, problem):
        if self.coord not in problem.coords:
            raise FieldlabError(f"Periodic coordinate '{self.coord}' is not one of {problem.coords}.")
        super().check(problem)
        from .geometry.base import has_box_extent

        if not has_box_extent(problem.domain, problem.coords.index(self.coord)):
            raise FieldlabError(f"Periodic along '{self.coord}' needs a box-shaped extent along it (an interval or box, "
                                f"possibly times a time interval): moved to either end, points of this domain leave it.")


@dataclasses.dataclass(frozen=True)
class Initial(Condition):
    """``u(z, t0) = g(z)`` at the initial time; ``fields=(...)`` sets several fields at once.

    ``value`` follows the convention of :class:`Dirichlet`: a number, a callable of the coordinate
    columns (time included, last), or one of these per field.
    """

    field: str | tuple[str, ...] | None = None
    value: Value = 0.0
    fields: tuple[str, ...] | None = dataclasses.field(default=None, metadata=_NEW, kw_only=True)
    count: int | None = dataclasses.field(default=None, metadata=_NEW, kw_only=True)
    kind = "initial"

    def __post_init__(self):
        object.__setattr__(self, "_names", _names(self.field, self.fields, type(self).__name__))

    @property
    def names(self):
        return self._names

    def sample(self, problem, n, seed, method):
        if not hasattr(problem.domain, "sample_initial"):
            raise FieldlabError("an initial condition needs a time domain: use geometry * TimeInterval(t0, t1).")
        z = problem.domain.sample_initial(n, seed=seed, method=method)
        return {"z": z, "target": _targets(self.value, z, self._names, f"the value of {type(self).__name__}")}

    def residual(self, at, item, p):
        F = at(item["z"])
        return jnp.stack([F[f] for f in self._names]) - item["target"]


@dataclasses.dataclass(frozen=True)
class InitialRate(Initial):
    """``du/dt(z, t0) = g(z)`` at the initial time (second-order-in-time problems)."""

    def residual(self, at, item, p):
        F = at(item["z"])
        return jnp.stack([F.d(f, F._coords[-1]) for f in self._names]) - item["target"]


def _observed(fields: Any, problem: Problem, cond: Condition, kind: str) -> None:
    """Refuse a point or data condition without ``fields`` in a problem with several fields."""
    if fields is None and len(problem.fields) != 1:
        name = next((k for k, c in problem.conditions.items() if c is cond), f"a {kind} condition")
        raise FieldlabError(
            f"{kind.lower()} condition '{name}' does not say which field it {'observes' if kind == 'Data' else 'fixes'} "
            f"and the problem has fields "
            f"{problem.fields}; pass fields=(...) to {kind}."
        )


def _field_names(fields):
    """``fields`` as a tuple of names (one name may be given as a string), or ``None``."""
    return (fields,) if isinstance(fields, str) else None if fields is None else tuple(fields)


@dataclasses.dataclass(frozen=True, eq=False)
class Data(Condition):
    """Pointwise observations: ``fields`` equal ``values`` at ``points``.

    ``points`` is ``(n, d)`` in the problem's coordinate order, ``values`` is ``(n, len(fields))``.
    ``fields=None`` (the default) means the problem's only field; in a problem with several fields
    it must be given. The recipe's ``data`` count picks a random subset each time points are drawn
    (all points if it is 0 or larger than ``n``).
    """

    points: np.ndarray
    values: np.ndarray
    fields: tuple[str, ...] | None = None
    kind = "data"

    def __post_init__(self):
        object.__setattr__(self, "fields", _field_names(self.fields))
        pts = np.asarray(self.points, dtype=np.float64)
        vals = np.asarray(self.values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals[:, None]
        width = 1 if self.fields is None else len(self.fields)
        if pts.ndim != 2 or vals.shape != (pts.shape[0], width):
            named = "the problem's one field" if self.fields is None else f"fields {self.fields}"
            raise FieldlabError(
                f"data points {pts.shape} and values {vals.shape} do not match: expected (n, d) and "
                f"(n, {width}) for {named}."
            )
        if not (np.isfinite(pts).all() and np.isfinite(vals).all()):
            raise FieldlabError("the data contain NaN or infinite values; remove or fill those rows first.")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "values", vals)

    @property
    def names(self):
        return self.fields

    def sample(self, problem, n, seed, method):
        if 0 < n < len(self.points):
            idx = np.sort(np.random.default_rng(seed).choice(len(self.points), n, replace=False))
            return {"z": self.points[idx], "target": self.values[idx]}
        return {"z": self.points, "target": self.values}

    def residual(self, at, item, p):
        F = at(item["z"])
        names = self.fields if self.fields is not None else F._fields
        return jnp.stack([F[f] for f in names]) - item["target"]

    def check(self, problem):
        _observed(self.fields, problem, self, "Data")
        bad = [f for f in (self.fields or ()) if f not in problem.fields]
        if bad:
            raise FieldlabError(f"data refer to unknown field(s) {bad}; the problem's fields are {problem.fields}.")
        if self.points.shape[1] != len(problem.coords):
            raise FieldlabError(
                f"data points have {self.points.shape[1]} columns but the problem has coordinates {problem.coords}."
            )
        _inside(self.points, problem, "data")


def _part_candidates(n: int, frac: float) -> int:
    """Boundary candidates to draw for ``n`` points on a part covering ``frac`` of the boundary."""
    return max(4 * n, 64) if frac >= 0.05 else int(np.ceil(1.5 * n / frac)) + 64


def _inside(points, problem: Problem, what: str) -> None:
    """Refuse points outside the domain (beyond rounding): the network would be fitted where it is not solved."""
    pts = np.asarray(points, dtype=np.float64)
    lo, hi = (np.asarray(b, np.float64) for b in problem.domain.bounds())
    nudged = pts + (0.5 * (lo + hi) - pts) * 1e-6  # a point on the boundary up to rounding is inside
    out = ~problem.domain.inside(pts) & ~problem.domain.inside(nudged)
    if out.any():
        k = int(np.argmax(out))
        raise FieldlabError(f"{int(out.sum())} {what} point(s) lie outside the domain, the first {tuple(float(c) for c in pts[k])}; "
                            "give points inside it.")


@dataclasses.dataclass(frozen=True, eq=False)
class Point(Condition):
    """Fields fixed at given points: ``fields`` equal ``values`` at ``points`` (a pressure pin).

    Args:
        points: ``(n, d)`` coordinates in the problem's order, or one point ``(d,)``.
        values: the targets: a number (every field and point), one number per field ``(k,)`` (at every
            point), one number per point ``(n,)`` (one field), an ``(n, k)`` array, or a callable of the
            coordinate columns (the convention of :class:`Dirichlet`).
        fields: the ``k`` constrained fields (a name or a tuple); may be left out in a one-field problem.

    Every point enters the loss at every step (the recipe's counts do not apply); ``values`` is
    computed once, from the points.
    """

    points: Any
    values: Value = 0.0
    fields: str | tuple[str, ...] | None = None
    kind = "point"

    def __post_init__(self):
        object.__setattr__(self, "fields", _field_names(self.fields))
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim == 1:
            pts = pts[None, :]
        if pts.ndim != 2 or len(pts) == 0 or not np.isfinite(pts).all():
            raise FieldlabError(f"Point takes finite points of shape (n, d) or one point (d,), got shape {pts.shape}.")
        object.__setattr__(self, "points", pts)

    @property
    def names(self):
        return self.fields

    def _target(self, names: tuple[str, ...]) -> np.ndarray:
        n, k = len(self.points), len(names)
        if not callable(self.values) and np.ndim(self.values) >= 1:
            vals = np.asarray(self.values, np.float64)
            if vals.ndim == 1 and vals.shape == (n,) and k == 1:
                vals = vals[:, None]  # one value per point of the one field
            elif vals.ndim == 1 and vals.shape == (k,):
                vals = np.broadcast_to(vals, (n, k))  # one value per field, at every point
            if vals.shape != (len(self.points), len(names)):
                raise FieldlabError(f"Point values have shape {vals.shape}; expected ({len(self.points)}, {len(names)}) "
                                    f"for {len(self.points)} point(s) and fields {names}.")
            return vals
        return _targets(self.values, self.points, names, "the value of Point")

    def sample(self, problem, n, seed, method):
        return {"z": self.points, "target": self._target(self.fields or problem.fields)}

    def residual(self, at, item, p):
        F = at(item["z"])
        names = self.fields if self.fields is not None else F._fields
        return jnp.stack([F[f] for f in names]) - item["target"]

    def check(self, problem):
        _observed(self.fields, problem, self, "Point")
        super().check(problem)
        if self.points.shape[1] != len(problem.coords):
            raise FieldlabError(f"Point points have {self.points.shape[1]} columns but the problem has coordinates "
                                f"{problem.coords}; give one column per coordinate.")
        _inside(self.points, problem, "Point")
        target = self._target(self.fields or problem.fields)
        if not np.isfinite(target).all():
            raise FieldlabError("Point values contain NaN or infinite numbers; give finite values.")


# --------------------------------------------------------------------------------------------------
# Reference solutions and problems
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
    """A reference solution: on a tensor grid, at scattered points, or at scattered points x time slices.

    Three layouts, one interface (``points`` ``(N, d)`` and ``flat`` ``(N, m)``, in the same order):

    - **tensor grid**, ``Reference(axes, values)``: ``axes`` holds one 1-D array per coordinate
      (problem order); ``values`` has shape ``(*[len(a) for a in axes], m)``; points run in C order
      of the grid.
    - **scattered points**, :meth:`at_points` ``(points, values)``: ``points`` ``(N, d)`` anywhere in
      the domain (from a mesh, a solver, measurements), ``values`` ``(N, m)``.
    - **scattered points x time slices**, :meth:`at_points` ``(points, values, times=times)``:
      ``points`` ``(n, d - 1)`` in space, ``times`` ``(n_t,)``, ``values`` ``(n_t, n, m)``; points run
      slice by slice (time last in each point).

    :meth:`from_csv` and :meth:`from_netcdf` read them from files. ``fields`` names the fields the
    values hold, in column order; ``None`` (the default) means all of the problem's fields in the
    problem's order. Metrics compare only these: :meth:`select` picks the matching columns of a
    prediction. ``grid`` tells the layouts apart (figures draw a tensor grid as an image, scattered
    points as filled contours of a triangulation).
    """

    axes: tuple[np.ndarray, ...] | None
    values: np.ndarray
    method: str = ""
    fields: tuple[str, ...] | None = None
    scattered: np.ndarray | None = None
    times: np.ndarray | None = None

    def __post_init__(self):
        vals = np.asarray(self.values, dtype=np.float64)
        if self.fields is not None:
            object.__setattr__(self, "fields", (self.fields,) if isinstance(self.fields, str) else tuple(self.fields))
        if self.axes is not None:
            axes = tuple(np.asarray(a, dtype=np.float64).ravel() for a in self.axes)
            shape = tuple(len(a) for a in axes)
            if vals.shape[:-1] != shape or vals.ndim != len(axes) + 1:
                raise FieldlabError(f"reference values have shape {vals.shape}; a grid with axes of lengths {shape} "
                                    f"needs values of shape {(*shape, 'm')}.")
            object.__setattr__(self, "axes", axes)
        else:
            if self.scattered is None:
                raise FieldlabError("a Reference needs grid axes or scattered points; use Reference(axes, values) "
                                    "or Reference.at_points(points, values).")
            pts = np.asarray(self.scattered, dtype=np.float64)
            if vals.ndim == (1 if self.times is None else 2):  # one field: values without a field axis
                vals = vals[..., None]
            if pts.ndim == 1:
                pts = pts[:, None]
            want = (len(pts),) if self.times is None else (len(np.ravel(self.times)), len(pts))
            if pts.ndim != 2 or vals.shape[:-1] != want or vals.ndim != len(want) + 1:
                raise FieldlabError(f"reference points {pts.shape} and values {vals.shape} do not match: expected values of "
                                    f"shape {(*want, 'm')}.")
            if not np.isfinite(pts).all():
                raise FieldlabError("the reference points contain NaN or infinite values; remove those rows.")
            object.__setattr__(self, "scattered", pts)
            if self.times is not None:
                object.__setattr__(self, "times", np.asarray(self.times, dtype=np.float64).ravel())
        if self.fields is not None and vals.shape[-1] != len(self.fields):
            raise FieldlabError(f"the reference holds {vals.shape[-1]} value column(s) but names the fields {self.fields}.")
        if not np.isfinite(vals).all():
            raise FieldlabError("the reference values contain NaN or infinite values; remove or fill those points.")
        object.__setattr__(self, "values", vals)

    @classmethod
    def at_points(cls, points, values, method: str = "", fields: Sequence[str] | None = None, *,
                  times=None) -> Reference:
        """A reference at scattered ``points`` ``(N, d)`` with ``values`` ``(N, m)``; with ``times``
        ``(n_t,)``, ``points`` are ``(n, d - 1)`` spatial points and ``values`` ``(n_t, n, m)``."""
        return cls(None, values, method, None if fields is None else tuple(fields), scattered=points, times=times)

    @classmethod
    def from_csv(cls, path, coords: Sequence[str], fields: Sequence[str] | None = None, method: str = "") -> Reference:
        """A scattered reference from a CSV file with a header row naming its columns.

        ``coords`` names the coordinate columns in the problem's order (time included); ``fields`` the
        value columns (default: every other column, in file order). Extra columns are ignored.
        """
        from pathlib import Path

        path = Path(path)
        if not path.is_file():
            raise FieldlabError(f"reference file {path} does not exist; check the path.")
        with open(path) as f:
            header = [h.strip() for h in f.readline().lstrip("#").strip().split(",")]
        try:
            table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        except ValueError as e:
            raise FieldlabError(f"reference file {path} is not a table of numbers after its header ({e}).") from None
        names = tuple(fields) if fields is not None else tuple(h for h in header if h not in coords)
        missing = [c for c in (*coords, *names) if c not in header]
        if missing:
            raise FieldlabError(f"reference file {path} has no column(s) {missing}; its header names {header}.")
        if table.shape[1] != len(header):
            raise FieldlabError(f"reference file {path} has {table.shape[1]} columns but its header names {len(header)}.")
        col = {h: table[:, i] for i, h in enumerate(header)}
        return cls.at_points(np.stack([col[c] for c in coords], axis=1), np.stack([col[f] for f in names], axis=1),
                             method or path.name, names)

    @classmethod
    def from_netcdf(cls, path, coords: Sequence[str], fields: Sequence[str] | None = None, method: str = "",
                    time: str | None = None) -> Reference:
        """A reference from a NetCDF file (read with xarray; NetCDF-4 through h5netcdf).

        The layout follows the field variables' dimensions:

        - dimensions named by ``coords`` (each a coordinate variable): a tensor grid;
        - one dimension (such as ``point``, as ``fieldlab eval --out u.nc`` writes) along which the
          coordinate variables run too: scattered points;
        - a time dimension ``time`` (default: the last name in ``coords``) and a point dimension: scattered
          points x time slices; the spatial coordinates run along the point dimension, the time
          coordinate along the time dimension.

        ``fields`` default to every data variable that is not a coordinate.
        """
        from pathlib import Path

        import xarray as xr

        path = Path(path)
        if not path.is_file():
            raise FieldlabError(f"reference file {path} does not exist; check the path.")
        try:
            ds = xr.open_dataset(path, engine="h5netcdf")
        except Exception:
            try:
                ds = xr.open_dataset(path, engine="scipy")
            except Exception as e:
                raise FieldlabError(f"reference file {path} is not a readable NetCDF file ({type(e).__name__}: {e}).") from None
        with ds:
            names = tuple(fields) if fields is not None else tuple(v for v in ds.data_vars if v not in coords)
            missing = [c for c in (*coords, *names) if c not in ds.variables]
            if missing or not names:
                raise FieldlabError(f"reference file {path} has no variable(s) {missing or 'for the fields'}; it holds "
                                    f"{sorted(map(str, ds.variables))}.")
            dims = ds[names[0]].dims
            if any(ds[f].dims != dims for f in names):
                raise FieldlabError(f"the fields {names} in {path} do not share their dimensions; store them on one layout.")
            label = method or path.name
            if set(dims) == set(coords) and len(dims) == len(coords):
                vals = np.stack([ds[f].transpose(*coords).values for f in names], axis=-1)
                return cls(tuple(ds[c].values for c in coords), vals, label, names)
            if len(dims) == 1:
                off = [c for c in coords if c in ds and ds[c].dims not in ((), dims)]
                if off:
                    raise FieldlabError(f"{path}: the fields run along '{dims[0]}' but coordinate(s) {off} run along "
                                        f"{[ds[c].dims for c in off]}; scattered points need every coordinate along "
                                        f"'{dims[0]}' (or one value for all points).")
                pts = np.stack([np.broadcast_to(ds[c].values, (ds.sizes[dims[0]],)) for c in coords], axis=1)
                return cls.at_points(pts, np.stack([ds[f].values for f in names], axis=1), label, names)
            tname = time if time is not None else coords[-1]
            tdim = next((d for d in dims if d == tname or ds[tname].dims == (d,)), None)
            if len(dims) == 2 and tdim is not None:
                pdim = next(d for d in dims if d != tdim)
                pts = np.stack([ds[c].values for c in coords if c != tname], axis=1)
                vals = np.stack([ds[f].transpose(tdim, pdim).values for f in names], axis=-1)
                return cls.at_points(pts, vals, label, names, times=ds[tname].values)
            raise FieldlabError(f"the fields of {path} have dimensions {dims}; store them on the grid {tuple(coords)}, "
                                "along one point dimension, or along a time and a point dimension.")

    @property
    def grid(self) -> bool:
        """Whether this reference lies on a tensor grid (``axes``) rather than at scattered points."""
        return self.axes is not None

    def select(self, pred, fields: Sequence[str]):
        """The columns of ``pred`` (``(..., len(fields))``, over the problem's ``fields``) this reference holds."""
        if self.fields is None:
            return pred
        missing = [f for f in self.fields if f not in fields]
        if missing:
            raise FieldlabError(f"the reference holds field(s) {missing} that the problem {tuple(fields)} lacks.")
        return pred[..., [list(fields).index(f) for f in self.fields]]

    @property
    def points(self) -> np.ndarray:
        """All points ``(N, d)``, in the order of :attr:`flat`."""
        if self.axes is not None:
            mesh = np.meshgrid(*self.axes, indexing="ij")
            return np.stack([m.ravel() for m in mesh], axis=-1)
        if self.times is None:
            return self.scattered
        n = len(self.scattered)
        return np.concatenate([np.tile(self.scattered, (len(self.times), 1)), np.repeat(self.times, n)[:, None]], axis=1)

    @property
    def flat(self) -> np.ndarray:
        """All values ``(N, m)``, in the order of :attr:`points`."""
        return self.values.reshape(-1, self.values.shape[-1])

    def check(self, problem: Problem) -> None:
        """Raise a :class:`FieldlabError` if this reference does not fit ``problem`` (coordinates, fields)."""
        d = self.points.shape[1]
        if d != len(problem.coords):
            raise FieldlabError(f"the reference has {d} coordinate(s) per point but problem '{problem.name}' has "
                                f"{problem.coords}; give points with one column per coordinate.")
        width = self.values.shape[-1]
        if self.fields is None and width != len(problem.fields):
            raise FieldlabError(f"the reference holds {width} value column(s) but problem '{problem.name}' has fields "
                                f"{problem.fields}; name the fields it holds with fields=(...).")
        self.select(np.zeros((1, len(problem.fields))), problem.fields)


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """A PDE system: coordinates, fields, parameters, residual equations and conditions.

    Args:
        name: short identifier.
        coords: coordinate names in input order; for time-dependent problems time comes last.
        fields: output field names.
        domain: a ``fieldlab.geometry`` Geometry or TimeDomain of dimension ``len(coords)``.
        equations: name -> pointwise residual ``(F: Fields, p: dict) -> scalar or vector``.
        conditions: name -> :class:`Condition`.
        params: constant parameters, passed to residuals as ``p``.
        trainable: names in ``params`` to identify from data (inverse problems); ``params`` holds
            their initial guesses.
        param_scales: typical magnitudes of trainable parameters: the optimiser sees each one divided
            by its scale (default 1), so that a tiny diffusivity such as 2e-3 becomes an O(1)
            variable. Residuals and reports see the parameters themselves.
        true_params: the values that generated the data, where they are known (built-in inverse
            problems); runs report each trained parameter's relative error against them.
        transform: hard constraints as an output transform ``(z, raw_out) -> out``, pointwise.
        exact: names of conditions that ``transform`` satisfies exactly (not trained).
        outputs: number of raw network outputs that ``transform`` maps to the fields, when it is not
            ``len(fields)`` (0, the default); for example fields with a kink across an interface
            (:func:`fieldlab.constraints.kink`).
        extra_metrics: ``(u, dtype) -> {name: float}``, problem-specific metrics of the trained
            pointwise solution ``u: z (d,) -> fields (m,)`` (a gauge error, interface residuals),
            reported with the metrics against the reference.
        reference: a :class:`Reference`, or a callable without arguments returning one (built lazily,
            as built-in problems do), or ``None``.
        description: the equations in words, for listings and reports.
    """

    name: str
    coords: tuple[str, ...]
    fields: tuple[str, ...]
    domain: Any
    equations: Mapping[str, Callable[[Fields, Mapping[str, Array]], Array]]
    conditions: Mapping[str, Condition] = dataclasses.field(default_factory=dict)
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    trainable: tuple[str, ...] = ()
    param_scales: Mapping[str, float] = dataclasses.field(default_factory=dict)
    true_params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    transform: Callable[[Array, Array], Array] | None = None
    exact: tuple[str, ...] = ()
    reference: Callable[[], Reference] | None = None
    description: str = ""
    outputs: int = 0
    extra_metrics: Callable[[PointFn, Any], Mapping[str, float]] | None = None

    def __post_init__(self):
        for key in ("coords", "fields", "trainable", "exact"):
            value = getattr(self, key)
            if isinstance(value, str):
                value = tuple(value.replace(",", " ").split())
            object.__setattr__(self, key, tuple(value))
        if self.domain.dim != len(self.coords):
            raise FieldlabError(
                f"problem '{self.name}' has coordinates {self.coords} but its domain has dimension {self.domain.dim}."
            )
        if not self.equations:
            raise FieldlabError(f"problem '{self.name}' has no residual equations.")
        missing = [k for k in (*self.trainable,) if k not in self.params]
        if missing:
            raise FieldlabError(f"trainable parameter(s) {missing} need an initial value in params.")
        stray = [k for k in self.param_scales if k not in self.trainable]
        if stray:
            raise FieldlabError(
                f"param_scales names {stray}, which are not trainable parameters {self.trainable}; scale only those."
            )
        bad = [k for k, v in self.param_scales.items() if not (np.isfinite(v) and v > 0)]
        if bad:
            raise FieldlabError(f"param_scales of {bad} must be positive finite numbers.")
        unknown = [k for k in self.exact if k not in self.conditions]
        if unknown:
            raise FieldlabError(f"exact conditions {unknown} are not among the conditions {list(self.conditions)}.")
        if self.outputs and (self.transform is None or self.outputs < len(self.fields)):
            raise FieldlabError(f"problem '{self.name}' asks for {self.outputs} network outputs; that needs a transform "
                                f"and at least one output per field ({len(self.fields)}).")
        for cond in self.conditions.values():
            cond.check(self)
        if isinstance(self.reference, Reference):
            ref = self.reference
            ref.check(self)
            object.__setattr__(self, "reference", lambda: ref)
        elif self.reference is not None and not callable(self.reference):
            raise FieldlabError(f"problem '{self.name}': reference must be a Reference or a function returning one, "
                                f"not {type(self.reference).__name__}.")

    @property
    def n_outputs(self) -> int:
        """Raw network outputs: ``outputs``, or one per field."""
        return self.outputs or len(self.fields)

    @property
    def trained_conditions(self) -> dict[str, Condition]:
        """Conditions that enter the loss (those not already enforced by ``transform``)."""
        skip = set(self.exact) if self.transform is not None else set()
        return {k: c for k, c in self.conditions.items() if k not in skip}

    def trainable_init(self, dtype) -> dict[str, Array]:
        """The optimiser's initial variables: each trainable parameter's initial value over its scale."""
        return {k: jnp.asarray(self.params[k] / self.param_scales.get(k, 1.0), dtype) for k in self.trainable}

    def trainable_values(self, variables: Mapping[str, Array]) -> dict[str, Array]:
        """The trainable parameters themselves from the optimiser's variables (inverse of :meth:`trainable_init`)."""
        return {k: v * self.param_scales[k] if k in self.param_scales else v for k, v in variables.items()}

    def soft(self) -> Problem:
        """The same problem with every condition in the loss and no output transform."""
        return dataclasses.replace(self, transform=None, exact=(), outputs=0)

    def apply(self, net: PointFn) -> PointFn:
        """The pointwise solution ``z -> fields``: ``net`` followed by the hard-constraint transform."""
        if self.transform is None:
            return net
        transform = self.transform
        return lambda z: transform(z, net(z))

    def fields_at(self, u: PointFn, z: Array) -> Fields:
        return Fields(u, z, self.coords, self.fields)

    def derivative_plan(self, params: Mapping[str, Array]) -> frozenset[tuple[int, ...]]:
        """The (sorted) derivative multi-indices the residual equations use, found by abstract tracing."""
        d = len(self.coords)
        used: set[tuple[int, ...]] = set()

        class Recorder(Fields):
            def _derivative(self, index):
                used.add(tuple(sorted(index)))
                return jnp.zeros((len(self._fields),), self.z.dtype)

        def trace(z):
            F = Recorder(None, z, self.coords, self.fields)
            return [eq(F, params) for eq in self.equations.values()]

        jax.eval_shape(trace, jax.ShapeDtypeStruct((d,), jnp.float32))
        return frozenset(used)


# --------------------------------------------------------------------------------------------------
# Fingerprints
# --------------------------------------------------------------------------------------------------


def _digest_value(value: Any, h, depth: int = 0) -> None:
    """Feed a stable description of ``value`` (numbers, text, arrays, functions) into the hash ``h``."""
    import functools
    import types

    if depth > 4:
        h.update(b"<deep>")
        return
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None))):
        h.update(repr(value).encode())
    elif isinstance(value, np.ndarray) or isinstance(value, jax.Array):
        arr = np.ascontiguousarray(np.asarray(value))
        h.update(f"array{arr.shape}{arr.dtype}".encode())
        h.update(arr.tobytes())
    elif isinstance(value, (set, frozenset)):  # iteration order follows string hashing, which varies per process
        h.update(b"set(")
        for r in sorted(repr(v) for v in value):
            h.update(r.encode())
        h.update(b")")
    elif isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}{len(value)}(".encode())
        for v in value:
            _digest_value(v, h, depth + 1)
        h.update(b")")
    elif isinstance(value, Mapping):
        h.update(b"{")
        for k in sorted(value, key=str):
            h.update(repr(k).encode())
            _digest_value(value[k], h, depth + 1)
        h.update(b"}")
    elif isinstance(value, functools.partial):
        h.update(b"partial")
        _digest_value(value.func, h, depth + 1)
        _digest_value(value.args, h, depth + 1)
        _digest_value(dict(value.keywords), h, depth + 1)
    elif isinstance(value, types.CodeType):
        h.update(value.co_code)
        h.update(repr((value.co_names, value.co_varnames, value.co_freevars)).encode())
        for c in value.co_consts:
            _digest_value(c, h, depth + 1)
    elif callable(value) and hasattr(value, "__code__"):
        _digest_value(value.__code__, h, depth + 1)
        _digest_value(value.__defaults__, h, depth + 1)
        for cell in value.__closure__ or ():
            try:
                _digest_value(cell.cell_contents, h, depth + 1)
            except ValueError:  # an empty cell
                h.update(b"<empty>")
        # module-level helpers of the same module that the function calls by name
        glb = getattr(value, "__globals__", {})
        for name in value.__code__.co_names:
            g = glb.get(name)
            if isinstance(g, (types.FunctionType, int, float, tuple)) and not isinstance(g, bool) and (
                    not isinstance(g, types.FunctionType) or g.__module__ == value.__module__):
                h.update(name.encode())
                _digest_value(g, h, depth + 2)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(type(value).__qualname__.encode())
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.metadata.get("digest") == "skip-default" and v is f.default:
                continue  # an option added later, at its default: fingerprints of older runs still match
            h.update(f.name.encode())
            _digest_value(v, h, depth + 1)
    elif hasattr(value, "sample_boundary") and hasattr(value, "bounds"):  # a geometry: its shape, by repr
        h.update(repr(value).encode())
    else:
        h.update(f"<{type(value).__module__}.{type(value).__qualname__}>".encode())


def _hash_of(value: Any) -> str:
    import hashlib

    h = hashlib.sha256()
    _digest_value(value, h)
    return h.hexdigest()[:16]


def _number(v: Any) -> str:
    try:
        return repr(float(v))
    except (TypeError, ValueError):
        return "#" + _hash_of(v)


def fingerprint(problem: Problem) -> dict[str, str]:
    """A description of everything in ``problem`` that changes what a trained network means.

    Keys name the parts (``name``, ``coordinates``, ``fields``, ``domain``, ``parameters``,
    ``trainable parameters``, ``conditions``, ``equations``, ``hard constraints``); values are text,
    with conditions and equations (their types, fields, constants, and the compiled code of their
    functions and of same-module helpers they call) as short hashes. Two problems with equal
    fingerprints train and predict identically; code hashes are compared within one Python version.
    """
    lo, hi = problem.domain.bounds()
    conds = {name: (type(c).__qualname__, c) for name, c in problem.conditions.items()}
    return {
        "name": problem.name,
        "coordinates": ", ".join(problem.coords),
        "fields": ", ".join(problem.fields),
        "domain": f"{problem.domain!r} bounds {np.asarray(lo).tolist()} to {np.asarray(hi).tolist()}",
        "parameters": ", ".join(f"{k}={_number(v)}" for k, v in sorted(problem.params.items())),
        "trainable parameters": ", ".join(f"{k} (scale {float(problem.param_scales.get(k, 1.0))!r})" for k in problem.trainable),
        "conditions": ", ".join(sorted(problem.conditions)) + " #" + _hash_of(conds),
        "equations": ", ".join(sorted(problem.equations)) + " #" + _hash_of(dict(problem.equations)),
        "hard constraints": "none" if problem.transform is None else
        f"exact {', '.join(problem.exact) or '-'} #{_hash_of(problem.transform)}",
    }


def fingerprint_difference(stored: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The names of the parts in which two fingerprints differ."""
    return [k for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]
