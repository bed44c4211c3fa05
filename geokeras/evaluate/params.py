"""Parameters of the evaluators of this package (the ``evaluate:`` spec section).

The spec's ``evaluate`` list takes any registered evaluator (see ``spec/schema.py``, which
also imports the complexity evaluators' parameters).

A list entry is either a bare name (``reconstruction``) or a mapping with ``type`` and that
evaluator's parameters (``{type: reconstruction, samples: 5000}``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional

from pydantic import Field

from geokeras.limits import BatchSize, Count, MeshResolution, Resolution, SampleCount
from geokeras.manifolds.params.common import NoiseParams, OutlierNoiseParams
from geokeras.registry import DISPLAY_ONLY, EVALUATORS, SpecModel


@EVALUATORS.register("reconstruction", implementation="geokeras.evaluate.reconstruction:evaluate_reconstruction")
class ReconstructionParams(SpecModel):
    """MSE, Chamfer and Hausdorff distance between held-out samples and their reconstructions."""

    type: Literal["reconstruction"] = "reconstruction"
    needs_latent_ot: ClassVar[bool] = False
    samples: SampleCount = Field(2000, description="Held-out samples drawn from the manifold.")
    tile_size: BatchSize = Field(1024, description="Rows per tile of the pairwise-distance computation.")


IntrinsicDimensionEstimator = Literal["two_nn", "mle"]


@EVALUATORS.register("manifold_stats", implementation="geokeras.evaluate.manifold_stats:evaluate_manifold_stats")
class ManifoldStatsParams(SpecModel):
    """Intrinsic dimension of the training samples (TwoNN, Levina-Bickel MLE) beside the true one."""

    type: Literal["manifold_stats"] = "manifold_stats"
    needs_latent_ot: ClassVar[bool] = False
    samples: SampleCount = Field(
        2000, description="Training samples used (a seeded subsample without replacement; all when fewer)."
    )
    k: Count = Field(10, ge=2, description="Neighbours k of the Levina-Bickel MLE (TwoNN uses the 2 nearest).")
    estimators: list[IntrinsicDimensionEstimator] = Field(
        default_factory=lambda: ["two_nn", "mle"],
        min_length=1,
        description="Estimators to run: two_nn (Facco et al. 2017), mle (Levina & Bickel 2004).",
    )
    two_nn_discard: float = Field(
        0.1, ge=0.0, lt=1.0, description="Fraction of the largest ratios mu = r2/r1 left out of the TwoNN fit."
    )


THRESHOLDS_OF_VERSION_1 = (
    "far_fraction",
    "fold_ratio",
    "min_trustworthiness",
    "max_reconstruction_error",
    "turn_tolerance",
)
"""Keys of ``learnability`` in spec_version 1 that set sampled thresholds of the verdict."""


@EVALUATORS.register("learnability", implementation="geokeras.evaluate.encoding_map:evaluate_learnability")
class LearnabilityParams(SpecModel):
    """Is the encoder, restricted to the manifold, an encoding map? Decided exactly on Σ_h.

    See docs/evaluators.md and :mod:`geokeras.evaluate.encoding_map` for what each verdict proves.
    """

    type: Literal["learnability"] = "learnability"

    @classmethod
    def upgrade_mapping(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """From spec_version 2 on, the verdict is decided exactly on the manifold's polyline or mesh and
        the sampled numbers decide nothing: the sampled thresholds of version 1 have no meaning left."""
        if version == 1:
            return {key: value for key, value in data.items() if key not in THRESHOLDS_OF_VERSION_1}
        return data

    needs_latent_ot: ClassVar[bool] = False
    points: int = Field(
        600,
        ge=20,
        le=4000,
        description=(
            "Sample points of the reported (never deciding) numbers: distortion, trustworthiness, "
            "continuity, reconstruction. Equally spaced in arc length on a curve, else clean seeded samples."
        ),
    )
    neighbours: Count = Field(
        10, ge=2, description="k of the k-nearest-neighbour geodesic graph, trustworthiness and continuity."
    )
    resolution: Optional[Resolution] = Field(
        None,
        description=(
            "Segments of the polyline Σ_h of a smooth curve on which injectivity is decided exactly "
            "(null: the manifold_rlc default; a polygonal curve such as hilbert uses its own vertices)."
        ),
    )
    mesh_resolution: MeshResolution = Field(
        32, description="Resolution of the surface mesh Σ_h on which injectivity into R^2 is decided exactly."
    )
    max_regions: SampleCount = Field(
        250_000,
        description=(
            "Largest number of pieces of Σ_h cut by the encoder's cells to decide on; beyond it the "
            "verdict is 'undecided' (memory grows with the pieces)."
        ),
    )


def _default_denoising_noise() -> OutlierNoiseParams:
    return OutlierNoiseParams(fraction=0.1, std=0.05)


@EVALUATORS.register("denoising", implementation="geokeras.evaluate.denoising:evaluate_denoising")
class DenoisingParams(SpecModel):
    """Distance to the manifold Σ of noisy points x and of their reconstructions ψ(φ(x)).

    Lei, Luo, Yau, Gu 2018, section 1: an autoencoder trained on Σ maps every input onto its
    learned manifold ψ(φ(R^n)), so noise and outliers are projected (near) Σ. See
    docs/evaluators.md and :mod:`geokeras.evaluate.denoising` for the formulas.
    """

    type: Literal["denoising"] = "denoising"
    needs_latent_ot: ClassVar[bool] = False
    samples: SampleCount = Field(
        2000, description="Test points: clean samples of the manifold, then perturbed by `noise`."
    )
    noise: NoiseParams = Field(
        default_factory=_default_denoising_noise,
        description=(
            "The noise model applied to the clean test points, the same schema as the manifold's `noise:` "
            "({type: gaussian, std, direction} or {type: outliers, fraction, box_margin, std, direction})."
        ),
    )
    resolution: Resolution = Field(
        4096, description="Segments of a curve's polyline (the exact reference Σ of a curve is this polyline)."
    )
    mesh_resolution: MeshResolution = Field(
        128, ge=3, description="Cells per parameter of a surface's triangle mesh (the reference Σ of a surface)."
    )
    reference_samples: SampleCount = Field(
        100000,
        description="Clean samples standing in for Σ when it has neither polyline nor mesh (distance to the "
        "nearest one).",
    )
    figure_points: Annotated[SampleCount, DISPLAY_ONLY] = Field(
        300, description="Noisy points (a seeded subsample) drawn in the figure with their reconstructions."
    )
