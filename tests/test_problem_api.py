"""The Problem API as a user meets it: scattered references, one convention for condition callables,
point and multi-field conditions, per-condition point counts, boundary parts of combined shapes,
approximate distance functions for hard constraints, and defaults that scale with the problem."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fieldlab
from fieldlab import Data, Dirichlet, Initial, Neumann, Point, Problem, Reference
from fieldlab.errors import FieldlabError
from fieldlab.geometry import Box, Disk, Interval, Polygon, TimeInterval
from fieldlab.training.recipe import Recipe, Sampling
from fieldlab.training.trainer import condition_counts, sample_batch

SQUARE = Box((0.0, 0.0), (1.0, 1.0))
HOLES = [Disk((0.3, 0.3), 0.1), Disk((0.7, 0.3), 0.1), Disk((0.3, 0.7), 0.1), Disk((0.7, 0.7), 0.1)]


def _holed():
    domain = SQUARE
    for h in HOLES:
        domain = domain - h
    return domain


def _problem(domain, coords, conditions, fields=("u",), **kw):
    return Problem("t", coords, fields, domain, {"pde": lambda F, p: 0.0 * F.values[0]}, conditions, **kw)


def _residuals(pb, name, u, n=64):
    batch = pb.conditions[name].sample(pb, n, 0, "random")
    batch = {k: jnp.asarray(v) for k, v in batch.items()}
    cond = pb.conditions[name]
    return np.asarray(jax.vmap(lambda item: cond.residual(lambda z: pb.fields_at(u, z), item, {}))(batch))


# ------------------------------------------------------------------------------------- references
def test_reference_at_scattered_points_and_time_slices():
    pts = np.random.default_rng(0).uniform(0, 1, (50, 2))
    ref = Reference.at_points(pts, pts[:, 0] * 2, "exact")
    assert not ref.grid and ref.points.shape == (50, 2) and ref.flat.shape == (50, 1)
    assert np.array_equal(ref.flat[:, 0], pts[:, 0] * 2)
    times = np.array([0.0, 0.5, 1.0])
    vals = np.stack([pts[:, :1] * t for t in times])  # (3, 50, 1)
    sliced = Reference.at_points(pts, vals, times=times)
    assert sliced.points.shape == (150, 3) and sliced.flat.shape == (150, 1)
    # slice by slice, time last: each row's value is x * t
    assert np.allclose(sliced.flat[:, 0], sliced.points[:, 0] * sliced.points[:, 2])
    with pytest.raises(FieldlabError, match="do not match"):
        Reference.at_points(pts, np.zeros((49, 1)))
    grid = Reference((np.linspace(0, 1, 3), np.linspace(0, 1, 4)), np.zeros((3, 4, 1)))
    assert grid.grid and grid.points.shape == (12, 2)
    with pytest.raises(FieldlabError, match="needs values of shape"):
        Reference((np.linspace(0, 1, 3), np.linspace(0, 1, 4)), np.zeros((4, 3, 1)))


def test_reference_from_csv_and_netcdf(tmp_path):
    import xarray as xr

    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1, (40, 2))
    u, v = np.sin(pts[:, 0]), pts[:, 1] ** 2
    np.savetxt(tmp_path / "ref.csv", np.column_stack([u, pts, v, np.ones(40)]), delimiter=",",
               header="u,x,y,v,note", comments="")
    ref = Reference.from_csv(tmp_path / "ref.csv", coords=("x", "y"), fields=("u", "v"))
    assert ref.fields == ("u", "v") and np.allclose(ref.points, pts) and np.allclose(ref.flat, np.column_stack([u, v]))
    assert Reference.from_csv(tmp_path / "ref.csv", coords=("x", "y")).fields == ("u", "v", "note")
    with pytest.raises(FieldlabError, match="no column"):
        Reference.from_csv(tmp_path / "ref.csv", coords=("x", "t"))

    # NetCDF-4 (h5netcdf): scattered points along one dimension
    xr.Dataset({"x": ("point", pts[:, 0]), "y": ("point", pts[:, 1]), "u": ("point", u)}).to_netcdf(
        tmp_path / "pts.nc", engine="h5netcdf")
    ref = Reference.from_netcdf(tmp_path / "pts.nc", coords=("x", "y"))
    assert not ref.grid and ref.fields == ("u",) and np.allclose(ref.points, pts) and np.allclose(ref.flat[:, 0], u)
    # a coordinate on another dimension of the same length is not paired point by point
    xr.Dataset({"x": ("point", pts[:3, 0]), "t": ("time", [0.0, 0.5, 1.0]), "u": ("point", u[:3])}).to_netcdf(
        tmp_path / "mixed.nc", engine="h5netcdf")
    with pytest.raises(FieldlabError, match=r"coordinate\(s\) \['t'\] run along"):
        Reference.from_netcdf(tmp_path / "mixed.nc", coords=("x", "t"))
    # scattered points x time slices
    t = np.array([0.0, 0.5, 1.0])
    w = np.outer(t, pts[:, 0])  # (time, point)
    xr.Dataset({"u": (("time", "point"), w)}, coords={"x": ("point", pts[:, 0]), "y": ("point", pts[:, 1]),
                                                      "t": ("time", t)}).to_netcdf(tmp_path / "slices.nc", engine="h5netcdf")
    ref = Reference.from_netcdf(tmp_path / "slices.nc", coords=("x", "y", "t"))
    assert np.array_equal(ref.times, t) and ref.points.shape == (120, 3)
    assert np.allclose(ref.flat[:, 0], ref.points[:, 0] * ref.points[:, 2])
    # a tensor grid, stored in another dimension order
    gx, gy = np.linspace(0, 1, 5), np.linspace(0, 2, 3)
    xr.Dataset({"u": (("y", "x"), np.add.outer(gy, 10 * gx))}, coords={"x": gx, "y": gy}).to_netcdf(
        tmp_path / "grid.nc", engine="h5netcdf")
    ref = Reference.from_netcdf(tmp_path / "grid.nc", coords=("x", "y"))
    assert ref.grid and ref.values.shape == (5, 3, 1)
    assert np.allclose(ref.flat[:, 0], 10 * ref.points[:, 0] + ref.points[:, 1])


def test_predictions_exported_to_netcdf_load_back_as_a_reference(tmp_path):
    from fieldlab.export import write_points

    pts = np.random.default_rng(2).uniform(0, 1, (30, 2))
    write_points(tmp_path / "u.nc", ("x", "y"), ("u", "v"), pts, np.column_stack([pts[:, 0], -pts[:, 1]]), "p")
    ref = Reference.from_netcdf(tmp_path / "u.nc", coords=("x", "y"))
    assert ref.fields == ("u", "v") and np.allclose(ref.points, pts) and np.allclose(ref.flat[:, 1], -pts[:, 1])


def test_figures_of_scattered_time_slices(tmp_path):
    from fieldlab.run import _scattered_figures

    space = _holed()
    pb = _problem(space * TimeInterval(0.0, 1.0), ("x", "y", "t"), {})
    pts = space.sample_interior(200, seed=1)
    times = np.array([0.0, 1.0])
    vals = np.stack([np.sin(pts[:, :1]) * (1 + t) for t in times])
    ref = Reference.at_points(pts, vals, times=times)
    from fieldlab.report.figures import save

    for name, fig in _scattered_figures(pb, ref, vals + 0.01, ("u",)).items():
        save(fig, tmp_path / f"{name}.png")
    assert all((tmp_path / f"{n}.png").stat().st_size > 5000 for n in ("prediction", "reference", "error"))
    line = _problem(Interval(0, 1) * TimeInterval(0.0, 1.0), ("x", "t"), {})
    xs = np.linspace(0, 1, 30)[:, None]
    ref1 = Reference.at_points(xs, np.stack([xs * t for t in (0.0, 0.5, 1.0)]), times=[0.0, 0.5, 1.0])
    figs = _scattered_figures(line, ref1, ref1.values, ("u",))  # (x, t) drawn together
    assert sorted(figs) == ["error", "prediction", "reference"]


def test_run_evaluate_and_figures_with_a_scattered_reference(tmp_path):
    from fieldlab import metrics
    from fieldlab.config import resolve
    from fieldlab.run import Run, _build_model
    from fieldlab.training.trainer import init_theta

    domain = _holed()
    pts = domain.sample_interior(300, seed=3)
    ref = Reference.at_points(pts, np.cos(np.pi * pts[:, :1]), "exact")
    pb = _problem(domain, ("x", "y"), {"walls": Dirichlet("u", 0.0)}, reference=ref)  # a Reference, not a function
    config = resolve({"problem": "t", "model": {"name": "mlp", "width": 8, "depth": 2}})
    theta, static = init_theta(pb, _build_model(pb, config), jnp.float32)
    run = Run(tmp_path, config, pb, theta, static, [], [])
    got = run.evaluate()
    assert got["rel_l2"] == pytest.approx(metrics.rel_l2(run.predict(pts), ref.flat), rel=1e-6)
    run.write_report()
    for name in ("prediction.png", "reference.png", "error.png"):
        assert (tmp_path / name).stat().st_size > 5000
    with pytest.raises(FieldlabError, match="coordinate"):
        _problem(domain, ("x", "y"), {}, reference=Reference.at_points(pts[:, :1], pts[:, :1]))


# ------------------------------------------------------------------------------- callables
def test_condition_values_may_use_numpy_or_jax_and_errors_name_the_condition():
    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    u = lambda z: jnp.array([jnp.sin(jnp.pi * z[0]) * (1 + z[1])])  # noqa: E731
    for value in (lambda x, t: np.sin(np.pi * x), lambda x, t: jnp.sin(jnp.pi * x)):
        pb = _problem(domain, ("x", "t"), {"start": Initial("u", value)})
        assert np.abs(_residuals(pb, "start", u)).max() < 1e-5
    # where= with jax.numpy works as well as with NumPy
    pb = _problem(domain, ("x", "t"), {"left": Dirichlet("u", 0.0, where=lambda x, t: jnp.isclose(x, 0.0))})
    assert np.allclose(pb.conditions["left"].sample(pb, 20, 0, "random")["z"][:, 0], 0.0)
    # a value that cannot take arrays: one sentence naming the condition and the convention
    pb = _problem(domain, ("x", "t"), {"start": Initial("u", lambda x, t: math.sin(x))})
    with pytest.raises(FieldlabError, match=r"condition 'start': the value of Initial fails on the coordinate arrays.*np\.sin"):
        sample_batch(pb, Recipe(), 0, jnp.float32)


# ----------------------------------------------------------------------- several fields, points
def test_one_condition_on_several_fields_and_a_point_pin():
    pb = _problem(SQUARE, ("x", "y"), {
        "walls": Dirichlet(fields=("u", "v"), value=(0.0, lambda x, y: x * y)),
        "walls2": Dirichlet(("u", "v"), lambda x, y: (0 * x, x * y)),  # one callable returning one array per field
        "lid": Dirichlet(fields=("u", "v"), value=lambda x, y: np.stack([0 * x, x * y], axis=1)),
        "pin": Point([0.5, 0.5], 0.25, fields="v"),
        "pins": Point([[0.5, 0.5], [0.2, 0.4]], lambda x, y: (0 * x, x * y), fields=("u", "v")),
    }, fields=("u", "v", "p"))
    uvp = lambda z: jnp.array([0.0 * z[0], z[0] * z[1], 3.0])  # noqa: E731
    for name in ("walls", "walls2", "lid", "pin", "pins"):
        r = _residuals(pb, name, uvp)
        assert np.abs(r).max() < 1e-6, name
        assert r.shape[1] == (1 if name == "pin" else 2)
    wrong = lambda z: jnp.array([0.1, z[0] * z[1], 3.0])  # noqa: E731
    assert np.abs(_residuals(pb, "walls", wrong)[:, 0]).min() == pytest.approx(0.1, rel=1e-5)
    assert len(pb.conditions["pins"].sample(pb, 5, 0, "random")["z"]) == 2  # every point, whatever the count
    with pytest.raises(FieldlabError, match="pass fields"):
        _problem(SQUARE, ("x", "y"), {"pin": Point([0.5, 0.5], 0.0)}, fields=("u", "p"))
    with pytest.raises(FieldlabError, match="refers to field 'w'"):
        _problem(SQUARE, ("x", "y"), {"w": Dirichlet(fields=("u", "w"))}, fields=("u", "v"))
    with pytest.raises(FieldlabError, match="2 values for the 3 field"):
        pb3 = _problem(SQUARE, ("x", "y"), {"w": Dirichlet(fields=("u", "v", "p"), value=(0.0, 1.0))}, fields=("u", "v", "p"))
        pb3.conditions["w"].sample(pb3, 4, 0, "random")
    assert "Point" in fieldlab.__all__


# ------------------------------------------------------------------ boundary parts and counts
def test_on_selects_the_boundary_of_one_shape_of_a_combined_domain():
    domain = _holed()
    pb = _problem(domain, ("x", "y"), {"hole": Neumann("u", 0.0, on=HOLES[1]), "outer": Dirichlet("u", 0.0, on=SQUARE),
                                       "two": Dirichlet("u", 0.0, on=HOLES[2:])})
    s = pb.conditions["hole"].sample(pb, 100, 0, "sobol")
    rel = s["z"] - HOLES[1].center
    assert np.allclose(np.linalg.norm(rel, axis=1), 0.1)
    assert np.all(np.sum(s["normal"] * rel, axis=1) < 0)  # the domain's outward normal points into the hole
    z = pb.conditions["outer"].sample(pb, 100, 0, "random")["z"]
    assert np.all(np.isclose(z, 0.0) | np.isclose(z, 1.0), axis=None) or np.all(
        np.isclose(z, 0.0).any(axis=1) | np.isclose(z, 1.0).any(axis=1))
    z = pb.conditions["two"].sample(pb, 200, 0, "random")["z"]
    near = [np.isclose(np.linalg.norm(z - h.center, axis=1), 0.1) for h in HOLES]
    assert near[2].any() and near[3].any() and not (near[0] | near[1]).any() and np.all(near[2] | near[3])
    away = _problem(domain, ("x", "y"), {"c": Dirichlet("u", 0.0, on=Disk((0.5, 0.5), 0.05))})
    with pytest.raises(FieldlabError, match="condition 'c'.*selects no part of the boundary"):
        sample_batch(away, Recipe(), 0, jnp.float32)


def test_point_counts_follow_the_boundary_measure_with_a_floor():
    domain = _holed()
    conds = {"outer": Dirichlet("u", 0.0, on=SQUARE), **{f"h{i}": Dirichlet("u", 0.0, on=h) for i, h in enumerate(HOLES)},
             "own": Dirichlet("u", 0.0, on=HOLES[0], count=7)}
    pb = _problem(domain, ("x", "y"), conds)
    counts = condition_counts(pb, Sampling(boundary=400))
    total = 4 + 4 * 2 * np.pi * 0.1
    assert counts["outer"] == pytest.approx(400 * 4 / total, abs=12)
    for i in range(4):  # each small hole: its share (about 39), not the square's 250
        assert counts[f"h{i}"] == pytest.approx(400 * 2 * np.pi * 0.1 / total, abs=6)
    assert counts["own"] == 7
    assert sum(counts[k] for k in counts if k != "own") == pytest.approx(400, abs=15)
    tiny = condition_counts(_problem(domain, ("x", "y"), {"h": Dirichlet("u", 0.0, on=HOLES[0])}), Sampling(boundary=1000))
    assert tiny["h"] == 100  # the floor: boundary / 10
    assert condition_counts(pb, Sampling(boundary=400, split="each"))["h0"] == 400
    batch = sample_batch(pb, Recipe(sampling={"boundary": 400}), 0, jnp.float32)
    assert {k: int(v["z"].shape[0]) for k, v in batch.items() if k != "interior"} == counts
    # the whole boundary keeps the recipe's count
    assert condition_counts(_problem(domain, ("x", "y"), {"all": Dirichlet("u", 0.0)}), Sampling())["all"] == 200


# -------------------------------------------------------------------- distance functions
@pytest.mark.parametrize("domain", [_holed(), SQUARE | Disk((1.0, 0.5), 0.4), Box((0, 0), (2, 1)) & Disk((1, 0), 0.9),
                                    Polygon([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]), Interval(-1.0, 2.0),
                                    Box((0, 0, 0), (1, 2, 1)) - Box((0.4, 0.4, 0.4), (0.6, 0.6, 0.6))],
                         ids=["holes", "union", "intersection", "polygon", "interval", "box3-minus-box"])
def test_adf_is_zero_on_the_boundary_positive_inside_negative_outside(domain):
    zb, nb = domain.sample_boundary(1000, seed=1)
    zi = domain.sample_interior(1000, seed=2)
    lo, hi = domain.bounds()
    zo = np.random.default_rng(0).uniform(lo - 0.5, hi + 0.5, (2000, domain.dim))
    zo = zo[np.abs(domain.signed_distance(zo)) > 1e-3]
    on = np.asarray(jax.jit(domain.adf)(jnp.asarray(zb, jnp.float32)))
    assert on.dtype == np.float32 and np.abs(on).max() < 1e-6 * domain.scale
    adf = jax.jit(domain.adf)
    assert np.all(np.asarray(adf(jnp.asarray(zi, jnp.float32))) > 0)
    assert np.all((np.asarray(adf(jnp.asarray(zo, jnp.float32))) > 0) == domain.inside(zo))
    if not isinstance(domain, Polygon):  # normalised: the gradient is the inward unit normal (away from corners)
        grad = np.asarray(jax.jit(jax.vmap(jax.grad(domain.adf)))(jnp.asarray(zb, jnp.float32)))
        assert np.median(np.sum(grad * -nb, axis=1)) == pytest.approx(1.0, abs=1e-3)


def test_a_transform_built_from_the_adf_satisfies_dirichlet_exactly_on_a_domain_with_holes():
    from fieldlab import models

    domain = _holed()

    def g(z):
        return jnp.sin(3 * z[0]) + z[1] ** 2

    pb = _problem(domain, ("x", "y"), {"walls": Dirichlet("u", lambda x, y: np.sin(3 * x) + y**2)},
                  transform=lambda z, raw: g(z) + domain.adf(z) * raw, exact=("walls",))
    lo, hi = domain.bounds()
    net = models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=lo, hi=hi, width=16, depth=2)
    u = pb.apply(net)
    at = jax.jit(jax.vmap(u))
    zb, _ = domain.sample_boundary(2000, seed=4)
    values = np.asarray(at(jnp.asarray(zb, jnp.float32)))[:, 0]
    exact = np.sin(3 * zb[:, 0]) + zb[:, 1] ** 2
    assert np.abs(values - exact).max() < 1e-5  # float32 round-off, on the square and on every hole
    zi = domain.sample_interior(500, seed=5)
    inner = np.asarray(at(jnp.asarray(zi, jnp.float32)))[:, 0]
    assert np.abs(inner - (np.sin(3 * zi[:, 0]) + zi[:, 1] ** 2)).max() > 1e-3  # the network acts inside
    # derivatives inside are finite (the transform trains)
    grad = jax.jit(jax.vmap(jax.grad(lambda z: u(z)[0])))(jnp.asarray(zi, jnp.float32))
    assert np.isfinite(np.asarray(grad)).all()


# ------------------------------------------------------------------------ defaults and cost
def test_defaults_scale_with_dimension_and_domain():
    from fieldlab.problems import scaled_recipe

    square = scaled_recipe(_problem(SQUARE, ("x", "y"), {}))
    assert square["sampling"] == {"interior": 2000, "boundary": 200, "initial": 200}
    assert [s["steps"] for s in square["stages"]] == [2000, 2000]
    holes = scaled_recipe(_problem(_holed(), ("x", "y"), {}))
    assert holes["sampling"]["boundary"] > 250 and holes["sampling"]["interior"] > 2500  # 1.6 times the square's boundary
    cube = scaled_recipe(_problem(Box((0, 0, 0), (1, 1, 1)), ("x", "y", "z"), {}))
    assert cube["sampling"]["interior"] == 4000 and [s["steps"] for s in cube["stages"]] == [3000, 3000]
    line = scaled_recipe(_problem(Interval(0, 1), ("x",), {}))
    assert line["sampling"]["interior"] == 1000 and [s["steps"] for s in line["stages"]] == [1000, 1000]


def test_the_cost_line_reports_points_parameters_and_time_per_1000_steps():
    from fieldlab.config import resolve
    from fieldlab.run import _build_model
    from fieldlab.training.trainer import Trainer

    pb = _problem(SQUARE, ("x", "y"), {"walls": Dirichlet("u", 0.0), "pin": Point([0.5, 0.5], 1.0)})
    config = resolve({"problem": "t", "model": {"name": "mlp", "width": 8, "depth": 2},
                      "recipe": {"sampling": {"interior": 100, "boundary": 40}, "stages": [{"optimizer": "adam", "steps": 200}]}})
    trainer = Trainer(pb, _build_model(pb, config), config, None, progress=False)
    notes = []

    class Bar:
        def note(self, text):
            notes.append(text)

    batch = trainer._batch()
    stage = config.recipe.stages[0]
    trainer._cost_line(Bar(), stage, batch, 50, 3.0)  # the first chunk: compilation
    assert notes == []
    trainer.state.stage_step = 50
    trainer._cost_line(Bar(), stage, batch, 50, 0.1)
    trainer._cost_line(Bar(), stage, batch, 50, 0.1)  # once only
    n_par = sum(x.size for x in jax.tree_util.tree_leaves(trainer.state.theta["net"]))
    assert len(notes) == 1
    assert notes[0] == (f"cost: 100 interior + 41 condition points, {n_par:,} parameters; first chunk with compilation "
                        "3.0 s, then 2.00 s per 1000 adam steps; the recipe's 200 steps at this rate: about 0 s")
    # a stage of one chunk: the line comes at once, with the compilation in the time
    short = Trainer(pb, _build_model(pb, config), config, None, progress=False)
    short.state.stage_step = 150
    short._cost_line(Bar(), stage, batch, 50, 2.0)
    assert notes[1].endswith("40.00 s per 1000 adam steps (compilation included); the recipe's 200 steps at this rate: about 8 s")
    # several stages: the rate is this stage's, and only its steps are extrapolated
    two = resolve({"problem": "t", "model": {"name": "mlp", "width": 8, "depth": 2},
                   "recipe": {"sampling": {"interior": 100, "boundary": 40},
                              "stages": [{"optimizer": "adam", "steps": 200}, {"optimizer": "lbfgs", "steps": 300}]}})
    staged = Trainer(pb, _build_model(pb, two), two, None, progress=False)
    staged.state.stage_step = 150
    staged._cost_line(Bar(), two.recipe.stages[0], batch, 50, 2.0)
    assert notes[2].endswith("(compilation included); this stage's 200 steps at this rate: about 8 s, "
                             "then 300 steps of lbfgs at their own rate")


@pytest.mark.slow
def test_train_shows_the_cost_line_and_uses_the_scaled_defaults(capsys):
    pb = _problem(SQUARE, ("x", "y"), {"walls": Dirichlet("u", 0.0)})
    run = fieldlab.train(pb, "mlp", {"stages": [{"optimizer": "adam", "steps": 20}], "chunk": 5}, width=8, depth=2)
    err = capsys.readouterr().err
    assert "cost: 2000 interior + 200 condition points" in err and "per 1000 adam steps" in err
    assert run.config.recipe.sampling.interior == 2000


@pytest.mark.slow
def test_training_through_an_adf_transform_keeps_the_condition_exact():
    domain = SQUARE - Disk((0.5, 0.5), 0.2)
    pb = Problem("adf", ("x", "y"), ("u",), domain, {"pde": lambda F, p: F.d("u", "x", "x") + F.d("u", "y", "y") + 1.0},
                 {"walls": Dirichlet("u", lambda x, y: x)}, transform=lambda z, raw: z[0] + domain.adf(z) * raw[0:1],
                 exact=("walls",))
    run = fieldlab.train(pb, "mlp", {"stages": [{"optimizer": "adam", "steps": 100}], "sampling": {"interior": 300}},
                         width=16, depth=2, progress=False)
    assert run.history[-1]["loss"] < 0.8 * run.history[0]["loss"]
    zb, _ = domain.sample_boundary(200, seed=1)
    assert np.abs(run.predict(zb)[:, 0] - zb[:, 0]).max() < 1e-6


def test_a_run_directory_from_before_the_split_keeps_its_boundary_counts(tmp_path):
    from fieldlab.config import resolve
    from fieldlab.run import _load_config

    config = resolve({"problem": "cavity"})
    text = config.to_toml()
    assert 'split = "measure"' in text  # written out: the resolved recipe names its rule
    (tmp_path / "config.toml").write_text(text.replace('split = "measure"\n', ""))
    assert _load_config(tmp_path).recipe.sampling.split == "each"
    (tmp_path / "config.toml").write_text(text)
    assert _load_config(tmp_path).recipe.sampling.split == "measure"
