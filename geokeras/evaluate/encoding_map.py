"""The ``learnability`` evaluator: is the trained encoder φ, restricted to Σ, an encoding map?

Lei et al. 2018 (section 4): Σ is *encodable* by a network when some encoder of it is an
encoding map, a continuous φ whose restriction to Σ is a homeomorphism onto its image. For a
compact Σ that is the same as φ|Σ being injective. The verdict is decided exactly, never from
samples:

1. **For every encoder of the architecture** (:func:`geokeras.complexity.certificate`):
   ``provably_not_encodable`` when no weights at all give an encoding map, either because of a
   topological obstruction (invariance of domain: a closed m-manifold, or any m-manifold, has
   no injective continuous map into R^m, resp. R^k with k < m) or because the architecture's
   region bound, valid for every weight, is below a proven lower bound on the regions any
   encoding map of Σ needs.
2. **For this encoder, on Σ_h**: the encoder is piecewise linear and the manifold enters as its
   polyline or triangle mesh Σ_h, so "is φ injective on Σ_h" is a finite question, decided
   exactly (:mod:`geokeras.complexity.injectivity` for curves into any R^k,
   :mod:`geokeras.complexity.surface_injectivity` for surfaces into R^2): ``encoded`` or
   ``not_encoded`` with the exact criterion that failed (a fold of any size, a
   self-intersection, a flipped piece, an overlap).
3. **From Σ_h to Σ**: ``holds_for`` says whether the verdict is proven for the manifold itself
   (a polygonal curve is its own polyline; otherwise the images of non-adjacent pieces must be
   further apart than twice the Lipschitz constant times the distance between Σ and Σ_h, and
   the cells' maps must keep Σ's exact tangents in one half-space) or only for Σ_h at the
   stated resolution.
4. ``undecided`` (with ``reason``) where nothing exact applies: a data set with no polyline or
   mesh, a surface into R^k with k != 2, an encoder that is not an affine + ReLU chain, or a
   subdivision larger than ``max_regions``.

**Sampled numbers** (under ``sampled``; reported, never deciding): on n evaluation points of Σ
with geodesic distances d_Σ (exact arc length along a curve, else shortest paths of the
symmetric k-nearest-neighbour graph, Isomap; Tenenbaum, de Silva, Langford 2000):
the bi-Lipschitz *distortion* max e / min e of the expansions e_ij = |φ(x_i) − φ(x_j)| / d_Σ(x_i,
x_j) over all pairs, with quantiles of e / median e; *trustworthiness* T(k) and *continuity*
C(k) (Venna & Kaski 2001; ``sklearn.manifold.trustworthiness`` with the roles swapped for C);
and the autoencoder's ``relative_reconstruction_error`` = RMS |x − ψ(φ(x))| / RMS |x − mean x|.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geokeras.evaluate.params import LearnabilityParams
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.capabilities import ExactCurve
from geokeras.manifolds.geometry import CURVE, SURFACE, geometry_kind, no_geometry_reason
from geokeras.seeds import purpose_seed

SEED_PURPOSE = "evaluate.learnability"

ENCODED, NOT_ENCODED = "encoded", "not_encoded"
PROVABLY_NOT_ENCODABLE, UNDECIDED = "provably_not_encodable", "undecided"

DISTORTION_QUANTILES = (0.0, 0.01, 0.05, 0.5, 0.95, 0.99, 1.0)
DEFAULT_RESOLUTION = 4096
"""Segments of a smooth curve's polyline Σ_h when ``resolution`` is null."""


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

    Points in different components of the graph are ``inf`` apart (such pairs are left out of
    the distortion).
    """
    from scipy.sparse.csgraph import shortest_path
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(points, n_neighbors=min(neighbours, len(points) - 1), mode="distance")
    return shortest_path(graph.maximum(graph.T), method="D", directed=False)


# ----------------------------------------------------------------------------- sampled numbers
def distortion(geodesic: np.ndarray, codes: np.ndarray) -> dict[str, Any]:
    """Bi-Lipschitz distortion of φ on sample points: a number, never a verdict.

    With e_ij = |φ(x_i) − φ(x_j)| / d_Σ(x_i, x_j) over the pairs i < j with 0 < d_Σ < ∞, the
    distortion is max e / min e (1 for a similarity, large for a map that is injective but
    very uneven, ``None`` when two points share a code: then ``coincident_pairs`` > 0). The
    quantiles are of e / median e, so they read the same at any scale of the codes.

    Args:
        geodesic: shape=[n, n], geodesic distances of the points on Σ.
        codes: shape=[n, k], their codes.
    """
    from scipy.spatial.distance import pdist

    count = len(codes)
    upper = np.triu_indices(count, k=1)
    code_distance = pdist(np.asarray(codes, dtype=np.float64).reshape(count, -1))
    manifold_distance = np.asarray(geodesic, dtype=np.float64)[upper]
    usable = np.isfinite(manifold_distance) & (manifold_distance > 0)
    if not np.any(usable):
        return {"bi_lipschitz": None, "coincident_pairs": 0, "pairs": 0, "expansion_quantiles": None}
    expansion = code_distance[usable] / manifold_distance[usable]
    coincident = int(np.count_nonzero(expansion == 0.0))
    median = float(np.median(expansion))
    quantiles = np.quantile(expansion / median, DISTORTION_QUANTILES) if median > 0 else None
    return {
        "bi_lipschitz": float(expansion.max() / expansion.min()) if coincident == 0 else None,
        "coincident_pairs": coincident,
        "pairs": int(expansion.size),
        "expansion_quantiles": (
            None
            if quantiles is None
            else {f"q{round(100 * q):02d}": float(v) for q, v in zip(DISTORTION_QUANTILES, quantiles)}
        ),
    }


def _predict(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0), dtype=np.float64)


def sampled_numbers(params: LearnabilityParams, context: EvaluationContext) -> tuple[dict[str, Any], int]:
    """The ``sampled`` section (module docstring) and the latent dimension of the codes."""
    manifold, batch = context.manifold, context.predict_batch_size
    if isinstance(manifold, ExactCurve):
        polyline = context.exact_geometry(params.points)
        points, positions, length = arc_length_points(polyline.vertices, polyline.closed, params.points)
        geodesic = arc_length_distances(positions, length, polyline.closed)
        geodesics = "arc_length"
    else:
        points = context.held_out_manifold.draw(params.points, purpose_seed(context.seed, SEED_PURPOSE)).clean
        geodesic = graph_geodesics(points.reshape(len(points), -1), params.neighbours)
        geodesics = f"knn_graph(k={params.neighbours})"
    codes = _predict(context.encoder, points, batch)
    flat = points.reshape(len(points), -1)

    from sklearn.manifold import trustworthiness

    numbers: dict[str, Any] = {"points": int(len(points)), "geodesics": geodesics}
    numbers["distortion"] = distortion(geodesic, codes)
    numbers["trustworthiness"] = float(trustworthiness(flat, codes, n_neighbors=params.neighbours))
    numbers["continuity"] = float(trustworthiness(codes, flat, n_neighbors=params.neighbours))
    numbers["relative_reconstruction_error"] = None
    if context.autoencoder is not None:
        reconstructed = _predict(context.autoencoder, points, batch).reshape(flat.shape)
        spread = float(np.sqrt(np.mean(np.sum((flat - flat.mean(axis=0)) ** 2, axis=1))))
        error = float(np.sqrt(np.mean(np.sum((flat - reconstructed) ** 2, axis=1))))
        numbers["relative_reconstruction_error"] = error / spread if spread > 0 else None
    return numbers, int(codes.shape[1])


# ----------------------------------------------------------------------------- the exact decision
def decide_on_manifold_mesh(params: LearnabilityParams, context: EvaluationContext, latent_dim: int) -> dict[str, Any]:
    """``{"injective": True | False | None, "failed": [...], "holds_for": ..., "reason": ..., **numbers}``.

    ``injective`` is ``None`` (with ``reason``) when no exact decision applies (module docstring).
    """
    from geokeras.complexity.lowering import UnsupportedLayerError, lower

    manifold = context.manifold
    kind = geometry_kind(manifold)
    if kind is None:
        return _undecided(
            f"injectivity is decided exactly on a curve's polyline or a surface's mesh only: it "
            f"{no_geometry_reason(manifold)}"
        )
    if kind == SURFACE and latent_dim != 2:
        return _undecided(f"a surface into R^{latent_dim}: injectivity on a mesh is decided exactly only into R^2")
    try:
        network = lower(context.encoder)
    except UnsupportedLayerError as error:
        return _undecided(str(error))
    if kind == CURVE:
        from geokeras.complexity.injectivity import curve_injectivity_on

        polyline = context.exact_geometry(params.resolution or DEFAULT_RESOLUTION)
        numbers = curve_injectivity_on(network, manifold, polyline).as_metrics()
    else:
        from geokeras.complexity.mesh import RegionBudgetExceeded
        from geokeras.complexity.surface_injectivity import decide_surface_injectivity

        geometry = context.exact_geometry(mesh_resolution=params.mesh_resolution)
        try:
            result = decide_surface_injectivity(
                network, geometry.vertices, geometry.faces, max_polygons=params.max_regions
            )
        except RegionBudgetExceeded as error:
            return _undecided(f"{error} Raise max_regions to decide (memory grows with the polygons).")
        numbers = result.as_metrics()
        numbers["holds_for"] = f"mesh({len(geometry.faces)} triangles)"
    decided = {"injective": numbers.pop("injective"), "failed": numbers.pop("failures")}
    holds_for = numbers.pop("holds_for")
    decided["holds_for"] = holds_for if decided["injective"] is not None else None
    decided["reason"] = numbers.pop("reason", None)
    return {**decided, **numbers}


def _undecided(reason: str) -> dict[str, Any]:
    return {"injective": None, "failed": [], "holds_for": None, "reason": reason}


# ----------------------------------------------------------------------------- the evaluator
def evaluate_learnability(params: LearnabilityParams, context: EvaluationContext) -> dict[str, Any]:
    """Is the encoder an encoding map of Σ (or can no encoder of its architecture be one)?

    Returns:
        metrics.json section ``learnability``: ``verdict`` (``encoded`` / ``not_encoded`` /
        ``provably_not_encodable`` / ``undecided``), ``failed`` (the exact criteria that
        failed), ``holds_for`` (``"manifold"``, or the polyline / mesh and its resolution the
        verdict is proven for), ``reason`` (when undecided), ``latent_dim``, ``certificate``
        (the architecture-level decision), ``injectivity`` (the exact decision on Σ_h, with
        its numbers) and ``sampled`` (distortion, trustworthiness, continuity, relative
        reconstruction error: numbers that decide nothing).
    """
    sampled, latent_dim = sampled_numbers(params, context)
    certificate = _certificate(context, latent_dim)
    metrics: dict[str, Any] = {"latent_dim": latent_dim}
    if certificate["status"] == PROVABLY_NOT_ENCODABLE:
        reason = (certificate.get("obstruction") or {}).get("reason") or (
            f"the architecture's bound {certificate['bound_name']} = {certificate['architecture_bound']} is below "
            f"{certificate['regions_lower']}, the regions any encoding map needs"
        )
        verdict, failed, holds_for, injectivity = PROVABLY_NOT_ENCODABLE, [], "manifold", None
    else:
        injectivity = decide_on_manifold_mesh(params, context, latent_dim)
        decided = injectivity.pop("injective")
        failed, holds_for = injectivity.pop("failed"), injectivity.pop("holds_for")
        reason = injectivity.pop("reason", None)
        verdict = UNDECIDED if decided is None else (ENCODED if decided else NOT_ENCODED)
    metrics.update(
        verdict=verdict,
        failed=failed,
        holds_for=holds_for,
        reason=reason,
        certificate=certificate,
        injectivity=injectivity,
        sampled=sampled,
    )
    return {"verdict": metrics.pop("verdict"), "failed": metrics.pop("failed"), **metrics}


def _certificate(context: EvaluationContext, latent_dim: int) -> dict[str, Any]:
    """The architecture-level certificate of the encoder's widths (:func:`geokeras.complexity.certificate`).

    For an encoder that is not an affine + ReLU chain only the topological obstruction applies:
    ``{"status": ..., "obstruction": ..., "reason": ...}``.
    """
    from geokeras.complexity import certificate
    from geokeras.complexity.bounds import trained_network_bounds
    from geokeras.complexity.certificate import PROVABLY_NOT_ENCODABLE, manifold_obstruction
    from geokeras.complexity.evaluators import architecture, shared_manifold_rlc
    from geokeras.complexity.lowering import UnsupportedLayerError, lower

    manifold = context.manifold
    try:
        widths, ranks = architecture(lower(context.encoder))
    except UnsupportedLayerError as error:
        obstruction = manifold_obstruction(manifold, latent_dim)
        status = PROVABLY_NOT_ENCODABLE if obstruction else "unavailable"
        return {"status": status, "obstruction": obstruction, "reason": str(error)}
    geometry, rlc = shared_manifold_rlc(context)  # the manifold_rlc evaluator's, when the spec has both
    manifold_lower = None if geometry is None else int(rlc["lower"])
    result = certificate(manifold, widths, geometry_and_lower=(geometry, manifold_lower))
    result["trained_network_bounds"] = trained_network_bounds(widths, ranks)
    return result
