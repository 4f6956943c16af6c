"""Training strategies: each against its formula, adaptive collocation, optimiser stages, exact resume."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fieldlab
from fieldlab import models, problems
from fieldlab.config import resolve
from fieldlab.errors import FieldlabError
from fieldlab.training import stages
from fieldlab.training.losses import Objective
from fieldlab.training.optimizers import make_chunk
from fieldlab.training.recipe import Recipe
from fieldlab.training.strategies import STRATEGIES, Pool
from fieldlab.training.trainer import Interrupted, init_theta, sample_batch


def _setup(strategies, interior=64, problem="heat1d"):
    """heat1d with its conditions in the loss (three terms), a tiny MLP, one batch, bound strategies."""
    pb = problems.get(problem).soft()
    lo, hi = pb.domain.bounds()
    net = models.build("mlp", 2, pb.n_outputs, key=jax.random.PRNGKey(0), lo=lo, hi=hi, width=8, depth=2)
    theta, static = init_theta(pb, net, jnp.float32)
    recipe = Recipe.model_validate({"sampling": {"interior": interior, "boundary": 16, "initial": 16},
                                    "strategies": strategies})
    obj = Objective(pb, static, {}, recipe.strategies, jnp.float32)
    batch = sample_batch(pb, recipe, 0, jnp.float32)
    states = obj.bind(obj.sizes(batch))
    return obj, theta, batch, {"states": states, "step": jnp.int32(0)}


def _term_losses(obj, theta, batch, aux):
    return {k: jnp.mean(v) for k, v in obj.pointwise(theta, batch, aux).items()}


def test_gradnorm_weights_follow_the_formula():
    obj, theta, batch, aux = _setup([{"kind": "gradnorm", "alpha": 0.5, "every": 10}])
    norms = {}
    for k in obj.names:
        g = jax.grad(lambda th: _term_losses(obj, th, batch, aux)[k])(theta)
        norms[k] = float(jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(g))))
    new = obj.update(aux, theta, batch)["states"][0]["w"]
    total = sum(norms.values())
    for k in obj.names:  # lambda <- 0.5 * 1 + 0.5 * sum_j |g_j| / |g_k|
        assert float(new[k]) == pytest.approx(0.5 + 0.5 * total / norms[k], rel=1e-4)
    skipped = obj.update({**aux, "step": jnp.int32(3)}, theta, batch)["states"][0]["w"]
    assert all(float(skipped[k]) == 1.0 for k in obj.names)  # refreshed every 10 steps only


def test_balance_weights_stop_at_their_cap():
    """A term with a tiny gradient would get a huge weight; ``max_weight`` bounds it, ``None`` lifts the bound."""
    def weights(cap):
        obj, theta, batch, aux = _setup([{"kind": "gradnorm", "alpha": 0.0, "every": 1, "max_weight": cap}])
        return {k: float(v) for k, v in obj.update(aux, theta, batch)["states"][0]["w"].items()}

    capped, free = weights(1.5), weights(None)
    assert max(free.values()) > 1.5  # three terms: some ratio sum/own is at least 3
    assert capped == pytest.approx({k: min(v, 1.5) for k, v in free.items()}, rel=1e-5)


@pytest.mark.parametrize("problem", ["heat1d", "cavity"])  # cavity: a two-component momentum residual
def test_ntk_weights_follow_the_formula(problem):
    obj, theta, batch, aux = _setup([{"kind": "ntk", "alpha": 0.0, "points": 8, "max_weight": None}], problem=problem)
    # 8 points spread evenly over each term's batch (64 interior, 16 per condition): the last one included
    sub = jax.tree_util.tree_map(lambda a: a[np.linspace(0, len(a) - 1, 8).round().astype(int)], batch)
    assert np.array_equal(sub["interior"]["z"][-1], batch["interior"]["z"][-1])
    traces = {}
    for k in obj.names:
        J = jax.jacrev(lambda th: obj.residuals(th, sub)[k])(theta)
        # one NTK diagonal entry per point and component: the mean over both, as the loss averages
        components = obj.residuals(theta, sub)[k].shape[1]
        assert components == (2 if k == "momentum" else 1)
        traces[k] = float(sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(J))) / (8 * components)
    new = obj.update(aux, theta, batch)["states"][0]["w"]
    total = sum(traces.values())
    for k in obj.names:
        assert float(new[k]) == pytest.approx(total / traces[k], rel=1e-4)


def test_relobralo_with_certain_lookback_follows_the_formula():
    obj, theta, batch, aux = _setup([{"kind": "relobralo", "alpha": 0.9, "rho": 1.0, "temperature": 0.5}])
    L = {k: float(v) for k, v in _term_losses(obj, theta, batch, aux).items()}
    new = obj.update(aux, theta, batch)["states"][0]
    # first refresh: L(t) / L(t') = 1 for both balances, so every softmax weight is 1 and lambda stays 1
    assert all(float(new["w"][k]) == pytest.approx(1.0, rel=1e-5) for k in obj.names)
    assert all(float(new["first"][k]) == pytest.approx(L[k], rel=1e-5) for k in obj.names)
    # second refresh with halved previous losses: lambda = 0.9 * 1 + 0.1 * K softmax(L / (T L_prev))
    state = {**new, "prev": {k: v / 2 for k, v in new["prev"].items()}}
    again = obj.update({"states": [state], "step": jnp.int32(1)}, theta, batch)["states"][0]["w"]
    for k in obj.names:  # every ratio is 2, so the balance is uniform: weights stay 1
        assert float(again[k]) == pytest.approx(1.0, rel=1e-5)
    prev = dict(new["prev"])
    prev[obj.names[0]] = prev[obj.names[0]] / 4  # term 0 now improved less than the others
    state = {**new, "prev": prev}
    again = obj.update({"states": [state], "step": jnp.int32(1)}, theta, batch)["states"][0]["w"]
    z = np.array([4.0 if k == obj.names[0] else 1.0 for k in obj.names]) / 0.5
    bal = len(z) * np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    for i, k in enumerate(obj.names):
        assert float(again[k]) == pytest.approx(0.9 + 0.1 * bal[i], rel=1e-4)
    assert float(again[obj.names[0]]) > 1.0 > float(again[obj.names[1]])


def test_rba_and_sa_pointwise_weights_follow_their_formulas():
    obj, theta, batch, aux = _setup([{"kind": "rba", "eta": 0.1, "gamma": 0.9}, {"kind": "sa", "eta": 0.2, "terms": ["initial"]}])
    r2 = obj.pointwise(theta, batch, aux)
    new = obj.update(aux, theta, batch)["states"]
    r = np.sqrt(np.asarray(r2["pde"]))
    np.testing.assert_allclose(np.asarray(new[0]["pde"]), 0.1 * r / r.max(), rtol=1e-5)  # from lambda = 0
    ri = np.asarray(r2["initial"])
    np.testing.assert_allclose(np.asarray(new[1]["initial"]), 1 + 0.2 * ri / ri.mean(), rtol=1e-5)
    # the loss uses (lambda r)^2 for RBA and lambda r^2 for SA
    loss, _ = obj.terms(theta, batch, {"states": new, "step": jnp.int32(1)})
    expected = (np.mean(np.asarray(new[0]["pde"]) ** 2 * np.asarray(r2["pde"]))
                + np.mean(np.asarray(r2["boundary"])) + np.mean(np.asarray(new[1]["initial"]) * ri))
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_causal_weights_are_monotone_in_time_and_eps_advances():
    obj, theta, batch, aux = _setup([{"kind": "causal", "chunks": 8, "eps": [1.0, 50.0], "delta": 0.5, "every": 1}],
                                    interior=256)
    causal = obj.strategies[0]
    r2 = obj.pointwise(theta, batch, aux)
    t = batch["interior"]["z"][:, 1]
    idx, w, _ = causal.chunk_weights(jnp.int32(1), r2["pde"], t)
    w = np.asarray(w)
    assert w[0] == 1.0 and np.all(np.diff(w) <= 0) and w[-1] < w[0]
    pw = np.asarray(causal.point_weights(aux["states"][0], r2, batch, False)["pde"])
    order = np.argsort(np.asarray(t))
    assert np.all(np.diff(np.asarray(idx)[order]) >= 0)
    w0 = np.asarray(causal.chunk_weights(jnp.int32(0), r2["pde"], t)[1])  # the state's level 0: eps = 1
    assert np.mean(pw) == pytest.approx(np.mean(w0), rel=0.1)  # Sobol points, near-equal chunks: mean over chunks
    assert causal.point_weights(aux["states"][0], r2, batch, True) == {}  # off in quasi-Newton stages
    small = {**aux, "states": [{"level": jnp.int32(0), "min_w": jnp.float32(1.0)}]}
    L = np.asarray(jax.ops.segment_sum(r2["pde"], idx, 8) / jnp.maximum(jax.ops.segment_sum(jnp.ones_like(t), idx, 8), 1))
    new = obj.update(small, theta, batch)["states"][0]
    expected_min = np.exp(-1.0 * (np.cumsum(L) - L)).min()
    assert float(new["min_w"]) == pytest.approx(expected_min, rel=1e-4)
    assert int(new["level"]) == (1 if expected_min > 0.5 else 0)


def test_causal_refuses_a_steady_problem():
    pb = problems.get("poisson2d")
    lo, hi = pb.domain.bounds()
    net = models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=lo, hi=hi, width=8, depth=2)
    theta, static = init_theta(pb, net, jnp.float32)
    obj = Objective(pb, static, {}, Recipe.model_validate({"strategies": [{"kind": "causal"}]}).strategies, jnp.float32)
    with pytest.raises(FieldlabError, match="time-dependent"):
        obj.bind({"interior": 10})


@pytest.mark.parametrize("kind,problem,soft,warns", [
    ("gradnorm", "burgers", False, "one term (pde)"),  # hard constraints: the residual is the only term
    ("relobralo", "burgers", False, "one term (pde)"),
    ("residual-data", "burgers", False, "has none"),
    ("gradnorm", "burgers", True, None),  # soft conditions are terms: weights matter
    ("rba", "burgers", False, None),  # pointwise weights act on one term too
])
def test_strategies_that_cannot_act_say_so(kind, problem, soft, warns):
    import warnings

    pb = problems.get(problem)
    pb = pb.soft() if soft else pb
    lo, hi = pb.domain.bounds()
    net = models.build("mlp", 2, 1, key=jax.random.PRNGKey(0), lo=lo, hi=hi, width=8, depth=2)
    theta, static = init_theta(pb, net, jnp.float32)
    obj = Objective(pb, static, {}, Recipe.model_validate({"strategies": [{"kind": kind}]}).strategies, jnp.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj.bind({k: 10 for k in obj.names})
    said = [str(w.message) for w in caught if "no effect" in str(w.message)]
    if warns is None:
        assert said == []
    else:
        assert len(said) == 1 and warns in said[0] and "hard_constraints = false" in said[0]

@pytest.mark.parametrize("mode,spec,expected", [
    ("linear", {"start": 1.0, "steps": 100}, {0: 1.0, 50: 0.7, 100: 0.4, 500: 0.4}),
    ("geometric", {"start": 4.0, "steps": 100}, {0: 4.0, 50: 4.0 * 0.1**0.5, 100: 0.4}),
    ("staged", {"values": [0.1, 0.2], "milestones": [10, 20]}, {0: 0.1, 9: 0.1, 10: 0.2, 19: 0.2, 20: 0.4}),
])
def test_continuation_ramps_a_parameter(mode, spec, expected):
    obj, theta, batch, aux = _setup([{"kind": "continuation", "param": "alpha", "mode": mode, **spec}])
    for step, value in expected.items():
        assert float(obj.strategies[0].params({}, step)["alpha"]) == pytest.approx(value, rel=1e-5)
    # the residual sees the ramped value: u_t - alpha u_xx with alpha at its start value
    r_start = obj.residuals(theta, batch, {"alpha": jnp.float32(expected[0])})["pde"]
    r_used = obj.residuals(theta, batch, obj._overrides(aux["states"], 0))["pde"]
    np.testing.assert_allclose(np.asarray(r_used), np.asarray(r_start), rtol=1e-6)


def test_continuation_holds_still_in_a_quasi_newton_stage():
    """The strategies see the frozen stage's first step in every chunk of it (a ramp does not move)."""
    from fieldlab.run import _build_model
    from fieldlab.training.trainer import Trainer

    recipe = {"sampling": {"interior": 64, "boundary": 16, "initial": 16}, "chunk": 5,
              "strategies": [{"kind": "continuation", "param": "alpha", "mode": "linear", "start": 1.0, "steps": 100}],
              "stages": [{"optimizer": "adam", "steps": 10}, {"optimizer": "lbfgs", "steps": 20}]}
    cfg = _config(recipe)
    trainer = Trainer(problems.get("heat1d"), _build_model(problems.get("heat1d"), cfg), cfg, None, progress=False)
    adam, lbfgs = trainer.recipe.stages
    trainer.state.step, trainer.state.stage_step = 7, 7
    assert trainer._strategy_step(adam) == 7
    trainer.state.step, trainer.state.stage_step = 25, 15  # 15 steps into the L-BFGS stage, which began at 10
    assert trainer._strategy_step(lbfgs) == 10


@pytest.mark.parametrize("moving", [{"strategies": [{"kind": "rad", "every": 20}]}, {"resample_every": 10}])
def test_per_point_weights_on_moving_points_warn(moving):
    from fieldlab.run import _build_model
    from fieldlab.training.trainer import Trainer

    recipe = {"sampling": {"interior": 64, "boundary": 16, "initial": 16, "resample_every": moving.get("resample_every", 0)},
              "strategies": [{"kind": "rba"}, *moving.get("strategies", [])], "stages": [{"optimizer": "adam", "steps": 10}]}
    cfg = _config(recipe)
    with pytest.warns(UserWarning, match="rba keeps one weight per point position"):
        Trainer(problems.get("heat1d"), _build_model(problems.get("heat1d"), cfg), cfg, None, progress=False)


@pytest.mark.parametrize("adam, warns", [(20, "inside a quasi-Newton"), (40, None), (10, "past the run")])
def test_time_marching_that_opens_its_last_window_too_late_warns(adam, warns):
    import warnings

    from fieldlab.run import _build_model
    from fieldlab.training.trainer import Trainer

    stages = [{"optimizer": "adam", "steps": adam}] + ([{"optimizer": "lbfgs", "steps": 20}] if adam != 10 else [])
    recipe = {"sampling": {"interior": 64, "boundary": 16, "initial": 16}, "stages": stages,
              "strategies": [{"kind": "time-marching", "every": 30, "windows": 2}]}  # whole interval from step 30
    cfg = _config(recipe)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(problems.get("heat1d"), _build_model(problems.get("heat1d"), cfg), cfg, None, progress=False)
    said = [str(w.message) for w in caught if "time-marching opens its last window" in str(w.message)]
    assert (said and warns in said[0]) if warns else not said


def test_the_recorded_loss_is_the_one_each_stage_minimises():
    """Causal weights act in Adam stages only: an L-BFGS stage's recorded loss is the plain sum of its terms."""
    recipe = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 10,
              "strategies": [{"kind": "causal", "every": 5, "chunks": 4}],
              "stages": [{"optimizer": "adam", "steps": 20, "lr": 5e-3}, {"optimizer": "lbfgs", "steps": 20}]}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    plain = [sum(v for k, v in h.items() if k.startswith("loss_")) for h in run.history]
    stages = [h["stage"] for h in run.history]
    assert stages == [1, 1, 2, 2]
    for h, total in zip(run.history, plain):
        if h["stage"] == 2:
            assert h["loss"] == pytest.approx(total, rel=1e-5)
        else:  # causal weights change the weighted loss
            assert abs(h["loss"] - total) > 1e-5 * total


def test_continuation_of_an_unknown_parameter_is_refused():
    with pytest.raises(FieldlabError, match="not a constant parameter"):
        _setup([{"kind": "continuation", "param": "nu", "start": 1.0}])


def test_residual_data_weights_follow_the_formula():
    obj, theta, batch, aux = _setup([{"kind": "residual-data", "alpha": 0.0, "beta": 0.5, "max_weight": 1e9, "min_weight": 1e-9}])
    L = {k: float(v) for k, v in _term_losses(obj, theta, batch, aux).items()}
    new = obj.update(aux, theta, batch)["states"][0]["w"]
    assert set(new) == {"boundary", "initial"}
    for k in new:
        assert float(new[k]) == pytest.approx((L["pde"] / L[k]) ** 0.5, rel=1e-4)


def test_unknown_strategy_and_weight_names_are_refused():
    with pytest.raises(Exception, match="recipe.strategies.0.kind 'gradnorms' is not a known strategy"):
        Recipe.model_validate({"strategies": [{"kind": "gradnorms"}]})
    with pytest.raises(Exception, match="recipe.strategies.0.gama: unknown key"):
        Recipe.model_validate({"strategies": [{"kind": "rba", "gama": 0.9}]})
    with pytest.raises(Exception, match="min_weight <= max_weight"):
        Recipe.model_validate({"strategies": [{"kind": "residual-data", "min_weight": 10.0, "max_weight": 1.0}]})
    pb = problems.get("heat1d")
    with pytest.raises(FieldlabError, match="pdee"):
        Objective(pb, None, {"pdee": 100.0}, [], jnp.float32)
    assert set(STRATEGIES.names()) >= {"gradnorm", "ntk", "rba", "sa", "relobralo", "residual-data", "causal",
                                      "continuation", "rar-g", "rad", "r3", "time-marching"}


def _pool(z, step=500, rng_seed=0):
    """A pool on the unit square with a planted residual peak at (0.7, 0.3)."""
    def residual(p):
        return np.exp(-200 * ((p[:, 0] - 0.7) ** 2 + (p[:, 1] - 0.3) ** 2))

    gen = np.random.default_rng(rng_seed + 1)
    return Pool(z, residual, lambda m: gen.random((m, 2)), np.random.default_rng(rng_seed), step, 1,
                np.zeros(2), np.ones(2))


def test_rar_adds_points_at_the_planted_residual_peak():
    z = np.random.default_rng(0).random((100, 2))
    rar = STRATEGIES.validate({"kind": "rar-g", "candidates": 2000, "add": 20})
    new = rar.refresh(_pool(z))
    assert new.shape == (120, 2)
    np.testing.assert_array_equal(new[:100], z)
    assert np.all(np.hypot(new[100:, 0] - 0.7, new[100:, 1] - 0.3) < 0.12)
    capped = STRATEGIES.validate({"kind": "rar-g", "add": 20, "max_points": 110}).refresh(_pool(z))
    assert capped.shape == (110, 2)


def test_rad_concentrates_and_r3_retains_high_residual_points():
    z = np.random.default_rng(0).random((400, 2))
    rad = STRATEGIES.validate({"kind": "rad", "candidates": 4000, "k": 2.0, "c": 0.0})
    new = rad.refresh(_pool(z))
    near = lambda p: np.hypot(p[:, 0] - 0.7, p[:, 1] - 0.3) < 0.15  # noqa: E731
    assert new.shape == z.shape and near(new).mean() > 5 * near(z).mean()
    r3 = STRATEGIES.validate({"kind": "r3"})
    out = r3.refresh(_pool(z))
    pool = _pool(z)
    kept = z[pool.residual(z) > pool.residual(z).mean()]
    assert out.shape == z.shape and len(kept) > 0
    np.testing.assert_array_equal(out[: len(kept)], kept)


def test_time_marching_windows_grow():
    z = np.random.default_rng(0).random((500, 2))
    tm = STRATEGIES.validate({"kind": "time-marching", "windows": 4, "every": 100})
    first = tm.start(_pool(z, step=0))
    assert first[:, 1].max() <= 0.25 and first[:, 1].max() > 0.2
    later = tm.refresh(_pool(z, step=200))
    assert 0.7 < later[:, 1].max() <= 0.75
    assert tm.refresh(_pool(z, step=1000))[:, 1].max() > 0.9


# -- optimiser stages on a known least-squares problem -------------------------------------------------

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.5], [1.0, 0.0, 1.0]])
B = np.array([1.0, -2.0, 0.5, 3.0])


@pytest.mark.parametrize("spec,steps,tol", [
    ({"optimizer": "adam", "lr": 0.05, "schedule": "cosine"}, 2000, 1e-5),
    ({"optimizer": "adamw", "lr": 0.05, "weight_decay": 1e-6}, 2000, 1e-4),
    ({"optimizer": "lbfgs"}, 50, 1e-8),
    ({"optimizer": "bfgs"}, 50, 1e-8),
    ({"optimizer": "ssbfgs"}, 50, 1e-8),
    ({"optimizer": "ssbroyden"}, 50, 1e-8),
    ({"optimizer": "lm"}, 50, 1e-8),
])
def test_each_optimiser_reaches_the_least_squares_solution(spec, steps, tol):
    with jax.enable_x64(True):
        stage = stages.validate({**spec, "steps": steps})
        a, b = jnp.asarray(A), jnp.asarray(B)
        vector = lambda th, batch, aux: a @ th["x"] - b  # noqa: E731
        loss = lambda th, batch, aux: jnp.sum(vector(th, batch, aux) ** 2)  # noqa: E731
        opt, run = make_chunk(stage, loss, 100, vector_fn=vector)
        theta = {"x": jnp.zeros(3)}
        state = opt.init(theta)
        done, counters, last = 0, jnp.zeros(len(stage.rules()), jnp.int32), jnp.asarray(jnp.inf)
        while done < steps:
            theta, state, _, n, reason, counters, last, _ = run(theta, state, None, min(100, steps - done), counters, last, None)
            done += int(n)
            if int(reason) or int(n) == 0:
                break
        exact = np.linalg.lstsq(A, B, rcond=None)[0]
        np.testing.assert_allclose(np.asarray(theta["x"]), exact, atol=tol ** 0.5 * 10)
        assert float(loss(theta, None, None)) - np.sum((A @ exact - B) ** 2) < tol


@pytest.mark.parametrize("phi,self_scale", [(1.0, False), (1.0, True), (0.5, True), (0.0, False)])
def test_broyden_update_satisfies_the_secant_equation(phi, self_scale):
    """Every member of the family maps the latest gradient change onto the step: H y = s, H = H^T > 0."""
    with jax.enable_x64(True):
        tx = stages.scale_by_broyden(phi, self_scale)
        hess = 2 * A.T @ A
        grad = lambda x: {"x": jnp.asarray(hess @ x - 2 * A.T @ B)}  # noqa: E731
        xs = [np.zeros(3), np.array([0.3, -0.1, 0.2]), np.array([0.1, 0.4, -0.3]), np.array([0.5, 0.2, 0.1])]
        state = tx.init({"x": jnp.zeros(3)})
        for k, x in enumerate(xs):
            d, state = tx.update(grad(x), state, {"x": jnp.asarray(x)})
            if k:
                s, y = x - xs[k - 1], hess @ (x - xs[k - 1])
                H = np.asarray(state.H)
                np.testing.assert_allclose(H @ y, s, rtol=1e-8, atol=1e-12)
                np.testing.assert_allclose(H, H.T, atol=1e-12)
                assert np.linalg.eigvalsh(H).min() > 0
                np.testing.assert_allclose(np.asarray(d["x"]), -H @ np.asarray(grad(x)["x"]), rtol=1e-10)


# -- the training loop: precision switch, exact resume with every stateful strategy --------------------

def _config(recipe):
    return resolve(problems.defaults("heat1d"), {"model": {"name": "mlp", "width": 8, "depth": 2}, "recipe": recipe})


def test_float32_then_float64_in_one_recipe():
    recipe = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10,
              "stages": [{"optimizer": "adam", "steps": 20}, {"optimizer": "lbfgs", "steps": 20, "dtype": "float64"}]}
    run = fieldlab.solve(_config(recipe), None, progress=False)
    assert all(x.dtype == np.float64 for x in jax.tree_util.tree_leaves(run.theta))
    assert run.stops == ["adam: steps after 20 steps", "lbfgs: steps after 20 steps"]
    assert np.isfinite(run.metrics["rel_l2"])


@pytest.mark.parametrize("first", ["float32", "float64"])
def test_strategy_states_take_the_precision_of_the_stage(tmp_path, first):
    """A float64 stage in a float32 run: states made (or restored on resume) inside it are float64."""
    recipe = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 20,
              "strategies": [{"kind": "gradnorm", "every": 7}, {"kind": "rba"}],
              "stages": [{"optimizer": "adam", "steps": 20, "lr": 5e-3, "dtype": first},
                         {"optimizer": "adam", "steps": 20, "lr": 5e-3, "dtype": "float64"}]}
    full = fieldlab.solve(_config(recipe), tmp_path / "full", progress=False)
    assert full.metrics["steps"] == 40 and np.isfinite(full.metrics["rel_l2"])
    with pytest.raises(Interrupted):
        fieldlab.solve(_config(recipe), tmp_path / "cut", progress=False, stop_after=27)
    resumed = fieldlab.resume(tmp_path / "cut", progress=False)
    for x, y in zip(jax.tree_util.tree_leaves(full.theta), jax.tree_util.tree_leaves(resumed.theta)):
        assert x.dtype == np.float64
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


GROUPS = {  # every stateful strategy, in groups that compile together
    "weights": [{"kind": "gradnorm", "every": 7}, {"kind": "rba"}, {"kind": "causal", "every": 5, "chunks": 4},
                {"kind": "continuation", "param": "alpha", "start": 1.0, "steps": 30}, {"kind": "rad", "every": 20, "candidates": 300}],
    "balancing": [{"kind": "relobralo", "every": 3}, {"kind": "sa", "every": 2}, {"kind": "ntk", "every": 11, "points": 8},
                  {"kind": "r3", "every": 10}],
    "refinement": [{"kind": "residual-data", "every": 4}, {"kind": "rar-g", "every": 20, "candidates": 200, "add": 10}],
    "marching": [{"kind": "time-marching", "every": 20, "windows": 2}],
}


# one group runs by default; the others compile three trainings each (about 20 s): run with -m slow
@pytest.mark.filterwarnings("ignore:rba keeps one weight", "ignore:sa keeps one weight")  # positions, not points: as meant here
@pytest.mark.parametrize("group", [g if g == "weights" else pytest.param(g, marks=pytest.mark.slow) for g in sorted(GROUPS)])
def test_interrupted_then_resumed_equals_uninterrupted_with_strategies(tmp_path, group):
    recipe = {"sampling": {"interior": 120, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 20,
              "strategies": GROUPS[group],
              "stages": [{"optimizer": "adam", "steps": 40, "lr": 5e-3}, {"optimizer": "lbfgs", "steps": 10}]}
    cfg = _config(recipe)
    full = fieldlab.solve(cfg, tmp_path / "full", progress=False)
    with pytest.raises(Interrupted):
        fieldlab.solve(cfg, tmp_path / "cut", progress=False, stop_after=23)
    resumed = fieldlab.resume(tmp_path / "cut", progress=False)
    assert resumed.metrics["steps"] == full.metrics["steps"] == 50
    for x, y in zip(jax.tree_util.tree_leaves(full.theta), jax.tree_util.tree_leaves(resumed.theta)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in full.history], rel=1e-6)


# -- stopping rules ------------------------------------------------------------------------------


def _progress(loss, last, gnorm=1.0, failed=False):
    from fieldlab.training.stopping import Progress

    return Progress(jnp.float32(loss), jnp.float32(last), jnp.float32(gnorm), jnp.bool_(failed))


def test_stopping_rules_fire_as_their_formulas_say():
    from fieldlab.training.stopping import GradientTolerance, LineSearch, Stalled, Tolerance

    rule, count = Tolerance(tol=1e-3, patience=3), jnp.int32(0)
    fired = []
    for loss, last in [(1.0, 1.0005), (1.0, 1.0005), (1.0, 1.1), (1.0, 1.0001), (1.0, 1.0001), (1.0, 1.0001)]:
        stop, count = rule.check(count, _progress(loss, last))
        fired.append(bool(stop))
    assert fired == [False, False, False, False, False, True]  # a large change resets the count
    stop, _ = Stalled(patience=1).check(jnp.int32(0), _progress(2.0, 2.0))
    assert bool(stop)
    stop, _ = Stalled(patience=1).check(jnp.int32(0), _progress(2.0, 2.0000002))
    assert not bool(stop)
    stop, count = LineSearch(patience=2).check(jnp.int32(1), _progress(1.0, 2.0, failed=True))
    assert bool(stop) and int(count) == 2
    assert bool(GradientTolerance(gtol=1e-3).check(jnp.int32(0), _progress(1.0, 2.0, gnorm=1e-4))[0])
    assert not bool(GradientTolerance(gtol=1e-3).check(jnp.int32(0), _progress(1.0, 2.0, gnorm=1e-2))[0])


def test_a_stage_names_the_rule_that_stopped_it():
    from fieldlab.training.optimizers import reason_of

    stage = stages.validate({"optimizer": "adam", "lr": 0.05, "steps": 5000,
                             "stop": [{"rule": "tolerance", "tol": 1e-7, "patience": 5}, {"rule": "gtol", "gtol": 1e-30}]})
    assert [r.rule for r in stage.rules()] == ["tolerance", "gtol"]
    vector = lambda th, batch, aux: jnp.asarray(A) @ th["x"] - jnp.asarray(B)  # noqa: E731
    loss = lambda th, batch, aux: jnp.sum(vector(th, batch, aux) ** 2)  # noqa: E731
    opt, run = make_chunk(stage, loss, 5000)
    theta = {"x": jnp.zeros(3)}
    theta, _, _, n, reason, counters, _, _ = run(theta, opt.init(theta), None, 5000, jnp.zeros(2, jnp.int32), jnp.asarray(jnp.inf), None)
    assert 0 < int(n) < 5000 and reason_of(stage, int(reason)) == "tolerance"
    assert int(counters[0]) == 5
    # without stop, an Adam stage has no rules and an L-BFGS stage the ones tol implies
    assert stages.validate({"optimizer": "adam"}).rules() == []
    assert [r.rule for r in stages.validate({"optimizer": "lbfgs"}).rules()] == ["stalled", "linesearch"]
    assert [r.rule for r in stages.validate({"optimizer": "lbfgs", "tol": 1e-9, "gtol": 1e-6}).rules()] == ["tolerance", "linesearch", "gtol"]


def test_unknown_stopping_rules_are_named_with_their_place_in_the_recipe():
    def config(rule):
        return resolve(problems.defaults("poisson1d"), {"recipe": {"stages": [{"optimizer": "lbfgs", "stop": [rule]}]}})

    with pytest.raises(FieldlabError, match=r"recipe\.stages\.0\.stop\.0\.rule 'patience' is not a known stopping rule"):
        config({"rule": "patience"})
    with pytest.raises(FieldlabError, match=r"recipe\.stages\.0\.stop\.0\.tol: "):
        config({"rule": "tolerance", "tol": -1})


def test_a_dense_quasi_newton_stage_too_large_for_its_limit_runs_as_lbfgs_and_says_so():
    stage = stages.validate({"optimizer": "ssbroyden", "steps": 7, "max_params": 10, "dtype": "float64"})
    small, note = stage.for_size(10)
    assert small is stage and note == ""
    big, note = stage.for_size(11)
    assert big.optimizer == "lbfgs" and big.steps == 7 and big.dtype == "float64"
    assert "11 trainable numbers exceed its max_params 10" in note
    run = fieldlab.train("poisson1d", "mlp", {"stages": [{"optimizer": "adam", "steps": 10},
                                                        {"optimizer": "ssbfgs", "steps": 10, "max_params": 5}]},
                         progress=False, width=8, depth=1)
    assert any("ssbfgs ran as lbfgs" in s for s in run.stops)
    assert {row["optimizer"] for row in run.history} == {"adam", "lbfgs"}
