r"""Weak form in one or two space dimensions: the test-function integrals of :mod:`.weak`, in (x, y, t).

For :math:`u_t = \nabla\cdot(D(u)\nabla u) + R(u)` on a rectangle, with :math:`G(u) = \int_{u_0}^u D`
the flux term is :math:`\nabla\cdot(D(u)\nabla u) = \Delta G(u)`. Multiplying by a test function
:math:`\varphi(x, y, t)` whose support lies inside the space-time domain and which vanishes there
with its first derivatives, and integrating by parts once in time and twice in each space direction
(every boundary term vanishes with :math:`\varphi` and :math:`\nabla\varphi`):

.. math::
    -\iiint u\,\varphi_t \,dx\,dy\,dt
      = \iiint G(u)\,(\varphi_{xx} + \varphi_{yy}) \,dx\,dy\,dt + \iiint R(u)\,\varphi \,dx\,dy\,dt .

The test functions are products of the bumps of :mod:`.weak`,
:math:`\varphi = \psi((x - x_c)/h_x)\,\psi((y - y_c)/h_y)\,\psi((t - t_c)/h_t)` with
:math:`\psi(s) = (1 - s^2)^4`, so :math:`\varphi_{xx} = \psi''_x \psi_y \psi_t / h_x^2` and each
integral is a product of one-dimensional ones. The quadrature is that of
:func:`~.weak.interpolant_weights`, applied along every axis: the data are interpolated
multilinearly (the tensor product of the piecewise-linear interpolants along t, x and y) and the
interpolant is integrated *exactly* against the test function (Gauss-Legendre per grid interval,
per axis). The weight of datum :math:`(k, i, j)` for test function :math:`(c_t, c_x, c_y)` is then
the product :math:`P^t_{c_t k} P^x_{c_x i} P^y_{c_y j}`, i.e. the matrix is the Kronecker product
of the one-dimensional weight matrices. As in 1-D, :math:`\iiint \Delta\varphi = 0` holds to
rounding, so the constant part of :math:`G` drops out exactly.

:func:`space_time_operators` builds ``(W_t, W_lap, W_0)`` for any number of space axes; for one
axis it is exactly :func:`~.weak.operators` (tested), for two it is the system above. The data are
flattened row-major as ``(t, x[, y])``, the test functions as ``(t_c, x_c[, y_c])``. Half-widths
default to those of :func:`~.weak.default_widths` along each axis (0.15 of each space span, 0.05 of
the time span, at least five grid spacings).

The test functions whose supports are disjoint and fit in the domain number
:math:`\prod_a L_a / (2 h_a)` per run: the count of independent equations used by the information
criterion (:attr:`~.weak.WeakSystem.n_independent` in 1-D).
"""

from __future__ import annotations

import numpy as np

from .weak import WIDTHS, _centres, interpolant_weights

__all__ = ["default_widths_nd", "independent_equations", "space_time_operators"]


def default_widths_nd(axes, t, fractions: tuple[float, float] = WIDTHS) -> tuple[tuple[float, ...], float]:
    """Half-widths ``((h_x[, h_y]), h_t)``: ``fractions[0]`` of every space span and ``fractions[1]`` of the
    time span, at least five grid spacings each (the rule of :func:`~.weak.default_widths`, per axis)."""
    def width(z, f):
        z = np.asarray(z, float)
        return max(f * (z[-1] - z[0]), 5 * float(np.max(np.diff(z))))

    return tuple(width(z, fractions[0]) for z in axes), width(t, fractions[1])


def independent_equations(axes, t, hs, ht) -> float:
    """:math:`\\prod_a L_a / (2 h_a)` over the space axes and time: test functions with disjoint supports, per run."""
    n = (t[-1] - t[0]) / (2 * ht)
    for z, h in zip(axes, hs):
        n *= (z[-1] - z[0]) / (2 * h)
    return float(n)


def space_time_operators(axes, t, hs, ht):
    """Sparse (CSR) ``(W_t, W_lap, W_0)``, (test functions, nt * prod(len(axis))): the exact integrals of the
    data's multilinear interpolant against :math:`\\varphi_t`, :math:`\\sum_a \\varphi_{aa}` and :math:`\\varphi`.

    ``axes``: the space grids, ``(x,)`` or ``(x, y)``; ``hs``: their half-widths; ``t``, ``ht``: time.
    Rows: centres ``(t_c, x_c[, y_c])`` row-major; columns: data ``(t, x[, y])`` row-major.
    """
    from scipy.sparse import csr_matrix, kron

    def product(mats):
        out = csr_matrix(mats[0])
        for m in mats[1:]:
            out = kron(out, csr_matrix(m), format="csr")
        return out

    tc = _centres(np.asarray(t, float), ht)
    pt, ptt = interpolant_weights(t, tc, ht, 0), interpolant_weights(t, tc, ht, 1)
    zero, second = [], []
    for z, h in zip(axes, hs):
        zc = _centres(np.asarray(z, float), h)
        zero.append(interpolant_weights(z, zc, h, 0))
        second.append(interpolant_weights(z, zc, h, 2))
    W_t = product([ptt] + zero)
    W_0 = product([pt] + zero)
    W_lap = sum(product([pt] + zero[:a] + [second[a]] + zero[a + 1:]) for a in range(len(axes)))
    return W_t, W_lap.tocsr(), W_0
