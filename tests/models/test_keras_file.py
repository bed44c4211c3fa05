"""``type: keras_file``: a saved Keras model as encoder or decoder, found beside the spec, pinned by sha256."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

import geokeras
from geokeras.cli import main
from geokeras.errors import SpecError
from geokeras.files import file_sha256
from geokeras.spec import load_spec
from tests.conftest import cli_error, load_error, write

SPEC = """\
name: own-models
seed: 1
manifold: {type: circle, samples: 64}
model:
  latent_dim: 1
  encoder: {type: keras_file, path: nets/encoder.keras}
  decoder: {type: keras_file, path: nets/decoder.keras}
train: {epochs: 2, batch_size: 32, verbose: 0}
evaluate: [{type: reconstruction, samples: 32}]
report: {figures: false}
"""


def save_models(directory: Path, *, encoder_input: int = 2, latent: int = 1, decoder_output: int = 2) -> None:
    """A functional encoder R^encoder_input -> R^latent and decoder R^latent -> R^decoder_output in nets/."""
    keras.utils.set_random_seed(0)
    (directory / "nets").mkdir(exist_ok=True)
    x = keras.Input((encoder_input,))
    encoder = keras.Model(x, keras.layers.Dense(latent)(keras.layers.Dense(8, activation="relu")(x)), name="mine")
    codes = keras.Input((latent,))
    decoder = keras.Model(codes, keras.layers.Dense(decoder_output)(keras.layers.Dense(8)(codes)), name="back")
    encoder.save(directory / "nets" / "encoder.keras")
    decoder.save(directory / "nets" / "decoder.keras")


def test_the_resolved_spec_records_the_file_hash(tmp_path):
    save_models(tmp_path)
    spec = load_spec(write(tmp_path, "spec.yaml", SPEC))
    assert spec.model.encoder.sha256 == file_sha256(tmp_path / "nets" / "encoder.keras")
    assert spec.model.encoder.path == "nets/encoder.keras"  # as written: the hash holds no absolute path
    assert spec.to_dict()["model"]["decoder"]["sha256"] == file_sha256(tmp_path / "nets" / "decoder.keras")


def test_the_content_hash_follows_the_bytes_not_the_folder(tmp_path):
    save_models(tmp_path)
    first = load_spec(write(tmp_path, "spec.yaml", SPEC)).content_hash
    shutil.copytree(tmp_path, tmp_path.parent / "moved")
    assert load_spec(tmp_path.parent / "moved" / "spec.yaml").content_hash == first
    keras.utils.set_random_seed(7)
    x = keras.Input((2,))
    keras.Model(x, keras.layers.Dense(1)(x)).save(tmp_path / "nets" / "encoder.keras")
    assert load_spec(tmp_path / "spec.yaml").content_hash != first


def test_a_sha256_that_does_not_match_is_refused_at_its_key(tmp_path):
    save_models(tmp_path)
    text = SPEC.replace("path: nets/encoder.keras}", f"path: nets/encoder.keras, sha256: {'ab' * 32}}}")
    error = load_error(write(tmp_path, "spec.yaml", text))
    assert error.path == ("model", "encoder", "sha256")
    assert error.location == f"{tmp_path / 'spec.yaml'}:6:57"
    actual = file_sha256(tmp_path / "nets" / "encoder.keras")
    assert error.message.startswith(f"expected the bytes of {str(tmp_path / 'nets' / 'encoder.keras')!r} to have ")
    assert f"sha256 {'ab' * 32}. Received a file with sha256 {actual}" in error.message


def test_a_matching_sha256_is_accepted(tmp_path):
    save_models(tmp_path)
    actual = file_sha256(tmp_path / "nets" / "encoder.keras")
    text = SPEC.replace("path: nets/encoder.keras}", f"path: nets/encoder.keras, sha256: {actual}}}")
    assert load_spec(write(tmp_path, "spec.yaml", text)).model.encoder.sha256 == actual


def test_a_missing_file_is_refused_at_its_path(tmp_path):
    error = load_error(write(tmp_path, "spec.yaml", SPEC))
    assert error.path == ("model", "encoder", "path")
    assert error.message == (
        f"expected an existing file (relative to {str(tmp_path)!r}). Received: "
        f"{str(tmp_path / 'nets' / 'encoder.keras')!r}."
    )


def test_a_file_not_named_keras_is_refused(tmp_path):
    save_models(tmp_path)
    error = load_error(write(tmp_path, "spec.yaml", SPEC.replace("nets/decoder.keras", "nets/decoder.h5")))
    assert error.path == ("model", "decoder", "path")
    assert error.message == "expected a file ending in .keras. Received: 'nets/decoder.h5'."


def test_a_spec_with_own_files_runs_end_to_end(tmp_path):
    save_models(tmp_path)
    saved_encoder = keras.saving.load_model(tmp_path / "nets" / "encoder.keras")
    result = geokeras.run(write(tmp_path, "spec.yaml", SPEC), runs_root=tmp_path / "runs")
    models = result.run_dir / "models"
    assert sorted(path.name for path in models.iterdir()) == [
        "autoencoder.keras",
        "decoder.keras",
        "encoder.keras",
        "initial_decoder.keras",
        "initial_encoder.keras",
    ]
    x = np.linspace(-1, 1, 10, dtype=np.float32).reshape(5, 2)
    assert file_sha256(models / "initial_encoder.keras") == file_sha256(tmp_path / "nets" / "encoder.keras")
    assert not np.allclose(result.encoder.predict(x, verbose=0), saved_encoder.predict(x, verbose=0))
    resolved = yaml.safe_load((result.run_dir / "resolved.yaml").read_text())
    assert resolved["model"]["encoder"]["sha256"] == file_sha256(tmp_path / "nets" / "encoder.keras")
    assert result.metrics["training"]["epochs"] == 2


@pytest.mark.parametrize(
    "shapes, key, message",
    [
        (
            {"encoder_input": 3},
            "encoder",
            "expected the encoder to take inputs of shape (2,) (one data sample's shape). Received a model whose "
            "input shape is (3,).",
        ),
        (
            {"latent": 2},
            "encoder",
            "expected the encoder to output shape (1,) (latent_dim). Received a model whose output is (2,).",
        ),
        (
            {"decoder_output": 3},
            "decoder",
            "expected the decoder to output shape (2,) (one data sample's shape). Received a model whose output "
            "is (3,).",
        ),
    ],
)
def test_shapes_that_do_not_fit_the_data_are_refused_before_training(tmp_path, capsys, shapes, key, message):
    save_models(tmp_path, **shapes)
    if "latent" in shapes:  # the decoder must take the encoder's codes: keep its input at latent_dim
        keras.Model(x := keras.Input((1,)), keras.layers.Dense(2)(x)).save(tmp_path / "nets" / "decoder.keras")
    spec = write(tmp_path, "spec.yaml", SPEC)
    assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2
    line = 6 if key == "encoder" else 7
    assert cli_error(capsys.readouterr().err) == f"geokeras: error: {spec}:{line}:31: model.{key}.path: {message}"
    assert not (tmp_path / "run").exists()


def test_custom_layers_load_from_custom_objects_module(tmp_path):
    from geokeras.files import pin_files
    from geokeras.models.own_models import build_keras_file
    from geokeras.models.params import KerasFileParams
    from tests.models.keras_custom_layers import ScaleBy

    x = keras.Input((2,))
    keras.Model(x, ScaleBy(3.0)(keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(x))).save(
        tmp_path / "scaled.keras"
    )
    params = pin_files(KerasFileParams(path="scaled.keras"), tmp_path)
    with pytest.raises(SpecError) as caught:
        build_keras_file(params, input_shape=(2,), output_shape=(1,), role="encoder")
    assert caught.value.path == ("path",)
    assert "expected a Keras model file that loads in safe mode (a custom layer needs custom_objects_module)" in str(
        caught.value
    )
    custom = pin_files(
        KerasFileParams(path="scaled.keras", custom_objects_module="tests.models.keras_custom_layers"), tmp_path
    )
    encoder = build_keras_file(custom, input_shape=(2,), output_shape=(1,), role="encoder")
    assert encoder.name == "encoder"
    np.testing.assert_allclose(encoder.predict(np.array([[1.0, 2.0]]), verbose=0), [[9.0]])


def test_a_module_that_cannot_be_imported_is_refused_at_its_key(tmp_path):
    from geokeras.files import pin_files
    from geokeras.models.own_models import build_keras_file
    from geokeras.models.params import KerasFileParams

    save_models(tmp_path)
    params = KerasFileParams(path="nets/encoder.keras", custom_objects_module="no_such_module_here.layers")
    with pytest.raises(SpecError) as caught:
        build_keras_file(pin_files(params, tmp_path), input_shape=(2,), output_shape=(1,), role="encoder")
    assert caught.value.path == ("custom_objects_module",)
    assert caught.value.message == (
        "expected an importable Python module (on sys.path). Received 'no_such_module_here.layers': "
        "No module named 'no_such_module_here'"
    )


def test_an_encoder_an_exact_evaluator_cannot_lower_is_refused_before_training(tmp_path, capsys):
    save_models(tmp_path)
    x = keras.Input((2,))
    keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(4, activation="tanh", name="bent")(x))).save(
        tmp_path / "nets" / "encoder.keras"
    )
    text = SPEC.replace("evaluate: [{type: reconstruction, samples: 32}]", "evaluate: [rlc_on_manifold]")
    spec = write(tmp_path, "spec.yaml", text)
    assert main(["run", str(spec), "-o", str(tmp_path / "run")]) == 2
    assert cli_error(capsys.readouterr().err) == (
        f"geokeras: error: {spec}:9:12: evaluate[0].network: expected an encoder that the rlc_on_manifold "
        f"evaluator can lower to affine maps and ReLUs (Dense, Conv2D, BatchNormalization, ReLU, LeakyReLU, "
        f"Activation relu / leaky_relu / linear, Dropout, Flatten, Reshape). Received: Cannot lower layer 'bent' "
        f"of class Dense: activation 'tanh' is not piecewise linear; expected relu, leaky_relu or linear."
    )
    assert not (tmp_path / "run").exists()


def test_exact_cell_counts_apply_to_an_own_relu_encoder(tmp_path):
    """rlc_on_manifold counts the pieces of the trained encoder (inside its wrapper) along the circle's polyline:
    the runs of equal activation patterns along the 64 segments, found here by dense sampling."""
    from geokeras.complexity import lower

    save_models(tmp_path)
    text = SPEC.replace(
        "evaluate: [{type: reconstruction, samples: 32}]",
        "evaluate: [{type: rlc_on_manifold, resolution: 64, samples: 0}]",
    )
    result = geokeras.run(write(tmp_path, "spec.yaml", text), runs_root=tmp_path / "runs")
    network = lower(result.encoder)
    assert network.widths == [2, 8, 1]
    angles = 2 * np.pi * np.arange(65) / 64
    vertices = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    steps = np.linspace(0, 1, 2000, endpoint=False)[:, None]
    points = np.concatenate([start + steps * (end - start) for start, end in zip(vertices[:-1], vertices[1:])])
    patterns = network.activation_pattern(points)
    runs = int(np.any(patterns != np.roll(patterns, 1, axis=0), axis=1).sum())
    metrics = result.metrics["rlc_on_manifold"]
    assert metrics["method"] == "exact_polyline" and metrics["intervals"] == runs > 1
