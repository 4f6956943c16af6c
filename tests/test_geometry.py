"""Tests for fieldlab.geometry: shapes, sampling methods, normals, CSG and space-time domains."""

import numpy as np
import pytest

from fieldlab.geometry import (
    METHODS,
    Box,
    Difference,
    Disk,
    Geometry,
    Intersection,
    Interval,
    Polygon,
    TimeDomain,
    TimeInterval,
    Union,
)

SQUARE = Box([-1.0, -1.0], [1.0, 1.0])
L_VERTS = [[-1, -1], [1, -1], [1, 0], [0, 0], [0, 1], [-1, 1]]


def shapes():
    return {
        "interval": Interval(-0.5, 2.0),
        "box2": Box([0.0, -1.0], [3.0, 1.0]),
        "box3": Box([0, 0, 0], [1, 2, 0.5]),
        "disk": Disk((1.0, -2.0), 0.7),
        "triangle_cw": Polygon([[0, 0], [0, 1], [1, 0]]),
        "L_poly": Polygon(L_VERTS),
        "square_minus_disk": SQUARE - Disk((0, 0), 0.5),
        "L_csg": SQUARE - Box([0, 0], [1, 1]),
        "union_disks": Disk((0, 0), 1.0) | Disk((1.2, 0), 0.8),
        "lens": Disk((0, 0), 1.0) & Disk((1.0, 0), 1.0),
        "nested": (SQUARE - Disk((0, 0), 0.3)) | Box([0.5, 0.5], [2.0, 1.5]),
    }


SHAPES = shapes()


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(SHAPES))
def test_interior_points_inside(name, method):
    g = SHAPES[name]
    x = g.sample_interior(257, seed=3, method=method)
    assert x.shape == (257, g.dim)
    assert x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert g.inside(x).all()
    lo, hi = g.bounds()
    assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(SHAPES))
def test_boundary_points_and_normals(name, method):
    g = SHAPES[name]
    p, nv = g.sample_boundary(300, seed=5, method=method)
    assert p.shape == (300, g.dim) and nv.shape == (300, g.dim)
    assert g.on_boundary(p, tol=1e-8).all()
    assert g.inside(p).all()
    np.testing.assert_allclose(np.linalg.norm(nv, axis=1), 1.0, atol=1e-12)
    # outward: a small step along the normal leaves, a step against it stays inside
    h = 1e-4
    assert not g.inside(p + h * nv).any()
    assert g.inside(p - h * nv).all()


@pytest.mark.parametrize("name", ["box2", "disk", "L_poly", "triangle_cw", "square_minus_disk", "lens"])
def test_normal_method_matches_sampled_normals(name):
    g = SHAPES[name]
    p, nv = g.sample_boundary(200, seed=1)
    np.testing.assert_allclose(g.normal(p), nv, atol=1e-9)


@pytest.mark.parametrize("method", ["random", "sobol", "halton"])
def test_reproducible_and_seed_dependent(method):
    g = SQUARE - Disk((0, 0), 0.5)
    a = g.sample_interior(100, seed=7, method=method)
    b = g.sample_interior(100, seed=7, method=method)
    c = g.sample_interior(100, seed=8, method=method)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    pa, na = g.sample_boundary(100, seed=7, method=method)
    pb, nb = g.sample_boundary(100, seed=7, method=method)
    pc, _ = g.sample_boundary(100, seed=8, method=method)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(na, nb)
    assert not np.allclose(pa, pc)


def test_generator_seed_accepted_and_advances():
    g = Disk()
    x1 = g.sample_interior(50, seed=np.random.default_rng(0))
    x2 = g.sample_interior(50, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(x1, x2)
    rng = np.random.default_rng(0)
    y1 = g.sample_interior(50, seed=rng)
    y2 = g.sample_interior(50, seed=rng)
    assert not np.allclose(y1, y2)


def test_grid_is_deterministic_and_regular():
    g = Box([0.0, 0.0], [2.0, 1.0])
    a = g.sample_interior(200, seed=0, method="grid")
    b = g.sample_interior(200, seed=99, method="grid")
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a, axis=0)) == 200
    # full 20 x 10 grid (aspect 2:1), cell-centred
    assert len(np.unique(a[:, 0])) == 20 and len(np.unique(a[:, 1])) == 10
    np.testing.assert_allclose(np.sort(np.unique(a[:, 1])), (np.arange(10) + 0.5) / 10)


def test_sobol_power_of_two_and_not_power_of_two_without_warning(recwarn):
    for n in (64, 100):
        x = SQUARE.sample_interior(n, seed=0, method="sobol")
        assert x.shape == (n, 2)
        assert len(np.unique(x, axis=0)) == n
    assert not [w for w in recwarn if "balance" in str(w.message).lower()]


def test_qmc_more_uniform_than_random():
    g = Box([0.0, 0.0], [1.0, 1.0])
    n = 256

    def max_cell_dev(x):  # counts in a 4x4 partition
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=4, range=[[0, 1], [0, 1]])
        return np.abs(h - n / 16).max()

    assert max_cell_dev(g.sample_interior(n, 0, "sobol")) <= 1
    assert max_cell_dev(g.sample_interior(n, 0, "halton")) <= 3
    assert max_cell_dev(g.sample_interior(n, 0, "grid")) == 0


def test_interior_uniform_fraction_in_disk():
    x = SQUARE.sample_interior(4000, seed=0)
    frac = np.mean(np.linalg.norm(x, axis=1) <= 1.0)
    assert abs(frac - np.pi / 4) < 0.03


def test_n_equals_one_works_everywhere():
    for name, g in SHAPES.items():
        for m in METHODS:
            assert g.sample_interior(1, 0, m).shape == (1, g.dim), name
            p, nv = g.sample_boundary(1, 0, m)
            assert p.shape == nv.shape == (1, g.dim), name
            assert g.on_boundary(p, tol=1e-8).all(), name


# ----------------------------------------------------------------------------- shapes
def test_interval_boundary_alternates_ends():
    p, nv = Interval(-1.0, 3.0).sample_boundary(5)
    np.testing.assert_array_equal(p[:, 0], [-1, 3, -1, 3, -1])
    np.testing.assert_array_equal(nv[:, 0], [-1, 1, -1, 1, -1])
    p1, _ = Box([-1.0], [3.0]).sample_boundary(4, method="sobol")
    np.testing.assert_array_equal(p1[:, 0], [-1, 3, -1, 3])


def test_inside_closed_with_tolerance():
    b = Box([0, 0], [1, 1])
    x = np.array([[0, 0], [1, 0.5], [1 + 1e-12, 0.5], [1 + 1e-6, 0.5], [0.5, -1e-3]])
    np.testing.assert_array_equal(b.inside(x), [True, True, True, False, False])
    d = Disk((0, 0), 2.0)
    np.testing.assert_array_equal(d.inside([[2, 0], [0, -2], [1.5, 1.5]]), [True, True, False])
    assert Interval(0, 1).inside(np.array([0.0, 1.0, 1.1])).tolist() == [True, True, False]


def test_on_boundary_tolerance():
    b = Box([0, 0], [1, 1])
    x = np.array([[0.5, 1.0], [0.5, 1 - 1e-7], [0.5, 1 - 1e-3], [0.5, 1 + 1e-7], [0.5, 0.5]])
    np.testing.assert_array_equal(b.on_boundary(x), [True, True, False, True, False])
    np.testing.assert_array_equal(b.on_boundary(x, tol=1e-2), [True, True, True, True, False])


def test_box_boundary_proportional_to_face_length():
    b = Box([0.0, 0.0], [3.0, 1.0])  # long faces y=0, y=1 (length 3), short x=0, x=1 (length 1)
    for m in METHODS:
        p, nv = b.sample_boundary(800, seed=2, method=m)
        long_frac = np.mean(np.abs(nv[:, 1]) == 1.0)
        assert abs(long_frac - 0.75) < 0.05, m
    p, nv = b.sample_boundary(800, method="grid")
    assert np.sum(nv[:, 1] == 1) == 300 and np.sum(nv[:, 0] == -1) == 100


def test_box3_normals_axis_aligned():
    b = SHAPES["box3"]
    p, nv = b.sample_boundary(600, seed=0)
    assert np.all(np.sum(np.abs(nv), axis=1) == 1.0)
    # face areas: x-faces 1.0, y-faces 0.5, z-faces 2.0 (each twice) -> fractions 2/7, 1/7, 4/7
    frac = np.mean(np.abs(nv), axis=0)
    np.testing.assert_allclose(frac, [2 / 7, 1 / 7, 4 / 7], atol=0.05)


def test_disk_boundary_and_normals():
    d = Disk((1.0, -2.0), 0.7)
    p, nv = d.sample_boundary(64, method="grid")
    np.testing.assert_allclose(np.linalg.norm(p - d.center, axis=1), 0.7, atol=1e-12)
    np.testing.assert_allclose(nv, (p - d.center) / 0.7, atol=1e-12)
    ang = np.sort(np.arctan2(nv[:, 1], nv[:, 0]))
    np.testing.assert_allclose(np.diff(ang), 2 * np.pi / 64, atol=1e-12)


def test_polygon_orientation_independent():
    ccw = Polygon([[0, 0], [2, 0], [2, 1], [0, 1]])
    cw = Polygon([[0, 0], [0, 1], [2, 1], [2, 0]])
    assert ccw.area == pytest.approx(2.0) and cw.area == pytest.approx(2.0)
    assert ccw.boundary_measure() == pytest.approx(6.0)
    x = np.array([[0.5, 0.5], [1.9, 0.99], [2.1, 0.5], [-0.01, 0.5], [2.0, 1.0]])
    np.testing.assert_array_equal(ccw.inside(x), [True, True, False, False, True])
    np.testing.assert_array_equal(cw.inside(x), ccw.inside(x))
    q = np.array([[1.0, 0.0], [2.0, 0.5], [1.0, 1.0], [0.0, 0.5]])
    expected = [[0, -1], [1, 0], [0, 1], [-1, 0]]
    np.testing.assert_allclose(ccw.normal(q), expected)
    np.testing.assert_allclose(cw.normal(q), expected)


def test_polygon_equals_box_for_rectangle():
    poly = Polygon([[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]])  # repeated closing vertex is dropped
    assert len(poly.vertices) == 4
    box = Box([0, 0], [2, 1])
    x = np.random.default_rng(0).uniform(-0.5, 2.5, size=(500, 2))
    np.testing.assert_array_equal(poly.inside(x), box.inside(x))
    np.testing.assert_allclose(poly.signed_distance(x), box.signed_distance(x), atol=1e-12)


# ----------------------------------------------------------------------------- CSG
def test_operators_build_csg_types():
    a, b = Disk(), Box([0, 0], [2, 2])
    assert isinstance(a | b, Union)
    assert isinstance(a & b, Intersection)
    assert isinstance(a - b, Difference)
    assert isinstance(a - b, Geometry)
    lo, hi = (a | b).bounds()
    np.testing.assert_allclose(lo, [-1, -1]) and np.testing.assert_allclose(hi, [2, 2])
    lo, hi = (a & b).bounds()
    np.testing.assert_allclose(lo, [0, 0]) and np.testing.assert_allclose(hi, [1, 1])


def test_box_minus_disk():
    g = SQUARE - Disk((0, 0), 0.5)
    for m in METHODS:
        x = g.sample_interior(500, seed=0, method=m)
        assert np.all(np.linalg.norm(x, axis=1) >= 0.5 - 1e-12)
        assert np.all(np.abs(x) <= 1.0)
        p, nv = g.sample_boundary(600, seed=0, method=m)
        r = np.linalg.norm(p, axis=1)
        on_circle = np.abs(r - 0.5) < 1e-9
        on_square = np.abs(np.abs(p).max(axis=1) - 1.0) < 1e-9
        assert np.all(on_circle ^ on_square)
        # circle normals point towards the centre, square normals away from it
        np.testing.assert_allclose(nv[on_circle], -p[on_circle] / 0.5, atol=1e-9)
        assert np.all(np.sum(nv[on_square] * p[on_square], axis=1) > 0.99)
        # allocation by boundary length: circle pi of total 8 + pi
        assert abs(on_circle.mean() - np.pi / (8 + np.pi)) < 0.05
    pts = np.array([[0.0, 0.0], [0.3, 0.0], [0.5, 0.0], [0.7, 0.0], [1.0, 1.0], [1.2, 0]])
    np.testing.assert_array_equal(g.inside(pts), [False, False, True, True, True, False])
    np.testing.assert_array_equal(g.on_boundary(pts), [False, False, True, False, True, False])
    np.testing.assert_allclose(g.normal(np.array([[0.5, 0.0], [1.0, 0.2]])), [[-1, 0], [1, 0]], atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_l_shape_polygon_vs_difference(method):
    poly = Polygon(L_VERTS)
    csg = SQUARE - Box([0, 0], [1, 1])
    xp = poly.sample_interior(400, seed=1, method=method)
    xc = csg.sample_interior(400, seed=1, method=method)
    assert csg.inside(xp).all() and poly.inside(xc).all()
    assert not np.any((xc[:, 0] > 1e-12) & (xc[:, 1] > 1e-12))
    pp, npl = poly.sample_boundary(400, seed=1, method=method)
    pc, nc = csg.sample_boundary(400, seed=1, method=method)
    assert csg.on_boundary(pp, tol=1e-8).all() and poly.on_boundary(pc, tol=1e-8).all()
    # normals agree away from the vertices (at a vertex either adjacent edge normal is fine)
    def off_vertex(p):
        return np.min(np.linalg.norm(p[:, None] - np.asarray(L_VERTS)[None], axis=2), axis=1) > 1e-9

    assert off_vertex(pc).mean() > 0.99
    np.testing.assert_allclose(poly.normal(pc)[off_vertex(pc)], nc[off_vertex(pc)], atol=1e-12)
    np.testing.assert_allclose(csg.normal(pp)[off_vertex(pp)], npl[off_vertex(pp)], atol=1e-12)
    # no points on the removed (degenerate) segments x=1, 0<y<1 and y=1, 0<x<1
    removed = ((np.abs(pc[:, 0] - 1) < 1e-9) & (pc[:, 1] > 1e-9)) | ((np.abs(pc[:, 1] - 1) < 1e-9) & (pc[:, 0] > 1e-9))
    assert not removed.any()
    # the inner corner edges (length 2 of perimeter 8) get about a quarter of the points
    inner = (np.abs(pc[:, 0]) < 1e-9) | (np.abs(pc[:, 1]) < 1e-9)
    assert abs(inner.mean() - 0.25) < 0.05
    assert csg.boundary_measure() == pytest.approx(poly.boundary_measure(), rel=0.05)


def test_union_shared_edge_not_double_counted():
    # two unit squares sharing the edge x=1 and the bottom line y=0 partly
    g = Box([0, 0], [1, 1]) | Box([1, 0], [2, 1])
    p, nv = g.sample_boundary(1200, seed=0, method="sobol")
    assert not np.any((np.abs(p[:, 0] - 1) < 1e-9) & (p[:, 1] > 1e-9) & (p[:, 1] < 1 - 1e-9))
    bottom = np.abs(p[:, 1]) < 1e-9
    assert abs(bottom.mean() - 2 / 6) < 0.05  # perimeter 6, bottom edge 2
    c = Box([0, 0], [1, 1]) | Box([0, 0], [2, 0.5])  # coincident bottom edge y=0, 0<x<1
    q, _ = c.sample_boundary(2000, seed=0)
    left_bottom = (np.abs(q[:, 1]) < 1e-9) & (q[:, 0] < 1)
    right_bottom = (np.abs(q[:, 1]) < 1e-9) & (q[:, 0] > 1)
    assert abs(left_bottom.mean() - right_bottom.mean()) < 0.04  # equal lengths, equal density


def test_intersection_lens():
    g = Disk((0, 0), 1.0) & Disk((1.0, 0), 1.0)
    x = g.sample_interior(500, seed=0)
    assert np.all(np.linalg.norm(x, axis=1) <= 1 + 1e-12)
    assert np.all(np.linalg.norm(x - [1, 0], axis=1) <= 1 + 1e-12)
    p, nv = g.sample_boundary(500, seed=0)
    on_a = np.abs(np.linalg.norm(p, axis=1) - 1) < 1e-9
    on_b = np.abs(np.linalg.norm(p - [1, 0], axis=1) - 1) < 1e-9
    assert np.all(on_a | on_b)
    np.testing.assert_allclose(nv[on_a], p[on_a], atol=1e-9)
    assert abs(on_a.mean() - 0.5) < 0.06  # symmetric lens
    # lens area = 2*pi/3 - sqrt(3)/2
    frac = g.inside(Box([0, -1], [1, 1]).sample_interior(20000, seed=1, method="sobol")).mean()
    assert frac * 2.0 == pytest.approx(2 * np.pi / 3 - np.sqrt(3) / 2, rel=0.02)


def test_union_interior_covers_both():
    g = Disk((0, 0), 1.0) | Box([0.5, -0.25], [3.0, 0.25])
    x = g.sample_interior(2000, seed=0)
    in_box = (x[:, 0] > 1.0)
    assert in_box.any() and (x[:, 0] < -0.5).any()
    assert np.all(np.abs(x[in_box, 1]) <= 0.25 + 1e-12)


# ----------------------------------------------------------------------------- time
def test_time_interval():
    t = TimeInterval(0.5, 2.0)
    assert t.length == 1.5
    s = t.sample(50, seed=0, method="grid")
    assert s.shape == (50, 1) and s.min() > 0.5 and s.max() < 2.0
    assert t.inside([0.5, 2.0, 2.1]).tolist() == [True, True, False]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("space", [Interval(-1.0, 1.0), Disk((0, 0), 1.0), SQUARE - Disk((0, 0), 0.5)])
def test_time_domain_sampling(space, method):
    td = space * TimeInterval(0.0, 2.0)
    assert isinstance(td, TimeDomain) and td.dim == space.dim + 1
    lo, hi = td.bounds()
    assert lo[-1] == 0.0 and hi[-1] == 2.0
    x = td.sample_interior(300, seed=0, method=method)
    assert x.shape == (300, td.dim)
    assert td.inside(x).all() and space.inside(x[:, :-1]).all()
    assert x[:, -1].min() >= 0.0 and x[:, -1].max() <= 2.0
    assert x[:, -1].min() < 0.2 and x[:, -1].max() > 1.8  # spans the time range
    p, nv = td.sample_boundary(300, seed=0, method=method)
    assert p.shape == nv.shape == (300, td.dim)
    assert np.all(nv[:, -1] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(nv, axis=1), 1.0)
    assert space.on_boundary(p[:, :-1], tol=1e-8).all()
    assert np.all(p[:, -1] > 0.0) and np.all(p[:, -1] <= 2.0)
    assert p[:, -1].min() < 0.2 and p[:, -1].max() > 1.8
    np.testing.assert_allclose(space.normal(p[:, :-1]), nv[:, :-1], atol=1e-9)
    x0 = td.sample_initial(100, seed=0, method=method)
    assert x0.shape == (100, td.dim)
    assert np.all(x0[:, -1] == 0.0) and space.inside(x0[:, :-1]).all()


def test_time_domain_1d_boundary_times_balanced_for_qmc():
    td = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    for m in ("sobol", "halton"):
        p, nv = td.sample_boundary(256, seed=0, method=m)
        left = p[:, 0] == 0.0
        np.testing.assert_array_equal(nv[left, 0], -1.0)
        assert abs(left.mean() - 0.5) < 0.01
        # both ends see early and late times
        for side in (left, ~left):
            assert np.mean(p[side, 1] < 0.5) == pytest.approx(0.5, abs=0.15)


def test_time_domain_reproducible_and_joint_box():
    td = Box([0, 0], [1, 1]) * TimeInterval(0, 1)
    a = td.sample_interior(128, seed=4, method="sobol")
    np.testing.assert_array_equal(a, td.sample_interior(128, seed=4, method="sobol"))
    assert not np.allclose(a, td.sample_interior(128, seed=5, method="sobol"))
    # joint 3-D Sobol: every octant holds exactly 1/8 of the points
    octant = (a > 0.5).astype(int) @ [1, 2, 4]
    assert np.all(np.bincount(octant, minlength=8) == 16)
    pa, _ = td.sample_boundary(64, seed=4)
    pb, _ = td.sample_boundary(64, seed=4)
    np.testing.assert_array_equal(pa, pb)
    assert not td.inside(np.array([[0.5, 0.5, 1.1], [1.1, 0.5, 0.5]])).any()


# ----------------------------------------------------------------------------- errors
def test_errors():
    g = Disk()
    with pytest.raises(ValueError, match="method"):
        g.sample_interior(10, method="lhs")
    with pytest.raises(ValueError, match="method"):
        g.sample_boundary(10, method="uniform")
    with pytest.raises(ValueError, match="n must be at least 1|at least 1"):
        g.sample_interior(0)
    with pytest.raises(ValueError, match="at least 1"):
        SQUARE.sample_boundary(-3)
    with pytest.raises(ValueError, match="lo < hi"):
        Box([0, 0], [1, 0])
    with pytest.raises(ValueError, match="lo < hi"):
        Interval(1.0, 1.0)
    with pytest.raises(ValueError, match="t0 < t1"):
        TimeInterval(2.0, 1.0)
    with pytest.raises(ValueError, match="at least 3"):
        Polygon([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="dimension"):
        Disk() | Box([0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="dimension"):
        Interval(0, 1) - Disk()
    with pytest.raises(ValueError, match="radius"):
        Disk((0, 0), 0.0)
    with pytest.raises(ValueError, match="same length"):
        Box([0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="shape"):
        SQUARE.inside(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="method"):
        (Disk() * TimeInterval(0, 1)).sample_initial(5, method="foo")
    with pytest.raises(TypeError):
        Disk() | 3
    with pytest.raises(TypeError):
        g.sample_interior(5, seed="abc")
