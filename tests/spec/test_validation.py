"""Key paths of validation errors: union tags never leak into them, real keys never drop out."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError
from geokeras.spec import spec_from_mapping

MODEL = {"latent_dim": 2, "encoder": {"type": "mlp", "widths": [4]}}


def error_for(section: dict) -> SpecError:
    with pytest.raises(SpecError) as caught:
        spec_from_mapping({"spec_version": 1, "name": "v", "model": MODEL, **section})
    return caught.value


def test_a_failing_default_value_is_named_by_its_key():
    # `r` is not given: its default (1.0) fails against R = 0.5. The path still ends in r.
    error = error_for({"manifold": {"type": "klein_bottle", "R": 0.5}})
    assert error.path == ("manifold", "r") and "expected r < R = 0.5" in error.message


@pytest.mark.parametrize("source", [{"type": "uniform_cube", "low": 1, "high": 0}, {"low": 1, "high": 0}])
def test_a_model_validator_of_a_union_member_names_the_section(source):
    error = error_for({"manifold": {"type": "circle"}, "latent_ot": {"source": source}})
    assert error.path == ("latent_ot", "source") and "low < high" in error.message
