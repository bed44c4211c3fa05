"""The ``denoising`` evaluator: an autoencoder projects noisy points onto (near) the manifold.

Lei, Luo, Yau, Gu 2018 (section 1, the denoising application): an autoencoder trained on
samples of a manifold Σ maps *every* input x to psi(phi(x)), a point of the learned manifold
psi(phi(R^n)) ≈ Σ; so a noisy point, or an outlier far from Σ, is pulled onto (near) Σ.
This evaluator measures that, for test points drawn for the purpose:

1. n clean samples c_i of Σ (the run's manifold without its own noise), seed
   ``purpose_seed(run seed, "evaluate.denoising")``, stream 0 of that seed (as every draw);
2. the noisy points x_i = noise(c_i), the noise model of the ``noise:`` parameter (the same
   schema and the same code as the manifold's ``noise:``, :mod:`geokeras.manifolds.noise`:
   Gaussian, isotropic or normal, and ``outliers``, exactly round(fraction * n) of them
   replaced by points uniform in the enlarged bounding box); streams 1 and 2 of the seed;
3. the reconstructions x^_i = psi(phi(x_i)) (``context.autoencoder``).

Metrics: the distances d(x_i, Σ) ("before") and d(x^_i, Σ) ("after"), d(y, Σ) =
min_{s in Σ} |y - s| (Euclidean, unsquared): mean, median and 90th percentile (linear
interpolation, ``numpy.percentile``), the ratio of the means after / before, and the share
of points whose distance decreased; for all points, and for inliers and outliers
separately when the noise is ``outliers``. Beside them, the same summary of d(psi(phi(c_i)), Σ)
for the clean points ("clean"): how far the learned manifold itself lies from Σ, the floor
that no denoising by this autoencoder can go below on average.

The reference Σ (``method``):

* ``exact_polyline``: a curve is replaced by its polyline of ``resolution`` segments at
  equal arc length (``Curve.polyline``), and d(y, P) is computed exactly;
* ``exact_mesh``: a surface by its triangle mesh (``mesh(mesh_resolution)``), d(y, M) exact;
* ``dense_sample``: other manifolds of known dimension m < D (spheres S^m, m != 2; products
  with several intervals) by ``reference_samples`` clean samples S (seed
  ``purpose_seed(run seed, "evaluate.denoising.reference")``), d(y, S) the nearest one;
* ``unavailable``: data sets and full-dimensional mixtures (Σ unknown): no distances.

Error bound. For a reference R (polyline, mesh or sample) the triangle inequality gives
|d(y, R) - d(y, Σ)| <= d_H(Σ, R), the Hausdorff distance. A polyline's vertices lie on Σ and
a chord of length h strays at most kappa_max h^2 / 8 + O(h^3) from its arc, so the error is
O(resolution^-2) for a curve (about 3e-7 for the unit circle at 4096 segments); a mesh's
vertices lie on Σ and its triangles stray O(h^2) too. A dense sample S ⊂ Σ only
overestimates: 0 <= d(y, S) - d(y, Σ) <= the covering radius of S. ``reference_error``
reports max_i d(c_i, R) over the clean test points c_i (which lie on Σ): a measured lower
estimate of d_H(Σ, R), so the precision of every distance can be read off the run.

Exact distances. A segment [a, b]: t = clip(<y - a, b - a> / |b - a|^2, 0, 1),
d = |y - a - t (b - a)|. A triangle (a, b, c), in any dimension D: the closest point is
the orthogonal projection of y onto the triangle's plane when its barycentric coordinates
are all >= 0 (found from the 2 x 2 Gram system of b - a, c - a), else it lies on an edge:
the least of the three segment distances. A degenerate triangle (Gram determinant <= 1e-14
of its scale) is the union of its edges. The search is exact and pruned: with c_f the
centroid of simplex f (it lies in f) and r_f its largest vertex distance from c_f,
|y - c_f| - r_f <= d(y, f) <= |y - c_f|, so only simplices with |y - c_f| - r_f <=
min_g |y - c_g| can hold the nearest point, and only those are computed exactly. (trimesh's
``proximity.closest_point`` needs the optional ``rtree`` package and 3-D points; the tests
check these distances against ``trimesh.triangles.closest_point``.)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.evaluate.params import DenoisingParams
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.base import check_count
from geokeras.manifolds.geometry import CURVE, exact_geometry
from geokeras.registry import NOISES
from geokeras.seeds import purpose_seed

SEED_PURPOSE = "evaluate.denoising"
"""Test points are drawn with ``purpose_seed(run seed, SEED_PURPOSE)``."""
REFERENCE_SEED_PURPOSE = "evaluate.denoising.reference"
"""The dense sample standing in for Σ (``method: dense_sample``) uses this purpose."""

_PAIR_BLOCK = 1 << 20  # exact point-simplex distances computed per block
_CENTROID_BLOCK = 1 << 22  # entries of a [points, simplices] centroid-distance block


# ----------------------------------------------------------------- exact distances
def _as_points(name: str, value: Any, dim: Optional[int] = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] == 0 or (dim is not None and array.shape[1] != dim):
        expected = f"[n, {dim}]" if dim is not None else "[n, dim]"
        raise ValueError(f"Expected `{name}` of shape {expected}. Received: shape={list(array.shape)}.")
    return array


def _segment_distances(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """|y - a - t (b - a)|, t = clip(<y - a, b - a> / |b - a|^2, 0, 1), row by row."""
    direction = ends - starts
    offset = points - starts
    length2 = np.einsum("ij,ij->i", direction, direction)
    t = np.einsum("ij,ij->i", offset, direction) / np.where(length2 > 0.0, length2, 1.0)
    t = np.clip(np.where(length2 > 0.0, t, 0.0), 0.0, 1.0)
    return np.linalg.norm(offset - t[:, None] * direction, axis=1)


def _triangle_distances(points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from points[i] to the triangle (a[i], b[i], c[i]) in R^D, row by row."""
    edges = np.minimum(
        np.minimum(_segment_distances(points, a, b), _segment_distances(points, b, c)),
        _segment_distances(points, a, c),
    )
    u, v, w = b - a, c - a, points - a
    uu, uv, vv = (np.einsum("ij,ij->i", p, q) for p, q in ((u, u), (u, v), (v, v)))
    wu, wv = np.einsum("ij,ij->i", w, u), np.einsum("ij,ij->i", w, v)
    determinant = uu * vv - uv * uv
    regular = determinant > 1e-14 * np.maximum(uu * vv, np.finfo(np.float64).tiny)
    safe = np.where(regular, determinant, 1.0)
    s = (vv * wu - uv * wv) / safe  # barycentric weight of b
    t = (uu * wv - uv * wu) / safe  # barycentric weight of c
    inside = regular & (s >= 0.0) & (t >= 0.0) & (s + t <= 1.0)
    plane = np.linalg.norm(w - s[:, None] * u - t[:, None] * v, axis=1)
    return np.where(inside, np.minimum(plane, edges), edges)


def _distances_to_simplices(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """min over simplices f of d(points[i], f); simplices shape=[S, 2 or 3, D] (pruned, exact)."""
    from scipy.spatial.distance import cdist

    kind = simplices.shape[1]
    centroids = simplices.mean(axis=1)
    radii = np.linalg.norm(simplices - centroids[:, None, :], axis=2).max(axis=1)
    result = np.full(points.shape[0], np.inf)
    block = max(1, _CENTROID_BLOCK // max(1, simplices.shape[0]))
    for start in range(0, points.shape[0], block):
        chunk = points[start : start + block]
        to_centroids = cdist(chunk, centroids)  # shape=[b, S]
        upper = to_centroids.min(axis=1)
        # Candidates: lower bound |y - c_f| - r_f within rounding of the upper bound.
        slack = 1e-9 * (upper + radii.max()) + 1e-300
        rows, faces = np.nonzero(to_centroids - radii[None, :] <= (upper + slack)[:, None])
        best = upper.copy()
        for low in range(0, rows.size, _PAIR_BLOCK):
            r, f = rows[low : low + _PAIR_BLOCK], faces[low : low + _PAIR_BLOCK]
            corners = simplices[f]
            if kind == 2:
                exact = _segment_distances(chunk[r], corners[:, 0], corners[:, 1])
            else:
                exact = _triangle_distances(chunk[r], corners[:, 0], corners[:, 1], corners[:, 2])
            np.minimum.at(best, r, exact)
        result[start : start + block] = best
    return result


def distances_to_polyline(points: Any, vertices: Any, closed: bool = False) -> np.ndarray:
    """Exact Euclidean distance of each point to the polyline through ``vertices``.

    Args:
        points: shape=[n, D].
        vertices: shape=[V, D], V >= 1; consecutive vertices are joined by segments, and the
            last to the first when ``closed``.

    Returns:
        shape=[n], float64: min over segments [a, b] of |y - a - t (b - a)|,
        t = clip(<y - a, b - a> / |b - a|^2, 0, 1).
    """
    vertices = _as_points("vertices", vertices)
    points = _as_points("points", points, vertices.shape[1])
    if vertices.shape[0] == 1:
        return np.linalg.norm(points - vertices[0], axis=1)
    ends = np.roll(vertices, -1, axis=0) if closed else vertices[1:]
    starts = vertices if closed else vertices[:-1]
    return _distances_to_simplices(points, np.stack([starts, ends], axis=1))


def distances_to_mesh(points: Any, vertices: Any, faces: Any) -> np.ndarray:
    """Exact Euclidean distance of each point to a triangle mesh, in any dimension D >= 2.

    Args:
        points: shape=[n, D].
        vertices: shape=[V, D].
        faces: shape=[F, 3], integer indices into ``vertices``.

    Returns:
        shape=[n], float64 (see the module docstring for the point-triangle distance).
    """
    vertices = _as_points("vertices", vertices)
    points = _as_points("points", points, vertices.shape[1])
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.shape[0] == 0 or not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(
            f"Expected integer `faces` of shape [F, 3], F >= 1. Received: shape={list(faces.shape)}, "
            f"dtype={faces.dtype}."
        )
    if faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise ValueError(
            f"Expected face indices in [0, {vertices.shape[0] - 1}]. "
            f"Received: indices in [{faces.min()}, {faces.max()}]."
        )
    return _distances_to_simplices(points, vertices[faces])


# ----------------------------------------------------------------- the reference Σ
class ManifoldDistance:
    """d(y, Σ) for one manifold, through its reference: polyline, mesh or dense sample.

    Attributes:
        method: ``exact_polyline``, ``exact_mesh``, ``dense_sample`` or ``unavailable``.
        resolution: segments, mesh cells per parameter, or samples of the reference.
        reason: why no distance is available (``method: unavailable``), else ``None``.
    """

    def __init__(self, manifold: Any, params: DenoisingParams, seed: int):
        self.manifold = manifold
        self.reason: Optional[str] = None
        self._polyline: Optional[tuple[np.ndarray, bool]] = None
        self._mesh: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._sample: Optional[np.ndarray] = None
        dim, ambient = manifold.intrinsic_dim, manifold.ambient_dim
        geometry = exact_geometry(manifold, params.resolution, params.mesh_resolution)
        if geometry is not None and geometry.kind == CURVE:
            self.method, self.resolution = "exact_polyline", int(params.resolution)
            self._polyline = (geometry.vertices, geometry.closed)
            return
        if geometry is not None:
            self.method, self.resolution = "exact_mesh", int(params.mesh_resolution)
            self._mesh = (geometry.vertices, np.asarray(geometry.faces, dtype=np.int64))
            return
        if dim is None or dim >= ambient:
            self.method, self.resolution = "unavailable", None
            self.reason = (
                f"the manifold type {manifold.params.type!r} has "
                + ("an unknown dimension (a data set)" if dim is None else f"full dimension {dim} in R^{ambient}")
                + ": there is no lower-dimensional Σ to measure distances to"
            )
            return
        self.method, self.resolution = "dense_sample", int(params.reference_samples)
        drawn = manifold.draw(params.reference_samples, purpose_seed(seed, REFERENCE_SEED_PURPOSE))
        self._sample = np.asarray(drawn.clean, dtype=np.float64).reshape(params.reference_samples, -1)

    @property
    def available(self) -> bool:
        return self.method != "unavailable"

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """d(y, reference) for each row of ``points`` (shape=[n, D]); NaN for non-finite rows."""
        if not self.available:
            raise ValueError(f"No distance to Σ: {self.reason}.")
        points = np.asarray(points, dtype=np.float64)
        result = np.full(points.shape[0], np.nan)
        finite = np.all(np.isfinite(points), axis=1)
        if not finite.any():
            return result
        queries = points[finite]
        if self._polyline is not None:
            result[finite] = distances_to_polyline(queries, *self._polyline)
        elif self._mesh is not None:
            result[finite] = distances_to_mesh(queries, *self._mesh)
        else:
            from geokeras.evaluate.reconstruction import nearest_neighbour_distances

            result[finite] = nearest_neighbour_distances(queries, self._sample)
        return result

    def draw_reference(self, axes: Any, coords: int, seed: int) -> None:
        """Draw Σ on ``axes`` (2 or 3 coordinates): the polyline, else a light cloud of points."""
        colour = "#999999"
        if self._polyline is not None:
            vertices, closed = self._polyline
            if closed:
                vertices = np.concatenate([vertices, vertices[:1]])
            axes.plot(*vertices.T[:coords], color=colour, linewidth=1.2, label="Σ", zorder=1)
            return
        cloud = np.asarray(self.manifold.draw(3000, seed).clean, dtype=np.float64).reshape(3000, -1)
        axes.scatter(*cloud.T[:coords], s=2, color=colour, alpha=0.35, linewidths=0, label="Σ")


# ----------------------------------------------------------------- the evaluator
def distance_summary(distances: np.ndarray) -> dict:
    """``{mean, median, p90}`` of the distances (``None`` each when there are none or any is NaN)."""
    if distances.size == 0 or not np.all(np.isfinite(distances)):
        return {"mean": None, "median": None, "p90": None}
    return {
        "mean": float(distances.mean()),
        "median": float(np.median(distances)),
        "p90": float(np.percentile(distances, 90.0)),
    }


def group_metrics(before: np.ndarray, after: np.ndarray) -> dict:
    """Before / after summaries of one group of points, their ratio and the improved share.

    ``ratio`` = mean(after) / mean(before) (``None`` when mean(before) = 0 or a value is
    missing); ``improved_share`` = share of points with d(x^, Σ) < d(x, Σ).
    """
    summary_before, summary_after = distance_summary(before), distance_summary(after)
    ratio = None
    if summary_before["mean"] and summary_after["mean"] is not None:
        ratio = summary_after["mean"] / summary_before["mean"]
    improved = float(np.mean(after < before)) if before.size and np.all(np.isfinite(after)) else None
    return {
        "count": int(before.size),
        "before": summary_before,
        "after": summary_after,
        "ratio": ratio,
        "improved_share": improved,
    }


def _predict(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``model.predict`` (a Keras model, batched) or ``model(x)`` (a plain callable), float64."""
    if hasattr(model, "predict"):
        from geokeras.evaluate.reconstruction import reconstruct

        return reconstruct(model, x, batch_size)
    if not callable(model):
        raise TypeError(
            f"Expected context.autoencoder to be a Keras model or a callable. Received: {type(model).__name__}."
        )
    return np.asarray(model(x), dtype=np.float64)


def noisy_test_points(manifold: Any, params: DenoisingParams, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The evaluator's test points: ``(clean, noisy, outlier mask)``, shapes [n, D], [n, D], [n].

    A draw of ``manifold`` with its noise replaced by ``params.noise``
    (:meth:`~geokeras.manifolds.base.Manifold.with_noise`): the clean samples of ``seed`` and
    exactly the noise a manifold with that ``noise:`` adds to them.
    """
    n = check_count("samples", params.samples)
    noise = NOISES[params.noise.type].load()(params.noise)
    if noise.needs_tangents and not manifold.has_tangent_space:
        raise ValueError(
            f"Expected noise direction 'isotropic' for the denoising evaluator on manifold type "
            f"{manifold.params.type!r}: it has no tangent space for noise normal to it. "
            f"Received: direction={params.noise.direction!r}."
        )
    drawn = manifold.with_noise(params.noise).draw(n, seed)
    return (
        np.asarray(drawn.clean, dtype=np.float64).reshape(n, -1),
        np.asarray(drawn.points, dtype=np.float64).reshape(n, -1),
        np.asarray(drawn.outliers, dtype=bool),
    )


def evaluate_denoising(params: DenoisingParams, context: EvaluationContext) -> dict:
    """Distances to Σ of noisy test points and of their reconstructions (module docstring).

    Returns:
        ``{samples, noise, method, resolution, reference_error, non_finite, clean, all,
        inliers, outliers}``; ``clean`` = ``{mean, median, p90}`` of d(psi(phi(c_i)), Σ) for
        the clean test points, the floor the learned manifold's own error sets; ``all`` / ``inliers`` / ``outliers``
        each ``{count, before: {mean,
        median, p90}, after: {...}, ratio, improved_share}`` (``inliers`` and ``outliers``
        only for ``noise: {type: outliers}``). With ``method: unavailable`` (a data set) the
        distances are absent and ``reason`` says why.
    """
    manifold = context.manifold
    seed = purpose_seed(context.seed, SEED_PURPOSE)
    clean, noisy, outliers = noisy_test_points(manifold, params, seed)
    metrics: dict[str, Any] = {
        "samples": int(params.samples),
        "noise": params.noise.type,
    }
    distance = ManifoldDistance(manifold, params, context.seed)
    metrics["method"] = distance.method
    metrics["resolution"] = distance.resolution
    if not distance.available:
        metrics["reason"] = distance.reason
        return metrics

    shape = (noisy.shape[0], *manifold.sample_shape)
    reconstructed = _predict(context.autoencoder, noisy.reshape(shape), context.predict_batch_size)
    if reconstructed.size != noisy.size:
        raise ValueError(
            f"Expected the autoencoder to map shape {list(shape)} to itself. "
            f"Received: output shape={list(reconstructed.shape)}."
        )
    reconstructed = reconstructed.reshape(noisy.shape)
    clean_reconstructed = _predict(context.autoencoder, clean.reshape(shape), context.predict_batch_size)
    before, after = distance(noisy), distance(reconstructed)
    metrics["reference_error"] = float(distance(clean).max())
    metrics["non_finite"] = int(np.sum(~np.all(np.isfinite(reconstructed), axis=1)))
    metrics["clean"] = distance_summary(distance(clean_reconstructed.reshape(clean.shape)))
    metrics["all"] = group_metrics(before, after)
    if params.noise.type == "outliers":
        metrics["inliers"] = group_metrics(before[~outliers], after[~outliers])
        metrics["outliers"] = group_metrics(before[outliers], after[outliers])

    path = context.figure_path("denoising")
    if path is not None and noisy.shape[1] in (2, 3):
        plot_denoising(
            noisy,
            reconstructed,
            outliers,
            before,
            after,
            distance,
            path,
            dpi=context.report.dpi,
            max_points=params.figure_points,
            seed=context.seed,
        )
        context.add_figure("Denoising: noisy points and their reconstructions over Σ", path)
    return metrics


def plot_denoising(
    noisy: np.ndarray,
    reconstructed: np.ndarray,
    outliers: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    distance: ManifoldDistance,
    path: Any,
    *,
    dpi: int = 110,
    max_points: int = 300,
    seed: int = 0,
) -> Any:
    """Left: Σ, noisy points (inliers, outliers), their reconstructions and the segments
    joining them (a seeded subsample of ``max_points``); right: histograms of d(·, Σ)
    before and after, on a logarithmic distance axis. Data of 2 or 3 coordinates only."""
    from geokeras.report.figures import (
        DOUBLE_FIGSIZE,
        OKABE_ITO,
        new_figure,
        save_figure,
        shared_limits,
        subsample_indices,
    )

    dim = noisy.shape[1]
    if dim not in (2, 3):
        raise ValueError(f"Expected points of 2 or 3 coordinates. Received: shape={list(noisy.shape)}.")
    keep = subsample_indices(noisy.shape[0], max_points, seed)
    x, y, mask = noisy[keep], reconstructed[keep], outliers[keep]
    finite = np.all(np.isfinite(y), axis=1)
    figure = new_figure(DOUBLE_FIGSIZE)
    axes = figure.add_subplot(1, 2, 1, projection="3d" if dim == 3 else None)
    distance.draw_reference(axes, dim, seed)
    pairs = np.stack([x[finite], y[finite]], axis=1)  # shape=[k, 2, dim]
    if dim == 3:
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        axes.add_collection3d(Line3DCollection(pairs, colors="#777777", linewidths=0.5, alpha=0.6))
    else:
        from matplotlib.collections import LineCollection

        axes.add_collection(LineCollection(pairs, colors="#777777", linewidths=0.5, alpha=0.6, zorder=2))
    for points, style in (
        (x[~mask], {"s": 9, "color": OKABE_ITO[3], "marker": "o", "label": "noisy inliers"}),
        (x[mask], {"s": 22, "color": OKABE_ITO[1], "marker": "x", "label": "outliers"}),
        (y[finite], {"s": 9, "color": OKABE_ITO[0], "marker": "o", "label": "ψ(φ(x))"}),
    ):
        if points.size:
            axes.scatter(*points.T, zorder=3, **({"linewidths": 0} if style["marker"] == "o" else {}), **style)
    limits = shared_limits(x, y[finite]) if finite.any() else shared_limits(x)
    for setter, (low, high) in zip(("set_xlim", "set_ylim", "set_zlim"), limits):
        getattr(axes, setter)(low, high)
    if dim == 2:
        axes.set_aspect("equal", adjustable="box")
    axes.legend(loc="best", fontsize=7, markerscale=1.2)
    axes.set_title("Noisy points → reconstructions (gray: Σ)", fontsize=10)

    hist = figure.add_subplot(1, 2, 2)
    floor = 1e-6
    values = [np.maximum(before, floor), np.maximum(after[np.isfinite(after)], floor)]
    stacked = np.concatenate(values)
    bins = np.geomspace(stacked.min(), max(stacked.max(), stacked.min() * 10), 40)
    for data, colour, label in (
        (values[0], OKABE_ITO[1], "before: d(x, Σ)"),
        (values[1], OKABE_ITO[0], "after: d(ψ(φ(x)), Σ)"),
    ):
        if data.size:
            hist.hist(data, bins=bins, color=colour, alpha=0.55, label=f"{label}, mean {data.mean():.3g}")
    hist.set_xscale("log")
    hist.set_xlabel(f"distance to Σ ({distance.method}, values below {floor:g} shown at {floor:g})")
    hist.set_ylabel("points")
    hist.legend(fontsize=8)
    hist.set_title("Distance to Σ before and after", fontsize=10)
    return save_figure(figure, path, dpi)
