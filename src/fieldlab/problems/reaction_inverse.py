r"""Inverse problem: identify the diffusivity and the rate of a two-species reaction-diffusion system.

.. math::
    \partial_t C_A = D\, \partial_{xx} C_A - k_f C_A C_B^2, \qquad
    \partial_t C_B = D\, \partial_{xx} C_B - 2 k_f C_A C_B^2,

on ``x`` in ``[0, 1]``, ``t`` in ``[0, 10]``, with ``C_A(x, 0) = C_B(x, 0) = exp(-20 x)`` and
``C = 1`` at ``x = 0``, ``C = 0`` at ``x = 1`` for both species (fields ``ca``, ``cb``). The true
values are ``D = 2e-3`` and ``k_f = 0.1``; both are unknown to the network, which learns them from
observations of both species together with the two fields (the DeepXDE diffusion-reaction
inverse problem).

Setup.

* **Unknowns**: trainable ``D`` and ``kf``, starting ten times too large (``D = 2e-2``,
  ``kf = 1``). The optimiser sees each divided by its initial guess (``param_scales``), so both
  start at 1 and the truth is at 0.1: O(1) variables, although ``D`` is tiny. (A logarithmic
  parametrisation was tried and rejected: an L-BFGS line search can throw ``log D`` to
  ``-inf``, where its gradient vanishes and it never comes back.) Residuals, ``Run.params``,
  ``metrics.json`` (``params``, ``params_true``, ``params_rel_error``), ``history.csv``
  (``param_D``, ``param_kf``) and the summary of ``fieldlab solve`` show ``D`` and ``kf``
  themselves.
* **Observations** (the ``data`` condition): ``C_A`` and ``C_B`` at 1000 scattered points, drawn
  uniformly without replacement (``numpy.random.default_rng(seed)``, ``seed = 0``) from the
  interior nodes of the 201 x 201 reference grid (``x`` step 0.005 without the two ends, ``t``
  step 0.05 without ``t = 0``), where the reference is exact to about 1e-7, so no interpolation
  error enters.
* **Noise**: ``reaction-inverse`` has clean data; ``reaction-inverse-noise1`` adds independent
  Gaussian noise whose standard deviation is 1% of the standard deviation of that species' clean
  observations. In Python, :func:`reaction_inverse` takes any ``noise`` level, ``n_obs`` and
  ``seed`` (pass the problem to :func:`fieldlab.train`).
* **Hard constraints** (default): ``C = g(x) + x (1 - x) (t / 10) N(x, t)`` with
  ``g(x) = exp(-20 x) - x exp(-20)``, which holds both boundary values exactly and the initial
  value to within ``exp(-20) ~ 2e-9``.
* **Reference**: method of lines, second-order finite differences on 3200 intervals, BDF with the
  exact sparse Jacobian (:func:`fieldlab.reference.reaction.reaction_solve`), converged to about
  2e-7 relative L2, on the 201 x 201 grid.
* **Recipe** (default): MLP 3 x 48 (tanh), 2000 interior points (Sobol, fixed), all 1000
  observations with loss weight 10, Adam 300 steps (lr 5e-3), then L-BFGS 3000 steps; float32.
  Measured on 2 shared CPU cores (about 40 s in all, compilation included): clean data, seeds
  0-2, D and kf within 0.02% to 0.43%, within 1% for good after 18 to 35 s; 1% noise, seeds 0-1,
  D within 0.7% and kf within 1.4%.
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError
from ..geometry import Interval, TimeInterval
from ..problem import Data, Dirichlet, Initial, Problem, Reference
from ..reference.reaction import REACTION_D, REACTION_KF, reaction_solve
from . import register

T_END = 10.0
N_OBS = 1000
D_GUESS = 10 * REACTION_D
KF_GUESS = 10 * REACTION_KF
FIELDS = ("ca", "cb")
_N = 3200  # solver intervals of the reference (see fieldlab.reference.reaction)
_EXP_M20 = math.exp(-20.0)  # a Python float, so that float32 stays float32 when 64-bit JAX is on


def residual_a(F, p):
    a, b = F.ca, F.cb
    return F.d(a, "t") - p["D"] * F.d(a, "x", "x") + p["kf"] * a * b * b


def residual_b(F, p):
    a, b = F.ca, F.cb
    return F.d(b, "t") - p["D"] * F.d(b, "x", "x") + 2 * p["kf"] * a * b * b


def _initial(x, t=None):
    return jnp.exp(-20.0 * x)


def _transform(z, out):
    x, t = z[0], z[1]
    g = jnp.exp(-20.0 * x) - x * _EXP_M20
    return g + x * (1 - x) * (t / T_END) * out


@functools.lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference on the 201 x 201 grid: ``x``, ``t`` and values ``(201, 201, 2)`` (read-only)."""
    x, t = np.linspace(0.0, 1.0, 201), np.linspace(0.0, T_END, 201)
    ca, cb = reaction_solve(x, t, REACTION_D, REACTION_KF, n=_N)
    values = np.stack([ca, cb], axis=-1)
    for a in (x, t, values):
        a.setflags(write=False)
    return x, t, values


def _reference() -> Reference:
    x, t, values = _grid()
    return Reference((x, t), values, f"method of lines: central differences ({_N} intervals) + BDF")


def observations(n_obs: int = N_OBS, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_obs`` observations ``(points (n, 2), values (n, 2))`` of ``(ca, cb)``, as documented above.

    ``noise`` is relative: the noise of each species has standard deviation ``noise`` times the
    standard deviation of its clean observations.
    """
    x, t, values = _grid()
    inner = values[1:-1, 1:]  # no boundary nodes, no t = 0
    if not 0 < n_obs <= inner.shape[0] * inner.shape[1]:
        raise FieldlabError(f"n_obs must be between 1 and {inner.shape[0] * inner.shape[1]}; got {n_obs}.")
    if not noise >= 0:
        raise FieldlabError(f"noise is a relative standard deviation and must be >= 0; got {noise}.")
    rng = np.random.default_rng(seed)
    pick = rng.choice(inner.shape[0] * inner.shape[1], n_obs, replace=False)
    i, j = np.unravel_index(pick, inner.shape[:2])
    points = np.stack([x[1:-1][i], t[1:][j]], axis=-1)
    clean = inner[i, j]
    noisy = clean + noise * clean.std(axis=0) * rng.standard_normal(clean.shape)
    return points, noisy


DEFAULTS = {
    "model": {"name": "mlp", "width": 48, "depth": 3},
    "recipe": {
        "sampling": {"interior": 2000, "boundary": 100, "initial": 100, "data": 0, "split": "each"},
        "weights": {"data": 10.0},
        "stages": [
            {"optimizer": "adam", "steps": 300, "lr": 5e-3},
            {"optimizer": "lbfgs", "steps": 3000},
        ],
    },
}


def reaction_inverse(noise: float = 0.0, n_obs: int = N_OBS, seed: int = 0, name: str = "reaction-inverse") -> Problem:
    """The inverse problem with ``n_obs`` observations carrying relative Gaussian ``noise`` (seeded)."""
    points, values = observations(n_obs, noise, seed)
    left = lambda x, t: np.isclose(x, 0.0)  # noqa: E731
    right = lambda x, t: np.isclose(x, 1.0)  # noqa: E731
    conditions = {}
    for f in FIELDS:
        conditions[f"left_{f}"] = Dirichlet(f, 1.0, where=left)
        conditions[f"right_{f}"] = Dirichlet(f, 0.0, where=right)
        conditions[f"initial_{f}"] = Initial(f, _initial)
    conditions["data"] = Data(points, values, fields=FIELDS)
    noise_text = f", Gaussian noise {100 * noise:g}% of each species' std" if noise else ", clean"
    return Problem(
        name=name,
        coords=("x", "t"),
        fields=FIELDS,
        domain=Interval(0.0, 1.0) * TimeInterval(0.0, T_END),
        equations={"ca": residual_a, "cb": residual_b},
        conditions=conditions,
        params={"D": D_GUESS, "kf": KF_GUESS},
        trainable=("D", "kf"),
        param_scales={"D": D_GUESS, "kf": KF_GUESS},
        true_params={"D": REACTION_D, "kf": REACTION_KF},
        transform=_transform,
        exact=tuple(k for k in conditions if k != "data"),
        reference=_reference,
        description=(f"inverse: find D, kf in ca_t = D ca_xx - kf ca cb^2, cb_t = D cb_xx - 2 kf ca cb^2 on "
                     f"[0,1] x [0,10] (true D = 2e-3, kf = 0.1; start 10x off) from {n_obs} observations"
                     f"{noise_text}; c(x,0) = exp(-20x), c(0,t) = 1, c(1,t) = 0"),
    )


register("reaction-inverse", DEFAULTS)(lambda: reaction_inverse(0.0))
register("reaction-inverse-noise1", DEFAULTS)(lambda: reaction_inverse(0.01, name="reaction-inverse-noise1"))
