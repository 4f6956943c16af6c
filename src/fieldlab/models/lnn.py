r"""LNN-PINN backbone: an MLP whose hidden layers are liquid (closed-form continuous-time) residual blocks.

Follows Tao, Wang and Liu, "LNN-PINN: A Unified Physics-Only Training Framework with Liquid
Residual Blocks" (arXiv 2508.08935, 2025): a lightweight liquid gating inside the hidden-layer
mapping of a PINN, everything else unchanged. The gate is the closed-form solution of a
liquid time-constant cell (CfC) of Hasani et al., "Closed-form continuous-time neural networks",
Nature Machine Intelligence 4, 2022: :math:`x(t) = \sigma(-f\,t) \odot g + (1-\sigma(-f\,t)) \odot k`,
an input-dependent interpolation between two heads driven by a learned time-constant head ``f``.
The hidden state of the PINN plays the role of the cell's input; the equations implemented are

.. math::
    h_0 = \tanh(W_{in}\,\mathrm{scale}(z) + b_{in}), \\
    f = \sigma(W_f h_{\ell} + b_f), \quad g = \tanh(W_g h_{\ell} + b_g), \quad
    k = \tanh(W_k h_{\ell} + b_k), \quad \gamma = \sigma(-f \odot \tau_\ell), \\
    h_{\ell+1} = h_\ell + \gamma \odot g + (1 - \gamma) \odot k \quad (\ell = 0..L-1), \qquad
    y = W_{out} h_L + b_{out},

with ``depth = L`` blocks of ``width`` units. Interpretation (the paper gives no formula we could
rely on): ``f`` is the sigmoid "time-constant gate" (a bounded positive rate), ``tau`` a
**trainable** pseudo-time per block and unit, kept positive as :math:`\tau = \mathrm{softplus}(\rho)`
and initialised to the option ``tau`` (default 1). Then :math:`\gamma \in (0, 1/2]`: as the
pseudo-time grows the state relaxes from an equal mix of ``g`` and ``k`` towards ``k`` at a rate
set by ``f``, i.e. each unit learns its own input-dependent time constant. The residual form keeps
the block close to the identity plus a bounded smooth update. All functions are smooth.
The three heads are one ``(3W, W)`` product per block. Glorot-normal weights, zero biases.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .base import Backbone, glorot_linear, register, scale_inputs


class LNN(Backbone):
    in_w: jax.Array
    in_b: jax.Array
    blocks: list  # per block: {"w": (3W, W) stacked heads f, g, k; "b": (3W,); "rho": (W,)}
    out_w: jax.Array
    out_b: jax.Array
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=32, depth=3, tau=1.0):
        k_in, k_out, *ks = jax.random.split(key, 2 + 3 * depth)
        self.in_w, self.in_b = glorot_linear(k_in, in_dim, width)
        rho = float(np.log(np.expm1(tau)))  # softplus(rho) = tau
        self.blocks = []
        for layer in range(depth):
            heads = [glorot_linear(k, width, width) for k in ks[3 * layer : 3 * layer + 3]]
            self.blocks.append({"w": jnp.concatenate([w for w, _ in heads]),
                                "b": jnp.concatenate([b for _, b in heads]),
                                "rho": jnp.full((width,), rho)})
        self.out_w, self.out_b = glorot_linear(k_out, width, out_dim)
        self.lo, self.hi = tuple(lo), tuple(hi)

    def __call__(self, z):
        h = jnp.tanh(self.in_w @ scale_inputs(z, self.lo, self.hi) + self.in_b)
        for blk in self.blocks:
            a_f, a_g, a_k = jnp.split(blk["w"] @ h + blk["b"], 3)
            gamma = jax.nn.sigmoid(-jax.nn.sigmoid(a_f) * jax.nn.softplus(blk["rho"]))
            g, k = jnp.tanh(a_g), jnp.tanh(a_k)
            h = h + gamma * g + (1.0 - gamma) * k
        return self.out_w @ h + self.out_b


@register("lnn")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 32, depth: int = 3, tau: float = 1.0):
    return LNN(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, tau=tau)


__all__ = ["LNN"]
