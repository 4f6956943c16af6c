r"""Weak-form polynomial regression for one or two species in one or two space dimensions.

The model, for species :math:`s` of the fields :math:`w = (u[, v])` on a line or a rectangle:

.. math::
    s_t = \nabla\cdot\big(D_s(s)\,\nabla s\big) + R_s(w),
    \qquad D_s(s) = \sum_{k \le p_D} d_{s,k}\, s^k,
    \qquad R_s(w) = \sum_{|e| \le p_R} r_{s,e}\, u^{e_1} v^{e_2} ,

each species diffusing by its own (constant or polynomial) diffusivity, the reactions coupling them
(defaults :math:`p_D = 2`, :math:`p_R = 3`: 3 diffusion terms and 10 reaction monomials for two
species, 4 for one). With :math:`G_s(s) = \sum_k d_{s,k} s^{k+1}/(k+1)` the flux is
:math:`\Delta G_s(s)`, and the weak form of :mod:`.weak2d` (the one of :mod:`.weak` in 1-D) gives,
per test function :math:`\varphi` and per species, one equation *linear* in that species'
coefficients:

.. math::
    \sum_k d_{s,k} \iint \frac{s^{k+1}}{k+1}\,\Delta\varphi
      + \sum_e r_{s,e} \iint u^{e_1} v^{e_2}\,\varphi = -\iint s\,\varphi_t .

The species' equations share the test functions but not the unknowns, so each species is a
regression of its own (the coupling is in the columns: the reaction monomials hold both fields).

**Selection** (:func:`best_subset`): as in :func:`~.poly.select`, every subset of the library that
keeps at least one diffusion and one reaction term is fitted by least squares on unit-norm columns,
and the subset with the lowest BIC :math:`n_{eff}\log(\mathrm{RSS}/n) + k\log n_{eff}` (or AIC) is
kept, with :math:`n_{eff}` the number of test functions with disjoint supports
(:func:`~.weak2d.independent_equations`) over all runs. Two species have :math:`7 \times 1023`
subsets per species; each is solved on the :math:`m \times m` triangular factor of one QR
decomposition of the full library (:math:`\lVert X_S c - b\rVert^2 = \lVert R_S c - Q^T b\rVert^2 +
\lVert (I - QQ^T) b\rVert^2`), so the search costs a fraction of a second.

No errors-in-variables compensation is applied (unlike :func:`~.poly.weak_gls` in 1-D): the noise
enters a monomial column through its mean, :math:`E[(u+\varepsilon)^2 v] = u^2 v + \sigma^2 v`, a
bias of order :math:`\sigma^2` (2.5e-5 relative at 1 % noise on fields of order 1), and the
correlation of the noise in :math:`-\iint s\varphi_t` with that in :math:`\iint s\varphi` vanishes
because :math:`\int\varphi\varphi_t\,dt = 0`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np

from ..errors import FieldlabError
from .data import Dataset
from .poly import information
from .weak2d import default_widths_nd, independent_equations, space_time_operators

__all__ = ["SpeciesLaw", "SystemFit", "best_subset", "fit_system", "monomials", "weak_library", "weak_poly_2d",
           "weak_poly_species"]


def monomials(n_species: int, degree: int) -> list[tuple[int, ...]]:
    """Exponents ``e`` of the monomials :math:`\\prod_j w_j^{e_j}` with :math:`|e| \\le` ``degree``, by total degree
    then lexicographically from the first species (two species, degree 2: 1, u, v, u^2, uv, v^2)."""
    out = []
    for total in range(degree + 1):
        out += sorted((e for e in itertools.product(range(total + 1), repeat=n_species) if sum(e) == total), reverse=True)
    return out


def monomial_text(e: tuple[int, ...], names: tuple[str, ...]) -> str:
    parts = [n if k == 1 else f"{n}**{k}" for n, k in zip(names, e) if k]
    return "*".join(parts)


def _poly_text(coefs, terms) -> str:
    out = [f"{c:.6g}" + (f"*{m}" if m else "") for c, m in zip(coefs, terms) if c != 0]
    return " + ".join(out).replace("+ -", "- ") if out else "0"


@dataclasses.dataclass(frozen=True)
class SpeciesLaw:
    """One species' law: ``D(s) = sum_k d[k] s^k`` and ``R(w) = sum_e r[e] prod_j w_j^e_j``, and its fit."""

    name: str
    names: tuple[str, ...]  # all species, in the order of the reaction's arguments
    d: np.ndarray
    r: np.ndarray
    exponents: tuple[tuple[int, ...], ...]
    rss: float
    n: int
    bic: float
    aic: float

    def D(self, s):
        """The diffusivity at this species' values ``s`` (any shape)."""
        return np.polynomial.polynomial.polyval(np.asarray(s, float), self.d)

    def R(self, *fields):
        """The reaction at the fields ``(u[, v])`` (arrays of one shape)."""
        fields = [np.asarray(f, float) for f in fields]
        out = np.zeros(np.broadcast(*fields).shape)
        for c, e in zip(self.r, self.exponents):
            if c != 0:
                out = out + c * np.prod([f**k for f, k in zip(fields, e)], axis=0)
        return out

    @property
    def D_expr(self) -> str:
        return _poly_text(self.d, [monomial_text((k,), (self.name,)) for k in range(len(self.d))])

    @property
    def R_expr(self) -> str:
        return _poly_text(self.r, [monomial_text(e, self.names) for e in self.exponents])

    def coefficients(self) -> dict[str, float]:
        """``{"D:<term>": d, "R:<term>": r}`` for the nonzero terms (``"1"`` for the constant)."""
        out = {f"D:{monomial_text((k,), (self.name,)) or '1'}": float(c) for k, c in enumerate(self.d) if c != 0}
        out |= {f"R:{monomial_text(e, self.names) or '1'}": float(c) for e, c in zip(self.exponents, self.r) if c != 0}
        return out


@dataclasses.dataclass(frozen=True)
class SystemFit:
    """The laws of all species, the weak equations' size and half-widths."""

    laws: tuple[SpeciesLaw, ...]
    rows: int
    n_independent: float
    widths: tuple[float, ...]  # (h_x[, h_y], h_t)

    def reaction(self, w: np.ndarray) -> np.ndarray:
        """``(R_s(w))_s`` for fields stacked on the first axis, ``(S, ...)``."""
        return np.stack([law.R(*w) for law in self.laws])


def best_subset(X: np.ndarray, b: np.ndarray, n_d: int, n_eff: float, criterion: str = "bic") -> tuple:
    """``(coef, rss, aic, bic)``: the best subset (by ``criterion``) of the first ``n_d`` columns (at least one)
    and the others (at least one), each fitted by least squares on unit-norm columns via one QR factor."""
    n, m = X.shape
    if n <= m:
        raise FieldlabError(f"too few weak equations ({n}) for {m} library terms: give more data points.")
    norms = np.linalg.norm(X, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    Q, Rq = np.linalg.qr(X / norms)
    qb = Q.T @ b
    rest = float(np.sum((b - Q @ qb) ** 2))
    best = None
    d_sets = [s for k in range(1, n_d + 1) for s in itertools.combinations(range(n_d), k)]
    r_sets = [s for k in range(1, m - n_d + 1) for s in itertools.combinations(range(n_d, m), k)]
    for sd in d_sets:
        for sr in r_sets:
            cols = list(sd + sr)
            A = Rq[:, cols]
            coef, *_ = np.linalg.lstsq(A, qb, rcond=None)
            rss = float(np.sum((A @ coef - qb) ** 2)) + rest
            aic, bic = information(rss, n, len(cols), n_eff)
            score = bic if criterion == "bic" else aic
            if best is None or score < best[0]:
                best = (score, cols, coef, rss, aic, bic)
    _, cols, coef, rss, aic, bic = best
    full = np.zeros(m)
    full[cols] = coef / norms[cols]
    return full, rss, aic, bic


def weak_library(ds: Dataset, deg_d: int = 2, deg_r: int = 3, widths=None) -> tuple:
    """The weak equations of every species of ``ds``: ``(systems, n_eff, rows, widths)`` with ``systems`` one
    ``(X, b)`` per species (columns: the ``deg_d + 1`` diffusion terms, then the reaction monomials of
    :func:`monomials`), ``n_eff`` the independent equations over all runs, ``rows`` the test functions over all
    runs and ``widths`` the half-widths ``(h_x[, h_y], h_t)`` (default :func:`~.weak2d.default_widths_nd`)."""
    axes = (ds.x,) if ds.y is None else (ds.x, ds.y)
    hs, ht = widths or default_widths_nd(axes, ds.t)
    W_t, W_lap, W_0 = space_time_operators(axes, ds.t, hs, ht)
    fields = [getattr(ds, k).reshape((-1, ds.t.size * int(np.prod(ds.space_shape)))) for k in ds.species]  # (runs, N)
    runs = len(fields[0])
    exps = monomials(len(ds.species), deg_r)
    n_eff = independent_equations(axes, ds.t, hs, ht) * runs
    reaction = [np.concatenate([W_0 @ np.prod([f[j] ** k for f, k in zip(fields, e)], axis=0) for j in range(runs)])
                for e in exps]
    systems = []
    for own in fields:
        diffusion = [np.concatenate([W_lap @ (own[j] ** (k + 1) / (k + 1)) for j in range(runs)]) for k in range(deg_d + 1)]
        b = np.concatenate([-(W_t @ own[j]) for j in range(runs)])
        systems.append((np.stack(diffusion + reaction, axis=1), b))
    return systems, n_eff, W_t.shape[0] * runs, tuple(hs) + (ht,)


def fit_system(ds: Dataset, deg_d: int = 2, deg_r: int = 3, criterion: str = "bic", widths=None) -> SystemFit:
    """Weak-form polynomial laws of every species of ``ds`` (1-D or 2-D, one or two species), terms by ``criterion``.

    ``widths``: ``((h_x[, h_y]), h_t)`` half-widths (default :func:`~.weak2d.default_widths_nd`).
    """
    names = ds.species
    systems, n_eff, rows, hw = weak_library(ds, deg_d, deg_r, widths)
    exps = monomials(len(names), deg_r)
    laws = []
    for name, (X, b) in zip(names, systems):
        coef, rss, aic, bic = best_subset(X, b, deg_d + 1, n_eff, criterion)
        laws.append(SpeciesLaw(name, names, coef[:deg_d + 1], coef[deg_d + 1:], tuple(exps), rss, len(b), bic, aic))
    return SystemFit(tuple(laws), rows, n_eff, hw)


# ----------------------------------------------------------------------------------------- methods


def weak_poly_2d(ctx):
    """``weak-poly-2d``: one species on a rectangle, :math:`D(u)` and :math:`R(u)` polynomial, by :func:`fit_system`."""
    from .methods import poly_found
    from .poly import PolyFit

    t0 = time.perf_counter()
    fit = fit_system(ctx.ds, criterion=ctx.criterion)
    law = fit.laws[0]
    found = poly_found("weak-poly-2d", PolyFit(d=law.d, r=law.r, rss=law.rss, n=law.n, bic=law.bic, aic=law.aic),
                       time.perf_counter() - t0)
    found.info |= {"test_functions": fit.rows, "independent": fit.n_independent, "_fit": fit}
    ctx.log("weak-poly-2d", f"weak-poly-2d: D = {found.D_expr}, R = {found.R_expr} ({fit.rows} test functions)")
    return found


def weak_poly_species(ctx):
    """``weak-poly-species``: two species (1-D or 2-D), polynomial diffusivities and reactions, by :func:`fit_system`."""
    from .systems import SystemFound

    t0 = time.perf_counter()
    fit = fit_system(ctx.ds, criterion=ctx.criterion)
    found = SystemFound.of("weak-poly-species", fit, time.perf_counter() - t0)
    for law in fit.laws:
        ctx.log("weak-poly-species", f"weak-poly-species: {law.name}: D = {law.D_expr}, R = {law.R_expr}")
    return found
