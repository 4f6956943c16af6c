r"""Pure-MLP backbone.

.. math::
    h_0 = \mathrm{scale}(z), \quad h_{k} = \sigma(W_k h_{k-1} + b_k)\ (k = 1..L), \quad
    y = W_{L+1} h_L + b_{L+1}

with ``depth = L`` hidden layers of ``width`` units, Glorot-normal weights, zero biases and
``tanh`` by default (Raissi, Perdikaris and Karniadakis, J. Comput. Phys. 378, 2019).
"""

from __future__ import annotations

import jax

from .base import Backbone, activation, glorot_linear, register, scale_inputs


class MLP(Backbone):
    weights: list
    biases: list
    lo: tuple = ()
    hi: tuple = ()
    act: str = "tanh"

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=4, act="tanh"):
        sizes = [in_dim] + [width] * depth + [out_dim]
        keys = jax.random.split(key, len(sizes) - 1)
        layers = [glorot_linear(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]
        self.weights = [w for w, _ in layers]
        self.biases = [b for _, b in layers]
        self.lo, self.hi, self.act = tuple(lo), tuple(hi), act
        activation(act)  # validate early

    def __call__(self, z):
        sigma = activation(self.act)
        h = scale_inputs(z, self.lo, self.hi)
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = sigma(w @ h + b)
        return self.weights[-1] @ h + self.biases[-1]


@register("mlp")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 4, act: str = "tanh"):
    return MLP(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, act=act)


__all__ = ["MLP"]
