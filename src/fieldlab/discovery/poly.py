r"""Polynomial closures by linear regression, in strong and weak form.

The model is :math:`D(u) = \sum_{k \le p_D} d_k u^k` and :math:`R(u) = \sum_{k \le p_R} r_k u^k`
(defaults :math:`p_D = 2`, :math:`p_R = 3`), so :math:`u_t = G(u)_{xx} + R(u)` with
:math:`G = \sum_k d_k u^{k+1}/(k+1)` is linear in the coefficients.

* **strong form** (``strong-poly``): :math:`u_t` and :math:`(u^{k+1})_{xx}` by second-order finite
  differences of the data (``numpy.gradient``, non-uniform grids allowed) at interior nodes; noise
  is differentiated, which is exactly the weakness the weak form removes. It is the baseline.
* **weak form** (``weak-poly``): the same coefficients from the weak equations of
  :mod:`fieldlab.discovery.weak`; the data are only integrated against test functions.

Sparsity: every subset of the library terms that keeps at least one term in D and one in R is
fitted by least squares (columns scaled to unit norm) and the subset with the lowest BIC,
:math:`n \log(\mathrm{RSS}/n) + k \log n`, is kept (all 105 subsets for the default degrees: cheap,
and free of the threshold that sequential thresholding needs). In weak form the test functions
overlap, so their equations are far from independent: :math:`n` is then the number of test
functions with disjoint supports that fit in the domain (:attr:`WeakSystem.n_independent`, 33 for
the 370 test functions of the built-in grid). Counting every row as an independent observation
would overstate the evidence for each extra term and let BIC keep spurious ones.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from ..errors import FieldlabError
from .weak import WeakSystem


@dataclasses.dataclass(frozen=True)
class PolyFit:
    d: np.ndarray  # D coefficients, d[k] multiplies u^k
    r: np.ndarray  # R coefficients
    rss: float
    n: int
    bic: float
    aic: float
    weighting: str = "ols"  # "gls": coefficients re-estimated by weak_gls
    noise_share: float | None = None  # weak_gls: expected noise part of the weak residual / its size

    def D(self, u):
        return np.polynomial.polynomial.polyval(np.asarray(u, float), self.d)

    def R(self, u):
        return np.polynomial.polynomial.polyval(np.asarray(u, float), self.r)

    def expressions(self) -> tuple[str, str]:
        return poly_expr(self.d), poly_expr(self.r)


def poly_expr(c: np.ndarray) -> str:
    """SymPy-parsable polynomial in ``u`` (terms with zero coefficient left out)."""
    terms = [f"{v:.6g}" + ("" if k == 0 else "*u" if k == 1 else f"*u**{k}") for k, v in enumerate(c) if v != 0]
    return " + ".join(terms).replace("+ -", "- ") if terms else "0"


def information(rss: float, n: int, k: int, n_eff: float | None = None) -> tuple[float, float]:
    """(AIC, BIC) of a least-squares fit with Gaussian errors over ``n`` rows, ``n_eff`` of them independent."""
    n_eff = n if n_eff is None else n_eff
    base = n_eff * np.log(max(rss, 1e-300) / n)
    return base + 2 * k, base + k * np.log(n_eff)


def select(columns: np.ndarray, target: np.ndarray, n_d: int, n_eff: float | None = None) -> PolyFit:
    r"""Best subset (by BIC) of the first ``n_d`` columns (D terms) and the rest (R terms).

    ``n_eff``: the number of independent equations among the ``n`` rows, for the criteria (default
    ``n``): :math:`n_{eff} \log(\mathrm{RSS}/n) + k \log n_{eff}`.
    """
    n, m = columns.shape
    if n <= m:
        raise FieldlabError(f"too few equations ({n}) for {m} library terms: give more data points.")
    norms = np.linalg.norm(columns, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    scaled = columns / norms
    best = None
    d_idx, r_idx = range(n_d), range(n_d, m)
    for kd in range(1, n_d + 1):
        for kr in range(1, m - n_d + 1):
            for sd in itertools.combinations(d_idx, kd):
                for sr in itertools.combinations(r_idx, kr):
                    cols = list(sd + sr)
                    coef, *_ = np.linalg.lstsq(scaled[:, cols], target, rcond=None)
                    rss = float(np.sum((scaled[:, cols] @ coef - target) ** 2))
                    aic, bic = information(rss, n, len(cols), n_eff)
                    if best is None or bic < best[0]:
                        best = (bic, aic, rss, cols, coef)
    bic, aic, rss, cols, coef = best
    full = np.zeros(m)
    full[cols] = coef / norms[cols]
    return PolyFit(d=full[:n_d], r=full[n_d:], rss=rss, n=n, bic=bic, aic=aic)


def _powers(u: np.ndarray, deg: int) -> list[np.ndarray]:
    return [u**k for k in range(deg + 1)]


@dataclasses.dataclass(frozen=True)
class StrongSystem:
    r"""The strong-form equations :math:`u_t = G(u)_{xx} + R(u)` at the interior data nodes, with the
    interface of :class:`~.weak.WeakSystem` (``u``, ``b``, ``xx``, ``zero``, ``n``, ``n_independent``).

    ``u`` (runs, nt, nx) flattened; one row per interior node (all times but the first and last, all
    positions but two at each end, where one-sided differences are less accurate) of every run;
    ``b`` is :math:`u_t` there and ``xx(values)`` the second difference in ``x`` of values at every
    datum (``numpy.gradient`` twice: second order, non-uniform grids allowed). Every row counts as
    independent (``n_independent = n``).
    """

    x: np.ndarray
    t: np.ndarray
    field: np.ndarray  # (runs, nt, nx)

    _INNER = (slice(None), slice(1, -1), slice(2, -2))

    @property
    def u(self) -> np.ndarray:
        return self.field.ravel()

    @property
    def b(self) -> np.ndarray:
        return np.gradient(self.field, self.t, axis=1)[self._INNER].ravel()

    @property
    def n(self) -> int:
        return int(np.prod(self.field[self._INNER].shape))

    @property
    def n_independent(self) -> int:
        return self.n

    def xx(self, values: np.ndarray) -> np.ndarray:
        f = np.asarray(values, float).reshape(self.field.shape)
        return np.gradient(np.gradient(f, self.x, axis=2), self.x, axis=2)[self._INNER].ravel()

    def zero(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, float).reshape(self.field.shape)[self._INNER].ravel()


def strong_system(x: np.ndarray, t: np.ndarray, u: np.ndarray) -> StrongSystem:
    """The strong-form equations for data ``u`` (runs, nt, nx) on grids ``x``, ``t``."""
    return StrongSystem(np.asarray(x, float), np.asarray(t, float), np.asarray(u, float))


def library_columns(system, deg_d: int = 2, deg_r: int = 3) -> np.ndarray:
    r"""The polynomial library on the equations of a form (:class:`StrongSystem` or
    :class:`~.weak.WeakSystem`): columns ``xx(u^{k+1}/(k+1))``, :math:`k \le` ``deg_d`` (the D terms,
    through :math:`G`), then ``zero(u^k)``, :math:`k \le` ``deg_r`` (the R terms); (rows, deg_d + deg_r + 2)."""
    u = system.u
    g_cols = [system.xx(u ** (k + 1) / (k + 1)) for k in range(deg_d + 1)]
    r_cols = [system.zero(p) for p in _powers(u, deg_r)]
    return np.stack(g_cols + r_cols, axis=1)


def fit_poly(system, deg_d: int = 2, deg_r: int = 3) -> PolyFit:
    """Best-subset polynomial regression (:func:`select`) on the equations of a form, with its
    ``n_independent`` rows for the criteria."""
    return select(library_columns(system, deg_d, deg_r), system.b, deg_d + 1, system.n_independent)


def weak_poly(system: WeakSystem, deg_d: int = 2, deg_r: int = 3) -> PolyFit:
    """Weak-form polynomial regression on an assembled :class:`~.weak.WeakSystem` (:func:`fit_poly`)."""
    return fit_poly(system, deg_d, deg_r)


def strong_poly(system: StrongSystem, deg_d: int = 2, deg_r: int = 3) -> PolyFit:
    """Strong-form polynomial regression on a :class:`StrongSystem` (:func:`fit_poly`): finite-difference
    derivatives of the data."""
    return fit_poly(system, deg_d, deg_r)


GLS_SCALES = ((1.0, 1.0), (0.8, 1.0), (1.2, 1.0), (1.0, 0.8), (1.0, 4 / 3))  # x the default widths (x, t)
# GLS only where the estimated noise explains the weak residual: expected noise part / residual in this range.
# Far below, the residual is quadrature or model error (clean data: 1e-5 to 1e-2 measured); far above, the
# difference estimate of the noise took up the field itself (clean 26 x 26 data: 7 to 19). 1 % and 5 %
# noise on the built-in grid: 0.82 to 0.97.
NOISE_SHARE = (0.5, 2.0)
_CHUNK = 4096  # data columns whitened at a time (bounds the memory on large grids)


def noise_sigma(u: np.ndarray) -> float:
    r"""Standard deviation of additive white noise in ``u`` (runs, nt, nx).

    The fourth differences of white noise of variance :math:`\sigma^2` have variance
    :math:`70 \sigma^2`, while those of a smooth field sampled finely are small; the median absolute
    fourth difference (a robust scale, divided by 0.6745) is taken along t and along x, and the smaller
    of the two is returned (a coarse direction only adds the field's own differences).
    """
    u = np.asarray(u, float)
    est = [np.median(np.abs(np.diff(u, n=4, axis=a))) / 0.6745 / np.sqrt(70) for a in (1, 2) if u.shape[a] > 4]
    return float(min(est)) if est else 0.0


def weak_gls(fit: PolyFit, x: np.ndarray, t: np.ndarray, u: np.ndarray, sigma: float | None = None,
             scales=GLS_SCALES, compensate: bool = True) -> PolyFit:
    r"""``fit``'s terms, their coefficients re-estimated by bias-compensated generalised least squares.

    The weak equations are those of several test-function widths together (``scales`` times
    :func:`~.weak.default_widths`: the default and its four neighbours, 1877 test functions on the
    built-in grid). Noise :math:`\varepsilon` at the data (white, standard deviation ``sigma``,
    default :func:`noise_sigma`) perturbs the equations by :math:`L \varepsilon`, where
    :math:`L = W_t + W_{xx} \operatorname{diag} D(u) + W_0 \operatorname{diag} R'(u)` to first
    order, with ``fit``'s closures. The equations are whitened with :math:`C = L L^T` (per run: runs
    are independent). Because the noise sits in the regressors too (they are functions of the data),
    least squares is biased (errors in variables), and whitening amplifies the bias
    (``compensate=False`` gives the uncompensated estimate). The bias is removed to first order in :math:`\sigma^2` by subtracting the noise's
    expected contribution to the normal equations (errors-in-variables "bias-compensated least
    squares"): :math:`(X^T X - \sigma^2 T)\,a = X^T b - \sigma^2 \tau` with
    :math:`T_{jk} = \operatorname{tr}(J_j^T J_k)`, :math:`\tau_j = \operatorname{tr}(J_j^T B)`,
    :math:`J_j` the derivative of column :math:`j` with respect to the noise and :math:`B = -W_t` that
    of the right-hand side, all whitened; one pass, with :math:`L` from ``fit``'s closures. The term
    selection and its criteria (``rss``, ``bic``, ``aic``) stay ``fit``'s.

    Returns ``fit`` with the new coefficients and ``weighting = "gls"``; where the noise's expected
    share of the weak residual lies outside :data:`NOISE_SHARE` (clean data, or a noise estimate that
    took up the field itself), ``fit``'s coefficients unchanged, with that share recorded.
    """
    from scipy.linalg import cholesky, solve_triangular
    from scipy.sparse import diags, vstack

    from .weak import default_widths, operators

    x, t = np.asarray(x, float), np.asarray(t, float)
    u = np.asarray(u, float)
    runs = u.reshape(len(u), len(t) * len(x))
    sigma = noise_sigma(u) if sigma is None else float(sigma)
    c = np.concatenate([fit.d, fit.r])
    n_d, support = len(fit.d), np.nonzero(c)[0]
    hx, ht = default_widths(x, t)
    mx, mt = 5 * float(np.max(np.diff(x))), 5 * float(np.max(np.diff(t)))
    parts = []
    for sx, st in scales:
        try:
            parts.append(operators(x, t, max(sx * hx, mx), max(st * ht, mt)))
        except FieldlabError:  # a width that does not fit in the domain
            continue
    W_t, W_xx, W_0 = (vstack(ws, format="csr") for ws in zip(*parts))
    P = np.polynomial.polynomial
    d_poly, dr_poly = c[:n_d], P.polyder(c[n_d:])
    kind = ["xx" if j < n_d else "0" for j in support]
    pairs = {tuple(sorted(p)) for i, a in enumerate(kind) for p in [(a, "t")] + [(a, b) for b in kind[i:]]}
    rows = []
    for ur in runs:  # column j: W_xx u^(j+1)/(j+1) (D terms) or W_0 u^(j-n_d) (R terms); noise derivative W diag(g_j)
        g = [ur**j if j < n_d else (j - n_d) * ur ** max(j - n_d - 1, 0) for j in support]
        X = np.stack([W_xx @ (ur ** (j + 1) / (j + 1)) if j < n_d else W_0 @ ur ** (j - n_d) for j in support], axis=1)
        L = W_t + W_xx @ diags(P.polyval(ur, d_poly)) + W_0 @ diags(P.polyval(ur, dr_poly))
        rows.append((g, X, -(W_t @ ur), L))
    X_all, b_all = np.concatenate([r[1] for r in rows]), np.concatenate([r[2] for r in rows])
    rss = float(np.sum((X_all @ np.linalg.lstsq(X_all, b_all, rcond=None)[0] - b_all) ** 2))
    noise_share = sigma**2 * sum(float(r[3].multiply(r[3]).sum()) for r in rows) / max(rss, 1e-300)
    if not NOISE_SHARE[0] <= noise_share <= NOISE_SHARE[1]:
        return dataclasses.replace(fit, noise_share=noise_share)
    k = len(support)
    M, v, T, tau = np.zeros((k, k)), np.zeros(k), np.zeros((k, k)), np.zeros(k)
    for g, X, b, L in rows:
        C = (L @ L.T).toarray()
        C[np.diag_indices_from(C)] += 1e-10 * np.trace(C) / len(C)
        chol = cholesky(C, lower=True)
        Xw, bw = solve_triangular(chol, X, lower=True), solve_triangular(chol, b, lower=True)
        M += Xw.T @ Xw
        v += Xw.T @ bw
        for lo in range(0, L.shape[1], _CHUNK):  # diagonals of W_a^T C^-1 W_b, block by block
            cols = slice(lo, lo + _CHUNK)
            K = {a: solve_triangular(chol, W[:, cols].toarray(), lower=True) for a, W in (("t", W_t), ("xx", W_xx), ("0", W_0))}
            diag = {p: np.einsum("ri,ri->i", K[p[0]], K[p[1]]) for p in pairs}
            for i in range(k):
                gi = g[i][cols]
                tau[i] -= gi @ diag[tuple(sorted((kind[i], "t")))]
                for j in range(i, k):
                    T[i, j] += (gi * g[j][cols]) @ diag[tuple(sorted((kind[i], kind[j])))]
    T = np.triu(T) + np.triu(T, 1).T
    A, rhs = (M - sigma**2 * T, v - sigma**2 * tau) if compensate else (M, v)
    s = np.sqrt(np.diag(M))
    try:  # compensated normal equations must stay positive definite (else the noise level is overestimated)
        np.linalg.cholesky(A / np.outer(s, s))
    except np.linalg.LinAlgError:
        A, rhs = M, v
    coef = np.linalg.solve(A / np.outer(s, s), rhs / s) / s
    full = np.zeros_like(c)
    full[support] = coef
    return dataclasses.replace(fit, d=full[:n_d], r=full[n_d:], weighting="gls", noise_share=noise_share)
