"""Data of several runs: the same system observed from several initial conditions on one grid."""

import json

import numpy as np
import pytest
from scipy.optimize import _numdiff
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.discovery import pipeline, poly, symbolic, validate
from fieldlab.discovery.cases import CASES, TRAINING_ICS, make_dataset, training_ics
from fieldlab.discovery.data import Dataset, load, save
from fieldlab.discovery.weak import weak_system
from fieldlab.errors import FieldlabError


def test_built_in_runs_start_from_the_training_conditions_and_share_the_noise_scale():
    one, three = make_dataset("case_a", "noise1", 3), make_dataset("case_a", "noise1", 3, runs=3)
    clean1, clean3 = make_dataset("case_a", "clean"), make_dataset("case_a", "clean", runs=3)
    assert three.u.shape == (3, 101, 101) and three.runs == 3 and one.runs == 1
    assert np.array_equal(clean3.run(0), clean1.run(0))  # the first run is the one-run data set
    x = clean3.x
    for j, (name, u0) in enumerate(training_ics(x, 3).items()):
        assert name == TRAINING_ICS[j]
        np.testing.assert_allclose(clean3.run(j)[0], u0, atol=1e-12)
    assert not np.allclose(clean3.run(1), clean3.run(2), atol=1e-2)
    assert three.meta["initial_condition"] == ["training", "step", "ripple"]
    assert three.meta["noise_sigma"] == pytest.approx(0.01 * np.std(clean3.u))
    z1 = (one.run(0) - clean1.run(0)) / one.meta["noise_sigma"]
    z3 = (three.run(0) - clean3.run(0)) / three.meta["noise_sigma"]
    np.testing.assert_allclose(z3, z1, atol=1e-8)  # the same standard normal draws for the first run
    with pytest.raises(FieldlabError, match="1 to 4 runs"):
        make_dataset("case_a", runs=5)


def test_noise_level_in_place_of_the_regimes():
    clean, base = make_dataset("case_c", "clean", runs=2), make_dataset("case_c", "noise1", 4, runs=2)
    louder = make_dataset("case_c", "noise1", 4, runs=2, noise=0.01 * np.sqrt(2))
    assert louder.meta["noise"] == pytest.approx(0.01 * np.sqrt(2))
    assert louder.meta["noise_sigma"] == pytest.approx(np.sqrt(2) * base.meta["noise_sigma"])
    np.testing.assert_allclose(louder.u - clean.u, np.sqrt(2) * (base.u - clean.u), atol=1e-12)  # the same draws
    assert np.array_equal(make_dataset("case_c", "noise1", 4, noise=0.0).u, make_dataset("case_c", "clean").u)
    with pytest.raises(FieldlabError, match="noise level must be >= 0"):
        make_dataset("case_c", noise=-0.01)


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_runs_round_trip_and_bad_shapes(tmp_path, suffix):
    ds = make_dataset("case_b", "sparse_xt", runs=2)
    back = load(save(ds, tmp_path / f"d{suffix}"))
    assert back.u.shape == (2, 26, 26) and np.array_equal(back.u, ds.u) and back.meta == ds.meta
    with pytest.raises(FieldlabError, match=r"\(runs, 26, 26\)"):
        save(Dataset(ds.x, ds.t, ds.u[:, :, :-1]), tmp_path / f"e{suffix}")
    with pytest.raises(FieldlabError, match="must have shape"):
        save(Dataset(ds.x, ds.t, ds.u[None]), tmp_path / f"f{suffix}")


def test_netcdf_runs_in_another_dimension_order_are_transposed(tmp_path):
    import xarray as xr

    ds = make_dataset("case_a", "sparse_xt", runs=2)
    arr = xr.DataArray(ds.u, dims=("run", "t", "x"), coords={"t": ds.t, "x": ds.x}, name="u")
    arr.transpose("x", "run", "t").to_dataset().to_netcdf(tmp_path / "d.nc", engine="scipy")
    assert np.array_equal(load(tmp_path / "d.nc").u, ds.u)
    arr.rename({"run": "sample"}).to_dataset().to_netcdf(tmp_path / "e.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="'run', 't', 'x'"):
        load(tmp_path / "e.nc")


def test_weak_system_of_runs_stacks_the_runs_equations():
    ds = make_dataset("case_c", "sparse_t", 1, runs=3)
    together = weak_system(ds.x, ds.t, ds.u)
    apart = [weak_system(ds.x, ds.t, ds.u[j:j + 1]) for j in range(3)]
    assert together.runs == 3 and together.n == sum(s.n for s in apart)
    assert together.n_independent == pytest.approx(3 * apart[0].n_independent)
    np.testing.assert_array_equal(together.b, np.concatenate([s.b for s in apart]))
    np.testing.assert_array_equal(together.u, ds.u.ravel())
    g = np.sin(3 * together.u)
    np.testing.assert_allclose(together.xx(g), np.concatenate([s.W_xx @ gj for s, gj in zip(apart, np.split(g, 3))]))
    np.testing.assert_allclose(together.zero(g), np.concatenate([s.W_0 @ gj for s, gj in zip(apart, np.split(g, 3))]))
    grid = np.linspace(together.u.min(), together.u.max(), 65)
    for A, parts in zip(together.fold(grid), zip(*(s.fold(grid) for s in apart))):
        np.testing.assert_allclose(A, np.concatenate(parts), atol=1e-14)
    G, R = np.cos(together.u), together.u**2
    np.testing.assert_allclose(together.residual(G, R), together.xx(G) + together.zero(R) - together.b)


def test_polynomial_fits_of_repeated_runs_are_those_of_one_run():
    ds = make_dataset("case_a", "noise1", 2)
    twice = np.concatenate([ds.u, ds.u])
    for one, two in ((poly.strong_poly(poly.strong_system(ds.x, ds.t, ds.u)),
                      poly.strong_poly(poly.strong_system(ds.x, ds.t, twice))),
                     (poly.weak_poly(weak_system(ds.x, ds.t, ds.u)), poly.weak_poly(weak_system(ds.x, ds.t, twice)))):
        np.testing.assert_allclose(two.d, one.d, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(two.r, one.r, rtol=1e-9, atol=1e-12)
        assert two.n == 2 * one.n


def test_more_runs_pin_down_case_b_weak_coefficients():
    """At 1 % noise, seed 0, one run leaves least-squares weak_poly 3.2 % off (the pipeline's GLS weak-poly: 0.36 %); three runs, each
    seen as densely, leave it within 0.5 % (0.11 % measured)."""
    truth = {"d": np.array([0.01, 0.0, 0.03]), "r": np.array([0.0, 1.0, -1.5, 0.5])}

    def worst(fit):
        return max(np.max(np.abs(getattr(fit, k) - v)[v != 0] / np.abs(v[v != 0])) for k, v in truth.items())

    one, three = make_dataset("case_b", "noise1", 0), make_dataset("case_b", "noise1", 0, runs=3)
    f1, f3 = poly.weak_poly(weak_system(one.x, one.t, one.u)), poly.weak_poly(weak_system(three.x, three.t, three.u))
    assert np.count_nonzero(f3.d) == 2 and np.count_nonzero(f3.r) == 3  # the true terms only
    assert worst(f3) < 5e-3 < 2e-2 < worst(f1)


def test_data_rollout_and_start_of_runs():
    ds = make_dataset("case_a", "sparse_xt", runs=2)
    xs, u0 = validate.simulation_start(ds.x, ds.u[:, 0], "neumann")
    for j in range(2):
        xj, uj = validate.simulation_start(ds.x, ds.run(j)[0], "neumann")
        np.testing.assert_array_equal(xj, xs)
        np.testing.assert_allclose(u0[j], uj, atol=1e-14)
    D, R = CASES["case_a"].D_fn(), CASES["case_a"].R_fn()
    sim = validate.data_rollout(D, R, ds.x, ds.t, ds.u)
    assert sim.shape == ds.u.shape
    for j in range(2):
        np.testing.assert_allclose(sim[j], validate.data_rollout(D, R, ds.x, ds.t, ds.u[j:j + 1])[0], atol=1e-12)
    assert np.max(np.abs(sim - ds.u)) < 1e-3  # the true closure re-simulates both runs of clean data


@pytest.mark.parametrize("jacobian", ["differences", "sensitivities"])
def test_polish_pair_of_runs_differentiates_each_runs_start_on_its_own(monkeypatch, jacobian):
    """The Jacobian of a fit to several runs costs one run's simulation per start correction (differences) or
    one augmented simulation per run (sensitivities): it must be the Jacobian of the whole misfit, which is
    zero in the other runs' rows. The differences are scipy's forward differences (step 1e-5), done run by
    run; the sensitivities are checked against central differences of step 1e-3, which the solver's own
    error (rtol 1e-7) does not swamp (forward differences of step 1e-5 differ from both by up to 66 % of a
    column's largest entry in the start corrections' columns: measured)."""
    ds = make_dataset("case_a", "sparse_xt", runs=2)
    fd = symbolic.fit_family(symbolic.D_FAMILIES[0], np.linspace(0, 1, 9), 0.011 + 0.048 * np.linspace(0, 1, 9))
    fr = symbolic.fit_family(symbolic.R_FAMILIES[0], np.linspace(0, 1, 9), 1.03 * np.linspace(0, 1, 9) * (1 - np.linspace(0, 1, 9)))
    seen = {}
    real = symbolic.least_squares

    step, method, rtol = (1e-5, "2-point", 1e-6) if jacobian == "differences" else (1e-3, "3-point", 3e-3)

    def spy(fun, p0, jac, **kwargs):
        seen["analytic"], seen["numeric"] = jac(p0), _numdiff.approx_derivative(fun, p0, rel_step=step, method=method)
        return real(fun, p0, jac=jac, **kwargs)

    monkeypatch.setattr(symbolic, "least_squares", spy)
    grid = np.linspace(ds.u.min(), ds.u.max(), 64)
    P = symbolic.polish_pair(fd, fr, ds.x, ds.t, ds.u, "neumann", grid, 4, modes=2, jacobian=jacobian)
    J, Jn = seen["analytic"], seen["numeric"]
    assert J.shape == (ds.u.size, 4 + 2 * 2)
    if jacobian == "differences":
        np.testing.assert_allclose(J, Jn, rtol=rtol, atol=1e-9 * np.max(np.abs(Jn)))
    else:  # measured: at most 1.2e-3 of a column's largest entry
        assert np.all(np.max(np.abs(J - Jn), axis=0) < rtol * np.max(np.abs(Jn), axis=0))
    half = ds.u[0].size
    assert np.all(J[half:, 4:6] == 0) and np.all(J[:half, 6:8] == 0) and np.max(np.abs(J[:half, 4:6])) > 0
    assert P.start[1].shape == (2, len(P.start[0])) and P.response.shape == (ds.u.size, 4)
    np.testing.assert_allclose(P.response.T @ P.response, np.eye(4), atol=1e-10)
    start_sse = float(np.sum((validate.data_rollout(fd.fn(), fr.fn(), ds.x, ds.t, ds.u) - ds.u) ** 2))
    assert P.sse < 0.1 * start_sse  # four evaluations already move the laws towards the data
    assert abs(P.D.a[1] - 0.05) < abs(fd.a[1] - 0.05)


def test_discover_cli_on_a_file_of_runs(tmp_path):
    runner = CliRunner()
    data = tmp_path / "runs.npz"
    res = runner.invoke(app, ["simulate", "--case", "case_a", "--regime", "sparse_xt", "--runs", "2", "--out", str(data)])
    assert res.exit_code == 0, res.output
    assert "26 times x 26 positions x 2 runs" in res.output
    res = runner.invoke(app, ["discover", str(data), "--methods", "strong-poly,weak-poly", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "o" / "closures.json").read_text())
    assert result["data"]["runs"] == 2 and "in each of 2 runs" in (tmp_path / "o" / "report.md").read_text()
    weak = result["methods"]["weak-poly"]
    assert set(weak["metrics"]["rollout"]) == {"run0", "run1"}  # each run re-simulated from its own first snapshot
    assert weak["metrics"]["rollout_mean"] < 1e-2
    assert np.allclose(weak["coefficients"]["D"], [0.01, 0.05, 0.0], atol=2e-3)
    res = runner.invoke(app, ["discover", str(data), "--runs", "2", "--methods", "weak-poly"])
    assert res.exit_code != 0 and "--runs is for the built-in cases" in res.output


def test_ties_of_runs_forecast_from_the_first_run():
    """pipeline.ties takes the forecast start from the first run of an estimated start of several runs."""
    ds = make_dataset("case_a", "sparse_xt", runs=2)
    fits = [symbolic.fit_family(f, np.linspace(0.05, 0.95, 50), CASES["case_a"].D_fn()(np.linspace(0.05, 0.95, 50)))
            for f in symbolic.D_FAMILIES[:2]]
    r = symbolic.fit_family(symbolic.R_FAMILIES[0], np.linspace(0.05, 0.95, 50), CASES["case_a"].R_fn()(np.linspace(0.05, 0.95, 50)))
    xs, u0 = validate.simulation_start(ds.x, ds.u[:, 0], "neumann")
    rows = [{"D": f.family, "R": "logistic", "k": f.n_params + 2, "bic": b, "aic": b, "weight": 0.5} for f, b in zip(fits, (0.0, 1.0))]
    sel = symbolic.Selection(fits[0], r, 0.0, 0.0, rows,
                             polished=[(row, symbolic.Polished(f, r, 0.0, (xs, u0))) for row, f in zip(rows, fits)])
    out = pipeline.ties(sel, "bic", 0.05, 0.95, ds.t, "neumann", (0.0, 0.0))
    assert len(out) == 1 and out[0]["family"]["D"] == "quadratic"
    alone = validate.forecast_divergence((fits[0].fn(), r.fn()), [(fits[1].fn(), r.fn())], (xs, u0[0]), ds.t)
    assert out[0]["forecast"]["at_horizon"] == pytest.approx(alone[0]["at_horizon"], rel=1e-12)


def test_discover_cli_on_built_in_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["discover", "--case", "case_a", "--regime", "sparse_xt", "--runs", "2",
                                   "--methods", "weak-poly"])
    assert res.exit_code == 0, res.output
    assert "26 times x 26 positions x 2 runs" in res.output
    result = json.loads((tmp_path / "discover-case_a-sparse_xt-s0-r2" / "closures.json").read_text())
    assert result["data"]["runs"] == 2 and result["data"]["initial_condition"] == ["training", "step"]
    weak = result["methods"]["weak-poly"]
    assert set(weak["metrics"]["rollout"]) == {"bump", "front", "cosine", "two_bumps"}  # unseen conditions
    assert weak["metrics"]["rollout_mean"] < 1e-3 and weak["metrics"]["ErrD"] < 1e-2
