"""Curves: samples on the curve, the volume measure, arc length, polylines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.curves import ArchimedeanSpiral, Circle
from geokeras.manifolds.params import ArchimedeanSpiralParams, CircleParams

SPIRALS = [
    {"turns": 1.0},
    {"turns": 3.0, "a": 0.0, "b": 0.3, "w": 1.0},
    {"turns": 20.0, "a": 0.0, "b": 0.05},
    {"turns": 2.5, "a": 2.0, "b": 1.0e-3, "w": 5.0},  # b << w a: the cancellation-prone case
]


def spiral(**keys) -> ArchimedeanSpiral:
    return make({"type": "archimedean_spiral", **keys})


def rho(params: ArchimedeanSpiralParams, theta: np.ndarray) -> np.ndarray:
    """The paper's rho(theta) = (a + b theta) e^{i w theta}, written out independently."""
    value = (params.a + params.b * theta) * np.exp(1j * params.w * theta)
    return np.stack([value.real, value.imag], axis=1)


def quadrature_arc_length(params: ArchimedeanSpiralParams, theta: float) -> float:
    def speed(t: float) -> float:
        return math.hypot(params.b, params.w * (params.a + params.b * t))

    value, _ = integrate.quad(speed, 0.0, theta, epsabs=1e-13, epsrel=1e-13, limit=500)
    return value


# ---------------------------------------------------------------- circle
@pytest.mark.parametrize("measure", ["volume", "parameter"])
@pytest.mark.parametrize("radius", [0.3, 1.0, 7.5])
def test_circle_samples_lie_on_the_circle(radius, measure):
    circle = make({"type": "circle", "radius": radius, "measure": measure})
    points, parameters = circle.sample_with_parameters(500, seed=3)
    assert points.shape == (500, 2) and points.dtype == np.float64
    assert parameters.shape == (500, 1)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), radius, rtol=0, atol=1e-12)
    np.testing.assert_allclose(points, radius * np.c_[np.cos(parameters), np.sin(parameters)], atol=1e-12)
    assert parameters.min() >= 0.0 and parameters.max() < 2 * np.pi


def test_circle_volume_measure_is_uniform_in_t():
    circle = Circle(CircleParams(radius=2.0))
    _, t = circle.sample_with_parameters(3000, seed=11)
    assert stats.kstest(t[:, 0] / (2 * np.pi), "uniform").pvalue > 0.01


def test_circle_ground_truth():
    circle = Circle(CircleParams(radius=2.0))
    assert circle.intrinsic_dim == 1 and circle.natural_dim == 2 and circle.ambient_dim == 2
    assert circle.closed and circle.length == pytest.approx(4 * np.pi)
    np.testing.assert_allclose(circle.parameter_at_arc_length(circle.arc_length(np.array([0.5, 6.0]))), [0.5, 6.0])


# ---------------------------------------------------------------- spiral
@pytest.mark.parametrize("keys", SPIRALS)
@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_spiral_samples_lie_on_the_spiral(keys, measure):
    manifold = spiral(measure=measure, **keys)
    p = manifold.params
    points, parameters = manifold.sample_with_parameters(1000, seed=5)
    theta = parameters[:, 0]
    assert theta.min() > 0.0 and theta.max() <= p.theta_max
    scale = p.a + p.b * p.theta_max
    np.testing.assert_allclose(points, rho(p, theta), rtol=0, atol=1e-12 * scale)
    # The defining equation without theta: |x| = a + b theta_hat, angle(x) = w theta_hat (mod 2 pi).
    theta_hat = (np.linalg.norm(points, axis=1) - p.a) / p.b
    np.testing.assert_allclose(theta_hat, theta, rtol=0, atol=1e-10 * p.theta_max)
    angle_residual = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - p.w * theta_hat)))
    assert np.max(np.abs(angle_residual)) < 1e-8


@pytest.mark.parametrize("keys", SPIRALS)
def test_spiral_arc_length_matches_quadrature(keys):
    manifold = spiral(**keys)
    p = manifold.params
    thetas = np.linspace(0.0, p.theta_max, 9)
    expected = np.array([quadrature_arc_length(p, theta) for theta in thetas])
    np.testing.assert_allclose(manifold.arc_length(thetas), expected, rtol=1e-12, atol=1e-9)
    # The textbook form F(a + b theta) - F(a) agrees too (to 1e-9 even where it cancels).
    np.testing.assert_allclose(manifold.arc_length_closed_form(thetas), expected, rtol=0, atol=1e-9)
    assert manifold.length == pytest.approx(expected[-1], rel=1e-12)


@pytest.mark.parametrize("keys", SPIRALS)
def test_spiral_arc_length_inverse_round_trips(keys):
    manifold = spiral(**keys)
    targets = np.concatenate([[0.0, manifold.length], np.random.default_rng(0).random(2000) * manifold.length])
    theta = manifold.parameter_at_arc_length(targets)
    assert theta[0] == pytest.approx(0.0, abs=1e-12) and theta[1] == pytest.approx(manifold.params.theta_max)
    np.testing.assert_allclose(manifold.arc_length(theta), targets, rtol=1e-13, atol=1e-14 * manifold.length)
    with pytest.raises(ValueError, match="arc lengths in"):
        manifold.parameter_at_arc_length(np.array([2.0 * manifold.length]))


def test_spiral_volume_measure_is_uniform_in_arc_length():
    manifold = spiral(turns=10.0, measure="volume")
    _, theta = manifold.sample_with_parameters(4000, seed=21)
    fractions = manifold.arc_length(theta) / manifold.length
    assert stats.kstest(fractions, "uniform").pvalue > 0.01


def test_spiral_parameter_measure_is_uniform_in_theta_not_arc_length():
    manifold = spiral(turns=10.0, measure="parameter")
    _, theta = manifold.sample_with_parameters(4000, seed=21)
    assert stats.kstest(theta[:, 0] / manifold.params.theta_max, "uniform").pvalue > 0.01
    fractions = manifold.arc_length(theta) / manifold.length
    assert stats.kstest(fractions, "uniform").pvalue < 1e-6


# ---------------------------------------------------------------- polylines
def _max_midpoint_distance_circle(circle: Circle, resolution: int) -> float:
    vertices, closed = circle.polyline(resolution)
    assert closed and vertices.shape == (resolution, 2)
    np.testing.assert_allclose(np.linalg.norm(vertices, axis=1), circle.radius, atol=1e-12)
    midpoints = 0.5 * (vertices + np.roll(vertices, -1, axis=0))
    return float(np.max(circle.radius - np.linalg.norm(midpoints, axis=1)))


def _max_midpoint_distance_spiral(manifold: ArchimedeanSpiral, resolution: int) -> float:
    p = manifold.params
    vertices, closed = manifold.polyline(resolution)
    assert not closed and vertices.shape == (resolution + 1, 2)
    theta = (np.linalg.norm(vertices, axis=1) - p.a) / p.b
    np.testing.assert_allclose(vertices, rho(p, theta), atol=1e-12)
    np.testing.assert_allclose(np.diff(manifold.arc_length(theta)), manifold.length / resolution, rtol=1e-9)
    midpoints = 0.5 * (vertices[1:] + vertices[:-1])
    # Distance from each chord midpoint to the arc between its two vertices (a fine local grid).
    grid = theta[:-1, None] + np.linspace(0.0, 1.0, 1001)[None, :] * np.diff(theta)[:, None]
    curve = rho(p, grid.ravel()).reshape(grid.shape + (2,))
    return float(np.max(np.min(np.linalg.norm(curve - midpoints[:, None, :], axis=2), axis=1)))


def test_polyline_converges_quadratically():
    circle = Circle(CircleParams(radius=1.5))
    manifold = spiral(turns=3.0)
    for distance in (
        lambda r: _max_midpoint_distance_circle(circle, r),
        lambda r: _max_midpoint_distance_spiral(manifold, r),
    ):
        errors = np.array([distance(r) for r in (400, 800, 1600)])
        ratios = errors[:-1] / errors[1:]
        assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios


def test_spiral_polyline_ends_and_resolution_validation():
    manifold = spiral(turns=2.0)
    p = manifold.params
    vertices, _ = manifold.polyline(10)
    np.testing.assert_allclose(vertices[[0, -1]], rho(p, np.array([0.0, p.theta_max])), atol=1e-12)
    with pytest.raises(ValueError, match="resolution"):
        manifold.polyline(0)
    with pytest.raises(ValueError, match="resolution"):
        Circle().polyline(2)


# ---------------------------------------------------------------- shared helpers
def curve(**keys):
    return make(keys)


def uniform_ks_pvalue(values: np.ndarray) -> float:
    return float(stats.kstest(values, "uniform").pvalue)


def quadrature(speed, start: float, end: float, breakpoints=()) -> float:
    inner = [b for b in breakpoints if start < b < end]
    value, _ = integrate.quad(
        lambda t: float(speed(np.array([t]))[0]), start, end, epsabs=0.0, epsrel=2e-14, limit=2000, points=inner or None
    )
    return value


def torus_residuals(points: np.ndarray, p: int, q: int, big_r: float, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the torus and the angle residual q psi - p chi (mod 2 pi) of points in R^3."""
    rho = np.hypot(points[:, 0], points[:, 1])
    on_torus = np.hypot(rho - big_r, points[:, 2]) - r
    psi = np.arctan2(points[:, 1], points[:, 0])
    chi = np.arctan2(points[:, 2], rho - big_r)
    angle = np.angle(np.exp(1j * (q * psi - p * chi)))
    return on_torus, angle


# ---------------------------------------------------------------- ellipse
ELLIPSES = [(2.0, 1.0), (1.0, 3.0), (1.0, 1.0), (1.0, 1e-3), (1e-3, 1.0), (50.0, 0.2)]


@pytest.mark.parametrize("a, b", ELLIPSES)
@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_ellipse_samples_satisfy_the_implicit_equation(a, b, measure):
    ellipse = curve(type="ellipse", a=a, b=b, measure=measure)
    points, t = ellipse.sample_with_parameters(2000, seed=8)
    assert points.shape == (2000, 2) and t.min() >= 0.0 and t.max() < 2 * np.pi
    np.testing.assert_allclose((points[:, 0] / a) ** 2 + (points[:, 1] / b) ** 2, 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(points, np.c_[a * np.cos(t), b * np.sin(t)], rtol=0, atol=1e-14 * max(a, b))


@pytest.mark.parametrize("a, b", ELLIPSES)
def test_ellipse_arc_length_matches_quadrature(a, b):
    ellipse = curve(type="ellipse", a=a, b=b)
    ts = np.array([1e-6, 0.3, 1.0, np.pi / 2, 2.0, np.pi, 4.5, 5.9, 2 * np.pi])
    breaks = (np.pi / 2, np.pi, 1.5 * np.pi)
    expected = np.array([quadrature(ellipse.speed, 0.0, t, breaks) for t in ts])
    np.testing.assert_allclose(ellipse.arc_length(ts), expected, rtol=2e-14, atol=0)
    assert ellipse.length == pytest.approx(expected[-1], rel=2e-14)


def test_ellipse_length_closed_forms():
    assert curve(type="ellipse", a=1.5, b=1.5).length == pytest.approx(3 * np.pi, rel=1e-15)
    # a = 2, b = 1: L = 8 E(3/4) = 9.688448220547675... (Abramowitz & Stegun 17.3, E(m = 3/4)).
    assert curve(type="ellipse", a=2.0, b=1.0).length == pytest.approx(9.688448220547675, rel=1e-15)
    # A needle (b -> 0) has length 4a.
    assert curve(type="ellipse", a=1.0, b=1e-9).length == pytest.approx(4.0, rel=1e-8)


@pytest.mark.parametrize("a, b", ELLIPSES)
def test_ellipse_arc_length_inverse_round_trips(a, b):
    ellipse = curve(type="ellipse", a=a, b=b)
    targets = np.concatenate([[0.0, ellipse.length], np.random.default_rng(1).random(5000) * ellipse.length])
    t = ellipse.parameter_at_arc_length(targets)
    assert t[0] == 0.0 and t[1] == pytest.approx(2 * np.pi, rel=1e-15)
    np.testing.assert_allclose(ellipse.arc_length(t), targets, rtol=1e-13, atol=4e-16 * ellipse.length)
    with pytest.raises(ValueError, match="arc lengths in"):
        ellipse.parameter_at_arc_length(np.array([-0.1 * ellipse.length]))


def test_ellipse_measures():
    ellipse = curve(type="ellipse", a=4.0, b=0.5, measure="volume")
    _, t = ellipse.sample_with_parameters(4000, seed=2)
    assert uniform_ks_pvalue(ellipse.arc_length(t) / ellipse.length) > 0.01
    flat = curve(type="ellipse", a=4.0, b=0.5, measure="parameter")
    _, t = flat.sample_with_parameters(4000, seed=2)
    assert uniform_ks_pvalue(t[:, 0] / (2 * np.pi)) > 0.01
    assert uniform_ks_pvalue(flat.arc_length(t) / flat.length) < 1e-6


# ---------------------------------------------------------------- helix
@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_helix_samples_and_ground_truth(measure):
    helix = curve(type="helix", radius=1.5, pitch=0.7, turns=4.0, measure=measure)
    c = 0.7 / (2 * np.pi)
    points, t = helix.sample_with_parameters(3000, seed=4)
    assert points.shape == (3000, 3) and helix.intrinsic_dim == 1 and not helix.closed
    np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 1]), 1.5, rtol=0, atol=1e-13)
    z = points[:, 2]
    assert z.min() > 0.0 and z.max() <= 0.7 * 4.0 + 1e-12
    angle = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - z / c)))
    assert np.max(np.abs(angle)) < 1e-10
    assert helix.length == pytest.approx(8 * np.pi * np.hypot(1.5, c), rel=1e-15)
    assert helix.length == pytest.approx(quadrature(helix.speed, 0.0, 8 * np.pi), rel=1e-14)
    # Constant speed: both measures are uniform in t and in arc length.
    assert uniform_ks_pvalue(helix.arc_length(t) / helix.length) > 0.01


# ---------------------------------------------------------------- torus knots
KNOTS = [
    {"type": "trefoil"},
    {"type": "torus_knot"},
    {"type": "torus_knot", "p": 3, "q": 7, "R": 3.0, "r": 0.5},
    {"type": "torus_knot", "p": 7, "q": 1, "R": 1.0, "r": 0.99},
    {"type": "torus_knot", "p": 1, "q": 9, "R": 1.0, "r": 0.99},
]


def knot_pq(knot) -> tuple[int, int]:
    return (2, 3) if knot.params.type == "trefoil" else (knot.params.p, knot.params.q)


@pytest.mark.parametrize("keys", KNOTS)
@pytest.mark.parametrize("measure", ["volume", "parameter"])
def test_torus_knot_samples_lie_on_the_knot(keys, measure):
    knot = curve(measure=measure, **keys)
    p, q = knot_pq(knot)
    points, phi = knot.sample_with_parameters(2000, seed=6)
    assert points.shape == (2000, 3) and knot.closed and phi.min() >= 0 and phi.max() < 2 * np.pi
    on_torus, angle = torus_residuals(points, p, q, knot.params.R, knot.params.r)
    assert np.max(np.abs(on_torus)) < 1e-12 and np.max(np.abs(angle)) < 1e-9


def test_trefoil_is_the_2_3_torus_knot():
    trefoil = curve(type="trefoil", R=2.5, r=0.75)
    knot = curve(type="torus_knot", p=2, q=3, R=2.5, r=0.75)
    np.testing.assert_array_equal(trefoil.sample(500, seed=3), knot.sample(500, seed=3))
    assert trefoil.length == knot.length
    # The trefoil in Wikipedia's form: x = sin t + 2 sin 2t is a different embedding; ours is
    # ((2 + cos 3 phi) cos 2 phi, (2 + cos 3 phi) sin 2 phi, sin 3 phi) for R = 2, r = 1.
    phi = np.linspace(0.0, 2 * np.pi, 7)
    expected = np.c_[(2 + np.cos(3 * phi)) * np.cos(2 * phi), (2 + np.cos(3 * phi)) * np.sin(2 * phi), np.sin(3 * phi)]
    np.testing.assert_allclose(curve(type="trefoil").points_at(phi), expected, atol=1e-15)


@pytest.mark.parametrize("keys", KNOTS)
def test_torus_knot_arc_length_matches_quadrature(keys):
    knot = curve(**keys)
    _, q = knot_pq(knot)
    phis = np.array([1e-3, 0.4, 1.0, 2.2, np.pi, 4.0, 5.5, 2 * np.pi])
    breaks = tuple(np.arange(1, 2 * q) * np.pi / q)  # the speed's extrema
    expected = np.array([quadrature(knot.speed, 0.0, phi, breaks) for phi in phis])
    np.testing.assert_allclose(knot.arc_length(phis), expected, rtol=1e-13, atol=0)
    assert knot.length == pytest.approx(expected[-1], rel=1e-13)


@pytest.mark.parametrize("keys", KNOTS)
def test_torus_knot_arc_length_inverse_round_trips(keys):
    knot = curve(**keys)
    targets = np.concatenate([[0.0, knot.length], np.random.default_rng(5).random(5000) * knot.length])
    phi = knot.parameter_at_arc_length(targets)
    assert phi[0] == 0.0 and phi[1] == pytest.approx(2 * np.pi, rel=1e-14)
    np.testing.assert_allclose(knot.arc_length(phi), targets, rtol=1e-13, atol=1e-15 * knot.length)
    with pytest.raises(ValueError, match="arc lengths in"):
        knot.parameter_at_arc_length(np.array([1.5 * knot.length]))


def test_torus_knot_volume_measure_is_uniform_in_arc_length():
    knot = curve(type="torus_knot", p=3, q=7, R=3.0, r=0.5)
    _, phi = knot.sample_with_parameters(4000, seed=9)
    assert uniform_ks_pvalue(knot.arc_length(phi) / knot.length) > 0.01
    # p = 7, q = 1 on a thin-walled torus: the speed varies 14-fold along the knot.
    flat = curve(type="torus_knot", p=7, q=1, R=1.0, r=0.99, measure="parameter")
    _, phi = flat.sample_with_parameters(4000, seed=9)
    assert uniform_ks_pvalue(phi[:, 0] / (2 * np.pi)) > 0.01
    assert uniform_ks_pvalue(flat.arc_length(phi) / flat.length) < 1e-6


# ---------------------------------------------------------------- every analytic curve
ANALYTIC = [
    {"type": "circle", "radius": 1.3},
    {"type": "ellipse", "a": 3.0, "b": 0.8},
    {"type": "archimedean_spiral", "turns": 2.0, "a": 0.3},
    {"type": "helix", "radius": 0.8, "pitch": 2.0, "turns": 2.0},
    {"type": "trefoil"},
    {"type": "torus_knot", "p": 3, "q": 2, "R": 1.0, "r": 0.4},
]


@pytest.mark.parametrize("keys", ANALYTIC)
def test_velocity_is_the_derivative_and_speed_its_norm(keys):
    manifold = curve(**keys)
    start, end = manifold.parameter_interval
    t = start + (end - start) * np.linspace(0.05, 0.95, 37)
    step = 1e-6 * (end - start)
    central = (manifold.points_at(t + step) - manifold.points_at(t - step)) / (2 * step)
    velocity = manifold.velocity(t)
    assert velocity.shape == (37, manifold.natural_dim)
    np.testing.assert_allclose(velocity, central, rtol=0, atol=1e-7 * np.abs(velocity).max())
    np.testing.assert_allclose(manifold.speed(t), np.linalg.norm(velocity, axis=1), rtol=1e-14)


def _max_chord_midpoint_distance(manifold, resolution: int) -> float:
    """Max over chords of the distance from the chord's midpoint to the arc between its ends."""
    vertices, closed = manifold.polyline(resolution)
    expected_count = resolution if manifold.closed else resolution + 1
    assert closed == manifold.closed and vertices.shape == (expected_count, manifold.ambient_dim)
    t = manifold.parameter_at_arc_length(np.arange(resolution + 1) * (manifold.length / resolution))
    np.testing.assert_allclose(vertices, manifold.points_at(t[:expected_count]), atol=1e-12)
    np.testing.assert_allclose(np.diff(manifold.arc_length(t)), manifold.length / resolution, rtol=1e-9)
    ends = manifold.points_at(t)
    midpoints = 0.5 * (ends[1:] + ends[:-1])
    grid = t[:-1, None] + np.linspace(0.0, 1.0, 401)[None, :] * np.diff(t)[:, None]
    arc = manifold.points_at(grid.ravel()).reshape(grid.shape + (manifold.ambient_dim,))
    return float(np.max(np.min(np.linalg.norm(arc - midpoints[:, None, :], axis=2), axis=1)))


@pytest.mark.parametrize("keys", ANALYTIC[1:])
def test_new_curves_polylines_converge_quadratically(keys):
    manifold = curve(**keys)
    errors = np.array([_max_chord_midpoint_distance(manifold, r) for r in (200, 400, 800)])
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "ellipse", "a": 0.0}, ("a",), "greater than 0"),
        ({"type": "ellipse", "b": -2}, ("b",), "greater than 0"),
        ({"type": "helix", "radius": -1}, ("radius",), "greater than 0"),
        ({"type": "helix", "pitch": 0}, ("pitch",), "greater than 0"),
        ({"type": "helix", "turns": 0}, ("turns",), "greater than 0"),
        ({"type": "torus_knot", "p": 2, "q": 4}, ("q",), r"coprime .* Received: p=2, q=4, gcd 2"),
        ({"type": "torus_knot", "p": 6, "q": 9}, ("q",), "gcd 3"),
        ({"type": "torus_knot", "p": 0}, ("p",), "greater than 0"),
        ({"type": "torus_knot", "R": 1.0, "r": 1.0}, ("r",), "below the centre-line radius R = 1.0"),
        ({"type": "trefoil", "r": 2.5}, ("r",), "Received: r=2.5"),
        ({"type": "trefoil", "p": 2}, ("p",), "unknown key"),
    ],
)
def test_bad_curve_parameters_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


# ---------------------------------------------------------------- polyline lengths and Hausdorff distance
@pytest.mark.parametrize("resolution", [3, 10, 1000])
def test_circle_polyline_is_the_inscribed_regular_polygon(resolution):
    circle = curve(type="circle", radius=2.5)
    vertices, closed = circle.polyline(resolution)
    assert closed and vertices.shape == (resolution, 2)
    edges = np.linalg.norm(np.roll(vertices, -1, axis=0) - vertices, axis=1)
    # Perimeter 2 n r sin(pi / n) -> 2 pi r; Hausdorff distance to the circle r (1 - cos(pi / n)).
    assert edges.sum() == pytest.approx(2 * resolution * 2.5 * math.sin(math.pi / resolution), rel=1e-13)
    midpoints = 0.5 * (vertices + np.roll(vertices, -1, axis=0))
    hausdorff = float(np.max(2.5 - np.linalg.norm(midpoints, axis=1)))
    assert hausdorff == pytest.approx(2.5 * (1 - math.cos(math.pi / resolution)), rel=1e-9)


def test_helix_polyline_length_is_exact():
    helix = curve(type="helix", radius=1.5, pitch=0.7, turns=4.0)
    c, total = 0.7 / (2 * np.pi), 8 * np.pi
    assert helix.length == pytest.approx(total * math.hypot(1.5, c), rel=1e-15)
    for resolution in (10, 100, 1000):
        vertices, closed = helix.polyline(resolution)
        assert not closed and vertices.shape == (resolution + 1, 3)
        step = total / resolution  # constant speed: equal arc length is equal t
        chord = math.hypot(2 * 1.5 * math.sin(step / 2), c * step)
        assert np.linalg.norm(np.diff(vertices, axis=0), axis=1).sum() == pytest.approx(resolution * chord, rel=1e-13)


@pytest.mark.parametrize(
    "keys",
    [
        {"type": "archimedean_spiral", "turns": 3.0},
        {"type": "ellipse", "a": 3.0, "b": 0.5},
        {"type": "trefoil"},
    ],
)
def test_polyline_length_converges_to_the_arc_length_quadratically(keys):
    manifold = curve(**keys)
    errors = []
    for resolution in (200, 400, 800, 1600):  # the asymptotic regime: h well below the smallest radius of curvature
        vertices, closed = manifold.polyline(resolution)
        if closed:
            vertices = np.vstack([vertices, vertices[:1]])
        errors.append(manifold.length - np.linalg.norm(np.diff(vertices, axis=0), axis=1).sum())
    errors = np.array(errors)
    assert np.all(errors > 0)  # a chord is shorter than its arc
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 3.8) & (ratios < 4.2)), ratios


def test_spiral_length_has_the_closed_form():
    # a = 0: s(T) = [w b T sqrt(1 + w^2 T^2) + b asinh(w T)] / (2 w), written out independently.
    manifold = spiral(a=0.0, b=0.3, w=2.0, turns=2.5)
    big_t = 5 * np.pi
    expected = 0.3 * (2 * big_t * math.sqrt(1 + 4 * big_t**2) + math.asinh(2 * big_t)) / 4.0
    assert manifold.length == pytest.approx(expected, rel=1e-14)


# ---------------------------------------------------------------- tangents, make, validation
@pytest.mark.parametrize("keys", ANALYTIC)
def test_tangent_vectors_are_the_exact_velocity(keys):
    manifold = curve(**keys)
    _, t = manifold.sample_with_parameters(50, seed=1)
    tangents = manifold.tangent_vectors(t)
    assert tangents.shape == (50, 1, manifold.natural_dim)
    np.testing.assert_array_equal(tangents[:, 0, :], manifold.velocity(t))


@pytest.mark.parametrize(
    "name, cls",
    [
        ("circle", "Circle"),
        ("ellipse", "Ellipse"),
        ("helix", "Helix"),
        ("trefoil", "Trefoil"),
        ("torus_knot", "TorusKnot"),
        ("archimedean_spiral", "ArchimedeanSpiral"),
        ("peano", "PeanoCurve"),
        ("hilbert", "HilbertCurve"),
        ("koch", "KochCurve"),
    ],
)
def test_make_builds_every_curve_type(name, cls):
    manifold = make({"type": name})
    assert type(manifold).__name__ == cls and manifold.intrinsic_dim == 1
    points = manifold.sample(10, seed=0)
    assert points.shape == (10, manifold.ambient_dim) and np.all(np.isfinite(points))


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "circle", "radius": -1.0}, ("radius",), "greater than 0. Received: -1.0"),
        ({"type": "archimedean_spiral", "a": -0.5}, ("a",), "greater than or equal to 0"),
        ({"type": "archimedean_spiral", "b": 0.0}, ("b",), "greater than 0"),
        ({"type": "archimedean_spiral", "w": -1.0}, ("w",), "greater than 0"),
        ({"type": "archimedean_spiral", "turns": 0}, ("turns",), "greater than 0"),
        (
            {"type": "archimedean_spiral", "turns": 3, "embed": {"ambient_dim": 1}},
            ("embed", "ambient_dim"),
            "at least 2",
        ),
        ({"type": "torus_knot", "R": -2.0}, ("R",), "greater than 0"),
    ],
)
def test_more_bad_curve_parameters_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


# ---------------------------------------------------------------- parameters(points): the inverse of points_at
@pytest.mark.parametrize(
    "keys",
    [
        *ANALYTIC,
        {"type": "archimedean_spiral", "turns": 10.0, "a": 0.0, "embed": {"ambient_dim": 5}},
        {"type": "trefoil", "embed": {"type": "nonlinear", "ambient_dim": 5, "strength": 0.5}},
        {"type": "torus_knot", "p": 7, "q": 1, "R": 1.0, "r": 0.99},
    ],
)
def test_parameters_invert_points_at(keys):
    manifold = curve(**keys)
    points, t = manifold.sample_with_parameters(2000, seed=13)
    recovered = manifold.parameters(points)
    assert recovered.shape == (2000, 1)
    start, end = manifold.parameter_interval

    def error(estimate, truth):
        difference = estimate - truth
        if manifold.closed:  # t and t + period are the same point
            period = end - start
            difference = np.angle(np.exp(2j * np.pi * difference / period)) * period / (2 * np.pi)
        return np.max(np.abs(difference))

    assert error(recovered, t) < 1e-11 * (end - start)
    assert recovered.min() >= start and (recovered.max() < end if manifold.closed else recovered.max() <= end)
    # The ends of an open curve and the seam of a closed one.
    ends = np.array([start, start + 1e-9, end - 1e-9, end])
    assert error(manifold.parameters(manifold.points_at(ends))[:, 0], ends) < 1e-10 * (end - start)


@pytest.mark.parametrize(
    "keys",
    [
        {"type": "circle", "radius": 2.0},
        {"type": "archimedean_spiral", "turns": 3.0},
        {"type": "helix", "embed": {"ambient_dim": 4}},
    ],
)
def test_parameters_of_noisy_points_are_those_of_the_nearest_point(keys):
    # Noise along the normal moves a point straight away from the curve: its nearest point
    # (for a std well below the radius of curvature) is still the clean one.
    noisy = curve(**keys, noise={"std": 0.01, "direction": "normal"})
    points, t = noisy.sample_with_parameters(2000, seed=4)
    assert np.max(np.abs(noisy.points_at(t) - points)) > 0.01
    np.testing.assert_allclose(noisy.parameters(points), t, rtol=0, atol=1e-10)
