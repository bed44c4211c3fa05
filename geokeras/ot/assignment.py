"""Power-cell assignment: cell(x) = argmax_i <x, y_i> + h_i, tiled over samples and targets.

The power cells of semi-discrete OT (Gu, Luo, Sun, Yau 2016; Lei et al. 2018, section 5)
are W_i(h) = {x : <x, y_i> + h_i >= <x, y_j> + h_j for all j}. Assigning n
points to their cells is one score matrix S = X Y^T + h (float32) and a row argmax. It is never
materialised whole: the targets are cut into tiles of ``tile_targets`` rows (padded with
height -inf), the samples into tiles of ``tile_rows`` rows, and a running (best score, best
index) is carried across target tiles, so memory is O(tile_rows x tile_targets) for any n, N.

Ties: two scores within float32 rounding of each other may be ordered wrongly. With
``float64_ties=True`` the rows whose two best float32 scores differ by less than
8 eps_32 (|x| max|y| + max|h|) are re-scored in float64 against every target.
Among exactly equal scores the lowest index wins (``tf.argmax``).

Every function here runs inside ``tf.function`` (no host round trips); the public ones compile
once per shape signature. TF32 matmuls are switched off by :func:`disable_tensor_float_32`
(called by the solvers): TF32 keeps only 10 mantissa bits, too few to order close scores.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

__all__ = [
    "TargetShard",
    "TargetTiles",
    "SCORE_BLOCK_ROWS",
    "SCORE_BLOCK_TARGETS",
    "assign_blocked",
    "assign_sharded",
    "shard_targets",
    "assign_cells",
    "assign_tile",
    "best_cells",
    "cell_masses",
    "disable_tensor_float_32",
    "tile_targets",
    "top_k_cells",
    "top_k_tile",
]

DEFAULT_TILE_ROWS = 4096
DEFAULT_TILE_TARGETS = 8192
SCORE_BLOCK_ROWS = 1024
SCORE_BLOCK_TARGETS = 2048
_TIE_MARGIN = 8.0 * float(np.finfo(np.float32).eps)


def disable_tensor_float_32() -> None:
    """Turn off TF32 matmuls (Ampere+ GPUs): scores must be computed in full float32."""
    tf.config.experimental.enable_tensor_float_32_execution(False)


class TargetTiles(NamedTuple):
    """Targets and heights cut into equal tiles, the last padded (zero target, height -inf).

    Attributes:
        targets: shape=[tiles, tile, d], float32.
        heights: shape=[tiles, tile], float32.
        count: N, the number of real targets (a Python int).
    """

    targets: Any
    heights: Any
    count: int


def tile_targets(targets: Any, heights: Any, tile_targets: int = DEFAULT_TILE_TARGETS) -> TargetTiles:
    """Cut ``targets`` (shape=[N, d]) and ``heights`` (shape=[N]) into tiles (graph-safe; N static).

    ceil(N / tile_targets) tiles of equal size ceil(N / tiles) <= tile_targets, so that fewer
    than one padding row per tile is scored (N = 10^4 with tile_targets 8192: two tiles of
    5000, not two of 8192); one tile of N rows when N <= tile_targets.
    """
    targets = tf.convert_to_tensor(targets, tf.float32)
    heights = tf.convert_to_tensor(heights, tf.float32)
    count = int(targets.shape[0])
    tiles = -(-count // max(1, min(int(tile_targets), count)))
    tile = -(-count // tiles)
    pad = tiles * tile - count
    if pad:
        targets = tf.pad(targets, [[0, pad], [0, 0]])
        heights = tf.concat([heights, tf.fill([pad], tf.constant(-np.inf, tf.float32))], axis=0)
    return TargetTiles(tf.reshape(targets, [tiles, tile, -1]), tf.reshape(heights, [tiles, tile]), count)


def _tile_scores(x: Any, targets: Any, heights: Any) -> Any:
    return tf.matmul(x, targets, transpose_b=True) + heights[None, :]


def best_cells(x: Any, tiles: TargetTiles, *, second: bool = False) -> tuple[Any, ...]:
    """Best cell of each row of ``x`` (shape=[n, d]) over all target tiles.

    Returns:
        ``(index, score)`` (shape=[n], int32 and float32), with ``second=True`` also the
        second-best score (shape=[n]; -inf when N = 1).
    """
    n = tf.shape(x)[0]
    tile = tf.shape(tiles.heights)[1]

    def tile_best(t: Any) -> tuple[Any, Any, Any]:
        scores = _tile_scores(x, tiles.targets[t], tiles.heights[t])
        if second and tiles.heights.shape[1] > 1:
            values, indices = tf.math.top_k(scores, 2)
            return indices[:, 0], values[:, 0], values[:, 1]
        index = tf.argmax(scores, axis=1, output_type=tf.int32)
        best = tf.gather(scores, index, batch_dims=1)
        return index, best, tf.fill([n], tf.constant(-np.inf, tf.float32))

    index, best, runner_up = tile_best(0)
    if tiles.heights.shape[0] == 1:
        return (index, best, runner_up) if second else (index, best)

    def body(t: Any, index: Any, best: Any, runner_up: Any) -> tuple[Any, ...]:
        tile_index, tile_score, tile_second = tile_best(t)
        better = tile_score > best  # strict: the earlier (lower) index wins exact ties
        new_second = tf.maximum(tf.minimum(tile_score, best), tf.maximum(runner_up, tile_second))
        return (
            t + 1,
            tf.where(better, tile_index + t * tile, index),
            tf.maximum(best, tile_score),
            new_second,
        )

    _, index, best, runner_up = tf.while_loop(
        lambda t, *_: t < tf.shape(tiles.heights)[0],
        body,
        (tf.constant(1), index, best, runner_up),
    )
    return (index, best, runner_up) if second else (index, best)


def _float64_argmax(x: Any, tiles: TargetTiles) -> Any:
    """Cell index of each row of ``x`` with every score in float64 (for the few tie rows)."""
    x64 = tf.cast(x, tf.float64)
    targets64 = tf.cast(tiles.targets, tf.float64)
    heights64 = tf.cast(tiles.heights, tf.float64)
    n = tf.shape(x)[0]
    tile = tf.shape(tiles.heights)[1]

    def body(t: Any, index: Any, best: Any) -> tuple[Any, Any, Any]:
        scores = tf.matmul(x64, targets64[t], transpose_b=True) + heights64[t][None, :]
        tile_index = tf.argmax(scores, axis=1, output_type=tf.int32)
        tile_best = tf.gather(scores, tile_index, batch_dims=1)
        better = tile_best > best
        return t + 1, tf.where(better, tile_index + t * tile, index), tf.maximum(best, tile_best)

    _, index, _ = tf.while_loop(
        lambda t, *_: t < tf.shape(tiles.heights)[0],
        body,
        (tf.constant(0), tf.zeros([n], tf.int32), tf.fill([n], tf.constant(-np.inf, tf.float64))),
    )
    return index


def assign_tile(x: Any, tiles: TargetTiles, *, float64_ties: bool = False) -> Any:
    """Cell index (shape=[n], int32) of each row of one sample tile ``x`` (shape=[n, d]).

    With ``float64_ties`` the rows whose best two float32 scores are within
    8 eps_32 (|x| max|y| + max|h|) are re-scored in float64.
    """
    if not float64_ties:
        return best_cells(x, tiles)[0]
    index, best, runner_up = best_cells(x, tiles, second=True)
    finite_heights = tf.where(tf.math.is_finite(tiles.heights), tiles.heights, tf.zeros_like(tiles.heights))
    scale = tf.norm(x, axis=1) * tf.reduce_max(tf.norm(tiles.targets, axis=2)) + tf.reduce_max(tf.abs(finite_heights))
    close = best - runner_up <= _TIE_MARGIN * scale
    rows = tf.where(close)[:, 0]
    exact = _float64_argmax(tf.gather(x, rows), tiles)
    return tf.tensor_scatter_nd_update(index, rows[:, None], exact)


def assign_blocked(x: Any, tiles: TargetTiles, *, float64_ties: bool = False, rows: int = SCORE_BLOCK_ROWS) -> Any:
    """:func:`assign_tile` of ``x`` (shape=[n, d], n static) scored in blocks of ``rows`` rows.

    When n is a multiple of ``rows`` larger than it, the rows are assigned ``rows`` at a time
    (a ``tf.map_fn``; the same cells as one :func:`assign_tile` call); otherwise in one call.
    """
    n = x.shape[0]
    if n is None or n <= rows or n % rows:
        return assign_tile(x, tiles, float64_ties=float64_ties)
    blocks = tf.reshape(x, [n // rows, rows, x.shape[1]])
    index = tf.map_fn(
        lambda block: assign_tile(block, tiles, float64_ties=float64_ties),
        blocks,
        fn_output_signature=tf.TensorSpec([rows], tf.int32),
        parallel_iterations=1,
    )
    return tf.reshape(index, [n])


class TargetShard(NamedTuple):
    """Targets start .. stop - 1 kept on ``device`` (multi-device assignment)."""

    device: str
    start: int
    stop: int


def shard_targets(count: int, devices: Any) -> list[TargetShard]:
    """Split N targets into contiguous, nearly equal shards, one per device."""
    devices = list(devices)
    bounds = np.linspace(0, count, len(devices) + 1).round().astype(int)
    return [TargetShard(str(device), int(a), int(b)) for device, a, b in zip(devices, bounds[:-1], bounds[1:]) if b > a]


def assign_sharded(x: Any, shard_targets_: list, heights: Any, shards: list[TargetShard], tile: int) -> Any:
    """Cell index of each row of ``x`` with the targets sharded across devices.

    Each device scores its shard (``shard_targets_[s]``, shape=[stop - start, d], resident on
    that device) and keeps its best (score, index); the winners are compared on the caller's
    device. Exact ties go to the lowest index, as in :func:`assign_tile`.
    """
    scores, indices = [], []
    for shard, targets in zip(shards, shard_targets_):
        with tf.device(shard.device):
            index, score = best_cells(x, tile_targets(targets, heights[shard.start : shard.stop], tile))
            indices.append(index + shard.start)
            scores.append(score)
    winner = tf.argmax(tf.stack(scores, axis=1), axis=1, output_type=tf.int32)
    return tf.gather(tf.stack(indices, axis=1), winner, batch_dims=1)


@tf.function
def _assign_all(x: Any, targets: Any, heights: Any, tile_rows: Any, tile_targets_: int, float64_ties: bool) -> Any:
    tiles = tile_targets(targets, heights, tile_targets_)
    n = tf.shape(x)[0]
    count = (n + tile_rows - 1) // tile_rows
    result = tf.TensorArray(tf.int32, size=count, infer_shape=False)

    def body(r: Any, result: Any) -> tuple[Any, Any]:
        rows = x[r * tile_rows : (r + 1) * tile_rows]
        return r + 1, result.write(r, assign_tile(rows, tiles, float64_ties=float64_ties))

    _, result = tf.while_loop(lambda r, _: r < count, body, (tf.constant(0), result))
    return tf.reshape(result.concat(), [n])


def _check_inputs(x: Any, targets: Any, heights: Any) -> tuple[Any, Any, Any]:
    x = tf.convert_to_tensor(x, tf.float32)
    targets = tf.convert_to_tensor(targets, tf.float32)
    heights = tf.convert_to_tensor(heights, tf.float32)
    if targets.shape.rank != 2 or targets.shape[0] == 0:
        raise ValueError(f"Expected targets of shape [N, d] with N >= 1. Received: targets.shape={targets.shape}.")
    if x.shape.rank != 2 or x.shape[1] != targets.shape[1]:
        raise ValueError(
            f"Expected x of shape [n, {targets.shape[1]}] (the targets' dimension). Received: x.shape={x.shape}."
        )
    if heights.shape != (targets.shape[0],):
        raise ValueError(
            f"Expected heights of shape [{targets.shape[0]}] (one per target). Received: heights.shape={heights.shape}."
        )
    return x, targets, heights


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Expected a positive integer `{name}`. Received: {name}={value!r}.")
    return int(value)


def assign_cells(
    x: Any,
    targets: Any,
    heights: Any,
    *,
    tile_rows: int = DEFAULT_TILE_ROWS,
    tile_targets: int = DEFAULT_TILE_TARGETS,
    float64_ties: bool = False,
) -> Any:
    """The power cell of each point: argmax_i <x, y_i> + h_i.

    Args:
        x: shape=[n, d], the points.
        targets: shape=[N, d], the targets y_i.
        heights: shape=[N], the heights h_i.
        tile_rows, tile_targets: tile sizes; memory is O(tile_rows * tile_targets).
        float64_ties: re-check near ties in float64 (module docstring).

    Returns:
        shape=[n], int32 tf.Tensor of cell indices in [0, N).
    """
    x, targets, heights = _check_inputs(x, targets, heights)
    if x.shape[0] == 0:
        return tf.zeros([0], tf.int32)
    return _assign_all(
        x,
        targets,
        heights,
        tf.constant(_positive("tile_rows", tile_rows)),
        _positive("tile_targets", tile_targets),
        bool(float64_ties),
    )


def top_k_tile(x: Any, tiles: TargetTiles, k: int) -> tuple[Any, Any]:
    """The ``k`` best cells of each row of one sample tile (running merge over target tiles).

    Returns:
        ``(scores, indices)``, shape=[n, k] each (float32, int32), best first.
    """
    tile = tf.shape(tiles.heights)[1]
    k_tile = min(k, int(tiles.heights.shape[1]))
    m = tf.shape(x)[0]

    def body(t: Any, best: Any, best_index: Any) -> tuple[Any, Any, Any]:
        values, indices = tf.math.top_k(_tile_scores(x, tiles.targets[t], tiles.heights[t]), k_tile)
        merged = tf.concat([best, values], axis=1)
        merged_index = tf.concat([best_index, indices + t * tile], axis=1)
        top, where = tf.math.top_k(merged, k)
        return t + 1, top, tf.gather(merged_index, where, batch_dims=1)

    start = (
        tf.constant(0),
        tf.fill([m, k], tf.constant(-np.inf, tf.float32)),
        tf.fill([m, k], tf.constant(-1, tf.int32)),
    )
    _, best, best_index = tf.while_loop(lambda t, *_: t < tf.shape(tiles.heights)[0], body, start)
    return best, best_index


@tf.function
def _top_k_all(x: Any, targets: Any, heights: Any, k: int, tile_rows: Any, tile_targets_: int) -> tuple[Any, Any]:
    tiles = tile_targets(targets, heights, tile_targets_)
    n = tf.shape(x)[0]
    count = (n + tile_rows - 1) // tile_rows
    scores_out = tf.TensorArray(tf.float32, size=count, infer_shape=False)
    index_out = tf.TensorArray(tf.int32, size=count, infer_shape=False)

    def rows_body(r: Any, scores_out: Any, index_out: Any) -> tuple[Any, Any, Any]:
        best, best_index = top_k_tile(x[r * tile_rows : (r + 1) * tile_rows], tiles, k)
        return r + 1, scores_out.write(r, best), index_out.write(r, best_index)

    _, scores_out, index_out = tf.while_loop(
        lambda r, *_: r < count, rows_body, (tf.constant(0), scores_out, index_out)
    )
    return tf.reshape(scores_out.concat(), [n, k]), tf.reshape(index_out.concat(), [n, k])


def top_k_cells(
    x: Any,
    targets: Any,
    heights: Any,
    k: int,
    *,
    tile_rows: int = DEFAULT_TILE_ROWS,
    tile_targets: int = DEFAULT_TILE_TARGETS,
) -> tuple[Any, Any]:
    """The ``k`` best cells of each point, best first.

    Returns:
        ``(scores, indices)``: shape=[n, k] float32 scores <x, y_i> + h_i and int32 indices.

    Raises:
        ValueError: ``k`` is not in [1, N].
    """
    x, targets, heights = _check_inputs(x, targets, heights)
    k = _positive("k", k)
    if k > targets.shape[0]:
        raise ValueError(f"Expected k <= N = {targets.shape[0]} (the number of targets). Received: k={k}.")
    if x.shape[0] == 0:
        return tf.zeros([0, k], tf.float32), tf.zeros([0, k], tf.int32)
    return _top_k_all(
        x, targets, heights, k, tf.constant(_positive("tile_rows", tile_rows)), _positive("tile_targets", tile_targets)
    )


@tf.function
def _count_cells(
    source: Any,
    targets: Any,
    heights: Any,
    key: Any,
    tiles_count: Any,
    tile: int,
    tile_targets_: int,
    float64_ties: bool,
) -> Any:
    tiles = tile_targets(targets, heights, tile_targets_)
    stream = source.stream(key, tile)

    def body(t: Any, counts: Any) -> tuple[Any, Any]:
        x = source.tile_points(stream, t)
        index = assign_blocked(x, tiles, float64_ties=float64_ties)
        return t + 1, counts + tf.math.unsorted_segment_sum(tf.ones_like(index), index, tiles.count)

    _, counts = tf.while_loop(lambda t, _: t < tiles_count, body, (tf.constant(0), tf.zeros([tiles.count], tf.int32)))
    return counts


def count_cells(
    source: Any,
    targets: Any,
    heights: Any,
    samples: int,
    key: Any,
    *,
    tile_rows: int = DEFAULT_TILE_ROWS,
    tile_targets: int = DEFAULT_TILE_TARGETS,
    float64_ties: bool = False,
) -> Any:
    """Counts of ``samples`` source points (one scramble/stream ``key``) per cell, shape=[N] int32.

    The tile is the largest power of two <= min(tile_rows, samples); ``samples`` is rounded up to
    a multiple of it (so quasi-random tiles are aligned blocks of one net).
    Returns ``(counts, samples_used)``.
    """
    from geokeras.ot.quasi_random import POINTS_PER_SCRAMBLE

    tile = 1 << (min(_positive("tile_rows", tile_rows), _positive("samples", samples)).bit_length() - 1)
    tiles_count = -(-int(samples) // tile)
    if tiles_count * tile > POINTS_PER_SCRAMBLE:
        raise ValueError(f"Expected at most {POINTS_PER_SCRAMBLE} samples per key. Received: samples={samples}.")
    targets = tf.convert_to_tensor(targets, tf.float32)
    counts = _count_cells(
        source,
        targets,
        tf.convert_to_tensor(heights, tf.float32),
        tf.convert_to_tensor(key, tf.int32),
        tf.constant(tiles_count),
        tile,
        _positive("tile_targets", tile_targets),
        bool(float64_ties),
    )
    return counts, tiles_count * tile


def cell_masses(
    source: Any,
    targets: Any,
    heights: Any,
    samples: int = 1 << 18,
    seed: int = 0,
    *,
    tile_rows: int = DEFAULT_TILE_ROWS,
    tile_targets: int = DEFAULT_TILE_TARGETS,
    float64_ties: bool = False,
) -> np.ndarray:
    """Estimated cell masses w_i = mu(W_i(h)) from ``samples`` independent source points.

    The points come from the source's evaluation stream (purpose 1 of ``seed``), never the
    solver's training stream (purpose 0), so the estimate is independent of the solve.

    Args:
        source: a :class:`geokeras.ot.sources.Source` (or anything :func:`make_source` takes
            with the targets' dimension).
        targets: shape=[N, d]; heights: shape=[N].
        samples: number of source points (rounded up to a multiple of the row tile).

    Returns:
        shape=[N], float64, summing to 1.
    """
    from geokeras.ot.quasi_random import POINTS_PER_SCRAMBLE, seed_pair, stream_key
    from geokeras.ot.sources import Source, make_source

    _, targets, heights = _check_inputs(np.zeros([0, np.shape(targets)[1]], np.float32), targets, heights)
    if not isinstance(source, Source):
        source = make_source(source, int(targets.shape[1]))
    samples = _positive("samples", samples)
    base = tf.constant(seed_pair(seed, 1))
    total = np.zeros(int(targets.shape[0]), np.int64)
    used = 0
    for block, start in enumerate(range(0, samples, POINTS_PER_SCRAMBLE)):
        counts, block_used = count_cells(
            source,
            targets,
            heights,
            min(POINTS_PER_SCRAMBLE, samples - start),
            stream_key(base, block),
            tile_rows=tile_rows,
            tile_targets=tile_targets,
            float64_ties=float64_ties,
        )
        total += counts.numpy()
        used += block_used
    return total / float(used)
