"""Two-species discovery: the coupled solver, the per-species weak regression, the built-in systems, data files, CLI."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.discovery import pipeline, poly, species, system_cases
from fieldlab.discovery.coupled import simulate_system
from fieldlab.discovery.data import Dataset, load, save
from fieldlab.discovery.solver import simulate1d, simulate2d
from fieldlab.discovery.systems import coefficient_errors, coefficients_of, run_system_discovery
from fieldlab.errors import FieldlabError

runner = CliRunner()
PP = system_cases.SYSTEM_CASES["predator_prey"]


# ------------------------------------------------------------------------------------------ solver


@pytest.mark.parametrize("bc", ["neumann", "dirichlet", "periodic"])
def test_one_species_is_simulate1d_and_simulate2d(bc):
    def D(u):
        return 0.01 + 0.05 * u

    def R(u):
        return u * (1 - u)

    x, y, t = np.linspace(0, 1, 21), np.linspace(0, 1, 15), np.linspace(0, 1, 4)
    u1 = 0.3 + 0.2 * np.cos(2 * np.pi * x)
    a = simulate_system([D], R, u1[None], (x,), t, bc=bc)[:, 0]
    np.testing.assert_allclose(a, simulate1d(D, R, u1, x, t, bc=bc, bc_values=(u1[0], u1[-1])), atol=1e-12)
    X, Y = np.meshgrid(x, y, indexing="ij")
    u2 = 0.3 + 0.2 * np.cos(2 * np.pi * X) * np.cos(2 * np.pi * Y)
    b = simulate_system([D], R, u2[None], (x, y), t, bc=bc)[:, 0]
    np.testing.assert_allclose(b, simulate2d(D, R, u2.T, x, y, t, bc=bc).transpose(0, 2, 1), atol=1e-12)


def test_coupled_solver_converges_at_second_order():
    t = np.linspace(0, 2, 5)
    sols = {}
    for n in (21, 41, 81, 321):
        x = np.linspace(0, 1, n)
        w0 = system_cases.system_ics("predator_prey", (x,))["bumps"]
        sols[n] = simulate_system(PP.D_fns(), PP.R_fn(), w0, (x,), t, rtol=1e-10, atol=1e-12)
    errors = [np.abs(sols[n] - sols[321][..., :: 320 // (n - 1)]).max() for n in (21, 41, 81)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.3)), orders


def test_coupled_solver_rejects_bad_inputs():
    x, t = np.linspace(0, 1, 11), np.linspace(0, 1, 3)
    w0 = np.ones((2, 11))
    with pytest.raises(FieldlabError, match=r"w0 must have shape \(species, len\(x\)\[, len\(y\)\]\) = \(2, 11\)"):
        simulate_system(PP.D_fns(), PP.R_fn(), w0[:, :-1], (x,), t)
    with pytest.raises(FieldlabError, match="a diffusivity is negative"):
        simulate_system([lambda u: -0.1 + 0 * u, lambda v: 0.1 + 0 * v], PP.R_fn(), w0, (x,), t)
    with pytest.raises(FieldlabError, match="R\\(w\\) must return finite values of shape"):
        simulate_system(PP.D_fns(), lambda w: w[0], w0, (x,), t)


# -------------------------------------------------------------------------------------- regression


def test_monomials_and_the_qr_subset_search_agree_with_poly_select():
    assert species.monomials(2, 2) == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    assert len(species.monomials(2, 3)) == 10 and species.monomials(1, 3) == [(0,), (1,), (2,), (3,)]
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 6))
    b = X[:, [0, 3, 5]] @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.normal(size=200)
    coef, rss, aic, bic = species.best_subset(X, b, 2, 200.0)
    ref = poly.select(X, b, 2)
    np.testing.assert_allclose(coef, np.concatenate([ref.d, ref.r]), rtol=1e-10, atol=1e-12)
    assert np.count_nonzero(coef) == 3 and bic == pytest.approx(ref.bic)


def _clean_small(nx=101, k=2, nt=41):
    x, t = np.linspace(0, 1, nx), np.linspace(0, PP.T, nt)
    w0 = system_cases.system_ics("predator_prey", (x,))["bumps"]
    w = simulate_system(PP.D_fns(), PP.R_fn(), w0, (x,), t)[:, :, ::k]
    return Dataset(x[::k], t, w[:, 0], {"bc": "neumann"}, v=w[:, 1])


def test_clean_recovery_of_a_predator_prey_system():
    fit = species.fit_system(_clean_small())
    errors = coefficient_errors([law.coefficients() for law in fit.laws], PP.coefficients())
    for e in errors:
        assert e["max_true"] < 1e-2 and e["R"] < 2e-3, errors


@pytest.fixture(scope="module", params=["predator_prey", "brusselator"])
def noisy(request):
    return request.param, system_cases.make_system_dataset(request.param, "noise1", seed=0)


def test_noisy_recovery_and_a_method_blind_to_the_coupling_fails(noisy):
    case, ds = noisy
    truth = system_cases.SYSTEM_CASES[case]
    assert ds.kind == "1d-2species" and ds.species == ("u", "v") and ds.v.shape == ds.u.shape == (1, 81, 101)
    found = pipeline.discover(ds)
    assert list(found) == ["weak-poly-species"]
    errors = coefficient_errors(coefficients_of(found["weak-poly-species"], ds.species), truth.coefficients())
    for e in errors:
        assert e["spurious"] == [] and e["max_true"] < 0.03, errors
    blind = species.fit_system(Dataset(ds.x, ds.t, ds.u)).laws[0]  # u alone: R_u(u) cannot hold the u v terms
    states = np.stack([ds.u.ravel(), ds.v.ravel()])
    R_true = truth.R_fn()(states)[0]
    assert np.linalg.norm(blind.R(states[0]) - R_true) / np.linalg.norm(R_true) > 0.1


def test_forecasts_of_unseen_initial_conditions_and_the_files(noisy, tmp_path):
    case, ds = noisy
    axes = (np.linspace(0, 1, 101),)
    ics = system_cases.system_ics(case, axes, "validation")
    result = run_system_discovery(ds, tmp_path, truth=system_cases.SYSTEM_CASES[case], ics=ics, x=axes)
    mt = result["methods"]["weak-poly-species"]["metrics"]
    assert set(mt["forecast"]) == set(ics) and mt["forecast_mean"] < 1e-2
    assert mt["holdout"] < 5e-3  # refitted on 3/4 of the window, the last quarter forecast to about the noise
    saved = json.loads((tmp_path / "closures.json").read_text())
    laws = saved["methods"]["weak-poly-species"]["species"]
    assert set(laws) == {"u", "v"} and ("u*v" if case == "predator_prey" else "u**2*v") in laws["v"]["R"]
    report = (tmp_path / "report.md").read_text()
    assert "Closure discovery: 1d-2species" in report and "Forecasts of unseen initial conditions" in report
    assert "Held-out window" in report


# ------------------------------------------------------------------------------------- data, CLI


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_two_species_round_trip_1d_and_2d(tmp_path, suffix):
    one = _clean_small(nx=41, k=1, nt=9)
    x = np.linspace(0, 1, 9)
    u = np.random.default_rng(0).random((2, 6, 9, 9))
    two = Dataset(x, np.arange(6.0), u, {"n": 1}, y=x, v=1 + u)
    for name, ds in (("one", one), ("two", two)):
        back = load(save(ds, tmp_path / f"{name}{suffix}"))
        assert back.kind == ds.kind and back.runs == ds.runs
        for k in ("x", "t", "u", "v") + (("y",) if ds.y is not None else ()):
            assert np.array_equal(getattr(back, k), getattr(ds, k))
    assert two.kind == "2d-2species" and two.runs == 2


def test_bad_species_inputs_raise(tmp_path):
    ds = _clean_small(nx=41, k=1, nt=9)
    with pytest.raises(FieldlabError, match="'v' \\(the second species\\) must have the shape of 'u'"):
        save(Dataset(ds.x, ds.t, ds.u, v=ds.v[:, :-1]), tmp_path / "a.npz")
    with pytest.raises(FieldlabError, match="'v' is constant"):
        save(Dataset(ds.x, ds.t, ds.u, v=np.ones_like(ds.u)), tmp_path / "a.npz")
    bad = ds.v.copy()
    bad[0, 2, 3] = np.nan
    with pytest.raises(FieldlabError, match="'v' has 1 NaN"):
        save(Dataset(ds.x, ds.t, ds.u, v=bad), tmp_path / "a.npz")
    with pytest.raises(FieldlabError, match="cannot handle 1d-2species data; the ones that can: weak-poly-species"):
        pipeline.discover(ds, "weak-poly,weak-poly-species")
    with pytest.raises(FieldlabError, match="unknown system case"):
        system_cases.system_ics("nope", (ds.x,))
    with pytest.raises(FieldlabError, match="case brusselator has 1 to 2 runs"):
        system_cases.make_system_dataset("brusselator", runs=3)


def test_cli_simulates_and_discovers_a_two_species_file(tmp_path):
    path = tmp_path / "pp.nc"
    result = runner.invoke(app, ["simulate", "--case", "predator_prey", "--regime", "noise1", "--out", str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["discover", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "species u, v" in result.output and "rollout rel L2" in result.output
    saved = json.loads((tmp_path / "o" / "closures.json").read_text())
    assert saved["data"]["species"] == ["u", "v"] and saved["methods"]["weak-poly-species"]["metrics"]["rollout_mean"] < 1e-2


def test_two_species_in_two_dimensions():
    ds = system_cases.make_system_dataset("schnakenberg2d", "noise1", seed=0)
    assert ds.kind == "2d-2species" and ds.u.shape == ds.v.shape == (1, 81, 33, 33)
    found = pipeline.discover(ds)["weak-poly-species"]
    errors = coefficient_errors(coefficients_of(found, ds.species), system_cases.SYSTEM_CASES["schnakenberg2d"].coefficients())
    for e in errors:
        assert e["spurious"] == [] and e["max_true"] < 0.03, errors
    w0 = system_cases.system_ics("schnakenberg2d", (ds.x, ds.y), "validation")["front"]
    w = simulate_system(list(found.D), found.R, w0, (ds.x, ds.y), ds.t[::8])
    assert w.shape == (11, 2, 33, 33) and np.all(np.isfinite(w))
