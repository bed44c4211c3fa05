"""``train.optimizer`` -> a Keras optimizer; ``learning_rate`` -> a number or a Keras schedule.

The registries :data:`geokeras.registry.OPTIMIZERS` and
:data:`geokeras.registry.LEARNING_RATE_SCHEDULES` point at the ``build_<type>`` functions of
this module. Each learning-rate schedule is a ``keras.optimizers.schedules`` object evaluated
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

from geokeras.models.params import (
    AdamParams,
    AdamWParams,
    CosineDecayParams,
    ExponentialDecayParams,
    PiecewiseConstantParams,
    RMSpropParams,
    SGDParams,
)
from geokeras.registry import LEARNING_RATE_SCHEDULES, OPTIMIZERS

LearningRate = Union[float, keras.optimizers.schedules.LearningRateSchedule]


def build_optimizer(params: Any) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for ``train.optimizer`` (adam, adamw, sgd or rmsprop).

    A new instance per model: Keras optimizers hold per-variable state.
    """
    return OPTIMIZERS.build(params)


def build_learning_rate(learning_rate: Any) -> LearningRate:
    """A float, or the Keras schedule that a ``{type: ..., ...}`` learning rate names."""
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
        return float(learning_rate)
    return LEARNING_RATE_SCHEDULES.build(learning_rate)


def learning_rate_at(learning_rate: LearningRate, step: int) -> float:
    """The learning rate used at optimizer step ``step`` (a float, for reports and errors)."""
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(learning_rate(step)))
    return float(learning_rate)


# ------------------------------------------------------------------------------ optimizers
def build_adam(params: AdamParams) -> keras.optimizers.Adam:
    """Adam (Kingma & Ba 2015)."""
    return keras.optimizers.Adam(
        learning_rate=build_learning_rate(params.learning_rate),
        beta_1=params.beta_1,
        beta_2=params.beta_2,
        epsilon=params.epsilon,
        clipnorm=params.clipnorm,
    )


def build_adamw(params: AdamWParams) -> keras.optimizers.AdamW:
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""
    return keras.optimizers.AdamW(
        learning_rate=build_learning_rate(params.learning_rate),
        weight_decay=params.weight_decay,
        beta_1=params.beta_1,
        beta_2=params.beta_2,
        epsilon=params.epsilon,
        clipnorm=params.clipnorm,
    )


def build_sgd(params: SGDParams) -> keras.optimizers.SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""
    return keras.optimizers.SGD(
        learning_rate=build_learning_rate(params.learning_rate),
        momentum=params.momentum,
        nesterov=params.nesterov,
        clipnorm=params.clipnorm,
    )


def build_rmsprop(params: RMSpropParams) -> keras.optimizers.RMSprop:
    """RMSprop (Tieleman & Hinton 2012)."""
    return keras.optimizers.RMSprop(
        learning_rate=build_learning_rate(params.learning_rate),
        rho=params.rho,
        momentum=params.momentum,
        clipnorm=params.clipnorm,
    )


# ------------------------------------------------------------------------------ schedules
def build_exponential_decay(
    params: ExponentialDecayParams,
) -> keras.optimizers.schedules.ExponentialDecay:
    """lr(t) = initial_learning_rate * decay_rate ** (t / decay_steps) (floored if staircase)."""
    return keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=params.initial_learning_rate,
        decay_steps=params.decay_steps,
        decay_rate=params.decay_rate,
        staircase=params.staircase,
    )


def build_cosine_decay(params: CosineDecayParams) -> keras.optimizers.schedules.CosineDecay:
    """Cosine decay (Loshchilov & Hutter 2017, SGDR without restarts) with linear warmup."""
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=params.initial_learning_rate,
        decay_steps=params.decay_steps,
        alpha=params.alpha,
        warmup_target=params.warmup_target,
        warmup_steps=params.warmup_steps,
    )


def build_piecewise_constant(
    params: PiecewiseConstantParams,
) -> keras.optimizers.schedules.PiecewiseConstantDecay:
    """values[i] for boundaries[i-1] < t <= boundaries[i]."""
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=list(params.boundaries), values=[float(v) for v in params.values]
    )
