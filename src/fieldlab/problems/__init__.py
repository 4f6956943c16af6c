"""Built-in problems, one module each, registered by name with their default model and recipe;
and a user's problems from Python files.

``get("burgers")`` returns the :class:`~fieldlab.problem.Problem`; ``defaults("burgers")`` the
default configuration (a dict in the shape of :class:`~fieldlab.config.RunConfig`) that
``fieldlab solve burgers`` starts from.

A name of the form ``path/to/file.py`` or ``path/to/file.py:name`` is a problem file: a Python file
that defines a :class:`~fieldlab.problem.Problem` (a module-level object, or a function without
arguments that returns one). ``name`` picks one when the file defines several; without it the file
must define exactly one Problem object, or a function called ``problem``. An optional module-level
dict ``DEFAULTS`` (``{"model": {...}, "recipe": {...}}``) gives its default configuration, over
counts and steps scaled with the problem's dimension and domain (:func:`scaled_recipe`). Run
directories record the file's absolute path, so ``eval``, ``resume`` and ``bench`` find it again.

A built-in may take **options**, given after its name as ``name:key=value`` (several as
``name:k1=v1:k2=v2``), for example ``population-china2024:policy=three-child``. The builder
receives them as keyword arguments; each option has a fixed set of allowed values (the first is the
default, used when the option is not given). The name with its options is what run directories and
bench cells record, so a run is always rebuilt with the options it was trained with.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FieldlabError
from ..problem import Problem

_PROBLEMS: dict[str, tuple[Callable[..., Problem], dict]] = {}
_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {}


def register(name: str, defaults: dict, options: dict[str, tuple[str, ...]] | None = None):
    """Decorator for a builder ``(**options) -> Problem``, with its default config (model, recipe) and
    its options (``{key: allowed values}``, the first value the default)."""

    def deco(builder):
        _PROBLEMS[name] = (builder, defaults)
        _OPTIONS[name] = {k: tuple(v) for k, v in (options or {}).items()}
        return builder

    return deco


def available() -> list[str]:
    return sorted(_PROBLEMS)


def options_of(name: str) -> dict[str, tuple[str, ...]]:
    """The options a built-in accepts, ``{key: allowed values}`` (first = default); ``{}`` for none."""
    return dict(_OPTIONS.get(name.partition(":")[0], {}))


def parse_options(name: str) -> tuple[str, dict[str, str]]:
    """``"base:k=v:..."`` -> ``("base", {k: v})``, every option checked against the built-in's allowed values."""
    base, _, rest = name.partition(":")
    allowed = _OPTIONS.get(base, {})
    given: dict[str, str] = {}
    for part in filter(None, rest.split(":")):
        key, eq, value = part.partition("=")
        if not eq or key not in allowed:
            known = ", ".join(f"{k}=<{'|'.join(v)}>" for k, v in allowed.items()) or "none"
            raise FieldlabError(f"problem '{name}' has an unknown option '{part}'; the options of '{base}' are: {known}.")
        if value not in allowed[key]:
            raise FieldlabError(f"problem option {key}='{value}' is not one of {', '.join(allowed[key])}; pick one of those.")
        given[key] = value
    return base, given


def is_file(name: str) -> bool:
    """Whether ``name`` names a problem file (``file.py`` or ``file.py:name``) rather than a built-in."""
    return name.endswith(".py") or ".py:" in name


def label(name: str) -> str:
    """A short name for file names and tables: a built-in's name, or a problem file's stem (and the
    name after its colon)."""
    from pathlib import Path

    if not is_file(name):
        return name.replace(":", "-").replace("=", "-")
    path, _, attr = name.partition(".py")
    return Path(path).name + (f"-{attr.lstrip(':')}" if attr.lstrip(":") else "")


def file_spec(name: str) -> str:
    """A problem file's name with its path made absolute (so that a run directory finds it from anywhere)."""
    import os

    path, sep, attr = name.partition(".py")
    return os.path.abspath(path + ".py") + attr


def _load_file(name: str):
    """``(Problem, defaults)`` from a problem file; one sentence for every way it can fail."""
    import importlib.util
    import inspect
    from pathlib import Path

    path_text, _, attr = name.partition(".py")
    path = Path(path_text + ".py")
    attr = attr.lstrip(":")
    if not path.is_file():
        raise FieldlabError(f"problem file {path} does not exist; check the path.")
    spec = importlib.util.spec_from_file_location(f"fieldlab_user_problem_{abs(hash(str(path.resolve())))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FieldlabError as e:
        raise FieldlabError(f"problem file {path}: {e}") from None
    except Exception as e:  # the user's code: report it in one sentence, with where it failed
        raise FieldlabError(f"problem file {path} fails when it is run ({type(e).__name__}: {e}); fix the file.") from None

    def make(obj, what):
        if isinstance(obj, Problem):
            return obj
        try:
            takes_none = callable(obj) and not inspect.isclass(obj) and not any(
                q.default is q.empty and q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY)
                for q in inspect.signature(obj).parameters.values())
        except (TypeError, ValueError):
            takes_none = False
        if takes_none:
            try:
                out = obj()
            except FieldlabError as e:
                raise FieldlabError(f"problem file {path}: {what}: {e}") from None
            except Exception as e:
                raise FieldlabError(f"problem file {path}: {what}() fails ({type(e).__name__}: {e}); fix the file.") from None
            if isinstance(out, Problem):
                return out
        raise FieldlabError(f"problem file {path}: '{what}' is not a Problem or a function returning one.")

    if attr:
        if not hasattr(module, attr):
            raise FieldlabError(f"problem file {path} defines no '{attr}'; check the name after the colon.")
        pb = make(getattr(module, attr), attr)
    else:
        found = [k for k, v in vars(module).items() if isinstance(v, Problem)]
        if len(found) == 1:
            pb = vars(module)[found[0]]
        elif len(found) > 1:
            raise FieldlabError(f"problem file {path} defines several problems ({', '.join(found)}); pick one as "
                                f"{path}:{found[0]}.")
        elif callable(getattr(module, "problem", None)):
            pb = make(module.problem, "problem")
        else:
            raise FieldlabError(f"problem file {path} defines no Problem; define one at module level, or a function "
                                "problem() that returns one, or name it as FILE.py:NAME.")
    extra = getattr(module, "DEFAULTS", {})
    if not isinstance(extra, dict):
        raise FieldlabError(f"problem file {path}: DEFAULTS must be a dict with 'model' and 'recipe' tables.")
    return pb, user_defaults(pb, extra)


def _entry(name: str):
    if is_file(name):
        return _load_file(name)
    base = name.partition(":")[0]
    if base not in _PROBLEMS:
        raise FieldlabError(f"unknown problem '{name}'; choose one of: {', '.join(available())} (see `fieldlab problems`).")
    return _PROBLEMS[base]


def get(name: str) -> Problem:
    """The built-in problem ``name`` (with options, ``name:key=value``), or the problem of a problem file."""
    builder = _entry(name)[0]
    if isinstance(builder, Problem):
        return builder
    return builder(**parse_options(name)[1]) if not is_file(name) else builder()


def defaults(name: str) -> dict:
    """Default config for a built-in problem or a problem file (a fresh copy)."""
    import copy

    entry = _entry(name)
    if not is_file(name):
        parse_options(name)  # refuse a bad option before anything runs
    return {"problem": name, **copy.deepcopy(entry[1])}


from . import advection, allen_cahn, burgers, cavity, electrothermal, fisher_kpp, heat, helmholtz, klein_gordon, kovasznay, poisson, poisson1d, population, reaction_inverse, wave  # noqa: E402,F401 - register the built-ins

__all__ = ["available", "defaults", "file_spec", "get", "is_file", "label", "options_of", "parse_options", "register"]


def scaled_recipe(problem: Problem) -> dict:
    """Default sampling counts and steps for a problem without its own, scaled with its dimension and domain.

    With ``d`` coordinates (time included) and ``c`` the domain's boundary measure over that of its
    bounding box (1 for a box; more for holes and ragged shapes; at most 4):

    - ``interior = 1000 * 2^(d-1) * c`` collocation points (2000 for a square),
    - ``boundary = 100 * 2^(d-1) * c`` points on the whole boundary (200 for a square),
    - ``initial = 100 * 2^(d-1)`` points at the initial time,
    - ``1000 d`` Adam steps (learning rate 1e-3) then ``1000 d`` L-BFGS steps.

    Counts are rounded to multiples of 100 (of 50 for the boundary). Returns a ``recipe`` table
    (a dict in the shape of :class:`~fieldlab.training.recipe.Recipe`).
    """
    import numpy as np

    from ..geometry import Box

    d = len(problem.coords)
    geometry = getattr(problem.domain, "geometry", problem.domain)
    complexity = 1.0
    if geometry.dim >= 2:
        lo, hi = geometry.bounds()
        try:
            complexity = float(np.clip(geometry.boundary_measure() / Box(lo, hi).boundary_measure(), 1.0, 4.0))
        except (ValueError, RuntimeError):  # a degenerate estimate: keep the plain counts
            complexity = 1.0

    def nice(x: float, step: int) -> int:
        return int(max(step, step * round(x / step)))

    steps = 1000 * d
    return {
        "sampling": {"interior": nice(1000 * 2 ** (d - 1) * complexity, 100),
                     "boundary": nice(100 * 2 ** (d - 1) * complexity, 50),
                     "initial": nice(100 * 2 ** (d - 1), 50)},
        "stages": [{"optimizer": "adam", "steps": steps, "lr": 1e-3}, {"optimizer": "lbfgs", "steps": steps}],
    }


def user_defaults(problem: Problem, extra: dict | None = None) -> dict:
    """The default config of a user's problem: :func:`scaled_recipe`, under the problem's own ``extra``
    (a problem file's ``DEFAULTS``), which wins key by key."""
    def merge(base: dict, update: dict) -> dict:
        out = dict(base)
        for k, v in update.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    return merge({"recipe": scaled_recipe(problem)}, extra or {})


__all__ += ["scaled_recipe", "user_defaults"]
