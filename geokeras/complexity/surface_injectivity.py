"""Is a ReLU encoder φ: R^n -> R^2 injective on a triangle mesh? Decided exactly.

The cells of φ cut the mesh Σ_h into convex polygons (:func:`~geokeras.complexity.mesh.count_regions_on_mesh`);
on each, φ is affine. Orient the mesh's triangles coherently (a breadth-first walk over shared
edges) and give each polygon the sign of det(E A): E = [p_1 - p_0; p_2 - p_0] the frame of its
(oriented) triangle and A the cell's linear map, so E A is φ in the triangle's coordinates.

* **Collapsed polygon** (det = 0): φ squeezes a piece of positive area onto a segment or a
  point: not injective.
* **Flipped polygon** (two signs): an injective continuous map of a connected surface into
  R^2 is open (invariance of domain), so its local orientation is the same everywhere; a
  polygon of the other sign is a fold. ``folded_area_share`` is the minority sign's share of
  the mesh area.
* **One sign everywhere**: φ is an orientation-preserving local homeomorphism away from the
  vertices of the subdivision. For a point y off the image of the boundary, the number of its
  preimages is then the degree of φ at y, which is the winding number of φ(∂Σ_h) around y
  (each preimage counts +1). With a single boundary loop whose image is a simple closed curve
  that number is 0 or 1, and φ is injective (two points with one image, or a branch point,
  would give nearby regular values two preimages). Whether the image of the boundary loop is
  simple is decided exactly by :func:`~geokeras.complexity.injectivity.polyline_injectivity`;
  if it is not simple, φ is not injective on the boundary already.
* A connected closed mesh (no boundary) is never injective into R^2 (invariance of domain).
  Meshes with several components or several boundary loops with one orientation are
  ``None``: undecided, with the reason.

Exactness: det(E A) is computed in float64 and accepted when it exceeds its forward error
bound; otherwise E A is evaluated in exact dyadic arithmetic (:class:`~geokeras.complexity.exact.ExactNetwork`).
The verdict is about the mesh Σ_h (and its subdivision as counted by the mesh module).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from geokeras.complexity.exact import Dyadic
from geokeras.complexity.injectivity import polyline_injectivity
from geokeras.complexity.lowering import lower
from geokeras.complexity.polyline import affine_map_error_bound, flat_affine_maps

__all__ = ["SurfaceInjectivity", "decide_surface_injectivity"]


@dataclass(frozen=True)
class SurfaceInjectivity:
    """The decision of :func:`decide_surface_injectivity` (module docstring).

    Attributes:
        injective: True, False, or None (undecided; see ``reason``).
        failures: ``"collapsed_polygon"``, ``"flipped_polygon"``, ``"boundary_self_intersection"``,
            ``"closed_surface_into_plane"``.
        reason: why undecided, else None.
        polygons: polygons of the subdivision; ``regions``: its regions.
        orientation: ``{"positive": k, "negative": k, "collapsed": k}`` polygon counts.
        folded_area_share: area share of the minority orientation (0 when one sign).
        boundary_loops: number of boundary loops of the mesh.
        witness: a flipped or collapsed polygon's corners, shape=[k, n] as nested lists, or None.
        exact_decisions: determinants decided in exact arithmetic.
    """

    injective: Optional[bool]
    failures: list
    reason: Optional[str]
    polygons: int
    regions: int
    orientation: dict
    folded_area_share: float
    boundary_loops: int
    witness: Optional[list]
    exact_decisions: int
    boundary: Any = field(default=None, repr=False, compare=False)

    def as_metrics(self) -> dict[str, Any]:
        return {
            "injective": self.injective,
            "failures": list(self.failures),
            "reason": self.reason,
            "polygons": int(self.polygons),
            "regions": int(self.regions),
            "orientation": {key: int(value) for key, value in self.orientation.items()},
            "folded_area_share": float(self.folded_area_share),
            "boundary_loops": int(self.boundary_loops),
            "witness": self.witness,
            "exact_decisions": int(self.exact_decisions),
            "boundary": None if self.boundary is None else self.boundary.as_metrics(),
        }


def decide_surface_injectivity(
    encoder: Any, vertices: Any, faces: Any, *, regions: Any = None, max_polygons: Optional[int] = None
) -> SurfaceInjectivity:
    """Decide exactly whether ``encoder`` (into R^2) is injective on the mesh (module docstring).

    Args:
        encoder: a Keras model or a LoweredNetwork with 2 outputs.
        vertices: shape=[V, n]; faces: shape=[F, 3].
        regions: the mesh's :class:`~geokeras.complexity.mesh.MeshRegions` for this encoder, if counted.
        max_polygons: passed to :func:`~geokeras.complexity.mesh.count_regions_on_mesh`.

    Raises:
        ValueError: an encoder whose output is not 2-dimensional.
        RegionBudgetExceeded: the subdivision passed ``max_polygons``.
    """
    from geokeras.complexity.mesh import checked_mesh, count_regions_on_mesh

    network = lower(encoder)
    if network.output_dim != 2:
        raise ValueError(f"Expected an encoder into R^2. Received: output dimension {network.output_dim}.")
    vertices, faces = checked_mesh(vertices, faces, network.input_dim)
    if regions is None:
        regions = count_regions_on_mesh(network, vertices, faces, max_polygons=max_polygons)
    face_signs, components = coherent_orientation(faces)
    loops = boundary_loops(faces)
    common = {"polygons": len(regions.polygons), "regions": int(regions.regions), "boundary_loops": len(loops)}
    if face_signs is None:
        return _undecided("the mesh is not orientable (or has an edge in more than two triangles)", common)

    signs, exact_decisions = _polygon_signs(network, vertices, faces, face_signs, regions)
    areas = _polygon_areas(regions.polygons, vertices, faces, regions.polygon_face_ids)
    positive, negative = float(areas[signs > 0].sum()), float(areas[signs < 0].sum())
    orientation = {
        "positive": int(np.sum(signs > 0)),
        "negative": int(np.sum(signs < 0)),
        "collapsed": int(np.sum(signs == 0)),
    }
    common.update(orientation=orientation, exact_decisions=exact_decisions)
    common["folded_area_share"] = min(positive, negative) / float(areas.sum())
    failures, witness = [], None
    if np.any(signs == 0):
        failures.append("collapsed_polygon")
        witness = regions.polygons[int(np.nonzero(signs == 0)[0][0])].tolist()
    if positive > 0 and negative > 0:
        failures.append("flipped_polygon")
        minority = -1 if positive >= negative else 1
        witness = witness or regions.polygons[int(np.nonzero(signs == minority)[0][0])].tolist()
    if failures:
        return SurfaceInjectivity(injective=False, failures=failures, reason=None, witness=witness, **common)
    if components != 1:
        return _undecided(f"the mesh has {components} connected components", common, orientation)
    if not loops:
        return SurfaceInjectivity(
            injective=False, failures=["closed_surface_into_plane"], reason=None, witness=None, **common
        )
    if len(loops) > 1:
        return _undecided(
            f"one orientation everywhere, but {len(loops)} boundary loops: their images' nesting is not decided",
            common,
            orientation,
        )
    boundary = polyline_injectivity(network, vertices[loops[0]], closed=True, holds_for="mesh boundary")
    failures = [] if boundary.injective else ["boundary_self_intersection"]
    return SurfaceInjectivity(
        injective=boundary.injective, failures=failures, reason=None, witness=None, boundary=boundary, **common
    )


def _undecided(reason: str, common: dict, orientation: Optional[dict] = None) -> SurfaceInjectivity:
    fields = {"orientation": orientation or {}, "folded_area_share": 0.0, "exact_decisions": 0, **common}
    return SurfaceInjectivity(injective=None, failures=[], reason=reason, witness=None, **fields)


# ----------------------------------------------------------------------------- mesh topology
def coherent_orientation(faces: np.ndarray) -> tuple[Optional[np.ndarray], int]:
    """``(signs, components)``: +1 / -1 per face so that neighbours induce opposite edge directions.

    The breadth-first flips of :mod:`geokeras.complexity.surface_rlc` (the same walk orients
    the Gauss map there). ``signs`` is None when no coherent orientation exists (a Möbius band)
    or an edge lies in more than two faces; ``components`` counts the edge-connected components.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from geokeras.complexity.surface_rlc import face_adjacency, orientation_flips
    from geokeras.manifolds.meshes import mesh_edges

    faces = np.asarray(faces, dtype=np.int64)
    if np.any(mesh_edges(faces)[1] > 2):
        return None, 0
    pairs, same_direction, _ = face_adjacency(faces)
    count = faces.shape[0]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    components = int(connected_components(graph, directed=False)[0])
    flips, orientable = orientation_flips(count, pairs, same_direction)
    return (np.where(flips, -1, 1).astype(np.int64) if orientable else None), components


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """The mesh's boundary as closed vertex loops (edges in exactly one face, chained)."""
    count: dict[tuple[int, int], int] = defaultdict(int)
    directed = {}
    for a, b, c in np.asarray(faces).tolist():
        for start, end in ((a, b), (b, c), (c, a)):
            count[(min(start, end), max(start, end))] += 1
            directed[(min(start, end), max(start, end))] = (start, end)
    following: dict[int, list[int]] = defaultdict(list)
    for key, number in count.items():
        if number == 1:
            start, end = directed[key]
            following[start].append(end)
    loops, used = [], set()
    for first in sorted(following):
        for successor in following[first]:
            if (first, successor) in used:
                continue
            loop, current, step = [first], first, successor
            while (current, step) not in used:
                used.add((current, step))
                if step == first:
                    break
                loop.append(step)
                current = step
                step = next((nxt for nxt in following[current] if (current, nxt) not in used), first)
            loops.append(np.array(loop, dtype=np.int64))
    return loops


# ----------------------------------------------------------------------------- orientation of the polygons
def _polygon_signs(network, vertices, faces, face_signs, regions) -> tuple[np.ndarray, int]:
    """sign det(E A) per polygon, times its face's orientation; exact where the float is unsure."""
    cells = regions.polygon_cell_ids
    face_of = regions.polygon_face_ids
    flat = flat_affine_maps(network, regions.patterns)
    n = network.input_dim
    linear = flat[:, : 2 * n].reshape(-1, n, 2)[cells]
    linear_error = affine_map_error_bound(network)[: 2 * n].reshape(n, 2)  # the same bound for every cell
    corners = vertices[faces[face_of]]
    frames = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=1)  # [P, 2, n]
    local = frames @ linear  # [P, 2, 2]
    local_error = np.abs(frames) @ linear_error + 4 * 2.0**-53 * (np.abs(frames) @ np.abs(linear))
    determinant = local[:, 0, 0] * local[:, 1, 1] - local[:, 0, 1] * local[:, 1, 0]
    bound = (
        local_error[:, 0, 0] * np.abs(local[:, 1, 1])
        + np.abs(local[:, 0, 0]) * local_error[:, 1, 1]
        + local_error[:, 0, 1] * np.abs(local[:, 1, 0])
        + np.abs(local[:, 0, 1]) * local_error[:, 1, 0]
        + local_error[:, 0, 0] * local_error[:, 1, 1]
        + local_error[:, 0, 1] * local_error[:, 1, 0]
        + 4 * 2.0**-53 * (np.abs(local[:, 0, 0] * local[:, 1, 1]) + np.abs(local[:, 0, 1] * local[:, 1, 0]))
    )
    signs = np.sign(determinant).astype(np.int64)
    unsure = np.nonzero(np.abs(determinant) <= bound)[0]
    if unsure.size:
        from geokeras.complexity.exact import ExactNetwork

        exact = ExactNetwork(network)
        for polygon in unsure.tolist():
            face = faces[face_of[polygon]]
            origin = Dyadic.from_floats(vertices[face[0]])
            frame = Dyadic.from_floats(vertices[face[1:]]) - Dyadic.from_floats(np.stack([vertices[face[0]]] * 2))
            matrix, _ = exact.output_map(frame, origin, regions.patterns[cells[polygon]])
            (a, b), (c, d) = matrix.numerators.tolist()
            value = a * d - b * c
            signs[polygon] = (value > 0) - (value < 0)
    return signs * face_signs[face_of], int(unsure.size)


def _polygon_areas(polygons: list, vertices: np.ndarray, faces: np.ndarray, face_of: np.ndarray) -> np.ndarray:
    """Area of each planar convex polygon (corners in R^n): the shoelace formula in an
    orthonormal basis of its triangle's plane (stable for slivers, unlike Gram determinants).
    The bases come from one batched QR of the triangles' frames."""
    origins = vertices[faces[:, 0]]
    bases, _ = np.linalg.qr(np.transpose(vertices[faces[:, 1:]] - origins[:, None, :], (0, 2, 1)))  # [F, n, 2]
    areas = np.zeros(len(polygons))
    for index, corners in enumerate(polygons):
        face = face_of[index]
        planar = (np.asarray(corners, dtype=np.float64) - origins[face]) @ bases[face]
        x, y = planar[:, 0], planar[:, 1]
        areas[index] = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return areas
