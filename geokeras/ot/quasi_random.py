"""Scrambled Sobol points generated inside TensorFlow graphs, a new scramble per stream key.

TensorFlow has unscrambled Sobol points (``tf.math.sobol_sample``, Joe & Kuo direction numbers,
CPU only); TensorFlow Probability 0.25 has no Sobol sampler. This module builds scrambled
points from the direction numbers, in any graph and on any device:

1. **Direction numbers.** The Sobol point of Gray-code index k is x_k = XOR of the direction
   numbers v_b over the bits b set in gray(k) = k ^ (k >> 1); ``tf.math.sobol_sample`` returns
   x_1, x_2, ... (it drops x_0 = 0), so v_b = x_{2^(b+1) - 1} is its row 2^(b+1) - 2. Read once
   with ``skip`` for b = 0 .. SOBOL_BITS - 1 (exact: v_b has b + 1 significant binary digits,
   fewer than float32's 24).
2. **Points in natural order.** x_i = XOR_{b : bit b of i set} v_b. For i < 2^m this is the
   same point set as the Gray-code order (gray is a bijection of [0, 2^m)), so the first 2^m
   points form the usual (t, m, d)-net; every aligned block of 2^k indices is a digitally
   shifted copy of the first 2^k points, so a tile of a step is itself a net.
3. **Scramble (Matoušek 1998, "On the L2-discrepancy for anchored boxes", linear matrix
   scramble plus random digital shift, "LMS + shift" as in scipy.stats.qmc.Sobol).** For each
   coordinate j a random lower-triangular binary matrix L_j with unit diagonal multiplies the
   generator matrix C_j over GF(2) (column b of C_j holds the binary digits of v_b, most
   significant first) and a uniformly random digit vector e_j is XORed onto every point:
   x'_i = (L_j C_j) i XOR e_j. Both keep the net property (every elementary interval of volume
   2^-m holds the same number of points as before) and make each point uniform on [0, 1)^d,
   so estimates are unbiased. This is not Owen's nested scramble (which randomises each digit
   depending on all previous digits); LMS + shift is its usual, cheaper stand-in.
4. **Streams.** L_j and e_j are drawn by stateless random ops from a key (seed, step,
   replicate): every solver step gets a new, independent scramble, and the same key always
   gives the same points (resumable, device-independent). Points beyond 2^SOBOL_BITS per key
   come from further replicates (independent scrambles of the same net).

Digits become numbers as u = (x' + 1/2) 2^-SOBOL_BITS, the centre of the point's elementary
interval: u lies in (0, 1) strictly (safe for inverse CDFs) and is exact in float32.

Cost per point and coordinate: SOBOL_BITS XOR/AND operations (about 2 % of one score matmul
against 1000 targets); the scramble costs O(d SOBOL_BITS^3) per tile.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

SOBOL_BITS = 23
"""Binary digits per coordinate; one scramble covers 2^SOBOL_BITS points."""

POINTS_PER_SCRAMBLE = 1 << SOBOL_BITS

MAX_SOBOL_DIMENSION = 21200
"""The largest dimension of ``tf.math.sobol_sample`` (Joe & Kuo's table)."""


@functools.lru_cache(maxsize=32)
def sobol_direction_numbers(dim: int) -> np.ndarray:
    """The direction numbers v_b of the first ``dim`` Sobol coordinates, as integers.

    Returns:
        shape=[SOBOL_BITS, dim], int32: v_b * 2^SOBOL_BITS (exact), read from
        ``tf.math.sobol_sample`` as the module docstring explains.
    """
    if not 1 <= dim <= MAX_SOBOL_DIMENSION:
        raise ValueError(f"Expected a Sobol dimension between 1 and {MAX_SOBOL_DIMENSION}. Received: dim={dim}.")
    import tensorflow as tf

    # init_scope: eager even when first called while a tf.function traces (the result is cached).
    with tf.init_scope(), tf.device("/CPU:0"):  # SobolSample has a CPU kernel only; once per dim.
        rows = [
            tf.math.sobol_sample(dim, 1, skip=(1 << (bit + 1)) - 2, dtype=tf.float64).numpy()[0]
            for bit in range(SOBOL_BITS)
        ]
    scaled = np.asarray(rows) * float(POINTS_PER_SCRAMBLE)
    numbers = np.rint(scaled)
    if not np.array_equal(numbers, scaled):
        raise RuntimeError("Sobol direction numbers are not dyadic with SOBOL_BITS digits.")
    numbers.setflags(write=False)
    return numbers.astype(np.int32)


def scramble(direction_numbers: Any, key: Any) -> tuple[Any, Any]:
    """A random linear matrix scramble and digital shift of the direction numbers.

    Args:
        direction_numbers: shape=[SOBOL_BITS, d], int32 (from :func:`sobol_direction_numbers`).
        key: shape=[2], int32 or int64: the stateless seed of this scramble.

    Returns:
        ``(scrambled, shift)``: scrambled direction numbers (L_j C_j) as integers,
        shape=[SOBOL_BITS, d], int32, and the digital shift e, shape=[d], int32.
    """
    import tensorflow as tf

    bits = SOBOL_BITS
    dim = tf.shape(direction_numbers)[1]
    matrix_key, shift_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    # Digit r of v counts from the most significant (r = 0 is 2^-1): digits[b, j, r].
    powers = tf.constant([1 << (bits - 1 - r) for r in range(bits)], tf.int32)
    digits = tf.cast(
        tf.bitwise.bitwise_and(
            tf.bitwise.right_shift(direction_numbers[:, :, None], tf.range(bits - 1, -1, -1, dtype=tf.int32)), 1
        ),
        tf.float32,
    )  # shape=[bits, d, bits]
    random_bits = tf.random.stateless_uniform([dim, bits, bits], seed=matrix_key, minval=0, maxval=2, dtype=tf.int32)
    lower = tf.linalg.band_part(tf.cast(random_bits, tf.float32), -1, 0)  # keep r >= c
    lower = tf.linalg.set_diag(lower, tf.ones([dim, bits]))  # unit diagonal: L_j invertible
    # (L_j C_j)[r, b] = sum_c L_j[r, c] C_j[c, b] mod 2; sums are small integers, exact in float32.
    product = tf.einsum("jrc,bjc->bjr", lower, digits)
    new_digits = tf.cast(tf.math.floormod(product, 2.0), tf.int32)
    scrambled = tf.reduce_sum(new_digits * powers, axis=2)
    shift = tf.random.stateless_uniform([dim], seed=shift_key, minval=0, maxval=POINTS_PER_SCRAMBLE, dtype=tf.int32)
    return scrambled, shift


def digital_points(indices: Any, scrambled: Any, shift: Any) -> Any:
    """The scrambled Sobol points of natural-order ``indices`` as uniforms in (0, 1).

    Args:
        indices: shape=[n], int32, each in [0, 2^SOBOL_BITS).
        scrambled, shift: from :func:`scramble` (unscrambled: the direction numbers and 0).

    Returns:
        shape=[n, d], float32: (x'_i + 1/2) 2^-SOBOL_BITS.
    """
    return _to_unit_interval(_digital_integers(indices, scrambled, shift))


class DigitalNet(NamedTuple):
    """A scrambled Sobol net prepared for drawing aligned tiles cheaply.

    Every aligned block of ``tile`` (a power of two) consecutive indices is the first block
    XOR one vector (the XOR of the scrambled direction numbers of the index's high bits), so
    the first block is computed once and each tile costs one XOR of shape [tile, d].

    Attributes:
        scrambled: shape=[SOBOL_BITS, d], int32: the scrambled direction numbers L_j C_j.
        base: shape=[tile, d], int32: x'_i (shift included) for i = 0 .. tile - 1.
        tile: points per tile (a Python int, a power of two).
    """

    scrambled: Any
    base: Any
    tile: int


def _digital_integers(indices: Any, scrambled: Any, shift: Any) -> Any:
    import tensorflow as tf

    values = tf.broadcast_to(shift[None, :], [tf.shape(indices)[0], tf.shape(shift)[0]])
    for bit in range(SOBOL_BITS):
        # -(bit of i) is all ones (two's complement) or zero: it masks v_b in or out.
        mask = -tf.bitwise.bitwise_and(tf.bitwise.right_shift(indices, bit), 1)
        values = tf.bitwise.bitwise_xor(values, tf.bitwise.bitwise_and(mask[:, None], scrambled[bit][None, :]))
    return values


def _to_unit_interval(values: Any) -> Any:
    import tensorflow as tf

    return (tf.cast(values, tf.float32) + 0.5) * (1.0 / POINTS_PER_SCRAMBLE)


def digital_net(dim: int, key: Any, tile: int, *, scrambled: bool = True) -> DigitalNet:
    """The net of the scramble keyed by ``key`` (``scrambled=False``: plain Sobol), tiles of ``tile``."""
    import tensorflow as tf

    if tile < 1 or tile & (tile - 1) or tile > POINTS_PER_SCRAMBLE:
        raise ValueError(
            f"Expected a tile size that is a power of two <= {POINTS_PER_SCRAMBLE}. Received: tile={tile}."
        )
    numbers = tf.constant(sobol_direction_numbers(dim))
    if scrambled:
        numbers, shift = scramble(numbers, key)
    else:
        shift = tf.zeros([dim], tf.int32)
    return DigitalNet(numbers, _digital_integers(tf.range(tile, dtype=tf.int32), numbers, shift), int(tile))


def random_shift(dim: int, key: Any) -> Any:
    """A uniformly random digital shift (shape=[dim], int32 in [0, 2^SOBOL_BITS)) from ``key``."""
    import tensorflow as tf

    return tf.random.stateless_uniform([dim], seed=key, minval=0, maxval=POINTS_PER_SCRAMBLE, dtype=tf.int32)


def net_tile(net: DigitalNet, tile_index: Any, extra_shift: Any = None) -> Any:
    """Points tile_index * tile .. (tile_index + 1) * tile - 1 of ``net``, shape=[tile, d] float32.

    ``extra_shift`` (shape=[d], int32): a further digital shift XORed onto every point (a
    fresh random shift re-randomises the net: each point stays uniform, estimates unbiased).
    Equal to :func:`digital_points` of the same indices when ``extra_shift`` is None.
    """
    import tensorflow as tf

    low_bits = net.tile.bit_length() - 1
    index = tf.cast(tile_index, tf.int32) * net.tile
    offset = tf.zeros_like(net.scrambled[0])
    for bit in range(low_bits, SOBOL_BITS):
        mask = -tf.bitwise.bitwise_and(tf.bitwise.right_shift(index, bit), 1)
        offset = tf.bitwise.bitwise_xor(offset, tf.bitwise.bitwise_and(mask, net.scrambled[bit]))
    if extra_shift is not None:
        offset = tf.bitwise.bitwise_xor(offset, extra_shift)
    return _to_unit_interval(tf.bitwise.bitwise_xor(net.base, offset[None, :]))


def stream_key(seed: Any, *counters: Any) -> Any:
    """A stateless seed (shape=[2], int32) for ``seed`` and integer counters (step, tile, ...).

    ``seed`` is a shape=[2] int32 tensor (see :func:`seed_pair`); each counter is folded in with
    ``tf.random.experimental.stateless_fold_in``, so distinct counter tuples give independent
    streams.
    """
    import tensorflow as tf

    key = tf.cast(seed, tf.int32)
    for counter in counters:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(counter, tf.int32))
    return tf.cast(key, tf.int32)


def seed_pair(seed: int, purpose: int = 0) -> np.ndarray:
    """A shape=[2] int32 stateless seed from a non-negative Python ``seed`` and a ``purpose``.

    numpy's SeedSequence hashes both, so the solver's training stream (purpose 0), its
    evaluation stream (1) and generation (2) never share points.
    """
    state = np.random.SeedSequence([int(seed), int(purpose)]).generate_state(2, dtype=np.uint32)
    return (state & np.uint32(0x7FFFFFFF)).astype(np.int32)


def scrambled_sobol(count: int, dim: int, seed: int, *, scrambled: bool = True) -> np.ndarray:
    """``count`` scrambled Sobol points in (0, 1)^dim (eager convenience; shape=[count, dim]).

    The first ``count`` points in natural order of the scramble keyed by ``seed``; with
    ``scrambled=False`` the plain Sobol points (x_0 = 0 mapped to 2^-24 and so on).
    """
    import tensorflow as tf

    if not 1 <= count <= POINTS_PER_SCRAMBLE:
        raise ValueError(f"Expected 1 <= count <= {POINTS_PER_SCRAMBLE}. Received: count={count}.")
    numbers = tf.constant(sobol_direction_numbers(dim))
    if scrambled:
        numbers, shift = scramble(numbers, tf.constant(seed_pair(seed)))
    else:
        shift = tf.zeros([dim], tf.int32)
    return digital_points(tf.range(count, dtype=tf.int32), numbers, shift).numpy()
