"""Integral constraints, interfaces, scaled terms, field-dependent coefficients, per-field metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fieldlab
from fieldlab.constraints import (Integral, Interface, Scaled, Segment, flux_divergence, gauss_legendre_box, kink,
                                  scaled)
from fieldlab.errors import FieldlabError
from fieldlab.geometry import Box, Disk, Interval
from fieldlab.metrics import all_metrics


def _problem(fields=("u",), conditions=None, domain=None, **kw):
    eqs = {"eq": lambda F, p: F.d(fields[0], "x")}
    return fieldlab.Problem(name="t", coords=("x", "y"), fields=fields, domain=domain or Box([0, 0], [1, 1]),
                            equations=eqs, conditions=conditions or {}, **kw)


def _residual(pb, name, u, dtype=jnp.float32):
    """The residuals of condition ``name`` for the pointwise function ``u``, one row per item."""
    cond = pb.conditions[name]
    batch = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), cond.sample(pb, 64, 0, "sobol"))
    at = lambda z: pb.fields_at(u, z)  # noqa: E731
    r = np.asarray(jax.vmap(lambda it: cond.residual(at, it, {}))(batch), np.float64)
    return r.reshape(r.shape[0], -1)


# -- quadrature and integral constraints -------------------------------------------------------------

def test_gauss_legendre_box_is_exact_for_polynomials():
    nodes, w = gauss_legendre_box([0.0, -1.0], [2.0, 3.0], 4)  # degree 7 per axis
    assert nodes.shape == (16, 2) and w.sum() == pytest.approx(8.0)
    f = nodes[:, 0] ** 3 * nodes[:, 1] ** 7 + nodes[:, 0] * nodes[:, 1]
    exact = (2.0**4 / 4) * (3.0**8 - 1.0) / 8 + 2.0 * (9 - 1) / 2
    assert np.dot(w, f) == pytest.approx(exact, rel=1e-12)


def test_integral_mean_over_domain_subregion_and_disk():
    u = lambda z: jnp.array([z[0] ** 2 + z[1]])  # noqa: E731
    conds = {"mean": Integral("u", 5 / 6, mean=True), "total": Integral("u", 0.0),
             "sub": Integral("u", 0.0, region=Box([0.5, 0.0], [1.0, 0.5])),
             "disk": Integral("u", 0.0, region=Disk([0.5, 0.5], 0.25), mean=True),
             "flux": Integral(lambda F, p: F.d("u", "x"), 0.0, mean=True)}
    pb = _problem(conditions=conds)
    assert _residual(pb, "mean", u).shape == (1, 1)
    assert abs(_residual(pb, "mean", u)[0, 0]) < 1e-6            # mean of x^2 + y is 1/3 + 1/2
    assert _residual(pb, "total", u)[0, 0] == pytest.approx(5 / 6, abs=1e-6)
    assert _residual(pb, "sub", u)[0, 0] == pytest.approx(0.5 * (7 / 24) + 0.5 * 0.125, abs=1e-6)
    # over a disk (quasi-Monte Carlo): mean of x^2 + y is 0.25 + r^2/4 + 0.5
    assert _residual(pb, "disk", u)[0, 0] == pytest.approx(0.75 + 0.25**2 / 4, abs=2e-3)
    assert _residual(pb, "flux", u)[0, 0] == pytest.approx(1.0, abs=1e-6)  # mean of 2x


def test_integral_refuses_bad_input():
    with pytest.raises(FieldlabError, match="Integral refers to field 'q'"):
        _problem(conditions={"g": Integral("q", 0.0)})
    with pytest.raises(FieldlabError, match="region has dimension 1"):
        _residual(_problem(conditions={"g": Integral("u", 0.0, region=Interval(0, 1))}), "g", lambda z: z[:1])
    for order in (0, 2.5, (4, 4, 4), True):
        with pytest.raises(FieldlabError, match="needs order >= 1"):
            _problem(conditions={"g": Integral("u", 0.0, order=order)})


def test_integral_orders_per_axis_and_the_area_of_a_region():
    u = lambda z: jnp.array([z[0] ** 3 * z[1] ** 7])  # noqa: E731 - exact with 2 x 4 Gauss nodes
    pb = _problem(conditions={"g": Integral("u", 0.0, order=(2, 4)),
                              "area": Integral(lambda F, p: 1.0 + 0 * F.u, 0.0, region=Disk([0.5, 0.5], 0.25))})
    assert _residual(pb, "g", u)[0, 0] == pytest.approx(1 / 32, rel=1e-5)
    assert _residual(pb, "area", u)[0, 0] == pytest.approx(np.pi / 16, rel=1e-3)  # |R| from a Sobol probe


# -- interfaces --------------------------------------------------------------------------------------

GAMMA = Segment((0.0, 0.25), (1.0, 0.75))


def test_segment_normal_and_level_set():
    z, n = GAMMA.sample(50, seed=1)
    assert np.allclose(n, np.array([-1, 2]) / np.sqrt(5))
    assert np.allclose(z[:, 1], 0.25 + z[:, 0] / 2) and np.allclose(GAMMA.level_set(z[:, 0], z[:, 1]), 0, atol=1e-12)
    assert GAMMA.level_set(0.0, 1.0) > 0 > GAMMA.level_set(1.0, 0.0)


def _piecewise(z, k=(1.0, 4.0)):
    """T = d / k_i: continuous, flux k dT/dn = 1 on both sides, harmonic."""
    d = GAMMA.level_set(z[0], z[1], xp=jnp)
    return jnp.where(d < 0, d / k[0], d / k[1])


def test_interface_residuals_are_exact_for_both_representations():
    k = (1.0, 4.0)
    # one field with a kink: T = A + |d| B with A = d (1/k1 + 1/k2)/2, B = (1/k2 - 1/k1)/2
    transform = kink(GAMMA.level_set, {0: (0, 1)}, 1)
    d = lambda z: GAMMA.level_set(z[0], z[1], xp=jnp)  # noqa: E731
    raw = lambda z: jnp.array([d(z) * (1 / k[0] + 1 / k[1]) / 2, (1 / k[1] - 1 / k[0]) / 2 + 0 * z[0]])  # noqa: E731
    u = lambda z: transform(z, raw(z))  # noqa: E731
    zz = jnp.array([[0.3, 0.1], [0.2, 0.9]])
    assert np.allclose(jax.vmap(u)(zz)[:, 0], jax.vmap(_piecewise)(zz))
    pb = _problem(("T",), {"gamma": Interface("T", GAMMA, coefficient=k)}, transform=transform, outputs=2)
    assert np.abs(_residual(pb, "gamma", u)).max() < 1e-6
    # a smooth field has no kink: its flux jumps by (k2 - k1) dT/dn = 3 * 2/sqrt 5 for T = y
    assert np.allclose(_residual(pb, "gamma", lambda z: z[1:2])[:, 1], 3 * 2 / np.sqrt(5), atol=1e-5)
    # two fields, one per side, each defined everywhere
    pair = _problem(("T1", "T2"), {"gamma": Interface(("T1", "T2"), GAMMA, coefficient=k)})
    both = lambda z: jnp.array([d(z) / k[0], d(z) / k[1]])  # noqa: E731
    assert np.abs(_residual(pair, "gamma", both)).max() < 1e-6
    jumped = _residual(pair, "gamma", lambda z: both(z) + jnp.array([0.0, 0.5]))
    assert np.allclose(jumped[:, 0], 0.5) and np.allclose(jumped[:, 1], 0.0, atol=1e-6)



def test_interface_coefficients_of_another_field():
    """sigma(T) on the phi interface: sigma_- = 1 + T, sigma_+ = 3 + 5 T, T = 1, phi = d / sigma(1)."""
    sig = (lambda T: 1 + T, lambda T: 3 + 5 * T)
    d = lambda z: GAMMA.level_set(z[0], z[1], xp=jnp)  # noqa: E731
    transform = kink(GAMMA.level_set, {0: (0, 2)}, 2)  # phi = A + |d| B; T = raw 1
    raw = lambda z: jnp.array([d(z) * (1 / 2 + 1 / 8) / 2, 1.0 + 0 * z[0], (1 / 8 - 1 / 2) / 2])  # noqa: E731
    u = lambda z: transform(z, raw(z))  # noqa: E731
    conds = {"by_T": Interface("phi", GAMMA, sig, of="T"), "by_phi": Interface("phi", GAMMA, sig)}
    pb = _problem(("phi", "T"), conds, transform=transform, outputs=3)
    assert np.abs(_residual(pb, "by_T", u)).max() < 1e-5
    # taking phi's own trace (0 on the interface) gives sigma = 1 and 3: flux jump 3/8 - 1/2
    assert np.allclose(_residual(pb, "by_phi", u)[:, 1], -0.125, atol=1e-5)
    with pytest.raises(FieldlabError, match="represented like its field"):
        _problem(("phi", "T", "S"), {"g": Interface("phi", GAMMA, sig, of=("T", "S"))})
    with pytest.raises(FieldlabError, match=r"refers to field\(s\) \['Q'\]"):
        _problem(("phi", "T"), {"g": Interface("phi", GAMMA, sig, of="Q")})

def test_interface_and_outputs_refuse_bad_input():
    with pytest.raises(FieldlabError, match="needs offset > 0"):
        _problem(("T",), {"g": Interface("T", GAMMA, offset=0.0)})
    with pytest.raises(FieldlabError, match=r"Interface refers to field\(s\) \['S'\]"):
        _problem(("T",), {"g": Interface(("T", "S"), GAMMA)})
    same = Interface(["T"], GAMMA, coefficient=4.0)  # one field in a list; one coefficient for both sides
    assert same.field == "T" and same.coefficient == (4.0, 4.0)
    with pytest.raises(FieldlabError, match="one value or a pair"):
        Interface("T", GAMMA, coefficient=(1.0, 2.0, 3.0))
    with pytest.raises(FieldlabError, match="asks for 3 network outputs; that needs a transform"):
        _problem(("T",), outputs=3)


@pytest.mark.slow
def test_interface_problem_trains_to_the_piecewise_solution():
    """-div(k grad T) = 0 with k = 1 below y = 1/4 + x/2 and 4 above; exact T = d / k_i."""
    k = (1.0, 4.0)

    def heat(F, p):
        return F.laplacian("T", ("x", "y"))

    pb = fieldlab.Problem(
        name="interface-heat", coords=("x", "y"), fields=("T",), domain=Box([0, 0], [1, 1]),
        equations={"heat": heat},
        conditions={"walls": fieldlab.Dirichlet("T", lambda x, y: _piecewise(jnp.stack([x, y]))),
                    "gamma": Interface("T", GAMMA, coefficient=k)},
        transform=kink(GAMMA.level_set, {0: (0, 1)}, 1), outputs=2,
        reference=lambda: fieldlab.Reference((np.linspace(0, 1, 41),) * 2, np.asarray(jax.vmap(jax.vmap(
            lambda x, y: _piecewise(jnp.stack([x, y]))[None]))(*jnp.meshgrid(jnp.linspace(0, 1, 41), jnp.linspace(0, 1, 41),
                                                                             indexing="ij")), np.float64)))
    run = fieldlab.train(pb, "mlp", {"sampling": {"interior": 500, "boundary": 200},
                                     "stages": [{"optimizer": "adam", "steps": 500, "lr": 3e-3},
                                                {"optimizer": "lbfgs", "steps": 500}]}, progress=False, width=20, depth=2)
    assert run.metrics["rel_l2"] < 1e-2


# -- field-dependent coefficients --------------------------------------------------------------------

def test_flux_divergence_matches_sympy(x64):
    import sympy as sp

    x, y = sp.symbols("x y")
    u_s, w_s = sp.sin(x) * y**2, 1 + x * y
    c = lambda v, xp: 1 + v**2 / (1 + v)  # noqa: E731
    ref_u = sp.lambdify((x, y), sp.diff(c(u_s, sp) * sp.diff(u_s, x), x) + sp.diff(c(u_s, sp) * sp.diff(u_s, y), y))
    ref_w = sp.lambdify((x, y), sp.diff(c(w_s, sp) * sp.diff(u_s, x), x) + sp.diff(c(w_s, sp) * sp.diff(u_s, y), y))
    net = lambda z: jnp.array([jnp.sin(z[0]) * z[1] ** 2, 1 + z[0] * z[1]])  # noqa: E731
    for z in np.random.default_rng(0).uniform(0.1, 1.5, size=(5, 2)):
        F = fieldlab.Fields(net, jnp.asarray(z), ("x", "y"), ("u", "w"))
        assert float(flux_divergence(F, "u", ("x", "y"), lambda v: c(v, jnp))) == pytest.approx(ref_u(*z), rel=1e-12)
        assert float(flux_divergence(F, "u", ("x", "y"), lambda v: c(v, jnp), of="w")) == pytest.approx(ref_w(*z), rel=1e-12)
        assert float(flux_divergence(F, "u", ("x", "y"), 2.0)) == pytest.approx(
            2 * (-np.sin(z[0]) * z[1] ** 2 + 2 * np.sin(z[0])), rel=1e-12)


# -- per-field scaling and metrics -------------------------------------------------------------------

def test_scaled_condition_and_equation():
    pts = np.array([[0.2, 0.3], [0.7, 0.1]])
    data = fieldlab.Data(pts, np.zeros((2, 2)), fields=("u", "p"))
    pb = _problem(("u", "p"), {"d": Scaled(data, (0.5, 0.01))})
    assert pb.conditions["d"].kind == "data"
    r = _residual(pb, "d", lambda z: jnp.array([1.0, 0.02]) + 0 * z[0])
    assert np.allclose(r, [[2.0, 2.0], [2.0, 2.0]], rtol=1e-6)
    eq = scaled(lambda F, p: jnp.stack([F.u, F.p]), (0.5, 0.01))
    F = fieldlab.Fields(lambda z: jnp.array([1.0, 0.02]), jnp.zeros(2), ("x", "y"), ("u", "p"))
    assert np.allclose(eq(F, {}), [2.0, 2.0], rtol=1e-6)
    with pytest.raises(FieldlabError, match="scale must be positive"):
        _problem(("u", "p"), {"d": Scaled(data, (0.5, -1.0))})
    with pytest.raises(FieldlabError, match="scale must be positive"):
        scaled(eq, 0.0)



def test_scaled_condition_keeps_the_wrapped_conditions_points():
    from fieldlab.training.recipe import Sampling
    from fieldlab.training.trainer import condition_counts
    left = fieldlab.Dirichlet("u", 0.0, where=lambda x, y: np.isclose(x, 0.0))
    pts = np.array([[0.2, 0.3], [0.7, 0.1], [0.5, 0.5]])
    conds = {"left": Scaled(left, 2.0), "few": Scaled(fieldlab.Dirichlet("u", 0.0, count=10), 2.0),
             "pt": Scaled(fieldlab.Point(pts, 1.0, fields="u"), 0.5)}
    pb = _problem(("u", "p"), conds)
    counts = condition_counts(pb, Sampling(boundary=400))
    plain = condition_counts(_problem(("u", "p"), {"left": left}), Sampling(boundary=400))["left"]
    assert 90 <= counts["left"] == plain <= 110  # a quarter of the boundary, as unwrapped (not all 400)
    assert (counts["few"], counts["pt"]) == (10, 3)  # its own count; every point
    assert conds["left"].names == ("u",)
    with pytest.raises(FieldlabError, match="unknown|refers to field"):
        _problem(("u", "p"), {"d": Scaled(fieldlab.Dirichlet("w", 0.0), 2.0)})
    with pytest.raises(FieldlabError, match="2 scales but its residual has 1 component"):
        _residual(_problem(("u", "p"), {"d": Scaled(left, (1.0, 2.0))}), "d", lambda z: jnp.array([1.0, 0.0]))
    with pytest.raises(FieldlabError, match="3 scales but its residual has 2 component"):
        scaled(lambda F, p: jnp.stack([F.u, F.p]), (1.0, 2.0, 3.0))(
            fieldlab.Fields(lambda z: jnp.array([1.0, 0.02]), jnp.zeros(2), ("x", "y"), ("u", "p")), {})

def test_all_metrics_per_field():
    ref = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    pred = ref + np.array([[0.1, 0.0], [0.0, -3.0], [-0.1, 0.0]])
    m = all_metrics(pred, ref, ("u", "T"))
    assert m["mse_u"] == pytest.approx(0.02 / 3) and m["mse_T"] == pytest.approx(3.0)
    assert m["rmse_T"] == pytest.approx(np.sqrt(3.0)) and m["mae_u"] == pytest.approx(0.2 / 3)
    assert m["max_ae_u"] == pytest.approx(0.1) and m["max_ae_T"] == pytest.approx(3.0)
    assert m["rel_l2_T"] == pytest.approx(3.0 / np.sqrt(1400)) and m["rel_l2_u"] == pytest.approx(np.sqrt(0.02 / 14))
    assert "mse_u" not in all_metrics(pred[:, :1], ref[:, :1], ("u",))
