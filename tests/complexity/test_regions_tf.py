"""The TensorFlow box count (geokeras.complexity.regions_tf) against closed forms and the numpy counter."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.mesh import RegionBudgetExceeded, count_regions_in_box
from geokeras.complexity.regions_tf import count_regions_in_box_tf
from tests.complexity.test_mesh import exact_box_count, one_hidden_layer, random_network, three_lines

BOX = ([-1.0, -1.0], [1.0, 1.0])


def single_layer(weight, bias) -> LoweredNetwork:
    weight = np.asarray(weight, dtype=np.float64)
    hidden = AffineLayer(weight, np.asarray(bias, dtype=np.float64), "relu")
    return LoweredNetwork((hidden, AffineLayer(np.ones((weight.shape[1], 1)), np.zeros(1), "linear")))


@pytest.mark.parametrize("units,seed", [(3, 0), (8, 1), (21, 2)])
def test_one_hidden_layer_in_general_position_matches_the_arrangement_count(units, seed):
    network = one_hidden_layer(units, seed)
    result = count_regions_in_box_tf(network, *BOX)
    expected = exact_box_count(network.layers[0].weight, network.layers[0].bias, *BOX)
    assert (result.regions, result.cells) == (expected, expected)
    assert not result.exact_fallback
    assert result.area == pytest.approx(4.0, rel=1e-12)


def test_a_box_holding_every_intersection_has_1_plus_n_plus_n_choose_2_regions():
    rng = np.random.default_rng(3)
    units = 10
    angles = rng.uniform(0.0, np.pi, size=units)
    weight = np.stack([np.cos(angles), np.sin(angles)])
    result = count_regions_in_box_tf(single_layer(weight, 1e-3 * rng.normal(size=units)), [-1e3, -1e3], [1e3, 1e3])
    assert result.regions == 1 + units + units * (units - 1) // 2


@pytest.mark.parametrize(
    "weight,bias,regions",
    [
        ([1.0, -1.0], 0.0, 2),  # the diagonal through two corners
        ([1.0, 0.0], 1.0, 1),  # along the edge x = -1
        ([1.0, 1.0], 2.0, 1),  # through the corner (-1, -1) only
        ([1.0, 1.0], 2.0 - 1e-7, 2),  # a corner triangle of area 5e-15
    ],
)
def test_lines_through_corners_and_along_edges_are_decided_exactly(weight, bias, regions):
    result = count_regions_in_box_tf(single_layer(np.reshape(weight, (2, 1)), [bias]), *BOX)
    assert (result.regions, result.cells) == (regions, regions)


def test_coincident_lines_make_no_extra_region_and_fall_back_to_the_exact_counter():
    weight = np.array([[1.0, 2.5, -1.0], [2.0, 5.0, -2.0]])  # one line x + 2y = 0.25, three times
    result = count_regions_in_box_tf(single_layer(weight, [-0.25, -0.625, 0.25]), *BOX)
    assert (result.regions, result.cells) == (2, 2)
    assert result.exact_fallback and result.device == ""
    assert sorted(map(tuple, result.patterns.astype(int))) == [(0, 0, 1), (1, 1, 0)]


def test_a_tiny_planted_triangle_is_a_region():
    assert count_regions_in_box_tf(three_lines(2.0**-23), *BOX).regions == 7


@pytest.mark.parametrize(
    "widths,seed,activation",
    [([2, 6, 6, 6, 6, 1], 0, "relu"), ([2, 5, 7, 4, 2], 1, "leaky_relu"), ([2, 12, 12, 12, 1], 4, "relu")],
)
def test_deep_random_networks_have_the_regions_and_cells_of_the_numpy_counter(widths, seed, activation):
    network = random_network(widths, seed, activation, 0.1 if activation == "leaky_relu" else 0.0)
    expected = count_regions_in_box(network, *BOX)
    result = count_regions_in_box_tf(network, *BOX)
    assert (result.regions, result.cells) == (expected.regions, expected.cells)
    np.testing.assert_array_equal(np.unique(result.patterns, axis=0), np.unique(expected.patterns.astype(bool), axis=0))
    assert result.area == pytest.approx(4.0, rel=1e-12)


def test_the_polygon_budget_is_enforced():
    network = random_network([2, 8, 8, 1], 5)
    total = count_regions_in_box(network, *BOX).regions
    with pytest.raises(RegionBudgetExceeded, match="max_polygons"):
        count_regions_in_box_tf(network, *BOX, max_polygons=total - 1)
    assert count_regions_in_box_tf(network, *BOX, max_polygons=total).regions == total


def test_invalid_inputs_are_reported_with_what_was_received():
    with pytest.raises(ValueError, match="input dimension 2"):
        count_regions_in_box_tf(random_network([3, 4, 1], 0), *BOX)
    with pytest.raises(ValueError, match="low < high"):
        count_regions_in_box_tf(random_network([2, 4, 1], 0), [1.0, 0.0], [0.0, 1.0])
