"""Plain YAML scalars read by the YAML 1.2 core schema, refusing the forms YAML 1.1 reads otherwise.

PyYAML implements YAML 1.1, where ``010`` is octal 8, ``1:3:0.5`` is the base-60 number 3780.5,
``1_5`` is 15 and ``yes``/``no``/``on``/``off`` are booleans. YAML 1.2 (and every other modern
reader) reads the first as 10 and the rest as text. A spec or an override that silently means
something else than its author meant is worse than one that is refused, so a plain (unquoted)
scalar is read by the YAML 1.2 core schema:

==========  =================================================================================
null        ``~``, ``null``, ``Null``, ``NULL``, nothing at all
boolean     ``true``, ``True``, ``TRUE``, ``false``, ``False``, ``FALSE``
integer     ``[-+]?[0-9]+`` (decimal), ``0o[0-7]+`` (octal), ``0x[0-9a-fA-F]+`` (hexadecimal)
number      ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``, ``[-+]?.inf``, ``.nan``
string      everything else
==========  =================================================================================

except that a scalar YAML 1.1 reads as a *different non-string value* (``010``, ``1:30``,
``1_000``, ``yes``, ``0b101``, ``-0x1F``), and a decimal integer written with a leading zero
(``09``), is refused as ambiguous with a message saying what to write instead. Quoted scalars
are always strings. Forms YAML 1.1 reads as text but YAML 1.2 as a number (``1e-3``, ``0o17``)
are numbers: that is what their authors mean.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

NULL, BOOL, INT, FLOAT, STR = (f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str"))

_CORE_SCHEMA = (
    (NULL, re.compile(r"~|null|Null|NULL|")),
    (BOOL, re.compile(r"true|True|TRUE|false|False|FALSE")),
    (INT, re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")),
    (FLOAT, re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")),
)
CORE_TAGS = (NULL, BOOL, INT, FLOAT)
"""The tags whose plain scalars the core schema reads as something other than text."""
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_YAML_11_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_YAML_11_FIRST_CHARACTERS = frozenset("0123456789+-.:yYnNoO")
"""The first characters of every plain scalar YAML 1.1 reads as a boolean, a number or null."""


class AmbiguousScalarError(ValueError):
    """A plain scalar that YAML 1.1 and YAML 1.2 read as different values; the message says what to write."""


def core_schema_tag(text: str) -> str:
    """The YAML 1.2 core-schema tag of the plain scalar ``text`` (str when no other form matches)."""
    for tag, pattern in _CORE_SCHEMA:
        if pattern.fullmatch(text):
            return tag
    return STR


def construct_core(tag: str, text: str) -> Any:
    """The value of ``text`` as the core-schema ``tag``; ValueError when ``text`` is not of that form.

    An integer tag accepts only integer forms; a number tag also accepts integer forms (``!!float 1``).
    """
    written = core_schema_tag(text)
    if tag == STR:
        return text
    if tag == FLOAT and written == INT:
        return float(_integer(text))
    if written != tag:
        raise ValueError(f"{text!r} is not a YAML 1.2 {tag.rsplit(':', 1)[-1]}")
    if tag == NULL:
        return None
    if tag == BOOL:
        return text.lower() == "true"
    if tag == INT:
        return _integer(text)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


def _integer(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


@functools.lru_cache(maxsize=4096)  # scalars are immutable; aliases and long lists repeat the same texts
def read_plain_scalar(text: str) -> Any:
    """The value of the plain (unquoted) scalar ``text`` by the YAML 1.2 core schema.

    Raises:
        AmbiguousScalarError: ``text`` is a form that YAML 1.1 reads as another value (see the module
            docstring); its message names the form and what to write instead.
    """
    tag = core_schema_tag(text)
    value = construct_core(tag, text)
    if tag == STR and text[:1] not in _YAML_11_FIRST_CHARACTERS:
        return value  # YAML 1.1 reads text starting otherwise as text too
    if tag != STR and not (tag == INT and _LEADING_ZERO.fullmatch(text)):
        return value  # YAML 1.1 reads null, booleans, numbers and other integers of these forms alike, or as text
    old_value = _yaml_11_value(text)
    if _LEADING_ZERO.fullmatch(text) or (not isinstance(old_value, str) and not _same(old_value, value)):
        raise AmbiguousScalarError(_ambiguity(text, old_value, value))
    return value


def _same(first: Any, second: Any) -> bool:
    if isinstance(first, float) and isinstance(second, float) and math.isnan(first) and math.isnan(second):
        return True
    return type(first) is type(second) and first == second


_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


def _yaml_11_value(text: str) -> Any:
    """What PyYAML's YAML 1.1 safe loader makes of the plain scalar ``text`` (dates stay text)."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _YAML_11_TIMESTAMP or tag not in CORE_TAGS:
        return text
    try:
        return _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, text), deep=True)
    except (ValueError, OverflowError):
        return text


def _ambiguity(text: str, old_value: Any, value: Any) -> str:
    """Why ``text`` is refused, and what to write instead."""
    shown = repr(text)
    quote = f"or quote it ('{text}') for text"
    if isinstance(old_value, bool):
        return (
            f"expected true or false. Received {shown}, which YAML 1.1 reads as {str(old_value).lower()} and "
            f"YAML 1.2 as text: write {str(old_value).lower()}, {quote}."
        )
    if ":" in text:
        return (
            f"expected a number or text. Received {shown}, which YAML 1.1 reads as the base-60 number "
            f"{old_value!r}: write the number itself, {quote} (a sweep over a range is written "
            f"range(1,4) or linspace(0.5,2,4))."
        )
    if "_" in text:
        return (
            f"expected a number without underscores. Received {shown}, which YAML 1.1 reads as {old_value!r} "
            f"and YAML 1.2 as text: write {old_value!r}, {quote}."
        )
    if _LEADING_ZERO.fullmatch(text):
        old = f"the octal {old_value!r}" if isinstance(old_value, int) else "text"
        digits = text.lstrip("0")
        as_octal = f", 0o{digits} for octal" if text[0] == "0" and digits and set(digits) <= set("01234567") else ""
        return (
            f"expected an integer without a leading zero. Received {shown}, which YAML 1.1 reads as {old} and "
            f"YAML 1.2 as {value!r}: write {value!r}{as_octal}, {quote}."
        )
    return (
        f"expected a YAML 1.2 value. Received {shown}, which YAML 1.1 reads as {old_value!r} and YAML 1.2 as "
        f"{'text' if isinstance(value, str) else repr(value)}: write {old_value!r}, {quote}."
    )


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting every string that a YAML 1.2 reader would not read back as itself."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    try:
        plain_reads_back = core_schema_tag(text) == STR and read_plain_scalar(text) == text
    except AmbiguousScalarError:
        plain_reads_back = False
    return dumper.represent_scalar(STR, text, style=None if plain_reads_back else "'")


_Dumper.add_representer(str, _represent_text)


def dump_yaml(data: Any, **options: Any) -> str:
    """``yaml.safe_dump(data, **options)`` whose text reads back as ``data`` by these YAML 1.2 rules
    (PyYAML writes ``09`` and ``1e3`` as plain text, which YAML 1.2 reads as numbers or refuses)."""
    return yaml.dump(data, Dumper=_Dumper, **options)
