"""``train.optimizer`` -> a Keras optimizer; ``learning_rate`` -> a number or a Keras schedule.

The registries :data:`geokeras.registry.OPTIMIZERS` and
:data:`geokeras.registry.LEARNING_RATE_SCHEDULES` name the Keras classes; the fields of each
parameter model are that class's keyword arguments. Each learning-rate schedule is a ``keras.optimizers.schedules``
object evaluated
at the optimizer's step counter (the number of batches trained so far, counting every epoch):

* exponential_decay: lr(t) = lr_0 * r^(t / T), with t / T floored when ``staircase``;
* cosine_decay: with warmup (W steps to the target lr_w), lr(t) = lr_0 + (lr_w - lr_0) t / W
  for t < W, then lr(t) = lr_w * ((1 - alpha) * (1 + cos(pi * min(t - W, T) / T)) / 2 + alpha);
  without warmup the same with lr_w = lr_0 and W = 0;
* piecewise_constant: values[0] for t <= boundaries[0], values[i] for
  boundaries[i-1] < t <= boundaries[i], values[-1] after the last boundary.
"""

from __future__ import annotations

from typing import Any, Union

import keras

from geokeras.registry import LEARNING_RATE_SCHEDULES, OPTIMIZERS

LearningRate = Union[float, keras.optimizers.schedules.LearningRateSchedule]


def build_optimizer(params: Any) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for ``train.optimizer`` (adam, adamw, sgd or rmsprop).

    The registry names the Keras class; the parameter model's fields are its keyword
    arguments. A new instance per model: Keras optimizers hold per-variable state.
    """
    options = params.model_dump(exclude={"type", "learning_rate"})
    keras_class = OPTIMIZERS[params.type].load()
    return keras_class(learning_rate=build_learning_rate(params.learning_rate), **options)


def build_learning_rate(learning_rate: Any) -> LearningRate:
    """A float, or the Keras schedule that a ``{type: ..., ...}`` learning rate names."""
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
        return float(learning_rate)
    keras_class = LEARNING_RATE_SCHEDULES[learning_rate.type].load()
    return keras_class(**learning_rate.model_dump(exclude={"type"}))


def learning_rate_at(learning_rate: LearningRate, step: int) -> float:
    """The learning rate used at optimizer step ``step`` (a float, for reports and errors)."""
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(learning_rate(step)))
    return float(learning_rate)
