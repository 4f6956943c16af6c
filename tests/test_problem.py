"""Conditions and problems: residuals vanish on exact solutions, bad definitions are refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fieldlab import Data, Dirichlet, Initial, InitialRate, Neumann, Periodic, Problem, Robin
from fieldlab.errors import FieldlabError
from fieldlab.geometry import Box, Disk, Interval, TimeInterval


def _problem(domain, coords, conditions, fields=("u",)):
    return Problem("t", coords, fields, domain, {"pde": lambda F, p: 0.0 * F.u}, conditions)


def _residuals(pb, cond, u, n=64):
    batch = cond.sample(pb, n, 0, "random")
    batch = {k: jnp.asarray(v) for k, v in batch.items()}
    return jax.vmap(lambda item: cond.residual(lambda z: pb.fields_at(u, z), item, {}))(batch)


@pytest.mark.usefixtures("x64")
def test_dirichlet_neumann_robin_on_disk():
    # u = x^2 + y^2 on the unit disk: u = 1 and du/dn = 2 on the circle.
    u = lambda z: jnp.array([z[0] ** 2 + z[1] ** 2])  # noqa: E731
    pb = _problem(Disk((0, 0), 1.0), ("x", "y"), {})
    assert np.abs(_residuals(pb, Dirichlet("u", 1.0), u)).max() < 1e-12
    assert np.abs(_residuals(pb, Neumann("u", 2.0), u)).max() < 1e-12
    assert np.abs(_residuals(pb, Robin("u", 1.0, a=3.0, b=0.5), u)).max() > 0.5  # 3 + 1 - 1 != 0
    assert np.abs(_residuals(pb, Robin("u", 4.0, a=3.0, b=0.5), u)).max() < 1e-12


@pytest.mark.usefixtures("x64")
def test_dirichlet_where_selects_part_of_boundary():
    pb = _problem(Box([0, 0], [2, 1]), ("x", "y"), {})
    cond = Dirichlet("u", lambda x, y: y, where=lambda x, y: np.isclose(x, 2.0))
    pts = cond.sample(pb, 50, 3, "sobol")["z"]
    assert pts.shape == (50, 2) and np.allclose(pts[:, 0], 2.0)
    u = lambda z: jnp.array([z[1] * z[0] / 2])  # noqa: E731 - equals y on x = 2
    assert np.abs(_residuals(pb, cond, u)).max() < 1e-12


@pytest.mark.usefixtures("x64")
def test_periodic_initial_and_rate():
    domain = Interval(0.0, 2 * np.pi) * TimeInterval(0.0, 1.0)
    u = lambda z: jnp.array([jnp.sin(z[0]) * jnp.cos(z[1]) + jnp.sin(z[1])])  # noqa: E731
    pb = _problem(domain, ("x", "t"), {})
    assert np.abs(_residuals(pb, Periodic("x", order=2), u)).max() < 1e-12
    aperiodic = lambda z: jnp.array([z[0] * z[1]])  # noqa: E731
    assert np.abs(_residuals(pb, Periodic("x"), aperiodic)).max() > 1e-3
    assert np.abs(_residuals(pb, Initial("u", lambda x, t: jnp.sin(x)), u)).max() < 1e-12
    assert np.abs(_residuals(pb, InitialRate("u", 1.0), u)).max() < 1e-12


@pytest.mark.usefixtures("x64")
def test_data_condition_and_bad_data():
    pts = np.random.default_rng(0).uniform(0, 1, (30, 2))
    vals = pts[:, :1] * 2
    pb = _problem(Box([0, 0], [1, 1]), ("x", "y"), {"obs": Data(pts, vals)})
    u = lambda z: jnp.array([2 * z[0]])  # noqa: E731
    assert np.abs(_residuals(pb, pb.conditions["obs"], u, n=10)).max() < 1e-12
    bad = vals.copy()
    bad[3] = np.nan
    with pytest.raises(FieldlabError, match="NaN"):
        Data(pts, bad)
    with pytest.raises(FieldlabError, match="do not match"):
        Data(pts, vals[:5])
    with pytest.raises(FieldlabError, match="unknown field"):
        _problem(Box([0, 0], [1, 1]), ("x", "y"), {"obs": Data(pts, vals, fields=("w",))})


def test_problem_validation():
    with pytest.raises(FieldlabError, match="dimension"):
        _problem(Box([0, 0], [1, 1]), ("x",), {})
    with pytest.raises(FieldlabError, match="refers to field"):
        _problem(Box([0, 0], [1, 1]), ("x", "y"), {"b": Dirichlet("v")})
    with pytest.raises(FieldlabError, match="time domain"):
        pb = _problem(Box([0, 0], [1, 1]), ("x", "y"), {})
        Initial("u").sample(pb, 4, 0, "random")


def _square(conditions):
    return Problem(name="sq", coords=("x", "y"), fields=("u",), domain=Box([0, 0], [1, 1]),
                   equations={"pde": lambda F, p: F.u}, conditions=conditions)


def test_grid_points_spread_over_the_whole_selected_part():
    cond = Dirichlet("u", 0.0, where=lambda x, y: np.isclose(x, 0) | np.isclose(y, 0))
    z = cond.sample(_square({"c": cond}), 40, 0, "grid")["z"]
    on_left, on_bottom = np.isclose(z[:, 0], 0), np.isclose(z[:, 1], 0)
    assert len(z) == 40 and np.all(on_left | on_bottom) and len(np.unique(z, axis=0)) == 40
    assert 15 <= on_left.sum() <= 25 and 15 <= on_bottom.sum() <= 25  # both sides, not the first one only
    upper = Dirichlet("u", 0.0, where=lambda x, y: y > 0)
    disk = Problem(name="d", coords=("x", "y"), fields=("u",), domain=Disk([0, 0], 1.0),
                   equations={"pde": lambda F, p: F.u}, conditions={"c": upper})
    z = upper.sample(disk, 60, 0, "grid")["z"]
    angles = np.degrees(np.arctan2(z[:, 1], z[:, 0]))
    assert angles.min() < 10 and angles.max() > 170  # the whole upper half circle


def test_periodic_pairs_are_distinct_images_and_need_a_box_extent():
    pb = _square({"per": Periodic("x")})
    item = pb.conditions["per"].sample(pb, 100, 0, "grid")
    assert len(np.unique(item["z"], axis=0)) == 100
    assert np.allclose(item["z"][:, 0], 0) and np.allclose(item["z_hi"][:, 0], 1)
    assert np.allclose(item["z"][:, 1], item["z_hi"][:, 1])
    with pytest.raises(FieldlabError, match="box-shaped extent"):
        Problem(name="d", coords=("x", "y"), fields=("u",), domain=Disk([0, 0], 1.0),
                equations={"pde": lambda F, p: F.u}, conditions={"per": Periodic("x")})


def test_values_of_as_many_points_as_fields_are_not_transposed():
    from fieldlab.problem import _targets

    z = np.array([[0.0, 1.0], [2.0, 3.0]])
    stacked = _targets(lambda x, y: np.array([x, 10 + y]), z, ("u", "v"), "value")  # (k, n): one row per field
    assert np.allclose(stacked, [[0.0, 11.0], [2.0, 13.0]])
    columns = _targets(lambda x, y: np.stack([x, 10 + y], axis=1), z, ("u", "v"), "value")  # (n, k)
    assert np.allclose(columns, [[0.0, 11.0], [2.0, 13.0]])


def test_data_and_point_outside_the_domain_are_refused():
    from fieldlab import Point

    with pytest.raises(FieldlabError, match="1 data point\\(s\\) lie outside the domain, the first \\(1.5, 0.5\\)"):
        _square({"d": Data(np.array([[0.5, 0.5], [1.5, 0.5]]), np.zeros((2, 1)), fields="u")})
    with pytest.raises(FieldlabError, match="Point point\\(s\\) lie outside"):
        _square({"p": Point([2.0, 2.0], 0.0, fields="u")})
    _square({"d": Data(np.array([[0.0, 1.0], [1.0, 0.5]]), np.zeros((2, 1)), fields="u")})  # the boundary is inside
