"""Callbacks between compiled chunks, a stop request, and the TensorBoard and MLflow loggers (issue 19)."""

import math

import numpy as np
import pytest

import fieldlab
from fieldlab.errors import FieldlabError

RECIPE = {"sampling": {"interior": 100, "boundary": 16, "initial": 16}, "chunk": 10, "eval_every": 10,
          "stages": [{"optimizer": "adam", "steps": 40, "lr": 5e-3}]}


class Recorder(fieldlab.Callback):
    """Records what it sees and asks to stop at step 20 of 40."""

    def __init__(self):
        self.starts, self.chunks, self.ends = [], [], []

    def on_start(self, info):
        self.starts.append(info.step)

    def on_chunk(self, info):
        self.chunks.append((info.step, info.optimizer, dict(info.losses), dict(info.metrics)))
        if info.step >= 20:
            info.request_stop("enough for a test")

    def on_end(self, info):
        self.ends.append((info.step, info.reason))


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """One short training in memory with a recorder, a TensorBoard and an MLflow logger."""
    from fieldlab.loggers import MLflowLogger, TensorBoardLogger

    pytest.importorskip("tensorboardX")
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("callbacks")
    rec = Recorder()
    tb = TensorBoardLogger(root / "tb")
    ml = MLflowLogger(root / "mlruns", experiment="tests", run_name="heat")
    run = fieldlab.train("heat1d", "mlp", RECIPE, width=8, depth=2, progress=False, callbacks=[rec, tb, ml])
    return root, run, rec, ml


def test_a_callback_sees_every_chunk_and_its_stop_ends_the_run_cleanly(stopped):
    root, run, rec, _ = stopped
    assert rec.starts == [0]
    assert [c[0] for c in rec.chunks] == [10, 20]  # called between chunks; stopped after the chunk at 20 of 40
    step, optimizer, losses, metrics = rec.chunks[-1]
    assert optimizer == "adam" and set(losses) >= {"loss", "pde"} and math.isfinite(losses["loss"])
    assert losses["loss"] == pytest.approx(run.history[-1]["loss"])
    assert 0 < metrics["rel_l2"] < 10  # eval_every = 10: evaluated at each chunk
    assert rec.ends == [(20, "stopped")]
    assert run.metrics["steps"] == 20
    assert run.stops == ["stopped by Recorder: enough for a test"]


def test_a_stopped_run_saves_and_resumes_to_the_end(stopped, tmp_path):
    _, run, _, _ = stopped
    out = run.save(tmp_path / "saved")
    assert run.dir == out and (out / "metrics.json").is_file() and (out / "snapshots.png").is_file()
    loaded = fieldlab.load_run(out)
    pts = np.array([[0.25, 0.5], [0.75, 0.1]])
    np.testing.assert_array_equal(loaded.predict(pts), run.predict(pts))
    assert len(loaded.history) == len(run.history) == 2
    with pytest.raises(FieldlabError, match="already lives in"):
        run.save(tmp_path / "again")
    resumed = fieldlab.resume(out, progress=False)
    assert resumed.metrics["steps"] == 40  # the stage the callback interrupted is continued


def _scalar_events(logdir) -> dict[str, list[tuple[int, float]]]:
    """Read TensorBoard event files without TensorBoard: TFRecord frames of ``Event`` protos.

    A frame is a little-endian uint64 length, its masked CRC (uint32), the bytes, their masked CRC.
    """
    import struct

    from tensorboardX.proto.event_pb2 import Event

    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            event = Event.FromString(data[pos + 12:pos + 12 + n])
            pos += 12 + n + 4
            for v in event.summary.value:
                if v.HasField("simple_value"):
                    out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_tensorboard_event_files_hold_the_losses(stopped):
    root, run, rec, _ = stopped
    scalars = _scalar_events(root / "tb")
    assert {"loss", "loss_pde", "rel_l2"} <= set(scalars)
    assert [step for step, _ in scalars["loss"]] == [10, 20]
    assert [v for _, v in scalars["loss"]] == pytest.approx([c[2]["loss"] for c in rec.chunks], rel=1e-6)
    assert "param_" not in " ".join(scalars) and all(np.isfinite(v) for _, v in scalars["rel_l2"])


def test_mlflow_file_store_holds_params_and_metrics(stopped):
    from mlflow.tracking import MlflowClient

    root, run, rec, ml = stopped
    client = MlflowClient(tracking_uri=ml.tracking_uri)
    got = client.get_run(ml.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "heat"
    assert got.data.params["problem"] == "heat1d" and got.data.params["model.width"] == "8"
    history = client.get_metric_history(ml.run_id, "loss")
    assert sorted(m.step for m in history) == [10, 20]
    assert sorted(history, key=lambda m: m.step)[-1].value == pytest.approx(rec.chunks[-1][2]["loss"], rel=1e-6)


def test_stop_when_and_bad_callbacks():
    from fieldlab.training.callbacks import ChunkInfo, StopWhen, check_callbacks

    info = ChunkInfo(10, 1, 1, "adam", 1.0, {"loss": 1e-5}, {"rel_l2": math.nan})
    StopWhen(loss_below=1e-4).on_chunk(info)
    assert info.stop_reason and "loss" in info.stop_reason
    info = ChunkInfo(10, 1, 1, "adam", 1.0, {"loss": 1.0}, {"rel_l2": math.nan})
    StopWhen(loss_below=1e-4, rel_l2_below=0.1).on_chunk(info)
    assert info.stop_reason is None  # rel_l2 not evaluated in this chunk
    with pytest.raises(FieldlabError, match="needs loss_below or rel_l2_below"):
        StopWhen()
    with pytest.raises(FieldlabError, match="is not a callback"):
        check_callbacks([object()])
    with pytest.raises(FieldlabError, match="must be a list"):
        check_callbacks(StopWhen(loss_below=1.0))


def test_logger_specs_and_missing_extras(monkeypatch):
    import sys

    from fieldlab.loggers import MLflowLogger, TensorBoardLogger, from_spec

    with pytest.raises(FieldlabError, match="is not a logger"):
        from_spec("wandb:runs")
    with pytest.raises(FieldlabError, match="is not a logger"):
        from_spec("tensorboard")
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if the extra were not installed
    with pytest.raises(FieldlabError, match=r"fieldlab\[tensorboard\]"):
        TensorBoardLogger("tb")
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(FieldlabError, match=r"fieldlab\[mlflow\]"):
        MLflowLogger("mlruns")


def test_solve_log_writes_tensorboard_events_and_bad_specs_are_one_sentence(tmp_path):
    from typer.testing import CliRunner

    from fieldlab.cli import app

    pytest.importorskip("tensorboardX")
    (tmp_path / "tiny.toml").write_text(
        '[model]\nname = "mlp"\nwidth = 8\ndepth = 2\n[recipe]\nchunk = 10\neval_every = 10\n'
        '[recipe.sampling]\ninterior = 100\nboundary = 16\ninitial = 16\n'
        '[[recipe.stages]]\noptimizer = "adam"\nsteps = 20\nlr = 0.005\n')

    def invoke(*args):
        return CliRunner().invoke(app, [str(a) for a in args])

    result = invoke("solve", "heat1d", "--config", tmp_path / "tiny.toml", "--out", tmp_path / "run", "--quiet",
                    "--log", f"tensorboard:{tmp_path / 'tb'}")
    assert result.exit_code == 0, result.output
    assert [step for step, _ in _scalar_events(tmp_path / "tb")["loss"]] == [10, 20]
    result = invoke("solve", "heat1d", "--out", tmp_path / "other", "--log", "wandb:x")
    assert result.exit_code == 2 and "is not a logger" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "other").exists()


def test_the_core_never_imports_the_loggers_libraries():
    import subprocess
    import sys

    code = ("import sys, fieldlab.loggers, fieldlab.run, fieldlab.export, fieldlab.cli\n"
            "print(sorted(m for m in ('tensorboardX', 'mlflow', 'meshio', 'h5netcdf') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
