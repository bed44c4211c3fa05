"""Source measures mu of semi-discrete optimal transport (spec key ``latent_ot.source``).

Every source is the image of the uniform measure on the unit cube (0, 1)^k under a fixed map
``from_uniform``, so one stream of uniforms -- scrambled Sobol points (quasi-random,
:mod:`geokeras.ot.quasi_random`) or stateless pseudo-random draws -- serves every source:

* ``uniform_cube`` {low, high}: x = low + (high - low) u, k = d (the AE-OT code uses
  [-1/2, 1/2]^d, the default);
* ``gaussian`` {std}: x = std * Phi^-1(u) coordinatewise, k = d (Phi: the standard normal CDF);
* ``uniform_ball`` {radius}: direction z / |z| with z = Phi^-1(u_1..d), radius
  R u_{d+1}^(1/d), k = d + 1 (the radial CDF of the uniform ball is (r / R)^d).

Pseudo-random sampling draws the same uniforms with ``tf.random.stateless_uniform`` and maps
them the same way; for ``uniform_cube`` and ``gaussian`` this is exactly sampling the
TensorFlow Probability distribution (:meth:`Source.distribution`) by inverse CDF, which is also
what ``log_prob`` uses. Inside a solver, :meth:`Source.sample_graph` draws a tile of points from
a stateless key, on any device and inside ``tf.function``.

Seeds: ``sample(n, seed, step)`` is a pure function of (seed, step): the same arguments give the
same points, a new ``step`` a new, independent scramble (or pseudo-random stream).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, Optional, Union

import numpy as np

from geokeras.ot.params import (
    GaussianSourceParams,
    OTSourceParams,
    UniformBallSourceParams,
    UniformCubeSourceParams,
)
from geokeras.registry import OT_SOURCES

__all__ = ["Gaussian", "Source", "UniformBall", "UniformCube", "make_source"]

DEFAULT_SOURCE = "uniform_cube"
"""The source of a mapping without ``type`` and of ``None``."""

_SQRT2 = math.sqrt(2.0)


def make_source(params: Union[OTSourceParams, Mapping[str, Any], str, None], dim: int) -> "Source":
    """Build the source measure of dimension ``dim`` that ``params`` describes.

    Args:
        params: a source parameter model (``UniformCubeSourceParams(...)``), a mapping as a spec
            holds it (``{"type": "uniform_cube", "low": 0, "high": 1}``; ``type`` defaults to
            ``uniform_cube``), a type name (``"gaussian"``), or ``None`` (the default source).
        dim: the dimension d of the latent codes (a positive integer).

    Raises:
        SpecError: unknown type or keys, invalid values (key paths relative to the source's
            keys, e.g. ``("low",)``).
        ValueError: ``dim`` is not a positive integer.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"Expected a positive integer latent dimension. Received: dim={dim!r}.")
    return OT_SOURCES.build(params, int(dim), default=DEFAULT_SOURCE)


class Source(abc.ABC):
    """A continuous probability measure mu on R^d, sampled through uniforms on (0, 1)^k.

    Attributes:
        params: the parameter model.
        dim: d, the dimension of the samples.
        uniform_dim: k, the number of uniforms one sample consumes.
        quasi_random: whether samples are scrambled Sobol points.
    """

    uniform_dim_extra = 0

    def __init__(self, params: OTSourceParams, dim: int):
        self.params = params
        self.dim = int(dim)
        self.uniform_dim = self.dim + self.uniform_dim_extra
        self.quasi_random = params.sampling == "quasi_random"

    # ---------------------------------------------------------------- to override
    @abc.abstractmethod
    def from_uniform(self, u: Any) -> Any:
        """Map uniforms u, shape=[n, uniform_dim] in (0, 1), to samples, shape=[n, dim] (TF)."""

    def box(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """``(low, high)`` (each shape=[dim]) of the support's bounding box, or None if unbounded."""
        return None

    @abc.abstractmethod
    def coordinate_std(self) -> float:
        """The standard deviation of one coordinate of a sample (the same for every coordinate)."""

    @abc.abstractmethod
    def log_prob(self, x: Any) -> Any:
        """Log density of mu at x (shape=[n, dim]) -> shape=[n], float32 (-inf off the support)."""

    # ---------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int, step: int = 0) -> Any:
        """``n`` samples of mu, shape=[n, dim], float32 (a tf.Tensor).

        Quasi-random: the first ``n`` points (natural order) of the Sobol scramble keyed by
        (seed, step), in blocks of 2^23 points with a new scramble per block. Pseudo-random:
        stateless uniform draws keyed by (seed, step). Deterministic in (n, seed, step).
        """
        import tensorflow as tf

        from geokeras.ot.quasi_random import POINTS_PER_SCRAMBLE, seed_pair, stream_key

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"Expected a positive integer sample count. Received: n={n!r}.")
        key = stream_key(tf.constant(seed_pair(seed, 0)), int(step))
        blocks = []
        for block, start in enumerate(range(0, int(n), POINTS_PER_SCRAMBLE)):
            count = min(POINTS_PER_SCRAMBLE, int(n) - start)
            blocks.append(self.sample_graph(count, stream_key(key, block)))
        return blocks[0] if len(blocks) == 1 else tf.concat(blocks, axis=0)

    def sample_graph(self, n: int, key: Any, offset: Any = 0) -> Any:
        """Graph-safe draw of ``n`` samples (static ``n``) from a stateless ``key`` (shape=[2]).

        Quasi-random: the points with natural-order indices offset .. offset + n - 1 of the
        scramble of ``key`` (``offset + n <= 2^23``); tiles of one step share a key and differ
        in ``offset``, so together they are one net. Pseudo-random: ``offset`` is folded into
        the key. Returns shape=[n, dim], float32.
        """
        return self.from_uniform(self.uniforms(n, key, offset))

    def stream(self, key: Any, tile: int) -> Any:
        """Prepare to draw aligned tiles of ``tile`` points (a power of two) from ``key``.

        Quasi-random: the scrambled net of ``key`` with its first tile computed once
        (:class:`geokeras.ot.quasi_random.DigitalNet`); then each tile costs one XOR.
        Pseudo-random: just the key. Use with :meth:`tile_points`.
        """
        from geokeras.ot import quasi_random as qr

        if self.quasi_random:
            return qr.digital_net(self.uniform_dim, key, tile)
        return (key, int(tile))

    def tile_points(self, stream: Any, tile_index: Any, shift_key: Any = None) -> Any:
        """Tile ``tile_index`` of a :meth:`stream`: shape=[tile, dim], float32.

        ``shift_key`` re-randomises the tile: quasi-random, a random digital shift of the net
        keyed by it (each point stays uniform, the tile stays a net); pseudo-random, fresh
        draws keyed by it. Tiles of one (stream, shift_key) are disjoint parts of one net.
        """
        import tensorflow as tf

        from geokeras.ot import quasi_random as qr

        if self.quasi_random:
            shift = None if shift_key is None else qr.random_shift(self.uniform_dim, shift_key)
            return self.from_uniform(qr.net_tile(stream, tile_index, shift))
        key, tile = stream
        key = key if shift_key is None else qr.stream_key(key, shift_key[0], shift_key[1])
        u = tf.random.stateless_uniform(
            [tile, self.uniform_dim], seed=qr.stream_key(key, tile_index), minval=2.0**-25, maxval=1.0
        )
        return self.from_uniform(u)

    def uniforms(self, n: int, key: Any, offset: Any = 0) -> Any:
        """The uniforms behind :meth:`sample_graph`, shape=[n, uniform_dim], float32 in (0, 1)."""
        import tensorflow as tf

        from geokeras.ot import quasi_random as qr

        if self.quasi_random:
            numbers, shift = qr.scramble(tf.constant(qr.sobol_direction_numbers(self.uniform_dim)), key)
            indices = tf.range(n, dtype=tf.int32) + tf.cast(offset, tf.int32)
            return qr.digital_points(indices, numbers, shift)
        tile_key = qr.stream_key(key, offset)
        # minval = 2^-25 keeps u strictly inside (0, 1) for the inverse CDF.
        return tf.random.stateless_uniform([n, self.uniform_dim], seed=tile_key, minval=2.0**-25, maxval=1.0)

    def mean(self) -> np.ndarray:
        """The mean of mu, shape=[dim] (the centre of symmetry of every shipped source)."""
        return np.zeros(self.dim)

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump().items() if k != "type")
        return f"{type(self).__name__}(dim={self.dim}, {keys})"


def _standard_normal_quantile(u: Any) -> Any:
    import tensorflow as tf

    return _SQRT2 * tf.math.erfinv(2.0 * u - 1.0)


def _log_prob(distribution: Any, x: Any) -> Any:
    """A TensorFlow Probability distribution's log density at x (shape=[n, dim]), float32."""
    import tensorflow as tf

    return distribution.log_prob(tf.convert_to_tensor(x, tf.float32))


class UniformCube(Source):
    """The uniform measure on [low, high]^d; density (high - low)^-d."""

    params: UniformCubeSourceParams

    def from_uniform(self, u: Any) -> Any:
        low, high = float(self.params.low), float(self.params.high)
        return low + (high - low) * u

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        return np.full(self.dim, float(self.params.low)), np.full(self.dim, float(self.params.high))

    def coordinate_std(self) -> float:
        return (self.params.high - self.params.low) / math.sqrt(12.0)

    def mean(self) -> np.ndarray:
        return np.full(self.dim, 0.5 * (self.params.low + self.params.high))

    def log_prob(self, x: Any) -> Any:
        import tensorflow_probability as tfp

        tfd = tfp.distributions
        uniform = tfd.Uniform(low=[float(self.params.low)] * self.dim, high=[float(self.params.high)] * self.dim)
        return _log_prob(tfd.Independent(uniform, reinterpreted_batch_ndims=1), x)


class Gaussian(Source):
    """The isotropic Gaussian N(0, std^2 I_d)."""

    params: GaussianSourceParams

    def from_uniform(self, u: Any) -> Any:
        return float(self.params.std) * _standard_normal_quantile(u)

    def coordinate_std(self) -> float:
        return float(self.params.std)

    def log_prob(self, x: Any) -> Any:
        import tensorflow_probability as tfp

        return _log_prob(tfp.distributions.MultivariateNormalDiag(scale_diag=[float(self.params.std)] * self.dim), x)


class UniformBall(Source):
    """The uniform measure on the ball |x| <= radius in R^d.

    Sample: x = R u^(1/d) z / |z| with z standard normal in R^d and u uniform (Muller 1959):
    the direction is uniform on the sphere, P(|x| <= r) = (r / R)^d. Density 1 / vol(B_R),
    vol(B_R) = pi^(d/2) R^d / Gamma(d/2 + 1); coordinate variance R^2 / (d + 2).
    """

    params: UniformBallSourceParams
    uniform_dim_extra = 1

    def from_uniform(self, u: Any) -> Any:
        import tensorflow as tf

        z = _standard_normal_quantile(u[:, : self.dim])
        norm = tf.maximum(tf.norm(z, axis=1, keepdims=True), 1e-30)
        radius = float(self.params.radius) * tf.pow(u[:, self.dim :], 1.0 / self.dim)
        return z / norm * radius

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        r = float(self.params.radius)
        return np.full(self.dim, -r), np.full(self.dim, r)

    def coordinate_std(self) -> float:
        return float(self.params.radius) / math.sqrt(self.dim + 2.0)

    def log_volume(self) -> float:
        d = self.dim
        return 0.5 * d * math.log(math.pi) + d * math.log(self.params.radius) - math.lgamma(0.5 * d + 1.0)

    def log_prob(self, x: Any) -> Any:
        import tensorflow as tf

        x = tf.convert_to_tensor(x, tf.float32)
        inside = tf.norm(x, axis=1) <= float(self.params.radius)
        return tf.where(inside, tf.constant(-self.log_volume(), tf.float32), tf.constant(-math.inf, tf.float32))
