"""Shared fixtures for the models tests: quiet TensorFlow, and no process state leaking."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_keras_state():
    """Every test starts and ends with the float32 policy and op determinism off."""
    import keras
    from tensorflow.python.framework import config as tf_framework_config

    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
    if tf_framework_config.is_op_determinism_enabled():
        tf_framework_config.disable_op_determinism()
