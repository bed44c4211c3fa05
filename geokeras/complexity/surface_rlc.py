"""Rectified linear complexity of a surface: bounds on the fewest linear rectifiable charts.

Lei, Luo, Yau, Gu (*Geometric Understanding of Deep Learning*, arXiv:1805.10451, section 3):
an m-dimensional Σ ⊂ R^n is *linear rectifiable* when some affine
map R^n → R^m restricted to Σ is a homeomorphism onto its image, and the RLC of Σ,
N(R^n, Σ), is the fewest charts of an atlas of linear rectifiable charts. For a surface in
R^3 a chart U is linear rectifiable when, for some direction v, the projection along v onto
the plane v^⊥ is injective on U. On a triangle mesh this module calls a set of triangles a
valid chart when

1. its triangles, consistently oriented, have normals n_f in the open half-space of one v:
   n_f · v > ``NORMAL_ATOL`` for all f (then the projection is a local homeomorphism), and
2. it has no fold: no projected triangle's centroid lies inside another projected triangle
   of the chart (the projection is then injective up to overlaps smaller than a triangle);
   tested with a k-d tree of the projected centroids (scipy).

**Lower bound (Lemma 4.13, the Gauss-map test).** If the Gauss map of Σ, antipodal points
identified, covers RP^2, Σ is not one chart. On a mesh: one chart needs a v with
n_f · v > 0 for every oriented normal, an open hemisphere holding the Gauss image; the linear
program  max t  s.t. n_f · v ≥ t, -1 ≤ v_i ≤ 1  (scipy's HiGHS) decides it (``gauss_margin``
is its optimal t / |v|: > 0 iff such a v exists). A closed surface always fails it (its Gauss
map is onto S^2), and so does a non-orientable one (a chart is orientable). ``lower`` is 2
when the test fails and 1 otherwise: no better lower bound is computed.

**Upper bound (greedy region growing).** Charts are grown one at a time. A chart starts at
several directions v (the LP-centred direction of all unassigned triangles when it exists,
the normal of the unassigned triangle of smallest index, ±x, ±y, ±z) and keeps the largest
result. From v, it takes the unassigned triangle with the largest n_f · v and the connected
set of unassigned triangles reachable from it across consistently oriented edges with
n_f · v > ``NORMAL_ATOL``, re-centres v by the linear program above on the chart's normals
and grows again while that adds triangles (at most ``RECENTRE_ROUNDS`` times); if the chart
folds, it is cut to the longest fold-free prefix of its breadth-first order (binary search). The count is
an upper bound on the partition count: charts partition the triangles (an open cover needs
more, e.g. a circle: 2 pieces, 3 open arcs). It is deterministic.

Surfaces in R^2 (planar meshes) are lifted to the plane z = 0. Meshes in R^D, D > 3, whose
vertices span an affine space of dimension <= 3 (every manifold of geokeras embedded
isometrically by a random frame) are first expressed in an orthonormal basis of it (SVD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geokeras.complexity.mesh import checked_mesh

__all__ = ["SurfaceCharts", "surface_charts", "surface_rlc"]

NORMAL_ATOL = 1e-9
"""A normal counts as in the open half-space of v when n · v exceeds this."""

RECENTRE_ROUNDS = 8
"""Most re-centring rounds of a chart's direction in the greedy growth."""

_RANK_RTOL = 1e-9


@dataclass(frozen=True)
class SurfaceCharts:
    """A partition of a triangle mesh into linear rectifiable charts (:func:`surface_charts`).

    Attributes:
        chart_ids: shape=[F] int64, the chart of each triangle (0 .. charts-1); degenerate
            triangles (zero area) join a neighbouring chart or chart 0.
        directions: float64, per chart the unit direction v of its projection, shape=[charts, 3]
            (surfaces in R^D, D > 3: the flattened basis Q of its image plane, [charts, 2 D]).
        lower: the Gauss-map lower bound (1 or 2).
        gauss_margin: max over unit v of min_f n_f · v (> 0 iff one hemisphere holds all
            oriented normals); for a non-orientable mesh, of the breadth-first orientation.
        closed: every edge lies in two triangles.
        orientable: the triangles can be oriented consistently.
    """

    chart_ids: np.ndarray
    directions: np.ndarray
    lower: int
    gauss_margin: float
    closed: bool
    orientable: bool

    @property
    def charts(self) -> int:
        """The number of charts: the greedy upper bound."""
        return int(self.directions.shape[0])


def surface_rlc(vertices: Any, faces: Any) -> dict[str, Any]:
    """Bounds on the RLC of a triangulated surface, as a plain dict for metrics.json.

    Args:
        vertices: shape=[V, n], n = 2, 3, or more with an affine hull of dimension <= 3.
        faces: shape=[F, 3] integer indices.

    Returns:
        ``{"pieces", "lower", "upper", "method", "counted_as", "gauss_map_covers",
        "gauss_margin", "closed", "orientable", "triangles"}``: ``pieces`` = ``upper`` =
        the greedy chart count, ``lower`` the Gauss-map bound (module docstring).
    """
    charts = surface_charts(vertices, faces)
    return {
        "pieces": charts.charts,
        "lower": charts.lower,
        "upper": charts.charts,
        "method": "greedy_region_growing",
        "counted_as": "partition",
        "gauss_map_covers": bool(charts.gauss_margin <= NORMAL_ATOL),
        "gauss_margin": float(charts.gauss_margin),
        "closed": charts.closed,
        "orientable": charts.orientable,
        "triangles": int(charts.chart_ids.size),
    }


def surface_charts(vertices: Any, faces: Any) -> SurfaceCharts:
    """Greedy linear rectifiable charts of a triangle mesh and the Gauss-map lower bound.

    See the module docstring for the chart condition, the growth and the bounds.
    """
    points, faces = _checked_surface(vertices, faces)
    geometry = _Geometry(points, faces)
    proper = geometry.area_twice > 1e-14 * geometry.area_twice.max()
    neighbours, same_direction, closed = face_adjacency(faces)
    flips, orientable = orientation_flips(faces.shape[0], neighbours, same_direction)
    geometry.orient(flips)
    # Edges a chart may cross: the two triangles are consistently oriented after the flips.
    crossable = neighbours[~(same_direction ^ flips[neighbours[:, 0]] ^ flips[neighbours[:, 1]])]

    margin = geometry.margin(np.flatnonzero(proper))
    lower = 1 if (margin > NORMAL_ATOL and orientable and not closed) else 2

    chart_ids = np.full(faces.shape[0], -1, dtype=np.int64)
    chart_ids[~proper] = -2  # assigned to a neighbour's chart at the end
    planes = []
    while np.any(chart_ids == -1):
        members, plane = _next_chart(geometry, chart_ids, crossable)
        chart_ids[members] = len(planes)
        planes.append(plane)
    _attach_degenerate(chart_ids, neighbours)
    return SurfaceCharts(
        chart_ids=chart_ids,
        directions=np.array(planes).reshape(len(planes), -1),
        lower=lower,
        gauss_margin=float(margin),
        closed=bool(closed),
        orientable=bool(orientable),
    )


class _Geometry:
    """Per-triangle tangent data and the chart condition, in R^3 or R^D.

    In R^3 a chart's plane is represented by the projection direction v (unit) and the
    score of a triangle is n_f · v. In R^D, D > 3, by an orthonormal basis Q [D, 2] of the
    image plane, and the score is det(F_f^T Q) for the triangle's oriented orthonormal frame
    F_f (in R^3 the two agree: det(F^T Q) = n · v for Q a positive basis of v^⊥). Re-centring
    by the linear program is done in R^3 only.
    """

    def __init__(self, points: np.ndarray, faces: np.ndarray):
        self.points, self.faces = points, faces
        self.dim = points.shape[1]
        a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
        first, second = b - a, c - a
        first_length = np.linalg.norm(first, axis=1)
        e1 = first / np.where(first_length > 0, first_length, 1.0)[:, None]
        second = second - np.einsum("ij,ij->i", second, e1)[:, None] * e1
        second_length = np.linalg.norm(second, axis=1)
        self.area_twice = first_length * second_length
        e2 = second / np.where(second_length > 0, second_length, 1.0)[:, None]
        self.frames = np.stack([e1, e2], axis=2)  # [F, D, 2], oriented by the stored winding
        self.normals = np.cross(e1, e2) if self.dim == 3 else None

    def orient(self, flips: np.ndarray) -> None:
        self.frames[flips, :, 1] *= -1.0
        if self.normals is not None:
            self.normals[flips] *= -1.0

    def plane_of(self, face: int) -> np.ndarray:
        return self.normals[face].copy() if self.dim == 3 else self.frames[face].copy()

    def scores(self, plane: np.ndarray) -> np.ndarray:
        if self.dim == 3:
            return self.normals @ plane
        products = np.einsum("fdi,dj->fij", self.frames, plane)
        return products[:, 0, 0] * products[:, 1, 1] - products[:, 0, 1] * products[:, 1, 0]

    def basis(self, plane: np.ndarray) -> np.ndarray:
        """An orthonormal basis [D, 2] of the image plane."""
        if self.dim != 3:
            return plane
        helper = np.eye(3)[int(np.argmin(np.abs(plane)))]
        first = np.cross(plane, helper)
        first /= np.linalg.norm(first)
        return np.stack([first, np.cross(plane, first)], axis=1)

    def centred(self, members: np.ndarray):
        """The LP-centred plane of the members and its margin (R^3), or (None, -inf)."""
        if self.dim != 3 or members.size == 0:
            return None, -np.inf
        return _best_direction(self.normals[members])

    def margin(self, members: np.ndarray) -> float:
        """Gauss-map margin of the members (R^3: the LP; R^D: -1, no test)."""
        if self.dim != 3:
            return -1.0
        return _best_direction(self.normals[members])[1]


def _next_chart(geometry: _Geometry, chart_ids: np.ndarray, crossable: np.ndarray):
    """The largest chart among several starts (ties: the first): in R^3 the LP-centred
    direction of all unassigned triangles (when one exists), the normal of the unassigned
    triangle of smallest index, and ±x, ±y, ±z; in R^D that triangle's plane."""
    unassigned = np.flatnonzero(chart_ids == -1)
    starts = [geometry.plane_of(int(unassigned[0]))]
    centred, margin = geometry.centred(unassigned)
    if centred is not None and margin > NORMAL_ATOL:
        starts.insert(0, centred)
    if geometry.dim == 3:
        starts.extend(np.concatenate([np.eye(3), -np.eye(3)]))  # the six axis directions
    best = None
    for plane in starts:
        members, plane = _grow_chart(plane, geometry, chart_ids, crossable)
        if best is None or members.size > best[0].size:
            best = (members, plane)
    return best


# ----------------------------------------------------------------------------- geometry
def _checked_surface(vertices: Any, faces: Any) -> tuple[np.ndarray, np.ndarray]:
    """The checked mesh with its vertices in R^3 (a plane surface lifted, R^n projected on its span)."""
    vertices, faces_array = checked_mesh(vertices, faces)
    dim = vertices.shape[1]
    if dim == 2:
        points = np.concatenate([vertices, np.zeros((vertices.shape[0], 1))], axis=1)
    elif dim == 3:
        points = vertices
    else:
        centred = vertices - vertices.mean(axis=0)
        _, singular, basis = np.linalg.svd(centred, full_matrices=False)
        rank = int(np.count_nonzero(singular > _RANK_RTOL * singular[0]))
        points = centred @ basis[: max(rank, 3)].T
    return points, faces_array.astype(np.int64)


def _unit_normals(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (right-hand rule of the stored winding) and twice the triangle areas."""
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    length = np.linalg.norm(cross, axis=1)
    return cross / np.where(length > 0, length, 1.0)[:, None], length


def face_adjacency(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Pairs of triangles sharing an edge held by exactly two, and whether their windings agree.

    Returns:
        ``(pairs [E, 2], same_direction [E], closed)``: ``same_direction`` is True when both
        triangles run along the edge in the same direction (one must be flipped).
    """
    tails = faces.reshape(-1)
    heads = np.roll(faces, -1, axis=1).reshape(-1)
    size = int(faces.max()) + 1
    keys = np.minimum(tails, heads) * size + np.maximum(tails, heads)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    _, starts, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
    closed = bool(np.all(counts == 2))
    twin = starts[counts == 2]
    first, second = order[twin], order[twin + 1]
    pairs = np.stack([first // 3, second // 3], axis=1)
    same_direction = tails[first] == tails[second]
    keep = pairs[:, 0] != pairs[:, 1]
    return pairs[keep], same_direction[keep], closed


def orientation_flips(count: int, pairs: np.ndarray, same_direction: np.ndarray) -> tuple[np.ndarray, bool]:
    """Flips making windings agree along a breadth-first spanning forest; orientable or not."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    flips = np.zeros(count, dtype=bool)
    if pairs.size == 0:
        return flips, True
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(count, count)).tocsr()
    keys = rows * count + cols
    key_order = np.argsort(keys)
    sorted_keys = keys[key_order]
    flip_along = np.concatenate([same_direction, same_direction])[key_order]
    visited = np.zeros(count, dtype=bool)
    flip_list = [False] * count
    for root in range(count):
        if visited[root]:
            continue
        order, predecessors = breadth_first_order(graph, root, directed=False)
        visited[order] = True
        children = order[1:]
        parents = predecessors[children]
        along = flip_along[np.searchsorted(sorted_keys, parents * count + children)].tolist()
        for face, parent, flip in zip(children.tolist(), parents.tolist(), along):
            flip_list[face] = flip_list[parent] ^ flip
    flips = np.array(flip_list, dtype=bool)
    orientable = not bool(np.any(same_direction ^ flips[pairs[:, 0]] ^ flips[pairs[:, 1]]))
    return flips, orientable


def _best_direction(normals: np.ndarray) -> tuple[np.ndarray, float]:
    """v maximising min_f n_f · v / |v| by the LP max t s.t. n_f · v >= t, |v_i| <= 1."""
    from scipy.optimize import linprog

    if normals.shape[0] == 0:
        return np.array([0.0, 0.0, 1.0]), 1.0
    objective = np.array([0.0, 0.0, 0.0, -1.0])
    constraints = np.concatenate([-normals, np.ones((normals.shape[0], 1))], axis=1)
    solution = linprog(
        objective,
        A_ub=constraints,
        b_ub=np.zeros(normals.shape[0]),
        bounds=[(-1, 1)] * 3 + [(None, 1)],
        method="highs",
    )
    if solution.status != 0:
        return normals[0], -1.0
    v = solution.x[:3]
    length = float(np.linalg.norm(v))
    if length == 0.0:
        return normals[0], 0.0
    v = v / length
    return v, float((normals @ v).min())


def _grow_chart(plane, geometry: _Geometry, chart_ids, crossable) -> tuple[np.ndarray, np.ndarray]:
    """One chart: grow with the plane, re-centre it (R^3), cut folds (module docstring)."""
    members = _reachable(geometry.scores(plane), chart_ids, crossable)
    for _ in range(RECENTRE_ROUNDS):
        centred, margin = geometry.centred(members)
        if centred is None or margin <= NORMAL_ATOL:
            break
        grown = _reachable(geometry.scores(centred), chart_ids, crossable)
        if grown.size <= members.size:
            break
        members, plane = grown, centred
    basis = geometry.basis(plane)
    if _folds(members, basis, geometry.points, geometry.faces):
        low, high = 1, members.size  # the prefix of length `low` never folds (one triangle)
        while low < high:
            middle = (low + high + 1) // 2
            if _folds(members[:middle], basis, geometry.points, geometry.faces):
                high = middle - 1
            else:
                low = middle
        members = members[:low]
    return members, plane


def _reachable(scores: np.ndarray, chart_ids: np.ndarray, crossable: np.ndarray) -> np.ndarray:
    """Breadth-first order of the unassigned triangles with score > NORMAL_ATOL connected to the
    best-scoring one (ties: smallest index) across crossable edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    count = scores.size
    allowed = (chart_ids == -1) & (scores > NORMAL_ATOL)
    candidates = np.where(chart_ids == -1, scores, -np.inf)
    seed = int(np.argmax(candidates))
    if not allowed[seed]:
        return np.array([seed], dtype=np.int64)  # a triangle no plane of this start sees: alone
    edges = crossable[allowed[crossable[:, 0]] & allowed[crossable[:, 1]]]
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count)).tocsr()
    order = breadth_first_order(graph, seed, directed=False, return_predecessors=False)
    return np.asarray(order, dtype=np.int64)


def _folds(members: np.ndarray, basis: np.ndarray, points: np.ndarray, faces: np.ndarray) -> bool:
    """Whether a projected triangle's centroid lies strictly inside another projected triangle."""
    from scipy.spatial import cKDTree

    if members.size < 2:
        return False
    corners = points[faces[members]] @ basis  # [M, 3, 2]
    centroids = corners.mean(axis=1)
    reach = np.linalg.norm(corners - centroids[:, None, :], axis=2).max(axis=1)
    tree = cKDTree(centroids)
    candidates = tree.query_ball_point(centroids, reach)
    owner = np.repeat(np.arange(members.size), [len(c) for c in candidates])
    other = np.fromiter((j for c in candidates for j in c), dtype=np.int64, count=owner.size)
    distinct = owner != other
    owner, other = owner[distinct], other[distinct]
    if owner.size == 0:
        return False
    a, b, c = corners[owner, 0], corners[owner, 1], corners[owner, 2]
    p = centroids[other]
    # Barycentric coordinates of p in (a, b, c); strictly inside with a relative margin.
    d = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = ((p[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1])) / d
        gamma = ((b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (p[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])) / d
    margin = 1e-9
    inside = (beta > margin) & (gamma > margin) & (1.0 - beta - gamma > margin) & (np.abs(d) > 0)
    return bool(np.any(inside))


def _attach_degenerate(chart_ids: np.ndarray, pairs: np.ndarray) -> None:
    """Give zero-area triangles (id -2) the chart of a neighbour, or chart 0."""
    for _ in range(chart_ids.size):
        pending = chart_ids == -2
        if not np.any(pending):
            return
        for left, right in ((0, 1), (1, 0)):
            take = pending[pairs[:, left]] & (chart_ids[pairs[:, right]] >= 0)
            chart_ids[pairs[take, left]] = chart_ids[pairs[take, right]]
        if np.array_equal(pending, chart_ids == -2):
            chart_ids[pending] = 0
            return
