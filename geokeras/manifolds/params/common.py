"""Keys shared by every manifold type: ``samples``, ``measure``, ``noise``, ``embed``.

* ``measure``: ``volume`` (uniform with respect to the Riemannian measure), ``parameter``
  (uniform in the parameter of the defining map), or a density with respect to the volume
  measure, a mapping with a ``type`` from :data:`geokeras.registry.DENSITIES`
  (``von_mises_fisher``, ``bump_mixture``; implemented in ``geokeras/manifolds/measures.py``).
* ``noise``: a type from :data:`geokeras.registry.NOISES` (``gaussian``, ``outliers``;
  implemented in ``geokeras/manifolds/noise.py``).
* ``embed``: a type from :data:`geokeras.registry.EMBEDDINGS` (``isometric``,
  ``nonlinear``; implemented in ``geokeras/manifolds/embeddings.py``).

Nothing here imports numpy's heavy users, TensorFlow, matplotlib or scikit-learn.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import Field, NonNegativeFloat, PositiveFloat, ValidationInfo, field_validator

from geokeras.limits import Dimension, NonNegativeScale, SampleCount, Scale, Width
from geokeras.registry import DENSITIES, EMBEDDINGS, NOISES, SpecModel, union_of

__all__ = [
    "BumpMixtureParams",
    "DistributionParams",
    "DensityParams",
    "EmbeddingParams",
    "GaussianNoiseParams",
    "IsometricEmbeddingParams",
    "ManifoldParams",
    "NoiseDirection",
    "NoiseParams",
    "NonlinearEmbeddingParams",
    "OutlierNoiseParams",
    "VonMisesFisherParams",
]

# ----------------------------------------------------------------------------- densities


@DENSITIES.register("von_mises_fisher", implementation="geokeras.manifolds.measures:VonMisesFisherDensity")
class VonMisesFisherParams(SpecModel):
    """von Mises-Fisher density on a sphere: f(x) ∝ exp(kappa <mu, x / |x|>) w.r.t. area.

    Applies to ``type: sphere`` (S^m in R^{m+1}) and ``type: circle`` (S^1, where it is the
    von Mises distribution of the angle), both centred at the origin.
    """

    type: Literal["von_mises_fisher"] = "von_mises_fisher"
    mean_direction: list[float] = Field(
        min_length=2,
        description="The mean direction mu in R^{m+1} (normalised to unit length); one entry per coordinate "
        "of the sphere's space.",
    )
    concentration: NonNegativeFloat = Field(
        1.0, description="kappa >= 0: 0 is the uniform (area) measure; larger concentrates around mu."
    )

    @field_validator("mean_direction")
    @classmethod
    def _non_zero(cls, value: list[float]) -> list[float]:
        norm = math.sqrt(sum(entry * entry for entry in value))
        if not all(math.isfinite(entry) for entry in value) or norm == 0.0:
            raise ValueError(f"expected a finite, non-zero mean direction. Received: mean_direction={value}.")
        return value

    @classmethod
    def example(cls) -> "VonMisesFisherParams":
        """Concentrated around the north pole of the 2-sphere."""
        return cls(mean_direction=[0.0, 0.0, 1.0], concentration=4.0)


@DENSITIES.register("bump_mixture", implementation="geokeras.manifolds.measures:BumpMixtureDensity")
class BumpMixtureParams(SpecModel):
    """A mixture of Gaussian bumps along a curve, w.r.t. arc length (or the parameter).

    With s in [0, 1] the position of a point (arc length s(t) / L, or the normalised
    parameter), the density w.r.t. the volume measure is
    f(s) ∝ floor + sum_k w_k exp(-(s - c_k)^2 / (2 sigma_k^2)).
    """

    type: Literal["bump_mixture"] = "bump_mixture"
    centers: list[float] = Field(min_length=1, description="Bump centres c_k, positions in [0, 1] along the curve.")
    widths: list[PositiveFloat] = Field(
        min_length=1, description="Bump widths sigma_k > 0 (standard deviations, in units of the position in [0, 1])."
    )
    weights: Optional[list[PositiveFloat]] = Field(
        None, description="Bump weights w_k > 0; null gives every bump weight 1."
    )
    floor: NonNegativeFloat = Field(
        0.0, description="Constant added to the bumps: the density never falls below floor (relative to the weights)."
    )
    position: Literal["arc_length", "parameter"] = Field(
        "arc_length",
        description=(
            "arc_length: s = s(t) / L, the fraction of the length (needs a curve with exact arc "
            "length); parameter: s = (t - t_0) / (t_1 - t_0), the normalised parameter."
        ),
    )

    @field_validator("centers")
    @classmethod
    def _in_unit_interval(cls, value: list[float]) -> list[float]:
        outside = [center for center in value if not 0.0 <= center <= 1.0]
        if outside:
            raise ValueError(f"expected bump centres in [0, 1]. Received: centers={value}.")
        return value

    @field_validator("widths", "weights")
    @classmethod
    def _one_per_centre(cls, value: Optional[list[float]], info: ValidationInfo) -> Optional[list[float]]:
        # A field validator (not a model validator) so that the error names its own key.
        centers = info.data.get("centers")
        if value is not None and centers is not None and len(value) != len(centers):
            raise ValueError(
                f"expected one entry per centre, {len(centers)} in all (centers={centers}). "
                f"Received: {info.field_name}={value}, {len(value)} in all."
            )
        return value

    @property
    def bump_weights(self) -> list[float]:
        """w_k, with the default 1 filled in."""
        return list(self.weights) if self.weights is not None else [1.0] * len(self.centers)

    @classmethod
    def example(cls) -> "BumpMixtureParams":
        """Two bumps, at a quarter and three quarters of the curve."""
        return cls(centers=[0.25, 0.75], widths=[0.05, 0.1])


DensityParams = union_of(DENSITIES)
"""Any registered density, chosen by its ``type`` key."""

# ----------------------------------------------------------------------------- noise

NoiseDirection = Literal["isotropic", "normal"]


@NOISES.register("gaussian", implementation="geokeras.manifolds.noise:GaussianNoise")
class GaussianNoiseParams(SpecModel):
    """Gaussian noise added to every sample in the ambient space R^D.

    ``isotropic``: N(0, std^2 I_D). ``normal``: N(0, std^2 P_N(x)), P_N(x) the orthogonal
    projection onto the normal space of the manifold at the clean point x (needs the
    tangent space: curves and surfaces, meshes (per face), not data sets).
    """

    type: Literal["gaussian"] = "gaussian"
    std: NonNegativeScale = Field(
        0.0, description="Standard deviation per ambient coordinate (per normal direction for direction: normal)."
    )
    direction: NoiseDirection = Field(
        "isotropic",
        description="isotropic: in every direction of R^D; normal: only orthogonal to the manifold's tangent space.",
    )


@NOISES.register("outliers", implementation="geokeras.manifolds.noise:OutlierNoise")
class OutlierNoiseParams(SpecModel):
    """Gaussian noise (optional), then a fraction of the samples replaced by outliers.

    The outliers are uniform in the bounding box of the (noisy) samples, each side enlarged by
    ``box_margin`` times its length on both ends: for denoising experiments.
    """

    type: Literal["outliers"] = "outliers"
    fraction: float = Field(
        0.1, ge=0.0, le=1.0, description="Fraction of the samples replaced: round(fraction * n) of them, exactly."
    )
    box_margin: NonNegativeScale = Field(
        0.1, description="Each side of the bounding box grows by box_margin * its length at both ends."
    )
    std: NonNegativeScale = Field(
        0.0, description="Standard deviation of the Gaussian noise on every sample (0: none)."
    )
    direction: NoiseDirection = Field(
        "isotropic", description="Direction of the Gaussian noise, as for type: gaussian."
    )


NoiseParams = union_of(NOISES, default="gaussian")

# ----------------------------------------------------------------------------- embeddings


@EMBEDDINGS.register("isometric", implementation="geokeras.manifolds.embeddings:IsometricEmbedding")
class IsometricEmbeddingParams(SpecModel):
    """Lift into R^D by a seeded random orthonormal frame: all distances are preserved."""

    type: Literal["isometric"] = "isometric"
    ambient_dim: Optional[Dimension] = Field(
        None,
        description="Dimension D of the ambient space; null keeps the manifold's own space.",
    )


@EMBEDDINGS.register("nonlinear", implementation="geokeras.manifolds.embeddings:NonlinearEmbedding")
class NonlinearEmbeddingParams(SpecModel):
    """The isometric lift y = x F followed by the seeded smooth warp
    g(y) = y + strength * scale * tanh(y A / scale) B (|A|_2 = |B|_2 = 1).

    strength < 1 makes g bi-Lipschitz, (1 - strength)|y - y'| <= |g(y) - g(y')| <=
    (1 + strength)|y - y'|: a diffeomorphism of R^D, so the warped manifold is still an
    embedded manifold (same topology and dimension).
    """

    type: Literal["nonlinear"] = "nonlinear"
    ambient_dim: Optional[Dimension] = Field(
        None,
        description="Dimension D of the ambient space; null keeps the manifold's own space.",
    )
    strength: float = Field(
        0.5, ge=0.0, lt=1.0, description="s in [0, 1): 0 is the isometric lift; s < 1 keeps the warp a diffeomorphism."
    )
    scale: Scale = Field(
        1.0, description="Length scale l of the warp: it bends features of size about l (use the data's scale)."
    )
    features: Width = Field(16, description="Number k of tanh features (A is [D, k], B is [k, D]).")


EmbeddingParams = union_of(EMBEDDINGS, default="isometric")

# ----------------------------------------------------------------------------- common keys

MeasureParams = Union[Literal["volume", "parameter"], DensityParams]


class ManifoldParams(SpecModel):
    """Keys shared by every manifold type."""

    samples: SampleCount = Field(4096, description="Number of training samples drawn.")
    measure: MeasureParams = Field(
        "volume",
        description=(
            "volume: uniform with respect to arc length / area (the Riemannian measure); "
            "parameter: uniform in the parameter of the defining map; or a density with respect "
            "to the volume measure, {type: von_mises_fisher | bump_mixture, ...}."
        ),
    )
    noise: NoiseParams = Field(
        default_factory=GaussianNoiseParams,
        description="Noise added to every sample drawn, by type (gaussian, outliers); default: none (std 0).",
    )
    embed: EmbeddingParams = Field(
        default_factory=IsometricEmbeddingParams,
        description="Lift into R^D by type (isometric, nonlinear); the default keeps the manifold's own space.",
    )

    @field_validator("measure", mode="before")
    @classmethod
    def _density_needs_type(cls, value: Any) -> Any:
        if isinstance(value, dict) and "type" not in value:
            raise ValueError(
                f"expected 'volume', 'parameter' or a density mapping with a `type:` key naming "
                f"one of: {', '.join(DENSITIES.names())}. Received: {value!r}."
            )
        return value


class DistributionParams(ManifoldParams):
    """Keys of a type that is a probability measure of its own, not a Riemannian manifold with
    formulas (a data set, a mixture of full-dimensional Gaussians): ``measure`` is ``volume`` or
    ``parameter`` (both mean that measure: there is no volume measure to reweight by a density)
    and the noise is isotropic (there is no tangent space to be normal to).

    Subclasses set ``measure_name``, how errors name their measure.
    """

    measure_name: ClassVar[str] = "its own measure"

    @field_validator("measure")
    @classmethod
    def _own_measure_only(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(
                f"expected 'volume' or 'parameter': both mean {cls.measure_name} (densities reweight "
                f"the volume measure of a manifold given by formulas). Received: {{type: {value.type}}}."
            )
        return value

    @field_validator("noise")
    @classmethod
    def _isotropic_noise_only(cls, value: Any) -> Any:
        if value.direction != "isotropic":
            raise ValueError(
                f"expected noise direction 'isotropic': {cls.measure_name} has no tangent space for "
                f"noise normal to it. Received: direction={value.direction!r}."
            )
        return value
