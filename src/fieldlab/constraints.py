r"""Conditions beyond pointwise boundary data: integral constraints, material interfaces, scaled
terms, and divergence-form operators with field-dependent coefficients.

Every class here is an ordinary :class:`~fieldlab.problem.Condition`: :meth:`sample` returns arrays
with a leading item axis (always with ``"z"``, ``(n, d)``), :meth:`residual` maps one item to its
residual, and the trainer vmaps it. What differs is what one *item* is:

- :class:`Integral`: one item is a whole fixed quadrature rule; the residual is
  :math:`\sum_q w_q\, g(z_q) - c`, evaluated with ``jax.vmap`` over the nodes inside
  :meth:`Integral.residual`.
- :class:`Interface`: one item is a point of an internal curve with its unit normal; the residual
  is the jump of a field and of its normal flux across the curve.
- :class:`Scaled`: wraps any condition and divides its residual by typical magnitudes (per field).

A point gauge (a field's value at one point, such as ``p(1/2, 1/2) = -1/25``) is an ordinary
:class:`~fieldlab.problem.Data` condition with one point.

The helpers :func:`flux_divergence` and :func:`scaled` serve residual equations: the divergence
:math:`\nabla\cdot(c(w)\nabla u)` of a flux whose coefficient is a function of a field (thermal
conductivity :math:`k(T)`, electrical conductivity :math:`\sigma(T)`), with the chain rule done
exactly, and the division of an equation by a typical size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .errors import FieldlabError
from .problem import Condition, Fields, Problem

Array = jax.Array


# --------------------------------------------------------------------------------------------------
# Quadrature
# --------------------------------------------------------------------------------------------------


def gauss_legendre_box(lo: Sequence[float], hi: Sequence[float], order: int | Sequence[int]):
    r"""Tensor Gauss-Legendre rule on the box ``[lo, hi]``: ``(nodes (N, d), weights (N,))``.

    With ``order`` nodes per axis the rule integrates polynomials of degree ``2 order - 1`` in each
    variable exactly; the weights sum to the box's volume.
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    orders = [order] * len(lo) if np.isscalar(order) else list(order)
    axes, wts = [], []
    for a, b, k in zip(lo, hi, orders):
        x, w = np.polynomial.legendre.leggauss(int(k))
        axes.append(a + (b - a) * (x + 1) / 2)
        wts.append(w * (b - a) / 2)
    mesh = np.meshgrid(*axes, indexing="ij")
    wmesh = np.meshgrid(*wts, indexing="ij")
    return np.stack([m.ravel() for m in mesh], -1), np.prod(np.stack([w.ravel() for w in wmesh], -1), axis=-1)


def _is_box(geometry) -> bool:
    from .geometry import Box, Interval

    return isinstance(geometry, (Box, Interval))


@dataclasses.dataclass(frozen=True, eq=False)
class Integral(Condition):
    r"""An integral (or mean) of a field over the domain or a sub-region equals a value.

    .. math::
        r = \sum_{q=1}^{N} w_q\, g(z_q) - c \;\approx\; \int_R g\,dz - c
        \quad\text{or, with } \texttt{mean=True},\quad
        r = \frac{\sum_q w_q\, g(z_q)}{\sum_q w_q} - c,

    where ``g`` is a field (``"p"``) or a function ``g(F, params) -> scalar`` of the
    :class:`~fieldlab.problem.Fields` at a node (a flux, a product of fields). The quadrature rule is
    fixed (drawn once, identical at every step and for every backbone):

    - ``region`` a :class:`~fieldlab.geometry.Box` or :class:`~fieldlab.geometry.Interval`, or
      ``None`` with a box-shaped domain: tensor Gauss-Legendre with ``order`` nodes per axis
      (exact for polynomials of degree ``2 order - 1``; smooth integrands converge spectrally);
    - any other region (a disk, a polygon, a boolean combination): ``qmc`` scrambled-Sobol points of
      the region with equal weights ``|R| / N`` (quasi-Monte Carlo, error about ``N^-1`` for smooth
      integrands); ``|R|`` is estimated from the share of 65536 scrambled-Sobol points of the
      bounding box that fall in ``R`` (relative error about 1e-4 for a disk), so prefer ``mean=True``
      there.

    The whole rule is one loss item: ``sample`` returns ``{"z": (1, d), "nodes": (1, N, d),
    "w": (1, N)}`` (``z`` is the first node, for code that expects a point), and the residual is
    evaluated with ``jax.vmap`` over the nodes. A pressure fixed only up to a constant by its
    equations and velocity data gets its constant from ``Integral("p", 0.0, mean=True)`` (a
    mean-pressure gauge).

    Args:
        field: a field name, or ``g(F, p) -> scalar``.
        value: the target ``c``.
        region: the region ``R`` (``None``: the problem's domain).
        mean: divide by the total weight (the region's measure).
        order: Gauss-Legendre nodes per axis for box regions (one number, or one per axis).
        qmc: number of Sobol points for other regions.
    """

    field: str | Callable[[Fields, Mapping[str, Array]], Array]
    value: float = 0.0
    region: object | None = None
    mean: bool = False
    order: int | tuple[int, ...] = 32
    qmc: int = 4096
    kind = "boundary"

    def rule(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        """The fixed quadrature ``(nodes (N, d), weights (N,))`` of this condition in ``problem``."""
        region = problem.domain if self.region is None else self.region
        if getattr(region, "dim", None) != len(problem.coords):
            raise FieldlabError(f"an Integral's region has dimension {getattr(region, 'dim', '?')} but the problem "
                                f"has coordinates {problem.coords}; give a region of the same dimension.")
        if _is_box(region):
            lo, hi = region.bounds()
            return gauss_legendre_box(lo, hi, self.order)
        if hasattr(region, "sample_initial"):
            raise FieldlabError("an Integral over a space-time domain needs a Box region; pass region=Box(...).")
        nodes = np.asarray(region.sample_interior(self.qmc, seed=0, method="sobol"), np.float64)
        lo, hi = (np.asarray(b, np.float64) for b in region.bounds())
        from .geometry.base import unit_samples

        probe = lo + unit_samples(65536, len(lo), np.random.default_rng(0), "sobol") * (hi - lo)
        volume = float(np.prod(hi - lo) * np.mean(region.inside(probe)))
        return nodes, np.full(len(nodes), volume / len(nodes))

    def sample(self, problem, n, seed, method):
        nodes, w = self.rule(problem)
        return {"z": nodes[:1], "nodes": nodes[None], "w": w[None]}

    def residual(self, at, item, p):
        field = self.field

        def g(z):
            F = at(z)
            return F[field] if isinstance(field, str) else field(F, p)

        vals = jax.vmap(g)(item["nodes"])
        total = jnp.sum(item["w"] * vals)
        if self.mean:
            total = total / jnp.sum(item["w"])
        return total - self.value

    def check(self, problem):
        if isinstance(self.field, str) and self.field not in problem.fields:
            raise FieldlabError(f"Integral refers to field '{self.field}', but the problem's fields are {problem.fields}.")
        if self.region is None and not _is_box(problem.domain) and hasattr(problem.domain, "sample_initial"):
            raise FieldlabError("an Integral over a space-time domain needs a Box region; pass region=Box(...).")
        order = np.atleast_1d(np.asarray(self.order, dtype=object))
        whole = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1  # noqa: E731
        if not (order.ndim == 1 and order.size in (1, len(problem.coords)) and all(whole(v) for v in order)
                and whole(self.qmc)):
            raise FieldlabError(f"an Integral needs order >= 1 (one whole number, or one per coordinate "
                                f"{problem.coords}) and qmc >= 1 quadrature points; got order={self.order!r}, "
                                f"qmc={self.qmc!r}.")


# --------------------------------------------------------------------------------------------------
# Interfaces
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Segment:
    r"""The straight segment from ``a`` to ``b`` in the plane, an internal curve for :class:`Interface`.

    Its unit normal is the tangent ``(b - a) / |b - a|`` turned by +90 degrees, ``n = (-t_y, t_x)``:
    it points to the left of the direction ``a -> b``, into the side called ``+``. The signed distance
    :meth:`level_set` is positive on that side.
    """

    a: tuple[float, float]
    b: tuple[float, float]

    def _frame(self):
        a, b = np.asarray(self.a, np.float64), np.asarray(self.b, np.float64)
        t = (b - a) / np.linalg.norm(b - a)
        return a, b, t, np.array([-t[1], t[0]])

    def sample(self, n: int, seed: int = 0, method: str = "sobol") -> tuple[np.ndarray, np.ndarray]:
        """``n`` points of the segment and the unit normals there, ``(n, 2)`` each."""
        from .geometry.base import as_rng, check_method, unit_1d

        a, b, _, normal = self._frame()
        s = unit_1d(int(n), as_rng(seed), check_method(method))
        return a + s[:, None] * (b - a), np.broadcast_to(normal, (n, 2)).copy()

    def level_set(self, x, y, xp=np):
        """Signed distance to the segment's line, positive on the ``+`` side (the normal's)."""
        a, _, _, normal = self._frame()
        return (x - a[0]) * normal[0] + (y - a[1]) * normal[1]


Coefficient = float | Callable[[Array], Array]


def _coef(c: Coefficient, u: Array) -> Array:
    return c(u) if callable(c) else jnp.asarray(c, u.dtype)


@dataclasses.dataclass(frozen=True)
class Interface(Condition):
    r"""Continuity of a field and of its normal flux across an internal curve :math:`\Gamma`.

    .. math::
        [u] = u^+ - u^- = a, \qquad [k\,\partial_n u] = k^+\,\partial_n u^+ - k^-\,\partial_n u^- = b
        \quad\text{on } \Gamma,

    with :math:`n` the curve's unit normal (pointing from side ``-`` into side ``+``), piecewise
    coefficients ``coefficient = (k_minus, k_plus)`` (numbers, or functions of the trace value such as
    ``lambda T: 1 + T``; one number or function: the same on both sides; the function's argument is
    the trace of ``of``, by default of the field itself), and jumps ``a = jump``, ``b = flux_jump`` (default 0: perfect contact). The
    residual is the vector ``([u] - a, [k du/dn] - b)``.

    **Two representations of a field with a kink.** A smooth network cannot carry a jump of the
    normal derivative, so the field must be represented so that it can:

    - *one field with a kink* (``field="T"``): the problem's transform writes the field as
      :math:`u = A + |d|\,B` with :math:`A, B` smooth network outputs and :math:`d` the signed
      distance to :math:`\Gamma` (see :func:`kink`). Such a field is continuous by construction and
      its normal slope jumps by :math:`2B`. Forward-mode derivatives at a point *on* :math:`\Gamma`
      see ``d/dz |d| = 0`` (the average of the sides), so the one-sided traces are taken by Taylor
      extrapolation from the points :math:`z_\pm = z \pm \delta n` on either side:
      :math:`u^\pm \approx u(z_\pm) \mp \delta\,\partial_n u(z_\pm)`, :math:`\partial_n u^\pm \approx
      \partial_n u(z_\pm) \mp \delta\,\partial_{nn} u(z_\pm)`, with error :math:`O(\delta^2)` (exact
      derivatives, no finite differences); ``offset`` :math:`= \delta` (default 1e-3).
    - *one field per side* (``field=("T1", "T2")``): two fields, each defined everywhere, the first
      meant for side ``-``; the traces are the two fields at the interface point itself (exact,
      ``offset`` unused). This is the domain-decomposition (XPINN-like) formulation.

    ``curve`` is any object with ``sample(n, seed, method) -> (points (n, 2), normals (n, 2))``, such
    as :class:`Segment`. Sampled with the recipe's ``boundary`` count.

    ``of``: the field whose one-sided traces the coefficients take (``sigma(T)`` in the current
    balance across a material interface: ``Interface("phi", curve, (sigma_minus, sigma_plus),
    of="T")``), represented like ``field`` (one field with a kink, traced the same way, or a pair).
    """

    field: str | tuple[str, str]
    curve: object
    coefficient: tuple[Coefficient, Coefficient] = (1.0, 1.0)
    jump: float = 0.0
    flux_jump: float = 0.0
    offset: float = 1e-3
    of: str | tuple[str, str] | None = None
    kind = "boundary"

    def __post_init__(self):
        for name in ("field", "of"):
            v = getattr(self, name)
            if isinstance(v, (list, tuple)):
                object.__setattr__(self, name, v[0] if len(v) == 1 else tuple(v))
        c = self.coefficient
        if not isinstance(c, (list, tuple)):
            object.__setattr__(self, "coefficient", (c, c))
        elif len(c) != 2:
            raise FieldlabError(f"an Interface's coefficient is one value or a pair (minus side, plus side); got {len(c)}.")
        else:
            object.__setattr__(self, "coefficient", tuple(c))

    def sample(self, problem, n, seed, method):
        z, normal = self.curve.sample(n, seed=seed, method=method)
        spatial = np.asarray(z, np.float64)
        if spatial.shape[1] != len(problem.coords):
            raise FieldlabError(f"the interface curve gives {spatial.shape[1]}-D points but the problem has "
                                f"coordinates {problem.coords}; interfaces are curves of a steady 2-D problem.")
        return {"z": spatial, "normal": np.asarray(normal, np.float64)}

    def traces(self, at, item, field=None) -> tuple[Array, Array, Array, Array]:
        """``(u_minus, u_plus, du/dn minus, du/dn plus)`` of ``field`` (default: :attr:`field`) at one
        interface point.

        Normal derivatives are directional derivatives along ``n`` in forward mode (one nested
        ``jax.jvp`` of the pointwise solution along the line ``z + t n``), not full gradients.
        """
        z, n = item["z"], item["normal"]
        F = at(z)
        net, fields = F._net, F._fields

        def line(z0, k):
            """``(u, du/dn, d2u/dn2)`` of field ``k`` at ``z0``."""
            g = lambda t: net(z0 + t * n)[k]  # noqa: E731
            dg = lambda t: jax.jvp(g, (t,), (jnp.ones_like(t),))  # noqa: E731
            (val, d1), (_, d2) = jax.jvp(dg, (jnp.zeros((), z.dtype),), (jnp.ones((), z.dtype),))
            return val, d1, d2

        field = self.field if field is None else field
        if isinstance(field, tuple):
            (um, gm, _), (up, gp, _) = (line(z, fields.index(f)) for f in field)
            return um, up, gm, gp
        h = jnp.asarray(self.offset, z.dtype)
        k = fields.index(field)
        vm, gm, hm = line(z - h * n, k)
        vp, gp, hp = line(z + h * n, k)
        return vm + h * gm, vp - h * gp, gm + h * hm, gp - h * hp

    def residual(self, at, item, p):
        um, up, gm, gp = self.traces(at, item)
        cm, cp = (um, up) if self.of is None else self.traces(at, item, self.of)[:2]
        km, kp = _coef(self.coefficient[0], cm), _coef(self.coefficient[1], cp)
        return jnp.stack([up - um - self.jump, kp * gp - km * gm - self.flux_jump])

    def check(self, problem):
        names = self.field if isinstance(self.field, tuple) else (self.field,)
        if len(names) not in (1, 2):
            raise FieldlabError("Interface takes one field (with a kink) or a pair of fields (one per side).")
        of = () if self.of is None else self.of if isinstance(self.of, tuple) else (self.of,)
        if of and len(of) != len(names):
            raise FieldlabError(f"an Interface's coefficients take the traces of 'of', which must be represented like "
                                f"its field: {'a pair of fields' if len(names) == 2 else 'one field'}; got {self.of!r}.")
        bad = [f for f in (*names, *of) if f not in problem.fields]
        if bad:
            raise FieldlabError(f"Interface refers to field(s) {bad}, but the problem's fields are {problem.fields}.")
        if not hasattr(self.curve, "sample"):
            raise FieldlabError("an Interface's curve needs a sample(n, seed, method) method; use Segment(a, b).")
        if len(names) == 1 and not float(self.offset) > 0:
            raise FieldlabError("an Interface on one field with a kink needs offset > 0 (for example 1e-3).")


def kink(level_set: Callable[..., Array], pairs: Mapping[int, tuple[int, int]], n_fields: int,
         base: Callable[[Array, Array], Array] | None = None) -> Callable[[Array, Array], Array]:
    r"""An output transform giving fields with a kink across the zero set of ``level_set``.

    Field ``k`` of ``pairs`` is :math:`u_k = A + |d(z)|\,B` with ``(A, B) = (raw[i], raw[j])`` for
    ``pairs[k] = (i, j)``; every other field ``k`` is ``raw[k]`` (fields keep their positions;
    the extra ``B`` outputs come after the ``n_fields`` fields, so the network has
    ``n_fields + len(pairs)`` outputs: set :attr:`Problem.outputs`). With a linear level set
    :math:`d` (a signed distance to a straight interface), every function that is smooth on each
    side, continuous across :math:`\Gamma` and whose normal slope jumps there has this form with
    smooth :math:`A, B` (write :math:`d\,c_\pm = d\,\tfrac{c_- + c_+}{2} + |d|\,\tfrac{c_+ - c_-}{2}`).
    ``base(z, fields)`` is applied afterwards (further hard constraints).
    """

    def transform(z, raw):
        d = jnp.abs(level_set(*z[:2], xp=jnp))
        out = [raw[k] for k in range(n_fields)]
        for k, (i, j) in pairs.items():
            out[k] = raw[i] + d * raw[j]
        fields = jnp.stack(out)
        return fields if base is None else base(z, fields)

    return transform


# --------------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Scaled(Condition):
    r"""A condition whose residual is divided by typical magnitudes: :math:`r / s`.

    ``scale`` is one number, or one per residual component (``Data(fields=("u", "p"))`` has one
    component per field), so that a field of size 0.05 and one of size 1 weigh alike in the loss
    (per-field loss scaling). The loss term of the wrapped condition becomes
    :math:`\operatorname{mean}(r^2 / s^2)`.
    """

    condition: Condition
    scale: float | tuple[float, ...] = 1.0

    # The wrapped condition decides where and how many points are drawn.
    @property
    def kind(self):  # noqa: D401
        return self.condition.kind

    @property
    def count(self):
        return self.condition.count

    @property
    def points(self):
        return getattr(self.condition, "points", ())

    @property
    def names(self):
        return self.condition.names

    def fraction(self, problem):
        return self.condition.fraction(problem)

    def sample(self, problem, n, seed, method):
        return self.condition.sample(problem, n, seed, method)

    def residual(self, at, item, p):
        r = self.condition.residual(at, item, p)
        return r / _per_component(self.scale, r, "a Scaled condition")

    def check(self, problem):
        self.condition.check(problem)
        s = np.atleast_1d(np.asarray(self.scale, np.float64))
        if s.ndim != 1 or not (np.isfinite(s).all() and (s > 0).all()):
            raise FieldlabError("a Scaled condition's scale must be positive finite numbers.")


def scaled(equation: Callable[[Fields, Mapping[str, Array]], Array], scale) -> Callable:
    r"""The residual equation ``equation / scale`` (per component if ``scale`` is a sequence).

    Dividing each equation by the typical size of its terms (for manufactured solutions: the root
    mean square of its source) makes unit loss weights meaningful across fields.
    """
    s = np.asarray(scale, np.float64)
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise FieldlabError("an equation's scale must be positive finite numbers.")

    def residual(F, p):
        r = equation(F, p)
        return r / _per_component(s, r, "a scaled equation")

    return residual


def _per_component(scale, r: Array, what: str) -> Array:
    """``scale`` as an array that divides the residual ``r`` (one number, or one per component of ``r``)."""
    s = jnp.asarray(scale, r.dtype)
    if s.size == 1:
        return s.reshape(())
    if s.shape != r.shape[-1:]:
        raise FieldlabError(f"{what} has {s.size} scales but its residual has {r.shape[-1] if r.ndim else 1} "
                            "component(s); give one scale, or one per component.")
    return s


# --------------------------------------------------------------------------------------------------
# Operators with field-dependent coefficients
# --------------------------------------------------------------------------------------------------


def flux_divergence(F: Fields, field: str, coords: Sequence[str], coefficient: Coefficient = 1.0,
                    of: str | None = None) -> Array:
    r"""The divergence of a flux with a field-dependent coefficient, by the chain rule, exactly.

    .. math::
        \nabla\cdot\big(c(w)\,\nabla u\big) = c(w)\,\Delta u + c'(w)\,\nabla w\cdot\nabla u,

    with ``u = field``, ``w = of`` (default: ``u`` itself) and ``c`` a number or a JAX function of one
    value (``c'`` by ``jax.grad``), over the coordinates ``coords``. Uses the first and unmixed second
    partials of ``u`` and the first partials of ``w``.
    """
    lap = sum(F.d(field, c, c) for c in coords)
    if not callable(coefficient):
        return coefficient * lap
    w_name = of or field
    w = F[w_name]
    c, dc = jax.value_and_grad(coefficient)(w)
    cross = sum(F.d(w_name, c_) * F.d(field, c_) for c_ in coords)
    return c * lap + dc * cross


__all__ = ["Integral", "Interface", "Scaled", "Segment", "flux_divergence", "gauss_legendre_box", "kink", "scaled"]
