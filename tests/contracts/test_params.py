"""Every registered parameter model: a valid example, a JSON round trip, a schema, no unknown keys.

Parametrised over every type of every registry (tests/contracts/registries.py finds them), so a
new type is checked without new test code.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from geokeras.registry import SpecModel
from tests.contracts.registries import entries, example, registries


def test_the_registries_of_the_spec_language_are_all_found():
    found = set(registries())
    assert {
        "MANIFOLDS",
        "NOISES",
        "DENSITIES",
        "EMBEDDINGS",
        "ENCODERS",
        "DECODERS",
        "OPTIMIZERS",
        "LEARNING_RATE_SCHEDULES",
        "EVALUATORS",
        "OT_SOURCES",
        "OT_SOLVERS",
    } <= found
    assert all(registries()[name].names() for name in found), "a registry without any type"


@pytest.mark.parametrize("entry", entries())
def test_example_validates_and_is_a_spec_model(entry):
    params = example(entry)
    assert isinstance(params, entry.params) and params.type == entry.name
    assert issubclass(entry.params, SpecModel)  # unknown keys refused, frozen, no NaN


@pytest.mark.parametrize("entry", entries())
def test_example_round_trips_through_plain_json(entry):
    params = example(entry)
    dumped = params.model_dump(mode="json")
    text = json.dumps(dumped, allow_nan=False, sort_keys=True)
    again = entry.params.model_validate(json.loads(text))
    assert again == params
    assert json.dumps(again.model_dump(mode="json"), allow_nan=False, sort_keys=True) == text


@pytest.mark.parametrize("entry", entries())
def test_json_schema_names_the_type(entry):
    schema = entry.params.model_json_schema()
    json.dumps(schema, allow_nan=False)
    if "$ref" in schema:  # a recursive model (a curve times an interval) refers to its own definition
        schema = schema["$defs"][schema["$ref"].rpartition("/")[2]]
    assert schema["type"] == "object" and schema.get("additionalProperties") is False
    assert schema["properties"]["type"]["const"] == entry.name
    required = set(schema.get("required", ()))
    assert required <= set(schema["properties"]) and "type" not in required


@pytest.mark.parametrize("entry", entries())
def test_unknown_keys_are_refused(entry):
    dumped = example(entry).model_dump(mode="json")
    with pytest.raises(ValidationError) as caught:
        entry.params.model_validate({**dumped, "no_such_key": 1})
    assert [error["type"] for error in caught.value.errors()] == ["extra_forbidden"]
    assert caught.value.errors()[0]["loc"] == ("no_such_key",)


@pytest.mark.parametrize("entry", entries())
def test_required_keys_come_with_an_example(entry):
    # Without an example() a type with required keys could not be built by the contract tests.
    required = [name for name, field in entry.params.model_fields.items() if field.is_required()]
    if required:
        assert hasattr(entry.params, "example"), f"{entry.params.__name__} needs example(): requires {required}"
