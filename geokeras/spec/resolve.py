"""From a spec file to a resolved, validated :class:`Spec`.

Resolution, in order:

1. read each file safely, remembering key positions (``yaml_source``);
2. upgrade each file from its ``spec_version`` (``upgrade``);
3. ``extends: base.yaml`` (relative to the file) deep-merges the base *under* the file:
   mappings merge key by key, anything else (lists included) is replaced; cycles are errors;
4. command-line overrides ``a.b.c=value`` (values parsed as YAML) apply last;
5. pydantic validates, filling in every default; errors carry file:line:column, the key
   path, what was received and what was expected, and a did-you-mean for unknown keys.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml
from pydantic import BaseModel, ValidationError

from geokeras.errors import KeyPath, SpecError, SpecErrors, format_key_path
from geokeras.registry import did_you_mean
from geokeras.spec.schema import SPEC_VERSION, Spec, SpecOrigin
from geokeras.spec.upgrade import upgrade_to_current
from geokeras.spec.yaml_source import Positions, parse_yaml, read_yaml_file

OVERRIDE_SOURCE = "<command line>"


def load_spec(path: Union[str, Path], overrides: Iterable[str] = ()) -> Spec:
    """Load, merge, override and validate the spec at ``path``.

    Args:
        path: the spec file.
        overrides: ``"a.b.c=value"`` strings, applied in order after ``extends``.

    Returns:
        The resolved :class:`Spec` (every default filled in).

    Raises:
        SpecError / SpecErrors: with file:line:column and key path of every problem.
    """
    path = Path(path)
    overrides = tuple(overrides)
    data, positions, text = _read_with_extends(path, stack=())
    data = apply_overrides(data, positions, overrides)
    spec = validate_spec(data, positions)
    return spec.with_origin(SpecOrigin(path, text, overrides, positions))


def spec_from_mapping(data: dict[str, Any], overrides: Iterable[str] = (), source: str = "<mapping>") -> Spec:
    """Validate a spec given as a Python mapping (no ``extends``), with overrides."""
    text = yaml.safe_dump(data, sort_keys=False)
    parsed, positions = parse_yaml(text, source)
    if isinstance(parsed, dict) and "extends" in parsed:
        raise SpecError("extends needs a spec file; a mapping has no directory to resolve it from.", ("extends",))
    overrides = tuple(overrides)
    parsed = apply_overrides(_require_mapping(parsed, positions, source), positions, overrides)
    spec = validate_spec(parsed, positions)
    return spec.with_origin(SpecOrigin(None, text, overrides, positions))


# ----------------------------------------------------------------------------- extends
def _require_mapping(data: Any, positions: Positions, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        raise SpecError(f"expected a mapping of spec sections. Received {kind}.", location=positions.locate(()) or source)
    return data


def _read_with_extends(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Positions, str]:
    data, positions, text = read_yaml_file(path)
    data = upgrade_to_current(_require_mapping(data, positions, str(path)), positions.locate(("spec_version",)))
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, positions, text
    location = positions.locate(("extends",))
    if not isinstance(base_name, str):
        raise SpecError(f"expected a file path. Received: {base_name!r}.", ("extends",), location)
    base_path = (path.parent / base_name).resolve()
    chain = stack + (path.resolve(),)
    if base_path in chain:
        cycle = " -> ".join(str(item) for item in chain + (base_path,))
        raise SpecError(f"extends cycle: {cycle}.", ("extends",), location)
    if not base_path.is_file():
        raise SpecError(f"extends names a file that does not exist: {str(base_path)!r}.", ("extends",), location)
    base_data, base_positions, _ = _read_with_extends(base_path, chain)
    merged = _deep_merge(base_data, data, base_positions, positions, ())
    return merged, base_positions, text


def _deep_merge(base: dict, top: dict, base_positions: Positions, top_positions: Positions, path: KeyPath) -> dict:
    """Merge ``top`` over ``base``; ``base_positions`` is updated to describe the result."""
    merged = dict(base)
    for key, value in top.items():
        key_path = path + (key,)
        if isinstance(value, dict) and isinstance(base.get(key), dict) and _same_type(base[key], value):
            merged[key] = _deep_merge(base[key], value, base_positions, top_positions, key_path)
            base_positions[key_path] = top_positions.locate(key_path)
        else:
            merged[key] = value
            base_positions.replace_subtree(key_path, top_positions, key_path)
    return merged


def _same_type(base: dict, top: dict) -> bool:
    """A section that switches ``type`` replaces the base section instead of merging into it."""
    return "type" not in top or top.get("type") == base.get("type")


# ----------------------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[KeyPath, Any]:
    """``"train.optimizer.learning_rate=1e-4"`` -> (("train", "optimizer", "learning_rate"), 1e-4)."""
    key, separator, value_text = text.partition("=")
    if not separator or not key.strip():
        raise SpecError(
            f"expected an override of the form key.path=value. Received: {text!r}.",
            location=OVERRIDE_SOURCE,
        )
    path = tuple(int(part) if part.lstrip("-").isdigit() else part for part in key.strip().split("."))
    if any(part == "" for part in path):
        raise SpecError(f"expected a dotted key path. Received: {key!r}.", location=OVERRIDE_SOURCE)
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError as error:
        raise SpecError(f"the value of override {text!r} is not valid YAML: {error}.", path, OVERRIDE_SOURCE) from None
    return path, value


def apply_overrides(data: dict[str, Any], positions: Positions, overrides: Iterable[str]) -> dict[str, Any]:
    """Set each ``key.path=value`` in ``data`` (in place) and record its position."""
    for text in overrides:
        path, value = parse_override(text)
        where = f"{OVERRIDE_SOURCE} {text!r}"
        node: Any = data
        for depth, part in enumerate(path[:-1]):
            node = _child_for_override(node, part, path[: depth + 1], where)
        last = path[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or not -len(node) <= last < len(node):
                raise SpecError(f"expected a list index below {len(node)}. Received: {last!r}.", path, where)
            node[last] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise SpecError(f"cannot set a key inside a {type(node).__name__} value.", path[:-1], where)
        positions.replace_subtree(path, Positions({(): where}))
    return data


def _child_for_override(node: Any, part: Union[str, int], path: KeyPath, where: str) -> Any:
    if isinstance(node, dict):
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {}
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    raise SpecError(f"cannot descend into {type(node).__name__} value with key {part!r}.", path, where)


# ----------------------------------------------------------------------------- validation
def validate_spec(data: dict[str, Any], positions: Positions) -> Spec:
    """Validate merged data into a :class:`Spec`; every problem is reported with its place."""
    data = dict(data)
    data.setdefault("spec_version", SPEC_VERSION)
    try:
        return Spec.model_validate(data)
    except ValidationError as error:
        items = [item for item in error.errors(include_url=False) if not _wrong_union_member(item)]
        problems = [_spec_error(item, data, positions) for item in items or error.errors(include_url=False)]
        if len(problems) == 1:
            raise problems[0] from None
        raise SpecErrors(problems) from None


def _spec_error(item: dict[str, Any], data: Any, positions: Positions) -> SpecError:
    """Turn one pydantic error into a SpecError with the user's key path and a clear message."""
    path, schema_path = _key_path(item["loc"], data)
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema_path[:-1])
        message = f"unknown key {path[-1]!r}."
        if allowed:
            message += f" Expected one of: {', '.join(allowed)}.{did_you_mean(str(path[-1]), allowed)}"
    elif kind == "missing":
        message = f"missing required key {path[-1]!r}."
    elif kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        message = f"unknown type {tag!r}. Expected one of: {', '.join(expected)}.{did_you_mean(str(tag), expected)}"
        path = path + ("type",)
    elif kind == "union_tag_not_found":
        expected = _union_tags(schema_path)
        message = (
            f"expected a mapping with a `type:` key naming one of: {', '.join(expected)}. "
            f"Received: {_short_repr(item.get('input'))}."
        )
    else:
        text = item["msg"]
        text = text[len("Value error, "):] if text.startswith("Value error, ") else text
        text = text[0].lower() + text[1:] if text else text
        message = text.rstrip(".") + "."
        if kind != "value_error" or "Received" not in message:
            message += f" Received: {_short_repr(item.get('input'))}."
    return SpecError(message, path, positions.locate(path))


def _key_path(loc: tuple, data: Any) -> tuple[KeyPath, tuple]:
    """Drop pydantic's union tags from ``loc``: (user key path, schema path with tags)."""
    path: list[Union[str, int]] = []
    node = data
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in _UNION_MEMBER_NAMES):
            continue  # pydantic's name of a union member, e.g. "float" or "tagged-union[...]"
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
            elif part != node.get("type"):  # a discriminated union's tag is not a user key
                path.append(part)
                node = None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif node is None:
            path.append(part)
    return tuple(path), tuple(loc)


_SCALAR_MEMBER_NAMES = {"float", "int", "str", "bool", "none", "constrained-float", "constrained-int", "constrained-str"}
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


def _model_at(schema_path: tuple) -> Optional[type]:
    """The pydantic model class reached by following ``schema_path`` from :class:`Spec`."""
    annotation: Any = Spec
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


def _allowed_keys(schema_path: tuple) -> list[str]:
    model = _model_at(schema_path)
    return sorted(model.model_fields) if model is not None else []


def _union_tags(schema_path: tuple) -> list[str]:
    annotation: Any = Spec
    parent = _model_at(schema_path[:-1]) if schema_path else None
    if parent is not None and isinstance(schema_path[-1], str) and schema_path[-1] in parent.model_fields:
        annotation = parent.model_fields[schema_path[-1]].annotation
    elif schema_path and isinstance(schema_path[-1], int):
        parent = _model_at(schema_path[:-2])
        if parent is not None:
            annotation = _list_item(parent.model_fields[schema_path[-2]].annotation)
    return sorted({_type_tag(model) for model in _models_in(annotation) if _type_tag(model)})


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_location(spec: Spec, path: KeyPath) -> str:
    """``file:line:column: key.path`` for messages about an already resolved spec."""
    location = spec.origin.positions.locate(path) if spec.origin else None
    return f"{location + ': ' if location else ''}{format_key_path(path)}"
