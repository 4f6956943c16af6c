r"""Forms: how :math:`u_t = (D(u)\,u_x)_x + R(u)` becomes regression equations on a data set.

A discovery method is a *form* (this module), a *library* of candidate terms (:class:`PolyLibrary`
here, the symbolic families of :mod:`.symbolic`) and an *estimator* (:mod:`.estimators`).

A form turns a :class:`~.data.Dataset` (``u`` of shape ``(runs, nt, nx)``) into *equations*: an
object with the flattened states ``u`` (every datum of every run), the target ``b`` (one entry per
row), two linear maps from values at every datum to one entry per row, ``xx`` (applied to
:math:`G(u) = \int D`, the flux term) and ``zero`` (applied to :math:`R(u)`), and the number of
independent rows ``n_independent`` that the information criteria count:

- :class:`StrongForm` (:class:`~.poly.StrongSystem`): ``b`` is the finite-difference :math:`u_t`
  at the interior nodes, ``xx`` the second difference in ``x``, ``zero`` the values there; every
  row counts as independent;
- :class:`WeakForm` (:class:`~.weak.WeakSystem`): integrals against test functions (:mod:`.weak`);
  their supports overlap, so only the test functions with disjoint supports count as independent;
- :class:`TrajectoryForm`: no equations; the closure is fitted by re-simulating the data (output
  error), the target is the data themselves and every datum counts.

:meth:`Form.system` applies a library to the equations and returns a :class:`System`: the columns
``X`` (one per candidate term), the target ``b`` and the effective sample size, so that a linear
closure :math:`\sum_j c_j \phi_j` is fitted as :math:`X c \approx b`. The nonlinear (symbolic)
estimators use the same system through its equations (:meth:`System.table`) and its data set
(re-simulation).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .data import Dataset
from .poly import library_columns, strong_system
from .weak import WIDTHS, default_widths, weak_system


@dataclasses.dataclass(frozen=True)
class PolyLibrary:
    r"""Polynomial laws :math:`D = \sum_{k \le deg_d} d_k u^k`, :math:`R = \sum_{k \le deg_r} r_k u^k`:
    ``deg_d + 1`` D columns (through :math:`G`) then ``deg_r + 1`` R columns (:func:`~.poly.library_columns`)."""

    deg_d: int = 2
    deg_r: int = 3

    @property
    def n_d(self) -> int:
        return self.deg_d + 1

    def columns(self, equations) -> np.ndarray:
        return library_columns(equations, self.deg_d, self.deg_r)


@dataclasses.dataclass(eq=False)
class System:
    """A regression system built by a form: ``columns`` (rows, terms) with the first ``n_d`` the D terms,
    ``target`` (rows,), ``n_eff`` independent rows among them, the form's ``equations`` and the data set
    ``ds`` they came from. ``range``: the states ``[lo, hi]`` the laws are fitted over (default the
    data's)."""

    columns: np.ndarray
    target: np.ndarray
    n_eff: float
    n_d: int
    equations: object
    ds: Dataset
    range: tuple[float, float] | None = None
    _tables: dict = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.range is None:
            self.range = (float(self.ds.u.min()), float(self.ds.u.max()))

    @property
    def n(self) -> int:
        return int(self.target.shape[0])

    def residual(self, coefficients: np.ndarray) -> np.ndarray:
        """``columns @ coefficients - target``."""
        return self.columns @ np.asarray(coefficients, float) - self.target

    def table(self, nodes: int = 1025):
        """The equations folded onto ``nodes`` equispaced states over ``range`` (:class:`~.symbolic._StateTable`,
        built once): what the variable-projection estimator fits symbolic families on."""
        from .symbolic import _StateTable

        if nodes not in self._tables:
            self._tables[nodes] = _StateTable(self.equations, *self.range, nodes)
        return self._tables[nodes]


class Form:
    """A form: :meth:`equations` of a data set, and :meth:`system` (a library applied to them)."""

    name = "form"

    def equations(self, ds: Dataset):
        raise NotImplementedError

    def system(self, ds: Dataset, library: PolyLibrary | None = None, range: tuple[float, float] | None = None
               ) -> System:
        """The regression system of ``library`` (default :class:`PolyLibrary`) on this form's equations of ``ds``."""
        library = PolyLibrary() if library is None else library
        eq = self.equations(ds)
        return System(library.columns(eq), eq.b, eq.n_independent, library.n_d, eq, ds, range)


@dataclasses.dataclass(frozen=True)
class StrongForm(Form):
    """Finite-difference derivatives of the data at the interior nodes (:class:`~.poly.StrongSystem`)."""

    name = "strong"

    def equations(self, ds: Dataset):
        return strong_system(ds.x, ds.t, ds.u)


@dataclasses.dataclass(frozen=True)
class WeakForm(Form):
    """Integrals against test functions (:func:`~.weak.weak_system`); ``widths``: the half-widths as fractions
    of the spans of ``x`` and ``t`` (:func:`~.weak.default_widths`), default :data:`~.weak.WIDTHS`;
    ``half_widths``: absolute half-widths ``(hx, ht)`` in their place."""

    widths: tuple[float, float] = WIDTHS
    half_widths: tuple[float, float] | None = None
    name = "weak"

    def equations(self, ds: Dataset):
        h = self.half_widths or default_widths(ds.x, ds.t, self.widths)
        return weak_system(ds.x, ds.t, ds.u, *h)


@dataclasses.dataclass(frozen=True)
class TrajectoryForm(Form):
    """The data themselves, to be re-simulated (output error, :class:`~.estimators.OutputError`): no columns,
    the target ``u`` flattened, every datum independent."""

    name = "trajectory"

    def equations(self, ds: Dataset):
        return None

    def system(self, ds: Dataset, library=None, range: tuple[float, float] | None = None) -> System:
        target = ds.u.ravel()
        return System(np.zeros((target.size, 0)), target, float(target.size), 0, None, ds, range)
