"""Registries of named types: the vocabulary of the spec language.

Wherever a spec offers a choice of implementation, a ``type:`` key names it, e.g.
``manifold: {type: circle, radius: 2}``. Each choice point (``manifold``, ``encoder``,
``optimizer``, ``evaluator``, ...) is a :class:`Registry` that maps a type name to

* a pydantic model of that type's parameters (light: importing it never imports
  TensorFlow, so ``geokeras validate`` stays fast), and
* the dotted path of the implementation, imported only when the type is built.

The dotted path is internal to geokeras: a spec can only ever name a registered type,
never an import path, so loading a shared spec cannot run arbitrary code. (Running one may
import a module the spec names in one place only: ``custom_objects_module`` of a
``keras_file`` model, imported when that model is loaded.)

:meth:`Registry.resolve` turns what a caller holds -- a type name, a mapping with ``type``, or
an already validated parameter model -- into the validated parameter model, and
:meth:`Registry.build` calls the implementation with it. Their errors are SpecErrors at key
paths relative to the parameters (``("radius",)``), or under ``key_path`` when given.

Later modules extend a registry with the :meth:`Registry.register` decorator::

    @MANIFOLDS.register("circle", implementation="geokeras.manifolds.curves:Circle")
    class CircleParams(ManifoldParams):
        type: Literal["circle"] = "circle"
        radius: PositiveFloat = 1.0
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from geokeras.errors import KeyPath, SpecError, located_under
from geokeras.validation import did_you_mean, validate_model


@dataclass(frozen=True)
class RegistryEntry:
    """One registered type: its name, its parameter model and where its code lives."""

    name: str
    params: type
    implementation: str | None

    def load(self) -> Any:
        """Import and return the implementation (a class or a function)."""
        if self.implementation is None:
            raise LookupError(f"Type {self.name!r} has no implementation registered.")
        module_name, _, attribute = self.implementation.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


class Registry:
    """Named types for one choice point of the spec language.

    The types are registered by the parameter modules named in ``providers`` (each decorates
    its models with :meth:`register`); the registry imports them the first time it is read, the
    way packaging entry points work, so that no module has to import another one for its side
    effect and no package imports the packages that plug into it.

    Args:
        kind: what the registry holds, used in messages (``"manifold"``, ``"optimizer"``).
        providers: the modules whose import registers the types.
    """

    def __init__(self, kind: str, providers: tuple[str, ...] = ()):
        self.kind = kind
        self.providers = tuple(providers)
        self._registered: dict[str, RegistryEntry] = {}
        self._providers_loaded = not self.providers

    @property
    def _entries(self) -> dict[str, RegistryEntry]:
        """Every registered entry, after importing the providers once."""
        if not self._providers_loaded:
            self._providers_loaded = True  # first: a provider's own register calls come back here
            for module in self.providers:
                importlib.import_module(module)
        return self._registered

    def register(self, name: str, *, implementation: str | None = None) -> Callable[[type], type]:
        """Class decorator registering ``params`` (a pydantic model) under ``name``."""

        def decorator(params: type) -> type:
            if name in self._registered:
                raise ValueError(f"{self.kind} type {name!r} is registered twice.")
            type_field = getattr(params, "model_fields", {}).get("type")
            if type_field is None or type_field.default != name:
                raise ValueError(
                    f"The parameter model for {self.kind} type {name!r} must declare "
                    f"`type: Literal[{name!r}] = {name!r}`."
                )
            self._registered[name] = RegistryEntry(name, params, implementation)
            return params

        return decorator

    def names(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._entries)

    def params_models(self) -> list[type]:
        """The registered parameter models, in name order."""
        return [self._entries[name].params for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> RegistryEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        """A message for an unknown type name, with a did-you-mean suggestion."""
        message = (
            f"Unknown {self.kind} type {name!r}. Expected one of: {', '.join(self.names()) or '(none registered)'}."
        )
        suggestion = did_you_mean(str(name), self.names())
        return f"{message}{suggestion}"

    def resolve(self, value: Any, *, default: Optional[str] = None, key_path: KeyPath = ()) -> Any:
        """The validated parameter model of ``value``.

        Args:
            value: a registered type name (``"circle"``), a mapping as a spec holds it
                (``{"type": "circle", "radius": 2}``), or a parameter model of a registered type
                (returned as it is: pydantic validated it when it was made).
            default: the type of a mapping without ``type`` and of ``None`` (all defaults);
                without one, both are errors.
            key_path: where ``value`` sits in a spec, e.g. ``("manifold",)``; errors are
                located under it.

        Raises:
            SpecError (one problem) or SpecErrors (every problem of the mapping): an unknown
            type (with a did-you-mean), unknown keys, invalid values.
        """
        with located_under(*key_path):
            return self._resolve(value, default)

    def build(
        self, value: Any, *args: Any, default: Optional[str] = None, key_path: KeyPath = (), **kwargs: Any
    ) -> Any:
        """Call the implementation of ``value``'s type with its parameters and extra arguments.

        ``value`` is anything :meth:`resolve` takes; errors the implementation raises while it
        is built are located under ``key_path`` too.
        """
        with located_under(*key_path):
            params = self._resolve(value, default)
            return self[params.type].load()(params, *args, **kwargs)

    def _resolve(self, value: Any, default: Optional[str]) -> Any:
        if value is None and default is not None:
            value = {}
        if isinstance(value, str):
            value = {"type": value}
        if isinstance(value, Mapping):
            name = value.get("type", default)
            if "type" not in value and name is None:
                raise SpecError(
                    f"expected a `type` key naming one of: {', '.join(self.names())}. "
                    f"Received keys: {', '.join(map(str, value)) or '(none)'}.",
                    ("type",),
                )
            if not isinstance(name, str) or name not in self:
                raise SpecError(self.unknown_message(name), ("type",))
            return validate_model(self[name].params, {**value, "type": name})
        if isinstance(value, BaseModel) and "type" in type(value).model_fields:
            if value.type not in self:
                raise SpecError(self.unknown_message(value.type), ("type",))
            if isinstance(value, self[value.type].params):
                return value
        raise SpecError(
            f"expected a {self.kind} type name, a mapping with a `type` key or a {self.kind} parameter "
            f"model. Received: {type(value).__name__}."
        )


class DisplayOnly:
    """Marks a spec field that changes how a run is shown, never a number it computes.

    Written as ``Annotated[type, DISPLAY_ONLY]`` on a field of a :class:`SpecModel` (a whole section
    or one key); :meth:`SpecModel.identity_dump` leaves such fields out, so the spec's content hash
    (the run directory's name, ``--resume`` and sweep reuse) ignores them, while resolved.yaml still
    records them. Mark a field only when no metric, model or saved array can depend on it.
    """

    def __repr__(self) -> str:
        return "DISPLAY_ONLY"


DISPLAY_ONLY = DisplayOnly()
"""The :class:`DisplayOnly` marker: ``report: Annotated[ReportSpec, DISPLAY_ONLY] = Field(...)``."""


def is_display_only(field: Any) -> bool:
    """True when a pydantic ``FieldInfo`` carries the :data:`DISPLAY_ONLY` marker."""
    return any(isinstance(item, DisplayOnly) for item in field.metadata)


class SpecModel(BaseModel):
    """Base of every spec section and parameter model: unknown keys are errors.

    NaN and infinities are refused in every float field: no radius, rate or scale means them,
    and a spec holding one could neither be hashed (canonical JSON has no NaN) nor run.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @classmethod
    def upgrade_mapping(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """This type's mapping as written for ``spec_version`` ``version``, rewritten for ``version + 1``.

        A type whose keys change with the spec language overrides this (renamed keys, removed
        keys, changed defaults written out); the spec's upgrade calls it on every mapping of the
        type. The default: unchanged.
        """
        return data

    def identity_dump(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` without the :data:`DISPLAY_ONLY` fields, at every depth.

        The part of the parameters that decides the numbers a run computes: the spec's content hash
        is taken over it.
        """
        return _without_display_only(self, self.model_dump(mode="json"))

    @classmethod
    def display_only_paths(cls, prefix: tuple[str, ...] = (), _open: tuple[type, ...] = ()) -> list[tuple[str, ...]]:
        """Key paths of the :data:`DISPLAY_ONLY` fields of this model and of the models it nests
        (``("report",)``, ``("train", "verbose")``; a list item or union member shows as its field;
        a model nested in itself is followed once)."""
        paths: list[tuple[str, ...]] = []
        for name, field in cls.model_fields.items():
            if is_display_only(field):
                paths.append((*prefix, name))
                continue
            for model in _nested_models(field.annotation):
                if model in (*_open, cls):
                    continue
                nested = model.display_only_paths((*prefix, name), (*_open, cls))
                paths += [path for path in nested if path not in paths]
        return paths


def _without_display_only(value: Any, data: Any) -> Any:
    """``data`` (the JSON dump of ``value``) without the display-only fields of the models in ``value``."""
    if isinstance(value, SpecModel):
        return {
            name: _without_display_only(getattr(value, name), data[name])
            for name, field in type(value).model_fields.items()
            if name in data and not is_display_only(field)
        }
    if isinstance(value, (list, tuple)):
        return [_without_display_only(item, dumped) for item, dumped in zip(value, data)]
    if isinstance(value, Mapping):
        return {key: _without_display_only(value[key], dumped) for key, dumped in data.items()}
    return data


def _nested_models(annotation: Any) -> list[type]:
    """The SpecModel classes an annotation can hold (through Optional, Union, list, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, SpecModel):
        return [annotation]
    found: list[type] = []
    for argument in getattr(annotation, "__args__", ()) or ():
        found += [model for model in _nested_models(argument) if model not in found]
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and getattr(annotation, "__metadata__", None) is not None:
        found += [model for model in _nested_models(origin) if model not in found]
    return found


def union_of(registry: Registry, default: str | None = None) -> Any:
    """The pydantic type accepting any registered type of ``registry``, chosen by ``type``.

    With ``default``, a mapping without a ``type`` key is that type, so that
    ``embed: {ambient_dim: 3}`` or the override ``train.optimizer.learning_rate=1e-4`` on a
    spec that never wrote an optimizer mean the default type. Call this after every type of
    the registry is registered: the union is fixed then.
    """
    models = registry.params_models()
    if default is None:
        return Annotated[Union[tuple(models)], Field(discriminator="type")]
    if default not in registry:
        raise ValueError(f"The default {registry.kind} type {default!r} is not registered.")

    def type_of(value: Any) -> Any:
        return value.get("type", default) if isinstance(value, dict) else getattr(value, "type", None)

    tagged = tuple(Annotated[model, Tag(model.model_fields["type"].default)] for model in models)
    return Annotated[Union[tagged], Discriminator(type_of)]


MANIFOLDS = Registry("manifold", providers=("geokeras.manifolds.params",))
NOISES = Registry("noise", providers=("geokeras.manifolds.params",))
DENSITIES = Registry("density", providers=("geokeras.manifolds.params",))
EMBEDDINGS = Registry("embedding", providers=("geokeras.manifolds.params",))
ENCODERS = Registry("encoder", providers=("geokeras.models.params",))
DECODERS = Registry("decoder", providers=("geokeras.models.params",))
OPTIMIZERS = Registry("optimizer", providers=("geokeras.models.params",))
LEARNING_RATE_SCHEDULES = Registry("learning-rate schedule", providers=("geokeras.models.params",))
EVALUATORS = Registry(
    "evaluator", providers=("geokeras.evaluate.params", "geokeras.complexity.params", "geokeras.ot.params")
)
OT_SOURCES = Registry("OT source", providers=("geokeras.ot.params",))
OT_SOLVERS = Registry("OT solver", providers=("geokeras.ot.params",))
TRACKERS = Registry("tracker", providers=("geokeras.tracking.params",))
