"""Exact count of a ReLU network's cells and pieces along a polyline in its input space.

Along a segment x(t) = p + t d, t in [0, 1], every pre-activation of the first layer is
affine in t; it changes sign at most once, at t* = -z(0) / z'. Splitting the segment at
every such t* gives parts on which the first layer's activation pattern is constant, so
its output is again affine in t on each part, and the second layer's pre-activations are
affine on each part, and so on: splitting layer by layer at every sign change yields the
exact decomposition of the polyline by the cells of the network (Lei et al. 2018,
section 2: the cell decomposition D(phi)). This is the 1-D case of the region-walking
counts of Serra et al. (2018) and Hanin & Rolnick (2019), done without sampling.

Exactness. The network as given (float64 weights, float32 ones upcast exactly) has dyadic
rational weights; the polyline's vertices are floats, and segment j is v_j + t (v_{j+1} - v_j)
with the exact difference. On a part with a fixed pattern of the layers below, a
pre-activation is exactly alpha + beta t with dyadic alpha, beta, and its crossing -alpha / beta
is rational. Every decision is made exactly:

* A **float filter** decides most of them: per part the float value φ_{l-1}(m) at the part's
  float midpoint m and its derivative along t are carried with proven bounds on their errors
  (l1 norms; a k-term dot product errs by at most gamma_k = k u / (1 - k u) times the sum of
  the absolute terms, u = 2^-53, Higham 2002, section 3.1; ReLU is 1-Lipschitz), and the float
  ends of the part with bounds on their distance from the exact ends. A unit whose
  pre-activation keeps one sign on the whole part with margin is settled at once; for the
  others the float crossing, with its error bound, must lie certainly inside or certainly
  outside the part, neighbouring crossings must be certainly apart, and each child's midpoint
  certainly on one side of every crossing.
* Where the bounds cannot certify a decision (a crossing at, or within rounding of, an
  existing breakpoint or vertex; coincident or nearly coincident crossings; a unit whose
  pre-activation is 0 on a whole part), the whole segment is decomposed again in **exact
  rational arithmetic** (:class:`~geokeras.complexity.exact.Dyadic` coefficients, crossings as
  :class:`fractions.Fraction`).

So a crossing strictly inside a part splits it however close it is to the ends (a part of
length 2^-45 or 1e-300 is a part); a pre-activation that touches 0 without changing sign (the
valleys of the tent map), or whose zero is exactly an existing breakpoint, does not split;
coincident hyperplanes split once. Tiling (``tile_elements``) and the backend change float
rounding only, never a decision.

Conventions:

* The activation pattern of a part is the one on its interior; a neuron whose
  pre-activation is identically 0 on a part is inactive.
* ``intervals``: maximal runs of consecutive parts (across the polyline's vertices) with
  the same activation pattern, i.e. the connected components of polyline ∩ cell; for a
  closed polyline the run through vertex 0 is one interval (a single cell: 1 interval).
* ``cells``: distinct activation patterns met (a cell met twice counts once).
* ``pieces``: maximal runs of consecutive intervals on which the whole network has the same
  affine map x -> x A + c, the maps compared exactly (a float filter with a bound on the
  rounding of the product chain; exact dyadic maps where it cannot tell). pieces <= intervals.
* Breakpoints and part ends are reported as floats (the nearest doubles of the exact values,
  within the stated error bounds); :meth:`PolylineRegions.exact_part_bounds` gives them
  exactly and :meth:`PolylineRegions.exact_cell_map` a cell's exact affine map.

Two backends, one algorithm. ``backend="numpy"`` (the default) runs on the CPU; the
matmuls, the only O(parts * width^2) work, run in multithreaded BLAS. ``backend="tensorflow"``
runs the matmuls in TensorFlow float64 (on a GPU when one is visible) and everything else in
numpy. Both give the same result: every decision is certified or exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from geokeras.complexity.exact import Dyadic, ExactNetwork, dyadic_fractions, dyadic_root, segment_maps
from geokeras.complexity.lowering import LoweredNetwork, lower

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
            each part (floats: the nearest doubles of the exact ends, see
            :meth:`exact_part_bounds`).
        part_start_errors, part_end_errors: bounds on |float end - exact end| of each part.
        part_values, part_slopes: shape=[parts, output_dim], φ at the part's float midpoint
            m = (start + end) / 2 and dφ/dt on the part (float), with part_value_errors and
            part_slope_errors bounding the l1 norm of their errors (the exact values are
            those of the part's exact cell map at m).
        interval_parts: shape=[intervals], the index of each interval's first part.
        exact_segments: the segments the float filter could not certify, decomposed in exact
            arithmetic.
        network, vertices: the lowered network and the polyline (for the exact methods).
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
    part_start_errors: Optional[np.ndarray] = None
    part_end_errors: Optional[np.ndarray] = None
    part_values: Optional[np.ndarray] = None
    part_slopes: Optional[np.ndarray] = None
    part_value_errors: Optional[np.ndarray] = None
    part_slope_errors: Optional[np.ndarray] = None
    interval_parts: Optional[np.ndarray] = None
    exact_segments: Optional[np.ndarray] = None
    network: Optional[LoweredNetwork] = field(default=None, repr=False, compare=False)
    vertices: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def regions(self) -> int:
        """Alias of :attr:`intervals` (the 1-D regions), for symmetry with mesh counts."""
        return self.intervals

    def segment_direction(self, segment: int) -> tuple[np.ndarray, Dyadic]:
        """Start vertex p (float) and the exact direction d = v_{j+1} - v_j of ``segment``."""
        points = np.asarray(self.vertices, dtype=np.float64)
        following = points[(segment + 1) % points.shape[0]]
        return points[segment], Dyadic.from_floats(following) - Dyadic.from_floats(points[segment])

    def exact_part_bounds(self) -> list[tuple[Fraction, Fraction]]:
        """The exact ends (t_0, t_1) of every part on its segment p + t d, as Fractions.

        A segment's first part starts at 0 and its last ends at 1; between two parts of one
        segment the end is the zero -alpha / beta of the pre-activations, on the first part's
        cell, of the units of the first layer whose pattern differs (they all vanish there).
        """
        if self.network is None or self.vertices is None:
            raise ValueError(
                "Expected regions from count_regions_on_polyline (with network and vertices). Received none."
            )
        exact = ExactNetwork(self.network)
        segments, cells = np.asarray(self.part_segments), np.asarray(self.part_cells)
        count = segments.size
        starts, ends = [Fraction(0)] * count, [Fraction(1)] * count
        for index in range(count - 1):
            if segments[index] != segments[index + 1]:
                continue
            start, direction = self.segment_direction(int(segments[index]))
            layers, _ = segment_maps(exact, start, direction, self.patterns[cells[index]])
            before, after = self.patterns[cells[index]], self.patterns[cells[index + 1]]
            root = exact_cell_boundary(self.network, layers, before, after)
            starts[index + 1] = ends[index] = root
        return list(zip(starts, ends))

    def exact_cell_map(self, cell: int) -> tuple[Dyadic, Dyadic]:
        """The exact affine map x -> x A + c of the network on cell ``cell`` (A [n, k], c [k])."""
        if self.network is None:
            raise ValueError("Expected regions from count_regions_on_polyline (with a network). Received none.")
        exact = ExactNetwork(self.network)
        return exact.output_map(*exact.identity(), self.patterns[int(cell)])

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


_UNIT = float(np.finfo(np.float64).eps) / 2  # unit roundoff u = 2^-53


def _gamma(terms: int) -> float:
    """gamma_k = k u / (1 - k u): the relative error bound of a k-term dot product (any order)."""
    return terms * _UNIT / (1.0 - terms * _UNIT)


def _matmul_numpy(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return left @ right


def _matmul_tensorflow() -> Any:
    import tensorflow as tf

    def matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if left.shape[0] == 0:
            return np.zeros((0, right.shape[1]))
        return tf.linalg.matmul(tf.constant(left), tf.constant(right)).numpy()

    return matmul


def _split_layer(layer: Any, state: dict[str, np.ndarray], tile_elements: int, matmul: Any) -> dict[str, np.ndarray]:
    """Apply one layer to every part, splitting parts where a pre-activation changes sign."""
    count = state["starts"].shape[0]
    tile = max(1, tile_elements // max(layer.n_out, state["value"].shape[1], 1))
    column_max = np.abs(layer.weight).max(axis=0) if layer.weight.size else np.zeros(layer.n_out)
    outputs = []
    for first in range(0, max(count, 1), tile):
        part = {key: array[first : first + tile] for key, array in state.items()}
        outputs.append(_split_tile(layer, part, column_max, matmul))
    return {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}


def _split_tile(layer: Any, part: dict[str, np.ndarray], column_max: np.ndarray, matmul: Any) -> dict[str, np.ndarray]:
    """The float filter of one layer on one tile (module docstring, "Exactness").

    ``value`` and ``slope`` are φ_{l-1} and its t-derivative at the part's float midpoint m;
    ``value_error`` and ``slope_error`` bound the l1 norms of their differences from the exact
    values. A unit is *far* when its pre-activation certainly keeps one non-zero sign on the
    whole part (most units); the others are handled sparsely: their crossings must lie
    certainly inside or certainly outside the part and be certainly apart, else the part is
    marked ``doubt`` (its segment is then decomposed in exact arithmetic).
    """
    unit = _UNIT
    starts, ends = part["starts"], part["ends"]
    start_error, end_error = part["start_error"], part["end_error"]
    middles = 0.5 * (starts + ends)
    value, slope = part["value"], part["slope"]
    gamma = _gamma(layer.n_in + 2)
    bias_size = np.abs(layer.bias)
    z = matmul(value, layer.weight)  # z(m), shape=[p, width]
    z += layer.bias
    dz = matmul(slope, layer.weight)  # dz/dt, constant on the part
    # |z_j - Z_j| <= A M_j + gamma |b_j| and |dz_j - DZ_j| <= B M_j (M_j = max_i |W_ij|)
    value_bound = (part["value_error"] + gamma * part["value_sum"]) * (1 + 4 * unit)
    slope_bound = (part["slope_error"] + gamma * part["slope_sum"]) * (1 + 4 * unit)
    doubt = part["doubt"].copy()
    count = starts.size
    shift = np.zeros(count)
    if layer.is_piecewise:
        half = np.maximum(middles - starts + start_error, ends - middles + end_error) * (1 + 4 * unit)
        # far: |z| - half (|dz| + edz) > ez, with the rounding of this test itself covered
        reach = (value_bound + half * slope_bound) * (1 + 8 * unit)
        shrink = 1 / (1 - 8 * unit)
        threshold = np.abs(dz)
        threshold *= (half * ((1 + 8 * unit) * shrink))[:, None]
        threshold += (reach * shrink)[:, None] * column_max
        threshold += (gamma * (1 + 8 * unit) * shrink) * bias_size
        far = np.abs(z) > threshold
        rows, columns = np.nonzero(~far)
        z_near, dz_near = z[rows, columns], dz[rows, columns]
        ez_near = value_bound[rows] * column_max[columns] + gamma * bias_size[columns]
        edz_near = slope_bound[rows] * column_max[columns]
        zero = (z_near == 0) & (dz_near == 0) & (ez_near == 0) & (edz_near == 0)  # exactly 0 on the part: inactive
        rows, columns = rows[~zero], columns[~zero]
        z_near, dz_near, ez_near, edz_near = z_near[~zero], dz_near[~zero], ez_near[~zero], edz_near[~zero]
        moving = np.abs(dz_near) > edz_near
        doubt[rows[~moving]] = True
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            size = np.abs(dz_near)
            ratio = z_near / np.where(moving, dz_near, 1.0)
            crossings = middles[rows] - ratio
            ratio_error = (ez_near * size + np.abs(z_near) * edz_near) / (size * (size - edz_near))
            errors = (ratio_error + 3 * unit * (np.abs(ratio) + np.abs(crossings))) * (1 + 8 * unit)
            errors = np.where(moving, errors, np.inf)
            inside = (
                moving
                & (crossings - errors > starts[rows] + start_error[rows])
                & (crossings + errors < ends[rows] - end_error[rows])
            )
            outside = moving & (
                (crossings + errors < starts[rows] - start_error[rows])
                | (crossings - errors > ends[rows] + end_error[rows])
            )
        doubt[rows[~inside & ~outside]] = True
        cut_rows, cut_at, cut_error = rows[inside], crossings[inside], errors[inside]
        order = np.lexsort((cut_at, cut_rows))
        cut_rows, cut_at, cut_error = cut_rows[order], cut_at[order], cut_error[order]
        same_row = cut_rows[1:] == cut_rows[:-1]
        apart = cut_at[1:] - cut_error[1:] > cut_at[:-1] + cut_error[:-1]  # coincident crossings: exactly
        doubt[cut_rows[1:][same_row & ~apart]] = True
        if same_row.size:
            keep = np.concatenate([[True], ~same_row | apart])  # drop float duplicates (doubted anyway)
            cut_rows, cut_at, cut_error = cut_rows[keep], cut_at[keep], cut_error[keep]
        cuts = np.bincount(cut_rows, minlength=count)
        first_cut = np.cumsum(cuts) - cuts
        parents = np.repeat(np.arange(count), cuts + 1)
        active = z > 0
        if parents.size > count:  # some part was split
            first_child = np.cumsum(cuts + 1) - (cuts + 1)
            rank = np.arange(parents.size) - first_child[parents]
            padded_at = np.concatenate([cut_at, [0.0]])
            padded_error = np.concatenate([cut_error, [0.0]])
            before, after = first_cut[parents] + rank - 1, first_cut[parents] + rank
            is_first, is_last = rank == 0, rank == cuts[parents]
            new_starts = np.where(is_first, starts[parents], padded_at[np.maximum(before, 0)])
            new_ends = np.where(is_last, ends[parents], padded_at[np.minimum(after, cut_at.size)])
            new_start_error = np.where(is_first, start_error[parents], padded_error[np.maximum(before, 0)])
            new_end_error = np.where(is_last, end_error[parents], padded_error[np.minimum(after, cut_at.size)])
            new_middles = 0.5 * (new_starts + new_ends)
            shift = new_middles - middles[parents]
            z, dz = z[parents], dz[parents]
            z = z + shift[:, None] * dz
            value_bound, slope_bound = value_bound[parents], slope_bound[parents]
            active = active[parents]
            part = {key: array[parents] for key, array in part.items() if key not in ("value", "slope")}
            doubt = doubt[parents]
            part["starts"], part["ends"] = new_starts, new_ends
            part["start_error"], part["end_error"] = new_start_error, new_end_error
            middles = new_middles
            # the near units' entries, once per child of their part
            first_child_of = first_child
        else:
            first_child_of = np.arange(count)
        # near units: the pattern at each child's midpoint from the certified crossing
        repeats = cuts[rows] + 1
        entry = np.repeat(np.arange(rows.size), repeats)
        child = first_child_of[rows][entry] + (np.arange(entry.size) - np.repeat(np.cumsum(repeats) - repeats, repeats))
        at, error, rising = crossings[entry], errors[entry], dz_near[entry] > 0
        with np.errstate(invalid="ignore"):
            beyond = middles[child] > at
            doubt[child[moving[entry] & ~(np.abs(middles[child] - at) > error)]] = True
        active[child, columns[entry]] = np.where(moving[entry], rising == beyond, z_near[entry] > 0)
        part["patterns"] = np.concatenate([part["patterns"], np.packbits(active, axis=1)], axis=1)
        if layer.negative_slope:
            factor = np.where(active, 1.0, layer.negative_slope)
            part["value"], part["slope"], magnitude = factor * z, factor * dz, np.abs(factor).astype(np.float64)
        else:
            magnitude = active.astype(np.float64)
            z *= magnitude
            dz *= magnitude
            part["value"], part["slope"] = z, dz
        weighted = matmul(magnitude, np.stack([column_max, bias_size], axis=1))
    else:
        part["value"], part["slope"] = z, dz
        weighted = np.broadcast_to(np.array([column_max.sum(), bias_size.sum()]), (z.shape[0], 2))
    # the l1 error of the new value: sum_j |slope_j| (ez_j + |shift| edz_j + rounding of the shift)
    value_sum, slope_sum = np.abs(part["value"]).sum(axis=1), np.abs(part["slope"]).sum(axis=1)
    size_shift = np.abs(shift)
    growth = 1 + 8 * (layer.n_out + 4) * unit
    part["value_error"] = (
        (value_bound + size_shift * slope_bound) * weighted[:, 0]
        + gamma * weighted[:, 1]
        + 3 * unit * size_shift * slope_sum
        + 3 * unit * value_sum
    ) * growth
    part["slope_error"] = (slope_bound * weighted[:, 0] + unit * slope_sum) * growth
    part["value_sum"], part["slope_sum"] = value_sum, slope_sum
    part["doubt"] = doubt
    return part


def _exact_segment(
    exact: ExactNetwork, network: LoweredNetwork, start: Any, direction: Dyadic
) -> tuple[list[Fraction], list[Fraction], list[np.ndarray]]:
    """The exact decomposition of one segment p + t d, t in [0, 1], in rational arithmetic.

    Returns:
        ``(starts, ends, patterns, maps)`` of its parts in order; patterns bool over the hidden
        units; maps ``(b, a)``, lists of Fractions: φ(p + t d) = a + t b on the part.
    """
    linear = Dyadic(direction.numerators.reshape(1, -1), direction.exponent)
    offset = Dyadic.from_floats(start)
    parts = [(Fraction(0), Fraction(1), [], linear, offset)]
    for position, layer in enumerate(network.layers):
        children = []
        for low, high, bits, linear, offset in parts:
            linear = linear @ exact._weights[position]
            offset = offset @ exact._weights[position] + exact._biases[position]
            if not layer.is_piecewise:
                children.append((low, high, bits, linear, offset))
                continue
            slopes, offsets = dyadic_fractions(linear[0]), dyadic_fractions(offset)
            roots = sorted({-a / b for a, b in zip(offsets, slopes) if b != 0 and low < -a / b < high})
            edges = [low, *roots, high]
            for left, right in zip(edges[:-1], edges[1:]):
                middle = (left + right) / 2
                active = np.array([a + middle * b > 0 for a, b in zip(offsets, slopes)], dtype=bool)
                mask = exact._mask(position, active)
                children.append((left, right, bits + [active], linear * mask, offset * mask))
        parts = children
    patterns = [np.concatenate(bits) if bits else np.zeros(0, dtype=bool) for _, _, bits, _, _ in parts]
    maps = [(dyadic_fractions(linear[0]), dyadic_fractions(offset)) for _, _, _, linear, offset in parts]
    return [p[0] for p in parts], [p[1] for p in parts], patterns, maps


_KEPT = (
    "segment",
    "starts",
    "ends",
    "start_error",
    "end_error",
    "value",
    "slope",
    "value_error",
    "slope_error",
    "patterns",
)


def _pack_patterns(patterns: np.ndarray, network: LoweredNetwork) -> np.ndarray:
    """Bool patterns [n, hidden_units] packed like the float path: each layer in its own bytes."""
    packed = [
        np.packbits(patterns[:, columns], axis=1)
        for layer, columns in zip(network.layers, network.pattern_slices)
        if layer.is_piecewise
    ]
    return np.concatenate(packed, axis=1) if packed else np.zeros((patterns.shape[0], 0), dtype=np.uint8)


def exact_cell_boundary(network: LoweredNetwork, layers: list, pattern: np.ndarray, following: np.ndarray) -> Fraction:
    """The exact parameter where the cell of ``pattern`` ends and that of ``following`` begins."""
    for position, columns in enumerate(network.pattern_slices):
        differ = np.nonzero(pattern[columns] != following[columns])[0]
        if differ.size == 0:
            continue
        beta, alpha = layers[position]
        roots = {dyadic_root(alpha, beta, int(unit)) for unit in differ}
        if len(roots) != 1 or None in roots:
            raise RuntimeError(
                "Expected the units that change between two neighbouring parts to change at one exact point. "
                f"Received crossings {sorted(str(root) for root in roots)}."
            )
        return roots.pop()
    raise RuntimeError(
        "Expected neighbouring parts on one segment to differ in their pattern. Received equal patterns."
    )


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
        tile_elements: entries of a [parts, width] array processed at once (memory bound).
        backend: ``"numpy"`` (default; the CPU) or ``"tensorflow"`` (the matmuls in TensorFlow
            float64, on a GPU when one is visible); both give the same, exact, result.

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
    if backend == "tensorflow":
        matmul = _matmul_tensorflow()
    elif backend == "numpy":
        matmul = _matmul_numpy
    else:
        raise ValueError(f"Expected backend 'numpy' or 'tensorflow'. Received: backend={backend!r}.")
    segment_count = starts_x.shape[0]
    moving = np.nonzero(np.any(directions != 0, axis=1))[0]  # zero-length segments hold no interior
    if moving.size == 0:
        raise ValueError(
            "Expected a polyline with at least one segment of positive length. Received: all vertices equal."
        )
    middle_points = starts_x[moving] + 0.5 * directions[moving]
    state = {
        "segment": moving,
        "starts": np.zeros(moving.size),
        "ends": np.ones(moving.size),
        "start_error": np.zeros(moving.size),
        "end_error": np.zeros(moving.size),
        "value": middle_points,
        "slope": directions[moving],
        # directions[j] is the float of v_{j+1} - v_j (error <= u |d|); the midpoint adds u |x|
        "value_error": 2 * _UNIT * (np.abs(directions[moving]) + np.abs(middle_points)).sum(axis=1),
        "slope_error": 2 * _UNIT * np.abs(directions[moving]).sum(axis=1),
        "value_sum": np.abs(middle_points).sum(axis=1),
        "slope_sum": np.abs(directions[moving]).sum(axis=1),
        "doubt": np.zeros(moving.size, dtype=bool),
        "patterns": np.zeros((moving.size, 0), dtype=np.uint8),  # bit-packed, layer by layer
    }
    for layer in network.layers:
        state = _split_layer(layer, state, int(tile_elements), matmul)
    exact_segments = np.unique(state["segment"][state["doubt"]])
    if exact_segments.size:
        state = _redo_exactly(network, vertices, closed, state, exact_segments)

    pattern_widths = [layer.n_out for layer in network.layers if layer.is_piecewise]
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
        part_start_errors=state["start_error"],
        part_end_errors=state["end_error"],
        part_values=state["value"],
        part_slopes=state["slope"],
        part_value_errors=state["value_error"],
        part_slope_errors=state["slope_error"],
        interval_parts=interval_starts,
        exact_segments=exact_segments,
        network=network,
        vertices=np.asarray(vertices, dtype=np.float64),
    )


def _redo_exactly(
    network: LoweredNetwork, vertices: Any, closed: bool, state: dict[str, np.ndarray], segments: np.ndarray
) -> dict[str, np.ndarray]:
    """Replace the parts of ``segments`` by their exact decomposition (:func:`_exact_segment`)."""
    exact = ExactNetwork(network)
    points = np.asarray(vertices, dtype=np.float64)
    following = np.concatenate([points[1:], points[:1]]) if closed else points[1:]
    keep = ~np.isin(state["segment"], segments)
    columns = {key: [array[keep]] for key, array in state.items() if key in _KEPT}
    tiny = 2 * np.finfo(np.float64).tiny
    for segment in segments.tolist():
        direction = Dyadic.from_floats(following[segment]) - Dyadic.from_floats(points[segment])
        starts, ends, patterns, maps = _exact_segment(exact, network, points[segment], direction)
        float_starts = np.array([float(value) for value in starts])
        float_ends = np.array([float(value) for value in ends])
        middles = 0.5 * (float_starts + float_ends)
        values = np.array(
            [[float(a + Fraction(m) * b) for b, a in zip(*pair)] for m, pair in zip(middles.tolist(), maps)]
        )
        slopes = np.array([[float(b) for b in pair[0]] for pair in maps])
        columns["segment"].append(np.full(float_starts.size, segment))
        columns["starts"].append(float_starts)
        columns["ends"].append(float_ends)
        columns["start_error"].append(_UNIT * np.abs(float_starts) + tiny)
        columns["end_error"].append(_UNIT * np.abs(float_ends) + tiny)
        columns["value"].append(values.reshape(float_starts.size, -1))
        columns["slope"].append(slopes.reshape(float_starts.size, -1))
        columns["value_error"].append(_UNIT * np.abs(values).reshape(float_starts.size, -1).sum(axis=1) + tiny)
        columns["slope_error"].append(_UNIT * np.abs(slopes).reshape(float_starts.size, -1).sum(axis=1) + tiny)
        columns["patterns"].append(_pack_patterns(np.array(patterns, dtype=bool).reshape(len(starts), -1), network))
    merged = {key: np.concatenate(parts) for key, parts in columns.items()}
    order = np.lexsort((merged["starts"], merged["segment"]))
    return {key: array[order] for key, array in merged.items()}


def _same_affine_map_as_next(
    network: LoweredNetwork,
    patterns: np.ndarray,
    interval_cells: np.ndarray,
    closed: bool,
    tile_elements: int,
) -> np.ndarray:
    """For each interval i: does interval i + 1 carry exactly the same affine map?

    Length intervals - 1 for an open polyline, intervals for a closed one (the last entry
    compares the last interval with the first). Float filter: the float maps [A; c] of the two
    cells, each with an error bound (a chain of k-term dot products: error <= gamma times the
    same chain in absolute values); where they differ by more than both bounds the maps differ,
    otherwise the exact dyadic maps are compared.
    """
    following = np.roll(interval_cells, -1) if closed else interval_cells[1:]
    pairs = np.stack([interval_cells[: following.size], following], axis=1)
    result = pairs[:, 0] == pairs[:, 1]  # the same cell twice: only a closed single-cell loop
    candidates = np.nonzero(~result)[0]
    per_map = network.input_dim * max(network.widths[1:])
    tile = max(1, tile_elements // max(per_map, 1))
    exact: Optional[ExactNetwork] = None
    bound = affine_map_error_bound(network)
    for first in range(0, candidates.size, tile):
        chosen = candidates[first : first + tile]
        flat_a = flat_affine_maps(network, patterns[pairs[chosen, 0]])
        flat_b = flat_affine_maps(network, patterns[pairs[chosen, 1]])
        differ = np.any(np.abs(flat_a - flat_b) > 2 * bound, axis=1)
        for row in np.nonzero(~differ)[0].tolist():
            exact = exact or ExactNetwork(network)
            identity = exact.identity()
            linear_a, offset_a = exact.output_map(*identity, patterns[pairs[chosen[row], 0]])
            linear_b, offset_b = exact.output_map(*identity, patterns[pairs[chosen[row], 1]])
            same = not np.any((linear_a - linear_b).sign()) and not np.any((offset_a - offset_b).sign())
            result[chosen[row]] = same
    return result


def flat_affine_maps(network: LoweredNetwork, patterns: np.ndarray) -> np.ndarray:
    """Float [A; c] of each cell, flattened, shape=[k, (input_dim + 1) output_dim]."""
    linear, offset = network.affine_maps(patterns)
    return np.concatenate([linear.reshape(patterns.shape[0], -1), offset], axis=1)


def affine_map_error_bound(network: LoweredNetwork) -> np.ndarray:
    """An upper bound on the rounding error of every entry of :func:`flat_affine_maps`, for every cell.

    A chain of matrix products with k-term dot products errs by at most gamma_(sum of k) times
    the same chain in absolute values (Higham 2002, section 3.5). The masks have entries of
    size <= max(1, |negative slope|), so the chain with every mask replaced by that size bounds
    the absolute chain of every cell; twice it covers the rounding of the bound itself.
    """
    absolute, absolute_offset, terms = np.eye(network.input_dim), np.zeros(network.input_dim), 0
    for layer in network.layers:
        weight = np.abs(layer.weight)
        absolute, absolute_offset = absolute @ weight, absolute_offset @ weight + np.abs(layer.bias)
        terms += layer.n_in + 2
        if layer.is_piecewise:
            size = max(1.0, abs(layer.negative_slope))
            absolute, absolute_offset = absolute * size, absolute_offset * size
    flat = np.concatenate([absolute.reshape(-1), absolute_offset])
    return flat * (2 * _gamma(terms)) + np.finfo(np.float64).tiny
