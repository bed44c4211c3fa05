"""The abstract :class:`Manifold`: samples with a measure, an isometric embedding and noise.

A manifold Σ of intrinsic dimension m is given by a parameterisation
``_embed_natural: parameters (shape=[n, m]) -> points (shape=[n, natural_dim])`` into its
*natural* space R^natural_dim (R^2 for a plane curve, R^3 for a sphere, R^784 for 28x28
images). Sampling composes three stages, each seeded:

1. parameters drawn by :meth:`Manifold._sample_parameters` under the spec's ``measure``
   (``volume``: uniform with respect to the Riemannian measure, i.e. arc length or area;
   ``parameter``: uniform in the parameter of the defining map);
2. the isometric embedding x -> x F into R^D by a random frame F (shape=[natural_dim, D])
   with orthonormal rows, F F^T = I, so |x F - y F| = |x - y| for all points;
3. isotropic Gaussian noise of standard deviation ``noise.std`` per ambient coordinate.

The design follows geomstats (``intrinsic_dim``, ``sample``, ground truth where known) and
scikit-learn (no work in ``__init__`` beyond validation, every random thing takes a seed).
Subclasses add ground truth: curves offer the exact ``polyline`` and ``length``
(see :mod:`geokeras.manifolds.curves`); surfaces will offer meshes.
"""

from __future__ import annotations

import abc
import numbers
from typing import Any, ClassVar, Optional

import numpy as np

from geokeras.errors import SpecError
from geokeras.manifolds.params import ManifoldParams

MANIFOLD_KEY = "manifold"
"""The spec section whose keys :class:`~geokeras.errors.SpecError` paths start with."""


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a Python int >= ``minimum``, or a ValueError naming received vs expected."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"Received an invalid value for `{name}`: expected an integer >= {minimum}. "
            f"Received: {name}={value!r} of type {type(value).__name__}."
        )
    if int(value) < minimum:
        raise ValueError(
            f"Received an invalid value for `{name}`: expected an integer >= {minimum}. "
            f"Received: {name}={value!r}."
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


class Manifold(abc.ABC):
    """A manifold with a measure, embedded isometrically into R^D, with optional noise.

    Args:
        params: the manifold's parameter model (the ``manifold:`` spec section); ``None``
            uses that model's defaults.
        embedding_seed: seeds the random orthonormal frame of the embedding. ``None``
            (default) derives it from the dimensions alone, ``SeedSequence([natural_dim,
            ambient_dim])``: every manifold with the same natural and ambient dimension gets
            the same frame, in every run, so sweeps over shape parameters stay comparable.

    Subclasses set ``params_type``, ``natural_dim`` and ``intrinsic_dim`` and implement
    :meth:`_sample_parameters` and :meth:`_embed_natural`.

    Raises:
        SpecError: at ``manifold.embed.ambient_dim`` when D < natural_dim (no isometric
            embedding exists), or at ``manifold`` when ``params`` is of the wrong type.
    """

    params_type: ClassVar[type[ManifoldParams]] = ManifoldParams
    natural_dim: ClassVar[int]
    """Dimension of the manifold's own space, before the embedding."""
    intrinsic_dim: ClassVar[int]
    """Dimension m of the manifold (1 for curves, 2 for surfaces)."""
    parameter_names: ClassVar[tuple[str, ...]] = ()
    """Names of the columns of the parameters (used to label figures)."""

    def __init__(self, params: Optional[ManifoldParams] = None, *, embedding_seed: Optional[int] = None):
        if params is None:
            params = self.params_type()
        if not isinstance(params, self.params_type):
            raise SpecError(
                f"expected a {self.params_type.__name__} for {type(self).__name__}. "
                f"Received: {type(params).__name__}.",
                (MANIFOLD_KEY,),
            )
        self._params = params
        self._embedding_seed = None if embedding_seed is None else check_seed(embedding_seed)
        embed = params.embed
        if embed.type != "isometric":
            raise SpecError(
                f"expected embed type 'isometric'. Received: {embed.type!r}.",
                (MANIFOLD_KEY, "embed", "type"),
            )
        ambient_dim = self.natural_dim if embed.ambient_dim is None else int(embed.ambient_dim)
        if ambient_dim < self.natural_dim:
            raise SpecError(
                f"expected an ambient dimension of at least {self.natural_dim} (the dimension "
                f"of the space the {params.type} lives in; an isometric embedding cannot "
                f"lower it). Received: ambient_dim={ambient_dim}.",
                (MANIFOLD_KEY, "embed", "ambient_dim"),
            )
        self._ambient_dim = ambient_dim
        self._frame: Optional[np.ndarray] = None

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
    def embedding_frame(self) -> np.ndarray:
        """The frame F of the isometric embedding, shape=[natural_dim, ambient_dim].

        Its rows are orthonormal (F F^T = I): a point x of the natural space maps to x F,
        and x F F^T = x recovers it. F is the identity when D = natural_dim (so figures show
        the manifold as defined). Otherwise F = Q^T, Q the Q factor of the QR decomposition
        of a [D, natural_dim] standard Gaussian matrix, columns' signs fixed by sign(diag R),
        which makes F Haar-distributed on the Stiefel manifold (Mezzadri 2007).
        """
        if self._frame is None:
            natural, ambient = self.natural_dim, self._ambient_dim
            if ambient == natural:
                frame = np.eye(natural)
            else:
                entropy = [natural, ambient]
                if self._embedding_seed is not None:
                    entropy = [self._embedding_seed, *entropy]
                rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
                q, r = np.linalg.qr(rng.standard_normal((ambient, natural)))
                signs = np.where(np.diag(r) < 0.0, -1.0, 1.0)
                frame = (q * signs).T
            frame.setflags(write=False)
            self._frame = frame
        return self._frame

    # ----------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` points drawn from the manifold's measure, shape=[n, ambient_dim], float64."""
        points, _ = self.sample_with_parameters(n, seed)
        return points

    def sample_with_parameters(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points and their parameters (e.g. theta of a spiral, to colour plots).

        Returns:
            ``(points, parameters)``: ``points`` shape=[n, ambient_dim] (embedded, with
            noise), ``parameters`` shape=[n, intrinsic_dim], both float64. Without noise,
            ``points == self.points_at(parameters)``.
        """
        n = check_count("n", n)
        seed = check_seed(seed)
        parameters = np.asarray(
            self._sample_parameters(n, seeded_generator(seed, _PARAMETER_STREAM)), dtype=np.float64
        ).reshape(n, self.intrinsic_dim)
        points = self.points_at(parameters)
        std = float(self._params.noise.std)
        if std > 0.0:
            noise_rng = seeded_generator(seed, _NOISE_STREAM)
            points = points + std * noise_rng.standard_normal(points.shape)
        return points, parameters

    def points_at(self, parameters: np.ndarray) -> np.ndarray:
        """Exact embedded points (no noise) of ``parameters`` shape=[n, intrinsic_dim].

        Returns:
            shape=[n, ambient_dim], float64.
        """
        parameters = np.asarray(parameters, dtype=np.float64)
        if parameters.ndim == 1 and self.intrinsic_dim == 1:
            parameters = parameters[:, None]
        if parameters.ndim != 2 or parameters.shape[1] != self.intrinsic_dim:
            raise ValueError(
                f"Expected parameters of shape [n, {self.intrinsic_dim}]. "
                f"Received: shape={list(parameters.shape)}."
            )
        natural = np.asarray(self._embed_natural(parameters), dtype=np.float64)
        return self.embed_natural_points(natural)

    def embed_natural_points(self, natural: np.ndarray) -> np.ndarray:
        """Map points of the natural space (shape=[n, natural_dim]) into R^D: x -> x F."""
        natural = np.asarray(natural, dtype=np.float64)
        if natural.ndim != 2 or natural.shape[1] != self.natural_dim:
            raise ValueError(
                f"Expected points of shape [n, {self.natural_dim}]. "
                f"Received: shape={list(natural.shape)}."
            )
        if self._ambient_dim == self.natural_dim:
            return natural.copy()
        return natural @ self.embedding_frame

    def natural_coordinates(self, points: np.ndarray) -> np.ndarray:
        """Inverse of the embedding on its image: y -> y F^T, shape=[n, natural_dim].

        For a point off the embedded space this is its orthogonal projection's preimage.
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self._ambient_dim:
            raise ValueError(
                f"Expected points of shape [n, {self._ambient_dim}]. "
                f"Received: shape={list(points.shape)}."
            )
        if self._ambient_dim == self.natural_dim:
            return points.copy()
        return points @ self.embedding_frame.T

    def as_dataset(self, n: int, seed: int, batch_size: int, *, targets: bool = False):
        """A ``tf.data.Dataset`` of ``n`` samples in batches of ``batch_size``, float32.

        Elements are batches shape=[batch, ambient_dim] (the last one may be smaller), or
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

        Returns:
            shape=[n, intrinsic_dim] (or [n] for curves), float64.
        """

    @abc.abstractmethod
    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        """The parameterisation: parameters shape=[n, intrinsic_dim] -> shape=[n, natural_dim]."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(intrinsic_dim={self.intrinsic_dim}, "
            f"natural_dim={self.natural_dim}, ambient_dim={self.ambient_dim}, "
            f"measure={self._params.measure!r})"
        )
