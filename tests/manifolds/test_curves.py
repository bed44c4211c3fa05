"""Curves: samples on the curve, the volume measure, arc length, polylines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

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
