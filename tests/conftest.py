import pytest


@pytest.fixture
def tiny_recipe():
    """A short recipe for heat1d that still trains to a useful accuracy."""
    return {
        "sampling": {"interior": 500, "boundary": 64, "initial": 64},
        "stages": [
            {"optimizer": "adam", "steps": 300, "lr": 5e-3},
            {"optimizer": "lbfgs", "steps": 400},
        ],
        "chunk": 50,
        "eval_every": 100,
    }


@pytest.fixture(scope="session", autouse=True)
def _compilation_cache(tmp_path_factory):
    """Reuse XLA compilations within the session: many tests build the same compiled chunks."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("xla-cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    yield


@pytest.fixture
def x64():
    """Run one test with 64-bit JAX and restore the previous setting afterwards.

    Use it only where a test needs float64 (tolerances near 1e-12, float64 arrays); never switch
    ``jax_enable_x64`` for the whole process, which would change every later test's dtypes and
    random draws.
    """
    import jax

    with jax.enable_x64(True):
        yield
