r"""RA-PINN: residual blocks with attention-guided channel modulation.

.. math::
    h_0 = \tanh(W_0\, \mathrm{scale}(z) + b_0), \qquad
    a_k = \mathrm{sigmoid}\big(V_k \tanh(U_k h_{k-1} + c_k) + e_k\big), \\
    h_k = h_{k-1} + a_k \odot \tanh(W_k h_{k-1} + b_k) \quad (k = 1..L), \qquad
    y = W_{L+1} h_L + b_{L+1}

with ``width`` hidden channels, ``depth = L`` residual blocks and a bottleneck of
``r = max(1, width // reduction)`` units in the attention branch.

Paper: Y. Zhou, Z. Tao, F. Liu, "Residual Attention Physics-Informed Neural Networks for Robust
Multiphysics Simulation of Steady-State Electrothermal Energy Systems", arXiv:2603.23578 (2026);
see also B. Zhou, Z. Tao, F. Liu, X. Fang, arXiv:2603.22803 (2026). Only the papers' abstracts
were consulted; they describe "residual-connected feature propagation and attention-guided channel
modulation" without layer equations, so the interpretation chosen here is squeeze-and-excitation
channel attention (Hu, Shen, Sun, CVPR 2018) applied
pointwise: there is no spatial pooling (the network sees one point), so the gate
:math:`a_k \in (0, 1)^{width}` is computed from the block input :math:`h_{k-1}` itself through a
``tanh`` bottleneck (SE uses ReLU; ``tanh`` keeps every derivative smooth) and scales the block's
update channel by channel. The skip path is the identity, so the block is a gated residual
update; with zero biases the gates start at 1/2.

Initialisation: Glorot-normal weights and zero biases everywhere.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..errors import FieldlabError
from .base import Backbone, glorot_linear, register, scale_inputs


class RAPINN(Backbone):
    w_in: jax.Array
    b_in: jax.Array
    blocks: list  # per block: (W, b, U, c, V, e)
    w_out: jax.Array
    b_out: jax.Array
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=3, reduction=4):
        if reduction < 1:
            raise FieldlabError("RA-PINN needs reduction >= 1.")
        r = max(1, width // reduction)
        k_in, k_out, *ks = jax.random.split(key, 2 + 3 * depth)
        self.w_in, self.b_in = glorot_linear(k_in, in_dim, width)
        self.w_out, self.b_out = glorot_linear(k_out, width, out_dim)
        self.blocks = [
            (*glorot_linear(ks[3 * i], width, width), *glorot_linear(ks[3 * i + 1], width, r),
             *glorot_linear(ks[3 * i + 2], r, width))
            for i in range(depth)
        ]
        self.lo, self.hi = tuple(lo), tuple(hi)

    def __call__(self, z):
        h = jnp.tanh(self.w_in @ scale_inputs(z, self.lo, self.hi) + self.b_in)
        for w, b, u, c, v, e in self.blocks:
            gate = jax.nn.sigmoid(v @ jnp.tanh(u @ h + c) + e)
            h = h + gate * jnp.tanh(w @ h + b)
        return self.w_out @ h + self.b_out


@register("ra")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 3, reduction: int = 4):
    return RAPINN(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, reduction=reduction)


__all__ = ["RAPINN"]
