"""Noise on manifold samples, in the ambient space R^D (after the embedding).

Two types, registered in :data:`geokeras.registry.NOISES` (parameters in
``params/common.py``); one ``noise:`` per spec:

``gaussian`` {std, direction}
    ``isotropic``: x + std * eps, eps ~ N(0, I_D).
    ``normal``: x + std * P_N(x) eps, P_N(x) = I - Q Q^T the orthogonal projection onto the
    normal space of the embedded manifold at the clean point x, Q shape=[D, m] an
    orthonormal basis of its tangent space (from the manifold's tangent vectors pushed
    through the embedding, orthonormalised by Gram-Schmidt). The noise has variance std^2
    in each of the D - m normal directions and none along the manifold.

``outliers`` {fraction, box_margin, std, direction}
    the Gaussian noise above (when std > 0), then exactly k = round(fraction * n) samples,
    chosen uniformly without replacement, are replaced by points uniform in the bounding
    box [lo - margin (hi - lo), hi + margin (hi - lo)] of the (noisy) samples, lo and hi the
    coordinate-wise minimum and maximum: the contaminated data of a denoising experiment.

Each draw takes explicit ``numpy.random.Generator`` streams, so noise never changes the
manifold parameters of a sample (see :class:`geokeras.manifolds.base.Manifold`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

TangentFunction = Callable[[], np.ndarray]
"""Returns the ambient tangent vectors of the clean points, shape=[n, m, D] (called lazily)."""


@dataclass(frozen=True)
class NoisyPoints:
    """The result of a noise model.

    Attributes:
        points: the noisy samples, shape=[n, D].
        outliers: shape=[n], bool: True where a sample was replaced by an outlier.
    """

    points: np.ndarray
    outliers: np.ndarray


class GaussianNoise:
    """Isotropic or normal Gaussian noise (module docstring). Args: a ``GaussianNoiseParams``."""

    def __init__(self, params: Any):
        self.params = params
        self.std = float(params.std)
        self.direction = str(params.direction)

    @property
    def is_zero(self) -> bool:
        """True when the noise changes nothing."""
        return self.std == 0.0

    @property
    def needs_tangents(self) -> bool:
        """True when the tangent space is needed (``direction: normal`` with std > 0)."""
        return self.direction == "normal" and self.std > 0.0

    def perturb_gaussian(
        self, clean: np.ndarray, tangents: Optional[TangentFunction], rng: np.random.Generator
    ) -> np.ndarray:
        """clean (shape=[n, D]) plus the Gaussian part of the noise; a new array."""
        if self.std == 0.0:
            return clean.copy()
        eps = rng.standard_normal(clean.shape)
        if self.direction == "normal":
            if tangents is None:
                raise ValueError("Normal noise needs the tangent vectors of the samples. Received: None.")
            eps = project_to_normal_space(eps, tangents())
        return clean + self.std * eps

    def perturb(
        self,
        clean: np.ndarray,
        tangents: Optional[TangentFunction],
        rng: np.random.Generator,
        outlier_rng: np.random.Generator,
    ) -> NoisyPoints:
        """The noisy samples of ``clean`` shape=[n, D] (``outlier_rng`` is unused here)."""
        points = self.perturb_gaussian(clean, tangents, rng)
        return NoisyPoints(points, np.zeros(points.shape[0], dtype=bool))


class OutlierNoise(GaussianNoise):
    """Gaussian noise, then round(fraction * n) samples replaced by box-uniform outliers.

    Args: an ``OutlierNoiseParams``.
    """

    def __init__(self, params: Any):
        super().__init__(params)
        self.fraction = float(params.fraction)
        self.box_margin = float(params.box_margin)

    @property
    def is_zero(self) -> bool:
        return self.std == 0.0 and self.fraction == 0.0

    def outlier_count(self, n: int) -> int:
        """k = round(fraction * n), halves rounded up: the exact number of outliers among n."""
        return int(math.floor(self.fraction * n + 0.5))

    def perturb(
        self,
        clean: np.ndarray,
        tangents: Optional[TangentFunction],
        rng: np.random.Generator,
        outlier_rng: np.random.Generator,
    ) -> NoisyPoints:
        points = self.perturb_gaussian(clean, tangents, rng)
        n, dim = points.shape
        mask = np.zeros(n, dtype=bool)
        count = self.outlier_count(n)
        if count == 0:
            return NoisyPoints(points, mask)
        low, high = bounding_box(points, self.box_margin)
        chosen = outlier_rng.choice(n, size=count, replace=False)
        points[chosen] = low + outlier_rng.random((count, dim)) * (high - low)
        mask[chosen] = True
        return NoisyPoints(points, mask)


def bounding_box(points: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo - margin (hi - lo), hi + margin (hi - lo)), lo/hi the coordinate-wise min/max.

    Args:
        points: shape=[n, D].
        margin: >= 0, relative to each side's length.

    Returns:
        two arrays shape=[D].
    """
    low, high = points.min(axis=0), points.max(axis=0)
    extent = high - low
    return low - margin * extent, high + margin * extent


def project_to_normal_space(vectors: np.ndarray, tangents: np.ndarray) -> np.ndarray:
    """P_N v = v - Q Q^T v for each sample: the part of v orthogonal to its tangent space.

    Args:
        vectors: shape=[n, D].
        tangents: shape=[n, m, D], m spanning vectors of each tangent space (any basis).

    Returns:
        shape=[n, D]. Q is built by modified Gram-Schmidt, vectorised over the samples (a loop
        over the m <= D tangent vectors only), each vector orthogonalised twice ("twice is
        enough", Giraud et al. 2005) so that |<P_N v, t>| is at rounding level. A tangent
        vector that is numerically dependent on the previous ones (norm below 1e-12 of its
        original norm, e.g. at a pole of a spherical parameterisation) is skipped.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    tangents = np.asarray(tangents, dtype=np.float64)
    if tangents.ndim != 3 or tangents.shape[0] != vectors.shape[0] or tangents.shape[2] != vectors.shape[1]:
        raise ValueError(
            f"Expected tangents of shape [n, m, D] = [{vectors.shape[0]}, m, {vectors.shape[1]}]. "
            f"Received: shape={list(tangents.shape)}."
        )
    basis: list[np.ndarray] = []
    for index in range(tangents.shape[1]):
        column = tangents[:, index, :].copy()
        original = np.linalg.norm(column, axis=1)
        for _ in range(2):
            for q in basis:
                column -= np.sum(column * q, axis=1, keepdims=True) * q
        norm = np.linalg.norm(column, axis=1)
        keep = norm > 1e-12 * np.maximum(original, np.finfo(np.float64).tiny)
        safe = np.where(keep, norm, 1.0)
        basis.append(np.where(keep[:, None], column / safe[:, None], 0.0))
    projected = vectors.copy()
    for _ in range(2):
        for q in basis:
            projected -= np.sum(projected * q, axis=1, keepdims=True) * q
    return projected
