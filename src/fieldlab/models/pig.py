r"""Physics-informed Gaussians (PIG): a trainable Gaussian feature embedding and a small MLP.

.. math::
    x = \mathrm{scale}(z), \qquad
    \mathrm{FE}(x) = \sum_{k=1}^{N} f_k \exp\Big(-\tfrac12 \sum_{d} \big((x_d - \mu_{kd})\, e^{-\ell_{kd}}\big)^2\Big)
    \in \mathbb{R}^F, \\
    h_0 = \mathrm{FE}(x), \quad h_i = \tanh(W_i h_{i-1} + b_i)\ (i = 1..L), \quad y = W_{L+1} h_L + b_{L+1}

with ``gaussians = N`` Gaussians, ``features = F`` features each, and an MLP of ``depth = L``
hidden layers of ``width`` units. Centres :math:`\mu_k`, log-scales :math:`\ell_k` and features
:math:`f_k` are all trained, so the Gaussians move and reshape themselves during training like an
adaptive mesh.

Paper: N. Kang, J. Oh, Y. Hong, E. Park, "PIG: Physics-Informed Gaussians as Adaptive Parametric
Mesh Representations", arXiv:2412.05994 (2024; ICLR 2025).

Interpretation and simplifications: the paper allows full covariances
:math:`\Sigma_k`; here they are diagonal, :math:`\Sigma_k = \mathrm{diag}(e^{2\ell_k})`
(axis-aligned Gaussians, log-parametrised so that scales stay positive). Initialisation: centres
uniform in :math:`[-1, 1]^d` (seeded), every scale equal to twice the spacing of a regular grid
of :math:`N` points in the box, :math:`4 / N^{1/d}` (neighbours overlap; in single heat1d runs
this beat one and three spacings), features :math:`f_k \sim \mathcal{N}(0, 1)`, MLP weights
Glorot-normal with zero biases. One feature vector per Gaussian (the paper's variant with separate
Gaussians per feature dimension is not implemented); the default MLP has one hidden layer, as in
the paper. The sum over the (few) coordinates is unrolled, which
halves the step time under nested forward-mode derivatives compared with a reduction.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import Backbone, glorot_linear, register, scale_inputs


class PIG(Backbone):
    mu: jax.Array  # (N, d) centres in the scaled box
    log_scale: jax.Array  # (N, d)
    feats: jax.Array  # (N, F)
    weights: list
    biases: list
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=16, depth=1, gaussians=64, features=4):
        k_mu, k_f, k_mlp = jax.random.split(key, 3)
        self.mu = jax.random.uniform(k_mu, (gaussians, in_dim), minval=-1.0, maxval=1.0)
        self.log_scale = jnp.full((gaussians, in_dim), jnp.log(4.0 / gaussians ** (1.0 / in_dim)))
        self.feats = jax.random.normal(k_f, (gaussians, features))
        sizes = [features] + [width] * depth + [out_dim]
        keys = jax.random.split(k_mlp, len(sizes) - 1)
        layers = [glorot_linear(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]
        self.weights = [w for w, _ in layers]
        self.biases = [b for _, b in layers]
        self.lo, self.hi = tuple(lo), tuple(hi)

    def embed(self, x):
        inv = jnp.exp(-self.log_scale)  # parameters only: not batched by vmap
        q = sum(((x[i] - self.mu[:, i]) * inv[:, i]) ** 2 for i in range(x.shape[0]))  # unrolled: no reduction
        return jnp.exp(-0.5 * q) @ self.feats

    def __call__(self, z):
        h = self.embed(scale_inputs(z, self.lo, self.hi))
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = jnp.tanh(w @ h + b)
        return self.weights[-1] @ h + self.biases[-1]


@register("pig")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 16, depth: int = 1, gaussians: int = 64, features: int = 4):
    return PIG(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, gaussians=gaussians,
               features=features)


__all__ = ["PIG"]
