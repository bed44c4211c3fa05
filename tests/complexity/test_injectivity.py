"""Exact injectivity of hand-built ReLU encoders on polylines (geokeras.complexity.injectivity)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from geokeras.complexity.injectivity import curve_injectivity, polyline_injectivity, segments_intersect
from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.manifolds import make


def float32(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float32).astype(np.float64)


def fold_network(fold_width: float, direction=(0.0, 1.0), offset: float = 0.0, latent_dim: int = 2) -> LoweredNetwork:
    """x -> (u·x, g(v·x - m)) (or g alone), g(s) = s + 2 min(relu(-s), relu(s + ε)): [-ε/2, 0] folds onto [0, ε/2].

    With ε = 0 the second output is s itself (the identity when v = e_2, m = 0).
    """
    v = np.asarray(direction, dtype=np.float64)
    u = np.array([v[1], -v[0]])
    first = AffineLayer(float32(np.stack([u, -u, v, -v, v], axis=1)), float32([0, 0, -offset, offset, fold_width - offset]), "relu")
    second = AffineLayer(np.concatenate([np.eye(5), [[0], [0], [0], [1], [-1]]], axis=1), np.zeros(6), "relu")
    g_row = [0, 0, 1, 1, 0, -2] if fold_width > 0 else [0, 0, 1, -1, 0, 0]
    out = np.array([[1, -1, 0, 0, 0, 0], g_row], dtype=np.float64).T[:, 2 - latent_dim :]
    return LoweredNetwork((first, second, AffineLayer(out, np.zeros(latent_dim))))


def monotone_network(direction, offset: float, slope_after: float) -> LoweredNetwork:
    """x -> s - (1 - slope_after) relu(s - m), s = v·x: slopes 1, then slope_after > 0."""
    v = np.asarray(direction, dtype=np.float64)
    first = AffineLayer(float32(np.stack([v, -v, v], axis=1)), float32([0.0, 0.0, -offset]), "relu")
    return LoweredNetwork((first, AffineLayer(float32([[1.0], [-1.0], [-(1.0 - slope_after)]]), np.zeros(1))))


CIRCLE, _ = make({"type": "circle"}).polyline(1024)
ARC = {"type": "archimedean_spiral", "a": 0.5, "b": 0.2, "turns": 0.2}
# Along the first fifth of a turn of (0.5 + 0.2 θ) e^{iθ} the tangent turns from 68 to 147
# degrees, so s = v·x with v at 107.5 degrees increases strictly along the arc and its chords.
ARC_DIRECTION = (math.cos(math.radians(107.5)), math.sin(math.radians(107.5)))


def arc_polyline() -> tuple[np.ndarray, float]:
    vertices, closed = make(ARC).polyline(512)
    heights = vertices @ np.asarray(ARC_DIRECTION)
    return vertices, float(np.float32((heights.min() + heights.max()) / 2))


# ----------------------------------------------------------------------------- into R^2
def test_the_identity_is_injective_on_the_circle():
    result = polyline_injectivity(fold_network(0.0), CIRCLE, closed=True)
    assert result.injective and result.failures == [] and result.holds_for == "polyline(h=1024 segments)"
    # The images of non-consecutive chords of the regular 1024-gon are at least one chord apart.
    assert result.min_separation == pytest.approx(2 * math.sin(math.pi / 1024), rel=1e-6)
    assert result.lipschitz_bound == pytest.approx(1.0)


@pytest.mark.parametrize("share", [0.1, 0.01, 1e-4, 1e-6])
def test_planted_folds_of_every_size_on_the_circle_are_found(share):
    result = polyline_injectivity(fold_network(2 * math.pi * share), CIRCLE, closed=True)
    assert not result.injective and result.failures
    assert result.witness is not None


def test_a_figure_eight_polyline_self_intersects_under_the_identity():
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    eight = np.stack([np.sin(t), np.sin(t) * np.cos(t)], axis=1)
    result = polyline_injectivity(fold_network(0.0), eight, closed=True)
    assert result.failures == ["self_intersection"] and result.self_intersections >= 1


def test_a_polyline_that_turns_back_on_itself_folds():
    result = polyline_injectivity(fold_network(0.0), np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]]))
    assert not result.injective and "fold" in result.failures


def test_a_polyline_touching_itself_only_at_consecutive_shared_points_is_injective():
    square_path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.5]])
    assert polyline_injectivity(fold_network(0.0), square_path).injective
    closing = np.vstack([square_path, [[0.5, 0.0]]])  # the last segment ends on the first: a touch
    assert polyline_injectivity(fold_network(0.0), closing).failures == ["self_intersection"]


def test_a_collapsing_map_is_not_injective():
    network = LoweredNetwork((AffineLayer(np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros(2), "relu"), AffineLayer(np.eye(2), np.zeros(2))))
    # relu(x) is 0 on x < 0: the left half of a horizontal segment collapses to a point.
    result = polyline_injectivity(network, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    assert "collapsed_part" in result.failures


# ----------------------------------------------------------------------------- into R^1
@pytest.mark.parametrize("share", [0.1, 0.01, 1e-4, 1e-6])
def test_planted_folds_of_every_size_on_an_arc_into_the_line_are_found(share):
    vertices, middle = arc_polyline()
    length = float(np.linalg.norm(np.diff(vertices, axis=0), axis=1).sum())
    result = polyline_injectivity(fold_network(share * length, ARC_DIRECTION, middle, latent_dim=1), vertices)
    assert not result.injective and result.failures == ["fold"] and result.folds == 2
    # g runs backwards on a stretch of s of width ε / 2; along the arc that is about share / 2
    # of the length (s has speed between cos 39.5° and 1 along the arc).
    assert share / 2 * 0.99 < result.largest_fold < share / 2 / math.cos(math.radians(39.5)) * 1.01


@pytest.mark.parametrize("slope_after", [1.0, 0.02, 1e-4])
def test_strictly_monotone_maps_with_extreme_slopes_are_injective(slope_after):
    vertices, middle = arc_polyline()
    result = polyline_injectivity(monotone_network(ARC_DIRECTION, middle, slope_after), vertices)
    assert result.injective and result.failures == [] and result.folds == 0


def test_a_closed_curve_never_maps_injectively_into_the_line():
    result = polyline_injectivity(fold_network(0.0, latent_dim=1), CIRCLE, closed=True)
    assert "closed_into_line" in result.failures and "fold" in result.failures


# ----------------------------------------------------------------------------- Σ_h and Σ
def test_a_polygonal_curve_is_its_own_polyline():
    hilbert = make({"type": "hilbert", "order": 2})
    result = curve_injectivity(fold_network(0.0), hilbert)
    assert result.injective and result.holds_for == "manifold"
    assert curve_injectivity(fold_network(0.0), make({"type": "circle"}), resolution=256).holds_for == "polyline(h=256 segments)"


def test_metrics_are_plain_json():
    import json

    result = polyline_injectivity(fold_network(0.1), CIRCLE, closed=True).as_metrics()
    assert json.loads(json.dumps(result)) == result and result["injective"] is False


# ----------------------------------------------------------------------------- exact segment intersection
def F(*values):
    return [Fraction(value) for value in values]


@pytest.mark.parametrize(
    "p0, p1, q0, q1, expected",
    [
        (F(0, 0), F(2, 2), F(0, 2), F(2, 0), True),  # an X
        (F(0, 0), F(1, 1), F(1, 1), F(2, 0), True),  # a shared end
        (F(0, 0), F(1, 0), F(2, 0), F(3, 0), False),  # collinear, apart
        (F(0, 0), F(2, 0), F(1, 0), F(3, 0), True),  # collinear, overlapping
        (F(0, 0), F(1, 0), F(0, 1), F(1, 1), False),  # parallel
        (F(0, 0, 0), F(1, 1, 0), F(0, 1, 1), F(1, 0, 1), False),  # skew in R^3
        (F(0, 0, 0), F(1, 1, 0), F(0, 1, 0), F(1, 0, 0), True),  # crossing in a plane of R^3
    ],
)
def test_segments_intersect(p0, p1, q0, q1, expected):
    assert segments_intersect(p0, p1, q0, q1) is expected
    assert segments_intersect(q0, q1, p0, p1) is expected


def test_segments_a_rational_hair_apart_do_not_intersect():
    hair = Fraction(1, 10**30)
    assert not segments_intersect(F(0, 0), F(2, 0), [Fraction(1), hair], F(1, 1))
    assert segments_intersect(F(0, 0), F(2, 0), F(1, 0), F(1, 1))
