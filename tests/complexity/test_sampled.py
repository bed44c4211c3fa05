"""Sampled activation-pattern counts, a lower bound (geokeras.complexity.sampled)."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.polyline import count_regions_on_polyline
from geokeras.complexity.sampled import count_regions_sampled
from tests.complexity.test_polyline import random_network, spiral


def test_sampled_patterns_are_a_subset_of_the_exact_cells_along_the_curve():
    rng = np.random.default_rng(0)
    network = random_network(rng, [2, 16, 16, 1])
    vertices = spiral(200)
    exact = count_regions_on_polyline(network, vertices)
    segment = rng.integers(0, 200, size=5000)
    t = rng.random(5000)
    points = vertices[segment] + t[:, None] * (vertices[segment + 1] - vertices[segment])
    sampled = count_regions_sampled(network, points, batch_size=777)
    exact_cells = {row.tobytes() for row in exact.patterns}
    assert {row.tobytes() for row in sampled.patterns} <= exact_cells
    assert sampled.cells <= exact.cells
    assert sampled.bound == "lower" and sampled.samples == 5000
    np.testing.assert_array_equal(sampled.patterns[sampled.sample_cells], network.activation_pattern(points))


def test_one_hyperplane_gives_two_cells_and_a_dead_network_one():
    half = LoweredNetwork(
        (AffineLayer(np.array([[1.0], [0.0]]), np.zeros(1), "relu"), AffineLayer(np.ones((1, 1)), np.zeros(1)))
    )
    points = np.random.default_rng(1).normal(size=(100, 2))
    assert count_regions_sampled(half, points).cells == 2
    dead = LoweredNetwork(
        (AffineLayer(np.zeros((2, 4)), -np.ones(4), "relu"), AffineLayer(np.ones((4, 1)), np.zeros(1)))
    )
    result = count_regions_sampled(dead, points)
    assert result.cells == 1 and result.as_metrics() == {"cells": 1, "samples": 100, "bound": "lower"}


def test_one_hidden_layer_in_general_position_reaches_the_arrangement_count_with_dense_samples():
    # 4 lines through the disk of radius 1 around the origin, all 6 intersections inside the
    # box [-3, 3]^2; every region has area > 0.01, so a 600 x 600 grid meets all of them:
    # 1 + 4 + 6 = 11 (and the sampled count can never exceed it).
    angles = np.array([0.1, 0.9, 1.7, 2.6])
    normals = np.stack([np.cos(angles), np.sin(angles)])
    network = LoweredNetwork(
        (AffineLayer(normals, np.array([0.2, -0.3, 0.1, 0.25]), "relu"), AffineLayer(np.ones((4, 1)), np.zeros(1)))
    )
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 600), np.linspace(-3, 3, 600)), axis=-1).reshape(-1, 2)
    assert count_regions_sampled(network, grid).cells == 11


def test_image_samples_are_flattened_and_shapes_are_checked():
    network = random_network(np.random.default_rng(2), [12, 6, 1])
    images = np.random.default_rng(3).normal(size=(40, 2, 3, 2))
    assert count_regions_sampled(network, images).samples == 40
    with pytest.raises(ValueError, match=r"shape \[N, 12\]. Received: shape=\[40, 5\]"):
        count_regions_sampled(network, np.zeros((40, 5)))
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        count_regions_sampled(network, images, batch_size=0)
