"""Damped Newton with exact power cells on a polygonal 2-D domain (solver type ``newton``).

For 2-D targets and the uniform measure on a square domain Omega = [low, high]^2 the power
cells W_i(h) = {x in Omega : <x, y_j - y_i> <= h_i - h_j for all j != i} are convex polygons:
each is Omega clipped by N - 1 half-planes (Sutherland-Hodgman, one half-plane at a time, in
float64, every edge labelled with the neighbour j whose constraint made it). From them, exactly:

* cell masses w_i = |W_i| / |Omega|;
* the Hessian of E(h) = int u_h dmu - sum nu_i h_i (Lei et al. 2018 section 5):
  d w_i / d h_j = -|W_i cap W_j| / (|Omega| |y_i - y_j|) for adjacent i != j (facet length),
  d w_i / d h_i = -sum_{j != i} d w_i / d h_j: a graph Laplacian, PSD with kernel span(1).

Newton step: solve H delta = w - nu on the complement of 1 (as
(H + 1 1^T / N) delta = w - nu), h <- h - c delta with c = 1, halved until every cell keeps
half the smallest mass and |w - nu| shrinks by (1 - c/2), then re-centre h to mean 0. Stops when max_i |w_i - nu_i| /
nu_i <= tol. Converges
quadratically near the solution (Kitagawa, Merigot, Thibert 2019, "Convergence of a Newton
algorithm for semi-discrete optimal transport", JEMS). Each cell evaluation clips the square
only by the cell's neighbours in the lifted convex hull (:func:`power_neighbours`, qhull), and the
Newton system is a sparse graph Laplacian: thousands of targets take seconds.
"""

from __future__ import annotations

import time
from typing import Any, Optional

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


def power_cells(targets: np.ndarray, heights: np.ndarray, low: float, high: float) -> tuple[np.ndarray, Any, list]:
    """Exact power cells of 2-D targets in the square [low, high]^2.

    Each cell is the square clipped by the constraints of its neighbours in the lifted hull
    (:func:`power_neighbours`), in float64.

    Returns:
        ``(areas, facets, polygons)``: areas shape=[N]; facets a symmetric ``scipy.sparse``
        matrix shape=[N, N], the length of the common edge of W_i and W_j; polygons: each
        cell's vertices (shape=[k, 2], counter-clockwise; empty when the cell is).
    """
    from scipy.sparse import coo_matrix

    y = np.asarray(targets, np.float64)
    h = np.asarray(heights, np.float64)
    count = y.shape[0]
    square = np.array([[low, low], [high, low], [high, high], [low, high]], np.float64)
    areas = np.zeros(count)
    rows: list[int] = []
    columns: list[int] = []
    lengths: list[float] = []
    polygons = []
    for i, neighbours in enumerate(power_neighbours(y, h)):
        if neighbours is None:
            polygons.append(np.zeros((0, 2)))
            continue
        vertices, labels = square, [DOMAIN_EDGE] * 4
        # Nearest neighbours (in power distance) first: they cut most, so later clips see small
        # polygons, and a constraint through a vertex already cut adds no degenerate vertex.
        neighbours = neighbours[
            np.argsort(np.sum((y[neighbours] - y[i]) ** 2, axis=1) - 2.0 * h[neighbours], kind="stable")
        ]
        for j in neighbours:
            vertices, labels = _clip(vertices, labels, y[j] - y[i], h[i] - h[j], int(j))
            if len(vertices) == 0:
                break
        polygons.append(vertices)
        areas[i] = max(_area(vertices), 0.0)
        for k, label in enumerate(labels):
            if label >= 0:
                rows.append(i)
                columns.append(label)
                lengths.append(float(np.linalg.norm(vertices[(k + 1) % len(vertices)] - vertices[k])))
    facets = coo_matrix((lengths, (rows, columns)), shape=(count, count)).tocsr()
    return areas, 0.5 * (facets + facets.T), polygons


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
    history: dict[str, list] = {"step": [], "max_rel_mass_error": [], "tv": [], "step_size": []}

    def evaluate(heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        areas, facets, _ = power_cells(y, heights, low, high)
        return areas / domain, facets / domain

    w, facets = evaluate(h)
    converged = False
    steps = 0
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
            delta = _newton_direction(y, facets, w - nu)
            floor = 0.5 * min(float(np.min(w)), float(np.min(nu)))
            size = 1.0
            while size >= params.min_step:
                candidate = h - size * delta
                candidate -= candidate.mean()
                w_new, facets_new = evaluate(candidate)
                # Damping (Kitagawa, Merigot, Thibert 2019, Algorithm 1): every cell keeps at least
                # half the smallest mass seen, and |w - nu| shrinks by the factor (1 - c / 2).
                shrinks = np.linalg.norm(w_new - nu) <= (1.0 - 0.5 * size) * np.linalg.norm(w - nu)
                if np.min(w_new) >= floor and shrinks:
                    break
                size *= 0.5
            else:
                stop = f"the damped step fell below min_step={params.min_step:g}"
                break
            h, w, facets = candidate, w_new, facets_new
            steps += 1
            tv, max_rel = mass_errors(w, nu)
            history["step"].append(steps)
            history["max_rel_mass_error"].append(max_rel)
            history["tv"].append(tv)
            history["step_size"].append(size)

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


def _newton_direction(y: np.ndarray, facets: Any, gradient: np.ndarray) -> np.ndarray:
    """delta with H delta = gradient, mean(delta) = 0, for the sparse Laplacian H of the facets.

    H_ij = -facet_ij / |y_i - y_j| (i != j), H_ii = -sum_j H_ij (module docstring). H has kernel
    span(1) and gradient sums to 0, so fixing delta_0 = 0 (deleting row and column 0: the
    grounded Laplacian of a connected cell graph is non-singular) and re-centring gives the
    mean-zero solution; sparse LU (SuperLU) keeps it near O(N) for planar cell graphs.
    """
    from scipy.sparse import diags
    from scipy.sparse.linalg import spsolve

    coupling = facets.tocoo()
    off = coupling.row != coupling.col
    rows, columns, lengths = coupling.row[off], coupling.col[off], coupling.data[off]
    weights = lengths / np.linalg.norm(y[rows] - y[columns], axis=1)
    coupling = type(facets)((weights, (rows, columns)), shape=facets.shape)
    hessian = (diags(np.asarray(coupling.sum(axis=1)).ravel()) - coupling).tocsc()
    delta = np.zeros(y.shape[0])
    if y.shape[0] > 1:
        delta[1:] = spsolve(hessian[1:, 1:], gradient[1:])
    return delta - delta.mean()


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
