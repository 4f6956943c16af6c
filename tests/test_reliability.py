"""Reliability: no silently wrong result, every bad input and damaged file one sentence, every crash resumable.

One tiny heat1d run (module fixture) is shared; each case that must be refused checks the exit code,
a single sentence without a traceback, and that no file already on disk changed.
"""

import errno
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import fieldlab
from fieldlab import problems
from fieldlab.cli import app
from fieldlab.config import resolve
from fieldlab.errors import FieldlabError
from fieldlab.training import checkpoint
from fieldlab.training.trainer import Interrupted

runner = CliRunner()

TINY = """
[model]
name = "mlp"
width = 8
depth = 2

[recipe]
chunk = 10
eval_every = 20

[recipe.sampling]
interior = 64
boundary = 16
initial = 16

[[recipe.stages]]
optimizer = "adam"
steps = 30
lr = 0.005
"""

TINY_RECIPE = {"sampling": {"interior": 64, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 20,
               "stages": [{"optimizer": "adam", "steps": 30, "lr": 5e-3}]}


def _config(recipe=TINY_RECIPE, problem="heat1d"):
    return resolve(problems.defaults(problem), {"model": {"name": "mlp", "width": 8, "depth": 2}, "recipe": recipe})


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_sentence(result, code=2):
    """The output of a refused command: the exit code, no traceback, a single sentence."""
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), text
    message = " ".join(text.split())
    if message.startswith("Usage:"):  # an option outside its declared range: the command line parser's one line
        body = message.split("Error ─")[1].strip("─╮╰╯│ ")
        assert body.startswith("Invalid value") and "│" not in body, text
        return body
    assert message.count("error:") == 1, text
    lead, _, body = message.partition("error:")
    assert lead == "" or lead.startswith("solving "), text  # at most the start line of solve before it
    body = body.strip()
    assert body.endswith(".") and len(body) < 400, text
    # one sentence: no full stop followed by a capital or a new clause inside it (file names and numbers aside)
    inner = body[:-1]
    assert ". " not in inner.replace("e.g. ", ""), text
    return body


def _hashes(*dirs):
    out = {}
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    (root / "tiny.toml").write_text(TINY)
    out = root / "run"
    result = _invoke("solve", "heat1d", "--config", root / "tiny.toml", "--out", out, "--quiet", "--seed", "2")
    assert result.exit_code == 0, result.output
    np.save(root / "good.npy", np.array([[0.5, 0.5], [0.25, 0.1]]))
    return root, out


@pytest.fixture
def copy_run(run_dir, tmp_path):
    """A private copy of the shared run, for cases that damage files."""
    import shutil

    root, out = run_dir
    dst = tmp_path / "run"
    shutil.copytree(out, dst)
    return root, dst


# -- 1a: eval refuses points it cannot predict at faithfully ----------------------------------------
@pytest.mark.parametrize("points, fragment", [
    (np.array([[0.5, 1e39]]), "largest float32"),
    (np.array([[0.5 + 1j, 0.5]]), "dtype complex"),
    (np.array([[True, False]]), "dtype bool"),
    (np.array([["0.5", "0.5"]]), "dtype <U3"),
    (np.array([[0.5, 2.0]]), "outside the domain"),
    (np.array([[-0.5, 0.5]]), "outside the domain"),
    (np.zeros((0, 2)), "n >= 1"),
])
def test_eval_refuses_points(run_dir, tmp_path, points, fragment):
    root, out = run_dir
    np.save(tmp_path / "p.npy", points)
    before = _hashes(out)
    body = _one_sentence(_invoke("eval", out, "--points", tmp_path / "p.npy", "--out", tmp_path / "pred.npy"))
    assert fragment in body
    assert not (tmp_path / "pred.npy").exists()
    assert _hashes(out) == before


def test_eval_outside_allowed_on_request_and_inside_matches_api(run_dir, tmp_path):
    root, out = run_dir
    np.save(tmp_path / "p.npy", np.array([[0.5, 2.0], [0.5, 0.5]]))
    result = _invoke("eval", out, "--points", tmp_path / "p.npy", "--out", tmp_path / "pred.npy", "--allow-outside")
    assert result.exit_code == 0, result.output
    pred = np.load(tmp_path / "pred.npy")
    run = fieldlab.load_run(out)
    np.testing.assert_allclose(pred[1:], run.predict(np.array([[0.5, 0.5]])), rtol=1e-6)  # batch size may change the last ulp
    with pytest.raises(FieldlabError, match="outside the domain"):
        run.predict(np.array([[0.5, 2.0]]))
    # the domain edge itself (and float noise on it) is inside
    assert run.predict(np.array([[1.0 + 1e-9, 1.0], [0.0, 0.0]])).shape == (2, 1)


# -- 1b: bench refuses learning rates that are not > 0 and duplicate grid entries --------------------
@pytest.mark.parametrize("args, fragment", [
    (["--lrs", "-1e-2"], "finite number > 0; got -0.01"),
    (["--lrs", "0"], "finite number > 0; got 0"),
    (["--lrs", "1e-3,inf"], "finite number > 0; got inf"),
    (["--lrs", "nan"], "finite number > 0; got nan"),
    (["--lrs", "1e-3,0.001"], "more than once"),
    (["--problems", "heat1d,heat1d"], "--problems lists heat1d more than once"),
    (["--models", "mlp,resnet,mlp"], "--models lists mlp more than once"),
])
def test_bench_refuses_bad_grids(tmp_path, args, fragment):
    base = {"--problems": "heat1d", "--models": "mlp"}
    extra = []
    for k, v in zip(args[::2], args[1::2]):
        if k in base:
            base[k] = v
        else:
            extra += [k, v]
    result = _invoke("bench", *[x for kv in base.items() for x in kv], *extra, "--steps", "10", "--out", tmp_path / "b")
    assert fragment in _one_sentence(result)
    assert not (tmp_path / "b").exists()


def _refused_without_change(command, root, out, tmp_path, fragment):
    """``eval`` or ``resume`` of the damaged run ``out`` is refused in one sentence and changes nothing."""
    before = _hashes(out)
    if command == "eval":
        result = _invoke("eval", out, "--points", root / "good.npy", "--out", tmp_path / "pred.npy")
    else:
        result = _invoke("resume", out, "--quiet")
    assert fragment in _one_sentence(result)
    assert _hashes(out) == before



# -- 1c: the manifest covers config.toml, problem.json and the checkpoint metadata -------------------
@pytest.mark.parametrize("name, edit, fragment", [
    ("config.toml", lambda t: t.replace('problem = "heat1d"', 'problem = "burgers"'), "config.toml was changed"),
    ("config.toml", lambda t: t.replace("width = 8", "width = 9"), "config.toml was changed"),
    ("checkpoint.json", lambda t: t.replace('"step": 30', '"step": 20'), "checkpoint.json was changed"),
    ("problem.json", lambda t: t.replace("heat1d", "heat2d"), "problem.json was changed"),
])
@pytest.mark.parametrize("command", ["eval", "resume"])

def test_edited_run_files_are_refused(copy_run, tmp_path, name, edit, fragment, command):
    root, out = copy_run
    text = (out / name).read_text()
    assert edit(text) != text
    (out / name).write_text(edit(text))
    _refused_without_change(command, root, out, tmp_path, fragment)


# -- 1d: checkpoint and history are committed together ----------------------------------------------
def test_history_commits_with_the_checkpoint(run_dir, tmp_path):
    from fieldlab.run import _load_config

    root, full = run_dir
    cfg = _load_config(full)
    _, full_meta = checkpoint.load(full)
    with pytest.raises(Interrupted):
        fieldlab.solve(cfg, tmp_path / "cut", progress=False, stop_after=20)
    cut = tmp_path / "cut"
    # a kill after history.csv was replaced but before the checkpoint was: a longer, newer history on disk
    rows = checkpoint.read_history(cut / "history.csv")
    assert len(rows) == 2
    bogus = rows + [{**rows[-1], "step": 25.0, "loss": 123.0}]
    (cut / "history.csv").write_text(checkpoint.history_csv(bogus))
    resumed = fieldlab.resume(cut, progress=False)
    assert [r["step"] for r in resumed.history] == [r["step"] for r in full_meta["history"]] == [10.0, 20.0, 30.0]
    final = full_meta["history"][-1]["loss"]
    assert resumed.metrics["final_loss"] == final == json.loads((full / "metrics.json").read_text())["final_loss"]
    assert checkpoint.read_history(cut / "history.csv")[-1]["loss"] == final


# -- 2: a run remembers its problem's fingerprint (issue 19) ---------------------------------------
def _user_poisson(length=2.0, k=1.0, param=1.0):
    from fieldlab.geometry import Interval

    return fieldlab.Problem(
        name="poisson1d", coords=("x",), fields=("u",), domain=Interval(0.0, length),
        equations={"pde": lambda F, p: -F.d("u", "x", "x") - p["a"] * k * jnp.sin(jnp.pi * F.x)},
        conditions={"boundary": fieldlab.Dirichlet("u", 0.0)}, params={"a": param},
    )


def test_user_problem_sharing_a_builtin_name_is_not_reloaded_as_the_builtin(tmp_path):
    pb = _user_poisson()
    recipe = {"sampling": {"interior": 64, "boundary": 2}, "chunk": 20,
              "stages": [{"optimizer": "adam", "steps": 40, "lr": 1e-2}]}
    run = fieldlab.train(pb, "mlp", recipe, out=tmp_path / "r", progress=False, width=8, depth=2)
    pts = np.array([[0.25], [0.5], [1.5]])
    trained = run.predict(pts)
    with pytest.raises(FieldlabError, match=r"different problem than the built-in problem 'poisson1d' "
                                            r"\(its domain, equations, hard constraints, parameters differ\); pass the problem"):
        fieldlab.load_run(tmp_path / "r")
    np.testing.assert_array_equal(fieldlab.load_run(tmp_path / "r", problem=_user_poisson()).predict(pts), trained)
    for other, part in ((_user_poisson(length=3.0), "domain"), (_user_poisson(k=2.0), "equations"),
                        (_user_poisson(param=0.5), "parameters")):
        with pytest.raises(FieldlabError, match=rf"than the problem passed \(its {part} differ\)"):
            fieldlab.load_run(tmp_path / "r", problem=other)
        with pytest.raises(FieldlabError, match=rf"\(its {part} differ\)"):
            fieldlab.resume(tmp_path / "r", problem=other, progress=False)
    np.save(tmp_path / "p.npy", pts)
    body = _one_sentence(_invoke("eval", tmp_path / "r", "--points", tmp_path / "p.npy", "--out", tmp_path / "o.npy"))
    assert "built-in problem 'poisson1d'" in body and not (tmp_path / "o.npy").exists()


def test_fingerprint_is_stable_and_sensitive():
    from fieldlab.problem import fingerprint

    for name in problems.available():
        assert fingerprint(problems.get(name)) == fingerprint(problems.get(name)), name
    a, b = fingerprint(problems.get("heat1d")), fingerprint(problems.get("burgers"))
    assert a["equations"] != b["equations"] and a["domain"] != b["domain"]
    pb = problems.get("reaction-inverse")
    import dataclasses

    data = pb.conditions["data"]
    moved = fieldlab.Data(data.points, data.values + 1e-6, fields=data.fields)
    changed = dataclasses.replace(pb, conditions={**pb.conditions, "data": moved})
    assert fingerprint(changed)["conditions"] != fingerprint(pb)["conditions"]


# -- 3: Data never silently picks a field (issue 24) -----------------------------------------------
def test_data_field_default():
    from fieldlab.geometry import Box

    pts = np.array([[0.5, 0.5], [0.2, 0.3]])

    def problem(fields, data):
        eqs = {f"eq_{f}": (lambda F, p, f=f: F.d(f, "x")) for f in fields}
        return fieldlab.Problem(name="p", coords=("x", "y"), fields=fields, domain=Box([0, 0], [1, 1]),
                                equations=eqs, conditions={"pin": data})

    with pytest.raises(FieldlabError, match=r"data condition 'pin' does not say which field it observes and the "
                                            r"problem has fields \('u', 'v', 'p'\); pass fields=\(\.\.\.\) to Data\."):
        problem(("u", "v", "p"), fieldlab.Data(pts, np.zeros(2)))
    single = fieldlab.Data(pts, np.array([1.0, 2.0]))
    assert single.fields is None and single.values.shape == (2, 1)
    pb = problem(("u",), single)  # one field: that field
    pinned = problem(("u", "v", "p"), fieldlab.Data(pts, np.zeros(2), fields="p"))
    assert pinned.conditions["pin"].fields == ("p",)
    with pytest.raises(FieldlabError, match=r"expected \(n, d\) and \(n, 1\) for the problem's one field"):
        fieldlab.Data(pts, np.zeros((2, 2)))
    # the residual of a default Data is that of the problem's one field
    import jax

    at = lambda z: pb.fields_at(lambda q: jnp.array([q[0] + 10 * q[1]]), z)
    item = {"z": jnp.asarray(pts[0]), "target": jnp.asarray([1.0])}
    assert float(single.residual(at, item, {})[0]) == pytest.approx(0.5 + 5.0 - 1.0)
    assert jax is not None


# -- 5: the fuzz table: every bad input and damaged file is one sentence, and nothing on disk changes -
def _toml(extra):
    return TINY + "\n" + extra


BAD_SOLVE = [
    # (command line after "solve heat1d --config C", config text, expected fragment)
    (["--seed", "-1"], TINY, "--seed must be an integer from 0 to 4294967295; got -1"),
    (["--seed", str(2**32)], TINY, "got 4294967296"),
    (["--time", "inf"], TINY, "'recipe.time' must be a finite number"),
    (["--time", "nan"], TINY, "Invalid value for '--time'"),
    ([], TINY.replace("width = 8", "width = 'wide'"), "'model.width' must be a whole number >= 1; got 'wide'"),
    ([], TINY.replace("depth = 2", "depth = 2.5"), "'model.depth' must be a whole number >= 1; got 2.5"),
    ([], TINY.replace("width = 8", "width = 0"), "'model.width' must be a whole number >= 1; got 0"),
    ([], TINY.replace("depth = 2", "depth = -1"), "'model.depth' must be a whole number >= 1; got -1"),
    ([], TINY.replace("depth = 2", "depth = true"), "'model.depth' must be a whole number"),
    ([], TINY.replace("[recipe]\n", "[recipe]\nseed = -5\n"), "'recipe.seed' must be an integer from 0"),
    ([], _toml("[recipe.weights]\npdee = 100"), "names ['pdee'], which are not loss terms of problem 'heat1d'; its terms are pde, "),
    ([], _toml("[recipe.weights]\npde = -1"), "'recipe.weights.pde' must be a finite number >= 0"),
    ([], TINY.replace("steps = 30", "steps = 0"), "every stage of the recipe has 0 steps"),
    ([], TINY.replace("lr = 0.005", "lr = inf"), "'recipe.stages.0.lr' must be a finite number"),
    ([], TINY.replace("interior = 64", "interior = 10000000000"), "lower the counts in [recipe.sampling]"),
    ([], b"[model]\nname = \"mlp\xff\"\n", "is not valid UTF-8 text"),
]


@pytest.mark.parametrize("args, text, fragment", BAD_SOLVE, ids=[f"solve{i}" for i in range(len(BAD_SOLVE))])
def test_fuzz_solve(tmp_path, args, text, fragment):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = _hashes(tmp_path)
    body = _one_sentence(_invoke("solve", "heat1d", "--config", cfg, "--quiet", *args, "--out", tmp_path / "o"))
    assert fragment in body
    assert _hashes(tmp_path) == before and not (tmp_path / "o").exists()


def _out_file(tmp):
    (tmp / "o").write_text("mine")


def _out_foreign_dir(tmp):
    (tmp / "o").mkdir()
    (tmp / "o" / "notes.txt").write_text("my notes")


def _out_under_file(tmp):
    (tmp / "f").write_text("mine")


@pytest.mark.parametrize("setup, out, fragment", [
    (_out_file, "o", "is a file, not a directory"),
    (_out_foreign_dir, "o", "is a directory with other files in it (such as notes.txt)"),
    (_out_under_file, "f/sub/o", "which is a file"),
])
def test_fuzz_solve_out(tmp_path, setup, out, fragment):
    (tmp_path / "c.toml").write_text(TINY)
    setup(tmp_path)
    before = _hashes(tmp_path)
    body = _one_sentence(_invoke("solve", "heat1d", "--config", tmp_path / "c.toml", "--quiet", "--out", tmp_path / out))
    assert fragment in body
    assert _hashes(tmp_path) == before


def _npy(arr):
    def write(path):
        np.save(path, arr)
    return write


def _raw(data):
    def write(path):
        path.write_bytes(data)
    return write


def _npz(path):
    with open(path, "wb") as f:
        np.savez(f, a=np.zeros((2, 2)))


BAD_EVAL = [
    (_npy(np.array([[0.5, 1e39]])), [], "largest float32"),
    (_npy(np.array([["0.5", "0.5"]])), [], "must be real numbers"),
    (_npy(np.array([[1 + 2j, 0.5]])), [], "must be real numbers"),
    (_npy(np.array([[True, True]])), [], "must be real numbers"),
    (_npy(np.zeros((3, 3))), [], "shape (n, 2)"),
    (_npy(np.array([0.5, 0.5])), [], "shape (n, 2)"),
    (_npy(np.array([[0.5, np.inf]])), [], "NaN or infinite"),
    (_npy(np.array([[0.5, 5.0]])), [], "outside the domain"),
    (_raw(b""), [], "is empty"),
    (_raw(b"\x93NUMPY garbage"), [], "not a readable .npy array"),
    (_npz, [], "is an .npz archive"),
    (_npy(np.array([[0.5, 0.5]])), ["--out", "RUN/config.toml"], "must end in .npy, .csv, .nc"),
    (_npy(np.array([[0.5, 0.5]])), ["--out", "RUN/pred.npy"], "lies in the run directory"),
    (_npy(np.array([[0.5, 0.5]])), ["--out", "TMP"], "is a directory"),
]


@pytest.mark.parametrize("write, args, fragment", BAD_EVAL, ids=[f"eval{i}" for i in range(len(BAD_EVAL))])
def test_fuzz_eval(run_dir, tmp_path, write, args, fragment):
    root, out = run_dir
    write(tmp_path / "p.npy")
    args = [str(a).replace("RUN", str(out)).replace("TMP", str(tmp_path)) for a in args] or ["--out", tmp_path / "pred.npy"]
    before = _hashes(out, tmp_path)
    assert fragment in _one_sentence(_invoke("eval", out, "--points", tmp_path / "p.npy", *args))
    assert _hashes(out, tmp_path) == before


def _flip_utf8(path):
    data = path.read_bytes()
    path.write_bytes(data[:5] + b"\xff\xfe" + data[5:])


def _truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _delete(path):
    path.unlink()


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))


def _edit_json(key, value):
    def edit(path):
        meta = json.loads(path.read_text())
        meta[key] = value
        path.write_text(json.dumps(meta))
    return edit


CORRUPT = [
    ("checkpoint.json", _flip_utf8, "not valid UTF-8"),
    ("checkpoint.json", _truncate, "not valid JSON"),
    ("checkpoint.json", _delete, "checkpoint.json is missing"),
    ("checkpoint.json", _edit_json("step", 7), "checkpoint.json was changed"),
    ("checkpoint.json", _edit_json("arrays", "../x.npz"), "checkpoint.json was changed"),
    ("checkpoint.json", lambda p: p.write_text("[1, 2]"), "lacks checkpoint fields"),
    ("config.toml", _flip_utf8, "config.toml was changed"),
    ("config.toml", _delete, "no config.toml"),
    ("problem.json", _delete, "problem.json is missing"),
    ("problem.json", _flip_byte, "problem.json was changed"),
    ("checkpoint-30.npz", _flip_byte, "fails its checksum"),
    ("checkpoint-30.npz", _delete, "cannot be read"),
]


@pytest.mark.parametrize("name, damage, fragment", CORRUPT, ids=[f"corrupt{i}" for i in range(len(CORRUPT))])
@pytest.mark.parametrize("command", ["eval", "resume"])
def test_fuzz_corrupt_run_files(copy_run, tmp_path, name, damage, fragment, command):
    root, out = copy_run
    damage(out / name)
    _refused_without_change(command, root, out, tmp_path, fragment)
    assert not (tmp_path / "pred.npy").exists()


@pytest.mark.parametrize("name", ["metrics.json", "history.csv"])
@pytest.mark.parametrize("damage", [_flip_utf8, _truncate, _delete])
def test_eval_does_not_need_metrics_or_history(copy_run, tmp_path, name, damage):
    root, out = copy_run
    damage(out / name)
    result = _invoke("eval", out, "--points", root / "good.npy", "--out", tmp_path / "pred.npy")
    assert result.exit_code == 0, result.output
    if name == "metrics.json" and damage is not _delete:
        assert "warning: " in result.output and "metrics.json is damaged" in result.output
    ref = np.load(tmp_path / "pred.npy")
    shared = run_dir_prediction(root)
    np.testing.assert_array_equal(ref, shared)


def run_dir_prediction(root):
    return np.asarray(fieldlab.load_run(root / "run").predict(np.load(root / "good.npy")))


BAD_OTHER = [
    (["bench", "--problems", "heat1d", "--models", "mlp", "--lrs", "-1e-2", "--steps", "10"], "finite number > 0"),
    (["bench", "--problems", "heat1d", "--models", "mlp", "--time", "inf"], "--time must be a finite number"),
    (["simulate", "--case", "case_a", "--seed", "-1", "--out", "TMP/x.npz"], "--seed must be an integer from 0"),
    (["simulate", "--case", "nosuch", "--out", "TMP/x.npz"], "unknown case 'nosuch'"),
    (["simulate", "--case", "case_a", "--runs", "0", "--out", "TMP/x.npz"], "1 to 4 runs"),
    (["simulate", "--case", "case_a", "--out", "TMP/x.txt"], "unknown data format"),
    (["discover", "--case", "case_a", "--bc", "bogus", "--out", "TMP/d"], "unknown boundary condition --bc bogus"),
    (["discover", "TMP/nothere.npz", "--bc", "bogus", "--out", "TMP/d"], "unknown boundary condition --bc bogus"),
    (["discover", "--case", "case_a", "--seed", str(2**40), "--out", "TMP/d"], "--seed must be an integer"),
    (["discover", "--case", "case_a", "--regime", "nosuch", "--out", "TMP/d"], "unknown regime 'nosuch'"),
    (["resume", "TMP/none"], "not a fieldlab run directory"),
]


@pytest.mark.parametrize("args, fragment", BAD_OTHER, ids=[f"other{i}" for i in range(len(BAD_OTHER))])
def test_fuzz_other_commands(tmp_path, args, fragment):
    (tmp_path / "keep.txt").write_text("mine")
    args = [a.replace("TMP", str(tmp_path)) for a in args]
    if args[0] == "bench":
        args += ["--out", str(tmp_path / "b")]
    before = _hashes(tmp_path)
    assert fragment in _one_sentence(_invoke(*args))
    assert _hashes(tmp_path) == before


def test_discover_bc_choices_match_the_solver():
    from fieldlab.discovery.solver import BCS

    result = _invoke("discover", "--case", "case_a", "--bc", "x")
    assert ", ".join(BCS) in result.output


def test_bench_where_every_cell_fails_exits_non_zero_with_the_message(tmp_path):
    result = _invoke("bench", "--problems", "heat1d", "--models", "mlp", "--budget", "1", "--steps", "10",
                     "--workers", "1", "--out", tmp_path / "b")
    assert result.exit_code == 2, result.output
    assert "error: a budget of 1 parameters is too small for model 'mlp'" in result.output
    assert "every bench run failed, for example heat1d__mlp__s0: a budget of 1" in " ".join(result.output.split())
    assert "Traceback" not in result.output


# -- 4: locks, a resumable start, failed writes -----------------------------------------------------
def test_lock_refuses_a_second_writer_and_a_stale_lock_is_taken_over(copy_run, tmp_path):
    root, out = copy_run
    before = _hashes(out)
    with checkpoint.RunLock(out):
        assert f"in use by another fieldlab process (pid {os.getpid()})" in _one_sentence(_invoke("resume", out, "--quiet"))
        with pytest.raises(FieldlabError, match="in use by another fieldlab process"):
            fieldlab.resume(out, progress=False)
    assert {k: v for k, v in _hashes(out).items() if not k.endswith(".lock")} == \
        {k: v for k, v in before.items() if not k.endswith(".lock")}
    with checkpoint.RunLock(tmp_path / "new"):
        result = _invoke("solve", "heat1d", "--config", root / "tiny.toml", "--quiet", "--out", tmp_path / "new")
        assert "in use by another fieldlab process" in _one_sentence(result)
    assert [p.name for p in (tmp_path / "new").iterdir()] == [".lock"]
    # a lock file left by a process that died, and its temporary file: taken over and removed
    (out / ".lock").write_text("999999999")
    (out / ".metrics.json.tmp999999999").write_text("half")
    result = _invoke("resume", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert not (out / ".metrics.json.tmp999999999").exists()


def test_crash_before_the_first_checkpoint_is_resumable(copy_run, tmp_path):
    root, out = copy_run
    reference, meta = checkpoint.load(root / "run")
    for p in list(out.iterdir()):
        if p.name not in ("config.toml", "problem.json"):
            p.unlink()  # what a crash after the run's start files and before its first checkpoint leaves
    assert "already holds a run; continue it with `fieldlab resume" in _one_sentence(
        _invoke("solve", "heat1d", "--config", root / "tiny.toml", "--out", out))
    result = _invoke("resume", out, "--quiet")
    assert result.exit_code == 0, result.output
    arrays, meta2 = checkpoint.load(out)
    assert meta2["step"] == meta["step"] == 30
    for a, b in zip(arrays["theta"], reference["theta"]):
        np.testing.assert_array_equal(a, b)
    clocks = ("time", "steps_per_s")
    assert json.dumps([{k: v for k, v in r.items() if k not in clocks} for r in meta2["history"]]) == \
        json.dumps([{k: v for k, v in r.items() if k not in clocks} for r in meta["history"]])  # NaN as text


def test_step_zero_checkpoint_is_written_before_training(tmp_path):
    with pytest.raises(Interrupted):
        fieldlab.solve(_config(), tmp_path / "r", progress=False, stop_after=0)
    arrays, meta = checkpoint.load(tmp_path / "r")
    assert meta["step"] == 0 and meta["history"] == [] and meta["files"].keys() == {"config.toml", "problem.json"}


@pytest.mark.parametrize("err, fragment", [
    (errno.ENOSPC, "no space left on the device; free some space"),
    (errno.EROFS, "Read-only file system; choose a writable location"),
])
def test_failed_writes_are_one_sentence_and_leave_no_temporary_files(tmp_path, monkeypatch, err, fragment):
    def fail(*args):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(FieldlabError, match=fragment):
        checkpoint.atomic_write_text(tmp_path / "a.txt", "x")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "c.toml").write_text(TINY)
    result = _invoke("solve", "heat1d", "--config", tmp_path / "c.toml", "--quiet", "--out", tmp_path / "o")
    assert fragment in _one_sentence(result)
    assert [p.name for p in (tmp_path / "o").iterdir()] == [".lock"]
    np.save(tmp_path / "p.npy", np.array([[0.5, 0.5]]))
    monkeypatch.undo()


# -- 5: kill -9 at several moments, then resume (or re-run): bitwise equal to an uninterrupted run ---
KILL_TOML = TINY.replace("steps = 30", "steps = 40") + """
[[recipe.stages]]
optimizer = "adam"
steps = 40
lr = 0.002
"""


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "fieldlab.cli", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def _step(d):
    try:
        return json.loads((d / "checkpoint.json").read_text())["step"]
    except (OSError, ValueError, KeyError):
        return -1


@pytest.mark.slow
def test_kill_9_at_any_moment_then_resume_is_bitwise(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(KILL_TOML)
    full = tmp_path / "full"
    assert _cli("solve", "heat1d", "--config", cfg, "--out", full, "--quiet").wait(timeout=300) == 0
    reference, ref_meta = checkpoint.load(full)
    triggers = {
        "immediately": lambda d: True,
        "at its start files": lambda d: (d / "config.toml").exists(),
        "at step 0": lambda d: _step(d) >= 0,
        "after stage 1": lambda d: _step(d) >= 40,
    }
    for name, ready in triggers.items():
        d = tmp_path / name.replace(" ", "-")
        proc = _cli("solve", "heat1d", "--config", cfg, "--out", d, "--quiet")
        t0 = time.perf_counter()
        while not ready(d) and proc.poll() is None and time.perf_counter() - t0 < 120:
            time.sleep(0.002)
        proc.kill()
        proc.wait()
        if (d / "config.toml").exists():
            again = _cli("resume", d, "--quiet")
        else:
            again = _cli("solve", "heat1d", "--config", cfg, "--out", d, "--quiet")
        _, stderr = again.communicate(timeout=300)
        assert again.returncode == 0, (name, stderr)
        arrays, meta = checkpoint.load(d)
        assert meta["step"] == 80, name
        assert [r["loss"] for r in meta["history"]] == [r["loss"] for r in ref_meta["history"]], name
        for a, b in zip(arrays["theta"], reference["theta"]):
            np.testing.assert_array_equal(a, b, err_msg=name)
        assert json.loads((d / "metrics.json").read_text())["final_loss"] == ref_meta["history"][-1]["loss"]
    # killed during its resume, then resumed again
    d = tmp_path / "during-resume"
    proc = _cli("solve", "heat1d", "--config", cfg, "--out", d, "--quiet")
    while _step(d) < 0 and proc.poll() is None:
        time.sleep(0.002)
    proc.kill()
    proc.wait()
    proc = _cli("resume", d, "--quiet")
    t0 = time.perf_counter()
    while _step(d) < 40 and proc.poll() is None and time.perf_counter() - t0 < 120:
        time.sleep(0.002)
    proc.kill()
    proc.wait()
    again = _cli("resume", d, "--quiet")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    arrays, meta = checkpoint.load(d)
    for a, b in zip(arrays["theta"], reference["theta"]):
        np.testing.assert_array_equal(a, b, err_msg="during resume")


@pytest.mark.slow
def test_second_ctrl_c_during_compilation_exits_at_once_and_keeps_a_checkpoint(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY.replace('optimizer = "adam"\nsteps = 30', 'optimizer = "lbfgs"\nsteps = 600'))
    proc = _cli("solve", "heat1d", "--config", cfg, "--out", tmp_path / "r", "--quiet")
    t0 = time.perf_counter()
    while _step(tmp_path / "r") < 0 and time.perf_counter() - t0 < 120:
        time.sleep(0.01)
    time.sleep(1.0)  # compiling the L-BFGS chunk
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    t1 = time.perf_counter()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode in (-signal.SIGINT, 130), (proc.returncode, stderr)  # never a segfault
    assert "Traceback" not in stderr
    arrays, meta = checkpoint.load(tmp_path / "r")  # every checksum verified
    assert all(np.isfinite(a).all() for a in arrays["theta"])
    assert time.perf_counter() - t1 < 60


@pytest.mark.slow
def test_two_simultaneous_writers_one_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY)
    procs = [_cli("solve", "heat1d", "--config", cfg, "--out", tmp_path / "r", "--quiet") for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    refused = next(e for c, e in results if c == 2)
    assert "in use by another fieldlab process" in refused or "already holds a run" in refused
    run = fieldlab.load_run(tmp_path / "r")  # one consistent run: every checksum matches
    assert run.predict(np.array([[0.5, 0.5]])).shape == (1, 1)


def test_a_run_of_a_problem_that_is_not_built_in_says_how_to_load_it(tmp_path):
    import dataclasses

    pb = dataclasses.replace(_user_poisson(), name="my-poisson")
    recipe = {"sampling": {"interior": 32, "boundary": 2}, "chunk": 10, "stages": [{"optimizer": "adam", "steps": 10}]}
    run = fieldlab.train(pb, "mlp", recipe, out=tmp_path / "r", progress=False, width=4, depth=1)
    np.save(tmp_path / "p.npy", np.array([[0.5]]))
    body = _one_sentence(_invoke("eval", tmp_path / "r", "--points", tmp_path / "p.npy", "--out", tmp_path / "o.npy"))
    assert "trained on problem 'my-poisson', which is not built in; load it from Python with load_run(" in body
    np.testing.assert_array_equal(fieldlab.load_run(tmp_path / "r", problem=pb).predict([[0.5]]), run.predict([[0.5]]))


def test_fingerprint_sees_set_constants_in_a_stable_order():
    from fieldlab.problem import _hash_of

    a = lambda F, p: p.get("k") in {"a", "b", "c", "d", "e", "f"}  # noqa: E731
    b = lambda F, p: p.get("k") in {"a", "b", "c", "d", "e", "g"}  # noqa: E731
    c = lambda F, p: p.get("k") in {"f", "e", "d", "c", "b", "a"}  # noqa: E731
    assert _hash_of(a) != _hash_of(b)
    assert _hash_of(a) == _hash_of(c)  # sorted, so independent of PYTHONHASHSEED's iteration order
