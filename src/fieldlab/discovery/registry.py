"""The discovery methods by name: the one list of them, in report order, with what each needs.

This module imports nothing heavy (no JAX, no SciPy), so the command line reads the names from it.
A method is a function ``run(ctx) -> Found`` in some module (:mod:`.methods` holds the built-in
ones); ``target`` names it as ``"module:function"`` (relative to :mod:`fieldlab.discovery`, or
absolute) and is imported only when the method runs, or is the function itself. ``needs``: the methods whose results it reads through
``ctx.get(name)``; the context computes them first (once, whatever asks for them) and reports
only the methods asked for. Adding a method: write its ``run`` function in one file and add one
:class:`MethodSpec` line to :data:`REGISTRY` (see docs/how-to/add-discovery-method.md).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, where its ``run(ctx)`` lives, the methods it needs, one line on what it does."""

    name: str
    target: str | Callable
    needs: tuple[str, ...] = ()
    summary: str = ""
    supports: tuple[str, ...] = ("1d",)  # the data kinds it handles (Dataset.kind: "1d", "2d", "1d-2species", ...)

    def load(self) -> Callable:
        """The method's ``run(ctx)`` (imported now for a ``"module:function"`` target)."""
        if callable(self.target):
            return self.target
        module, function = self.target.split(":")
        return getattr(importlib.import_module(module, __package__), function)


REGISTRY: dict[str, MethodSpec] = {m.name: m for m in (
    MethodSpec("strong-poly", ".methods:strong_poly", (),
               "polynomial regression on finite-difference derivatives"),
    MethodSpec("weak-poly", ".methods:weak_poly", (),
               "polynomial regression on the weak form, terms by BIC, coefficients by compensated GLS"),
    MethodSpec("weak-poly-refit", ".methods:weak_poly_refit", ("weak-poly",),
               "weak-poly's terms fitted to the data by re-simulation (output error)"),
    MethodSpec("neural", ".methods:neural", (),
               "neural surrogates of D and R trained on the weak form"),
    MethodSpec("neural-symbolic", ".methods:neural_symbolic", ("neural",),
               "the surrogates compressed into symbolic families chosen by AIC/BIC"),
    MethodSpec("neural-symbolic-refit", ".methods:neural_symbolic_refit", ("weak-poly", "neural-symbolic"),
               "the families refitted on the weak form and on the data by re-simulation"),
    MethodSpec("weak-poly-2d", ".species:weak_poly_2d", (), "2-D weak form, polynomial D(u) and R(u) by BIC", ("2d",)),
    MethodSpec("weak-poly-species", ".species:weak_poly_species", (),
               "two species, weak form, polynomial D_s and R_s(u, v) by BIC per species", ("1d-2species", "2d-2species")),
)}

METHODS: tuple[str, ...] = tuple(REGISTRY)


def for_data(wanted: tuple[str, ...], kind: str, default: bool = False) -> tuple[str, ...]:
    """The methods of ``wanted`` that support data of ``kind``; ``default`` (every method was asked, the
    default): those that do, else all must, and one that does not raises a one-sentence error naming those that can."""
    from ..errors import FieldlabError

    able = [m for m in REGISTRY if kind in REGISTRY[m].supports]
    chosen = tuple(m for m in wanted if m in able)
    if (default and not chosen) or (not default and len(chosen) < len(wanted)):
        bad = [m for m in wanted if m not in able]
        raise FieldlabError(f"method(s) {', '.join(bad)} cannot handle {kind} data; the ones that can: "
                            f"{', '.join(able) or 'none'}.")
    return chosen


def register(spec: MethodSpec) -> MethodSpec:
    """Add ``spec`` to :data:`REGISTRY` (for a method outside this package); returns it. Its needs must be registered."""
    from ..errors import FieldlabError

    missing = [n for n in spec.needs if n not in REGISTRY]
    if missing:
        raise FieldlabError(f"method '{spec.name}' needs unregistered method(s) {', '.join(missing)}; register them first.")
    REGISTRY[spec.name] = spec
    global METHODS
    METHODS = tuple(REGISTRY)
    return spec
