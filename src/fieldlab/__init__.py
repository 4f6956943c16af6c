"""fieldlab: learn physical fields and the laws behind them, with physics-informed networks in JAX.

Public API::

    import fieldlab
    run = fieldlab.train("burgers")                # built-in problem, default model and recipe
    run.metrics["rel_l2"]; run.predict(points)     # (n, 2) -> (n, 1)
    run = fieldlab.load_run("runs/burgers-mlp")    # reload a run directory

Names are imported lazily, so that the command line starts fast.
"""

from importlib import import_module


def _version() -> str:
    """The installed distribution's version; in an uninstalled source tree, pyproject.toml's."""
    from importlib import metadata
    from pathlib import Path

    try:
        return metadata.version("fieldlab")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            import re

            found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
            return found.group(1) if found else "0+unknown"
        except OSError:
            return "0+unknown"


__version__ = _version()

_EXPORTS = {
    "fieldlab.problem": ["Condition", "Data", "Dirichlet", "Fields", "Initial", "InitialRate", "Neumann",
                         "Periodic", "Point", "Problem", "Reference", "Robin"],
    "fieldlab.nonlocal_conditions": ["Nonlocal"],
    "fieldlab.constraints": ["Integral", "Interface", "Scaled", "Segment"],
    "fieldlab.errors": ["FieldlabError"],
    "fieldlab.config": ["RunConfig"],
    "fieldlab.run": ["Run", "load_run", "resume", "solve", "train"],
    "fieldlab.training.recipe": ["Recipe", "Sampling", "Stage"],
    "fieldlab.training.callbacks": ["Callback", "ChunkInfo", "StopWhen"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'fieldlab' has no attribute '{name}'")
