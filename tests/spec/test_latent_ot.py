"""The latent_ot spec section: defaults, errors with key paths and positions, OT evaluators need it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from geokeras.errors import SpecError, SpecErrors
from geokeras.spec import load_spec
from tests.conftest import load_error
from tests.conftest import write as write_file

BASE = """\
spec_version: 1
name: ot
manifold: {type: gaussian_mixture, modes: 8}
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [8]}
"""


def write(directory: Path, extra: str, name: str = "s.yaml") -> Path:
    """The spec file ``BASE`` followed by ``extra``."""
    return write_file(directory, name, BASE + textwrap.dedent(extra))


def test_latent_ot_defaults_to_null_and_an_empty_mapping_takes_every_default(tmp_path):
    assert load_spec(write(tmp_path, "")).latent_ot is None
    resolved = load_spec(write(tmp_path, "latent_ot: {}\n")).to_dict()["latent_ot"]
    assert resolved["source"] == {"type": "uniform_cube", "sampling": "quasi_random", "low": -0.5, "high": 0.5}
    assert resolved["solver"]["type"] == "monte_carlo_adam" and resolved["solver"]["tol"] == 0.02
    assert resolved["generate"]["interpolation"] == "barycentric"
    assert resolved["generate"]["angle_threshold"] == 0.7 and resolved["generate"]["normalise_codes"] is True
    assert resolved["max_codes"] is None


def test_resolved_latent_ot_round_trips_to_the_same_hash(tmp_path):
    spec = load_spec(write(tmp_path, "latent_ot: {source: {type: gaussian, std: 2}, solver: {type: newton}}\n"))
    again = tmp_path / "resolved.yaml"
    again.write_text(spec.to_yaml(), encoding="utf-8")
    assert load_spec(again).content_hash == spec.content_hash


def test_overrides_reach_into_latent_ot(tmp_path):
    spec = load_spec(
        write(tmp_path, "latent_ot: {}\n"), ["latent_ot.generate.angle_threshold=0.3", "latent_ot.solver.tol=0.01"]
    )
    assert spec.latent_ot.generate.angle_threshold == 0.3 and spec.latent_ot.solver.tol == 0.01


@pytest.mark.parametrize(
    "extra, path, line, fragments",
    [
        (
            "latent_ot:\n  solver: {type: monte_carlo_adam, tool: 0.1}\n",
            "latent_ot.solver.tool",
            8,
            ["unknown key 'tool'", "Did you mean 'tol'?"],
        ),
        (
            "latent_ot:\n  source: {type: uniform_cub}\n",
            "latent_ot.source.type",
            8,
            ["unknown type 'uniform_cub'", "gaussian, uniform_ball, uniform_cube", "Did you mean 'uniform_cube'?"],
        ),
        (
            "latent_ot:\n  generate: {angle_threshold: 4}\n",
            "latent_ot.generate.angle_threshold",
            8,
            ["less than or equal to 3.14159", "Received: 4"],
        ),
        (
            "latent_ot:\n  generate: {interpolation: linear}\n",
            "latent_ot.generate.interpolation",
            8,
            ["'barycentric', 'inverse_distance', 'pairs' or 'none'", "Received: 'linear'"],
        ),
        ("latent_ot:\n  max_codes: 0\n", "latent_ot.max_codes", 8, ["greater than 0"]),
        ("latent_ot:\n  sover: {}\n", "latent_ot.sover", 8, ["unknown key 'sover'", "Did you mean 'solver'?"]),
    ],
)
def test_latent_ot_errors_name_key_file_and_line(tmp_path, extra, path, line, fragments):
    error = load_error(write(tmp_path, extra))
    assert error.path == tuple(int(part) if part.isdigit() else part for part in path.split("."))
    assert error.location is not None and error.location.startswith(f"{tmp_path / 's.yaml'}:{line}:")
    for fragment in fragments:
        assert fragment in error.message, error.message


@pytest.mark.parametrize("source", ["{type: uniform_cube, low: 1, high: 0}", "{low: 1, high: 0}"])
def test_source_bounds_must_be_ordered(tmp_path, source):
    # Without `type:` the default type's tag must not leak into the key path either.
    error = load_error(write(tmp_path, f"latent_ot:\n  source: {source}\n"))
    assert error.path == ("latent_ot", "source")
    assert "low < high" in error.message and "low=1.0, high=0.0" in error.message


def test_ot_evaluators_without_latent_ot_are_errors_at_their_list_entry(tmp_path):
    path = write(tmp_path, "evaluate:\n  - reconstruction\n  - {type: ot_quality}\n  - generation\n")
    with pytest.raises(SpecErrors) as caught:
        load_spec(path)
    first, second = caught.value.errors
    assert first.path == ("evaluate", 1, "type") and first.location.endswith(":9:6")  # the `type` key
    assert "the ot_quality evaluator needs the latent OT map" in first.message
    assert "Received: latent_ot=null" in first.message
    assert second.path == ("evaluate", 2) and "the generation evaluator" in second.message


def test_ot_evaluators_with_latent_ot_validate(tmp_path):
    spec = load_spec(write(tmp_path, "latent_ot: {}\nevaluate: [ot_quality, {type: generation, samples: 500}]\n"))
    assert [item.type for item in spec.evaluate] == ["ot_quality", "generation"]
    assert spec.evaluate[1].samples == 500


def test_validating_latent_ot_does_not_import_tensorflow(tmp_path):
    path = write(tmp_path, "latent_ot: {solver: {type: newton}}\nevaluate: [ot_quality, generation]\n")
    code = (
        "import sys; from geokeras.spec import load_spec; "
        f"load_spec({str(path)!r}); print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_evaluators_and_solvers_declare_what_they_need():
    from geokeras.ot.params import GaussianSourceParams, MonteCarloAdamParams, NewtonParams, UniformCubeSourceParams
    from geokeras.registry import EVALUATORS
    from geokeras.spec.schema import LATENT_OT_EVALUATORS

    declared = {name: EVALUATORS[name].params.needs_latent_ot for name in EVALUATORS.names()}
    assert all(isinstance(value, bool) for value in declared.values())
    assert LATENT_OT_EVALUATORS == ("generation", "ot_quality") == tuple(name for name in declared if declared[name])
    assert (MonteCarloAdamParams.resumable, NewtonParams.resumable) == (True, False)
    MonteCarloAdamParams().check_applicable(5, GaussianSourceParams())  # any dimension, any source
    NewtonParams().check_applicable(2, UniformCubeSourceParams())
    with pytest.raises(SpecError) as caught:
        NewtonParams().check_applicable(3, UniformCubeSourceParams())
    assert caught.value.path == ("type",)
    assert "Received: latent_dim=3, source type 'uniform_cube'" in caught.value.message
