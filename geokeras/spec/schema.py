"""The typed spec: one pydantic model per section, composed into :class:`Spec`.

The sections' parameter models live beside the code they configure (``manifolds/params.py``,
``models/params.py``, ...); this module only composes them. Importing it never imports
TensorFlow.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, NonNegativeInt, field_validator

from geokeras.evaluate.params import EvaluatorSpec, ReconstructionParams
from geokeras.manifolds.params import ManifoldSpec
from geokeras.models.params import ModelSpec, RuntimeSpec, TrainSpec
from geokeras.registry import SpecModel
from geokeras.report.params import ReportSpec

SPEC_VERSION = 1
"""The spec_version this geokeras writes; older specs are upgraded (see ``spec/upgrade.py``)."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Spec(SpecModel):
    """One experiment: manifold, autoencoder, training, evaluation, runtime and report."""

    spec_version: int = Field(SPEC_VERSION, description="Version of the spec language.")
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Names the run directory runs/<name>-<hash12>; letters, digits, _ . -",
    )
    seed: NonNegativeInt = Field(0, description="Seeds every random thing of the run.")
    manifold: ManifoldSpec = Field(description="The data: a manifold with a measure on it.")
    model: ModelSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    latent_ot: Optional[dict[str, Any]] = Field(
        None,
        description=(
            "Semi-discrete optimal transport in latent space (AE-OT). No OT solver is "
            "registered in this version of geokeras: leave it null."
        ),
    )
    evaluate: list[EvaluatorSpec] = Field(
        default_factory=lambda: [ReconstructionParams()],
        description="Evaluators, by name or as {type: name, ...parameters}.",
    )
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    report: ReportSpec = Field(default_factory=ReportSpec)

    @field_validator("evaluate", mode="before")
    @classmethod
    def _names_to_mappings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"type": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("evaluate")
    @classmethod
    def _each_evaluator_once(cls, value: list) -> list:
        names = [item.type for item in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"expected each evaluator at most once (each writes its own metrics section). "
                f"Received twice: {', '.join(repeated)}."
            )
        return value

    @field_validator("latent_ot")
    @classmethod
    def _no_ot_yet(cls, value: Optional[dict]) -> Optional[dict]:
        if value is not None:
            raise ValueError(
                "expected null: no semi-discrete OT solver is registered in this version "
                "of geokeras."
            )
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (draft 2020-12), for editor completion."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "geokeras spec"
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "Path of a base spec (relative to this file) deep-merged under this one.",
    }
    return schema
