"""specs/paper/denoise.yaml: denoising as projection onto the learned manifold (Lei et al. 2018, section 1)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import geokeras

SPEC = Path(__file__).resolve().parents[2] / "specs" / "paper" / "denoise.yaml"
TINY = ["train.epochs=2", "manifold.samples=256", "evaluate.0.samples=200", "evaluate.0.resolution=1024"]


def test_spec_validates_and_sets_up_the_experiment():
    assert SPEC.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../../schema/geokeras.schema.json\n"
    )
    spec = geokeras.load_spec(SPEC)
    denoising = spec.evaluate[0]
    assert denoising.type == "denoising"
    assert denoising.noise.type == "outliers" and denoising.noise.fraction > 0 and denoising.noise.std > 0
    assert [item.type for item in spec.evaluate] == ["denoising", "reconstruction"]
    # The training data is clean, and the bottleneck has the dimension of the curve, so the
    # decoder's image psi(R^1) is a curve: the autoencoder cannot simply pass noise through.
    assert spec.manifold.noise.std == 0.0 and spec.model.latent_dim == 1


def test_tiny_run_reports_distances_with_exact_counts(tmp_path):
    result = geokeras.run(SPEC, out_dir=tmp_path / "run", overrides=TINY)
    metrics = result.metrics["denoising"]
    assert metrics["method"] == "exact_polyline" and metrics["resolution"] == 1024
    # Exactly round(0.1 * 200) = 20 outliers.
    assert metrics["outliers"]["count"] == 20 and metrics["inliers"]["count"] == 180
    # The clean test points lie on the spiral: their distance to its 1024-gon is below the
    # chord sagitta kappa_max h^2 / 8 (kappa_max <= 2 / a = 4 at theta = 0, h = L / 1024 < 0.02).
    assert metrics["reference_error"] < 4 * 0.02**2 / 8
    for group in ("all", "inliers", "outliers"):
        values = metrics[group]
        assert values["ratio"] == pytest.approx(values["after"]["mean"] / values["before"]["mean"])
        assert values["before"]["median"] <= values["before"]["p90"]
    assert (result.run_dir / "figures" / "denoising.png").is_file()
    assert math.isfinite(result.metrics["reconstruction"]["mse"])
