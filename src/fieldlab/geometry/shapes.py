"""Primitive shapes: Box, Interval, Disk, Polygon."""

from __future__ import annotations

import numpy as np

from .base import (
    Geometry,
    _jnp,
    r_and,
    r_equivalence,
    Seed,
    as_points,
    as_rng,
    check_method,
    check_n,
    grid_points,
    thin_index,
    unit_1d,
    unit_samples,
)


def _alternate_ends(n: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """n end points of [lo, hi], alternating lo, hi, lo, ...; shapes (n, 1), (n, 1)."""
    right = (np.arange(n) % 2).astype(bool)
    pts = np.where(right, hi, lo).reshape(-1, 1).astype(np.float64)
    nrm = np.where(right, 1.0, -1.0).reshape(-1, 1)
    return pts, nrm


def _largest_remainder(n: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to n, proportional to weights."""
    w = np.asarray(weights, dtype=np.float64)
    raw = n * w / w.sum()
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


class Box(Geometry):
    """Axis-aligned box [lo, hi] in len(lo) dimensions (rectangle in 2-D, interval in 1-D)."""

    def __init__(self, lo, hi):
        lo = np.atleast_1d(np.asarray(lo, dtype=np.float64)).ravel()
        hi = np.atleast_1d(np.asarray(hi, dtype=np.float64)).ravel()
        if lo.shape != hi.shape:
            raise ValueError(f"lo and hi must have the same length, got {lo.size} and {hi.size}; pass one value per dimension.")
        if not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
            raise ValueError("Box bounds must be finite numbers; pass finite lo and hi.")
        if np.any(lo >= hi):
            raise ValueError(f"Need lo < hi in every dimension, got lo={lo.tolist()}, hi={hi.tolist()}; swap or widen them.")
        self.lo = lo
        self.hi = hi
        self.dim = lo.size

    def __repr__(self) -> str:
        return f"Box({self.lo.tolist()}, {self.hi.tolist()})"

    def bounds(self):
        return self.lo.copy(), self.hi.copy()

    def signed_distance(self, x):
        x = as_points(x, self.dim)
        q = np.maximum(self.lo - x, x - self.hi)  # (n, dim), per-axis excess
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        inner = np.minimum(q.max(axis=1), 0.0)
        return outside + inner

    def adf(self, x):
        """Slabs ``(x_i - lo_i)(hi_i - x_i) / (hi_i - lo_i)`` joined by R-conjunction (see :meth:`Geometry.adf`)."""
        jnp = _jnp()
        x = jnp.asarray(x)
        out = None
        for i in range(self.dim):
            lo, hi = float(self.lo[i]), float(self.hi[i])
            slab = (x[..., i] - lo) * (hi - x[..., i]) / (hi - lo)
            out = slab if out is None else r_and(out, slab)
        return out

    def normal(self, x):
        x = as_points(x, self.dim)
        dlo = self.lo - x
        dhi = x - self.hi
        q = np.maximum(dlo, dhi)
        axis = np.argmax(q, axis=1)
        rows = np.arange(len(x))
        sign = np.where(dhi[rows, axis] >= dlo[rows, axis], 1.0, -1.0)
        out = np.zeros_like(x)
        out[rows, axis] = sign
        return out

    def _face_areas(self) -> np.ndarray:
        ext = self.hi - self.lo
        areas = np.array([np.prod(np.delete(ext, k)) for k in range(self.dim)])
        return np.repeat(areas, 2)  # faces ordered (axis0 lo, axis0 hi, axis1 lo, ...)

    def boundary_measure(self) -> float:
        if self.dim == 1:
            return 2.0
        return float(self._face_areas().sum())

    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random"):
        """n points on the faces (n, dim), face chosen proportional to area, and normals (n, dim).

        In 1-D the points alternate between lo and hi (independent of seed and method).
        """
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        if self.dim == 1:
            return _alternate_ends(n, self.lo[0], self.hi[0])
        d = self.dim
        areas = self._face_areas()
        pts = np.empty((n, d))
        nrm = np.zeros((n, d))
        if method == "grid":
            counts = _largest_remainder(n, areas)
            start = 0
            for f, c in enumerate(counts):
                if c == 0:
                    continue
                axis, side = divmod(f, 2)
                free = [k for k in range(d) if k != axis]
                g = grid_points(self.lo[free], self.hi[free], c)
                g = g[thin_index(len(g), c)]
                sl = slice(start, start + c)
                pts[sl, free] = g
                pts[sl, axis] = self.hi[axis] if side else self.lo[axis]
                nrm[sl, axis] = 1.0 if side else -1.0
                start += c
            return pts, nrm
        u = unit_samples(n, d, rng, method)
        cum = np.cumsum(areas) / areas.sum()
        face = np.minimum(np.searchsorted(cum, u[:, 0], side="right"), 2 * d - 1)
        for f in range(2 * d):
            mask = face == f
            if not mask.any():
                continue
            axis, side = divmod(f, 2)
            free = [k for k in range(d) if k != axis]
            pts[np.ix_(mask, free)] = self.lo[free] + u[mask][:, 1:] * (self.hi[free] - self.lo[free])
            pts[mask, axis] = self.hi[axis] if side else self.lo[axis]
            nrm[mask, axis] = 1.0 if side else -1.0
        return pts, nrm


class Interval(Box):
    """1-D interval [lo, hi]; boundary = the two end points with normals -1 and +1."""

    def __init__(self, lo: float, hi: float):
        if np.ndim(lo) != 0 or np.ndim(hi) != 0:
            raise ValueError("Interval takes two scalars lo < hi; use Box for several dimensions.")
        super().__init__([lo], [hi])

    def __repr__(self) -> str:
        return f"Interval({self.lo[0]}, {self.hi[0]})"


class Disk(Geometry):
    """2-D disk with ``center`` (2,) and ``radius`` > 0."""

    def __init__(self, center=(0.0, 0.0), radius: float = 1.0):
        c = np.asarray(center, dtype=np.float64).ravel()
        if c.size != 2:
            raise ValueError(f"Disk center must have 2 coordinates, got {c.size}; pass center=(x, y).")
        if not np.isfinite(radius) or radius <= 0:
            raise ValueError(f"Disk radius must be positive, got {radius}; pass radius > 0.")
        self.center = c
        self.radius = float(radius)
        self.dim = 2

    def __repr__(self) -> str:
        return f"Disk({self.center.tolist()}, {self.radius})"

    def bounds(self):
        return self.center - self.radius, self.center + self.radius

    def signed_distance(self, x):
        x = as_points(x, 2)
        return np.linalg.norm(x - self.center, axis=1) - self.radius

    def adf(self, x):
        """``(r^2 - |x - c|^2) / (2 r)`` (see :meth:`Geometry.adf`)."""
        jnp = _jnp()
        x = jnp.asarray(x)
        dx, dy = x[..., 0] - float(self.center[0]), x[..., 1] - float(self.center[1])
        return (self.radius**2 - dx * dx - dy * dy) / (2.0 * self.radius)

    def normal(self, x):
        x = as_points(x, 2)
        v = x - self.center
        r = np.linalg.norm(v, axis=1, keepdims=True)
        safe = np.where(r > 0, r, 1.0)
        return np.where(r > 0, v / safe, np.array([1.0, 0.0]))

    def boundary_measure(self) -> float:
        return 2.0 * np.pi * self.radius

    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random"):
        """n points on the circle (n, 2) (uniform in angle) and outward normals (n, 2)."""
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        theta = 2.0 * np.pi * unit_1d(n, rng, method)
        nrm = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        return self.center + self.radius * nrm, nrm


class Polygon(Geometry):
    """Simple polygon with vertices (m, 2), m >= 3, in either orientation (not checked for self-intersection)."""

    def __init__(self, vertices):
        v = np.asarray(vertices, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 2:
            raise ValueError(f"Polygon vertices must have shape (m, 2), got {v.shape}; pass a list of (x, y) pairs.")
        if len(v) > 1 and np.allclose(v[0], v[-1]):
            v = v[:-1]  # drop repeated closing vertex
        if len(v) < 3:
            raise ValueError(f"A polygon needs at least 3 distinct vertices, got {len(v)}; add vertices.")
        nxt = np.roll(v, -1, axis=0)
        area2 = float(np.sum(v[:, 0] * nxt[:, 1] - nxt[:, 0] * v[:, 1]))
        edges = nxt - v
        lengths = np.linalg.norm(edges, axis=1)
        if abs(area2) <= 1e-14 * max(1.0, float(lengths.sum())) ** 2 or np.any(lengths == 0):
            raise ValueError("Polygon is degenerate (zero area or repeated vertices); pass a proper simple polygon.")
        self.vertices = v
        self.dim = 2
        self._a = v
        self._e = edges
        self._len = lengths
        self._cum = np.concatenate([[0.0], np.cumsum(lengths)])
        sign = 1.0 if area2 > 0 else -1.0  # +1: counter-clockwise
        self._normals = sign * np.stack([edges[:, 1], -edges[:, 0]], axis=1) / lengths[:, None]
        self.area = abs(area2) / 2.0

    def __repr__(self) -> str:
        return f"Polygon({self.vertices.tolist()})"

    def bounds(self):
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def _edge_distances(self, x: np.ndarray) -> np.ndarray:
        """Distances (n, m) from points to each edge."""
        rel = x[:, None, :] - self._a[None, :, :]
        t = np.clip(np.einsum("nmd,md->nm", rel, self._e) / self._len**2, 0.0, 1.0)
        diff = rel - t[..., None] * self._e[None]
        return np.linalg.norm(diff, axis=2)

    def _contains_even_odd(self, x: np.ndarray) -> np.ndarray:
        a = self._a
        b = np.roll(a, -1, axis=0)
        px, py = x[:, :1], x[:, 1:]
        crosses = (a[None, :, 1] > py) != (b[None, :, 1] > py)
        dy = b[:, 1] - a[:, 1]
        safe = np.where(dy == 0, 1.0, dy)
        xint = a[None, :, 0] + (py - a[None, :, 1]) * (b[:, 0] - a[:, 0])[None] / safe[None]
        hits = crosses & (px < xint)
        return (hits.sum(axis=1) % 2) == 1

    def signed_distance(self, x):
        x = as_points(x, 2)
        d = self._edge_distances(x).min(axis=1)
        return np.where(self._contains_even_odd(x), -d, d)

    def adf(self, x):
        r"""Signed R-equivalence of the edges' trimmed distances (see :meth:`Geometry.adf`).

        For an edge from :math:`a` to :math:`b` of length :math:`L` and centre :math:`c`, Sukumar and
        Srivastava (2022, eqs. 12-14) take the normalised distance to its line
        :math:`f = ((x - a) \times (b - a)) / L`, the trimming disk :math:`t = ((L/2)^2 - |x - c|^2) / L`,
        :math:`\varrho = \sqrt{t^2 + f^4}` and :math:`\phi = \sqrt{f^2 + ((\varrho - t)/2)^2}`, which
        vanishes on the edge only. The edges are joined by :func:`r_equivalence`; the sign comes from
        an even-odd test (constant inside, so derivatives are unaffected).
        """
        jnp = _jnp()
        x = jnp.asarray(x)
        px, py = x[..., 0], x[..., 1]
        out = None
        inside = jnp.zeros(px.shape, dtype=bool)
        a = self._a
        b = np.roll(a, -1, axis=0)
        for (ax_, ay), (bx, by), length in zip(a, b, self._len):
            ax_, ay, bx, by, length = float(ax_), float(ay), float(bx), float(by), float(length)
            f = ((px - ax_) * (by - ay) - (py - ay) * (bx - ax_)) / length
            cx, cy = (ax_ + bx) / 2, (ay + by) / 2
            t = ((length / 2) ** 2 - (px - cx) ** 2 - (py - cy) ** 2) / length
            rho = jnp.sqrt(t * t + f**4)
            phi = jnp.sqrt(f * f + ((rho - t) / 2) ** 2)
            out = phi if out is None else r_equivalence(out, phi)
            if ay != by:  # even-odd crossing test
                crosses = (ay > py) != (by > py)
                xint = ax_ + (py - ay) * (bx - ax_) / (by - ay)
                inside = inside ^ (crosses & (px < xint))
        return jnp.where(inside, out, -out)

    def normal(self, x):
        x = as_points(x, 2)
        k = np.argmin(self._edge_distances(x), axis=1)
        return self._normals[k]

    def boundary_measure(self) -> float:
        return float(self._cum[-1])

    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random"):
        """n points (n, 2) on the edges, uniform in arc length, and outward normals (n, 2)."""
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        s = unit_1d(n, rng, method) * self._cum[-1]
        k = np.clip(np.searchsorted(self._cum, s, side="right") - 1, 0, len(self._len) - 1)
        t = (s - self._cum[k]) / self._len[k]
        pts = self._a[k] + t[:, None] * self._e[k]
        return pts, self._normals[k].copy()
