"""make(): from a params object or a plain mapping, with spec errors naming the key."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError, SpecErrors
from geokeras.manifolds import make
from geokeras.manifolds.curves import ArchimedeanSpiral, Circle
from geokeras.manifolds.params import CircleParams


def test_make_from_params_and_from_mapping():
    from_params = make(CircleParams(radius=2.0))
    from_mapping = make({"type": "circle", "radius": 2})
    assert isinstance(from_params, Circle) and isinstance(from_mapping, Circle)
    assert from_mapping.params == from_params.params
    spiral = make({"type": "archimedean_spiral", "turns": 4, "embed": {"ambient_dim": 3}})
    assert isinstance(spiral, ArchimedeanSpiral) and spiral.ambient_dim == 3


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "circle", "radius": -1}, ("radius",), "greater than 0. Received: -1"),
        ({"type": "circle", "embed": {"ambient_dim": 1}}, ("embed", "ambient_dim"), "at least 2"),
        ({"type": "circle", "noise": {"std": -0.1}}, ("noise", "std"), "Received: -0.1"),
        ({"type": "circle", "radus": 1}, ("radus",), "Did you mean 'radius'"),
        ({"type": "circel"}, ("type",), "Did you mean 'circle'"),
        ({"radius": 1}, ("type",), "expected a `type` key"),
        ({"type": "archimedean_spiral", "measure": "area"}, ("measure",), "'volume' or 'parameter'"),
    ],
)
def test_bad_mapping_is_a_spec_error_naming_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path


def test_several_bad_keys_are_reported_together():
    with pytest.raises(SpecErrors) as info:
        make({"type": "circle", "radius": 0, "samples": -5})
    assert {error.path for error in info.value.errors} == {("radius",), ("samples",)}


def test_not_a_mapping_is_a_spec_error():
    with pytest.raises(SpecError, match="Received: list"):
        make([("type", "circle")])  # type: ignore[arg-type]
