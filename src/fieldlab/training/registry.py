"""Registries of recipe parts chosen by name in a config: optimiser stages and training strategies.

A part is a Pydantic model (its options, validated with unknown keys refused) that also carries its
behaviour. It registers under the literal default of its discriminating field (``optimizer`` for
stages, ``kind`` for strategies), so adding one is one file and one ``@register`` line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


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

    def validate(self, item: Any, default: str | None = None, where: str = "") -> BaseModel:
        """A dict (from TOML or Python) or an instance -> the registered part, validated.

        ``where`` (such as ``recipe.stages.0``) prefixes the keys named in error messages.
        """
        if isinstance(item, BaseModel):
            item = item.model_dump()
        prefix = f"{where}." if where else ""
        if not isinstance(item, dict):
            raise ValueError(f"{where or 'each ' + self.what} must be a table of options, got {item!r}")
        name = item.get(self.key, default)
        if name not in self.classes:
            raise ValueError(f"{prefix}{self.key} '{name}' is not a known {self.what}; available: {', '.join(self.names())}")
        try:
            return self.classes[name].model_validate({**item, self.key: name})
        except ValidationError as e:
            parts = []
            for err in e.errors():
                nested = str(err.get("ctx", {}).get("error", ""))
                if err["type"] == "value_error" and err["loc"] and nested.startswith(f"{err['loc'][0]}."):
                    parts.append(prefix + nested)  # a nested part's message already names its keys
                    continue
                loc = prefix + ".".join(str(x) for x in err["loc"])
                parts.append(f"{loc}: " + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"]))
            raise ValueError("; ".join(parts)) from None
