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

Exactness. The network "as given" is the lowered float64 network; its weights are dyadic
rationals, so every crossing is a rational number and every question about the decomposition
has an exact answer. The floating-point pass above is a *filter*: afterwards each part is
certified in one vectorised forward pass at its two ends under its own pattern, with the
forward error bound err_j = γ S_j, S_j the same pass in absolute values (|h| |W| + |b|, and
the slope's share along the part) and γ = 4 (Σ_l n_{l-1} + 2 L) u, u = 2^-53 (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2002, section 3.1, with a factor 4 to spare).
A part is certified when every pre-activation has its pattern's sign beyond err at both
ends, except at an end that is a breakpoint, where exactly one is within err of 0, and every
other pre-activation keeps its sign across that one's uncertainty window err / |z'|; a
vertex of the polyline must have no pre-activation within err of 0. A segment with a part
that fails (crossings closer than rounding can order, a hyperplane through a vertex, a
pre-activation that only touches 0, coincident hyperplanes) is redone exactly: walking from
t = 0, the pattern just after t is read from the exact signs of z(t) (or of z' where z(t) =
0), and the next breakpoint is the least exact crossing t* = -α/β > t over all units
(:mod:`geokeras.complexity.exact`). No tolerance decides anything.

Conventions:

* A pre-activation that touches 0 without changing sign (the valleys of the tent map) does not
  split, and neither does one whose zero falls on an existing breakpoint. Coincident
  hyperplanes give identical crossings, which split once.
* The activation pattern of a piece is the one just inside it; a neuron whose pre-activation
  is identically 0 on a piece is inactive (active means pre-activation > 0, as in
  :mod:`geokeras.complexity.lowering`).
* ``intervals``: maximal runs of consecutive pieces (across the polyline's vertices) with
  the same activation pattern, i.e. the connected components of polyline ∩ cell; for a
  closed polyline the run through vertex 0 is one interval (a single cell: 1 interval).
* ``cells``: distinct activation patterns met (a cell met twice counts once).
* ``pieces``: maximal runs of consecutive intervals on which the whole network has the same
  affine map x -> x A + c: neighbouring intervals are merged when their maps are equal, as
  exact dyadic rationals (a float comparison with the same error bound decides the clear
  cases). pieces <= intervals.

Two backends, one algorithm. ``backend="numpy"`` (the default) runs on the CPU: the
number of pieces grows, data-dependently, at every layer, so each layer has new shapes, and
numpy's per-operation cost is the lowest there; the matmuls, the only O(pieces * width^2)
work, run in multithreaded BLAS. ``backend="tensorflow"`` runs the same operations in
TensorFlow float64, eagerly (no retracing for the changing shapes), keeping the state on
the device across layers and returning to numpy once at the end: use it on a GPU. Both
give the same counts (their float breakpoints agree to ~1e-12: the matmuls sum in different
orders; the certification and the exact fallback are shared);
on this project's 2-core CPU they take the same CPU time (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from geokeras.complexity.exact import Dyadic, ExactNetwork, fraction
from geokeras.complexity.lowering import LoweredNetwork, lower

UNIT_ROUNDOFF = 2.0**-53
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
            merging across vertices: segment index, start and end t in [0, 1] (floats; the
            exact values are :meth:`exact_part_ends`) and cell id of each part.
        exact_segments: shape=[e], the segments whose decomposition the float pass could not
            certify and that were decomposed in exact arithmetic.
        network: the LoweredNetwork counted.
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
    exact_segments: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    network: Any = field(default=None, repr=False, compare=False)
    vertices: Any = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def exact_network(self) -> ExactNetwork:
        """The counted network in exact dyadic arithmetic."""
        return ExactNetwork(self.network)

    def exact_part_ends(self, parts: Any) -> list[Fraction]:
        """The exact segment parameter t of the right end of each part in ``parts``.

        A part ending at its segment's end has t = 1; otherwise its end is the exact crossing
        t* = -α/β of the unit whose sign differs between the part and the next part of the
        same segment (the first such unit in layer order: all of them cross there).
        """
        exact = self.exact_network
        patterns = self.patterns[self.part_cells]
        result = []
        for part in np.asarray(parts, dtype=np.int64).reshape(-1).tolist():
            if self.part_ends[part] == 1.0:
                result.append(Fraction(1))
                continue
            segment = int(self.part_segments[part])
            unit = int(np.nonzero(patterns[part] != patterns[part + 1])[0][0])
            layer = next(i for i, columns in enumerate(self.network.pattern_slices) if columns.start <= unit < columns.stop)
            local = unit - self.network.pattern_slices[layer].start
            linear, offset = exact.pre_activation_map(*exact_segment(self.vertices, self.closed, segment), patterns[part], layer)
            result.append(-fraction(offset, (local,)) / fraction(linear, (0, local)))
        return result

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


def exact_segment(vertices: np.ndarray, closed: bool, segment: int) -> tuple[Dyadic, Dyadic]:
    """``(direction [1, n], start [n])`` of segment ``segment`` as exact dyadic rationals.

    The float difference of two vertices may round; the exact segment runs from vertex j to
    vertex j + 1 exactly, with direction q - p computed in integers.
    """
    count = len(vertices)
    start = Dyadic.from_floats(vertices[segment])
    end = Dyadic.from_floats(vertices[(segment + 1) % count if closed else segment + 1])
    direction = end - start
    return Dyadic(direction.numerators.reshape(1, -1), direction.exponent), start


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


def _split_layer(layer: Any, state: dict[str, np.ndarray], tile_elements: int) -> dict[str, np.ndarray]:
    """Apply one layer to every piece, splitting pieces where a pre-activation changes sign."""
    count = state["starts"].shape[0]
    width = layer.n_out
    tile = max(1, tile_elements // max(width, state["value"].shape[1], 1))
    outputs: list[dict[str, np.ndarray]] = []
    for first in range(0, count, tile):
        part = {key: array[first : first + tile] for key, array in state.items()}
        outputs.append(_split_tile(layer, part))
    return {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}


def _split_tile(layer: Any, part: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    starts, ends = part["starts"], part["ends"]
    middles = 0.5 * (starts + ends)
    z = part["value"] @ layer.weight + layer.bias  # z(m), shape=[p, width]
    dz = part["slope"] @ layer.weight  # dz/dt, constant on the piece
    if layer.is_piecewise:
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = middles[:, None] - z / dz
        inside = (dz != 0) & (crossings > starts[:, None]) & (crossings < ends[:, None])
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


def _split_layers_tensorflow(network: LoweredNetwork, state: dict[str, np.ndarray], tile_elements: int) -> dict[str, np.ndarray]:
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
            inside = moving & (crossings > starts[:, None]) & (crossings < ends[:, None])
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
    tile_elements: int = DEFAULT_TILE_ELEMENTS,
    backend: str = "numpy",
) -> PolylineRegions:
    """Exact intervals, cells and pieces of ``model`` along a polyline (module docstring).

    Args:
        model: a Keras model (lowered with :func:`~geokeras.complexity.lowering.lower`) or a
            :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        vertices: shape=[n, input_dim], in the model's input space.
        closed: whether the last vertex joins the first.
        tile_elements: entries of a [pieces, width] array processed at once (memory bound).
        backend: ``"numpy"`` (default; the CPU) or ``"tensorflow"`` (the float pass in
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
        state = _split_layers_tensorflow(network, state, int(tile_elements))
    elif backend == "numpy":
        for layer in network.layers:
            state = _split_layer(layer, state, int(tile_elements))
    else:
        raise ValueError(f"Expected backend 'numpy' or 'tensorflow'. Received: backend={backend!r}.")
    state = {key: state[key] for key in ("segment", "starts", "ends", "patterns")}

    pattern_widths = [layer.n_out for layer in network.layers if layer.is_piecewise]
    patterns, part_cells = _unique_packed_rows(state["patterns"], pattern_widths)
    uncertain = _uncertain_segments(network, starts_x, directions, state, patterns[part_cells], tile_elements)
    if uncertain.size:
        state = _redo_exactly(network, np.asarray(vertices, np.float64), closed, state, uncertain, pattern_widths)
        patterns, part_cells = _unique_packed_rows(state["patterns"], pattern_widths)
    positions = state["segment"] + state["starts"]  # polyline parameter s of each part's start
    following = np.roll(part_cells, -1) if closed else part_cells[1:]
    interval_starts = _run_starts(part_cells[: following.size] == following, closed)
    interval_cells = part_cells[interval_starts]
    same_map = _same_affine_map_as_next(network, patterns, interval_cells, closed, tile_elements)
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
        exact_segments=uncertain,
        network=network,
        vertices=np.asarray(vertices, dtype=np.float64),
    )


def forward_error_factor(network: LoweredNetwork) -> float:
    """γ = 4 (Σ_l n_{l-1} + 2 L) u: |fl(z) - z| <= γ S for every pre-activation (module docstring)."""
    return 4.0 * (sum(layer.n_in for layer in network.layers) + 2 * len(network.layers)) * UNIT_ROUNDOFF


def _uncertain_segments(
    network: LoweredNetwork,
    starts_x: np.ndarray,
    directions: np.ndarray,
    state: dict[str, np.ndarray],
    part_patterns: np.ndarray,
    tile_elements: int,
) -> np.ndarray:
    """The segments with a part the float pass cannot certify (module docstring), ascending."""
    count = state["segment"].size
    tile = max(1, tile_elements // max(max(network.widths), 1))
    flagged = []
    for first in range(0, count, tile):
        rows = slice(first, first + tile)
        bad = _uncertain_parts(
            network, starts_x, directions, state["segment"][rows], state["starts"][rows], state["ends"][rows],
            part_patterns[rows],
        )
        flagged.append(state["segment"][rows][bad])
    return np.unique(np.concatenate(flagged)).astype(np.int64)


def _uncertain_parts(network, starts_x, directions, segments, lefts, rights, patterns) -> np.ndarray:
    """Per part: True when it is not certified (module docstring)."""
    gamma = forward_error_factor(network)
    length = rights - lefts
    h = starts_x[segments] + lefts[:, None] * directions[segments]
    dh = directions[segments]
    h_abs = np.abs(starts_x[segments]) + np.abs(lefts[:, None] * directions[segments])
    dh_abs = np.abs(dh)
    layers_z, layers_dz, layers_err = [], [], []
    for layer, columns in zip(network.layers, network.pattern_slices):
        if not layer.is_piecewise:
            break  # the last (linear) layer decides nothing
        weight_abs = np.abs(layer.weight)
        z, dz = h @ layer.weight + layer.bias, dh @ layer.weight
        magnitude = h_abs @ weight_abs + np.abs(layer.bias)
        slope_magnitude = dh_abs @ weight_abs
        err = gamma * (magnitude + length[:, None] * slope_magnitude) + 0.0
        layers_z.append(z)
        layers_dz.append(dz)
        layers_err.append(err)
        mask = np.where(patterns[:, columns], 1.0, layer.negative_slope)
        h, dh = z * mask, dz * mask
        h_abs, dh_abs = (magnitude + length[:, None] * slope_magnitude) * np.abs(mask), slope_magnitude * np.abs(mask)
    if not layers_z:
        return np.zeros(lefts.size, dtype=bool)
    z_left, dz, err = (np.concatenate(arrays, axis=1) for arrays in (layers_z, layers_dz, layers_err))
    z_right = z_left + length[:, None] * dz
    active = patterns[:, : z_left.shape[1]]
    bad = np.zeros(lefts.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for z_end, at_vertex in ((z_left, lefts == 0.0), (z_right, rights == 1.0)):
            near = (np.abs(z_end) <= err) & (err > 0)  # err = 0: an exact 0 from zero inputs, no crossing
            count = near.sum(axis=1)
            bad |= count != np.where(at_vertex, 0, 1)
            window = np.max(np.where(near, err / np.abs(dz), 0.0), axis=1)
            clear = (np.abs(z_end) - np.abs(dz) * window[:, None] > err) | (err == 0)
            right_sign = np.where(active, z_end > 0, z_end <= 0)
            bad |= np.any(~near & ~(clear & right_sign), axis=1)
            bad |= np.any(near & (np.abs(dz) * length[:, None] <= 2 * err), axis=1)  # flat at 0
    return bad


def _redo_exactly(network, vertices, closed, state, segments, pattern_widths) -> dict[str, np.ndarray]:
    """The parts of ``segments`` replaced by their exact decomposition (:func:`exact_segment_parts`)."""
    keep = ~np.isin(state["segment"], segments)
    pieces = {key: [array[keep]] for key, array in state.items()}
    exact = ExactNetwork(network)
    for segment in segments.tolist():
        ends, segment_patterns = exact_segment_parts(exact, *exact_segment(vertices, closed, segment))
        starts = [Fraction(0)] + ends[:-1]
        pieces["segment"].append(np.full(len(ends), segment, dtype=state["segment"].dtype))
        pieces["starts"].append(np.array([float(t) for t in starts]))
        pieces["ends"].append(np.array([float(t) for t in ends]))
        packed, offset = [], 0
        for width in pattern_widths:
            packed.append(np.packbits(segment_patterns[:, offset : offset + width], axis=1))
            offset += width
        pieces["patterns"].append(np.concatenate(packed, axis=1) if packed else np.zeros((len(ends), 0), np.uint8))
    merged = {key: np.concatenate(arrays) for key, arrays in pieces.items()}
    order = np.lexsort((merged["starts"], merged["segment"]))
    return {key: array[order] for key, array in merged.items()}


def exact_segment_parts(exact: ExactNetwork, direction: Dyadic, start: Dyadic) -> tuple[list[Fraction], np.ndarray]:
    """The exact decomposition of the segment start + t direction, t in [0, 1], by the cells.

    Args:
        direction: shape=[1, n]; start: shape=[n] (:func:`exact_segment`).

    Returns:
        ``(ends, patterns)``: the exact right end t of each part (the last is 1) and the bool
        pattern of each part, shape=[parts, hidden_units].
    """
    network = exact.network
    linear0, offset0 = direction, start
    t, ends, patterns = Fraction(0), [], []
    while t < 1:
        pattern = np.zeros(network.hidden_units, dtype=bool)
        crossings = []
        for index, (layer, columns) in enumerate(zip(network.layers, network.pattern_slices)):
            if not layer.is_piecewise:
                break
            linear, offset = exact.pre_activation_map(linear0, offset0, pattern, index)
            for unit in range(layer.n_out):
                alpha, beta = fraction(offset, (unit,)), fraction(linear, (0, unit))
                value = alpha + beta * t
                pattern[columns.start + unit] = value > 0 or (value == 0 and beta > 0)
                if beta != 0 and -alpha / beta > t:
                    crossings.append(-alpha / beta)
        end = min([Fraction(1), *crossings])
        ends.append(end)
        patterns.append(pattern)
        t = end
    return ends, np.array(patterns, dtype=bool).reshape(len(ends), network.hidden_units)


def _same_affine_map_as_next(
    network: LoweredNetwork,
    patterns: np.ndarray,
    interval_cells: np.ndarray,
    closed: bool,
    tile_elements: int,
) -> np.ndarray:
    """For each interval i: does interval i + 1 carry exactly the same affine map?

    Length intervals - 1 for an open polyline, intervals for a closed one (the last entry
    compares the last interval with the first). Maps that differ by more than the forward
    error bound differ; the others are compared as exact dyadic rationals.
    """
    following = np.roll(interval_cells, -1) if closed else interval_cells[1:]
    pairs = np.stack([interval_cells[: following.size], following], axis=1)
    result = pairs[:, 0] == pairs[:, 1]  # the same cell twice: only a closed single-cell loop
    candidates = np.nonzero(~result)[0]
    per_map = network.input_dim * max(network.widths[1:])
    tile = max(1, tile_elements // max(per_map, 1))
    gamma = forward_error_factor(network)
    unsure = []
    for first in range(0, candidates.size, tile):
        chosen = candidates[first : first + tile]
        flat_a = _flat_maps(network, patterns[pairs[chosen, 0]])
        flat_b = _flat_maps(network, patterns[pairs[chosen, 1]])
        magnitude = _flat_maps(network, patterns[pairs[chosen, 0]], absolute=True)
        magnitude += _flat_maps(network, patterns[pairs[chosen, 1]], absolute=True)
        unsure.append(chosen[np.all(np.abs(flat_a - flat_b) <= gamma * magnitude, axis=1)])
    if unsure:
        exact = ExactNetwork(network)
        identity = exact.identity()
        for index in np.concatenate(unsure).tolist():
            map_a = exact.output_map(*identity, patterns[pairs[index, 0]])
            map_b = exact.output_map(*identity, patterns[pairs[index, 1]])
            result[index] = all(not np.any((x - y).sign()) for x, y in zip(map_a, map_b))
    return result


def _flat_maps(network: LoweredNetwork, patterns: np.ndarray, absolute: bool = False) -> np.ndarray:
    """[A | c] of each pattern's cell flattened, shape=[k, n (n_out) + n_out]; with ``absolute``
    the same products in |W|, |b| (the magnitudes that bound their rounding)."""
    count = patterns.shape[0]
    linear = np.broadcast_to(np.eye(network.input_dim), (count, network.input_dim, network.input_dim))
    offset = np.zeros((count, network.input_dim))
    for layer, columns in zip(network.layers, network.pattern_slices):
        weight, bias = (np.abs(layer.weight), np.abs(layer.bias)) if absolute else (layer.weight, layer.bias)
        linear, offset = linear @ weight, offset @ weight + bias
        if layer.is_piecewise:
            slopes = np.where(patterns[:, columns], 1.0, abs(layer.negative_slope) if absolute else layer.negative_slope)
            linear, offset = linear * slopes[:, None, :], offset * slopes
    return np.concatenate([linear.reshape(count, -1), offset], axis=1)
