"""The rectified linear complexity N(R^n, Σ) of a manifold (Lei et al. 2018, section 3).

A chart of Σ is *linear rectifiable* when some affine map R^n -> R^m restricted to it is a
homeomorphism onto its image; N(R^n, Σ) is the least number of such charts (Definition
4.9). For a curve (m = 1) a piece is linear rectifiable exactly when some direction v makes
<x, v> strictly monotone along it: for a polyline, when all its segment directions d_i lie
in one open half-space, i.e. 0 is not in the convex hull of the d_i (a segment's
direction alone always qualifies).

Curves (exact, for the given polyline)
    Windows of consecutive segments [i, j) are tested for that condition; feasibility is
    hereditary (a sub-window of a feasible window is feasible), so for each start i there
    is a farthest reach r(i), and the greedy sweep (take the longest feasible window, start
    the next where it ends) is optimal for partitioning an interval. Test of a window:

    * directions spanning a space of dimension <= 2 (every plane curve, also after an
      isometric embedding into R^D: the directions are first expressed in an orthonormal
      basis of their span, by SVD): closed form. With turning angles
      delta_k = atan2(d_k x d_{k+1}, d_k . d_{k+1}) in (-pi, pi] and the unwrapped angle
      Theta_k = sum_{i<k} delta_i, a window is feasible iff
      max Theta - min Theta < pi - angle_tol over it (the directions then lie in an arc
      shorter than pi; conversely, inside such an arc each turn is the short rotation, so
      the unwrapped angle never leaves it). Range maxima/minima by sparse tables: all
      reaches r(i) at once, vectorised.
    * directions of rank >= 3: a linear program per window, max t subject to
      <d_i, v> >= t, |v|_inf <= 1 (scipy.optimize.linprog, HiGHS); feasible iff
      t* > angle_tol. Reaches by two pointers (r(i) is non-decreasing), reusing the last
      witness v while it still works and the LP's Farkas certificate (its duals) to rule
      out shorter windows, so most windows need no LP.

    Conventions for a closed curve (Lei et al. 2018, section 3, made precise): ``pieces`` is
    the *partition* count, the least number of half-open arcs (minimised over all starting
    vertices, by jumping r(i) around the doubled sequence, vectorised with binary lifting);
    ``open_cover`` is the least number of *open* arcs covering it, where consecutive arcs
    must share at least one segment (an open arc around a vertex contains both of its
    segments). A circle: pieces = 2, open_cover = 3. ``open_cover`` is ``None`` when a
    vertex turns back by exactly pi (a cusp: no open arc around it is rectifiable).
    For an open curve the open cover needs no wrap-around.

Surfaces
    Delegated to :func:`geokeras.complexity.surface_rlc.surface_rlc` (greedy region growing
    for an upper bound, a lower bound where one exists, the Gauss-map test of Lemma 4.13).

The curve counts are exact for the polyline; for a smooth curve they are those of its
inscribed polyline at the chosen resolution (they converge as the resolution grows, but a
chart boundary can shift by one). For the paper's Peano curves C_k (``hilbert`` order k + 2)
and the Peano serpentine the polyline *is* the curve, and the manifold's ``units`` (the
paper's lower bound 4^{k+1} for C_k) is reported beside the exact count, which may exceed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geokeras.complexity.polyline import polyline_segments
from geokeras.manifolds.base import Manifold
from geokeras.manifolds.capabilities import NonRectifiableUnits
from geokeras.manifolds.geometry import CURVE, ExactGeometry, exact_geometry

DEFAULT_ANGLE_TOL = 1e-9
"""Windows whose directions span an angle within this of pi count as not rectifiable."""


@dataclass(frozen=True)
class CurveRLC:
    """The RLC of a polyline.

    Attributes:
        pieces: least number of consecutive linear rectifiable pieces partitioning the curve.
        open_cover: least number of open linear rectifiable arcs covering it (None: none exists).
        closed: whether the polyline is closed.
        segments: segments with positive length.
        piece_starts: shape=[pieces], the first segment of each piece of one optimal partition
            (indices into the positive-length segments).
        method: ``"greedy_sweep_planar"`` or ``"greedy_sweep_lp"``.
    """

    pieces: int
    open_cover: int | None
    closed: bool
    segments: int
    piece_starts: np.ndarray
    method: str

    def as_metrics(self) -> dict[str, Any]:
        return {
            "pieces": self.pieces,
            "lower": self.pieces,
            "upper": self.pieces,
            "open_cover": self.open_cover,
            "method": self.method,
            "counted_as": "partition",  # the key surface_rlc uses too
            "closed": self.closed,
            "segments": self.segments,
        }


# ----------------------------------------------------------------------------- reaches
def _span_coordinates(directions: np.ndarray) -> np.ndarray:
    """The directions in an orthonormal basis of their span, shape=[S, rank]."""
    _, singular, basis = np.linalg.svd(directions, full_matrices=False)
    rank = int(np.sum(singular > singular[0] * 1e-12)) if singular.size and singular[0] > 0 else 0
    return directions @ basis[:rank].T


def _planar_reaches(unit: np.ndarray, cap: np.ndarray, angle_tol: float) -> np.ndarray:
    """r(i) for directions in R^2 (shape=[S, 2]) by the unwrapped-angle test (module docstring)."""
    count = unit.shape[0]
    cross = unit[:-1, 0] * unit[1:, 1] - unit[:-1, 1] * unit[1:, 0]
    dot = np.sum(unit[:-1] * unit[1:], axis=1)
    theta = np.concatenate([[0.0], np.cumsum(np.arctan2(cross, dot))])
    levels = max(1, int(np.ceil(np.log2(count))) + 1)
    highs, lows = [theta], [theta]
    for level in range(1, levels):
        step = 1 << (level - 1)
        previous_high, previous_low = highs[-1], lows[-1]
        shifted = np.minimum(np.arange(count) + step, count - 1)
        highs.append(np.maximum(previous_high, previous_high[shifted]))
        lows.append(np.minimum(previous_low, previous_low[shifted]))
    limit = np.pi - angle_tol
    reach = np.arange(count) + 1  # a single direction is always rectifiable
    high, low = theta.copy(), theta.copy()
    for level in range(levels - 1, -1, -1):
        length = 1 << level
        position = reach
        can = position + length <= np.minimum(cap, count)
        index = np.minimum(position, count - 1)
        new_high = np.maximum(high, highs[level][index])
        new_low = np.minimum(low, lows[level][index])
        accept = can & (new_high - new_low < limit)
        reach = np.where(accept, position + length, reach)
        high = np.where(accept, new_high, high)
        low = np.where(accept, new_low, low)
    return reach


def _lp_margin(directions: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """max t subject to D v >= t, |v|_inf <= 1, t <= 1: ``(t*, v*, certificate support)``.

    t* > 0 iff the directions lie in an open half-space. When t* <= 0 the LP duals give a
    convex combination sum_i lambda_i d_i = 0 (Farkas); ``support`` holds the indices i
    with lambda_i > 0 (empty when t* > 0).
    """
    from scipy.optimize import linprog

    count, dim = directions.shape
    objective = np.zeros(dim + 1)
    objective[-1] = -1.0
    constraints = np.concatenate([-directions, np.ones((count, 1))], axis=1)  # t - <d_i, v> <= 0
    result = linprog(
        objective,
        A_ub=constraints,
        b_ub=np.zeros(count),
        bounds=[(-1.0, 1.0)] * dim + [(None, 1.0)],
        method="highs",
    )
    if result.status != 0:  # cannot happen for this always-feasible, bounded LP
        raise RuntimeError(f"The half-space LP failed: {result.message}")
    margin = float(-result.fun)
    support = np.nonzero(np.abs(result.ineqlin.marginals) > 1e-12)[0] if margin <= 0 else np.zeros(0, np.int64)
    return margin, np.asarray(result.x[:dim]), support


def _lp_reaches(unit: np.ndarray, cap: np.ndarray, angle_tol: float) -> np.ndarray:
    """r(i) for directions of any dimension, by two pointers (r is non-decreasing).

    A window [i, j] is feasible when the LP margin exceeds ``angle_tol``. Two shortcuts keep
    the LP count low: the last witness v is reused while every direction of the window has
    <d, v> > angle_tol, and an infeasibility certificate supported on [a, j] rules out
    every window [i', j] with i' <= a without a new LP.
    """
    count = unit.shape[0]
    reach = np.zeros(count, dtype=np.int64)
    end = 1
    witness = unit[0].copy()
    blocked_end, blocked_until = -1, -1
    for start in range(count):
        if end <= start:
            end, witness = start + 1, unit[start].copy()
        while end < min(int(cap[start]), count):
            if np.all(unit[start : end + 1] @ witness > angle_tol):
                end += 1
                continue
            if blocked_end == end and start <= blocked_until:
                break
            margin, found, support = _lp_margin(unit[start : end + 1])
            if margin <= angle_tol:
                if support.size:
                    blocked_end, blocked_until = end, start + int(support.min())
                break
            witness, end = found, end + 1
        reach[start] = end
    return reach


def _reaches(unit: np.ndarray, cap: np.ndarray, angle_tol: float) -> tuple[np.ndarray, str]:
    coordinates = _span_coordinates(unit)
    if coordinates.shape[1] <= 2:
        planar = np.zeros((unit.shape[0], 2))
        planar[:, : coordinates.shape[1]] = coordinates
        return _planar_reaches(planar, cap, angle_tol), "greedy_sweep_planar"
    return _lp_reaches(coordinates, cap, angle_tol), "greedy_sweep_lp"


def _min_jumps(jump: np.ndarray, starts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each start, the least m with jump^m(start) >= target (binary lifting, vectorised).

    ``jump`` must be strictly increasing along positions (jump[p] > p) until it is capped at
    the last position, which must be >= every target.
    """
    tables = [jump]
    horizon = int(np.max(targets - starts)) + 1
    while (1 << (len(tables) - 1)) < horizon:
        tables.append(tables[-1][tables[-1]])
    position = starts.copy()
    count = np.zeros_like(starts)
    for level in range(len(tables) - 1, -1, -1):
        following = tables[level][position]
        move = following < targets
        position = np.where(move, following, position)
        count = count + np.where(move, 1 << level, 0)
    return count + 1


def curve_rlc(vertices: Any, closed: bool = False, *, angle_tol: float = DEFAULT_ANGLE_TOL) -> CurveRLC:
    """N(R^n, polyline): the exact least number of linear rectifiable pieces (module docstring).

    Args:
        vertices: shape=[n, dim].
        closed: whether the last vertex joins the first.
        angle_tol: windows within this angle (radians) of a half-turn count as not rectifiable.
    """
    if not 0 < angle_tol < 0.1:
        raise ValueError(f"Expected 0 < angle_tol < 0.1. Received: angle_tol={angle_tol!r}.")
    _, directions = polyline_segments(vertices, closed)
    lengths = np.linalg.norm(directions, axis=1)
    unit = directions[lengths > 0] / lengths[lengths > 0, None]
    count = unit.shape[0]
    if count == 0:
        raise ValueError(
            "Expected a polyline with at least one segment of positive length. Received: all vertices equal."
        )
    if not closed:
        reach, method = _reaches(unit, np.full(count, count), angle_tol)
        jump = np.concatenate([reach, [count]])
        pieces = int(_min_jumps(jump, np.array([0]), np.array([count]))[0])
        piece_starts = _greedy_starts(jump, 0, count)
        overlap = np.concatenate([np.maximum(reach - 1, np.arange(count)), [count]])
        overlap[:count][reach >= count] = count
        stuck = np.any((reach == np.arange(count) + 1) & (reach < count))
        open_cover = None if stuck else int(_min_jumps(overlap, np.array([0]), np.array([count]))[0])
        return CurveRLC(pieces, open_cover, False, count, piece_starts, method)

    if count < 2:
        raise ValueError(f"Expected a closed polyline with at least 2 segments of positive length. Received: {count}.")
    doubled = np.concatenate([unit, unit])
    positions = np.arange(2 * count)
    reach, method = _reaches(doubled, positions + count, angle_tol)
    jump = np.concatenate([reach, [2 * count]])
    starts = np.arange(count)
    jumps = _min_jumps(jump, starts, starts + count)
    best = int(np.argmin(jumps))
    pieces = int(jumps[best])
    piece_starts = _greedy_starts(jump, best, best + count) % count
    stuck = np.any((reach == positions + 1) & (positions + 1 < 2 * count))
    open_cover = None
    if not stuck:
        overlap = np.concatenate([reach - 1, [2 * count]])
        open_cover = int(np.min(_min_jumps(overlap, starts, starts + count)))
    return CurveRLC(pieces, open_cover, True, count, piece_starts, method)


def _greedy_starts(jump: np.ndarray, start: int, target: int) -> np.ndarray:
    starts = [start]
    position = start
    while jump[position] < target:
        position = int(jump[position])
        starts.append(position)
    return np.array(starts, dtype=np.int64)


# ----------------------------------------------------------------------------- manifolds
def manifold_rlc(
    manifold_or_vertices: Any,
    faces: Any = None,
    *,
    closed: bool = False,
    resolution: int | None = None,
    angle_tol: float = DEFAULT_ANGLE_TOL,
) -> dict[str, Any]:
    """N(R^n, Σ) of a curve or surface: ``pieces``, ``lower``, ``upper``, ``method`` and extras.

    Args:
        manifold_or_vertices: a :class:`~geokeras.manifolds.base.Manifold` with a
            ``polyline`` (curves) or ``mesh`` (surfaces); or vertices, shape=[n, dim].
        faces: with vertices, shape=[f, 3] int: a triangle mesh (a surface).
        closed: with vertices and no faces, whether the polyline is closed.
        resolution: segments of a smooth curve's polyline or mesh resolution of a surface
            (see :func:`geokeras.manifolds.geometry.exact_geometry`).
        angle_tol: see :func:`curve_rlc`.

    Returns:
        For curves: ``pieces`` (= ``lower`` = ``upper``, exact for the polyline, partition
        convention), ``open_cover``, ``method``, ``counted_as``, ``closed``, ``segments``,
        ``resolution`` and, for space-filling curves, ``units`` (the paper's lower bound,
        Theorem 4.14). For surfaces: the dict of
        :func:`geokeras.complexity.surface_rlc.surface_rlc`, with ``resolution``.

    Raises:
        ValueError: for a manifold that is neither a curve with a polyline nor a surface
            with a mesh (images, data sets): no RLC is computed for them.
    """
    if faces is not None:
        return surface_rlc_of(manifold_or_vertices, faces)
    if not isinstance(manifold_or_vertices, Manifold):
        return curve_rlc(manifold_or_vertices, closed, angle_tol=angle_tol).as_metrics()
    manifold = manifold_or_vertices
    geometry = exact_geometry(manifold, resolution, resolution)
    if geometry is None:
        raise ValueError(
            f"Expected a curve (intrinsic_dim 1, with a polyline) or a surface (intrinsic_dim 2, "
            f"with a mesh) to compute its rectified linear complexity. Received: manifold type "
            f"{manifold.params.type!r} with intrinsic_dim={manifold.intrinsic_dim!r}."
        )
    return geometry_rlc(manifold, geometry, angle_tol=angle_tol)


def geometry_rlc(manifold: Any, geometry: ExactGeometry, *, angle_tol: float = DEFAULT_ANGLE_TOL) -> dict[str, Any]:
    """N(R^n, Σ) on the manifold's exact geometry: the dict :func:`manifold_rlc` returns.

    A curve: :meth:`CurveRLC.as_metrics` of its polyline, with the manifold's ``units`` when it
    has :class:`~geokeras.manifolds.capabilities.NonRectifiableUnits`; a surface:
    :func:`surface_rlc_of` its mesh (``angle_tol`` does not apply). Both with ``resolution``.
    """
    if geometry.kind == CURVE:
        result = curve_rlc(geometry.vertices, geometry.closed, angle_tol=angle_tol).as_metrics()
        if isinstance(manifold, NonRectifiableUnits):
            result["units"] = int(manifold.units)
    else:
        result = surface_rlc_of(geometry.vertices, geometry.faces)
    result["resolution"] = geometry.resolution
    return result


def surface_rlc_of(vertices: Any, faces: Any) -> dict[str, Any]:
    """:func:`geokeras.complexity.surface_rlc.surface_rlc` as a plain dict (a clear error if absent)."""
    try:
        from geokeras.complexity.surface_rlc import surface_rlc
    except ImportError as error:  # the surface module is developed separately
        raise ValueError(
            "The RLC of surfaces needs geokeras.complexity.surface_rlc, which is not available "
            f"in this installation ({error})."
        ) from None
    return dict(surface_rlc(vertices, faces))
