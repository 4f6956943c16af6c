r"""Exact derivatives of pointwise fields by automatic differentiation.

A *pointwise field* is a function ``f(z) -> out`` mapping one coordinate vector ``z`` of shape
``(d,)`` to an array of field values of shape ``(m,)`` (or a scalar). Batching is done outside with
``jax.vmap``. Derivatives are taken in forward mode (nested ``jax.jvp``), which is the cheap
direction here: the input dimension ``d`` is small and each directional derivative costs about one
extra forward pass, for every field at once.

Given multi-index :math:`(i_1, \dots, i_k)`, :func:`partial` returns
:math:`\partial^k f / \partial z_{i_1} \cdots \partial z_{i_k}` evaluated at ``z``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

Array = jax.Array


def _unit(dim: int, i: int, dtype) -> Array:
    return jnp.zeros((dim,), dtype).at[i].set(1)


def partial_fn(f: Callable[[Array], Array], index: Sequence[int], dim: int) -> Callable[[Array], Array]:
    """The function ``z -> d^k f / dz_{index[0]} ... dz_{index[-1]}`` (forward mode, nested jvp)."""
    g = f
    for i in index:
        def g(z, _g=g, _i=i):  # noqa: E306 - closure over the previous derivative
            return jax.jvp(_g, (z,), (_unit(dim, _i, z.dtype),))[1]
    return g


def partial(f: Callable[[Array], Array], z: Array, *index: int) -> Array:
    """Partial derivative of ``f`` at the single point ``z`` (shape ``(d,)``) along ``index``."""
    return partial_fn(f, index, z.shape[-1])(z)


def grad(f: Callable[[Array], Array], z: Array, dims: Sequence[int] | None = None) -> Array:
    """Gradient of a scalar or vector field at ``z``: shape ``(len(dims),) + f(z).shape``."""
    dims = range(z.shape[-1]) if dims is None else dims
    return jnp.stack([partial(f, z, i) for i in dims])


def laplacian(f: Callable[[Array], Array], z: Array, dims: Sequence[int] | None = None) -> Array:
    """Sum of unmixed second partials over ``dims`` (all coordinates by default)."""
    dims = range(z.shape[-1]) if dims is None else dims
    return sum(partial(f, z, i, i) for i in dims)


def divergence(F: Callable[[Array], Array], z: Array, dims: Sequence[int] | None = None) -> Array:
    """Divergence of a vector field ``F(z)`` of shape ``(len(dims),)``: sum of dF_k/dz_{dims[k]}."""
    dims = list(range(z.shape[-1])) if dims is None else list(dims)
    return sum(partial(lambda y, k=k: F(y)[k], z, i) for k, i in enumerate(dims))


def closure(indices) -> list[tuple[int, ...]]:
    """Sorted multi-indices together with all their sub-multisets (always including ``()``)."""
    out = {()}
    for idx in indices:
        idx = tuple(sorted(idx))
        for mask in range(1 << len(idx)):
            out.add(tuple(i for k, i in enumerate(idx) if mask >> k & 1))
    return sorted(out, key=lambda t: (len(t), t))


def taylor_surrogate(known: dict[tuple[int, ...], Array], z0: Array) -> Callable[[Array], Array]:
    """A polynomial ``p(z)`` whose partials at ``z0`` equal ``known`` (indices closed under sub-multisets).

    ``p(z) = sum_idx known[idx] * prod_i (z_i - z0_i)^{k_i} / k_i!``, so any function of ``p`` (a
    hard-constraint transform, say) can be differentiated by ordinary forward mode at ``z0``,
    while the expensive network derivatives come from a batched fast path.
    """
    import math

    def p(z):
        dz = z - z0
        total = 0.0
        for idx, value in known.items():
            coef = 1.0
            for i in set(idx):
                k = idx.count(i)
                coef = coef * dz[i] ** k / math.factorial(k)
            total = total + coef * value
        return total

    return p


def taylor_jvp(f: Callable[[Array], Array], z: Array, indices) -> dict[tuple[int, ...], Array]:
    """Derivatives of a pointwise ``f`` at ``z`` for each (sorted) multi-index, by nested jvp."""
    return {idx: partial_fn(f, idx, z.shape[-1])(z) for idx in indices}
