"""The abstract :class:`Manifold`: samples with a measure, an embedding and noise.

A manifold Σ of intrinsic dimension m is given by a parameterisation
``_embed_natural: parameters (shape=[n, p]) -> points (shape=[n, natural_dim])`` into its
*natural* space R^natural_dim (R^2 for a plane curve, R^3 for a sphere, R^64 for 8x8
images). Usually p = m; a data set's parameters are (label, index) and its m is unknown.
Sampling composes three stages, each seeded:

1. parameters drawn under the spec's ``measure``: ``volume`` (uniform with respect to the
   Riemannian measure, i.e. arc length or area) and ``parameter`` (uniform in the parameter
   of the defining map) by the subclass's :meth:`Manifold._sample_parameters`; a density
   ``{type: von_mises_fisher | bump_mixture, ...}`` by rejection from the volume measure,
   for every manifold alike (:mod:`geokeras.manifolds.measures`);
2. the embedding into R^D (:mod:`geokeras.manifolds.embeddings`): ``isometric``, x -> x F
   with F F^T = I, so |x F - y F| = |x - y|; or ``nonlinear``, that lift followed by a
   seeded smooth warp that is a diffeomorphism of R^D;
3. the noise (:mod:`geokeras.manifolds.noise`): Gaussian, isotropic or normal to the
   manifold, and outliers uniform in the data's enlarged bounding box.

The design follows geomstats (``intrinsic_dim``, ``sample``, ground truth where known) and
scikit-learn (no work in ``__init__`` beyond validation, every random thing takes a seed).
Subclasses add ground truth: curves offer the exact ``polyline`` and ``length``
(see :mod:`geokeras.manifolds.curves`); surfaces offer meshes.
"""

from __future__ import annotations

import abc
import copy
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.capabilities import ExactCurve
from geokeras.manifolds.params import ManifoldParams
from geokeras.registry import EMBEDDINGS, NOISES


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a Python int >= ``minimum``, or a ValueError naming received vs expected."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"Received an invalid value for `{name}`: expected an integer >= {minimum}. "
            f"Received: {name}={value!r} of type {type(value).__name__}."
        )
    if int(value) < minimum:
        raise ValueError(
            f"Received an invalid value for `{name}`: expected an integer >= {minimum}. Received: {name}={value!r}."
        )
    return int(value)


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative Python int (numpy's SeedSequence takes any size)."""
    return check_count("seed", seed, minimum=0)


def seeded_generator(seed: int, stream: int = 0) -> np.random.Generator:
    """A ``Generator(PCG64)`` for one independent ``stream`` of the seed ``seed``.

    Streams are ``SeedSequence(seed).spawn(...)`` children, so the parameters of a sample do
    not change when only the noise level changes, and the streams never overlap.
    """
    children = np.random.SeedSequence(check_seed(seed)).spawn(stream + 1)
    return np.random.Generator(np.random.PCG64(children[stream]))


_PARAMETER_STREAM = 0
_NOISE_STREAM = 1
_OUTLIER_STREAM = 2

_FINITE_DIFFERENCE_STEP = float(np.finfo(np.float64).eps ** (1.0 / 3.0))
"""eps^(1/3) ~ 6e-6: the step (relative to max(1, |t|)) balancing the O(h^2) truncation
and O(eps / h) rounding errors of a central difference."""


@dataclass(frozen=True)
class ManifoldSample:
    """Everything one draw of :meth:`Manifold.draw` produced.

    Attributes:
        points: the samples as training data: shape=[n, *sample_shape] (shape=[n,
            ambient_dim] except for images kept as [H, W, C]), embedded, with noise.
        parameters: shape=[n, parameter_dim], the parameters of the clean points (for an
            outlier: those of the sample it replaced).
        clean: the embedded points before any noise, same shape as ``points``.
        outliers: shape=[n], bool: True where ``noise: {type: outliers}`` replaced a sample.
    """

    points: np.ndarray
    parameters: np.ndarray
    clean: np.ndarray
    outliers: np.ndarray


class Manifold(abc.ABC):
    """A manifold with a measure, embedded into R^D, with optional noise.

    Args:
        params: the manifold's parameter model (the ``manifold:`` spec section); ``None``
            uses that model's defaults.
        embedding_seed: seeds the random orthonormal frame (and the warp) of the embedding.
            ``None`` (default) derives it from the dimensions alone, ``SeedSequence([natural_dim,
            ambient_dim])``: every manifold with the same natural and ambient dimension gets
            the same frame, in every run, so sweeps over shape parameters stay comparable.

    Subclasses set ``params_type``, ``natural_dim`` and ``intrinsic_dim`` and implement
    :meth:`_sample_parameters` and :meth:`_embed_natural`. Optional: ``parameter_names``,
    :meth:`tangent_vectors` (exact tangents; the default differentiates ``_embed_natural``
    numerically), ``smooth_parameterisation = False`` when ``_embed_natural`` is not a smooth
    function of the parameters (no tangent space from it), ``analytic = False`` for data.

    Raises:
        SpecError: at ``embed.ambient_dim`` when D < natural_dim, at
            ``measure`` when a density does not apply to this manifold, at
            ``noise.direction`` when normal noise is asked of a manifold without a
            tangent space, or at ``manifold`` when ``params`` is of the wrong type.
    """

    params_type: ClassVar[type[ManifoldParams]] = ManifoldParams
    natural_dim: ClassVar[int]
    """Dimension of the manifold's own space, before the embedding."""
    intrinsic_dim: ClassVar[Optional[int]]
    """Dimension m of the manifold (1 for curves, 2 for surfaces); ``None`` when unknown
    (a data set: estimate it with the ``manifold_stats`` evaluator)."""
    parameter_names: ClassVar[tuple[str, ...]] = ()
    """Names of the columns of the parameters (used to label figures)."""
    smooth_parameterisation: ClassVar[bool] = True
    """True when ``_embed_natural`` is smooth in the parameters, so that its derivatives span
    the tangent space (needed by ``noise: {direction: normal}``)."""
    analytic: ClassVar[bool] = True
    """True for a manifold defined by formulas (benchmarked by scripts/bench_manifolds.py);
    False for data loaded from files (meshes, image data sets)."""

    def __init__(self, params: Optional[ManifoldParams] = None, *, embedding_seed: Optional[int] = None):
        if params is None:
            params = self.params_type()
        if not isinstance(params, self.params_type):
            raise SpecError(
                f"expected a {self.params_type.__name__} for {type(self).__name__}. Received: {type(params).__name__}.",
                (),
            )
        self._params = params
        self._embedding_seed = None if embedding_seed is None else check_seed(embedding_seed)
        self._embedding = EMBEDDINGS[params.embed.type].load()(
            params.embed, self.natural_dim, seed=self._embedding_seed, manifold_type=params.type
        )
        self._ambient_dim = int(self._embedding.ambient_dim)
        self._noise = NOISES[params.noise.type].load()(params.noise)
        if self._noise.needs_tangents and not self.has_tangent_space:
            raise SpecError(
                f"expected direction: isotropic for manifold type {params.type!r}: normal noise "
                f"needs the manifold's tangent space, which a {params.type} does not provide. "
                f"Received: direction={params.noise.direction!r}.",
                ("noise", "direction"),
            )
        self._density: Any = None
        if not isinstance(params.measure, str):
            from geokeras.manifolds.measures import make_density

            self._density = make_density(params.measure, self)
        self._volume_view: Optional["Manifold"] = None

    # ----------------------------------------------------------------- properties
    @property
    def params(self) -> ManifoldParams:
        """The parameter model this manifold was built from."""
        return self._params

    @property
    def ambient_dim(self) -> int:
        """Dimension D of the ambient space after the embedding (``embed.ambient_dim``)."""
        return self._ambient_dim

    @property
    def parameter_dim(self) -> int:
        """p, the number of columns of the parameters (= intrinsic_dim unless overridden)."""
        if self.intrinsic_dim is None:
            raise NotImplementedError(f"{type(self).__name__} must define parameter_dim.")
        return int(self.intrinsic_dim)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: ``(ambient_dim,)``; ``(H, W, C)`` for images kept as images."""
        return (self._ambient_dim,)

    @property
    def image_shape(self) -> Optional[tuple[int, int, int]]:
        """(H, W, C) when every sample is an image (figures show a grid), else ``None``."""
        return None

    @property
    def has_tangent_space(self) -> bool:
        """True when :meth:`tangent_vectors` is available (normal noise can be used)."""
        return self.smooth_parameterisation and self.intrinsic_dim is not None

    @property
    def density(self) -> Any:
        """The :class:`~geokeras.manifolds.measures.Density` of ``measure``, or ``None``."""
        return self._density

    @property
    def embedding(self) -> Any:
        """The embedding into R^D (an ``IsometricEmbedding`` or ``NonlinearEmbedding``)."""
        return self._embedding

    @property
    def noise(self) -> Any:
        """The noise model (a ``GaussianNoise`` or ``OutlierNoise``)."""
        return self._noise

    @property
    def embedding_frame(self) -> np.ndarray:
        """The frame F of the isometric lift, shape=[natural_dim, ambient_dim].

        Its rows are orthonormal (F F^T = I): a point x of the natural space lifts to x F,
        and x F F^T = x recovers it. F is the identity when D = natural_dim (so figures show
        the manifold as defined). Otherwise F = Q^T, Q the Q factor of the QR decomposition
        of a [D, natural_dim] standard Gaussian matrix, columns' signs fixed by sign(diag R),
        which makes F Haar-distributed on the Stiefel manifold (Mezzadri 2007).
        """
        return self._embedding.frame

    # ----------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` points drawn from the manifold's measure, shape=[n, *sample_shape], float64."""
        return self.draw(n, seed).points

    def sample_with_parameters(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points and their parameters (e.g. theta of a spiral, to colour plots).

        Returns:
            ``(points, parameters)``: ``points`` shape=[n, *sample_shape] (embedded, with
            noise), ``parameters`` shape=[n, parameter_dim], both float64. Without noise,
            ``points == self.points_at(parameters)`` (reshaped).
        """
        drawn = self.draw(n, seed)
        return drawn.points, drawn.parameters

    def with_noise(self, noise: Any) -> "Manifold":
        """The same manifold (parameters, measure, embedding frame) with another ``noise:`` model.

        ``noise``: a noise parameter model or mapping (the schema of the spec's ``manifold.noise``).
        ``with_noise(n).draw(k, seed)`` has the same clean points as ``draw(k, seed)``.
        """
        from geokeras.manifolds import make

        mapping = self._params.model_dump()
        mapping["noise"] = noise.model_dump() if hasattr(noise, "model_dump") else dict(noise)
        return make(mapping, embedding_seed=self._embedding_seed)

    def draw(self, n: int, seed: int) -> ManifoldSample:
        """``n`` samples with their parameters, clean points and outlier mask.

        Streams of ``seed``: 0 the parameters, 1 the Gaussian noise, 2 the outliers; so the
        parameters do not depend on the noise, and the Gaussian noise not on the outliers.
        """
        n = check_count("n", n)
        seed = check_seed(seed)
        parameters, natural = self._draw_natural(n, seeded_generator(seed, _PARAMETER_STREAM))
        clean = self._embedding.apply(natural)
        if self._noise.is_zero:
            points, outliers = clean, np.zeros(n, dtype=bool)
        else:
            noisy = self._noise.perturb(
                clean,
                lambda: self.ambient_tangent_vectors(parameters),
                seeded_generator(seed, _NOISE_STREAM),
                seeded_generator(seed, _OUTLIER_STREAM),
            )
            points, outliers = noisy.points, noisy.outliers
        shape = (n, *self.sample_shape)
        return ManifoldSample(points.reshape(shape), parameters, clean.reshape(shape), outliers)

    def _draw_natural(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(parameters shape=[n, p], natural points shape=[n, natural_dim]) under ``measure``."""
        if self._density is None:
            return self._parameters_and_points(self, n, rng)
        from geokeras.manifolds.measures import rejection_sample

        volume = self._volume_measure_view()
        return rejection_sample(
            lambda count, generator: self._parameters_and_points(volume, count, generator),
            self._density,
            n,
            rng,
        )

    def _parameters_and_points(
        self, source: "Manifold", n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        parameters = np.asarray(source._sample_parameters(n, rng), dtype=np.float64).reshape(n, self.parameter_dim)
        natural = np.asarray(self._embed_natural(parameters), dtype=np.float64)
        return parameters, natural

    def _volume_measure_view(self) -> "Manifold":
        """This manifold with ``measure: volume``: the proposal of the rejection sampler.

        A shallow copy whose ``params`` say ``measure: volume``, so that every subclass's own
        ``_sample_parameters`` (which reads ``self.params.measure``) draws from the volume
        measure, without knowing about densities.
        """
        if self._volume_view is None:
            view = copy.copy(self)
            view._params = self._params.model_copy(update={"measure": "volume"})
            view._density = None
            self._volume_view = view
        return self._volume_view

    # ----------------------------------------------------------------- geometry
    def points_at(self, parameters: np.ndarray) -> np.ndarray:
        """Exact embedded points (no noise) of ``parameters`` shape=[n, parameter_dim].

        Returns:
            shape=[n, ambient_dim], float64.
        """
        parameters = self._checked_parameters(parameters)
        natural = np.asarray(self._embed_natural(parameters), dtype=np.float64)
        return self.embed_natural_points(natural)

    def _checked_parameters(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        dim = self.parameter_dim
        if parameters.ndim == 1 and dim == 1:
            parameters = parameters[:, None]
        if parameters.ndim != 2 or parameters.shape[1] != dim:
            raise ValueError(f"Expected parameters of shape [n, {dim}]. Received: shape={list(parameters.shape)}.")
        return parameters

    def embed_natural_points(self, natural: np.ndarray) -> np.ndarray:
        """Map points of the natural space (shape=[n, natural_dim]) into R^D (the embedding)."""
        natural = np.asarray(natural, dtype=np.float64)
        if natural.ndim != 2 or natural.shape[1] != self.natural_dim:
            raise ValueError(
                f"Expected points of shape [n, {self.natural_dim}]. Received: shape={list(natural.shape)}."
            )
        return self._embedding.apply(natural)

    def natural_coordinates(self, points: np.ndarray) -> np.ndarray:
        """Inverse of the embedding on its image, shape=[n, natural_dim].

        Isometric: y -> y F^T (for a point off the embedded space, its orthogonal
        projection's preimage). Nonlinear: the warp inverted first (a contraction iteration).
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self._ambient_dim:
            raise ValueError(
                f"Expected points of shape [n, {self._ambient_dim}]. Received: shape={list(points.shape)}."
            )
        return self._embedding.invert(points)

    def tangent_vectors(self, parameters: np.ndarray) -> np.ndarray:
        """Tangent vectors d x / d t_j of the natural parameterisation, shape=[n, m, natural_dim].

        The default differentiates :meth:`_embed_natural` by central differences with step
        h_j = eps^(1/3) max(1, |t_j|) (error O(h^2), about 1e-11 relative for smooth maps);
        for a curve with a ``parameter_interval``, a second-order one-sided difference where
        t +- h would leave it. Subclasses with a closed-form derivative override this.

        Raises:
            SpecError: at ``noise.direction`` when the manifold has no tangent
                space (a data set, or a parameterisation that is not smooth).
        """
        if not self.has_tangent_space:
            raise SpecError(
                f"manifold type {self._params.type!r} has no tangent space (it is not given by "
                f"a smooth parameterisation). Expected direction: isotropic.",
                ("noise", "direction"),
            )
        parameters = self._checked_parameters(parameters)
        n, dim = parameters.shape
        interval = self.parameter_interval if dim == 1 and isinstance(self, ExactCurve) else None
        tangents = np.empty((n, dim, self.natural_dim))
        for j in range(dim):  # a loop over the m parameter coordinates, not over samples
            step = _FINITE_DIFFERENCE_STEP * np.maximum(1.0, np.abs(parameters[:, j]))
            offset = np.zeros_like(parameters)
            offset[:, j] = step
            central = (self._embed_natural(parameters + offset) - self._embed_natural(parameters - offset)) / (
                2.0 * step[:, None]
            )
            if interval is not None:
                low, high = float(interval[0]), float(interval[1])
                forward = parameters[:, j] - step < low
                backward = ~forward & (parameters[:, j] + step > high)
                for mask, sign in ((forward, 1.0), (backward, -1.0)):
                    if mask.any():
                        p, h = parameters[mask], step[mask]
                        shift = np.zeros_like(p)
                        shift[:, j] = sign * h
                        one_sided = (
                            -3.0 * self._embed_natural(p)
                            + 4.0 * self._embed_natural(p + shift)
                            - self._embed_natural(p + 2.0 * shift)
                        ) / (2.0 * sign * h[:, None])
                        central[mask] = one_sided
            tangents[:, j, :] = central
        return tangents

    def ambient_tangent_vectors(self, parameters: np.ndarray) -> np.ndarray:
        """Tangent vectors pushed through the embedding, shape=[n, m, ambient_dim]."""
        parameters = self._checked_parameters(parameters)
        natural = np.asarray(self._embed_natural(parameters), dtype=np.float64)
        return self._embedding.push_tangents(natural, self.tangent_vectors(parameters))

    # ----------------------------------------------------------------- tf.data
    def as_dataset(self, n: int, seed: int, batch_size: int, *, targets: bool = False):
        """A ``tf.data.Dataset`` of ``n`` samples in batches of ``batch_size``, float32.

        Elements are batches shape=[batch, *sample_shape] (the last one may be smaller), or
        ``(x, x)`` pairs when ``targets`` is true, ready for ``autoencoder.fit``. The samples
        are the same as ``sample(n, seed)``; the order is the sampling order (the samples are
        i.i.d., so no shuffling is needed for one pass). TensorFlow is imported here only.
        """
        batch_size = check_count("batch_size", batch_size)
        points = self.sample(n, seed).astype(np.float32)
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(points)
        if targets:
            dataset = dataset.map(lambda x: (x, x))
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    # ----------------------------------------------------------------- subclass API
    @abc.abstractmethod
    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` parameters from ``params.measure`` (``volume`` or ``parameter``).

        Densities never reach this method: the base class asks it for ``volume`` samples and
        rejects. Returns shape=[n, parameter_dim] (or [n] for curves), float64.
        """

    @abc.abstractmethod
    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        """The parameterisation: parameters shape=[n, parameter_dim] -> shape=[n, natural_dim]."""

    def __repr__(self) -> str:
        measure = self._params.measure
        measure_text = measure if isinstance(measure, str) else measure.type
        return (
            f"{type(self).__name__}(intrinsic_dim={self.intrinsic_dim}, "
            f"natural_dim={self.natural_dim}, ambient_dim={self.ambient_dim}, "
            f"measure={measure_text!r})"
        )
