"""Parameters of the evaluators of this package (the ``evaluate:`` spec section).

The spec's ``evaluate`` list takes any registered evaluator (see ``spec/schema.py``, which
also imports the complexity evaluators' parameters).

A list entry is either a bare name (``reconstruction``) or a mapping with ``type`` and that
evaluator's parameters (``{type: reconstruction, samples: 5000}``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

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
