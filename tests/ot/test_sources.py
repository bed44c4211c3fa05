"""Source measures: construction from specs, moments, supports, densities, seeded streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from geokeras.errors import SpecError
from geokeras.ot.params import GaussianSourceParams, UniformCubeSourceParams
from geokeras.ot.sources import Gaussian, UniformBall, UniformCube, make_source


def test_make_source_accepts_a_name_a_mapping_a_model_and_none():
    assert isinstance(make_source("gaussian", 3), Gaussian)
    cube = make_source({"type": "uniform_cube", "low": 0, "high": 1}, 2)
    assert isinstance(cube, UniformCube) and (cube.params.low, cube.params.high) == (0.0, 1.0)
    assert isinstance(make_source(GaussianSourceParams(std=2.0), 4), Gaussian)
    default = make_source(None, 2)
    assert isinstance(default, UniformCube) and (default.params.low, default.params.high) == (-0.5, 0.5)
    assert isinstance(make_source({"radius": 1.0, "type": "uniform_ball"}, 2), UniformBall)


def test_make_source_errors_carry_the_key_path_of_the_source_parameters():
    with pytest.raises(SpecError, match=r"^lo: unknown key 'lo'.*Did you mean 'low'"):
        make_source({"type": "uniform_cube", "lo": 0}, 2)
    with pytest.raises(SpecError, match=r"^type: Unknown OT source type 'uniform_cub'.*uniform_cube"):
        make_source({"type": "uniform_cub"}, 2)
    with pytest.raises(SpecError, match=r"low < high") as caught:
        make_source({"type": "uniform_cube", "low": 1, "high": 0}, 2)
    assert caught.value.path == ()
    with pytest.raises(ValueError, match="Received: dim=0"):
        make_source("gaussian", 0)


@pytest.mark.parametrize("sampling", ["quasi_random", "pseudo_random"])
def test_uniform_cube_samples_fill_the_cube_with_its_moments(sampling):
    source = make_source({"type": "uniform_cube", "low": -1.0, "high": 3.0, "sampling": sampling}, 3)
    x = source.sample(1 << 14, seed=1).numpy()
    assert x.shape == (1 << 14, 3) and x.dtype == np.float32
    assert x.min() > -1.0 and x.max() < 3.0
    np.testing.assert_allclose(x.mean(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(x.std(axis=0), source.coordinate_std(), rtol=0.02)
    assert source.coordinate_std() == pytest.approx(4 / math.sqrt(12))
    low, high = source.box()
    np.testing.assert_array_equal(low, [-1.0] * 3)
    np.testing.assert_array_equal(high, [3.0] * 3)


@pytest.mark.parametrize("sampling", ["quasi_random", "pseudo_random"])
def test_gaussian_samples_are_normal(sampling):
    source = make_source({"type": "gaussian", "std": 2.0, "sampling": sampling}, 2)
    x = source.sample(1 << 13, seed=0).numpy()
    assert stats.kstest(x[:, 0] / 2.0, "norm").pvalue > 1e-3
    np.testing.assert_allclose(x.std(axis=0), 2.0, rtol=0.05)
    assert source.box() is None
    log_prob = source.log_prob(np.array([[0.0, 0.0], [2.0, 0.0]], np.float32)).numpy()
    np.testing.assert_allclose(log_prob, [-math.log(2 * math.pi * 4), -math.log(2 * math.pi * 4) - 0.5], rtol=1e-5)


@pytest.mark.parametrize("dim", [2, 5])
def test_uniform_ball_radius_has_the_cdf_r_to_the_d(dim):
    source = make_source({"type": "uniform_ball", "radius": 2.0}, dim)
    assert source.uniform_dim == dim + 1
    x = source.sample(1 << 13, seed=3).numpy()
    radius = np.linalg.norm(x, axis=1) / 2.0
    assert radius.max() <= 1.0
    assert stats.kstest(radius**dim, "uniform").pvalue > 1e-3
    np.testing.assert_allclose(x.std(axis=0), source.coordinate_std(), rtol=0.05)
    assert source.coordinate_std() == pytest.approx(2.0 / math.sqrt(dim + 2))
    log_prob = source.log_prob(np.array([[0.0] * dim, [3.0] + [0.0] * (dim - 1)], np.float32)).numpy()
    volume = math.pi ** (dim / 2) * 2.0**dim / math.gamma(dim / 2 + 1)
    assert log_prob[0] == pytest.approx(-math.log(volume), rel=1e-5) and log_prob[1] == -np.inf


def test_uniform_cube_log_prob_is_minus_log_volume_inside():
    source = make_source(UniformCubeSourceParams(low=0.0, high=2.0), 3)
    inside = source.log_prob(np.full((1, 3), 1.0, np.float32)).numpy()
    assert inside[0] == pytest.approx(-3 * math.log(2.0))


@pytest.mark.parametrize("sampling", ["quasi_random", "pseudo_random"])
def test_samples_are_a_function_of_seed_and_step(sampling):
    source = make_source({"sampling": sampling}, 2)
    a = source.sample(100, seed=4, step=0).numpy()
    np.testing.assert_array_equal(a, source.sample(100, seed=4, step=0).numpy())
    assert not np.allclose(a, source.sample(100, seed=4, step=1).numpy())
    assert not np.allclose(a, source.sample(100, seed=5, step=0).numpy())


def test_stream_tiles_partition_one_net():
    source = make_source({"type": "uniform_cube", "low": 0, "high": 1}, 2)
    key = tf.constant([7, 8])
    stream = source.stream(key, 64)
    tiles = np.concatenate([source.tile_points(stream, t).numpy() for t in range(16)])
    np.testing.assert_array_equal(tiles, source.sample_graph(1024, key).numpy())
    counts = np.bincount((np.floor(tiles[:, 0] * 32) * 32 + np.floor(tiles[:, 1] * 32)).astype(int), minlength=1024)
    assert counts.min() == counts.max() == 1
