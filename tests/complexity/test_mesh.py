"""Exact region counts on triangle meshes and 2-D boxes (geokeras.complexity.mesh)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.mesh import MeshRegions, count_regions_in_box, count_regions_on_mesh
from geokeras.manifolds import make
from geokeras.manifolds.meshes import triangle_areas


# ----------------------------------------------------------------------------- helpers
def one_hidden_layer(units: int, seed: int, bias_scale: float = 0.5) -> LoweredNetwork:
    rng = np.random.default_rng(seed)
    hidden = AffineLayer(rng.normal(size=(2, units)), bias_scale * rng.normal(size=units), "relu")
    output = AffineLayer(rng.normal(size=(units, 1)), np.zeros(1), "linear")
    return LoweredNetwork((hidden, output))


def random_network(widths: list[int], seed: int, activation: str = "relu", slope: float = 0.0) -> LoweredNetwork:
    rng = np.random.default_rng(seed)
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        last = index == len(widths) - 2
        layers.append(
            AffineLayer(
                rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in),
                0.1 * rng.normal(size=fan_out),
                "linear" if last else activation,
                0.0 if last else slope,
            )
        )
    return LoweredNetwork(tuple(layers))


def exact_box_count(weight: np.ndarray, bias: np.ndarray, low, high) -> int:
    """1 + (lines meeting the open box) + (pairwise intersections inside it), in rationals."""
    w = [[Fraction(float(v)) for v in row] for row in weight.T]
    b = [Fraction(float(v)) for v in bias]
    low = [Fraction(float(v)) for v in low]
    high = [Fraction(float(v)) for v in high]
    corners = [(low[0], low[1]), (high[0], low[1]), (high[0], high[1]), (low[0], high[1])]
    meeting = 0
    for (w1, w2), c in zip(w, b):
        values = [w1 * x + w2 * y + c for x, y in corners]
        meeting += any(v > 0 for v in values) and any(v < 0 for v in values)
    inside = 0
    for i, j in itertools.combinations(range(len(b)), 2):
        determinant = w[i][0] * w[j][1] - w[i][1] * w[j][0]
        if determinant == 0:
            continue
        x = (-b[i] * w[j][1] + b[j] * w[i][1]) / determinant
        y = (-w[i][0] * b[j] + w[j][0] * b[i]) / determinant
        inside += low[0] < x < high[0] and low[1] < y < high[1]
    return 1 + meeting + inside


def points_in_triangles(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chosen = faces[rng.integers(0, len(faces), count)]
    r = rng.random((count, 2))
    flip = r.sum(axis=1) > 1
    r[flip] = 1 - r[flip]
    a, b, c = vertices[chosen[:, 0]], vertices[chosen[:, 1]], vertices[chosen[:, 2]]
    return a + r[:, :1] * (b - a) + r[:, 1:] * (c - a)


def annulus_mesh(inner: float = 0.5, outer: float = 1.0, rings: int = 4, sectors: int = 24):
    radii = np.linspace(inner, outer, rings + 1)
    angles = 2 * np.pi * np.arange(sectors) / sectors
    vertices = np.array([[r * np.cos(t), r * np.sin(t)] for r in radii for t in angles])
    faces = []
    for i in range(rings):
        for j in range(sectors):
            a, b = i * sectors + j, i * sectors + (j + 1) % sectors
            c, d = (i + 1) * sectors + (j + 1) % sectors, (i + 1) * sectors + j
            faces += [[a, b, c], [a, c, d]]
    return vertices, np.array(faces)


def tent_network(depth: int) -> LoweredNetwork:
    """t(x) = 2 relu(x) - 4 relu(x - 1/2) composed ``depth`` times, on the first input of R^2."""
    layers = [AffineLayer(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([0.0, -0.5]), "relu")]
    for _ in range(depth - 1):
        layers.append(AffineLayer(np.array([[2.0, 2.0], [-4.0, -4.0]]), np.array([0.0, -0.5]), "relu"))
    layers.append(AffineLayer(np.array([[2.0], [-4.0]]), np.zeros(1), "linear"))
    return LoweredNetwork(tuple(layers))


def strip_mesh(length: float = 1.0, height: float = 1e-2, cells: int = 7):
    xs = np.linspace(0.0, length, cells + 1)
    vertices = np.concatenate([np.c_[xs, np.zeros_like(xs)], np.c_[xs, np.full_like(xs, height)]])
    top = cells + 1
    faces = [[i, i + 1, top + i + 1] for i in range(cells)] + [[i, top + i + 1, top + i] for i in range(cells)]
    return vertices, np.array(faces)


# ----------------------------------------------------------------------------- one hidden layer
@pytest.mark.parametrize("units", [1, 2, 3, 5, 8, 13, 21])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_hidden_layer_on_a_box_matches_the_arrangement_count(units, seed):
    network = one_hidden_layer(units, seed)
    low, high = [-1.0, -0.5], [1.0, 1.5]
    result = count_regions_in_box(network, low, high)
    hidden = network.layers[0]
    expected = exact_box_count(hidden.weight, hidden.bias, low, high)
    assert result.regions == expected
    # Distinct lines: each region is its own cell; generic output weights: its own piece.
    assert result.cells == expected and result.pieces == expected
    assert len(result.polygons) == result.regions


@pytest.mark.parametrize("units", [2, 5, 10, 20])
def test_a_box_holding_every_intersection_has_1_plus_n_plus_n_choose_2_regions(units):
    network = one_hidden_layer(units, seed=units)
    weight, bias = network.layers[0].weight, network.layers[0].bias
    crossings = [
        np.linalg.solve(np.array([weight[:, i], weight[:, j]]), -np.array([bias[i], bias[j]]))
        for i, j in itertools.combinations(range(units), 2)
    ]
    reach = 2.0 * max(1.0, np.abs(np.array(crossings)).max())
    result = count_regions_in_box(network, [-reach, -reach], [reach, reach])
    assert result.regions == 1 + units + units * (units - 1) // 2


# ----------------------------------------------------------------------------- invariants
def test_region_areas_sum_to_the_mesh_area_on_a_sphere():
    vertices, faces = make({"type": "sphere"}).mesh(8)
    result = count_regions_on_mesh(random_network([3, 12, 12, 2], seed=3), vertices, faces)
    total = triangle_areas(vertices, faces).sum()
    np.testing.assert_allclose(result.areas.sum(), total, rtol=1e-9)
    assert np.all(result.areas > 0)
    assert result.regions >= result.cells >= 1 and result.regions >= result.pieces >= 1
    polygon_areas = np.bincount(result.polygon_region_ids, minlength=result.regions)
    assert polygon_areas.sum() == len(result.polygons)


def grid_mesh_of_box(low, high, cells: int):
    xs = np.linspace(low[0], high[0], cells + 1)
    ys = np.linspace(low[1], high[1], cells + 1)
    vertices = np.array([[x, y] for y in ys for x in xs])
    faces = []
    for j in range(cells):
        for i in range(cells):
            a, b = j * (cells + 1) + i, j * (cells + 1) + i + 1
            c, d = b + cells + 1, a + cells + 1
            faces += [[a, b, c], [a, c, d]] if (i + j) % 2 else [[a, b, d], [b, c, d]]
    return vertices, np.array(faces)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_triangulated_box_has_the_regions_cells_and_pieces_of_the_box(seed):
    # The same domain cut as 72 triangles: regions must be merged across every mesh edge.
    network = random_network([2, 12, 12, 1], seed=seed)
    low, high = [-1.0, -1.0], [1.0, 1.0]
    box = count_regions_in_box(network, low, high)
    mesh = count_regions_on_mesh(network, *grid_mesh_of_box(low, high, 6))
    assert (mesh.regions, mesh.cells, mesh.pieces) == (box.regions, box.cells, box.pieces)
    assert len(mesh.polygons) > box.regions
    np.testing.assert_allclose(np.sort(mesh.areas), np.sort(box.areas), rtol=1e-9, atol=1e-15)


def test_region_areas_sum_to_the_box_area():
    result = count_regions_in_box(random_network([2, 16, 16, 1], seed=4), [-1.0, -2.0], [3.0, 1.0])
    np.testing.assert_allclose(result.areas.sum(), 12.0, rtol=1e-9)


@pytest.mark.parametrize("activation,slope", [("relu", 0.0), ("leaky_relu", 0.1)])
def test_region_affine_maps_reproduce_the_network_inside_each_polygon(activation, slope):
    network = random_network([2, 10, 10, 3], seed=5, activation=activation, slope=slope)
    result = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
    assert result.regions == result.cells  # cell ∩ box is convex: one region per cell
    rng = np.random.default_rng(0)
    for polygon, region in zip(result.polygons, result.polygon_region_ids):
        weights = rng.dirichlet(np.ones(len(polygon)), size=3)  # interior points
        points = np.concatenate([weights @ polygon, polygon.mean(axis=0, keepdims=True)])
        linear, offset = result.affine_map(region)
        np.testing.assert_allclose(points @ linear + offset, network(points), rtol=1e-9, atol=1e-12)
        # ... and each interior point's activation pattern is the region's cell.
        patterns = network.activation_pattern(points)
        assert np.all(patterns == result.patterns[result.cell_ids[region]])


def test_sampled_patterns_are_a_subset_of_the_exact_cells_on_a_mesh():
    vertices, faces = make({"type": "torus"}).mesh(10)
    network = random_network([3, 10, 10, 2], seed=6)
    result = count_regions_on_mesh(network, vertices, faces)
    samples = points_in_triangles(vertices, faces, 20000, seed=1)
    sampled = {row.tobytes() for row in network.activation_pattern(samples)}
    exact = {row.tobytes() for row in result.patterns}
    assert sampled <= exact
    assert len(sampled) >= 0.5 * len(exact)  # dense samples find most cells


def test_regions_merge_across_mesh_edges_and_a_cell_met_twice_is_one_cell():
    # Annulus cut by the lines y = 0.2 and y = -0.2: top, bottom, and the middle band's cell
    # (both neurons off) met twice, left and right.
    vertices, faces = annulus_mesh()
    hidden = AffineLayer(np.array([[0.0, 0.0], [1.0, -1.0]]), np.array([-0.2, -0.2]), "relu")
    output = AffineLayer(np.array([[1.0], [1.0]]), np.zeros(1), "linear")
    result = count_regions_on_mesh(LoweredNetwork((hidden, output)), vertices, faces)
    assert (result.regions, result.cells, result.pieces) == (4, 3, 4)
    assert len(result.polygons) > 4 * len(faces) // 10  # the regions span many triangles
    np.testing.assert_allclose(result.areas.sum(), triangle_areas(vertices, faces).sum(), rtol=1e-9)


# ----------------------------------------------------------------------------- degenerate cases
def test_a_neuron_with_zero_outgoing_weight_gives_two_cells_and_one_piece():
    hidden = AffineLayer(np.array([[1.0, 0.0], [0.5, 0.0]]), np.array([0.1, 1.0]), "relu")
    output = AffineLayer(np.array([[0.0], [2.0]]), np.array([0.3]), "linear")
    result = count_regions_in_box(LoweredNetwork((hidden, output)), [-1.0, -1.0], [1.0, 1.0])
    assert (result.regions, result.cells, result.pieces) == (2, 2, 1)
    assert result.piece_ids.tolist() == [0, 0]


def test_an_all_dead_network_is_one_region():
    hidden = AffineLayer(np.array([[1.0, -1.0], [1.0, 2.0]]), np.array([-10.0, -10.0]), "relu")
    output = AffineLayer(np.ones((2, 1)), np.zeros(1), "linear")
    network = LoweredNetwork((hidden, output))
    box = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
    assert (box.regions, box.cells, box.pieces) == (1, 1, 1)
    vertices, faces = annulus_mesh()
    mesh = count_regions_on_mesh(network, vertices, faces)
    assert (mesh.regions, mesh.cells, mesh.pieces) == (1, 1, 1)
    assert len(mesh.polygons) == len(faces)


def test_coincident_hyperplanes_make_no_extra_region():
    # Three neurons on the line x + 2y = 0.25 (scaled by 2.5, and with the opposite orientation):
    # every coefficient is a dyadic rational, so the lines coincide exactly.
    weight = np.array([[1.0, 2.5, -1.0], [2.0, 5.0, -2.0]])
    bias = np.array([-0.25, -0.625, 0.25])
    hidden = AffineLayer(weight, bias, "relu")
    output = AffineLayer(np.array([[1.0], [1.0], [1.0]]), np.zeros(1), "linear")
    result = count_regions_in_box(LoweredNetwork((hidden, output)), [-1.0, -1.0], [1.0, 1.0])
    assert (result.regions, result.cells) == (2, 2)
    assert sorted(map(tuple, result.patterns.astype(int))) == [(0, 0, 1), (1, 1, 0)]


def test_nearly_coincident_hyperplanes_bound_a_real_sliver():
    # x + 2y = fl(0.3) and 2.5 x + 5 y = 0.75, i.e. x + 2y = 0.3 exactly: parallel lines
    # 1.1e-17 / sqrt(5) apart (fl(0.3) = 0.3 - 1.1e-17). The strip between them is a region.
    weight = np.array([[1.0, 2.5], [2.0, 5.0]])
    hidden = AffineLayer(weight, np.array([-0.3, -0.75]), "relu")
    output = AffineLayer(np.array([[1.0], [1.0]]), np.zeros(1), "linear")
    result = count_regions_in_box(LoweredNetwork((hidden, output)), [-1.0, -1.0], [1.0, 1.0])
    assert (result.regions, result.cells) == (3, 3)
    assert sorted(map(tuple, result.patterns.astype(int))) == [(0, 0), (1, 0), (1, 1)]


@pytest.mark.parametrize(
    "weight,bias,regions",
    [
        ([1.0, -1.0], 0.0, 2),  # the diagonal through two corners
        ([1.0, 0.0], 1.0, 1),  # along the edge x = -1
        ([1.0, 1.0], 2.0, 1),  # through the corner (-1, -1) only
        ([1.0, 1.0], 2.0 - 1e-15, 2),  # fl(2 - 1e-15) cuts a corner triangle of area 6e-31: a region
        ([1.0, 1.0], 2.0 - 1e-7, 2),  # a corner triangle of area 5e-15: a region
        ([1.0, 1.0], 2.0 - 1e-4, 2),  # a corner triangle of area 5e-9: a region
    ],
)
def test_lines_through_corners_and_edges_make_no_slivers_and_real_slivers_count(weight, bias, regions):
    hidden = AffineLayer(np.array(weight).reshape(2, 1), np.array([bias]), "relu")
    output = AffineLayer(np.ones((1, 1)), np.zeros(1), "linear")
    result = count_regions_in_box(LoweredNetwork((hidden, output)), [-1.0, -1.0], [1.0, 1.0])
    assert result.regions == regions
    assert result.areas.min() > 0 if regions == 2 else result.areas.min() == 4.0
    np.testing.assert_allclose(result.areas.sum(), 4.0, rtol=1e-12)


@pytest.mark.parametrize("depth", range(1, 11))
def test_the_tent_map_on_a_thin_strip_has_2_to_the_depth_pieces(depth):
    vertices, faces = strip_mesh()
    result = count_regions_on_mesh(tent_network(depth), vertices, faces)
    assert result.pieces == 2**depth
    assert result.regions == 2**depth
    # The pieces are the intervals [k / 2^L, (k + 1) / 2^L] times the strip.
    np.testing.assert_allclose(np.sort(result.areas), np.full(2**depth, 1e-2 / 2**depth), rtol=1e-9)


# ----------------------------------------------------------------------------- API
def test_a_model_is_lowered_with_lower_before_counting(monkeypatch):
    # Keras models reach the counter through geokeras.complexity.lowering.lower (tested in
    # test_lowering.py); a stand-in model avoids importing TensorFlow here.
    import geokeras.complexity.lowering as lowering

    network = one_hidden_layer(4, seed=2)
    received = []

    def fake_lower(model):
        received.append(model)
        return network

    monkeypatch.setattr(lowering, "lower", fake_lower)
    stand_in = object()
    via_model = count_regions_in_box(stand_in, [-1.0, -1.0], [1.0, 1.0])
    direct = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
    assert received[0] is stand_in
    assert (via_model.regions, via_model.cells, via_model.pieces) == (direct.regions, direct.cells, direct.pieces)


def test_result_metrics_are_plain_numbers():
    result = count_regions_in_box(one_hidden_layer(3, seed=1), [-1.0, -1.0], [1.0, 1.0])
    assert isinstance(result, MeshRegions)
    metrics = result.as_metrics()
    assert metrics == {
        "regions": 7,
        "cells": 7,
        "pieces": 7,
        "area": pytest.approx(4.0, rel=1e-12),
        "exact_decisions": 0,
    }
    assert all(type(value) in (int, float) for value in metrics.values())


def test_invalid_inputs_are_reported_with_what_was_received():
    network = one_hidden_layer(2, seed=0)
    with pytest.raises(ValueError, match=r"Expected vertices of shape \[V >= 3, 2\].*Received: shape=\[3, 3\]"):
        count_regions_on_mesh(network, np.eye(3), [[0, 1, 2]])
    with pytest.raises(ValueError, match=r"Expected face indices in \[0, 3\).*\[0, 3\]"):
        count_regions_on_mesh(network, np.eye(3)[:, :2], [[0, 1, 3]])
    with pytest.raises(ValueError, match="Expected finite low < high"):
        count_regions_in_box(network, [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="input dimension 2 for a box.*Received: input dimension 3"):
        count_regions_in_box(random_network([3, 2, 1], seed=0), [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="region index"):
        count_regions_in_box(network, [0.0, 0.0], [1.0, 1.0]).affine_map(99)


# ----------------------------------------------------------------------------- exactness
def _oracle():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "check_exact_regions.py"
    spec = importlib.util.spec_from_file_location("check_exact_regions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("width, seed", [(6, 0), (8, 2), (10, 1)])
def test_box_counts_equal_an_exact_rational_oracle(width, seed):
    oracle = _oracle()
    network = oracle.he_network([2, width, width, width, 1], seed)
    regions = oracle.exact_box_regions(network, (-1, -1), (1, 1))
    assert sum(oracle._area(corners) for corners, _ in regions) == 4  # exactly the box
    assert count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0]).regions == len(regions)


def three_lines(offset: float) -> LoweredNetwork:
    """relu(y), relu(x - y + offset), relu(-x - y + offset): around the origin the three lines bound a
    triangle with corners (0, 0)... of area offset^2 (the lines y = 0, y = x + offset, y = -x + offset meet
    pairwise at (-offset, 0), (offset, 0) and (0, offset))."""
    weight = np.array([[0.0, 1.0, -1.0], [1.0, -1.0, -1.0]])
    hidden = AffineLayer(weight, np.array([0.0, offset, offset]), "relu")
    return LoweredNetwork((hidden, AffineLayer(np.ones((3, 1)), np.zeros(1))))


@pytest.mark.parametrize("exponent", [-20, -23, -25])  # triangle areas 2^-40 (9e-13) .. 2^-50 (9e-16)
def test_planted_sliver_triangles_are_regions(exponent):
    # Three lines in general position in a box around them: 7 regions, one of them the
    # triangle of area offset^2, however small.
    result = count_regions_in_box(three_lines(2.0**exponent), [-1.0, -1.0], [1.0, 1.0])
    assert result.regions == 7
    assert result.areas.min() == pytest.approx(2.0 ** (2 * exponent), rel=1e-6)


@pytest.mark.parametrize("half_width", [100.0, 1000.0])
def test_a_small_triangle_counts_in_any_box(half_width):
    # Area 4.5e-8 (offset 2.1e-4): 7 regions whatever the box around it.
    result = count_regions_in_box(three_lines(2.1213e-4), [-half_width] * 2, [half_width] * 2)
    assert result.regions == 7


@pytest.mark.parametrize("scale", [2.0**10, 1e3])
def test_scaling_the_box_with_the_first_layer_changes_nothing(scale):
    oracle = _oracle()
    network = oracle.he_network([2, 12, 12, 1], 3)
    first = network.layers[0]
    scaled = LoweredNetwork((AffineLayer(first.weight / scale, first.bias, "relu"), *network.layers[1:]))
    plain = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0])
    assert count_regions_in_box(scaled, [-scale, -scale], [scale, scale]).regions == plain.regions
    assert count_regions_in_box(network, [-0.5, -1.0], [1.5, 1.0]).regions != 0  # translated box: its own count


def test_a_box_cut_into_triangles_has_the_same_regions():
    oracle = _oracle()
    network = oracle.he_network([2, 10, 10, 1], 5)
    vertices = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [0.25, -0.125]])
    faces = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    assert (
        count_regions_on_mesh(network, vertices, faces).regions
        == count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0]).regions
    )


def test_a_corner_exactly_on_a_later_line_is_decided_exactly():
    # The layer-2 unit relu(relu(x) - relu(y)) has its line y = x through the corner (0, 0) of
    # the layer-1 lines x = 0 and y = 0: 4 quadrants, of which x, y > 0 is cut in two.
    first = AffineLayer(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2), "relu")
    second = AffineLayer(np.array([[1.0], [-1.0]]), np.zeros(1), "relu")
    network = LoweredNetwork((first, second, AffineLayer(np.ones((1, 1)), np.zeros(1), "linear")))
    assert count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0]).regions == 5


def test_the_polygon_budget_stops_the_count_and_says_how_far_it_got():
    from geokeras.complexity.mesh import RegionBudgetExceeded

    network = _oracle().he_network([2, 10, 10, 1], 6)
    total = count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0]).regions
    with pytest.raises(RegionBudgetExceeded, match=f"max_polygons={total - 1}"):
        count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0], max_polygons=total - 1)
    assert count_regions_in_box(network, [-1.0, -1.0], [1.0, 1.0], max_polygons=total).regions == total
