"""The resolved configuration of a run: problem, model and recipe, read from and written to TOML.

A config file looks like::

    problem = "burgers"
    hard_constraints = true

    [model]
    name = "mlp"
    width = 32
    depth = 4

    [recipe]
    seed = 0
    dtype = "float32"

    [recipe.sampling]
    interior = 4000

    [[recipe.stages]]
    optimizer = "adam"
    steps = 2000
    lr = 1e-3

Keys not given keep the problem's defaults; unknown keys are errors.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import FieldlabError
from .training.recipe import Recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ModelConfig(BaseModel):
    """Backbone name plus its options (checked against the backbone's builder when it is built)."""

    model_config = ConfigDict(extra="allow")
    name: str = "mlp"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    problem: str
    hard_constraints: bool = True
    model: ModelConfig = Field(default_factory=ModelConfig)
    recipe: Recipe = Field(default_factory=Recipe)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(exclude_none=True))


def _merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def describe_validation_error(e: ValidationError, source: str) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        # a recipe part names its own keys (recipe.stages.0.lr: ...)
        parts.append(msg if msg.startswith(loc + ".") else f"'{loc}': {msg}")
    return f"{source} is not a valid config: " + "; ".join(parts) + "."


def resolve(base: dict, *updates: dict, source: str = "the config") -> RunConfig:
    """Merge nested dicts in order (later wins) and validate them as a :class:`RunConfig`.

    A model change drops the base model's options (they belong to the other backbone).
    """
    merged = dict(base)
    for upd in updates:
        if "model" in upd and upd["model"].get("name", merged.get("model", {}).get("name")) != merged.get("model", {}).get("name"):
            merged = {**merged, "model": {}}
        merged = _merge(merged, upd)
    try:
        config = RunConfig.model_validate(merged)
    except ValidationError as e:
        raise FieldlabError(describe_validation_error(e, source)) from None
    check(config, source)
    return config


SEED_LIMIT = 2**32


def check(config: RunConfig, source: str = "the config") -> None:
    """Checks beyond the field types: seed range, finite numbers, a non-empty budget, model options.

    Each failure is one :class:`FieldlabError` sentence naming the key in ``source``.
    """
    r = config.recipe
    if not 0 <= r.seed < SEED_LIMIT:
        raise FieldlabError(f"{source}: 'recipe.seed' must be an integer from 0 to {SEED_LIMIT - 1}; got {r.seed}.")
    if r.time is not None and not math.isfinite(r.time):
        raise FieldlabError(f"{source}: 'recipe.time' must be a finite number of seconds; got {r.time}.")
    for group in ("stages", "strategies"):
        for i, part in enumerate(getattr(r, group)):
            for key, value in part.model_dump().items():
                for v in value if isinstance(value, (list, tuple)) else (value,):
                    if isinstance(v, float) and not math.isfinite(v):
                        raise FieldlabError(f"{source}: 'recipe.{group}.{i}.{key}' must be a finite number; got {v}.")
    if r.total_steps == 0:
        raise FieldlabError(f"{source}: every stage of the recipe has 0 steps, so nothing would be trained; "
                            "give at least one stage some steps.")
    for k, w in r.weights.items():
        if not (math.isfinite(w) and w >= 0):
            raise FieldlabError(f"{source}: 'recipe.weights.{k}' must be a finite number >= 0; got {w}.")
    if not config.model.name.startswith("user:"):  # the user's own module (fieldlab.models.user) has no options
        check_model_options(config.model.name, config.model.options, source)


# Integer options of the backbones that count something (at least 1); ``degree`` may be 0.
_COUNT_MIN = {"degree": 0}


def check_model_options(name: str, options: dict[str, Any], source: str = "the config") -> None:
    """Check each given model option against the type of its default (counts are integers >= 1)."""
    from . import models

    defaults = models.options_of(name)
    for key, value in options.items():
        where = f"{source}: 'model.{key}'"
        if key == "budget":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FieldlabError(f"{where} must be a whole number of parameters >= 1; got {value!r}.")
            continue
        if key not in defaults:
            continue  # unknown options are reported by the model builder, with the valid names
        default = defaults[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise FieldlabError(f"{where} must be true or false; got {value!r}.")
        elif isinstance(default, int):
            low = _COUNT_MIN.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise FieldlabError(f"{where} must be a whole number >= {low}; got {value!r}.")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise FieldlabError(f"{where} must be a finite number; got {value!r}.")
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise FieldlabError(f"{where} must be text; got {value!r}.")
        elif isinstance(default, tuple):
            if not isinstance(value, (list, tuple)):
                raise FieldlabError(f"{where} must be a list; got {value!r}.")


def check_weights(config: RunConfig, terms: list[str]) -> None:
    """Refuse loss weights that name no loss term of the problem (``terms``: its equations and conditions)."""
    bad = sorted(set(config.recipe.weights) - set(terms))
    if bad:
        raise FieldlabError(f"[recipe.weights] names {bad}, which are not loss terms of problem '{config.problem}'; "
                            f"its terms are {', '.join(terms)}.")


def parse_toml(text: str, path: str | Path = "the config") -> dict:
    """A TOML document as a dict; a syntax error is one sentence naming ``path``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FieldlabError(f"{path} is not valid TOML ({e}); fix the syntax.") from None


def read_toml(path: str | Path) -> dict:
    from .training.checkpoint import read_text

    path = Path(path)
    if not path.is_file():
        raise FieldlabError(f"config file {path} does not exist; check the path.")
    return parse_toml(read_text(path), path)
