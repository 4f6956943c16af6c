"""Time interval and space-time domains; coordinates are ordered (spatial..., t)."""

from __future__ import annotations

import math

import numpy as np

from .base import (
    Geometry,
    Seed,
    as_points,
    as_rng,
    check_method,
    check_n,
    rejection_sample,
    thin_index,
    unit_1d,
)


class TimeInterval:
    """Time interval [t0, t1] with t0 < t1."""

    def __init__(self, t0: float, t1: float):
        t0, t1 = float(t0), float(t1)
        if not (np.isfinite(t0) and np.isfinite(t1)):
            raise ValueError("Time interval end points must be finite; pass finite t0 < t1.")
        if t0 >= t1:
            raise ValueError(f"Need t0 < t1, got t0={t0}, t1={t1}; swap or widen them.")
        self.t0 = t0
        self.t1 = t1

    def __repr__(self) -> str:
        return f"TimeInterval({self.t0}, {self.t1})"

    @property
    def length(self) -> float:
        return self.t1 - self.t0

    def inside(self, t) -> np.ndarray:
        """Bool (n,) for times t (n,) or (n, 1) in the closed interval."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        tol = 1e-10 * max(1.0, self.length)
        return (t >= self.t0 - tol) & (t <= self.t1 + tol)

    def sample(self, n: int, seed: Seed = 0, method: str = "random") -> np.ndarray:
        """Exactly n times (n, 1) in [t0, t1)."""
        n = check_n(n)
        check_method(method)
        return (self.t0 + unit_1d(n, as_rng(seed), method) * self.length).reshape(-1, 1)


class TimeDomain:
    """Space-time domain ``geometry x time``; points (n, dim) with dim = geometry.dim + 1, t last."""

    def __init__(self, geometry: Geometry, time: TimeInterval):
        if not isinstance(geometry, Geometry):
            raise TypeError("TimeDomain needs a Geometry as its spatial domain.")
        if not isinstance(time, TimeInterval):
            raise TypeError("TimeDomain needs a TimeInterval as its time domain.")
        self.geometry = geometry
        self.time = time
        self.dim = geometry.dim + 1

    def __repr__(self) -> str:
        return f"TimeDomain({self.geometry!r}, {self.time!r})"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi), each shape (dim,)."""
        lo, hi = self.geometry.bounds()
        return np.append(lo, self.time.t0), np.append(hi, self.time.t1)

    def adf(self, x):
        """The spatial geometry's approximate distance (:meth:`Geometry.adf`) at ``x[..., :-1]``: zero on
        the lateral boundary, whatever the time. For an initial condition too, multiply by ``t - t0``."""
        return self.geometry.adf(x[..., :-1])

    def inside(self, x) -> np.ndarray:
        """Bool (n,): x (n, dim) in the closed space-time domain."""
        x = as_points(x, self.dim)
        return self.geometry.inside(x[:, :-1]) & self.time.inside(x[:, -1])

    def sample_interior(self, n: int, seed: Seed = 0, method: str = "random") -> np.ndarray:
        """Exactly n points (n, dim), sampled jointly in space-time (rejection on the space part)."""
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        lo, hi = self.bounds()
        return rejection_sample(lo, hi, n, rng, method, lambda x: self.geometry.inside(x[:, :-1]))

    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random") -> tuple[np.ndarray, np.ndarray]:
        """Lateral boundary: n points (n, dim) on spatial boundary x (t0, t1], normals (n, dim) with t-component 0.

        grid: tensor product of spatial boundary points and a time grid, thinned to n.
        random/sobol/halton: space and time drawn separately, times randomly permuted.
        """
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        T = self.time.length
        if method == "grid":
            if self.geometry.dim == 1:
                ns = 2
                nt = math.ceil(n / 2)
            else:
                # boundary has dim-1 dimensions, plus one for time
                L = self.geometry.boundary_measure()
                base = (n / (L * T)) ** (1.0 / self.geometry.dim)
                nt = min(n, max(1, math.ceil(T * base)))
                ns = math.ceil(n / nt)
            ps, nrm = self.geometry.sample_boundary(ns, rng, "grid")
            t = self.time.t0 + (np.arange(nt) + 0.5) / nt * T
            pts = np.concatenate([np.repeat(ps, nt, axis=0), np.tile(t, ns)[:, None]], axis=1)
            nv = np.concatenate([np.repeat(nrm, nt, axis=0), np.zeros((ns * nt, 1))], axis=1)
            idx = thin_index(len(pts), n)
            return pts[idx], nv[idx]
        ps, nrm = self.geometry.sample_boundary(n, rng, method)
        t = self.time.t1 - unit_1d(n, rng, method) * T  # in (t0, t1]
        if method != "random":
            t = rng.permutation(t)
        pts = np.concatenate([ps, t[:, None]], axis=1)
        nv = np.concatenate([nrm, np.zeros((n, 1))], axis=1)
        return pts, nv

    def sample_initial(self, n: int, seed: Seed = 0, method: str = "random") -> np.ndarray:
        """n points (n, dim) of the spatial domain at t = t0."""
        n = check_n(n)
        check_method(method)
        xs = self.geometry.sample_interior(n, as_rng(seed), method)
        return np.concatenate([xs, np.full((n, 1), self.time.t0)], axis=1)
