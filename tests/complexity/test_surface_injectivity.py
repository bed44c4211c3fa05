"""Exact injectivity of hand-built ReLU encoders on triangle meshes into R^2.

Tests geokeras.complexity.surface_injectivity.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.mesh import RegionBudgetExceeded
from geokeras.complexity.surface_injectivity import boundary_loops, coherent_orientation, decide_surface_injectivity
from geokeras.manifolds import make


def plane_fold(fold_width: float) -> LoweredNetwork:
    """(x, y) -> (x, g(y)), g(y) = y + 2 min(relu(-y), relu(y + ε)): the strip -ε/2 < y < 0 flips."""
    kernel = np.array([[1.0, -1.0, 0, 0, 0], [0, 0, 1.0, -1.0, 1.0]])
    first = AffineLayer(kernel, np.array([0, 0, 0, 0, fold_width]), "relu")
    second = AffineLayer(np.concatenate([np.eye(5), [[0], [0], [0], [1], [-1]]], axis=1), np.zeros(6), "relu")
    g_row = [0, 0, 1, 1, 0, -2] if fold_width > 0 else [0, 0, 1, -1, 0, 0]
    return LoweredNetwork((first, second, AffineLayer(np.array([[1, -1, 0, 0, 0, 0], g_row], float).T, np.zeros(2))))


def linear(matrix) -> LoweredNetwork:
    matrix = np.asarray(matrix, dtype=np.float64)
    return LoweredNetwork((AffineLayer(matrix, np.zeros(matrix.shape[1])),))


def square_mesh(cells: int = 4, low: float = -1.0, high: float = 1.0):
    grid = np.linspace(low, high, cells + 1)
    x, y = np.meshgrid(grid, grid)
    vertices = np.stack([x.ravel(), y.ravel()], axis=1)
    faces = []
    for row in range(cells):
        for column in range(cells):
            a = row * (cells + 1) + column
            faces += [[a, a + 1, a + cells + 2], [a, a + cells + 2, a + cells + 1]]
    return vertices, np.array(faces)


def test_the_identity_is_injective_on_a_disk():
    vertices, faces = make({"type": "disk"}).mesh(8)
    result = decide_surface_injectivity(plane_fold(0.0), vertices, faces)
    assert result.injective is True and result.failures == [] and result.boundary_loops == 1
    assert result.orientation["negative"] == 0 and result.folded_area_share == 0.0


@pytest.mark.parametrize("fold_width", [0.5, 1e-2, 1e-4, 1e-7])
def test_planted_folds_of_every_size_are_found(fold_width):
    # The strip -ε/2 < y < 0 of the square [-1, 1]^2 is flipped: area 2 x ε / 2 out of 4.
    vertices, faces = square_mesh()
    result = decide_surface_injectivity(plane_fold(fold_width), vertices, faces)
    assert result.injective is False and result.failures == ["flipped_polygon"]
    assert result.folded_area_share == pytest.approx(fold_width / 4, rel=1e-6)
    assert result.witness is not None


def test_a_collapsing_map_is_not_injective():
    vertices, faces = square_mesh(2)
    result = decide_surface_injectivity(linear([[1.0, 0.0], [0.0, 0.0]]), vertices, faces)
    assert result.injective is False and result.failures == ["collapsed_polygon"]


def test_the_graph_of_a_bowl_projects_injectively_and_a_sphere_never_does():
    hemisphere = make({"type": "hemisphere"})
    projection = linear(np.eye(3)[:, :2])
    assert decide_surface_injectivity(projection, *hemisphere.mesh(8)).injective is True
    sphere = decide_surface_injectivity(projection, *make({"type": "sphere", "dim": 2}).mesh(6))
    assert sphere.injective is False and sphere.failures == ["flipped_polygon"]
    # Discrete Stokes: on a closed oriented mesh the signed image areas cancel: half is flipped.
    assert sphere.folded_area_share == pytest.approx(0.5, abs=1e-12)


def test_one_orientation_but_a_self_overlapping_boundary_is_not_injective():
    # A long strip wrapped around the origin by the orientation-preserving map
    # (x, y) -> (x, y) on a spiral-shaped annulus sector that overlaps its own start.
    angles = np.linspace(0.0, 2.4 * np.pi, 49)
    inner, outer = 1.0 + 0.05 * angles, 1.5 + 0.05 * angles
    vertices = np.concatenate(
        [
            np.stack([inner * np.cos(angles), inner * np.sin(angles)], 1),
            np.stack([outer * np.cos(angles), outer * np.sin(angles)], 1),
        ]
    )
    count = len(angles)
    inner_first = [[k, k + 1, count + k + 1] for k in range(count - 1)]
    outer_first = [[k, count + k + 1, count + k] for k in range(count - 1)]
    faces = np.array(inner_first + outer_first)
    result = decide_surface_injectivity(plane_fold(0.0), vertices, faces)
    orientation = result.orientation  # one sign everywhere (which one depends on the first face)
    assert min(orientation["positive"], orientation["negative"]) == 0 and orientation["collapsed"] == 0
    assert result.injective is False and result.failures == ["boundary_self_intersection"]


def test_a_closed_surface_is_never_injective_into_the_plane():
    # A closed mesh always has both orientations under a linear map (the signed image areas
    # cancel); the octahedron under a generic projection:
    vertices = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
    faces = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    result = decide_surface_injectivity(linear([[1.0, 0.2], [0.3, 1.0], [0.1, 0.4]]), vertices, faces)
    assert result.injective is False and result.boundary_loops == 0 and result.failures == ["flipped_polygon"]


def test_mesh_topology_helpers():
    vertices, faces = square_mesh(2)
    signs, components = coherent_orientation(faces)
    assert components == 1 and set(signs.tolist()) == {1}
    loops = boundary_loops(faces)
    assert len(loops) == 1 and sorted(loops[0].tolist()) == [0, 1, 2, 3, 5, 6, 7, 8]
    # A Möbius band (a strip of 4 squares glued with a half twist) has no coherent orientation.
    mobius = make({"type": "mobius"})
    assert coherent_orientation(mobius.mesh(8)[1])[0] is None


def test_budget_and_metrics():
    vertices, faces = square_mesh(4)
    with pytest.raises(RegionBudgetExceeded, match="max_polygons=10"):
        decide_surface_injectivity(plane_fold(0.1), vertices, faces, max_polygons=10)
    metrics = decide_surface_injectivity(plane_fold(0.1), vertices, faces).as_metrics()
    assert json.loads(json.dumps(metrics)) == metrics and metrics["injective"] is False
    with pytest.raises(ValueError, match="into R\\^2. Received: output dimension 1"):
        decide_surface_injectivity(linear([[1.0], [0.0]]), vertices, faces)
