r"""PINNsFormer-style attention backbone over a pseudo-sequence in time.

.. math::
    x = \mathrm{scale}(z), \qquad x^{(j)} = x + j\,\Delta t\, e_{d}, \quad j = 0..k-1, \qquad
    H^{0} = X W_e^\top + b_e \in \mathbb{R}^{k \times D}, \\
    \omega(u) = w_1 \sin u + w_2 \cos u \quad (\text{trainable } w_1, w_2 \text{ per use, init } 1), \\
    H \leftarrow H + \mathrm{MHA}(\omega(H)), \qquad
    H \leftarrow H + W_2\, \omega(W_1\, \omega(H) + b_1) + b_2 \quad (\text{``depth'' blocks}), \\
    \mathrm{MHA}(G) = \big[\mathrm{softmax}(Q_h K_h^\top / \sqrt{d_h})\, V_h\big]_{h} W_o^\top + b_o, \quad
    Q_h, K_h, V_h = G W_{q,h}^\top, G W_{k,h}^\top, G W_{v,h}^\top, \\
    y = W_{out} H_{0,:} + b_{out}

(:math:`e_d` the last coordinate, which is time for evolution problems; for inputs without time the
shift runs along the last coordinate all the same). ``steps = k`` tokens, ``dt`` in scaled units
(the box mapped to :math:`[-1, 1]^d`; the paper's :math:`\Delta t = 10^{-4}` on :math:`t \in [0,1]`
is ``dt = 2e-4`` here, the default ``1e-3`` is a little wider), model width ``D = width``,
``heads`` heads of size :math:`d_h = \lceil D / \text{heads} \rceil` (so any width works),
feed-forward width ``2 D``.

Paper: Z. Zhao, X. Ding, B. A. Prakash, "PINNsFormer: A Transformer-Based Framework for
Physics-Informed Neural Networks", arXiv:2307.11833 (2023; ICLR 2024). Related: B. Barman,
D. Chatterjee, R. K. Ray, "PhysicsFormer: An Efficient and Fast Attention-Based Physics-Informed
Neural Network for Solving Incompressible Navier-Stokes Equations", arXiv:2601.03613 (2026), the
same pseudo-sequence embedding with encoder-decoder cross-attention and a dynamics-weighted loss.

Interpretation and simplifications: the pseudo-sequence generator, the linear spatio-temporal
mixer, pre-activation encoder blocks with the Wavelet activation where a Transformer would
normalise (as in the reference implementation), and the Wavelet feed-forward follow the paper; the
encoder-decoder is reduced to the encoder (the decoder's cross-attention re-reads the same
embedding), the feed-forward has one hidden layer, Q/K/V projections have no biases, and the
output is a linear map of the first token (the point itself; the paper's output layer is
Linear-Wavelet-Linear). The loss is fieldlab's pointwise loss on that token, not the paper's
sequential loss over all ``k`` shifted points; the other tokens act as temporal context, and since
all of them depend on :math:`z`, derivatives are exact through the whole sequence. In the last
block only the first token's query is computed (it is all that is read). Per-head dot products are
taken as a product with the fixed block indicator :math:`(H d_h, H)` (a compile-time constant from
static sizes, never a leaf), which is faster under ``vmap`` on CPU than batched per-head products.
Softmax attention and the Wavelet activation are smooth. Initialisation: Glorot-normal weights,
zero biases, :math:`w_1 = w_2 = 1`. Cost: about 10x the MLP's step at equal parameter count
(``k`` tokens, sine and cosine, attention), which is why the defaults are small.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError
from .base import Backbone, glorot_linear, register, scale_inputs


def wavelet(w, u):
    """``w[0] sin(u) + w[1] cos(u)``."""
    return w[0] * jnp.sin(u) + w[1] * jnp.cos(u)


class Block(eqx.Module):
    qkv: jax.Array  # (3 * heads * d_h, D): rows of W_q, then W_k, then W_v
    attn_out: tuple  # (W_o (D, heads * d_h), b_o (D,))
    ff: tuple  # (W_1 (2D, D), b_1, W_2 (D, 2D), b_2)
    waves: jax.Array  # (3, 2): before attention, before the feed-forward, inside it
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
        hd = self.qkv.shape[0] // 3
        G = wavelet(self.waves[0], H)
        KV = G @ self.qkv[hd:].T
        K, V = KV[:, :hd], KV[:, hd:]  # (k, heads * d_h)
        # per-head dot products as products with the (heads * d_h, heads) block indicator: plain
        # matrix products under vmap, where batched per-head einsums are slow on CPU
        S = jnp.asarray(np.kron(np.eye(self.heads), np.ones((hd // self.heads, 1))), H.dtype)

        def attend(g):  # one query token
            p = jax.nn.softmax(((self.qkv[:hd] @ g) * K) @ S / math.sqrt(hd // self.heads), axis=0)  # (k, heads)
            weights = p @ S.T
            return sum(weights[j] * V[j] for j in range(V.shape[0]))

        rows = 1 if only_first else H.shape[0]
        w_o, b_o = self.attn_out
        H = H[:rows] + jnp.stack([attend(G[i]) for i in range(rows)]) @ w_o.T + b_o
        w1, b1, w2, b2 = self.ff
        return H + wavelet(self.waves[2], wavelet(self.waves[1], H) @ w1.T + b1) @ w2.T + b2


class PINNsFormer(Backbone):
    embed: tuple  # (W_e (D, d), b_e (D,))
    blocks: list
    head: tuple  # (W_out (m, D), b_out (m,))
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    steps: int = eqx.field(static=True, default=5)
    dt: float = eqx.field(static=True, default=1e-3)

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=1, heads=2, steps=5, dt=1e-3):
        if heads < 1 or steps < 1:
            raise FieldlabError("the transformer needs heads >= 1 and steps >= 1.")
        ke, ko, *kb = jax.random.split(key, 2 + depth)
        self.embed = glorot_linear(ke, in_dim, width)
        self.blocks = [Block(width, heads, k) for k in kb]
        self.head = glorot_linear(ko, width, out_dim)
        self.lo, self.hi, self.steps, self.dt = tuple(lo), tuple(hi), int(steps), float(dt)

    def __call__(self, z):
        x = scale_inputs(z, self.lo, self.hi)
        shift = jnp.zeros_like(x).at[-1].set(self.dt)
        X = x + jnp.arange(self.steps, dtype=x.dtype)[:, None] * shift  # (k, d)
        w_e, b_e = self.embed
        H = X @ w_e.T + b_e
        for i, block in enumerate(self.blocks):
            H = block(H, only_first=i == len(self.blocks) - 1)
        w_out, b_out = self.head
        return w_out @ H[0] + b_out


@register("transformer")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 1, heads: int = 2, steps: int = 5,
           dt: float = 1e-3):
    return PINNsFormer(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, heads=heads,
                       steps=steps, dt=dt)


__all__ = ["PINNsFormer"]
