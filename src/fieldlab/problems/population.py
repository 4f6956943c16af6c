r"""Age-structured population forecasting, 2024-2054, under three fertility policies.

.. math::

    p_t + p_a = -\mu(a)\, p, \quad a \in [0, 100],\ t \in [2024, 2054], \qquad
    p(a, 2024) = p_0(a), \qquad p(0, t) = \int \beta(a, t)\, p(a, t)\, da,

the McKendrick-von Foerster equation with the renewal (birth) condition, a :class:`~fieldlab.Nonlocal`
condition evaluated by a fixed 64-node Gauss-Legendre rule over the fertile ages. No condition at
age 100 (outflow). Two built-ins, the policy an option (``name:policy=...``):

``population-tao2025``: the setup of Tao et al. (arXiv 2505.01819, LSTM-PINN), reconstructed from the
authors' published code (``Uderwood-TZ/LSTM-PINN-and-PINN-for-population-forecasting``):
``p0 = 9.54e6 e^{-0.02 a}(1 + 0.3 sin 0.2a)``; ``mu = 0.006805083 + 0.0003 a`` below 60 and
``mu(60) e^{0.06(a - 60)}`` above; ``beta = min(0.0022 (a - 20)(35 - a) m, cap)`` on ``[20, 35]``,
with ``(m, cap) = (1.6, 0.25)`` (three-child), ``(1.2, 0.25)`` (universal two-child) and
``(1.2, 0.20)`` (separate two-child, the code's "Two-child"). What the published setup implies, kept
here on purpose: the cap never binds (``max beta = 0.149 < 0.20``), so **separate and universal
two-child are the same problem**; the population is 426 M, not China's 1408 M, and grows; the
initial data disagree with the birth law at the corner (``p0(0) = 9.54 M`` vs ``B(2024) = 9.00 M``
three-child, ``6.75 M`` two-child), so the solution jumps along ``a = t - 2024``. The paper's hard
factor ``(1 - a/100)`` (``p(100, t) = 0``) contradicts its own initial data (``p0(100) = 1.65 M``) and
an outflow boundary, so it is not used; its Monte Carlo birth integral over ``[0, 100]`` is replaced
by the fixed rule on ``[20, 35]``.

``population-china2024``: a realistic variant for China from the end of 2024 (NBS totals 1408.28 M,
65+ 220.23 M): Gompertz-Makeham mortality ``mu = 5e-4 + 1.7689e-5 e^{0.1 a}`` (life expectancy 79.0);
initial ages from births by birth year (PCHIP) times cohort survival ``e^{-1.7239 M(a)}``, scaled by
0.9928; ``beta = s_F TFR(t) g(a)``, ``s_F = 0.4894`` the female share, ``g`` the Gamma density of
``a - 15`` (mean age at birth 29.5, sd 5); ``TFR(t) = TFR_inf + (TFR_0 - TFR_inf) e^{-(t - 2024)/5}``
with ``TFR_0`` solved from ``B(2024) = p0(0)`` (no corner jump) and ``TFR_inf`` = 0.90 (separate
two-child), 1.10 (universal two-child), 1.30 (three-child): scenario assumptions, not forecasts.

**Scaling.** The coordinates stay in years (the backbones map the domain's box to ``[-1, 1]^2``, so
the network sees O(1) inputs); the field ``p`` is persons per year of age divided by ``scale``
(9.54e6 for tao2025, as the paper; 1e7 for china2024), O(1). The residual is multiplied by the
horizon ``T = 30`` years, ``r = T (p_t + p_a + mu p)``, which is the paper's
``P_tau + 0.3 P_alpha + 30 mu P`` in ``tau = (t - 2024)/30``, ``alpha = a/100``.
**Initial condition** (option ``initial``, the same for every backbone): ``soft`` (default) trains
``p(a, 2024) = p0(a)/scale`` as a loss term on 800 Sobol ages and the network is ``p`` itself;
``hard`` is the constraint ``p = p0(a)/scale + ((t - 2024)/T) N(a, t)``. The solution is nearly a
function of ``a - t`` (a cohort keeps its size up to survival), which a network represents with
first-layer units along the diagonal; under the hard form the network must instead represent
``N = (p - p0(a))/tau``, which holds the sharp edges of ``p0`` twice (fixed in ``a`` and moving
along ``a - t``) and near ``t = 2024`` tends to ``-T (p0' + mu p0)``, the derivative of those edges
(about 40 in these units for china2024). The birth condition is trained in both. The characteristic
solution is never built into the ansatz.

Reference: method of characteristics (:func:`fieldlab.reference.population.characteristics`),
``h = 1/16`` year, corner-averaged, order 2 (tested); stored on ages 0, 1, ..., 100 x years
2024, ..., 2054. Demographic tables and figures: :mod:`fieldlab.demography`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..geometry import Interval, TimeInterval
from ..nonlocal_conditions import Nonlocal
from ..problem import Initial, Problem, Reference
from ..reference.population import PopulationModel, characteristics, hermite, pchip_slopes
from . import register

T0, T1, AMAX = 2024.0, 2054.0, 100.0
HORIZON = T1 - T0
POLICIES = ("three-child", "universal-two-child", "separate-two-child")
INITIAL = ("soft", "hard")  # the initial condition: a loss term (default) or a hard constraint
REFERENCE_H = 1.0 / 16

# ---------------------------------------------------------------- population-tao2025 (the paper's code)

TAO_SCALE = 9.54e6
TAO_MULTIPLIER = {"three-child": (1.6, 0.25), "universal-two-child": (1.2, 0.25), "separate-two-child": (1.2, 0.20)}
_MU0, _MU1, _MU_GROWTH = 0.006805083, 0.0003, 0.06
_MU60 = _MU0 + _MU1 * 60.0


def _tao_mu(a, xp):
    return xp.where(a < 60.0, _MU0 + _MU1 * a, _MU60 * xp.exp(_MU_GROWTH * (a - 60.0)))


def _tao_M(a, xp):
    below = _MU0 * a + 0.5 * _MU1 * a**2
    m60 = _MU0 * 60.0 + 0.5 * _MU1 * 3600.0
    return xp.where(a < 60.0, below, m60 + _MU60 * (xp.exp(_MU_GROWTH * (a - 60.0)) - 1.0) / _MU_GROWTH)


def tao2025_model(policy: str = "three-child") -> PopulationModel:
    """The model of ``population-tao2025`` in persons and years (see the module docstring)."""
    m, cap = TAO_MULTIPLIER[policy]

    def beta(a, t, xp):
        b0 = xp.where((a >= 20.0) & (a <= 35.0), 0.0022 * (a - 20.0) * (35.0 - a), 0.0)
        return xp.clip(b0 * m, 0.0, cap) + 0.0 * t

    return PopulationModel(
        mortality=_tao_mu, cumulative_hazard=_tao_M, fertility=beta,
        initial=lambda a, xp: TAO_SCALE * xp.exp(-0.02 * a) * (1.0 + 0.3 * xp.sin(0.2 * a)),
        ages=(0.0, AMAX), years=(T0, T1), fertile=(20.0, 35.0))


# ---------------------------------------------------------------- population-china2024 (realistic variant)

CHINA_SCALE = 1e7
CHINA_TFR_INF = {"three-child": 1.30, "universal-two-child": 1.10, "separate-two-child": 0.90}
GM_A, GM_B, GM_C = 5e-4, 1.7689e-5, 0.10              # Gompertz-Makeham, e0 = 79.0
COHORT_EXCESS, INITIAL_SCALE = 1.7239, 0.9928          # fitted to NBS end-2024 totals: 1408.28 M, 65+ 220.23 M
FEMALE_SHARE = 689.19 / 1408.28
GAMMA_SHAPE, GAMMA_SCALE = (14.5 / 5.0) ** 2, 25.0 / 14.5  # mean 29.5, sd 5 of the age at birth
TFR_DECAY = 5.0
# Births (millions) by birth year; 2020, 2021, 2023, 2024 are NBS figures, the rest rounded (they shape the pyramid).
BIRTHS_BY_YEAR = {
    1924: 17, 1935: 18, 1945: 19, 1950: 20.2, 1955: 19.7, 1957: 21.7, 1958: 19.1, 1959: 16.5, 1960: 13.9,
    1961: 11.9, 1962: 24.6, 1963: 29.6, 1965: 27.1, 1968: 27.6, 1970: 27.4, 1972: 25.6, 1974: 22.3, 1976: 18.5,
    1978: 17.5, 1980: 17.8, 1982: 22.3, 1984: 20.5, 1986: 23.8, 1987: 25.2, 1990: 23.9, 1992: 21.2, 1994: 21.0,
    1996: 20.7, 1998: 19.4, 2000: 17.7, 2002: 16.5, 2004: 16.0, 2006: 15.9, 2008: 16.1, 2010: 15.9, 2012: 16.4,
    2014: 16.9, 2016: 17.9, 2017: 17.2, 2018: 15.2, 2019: 14.7, 2020: 12.0, 2021: 10.6, 2022: 9.56, 2023: 9.02,
    2024: 9.54}


def _gm_mu(a, xp):
    return GM_A + GM_B * xp.exp(GM_C * a)


def _gm_M(a, xp):
    return GM_A * a + GM_B / GM_C * (xp.exp(GM_C * a) - 1.0)


def _gamma_density(a, xp):
    """Gamma density of ``a - 15`` (zero below 15), smooth at 15 (it vanishes like (a - 15)^7.4)."""
    x = xp.maximum(a - 15.0, 1e-30)
    k, th = GAMMA_SHAPE, GAMMA_SCALE
    log_g = (k - 1) * xp.log(x) - x / th - math.lgamma(k) - k * math.log(th)
    return xp.where(a > 15.0, xp.exp(log_g), 0.0)


@functools.cache
def _births_curve():
    ages = np.array(sorted(2024.0 - y for y in BIRTHS_BY_YEAR))
    values = np.array([BIRTHS_BY_YEAR[int(2024 - a)] * 1e6 for a in ages])
    return ages, values, pchip_slopes(ages, values)


def _china_p0(a, xp):
    knots, values, slopes = _births_curve()
    return INITIAL_SCALE * hermite(a, knots, values, slopes, xp) * xp.exp(-COHORT_EXCESS * _gm_M(a, xp))


@functools.cache
def china_tfr0() -> float:
    """``TFR_0`` such that the birth law gives ``p0(0)`` at 2024 (no corner jump): 0.978."""
    a = np.linspace(0.0, AMAX, 160001)
    w = np.full(a.size, a[1] - a[0])
    w[[0, -1]] *= 0.5
    return float(_china_p0(0.0, np) / (FEMALE_SHARE * np.sum(w * _gamma_density(a, np) * _china_p0(a, np))))


def china2024_model(policy: str = "three-child") -> PopulationModel:
    """The model of ``population-china2024`` in persons and years (see the module docstring)."""
    inf, tfr0 = CHINA_TFR_INF[policy], china_tfr0()

    def beta(a, t, xp):
        tfr = inf + (tfr0 - inf) * xp.exp(-(t - T0) / TFR_DECAY)
        return FEMALE_SHARE * tfr * _gamma_density(a, xp)

    return PopulationModel(mortality=_gm_mu, cumulative_hazard=_gm_M, fertility=beta, initial=_china_p0,
                           ages=(0.0, AMAX), years=(T0, T1), fertile=(15.0, 60.0))


# ---------------------------------------------------------------- the problems

MODELS = {"population-tao2025": (tao2025_model, TAO_SCALE), "population-china2024": (china2024_model, CHINA_SCALE)}


def model_of(name: str) -> tuple[PopulationModel, float]:
    """``(model, scale)`` of a population built-in named with its option (``population-china2024:policy=...``)."""
    from . import parse_options

    base, opts = parse_options(name)
    build, scale = MODELS[base]
    return build(opts.get("policy", POLICIES[0])), scale


@functools.cache
def reference_solution(name: str, policy: str, h: float = REFERENCE_H):
    """``(ages, years, p)``: the method of characteristics at step ``h``, yearly, p in persons."""
    build, _ = MODELS[name]
    return characteristics(build(policy), h, corner="average", every=1.0)


DEFAULTS = {
    "model": {"name": "mlp", "width": 32, "depth": 4},  # 3.3k parameters: a cheap dense float64 stage
    "recipe": {
        "sampling": {"interior": 6000, "boundary": 256, "initial": 800, "method": "sobol", "resample_every": 0},
        "stages": [
            {"optimizer": "adam", "steps": 2000, "lr": 2e-3, "decay_rate": 0.5, "decay_steps": 1000},
            {"optimizer": "ssbroyden", "steps": 2000, "dtype": "float64"},
        ],
    },
}


def _build(name: str, model: PopulationModel, scale: float, policy: str, description: str,
           initial: str = INITIAL[0]) -> Problem:
    mu, beta, p0 = model.mortality, model.fertility, model.initial

    def residual(F, p):
        return p["horizon"] * (F.d("p", "t") + F.d("p", "a") + mu(F.a, jnp) * F.p)

    def transform(z, out):
        return p0(z[0], jnp)[None] / scale + (z[1] - T0) / HORIZON * out

    lo, hi = model.fertile

    def reference() -> Reference:
        ages, years, p = reference_solution(name, policy)
        keep = np.isclose(ages % 1.0, 0.0) | np.isclose(ages % 1.0, 1.0)
        return Reference((ages[keep], years), (p[keep] / scale)[..., None],
                         f"method of characteristics, h = {REFERENCE_H:g} year, corner-averaged (order 2)")

    full = (name + (f":policy={policy}" if policy != POLICIES[0] else "")
            + (f":initial={initial}" if initial != INITIAL[0] else ""))

    def demographic_metrics(u, dtype) -> dict[str, float]:
        """The largest errors over the years of N and B (relative) and of the OADR (points); for
        tao2025 also the relative L2 error of p off the jump (ages more than 2 years from a = t - 2024)."""
        from .. import demography

        f = jax.jit(jax.vmap(lambda z: u(z)[0]))
        e = demography.errors(demography.from_predict(full, lambda z: f(jnp.asarray(z, dtype))),
                              demography.from_reference(full))
        out = {"max_total_rel_error": float(e["total"].max()), "max_births_rel_error": float(e["births"].max()),
               "max_oadr_error_points": float(e["oadr"].max())}
        if name == "population-tao2025":
            ref = reference()
            off = np.abs(ref.points[:, 0] - (ref.points[:, 1] - T0)) > 2.0
            pred = np.asarray(f(jnp.asarray(ref.points[off], dtype)), np.float64)
            exact = ref.flat[off, 0]
            out["rel_l2_p_off_jump"] = float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))
        return out

    return Problem(
        name=full,
        coords=("a", "t"), fields=("p",),
        domain=Interval(0.0, AMAX) * TimeInterval(T0, T1),
        equations={"pde": residual},
        conditions={
            "initial": Initial("p", lambda a, t: p0(a, jnp) / scale),
            "births": Nonlocal("p", over="a", at=0.0, kernel=lambda a, t: beta(a, t, jnp), lo=lo, hi=hi, nodes=64),
        },
        params={"horizon": HORIZON},
        transform=transform if initial == "hard" else None, exact=("initial",) if initial == "hard" else (),
        reference=reference, extra_metrics=demographic_metrics,
        description=description + f"; policy = {policy}; p in units of {scale:.3g} persons per year of age",
    )


@register("population-tao2025", DEFAULTS, options={"policy": POLICIES, "initial": INITIAL})
def population_tao2025(policy: str = POLICIES[0], initial: str = INITIAL[0]) -> Problem:
    return _build("population-tao2025", tao2025_model(policy), TAO_SCALE, policy,
                  "p_t + p_a = -mu(a) p on [0,100] x [2024,2054], p(0,t) = int beta p da (birth law); "
                  "Tao et al. 2025 setup (426 M people; two-child policies coincide)", initial)


@register("population-china2024", DEFAULTS, options={"policy": POLICIES, "initial": INITIAL})
def population_china2024(policy: str = POLICIES[0], initial: str = INITIAL[0]) -> Problem:
    return _build("population-china2024", china2024_model(policy), CHINA_SCALE, policy,
                  "p_t + p_a = -mu(a) p on [0,100] x [2024,2054], p(0,t) = int beta p da (birth law); "
                  "China end-2024 (1408 M), Gompertz-Makeham mortality, TFR paths", initial)
