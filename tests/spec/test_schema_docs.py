"""Every property of the JSON Schema is described, in plain text or Markdown (no Sphinx markup)."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from geokeras.spec import json_schema
from geokeras.spec.schema import plain_description

SPHINX_MARKUP = re.compile(r":[a-z]+:`|``")


def properties(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    """Every (path, property schema) of ``node``, at every depth (``$defs`` included)."""
    if isinstance(node, dict):
        for name, value in (node.get("properties") or {}).items():
            yield f"{path}/properties/{name}", value
        for key, value in node.items():
            yield from properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from properties(item, f"{path}/{index}")


def descriptions(node: Any, path: str = "#") -> Iterator[tuple[str, str]]:
    """Every (path, description) of ``node``: of properties, models and the schema itself."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield path, value
            else:
                yield from descriptions(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from descriptions(item, f"{path}/{index}")


def test_the_walk_reaches_nested_definitions():
    paths = dict(properties(json_schema()))
    assert "#/properties/train" in paths
    assert "#/$defs/TrainSpec/properties/epochs" in paths
    assert "#/$defs/CosineDecayParams/properties/warmup_target" in paths
    assert len(paths) > 300


def test_every_property_has_a_description():
    undescribed = [
        path
        for path, schema in properties(json_schema())
        if not (isinstance(schema, dict) and str(schema.get("description", "")).strip())
    ]
    assert undescribed == []


def test_no_description_carries_sphinx_markup():
    marked = [(path, text) for path, text in descriptions(json_schema()) if SPHINX_MARKUP.search(text)]
    assert marked == []


@pytest.mark.parametrize(
    "text, plain",
    [
        ("A ``Spec`` by :func:`geokeras.load_spec`.", "A `Spec` by `geokeras.load_spec`."),
        (":meth:`~geokeras.registry.Registry.resolve`", "`resolve`"),
        (":py:class:`geokeras.Spec` and ``type: sphere``", "`geokeras.Spec` and `type: sphere`"),
        ("no markup, `already Markdown`", "no markup, `already Markdown`"),
    ],
)
def test_plain_description_rewrites_sphinx_markup_as_markdown(text, plain):
    assert plain_description(text) == plain


def test_type_keys_name_their_registry():
    definitions = json_schema()["$defs"]
    assert definitions["CircleParams"]["properties"]["type"]["description"] == "Selects the manifold type `circle`."
    assert definitions["MLPParams"]["properties"]["type"]["description"] == (
        "Selects the encoder or decoder type `mlp`."
    )
