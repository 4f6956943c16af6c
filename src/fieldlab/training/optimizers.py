"""Optimiser stages as compiled chunks of steps.

A chunk runs up to ``chunk`` steps of one stage (see :mod:`.stages`) inside one ``lax.scan`` (one
compiled call), skipping steps once the requested count is reached, the loss is non-finite, or the
stage has converged. Before each step of a first-order stage the strategies are refreshed
(:meth:`fieldlab.training.losses.Objective.update`), so their state evolves inside the compiled loop.
The stage's stopping rule is explicit and reported: ``steps``, ``time``, ``tolerance`` (relative loss
change under ``tol`` for ``PATIENCE`` consecutive iterations), ``stalled`` (no change at all, or the
line search failed (no sufficient decrease, or all its evaluations used) ``PATIENCE`` times in a row,
which in float32 near convergence means hundreds of wasted evaluations for no progress), or ``gtol``
(gradient norm under ``gtol``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .stages import MAX_LINESEARCH, Stage

PATIENCE = 10
REASONS = {1: "tolerance", 2: "gtol", 3: "non-finite", 4: "stalled (line search finds no decrease)"}

__all__ = ["MAX_LINESEARCH", "PATIENCE", "REASONS", "make_chunk"]


def make_chunk(stage: Stage, loss_fn, chunk: int, *, update=None, vector_fn=None):
    """A jitted ``run(theta, state, batch, n, counters, last, aux) -> (theta, state, losses, n_done, reason, counters, last, aux)``.

    ``loss_fn(theta, batch, aux) -> scalar``; ``update(aux, theta, batch) -> aux`` refreshes the
    strategies (first-order stages only; ``aux["step"]`` counts the steps); ``vector_fn`` gives the
    residual vector for least-squares stages. ``counters`` (consecutive small-change iterations,
    consecutive failed line searches) and ``last`` (the previous loss) carry the convergence tests
    across chunks. ``reason`` is 0 while the stage may continue, else a key of :data:`REASONS`.
    Returns ``(transformation, run)``.
    """
    opt = stage.transform()
    step = stage.make_step(opt, loss_fn, vector_fn)
    use_stall = stage.linesearch
    refresh = update is not None and not stage.frozen

    @jax.jit
    def run(theta, state, batch, n, counters, last, aux):
        def body(carry, i):
            def do(c):
                theta, state, stall, fail, reason, last, aux = c
                if refresh:
                    aux = update(aux, theta, batch)
                new_theta, new_state, loss, gnorm, failed_ls = step(theta, state, batch, aux)
                if refresh:
                    aux = {**aux, "step": aux["step"] + 1}
                finite = jnp.isfinite(loss) & jnp.isfinite(gnorm)
                change = jnp.abs(loss - last) / jnp.maximum(jnp.abs(loss), jnp.finfo(loss.dtype).tiny)
                small = use_stall & (change <= stage.tol)
                stall = jnp.where(small, stall + 1, 0).astype(jnp.int32)
                failed = jnp.where(failed_ls, fail + 1, 0).astype(jnp.int32)
                reason = jnp.where(~finite, 3, jnp.where(gnorm < stage.gtol, 2, jnp.where(
                    stall >= PATIENCE, jnp.where(stage.tol > 0, 1, 4), jnp.where(failed >= PATIENCE, 4, 0)))).astype(jnp.int32)
                return new_theta, new_state, stall, failed, reason, loss.astype(last.dtype), aux

            active = (i < n) & (carry[4] == 0)
            carry = jax.lax.cond(active, do, lambda c: c, carry)
            return carry, (carry[5], active)

        counters = jnp.asarray(counters, jnp.int32)
        init = (theta, state, counters[0], counters[1], jnp.int32(0), last, aux)
        (theta, state, stall, fail, reason, last, aux), (losses, active) = jax.lax.scan(body, init, jnp.arange(chunk))
        return theta, state, losses, jnp.sum(active), reason, jnp.stack([stall, fail]), last, aux

    return opt, run
