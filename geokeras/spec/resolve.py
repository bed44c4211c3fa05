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

from pathlib import Path
from typing import Any, Iterable, Union

import yaml
from geokeras.errors import KeyPath, SpecError, format_key_path
from geokeras.spec.schema import SPEC_VERSION, Spec, SpecOrigin
from geokeras.spec.upgrade import upgrade_to_current
from geokeras.spec.validation import validate_model
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
    return validate_model(Spec, data, positions)


def describe_location(spec: Spec, path: KeyPath) -> str:
    """``file:line:column: key.path`` for messages about an already resolved spec."""
    location = spec.origin.positions.locate(path) if spec.origin else None
    return f"{location + ': ' if location else ''}{format_key_path(path)}"
