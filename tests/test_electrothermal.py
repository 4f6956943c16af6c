"""The electrothermal five-field problems: SymPy sources against automatic differentiation, exact
fields against the residual code, conditions and metrics at the exact solution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fieldlab import problems
from fieldlab.problems import electrothermal as et

SCENARIOS = ("coupled", "gauge", "transport", "interface")
NAMES = ("electrothermal-coupled", "electrothermal-gauge", "electrothermal-gauge-point", "electrothermal-transport",
         "electrothermal-interface")


def _points(n=40, seed=0, scenario="coupled"):
    z = np.random.default_rng(seed).uniform(0.02, 0.98, size=(4 * n, 2))
    if scenario == "interface":  # keep away from the interface, where the exact fields have a kink
        z = z[np.abs(et.GAMMA.level_set(z[:, 0], z[:, 1])) > 1e-3]
    return jnp.asarray(z[:n])


def _ad_sources(scenario, z):
    """f_u, f_v, q_T, s_phi at one point by automatic differentiation of the exact fields, with the
    operators in divergence form (the stress tensor and the fluxes differentiated as wholes)."""
    mu_law, k_law, s_law = et._laws(scenario)
    P = et.PARAMS
    W = lambda q: et.exact(scenario, q[0], q[1])  # noqa: E731 - (u, v, p, phi, T)
    above = et.GAMMA.level_set(z[0], z[1], xp=jnp) > 0
    k_i, s_i = jnp.where(above, et.K12[1], et.K12[0]), jnp.where(above, et.S12[1], et.S12[0])
    piecewise = scenario == "interface"

    def k_of(T):
        return k_i if piecewise else k_law(T, jnp)

    def s_of(T):
        return s_i if piecewise else s_law(T, jnp)

    def stress(q):
        J = jax.jacfwd(W)(q)
        mu = mu_law(W(q)[4], jnp)
        grad_u = J[:2, :]  # rows u, v; columns x, y
        return mu * (grad_u + grad_u.T)

    def heat_flux(q):
        return k_of(W(q)[4]) * jax.jacfwd(W)(q)[4]

    def current(q):
        return s_of(W(q)[4]) * jax.jacfwd(W)(q)[3]

    w, J = W(z), jax.jacfwd(W)(z)
    u, v, T = w[0], w[1], w[4]
    div_stress = jnp.trace(jax.jacfwd(stress)(z), axis1=1, axis2=2)  # d sigma_ij / d x_j
    f_u = u * J[0, 0] + v * J[0, 1] + J[2, 0] - div_stress[0] / P["Re"] + P["Ec"] * J[3, 0]
    f_v = u * J[1, 0] + v * J[1, 1] + J[2, 1] - div_stress[1] / P["Re"] + P["Ec"] * J[3, 1] - P["Ri"] * T
    q_T = u * J[4, 0] + v * J[4, 1] - jnp.trace(jax.jacfwd(heat_flux)(z)) / P["Pe"] - P["J"] * s_of(T) * (J[3] @ J[3])
    s_phi = -jnp.trace(jax.jacfwd(current)(z))
    if scenario == "interface":
        q_T, s_phi = q_T / k_i, s_phi / s_i
    return jnp.stack([f_u, f_v, q_T, s_phi]), J[0, 0] + J[1, 1]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sympy_sources_agree_with_autodiff_of_the_exact_fields(scenario, x64):
    z = _points(12, scenario=scenario)
    ad, div = jax.vmap(lambda q: _ad_sources(scenario, q))(z)
    sym = jnp.stack([et._select(scenario, k, z[:, 0], z[:, 1]) for k in ("f_u", "f_v", "q_T", "s_phi")], -1)
    assert np.abs(np.asarray(div)).max() < 1e-13  # the stream function makes the velocity divergence-free
    assert np.abs(np.asarray(ad - sym)).max() < 1e-12 * max(1.0, float(np.abs(sym).max()))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_exact_fields_satisfy_the_discrete_residuals_to_round_off(scenario, x64):
    pb = et.build(scenario)
    u = lambda q: et.exact(scenario, q[0], q[1])  # noqa: E731
    params = {k: jnp.asarray(v) for k, v in pb.params.items()}
    z = _points(40, seed=1, scenario=scenario)
    for name, eq in pb.equations.items():
        r = jax.vmap(lambda q, eq=eq: eq(pb.fields_at(u, q), params))(z)
        assert np.abs(np.asarray(r)).max() < 1e-10, (scenario, name)


def test_manufactured_facts_hold_symbolically():
    import sympy as sp

    x, y, (m,) = et.sympy_sources("gauge")
    assert sp.simplify(sp.integrate(m["p"], (x, 0, 1), (y, 0, 1))) == 0  # mean-pressure gauge
    assert sp.nsimplify(m["p"].subs({x: sp.Rational(1, 2), y: sp.Rational(1, 2)})) == sp.Rational(-1, 25)
    x, y, (m1, m2) = et.sympy_sources("interface")
    s = sp.Symbol("s")
    on = {x: s, y: sp.Rational(1, 4) + s / 2}
    n = (-1 / sp.sqrt(5), 2 / sp.sqrt(5))
    dn = lambda f: n[0] * sp.diff(f, x) + n[1] * sp.diff(f, y)  # noqa: E731
    for f, cs in (("T", et.K12), ("phi", et.S12)):
        c1, c2 = (sp.nsimplify(c) for c in cs)
        assert sp.simplify((m2[f] - m1[f]).subs(on)) == 0
        assert sp.simplify((c2 * dn(m2[f]) - c1 * dn(m1[f])).subs(on)) == 0
        assert sp.simplify((dn(m2[f]) / dn(m1[f])).subs(on) - c1 / c2) == 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_hard_constraints_keep_the_boundary_data(scenario):
    pb = et.build(scenario)
    hard = [c.field for k, c in pb.conditions.items() if k in pb.exact]
    assert {"gauge": ["u", "v", "phi", "T"], "interface": ["u", "v", "p"]}.get(scenario, list(et.FIELDS)) == hard
    z, _ = pb.domain.sample_boundary(64, seed=0)
    raw = jax.random.normal(jax.random.PRNGKey(0), (64, pb.n_outputs))
    out = np.asarray(jax.vmap(pb.transform)(jnp.asarray(z, jnp.float32), raw))
    ex = np.asarray(et.exact(scenario, jnp.asarray(z[:, 0]), jnp.asarray(z[:, 1])))
    idx = [et.FIELDS.index(f) for f in hard]
    assert np.abs(out[:, idx] - ex[:, idx]).max() < 1e-5


def test_interface_fields_are_representable_by_the_kink_transform(x64):
    """T = A + |d| B with smooth A, B reproduces the piecewise exact T (and phi) on both sides."""
    pb = et.build("interface")
    z = _points(30, seed=2, scenario="interface")
    ex = np.asarray(jax.vmap(lambda q: et.exact("interface", q[0], q[1]))(z))
    d = np.asarray(et.GAMMA.level_set(z[:, 0], z[:, 1]))
    side = lambda f: np.where(d[:, None] < 0, f(z, 0), f(z, 1))  # noqa: E731
    # the two sides' closed forms continued over the whole square: A = mean, B = (f2 - f1) / (2 |d|) * sign
    fs = lambda q, i: np.stack([np.asarray(et._compiled("interface")[0][i][k](q[:, 0], q[:, 1]) + 0 * q[:, 0])  # noqa: E731
                                for k in et.FIELDS], -1)
    f1, f2 = fs(z, 0), fs(z, 1)
    A = (f1 + f2) / 2
    B = (f2 - f1) / (2 * d[:, None])  # f2 - f1 is d times a smooth function (both sides agree on Gamma)
    raw = np.concatenate([A, B[:, [3, 4]]], -1)
    raw[:, :3] = 0.0  # u, v, p: hard-constrained, checked elsewhere
    out = np.asarray(jax.vmap(pb.transform)(z, jnp.asarray(raw)))
    assert np.abs(out[:, 3:] - ex[:, 3:]).max() < 1e-12
    assert np.allclose(side(lambda q, i: fs(q, i))[:, 3:], ex[:, 3:])


def test_conditions_and_extra_metrics_vanish_at_the_exact_solution():
    for scenario, point in (("gauge", False), ("gauge", True), ("interface", False)):
        pb = et.build(scenario, gauge="point" if point else "mean")
        u = lambda q, s=scenario: et.exact(s, q[0], q[1])  # noqa: E731
        for name, cond in pb.trained_conditions.items():
            batch = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), cond.sample(pb, 200, 0, "sobol"))
            r = jax.vmap(lambda it, c=cond: c.residual(lambda q: pb.fields_at(u, q), it, {}))(batch)
            # interface traces are Taylor steps of length 1e-3: O(1e-6 |d^3 phi/dn^3| sigma) ~ 5e-5 here
            assert np.abs(np.asarray(r)).max() < 1e-4, (scenario, name)
        m = pb.extra_metrics(u, jnp.float32)
        if scenario == "gauge":
            assert m["p_mean_error"] < 1e-6 and m["rel_l2_p_shape"] < 1e-6 and abs(m["p_mean_exact"]) < 1e-6
        else:
            assert max(v for k, v in m.items() if k.startswith("interface_")) < 1e-4
            assert m["rel_l2_T_near_interface"] < 1e-6
    m = et.build("transport").extra_metrics(lambda q: et.exact("transport", q[0], q[1]) * 1.01, jnp.float32)
    assert m["rel_l2_k(T)"] == pytest.approx(0.01, rel=1e-3) and 0.005 < m["rel_l2_sigma(T)"] < 0.02


def test_registered_with_defaults_and_reference():
    assert set(NAMES) <= set(problems.available())
    for name in NAMES:
        pb = problems.get(name)
        assert pb.fields == ("u", "v", "p", "phi", "T") and pb.name == name
        cfg = problems.defaults(name)
        assert cfg["model"]["name"] == "mlp" and cfg["recipe"]["stages"][0]["optimizer"] == "adam"
    ref = problems.get("electrothermal-coupled").reference()
    assert ref.values.shape == (201, 201, 5)
    assert ref.values[..., 3].min() == pytest.approx(0.0, abs=0.02) and ref.values[..., 4].max() < 1.31


@pytest.mark.slow
def test_cli_solve_and_eval_return_every_field(tmp_path):
    """`fieldlab solve` with the built-in defaults (cut to a few steps) and `fieldlab eval`."""
    import json

    from typer.testing import CliRunner

    from fieldlab.cli import app

    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(app, ["solve", "electrothermal-gauge", "--steps", "40", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text())
    for f in et.FIELDS:
        assert all(f"{k}_{f}" in m for k in ("rel_l2", "mse", "rmse", "mae", "max_ae"))
    assert {"p_mean_error", "rel_l2_p_shape"} <= set(m)
    np.save(tmp_path / "pts.npy", np.array([[0.5, 0.5], [0.25, 0.75]]))
    res = runner.invoke(app, ["eval", str(out), "--points", str(tmp_path / "pts.npy"), "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    header = (tmp_path / "p.csv").read_text().splitlines()[0]
    assert [c.strip() for c in header.split(",")] == ["x", "y", "u", "v", "p", "phi", "T"]
