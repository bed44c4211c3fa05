"""Runtime: strategies, seeds, op determinism, precision policy, XLA setting, devices."""

from __future__ import annotations

import random
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_framework_config

from geokeras.errors import SpecError
from geokeras.models.builder import build_autoencoder
from geokeras.models.params import ModelSpec, RuntimeSpec, TrainSpec
from geokeras.models.runtime import configure_runtime, device_summary, jit_compile_setting
from geokeras.models.training import train_autoencoder

HAS_GPU = bool(tf.config.list_logical_devices("GPU"))
SMALL_MODEL = ModelSpec.model_validate({"latent_dim": 1, "encoder": {"type": "mlp", "widths": [4]}})
ONE_EPOCH = TrainSpec.model_validate({"epochs": 1, "batch_size": 16, "verbose": 0})


def circle(count: int = 32) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


@pytest.mark.parametrize("name", ["auto", "cpu"])
def test_single_device_strategies(name):
    strategy = configure_runtime(RuntimeSpec(strategy=name), seed=0)
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    expected = "GPU:0" if (HAS_GPU and name == "auto") else "CPU:0"
    assert strategy.extended.worker_devices[0].endswith(expected)


@pytest.mark.skipif(HAS_GPU, reason="checks the error raised on a machine without a GPU")
def test_gpu_strategy_without_gpu_is_a_spec_error():
    with pytest.raises(SpecError) as caught:
        configure_runtime(RuntimeSpec(strategy="gpu"), seed=0)
    assert caught.value.path == ("strategy",)
    assert "no GPU" in caught.value.message and "CPU" in caught.value.message


def test_mirrored_strategy_builds_and_trains():
    strategy = configure_runtime(RuntimeSpec(strategy="mirrored"), seed=0)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    with strategy.scope():
        bundle = build_autoencoder(SMALL_MODEL, (2,))
    assert bundle.autoencoder.distribute_strategy is strategy
    result = train_autoencoder(bundle, circle(), ONE_EPOCH)
    assert result.epochs == 1 and np.isfinite(result.final_loss)


def test_seed_repeats_python_numpy_and_tensorflow_draws():
    draws = []
    for _ in range(2):
        configure_runtime(RuntimeSpec(), seed=11)
        draws.append((random.random(), np.random.rand(), float(tf.random.uniform(()))))
    assert draws[0] == draws[1]
    configure_runtime(RuntimeSpec(), seed=12)
    assert random.random() != draws[0][0]


def test_same_seed_same_initial_weights():
    weights = []
    for _ in range(2):
        configure_runtime(RuntimeSpec(), seed=4)
        weights.append(build_autoencoder(SMALL_MODEL, (2,)).autoencoder.get_weights())
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)


def test_determinism_switch_follows_the_spec():
    configure_runtime(RuntimeSpec(deterministic=True), seed=0)
    assert tf_framework_config.is_op_determinism_enabled()
    configure_runtime(RuntimeSpec(deterministic=False), seed=0)
    assert not tf_framework_config.is_op_determinism_enabled()


def test_mixed_precision_policy_is_set_and_reset():
    with pytest.warns(RuntimeWarning, match="no GPU") if not HAS_GPU else warnings.catch_warnings():
        configure_runtime(RuntimeSpec(mixed_precision=True), seed=0)
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    configure_runtime(RuntimeSpec(mixed_precision=False), seed=0)
    assert keras.mixed_precision.global_policy().name == "float32"


def test_mixed_precision_training_uses_loss_scaling_and_float32_outputs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        strategy = configure_runtime(RuntimeSpec(mixed_precision=True, deterministic=False), seed=0)
    with strategy.scope():
        bundle = build_autoencoder(SMALL_MODEL, (2,))
    result = train_autoencoder(bundle, circle(), ONE_EPOCH)
    assert np.isfinite(result.final_loss)
    assert isinstance(bundle.autoencoder.optimizer, keras.optimizers.LossScaleOptimizer)
    assert bundle.autoencoder.outputs[0].dtype == "float32"
    assert bundle.encoder.get_layer("encoder_dense_0").compute_dtype == "float16"
    assert bundle.encoder.get_layer("encoder_dense_0").kernel.dtype == "float32"


@pytest.mark.parametrize("value", ["auto", True, False])
def test_jit_compile_setting_passes_the_spec_value(value):
    assert jit_compile_setting(RuntimeSpec(jit_compile=value)) == value


def test_device_summary_lists_the_cpu():
    summary = device_summary()
    assert any(line.startswith("CPU: ") and line.endswith("CPU:0") for line in summary)


def test_invalid_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        configure_runtime(RuntimeSpec(), seed=-1)
