"""Results leave fieldlab (issue 19): grids and points to NumPy, CSV, NetCDF and VTK; `fieldlab export`;
figures for 1D, 3D and time-dependent problems; the user's own equinox module; NetCDF 4 data in."""

import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import numpy as np
import pytest
from typer.testing import CliRunner

import fieldlab
import fieldlab.problems
from fieldlab.cli import app
from fieldlab.errors import FieldlabError

RECIPE = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 10,
          "stages": [{"optimizer": "adam", "steps": 20, "lr": 5e-3}]}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _error_line(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "error:" in result.output
    return " ".join(result.output.split())


class Net(eqx.Module):
    """A user's own pointwise module: (2,) -> (1,)."""

    mlp: eqx.nn.MLP

    def __init__(self, key, width=8):
        self.mlp = eqx.nn.MLP(2, 1, width, 2, key=key)

    def __call__(self, z):
        return self.mlp(z)


def _untrained(problem):
    """A Run of an untrained network on ``problem`` (no compilation of training): for output checks."""
    from fieldlab.config import resolve
    from fieldlab.run import Run, _build_model, with_model_defaults
    from fieldlab.training.trainer import Trainer, _meta

    cfg = with_model_defaults(resolve({"problem": problem.name}, {"model": {"name": "mlp", "width": 4, "depth": 1}}))
    trainer = Trainer(problem, _build_model(problem, cfg), cfg, None, progress=False)
    return Run(None, cfg, problem, trainer.state.theta, trainer.static, [], [], state=_meta(trainer.state))


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """heat1d trained with the user's own module, into a run directory."""
    out = tmp_path_factory.mktemp("outputs") / "run"
    run = fieldlab.train("heat1d", Net(jax.random.PRNGKey(0)), RECIPE, out=out, progress=False)
    return out, run


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """heat1d with an (untrained) built-in backbone, saved as a run directory the command line can load."""
    out = tmp_path_factory.mktemp("outputs") / "mlp"
    run = _untrained(fieldlab.problems.get("heat1d"))
    run.save(out)
    return out, run


# -- the user's own module ----------------------------------------------------------------------------
def test_a_user_module_trains_saves_and_reloads_only_with_its_skeleton(user_run):
    out, run = user_run
    assert run.config.model.name == "user:Net" and (out / "model.json").is_file()
    assert run.metrics["steps"] == 20 and np.isfinite(run.metrics["rel_l2"])
    assert isinstance(run.module, Net)
    with pytest.raises(FieldlabError, match=r"your own module Net.*load_run\(.*model=Net"):
        fieldlab.load_run(out)
    loaded = fieldlab.load_run(out, model=Net(jax.random.PRNGKey(7)))  # other weights: replaced by the checkpoint's
    pts = np.array([[0.2, 0.3], [0.9, 1.0]])
    np.testing.assert_array_equal(loaded.predict(pts), run.predict(pts))
    with pytest.raises(FieldlabError, match="arrays of other shapes"):
        fieldlab.load_run(out, model=Net(jax.random.PRNGKey(7), width=9))
    assert "your own module Net" in _error_line(_invoke("export", out, "--out", out.parent / "u.nc"))


def test_the_module_contract_pointwise_batched_or_one_sentence():
    from fieldlab.models.user import Batched, adapt

    key = jax.random.PRNGKey(0)
    pointwise = eqx.nn.MLP(2, 3, 4, 1, key=key)
    assert adapt(pointwise, 2, 3) is pointwise

    class Batch(eqx.Module):
        lin: eqx.nn.Linear

        def __call__(self, Z):  # (n, 2) -> (n, 3) only
            if Z.ndim != 2:
                raise ValueError("a batch please")
            return jax.vmap(self.lin)(Z)

    batched = Batch(eqx.nn.Linear(2, 3, key=key))
    wrapped = adapt(batched, 2, 3)
    assert isinstance(wrapped, Batched)
    z = np.array([0.3, -0.2], np.float32)
    np.testing.assert_allclose(wrapped(z), batched(z[None])[0])
    # exact derivatives through the wrapper: the Jacobian of a linear map is its weight
    np.testing.assert_allclose(jax.jacfwd(wrapped)(z), batched.lin.weight, rtol=1e-6)
    with pytest.raises(FieldlabError, match=r"maps one point \(2,\) to \(2,\).*given \(2,\) it returned shape \(3,\)"):
        adapt(pointwise, 2, 2)
    with pytest.raises(FieldlabError, match="backbone name .* or an equinox.Module"):
        adapt(lambda z: z, 2, 1)
    with pytest.raises(FieldlabError, match="no floating-point arrays"):
        adapt(eqx.nn.Lambda(jax.numpy.tanh), 2, 2)
    with pytest.raises(FieldlabError, match="model options .* are for named backbones"):
        fieldlab.train("heat1d", pointwise, RECIPE, width=3)


# -- export ---------------------------------------------------------------------------------------------
def test_grid_specs_parse_or_are_one_sentence():
    from fieldlab.export import parse_grid

    assert parse_grid("256x101", ("x", "t")) == (256, 101)
    assert parse_grid(" 5 X 6 ", ("x", "t")) == (5, 6)
    with pytest.raises(FieldlabError, match="is not a grid"):
        parse_grid("256xabc", ("x", "t"))
    with pytest.raises(FieldlabError, match=r"gives 3 count\(s\), but the problem has 2"):
        parse_grid("4x4x4", ("x", "t"))
    with pytest.raises(FieldlabError, match="at least 2 points"):
        parse_grid("1x5", ("x", "t"))


def test_netcdf_grid_reopens_with_identical_values_and_units(user_run, tmp_path):
    import xarray as xr

    _, run = user_run
    path = run.export(tmp_path / "u.nc", grid=(17, 9), units={"x": "m", "t": "s", "u": "K"})
    axes, values = run.predict_grid((17, 9))
    with xr.open_dataset(path) as ds:
        assert ds["u"].dims == ("x", "t") and ds["u"].shape == (17, 9)
        np.testing.assert_array_equal(ds["u"].values, values[..., 0])
        np.testing.assert_array_equal(ds["x"].values, np.linspace(0, 1, 17))
        np.testing.assert_array_equal(ds["t"].values, axes[1])
        assert (ds["x"].attrs["units"], ds["t"].attrs["units"], ds["u"].attrs["units"]) == ("m", "s", "K")
        assert ds.attrs["problem"] == "heat1d"
    np.testing.assert_array_equal(values[3, 4], run.predict([[axes[0][3], axes[1][4]]])[0])


def test_vtk_grid_and_points_reopen_with_meshio(user_run, tmp_path):
    import meshio

    _, run = user_run
    axes, values = run.predict_grid((6, 5))
    for suffix in (".vtu", ".vtk"):
        mesh = meshio.read(run.export(tmp_path / f"u{suffix}", grid=(6, 5)))
        assert mesh.points.shape == (30, 3) and np.all(mesh.points[:, 2] == 0)
        assert [c.type for c in mesh.cells] == ["quad"] and len(mesh.cells[0].data) == 5 * 4
        np.testing.assert_allclose(mesh.point_data["u"], values.reshape(-1), rtol=1e-12)
        np.testing.assert_allclose(mesh.point_data["t"], mesh.points[:, 1])
    pts = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.7]])
    mesh = meshio.read(run.export(tmp_path / "p.vtu", points=pts))
    assert [c.type for c in mesh.cells] == ["vertex"]
    np.testing.assert_allclose(mesh.points[:, :2], pts)
    np.testing.assert_allclose(mesh.point_data["u"], run.predict(pts)[:, 0], rtol=1e-12)


def test_grid_cells_are_right_handed_lines_quads_and_hexahedra(tmp_path):
    import meshio

    from fieldlab.export import grid_cells, write_grid

    axes = (np.linspace(0, 1, 3), np.linspace(0, 2, 4), np.linspace(-1, 1, 5))
    values = np.random.default_rng(0).normal(size=(3, 4, 5, 2))
    write_grid(tmp_path / "b.vtu", ("x", "y", "z"), ("u", "v"), axes, values)
    mesh = meshio.read(tmp_path / "b.vtu")
    hexes = mesh.cells_dict["hexahedron"]
    assert hexes.shape == (2 * 3 * 4, 8)
    p = mesh.points[hexes[0]]
    assert np.dot(np.cross(p[1] - p[0], p[3] - p[0]), p[4] - p[0]) > 0  # positive volume
    np.testing.assert_allclose(mesh.point_data["v"], values[..., 1].ravel())
    assert grid_cells((4,))[0][1].tolist() == [[0, 1], [1, 2], [2, 3]]
    with pytest.raises(FieldlabError, match="no VTK cell"):
        write_grid(tmp_path / "c.vtu", ("x", "y", "z", "t"), ("u",), axes + (np.linspace(0, 1, 2),),
                   np.zeros((3, 4, 5, 2, 1)))


def test_export_command_writes_every_format_and_refuses_bad_input(mlp_run, tmp_path):
    import xarray as xr

    out, run = mlp_run
    _, values = run.predict_grid((8, 6))
    result = _invoke("export", out, "--out", tmp_path / "g.npy", "--grid", "8x6")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), values)
    result = _invoke("export", out, "--out", tmp_path / "g.csv", "--grid", "8x6")
    table = np.loadtxt(tmp_path / "g.csv", delimiter=",", skiprows=1)
    assert (tmp_path / "g.csv").read_text().splitlines()[0] == "x,t,u" and table.shape == (48, 3)
    np.testing.assert_array_equal(table[:, 2], values.reshape(-1))
    np.savetxt(tmp_path / "pts.csv", [[0.1, 0.2], [0.3, 0.4]], delimiter=",", header="x,t", comments="")
    result = _invoke("eval", out, "--points", tmp_path / "pts.csv", "--out", tmp_path / "p.nc", "--units", "u=K")
    assert result.exit_code == 0, result.output
    with xr.open_dataset(tmp_path / "p.nc") as ds:
        np.testing.assert_array_equal(ds["u"].values, run.predict([[0.1, 0.2], [0.3, 0.4]])[:, 0])
        assert ds["u"].attrs["units"] == "K" and ds["x"].attrs["units"] == "1"
    bad = [
        (("--grid", "8xy"), "g.nc", "is not a grid"),
        (("--grid", "8x6x4"), "g.nc", "gives 3 count(s)"),
        (("--grid", "8x6"), "g.txt", "must end in"),
        (("--grid", "8x6", "--points", tmp_path / "pts.csv"), "g.nc", "either --points or --grid"),
        (("--units", "u"), "g.nc", "not a list of units"),
        (("--units", "w=K"), "g.nc", "not coordinates or fields"),
    ]
    for args, name, fragment in bad:
        assert fragment in _error_line(_invoke("export", out, "--out", tmp_path / name, *args)), args
    assert "give --points FILE or --grid" in _error_line(_invoke("eval", out, "--out", tmp_path / "e.nc"))
    assert _invoke("eval", out, "--grid", "8x6", "--out", tmp_path / "e.npy").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), values)
    assert not (tmp_path / "g.nc").exists() and not (tmp_path / "g.txt").exists()


# -- figures --------------------------------------------------------------------------------------------
def test_figures_for_one_three_and_time_dependent_coordinates():
    from matplotlib.figure import Figure

    from fieldlab.report.figures import field_figures

    x = np.linspace(0, 1, 21)
    pred, ref = np.sin(x)[:, None], np.sin(x)[:, None] + 0.01
    figs = field_figures(("x",), ("u",), (x,), pred, ref)
    assert set(figs) == {"profile"}
    line = figs["profile"].axes[0].lines
    np.testing.assert_array_equal(line[0].get_ydata(), pred[:, 0])
    np.testing.assert_array_equal(line[1].get_ydata(), ref[:, 0])
    g = (np.linspace(0, 1, 5), np.linspace(0, 1, 6), np.linspace(0, 1, 7))
    vol = np.random.default_rng(0).normal(size=(5, 6, 7, 2))
    figs = field_figures(("x", "y", "z"), ("u", "v"), g, vol, vol + 1.0)
    assert set(figs) == {"slices", "error_slices"}
    assert len([a for a in figs["slices"].axes if a.images]) == 6  # 2 fields x 3 mid-planes
    # spatial planes: the plane's first coordinate across, its second up
    np.testing.assert_array_equal(figs["slices"].axes[0].images[0].get_array(), vol[:, :, 3, 0].T)
    assert (figs["slices"].axes[0].get_xlabel(), figs["slices"].axes[0].get_ylabel()) == ("x", "y")
    assert list(figs["slices"].axes[0].images[0].get_extent()) == [0, 1, 0, 1]
    figs = field_figures(("x", "y", "t"), ("u",), g, vol[..., :1], None, timed=True)
    assert set(figs) == {"snapshots"} and len([a for a in figs["snapshots"].axes if a.images]) == 4
    panel = figs["snapshots"].axes[0]
    assert (panel.get_xlabel(), panel.get_ylabel()) == ("x", "y")
    np.testing.assert_array_equal(panel.images[0].get_array(), vol[:, :, 0, 0].T)
    plane = vol[:, :, 0, :1]  # 5 x-values by 6 y- (or t-) values
    figs = field_figures(("x", "y"), ("u",), g[:2], plane, plane)
    ax = figs["prediction"].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y") and ax.images[0].get_array().shape == (6, 5)
    figs = field_figures(("x", "t"), ("u",), g[:2], plane, plane, timed=True)
    assert set(figs) == {"prediction", "reference", "error", "snapshots"}
    ax = figs["prediction"].axes[0]  # space-time: t across, x up
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("t", "x") and ax.images[0].get_array().shape == (5, 6)
    assert len(figs["snapshots"].axes[0].lines) == 2 * 5  # five times, predicted and reference
    assert all(isinstance(f, Figure) for f in figs.values())


def test_run_plot_returns_figures(user_run):
    from matplotlib.figure import Figure

    _, run = user_run
    figs = run.plot()
    assert set(figs) == {"prediction", "reference", "error", "snapshots", "curves"}
    assert all(isinstance(f, Figure) for f in figs.values())


def test_figure_code_keeps_a_non_agg_backend_in_a_fresh_process(tmp_path):
    code = textwrap.dedent(f"""
        import matplotlib
        matplotlib.use("pdf")
        import numpy as np
        from fieldlab.report.figures import field_figures, save
        x = np.linspace(0, 1, 9)
        v = np.random.default_rng(0).normal(size=(9, 9, 9, 1))
        figs = {{**field_figures(("x",), ("u",), (x,), v[:, 0, 0], v[:, 0, 0]),
                 **field_figures(("x", "y", "z"), ("u",), (x, x, x), v, v),
                 **field_figures(("x", "y", "t"), ("u",), (x, x, x), v, None, timed=True)}}
        for name, fig in figs.items():
            save(fig, r"{tmp_path}" + "/" + name + ".png")
        import matplotlib.pyplot  # pyplot after the figures: it must still find the pdf backend
        print(matplotlib.get_backend())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower() == "pdf"
    for name in ("profile", "slices", "error_slices", "snapshots"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


# -- data in --------------------------------------------------------------------------------------------
def test_discovery_reads_netcdf4_through_h5netcdf(tmp_path):
    pytest.importorskip("h5netcdf")
    pytest.importorskip("h5py")
    import xarray as xr

    from fieldlab.discovery import data

    x, t = np.linspace(0, 1, 12), np.linspace(0, 0.5, 7)
    u = np.exp(-t[:, None]) * np.sin(np.pi * x[None, :])
    arr = xr.DataArray(u.T, dims=("x", "t"), coords={"t": t, "x": x}, name="u")  # stored (x, t): transposed on reading
    arr.to_dataset().assign_attrs(meta='{"case": "mine"}').to_netcdf(tmp_path / "obs.nc", engine="h5netcdf")
    assert (tmp_path / "obs.nc").read_bytes()[:4] == b"\x89HDF"
    assert data.netcdf_engine(tmp_path / "obs.nc") == "h5netcdf"
    ds = data.load(tmp_path / "obs.nc")
    np.testing.assert_array_equal(ds.u, u[None])
    np.testing.assert_array_equal(ds.x, x)
    assert ds.meta == {"case": "mine"}
    (tmp_path / "bad.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(FieldlabError, match=r"not a readable NetCDF 4 \(HDF5\) file"):
        data.load(tmp_path / "bad.nc")
    arr.to_dataset().drop_vars("u").assign(v=arr).to_netcdf(tmp_path / "nou.nc", engine="h5netcdf")
    with pytest.raises(FieldlabError, match="has no variable 'u'"):
        data.load(tmp_path / "nou.nc")


def test_a_disk_exports_nan_outside_and_a_box_draws_slices_and_hexahedra(tmp_path):
    import meshio
    import xarray as xr

    from fieldlab.geometry import Box, Disk

    def lap(F, p):
        return F.d("u", "x", "x") + F.d("u", "y", "y")

    disk = fieldlab.Problem(name="disk", coords=("x", "y"), fields=("u",), domain=Disk((0.0, 0.0), 1.0),
                            equations={"pde": lap}, conditions={"rim": fieldlab.Dirichlet("u", 0.0)})
    run = _untrained(disk)
    axes, values = run.predict_grid((11, 11))
    assert np.isnan(values[0, 0, 0]) and np.isfinite(values[5, 5, 0])  # the box's corner lies outside the disk
    with xr.open_dataset(run.export(tmp_path / "d.nc", grid=(11, 11))) as ds:
        np.testing.assert_array_equal(ds["u"].values, values[..., 0])  # NaN where NaN
    assert set(run.plot()) == {"prediction"}  # no reference: the prediction alone
    _, inside = run.predict_grid((11, 11), allow_outside=True)
    assert np.isfinite(inside).all()

    def lap3(F, p):
        return F.d("u", "x", "x") + F.d("u", "y", "y") + F.d("u", "z", "z")

    box = fieldlab.Problem(name="box", coords=("x", "y", "z"), fields=("u",), domain=Box((0, 0, 0), (1, 2, 3)),
                           equations={"pde": lap3}, conditions={"walls": fieldlab.Dirichlet("u", 0.0)})
    run = _untrained(box)
    assert set(run.plot()) == {"slices"}
    mesh = meshio.read(run.export(tmp_path / "b.vtu", grid=(3, 4, 5)))
    assert len(mesh.cells_dict["hexahedron"]) == 2 * 3 * 4 and mesh.points[:, 2].max() == 3.0
