"""A proven lower bound on the linear regions of any encoder R^2 -> R^1 of a planar arc.

Let Σ be an open arc in the plane, parameterised by arc length t in [0, L], and φ: R^2 -> R a
continuous piecewise-affine map whose linear regions are convex (the activation regions of
a ReLU network are: on each, every layer is affine). If φ|Σ is injective, it is strictly
monotone in t (an injective continuous map of an interval into R), say increasing. For a
level c, the arc splits into A_c = {t < t(c)} (φ < c) and B_c = {t > t(c)} (φ > c).

Take a straight line ℓ meeting Σ at points p_1, ..., p_k in their order along ℓ, with arc
parameters t_1, ..., t_k. Between two consecutive points with labels A and B, φ takes the
value c somewhere on ℓ. Two such crossings never lie in one region K: K ∩ ℓ is a segment (K
is convex), φ is affine on it, and an affine function of one variable equal to c at two points
is c between them, but between two crossings lies a point p_i of Σ, where φ ≠ c. Hence

    regions(φ) >= changes(ℓ, c) = #{i : min(t_i, t_{i+1}) < t(c) < max(t_i, t_{i+1})}

for every line ℓ and every level c: the largest number of label changes along one line,
over lines and cuts, is a lower bound on the regions of every encoding map of Σ into R^1, so
an architecture with fewer regions (an upper bound such as Zaslavsky's) provably cannot encode
Σ. (The paper's count of connected pieces, N(R^2, Σ), bounds the pieces of φ *along Σ*, but one
convex region can meet Σ in many arcs, so it does not bound the regions; this bound does.)

The maximum over c for one line is an interval-stabbing count (a sweep over sorted interval
ends); lines are ``directions`` angles (golden-ratio offsets, so no line is parallel to the axes
of grid-like curves such as Hilbert's) x ``offsets`` parallel lines across the curve. Every line
gives a valid bound, so sampling lines only makes the bound smaller, never wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["line_separation_bound"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _max_stabbing(low: np.ndarray, high: np.ndarray) -> int:
    """max over c of #{i : low_i < c < high_i} (open intervals)."""
    if len(low) == 0:
        return 0
    points = np.concatenate([low, high])
    steps = np.concatenate([np.ones(len(low)), -np.ones(len(high))])
    order = np.lexsort((steps, points))  # at equal points, ends (-1) before starts (+1)
    return int(max(0, np.max(np.cumsum(steps[order]))))


def line_separation_bound(vertices: np.ndarray, directions: int = 64, offsets: int = 256) -> int:
    """max over sampled lines and cuts of the label changes along the line (module docstring).

    Args:
        vertices: shape=[k, 2], an open polyline in the plane (consecutive vertices distinct).
        directions: angles of the lines, pi (j + 0.618...) / directions, j < directions.
        offsets: parallel lines per angle, spread across the curve's bounding disc.

    Returns:
        a lower bound (>= 0) on the number of convex linear regions of any continuous
        piecewise-affine map R^2 -> R^1 that is injective on the polyline.

    Raises:
        ValueError: vertices is not an [k, 2] array with k >= 2, or directions/offsets < 1.
    """
    points = np.asarray(vertices, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 2:
        raise ValueError(f"Expected vertices of shape [k >= 2, 2]. Received: shape {points.shape}.")
    if directions < 1 or offsets < 1:
        raise ValueError(f"Expected directions >= 1 and offsets >= 1. Received: {directions}, {offsets}.")
    start, end = points[:-1], points[1:]
    lengths = np.linalg.norm(end - start, axis=1)
    arc_start = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    centre = points.mean(axis=0)
    radius = float(np.max(np.linalg.norm(points - centre, axis=1))) or 1.0
    levels = radius * (2.0 * (np.arange(offsets) + _GOLDEN) / offsets - 1.0)
    best = 0
    for j in range(directions):
        angle = np.pi * (j + _GOLDEN) / directions
        along = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-along[1], along[0]])
        height_start, height_end = (start - centre) @ normal, (end - centre) @ normal
        along_start, along_end = (start - centre) @ along, (end - centre) @ along
        # crossings[s, o]: segment s crosses line o strictly inside (a vertex on a line is skipped).
        crossings = (height_start[:, None] - levels) * (height_end[:, None] - levels) < 0.0
        for o in np.nonzero(crossings.sum(axis=0) >= 2)[0]:
            hit = np.nonzero(crossings[:, o])[0]
            fraction = (levels[o] - height_start[hit]) / (height_end[hit] - height_start[hit])
            position = along_start[hit] + fraction * (along_end[hit] - along_start[hit])
            t = (arc_start[hit] + fraction * lengths[hit])[np.argsort(position, kind="stable")]
            best = max(best, _max_stabbing(np.minimum(t[:-1], t[1:]), np.maximum(t[:-1], t[1:])))
    return best
