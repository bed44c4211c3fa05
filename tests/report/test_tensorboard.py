"""The TensorBoard summaries of a finished run: hparams session, metric scalars, verdicts."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

import geokeras
from geokeras.report.compare import flatten_metrics
from geokeras.report.tensorboard import hparam_values, metric_scalars, verdict_tag

SPEC = """\
spec_version: 2
name: tb-circle
seed: 3
manifold: {type: circle, radius: 1.5, samples: 64}
model:
  latent_dim: 1
  encoder: {type: mlp, widths: [8]}
train: {epochs: 1, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 64}, learnability]
report: {figures: false}
"""


def test_hparam_values_flatten_the_spec_as_overrides_write_it():
    spec = {
        "name": "x",
        "seed": 3,
        "model": {"latent_dim": 2, "encoder": {"type": "mlp", "widths": [16, 16]}},
        "evaluate": [{"type": "reconstruction", "samples": 64}],
        "train": {"lr": 0.5, "shuffle": True, "schedule": None, "options": {}},
    }
    assert hparam_values(spec) == {
        "name": "x",
        "seed": 3,
        "model.latent_dim": 2,
        "model.encoder.type": "mlp",
        "model.encoder.widths": "[16, 16]",
        "evaluate.0.type": "reconstruction",
        "evaluate.0.samples": 64,
        "train.lr": 0.5,
        "train.shuffle": True,
        "train.options": "{}",
    }
    assert list(hparam_values(spec, limit=3)) == ["name", "seed", "model.latent_dim"]


def test_metric_scalars_are_the_numbers_of_metrics_json_with_booleans_as_0_or_1():
    metrics = {
        "spec": {"name": "n", "hash": "abc"},
        "training": {"epochs": 4, "final_loss": 0.25},
        "learnability": {"verdict": "encoded", "failed": [], "injectivity": None},
        "ot": {"converged": True, "generate": {"refused_share": 0.0, "warning": False}},
        "rlc_bounds": {"upper": 10**400, "lower": 10**300},  # exact integers: only the float-sized one
    }
    assert metric_scalars(metrics) == {
        "training/epochs": 4.0,
        "training/final_loss": 0.25,
        "ot/converged": 1.0,
        "ot/generate/refused_share": 0.0,
        "ot/generate/warning": 0.0,
        "rlc_bounds/lower": 1e300,
    }


def test_verdict_tags_are_slugs_of_the_question():
    assert verdict_tag("Learned a chart (learnability)") == "verdicts/learned_a_chart_learnability"
    assert verdict_tag("OT solver converged (ot)") == "verdicts/ot_solver_converged_ot"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tensorboard")
    spec_path = root / "tiny.yaml"
    spec_path.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    return geokeras.run(spec_path, runs_root=root / "runs")


def accumulated(folder: Path) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def test_the_run_logs_its_hparams_session(finished_run):
    events = accumulated(finished_run.run_dir / "logs")
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    session = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert session.group_name == finished_run.run_dir.name
    assert session.hparams["train.epochs"].number_value == 1
    assert session.hparams["manifold.type"].string_value == "circle"
    assert session.hparams["model.encoder.widths"].string_value == "[8]"
    assert session.hparams["evaluate.1.type"].string_value == "learnability"
    assert set(session.hparams) == set(hparam_values(finished_run.spec.to_dict()))


def test_every_number_of_metrics_json_is_a_scalar_with_its_float32_value(finished_run):
    events = accumulated(finished_run.run_dir / "logs")
    metrics = json.loads((finished_run.run_dir / "metrics.json").read_text(encoding="utf-8"))
    numbers = {
        key: value
        for key, value in flatten_metrics(metrics).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    assert "reconstruction.mse" in numbers and "training.final_loss" in numbers
    for key, value in numbers.items():
        (event,) = events.Tensors(key.replace(".", "/"))
        assert event.step == 0  # the last epoch's, as epoch_loss numbers them
        assert tensor_util.make_ndarray(event.tensor_proto) == np.float32(value), key


def test_verdicts_are_a_scalar_and_a_text(finished_run):
    events = accumulated(finished_run.run_dir / "logs")
    (verdict,) = events.Tensors("verdicts/learned_a_chart_learnability")
    assert tensor_util.make_ndarray(verdict.tensor_proto) == 0.0  # a circle into R^1: provably not encodable
    (text,) = events.Tensors("verdicts")
    markdown = tensor_util.make_ndarray(text.tensor_proto).item().decode("utf-8")
    assert markdown.startswith("- **Learned a chart (learnability)**: no: provably_not_encodable")
    assert "| verdict | answer | criterion | value | threshold | result |" in markdown


def test_the_epoch_loss_is_still_logged_by_training(finished_run):
    events = accumulated(finished_run.run_dir / "logs" / "train")
    history = json.loads((finished_run.run_dir / "history.json").read_text(encoding="utf-8"))
    (loss,) = events.Tensors("epoch_loss")
    assert loss.step == 0
    assert tensor_util.make_ndarray(loss.tensor_proto) == np.float32(history["loss"][0])
