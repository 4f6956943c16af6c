r"""Neural surrogates of :math:`D(u)` and :math:`R(u)` trained on the weak form.

Two small ``tanh`` networks of the scaled state :math:`s = 2 (u - u_{lo}) / (u_{hi} - u_{lo}) - 1`
(the observed range maps to :math:`[-1, 1]`):

.. math::
    D_\theta(u) = \bar D \,\mathrm{softplus}(N_D(s)) > 0, \qquad R_\phi(u) = \bar r\, u\, N_R(s),

with scales :math:`\bar D, \bar r` taken from the weak polynomial fit (mean absolute values of
:math:`D` and of :math:`R/u` over the observed range), so the networks work with O(1) numbers.
:math:`R` is written as a per-capita rate times :math:`u`, so :math:`R(0) = 0` (no creation from
nothing, as in population dynamics and mass-action chemistry; the symbolic families assume it
too). The factor :math:`u` also anchors :math:`R` at the low end of the range, which the data
see only at early times, where the time test functions are small. The weak equations need
:math:`G(u) = \int_{u_{lo}}^{u} D`: both laws are evaluated on an equispaced grid of states
over the observed range, :math:`G` by the cumulative trapezoid rule there, and both are linearly
interpolated to the data (see :func:`fit_neural`). The loss is the relative weak-form residual

.. math::
    L = \frac{\lVert W_{xx} G(u) + W_0 R(u) - b \rVert^2}{\lVert b \rVert^2}
        + \lambda \,\Bigl[\overline{\bigl(\Delta^2 D''(u) / \bar D\bigr)^2}
        + \overline{\bigl(\Delta^2 R''(u) / \bar R\bigr)^2}\Bigr], \qquad \Delta = u_{hi} - u_{lo},

the second term a small curvature penalty on a grid of the observed range (smoothness; the
positivity of :math:`D` is built in). Its weight follows the noise: :math:`\lambda` is 0.03 times the
relative weak residual that the polynomial fit leaves (:data:`SMOOTH_PER_RESIDUAL`), a
discrepancy-principle choice: the penalty grows with the part of the data the polynomial cannot
explain (noise) and vanishes on clean data, where it would only bias the laws. Training: Adam,
then L-BFGS, in float64, with the compiled
optimiser chunks of :mod:`fieldlab.training.optimizers`.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..training.optimizers import make_chunk
from ..training.stages import LBFGS, Adam
from .weak import WeakSystem

SMOOTH_PER_RESIDUAL = 0.03
STAGES = (Adam(steps=2000, lr=1e-2, decay_rate=0.5, decay_steps=700), LBFGS(steps=2000))


class _Net(eqx.Module):
    weights: list
    biases: list

    def __init__(self, width: int, depth: int, key):
        sizes = [1] + [width] * depth + [1]
        keys = jax.random.split(key, len(sizes) - 1)
        self.weights = [jax.random.normal(k, (b, a)) * np.sqrt(2.0 / (a + b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]
        self.weights[-1] = jnp.zeros_like(self.weights[-1])  # start from a constant D and R = 0
        self.biases = [jnp.zeros(b) for b in sizes[1:]]

    def __call__(self, s):  # s: (n,) -> (n,)
        h = s[:, None]
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = jnp.tanh(h @ w.T + b)
        return (h @ self.weights[-1].T + self.biases[-1])[:, 0]


class Surrogate(eqx.Module):
    """Positive :math:`D(u)` and free :math:`R(u)` as networks of the scaled state."""

    d_net: _Net
    r_net: _Net
    lo: float = eqx.field(static=True)
    hi: float = eqx.field(static=True)
    d_scale: float = eqx.field(static=True)
    r_scale: float = eqx.field(static=True)

    def __init__(self, lo, hi, d_scale, r_scale, *, key, width=16, depth=2):
        kd, kr = jax.random.split(key)
        self.d_net, self.r_net = _Net(width, depth, kd), _Net(width, depth, kr)
        self.lo, self.hi, self.d_scale, self.r_scale = float(lo), float(hi), float(d_scale), float(r_scale)

    def _s(self, u):
        return 2 * (u - self.lo) / (self.hi - self.lo) - 1

    def D(self, u):
        return self.d_scale * jax.nn.softplus(self.d_net(self._s(u)))

    def R(self, u):
        return self.r_scale * u * self.r_net(self._s(u))


@dataclasses.dataclass
class NeuralFit:
    D: callable  # numpy in, numpy out
    R: callable
    loss: float
    steps: int
    model: Surrogate


def curvature(f, scale):
    """Mean of :math:`((u_{hi} - u_{lo})^2 f'' / \\bar f)^2` on the equispaced grid of states."""
    n = f.shape[0] - 1
    return jnp.mean(((f[2:] - 2 * f[1:-1] + f[:-2]) * n**2 / scale) ** 2)


def fit_neural(system: WeakSystem, lo: float, hi: float, d_scale: float, r_scale: float, *, seed: int = 0,
               width: int = 16, depth: int = 2, smooth: float = 1e-6, nodes: int = 257, stages=STAGES,
               chunk: int = 100) -> NeuralFit:
    """Train the surrogates on the weak equations; returns numpy callables of the trained D and R.

    The closures enter the weak equations only through their values at the data, so both are
    evaluated on ``nodes`` equispaced states over [lo, hi] and linearly interpolated to the data
    (interpolation error :math:`h^2 f''/8`, about 1e-6 relative for 257 nodes): the weak
    matrices fold with the interpolation into (test functions x nodes) matrices once, and a
    training step costs a few hundred network evaluations however large the data set.
    """
    grid = np.linspace(lo, hi, nodes)
    with jax.enable_x64(True):
        model = Surrogate(lo, hi, d_scale, r_scale, key=jax.random.PRNGKey(seed), width=width, depth=depth)
        params, static = eqx.partition(model, eqx.is_inexact_array)
        A_G, A_R, b, g = (jnp.asarray(a) for a in (*system.fold(grid), system.b, grid))
        bb = jnp.sum(b**2)
        h = (hi - lo) / (nodes - 1)

        def loss(theta, _batch, _aux=None):
            m = eqx.combine(theta, static)
            d = m.D(g)
            G = jnp.concatenate([jnp.zeros(1), jnp.cumsum((d[1:] + d[:-1]) * h / 2)])  # trapezoid, O(h^2)
            rg = m.R(g)
            r = A_G @ G + A_R @ rg - b
            return jnp.sum(r**2) / bb + smooth * (curvature(d, m.d_scale) + curvature(rg, m.r_scale))

        steps, value = 0, jnp.inf
        for stage in stages:
            opt, run = make_chunk(stage, loss, chunk)
            state = opt.init(params)
            done, counters, last = 0, jnp.zeros(len(stage.rules()), jnp.int32), jnp.asarray(jnp.inf)
            while done < stage.steps:
                params, state, losses, n, reason, counters, last, _ = run(params, state, None, min(chunk, stage.steps - done), counters, last, None)
                done += int(n)
                if int(reason) or int(n) == 0:
                    break
            steps += done
            value = float(last)
        trained = eqx.combine(params, static)
    return NeuralFit(D=_numpy(trained, "D"), R=_numpy(trained, "R"), loss=value, steps=steps, model=trained)


def _numpy(model: Surrogate, which: str):
    fn = eqx.filter_jit(lambda m, u: getattr(m, which)(u))

    def f(u):
        with jax.enable_x64(True):
            return np.asarray(fn(model, jnp.asarray(np.ravel(u), jnp.float64))).reshape(np.shape(u))

    return f
