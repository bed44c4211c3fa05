"""Degenerate targets: equal targets merged, one repeated point refused, collinear targets solved."""

from __future__ import annotations

import re

import numpy as np
import pytest

from geokeras.errors import GeokerasInputError
from geokeras.ot.degenerate import merge_duplicate_targets
from geokeras.ot.newton import _clip, power_cells, power_neighbours
from geokeras.ot.solve import mass_errors, solve

QUADRANT_TARGETS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)


def test_equal_targets_merge_in_order_of_first_occurrence_with_summed_weights():
    targets = np.array([[0.0, 1.0], [2.0, 3.0], [-0.0, 1.0], [4.0, 5.0], [2.0, 3.0]], np.float32)
    merged = merge_duplicate_targets(targets, np.array([0.1, 0.2, 0.3, 0.15, 0.25]))
    np.testing.assert_array_equal(merged.targets, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_allclose(merged.weights, [0.4, 0.45, 0.15], rtol=1e-15)
    np.testing.assert_array_equal(merged.index, [0, 1, 0, 2, 1])
    assert merged.merged == 2
    distinct = merge_duplicate_targets(QUADRANT_TARGETS, np.full(4, 0.25))
    np.testing.assert_array_equal(distinct.index, [0, 1, 2, 3])
    assert distinct.merged == 0 and distinct.targets is not None


def test_duplicates_give_the_cell_masses_of_the_premerged_weighted_problem():
    # Seven codes, three distinct points repeated: the same measure as the quadrants weighted 3, 1, 2, 1.
    codes = QUADRANT_TARGETS[[0, 1, 2, 3, 0, 2, 0]]
    result = solve(codes, solver="newton")
    premerged = solve(QUADRANT_TARGETS, [3, 1, 2, 1], solver="newton")
    assert result.converged and result.targets_merged == 3
    np.testing.assert_array_equal(result.targets, QUADRANT_TARGETS)
    np.testing.assert_array_equal(result.target_index, [0, 1, 2, 3, 0, 2, 0])
    np.testing.assert_array_equal(result.heights, premerged.heights)
    areas, _, _ = power_cells(result.targets, result.heights, -0.5, 0.5)
    np.testing.assert_allclose(areas, np.array([3, 1, 2, 1]) / 7, rtol=1e-9)
    metrics = result.to_metrics()
    assert metrics["targets"] == 7 and metrics["targets_merged"] == 3 and "warning" not in metrics
    # Every code maps to its own value: the layer's cell of a source point is a merged index.
    x = np.array([[0.3, 0.3], [-0.3, -0.3]], np.float32)
    np.testing.assert_array_equal(result.layer(x).numpy(), codes[[0, 2]])


def test_monte_carlo_converges_on_duplicated_codes():
    # Unmerged, a duplicate ties with its twin in every score and its cell stays empty forever.
    codes = QUADRANT_TARGETS[[0, 1, 1, 2, 3, 3, 3, 0]]
    result = solve(codes, tol=0.05, seed=1, time_limit=60)
    assert result.converged and result.targets_merged == 4 and result.empty_cells == 0
    areas, _, _ = power_cells(result.targets, result.heights, -0.5, 0.5)
    assert 0.5 * np.abs(areas - np.array([2, 2, 1, 3]) / 8).sum() <= 1.25 * 0.05


def test_all_identical_codes_are_refused_naming_the_cause():
    message = (
        "Expected at least two distinct targets to transport onto. Received: all 256 targets (latent codes) "
        "are the same point [0.5, -1]: the encoder collapsed, so the OT map and generation would send "
        "everything to one code. Check the reconstruction error and the training (learning rate, code_l1, "
        "activations) before solving."
    )
    codes = np.tile(np.array([[0.5, -1.0]], np.float32), (256, 1))
    for solver in ("newton", "monte_carlo_adam"):
        with pytest.raises(GeokerasInputError, match=f"^{re.escape(message)}$"):
            solve(codes, solver=solver)
    # One target given on purpose is the trivial problem: everything maps to it, exactly.
    single = solve(codes[:1], solver="newton")
    assert single.converged and single.tv == 0.0 and single.max_rel_mass_error == 0.0
    np.testing.assert_array_equal(single.heights, [0.0])


def test_codes_on_a_coordinate_line_give_strips_at_the_weight_quantiles():
    # Codes (t_i, 0): every cell is a vertical strip of [-1/2, 1/2]^2, so cell i is
    # {x_1 in [F_{i-1}, F_i] - 1/2}, F = cumsum(nu), and the boundary between i and i + 1 sits at
    # x_1 = (h_i - h_{i+1}) / (t_{i+1} - t_i).
    t = np.array([-1.0, -0.7, -0.1, 0.05, 0.6, 2.0])
    weights = np.array([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
    codes = np.column_stack([t, np.zeros(6)]).astype(np.float32)
    result = solve(codes, weights, solver="newton")
    assert result.converged and result.max_rel_mass_error <= 1e-8 and result.empty_cells == 0
    areas, _, _ = power_cells(codes, result.heights, -0.5, 0.5)
    np.testing.assert_allclose(areas, weights, rtol=1e-8)
    boundaries = (result.heights[:-1] - result.heights[1:]) / np.diff(t)
    np.testing.assert_allclose(boundaries, np.cumsum(weights)[:-1] - 0.5, atol=1e-9)
    # Monte-Carlo on the same codes: TV <= tol bounds every union of cells, so every boundary.
    sampled = solve(codes, weights, tol=0.01, seed=2, time_limit=60)
    assert sampled.converged and sampled.empty_cells == 0
    sampled_boundaries = (sampled.heights[:-1] - sampled.heights[1:]) / np.diff(t)
    np.testing.assert_allclose(sampled_boundaries, np.cumsum(weights)[:-1] - 0.5, atol=1.25 * 0.01)


def test_codes_on_a_slanted_line_converge_to_the_target_weights():
    t = np.linspace(-1.0, 1.0, 12) ** 3
    codes = (0.3 + t[:, None] * np.array([[0.6, -0.8]])).astype(np.float32)
    weights = np.linspace(1.0, 2.0, 12)
    result = solve(codes, weights, source={"type": "uniform_cube", "low": 0, "high": 1}, solver="newton")
    assert result.converged and result.max_rel_mass_error <= 1e-8
    areas, _, _ = power_cells(codes, result.heights, 0.0, 1.0)
    np.testing.assert_allclose(areas, weights / weights.sum(), rtol=1e-8)


def test_collinear_neighbours_come_from_the_one_dimensional_hull_and_give_exact_cells():
    # Random heights empty some cells in the whole line; the 1-D hull must find exactly the
    # non-empty ones and their neighbours: the same cells as clipping by every constraint.
    rng = np.random.default_rng(7)
    t = np.sort(rng.normal(size=40))
    y = np.column_stack([t, np.full(40, 0.25)])
    h = rng.normal(scale=0.4, size=40)
    neighbours = power_neighbours(y, h)
    assert 0 < sum(n is None for n in neighbours) < 40 and all(n is None or len(n) <= 2 for n in neighbours)
    areas, _, _ = power_cells(y, h, -0.5, 0.5)
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    for i in range(40):
        vertices, labels = square, [-1] * 4
        for j in range(40):
            if j != i and len(vertices):
                vertices, labels = _clip(vertices, labels, y[j] - y[i], h[i] - h[j], j)
        x, z = (vertices[:, 0], vertices[:, 1]) if len(vertices) else (np.zeros(0), np.zeros(0))
        reference = 0.5 * abs(float(np.dot(x, np.roll(z, -1)) - np.dot(z, np.roll(x, -1))))
        assert areas[i] == pytest.approx(reference, abs=1e-12)
    assert areas.sum() == pytest.approx(1.0, rel=1e-12)


def test_total_variation_and_relative_mass_error_closed_forms():
    # w = (0.7, 0.2, 0.1) against nu = 1/3 each: TV = 0.7 - 1/3, max relative error (0.7 - 1/3) * 3.
    tv, max_rel = mass_errors([0.7, 0.2, 0.1], [1.0, 1.0, 1.0])
    assert tv == pytest.approx(0.7 - 1 / 3, rel=1e-15) and max_rel == pytest.approx(1.1, rel=1e-14)
    # Disjoint supports: TV is 1, its maximum.
    assert mass_errors([0.0, 0.5, 0.5], [1.0, 1e-300, 1e-300])[0] == pytest.approx(1.0, rel=1e-15)
    # Masses that do not sum to 1 (overlapping cells: every one the whole domain) are
    # normalised first: N equal cells against equal weights is TV 0, not (N - 1) / 2.
    assert mass_errors(np.ones(256), np.full(256, 1 / 256)) == (0.0, 0.0)
    assert mass_errors([2.0, 0.0], [1.0, 1.0]) == (0.5, 1.0)
