"""Named training recipes for comparing training methods (``fieldlab bench --recipes``).

A preset changes a problem's default recipe in one respect, so that a table compares one training
method against another under the same problem, backbone, seed and budget:

- ``default``: the problem's default recipe, unchanged;
- ``plain``: the default stages with no strategies (the baseline of an ablation);
- a strategy name (``gradnorm``, ``ntk``, ``rba``, ``sa``, ``relobralo``, ``residual-data``,
  ``causal``, ``rad``, ``r3``, ``rar-g``, ``time-marching``): the default recipe with that strategy
  (its default options) in place of any strategy of the same kind;
- ``ssbfgs64``: every L-BFGS stage replaced by a float64 self-scaled BFGS stage of the same length;
- ``lbfgs32``: every dense quasi-Newton stage replaced by a float32 L-BFGS stage of the same length.

A path to a TOML file is a recipe file: its ``[recipe]`` table (or the whole file) overrides the
default recipe's keys.

Presets compose with ``+``, applied left to right: ``plain+rad`` is the default stages with RAD as
the only strategy (an ablation's "on" beside ``plain``'s "off"); ``rad+ssbfgs64`` the default
recipe with RAD's default options and a float64 BFGS stage.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..errors import FieldlabError
from .strategies import STRATEGIES

_QUASI_NEWTON = ("bfgs", "ssbfgs", "ssbroyden")


def names() -> list[str]:
    return ["default", "plain", "ssbfgs64", "lbfgs32", *STRATEGIES.names()]


def label(spec: str) -> str:
    """A short name for a preset or recipe file (the file's stem), for cell keys and tables."""
    return "+".join(Path(p).stem if p.endswith(".toml") else p for p in spec.split("+"))


def check(spec: str) -> None:
    """Refuse an unknown preset or a missing recipe file, before anything runs."""
    if "+" in spec:
        for part in spec.split("+"):
            check(part)
        return
    if spec.endswith(".toml"):
        if not Path(spec).is_file():
            raise FieldlabError(f"recipe file {spec} does not exist; check the path.")
    elif spec not in names():
        raise FieldlabError(f"unknown recipe '{spec}'; give a .toml recipe file or one of (or several joined by +): {', '.join(names())}.")


def apply(spec: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe (as a dict) with the preset or recipe file ``spec`` applied."""
    check(spec)
    if "+" in spec:
        for part in spec.split("+"):
            recipe = apply(part, recipe)
        return recipe
    out = copy.deepcopy(recipe)
    stages = out.get("stages", [])
    if spec.endswith(".toml"):
        from ..config import _merge, read_toml

        data = read_toml(spec)
        return _merge(out, data.get("recipe", data))
    if spec == "default":
        return out
    if spec == "plain":
        out["strategies"] = []
    elif spec == "ssbfgs64":
        out["stages"] = [{"optimizer": "ssbfgs", "steps": s.get("steps", 1000), "dtype": "float64"}
                         if s.get("optimizer") == "lbfgs" else s for s in stages]
    elif spec == "lbfgs32":
        out["stages"] = [{"optimizer": "lbfgs", "steps": s.get("steps", 1000), "dtype": "float32"}
                         if s.get("optimizer") in _QUASI_NEWTON else s for s in stages]
    else:
        kept = [s for s in out.get("strategies", []) if s.get("kind") != spec]
        out["strategies"] = [*kept, {"kind": spec}]
    return out
