"""Noise on samples: Gaussian (isotropic or normal to the manifold) and outliers in the enlarged box."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.noise import OutlierNoise, bounding_box, project_to_normal_space
from geokeras.manifolds.params import OutlierNoiseParams


# ---------------------------------------------------------------- isotropic
@pytest.mark.parametrize("std", [0.01, 0.3])
def test_isotropic_noise_has_the_requested_std_per_coordinate(std):
    n, dim = 20000, 5
    helix = make({"type": "helix", "noise": {"type": "gaussian", "std": std}, "embed": {"ambient_dim": dim}})
    drawn = helix.draw(n, seed=4)
    noise = drawn.points - drawn.clean
    np.testing.assert_allclose(drawn.clean, helix.points_at(drawn.parameters), atol=1e-14)
    # Each coordinate: N(0, std^2). The sample std has standard error std / sqrt(2 n).
    np.testing.assert_allclose(noise.std(axis=0), std, rtol=0, atol=4 * std / math.sqrt(2 * n))
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, rtol=0, atol=4 * std / math.sqrt(n))
    # Independent coordinates: the correlation matrix is the identity up to 4 / sqrt(n).
    correlation = np.corrcoef(noise.T)
    assert np.max(np.abs(correlation - np.eye(dim))) < 4 / math.sqrt(n)
    assert stats.kstest(noise[:, 2] / std, "norm").pvalue > 0.01
    assert not drawn.outliers.any()


def test_noise_never_changes_the_parameters():
    keys = {"type": "archimedean_spiral", "turns": 2.0}
    _, clean = make(keys).sample_with_parameters(1000, seed=3)
    for noise in (
        {"std": 0.1},
        {"std": 0.1, "direction": "normal"},
        {"type": "outliers", "fraction": 0.2, "std": 0.05},
    ):
        _, noisy = make({**keys, "noise": noise}).sample_with_parameters(1000, seed=3)
        np.testing.assert_array_equal(noisy, clean)


# ---------------------------------------------------------------- normal
@pytest.mark.parametrize(
    "keys",
    [
        {"type": "circle", "radius": 2.0},
        {"type": "ellipse", "a": 3.0, "b": 0.5},
        {"type": "archimedean_spiral", "turns": 3.0, "embed": {"ambient_dim": 4}},
        {"type": "helix", "embed": {"ambient_dim": 5}},
        {"type": "trefoil", "embed": {"type": "nonlinear", "ambient_dim": 6, "strength": 0.6}},
        {"type": "koch", "order": 4},
        {"type": "hilbert", "dim": 3, "order": 2, "embed": {"ambient_dim": 4}},
    ],
)
def test_normal_noise_is_orthogonal_to_the_tangent(keys):
    std, n = 0.05, 20000
    curve = make({**keys, "noise": {"type": "gaussian", "std": std, "direction": "normal"}})
    drawn = curve.draw(n, seed=6)
    noise = drawn.points - drawn.clean
    tangent = curve.ambient_tangent_vectors(drawn.parameters)[:, 0, :]
    unit = tangent / np.linalg.norm(tangent, axis=1, keepdims=True)
    assert np.max(np.abs(np.sum(noise * unit, axis=1))) < 1e-14
    # Variance std^2 in each of the D - 1 normal directions: |noise|^2 / std^2 ~ chi^2(D - 1).
    dof = curve.ambient_dim - 1
    squared = np.sum(noise**2, axis=1) / std**2
    assert abs(squared.mean() - dof) < 4 * math.sqrt(2 * dof / n)
    assert stats.kstest(squared, stats.chi2(dof).cdf).pvalue > 0.01


def test_normal_noise_on_a_plane_curve_moves_along_the_normal_only():
    # The circle's normal is radial: the noise changes the radius, never the angle.
    circle = make({"type": "circle", "radius": 2.0, "noise": {"std": 0.1, "direction": "normal"}})
    points, t = circle.sample_with_parameters(5000, seed=1)
    angle = np.arctan2(points[:, 1], points[:, 0]) % (2 * np.pi)
    np.testing.assert_allclose(angle, t[:, 0], atol=1e-12)
    radial = np.linalg.norm(points, axis=1) - 2.0
    assert radial.std() == pytest.approx(0.1, abs=4 * 0.1 / math.sqrt(2 * 5000))


def test_project_to_normal_space_removes_the_tangent_part():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((100, 6))
    tangents = rng.standard_normal((100, 2, 6))
    projected = project_to_normal_space(vectors, tangents)
    assert np.max(np.abs(np.einsum("nd,nmd->nm", projected, tangents))) < 1e-13
    # A projection: applying it twice changes nothing, and v - P v lies in the tangent span.
    np.testing.assert_allclose(project_to_normal_space(projected, tangents), projected, atol=1e-14)
    residual = vectors - projected
    coefficients, *_ = np.linalg.lstsq(tangents[0].T, residual[0], rcond=None)
    np.testing.assert_allclose(tangents[0].T @ coefficients, residual[0], atol=1e-13)
    with pytest.raises(ValueError, match=r"shape \[n, m, D\]"):
        project_to_normal_space(vectors, tangents[:, :, :5])


def test_normal_noise_needs_a_tangent_space():
    # A data set has no tangent space: normal noise is a spec error naming the noise.
    with pytest.raises(SpecError, match="Received: direction='normal'") as info:
        make({"type": "digits", "noise": {"std": 0.1, "direction": "normal"}})
    assert info.value.path[:2] == ("noise",)


# ---------------------------------------------------------------- outliers
@pytest.mark.parametrize(
    "n, fraction, expected",
    [(1000, 0.1, 100), (20, 0.125, 3), (7, 0.5, 4), (500, 0.0, 0), (50, 1.0, 50), (999, 0.001, 1)],
)
def test_outlier_count_is_exactly_round_fraction_n(n, fraction, expected):
    helix = make({"type": "helix", "noise": {"type": "outliers", "fraction": fraction}})
    drawn = helix.draw(n, seed=2)
    assert int(drawn.outliers.sum()) == expected
    assert OutlierNoise(OutlierNoiseParams(fraction=fraction)).outlier_count(n) == expected
    # Without Gaussian noise every other sample is left exactly on the helix.
    np.testing.assert_array_equal(drawn.points[~drawn.outliers], drawn.clean[~drawn.outliers])


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.5])
def test_outliers_are_uniform_in_the_enlarged_bounding_box(margin):
    n = 10000
    spiral = make(
        {
            "type": "archimedean_spiral",
            "turns": 2.0,
            "embed": {"ambient_dim": 3},
            "noise": {"type": "outliers", "fraction": 0.3, "box_margin": margin},
        }
    )
    drawn = spiral.draw(n, seed=5)
    outliers = drawn.points[drawn.outliers]
    assert len(outliers) == 3000
    low, high = drawn.clean.min(axis=0), drawn.clean.max(axis=0)
    box_low, box_high = low - margin * (high - low), high + margin * (high - low)
    np.testing.assert_allclose(bounding_box(drawn.clean, margin), (box_low, box_high))
    assert np.all(outliers >= box_low) and np.all(outliers <= box_high)
    for axis in range(3):  # uniform in each coordinate
        assert (
            stats.kstest((outliers[:, axis] - box_low[axis]) / (box_high[axis] - box_low[axis]), "uniform").pvalue
            > 0.01
        )


def test_outliers_with_gaussian_noise_use_the_noisy_box_and_separate_streams():
    keys = {"type": "circle", "embed": {"ambient_dim": 2}}
    quiet = make({**keys, "noise": {"type": "outliers", "fraction": 0.2}}).draw(2000, seed=9)
    noisy = make({**keys, "noise": {"type": "outliers", "fraction": 0.2, "std": 0.05}}).draw(2000, seed=9)
    # The choice of the replaced samples does not depend on the Gaussian noise.
    np.testing.assert_array_equal(quiet.outliers, noisy.outliers)
    inliers = noisy.points[~noisy.outliers] - noisy.clean[~noisy.outliers]
    assert inliers.std() == pytest.approx(0.05, abs=4 * 0.05 / math.sqrt(2 * inliers.size))
    # The box is that of the noisy samples, so it reaches past the clean circle's [-1, 1]^2.
    assert np.abs(noisy.points[noisy.outliers]).max() > 1.0 + 0.1 * 2.0


def test_same_seed_same_noise():
    keys = {"type": "koch", "order": 3, "noise": {"type": "outliers", "fraction": 0.1, "std": 0.01}}
    np.testing.assert_array_equal(make(keys).sample(300, seed=1), make(keys).sample(300, seed=1))
    assert not np.allclose(make(keys).sample(300, seed=1), make(keys).sample(300, seed=2))


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "circle", "noise": {"std": -0.1}}, ("noise", "std"), "greater than or equal to 0"),
        ({"type": "circle", "noise": {"direction": "radial"}}, ("noise", "direction"), "'isotropic' or 'normal'"),
        (
            {"type": "circle", "noise": {"type": "outliers", "fraction": 1.5}},
            ("noise", "fraction"),
            "less than or equal to 1",
        ),
        (
            {"type": "circle", "noise": {"type": "outliers", "box_margin": -0.1}},
            ("noise", "box_margin"),
            "greater than or equal to 0",
        ),
        ({"type": "circle", "noise": {"type": "gaussian", "fraction": 0.1}}, ("noise", "fraction"), "unknown key"),
        ({"type": "circle", "noise": {"type": "salt"}}, ("noise", "type"), "gaussian"),
    ],
)
def test_bad_noise_names_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


@pytest.mark.parametrize("keys", [{"type": "koch", "order": 5}, {"type": "peano", "dim": 3, "order": 1}])
def test_normal_noise_on_a_polygonal_curve_is_orthogonal_to_its_segment(keys):
    # The tangent is the direction of the segment holding the sample, even next to a corner
    # (a finite difference there would mix two segments' directions).
    curve = make({**keys, "noise": {"std": 0.01, "direction": "normal"}})
    segments = curve.segments
    # Half the parameters within 1e-7 (in u) of a vertex, on either side.
    rng = np.random.default_rng(4)
    vertex = rng.integers(1, segments, 2000)
    u = np.concatenate([rng.random(2000), (vertex + rng.uniform(-1e-7, 1e-7, 2000) * segments) / segments])
    vertices, _ = curve.polyline()
    index = np.minimum(np.floor(u * segments).astype(int), segments - 1)
    directions = vertices[index + 1] - vertices[index]
    noise = np.random.default_rng(0).standard_normal((u.size, curve.ambient_dim))
    normal = project_to_normal_space(noise, curve.ambient_tangent_vectors(u[:, None]))
    assert np.max(np.abs(np.sum(normal * directions, axis=1))) < 1e-12 * np.linalg.norm(directions, axis=1).max()
