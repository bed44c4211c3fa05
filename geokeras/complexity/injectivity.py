"""Exact injectivity of a ReLU encoder φ on a polyline Σ_h (a curve's polyline) in R^n.

φ is continuous and piecewise affine; along Σ_h the cells of φ cut every segment into parts
(:func:`~geokeras.complexity.polyline.count_regions_on_polyline`) on which φ is one affine map
x ↦ x A + c. On the part of segment p + t d, t in [t_0, t_1], the image is the segment from
φ(p + t_0 d) to φ(p + t_1 d), and φ(p + t d) = a + t b with a = p A + c, b = d A: exact dyadic
rationals (float weights are dyadic; :mod:`geokeras.complexity.exact`). A part's end is a zero
t* = -alpha / beta of a pre-activation alpha + t beta of its cell, a rational number, so every
vertex of the image polyline φ(Σ_h) is an exact rational point. φ restricted to Σ_h is
injective iff the image polyline is simple, which is decided here exactly:

* **Into R^1.** φ|Σ_h is injective iff the slopes b of all parts (taken along the direction of
  travel) are non-zero and of one sign (strict monotonicity). A zero slope is a
  ``degenerate_piece`` (a whole interval maps to one point); a sign change is a ``fold``, of
  any size. A closed curve never maps injectively into R^1 (a continuous injective map of the
  circle into the line does not exist): ``closed_into_line``.
* **Into R^k, k >= 2.** The image polyline is simple iff (1) no piece degenerates to a point
  (``degenerate_piece``), (2) neighbouring pieces, which share a vertex, meet only there: they
  fail exactly when they are collinear and point back (``fold``: backtracking), and (3) no two
  non-adjacent pieces meet (``self_intersection``); for a closed curve the last piece and the
  first are neighbours. Consecutive parts whose images are exactly parallel and alike are one
  straight image segment (a "piece"; the count reported).

How it is decided. The polyline decomposition carries, per part, float values of φ and
dφ/dt with proven error bounds, and float ends with bounds on their distance from the exact
ends (:mod:`geokeras.complexity.polyline`); from them every float image vertex has a proven
radius. A float decision is accepted only beyond its error bound: a slope sign (R^1), a piece
certainly not degenerate, two neighbouring pieces certainly not parallel (the wedge of their
directions), two non-adjacent pieces certainly apart (candidate pairs from bounding boxes
padded by the radii, sort and sweep; then strict orientation tests on a coordinate plane). Any
decision the filter cannot make is made in exact rational arithmetic from the part's exact
cell map along the segment and its exact ends (Fractions): slopes, parallelism and direction,
and whether two segments P + s u, R + t v meet (the exact closest-point parameters lie in
[0, 1] and the points coincide; parallel segments meet iff collinear with overlapping
projections).

Nothing here has a tolerance: a fold of 10^-6 of the length, or two image pieces 10^-150
apart, is decided like any other. ``min_separation`` (the smallest distance between images of
non-adjacent pieces) and the fold sizes are reported float numbers; they decide nothing.

**From Σ_h to Σ** (:func:`curve_injectivity`). For a polygonal curve whose polyline is the
curve itself (its own vertices, embedded by the identity), Σ_h = Σ and the verdict holds for
the manifold (``holds_for="manifold"``). For a smooth curve the verdict is proven for Σ_h at
the stated resolution only (``holds_for="polyline(h=...)"``): images of non-adjacent pieces
further apart than 2 L H (L a Lipschitz bound of φ, H the distance between Σ and Σ_h) rule out
coincidences between far parts of Σ, but not a fold of Σ within one chord's arc or two
neighbouring arcs, which the polyline cannot see; so no claim for Σ is made. The numbers
(``min_separation``, ``lipschitz_bound``) are reported for the reader. A fold or
self-intersection found on Σ_h proves that φ is not injective on Σ_h; it does not by itself
prove that φ is not injective on Σ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from geokeras.complexity.exact import ExactNetwork, dyadic_fractions, segment_maps
from geokeras.complexity.lowering import LoweredNetwork, lower
from geokeras.complexity.polyline import (
    PolylineRegions,
    count_regions_on_polyline,
    exact_cell_boundary,
    polyline_segments,
)
from geokeras.manifolds.capabilities import ExactPolygon
from geokeras.manifolds.geometry import exact_geometry, no_geometry_reason

__all__ = ["CurveInjectivity", "polyline_injectivity", "curve_injectivity", "decide_curve_injectivity"]

FOLD = "fold"
DEGENERATE_PIECE = "degenerate_piece"
SELF_INTERSECTION = "self_intersection"
CLOSED_INTO_LINE = "closed_into_line"


@dataclass(frozen=True)
class CurveInjectivity:
    """Whether φ is injective on a polyline (module docstring), and the evidence.

    Attributes:
        injective: the exact verdict on Σ_h.
        holds_for: ``"polyline"`` (proven for the polyline given), ``"polyline(h=...)"`` (a
            smooth curve's polyline at that chord length) or ``"manifold"`` (proven for Σ).
        failures: the exact criteria that failed (``fold``, ``degenerate_piece``,
            ``self_intersection``, ``closed_into_line``), in that order, each once.
        folds: number of folds: sign changes of the slope into R^1; collinear backtracking
            of neighbouring image pieces into R^k.
        largest_fold: the largest fold's share of the polyline's length (float; 0 if none).
            Into R^1 a fold between two monotone runs has the length of the shorter run;
            into R^k the shorter of the two backtracking pieces.
        fold_witness: polyline parameter s = j + t (vertex j at s = j) of the largest fold's
            turning point, or None.
        self_intersections: number of pairs of non-adjacent image pieces that meet.
        intersection_witness: ``(i, j)``, the first such pair of pieces, or None.
        min_separation: smallest distance between images of non-adjacent pieces (float; 0 when
            some meet; None when there are no non-adjacent pairs or the latent space is R^1).
        pieces: number of image pieces (parts of segments in one cell).
        lipschitz_bound: an upper bound on the Lipschitz constant of φ on all of R^n (the
            product of the layers' spectral norms, rounded up), float.
        latent_dim: k.
        closed: whether the polyline is closed.
    """

    injective: bool
    holds_for: str
    failures: list = field(default_factory=list)
    folds: int = 0
    largest_fold: float = 0.0
    fold_witness: Optional[float] = None
    self_intersections: int = 0
    intersection_witness: Optional[tuple] = None
    min_separation: Optional[float] = None
    pieces: int = 0
    lipschitz_bound: Optional[float] = None
    latent_dim: int = 1
    closed: bool = False

    def as_metrics(self) -> dict[str, Any]:
        """JSON-safe values (None for anything not finite)."""

        def finite(value: Optional[float]) -> Optional[float]:
            return float(value) if value is not None and math.isfinite(value) else None

        return {
            "injective": bool(self.injective),
            "holds_for": self.holds_for,
            "failures": list(self.failures),
            "folds": int(self.folds),
            "largest_fold": finite(self.largest_fold),
            "fold_witness": finite(self.fold_witness),
            "self_intersections": int(self.self_intersections),
            "intersection_witness": None if self.intersection_witness is None else list(self.intersection_witness),
            "min_separation": finite(self.min_separation),
            "pieces": int(self.pieces),
            "lipschitz_bound": finite(self.lipschitz_bound),
            "latent_dim": int(self.latent_dim),
            "closed": bool(self.closed),
        }


# ----------------------------------------------------------------------------- the image polyline
_UNIT = float(np.finfo(np.float64).eps) / 2


class _Image:
    """The image polyline: float vertices with proven error radii, exact values on demand.

    Part i lies on segment j = segments[i], t in [t_0, t_1]. From the polyline decomposition's
    float filter: the float midpoint m, φ(m) and dφ/dt (each within an l1 error bound of the
    exact cell map's values at m) and the float ends (each within a bound of the exact end).
    The float head φ(m) + (t_0 - m) dφ/dt is then within ``head_radius`` of the exact head in
    every coordinate, and likewise the tail. :meth:`exact` gives a part's exact head, tail and
    slope (Fractions) from the exact cell map along the segment.
    """

    def __init__(self, network: LoweredNetwork, regions: PolylineRegions):
        self.network, self.regions = network, regions
        self.exact_network = ExactNetwork(network)
        self.segments = np.asarray(regions.part_segments, dtype=np.int64)
        self.cells = np.asarray(regions.part_cells, dtype=np.int64)
        starts, ends = np.asarray(regions.part_starts), np.asarray(regions.part_ends)
        middles = 0.5 * (starts + ends)
        value, slope = np.asarray(regions.part_values), np.asarray(regions.part_slopes)
        value_error, slope_error = np.asarray(regions.part_value_errors), np.asarray(regions.part_slope_errors)
        self.slopes, self.slope_errors = slope, slope_error
        size_slope = np.abs(slope).max(axis=1)
        size_value = np.abs(value).max(axis=1)

        def at(t: np.ndarray, t_error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            step = t - middles
            point = value + step[:, None] * slope
            radius = value_error + np.abs(step) * slope_error + t_error * (size_slope + slope_error)
            radius = (radius + 4 * _UNIT * (size_value + np.abs(step) * size_slope)) * (1 + 16 * _UNIT)
            return point, radius

        self.heads, self.head_radius = at(starts, np.asarray(regions.part_start_errors))
        self.tails, self.tail_radius = at(ends, np.asarray(regions.part_end_errors))
        _, directions = polyline_segments(regions.vertices, regions.closed)
        self.lengths = (ends - starts) * np.linalg.norm(directions, axis=1)[self.segments]  # float, reported only
        self.starts = starts
        self._exact: dict[int, tuple] = {}

    @property
    def count(self) -> int:
        return int(self.segments.size)

    def exact(self, index: int) -> tuple[tuple, tuple, tuple]:
        """``(head, tail, slope)`` of part ``index``, tuples of Fractions."""
        if index not in self._exact:
            regions, segment = self.regions, int(self.segments[index])
            start, direction = regions.segment_direction(segment)
            pattern = regions.patterns[self.cells[index]]
            layers, (slope, offset) = segment_maps(self.exact_network, start, direction, pattern)
            low, high = Fraction(0), Fraction(1)
            if index > 0 and self.segments[index - 1] == segment:
                low = exact_cell_boundary(self.network, layers, regions.patterns[self.cells[index - 1]], pattern)
            if index + 1 < self.count and self.segments[index + 1] == segment:
                high = exact_cell_boundary(self.network, layers, pattern, regions.patterns[self.cells[index + 1]])
            b, a = tuple(dyadic_fractions(slope)), tuple(dyadic_fractions(offset))
            head = tuple(ai + low * bi for ai, bi in zip(a, b))
            tail = tuple(ai + high * bi for ai, bi in zip(a, b))
            self._exact[index] = (head, tail, b)
        return self._exact[index]


# ----------------------------------------------------------------------------- into R^1
def _decide_line(image: _Image, closed: bool) -> dict[str, Any]:
    slopes, errors = image.slopes[:, 0], image.slope_errors
    signs = np.where(slopes > errors, 1, np.where(slopes < -errors, -1, 2))  # 2: not certain in floats
    for index in np.nonzero(signs == 2)[0].tolist():
        value = image.exact(index)[2][0]
        signs[index] = (value > 0) - (value < 0)
    failures = []
    if np.any(signs == 0):
        failures.append(DEGENERATE_PIECE)
    moving = np.nonzero(signs)[0]
    folds, largest, witness = 0, 0.0, None
    total = float(image.lengths.sum())
    if moving.size:
        run_sign = signs[moving]
        change = np.nonzero(run_sign[1:] != run_sign[:-1])[0]
        boundaries = np.concatenate([[0], moving[change + 1], [signs.size]])
        run_lengths = np.array(
            [image.lengths[boundaries[i] : boundaries[i + 1]].sum() for i in range(boundaries.size - 1)]
        )
        turn_pieces = moving[change + 1]
        wraps = closed and run_sign[0] != run_sign[-1]
        if closed and run_lengths.size > 1 and not wraps:
            run_lengths[0] += run_lengths[-1]
            run_lengths = run_lengths[:-1]
        folds = int(change.size + (1 if wraps else 0))
        if folds:
            runs = run_lengths.size
            sizes = [min(run_lengths[i], run_lengths[(i + 1) % runs]) for i in range(runs if closed else runs - 1)]
            best = int(np.argmax(sizes))
            largest = float(sizes[best] / total) if total > 0 else 0.0
            piece = int(turn_pieces[best]) if best < turn_pieces.size else 0
            witness = float(image.segments[piece] + image.starts[piece])
    if folds:
        failures.insert(0, FOLD)
    if closed:
        failures.append(CLOSED_INTO_LINE)
    return {"failures": failures, "folds": folds, "largest_fold": largest, "fold_witness": witness}


# ----------------------------------------------------------------------------- into R^k
def _sub(p: tuple, q: tuple) -> tuple:
    return tuple(a - b for a, b in zip(p, q))


def _dot(p: tuple, q: tuple) -> Fraction:
    return sum((a * b for a, b in zip(p, q)), Fraction(0))


def _segments_meet(p: tuple, q: tuple, r: tuple, s: tuple) -> bool:
    """Do the closed segments [p, q] and [r, s] share a point? Exact; either may be a point."""
    u, v, w = _sub(q, p), _sub(s, r), _sub(r, p)
    uu, uv, vv, wu, wv = _dot(u, u), _dot(u, v), _dot(v, v), _dot(w, u), _dot(w, v)
    if uu == 0 or vv == 0:
        if uu == 0 and vv == 0:
            return p == r
        if uu == 0:  # p on [r, s]?
            p, q, r, s = r, s, p, q
            u, uu, w = v, vv, _sub(r, p)
            wu = _dot(w, u)
        return wu * wu == _dot(w, w) * uu and 0 <= wu <= uu
    denominator = uu * vv - uv * uv
    if denominator != 0:
        first = (wu * vv - uv * wv) / denominator
        second = (uv * wu - uu * wv) / denominator
        if not (0 <= first <= 1 and 0 <= second <= 1):
            return False
        return all(pi + first * ui == ri + second * vi for pi, ui, ri, vi in zip(p, u, r, v))
    if _dot(w, w) * uu - wu * wu != 0:  # parallel, not collinear
        return False
    low, high = sorted((wu / uu, (wu + uv) / uu))
    return max(Fraction(0), low) <= min(Fraction(1), high)


def _candidate_pairs(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs i < j whose boxes [low, high] overlap (sort and sweep on the first axis)."""
    order = np.argsort(low[:, 0], kind="stable")
    sorted_low = low[order, 0]
    reach = np.searchsorted(sorted_low, high[order, 0], side="right")  # boxes starting before i's end
    counts = np.maximum(reach - np.arange(order.size) - 1, 0)
    first = np.repeat(np.arange(order.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    second = first + 1 + offsets
    a, b = order[first], order[second]
    overlap = np.all((low[a] <= high[b]) & (low[b] <= high[a]), axis=1)
    a, b = a[overlap], b[overlap]
    return np.minimum(a, b), np.maximum(a, b)


def _segment_distances(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Float distances between segments [p, q] and [r, s], row by row (Ericson 2005, 5.1.9)."""
    d1, d2, w = q - p, s - r, p - r
    a, e, f = np.sum(d1 * d1, axis=1), np.sum(d2 * d2, axis=1), np.sum(d2 * w, axis=1)
    c, b = np.sum(d1 * w, axis=1), np.sum(d1 * d2, axis=1)
    denominator = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(denominator > 0, np.clip((b * f - c * e) / denominator, 0, 1), 0.0)
        second = np.where(e > 0, (b * first + f) / e, 0.0)
        first = np.where(second < 0, np.clip(-c / a, 0, 1), np.where(second > 1, np.clip((b - c) / a, 0, 1), first))
        first = np.nan_to_num(first)
        second = np.clip(second, 0, 1)
    gap = (p + first[:, None] * d1) - (r + second[:, None] * d2)
    return np.linalg.norm(gap, axis=1)


def _adjacent(a: np.ndarray, b: np.ndarray, count: int, closed: bool) -> np.ndarray:
    """For pairs a < b: are pieces a and b neighbours along the curve?"""
    return (b - a == 1) | (closed & (a == 0) & (b == count - 1))


def _surely_not_parallel(g: np.ndarray, eg: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Float test: |G_i ∧ G_j| > 0 for certain (G within eg of g in every coordinate).

    |G_i ∧ G_j| >= |g_i ∧ g_j| - |δ_i||g_j| - |g_i||δ_j| - |δ_i||δ_j| with |δ| <= sqrt(k) eg;
    |g_i ∧ g_j|^2 = |g_i|^2 |g_j|^2 - (g_i . g_j)^2 is computed within (4k + 8) u |g_i|^2 |g_j|^2.
    """
    k = g.shape[1]
    gi, gj = g[i], g[j]
    ni, nj = np.sum(gi * gi, axis=1), np.sum(gj * gj, axis=1)
    dot = np.sum(gi * gj, axis=1)
    wedge2 = ni * nj - dot * dot - (4 * k + 8) * _UNIT * ni * nj
    di, dj = math.sqrt(k) * eg[i], math.sqrt(k) * eg[j]
    margin = (di * np.sqrt(nj) + dj * np.sqrt(ni) + di * dj) * (1 + 1e-6)
    return np.sqrt(np.maximum(wedge2, 0.0)) * (1 - 1e-6) > margin


def _surely_apart_2d(image: _Image, pieces: list, a: np.ndarray, b: np.ndarray, plane: tuple) -> np.ndarray:
    """Float orientation test on a coordinate plane: the projections of pieces a, b are disjoint.

    Disjoint when both ends of one piece are strictly on one side of the other's line; each
    orientation is accepted only beyond its error bound (inputs within radius rho per
    coordinate, plus the rounding of the differences and products).
    """
    x, y = plane
    heads, tails, radius = pieces

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ax, ay = q[:, x] - p[:, x], q[:, y] - p[:, y]
        bx, by = r[:, x] - p[:, x], r[:, y] - p[:, y]
        value = ax * by - ay * bx
        scale = np.abs(np.stack([p[:, x], p[:, y], q[:, x], q[:, y], r[:, x], r[:, y]])).max(axis=0)
        rho = rho + 2 * _UNIT * scale
        sizes = np.abs(ax) + np.abs(ay) + np.abs(bx) + np.abs(by)
        bound = (2 * rho * sizes + 8 * rho * rho) * (1 + 1e-6) + 8 * _UNIT * (np.abs(ax * by) + np.abs(ay * bx))
        return value, bound

    rho = np.maximum(radius[a], radius[b])
    apart = np.zeros(a.size, dtype=bool)
    for (p, q), (r, s) in (((heads[a], tails[a]), (heads[b], tails[b])), ((heads[b], tails[b]), (heads[a], tails[a]))):
        first, first_bound = orient(p, q, r, rho)
        second, second_bound = orient(p, q, s, rho)
        apart |= ((first > first_bound) & (second > second_bound)) | ((first < -first_bound) & (second < -second_bound))
    return apart


def _decide_space(image: _Image, closed: bool) -> dict[str, Any]:
    count, k = image.count, image.slopes.shape[1]
    failures = []
    g, eg = image.slopes, image.slope_errors
    moving = np.abs(g).max(axis=1) > eg
    degenerate = [i for i in np.nonzero(~moving)[0].tolist() if not any(image.exact(i)[2])]
    if degenerate:
        failures.append(DEGENERATE_PIECE)
    skip = set(degenerate)
    # neighbours: certainly not parallel (floats), else exactly parallel alike (merge) or opposite (fold)
    left = np.arange(count - 1)
    plain = _surely_not_parallel(g, eg, left, left + 1) if count > 1 else np.zeros(0, dtype=bool)
    alike = np.zeros(max(count - 1, 0), dtype=bool)
    total = float(image.lengths.sum())
    folds, largest, witness = 0, 0.0, None

    def relation(i: int, j: int) -> int:
        """+1: exactly parallel and alike, -1: exactly opposite (a fold), 0: otherwise."""
        u, v = image.exact(i)[2], image.exact(j)[2]
        uv = _dot(u, v)
        if uv * uv != _dot(u, u) * _dot(v, v):
            return 0
        return 1 if uv > 0 else -1

    pairs = [(i, i + 1) for i in np.nonzero(~plain)[0].tolist()]
    if closed and count > 2 and not _surely_not_parallel(g, eg, np.array([count - 1]), np.array([0]))[0]:
        pairs.append((count - 1, 0))
    for i, j in pairs:
        if i in skip or j in skip:
            continue
        kind = relation(i, j)
        if kind == 1 and j == i + 1:
            alike[i] = True
        elif kind == -1:
            folds += 1
            size = float(min(image.lengths[i], image.lengths[j]) / total) if total > 0 else 0.0
            if size >= largest:
                largest, witness = size, float(image.segments[j] + image.starts[j])
    if folds:
        failures.insert(0, FOLD)
    # pieces: maximal runs of parts on one straight image segment
    run_start = np.concatenate([[0], np.nonzero(~alike)[0] + 1]).astype(np.int64)
    run_end = np.concatenate([run_start[1:] - 1, [count - 1]]).astype(np.int64)
    pieces = run_start.size
    heads, tails = image.heads[run_start], image.tails[run_end]
    radius = np.maximum(image.head_radius[run_start], image.tail_radius[run_end])
    scale = float(max(np.abs(heads).max(initial=0.0), np.abs(tails).max(initial=0.0)))
    pad = radius[:, None] + 4 * _UNIT * scale + np.finfo(np.float64).tiny
    first, second = _candidate_pairs(np.minimum(heads, tails) - pad, np.maximum(heads, tails) + pad)
    keep = ~_adjacent(first, second, pieces, closed)
    first, second = first[keep], second[keep]
    undecided = np.ones(first.size, dtype=bool)
    planes = [(0, 1)] if k == 2 else [(0, 1), (1, 2), (0, 2)][: max(1, k - 1)]
    for plane in planes:
        if not undecided.any():
            break
        index = np.nonzero(undecided)[0]
        apart = _surely_apart_2d(image, (heads, tails, radius), first[index], second[index], plane)
        undecided[index[apart]] = False
    meeting = []
    for a, b in zip(first[undecided].tolist(), second[undecided].tolist()):
        p, q = image.exact(int(run_start[a]))[0], image.exact(int(run_end[a]))[1]
        r, s = image.exact(int(run_start[b]))[0], image.exact(int(run_end[b]))[1]
        if _segments_meet(p, q, r, s):
            meeting.append((int(a), int(b)))
    if meeting:
        failures.append(SELF_INTERSECTION)
    separation = 0.0 if meeting else _min_separation(heads, tails, pieces, closed)
    return {
        "failures": failures,
        "folds": folds,
        "largest_fold": largest,
        "fold_witness": witness,
        "self_intersections": len(meeting),
        "intersection_witness": meeting[0] if meeting else None,
        "min_separation": separation,
        "pieces": int(pieces),
    }


def _min_separation(heads: np.ndarray, tails: np.ndarray, count: int, closed: bool) -> Optional[float]:
    """Smallest float distance between non-adjacent pieces (None when there are none).

    Grows a margin delta from the median piece length: every pair at distance <= delta has
    boxes that overlap once padded by delta, so the smallest distance among those pairs is the
    global one as soon as it is <= delta.
    """
    if count < (4 if closed else 3):
        return None
    lengths = np.linalg.norm(tails - heads, axis=1)
    delta = float(np.median(lengths)) or float(lengths.max()) or 1.0
    low, high = np.minimum(heads, tails), np.maximum(heads, tails)
    span = float(np.abs(np.concatenate([low, high])).max()) + 1.0
    while True:
        first, second = _candidate_pairs(low - delta / 2, high + delta / 2)
        keep = ~_adjacent(first, second, count, closed)
        first, second = first[keep], second[keep]
        distances = _segment_distances(heads[first], tails[first], heads[second], tails[second])
        if distances.size and float(distances.min()) <= delta:
            return float(distances.min())
        if delta > 4 * span:
            return float(distances.min()) if distances.size else None
        delta *= 4.0


# ----------------------------------------------------------------------------- public
def lipschitz_bound(network: LoweredNetwork) -> float:
    """An upper bound on φ's Lipschitz constant on R^n: the product of spectral norms, rounded up.

    ReLU and leaky ReLU (slope <= 1 in absolute value) are 1-Lipschitz, so |φ(x) - φ(y)| <=
    prod_l ||W_l||_2 |x - y|. Each norm is the largest singular value from LAPACK, enlarged by
    a relative 1e-12 · (rows + columns) to cover its rounding.
    """
    bound = 1.0
    for layer in network.layers:
        weight = np.asarray(layer.weight, dtype=np.float64)
        norm = float(np.linalg.norm(weight, 2)) if weight.size else 0.0
        bound *= norm * (1.0 + 1e-12 * sum(weight.shape)) * max(1.0, abs(layer.negative_slope))
    return float(bound)


def polyline_injectivity(
    encoder: Any,
    vertices: Any,
    closed: bool = False,
    *,
    regions: Optional[PolylineRegions] = None,
    backend: str = "numpy",
    holds_for: str = "polyline",
) -> CurveInjectivity:
    """Is φ injective on the polyline through ``vertices``? Decided exactly (module docstring).

    Args:
        encoder: a Keras model or a :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        vertices: shape=[n, input_dim].
        closed: whether the last vertex joins the first.
        regions: the :class:`~geokeras.complexity.polyline.PolylineRegions` of this encoder and
            polyline, if already computed.
        backend: of :func:`~geokeras.complexity.polyline.count_regions_on_polyline`.
        holds_for: the label of the set the verdict is proven for (default ``"polyline"``).

    Returns:
        a :class:`CurveInjectivity`.
    """
    network = lower(encoder)
    if regions is None:
        regions = count_regions_on_polyline(network, vertices, closed, backend=backend)
    elif bool(regions.closed) != bool(closed):
        raise ValueError(
            f"Expected regions of a {'closed' if closed else 'open'} polyline. Received closed={regions.closed}."
        )
    image = _Image(network, regions)
    latent_dim = int(network.output_dim)
    decided = _decide_line(image, closed) if latent_dim == 1 else _decide_space(image, closed)
    return CurveInjectivity(
        injective=not decided["failures"],
        holds_for=holds_for,
        failures=decided["failures"],
        folds=decided["folds"],
        largest_fold=decided["largest_fold"],
        fold_witness=decided["fold_witness"],
        self_intersections=decided.get("self_intersections", 0),
        intersection_witness=decided.get("intersection_witness"),
        min_separation=decided.get("min_separation"),
        pieces=decided.get("pieces", image.count),
        lipschitz_bound=lipschitz_bound(network),
        latent_dim=latent_dim,
        closed=bool(closed),
    )


def curve_injectivity(
    encoder: Any, curve: Any, resolution: Optional[int] = 4096, *, backend: str = "numpy"
) -> CurveInjectivity:
    """Is φ injective on the curve manifold ``curve``? On its polyline Σ_h, and when proven, on Σ.

    A polygonal curve (an :class:`~geokeras.manifolds.capabilities.ExactPolygon`: hilbert, peano, koch) embedded by the
    identity is its own polyline: its vertices (``resolution=None``) or their subdivision into
    at least ``resolution`` collinear parts (the same set of points) are the curve, and the
    verdict holds for the manifold. Otherwise the polyline of ``resolution`` segments at equal
    arc-length spacing is decided and ``holds_for`` is ``"polyline(h=...)"`` with the longest
    chord h (module docstring: why no claim for the smooth curve is made).
    """
    if resolution is None and not isinstance(curve, ExactPolygon):
        resolution = 4096
    geometry = exact_geometry(curve, resolution)
    if geometry is None or geometry.kind != "curve":
        raise ValueError(f"Expected a curve with an exact polyline. Received: {no_geometry_reason(curve)}.")
    return curve_injectivity_on(encoder, curve, geometry, backend=backend)


def curve_injectivity_on(encoder: Any, curve: Any, geometry: Any, *, backend: str = "numpy") -> CurveInjectivity:
    """:func:`curve_injectivity` on a polyline of ``curve`` already built (an
    :class:`~geokeras.manifolds.geometry.ExactGeometry` of kind ``curve``)."""
    label = _holds_for(curve, geometry.vertices, geometry.closed)
    return polyline_injectivity(encoder, geometry.vertices, geometry.closed, backend=backend, holds_for=label)


def _holds_for(curve: Any, vertices: np.ndarray, closed: bool) -> str:
    """``"manifold"`` for a polygonal curve embedded by the identity, else ``"polyline(h=...)"``."""
    if isinstance(curve, ExactPolygon) and curve.embedding.is_identity:
        return "manifold"
    ring = np.concatenate([vertices, vertices[:1]]) if closed else vertices
    return f"polyline(h={float(np.linalg.norm(np.diff(ring, axis=0), axis=1).max()):.3g})"


def decide_curve_injectivity(network: Any, manifold: Any, geometry: Any, max_pieces: Optional[int] = None) -> dict:
    """The learnability evaluator's entry: ``{"injective", "failed", "holds_for", ...numbers}``.

    Args:
        network: the lowered encoder.
        manifold: the curve manifold.
        geometry: its :class:`~geokeras.manifolds.geometry.ExactGeometry` (the polyline).
        max_pieces: undecided (``injective`` None, with ``reason``) above this many parts.
    """
    regions = count_regions_on_polyline(network, geometry.vertices, geometry.closed)
    if max_pieces is not None and regions.part_segments.size > int(max_pieces):
        return {
            "injective": None,
            "failed": [],
            "holds_for": None,
            "reason": f"{regions.part_segments.size} parts along the polyline exceed max_regions={max_pieces}",
        }
    label = _holds_for(manifold, np.asarray(geometry.vertices, dtype=np.float64), bool(geometry.closed))
    result = polyline_injectivity(network, geometry.vertices, geometry.closed, regions=regions, holds_for=label)
    metrics = result.as_metrics()
    return {"injective": metrics.pop("injective"), "failed": metrics.pop("failures"), **metrics}
