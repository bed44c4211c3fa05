"""Scrambled Sobol points: the plain net, the net property after scrambling, tiles, streams."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from geokeras.ot import quasi_random as qr


def _elementary_counts(points: np.ndarray, bits_x: int, bits_y: int) -> np.ndarray:
    cells = np.floor(points[:, 0] * 2**bits_x).astype(int) * 2**bits_y + np.floor(points[:, 1] * 2**bits_y).astype(int)
    return np.bincount(cells, minlength=2 ** (bits_x + bits_y))


def test_unscrambled_points_are_tensorflows_sobol_points():
    # The first 2^m points in natural order are the same set as TF's Gray-code order (plus x_0 = 0).
    ours = qr.scrambled_sobol(256, 3, seed=0, scrambled=False).astype(np.float64) - 2.0 ** -(qr.SOBOL_BITS + 1)
    theirs = np.concatenate([np.zeros((1, 3)), tf.math.sobol_sample(3, 255, dtype=tf.float64).numpy()])
    assert sorted(map(tuple, ours.round(9))) == sorted(map(tuple, theirs.round(9)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scrambled_net_keeps_every_elementary_interval_equally_filled(seed):
    # The first two Sobol coordinates form a (0, m, 2)-net: every 2^-a x 2^-(m-a) box holds one point.
    points = qr.scrambled_sobol(1024, 2, seed=seed)
    for bits_x in range(11):
        counts = _elementary_counts(points, bits_x, 10 - bits_x)
        assert counts.min() == counts.max() == 1
    assert points.min() > 0.0 and points.max() < 1.0


def test_scrambles_differ_by_seed_and_repeat_for_the_same_seed():
    a, b = qr.scrambled_sobol(64, 4, seed=5), qr.scrambled_sobol(64, 4, seed=6)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, qr.scrambled_sobol(64, 4, seed=5))


def test_net_tiles_equal_the_points_of_their_indices():
    key = tf.constant([3, 4])
    numbers, shift = qr.scramble(tf.constant(qr.sobol_direction_numbers(5)), key)
    net = qr.digital_net(5, key, 128)
    for tile_index in (0, 1, 7, 300):
        expected = qr.digital_points(tf.range(128 * tile_index, 128 * (tile_index + 1)), numbers, shift)
        np.testing.assert_array_equal(qr.net_tile(net, tile_index).numpy(), expected.numpy())


def test_a_random_digital_shift_keeps_a_tile_a_net():
    net = qr.digital_net(2, tf.constant([1, 2]), 256)
    tile = qr.net_tile(net, 3, qr.random_shift(2, tf.constant([9, 9]))).numpy()
    for bits_x in range(9):
        counts = _elementary_counts(tile, bits_x, 8 - bits_x)
        assert counts.min() == counts.max() == 1


def test_shifted_points_are_uniform_on_average():
    # Each scrambled point is uniform on the cube: the mean of one point over many scrambles is 1/2.
    first_points = np.stack([qr.scrambled_sobol(1, 3, seed=s)[0] for s in range(64)])
    assert np.all(np.abs(first_points.mean(axis=0) - 0.5) < 4 * np.sqrt(1 / 12 / 64))


def test_seed_pairs_and_stream_keys_are_deterministic_and_distinct():
    assert not np.array_equal(qr.seed_pair(0, 0), qr.seed_pair(0, 1))
    np.testing.assert_array_equal(qr.seed_pair(3, 1), qr.seed_pair(3, 1))
    key = tf.constant(qr.seed_pair(0))
    np.testing.assert_array_equal(qr.stream_key(key, 1, 2).numpy(), qr.stream_key(key, 1, 2).numpy())
    assert not np.array_equal(qr.stream_key(key, 1, 2).numpy(), qr.stream_key(key, 2, 1).numpy())


def test_invalid_arguments_name_what_was_received():
    with pytest.raises(ValueError, match="Received: dim=0"):
        qr.sobol_direction_numbers(0)
    with pytest.raises(ValueError, match="Received: tile=100"):
        qr.digital_net(2, tf.constant([0, 0]), 100)
    with pytest.raises(ValueError, match="Received: count=0"):
        qr.scrambled_sobol(0, 2, seed=0)
