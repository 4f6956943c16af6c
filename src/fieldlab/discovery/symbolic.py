r"""Compress learned closures into symbolic families, chosen by an information criterion.

Every family is linear in some coefficients and nonlinear in a few others:
:math:`f(u) = \sum_j a_j\,\beta_j(u; q)`. Given the nonlinear parameters :math:`q` the best
:math:`a` is a linear least-squares solve (variable projection), so the nonlinear fit is over
:math:`q` alone (``scipy.optimize.least_squares`` in log-space, within bounds, from several
seeded starts; the best is kept).

Families for :math:`D(u)` (``n`` integer, fitted by trying 2, 3, 4):

================== ===========================================
linear             :math:`a + b u`
quadratic          :math:`a + b u + c u^2`
michaelis-menten   :math:`a + b\,u / (K + u)`
hill               :math:`a + b\,u^n / (K^n + u^n)`
exp-saturation     :math:`a + b\,(1 - e^{-c u})`
rational           :math:`(a + b u + c u^2) / (1 + d u + e u^2)`, :math:`d, e \ge 0`
================== ===========================================

Families for :math:`R(u)`, written as growth laws with :math:`R(0) = 0` (population, chemistry):

================== ===========================================
logistic           :math:`a u + b u^2`
cubic              :math:`a u + b u^2 + c u^3`
michaelis-menten   :math:`a\,u / (K + u) + c u`
hill               :math:`a\,u^n / (K^n + u^n) + c u`
exp                :math:`u\,(a e^{-b u} + c)`
rational           :math:`(a u + b u^2) / (1 + d u)`, :math:`d \ge 0`
================== ===========================================

Bounds on nonlinear parameters are relative to :math:`U = \max |u|` over the data
(:math:`K \in [10^{-3} U, 10^2 U]`, rates in :math:`[10^{-2}/U, 10^2/U]`).

Compression fits each family to the surrogate sampled on the observed range (the surrogate is the
only thing stage 2 sees: this is what makes the bias-inheritance ratio meaningful). The *choice*
among the fitted pairs (D family, R family) is made on the data: the weak-form residual of the
pair gives :math:`\mathrm{RSS}` over the test functions, of which :math:`n` are independent
(:attr:`~.weak.WeakSystem.n_independent`, as in :mod:`.poly`), and
:math:`\mathrm{AIC} = n \log(\mathrm{RSS}/n) + 2k`, :math:`\mathrm{BIC} = n \log(\mathrm{RSS}/n) + k \log n`,
with :math:`k` all coefficients of both laws (a Hill exponent counts). Pairs whose :math:`D` is not
positive on the observed range are rejected.

:func:`refine` (the ``neural-symbolic-refit`` method) goes further: the compressed fits only
start a weak-form refit of each pair's coefficients; the leading pairs are then fitted to the data
by re-simulating them with the initial condition estimated too (output error, :func:`polish_pair`),
and the pair is chosen on that misfit (see its docstring).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

from ..errors import FieldlabError
from .poly import information

U = sp.Symbol("u")
N = sp.Symbol("n", integer=True, positive=True)


@functools.lru_cache(maxsize=None)
def _template(text: str):
    """``(expr, linear symbols, nonlinear symbols, basis functions)`` of a family template (cached)."""
    a = {f"a{i}": sp.Symbol(f"a{i}") for i in range(8)}
    q = {f"q{i}": sp.Symbol(f"q{i}", positive=True) for i in range(4)}
    expr = sp.sympify(text, locals={"u": U, "n": N, **a, **q})
    lin = tuple(s for s in a.values() if s in expr.free_symbols)
    nonlin = tuple(s for s in q.values() if s in expr.free_symbols)
    cols = [sp.diff(expr, s) for s in lin]
    if any(c.free_symbols & set(lin) for c in cols) or sp.simplify(expr - sum(s * c for s, c in zip(lin, cols))) != 0:
        raise FieldlabError(f"family template '{text}' must be linear in its coefficients a0, a1, ... (no constant "
                            "term outside them).")
    fns = [sp.lambdify((U, *nonlin, N), c, "numpy") for c in cols]
    return expr, lin, nonlin, fns


@functools.lru_cache(maxsize=None)
def _derivatives(text: str):
    """``(d/du of each basis function, [d/dq_k of each basis function for each q_k])`` of a template, lambdified."""
    expr, lin, nonlin, _ = _template(text)
    cols = [sp.diff(expr, s) for s in lin]
    args = (U, *nonlin, N)
    du = [sp.lambdify(args, sp.diff(c, U), "numpy") for c in cols]
    dq = [[sp.lambdify(args, sp.diff(c, q), "numpy") for c in cols] for q in nonlin]
    return du, dq


@dataclasses.dataclass(frozen=True)
class Family:
    r"""A family of laws written once, as a SymPy ``template`` in ``u``: linear coefficients ``a0, a1, ...``,
    nonlinear parameters ``q0, q1, ...`` (positive, fitted in log-space within ``bounds``) and an integer
    exponent ``n`` (tried over ``exponents``). The numerical basis, one column :math:`\partial f/\partial a_j`
    per linear coefficient, is derived from the template by ``sympy.diff`` and ``sympy.lambdify``, so the
    formula and the numbers cannot disagree.

    ``bounds``: per nonlinear parameter ``(kind, lo, hi)``, relative to :math:`U = \max|u|` over the data:
    ``"K"`` (times U), ``"rate"`` (over U), ``"rate2"`` (over U^2) or ``"exponent"`` (absolute).
    """

    name: str
    template: str
    bounds: tuple = ()
    exponents: tuple = (None,)

    def basis(self, u, q, n) -> list:
        r"""The columns :math:`\partial f / \partial a_j` at ``u`` for nonlinear parameters ``q`` and exponent ``n``."""
        u = np.asarray(u, float)
        fns = _template(self.template)[3]
        return [np.broadcast_to(np.asarray(f(u, *q, n if n is not None else 1), float), u.shape) for f in fns]

    def basis_du(self, u, q, n) -> list:
        r"""The derivatives :math:`\partial^2 f / \partial a_j \partial u` of the basis at ``u`` (from the template)."""
        u = np.asarray(u, float)
        return [np.broadcast_to(np.asarray(f(u, *q, n if n is not None else 1), float), u.shape)
                for f in _derivatives(self.template)[0]]

    def basis_dq(self, u, q, n) -> list:
        r"""``[k][j]``: :math:`\partial^2 f / \partial a_j \partial q_k` at ``u`` (from the template)."""
        u = np.asarray(u, float)
        return [[np.broadcast_to(np.asarray(f(u, *q, n if n is not None else 1), float), u.shape) for f in fs]
                for fs in _derivatives(self.template)[1]]

    def expr(self, a, q, n) -> sp.Expr:
        """The law with coefficients ``a``, nonlinear parameters ``q`` and exponent ``n`` as a SymPy expression."""
        e, lin, nonlin, _ = _template(self.template)
        subs = dict(zip(lin, a)) | dict(zip(nonlin, q)) | ({N: n} if n is not None else {})
        return e.xreplace(subs)


D_FAMILIES = [
    Family("linear", "a0 + a1*u"),
    Family("quadratic", "a0 + a1*u + a2*u**2"),
    Family("michaelis-menten", "a0 + a1*u/(q0 + u)", (("K", 1e-3, 1e2),)),
    Family("hill", "a0 + a1*u**n/(q0**n + u**n)", (("K", 1e-3, 1e2),), (2, 3, 4)),
    Family("exp-saturation", "a0 + a1*(1 - exp(-q0*u))", (("rate", 1e-2, 1e2),)),
    Family("rational", "(a0 + a1*u + a2*u**2)/(1 + q0*u + q1*u**2)", (("rate", 1e-4, 1e2), ("rate2", 1e-4, 1e2))),
    Family("power", "a0 + a1*u**q0", (("exponent", 0.3, 4.0),)),
    Family("sigmoid", "a0 + a1/(1 + exp(-q0*(u - q1)))", (("rate", 1.0, 1e2), ("K", 1e-2, 1.5))),
]

R_FAMILIES = [
    Family("logistic", "a0*u + a1*u**2"),
    Family("cubic", "a0*u + a1*u**2 + a2*u**3"),
    Family("michaelis-menten", "a0*u/(q0 + u) + a1*u", (("K", 1e-3, 1e2),)),
    Family("hill", "a0*u**n/(q0**n + u**n) + a1*u", (("K", 1e-3, 1e2),), (2, 3, 4)),
    Family("exp", "u*(a0*exp(-q0*u) + a1)", (("rate", 1e-2, 1e2),)),
    Family("rational", "(a0*u + a1*u**2)/(1 + q0*u)", (("rate", 1e-4, 1e2),)),
]


def polynomial(coefficients) -> tuple[Family, "SymbolicFit"]:
    """The polynomial with the nonzero ``coefficients`` (``c[k]`` multiplies ``u**k``) as a family of its
    terms and a fit of that family, for :func:`polish_pair`."""
    powers = tuple(k for k, c in enumerate(coefficients) if c != 0)
    family = Family("polynomial", " + ".join(f"a{j}*u**{k}" for j, k in enumerate(powers)) or "0*u")
    return family, _make_fit(family, [coefficients[k] for k in powers], (), None, float("nan"))


@dataclasses.dataclass(frozen=True)
class SymbolicFit:
    family: str
    expr: sp.Expr
    n_params: int
    rmse: float  # against the fitted samples
    a: tuple = ()  # linear coefficients
    q: tuple = ()  # nonlinear parameters
    exponent: int | None = None  # Hill exponent

    @property
    def text(self) -> str:
        return str(self.expr)

    @property
    def latex(self) -> str:
        return sp.latex(self.expr)

    def fn(self) -> Callable:
        return lambdify(self.expr)


def lambdify(expr) -> Callable:
    """A numpy function of ``u`` that returns an array of ``u``'s shape (constants included)."""
    f = sp.lambdify(U, expr, "numpy")
    return lambda u: np.broadcast_to(np.asarray(f(np.asarray(u, float)), float), np.shape(u)).copy()


def _scale(kind: str, scale: float) -> float:
    return {"K": scale, "rate": 1 / scale, "rate2": 1 / scale**2, "exponent": 1.0}[kind]


def fit_family(family: Family, u: np.ndarray, y: np.ndarray, *, starts: int = 6, seed: int = 0) -> SymbolicFit:
    """Least-squares fit of one family to samples ``(u, y)``."""
    scale = float(np.max(np.abs(u))) or 1.0
    bounds = family.bounds
    lo_log, hi_log = _log_bounds(family, scale)
    rng = np.random.default_rng(seed)
    y_norm = float(np.linalg.norm(y)) or 1.0
    best = None
    for n in family.exponents:

        def linear(q):
            B = np.stack(family.basis(u, q, n), axis=1)
            a, *_ = np.linalg.lstsq(B, y, rcond=None)
            return a, B @ a - y

        if not bounds:
            a, r = linear(())
            cand = [(float(r @ r), a, (), n)]
        else:
            cand = []
            for s in range(starts):
                z0 = (lo_log + hi_log) / 2 if s == 0 else rng.uniform(lo_log, hi_log)
                with np.errstate(all="ignore"):
                    res = least_squares(lambda z: linear(np.exp(z))[1] / y_norm, z0, bounds=(lo_log, hi_log), method="trf")
                q = np.exp(res.x)
                a, r = linear(q)
                if np.all(np.isfinite(r)):
                    cand.append((float(r @ r), a, tuple(q), n))
        for c in cand:
            if best is None or c[0] < best[0]:
                best = c
    if best is None:
        raise FieldlabError(f"the '{family.name}' family could not be fitted (non-finite values everywhere).")
    rss, a, q, n = best
    return _make_fit(family, a, q, n, float(np.sqrt(rss / len(u))))


def _make_fit(family: Family, a, q, n, rmse: float) -> SymbolicFit:
    expr = family.expr([sp.Float(v, 8) for v in a], [sp.Float(v, 8) for v in q], n)
    k = len(a) + len(q) + (n is not None)
    return SymbolicFit(family.name, expr, k, rmse, tuple(map(float, a)), tuple(map(float, q)), n)


def _log_bounds(family: Family, scale: float) -> tuple[np.ndarray, np.ndarray]:
    b = [(lo * _scale(k, scale), hi * _scale(k, scale)) for k, lo, hi in family.bounds]
    return (np.log([x[0] for x in b]), np.log([x[1] for x in b])) if b else (np.zeros(0), np.zeros(0))


def integral(fn: Callable, lo: float, u: np.ndarray, order: int = 16) -> np.ndarray:
    """:math:`\\int_{lo}^{u} f(s)\\,ds` by Gauss-Legendre quadrature, vectorised over ``u``."""
    xi, w = np.polynomial.legendre.leggauss(order)
    half = (u - lo) / 2
    nodes = lo + half[:, None] * (1 + xi[None, :])
    return half * (fn(nodes.reshape(-1)).reshape(nodes.shape) @ w)


@dataclasses.dataclass(frozen=True)
class Selection:
    D: SymbolicFit
    R: SymbolicFit
    aic: float
    bic: float
    table: list  # every pair tried: dict(D, R, k, rss, aic, bic)
    fits_D: list = dataclasses.field(default_factory=list)  # compress: every D family's fit
    fits_R: list = dataclasses.field(default_factory=list)
    polished: list = dataclasses.field(default_factory=list)  # refine: (row, Polished) per polished pair, best first

    def ties(self, criterion: str = "bic", within: float | None = None) -> list:
        """The polished pairs other than the chosen one whose ``criterion`` is within ``within`` (default
        :data:`TIE`) of the best: laws that the data do not tell apart from the chosen ones."""
        within = TIE if within is None else within
        if not self.polished:
            return []
        best = self.polished[0][0][criterion]
        return [(row, P) for row, P in self.polished[1:] if row[criterion] - best < within]


def compress(D_fn: Callable, R_fn: Callable, system, lo: float, hi: float, *, criterion: str = "bic",
             seed: int = 0, samples: int = 200) -> Selection:
    """Fit every family to the learned ``D_fn``/``R_fn`` on [lo, hi]; choose the pair by AIC or BIC on the weak form."""
    if criterion not in ("aic", "bic"):
        raise FieldlabError(f"criterion must be 'aic' or 'bic', not '{criterion}'.")
    grid = np.linspace(lo, hi, samples)
    d_fits = [fit_family(f, grid, D_fn(grid), seed=seed) for f in D_FAMILIES]
    r_fits = [fit_family(f, grid, R_fn(grid), seed=seed) for f in R_FAMILIES]
    u, n = system.u, system.n
    G_cols = {}
    for d in d_fits:
        fn = d.fn()
        G_cols[d.family] = None if np.min(fn(grid)) <= 0 else system.xx(integral(fn, lo, u))
    R_cols = {r.family: system.zero(r.fn()(u)) for r in r_fits}
    table, best = [], None
    for d in d_fits:
        for r in r_fits:
            if G_cols[d.family] is None:
                continue
            res = G_cols[d.family] + R_cols[r.family] - system.b
            rss = float(res @ res)
            k = d.n_params + r.n_params
            aic, bic = information(rss, n, k, system.n_independent)
            table.append({"D": d.family, "R": r.family, "k": k, "rss": rss, "aic": aic, "bic": bic})
            score = bic if criterion == "bic" else aic
            if best is None or score < best[0]:
                best = (score, d, r, aic, bic)
    if best is None:
        raise FieldlabError("no symbolic D(u) stays positive on the observed range.")
    _, d, r, aic, bic = best
    return Selection(d, r, aic, bic, table, d_fits, r_fits)


class _StateTable:
    """The weak equations folded onto an equispaced grid of states over [lo, hi].

    A law enters the weak equations only through its values at the data, which are interpolated
    linearly from ``nodes`` grid states (relative error about :math:`h^2 f''/8`, 1e-7 here):
    ``A_G @ G(grid) + A_R @ R(grid) ≈ b``. :math:`G = \\int_{lo}^{u} D` on the grid is a cumulative
    sum of 4-point Gauss-Legendre integrals per interval (exact for polynomials of degree 7).
    """

    def __init__(self, system, lo: float, hi: float, nodes: int = 1025):
        self.grid = np.linspace(lo, hi, nodes)
        (self.A_G, self.A_R), self.b = system.fold(self.grid), system.b
        xi, w = np.polynomial.legendre.leggauss(4)
        h = self.grid[1] - self.grid[0]
        self._gl_nodes = (self.grid[:-1, None] + h * (1 + xi[None, :]) / 2).reshape(-1)
        self._gl_w = h * w / 2

    def integral(self, values_at_gl: np.ndarray) -> np.ndarray:
        per = values_at_gl.reshape(-1, len(self._gl_w)) @ self._gl_w
        return np.concatenate([[0.0], np.cumsum(per)])

    def subset(self, rows) -> "_StateTable":
        """The same table restricted to the weak equations ``rows`` (an index array or a boolean mask)."""
        out = object.__new__(_StateTable)
        out.__dict__.update(self.__dict__)
        out.A_G, out.A_R, out.b = self.A_G[rows], self.A_R[rows], self.b[rows]
        return out


def _family(name: str, families) -> Family:
    return next(f for f in families if f.name == name)


def refit(d: SymbolicFit, r: SymbolicFit, table: _StateTable, *, starts: int = 2, seed: int = 0,
          families: tuple[Family, Family] | None = None):
    """Refit every coefficient of the pair (``d``, ``r``) on the weak equations, starting from their values.

    Variable projection again: for given nonlinear parameters of both laws the linear coefficients
    solve a least-squares problem over the test functions; the nonlinear ones are optimised in
    log-space within the family bounds, from the compressed values and ``starts`` random points
    (Hill exponents: the compressed one). Fits whose D is not positive on the grid are discarded.
    Returns ``(D fit, R fit, rss)`` or ``None`` when no start gives a positive D. ``families``: the
    :class:`Family` of each fit when it is not one of :data:`D_FAMILIES`, :data:`R_FAMILIES`.
    """
    fd, fr = families or (_family(d.family, D_FAMILIES), _family(r.family, R_FAMILIES))
    scale = float(np.max(np.abs(table.grid))) or 1.0
    (ld, hd), (lr, hr) = _log_bounds(fd, scale), _log_bounds(fr, scale)
    lo_log, hi_log = np.concatenate([ld, lr]), np.concatenate([hd, hr])
    nq = len(ld)
    g, gl, b = table.grid, table._gl_nodes, table.b
    b_norm = float(np.linalg.norm(b)) or 1.0

    def solve(z):
        q = np.exp(z)
        qd, qr = q[:nq], q[nq:]
        cols = [table.A_G @ table.integral(f) for f in fd.basis(gl, qd, d.exponent)]
        cols += [table.A_R @ f for f in fr.basis(g, qr, r.exponent)]
        C = np.stack(cols, axis=1)
        norms = np.linalg.norm(C, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        a, *_ = np.linalg.lstsq(C / norms, b, rcond=None)
        a = a / norms
        return a, C @ a - b

    z_start = np.log(np.clip(np.array(d.q + r.q, float), np.exp(lo_log), np.exp(hi_log))) if nq + len(lr) else np.zeros(0)
    rng = np.random.default_rng(seed)
    best = None
    for s in range(starts + 1):
        if len(z_start) == 0:
            z = z_start
        else:
            z0 = z_start if s == 0 else rng.uniform(lo_log, hi_log)
            with np.errstate(all="ignore"):
                z = least_squares(lambda z: solve(z)[1] / b_norm, z0, bounds=(lo_log, hi_log), method="trf").x
        with np.errstate(all="ignore"):
            a, res = solve(z)
        if not np.all(np.isfinite(res)):
            continue
        q = np.exp(z)
        na = len(d.a)
        fit_d = _make_fit(fd, a[:na], q[:nq], d.exponent, float("nan"))
        if np.min(fit_d.fn()(g)) <= 0:
            continue
        rss = float(res @ res)
        if best is None or rss < best[2]:
            best = (fit_d, _make_fit(fr, a[na:], q[nq:], r.exponent, float("nan")), rss)
        if len(z_start) == 0:
            break
    return best


@dataclasses.dataclass(frozen=True)
class Polished:
    """A pair after :func:`polish_pair`: its fits, their data misfit, and how the initial condition was treated."""

    D: SymbolicFit
    R: SymbolicFit
    sse: float
    start: tuple  # (xs, u0): the simulation grid and the (estimated) initial condition on it, (runs, len(xs))
    response: np.ndarray | None = None  # orthonormal basis (data, modes) of the misfit's response to the modes


JACOBIANS = ("sensitivities", "differences")
JACOBIAN = "sensitivities"  # the output-error Jacobian (docs/results/discovery-refit-cost.md)
# Tolerance of the sensitivity simulations: a Jacobian needs no more (the misfit itself is simulated at 1e-7);
# on a test problem (301 nodes, 13 parameters) it gave them to 7e-7 relative against a solve at rtol 1e-10.
SENSITIVITY_RTOL = 1e-5


def polish_pair(fd: SymbolicFit, fr: SymbolicFit, x, t, u, bc: str, grid: np.ndarray, max_nfev: int, *,
                start: tuple | None = None, modes: int = 0, response: np.ndarray | None = None,
                families: tuple[Family, Family] | None = None, jacobian: str | None = None) -> Polished:
    r"""Least-squares fit of all parameters of (fd, fr) to the data ``u`` (runs, nt, nx) by re-simulating
    them (output error).

    The residual :math:`r` is :func:`~.validate.data_rollout` minus the data, from ``start``
    (default: the data's first snapshots, :func:`~.validate.simulation_start`); every run is
    re-simulated from its own start and the runs are fitted together. The observed first
    snapshot carries the same noise as any other, and a closure fitted from it absorbs that noise.
    Two ways to estimate the initial condition as well:

    - ``modes > 0``: it is ``start`` plus ``modes`` smooth corrections
      (:func:`~.validate.start_modes`) fitted together with the laws, per run (a run's corrections
      move only its own simulation). The result carries
      ``response``, an orthonormal basis :math:`Q` of the misfit's response to the corrections
      (the Jacobian's columns at the solution);
    - ``response`` given: the corrections are eliminated linearly (variable projection), the
      misfit being :math:`\lVert (I - QQ^T) r \rVert^2`: exact when the response to the start
      does not depend on the laws, which holds to first order between pairs of nearly equal laws,
      at no extra simulation.

    The Jacobian :math:`\partial r / \partial p` (``jacobian``, default :data:`JACOBIAN`):
    ``"sensitivities"``, the forward sensitivities of the solver integrated with each run's
    simulation (:func:`~.solver.simulate1d_sensitivities`; the laws' parameter derivatives come
    from the family templates), one augmented simulation per run; or ``"differences"``, one
    re-simulation per parameter (forward differences, relative step ``1e-5``; a run's corrections
    re-simulate only that run). The sensitivities are integrated at the looser tolerance
    :data:`SENSITIVITY_RTOL`: a Jacobian needs fewer digits than the misfit. Their cost: ``benchmarks/discovery_refit_cost.py``.

    Starts from the given coefficients and takes at most ``max_nfev`` evaluations; trust-region
    steps only lower the misfit, so the result is never worse than the start. A D that is not
    positive on ``grid``, or a failed simulation, counts as a very poor fit. ``families``: the
    :class:`Family` of each fit when it is not one of :data:`D_FAMILIES`, :data:`R_FAMILIES` (for
    example :func:`polynomial`).
    """
    from .validate import data_rollout, simulation_start, start_modes

    jacobian = JACOBIAN if jacobian is None else jacobian
    if jacobian not in JACOBIANS:
        raise FieldlabError(f"jacobian must be one of {', '.join(JACOBIANS)}; got '{jacobian}'.")
    FD, FR = families or (_family(fd.family, D_FAMILIES), _family(fr.family, R_FAMILIES))
    u = np.asarray(u, float)
    runs = u.shape[0]
    sizes = [len(fd.a), len(fd.q), len(fr.a), len(fr.q)]
    p0 = np.concatenate([fd.a, np.log(fd.q), fr.a, np.log(fr.q)])  # every family has linear coefficients
    cuts = np.cumsum(sizes)
    xs, u0 = simulation_start(x, u[:, 0, :], bc) if start is None else start
    modes_xs = start_modes(xs, modes, bc)
    big = np.full(u.size, 10 * float(np.max(np.abs(u))))
    per_run = u.size // runs

    def unpack(p):
        ad, qd, ar, qr, c = np.split(p, cuts)
        v0 = np.stack([v + modes_xs @ cj for v, cj in zip(u0, c.reshape(runs, modes))])
        return ad, np.exp(qd), ar, np.exp(qr), v0

    def laws(p):
        ad, qd, ar, qr, v0 = unpack(p)

        def D(v):
            return sum(a * b for a, b in zip(ad, FD.basis(np.asarray(v, float), qd, fd.exponent)))

        def R(v):
            return sum(a * b for a, b in zip(ar, FR.basis(np.asarray(v, float), qr, fr.exponent)))

        return D, R, v0

    def misfit(p, run=None):  # re-simulation minus data, of every run or of one
        D, R, v0 = laws(p)
        data, v0 = (u, v0) if run is None else (u[run:run + 1], v0[run:run + 1])
        with np.errstate(all="ignore"):
            if not np.min(D(grid)) > 0:
                return big[:data.size]
            try:
                return (data_rollout(D, R, x, t, data, bc, start=(xs, v0)) - data).ravel()
            except FieldlabError:
                return big[:data.size]

    last = {}  # the latest evaluation: the Jacobian is taken where the misfit was just evaluated

    def resid(p):
        key = p.tobytes()
        if key not in last:
            r = misfit(p)
            last.clear()
            last[key] = r if response is None else r - response @ (response.T @ r)
        return last[key]

    n_law = len(p0)

    def differences(p):  # scipy's '2-point' with diff_step 1e-5, but a run's corrections move only that run
        f0, J = resid(p), np.zeros((u.size, p.size))
        for k in range(p.size):
            sign, p1 = (1.0 if p[k] >= 0 else -1.0), p.copy()
            p1[k] += 1e-5 * sign * abs(p[k])
            if p1[k] == p[k]:  # a zero parameter: scipy's fallback step
                p1[k] = p[k] + np.sqrt(np.finfo(float).eps) * sign * max(1.0, abs(p[k]))
            h = p1[k] - p[k]
            if k < n_law or response is not None:
                J[:, k] = (resid(p1) - f0) / h
            else:
                run = (k - n_law) // modes
                rows = slice(run * per_run, (run + 1) * per_run)
                J[rows, k] = (misfit(p1, run) - f0[rows]) / h
        return J

    same = len(xs) == len(x) and np.allclose(xs, x)
    to_data = np.eye(len(x)) if same else np.stack([np.interp(x, xs, e) for e in np.eye(len(xs))], axis=1)

    def sensitivities(p):
        from .solver import simulate1d_sensitivities

        ad, qd, ar, qr, _ = unpack(p)
        D, R, v0 = laws(p)
        na, nq = len(ad), len(qd)
        n_p = n_law + modes

        def derivative(F, a, q, n):
            return lambda v: sum(c * b for c, b in zip(a, F.basis_du(np.asarray(v, float), q, n)))

        def by_theta(F, a, q, n, first):  # rows of d law / d p for the law parameters starting at ``first``
            def f(v):
                out = np.zeros((n_p, np.size(v)))
                out[first:first + len(a)] = F.basis(v, q, n)
                for k, col in enumerate(F.basis_dq(v, q, n)):  # log-parameters: q_k d/dq_k
                    out[first + len(a) + k] = q[k] * sum(c * b for c, b in zip(a, col))
                return out
            return f

        dD, dR = derivative(FD, ad, qd, fd.exponent), derivative(FR, ar, qr, fr.exponent)
        D_p, R_p = by_theta(FD, ad, qd, fd.exponent, 0), by_theta(FR, ar, qr, fr.exponent, na + nq)
        S0 = np.zeros((n_p, len(xs)))
        S0[n_law:] = modes_xs.T
        J = np.zeros((u.size, p.size))
        with np.errstate(all="ignore"):
            if not np.min(D(grid)) > 0:
                return J
            for j in range(runs):
                try:
                    _, S = simulate1d_sensitivities(D, R, dD, dR, D_p, R_p, v0[j], S0, xs, t, bc,
                                                    (u[j, 0, 0], u[j, 0, -1]), rtol=SENSITIVITY_RTOL,
                                                    atol=1e-3 * SENSITIVITY_RTOL)
                except FieldlabError:
                    return np.zeros((u.size, p.size))
                Sj = np.einsum("tkx,ix->tik", S, to_data).reshape(per_run, n_p)  # (nt * nx, parameters)
                rows = slice(j * per_run, (j + 1) * per_run)
                J[rows, :n_law] = Sj[:, :n_law]
                J[rows, n_law + j * modes:n_law + (j + 1) * modes] = Sj[:, n_law:]
        return J if response is None else J - response @ (response.T @ J)

    jac = sensitivities if jacobian == "sensitivities" else differences
    scale = np.maximum(np.abs(p0), 1e-2 * float(np.max(np.abs(p0))))
    scale = np.concatenate([scale, np.full(modes * runs, 1e-3 * float(np.max(np.abs(u))))])
    res = least_squares(resid, np.concatenate([p0, np.zeros(modes * runs)]), jac=jac, x_scale=scale,
                        max_nfev=max_nfev)
    ad, qd, ar, qr, v0 = unpack(res.x)
    if modes:
        response = np.linalg.qr(np.asarray(res.jac)[:, len(p0):])[0]
    return Polished(_make_fit(FD, ad, qd, fd.exponent, fd.rmse), _make_fit(FR, ar, qr, fr.exponent, fr.rmse),
                    float(2 * res.cost), (xs, v0), response)


POLISH = 5  # pairs polished on the data misfit before the choice (refine)
POLISH_STEPS = 15  # least-squares evaluations per polished pair
START_MODES = 8  # smooth corrections of the first snapshot estimated with the leading pair (refine)
TIE = 2.0  # criterion differences below this are no real evidence for one pair over another (Kass & Raftery 1995)


def refine(selection: Selection, system, *, criterion: str = "bic", bc: str = "neumann", seed: int = 0,
           polish: int | None = None, polish_steps: int | None = None, modes: int | None = None) -> Selection:
    r"""Refit every compressed pair on the weak form (:func:`refit`), then fit the leading pairs to the
    data by re-simulating them (output error), and choose by that misfit.

    ``system``: a weak-form :class:`~.forms.System` (:class:`~.forms.WeakForm`): its equations folded
    onto the states of its ``range`` (:meth:`~.forms.System.table`) for the weak-form refits, its data
    set (``u`` of shape (runs, nt, nx)) for the re-simulations.

    Stage 2 of ``neural-symbolic`` fits each family to the surrogate, so it keeps the surrogate's
    errors (the bias-inheritance ratio measures this). Here the compressed fits are only starting
    points:

    1. each pair's coefficients are refitted on the weak equations, and the pair re-simulates the
       data from their first snapshot (:func:`~.validate.data_rollout`);
    2. the leading pair by that misfit is fitted to the data (:func:`polish_pair`, ``2 *
       polish_steps`` evaluations): all its coefficients and ``modes`` (default
       :data:`START_MODES`) smooth corrections of the noisy first snapshot together;
    3. every pair's misfit at its weak-form coefficients is evaluated again from that estimated
       initial condition, with the corrections eliminated linearly (``response`` in
       :func:`polish_pair`), and the pairs ranked by it;
    4. the ``polish - 1`` next distinct pairs (``polish`` default :data:`POLISH`; pairs with the same
       misfit are the same laws in other parameters) are fitted to the data the same way,
       ``polish_steps`` (default :data:`POLISH_STEPS`) evaluations each;
    5. the pair is chosen among the polished ones by
       :math:`\mathrm{AIC} = N \log(\mathrm{SSE}/N) + 2k` or
       :math:`\mathrm{BIC} = N \log(\mathrm{SSE}/N) + k \log N` over the :math:`N` data, with
       :math:`k` the coefficients of both laws (the initial condition is common to all), and keeps
       its output-error coefficients. The polished pairs are kept (``Selection.polished``, best
       first); those within :data:`TIE` of the best (:meth:`Selection.ties`) fit the data as well,
       and the pipeline reports how far their laws and forecasts differ from the chosen ones.

    Observation noise is independent across the data, so this likelihood counts the evidence
    correctly, where the weak-form residual has overlapping rows; but only at each pair's best
    misfit (at the weak-form coefficients a wrong family can win), and only with the initial
    condition estimated for each pair (an initial condition estimated with one pair favours
    that pair). Pairs whose simulation
    fails are discarded. ``polish=0`` chooses on the weak-form coefficients' misfit from the first
    snapshot and keeps them.
    """
    from .validate import data_rollout

    if criterion not in ("aic", "bic"):
        raise FieldlabError(f"criterion must be 'aic' or 'bic', not '{criterion}'.")
    polish_n = POLISH if polish is None else polish
    steps = POLISH_STEPS if polish_steps is None else polish_steps
    modes = START_MODES if modes is None else modes
    table_w = system.table()
    x, t, u = system.ds.x, system.ds.t, system.ds.u
    n = int(np.size(u))

    def score(row, sse):
        row["sse"] = sse
        row["aic"], row["bic"] = information(sse, n, row["k"])

    rows, fits = [], {}
    for d in selection.fits_D:
        for r in selection.fits_R:
            out = refit(d, r, table_w, seed=seed)
            if out is None:
                continue
            fd, fr, rss = out
            try:
                sim = data_rollout(fd.fn(), fr.fn(), x, t, u, bc)
            except FieldlabError:
                continue
            row = {"D": fd.family, "R": fr.family, "k": fd.n_params + fr.n_params, "weak_rss": rss}
            score(row, float(np.sum((sim - u) ** 2)))
            rows.append(row)
            fits[fd.family, fr.family] = (fd, fr)
    if not rows:
        raise FieldlabError("no refitted symbolic pair keeps D(u) positive and re-simulates the data.")
    rows.sort(key=lambda row: row[criterion])
    if polish_n == 0:
        d, r = fits[rows[0]["D"], rows[0]["R"]]
        return Selection(d, r, rows[0]["aic"], rows[0]["bic"], rows)
    grid, lead = table_w.grid, rows[0]
    first = polish_pair(*fits[lead["D"], lead["R"]], x, t, u, bc, grid, 2 * steps, modes=modes)
    polished = {(lead["D"], lead["R"]): first}
    if modes:
        Q = first.response
        for row in rows:
            fd, fr = fits[row["D"], row["R"]]
            row["sse_snapshot"] = row["sse"]
            try:
                res = (data_rollout(fd.fn(), fr.fn(), x, t, u, bc, start=first.start) - u).ravel()
            except FieldlabError:
                score(row, float("inf"))
                continue
            score(row, float(np.sum((res - Q @ (Q.T @ res)) ** 2)))
        rows.sort(key=lambda row: row[criterion])
    candidates = [lead]
    for row in rows:
        if len(candidates) >= polish_n or not np.isfinite(row["sse"]):
            break
        if any(np.isclose(row["sse"], c["sse"], rtol=1e-6, atol=0) for c in candidates):
            continue  # an equal misfit: the same laws in another family's parameters
        candidates.append(row)
    for row in candidates:
        key = row["D"], row["R"]
        if key not in polished:
            polished[key] = polish_pair(*fits[key], x, t, u, bc, grid, steps, start=first.start,
                                        response=first.response)
        fits[key] = polished[key].D, polished[key].R
        row.update(sse_weak=row["sse"], polished=True)
        score(row, polished[key].sse)
    candidates.sort(key=lambda row: row[criterion])
    best = candidates[0]
    weights = np.exp(-(np.array([row[criterion] for row in candidates]) - best[criterion]) / 2)
    for row, w in zip(candidates, weights / weights.sum()):
        row["weight"] = float(w)  # the pair's share of the evidence among the polished ones
    d, r = fits[best["D"], best["R"]]
    return Selection(d, r, best["aic"], best["bic"], rows,
                     polished=[(row, polished[row["D"], row["R"]]) for row in candidates])
