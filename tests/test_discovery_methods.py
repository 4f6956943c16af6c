"""Discovery methods: weak form, polynomial regression, neural surrogates, symbolic families,
validation, the pipeline and the `discover` command.

Neural training is the costly part: fits here use a short Adam stage (behaviour, not accuracy), and
the pipeline's ``fit_neural`` is replaced by the same short fit, memoised so that the pipeline tests
share one fit.
"""

import functools
import json

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.discovery import methods, pipeline, poly, symbolic, validate
from fieldlab.discovery.cases import (CASES, fine_grid, make_dataset, observation_grid, simulate_truth, training_ic,
                                      validation_ics)
from fieldlab.discovery.data import Dataset, save
from fieldlab.discovery.figures import write_figures
from fieldlab.discovery.forms import WeakForm
from fieldlab.discovery.neural import Surrogate, curvature, fit_neural
from fieldlab.discovery.weak import bump, default_widths, fold, interpolation, trapezoid_weights, weak_system
from fieldlab.errors import FieldlabError
from fieldlab.training.stages import Adam

U = sp.Symbol("u")
SHORT = (Adam(steps=300, lr=1e-2),)  # behaviour only; the default recipe is 2000 + 2000 steps

_NEURAL_CACHE = {}


def _short_fit_neural(system, lo, hi, d_scale, r_scale, *, seed=0, **kw):
    """``fit_neural`` with the short stages, memoised on its inputs (one compile and fit per data set)."""
    key = (hash(system.b.tobytes()), lo, hi, d_scale, r_scale, seed)
    if key not in _NEURAL_CACHE:
        _NEURAL_CACHE[key] = fit_neural(system, lo, hi, d_scale, r_scale, seed=seed, stages=SHORT, chunk=50)
    return _NEURAL_CACHE[key]


# True coefficients: D = sum d_k u^k (k <= 2), R = sum r_k u^k (k <= 3).
TRUE_COEF = {
    "case_a": (np.array([0.01, 0.05, 0.0]), np.array([0.0, 1.0, -1.0, 0.0])),
    "case_b": (np.array([0.01, 0.0, 0.03]), np.array([0.0, 1.0, -1.5, 0.5])),
}


@functools.lru_cache(maxsize=None)
def _system(case, regime="clean", seed=0):
    ds = make_dataset(case, regime, seed)
    return ds, weak_system(ds.x, ds.t, ds.u)


def _range(ds):
    return float(ds.u.min()), float(ds.u.max())


def _coef_errors(fit, case):
    """Relative errors of the nonzero true coefficients; |fitted| of the zero ones relative to the law's scale."""
    d, r = TRUE_COEF[case]
    rel, spurious = [], []
    for got, true in ((fit.d, d), (fit.r, r)):
        nz = true != 0
        rel += list(np.abs(got[nz] - true[nz]) / np.abs(true[nz]))
        spurious += list(np.abs(got[~nz]) / np.max(np.abs(true)))
    return np.array(rel), np.array(spurious)


def _closure_errors(fit, case, ds):
    lo, hi = _range(ds)
    return (validate.closure_error(fit.D, CASES[case].D_fn(), lo, hi),
            validate.closure_error(fit.R, CASES[case].R_fn(), lo, hi))


# ------------------------------------------------------------------------------------------ weak


def test_bump_derivatives_match_finite_differences():
    s = np.linspace(-1.2, 1.2, 2401)
    h = s[1] - s[0]
    psi, d1, d2 = bump(s), bump(s, 1), bump(s, 2)
    assert np.all(psi[np.abs(s) >= 1] == 0) and np.isclose(psi[s.size // 2], 1.0)
    assert np.max(np.abs(np.gradient(psi, h) - d1)) < 1e-5 * np.max(np.abs(d1))
    inner = slice(2, -2)
    assert np.max(np.abs(np.gradient(np.gradient(psi, h), h)[inner] - d2[inner])) < 1e-3 * np.max(np.abs(d2))
    # psi, psi' and psi'' vanish at the ends of the support: no boundary terms in the weak form
    assert np.allclose([bump(np.array([1 - 1e-9]), k)[0] for k in (0, 1, 2)], 0.0, atol=1e-12)
    with pytest.raises(ValueError):
        bump(s, 3)


def test_trapezoid_weights_on_a_non_uniform_grid():
    z = np.sort(np.r_[0.0, np.random.default_rng(0).uniform(0.0, 2.0, 30), 2.0])
    w = trapezoid_weights(z)
    assert np.isclose(w.sum(), 2.0, rtol=0, atol=1e-14)
    assert np.isclose(w @ (3 * z - 1), 4.0, rtol=0, atol=1e-13)  # exact for linear functions
    # the trapezoid rule is not exact for a quadratic, but its error is: sum(dz^3) f'' / 12
    err = w @ z**2 - 8 / 3
    assert err > 0 and np.isclose(err, np.sum(np.diff(z) ** 3) * 2 / 12, rtol=1e-10)


def _by_parts_errors(nx, nt):
    """For a smooth u: -iint u phi_t = iint u_t phi and iint G phi_xx = iint G_xx phi (relative errors)."""
    xi, ti = np.linspace(0, 1, nx), np.linspace(0, 1, nt)
    x, t = (xi + 0.5 * xi**2) / 1.5, 2 * (ti + 0.5 * ti**2) / 1.5  # smoothly stretched, non-uniform
    X, T = np.meshgrid(x, t)
    u = np.exp(-0.5 * T) * (1 + 0.5 * np.sin(2 * np.pi * X))
    u_x = np.exp(-0.5 * T) * np.pi * np.cos(2 * np.pi * X)
    u_xx = -np.exp(-0.5 * T) * 2 * np.pi**2 * np.sin(2 * np.pi * X)
    s = weak_system(x, t, u[None])
    hx, ht = default_widths(x, t)
    per_axis = [int(np.floor((z[-1] - z[0] - 2 * h) / (h / 2) + 1e-9)) + 1 for z, h in ((x, hx), (t, ht))]
    assert (s.hx, s.ht) == (hx, ht) and s.n == per_axis[0] * per_axis[1]
    rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)  # noqa: E731
    ones = np.ones(u.size)
    return (rel(s.b, s.W_0 @ (-0.5 * u).ravel()),
            rel(s.W_xx @ (u**2).ravel(), s.W_0 @ (2 * u_x**2 + 2 * u * u_xx).ravel()),  # G = u^2
            np.max(np.abs(s.W_xx @ ones)) / np.max(np.abs(s.W_xx) @ ones))  # phi_xx integrates to 0


def test_weak_matrices_integrate_by_parts_on_a_non_uniform_grid():
    coarse, fine = _by_parts_errors(121, 101), _by_parts_errors(241, 201)
    assert coarse[0] < 2e-5 and coarse[1] < 1.2e-4  # measured 1.1e-5 and 1.0e-4
    # the test functions are integrated (nearly) exactly, so the free constant of G drops out: what is
    # left comes from support edges inside a grid interval, where Gauss-Legendre meets the cut-off
    assert coarse[2] < 5e-7 and fine[2] < 5e-7  # measured 1.5e-7 and 3e-8 (trapezoid weights: 5.5e-5)
    assert all(f < c / 3.5 for c, f in zip(coarse[:2], fine[:2]))  # data interpolation error second order


def test_weak_system_layout_and_true_closures_satisfy_it():
    ds, s = _system("case_a")
    _, nt, nx = ds.u.shape
    assert (s.hx, s.ht) == pytest.approx((0.15, 0.15))
    # centres half a half-width apart inside [h, L - h]: 10 in x ([0.15, 0.85]), 37 in t ([0.15, 2.85])
    assert s.n == 10 * 37 and s.W_xx.shape == s.W_0.shape == (s.n, nt * nx) and np.array_equal(s.u, ds.u.ravel())
    # each row only weighs nodes whose neighbouring intervals meet its support (compact support)
    for W in (s.W_xx, s.W_0):
        for row in W.reshape(s.n, nt, nx)[::13]:
            ti, xi = np.nonzero(np.abs(row) > 0)
            assert ds.x[xi].max() - ds.x[xi].min() <= 2 * s.hx + 2 * 0.01 + 1e-12
            assert ds.t[ti].max() - ds.t[ti].min() <= 2 * s.ht + 2 * 0.03 + 1e-12
    u = s.u
    G = 0.01 * u + 0.025 * u**2  # integral of D = 0.01 + 0.05 u (the constant drops out)
    R = u * (1 - u)
    rel = np.linalg.norm(s.residual(G, R)) / np.linalg.norm(s.b)
    assert rel < 7e-5  # measured 5.1e-5 (2.9e-5 with the wider (0.2, 0.3) supports; trapezoid on the product: 2.7e-4)
    # the residual discriminates: 10 % too much diffusion is tens of times worse
    assert np.linalg.norm(s.residual(1.1 * G, R)) / np.linalg.norm(s.b) > 30 * rel


def test_weak_system_rejects_too_short_a_domain():
    x, t = np.linspace(0, 1, 8), np.linspace(0, 1, 20)  # 7 spacings < 2 x 5 spacings of one test function
    u = np.outer(np.exp(-t), np.cos(np.pi * x))
    with pytest.raises(FieldlabError, match="shorter than one test function"):
        weak_system(x, t, u[None])
    with pytest.raises(FieldlabError, match="shorter than one test function"):
        weak_system(np.linspace(0, 1, 50), t, np.outer(np.exp(-t), np.ones(50))[None], hx=0.6)


# ------------------------------------------------------------------------------------------ poly


@pytest.mark.parametrize("case", ["case_a", "case_b"])
def test_weak_poly_recovers_clean_coefficients(case):
    ds, s = _system(case)
    fit = poly.weak_poly(s)
    rel, spurious = _coef_errors(fit, case)
    assert rel.max() < 1e-3  # measured 0.017 % (case_a), 0.070 % (case_b)
    assert spurious.max() < 1e-3  # absent terms are dropped by BIC or tiny (measured 3.6e-4 of the scale at most)
    assert fit.n == s.n and np.isfinite(fit.bic)


@pytest.mark.parametrize("case, seed", [
    ("case_a", 0), ("case_a", 1), ("case_a", 2),
    # issue target "within 2 % at 1 % noise": case_b seed 0 misses it (3.2 % on the u^3 coefficient,
    # the right terms; noise at the edge of what these data determine: over 20 seeds 14 are within
    # 2 %, see fieldlab.discovery.weak). With the earlier (0.2, 0.3) supports case_a seed 1 missed
    # (3.2 %) and case_b seed 0 passed. weak-poly-refit meets it there (0.44 %, test below).
    pytest.param("case_b", 0, marks=pytest.mark.xfail(strict=True, reason="3.2 % error on r3 at 1 % noise")),
    ("case_b", 1), ("case_b", 2),
])
def test_weak_poly_at_one_percent_noise(case, seed):
    ds, s = _system(case, "noise1", seed)
    rel, spurious = _coef_errors(poly.weak_poly(s), case)
    assert rel.max() < 0.02  # measured case_a s0-s2 0.49 %, 1.34 %, 0.12 %; case_b s1, s2 0.74 %, 1.29 %
    assert spurious.max() < 0.02


@pytest.mark.parametrize("case, seed", [pytest.param("case_a", 1, marks=pytest.mark.slow), ("case_b", 0)])
def test_weak_poly_refit_at_one_percent_noise(case, seed):
    """The weak form's terms, the coefficients fitted to the data by re-simulation (start estimated)."""
    ds, s = _system(case, "noise1", seed)
    weak = poly.weak_poly(s)
    fit = pipeline.refit_poly(weak, ds.x, ds.t, ds.u)
    assert np.array_equal(fit.d != 0, weak.d != 0) and np.array_equal(fit.r != 0, weak.r != 0)
    rel, spurious = _coef_errors(fit, case)
    # measured 0.42 % (case_a s1, weak form 1.34 %) and 0.44 % (case_b s0, weak form 3.2 %, its xfail above)
    assert rel.max() < 0.01 and rel.max() < _coef_errors(weak, case)[0].max() / 2
    assert fit.n == ds.u.size and fit.rss > 0 and np.isfinite(fit.bic)


def test_strong_poly_is_rough_on_clean_data_and_fails_at_five_percent_noise():
    ds, _ = _system("case_a")
    errD, errR = _closure_errors(poly.strong_poly(poly.strong_system(ds.x, ds.t, ds.u)), "case_a", ds)
    # finite differences in time (dt = 0.03) miss the fast early transient: measured ErrD 0.373, ErrR 0.017
    assert errD < 0.4 and errR < 0.02
    assert errD > 0.1  # ... and that is far worse than the weak form (next line), even without noise
    assert max(_closure_errors(poly.weak_poly(_system("case_a")[1]), "case_a", ds)) < 1e-3
    ds5, s5 = _system("case_a", "noise5", 0)
    sD, sR = _closure_errors(poly.strong_poly(poly.strong_system(ds5.x, ds5.t, ds5.u)), "case_a", ds5)
    wD, wR = _closure_errors(poly.weak_poly(s5), "case_a", ds5)
    # measured: strong ErrD 1.0, ErrR 1.32; weak ErrD 0.56, ErrR 0.0058: at 5 % noise weak R is still
    # good, D is determined by neither (its effect is the smallest in these data)
    assert sD > 0.9 and sR > 0.9
    assert sR > 100 * wR and sD > wD


def test_select_recovers_a_sparse_model_and_rejects_too_few_rows():
    rng = np.random.default_rng(3)
    cols = rng.normal(size=(200, 7)) * np.array([1e-3, 1.0, 1e3, 1.0, 1e-2, 1.0, 1e2])  # scales differ wildly
    c = np.array([500.0, 0.0, 2e-3, 0.0, 100.0, 0.0, -0.01])
    y = cols @ c
    fit = poly.select(cols, y + 1e-3 * np.std(y) * rng.normal(size=200), n_d=3)
    assert np.array_equal(np.r_[fit.d, fit.r] != 0, c != 0)
    assert np.allclose(np.r_[fit.d, fit.r], c, rtol=1e-2)
    assert fit.n == 200 and np.isfinite(fit.aic) and fit.bic > fit.aic  # log(200) > 2: BIC charges more per term
    with pytest.raises(FieldlabError, match="too few equations \\(7\\) for 7 library terms"):
        poly.select(cols[:7], y[:7], n_d=3)


def test_poly_expr_parses_and_evaluates_to_the_polynomial():
    u = np.linspace(-2, 3, 41)
    for c in (np.array([0.01, -0.05, 0.0, 1.25e-7]), np.array([0.0, 1.0, -1.5, 0.5]), np.array([-3.0])):
        text = poly.poly_expr(c)
        expr = sp.sympify(text, locals={"u": U})
        assert expr.free_symbols <= {U} and "+ -" not in text
        assert np.allclose(sp.lambdify(U, expr)(u), np.polynomial.polynomial.polyval(u, c), rtol=1e-6, atol=0)
    assert poly.poly_expr(np.array([0.01, -0.05, 0.0, 1.25e-7])) == "0.01 - 0.05*u + 1.25e-07*u**3"
    assert poly.poly_expr(np.zeros(3)) == "0"


# -------------------------------------------------------------------------------------- symbolic


_FAMILY = {("D", f.name): f for f in symbolic.D_FAMILIES} | {("R", f.name): f for f in symbolic.R_FAMILIES}


@pytest.mark.parametrize("law, family, truth, k", [
    ("D", "michaelis-menten", lambda u: 0.01 + 0.04 * u / (0.3 + u), 3),
    ("D", "hill", lambda u: 0.01 + 0.08 * u**2 / (1 + 4 * u**2), 4),  # case_c: a=0.01, b=0.02, K=0.5, n=2
    ("D", "exp-saturation", lambda u: 0.01 + 0.035 * (1 - np.exp(-2.5 * u)), 3),
    ("R", "michaelis-menten", lambda u: u / (1 + u) - 0.2 * u, 3),
    ("R", "exp", lambda u: u * (1.1 * np.exp(-1.4 * u) - 0.22), 3),
    ("R", "logistic", lambda u: u * (1 - u), 2),
])
def test_fit_family_recovers_known_parameters(law, family, truth, k):
    u = np.linspace(0.05, 0.95, 200)
    fit = symbolic.fit_family(_FAMILY[law, family], u, truth(u))
    assert fit.family == family and fit.n_params == k
    assert fit.rmse < 1e-12 * np.max(np.abs(truth(u)))
    assert fit.expr.free_symbols == {U}
    # recovered parameters, not just a good fit on the sampled range: equal far outside it too
    wide = np.linspace(0.0, 5.0, 101)
    assert np.allclose(fit.fn()(wide), truth(wide), rtol=1e-7, atol=1e-12)


def test_hill_fit_names_its_exponent():
    u = np.linspace(0.05, 0.95, 200)
    fit = symbolic.fit_family(_FAMILY["D", "hill"], u, 0.01 + 0.08 * u**2 / (1 + 4 * u**2))
    assert fit.expr.has(U**2) and not fit.expr.has(U**3) and not fit.expr.has(U**4)
    consts = sorted(float(a) for a in fit.expr.atoms(sp.Float))
    assert np.allclose(consts, [0.01, 0.02, 0.25], rtol=1e-6)  # a, b and K^2 = 0.25


@pytest.mark.parametrize("case, families", [
    # u/(1+u) - 0.2u = (0.8u - 0.2u^2)/(1+u): michaelis-menten and rational are the same function here
    ("case_c", ({"hill"}, {"michaelis-menten", "rational"})),
    ("case_exp", ({"exp-saturation"}, {"exp"})),
])
def test_compress_true_closures_picks_their_families(case, families):
    ds, s = _system(case)
    lo, hi = _range(ds)
    c = CASES[case]
    sel = symbolic.compress(c.D_fn(), c.R_fn(), s, lo, hi)
    assert sel.D.family in families[0] and sel.R.family in families[1]  # measured: hill/rational, exp-saturation/exp
    assert validate.closure_error(sel.D.fn(), c.D_fn(), lo, hi) < 1e-8
    assert validate.closure_error(sel.R.fn(), c.R_fn(), lo, hi) < 1e-8
    for text in (sel.D.text, sel.R.text):
        assert sp.sympify(text, locals={"u": U}).free_symbols == {U}
    best = min(sel.table, key=lambda r: r["bic"])
    assert (best["D"], best["R"]) == (sel.D.family, sel.R.family) and best["bic"] == sel.bic
    assert len(sel.table) == len(symbolic.D_FAMILIES) * len(symbolic.R_FAMILIES)  # every D is positive here


def test_compress_rejects_a_bad_criterion_and_a_non_positive_d():
    ds, s = _system("case_a")
    lo, hi = _range(ds)
    R = CASES["case_a"].R_fn()
    with pytest.raises(FieldlabError, match="criterion must be 'aic' or 'bic', not 'mdl'"):
        symbolic.compress(CASES["case_a"].D_fn(), R, s, lo, hi, criterion="mdl")
    with pytest.raises(FieldlabError, match="no symbolic D\\(u\\) stays positive"):
        symbolic.compress(lambda u: -0.01 - 0.05 * u, R, s, lo, hi, samples=40)


def _perturbed_selection(case, ds, s, factor_d=1.1, factor_r=0.9):
    """Compression of deliberately wrong closures (D 10 % too large, R 10 % too small)."""
    lo, hi = _range(ds)
    c = CASES[case]
    D, R = c.D_fn(), c.R_fn()
    return symbolic.compress(lambda u: factor_d * D(u), lambda u: factor_r * R(u), s, lo, hi)


def test_refit_repairs_a_wrong_start_on_clean_data():
    ds, s = _system("case_c")
    lo, hi = _range(ds)
    sel = _perturbed_selection("case_c", ds, s)
    c = CASES["case_c"]
    d0 = next(f for f in sel.fits_D if f.family == "hill")
    r0 = next(f for f in sel.fits_R if f.family == "michaelis-menten")
    assert validate.closure_error(d0.fn(), c.D_fn(), lo, hi) > 0.09  # the start is 10 % off
    fd, fr, rss = symbolic.refit(d0, r0, symbolic._StateTable(s, lo, hi))
    assert (fd.family, fr.family, fd.exponent) == ("hill", "michaelis-menten", 2)
    # measured 1.2e-4 (D): the data, not the start, decide
    assert validate.closure_error(fd.fn(), c.D_fn(), lo, hi) < 1e-3
    assert validate.closure_error(fr.fn(), c.R_fn(), lo, hi) < 1e-3
    assert rss / float(s.b @ s.b) < 1e-8
    # a family that cannot stay positive is refused: D = a + b u with the data pulling it negative
    bad = symbolic.SymbolicFit("linear", -0.01 - 0.05 * U, 2, 0.0, (-0.01, -0.05), ())
    tbl = symbolic._StateTable(s, lo, hi)
    neg = symbolic.refit(bad, r0, tbl)
    assert neg is None or np.min(neg[0].fn()(np.linspace(lo, hi, 50))) > 0


@pytest.mark.slow
def test_refine_chooses_by_re_simulating_the_data():
    ds, s = _system("case_c")
    lo, hi = _range(ds)
    sel = _perturbed_selection("case_c", ds, s)
    # a lighter polish than the defaults (6 evaluations, 4 start corrections: half the time); the
    # defaults gave the same families and closure errors within 1e-6 (measured 2026-12-03)
    ref = symbolic.refine(sel, WeakForm().system(ds), polish_steps=6, modes=4)
    c = CASES["case_c"]
    # both D families contain the truth (rational with d = 0 is hill with n = 2), both R families
    # too; on noise-free data the misfit left is the solver's, which a looser family absorbs best
    # after the polish (measured: rational / michaelis-menten)
    assert ref.D.family in {"hill", "rational"} and ref.R.family in {"michaelis-menten", "rational"}
    # without the polish: the weak-form coefficients of the pair with the least misfit from the first
    # snapshot (measured: rational, with 201 re-simulation nodes hill), nothing polished
    weak = symbolic.refine(sel, WeakForm().system(ds), polish=0)
    assert weak.D.family in {"hill", "rational"} and not any(r.get("polished") for r in weak.table)
    assert validate.closure_error(weak.D.fn(), c.D_fn(), lo, hi) < 1e-3
    polished = [r for r in ref.table if r.get("polished")]
    assert len(polished) == 5 and all(r["sse"] <= r["sse_weak"] for r in polished)
    assert validate.closure_error(ref.D.fn(), c.D_fn(), lo, hi) < 1e-3
    assert validate.closure_error(ref.R.fn(), c.R_fn(), lo, hi) < 1e-3
    best = min(ref.table, key=lambda r: r["bic"])
    assert (best["D"], best["R"]) == (ref.D.family, ref.R.family) and best["bic"] == ref.bic
    assert {"weak_rss", "sse", "k", "aic"} <= set(best)
    # the misfit of the chosen pair is at the level of the solver and observation grid, and the
    # polynomial pair (wrong family) is clearly worse
    poly_row = next(r for r in ref.table if (r["D"], r["R"]) == ("quadratic", "cubic"))
    assert best["sse"] < poly_row["sse"] / 10
    # the polished pairs, best first, with their shares of the evidence
    assert [row for row, _ in ref.polished] == sorted(polished, key=lambda r: r["bic"])
    assert ref.polished[0][0] is best and ref.polished[0][1].sse == best["sse"]
    weights = [row["weight"] for row, _ in ref.polished]
    assert sum(weights) == pytest.approx(1.0) and weights == sorted(weights, reverse=True)
    assert weights[0] == pytest.approx(1 / sum(np.exp(-(r["bic"] - best["bic"]) / 2) for r in polished))
    assert all(row["bic"] - best["bic"] < symbolic.TIE for row, _ in ref.ties("bic"))
    # every alternative, described against the chosen pair: nonzero law differences where the
    # families differ, and forecasts from the estimated start that agree over the data where the
    # alternative fits them about as well
    everything = pipeline.ties(ref, "bic", lo, hi, ds.t, "neumann", (0.0, 0.0), within=np.inf)
    assert len(everything) == 4 and [e["delta"] for e in everything] == sorted(e["delta"] for e in everything)
    for (row, P), e in zip(ref.polished[1:], everything):
        assert (e["family"]["D"], e["family"]["R"]) == (row["D"], row["R"]) and e["D"] == P.D.text
        assert e["delta"] == pytest.approx(row["bic"] - best["bic"]) and e["weight"] == row["weight"]
        assert np.isfinite(e["differs_R"])
        if row["R"] != ref.R.family:
            assert e["differs_R"] > 0
        if row["sse"] < 4 * best["sse"]:
            assert e["forecast"]["at_end"] < 1e-3
    with pytest.raises(FieldlabError, match="criterion must be"):
        symbolic.refine(sel, WeakForm().system(ds), criterion="cv")


def test_forecast_divergence_of_two_closures():
    c = CASES["case_a"]
    x, t = np.linspace(0.0, 1.0, 101), np.linspace(0.0, 3.0, 11)
    start, truth = (x, training_ic(x)), (c.D_fn(), c.R_fn())
    same, = validate.forecast_divergence(truth, [truth], start, t)
    assert (same["at_end"], same["at_horizon"], same["t_horizon"]) == (0.0, 0.0, 6.0)
    assert same["times"][0] == 0.0 and 3.0 in same["times"] and len(same["times"]) == len(same["difference"]) == 21
    assert not any(same["difference"])
    # a carrying capacity 2 % higher: the forecasts part as the field saturates (measured 1.65e-2
    # at t = 3, 1.98e-2 at t = 6, towards 0.02 / 1.02)
    capacity = validate.forecast_divergence(truth, [(truth[0], lambda u: u * (1 - u / 1.02))], start, t)[0]
    assert 0.01 < capacity["at_end"] < capacity["at_horizon"] < 0.02
    curve = dict(zip(capacity["times"], capacity["difference"]))
    assert curve[0.0] == 0.0 and curve[3.0] == capacity["at_end"] and curve[6.0] == capacity["at_horizon"]
    # a horizon whose grid misses the end of the data still reports it
    odd, = validate.forecast_divergence(truth, [(truth[0], lambda u: u * (1 - u / 1.02))], start, t, horizon=1.7,
                                        points=5)
    assert len(odd["times"]) == 6 and odd["at_end"] == pytest.approx(capacity["at_end"], rel=1e-3)
    # a 5 % faster diffusion: the difference fades as the field flattens (6.1e-4, then 2.1e-5)
    faster, = validate.forecast_divergence(truth, [(lambda u: 1.05 * truth[0](u), truth[1])], start, t, horizon=2.0)
    assert faster["at_horizon"] < faster["at_end"] / 10
    failed, = validate.forecast_divergence(truth, [(lambda u: -truth[0](u), truth[1])], start, t)
    assert failed["at_end"] == failed["at_horizon"] == float("inf")
    assert validate.forecast_divergence(truth, [], start, t) == []


def test_data_rollout_on_full_and_sparse_grids():
    c = CASES["case_a"]
    for regime, tol in (("clean", 1e-4), ("sparse_x", 1e-4)):  # measured 2.0e-5 and 2.0e-5
        ds = make_dataset("case_a", regime)
        sim = validate.data_rollout(c.D_fn(), c.R_fn(), ds.x, ds.t, ds.u)
        assert sim.shape == ds.u.shape
        rel = np.linalg.norm(sim - ds.u) / np.linalg.norm(ds.u)
        # the first snapshot is interpolated by a spline onto 301 nodes (linearly from 26 positions,
        # the error was 8e-3); with the data's own 101 nodes the discretisation error is 1.0e-4
        assert rel < tol
    with pytest.raises(FieldlabError, match="negative"):
        validate.data_rollout(lambda u: -0.01 + 0 * u, c.R_fn(), ds.x, ds.t, ds.u)


@pytest.mark.parametrize("nx", [41, 301])  # interpolated onto 301 nodes by a periodic spline, or used as it is
def test_data_rollout_of_noisy_periodic_data(nx):
    c = CASES["case_a"]
    x, t = np.linspace(0.0, 1.0, nx), np.linspace(0.0, 1.0, 11)
    clean = simulate_truth(c, 0.3 + 0.2 * np.cos(2 * np.pi * x), x, t, bc="periodic")
    noisy = clean + np.random.default_rng(0).normal(0.0, 1e-3, clean.shape)  # the two ends now differ
    sim = validate.data_rollout(c.D_fn(), c.R_fn(), x, t, noisy[None], "periodic")[0]
    assert sim.shape == clean.shape and np.allclose(sim[:, 0], sim[:, -1])
    assert np.linalg.norm(sim[1:] - clean[1:]) / np.linalg.norm(clean[1:]) < 2e-3


@pytest.mark.parametrize("bc", ["neumann", "dirichlet", "periodic"])
def test_start_modes_respect_the_boundary_condition(bc):
    xs = np.linspace(0.0, 2.0, 201)
    B = validate.start_modes(xs, 6, bc)
    assert B.shape == (201, 6) and validate.start_modes(xs, 0, bc).shape == (201, 0)
    assert np.linalg.matrix_rank(B) == 6
    if bc == "neumann":  # zero slope at both ends: the end differences are O(h) of the largest ones
        steepest = np.max(np.abs(np.diff(B[:, 1:], axis=0)), axis=0)
        assert np.allclose(B[:, 0], 1.0)
        assert np.all(np.abs(B[1, 1:] - B[0, 1:]) < 0.1 * steepest)
        assert np.all(np.abs(B[-1, 1:] - B[-2, 1:]) < 0.1 * steepest)
    elif bc == "dirichlet":  # the ends are held: no correction there
        assert np.max(np.abs(B[[0, -1]])) < 1e-12
    else:  # the last node duplicates the first
        assert np.allclose(B[0], B[-1]) and np.allclose(B[:, 0], 1.0)


def _perturbed_truth_fits(case, ds, families, factor_d=1.05, factor_r=0.95):
    """Fits of the true families to the true laws, with every linear coefficient scaled (a wrong start)."""
    lo, hi = _range(ds)
    g = np.linspace(lo, hi, 100)
    c = CASES[case]
    (fd_name, fr_name) = families
    FD = next(f for f in symbolic.D_FAMILIES if f.name == fd_name)
    FR = next(f for f in symbolic.R_FAMILIES if f.name == fr_name)
    fd, fr = symbolic.fit_family(FD, g, c.D_fn()(g)), symbolic.fit_family(FR, g, c.R_fn()(g))
    return (symbolic._make_fit(FD, [v * factor_d for v in fd.a], fd.q, fd.exponent, 0.0),
            symbolic._make_fit(FR, [v * factor_r for v in fr.a], fr.q, fr.exponent, 0.0), g)


@pytest.mark.slow
def test_polish_pair_estimates_the_initial_condition_and_projects_it_out():
    ds = make_dataset("case_a", "noise1", 0)
    c = CASES["case_a"]
    lo, hi = _range(ds)
    fd, fr, g = _perturbed_truth_fits("case_a", ds, ("linear", "logistic"))
    xf, (_, t) = fine_grid(), observation_grid()
    u0 = validation_ics(xf)["bump"]
    ref = simulate_truth(c, u0, xf, t)
    snap = symbolic.polish_pair(fd, fr, ds.x, ds.t, ds.u, "neumann", g, 20)
    est = symbolic.polish_pair(fd, fr, ds.x, ds.t, ds.u, "neumann", g, 20, modes=8)
    assert snap.response is None and est.response.shape == (ds.u.size, 8)
    assert np.allclose(est.response.T @ est.response, np.eye(8), atol=1e-10)
    assert est.sse < snap.sse  # more freedom, and every accepted step lowers the misfit

    def errors(P):
        return (validate.rollout(P.D.fn(), P.R.fn(), u0, xf, t, ref)["rel_l2"],
                validate.closure_error(P.D.fn(), c.D_fn(), lo, hi), validate.closure_error(P.R.fn(), c.R_fn(), lo, hi))

    # measured: rollout 3.6e-4 -> 1.8e-4, ErrD 1.4e-3 -> 5.3e-4, ErrR 9.2e-4 -> 3.3e-4: fitted from the
    # noisy first snapshot, the laws absorb its noise
    (ro_s, d_s, r_s), (ro_e, d_e, r_e) = errors(snap), errors(est)
    assert ro_e < 0.7 * ro_s and d_e < 0.7 * d_s and r_e < 0.7 * r_s
    # ... and the estimated start is closer to the true initial condition in the modes it corrects
    xs, (v0,) = est.start  # one run
    Q = np.linalg.qr(validate.start_modes(xs, 8))[0]
    assert np.linalg.norm(Q.T @ (v0 - training_ic(xs))) < 0.8 * np.linalg.norm(Q.T @ (snap.start[1][0] - training_ic(xs)))
    # eliminating the corrections linearly from that start gives the same fit (measured: misfit
    # 2e-4 relative lower, coefficients within 4e-4) at no extra simulation per parameter
    proj = symbolic.polish_pair(fd, fr, ds.x, ds.t, ds.u, "neumann", g, 20, start=est.start, response=est.response)
    assert abs(proj.sse - est.sse) < 1e-3 * est.sse
    assert np.allclose(proj.D.a + proj.R.a, est.D.a + est.R.a, rtol=2e-3)


def test_integral_and_lambdify():
    u = np.array([0.1, 0.5, 2.0])
    assert np.allclose(symbolic.integral(lambda s: s**2, 0.1, u), (u**3 - 0.1**3) / 3, rtol=1e-13, atol=1e-15)
    assert np.allclose(symbolic.integral(np.exp, 0.0, u), np.exp(u) - 1, rtol=1e-12)
    const = symbolic.lambdify(sp.Float(0.25))(np.zeros((2, 3)))
    assert const.shape == (2, 3) and np.all(const == 0.25)


# ---------------------------------------------------------------------------------------- neural


def test_interpolation_is_exact_for_linear_and_second_order():
    rng = np.random.default_rng(0)
    u = np.r_[0.2, rng.uniform(0.2, 1.4, 300), 1.4]  # the ends included
    errors = []
    for n in (17, 33):
        grid = np.linspace(0.2, 1.4, n)
        P = interpolation(u, grid)
        assert np.allclose(P.sum(axis=1), 1.0) and np.all(P >= 0)
        assert np.allclose(P @ (3 * grid - 2), 3 * u - 2, rtol=0, atol=1e-13)
        h = grid[1] - grid[0]
        err = np.max(np.abs(P @ grid**2 - u**2))
        assert err <= h**2 / 4 + 1e-15  # max of (u - g_j)(g_{j+1} - u) is h^2 / 4
        errors.append(err)
    assert 3.0 < errors[0] / errors[1] < 4.5  # O(h^2)
    W = rng.normal(size=(5, u.size))
    assert np.allclose(fold(W, u, grid), W @ interpolation(u, grid), rtol=1e-13, atol=1e-13)
    assert np.allclose(interpolation(u, grid, sparse=True).toarray(), interpolation(u, grid))


def test_curvature_penalty():
    g = np.linspace(0, 1, 65)
    assert float(curvature(2 * g + 1, 1.0)) < 1e-20
    assert np.isclose(float(curvature(g**2, 0.5)), (2 / 0.5) ** 2)


@pytest.fixture(scope="module")
def neural_fit():
    """Short fit on case_a with the pipeline's scales (memoised: the pipeline tests reuse it)."""
    ds, s = _system("case_a")
    lo, hi = _range(ds)
    grid = np.linspace(lo, hi, 256)
    wp = poly.weak_poly(s)
    d_scale, r_scale = float(np.mean(np.abs(wp.D(grid)))), float(np.mean(np.abs(wp.R(grid) / grid)))
    assert d_scale == pytest.approx(0.035, rel=1e-3) and r_scale == pytest.approx(0.5, rel=1e-3)
    return s, lo, hi, d_scale, _short_fit_neural(s, lo, hi, d_scale, r_scale)


def _weak_loss(D, R, s, lo):
    """The weak-form part of the training loss, computed independently of neural.py."""
    res = s.residual(symbolic.integral(D, lo, s.u), R(s.u))
    return float(res @ res / (s.b @ s.b))


def test_surrogate_starts_constant_with_zero_reaction():
    import jax

    with jax.enable_x64(True):
        m = Surrogate(0.1, 0.9, 0.035, 0.5, key=jax.random.PRNGKey(0))
        u = np.linspace(0.0, 1.2, 7)
        assert np.allclose(np.asarray(m.D(u)), 0.035 * np.log(2)) and np.all(np.asarray(m.R(u)) == 0)


def test_short_neural_fit(neural_fit):
    s, lo, hi, d_scale, nf = neural_fit
    assert nf.steps == SHORT[0].steps and np.isfinite(nf.loss)
    u = np.linspace(lo - 0.5, hi + 0.5, s.u.size)  # (callables compile per input shape: reuse the data's)
    assert np.all(nf.D(u) > 0)
    u[0] = 0.0
    assert nf.R(u)[0] == 0.0 and np.all(nf.R(u)[1:] != 0)
    initial = _weak_loss(lambda v: np.full_like(v, d_scale * np.log(2)), lambda v: np.zeros_like(v), s, lo)
    assert initial > 0.5  # measured 1.06: a constant D and no reaction explain little
    trained = _weak_loss(nf.D, nf.R, s, lo)
    assert nf.loss < 1e-3 * initial and trained < 1e-3 * initial  # measured 7.8e-5 after 300 Adam steps
    assert trained == pytest.approx(nf.loss, rel=0.5)  # the reported loss is the weak residual (+ a tiny penalty)


# -------------------------------------------------------------------------------------- validate


def test_closure_error_and_bir():
    D = CASES["case_a"].D_fn()
    assert validate.closure_error(D, D, 0.05, 0.95) == 0.0
    assert np.isclose(validate.closure_error(lambda u: 1.5 * D(u), D, 0.05, 0.95), 0.5)
    assert validate.bir(0.2, 0.1) == pytest.approx(2.0) and np.isnan(validate.bir(0.2, 0.0))


def test_rollout_of_the_truth_and_of_a_negative_diffusivity():
    x, t = np.linspace(0, 1, 51), np.linspace(0, 1, 11)
    u0 = validation_ics(x)["bump"]
    c = CASES["case_b"]
    ref = simulate_truth(c, u0, x, t)
    r = validate.rollout(c.D_fn(), c.R_fn(), u0, x, t, ref)
    assert r["error"] is None and r["rel_l2"] < 1e-12 and len(r["rel_l2_t"]) == t.size and r["u"].shape == ref.shape
    off = validate.rollout(lambda u: 1.2 * c.D_fn()(u), c.R_fn(), u0, x, t, ref)
    assert 1e-4 < off["rel_l2"] < 0.1 and off["rel_l2_t"][0] == 0.0
    bad = validate.rollout(lambda u: 0.01 - 0.05 * u, c.R_fn(), u0, x, t, ref)
    assert bad["rel_l2"] == float("inf") and bad["u"] is None and len(bad["rel_l2_t"]) == t.size
    assert "D(u) is negative" in bad["error"]


# -------------------------------------------------------------------------------------- pipeline


@pytest.fixture(scope="module")
def short_neural():
    """The pipeline with the short neural fit and a light polish (plumbing, not accuracy: the
    polish itself is tested in test_refine_chooses_by_re_simulating_the_data)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(methods, "fit_neural", _short_fit_neural)  # the neural method's trainer (fieldlab.discovery.methods)
        mp.setattr(symbolic, "POLISH", 1)
        mp.setattr(symbolic, "POLISH_STEPS", 4)
        mp.setattr(symbolic, "START_MODES", 3)
        yield


@pytest.fixture(scope="module")
def truth_run(short_neural, tmp_path_factory):
    ds = make_dataset("case_a", "clean")
    x, t = observation_grid()
    ics = {k: v for k, v in validation_ics(x).items() if k in ("bump", "cosine")}
    out = tmp_path_factory.mktemp("truth_run")
    result = pipeline.run_discovery(ds, out, methods="weak-poly,weak-poly-refit,neural,neural-symbolic,neural-symbolic-refit",
                                    truth=CASES["case_a"],
                                    ics=ics, x=x, t=t)
    return ds, out, result


@pytest.fixture(scope="module")
def found_case_a(short_neural):
    return pipeline.discover(make_dataset("case_a", "clean"), "neural-symbolic-refit,neural-symbolic, weak-poly,weak-poly")


@pytest.mark.slow
def test_discover_returns_methods_in_order(found_case_a):
    ds, found = make_dataset("case_a", "sparse_xt"), found_case_a
    assert list(found) == ["weak-poly", "neural-symbolic", "neural-symbolic-refit"]
    assert found["neural-symbolic"].family["D"] in {f.name for f in symbolic.D_FAMILIES}
    assert found["weak-poly"].info["test_functions"] == 370
    assert list(pipeline.discover(ds, ["weak-poly", "strong-poly"])) == ["strong-poly", "weak-poly"]


@pytest.mark.parametrize("methods", ["weak-poly,sindy", "", ["neural", "Weak-Poly"]])
def test_discover_rejects_unknown_methods(methods):
    with pytest.raises(FieldlabError, match="unknown method"):
        pipeline.discover(make_dataset("case_a", "sparse_xt"), methods)


def test_discover_and_evaluate_argument_errors():
    ds = make_dataset("case_a", "sparse_xt")
    with pytest.raises(FieldlabError, match="criterion must be"):
        pipeline.discover(ds, "weak-poly", criterion="cv")
    found = pipeline.discover(ds, "weak-poly")
    with pytest.raises(FieldlabError, match="needs initial conditions"):
        pipeline.evaluate(found, ds, truth=CASES["case_a"])


@pytest.mark.slow
def test_run_discovery_with_truth_writes_closures_and_metrics(truth_run, found_case_a):
    ds, out, result = truth_run
    saved = json.loads((out / "closures.json").read_text())
    assert list(saved["methods"]) == ["weak-poly", "weak-poly-refit", "neural", "neural-symbolic", "neural-symbolic-refit"]
    assert saved["truth"] == {"D": CASES["case_a"].D, "R": CASES["case_a"].R}
    lo, hi = _range(ds)
    u = np.linspace(lo, hi, 50)
    found = found_case_a  # same data and seed (and the memoised neural fit): the same closures
    for m, rec in saved["methods"].items():
        mt = rec["metrics"]
        assert {"ErrD", "ErrR", "rollout", "rollout_mean", "rollout_t"} <= set(mt)
        assert set(mt["rollout"]) == {"bump", "cosine"} and len(mt["rollout_t"]["bump"]) == ds.t.size
        assert np.isclose(mt["rollout_mean"], np.mean(list(mt["rollout"].values())))
        if m == "neural":
            assert rec["D"] is None and rec["R"] is None
            continue
        for law in ("D", "R"):
            expr = sp.sympify(rec[law], locals={"u": U})
            assert expr.free_symbols <= {U} and rec[f"{law}_latex"]
            value = symbolic.lambdify(expr)(u)
            if m in ("weak-poly", "weak-poly-refit"):  # poly_expr writes 6 significant digits: up to 5e-6 of each term
                c = rec["coefficients"][law]
                own = np.polynomial.polynomial.polyval(u, c)
                if m in found:
                    assert np.allclose(getattr(found[m], law)(u), own, rtol=1e-12, atol=1e-15)
                assert np.all(np.abs(value - own) <= 5e-6 * sum(abs(ck) * u**k for k, ck in enumerate(c)))
            else:
                own = getattr(found[m], law)(u)
                assert np.allclose(value, own, rtol=1e-6, atol=1e-9)
    assert {k: result["methods"][m]["family"] for k, m in (("ns", "neural-symbolic"),)} == \
        {"ns": saved["methods"]["neural-symbolic"]["family"]} == {"ns": found["neural-symbolic"].family}
    wp, nn, ns, rf = (saved["methods"][m]["metrics"] for m in ("weak-poly", "neural", "neural-symbolic", "neural-symbolic-refit"))
    assert wp["ErrD"] < 1e-3 and wp["ErrR"] < 1e-3 and wp["rollout_mean"] < 1e-3
    for law in ("D", "R"):
        assert ns[f"BIR_{law}"] == pytest.approx(ns[f"Err{law}"] / nn[f"Err{law}"])
        assert rf[f"BIR_{law}"] == pytest.approx(rf[f"Err{law}"] / nn[f"Err{law}"])
        assert f"BIR_{law}" not in nn and f"BIR_{law}" not in wp
    # the short (300-step) network is rough; refitting the formulas on the clean data repairs it
    assert rf["ErrD"] < 1e-2 and rf["ErrR"] < 1e-2 and rf["ErrD"] < nn["ErrD"] / 3
    assert saved["methods"]["neural-symbolic-refit"]["candidates"][0]["sse"] > 0
    assert saved["methods"]["weak-poly"]["coefficients"]["D"] == pytest.approx([0.01, 0.05, 0.0], abs=1e-4)
    # the refit keeps the terms; on clean data both fits are at the truth (measured ErrD 1e-5 and 4e-6)
    wr = saved["methods"]["weak-poly-refit"]
    assert wr["coefficients"]["D"] == pytest.approx([0.01, 0.05, 0.0], abs=1e-4)
    assert wr["coefficients"]["R"] == pytest.approx([0.0, 1.0, -1.0, 0.0], abs=1e-3)
    assert wr["metrics"]["ErrD"] < 1e-3 and wr["metrics"]["rollout_mean"] < 1e-3 and "BIR_D" not in wr["metrics"]
    report = (out / "report.md").read_text()
    assert "| weak-poly |" in report and "| neural-symbolic |" in report and CASES["case_a"].R in report
    # the closest alternative families, the chosen pair first at 0.0 from the best
    for m in ("neural-symbolic", "neural-symbolic-refit"):
        assert f"Closest alternatives of `{m}`" in report
        fam = saved["methods"][m]["family"]
        assert f"| {fam['D']} | {fam['R']} |" in report and " | 0.0 |" in report
    # one polished pair here (POLISH = 1), so no other fits as well; a tie is reported with how far
    # the two forecasts part
    assert saved["methods"]["neural-symbolic-refit"]["ties"] == [] and "Not decided" not in report
    tie = {"D": "0.01 + 0.05*u", "R": "u - u**2", "family": {"D": "linear", "R": "logistic"}, "delta": 0.7,
           "weight": 0.41, "differs_D": 0.0005, "differs_R": 0.0136,
           "forecast": {"at_end": 9.05e-5, "at_horizon": 0.00864, "t_horizon": 6.0}}
    result["methods"]["neural-symbolic-refit"]["ties"] = [tie]
    text = pipeline.report_markdown(result)
    assert text.count("**Not decided by the data**") == 1
    assert "(linear / logistic, BIC +0.7, 41% of the evidence" in text and "its R by 1.36%" in text
    assert "by 9.05e-05 (relative L2) at the last observed time and by 0.00864 at t = 6" in text
    assert "`ties.png`" in text and "`ties.png`" not in report
    # its figure: the difference against time, the observed window shaded
    tie["forecast"].update(times=[0.0, 1.5, 3.0, 4.5, 6.0], difference=[0.0, 1e-5, 9.05e-5, 2e-3, 8.64e-3])
    fake = pipeline.Found("neural-symbolic-refit", found["weak-poly"].D, found["weak-poly"].R, None, None, None, 0.0,
                          {"ties": [tie]})
    (out / "tied").mkdir()
    paths = write_figures(out / "tied", {"neural-symbolic-refit": fake}, ds, None, pipeline.Validation({}))
    assert [p.name for p in paths] == ["closures.png", "ties.png"]
    assert (out / "tied" / "ties.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("closures.png", "rollout.png", "error_map.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_discovery_without_truth_rolls_out_against_the_data(tmp_path):
    ds = make_dataset("case_a", "sparse_xt")
    user = Dataset(ds.x, ds.t, ds.u, {"bc": "neumann"})
    result = pipeline.run_discovery(user, tmp_path / "o", methods="weak-poly", figures=False)
    assert result["truth"] is None and "no truth" in result["validation"]
    mt = result["methods"]["weak-poly"]["metrics"]
    assert "ErrD" not in mt and set(mt["rollout"]) == {"data"}
    assert 0 < mt["rollout"]["data"] < 0.02
    assert (tmp_path / "o" / "closures.json").is_file() and not (tmp_path / "o" / "closures.png").exists()
    # a closure whose rollout fails is reported as failed (null in JSON), not raised
    bad = pipeline.Found("bad", lambda u: -0.01 + 0 * u, lambda u: 0 * u, None, None, None, 0.0)
    metrics = pipeline.evaluate({"bad": bad}, user).metrics
    assert metrics["bad"]["rollout_mean"] == float("inf") and "negative" in metrics["bad"]["rollout_failures"]["data"]
    assert pipeline._jsonable(metrics)["bad"]["rollout_mean"] is None


@pytest.mark.slow
def test_refit_on_a_users_dirichlet_file_without_truth(short_neural):
    """A user's file: Dirichlet ends held at their first values, coarse grid, no truth."""
    c = CASES["case_a"]
    x, t = np.linspace(0.0, 1.0, 41), np.linspace(0.0, 2.0, 41)
    u0 = 0.2 + 0.6 * np.exp(-(((x - 0.4) / 0.1) ** 2))
    u = simulate_truth(c, u0, x, t, bc="dirichlet", bc_values=(u0[0], u0[-1]))
    user = Dataset(x, t, u, {"bc": "dirichlet"})
    result = pipeline.run_discovery(user, None, methods="weak-poly,weak-poly-refit,neural-symbolic-refit", figures=False)
    rf = result["methods"]["neural-symbolic-refit"]
    assert result["methods"]["weak-poly-refit"]["metrics"]["rollout"]["data"] < 2e-3
    # re-simulating the data with the refitted closure (Dirichlet ends kept) reproduces them
    # measured 3.8e-4 (weak-poly 4.1e-4; with the ends forced to 0, as before the fix, 0.15)
    assert rf["metrics"]["rollout"]["data"] < 2e-3
    assert rf["candidates"][0]["sse"] <= min(r["sse"] for r in rf["candidates"]) * 1.5
    D = symbolic.lambdify(sp.sympify(rf["D"], locals={"u": U}))
    grid = np.linspace(u.min(), u.max(), 50)
    assert np.all(D(grid) > 0) and validate.closure_error(D, c.D_fn(), u.min(), u.max()) < 0.03  # measured 0.0085


# ------------------------------------------------------------------------------------------- CLI


runner = CliRunner()


def _fails(args, fragment):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "error:" in result.output
    assert fragment in " ".join(result.output.split())


def test_cli_discover_on_a_file(tmp_path):
    path = save(make_dataset("case_a", "sparse_xt"), tmp_path / "obs.npz")
    result = runner.invoke(app, ["discover", str(path), "--methods", "weak-poly", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "o" / "closures.json").read_text())
    assert list(saved["methods"]) == ["weak-poly"] and saved["truth"] is None
    assert saved["data"]["case"] == "case_a" and saved["data"]["nx"] == 26
    assert "rollout rel L2" in result.output


def test_cli_discover_defaults_to_every_method():
    from fieldlab import cli
    from fieldlab.discovery.registry import METHODS

    assert cli.DISCOVERY_METHODS.split(",") == list(METHODS)


def test_cli_discover_on_a_case(tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["discover", "--case", "case_a", "--regime", "clean", "--methods", "weak-poly",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "closures.json").read_text())
    mt = saved["methods"]["weak-poly"]["metrics"]
    assert saved["truth"]["D"] == CASES["case_a"].D and mt["ErrD"] < 1e-3
    assert set(mt["rollout"]) == set(validation_ics(fine_grid()))
    assert "ErrD" in result.output and (out / "report.md").is_file()
    # the generalisation assessment: a matched case observed cleanly is chosen and supported everywhere
    a = saved["assessment"]
    assert a["chosen"] == "weak-poly" and not any(c["flag"] for c in a["forecasts"].values())
    assert "chosen by held-out validation: weak-poly" in result.output
    assert "forecasts of unseen initial conditions supported by the data" in result.output
    assert "## Does it generalise?" in (out / "report.md").read_text() and (out / "generalisation.png").is_file()


def test_cli_discover_errors(tmp_path):
    path = save(make_dataset("case_a", "sparse_xt"), tmp_path / "obs.npz")
    _fails(["discover", str(path), "--case", "case_a"], "give either a data file or --case")
    _fails(["discover"], "give either a data file or --case")
    _fails(["discover", str(path), "--structure", "advection"], "unknown structure 'advection'")
    _fails(["discover", str(path), "--methods", "magic"], "unknown method")
    _fails(["discover", "--case", "case_z"], "unknown case 'case_z'")
    ds = make_dataset("case_a", "sparse_xt")
    u = ds.u.copy()
    u[0, 3, 4] = np.nan
    np.savez(tmp_path / "nan.npz", x=ds.x, t=ds.t, u=u)
    _fails(["discover", str(tmp_path / "nan.npz"), "--out", str(tmp_path / "o")], "'u' has 1 NaN or infinite values")
    assert not (tmp_path / "o").exists()


def test_weak_gls_meets_two_percent_where_ols_misses_and_leaves_clean_data_alone():
    """Bias-compensated GLS over five widths (poly.weak_gls): case_b seed 0 at 1 % noise, the OLS miss above."""
    ds, s = _system("case_b", "noise1", 0)
    ols = poly.weak_poly(s)
    sigma = poly.noise_sigma(ds.u)
    assert abs(sigma / ds.meta["noise_sigma"] - 1) < 0.05  # measured 1.66e-3 against 1.71e-3
    gls = poly.weak_gls(ols, ds.x, ds.t, ds.u)
    assert gls.weighting == "gls" and 0.5 < gls.noise_share < 2  # measured 0.875
    assert np.array_equal(gls.d != 0, ols.d != 0) and np.array_equal(gls.r != 0, ols.r != 0)
    rel_ols, rel_gls = _coef_errors(ols, "case_b")[0].max(), _coef_errors(gls, "case_b")[0].max()
    assert rel_ols > 0.03 and rel_gls < 0.01  # measured 3.2 % and 0.36 %
    plain = poly.weak_gls(ols, ds.x, ds.t, ds.u, sigma=1e-12)
    assert plain.weighting == "ols"  # a noise level that explains none of the residual: left as fitted
    clean_ds, clean_s = _system("case_a")
    clean = poly.weak_poly(clean_s)
    kept = poly.weak_gls(clean, clean_ds.x, clean_ds.t, clean_ds.u)
    assert kept.weighting == "ols" and kept.noise_share < 0.01 and np.array_equal(kept.d, clean.d)


# ------------------------------------------------------------------------------------- network seeds

NETWORK_SEED_MEMBERS = 1  # measured: seed 2 passes the held-out bar, seed 1 not


@pytest.fixture(scope="module")
def seeded_assessments(short_neural):
    """case_a (clean) by weak-poly and neural-symbolic (short fits), assessed without and with two network seeds."""
    from fieldlab.discovery import assess

    ds = make_dataset("case_a", "clean")
    found = pipeline.discover(ds, "weak-poly,neural-symbolic")
    ics = {k: v for k, v in validation_ics(ds.x).items() if k in ("bump", "front")}
    return assess.assess(found, ds, ics=ics), assess.assess(found, ds, ics=ics, network_seeds=2)


def test_network_seeds_join_the_ensemble_and_widen_the_bands(seeded_assessments):
    base, more = seeded_assessments
    assert base["network_seeds"] is None
    ns = more["network_seeds"]
    assert ns["seeds"] == [1, 2] and ns["computed"] == 2  # neural-symbolic re-run with seeds 1 and 2
    assert set(ns["closures"]) == {"neural-symbolic (network seed 1)", "neural-symbolic (network seed 2)"}
    assert ns["members"] == len(ns["labels"]) == NETWORK_SEED_MEMBERS
    assert more["members"] == base["members"] + ns["members"]
    assert more["member_labels"][:base["members"]] == base["member_labels"]
    assert set(ns["labels"]) <= set(more["structural"])
    assert more["chosen"] == base["chosen"]
    for k in ("D_width", "R_width"):  # the same members and more: a band can only widen
        assert more["bands"][k] >= base["bands"][k]
    # measured: seed 2's short fit compresses to the polynomial structure (held-out error that of weak-poly, 3.3e-6),
    # with its own coefficients (D = 0.0446 u + 0.0121 against the true 0.05 u + 0.01); seed 1's sigmoid/Hill pair
    # misses the bar (6.6e-3 against 3 x 3.3e-6). The refits alone spread D by 6.7e-5, with seed 2 by 5.2e-2.
    assert ns["labels"] == ["neural-symbolic (network seed 2)"]
    assert ns["holdout"]["neural-symbolic (network seed 1)"] > 1e-3 > 1e-5 > ns["holdout"]["neural-symbolic (network seed 2)"]
    assert base["bands"]["D_width"] < 1e-3 < 1e-2 < more["bands"]["D_width"]
    for name, c in more["forecasts"].items():
        assert c["spread"] >= base["forecasts"][name]["spread"]
        assert len(c["member_spreads"]) == more["members"]


def test_cli_discover_with_network_seeds(short_neural, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["discover", "--case", "case_a", "--regime", "clean", "--methods",
                                 "weak-poly,neural-symbolic", "--network-seeds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ns = json.loads((out / "closures.json").read_text())["assessment"]["network_seeds"]
    assert ns["seeds"] == [1] and ns["computed"] == 1
    assert "network seeds 1: re-running neural-symbolic" in result.output
    assert f"{ns['members']} network-seed member(s)" in (out / "report.md").read_text()
    bad = runner.invoke(app, ["discover", "--case", "case_a", "--network-seeds", "-1"])
    assert bad.exit_code == 2 and "--network-seeds" in bad.output and "Traceback" not in bad.output


def test_network_seeds_are_for_one_species_in_1d():
    rng = np.random.default_rng(0)
    x, t = np.linspace(0, 1, 9), np.linspace(0, 1, 5)
    ds = Dataset(x, t, 0.5 + 0.1 * rng.random((5, 9)), {}, v=0.5 + 0.1 * rng.random((5, 9)))
    with pytest.raises(FieldlabError, match="network seeds re-run the neural methods"):
        pipeline.run_discovery(ds, None, network_seeds=1)
