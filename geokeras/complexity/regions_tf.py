"""Exact linear regions of a ReLU network on a 2-D box, as batched TensorFlow ops (GPU when present).

The same subdivision as :func:`geokeras.complexity.mesh.count_regions_in_box` (its module
docstring has the algorithm and the error analysis), written for an accelerator: the polygons
are padded tensors, corners [P, K, 2] with counts [P], and each polygon carries the float
coefficients (a_1, a_2, a_0) of its edges' lines [P, K, 3] with a bound on their error, and a
bound on the error of each corner [P, K]. The box is the unit square u ∈ [0, 1]² of its
parametrisation x = low + u (high - low). Layer by layer:

1. the pre-activations z(u) = u L + c of every polygon, [P, 2, w] and [P, w], one batched
   product per tile of polygons (memory O(P w), tiles of ``_TILE_FLOATS`` floats), with the
   rigorous coefficient error bounds of the numpy counter (dot-product bound γ_k);
2. one neuron at a time over *all* polygons (a ``tf.function`` step, float64): the neuron's
   value at every corner, its sign where |ẑ| exceeds the proven corner tolerance, and the split
   of every polygon with corners strictly on both sides into its active and inactive child
   (each corner and each crossing of an edge becomes a slot; a stable sort of the kept slots
   gives each child's corners in order). A crossing's error is bounded a posteriori from the
   two float lines through it, so errors do not grow over successive splits.
3. h = σ(z) with each polygon's activation pattern is the next layer's input.

Exactness: a sign is read from floats only when the proven bound settles it. If some corner of
some polygon cannot be settled (a line through a corner, lines along edges, coincident lines,
or bounds too loose), the TensorFlow count stops and the whole box is counted by the exact
numpy counter instead (``exact_fallback`` is True): no undecided sign is ever rounded away.

On a box every region is one polygon (cell ∩ box is convex, and the polygons carry distinct
patterns), so regions = polygons and cells = distinct patterns; pieces (unions of regions with
one affine map) are not computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Optional, Sequence

import numpy as np

from geokeras.complexity.mesh import (
    _ROUNDING,
    _SAFETY,
    RegionBudgetExceeded,
    _checked_budget,
    _gamma,
    _intersection_errors,
    _layer_parameters,
    checked_box,
    count_regions_in_box,
)

__all__ = ["BoxRegionsTF", "count_regions_in_box_tf"]

_TILE_FLOATS = 1 << 22  # float64 entries of one tile of the [P, 2, w] pre-activation product


@dataclass(frozen=True)
class BoxRegionsTF:
    """The regions of a 2-D-input network on a box, counted by :func:`count_regions_in_box_tf`.

    Attributes:
        regions: number of linear regions on the box (= polygons of the subdivision).
        cells: number of distinct activation patterns met (equal to ``regions`` on a box).
        area: total area of the regions (the box's area up to rounding: a consistency check).
        patterns: shape=[cells, hidden] bool, the activation patterns met (in no set order).
        exact_fallback: True when some sign could not be settled by the float filter and the
            count was made by the exact numpy counter (:func:`count_regions_in_box`) instead.
        exact_decisions: the numpy counter's ``exact_decisions`` when it was used, else 0.
        device: the TensorFlow device the subdivision ran on ("" after a fallback).
    """

    regions: int
    cells: int
    area: float
    patterns: np.ndarray
    exact_fallback: bool
    exact_decisions: int
    device: str

    def as_metrics(self) -> dict[str, Any]:
        return {
            "regions": int(self.regions),
            "cells": int(self.cells),
            "area": float(self.area),
            "exact_fallback": bool(self.exact_fallback),
            "exact_decisions": int(self.exact_decisions),
        }


def count_regions_in_box_tf(
    model_or_lowered: Any,
    low: Sequence[float],
    high: Sequence[float],
    *,
    max_polygons: Optional[int] = None,
    device: Optional[str] = None,
) -> BoxRegionsTF:
    """Exact linear regions and cells of a 2-D-input ReLU network on a box, with TensorFlow (module docstring).

    Args:
        model_or_lowered: a Keras model or a LoweredNetwork with input dimension 2.
        low, high: the box's corners, two numbers each, low < high.
        max_polygons: the most polygons the subdivision may hold (``None``: no limit).
        device: a TensorFlow device name ("/GPU:0", "/CPU:0"); ``None``: the first GPU when
            TensorFlow sees one, else the CPU.

    Returns:
        :class:`BoxRegionsTF` (regions and cells equal those of :func:`count_regions_in_box`).

    Raises:
        ValueError: a network without 2-D input, a bad box, an unsupported activation.
        RegionBudgetExceeded: the subdivision needed more than ``max_polygons`` polygons.
    """
    import tensorflow as tf

    network, low_array, high_array = checked_box(model_or_lowered, low, high)
    budget = _checked_budget(max_polygons)
    layers = _layer_parameters(network)
    if device is None:
        device = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    with tf.device(device):
        outcome = _subdivide_box(layers, low_array, high_array, budget)
    if outcome is None:  # some sign was not settled in floats: the exact counter decides
        exact = count_regions_in_box(network, low_array, high_array, max_polygons=budget)
        return BoxRegionsTF(
            regions=exact.regions,
            cells=exact.cells,
            area=float(exact.areas.sum()),
            patterns=exact.patterns,
            exact_fallback=True,
            exact_decisions=int(exact.exact_decisions),
            device="",
        )
    corners, counts, patterns = outcome
    area = float(np.prod(high_array - low_array)) * float(_shoelace_total(corners, counts))
    if patterns.shape[1] == 0:
        unique = np.zeros((1, 0), dtype=bool)
    else:
        packed = np.ascontiguousarray(np.packbits(patterns, axis=1))
        rows = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first = np.unique(rows, return_index=True)
        unique = patterns[np.sort(first)]
    return BoxRegionsTF(
        regions=int(counts.shape[0]),
        cells=int(unique.shape[0]),
        area=area,
        patterns=unique,
        exact_fallback=False,
        exact_decisions=0,
        device=device,
    )


def _shoelace_total(corners: np.ndarray, counts: np.ndarray) -> float:
    width = corners.shape[1]
    index = np.arange(width)[None, :]
    following = np.where(index < counts[:, None] - 1, index + 1, 0)
    nxt = np.take_along_axis(corners, following[:, :, None], axis=1)
    cross = corners[:, :, 0] * nxt[:, :, 1] - corners[:, :, 1] * nxt[:, :, 0]
    return 0.5 * float(np.where(index < counts[:, None], cross, 0.0).sum())


def _subdivide_box(layers, low: np.ndarray, high: np.ndarray, budget: Optional[int]):
    """Corners [P, K, 2], counts [P] and patterns [P, hidden] of the final polygons, or None if a sign was undecided."""
    import tensorflow as tf

    step = _split_step()
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    following = np.roll(square, -1, axis=0)
    a1, a2 = square[:, 1] - following[:, 1], following[:, 0] - square[:, 0]
    square_lines = np.stack([a1, a2, -(a1 * square[:, 0] + a2 * square[:, 1])], axis=1)
    f64 = tf.float64
    corners = tf.constant(square[None], f64)
    counts = tf.constant([4], tf.int32)
    lines = tf.constant(square_lines[None], f64)
    line_error = tf.zeros((1, 4), f64)
    corner_error = tf.zeros((1, 4), f64)
    pattern = tf.zeros((1, 0), tf.bool)
    # The first layer's input h(u) = u F + o: F = diag(high - low) rounded once, o = low exact.
    frame = high - low
    g_linear = tf.constant(np.diag(frame)[None], f64)  # [P, 2, n]
    g_offset = tf.constant(low[None], f64)  # [P, n]
    row_error = tf.constant([[_ROUNDING * abs(frame).max(), _ROUNDING * abs(frame).max(), 0.0]], f64)
    row_magnitude = tf.constant([[abs(frame).max(), abs(frame).max(), abs(low).max()]], f64)
    for weight, bias, activation, slope in layers:
        z_linear, z_offset, coefficient_error, row_error, row_magnitude = _pre_activations(
            g_linear, g_offset, row_error, row_magnitude, weight, bias
        )
        if activation == "linear":
            g_linear, g_offset = z_linear, z_offset
            continue
        width = weight.shape[1]
        source = tf.range(tf.shape(counts)[0])
        active = tf.zeros((tf.shape(counts)[0], width), tf.bool)
        undecided = tf.constant(False)
        for neuron in range(width):
            state = step(
                corners,
                counts,
                lines,
                line_error,
                corner_error,
                source,
                active,
                pattern,
                z_linear,
                z_offset,
                coefficient_error,
                tf.constant(neuron, tf.int32),
            )
            corners, counts, lines, line_error, corner_error, source, active, pattern, uncertain = state
            undecided = tf.logical_or(undecided, uncertain)
            if budget is not None and int(counts.shape[0]) > budget:
                raise RegionBudgetExceeded(
                    f"Expected at most max_polygons={budget} polygons. Received: {int(counts.shape[0])} polygons."
                )
        if bool(undecided):
            return None
        scale = tf.where(active, tf.constant(1.0, f64), tf.constant(slope, f64))
        growth = max(1.0, abs(slope))
        rounding = _ROUNDING * growth if slope not in (0.0, 1.0) else 0.0
        g_linear = tf.gather(z_linear, source) * scale[:, None, :]
        g_offset = tf.gather(z_offset, source) * scale
        row_error = tf.gather(row_error, source) * growth + rounding * tf.gather(row_magnitude, source)
        row_magnitude = tf.gather(row_magnitude, source) * growth
        pattern = tf.concat([pattern, active], axis=1)
    return corners.numpy(), counts.numpy(), pattern.numpy()


def _pre_activations(g_linear, g_offset, row_error, row_magnitude, weight: np.ndarray, bias: np.ndarray):
    """z(u) = h(u) W + b on every polygon (tiles of polygons) with the error bounds of the numpy counter.

    With e_r, m_r the error and magnitude bounds of row r of h's coefficients and
    S_j = Σ_i |W_ij|, the computed coefficient of row r of z_j is within (e_r + γ m_r) S_j
    (+ γ |b_j| for the offset) of the exact one, γ = γ_{w_in + 1}.
    """
    import tensorflow as tf

    width_in, width = weight.shape
    w = tf.constant(weight, tf.float64)
    b = tf.constant(bias, tf.float64)
    size = int(g_offset.shape[0])
    tile = max(1, _TILE_FLOATS // (3 * max(width_in, width)))
    linear_parts, offset_parts = [], []
    for start in range(0, size, tile):
        stop = min(size, start + tile)
        part = g_linear[start:stop]
        linear_parts.append(tf.reshape(tf.reshape(part, (-1, width_in)) @ w, (stop - start, 2, width)))
        offset_parts.append(g_offset[start:stop] @ w + b)
    z_linear = tf.concat(linear_parts, axis=0)
    z_offset = tf.concat(offset_parts, axis=0)
    gamma = _gamma(width_in + 1)
    column_sums = np.abs(weight).sum(axis=0)
    bias_size = np.abs(bias)
    spread = (row_error + gamma * row_magnitude) * _SAFETY
    coefficient_error = tf.reduce_sum(spread, axis=1, keepdims=True) * tf.constant(column_sums[None], tf.float64)
    coefficient_error += gamma * _SAFETY * tf.constant(bias_size[None], tf.float64)
    largest_sum = float(column_sums.max())
    largest_bias = float(bias_size.max()) if bias_size.size else 0.0
    offset_error = tf.constant([[0.0, 0.0, gamma * _SAFETY * largest_bias]], tf.float64)
    offset_magnitude = tf.constant([[0.0, 0.0, largest_bias * (1.0 + 2.0 * gamma) * _SAFETY]], tf.float64)
    new_row_error = spread * largest_sum + offset_error
    new_row_magnitude = row_magnitude * largest_sum * (1.0 + 2.0 * gamma) * _SAFETY + offset_magnitude
    return z_linear, z_offset, coefficient_error, new_row_error, new_row_magnitude


_STEP = None


def _split_step():
    """The traced step that splits every polygon by one neuron (built once per process)."""
    global _STEP
    if _STEP is None:
        import tensorflow as tf

        f64 = tf.float64
        _STEP = tf.function(
            _split_by_neuron,
            input_signature=[
                tf.TensorSpec([None, None, 2], f64),  # corners
                tf.TensorSpec([None], tf.int32),  # counts
                tf.TensorSpec([None, None, 3], f64),  # lines
                tf.TensorSpec([None, None], f64),  # line_error
                tf.TensorSpec([None, None], f64),  # corner_error
                tf.TensorSpec([None], tf.int32),  # source
                tf.TensorSpec([None, None], tf.bool),  # active
                tf.TensorSpec([None, None], tf.bool),  # pattern
                tf.TensorSpec([None, 2, None], f64),  # z_linear
                tf.TensorSpec([None, None], f64),  # z_offset
                tf.TensorSpec([None, None], f64),  # coefficient_error
                tf.TensorSpec([], tf.int32),  # neuron
            ],
            reduce_retracing=True,
        )
    return _STEP


def _split_by_neuron(
    corners, counts, lines, line_error, corner_error, source, active, pattern, z_linear, z_offset, z_error, neuron
):
    """Split every polygon the neuron's line crosses (module docstring); returns the new state and ``uncertain``."""
    import tensorflow as tf

    gamma3 = _gamma(3)
    width = tf.shape(corners)[1]
    gradient = tf.gather(z_linear[:, :, neuron], source)  # [P, 2]
    offset = tf.gather(z_offset[:, neuron], source)  # [P]
    error = tf.gather(z_error[:, neuron], source)  # [P]
    values = corners[:, :, 0] * gradient[:, 0:1] + corners[:, :, 1] * gradient[:, 1:2] + offset[:, None]
    gradient_size = tf.reduce_sum(tf.abs(gradient), axis=1)[:, None]
    tolerance = (
        error[:, None]
        + gradient_size * (corner_error + gamma3 * (1.0 + corner_error))
        + gamma3 * tf.abs(offset)[:, None]
    ) * _SAFETY
    index = tf.range(width)[None, :]
    valid = index < counts[:, None]
    signs = tf.where(values > tolerance, 1, tf.where(values < -tolerance, -1, 0)) * tf.cast(valid, tf.int32)
    uncertain = tf.reduce_any(valid & (tf.abs(values) <= tolerance))
    has_positive = tf.reduce_any(signs > 0, axis=1)
    split = has_positive & tf.reduce_any(signs < 0, axis=1)
    column = tf.range(tf.shape(active)[1]) == neuron  # [w] bool, True at the neuron
    active_after = active | (has_positive[:, None] & column[None, :])

    parents = tf.where(split)[:, 0]
    keep = tf.where(~split)[:, 0]
    p_corners, p_counts = tf.gather(corners, parents), tf.gather(counts, parents)
    p_lines, p_line_error = tf.gather(lines, parents), tf.gather(line_error, parents)
    p_error, p_values, p_signs = tf.gather(corner_error, parents), tf.gather(values, parents), tf.gather(signs, parents)
    p_valid = tf.gather(valid, parents)
    new_line = tf.concat([tf.gather(gradient, parents), tf.gather(offset, parents)[:, None]], axis=1)  # [S, 3]
    new_line_error = tf.gather(error, parents)  # [S]

    following = tf.where(index < p_counts[:, None] - 1, index + 1, 0)
    next_values = tf.gather(p_values, following, batch_dims=1)
    next_signs = tf.gather(p_signs, following, batch_dims=1)
    next_corners = tf.gather(p_corners, following, batch_dims=1)
    crossing = p_valid & (p_signs * next_signs < 0)
    fraction = tf.where(
        crossing, p_values / tf.where(crossing, p_values - next_values, tf.ones_like(p_values)), tf.zeros_like(p_values)
    )
    crossings = p_corners + fraction[:, :, None] * (next_corners - p_corners)
    crossing_error = tf.where(
        crossing,
        _intersection_errors(
            crossings, p_lines, p_line_error, new_line[:, None, :], new_line_error[:, None], _tensorflow_arrays()
        ),
        tf.zeros_like(p_values),
    )

    # Slot 2i is corner i, slot 2i+1 the crossing on edge i (cyclic order); sign 2 = empty slot.
    count = tf.shape(parents)[0]
    slot_corners = tf.reshape(tf.stack([p_corners, crossings], axis=2), (count, 2 * width, 2))
    empty = tf.fill(tf.shape(p_signs), 2)
    slot_signs = tf.reshape(
        tf.stack([tf.where(p_valid, p_signs, empty), tf.where(crossing, tf.zeros_like(p_signs), empty)], axis=2),
        (count, 2 * width),
    )
    slot_lines = tf.reshape(tf.stack([p_lines, p_lines], axis=2), (count, 2 * width, 3))
    slot_line_error = tf.reshape(tf.stack([p_line_error, p_line_error], axis=2), (count, 2 * width))
    slot_error = tf.reshape(tf.stack([p_error, crossing_error], axis=2), (count, 2 * width))
    slot_index = tf.range(2 * width)[None, :]
    children = []
    child_counts = []
    for side in (1, -1):
        kept = (slot_signs != 2) & (slot_signs * side >= 0)
        child_counts.append(tf.reduce_sum(tf.cast(kept, tf.int32), axis=1))
        order = tf.argsort(tf.where(kept, slot_index, slot_index + 2 * width), axis=1, stable=True)
        children.append(order)
    child_width = tf.maximum(width, tf.reduce_max(tf.concat([child_counts[0], child_counts[1], [0]], axis=0)))
    child_index = tf.range(child_width)[None, :]

    def build(order, child_count):
        order = order[:, :child_width]
        child_valid = child_index < child_count[:, None]
        gathered = tf.gather(slot_corners, order, batch_dims=1)
        c_corners = tf.where(child_valid[:, :, None], gathered, tf.zeros_like(gathered))
        c_signs = tf.gather(slot_signs, order, batch_dims=1)
        on_line = child_valid & (c_signs == 0)
        next_position = tf.where(child_index < child_count[:, None] - 1, child_index + 1, 0)
        chord = on_line & tf.gather(on_line, next_position, batch_dims=1)
        c_lines = tf.where(chord[:, :, None], new_line[:, None, :], tf.gather(slot_lines, order, batch_dims=1))
        c_line_error = tf.where(chord, new_line_error[:, None], tf.gather(slot_line_error, order, batch_dims=1))
        gathered_error = tf.gather(slot_error, order, batch_dims=1)
        c_error = tf.where(child_valid, gathered_error, tf.zeros_like(gathered_error))
        return c_corners, child_count, c_lines, c_line_error, c_error

    plus = build(children[0], child_counts[0])
    minus = build(children[1], child_counts[1])
    pad = child_width - width

    def kept_rows(array, fill):
        rows = tf.gather(array, keep)
        paddings = tf.concat([[[0, 0], [0, pad]], tf.zeros((tf.rank(array) - 2, 2), tf.int32)], axis=0)
        return tf.pad(rows, paddings, constant_values=fill)

    corners = tf.concat([kept_rows(corners, 0.0), plus[0], minus[0]], axis=0)
    counts = tf.concat([tf.gather(counts, keep), plus[1], minus[1]], axis=0)
    lines = tf.concat([kept_rows(lines, 0.0), plus[2], minus[2]], axis=0)
    line_error = tf.concat([kept_rows(line_error, 0.0), plus[3], minus[3]], axis=0)
    corner_error = tf.concat([kept_rows(corner_error, 0.0), plus[4], minus[4]], axis=0)
    source = tf.concat([tf.gather(source, keep), tf.gather(source, parents), tf.gather(source, parents)], axis=0)
    active = tf.concat(
        [tf.gather(active_after, keep), tf.gather(active_after, parents), tf.gather(active, parents)], axis=0
    )
    pattern = tf.concat([tf.gather(pattern, keep), tf.gather(pattern, parents), tf.gather(pattern, parents)], axis=0)
    return corners, counts, lines, line_error, corner_error, source, active, pattern, uncertain


def _tensorflow_arrays() -> Any:
    """TensorFlow's array functions, for the backend-neutral bounds of :mod:`geokeras.complexity.mesh`."""
    import tensorflow as tf

    return SimpleNamespace(abs=tf.abs, maximum=tf.maximum, minimum=tf.minimum, where=tf.where, ones_like=tf.ones_like)
