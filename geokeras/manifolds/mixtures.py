"""Multi-modal data: a mixture of k isotropic Gaussians in R^n (``type: gaussian_mixture``).

The measure is mu = sum_j w_j N(c_j, std^2 I_n). It is not a manifold in the strict sense (its
support is all of R^n) but the standard multi-modal test of generative models: 8 Gaussians on
a circle and 25 on a grid (Srivastava et al. 2017, VEEGAN; An et al. 2020, AE-OT). A
continuous generator from a connected latent space must either drop modes or put mass in the
gaps between them (Lei et al. 2018, section 5; Figalli's regularity theory); the ground truth
here makes both measurable:

* parameters shape=[n, 1 + n_dim]: the mode index j (as a float) and the standardised offset
  z ~ N(0, I_n), so a sample is x = c_j + std * z and ``points_at(parameters)`` reproduces it;
* :meth:`GaussianMixture.mode_of` assigns points to the nearest centre and says how far they
  are, in units of std; :meth:`GaussianMixture.off_mode_radius` is the radius holding a given
  share q of one Gaussian's mass, std * sqrt(chi2_n^{-1}(q)), the ground-truth rule for
  "off the data" used by the ``generation`` evaluator.

``measure: volume`` and ``parameter`` both mean the mixture measure; noise is isotropic only.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from geokeras.manifolds.base import Manifold
from geokeras.manifolds.capabilities import KnownModes
from geokeras.manifolds.params import GaussianMixtureParams


class GaussianMixture(Manifold, KnownModes):
    """k Gaussians N(c_j, std^2 I_n) with weights w_j (module docstring)."""

    params_type = GaussianMixtureParams
    smooth_parameterisation: ClassVar[bool] = False  # the mode index is discrete

    # ----------------------------------------------------------------- shape
    @property
    def intrinsic_dim(self) -> int:  # type: ignore[override]
        """n: each Gaussian fills R^n."""
        return int(self.params.dim)

    @property
    def natural_dim(self) -> int:  # type: ignore[override]
        return int(self.params.dim)

    @property
    def parameter_dim(self) -> int:
        return 1 + int(self.params.dim)

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("mode",) + tuple(f"z_{axis}" for axis in range(1, int(self.params.dim) + 1))

    @property
    def mode_count(self) -> int:
        """k, the number of Gaussians."""
        return self.params.mode_count

    @property
    def std(self) -> float:
        return float(self.params.std)

    @property
    def centers(self) -> np.ndarray:
        """The centres c_j in the natural space R^n, shape=[k, n], float64."""
        params = self.params
        k, dim = self.mode_count, int(params.dim)
        centers = np.zeros((k, dim))
        if params.layout == "circle":
            angles = 2.0 * np.pi * np.arange(k) / k
            centers[:, 0] = params.radius * np.cos(angles)
            centers[:, 1] = params.radius * np.sin(angles)
        elif params.layout == "grid":
            side = int(params.grid_size)
            offsets = (np.arange(side) - (side - 1) / 2.0) * params.spacing
            centers[:, 0] = np.repeat(offsets, side)
            centers[:, 1] = np.tile(offsets, side)
        else:
            centers[:] = np.asarray(params.centers, dtype=np.float64)
        return centers

    @property
    def weights(self) -> np.ndarray:
        """The mixture weights w_j (sum 1), shape=[k]."""
        raw = np.ones(self.mode_count) if self.params.weights is None else np.asarray(self.params.weights, float)
        return raw / raw.sum()

    @property
    def ambient_centers(self) -> np.ndarray:
        """The centres after the embedding, shape=[k, ambient_dim]."""
        return self.embed_natural_points(self.centers)

    # ----------------------------------------------------------------- sampling
    def _sample_parameters(self, n: int, rng: np.random.Generator) -> np.ndarray:
        modes = rng.choice(self.mode_count, size=n, p=self.weights)
        offsets = rng.standard_normal((n, self.natural_dim))
        return np.concatenate([modes[:, None].astype(np.float64), offsets], axis=1)

    def _embed_natural(self, parameters: np.ndarray) -> np.ndarray:
        parameters = np.asarray(parameters, dtype=np.float64)
        column = parameters[:, 0]
        modes = column.astype(np.int64)
        if np.any(modes != column) or np.any(modes < 0) or np.any(modes >= self.mode_count):
            raise ValueError(
                f"Expected mode indices (parameters[:, 0]) that are integers in [0, {self.mode_count - 1}]. "
                f"Received values in [{float(column.min())!r}, {float(column.max())!r}]."
            )
        return self.centers[modes] + self.std * parameters[:, 1:]

    # ----------------------------------------------------------------- ground truth
    def mode_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest centre of each point and the distance to it, in the natural space.

        Args:
            points: shape=[n, ambient_dim], e.g. decoded generated samples.

        Returns:
            ``(modes, distances)``: int64 shape=[n] in [0, k), float64 shape=[n]. Points are
            first mapped back to the natural space (the inverse of the embedding, a projection
            for points off the embedded subspace), where the centres live.
        """
        natural = self.natural_coordinates(np.asarray(points, dtype=np.float64).reshape(len(points), -1))
        centers = self.centers
        # |x - c|^2 = |x|^2 - 2 <x, c> + |c|^2; k is small, so one [n, k] matrix is fine.
        squared = (
            np.sum(natural**2, axis=1, keepdims=True) - 2.0 * natural @ centers.T + np.sum(centers**2, axis=1)[None, :]
        )
        modes = np.argmin(squared, axis=1)
        distances = np.sqrt(np.maximum(squared[np.arange(len(natural)), modes], 0.0))
        return modes.astype(np.int64), distances

    def off_mode_radius(self, quantile: float) -> float:
        """The radius holding ``quantile`` of one Gaussian's mass: std * sqrt(chi2_n^{-1}(q)).

        |x - c_j| / std of a sample of mode j is chi-distributed with n degrees of freedom.
        """
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"Expected a quantile in (0, 1). Received: quantile={quantile!r}.")
        from scipy.stats import chi2

        return self.std * float(np.sqrt(chi2.ppf(quantile, self.natural_dim)))
