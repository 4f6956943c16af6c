"""MLP-family backbones: residual MLP, modified (gated) MLP, Fourier-feature MLP, PirateNet.

Contract checks for each (build, parameter budget, exact derivatives, dtypes, heat1d accuracy) plus
checks of the equations and of the model-specific parts (fixed Fourier matrix, exact periodicity,
PirateNet's identity blocks at initialisation and least-squares read-out initialisation).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest


from fieldlab import models
from fieldlab.errors import FieldlabError
from fieldlab.models import fourier, modified_mlp, pirate, resnet  # noqa: F401 - registers them
from fieldlab.models.base import Backbone, scale_inputs
from fieldlab.operators import partial

NAMES = ["resnet", "modified-mlp", "fourier", "pirate"]


def _cast(net, dtype):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, net)


def _build(name, **options):
    """Build a backbone; the float64 checks call it under the ``x64`` fixture."""
    return models.build(name, 2, 1, key=jax.random.PRNGKey(0), lo=[0, 0], hi=[1, 1], **options)


@functools.cache
def _net(name):
    """One float64 network per backbone (width 12, depth 2), shared by the tests: eager
    initialisation compiles every random draw of a new shape, which costs seconds."""
    return _cast(_build(name, width=12, depth=2), jnp.float64)


_apply = eqx.filter_jit(lambda net, Z: jax.vmap(net)(Z))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.usefixtures("x64")
def test_build_count_and_budget(name):
    assert name in models.available()
    assert models.count_params(_net(name)) > 0
    # sizing by budget evaluates shapes only; the budget-sized model is built abstractly as well
    sized = eqx.filter_eval_shape(lambda: _build(name, depth=2, budget=3000))
    n = models.count_params(sized)
    assert 0 < n <= 3000
    width = models.base.width_for_budget(name, 2, 1, 3000, lo=(0.0, 0.0), hi=(1.0, 1.0), depth=2)
    bigger = eqx.filter_eval_shape(lambda: _build(name, depth=2, width=width + 1))
    assert models.count_params(bigger) > 3000


@pytest.mark.slow  # one compile per backbone and dtype; tests/test_zoo.py's contract covers every backbone by default
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.usefixtures("x64")
def test_derivatives_match_finite_differences_and_taylor(name):
    net = _net(name)
    h = 1e-4
    e0, e1 = jnp.array([h, 0.0]), jnp.array([0.0, h])

    @jax.jit
    def exact_and_fd(z):
        fd00 = (net(z + e0) - 2 * net(z) + net(z - e0)) / h**2
        fd01 = (net(z + e0 + e1) - net(z + e0 - e1) - net(z - e0 + e1) + net(z - e0 - e1)) / (4 * h**2)
        tay = net.taylor(z[None], [(0, 0), (0, 1)])
        return partial(net, z, 0, 0), fd00, tay[(0, 0)][0], partial(net, z, 0, 1), fd01, tay[(0, 1)][0]

    for z in (jnp.array([0.2, 0.7]), jnp.array([0.9, 0.05])):
        d00, fd00, t00, d01, fd01, t01 = exact_and_fd(z)
        np.testing.assert_allclose(d00, fd00, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(d01, fd01, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(t00, d00, rtol=1e-12)
        np.testing.assert_allclose(t01, d01, rtol=1e-12)
    assert type(net).taylor is Backbone.taylor  # the generic nested-jvp path (no override)


@pytest.mark.slow  # one compile per backbone and dtype; tests/test_zoo.py's contract covers every backbone by default
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.usefixtures("x64")
def test_jit_vmap_in_both_dtypes(name, dtype):
    net = _cast(_net(name), dtype)
    out = jax.jit(jax.vmap(net))(jnp.full((5, 2), 0.3, dtype))
    assert out.shape == (5, 1) and out.dtype == dtype


@pytest.mark.usefixtures("x64")
def test_resnet_and_modified_mlp_equations():
    z = jnp.array([0.25, 0.5])
    s = np.asarray(scale_inputs(z, (0.0, 0.0), (1.0, 1.0)))
    lin = lambda wb, x: np.asarray(wb[0]) @ x + np.asarray(wb[1])  # noqa: E731
    net = _net("resnet")
    h = lin(net.lift, s)
    for wb1, wb2 in net.blocks:
        h = h + np.tanh(lin(wb2, np.tanh(lin(wb1, h))))
    np.testing.assert_allclose(_apply(net, z[None])[0], lin(net.out, h), rtol=1e-12)
    assert models.count_params(net) == (2 * 12 + 12) + 2 * 2 * (144 + 12) + (12 + 1)

    net = _net("modified-mlp")
    u, v, h = np.tanh(lin(net.enc_u, s)), np.tanh(lin(net.enc_v, s)), np.tanh(lin(net.first, s))
    for wb in net.gates:
        g = np.tanh(lin(wb, h))
        h = (1 - g) * u + g * v
    np.testing.assert_allclose(_apply(net, z[None])[0], lin(net.out, h), rtol=1e-12)
    assert models.count_params(net) == 3 * (2 * 12 + 12) + 2 * (144 + 12) + (12 + 1)


@pytest.mark.usefixtures("x64")
def test_fourier_matrix_is_fixed_and_periodic_embedding_is_exact():
    net = _net("fourier")  # width 12, depth 2, 32 features, sigma 1
    # B is not a parameter: only its integer PRNG key is stored; parameters = the MLP on 2*features inputs
    assert models.count_params(net) == (64 * 12 + 12) + (12 * 12 + 12) + (12 + 1)
    assert not jnp.issubdtype(net.embed.key.dtype, jnp.inexact)
    B = np.asarray(net.embed.matrix(jnp.float64))
    assert B.shape == (32, 2) and np.std(B) == pytest.approx(1.0, rel=0.3)
    np.testing.assert_array_equal(B, np.asarray(net.embed.matrix(jnp.float64)))  # same draw every time
    grads = jax.grad(lambda n: jnp.sum(n(jnp.array([0.3, 0.8]))), allow_int=True)(net)
    assert grads.embed.key.dtype == jax.dtypes.float0  # nothing to train in the embedding
    # float32 and float64 versions compute the same function (B drawn in float32, then cast)
    Z = jnp.array([[0.3, 0.8], [0.9, 0.1]])
    np.testing.assert_allclose(_apply(_cast(net, jnp.float32), Z.astype(jnp.float32)), _apply(net, Z), rtol=1e-5)
    # periodic in x (coordinate 0) with the domain length as period, derivatives included
    lo, hi = [-1.0, 0.0], [2.0, 1.0]
    for features in (0, 32):
        net = models.build("fourier", 2, 1, key=jax.random.PRNGKey(3), lo=lo, hi=hi, width=12, depth=2,
                           features=features, periodic=[0])
        net = _cast(net, jnp.float64)
        derivs = jax.jit(jax.vmap(lambda z: jnp.stack([partial(net, z, *i) for i in [(), (0,), (0, 0), (1,), (0, 1)]])))
        d = derivs(jnp.array([[lo[0], 0.4], [hi[0], 0.4], [0.5, 0.4]]))
        np.testing.assert_allclose(d[0], d[1], rtol=1e-10, atol=1e-12)
        assert not np.allclose(d[0], d[2])
    assert models.count_params(net) == (64 * 12 + 12) + (12 * 12 + 12) + (12 + 1)
    no_rff = eqx.filter_eval_shape(lambda: models.build("fourier", 2, 1, key=jax.random.PRNGKey(0), lo=lo, hi=hi,
                                                        width=12, depth=2, features=0, periodic=(0,)))
    assert models.count_params(no_rff) == (3 * 12 + 12) + (12 * 12 + 12) + (12 + 1)
    with pytest.raises(FieldlabError, match="out of range"):
        eqx.filter_eval_shape(lambda: _build("fourier", periodic=(2,)))


@pytest.mark.usefixtures("x64")
def test_pirate_identity_blocks_rwf_and_least_squares_output_init():
    net = _net("pirate")  # width 12, depth 2, 32 features: embedding size E = 64
    assert len(net.alphas) == 2 and all(float(a) == 0.0 for a in net.alphas)
    # alpha = 0: every block is the identity, the network is linear over the Fourier embedding
    Z = jnp.asarray(np.random.default_rng(1).uniform(0, 1, (7, 2)))
    phi, feats, out = jax.jit(jax.vmap(lambda z: (net.embed(scale_inputs(z, net.lo, net.hi)), net.features(z),
                                                   net(z))))(Z)
    np.testing.assert_allclose(feats, phi, rtol=1e-14)
    np.testing.assert_allclose(out, phi @ net.out.weight.T + net.out.b, rtol=1e-12)
    # random weight factorisation: W = diag(exp(s)) V, s ~ N(1, 0.1^2), effective W Glorot-normal
    dense = [net.enc_u, net.enc_v, *(d for block in net.blocks for d in block), net.out]
    s = np.concatenate([np.asarray(d.s) for d in dense])
    assert s.size == 2 * 12 + 2 * (12 + 12 + 64) + 1
    assert abs(s.mean() - 1.0) < 0.05 and 0.05 < s.std() < 0.15
    np.testing.assert_allclose(net.enc_u.weight, jnp.exp(net.enc_u.s)[:, None] * net.enc_u.v)
    assert float(jnp.std(net.enc_u.weight)) == pytest.approx(np.sqrt(2.0 / (64 + 12)), rel=0.1)
    plain = eqx.filter_eval_shape(lambda: _build("pirate", width=12, depth=2, rwf=False))
    assert models.count_params(net) - models.count_params(plain) == s.size  # one scale per output unit
    # physics-informed initialisation: least-squares read-out matches the initial condition
    x = np.linspace(0.0, 1.0, 200)
    pts, target = np.stack([x, np.zeros_like(x)], 1), np.sin(np.pi * x)
    for dtype, tol in ((jnp.float64, 1e-8), (jnp.float32, 1e-3)):
        fitted = pirate.pirate_output_init(_cast(net, dtype), pts, target)
        pred = np.asarray(_apply(fitted, jnp.asarray(pts, dtype)))[:, 0]
        assert pred.dtype == dtype
        assert np.linalg.norm(pred - target) / np.linalg.norm(target) < tol
        np.testing.assert_array_equal(fitted.blocks[0][0].v, _cast(net, dtype).blocks[0][0].v)  # rest unchanged
    assert fitted.output_init(pts, 2 * target).out.b.dtype == jnp.float32


# (name, model options, L-BFGS steps) that bring heat1d under 1e-3 from the initialisation, seed 0,
# L-BFGS only (one compilation instead of two: compilation is most of the time; Adam alone does not
# get there in a few thousand steps). Measured on the shared 2-core machine under heavy load (load
# average ~7), wall time of fieldlab.solve incl. compilation (whole process: user CPU seconds):
#   resnet 20x2, 1000 steps:                      rel L2 4.25e-4, 30.5 s (17.5 s CPU)
#   modified-mlp 16x2, 1000 steps:                rel L2 5.00e-4, 23.4 s (15.1 s CPU)
#   fourier 20x2 (32 features), 1500 steps:       rel L2 3.81e-4, 23.4 s (15.0 s CPU)
#   pirate 16x1 (8 features, E = 16), 1500 steps: rel L2 2.95e-4, 33.5 s (21.2 s CPU)
# (the MLP 20x3 with 1000 L-BFGS steps: rel L2 2.6e-4, 17.2 s, 11.6 s CPU, at the same time)
HEAT = [
    ("resnet", {"width": 20, "depth": 2}, 1000),
    ("modified-mlp", {"width": 16, "depth": 2}, 1000),
    ("fourier", {"width": 20, "depth": 2, "features": 32}, 1500),
    ("pirate", {"width": 16, "depth": 1, "features": 8}, 1500),
]


@pytest.mark.slow  # trains
@pytest.mark.parametrize("name,options,steps", HEAT, ids=[n for n, _, _ in HEAT])
def test_heat1d_accuracy(name, options, steps):
    import fieldlab
    from fieldlab import problems
    from fieldlab.config import resolve

    cfg = resolve(problems.defaults("heat1d"), {
        "model": {"name": name, **options},
        "recipe": {"sampling": {"interior": 500, "boundary": 64, "initial": 64}, "eval_every": 5000,
                   "stages": [{"optimizer": "lbfgs", "steps": steps}]}})
    run = fieldlab.solve(cfg, None, progress=False)
    assert run.metrics["rel_l2"] < 1e-3
