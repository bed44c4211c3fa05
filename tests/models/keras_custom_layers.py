"""A custom Keras layer for the tests of ``custom_objects_module`` (imported by its module path)."""

from __future__ import annotations

import keras


class ScaleBy(keras.layers.Layer):
    """x -> x * s with one trainable scalar s (initially ``initial``), not registered with Keras:
    loading a model holding it needs ``custom_objects``."""

    def __init__(self, initial: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial), name="scale")

    def call(self, inputs):
        return inputs * self.scale

    def get_config(self):
        return {**super().get_config(), "initial": self.initial}
