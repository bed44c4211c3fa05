"""Loading specs: every error kind with its place, extends, overrides, hash, upgrades."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from geokeras.errors import SpecError, SpecErrors
from geokeras.spec import SPEC_VERSION, load_spec, spec_from_mapping
from geokeras.spec import upgrade as upgrade_module
from geokeras.spec.resolve import parse_override
from tests.conftest import load_error, write

MINIMAL = """\
spec_version: 1
name: tiny
manifold:
  type: circle
  radius: 2.0
model:
  latent_dim: 2
  encoder: {type: mlp, widths: [8, 8]}
"""


# ----------------------------------------------------------------------------- valid specs
def test_minimal_spec_fills_every_default(tmp_path):
    spec = load_spec(write(tmp_path, "s.yaml", MINIMAL))
    resolved = spec.to_dict()
    assert resolved["spec_version"] == SPEC_VERSION
    assert resolved["manifold"] == {
        "type": "circle",
        "samples": 4096,
        "measure": "volume",
        "noise": {"type": "gaussian", "std": 0.0, "direction": "isotropic"},
        "embed": {"type": "isometric", "ambient_dim": None},
        "radius": 2.0,
    }
    assert resolved["model"]["decoder"] == {"type": "mirror"}
    assert resolved["train"]["optimizer"]["type"] == "adam"
    assert resolved["evaluate"] == [{"type": "reconstruction", "samples": 2000, "tile_size": 1024}]
    assert list(resolved["model"]["encoder"])[0] == "type"  # type first in every mapping


def test_resolved_yaml_round_trips_to_the_same_hash(tmp_path):
    spec = load_spec(write(tmp_path, "s.yaml", MINIMAL))
    again = load_spec(write(tmp_path, "resolved.yaml", spec.to_yaml()))
    assert again.to_dict() == spec.to_dict()
    assert again.content_hash == spec.content_hash


def test_hash_ignores_key_order_comments_and_explicit_defaults(tmp_path):
    first = load_spec(write(tmp_path, "a.yaml", MINIMAL))
    reordered = """\
    # a comment
    model: {encoder: {widths: [8, 8], type: mlp}, latent_dim: 2, decoder: {type: mirror}}
    manifold: {radius: 2, type: circle, samples: 4096}
    name: tiny
    seed: 0
    """
    second = load_spec(write(tmp_path, "b.yaml", reordered))
    assert second.content_hash == first.content_hash
    assert len(first.content_hash) == 64 and first.run_name == f"tiny-{first.content_hash[:12]}"


def test_hash_changes_with_any_value(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    hashes = {
        load_spec(path).content_hash,
        load_spec(path, ["seed=1"]).content_hash,
        load_spec(path, ["manifold.radius=2.5"]).content_hash,
        load_spec(path, ["model.encoder.widths=[8, 9]"]).content_hash,
    }
    assert len(hashes) == 4


def test_hash_is_stable_across_processes(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    code = f"from geokeras.spec import load_spec; print(load_spec({str(path)!r}).content_hash)"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {load_spec(path).content_hash}


def test_evaluators_by_name_or_mapping(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL + "evaluate: [{type: reconstruction, samples: 10}]\n")
    assert load_spec(path).evaluate[0].samples == 10
    by_name = write(tmp_path, "n.yaml", MINIMAL + "evaluate: [reconstruction]\n")
    assert load_spec(by_name).evaluate[0].samples == 2000


# ----------------------------------------------------------------------------- extends
def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path):
    write(tmp_path, "base.yaml", MINIMAL + "train: {epochs: 7, batch_size: 32}\n")
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        model: {encoder: {widths: [4]}}
        train: {epochs: 3}
        """,
    )
    spec = load_spec(child)
    assert spec.name == "child"
    assert spec.model.latent_dim == 2  # kept from the base
    assert spec.model.encoder.widths == [4]  # list replaced
    assert (spec.train.epochs, spec.train.batch_size) == (3, 32)
    assert spec.manifold.radius == 2.0


def test_extends_with_another_type_replaces_the_section(tmp_path):
    write(tmp_path, "base.yaml", MINIMAL)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nmanifold: {type: archimedean_spiral, turns: 2}\n")
    spec = load_spec(child)
    assert spec.manifold.type == "archimedean_spiral" and spec.manifold.turns == 2.0


def test_extends_in_a_subdirectory_is_relative_to_the_file(tmp_path):
    (tmp_path / "bases").mkdir()
    write(tmp_path / "bases", "base.yaml", MINIMAL)
    write(tmp_path / "bases", "middle.yaml", "extends: base.yaml\nseed: 5\n")
    child = write(tmp_path, "child.yaml", "extends: bases/middle.yaml\nname: deep\n")
    spec = load_spec(child)
    assert (spec.name, spec.seed, spec.manifold.radius) == ("deep", 5, 2.0)


def test_error_in_a_base_points_at_the_base_file(tmp_path):
    write(tmp_path, "base.yaml", MINIMAL.replace("radius: 2.0", "radius: -2.0"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    error = load_error(child)
    assert error.location == f"{tmp_path / 'base.yaml'}:5:3"
    assert error.path == ("manifold", "radius")


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    error = load_error(tmp_path / "a.yaml")
    assert "extends cycle" in error.message
    assert error.path == ("extends",)
    assert error.location.endswith("b.yaml:1:1")


def test_extends_missing_base(tmp_path):
    error = load_error(write(tmp_path, "a.yaml", "name: a\nextends: nowhere.yaml\n"))
    assert "does not exist" in error.message and "nowhere.yaml" in error.message
    assert error.location == f"{tmp_path / 'a.yaml'}:2:1"


# ----------------------------------------------------------------------------- overrides
def test_overrides_are_yaml_typed_and_applied_last(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    spec = load_spec(
        path,
        [
            "train.epochs=3",
            "model.encoder.widths=[5, 6]",
            "manifold.radius=0.5",
            "train.optimizer={type: sgd, momentum: 0.5}",
            "model.encoder.widths.1=7",
        ],
    )
    assert spec.train.epochs == 3
    assert spec.model.encoder.widths == [5, 7]
    assert spec.manifold.radius == 0.5
    assert spec.train.optimizer.type == "sgd" and spec.train.optimizer.momentum == 0.5
    assert spec.origin.overrides[0] == "train.epochs=3"


def test_override_errors_name_the_command_line(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    error = load_error(path, ["train.epochs=-1"])
    assert error.location == "<command line> 'train.epochs=-1'"
    assert error.path == ("train", "epochs")
    with pytest.raises(SpecError, match="key.path=value"):
        load_spec(path, ["train.epochs"])
    assert parse_override("a.b.2=[1, 2]") == (("a", "b", 2), [1, 2])
    assert parse_override("a=") == (("a",), None)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "text, path, location, fragments",
    [
        (MINIMAL.replace("radius: 2.0", "radius: [2.0"), (), "6:6", ["malformed YAML", "expected ',' or ']'"]),
        (
            MINIMAL.replace("widths: [8, 8]", "widht: [8, 8]"),
            ("model", "encoder", "widht"),
            "8:24",
            ["unknown key 'widht'", "Did you mean 'widths'?"],
        ),
        (
            MINIMAL.replace("latent_dim: 2", "latent_dim: two"),
            ("model", "latent_dim"),
            "7:3",
            ["valid integer", "Received: 'two'"],
        ),
        (
            MINIMAL.replace("widths: [8, 8]", "widths: [8, -8]"),
            ("model", "encoder", "widths", 1),
            "8:36",
            ["greater than 0", "Received: -8"],
        ),
        (
            MINIMAL.replace("type: circle", "type: circel"),
            ("manifold", "type"),
            "4:3",
            ["unknown type 'circel'", "archimedean_spiral", "Did you mean 'circle'?"],
        ),
        (MINIMAL.replace("latent_dim: 2\n", ""), ("model", "latent_dim"), "6:1", ["missing required key 'latent_dim'"]),
        (MINIMAL + "name: again\n", ("name",), "9:1", ["duplicate key 'name'"]),
        (
            MINIMAL.replace("spec_version: 1", "spec_version: 99"),
            ("spec_version",),
            "1:1",
            ["newer than this geokeras"],
        ),
        (MINIMAL.replace("name: tiny", "name: 'bad name/x'"), ("name",), "2:1", ["string should match pattern"]),
        (MINIMAL + "evaluate: [reconstruction, reconstruction]\n", ("evaluate",), "9:1", ["at most once"]),
        (
            MINIMAL + "train: {optimizer: {type: adam, learning_rate: {type: exponential_decay, decay_steps: 5, "
            "decay_rate: 0.5}}}\n",
            ("train", "optimizer", "learning_rate", "initial_learning_rate"),
            "9:33",
            ["missing required key 'initial_learning_rate'"],
        ),
    ],
    ids=[
        "malformed",
        "misspelled",
        "wrong-type",
        "negative-width",
        "unknown-type",
        "missing",
        "duplicate",
        "newer-version",
        "bad-name",
        "repeated-evaluator",
        "schedule-missing-key",
    ],
)
def test_each_error_names_file_line_and_key(tmp_path, text, path, location, fragments):
    spec_path = write(tmp_path, "bad.yaml", text)
    error = load_error(spec_path)
    assert error.path == path
    assert error.location == f"{spec_path}:{location}"
    message = str(error)
    assert message.startswith(f"{spec_path}:{location}: ")
    for fragment in fragments:
        assert fragment in message


def test_lambda_layer_is_refused(tmp_path):
    text = MINIMAL.replace(
        "encoder: {type: mlp, widths: [8, 8]}",
        "encoder:\n    type: keras_layers\n    layers:\n      - {class_name: Dense, config: {units: 4}}\n"
        "      - {class_name: Lambda, config: {function: print}}",
    )
    error = load_error(write(tmp_path, "lambda.yaml", text))
    assert error.path == ("model", "encoder", "layers", 1, "class_name")
    assert error.message == (
        "expected a Keras layer that carries no code (forbidden: Lambda, TFSMLayer, TorchModuleWrapper, JaxLayer, "
        "FlaxLayer: they can run arbitrary code). Received: class_name='Lambda'."
    )
    assert error.location.endswith(":12:10")


def test_several_problems_are_reported_together(tmp_path):
    text = MINIMAL.replace("radius: 2.0", "radius: -1").replace("latent_dim: 2", "latent_dim: 0")
    with pytest.raises(SpecErrors) as caught:
        load_spec(write(tmp_path, "two.yaml", text))
    assert [error.path for error in caught.value.errors] == [("manifold", "radius"), ("model", "latent_dim")]
    assert str(caught.value).startswith("2 problems in the spec:")


@pytest.mark.parametrize("text, expected", [("", "empty file"), ("- 1\n- 2\n", "list"), ("3\n", "int")])
def test_top_level_must_be_a_mapping(tmp_path, text, expected):
    error = load_error(write(tmp_path, "s.yaml", text))
    assert "expected a mapping of spec sections" in error.message and expected in error.message


def test_missing_spec_file(tmp_path):
    error = load_error(tmp_path / "absent.yaml")
    assert "no such spec file" in error.message and "absent.yaml" in error.message


def test_unsafe_yaml_tags_are_refused(tmp_path):
    error = load_error(write(tmp_path, "s.yaml", MINIMAL + "seed: !!python/object/apply:os.system ['true']\n"))
    assert "malformed YAML" in error.message


def test_mapping_specs_validate_like_files():
    spec = spec_from_mapping(yaml.safe_load(MINIMAL), ["seed=3"])
    assert spec.seed == 3
    with pytest.raises(SpecError) as caught:
        spec_from_mapping({**yaml.safe_load(MINIMAL), "sed": 1})
    assert caught.value.path == ("sed",) and "Did you mean 'seed'?" in caught.value.message


# ----------------------------------------------------------------------------- upgrades
def test_upgrades_run_from_the_file_version(tmp_path, monkeypatch):
    monkeypatch.setattr(upgrade_module, "SPEC_VERSION", 2)

    def rename_samples(data):
        manifold = dict(data["manifold"])
        manifold["samples"] = manifold.pop("n_samples")
        return {**data, "manifold": manifold}

    monkeypatch.setitem(upgrade_module.UPGRADES, 1, rename_samples)
    old = MINIMAL.replace("radius: 2.0", "radius: 2.0\n  n_samples: 100")
    data = yaml.safe_load(old)
    upgraded = upgrade_module.upgrade_to_current(data)
    assert upgraded["spec_version"] == 2 and upgraded["manifold"]["samples"] == 100
    with pytest.raises(SpecError, match="no upgrade is registered from spec_version 1 to 2"):
        monkeypatch.delitem(upgrade_module.UPGRADES, 1)
        upgrade_module.upgrade_to_current(data)


def test_loading_does_not_import_tensorflow(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL)
    code = (
        "import sys; from geokeras.cli import main; main(['validate', %r]); main(['render', %r]);"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, 'matplotlib' in sys.modules)"
    ) % (str(path), str(path))
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip().splitlines()[-1] == "False False False"


def test_sections_without_type_mean_the_default_type(tmp_path):
    path = write(tmp_path, "s.yaml", MINIMAL.replace("encoder: {type: mlp, widths: [8, 8]}", "encoder: {widths: [3]}"))
    spec = load_spec(
        path, ["train.optimizer.learning_rate=0.5", "manifold.embed.ambient_dim=4", "manifold.noise.std=0.1"]
    )
    assert (spec.model.encoder.type, spec.model.encoder.widths) == ("mlp", [3])
    assert (spec.train.optimizer.type, spec.train.optimizer.learning_rate) == ("adam", 0.5)
    assert (spec.manifold.embed.type, spec.manifold.embed.ambient_dim) == ("isometric", 4)
    assert (spec.manifold.noise.type, spec.manifold.noise.std) == ("gaussian", 0.1)
    error = load_error(path, ["manifold.noise.std=-1"])
    assert error.path == ("manifold", "noise", "std")
    assert load_error(path, ["model.decoder={widths: [2]}"]).message.startswith("expected a mapping with a `type:` key")


def test_version_1_learnability_thresholds_are_dropped_by_the_upgrade():
    data = yaml.safe_load(MINIMAL)
    data["spec_version"] = 1
    data["evaluate"] = [
        {"type": "learnability", "fold_ratio": 0.1, "turn_tolerance": 0.0, "points": 100},
        "reconstruction",
    ]
    upgraded = upgrade_module.upgrade_to_current(data)
    assert upgraded["spec_version"] == 2
    assert upgraded["evaluate"] == [{"type": "learnability", "points": 100}, "reconstruction"]


def test_each_type_upgrades_its_own_mapping_and_the_input_is_left_alone(monkeypatch):
    from geokeras.registry import MANIFOLDS

    circle = MANIFOLDS["circle"].params

    def rename_samples(data, version):
        assert version == 1
        return {("samples" if key == "n_samples" else key): value for key, value in data.items()}

    monkeypatch.setattr(
        circle, "upgrade_mapping", classmethod(lambda cls, data, version: rename_samples(data, version))
    )
    data = yaml.safe_load(MINIMAL.replace("radius: 2.0", "radius: 2.0\n  n_samples: 100"))
    data["spec_version"] = 1
    before = copy.deepcopy(data)
    upgraded = upgrade_module.upgrade_to_current(data)
    assert upgraded["manifold"] == {"type": "circle", "radius": 2.0, "samples": 100}
    assert data == before
