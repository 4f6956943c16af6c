r"""PirateNet: physics-informed residual adaptive network.

.. math::
    \Phi = \gamma(\mathrm{scale}(z)) \in \mathbb R^{E}\ \text{(random Fourier features, E = 2 features)},
    \quad U = \sigma(W_u \Phi + b_u), \quad V = \sigma(W_v \Phi + b_v), \quad x^{(1)} = \Phi,

    f = \sigma(W^{(l)}_1 x^{(l)} + b^{(l)}_1), \quad z_1 = f \odot U + (1 - f) \odot V, \quad
    g = \sigma(W^{(l)}_2 z_1 + b^{(l)}_2), \quad z_2 = g \odot U + (1 - g) \odot V,

    h = \sigma(W^{(l)}_3 z_2 + b^{(l)}_3), \quad x^{(l+1)} = \alpha^{(l)} h + (1 - \alpha^{(l)})\, x^{(l)}
    \quad (l = 1..L), \qquad y = W_{\mathrm{out}}\, x^{(L+1)} + b_{\mathrm{out}}

S. Wang, B. Li, Y. Chen and P. Perdikaris, "PirateNets: Physics-informed deep learning with residual
adaptive networks", J. Mach. Learn. Res. 25, 2024 (arXiv 2402.00326).

* ``depth = L`` adaptive residual blocks; ``W_1: E -> width``, ``W_2: width -> width``,
  ``W_3: width -> E`` (the skip stream keeps the embedding's size ``E``); ``U, V: E -> width``.
* The trainable scalars ``alpha^{(l)}`` start at 0, so at initialisation every block is the identity
  and the network is the *linear* model ``y = W_out Phi + b_out`` over the embedding; depth (and
  nonlinearity) is switched on progressively by training.
* Embedding: :class:`~fieldlab.models.fourier.FourierEmbedding`, ``B ~ N(0, sigma^2)`` fixed (never
  trained), with optional exact periodic embedding of the coordinates in ``periodic`` (see
  :mod:`fieldlab.models.fourier`). The paper's ``s`` (Fourier scale) is our ``sigma``.
* Random weight factorisation (``rwf=True``; S. Wang et al., "Random weight factorization improves
  the training of continuous neural representations", arXiv 2210.01274, 2022) for every dense layer:
  ``W = diag(exp(s)) V`` with one scale per output unit, ``s ~ N(rwf_mean, rwf_std^2)``
  (default ``mu = 1``, ``sigma = 0.1``, the common choice in the authors' published PirateNet
  configurations, where ``mu = 0.5`` also appears: hence the options) and ``V = W_glorot / exp(s)``,
  so the effective initial weights are Glorot-normal; ``s`` and ``V`` are trained. Biases are zero.
* Physics-informed initialisation: :func:`pirate_output_init` sets the read-out by least squares so
  that the network matches given data (e.g. the initial condition) at given points. Because the
  output is linear in ``x^{(L+1)}`` the fit is exact in the least-squares sense at any time; at
  initialisation (``alpha = 0``) ``x^{(L+1)} = Phi``, which is the paper's
  ``W = argmin ||W Phi - Y||^2``. Interpretation: we also fit the output bias (the paper fits ``W``
  only; the bias just adds a constant basis function) and keep the layer factorised
  (``V = W / exp(s)``, ``s`` unchanged) when ``rwf`` is on.
* Activation ``tanh`` by default (as in the paper); the gates use the same activation.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .base import Backbone, activation, glorot_linear, register, scale_inputs
from .fourier import FourierEmbedding


class Dense(eqx.Module):
    """Affine layer ``x -> W x + b``, optionally with ``W = diag(exp(s)) v`` (random weight factorisation)."""

    v: jax.Array
    b: jax.Array
    s: jax.Array | None

    def __init__(self, key, n_in, n_out, *, rwf=True, rwf_mean=1.0, rwf_std=0.1):
        kw, ks = jax.random.split(key)
        w, self.b = glorot_linear(kw, n_in, n_out)
        if rwf:
            self.s = rwf_mean + rwf_std * jax.random.normal(ks, (n_out,), w.dtype)
            self.v = w * jnp.exp(-self.s)[:, None]
        else:
            self.s, self.v = None, w

    @property
    def weight(self):
        return self.v if self.s is None else jnp.exp(self.s)[:, None] * self.v

    def __call__(self, x):
        return self.weight @ x + self.b


class PirateNet(Backbone):
    embed: FourierEmbedding
    enc_u: Dense
    enc_v: Dense
    blocks: list
    alphas: list
    out: Dense
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    act: str = eqx.field(static=True, default="tanh")

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=2, act="tanh", sigma=1.0,
                 features=32, periodic=(), rwf=True, rwf_mean=1.0, rwf_std=0.1):
        activation(act)  # validate early
        k_emb, ku, kv, kout, *kb = jax.random.split(key, 4 + 3 * depth)
        self.embed = FourierEmbedding(in_dim, key=k_emb, sigma=sigma, features=features, periodic=periodic)
        e = self.embed.out_dim

        def dense(k, n_in, n_out):
            return Dense(k, n_in, n_out, rwf=rwf, rwf_mean=rwf_mean, rwf_std=rwf_std)

        self.enc_u, self.enc_v = dense(ku, e, width), dense(kv, e, width)
        self.blocks = [(dense(k1, e, width), dense(k2, width, width), dense(k3, width, e))
                       for k1, k2, k3 in zip(kb[0::3], kb[1::3], kb[2::3])]
        self.alphas = [jnp.zeros(()) for _ in range(depth)]
        self.out = dense(kout, e, out_dim)
        self.lo, self.hi, self.act = tuple(lo), tuple(hi), act

    def features(self, z):
        """The last hidden state ``x^{(L+1)}`` at one point ``z``: the output is affine in it."""
        sigma = activation(self.act)
        x = self.embed(scale_inputs(z, self.lo, self.hi))
        u, v = sigma(self.enc_u(x)), sigma(self.enc_v(x))
        for (d1, d2, d3), alpha in zip(self.blocks, self.alphas):
            f = sigma(d1(x))
            g = sigma(d2(f * u + (1 - f) * v))
            h = sigma(d3(g * u + (1 - g) * v))
            x = alpha * h + (1 - alpha) * x
        return x

    def __call__(self, z):
        return self.out(self.features(z))

    def output_init(self, points, targets) -> "PirateNet":
        """Same as :func:`pirate_output_init` (``self`` unchanged, a new network returned)."""
        return pirate_output_init(self, points, targets)


@eqx.filter_jit
def _batched_features(net, points):
    return jax.vmap(net.features)(points)


def pirate_output_init(net: PirateNet, points, targets) -> PirateNet:
    r"""Physics-informed initialisation of the read-out layer (Wang et al. 2024).

    ``points``: coordinates ``(n, d)`` in the problem's units (e.g. points of the initial slice);
    ``targets``: the values the network should take there, ``(n, m)`` (or ``(n,)`` when ``m = 1``).
    Returns a copy of ``net`` whose output weights and bias solve
    ``min_{W, b} sum_i ||W x^{(L+1)}(z_i) + b - y_i||^2`` (in float64, minimum-norm solution when
    under-determined); the rest of the network is unchanged. At initialisation
    ``x^{(L+1)} = Phi(z)``, so this fits the data with the random Fourier basis.
    """
    points = jnp.asarray(points, net.out.b.dtype)
    feats = np.asarray(_batched_features(net, points), np.float64)
    y = np.asarray(targets, np.float64).reshape(len(feats), -1)
    a = np.concatenate([feats, np.ones((len(feats), 1))], axis=1)
    sol, *_ = np.linalg.lstsq(a, y, rcond=None)
    w, b = sol[:-1].T, sol[-1]
    if net.out.s is not None:
        w = w * np.exp(-np.asarray(net.out.s, np.float64))[:, None]
    dtype = net.out.b.dtype
    return eqx.tree_at(lambda n: (n.out.v, n.out.b), net, (jnp.asarray(w, dtype), jnp.asarray(b, dtype)))


@register("pirate")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 2, act: str = "tanh",
           sigma: float = 1.0, features: int = 32, periodic: tuple = (), rwf: bool = True,
           rwf_mean: float = 1.0, rwf_std: float = 0.1):
    return PirateNet(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, act=act,
                     sigma=sigma, features=features, periodic=periodic, rwf=rwf, rwf_mean=rwf_mean,
                     rwf_std=rwf_std)


__all__ = ["Dense", "PirateNet", "pirate_output_init"]
