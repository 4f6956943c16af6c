r"""Estimators: how the coefficients (and terms) of a closure are fitted to a :class:`~.forms.System`.

One small interface, ``Estimator.fit(system, structure) -> fit``: ``structure`` is what the
estimator is told to keep fixed, ``fit`` what it returns.

- :class:`BestSubset`: structure, the library (the system's columns); fit, a
  :class:`~.poly.PolyFit` (terms and coefficients), chosen by BIC over the system's ``n_eff``
  independent rows;
- :class:`CompensatedGLS`: structure, a :class:`~.poly.PolyFit` (its nonzero terms); fit, the same
  terms with coefficients by bias-compensated generalised least squares;
- :class:`VariableProjection`: structure, a :class:`Pair` of families with starting fits; fit, the
  :class:`Pair` refitted on the weak equations (least squares on the weak residual);
- :class:`OutputError`: structure, a :class:`Pair`; fit, a :class:`~.symbolic.Polished` (the pair
  fitted to the data by re-simulation, least squares on the data misfit).

The mathematics lives where it always did: :func:`~.poly.select` (best subset),
:func:`~.poly.weak_gls` (compensated GLS), :func:`~.symbolic.refit` (variable projection) and
:func:`~.symbolic.polish_pair` (output error, with the Jacobian from the solver's forward
sensitivities or from re-simulations); these classes give them one calling convention so that a
method reads as form + library + estimator(s) (:mod:`.methods`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import poly, symbolic
from .forms import System


@dataclasses.dataclass(frozen=True)
class Pair:
    """A symbolic closure's structure: the family of each law and a fit of it (its current coefficients)."""

    FD: symbolic.Family
    fd: symbolic.SymbolicFit
    FR: symbolic.Family
    fr: symbolic.SymbolicFit

    @classmethod
    def of_poly(cls, fit: poly.PolyFit) -> "Pair":
        """A polynomial fit's nonzero terms as families (:func:`~.symbolic.polynomial`)."""
        (FD, fd), (FR, fr) = symbolic.polynomial(np.asarray(fit.d)), symbolic.polynomial(np.asarray(fit.r))
        return cls(FD, fd, FR, fr)

    def laws(self) -> tuple:
        """``(D, R)`` as numpy callables."""
        return self.fd.fn(), self.fr.fn()


class Estimator:
    """``fit(system, structure) -> fit`` (see the module notes)."""

    def fit(self, system: System, structure=None):
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class BestSubset(Estimator):
    """Every subset of the columns with at least one D and one R term, by least squares; the lowest BIC kept
    (:func:`~.poly.select`, with the system's ``n_eff`` independent rows)."""

    def fit(self, system: System, structure=None) -> poly.PolyFit:
        return poly.select(system.columns, system.target, system.n_d, system.n_eff)


@dataclasses.dataclass(frozen=True)
class CompensatedGLS(Estimator):
    """The terms of a polynomial fit, their coefficients by bias-compensated generalised least squares over
    several test-function widths (:func:`~.poly.weak_gls`; ``sigma`` default the estimated noise level)."""

    sigma: float | None = None
    scales: tuple = poly.GLS_SCALES
    compensate: bool = True

    def fit(self, system: System, structure: poly.PolyFit) -> poly.PolyFit:
        ds = system.ds
        return poly.weak_gls(structure, ds.x, ds.t, ds.u, self.sigma, self.scales, self.compensate)


@dataclasses.dataclass(frozen=True)
class VariableProjection(Estimator):
    """Every coefficient of a :class:`Pair` refitted on the weak equations folded onto states
    (:meth:`~.forms.System.table`): linear ones solved, nonlinear ones optimised from the pair's values
    and ``starts`` random points (:func:`~.symbolic.refit`). Returns the refitted :class:`Pair`, or
    ``None`` when no start keeps D positive."""

    starts: int = 2
    seed: int = 0

    def fit(self, system: System, structure: Pair) -> Pair | None:
        out = symbolic.refit(structure.fd, structure.fr, system.table(), starts=self.starts, seed=self.seed,
                             families=(structure.FD, structure.FR))
        if out is None:
            return None
        return dataclasses.replace(structure, fd=out[0], fr=out[1])


@dataclasses.dataclass(frozen=True)
class OutputError(Estimator):
    """All coefficients of a :class:`Pair` fitted to the data by re-simulating them, with ``modes`` smooth
    corrections of each run's first snapshot (:func:`~.symbolic.polish_pair`, at most ``steps``
    evaluations of the misfit). ``jacobian``: ``"sensitivities"`` (forward sensitivities of the
    solver) or ``"differences"`` (one re-simulation per parameter); default
    :data:`~.symbolic.JACOBIAN`."""

    bc: str = "neumann"
    steps: int = 2 * symbolic.POLISH_STEPS
    modes: int = symbolic.START_MODES
    jacobian: str | None = None

    def fit(self, system: System, structure: Pair) -> symbolic.Polished:
        ds = system.ds
        grid = np.linspace(*system.range, 256)
        return symbolic.polish_pair(structure.fd, structure.fr, ds.x, ds.t, ds.u, self.bc, grid, self.steps,
                                    modes=self.modes, families=(structure.FD, structure.FR), jacobian=self.jacobian)

    def fit_poly(self, system: System, fit: poly.PolyFit) -> poly.PolyFit:
        """The terms of a polynomial ``fit`` with their coefficients fitted by :meth:`fit`; its criteria are
        those of the data misfit over the system's ``n_eff`` data."""
        pair = Pair.of_poly(fit)
        P = self.fit(system, pair)
        d, r = np.zeros_like(fit.d), np.zeros_like(fit.r)
        d[fit.d != 0], r[fit.r != 0] = P.D.a, P.R.a
        aic, bic = poly.information(P.sse, int(system.n_eff), pair.fd.n_params + pair.fr.n_params)
        return poly.PolyFit(d=d, r=r, rss=P.sse, n=int(system.n_eff), bic=bic, aic=aic)
