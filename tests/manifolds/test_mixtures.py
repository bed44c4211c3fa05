"""gaussian_mixture: exact centres, the mode index as ground truth, validation messages."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from geokeras.errors import SpecError
from geokeras.manifolds import make


def test_circle_layout_centres_are_the_kth_roots_of_unity_scaled():
    mixture = make({"type": "gaussian_mixture", "layout": "circle", "modes": 8, "radius": 2.0})
    angles = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(mixture.centers, 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1), atol=1e-15)
    assert mixture.mode_count == 8 and mixture.intrinsic_dim == 2 and mixture.parameter_dim == 3
    assert mixture.parameter_names == ("mode", "z_1", "z_2")


def test_grid_layout_is_centred_with_the_given_spacing():
    mixture = make({"type": "gaussian_mixture", "layout": "grid", "grid_size": 5, "spacing": 2.0, "dim": 3})
    centers = mixture.centers
    assert centers.shape == (25, 3)
    assert sorted(set(centers[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert sorted(set(centers[:, 1])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert np.all(centers[:, 2] == 0.0)
    np.testing.assert_array_equal(centers[7], [-2.0, 0.0, 0.0])  # j = a * 5 + b with a = 1, b = 2


def test_samples_are_centre_plus_std_times_offset_and_mode_of_recovers_the_mode():
    mixture = make({"type": "gaussian_mixture", "modes": 8, "std": 0.05, "samples": 10})
    points, parameters = mixture.sample_with_parameters(4000, seed=1)
    modes = parameters[:, 0].astype(int)
    np.testing.assert_allclose(points, mixture.centers[modes] + 0.05 * parameters[:, 1:], atol=1e-14)
    np.testing.assert_array_equal(mixture.points_at(parameters), points)
    found, distances = mixture.mode_of(points)
    np.testing.assert_array_equal(found, modes)  # modes 1.53 apart, std 0.05: no sample is closer to another centre
    np.testing.assert_allclose(distances, 0.05 * np.linalg.norm(parameters[:, 1:], axis=1), atol=1e-12)


def test_mode_frequencies_follow_the_weights():
    mixture = make(
        {"type": "gaussian_mixture", "layout": "custom", "centers": [[0, 0], [5, 0], [0, 5]], "weights": [1, 2, 1]}
    )
    n = 20000
    counts = np.bincount(mixture.sample_with_parameters(n, seed=2)[1][:, 0].astype(int), minlength=3)
    expected = np.array([0.25, 0.5, 0.25])
    binomial_std = np.sqrt(n * expected * (1 - expected))
    assert np.all(np.abs(counts - n * expected) < 4 * binomial_std), counts


def test_off_mode_radius_holds_the_quantile_of_each_gaussian():
    mixture = make({"type": "gaussian_mixture", "modes": 3, "std": 0.1, "dim": 4})
    assert mixture.off_mode_radius(0.9) == pytest.approx(0.1 * np.sqrt(chi2.ppf(0.9, 4)), rel=1e-12)
    _, distances = mixture.mode_of(mixture.sample(20000, seed=3))
    inside = np.mean(distances <= mixture.off_mode_radius(0.9))
    assert abs(inside - 0.9) < 4 * np.sqrt(0.9 * 0.1 / 20000)


def test_mode_of_sees_through_an_isometric_embedding():
    mixture = make({"type": "gaussian_mixture", "modes": 6, "std": 0.05, "embed": {"ambient_dim": 7}})
    points, parameters = mixture.sample_with_parameters(500, seed=4)
    assert points.shape == (500, 7)
    np.testing.assert_array_equal(mixture.mode_of(points)[0], parameters[:, 0].astype(int))
    np.testing.assert_allclose(np.linalg.norm(mixture.ambient_centers, axis=1), 2.0, rtol=1e-12)


@pytest.mark.parametrize(
    "mapping, key, fragment",
    [
        ({"layout": "custom"}, (), "expected `centers`"),
        ({"layout": "custom", "centers": [[0, 0], [1, 2, 3]]}, (), "Received centre lengths: [2, 3]"),
        ({"layout": "grid", "centers": [[0, 0]]}, (), "expected centers: null for layout: grid"),
        ({"modes": 3, "weights": [1, 2]}, (), "one weight per mode (3 modes). Received 2 weights"),
        ({"dim": 1}, (), "expected dim >= 2 for layout: circle"),
        ({"std": 0}, ("std",), "greater than 0"),
        ({"measure": {"type": "von_mises_fisher", "mean_direction": [1, 0]}}, ("measure",), "'volume' or 'parameter'"),
    ],
)
def test_invalid_parameters_name_the_key(mapping, key, fragment):
    with pytest.raises(SpecError) as raised:
        make({"type": "gaussian_mixture", **mapping})
    assert fragment in str(raised.value)
    assert raised.value.path == key


def test_mode_parameter_must_be_a_valid_index():
    mixture = make({"type": "gaussian_mixture", "modes": 4})
    with pytest.raises(ValueError, match=r"integers in \[0, 3\]. Received values in \[0.5, 0.5\]"):
        mixture.points_at(np.array([[0.5, 0.0, 0.0]]))
