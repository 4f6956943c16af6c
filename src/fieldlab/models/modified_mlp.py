r"""Modified (gated) MLP of Wang, Teng and Perdikaris.

.. math::
    s = \mathrm{scale}(z), \quad U = \sigma(W_u s + b_u), \quad V = \sigma(W_v s + b_v), \quad
    H_1 = \sigma(W_0 s + b_0),

    Z_k = \sigma(W_k H_k + b_k), \quad H_{k+1} = (1 - Z_k) \odot U + Z_k \odot V \quad (k = 1..L),
    \quad y = W_{\mathrm{out}} H_{L+1} + b_{\mathrm{out}}

S. Wang, Y. Teng and P. Perdikaris, "Understanding and mitigating gradient pathologies in
physics-informed neural networks", SIAM J. Sci. Comput. 43(5), A3055-A3081, 2021 (arXiv 2001.04536),
their "improved fully-connected architecture". The two encodings ``U`` and ``V`` of the input are
reused by every layer, which mixes them pointwise with its gate ``Z_k`` (an "attention"-like
mechanism that carries the input through the depth and strengthens the hidden states).

``depth = L`` is the paper's number of gated layers, each with a ``width x width`` weight; with the
three input layers (``U``, ``V``, ``H_1``) and the read-out there are ``L + 4`` dense layers in all.
Glorot-normal weights, zero biases, ``tanh`` by default (as in the paper).
"""

from __future__ import annotations

import equinox as eqx
import jax

from .base import Backbone, activation, glorot_linear, register, scale_inputs


class ModifiedMLP(Backbone):
    enc_u: tuple
    enc_v: tuple
    first: tuple
    gates: list
    out: tuple
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    act: str = eqx.field(static=True, default="tanh")

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=3, act="tanh"):
        activation(act)  # validate early
        ku, kv, k0, kout, *kg = jax.random.split(key, 4 + depth)
        self.enc_u, self.enc_v, self.first = (glorot_linear(k, in_dim, width) for k in (ku, kv, k0))
        self.gates = [glorot_linear(k, width, width) for k in kg]
        self.out = glorot_linear(kout, width, out_dim)
        self.lo, self.hi, self.act = tuple(lo), tuple(hi), act

    def __call__(self, z):
        sigma = activation(self.act)
        s = scale_inputs(z, self.lo, self.hi)
        u, v, h = (sigma(w @ s + b) for w, b in (self.enc_u, self.enc_v, self.first))
        for w, b in self.gates:
            g = sigma(w @ h + b)
            h = (1 - g) * u + g * v
        w, b = self.out
        return w @ h + b


@register("modified-mlp")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 3, act: str = "tanh"):
    return ModifiedMLP(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, act=act)


__all__ = ["ModifiedMLP"]
