r"""Residual MLP backbone.

.. math::
    s = \mathrm{scale}(z), \quad h_0 = W_{\mathrm{in}} s + b_{\mathrm{in}}, \quad
    h_{k} = h_{k-1} + \sigma\big(W_{k,2}\, \sigma(W_{k,1} h_{k-1} + b_{k,1}) + b_{k,2}\big)\ (k = 1..L),
    \quad y = W_{\mathrm{out}} h_L + b_{\mathrm{out}}

``depth = L`` residual blocks of two ``width x width`` layers each, a linear lifting layer from the
(scaled) coordinates to ``width`` channels and a linear read-out. Identity skip connections as in
He, Zhang, Ren and Sun, "Deep residual learning for image recognition" (CVPR 2016); the
two-layer block with the activation also applied after the second layer is the form commonly used
for PINNs (e.g. the "ResNet" baselines of Wang, Teng and Perdikaris, SIAM J. Sci. Comput. 43, 2021).
Interpretation: the lifting layer is linear (no activation), so the skip stream starts from an
affine image of the coordinates. Glorot-normal weights, zero biases, ``tanh`` by default.
"""

from __future__ import annotations

import equinox as eqx
import jax

from .base import Backbone, activation, glorot_linear, register, scale_inputs


class ResNet(Backbone):
    lift: tuple
    blocks: list
    out: tuple
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    act: str = eqx.field(static=True, default="tanh")

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=3, act="tanh"):
        activation(act)  # validate early
        k_in, k_out, *k_blocks = jax.random.split(key, 2 + 2 * depth)
        self.lift = glorot_linear(k_in, in_dim, width)
        self.blocks = [(glorot_linear(k1, width, width), glorot_linear(k2, width, width))
                       for k1, k2 in zip(k_blocks[0::2], k_blocks[1::2])]
        self.out = glorot_linear(k_out, width, out_dim)
        self.lo, self.hi, self.act = tuple(lo), tuple(hi), act

    def __call__(self, z):
        sigma = activation(self.act)
        w, b = self.lift
        h = w @ scale_inputs(z, self.lo, self.hi) + b
        for (w1, b1), (w2, b2) in self.blocks:
            h = h + sigma(w2 @ sigma(w1 @ h + b1) + b2)
        w, b = self.out
        return w @ h + b


@register("resnet")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 3, act: str = "tanh"):
    return ResNet(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, act=act)


__all__ = ["ResNet"]
