"""RLC of triangulated surfaces: greedy charts and the Gauss-map test (Lemma 4.13)."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.complexity.surface_rlc import NORMAL_ATOL, _folds, surface_charts, surface_rlc
from geokeras.manifolds import make


def oriented_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    return cross / np.linalg.norm(cross, axis=1, keepdims=True)


def ramp_mesh(turns: float, rings: int = 2, steps: int = 36):
    """A helicoid ramp (r cos t, r sin t, 0.2 t), r in [1, 2]: normals all have n_z > 0."""
    radii = np.linspace(1.0, 2.0, rings + 1)
    angles = np.linspace(0.0, 2 * np.pi * turns, steps + 1)
    vertices = np.array([[r * np.cos(t), r * np.sin(t), 0.2 * t] for t in angles for r in radii])
    faces = []
    width = rings + 1
    for i in range(steps):
        for j in range(rings):
            a, b = i * width + j, i * width + j + 1
            c, d = (i + 1) * width + j + 1, (i + 1) * width + j
            faces += [[a, b, c], [a, c, d]]
    return vertices, np.array(faces)


def assert_charts_are_valid(vertices: np.ndarray, faces: np.ndarray, charts) -> None:
    """Every chart: oriented normals (up to one global sign) in the open half-space of its v, no fold."""
    normals = oriented_normals(vertices, faces)
    for chart, v in enumerate(charts.directions):
        members = np.flatnonzero(charts.chart_ids == chart)
        scores = normals[members] @ v
        assert np.all(scores > NORMAL_ATOL) or np.all(scores < -NORMAL_ATOL)
        helper = np.eye(3)[int(np.argmin(np.abs(v)))]
        first = np.cross(v, helper) / np.linalg.norm(np.cross(v, helper))
        assert not _folds(members, np.stack([first, np.cross(v, first)], axis=1), vertices, faces)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "hemisphere"},
        {"type": "disk"},
        {"type": "graph_surface"},
        {"type": "disk", "embed": {"ambient_dim": 3}},
    ],
)
def test_a_graph_like_surface_is_one_chart(spec):
    vertices, faces = make(spec).mesh(8)
    result = surface_rlc(vertices, faces)
    assert (result["lower"], result["upper"], result["pieces"]) == (1, 1, 1)
    assert result["gauss_map_covers"] is False and result["gauss_margin"] > 0
    assert result["method"] == "greedy_region_growing" and result["counted_as"] == "partition"


@pytest.mark.parametrize("resolution", [6, 10])
def test_a_sphere_is_never_one_chart_and_two_hemispheres_suffice(resolution):
    vertices, faces = make({"type": "sphere"}).mesh(resolution)
    result = surface_rlc(vertices, faces)
    assert result["closed"] is True and result["orientable"] is True
    assert result["gauss_map_covers"] is True
    assert result["lower"] == 2
    assert result["upper"] == 2
    charts = surface_charts(vertices, faces)
    assert_charts_are_valid(vertices, faces, charts)
    assert surface_rlc(vertices, faces) == result  # reproducible


def test_a_torus_needs_at_least_two_charts_and_greedy_finds_a_small_atlas():
    vertices, faces = make({"type": "torus"}).mesh(10)
    result = surface_rlc(vertices, faces)
    assert result["lower"] == 2 and result["closed"] is True
    assert 2 <= result["upper"] <= 4  # the top and bottom halves (annuli) are a 2-chart partition
    assert_charts_are_valid(vertices, faces, surface_charts(vertices, faces))
    assert surface_rlc(vertices, faces) == result


def test_non_orientable_surfaces_have_lower_bound_two():
    mobius = make({"type": "mobius"}).mesh(8)
    result = surface_rlc(*mobius)
    assert result["orientable"] is False and result["closed"] is False
    assert result["lower"] == 2 and result["upper"] >= 2
    klein = make({"type": "klein_bottle"}).mesh(8)  # in R^4: the general (tangent-plane) test
    result = surface_rlc(*klein)
    assert result["orientable"] is False and result["closed"] is True and result["lower"] == 2
    assert result["upper"] >= 2


def test_a_ramp_with_normals_in_one_half_space_still_folds_after_a_turn():
    one_turn_less = surface_rlc(*ramp_mesh(turns=0.75))
    assert (one_turn_less["lower"], one_turn_less["upper"]) == (1, 1)
    vertices, faces = ramp_mesh(turns=1.5)
    result = surface_rlc(vertices, faces)
    assert result["lower"] == 1  # the Gauss map alone cannot see the overlap ...
    assert result["upper"] >= 2  # ... the fold test does
    assert_charts_are_valid(vertices, faces, surface_charts(vertices, faces))


def test_a_surface_isometrically_embedded_in_higher_dimension_counts_as_in_r3():
    low = surface_rlc(*make({"type": "sphere"}).mesh(6))
    high = surface_rlc(*make({"type": "sphere", "embed": {"ambient_dim": 6}}).mesh(6))
    assert (high["lower"], high["upper"], high["closed"]) == (low["lower"], low["upper"], low["closed"])


def test_every_triangle_gets_a_chart():
    vertices, faces = make({"type": "swiss_roll"}).mesh(8)
    charts = surface_charts(vertices, faces)
    assert charts.chart_ids.shape == (len(faces),)
    assert set(charts.chart_ids.tolist()) == set(range(charts.charts))
    assert charts.lower == 2  # the roll's normals turn by more than a half turn


def test_invalid_surfaces_are_reported_with_what_was_received():
    with pytest.raises(ValueError, match=r"Expected faces of shape \[F >= 1, 3\]. Received: shape=\[1, 4\]"):
        surface_rlc(np.eye(4), [[0, 1, 2, 3]])
    with pytest.raises(ValueError, match=r"Expected face indices in \[0, 3\)"):
        surface_rlc(np.eye(3), [[0, 1, 5]])
    with pytest.raises(ValueError, match="Expected finite vertices"):
        surface_rlc(np.full((3, 3), np.nan), [[0, 1, 2]])
