"""The ``learnability`` evaluator: is the trained encoder φ, restricted to Σ, a homeomorphism?

Lei et al. 2018 (section 4 of docs/paper-notes): Σ is *encodable* by a network when some
encoder of it is an encoding map, continuous with φ|Σ a homeomorphism onto its image. A run
can only test that on finitely many points, so the evaluator gathers evidence of each kind
and gives a verdict with every number behind it:

**Injectivity** (no folds). On n evaluation points of Σ with geodesic distances d_Σ and codes
φ(x) with Euclidean distances d_φ, both scaled by their diameters, the pair ratio is
``r(i, j) = (d_φ(i, j) / diam φ) / (d_Σ(i, j) / diam Σ)`` over the *far* pairs,
d_Σ >= ``far_fraction`` · diam Σ. An injective continuous φ on the compact Σ has
``worst_ratio = min r`` bounded away from 0; two distant arcs mapped onto the same codes
give r ≈ 0. A pair with r < ``fold_ratio`` is a fold; ``fold_share`` is the share of points in
a fold. Geodesics: for a curve, exact arc length along its polyline (points at equal arc
length; the shorter way round a closed curve); otherwise shortest paths in the symmetric
k-nearest-neighbour graph of the points (Isomap; Tenenbaum, de Silva, Langford 2000).

**Continuity.** Trustworthiness T(k) (Venna & Kaski 2001; ``sklearn.manifold.trustworthiness``)
of the codes with respect to the points: code neighbours are data neighbours (a fold lowers
it); and *continuity* C(k), the same with the roles swapped: data neighbours stay code
neighbours (a tear lowers it).

**Topology**, exactly on the manifold's own polyline or mesh where the dimensions allow:

* a curve into R^1: the codes along the curve must be strictly monotone; every change of
  direction is a fold (a closed curve always has at least 2). ``turning_points`` counts the
  folds whose extent (the arc length of the largest fibre φ⁻¹(y) they create) is at least
  ``turn_tolerance`` x the curve's geodesic diameter: φ|Σ is tested as a δ-map (every fibre of
  diameter < δ, Alexandroff), the finite-resolution form of injectivity; smaller folds are
  reported (``turns_below_tolerance``, ``largest_fold``) but not counted (:func:`turning_points`);
* a surface into R^2: a local homeomorphism keeps the orientation of every mesh triangle
  (the sign of the determinant of its image); ``folded_triangle_share`` is the area share of
  triangles whose image has the minority orientation (0 for an encoded orientable surface);
* the *topological obstruction* (invariance of domain, Brouwer 1912): a closed m-manifold
  (compact, no boundary) has no injective continuous map into R^m, and no m-manifold has one
  into R^k with k < m. When it applies the encoder cannot be an encoding map, whatever it learned.

**Decoder side.** ``relative_reconstruction_error`` = RMS |x - ψ(φ(x))| / RMS |x - mean x| on
the same points (the reconstruction evaluator reports the absolute numbers).

**Certificate** (Theorem 4.12, the encodable condition N(R^n, Σ) <= N(φ_θ) <= N(N)): when the
architecture's bound on the number of linear regions of the encoder is below a proven lower
bound on the regions of every encoding map of Σ, no weights at all can encode Σ (see
:mod:`geokeras.complexity.certificate` for why that bound, not the connected count, decides).

Verdict: ``provably_not_encodable`` when the certificate says so; else ``not_encoded`` when any
criterion fails (listed in ``failed``); else ``encoded``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.evaluate.context import EvaluationContext, derived_seed
from geokeras.evaluate.params import LearnabilityParams

SEED_PURPOSE = "evaluate.learnability"

ENCODED, NOT_ENCODED, PROVABLY_NOT_ENCODABLE = "encoded", "not_encoded", "provably_not_encodable"


# ----------------------------------------------------------------------------- points and geodesics
def arc_length_points(vertices: np.ndarray, closed: bool, count: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``count`` points at equal arc-length spacing along a polyline, their arc lengths, and L.

    For a closed polyline the last vertex connects back to the first, and the points are
    s_k = k L / count; for an open one s_k = k L / (count - 1), both ends included.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    if closed:
        vertices = np.concatenate([vertices, vertices[:1]])
    cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(vertices, axis=0), axis=1))])
    length = float(cumulative[-1])
    positions = np.arange(count) * (length / count) if closed else np.linspace(0.0, length, count)
    segment = np.clip(np.searchsorted(cumulative, positions, side="right") - 1, 0, len(vertices) - 2)
    span = cumulative[segment + 1] - cumulative[segment]
    fraction = np.divide(positions - cumulative[segment], span, out=np.zeros_like(positions), where=span > 0)
    points = vertices[segment] + fraction[:, None] * (vertices[segment + 1] - vertices[segment])
    return points, positions, length


def arc_length_distances(positions: np.ndarray, length: float, closed: bool) -> np.ndarray:
    """|s_i - s_j|, or min(|s_i - s_j|, L - |s_i - s_j|) round a closed curve: shape=[n, n]."""
    difference = np.abs(positions[:, None] - positions[None, :])
    return np.minimum(difference, length - difference) if closed else difference


def graph_geodesics(points: np.ndarray, neighbours: int) -> np.ndarray:
    """Shortest-path distances in the symmetric k-nearest-neighbour graph (Isomap's geodesics).

    Points in different components of the graph are ``inf`` apart (they count as far).
    """
    from scipy.sparse.csgraph import shortest_path
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(points, n_neighbors=min(neighbours, len(points) - 1), mode="distance")
    return shortest_path(graph.maximum(graph.T), method="D", directed=False)


# ----------------------------------------------------------------------------- the criteria
def fold_statistics(geodesic: np.ndarray, codes: np.ndarray, far_fraction: float, fold_ratio: float) -> dict[str, Any]:
    """``worst_ratio``, ``fold_share`` and ``fold_pairs`` over the far pairs (module docstring)."""
    from scipy.spatial.distance import pdist, squareform

    code_distance = squareform(pdist(codes.reshape(len(codes), -1)))
    finite = np.isfinite(geodesic)
    manifold_diameter = float(geodesic[finite].max())
    code_diameter = float(code_distance.max())
    far = ~finite | (geodesic >= far_fraction * manifold_diameter)
    np.fill_diagonal(far, False)
    if not far.any() or manifold_diameter == 0.0:
        return {"worst_ratio": None, "fold_share": 0.0, "fold_pairs": 0, "far_pairs": 0}
    if code_diameter == 0.0:  # every point has the same code: everything is folded
        ratio = np.zeros_like(code_distance)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            relative_geodesic = np.where(finite, geodesic / manifold_diameter, 1.0)
            ratio = (code_distance / code_diameter) / relative_geodesic
    folds = far & (ratio < fold_ratio)
    return {
        "worst_ratio": float(ratio[far].min()),
        "fold_share": float(folds.any(axis=1).mean()),
        "fold_pairs": int(np.triu(folds).sum()),
        "far_pairs": int(np.triu(far).sum()),
    }


FLAT_STEP = 1e-5
"""Reversals of at most FLAT_STEP x (code range) are flat: float32 rounding of a model's output is
about 1e-7 of its magnitude, so a monotone piece never looks like a turn."""

def curve_turns(
    codes_along_curve: np.ndarray,
    closed: bool,
    positions: Optional[np.ndarray] = None,
    length: Optional[float] = None,
) -> list[dict[str, Any]]:
    """The turns (direction changes) of 1-D codes met in order along a curve, each with its fold.

    An injective continuous map of an arc into R is strictly monotone, so every turn is a fold:
    it maps two points of the curve to one code. Turns are found with hysteresis (a zigzag
    filter): the codes turn at an extremum e only when they move back from it by more than
    ``FLAT_STEP`` x (code range), so float32 noise is never a turn, and a slow reversal made of
    many tiny steps still is.

    The *fold* of a turn at e, between the monotone runs from the previous extremum p and to the
    next one q: the codes fold back over the amplitude A = min(|c_e - c_p|, |c_e - c_q|), so the
    level c_e -/+ A is met on both sides of e, at p (or q) on the shorter side and at the first
    point of the other run that reaches it. The arc length between those two points is the
    diameter of the largest fibre φ⁻¹(y) the fold creates, its ``extent`` (to within one point
    spacing; the distance grows with the depth of the level, so the deepest level is the widest).
    On a closed curve the codes are read from the global maximum round to itself, which is
    always a turn; its fold joins the last run and the first; and the geodesic between the two
    points is the shorter way round, so the widest fibre has extent min(Δs, L / 2), Δs the arc
    length between the points at the deepest level.

    Args:
        codes_along_curve: shape=[n] or [n, 1], codes of the points met in order along the curve.
        closed: whether the last point connects back to the first.
        positions: shape=[n], increasing arc lengths of the points; default 0, 1, ..., n - 1.
        length: the curve's length L (for a closed curve the last point is L - s_{n-1} + s_0
            from the first); default s_{n-1} - s_0, plus one mean spacing when closed.

    Returns:
        one dict per turn: ``index`` (of the extremum in the input order), ``amplitude`` (A),
        ``extent`` (in units of ``positions``).
    """
    values = np.asarray(codes_along_curve, dtype=np.float64).reshape(-1)
    count = len(values)
    if count < 2:
        return []
    s = np.arange(count, dtype=np.float64) if positions is None else np.asarray(positions, dtype=np.float64)
    if len(s) != count:
        raise ValueError(f"positions has {len(s)} entries, expected one per code ({count})")
    span = float(s[-1] - s[0])
    if length is None:
        length = span + (span / (count - 1) if closed else 0.0)
    flat = FLAT_STEP * float(np.ptp(values))
    order = np.arange(count)
    if closed:  # read round the loop from the global maximum back to it
        start = int(np.argmax(values))
        order = np.concatenate([np.arange(start, count), np.arange(0, start + 1)])
        s = np.concatenate([s[start:], s[: start + 1] + length])
        values = values[order]
    ends = _zigzag_extrema(values, flat)
    turns = [_fold(values, s, ends[k - 1], ends[k], ends[k + 1]) for k in range(1, len(ends) - 1)]
    if closed and len(ends) > 2:
        last = len(values) - 1
        joined = np.concatenate([values[ends[-2] :], values[1 : ends[1] + 1]])
        joined_s = np.concatenate([s[ends[-2] :], s[1 : ends[1] + 1] + (s[last] - s[0])])
        maximum = _fold(joined, joined_s, 0, last - ends[-2], len(joined) - 1)
        maximum["index"] = last  # the global maximum, order[last] == order[0]
        turns.append(maximum)
    for turn in turns:
        turn["index"] = int(order[turn["index"]])
        if closed:  # the geodesic between the fibre's two points: the shorter way round
            turn["extent"] = min(turn["extent"], length / 2)
    return turns


def _zigzag_extrema(values: np.ndarray, flat: float) -> list[int]:
    """0, the indices where the codes reverse by more than ``flat`` from an extremum, and n - 1."""
    extrema, direction, extreme = [0], 0, 0
    for i in range(1, len(values)):
        step = values[i] - values[extreme]
        if direction == 0:
            if abs(step) > flat:
                direction, extreme = (1 if step > 0 else -1), i
        elif step * direction > 0:
            extreme = i
        elif -step * direction > flat:
            extrema.append(extreme)
            direction, extreme = -direction, i
    if extrema[-1] != len(values) - 1:
        extrema.append(len(values) - 1)
    return extrema


def _fold(values: np.ndarray, s: np.ndarray, before: int, turn: int, after: int) -> dict[str, Any]:
    """Amplitude and extent of the turn at ``turn`` between the extrema ``before`` and ``after``."""
    rise, fall = abs(values[turn] - values[before]), abs(values[turn] - values[after])
    amplitude = min(rise, fall)
    if rise <= fall:  # the level is met at `before` and first reached after the turn at `other`
        reached = np.nonzero(np.abs(values[turn : after + 1] - values[turn]) >= amplitude)[0]
        other = turn + int(reached[0]) if len(reached) else after
        extent = s[other] - s[before]
    else:
        reached = np.nonzero(np.abs(values[before : turn + 1] - values[turn]) >= amplitude)[0]
        other = before + int(reached[-1]) if len(reached) else before
        extent = s[after] - s[other]
    return {"index": int(turn), "amplitude": float(amplitude), "extent": float(extent)}


def turning_points(
    codes_along_curve: np.ndarray,
    closed: bool,
    positions: Optional[np.ndarray] = None,
    length: Optional[float] = None,
    tolerance: float = 0.0,
) -> int:
    """Turns of 1-D codes along a curve whose fold extent is at least ``tolerance`` x diameter.

    The geodesic diameter of the curve is L (open) or L / 2 (closed). With ``tolerance`` 0 every
    turn counts (:func:`curve_turns`). Why a tolerance is sound: φ|Σ is injective iff it is an
    ε-map (every fibre φ⁻¹(y) has diameter < ε; Alexandroff's ε-mappings) for every ε > 0, and
    on an arc injective means strictly monotone. Points spaced h apart along Σ can only witness
    ε-maps for ε above h, so any finite test of injectivity has a resolution; this criterion makes
    it explicit: it checks that φ|Σ is a δ-map at δ = ``tolerance`` x diam Σ, i.e. that no fold
    identifies points further apart than δ along the curve. A fold below δ is a genuine (tiny)
    non-injectivity, so it is still reported (``turns_below_tolerance``, ``largest_fold``), only
    not counted; folds above ``far_fraction`` x diam Σ are also caught by the injectivity ratio.
    """
    turns = curve_turns(codes_along_curve, closed, positions, length)
    if not turns or tolerance <= 0.0:
        return len(turns)
    count = len(np.asarray(codes_along_curve).reshape(-1))
    s = np.arange(count, dtype=np.float64) if positions is None else np.asarray(positions, dtype=np.float64)
    span = float(s[-1] - s[0])
    total = length if length is not None else span + (span / (count - 1) if closed else 0.0)
    diameter = total / 2 if closed else total
    return sum(turn["extent"] >= tolerance * diameter for turn in turns)


def folded_triangle_share(codes_of_vertices: np.ndarray, faces: np.ndarray) -> float:
    """Area share (in the code plane) of triangles whose image has the minority orientation."""
    a, b, c = (codes_of_vertices[faces[:, k]] for k in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    total = float(np.abs(signed).sum())
    if total == 0.0:
        return 1.0  # the whole mesh collapsed onto a line or a point
    return float(min(signed[signed > 0].sum(), -signed[signed < 0].sum()) / total) + 0.0  # never -0.0


def topological_obstruction(intrinsic_dim: Optional[int], latent_dim: int, closed: Optional[bool]) -> Optional[str]:
    """Why no continuous injective map Σ -> R^latent_dim exists, or ``None`` (invariance of domain)."""
    if intrinsic_dim is None:
        return None
    if latent_dim < intrinsic_dim:
        return (
            f"no {intrinsic_dim}-manifold has an injective continuous map into R^{latent_dim} "
            f"(invariance of domain): latent_dim {latent_dim} < intrinsic dimension {intrinsic_dim}"
        )
    if closed and latent_dim == intrinsic_dim:
        return (
            f"a closed {intrinsic_dim}-manifold has no injective continuous map into R^{latent_dim} "
            f"(invariance of domain; for a circle into R^1, Borsuk-Ulam)"
        )
    return None


# ----------------------------------------------------------------------------- the evaluator
def _is_closed(manifold: Any) -> Optional[bool]:
    if getattr(manifold, "intrinsic_dim", None) == 1 and hasattr(manifold, "closed"):
        return bool(manifold.closed)
    boundary = getattr(manifold, "boundary_components", None)
    return None if boundary is None else boundary == 0


def _predict(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0), dtype=np.float64)


def evaluate_learnability(params: LearnabilityParams, context: EvaluationContext) -> dict[str, Any]:
    """Evidence that the encoder is (or is not, or cannot be) an encoding map of Σ.

    Returns:
        metrics.json section ``learnability``: ``verdict``, ``failed`` (the criteria that
        failed), ``points``, ``geodesics``, the injectivity numbers (``worst_ratio``,
        ``fold_share``, ``fold_pairs``, ``far_pairs``), ``trustworthiness``, ``continuity``,
        ``turning_points`` / ``folded_triangle_share`` where they apply,
        ``topological_obstruction``, ``relative_reconstruction_error`` and ``certificate``.
    """
    manifold, batch = context.manifold, context.predict_batch_size
    intrinsic_dim = manifold.intrinsic_dim
    closed = _is_closed(manifold)
    along_curve = intrinsic_dim == 1 and hasattr(manifold, "polyline")
    if along_curve:
        vertices, closed = manifold.polyline(params.points)
        points, positions, length = arc_length_points(vertices, closed, params.points)
        geodesic = arc_length_distances(positions, length, closed)
        geodesics = "arc_length"
    else:
        points = context.held_out_manifold.draw(params.points, derived_seed(context.seed, SEED_PURPOSE)).clean
        geodesic = graph_geodesics(points.reshape(len(points), -1), params.neighbours)
        geodesics = f"knn_graph(k={params.neighbours})"
    codes = _predict(context.encoder, points, batch)
    latent_dim = int(codes.shape[1])

    metrics: dict[str, Any] = {"points": int(len(points)), "geodesics": geodesics, "latent_dim": latent_dim}
    metrics.update(fold_statistics(geodesic, codes, params.far_fraction, params.fold_ratio))

    from sklearn.manifold import trustworthiness

    flat = points.reshape(len(points), -1)
    metrics["trustworthiness"] = float(trustworthiness(flat, codes, n_neighbors=params.neighbours))
    metrics["continuity"] = float(trustworthiness(codes, flat, n_neighbors=params.neighbours))

    if along_curve and latent_dim == 1:
        metrics.update(_turn_metrics(codes, closed, positions, length, params))
    else:
        metrics.update(dict.fromkeys(("turning_points", "turns_below_tolerance", "largest_fold", "turn_tolerance")))
    metrics["folded_triangle_share"] = None
    if intrinsic_dim == 2 and latent_dim == 2 and hasattr(manifold, "mesh"):
        mesh_vertices, faces = manifold.mesh(params.mesh_resolution)
        metrics["folded_triangle_share"] = folded_triangle_share(_predict(context.encoder, mesh_vertices, batch), faces)
    metrics["topological_obstruction"] = topological_obstruction(intrinsic_dim, latent_dim, closed)

    reconstructed = _predict(context.autoencoder, points, batch).reshape(flat.shape)
    spread = float(np.sqrt(np.mean(np.sum((flat - flat.mean(axis=0)) ** 2, axis=1))))
    error = float(np.sqrt(np.mean(np.sum((flat - reconstructed) ** 2, axis=1))))
    metrics["relative_reconstruction_error"] = error / spread if spread > 0 else None

    metrics["certificate"] = _certificate(context)
    metrics["failed"] = _failed_criteria(metrics, params)
    if metrics["certificate"]["status"] == PROVABLY_NOT_ENCODABLE:
        metrics["verdict"] = PROVABLY_NOT_ENCODABLE
    else:
        metrics["verdict"] = NOT_ENCODED if metrics["failed"] else ENCODED
    return {"verdict": metrics.pop("verdict"), "failed": metrics.pop("failed"), **metrics}


def _turn_metrics(
    codes: np.ndarray, closed: bool, positions: np.ndarray, length: float, params: LearnabilityParams
) -> dict[str, Any]:
    """``turning_points`` (folds of extent >= ``turn_tolerance`` x diameter), the folds below it, the largest fold.

    ``largest_fold`` is the widest fold's extent over the geodesic diameter (L open, L / 2 closed).
    """
    tolerance = params.turn_tolerance
    turns = curve_turns(codes, closed, positions, length)
    diameter = length / 2 if closed else length
    counted = sum(turn["extent"] >= tolerance * diameter for turn in turns)
    return {
        "turning_points": int(counted),
        "turns_below_tolerance": len(turns) - int(counted),
        "largest_fold": max(turn["extent"] for turn in turns) / diameter if turns and diameter > 0 else None,
        "turn_tolerance": tolerance,
    }


def _failed_criteria(metrics: dict[str, Any], params: LearnabilityParams) -> list[str]:
    failed = []
    if metrics["topological_obstruction"]:
        failed.append("topological_obstruction")
    if metrics["worst_ratio"] is not None and metrics["worst_ratio"] < params.fold_ratio:
        failed.append("injectivity")
    if metrics["trustworthiness"] < params.min_trustworthiness:
        failed.append("trustworthiness")
    if metrics["continuity"] < params.min_trustworthiness:
        failed.append("continuity")
    if metrics["turning_points"]:
        failed.append("turning_points")
    if metrics["folded_triangle_share"]:
        failed.append("folded_triangles")
    if metrics["certificate"].get("trained_encoder") == "not_an_encoding_map":
        failed.append("encoder_pieces")
    error = metrics["relative_reconstruction_error"]
    if error is None or not np.isfinite(error) or error > params.max_reconstruction_error:
        failed.append("reconstruction")
    return failed


def _certificate(context: EvaluationContext) -> dict[str, Any]:
    """The encodable-condition certificate of the ``manifold_rlc`` evaluator (default settings).

    ``{"status": "unavailable", "reason": ...}`` when Σ has no computable RLC (a data set) or
    the encoder is not an affine + ReLU chain.
    """
    from geokeras.complexity.evaluators import evaluate_manifold_rlc
    from geokeras.complexity.lowering import UnsupportedLayerError
    from geokeras.complexity.params import ManifoldRlcParams

    try:
        rlc = evaluate_manifold_rlc(ManifoldRlcParams(), context)
    except UnsupportedLayerError as error:
        return {"status": "unavailable", "reason": str(error)}
    if "certificate" not in rlc:
        return {"status": "unavailable", "reason": rlc.get("reason", "the manifold's RLC has no lower bound")}
    return rlc["certificate"]
