"""Spatial domains, space-time domains and point sampling (pure NumPy).

Shapes: Interval, Box, Disk, Polygon; boolean combinations via ``a | b``, ``a & b``, ``a - b``;
space-time via ``geometry * TimeInterval(t0, t1)``. Sampling methods: ``METHODS``. Every shape and
combination also has ``adf(x)``, an approximate distance function written in JAX (R-functions) for
hard-constraint transforms; only it imports JAX, when called.
"""

from .base import METHODS, Difference, Geometry, Intersection, Seed, Union
from .shapes import Box, Disk, Interval, Polygon
from .time import TimeDomain, TimeInterval

__all__ = [
    "METHODS",
    "Seed",
    "Geometry",
    "Interval",
    "Box",
    "Disk",
    "Polygon",
    "Union",
    "Intersection",
    "Difference",
    "TimeInterval",
    "TimeDomain",
]
