r"""Adaptive collocation: RAR-G, RAD, R3 and time-marching windows.

Each strategy chooses the interior points between compiled chunks (see
:class:`~fieldlab.training.strategies.base.Collocation`); :math:`|r(z)|` is the magnitude of the PDE
residual.

- ``rar-g`` (residual-based adaptive refinement, greedy; Lu, Meng, Mao and Karniadakis 2021,
  *DeepXDE*, SIAM Review 63): every ``every`` steps, evaluate :math:`|r|` at ``candidates`` uniform
  points and add the ``add`` with the largest residual, up to ``max_points``.
- ``rad`` (residual-based adaptive distribution; Wu, Zhu, Tan, Kartha and Lu 2023, Comput. Methods
  Appl. Mech. Engrg. 403): redraw all points from ``candidates`` uniform ones with probability
  :math:`p(z) \propto |r(z)|^k / \overline{|r|^k} + c`.
- ``r3`` (retain-resample-release; Daw, Bu, Wang, Perdikaris and Karpatne 2023, ICML): keep the
  points whose residual exceeds the population's mean, replace the others by uniform points.
- ``time-marching``: a window :math:`[t_0, t_0 + (t_1 - t_0) \min(1, (j + 1) / W)]` with
  :math:`j = \lfloor k / \text{every} \rfloor`: the points cover the first :math:`1/W` of time, then
  the window grows by one :math:`1/W` every ``every`` steps (Wight and Zhao 2020).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Collocation, Pool, register


@register
class RARG(Collocation):
    kind: Literal["rar-g"] = "rar-g"
    candidates: int = Field(10000, gt=0)
    add: int = Field(100, gt=0)
    max_points: int = Field(100000, gt=0)

    def refresh(self, pool: Pool) -> np.ndarray:
        room = self.max_points - len(pool.z)
        if room <= 0:
            return pool.z
        cand = pool.draw(self.candidates)
        r = pool.residual(cand)
        top = np.argsort(-r, kind="stable")[: min(self.add, room)]
        return np.concatenate([pool.z, cand[top]])


@register
class RAD(Collocation):
    kind: Literal["rad"] = "rad"
    candidates: int = Field(10000, gt=0)
    k: float = Field(1.0, ge=0)
    c: float = Field(1.0, ge=0)

    def refresh(self, pool: Pool) -> np.ndarray:
        cand = pool.draw(self.candidates)
        e = pool.residual(cand) ** self.k
        p = e / max(float(np.mean(e)), np.finfo(float).tiny) + self.c
        p = p / p.sum()
        idx = pool.rng.choice(len(cand), size=len(pool.z), replace=False if len(cand) >= len(pool.z) else True, p=p)
        return cand[np.sort(idx)]


@register
class R3(Collocation):
    kind: Literal["r3"] = "r3"

    def refresh(self, pool: Pool) -> np.ndarray:
        r = pool.residual(pool.z)
        keep = pool.z[r > np.mean(r)]
        return np.concatenate([keep, pool.draw(len(pool.z) - len(keep))])


@register
class TimeMarching(Collocation):
    kind: Literal["time-marching"] = "time-marching"
    windows: int = Field(4, ge=2)

    def _window(self, pool: Pool, z: np.ndarray) -> np.ndarray:
        if pool.time_index is None:
            raise ValueError("time-marching needs a time-dependent problem (time as the last coordinate)")
        i, t0 = pool.time_index, pool.lo[pool.time_index]
        frac = min(1.0, (pool.step // self.every + 1) / self.windows)
        z = z.copy()
        z[:, i] = t0 + (z[:, i] - t0) * frac
        return z

    def start(self, pool: Pool) -> np.ndarray:
        return self._window(pool, pool.z)

    def refresh(self, pool: Pool) -> np.ndarray:
        return self._window(pool, pool.draw(len(pool.z)))
