"""Generalisation of discovered closures (fieldlab.discovery.assess), the method registry, family templates."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fieldlab.discovery import assess, pipeline, registry, symbolic
from fieldlab.discovery.cases import CASES, make_dataset, validation_ics
from fieldlab.discovery.methods import Found, poly_found
from fieldlab.errors import FieldlabError

# ----------------------------------------------------------------------------------------- families


@pytest.mark.parametrize("family", symbolic.D_FAMILIES + symbolic.R_FAMILIES, ids=lambda f: f.name)
def test_family_basis_is_the_derivative_of_its_formula(family):
    """The numerical basis comes from the SymPy template: sum a_j basis_j equals the formula, evaluated by SymPy."""
    u = np.linspace(0.05, 0.95, 7)
    q = tuple(0.3 + 0.4 * i for i in range(len(family.bounds)))
    n = family.exponents[-1]
    a = [0.5 - 0.3 * j for j in range(len(family.basis(u, q, n)))]
    numeric = sum(c * b for c, b in zip(a, family.basis(u, q, n)))
    expr = family.expr(a, q, n)
    assert expr.free_symbols == {symbolic.U}
    np.testing.assert_allclose(numeric, sp.lambdify(symbolic.U, expr)(u), rtol=1e-12)


def test_family_template_must_be_linear_in_its_coefficients():
    with pytest.raises(FieldlabError, match="linear in its coefficients"):
        symbolic.Family("bad", "a0*exp(-a1*u)").basis(np.ones(3), (), None)


@pytest.mark.parametrize("name, truth", [("power", lambda u: 0.06 * u**1.5),
                                         ("sigmoid", lambda u: 0.01 + 0.04 / (1 + np.exp(-(u - 0.5) / 0.08)))])
def test_new_families_express_the_new_cases(name, truth):
    u = np.linspace(0.05, 0.95, 60)
    fam = next(f for f in symbolic.D_FAMILIES if f.name == name)
    fit = symbolic.fit_family(fam, u, truth(u))
    assert fit.rmse < 1e-6 * np.max(truth(u))
    quad = symbolic.fit_family(symbolic.D_FAMILIES[1], u, truth(u))  # a quadratic misses them by far more
    assert quad.rmse > 100 * fit.rmse


# ----------------------------------------------------------------------------------------- registry


def test_one_list_of_methods_and_a_method_is_a_function_plus_registration(monkeypatch):
    from fieldlab import cli

    assert list(registry.METHODS) == list(registry.REGISTRY) == cli.DISCOVERY_METHODS.split(",")
    calls = []

    def halved(ctx):  # a toy method: weak-poly's reaction, halved
        calls.append(1)
        weak = ctx.get("weak-poly")
        return Found("halved", weak.D, lambda u: 0.5 * weak.R(u), None, None, None, 0.0)

    monkeypatch.setitem(registry.REGISTRY, "halved", registry.MethodSpec("halved", halved, ("weak-poly",)))
    ds = make_dataset("case_a", "sparse_xt")
    found = pipeline.discover(ds, "halved")
    assert list(found) == ["halved"] and calls == [1]  # its need ran, but only the asked method is returned
    u = np.linspace(0.1, 0.9, 5)
    np.testing.assert_allclose(found["halved"].R(u), 0.5 * pipeline.discover(ds, "weak-poly")["weak-poly"].R(u))
    monkeypatch.setitem(registry.REGISTRY, "loop", registry.MethodSpec("loop", halved, ("loop",)))
    with pytest.raises(FieldlabError, match="cycle"):
        pipeline.discover(ds, "loop")
    with pytest.raises(FieldlabError, match="needs unregistered"):
        registry.register(registry.MethodSpec("orphan", halved, ("nothing",)))


# ------------------------------------------------------------------------------------------- assess


def test_support_weights_diffusion_by_gradients():
    x, t = np.linspace(0, 1, 41), np.linspace(0, 1, 11)
    # flat at 0.1 on the left half, a steep ramp from 0.1 to 0.9 on the right: states are mostly 0.1
    row = np.where(x < 0.5, 0.1, 0.1 + 0.8 * (x - 0.5) / 0.5)
    u = np.tile(row, (len(t), 1)) + 1e-3 * np.sin(7 * t)[:, None]
    s = assess.support(x, t, u[None])
    assert s["observed"] == pytest.approx([u.min(), u.max()])
    assert s["R"][0] == pytest.approx(0.1, abs=2e-3)
    assert s["D"][0] > 0.1  # where u is flat, the data say nothing about D
    assert s["D"][1] > 0.85


def _structure(d, r):
    (FD, fd), (FR, fr) = symbolic.polynomial(np.asarray(d, float)), symbolic.polynomial(np.asarray(r, float))
    return FD, fd, FR, fr


def test_holdout_prefers_the_right_structure_on_unseen_times():
    ds = make_dataset("case_a", "noise1", runs=1)
    right = assess.Structure("right", *_structure([0.01, 0.05], [0.0, 1.0, -1.0]))
    wrong = assess.Structure("wrong", *_structure([0.03], [0.0, 0.5]))
    ho = assess.holdout([right, wrong], ds.x, ds.t, ds.u)
    assert "held out" in ho["split"]
    assert ho["errors"]["right"] < 0.01 < ho["errors"]["wrong"]


def test_forecast_flags_follow_the_ensemble_spread_and_the_observed_range():
    x, t = np.linspace(0, 1, 41), np.linspace(0, 1, 11)
    D, R = (lambda u: 0.02 + 0 * u), (lambda u: u * (1 - u))
    sup = {"R": [0.1, 0.9], "D": [0.1, 0.9], "observed": [0.05, 0.95]}
    ics = {"inside": 0.3 + 0.2 * np.cos(np.pi * x), "below": 0.005 + 0.01 * np.cos(np.pi * x)}
    agree = [("same", D, R), ("close", D, lambda u: 1.0001 * R(u))]
    check = assess.forecast_check((D, R), agree, ics, x, t, sup)
    assert not check["inside"]["flag"] and check["inside"]["spread"] < 1e-4
    assert check["below"]["flag"] and "observed range" in check["below"]["why"]  # it starts below the data
    apart = agree + [("apart", D, lambda u: 1.3 * R(u))]
    check = assess.forecast_check((D, R), apart, ics, x, t, sup)
    assert check["inside"]["flag"] and check["inside"]["spread"] > assess.FLAG_SPREAD
    # an alternative closure is measured against the chosen one, not against the refits' mean
    alt = assess.forecast_check((D, R), agree + [("alt", D, lambda u: 1.01 * R(u))], {"inside": ics["inside"]}, x, t,
                                sup, structural=("alt",))["inside"]
    assert alt["member_spreads"][-1] == pytest.approx(alt["member_to_chosen"][-1]) and alt["spread"] > 1e-3
    ex = assess.propose_experiment(check, t)
    assert ex["initial_condition"] in ics and ex["separation"] >= check["inside"]["spread"] * 0.8
    blow = agree + [("blows up", D, lambda u: 50 * u**3)]
    assert assess.forecast_check((D, R), blow, {"inside": ics["inside"]}, x, t, sup)["inside"]["flag"]


def test_probe_ics_lie_in_the_observed_range():
    x = np.linspace(2.0, 4.0, 51)
    for u0 in assess.probe_ics(x, 1.0, 3.0).values():
        assert u0.shape == x.shape and 1.0 - 1e-9 <= u0.min() and u0.max() <= 3.0 + 1e-9


def test_report_section_names_the_choice_the_support_and_the_unsupported_forecasts():
    from fieldlab.discovery.report import assessment_markdown

    a = {"chosen": "weak-poly", "support": {"R": [0.06, 0.45], "D": [0.09, 0.88], "observed": [0.05, 0.95]},
         "holdout": {"split": "t <= 2.25 fitted, t > 2.25 held out", "errors": {"weak-poly": 3e-3, "neural-symbolic-refit": 9e-3},
                     "noise_floor": 2.5e-3, "excess": {"weak-poly": 1.7e-3, "neural-symbolic-refit": 8.6e-3}},
         "members": 9, "bands": {"D_width": 0.04, "R_width": 0.5}, "ics": "probe",
         "forecasts": {"bump": {"spread": 1e-3, "spread_long": 2e-3, "excursion": 0.0, "range": [0.05, 0.8], "flag": False,
                                "why": ""},
                       "front": {"spread": float("inf"), "spread_long": float("inf"), "excursion": 0.3, "range": [0.0, 0.8],
                                 "flag": True, "why": "an ensemble member's simulation fails"}},
         "experiment": {"initial_condition": "front", "window": [0.0, 6.0], "separation": 0.2}}
    text = "\n".join(assessment_markdown(a))
    assert "**Chosen: weak-poly**" in text and "u in [0.06, 0.45]" in text and "u in [0.09, 0.88]" in text
    assert "| front | [0, 0.8] | failed | failed | 0.3 | **no**: an ensemble member's simulation fails |" in text
    assert "the forecasts of front should not be trusted" in text and "| bump |" in text
    assert "`front` initial condition over t in [0, 6]" in text
    assert assessment_markdown(None) == [] and assessment_markdown({"chosen": None}) == []
    assert "(the smallest held-out error beyond the noise)" in text
    fallback = {**a, "chosen_by": "fallback: no candidate could be scored on held-out data, so the first structure"}
    text = "\n".join(assessment_markdown(fallback))
    assert "**Chosen: weak-poly** (fallback: no candidate could be scored" in text
    assert "smallest held-out error" not in text


def test_generalisation_figure_shows_the_bands(tmp_path):
    from fieldlab.discovery.figures import write_figures

    ds = make_dataset("case_a", "sparse_xt")
    D, R = CASES["case_a"].D_fn(), CASES["case_a"].R_fn()
    members = [("a", D, R), ("b", lambda u: 1.1 * D(u), lambda u: 0.9 * R(u))]
    b = assess.bands(members, (D, R), 0.05, 0.95)
    assert b["D_width"] == pytest.approx(0.1 * D(0.95) / D(0.95), rel=1e-6) and b["R_width"] > 0.09
    a = {"chosen": "m", "bands": b, "support": {"R": [0.1, 0.5], "D": [0.2, 0.9], "observed": [0.05, 0.95]}}
    paths = write_figures(tmp_path, {"m": Found("m", D, R, None, None, None, 0.0)}, ds, CASES["case_a"],
                          pipeline.Validation({}), a)
    assert tmp_path / "generalisation.png" in paths and (tmp_path / "generalisation.png").stat().st_size > 10_000


def test_assessment_flags_the_forecast_on_which_plausible_closures_disagree():
    """case_sign (a reaction changing sign at u = 0.49) at 1 % noise: the cubic that weak-poly finds
    (benchmark, seed 0) and the exp family of the truth fit the held-out data alike, but forecast the
    unseen ``front`` differently, and the polynomial's forecast of it is off by far more than its
    ``cosine``: the assessment flags ``front`` and not ``cosine``."""
    from fieldlab.discovery import poly
    from fieldlab.discovery.solver import simulate1d

    ds = make_dataset("case_sign", "noise1")
    cubic = poly.PolyFit(d=np.array([0.0149783, 0.0201375, 0.0]), r=np.array([0.0, 0.791628, -2.40781, 1.64428]),
                         rss=1.0, n=1, bic=0.0, aic=0.0)
    FD, FR = symbolic.D_FAMILIES[0], next(f for f in symbolic.R_FAMILIES if f.name == "exp")
    fd = symbolic._make_fit(FD, [0.015, 0.02], (), None, float("nan"))
    fr = symbolic._make_fit(FR, [1.2, -0.35], (2.5,), None, float("nan"))
    found = {"weak-poly": poly_found("weak-poly", cubic, 0.0),
             "exp": Found("exp", fd.fn(), fr.fn(), fd.text, fr.text, None, 0.0, {"_structure": (FD, fd, FR, fr)})}
    ics = {k: v for k, v in validation_ics(ds.x).items() if k in ("front", "cosine")}
    a = assess.assess(found, ds, ics=ics)
    assert set(a["holdout"]["errors"]) == {"weak-poly", "exp"} and a["structural"]  # both plausible
    assert a["forecasts"]["front"]["flag"] and not a["forecasts"]["cosine"]["flag"]
    truth = CASES["case_sign"]
    err = {}
    for k, u0 in ics.items():
        ref = simulate1d(truth.D_fn(), truth.R_fn(), u0, ds.x, ds.t)
        err[k] = np.linalg.norm(simulate1d(cubic.D, cubic.R, u0, ds.x, ds.t) - ref) / np.linalg.norm(ref)
    assert err["front"] > 5e-3 > 1e-3 > err["cosine"]
