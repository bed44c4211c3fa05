"""Image data sets: digits offline, MNIST / Fashion-MNIST through (fake) keras.datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.images import DIGITS_TRAIN_SIZE, Digits, FashionMnist, Mnist
from tests.conftest import fake_keras_data

REPOSITORY = Path(__file__).resolve().parents[2]
DIGITS_COUNT = 1797


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


# ----------------------------------------------------------------------------- digits
def test_digits_flat_are_sklearn_pixels_over_16_with_labels(sklearn_digits):
    digits = make({"type": "digits"})
    assert isinstance(digits, Digits)
    assert (digits.intrinsic_dim, digits.ambient_dim, digits.sample_shape) == (None, 64, (64,))
    assert digits.image_shape == (8, 8, 1) and digits.parameter_names == ("label", "index")
    points, parameters = digits.sample_with_parameters(300, seed=1)
    assert points.shape == (300, 64) and points.dtype == np.float64 and parameters.shape == (300, 2)
    labels, indices = parameters[:, 0].astype(int), parameters[:, 1].astype(int)
    # The train split is the first 1438 images of scikit-learn's order: index i is image i.
    np.testing.assert_array_equal(points, sklearn_digits.data[indices] / 16.0)
    np.testing.assert_array_equal(labels, sklearn_digits.target[indices])
    assert points.min() == 0.0 and points.max() == 1.0
    np.testing.assert_array_equal(digits.points_at(parameters), points)


def test_digits_kept_as_images_are_the_same_pixels(sklearn_digits):
    images = make({"type": "digits", "shape": "image"})
    flat = make({"type": "digits", "shape": "flat"})
    assert images.sample_shape == (8, 8, 1)
    stack, parameters = images.sample_with_parameters(50, seed=4)
    assert stack.shape == (50, 8, 8, 1)
    indices = parameters[:, 1].astype(int)
    np.testing.assert_array_equal(stack[..., 0], sklearn_digits.images[indices] / 16.0)
    np.testing.assert_array_equal(stack.reshape(50, 64), flat.sample(50, seed=4))


def test_digits_splits_and_class_filter(sklearn_digits):
    train = make({"type": "digits"})
    test = make({"type": "digits", "split": "test"})
    assert (train.size, test.size) == (DIGITS_TRAIN_SIZE, DIGITS_COUNT - DIGITS_TRAIN_SIZE) == (1438, 359)
    points, parameters = test.sample_with_parameters(359, seed=0)
    np.testing.assert_array_equal(points, sklearn_digits.data[DIGITS_TRAIN_SIZE + parameters[:, 1].astype(int)] / 16.0)

    some = make({"type": "digits", "classes": [0, 7]})
    expected = int(np.isin(sklearn_digits.target[:DIGITS_TRAIN_SIZE], [0, 7]).sum())
    assert some.size == expected
    _, parameters = some.sample_with_parameters(expected, seed=2)
    assert set(parameters[:, 0].astype(int)) == {0, 7}


def test_empirical_measure_without_then_with_replacement():
    digits = make({"type": "digits", "split": "test"})
    _, all_of_them = digits.sample_with_parameters(359, seed=5)
    np.testing.assert_array_equal(np.sort(all_of_them[:, 1]), np.arange(359))  # a permutation
    _, more = digits.sample_with_parameters(1000, seed=5)  # n > N: i.i.d. with replacement
    assert more.shape == (1000, 2) and len(np.unique(more[:, 1])) < 359 + 1
    assert len(np.unique(more[:, 1])) > 300  # 359 (1 - e^{-1000/359}) = 337 expected
    np.testing.assert_array_equal(digits.sample(100, seed=9), digits.sample(100, seed=9))
    assert not np.array_equal(digits.sample(100, seed=9), digits.sample(100, seed=10))


def test_digits_with_noise_and_embedding():
    lifted = make({"type": "digits", "embed": {"ambient_dim": 100}, "noise": {"std": 0.0}})
    assert lifted.ambient_dim == 100 and lifted.image_shape is None
    flat = make({"type": "digits"})
    x, y = lifted.sample(40, seed=3), flat.sample(40, seed=3)
    pairwise = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(pairwise(x), pairwise(y), atol=1e-12)
    noisy = make({"type": "digits", "noise": {"std": 0.1}})
    residual = noisy.sample(2000, seed=3) - flat.sample(2000, seed=3)
    assert abs(residual.std() - 0.1) < 0.002  # 2000 * 64 draws: standard error 0.1 / sqrt(2 * 128000)


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        ({"type": "digits", "shape": "image", "embed": {"ambient_dim": 100}}, ("shape",), "shape: flat"),
        ({"type": "digits", "noise": {"std": 0.1, "direction": "normal"}}, ("noise",), "isotropic"),
        (
            {"type": "digits", "measure": {"type": "von_mises_fisher", "mean_direction": [1, 0]}},
            ("measure",),
            "empirical measure",
        ),
        ({"type": "digits", "classes": [3, 3]}, ("classes",), "distinct"),
        ({"type": "digits", "classes": [10]}, ("classes", 0), "less than or equal to 9"),
        ({"type": "digits", "split": "validation"}, ("split",), "validation"),
        ({"type": "digits", "shape": "hwc"}, ("shape",), "hwc"),
    ],
)
def test_bad_image_parameters_name_the_key(mapping, path, message):
    with pytest.raises(SpecError) as caught:
        make(mapping)
    assert caught.value.path == path
    assert message in str(caught.value)


# ----------------------------------------------------------------------------- keras data sets
@pytest.mark.parametrize("name, cls", [("mnist", Mnist), ("fashion_mnist", FashionMnist)])
def test_keras_data_set_uses_what_keras_loads(monkeypatch, name, cls):
    import keras

    data = fake_keras_data(train=30, test=12)
    calls = []
    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", lambda: calls.append(1) or data)
    manifold = make({"type": name, "samples": 20})
    assert isinstance(manifold, cls) and calls == []  # nothing is loaded when the manifold is built
    points, parameters = manifold.sample_with_parameters(20, seed=0)
    assert calls == [1] and points.shape == (20, 784) and manifold.size == 30
    indices = parameters[:, 1].astype(int)
    np.testing.assert_array_equal(points, data[0][0][indices].reshape(20, 784) / 255.0)
    np.testing.assert_array_equal(parameters[:, 0], data[0][1][indices])
    manifold.sample(5, seed=1)
    assert calls == [1]  # loaded once per manifold

    test_images = make({"type": name, "split": "test", "shape": "image", "classes": [2]})
    stack, parameters = test_images.sample_with_parameters(4, seed=0)  # 12 test images, labels i % 3: four 2s
    assert stack.shape == (4, 28, 28, 1) and set(parameters[:, 0]) == {2.0}
    np.testing.assert_array_equal(
        np.sort(stack.reshape(4, -1), axis=0), np.sort(data[1][0][2::3].reshape(4, -1) / 255.0, axis=0)
    )

    with pytest.raises(SpecError, match="classes=\\[9\\], which leave no image") as caught:
        make({"type": name, "split": "test", "classes": [9]}).sample(1, seed=0)
    assert caught.value.path == ("classes",)


@pytest.mark.parametrize(
    "name, expected_file", [("mnist", "mnist.npz"), ("fashion_mnist", "train-images-idx3-ubyte.gz")]
)
def test_keras_data_set_offline_without_cache_is_a_clear_spec_error(monkeypatch, tmp_path, name, expected_file):
    import keras

    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] Temporary failure "
            "in name resolution"
        )

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    manifold = make({"type": name})
    with pytest.raises(SpecError) as caught:
        manifold.sample(10, seed=0)
    error = caught.value
    assert error.path == ("type",)
    text = str(error)
    assert text.startswith("type: could not load the")
    assert expected_file in text and str(tmp_path / "keras-home" / "datasets") in text
    assert "Temporary failure in name resolution" in text  # the cause, verbatim
    assert f"keras.datasets.{name}.load_data()" in text and "KERAS_HOME" in text and "type: digits" in text


def test_keras_data_of_the_wrong_shape_is_refused(monkeypatch):
    import keras

    (x, y), test = fake_keras_data(8, 2)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x[:, :14], y), test))
    with pytest.raises(
        SpecError, match=r"Expected images of shape \[N, 28, 28, 1\] and N labels. Received: images \[8, 14, 28, 1\]"
    ):
        make({"type": "mnist"}).sample(2, seed=0)


def test_shipped_specs_validate():
    from geokeras.spec import load_spec

    for name, expected in [("digits", "flat"), ("digits_conv", "image"), ("mnist", "image"), ("fashion_mnist", "flat")]:
        spec = load_spec(REPOSITORY / "specs" / "manifolds" / f"{name}.yaml")
        assert spec.manifold.shape == expected
        assert [getattr(entry, "type", entry) for entry in spec.evaluate][-1] == "manifold_stats"


def test_mnist_spec_offline_fails_before_any_run_directory(monkeypatch, tmp_path):
    import keras

    import geokeras

    def offline():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(SpecError) as caught:
        geokeras.run(REPOSITORY / "specs" / "manifolds" / "mnist.yaml", out_dir=tmp_path / "run")
    assert "mnist.yaml:" in str(caught.value) and "manifold.type: could not load the MNIST data set" in str(
        caught.value
    )
    assert not (tmp_path / "run").exists()
    _disable_op_determinism()


# ----------------------------------------------------------------------------- end to end
def test_shipped_digits_spec_runs_end_to_end(tmp_path):
    import keras

    import geokeras

    overrides = ["train.epochs=1", "train.verbose=0", "report.dpi=30"]
    result = geokeras.run(
        REPOSITORY / "specs" / "manifolds" / "digits.yaml", out_dir=tmp_path / "run", overrides=overrides
    )
    _disable_op_determinism()
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    stats = metrics["manifold_stats"]
    assert (stats["true_dim"], stats["ambient_dim"], stats["samples"]) == (None, 64, 1438)
    # Digits are a sample in R^64 of dimension about 10 (TwoNN / MLE estimates 7-12 in the
    # literature, e.g. Facco et al. 2017, Levina & Bickel 2004): far below 64, far above 2.
    assert 5.0 < stats["two_nn"] < 15.0 and 5.0 < stats["mle"] < 15.0
    assert metrics["training"]["epochs"] == 1 and np.isfinite(metrics["reconstruction"]["mse"])
    encoder = keras.models.load_model(result.run_dir / "models" / "encoder.keras")
    assert tuple(encoder.inputs[0].shape[1:]) == (64,)
    grid = result.run_dir / "figures" / "manifold.png"
    assert grid.stat().st_size > 1000 and grid.read_bytes()[:4] == b"\x89PNG"


def test_digits_conv_spec_builds_a_conv_autoencoder_on_8x8x1_images():
    """specs/manifolds/digits_conv.yaml: the builder's conv stack on the manifold's images."""
    from geokeras.manifolds import make as make_manifold
    from geokeras.models.builder import build_autoencoder
    from geokeras.spec import load_spec

    spec = load_spec(REPOSITORY / "specs" / "manifolds" / "digits_conv.yaml")
    images = make_manifold(spec.manifold).sample(16, seed=0)
    assert images.shape == (16, 8, 8, 1)
    bundle = build_autoencoder(spec.model, images.shape[1:])
    assert bundle.input_shape == (8, 8, 1) and bundle.latent_dim == 10

    def feature_maps(model, layer_class):
        return [tuple(layer.output.shape[1:]) for layer in model.layers if type(layer).__name__ == layer_class]

    assert feature_maps(bundle.encoder, "Conv2D") == [(4, 4, 16), (2, 2, 32)]  # 8 -> 4 -> 2, stride 2
    assert feature_maps(bundle.decoder, "Conv2DTranspose") == [(4, 4, 32), (8, 8, 16)]
    assert feature_maps(bundle.decoder, "Conv2D") == [(8, 8, 1)]  # no cropping: 2 * 2^2 = 8
    assert bundle.autoencoder.predict(images, verbose=0).shape == (16, 8, 8, 1)


def _disable_op_determinism() -> None:
    """The shipped specs set runtime.deterministic: do not leak it into other tests."""
    from tensorflow.python.framework import config as tf_framework_config

    if tf_framework_config.is_op_determinism_enabled():
        tf_framework_config.disable_op_determinism()


def test_with_split_keeps_everything_but_the_split(sklearn_digits):
    train = make({"type": "digits", "classes": [1, 2], "embed": {"ambient_dim": 70}})
    test = train.with_split("test")
    assert test.params.split == "test" and test.params.classes == [1, 2]
    np.testing.assert_array_equal(test.embedding_frame, train.embedding_frame)
    expected = int(np.isin(sklearn_digits.target[DIGITS_TRAIN_SIZE:], [1, 2]).sum())
    assert test.size == expected and train.with_split("train").size == train.size
    with pytest.raises(ValueError, match="split='valid'"):
        train.with_split("valid")


def test_as_dataset_keeps_images_as_images():
    digits = make({"type": "digits", "shape": "image"})
    batches = list(digits.as_dataset(100, seed=2, batch_size=64, targets=True))
    assert [tuple(x.shape) for x, _ in batches] == [(64, 8, 8, 1), (36, 8, 8, 1)]
    x, y = batches[0]
    assert x.dtype.name == "float32"
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_array_equal(x.numpy(), digits.sample(100, seed=2)[:64].astype(np.float32))
