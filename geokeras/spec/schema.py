"""The typed spec: one pydantic model per section, composed into :class:`Spec`.

The sections' parameter models live beside the code they configure (``manifolds/params.py``,
``models/params.py``, ...); this module only composes them. Importing it never imports
TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from geokeras import registry
from geokeras.errors import KeyPath, SpecError
from geokeras.evaluate.params import ReconstructionParams
from geokeras.limits import Seed
from geokeras.manifolds.params import ManifoldSpec
from geokeras.models.params import ModelSpec, RuntimeSpec, TrainSpec
from geokeras.models.size import check_parameter_budget
from geokeras.ot.params import LatentOTSpec
from geokeras.registry import DISPLAY_ONLY, EVALUATORS, SpecModel, union_of
from geokeras.report.params import ReportSpec
from geokeras.spec.yaml_scalars import dump_yaml
from geokeras.tracking.params import TrackingSpec

EvaluatorSpec = union_of(EVALUATORS)
"""Any registered evaluator, chosen by its ``type`` key."""

LATENT_OT_EVALUATORS = tuple(name for name in EVALUATORS.names() if EVALUATORS[name].params.needs_latent_ot)
"""Evaluators whose parameter model declares ``needs_latent_ot``: they need the ``latent_ot`` section."""

SPEC_VERSION = 2
"""The spec_version this geokeras writes; older specs are upgraded (see ``spec/upgrade.py``)."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


@dataclass(frozen=True)
class SpecOrigin:
    """Where a resolved spec came from: its file, its text, the overrides, key positions, and the
    directory its data paths are relative to (None: the current directory)."""

    path: Optional[Path]
    text: str
    overrides: tuple[str, ...]
    positions: Any  # geokeras.spec.yaml_source.Positions
    spec_dir: Optional[Path] = None


class Spec(SpecModel):
    """One experiment: manifold, autoencoder, training, evaluation, runtime and report.

    A ``Spec`` returned by :func:`geokeras.load_spec` is *resolved*: ``extends`` merged,
    overrides applied, every default filled in. It remembers its origin, so that errors
    found later (when building the model, say) still point at file:line:column.
    """

    _origin: Optional[SpecOrigin] = PrivateAttr(None)

    spec_version: int = Field(SPEC_VERSION, description="Version of the spec language.")
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Names the run directory runs/<name>-<hash12>; letters, digits, _ . -",
    )
    seed: Seed = Field(0, description="Seeds every random thing of the run.")
    manifold: ManifoldSpec = Field(description="The data: a manifold with a measure on it.")
    model: ModelSpec = Field(description="The autoencoder: latent dimension, encoder (the chart) and decoder.")
    train: TrainSpec = Field(
        default_factory=TrainSpec,
        description="Training: epochs, batch size, optimizer, loss, early stopping, checkpoints.",
    )
    latent_ot: Optional[LatentOTSpec] = Field(
        None,
        description=(
            "Semi-discrete optimal transport from a source measure onto the latent codes, and "
            f"AE-OT generation (docs/ot.md); null: none. Needed by the {' and '.join(LATENT_OT_EVALUATORS)} "
            "evaluators."
        ),
    )
    evaluate: list[EvaluatorSpec] = Field(
        default_factory=lambda: [ReconstructionParams()],
        description="Evaluators, by name or as {type: name, ...parameters}.",
    )
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec, description="Device, compilation and determinism.")
    report: Annotated[ReportSpec, DISPLAY_ONLY] = Field(
        default_factory=ReportSpec, description="How report.md and the figures look (not part of the content hash)."
    )
    tracking: Annotated[Optional[TrackingSpec], DISPLAY_ONLY] = Field(
        None,
        description=(
            "Where the finished run is logged, {type: mlflow, tracking_uri: ..., experiment: ...} "
            "(docs/scale-out.md); null: nowhere. Not part of the content hash."
        ),
    )

    # ------------------------------------------------------------------ identity
    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain JSON-compatible data, ``type`` first in each mapping."""
        return _type_first(self.model_dump(mode="json"))

    def to_yaml(self) -> str:
        """The resolved spec as YAML (every default written out)."""
        return dump_yaml(self.to_dict(), sort_keys=False, allow_unicode=True)

    def identity_dict(self) -> dict[str, Any]:
        """What the content hash covers: :meth:`to_dict` without the display-only keys.

        A key marked :data:`~geokeras.registry.DISPLAY_ONLY` (the whole ``report`` section,
        ``train.verbose``, a figure's point count or margin: :meth:`display_only_paths` lists them)
        changes how a run is shown, never its numbers, so two specs differing only there name the
        same run directory and a sweep reuses the run.
        """
        return _type_first(self.identity_dump())

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of :meth:`identity_dict` (sorted keys, no spaces)."""
        canonical = json.dumps(
            self.identity_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def run_name(self) -> str:
        """``<name>-<first 12 hex digits of the content hash>``: the run directory's name."""
        return f"{self.name}-{self.content_hash[:12]}"

    @property
    def origin(self) -> Optional[SpecOrigin]:
        return self._origin

    def with_origin(self, origin: SpecOrigin) -> "Spec":
        self._origin = origin
        return self

    def error(self, message: str, path: KeyPath) -> SpecError:
        """A :class:`SpecError` at ``path``, located in the spec file when known."""
        location = self._origin.positions.locate(path) if self._origin else None
        return SpecError(message, path, location)

    # ------------------------------------------------------------------ validators
    @model_validator(mode="after")
    def _fits_before_running(self) -> "Spec":
        """Problems between sections that would otherwise surface only at run time."""
        problems: list[tuple[KeyPath, str, Any]] = []
        ambient_dim = getattr(self.manifold.embed, "ambient_dim", None) or 1
        try:  # a lower bound: the data have at least embed.ambient_dim (or 1) coordinates
            check_parameter_budget(self.model, (ambient_dim,), least_shape=True)
        except SpecError as error:
            problems.append((("model", *error.path), error.message, None))
        split, samples = self.train.validation_split, self.manifold.samples
        held_out = math.floor(split * samples)
        if split > 0 and not 0 < held_out < samples:
            problems.append(
                (
                    ("train", "validation_split"),
                    f"expected a validation split leaving at least one validation and one training sample of "
                    f"manifold.samples = {samples}. Received: validation_split={split!r}, which holds out "
                    f"{held_out} of {samples}.",
                    split,
                )
            )
        if problems:
            raise key_errors("Spec", problems)
        return self

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

    @field_validator("evaluate")
    @classmethod
    def _ot_evaluators_need_latent_ot(cls, value: list, info: ValidationInfo) -> list:
        # latent_ot is declared before evaluate, so it is validated first ("latent_ot" is
        # missing from info.data only when it was itself invalid: that error is reported).
        if "latent_ot" not in info.data or info.data["latent_ot"] is not None:
            return value
        problems = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "value_error",
                    "the {name} evaluator needs the latent OT map. Expected a `latent_ot` section "
                    "(`latent_ot: {}` takes every default) or no {name} evaluator. Received: "
                    "latent_ot=null.",
                    {"name": item.type},
                ),
                loc=(index, "type"),
                input=item.type,
            )
            for index, item in enumerate(value)
            if type(item).needs_latent_ot
        ]
        if problems:
            raise ValidationError.from_exception_data("evaluate", problems)
        return value


def key_errors(title: str, problems: list[tuple[KeyPath, str, Any]]) -> ValidationError:
    """A pydantic ValidationError with one error per ``(key path, message, input)``.

    Raised from a model validator, it names the keys themselves, not the model holding them.
    """
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=tuple(loc),
                input=value,
            )
            for loc, message, value in problems
        ],
    )


def _type_first(value: Any) -> Any:
    if isinstance(value, dict):
        ordered = {"type": value["type"]} if "type" in value else {}
        ordered.update((key, _type_first(item)) for key, item in value.items() if key != "type")
        return ordered
    if isinstance(value, list):
        return [_type_first(item) for item in value]
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (draft 2020-12), for editor completion.

    Descriptions come from the models' docstrings and ``Field`` descriptions, written for
    Sphinx; editors show them as plain text or Markdown, so :func:`plain_description` rewrites
    every one, and every ``type`` key gets a description naming its registry (see
    :func:`_describe_type_keys`).
    """
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "geokeras spec"
    schema["description"] = (
        "One geokeras experiment: a manifold with a measure on it, a Keras autoencoder, its "
        "training, the evaluators and the report. Run it with `geokeras run SPEC`; see docs/spec.md."
    )
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "Path of a base spec (relative to this file) deep-merged under this one.",
    }
    _describe_type_keys(schema)
    return _plain_descriptions(schema)


SPHINX_ROLE = re.compile(r":(?:[a-z]+:)?[a-z]+:`(~?)([^`]*)`")
"""A Sphinx role such as :func:`geokeras.run` or :meth:`~Registry.resolve` (group 1: the ``~``, group 2: the target)."""

RST_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
"""An RST inline literal, ``like this``."""


def plain_description(text: str) -> str:
    """``text`` with Sphinx markup rewritten as Markdown code: ``x`` and :func:`x` become `x`.

    A role's target written with ``~`` keeps its last component, as Sphinx shows it.
    """
    text = SPHINX_ROLE.sub(
        lambda role: f"`{role.group(2).rpartition('.')[2] if role.group(1) else role.group(2)}`", text
    )
    return RST_LITERAL.sub(r"`\1`", text)


def _plain_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: plain_description(value)
            if key == "description" and isinstance(value, str)
            else _plain_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_plain_descriptions(item) for item in node]
    return node


def _describe_type_keys(schema: dict[str, Any]) -> None:
    """Describe the ``type`` key of every registered parameter model: which registry's choice it names.

    Every registered model declares ``type: Literal[name] = name``; the description is written
    here once rather than on each of them.
    """
    kinds: dict[str, list[str]] = {}
    for choice_point in vars(registry).values():
        if isinstance(choice_point, registry.Registry):
            for model in choice_point.params_models():
                kinds.setdefault(model.__name__, []).append(choice_point.kind)
    for title, definition in schema.get("$defs", {}).items():
        type_key = definition.get("properties", {}).get("type")
        if type_key is None or type_key.get("description"):
            continue
        name = type_key.get("const", type_key.get("default"))
        kind = " or ".join(kinds.get(title, ["parameter"]))
        type_key["description"] = f"Selects the {kind} type `{name}`."
