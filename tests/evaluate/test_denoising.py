"""The denoising evaluator: distances to Σ before and after the autoencoder (known answers)."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import trimesh

from geokeras.evaluate import run_evaluators
from geokeras.evaluate.denoising import (
    SEED_PURPOSE,
    distances_to_mesh,
    distances_to_polyline,
    evaluate_denoising,
    noisy_test_points,
)
from geokeras.evaluate.params import DenoisingParams
from geokeras.manifolds import make
from geokeras.seeds import purpose_seed
from tests.evaluate.test_reconstruction_evaluator import context_for

CIRCLE_CHORD_SAGITTA = 1.0 - math.cos(math.pi / 4096)  # max distance of the unit circle from its 4096-gon


def identity(x):
    return np.asarray(x)


def onto_unit_circle(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def params(**keys) -> DenoisingParams:
    return DenoisingParams.model_validate({"samples": 400, **keys})


# ----------------------------------------------------------------- exact distances
def test_distance_of_a_point_at_radius_r_from_the_unit_circle_is_abs_r_minus_1():
    vertices, closed = make({"type": "circle"}).polyline(4096)
    radii = np.array([0.0, 0.25, 0.9, 1.0, 1.3, 4.0])
    angles = np.random.default_rng(0).uniform(0, 2 * np.pi, radii.size)
    points = radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    distances = distances_to_polyline(points, vertices, closed)
    # The 4096-gon lies within its sagitta 1 - cos(pi / 4096) ~ 2.9e-7 of the circle.
    np.testing.assert_allclose(distances, np.abs(radii - 1.0), atol=CIRCLE_CHORD_SAGITTA + 1e-15)


def test_polyline_distances_match_brute_force_segments_and_open_ends():
    vertices = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    points = np.array([[0.5, -2.0], [2.0, 0.5], [-3.0, -4.0], [1.0, 3.0], [0.0, 1.0]])
    np.testing.assert_allclose(distances_to_polyline(points, vertices), [2.0, 1.0, 5.0, 2.0, 1.0])
    # Closing the polyline adds the segment (1, 1) -> (0, 0): (0, 1) is sqrt(2)/2 from it.
    assert distances_to_polyline(points, vertices, closed=True)[4] == pytest.approx(math.sqrt(0.5))


def test_mesh_distances_equal_trimesh_closest_points():
    vertices, faces = make({"type": "torus"}).mesh(10)
    points = np.random.default_rng(1).normal(scale=2.0, size=(40, 3))
    triangles = vertices[faces]
    expected = [
        np.linalg.norm(
            trimesh.triangles.closest_point(triangles, np.repeat(p[None], len(triangles), 0)) - p, axis=1
        ).min()
        for p in points
    ]
    np.testing.assert_allclose(distances_to_mesh(points, vertices, faces), expected, atol=1e-12)


def test_mesh_distance_works_in_higher_dimension_and_on_the_plane():
    # One triangle in the plane x3 = x4 = 0 of R^4: the offset (0, 0, 3, 4) is 5 away.
    vertices = np.array([[0.0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    points = np.array([[0.2, 0.2, 3.0, 4.0], [2.0, 0.0, 0.0, 0.0], [-1.0, -1.0, 0.0, 0.0]])
    np.testing.assert_allclose(distances_to_mesh(points, vertices, [[0, 1, 2]]), [5.0, 1.0, math.sqrt(2.0)])


def test_bad_shapes_are_refused_with_what_was_received():
    with pytest.raises(ValueError, match=r"Expected `points` of shape \[n, 2\]"):
        distances_to_polyline(np.zeros((3, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="face indices"):
        distances_to_mesh(np.zeros((1, 3)), np.zeros((3, 3)), [[0, 1, 3]])


# ----------------------------------------------------------------- the evaluator
def test_identity_autoencoder_leaves_the_distances_unchanged():
    circle = make({"type": "circle"})
    metrics = evaluate_denoising(params(), context_for(circle, identity))
    for group in ("all", "inliers", "outliers"):
        assert metrics[group]["after"] == metrics[group]["before"]
        assert metrics[group]["ratio"] == pytest.approx(1.0)
        assert metrics[group]["improved_share"] == 0.0
    assert metrics["method"] == "exact_polyline" and metrics["resolution"] == 4096
    assert metrics["reference_error"] <= CIRCLE_CHORD_SAGITTA + 1e-15
    assert metrics["clean"]["p90"] <= metrics["reference_error"]  # psi(phi(c)) = c lies on Σ


def test_projection_onto_the_circle_removes_all_noise_and_outliers():
    circle = make({"type": "circle"})
    metrics = evaluate_denoising(
        params(noise={"type": "outliers", "fraction": 0.2, "std": 0.1}), context_for(circle, onto_unit_circle)
    )
    for group in ("all", "inliers", "outliers"):
        assert metrics[group]["after"]["p90"] <= 1e-6 and metrics[group]["after"]["mean"] <= 1e-6
        assert metrics[group]["before"]["mean"] > 0.01
        assert metrics[group]["ratio"] < 1e-4
    assert metrics["clean"]["mean"] <= 1e-6
    # The outliers are uniform in the enlarged box: farther from Σ than the inliers (std 0.1).
    assert metrics["outliers"]["before"]["mean"] > metrics["inliers"]["before"]["mean"]


def test_projection_as_a_keras_model():
    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.UnitNormalization(axis=-1)(inputs)
    model = keras.Model(inputs, outputs)
    metrics = evaluate_denoising(params(noise={"std": 0.2}), context_for(make({"type": "circle"}), model))
    assert metrics["noise"] == "gaussian" and "inliers" not in metrics
    assert metrics["all"]["after"]["mean"] <= 1e-6  # float32 model: |x/|x|| = 1 to ~1e-7


@pytest.mark.parametrize("fraction, n", [(0.1, 400), (0.25, 101), (0.5, 3), (0.0, 50), (1.0, 7)])
def test_outlier_and_inlier_counts_are_round_fraction_times_n(fraction, n):
    metrics = evaluate_denoising(
        params(samples=n, noise={"type": "outliers", "fraction": fraction, "std": 0.05}),
        context_for(make({"type": "circle"}), identity),
    )
    outliers = int(math.floor(fraction * n + 0.5))
    assert metrics["outliers"]["count"] == outliers
    assert metrics["inliers"]["count"] == n - outliers
    assert metrics["all"]["count"] == n


def test_normal_gaussian_noise_on_the_unit_circle_gives_half_normal_distances():
    # x = c + s z n(c) with |c| = 1 and n(c) = +-c: |x| = 1 +- s z, so d(x, Σ) = s |z|, half-normal
    # with mean s sqrt(2 / pi) (standard error 1.2% of it at n = 4000; 5% is 4 of them).
    std = 0.1
    metrics = evaluate_denoising(
        params(samples=4000, noise={"std": std, "direction": "normal"}), context_for(make({"type": "circle"}), identity)
    )
    assert metrics["all"]["before"]["mean"] == pytest.approx(std * math.sqrt(2 / math.pi), rel=0.05)
    assert metrics["all"]["before"]["median"] == pytest.approx(std * 0.6744897501960817, rel=0.06)


def test_test_points_use_the_purpose_seed_and_the_shared_noise_models():
    circle = make({"type": "circle", "noise": {"std": 0.3}})  # the training noise is not used
    p = params(noise={"type": "outliers", "fraction": 0.1, "std": 0.05})
    seed = purpose_seed(5, SEED_PURPOSE)
    clean, noisy, outliers = noisy_test_points(circle, p, seed)
    same = make({"type": "circle", "noise": {"type": "outliers", "fraction": 0.1, "std": 0.05}}).draw(400, seed)
    np.testing.assert_array_equal(clean, same.clean)
    np.testing.assert_array_equal(noisy, same.points)
    np.testing.assert_array_equal(outliers, same.outliers)
    np.testing.assert_allclose(np.linalg.norm(clean, axis=1), 1.0)


def test_surface_uses_the_exact_mesh_and_draws_a_figure(tmp_path):
    sphere = make({"type": "sphere"})
    context = context_for(sphere, onto_unit_circle, figures_dir=tmp_path / "figures")  # x/|x|: onto S^2
    metrics = evaluate_denoising(params(samples=200, mesh_resolution=64), context)
    assert metrics["method"] == "exact_mesh" and metrics["resolution"] == 64
    # The mesh's triangles lie within ~(pi/64)^2/2 of the sphere: so do the projections.
    assert metrics["reference_error"] < 2e-3 and metrics["all"]["after"]["p90"] < 2e-3
    assert (tmp_path / "figures" / "denoising.png").stat().st_size > 0
    assert context.figures == [("Denoising: noisy points and their reconstructions over Σ", "figures/denoising.png")]


def test_without_a_mesh_or_polyline_a_dense_sample_stands_in():
    circle_as_sphere = make({"type": "sphere", "dim": 1})
    metrics = evaluate_denoising(
        params(samples=100, reference_samples=20000, noise={"std": 0.1}), context_for(circle_as_sphere, identity)
    )
    assert metrics["method"] == "dense_sample" and metrics["resolution"] == 20000
    # 20000 samples of the unit circle: gaps ~ 2 pi / 20000, covering radius ~1e-3 at most.
    assert metrics["reference_error"] < 2e-3


def test_a_full_dimensional_distribution_reports_unavailable():
    mixture = make({"type": "gaussian_mixture"})
    metrics = evaluate_denoising(params(samples=50), context_for(mixture, identity))
    assert metrics["method"] == "unavailable" and "full dimension" in metrics["reason"]
    assert "all" not in metrics


def test_run_evaluators_accepts_the_bare_name():
    results = run_evaluators(["denoising"], context_for(make({"type": "circle"}), onto_unit_circle))
    assert results["denoising"]["samples"] == 2000 and results["denoising"]["noise"] == "outliers"
    assert results["denoising"]["all"]["after"]["mean"] < 1e-6
