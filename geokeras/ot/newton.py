"""Damped Newton with exact power cells on a polygonal 2-D domain (solver type ``newton``).

For 2-D targets and the uniform measure on a square domain Omega = [low, high]^2 the power
cells W_i(h) = {x in Omega : <x, y_j - y_i> <= h_i - h_j for all j != i} are convex polygons,
computed exactly in float64 and in batched numpy (:func:`power_cells`): the regular
triangulation of the targets (the lower hull of the lifted points, qhull) gives the power
vertices and the neighbours of every cell; cells inside the square are the polygons of their
power vertices, the others the square clipped by their neighbours' half-planes. From them, exactly:

* cell masses w_i = |W_i| / |Omega|;
* the Hessian of E(h) = int u_h dmu - sum nu_i h_i (Lei et al. 2018 section 5):
  d w_i / d h_j = -|W_i cap W_j| / (|Omega| |y_i - y_j|) for adjacent i != j (facet length),
  d w_i / d h_i = -sum_{j != i} d w_i / d h_j: a graph Laplacian, PSD with kernel span(1).

Newton step: solve H delta = w - nu on the complement of 1 (as
(H + 1 1^T / N) delta = w - nu), h <- h - c delta with c = 1, halved until every cell keeps
half the smallest mass and |w - nu| shrinks by (1 - c/2), then re-centre h to mean 0. Stops
when max_i |w_i - nu_i| / nu_i <= tol. Converges
quadratically near the solution (Kitagawa, Merigot, Thibert 2019, "Convergence of a Newton
algorithm for semi-discrete optimal transport", JEMS). An evaluation costs one qhull call (or
none: the previous triangulation updated by edge flips, :func:`repaired_hull`) and O(N) numpy work;
a trial step whose flips prove a cell empty is halved without its cells. The Newton system is a
sparse graph Laplacian: factored by SuperLU, and from 4,096 targets that factor preconditions
conjugate gradients on the next steps' systems (inexact Newton, :class:`NewtonSystems`). On one
core of a busy 2-core machine: 2,000 targets take 0.2-0.4 s, 2·10^4 about 1.3 s (uniform) to 6 s
(clustered codes), 10^5 uniform ones 6-9 s, as fast as sdot at the same accuracy
(docs/benchmarks.md, scripts/bench_ot_newton.py).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple, Optional

import numpy as np

from geokeras.console import current_console
from geokeras.errors import SpecError
from geokeras.ot.params import NewtonParams
from geokeras.ot.solve import OTResult, mass_errors

__all__ = ["power_cells", "solve_newton"]

DOMAIN_EDGE = -1  # label of polygon edges on the domain boundary


def _clip(
    vertices: np.ndarray, labels: list[int], normal: np.ndarray, offset: float, label: int
) -> tuple[np.ndarray, list[int]]:
    """Clip a convex polygon (counter-clockwise vertices, edge k from vertex k to k + 1 labelled
    labels[k]) by the half-plane <normal, x> <= offset; new edges get ``label``."""
    count = len(vertices)
    if count == 0:
        return vertices, labels
    values = vertices @ normal - offset
    inside = values <= 0.0
    if inside.all():
        return vertices, labels
    if not inside.any():
        return np.zeros((0, 2)), []
    out_vertices: list[np.ndarray] = []
    out_labels: list[int] = []
    for k in range(count):
        current, following = vertices[k], vertices[(k + 1) % count]
        v_current, v_following = values[k], values[(k + 1) % count]
        if inside[k]:
            out_vertices.append(current)
            if inside[(k + 1) % count]:
                out_labels.append(labels[k])
            else:  # leaving: the edge is cut, then the new edge along the constraint starts
                t = v_current / (v_current - v_following)
                out_labels.append(labels[k])
                out_vertices.append(current + t * (following - current))
                out_labels.append(label)
        elif inside[(k + 1) % count]:  # entering: the cut point starts the rest of edge k
            t = v_current / (v_current - v_following)
            out_vertices.append(current + t * (following - current))
            out_labels.append(labels[k])
    return np.asarray(out_vertices), out_labels


def _area(vertices: np.ndarray) -> float:
    if len(vertices) < 3:
        return 0.0
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _every_other(count: int) -> list[np.ndarray]:
    """For each i, every j != i (the fallback candidates of :func:`power_neighbours`)."""
    return [np.delete(np.arange(count), i) for i in range(count)]


def power_neighbours(targets: np.ndarray, heights: np.ndarray) -> list[Optional[np.ndarray]]:
    """Candidate neighbours of each power cell in the whole plane, from the lifted points.

    max_i <x, y_i> + h_i is the Legendre dual of the lower convex hull of the lifted points
    (y_i, -h_i) in R^3 (Aurenhammer 1987, "Power diagrams"): cell i is non-empty in R^2 iff
    (y_i, -h_i) is a vertex of the lower hull, and W_i, W_j share an edge iff (i, j) is an edge
    of a lower facet. So W_i = {x : <x, y_j - y_i> <= h_i - h_j for the hull neighbours j}, and
    the clipped cells need only those constraints: O(N log N) (qhull) instead of N^2 clips.
    Collinear targets (all on one line: their lifted points always lie in one vertical plane,
    which qhull cannot hull) are handled in one dimension: with y_i = y_0 + t_i u, the score is
    t_i <x, u> + h_i + const, a 1-D power diagram whose non-empty cells are the vertices of the
    lower convex hull of (t_i, -h_i) and whose neighbours are consecutive hull vertices (the
    cells are slabs). Other degenerate inputs (N < 4, all lifted points coplanar, qhull failing)
    fall back to every j.

    Returns:
        for each i, the indices j (int array), or None when W_i is empty in the whole plane.
    """
    count = targets.shape[0]
    if count < 4:
        return _every_other(count)
    line = _line_coordinates(targets)
    if line is not None:
        return _line_neighbours(line, heights)
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(np.column_stack([targets, -heights]))
    except (QhullError, ValueError):
        return _every_other(count)
    lower = hull.simplices[hull.equations[:, 2] < 0.0]
    edges = np.concatenate([lower[:, [0, 1]], lower[:, [1, 2]], lower[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    both = np.concatenate([edges, edges[:, ::-1]])
    order = np.argsort(both[:, 0], kind="stable")
    starts = np.searchsorted(both[order, 0], np.arange(count + 1))
    return [both[order[starts[i] : starts[i + 1]], 1] if starts[i + 1] > starts[i] else None for i in range(count)]


def _line_coordinates(targets: np.ndarray) -> Optional[np.ndarray]:
    """t_i with y_i = y_0 + t_i (y_far - y_0) when every target lies exactly on one line, else None."""
    y = np.asarray(targets, np.float64)
    offsets = y - y[0]
    far = offsets[int(np.argmax(np.sum(offsets * offsets, axis=1)))]
    if not np.any(far):
        return None
    if np.any(offsets[:, 0] * far[1] - offsets[:, 1] * far[0] != 0.0):
        return None
    return offsets @ far / float(far @ far)


def _line_neighbours(line: np.ndarray, heights: np.ndarray) -> list[Optional[np.ndarray]]:
    """Neighbours of collinear targets: consecutive vertices of the lower hull of (t_i, -h_i)."""
    order = np.lexsort((-np.asarray(heights, np.float64), line))
    hull: list[int] = []
    for i in order:  # Andrew's monotone chain, lower hull; points on a hull edge are dropped
        if hull and line[hull[-1]] == line[i]:
            continue  # equal t: the higher h came first and dominates
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (line[b] - line[a]) * (-heights[i] + heights[a]) - (-heights[b] + heights[a]) * (line[i] - line[a])
            if cross > 0.0:
                break
            hull.pop()
        hull.append(int(i))
    neighbours: list[Optional[np.ndarray]] = [None] * line.shape[0]
    for k, i in enumerate(hull):
        neighbours[i] = np.array([hull[m] for m in (k - 1, k + 1) if 0 <= m < len(hull)], dtype=np.int64)
    return neighbours


class LowerHull(NamedTuple):
    """The regular (weighted Delaunay) triangulation of 2-D targets: the lower facets of their lifted points.

    Attributes:
        simplices: shape=[F, 3], target indices, counter-clockwise in the plane.
        across: shape=[F, 3], the lower facet on the other side of the edge from ``simplices[f, k]`` to
            ``simplices[f, (k + 1) % 3]``, or -1 where there is none (an edge of the targets' convex hull,
            whose dual edge is a ray).
    """

    simplices: np.ndarray
    across: np.ndarray


def lower_hull(targets: np.ndarray, heights: np.ndarray) -> Optional[LowerHull]:
    """The lower convex hull of the lifted points (y_i, -h_i) (qhull, triangulated), or None when qhull cannot
    build it: N < 4, collinear targets, coplanar lifted points (:func:`power_neighbours` then lists candidates)."""
    y = np.asarray(targets, np.float64)
    if y.shape[0] < 4 or _line_coordinates(y) is not None:
        return None
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(np.column_stack([y, -np.asarray(heights, np.float64)]))
    except (QhullError, ValueError):
        return None
    lower = hull.equations[:, 2] < 0.0
    simplices = hull.simplices[lower]
    across = hull.neighbors[lower][:, [2, 0, 1]]  # qhull's neighbour k is opposite vertex k
    corners = y[simplices]
    edge_1, edge_2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    clockwise = edge_1[:, 0] * edge_2[:, 1] - edge_1[:, 1] * edge_2[:, 0] < 0.0
    simplices[clockwise] = simplices[clockwise][:, [0, 2, 1]]
    across[clockwise] = across[clockwise][:, [2, 1, 0]]
    renumber = np.full(hull.simplices.shape[0], -1, np.int64)
    renumber[lower] = np.arange(simplices.shape[0])
    return LowerHull(simplices.astype(np.int64), renumber[across])


def _power_vertices(y: np.ndarray, h: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """The power vertex of each triangle (a, b, c): the x with <x, y_a> + h_a = <x, y_b> + h_b = <x, y_c> + h_c,
    from <x, y_b - y_a> = h_a - h_b, <x, y_c - y_a> = h_a - h_c by Cramer's rule (inf or nan for a flat one)."""
    a, b, c = simplices[:, 0], simplices[:, 1], simplices[:, 2]
    u, v = y[b] - y[a], y[c] - y[a]
    r, s = h[a] - h[b], h[a] - h[c]
    det = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.column_stack([(r * v[:, 1] - s * u[:, 1]) / det, (u[:, 0] * s - v[:, 0] * r) / det])


def still_regular(hull: LowerHull, targets: np.ndarray, heights: np.ndarray) -> bool:
    """Whether ``hull`` (a regular triangulation of the targets for other heights) is one for ``heights`` too.

    It is when every target is a vertex and every interior edge is locally convex: for the facets f = (a, b, c)
    and g on both sides of an edge, the lifted vertex d of g off the edge lies on or above the plane of
    f's lifted points (y, -h), i.e. det[p_b - p_a; p_c - p_a; p_d - p_a] >= 0 with f counter-clockwise. A
    triangulated surface over the convex hull of the targets that is locally convex at every edge is convex,
    so it is the lower hull (Edelsbrunner 2001, "Geometry and topology for mesh generation", section 2.1).
    The test is the floating-point sign of the determinant, no tolerance: a tie or a rounding error only
    sends the caller to edge flips or back to qhull.
    """
    violated = _violated_edges(hull, np.asarray(targets, np.float64), np.asarray(heights, np.float64))
    return violated is not None and violated[0].size == 0


def _violated_edges(hull: LowerHull, y: np.ndarray, h: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(facet, position) of each interior edge that is not locally convex (:func:`still_regular`), each edge
    once; None when a target is not a vertex."""
    simplices, across = hull.simplices, hull.across
    if np.bincount(simplices.ravel(), minlength=y.shape[0]).min() == 0:
        return None
    facet, position = np.nonzero(across > np.arange(across.shape[0])[:, None])  # each interior edge once
    other = across[facet, position]
    back = np.argmax(across[other] == facet[:, None], axis=1)
    lifted = np.column_stack([y, -h])
    a = lifted[simplices[facet, 0]]
    b, c = lifted[simplices[facet, 1]] - a, lifted[simplices[facet, 2]] - a
    d = lifted[simplices[other, (back + 2) % 3]] - a
    determinant = (
        b[:, 0] * (c[:, 1] * d[:, 2] - c[:, 2] * d[:, 1])
        - b[:, 1] * (c[:, 0] * d[:, 2] - c[:, 2] * d[:, 0])
        + b[:, 2] * (c[:, 0] * d[:, 1] - c[:, 1] * d[:, 0])
    )
    bad = determinant < 0.0
    return facet[bad], position[bad]


def _lifted_orientation(p: list, a: int, b: int, c: int, d: int) -> float:
    """det[p_b - p_a; p_c - p_a; p_d - p_a] of lifted points (x, y, -h): >= 0 when d is on or above the plane
    of a, b, c (counter-clockwise)."""
    ax, ay, az = p[a]
    bx, by, bz = p[b][0] - ax, p[b][1] - ay, p[b][2] - az
    cx, cy, cz = p[c][0] - ax, p[c][1] - ay, p[c][2] - az
    dx, dy, dz = p[d][0] - ax, p[d][1] - ay, p[d][2] - az
    return bx * (cy * dz - cz * dy) - by * (cx * dz - cz * dx) + bz * (cx * dy - cy * dx)


def repaired_hull(hull: LowerHull, targets: np.ndarray, heights: np.ndarray) -> tuple[Optional[LowerHull], int]:
    """The regular triangulation for ``heights`` from ``hull``, one for nearby heights, by edge flips.

    Lawson's flips on the lifted surface: while an interior edge ab (facets abc and bad) is not locally
    convex (:func:`still_regular`), replace it by cd; each flip lowers the surface, and the edges of the two
    new facets are checked again. A flip is impossible when the quadrilateral adbc is not strictly convex:
    then a (or b) lies in the triangle of the three others, and as d lies below the plane of a, b, c, the
    lifted a lies above the plane of the lifted d, b, c: a is hidden (:func:`_hidden`), its cell is empty,
    and no triangulation of all targets is regular. One flip at a time in Python; from
    :data:`BATCHED_FLIPS_FROM` edges to flip, in numpy rounds (:func:`_batched_flips`).

    Returns:
        ``(triangulation, hidden)``: ``(hull, -1)`` itself when nothing is to flip; ``(flipped, -1)``;
        ``(None, i)`` when target i is hidden (checked on its own by :func:`_hidden`); ``(None, -1)`` (the
        caller then runs qhull) when a target is not a vertex of ``hull``, when more than a fifth of the
        edges are not locally convex, when an impossible flip comes without a checked hidden target, or
        after more than 4 flips per edge first found.
    """
    y = np.asarray(targets, np.float64)
    h = np.asarray(heights, np.float64)
    violated = _violated_edges(hull, y, h)
    if violated is None or violated[0].size > 0.2 * 1.5 * hull.simplices.shape[0]:
        return None, -1
    if violated[0].size == 0:
        return hull, -1
    if violated[0].size >= BATCHED_FLIPS_FROM:
        return _batched_flips(hull, y, h, *violated)
    simplices, across, points = _Rows(hull.simplices), _Rows(hull.across), _Rows(np.column_stack([y, -h]))
    stack = list(zip(violated[0].tolist(), violated[1].tolist()))
    budget = 4 * len(stack) + 100
    while stack:
        f, k = stack.pop()
        g = across[f][k]
        if g < 0:
            continue
        a, b, c = simplices[f][k], simplices[f][(k + 1) % 3], simplices[f][(k + 2) % 3]
        back = across[g].index(f)
        d = simplices[g][(back + 2) % 3]
        if _lifted_orientation(points, a, b, c, d) >= 0.0:
            continue
        budget -= 1
        if budget < 0:
            return None, -1
        if _orientation(points, a, d, c) <= 0.0:  # a in the triangle dbc
            return None, a if _hidden(points, a, d, b, c) else -1
        if _orientation(points, d, b, c) <= 0.0:  # b in the triangle adc
            return None, b if _hidden(points, b, a, d, c) else -1
        beyond_bc, beyond_ca = across[f][(k + 1) % 3], across[f][(k + 2) % 3]
        beyond_ad, beyond_db = across[g][(back + 1) % 3], across[g][(back + 2) % 3]
        simplices[f], across[f] = [a, d, c], [beyond_ad, g, beyond_ca]
        simplices[g], across[g] = [d, b, c], [beyond_db, beyond_bc, f]
        if beyond_ad >= 0:
            across[beyond_ad][across[beyond_ad].index(g)] = f
        if beyond_bc >= 0:
            across[beyond_bc][across[beyond_bc].index(f)] = g
        stack.extend([(f, 0), (f, 2), (g, 0), (g, 1)])
    return LowerHull(simplices.written(), across.written()), -1


BATCHED_FLIPS_FROM = 512
"""Edges not locally convex from which :func:`repaired_hull` flips in numpy rounds (:func:`_batched_flips`)
rather than one flip at a time in Python."""


def _batched_flips(
    hull: LowerHull, y: np.ndarray, h: np.ndarray, facets: np.ndarray, positions: np.ndarray
) -> tuple[Optional[LowerHull], int]:
    """:func:`repaired_hull`'s flips in rounds of independent flips, each round in numpy.

    A round takes the candidate edges (facet, position) that are not locally convex, keeps those whose
    two facets and four outer neighbours no candidate of lower rank touches (so that the flips of a
    round write disjoint rows), flips them as one flip would, and takes as the next candidates the four
    outer edges of each flipped pair and the candidates left over. The same flips as one at a time, in
    another order; the same outcomes (hidden targets, the budget of 4 flips per edge first found).
    """
    simplices, across = hull.simplices.copy(), hull.across.copy()
    lifted = np.column_stack([y, -h])
    budget = 4 * facets.size + 100
    owner = np.full(simplices.shape[0], np.iinfo(np.int64).max, np.int64)
    while facets.size:
        other = across[facets, positions]
        keep = other >= 0
        f, k, g = facets[keep], positions[keep], other[keep]
        a, b, c = simplices[f, k], simplices[f, (k + 1) % 3], simplices[f, (k + 2) % 3]
        back = np.argmax(across[g] == f[:, None], axis=1)
        d = simplices[g, (back + 2) % 3]
        bad = _lifted_orientations(lifted, a, b, c, d) < 0.0
        if not bad.any():
            break
        f, k, g, back, a, b, c, d = (array[bad] for array in (f, k, g, back, a, b, c, d))
        reflex_a = _orientations(lifted, a, d, c) <= 0.0
        reflex_b = ~reflex_a & (_orientations(lifted, d, b, c) <= 0.0)
        if reflex_a.any() or reflex_b.any():
            p = lifted.tolist()
            for i, j in zip(*np.nonzero(np.column_stack([reflex_a, reflex_b]))):
                target, corners = (a[i], (d[i], b[i], c[i])) if j == 0 else (b[i], (a[i], d[i], c[i]))
                if _hidden(p, int(target), *map(int, corners)):
                    return None, int(target)
            return None, -1
        beyond_bc, beyond_ca = across[f, (k + 1) % 3], across[f, (k + 2) % 3]
        beyond_ad, beyond_db = across[g, (back + 1) % 3], across[g, (back + 2) % 3]
        touched = np.column_stack([f, g, beyond_bc, beyond_ca, beyond_ad, beyond_db])
        rank = np.broadcast_to(np.arange(f.size)[:, None], touched.shape)
        valid = touched >= 0
        owner[touched[valid]] = np.iinfo(np.int64).max
        np.minimum.at(owner, touched[valid], rank[valid])
        chosen = np.all(~valid | (owner[np.maximum(touched, 0)] == rank), axis=1)
        budget -= int(chosen.sum())
        if budget < 0:
            return None, -1
        left = (f[~chosen], k[~chosen])
        f, g, a, b, c, d = (array[chosen] for array in (f, g, a, b, c, d))
        beyond_bc, beyond_ca, beyond_ad, beyond_db = (
            array[chosen] for array in (beyond_bc, beyond_ca, beyond_ad, beyond_db)
        )
        for outer, old, new in ((beyond_ad, g, f), (beyond_bc, f, g)):  # the outer facets' pointers first
            inner = outer >= 0
            rows, old, new = outer[inner], old[inner], new[inner]
            across[rows, np.argmax(across[rows] == old[:, None], axis=1)] = new
        simplices[f] = np.column_stack([a, d, c])
        across[f] = np.column_stack([beyond_ad, g, beyond_ca])
        simplices[g] = np.column_stack([d, b, c])
        across[g] = np.column_stack([beyond_db, beyond_bc, f])
        facets = np.concatenate([f, f, g, g, left[0]])
        positions = np.concatenate([np.zeros_like(f), np.full_like(f, 2), np.zeros_like(g), np.ones_like(g), left[1]])
    return LowerHull(simplices, across), -1


def _orientations(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """:func:`_orientation` of many triangles."""
    return (p[b, 0] - p[a, 0]) * (p[c, 1] - p[a, 1]) - (p[b, 1] - p[a, 1]) * (p[c, 0] - p[a, 0])


def _lifted_orientations(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """:func:`_lifted_orientation` of many quadruples (the same operations, so the same signs)."""
    origin = p[a]
    u, v, w = p[b] - origin, p[c] - origin, p[d] - origin
    return (
        u[:, 0] * (v[:, 1] * w[:, 2] - v[:, 2] * w[:, 1])
        - u[:, 1] * (v[:, 0] * w[:, 2] - v[:, 2] * w[:, 0])
        + u[:, 2] * (v[:, 0] * w[:, 1] - v[:, 1] * w[:, 0])
    )


def _hidden(p: list, i: int, a: int, b: int, c: int) -> bool:
    """Whether target i is proven to have an empty cell by the triangle abc (counter-clockwise in the plane).

    When y_i = sum_k l_k y_k with l >= 0 summing to 1 (y_i in the closed triangle) and the lifted point
    (y_i, -h_i) lies strictly above the plane of the lifted a, b, c (h_i < sum_k l_k h_k), then for every x,
    <x, y_i> + h_i < sum_k l_k (<x, y_k> + h_k) <= max_k <x, y_k> + h_k: i is nowhere the argmax, W_i is
    empty. Floating-point signs, no tolerance: a wrong sign needs a lifted point within rounding of the
    plane, whose cell is then of rounding size at most (far below the damping's mass floor).
    """
    inside = _orientation(p, a, b, i) >= 0.0 and _orientation(p, b, c, i) >= 0.0 and _orientation(p, c, a, i) >= 0.0
    return _orientation(p, a, b, c) > 0.0 and inside and _lifted_orientation(p, a, b, c, i) > 0.0


class _Rows(dict):
    """Rows of an array as lists, read on first use: a flip touches a few facets of many."""

    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.array = array

    def __missing__(self, key: int) -> list:
        row = self[key] = self.array[key].tolist()
        return row

    def written(self) -> np.ndarray:
        """A copy of the array with the rows read (and maybe changed) put back."""
        array = self.array.copy()
        if self:
            array[np.fromiter(self.keys(), np.int64, len(self))] = np.array(list(self.values()), array.dtype)
        return array


def _orientation(p: list, a: int, b: int, c: int) -> float:
    """Twice the signed area of the projected triangle abc (> 0: counter-clockwise)."""
    return (p[b][0] - p[a][0]) * (p[c][1] - p[a][1]) - (p[b][1] - p[a][1]) * (p[c][0] - p[a][0])


def power_cells(
    targets: np.ndarray, heights: np.ndarray, low: float, high: float, *, polygons: bool = True
) -> tuple[np.ndarray, Any, Optional[list]]:
    """Exact power cells of 2-D targets in the square [low, high]^2, in float64.

    From the regular triangulation (:func:`lower_hull`): each lower facet (a, b, c) is dual to the
    power vertex where cells a, b, c meet, and each of its edges (u, v) to the segment of the common
    edge of W_u and W_v between the power vertices of the two facets that share it. A cell whose
    power vertices all lie strictly inside the square (and that has no ray) is the polygon of
    those vertices: its area is the shoelace sum over its edges, taken about the mean of its
    vertices, and its facets are the segments' lengths, all in batched numpy. Every other
    non-empty cell (near the square's boundary, or every cell when the targets are degenerate,
    :func:`power_neighbours`) is the square clipped by the half-planes of its neighbours, nearest
    (in power distance) first, by Sutherland-Hodgman batched over the cells (:func:`_clip`, one
    neighbour per round). Targets off the lower hull have empty cells.

    Args:
        polygons: also return each cell's vertices (the solver does not need them).

    Returns:
        ``(areas, facets, polygons)``: areas shape=[N]; facets a symmetric ``scipy.sparse``
        matrix shape=[N, N], the length of the common edge of W_i and W_j; polygons: each
        cell's vertices (shape=[k, 2], counter-clockwise; empty when the cell is), or None
        when not asked for.
    """
    areas, facets, cell_polygons, _ = power_cells_and_hull(targets, heights, low, high, polygons=polygons)
    return areas, facets, cell_polygons


def power_cells_and_hull(
    targets: np.ndarray,
    heights: np.ndarray,
    low: float,
    high: float,
    *,
    polygons: bool = True,
    triangulation: Optional[LowerHull] = None,
) -> tuple[np.ndarray, Any, Optional[list], Optional[LowerHull]]:
    """:func:`power_cells` and the triangulation it used: ``triangulation``, the regular triangulation for
    ``heights`` when the caller has one (e.g. from :func:`repaired_hull`), else qhull's."""
    from scipy.sparse import coo_matrix

    y = np.asarray(targets, np.float64)
    h = np.asarray(heights, np.float64)
    count = y.shape[0]
    areas = np.zeros(count)
    cell_polygons: Optional[list] = [np.zeros((0, 2))] * count if polygons else None
    hull = triangulation if triangulation is not None else lower_hull(y, h)
    if hull is None:
        lists = power_neighbours(y, h)
        rows = np.concatenate([np.full(len(n), i, np.int64) for i, n in enumerate(lists) if n is not None] or [[]])
        columns = np.concatenate([n for n in lists if n is not None] or [[]]).astype(np.int64)
        rows = rows.astype(np.int64)
        facet_rows, facet_columns, lengths = [], [], []
        for i in (i for i, n in enumerate(lists) if n is not None and len(n) == 0):  # alone: the whole square
            areas[i] = (high - low) ** 2
            if cell_polygons is not None:
                cell_polygons[i] = np.array([[low, low], [high, low], [high, high], [low, high]], np.float64)
    else:
        rows, columns, (facet_rows, facet_columns, lengths) = _interior_cells(
            y, h, low, high, hull, areas, cell_polygons
        )
        facet_rows, facet_columns, lengths = [facet_rows], [facet_columns], [lengths]
    if rows.size:
        key = np.sum((y[columns] - y[rows]) ** 2, axis=1) - 2.0 * h[columns]
        order = np.lexsort((columns, columns < rows, key, rows))
        clipped_rows, clipped_columns, clipped_lengths = _clipped_cells(
            y, h, low, high, rows[order], columns[order], areas, cell_polygons
        )
        facet_rows.append(clipped_rows)
        facet_columns.append(clipped_columns)
        lengths.append(clipped_lengths)
    if facet_rows:
        facet_rows, facet_columns, lengths = map(np.concatenate, (facet_rows, facet_columns, lengths))
    facets = coo_matrix((lengths, (facet_rows, facet_columns)), shape=(count, count)).tocsr()
    return areas, 0.5 * (facets + facets.T), cell_polygons, hull


def _interior_cells(
    y: np.ndarray,
    h: np.ndarray,
    low: float,
    high: float,
    hull: LowerHull,
    areas: np.ndarray,
    polygons: Optional[list],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Areas (written into ``areas``) and facets of the cells inside the square, from the power vertices.

    With the lower facets counter-clockwise, the entry (f, k) gives cell u = simplices[f, k] its edge
    towards v = simplices[f, k + 1], from the power vertex of the facet across that edge to facet f's
    (counter-clockwise about u): every edge of every cell once.

    Returns:
        the (cell, neighbour) pairs of the other non-empty cells (to clip), and the facet triples
        (rows, columns, lengths) of the inside cells.
    """
    count = y.shape[0]
    simplices, across = hull.simplices, hull.across
    vertices = _power_vertices(y, h, simplices)
    inside = np.all((vertices > low) & (vertices < high), axis=1)
    owner = simplices.ravel()
    following = simplices[:, [1, 2, 0]].ravel()
    preceding = simplices[:, [2, 0, 1]].ravel()
    facet = np.repeat(np.arange(simplices.shape[0]), 3)
    other = across.ravel()
    whole = inside[facet] & (other >= 0) & inside[np.maximum(other, 0)]
    on_hull = np.bincount(owner, minlength=count) > 0
    interior = on_hull & (np.bincount(owner, weights=~whole, minlength=count) == 0)

    mine = interior[owner]
    cell, start, end = owner[mine], vertices[other[mine]], vertices[facet[mine]]
    degree = np.bincount(cell, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.column_stack([np.bincount(cell, end[:, k], minlength=count) for k in (0, 1)]) / degree[:, None]
    a, b = start - centre[cell], end - centre[cell]
    areas += np.bincount(cell, 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]), minlength=count)
    if polygons is not None:
        order = np.lexsort((np.arctan2(b[:, 1], b[:, 0]), cell))
        bounds = np.cumsum(degree[interior])
        for i, vertex_list in zip(np.flatnonzero(interior), np.split(end[order], bounds[:-1])):
            polygons[i] = vertex_list
    facets = (cell, following[mine], np.linalg.norm(end - start, axis=1))

    clip = on_hull & ~interior
    pick = clip[owner]
    rows = np.concatenate([owner[pick], owner[pick]])
    columns = np.concatenate([following[pick], preceding[pick]])
    pairs = np.unique(rows * count + columns)
    return pairs // count, pairs % count, facets


def _clipped_cells(
    y: np.ndarray,
    h: np.ndarray,
    low: float,
    high: float,
    rows: np.ndarray,
    columns: np.ndarray,
    areas: np.ndarray,
    polygons: Optional[list],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The square clipped, for each cell in ``rows``, by the half-planes <x, y_j - y_i> <= h_i - h_j of its
    neighbours j in ``columns`` (grouped by cell, in clipping order): Sutherland-Hodgman as in :func:`_clip`,
    batched over the cells, one neighbour each per round. Writes ``areas`` (and ``polygons``).

    Returns:
        the facet triples (rows, columns, lengths): each labelled edge of each clipped polygon.
    """
    cells, starts = np.unique(rows, return_index=True)
    degree = np.diff(np.append(starts, rows.shape[0]))
    slot = np.repeat(np.arange(cells.shape[0]), degree)
    rank = np.arange(rows.shape[0]) - np.repeat(starts, degree)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(degree.max()) + 2))
    square = np.array([[low, low], [high, low], [high, high], [low, high]], np.float64)
    vertices = np.repeat(square[None], cells.shape[0], axis=0)
    labels = np.full((cells.shape[0], 4), DOMAIN_EDGE, np.int64)
    sizes = np.full(cells.shape[0], 4, np.int64)
    for round_ in range(int(degree.max())):
        entries = by_rank[bounds[round_] : bounds[round_ + 1]]
        entries = entries[sizes[slot[entries]] > 0]
        if entries.size == 0:
            break
        active, i, j = slot[entries], rows[entries], columns[entries]
        width = int(sizes[active].max()) + 1
        if width > vertices.shape[1]:
            grow = width - vertices.shape[1]
            vertices = np.concatenate([vertices, np.zeros((cells.shape[0], grow, 2))], axis=1)
            labels = np.concatenate([labels, np.full((cells.shape[0], grow), DOMAIN_EDGE, np.int64)], axis=1)
        new_vertices, new_labels, new_sizes = _clip_batch(
            vertices[active, : width - 1], labels[active, : width - 1], sizes[active], y[j] - y[i], h[i] - h[j], j
        )
        vertices[active, :width] = new_vertices
        labels[active, :width] = new_labels
        sizes[active] = new_sizes

    width = vertices.shape[1]
    position = np.arange(width)[None, :]
    valid = position < sizes[:, None]
    following = np.where(position + 1 < sizes[:, None], position + 1, 0)
    after = np.take_along_axis(vertices, following[..., None], axis=1)
    x, z, x_after, z_after = vertices[..., 0], vertices[..., 1], after[..., 0], after[..., 1]
    doubled = np.sum(np.where(valid, x * z_after - z * x_after, 0.0), axis=1)
    areas[cells] = np.where(sizes >= 3, np.maximum(0.5 * doubled, 0.0), 0.0)
    if polygons is not None:
        for slot_, i in enumerate(cells):
            polygons[i] = vertices[slot_, : sizes[slot_]].copy()
    edge = valid & (labels >= 0)
    which, where = np.nonzero(edge)
    lengths = np.linalg.norm(after[which, where] - vertices[which, where], axis=1)
    return cells[which], labels[which, where], lengths


def _clip_batch(
    vertices: np.ndarray,
    labels: np.ndarray,
    sizes: np.ndarray,
    normals: np.ndarray,
    offsets: np.ndarray,
    new_labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_clip` of A padded polygons (vertices shape=[A, K, 2], the first ``sizes`` valid) at once, each by
    its own half-plane <normals[a], x> <= offsets[a]; the results have width K + 1."""
    count, width = labels.shape
    position = np.arange(width)[None, :]
    valid = position < sizes[:, None]
    values = vertices[..., 0] * normals[:, 0, None] + vertices[..., 1] * normals[:, 1, None] - offsets[:, None]
    inside = values <= 0.0
    following = np.where(position + 1 < sizes[:, None], position + 1, 0)
    inside_after = np.take_along_axis(inside, following, axis=1)
    values_after = np.take_along_axis(values, following, axis=1)
    after = np.take_along_axis(vertices, following[..., None], axis=1)
    emitted = np.where(valid, np.where(inside, 1 + ~inside_after, inside_after), 0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):  # t is used only where the edge crosses
        t = values / (values - values_after)
        cut = vertices + t[..., None] * (after - vertices)
    first = np.where(inside[..., None], vertices, cut)
    slots = np.cumsum(emitted, axis=1) - emitted
    out_vertices = np.zeros((count, width + 1, 2))
    out_labels = np.full((count, width + 1), DOMAIN_EDGE, np.int64)
    row, column = np.nonzero(emitted >= 1)
    out_vertices[row, slots[row, column]] = first[row, column]
    out_labels[row, slots[row, column]] = labels[row, column]
    row, column = np.nonzero(emitted == 2)
    out_vertices[row, slots[row, column] + 1] = cut[row, column]
    out_labels[row, slots[row, column] + 1] = new_labels[row]
    return out_vertices, out_labels, emitted.sum(axis=1)


def solve_newton(
    targets: np.ndarray, weights: np.ndarray, source: Any, params: NewtonParams, seed: int = 0
) -> OTResult:
    """Semi-discrete OT by damped Newton with exact cells (module docstring).

    Args:
        targets: shape=[N, 2]; weights: shape=[N] positive summing to 1.
        source: a ``uniform_cube`` :class:`~geokeras.ot.sources.Source` of dimension 2.
        params: :class:`~geokeras.ot.params.NewtonParams`.
        seed: unused (the solver is deterministic); kept for the common solver signature.

    Raises:
        SpecError: the source is not a 2-D ``uniform_cube``.
    """
    started = time.perf_counter()
    if source.params.type != "uniform_cube" or source.dim != 2:
        raise SpecError(
            f"expected a 2-D uniform_cube source for the newton solver (exact polygonal cells). "
            f"Received: a {source.dim}-D {source.params.type} source; use solver monte_carlo_adam.",
            ("type",),
        )
    y = np.asarray(targets, np.float64)
    nu = np.asarray(weights, np.float64)
    low, high = float(source.params.low), float(source.params.high)
    domain = (high - low) ** 2

    h = _initial_heights(y, low, high, params.init)
    history: dict[str, list] = {
        "step": [],
        "max_rel_mass_error": [],
        "tv": [],
        "step_size": [],
        "factorisations": [],
        "cg_iterations": [],
    }

    def evaluate(heights: np.ndarray, previous: Optional[LowerHull]) -> Optional[tuple[np.ndarray, Any, Any]]:
        """Masses, facets / |Omega| and the triangulation, or None when flips from ``previous`` prove a cell empty."""
        hull = None
        if previous is not None:
            hull, hidden = repaired_hull(previous, y, heights)
            if hidden >= 0:
                return None
        areas, facets, _, hull = power_cells_and_hull(y, heights, low, high, polygons=False, triangulation=hull)
        return areas / domain, facets / domain, hull

    w, facets, triangulation = evaluate(h, None)
    systems = NewtonSystems(reuse=y.shape[0] >= REUSE_FACTOR_FROM)
    converged = False
    steps = 0
    last_size = 0.0  # of the last accepted step (none yet)
    stop = ""
    with current_console().progress("OT solve", params.max_steps, unit="steps") as bar:
        while True:
            error = mass_errors(w, nu)[1]
            bar.update(steps, f"error {error:.2g} (tol {params.tol:g})")
            if error <= params.tol:
                converged = True
                break
            if steps >= params.max_steps:
                stop = f"max_steps={params.max_steps} reached"
                break
            if np.any(w <= 0):
                stop = f"{int(np.sum(w <= 0))} cells became empty"
                break
            delta = systems.direction(y, facets, w - nu, forcing=forcing_term(error, last_size))
            floor = 0.5 * min(float(np.min(w)), float(np.min(nu)))
            size = 1.0
            while size >= params.min_step:
                candidate = h - size * delta
                candidate -= candidate.mean()
                evaluated = evaluate(candidate, triangulation)
                if evaluated is None:  # an empty cell: below the floor, the step is halved without its cells
                    size *= 0.5
                    continue
                w_new, facets_new, triangulation_new = evaluated
                # Damping (Kitagawa, Merigot, Thibert 2019, Algorithm 1): every cell keeps at least
                # half the smallest mass seen, and |w - nu| shrinks by the factor (1 - c / 2).
                shrinks = _norm(w_new - nu) <= (1.0 - 0.5 * size) * _norm(w - nu)
                if np.min(w_new) >= floor and shrinks:
                    break
                size *= 0.5
            else:
                stop = f"the damped step fell below min_step={params.min_step:g}"
                break
            h, w, facets, triangulation, last_size = candidate, w_new, facets_new, triangulation_new, size
            steps += 1
            tv, max_rel = mass_errors(w, nu)
            history["step"].append(steps)
            history["max_rel_mass_error"].append(max_rel)
            history["tv"].append(tv)
            history["step_size"].append(size)
            history["factorisations"].append(systems.factorisations)
            history["cg_iterations"].append(systems.cg_iterations)

    tv, max_rel = mass_errors(w, nu)
    warning = None
    if not converged:
        warning = (
            f"newton did not converge: {stop} after {steps} steps with max relative mass error "
            f"{max_rel:.3g} (tol={params.tol:g}), TV {tv:.3g}; the OT map is approximate."
        )
    return OTResult(
        heights=h - h.mean(),
        targets=np.asarray(targets, np.float32),
        weights=nu,
        source=source,
        solver="newton",
        max_rel_mass_error=max_rel,
        tv=tv,
        empty_cells=int(np.sum(w <= 0)),
        steps=steps,
        samples=0,
        seconds=time.perf_counter() - started,
        converged=converged,
        history=history,
        warning=warning,
    )


def _grounded_hessian(y: np.ndarray, facets: Any) -> Any:
    """The Hessian H without row and column 0 (CSC): H_ij = -facet_ij / |y_i - y_j| (i != j), H_ii = -sum_j H_ij."""
    from scipy.sparse import diags

    coupling = facets.tocoo()
    off = coupling.row != coupling.col
    rows, columns, lengths = coupling.row[off], coupling.col[off], coupling.data[off]
    weights = lengths / np.linalg.norm(y[rows] - y[columns], axis=1)
    coupling = type(facets)((weights, (rows, columns)), shape=facets.shape)
    hessian = (diags(np.asarray(coupling.sum(axis=1)).ravel()) - coupling).tocsc()
    return hessian[1:, 1:].tocsc()


REUSE_FACTOR_FROM = 4096
"""Targets from which :class:`NewtonSystems` solves a step's system by conjugate gradients preconditioned with an
earlier step's factor; below, a factorisation costs less than a few cell evaluations' numpy overhead, and every
step is factored (bit for bit the direct solve)."""

FORCING = 0.01
"""The forcing term of a step near the solution, in units of the max relative mass error (:func:`forcing_term`)."""


def forcing_term(error: float, last_size: float) -> float:
    """The relative residual to solve a Newton system to, at the max relative mass error ``error`` after a step
    of size ``last_size``: FORCING min(1, error) after a step of at least 1/2 (the damping barely binds;
    inexact Newton converges quadratically), 0 (solved directly) after smaller ones: while the damping keeps
    every cell at half the smallest mass, a direction off by 1% in the smallest cells costs many halvings
    (24 -> 63 steps on 20,000 clustered codes). With 1/2, the step counts and sizes of the benchmark cases
    (scripts/bench_ot_newton.py) are those of exact solves."""
    return FORCING * min(1.0, error) if last_size >= 0.5 else 0.0


MAX_CG_ITERATIONS = 30
"""Conjugate-gradient iterations after which :class:`NewtonSystems` gives up on the old factor and refactors."""


class NewtonSystems:
    """The Newton systems H_k delta = g_k of successive steps, solved with as few factorisations as possible.

    H_k is the graph Laplacian of the cells (module docstring) with kernel span(1), and g_k sums to 0, so
    fixing delta_0 = 0 (the grounded Laplacian A_k, H_k without row and column 0, is symmetric positive
    definite for a connected cell graph) and re-centring gives the mean-zero solution. SuperLU factors
    A_k with a symmetric minimum-degree ordering of A + A^T and diagonal pivots (half the fill of its
    default column ordering on planar cell graphs: 1.5 s instead of 2.4 s at N = 10^5); should that fail (a
    cell graph in pieces), its default partial pivoting solves the system directly.

    Factoring dominates a step at large N, and the Hessian changes less and less from step to step. So
    with ``reuse``, a later system is solved by conjugate gradients on A_k preconditioned by the factor of
    the last factored A_m (SPD, so A_m^{-1} is a valid preconditioner; the closer A_k is to A_m, the
    fewer iterations), to the relative residual ||g - A_k delta|| <= forcing ||g||: an inexact Newton
    step (Dembo, Eisenstat, Steihaug 1982, "Inexact Newton methods", SIAM J. Numer. Anal.; a forcing
    term of the order of the error keeps the convergence quadratic). When conjugate gradients have not
    reached it after :data:`MAX_CG_ITERATIONS` iterations, A_k is factored and solved directly.

    Attributes:
        factorisations, cg_iterations: counts of the last :meth:`direction` call.
    """

    def __init__(self, reuse: bool) -> None:
        self.reuse = reuse
        self.factor: Any = None
        self.factorisations = 0
        self.cg_iterations = 0

    def direction(self, y: np.ndarray, facets: Any, gradient: np.ndarray, forcing: float) -> np.ndarray:
        """delta with H delta = gradient to the relative residual ``forcing`` (exactly, up to rounding, when
        the system is factored), mean(delta) = 0."""
        from scipy.sparse.linalg import spsolve

        self.factorisations = self.cg_iterations = 0
        delta = np.zeros(y.shape[0])
        if y.shape[0] <= 1:
            return delta
        grounded = _grounded_hessian(y, facets)
        right = gradient[1:]
        reusable = self.reuse and self.factor is not None and forcing > 0.0
        solved = self._preconditioned(grounded, right, forcing) if reusable else None
        if solved is None:
            self.factor, self.factorisations = None, 1
            try:
                self.factor = _factor(grounded)
                solved = self.factor.solve(right)
            except RuntimeError:  # exactly singular with diagonal pivots
                solved = spsolve(grounded, right)
        delta[1:] = solved
        return delta - delta.mean()

    def _preconditioned(self, grounded: Any, right: np.ndarray, forcing: float) -> Optional[np.ndarray]:
        """Conjugate gradients preconditioned by the kept factor, or None when they need more than
        :data:`MAX_CG_ITERATIONS` iterations."""
        solved, self.cg_iterations = preconditioned_cg(grounded, right, self.factor.solve, forcing, MAX_CG_ITERATIONS)
        return solved


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """<a, b> of vectors, summed by einsum (no BLAS call: :func:`preconditioned_cg`)."""
    return float(np.einsum("i,i->", a, b))


def _norm(vector: np.ndarray) -> float:
    """The Euclidean norm, by :func:`_dot`."""
    return float(np.sqrt(_dot(vector, vector)))


def preconditioned_cg(
    matrix: Any, right: np.ndarray, preconditioner: Any, rtol: float, max_iterations: int
) -> tuple[Optional[np.ndarray], int]:
    """x with ||right - matrix x|| <= rtol ||right|| by preconditioned conjugate gradients from x = 0, and the
    iterations taken; (None, max_iterations) when not reached by then.

    ``matrix`` symmetric positive definite, ``preconditioner(r)`` applies an SPD approximation of its inverse
    (Saad 2003, "Iterative methods for sparse linear systems", Algorithm 9.1). The inner products are
    einsum sums, not BLAS calls: on a busy machine a multithreaded BLAS took 8 ms per inner product of
    20,000 numbers (its threads wait for a core), as long as a solve with the factor.
    """
    goal = rtol * rtol * _dot(right, right)
    if goal == 0.0:
        return (np.zeros_like(right), 0) if not np.any(right) else (None, max_iterations)
    solved, residual = np.zeros_like(right), right.copy()
    direction = preconditioner(residual)
    product = _dot(residual, direction)
    for iteration in range(1, max_iterations + 1):
        image = matrix @ direction
        step = product / _dot(direction, image)
        solved += step * direction
        residual -= step * image
        if _dot(residual, residual) <= goal:
            return solved, iteration
        preconditioned = preconditioner(residual)
        product, previous = _dot(residual, preconditioned), product
        direction = preconditioned + (product / previous) * direction
    return None, max_iterations


def _factor(grounded: Any) -> Any:
    """SuperLU of the grounded Laplacian: minimum-degree ordering, diagonal pivots (:class:`NewtonSystems`)."""
    from scipy.sparse.linalg import splu

    return splu(grounded, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})


def _initial_heights(y: np.ndarray, low: float, high: float, init: str) -> np.ndarray:
    """Zeros, or the Voronoi cells of the affine image x -> s x + c of the square onto the
    targets' bounding square (every target lies in the image, so every cell is non-empty)."""
    if init == "zeros":
        return np.zeros(y.shape[0])
    lower, upper = y.min(axis=0), y.max(axis=0)
    side = float(np.max(upper - lower)) or 1.0
    scale = side / (high - low) * 1.0001
    shift = 0.5 * (lower + upper) - scale * 0.5 * (low + high)
    h = (y @ shift - 0.5 * np.sum(y * y, axis=1)) / scale
    return h - h.mean()
