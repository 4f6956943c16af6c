"""Experiment loggers built on :class:`~fieldlab.training.callbacks.Callback`: TensorBoard and MLflow.

Neither is needed by fieldlab itself; each imports its library when it is created, and a missing
library is one sentence naming the extra to install (``pip install "fieldlab[tensorboard]"`` or
``"fieldlab[mlflow]"``). Both write locally; nothing is sent anywhere unless the user gives MLflow a
server address.

Each logs, after every compiled chunk, the history row's numbers at the run's step: ``loss`` and its
terms ``loss_<term>``, ``rel_l2`` when it was evaluated (NaN values are skipped), trained parameters
``param_<name>``, strategy scalars and ``steps_per_s``.

>>> run = fieldlab.train(problem, "mlp", recipe, callbacks=[TensorBoardLogger("tb/heat")])
>>> # tensorboard --logdir tb
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from .errors import FieldlabError
from .training.callbacks import Callback, ChunkInfo


def _missing(library: str, extra: str) -> FieldlabError:
    return FieldlabError(f"this logger needs {library}, which is not installed; install it with "
                         f"pip install \"fieldlab[{extra}]\".")


def _scalars(info: ChunkInfo) -> dict[str, float]:
    """The chunk's numbers under the history's column names, without NaN or infinities."""
    values = {"loss": info.losses.get("loss", math.nan),
              **{f"loss_{k}": v for k, v in info.losses.items() if k != "loss"}, **info.metrics}
    return {k: float(v) for k, v in values.items() if math.isfinite(v)}


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)[:500]
    return out


class TensorBoardLogger(Callback):
    """Scalars to TensorBoard event files in ``logdir`` (through tensorboardX, which needs no TensorFlow).

    Read them with ``tensorboard --logdir LOGDIR``; the run's configuration is written once as text.
    """

    def __init__(self, logdir: str | Path):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise _missing("tensorboardX", "tensorboard") from None
        self.logdir = Path(logdir)
        self._writer_type = SummaryWriter
        self.writer = None

    def on_start(self, info: ChunkInfo) -> None:
        try:
            self.writer = self._writer_type(logdir=str(self.logdir))
        except OSError as e:
            raise FieldlabError(f"cannot write TensorBoard logs to {self.logdir} ({e.strerror or e}); choose a "
                                "writable directory.") from None
        if info.config:
            text = "\n".join(f"    {k} = {v}" for k, v in _flatten(info.config).items())
            self.writer.add_text("config", text, global_step=info.step)

    def on_chunk(self, info: ChunkInfo) -> None:
        for key, value in _scalars(info).items():
            self.writer.add_scalar(key, value, global_step=info.step)

    def on_end(self, info: ChunkInfo) -> None:
        if self.writer is not None:
            self.writer.add_text("end", info.reason or "", global_step=info.step)
            self.writer.close()
            self.writer = None


class MLflowLogger(Callback):
    """One MLflow run per training: the config as parameters, the chunks' numbers as metrics.

    Args:
        tracking: a directory (an MLflow file store, created if needed; fieldlab sets
            ``MLFLOW_ALLOW_FILE_STORE=true`` for it, since MLflow 3 otherwise refuses file stores),
            a ``file:`` URI, or any MLflow tracking URI (``sqlite:///mlflow.db``, ``http://host:5000``).
        experiment: the experiment's name (created if it does not exist).
        run_name: the MLflow run's name (MLflow picks one if not given).

    The MLflow run ends ``FINISHED`` (also when a callback stopped it), ``KILLED`` (Ctrl-C) or
    ``FAILED``. It uses :class:`mlflow.tracking.MlflowClient` directly, so no global active run is set.
    """

    def __init__(self, tracking: str | Path = "mlruns", experiment: str = "fieldlab", run_name: str | None = None):
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _missing("mlflow-skinny", "mlflow") from None
        uri = str(tracking)
        if "://" not in uri and not uri.startswith("file:"):
            uri = Path(uri).resolve().as_uri()
        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.tracking_uri, self.experiment, self.run_name = uri, experiment, run_name
        self._client_type = MlflowClient
        self.client = None
        self.run_id: str | None = None

    def on_start(self, info: ChunkInfo) -> None:
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException

        try:
            self.client = self._client_type(tracking_uri=self.tracking_uri)
            exp = self.client.get_experiment_by_name(self.experiment)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(self.experiment)
            run = self.client.create_run(exp_id, run_name=self.run_name)
        except (MlflowException, OSError) as e:
            first = str(e).split(". ")[0].rstrip(".")
            raise FieldlabError(f"MLflow cannot log to {self.tracking_uri} ({first}); give a writable directory or "
                                "a reachable tracking URI.") from None
        self.run_id = run.info.run_id
        if info.config:
            params = [Param(k, v) for k, v in _flatten(info.config).items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
                self.client.log_batch(self.run_id, params=params[i:i + 100])

    def on_chunk(self, info: ChunkInfo) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, info.step) for k, v in _scalars(info).items()]
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[i:i + 1000])

    def on_end(self, info: ChunkInfo) -> None:
        if self.run_id is None:
            return
        status = {"interrupted": "KILLED", "failed": "FAILED"}.get(info.reason or "", "FINISHED")
        self.client.set_terminated(self.run_id, status)


def from_spec(spec: str) -> Callback:
    """A logger from a command-line spec ``tensorboard:DIR`` or ``mlflow:DIR_OR_URI``."""
    kind, sep, where = spec.partition(":")
    if not sep or not where or kind not in ("tensorboard", "mlflow"):
        raise FieldlabError(f"--log {spec} is not a logger; write tensorboard:DIR or mlflow:DIR (or mlflow:URI).")
    return TensorBoardLogger(where) if kind == "tensorboard" else MLflowLogger(where)
