r"""Weak form of :math:`u_t = (D(u)\,u_x)_x + R(u)`: data are integrated, never differentiated.

With :math:`G(u) = \int_{u_0}^{u} D(s)\,ds` the flux term is :math:`(D(u) u_x)_x = G(u)_{xx}`.
Multiplying by a test function :math:`\varphi(x, t)` that vanishes with its first derivatives on
the boundary of its support (inside the space-time domain) and integrating by parts, once in time
and twice in space:

.. math::
    -\iint u\,\varphi_t \,dx\,dt = \iint G(u)\,\varphi_{xx}\,dx\,dt + \iint R(u)\,\varphi\,dx\,dt .

Every integral is a quadrature over the data grid, so each test function gives one *linear*
equation in the values :math:`G(u_{ij})` and :math:`R(u_{ij})`: the system is
``W_xx @ G(u) + W_0 @ R(u) = b`` with matrices that depend only on the grid and the test
functions. The constant :math:`G(u_0)` drops out (:math:`\iint \varphi_{xx} = 0`), which is why
the lower limit :math:`u_0` is free; we take the smallest observed value.

Test functions are separable bumps :math:`\varphi = \psi((x - x_c)/h_x)\,\psi((t - t_c)/h_t)`
with :math:`\psi(s) = (1 - s^2)^p` on :math:`|s| < 1` (``p = 4``: :math:`\psi, \psi', \psi''`
vanish at the ends, so no boundary terms appear and the trapezoid rule on a smooth compactly
supported integrand converges fast). Half-widths default to 0.15 of the domain in space and
0.05 of it in time, at least five grid spacings (:func:`default_widths`). Narrower supports in
space amplify noise through :math:`\varphi_{xx} \sim h_x^{-2}`; wider ones, in space or time, blur
the fronts that carry the information on :math:`D`. The neural surrogates, with many more degrees
of freedom, would fit the extra noise of narrow supports, so they use the wider
:data:`WIDE_WIDTHS`. (The measurements behind both choices: ``benchmarks/weak_widths.py`` and the
weak-form widths results page.) Centres lie on a regular lattice at half a half-width apart, so
neighbouring supports overlap. Quadrature: the data are interpolated piecewise linearly on their (possibly
non-uniform) grid and integrated exactly against the test functions (:func:`interpolant_weights`).

Several runs (``u`` of shape ``(runs, nt, nx)``: the same system observed from several initial
conditions on one grid) give the same test functions in every run, so the matrices are built once
and shared; the equations of all runs are stacked, run by run (:class:`WeakSystem`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import FieldlabError

POWER = 4


def bump(s: np.ndarray, order: int = 0, p: int = POWER) -> np.ndarray:
    """:math:`\\psi(s) = (1 - s^2)^p` on :math:`|s| < 1` (else 0) and its first two derivatives."""
    s = np.asarray(s, dtype=float)
    inside = np.abs(s) < 1
    q = np.where(inside, 1 - s**2, 0.0)
    if order == 0:
        out = q**p
    elif order == 1:
        out = -2 * p * s * q ** (p - 1)
    elif order == 2:
        out = -2 * p * q ** (p - 1) + 4 * p * (p - 1) * s**2 * q ** (p - 2)
    else:
        raise ValueError("order must be 0, 1 or 2")
    return np.where(inside, out, 0.0)


def trapezoid_weights(z: np.ndarray) -> np.ndarray:
    """Weights ``w`` with ``w @ f(z)`` the trapezoid rule on the (non-uniform) grid ``z``."""
    dz = np.diff(z)
    w = np.zeros_like(z, dtype=float)
    w[:-1] += dz / 2
    w[1:] += dz / 2
    return w


def interpolant_weights(z: np.ndarray, centres: np.ndarray, h: float, order: int, nodes: int = 12) -> np.ndarray:
    r"""Weights ``W`` (len(centres), len(z)) with ``W @ f`` the exact integral of the piecewise-linear
    interpolant of ``f`` against :math:`\partial^{order} \psi((z - c)/h)`.

    The test function is integrated exactly (Gauss-Legendre per grid interval), only the data are
    interpolated: so :math:`\int \varphi_{xx} = 0` holds to rounding and the constant part of
    :math:`G(u)` drops out as it must. The trapezoid rule on the product instead leaked it: with five
    grid points per half-width (sparse data) the true closures left a relative weak residual of
    4e-2, against 5e-5 with these weights.
    """
    xi, wq = np.polynomial.legendre.leggauss(nodes)
    a, dz = z[:-1], np.diff(z)
    q = a[:, None] + dz[:, None] * (1 + xi[None, :]) / 2  # (n-1, nodes)
    wq = dz[:, None] * wq[None, :] / 2
    right = (q - a[:, None]) / dz[:, None]  # hat function of the interval's right node
    vals = bump((q[None] - centres[:, None, None]) / h, order) / h**order * wq[None]  # (K, n-1, nodes)
    W = np.zeros((len(centres), len(z)))
    W[:, :-1] += np.sum(vals * (1 - right)[None], axis=2)
    W[:, 1:] += np.sum(vals * right[None], axis=2)
    return W


def _centres(z: np.ndarray, h: float) -> np.ndarray:
    lo, hi = z[0] + h, z[-1] - h
    if hi < lo:
        raise FieldlabError(f"the data span {z[-1] - z[0]:.3g} is shorter than one test function ({2 * h:.3g}).")
    n = int(np.floor((hi - lo) / (h / 2) * (1 + 1e-12))) + 1  # a span of exactly k half-steps gives k + 1 centres
    return np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])


def interpolation(u: np.ndarray, grid: np.ndarray, sparse: bool = False):
    """Matrix ``P`` (len(u), len(grid)) of linear interpolation: ``P @ f(grid) ≈ f(u)`` (``sparse``: CSR)."""
    h = grid[1] - grid[0]
    j = np.clip(((u - grid[0]) / h).astype(int), 0, len(grid) - 2)
    w = np.clip((u - grid[j]) / h, 0.0, 1.0)
    rows = np.arange(len(u))
    if sparse:
        from scipy.sparse import csr_matrix

        return csr_matrix((np.r_[1 - w, w], (np.r_[rows, rows], np.r_[j, j + 1])), shape=(len(u), len(grid)))
    P = np.zeros((len(u), len(grid)))
    P[rows, j] = 1 - w
    P[rows, j + 1] = w
    return P


def fold(W: np.ndarray, u: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``W @ interpolation(u, grid)`` without the dense (len(u), len(grid)) matrix (data sets can be large)."""
    return np.asarray((interpolation(u, grid, sparse=True).T @ W.T).T)


@dataclasses.dataclass(frozen=True)
class WeakSystem:
    """Linear weak-form equations over the flattened data ``u`` (row-major (runs, nt, nx)).

    ``W_xx @ G(u_j) + W_0 @ R(u_j) ≈ b_j`` for every test function (one row each) and run ``j``:
    ``W_xx`` and ``W_0`` (test functions x nt * nx) are shared by the runs, ``b`` stacks the
    runs' right-hand sides. Use :meth:`xx`, :meth:`zero` and :meth:`fold` to apply them to values at
    every datum of every run.
    """

    W_xx: np.ndarray
    W_0: np.ndarray
    b: np.ndarray
    u: np.ndarray
    hx: float
    ht: float
    n_independent: float  # test functions with disjoint supports that fit in the domain, over all runs
    runs: int = 1

    @property
    def n(self) -> int:
        return self.b.shape[0]

    def _apply(self, W: np.ndarray, values: np.ndarray) -> np.ndarray:
        return (W @ np.asarray(values, float).reshape(self.runs, -1).T).T.reshape(-1)

    def xx(self, values: np.ndarray) -> np.ndarray:
        """``W_xx`` applied to values at every datum of every run (flat, like ``u``): one entry per row."""
        return self._apply(self.W_xx, values)

    def zero(self, values: np.ndarray) -> np.ndarray:
        """``W_0`` applied to values at every datum of every run."""
        return self._apply(self.W_0, values)

    def fold(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(A_xx, A_0)``, (rows, len(grid)): the equations for values of a law on an equispaced ``grid``
        of states, linearly interpolated to the data (:func:`fold`)."""
        parts = np.split(self.u, self.runs)
        return tuple(np.concatenate([fold(W, p, grid) for p in parts]) for W in (self.W_xx, self.W_0))

    def residual(self, G_values: np.ndarray, R_values: np.ndarray) -> np.ndarray:
        return self.xx(G_values) + self.zero(R_values) - self.b


WIDTHS = (0.15, 0.05)  # default half-widths as fractions of the x and t spans (regressions with few coefficients)
WIDE_WIDTHS = (0.2, 0.1)  # for the neural surrogates (see fieldlab.discovery.neural)


def default_widths(x: np.ndarray, t: np.ndarray, fractions: tuple[float, float] = WIDTHS) -> tuple[float, float]:
    """Half-widths ``fractions`` of the spans of ``x`` and ``t``, at least five grid spacings each."""
    hx = max(fractions[0] * (x[-1] - x[0]), 5 * float(np.max(np.diff(x))))
    ht = max(fractions[1] * (t[-1] - t[0]), 5 * float(np.max(np.diff(t))))
    return hx, ht


def operators(x: np.ndarray, t: np.ndarray, hx: float, ht: float):
    """Sparse (CSR) ``(W_t, W_xx, W_0)``, (test functions, nt * nx): the integrals of the data's interpolant
    against :math:`\\varphi_t`, :math:`\\varphi_{xx}` and :math:`\\varphi`, one row per centre pair
    ``(t_c, x_c)`` (row-major, ``t_c`` first), one column per datum (row-major ``(t, x)``)."""
    from scipy.sparse import csr_matrix, kron

    xc, tc = _centres(x, hx), _centres(t, ht)
    px, pxx = interpolant_weights(x, xc, hx, 0), interpolant_weights(x, xc, hx, 2)
    pt, ptt = interpolant_weights(t, tc, ht, 0), interpolant_weights(t, tc, ht, 1)
    return tuple(kron(csr_matrix(a), csr_matrix(b), format="csr") for a, b in ((ptt, px), (pt, pxx), (pt, px)))


def weak_system(x: np.ndarray, t: np.ndarray, u: np.ndarray, hx: float | None = None, ht: float | None = None) -> WeakSystem:
    """Assemble the weak-form equations for data ``u`` (runs, nt, nx) on grids ``x``, ``t``."""
    x, t, u = np.asarray(x, float), np.asarray(t, float), np.asarray(u, float)
    runs = u.reshape(len(u), len(t) * len(x))  # (runs, nt * nx)
    dhx, dht = default_widths(x, t)
    hx, ht = hx or dhx, ht or dht
    W_t, W_xx, W_0 = (W.toarray() for W in operators(x, t, hx, ht))
    independent = (x[-1] - x[0]) / (2 * hx) * (t[-1] - t[0]) / (2 * ht)
    return WeakSystem(W_xx=W_xx, W_0=W_0, b=np.concatenate([-(W_t @ r) for r in runs]), u=runs.reshape(-1), hx=hx, ht=ht,
                      n_independent=independent * len(runs), runs=len(runs))
