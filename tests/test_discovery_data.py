"""Discovery data: cases and regimes, the data file formats and their checks, the `simulate` command."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.discovery import cases
from fieldlab.discovery.cases import CASES, NEW_CASES, PAPER_CASES, REGIMES, Closure, make_dataset, training_ic, validation_ics
from fieldlab.discovery.data import Dataset, load, save, validate
from fieldlab.errors import FieldlabError


def _small(nt=9, nx=12, meta=None):
    x = np.linspace(0.0, 1.0, nx)
    t = np.linspace(0.0, 0.5, nt)
    u = np.exp(-t)[:, None] * np.cos(np.pi * x)[None, :]
    return Dataset(x, t, u, {"case": "demo", "seed": np.int64(3), "level": np.float32(0.5)} if meta is None else meta)


# ---------------------------------------------------------------------------------------- formats


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_round_trip(tmp_path, suffix):
    ds = _small()
    path = save(ds, tmp_path / "sub" / f"d{suffix}")
    back = load(path)
    for name in ("x", "t", "u"):
        assert np.array_equal(getattr(back, name), getattr(ds, name))
        assert getattr(back, name).dtype == np.float64
    assert back.meta == {"case": "demo", "seed": 3, "level": 0.5}
    assert not list(path.parent.glob(".*tmp*"))


def test_nc_layout_and_transposed_variable(tmp_path):
    import xarray as xr

    ds = _small()
    save(ds, tmp_path / "d.nc")
    with xr.open_dataset(tmp_path / "d.nc", engine="scipy") as f:
        assert f["u"].dims == ("t", "x")
        assert json.loads(f.attrs["meta"])["case"] == "demo"
    arr = xr.DataArray(ds.u[0].T, dims=("x", "t"), coords={"x": ds.x, "t": ds.t}, name="u")
    arr.to_dataset().to_netcdf(tmp_path / "tr.nc", engine="scipy")
    back = load(tmp_path / "tr.nc")
    assert np.array_equal(back.u, ds.u) and back.meta == {}


def test_npz_without_meta_and_transposed_u(tmp_path):
    ds = _small()
    np.savez(tmp_path / "a.npz", x=ds.x, t=ds.t, u=ds.u[0].T)  # (x, t): unambiguous since 12 != 9
    back = load(tmp_path / "a.npz")
    assert np.array_equal(back.u, ds.u) and back.meta == {}


def _npz(tmp_path, **arrays):
    ds = _small()
    full = {"x": ds.x, "t": ds.t, "u": ds.u[0], **arrays}
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: v for k, v in full.items() if v is not None})
    return path


def _with_nan(a):
    a = np.array(a)
    a[1] = np.nan
    return a


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"u": None}, "lacks array(s) u"),
        ({"x": None, "t": None}, "lacks array(s) x, t"),
        ({"u": np.ones((9, 11))}, "'u' must have shape (len(t), len(x)) = (9, 12), or (runs, 9, 12) for several runs; got (1, 9, 11)"),
        ({"u": _with_nan(_small().u[0])}, "'u' has 12 NaN or infinite values"),
        ({"x": _with_nan(_small().x)}, "'x' has 1 NaN"),
        ({"t": np.where(np.arange(9) == 4, np.inf, _small().t)}, "'t' has 1 NaN or infinite"),
        ({"x": _small().x[::-1]}, "'x' must be strictly increasing"),
        ({"t": np.r_[0.0, 0.0, _small().t[2:]]}, "'t' must be strictly increasing"),
        ({"x": np.linspace(0, 1, 7), "u": np.random.default_rng(0).random((9, 7))},
         "'x' has 7 points; discovery needs at least 8"),
        ({"t": np.linspace(0, 1, 4), "u": np.random.default_rng(0).random((4, 12))},
         "'t' has 4 points; discovery needs at least 5"),
        ({"u": np.full((9, 12), 0.3)}, "'u' is constant"),
        ({"x": np.linspace(0, 1, 12)[:, None]}, "'x' must be 1-D"),
        ({"meta": np.array("{not json")}, "'meta' is not valid JSON"),
        ({"meta": np.array("[1, 2]")}, "'meta' must be a JSON object"),
        ({"meta": np.arange(3)}, "'meta' must be a single JSON string"),
        ({"u": np.array(["a"] * 108).reshape(9, 12)}, "x, t and u must be numeric"),
    ],
)
def test_bad_npz(tmp_path, arrays, fragment):
    path = _npz(tmp_path, **arrays)
    with pytest.raises(FieldlabError) as info:
        load(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_bad_files(tmp_path):
    import xarray as xr

    with pytest.raises(FieldlabError, match="does not exist"):
        load(tmp_path / "none.npz")
    (tmp_path / "d.csv").write_text("1,2")
    with pytest.raises(FieldlabError, match="unknown data format '.csv'; use a .npz or .nc"):
        load(tmp_path / "d.csv")
    with pytest.raises(FieldlabError, match="unknown data format"):
        save(_small(), tmp_path / "d.h5")
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(FieldlabError, match="not a readable .npz"):
        load(tmp_path / "junk.npz")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(FieldlabError, match="not a readable NetCDF"):
        load(tmp_path / "junk.nc")
    xr.Dataset({"v": ("t", np.arange(9.0))}).to_netcdf(tmp_path / "nou.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="no variable 'u' \\(found: v\\)"):
        load(tmp_path / "nou.nc")
    xr.Dataset({"u": (("time", "x"), np.ones((9, 12)))}).to_netcdf(tmp_path / "dims.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="dimensions \\('t', 'x'\\), or \\('run', 't', 'x'\\) for several runs; got \\('time', 'x'\\)"):
        load(tmp_path / "dims.nc")
    xr.Dataset({"u": (("t", "x"), np.random.default_rng(0).random((9, 12)))},
               coords={"t": np.arange(9.0)}).to_netcdf(tmp_path / "nox.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="lacks the coordinate 'x'"):
        load(tmp_path / "nox.nc")
    ds = _small()
    xr.DataArray(np.where(ds.u[0] > 0.9, np.nan, ds.u[0]), dims=("t", "x"), coords={"t": ds.t, "x": ds.x},
                 name="u").to_dataset().to_netcdf(tmp_path / "nan.nc", engine="scipy")
    with pytest.raises(FieldlabError, match="'u' has 4 NaN"):
        load(tmp_path / "nan.nc")


def test_save_refuses_bad_data_and_keeps_existing_file(tmp_path):
    path = save(_small(), tmp_path / "d.npz")
    before = path.read_bytes()
    bad = _small()
    bad.u[0, 0] = np.nan
    with pytest.raises(FieldlabError, match="NaN"):
        save(bad, path)
    with pytest.raises(FieldlabError, match="JSON-serialisable"):
        save(_small(meta={"f": object()}), path)
    assert path.read_bytes() == before


def test_non_uniform_grids_are_allowed(tmp_path):
    x = np.sort(np.random.default_rng(1).random(15))
    t = np.geomspace(0.1, 2.0, 6)
    ds = Dataset(x, t, np.outer(t, x), {})
    assert np.array_equal(load(save(ds, tmp_path / "n.nc")).x, x)


# ------------------------------------------------------------------------------------ closures


def test_case_formulas():
    u = np.array([0.0, 0.5, 1.0, 2.0])
    expect = {
        "case_a": (0.01 + 0.05 * u, u * (1 - u)),
        "case_b": (0.01 + 0.03 * u**2, u - 1.5 * u**2 + 0.5 * u**3),
        "case_c": (0.01 + 0.08 * u**2 / (1 + 4 * u**2), u / (1 + u) - 0.2 * u),
        "case_exp": (0.01 + 0.035 * (1 - np.exp(-2.5 * u)), u * (1.1 * np.exp(-1.4 * u) - 0.22)),
        "case_allee": (0.01 + 0.03 * u, 2 * u * (1 - u) * (u - 0.2)),
        "case_porous": (0.06 * u**1.5, u * (1 - u)),
        "case_sigmoid": (0.01 + 0.04 / (1 + np.exp(-(u - 0.5) / 0.08)), 0.8 * u * (1 - u)),
        "case_sign": (0.015 + 0.02 * u, u * (1.2 * np.exp(-2.5 * u) - 0.35)),
    }
    assert set(CASES) == set(expect)
    for name, (d, r) in expect.items():
        np.testing.assert_allclose(CASES[name].D_fn()(u), d, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(CASES[name].R_fn()(u), r, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(CASES["case_a"].D_fn()(np.array([0.2])), [0.02])
    np.testing.assert_allclose(CASES["case_b"].R_fn()(np.array([0.5])), [0.5 * 0.5 * 0.5 * 1.5])
    assert CASES["case_exp"].R_fn()(np.log(5) / 1.4) == pytest.approx(0.0, abs=1e-15)  # stable state
    assert CASES["case_c"].R_fn()(4.0) == pytest.approx(0.0, abs=1e-15)


def test_constant_closure_keeps_shape_and_bad_strings_fail():
    c = Closure("const", "0.02", "0")
    assert c.D_fn()(np.ones((3, 4))).shape == (3, 4)
    assert np.all(c.R_fn()(np.ones(5)) == 0.0)
    assert str(c.D_expr) == "0.0200000000000000"
    with pytest.raises(FieldlabError, match="unknown symbol\\(s\\) k"):
        Closure("bad", "k*u", "0")
    with pytest.raises(FieldlabError, match="cannot parse"):
        Closure("bad", "0.01 +* u", "0")


def test_regimes_table():
    assert {n: (r.noise, r.x_stride, r.t_stride) for n, r in REGIMES.items()} == {
        "clean": (0.0, 1, 1), "noise1": (0.01, 1, 1), "noise5": (0.05, 1, 1),
        "sparse_x": (0.0, 4, 1), "sparse_t": (0.0, 1, 4), "sparse_xt": (0.0, 4, 4)}


# -------------------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("regime, shape", [("clean", (101, 101)), ("noise1", (101, 101)), ("noise5", (101, 101)),
                                           ("sparse_x", (101, 26)), ("sparse_t", (26, 101)),
                                           ("sparse_xt", (26, 26))])
def test_dataset_shapes_strides_and_meta(regime, shape):
    ds = make_dataset("case_a", regime)
    reg = REGIMES[regime]
    assert ds.u.shape == (1, *shape) == (1, ds.t.size, ds.x.size)  # one run: (1, nt, nx)
    assert (ds.x[0], ds.x[-1], ds.t[0], ds.t[-1]) == (0.0, 1.0, 0.0, cases.T_END)
    clean = make_dataset("case_a", "clean")
    assert np.array_equal(ds.x, clean.x[:: reg.x_stride]) and np.array_equal(ds.t, clean.t[:: reg.t_stride])
    if reg.noise == 0:
        assert np.array_equal(ds.u, clean.u[:, :: reg.t_stride, :: reg.x_stride])
    m = ds.meta
    assert (m["case"], m["regime"], m["seed"], m["noise"], m["x_stride"], m["t_stride"], m["T"], m["bc"]) == (
        "case_a", regime, 0, reg.noise, reg.x_stride, reg.t_stride, cases.T_END, "neumann")
    assert (m["D"], m["R"]) == (CASES["case_a"].D, CASES["case_a"].R)
    json.dumps(m)


@pytest.mark.parametrize("regime, level", [("noise1", 0.01), ("noise5", 0.05)])
def test_noise_level_measured(regime, level):
    clean = make_dataset("case_a", "clean").u
    noisy = make_dataset("case_a", regime, seed=7).u
    measured = np.std(noisy - clean) / np.std(clean)
    assert measured == pytest.approx(level, rel=0.03)
    assert make_dataset("case_a", regime, seed=7).meta["noise_sigma"] == pytest.approx(level * np.std(clean))


def test_seeds_are_deterministic():
    a, b = make_dataset("case_a", "noise1", seed=1), make_dataset("case_a", "noise1", seed=1)
    assert np.array_equal(a.u, b.u)
    assert not np.array_equal(a.u, make_dataset("case_a", "noise1", seed=2).u)
    clean = make_dataset("case_a", "clean").u
    five = make_dataset("case_a", "noise5", seed=1).u
    np.testing.assert_allclose((a.u - clean) * 5, five - clean, atol=1e-12)  # same draws, another scale
    a.u[:] = 0.0  # a returned data set is the caller's: changing it leaves the cache alone
    assert np.array_equal(make_dataset("case_a", "noise1", seed=1).u, b.u)


@pytest.mark.parametrize("case", PAPER_CASES)
def test_training_data_probe_useful_range_and_validation_stays_inside(case):
    u = make_dataset(case, "clean").run(0)
    assert u.min() < 0.06 and u.max() > 0.94
    assert u.std() > 0.1
    # diffusion and reaction both act: neither term is negligible over the data
    x, cl = make_dataset(case, "clean").x, CASES[case]
    h = x[1] - x[0]
    flux = 0.5 * (cl.D_fn()(u[:, 1:]) + cl.D_fn()(u[:, :-1])) * np.diff(u, axis=1) / h
    diffusion = np.sqrt(np.mean((np.diff(flux, axis=1) / h) ** 2))
    reaction = np.sqrt(np.mean(cl.R_fn()(u) ** 2))
    assert 0.3 < diffusion / reaction < 5
    xo, to = cases.observation_grid()
    for name, u0 in validation_ics(xo).items():
        rollout = cases.simulate_truth(cl, u0, xo, to)
        assert u.min() - 0.01 <= rollout.min() and rollout.max() <= u.max() + 0.02, name


@pytest.mark.parametrize("case", NEW_CASES)
def test_new_cases_act_on_both_terms_and_lie_outside_the_polynomials(case):
    """The generalisation cases: the data span [0.05, 0.95], diffusion and reaction both act, and
    (all but the Allee case) the truth is no polynomial of the default degrees."""
    import sympy

    ds = make_dataset(case, "clean")
    u, x, cl = ds.run(0), ds.x, CASES[case]
    assert u.min() < 0.06 and u.max() > 0.94
    h = x[1] - x[0]
    flux = 0.5 * (cl.D_fn()(u[:, 1:]) + cl.D_fn()(u[:, :-1])) * np.diff(u, axis=1) / h
    diffusion = np.sqrt(np.mean((np.diff(flux, axis=1) / h) ** 2))
    reaction = np.sqrt(np.mean(cl.R_fn()(u) ** 2))
    assert 0.2 < diffusion / reaction < 8
    polynomial = cl.D_expr.is_polynomial(sympy.Symbol("u")) and cl.R_expr.is_polynomial(sympy.Symbol("u"))
    assert polynomial == (case == "case_allee")
    if case == "case_sign":  # the reaction changes sign inside the observed range
        r = cl.R_fn()(np.linspace(u.min(), u.max(), 50))
        assert r.max() > 0.02 and r.min() < -0.02


def test_validation_ics_are_new_and_in_range():
    x = np.linspace(0.0, 1.0, 101)
    train = training_ic(x)
    ics = validation_ics(x)
    assert len(ics) >= 3
    for name, u0 in ics.items():
        assert u0.shape == x.shape
        assert np.abs(u0 - train).max() > 0.3, name
        assert 0.04 < u0.min() and u0.max() < 0.96, name
    vals = list(ics.values())
    assert all(np.abs(a - b).max() > 0.3 for i, a in enumerate(vals) for b in vals[i + 1:])


def test_truth_is_converged():
    """Doubling the solver resolution changes the observed field far less than the 1 % noise."""
    xo, to = cases.observation_grid()
    x2 = np.linspace(0.0, 1.0, 2 * cases.NX_FINE - 1)
    fine = cases.simulate_truth(CASES["case_a"], training_ic(x2), x2, to)[:, :: 2 * cases.FINE_PER_OBS]
    assert np.abs(fine - make_dataset("case_a", "clean").u).max() < 1e-4


def test_unknown_case_and_regime():
    with pytest.raises(FieldlabError, match="unknown case 'case_z'; choose one of case_a, case_b, case_c, case_exp, case_allee"):
        make_dataset("case_z", "clean")
    with pytest.raises(FieldlabError, match="unknown regime 'noisy'; choose one of clean, noise1, noise5, sparse_x"):
        make_dataset("case_a", "noisy")


# ------------------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_cli_simulate_writes_loadable_file(tmp_path, suffix):
    out = tmp_path / f"data{suffix}"
    result = CliRunner().invoke(app, ["simulate", "--case", "case_a", "--regime", "sparse_x", "--seed", "2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "101 times x 26 positions" in result.output and str(out) in " ".join(result.output.split())
    ds = load(out)
    assert ds.u.shape == (1, 101, 26)
    assert np.array_equal(ds.u, make_dataset("case_a", "sparse_x", 2).u)
    assert ds.meta["seed"] == 2 and ds.meta["regime"] == "sparse_x"


def test_cli_simulate_bad_input(tmp_path):
    runner = CliRunner()
    npz, txt = str(tmp_path / "a.npz"), str(tmp_path / "a.txt")
    for args, fragment in [(["--case", "nope", "--out", npz], "unknown case 'nope'"),
                           (["--case", "case_a", "--regime", "x", "--out", npz], "unknown regime 'x'"),
                           (["--case", "case_a", "--out", txt], "unknown data format '.txt'")]:
        result = runner.invoke(app, ["simulate", *args])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert fragment in result.output
    assert not list(tmp_path.iterdir())


def test_data_in_tiny_units_are_not_called_constant():
    x, t = np.linspace(0, 1, 12), np.linspace(0, 1, 9)
    u = np.sin(np.pi * x)[None, :] * np.exp(-t)[:, None]
    ds = validate(Dataset(x, t, 1e-30 * u))
    assert ds.u.max() == pytest.approx(1e-30)
    with pytest.raises(FieldlabError, match="'u' is constant"):
        validate(Dataset(x, t, np.full((9, 12), 1e-30)))
