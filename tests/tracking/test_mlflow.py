"""The ``tracking:`` section: a run and a sweep logged to MLflow, read back through MlflowClient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import geokeras
from geokeras.errors import SpecError
from geokeras.spec import load_spec
from geokeras.sweep import DONE, FAILED, REUSED, sweep
from geokeras.tracking.mlflow import MAX_PARAM_CHARS, TRUNCATED, spec_params
from geokeras.tracking.track import TRACKING_ENV
from tests.conftest import SWEEP_SPEC
from tests.test_sweep import fake_point_metrics, fake_runs  # noqa: F401  fake_runs is a fixture

RUN_SPEC = """\
name: tracked
manifold: {type: circle, samples: 64}
model: {latent_dim: 1, encoder: {type: mlp, widths: [4]}}
train: {epochs: 2, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


def tracking_lines(uri: str, artifacts: str, experiment: str = "geokeras-tests") -> str:
    return (
        f"tracking: {{type: mlflow, tracking_uri: '{uri}', experiment: {experiment}, "
        f"artifact_location: '{artifacts}', tags: {{team: geo}}}}\n"
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[str, str]:
    """A local MLflow database and artifact folder shared by the tests of this module (creating the
    database takes seconds): (tracking URI, artifact location); each test logs to its own experiment."""
    folder = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{folder / 'mlflow.db'}", str(folder / "mlartifacts")


def only_run(client: MlflowClient, experiment: str = "geokeras-tests"):
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id])
    assert len(runs) == 1
    return runs[0]


def artifact_names(client: MlflowClient, run_id: str, path: str = "") -> set[str]:
    return {Path(item.path).name for item in client.list_artifacts(run_id, path or None)}


@pytest.fixture
def run_spec(tmp_path: Path, store) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(RUN_SPEC + tracking_lines(*store), encoding="utf-8")
    return path


def test_a_run_is_logged_with_its_spec_metrics_losses_tags_and_artifacts(run_spec, store, tmp_path):
    result = geokeras.run(run_spec, runs_root=tmp_path / "runs")
    client = MlflowClient(tracking_uri=store[0])
    logged = only_run(client)
    assert logged.info.status == "FINISHED" and logged.info.run_name == result.run_dir.name
    params = logged.data.params
    assert params["manifold.type"] == "circle" and params["manifold.samples"] == "64"
    assert params["model.encoder.widths"] == "[4]" and params["evaluate.0.samples"] == "32"
    assert params["tracking.experiment"] == "geokeras-tests"
    metrics = logged.data.metrics
    assert metrics["reconstruction.mse"] == result.metrics["reconstruction"]["mse"]
    assert metrics["training.epochs"] == 2.0
    history = json.loads((result.run_dir / "history.json").read_text())
    steps = client.get_metric_history(logged.info.run_id, "loss")
    assert sorted((step.step, step.value) for step in steps) == list(enumerate(history["loss"]))
    tags = logged.data.tags
    assert tags["geokeras.spec_hash"] == result.spec.content_hash and tags["geokeras.spec_name"] == "tracked"
    assert tags["geokeras.version"] == geokeras.__version__ and tags["team"] == "geo"
    assert artifact_names(client, logged.info.run_id) >= {"report.md", "models", "resolved.yaml", "metrics.json"}
    assert artifact_names(client, logged.info.run_id, "models") >= {"autoencoder.keras", "encoder.keras"}


def test_the_tracking_section_is_not_in_the_content_hash(run_spec, tmp_path):
    untracked = tmp_path / "untracked.yaml"
    untracked.write_text(RUN_SPEC, encoding="utf-8")
    tracked = load_spec(run_spec)
    assert tracked.tracking.experiment == "geokeras-tests"
    assert tracked.content_hash == load_spec(untracked).content_hash
    assert "tracking" not in tracked.identity_dict() and "tracking:" in tracked.to_yaml()


def test_an_unreachable_tracking_server_warns_and_keeps_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    spec = tmp_path / "run.yaml"
    spec.write_text(RUN_SPEC.replace("epochs: 2", "epochs: 1") + tracking_lines("http://127.0.0.1:9", str(tmp_path)))
    result = geokeras.run(spec, runs_root=tmp_path / "runs")
    assert (result.run_dir / "metrics.json").is_file() and (result.run_dir / "report.md").is_file()
    err = capsys.readouterr().err
    assert "warning: the run was not logged to mlflow" in err and "exit status stays 0" in err


def test_a_sweep_is_a_parent_run_with_a_child_run_per_point(tmp_path, store, fake_runs, monkeypatch):  # noqa: F811
    seen_environments = []
    import geokeras.sweep as sweep_module

    real_run = sweep_module.subprocess.run

    def recording_run(command, **kwargs):  # the points' commands; git's (for the commit tag) pass no env
        if "env" in kwargs:
            seen_environments.append(kwargs["env"].get(TRACKING_ENV))
        return real_run(command, **kwargs)

    monkeypatch.setattr(sweep_module.subprocess, "run", recording_run)
    uri, artifacts = store
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SWEEP_SPEC + tracking_lines(uri, artifacts, "sweeps"), encoding="utf-8")
    runs_root = tmp_path / "runs"
    first = sweep(spec_path, ["manifold.radius=1"], runs_root=runs_root)  # finished before: reused below
    second = sweep(spec_path, ["manifold.radius=1,2"], runs_root=runs_root)
    assert [point.status for point in first.points] == [DONE]
    assert [point.status for point in second.points] == [REUSED, DONE]
    assert seen_environments == ["off", "off"]  # the points never log themselves

    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.get_experiment_by_name("sweeps").experiment_id
    runs = client.search_runs([experiment_id])
    parents = [run for run in runs if run.info.run_name == second.sweep_dir.name]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.data.params == {"grid.manifold.radius": "1,2"}
    assert artifact_names(client, parent.info.run_id) >= {"summary.md", "summary.csv"}
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(run.info.run_name for run in children) == ["manifold.radius=1", "manifold.radius=2"]
    by_name = {run.info.run_name: run for run in children}
    for point in second.points:
        child = by_name[f"manifold.radius={point.values['manifold.radius']}"]
        expected = fake_point_metrics(point)
        assert child.data.metrics["training.final_loss"] == expected["training"]["final_loss"]
        assert child.data.metrics["learnability.injectivity.closed"] == 1.0
        assert child.data.tags["metric.learnability.verdict"] == "encoded"
        assert child.data.tags["verdict.learned_a_chart_learnability"] == "yes: encoded"
        assert child.data.tags["geokeras.spec_hash"] == point.spec.content_hash
        assert child.data.params["manifold.radius"] == str(float(point.values["manifold.radius"]))
        assert artifact_names(client, child.info.run_id) >= {"report.md", "metrics.json", "resolved.yaml"}


def test_a_failed_sweep_point_is_a_failed_child_run(tmp_path, store, fake_runs):  # noqa: F811
    uri, artifacts = store
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SWEEP_SPEC + tracking_lines(uri, artifacts, "failed-sweeps"), encoding="utf-8")
    result = sweep(spec_path, ["manifold.radius=3"], runs_root=tmp_path / "runs")
    assert [point.status for point in result.points] == [FAILED]
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("failed-sweeps").experiment_id])
    child = next(run for run in runs if "mlflow.parentRunId" in run.data.tags)
    assert child.info.status == "FAILED" and child.data.params == {"manifold.radius": "3"}
    assert child.data.tags["geokeras.failure"].startswith("exit status 1")


def test_a_missing_mlflow_is_refused_before_anything_runs(run_spec, tmp_path, monkeypatch):
    import geokeras.tracking.track as track_module

    real_find_spec = track_module.importlib.util.find_spec
    monkeypatch.setattr(
        track_module.importlib.util, "find_spec", lambda name: None if name == "mlflow" else real_find_spec(name)
    )
    with pytest.raises(SpecError) as caught:
        geokeras.run(run_spec, runs_root=tmp_path / "runs")
    assert caught.value.path == ("tracking", "type") and "pip install 'geokeras[mlflow]'" in str(caught.value)
    assert caught.value.location.startswith(f"{run_spec}:7:")  # the tracking line of the spec file
    assert not (tmp_path / "runs").exists()


def test_long_param_values_are_cut_to_mlflows_limit_and_named():
    params, truncated = spec_params({"name": "x", "notes": {"long": "a" * (MAX_PARAM_CHARS + 10)}})
    assert truncated == ["notes.long"]
    assert len(params["notes.long"]) == MAX_PARAM_CHARS and params["notes.long"].endswith(TRUNCATED)
    assert params["name"] == "x"


def test_tracking_off_in_the_environment_logs_nothing(tmp_path, monkeypatch):
    from geokeras.tracking.track import track_run

    monkeypatch.setenv(TRACKING_ENV, "off")
    spec_file = tmp_path / "run.yaml"
    database = tmp_path / "mlflow.db"
    spec_file.write_text(RUN_SPEC + tracking_lines(f"sqlite:///{database}", str(tmp_path)), encoding="utf-8")
    assert track_run(load_spec(spec_file), tmp_path / "missing") is None
    assert not database.exists()


def test_metric_values_keep_exact_integers_past_the_float_range_as_text():
    from geokeras.tracking.mlflow import metric_values

    metrics = {"spec": {"hash": "h"}, "rlc_bounds": {"upper": 10**400, "lower": 12, "exact": True, "name": "serra"}}
    assert metric_values(metrics) == (
        {"rlc_bounds.lower": 12.0, "rlc_bounds.exact": 1.0},
        {"rlc_bounds.upper": str(10**400), "rlc_bounds.name": "serra"},
    )
