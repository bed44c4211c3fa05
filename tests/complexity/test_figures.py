"""Figures of geokeras.complexity: the latent-domain picture maps every polygon exactly; neighbouring cells
differ in colour; vector formats."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from geokeras.complexity.figures import (
    latent_polygons,
    mesh_cell_colours,
    plot_box_decomposition,
    plot_cells_in_latent,
    polyline_cell_colours,
)
from geokeras.complexity.mesh import count_regions_in_box, count_regions_on_mesh
from geokeras.manifolds import make
from tests.complexity.test_mesh import random_network


def test_latent_polygons_are_the_network_outputs_at_the_polygon_corners(tmp_path):
    hemisphere = make({"type": "hemisphere"})
    vertices, faces = hemisphere.mesh(8)
    network = random_network([3, 6, 5, 2], seed=3)
    regions = count_regions_on_mesh(network, vertices, faces)
    images = latent_polygons(regions)
    assert len(images) == len(regions.polygons) and regions.cells > 1
    for polygon, image in zip(regions.polygons, images):
        # Each corner lies in the closure of its cell, where the cell's affine map is the network.
        np.testing.assert_allclose(image, network(np.asarray(polygon)), atol=1e-9)
    path = plot_cells_in_latent(regions, tmp_path / "latent.png", dpi=40)
    assert path.stat().st_size > 0


def test_the_latent_picture_needs_two_outputs(tmp_path):
    vertices, faces = make({"type": "hemisphere"}).mesh(4)
    regions = count_regions_on_mesh(random_network([3, 4, 1], seed=0), vertices, faces)
    with pytest.raises(ValueError, match="2 outputs. Received: 1 outputs"):
        plot_cells_in_latent(regions, tmp_path / "latent.png")


# ----------------------------------------------------------------------------- neighbouring cells differ
def inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    """Whether ``point`` is strictly inside the convex ``polygon`` (either orientation)."""
    edges = np.roll(polygon, -1, axis=0) - polygon
    cross = edges[:, 0] * (point[1] - polygon[:, 1]) - edges[:, 1] * (point[0] - polygon[:, 0])
    return bool(np.all(cross > 0) or np.all(cross < 0))


def test_cells_on_either_side_of_every_edge_of_a_box_decomposition_differ_in_colour():
    regions = count_regions_in_box(random_network([2, 8, 6, 2], seed=4), [-1.0, -1.0], [1.0, 1.0])
    colours = mesh_cell_colours(regions)
    polygons = [np.asarray(polygon, dtype=np.float64) for polygon in regions.polygons]
    cells = np.asarray(regions.polygon_cell_ids)
    assert regions.cells > 10
    checked = 0
    for index, polygon in enumerate(polygons):
        centre = polygon.mean(axis=0)
        for start, end in zip(polygon, np.roll(polygon, -1, axis=0)):
            middle, direction = (start + end) / 2, end - start
            if np.linalg.norm(direction) < 1e-6:
                continue
            normal = np.array([direction[1], -direction[0]]) / np.linalg.norm(direction)
            if np.dot(normal, middle - centre) < 0:
                normal = -normal  # pointing out of this polygon
            across = middle + 1e-7 * normal
            for other, neighbour in enumerate(polygons):
                if other != index and cells[other] != cells[index] and inside(neighbour, across):
                    assert colours[other] != colours[index], (index, other)
                    checked += 1
    assert checked > 20  # an independent check: point location across each edge, not the adjacency code


def test_pieces_along_a_curve_differ_from_the_next_one_and_a_cell_keeps_its_colour():
    regions = SimpleNamespace(
        part_cells=np.array([0, 1, 0, 2, 3, 2]),
        part_segments=np.array([0, 0, 1, 1, 2, 2]),
        part_starts=np.array([0.0, 0.5, 0.0, 0.5, 0.0, 0.5]),
        closed=True,
    )
    colours = polyline_cell_colours(regions)
    assert all(colours[i] != colours[(i + 1) % 6] for i in range(6))  # closed: the last piece meets the first
    assert colours[0] == colours[2] and colours[3] == colours[5]
    # Parts listed out of curve order are put in order first: along the curve the cells are 0, 1, 2,
    # so 1 is the only one with two neighbours (largest first: the first colour) and 0 and 2 share one.
    shuffled = SimpleNamespace(
        part_cells=np.array([2, 0, 1]),
        part_segments=np.array([1, 0, 0]),
        part_starts=np.array([0.0, 0.0, 0.5]),
        closed=False,
    )
    first, second, third = polyline_cell_colours(shuffled)
    assert first == second != third


@pytest.mark.parametrize("suffix, magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_cell_figures_in_vector_formats(tmp_path, suffix, magic):
    regions = count_regions_in_box(random_network([2, 4, 2], seed=1), [-1.0, -1.0], [1.0, 1.0])
    path = plot_box_decomposition(regions, tmp_path / f"box.{suffix}", overlay=np.zeros((3, 2)), dpi=40)
    assert path.read_bytes().startswith(magic)
