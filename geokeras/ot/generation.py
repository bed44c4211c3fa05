"""AE-OT generation: source samples through the *extended* semi-discrete OT map, then the decoder.

The plain OT map T(x) = y_{argmax_i <x, y_i> + h_i} only returns training codes (it memorises).
AE-OT (An, Guo, Lei, Luo, Yau, Gu, ICLR 2020; Lei et al. 2018 section 5) extends it
piecewise linearly between the codes of neighbouring power cells, except
across the *singular set*, where the Brenier potential u_h(x) = max_i <x, y_i> + h_i has a
sharp crease (a gap between modes of the data):

1. **Mass centres.** c_i = E[x | x in W_i], estimated from ``centre_samples_per_cell * N``
   independent source samples (a cell no sample reached has no centre and is never an
   interpolation partner).
2. **Top cells.** For a source sample x take its top cell i = argmax and the next k cells by
   score (``top_k``, default d, so d + 1 cells in all): the cells around x.
3. **Singular set.** The facet between cells i and j lies on the graph of u_h, whose planes
   have normals n_i = (y_i, -1) and n_j = (y_j, -1). Their dihedral angle is

       theta_ij = arccos((<y_i, y_j> + 1) / (sqrt(1 + |y_i|^2) sqrt(1 + |y_j|^2)))

   computed here in the equivalent, rounding-free form 2 atan2(|u_i - u_j|, |u_i + u_j|),
   u = n / |n| (exactly 0 for identical codes). A neighbour j with theta_ij > threshold is
   *refused*: the map does not interpolate across that facet.
4. **Interpolation** of the codes of the admitted cells (the top cell is always admitted):

   * ``barycentric``: weights lambda with sum_k lambda_k c_k = x, sum_k lambda_k = 1, solved in
     float64 by regularised least squares over the admitted cells; negative weights are clipped
     to 0 and the rest renormalised, so the code stays in the convex hull of admitted codes.
   * ``inverse_distance``: lambda_k proportional to 1 / (|x - c_k|^2 + eps).
   * ``pairs``: the top cell i with its best-scoring admitted neighbour j, interpolated by the
     score gap g(x) = s_i(x) - s_j(x) >= 0, s_k(x) = <x, y_k> + h_k, relative to its value at
     the top cell's centre, G = g(c_i): t = clip((1 - g / G) / 2, 0, 1/2), code
     (1 - t) y_i + t y_j. At x = c_i the code is y_i; on the facet g = 0, so t = 1/2 and the
     code is (y_i + y_j) / 2 from either side, also when the two cells differ in size: the
     map is continuous across the facet of the two best cells (it may jump where the second
     best cell changes inside a cell, and does jump across refused facets).
   * ``none``: the plain map, y_i.

   Every weighting is affine-invariant in the codes (weights sum to 1), so codes may be
   interpolated in their own units.

**The threshold is in radians, and it depends on the codes' scale.** Scaling codes by s moves
theta_ij (the "+1" in the formula does not scale): for small codes every angle is small, for
large ones angles between far-apart codes approach pi/2. With ``normalise_codes`` (default) the
angles are measured on the codes centred at their mean and divided by their root-mean-square
norm: the power cells and the map are unchanged (the argmax is equivariant under y -> (y - m) / s,
h -> h / s plus a constant), and the threshold means the same for every autoencoder. For two
unit-norm normalised codes at distance delta, theta ~ delta / 2; the run reports quantiles of
the neighbour angles (``angle_quantiles``) to choose a threshold. ``angle_threshold: 0`` never
interpolates: every generated code is a training code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from geokeras.errors import located_under

__all__ = [
    "CodeNormalisation",
    "ExtendedMap",
    "GenerationResult",
    "dihedral_angles",
    "generate",
    "mass_centres",
]

_LEAST_SQUARES_RIDGE = 1e-9
"""Ridge of the barycentric least squares (relative to the squared source scale)."""


@dataclass(frozen=True)
class CodeNormalisation:
    """y -> (y - shift) / scale: centre the codes, scale to unit root-mean-square norm."""

    shift: np.ndarray
    scale: float

    @classmethod
    def fit(cls, codes: np.ndarray, enabled: bool = True) -> "CodeNormalisation":
        """The normalisation of ``codes`` (shape=[N, d]); the identity when not ``enabled``."""
        codes = np.asarray(codes, dtype=np.float64)
        if not enabled:
            return cls(np.zeros(codes.shape[1]), 1.0)
        shift = codes.mean(axis=0)
        scale = float(np.sqrt(np.mean(np.sum((codes - shift) ** 2, axis=1))))
        return cls(shift, scale if scale > 0.0 else 1.0)

    def apply(self, codes: np.ndarray) -> np.ndarray:
        return (np.asarray(codes, dtype=np.float64) - self.shift) / self.scale


def dihedral_angles(codes_i: Any, codes_j: Any) -> Any:
    """theta_ij between the supporting planes (y_i, -1), (y_j, -1) of u_h, in radians.

    theta = arccos((<y_i,y_j> + 1) / (sqrt(1+|y_i|^2) sqrt(1+|y_j|^2))), evaluated as
    2 atan2(|u_i - u_j|, |u_i + u_j|) with u = (y, -1) / |(y, -1)| (accurate for small angles,
    exactly 0 for identical codes). Works on numpy arrays and TF tensors of shape [..., d]
    (broadcasting); returns shape [...].
    """
    if isinstance(codes_i, np.ndarray) and isinstance(codes_j, np.ndarray):
        backend = np
        norm = lambda v: np.sqrt(np.sum(v * v, axis=-1))  # noqa: E731
        concat = lambda a, b: np.concatenate([a, b], axis=-1)  # noqa: E731
        atan2 = np.arctan2
    else:
        import tensorflow as tf

        backend = tf
        codes_i = tf.convert_to_tensor(codes_i)
        codes_j = tf.cast(tf.convert_to_tensor(codes_j), codes_i.dtype)
        norm = lambda v: tf.sqrt(tf.reduce_sum(v * v, axis=-1))  # noqa: E731
        concat = lambda a, b: tf.concat([a, b], axis=-1)  # noqa: E731
        atan2 = tf.atan2

    def unit_normal(codes: Any) -> Any:
        minus_one = -backend.ones_like(codes[..., :1])
        normal = concat(codes, minus_one)
        return normal / norm(normal)[..., None]

    u_i, u_j = unit_normal(codes_i), unit_normal(codes_j)
    return 2.0 * atan2(norm(u_i - u_j), norm(u_i + u_j))


_CENTRE_CHUNK = 1 << 18
"""Source samples per chunk of the mass-centre estimate: memory O(chunk x d), any N."""


def mass_centres(source: Any, targets: Any, heights: Any, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """c_i = E[x | x in W_i] from ``samples`` source points of the stream ``seed``.

    The points come in chunks of 2^18, chunk j from step 1 + 16 j of the source's stream
    (steps 0, 2 and 3 serve the generated points and the evaluators), so memory stays bounded
    for any N; sums and counts accumulate on the device.

    Returns:
        ``(centres, counts)``: shape=[N, d] float64 (rows of empty cells are NaN) and shape=[N]
        int64, the samples that fell in each cell.
    """
    import tensorflow as tf

    from geokeras.ot.assignment import assign_cells

    targets = tf.convert_to_tensor(targets, tf.float32)
    count = int(targets.shape[0])
    sums = tf.zeros([count, int(targets.shape[1])], tf.float64)
    counts = tf.zeros([count], tf.int64)
    for chunk, start in enumerate(range(0, int(samples), _CENTRE_CHUNK)):
        x = source.sample(min(_CENTRE_CHUNK, int(samples) - start), seed=seed, step=1 + 16 * chunk)
        cells = assign_cells(x, targets, heights)
        sums += tf.math.unsorted_segment_sum(tf.cast(x, tf.float64), cells, count)
        counts += tf.math.bincount(cells, minlength=count, maxlength=count, dtype=tf.int64)
    sums, counts = sums.numpy(), counts.numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        centres = sums / counts[:, None]
    centres[counts == 0] = np.nan
    return centres, counts


class ExtendedMap:
    """The extended OT map x -> generated code (module docstring), batched in TensorFlow.

    Args:
        targets: shape=[N, d], the codes y_i (the solver's targets, in the decoder's units).
        heights: shape=[N], the heights h (cell(x) = argmax <x, y_i> + h_i).
        centres: shape=[N, d], the cells' mass centres (NaN rows: empty cells).
        interpolation: ``barycentric``, ``inverse_distance``, ``pairs`` or ``none``.
        angle_threshold: radians, >= 0.
        top_k: neighbours of the top cell considered (k; clipped to N - 1).
        normalisation: how codes are normalised before measuring angles.
    """

    def __init__(
        self,
        targets: Any,
        heights: Any,
        centres: np.ndarray,
        *,
        interpolation: str = "barycentric",
        angle_threshold: float = 0.7,
        top_k: int = 1,
        normalisation: Optional[CodeNormalisation] = None,
    ):
        import tensorflow as tf

        targets = np.asarray(targets, dtype=np.float64)
        if targets.ndim != 2 or targets.shape[0] < 1:
            raise ValueError(f"Expected targets of shape [N, d], N >= 1. Received: shape={list(targets.shape)}.")
        if interpolation not in ("barycentric", "inverse_distance", "pairs", "none"):
            raise ValueError(
                f"Expected interpolation in barycentric, inverse_distance, pairs, none. "
                f"Received: interpolation={interpolation!r}."
            )
        if not (0.0 <= float(angle_threshold) <= np.pi):
            raise ValueError(
                f"Expected an angle_threshold in [0, pi] radians. Received: angle_threshold={angle_threshold!r}."
            )
        if np.shape(centres) != targets.shape:
            raise ValueError(
                f"Expected centres of shape {list(targets.shape)} (one per target). "
                f"Received: shape={list(np.shape(centres))}."
            )
        normalisation = normalisation or CodeNormalisation.fit(targets, enabled=False)
        self.count, self.dim = targets.shape
        self.interpolation = interpolation
        self.angle_threshold = float(angle_threshold)
        self.top_k = max(0, min(int(top_k), self.count - 1)) if interpolation != "none" else 0
        self.targets = tf.constant(targets, tf.float32)
        self.targets64 = tf.constant(targets, tf.float64)
        self.normalised = tf.constant(normalisation.apply(targets), tf.float64)
        self.heights = tf.constant(np.asarray(heights, dtype=np.float32))
        valid = np.all(np.isfinite(centres), axis=1)
        self.has_centre = tf.constant(valid)
        self.centres = tf.constant(np.where(valid[:, None], centres, 0.0), tf.float64)
        scale = np.nanstd(centres) if valid.any() else 1.0
        self._ridge = _LEAST_SQUARES_RIDGE * float(scale if scale > 0 else 1.0) ** 2
        # One graph for every batch size: the interpolation runs on the device, no host trips.
        self._interpolate_graph = tf.function(
            self._interpolate,
            input_signature=[
                tf.TensorSpec([None, self.dim], tf.float32),
                tf.TensorSpec([None, self.top_k + 1], tf.int32),
            ],
        )

    def __call__(self, x: Any) -> dict[str, Any]:
        """Map source samples x (shape=[n, d]) to codes.

        Returns:
            dict of tf.Tensors: ``codes`` shape=[n, d] float32; ``top`` shape=[n] int32 (the top
            cell); ``weights`` shape=[n, k+1] float64 (on the top cells, best first);
            ``indices`` shape=[n, k+1] int32; ``refused`` shape=[n, k] bool (neighbour dropped by
            the angle test); ``angles`` shape=[n, k] float64.
        """
        import tensorflow as tf

        from geokeras.ot.assignment import top_k_cells

        x = tf.convert_to_tensor(x, tf.float32)
        _, indices = top_k_cells(x, self.targets, self.heights, self.top_k + 1)
        return self._interpolate_graph(x, indices)

    def _interpolate(self, x: Any, indices: Any) -> dict[str, Any]:
        import tensorflow as tf

        x64 = tf.cast(x, tf.float64)
        top = indices[:, 0]
        neighbours = indices[:, 1:]
        angles = dihedral_angles(tf.gather(self.normalised, top)[:, None, :], tf.gather(self.normalised, neighbours))
        refused = angles > self.angle_threshold
        partner = tf.logical_and(tf.logical_not(refused), tf.gather(self.has_centre, neighbours))
        admitted = tf.concat([tf.ones_like(top[:, None], tf.bool), partner], axis=1)
        centres = tf.gather(self.centres, indices)  # [n, k+1, d]
        if self.top_k == 0 or self.interpolation == "none":
            weights = tf.one_hot(tf.zeros_like(top), self.top_k + 1, dtype=tf.float64)
        elif self.interpolation == "pairs":
            weights = self._pair_weights(x64, centres, partner, indices)
        elif self.interpolation == "inverse_distance":
            distance2 = tf.reduce_sum(tf.square(x64[:, None, :] - centres), axis=2)
            raw = tf.where(admitted, 1.0 / (distance2 + self._ridge), tf.zeros_like(distance2))
            weights = raw / tf.reduce_sum(raw, axis=1, keepdims=True)
        else:
            weights = self._barycentric_weights(x64, centres, admitted)
        # A top cell without a centre (no sample reached it) cannot be interpolated from.
        lone = tf.one_hot(tf.zeros_like(top), self.top_k + 1, dtype=tf.float64)
        weights = tf.where(tf.gather(self.has_centre, top)[:, None], weights, lone)
        codes = tf.einsum("nk,nkd->nd", weights, tf.gather(self.targets64, indices))
        # Exactly the top code where nothing was interpolated (no rounding from the einsum).
        only_top = tf.reduce_all(tf.equal(weights[:, 1:], 0.0), axis=1)
        codes = tf.where(only_top[:, None], tf.gather(self.targets64, top), codes)
        return {
            "codes": tf.cast(codes, tf.float32),
            "top": top,
            "weights": weights,
            "indices": indices,
            "refused": refused,
            "angles": angles,
        }

    def _pair_weights(self, x64: Any, centres: Any, partner: Any, indices: Any) -> Any:
        """Weights (1 - t, t on the best admitted neighbour) from the score gap (module docstring)."""
        import tensorflow as tf

        # The best-scoring admitted neighbour (indices are sorted by score).
        k = self.top_k
        rank = tf.where(partner, tf.range(k)[None, :], k)
        best = tf.reduce_min(rank, axis=1)
        has_partner = best < k
        best = tf.minimum(best, k - 1)
        c_i = centres[:, 0, :]
        j = tf.gather(indices[:, 1:], best, batch_dims=1)
        y_i, y_j = tf.gather(self.targets64, indices[:, 0]), tf.gather(self.targets64, j)
        heights = tf.cast(self.heights, tf.float64)
        h_gap = tf.gather(heights, indices[:, 0]) - tf.gather(heights, j)
        gap = tf.reduce_sum(x64 * (y_i - y_j), axis=1) + h_gap  # s_i(x) - s_j(x)
        gap_at_centre = tf.reduce_sum(c_i * (y_i - y_j), axis=1) + h_gap  # > 0: c_i lies inside W_i
        usable = has_partner & (gap_at_centre > 0.0)  # a centre on the facet: no interpolation
        t = 0.5 * (1.0 - gap / tf.where(usable, gap_at_centre, tf.ones_like(gap_at_centre)))
        t = tf.where(usable, tf.clip_by_value(t, 0.0, 0.5), tf.zeros_like(t))
        neighbour_weights = tf.one_hot(best, k, dtype=tf.float64) * t[:, None]
        return tf.concat([(1.0 - t)[:, None], neighbour_weights], axis=1)

    def _barycentric_weights(self, x64: Any, centres: Any, admitted: Any) -> Any:
        import tensorflow as tf

        # Columns [c_k; 1] of the admitted cells; refused columns are zero, so the ridge
        # solution gives them weight exactly 0: lambda = argmin |M lambda - [x; 1]|^2 + r|lambda|^2.
        mask = tf.cast(admitted, tf.float64)
        ones = tf.ones_like(centres[:, :, :1])
        columns = tf.concat([centres, ones], axis=2) * mask[:, :, None]  # [n, k+1, d+1]
        matrix = tf.transpose(columns, [0, 2, 1])  # [n, d+1, k+1]
        rhs = tf.concat([x64, tf.ones_like(x64[:, :1])], axis=1)[:, :, None]
        gram = tf.matmul(matrix, matrix, transpose_a=True) + self._ridge * tf.eye(self.top_k + 1, dtype=tf.float64)
        lam = tf.linalg.solve(gram, tf.matmul(matrix, rhs, transpose_a=True))[:, :, 0]
        lam = tf.where(admitted, tf.maximum(lam, 0.0), tf.zeros_like(lam))
        total = tf.reduce_sum(lam, axis=1, keepdims=True)
        lone = tf.one_hot(tf.zeros_like(lam[:, 0], tf.int32), self.top_k + 1, dtype=tf.float64)
        return tf.where(total > 0.0, lam / tf.where(total > 0.0, total, 1.0), lone)


@dataclass
class GenerationResult:
    """What :func:`generate` returns.

    Attributes:
        codes: shape=[n, d], float32: the generated latent codes.
        samples: the decoded samples, shape=[n, *sample_shape] (None without a decoder).
        source_samples: shape=[n, d]: the source points x that were mapped.
        top_cells: shape=[n], int: the power cell of each x (the plain OT map's code index).
        interpolated: shape=[n], bool: the code is not exactly the top cell's code.
        refused: shape=[n], bool: at least one neighbour of x was refused by the angle test.
        refused_share: mean of ``refused``: the share of samples whose interpolation was cut at
            the singular set.
        refused_pair_share: refused (sample, neighbour) pairs over all pairs considered.
        interpolated_share: mean of ``interpolated``.
        angle_quantiles: quantiles 0.5, 0.9, 0.99 of theta between each x's top cell and its
            neighbours (radians, normalised codes): to choose ``angle_threshold``.
        seconds: wall time of the mapping and decoding.
    """

    codes: np.ndarray
    samples: Optional[np.ndarray]
    source_samples: np.ndarray
    top_cells: np.ndarray
    interpolated: np.ndarray
    refused: np.ndarray
    refused_share: float
    refused_pair_share: float
    interpolated_share: float
    angle_quantiles: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_metrics(self) -> dict[str, Any]:
        """The scalar results, for metrics.json."""
        return {
            "samples": int(self.codes.shape[0]),
            "refused_share": self.refused_share,
            "refused_pair_share": self.refused_pair_share,
            "interpolated_share": self.interpolated_share,
            "distinct_top_cells": int(np.unique(self.top_cells).size),
            **{f"angle_{name}": value for name, value in self.angle_quantiles.items()},
            "seconds": self.seconds,
        }


def generate(
    targets: Any,
    heights: Any,
    source: Any,
    params: Any = None,
    *,
    seed: int = 0,
    decoder: Any = None,
    samples: Optional[int] = None,
    centres: Optional[np.ndarray] = None,
) -> GenerationResult:
    """AE-OT generation: ``samples`` source points through the extended OT map, then ``decoder``.

    Args:
        targets: shape=[N, d], the training codes the OT map was solved for.
        heights: shape=[N], their heights (``OTResult.heights``).
        source: a :class:`geokeras.ot.sources.Source` or what :func:`make_source` takes.
        params: a :class:`geokeras.ot.params.GenerateSpec` or a mapping of its keys (None: defaults).
        seed: seeds the source points (step 0) and the mass-centre points (step 1).
        decoder: a Keras model from codes to data; None returns codes only.
        samples: overrides ``params.samples``.
        centres: precomputed mass centres (shape=[N, d]); None estimates them.

    Returns:
        :class:`GenerationResult`.
    """
    import tensorflow as tf

    from geokeras.ot.params import GenerateSpec
    from geokeras.ot.sources import Source, make_source

    if params is None:
        params = GenerateSpec()
    elif not isinstance(params, GenerateSpec):
        from geokeras.validation import validate_model

        params = validate_model(GenerateSpec, dict(params))
    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim != 2:
        raise ValueError(f"Expected targets of shape [N, d]. Received: shape={list(targets.shape)}.")
    count, dim = targets.shape
    heights = np.asarray(heights, dtype=np.float32)
    if heights.shape != (count,):
        raise ValueError(f"Expected heights of shape [{count}]. Received: shape={list(heights.shape)}.")
    if not isinstance(source, Source):
        with located_under("source"):
            source = make_source(source, dim)
    n = int(samples if samples is not None else params.samples)
    started = time.perf_counter()
    if centres is None:
        centres, _ = mass_centres(source, targets, heights, params.centre_samples_per_cell * count, seed)
    top_k = params.top_k if params.top_k is not None else dim
    extended = ExtendedMap(
        targets,
        heights,
        centres,
        interpolation=params.interpolation,
        angle_threshold=params.angle_threshold,
        top_k=top_k,
        normalisation=CodeNormalisation.fit(targets, enabled=params.normalise_codes),
    )
    x = source.sample(n, seed=seed, step=0)
    parts: dict[str, list[np.ndarray]] = {"codes": [], "top": [], "weights": [], "refused": [], "angles": []}
    for start in range(0, n, params.batch_size):
        mapped = extended(x[start : start + params.batch_size])
        for key in parts:
            parts[key].append(mapped[key].numpy())
    joined = {key: np.concatenate(value, axis=0) for key, value in parts.items()}
    codes = joined["codes"]
    decoded = None
    if decoder is not None:
        decoded = np.asarray(decoder.predict(tf.constant(codes), batch_size=params.batch_size, verbose=0))
    interpolated = np.any(joined["weights"][:, 1:] > 0.0, axis=1)
    refused = joined["refused"]
    angles = joined["angles"]
    quantiles = {f"q{int(q * 100)}": float(np.quantile(angles, q)) for q in (0.5, 0.9, 0.99)} if angles.size else {}
    return GenerationResult(
        codes=codes,
        samples=decoded,
        source_samples=x.numpy(),
        top_cells=joined["top"].astype(np.int64),
        interpolated=interpolated,
        refused=np.any(refused, axis=1) if refused.size else np.zeros(n, bool),
        refused_share=float(np.mean(np.any(refused, axis=1))) if refused.size else 0.0,
        refused_pair_share=float(np.mean(refused)) if refused.size else 0.0,
        interpolated_share=float(np.mean(interpolated)),
        angle_quantiles=quantiles,
        seconds=time.perf_counter() - started,
    )
