"""Closure discovery on 2-D data: the 2-D weak form, the weak-poly-2d method, 2-D data sets, forecasts by simulate2d."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.discovery import pipeline, species, system_cases, weak
from fieldlab.discovery.data import Dataset, load, save
from fieldlab.discovery.solver import simulate2d
from fieldlab.discovery.systems import coefficient_errors, coefficients_of, run_system_discovery
from fieldlab.discovery.weak2d import default_widths_nd, space_time_operators
from fieldlab.errors import FieldlabError

runner = CliRunner()

# Fisher-KPP u_t = D0 lap u + r u (1 - u) has the exact plane wave u = (1 + exp(z / l))^-2, z = n.x - c t - z0,
# with l = sqrt(6 D0 / r) and c = 5 sqrt(r D0 / 6) (Ablowitz and Zeppetella 1979), for any unit vector n.
D0, RATE = 0.01, 1.0


def _wave(x, y, t):
    ell, c = np.sqrt(6 * D0 / RATE), 5 * np.sqrt(RATE * D0 / 6)
    X, Y = np.meshgrid(x, y, indexing="ij")
    z = 0.8 * X + 0.6 * Y - c * np.asarray(t)[:, None, None] - 0.5
    return (1 + np.exp(z / ell)) ** -2.0


def test_operators_in_one_dimension_are_the_1d_weak_form():
    x, t = np.linspace(0, 1, 21), np.linspace(0, 2, 31)
    for a, b in zip(weak.operators(x, t, 0.2, 0.1), space_time_operators((x,), t, (0.2,), 0.1)):
        assert abs(a - b).max() == 0.0


def test_weak_residual_of_the_exact_wave_is_quadrature_level_for_the_true_closure_only():
    x, t = np.linspace(0, 1, 21), np.linspace(0, 2, 21)
    u = _wave(x, x, t).ravel()
    hs, ht = default_widths_nd((x, x), t)
    W_t, W_lap, W_0 = space_time_operators((x, x), t, hs, ht)
    b = -(W_t @ u)

    def residual(d, r):
        return np.linalg.norm(W_lap @ (d * u) + W_0 @ (r * u * (1 - u)) - b) / np.linalg.norm(b)

    ones = np.ones_like(u)  # the constant of G drops out (up to the Gauss rule on the interval holding a support's end)
    assert abs(W_lap @ ones).max() < 1e-5 * (abs(W_lap) @ ones).max()
    assert residual(D0, RATE) < 1e-4
    assert residual(2 * D0, RATE) > 5e-2 and residual(D0, 1.1 * RATE) > 5e-2


def test_clean_recovery_from_the_exact_wave():
    x, t = np.linspace(0, 1, 21), np.linspace(0, 2, 21)
    law = species.fit_system(Dataset(x, t, _wave(x, x, t), y=x)).laws[0]
    assert law.coefficients().keys() == {"D:1", "R:u", "R:u**2"}
    np.testing.assert_allclose([law.d[0], law.r[1], law.r[2]], [D0, RATE, -RATE], rtol=1e-4)


@pytest.fixture(scope="module")
def fisher_noisy():
    return system_cases.make_system_dataset("fisher2d", "noise1", seed=0)


def test_noisy_recovery_of_the_builtin_case_and_a_wrong_library_fails(fisher_noisy):
    ds = fisher_noisy
    assert ds.kind == "2d" and ds.u.shape == (1, 81, 33, 33) and ds.y.size == 33
    truth = system_cases.SYSTEM_CASES["fisher2d"].coefficients()
    found = pipeline.discover(ds)  # the default: every method that supports 2-D data
    assert list(found) == ["weak-poly-2d"]
    err = coefficient_errors(coefficients_of(found["weak-poly-2d"], ds.species), truth)[0]
    assert err["spurious"] == [] and err["max_true"] < 0.03
    wrong = species.fit_system(ds, deg_d=0).laws[0]  # a constant diffusivity cannot express D = 0.005 + 0.02 u
    assert coefficient_errors([wrong.coefficients()], truth)[0]["D"] > 0.3


def test_forecast_by_simulate2d_and_the_report(fisher_noisy, tmp_path):
    axes = (np.linspace(0, 1, 33),) * 2  # a coarse forecast grid keeps the test short; truth and closure share it
    ics = {"bump": system_cases.system_ics("fisher2d", axes, "validation")["bump"]}
    result = run_system_discovery(fisher_noisy, tmp_path, truth=system_cases.SYSTEM_CASES["fisher2d"], ics=ics, x=axes,
                                  t=fisher_noisy.t[::4], assess=False)  # the assessment: test_cli_discovers_a_2d_file
    mt = result["methods"]["weak-poly-2d"]["metrics"]
    assert mt["forecast"]["bump"]["rel_l2"] < 1e-2 and mt["ErrD"][0] < 0.03
    saved = json.loads((tmp_path / "closures.json").read_text())
    assert saved["data"]["kind"] == "2d" and saved["methods"]["weak-poly-2d"]["D"].startswith("0.00")
    report = (tmp_path / "report.md").read_text()
    assert "Closure discovery: 2d" in report and "| bump |" in report


def _small_2d(runs=1):
    x, y, t = np.linspace(0, 1, 17), np.linspace(0, 0.8, 13), np.linspace(0, 1, 21)
    X, Y = np.meshgrid(x, y, indexing="ij")
    u0 = 0.1 + 0.7 * np.exp(-((X - 0.4) ** 2 + (Y - 0.4) ** 2) / 0.05)
    u = simulate2d(lambda u: 0.01 + 0.02 * u, lambda u: u * (1 - u), u0.T, x, y, t).transpose(0, 2, 1)
    return Dataset(x, t, np.stack([u] * runs) if runs > 1 else u, {"case": "demo"}, y=y)


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_round_trip_2d(tmp_path, suffix):
    for ds in (_small_2d(), _small_2d(runs=2)):
        back = load(save(ds, tmp_path / f"d{ds.runs}{suffix}"))
        assert back.kind == "2d" and back.runs == ds.runs and back.meta == {"case": "demo"}
        for name in ("x", "y", "t", "u"):
            assert np.array_equal(getattr(back, name), getattr(ds, name))
        assert back.stacked.shape == (ds.runs, 21, 17, 13)


def test_bad_2d_inputs_raise():
    ds = _small_2d()
    with pytest.raises(FieldlabError, match=r"'u' must have shape \(len\(t\), len\(x\), len\(y\)\) = \(21, 17, 13\)"):
        save(Dataset(ds.x, ds.t, ds.u[..., :-1], y=ds.y), "/tmp/never.npz")
    with pytest.raises(FieldlabError, match="'y' must be strictly increasing"):
        save(Dataset(ds.x, ds.t, ds.u, y=ds.y[::-1]), "/tmp/never.npz")
    with pytest.raises(FieldlabError, match="'y' has 4 points"):
        save(Dataset(ds.x, ds.t, ds.u[..., :4], y=ds.y[:4]), "/tmp/never.npz")
    with pytest.raises(FieldlabError, match="cannot handle 2d data; the ones that can: weak-poly-2d"):
        pipeline.discover(ds, "weak-poly")
    with pytest.raises(FieldlabError, match="cannot handle 1d data; the ones that can: strong-poly"):
        pipeline.discover(Dataset(ds.x, ds.t, ds.u[..., 3]), "weak-poly-2d")
    with pytest.raises(FieldlabError, match="system cases take the regimes clean, noise1 or noise5"):
        system_cases.make_system_dataset("fisher2d", "sparse_x")


def test_cli_discovers_a_2d_file(tmp_path):
    save(_small_2d(), tmp_path / "d.npz")
    result = runner.invoke(app, ["discover", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "13 positions" in result.output and "rollout rel L2" in result.output
    assert "data support R for u in" in result.output  # the assessment runs for 2-D data
    saved = json.loads((tmp_path / "o" / "closures.json").read_text())
    assert list(saved["methods"]) == ["weak-poly-2d"]
    assert saved["methods"]["weak-poly-2d"]["metrics"]["rollout"]["run0"]["rel_l2"] < 2e-2
    bad = runner.invoke(app, ["discover", str(tmp_path / "d.npz"), "--methods", "neural", "--out", str(tmp_path / "p")])
    assert bad.exit_code != 0 and "cannot handle 2d data" in bad.output


def test_netcdf_2d_in_another_dimension_order_is_transposed(tmp_path):
    import xarray as xr

    ds = _small_2d()
    arr = xr.DataArray(ds.u[0].transpose(0, 2, 1), dims=("t", "y", "x"), coords={"t": ds.t, "y": ds.y, "x": ds.x}, name="u")
    arr.to_dataset().to_netcdf(tmp_path / "yx.nc", engine="scipy")
    back = load(tmp_path / "yx.nc")
    assert back.kind == "2d" and np.array_equal(back.u, ds.u) and np.array_equal(back.y, ds.y)
    bad = xr.Dataset({"u": arr, "v": xr.DataArray(ds.u[0, :, :, 0], dims=("t", "x"), coords={"t": ds.t, "x": ds.x})})
    bad.to_netcdf(tmp_path / "bad.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="'v' must have dimensions"):
        load(tmp_path / "bad.nc")
