"""The reconstruction evaluator, run_evaluators and the evaluation context."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from geokeras.errors import SpecError, SpecErrors
from geokeras.evaluate import EvaluationContext, plain_metrics, run_evaluators
from geokeras.evaluate.params import ReconstructionParams
from geokeras.evaluate.reconstruction import SEED_PURPOSE, evaluate_reconstruction
from geokeras.manifolds import make
from geokeras.report.params import ReportSpec
from geokeras.seeds import purpose_seed


def scaling_autoencoder(dim: int, factor: float) -> keras.Model:
    inputs = keras.Input(shape=(dim,))
    return keras.Model(inputs, keras.layers.Rescaling(factor)(inputs))


def context_for(manifold, autoencoder, figures_dir=None, seed=5) -> EvaluationContext:
    return EvaluationContext(
        manifold=manifold,
        encoder=None,
        decoder=None,
        autoencoder=autoencoder,
        x_train=manifold.sample(64, seed),
        seed=seed,
        report=ReportSpec(dpi=40, max_points=300),
        figures_dir=figures_dir,
    )


def test_perfect_reconstruction_scores_zero():
    circle = make({"type": "circle", "radius": 2.0, "embed": {"ambient_dim": 3}})
    metrics = evaluate_reconstruction(
        ReconstructionParams(samples=500, tile_size=97), context_for(circle, scaling_autoencoder(3, 1.0))
    )
    assert metrics["samples"] == 500
    # The model computes in float32: the inputs are rounded to ~1e-7 relative.
    assert metrics["mse"] < 1e-13
    assert metrics["chamfer"] < 1e-6 and metrics["hausdorff"] < 1e-6


def test_half_scale_reconstruction_of_the_unit_circle_has_known_metrics():
    # x_hat = x / 2 for |x| = 1: |x - x_hat|^2 = 1/4, so mse = (1/4) / D = 1/8. Every data
    # point is at distance >= 1/2 from the radius-1/2 circle (equality at the radial point),
    # so both directed Hausdorff distances tend to 1/2 and the Chamfer distance to 1 as the
    # samples get dense.
    circle = make({"type": "circle"})
    metrics = evaluate_reconstruction(
        ReconstructionParams(samples=2000), context_for(circle, scaling_autoencoder(2, 0.5))
    )
    assert metrics["mse"] == pytest.approx(0.125, rel=1e-6)
    assert metrics["hausdorff"] == pytest.approx(0.5, abs=1e-3)
    assert metrics["chamfer"] == pytest.approx(1.0, abs=1e-3)


def test_held_out_samples_are_not_the_training_samples(monkeypatch):
    spiral = make({"type": "archimedean_spiral"})
    context = context_for(spiral, scaling_autoencoder(2, 1.0), seed=3)
    drawn = []
    original = type(spiral).sample_with_parameters

    def spy(self, n, seed):
        drawn.append(seed)
        return original(self, n, seed)

    monkeypatch.setattr(type(spiral), "sample_with_parameters", spy)
    evaluate_reconstruction(ReconstructionParams(samples=50), context)
    assert drawn == [purpose_seed(3, SEED_PURPOSE)] and drawn[0] != 3
    assert not np.allclose(spiral.sample(50, drawn[0]), spiral.sample(50, 3))


def test_figure_written_only_when_a_figures_dir_is_set(tmp_path: Path):
    spiral = make({"type": "archimedean_spiral", "turns": 2})
    with_figures = context_for(spiral, scaling_autoencoder(2, 0.9), figures_dir=tmp_path / "figures")
    evaluate_reconstruction(ReconstructionParams(samples=200), with_figures)
    assert with_figures.figures == [("Reconstruction of held-out samples", "figures/reconstruction.png")]
    assert (tmp_path / "figures" / "reconstruction.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    without = context_for(spiral, scaling_autoencoder(2, 0.9))
    evaluate_reconstruction(ReconstructionParams(samples=200), without)
    assert without.figures == [] and without.figure_path("anything") is None


def test_diverged_model_gives_nan_distances():
    class NaNModel:
        inputs = None

        def predict(self, x, batch_size, verbose):
            return np.full_like(x, np.nan)

    metrics = evaluate_reconstruction(
        ReconstructionParams(samples=20), context_for(make({"type": "circle"}), NaNModel())
    )
    assert np.isnan(metrics["mse"]) and np.isnan(metrics["chamfer"]) and np.isnan(metrics["hausdorff"])


def test_wrong_output_shape_is_reported():
    inputs = keras.Input(shape=(2,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match=r"output shape=\[10, 3\]"):
        evaluate_reconstruction(ReconstructionParams(samples=10), context_for(make({"type": "circle"}), model))


def test_run_evaluators_returns_plain_json_numbers():
    context = context_for(make({"type": "circle"}), scaling_autoencoder(2, 1.0))
    for specs in (
        [ReconstructionParams(samples=100)],
        ["reconstruction"],
        [{"type": "reconstruction", "samples": 100}],
    ):
        results = run_evaluators(specs, context)
        assert list(results) == ["reconstruction"]
        assert set(results["reconstruction"]) == {"samples", "mse", "chamfer", "hausdorff"}
        assert all(type(value) in (int, float) for value in results["reconstruction"].values())
        json.dumps(results)


def test_run_evaluators_rejects_unknown_or_invalid_evaluators():
    context = context_for(make({"type": "circle"}), scaling_autoencoder(2, 1.0))
    with pytest.raises(SpecError, match="Did you mean 'reconstruction'") as info:
        run_evaluators(["reconstructon"], context)
    assert info.value.path == (0, "type")
    with pytest.raises(SpecError) as info:
        run_evaluators([{"type": "reconstruction", "samples": 0}], context)
    assert info.value.path == (0, "samples")
    with pytest.raises(SpecErrors) as many:  # every invalid entry, before any evaluator runs
        run_evaluators(["reconstructon", {"type": "reconstruction", "samples": 0}], context)
    assert [error.path for error in many.value.errors] == [(0, "type"), (1, "samples")]


def test_plain_metrics_converts_numpy_and_rejects_objects():
    assert plain_metrics({"a": np.float32(0.5), "b": np.int64(3), "c": np.arange(2), "d": {"e": np.bool_(True)}}) == {
        "a": 0.5,
        "b": 3,
        "c": [0, 1],
        "d": {"e": True},
    }
    with pytest.raises(TypeError, match=r"metrics\.x"):
        plain_metrics({"x": object()})


def test_importing_evaluate_does_not_import_tensorflow():
    code = "import sys, geokeras.evaluate; assert 'tensorflow' not in sys.modules and 'matplotlib' not in sys.modules"
    import geokeras

    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(geokeras.__file__).resolve().parents[1])
