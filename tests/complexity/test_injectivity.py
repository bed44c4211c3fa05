"""Exact injectivity of ReLU encoders on polylines (geokeras.complexity.injectivity)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from geokeras.complexity.injectivity import curve_injectivity, polyline_injectivity
from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.manifolds import make

FOLD_SHARES = [0.1, 0.01, 1e-4, 1e-6]


def network(*layers: tuple) -> LoweredNetwork:
    """Layers as (weight, bias, activation) with weight shape [n_in, n_out]."""
    return LoweredNetwork(
        tuple(AffineLayer(np.asarray(w, np.float64), np.asarray(b, np.float64), act) for w, b, act in layers)
    )


def identity_2d() -> LoweredNetwork:
    """x = relu(x) - relu(-x) in each coordinate."""
    eye = np.eye(2)
    return network((np.hstack([eye, -eye]), np.zeros(4), "relu"), (np.vstack([eye, -eye]), np.zeros(2), "linear"))


def circle(resolution: int, turn: float = 0.0) -> np.ndarray:
    """Vertices of the unit circle's polyline, vertex 0 at angle ``turn``."""
    angles = turn + 2 * np.pi * np.arange(resolution) / resolution
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def arc(resolution: int, first: float = 0.0, last: float = np.pi / 2) -> np.ndarray:
    angles = np.linspace(first, last, resolution + 1)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def fold_near_one(share: float) -> LoweredNetwork:
    """(x, y) -> (x, g) with g = |y| near (1, 0) and g = y elsewhere, folding ``share`` of the circle.

    g = y + 2 relu(-y - relu(-y - k (x - c))), c = cos(pi share): for x > c + |y| / k the
    lower half folds onto the upper one (g = |y|); for x < c, g = y.
    """
    half_angle = np.pi * share
    c, k = math.cos(half_angle), 100.0 / half_angle
    eye = np.eye(2)
    first = np.hstack([np.array([[-k], [-1.0]]), eye, -eye])  # u = relu(-y - k x + k c), relu(+-x), relu(+-y)
    second_w = np.zeros((5, 5))
    second_w[:, 0] = [-1.0, 0.0, 0.0, -1.0, 1.0]  # w = relu(-u - y)
    second_w[1:, 1:] = np.block([[eye, -eye], [-eye, eye]])  # relu(+-x'), relu(+-y')
    out = np.array([[0.0, 2.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    return network(
        (first, np.array([k * c, 0, 0, 0, 0]), "relu"),
        (second_w, np.zeros(5), "relu"),
        (out, np.zeros(2), "linear"),
    )


def height_with_kinks(kinks: list, slopes: list) -> LoweredNetwork:
    """R^2 -> R^1: (x, y) -> f(y), piecewise linear in y >= 0 with ``slopes`` between ``kinks``."""
    positions = [0.0] + list(kinks)
    changes = [slopes[0]] + [b - a for a, b in zip(slopes[:-1], slopes[1:])]
    weight = np.vstack([np.zeros(len(positions)), np.ones(len(positions))])
    return network((weight, -np.array(positions), "relu"), (np.array(changes)[:, None], np.zeros(1), "linear"))


# ----------------------------------------------------------------------------- into R^2
def test_identity_on_a_closed_circle_is_injective():
    result = polyline_injectivity(identity_2d(), circle(400), closed=True)
    assert result.injective and result.failures == [] and result.holds_for == "polyline"
    assert result.pieces == 400  # the axis crossings split parts of one straight image segment only
    chord = 2 * math.sin(np.pi / 400)
    assert result.min_separation == pytest.approx(chord, rel=1e-6)  # pieces i and i + 2: one chord apart
    assert result.lipschitz_bound >= 1.0


@pytest.mark.parametrize("share", FOLD_SHARES)
def test_a_fold_of_any_size_of_a_circle_into_the_plane_is_found(share):
    result = polyline_injectivity(fold_near_one(share), circle(512), closed=True)
    assert not result.injective
    assert set(result.failures) <= {"fold", "self_intersection"} and result.failures
    assert result.folds + result.self_intersections >= 1


def test_the_fold_map_is_the_identity_away_from_its_fold():
    result = polyline_injectivity(fold_near_one(0.01), arc(300, np.pi / 2, 3 * np.pi / 2))
    assert result.injective and result.failures == []


def test_identity_on_an_embedded_arc_is_injective():
    result = polyline_injectivity(identity_2d(), arc(1000, 0.1, 5.0))
    assert result.injective and result.failures == []
    assert result.self_intersections == 0 and result.folds == 0


def test_a_figure_eight_is_a_self_intersection():
    vertices = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    result = polyline_injectivity(identity_2d(), vertices, closed=True)
    assert not result.injective and result.failures == ["self_intersection"]
    assert result.self_intersections == 1 and result.min_separation == 0.0


def test_neighbouring_pieces_may_meet_at_their_shared_vertex_only():
    sharp = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1e-9]])  # an acute corner: adjacent, fine
    assert polyline_injectivity(identity_2d(), sharp).injective
    back = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]])  # collinear backtracking
    result = polyline_injectivity(identity_2d(), back)
    assert not result.injective and result.failures == ["fold"] and result.folds == 1


def test_non_adjacent_pieces_touching_at_a_point_meet_and_missing_by_1e_150_do_not():
    touching = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.0]])
    assert polyline_injectivity(identity_2d(), touching).failures == ["self_intersection"]
    missing = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1e-150]])
    result = polyline_injectivity(identity_2d(), missing)
    assert result.injective and result.min_separation == pytest.approx(1e-150)


def test_a_piece_mapped_to_a_point_is_degenerate():
    eye = np.eye(2)
    clamp = network((eye, np.zeros(2), "relu"), (eye, np.zeros(2), "linear"))  # (relu(x), relu(y))
    result = polyline_injectivity(clamp, np.array([[-2.0, -1.0], [-1.0, -1.0], [1.0, 1.0]]))
    assert not result.injective and "degenerate_piece" in result.failures


# ----------------------------------------------------------------------------- into R^1
@pytest.mark.parametrize("share", FOLD_SHARES)
def test_a_planted_fold_of_any_size_on_an_open_arc_into_the_line_is_found(share):
    start = np.pi / 4
    low, high = math.sin(start), math.sin(start + share * np.pi / 2)  # the arc [0, pi/2] folds back on [low, high]
    encoder = height_with_kinks([low, high], [1.0, -1.0, 1.0])
    result = polyline_injectivity(encoder, arc(1000))
    assert not result.injective and result.failures == ["fold"] and result.folds == 2
    assert result.largest_fold == pytest.approx(share, rel=0.05)


@pytest.mark.parametrize("ratio", [10.0, 1e2, 1e4])
def test_strictly_monotone_maps_with_very_different_slopes_are_injective(ratio):
    for slopes in ([1.0, 1.0 / ratio, 1.0], [1.0 / ratio, 1.0, 1.0 / ratio]):
        result = polyline_injectivity(height_with_kinks([0.3, 0.6], slopes), arc(1000))
        assert result.injective and result.failures == [] and result.folds == 0


def test_a_closed_curve_never_maps_injectively_into_the_line():
    first_coordinate = network(
        (np.array([[1.0, -1.0], [0.0, 0.0]]), np.zeros(2), "relu"), (np.array([[1.0], [-1.0]]), np.zeros(1), "linear")
    )
    result = polyline_injectivity(first_coordinate, circle(64), closed=True)
    assert not result.injective and "closed_into_line" in result.failures
    assert result.folds == 2  # x goes down from (1, 0) to (-1, 0) and back up


# ----------------------------------------------------------------------------- the manifold
def test_a_smooth_curve_is_decided_on_its_polyline_only():
    result = curve_injectivity(identity_2d(), make({"type": "circle"}), resolution=256)
    assert result.injective and result.holds_for.startswith("polyline(h=")


def test_a_polygonal_curve_is_its_own_polyline():
    hilbert = make({"type": "hilbert", "order": 2})
    result = curve_injectivity(identity_2d(), hilbert, resolution=None)
    assert result.injective and result.holds_for == "manifold"


def test_metrics_are_json_safe():
    vertices = np.array([[0.0, 0.0], [1.0, 0.0]])
    metrics = polyline_injectivity(identity_2d(), vertices).as_metrics()
    assert metrics["min_separation"] is None  # no non-adjacent pieces
    json.dumps(metrics, allow_nan=False)


def _brute_force_injective(encoder: LoweredNetwork, vertices: np.ndarray, closed: bool) -> bool:
    """Every pair of parts tested in exact rationals (an independent oracle, O(parts^2))."""
    from fractions import Fraction

    from geokeras.complexity.polyline import count_regions_on_polyline

    regions = count_regions_on_polyline(encoder, vertices, closed)
    points = []
    for index, (low, high) in enumerate(regions.exact_part_bounds()):
        start, direction = regions.segment_direction(int(regions.part_segments[index]))
        linear, offset = regions.exact_cell_map(int(regions.part_cells[index]))
        a, c = linear.to_fractions(), offset.to_fractions()
        p = [Fraction(float(x)) for x in start]
        d = list(direction.to_fractions())

        def image(t: Fraction, p=p, d=d, a=a, c=c) -> tuple:
            x = [pi + t * di for pi, di in zip(p, d)]
            return tuple(sum((x[i] * a[i, j] for i in range(len(x))), Fraction(0)) + c[j] for j in range(len(c)))

        points.append((image(low), image(high)))

    def orient(p, q, r):
        value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (value > 0) - (value < 0)

    def on(p, q, r):
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])

    def meet(p, q, r, s):
        o1, o2, o3, o4 = orient(p, q, r), orient(p, q, s), orient(r, s, p), orient(r, s, q)
        if o1 * o2 < 0 and o3 * o4 < 0:
            return True
        return (
            (o1 == 0 and on(p, q, r))
            or (o2 == 0 and on(p, q, s))
            or (o3 == 0 and on(r, s, p))
            or (o4 == 0 and on(r, s, q))
        )

    count = len(points)
    if any(p == q for p, q in points):
        return False
    for i in range(count):
        for j in range(i + 1, count):
            neighbours = j == i + 1 or (closed and i == 0 and j == count - 1)
            p, q = points[i]
            r, s = points[j]
            if neighbours:  # they share one vertex; they fail when they fold back along one line
                u, v = (q[0] - p[0], q[1] - p[1]), (s[0] - r[0], s[1] - r[1])
                if j == i + 1 and u[0] * v[1] == u[1] * v[0] and u[0] * v[0] + u[1] * v[1] < 0:
                    return False
                if j != i + 1 and u[0] * v[1] == u[1] * v[0] and u[0] * v[0] + u[1] * v[1] < 0:
                    return False
                continue
            if meet(p, q, r, s):
                return False
    return True


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("strength", [0.05, 0.6, 3.0])
def test_the_float_filter_agrees_with_an_exact_brute_force_oracle(seed, strength):
    """The circle through the identity plus ``strength`` times a random ReLU map (float32 weights)."""
    rng = np.random.default_rng(seed)

    def float32(values):
        return np.asarray(values, np.float32).astype(np.float64)

    eye = np.eye(2)
    first = float32(np.hstack([eye, -eye, rng.normal(size=(2, 4))]))
    second = np.zeros((8, 8))
    second[:4, :4] = np.eye(4)
    second[4:, 4:] = rng.normal(size=(4, 4)) / 2
    out = float32(np.vstack([eye, -eye, strength * rng.normal(size=(4, 2)) / 2]))
    encoder = LoweredNetwork(
        (
            AffineLayer(first, float32(np.concatenate([np.zeros(4), rng.normal(size=4) * 0.3])), "relu"),
            AffineLayer(float32(second), float32(np.concatenate([np.zeros(4), rng.normal(size=4) * 0.3])), "relu"),
            AffineLayer(out, np.zeros(2), "linear"),
        )
    )
    vertices = circle(24, turn=0.1)
    result = polyline_injectivity(encoder, vertices, closed=True)
    assert result.injective == _brute_force_injective(encoder, vertices, True)


def test_a_subdivided_polygonal_curve_is_still_the_curve():
    hilbert = make({"type": "hilbert", "order": 2})
    result = curve_injectivity(identity_2d(), hilbert, resolution=100)
    assert result.injective and result.holds_for == "manifold"
