"""Categorical colours: the palette, class detection, and neighbour-distinct colourings of known adjacencies."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.report.colours import (
    BASE_PALETTE,
    CELL_PALETTE,
    OKABE_ITO,
    greedy_colouring,
    integer_classes,
    neighbour_distinct_colours,
    path_edges,
    polygon_edges,
    qualitative_palette,
    raster_edges,
)


def grid_edges(rows: int, columns: int) -> list[tuple[int, int]]:
    """Cells of a rows x columns grid, numbered row by row, joined to their right and lower neighbours."""
    edges = []
    for row in range(rows):
        for column in range(columns):
            cell = row * columns + column
            if column + 1 < columns:
                edges.append((cell, cell + 1))
            if row + 1 < rows:
                edges.append((cell, cell + columns))
    return edges


def test_a_path_is_coloured_alternately():
    # Largest-first: the inner vertices 1, 2, 3 first (degree 2), then the ends.
    np.testing.assert_array_equal(greedy_colouring(5, [(0, 1), (1, 2), (2, 3), (3, 4)]), [1, 0, 1, 0, 1])


@pytest.mark.parametrize("rows, columns", [(1, 1), (3, 3), (4, 7)])
def test_no_two_neighbours_of_a_grid_share_a_colour(rows, columns):
    edges = grid_edges(rows, columns)
    colours = greedy_colouring(rows * columns, edges)
    assert all(colours[a] != colours[b] for a, b in edges)
    assert colours.min() == 0 and colours.max() <= 4  # max degree 4: at most 5 colours


def test_a_complete_graph_needs_as_many_colours_as_vertices_and_the_palette_grows():
    count = len(CELL_PALETTE) + 7
    edges = [(a, b) for a in range(count) for b in range(a + 1, count)]
    assert sorted(greedy_colouring(count, edges)) == list(range(count))
    colours = neighbour_distinct_colours(count, edges)
    assert len(set(colours)) == count and colours == neighbour_distinct_colours(count, edges)
    assert set(colours[: len(CELL_PALETTE)]) <= set(qualitative_palette(count, base=CELL_PALETTE))


def test_isolated_vertices_self_loops_and_bad_edges():
    np.testing.assert_array_equal(greedy_colouring(3, [(1, 1)]), [0, 0, 0])
    with pytest.raises(ValueError, match=r"vertices 0..2. Received: \(0, 3\)"):
        greedy_colouring(3, [(0, 3)])


def test_palette_starts_with_okabe_ito_and_extends_deterministically():
    assert qualitative_palette(8) == list(OKABE_ITO)
    assert qualitative_palette(20) == list(BASE_PALETTE)
    long = qualitative_palette(60)
    assert len(set(long)) == 60 and long[:20] == list(BASE_PALETTE) and long == qualitative_palette(60)
    assert "#000000" not in CELL_PALETTE and "#888888" not in CELL_PALETTE
    with pytest.raises(ValueError, match="count >= 0"):
        qualitative_palette(-1)


def test_integer_labels_are_classes_and_parameters_are_not():
    np.testing.assert_array_equal(integer_classes(np.array([3.0, 1.0, 3.0, 0.0])), [0.0, 1.0, 3.0])
    assert integer_classes(np.linspace(0.0, 1.0, 7)) is None
    assert integer_classes(np.arange(41)) is None  # too many for a legend
    assert integer_classes(np.array([1.0, np.nan])) is None


def test_path_edges_join_consecutive_different_pieces():
    assert path_edges([0, 0, 1, 2, 1]) == {(0, 1), (1, 2)}
    assert path_edges([0, 1, 2], closed=True) == {(0, 1), (1, 2), (0, 2)}
    assert path_edges([4]) == set()


def test_raster_edges_of_a_known_label_image():
    image = np.array([[0, 0, 1], [2, 2, 1], [2, 3, 3]])
    assert raster_edges(image) == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}


def test_polygon_edges_of_a_grid_of_squares_are_its_edge_neighbours():
    # 3 x 3 unit squares: neighbours share an edge (2 corners); diagonal ones only a corner.
    squares, noise = [], np.random.default_rng(0)
    for row in range(3):
        for column in range(3):
            corner = np.array([column, row], dtype=np.float64)
            square = corner + np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
            squares.append(square + noise.normal(scale=1e-13, size=square.shape))  # copies differ in the last bits
    expected = {tuple(sorted(edge)) for edge in grid_edges(3, 3)}
    assert polygon_edges(squares, list(range(9))) == expected
    # Two squares of one cell: its edges are those of either; no edge of a cell with itself.
    assert polygon_edges(squares[:3], [0, 1, 0]) == {(0, 1)}
    with pytest.raises(ValueError, match="one label per polygon"):
        polygon_edges(squares, [0])
