"""Densities on manifolds (von Mises-Fisher, bump mixtures), sampled by rejection."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.measures import (
    BumpMixtureDensity,
    VonMisesFisherDensity,
    rejection_sample,
)


# ---------------------------------------------------------------- von Mises-Fisher
def vmf_sphere(kappa: float, mu=(0.0, 0.0, 1.0), radius: float = 1.0, **keys):
    return make(
        {
            "type": "sphere",
            "dim": 2,
            "radius": radius,
            "measure": {"type": "von_mises_fisher", "mean_direction": list(mu), "concentration": kappa},
            **keys,
        }
    )


@pytest.mark.parametrize("kappa", [0.5, 2.0, 10.0])
def test_von_mises_fisher_on_s2_has_the_closed_form_mean_and_law(kappa):
    mu = np.array([1.0, -2.0, 2.0]) / 3.0
    sphere = vmf_sphere(kappa, mu=3.0 * mu, radius=2.0)
    assert isinstance(sphere.density, VonMisesFisherDensity)
    n = 20000
    points = sphere.sample(n, seed=4)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 2.0, atol=1e-12)  # still on the sphere
    t = points @ mu / 2.0
    # E<mu, x> = coth(kappa) - 1 / kappa, E<mu, x>^2 = 1 - 2 coth(kappa) / kappa + 2 / kappa^2.
    mean = 1.0 / math.tanh(kappa) - 1.0 / kappa
    variance = 1.0 - 2.0 / (kappa * math.tanh(kappa)) + 2.0 / kappa**2 - mean**2
    assert abs(t.mean() - mean) < 4.0 * math.sqrt(variance / n)

    # The height t has density kappa e^{kappa t} / (2 sinh kappa) on [-1, 1].
    def cdf(x):
        return np.expm1(kappa * (x + 1.0)) / np.expm1(2.0 * kappa)

    assert stats.kstest(t, cdf).pvalue > 0.01
    # Around mu the law is rotation invariant: the azimuth is uniform.
    e1 = np.cross(mu, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(mu, e1)
    azimuth = np.arctan2(points @ e2, points @ e1)
    assert stats.kstest((azimuth + np.pi) / (2 * np.pi), "uniform").pvalue > 0.01


def test_von_mises_fisher_with_zero_concentration_is_the_area_measure():
    sphere = vmf_sphere(0.0)
    points = sphere.sample(4000, seed=0)
    assert stats.kstest((points[:, 2] + 1.0) / 2.0, "uniform").pvalue > 0.01  # Archimedes
    # kappa = 0: every proposal accepted, so the samples are the volume measure's own.
    np.testing.assert_array_equal(points, make({"type": "sphere", "dim": 2}).sample(4000, seed=0))


@pytest.mark.parametrize("kappa", [1.0, 4.0])
def test_von_mises_on_the_circle(kappa):
    circle = make(
        {
            "type": "circle",
            "radius": 3.0,
            "measure": {"type": "von_mises_fisher", "mean_direction": [0.0, 2.0], "concentration": kappa},
        }
    )
    points, t = circle.sample_with_parameters(20000, seed=8)
    np.testing.assert_allclose(points, 3.0 * np.c_[np.cos(t), np.sin(t)], atol=1e-12)
    # The angle from mu = pi / 2, wrapped to [-pi, pi), is von Mises(0, kappa).
    offset = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - np.pi / 2)))
    assert stats.kstest(offset, stats.vonmises(kappa).cdf).pvalue > 0.01
    mean = special.i1(kappa) / special.i0(kappa)  # E cos(angle - mu) = I_1 / I_0
    variance = 0.5 * (1.0 + special.iv(2, kappa) / special.i0(kappa)) - mean**2
    assert abs(np.mean(points[:, 1] / 3.0) - mean) < 4.0 * math.sqrt(variance / 20000)


def test_von_mises_fisher_in_higher_dimensions_and_embedded():
    # S^3 in R^4, lifted into R^6: the density is evaluated in the natural space.
    kappa = 3.0
    sphere = make(
        {
            "type": "sphere",
            "dim": 3,
            "measure": {"type": "von_mises_fisher", "mean_direction": [0, 0, 0, 1], "concentration": kappa},
            "embed": {"ambient_dim": 6},
        }
    )
    points = sphere.sample(20000, seed=3)
    natural = sphere.natural_coordinates(points)
    # On S^3 the mean resultant length is I_2(kappa) / I_1(kappa)
    # (Mardia and Jupp, 9.3.10: A_p = I_{p/2} / I_{p/2 - 1}).
    expected = special.iv(2, kappa) / special.iv(1, kappa)
    assert natural[:, 3].mean() == pytest.approx(expected, abs=0.01)


# ---------------------------------------------------------------- bump mixture
def mixture_cdf(s: np.ndarray, centers, widths, weights, floor: float) -> np.ndarray:
    """int_0^s f / int_0^1 f in closed form: the integral of a Gaussian bump is a difference of normal CDFs."""

    def integral(x):
        total = floor * x
        for c, w, a in zip(centers, widths, weights):
            total = total + a * w * math.sqrt(2.0 * math.pi) * (stats.norm.cdf((x - c) / w) - stats.norm.cdf(-c / w))
        return total

    return integral(np.asarray(s)) / integral(1.0)


BUMPS = {"centers": [0.2, 0.7], "widths": [0.05, 0.1], "weights": [1.0, 2.0], "floor": 0.1}


@pytest.mark.parametrize(
    "keys",
    [
        {"type": "archimedean_spiral", "turns": 4.0},
        {"type": "ellipse", "a": 3.0, "b": 0.5},
        {"type": "trefoil"},
        {"type": "koch", "order": 3},
    ],
)
def test_bump_mixture_along_arc_length_matches_its_cdf(keys):
    curve = make({**keys, "measure": {"type": "bump_mixture", **BUMPS}})
    assert isinstance(curve.density, BumpMixtureDensity)
    points, t = curve.sample_with_parameters(5000, seed=12)
    np.testing.assert_allclose(points, curve.points_at(t), atol=1e-12)  # on the curve
    s = curve.arc_length(t) / curve.length

    def cdf(x):
        return mixture_cdf(x, **BUMPS)

    assert stats.kstest(s, cdf).pvalue > 0.01
    assert stats.kstest(s, "uniform").pvalue < 1e-6  # and visibly not the volume measure
    # The density's own CDF (trapezoid rule) agrees with the closed form.
    grid = np.linspace(0.0, 1.0, 101)
    np.testing.assert_allclose(curve.density.cdf(grid), cdf(grid), atol=1e-8)


def test_bump_mixture_by_parameter_is_a_density_with_respect_to_arc_length():
    # position: parameter: f is a function of theta / T but still a density w.r.t. arc length,
    # so theta has density proportional to f(theta / T) |rho'(theta)|.
    bumps = {"centers": [0.5], "widths": [0.15], "floor": 0.2}
    spiral = make(
        {
            "type": "archimedean_spiral",
            "turns": 3.0,
            "measure": {"type": "bump_mixture", "position": "parameter", **bumps},
        }
    )
    _, theta = spiral.sample_with_parameters(5000, seed=6)
    big_t = spiral.params.theta_max

    def weight(x: float) -> float:
        return (0.2 + math.exp(-0.5 * ((x / big_t - 0.5) / 0.15) ** 2)) * float(spiral.speed(np.array([x]))[0])

    grid = np.linspace(0.0, big_t, 401)
    pieces = [integrate.quad(weight, lo, hi, epsabs=1e-12)[0] for lo, hi in itertools.pairwise(grid)]
    cumulative = np.concatenate([[0.0], np.cumsum(pieces)])

    def cdf(x):
        return np.interp(x, grid, cumulative / cumulative[-1])

    assert stats.kstest(theta[:, 0], cdf).pvalue > 0.01


def test_bump_mixture_bound_is_certified():
    # Two overlapping bumps: the maximum lies between the centres, off the 4097-point grid.
    circle = make(
        {"type": "circle", "measure": {"type": "bump_mixture", "centers": [0.3, 0.31], "widths": [0.01, 0.01]}}
    )
    density = circle.density
    supremum = density.mixture(np.linspace(0.3, 0.31, 1_000_001)).max()
    bound = math.exp(density.log_bound)
    slack = (2.0 / 0.01**2) * (1.0 / 4096) ** 2 / 8.0  # sum_k w_k / sigma_k^2 * h^2 / 8
    assert supremum <= bound <= supremum + slack
    # A single bump's supremum is at its centre: the bound is exact.
    single = make(
        {"type": "circle", "measure": {"type": "bump_mixture", "centers": [0.3337], "widths": [0.001], "floor": 0.5}}
    )
    assert math.exp(single.density.log_bound) == pytest.approx(1.5, rel=1e-15)


def test_rejection_sampling_is_seeded_and_too_concentrated_is_a_spec_error():
    keys = {"type": "circle", "measure": {"type": "bump_mixture", "centers": [0.5], "widths": [0.1]}}
    np.testing.assert_array_equal(make(keys).sample(500, seed=3), make(keys).sample(500, seed=3))
    assert not np.allclose(make(keys).sample(500, seed=3), make(keys).sample(500, seed=4))
    sharp = make(
        {
            "type": "sphere",
            "dim": 2,
            "measure": {"type": "von_mises_fisher", "mean_direction": [0, 0, 1], "concentration": 40.0},
        }
    )
    view = sharp._volume_measure_view()
    with pytest.raises(SpecError, match="too concentrated") as info:
        rejection_sample(
            lambda count, rng: view._parameters_and_points(view, count, rng),
            sharp.density,
            1000,
            np.random.default_rng(0),
            max_proposals=5000,
        )
    assert info.value.path == ("measure",)


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        (
            {"type": "helix", "measure": {"type": "von_mises_fisher", "mean_direction": [0, 0, 1]}},
            ("measure",),
            "does not apply to manifold type 'helix'",
        ),
        (
            {"type": "sphere", "measure": {"type": "bump_mixture", "centers": [0.5], "widths": [0.1]}},
            ("measure",),
            "does not apply to manifold type 'sphere'.* intrinsic dimension 2",
        ),
        (
            {"type": "sphere", "measure": {"type": "von_mises_fisher", "mean_direction": [0, 1]}},
            ("measure", "mean_direction"),
            r"3 entries .* Received: \[0.0, 1.0\]",
        ),
        (
            {"type": "circle", "measure": {"type": "von_mises_fisher", "mean_direction": [0, 0]}},
            ("measure", "mean_direction"),
            "non-zero",
        ),
        (
            {"type": "circle", "measure": {"type": "von_mises_fisher", "mean_direction": [1, 0], "concentration": -1}},
            ("measure", "concentration"),
            "greater than or equal to 0",
        ),
        (
            {"type": "circle", "measure": {"type": "bump_mixture", "centers": [1.5], "widths": [0.1]}},
            ("measure", "centers"),
            r"in \[0, 1\]. Received: centers=\[1.5\]",
        ),
        (
            {"type": "circle", "measure": {"type": "bump_mixture", "centers": [0.5], "widths": [0.1, 0.2]}},
            ("measure", "widths"),
            r"one entry per centre, 1 in all .* Received: widths=\[0.1, 0.2\]",
        ),
        (
            {
                "type": "circle",
                "measure": {"type": "bump_mixture", "centers": [0.2, 0.5], "widths": [0.1, 0.1], "weights": [1.0]},
            },
            ("measure", "weights"),
            "Received: weights=",
        ),
        (
            {"type": "circle", "measure": {"type": "bump_mixture", "centers": [0.5], "widths": [0.0]}},
            ("measure", "widths", 0),
            "greater than 0",
        ),
        (
            {"type": "circle", "measure": {"centers": [0.5]}},
            ("measure",),
            "with a `type:` key",
        ),
    ],
)
def test_bad_densities_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path
