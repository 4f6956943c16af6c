r"""Random Fourier feature network, with optional exact periodic embedding of some coordinates.

.. math::
    s = \mathrm{scale}(z) \in [-1, 1]^d, \qquad
    p(s) = \big(s_j\ (j \notin P),\ \cos(\pi s_i),\ \sin(\pi s_i)\ (i \in P)\big),

    \gamma(s) = \big[\cos(B\, p(s)),\ \sin(B\, p(s))\big], \quad B_{kj} \sim \mathcal N(0, \sigma^2)\ \text{fixed},
    \qquad y = \mathrm{MLP}(\gamma(s))

with ``features`` rows in ``B`` (so ``gamma`` has ``2 * features`` entries) feeding an MLP of
``depth`` hidden layers of ``width`` units (Glorot-normal weights, zero biases, ``tanh``) and a
linear read-out.

* Random Fourier features: M. Tancik et al., "Fourier features let networks learn high frequency
  functions in low dimensional domains", NeurIPS 2020 (arXiv 2006.10739), applied to PINNs by
  S. Wang, H. Wang and P. Perdikaris, "On the eigenvector bias of Fourier feature networks: from
  regression to solving multi-scale PDEs with physics-informed neural networks", Comput. Methods
  Appl. Mech. Engrg. 384, 113938, 2021 (arXiv 2012.10047). We follow the latter's convention
  (no ``2 pi`` factor in the exponent; ``sigma`` sets the frequency scale on the scaled coordinates
  ``s`` in ``[-1, 1]``; ``sigma = 1`` is a low-frequency default, raise it for multi-scale solutions).
* Exact periodicity: coordinate ``i`` in ``periodic`` enters only through
  ``cos(omega z_i), sin(omega z_i)`` (up to a phase) with ``omega = 2 pi / (hi_i - lo_i)``, i.e.
  ``pi`` on the scaled coordinate, so the network and all its derivatives are exactly periodic with
  the domain length as period (S. Dong and N. Ni, "A method for representing periodic functions and
  enforcing exactly periodic boundary conditions with deep neural networks", J. Comput. Phys. 435,
  110242, 2021). The periodic embedding is applied first and the Fourier features act on it, as in
  the jaxpi models of Wang et al.; ``features = 0`` skips the random features (a plain MLP on the
  periodic embedding).

Interpretation of "fixed B": ``B`` is not a leaf of the module. The module stores only the PRNG key
it was drawn from (an integer array, so it is never trained, never cast and not counted by
:func:`~fieldlab.models.base.count_params`) and redraws ``B`` on use, always in float32 and then
cast, so the float32 and float64 versions of a model compute the same function; the draw is
wrapped in :func:`jax.lax.stop_gradient`. (A static tuple is impossible here: parameter-budget sizing
builds models under :func:`equinox.filter_eval_shape`, where the key has no value.)
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError
from .base import Backbone, activation, glorot_linear, register, scale_inputs


class FourierEmbedding(eqx.Module):
    """``s -> [cos(B p(s)), sin(B p(s))]`` on scaled coordinates (see the module docstring)."""

    key: jax.Array  # integer PRNG key of B: not trainable, not a parameter
    in_dim: int = eqx.field(static=True)
    features: int = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    periodic: tuple = eqx.field(static=True)

    def __init__(self, in_dim, *, key, sigma=1.0, features=32, periodic=()):
        periodic = tuple(sorted({int(i) for i in periodic}))
        if any(not 0 <= i < in_dim for i in periodic):
            raise FieldlabError(f"periodic coordinates {periodic} out of range for {in_dim} inputs.")
        if int(features) < 0 or float(sigma) <= 0:
            raise FieldlabError("Fourier embedding needs features >= 0 and sigma > 0.")
        self.key, self.in_dim, self.features, self.sigma, self.periodic = (
            key, int(in_dim), int(features), float(sigma), periodic)

    @property
    def periodic_dim(self) -> int:
        return self.in_dim + len(self.periodic)

    @property
    def out_dim(self) -> int:
        return 2 * self.features if self.features else self.periodic_dim

    def matrix(self, dtype) -> jax.Array:
        """The fixed frequency matrix ``B``, shape ``(features, periodic_dim)``."""
        b = self.sigma * jax.random.normal(self.key, (self.features, self.periodic_dim), jnp.float32)
        return jax.lax.stop_gradient(b.astype(dtype))

    def __call__(self, s):
        if self.periodic:
            keep = np.array([i for i in range(self.in_dim) if i not in self.periodic], dtype=int)
            angle = jnp.pi * s[np.array(self.periodic)]
            s = jnp.concatenate([s[keep], jnp.cos(angle), jnp.sin(angle)])
        if not self.features:
            return s
        bs = self.matrix(s.dtype) @ s
        return jnp.concatenate([jnp.cos(bs), jnp.sin(bs)])


class FourierNet(Backbone):
    embed: FourierEmbedding
    weights: list
    biases: list
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    act: str = eqx.field(static=True, default="tanh")

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=3, act="tanh", sigma=1.0,
                 features=32, periodic=()):
        activation(act)  # validate early
        k_emb, *keys = jax.random.split(key, depth + 2)
        self.embed = FourierEmbedding(in_dim, key=k_emb, sigma=sigma, features=features, periodic=periodic)
        sizes = [self.embed.out_dim] + [width] * depth + [out_dim]
        layers = [glorot_linear(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]
        self.weights = [w for w, _ in layers]
        self.biases = [b for _, b in layers]
        self.lo, self.hi, self.act = tuple(lo), tuple(hi), act

    def __call__(self, z):
        sigma = activation(self.act)
        h = self.embed(scale_inputs(z, self.lo, self.hi))
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = sigma(w @ h + b)
        return self.weights[-1] @ h + self.biases[-1]


@register("fourier")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 3, act: str = "tanh",
           sigma: float = 1.0, features: int = 32, periodic: tuple = ()):
    return FourierNet(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, act=act,
                      sigma=sigma, features=features, periodic=periodic)


__all__ = ["FourierEmbedding", "FourierNet"]
