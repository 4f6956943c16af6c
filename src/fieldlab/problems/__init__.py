"""Built-in problems, one module each, registered by name with their default model and recipe;
and a user's problems from Python files.

``get("burgers")`` returns the :class:`~fieldlab.problem.Problem`; ``defaults("burgers")`` the
default configuration (a dict in the shape of :class:`~fieldlab.config.RunConfig`) that
``fieldlab solve burgers`` starts from.

A name of the form ``path/to/file.py`` or ``path/to/file.py:name`` is a problem file: a Python file
that defines a :class:`~fieldlab.problem.Problem` (a module-level object, or a function without
arguments that returns one). ``name`` picks one when the file defines several; without it the file
must define exactly one Problem object, or a function called ``problem``. An optional module-level
dict ``DEFAULTS`` (``{"model": {...}, "recipe": {...}}``) gives its default configuration. Run
directories record the file's absolute path, so ``eval``, ``resume`` and ``bench`` find it again.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FieldlabError
from ..problem import Problem

_PROBLEMS: dict[str, tuple[Callable[[], Problem], dict]] = {}


def register(name: str, defaults: dict):
    """Decorator for a builder ``() -> Problem``, with its default config (model, recipe)."""

    def deco(builder):
        _PROBLEMS[name] = (builder, defaults)
        return builder

    return deco


def available() -> list[str]:
    return sorted(_PROBLEMS)


def is_file(name: str) -> bool:
    """Whether ``name`` names a problem file (``file.py`` or ``file.py:name``) rather than a built-in."""
    return name.endswith(".py") or ".py:" in name


def label(name: str) -> str:
    """A short name for file names and tables: a built-in's name, or a problem file's stem (and the
    name after its colon)."""
    from pathlib import Path

    if not is_file(name):
        return name
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
    return pb, extra


def _entry(name: str):
    if is_file(name):
        return _load_file(name)
    if name not in _PROBLEMS:
        raise FieldlabError(f"unknown problem '{name}'; choose one of: {', '.join(available())} (see `fieldlab problems`).")
    return _PROBLEMS[name]


def get(name: str) -> Problem:
    """The built-in problem ``name``, or the problem of a problem file."""
    builder = _entry(name)[0]
    return builder if isinstance(builder, Problem) else builder()


def defaults(name: str) -> dict:
    """Default config for a built-in problem or a problem file (a fresh copy)."""
    import copy

    return {"problem": name, **copy.deepcopy(_entry(name)[1])}


from . import advection, allen_cahn, burgers, cavity, electrothermal, fisher_kpp, heat, helmholtz, klein_gordon, kovasznay, poisson, poisson1d, reaction_inverse, wave  # noqa: E402,F401 - register the built-ins

__all__ = ["available", "defaults", "file_spec", "get", "is_file", "label", "register"]
