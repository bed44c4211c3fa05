"""The ``reconstruction`` evaluator: how well psi(phi(x)) reproduces held-out samples x.

Metrics, for held-out samples X = {x_1..x_n} (shape=[n, D]) and their reconstructions
X^ = {x^_i = psi(phi(x_i))}:

* ``mse`` = (1/n) sum_i |x_i - x^_i|^2 / D, the mean over samples *and* coordinates of the
  squared error (Keras's ``mean_squared_error`` averaged over the samples; the training
  loss of Lei et al. 2018, section 1, divided by D).
* ``chamfer`` = (1/n) sum_i min_j |x_i - x^_j| + (1/n) sum_j min_i |x^_j - x_i|, the
  symmetric Chamfer distance with *unsquared* Euclidean distances (some papers square them;
  this one does not, so it has the units of the data). It compares the point *sets*: a
  reconstruction that lands on the manifold but at the wrong place still scores well.
* ``hausdorff`` = max(max_i min_j |x_i - x^_j|, max_j min_i |x^_j - x_i|), the symmetric
  Hausdorff distance (unsquared).

Nearest-neighbour distances are computed in TensorFlow, tiled over rows: ``tile_size``
queries at a time against all references, so memory is O(tile_size * n) however large n
is, in a ``tf.function`` (one ``tf.while_loop``; runs on a GPU when there is one). The
candidate neighbour is the argmin of |r|^2 - 2 <q, r> (= |q - r|^2 - |q|^2, one matmul per
tile) and its distance is then recomputed exactly as |q - r| in float64, so identical sets
give exactly 0 and results match a brute-force float64 computation to rounding; only a near
tie between two candidates (squared distances within ~1e-16 (|q|^2 + |r|^2) of each other)
can pick the slightly farther one, off by at most that much in squared distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from geokeras.evaluate.params import ReconstructionParams
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds.base import check_count
from geokeras.seeds import purpose_seed

SEED_PURPOSE = "evaluate.reconstruction"
"""Held-out samples are drawn with ``purpose_seed(run seed, SEED_PURPOSE)``: a stream
independent of the training samples (drawn with the run seed itself)."""


@dataclass(frozen=True)
class PointSetDistances:
    """Distances between two point sets X and Y (all unsquared Euclidean).

    Attributes:
        mean_x_to_y: (1/|X|) sum_x min_y |x - y|.
        mean_y_to_x: (1/|Y|) sum_y min_x |x - y|.
        max_x_to_y: max_x min_y |x - y|, the directed Hausdorff distance h(X, Y).
        max_y_to_x: max_y min_x |x - y|, h(Y, X).
    """

    mean_x_to_y: float
    mean_y_to_x: float
    max_x_to_y: float
    max_y_to_x: float

    @property
    def chamfer(self) -> float:
        """mean_x_to_y + mean_y_to_x (symmetric Chamfer distance, unsquared)."""
        return self.mean_x_to_y + self.mean_y_to_x

    @property
    def hausdorff(self) -> float:
        """max(max_x_to_y, max_y_to_x) (symmetric Hausdorff distance)."""
        return max(self.max_x_to_y, self.max_y_to_x)


_NEAREST_FUNCTION: Any = None


def _nearest_function() -> Any:
    """The tf.function, built on first use (TensorFlow is imported here, not at import)."""
    global _NEAREST_FUNCTION
    if _NEAREST_FUNCTION is not None:
        return _NEAREST_FUNCTION
    import tensorflow as tf

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.float64),
            tf.TensorSpec([None, None], tf.float64),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def nearest(queries: Any, references: Any, tile_size: Any) -> Any:
        count = tf.shape(queries)[0]
        tiles = (count + tile_size - 1) // tile_size
        padded = tf.pad(queries, [[0, tiles * tile_size - count], [0, 0]])
        padded = tf.reshape(padded, [tiles, tile_size, tf.shape(queries)[1]])
        # argmin_j |q - r_j|^2 = argmin_j (|r_j|^2 - 2 <q, r_j>): one matmul of [q, 1] with
        # [-2 r_j, |r_j|^2] scores a whole tile (|q|^2 is the same for every j).
        scored_references = tf.concat(
            [-2.0 * references, tf.reduce_sum(tf.square(references), axis=1, keepdims=True)],
            axis=1,
        )  # shape=[m, D + 1]

        def body(index: Any, distances: Any) -> Any:
            tile = padded[index]  # shape=[tile_size, D]
            scores = tf.matmul(
                tf.pad(tile, [[0, 0], [0, 1]], constant_values=1.0),
                scored_references,
                transpose_b=True,
            )  # shape=[tile_size, m]: the only O(tile_size * m) tensor
            closest = tf.gather(references, tf.argmin(scores, axis=1, output_type=tf.int32))
            exact = tf.sqrt(tf.reduce_sum(tf.square(tile - closest), axis=1))
            return index + 1, distances.write(index, exact)

        _, distances = tf.while_loop(
            lambda index, _: index < tiles,
            body,
            [tf.constant(0), tf.TensorArray(tf.float64, size=tiles, element_shape=[None])],
            parallel_iterations=1,  # one tile in flight: memory stays O(tile_size * m)
        )
        return tf.reshape(distances.stack(), [-1])[:count]

    _NEAREST_FUNCTION = nearest
    return nearest


def _point_set(name: str, points: Any) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"Expected `{name}` of shape [n, dim] with n >= 1 and dim >= 1. Received: shape={list(array.shape)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Expected finite values in `{name}`. Received NaN or infinite entries.")
    return array


def nearest_neighbour_distances(queries: Any, references: Any, tile_size: int = 1024) -> np.ndarray:
    """min_j |q_i - r_j| for every query q_i (unsquared Euclidean), tiled over the queries.

    Args:
        queries: shape=[n, D].
        references: shape=[m, D].
        tile_size: queries per tile; memory is O(tile_size * m).

    Returns:
        shape=[n], float64.
    """
    queries = _point_set("queries", queries)
    references = _point_set("references", references)
    if queries.shape[1] != references.shape[1]:
        raise ValueError(
            f"Expected queries and references of the same dimension. Received: "
            f"queries.shape={list(queries.shape)}, references.shape={list(references.shape)}."
        )
    tile_size = check_count("tile_size", tile_size)
    tile_size = min(tile_size, queries.shape[0])
    return _nearest_function()(queries, references, np.int32(tile_size)).numpy()


def point_set_distances(x: Any, y: Any, tile_size: int = 1024) -> PointSetDistances:
    """Both directed nearest-neighbour summaries between X (shape=[n, D]) and Y (shape=[m, D])."""
    x_to_y = nearest_neighbour_distances(x, y, tile_size)
    y_to_x = nearest_neighbour_distances(y, x, tile_size)
    return PointSetDistances(
        mean_x_to_y=float(x_to_y.mean()),
        mean_y_to_x=float(y_to_x.mean()),
        max_x_to_y=float(x_to_y.max()),
        max_y_to_x=float(y_to_x.max()),
    )


def chamfer_distance(x: Any, y: Any, tile_size: int = 1024) -> float:
    """mean_x min_y |x - y| + mean_y min_x |x - y| (symmetric, unsquared)."""
    return point_set_distances(x, y, tile_size).chamfer


def hausdorff_distance(x: Any, y: Any, tile_size: int = 1024) -> float:
    """max(max_x min_y |x - y|, max_y min_x |x - y|) (symmetric Hausdorff distance)."""
    return point_set_distances(x, y, tile_size).hausdorff


def _input_dtype(model: Any) -> Any:
    inputs = getattr(model, "inputs", None)
    dtype = getattr(inputs[0], "dtype", None) if inputs else None
    return np.dtype(getattr(dtype, "name", dtype) or "float32")


def reconstruct(model: Any, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``model.predict`` in batches, fed the model's input dtype; returns float64 [n, D']."""
    batch_size = check_count("batch_size", batch_size)
    output = model.predict(x.astype(_input_dtype(model)), batch_size=batch_size, verbose=0)
    return np.asarray(output, dtype=np.float64)


def evaluate_reconstruction(params: ReconstructionParams, context: EvaluationContext) -> dict:
    """Reconstruction metrics on ``params.samples`` held-out samples (see the module docstring).

    Held-out samples come from ``context.held_out_manifold`` (a data set's test split, else
    the manifold itself; same measure, embedding and noise as the training data) with seed
    ``purpose_seed(context.seed, "evaluate.reconstruction")``. When
    figures are on, writes ``reconstruction.png`` (data vs reconstruction).

    Returns:
        ``{"samples": n, "mse": float, "chamfer": float, "hausdorff": float}``. If a
        reconstruction is NaN or infinite (a diverged model), ``chamfer`` and ``hausdorff``
        are NaN and ``mse`` is what the arithmetic gives.
    """
    x, parameters = context.held_out_manifold.sample_with_parameters(
        params.samples, purpose_seed(context.seed, SEED_PURPOSE)
    )
    x_hat = reconstruct(context.autoencoder, x, context.predict_batch_size)
    if x_hat.shape != x.shape:
        raise ValueError(
            f"Expected the autoencoder to map shape [n, {x.shape[1]}] to itself. "
            f"Received: output shape={list(x_hat.shape)} for input shape={list(x.shape)}."
        )
    x, x_hat = x.reshape(len(x), -1), x_hat.reshape(len(x_hat), -1)  # images [n, H, W, C] as vectors
    with np.errstate(over="ignore", invalid="ignore"):
        mse = float(np.mean(np.square(x - x_hat)))
    chamfer = hausdorff = float("nan")
    if np.all(np.isfinite(x_hat)):
        distances = point_set_distances(x, x_hat, params.tile_size)
        chamfer, hausdorff = distances.chamfer, distances.hausdorff

    path: Optional[Any] = context.figure_path("reconstruction")
    if path is not None:
        from geokeras.report.figures import plot_reconstruction

        names = context.manifold.parameter_names
        plot_reconstruction(
            x,
            x_hat,
            parameters,
            path,
            dpi=context.report.dpi,
            max_points=context.report.max_points,
            seed=context.seed,
            parameter_label=names[0] if names else None,
        )
        context.add_figure("Reconstruction of held-out samples", path)

    return {"samples": int(params.samples), "mse": mse, "chamfer": chamfer, "hausdorff": hausdorff}
