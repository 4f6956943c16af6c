r"""PINNsFormer-style attention backbone over a pseudo-sequence in time.

.. math::
    x = \mathrm{scale}(z), \qquad x^{(j)} = x + j\,\Delta t\, e_{d}, \quad j = 0..k-1, \qquad
    H^{0} = X W_e^\top + b_e \in \mathbb{R}^{k \times D}, \\
    \omega(u) = w_1 \sin u + w_2 \cos u \quad (\text{trainable } w_1, w_2 \text{ per use, init } 1), \\
    H \leftarrow H + \mathrm{MHA}(\omega(H)), \qquad
    H \leftarrow H + W_2\, \omega(W_1\, \omega(H) + b_1) + b_2 \quad (\text{``depth'' blocks}), \\
    \mathrm{MHA}(G) = \big[\mathrm{softmax}(Q_h K_h^\top / \sqrt{d_h})\, V_h\big]_{h} W_o^\top + b_o, \quad
    Q_h, K_h, V_h = G W_{q,h}^\top, G W_{k,h}^\top, G W_{v,h}^\top, \\
    y = W_{out}\, \omega(W_h H_{0,:} + b_h) + b_{out}

(:math:`e_d` the last coordinate, which is time for evolution problems; for inputs without time the
shift runs along the last coordinate all the same). ``steps = k`` tokens, ``dt`` in scaled units
(the box mapped to :math:`[-1, 1]^d`), model width ``D = width``, ``heads`` heads of size
:math:`d_h = \lceil D / \text{heads} \rceil`, feed-forward width ``2 D``.

Paper: Z. Zhao, X. Ding, B. A. Prakash, "PINNsFormer: A Transformer-Based Framework for
Physics-Informed Neural Networks", arXiv:2307.11833 (2023; ICLR 2024). Related: PhysicsFormer and
other attention backbones for PINNs, which also run self-attention over expanded point tokens.

Interpretation and simplifications: the pseudo-sequence generator, the linear spatio-temporal
mixer, pre-activation encoder blocks with the Wavelet activation in the places where a
Transformer would normalise, and the Wavelet feed-forward follow the paper; the encoder-decoder
is reduced to the encoder (the decoder's cross-attention re-reads the same embedding), the
feed-forward has one hidden layer, and only the first token (the point itself) is read out. The
loss is fieldlab's pointwise loss on that token, not the paper's sequential loss over all
``k`` shifted points; the other tokens act as temporal context, and since all of them depend on
:math:`z`, derivatives are exact through the whole sequence. In the last block only the first
token's row is computed (it is all that is read). Softmax attention and the Wavelet activation are
smooth. Initialisation: Glorot-normal weights, zero biases, :math:`w_1 = w_2 = 1`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import Backbone, glorot_linear, register, scale_inputs


def wavelet(w, u):
    """``w[0] sin(u) + w[1] cos(u)``."""
    return w[0] * jnp.sin(u) + w[1] * jnp.cos(u)


class Block(eqx.Module):
    qkv: jax.Array  # (3 * heads * d_h, D)
    attn_out: tuple  # (W_o (D, heads * d_h), b_o (D,))
    ff: tuple  # (W_1 (2D, D), b_1, W_2 (D, 2D), b_2)
    waves: jax.Array  # (3, 2): before attention, before feed-forward, inside feed-forward
    heads: int = eqx.field(static=True, default=2)

    def __init__(self, width, heads, key):
        d_h = math.ceil(width / heads)
        kq, kk, kv, ko, k1, k2 = jax.random.split(key, 6)
        self.qkv = jnp.concatenate([glorot_linear(k, width, heads * d_h)[0] for k in (kq, kk, kv)])
        self.attn_out = glorot_linear(ko, heads * d_h, width)
        self.ff = (*glorot_linear(k1, width, 2 * width), *glorot_linear(k2, 2 * width, width))
        self.waves = jnp.ones((3, 2))
        self.heads = heads

    def __call__(self, H, only_first: bool):
        k = H.shape[0]
        q, kk, v = jnp.split(wavelet(self.waves[0], H) @ self.qkv.T, 3, axis=-1)
        q, kk, v = (a.reshape(k, self.heads, -1) for a in (q, kk, v))
        if only_first:
            q, H = q[:1], H[:1]
        scores = jnp.einsum("qhc,khc->hqk", q, kk) / math.sqrt(q.shape[-1])
        att = jnp.einsum("hqk,khc->qhc", jax.nn.softmax(scores, axis=-1), v).reshape(H.shape[0], -1)
        w_o, b_o = self.attn_out
        H = H + att @ w_o.T + b_o
        w1, b1, w2, b2 = self.ff
        return H + wavelet(self.waves[2], wavelet(self.waves[1], H) @ w1.T + b1) @ w2.T + b2


class PINNsFormer(Backbone):
    embed: tuple  # (W_e (D, d), b_e (D,))
    blocks: list
    head: tuple  # (W_h (D, D), b_h, W_out (m, D), b_out)
    head_wave: jax.Array  # (2,)
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    steps: int = eqx.field(static=True, default=5)
    dt: float = eqx.field(static=True, default=1e-3)

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=1, heads=2, steps=5, dt=1e-3):
        ke, kh, ko, *kb = jax.random.split(key, 3 + depth)
        self.embed = glorot_linear(ke, in_dim, width)
        self.blocks = [Block(width, heads, k) for k in kb]
        self.head = (*glorot_linear(kh, width, width), *glorot_linear(ko, width, out_dim))
        self.head_wave = jnp.ones((2,))
        self.lo, self.hi, self.steps, self.dt = tuple(lo), tuple(hi), int(steps), float(dt)

    def __call__(self, z):
        x = scale_inputs(z, self.lo, self.hi)
        shift = jnp.zeros_like(x).at[-1].set(self.dt)
        X = x + jnp.arange(self.steps, dtype=x.dtype)[:, None] * shift  # (k, d)
        w_e, b_e = self.embed
        H = X @ w_e.T + b_e
        for i, block in enumerate(self.blocks):
            H = block(H, only_first=i == len(self.blocks) - 1)
        w_h, b_h, w_out, b_out = self.head
        return w_out @ wavelet(self.head_wave, w_h @ H[0] + b_h) + b_out


@register("transformer")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 1, heads: int = 2, steps: int = 5,
           dt: float = 1e-3):
    return PINNsFormer(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, heads=heads,
                       steps=steps, dt=dt)


__all__ = ["PINNsFormer"]
