"""Registries of recipe parts chosen by name in a config: optimiser stages and training strategies.

A part is a Pydantic model (its options, validated with unknown keys refused) that also carries its
behaviour. It registers under the literal default of its discriminating field (``optimizer`` for
stages, ``kind`` for strategies), so adding one is one file and one ``@register`` line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Part(BaseModel):
    """Base of every recipe part: strict (unknown keys are errors), immutable after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Registry:
    """Name -> part class, keyed by the default of the class's ``key`` field."""

    def __init__(self, key: str, what: str):
        self.key, self.what, self.classes = key, what, {}

    def register(self, cls):
        name = cls.model_fields[self.key].default
        self.classes[name] = cls
        return cls

    def names(self) -> list[str]:
        return sorted(self.classes)

    def validate(self, item: Any, default: str | None = None) -> BaseModel:
        """A dict (from TOML or Python) or an instance -> the registered part, validated."""
        if isinstance(item, BaseModel):
            item = item.model_dump()
        if not isinstance(item, dict):
            raise ValueError(f"each {self.what} must be a table of options, got {item!r}")
        name = item.get(self.key, default)
        if name not in self.classes:
            raise ValueError(f"unknown {self.what} {self.key} '{name}'; available: {', '.join(self.names())}")
        return self.classes[name].model_validate({**item, self.key: name})
