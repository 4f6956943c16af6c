"""Optimiser stages as compiled chunks of steps.

Each stage kind provides ``step(theta, state, batch) -> (theta, state, loss, grad_norm)``; a
chunk runs up to ``chunk`` such steps inside one ``lax.scan`` (one compiled call), skipping steps
once the requested count is reached, the loss is non-finite, or the stage has converged. The
stage's stopping rule is explicit and reported: ``steps``, ``time``, ``tolerance`` (relative loss
change under ``tol`` for ``PATIENCE`` consecutive iterations), ``stalled`` (no change at all, or
the L-BFGS line search failed (no sufficient decrease, or all its evaluations used)
``PATIENCE`` times in a row, which in float32
near convergence means hundreds of wasted evaluations for no progress), or ``gtol`` (gradient
norm under ``gtol``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .recipe import Stage

PATIENCE = 10
MAX_LINESEARCH = 20
REASONS = {1: "tolerance", 2: "gtol", 3: "non-finite", 4: "stalled (line search finds no decrease)"}


def make_optimizer(stage: Stage) -> optax.GradientTransformation:
    if stage.optimizer == "adam":
        schedule = optax.exponential_decay(stage.lr, stage.decay_steps, stage.decay_rate)
        return optax.adam(schedule)
    linesearch = optax.scale_by_zoom_linesearch(max_linesearch_steps=MAX_LINESEARCH, initial_guess_strategy="one")
    return optax.lbfgs(memory_size=stage.memory, linesearch=linesearch)


def make_chunk(stage: Stage, loss_fn, chunk: int):
    """A jitted ``run(theta, state, batch, n, counters, last) -> (theta, state, losses, n_done, reason, counters, last)``.

    ``loss_fn(theta, batch) -> scalar``; ``counters`` (consecutive small-change iterations,
    consecutive failed line searches) and ``last`` (the previous loss) carry the convergence tests
    across chunks. ``reason`` is 0 while the stage may continue, else a key
    of :data:`REASONS`.
    """
    opt = make_optimizer(stage)
    use_stall = stage.optimizer == "lbfgs"

    def step(theta, state, batch):
        f = lambda th: loss_fn(th, batch)  # noqa: E731
        if stage.optimizer == "adam":
            value, grad = jax.value_and_grad(f)(theta)
            updates, state = opt.update(grad, state, theta)
        else:
            value, grad = optax.value_and_grad_from_state(f)(theta, state=state)
            updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=f)
        if stage.optimizer == "adam":
            exhausted = jnp.bool_(False)
        else:
            info = optax.tree_utils.tree_get(state, "info")
            exhausted = (info.num_linesearch_steps >= MAX_LINESEARCH) | (info.decrease_error > 0)
        return optax.apply_updates(theta, updates), state, value, optax.tree_utils.tree_norm(grad), exhausted

    @jax.jit
    def run(theta, state, batch, n, counters, last):
        def body(carry, i):
            def do(c):
                theta, state, stall, fail, reason, last = c
                new_theta, new_state, loss, gnorm, exhausted = step(theta, state, batch)
                finite = jnp.isfinite(loss) & jnp.isfinite(gnorm)
                change = jnp.abs(loss - last) / jnp.maximum(jnp.abs(loss), jnp.finfo(loss.dtype).tiny)
                small = use_stall & (change <= stage.tol)
                stall = jnp.where(small, stall + 1, 0).astype(jnp.int32)
                failed = jnp.where(exhausted, fail + 1, 0).astype(jnp.int32)
                reason = jnp.where(~finite, 3, jnp.where(gnorm < stage.gtol, 2, jnp.where(
                    stall >= PATIENCE, jnp.where(stage.tol > 0, 1, 4), jnp.where(failed >= PATIENCE, 4, 0)))).astype(jnp.int32)
                return new_theta, new_state, stall, failed, reason, loss

            active = (i < n) & (carry[4] == 0)
            carry = jax.lax.cond(active, do, lambda c: c, carry)
            return carry, (carry[5], active)

        counters = jnp.asarray(counters, jnp.int32)
        init = (theta, state, counters[0], counters[1], jnp.int32(0), last)
        (theta, state, stall, fail, reason, last), (losses, active) = jax.lax.scan(body, init, jnp.arange(chunk))
        return theta, state, losses, jnp.sum(active), reason, jnp.stack([stall, fail]), last

    return opt, run
