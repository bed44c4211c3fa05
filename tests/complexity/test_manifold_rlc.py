"""The RLC of curves and manifolds (geokeras.complexity.manifold_rlc)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from geokeras.complexity.manifold_rlc import curve_rlc, manifold_rlc
from geokeras.manifolds import make
from geokeras.manifolds.geometry import exact_geometry


def regular_polygon(sides: int) -> np.ndarray:
    angles = 2 * np.pi * np.arange(sides) / sides
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def random_rotation(dim: int, seed: int) -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))[0]


@pytest.mark.parametrize("sides", [5, 6, 7, 64, 1001])
def test_circle_is_two_pieces_and_three_open_charts(sides):
    result = curve_rlc(regular_polygon(sides), closed=True)
    assert (result.pieces, result.open_cover, result.closed) == (2, 3, True)
    assert result.method == "greedy_sweep_planar"


def test_square_needs_four_overlapping_open_charts():
    assert (
        curve_rlc(regular_polygon(4), closed=True).pieces,
        curve_rlc(regular_polygon(4), closed=True).open_cover,
    ) == (2, 4)


def test_a_circle_isometrically_embedded_in_r5_is_still_planar():
    lifted = np.concatenate([regular_polygon(50), np.zeros((50, 3))], axis=1) @ random_rotation(5, 0)
    result = curve_rlc(lifted, closed=True)
    assert (result.pieces, result.open_cover, result.method) == (2, 3, "greedy_sweep_planar")


def test_open_arcs_shorter_and_longer_than_a_half_turn():
    def arc(extent):
        angles = np.linspace(0.0, extent, 41)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)

    assert curve_rlc(arc(0.9 * np.pi)).pieces == 1  # tangents turn by < pi
    assert curve_rlc(arc(1.5 * np.pi)).pieces == 2
    assert curve_rlc(arc(3.5 * np.pi)).pieces == 4


def test_a_cusp_has_no_open_cover_but_a_partition():
    there_and_back = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    result = curve_rlc(there_and_back)
    assert (result.pieces, result.open_cover) == (2, None)


def test_the_lp_path_for_space_curves():
    # e1, e2, e3 lie in the open half-space of (1, 1, 1); -e1 cannot join them.
    steps = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float)
    vertices = np.concatenate([np.zeros((1, 3)), np.cumsum(steps, axis=0)])
    result = curve_rlc(vertices)
    assert (result.pieces, result.method) == (2, "greedy_sweep_lp")
    np.testing.assert_array_equal(result.piece_starts, [0, 3])
    helix = make({"type": "helix"})
    assert manifold_rlc(helix, resolution=200)["pieces"] == 1  # monotone along its axis


def _feasible(directions: np.ndarray) -> bool:
    """0 not in the convex hull of the directions: an LP with a margin, independent of the module."""
    result = linprog(
        np.zeros(directions.shape[1]),
        A_ub=-directions,
        b_ub=-np.ones(len(directions)),
        bounds=[(-1e6, 1e6)] * directions.shape[1],
        method="highs",
    )
    return result.status == 0


def _minimum_partition_by_dynamic_programming(vertices: np.ndarray, closed: bool) -> int:
    """min number of consecutive feasible windows, over all cut positions (dynamic programming).

    Windows are tested one by one with :func:`_feasible` (a window's longest feasible
    extension from each start, growing one segment at a time); the DP then tries every
    window ending at every position, and for a closed curve every starting position.
    """
    ends = np.concatenate([vertices[1:], vertices[:1]]) if closed else vertices[1:]
    directions = ends - (vertices if closed else vertices[:-1])
    directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    count = len(directions)
    cyclic = np.concatenate([directions, directions]) if closed else directions
    longest = []
    for start in range(count):
        length = 1
        while length < count and start + length < len(cyclic) and _feasible(cyclic[start : start + length + 1]):
            length += 1
        longest.append(length)
    answer = count
    for shift in range(count if closed else 1):
        best = [0] + [count + 1] * count
        for end in range(1, count + 1):
            for start in range(end):
                if end - start <= longest[(start + shift) % count]:
                    best[end] = min(best[end], best[start] + 1)
        answer = min(answer, best[count])
    return answer


@pytest.mark.parametrize("seed, closed, dim", [(0, False, 2), (1, True, 2), (2, False, 3), (3, True, 3), (4, True, 2)])
def test_greedy_sweep_equals_dynamic_programming_on_random_walks(seed, closed, dim):
    rng = np.random.default_rng(seed)
    # a wandering walk: headings drift, so windows have many different lengths
    if dim == 2:
        heading = np.cumsum(rng.normal(scale=0.9, size=14))
        steps = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    else:
        steps = rng.normal(size=(12, 3)) + np.array([0.3, 0.0, 0.0])
    vertices = np.concatenate([np.zeros((1, dim)), np.cumsum(steps, axis=0)])
    if closed:
        vertices = vertices[:-1]
    result = curve_rlc(vertices, closed=closed)
    assert result.pieces == _minimum_partition_by_dynamic_programming(vertices, closed)


@pytest.mark.parametrize("paper_n", [1, 2])
def test_paper_peano_curves_meet_the_paper_bound(paper_n):
    order = paper_n + 2  # C_n is the Hilbert curve of order n + 2 (fractal_curves module)
    curve = make({"type": "hilbert", "order": order})
    result = manifold_rlc(curve)
    assert result["units"] == 4 ** (paper_n + 1)
    assert result["pieces"] >= result["units"]
    assert result["lower"] == result["upper"] == result["pieces"]
    assert result["resolution"] is None and result["counted_as"] == "partition"


def test_hilbert_order_three_equals_dynamic_programming():
    curve = make({"type": "hilbert", "order": 3})
    vertices, closed = curve.polyline()
    assert manifold_rlc(curve)["pieces"] == _minimum_partition_by_dynamic_programming(vertices, closed)


def test_manifold_rlc_of_a_circle_manifold_and_of_vertices():
    circle = make({"type": "circle", "embed": {"ambient_dim": 3}})
    result = manifold_rlc(circle, resolution=64)
    assert (result["pieces"], result["open_cover"], result["closed"], result["segments"]) == (2, 3, True, 64)
    assert manifold_rlc(regular_polygon(8), closed=True)["pieces"] == 2


def test_geometry_of_manifolds_without_polyline_or_mesh_is_none_and_rlc_refuses():
    mixture = make({"type": "gaussian_mixture"})  # a distribution on R^2: no polyline, no mesh
    assert exact_geometry(mixture) is None
    with pytest.raises(ValueError, match="Received: manifold type 'gaussian_mixture' with intrinsic_dim=2"):
        manifold_rlc(mixture)


def test_invalid_curve_inputs():
    with pytest.raises(ValueError, match="Received: angle_tol=0.5"):
        curve_rlc(regular_polygon(5), angle_tol=0.5)
    with pytest.raises(ValueError, match="positive length"):
        curve_rlc(np.zeros((3, 2)))


def test_surfaces_are_delegated_to_the_surface_module():
    from geokeras.complexity import surface_rlc as surface

    sphere = make({"type": "sphere"})
    result = manifold_rlc(sphere, resolution=8)
    vertices, faces = sphere.mesh(8)
    expected = dict(surface.surface_rlc(vertices, faces))
    assert {key: result[key] for key in expected} == expected
    assert result["resolution"] == 8
