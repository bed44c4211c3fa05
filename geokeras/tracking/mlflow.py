"""Log finished geokeras run directories and sweeps to MLflow, through ``mlflow.tracking.MlflowClient``.

Everything is read back from the files of a final run directory, so one function logs a run
just finished, a run reused by a sweep and a sweep point run by any executor. A run becomes one
MLflow run:

* params: the resolved spec (resolved.yaml), flattened to dotted keys as overrides write them
  (``model.encoder.widths``, ``evaluate.0.samples``); a value longer than MLflow's limit
  (:data:`MAX_PARAM_CHARS`) is cut and ends in :data:`TRUNCATED`, and the tag
  ``geokeras.truncated_params`` names the keys cut;
* metrics: every scalar of metrics.json, flattened (``reconstruction.mse``), booleans as 0/1;
  text values (a verdict) are tags ``metric.<name>``; None and lists are left out; the per-epoch
  values of history.json (``loss``, ``val_loss``) as steps 0, 1, ...;
* tags: ``geokeras.spec_hash``, ``geokeras.spec_name``, ``geokeras.version``, the verdicts of
  report.md (``verdict.learned_a_chart_learnability``), the git commit of the current directory
  (``mlflow.source.git.commit``) and the section's own ``tags``;
* artifacts: report.md, resolved.yaml, metrics.json, figures/ and models/.

A sweep is a parent run (params: the grid; artifacts: summary.md, summary.csv, sweep.json and the
phase diagram) with one child run per point (tag ``mlflow.parentRunId``); a failed point is a
child run of status FAILED with its overrides as params.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from geokeras.report.compare import flatten_metrics, flatten_spec
from geokeras.report.run_dir import RESOLVED_SPEC

INSTALL_COMMAND = "pip install 'geokeras[mlflow]'"

MAX_PARAM_CHARS = 6000
"""MLflow's longest param value (``mlflow.utils.validation.MAX_PARAM_VAL_LENGTH``)."""

MAX_TAG_CHARS = 8000
"""MLflow's longest tag value (``MAX_TAG_VAL_LENGTH``)."""

MAX_KEY_CHARS = 250
"""MLflow's longest param, metric or tag key."""

BATCH = 100
"""Params or tags per ``log_batch`` call (MLflow takes at most 100 of each, 1000 metrics)."""

TRUNCATED = "...[truncated]"
"""The end of a value cut to MLflow's length limit."""

RUN_ARTIFACTS = ("report.md", RESOLVED_SPEC, "metrics.json", "figures", "models")
SWEEP_ARTIFACTS = ("summary.md", "summary.csv", "sweep.json")

_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9_\-. /]")
"""Characters MLflow refuses in a key (it takes letters, digits, ``_ - . /`` and spaces)."""


def import_mlflow() -> Any:
    """The ``mlflow`` module, or an ImportError naming the command that installs it."""
    try:
        import mlflow
    except ImportError as error:
        raise ImportError(f"tracking: mlflow needs the mlflow package. Install it with: {INSTALL_COMMAND}") from error
    return mlflow


class MlflowTracker:
    """Logs run directories and sweeps to the MLflow store of ``params`` (a ``MlflowTrackingParams``)."""

    def __init__(self, params: Any) -> None:
        mlflow = import_mlflow()
        self.params = params
        self.client = mlflow.tracking.MlflowClient(tracking_uri=params.tracking_uri)
        self._experiment_id: Optional[str] = None

    @property
    def description(self) -> str:
        return f"experiment {self.params.experiment!r} at {self.params.tracking_uri}"

    def experiment_id(self) -> str:
        """The id of the experiment named in the section, created when missing."""
        if self._experiment_id is None:
            experiment = self.client.get_experiment_by_name(self.params.experiment)
            if experiment is None:
                self._experiment_id = self.client.create_experiment(
                    self.params.experiment, artifact_location=self.params.artifact_location
                )
            else:
                self._experiment_id = experiment.experiment_id
        return self._experiment_id

    # ------------------------------------------------------------------ runs
    def log_run(self, run_dir: Path, *, parent_run_id: Optional[str] = None, run_name: Optional[str] = None) -> str:
        """Log the finished run directory ``run_dir`` as one MLflow run; returns its run id."""
        run_dir = Path(run_dir)
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        resolved = yaml.safe_load((run_dir / RESOLVED_SPEC).read_text(encoding="utf-8")) or {}
        history_file = run_dir / "history.json"
        history = json.loads(history_file.read_text(encoding="utf-8")) if history_file.is_file() else {}
        params, truncated = spec_params(resolved)
        tags = {**self._common_tags(), **run_tags(metrics, resolved)}
        if truncated:
            tags["geokeras.truncated_params"] = ", ".join(truncated)
        numbers, texts = metric_values(metrics)
        tags.update({f"metric.{name}": text for name, text in texts.items()})
        name = run_name or self.params.run_name or run_dir.name
        run_id = self._create_run(name, tags, parent_run_id)
        status = "FINISHED"
        try:
            self._log(run_id, params=params, metrics=numbers, history=history)
            for artifact in RUN_ARTIFACTS:
                self._log_artifact(run_id, run_dir / artifact)
        except BaseException:
            status = "FAILED"
            raise
        finally:
            self.client.set_terminated(run_id, status=status)
        return run_id

    def log_failed_point(self, values: Mapping[str, str], detail: str, parent_run_id: str, run_name: str) -> str:
        """A sweep point that left no finished run: a FAILED child run with its overrides as params."""
        tags = {**self._common_tags(), "geokeras.failure": _cut(detail, MAX_TAG_CHARS)}
        run_id = self._create_run(run_name, tags, parent_run_id)
        try:
            self._log(run_id, params=dict(values), metrics={}, history={})
        finally:
            self.client.set_terminated(run_id, status="FAILED")
        return run_id

    # ------------------------------------------------------------------ sweeps
    def log_sweep(self, sweep_dir: Path, points: Sequence[Any], grid: Mapping[str, Sequence[str]]) -> str:
        """Log a finished sweep: a parent run for ``sweep_dir``, a child run per point; returns the parent's id.

        ``points`` are :class:`geokeras.sweep.SweepPoint` (values, status, run_dir, detail); ``grid`` maps
        each swept key to its values.
        """
        sweep_dir = Path(sweep_dir)
        tags = {**self._common_tags(), "geokeras.sweep_points": str(len(points))}
        parent_id = self._create_run(self.params.run_name or sweep_dir.name, tags, None)
        status = "FINISHED"
        try:
            params = {f"grid.{key}": ",".join(values) for key, values in grid.items()}
            self._log(parent_id, params=_cut_all(params, MAX_PARAM_CHARS)[0], metrics={}, history={})
            for artifact in SWEEP_ARTIFACTS:
                self._log_artifact(parent_id, sweep_dir / artifact)
            for phase in sorted(sweep_dir.glob("phase.*")):
                self._log_artifact(parent_id, phase)
            for point in points:
                name = ", ".join(f"{key}={value}" for key, value in point.values.items())
                if (Path(point.run_dir) / "metrics.json").is_file():
                    self.log_run(point.run_dir, parent_run_id=parent_id, run_name=name)
                else:
                    self.log_failed_point(point.values, point.detail, parent_id, name)
        except BaseException:
            status = "FAILED"
            raise
        finally:
            self.client.set_terminated(parent_id, status=status)
        return parent_id

    # ------------------------------------------------------------------ internals
    def _common_tags(self) -> dict[str, str]:
        import geokeras
        from geokeras.report.provenance import git_commit

        tags = {"geokeras.version": geokeras.__version__}
        git = git_commit(Path.cwd())
        if git is not None:
            tags["mlflow.source.git.commit"] = git["commit"]
            tags["geokeras.git_dirty"] = str(git["dirty"]).lower()
        tags.update(self.params.tags)
        return tags

    def _create_run(self, name: str, tags: Mapping[str, str], parent_run_id: Optional[str]) -> str:
        tags = {_key(key): _cut(str(value), MAX_TAG_CHARS) for key, value in tags.items()}
        if parent_run_id is not None:
            tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id(), run_name=name, tags=tags)
        return run.info.run_id

    def _log(
        self, run_id: str, *, params: Mapping[str, str], metrics: Mapping[str, float], history: Mapping[str, Any]
    ) -> None:
        from mlflow.entities import Metric, Param

        now = _milliseconds()
        entries = [Metric(_key(name), value, now, 0) for name, value in metrics.items()]
        for name, values in history.items():
            if isinstance(values, list):
                entries += [
                    Metric(_key(name), float(value), now, step)
                    for step, value in enumerate(values)
                    if isinstance(value, (int, float)) and not isinstance(value, bool)
                ]
        params_list = [Param(_key(key), value) for key, value in params.items()]
        for start in range(0, max(len(params_list), 1), BATCH):
            self.client.log_batch(run_id, params=params_list[start : start + BATCH])
        for start in range(0, len(entries), 10 * BATCH):
            self.client.log_batch(run_id, metrics=entries[start : start + 10 * BATCH])

    def _log_artifact(self, run_id: str, path: Path) -> None:
        if path.is_dir():
            self.client.log_artifacts(run_id, str(path), artifact_path=path.name)
        elif path.is_file():
            self.client.log_artifact(run_id, str(path))


def spec_params(resolved: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The resolved spec as MLflow params: ``{dotted key: text}`` (lists and mappings as JSON, None as
    ``null``), and the keys whose values were cut to :data:`MAX_PARAM_CHARS`."""
    flat = flatten_spec(dict(resolved))
    texts = {key: value if isinstance(value, str) else json.dumps(value) for key, value in flat.items()}
    return _cut_all(texts, MAX_PARAM_CHARS)


def metric_values(metrics: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """``(numbers, texts)`` of metrics.json without its ``spec`` section: the flattened scalars as floats
    (booleans 0/1) and the text values (with exact integers past the float range, such as an
    architecture's region bound); None and lists are left out."""
    from geokeras.report.metric_names import current_metric_names

    content = current_metric_names(dict(metrics))
    content.pop("spec", None)
    numbers: dict[str, float] = {}
    texts: dict[str, str] = {}
    for name, value in flatten_metrics(content).items():
        if isinstance(value, bool):
            numbers[name] = 1.0 if value else 0.0
        elif isinstance(value, float) or (isinstance(value, int) and abs(value) < 2**1023):
            numbers[name] = float(value)
        elif isinstance(value, (int, str)):  # an exact integer past the float range stays exact, as text
            texts[name] = str(value)
    return numbers, texts


def run_tags(metrics: Mapping[str, Any], resolved: Mapping[str, Any]) -> dict[str, str]:
    """The spec's hash and name and the run's verdicts, ``verdict.<question>: answer`` with the question in
    lower case, words joined by ``_`` (``verdict.learned_a_chart_learnability: yes: encoded``)."""
    from geokeras.report.verdicts import verdicts

    spec = metrics.get("spec") if isinstance(metrics.get("spec"), Mapping) else {}
    tags = {"geokeras.spec_hash": str(spec.get("hash", "")), "geokeras.spec_name": str(spec.get("name", ""))}
    for verdict in verdicts(metrics, dict(resolved)):
        tags[f"verdict.{_slug(verdict.question)}"] = verdict.answer
    return {key: value for key, value in tags.items() if value}


def _cut_all(values: Mapping[str, str], limit: int) -> tuple[dict[str, str], list[str]]:
    cut = {key: _cut(value, limit) for key, value in values.items()}
    return cut, [key for key in values if cut[key] != values[key]]


def _cut(text: str, limit: int) -> str:
    """``text``, or its start followed by :data:`TRUNCATED` when it is longer than ``limit``."""
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _key(name: str) -> str:
    """``name`` as an MLflow key: refused characters as ``_``, at most :data:`MAX_KEY_CHARS`."""
    return _KEY_CHARACTERS.sub("_", name)[:MAX_KEY_CHARS]


def _slug(text: str) -> str:
    """``"Learned a chart (learnability)"`` -> ``"learned_a_chart_learnability"``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _milliseconds() -> int:
    import time

    return int(time.time() * 1000)
