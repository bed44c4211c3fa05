"""Registry.resolve / Registry.build: a name, a mapping or a params model -> validated params -> implementation."""

from __future__ import annotations

import pytest

from geokeras.errors import SpecError, SpecErrors, located_under
from geokeras.manifolds.params import CircleParams
from geokeras.ot.params import GaussianSourceParams, UniformCubeSourceParams
from geokeras.registry import MANIFOLDS, OT_SOURCES


def test_resolve_accepts_a_name_a_mapping_a_model_and_none_with_a_default():
    assert MANIFOLDS.resolve("circle") == CircleParams()
    assert MANIFOLDS.resolve({"type": "circle", "radius": 2}) == CircleParams(radius=2.0)
    model = CircleParams(radius=3.0)
    assert MANIFOLDS.resolve(model) is model
    assert OT_SOURCES.resolve(None, default="uniform_cube") == UniformCubeSourceParams()
    assert OT_SOURCES.resolve({"low": 0, "high": 1}, default="uniform_cube") == UniformCubeSourceParams(low=0, high=1)


def test_errors_are_relative_to_the_parameters_or_under_the_key_path():
    with pytest.raises(SpecError, match=r"^type: Unknown manifold type 'circel'.*Did you mean 'circle'\?") as caught:
        MANIFOLDS.resolve({"type": "circel"})
    assert caught.value.path == ("type",)
    with pytest.raises(SpecError) as caught:
        MANIFOLDS.resolve({"type": "circle", "radus": 1}, key_path=("manifold",))
    assert caught.value.path == ("manifold", "radus") and "Did you mean 'radius'" in caught.value.message
    with pytest.raises(SpecError, match=r"^type: expected a `type` key naming one of: .*Received keys: radius\."):
        MANIFOLDS.resolve({"radius": 1})
    with pytest.raises(SpecError, match=r"^expected a manifold type name, .* Received: list\.$"):
        MANIFOLDS.resolve([("type", "circle")])
    with pytest.raises(SpecError, match=r"^type: Unknown OT source type 'circle'"):
        OT_SOURCES.resolve(CircleParams())


def test_every_problem_of_a_mapping_is_reported():
    with pytest.raises(SpecErrors) as caught:
        MANIFOLDS.resolve({"type": "circle", "radius": 0, "samples": -5}, key_path=("manifold",))
    assert {error.path for error in caught.value.errors} == {("manifold", "radius"), ("manifold", "samples")}


def test_build_calls_the_implementation_and_locates_its_errors():
    source = OT_SOURCES.build("gaussian", 3)
    assert source.params == GaussianSourceParams() and source.dim == 3
    with pytest.raises(SpecError) as caught:  # raised by the Circle's embedding, not by validation
        MANIFOLDS.build({"type": "circle", "embed": {"ambient_dim": 1}}, key_path=("manifold",))
    assert caught.value.path == ("manifold", "embed", "ambient_dim")


def test_located_under_prefixes_unlocated_errors_only():
    with pytest.raises(SpecError) as caught, located_under("latent_ot", "solver"):
        raise SpecError("bad.", ("tol",))
    assert caught.value.path == ("latent_ot", "solver", "tol") and str(caught.value) == "latent_ot.solver.tol: bad."
    with pytest.raises(SpecErrors) as many, located_under("evaluate"):
        raise SpecErrors([SpecError("a.", (0, "k")), SpecError("b.", ("x",), "spec.yaml:3:5")])
    assert [error.path for error in many.value.errors] == [("evaluate", 0, "k"), ("x",)]
