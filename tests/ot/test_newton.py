"""Damped Newton with exact power cells: closed forms, cell geometry, convergence."""

from __future__ import annotations

import numpy as np
import pytest

import geokeras.ot.newton as newton_module
from geokeras.errors import SpecError
from geokeras.ot.newton import (
    NewtonSystems,
    _clip,
    _hidden,
    lower_hull,
    power_cells,
    power_cells_and_hull,
    power_neighbours,
    repaired_hull,
    still_regular,
)
from geokeras.ot.solve import solve

QUADRANT_TARGETS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)


def test_power_cells_of_the_quadrant_targets_are_the_quadrants():
    areas, facets, polygons = power_cells(QUADRANT_TARGETS, np.zeros(4), -0.5, 0.5)
    np.testing.assert_allclose(areas, [0.25] * 4)
    # Adjacent quadrants share an edge of length 1/2; opposite ones only the origin.
    expected = 0.5 * np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]])
    np.testing.assert_allclose(facets.toarray(), expected, atol=1e-12)
    np.testing.assert_allclose(sorted(map(tuple, polygons[0].round(12))), [(0, 0), (0, 0.5), (0.5, 0), (0.5, 0.5)])


def test_power_cells_partition_the_domain_and_match_a_point_count():
    rng = np.random.default_rng(0)
    y, h = rng.normal(size=(30, 2)), rng.normal(scale=0.3, size=30)
    areas, facets, _ = power_cells(y, h, 0.0, 2.0)
    assert areas.sum() == pytest.approx(4.0, rel=1e-12)
    np.testing.assert_array_equal(facets.toarray(), facets.T.toarray())
    grid = (np.stack(np.meshgrid(np.arange(400), np.arange(400)), -1).reshape(-1, 2) + 0.5) / 200.0
    counts = np.bincount(np.argmax(grid @ y.T + h, axis=1), minlength=30) * (4.0 / len(grid))
    np.testing.assert_allclose(areas, counts, atol=0.02)


def test_equal_weights_and_a_symmetric_source_give_zero_heights():
    result = solve(QUADRANT_TARGETS, solver="newton")
    np.testing.assert_allclose(result.heights, 0.0, atol=1e-12)
    assert result.converged and result.max_rel_mass_error <= 1e-8 and result.samples == 0


def test_unequal_weights_put_the_boundary_where_the_closed_form_does():
    # Cells of (1, +-1) are {x > (h_2 - h_1) / 2}; mass 0.8 of [-1/2, 1/2]^2 puts it at x = -0.3.
    result = solve(QUADRANT_TARGETS, [0.4, 0.1, 0.1, 0.4], solver="newton")
    np.testing.assert_allclose(result.heights, [0.3, -0.3, -0.3, 0.3], atol=1e-10)


def test_random_targets_converge_quadratically_to_exact_masses():
    rng = np.random.default_rng(3)
    targets = rng.normal(size=(40, 2)).astype(np.float32)
    weights = rng.uniform(0.5, 1.5, size=40)
    result = solve(targets, weights, source={"type": "uniform_cube", "low": 0, "high": 1}, solver="newton")
    assert result.converged and result.max_rel_mass_error <= 1e-8 and result.empty_cells == 0
    errors = result.history["max_rel_mass_error"]
    assert result.steps <= 12 and errors[-1] < errors[-2] ** 1.5
    areas, _, _ = power_cells(targets, result.heights, 0.0, 1.0)
    np.testing.assert_allclose(areas, weights / weights.sum(), rtol=1e-8)


def test_newton_needs_a_two_dimensional_cube_source():
    with pytest.raises(SpecError, match=r"^type: expected a 2-D uniform_cube source.*gaussian"):
        solve(QUADRANT_TARGETS, source="gaussian", solver="newton")
    with pytest.raises(SpecError, match="3-D uniform_cube"):
        solve(np.zeros((4, 3)) + np.arange(4)[:, None], solver="newton")


def _cells_by_every_constraint(y, h, low, high):
    """Reference: the square clipped by all N - 1 half-planes of every cell (no hull)."""
    square = np.array([[low, low], [high, low], [high, high], [low, high]], np.float64)
    areas = []
    for i in range(len(y)):
        vertices, labels = square, [-1] * 4
        for j in range(len(y)):
            if j != i:
                vertices, labels = _clip(vertices, labels, y[j] - y[i], h[i] - h[j], j)
        x, z = (vertices[:, 0], vertices[:, 1]) if len(vertices) else (np.zeros(0), np.zeros(0))
        areas.append(0.5 * abs(float(np.dot(x, np.roll(z, -1)) - np.dot(z, np.roll(x, -1)))))
    return np.array(areas)


def test_hull_neighbours_give_the_same_cells_as_every_constraint_including_empty_ones():
    # Random heights leave many cells empty in the plane (their lifted points are not on the
    # lower hull) and others empty only inside the square.
    rng = np.random.default_rng(5)
    y, h = rng.normal(size=(120, 2)), rng.normal(scale=1.0, size=120)
    neighbours = power_neighbours(y, h)
    areas, facets, _ = power_cells(y, h, -0.5, 0.5)
    reference = _cells_by_every_constraint(y, h, -0.5, 0.5)
    assert sum(n is None for n in neighbours) > 10 and np.sum(areas == 0) > sum(n is None for n in neighbours)
    assert all(areas[i] == 0 for i, n in enumerate(neighbours) if n is None)
    np.testing.assert_allclose(areas, reference, atol=1e-12)
    assert areas.sum() == pytest.approx(1.0, rel=1e-12)
    # Every facet joins hull neighbours.
    for i, j in zip(*facets.nonzero()):
        assert j in neighbours[i]


def test_coplanar_lifted_points_fall_back_to_every_constraint():
    # h = 0 on a grid of targets: the lifted points (y, 0) are coplanar; qhull cannot build a hull.
    grid = np.stack(np.meshgrid(np.arange(3.0), np.arange(3.0)), -1).reshape(-1, 2)
    assert [len(n) for n in power_neighbours(grid, np.zeros(9))] == [8] * 9
    areas, _, _ = power_cells(grid, np.zeros(9), 0.0, 1.0)
    assert areas[8] == pytest.approx(1.0) and areas[:8].sum() == 0.0  # argmax <x, y>: the corner (2, 2)


def test_newton_solves_tightly_clustered_targets_exactly():
    # 8 clusters of std 0.02 on a circle of radius 2: thin cells that stall stochastic solvers.
    rng = np.random.default_rng(2)
    angles = np.repeat(np.arange(8) * np.pi / 4, 40)
    targets = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(scale=0.02, size=(320, 2))
    result = solve(targets.astype(np.float32), solver="newton")
    assert result.converged and result.max_rel_mass_error <= 1e-8 and result.empty_cells == 0
    areas, _, _ = power_cells(targets.astype(np.float32), result.heights, -0.5, 0.5)
    np.testing.assert_allclose(areas, 1.0 / 320, rtol=1e-7)


def _cells_by_hull_neighbours_one_at_a_time(y, h, low, high):
    """Reference: each cell clipped on its own by its hull neighbours' half-planes (:func:`_clip`)."""
    square = np.array([[low, low], [high, low], [high, high], [low, high]], np.float64)
    areas, facets = np.zeros(len(y)), np.zeros((len(y), len(y)))
    for i, neighbours in enumerate(power_neighbours(y, h)):
        if neighbours is None:  # off the lower hull: empty
            continue
        vertices, labels = square, [-1] * 4
        for j in neighbours:
            vertices, labels = _clip(vertices, labels, y[j] - y[i], h[i] - h[j], j) if len(vertices) else (vertices, [])
        for k, label in enumerate(labels):
            if label >= 0:
                facets[i, label] += 0.5 * np.linalg.norm(vertices[(k + 1) % len(vertices)] - vertices[k])
                facets[label, i] += 0.5 * np.linalg.norm(vertices[(k + 1) % len(vertices)] - vertices[k])
        if len(vertices) >= 3:
            x, z = vertices[:, 0], vertices[:, 1]
            areas[i] = 0.5 * float(np.dot(x, np.roll(z, -1)) - np.dot(z, np.roll(x, -1)))
    return areas, facets


@pytest.mark.parametrize("case", ["voronoi", "perturbed", "clustered"])
def test_batched_cells_match_clipping_each_cell_on_its_own(case):
    # Inside cells come from power vertices, cells at the boundary from batched clipping; both must give
    # what clipping one cell at a time gives, hidden cells (perturbed heights) included.
    rng = np.random.default_rng(11)
    if case == "clustered":
        centres = np.repeat(2.0 * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), 50, axis=0)
        y = centres + rng.normal(scale=0.05, size=(150, 2))
    else:
        y = rng.uniform(-0.45, 0.45, size=(150, 2))
    h = -0.5 * np.sum(y * y, axis=1) if case != "clustered" else y @ np.array([0.0, 0.0]) - 0.05 * np.sum(y * y, 1)
    if case == "perturbed":
        h = h + rng.normal(scale=0.01, size=150)
    areas, facets, polygons = power_cells(y, h, -0.5, 0.5)
    reference_areas, reference_facets = _cells_by_hull_neighbours_one_at_a_time(y, h, -0.5, 0.5)
    np.testing.assert_allclose(areas, reference_areas, rtol=0, atol=1e-14)
    np.testing.assert_allclose(facets.toarray(), reference_facets, rtol=0, atol=1e-14)
    assert areas.sum() == pytest.approx(1.0, rel=1e-13)
    for area, polygon in zip(areas, polygons):
        if len(polygon) >= 3:
            x, z = polygon[:, 0], polygon[:, 1]
            assert 0.5 * float(np.dot(x, np.roll(z, -1)) - np.dot(z, np.roll(x, -1))) == pytest.approx(area, abs=1e-14)
    if case == "perturbed":
        assert np.sum(areas == 0) > 0


def test_voronoi_heights_on_a_grid_give_equal_squares():
    # h = -|y|^2 / 2 makes the power cells the Voronoi cells: the squares of side 1/8 around the grid points.
    grid = (np.stack(np.meshgrid(np.arange(8.0), np.arange(8.0)), -1).reshape(-1, 2) + 0.5) / 8.0
    areas, facets, _ = power_cells(grid, -0.5 * np.sum(grid**2, axis=1), 0.0, 1.0)
    np.testing.assert_allclose(areas, 1.0 / 64, rtol=1e-12)
    distance = np.linalg.norm(grid[:, None] - grid[None], axis=2)
    dense = facets.toarray()
    np.testing.assert_allclose(dense[np.isclose(distance, 1 / 8)], 1 / 8, rtol=1e-12)
    assert np.all(np.abs(dense[~np.isclose(distance, 1 / 8)]) <= 1e-15)


def test_a_triangulation_is_reused_while_regular_and_repaired_by_flips():
    rng = np.random.default_rng(4)
    y = rng.uniform(0.05, 0.95, size=(300, 2))
    h = -0.5 * np.sum(y * y, axis=1)
    hull = lower_hull(y, h)
    assert still_regular(hull, y, h)
    nearby = h + 1e-9 * rng.normal(size=300)
    moved = h + 1e-5 * np.random.default_rng(1).normal(size=300)
    assert still_regular(hull, y, nearby) and not still_regular(hull, y, moved)
    reused = power_cells_and_hull(y, nearby, 0.0, 1.0, polygons=False, triangulation=repaired_hull(hull, y, nearby)[0])
    assert reused[3] is hull
    np.testing.assert_array_equal(reused[0], power_cells(y, nearby, 0.0, 1.0)[0])
    # Moved heights break some edges; flips restore a regular triangulation: the same cells as qhull's.
    flipped = repaired_hull(hull, y, moved)[0]
    assert flipped is not None and flipped is not hull and still_regular(flipped, y, moved)
    repaired = power_cells_and_hull(y, moved, 0.0, 1.0, polygons=False, triangulation=flipped)
    fresh = power_cells(y, moved, 0.0, 1.0)
    np.testing.assert_allclose(repaired[0], fresh[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(repaired[1].toarray(), fresh[1].toarray(), rtol=0, atol=1e-15)
    # Heights that hide a target cannot be reached by flips: qhull again.
    hidden = h.copy()
    hidden[0] -= 1.0
    assert repaired_hull(hull, y, hidden)[0] is None


def _newton_direction(y: np.ndarray, facets, gradient: np.ndarray) -> np.ndarray:
    """The Newton direction by a direct solve (a fresh factorisation)."""
    return NewtonSystems(reuse=False).direction(y, facets, gradient, forcing=0.0)


def _cell_system(count: int, seed: int, spread: float) -> tuple[np.ndarray, list, list]:
    """Targets, and the (facets, gradient) of the Newton systems at the Voronoi heights and near them."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.05, 0.95, size=(count, 2))
    nu = np.full(count, 1.0 / count)
    voronoi = -0.5 * np.sum(y * y, axis=1)
    systems = []
    for h in (voronoi, voronoi + spread * rng.normal(size=count)):
        areas, facets, _ = power_cells(y, h, 0.0, 1.0, polygons=False)
        assert areas.min() > 0.0  # a connected cell graph: the grounded Laplacian is non-singular
        systems.append((facets, areas - nu))
    return y, *zip(*systems)


def test_conjugate_gradients_on_the_previous_factor_give_the_direct_direction():
    y, facets, gradients = _cell_system(400, 5, 1e-6)
    systems = NewtonSystems(reuse=True)
    first = systems.direction(y, facets[0], gradients[0], forcing=0.1)
    assert systems.factorisations == 1 and systems.cg_iterations == 0
    np.testing.assert_array_equal(first, _newton_direction(y, facets[0], gradients[0]))
    second = systems.direction(y, facets[1], gradients[1], forcing=1e-12)
    assert systems.factorisations == 0 and 0 < systems.cg_iterations <= newton_module.MAX_CG_ITERATIONS
    direct = _newton_direction(y, facets[1], gradients[1])
    np.testing.assert_allclose(second, direct, rtol=0, atol=1e-9 * np.abs(direct).max())
    assert abs(second.mean()) <= 1e-15


def test_a_stale_factor_is_replaced_when_conjugate_gradients_need_too_many_iterations(monkeypatch):
    y, facets, gradients = _cell_system(400, 6, 1e-6)
    systems = NewtonSystems(reuse=True)
    systems.direction(y, facets[0], gradients[0], forcing=0.1)
    monkeypatch.setattr(newton_module, "MAX_CG_ITERATIONS", 1)
    refactored = systems.direction(y, facets[1], gradients[1], forcing=1e-12)
    assert systems.factorisations == 1 and systems.cg_iterations == 1
    np.testing.assert_array_equal(refactored, _newton_direction(y, facets[1], gradients[1]))
    # Without reuse every system is factored.
    plain = NewtonSystems(reuse=False)
    plain.direction(y, facets[0], gradients[0], forcing=0.1)
    plain.direction(y, facets[1], gradients[1], forcing=0.1)
    assert plain.factorisations == 1 and plain.cg_iterations == 0


def test_newton_with_inexact_steps_reaches_the_exact_masses_with_one_factorisation(monkeypatch):
    targets = np.random.default_rng(7).uniform(0.05, 0.95, size=(600, 2)).astype(np.float32)
    source = {"type": "uniform_cube", "low": 0, "high": 1}
    exact = solve(targets, source=source, solver={"type": "newton", "tol": 1e-9})
    monkeypatch.setattr(newton_module, "REUSE_FACTOR_FROM", 1)
    inexact = solve(targets, source=source, solver={"type": "newton", "tol": 1e-9})
    assert exact.history["factorisations"] == [1] * exact.steps
    assert inexact.converged and inexact.max_rel_mass_error <= 1e-9 and inexact.steps == exact.steps
    assert sum(inexact.history["factorisations"]) == 1 and min(inexact.history["cg_iterations"][1:]) > 0
    areas, _, _ = power_cells(targets, inexact.heights, 0.0, 1.0, polygons=False)
    assert np.max(np.abs(areas * 600 - 1.0)) <= 1e-9


def test_a_target_above_the_plane_of_a_triangle_around_it_is_hidden():
    corners = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # lifted points (y, -h), counter-clockwise
    assert _hidden([*corners, [0.25, 0.25, 1e-3]], 3, 0, 1, 2)
    assert _hidden([*corners, [0.5, 0.5, 1e-3]], 3, 0, 1, 2)  # on an edge: still a convex combination
    assert not _hidden([*corners, [0.25, 0.25, -1e-3]], 3, 0, 1, 2)  # below the plane: a vertex
    assert not _hidden([*corners, [0.25, 0.25, 0.0]], 3, 0, 1, 2)  # on the plane: not proven
    assert not _hidden([*corners, [0.75, 0.75, 1e-3]], 3, 0, 1, 2)  # outside the triangle
    assert not _hidden([*corners, [0.25, 0.25, 1e-3]], 3, 0, 2, 1)  # clockwise: not a triangle of the test


def test_flips_that_meet_a_hidden_target_report_it_and_its_cell_is_empty():
    rng = np.random.default_rng(4)
    y = rng.uniform(0.05, 0.95, size=(300, 2))
    h = -0.5 * np.sum(y * y, axis=1)
    hull = lower_hull(y, h)
    hidden = h.copy()
    hidden[0] -= 1.0
    triangulation, target = repaired_hull(hull, y, hidden)
    assert triangulation is None and target >= 0
    assert power_cells(y, hidden, 0.0, 1.0, polygons=False)[0][target] == 0.0
    assert repaired_hull(hull, y, h) == (hull, -1)


def test_steps_rejected_on_a_hidden_target_match_those_rejected_on_the_cells(monkeypatch):
    rng = np.random.default_rng(8)
    centres = np.array([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0]])
    targets = (centres[rng.integers(3, size=300)] + 0.05 * rng.normal(size=(300, 2))).astype(np.float32)
    flips, proven = newton_module.repaired_hull, []

    def counted(hull, y, h):
        repaired = flips(hull, y, h)
        proven.append(repaired[1] >= 0)
        return repaired

    monkeypatch.setattr(newton_module, "repaired_hull", counted)
    certified = solve(targets, solver={"type": "newton", "tol": 1e-9})
    assert sum(proven) >= 3  # candidates rejected without their cells
    monkeypatch.setattr(newton_module, "repaired_hull", lambda hull, y, h: (flips(hull, y, h)[0], -1))  # no proofs
    computed = solve(targets, solver={"type": "newton", "tol": 1e-9})
    assert certified.converged and min(certified.history["step_size"]) < 1.0
    assert certified.steps == computed.steps and certified.history["step_size"] == computed.history["step_size"]
    np.testing.assert_array_equal(certified.heights, computed.heights)


@pytest.mark.parametrize("seed", [0, 1])
def test_flips_in_numpy_rounds_give_qhulls_triangulation_or_a_hidden_target(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.05, 0.95, size=(2000, 2))
    h = -0.5 * np.sum(y * y, axis=1)
    hull = lower_hull(y, h)
    monkeypatch.setattr(newton_module, "BATCHED_FLIPS_FROM", 1)
    for scale, hides in ((5e-3, False), (3e-2, True)):
        moved = h + scale * np.sin(7 * y[:, 0] + seed) * np.cos(5 * y[:, 1])  # smooth: only the large one hides
        assert newton_module._violated_edges(hull, y, moved)[0].size > 100
        triangulation, target = repaired_hull(hull, y, moved)
        areas = power_cells(y, moved, 0.0, 1.0, polygons=False)[0]
        if hides:
            assert triangulation is None and target >= 0 and areas[target] == 0.0
            continue
        assert target == -1 and still_regular(triangulation, y, moved)
        expected = lower_hull(y, moved).simplices
        assert sorted(map(tuple, np.sort(triangulation.simplices, axis=1))) == sorted(
            map(tuple, np.sort(expected, axis=1))
        )
        repaired = power_cells_and_hull(y, moved, 0.0, 1.0, polygons=False, triangulation=triangulation)[0]
        np.testing.assert_allclose(repaired, areas, rtol=0, atol=1e-15)
