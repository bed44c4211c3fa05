"""Pydantic validation with errors a researcher can act on.

:func:`validate_model` validates plain data with a pydantic model and turns each pydantic
error into a :class:`~geokeras.errors.SpecError` that names the key path the user wrote (union
tags and member names that pydantic adds are dropped), its file:line:column, what was
received and what was expected, and for unknown keys and type names a did-you-mean.

The spec validates whole specs with it, :class:`~geokeras.registry.Registry` the parameters of
one type; it imports nothing of :mod:`geokeras.spec`, so every package can use it.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any, Optional, Protocol, Union

from pydantic import BaseModel, ValidationError

from geokeras.errors import KeyPath, SpecError, SpecErrors, shortened


class Positions(Protocol):
    """Where each key of the data was written (the spec's YAML positions)."""

    def locate(self, path: KeyPath) -> Optional[str]:
        """``"file:line:column"`` of the key at ``path``, or None."""


class _Nowhere:
    def locate(self, path: KeyPath) -> Optional[str]:
        return None


def validate_model(
    model: type[BaseModel],
    data: Any,
    positions: Optional[Positions] = None,
    prefix: KeyPath = (),
    context: Optional[dict[str, Any]] = None,
) -> Any:
    """Validate ``data`` with the pydantic ``model``, turning its errors into SpecErrors.

    Args:
        model: :class:`Spec`, or the parameter model of one section (a manifold type, say).
        data: the plain data to validate.
        positions: where each key was written, keyed by the full path (``prefix`` included);
            None: no positions (errors carry key paths only).
        prefix: the key path of ``data`` inside a spec, e.g. ``("manifold",)``.
        context: pydantic's validation context, e.g. ``{"spec_dir": Path}`` (the directory that
            data paths are relative to).

    Raises:
        SpecError (one problem) or SpecErrors (several), with key paths and positions.
    """
    positions = positions if positions is not None else _Nowhere()
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        details = error.errors(include_url=False)
        items = [item for item in details if not _wrong_union_member(item)] or details
        problems = [_spec_error(item, data, positions, model, tuple(prefix)) for item in items]
        if len(problems) == 1:
            raise problems[0] from None
        raise SpecErrors(problems) from None


def _spec_error(item: dict[str, Any], data: Any, positions: Positions, root: type, prefix: KeyPath) -> SpecError:
    """Turn one pydantic error into a SpecError with the user's key path and a clear message."""
    kind = item["type"]
    loc = tuple(item["loc"])
    names_a_key = kind in ("extra_forbidden", "missing") or (bool(loc) and loc[-1] in _allowed_keys(root, loc[:-1]))
    path, schema_path = _key_path(loc, data, names_a_key=names_a_key)
    ctx = item.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, schema_path[:-1])
        message = f"unknown key {path[-1]!r}."
        if allowed:
            message += f" Expected one of: {', '.join(allowed)}.{did_you_mean(str(path[-1]), allowed)}"
    elif kind == "missing":
        message = f"missing required key {path[-1]!r}."
    elif kind == "finite_number":
        message = f"expected a finite number (NaN and infinities are refused). Received: {item.get('input')!r}."
    elif kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        message = f"unknown type {tag!r}. Expected one of: {', '.join(expected)}.{did_you_mean(str(tag), expected)}"
        path = path + ("type",)
    elif kind == "union_tag_not_found":
        expected = _union_tags(root, schema_path)
        message = (
            f"expected a mapping with a `type:` key naming one of: {', '.join(expected)}. "
            f"Received: {shortened(repr(item.get('input')))}."
        )
    else:
        text = item["msg"]
        text = text[len("Value error, ") :] if text.startswith("Value error, ") else text
        text = text[0].lower() + text[1:] if text else text
        message = text.rstrip(".") + "."
        if kind != "value_error" or "Received" not in message:
            message += f" Received: {shortened(repr(item.get('input')))}."
    path = prefix + path
    return SpecError(message, path, positions.locate(path))


def _key_path(loc: tuple, data: Any, names_a_key: bool = True) -> tuple[KeyPath, tuple]:
    """Drop pydantic's union tags from ``loc``: (user key path, schema path with tags).

    ``names_a_key``: the last part of ``loc`` is a key of its model (missing, unknown, or a
    default value that failed validation); otherwise a last part absent from the mapping is
    a union's tag (a model validator of the member ``uniform_cube`` failed on
    ``source: {low: 1, high: 0}``).
    """
    path: list[Union[str, int]] = []
    node = data
    for index, part in enumerate(loc):
        written = isinstance(node, dict) and part in node  # a key the user wrote, even one like "a[b"
        if not written and isinstance(part, str) and ("[" in part or part in _UNION_MEMBER_NAMES):
            continue  # pydantic's name of a union member, e.g. "float" or "tagged-union[...]"
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
            elif index == len(loc) - 1 and names_a_key:  # a missing or unknown key: the error is about it
                path.append(part)
                node = None
            # else: a discriminated union's tag (pydantic puts it in the middle of loc)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif node is None:
            path.append(part)
    return tuple(path), tuple(loc)


_SCALAR_MEMBER_NAMES = {
    "float",
    "int",
    "str",
    "bool",
    "none",
    "constrained-float",
    "constrained-int",
    "constrained-str",
}
_UNION_MEMBER_NAMES = _SCALAR_MEMBER_NAMES | {"dict", "list"}


def _wrong_union_member(item: dict[str, Any]) -> bool:
    """True for the error of a union member the input was clearly not meant for.

    ``learning_rate: {type: cosine_decay}`` is a schedule, so the complaint that it is not a
    number is noise; ``learning_rate: -1`` is a number, so the schedule member's complaint is.
    """
    members = [part for part in item["loc"] if isinstance(part, str) and ("[" in part or part in _UNION_MEMBER_NAMES)]
    if not members:
        return False
    member = members[-1]
    structured = isinstance(item.get("input"), (dict, list))
    if member in _SCALAR_MEMBER_NAMES or member.startswith("literal["):
        return structured
    return not structured and item["type"] in ("model_type", "dict_type", "model_attributes_type")


def _model_at(root: type, schema_path: tuple) -> Optional[type]:
    """The pydantic model class reached by following ``schema_path`` from ``root``."""
    annotation: Any = root
    for part in schema_path:
        if isinstance(part, int):
            annotation = _list_item(annotation)
            continue
        if "[" in part or part in _UNION_MEMBER_NAMES:
            continue
        candidates = _models_in(annotation)
        tagged = [model for model in candidates if _type_tag(model) == part]
        fields = [model for model in candidates if part in model.model_fields]
        if tagged:
            annotation = tagged[0]
        elif fields:
            annotation = fields[0].model_fields[part].annotation
        else:
            return None
    models = _models_in(annotation)
    return models[0] if len(models) == 1 else None


def _type_tag(model: type) -> Optional[str]:
    field = model.model_fields.get("type")
    return field.default if field is not None else None


def _models_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type] = []
    for argument in typing.get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _list_item(annotation: Any) -> Any:
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is list:
            return typing.get_args(candidate)[0]
    return annotation


def _allowed_keys(root: type, schema_path: tuple) -> list[str]:
    model = _model_at(root, schema_path)
    return sorted(model.model_fields) if model is not None else []


def _union_tags(root: type, schema_path: tuple) -> list[str]:
    annotation: Any = root
    parent = _model_at(root, schema_path[:-1]) if schema_path else None
    if parent is not None and isinstance(schema_path[-1], str) and schema_path[-1] in parent.model_fields:
        annotation = parent.model_fields[schema_path[-1]].annotation
    elif schema_path and isinstance(schema_path[-1], int):
        parent = _model_at(root, schema_path[:-2])
        if parent is not None:
            annotation = _list_item(parent.model_fields[schema_path[-2]].annotation)
    return sorted({_type_tag(model) for model in _models_in(annotation) if _type_tag(model)})


def did_you_mean(received: str, candidates: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(received, candidates, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
