"""Is a ReLU encoder injective on a polyline? Decided exactly, with no tolerance.

A ReLU network φ is affine on each cell, so on a polyline Σ_h it is affine on each *part* of
the exact decomposition of :func:`~geokeras.complexity.polyline.count_regions_on_polyline`
(a sub-segment of one segment inside one cell). The image φ(Σ_h) is therefore again a
polyline, with one image segment per part, and injectivity of φ on Σ_h is a finite question
(Lei et al. 2018, section 4: an encoding map is a φ whose restriction to Σ is a homeomorphism
onto its image, for a compact Σ the same as injective):

* **into R^1**: the image segments are intervals; φ is injective iff every part's slope
  s_i = d_i · A_i (d_i the segment's direction, A_i the cell's linear map) is non-zero with one
  sign along the whole polyline (an injective continuous map of an interval into R is strictly
  monotone). Any change of sign is a fold, of any size; s_i = 0 is a collapsed part. A closed
  polyline never maps injectively into R^1.
* **into R^k, k >= 2**: φ is injective iff the image polyline is simple: no part collapses to
  a point; two consecutive parts meet only at their shared point (they overlap exactly when
  they are collinear and the second turns back: a fold); two non-consecutive parts do not meet
  at all (a self-intersection); for a closed polyline the last part and the first are
  consecutive.

Exactness. Slopes, image points and intersections are computed in float64 first, as a filter:
a slope is accepted when |s| exceeds its forward error bound (γ times the same product in
absolute values, γ of :func:`~geokeras.complexity.polyline.forward_error_factor`); a pair of
image segments is accepted as disjoint when their float distance exceeds ``FILTER_MARGIN``
times the image's extent, nine orders of magnitude above the rounding of those distances.
Everything else (a slope within its bound, a pair closer than the margin, a turn within
rounding of a reversal) is decided in exact rational arithmetic: the breakpoints are exact
rationals (:meth:`~geokeras.complexity.polyline.PolylineRegions.exact_part_ends`), the cell
maps exact dyadic rationals (:class:`~geokeras.complexity.exact.ExactNetwork`), and segment
intersection is solved with :class:`fractions.Fraction`. The margin only routes work: it never
changes an answer.

From Σ_h to Σ. A polygonal curve (Hilbert, Peano, Koch: ``natural_vertices``) is its own
polyline, so the verdict holds for Σ (``holds_for: "manifold"``). For a smooth curve the
verdict holds for Σ_h at its resolution (``holds_for: "polyline(h=...)"``); the numbers that a
proof for Σ would need are reported: ``min_separation`` (the least distance between the images
of non-consecutive segments of Σ_h), ``lipschitz_bound`` (the largest operator norm of the cell
maps met) and ``hausdorff_bound`` (κ ℓ² / 8 for chords of length ℓ of a curve of curvature at
most κ, when the curve knows κ). When 2 · lipschitz_bound · hausdorff_bound < min_separation,
two points of Σ on non-neighbouring chords cannot share an image; whether φ is injective within
two neighbouring chords of Σ is not decided here, so no verdict is extended to Σ on that basis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from geokeras.complexity.exact import fraction
from geokeras.complexity.lowering import lower
from geokeras.complexity.polyline import (
    PolylineRegions,
    _flat_maps,
    count_regions_on_polyline,
    exact_segment,
    forward_error_factor,
    polyline_segments,
)

__all__ = ["CurveInjectivity", "curve_injectivity", "polyline_injectivity"]

FILTER_MARGIN = 1e-9
"""Image segments farther apart than this times the image's extent are disjoint without exact arithmetic."""


@dataclass(frozen=True)
class CurveInjectivity:
    """The exact decision of :func:`polyline_injectivity` (module docstring).

    Attributes:
        injective: whether φ is injective on the polyline (decided exactly).
        holds_for: ``"manifold"`` or ``"polyline(h=<segments> segments)"``.
        failures: the criteria that failed: ``"fold"`` (a change of direction into R^1, or a
            part turning back onto the previous one), ``"collapsed_part"``,
            ``"self_intersection"``, ``"closed_into_line"``.
        parts: image segments (parts of the exact decomposition).
        folds: into R^1, the number of changes of the slope's sign; into R^k, of turn-backs.
        largest_fold: the longest run of parts against the majority direction, as a share of
            the polyline's length (into R^1), else None.
        self_intersections: pairs of non-consecutive image segments that meet.
        witness: a pair of polyline parameters s = segment + t with the same image, or None.
        min_separation: least distance between images of non-consecutive segments of Σ_h
            (a float, reporting only; None when there is a self-intersection or one segment).
        lipschitz_bound: largest spectral norm of the cell maps met (a float).
        exact_decisions: how many questions were decided in exact arithmetic.
    """

    injective: bool
    holds_for: str
    failures: list
    parts: int
    folds: int
    largest_fold: Optional[float]
    self_intersections: int
    witness: Optional[tuple]
    min_separation: Optional[float]
    lipschitz_bound: float
    exact_decisions: int
    hausdorff_bound: Optional[float] = None
    regions: Any = field(default=None, repr=False, compare=False)

    def as_metrics(self) -> dict[str, Any]:
        """JSON-safe numbers (no inf / nan) for metrics.json."""
        def finite(value):
            return None if value is None or not np.isfinite(value) else float(value)

        return {
            "injective": bool(self.injective),
            "holds_for": self.holds_for,
            "failures": list(self.failures),
            "parts": int(self.parts),
            "folds": int(self.folds),
            "largest_fold": finite(self.largest_fold),
            "self_intersections": int(self.self_intersections),
            "witness": None if self.witness is None else [float(value) for value in self.witness],
            "min_separation": finite(self.min_separation),
            "lipschitz_bound": finite(self.lipschitz_bound),
            "hausdorff_bound": finite(self.hausdorff_bound),
            "exact_decisions": int(self.exact_decisions),
        }


# ----------------------------------------------------------------------------- public API
def polyline_injectivity(
    encoder: Any,
    vertices: Any,
    closed: bool = False,
    *,
    regions: Optional[PolylineRegions] = None,
    holds_for: Optional[str] = None,
    backend: str = "numpy",
) -> CurveInjectivity:
    """Decide exactly whether ``encoder`` is injective on the polyline (module docstring).

    Args:
        encoder: a Keras model or a :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        vertices: shape=[n, input_dim]. closed: whether the last vertex joins the first.
        regions: the polyline's decomposition, if already counted (same encoder and polyline).
        holds_for: the set the verdict is about (default ``"polyline(h=<segments> segments)"``).
        backend: of :func:`~geokeras.complexity.polyline.count_regions_on_polyline`.

    Returns:
        a :class:`CurveInjectivity`.
    """
    network = lower(encoder)
    regions = regions if regions is not None else count_regions_on_polyline(network, vertices, closed, backend=backend)
    holds_for = holds_for or f"polyline(h={regions.segments} segments)"
    image = _ImagePolyline(network, regions)
    if network.output_dim == 1:
        return _into_line(image, holds_for)
    return _into_space(image, holds_for)


def curve_injectivity(encoder: Any, curve: Any, resolution: int = 4096, *, backend: str = "numpy") -> CurveInjectivity:
    """:func:`polyline_injectivity` on a geokeras curve's polyline Σ_h.

    A polygonal curve (with ``natural_vertices``) uses its own vertices and the verdict holds
    for the curve itself; a smooth curve uses ``resolution`` segments and the verdict holds for
    that polyline, with ``hausdorff_bound`` when the curve has a ``curvature_bound``.
    """
    if hasattr(curve, "natural_vertices"):
        vertices, closed = curve.polyline(None)
        return polyline_injectivity(encoder, vertices, closed, holds_for="manifold", backend=backend)
    vertices, closed = curve.polyline(resolution)
    result = polyline_injectivity(encoder, vertices, closed, backend=backend)
    curvature = getattr(curve, "curvature_bound", None)
    if curvature is None:
        return result
    starts, directions = polyline_segments(vertices, closed)
    chord = float(np.linalg.norm(directions, axis=1).max())
    return _replace(result, hausdorff_bound=float(curvature) * chord**2 / 8)


def _replace(result: CurveInjectivity, **changes: Any) -> CurveInjectivity:
    from dataclasses import replace

    return replace(result, **changes)


# ----------------------------------------------------------------------------- the image polyline
class _ImagePolyline:
    """The image segments of the parts, in float64, with exact values on demand."""

    def __init__(self, network: Any, regions: PolylineRegions):
        self.network, self.regions = network, regions
        self.starts_x, self.directions = polyline_segments(regions.vertices, regions.closed)
        self.segment = regions.part_segments
        self.left, self.right = regions.part_starts, regions.part_ends
        flat = _flat_maps(network, regions.patterns)
        magnitude = _flat_maps(network, regions.patterns, absolute=True)
        n, k = network.input_dim, network.output_dim
        self.cell_linear = flat[:, : n * k].reshape(-1, n, k)
        self.cell_offset = flat[:, n * k :]
        self.magnitude = magnitude  # |A|, |c| of each cell, for error bounds
        cells = regions.part_cells
        linear, offset = self.cell_linear[cells], self.cell_offset[cells]
        direction = self.directions[self.segment]
        self.velocity = np.einsum("pi,pik->pk", direction, linear)  # dφ/dt on each part
        origin = np.einsum("pi,pik->pk", self.starts_x[self.segment], linear) + offset
        self.begin = origin + self.left[:, None] * self.velocity
        self.end = origin + self.right[:, None] * self.velocity
        gamma = forward_error_factor(network)
        abs_linear = magnitude[:, : n * k].reshape(-1, n, k)[cells]
        self.velocity_error = gamma * np.einsum("pi,pik->pk", np.abs(direction), abs_linear)
        self.exact_decisions = 0

    @property
    def count(self) -> int:
        return self.segment.size

    @property
    def lengths(self) -> np.ndarray:
        """Length of each part in the input space."""
        return (self.right - self.left) * np.linalg.norm(self.directions[self.segment], axis=1)

    def exact(self) -> ExactNetwork:
        return self.regions.exact_network

    def _exact_map(self, part: int) -> tuple[Any, Any]:
        """Exact ``(dφ/dt [1, k], φ(t = 0) [k])`` of the part's cell along its exact segment."""
        segment = exact_segment(self.regions.vertices, self.regions.closed, int(self.segment[part]))
        return self.exact().output_map(*segment, self.regions.patterns[self.regions.part_cells[part]])

    def exact_velocity(self, part: int) -> list[Fraction]:
        """dφ/dt on ``part``, exactly."""
        self.exact_decisions += 1
        linear, _ = self._exact_map(part)
        return [fraction(linear, (0, column)) for column in range(linear.shape[1])]

    def exact_ends(self, part: int) -> tuple[list[Fraction], list[Fraction]]:
        """The exact images of the part's two ends."""
        self.exact_decisions += 1
        linear, offset = self._exact_map(part)
        left = Fraction(0) if self.left[part] == 0 else self.regions.exact_part_ends([part - 1])[0]
        right = self.regions.exact_part_ends([part])[0]
        columns = range(linear.shape[1])
        at = [[fraction(offset, (c,)) + t * fraction(linear, (0, c)) for c in columns] for t in (left, right)]
        return at[0], at[1]

    def slope_signs(self) -> np.ndarray:
        """Exact sign of the slope of each part (into R^1)."""
        velocity, error = self.velocity[:, 0], self.velocity_error[:, 0]
        signs = np.sign(velocity).astype(np.int64)
        for part in np.nonzero(np.abs(velocity) <= error)[0].tolist():
            value = self.exact_velocity(part)[0]
            signs[part] = (value > 0) - (value < 0)
        return signs

    def collapsed(self) -> np.ndarray:
        """Parts whose image is a single point (dφ/dt = 0 exactly)."""
        unsure = np.all(np.abs(self.velocity) <= self.velocity_error, axis=1)
        result = np.zeros(self.count, dtype=bool)
        for part in np.nonzero(unsure)[0].tolist():
            result[part] = all(value == 0 for value in self.exact_velocity(part))
        return result

    def lipschitz_bound(self) -> float:
        cells = np.unique(self.regions.part_cells)
        return float(max(np.linalg.norm(self.cell_linear[cell], 2) for cell in cells.tolist()))


# ----------------------------------------------------------------------------- into R^1
def _into_line(image: _ImagePolyline, holds_for: str) -> CurveInjectivity:
    signs = image.slope_signs()
    failures = []
    if image.regions.closed:
        failures.append("closed_into_line")
    if np.any(signs == 0):
        failures.append("collapsed_part")
    moving = signs[signs != 0]
    majority = 1 if np.sum(moving > 0) >= np.sum(moving < 0) else -1
    changes = int(np.count_nonzero(moving[1:] != moving[:-1]))
    largest, witness = None, None
    if changes:
        failures.append("fold")
        against = signs == -majority
        lengths = image.lengths
        run_starts = np.nonzero(against & ~np.concatenate([[False], against[:-1]]))[0]
        best, best_start = 0.0, int(run_starts[0])
        for start in run_starts.tolist():
            stop = start
            while stop < signs.size and against[stop]:
                stop += 1
            total = float(lengths[start:stop].sum())
            if total > best:
                best, best_start = total, start
        largest = best / float(lengths.sum())
        part = best_start
        witness = (float(image.segment[part] + image.left[part]), float(image.segment[part] + image.right[part]))
    return CurveInjectivity(
        injective=not failures,
        holds_for=holds_for,
        failures=failures,
        parts=image.count,
        folds=changes,
        largest_fold=largest,
        self_intersections=0,
        witness=witness,
        min_separation=None,
        lipschitz_bound=image.lipschitz_bound(),
        exact_decisions=image.exact_decisions,
        regions=image.regions,
    )


# ----------------------------------------------------------------------------- into R^k
def _into_space(image: _ImagePolyline, holds_for: str) -> CurveInjectivity:
    failures = []
    collapsed = image.collapsed()
    if np.any(collapsed):
        failures.append("collapsed_part")
    closed = image.regions.closed
    count = image.count
    consecutive = np.arange(count - 1) if not closed else np.arange(count)
    turn_backs = [i for i in consecutive.tolist() if _turns_back(image, i, (i + 1) % count)]
    if turn_backs:
        failures.append("fold")
    pairs, separation = _close_pairs(image)
    crossing = [(i, j) for i, j in pairs if _segments_meet(image, i, j)]
    if crossing:
        failures.append("self_intersection")
    witness = None
    if crossing or turn_backs:
        i, j = crossing[0] if crossing else (turn_backs[0], (turn_backs[0] + 1) % count)
        witness = (float(image.segment[i] + image.left[i]), float(image.segment[j] + image.left[j]))
    return CurveInjectivity(
        injective=not failures,
        holds_for=holds_for,
        failures=failures,
        parts=count,
        folds=len(turn_backs),
        largest_fold=None,
        self_intersections=len(crossing),
        witness=witness,
        min_separation=None if crossing else separation,
        lipschitz_bound=image.lipschitz_bound(),
        exact_decisions=image.exact_decisions,
        regions=image.regions,
    )


def _turns_back(image: _ImagePolyline, first: int, second: int) -> bool:
    """Whether consecutive parts overlap beyond their shared point: anti-parallel velocities."""
    u, v = image.velocity[first], image.velocity[second]
    if float(np.dot(u, v)) > np.dot(image.velocity_error[first], np.abs(v)) + np.dot(np.abs(u), image.velocity_error[second]):
        return False  # clearly not opposite
    scale = np.linalg.norm(u) * np.linalg.norm(v)
    minors = np.abs(np.outer(u, v) - np.outer(v, u))
    if minors.max(initial=0.0) > 1e-6 * scale:
        return False  # clearly not parallel (a turn of more than 1e-6 radians)
    exact_u, exact_v = image.exact_velocity(first), image.exact_velocity(second)
    dimension = len(exact_u)
    parallel = all(exact_u[a] * exact_v[b] == exact_u[b] * exact_v[a] for a in range(dimension) for b in range(a + 1, dimension))
    return parallel and sum(a * b for a, b in zip(exact_u, exact_v)) < 0


def _close_pairs(image: _ImagePolyline) -> tuple[list[tuple[int, int]], Optional[float]]:
    """Pairs of non-consecutive parts whose float images are within the filter margin, and the
    least float distance between images of non-consecutive *segments* of Σ_h (reporting only)."""
    from scipy.spatial import cKDTree

    count = image.count
    if count < 3:
        return [], None
    begin, end = image.begin, image.end
    extent = float(np.ptp(np.concatenate([begin, end]), axis=0).max()) or 1.0
    margin = FILTER_MARGIN * extent
    lengths = np.linalg.norm(end - begin, axis=1)
    step = float(np.median(lengths[lengths > 0])) if np.any(lengths > 0) else extent
    # Sub-segments of length <= step: two images closer than r meet only if some sub-segments'
    # midpoints are within step + r.
    pieces = np.maximum(1, np.ceil(lengths / step).astype(np.int64))
    owner = np.repeat(np.arange(count), pieces)
    offsets = np.arange(owner.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    fractions = (offsets + 0.5) / pieces[owner]
    midpoints = begin[owner] + fractions[:, None] * (end - begin)[owner]
    search = step + max(margin, step)  # also finds the separation up to one step
    pairs = cKDTree(midpoints).query_pairs(search, output_type="ndarray")
    first, second = np.sort(np.stack([owner[pairs[:, 0]], owner[pairs[:, 1]]], axis=1), axis=1).T
    keep = np.abs(first - second) > 1
    if image.regions.closed:
        keep &= ~((first == 0) & (second == count - 1))
    candidates = np.unique(np.stack([first[keep], second[keep]], axis=1), axis=0)
    if candidates.size == 0:
        return [], search - step
    distance = _segment_distances(begin, end, candidates[:, 0], candidates[:, 1])
    close = [tuple(pair) for pair in candidates[distance <= margin].tolist()]
    segment = image.segment
    apart = np.abs(segment[candidates[:, 0]] - segment[candidates[:, 1]]) > 1
    if image.regions.closed:
        segments = image.regions.segments
        apart &= np.abs(segment[candidates[:, 0]] - segment[candidates[:, 1]]) < segments - 1
    separation = float(min(distance[apart].min(initial=np.inf), search - step))
    return close, separation


def _segment_distances(begin: np.ndarray, end: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Float distance between segments begin[i]end[i] and begin[j]end[j] (Lumelsky 1985), vectorised."""
    p, u = begin[first], end[first] - begin[first]
    q, v = begin[second], end[second] - begin[second]
    w = p - q
    a, b, c = np.sum(u * u, 1), np.sum(u * v, 1), np.sum(v * v, 1)
    d, e = np.sum(u * w, 1), np.sum(v * w, 1)
    denominator = a * c - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denominator > 1e-300, np.clip((b * e - c * d) / denominator, 0, 1), 0.0)
        t = np.where(c > 0, np.clip((b * s + e) / c, 0, 1), 0.0)
        s = np.where(a > 0, np.clip((b * t - d) / a, 0, 1), 0.0)
        t = np.where(c > 0, np.clip((b * s + e) / c, 0, 1), 0.0)
    return np.linalg.norm(w + s[:, None] * u - t[:, None] * v, axis=1)


def _segments_meet(image: _ImagePolyline, first: int, second: int) -> bool:
    """Whether the images of two parts share a point, in exact rational arithmetic."""
    p0, p1 = image.exact_ends(first)
    q0, q1 = image.exact_ends(second)
    return segments_intersect(p0, p1, q0, q1)


def segments_intersect(p0: list, p1: list, q0: list, q1: list) -> bool:
    """Whether the segments p0p1 and q0q1 of R^k (exact rationals) share a point.

    Solves p0 + s (p1 - p0) = q0 + t (q1 - q0) for s, t in [0, 1]: with u = p1 - p0, v = q1 - q0,
    w = q0 - p0, the normal equations [u·u, -u·v; u·v, -v·v] (s, t) = (u·w, v·w) have a unique
    solution unless u ∥ v; the segments meet iff that solution lies in [0, 1]² and gives the same
    point. Parallel (or degenerate) segments meet iff they are collinear and their parameter
    intervals along the line overlap.
    """
    u = [b - a for a, b in zip(p0, p1)]
    v = [b - a for a, b in zip(q0, q1)]
    w = [b - a for a, b in zip(p0, q0)]

    def dot(x, y):
        return sum(a * b for a, b in zip(x, y))

    uu, uv, vv, uw, vw = dot(u, u), dot(u, v), dot(v, v), dot(u, w), dot(v, w)
    determinant = uv * uv - uu * vv
    if determinant != 0:
        s = (uv * vw - vv * uw) / determinant
        t = (uu * vw - uv * uw) / determinant
        if not (0 <= s <= 1 and 0 <= t <= 1):
            return False
        return all(a + s * du == b + t * dv for a, du, b, dv in zip(p0, u, q0, v))
    # u ∥ v (or a point): collinear when w is parallel to the non-zero direction too.
    direction = u if uu != 0 else v
    if dot(direction, direction) == 0:
        return list(p0) == list(q0)
    cross_free = all(w[a] * direction[b] == w[b] * direction[a] for a in range(len(w)) for b in range(a + 1, len(w)))
    if not cross_free:
        return False
    norm = dot(direction, direction)
    along = sorted([dot([a - b for a, b in zip(point, p0)], direction) / norm for point in (p0, p1)])
    other = sorted([dot([a - b for a, b in zip(point, p0)], direction) / norm for point in (q0, q1)])
    return along[0] <= other[1] and other[0] <= along[1]
