"""The PINN loss: weighted mean squares of residuals and condition terms.

``loss(theta) = sum_k w_k * mean_i |r_k(z_i)|^2`` over the PDE equations (at interior points) and
the trained conditions (at their own points). ``theta = {"net": network arrays, "pde": trainable
parameters}`` (as the optimiser sees them, see :meth:`Problem.trainable_init`); the static part of
the network is closed over.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

from ..errors import FieldlabError
from ..operators import closure, taylor_jvp, taylor_surrogate
from ..problem import Fields, Problem

Array = jax.Array


def parameters(problem: Problem, theta: dict, dtype) -> dict[str, Array]:
    """Constant parameters merged with the trained ones (which win)."""
    p = {k: jnp.asarray(v, dtype) for k, v in problem.params.items()}
    p.update(problem.trainable_values(theta["pde"]))
    return p


def solution(problem: Problem, theta: dict, static) -> Callable[[Array], Array]:
    """The pointwise solution ``z -> fields`` (network plus hard constraints)."""
    net = eqx.combine(theta["net"], static)
    return problem.apply(net)


def network_derivatives(net, Z: Array, indices) -> dict[tuple[int, ...], Array]:
    """Batched derivatives of the raw network: the backbone's fast path if it has one."""
    if hasattr(net, "taylor"):
        return net.taylor(Z, indices)
    return jax.vmap(lambda z: taylor_jvp(net, z, indices))(Z)


def make_residuals(problem: Problem, static, dtype):
    """Return ``residuals(theta, batch, overrides) -> {term: (n_k, c_k) residual values}``.

    The PDE residuals use only the derivatives found by :meth:`Problem.derivative_plan`; the
    network's are computed for the whole batch at once (:func:`network_derivatives`), and a
    hard-constraint transform is differentiated through a local Taylor polynomial of the network.
    ``overrides`` replaces parameter values (continuation strategies).
    """
    equations = dict(problem.equations)
    conditions = problem.trained_conditions
    plan = closure(problem.derivative_plan({k: jnp.asarray(v, jnp.float32) for k, v in problem.params.items()}))

    def residuals(theta, batch, overrides=None):
        u = solution(problem, theta, static)
        p = parameters(problem, theta, dtype)
        if overrides:
            p.update(overrides)

        def at(z):
            return problem.fields_at(u, z)

        def pde(z, known):
            if problem.transform is None:
                F = Fields(None, z, problem.coords, problem.fields, known=known)
            else:
                F = problem.fields_at(problem.apply(taylor_surrogate(known, z)), z)
            return {name: eq(F, p) for name, eq in equations.items()}

        Z = batch["interior"]["z"]
        known = network_derivatives(eqx.combine(theta["net"], static), Z, plan)
        out = dict(jax.vmap(pde)(Z, known))
        for name, cond in conditions.items():
            out[name] = jax.vmap(lambda item, c=cond: c.residual(at, item, p))(batch[name])
        return {k: v.reshape(v.shape[0], -1) for k, v in out.items()}

    return residuals


def term_names(problem: Problem) -> tuple[str, ...]:
    """The loss terms: every PDE equation, then every trained condition."""
    return (*problem.equations, *problem.trained_conditions)


class Objective:
    r"""The weighted loss, with training strategies (see :mod:`fieldlab.training.strategies`).

    ``loss(theta, batch, aux) = sum_k lambda_k mean_i(w_{k,i} |r_{k,i}|^2)``, where ``aux`` holds the
    strategies' states and the step. ``frozen`` (quasi-Newton and least-squares stages) keeps the
    strategies' states fixed and turns off weights that depend on the current residual.
    """

    def __init__(self, problem: Problem, static, weights: Mapping[str, float], strategies, dtype, seed: int = 0):
        from .strategies import Terms

        names = term_names(problem)
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise FieldlabError(f"loss weights name unknown term(s) {', '.join(unknown)}; the terms of "
                                f"'{problem.name}' are {', '.join(names)}.")
        self.problem, self.names, self.weights, self.dtype, self.seed = problem, names, dict(weights), dtype, seed
        self.residuals = make_residuals(problem, static, dtype)
        time_dependent = hasattr(problem.domain, "sample_initial")
        # states are made in the precision of the stage that makes them (self.dtype follows the stages)
        self._terms = lambda sizes: Terms(names, sizes, tuple(problem.equations),
                                          len(problem.coords) - 1 if time_dependent else None,
                                          dict(problem.params), self.dtype, seed)
        self._raw = list(strategies)
        self.strategies = []

    def bind(self, sizes: Mapping[str, int]):
        """Bind the strategies to the problem's terms with these point counts; returns their states."""
        terms = self._terms(dict(sizes))
        for s in self._raw:
            why = s.no_effect(self.names, tuple(self.problem.equations))
            if why:
                warnings.warn(f"strategy '{s.kind}' has no effect on '{self.problem.name}': {why}"
                              + (" (its conditions are hard constraints, not loss terms; hard_constraints = false "
                                 "trains them as terms)." if self.problem.transform is not None and self.problem.exact else "."),
                              stacklevel=2)
        try:
            self.strategies = [s.bind(terms) for s in self._raw]
            return [s.init(terms) for s in self.strategies]
        except ValueError as e:
            raise FieldlabError(f"{e}.") from None

    def sizes(self, batch) -> dict[str, int]:
        """Points per term: the interior count for the PDE equations, each condition's own count."""
        n = int(batch["interior"]["z"].shape[0])
        return {k: n if k in self.problem.equations else int(batch[k]["z"].shape[0]) for k in self.names}

    def _overrides(self, states, step):
        out = {}
        for s, st in zip(self.strategies, states):
            out.update(s.params(st, step))
        return out

    def point_weights(self, states, r2, batch, frozen):
        w: dict[str, Array] = {}
        sg = {k: jax.lax.stop_gradient(v) for k, v in r2.items()}
        for s, st in zip(self.strategies, states):
            for k, v in s.point_weights(st, sg, batch, frozen).items():
                w[k] = w[k] * v if k in w else v
        return {k: jax.lax.stop_gradient(v) for k, v in w.items()}

    def term_weights(self, states):
        lam = {k: jnp.asarray(self.weights.get(k, 1.0), self.dtype) for k in self.names}
        for s, st in zip(self.strategies, states):
            for k, v in s.term_weights(st).items():
                lam[k] = lam[k] * v
        return {k: jax.lax.stop_gradient(v) for k, v in lam.items()}

    def pointwise(self, theta, batch, aux):
        """Squared residual per point and term (mean over components), ``{k: (n_k,)}``."""
        r = self.residuals(theta, batch, self._overrides(aux["states"], aux["step"]))
        return {k: jnp.mean(jnp.square(v), axis=1) for k, v in r.items()}

    def terms(self, theta, batch, aux, frozen=False):
        """``(loss, {term: unweighted mean square})``."""
        r2 = self.pointwise(theta, batch, aux)
        w = self.point_weights(aux["states"], r2, batch, frozen)
        lam = self.term_weights(aux["states"])
        loss = sum(lam[k] * jnp.mean(w[k] * r2[k] if k in w else r2[k]) for k in self.names)
        return loss, {k: jnp.mean(v) for k, v in r2.items()}

    def loss_fn(self, frozen: bool):
        return lambda theta, batch, aux: self.terms(theta, batch, aux, frozen)[0]

    def vector_fn(self, frozen: bool):
        """The residual vector ``v`` with ``|v|^2 = loss`` (for least-squares stages)."""

        def vector(theta, batch, aux):
            r = self.residuals(theta, batch, self._overrides(aux["states"], aux["step"]))
            r2 = {k: jnp.mean(jnp.square(v), axis=1) for k, v in r.items()}
            w = self.point_weights(aux["states"], r2, batch, frozen)
            lam = self.term_weights(aux["states"])
            parts = []
            for k in self.names:
                n, c = r[k].shape
                scale = lam[k] / (n * c) * (w[k][:, None] if k in w else 1.0)
                parts.append((jnp.sqrt(scale) * r[k]).ravel())
            return jnp.concatenate(parts)

        return vector

    def update(self, aux, theta, batch):
        """Refresh every strategy whose period divides the step (inside the compiled chunk).

        The residuals and gradients a refresh needs are computed inside its branch, so steps
        without a refresh cost nothing extra.
        """
        from .strategies import Context

        if not self.strategies:
            return aux
        step, states = aux["step"], aux["states"]

        def weighted_terms(th, b, w):
            return {k: jnp.mean(w[k] * v if k in w else v) for k, v in self.pointwise(th, b, aux).items()}

        def raw(th, b):
            return self.residuals(th, b, self._overrides(states, step))

        def refresh(strategy, state, current):
            r2 = jax.lax.stop_gradient(self.pointwise(theta, batch, aux))
            w = self.point_weights(current, r2, batch, False)
            return strategy.update(state, Context(step, theta, batch, r2, w, raw, weighted_terms))

        new = list(states)  # in order: each refresh sees the point weights refreshed before it
        for i, s in enumerate(self.strategies):
            new[i] = jax.lax.cond(step % s.every == 0, lambda st, s=s, cur=tuple(new): refresh(s, st, list(cur)),
                                  lambda st: st, new[i])
        return {"states": new, "step": step}


def make_loss(problem: Problem, static, weights: Mapping[str, float], dtype):
    """Return ``terms(theta, batch) -> (loss, {term: mean square})`` with static weights only."""
    objective = Objective(problem, static, weights, [], dtype)
    aux = {"states": [], "step": jnp.zeros((), jnp.int32)}
    return lambda theta, batch: objective.terms(theta, batch, aux)
