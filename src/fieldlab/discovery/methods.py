r"""The built-in discovery methods, each a function ``run(ctx) -> Found`` registered in :mod:`.registry`.

A method is a composition: a *form* (:mod:`.forms`: strong, weak, or the trajectories themselves)
builds a regression system from the data set, a *library* (polynomials, or the symbolic families
of :mod:`.symbolic`) gives its candidate terms, and one or more *estimators* (:mod:`.estimators`:
best subset, compensated GLS, variable projection, output error) fit it:

========================= ============== ================= ==============================================
method                    form           library           estimators
========================= ============== ================= ==============================================
``strong-poly``           strong         polynomials       best subset (BIC)
``weak-poly``             weak           polynomials       best subset (BIC), then compensated GLS
``weak-poly-refit``       trajectory     weak-poly's terms output error
``neural``                weak (wide)    networks          :func:`~.neural.fit_neural`
``neural-symbolic``       weak (wide)    families          fit to the networks, chosen by AIC/BIC
``neural-symbolic-refit`` weak, trajectory families        variable projection, then output error
                                                           (:func:`~.symbolic.refine`)
========================= ============== ================= ==============================================

A method reads the data set and the options from the :class:`Context` (``ctx.ds``, ``ctx.u`` of
shape ``(runs, nt, nx)``, ``ctx.criterion``, ``ctx.seed``, ``ctx.bc``) and the results of the
methods it declared it needs through ``ctx.get(name)``; it returns a :class:`Found`.
Intermediate objects that other methods reuse (a weak system, a neural fit, a symbolic selection)
travel in ``Found.info`` under keys that start with ``_``; they are never written to
``closures.json``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import sympy as sp

from ..errors import FieldlabError
from . import poly, symbolic
from .data import Dataset
from .estimators import BestSubset, CompensatedGLS, OutputError
from .forms import StrongForm, TrajectoryForm, WeakForm
from .neural import SMOOTH_PER_RESIDUAL, fit_neural
from .registry import REGISTRY


@dataclasses.dataclass
class Found:
    """One method's closures: numpy callables, and formulas where the method has them."""

    method: str
    D: Callable
    R: Callable
    D_expr: str | None
    R_expr: str | None
    family: dict | None
    seconds: float
    info: dict = dataclasses.field(default_factory=dict)

    def record(self) -> dict:
        latex = {k: (sp.latex(sp.sympify(v, locals={"u": symbolic.U})) if v else None)
                 for k, v in (("D", self.D_expr), ("R", self.R_expr))}
        info = {k: v for k, v in self.info.items() if not k.startswith("_")}
        return {"family": self.family, "D": self.D_expr, "R": self.R_expr, "D_latex": latex["D"],
                "R_latex": latex["R"], "seconds": round(self.seconds, 3), **info}


class Context:
    """The data, the options and the results computed so far, for the methods of one discovery.

    ``u`` is ``ds.u``, ``(runs, nt, nx)``. ``get(name)`` runs a registered method once (its needs first) and caches its :class:`Found`;
    ``log(name, text)`` logs only for the methods asked for.
    """

    def __init__(self, ds: Dataset, wanted, *, criterion: str = "bic", seed: int = 0, bc: str | None = None,
                 log: Callable[[str], None] = lambda s: None):
        self.ds, self.wanted = ds, tuple(wanted)
        self.x, self.t = ds.x, ds.t
        self.u = ds.u
        self.lo, self.hi = float(ds.u.min()), float(ds.u.max())
        self.criterion, self.seed = criterion, seed
        self.bc = bc or ds.meta.get("bc", "neumann")
        self._log, self.found = log, {}
        self._running: list[str] = []

    def get(self, name: str) -> Found:
        if name in self.found:
            return self.found[name]
        if name not in REGISTRY:
            raise FieldlabError(f"unknown method '{name}'; choose from: {', '.join(REGISTRY)}.")
        if name in self._running:
            raise FieldlabError(f"methods {' -> '.join(self._running + [name])} need each other in a cycle.")
        spec = REGISTRY[name]
        self._running.append(name)
        try:
            for need in spec.needs:
                self.get(need)
            self.found[name] = spec.load()(self)
        finally:
            self._running.pop()
        return self.found[name]

    def log(self, name: str, text: str) -> None:
        if name in self.wanted:
            self._log(text)


def poly_found(name: str, fit: poly.PolyFit, seconds: float) -> Found:
    """A :class:`Found` of a polynomial fit (its coefficients in ``info``)."""
    d_expr, r_expr = fit.expressions()
    return Found(name, fit.D, fit.R, d_expr, r_expr, {"D": f"polynomial (degree <= {len(fit.d) - 1})",
                 "R": f"polynomial (degree <= {len(fit.r) - 1})"}, seconds,
                 {"coefficients": {"D": fit.d.tolist(), "R": fit.r.tolist()}, "bic": fit.bic, "aic": fit.aic})


def symbolic_found(name: str, sel: symbolic.Selection, criterion: str, seconds: float) -> Found:
    """A :class:`Found` of a symbolic selection (its families kept as ``_structure`` for :mod:`.assess`)."""
    structure = (symbolic._family(sel.D.family, symbolic.D_FAMILIES), sel.D,
                 symbolic._family(sel.R.family, symbolic.R_FAMILIES), sel.R)
    return Found(name, sel.D.fn(), sel.R.fn(), sel.D.text, sel.R.text, {"D": sel.D.family, "R": sel.R.family}, seconds,
                 {"criterion": criterion, "aic": sel.aic, "bic": sel.bic,
                  "candidates": sorted(sel.table, key=lambda r: r[criterion])[:10], "_structure": structure,
                  "_selection": sel})


# ----------------------------------------------------------------------------------------- methods


def strong_poly(ctx: Context) -> Found:
    """``strong-poly``: strong form, polynomial library, best subset."""
    t0 = time.perf_counter()
    fit = BestSubset().fit(StrongForm().system(ctx.ds))
    f = poly_found("strong-poly", fit, time.perf_counter() - t0)
    ctx.log("strong-poly", f"strong-poly: D = {f.D_expr}, R = {f.R_expr}")
    return f


def weak_poly(ctx: Context) -> Found:
    """``weak-poly``: weak form, polynomial library, terms by best subset (BIC), coefficients by compensated GLS."""
    t0 = time.perf_counter()
    system = WeakForm().system(ctx.ds)
    fit = CompensatedGLS().fit(system, BestSubset().fit(system))
    f = poly_found("weak-poly", fit, time.perf_counter() - t0)
    f.info |= {"test_functions": system.n, "weighting": fit.weighting, "noise_share": fit.noise_share,
               "_fit": fit, "_system": system.equations, "_regression": system}
    ctx.log("weak-poly", f"weak-poly: D = {f.D_expr}, R = {f.R_expr} ({system.n} test functions)")
    return f


def weak_poly_refit(ctx: Context) -> Found:
    """``weak-poly-refit``: weak-poly's terms, coefficients by output error on the trajectories."""
    weak = ctx.get("weak-poly")
    t0 = time.perf_counter()
    fit = OutputError(bc=ctx.bc).fit_poly(TrajectoryForm().system(ctx.ds), weak.info["_fit"])
    f = poly_found("weak-poly-refit", fit, time.perf_counter() - t0 + weak.seconds)
    ctx.log("weak-poly-refit", f"weak-poly-refit: D = {f.D_expr}, R = {f.R_expr}")
    return f


def neural(ctx: Context) -> Found:
    """``neural``: :func:`~.neural.fit_neural` on the wide test functions, scaled by a weak polynomial fit there."""
    from .weak import WIDE_WIDTHS

    t0 = time.perf_counter()
    lo, hi = ctx.lo, ctx.hi
    grid = np.linspace(lo, hi, 256)
    wide_system = WeakForm(WIDE_WIDTHS).system(ctx.ds)  # the networks fit the noise of narrow supports
    wide, wide_fit = wide_system.equations, BestSubset().fit(wide_system)
    d_scale = float(np.mean(np.abs(wide_fit.D(grid)))) or 1e-2
    r_scale = float(np.mean(np.abs(wide_fit.R(grid) / np.where(np.abs(grid) > 1e-12, grid, 1e-12)))) or 1e-2
    noise_proxy = wide_fit.rss / float(wide.b @ wide.b)  # relative weak residual of the polynomial fit
    nf = fit_neural(wide, lo, hi, d_scale, r_scale, seed=ctx.seed, smooth=SMOOTH_PER_RESIDUAL * noise_proxy)
    f = Found("neural", nf.D, nf.R, None, None, None, time.perf_counter() - t0,
              {"loss": nf.loss, "steps": nf.steps, "_wide": wide})
    ctx.log("neural", f"neural: weak-form loss {nf.loss:.3e} after {nf.steps} steps ({f.seconds:.1f} s)")
    return f


def neural_symbolic(ctx: Context) -> Found:
    """``neural-symbolic``: :func:`~.symbolic.compress` of the neural surrogates."""
    nn = ctx.get("neural")
    t0 = time.perf_counter()
    sel = symbolic.compress(nn.D, nn.R, nn.info["_wide"], ctx.lo, ctx.hi, criterion=ctx.criterion, seed=ctx.seed)
    f = symbolic_found("neural-symbolic", sel, ctx.criterion, time.perf_counter() - t0 + nn.seconds)
    ctx.log("neural-symbolic", f"neural-symbolic: D = {sel.D.text} ({sel.D.family}), R = {sel.R.text} ({sel.R.family})")
    return f


def neural_symbolic_refit(ctx: Context) -> Found:
    """``neural-symbolic-refit``: :func:`~.symbolic.refine` of the compressed families, with the ties reported."""
    from .pipeline import ties

    comp, system = ctx.get("neural-symbolic"), ctx.get("weak-poly").info["_regression"]
    t0 = time.perf_counter()
    t, crit = ctx.t, ctx.criterion
    ref = symbolic.refine(comp.info["_selection"], system, criterion=crit, bc=ctx.bc, seed=ctx.seed)
    found = symbolic_found("neural-symbolic-refit", ref, crit, 0.0)
    first = ctx.u[0, 0]  # (the first run's) first snapshot
    found.info["ties"] = ties(ref, crit, ctx.lo, ctx.hi, t, ctx.bc, (float(first[0]), float(first[-1])))
    found.seconds = comp.seconds + time.perf_counter() - t0
    ctx.log("neural-symbolic-refit",
            f"neural-symbolic-refit: D = {ref.D.text} ({ref.D.family}), R = {ref.R.text} ({ref.R.family})")
    for tie in found.info["ties"]:
        ctx.log("neural-symbolic-refit",
                f"  not decided by the data: {tie['family']['D']} / {tie['family']['R']} ({crit.upper()} "
                f"+{tie['delta']:.1f}); forecasts differ by {tie['forecast']['at_horizon']:.2g} at t = "
                f"{tie['forecast']['t_horizon']:.3g}")
    return found
