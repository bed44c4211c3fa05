"""The evaluators ``ot_quality`` and ``generation`` (registered in ``geokeras/ot/params.py``).

``ot_quality`` measures how well the heights h solve the semi-discrete OT problem, on source
samples independent of the solver's: cell masses w_i = mu(W_i(h)) against the target weights
nu_i, and the transport cost E_mu |x - T(x)|^2 of the map T(x) = y_{cell(x)}.

``generation`` compares AE-OT samples (decoded extended-OT codes, :mod:`geokeras.ot.generation`)
with held-out data (for a data set drawn from its train split: its test split), beside the baseline "plain decoder
from a Gaussian latent": codes
z ~ N(mean, covariance of the training codes), decoded by the same decoder (what a VAE-like
generator without OT does), so the benefit of the OT map is visible in one table:

* ``mmd``: maximum mean discrepancy (Gretton et al. 2012, JMLR 13) with the Gaussian kernel
  k(a, b) = exp(-|a - b|^2 / (2 sigma^2)), sigma fixed by the median heuristic on the held-out
  data alone (the median pairwise distance among at most 1000 of them), so every generator is
  measured with the same kernel. The V-statistic MMD_b^2 = mean K_xx + mean K_yy - 2 mean K_xy
  (the MMD between the two empirical measures; 0 for identical samples); ``mmd`` is its root.
* ``sliced_wasserstein``: SW_2 (Rabin et al. 2011; Bonneel et al. 2015) =
  sqrt(E_theta W_2^2(<X, theta>, <Y, theta>)) over ``projections`` seeded directions uniform on
  the sphere; the 1-D W_2 between empirical measures is exact (quantile functions compared on
  the union of their breakpoints; the sorted-difference formula for equal sizes).
* ``mode_coverage``: share of the k modes whose generated share is at least ``min_mode_share``
  times their share of the held-out data. Modes come from the manifold when it knows them
  (``gaussian_mixture``: the nearest centre; data sets with a ``label`` parameter: the label of
  the nearest held-out sample), else from ``modes`` k-means clusters of the held-out data.
  ``mode_tv``: total variation between generated and held-out mode histograms.
* ``off_manifold_rate``: share of generated samples off the data. ``gaussian_mixture``: farther
  than std sqrt(chi2_n^{-1}(q)) from every centre (q = ``off_manifold_quantile``); otherwise
  farther from the nearest held-out sample than the q-quantile of held-out nearest-neighbour
  distances.
* ``refused_share``: generated samples whose interpolation was cut at the singular set.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.capabilities import KnownModes, LabelledData
from geokeras.seeds import purpose_seed

__all__ = [
    "evaluate_generation",
    "evaluate_ot_quality",
    "gaussian_mmd",
    "median_bandwidth",
    "mode_coverage",
    "sliced_wasserstein",
    "wasserstein_1d",
]

_TILE_ROWS = 1024
_BANDWIDTH_SAMPLES = 1000


# ----------------------------------------------------------------------------- distances
def _flat(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    array = array.reshape(array.shape[0], -1)
    if array.shape[0] == 0:
        raise ValueError(f"Expected at least one sample in `{name}`. Received: shape={list(np.shape(value))}.")
    return array


def _check_same_dim(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"Expected samples of the same dimension. Received: x of dimension {x.shape[1]}, y of dimension "
            f"{y.shape[1]}."
        )


def _kernel_sum(a: np.ndarray, b: np.ndarray, bandwidth: float) -> float:
    """sum_{i,j} exp(-|a_i - b_j|^2 / (2 bandwidth^2)), tiled over the rows of a (float64)."""
    b_norms = np.sum(b * b, axis=1)
    total = 0.0
    for start in range(0, a.shape[0], _TILE_ROWS):
        rows = a[start : start + _TILE_ROWS]
        squared = np.sum(rows * rows, axis=1)[:, None] - 2.0 * rows @ b.T + b_norms[None, :]
        total += float(np.exp(-np.maximum(squared, 0.0) / (2.0 * bandwidth**2)).sum())
    return total


def median_bandwidth(reference: Any, seed: int = 0, max_samples: int = _BANDWIDTH_SAMPLES) -> float:
    """The median heuristic: median pairwise distance among (a seeded subsample of) ``reference``."""
    reference = _flat("reference", reference)
    if reference.shape[0] > max_samples:
        rng = np.random.Generator(np.random.PCG64(seed))
        reference = reference[rng.choice(reference.shape[0], max_samples, replace=False)]
    from scipy.spatial.distance import pdist

    distances = pdist(reference)
    positive = distances[distances > 0]
    return float(np.median(positive)) if positive.size else 1.0


def gaussian_mmd(x: Any, y: Any, bandwidth: float, *, unbiased: bool = False) -> float:
    """MMD^2 between samples x and y with the kernel exp(-|a - b|^2 / (2 bandwidth^2)).

    Biased (V-statistic, default): mean K_xx + mean K_yy - 2 mean K_xy, the squared MMD between
    the empirical measures (exactly 0 when x and y are the same sample). Unbiased (U-statistic):
    the diagonals of K_xx and K_yy left out (Gretton et al. 2012, eq. 3); it can be negative.

    Args:
        x: shape=[n, D]; y: shape=[m, D] (any trailing shape, flattened).
        bandwidth: sigma > 0.

    Returns:
        MMD^2 (float).
    """
    x, y = _flat("x", x), _flat("y", y)
    _check_same_dim(x, y)
    if not bandwidth > 0:
        raise ValueError(f"Expected a positive bandwidth. Received: bandwidth={bandwidth!r}.")
    n, m = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = _kernel_sum(x, x, bandwidth), _kernel_sum(y, y, bandwidth), _kernel_sum(x, y, bandwidth)
    if unbiased:
        if n < 2 or m < 2:
            raise ValueError(f"Expected at least 2 samples each for the unbiased MMD. Received: n={n}, m={m}.")
        return (k_xx - n) / (n * (n - 1)) + (k_yy - m) / (m * (m - 1)) - 2.0 * k_xy / (n * m)
    return k_xx / n**2 + k_yy / m**2 - 2.0 * k_xy / (n * m)


def wasserstein_1d(u: Any, v: Any, p: int = 2) -> np.ndarray:
    """W_p^p between 1-D empirical measures, column by column.

    W_p^p = int_0^1 |F_u^{-1}(t) - F_v^{-1}(t)|^p dt, exact: both quantile functions are step
    functions, compared on the union of their breakpoints {i/n} and {j/m}. For n = m it is the
    sorted-difference formula mean_i |u_(i) - v_(i)|^p.

    Args:
        u: shape=[n] or [n, L]; v: shape=[m] or [m, L].

    Returns:
        shape=[L] (or a scalar array for 1-D input).
    """
    u = np.sort(np.asarray(u, dtype=np.float64), axis=0)
    v = np.sort(np.asarray(v, dtype=np.float64), axis=0)
    n, m = u.shape[0], v.shape[0]
    if n == m:
        return np.mean(np.abs(u - v) ** p, axis=0)
    breaks = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    widths = np.diff(np.concatenate([[0.0], breaks]))
    middles = breaks - widths / 2.0
    u_index = np.minimum(np.floor(middles * n).astype(np.int64), n - 1)
    v_index = np.minimum(np.floor(middles * m).astype(np.int64), m - 1)
    differences = np.abs(u[u_index] - v[v_index]) ** p
    return np.tensordot(widths, differences, axes=(0, 0))


def sliced_wasserstein(x: Any, y: Any, projections: int = 128, seed: int = 0) -> float:
    """SW_2(x, y) = sqrt(mean_theta W_2^2 of the projections on ``projections`` seeded directions.

    Directions are standard Gaussian vectors normalised to unit length (uniform on the sphere);
    in one dimension the only directions are +-1 and SW_2 = W_2.
    """
    x, y = _flat("x", x), _flat("y", y)
    _check_same_dim(x, y)
    rng = np.random.Generator(np.random.PCG64(seed))
    directions = rng.standard_normal((x.shape[1], int(projections)))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    return float(np.sqrt(np.mean(wasserstein_1d(x @ directions, y @ directions, p=2))))


def mode_coverage(generated_modes: Any, reference_modes: Any, modes: int, min_share: float = 0.25) -> dict[str, Any]:
    """Coverage of ``modes`` modes by generated samples, against reference (held-out) samples.

    Mode j is covered when q_j >= min_share * p_j, q and p the generated and reference shares
    (modes absent from the reference are not counted). Returns ``mode_coverage`` (covered / k
    present), ``modes_covered``, ``modes`` (k present), ``mode_tv`` = 1/2 sum_j |q_j - p_j|.
    """
    generated = np.bincount(np.asarray(generated_modes, dtype=np.int64), minlength=modes)[:modes]
    reference = np.bincount(np.asarray(reference_modes, dtype=np.int64), minlength=modes)[:modes]
    q = generated / max(generated.sum(), 1)
    p = reference / max(reference.sum(), 1)
    present = p > 0
    covered = int(np.sum((q >= min_share * p) & present))
    return {
        "mode_coverage": covered / max(int(present.sum()), 1),
        "modes_covered": covered,
        "modes": int(present.sum()),
        "mode_tv": 0.5 * float(np.abs(q - p).sum()),
    }


# ----------------------------------------------------------------------------- ot_quality
def _require_ot(context: EvaluationContext, name: str) -> Any:
    if getattr(context, "ot", None) is None:
        raise SpecError(
            f"the {name} evaluator needs the latent OT map. Expected a `latent_ot` section in the spec. "
            f"Received: latent_ot=null."
        )
    return context.ot


def evaluate_ot_quality(params: Any, context: EvaluationContext) -> dict[str, Any]:
    """Mass errors, total variation, empty cells and transport cost on independent samples.

    With w_i the cell masses measured on ``samples`` = M source samples independent of the solver's
    (hence the ``sampled_`` names, distinct from the solver's own ``ot.max_rel_mass_error``, ...):
    ``sampled_max_rel_mass_error`` = max_i |w_i - nu_i| / nu_i, ``sampled_tv`` = 1/2 sum_i |w_i - nu_i|
    (:func:`geokeras.ot.solve.mass_errors`), ``sampled_empty_cells`` (no sample fell in them),
    ``tv_noise_floor`` = the TV an exact solution shows with M samples, 1/2 sum_i sqrt(2 nu_i (1 - nu_i)
    / (pi M)), ``transport_cost`` = E|x - T(x)|^2, ``mass_samples`` = M and ``distinct_targets`` (the
    map's cells). The solver's steps, samples, seconds and convergence are in the ``ot`` section.
    """
    import tensorflow as tf

    from geokeras.ot.assignment import assign_cells, cell_masses
    from geokeras.ot.solve import mass_errors

    result = _require_ot(context, "ot_quality")
    targets = np.asarray(result.targets, dtype=np.float32)
    count = targets.shape[0]
    heights = np.asarray(result.heights, dtype=np.float32)
    weights = np.asarray(result.weights, dtype=np.float64)
    seed = purpose_seed(context.seed, "evaluate.ot_quality")
    masses = cell_masses(result.source, targets, heights, samples=params.samples, seed=seed)
    used = params.samples
    tv, max_rel = mass_errors(masses, weights)
    x = result.source.sample(int(params.samples), seed=seed, step=2)
    cells = assign_cells(x, targets, heights)
    images = tf.gather(tf.constant(targets), cells)
    cost = float(tf.reduce_mean(tf.reduce_sum(tf.square(tf.cast(x, tf.float64) - tf.cast(images, tf.float64)), axis=1)))
    metrics = {
        "sampled_max_rel_mass_error": max_rel,
        "sampled_tv": tv,
        "sampled_empty_cells": int(np.sum(masses == 0.0)),
        "tv_noise_floor": 0.5 * float(np.sum(np.sqrt(2.0 * weights * (1.0 - weights) / (np.pi * used)))),
        "transport_cost": cost,
        "mass_samples": int(used),
        "distinct_targets": int(count),
    }
    if context.draws_figures and targets.shape[1] == 2:
        from geokeras.ot.figures import plot_power_diagram

        path = context.figure_path("ot_power_diagram")
        plot_power_diagram(
            targets,
            heights,
            result.source,
            path,
            dpi=context.report.dpi,
            generated_codes=None if context.generation is None else context.generation.codes,
            seed=seed,
        )
        context.add_figure("Power diagram of the latent OT map", path)
    return metrics


# ----------------------------------------------------------------------------- generation
def _modes_and_off(
    context: EvaluationContext, params: Any, held_out: np.ndarray, held_out_parameters: np.ndarray, seed: int
) -> tuple[Optional[Any], Any, str]:
    """(mode labeller, off-manifold test, source of the modes), each a function of samples."""
    from sklearn.neighbors import NearestNeighbors

    manifold = context.manifold
    neighbours = NearestNeighbors(n_neighbors=2).fit(held_out)
    own, _ = neighbours.kneighbors(held_out, n_neighbors=2)
    nn_limit = float(np.quantile(own[:, 1], params.off_manifold_quantile))

    def off_by_neighbours(points: np.ndarray) -> np.ndarray:
        distance, _ = neighbours.kneighbors(points, n_neighbors=1)
        return distance[:, 0] > nn_limit

    if isinstance(manifold, KnownModes):
        radius = manifold.off_mode_radius(params.off_manifold_quantile)
        labeller = lambda points: manifold.mode_of(points)[0]  # noqa: E731
        off = lambda points: manifold.mode_of(points)[1] > radius  # noqa: E731
        return (labeller, manifold.mode_count), off, "manifold"
    if isinstance(manifold, LabelledData):
        labels = held_out_parameters[:, 0].astype(np.int64)

        def nearest_label(points: np.ndarray) -> np.ndarray:
            _, index = neighbours.kneighbors(points, n_neighbors=1)
            return labels[index[:, 0]]

        return (nearest_label, int(labels.max()) + 1), off_by_neighbours, "labels"
    if params.modes is not None:
        from sklearn.cluster import KMeans

        kmeans = KMeans(n_clusters=params.modes, n_init=4, random_state=seed % (2**32)).fit(held_out)
        return (kmeans.predict, params.modes), off_by_neighbours, "kmeans"
    return None, off_by_neighbours, "none"


def _sample_metrics(
    generated: np.ndarray,
    held_out: np.ndarray,
    held_out_modes: Optional[np.ndarray],
    labeller: Any,
    off: Any,
    bandwidth: float,
    params: Any,
    seed: int,
) -> dict[str, Any]:
    finite = np.all(np.isfinite(generated), axis=1)
    generated = generated[finite]
    metrics: dict[str, Any] = {
        "mmd": float(np.sqrt(max(gaussian_mmd(generated, held_out, bandwidth), 0.0))),
        "sliced_wasserstein": sliced_wasserstein(generated, held_out, params.projections, seed),
        "off_manifold_rate": float(np.mean(off(generated))),
        "non_finite": int(np.sum(~finite)),
    }
    if labeller is not None:
        label, modes = labeller
        metrics.update(mode_coverage(label(generated), held_out_modes, modes, params.min_mode_share))
    return metrics


def evaluate_generation(params: Any, context: EvaluationContext) -> dict[str, Any]:
    """AE-OT samples and the Gaussian-latent baseline against held-out data (module docstring).

    Returns flat metrics: ``mmd``, ``sliced_wasserstein``, ``off_manifold_rate``,
    ``mode_coverage``, ``modes_covered``, ``modes``, ``mode_tv`` for AE-OT; the same with the prefix
    ``baseline_`` for the Gaussian-latent baseline; ``refused_share``, ``interpolated_share``;
    ``bandwidth`` (the MMD kernel's sigma), ``modes_from`` (manifold, labels, kmeans or none),
    ``held_out``, ``generated``.
    """
    _require_ot(context, "generation")
    generation = context.generation
    if generation is None or generation.samples is None:
        raise ValueError("Expected generated samples in the evaluation context (context.generation); received none.")
    seed = purpose_seed(context.seed, "evaluate.generation")
    drawn = context.held_out_manifold.draw(params.samples, seed)
    held_out = _flat("held_out", drawn.points)
    generated = _flat("generated", generation.samples)
    _check_same_dim(generated, held_out)

    # The training codes' mean and covariance: the OT targets weighted by their weights (equal
    # codes were merged into one target carrying their summed weight).
    codes = np.asarray(context.ot.targets, dtype=np.float64)
    weights = np.asarray(context.ot.weights, dtype=np.float64)
    rng = np.random.Generator(np.random.PCG64(seed))
    mean = weights @ codes / weights.sum()
    covariance = np.zeros((codes.shape[1], codes.shape[1]))
    if codes.shape[0] > 1:
        covariance = np.atleast_2d(np.cov(codes, rowvar=False, aweights=weights))
    latent = rng.multivariate_normal(mean, covariance, size=generated.shape[0], method="eigh")
    baseline = _flat(
        "baseline",
        context.decoder.predict(latent.astype(np.float32), batch_size=context.predict_batch_size, verbose=0),
    )

    labeller, off, modes_from = _modes_and_off(context, params, held_out, drawn.parameters, seed)
    held_out_modes = None
    if modes_from in ("manifold", "labels"):  # ground truth: the mode index or the class label
        held_out_modes = drawn.parameters[:, 0].astype(np.int64)
    elif labeller is not None:
        held_out_modes = labeller[0](held_out)
    bandwidth = median_bandwidth(held_out, seed)
    ours = _sample_metrics(generated, held_out, held_out_modes, labeller, off, bandwidth, params, seed)
    theirs = _sample_metrics(baseline, held_out, held_out_modes, labeller, off, bandwidth, params, seed)
    metrics: dict[str, Any] = {
        **ours,
        **{f"baseline_{key}": value for key, value in theirs.items()},
        "refused_share": generation.refused_share,
        "refused_pair_share": generation.refused_pair_share,
        "interpolated_share": generation.interpolated_share,
        "bandwidth": bandwidth,
        "modes_from": modes_from,
        "held_out": int(held_out.shape[0]),
        "generated": int(generated.shape[0]),
    }
    if context.draws_figures:
        from geokeras.ot.figures import plot_generated

        path = context.figure_path("generation")
        plot_generated(
            held_out,
            generated,
            baseline,
            path,
            dpi=context.report.dpi,
            image_shape=context.manifold.image_shape,
            max_points=context.report.max_points,
            seed=seed,
        )
        context.add_figure("Generated (AE-OT) and baseline (Gaussian latent) samples vs held-out data", path)
    return metrics
