"""Parameters of the evaluators of this package (the ``evaluate:`` spec section).

The spec's ``evaluate`` list takes any registered evaluator (see ``spec/schema.py``, which
also imports the complexity evaluators' parameters).

A list entry is either a bare name (``reconstruction``) or a mapping with ``type`` and that
evaluator's parameters (``{type: reconstruction, samples: 5000}``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from geokeras.manifolds.params.common import NoiseParams, OutlierNoiseParams
from geokeras.registry import EVALUATORS, SpecModel


@EVALUATORS.register("reconstruction", implementation="geokeras.evaluate.reconstruction:evaluate_reconstruction")
class ReconstructionParams(SpecModel):
    """MSE, Chamfer and Hausdorff distance between held-out samples and their reconstructions."""

    type: Literal["reconstruction"] = "reconstruction"
    samples: PositiveInt = Field(2000, description="Held-out samples drawn from the manifold.")
    tile_size: PositiveInt = Field(1024, description="Rows per tile of the pairwise-distance computation.")


IntrinsicDimensionEstimator = Literal["two_nn", "mle"]


@EVALUATORS.register("manifold_stats", implementation="geokeras.evaluate.manifold_stats:evaluate_manifold_stats")
class ManifoldStatsParams(SpecModel):
    """Intrinsic dimension of the training samples (TwoNN, Levina-Bickel MLE) beside the true one."""

    type: Literal["manifold_stats"] = "manifold_stats"
    samples: PositiveInt = Field(
        2000, description="Training samples used (a seeded subsample without replacement; all when fewer)."
    )
    k: int = Field(10, ge=2, description="Neighbours k of the Levina-Bickel MLE (TwoNN uses the 2 nearest).")
    estimators: list[IntrinsicDimensionEstimator] = Field(
        default_factory=lambda: ["two_nn", "mle"],
        min_length=1,
        description="Estimators to run: two_nn (Facco et al. 2017), mle (Levina & Bickel 2004).",
    )
    two_nn_discard: float = Field(
        0.1, ge=0.0, lt=1.0, description="Fraction of the largest ratios mu = r2/r1 left out of the TwoNN fit."
    )


@EVALUATORS.register("learnability", implementation="geokeras.evaluate.learnability:evaluate_learnability")
class LearnabilityParams(SpecModel):
    """Is the encoder, restricted to the manifold, a homeomorphism? Evidence and a verdict.

    See docs/evaluators.md and :mod:`geokeras.evaluate.learnability` for every criterion.
    """

    type: Literal["learnability"] = "learnability"
    points: int = Field(
        600, ge=20, le=4000,
        description="Evaluation points: equally spaced in arc length on a curve, else clean samples (seeded).",
    )
    neighbours: int = Field(
        10, ge=2, description="k of the k-nearest-neighbour geodesic graph, trustworthiness and continuity."
    )
    far_fraction: float = Field(
        0.25, gt=0.0, lt=1.0, description="Pairs at least this fraction of the manifold's geodesic diameter apart are 'far'."
    )
    fold_ratio: float = Field(
        0.05, gt=0.0, lt=1.0,
        description="A far pair is a fold when (code distance / code diameter) / (geodesic / geodesic diameter) is below this.",
    )
    min_trustworthiness: float = Field(
        0.9, ge=0.0, le=1.0, description="Trustworthiness and continuity below this fail the continuity criterion."
    )
    max_reconstruction_error: float = Field(
        0.1, gt=0.0, description="Relative reconstruction error (RMS error / RMS spread of the data) above this fails."
    )
    mesh_resolution: PositiveInt = Field(
        32, description="Resolution of the surface mesh whose triangle orientations are checked (surfaces into R^2)."
    )
    turn_tolerance: float = Field(
        0.01,
        ge=0.0,
        lt=1.0,
        description=(
            "Curves into R^1: a turn of the codes counts only when its fold (the largest set of curve "
            "points sent to one code) spans at least this fraction of the curve's geodesic diameter; "
            "0 counts every turn."
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
    samples: PositiveInt = Field(2000, description="Test points: clean samples of the manifold, then perturbed by `noise`.")
    noise: NoiseParams = Field(
        default_factory=_default_denoising_noise,
        description=(
            "The noise model applied to the clean test points, the same schema as the manifold's `noise:` "
            "({type: gaussian, std, direction} or {type: outliers, fraction, box_margin, std, direction})."
        ),
    )
    resolution: PositiveInt = Field(
        4096, description="Segments of a curve's polyline (the exact reference Σ of a curve is this polyline)."
    )
    mesh_resolution: int = Field(
        128, ge=3, description="Cells per parameter of a surface's triangle mesh (the reference Σ of a surface)."
    )
    reference_samples: PositiveInt = Field(
        100000,
        description="Clean samples standing in for Σ when it has neither polyline nor mesh (distance to the nearest one).",
    )
    figure_points: PositiveInt = Field(
        300, description="Noisy points (a seeded subsample) drawn in the figure with their reconstructions."
    )
