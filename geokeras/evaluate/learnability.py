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
  direction is a fold (``turning_points``; a closed curve always has at least 2);
* a surface into R^2: a local homeomorphism keeps the orientation of every mesh triangle
  (the sign of the determinant of its image); ``folded_triangle_share`` is the area share of
  triangles whose image has the minority orientation (0 for an encoded orientable surface);
* the *topological obstruction* (invariance of domain, Brouwer 1912): a closed m-manifold
  (compact, no boundary) has no injective continuous map into R^m, and no m-manifold has one
  into R^k with k < m. When it applies the encoder cannot be an encoding map, whatever it learned.

**Decoder side.** ``relative_reconstruction_error`` = RMS |x - ψ(φ(x))| / RMS |x - mean x| on
the same points (the reconstruction evaluator reports the absolute numbers).

**Certificate** (Theorem 4.12, the encodable condition N(R^n, Σ) <= N(φ_θ) <= N(N)): when the
architecture's bound on the number of linear pieces of the encoder is below the manifold's
rectified linear complexity, no weights at all can encode Σ (see
:mod:`geokeras.complexity.certificate`).

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
"""Steps below FLAT_STEP x (code range) count as flat: float32 rounding of a model's output is
about 1e-7 of its magnitude, so a monotone piece never looks like a turn."""


def turning_points(codes_along_curve: np.ndarray, closed: bool) -> int:
    """Direction changes of 1-D codes met in order along a curve (flat steps are skipped)."""
    values = np.asarray(codes_along_curve, dtype=np.float64).reshape(-1)
    if closed:
        values = np.concatenate([values, values[:1]])
    differences = np.diff(values)
    tolerance = FLAT_STEP * float(np.ptp(values)) if len(values) else 0.0
    steps = np.sign(differences[np.abs(differences) > tolerance])
    changes = int(np.count_nonzero(steps[1:] != steps[:-1]))
    if closed and len(steps) > 1 and steps[0] != steps[-1]:
        changes += 1  # the turn where the loop closes
    return changes


def folded_triangle_share(codes_of_vertices: np.ndarray, faces: np.ndarray) -> float:
    """Area share (in the code plane) of triangles whose image has the minority orientation."""
    a, b, c = (codes_of_vertices[faces[:, k]] for k in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    total = float(np.abs(signed).sum())
    if total == 0.0:
        return 1.0  # the whole mesh collapsed onto a line or a point
    return float(min(signed[signed > 0].sum(), -signed[signed < 0].sum()) / total)


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

    metrics["turning_points"] = turning_points(codes, closed) if along_curve and latent_dim == 1 else None
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
