"""Power-cell assignment: tiled argmax equals the brute-force one; ties; top-k; cell masses."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.ot.assignment import assign_blocked, assign_cells, assign_tile, cell_masses, tile_targets, top_k_cells

QUADRANT_TARGETS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)


def _problem(n=300, count=37, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, dim)).astype(np.float32),
        rng.normal(size=(count, dim)).astype(np.float32),
        rng.normal(size=count).astype(np.float32),
    )


@pytest.mark.parametrize("tile_rows, targets_per_tile", [(4096, 8192), (64, 5), (7, 1), (300, 37), (64, 36)])
def test_tiled_assignment_equals_the_full_argmax(tile_rows, targets_per_tile):
    x, y, h = _problem()
    expected = np.argmax(x.astype(np.float64) @ y.T.astype(np.float64) + h, axis=1)
    index = assign_cells(x, y, h, tile_rows=tile_rows, tile_targets=targets_per_tile)
    assert index.dtype.name == "int32"
    np.testing.assert_array_equal(index.numpy(), expected)


@pytest.mark.parametrize(
    "count, targets_per_tile, tiles, tile", [(37, 36, 2, 19), (37, 5, 8, 5), (37, 37, 1, 37), (10_000, 8192, 2, 5000)]
)
def test_target_tiles_are_equal_with_less_than_one_padding_row_each(count, targets_per_tile, tiles, tile):
    cut = tile_targets(np.zeros((count, 2), np.float32), np.zeros(count, np.float32), targets_per_tile)
    assert cut.targets.shape == (tiles, tile, 2) and cut.heights.shape == (tiles, tile) and cut.count == count
    assert tiles * tile - count < tiles and np.isneginf(cut.heights.numpy().ravel()[count:]).all()


@pytest.mark.parametrize("rows", [256, 512, 1000, 4096])
def test_blocked_assignment_gives_the_cells_of_one_tile(rows):
    x, y, h = _problem(n=1024)
    tiles = tile_targets(y, h, 16)
    expected = np.argmax(x.astype(np.float64) @ y.T.astype(np.float64) + h, axis=1)
    np.testing.assert_array_equal(assign_blocked(x, tiles, rows=rows).numpy(), assign_tile(x, tiles).numpy())
    np.testing.assert_array_equal(assign_blocked(x, tiles, rows=rows).numpy(), expected)


def test_float64_tie_check_repairs_float32_misorderings():
    # Scores 1000 x_0 + 0.3 vs 1000 x_1 + 0.1 with x_1 - x_0 = 2e-4 + O(1e-7): the true difference is
    # ~1e-5, below float32's resolution at 1000 (6e-5), so float32 orders many rows wrongly.
    rng = np.random.default_rng(1)
    x0 = rng.uniform(1.0, 2.0, size=2000)
    x = np.stack([x0, x0 + 2e-4 + rng.normal(scale=1e-7, size=2000)], axis=1).astype(np.float32)
    y = np.array([[1000.0, 0.0], [0.0, 1000.0]], np.float32)
    h = np.array([0.3, 0.1], np.float32)
    exact = np.argmax(x.astype(np.float64) @ y.T.astype(np.float64) + h.astype(np.float64), axis=1)
    float32 = assign_cells(x, y, h).numpy()
    checked = assign_cells(x, y, h, float64_ties=True, tile_targets=1).numpy()
    assert np.sum(float32 != exact) > 100
    np.testing.assert_array_equal(checked, exact)


def test_top_k_cells_are_the_k_best_scores_in_order():
    x, y, h = _problem(n=129, count=20)
    scores = x @ y.T + h
    values, indices = top_k_cells(x, y, h, 4, tile_rows=50, tile_targets=6)
    np.testing.assert_array_equal(indices.numpy(), np.argsort(-scores, axis=1)[:, :4])
    np.testing.assert_allclose(values.numpy(), -np.sort(-scores, axis=1)[:, :4], rtol=1e-6, atol=1e-6)


def test_quadrant_cells_have_exactly_a_quarter_of_a_sobol_net():
    masses = cell_masses("uniform_cube", QUADRANT_TARGETS, np.zeros(4), samples=1 << 14, seed=0)
    np.testing.assert_array_equal(masses, [0.25] * 4)


def test_unequal_heights_move_the_boundaries_to_the_closed_form():
    # Cells of (1, +-1) are x > (h_left - h_right) / 2 = -0.3: mass 0.8 split in two.
    heights = np.array([0.3, -0.3, -0.3, 0.3])
    masses = cell_masses({"type": "uniform_cube"}, QUADRANT_TARGETS, heights, samples=1 << 16, seed=2)
    np.testing.assert_allclose(masses, [0.4, 0.1, 0.1, 0.4], atol=1e-3)


def test_invalid_shapes_and_k_are_reported():
    x, y, h = _problem(n=5, count=4)
    with pytest.raises(ValueError, match=r"Expected x of shape \[n, 3\].*Received: x.shape=\(5, 2\)"):
        assign_cells(x[:, :2], y, h)
    with pytest.raises(ValueError, match=r"Expected heights of shape \[4\].*Received: heights.shape=\(3,\)"):
        assign_cells(x, y, h[:3])
    with pytest.raises(ValueError, match="Expected k <= N = 4.*Received: k=5"):
        top_k_cells(x, y, h, 5)
    with pytest.raises(ValueError, match="Received: tile_rows=0"):
        assign_cells(x, y, h, tile_rows=0)
