r"""The contract of a training strategy: a small object with explicit state, in the shape of Optax.

A **loss strategy** (:class:`Strategy`) acts inside the compiled step. The loss is

.. math::
    L(\theta) = \sum_k \lambda_k\, \frac{1}{n_k} \sum_i w_{k,i}\, |r_k(z_{k,i})|^2,

over the terms ``k`` (each PDE equation at the interior points, each trained condition at its
points). :math:`\lambda_k` is the product of the recipe's static weights and every strategy's
:meth:`Strategy.term_weights`; :math:`w_{k,i}` the product of every strategy's
:meth:`Strategy.point_weights`. A strategy may also override problem parameters
(:meth:`Strategy.params`, continuation). Its state is created by :meth:`Strategy.init` and refreshed
by :meth:`Strategy.update` every ``every`` steps, inside the compiled chunk, from a
:class:`Context` (the residuals, and on request the per-term gradients or NTK traces). All weights are
constants for differentiation (``stop_gradient``). In quasi-Newton stages (a line search needs one
fixed function) the state is frozen and residual-dependent weights are off.

A **collocation strategy** (:class:`Collocation`) owns the interior points: it chooses them between
compiled chunks, every ``every`` steps, from the magnitude of the PDE residual.

The state of every strategy is part of the training state's pytree, saved by every checkpoint, so
that an interrupted and resumed run ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, PrivateAttr

from ..registry import Part, Registry

STRATEGIES = Registry("kind", "strategy")
register = STRATEGIES.register
Array = jax.Array


@dataclass(frozen=True)
class Terms:
    """What a strategy may know when it is created: term names, point counts, where time is."""

    names: tuple[str, ...]
    sizes: Mapping[str, int]
    pde: tuple[str, ...]  # the PDE equation terms (evaluated at the interior points)
    time_index: int | None  # column of time in the coordinates, if the problem is time-dependent
    params: Mapping[str, float]  # the problem's constant parameters
    dtype: Any
    seed: int


def check_terms(names, terms: Terms) -> None:
    """Refuse term names that the problem does not have."""
    bad = [k for k in names if k not in terms.names]
    if bad:
        raise ValueError(f"unknown loss term(s) {', '.join(bad)}; the problem's terms are {', '.join(terms.names)}")


class Context:
    """What :meth:`Strategy.update` sees at a refresh: step, residuals, and gradients on request.

    ``r2[k]`` is the pointwise squared residual of term ``k`` (mean over its components), shape
    ``(n_k,)``; ``losses[k]`` its mean. :meth:`grad_norms` and :meth:`ntk_traces` cost extra
    backward passes and are computed only by the strategies that call them.
    """

    def __init__(self, step, theta, batch, r2, point_weights, vector_fn: Callable, loss_terms_fn: Callable):
        self.step, self.theta, self.batch, self.r2 = step, theta, batch, r2
        self.losses = {k: jnp.mean(v) for k, v in r2.items()}
        self._w, self._vector, self._terms = point_weights, vector_fn, loss_terms_fn

    def grad_norms(self) -> dict[str, Array]:
        r"""``|\nabla_\theta L_k|`` for every term, with ``L_k`` the (point-weighted) mean square."""
        out = {}
        for k in self.r2:
            g = jax.grad(lambda th, k=k: self._terms(th, self.batch, self._w)[k])(self.theta)
            out[k] = optax_norm(g)
        return out

    def ntk_traces(self, points: int) -> dict[str, Array]:
        r"""Mean NTK diagonal ``tr(K_kk) / (n c) = (1/(n c)) sum_{i,j} |\nabla_\theta r_{k,j}(z_i)|^2`` on the
        ``points`` points of each term spread evenly over its batch (points appended by refinement
        included), over its ``c`` residual components (one diagonal entry per point and component, as
        the loss averages over both)."""
        sub = jax.tree_util.tree_map(lambda a: a[np.linspace(0, a.shape[0] - 1, min(points, a.shape[0])).round().astype(int)],
                                     self.batch)
        r = self._vector(self.theta, sub)
        out = {}
        for k in self.r2:
            J = jax.jacrev(lambda th, k=k: self._vector(th, sub)[k])(self.theta)
            out[k] = sum(jnp.sum(jnp.square(x)) for x in jax.tree_util.tree_leaves(J)) / r[k].size
        return out


def optax_norm(tree) -> Array:
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree_util.tree_leaves(tree)))


class Strategy(Part):
    """A loss strategy; subclasses set ``kind`` (a ``Literal`` with its name as default)."""

    kind: str
    every: int = Field(1, gt=0, description="steps between refreshes of the state")
    _terms: Terms | None = PrivateAttr(None)

    def bind(self, terms: Terms) -> Strategy:
        """A copy that knows the problem's terms (available as ``self.terms`` in every method)."""
        out = self.model_copy()
        out._terms = terms
        return out

    @property
    def terms_info(self) -> Terms:
        if self._terms is None:
            raise RuntimeError(f"strategy '{self.kind}' used before bind()")
        return self._terms

    def init(self, terms: Terms) -> Any:
        return {}

    def no_effect(self, names: tuple[str, ...], pde: tuple[str, ...]) -> str | None:
        """Why this strategy cannot change the training of a problem whose loss terms are ``names``
        (``pde``: those that are PDE equations), or ``None`` when it can."""
        return None

    def update(self, state, ctx: Context):
        return state

    def term_weights(self, state) -> dict[str, Array]:
        return {}

    def point_weights(self, state, r2: Mapping[str, Array], batch, frozen: bool) -> dict[str, Array]:
        return {}

    def params(self, state, step) -> dict[str, Array]:
        return {}

    def resize(self, state, sizes: Mapping[str, int]):
        """The state for new point counts (after adaptive collocation changed them)."""
        return state

    def scalars(self, state) -> dict[str, float]:
        """Values worth a column in ``history.csv`` (weights, epsilon)."""
        return {}


class TermWeights(Strategy):
    """Base of strategies that hold one weight per term (``state["w"]``, starting at 1)."""

    def init(self, terms):
        return {"w": {k: jnp.ones((), terms.dtype) for k in terms.names}}

    def term_weights(self, state):
        return state["w"]

    def no_effect(self, names, pde):
        if len(names) < 2:
            return f"it weighs loss terms against each other and the loss has one term ({', '.join(names)})"
        return None

    def scalars(self, state):
        return {f"weight_{k}": float(v) for k, v in state["w"].items()}


class Balance(TermWeights):
    r"""Balancing by a per-term measure :math:`m_k` (a gradient norm, an NTK trace):
    :math:`\hat\lambda_k = \min(\sum_j m_j / m_k,\ \lambda_{\max})`,
    :math:`\lambda_k \leftarrow \alpha \lambda_k + (1 - \alpha) \hat\lambda_k`;
    a term whose measure is 0 (all its weights 0) keeps its weight.

    The cap :math:`\lambda_{\max}` (``max_weight``) guards against a term that no parameter can reduce
    (a periodicity condition holding an initial condition's derivative jump, inconsistent data): its
    gradient is tiny, the uncapped ratio grows without bound (to 1e6 on Allen-Cahn) and the other terms
    starve. ``max_weight: null`` removes the cap (the published form)."""

    alpha: float = Field(0.9, ge=0, lt=1, description="running-average factor")
    max_weight: float | None = Field(1e3, ge=1, description="largest weight a term can get (None: no cap)")

    def measure(self, ctx: Context) -> dict[str, Array]:
        raise NotImplementedError

    def update(self, state, ctx):
        m = self.measure(ctx)
        total = sum(m.values())
        tiny = jnp.finfo(total.dtype).tiny
        cap = jnp.inf if self.max_weight is None else self.max_weight
        return {"w": {k: jnp.where(m[k] > tiny,
                                   self.alpha * w + (1 - self.alpha) * jnp.minimum(total / jnp.maximum(m[k], tiny), cap), w)
                      for k, w in state["w"].items()}}


class PointWeights(Strategy):
    """Base of strategies that hold one weight per point of some terms (``state[k]``, shape ``(n_k,)``).

    ``terms`` names the weighted terms; subclasses give the default (:attr:`default_terms`: ``"pde"``
    for the PDE equations, ``"all"`` for every term) and the initial value :attr:`fill`.
    """

    terms: tuple[str, ...] | None = None
    default_terms: ClassVar[str] = "all"
    fill: ClassVar[float] = 1.0

    def init(self, terms):
        names = self.terms if self.terms is not None else (terms.pde if self.default_terms == "pde" else terms.names)
        check_terms(names, terms)
        return {k: jnp.full((terms.sizes[k],), self.fill, terms.dtype) for k in names}

    def resize(self, state, sizes):
        out = {}
        for k, w in state.items():
            n = sizes[k]
            out[k] = w[:n] if w.shape[0] >= n else jnp.concatenate([w, jnp.full((n - w.shape[0],), self.fill, w.dtype)])
        return out


@dataclass
class Pool:
    """What :meth:`Collocation.refresh` sees: the current interior points and ways to judge and draw more.

    ``z``: current points ``(n, d)``; ``residual(z) -> (m,)``: magnitude of the PDE residual at any
    points (root mean square over the equations); ``draw(m) -> (m, d)``: fresh uniform interior
    points; ``rng``: a NumPy generator seeded by the recipe's seed and the step; ``step``;
    ``time_index`` and ``lo``, ``hi`` (the domain's bounding box) for time-dependent problems.
    """

    z: np.ndarray
    residual: Callable[[np.ndarray], np.ndarray]
    draw: Callable[[int], np.ndarray]
    rng: np.random.Generator
    step: int
    time_index: int | None
    lo: np.ndarray
    hi: np.ndarray


class Collocation(Part):
    """An adaptive collocation strategy: chooses the interior points between compiled chunks.

    :meth:`start` may restrict the first points; :meth:`refresh` runs at every positive multiple of
    ``every`` steps and returns the new points (their number may change: RAR-G adds points).
    """

    kind: str
    every: int = Field(500, gt=0)

    def no_effect(self, names: tuple[str, ...], pde: tuple[str, ...]) -> str | None:
        """As :meth:`Strategy.no_effect`: the interior points always matter, so ``None``."""
        return None

    def start(self, pool: Pool) -> np.ndarray:
        return pool.z

    def refresh(self, pool: Pool) -> np.ndarray:
        raise NotImplementedError
