"""Geometry base class, sampling helpers and boolean (CSG) combinations.

All point arrays are float64 of shape ``(n, dim)``; boolean masks have shape ``(n,)``.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy.stats import qmc

if TYPE_CHECKING:  # pragma: no cover
    from .time import TimeDomain, TimeInterval

Seed = int | np.random.Generator
METHODS = ("random", "sobol", "halton", "grid")

_MAX_ROUNDS = 40


# ----------------------------------------------------------------------------- helpers
def as_rng(seed: Seed) -> np.random.Generator:
    """Return a Generator: an int seeds ``np.random.default_rng``, a Generator is used as is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int or np.random.Generator, got {type(seed).__name__}.")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"Unknown sampling method {method!r}; use one of {METHODS}.")
    return method


def check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}.")
    if n < 1:
        raise ValueError(f"Number of points n must be at least 1, got {n}; pass n >= 1.")
    return int(n)


def as_points(x, dim: int) -> np.ndarray:
    """Coerce ``x`` to shape (n, dim); a 1-D array is n points if dim == 1, else one point."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        x = x.reshape(1, 1)
    elif x.ndim == 1:
        x = x.reshape(-1, 1) if dim == 1 else x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"Points must have shape (n, {dim}), got {x.shape}; reshape them to (n, {dim}).")
    return x


def _qmc_engine(kind, d: int, rng: np.random.Generator):
    try:
        return kind(d, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15
        return kind(d, scramble=True, seed=rng)


def unit_samples(n: int, d: int, rng: np.random.Generator, method: str) -> np.ndarray:
    """(n, d) points in the unit cube [0, 1)^d for method random/sobol/halton (not grid)."""
    if method == "random":
        return rng.random((n, d))
    if method == "sobol":
        eng = _qmc_engine(qmc.Sobol, d, rng)
        m = max(0, math.ceil(math.log2(n)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eng.random_base2(m)[:n]
    if method == "halton":
        return _qmc_engine(qmc.Halton, d, rng).random(n)
    raise ValueError(f"unit_samples does not handle method {method!r}; use random, sobol or halton.")


def unit_1d(n: int, rng: np.random.Generator, method: str) -> np.ndarray:
    """(n,) parameters in [0, 1); grid gives cell centres (i + 0.5) / n."""
    if method == "grid":
        return (np.arange(n) + 0.5) / n
    return unit_samples(n, 1, rng, method)[:, 0]


def grid_counts(extent: np.ndarray, m: int) -> np.ndarray:
    """Per-dimension counts following the aspect of ``extent``, with product >= m."""
    extent = np.asarray(extent, dtype=np.float64)
    d = extent.size
    base = (m / float(np.prod(extent))) ** (1.0 / d)
    return np.maximum(1, np.ceil(extent * base - 1e-9)).astype(int)


def grid_points(lo: np.ndarray, hi: np.ndarray, m: int) -> np.ndarray:
    """Cell-centred regular grid in the box [lo, hi] with at least m points, shape (k, d)."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    counts = grid_counts(hi - lo, m)
    axes = [lo[i] + (np.arange(c) + 0.5) / c * (hi[i] - lo[i]) for i, c in enumerate(counts)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in mesh], axis=1)


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def thin_index(k: int, n: int) -> np.ndarray:
    """n sorted indices out of range(k), k >= n, spread deterministically and evenly.

    Keeps the indices i with the n smallest frac(i * golden ratio); unlike a fixed stride this
    does not alias with the period of a raveled grid (every residue class keeps ~n/k of its points).
    """
    if k == n:
        return np.arange(n)
    keys = (np.arange(k) * _GOLDEN) % 1.0
    return np.sort(np.argsort(keys, kind="stable")[:n])


def rejection_sample(
    lo: np.ndarray,
    hi: np.ndarray,
    n: int,
    rng: np.random.Generator,
    method: str,
    accept: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Exactly n points of the box [lo, hi] drawn with ``method`` that satisfy ``accept``, (n, d).

    Draws a candidate set and keeps the first n accepted points (grid: thinned to n by ``thin_index``); if
    too few are accepted the candidate set is enlarged (grid: a finer grid) and drawn again.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    d = lo.size
    m = n
    for _ in range(_MAX_ROUNDS):
        if method == "grid":
            x = grid_points(lo, hi, m)
        else:
            x = lo + unit_samples(m, d, rng, method) * (hi - lo)
        x = x[accept(x)]
        k = len(x)
        if k >= n:
            # grid: thin evenly; sequences: keep the first n accepted (prefix of the sequence)
            return x[thin_index(k, n)] if method == "grid" else x[:n]
        m = _grow(m, n, k)
    raise RuntimeError("Rejection sampling accepted too few points; the domain seems empty or degenerate.")


def face_points(domain, axis: int, n: int, seed, method: str) -> np.ndarray:
    """``(n, d)`` points spread over the other coordinates of a domain with a box-shaped extent along
    ``axis``; the ``axis`` column is left for the caller to set (to a face: ``lo`` or ``hi``).

    Random and low-discrepancy points are interior points (their projection is again such a sample
    of the other coordinates). A grid is a grid of the other ``d - 1`` coordinates, keeping those
    inside the domain: the interior grid projected would repeat each of its few distinct values.
    """
    if method != "grid":
        return np.array(domain.sample_interior(n, seed=seed, method=method), dtype=np.float64)
    lo, hi = (np.asarray(b, np.float64) for b in domain.bounds())
    free = [k for k in range(len(lo)) if k != axis]
    mid = 0.5 * (lo[axis] + hi[axis])  # a box-shaped extent: inside at mid <=> inside on either face
    y = rejection_sample(lo[free], hi[free], n, as_rng(seed), method,
                         lambda y: domain.inside(np.insert(y, axis, mid, axis=1)))
    return np.insert(y, axis, mid, axis=1)


def has_box_extent(domain, axis: int, probes: int = 256) -> bool:
    """Whether every point of the domain stays inside when moved along ``axis`` to either end of its
    extent (an interval, a box, or either times a time interval), tested on Sobol probes."""
    lo, hi = (np.asarray(b, np.float64) for b in domain.bounds())
    z = np.array(domain.sample_interior(probes, seed=0, method="sobol"), dtype=np.float64)
    ends = []
    for end in (lo[axis], hi[axis]):
        w = z.copy()
        w[:, axis] = end
        ends.append(domain.inside(w))
    return bool(np.all(ends))


def _grow(m: int, n: int, k: int) -> int:
    want = math.ceil(1.25 * m * n / max(k, 1)) + 16
    return int(min(max(want, 2 * m), 64 * m))


# ----------------------------------------------------------------------------- R-functions
def _jnp():
    import jax.numpy as jnp  # only approximate distance functions need JAX; sampling stays NumPy

    return jnp


def r_and(a, b):
    """R-conjunction (Rvachev's R0 system): ``a + b - sqrt(a^2 + b^2)``.

    Positive where both ``a`` and ``b`` are, zero where one is zero and the other non-negative,
    negative elsewhere; where ``a = 0 < b`` its derivative along ``a`` is 1, so a normalised
    distance stays normalised away from corners (Sukumar and Srivastava 2022, section 3.2).
    """
    jnp = _jnp()
    return a + b - jnp.sqrt(a * a + b * b)


def r_or(a, b):
    """R-disjunction (R0 system): ``a + b + sqrt(a^2 + b^2)``; positive where ``a`` or ``b`` is."""
    jnp = _jnp()
    return a + b + jnp.sqrt(a * a + b * b)


def r_equivalence(a, b):
    """Distance to the union of two boundary pieces from their distances ``a, b >= 0``:
    ``a b / (a + b)`` (the R-equivalence with ``m = 1``, Sukumar and Srivastava 2022, eq. 17);
    zero on either piece, first-order normalised there."""
    jnp = _jnp()
    s = a + b
    return jnp.where(s > 0, a * b / jnp.where(s > 0, s, 1.0), 0.0)


# ----------------------------------------------------------------------------- Geometry
class Geometry(ABC):
    """Closed spatial domain in ``dim`` dimensions."""

    dim: int

    # -- abstract interface -------------------------------------------------
    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi), each shape (dim,)."""

    @abstractmethod
    def signed_distance(self, x) -> np.ndarray:
        """Signed distance (n,): negative inside, 0 on the boundary, positive outside.

        Exact for primitive shapes, a sign-correct bound for boolean combinations.
        """

    @abstractmethod
    def normal(self, x) -> np.ndarray:
        """Outward unit normals (n, dim) at boundary points x (n, dim)."""

    @abstractmethod
    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random") -> tuple[np.ndarray, np.ndarray]:
        """Exactly n boundary points (n, dim) and their outward unit normals (n, dim)."""

    @abstractmethod
    def boundary_measure(self) -> float:
        """Size of the boundary (length / area; number of end points in 1-D)."""

    def adf(self, x):
        r"""Approximate distance function, JAX-traceable: positive inside, zero on the boundary, negative outside.

        ``x`` has shape ``(..., dim)`` (one point ``(dim,)`` gives a scalar); the result has shape
        ``(...)``, in ``x``'s dtype. It is exactly zero on the boundary (up to round-off) and
        normalised to first order there (its gradient is the inward unit normal, away from corners),
        but it is not the Euclidean distance away from the boundary. Built-in shapes use the
        constructions of Sukumar and Srivastava (2022), "Exact imposition of boundary conditions with
        distance functions in physics-informed deep neural networks", CMAME 389:114333; boolean
        combinations use R-functions (:func:`r_and`, :func:`r_or`). Use it in a hard-constraint
        transform, ``u = g + adf(x) * N(x)``, which satisfies ``u = g`` on the whole boundary exactly.
        """
        raise NotImplementedError(f"{type(self).__name__} has no approximate distance function.")

    # -- generic ------------------------------------------------------------
    @property
    def scale(self) -> float:
        lo, hi = self.bounds()
        return float(max(1.0, np.max(np.abs(hi - lo))))

    @property
    def tol(self) -> float:
        """Absolute tolerance of ``inside`` (1e-10 relative to the domain size)."""
        return 1e-10 * self.scale

    def inside(self, x) -> np.ndarray:
        """Bool (n,): x (n, dim) lies in the closed domain (boundary included)."""
        return self.signed_distance(x) <= self.tol

    def on_boundary(self, x, tol: float = 1e-6) -> np.ndarray:
        """Bool (n,): x (n, dim) lies within absolute distance ``tol`` of the boundary."""
        return np.abs(self.signed_distance(x)) <= tol

    def sample_interior(self, n: int, seed: Seed = 0, method: str = "random") -> np.ndarray:
        """Exactly n points (n, dim) inside the domain (rejection in the bounding box)."""
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        lo, hi = self.bounds()
        return rejection_sample(lo, hi, n, rng, method, self.inside)

    # -- operators ----------------------------------------------------------
    def _check_other(self, other) -> None:
        if other.dim != self.dim:
            raise ValueError(
                f"Cannot combine geometries of dimension {self.dim} and {other.dim}; "
                "use geometries of the same dimension."
            )

    def __or__(self, other):
        if not isinstance(other, Geometry):
            return NotImplemented
        return Union(self, other)

    def __and__(self, other):
        if not isinstance(other, Geometry):
            return NotImplemented
        return Intersection(self, other)

    def __sub__(self, other):
        if not isinstance(other, Geometry):
            return NotImplemented
        return Difference(self, other)

    def __mul__(self, other) -> "TimeDomain":
        from .time import TimeDomain, TimeInterval

        if not isinstance(other, TimeInterval):
            return NotImplemented
        return TimeDomain(self, other)


# ----------------------------------------------------------------------------- CSG
class _Boolean(Geometry):
    """Boolean combination of two geometries ``a`` and ``b`` of equal dimension."""

    _flip_b = False

    def __init__(self, a: Geometry, b: Geometry):
        if not isinstance(a, Geometry) or not isinstance(b, Geometry):
            raise TypeError("Boolean operations need two Geometry objects.")
        a._check_other(b)
        self.a = a
        self.b = b
        self.dim = a.dim
        self._measure: float | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.a!r}, {self.b!r})"

    @property
    def _eps(self) -> float:
        return 1e-7 * self.scale

    def _candidates(self, m: int, rng: np.random.Generator, method: str):
        """Boundary points, normals and order keys of the result from ~m candidates on both boundaries.

        The key of a candidate is its position in its own sequence divided by the sequence length,
        so sorting by key interleaves both boundaries in proportion to their candidate counts.
        """
        la, lb = self.a.boundary_measure(), self.b.boundary_measure()
        ma = max(1, int(round(m * la / (la + lb))))
        mb = max(1, m - ma)
        pa, na = self.a.sample_boundary(ma, rng, method)
        pb, nb = self.b.sample_boundary(mb, rng, method)
        if self._flip_b:
            nb = -nb
        eps = self._eps
        ok_a = self.inside(pa - eps * na) & ~self.inside(pa + eps * na)
        # Parts of b's boundary that coincide with a's boundary are owned by a.
        ok_b = self.inside(pb - eps * nb) & ~self.inside(pb + eps * nb) & ~self.a.on_boundary(pb, tol=10 * eps)
        keys = np.concatenate([(np.arange(ma) / ma)[ok_a], (np.arange(mb) / mb)[ok_b]])
        return np.concatenate([pa[ok_a], pb[ok_b]]), np.concatenate([na[ok_a], nb[ok_b]]), keys

    def sample_boundary(self, n: int, seed: Seed = 0, method: str = "random") -> tuple[np.ndarray, np.ndarray]:
        """Exactly n boundary points (n, dim) and outward unit normals (n, dim).

        Candidates are drawn on both boundaries in proportion to their measure and filtered to the
        parts that bound the result; the first n (grid: n spread by ``thin_index``) are returned.
        """
        n = check_n(n)
        check_method(method)
        rng = as_rng(seed)
        m = n
        for _ in range(_MAX_ROUNDS):
            p, nv, keys = self._candidates(m, rng, method)
            k = len(p)
            if k >= n:
                if method == "grid":
                    idx = thin_index(k, n)
                else:  # prefix of both (QMC) sequences, interleaved; strided thinning would alias
                    idx = np.argsort(keys, kind="stable")[:n]
                return p[idx], nv[idx]
            m = _grow(m, n, k)
        raise RuntimeError("Could not sample the boundary of the boolean geometry; it seems empty.")

    def boundary_measure(self) -> float:
        """Monte-Carlo estimate (fixed internal seed) of the boundary size."""
        if self._measure is None:
            m = 4096
            p, _, _ = self._candidates(m, np.random.default_rng(12345), "random")
            total = self.a.boundary_measure() + self.b.boundary_measure()
            self._measure = max(total * len(p) / m, 1e-12 * total)
        return self._measure


class Union(_Boolean):
    """a | b: points in a or b.

    Its distance function (R-function disjunction) is zero wherever both shapes' boundaries meet,
    also inside the union: two boxes sharing an edge (an L-shape) give zero along the shared segment,
    so an exact boundary condition built on it would also hold there. Build such a shape as one
    :class:`~fieldlab.geometry.Polygon` when its boundary conditions are imposed exactly; overlapping
    shapes (whose boundaries cross) are fine.
    """

    def bounds(self):
        la, ha = self.a.bounds()
        lb, hb = self.b.bounds()
        return np.minimum(la, lb), np.maximum(ha, hb)

    def signed_distance(self, x):
        return np.minimum(self.a.signed_distance(x), self.b.signed_distance(x))

    def adf(self, x):
        return r_or(self.a.adf(x), self.b.adf(x))

    def normal(self, x):
        x = as_points(x, self.dim)
        use_a = self.a.signed_distance(x) <= self.b.signed_distance(x)
        return np.where(use_a[:, None], self.a.normal(x), self.b.normal(x))


class Intersection(_Boolean):
    """a & b: points in both a and b."""

    def bounds(self):
        la, ha = self.a.bounds()
        lb, hb = self.b.bounds()
        lo, hi = np.maximum(la, lb), np.minimum(ha, hb)
        if np.any(lo > hi):
            raise ValueError("The intersection is empty (bounding boxes do not overlap); use overlapping geometries.")
        return lo, hi

    def signed_distance(self, x):
        return np.maximum(self.a.signed_distance(x), self.b.signed_distance(x))

    def adf(self, x):
        return r_and(self.a.adf(x), self.b.adf(x))

    def normal(self, x):
        x = as_points(x, self.dim)
        use_a = self.a.signed_distance(x) >= self.b.signed_distance(x)
        return np.where(use_a[:, None], self.a.normal(x), self.b.normal(x))


class Difference(_Boolean):
    """a - b: points of a not strictly inside b (b's boundary gets flipped normals)."""

    _flip_b = True

    def bounds(self):
        return self.a.bounds()

    def signed_distance(self, x):
        return np.maximum(self.a.signed_distance(x), -self.b.signed_distance(x))

    def adf(self, x):
        return r_and(self.a.adf(x), -self.b.adf(x))

    def normal(self, x):
        x = as_points(x, self.dim)
        use_a = self.a.signed_distance(x) >= -self.b.signed_distance(x)
        return np.where(use_a[:, None], self.a.normal(x), -self.b.normal(x))
