"""Backbones by name: ``build("mlp", in_dim, out_dim, key=..., lo=..., hi=..., width=64)``."""

from . import mlp  # noqa: F401 - registers the built-in backbones
from .base import Backbone, available, build, count_params, options_of, register, scale_inputs

__all__ = ["Backbone", "available", "build", "count_params", "options_of", "register", "scale_inputs"]
