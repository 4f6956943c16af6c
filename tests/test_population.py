"""The nonlocal (birth) condition, the method-of-characteristics reference and the population built-ins."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

import fieldlab
from fieldlab import problems
from fieldlab.errors import FieldlabError
from fieldlab.geometry import Interval, TimeInterval
from fieldlab.nonlocal_conditions import Nonlocal, quadrature_rule
from fieldlab.reference.population import PopulationModel, characteristics, indicators

# A stable population with a closed form (Euler-Lotka): constant mortality MU, fertility
# beta(a) = B a (A - a), and p(a, t) = exp(LAM t - (LAM + MU) a) solves p_t + p_a = -MU p with
# p(0, t) = int_0^A beta p da exactly when 1 = B int_0^A a (A - a) exp(-(LAM + MU) a) da. (The integrand's
# slope is not zero at the ends, so the trapezoid rule is of order exactly 2 on it.)
A, MU, LAM = 50.0, 0.02, 0.01
B = 1.0 / quad(lambda a: a * (A - a) * np.exp(-(LAM + MU) * a), 0, A, epsabs=0, epsrel=1e-13)[0]


def lotka_beta(a, t, xp=jnp):
    return B * a * (A - a) + 0.0 * t


def lotka_exact(z):
    return jnp.exp(LAM * z[1] - (LAM + MU) * z[0])[None]


def lotka_problem(**cond):
    return fieldlab.Problem(
        name="lotka", coords=("a", "t"), fields=("p",), domain=Interval(0.0, A) * TimeInterval(0.0, 10.0),
        equations={"pde": lambda F, p: F.d("p", "t") + F.d("p", "a") + MU * F.p},
        conditions={"births": Nonlocal("p", **{"over": "a", "at": 0.0, "kernel": lambda a, t: lotka_beta(a, t), **cond})})


def births_residual(problem, u, n=32):
    cond = problem.conditions["births"]
    batch = {k: jnp.asarray(v, jnp.float32) for k, v in cond.sample(problem, n, 0, "random").items()}
    return np.asarray(jax.vmap(lambda item: cond.residual(lambda z: problem.fields_at(u, z), item, {}))(batch))


def test_quadrature_rules_are_exact_where_they_should_be():
    s, w = quadrature_rule(1.0, 3.0, nodes=8, rule="gauss", panels=2)  # 4 nodes per panel: exact to degree 7
    assert np.sum(w * s**7) == pytest.approx((3**8 - 1) / 8, rel=1e-13)
    s, w = quadrature_rule(0.0, 1.0, nodes=11, rule="trapezoid")
    assert np.sum(w * s) == pytest.approx(0.5, rel=1e-14) and np.sum(w * s**2) == pytest.approx(1 / 3 + 1 / 600, rel=1e-12)


def test_nonlocal_condition_vanishes_on_the_closed_form_and_measures_a_wrong_one():
    pb = lotka_problem()
    samples = pb.conditions["births"].sample(pb, 32, 0, "random")
    assert np.all(samples["z"][:, 0] == 0.0) and samples["nodes"].shape == (32, 64, 2)
    assert np.allclose(samples["nodes"][:, :, 1], samples["z"][:, None, 1])  # nodes share the point's time
    r = births_residual(pb, lotka_exact)
    assert np.max(np.abs(r)) < 5e-6  # float32 rounding; p(0, t) is about 1
    # 10 % too many newborns: the residual is exactly 0.1 p(0, t)
    r = births_residual(pb, lambda z: lotka_exact(z) * jnp.where(z[0] == 0.0, 1.1, 1.0))
    t = pb.conditions["births"].sample(pb, 32, 0, "random")["z"][:, 1]
    assert np.allclose(r.ravel(), 0.1 * np.exp(LAM * t), rtol=2e-4)
    # a coarse trapezoid rule on the same solution leaves its O(h^2) error, which the Gauss rule does not
    coarse = births_residual(lotka_problem(nodes=11, rule="trapezoid"), lotka_exact)
    assert 1e-3 < np.max(np.abs(coarse)) < 1e-1


def test_nonlocal_condition_refuses_what_does_not_fit():
    with pytest.raises(FieldlabError, match="not a coordinate"):
        fieldlab.Problem(name="x", coords=("a", "t"), fields=("p",), domain=Interval(0, 1) * TimeInterval(0, 1),
                         equations={"pde": lambda F, p: F.p}, conditions={"b": Nonlocal("p", "x", 0.0, lambda a, t: a)})
    with pytest.raises(FieldlabError, match="leaves the domain"):
        lotka_problem(lo=0.0, hi=60.0)
    with pytest.raises(FieldlabError, match="unknown quadrature rule"):
        Nonlocal("p", "a", 0.0, lambda a, t: a, rule="simpson")
    with pytest.raises(FieldlabError, match="same whole number of nodes in every panel"):
        Nonlocal("p", "a", 0.0, lambda a, t: a, nodes=10, panels=3)
    with pytest.raises(FieldlabError, match="not an end of the domain"):
        lotka_problem(at=5.0)
    with pytest.raises(FieldlabError, match="needs a box-shaped extent"):
        fieldlab.Problem(name="d", coords=("x", "y"), fields=("p",), domain=fieldlab.geometry.Disk([0, 0], 1.0),
                         equations={"pde": lambda F, p: F.p}, conditions={"b": Nonlocal("p", "x", -1.0, lambda x, y: x)})
    with pytest.raises(FieldlabError, match=r"returns shape \(3,\)"):
        fieldlab.Problem(name="k", coords=("a", "t"), fields=("p",), domain=Interval(0, 1) * TimeInterval(0, 1),
                         equations={"pde": lambda F, p: F.p},
                         conditions={"b": Nonlocal("p", "a", 0.0, lambda a, t: jnp.stack([a, t, a]))})
    with pytest.raises(FieldlabError, match="kernel failed"):
        lotka_problem(kernel=lambda a: a)
    assert "Nonlocal" in fieldlab.__all__


@pytest.mark.parametrize("method", ["grid", "sobol"])
def test_nonlocal_face_points_spread_over_the_other_coordinate(method):
    """A grid on the face, not the interior grid's few distinct times moved onto it."""
    pb = lotka_problem()
    z = pb.conditions["births"].sample(pb, 256, 0, method)["z"]
    assert z.shape == (256, 2) and np.all(z[:, 0] == 0.0)
    t = np.sort(z[:, 1])
    assert len(np.unique(t)) == 256 and 0.0 <= t[0] and t[-1] <= 10.0
    assert np.max(np.diff(np.concatenate([[0.0], t, [10.0]]))) < 4 * 10.0 / 256  # no gaps


def lotka_model():
    return PopulationModel(mortality=lambda a, xp: MU + 0.0 * a, cumulative_hazard=lambda a, xp: MU * a,
                           fertility=lambda a, t, xp: lotka_beta(a, t, xp),
                           initial=lambda a, xp: np.exp(-(LAM + MU) * a), ages=(0.0, A), years=(0.0, 10.0),
                           fertile=(0.0, A))


def test_characteristics_converge_at_order_two_to_the_closed_form():
    errors = []
    for h in (1.0, 0.5, 0.25, 0.125):
        a, t, p = characteristics(lotka_model(), h)
        exact = np.exp(LAM * t[None, :] - (LAM + MU) * a[:, None])
        errors.append(np.max(np.abs(p - exact) / exact))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-4
    assert np.all((orders > 1.9) & (orders < 2.1)), orders


@pytest.mark.parametrize("name", ["population-tao2025", "population-china2024"])
def test_reference_is_second_order_and_converged(name):
    from fieldlab.problems.population import MODELS

    model = MODELS[name][0]("three-child")
    totals, births = [], []
    for h in (1 / 4, 1 / 8, 1 / 16, 1 / 32):
        ind = indicators(model, *characteristics(model, h))
        totals.append(ind["total"][-1])
        births.append(ind["births"][-1])
    for q in (totals, births):
        d = np.abs(np.diff(q))
        assert 3.0 < d[0] / d[1] < 5.0 and 3.0 < d[1] / d[2] < 5.0  # self-convergence ratio 4: order 2
        assert d[-1] / abs(q[-1]) < 5e-5  # the stored reference (h = 1/16) moves by < 5e-5 when h halves

@pytest.mark.parametrize("name, tol", [("population-tao2025", 5e-5), ("population-china2024", 1e-6)])
def test_reference_field_is_converged_pointwise(name, tol):
    """The field itself, on the evaluation grid (integer ages, every year), moves by less than ``tol``
    (relative L2) when h halves from the stored 1/16: far below the errors the results report (1e-3)."""
    from fieldlab.problems.population import MODELS, REFERENCE_H

    for policy in ("three-child", "separate-two-child"):
        model = MODELS[name][0](policy)
        a1, _, p1 = characteristics(model, REFERENCE_H, corner="average", every=1.0)
        a2, _, p2 = characteristics(model, REFERENCE_H / 2, corner="average", every=1.0)
        k1, k2 = np.isclose(a1 % 1.0, 0.0), np.isclose(a2 % 1.0, 0.0)
        assert k1.sum() == k2.sum() == 101
        change = np.linalg.norm(p2[k2] - p1[k1]) / np.linalg.norm(p2[k2])
        assert 0 < change < tol


def test_tao2025_plain_corner_is_first_order_and_average_is_not():
    from fieldlab.problems.population import tao2025_model

    model = tao2025_model("universal-two-child")
    fine = indicators(model, *characteristics(model, 1 / 64))["total"][-1]
    err = {c: [abs(indicators(model, *characteristics(model, h, corner=c))["total"][-1] - fine)
               for h in (1 / 4, 1 / 8)] for c in ("initial", "average")}
    assert err["average"][0] / err["average"][1] > 3.5
    assert err["initial"][1] > 3 * err["average"][1]


def test_population_problems_with_policy_options():
    assert {"population-tao2025", "population-china2024"} <= set(problems.available())
    assert problems.options_of("population-china2024")["policy"][0] == "three-child"
    pb = problems.get("population-china2024:policy=separate-two-child")
    assert pb.name == "population-china2024:policy=separate-two-child" and pb.fields == ("p",)
    assert isinstance(pb.conditions["births"], Nonlocal) and pb.exact == ()  # the initial condition is trained
    assert problems.label("population-china2024:policy=separate-two-child") == "population-china2024-policy-separate-two-child"
    with pytest.raises(FieldlabError, match="is not one of"):
        problems.get("population-china2024:policy=one-child")
    with pytest.raises(FieldlabError, match="unknown option"):
        problems.defaults("population-tao2025:fertility=high")
    # the paper's two two-child policies are the same problem (the cap never binds), three-child is not
    ref = {p: problems.get(f"population-tao2025:policy={p}").reference().values for p in problems.options_of("population-tao2025")["policy"]}
    assert np.array_equal(ref["universal-two-child"], ref["separate-two-child"])
    assert not np.allclose(ref["three-child"], ref["separate-two-child"])


def test_initial_condition_hard_or_soft():
    """``initial=soft`` (default): no transform, the initial condition is a trained loss term;
    ``initial=hard``: p = p0(a)/scale + ((t - 2024)/30) N, exact at 2024 for any N; the name records it."""
    from fieldlab.problems.population import CHINA_SCALE, _china_p0

    hard = problems.get("population-china2024:policy=universal-two-child:initial=hard")
    soft = problems.get("population-china2024")
    assert hard.name == "population-china2024:policy=universal-two-child:initial=hard" and hard.exact == ("initial",)
    assert soft.transform is None and soft.exact == () and isinstance(soft.conditions["initial"], fieldlab.Initial)
    p0 = float(_china_p0(37.0, np)) / CHINA_SCALE
    assert float(hard.transform(jnp.array([37.0, 2024.0]), jnp.array([5.0]))[0]) == pytest.approx(p0, rel=1e-6)
    assert float(hard.transform(jnp.array([37.0, 2039.0]), jnp.array([5.0]))[0]) == pytest.approx(p0 + 2.5, rel=1e-6)
    assert problems.defaults("population-china2024:initial=hard")["recipe"] == problems.defaults("population-china2024")["recipe"]


def test_population_reference_numbers():
    """China 2024 totals (NBS end-2024) and the research note's reference values."""
    from fieldlab.problems.population import china2024_model, china_tfr0, reference_solution

    assert china_tfr0() == pytest.approx(0.9782, abs=1e-4)
    ind = indicators(china2024_model("three-child"), *reference_solution("population-china2024", "three-child"))
    assert ind["total"][0] / 1e6 == pytest.approx(1408.28, abs=0.1)
    assert ind["births"][0] == pytest.approx(china2024_model().initial(0.0, np), rel=1e-6)
    assert ind["total"][-1] / 1e6 == pytest.approx(1175.4, abs=0.1)
    assert ind["births"][10] / 1e6 == pytest.approx(10.01, abs=0.01)


def test_population_residuals_vanish_on_the_reference_transport():
    """The PDE residual of the built-in (scaled by the horizon) is zero on an exact characteristic solution."""
    from fieldlab.problems.population import china2024_model

    pb = problems.get("population-china2024")
    model = china2024_model()

    def along(z):  # ages above t - 2024: the initial cohort, surviving exactly
        a, t = z
        a0 = a - (t - 2024.0)
        return (model.initial(a0, jnp) * jnp.exp(-(model.cumulative_hazard(a, jnp) - model.cumulative_hazard(a0, jnp))) / 1e7)[None]

    z = jnp.array([[40.0, 2030.0], [70.0, 2050.0], [90.0, 2025.0]])
    r = jax.vmap(lambda zz: pb.equations["pde"](pb.fields_at(along, zz), pb.params))(z)
    assert np.max(np.abs(np.asarray(r))) < 1e-3


class _ExactRun:
    """Stands in for a trained run: predicts the reference (linear interpolation of its h = 1/16 grid)."""

    def __init__(self, name):
        from types import SimpleNamespace

        from fieldlab.problems.population import MODELS, reference_solution

        base, _, policy = name.partition(":policy=")
        self.config = SimpleNamespace(problem=name)
        self.problem = problems.get(name)
        self._ages, self._years, p = reference_solution(base, policy or "three-child")
        self._p = p / MODELS[base][1]

    def predict(self, z):
        from scipy.interpolate import RegularGridInterpolator

        return RegularGridInterpolator((self._ages, self._years), self._p)(z)[:, None]


@pytest.mark.parametrize("name", ["population-china2024:policy=universal-two-child", "population-tao2025"])
def test_demography_of_a_run_that_predicts_the_reference(name):
    from fieldlab import demography

    run = _ExactRun(name)
    e = demography.errors(demography.from_run(run), demography.from_reference(name))
    assert e["year"][0] == 2024 and e["year"][-1] == 2054 and len(e["year"]) == 31
    # the same grid and rule as the reference: the indicators agree to rounding
    assert e["total"].max() < 1e-12 and e["births"].max() < 1e-12 and e["oadr"].max() < 1e-10
    wrong = demography.from_run(run)
    wrong["total"] = wrong["total"] * 1.01
    assert demography.errors(wrong, demography.from_reference(name))["total"].min() == pytest.approx(0.01, rel=1e-3)


def test_demography_command_writes_table_and_figures(tmp_path):
    import csv

    from typer.testing import CliRunner

    from fieldlab.cli import app

    res = CliRunner().invoke(app, ["demography", "population-tao2025", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "demography.csv").open()))
    assert len(rows) == 3 * 31 and {r["scenario"] for r in rows} == {
        "tao2025-three-child", "tao2025-universal-two-child", "tao2025-separate-two-child"}
    last = {r["scenario"]: r for r in rows if r["year"] == "2054"}
    assert float(last["tao2025-three-child"]["total_persons"]) / 1e6 == pytest.approx(527.49, abs=0.05)
    assert float(last["tao2025-universal-two-child"]["births_per_year"]) / 1e6 == pytest.approx(8.257, abs=0.005)
    assert (tmp_path / "trajectories.png").stat().st_size > 10_000
    assert (tmp_path / "pyramids-tao2025-three-child.png").stat().st_size > 10_000
    res = CliRunner().invoke(app, ["demography", "burgers", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "not a population problem" in res.output


@pytest.mark.slow
def test_nonlocal_condition_trains_to_the_closed_form():
    """A small PINN with the initial and the birth condition (soft) finds the stable population."""
    pb = fieldlab.Problem(
        name="lotka-train", coords=("a", "t"), fields=("p",), domain=Interval(0.0, A) * TimeInterval(0.0, 10.0),
        equations={"pde": lambda F, p: 10.0 * (F.d("p", "t") + F.d("p", "a") + MU * F.p)},
        conditions={"births": Nonlocal("p", over="a", at=0.0, kernel=lambda a, t: lotka_beta(a, t), nodes=32),
                    "initial": fieldlab.Initial("p", lambda a, t: jnp.exp(-(LAM + MU) * a))})
    run = fieldlab.train(pb, "mlp", {"sampling": {"interior": 1000, "boundary": 64, "initial": 64},
                                     "stages": [{"optimizer": "adam", "steps": 1000, "lr": 3e-3},
                                                {"optimizer": "lbfgs", "steps": 1000}]},
                         progress=False, width=24, depth=3)
    z = np.stack(np.meshgrid(np.linspace(0, A, 26), np.linspace(0, 10, 11), indexing="ij"), -1).reshape(-1, 2)
    exact = np.exp(LAM * z[:, 1] - (LAM + MU) * z[:, 0])
    assert np.linalg.norm(run.predict(z)[:, 0] - exact) / np.linalg.norm(exact) < 1e-2
    # the newborns follow exp(LAM t): without the birth condition p(0, t) would be free
    assert run.predict([[0.0, 10.0]])[0, 0] == pytest.approx(np.exp(LAM * 10), rel=1e-2)


def test_demography_tells_apart_two_runs_of_one_scenario():
    from fieldlab.demography import _unique

    labels = ["china2024-three-child", "china2024-three-child", "tao2025-three-child", "tao2025-three-child"]
    assert _unique(labels, ["mlp-run", "lstm-run", "", ""]) == [
        "china2024-three-child-mlp-run", "china2024-three-child-lstm-run", "tao2025-three-child", "tao2025-three-child-2"]
    assert _unique(["a", "b"], ["r1", "r2"]) == ["a", "b"]  # a label used once keeps its short form


@pytest.mark.parametrize("name", ["population-tao2025", "population-china2024:policy=separate-two-child"])
def test_population_metrics_report_the_demographic_errors(name):
    from jax.scipy.interpolate import RegularGridInterpolator

    from fieldlab.problems.population import MODELS, reference_solution

    base, _, policy = name.partition(":policy=")
    ages, years, p = reference_solution(base, policy or "three-child")
    interp = RegularGridInterpolator((jnp.asarray(ages), jnp.asarray(years)), jnp.asarray(p / MODELS[base][1]))
    pb = problems.get(name)
    exact = pb.extra_metrics(lambda z: interp(z[None])[0][None], jnp.float32)
    assert exact["max_total_rel_error"] < 1e-5 and exact["max_births_rel_error"] < 1e-5
    assert exact["max_oadr_error_points"] < 1e-4
    off = pb.extra_metrics(lambda z: 1.01 * interp(z[None])[0][None], jnp.float32)
    assert off["max_total_rel_error"] == pytest.approx(0.01, rel=1e-3)
    assert off["max_births_rel_error"] == pytest.approx(0.01, rel=1e-3)
    assert off["max_oadr_error_points"] < 1e-4  # a ratio: a uniform factor leaves it
    assert ("rel_l2_p_off_jump" in off) == (base == "population-tao2025")
    if "rel_l2_p_off_jump" in off:
        assert exact["rel_l2_p_off_jump"] < 1e-6 and off["rel_l2_p_off_jump"] == pytest.approx(0.01, rel=1e-3)
