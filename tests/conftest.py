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
