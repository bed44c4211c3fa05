"""From a spec file to a resolved, validated :class:`Spec`.

Resolution, in order:

1. read each file safely, remembering key positions (``yaml_source``);
2. upgrade each file from its ``spec_version`` (``upgrade``);
3. ``extends: base.yaml`` (relative to the file) deep-merges the base *under* the file:
   mappings merge key by key, anything else (lists included) is replaced; cycles are errors;
4. command-line overrides ``a.b.c=value`` (values parsed as YAML 1.2, as files are) apply last;
5. pydantic validates, filling in every default; errors carry file:line:column, the key
   path, what was received and what was expected, and a did-you-mean for unknown keys.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union

import yaml

from geokeras.errors import KeyPath, SpecError, SpecErrors, shortened
from geokeras.files import pin_files, spec_directory
from geokeras.spec.schema import SPEC_VERSION, Spec, SpecOrigin
from geokeras.spec.upgrade import upgrade_to_current
from geokeras.spec.yaml_scalars import dump_yaml
from geokeras.spec.yaml_source import MAX_DEPTH, MAX_FILE_BYTES, Positions, parse_yaml, read_yaml_file
from geokeras.validation import validate_model

OVERRIDE_SOURCE = "<command line>"

MAX_EXTENDS = 32
"""An ``extends`` chain holds at most this many files."""

MAX_PATH_CHARACTERS = 4096
"""The longest ``extends`` path accepted (Linux's PATH_MAX)."""

BASE_SUFFIXES = (".yaml", ".yml")
"""A base must be a YAML file by name: ``extends`` never reads (and never quotes) other files."""

INT64 = 2**63
"""Integers in a spec lie in [-INT64, INT64): 64-bit, as numpy and TensorFlow hold them."""


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
    with _loader_guard(str(path)):
        data, positions, text = _read_with_extends(path, stack=())
    with _loader_guard(OVERRIDE_SOURCE):
        data = apply_overrides(data, positions, overrides)
    base_dir = spec_directory(path)
    spec = validate_spec(data, positions, spec_dir=base_dir)
    spec = _with_pinned_files(spec, base_dir, positions)
    return spec.with_origin(SpecOrigin(path, text, overrides, positions, base_dir))


def spec_from_mapping(
    data: dict[str, Any],
    overrides: Iterable[str] = (),
    source: str = "<mapping>",
    *,
    base_dir: Union[str, Path, None] = None,
    check_files: bool = True,
) -> Spec:
    """Validate a spec given as a Python mapping (no ``extends``), with overrides.

    Args:
        base_dir: the directory the spec's file paths are relative to (default: the current one).
        check_files: find and hash the files the spec names (``geokeras.files``); False for a
            resolved spec read back from a run directory, whose ``sha256`` fields are already filled.
    """
    with _loader_guard(source):
        text = dump_yaml(data, sort_keys=False)
        parsed, positions = parse_yaml(text, source)
    if isinstance(parsed, dict) and "extends" in parsed:
        raise SpecError("extends needs a spec file; a mapping has no directory to resolve it from.", ("extends",))
    overrides = tuple(overrides)
    with _loader_guard(OVERRIDE_SOURCE):
        parsed = apply_overrides(_require_mapping(parsed, positions, source), positions, overrides)
    base = Path(base_dir) if base_dir is not None else spec_directory(None)
    spec = validate_spec(parsed, positions, spec_dir=base, check_files=check_files)
    if check_files:
        spec = _with_pinned_files(spec, base, positions)
    return spec.with_origin(SpecOrigin(None, text, overrides, positions, base))


def _with_pinned_files(spec: Spec, base_dir: Path, positions: Positions) -> Spec:
    """The spec with each file it names found from ``base_dir`` and its sha256 filled in."""
    try:
        return pin_files(spec, base_dir)
    except SpecError as error:
        raise SpecError(error.message, error.path, positions.locate(error.path)) from None


@contextmanager
def _loader_guard(location: str) -> Iterator[None]:
    """A last line of defence around reading: the loader's own checks raise located SpecErrors, and
    whatever PyYAML or the operating system raises past them is still bad input, never a traceback."""
    try:
        yield
    except (yaml.YAMLError, RecursionError, ValueError, OSError) as error:
        detail = shortened(f"{type(error).__name__}: {error}", 120)
        raise SpecError(
            f"expected a readable spec. Received input that fails to load ({detail}).", location=location
        ) from None


# ----------------------------------------------------------------------------- extends
def _require_mapping(data: Any, positions: Positions, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        where = positions.locate(()) or source
        raise SpecError(f"expected a mapping of spec sections. Received {kind}.", location=where)
    return data


def _read_with_extends(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Positions, str]:
    data, positions, text = read_yaml_file(path)
    merged, positions = _extend(path, data, positions, stack)
    return merged, positions, text


def _extend(path: Path, data: Any, positions: Positions, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Positions]:
    """Upgrade the data read from ``path`` and merge it over its ``extends`` chain."""
    data = upgrade_to_current(_require_mapping(data, positions, str(path)), positions.locate(("spec_version",)))
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, positions
    location = positions.locate(("extends",))
    chain = stack + (path.resolve(),)
    base_path = _base_path(path, base_name, chain, location)
    base_data, base_positions = _read_base(base_path, chain, location)
    return _deep_merge(base_data, data, base_positions, positions, ()), base_positions


def _base_path(path: Path, base_name: Any, chain: tuple[Path, ...], location: Any) -> Path:
    """The resolved file that ``extends: base_name`` in ``path`` names, after every check of the name."""

    def refuse(message: str) -> SpecError:
        return SpecError(message, ("extends",), location)

    if not isinstance(base_name, str):
        raise refuse(f"expected a file path. Received: {shortened(repr(base_name), 80)}.")
    if "\x00" in base_name:
        raise refuse("expected a file path. Received a path holding a NUL byte.")
    if len(base_name) > MAX_PATH_CHARACTERS:
        raise refuse(f"expected a file path of at most {MAX_PATH_CHARACTERS} characters. Received {len(base_name)}.")
    if len(chain) >= MAX_EXTENDS:
        raise refuse(f"expected an extends chain of at most {MAX_EXTENDS} files. Received a longer one.")
    if Path(base_name).suffix.lower() not in BASE_SUFFIXES:
        raise refuse(f"expected a YAML spec file (.yaml or .yml) as the base. Received {base_name!r}.")
    try:
        base_path = (path.parent / base_name).resolve()
        if base_path in chain:
            cycle = " -> ".join(str(item) for item in chain + (base_path,))
            raise refuse(f"extends cycle: {cycle}.")
        if base_path.is_dir():
            raise refuse(f"expected a YAML spec file as the base. Received a directory: {str(base_path)!r}.")
        if not base_path.exists():
            raise refuse(f"extends names a file that does not exist: {str(base_path)!r}.")
        if base_path.suffix.lower() not in BASE_SUFFIXES:  # a link named .yaml to another file
            raise refuse(f"expected a YAML spec file (.yaml or .yml) as the base. Received {str(base_path)!r}.")
        if not base_path.is_file():
            raise refuse(f"expected a regular file as the base. Received {str(base_path)!r}.")
    except (OSError, ValueError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise refuse(f"expected a readable file path. Received {shortened(repr(base_name), 80)} ({reason}).") from None
    return base_path


def _read_base(base_path: Path, chain: tuple[Path, ...], location: Any) -> tuple[dict[str, Any], Positions]:
    """Read a base spec. A base that cannot be read as a YAML mapping is refused by its path alone:
    ``extends`` must not quote the content of a file that is not a spec."""
    named = repr(str(base_path))
    try:
        base_data, base_positions, _ = read_yaml_file(base_path)
    except SpecError as error:
        where = ""
        if error.location and error.location.startswith(f"{base_path}:"):
            line, column = error.location[len(str(base_path)) + 1 :].split(":")
            where = f" at line {line}, column {column}"
        raise SpecError(
            f"expected a readable YAML spec as the base. Received {named}, which fails to load{where} "
            f"(`geokeras validate` on it says why).",
            ("extends",),
            location,
        ) from None
    if not isinstance(base_data, dict):
        kind = "is empty" if base_data is None else f"holds a {type(base_data).__name__}"
        raise SpecError(
            f"expected a YAML mapping of spec sections as the base. Received {named}, which {kind}.",
            ("extends",),
            location,
        )
    return _extend(base_path, base_data, base_positions, chain)


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
    """``"train.optimizer.learning_rate=1e-4"`` -> (("train", "optimizer", "learning_rate"), 1e-4).

    The value is read like a spec file, within the same limits and by the same YAML 1.2 rules:
    ``seed=010`` or ``manifold.turns=1:3:0.5`` is refused as ambiguous, never read as YAML 1.1 would.
    """
    where = override_location(text)
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(
            f"expected an override of at most {MAX_FILE_BYTES} characters. Received {len(text)}.", location=where
        )
    key, separator, value_text = text.partition("=")
    if not separator or not key.strip():
        raise SpecError(
            f"expected an override of the form key.path=value. Received: {shortened(repr(text), 120)}.", location=where
        )
    parts = key.strip().split(".")
    if any(part == "" for part in parts):
        raise SpecError(f"expected a dotted key path. Received: {shortened(repr(key), 120)}.", location=where)
    if len(parts) > MAX_DEPTH:
        raise SpecError(f"expected a key path of at most {MAX_DEPTH} parts. Received {len(parts)}.", location=where)
    path = tuple(_path_part(part, where) for part in parts)
    try:
        value, _ = parse_yaml(value_text, where) if value_text.strip() else (None, None)
    except SpecError as error:
        place = ""
        if error.location and error.location.startswith(f"{where}:"):
            line, column = error.location[len(where) + 1 :].split(":")
            place = f" at line {line}, column {column}"
        raise SpecError(f"the value of this override is not valid{place}: {error.message}", path, where) from None
    return path, value


def override_location(text: str) -> str:
    """``<command line> 'key=value'``: where an override's problems are reported."""
    return f"{OVERRIDE_SOURCE} {shortened(text, 80)!r}"


def _path_part(part: str, where: str) -> Union[str, int]:
    """A list index for ``-?[0-9]+`` (at most 18 digits), a key otherwise."""
    if not re.fullmatch(r"-?[0-9]+", part):
        return part
    if len(part.lstrip("-")) > 18:
        raise SpecError(f"expected a list index of at most 18 digits. Received {len(part)} digits.", location=where)
    return int(part)


def apply_overrides(data: dict[str, Any], positions: Positions, overrides: Iterable[str]) -> dict[str, Any]:
    """Set each ``key.path=value`` in ``data`` (in place) and record its position."""
    for text in overrides:
        path, value = parse_override(text)
        where = override_location(text)
        node: Any = data
        for depth, part in enumerate(path[:-1]):
            node = _child_for_override(node, part, path[: depth + 1], where, positions)
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


def _child_for_override(node: Any, part: Union[str, int], path: KeyPath, where: str, positions: Positions) -> Any:
    if isinstance(node, dict):
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {}  # the override wrote this mapping, so errors about it point at the override
            positions.replace_subtree(path, Positions({(): where}))
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    raise SpecError(f"cannot descend into {type(node).__name__} value with key {part!r}.", path, where)


# ----------------------------------------------------------------------------- validation
def validate_spec(
    data: dict[str, Any], positions: Positions, spec_dir: Optional[Path] = None, check_files: bool = True
) -> Spec:
    """Validate merged data into a :class:`Spec`; every problem is reported with its place.

    Data paths (``manifold.path``) are resolved against ``spec_dir`` (None: the current directory);
    with ``check_files`` False (a resolved spec read back from a run directory) the data files are
    not looked up and their recorded ``sha256`` is taken as written.
    """
    check_plain_values(data, positions)
    data = dict(data)
    data.setdefault("spec_version", SPEC_VERSION)
    return validate_model(Spec, data, positions, context={"spec_dir": spec_dir, "check_files": check_files})


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_plain_values(data: Any, positions: Positions) -> None:
    """Refuse values that no field accepts and that would break the content hash or the output.

    NaN and infinities (the hash's JSON has no spelling for them, and ``.nan`` must not hash
    like ``null``), integers beyond 64 bits (nothing downstream holds them, and Python will
    not print one of more than 4300 digits), and text holding lone surrogates (from ``"\\ud800"``
    escapes; not encodable as UTF-8). Checked everywhere, free-form mappings included.
    """
    problems: list[SpecError] = []
    stack: list[tuple[KeyPath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        message = None
        if path and isinstance(path[-1], str) and _SURROGATE.search(path[-1]):
            problems.append(SpecError(_surrogate_message(path[-1]), path, positions.locate(path)))
        if isinstance(value, dict):
            stack.extend(reversed([(path + (key,), item) for key, item in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(path + (index,), item) for index, item in enumerate(value)]))
        elif isinstance(value, float) and not math.isfinite(value):
            message = f"expected a finite number (NaN and infinities are refused). Received: {value}."
        elif isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
            message = (
                f"expected an integer of at most 64 bits (-2**63 to 2**63 - 1). Received an integer of "
                f"{value.bit_length()} bits."
            )
        elif isinstance(value, str) and _SURROGATE.search(value):
            message = _surrogate_message(value)
        if message is not None:
            problems.append(SpecError(message, path, positions.locate(path)))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecErrors(problems)


def _surrogate_message(text: str) -> str:
    character = _SURROGATE.search(text).group()
    return f"expected text encodable as UTF-8. Received text holding the lone surrogate U+{ord(character):04X}."
