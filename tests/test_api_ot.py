"""End to end with latent_ot: a tiny AE-OT run, its metrics, figures and the saved OT map."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import geokeras  # noqa: E402
from geokeras.errors import SpecErrors  # noqa: E402
from geokeras.report.compare import TIMING_METRICS, flatten_metrics  # noqa: E402
from geokeras.seeds import TRAINING_DATA_STREAM, stream_seed  # noqa: E402

TINY_AEOT = """\
spec_version: 1
name: tiny-aeot
seed: 4
manifold: {type: gaussian_mixture, modes: 4, radius: 1.0, std: 0.05, samples: 256}
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [16, 16]}
train: {epochs: 3, batch_size: 64, verbose: 0}
latent_ot:
  solver: {type: monte_carlo_adam, tol: 0.1, max_steps: 200}
  generate: {samples: 256, angle_threshold: 0.3}
evaluate:
  - {type: ot_quality, samples: 16384}
  - {type: generation, samples: 256, projections: 16}
report: {dpi: 30, max_points: 200}
"""


@pytest.fixture(scope="module")
def aeot_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("aeot")
    spec_path = root / "tiny_aeot.yaml"
    spec_path.write_text(TINY_AEOT, encoding="utf-8")
    return geokeras.run(spec_path, runs_root=root / "runs")


def test_metrics_have_the_ot_and_generation_sections(aeot_run):
    metrics = json.loads((aeot_run.run_dir / "metrics.json").read_text())
    assert metrics == aeot_run.metrics
    ot = metrics["ot"]
    assert ot["solver"] == "monte_carlo_adam" and ot["targets"] == 256 and ot["dim"] == 2
    for key in ("max_rel_mass_error", "tv", "empty_cells", "steps", "samples", "seconds", "converged"):
        assert key in ot, key
    assert ot["generate"]["samples"] == 256 and 0.0 <= ot["generate"]["refused_share"] <= 1.0
    quality = metrics["ot_quality"]
    assert quality["mass_samples"] == 16384 and quality["distinct_targets"] == 256 and quality["transport_cost"] > 0
    generation = metrics["generation"]
    assert generation["modes_from"] == "manifold" and generation["modes"] == 4
    assert generation["generated"] == 256 and generation["held_out"] == 256
    for key in ("mmd", "sliced_wasserstein", "mode_coverage", "off_manifold_rate"):
        assert np.isfinite(generation[key]) and np.isfinite(generation[f"baseline_{key}"]), key
    assert 0.0 <= generation["mode_coverage"] <= 1.0
    assert generation["refused_share"] == ot["generate"]["refused_share"]
    timed = {name for name in flatten_metrics(metrics) if "seconds" in name or "per_second" in name}
    assert timed == set(TIMING_METRICS)  # every wall-time field is documented as such


def test_figures_and_report(aeot_run):
    for name in ("figures/ot_power_diagram.png", "figures/generation.png", "models/ot.keras"):
        assert (aeot_run.run_dir / name).is_file(), name
    report = (aeot_run.run_dir / "report.md").read_text()
    assert "figures/ot_power_diagram.png" in report and "figures/generation.png" in report


def test_rerender_redraws_the_ot_figures_from_the_saved_map(aeot_run, tmp_path):
    import shutil

    copy = tmp_path / aeot_run.run_dir.name
    shutil.copytree(aeot_run.run_dir, copy)
    metrics_before = (copy / "metrics.json").read_bytes()
    result = geokeras.rerender(copy, format="svg")
    assert (copy / "metrics.json").read_bytes() == metrics_before
    assert (copy / "figures" / "ot_power_diagram.svg").is_file() and (copy / "figures" / "generation.svg").is_file()
    assert result.differing == ()


def test_saved_ot_map_reloads_with_identical_outputs(aeot_run):
    import keras

    from geokeras.ot.layer import SemiDiscreteOT
    from geokeras.ot.sources import make_source

    model = keras.models.load_model(aeot_run.run_dir / "models" / "ot.keras")
    layer = next(item for item in model.layers if isinstance(item, SemiDiscreteOT))
    targets = np.asarray(layer.targets)
    heights = np.asarray(layer.heights)
    assert targets.shape == (256, 2) and heights.shape == (256,)

    # The targets are the codes of the training data under the saved encoder.
    spec = aeot_run.spec
    manifold = geokeras.manifolds.make(spec.manifold)
    x_train = manifold.sample(spec.manifold.samples, stream_seed(spec.seed, TRAINING_DATA_STREAM))
    encoder = keras.models.load_model(aeot_run.run_dir / "models" / "encoder.keras")
    np.testing.assert_allclose(targets, encoder.predict(x_train, batch_size=4096, verbose=0), rtol=1e-6, atol=1e-6)

    # The reloaded map sends each source point to the code of its power cell (float64 check).
    x = make_source({"type": "uniform_cube"}, 2).sample(2048, seed=9).numpy()
    images = model.predict(x, verbose=0)
    cells = np.argmax(x.astype(np.float64) @ targets.T.astype(np.float64) + heights, axis=1)
    np.testing.assert_array_equal(images, targets[cells])
    again = keras.models.load_model(aeot_run.run_dir / "models" / "ot.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), images)


def test_ot_evaluators_without_latent_ot_stop_before_any_file(tmp_path):
    text = TINY_AEOT.replace(
        "latent_ot:\n  solver: {type: monte_carlo_adam, tol: 0.1, max_steps: 200}\n"
        "  generate: {samples: 256, angle_threshold: 0.3}\n",
        "",
    )
    spec_path = tmp_path / "no_ot.yaml"
    spec_path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        geokeras.run(spec_path, runs_root=tmp_path / "runs")
    assert [error.path for error in caught.value.errors] == [("evaluate", 0, "type"), ("evaluate", 1, "type")]
    assert not (tmp_path / "runs").exists() or not any(Path(tmp_path / "runs").iterdir())


def test_run_result_and_load_run_give_the_ot_map(aeot_run):
    from geokeras.ot.sources import make_source

    x = make_source({"type": "uniform_cube"}, 2).sample(64, seed=3).numpy()
    saved = aeot_run.ot_map
    assert saved.name == "ot_map"
    loaded = geokeras.load_run(aeot_run.run_dir).ot_map
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), saved.predict(x, verbose=0))
