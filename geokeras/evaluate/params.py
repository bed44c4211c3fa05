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

