"""Built-in problems, one module each, registered by name with their default model and recipe.

``get("burgers")`` returns the :class:`~fieldlab.problem.Problem`; ``defaults("burgers")`` the
default configuration (a dict in the shape of :class:`~fieldlab.config.RunConfig`) that
``fieldlab solve burgers`` starts from.
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


def _entry(name: str):
    if name not in _PROBLEMS:
        raise FieldlabError(f"unknown problem '{name}'; choose one of: {', '.join(available())} (see `fieldlab problems`).")
    return _PROBLEMS[name]


def get(name: str) -> Problem:
    return _entry(name)[0]()


def defaults(name: str) -> dict:
    """Default config for a built-in problem (a fresh copy)."""
    import copy

    return {"problem": name, **copy.deepcopy(_entry(name)[1])}


from . import advection, allen_cahn, burgers, cavity, fisher_kpp, heat, helmholtz, klein_gordon, kovasznay, poisson, poisson1d, reaction_inverse, wave  # noqa: E402,F401 - register the built-ins

__all__ = ["available", "defaults", "get", "register"]
