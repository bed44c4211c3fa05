"""Exact cells and pieces along a polyline (geokeras.complexity.polyline)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.polyline import count_regions_on_polyline


def tent_network(depth: int) -> LoweredNetwork:
    """t(x) = 2 relu(x) - 4 relu(x - 1/2) composed ``depth`` times (Telgarsky's tent map)."""
    spread, combine = np.array([[1.0, 1.0]]), np.array([[2.0], [-4.0]])
    layers = [AffineLayer(spread, np.array([0.0, -0.5]), "relu")]
    for _ in range(depth - 1):
        layers.append(AffineLayer(combine @ spread, np.array([0.0, -0.5]), "relu"))
    layers.append(AffineLayer(combine, np.zeros(1)))
    return LoweredNetwork(tuple(layers))


def one_layer(weights, biases, outgoing=None) -> LoweredNetwork:
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    outgoing = np.ones((weights.shape[1], 1)) if outgoing is None else np.asarray(outgoing, np.float64).reshape(-1, 1)
    return LoweredNetwork((AffineLayer(weights, biases, "relu"), AffineLayer(outgoing, np.zeros(1))))


UNIT_INTERVAL = np.array([[0.0], [1.0]])


@pytest.mark.parametrize("depth", range(1, 11))
def test_tent_map_has_exactly_two_to_the_depth_pieces(depth):
    regions = count_regions_on_polyline(tent_network(depth), UNIT_INTERVAL)
    assert regions.pieces == regions.intervals == regions.cells == 2**depth
    # the kinks are the dyadic points k / 2^L; the valleys (t^L = 0) do not split again
    np.testing.assert_array_equal(regions.breakpoints, np.arange(1, 2**depth) / 2**depth)


def test_tent_map_along_a_polyline_with_many_vertices_ignores_the_vertices():
    vertices = np.linspace(0.0, 1.0, 7)[:, None]  # vertices are not breakpoints
    regions = count_regions_on_polyline(tent_network(3), vertices)
    assert (regions.intervals, regions.cells, regions.pieces) == (8, 8, 8)
    np.testing.assert_allclose(regions.breakpoints, 6 * np.arange(1, 8) / 8, atol=1e-12)  # s = 6 x


def test_one_hidden_layer_counts_each_kink_inside_the_segment():
    # kinks at x = 0.2, 0.5, -0.3 (outside [0, 1]) and 0.9
    regions = count_regions_on_polyline(one_layer([[1, -1, 1, 2]], [-0.2, 0.5, 0.3, -1.8]), UNIT_INTERVAL)
    assert (regions.intervals, regions.cells, regions.pieces) == (4, 4, 4)
    np.testing.assert_allclose(regions.breakpoints, [0.2, 0.5, 0.9], atol=1e-15)


def test_coincident_hyperplanes_split_once():
    regions = count_regions_on_polyline(one_layer([[1, 1, 2]], [-0.5, -0.5, -1.0]), UNIT_INTERVAL)
    assert (regions.intervals, regions.cells, regions.pieces) == (2, 2, 2)


def test_neuron_with_zero_outgoing_weight_gives_two_cells_and_one_piece():
    regions = count_regions_on_polyline(one_layer([[1.0]], [-0.5], outgoing=[0.0]), UNIT_INTERVAL)
    assert (regions.intervals, regions.cells, regions.pieces) == (2, 2, 1)
    assert regions.piece_breakpoints.size == 0


def test_all_dead_network_is_one_region():
    network = LoweredNetwork(
        (
            AffineLayer(np.zeros((2, 3)), -np.ones(3), "relu"),
            AffineLayer(np.ones((3, 3)), np.zeros(3), "relu"),
            AffineLayer(np.ones((3, 1)), np.zeros(1)),
        )
    )
    regions = count_regions_on_polyline(network, np.random.default_rng(0).normal(size=(50, 2)))
    assert (regions.intervals, regions.cells, regions.pieces) == (1, 1, 1)
    assert regions.patterns.tolist() == [[False] * 6]


def test_a_cell_met_twice_counts_once_as_a_cell_but_twice_as_an_interval():
    back_and_forth = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])  # crosses x1 = 0.5 twice
    network = LoweredNetwork(
        (AffineLayer(np.array([[1.0], [0.0]]), np.array([-0.5]), "relu"), AffineLayer(np.ones((1, 1)), np.zeros(1)))
    )
    regions = count_regions_on_polyline(network, back_and_forth)
    assert (regions.intervals, regions.cells, regions.pieces) == (3, 2, 3)
    np.testing.assert_allclose(regions.breakpoints, [0.5, 1.5])


def test_closed_polyline_joins_the_run_through_the_first_vertex():
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    line = LoweredNetwork(
        (AffineLayer(np.array([[1.0], [0.25]]), np.array([0.0]), "relu"), AffineLayer(np.ones((1, 1)), np.zeros(1)))
    )
    closed = count_regions_on_polyline(line, square, closed=True)
    assert (closed.intervals, closed.cells, closed.pieces, closed.segments) == (2, 2, 2, 4)
    assert closed.breakpoints.size == 2  # a closed curve: as many breakpoints as intervals
    opened = count_regions_on_polyline(line, square, closed=False)
    assert (opened.intervals, opened.segments) == (3, 3)
    inside = count_regions_on_polyline(line, square + 5.0, closed=True)
    assert (inside.intervals, inside.cells, inside.pieces) == (1, 1, 1)
    assert inside.breakpoints.size == 0


def random_network(rng, widths, scale=1.0) -> LoweredNetwork:
    layers = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        activation = "linear" if index == len(widths) - 2 else "relu"
        layers.append(
            AffineLayer(
                rng.normal(size=(n_in, n_out)) * scale * np.sqrt(2.0 / n_in), rng.normal(size=n_out) * 0.1, activation
            )
        )
    return LoweredNetwork(tuple(layers))


def spiral(segments: int) -> np.ndarray:
    theta = np.linspace(0.0, 4 * np.pi, segments + 1)
    return np.stack([theta * np.cos(theta), theta * np.sin(theta)], axis=1) / 10


def test_assembled_affine_maps_reproduce_the_network_along_the_curve():
    rng = np.random.default_rng(1)
    network = random_network(rng, [2, 16, 16, 16, 2])
    vertices = spiral(300)
    regions = count_regions_on_polyline(network, vertices)
    starts, ends = vertices[:-1], vertices[1:]
    middle_t = 0.5 * (regions.part_starts + regions.part_ends)
    points = starts[regions.part_segments] + middle_t[:, None] * (ends - starts)[regions.part_segments]
    linear, offset = network.affine_maps(regions.patterns[regions.part_cells])
    np.testing.assert_allclose(np.einsum("ni,nio->no", points, linear) + offset, network(points), atol=1e-12)
    # and the pattern at each part's midpoint is the part's cell
    np.testing.assert_array_equal(network.activation_pattern(points), regions.patterns[regions.part_cells])
    assert regions.cells <= regions.intervals and regions.pieces <= regions.intervals


def test_part_boundaries_are_zeros_of_a_pre_activation():
    rng = np.random.default_rng(2)
    network = random_network(rng, [2, 8, 8, 1])
    vertices = spiral(50)
    regions = count_regions_on_polyline(network, vertices)
    inner = regions.part_starts > 0
    starts, ends = vertices[:-1], vertices[1:]
    segment = regions.part_segments[inner]
    points = starts[segment] + regions.part_starts[inner, None] * (ends - starts)[segment]
    nearest_zero = np.min(np.abs(np.concatenate(network.pre_activations(points)[:-1], axis=1)), axis=1)
    assert np.all(nearest_zero < 1e-12)


# ------------------------------------------------------------------ exact-rational oracle
def _oracle(weights, biases, low, high):
    """Intervals, cells, pieces and breakpoints of a 1-D-input ReLU net in exact rationals.

    Each interval carries each unit's value as an affine function alpha x + beta of x; each
    layer's zeros strictly inside an interval split it; the pattern is read at midpoints.
    """
    intervals = [(low, high, [(Fraction(1), Fraction(0))], ())]
    for layer, (w, b) in enumerate(zip(weights, biases)):
        last = layer == len(weights) - 1
        refined = []
        for a, c, units, pattern in intervals:
            pre = []
            for j in range(len(b)):
                alpha = sum((w[i][j] * u[0] for i, u in enumerate(units)), Fraction(0))
                beta = sum((w[i][j] * u[1] for i, u in enumerate(units)), Fraction(0)) + b[j]
                pre.append((alpha, beta))
            cuts = (
                sorted({-beta / alpha for alpha, beta in pre if alpha != 0 and a < -beta / alpha < c})
                if not last
                else []
            )
            points = [a, *cuts, c]
            for left, right in itertools.pairwise(points):
                middle = (left + right) / 2
                if last:
                    refined.append((left, right, pre, pattern))
                    continue
                active = tuple(alpha * middle + beta > 0 for alpha, beta in pre)
                outputs = [
                    (alpha, beta) if on else (Fraction(0), Fraction(0)) for (alpha, beta), on in zip(pre, active)
                ]
                refined.append((left, right, outputs, pattern + active))
        intervals = refined
    runs, cells, maps = [], set(), []
    for left, _right, outputs, pattern in intervals:
        cells.add(pattern)
        if runs and runs[-1][1] == pattern:
            continue
        runs.append((left, pattern))
        maps.append(tuple(outputs))
    pieces = 1 + sum(1 for m1, m2 in itertools.pairwise(maps) if m1 != m2)
    return len(runs), len(cells), pieces, [left for left, _ in runs[1:]]


@pytest.mark.parametrize("seed", range(8))
def test_counts_equal_the_exact_rational_oracle_on_small_integer_networks(seed):
    rng = np.random.default_rng(seed)
    widths = [1, 5, 5, 4, 1]
    weights = [rng.integers(-3, 4, size=(n_in, n_out)) for n_in, n_out in itertools.pairwise(widths)]
    biases = [rng.integers(-4, 5, size=n_out) for n_out in widths[1:]]
    network = LoweredNetwork(
        tuple(
            AffineLayer(w.astype(np.float64), b / 2.0, "linear" if k == len(weights) - 1 else "relu")
            for k, (w, b) in enumerate(zip(weights, biases))
        )
    )
    exact_w = [[[Fraction(int(v)) for v in row] for row in w] for w in weights]
    exact_b = [[Fraction(int(v), 2) for v in b] for b in biases]
    intervals, cells, pieces, breakpoints = _oracle(exact_w, exact_b, Fraction(-3), Fraction(3))
    regions = count_regions_on_polyline(network, np.array([[-3.0], [3.0]]))
    assert (regions.intervals, regions.cells, regions.pieces) == (intervals, cells, pieces)
    np.testing.assert_allclose(regions.breakpoints * 6 - 3, [float(x) for x in breakpoints], atol=1e-12)


def test_invalid_inputs_are_reported():
    network = one_layer([[1.0, 1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"input space, shape \[n, 1\]. Received: shape=\[3, 2\]"):
        count_regions_on_polyline(network, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"n >= 3 for a closed polyline. Received: shape=\[2, 1\]"):
        count_regions_on_polyline(network, UNIT_INTERVAL, closed=True)
    with pytest.raises(ValueError, match="positive length"):
        count_regions_on_polyline(network, np.zeros((4, 1)))
    with pytest.raises(TypeError):
        count_regions_on_polyline(network, UNIT_INTERVAL, tol=0.6)  # no tolerance: the count is exact


def test_keras_models_are_lowered_and_counted():
    import keras

    inputs = keras.Input((1,))
    hidden = keras.layers.Dense(2, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.layers[1].set_weights([np.array([[1.0, -1.0]]), np.array([-0.25, 0.5])])  # kinks at 0.25, 0.5
    model.layers[2].set_weights([np.array([[1.0], [1.0]]), np.zeros(1)])
    regions = count_regions_on_polyline(model, UNIT_INTERVAL)
    assert (regions.intervals, regions.cells, regions.pieces) == (3, 3, 3)


def test_tiling_does_not_change_the_result():
    rng = np.random.default_rng(3)
    network = random_network(rng, [2, 32, 32, 1])
    whole = count_regions_on_polyline(network, spiral(400))
    tiled = count_regions_on_polyline(network, spiral(400), tile_elements=100)
    assert (whole.intervals, whole.cells, whole.pieces) == (tiled.intervals, tiled.cells, tiled.pieces)
    # exactly decided quantities: the sequence of cells along the curve and the exact part ends
    np.testing.assert_array_equal(whole.patterns[whole.part_cells], tiled.patterns[tiled.part_cells])
    np.testing.assert_array_equal(whole.part_segments, tiled.part_segments)
    assert whole.exact_part_bounds() == tiled.exact_part_bounds()


def test_polyline_count_equals_the_mesh_count_of_a_box_whose_cells_are_strips():
    # Hidden units that ignore x2 make every cell a vertical strip, so the box [-1, 1]^2 is
    # cut into exactly the intervals of its bottom edge: the 1-D count is the 2-D count of
    # the degenerate (x2-independent) case.
    from geokeras.complexity import mesh

    rng = np.random.default_rng(4)
    network = random_network(rng, [2, 12, 12, 1], scale=2.0)
    first = network.layers[0]
    flattened = LoweredNetwork(
        (AffineLayer(first.weight * np.array([[1.0], [0.0]]), first.bias, "relu"), *network.layers[1:])
    )
    edge = count_regions_on_polyline(flattened, np.array([[-1.0, -1.0], [1.0, -1.0]]))
    box = mesh.count_regions_in_box(flattened, [-1.0, -1.0], [1.0, 1.0])
    assert edge.intervals > 5
    assert (box.regions, box.cells, box.pieces) == (edge.intervals, edge.cells, edge.pieces)


@pytest.mark.parametrize("depth", [1, 4, 10])
def test_tensorflow_backend_gives_the_tent_map_counts(depth):
    regions = count_regions_on_polyline(tent_network(depth), UNIT_INTERVAL, backend="tensorflow")
    assert regions.pieces == regions.intervals == regions.cells == 2**depth
    np.testing.assert_array_equal(regions.breakpoints, np.arange(1, 2**depth) / 2**depth)


@pytest.mark.parametrize("closed, tile_elements", [(False, 1 << 22), (True, 6000)])
def test_tensorflow_backend_equals_numpy(closed, tile_elements):
    network = random_network(np.random.default_rng(5), [2, 24, 24, 24, 1])
    vertices = spiral(500)
    ours = count_regions_on_polyline(network, vertices, closed, tile_elements=tile_elements)
    theirs = count_regions_on_polyline(network, vertices, closed, tile_elements=tile_elements, backend="tensorflow")
    assert (ours.intervals, ours.cells, ours.pieces) == (theirs.intervals, theirs.cells, theirs.pieces)
    np.testing.assert_array_equal(ours.patterns[ours.part_cells], theirs.patterns[theirs.part_cells])
    assert ours.exact_part_bounds() == theirs.exact_part_bounds()
    with pytest.raises(ValueError, match="Received: backend='jax'"):
        count_regions_on_polyline(network, vertices, backend="jax")


@pytest.mark.parametrize("seed", range(4))
def test_float32_networks_equal_the_exact_oracle_with_exact_breakpoints(seed):
    rng = np.random.default_rng(100 + seed)
    widths = [1, 16, 16, 16, 1]
    weights = [(rng.normal(size=(a, b)) * np.sqrt(2.0 / a)).astype(np.float32) for a, b in itertools.pairwise(widths)]
    biases = [(rng.normal(size=b) * 0.1).astype(np.float32) for b in widths[1:]]
    network = LoweredNetwork(
        tuple(
            AffineLayer(w.astype(np.float64), b.astype(np.float64), "linear" if k == len(weights) - 1 else "relu")
            for k, (w, b) in enumerate(zip(weights, biases))
        )
    )
    exact_w = [[[Fraction(float(v)) for v in row] for row in w] for w in weights]
    exact_b = [[Fraction(float(v)) for v in b] for b in biases]
    intervals, cells, pieces, breakpoints = _oracle(exact_w, exact_b, Fraction(-3), Fraction(3))
    regions = count_regions_on_polyline(network, np.array([[-3.0], [3.0]]))
    assert (regions.intervals, regions.cells, regions.pieces) == (intervals, cells, pieces)
    starts = [start for start, _ in regions.exact_part_bounds()[1:]]
    assert [-3 + 6 * t for t in starts] == breakpoints  # exactly, as rationals


def test_slivers_far_below_any_float_tolerance_are_regions():
    # kinks at 1/2, 1/2 + 2^-45 and 1/2 + 2^-44: three crossings, four intervals
    kinks = [0.5, 0.5 + 2.0**-45, 0.5 + 2.0**-44]
    network = one_layer([[1.0, 1.0, 1.0]], [-k for k in kinks], outgoing=[1, 2, 4])
    regions = count_regions_on_polyline(network, UNIT_INTERVAL)
    assert (regions.intervals, regions.cells, regions.pieces) == (4, 4, 4)
    assert [end for _, end in regions.exact_part_bounds()[:-1]] == [Fraction(k) for k in kinks]
    # a kink 1e-300 after the start of the segment splits it too
    tiny = count_regions_on_polyline(one_layer([[1.0]], [-1e-300]), UNIT_INTERVAL)
    assert (tiny.intervals, tiny.pieces) == (2, 2)


def test_a_crossing_exactly_at_a_vertex_or_a_breakpoint_does_not_split_again():
    # the kink at 1/2 is a vertex of the polyline: two intervals, met at the vertex
    at_vertex = count_regions_on_polyline(one_layer([[1.0]], [-0.5]), np.array([[0.0], [0.5], [1.0]]))
    assert (at_vertex.intervals, at_vertex.cells, at_vertex.pieces) == (2, 2, 2)
    np.testing.assert_array_equal(at_vertex.breakpoints, [1.0])
    # two coincident kinks given by different weights (x - 1/3 and 3x - 1): one split at exactly 1/3
    coincident = count_regions_on_polyline(one_layer([[1.0, 3.0]], [-1.0 / 3.0, -1.0]), UNIT_INTERVAL)
    roots = {Fraction(1.0 / 3.0), Fraction(1, 3)}  # 1/3 as a float and the exact 1/3 differ: two crossings
    assert coincident.intervals == 3
    assert {end for _, end in coincident.exact_part_bounds()[:-1]} == roots


def test_scaling_the_input_and_the_first_layer_together_changes_nothing():
    rng = np.random.default_rng(11)
    network = random_network(rng, [2, 24, 24, 1])
    scale = 2.0**10  # exact in floats: the scaled network is the same function of the scaled input
    first = network.layers[0]
    scaled = LoweredNetwork((AffineLayer(first.weight / scale, first.bias, "relu"), *network.layers[1:]))
    ours = count_regions_on_polyline(network, spiral(300))
    theirs = count_regions_on_polyline(scaled, spiral(300) * scale)
    assert (ours.intervals, ours.cells, ours.pieces) == (theirs.intervals, theirs.cells, theirs.pieces)
    assert ours.exact_part_bounds() == theirs.exact_part_bounds()


@pytest.mark.parametrize("closed", [False, True])
def test_the_float_filter_agrees_with_the_exact_decomposition_of_every_segment(closed):
    from geokeras.complexity import polyline

    rng = np.random.default_rng(21)
    network = random_network(rng, [2, 12, 12, 1])
    vertices = spiral(40)[1:]
    regions = count_regions_on_polyline(network, vertices, closed)
    state = {
        "segment": regions.part_segments,
        "starts": regions.part_starts,
        "ends": regions.part_ends,
        "start_error": regions.part_start_errors,
        "end_error": regions.part_end_errors,
        "value": regions.part_values,
        "slope": regions.part_slopes,
        "value_error": regions.part_value_errors,
        "slope_error": regions.part_slope_errors,
        "patterns": polyline._pack_patterns(regions.patterns[regions.part_cells], network),
    }
    segments = np.arange(regions.segments)
    exact = polyline._redo_exactly(network, vertices, closed, state, segments)
    np.testing.assert_array_equal(exact["segment"], regions.part_segments)
    np.testing.assert_array_equal(exact["patterns"], state["patterns"])
    np.testing.assert_allclose(exact["starts"], regions.part_starts, atol=1e-12)
