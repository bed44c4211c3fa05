"""Safe YAML reading that remembers where every key came from.

``read_yaml_file(path)`` returns plain Python data (dicts, lists, scalars) together with a
:class:`Positions` map from key paths to ``file:line:column``, so that any later error
(schema validation, model building) can point at the exact line of the spec. Only the safe
YAML constructors are used: a spec can never instantiate Python objects. Duplicate keys,
which plain PyYAML silently overwrites, are errors here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

from geokeras.errors import KeyPath, SpecError


class Positions:
    """Map from key paths to ``"file:line:column"`` (1-based) strings.

    The location of a path that was never written (a missing key, a default) is the
    location of its closest written ancestor.
    """

    def __init__(self, entries: Optional[dict[KeyPath, str]] = None):
        self._entries: dict[KeyPath, str] = dict(entries or {})

    def __setitem__(self, path: KeyPath, location: str) -> None:
        self._entries[tuple(path)] = location

    def locate(self, path: KeyPath) -> Optional[str]:
        """Where ``path`` (or its closest written ancestor) was written, if anywhere."""
        path = tuple(path)
        while True:
            if path in self._entries:
                return self._entries[path]
            if not path:
                return None
            path = path[:-1]

    def replace_subtree(self, path: KeyPath, other: "Positions", other_root: KeyPath = ()) -> None:
        """Drop every entry at or below ``path``, then copy ``other``'s entries below ``other_root``."""
        path = tuple(path)
        self._entries = {key: value for key, value in self._entries.items() if key[: len(path)] != path}
        root_length = len(other_root)
        for key, value in other._entries.items():
            if key[:root_length] == tuple(other_root):
                self._entries[path + key[root_length:]] = value

    def copy(self) -> "Positions":
        return Positions(self._entries)


def _location(source: str, mark: yaml.Mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def parse_yaml(text: str, source: str) -> tuple[Any, Positions]:
    """Parse YAML ``text`` (named ``source`` in messages) into data and positions."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        positions = Positions()
        if root is None:
            return None, positions
        positions[()] = _location(source, root.start_mark)
        return _construct(loader, root, (), source, positions), positions
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _location(source, mark) if mark else source
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        raise SpecError(f"malformed YAML: {problem}{context}.", location=where) from None
    except yaml.YAMLError as error:
        raise SpecError(f"malformed YAML: {error}.", location=source) from None
    finally:
        loader.dispose()


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, source: str, positions: Positions) -> Any:
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise SpecError(
            f"malformed YAML: unsupported tag {node.tag!r}; a spec holds plain mappings, "
            f"lists and scalars only.",
            path,
            _location(source, node.start_mark),
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<) the safe way
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise SpecError(
                    f"expected keys to be strings. Received the key {key!r} "
                    f"({type(key).__name__}).",
                    path,
                    _location(source, key_node.start_mark),
                )
            if key in result:
                raise SpecError(
                    f"duplicate key {key!r}: each key may appear once in a mapping.",
                    path + (key,),
                    _location(source, key_node.start_mark),
                )
            positions[path + (key,)] = _location(source, key_node.start_mark)
            result[key] = _construct(loader, value_node, path + (key,), source, positions)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            positions[path + (index,)] = _location(source, item_node.start_mark)
            items.append(_construct(loader, item_node, path + (index,), source, positions))
        return items
    return loader.construct_object(node, deep=True)


def read_yaml_file(path: Path) -> tuple[Any, Positions, str]:
    """Read a spec file: (data, positions, the file's text). Missing files are SpecErrors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such spec file: {str(path)!r}.") from None
    except IsADirectoryError:
        raise SpecError(f"expected a YAML file. Received a directory: {str(path)!r}.") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"expected UTF-8 text in {str(path)!r}: {error}.") from None
    data, positions = parse_yaml(text, str(path))
    return data, positions, text
