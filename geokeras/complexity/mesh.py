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
the active child, z_j < 0 and the crossings the inactive child. Neurons are taken one at a
time, all polygons at once. At the start of a layer a disc test (|z_j(centre)| > |∇z_j| ·
radius + tol) settles the sign of most (polygon, neuron) pairs in one [P, w] operation; for
each neuron only the remaining polygons (and the parts they are cut into) have their
corners evaluated, and those the line crosses are split, vectorised over them. After
the layer, h = σ(z) with the polygon's pattern: G ← (G W) diag(m), g ← (g W + b) diag(m), m = 1
for active, the negative slope (0 for ReLU) otherwise. Memory is O(P (K + w)) for P polygons
of at most K corners and width w: it grows with the number of regions, not with a grid.

Exactness (no tolerance decides a count). The network "as given" is the lowered float64
network, whose weights are dyadic rationals; float64 is only a filter:

* **Signs.** The sign of z_j at a corner is taken from floats when |z_j| > ``SIGN_RTOL`` · s_j
  + |∇z_j| ρ, with s_j = ĥ Σ_i |W_ij| + |b_j| a bound on the terms of the float sum (ĥ =
  max_i (|g_i| + |G_1i| + |G_2i|) ≥ max |h_i| over the triangle) and ρ the corner's *radius*, a
  bound on its distance from the exact corner (large where a line meets an edge at a grazing
  angle). Otherwise it is decided exactly (:class:`_ExactCorners`): each corner is the
  intersection of the exact lines of its two edges, and the sign is that of an integer
  expression. A polygon is split when it has corners strictly on both sides, however small a
  part: a line through a corner or along an edge, a valley where z_j touches 0 without
  changing sign (the tent map's), and a line coinciding exactly with an earlier one create
  no zero-area polygon, while a real sliver of any area is a region.
* **Activation of a whole polygon.** Active when some corner is strictly positive (then none
  is strictly negative); a polygon on which z_j ≡ 0 is inactive (active means z_j > 0).
* **Degenerate triangles** are skipped only when their corners are exactly collinear.
* **Adjacency.** Two polygons are neighbours when they share a boundary segment of positive
  length (more than ``LENGTH_ATOL`` in the triangle's unit coordinates, or as a fraction of a
  mesh edge): polygons on the two sides of one split line, or of one mesh edge (the first
  two triangles holding it; a non-manifold edge's further triangles are not joined).
  Touching at a point is not adjacency. Only polygons of one cell in different triangles are
  ever joined, so on a box this never affects a count.
* **Same affine map.** The map of a cell, x ↦ x A + c with A shape=[n, n_out], is the product of
  the layers' weights with the pattern's masks. Two neighbours carry the same map when their
  maps are equal as exact dyadic rationals (maps that differ by more than the filter margin
  differ at once).

The work is float64 numpy on the CPU: the subdivision is data-dependent (a polygon count
that grows unpredictably), which fixed-shape tensor code handles badly. The cost is about
(number of neurons) × (a few vectorised operations on the polygons a line may cross) plus,
per layer, the maps of all polygons ([2P, w] × [w, w']); temporaries of size [P, w] are
tiled (``_CHUNK_FLOATS``). docs/benchmarks.md has the measured times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional, Sequence

import numpy as np

from geokeras.complexity.exact import fraction

__all__ = ["MeshRegions", "RegionBudgetExceeded", "count_regions_in_box", "count_regions_on_mesh"]


class RegionBudgetExceeded(RuntimeError):
    """The subdivision grew past ``max_polygons`` (memory grows with the polygons): nothing was counted."""

SIGN_RTOL = 1e-9
"""Filter margin of the sign of a pre-activation: beyond SIGN_RTOL times the scale of its terms
(plus the corner's position error) the float sign is certain; within it the sign is computed
exactly (module docstring). It routes work; it never decides a sign."""

ROUNDING_SHARE = 1e-4
"""The rounding error of a pre-activation, as a share of SIGN_RTOL's margin (1e-13 of the scale of its
terms: float64 sums of a few hundred terms round by less); it bounds how far a float corner is from the
exact one."""

LENGTH_ATOL = 1e-12
"""Shared boundaries shorter than this (unit-triangle coordinates) do not make neighbours; it only
matters for polygons of one cell in different mesh triangles (the two sides of a split line always
differ in that line's unit)."""

_FLAT_TRIANGLE_RTOL = 1e-14  # below this relative area a triangle is checked exactly for collinearity
_UNIT_TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
_UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
_CHUNK_FLOATS = 1 << 22  # float64 entries (32 MiB) of one tile of a [P, ...] temporary
_UNIT_ROUNDOFF = 2.0**-53


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
        exact_decisions: signs and map comparisons the float filter left to exact arithmetic.

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
        max_polygons: stop with :class:`RegionBudgetExceeded` once the subdivision holds more
            polygons than this (None: no limit).

    Returns:
        :class:`MeshRegions`.

    Raises:
        ValueError: vertices of the wrong shape or not finite, faces out of range.
        RegionBudgetExceeded: more than ``max_polygons`` polygons.
    """
    network = _as_lowered(model_or_lowered)
    vertices, faces = checked_mesh(vertices, faces, _input_dim(network))
    return _subdivide(network, vertices, faces, _UNIT_TRIANGLE, max_polygons)


def count_regions_in_box(model_or_lowered: Any, low: Sequence[float], high: Sequence[float]) -> MeshRegions:
    """Exact linear regions of a network with 2-D input on the box [low_1, high_1] x [low_2, high_2].

    The box is cut as one polygon (the unit square of its parametrisation), so each region,
    cell ∩ box, is one convex polygon. For one hidden layer of n units in general position,
    regions = 1 + (lines meeting the box) + (pairwise intersections inside it).

    Args:
        model_or_lowered: a Keras model or a LoweredNetwork with input dimension 2.
        low, high: the box's corners, two numbers each, low < high.

    Returns:
        :class:`MeshRegions` with one polygon per region.
    """
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
    (x0, y0), (x1, y1) = low_array, high_array
    vertices = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return _subdivide(network, vertices, np.array([[0, 1, 2, 3]]), _UNIT_SQUARE)


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
    rows past ``counts`` unused), ``radius`` [P, K] (a bound on the distance of each float corner
    from the exact one), ``counts`` [P], ``labels`` [P, K] (edge i runs from corner i to corner
    i+1; label = 2 * line + side, see :func:`_subdivide`; corner i is the intersection of the
    lines of edges i - 1 and i), ``face`` [P], plus the per-layer fields. Appending doubles the capacity, so P splits cost O(P) copies in all.
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
        self.fields["radius"] = np.pad(self.fields["radius"], ((0, 0), (0, extra)))
        self.fields["labels"] = np.pad(self.fields["labels"], ((0, 0), (0, extra)), constant_values=-1)

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


def _split_by_line(corners, counts, labels, values, signs, radius, value_error):
    """Both children of convex polygons crossed by the line value = 0 (module docstring).

    Args:
        corners [S, K, 2], counts [S], labels [S, K], radius [S, K]: the polygons.
        values [S, K]: the affine function at the corners; signs [S, K] in {-1, 0, 1} (exact).
        value_error [S, K]: a bound on the error of ``values``.

    Returns:
        For the active (+) and the inactive (-) child, ``(corners [S, K', 2], counts [S],
        labels [S, K'], chord [S, K'], radius [S, K'])``, K' = max(K, most corners of a
        child): ``chord`` marks the edge on the splitting line, from one corner on the line to
        the next (its label is filled in by the caller). A crossing a + t (b - a),
        t = v_a / (v_a - v_b), gets the radius (δ_a + δ_b) |b - a| / |v_a - v_b| (δ the values'
        rounding errors): large where the line meets the edge at a grazing angle, so that later
        signs near such an ill-conditioned corner are decided exactly.
    """
    size, width = values.shape
    rows = np.arange(size)[:, None]
    index = np.arange(width)[None, :]
    valid = index < counts[:, None]
    following = np.where(index < counts[:, None] - 1, index + 1, 0)
    next_values, next_signs = values[rows, following], signs[rows, following]
    crossing = valid & (signs * next_signs < 0)
    gap = np.where(crossing, values - next_values, 1.0)
    fraction = np.where(crossing, values / gap, 0.0)
    edge = corners[rows, following] - corners
    crossings = corners + fraction[:, :, None] * edge
    edge_length = np.hypot(edge[:, :, 0], edge[:, :, 1])
    crossing_radius = (value_error + value_error[rows, following]) * edge_length / np.abs(gap) + 4 * _UNIT_ROUNDOFF * (
        np.abs(corners).sum(axis=2) + edge_length
    )

    # Slot 2i is corner i, slot 2i+1 the crossing on edge i: the cyclic order. Sign 2 = empty.
    slot_corners = np.stack([corners, crossings], axis=2).reshape(size, 2 * width, 2)
    slot_radius = np.stack([radius, np.where(crossing, crossing_radius, 0.0)], axis=2).reshape(size, 2 * width)
    slot_signs = np.stack([np.where(valid, signs, 2), np.where(crossing, 0, 2)], axis=2).reshape(size, 2 * width)
    slot_labels = np.repeat(labels, 2, axis=1)
    keeps = [(slot_signs != 2) & (slot_signs * side >= 0) for side in (1, -1)]
    child_counts = [keep.sum(axis=1) for keep in keeps]
    child_width = max(width, *(int(c.max()) for c in child_counts))
    child_index = np.arange(child_width)[None, :]
    children = []
    for keep, count in zip(keeps, child_counts):
        # order[s, i] = the slot of the child's corner i (the kept slots, in cyclic order).
        kept_rows, kept_slots = np.nonzero(keep)
        order = np.zeros((size, child_width), dtype=np.int64)
        order[kept_rows, np.cumsum(keep, axis=1)[kept_rows, kept_slots] - 1] = kept_slots
        child_valid = child_index < count[:, None]
        child_corners = np.where(child_valid[:, :, None], slot_corners[rows, order], 0.0)
        on_line = child_valid & (slot_signs[rows, order] == 0)
        next_position = np.where(child_index < count[:, None] - 1, child_index + 1, 0)
        chord = on_line & on_line[rows, next_position]
        child_labels = np.where(child_valid, slot_labels[rows, order], -1)
        child_radius = np.where(child_valid, slot_radius[rows, order], 0.0)
        children.append((child_corners, count, child_labels, chord, child_radius))
    return children


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
    kept = face_area > _FLAT_TRIANGLE_RTOL * face_area.max()
    for face in np.flatnonzero(~kept).tolist():  # nearly flat: skipped only if exactly flat
        kept[face] = not _exactly_collinear(vertices[faces[face]])
    if not np.any(kept):
        raise ValueError("Expected a mesh with at least one triangle of positive area. Received: all degenerate.")
    face_index = np.flatnonzero(kept)
    origins, frames, face_area = origins[face_index], frames[face_index], face_area[face_index]
    edges, face_lines, face_sides = _outline_edges(faces)
    face_lines, face_sides = face_lines[face_index], face_sides[face_index]
    exact = _ExactCorners(network, vertices, faces[face_index], face_lines, template, edges.shape[0])

    count = face_index.size
    polygons = _Polygons(
        corners=np.repeat(template[None], count, axis=0),
        radius=np.zeros((count, len(template))),
        counts=np.full(count, len(template), dtype=np.int64),
        labels=2 * face_lines + face_sides,
        face=np.arange(count, dtype=np.int64),
        source=np.arange(count, dtype=np.int64),
        pattern=np.zeros((count, 0), dtype=bool),
    )
    line_directions = _Blocks()  # unit directions (u coordinates) of the split lines, in blocks
    # The layer's input on polygon p is h(u) = u @ G + g with G = base_linear[source[p]] * scale[p]
    # and g = base_offset[source[p]] * scale[p] (kept factored: no [P, 2, w] copy is made).
    inputs = _LayerInputs(frames, origins, np.arange(count), np.ones((count, frames.shape[2])))
    for position, (weight, bias, activation, slope) in enumerate(layers):
        z_linear, z_offset, tolerance = _pre_activations(inputs, weight, bias)
        size, width = polygons.size, weight.shape[1]
        if activation == "linear":
            inputs = _LayerInputs(z_linear, z_offset, np.arange(size), np.ones((size, width)))
            continue
        active, crossing = _signs_at_corners(
            polygons["corners"], polygons["counts"], polygons["radius"], z_linear, z_offset, tolerance
        )
        polygons.set_field("active", active)
        polygons.set_field("crossing", crossing)
        polygons.set_field("source", np.arange(size, dtype=np.int64))
        # A polygon split in this layer keeps its ancestor's (the source's) layer maps.
        layer = _LayerMaps(z_linear, z_offset, tolerance, position)
        for neuron in range(width):
            _split_by_neuron(polygons, layer, neuron, line_directions, exact)
            if max_polygons is not None and polygons.size > max_polygons:
                raise RegionBudgetExceeded(
                    f"The subdivision of the mesh by the network passed max_polygons={max_polygons} "
                    f"({polygons.size} polygons after unit {neuron + 1} of {width} of a layer)."
                )
        active = polygons["active"]
        inputs = _LayerInputs(z_linear, z_offset, polygons["source"].copy(), np.where(active, 1.0, slope))
        polygons.set_field("pattern", np.concatenate([polygons["pattern"], active], axis=1))
    output_linear, output_offset = inputs.materialised()

    return _assemble(
        network=network,
        exact=exact,
        polygons=polygons,
        vertices=vertices,
        face_index=face_index,
        origins=origins,
        frames=frames,
        face_area=face_area,
        template_area=template_area,
        edges=edges,
        line_directions=np.concatenate(line_directions) if line_directions else np.zeros((0, 2)),
        output_linear=output_linear,
        output_offset=output_offset,
    )


@dataclass(frozen=True)
class _LayerInputs:
    """A layer's input on each polygon p: h(u) = u @ (linear[source[p]] * scale[p]) + offset[source[p]] * scale[p].

    Attributes:
        linear: shape=[P0, 2, w]; offset: shape=[P0, w] (the previous layer's pre-activations
            on the polygons of its start); source: shape=[P] int; scale: shape=[P, w] (the
            activation's slopes: 1 active, the negative slope inactive).
    """

    linear: np.ndarray
    offset: np.ndarray
    source: np.ndarray
    scale: np.ndarray

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        source, scale = self.source[start:stop], self.scale[start:stop]
        return self.linear[source] * scale[:, None, :], self.offset[source] * scale

    def materialised(self) -> tuple[np.ndarray, np.ndarray]:
        return self.rows(0, self.source.size)


def _pre_activations(inputs: _LayerInputs, weight: np.ndarray, bias: np.ndarray):
    """z(u) = h(u) W + b on every polygon, and the sign tolerance, in chunks of polygons.

    Returns:
        ``(linear [P, 2, w'], offset [P, w'], tolerance [P, w'])``; tolerance = SIGN_RTOL ×
        (ĥ Σ_i |W_ij| + |b_j|) with ĥ = max_i (|g_i| + |G_1i| + |G_2i|) ≥ max |h| (|u_i| ≤ 1).
    """
    size, width_in, width = inputs.source.size, weight.shape[0], weight.shape[1]
    linear = np.empty((size, 2, width))
    offset = np.empty((size, width))
    bound = np.empty(size)
    chunk = max(1, _CHUNK_FLOATS // (3 * max(width_in, width)))
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        g_linear, g_offset = inputs.rows(start, stop)
        linear[start:stop] = (g_linear.reshape(-1, width_in) @ weight).reshape(stop - start, 2, width)
        offset[start:stop] = g_offset @ weight + bias
        bound[start:stop] = (np.abs(g_offset) + np.abs(g_linear).sum(axis=1)).max(axis=1)
    tolerance = SIGN_RTOL * (np.outer(bound, np.abs(weight).sum(axis=0)) + np.abs(bias))
    return linear, offset, tolerance


def _signs_at_corners(corners, counts, corner_radius, z_linear, z_offset, tolerance) -> tuple[np.ndarray, np.ndarray]:
    """For every polygon and neuron: active (z > 0 inside) and maybe crossed by the line z = 0.

    A disc test decides most pairs without visiting the corners: with c the mean of the
    corners and r their largest distance from c (plus the corners' position errors),
    |z(c)| > |∇z| r + tol puts every corner, float or exact, on the side of z(c). The other pairs are flagged as maybe crossed; :func:`_split_by_neuron`
    looks at their corners.
    """
    index = np.arange(corners.shape[1])[None, :]
    valid = index < counts[:, None]
    centre = np.where(valid[:, :, None], corners, 0.0).sum(axis=1) / counts[:, None]
    # The disc around the centre holds the exact corners too: grow it by their position errors.
    radius = np.sqrt(np.where(valid, ((corners - centre[:, None, :]) ** 2).sum(axis=2), 0.0).max(axis=1))
    radius = radius + np.where(valid, corner_radius, 0.0).max(axis=1)
    size, width = z_offset.shape
    active = np.empty((size, width), dtype=bool)
    crossing = np.empty((size, width), dtype=bool)
    chunk = max(1, _CHUNK_FLOATS // (4 * width))  # bounds the float temporaries
    for start in range(0, size, chunk):
        rows = slice(start, min(size, start + chunk))
        gradient = z_linear[rows]
        value = centre[rows, 0, None] * gradient[:, 0, :] + centre[rows, 1, None] * gradient[:, 1, :] + z_offset[rows]
        reach = np.hypot(gradient[:, 0, :], gradient[:, 1, :]) * radius[rows, None] + tolerance[rows]
        active[rows] = value > 0
        crossing[rows] = np.abs(value) <= reach
    return active, crossing


class _Blocks(list):
    """A list of row blocks that counts its rows."""

    count = 0


@dataclass(frozen=True)
class _LayerMaps:
    """Pre-activations of one layer on the polygons at the layer's start: z(u) = u @ linear + offset.

    Attributes:
        linear: shape=[P0, 2, w]; offset, tolerance: shape=[P0, w] (the sign tolerance).
    """

    linear: np.ndarray
    offset: np.ndarray
    tolerance: np.ndarray
    position: int = 0


def _split_by_neuron(polygons: _Polygons, layer: _LayerMaps, neuron: int, line_directions: list, exact: Any) -> None:
    """Split every polygon that the neuron's line crosses; record the neuron's sign per polygon.

    Only polygons whose corners straddled the line at the start of the layer are looked at:
    a polygon cut later by another neuron of the layer inherits its parent's flags, and a
    part of a polygon the line does not cross is not crossed either. A corner's sign is read
    from float64 when |z| exceeds the filter margin plus |∇z| times the corner's position
    error, and computed exactly otherwise (:class:`_ExactCorners`); a polygon is split when it
    has corners strictly on both sides, whatever the size of the parts.
    """
    fields = polygons.fields
    candidates = np.flatnonzero(fields["crossing"][: polygons.size, neuron])
    if candidates.size == 0:
        return
    fields["crossing"][candidates, neuron] = False
    corners, counts = fields["corners"][candidates], fields["counts"][candidates]
    radius = fields["radius"][candidates]
    source = fields["source"][candidates]
    gradient = layer.linear[source, :, neuron]  # [S, 2]
    values = corners[:, :, 0] * gradient[:, 0, None] + corners[:, :, 1] * gradient[:, 1, None]
    values += layer.offset[source, neuron, None]
    valid = np.arange(corners.shape[1])[None, :] < counts[:, None]
    slope = np.hypot(gradient[:, 0], gradient[:, 1])[:, None]
    margin = layer.tolerance[source, neuron, None] + slope * radius
    # Rounding of the values themselves: ROUNDING_SHARE of the filter margin (a forward error
    # bound with room to spare), which is what moves a crossing.
    value_error = np.broadcast_to(ROUNDING_SHARE * layer.tolerance[source, neuron, None], values.shape)
    signs = np.where(valid, np.sign(values), 0).astype(np.int64)
    unsure = valid & (np.abs(values) <= margin) & (margin > 0)  # margin 0: z is exactly 0 there
    for row, corner in zip(*np.nonzero(unsure)):
        polygon = candidates[row]
        signs[row, corner] = exact.sign_at_corner(
            int(fields["face"][polygon]), fields["labels"][polygon], int(counts[row]), int(corner),
            fields["pattern"][polygon], layer.position, neuron,
        )
    positive, negative = signs > 0, signs < 0
    has_positive = positive.any(axis=1)
    fields["active"][candidates, neuron] = has_positive
    local = np.flatnonzero(has_positive & negative.any(axis=1))
    if local.size == 0:
        return
    parents = candidates[local]
    plus, minus = _split_by_line(
        corners[local], counts[local], fields["labels"][parents], values[local], signs[local], radius[local],
        value_error[local],
    )
    new_lines = exact.register_lines(fields["face"][parents], fields["pattern"][parents], layer.position, neuron)
    direction = gradient[local][:, ::-1] * np.array([-1.0, 1.0])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    line_directions.append(direction)
    line_directions.count += parents.size

    polygons.widen(plus[0].shape[1])  # both children have the same (padded) width

    def labelled(child, side):
        child_corners, child_counts, child_labels, chord, child_radius = child
        return child_corners, child_counts, np.where(chord, 2 * new_lines[:, None] + side, child_labels), child_radius

    plus_corners, plus_counts, plus_labels, plus_radius = labelled(plus, 0)
    minus_corners, minus_counts, minus_labels, minus_radius = labelled(minus, 1)
    fields = polygons.fields  # widen may have replaced arrays
    rows = {name: array[parents] for name, array in fields.items()}  # fancy indexing copies
    rows["corners"], rows["counts"], rows["labels"] = minus_corners, minus_counts, minus_labels
    rows["radius"] = minus_radius
    rows["active"][:, neuron] = False
    fields["corners"][parents] = plus_corners
    fields["counts"][parents] = plus_counts
    fields["labels"][parents] = plus_labels
    fields["radius"][parents] = plus_radius
    fields["active"][parents, neuron] = True
    polygons.append(rows)


# ----------------------------------------------------------------------------- exact fallback
class _ExactCorners:
    """Exact signs of pre-activations at polygon corners, for the few the float filter cannot settle.

    Every corner is the intersection of the lines of its two edges: a triangle's (or the box's)
    edge, exact in u coordinates, or a split line z = 0 of an earlier unit, whose coefficients
    (a, b, c) in u are exact dyadic rationals of the cell's map in the face's exact frame
    (:class:`~geokeras.complexity.exact.ExactNetwork`). With homogeneous corner
    (X, Y, W) = (a_1, b_1, c_1) × (a_2, b_2, c_2), the sign of z(u) = α u_1 + β u_2 + γ at it is
    sign(α X + β Y + γ W) sign(W), in integers.
    """

    def __init__(self, network, vertices, faces, face_lines, template, mesh_lines):
        from geokeras.complexity.exact import ExactNetwork

        self.exact = ExactNetwork(network)
        self.vertices, self.faces, self.face_lines = vertices, faces, face_lines
        self.template = [tuple(Fraction(value) for value in point) for point in template.tolist()]
        self.mesh_lines, self.count, self.decisions = mesh_lines, 0, 0
        self.blocks: list[tuple[int, np.ndarray, np.ndarray, int, int]] = []
        self._maps: dict = {}

    def register_lines(self, faces: np.ndarray, patterns: np.ndarray, layer: int, neuron: int) -> np.ndarray:
        """Ids of new split lines, one per (face, pattern) row, and what defines each."""
        first = self.mesh_lines + self.count
        self.blocks.append((first, faces.copy(), patterns.copy(), layer, neuron))
        self.count += faces.size
        return first + np.arange(faces.size)

    def _frame(self, face: int):
        from geokeras.complexity.exact import Dyadic

        loop = self.faces[face]
        origin = Dyadic.from_floats(self.vertices[loop[0]])
        ends = Dyadic.from_floats(np.stack([self.vertices[loop[1]], self.vertices[loop[-1]]]))
        return ends - Dyadic.from_floats(np.stack([self.vertices[loop[0]]] * 2)), origin

    def _pre_activation(self, face: int, pattern: np.ndarray, layer: int, neuron: int) -> tuple:
        key = (face, np.packbits(pattern).tobytes(), len(pattern), layer)
        if key not in self._maps:
            self._maps[key] = self.exact.pre_activation_map(*self._frame(face), pattern, layer)
        linear, offset = self._maps[key]
        return fraction(linear, (0, neuron)), fraction(linear, (1, neuron)), fraction(offset, (neuron,))

    def _line(self, face: int, label: int) -> tuple:
        line = int(label) // 2
        if line < self.mesh_lines:
            edge = int(np.flatnonzero(self.face_lines[face] == line)[0])
            (x1, y1), (x2, y2) = self.template[edge], self.template[(edge + 1) % len(self.template)]
            return y1 - y2, x2 - x1, x1 * y2 - x2 * y1
        for first, faces, patterns, layer, neuron in reversed(self.blocks):
            if line >= first:
                row = line - first
                return self._pre_activation(int(faces[row]), patterns[row], layer, neuron)
        raise AssertionError(f"line {line} was never registered")

    def sign_at_corner(self, face, labels, count, corner, pattern, layer, neuron) -> int:
        """sign z_neuron at corner ``corner`` of a polygon of ``face`` (its cell's lower layers: ``pattern``)."""
        self.decisions += 1
        a1, b1, c1 = self._line(face, labels[(corner - 1) % count])
        a2, b2, c2 = self._line(face, labels[corner])
        x, y, w = b1 * c2 - c1 * b2, c1 * a2 - a1 * c2, a1 * b2 - b1 * a2
        alpha, beta, gamma = self._pre_activation(face, pattern, layer, neuron)
        value = (alpha * x + beta * y + gamma * w) * (1 if w > 0 else -1)
        return (value > 0) - (value < 0)

    def same_map(self, pattern_a: np.ndarray, pattern_b: np.ndarray) -> bool:
        """Whether two cells carry exactly the same affine map of the input space."""
        self.decisions += 1
        identity = self.exact.identity()
        maps = [self.exact.output_map(*identity, pattern) for pattern in (pattern_a, pattern_b)]
        return all(not np.any((x - y).sign()) for x, y in zip(*maps))


def _exactly_collinear(points: np.ndarray) -> bool:
    """Whether the corners p_0, p_1, p_2 of a triangle in R^n lie on one line, in exact arithmetic."""
    exact = [[Fraction(value) for value in point] for point in points.tolist()]
    u = [b - a for a, b in zip(exact[0], exact[1])]
    v = [b - a for a, b in zip(exact[0], exact[2])]
    return all(u[i] * v[j] == u[j] * v[i] for i in range(len(u)) for j in range(i + 1, len(u)))


# ----------------------------------------------------------------------------- assembly
def _cell_maps(network: Any, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A [C, n, n_out] and c [C, n_out] of x ↦ x A + c on each cell (the pattern's masked weights).

    The same product as ``LoweredNetwork.affine_maps``, written as one [C n, w] x [w, w'] matrix
    product per layer (numpy's stacked matmul of small matrices is far slower), in chunks of
    cells so that memory stays bounded for a large input dimension n.
    """
    count, input_dim = patterns.shape[0], network.input_dim
    chunk = max(1, _CHUNK_FLOATS // max(1, input_dim * max(network.widths)))
    linear = np.empty((count, input_dim, network.output_dim))
    offset = np.empty((count, network.output_dim))
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        a = np.broadcast_to(np.eye(input_dim), (stop - start, input_dim, input_dim)).reshape(-1, input_dim)
        c = np.zeros((stop - start, input_dim))
        for layer, columns in zip(network.layers, network.pattern_slices):
            a = a @ layer.weight
            c = c @ layer.weight + layer.bias
            if layer.activation != "linear":
                slopes = np.where(patterns[start:stop, columns], 1.0, layer.negative_slope)
                a = (a.reshape(stop - start, input_dim, -1) * slopes[:, None, :]).reshape(-1, slopes.shape[1])
                c = c * slopes
        linear[start:stop] = a.reshape(stop - start, input_dim, -1)
        offset[start:stop] = c
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
        found.append(_containing_interval(line[chosen], low[chosen], high[chosen], owner[chosen], query_line, query_position))
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


def _components(node_count: int, pairs: np.ndarray) -> tuple[int, np.ndarray]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(node_count, node_count))
    count, labels = connected_components(graph, directed=False)
    return int(count), labels.astype(np.int64)


def _assemble(
    *, network, exact, polygons, vertices, face_index, origins, frames, face_area, template_area, edges, line_directions,
    output_linear, output_offset,
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

    pairs = _adjacent_pairs(polygons, points, edges, line_directions, vertices)
    first_cell, second_cell = polygon_cells[pairs[:, 0]], polygon_cells[pairs[:, 1]]
    same_cell = first_cell == second_cell
    region_count, polygon_regions = _components(size, pairs[same_cell])

    # The ambient map x ↦ x A + c of each side of each pair of neighbours in different cells.
    # In R^2 a polygon's map in u coordinates gives it directly: u = (x - o) F^-1, so
    # A = F^-1 M and c = m - o A; in R^n, n > 2, the cells' maps are multiplied out.
    cell_maps = None
    differ = np.flatnonzero(~same_cell)
    if vertices.shape[1] == 2:
        inverse_frames = np.linalg.inv(frames)

        def ambient_maps(polygon_ids):
            faces_here = face_of[polygon_ids]
            linear = inverse_frames[faces_here] @ output_linear[polygon_ids]
            offset = output_offset[polygon_ids] - np.einsum("in,inm->im", origins[faces_here], linear)
            return linear, offset

    else:
        cell_maps = _cell_maps(network, unique_patterns)

        def ambient_maps(polygon_ids):
            return cell_maps[0][polygon_cells[polygon_ids]], cell_maps[1][polygon_cells[polygon_ids]]

    same_map = same_cell.copy()
    if differ.size:
        flat = [np.concatenate([a.reshape(differ.size, -1), c], axis=1) for a, c in
                (ambient_maps(pairs[differ, 0]), ambient_maps(pairs[differ, 1]))]
        scale = np.maximum(np.abs(flat[0]).max(axis=1), np.abs(flat[1]).max(axis=1))
        # Maps apart by more than float error differ; the others are compared exactly.
        maybe = np.abs(flat[0] - flat[1]).max(axis=1) <= SIGN_RTOL * scale
        cache: dict = {}
        for index in np.flatnonzero(maybe).tolist():
            key = tuple(sorted((int(first_cell[differ[index]]), int(second_cell[differ[index]]))))
            if key not in cache:
                cache[key] = exact.same_map(unique_patterns[key[0]], unique_patterns[key[1]])
            same_map[differ[index]] = cache[key]
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
    if cell_maps is not None:
        result.__dict__["cell_maps"] = cell_maps  # functools.cached_property's slot
    return result


def _numbered_by_first(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Component labels renumbered in order of first appearance, and each one's first index."""
    _, first = np.unique(labels, return_index=True)
    renumber = np.empty(count, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(count)
    return renumber[labels], np.sort(first)


