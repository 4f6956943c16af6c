r"""Kolmogorov-Arnold network (KAN) with B-spline or Chebyshev edge functions.

Every layer maps :math:`x \in \mathbb{R}^{n}` to :math:`y \in \mathbb{R}^{n'}` by a sum of learned
univariate functions on the edges,

.. math::
    y_j = \sum_{i=1}^{n} \phi_{ji}(u_i), \qquad
    \phi_{ji}(u) = \sum_{b} c_{jib}\, B_b(u) \;\big[ + w_{ji}\, \mathrm{SiLU}(u) \big],

with :math:`u = \mathrm{scale}(z) \in [-1,1]^d` for the first layer and
:math:`u = \tanh(x)` for the later ones (so that the basis always sees its range), ``depth``
hidden layers of ``width`` units and a last layer to the ``m`` outputs (no final squashing). No
biases (constants are in the span of the basis).

``basis="bspline"`` (Liu, Wang, Vaidya, Ruehle, Halverson, Soljacic, Hou, Tegmark, "KAN:
Kolmogorov-Arnold Networks", arXiv:2404.19756, 2024): :math:`B_b` are the ``grid + degree``
B-splines of degree ``degree`` (cubic by default) on the uniform grid of ``grid`` intervals over
:math:`[-1, 1]` (spacing :math:`h = 2/\mathrm{grid}`), extended by ``degree`` knots on each side
(Cox-de Boor), plus the residual base term :math:`w_{ji}\,\mathrm{SiLU}(u_i)` of the paper. The
grid is fixed (no grid extension/update during training) and the paper's separate spline scale
:math:`w_s` is folded into :math:`c` (it is redundant for training).

*Evaluation (closed form).* On :math:`[-1, 1]` the B-splines span the same space as the
truncated-power basis

.. math::
    F(u) = \big(1, u, \dots, u^p,\ ((u - \kappa)/h)_+^p\ (\kappa > 0),\
    ((\kappa - u)/h)_+^p\ (\kappa \le 0)\big), \quad \kappa = -1 + h, \dots, 1 - h,

(each B-spline is a :math:`(p+1)`-th difference of truncated powers; the side of each interior
knot :math:`\kappa` is chosen to keep the features small), so :math:`B(u) = F(u)\, D` with a fixed
:math:`D` (``grid + degree`` square), computed once in float64 by least squares against the
Cox-de Boor recursion (:func:`bspline_reference`; exact to ~1e-13) and cached. The layer is then
:math:`y = (c D^\top) F(u) + w\,\mathrm{SiLU}(u)`: :math:`c D^\top` is computed once per call on the
parameters alone (it is not batched by ``vmap``), and per point only the cheap features
:math:`F` and two matrix-vector products remain. The training variables, the function and its
gradients are those of the B-spline parametrisation; only the arithmetic differs. Under nested
forward-mode derivatives this is about 4x faster than scattering the ``degree + 1`` local
B-splines into the basis vector (selects and broadcasts in every derivative stream), and it is
smooth: :math:`(\cdot)_+^3` is :math:`C^2`, so first and second derivatives are exact, the third
is piecewise constant (finite-difference checks must avoid the knots). :math:`D` is a
compile-time constant derived from the static ``grid`` and ``degree``, never a model leaf, so it
is never trained. Price: float32 rounding of the basis values grows with the grid, about 2e-6 at
``grid=5`` and 2e-5 at ``grid=10`` (exact B-spline values round at 4e-7); keep ``grid`` at most
about 10 in float32.

``basis="chebyshev"`` (S. S. Sidharth, A. R. Keerthana, R. Gokul, K. P. Anas, "Chebyshev
Polynomial-Based Kolmogorov-Arnold Networks: An Efficient Architecture for Nonlinear Function
Approximation", arXiv:2405.07200, 2024): :math:`B_b = T_b`, ``b = 0..degree``, by
:math:`T_0 = 1,\ T_1 = u,\ T_{b+1} = 2u\,T_b - T_{b-1}`, no base term; ``grid`` is unused. The
paper applies ``tanh`` before every layer; here the already scaled input of the first layer is
used as is (it lies in :math:`[-1, 1]`), as for the B-splines.

Per layer the basis values form one vector of length :math:`n\,n_b` and the layer is one
matrix-vector product with the coefficients :math:`(n', n\,n_b)`, batched by ``vmap`` into a matrix
product. Initialisation: B-splines, Glorot-normal base weights and spline coefficients of
standard deviation 0.1 x Glorot (the spline part starts near zero, as "w_s = 1, spline(x) ~ 0" in
the KAN paper; at 1.0 x Glorot heat1d trained ten times worse); Chebyshev, coefficients of standard
deviation :math:`1/(n\,(\mathrm{degree}+1))` (the ChebyKAN reference implementation's choice).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import FieldlabError
from .base import Backbone, register, scale_inputs


def bspline_reference(u: np.ndarray, grid: int, degree: int) -> np.ndarray:
    """The ``grid + degree`` uniform B-splines on [-1, 1] at ``u`` (NumPy, Cox-de Boor): ``u.shape + (nb,)``."""
    u = np.asarray(u, np.float64)
    h = 2.0 / grid
    knots = -1.0 + h * np.arange(-degree, grid + degree + 1)
    x = np.clip(u, -1.0, 1.0 - 1e-12)[..., None]  # the right end belongs to the last interval
    basis = ((x >= knots[:-1]) & (x < knots[1:])).astype(np.float64)
    for p in range(1, degree + 1):
        left = (x - knots[: -p - 1]) / (knots[p:-1] - knots[: -p - 1])
        right = (knots[p + 1 :] - x) / (knots[p + 1 :] - knots[1:-p])
        basis = left * basis[..., :-1] + right * basis[..., 1:]
    return basis


def truncated_powers(u, grid: int, degree: int, xp=jnp):
    """The features ``F(u)``: powers ``u^0..u^p`` then one-sided truncated powers at the interior knots."""
    h = 2.0 / grid
    feats = [xp.ones_like(u), u] + [u**k for k in range(2, degree + 1)]
    for j in range(1, grid):
        kappa = -1.0 + j * h
        feats.append(xp.maximum((u - kappa) / h if kappa > 0 else (kappa - u) / h, 0.0) ** degree)
    return xp.stack(feats, axis=-1)


@functools.lru_cache(maxsize=None)
def change_of_basis(grid: int, degree: int) -> np.ndarray:
    """``D`` (float64) with ``B(u) = truncated_powers(u) @ D`` on [-1, 1]."""
    u = np.linspace(-1.0, 1.0, 64 * (grid + degree) + 1)
    D, *_ = np.linalg.lstsq(truncated_powers(u, grid, degree, np), bspline_reference(u, grid, degree), rcond=None)
    return D


def bspline_basis(u, grid: int, degree: int):
    """The B-splines at ``u`` by the truncated-power closed form (differentiable JAX): ``u.shape + (nb,)``."""
    return truncated_powers(u, grid, degree) @ jnp.asarray(change_of_basis(grid, degree), u.dtype)


def chebyshev_basis(u, degree: int):
    """``T_0(u) .. T_degree(u)``: ``u.shape + (degree + 1,)``."""
    ts = [jnp.ones_like(u), u]
    for _ in range(degree - 1):
        ts.append(2.0 * u * ts[-1] - ts[-2])
    return jnp.stack(ts[: degree + 1], axis=-1)


class KAN(Backbone):
    coeffs: list  # per layer: (n_out, n_in * n_basis), row-major in (input, basis)
    base: list  # per layer: (n_out, n_in) weights of the SiLU base term (B-splines only)
    lo: tuple = eqx.field(static=True, default=())
    hi: tuple = eqx.field(static=True, default=())
    basis: str = eqx.field(static=True, default="bspline")
    degree: int = eqx.field(static=True, default=3)
    grid: int = eqx.field(static=True, default=5)

    def __init__(self, in_dim, out_dim, *, key, lo, hi, width=16, depth=2, basis="bspline", degree=3, grid=5):
        if basis not in ("bspline", "chebyshev"):
            raise FieldlabError(f"unknown KAN basis '{basis}'; choose 'bspline' or 'chebyshev'.")
        if degree < 1 or grid < 1:
            raise FieldlabError("KAN needs degree >= 1 and grid >= 1.")
        spline = basis == "bspline"
        n_b = grid + degree if spline else degree + 1
        sizes = [in_dim] + [width] * depth + [out_dim]
        self.coeffs, self.base = [], []
        for k, n_in, n_out in zip(jax.random.split(key, len(sizes) - 1), sizes[:-1], sizes[1:]):
            kc, kb = jax.random.split(k)
            glorot = np.sqrt(2.0 / (n_in + n_out))
            std = 0.1 * glorot if spline else 1.0 / (n_in * n_b)
            self.coeffs.append(std * jax.random.normal(kc, (n_out, n_in * n_b)))
            if spline:
                self.base.append(glorot * jax.random.normal(kb, (n_out, n_in)))
        self.lo, self.hi = tuple(lo), tuple(hi)
        self.basis, self.degree, self.grid = basis, degree, grid

    def __call__(self, z):
        x = scale_inputs(z, self.lo, self.hi)
        if self.basis == "bspline":
            D = jnp.asarray(change_of_basis(self.grid, self.degree), z.dtype)
        for layer, c in enumerate(self.coeffs):
            u = x if layer == 0 else jnp.tanh(x)
            if self.basis == "chebyshev":
                x = c @ chebyshev_basis(u, self.degree).ravel()
            else:
                n_out, n_in = c.shape[0], u.shape[0]
                c_tp = jnp.einsum("oib,mb->oim", c.reshape(n_out, n_in, -1), D).reshape(n_out, -1)
                x = c_tp @ truncated_powers(u, self.grid, self.degree).ravel() + self.base[layer] @ jax.nn.silu(u)
        return x


@register("kan")
def _build(in_dim, out_dim, *, key, lo, hi, width: int = 16, depth: int = 2, basis: str = "bspline",
           degree: int = 3, grid: int = 5):
    return KAN(in_dim, out_dim, key=key, lo=lo, hi=hi, width=width, depth=depth, basis=basis,
               degree=degree, grid=grid)


__all__ = ["KAN", "bspline_basis", "bspline_reference", "change_of_basis", "chebyshev_basis", "truncated_powers"]
