"""Backbones by name: ``build("mlp", in_dim, out_dim, key=..., lo=..., hi=..., width=64)``."""

# Importing a module registers its backbone.
from . import (fourier, kan, lnn, lstm, mlp, modified_mlp, pig, pirate, plstm, ra, resnet,  # noqa: F401
               transformer, xlstm)
from .base import Backbone, available, build, count_params, options_of, register, scale_inputs

__all__ = ["Backbone", "available", "build", "count_params", "options_of", "register", "scale_inputs"]
