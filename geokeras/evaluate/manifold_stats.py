"""The ``manifold_stats`` evaluator: the manifold hypothesis, measured.

Lei, Luo, Yau, Gu (2018, section 2) posit that data in R^D concentrates near a manifold of
dimension m << D. This evaluator estimates m from the training samples and reports it
beside the true dimension (``null`` for a data set, whose dimension is unknown):

``two_nn`` (Facco, d'Errico, Rodriguez, Laio, *Estimating the intrinsic dimension of
datasets by a minimal neighborhood information*, Sci. Rep. 7, 12140, 2017)
    With r1 < r2 the distances of a point to its two nearest neighbours, mu = r2 / r1 is
    Pareto distributed, F(mu) = 1 - mu^(-m), for locally uniform data, so
    -log(1 - F(mu)) = m log mu. Sort the mu_i, set F_i = i / N, leave out the largest
    ``two_nn_discard`` fraction (the noisy tail; 10% as in the paper) and fit the line through
    the origin: m = sum x_i y_i / sum x_i^2, x = log mu_i, y = -log(1 - F_i).

``mle`` (Levina & Bickel, *Maximum likelihood estimation of intrinsic dimension*, NIPS 2004)
    With T_j(x) the distance of x to its j-th neighbour, the local estimate is
    m_k(x) = [ (1/(k-1)) sum_{j<k} log(T_k(x) / T_j(x)) ]^(-1); the global one averages the
    *inverses* (MacKay & Ghahramani's correction, 2005, less biased than averaging m_k(x)):
    m = [ (1/N) sum_x m_k(x)^(-1) ]^(-1).

Neighbours are found with scikit-learn's ``NearestNeighbors`` (exact; k-d / ball trees or
brute force); no maintained estimator package (scikit-dimension) is a dependency.

Rules for degenerate data:

* **Duplicates.** Exact duplicate samples (an image data set drawn with replacement, a
  quantised data set) have r1 = 0 and would make both estimators infinite, so duplicates
  are dropped first: the estimators see the *distinct* points (the metric ``samples`` counts
  them). Ties between distinct neighbours (r1 = r2 > 0) are kept: they give mu = 1, log 1 = 0.
* **Undefined estimates.** With fewer than 3 (TwoNN) or k + 1 (MLE) distinct points, or when
  every distance ratio is 1 (points on a regular lattice), the estimate is undefined and the
  evaluator reports ``null`` for it (the functions raise ``ValueError`` or return ``inf``).

Images are flattened to R^(H W C). Both estimators are biased low near a boundary, and
with noise they see the ambient dimension at scales below the noise level: read them with
the sample size. Their spread at N points of an m-manifold is of order m / sqrt(N) (the
standard deviation of the maximum-likelihood estimate of a Pareto exponent).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.evaluate.params import ManifoldStatsParams
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.base import check_count
from geokeras.seeds import purpose_seed

SEED_PURPOSE = "evaluate.manifold_stats"
"""The subsample of the training samples is drawn with ``purpose_seed(run seed, SEED_PURPOSE)``."""


def _distinct_points(points: Any) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(f"Expected points of shape [n, dim] with n >= 1. Received: shape={list(array.shape)}.")
    array = array.reshape(array.shape[0], -1)
    if not np.all(np.isfinite(array)):
        raise ValueError("Expected finite points. Received NaN or infinite entries.")
    return np.unique(array, axis=0)


def neighbour_distances(points: Any, k: int) -> np.ndarray:
    """Distances of each distinct point to its k nearest other points, ascending.

    Args:
        points: shape=[n, dim] (or [n, H, W, C], flattened); duplicates are dropped.
        k: neighbours per point.

    Returns:
        shape=[n_distinct, k], float64, every entry > 0.
    """
    from sklearn.neighbors import NearestNeighbors

    k = check_count("k", k)
    distinct = _distinct_points(points)
    if distinct.shape[0] < k + 1:
        raise ValueError(
            f"Expected at least k + 1 = {k + 1} distinct points for {k} neighbours each. "
            f"Received: {distinct.shape[0]} distinct points."
        )
    distances, _ = NearestNeighbors(n_neighbors=k).fit(distinct).kneighbors()
    return distances


def two_nn_dimension(points: Any, discard_fraction: float = 0.1) -> float:
    """TwoNN estimate of the intrinsic dimension (Facco et al. 2017; module docstring).

    Args:
        points: shape=[n, dim], n >= 3 distinct points.
        discard_fraction: fraction in [0, 1) of the largest mu = r2 / r1 left out of the fit.
    """
    if not 0.0 <= discard_fraction < 1.0:
        raise ValueError(f"Expected discard_fraction in [0, 1). Received: discard_fraction={discard_fraction!r}.")
    distances = neighbour_distances(points, 2)
    mu = np.sort(distances[:, 1] / distances[:, 0])
    count = mu.size
    kept = max(1, int(np.floor(count * (1.0 - discard_fraction))))
    kept = min(kept, count - 1)  # F = 1 at i = N: -log(0) is infinite, never fitted
    x = np.log(mu[:kept])
    y = -np.log1p(-np.arange(1, kept + 1) / count)
    denominator = float(np.dot(x, x))
    if denominator == 0.0:
        return float("inf")
    return float(np.dot(x, y) / denominator)


def mle_dimension(points: Any, k: int = 10) -> float:
    """Levina-Bickel MLE of the intrinsic dimension, inverse-averaged (module docstring).

    Args:
        points: shape=[n, dim], n >= k + 1 distinct points.
        k: neighbours (k >= 2).
    """
    k = check_count("k", k, minimum=2)
    distances = neighbour_distances(points, k)
    log_ratios = np.log(distances[:, -1:] / distances[:, :-1])  # log(T_k / T_j), j < k
    inverse_local = log_ratios.mean(axis=1)  # m_k(x)^(-1)
    mean_inverse = float(inverse_local.mean())
    return float("inf") if mean_inverse == 0.0 else 1.0 / mean_inverse


def evaluate_manifold_stats(params: ManifoldStatsParams, context: EvaluationContext) -> dict:
    """Estimate the intrinsic dimension of (a subsample of) the training samples.

    The subsample: when there are more than ``params.samples`` training samples, that many
    are drawn without replacement with ``purpose_seed(context.seed, SEED_PURPOSE)`` (the
    same points in every run with the same seed); then duplicates are dropped.

    Returns:
        ``{"true_dim": int or None, "ambient_dim": D, "samples": distinct points used,
        "k": k, "two_nn": float or None, "mle": float or None}``; an estimator not listed in
        ``params.estimators`` is left out; ``None`` where the estimate is undefined (module
        docstring).
    """
    x = np.asarray(context.x_train, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    if x.shape[0] > params.samples:
        rng = np.random.Generator(np.random.PCG64(purpose_seed(context.seed, SEED_PURPOSE)))
        x = x[np.sort(rng.choice(x.shape[0], size=params.samples, replace=False))]
    distinct = _distinct_points(x)
    true_dim = context.manifold.intrinsic_dim
    metrics: dict[str, Any] = {
        "true_dim": None if true_dim is None else int(true_dim),
        "ambient_dim": int(x.shape[1]),
        "samples": int(distinct.shape[0]),
        "k": int(params.k),
    }
    for estimator in dict.fromkeys(params.estimators):
        if estimator == "two_nn":
            enough = distinct.shape[0] >= 3
            metrics["two_nn"] = _finite_or_none(two_nn_dimension(distinct, params.two_nn_discard) if enough else None)
        else:
            enough = distinct.shape[0] >= params.k + 1
            metrics["mle"] = _finite_or_none(mle_dimension(distinct, params.k) if enough else None)
    return metrics


def _finite_or_none(estimate: Optional[float]) -> Optional[float]:
    """``None`` for an undefined estimate (not computed, or infinite): JSON has no infinity."""
    return estimate if estimate is not None and np.isfinite(estimate) else None
