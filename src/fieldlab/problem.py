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

Value = float | Callable[..., Any]
Where = Callable[..., np.ndarray] | None


def _value(value: Value, z: Array) -> Array:
    """A condition's target at one point: a constant, or ``value(*z)`` for a callable."""
    return value(*z) if callable(value) else jnp.asarray(value, z.dtype)


def _filtered(draw: Callable[[int, int], dict[str, np.ndarray]], where: Where, n: int, seed: int):
    """Draw point sets until ``n`` of them satisfy ``where`` (applied to the coordinate columns)."""
    if where is None:
        return draw(n, seed)
    parts, have, k = [], 0, 0
    while have < n:
        batch = draw(max(4 * n, 64), seed + 7919 * k)
        keep = np.asarray(where(*batch["z"].T), dtype=bool)
        parts.append({key: v[keep] for key, v in batch.items()})
        have += int(keep.sum())
        k += 1
        if k > 50:
            raise FieldlabError(
                "a condition's 'where' selects no part of the boundary; check that it matches the "
                "domain (use a tolerance such as np.isclose(x, 1.0))."
            )
    return {key: np.concatenate([p[key] for p in parts])[:n] for key in parts[0]}


class Condition(ABC):
    """One loss term that is not a PDE residual: boundary, initial or data condition.

    ``kind`` selects which collocation count of the recipe applies (``"boundary"``, ``"initial"``
    or ``"data"``). :meth:`sample` returns arrays with a leading point axis, always with ``"z"``
    (``(n, d)`` coordinates); :meth:`residual` maps one such point (a dict of unbatched arrays) to
    the residual, given ``at(z) -> Fields``.
    """

    kind: str = "boundary"

    @abstractmethod
    def sample(self, problem: Problem, n: int, seed: int, method: str) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def residual(self, at: Callable[[Array], Fields], item: dict[str, Array], p: Mapping[str, Array]) -> Array: ...

    def check(self, problem: Problem) -> None:
        """Raise a :class:`FieldlabError` if this condition does not fit ``problem``."""
        field = getattr(self, "field", None)
        if field is not None and field not in problem.fields:
            raise FieldlabError(
                f"{type(self).__name__} refers to field '{field}', but the problem's fields are {problem.fields}."
            )


@dataclasses.dataclass(frozen=True)
class _OnBoundary(Condition):
    field: str
    value: Value = 0.0
    where: Where = None

    def sample(self, problem, n, seed, method):
        def draw(k, s):
            z, normal = problem.domain.sample_boundary(k, seed=s, method=method)
            return {"z": z, "normal": normal}

        return _filtered(draw, self.where, n, seed)

    def _normal_derivative(self, F: Fields, normal: Array) -> Array:
        spatial = F._coords[: normal.shape[-1]]
        return jnp.dot(normal, F.grad(self.field, spatial))


@dataclasses.dataclass(frozen=True)
class Dirichlet(_OnBoundary):
    """``u = g`` on the (selected part of the) boundary."""

    def residual(self, at, item, p):
        return at(item["z"])[self.field] - _value(self.value, item["z"])


@dataclasses.dataclass(frozen=True)
class Neumann(_OnBoundary):
    """``du/dn = g`` (outward normal derivative over the spatial coordinates) on the boundary."""

    def residual(self, at, item, p):
        F = at(item["z"])
        return self._normal_derivative(F, item["normal"]) - _value(self.value, item["z"])


@dataclasses.dataclass(frozen=True)
class Robin(_OnBoundary):
    """``a u + b du/dn = g`` on the boundary."""

    a: float = 1.0
    b: float = 1.0

    def residual(self, at, item, p):
        F = at(item["z"])
        dn = self._normal_derivative(F, item["normal"])
        return self.a * F[self.field] + self.b * dn - _value(self.value, item["z"])


@dataclasses.dataclass(frozen=True)
class Periodic(Condition):
    """Fields (and their first ``order`` derivatives along ``coord``) equal at both ends of ``coord``.

    Requires a box-shaped extent along ``coord`` (interval, box, or either times a time interval).
    """

    coord: str
    fields: tuple[str, ...] | None = None
    order: int = 1

    def sample(self, problem, n, seed, method):
        i = problem.coords.index(self.coord)
        lo, hi = problem.domain.bounds()
        z = problem.domain.sample_interior(n, seed=seed, method=method)
        z_lo, z_hi = z.copy(), z.copy()
        z_lo[:, i], z_hi[:, i] = lo[i], hi[i]
        return {"z": z_lo, "z_hi": z_hi}

    def residual(self, at, item, p):
        F_lo, F_hi = at(item["z"]), at(item["z_hi"])
        names = self.fields or F_lo._fields
        out = []
        for name in names:
            out.append(F_lo[name] - F_hi[name])
            for k in range(1, self.order + 1):
                out.append(F_lo.d(name, *[self.coord] * k) - F_hi.d(name, *[self.coord] * k))
        return jnp.stack(out)

    def check(self, problem):
        if self.coord not in problem.coords:
            raise FieldlabError(f"Periodic coordinate '{self.coord}' is not one of {problem.coords}.")


@dataclasses.dataclass(frozen=True)
class Initial(Condition):
    """``u(z, t0) = g(z)`` at the initial time."""

    field: str
    value: Value = 0.0
    kind = "initial"

    def sample(self, problem, n, seed, method):
        if not hasattr(problem.domain, "sample_initial"):
            raise FieldlabError("an initial condition needs a time domain: use geometry * TimeInterval(t0, t1).")
        return {"z": problem.domain.sample_initial(n, seed=seed, method=method)}

    def residual(self, at, item, p):
        return at(item["z"])[self.field] - _value(self.value, item["z"])


@dataclasses.dataclass(frozen=True)
class InitialRate(Initial):
    """``du/dt(z, t0) = g(z)`` at the initial time (second-order-in-time problems)."""

    def residual(self, at, item, p):
        F = at(item["z"])
        return F.d(self.field, F._coords[-1]) - _value(self.value, item["z"])


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
        if isinstance(self.fields, str):
            object.__setattr__(self, "fields", (self.fields,))
        elif self.fields is not None:
            object.__setattr__(self, "fields", tuple(self.fields))
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
        if self.fields is None and len(problem.fields) != 1:
            name = next((k for k, c in problem.conditions.items() if c is self), "a Data condition")
            raise FieldlabError(
                f"data condition '{name}' does not say which field it observes and the problem has fields "
                f"{problem.fields}; pass fields=(...) to Data."
            )
        bad = [f for f in (self.fields or ()) if f not in problem.fields]
        if bad:
            raise FieldlabError(f"data refer to unknown field(s) {bad}; the problem's fields are {problem.fields}.")
        if self.points.shape[1] != len(problem.coords):
            raise FieldlabError(
                f"data points have {self.points.shape[1]} columns but the problem has coordinates {problem.coords}."
            )


# --------------------------------------------------------------------------------------------------
# Reference solutions and problems
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
    """A reference solution on a tensor grid.

    ``axes`` holds one 1-D array per coordinate (problem order); ``values`` has shape
    ``(*[len(a) for a in axes], m)``. ``points`` and ``flat`` give the same data as ``(N, d)`` and
    ``(N, m)``, in C order of the grid. ``fields`` names the fields the values hold, in column order;
    ``None`` (the default) means all of the problem's fields in the problem's order. Metrics compare
    only these: :meth:`select` picks the matching columns of a prediction.
    """

    axes: tuple[np.ndarray, ...]
    values: np.ndarray
    method: str = ""
    fields: tuple[str, ...] | None = None

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
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)

    @property
    def flat(self) -> np.ndarray:
        return self.values.reshape(-1, self.values.shape[-1])


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
        reference: callable returning a :class:`Reference` (built-in problems), or ``None``.
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
            h.update(f.name.encode())
            _digest_value(getattr(value, f.name), h, depth + 1)
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
