"""The PINN loss: weighted mean squares of residuals and condition terms.

``loss(theta) = sum_k w_k * mean_i |r_k(z_i)|^2`` over the PDE equations (at interior points) and
the trained conditions (at their own points). ``theta = {"net": network arrays, "pde": trainable
parameters}`` (as the optimiser sees them, see :meth:`Problem.trainable_init`); the static part of
the network is closed over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

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


def make_loss(problem: Problem, static, weights: Mapping[str, float], dtype):
    """Return ``terms(theta, batch) -> (loss, {term: mean square})``.

    The PDE residuals use only the derivatives found by :meth:`Problem.derivative_plan`; the
    network's are computed for the whole batch at once (:func:`network_derivatives`), and a
    hard-constraint transform is differentiated through a local Taylor polynomial of the network.
    """
    equations = dict(problem.equations)
    conditions = problem.trained_conditions
    plan = closure(problem.derivative_plan({k: jnp.asarray(v, jnp.float32) for k, v in problem.params.items()}))

    def terms(theta, batch):
        u = solution(problem, theta, static)
        p = parameters(problem, theta, dtype)

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
        out = {name: jnp.mean(jnp.square(r)) for name, r in jax.vmap(pde)(Z, known).items()}
        for name, cond in conditions.items():
            r = jax.vmap(lambda item, c=cond: c.residual(at, item, p))(batch[name])
            out[name] = jnp.mean(jnp.square(r))
        loss = sum(weights.get(k, 1.0) * v for k, v in out.items())
        return loss, out

    return terms
