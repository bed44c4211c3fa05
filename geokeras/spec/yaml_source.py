"""Safe, bounded YAML reading that remembers where every key came from.

``read_yaml_file(path)`` returns plain Python data (dicts, lists, scalars) together with a
:class:`Positions` map from key paths to ``file:line:column``, so that any later error
(schema validation, model building) can point at the exact line of the spec. Only the safe
YAML constructors are used: a spec can never instantiate Python objects. Duplicate keys,
which plain PyYAML silently overwrites, are errors here. Plain scalars are read by the YAML 1.2
core schema, and forms YAML 1.1 reads otherwise (``010``, ``1:30``, ``yes``) are refused
(:mod:`geokeras.spec.yaml_scalars`).

A spec file is untrusted input, so reading one is bounded: the file size
(:data:`MAX_FILE_BYTES`), the nesting depth (:data:`MAX_DEPTH`, checked while composing,
before PyYAML's recursive composer can exhaust the stack) and the number of values after
alias expansion (:data:`MAX_NODES`: a few hundred bytes of nested aliases would otherwise
expand to billions of values). Every failure is a :class:`SpecError` with a location.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from geokeras.errors import KeyPath, SpecError, shortened
from geokeras.spec.yaml_scalars import CORE_TAGS, STR, AmbiguousScalarError, construct_core, read_plain_scalar

MAX_FILE_BYTES = 1 << 20
"""A spec file is at most 1 MiB; the shipped specs are below 4 KiB."""

MAX_DEPTH = 64
"""Mappings and lists nest at most this deep (after alias expansion); the shipped specs nest 5 deep."""

MAX_NODES = 100_000
"""A spec holds at most this many values, counted after expanding aliases and merge keys."""

_DEPTH_MESSAGE = (
    f"expected a nesting depth of at most {MAX_DEPTH} (mappings and lists inside each other). Received deeper nesting."
)

_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN = "tag:geokeras,2026:plain"
"""The tag of an untagged plain scalar, whose value the YAML 1.2 core schema decides."""
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str": "a string",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
}
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

Location = Union[str, tuple[str, int, int]]
"""``"file:line:column"``, or (file, 0-based line, 0-based column), formatted when asked for."""


class Positions:
    """Map from key paths to ``"file:line:column"`` (1-based) strings.

    The location of a path that was never written (a missing key, a default) is the
    location of its closest written ancestor. Entries are kept as (file, line, column)
    tuples sharing one file name and formatted on demand: a spec of 100,000 values with a
    long file name must not hold 100,000 copies of it.
    """

    def __init__(self, entries: Optional[dict[KeyPath, Location]] = None):
        self._entries: dict[KeyPath, Location] = dict(entries or {})

    def __setitem__(self, path: KeyPath, location: Location) -> None:
        self._entries[tuple(path)] = location

    def locate(self, path: KeyPath) -> Optional[str]:
        """Where ``path`` (or its closest written ancestor) was written, if anywhere."""
        path = tuple(path)
        while True:
            if path in self._entries:
                return _format(self._entries[path])
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


def _format(location: Location) -> str:
    if isinstance(location, str):
        return location
    source, line, column = location
    return f"{source}:{line + 1}:{column + 1}"


def _location(source: str, mark: yaml.Mark) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def text_location(source: str, text: str, index: int) -> str:
    """``source:line:column`` of character ``index`` of ``text``, counted as PyYAML counts."""
    prefix = text[:index]
    breaks = list(_LINE_BREAK.finditer(prefix))
    line_start = breaks[-1].end() if breaks else 0
    column = index - line_start - prefix.count("\ufeff", line_start)
    return f"{source}:{len(breaks) + 1}:{column + 1}"


# ----------------------------------------------------------------------------- reading
def read_yaml_file(path: Path) -> tuple[Any, Positions, str]:
    """Read a spec file: (data, positions, the file's text).

    Missing, unreadable, oversized and non-UTF-8 files are SpecErrors, as is every problem
    of the YAML inside.
    """
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"no such spec file: {source!r}.", location=source) from None
    except IsADirectoryError:
        raise SpecError(f"expected a YAML file. Received a directory: {source!r}.", location=source) from None
    except OSError as error:
        raise SpecError(f"cannot read the spec file {source!r}: {error.strerror or error}.", location=source) from None
    except ValueError:  # open() refuses a path holding a NUL byte
        raise SpecError(f"expected a file path. Received a path holding a NUL byte: {source!r}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            f"expected a spec file of at most {MAX_FILE_BYTES} bytes (1 MiB). Received a larger file.",
            location=source,
        )
    text = decode_utf8(raw, source)
    data, positions = parse_yaml(text, source)
    return data, positions, text


def decode_utf8(raw: bytes, source: str) -> str:
    """``raw`` as UTF-8 text; a byte that is not UTF-8 is an error at its line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8")
        raise SpecError(
            f"expected UTF-8 text. Received the byte 0x{raw[error.start]:02x}, which is not UTF-8 here.",
            location=text_location(source, before, len(before)),
        ) from None


def parse_yaml(text: str, source: str) -> tuple[Any, Positions]:
    """Parse YAML ``text`` (named ``source`` in messages) into data and positions, within the limits."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(
            f"expected YAML text of at most {MAX_FILE_BYTES} characters. Received {len(text)}.", location=source
        )
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise SpecError(
            f"malformed YAML: expected printable text. Received the unprintable character U+{ord(bad.group()):04X}.",
            location=text_location(source, text, bad.start()),
        )
    loader: Optional[_BoundedLoader] = None
    try:
        loader = _BoundedLoader(text, source)
        root = loader.get_single_node()
        positions = Positions()
        if root is None:
            return None, positions
        positions[()] = _location(source, root.start_mark)
        return _Builder(loader, source, positions).build(root, (), 0), positions
    except yaml.reader.ReaderError as error:
        where = text_location(source, text, error.position)
        raise SpecError(f"malformed YAML: {error.reason}.", location=where) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _location(source, mark) if mark else source
        problem = error.problem or "invalid YAML"
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000), met while looking ahead
            raise SpecError(_DEPTH_MESSAGE, location=where) from None
        context = f" ({error.context})" if error.context else ""
        raise SpecError(f"malformed YAML: {problem}{context}.", location=where) from None
    except yaml.YAMLError as error:
        raise SpecError(f"malformed YAML: {error}.", location=source) from None
    except RecursionError:  # a guard only: the depth limit stops nesting long before the stack ends
        raise SpecError(
            f"malformed YAML: nested too deeply to read (at most {MAX_DEPTH} levels).", location=source
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: its Python parser, with the same limits
    CParser = None


if CParser is not None:

    class _SafeBase(CParser, Composer, SafeConstructor, Resolver):
        """libyaml's event parser (about 8x faster than PyYAML's Python one) under PyYAML's Python
        composer, so that the composer below can count and bound what it builds."""

        def __init__(self, text: str):
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

else:
    _SafeBase = yaml.SafeLoader


class _BoundedLoader(_SafeBase):
    """A safe loader whose composer refuses deep nesting and too many nodes.

    PyYAML composes nested collections by recursion; counting depth here stops a file of
    thousands of ``[`` before the recursion can run out of stack.
    """

    def __init__(self, text: str, source: str):
        _SafeBase.__init__(self, text)
        self._source = source
        self._depth = 0
        self._composed = 0

    def get_single_node(self) -> Optional[yaml.Node]:
        return Composer.get_single_node(self)  # libyaml's own composer would bypass compose_node below

    def compose_node(self, parent: Optional[yaml.Node], index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._composed += 1
        if self._composed > MAX_NODES:
            raise SpecError(
                f"expected at most {MAX_NODES} values in a spec. Received more.",
                location=_location(self._source, event.start_mark),
            )
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise SpecError(
                _DEPTH_MESSAGE,
                location=_location(self._source, event.start_mark),
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        """Plain scalars are read later, by the YAML 1.2 core schema (:mod:`geokeras.spec.yaml_scalars`)."""
        if kind is yaml.ScalarNode and implicit[0]:
            return _MERGE if value == "<<" else _PLAIN
        return super().resolve(kind, value, implicit)


class _Builder:
    """Turns composed nodes into plain data, recording positions and enforcing the limits.

    Aliases reuse the aliased node object, so a node reached twice is built (and counted)
    twice: that is what the data will hold. A node met again below itself is a recursive
    alias, which plain data cannot hold.
    """

    def __init__(self, loader: yaml.SafeLoader, source: str, positions: Positions):
        self.loader = loader
        self.source = source
        self.positions = positions
        self.visits = 0
        self.open_nodes: set[int] = set()

    def mark(self, node: yaml.Node) -> tuple[str, int, int]:
        return (self.source, node.start_mark.line, node.start_mark.column)

    def error(self, message: str, path: KeyPath, node: yaml.Node) -> SpecError:
        return SpecError(message, path, _location(self.source, node.start_mark))

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.error(
                f"expected at most {MAX_NODES} values in a spec, counting each use of an alias. "
                f"Received more (aliases expanding to too many values).",
                path,
                node,
            )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_MAP, _SEQ):
            raise self.error(
                f"malformed YAML: unsupported tag {node.tag!r}; a spec holds plain mappings, lists and scalars only.",
                path,
                node,
            )
        if depth >= MAX_DEPTH:
            raise self.error(
                f"expected a nesting depth of at most {MAX_DEPTH} (mappings and lists inside each other). "
                f"Received deeper nesting through aliases.",
                path,
                node,
            )
        if id(node) in self.open_nodes:
            raise self.error("malformed YAML: a recursive alias (a value that contains itself).", path, node)
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                result: dict[str, Any] = {}
                for key, key_node, value_node in self.pairs(node, path, depth):
                    self.positions[path + (key,)] = self.mark(key_node)
                    result[key] = self.build(value_node, path + (key,), depth + 1)
                return result
            items = []
            for index, item_node in enumerate(node.value):
                self.positions[path + (index,)] = self.mark(item_node)
                items.append(self.build(item_node, path + (index,), depth + 1))
            return items
        finally:
            self.open_nodes.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        """A plain scalar read by the YAML 1.2 core schema; an explicitly tagged one checked against its tag."""
        if node.tag != _PLAIN and node.tag not in _SCALAR_TAGS:
            raise self.error(
                f"malformed YAML: unsupported tag {node.tag!r}; a spec holds plain mappings, lists and "
                f"strings, numbers, booleans and null only.",
                path,
                node,
            )
        try:
            if node.tag == _PLAIN:
                return read_plain_scalar(node.value)
            if node.tag == STR:
                return node.value
            if node.tag in CORE_TAGS:  # !!int 010 is as ambiguous as 010
                read_plain_scalar(node.value)
                return construct_core(node.tag, node.value)
            return self.loader.construct_object(node, deep=True)
        except AmbiguousScalarError as error:
            raise self.error(str(error), path, node) from None
        except (ValueError, OverflowError) as error:
            if "Exceeds the limit" in str(error):  # Python reads at most 4300 decimal digits
                raise self.error(
                    f"expected an integer of at most 64 bits (-2**63 to 2**63 - 1). Received an integer "
                    f"of {len(node.value)} characters.",
                    path,
                    node,
                ) from None
            raise self.error(
                f"expected {_SCALAR_TAGS[node.tag]}. Received {shortened(node.value, 40)!r}, "
                f"which cannot be read as one.",
                path,
                node,
            ) from None

    def pairs(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) of a mapping, with YAML merge keys (``<<``) expanded.

        Keys written in the mapping override merged ones wherever they stand; among merged
        mappings the earlier one wins (YAML 1.1). Repeating a written key is an error.
        """
        written: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE and isinstance(key_node, yaml.ScalarNode):
                for source_node in self.merge_sources(value_node, path, depth):
                    for key, pair in self.merged_pairs(source_node, path, depth + 1).items():
                        merged.setdefault(key, pair)
                continue
            key = self.key(key_node, path)
            if key in written:
                raise self.error(
                    f"duplicate key {key!r}: each key may appear once in a mapping.", path + (key,), key_node
                )
            written[key] = (key_node, value_node)
        for key, (key_node, value_node) in merged.items():
            if key not in written:
                yield key, key_node, value_node
        for key, (key_node, value_node) in written.items():
            yield key, key_node, value_node

    def merge_sources(self, value_node: yaml.Node, path: KeyPath, depth: int) -> list[yaml.MappingNode]:
        self.visits += 1
        if isinstance(value_node, yaml.MappingNode):
            return [value_node]
        items = value_node.value if isinstance(value_node, yaml.SequenceNode) else None
        if items is not None and all(isinstance(item, yaml.MappingNode) for item in items):
            return list(items)
        raise self.error("expected a mapping or a list of mappings after the merge key '<<'.", path, value_node)

    def merged_pairs(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The pairs a merged mapping contributes (its own merge keys expanded), counted and bounded."""
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.error(
                f"expected at most {MAX_NODES} values in a spec, counting each use of an alias. "
                f"Received more (merge keys expanding to too many values).",
                path,
                node,
            )
        if node.tag != _MAP:
            raise self.error(f"malformed YAML: unsupported tag {node.tag!r} on a merged mapping.", path, node)
        if depth >= MAX_DEPTH:
            raise self.error(
                f"expected a nesting depth of at most {MAX_DEPTH}. Received merge keys nested deeper.", path, node
            )
        if id(node) in self.open_nodes:
            raise self.error("malformed YAML: a recursive alias (a mapping that merges itself).", path, node)
        self.open_nodes.add(id(node))
        try:
            return {key: (key_node, value_node) for key, key_node, value_node in self.pairs(node, path, depth)}
        finally:
            self.open_nodes.discard(id(node))

    def key(self, key_node: yaml.Node, path: KeyPath) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "mapping" if isinstance(key_node, yaml.MappingNode) else "list"
            raise self.error(f"expected keys to be strings. Received a {kind} as a key.", path, key_node)
        key = self.scalar(key_node, path)
        if not isinstance(key, str):
            raise self.error(
                f"expected keys to be strings. Received the key {key!r} ({type(key).__name__}).", path, key_node
            )
        return key
