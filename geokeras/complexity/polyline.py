"""Exact count of a ReLU network's cells and pieces along a polyline in its input space.

Along a segment x(t) = p + t d, t in [0, 1], every pre-activation of the first layer is
affine in t; it changes sign at most once, at t* = -z(0) / z'. Splitting the segment at
every such t* gives pieces on which the first layer's activation pattern is constant, so
its output is again affine in t on each piece, and the second layer's pre-activations are
affine on each piece, and so on: splitting layer by layer at every sign change yields the
exact decomposition of the polyline by the cells of the network (Lei et al. 2018,
section 2: the cell decomposition D(phi)). This is the 1-D case of the region-walking
counts of Serra et al. (2018) and Hanin & Rolnick (2019), done without sampling.

Per piece the algorithm keeps the layer's output at the piece's midpoint h(m) and its
derivative dh/dt (constant on the piece). One layer costs a few array operations of size
[pieces, width]: z(m) = h(m) W + b, z' = (dh/dt) W, the crossings t* = m - z(m) / z', a
partial sort of the crossings of each piece (only as many columns as the most-crossed piece
has crossings), a gather of the parents' rows, and the children's
z(m') = z(m) + (m' - m) z' (exact affine extrapolation on the parent). Memory is bounded by
processing the pieces in tiles of at most ``tile_elements`` entries per [pieces, width]
array.

Conventions:

* A crossing counts only if it lies strictly inside a piece, at least ``tol`` (in units
  of the segment parameter t) away from both ends; a pre-activation that touches 0 without
  changing sign (the valleys of the tent map) does not split, and neither does one whose
  zero falls on an existing breakpoint (within ``tol``). Coincident hyperplanes give
  identical crossings, which split once.
* The activation pattern of a piece is read at its midpoint, where no pre-activation of a
  neuron that crosses is 0; a neuron whose pre-activation is identically 0 on a piece is
  inactive (paper-notes.md section 2, **Decision**).
* ``intervals``: maximal runs of consecutive pieces (across the polyline's vertices) with
  the same activation pattern, i.e. the connected components of polyline ∩ cell; for a
  closed polyline the run through vertex 0 is one interval (a single cell: 1 interval).
* ``cells``: distinct activation patterns met (a cell met twice counts once).
* ``pieces``: maximal runs of consecutive intervals on which the whole network has the same
  affine map x -> x A + c: neighbouring intervals whose maps agree are merged
  (||[A; c]_1 - [A; c]_2||_max <= rtol * max(||[A; c]_1||_max, ||[A; c]_2||_max), default
  rtol = 1e-9: different cells whose maps coincide mathematically agree to rounding, and
  genuinely different maps differ by far more). pieces <= intervals.

Two backends, one algorithm. ``backend="numpy"`` (the default) runs on the CPU: the
number of pieces grows, data-dependently, at every layer, so each layer has new shapes, and
numpy's per-operation cost is the lowest there; the matmuls, the only O(pieces * width^2)
work, run in multithreaded BLAS. ``backend="tensorflow"`` runs the same operations in
TensorFlow float64, eagerly (no retracing for the changing shapes), keeping the state on
the device across layers and returning to numpy once at the end: use it on a GPU. Both
give the same counts (breakpoints agree to ~1e-12: the matmuls sum in different orders);
on this project's 2-core CPU they take the same CPU time (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geokeras.complexity.lowering import LoweredNetwork, lower

DEFAULT_TOL = 1e-10
"""Crossings closer than this (in the segment parameter t in [0, 1]) to a piece's end do not split."""
DEFAULT_RTOL = 1e-9
"""Relative tolerance under which two cells' affine maps count as the same (``pieces``)."""
DEFAULT_TILE_ELEMENTS = 1 << 22
"""Entries of a [pieces, width] float64 array processed at once (32 MiB)."""


@dataclass(frozen=True)
class PolylineRegions:
    """The cells of a network met along a polyline (see the module docstring).

    Attributes:
        intervals: number of maximal runs of the polyline inside one cell.
        cells: number of distinct activation patterns met.
        pieces: number of maximal runs on which the network is one affine map.
        closed: whether the polyline is closed.
        segments: number of segments of the polyline (including the closing one).
        breakpoints: shape=[b], the polyline parameter s = j + t (vertex j at s = j) of every
            point where the activation pattern changes, ascending; b = intervals - 1 for an
            open polyline and b = intervals for a closed one with more than one interval.
        piece_breakpoints: the same for the changes of affine map.
        interval_cells: shape=[intervals], the cell id (row of ``patterns``) of each interval,
            in order along the polyline (starting at vertex 0, or at the first breakpoint's
            interval for a closed polyline whose first run wraps around).
        patterns: shape=[cells, hidden_units], bool: the distinct activation patterns.
        part_segments, part_starts, part_ends, part_cells: the fine decomposition before
            merging across vertices: segment index, start and end t in [0, 1] and cell id of
            each part (for figures and for tests).
    """

    intervals: int
    cells: int
    pieces: int
    closed: bool
    segments: int
    breakpoints: np.ndarray
    piece_breakpoints: np.ndarray
    interval_cells: np.ndarray
    patterns: np.ndarray
    part_segments: np.ndarray
    part_starts: np.ndarray
    part_ends: np.ndarray
    part_cells: np.ndarray

    @property
    def regions(self) -> int:
        """Alias of :attr:`intervals` (the 1-D regions), for symmetry with mesh counts."""
        return self.intervals

    def as_metrics(self) -> dict[str, Any]:
        return {
            "intervals": self.intervals,
            "cells": self.cells,
            "pieces": self.pieces,
            "closed": self.closed,
            "segments": self.segments,
        }


def polyline_segments(vertices: Any, closed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Start points and direction vectors of the polyline's segments, float64.

    Returns:
        ``(starts, directions)``, each shape=[segments, dim]; segment j is
        starts[j] + t directions[j], t in [0, 1]; a closed polyline adds the segment from the
        last vertex back to the first.
    """
    points = np.asarray(vertices, dtype=np.float64)
    minimum = 3 if closed else 2
    if points.ndim != 2 or points.shape[0] < minimum or points.shape[1] < 1:
        raise ValueError(
            f"Expected vertices of shape [n, dim] with n >= {minimum} for a "
            f"{'closed' if closed else 'open'} polyline. Received: shape={list(points.shape)}."
        )
    if not np.all(np.isfinite(points)):
        raise ValueError("Expected finite vertices. Received NaN or infinite entries.")
    ends = np.concatenate([points[1:], points[:1]]) if closed else points[1:]
    starts = points if closed else points[:-1]
    return starts, ends - starts


def _unique_packed_rows(packed: np.ndarray, widths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct patterns from per-layer bit-packed rows, and each row's distinct index.

    Args:
        packed: shape=[n, bytes], uint8: each non-linear layer's pattern packed with
            ``np.packbits`` (its own whole bytes), layers side by side.
        widths: the number of units of each of those layers.

    Returns:
        ``(patterns, inverse)``: patterns shape=[distinct, sum(widths)], bool.
    """
    if packed.shape[1] == 0:
        return np.zeros((1, 0), dtype=bool), np.zeros(packed.shape[0], dtype=np.int64)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    columns, offset = [], 0
    for width in widths:
        size = (width + 7) // 8
        columns.append(np.unpackbits(packed[first, offset : offset + size], axis=1, count=width).astype(bool))
        offset += size
    return np.concatenate(columns, axis=1), inverse.reshape(-1).astype(np.int64)


def _split_layer(
    layer: Any,
    state: dict[str, np.ndarray],
    tol: float,
    tile_elements: int,
) -> dict[str, np.ndarray]:
    """Apply one layer to every piece, splitting pieces where a pre-activation changes sign."""
    count = state["starts"].shape[0]
    width = layer.n_out
    tile = max(1, tile_elements // max(width, state["value"].shape[1], 1))
    outputs: list[dict[str, np.ndarray]] = []
    for first in range(0, count, tile):
        part = {key: array[first : first + tile] for key, array in state.items()}
        outputs.append(_split_tile(layer, part, tol))
    return {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}


def _split_tile(layer: Any, part: dict[str, np.ndarray], tol: float) -> dict[str, np.ndarray]:
    starts, ends = part["starts"], part["ends"]
    middles = 0.5 * (starts + ends)
    z = part["value"] @ layer.weight + layer.bias  # z(m), shape=[p, width]
    dz = part["slope"] @ layer.weight  # dz/dt, constant on the piece
    if layer.is_piecewise:
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = middles[:, None] - z / dz
        inside = (dz != 0) & (crossings > starts[:, None] + tol) & (crossings < ends[:, None] - tol)
        crossings = np.where(inside, crossings, np.inf)
        # Most pieces are crossed by few units: keep only the k = max count smallest
        # crossings of each piece (np.partition is linear), then sort those k columns.
        most = int(inside.sum(axis=1).max(initial=0))
        if 0 < most < crossings.shape[1]:
            crossings = np.partition(crossings, most - 1, axis=1)[:, :most]
        elif most == 0:
            crossings = crossings[:, :0]
        bounds = np.sort(np.concatenate([crossings, ends[:, None]], axis=1), axis=1)
        lefts = np.concatenate([starts[:, None], bounds[:, :-1]], axis=1)
        keep = np.isfinite(bounds) & (bounds > lefts)  # drops duplicate crossings
        parents = np.nonzero(keep)[0]
        if parents.size > starts.size:  # some piece was split
            new_starts, new_ends = lefts[keep], bounds[keep]
            shift = 0.5 * (new_starts + new_ends) - middles[parents]
            z, dz = z[parents], dz[parents]
            moved = np.nonzero(shift)[0]  # children whose midpoint is not the parent's
            z[moved] += shift[moved, None] * dz[moved]
            part = {key: array[parents] for key, array in part.items()}
            part["starts"], part["ends"] = new_starts, new_ends
        part["patterns"] = np.concatenate([part["patterns"], np.packbits(z > 0, axis=1)], axis=1)
    part["value"] = layer.activate(z)
    part["slope"] = layer.slope(z) * dz
    return part


def _split_layers_tensorflow(
    network: LoweredNetwork, state: dict[str, np.ndarray], tol: float, tile_elements: int
) -> dict[str, np.ndarray]:
    """The layer-by-layer splitting of :func:`_split_tile`, in TensorFlow float64 (eager).

    The same arithmetic as the numpy path, op for op: the state stays on the device for all
    layers and comes back to numpy once, at the end. ``tf.math.top_k`` takes the k smallest
    crossings of each piece (k = the most crossings of any piece in the tile), bit packing
    is a weighted sum of 8-bit groups. The host synchronisations, two per tile and layer, read
    shapes only: k and the number of children.
    """
    import tensorflow as tf

    bit_weights = tf.constant([128, 64, 32, 16, 8, 4, 2, 1], dtype=tf.int32)

    def packbits(bits: Any) -> Any:
        width = int(bits.shape[1])
        padded = tf.pad(tf.cast(bits, tf.int32), [[0, 0], [0, (-width) % 8]])
        grouped = tf.reshape(padded, [-1, (width + 7) // 8, 8])
        return tf.cast(tf.reduce_sum(grouped * bit_weights, axis=2), tf.uint8)

    def split_tile(layer: Any, weight: Any, bias: Any, part: dict[str, Any]) -> dict[str, Any]:
        starts, ends = part["starts"], part["ends"]
        middles = 0.5 * (starts + ends)
        z = tf.matmul(part["value"], weight) + bias
        dz = tf.matmul(part["slope"], weight)
        if layer.is_piecewise:
            moving = dz != 0
            crossings = middles[:, None] - z / tf.where(moving, dz, tf.ones_like(dz))
            inside = moving & (crossings > starts[:, None] + tol) & (crossings < ends[:, None] - tol)
            crossings = tf.where(inside, crossings, tf.constant(np.inf, tf.float64))
            counts = tf.reduce_sum(tf.cast(inside, tf.int32), axis=1)
            most = int(tf.reduce_max(tf.concat([[0], counts], axis=0)))  # 0 for an empty tile
            smallest = -tf.math.top_k(-crossings, k=most).values if most else crossings[:, :0]
            bounds = tf.sort(tf.concat([smallest, ends[:, None]], axis=1), axis=1)
            lefts = tf.concat([starts[:, None], bounds[:, :-1]], axis=1)
            keep = tf.math.is_finite(bounds) & (bounds > lefts)
            parents = tf.where(keep)[:, 0]
            if int(tf.shape(parents)[0]) > int(tf.shape(starts)[0]):
                new_starts, new_ends = tf.boolean_mask(lefts, keep), tf.boolean_mask(bounds, keep)
                shift = 0.5 * (new_starts + new_ends) - tf.gather(middles, parents)
                dz = tf.gather(dz, parents)
                z = tf.gather(z, parents) + shift[:, None] * dz
                part = {key: tf.gather(array, parents) for key, array in part.items()}
                part["starts"], part["ends"] = new_starts, new_ends
            part["patterns"] = tf.concat([part["patterns"], packbits(z > 0)], axis=1)
        if layer.activation == "linear":
            part["value"], part["slope"] = z, dz
        else:
            active = z > 0
            slope = tf.constant(layer.negative_slope, tf.float64)
            part["value"] = tf.where(active, z, slope * z)
            part["slope"] = tf.where(active, dz, slope * dz)
        return part

    tensors = {key: tf.constant(array) for key, array in state.items()}
    for layer in network.layers:
        weight, bias = tf.constant(layer.weight), tf.constant(layer.bias)
        count = int(tensors["starts"].shape[0])
        tile = max(1, tile_elements // max(layer.n_out, int(tensors["value"].shape[1]), 1))
        outputs = [
            split_tile(layer, weight, bias, {key: array[first : first + tile] for key, array in tensors.items()})
            for first in range(0, count, tile)
        ]
        tensors = {key: tf.concat([out[key] for out in outputs], axis=0) for key in outputs[0]}
    return {key: array.numpy() for key, array in tensors.items()}


def _run_starts(same_as_next: np.ndarray, closed: bool) -> np.ndarray:
    """Indices of the first item of every maximal run of equal items, ascending.

    ``same_as_next[i]`` says whether item i and item i + 1 belong to the same run: length
    n - 1 for an open sequence, n for a closed one (the last entry compares the last item
    with the first). A closed sequence without any change is one run starting at 0.
    """
    changes = np.nonzero(~same_as_next)[0]
    if not closed:
        return np.concatenate([[0], changes + 1]).astype(np.int64)
    if changes.size == 0:
        return np.zeros(1, dtype=np.int64)
    return np.sort((changes + 1) % same_as_next.size).astype(np.int64)


def count_regions_on_polyline(
    model: Any,
    vertices: Any,
    closed: bool = False,
    *,
    tol: float = DEFAULT_TOL,
    rtol: float = DEFAULT_RTOL,
    tile_elements: int = DEFAULT_TILE_ELEMENTS,
    backend: str = "numpy",
) -> PolylineRegions:
    """Exact intervals, cells and pieces of ``model`` along a polyline (module docstring).

    Args:
        model: a Keras model (lowered with :func:`~geokeras.complexity.lowering.lower`) or a
            :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        vertices: shape=[n, input_dim], in the model's input space.
        closed: whether the last vertex joins the first.
        tol: crossings within ``tol`` (segment parameter) of a piece's end do not split.
        rtol: relative tolerance under which two affine maps are the same.
        tile_elements: entries of a [pieces, width] array processed at once (memory bound).
        backend: ``"numpy"`` (default; the CPU) or ``"tensorflow"`` (the same operations in
            TensorFlow float64, on a GPU when one is visible); both give the same result.

    Returns:
        a :class:`PolylineRegions`.
    """
    network: LoweredNetwork = lower(model)
    starts_x, directions = polyline_segments(vertices, closed)
    if starts_x.shape[1] != network.input_dim:
        raise ValueError(
            f"Expected vertices in the network's input space, shape [n, {network.input_dim}]. "
            f"Received: shape={list(np.shape(vertices))}."
        )
    if not (0 <= tol < 0.5) or not (0 <= rtol < 1):
        raise ValueError(f"Expected 0 <= tol < 0.5 and 0 <= rtol < 1. Received: tol={tol!r}, rtol={rtol!r}.")
    segment_count = starts_x.shape[0]
    moving = np.nonzero(np.any(directions != 0, axis=1))[0]  # zero-length segments hold no interior
    if moving.size == 0:
        raise ValueError("Expected a polyline with at least one segment of positive length. Received: all vertices equal.")
    state = {
        "segment": moving,
        "starts": np.zeros(moving.size),
        "ends": np.ones(moving.size),
        "value": starts_x[moving] + 0.5 * directions[moving],
        "slope": directions[moving],
        "patterns": np.zeros((moving.size, 0), dtype=np.uint8),  # bit-packed, layer by layer
    }
    if backend == "tensorflow":
        state = _split_layers_tensorflow(network, state, float(tol), int(tile_elements))
    elif backend == "numpy":
        for layer in network.layers:
            state = _split_layer(layer, state, float(tol), int(tile_elements))
    else:
        raise ValueError(f"Expected backend 'numpy' or 'tensorflow'. Received: backend={backend!r}.")

    pattern_widths = [layer.n_out for layer in network.layers if layer.is_piecewise]
    patterns, part_cells = _unique_packed_rows(state["patterns"], pattern_widths)
    positions = state["segment"] + state["starts"]  # polyline parameter s of each part's start
    following = np.roll(part_cells, -1) if closed else part_cells[1:]
    interval_starts = _run_starts(part_cells[: following.size] == following, closed)
    interval_cells = part_cells[interval_starts]
    same_map = _same_affine_map_as_next(network, patterns, interval_cells, closed, rtol, tile_elements)
    piece_starts = interval_starts[_run_starts(same_map, closed)]

    def changes_at(starts: np.ndarray) -> np.ndarray:
        if closed:
            return positions[starts] if starts.size > 1 else np.zeros(0)
        return positions[starts[1:]]

    return PolylineRegions(
        intervals=int(interval_starts.size),
        cells=int(patterns.shape[0]),
        pieces=int(piece_starts.size),
        closed=bool(closed),
        segments=int(segment_count),
        breakpoints=changes_at(interval_starts),
        piece_breakpoints=changes_at(piece_starts),
        interval_cells=interval_cells,
        patterns=patterns,
        part_segments=state["segment"],
        part_starts=state["starts"],
        part_ends=state["ends"],
        part_cells=part_cells,
    )


def _same_affine_map_as_next(
    network: LoweredNetwork,
    patterns: np.ndarray,
    interval_cells: np.ndarray,
    closed: bool,
    rtol: float,
    tile_elements: int,
) -> np.ndarray:
    """For each interval i: does interval i + 1 carry the same affine map?

    Length intervals - 1 for an open polyline, intervals for a closed one (the last entry
    compares the last interval with the first).
    """
    following = np.roll(interval_cells, -1) if closed else interval_cells[1:]
    pairs = np.stack([interval_cells[: following.size], following], axis=1)
    result = pairs[:, 0] == pairs[:, 1]  # the same cell twice: only a closed single-cell loop
    candidates = np.nonzero(~result)[0]
    per_map = network.input_dim * max(network.widths[1:])
    tile = max(1, tile_elements // max(per_map, 1))
    for first in range(0, candidates.size, tile):
        chosen = candidates[first : first + tile]
        linear_a, offset_a = network.affine_maps(patterns[pairs[chosen, 0]])
        linear_b, offset_b = network.affine_maps(patterns[pairs[chosen, 1]])
        flat_a = np.concatenate([linear_a.reshape(len(chosen), -1), offset_a], axis=1)
        flat_b = np.concatenate([linear_b.reshape(len(chosen), -1), offset_b], axis=1)
        scale = np.maximum(np.abs(flat_a).max(axis=1), np.abs(flat_b).max(axis=1))
        result[chosen] = np.abs(flat_a - flat_b).max(axis=1) <= rtol * scale
    return result
