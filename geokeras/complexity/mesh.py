"""Exact linear regions of a ReLU network on a triangle mesh and on a 2-D box.

A ReLU network φ = T_{k+1} ∘ σ ∘ T_k ∘ … ∘ σ ∘ T_1 is affine on each cell of its cell
decomposition D(φ) (Lei, Luo, Yau, Gu, *Geometric Understanding of Deep Learning*,
arXiv:1805.10451, section 2): the set of inputs with one activation
pattern ρ(x) (pre-activation > 0 is active, exactly 0 inactive). Restricted to a surface Σ
given as a triangle mesh, the cells cut Σ into polygons; this module finds them exactly, in
float64, and counts

* ``regions``: connected components of Σ ∩ (one cell), i.e. the faces of the subdivision of
  the mesh by the network. Triangle edges of the mesh are not region boundaries: two
  polygons of neighbouring triangles with the same activation pattern are one region. On a
  2-D box this is the number of linear regions of the network on the box.
* ``cells``: distinct activation patterns met (a cell met in two places counts once).
* ``pieces``: maximal connected unions of regions on which φ is one affine map of the
  ambient space, x ↦ x A + c (two neighbouring cells can carry the same map, e.g. when they
  differ only in a neuron whose outgoing weights are zero). Cells ≥ pieces is not implied
  (a cell met twice is one cell but two pieces), regions ≥ cells and regions ≥ pieces are.

Algorithm. Each triangle f with corners (p_0, p_1, p_2) is parametrised by
u ∈ R², x = p_0 + u_1 (p_1 - p_0) + u_2 (p_2 - p_0); the unit triangle u ≥ 0, u_1 + u_2 ≤ 1 is
the triangle (a 2-D box is one polygon, the unit square u ∈ [0, 1]²). The polygons start as
the triangles. Layer by layer, each polygon carries the
affine map u ↦ h(u) = u G + g of the layer's input on it (exact: the activation pattern of
the layers below is constant on the polygon). The pre-activation of neuron j is then affine
on the polygon, z_j(u) = u (G W)_{:, j} + (g W + b)_j, so its zero set is a line and the split
is a clip of a convex polygon by a line: vertices with z_j > 0 and the crossing points
u_a + t (u_b - u_a), t = z_a / (z_a - z_b), on the edges whose ends have opposite signs make
the active child, z_j < 0 and the crossings the inactive child. At the start of a layer a
disc test (|z_j(centre)| > |∇z_j| · radius + tol) settles the sign of most (polygon, neuron)
pairs in one [P, w] operation and flags the rest. The order of the cuts within a layer does
not change the result, so the layer is cut in rounds: in each round every flagged polygon is
cut by its own next line (the flagged one nearest its centre: balanced cuts), vectorised over
all of them, and the parts re-test their flags at their corners (a line that misses a part is
dropped and its side recorded). A layer of w lines takes about as many rounds as the deepest
chain of balanced cuts (16, 8, 8 rounds for the three layers of a 2-32-32-32-1 He net, instead
of 32 each), which matters because each round costs a fixed number of numpy calls. After
the layer, h = σ(z) with the polygon's pattern: G ← (G W) diag(m), g ← (g W + b) diag(m), m = 1
for active, the negative slope (0 for ReLU) otherwise. Memory is O(P (K + w)) for P polygons
of at most K corners and width w: it grows with the number of regions, not with a grid.

Exact predicates (the network as given: the lowered float64 weights, dyadic rationals):

* **Signs.** Each corner is the intersection of the lines of its two edges, and each line is
  exact: a template edge, or z_j(u) = 0 with exact dyadic coefficients on the cell it split
  (:class:`geokeras.complexity.exact.ExactNetwork` on the face's exact frame). A sign is read
  from floats only when |ẑ| exceeds a proven bound on |z* - ẑ| (:func:`_corner_tolerance`:
  the coefficients' error, propagated layer by layer with the dot-product bound γ_k, the
  corner's error, bounded a posteriori from the residuals of the two float lines through it
  (:func:`_intersection_errors`, so errors do not pile up over successive splits), and the rounding
  of the evaluation);
  otherwise every sign of that polygon is computed in integers, (X, Y, W) = a × b and
  sign(L_1 X + L_2 Y + c W) · sign(W), and its crossings are the exact ones rounded.
  A corner with z_j = 0 exactly is on the line; a polygon is split only when it has corners
  strictly on both sides, so lines through corners, along edges, coincident lines and
  valleys create no empty polygon, and no polygon of positive area is ever dropped
  (a region of area 1e-15 is a region).
* **Activation of a whole polygon.** Active when some corner is strictly positive (then none
  is strictly negative); a polygon on which z_j ≡ 0 is inactive.
* **Degenerate triangles**: skipped only when their exact area is 0 (exact 2 x 2 minors).
* **Same affine map**: float maps with rigorous error bounds separate most pairs; the rest
  are compared as exact dyadic maps.
* **Adjacency.** Two polygons are neighbours when they share a boundary segment longer than
  ``LENGTH_ATOL`` (polygons on the two sides of one split line, or of one mesh edge). This is
  the one decision still taken in floats: on a box each region is one polygon (a cell is
  convex and the polygons of one face have distinct patterns), so regions and cells of a box
  do not depend on it; joins across mesh edges and pieces do.
* ``exact_decisions`` counts the predicates that fell back to integers; ``max_polygons``
  bounds the subdivision (:class:`RegionBudgetExceeded`).

The work is float64 numpy on the CPU: the subdivision is data-dependent (a polygon count
that grows unpredictably), which fixed-shape tensor code handles badly. The cost is about
(number of neurons) × (a few vectorised operations on the polygons a line may cross) plus,
per layer, the maps of all polygons ([2P, w] × [w, w']); temporaries of size [P, w] are
tiled (``_CHUNK_FLOATS``). docs/benchmarks.md has the measured times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["MeshRegions", "RegionBudgetExceeded", "count_regions_in_box", "count_regions_on_mesh"]

_ROUNDING = 2.0**-53
"""The unit roundoff u of float64: a correctly rounded operation has relative error at most u."""


def _gamma(terms: int) -> float:
    """γ_k = k u / (1 - k u): |fl(Σ_i x_i y_i) - Σ_i x_i y_i| <= γ_k Σ_i |x_i y_i| for k - 1 >= terms, any order."""
    return terms * _ROUNDING / (1.0 - terms * _ROUNDING)


_SAFETY = 1.0 + 1e-9  # covers the rounding of the error bounds' own float computation


LENGTH_ATOL = 1e-12
"""Shared boundaries shorter than this (unit coordinates) do not make neighbours: the one decision
still taken in floats. It can only matter where regions are joined across mesh edges, or for
pieces; on a box every region is one polygon and the count does not depend on it."""


class RegionBudgetExceeded(RuntimeError):
    """The subdivision would hold more polygons than the caller's ``max_polygons``."""


_UNIT_TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
_UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_CHUNK_FLOATS = 1 << 22  # float64 entries (32 MiB) of one tile of a [P, ...] temporary


@dataclass(frozen=True)
class MeshRegions:
    """The subdivision of a triangle mesh by a ReLU network (:func:`count_regions_on_mesh`).

    Attributes:
        regions: number of regions (connected components of mesh ∩ cell).
        cells: number of distinct activation patterns met.
        pieces: number of maximal connected unions of regions with one affine map.
        areas: shape=[regions] float64, the area of each region; they sum to the mesh area.
        cell_ids: shape=[regions] int64, index into ``patterns`` of each region's cell.
        piece_ids: shape=[regions] int64, the piece (0 .. pieces-1) holding each region.
        polygons: the convex polygons of the subdivision, each a shape=[k, n] float64 array
            of its corners in counter-clockwise order (in the triangle's parametrisation),
            in the input space R^n. Each lies in one triangle; a region crossing mesh edges
            is several polygons. On a box (:func:`count_regions_in_box`) there is exactly
            one polygon per region, in region order.
        polygon_region_ids: shape=[len(polygons)] int64, the region of each polygon.
        polygon_face_ids: shape=[len(polygons)] int64, the mesh triangle of each polygon
            (0 on a box).
        patterns: shape=[cells, hidden] bool, the activation pattern of each cell, neurons
            of the non-linear layers in order (pre-activation > 0).
        network: the LoweredNetwork counted.
        exact_decisions: how many predicates (signs at corners, a face's area being zero,
            two cells' maps being equal) the floating-point filter could not certify and that
            were decided in exact integer arithmetic.

    Properties: ``cell_maps`` (A shape=[cells, n, n_out], c shape=[cells, n_out] of the map
    x ↦ x A + c on each cell, computed on first use), ``polygon_cell_ids``.
    """

    regions: int
    cells: int
    pieces: int
    areas: np.ndarray
    cell_ids: np.ndarray
    piece_ids: np.ndarray
    polygons: list
    polygon_region_ids: np.ndarray
    polygon_face_ids: np.ndarray
    patterns: np.ndarray
    network: Any = field(repr=False, compare=False)
    exact_decisions: int = 0

    @functools.cached_property
    def cell_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, c)``: φ(x) = x A[k] + c[k] on cell k; shape=[cells, n, n_out] and [cells, n_out]."""
        return _cell_maps(self.network, self.patterns)

    @property
    def polygon_cell_ids(self) -> np.ndarray:
        """shape=[len(polygons)] int64, the cell of each polygon (for colouring figures)."""
        return self.cell_ids[self.polygon_region_ids]

    def affine_map(self, region: int) -> tuple[np.ndarray, np.ndarray]:
        """``(A, c)`` with φ(x) = x A + c on ``region``: A shape=[n, n_out], c shape=[n_out]."""
        if not 0 <= int(region) < self.regions:
            raise ValueError(f"Expected a region index in [0, {self.regions}). Received: region={region!r}.")
        cell = self.cell_ids[int(region)]
        linear, offset = self.cell_maps
        return linear[cell], offset[cell]

    def as_metrics(self) -> dict[str, Any]:
        """The counts and the total area, as plain Python numbers for metrics.json."""
        return {
            "regions": int(self.regions),
            "cells": int(self.cells),
            "pieces": int(self.pieces),
            "area": float(self.areas.sum()),
            "exact_decisions": int(self.exact_decisions),
        }


# ----------------------------------------------------------------------------- public API
def count_regions_on_mesh(
    model_or_lowered: Any, vertices: Any, faces: Any, *, max_polygons: Optional[int] = None
) -> MeshRegions:
    """Exact regions, cells and pieces of a ReLU network on a triangle mesh (module docstring).

    Args:
        model_or_lowered: a Keras model (lowered with :func:`geokeras.complexity.lowering.lower`)
            or a :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        vertices: shape=[V, n] with n the network's input dimension.
        faces: shape=[F, 3] integer indices into ``vertices``.
        max_polygons: the most polygons the subdivision may hold (``None``: no limit).

    Returns:
        :class:`MeshRegions`.

    Raises:
        ValueError: vertices of the wrong shape or not finite, faces out of range.
        RegionBudgetExceeded: the subdivision needed more than ``max_polygons`` polygons.
    """
    network = _as_lowered(model_or_lowered)
    vertices, faces = checked_mesh(vertices, faces, _input_dim(network))
    return _subdivide(network, vertices, faces, _UNIT_TRIANGLE, _checked_budget(max_polygons))


def count_regions_in_box(
    model_or_lowered: Any, low: Sequence[float], high: Sequence[float], *, max_polygons: Optional[int] = None
) -> MeshRegions:
    """Exact linear regions of a network with 2-D input on the box [low_1, high_1] x [low_2, high_2].

    The box is cut as one polygon (the unit square of its parametrisation), so each region,
    cell ∩ box, is one convex polygon. For one hidden layer of n units in general position,
    regions = 1 + (lines meeting the box) + (pairwise intersections inside it).

    Args:
        model_or_lowered: a Keras model or a LoweredNetwork with input dimension 2.
        low, high: the box's corners, two numbers each, low < high.
        max_polygons: the most polygons the subdivision may hold (``None``: no limit).

    Returns:
        :class:`MeshRegions` with one polygon per region.

    Raises:
        RegionBudgetExceeded: the subdivision needed more than ``max_polygons`` polygons.
    """
    network, low_array, high_array = checked_box(model_or_lowered, low, high)
    (x0, y0), (x1, y1) = low_array, high_array
    vertices = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return _subdivide(network, vertices, np.array([[0, 1, 2, 3]]), _UNIT_SQUARE, _checked_budget(max_polygons))


def checked_box(
    model_or_lowered: Any, low: Sequence[float], high: Sequence[float]
) -> tuple[Any, np.ndarray, np.ndarray]:
    """The lowered network (input dimension 2) and the box's corners as float64 arrays, checked."""
    network = _as_lowered(model_or_lowered)
    if _input_dim(network) != 2:
        raise ValueError(
            f"Expected a network with input dimension 2 for a box count. "
            f"Received: input dimension {_input_dim(network)}. Use count_regions_on_mesh for a mesh in R^n."
        )
    low_array = np.asarray(low, dtype=np.float64)
    high_array = np.asarray(high, dtype=np.float64)
    if low_array.shape != (2,) or high_array.shape != (2,):
        raise ValueError(f"Expected low and high of 2 numbers each. Received: low={low!r}, high={high!r}.")
    if not (np.all(np.isfinite(low_array)) and np.all(np.isfinite(high_array)) and np.all(low_array < high_array)):
        raise ValueError(f"Expected finite low < high in both coordinates. Received: low={low!r}, high={high!r}.")
    return network, low_array, high_array


def _checked_budget(max_polygons: Any) -> Optional[int]:
    if max_polygons is None:
        return None
    if isinstance(max_polygons, bool) or not isinstance(max_polygons, (int, np.integer)) or max_polygons < 1:
        raise ValueError(f"Expected max_polygons a positive integer or None. Received: max_polygons={max_polygons!r}.")
    return int(max_polygons)


# ----------------------------------------------------------------------------- input checks
def _as_lowered(model_or_lowered: Any) -> Any:
    """The LoweredNetwork itself, or a Keras model lowered to one."""
    from geokeras.complexity.lowering import lower

    return lower(model_or_lowered)


def _input_dim(network: Any) -> int:
    return int(np.shape(network.layers[0].weight)[0])


def checked_mesh(vertices: Any, faces: Any, input_dim: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices float64 [V, n], faces int64 [F, 3])`` after checking shapes, finiteness, indices.

    Args:
        input_dim: the dimension n the vertices must have (a network's input); ``None``
            accepts any n >= 2 (a surface in R^n).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    expected = "n >= 2" if input_dim is None else str(input_dim)
    if (
        vertices.ndim != 2
        or vertices.shape[0] < 3
        or (vertices.shape[1] < 2 if input_dim is None else vertices.shape[1] != input_dim)
    ):
        raise ValueError(f"Expected vertices of shape [V >= 3, {expected}]. Received: shape={list(vertices.shape)}.")
    if not np.all(np.isfinite(vertices)):
        raise ValueError("Expected finite vertices. Received NaN or infinite coordinates.")
    faces_array = np.asarray(faces)
    if faces_array.ndim != 2 or faces_array.shape[1] != 3 or faces_array.shape[0] < 1:
        raise ValueError(f"Expected faces of shape [F >= 1, 3]. Received: shape={list(faces_array.shape)}.")
    if not np.issubdtype(faces_array.dtype, np.integer):
        raise ValueError(f"Expected integer faces. Received: dtype={faces_array.dtype}.")
    if faces_array.min() < 0 or faces_array.max() >= vertices.shape[0]:
        raise ValueError(
            f"Expected face indices in [0, {vertices.shape[0]}). "
            f"Received: indices in [{faces_array.min()}, {faces_array.max()}]."
        )
    return vertices, faces_array.astype(np.int64)


# ----------------------------------------------------------------------------- polygons
class _Polygons:
    """The polygons of the subdivision as padded arrays sharing one row count.

    Fields (row p is polygon p): ``corners`` [P, K, 2] (u coordinates, counter-clockwise,
    rows past ``counts`` unused), ``counts`` [P], ``labels`` [P, K] (edge i runs from corner i
    to corner i+1; label = 2 * line + side, see :func:`_subdivide`), ``face`` [P], plus the
    per-layer fields. Appending doubles the capacity, so P splits cost O(P) copies in all.
    """

    def __init__(self, **fields: np.ndarray):
        self.size = len(fields["counts"])
        self.fields = dict(fields)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name][: self.size]

    def set_field(self, name: str, values: np.ndarray) -> None:
        capacity = len(self.fields["counts"])
        array = np.zeros((capacity,) + values.shape[1:], dtype=values.dtype)
        array[: self.size] = values
        self.fields[name] = array

    def widen(self, corners: int) -> None:
        """Make room for polygons of ``corners`` corners."""
        width = self.fields["corners"].shape[1]
        if corners <= width:
            return
        extra = corners - width
        self.fields["corners"] = np.pad(self.fields["corners"], ((0, 0), (0, extra), (0, 0)))
        self.fields["labels"] = np.pad(self.fields["labels"], ((0, 0), (0, extra)), constant_values=-1)
        self.fields["error"] = np.pad(self.fields["error"], ((0, 0), (0, extra)))

    def append(self, rows: dict[str, np.ndarray]) -> None:
        extra = len(rows["counts"])
        needed = self.size + extra
        capacity = len(self.fields["counts"])
        if needed > capacity:
            new_capacity = max(needed, 2 * capacity)
            for name, array in self.fields.items():
                grown = np.empty((new_capacity,) + array.shape[1:], dtype=array.dtype)
                grown[: self.size] = array[: self.size]
                self.fields[name] = grown
        for name, values in rows.items():
            self.fields[name][self.size : needed] = values
        self.size = needed


def _shoelace(corners: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Signed areas of padded polygons [S, K, 2] (counter-clockwise positive)."""
    width = corners.shape[1]
    following = np.where(np.arange(width)[None, :] < counts[:, None] - 1, np.arange(1, width + 1)[None, :], 0)
    nxt = np.take_along_axis(corners, following[:, :, None], axis=1)
    cross = corners[:, :, 0] * nxt[:, :, 1] - corners[:, :, 1] * nxt[:, :, 0]
    cross = np.where(np.arange(width)[None, :] < counts[:, None], cross, 0.0)
    return 0.5 * cross.sum(axis=1)


def _split_by_line(corners, counts, labels, values, signs, exact_crossings=None, errors=None):
    """Both children of convex polygons crossed by the line value = 0 (module docstring).

    Args:
        corners [S, K, 2], counts [S], labels [S, K]: the polygons.
        values [S, K]: the affine function at the corners; signs [S, K] in {-1, 0, 1}.
        exact_crossings: optional ``(mask [S, K], points [S, K, 2])``: crossing points to use
            instead of the interpolated ones (the rounded exact crossings of the exact path).
        errors: optional ``(corner_error [S, K], crossing_errors)``: the corners' error bounds and
            a function (mask [S, K], points [S, K, 2]) -> the bounds of the crossing points under mask.

    Returns:
        For the active (+) and the inactive (-) child, ``(corners [S, K', 2], counts [S],
        labels [S, K'], chord [S, K'], error [S, K'] or None)``, K' = max(K, most corners of a
        child): ``chord`` marks the edge on the splitting line, from one corner on the line to
        the next (its label is filled in by the caller).
    """
    size, width = values.shape
    rows = np.arange(size)[:, None]
    index = np.arange(width)[None, :]
    valid = index < counts[:, None]
    following = np.where(index < counts[:, None] - 1, index + 1, 0)
    next_values, next_signs = values[rows, following], signs[rows, following]
    crossing = valid & (signs * next_signs < 0)
    fraction = np.where(crossing, values / np.where(crossing, values - next_values, 1.0), 0.0)
    crossings = corners + fraction[:, :, None] * (corners[rows, following] - corners)
    if exact_crossings is not None:
        crossings = np.where(exact_crossings[0][:, :, None], exact_crossings[1], crossings)

    # Slot 2i is corner i, slot 2i+1 the crossing on edge i: the cyclic order. Sign 2 = empty.
    slot_corners = np.stack([corners, crossings], axis=2).reshape(size, 2 * width, 2)
    slot_signs = np.stack([np.where(valid, signs, 2), np.where(crossing, 0, 2)], axis=2).reshape(size, 2 * width)
    slot_labels = np.repeat(labels, 2, axis=1)
    slot_errors = None
    if errors is not None:
        crossing_error = np.zeros(values.shape)
        crossing_error[crossing] = errors[1](crossing, crossings)
        slot_errors = np.stack([errors[0], crossing_error], axis=2).reshape(size, 2 * width)
    # Both children at once: rows 0..S-1 the active (+) child, S..2S-1 the inactive (-) one.
    occupied = slot_signs != 2
    keep = np.concatenate([occupied & (slot_signs >= 0), occupied & (slot_signs <= 0)])
    count = keep.sum(axis=1)
    child_width = max(width, int(count.max()))
    child_index = np.arange(child_width)[None, :]
    # order[s, i] = the slot of the child's corner i (the kept slots, in cyclic order).
    kept_rows, kept_slots = np.nonzero(keep)
    order = np.zeros((2 * size, child_width), dtype=np.int64)
    order[kept_rows, np.cumsum(keep, axis=1)[kept_rows, kept_slots] - 1] = kept_slots
    parent = np.concatenate([rows, rows])
    child_valid = child_index < count[:, None]
    child_corners = slot_corners[parent, order]
    child_corners[~child_valid] = 0.0
    on_line = child_valid & (slot_signs[parent, order] == 0)
    next_position = np.where(child_index < count[:, None] - 1, child_index + 1, 0)
    chord = on_line & np.take_along_axis(on_line, next_position, axis=1)
    child_labels = np.where(child_valid, slot_labels[parent, order], -1)
    child_errors = None if slot_errors is None else np.where(child_valid, slot_errors[parent, order], 0.0)
    halves = (slice(0, size), slice(size, 2 * size))
    return [
        (
            child_corners[half],
            count[half],
            child_labels[half],
            chord[half],
            None if child_errors is None else child_errors[half],
        )
        for half in halves
    ]


# ----------------------------------------------------------------------------- subdivision
def _layer_parameters(network: Any) -> list[tuple[np.ndarray, np.ndarray, str, float]]:
    layers = []
    for position, layer in enumerate(network.layers):
        weight = np.asarray(layer.weight, dtype=np.float64)
        bias = np.asarray(layer.bias, dtype=np.float64)
        activation = str(getattr(layer, "activation", "linear"))
        if activation not in ("relu", "leaky_relu", "linear"):
            raise ValueError(
                f"Expected layer activations 'relu', 'leaky_relu' or 'linear'. "
                f"Received: activation={activation!r} in layer {position}."
            )
        slope = float(getattr(layer, "negative_slope", 0.0)) if activation == "leaky_relu" else 0.0
        layers.append((weight, bias, activation, slope))
    return layers


def _outline_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of polygonal faces [F, k] (vertex loops): lines, each face edge's line and side.

    Returns:
        ``(edges, lines, sides)``: edges shape=[E, 2] sorted (i < j), lines shape=[F, k] the
        edge from corner i to corner i+1 of each face, sides shape=[F, k]: 0 for the first
        face (smallest index) holding the edge, 1 for the others.
    """
    pairs = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2)
    low, high = pairs.min(axis=2), pairs.max(axis=2)
    edges, lines = np.unique(np.stack([low.ravel(), high.ravel()], axis=1), axis=0, return_inverse=True)
    lines = lines.reshape(faces.shape)
    first_face = np.full(edges.shape[0], np.iinfo(np.int64).max)
    np.minimum.at(first_face, lines.ravel(), np.repeat(np.arange(faces.shape[0]), faces.shape[1]))
    sides = (first_face[lines] != np.arange(faces.shape[0])[:, None]).astype(np.int64)
    return edges.astype(np.int64), lines.astype(np.int64), sides


def _subdivide(
    network: Any, vertices: np.ndarray, faces: np.ndarray, template: np.ndarray, max_polygons: Optional[int] = None
) -> MeshRegions:
    """Cut the faces (vertex loops [F, k], corner i at u = template[i]) by the network."""
    layers = _layer_parameters(network)
    template_area = float(_shoelace(template[None], np.array([len(template)]))[0])
    origins = vertices[faces[:, 0]]  # [F, n]
    frames = np.stack([vertices[faces[:, 1]] - origins, vertices[faces[:, -1]] - origins], axis=1)  # [F, 2, n]
    gram = frames @ np.transpose(frames, (0, 2, 1))
    face_area = template_area * np.sqrt(np.maximum(gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] ** 2, 0.0))
    exact = _ExactContext(network, vertices, faces, template)
    kept = exact.faces_of_positive_area(frames)
    if not np.any(kept):
        raise ValueError("Expected a mesh with at least one triangle of positive area. Received: all degenerate.")
    face_index = np.flatnonzero(kept)
    exact.keep_faces(face_index)
    origins, frames, face_area = origins[face_index], frames[face_index], face_area[face_index]
    edges, face_lines, face_sides = _outline_edges(faces)
    face_lines, face_sides = face_lines[face_index], face_sides[face_index]
    exact.face_lines = face_lines
    exact.mesh_lines = edges.shape[0]

    count = face_index.size
    polygons = _Polygons(
        corners=np.repeat(template[None], count, axis=0),
        counts=np.full(count, len(template), dtype=np.int64),
        labels=2 * face_lines + face_sides,
        face=np.arange(count, dtype=np.int64),
        source=np.arange(count, dtype=np.int64),
        pattern=np.zeros((count, 0), dtype=bool),
        error=np.zeros((count, len(template))),  # bound on |exact corner - float corner| (max norm, u coordinates)
    )
    line_table = _LineTable(template, face_lines, edges.shape[0], face_sides)
    # The layer's input on polygon p is h(u) = u @ G + g with G = base_linear[source[p]] * scale[p]
    # and g = base_offset[source[p]] * scale[p] (kept factored: no [P, 2, w] copy is made), with
    # error[p, r] >= max_i |exact - float| of row r (G_1, G_2, g) and magnitude[p, r] >= max_i |float|.
    # The float frame F = p_1 - p_0 is rounded once (relative error <= u); the origin is exact.
    frame_magnitude = np.abs(frames).max(axis=2)
    inputs = _LayerInputs(
        frames,
        origins,
        np.arange(count),
        np.ones((count, frames.shape[2])),
        error=np.concatenate([_ROUNDING * frame_magnitude, np.zeros((count, 1))], axis=1),
        magnitude=np.concatenate([frame_magnitude, np.abs(origins).max(axis=1, keepdims=True)], axis=1),
    )
    for position, (weight, bias, activation, slope) in enumerate(layers):
        z_linear, z_offset, coefficient_error, row_error, row_magnitude = _pre_activations(inputs, weight, bias)
        size, width = polygons.size, weight.shape[1]
        if activation == "linear":
            inputs = _LayerInputs(z_linear, z_offset, np.arange(size), np.ones((size, width)), row_error, row_magnitude)
            continue
        layer = _LayerMaps(z_linear, z_offset, coefficient_error, position)
        active, crossing, nearest = _signs_at_corners(
            polygons["corners"], polygons["counts"], polygons["error"].max(axis=1), layer
        )
        polygons.set_field("active", active)
        polygons.set_field("crossing", crossing)
        polygons.set_field("next", nearest)
        polygons.set_field("source", np.arange(size, dtype=np.int64))
        exact.start_layer(position, polygons["pattern"].copy(), polygons["face"].copy())
        # A polygon split in this layer keeps its ancestor's (the source's) layer maps.
        while _split_round(polygons, layer, line_table, exact):
            if max_polygons is not None and polygons.size > max_polygons:
                raise RegionBudgetExceeded(
                    f"Expected at most max_polygons={max_polygons} polygons. Received: {polygons.size} polygons "
                    f"in layer {position + 1} of {len(layers)}."
                )
        active = polygons["active"]
        source = polygons["source"].copy()
        scale = np.where(active, 1.0, slope)
        # Multiplying by 0 or 1 is exact; another slope s rounds once (relative error u).
        growth = max(1.0, abs(slope))
        rounding = _ROUNDING * growth if slope not in (0.0, 1.0) else 0.0
        inputs = _LayerInputs(
            z_linear,
            z_offset,
            source,
            scale,
            row_error[source] * growth + rounding * row_magnitude[source],
            row_magnitude[source] * growth,
        )
        polygons.set_field("pattern", np.concatenate([polygons["pattern"], active], axis=1))
    output_linear, output_offset = inputs.materialised()

    return _assemble(
        network=network,
        polygons=polygons,
        vertices=vertices,
        face_index=face_index,
        origins=origins,
        frames=frames,
        face_area=face_area,
        template_area=template_area,
        edges=edges,
        line_directions=line_table.directions(),
        output_linear=output_linear,
        output_offset=output_offset,
        output_error=inputs.error,
        exact=exact,
    )


@dataclass(frozen=True)
class _LayerInputs:
    """A layer's input on each polygon p: h(u) = u @ (linear[source[p]] * scale[p]) + offset[source[p]] * scale[p].

    Attributes:
        linear: shape=[P0, 2, w]; offset: shape=[P0, w] (the previous layer's pre-activations
            on the polygons of its start); source: shape=[P] int; scale: shape=[P, w] (the
            activation's slopes: 1 active, the negative slope inactive).
        error: shape=[P, 3], a bound on |exact - float| of every entry of G_1, G_2, g.
        magnitude: shape=[P, 3], a bound on |float| of every entry of G_1, G_2, g.
    """

    linear: np.ndarray
    offset: np.ndarray
    source: np.ndarray
    scale: np.ndarray
    error: np.ndarray
    magnitude: np.ndarray

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        source, scale = self.source[start:stop], self.scale[start:stop]
        return self.linear[source] * scale[:, None, :], self.offset[source] * scale

    def materialised(self) -> tuple[np.ndarray, np.ndarray]:
        return self.rows(0, self.source.size)


def _pre_activations(inputs: _LayerInputs, weight: np.ndarray, bias: np.ndarray):
    """z(u) = h(u) W + b on every polygon, in chunks of polygons, with rigorous error bounds.

    With e_r, m_r the error and magnitude bounds of row r of h's coefficients and
    S_j = Σ_i |W_ij|, the computed coefficient of row r of z_j is within
    (e_r + γ m_r) S_j (+ γ |b_j| for the offset) of the exact one, γ = γ_{w_in + 1} (the
    standard bound of a floating-point dot product, any summation order).

    Returns:
        ``(linear [P, 2, w'], offset [P, w'], coefficient_error [P, w'], row_error [P, 3],
        row_magnitude [P, 3])``: coefficient_error bounds the sum of the three coefficient errors
        of z_j; row_error / row_magnitude bound every entry of each row of z (the next layer's h).
    """
    size, width_in, width = inputs.source.size, weight.shape[0], weight.shape[1]
    linear = np.empty((size, 2, width))
    offset = np.empty((size, width))
    chunk = max(1, _CHUNK_FLOATS // (3 * max(width_in, width)))
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        g_linear, g_offset = inputs.rows(start, stop)
        linear[start:stop] = (g_linear.reshape(-1, width_in) @ weight).reshape(stop - start, 2, width)
        offset[start:stop] = g_offset @ weight + bias
    gamma = _gamma(width_in + 1)
    column_sums = np.abs(weight).sum(axis=0)
    bias_size = np.abs(bias)
    spread = (inputs.error + gamma * inputs.magnitude) * _SAFETY  # [P, 3]
    coefficient_error = np.outer(spread.sum(axis=1), column_sums) + gamma * _SAFETY * bias_size
    largest_sum, largest_bias = float(column_sums.max()), float(bias_size.max()) if bias_size.size else 0.0
    row_error = spread * largest_sum
    row_error[:, 2] += gamma * _SAFETY * largest_bias
    row_magnitude = inputs.magnitude * largest_sum * (1.0 + 2.0 * gamma) * _SAFETY
    row_magnitude[:, 2] += largest_bias * (1.0 + 2.0 * gamma) * _SAFETY
    return linear, offset, coefficient_error, row_error, row_magnitude


def _corner_tolerance(gradient_size, offset_size, coefficient_error, corner_error):
    """A bound on |z*(u*) - fl(ẑ(û))| at a corner: exact map z*, exact corner u* (|u*_i| <= 1).

    |z* - ẑ| at u* is at most the coefficient error; moving to the float corner û
    (|û - u*| <= r) adds (|L_1| + |L_2|) r; evaluating fl(û_1 L_1 + û_2 L_2 + c) adds
    γ_3 ((|L_1| + |L_2|)(1 + r) + |c|).
    """
    gamma = _gamma(3)
    return (
        coefficient_error + gradient_size * (corner_error + gamma * (1.0 + corner_error)) + gamma * offset_size
    ) * _SAFETY


def _signs_at_corners(corners, counts, corner_error, layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every polygon and neuron: active (z > 0 inside) and maybe crossed by the line z = 0; the nearest line.

    A disc test decides most pairs without visiting the corners: with c the mean of the
    corners and R their largest max-norm distance from c, |fl(z(c))| > (|∇z|_1) R + 2 τ (τ the
    corner tolerance of :func:`_corner_tolerance`) puts every exact corner strictly on the
    side of z(c). The other pairs are flagged as maybe crossed; :func:`_split_round`
    looks at their corners.
    """
    size, width = layer.offset.shape
    active = np.empty((size, width), dtype=bool)
    crossing = np.empty((size, width), dtype=bool)
    nearest = np.empty(size, dtype=np.int64)
    chunk = max(1, _CHUNK_FLOATS // (4 * width))  # bounds the float temporaries
    for start in range(0, size, chunk):
        rows = slice(start, min(size, start + chunk))
        active[rows], crossing[rows], nearest[rows] = _disc_test(
            corners[rows],
            counts[rows],
            corner_error[rows],
            layer.linear[rows],
            layer.offset[rows],
            layer.coefficient_error[rows],
        )
    return active, crossing, nearest


def _disc_test(corners, counts, corner_error, linear, offset, coefficient_error):
    """``(active, maybe crossed)`` [S, w] and the next cut [S] of polygons [S, K, 2], z = u linear [S, 2, w] + offset.

    corner_error [S] bounds the corners' errors.
    """
    index = np.arange(corners.shape[1])[None, :]
    valid = index < counts[:, None]
    centre = np.where(valid[:, :, None], corners, 0.0).sum(axis=1) / counts[:, None]
    radius = np.where(valid, np.abs(corners - centre[:, None, :]).max(axis=2), 0.0).max(axis=1) * _SAFETY
    value = centre[:, 0, None] * linear[:, 0, :] + centre[:, 1, None] * linear[:, 1, :] + offset
    gradient_size = np.abs(linear[:, 0, :]) + np.abs(linear[:, 1, :])
    tolerance = _corner_tolerance(gradient_size, np.abs(offset), coefficient_error, corner_error[:, None])
    reach = gradient_size * radius[:, None] + 2.0 * tolerance
    crossing = np.abs(value) <= reach
    # The next cut: of the lines that may cross, the one nearest the centre, |z(c)| / |∇z|_1,
    # so that cuts are balanced and few rounds are needed.
    distance = np.where(crossing, np.minimum(np.abs(value) / np.maximum(gradient_size, 1e-300), 1e300), np.inf)
    return value > 0, crossing, distance.argmin(axis=1)


class _LineTable:
    """Float coefficients (a_1, a_2, a_0) of every edge line, a_1 u_1 + a_2 u_2 + a_0 = 0, with error bounds.

    Lines ``0 .. mesh_lines - 1`` are mesh edges: in a face's parametrisation the template's
    edge lines (exact small integers, error 0). Line ``mesh_lines + i`` is the i-th split line,
    z_j(u) = 0 on the cell it split, stored as its float coefficients and a bound on the error of
    each coefficient (the layer's coefficient error). The array grows by doubling.
    """

    def __init__(self, template: np.ndarray, face_lines: np.ndarray, mesh_lines: int, face_sides=None):
        corners = len(template)
        following = np.roll(template, -1, axis=0)
        a1, a2 = template[:, 1] - following[:, 1], following[:, 0] - template[:, 0]
        self.template_lines = np.stack([a1, a2, -(a1 * template[:, 0] + a2 * template[:, 1])], axis=1)
        self.face_lines, self.mesh_lines, self.corners = face_lines, mesh_lines, corners
        # The template edge of a mesh-edge label (2 line + side) when no two faces disagree on it.
        self.template_edge_of_label = None
        if face_sides is not None:
            labels = (2 * face_lines + face_sides).ravel()
            edge = np.tile(np.arange(face_lines.shape[1]), face_lines.shape[0])
            table = np.full(2 * mesh_lines, -1, dtype=np.int64)
            table[labels] = edge
            if np.array_equal(table[labels], edge):
                self.template_edge_of_label = table
        self.coefficients = np.zeros((64, 3))
        self.errors = np.zeros(64)
        self.count = 0

    def add(self, coefficients: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Append split lines; returns their line numbers."""
        needed = self.count + len(errors)
        if needed > len(self.errors):
            capacity = max(needed, 2 * len(self.errors))
            self.coefficients = np.concatenate([self.coefficients, np.zeros((capacity - len(self.errors), 3))])
            self.errors = np.concatenate([self.errors, np.zeros(capacity - len(self.errors))])
        self.coefficients[self.count : needed] = coefficients
        self.errors[self.count : needed] = errors
        numbers = self.mesh_lines + np.arange(self.count, needed)
        self.count = needed
        return numbers

    def directions(self) -> np.ndarray:
        """Unit directions (-a_2, a_1) / |(a_1, a_2)| of the split lines, shape=[count, 2]."""
        direction = np.stack([-self.coefficients[: self.count, 1], self.coefficients[: self.count, 0]], axis=1)
        return direction / np.linalg.norm(direction, axis=1, keepdims=True)

    def of_labels(self, labels: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients [S, K, 3] and coefficient errors [S, K] of the lines of edge labels [S, K] (faces [S])."""
        line = np.maximum(labels, 0) // 2
        split = line >= self.mesh_lines
        index = np.where(split, line - self.mesh_lines, 0)
        coefficients = self.coefficients[index]
        errors = np.where(split, self.errors[index], 0.0)
        if not split.all():
            if self.template_edge_of_label is not None:
                template_edge = self.template_edge_of_label[np.where(split, 0, np.maximum(labels, 0))]
            else:
                template_edge = np.argmax(self.face_lines[faces][:, None, :] == line[:, :, None], axis=2)
            coefficients = np.where(split[:, :, None], coefficients, self.template_lines[template_edge])
        return coefficients, errors


def _intersection_errors(points, first, first_error, second, second_error, arrays: Any = np) -> Any:
    """A bound r on |u* - û|_∞ for float points û [...] meant to be u*, the exact intersection of two lines.

    A posteriori, so that errors do not accumulate over splits. The float lines â, b̂ ([..., 3]:
    a_1, a_2, a_0) have every coefficient within e_a, e_b ([...]) of the exact ones. The exact
    residuals at û are at most ρ = |fl(â·(û, 1))| + γ_3 (|â_1 û_1| + |â_2 û_2| + |â_0|) + e (|û_1| + |û_2| + 1),
    and M* (û - u*) = (a*·(û, 1), b*·(û, 1)) with M* = [a*_1 a*_2; b*_1 b*_2], so
    |û - u*|_∞ <= max(ρ_a, ρ_b) (max(|â_2| + |b̂_2|, |â_1| + |b̂_1|) + e_a + e_b) / |det M*|, where
    |det M*| >= |fl(det M̂)| - γ_2 (|â_1 b̂_2| + |â_2 b̂_1|) - (|â_1| + |â_2|) e_b - (|b̂_1| + |b̂_2|) e_a - 2 e_a e_b;
    never more than 1 + |û|_∞ (u* lies in the template, inside [0, 1]²).

    ``arrays``: the array functions (abs, maximum, minimum, where, ones_like) of the backend the
    operands belong to: numpy here, TensorFlow in :mod:`geokeras.complexity.regions_tf`; the same
    operations in the same order, so both backends bound alike.
    """
    u1, u2 = points[..., 0], points[..., 1]
    size_u = arrays.abs(u1) + arrays.abs(u2) + 1.0
    gamma3, gamma2 = _gamma(3), _gamma(2)

    def residual(line, error):
        terms = arrays.abs(line[..., 0] * u1) + arrays.abs(line[..., 1] * u2) + arrays.abs(line[..., 2])
        value = line[..., 0] * u1 + line[..., 1] * u2 + line[..., 2]
        return arrays.abs(value) + gamma3 * terms + error * size_u

    rho = arrays.maximum(residual(first, first_error), residual(second, second_error)) * _SAFETY
    a1, a2, b1, b2 = first[..., 0], first[..., 1], second[..., 0], second[..., 1]
    determinant = arrays.abs(a1 * b2 - a2 * b1) - gamma2 * (arrays.abs(a1 * b2) + arrays.abs(a2 * b1))
    determinant -= (arrays.abs(a1) + arrays.abs(a2)) * second_error + (arrays.abs(b1) + arrays.abs(b2)) * first_error
    determinant -= 2.0 * first_error * second_error
    determinant = determinant / _SAFETY
    adjugate = (
        arrays.maximum(arrays.abs(a2) + arrays.abs(b2), arrays.abs(a1) + arrays.abs(b1)) + first_error + second_error
    )
    trivial = (1.0 + arrays.maximum(arrays.abs(u1), arrays.abs(u2))) * _SAFETY
    positive = determinant > 0
    bound = arrays.where(
        positive, rho * adjugate * _SAFETY / arrays.where(positive, determinant, arrays.ones_like(determinant)), trivial
    )
    return arrays.minimum(bound, trivial)


@dataclass(frozen=True)
class _LayerMaps:
    """Pre-activations of one layer on the polygons at the layer's start: z(u) = u @ linear + offset.

    Attributes:
        linear: shape=[P0, 2, w]; offset, coefficient_error: shape=[P0, w]; position: the layer's index.
    """

    linear: np.ndarray
    offset: np.ndarray
    coefficient_error: np.ndarray
    position: int


def _split_round(polygons: _Polygons, layer: _LayerMaps, line_table: _LineTable, exact) -> bool:
    """Split every polygon that may be crossed by a neuron of the layer by its first such neuron.

    Within a layer the order of the cuts does not change the result (each polygon of the
    layer's start ends cut by every line of the layer that crosses it), so every polygon takes
    its own next neuron and a round cuts them all at once. A polygon's flags of the neurons
    that may cross it come from the disc test at the start of the layer; the children of a cut
    are disc-tested again for their own flags, so that their parts a line does not cross drop
    it (fewer rounds). A corner's sign is taken from floats when |ẑ| exceeds its tolerance
    (:func:`_corner_tolerance`); the polygons with an uncertain corner have all their signs and
    crossings computed exactly. Returns False when no polygon had a flag left.
    """
    fields = polygons.fields
    pending = fields["crossing"][: polygons.size]
    candidates = np.flatnonzero(pending.any(axis=1))
    if candidates.size == 0:
        return False
    neuron = fields["next"][candidates]  # the flagged line nearest each polygon's centre
    fields["crossing"][candidates, neuron] = False
    corners, counts = fields["corners"][candidates], fields["counts"][candidates]
    source = fields["source"][candidates]
    corner_error = fields["error"][candidates]
    gradient = layer.linear[source, :, neuron]  # [S, 2]
    values = corners[:, :, 0] * gradient[:, 0, None] + corners[:, :, 1] * gradient[:, 1, None]
    values += layer.offset[source, neuron][:, None]
    tolerance = _corner_tolerance(
        np.abs(gradient).sum(axis=1)[:, None],
        np.abs(layer.offset[source, neuron])[:, None],
        layer.coefficient_error[source, neuron][:, None],
        corner_error,
    )
    valid = np.arange(corners.shape[1])[None, :] < counts[:, None]
    signs = np.where(values > tolerance, 1, np.where(values < -tolerance, -1, 0)) * valid
    uncertain = np.flatnonzero((valid & (np.abs(values) <= tolerance)).any(axis=1))
    exact_points = None
    if uncertain.size:
        exact_points = (np.zeros(values.shape, dtype=bool), np.zeros(corners.shape))
        for row in uncertain.tolist():
            polygon = int(candidates[row])
            row_signs, crossing_mask, crossing_points = exact.signs_and_crossings(
                corners[row],
                int(counts[row]),
                fields["labels"][polygon],
                int(fields["face"][polygon]),
                layer.position,
                int(source[row]),
                int(neuron[row]),
            )
            signs[row] = row_signs
            exact_points[0][row], exact_points[1][row] = crossing_mask, crossing_points
    positive, negative = signs > 0, signs < 0
    has_positive = positive.any(axis=1)
    fields["active"][candidates, neuron] = has_positive
    local = np.flatnonzero(has_positive & negative.any(axis=1))
    if local.size == 0:
        _refresh_flags(polygons, layer, candidates)
        return True
    parents = candidates[local]
    local_exact = None if exact_points is None else (exact_points[0][local], exact_points[1][local])
    new_line = np.concatenate([gradient[local], layer.offset[source[local], neuron[local], None]], axis=1)
    new_line_error = layer.coefficient_error[source[local], neuron[local]]
    parent_labels, parent_faces = fields["labels"][parents], fields["face"][parents]

    def crossing_errors(mask, points):
        rows, edges = np.nonzero(mask)
        edge_line, edge_error = line_table.of_labels(parent_labels[rows, edges][:, None], parent_faces[rows])
        return _intersection_errors(
            points[mask], edge_line[:, 0], edge_error[:, 0], new_line[rows], new_line_error[rows]
        )

    plus, minus = _split_by_line(
        corners[local],
        counts[local],
        parent_labels,
        values[local],
        signs[local],
        local_exact,
        errors=(corner_error[local], crossing_errors),
    )
    new_lines = line_table.add(new_line, new_line_error)
    exact.register_lines(layer.position, neuron[local], source[local])

    polygons.widen(plus[0].shape[1])  # both children have the same (padded) width

    def labelled(child, side):
        child_corners, child_counts, child_labels, chord, child_error = child
        return child_corners, child_counts, np.where(chord, 2 * new_lines[:, None] + side, child_labels), child_error

    plus_corners, plus_counts, plus_labels, plus_error = labelled(plus, 0)
    minus_corners, minus_counts, minus_labels, minus_error = labelled(minus, 1)
    fields = polygons.fields  # widen may have replaced arrays
    replaced = ("corners", "counts", "labels", "error")
    rows = {name: array[parents] for name, array in fields.items() if name not in replaced}  # copies
    rows["corners"], rows["counts"], rows["labels"] = minus_corners, minus_counts, minus_labels
    rows["active"][np.arange(local.size), neuron[local]] = False
    rows["error"] = minus_error
    fields["corners"][parents] = plus_corners
    fields["counts"][parents] = plus_counts
    fields["labels"][parents] = plus_labels
    fields["active"][parents, neuron[local]] = True
    fields["error"][parents] = plus_error
    polygons.append(rows)
    _refresh_flags(polygons, layer, np.concatenate([candidates, np.arange(polygons.size - local.size, polygons.size)]))
    return True


def _refresh_flags(polygons: _Polygons, layer: _LayerMaps, rows: np.ndarray) -> None:
    """Flags of polygons just cut or looked at: lines that provably miss them dropped (their side set), next cut chosen.

    A line is dropped when every corner is strictly on one side by more than its tolerance
    (:func:`_corner_tolerance`); the next cut is the flagged line nearest the polygon's centre
    (|mean of the corner values| / |∇z|_1), so that cuts are balanced and few rounds are needed.
    """
    fields = polygons.fields
    local_rows, neurons = np.nonzero(fields["crossing"][rows])
    if local_rows.size == 0:
        return
    polygon = rows[local_rows]
    source = fields["source"][polygon]
    corners, counts, corner_error = fields["corners"][polygon], fields["counts"][polygon], fields["error"][polygon]
    gradient = layer.linear[source, :, neurons]  # [N, 2]: one (polygon, flagged neuron) pair per row
    offset = layer.offset[source, neurons]
    values = corners[:, :, 0] * gradient[:, 0, None] + corners[:, :, 1] * gradient[:, 1, None] + offset[:, None]
    gradient_size = np.abs(gradient).sum(axis=1)
    tolerance = _corner_tolerance(
        gradient_size[:, None], np.abs(offset)[:, None], layer.coefficient_error[source, neurons][:, None], corner_error
    )
    invalid = np.arange(corners.shape[1])[None, :] >= counts[:, None]
    all_above = ((values > tolerance) | invalid).all(axis=1)
    all_below = ((values < -tolerance) | invalid).all(axis=1)
    crossing = ~(all_above | all_below)
    settled = ~crossing
    fields["crossing"][polygon[settled], neurons[settled]] = False
    fields["active"][polygon[settled], neurons[settled]] = all_above[settled]
    if not crossing.any():
        return
    distance = np.abs(np.where(invalid, 0.0, values).sum(axis=1) / counts) / np.maximum(gradient_size, 1e-300)
    polygon, neurons, distance = polygon[crossing], neurons[crossing], distance[crossing]
    order = np.lexsort((distance, polygon))
    first = np.concatenate([[True], polygon[order][1:] != polygon[order][:-1]])
    fields["next"][polygon[order][first]] = neurons[order][first]


class _ExactContext:
    """The exact side of the predicates: exact lines of the polygons' edges, exact signs and crossings.

    A corner of a polygon is the intersection of the lines of its two edges; each line is
    a template edge (integer coefficients in u) or the zero set of a neuron on the cell of
    the polygon it split, z(u) = u L + c with L, c exact dyadic rationals
    (:meth:`ExactNetwork.pre_activation_map` on the face's exact frame p_1 - p_0, p_2 - p_0).
    Lines a_1 u_1 + a_2 u_2 + a_0 = 0 are integer triples; the corner of lines a and b is
    (X, Y, W) = a × b in homogeneous coordinates, and the sign of z there is
    sign(L_1 X + L_2 Y + c W) · sign(W): integers only.
    """

    def __init__(self, network, vertices, faces, template):
        from geokeras.complexity.exact import Dyadic, ExactNetwork

        self.network = network
        self._dyadic = Dyadic
        self._exact_network = None
        self.vertices, self.faces, self.template = vertices, faces, template
        self.decisions = 0
        self.face_lines = None
        self.mesh_lines = 0
        self._line_blocks = []  # [3, n] int64 blocks (layer, neuron, source) of the split lines, in order
        self._lines = np.zeros((3, 0), dtype=np.int64)
        self._layer_patterns, self._layer_faces = {}, {}
        self._maps = {}
        self._frames = {}
        self._ExactNetwork = ExactNetwork
        corners = len(template)
        self._template_lines = []
        for k in range(corners):
            (p1, p2), (q1, q2) = (int(v) for v in template[k]), (int(v) for v in template[(k + 1) % corners])
            a1, a2 = p2 - q2, q1 - p1
            self._template_lines.append((a1, a2, -(a1 * p1 + a2 * p2)))

    @property
    def exact_network(self):
        if self._exact_network is None:
            self._exact_network = self._ExactNetwork(self.network)
        return self._exact_network

    def _frame(self, face: int):
        """Exact (F [2, n], o [n]) of a kept face: F = (p_1 - p_0, p_k - p_0) without rounding."""
        if face not in self._frames:
            loop = self.faces[self.face_index[face]]
            origin = self._dyadic.from_floats(self.vertices[loop[0]])
            ends = self._dyadic.from_floats(self.vertices[[loop[1], loop[-1]]])
            self._frames[face] = (ends - self._dyadic(np.stack([origin.numerators] * 2), origin.exponent), origin)
        return self._frames[face]

    def faces_of_positive_area(self, frames: np.ndarray) -> np.ndarray:
        """Faces whose two frame vectors are linearly independent, decided exactly where floats cannot."""
        first, second = frames[:, 0, :], frames[:, 1, :]
        minors = first[:, :, None] * second[:, None, :] - first[:, None, :] * second[:, :, None]
        sizes = np.abs(first[:, :, None] * second[:, None, :]) + np.abs(first[:, None, :] * second[:, :, None])
        certain = (np.abs(minors) > 8 * _ROUNDING * sizes * _SAFETY).any(axis=(1, 2))
        kept = certain.copy()
        for face in np.flatnonzero(~certain).tolist():
            self.decisions += 1
            loop = self.faces[face]
            points = [self._dyadic.from_floats(self.vertices[i]).to_fractions() for i in (loop[0], loop[1], loop[-1])]
            u, v = points[1] - points[0], points[2] - points[0]
            n = len(u)
            kept[face] = any(u[a] * v[b] - u[b] * v[a] != 0 for a in range(n) for b in range(a + 1, n))
        return kept

    def keep_faces(self, face_index: np.ndarray) -> None:
        self.face_index = face_index

    def start_layer(self, position: int, patterns: np.ndarray, faces: np.ndarray) -> None:
        self._layer_patterns[position], self._layer_faces[position] = patterns, faces

    def register_lines(self, position: int, neurons: np.ndarray, sources: np.ndarray) -> None:
        self._line_blocks.append(np.stack([np.full(len(sources), position), neurons, sources]).astype(np.int64))

    def _neuron_line(self, position: int, source: int, neuron: int) -> tuple[int, int, int]:
        key = (position, source)
        if key not in self._maps:
            face = int(self._layer_faces[position][source])
            frame, origin = self._frame(face)
            linear, offset = self.exact_network.pre_activation_map(
                frame, origin, self._layer_patterns[position][source], position
            )
            shared = min(linear.exponent, offset.exponent)
            self._maps[key] = (
                linear.numerators * (1 << (linear.exponent - shared)),
                offset.numerators * (1 << (offset.exponent - shared)),
            )
        linear, offset = self._maps[key]
        return int(linear[0, neuron]), int(linear[1, neuron]), int(offset[neuron])

    def _edge_line(self, label: int, face: int) -> tuple[int, int, int]:
        line = int(label) // 2
        if line < self.mesh_lines:
            k = int(np.flatnonzero(self.face_lines[face] == line)[0])
            return self._template_lines[k]
        index = line - self.mesh_lines
        if index >= self._lines.shape[1]:
            self._lines = np.concatenate([self._lines, *self._line_blocks], axis=1)
            self._line_blocks = []
        position, neuron, source = (int(v) for v in self._lines[:, index])
        return self._neuron_line(position, source, neuron)

    def signs_and_crossings(self, corners, count, labels, face, position, source, neuron):
        """Exact signs of the neuron at a polygon's corners and the rounded exact crossings on its edges."""
        from fractions import Fraction

        width = corners.shape[0]
        line = self._neuron_line(position, source, neuron)
        edge_lines = [self._edge_line(labels[i], face) for i in range(count)]
        signs = np.zeros(width, dtype=np.int64)
        for i in range(count):
            a, b = edge_lines[i - 1], edge_lines[i]
            x, y, w = _cross(a, b)
            value = line[0] * x + line[1] * y + line[2] * w
            signs[i] = ((value > 0) - (value < 0)) * ((w > 0) - (w < 0))
        self.decisions += count
        mask = np.zeros(width, dtype=bool)
        points = np.zeros((width, 2))
        for i in range(count):
            if signs[i] * signs[(i + 1) % count] < 0:
                x, y, w = _cross(edge_lines[i], line)
                mask[i] = True
                points[i] = float(Fraction(x, w)), float(Fraction(y, w))
        return signs, mask, points

    def cell_map(self, pattern: np.ndarray):
        key = ("cell", pattern.tobytes())
        if key not in self._maps:
            self._maps[key] = self.exact_network.output_map(*self.exact_network.identity(), pattern)
        return self._maps[key]


def _cross(a, b):
    """Homogeneous intersection (X, Y, W) of the lines a·(u, 1) = 0 and b·(u, 1) = 0 (integer triples)."""
    return a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]


# ----------------------------------------------------------------------------- assembly
def _cell_maps(network: Any, patterns: np.ndarray, with_errors: bool = False):
    """A [C, n, n_out] and c [C, n_out] of x ↦ x A + c on each cell (the pattern's masked weights).

    The same product as ``LoweredNetwork.affine_maps``, written as one [C n, w] x [w, w'] matrix
    product per layer (numpy's stacked matmul of small matrices is far slower), in chunks of
    cells so that memory stays bounded for a large input dimension n.
    """
    count, input_dim = patterns.shape[0], network.input_dim
    chunk = max(1, _CHUNK_FLOATS // max(1, input_dim * max(network.widths)))
    linear = np.empty((count, input_dim, network.output_dim))
    offset = np.empty((count, network.output_dim))
    linear_error, offset_error = np.zeros_like(linear), np.zeros_like(offset)
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        a = np.broadcast_to(np.eye(input_dim), (stop - start, input_dim, input_dim)).reshape(-1, input_dim)
        c = np.zeros((stop - start, input_dim))
        a_error, c_error = np.zeros_like(a), np.zeros_like(c)
        for layer, columns in zip(network.layers, network.pattern_slices):
            if with_errors:
                gamma = _gamma(layer.weight.shape[0] + 1)
                size = np.abs(layer.weight)
                a_error = ((a_error + gamma * np.abs(a)) @ size) * _SAFETY
                c_error = ((c_error + gamma * np.abs(c)) @ size + gamma * np.abs(layer.bias)) * _SAFETY
            a = a @ layer.weight
            c = c @ layer.weight + layer.bias
            if layer.activation != "linear":
                slopes = np.where(patterns[start:stop, columns], 1.0, layer.negative_slope)
                a = (a.reshape(stop - start, input_dim, -1) * slopes[:, None, :]).reshape(-1, slopes.shape[1])
                c = c * slopes
                if with_errors:
                    rounding = 0.0 if layer.negative_slope in (0.0, 1.0) else _ROUNDING
                    factor = np.abs(slopes) * (1.0 + rounding)
                    a_error = (a_error.reshape(stop - start, input_dim, -1) * factor[:, None, :]).reshape(a.shape)
                    a_error += rounding * np.abs(a)
                    c_error = c_error * factor + rounding * np.abs(c)
        linear[start:stop] = a.reshape(stop - start, input_dim, -1)
        offset[start:stop] = c
        if with_errors:
            linear_error[start:stop] = a_error.reshape(stop - start, input_dim, -1)
            offset_error[start:stop] = c_error
    if with_errors:
        return (linear, offset), (linear_error, offset_error)
    return linear, offset


def _adjacent_pairs(polygons, points, edges, line_directions, vertices) -> np.ndarray:
    """Pairs (p, q) of polygons sharing a boundary segment of positive length.

    Every polygon edge carries label 2 * line + side. Per line, the edges of each side tile
    the same segment, so the elementary intervals between all their end points each lie in
    one edge of either side: that pair of polygons is adjacent.
    """
    corners, counts, labels = polygons["corners"], polygons["counts"], polygons["labels"]
    size, width = labels.shape
    index = np.arange(width)[None, :]
    valid = index < counts[:, None]
    following = np.where(index < counts[:, None] - 1, index + 1, 0)
    owner = np.broadcast_to(np.arange(size)[:, None], (size, width))[valid]
    label = labels[valid]
    line, side = label // 2, label % 2
    start_u = corners[valid]
    end_u = np.take_along_axis(corners, following[:, :, None], axis=1)[valid]
    mesh_line_count = edges.shape[0]
    on_mesh_edge = line < mesh_line_count

    # Position along the line: along a mesh edge (a, b), a < b, the fraction from a to b
    # (the same in both triangles); along a split line, u · direction.
    position = np.empty((label.size, 2))
    face_of_edge = polygons["face"][owner]
    if np.any(on_mesh_edge):
        mesh_line = line[on_mesh_edge]
        ends = edges[mesh_line]
        a_point, b_point = vertices[ends[:, 0]], vertices[ends[:, 1]]
        span = b_point - a_point
        span_squared = np.einsum("ij,ij->i", span, span)
        faces_here = face_of_edge[on_mesh_edge]
        for column, uu in enumerate((start_u[on_mesh_edge], end_u[on_mesh_edge])):
            x = points[faces_here, 0] + np.einsum("id,idn->in", uu, points[faces_here, 1:])
            position[on_mesh_edge, column] = np.einsum("ij,ij->i", x - a_point, span) / span_squared
    if np.any(~on_mesh_edge):
        directions = np.asarray(line_directions).reshape(-1, 2)[line[~on_mesh_edge] - mesh_line_count]
        position[~on_mesh_edge, 0] = np.einsum("ij,ij->i", start_u[~on_mesh_edge], directions)
        position[~on_mesh_edge, 1] = np.einsum("ij,ij->i", end_u[~on_mesh_edge], directions)
    low, high = position.min(axis=1), position.max(axis=1)

    # Elementary intervals of each line: consecutive distinct end points.
    ends_line = np.concatenate([line, line])
    ends_position = np.concatenate([low, high])
    order = np.lexsort((ends_position, ends_line))
    ends_line, ends_position = ends_line[order], ends_position[order]
    gap = (ends_line[1:] == ends_line[:-1]) & (ends_position[1:] - ends_position[:-1] > LENGTH_ATOL)
    query_line = ends_line[:-1][gap]
    query_position = 0.5 * (ends_position[:-1][gap] + ends_position[1:][gap])
    if query_line.size == 0:
        return np.zeros((0, 2), dtype=np.int64)

    found = []
    for wanted_side in (0, 1):
        chosen = np.flatnonzero(side == wanted_side)
        found.append(
            _containing_interval(line[chosen], low[chosen], high[chosen], owner[chosen], query_line, query_position)
        )
    both = (found[0] >= 0) & (found[1] >= 0)
    pairs = np.stack([found[0][both], found[1][both]], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _containing_interval(lines, lows, highs, owners, query_lines, query_positions) -> np.ndarray:
    """For each query (line, position), the owner of the interval of that line holding it, or -1."""
    if lines.size == 0:
        return np.full(query_lines.size, -1, dtype=np.int64)
    all_lines = np.concatenate([lines, query_lines])
    all_positions = np.concatenate([lows, query_positions])
    is_query = np.concatenate([np.zeros(lines.size, dtype=bool), np.ones(query_lines.size, dtype=bool)])
    order = np.lexsort((is_query, all_positions, all_lines))
    # The last interval at or before each sorted slot: its start is the largest <= the query.
    slot = np.arange(order.size)
    last_interval_slot = np.maximum.accumulate(np.where(~is_query[order], slot, -1))
    query_slots = np.flatnonzero(is_query[order])
    candidate_slot = last_interval_slot[query_slots]
    candidate = np.where(candidate_slot >= 0, order[np.maximum(candidate_slot, 0)], -1)
    query_ids = order[query_slots] - lines.size
    result = np.full(query_lines.size, -1, dtype=np.int64)
    ok = candidate >= 0
    candidate_ok = candidate[ok]
    same_line = lines[candidate_ok] == query_lines[query_ids[ok]]
    inside = highs[candidate_ok] > query_positions[query_ids[ok]]
    hit = same_line & inside
    result[query_ids[ok][hit]] = owners[candidate_ok[hit]]
    return result


class _Subset:
    """Some polygons' fields, read like :class:`_Polygons` (``subset["corners"]``)."""

    def __init__(self, fields: dict):
        self.fields, self.size = fields, len(fields["counts"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]


def _components(node_count: int, pairs: np.ndarray) -> tuple[int, np.ndarray]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(node_count, node_count))
    count, labels = connected_components(graph, directed=False)
    return int(count), labels.astype(np.int64)


def _assemble(
    *,
    network,
    polygons,
    vertices,
    face_index,
    origins,
    frames,
    face_area,
    template_area,
    edges,
    line_directions,
    output_linear,
    output_offset,
    output_error,
    exact,
) -> MeshRegions:
    """Cells, adjacency, regions and pieces of the final polygons; the result object."""
    size = polygons.size
    corners, counts = polygons["corners"], polygons["counts"]
    face_of = polygons["face"]
    points = np.concatenate([origins[:, None, :], frames], axis=1)  # [F, 3, n]: origin, then frame rows
    polygon_areas = _shoelace(corners, counts) / template_area * face_area[face_of]

    patterns = polygons["pattern"]
    if patterns.shape[1] == 0:
        unique_patterns = np.zeros((1, 0), dtype=bool)
        polygon_cells = np.zeros(size, dtype=np.int64)
    else:
        packed = np.packbits(patterns, axis=1)
        rows = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, polygon_cells = np.unique(rows, return_index=True, return_inverse=True)
        unique_patterns = patterns[first]
        polygon_cells = polygon_cells.reshape(-1)

    if unique_patterns.shape[0] == size and np.all(face_of == face_of[0]):
        # One face (a box) and one polygon per cell: no two polygons are one region, and only
        # polygons whose output maps may be equal can be one piece. Sorted by one coefficient
        # of their float maps, neighbours apart by more than their two error bounds are apart
        # from every later polygon too; adjacency is needed only inside the runs that are not.
        key, key_error = output_linear[:, 0, 0], output_error[:, 0] * _SAFETY
        order = np.argsort(key, kind="stable")
        apart = np.diff(key[order]) > key_error[order][:-1] + key_error[order][1:]
        run = np.concatenate([[0], np.cumsum(apart)])
        run_size = np.bincount(run)
        subset = np.sort(order[run_size[run] > 1])
        pairs = np.zeros((0, 2), dtype=np.int64)
        if subset.size:
            fields = {name: polygons[name][subset] for name in ("corners", "counts", "labels", "face")}
            pairs = subset[_adjacent_pairs(_Subset(fields), points, edges, line_directions, vertices)]
            pairs = pairs.reshape(-1, 2)
    else:
        pairs = _adjacent_pairs(polygons, points, edges, line_directions, vertices)
    first_cell, second_cell = polygon_cells[pairs[:, 0]], polygon_cells[pairs[:, 1]]
    same_cell = first_cell == second_cell
    region_count, polygon_regions = _components(size, pairs[same_cell])

    # Neighbours in different cells carry the same map x ↦ x A + c when the cells' exact maps
    # are equal. Two polygons of one face whose float output maps (in the face's coordinates u,
    # with the rigorous bounds of the layer inputs) differ by more than their errors have
    # different maps; the cells' float maps with their own bounds separate most of the other
    # pairs, and the rest are compared as exact dyadic rationals.
    differ = np.flatnonzero(~same_cell)
    same_map = same_cell.copy()
    if differ.size:
        first, second = pairs[differ, 0], pairs[differ, 1]
        bound = (output_error[first] + output_error[second]) * _SAFETY  # [D, 3]: rows u_1, u_2, offset
        apart = (np.abs(output_linear[first] - output_linear[second]) > bound[:, :2, None]).any(axis=(1, 2))
        apart |= (np.abs(output_offset[first] - output_offset[second]) > bound[:, 2, None]).any(axis=1)
        differ = differ[~(apart & (face_of[first] == face_of[second]))]
    if differ.size:
        first, second = polygon_cells[pairs[differ, 0]], polygon_cells[pairs[differ, 1]]
        involved, where = np.unique(np.concatenate([first, second]), return_inverse=True)
        first, second = where[: differ.size], where[differ.size :]
        cell_maps, cell_errors = _cell_maps(network, unique_patterns[involved], with_errors=True)
        flat = np.concatenate([cell_maps[0].reshape(len(involved), -1), cell_maps[1]], axis=1)
        flat_error = np.concatenate([cell_errors[0].reshape(len(involved), -1), cell_errors[1]], axis=1)
        maybe = ~(np.abs(flat[first] - flat[second]) > (flat_error[first] + flat_error[second]) * _SAFETY).any(axis=1)
        for index in np.flatnonzero(maybe).tolist():
            exact.decisions += 1
            maps = [exact.cell_map(unique_patterns[involved[cell]]) for cell in (first[index], second[index])]
            same_map[differ[index]] = all(not np.any((one - other).sign()) for one, other in zip(maps[0], maps[1]))
    piece_count, polygon_pieces = _components(size, pairs[same_map])

    polygon_regions, region_first = _numbered_by_first(polygon_regions, region_count)
    polygon_pieces, _ = _numbered_by_first(polygon_pieces, piece_count)
    ambient = origins[face_of][:, None, :] + np.einsum("pkd,pdn->pkn", corners, frames[face_of])
    result = MeshRegions(
        regions=region_count,
        cells=int(unique_patterns.shape[0]),
        pieces=piece_count,
        areas=np.bincount(polygon_regions, weights=polygon_areas, minlength=region_count),
        cell_ids=polygon_cells[region_first].astype(np.int64),
        piece_ids=polygon_pieces[region_first],
        polygons=[ambient[p, : counts[p]] for p in range(size)],
        polygon_region_ids=polygon_regions,
        polygon_face_ids=face_index[face_of].astype(np.int64),
        patterns=unique_patterns,
        network=network,
        exact_decisions=int(exact.decisions),
    )
    return result


def _numbered_by_first(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Component labels renumbered in order of first appearance, and each one's first index."""
    _, first = np.unique(labels, return_index=True)
    renumber = np.empty(count, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(count)
    return renumber[labels], np.sort(first)
