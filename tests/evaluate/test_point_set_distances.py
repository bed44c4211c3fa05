"""Tiled nearest-neighbour, Chamfer and Hausdorff distances against known answers and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, directed_hausdorff

from geokeras.evaluate.reconstruction import (
    chamfer_distance,
    hausdorff_distance,
    nearest_neighbour_distances,
    point_set_distances,
)


def grid(n: int) -> np.ndarray:
    """The 1-D grid {0, 1, ..., n-1} on the x-axis of the plane, shape=[n, 2]."""
    return np.c_[np.arange(n, dtype=np.float64), np.zeros(n)]


def test_identical_sets_give_exactly_zero():
    points = np.random.default_rng(0).normal(size=(300, 4)) * 10.0
    distances = point_set_distances(points, points, tile_size=64)
    assert distances.chamfer == 0.0 and distances.hausdorff == 0.0


def test_grid_shifted_across_is_at_distance_h_everywhere():
    x = grid(50)
    h = 0.3
    y = x + [0.0, h]
    assert chamfer_distance(x, y, tile_size=7) == pytest.approx(2 * h, abs=1e-15)
    assert hausdorff_distance(x, y, tile_size=7) == pytest.approx(h, abs=1e-15)


def test_grid_shifted_along_by_more_than_half_a_step():
    # Y = X + 0.7: every x_i (i >= 1) is 0.3 from y_{i-1}, but x_0 is 0.7 from y_0; every
    # y_j (j <= n-2) is 0.3 from x_{j+1}, but y_{n-1} is 0.7 from x_{n-1}.
    n = 40
    x = grid(n)
    y = x + [0.7, 0.0]
    distances = point_set_distances(x, y, tile_size=3)
    expected_mean = ((n - 1) * 0.3 + 0.7) / n
    assert distances.mean_x_to_y == pytest.approx(expected_mean, abs=1e-14)
    assert distances.mean_y_to_x == pytest.approx(expected_mean, abs=1e-14)
    assert distances.chamfer == pytest.approx(2 * expected_mean, abs=1e-14)
    assert distances.hausdorff == pytest.approx(0.7, abs=1e-14)
    np.testing.assert_allclose(nearest_neighbour_distances(x, y, 5), [0.7] + [0.3] * (n - 1), atol=1e-14)


@pytest.mark.parametrize("dim", [1, 3, 10])
@pytest.mark.parametrize("tile_size", [1, 7, 64, 1000])
def test_tiled_matches_brute_force_cdist(dim, tile_size):
    rng = np.random.default_rng(dim * 100 + tile_size)
    x = rng.normal(size=(203, dim))
    y = rng.normal(size=(157, dim)) + 0.1
    brute = cdist(x, y)
    np.testing.assert_allclose(nearest_neighbour_distances(x, y, tile_size), brute.min(axis=1), rtol=1e-12, atol=0)
    np.testing.assert_allclose(nearest_neighbour_distances(y, x, tile_size), brute.min(axis=0), rtol=1e-12, atol=0)
    distances = point_set_distances(x, y, tile_size)
    assert distances.chamfer == pytest.approx(brute.min(axis=1).mean() + brute.min(axis=0).mean(), rel=1e-12)
    expected_hausdorff = max(directed_hausdorff(x, y)[0], directed_hausdorff(y, x)[0])
    assert distances.hausdorff == pytest.approx(expected_hausdorff, rel=1e-12)
    assert distances.max_x_to_y == pytest.approx(directed_hausdorff(x, y)[0], rel=1e-12)


@pytest.mark.parametrize(
    "x, y, tile_size, message",
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), 4, "same dimension"),
        (np.zeros((0, 2)), np.zeros((3, 2)), 4, r"shape=\[0, 2\]"),
        (np.array([[np.nan, 0.0]]), np.zeros((3, 2)), 4, "finite"),
        (np.zeros((3, 2)), np.zeros((3, 2)), 0, "tile_size=0"),
    ],
)
def test_bad_inputs_raise_value_error(x, y, tile_size, message):
    with pytest.raises(ValueError, match=message):
        nearest_neighbour_distances(x, y, tile_size)
