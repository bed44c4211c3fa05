"""Space-filling curves (hilbert, peano) and the Koch curve: exact polylines and their counts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.fractal_curves import HilbertCurve, KochCurve, PeanoCurve

SQRT3 = math.sqrt(3.0)


# ---------------------------------------------------------------- helpers
def distance_to_polyline(points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Euclidean distance from each point (shape=[n, d]) to the union of the polyline's segments."""
    starts, steps = vertices[:-1], np.diff(vertices, axis=0)
    relative = points[:, None, :] - starts[None, :, :]
    fraction = np.clip(np.sum(relative * steps, axis=2) / np.sum(steps * steps, axis=1), 0.0, 1.0)
    nearest = starts[None, :, :] + fraction[:, :, None] * steps[None, :, :]
    return np.min(np.linalg.norm(points[:, None, :] - nearest, axis=2), axis=1)


def nearest_segment(points: np.ndarray, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest segment, fraction along it) of each point, by brute force."""
    starts, steps = vertices[:-1], np.diff(vertices, axis=0)
    relative = points[:, None, :] - starts[None, :, :]
    fraction = np.clip(np.sum(relative * steps, axis=2) / np.sum(steps * steps, axis=1), 0.0, 1.0)
    nearest = starts[None, :, :] + fraction[:, :, None] * steps[None, :, :]
    index = np.argmin(np.linalg.norm(points[:, None, :] - nearest, axis=2), axis=1)
    return index, fraction[np.arange(len(points)), index]


def wikipedia_d2xy(order: int, index: int) -> tuple[int, int]:
    """The classic scalar Hilbert index -> (x, y) map (Wikipedia, "Hilbert curve"), an independent oracle."""
    x = y = 0
    t, s = index, 1
    while s < 2**order:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x, y = x + s * rx, y + s * ry
        t //= 4
        s *= 2
    return x, y


def square_symmetries() -> list[np.ndarray]:
    """The 8 linear maps of the dihedral group D4 as integer 2 x 2 matrices."""
    maps = []
    for swap in (False, True):
        for sx, sy in itertools.product((1, -1), repeat=2):
            matrix = np.diag([sx, sy])
            maps.append(matrix[::-1] if swap else matrix)
    return maps


SPACE_FILLING = [
    ("hilbert", 2, 1),
    ("hilbert", 2, 3),
    ("hilbert", 2, 5),
    ("hilbert", 3, 1),
    ("hilbert", 3, 3),
    ("peano", 2, 1),
    ("peano", 2, 3),
    ("peano", 3, 1),
    ("peano", 3, 2),
]


def space_filling(kind: str, dim: int, order: int, **keys):
    return make({"type": kind, "dim": dim, "order": order, **keys})


# ---------------------------------------------------------------- constructions
@pytest.mark.parametrize("kind, dim, order", SPACE_FILLING)
def test_space_filling_curve_visits_every_cell_once_face_to_face(kind, dim, order):
    curve = space_filling(kind, dim, order)
    base = 2 if kind == "hilbert" else 3
    side = base**order
    cells = curve.cell_coordinates
    assert cells.shape == (side**dim, dim) and cells.dtype == np.int64
    # A bijection onto the grid {0, ..., side - 1}^dim ...
    flat = np.ravel_multi_index(tuple(cells.T), (side,) * dim)
    np.testing.assert_array_equal(np.sort(flat), np.arange(side**dim))
    # ... whose consecutive cells share a face: one coordinate changes, by exactly 1.
    steps = np.diff(cells, axis=0)
    np.testing.assert_array_equal(np.abs(steps).sum(axis=1), 1)
    np.testing.assert_array_equal(cells[0], np.zeros(dim))
    if kind == "peano":
        np.testing.assert_array_equal(cells[-1], np.full(dim, side - 1))  # the opposite corner
    else:
        # Hilbert ends at a corner next to the start corner: one coordinate side - 1.
        assert sorted(cells[-1].tolist()) == [0] * (dim - 1) + [side - 1]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_hilbert_2d_is_the_classic_hilbert_curve(order):
    curve = space_filling("hilbert", 2, order)
    reference = np.array([wikipedia_d2xy(order, index) for index in range(4**order)])
    # Skilling's transpose-and-Gray-decode map and the classic rotate-per-level map agree exactly.
    np.testing.assert_array_equal(curve.cell_coordinates, reference)


def test_peano_order_1_is_the_serpentine():
    np.testing.assert_array_equal(
        space_filling("peano", 2, 1).cell_coordinates,
        [[0, 0], [0, 1], [0, 2], [1, 2], [1, 1], [1, 0], [2, 0], [2, 1], [2, 2]],
    )
    cube = space_filling("peano", 3, 1).cell_coordinates
    # In 3-D: nine 2-D serpentines stacked in z-columns, boustrophedon in y then x.
    np.testing.assert_array_equal(
        cube[:9], [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 2], [0, 1, 1], [0, 1, 0], [0, 2, 0], [0, 2, 1], [0, 2, 2]]
    )
    np.testing.assert_array_equal(cube[9:12], [[1, 2, 2], [1, 2, 1], [1, 2, 0]])


@pytest.mark.parametrize("order", [2, 3, 4])
def test_hilbert_order_k_is_four_copies_of_order_k_minus_1(order):
    # The paper's construction of C_{n+1}: 4 copies of C_n, translated, rotated and reconnected.
    coarse = space_filling("hilbert", 2, order - 1).cell_coordinates
    fine = space_filling("hilbert", 2, order).cell_coordinates
    quarter, half_side = 4 ** (order - 1), 2 ** (order - 1)
    for copy in range(4):
        piece = fine[copy * quarter : (copy + 1) * quarter]
        offset = (piece.min(axis=0) // half_side) * half_side
        assert np.all(piece - offset < half_side)  # the copy fills one quadrant
        centred = 2 * (piece - offset) - (half_side - 1)  # odd integers, centred on 0
        reference = 2 * coarse - (half_side - 1)
        assert any(np.array_equal(reference @ m.T, centred) for m in square_symmetries()), copy


@pytest.mark.parametrize("kind, dim, order", [k for k in SPACE_FILLING if k[2] > 1])
def test_space_filling_curve_is_self_similar_blocks(kind, dim, order):
    # Every block of base^(dim (order - 1)) consecutive cells fills one sub-cube of side base^(order - 1).
    curve = space_filling(kind, dim, order)
    base = 2 if kind == "hilbert" else 3
    block, sub_side = base ** (dim * (order - 1)), base ** (order - 1)
    pieces = curve.cell_coordinates.reshape(base**dim, block, dim)
    corners = pieces.min(axis=1)
    np.testing.assert_array_equal(corners % sub_side, 0)
    np.testing.assert_array_equal(pieces.max(axis=1) - corners, sub_side - 1)
    assert len({tuple(c) for c in corners}) == base**dim


# ---------------------------------------------------------------- counts (Theorem 4.14)
@pytest.mark.parametrize("kind, dim, order", SPACE_FILLING)
@pytest.mark.parametrize("size", [1.0, 3.5])
def test_space_filling_curve_counts(kind, dim, order, size):
    curve = space_filling(kind, dim, order, size=size)
    base = 2 if kind == "hilbert" else 3
    cells = base ** (dim * order)
    h = size / base**order
    assert (curve.cells, curve.segments) == (cells, cells - 1)
    assert curve.units == (cells // 4 if kind == "hilbert" else 3 ** (dim * (order - 1)))
    assert curve.cell_size == pytest.approx(h, rel=1e-15)
    assert curve.length == pytest.approx((cells - 1) * h, rel=1e-14)
    vertices, closed = curve.polyline()
    assert not closed and vertices.shape == (cells, dim)
    np.testing.assert_allclose(np.linalg.norm(np.diff(vertices, axis=0), axis=1), h, rtol=1e-13)
    # Vertices are the cell centres, inside [h/2, size - h/2]^dim.
    assert vertices.min() == pytest.approx(h / 2) and vertices.max() == pytest.approx(size - h / 2)


@pytest.mark.parametrize(
    "dim, order, units",
    [(2, 1, 1), (2, 2, 4), (2, 3, 16), (2, 4, 64), (2, 5, 256), (3, 1, 2), (3, 2, 16), (3, 3, 128)],
)
def test_hilbert_units_are_u_shapes(dim, order, units):
    curve = space_filling("hilbert", dim, order)
    assert curve.units == units  # 4^(k-1) in 2-D, 2 * 8^(k-1) in 3-D
    ranges = curve.unit_vertex_ranges()
    assert ranges.shape == (units, 2)
    np.testing.assert_array_equal(ranges[:, 1] - ranges[:, 0], 3)
    np.testing.assert_array_equal(ranges[1:, 0], ranges[:-1, 1] + 1)  # consecutive, disjoint
    cells = curve.cell_coordinates.reshape(units, 4, dim)
    extent = cells.max(axis=1) - cells.min(axis=1)
    # Each unit fills a 2 x 2 square in a coordinate plane ...
    np.testing.assert_array_equal(np.sort(extent, axis=1), np.tile([0] * (dim - 2) + [1, 1], (units, 1)))
    # ... as a U: forward, across, back (the first and last steps opposite), so no direction
    # v makes <x, v> monotone along it: not linear rectifiable.
    steps = np.diff(cells, axis=1)
    np.testing.assert_array_equal(steps[:, 0], -steps[:, 2])
    assert np.all(np.abs(np.sum(steps[:, 0] * steps[:, 1], axis=1)) == 0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_paper_curve_c_n_is_hilbert_order_n_plus_2(n):
    order = HilbertCurve.order_of_paper_curve(n)
    assert order == n + 2
    curve = space_filling("hilbert", 2, order)
    assert curve.units == 4 ** (n + 1)  # C_1 has 16 units, C_n has 4^(n+1)
    assert curve.cells == 4 ** (n + 2)
    with pytest.raises(ValueError, match="n=0"):
        HilbertCurve.order_of_paper_curve(0)


@pytest.mark.parametrize("dim, order", [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2)])
def test_peano_units_are_serpentine_blocks(dim, order):
    curve = space_filling("peano", dim, order)
    per_unit = 3**dim
    assert curve.units == 3 ** (dim * (order - 1))
    cells = curve.cell_coordinates.reshape(curve.units, per_unit, dim)
    np.testing.assert_array_equal(cells.max(axis=1) - cells.min(axis=1), 2)  # a 3 x ... x 3 block
    steps = np.diff(cells, axis=1)
    for unit_steps in steps:  # each contains two opposite steps: not linear rectifiable
        as_set = {tuple(s) for s in unit_steps}
        assert any(tuple(-np.array(s)) in as_set for s in as_set)


# ---------------------------------------------------------------- samples and measure
@pytest.mark.parametrize("kind, dim, order", [("hilbert", 2, 3), ("hilbert", 3, 2), ("peano", 2, 2), ("peano", 3, 1)])
@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_space_filling_samples_lie_on_the_polyline(kind, dim, order, measure):
    curve = space_filling(kind, dim, order, size=2.0, measure=measure)
    points, u = curve.sample_with_parameters(400, seed=5)
    assert points.shape == (400, dim) and u.min() > 0.0 and u.max() <= 1.0
    vertices, _ = curve.polyline()
    assert np.max(distance_to_polyline(points, vertices)) < 1e-12
    np.testing.assert_array_equal(points, curve.points_at(u))


@pytest.mark.parametrize(
    "keys", [{"type": "hilbert", "order": 3}, {"type": "peano", "dim": 3, "order": 1}, {"type": "koch", "order": 3}]
)
def test_volume_measure_is_uniform_in_arc_length(keys):
    curve = make({**keys, "measure": "volume"})
    points = curve.sample(3000, seed=17)
    vertices, _ = curve.polyline()
    # The arc-length position of each sample, read off its nearest segment (not its parameter).
    segment, fraction = nearest_segment(points, vertices)
    arc_length = (segment + fraction) * curve.segment_length
    assert stats.kstest(arc_length / curve.length, "uniform").pvalue > 0.01
    # Every segment gets its share: a chi-square test over the segments.
    counts = np.bincount(segment, minlength=curve.segments)
    assert stats.chisquare(counts).pvalue > 0.01


def test_polyline_at_a_resolution_subdivides_segments_exactly():
    curve = space_filling("hilbert", 2, 2)
    vertices, _ = curve.polyline()
    fine, closed = curve.polyline(100)  # ceil(100 / 15) = 7 parts per segment
    assert not closed and fine.shape == (7 * 15 + 1, 2)
    np.testing.assert_allclose(fine[::7], vertices, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(np.diff(fine, axis=0), axis=1), curve.segment_length / 7, rtol=1e-12)
    assert np.max(distance_to_polyline(fine, vertices)) < 1e-15
    np.testing.assert_array_equal(curve.polyline(10)[0], vertices)  # fewer than the segments: unchanged


@pytest.mark.parametrize(
    "kind, dim, orders", [("hilbert", 2, (1, 2, 3)), ("hilbert", 3, (1, 2)), ("peano", 2, (1, 2)), ("peano", 3, (1,))]
)
def test_space_filling_curves_converge_to_the_cube(kind, dim, orders):
    # Hausdorff distance between the order-k curve and [0, 1]^dim is exactly h sqrt(dim) / 2
    # (a corner of the cube to the nearest cell centre), h = base^-k: it falls by the base per order.
    base = 2 if kind == "hilbert" else 3
    axis = np.linspace(0.0, 1.0, 9 if dim == 3 else 37)  # includes the corners
    grid = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    distances = []
    for order in orders:
        vertices, _ = space_filling(kind, dim, order).polyline()
        distances.append(float(np.max(distance_to_polyline(grid, vertices))))
    expected = [float(base) ** -k * math.sqrt(dim) / 2 for k in orders]
    np.testing.assert_allclose(distances, expected, rtol=1e-12)


def test_isometric_lift_of_a_space_filling_curve():
    flat = space_filling("hilbert", 3, 2)
    lifted = space_filling("hilbert", 3, 2, embed={"ambient_dim": 6})
    vertices, _ = lifted.polyline()
    assert vertices.shape == (64, 6)
    np.testing.assert_allclose(np.linalg.norm(np.diff(vertices, axis=0), axis=1), flat.segment_length, rtol=1e-12)
    np.testing.assert_allclose(lifted.natural_coordinates(vertices), flat.polyline()[0], atol=1e-14)


# ---------------------------------------------------------------- Koch
@pytest.mark.parametrize("order", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("size", [1.0, 2.5])
def test_koch_counts_and_lengths(order, size):
    koch = make({"type": "koch", "order": order, "size": size})
    assert isinstance(koch, KochCurve) and koch.intrinsic_dim == 1 and not koch.closed
    assert koch.segments == 4**order
    assert koch.segment_length == pytest.approx(size / 3**order, rel=1e-15)
    assert koch.length == pytest.approx(size * (4 / 3) ** order, rel=1e-14)
    vertices, closed = koch.polyline()
    assert not closed and vertices.shape == (4**order + 1, 2)
    np.testing.assert_allclose(np.linalg.norm(np.diff(vertices, axis=0), axis=1), size / 3**order, rtol=1e-12)
    np.testing.assert_array_equal(vertices[[0, -1]], [[0.0, 0.0], [size, 0.0]])
    # Every step points in a direction that is a multiple of 60 degrees.
    steps = np.diff(vertices, axis=0)
    sixths = np.degrees(np.arctan2(steps[:, 1], steps[:, 0])) / 60.0
    np.testing.assert_allclose(sixths, np.round(sixths), atol=1e-9)
    # The curve stays between the base line and the top of the first bump, which it reaches.
    assert vertices[:, 1].min() > -1e-12 * size
    assert vertices[:, 1].max() == pytest.approx(SQRT3 / 6 * size, rel=1e-12)


def test_koch_order_1_and_self_similarity():
    first = make({"type": "koch", "order": 1}).polyline()[0]
    np.testing.assert_allclose(first, [[0, 0], [1 / 3, 0], [0.5, SQRT3 / 6], [2 / 3, 0], [1, 0]], atol=1e-15)
    fourth = make({"type": "koch", "order": 4}).polyline()[0]
    # The order-k curve passes through the order-1 vertices at indices j 4^(k-1) ...
    np.testing.assert_allclose(fourth[:: 4**3], first, atol=1e-14)
    # ... and its first quarter is the order-(k-1) curve scaled by 1/3.
    third = make({"type": "koch", "order": 3}).polyline()[0]
    np.testing.assert_allclose(fourth[: 4**3 + 1], third / 3.0, atol=1e-14)


def test_koch_polylines_converge_geometrically():
    # Hausdorff distance between orders k and k + 1: each segment of length 3^-k gets a bump
    # of height (sqrt(3) / 6) 3^-k; the distance falls by 3 per order.
    distances = []
    for order in range(1, 5):
        coarse = make({"type": "koch", "order": order}).polyline()[0]
        fine = make({"type": "koch", "order": order + 1}).polyline()[0]
        distances.append(float(np.max(distance_to_polyline(fine, coarse))))
    np.testing.assert_allclose(distances, [SQRT3 / 6 * 3.0**-k for k in range(1, 5)], rtol=1e-10)


@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_koch_samples_lie_on_the_polyline(measure):
    koch = make({"type": "koch", "order": 4, "size": 3.0, "measure": measure})
    points, u = koch.sample_with_parameters(500, seed=2)
    vertices, _ = koch.polyline()
    assert np.max(distance_to_polyline(points, vertices)) < 1e-12
    assert stats.kstest(u[:, 0], "uniform").pvalue > 0.01  # both measures: uniform in u


# ---------------------------------------------------------------- ground truth, validation
def test_fractal_curves_expose_exact_arc_length():
    curve = space_filling("peano", 2, 2, size=3.0)
    u = np.array([0.0, 0.25, 1.0])
    np.testing.assert_allclose(curve.arc_length(u), u * curve.length)
    np.testing.assert_allclose(curve.parameter_at_arc_length(curve.arc_length(u)), u)
    with pytest.raises(ValueError, match="arc lengths in"):
        curve.parameter_at_arc_length(np.array([2 * curve.length]))
    assert isinstance(curve, PeanoCurve) and curve.natural_dim == 2 and curve.ambient_dim == 2


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "hilbert", "order": 0}, ("order",), "greater than 0. Received: 0"),
        ({"type": "peano", "order": 0}, ("order",), "greater than 0. Received: 0"),
        ({"type": "koch", "order": 0}, ("order",), "greater than 0. Received: 0"),
        ({"type": "koch", "order": 12}, ("order",), r"at most 11 .* Received: order=12"),
        ({"type": "hilbert", "dim": 3, "order": 8}, ("order",), r"at most 7 for a 3-D hilbert"),
        ({"type": "peano", "dim": 2, "order": 8}, ("order",), r"at most 7 for a 2-D peano"),
        ({"type": "hilbert", "dim": 4}, ("dim",), "2 or 3. Received: 4"),
        ({"type": "peano", "size": -1.0}, ("size",), "greater than 0"),
        ({"type": "hilbert", "dim": 3, "embed": {"ambient_dim": 2}}, ("embed", "ambient_dim"), "at least 3"),
        ({"type": "koch", "dim": 2}, ("dim",), "unknown key"),
    ],
)
def test_bad_fractal_parameters_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


@pytest.mark.parametrize(
    "keys",
    [
        {"type": "hilbert", "dim": 3, "order": 3},
        {"type": "peano", "order": 3},
        {"type": "koch", "order": 6, "embed": {"ambient_dim": 4}},
    ],
)
def test_parameters_invert_points_at(keys):
    curve = make(keys)
    points, u = curve.sample_with_parameters(3000, seed=1)
    np.testing.assert_allclose(curve.parameters(points), u, rtol=0, atol=1e-13)
    vertices, _ = curve.polyline()
    np.testing.assert_allclose(
        curve.parameters(vertices)[:, 0], np.arange(curve.segments + 1) / curve.segments, atol=1e-13
    )
