r"""Nonlocal conditions: the value of a field on a boundary equals an integral of the solution.

The renewal (birth) condition of age-structured population models (McKendrick 1926, von Foerster
1959) is the standard example:

.. math::

    p(0, t) = \int_{a_1}^{a_2} \beta(a, t)\, p(a, t)\, da,

the newborns at time ``t`` are the births of all ages at that time. In general, for a coordinate
``s`` (``over``) whose boundary face is ``s = s_0`` (``at``), with the other coordinates ``y``,

.. math::

    u(s_0, y) = \int_{lo}^{hi} \sum_f K_f(s, y)\, v_f(s, y)\, ds,

where ``u`` is ``field``, ``v_f`` are ``fields`` (default: ``field`` itself) and ``K`` is the kernel.
The integral is replaced by a **fixed quadrature rule** ``sum_q w_q K(s_q, y) v(s_q, y)``
(composite Gauss-Legendre by default, so that the loss is deterministic and exact for polynomials
of degree ``2 * order - 1`` per panel), never by Monte Carlo. Each sampled boundary point carries its
own quadrature nodes ``(Q, d)`` and weights ``(Q,)``; :meth:`Nonlocal.residual` evaluates the
solution at the nodes with ``jax.vmap``. A training step therefore costs ``Q`` extra evaluations of
the network (values only, no derivatives) per boundary point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .errors import FieldlabError
from .geometry.base import face_points, has_box_extent
from .problem import Condition

__all__ = ["Nonlocal", "quadrature_rule"]


def quadrature_rule(lo: float, hi: float, nodes: int = 64, rule: str = "gauss", panels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a fixed rule for ``integral_lo^hi f(s) ds ~ sum_q w_q f(s_q)``.

    ``rule="gauss"``: composite Gauss-Legendre, ``panels`` equal panels of ``nodes / panels`` nodes
    each (``panels`` divides ``nodes``) (error ``O(h^{2k})`` for smooth ``f``, with ``k`` nodes per panel of width ``h``).
    ``rule="trapezoid"``: ``nodes`` equally spaced nodes including both ends (error ``O(h^2)``;
    exact weights at a kink placed on a node).
    """
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise FieldlabError(f"a quadrature interval needs finite lo < hi; got [{lo}, {hi}].")
    if rule == "gauss":
        if panels < 1 or nodes < panels or nodes % panels:
            raise FieldlabError(f"a Gauss rule needs the same whole number of nodes in every panel; got {nodes} nodes "
                                f"in {panels} panels.")
        k = nodes // panels
        g, w = np.polynomial.legendre.leggauss(k)
        edges = np.linspace(lo, hi, panels + 1)
        half, mid = 0.5 * np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
        return (mid[:, None] + half[:, None] * g).ravel(), (half[:, None] * w).ravel()
    if rule == "trapezoid":
        if nodes < 2:
            raise FieldlabError(f"a trapezoid rule needs at least 2 nodes; got {nodes}.")
        s = np.linspace(lo, hi, nodes)
        w = np.full(nodes, (hi - lo) / (nodes - 1))
        w[[0, -1]] *= 0.5
        return s, w
    raise FieldlabError(f"unknown quadrature rule '{rule}'; choose 'gauss' or 'trapezoid'.")


@dataclasses.dataclass(frozen=True, eq=False)
class Nonlocal(Condition):
    r"""``field(s0, y) = integral_lo^hi sum_f kernel(s, y)_f * fields_f(s, y) ds`` on the face ``over = at``.

    Args:
        field: the field whose boundary value is prescribed (``u`` above).
        over: the coordinate ``s`` integrated over (its face ``s = at`` is where the condition holds).
        at: the value ``s0`` of ``over`` on that face (for example age 0).
        kernel: ``kernel(*z) -> scalar`` or ``(len(fields),)``, a JAX function of the coordinates of
            one quadrature node (in the problem's coordinate order); for example the fertility
            ``beta(a, t)``. It may close over anything constant.
        lo: lower limit of the integral; default: the domain's lower bound along ``over``. Restrict
            ``lo`` and ``hi`` to the support of the kernel (the fertile ages) so that no node is wasted.
        hi: upper limit of the integral; default: the domain's upper bound along ``over``.
        nodes: number of quadrature nodes (:func:`quadrature_rule`).
        rule: ``"gauss"`` (composite Gauss-Legendre) or ``"trapezoid"``.
        panels: number of equal panels of the Gauss rule.
        fields: the fields ``v_f`` in the integrand; default ``(field,)``.

    The residual at a boundary point ``z`` (with ``z[over] = at``) is ``u(z) - sum_q w_q K(z_q) .
    v(z_q)``, where ``z_q`` is ``z`` with ``over`` replaced by node ``s_q``. Points of the face are
    drawn like the interior with ``over`` set to ``at`` (``"grid"``: a grid of the face itself, see
    :meth:`face_points`); this needs a box-shaped extent along ``over`` (an
    interval or box, possibly times a time interval), and ``at`` must be one of its two ends.
    """

    field: str
    over: str
    at: float
    kernel: Callable[..., jax.Array]
    lo: float | None = None
    hi: float | None = None
    nodes: int = 64
    rule: str = "gauss"
    panels: int = 1
    fields: tuple[str, ...] | None = None
    kind = "boundary"

    def __post_init__(self):
        if isinstance(self.fields, str):
            object.__setattr__(self, "fields", (self.fields,))
        elif self.fields is not None:
            object.__setattr__(self, "fields", tuple(self.fields))
        quadrature_rule(0.0, 1.0, self.nodes, self.rule, self.panels)  # refuse a bad rule when it is built

    def check(self, problem):
        if self.over not in problem.coords:
            raise FieldlabError(f"Nonlocal integrates over '{self.over}', which is not a coordinate {problem.coords}.")
        bad = [f for f in (self.field, *(self.fields or ())) if f not in problem.fields]
        if bad:
            raise FieldlabError(f"Nonlocal refers to unknown field(s) {bad}; the problem's fields are {problem.fields}.")
        lo, hi = self.limits(problem)
        i = problem.coords.index(self.over)
        dlo, dhi = (float(b[i]) for b in problem.domain.bounds())
        if not has_box_extent(problem.domain, i):
            raise FieldlabError(f"Nonlocal integrates over '{self.over}', which needs a box-shaped extent along it (an "
                                "interval or box, possibly times a time interval).")
        if min(abs(float(self.at) - dlo), abs(float(self.at) - dhi)) > 1e-9 * (dhi - dlo):
            raise FieldlabError(f"Nonlocal holds on the face {self.over} = {self.at:g}, which is not an end of the "
                                f"domain's extent [{dlo:g}, {dhi:g}] along '{self.over}'; give at={dlo:g} or at={dhi:g}.")
        if lo < dlo - 1e-9 * (dhi - dlo) or hi > dhi + 1e-9 * (dhi - dlo) or not hi > lo:
            raise FieldlabError(f"the Nonlocal integral over '{self.over}' from {lo:g} to {hi:g} leaves the domain "
                                f"[{dlo:g}, {dhi:g}]; give lo and hi inside it with lo < hi.")
        k = len(self.fields or (self.field,))
        z = 0.5 * (problem.domain.bounds()[0] + problem.domain.bounds()[1])
        try:
            shape = jnp.shape(self.kernel(*jnp.asarray(z, jnp.float32)))
        except Exception as e:  # noqa: BLE001 - any failure of user code is reported with its cause
            raise FieldlabError(f"the Nonlocal kernel failed at the point {tuple(z)}: {type(e).__name__}: {e}") from None
        if shape not in ((), (1,), (k,)):
            raise FieldlabError(f"the Nonlocal kernel returns shape {shape}; it must return one number, or one per "
                                f"integrated field ({k}: {self.fields or (self.field,)}).")

    def limits(self, problem) -> tuple[float, float]:
        """The integral's limits, the domain's extent along ``over`` where not given."""
        i = problem.coords.index(self.over)
        dlo, dhi = (float(b[i]) for b in problem.domain.bounds())
        return (dlo if self.lo is None else float(self.lo)), (dhi if self.hi is None else float(self.hi))

    def rule_for(self, problem) -> tuple[np.ndarray, np.ndarray]:
        """The fixed quadrature nodes ``(Q,)`` and weights ``(Q,)`` along ``over``."""
        return quadrature_rule(*self.limits(problem), self.nodes, self.rule, self.panels)

    def sample(self, problem, n, seed, method):
        i = problem.coords.index(self.over)
        z = self.face_points(problem, n, seed, method)
        s, w = self.rule_for(problem)
        zq = np.repeat(z[:, None, :], len(s), axis=1)
        zq[:, :, i] = s
        return {"z": z, "nodes": zq, "weights": np.broadcast_to(w, (n, len(s))).copy()}

    def face_points(self, problem, n, seed, method) -> np.ndarray:
        """``(n, d)`` points of the face ``over = at`` (:func:`~fieldlab.geometry.base.face_points`)."""
        i = problem.coords.index(self.over)
        z = face_points(problem.domain, i, n, seed, method)
        z[:, i] = self.at
        return z

    def integral(self, u: Callable[[jax.Array], jax.Array], nodes: jax.Array, weights: jax.Array,
                 field_names) -> jax.Array:
        """``sum_q w_q K(z_q) . v(z_q)`` for a pointwise solution ``u(z) -> (m,)``; nodes ``(Q, d)``."""
        names = self.fields or (self.field,)
        cols = jnp.asarray([list(field_names).index(f) for f in names])
        values = jax.vmap(u)(nodes)[:, cols]                                 # (Q, k)
        kern = jax.vmap(lambda zq: jnp.broadcast_to(self.kernel(*zq), (len(names),)))(nodes)  # (Q, k)
        return jnp.sum(weights[:, None] * kern * values)

    def residual(self, at, item, p):
        F = at(item["z"])
        return F[self.field] - self.integral(lambda zq: at(zq).values, item["nodes"], item["weights"], F._fields)
