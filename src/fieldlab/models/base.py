r"""The backbone contract and the registry of backbones by name.

A backbone is an :class:`equinox.Module` mapping **one** coordinate vector ``z`` of shape ``(d,)``
to the raw field values, shape ``(m,)``. Batching (``jax.vmap``) and derivatives (forward mode, see
:mod:`fieldlab.operators`) are applied outside, so every backbone works with every problem.

Inputs are first mapped affinely from the domain's bounding box ``[lo, hi]`` to ``[-1, 1]^d``
(:func:`scale_inputs`); ``lo`` and ``hi`` are static, never trained.

Backbones register a builder with :func:`register`; :func:`build` checks the options against the
builder's keyword arguments, so a misspelt option is an error, not silently ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError

Array = jax.Array

_REGISTRY: dict[str, Callable[..., eqx.Module]] = {}


class Backbone(eqx.Module):
    """Pointwise network ``z (d,) -> raw fields (m,)``; subclasses implement ``__call__``.

    :meth:`taylor` returns the derivatives a residual needs for a whole batch; the default uses
    nested forward mode per point. A backbone may override it with a faster batched propagation
    (the MLP does, for derivatives up to second order).
    """

    def __call__(self, z: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def taylor(self, Z: Array, indices) -> dict[tuple[int, ...], Array]:
        """``{index: d^k net / dz_index}`` at every row of ``Z`` ``(B, d)``, each ``(B, m)``."""
        from ..operators import taylor_jvp

        indices = list(indices)
        return jax.vmap(lambda z: taylor_jvp(self, z, indices))(Z)


def scale_inputs(z: Array, lo: Sequence[float], hi: Sequence[float]) -> Array:
    """Affine map of ``z`` from the box ``[lo, hi]`` to ``[-1, 1]^d``."""
    lo_, hi_ = jnp.asarray(lo, z.dtype), jnp.asarray(hi, z.dtype)
    return 2.0 * (z - lo_) / (hi_ - lo_) - 1.0


def register(name: str):
    """Decorator: register ``builder(in_dim, out_dim, *, key, lo, hi, **options) -> Backbone``."""

    def deco(builder):
        _REGISTRY[name] = builder
        return builder

    return deco


def available() -> list[str]:
    """Names of the registered backbones."""
    return sorted(_REGISTRY)


def options_of(name: str) -> dict[str, object]:
    """The options of a backbone with their defaults."""
    sig = inspect.signature(_lookup(name))
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if p.kind == p.KEYWORD_ONLY and k not in ("key", "lo", "hi")
    }


def _lookup(name: str):
    if name not in _REGISTRY:
        raise FieldlabError(f"unknown model '{name}'; choose one of: {', '.join(available())}.")
    return _REGISTRY[name]


def build(name: str, in_dim: int, out_dim: int, *, key: Array, lo, hi, budget: int | None = None,
          **options) -> Backbone:
    """Build the backbone ``name``; unknown options raise a :class:`FieldlabError`.

    With ``budget`` (a parameter count), the ``width`` option is chosen as the largest width whose
    parameter count does not exceed the budget (other options as given), so that backbones can be
    compared at equal size.
    """
    builder = _lookup(name)
    valid = options_of(name)
    bad = sorted(set(options) - set(valid))
    if bad:
        raise FieldlabError(
            f"model '{name}' has no option(s) {bad}; its options are {sorted(valid)}."
        )
    lo = tuple(float(v) for v in np.ravel(lo))
    hi = tuple(float(v) for v in np.ravel(hi))
    if budget is not None:
        options = {**options, "width": width_for_budget(name, in_dim, out_dim, budget, lo=lo, hi=hi, **options)}
    return builder(in_dim, out_dim, key=key, lo=lo, hi=hi, **options)


def width_for_budget(name: str, in_dim: int, out_dim: int, budget: int, *, lo, hi, **options) -> int:
    """Largest ``width`` (>= 1) whose parameter count is at most ``budget`` (bisection, shapes only)."""
    builder = _lookup(name)
    if "width" not in options_of(name):
        raise FieldlabError(f"model '{name}' has no 'width' option, so it cannot be sized by a parameter budget.")
    options.pop("width", None)

    def size(width: int) -> int:
        shapes = eqx.filter_eval_shape(lambda k: builder(in_dim, out_dim, key=k, lo=lo, hi=hi, width=width, **options),
                                jax.random.PRNGKey(0))
        return count_params(shapes)

    if size(1) > budget:
        raise FieldlabError(f"a budget of {budget} parameters is too small for model '{name}' (width 1 has {size(1)}).")
    lo_w, hi_w = 1, 2
    while size(hi_w) <= budget:
        lo_w, hi_w = hi_w, hi_w * 2
    while hi_w - lo_w > 1:
        mid = (lo_w + hi_w) // 2
        lo_w, hi_w = (mid, hi_w) if size(mid) <= budget else (lo_w, mid)
    return lo_w


def count_params(model: eqx.Module) -> int:
    """Number of trainable scalars in a model (arrays or their shapes)."""
    leaves = jax.tree_util.tree_leaves(
        eqx.filter(model, lambda x: eqx.is_inexact_array(x) or (isinstance(x, jax.ShapeDtypeStruct)
                                                               and jnp.issubdtype(x.dtype, jnp.inexact))))
    return int(sum(np.prod(x.shape) for x in leaves))


def glorot_linear(key: Array, n_in: int, n_out: int) -> tuple[Array, Array]:
    """Glorot (Xavier) normal weights ``(n_out, n_in)`` and zero biases ``(n_out,)``."""
    std = np.sqrt(2.0 / (n_in + n_out))
    return std * jax.random.normal(key, (n_out, n_in)), jnp.zeros((n_out,))


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sin": jnp.sin,
    "gelu": jax.nn.gelu,
    "swish": jax.nn.swish,
    "softplus": jax.nn.softplus,
}


def activation(name: str) -> Callable[[Array], Array]:
    if name not in ACTIVATIONS:
        raise FieldlabError(f"unknown activation '{name}'; choose one of {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[name]
