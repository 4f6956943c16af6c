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
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"'{loc}': {msg}")
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
        return RunConfig.model_validate(merged)
    except ValidationError as e:
        raise FieldlabError(describe_validation_error(e, source)) from None


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FieldlabError(f"config file {path} does not exist; check the path.")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise FieldlabError(f"{path} is not valid TOML ({e}); fix the syntax.") from None
