"""Optimiser stages as compiled chunks of steps.

A chunk runs up to ``chunk`` steps of one stage (see :mod:`.stages`) inside one ``lax.scan`` (one
compiled call), skipping steps once the requested count is reached, the loss is non-finite, or the
stage has converged. Before each step of a first-order stage the strategies are refreshed
(:meth:`fieldlab.training.losses.Objective.update`), so their state evolves inside the compiled loop.
The stage's stopping rules are objects (:mod:`.stopping`), each with one counter carried across
chunks; a chunk reports which one ended the stage.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .stages import MAX_LINESEARCH, Stage
from .stopping import Progress

#: the reason code of a non-finite loss; codes ``FIRST_RULE + k`` name ``stage.rules()[k]``
NON_FINITE = 1
FIRST_RULE = 2

__all__ = ["FIRST_RULE", "MAX_LINESEARCH", "NON_FINITE", "make_chunk", "reason_of"]


def reason_of(stage: Stage, code: int) -> str:
    """The phrase for a chunk's nonzero reason ``code``."""
    return "non-finite" if code == NON_FINITE else stage.rules()[code - FIRST_RULE].reason


def make_chunk(stage: Stage, loss_fn, chunk: int, *, update=None, vector_fn=None, minibatch: bool = False):
    """A jitted ``run(theta, state, batch, n, counters, last, aux) -> (theta, state, losses, n_done, reason, counters, last, aux)``.

    ``loss_fn(theta, batch, aux) -> scalar``; ``update(aux, theta, batch) -> aux`` refreshes the
    strategies (first-order stages only; ``aux["step"]`` counts the steps); ``vector_fn`` gives the
    residual vector for least-squares stages. ``counters`` (one int32 per stopping rule of
    ``stage.rules()``) and ``last`` (the previous loss) carry the convergence tests across chunks.
    ``reason`` is 0 while the stage may continue, else :data:`NON_FINITE` or ``FIRST_RULE + k`` for
    the ``k``-th rule (see :func:`reason_of`).
    ``minibatch``: ``batch["interior"]["z"]`` holds one slice of interior points per step, shape
    ``(chunk, b, d)``, and step ``i`` of the chunk uses slice ``i`` (the other points are shared).
    Returns ``(transformation, run)``.
    """
    opt = stage.transform()
    step = stage.make_step(opt, loss_fn, vector_fn)
    rules = stage.rules()
    refresh = update is not None and not stage.frozen

    @jax.jit
    def run(theta, state, batch, n, counters, last, aux):
        def body(carry, x):
            i, z = x
            step_batch = {**batch, "interior": {"z": z}} if minibatch else batch

            def do(c):
                theta, state, counters, reason, last, aux = c
                batch = step_batch
                if refresh:
                    aux = update(aux, theta, batch)
                new_theta, new_state, loss, gnorm, failed_ls = step(theta, state, batch, aux)
                if refresh:
                    aux = {**aux, "step": aux["step"] + 1}
                finite = jnp.isfinite(loss) & jnp.isfinite(gnorm)
                progress = Progress(loss, last, gnorm, failed_ls)
                reason, counts = jnp.int32(0), []
                for k in reversed(range(len(rules))):  # the first rule that fires names the stop
                    fired, count = rules[k].check(counters[k], progress)
                    counts.insert(0, count)
                    reason = jnp.where(fired, FIRST_RULE + k, reason)
                reason = jnp.where(finite, reason, NON_FINITE).astype(jnp.int32)
                counters = jnp.stack(counts) if counts else counters
                return new_theta, new_state, counters, reason, loss.astype(last.dtype), aux

            active = (i < n) & (carry[3] == 0)
            carry = jax.lax.cond(active, do, lambda c: c, carry)
            return carry, (carry[4], active)

        counters = jnp.asarray(counters, jnp.int32).reshape(len(rules))
        init = (theta, state, counters, jnp.int32(0), last, aux)
        xs = (jnp.arange(chunk), batch["interior"]["z"] if minibatch else None)
        (theta, state, counters, reason, last, aux), (losses, active) = jax.lax.scan(body, init, xs)
        return theta, state, losses, jnp.sum(active), reason, counters, last, aux

    return opt, run
