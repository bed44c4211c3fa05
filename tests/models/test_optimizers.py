"""Optimizers and learning-rate schedules from the spec, checked against closed forms."""

from __future__ import annotations

import math

import keras
import pydantic
import pytest

from geokeras.models.optimizers import build_learning_rate, build_optimizer, learning_rate_at
from geokeras.models.params import TrainSpec
from geokeras.registry import LEARNING_RATE_SCHEDULES, OPTIMIZERS


def optimizer_params(spec: dict):
    return TrainSpec.model_validate({"optimizer": spec}).optimizer


def schedule(spec: dict):
    return build_learning_rate(optimizer_params({"type": "sgd", "learning_rate": spec}).learning_rate)


def test_every_optimizer_and_schedule_type_has_an_implementation():
    for registry in (OPTIMIZERS, LEARNING_RATE_SCHEDULES):
        for name in registry.names():
            assert callable(registry[name].load())


@pytest.mark.parametrize(
    "spec, expected_class, attributes",
    [
        (
            {"type": "adam", "learning_rate": 0.005, "beta_1": 0.8, "clipnorm": 1.5},
            keras.optimizers.Adam,
            {"beta_1": 0.8, "clipnorm": 1.5},
        ),
        ({"type": "adamw", "weight_decay": 0.01}, keras.optimizers.AdamW, {"weight_decay": 0.01}),
        ({"type": "sgd", "momentum": 0.9, "nesterov": True}, keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
        ({"type": "rmsprop", "rho": 0.8}, keras.optimizers.RMSprop, {"rho": 0.8}),
    ],
)
def test_optimizers_carry_their_parameters(spec, expected_class, attributes):
    optimizer = build_optimizer(optimizer_params(spec))
    assert type(optimizer) is expected_class
    for name, value in attributes.items():
        assert getattr(optimizer, name) == pytest.approx(value)
    expected_rate = spec.get("learning_rate", 1e-2 if spec["type"] == "sgd" else 1e-3)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(expected_rate)


def test_each_call_builds_a_fresh_optimizer():
    params = optimizer_params({"type": "adam"})
    assert build_optimizer(params) is not build_optimizer(params)


@pytest.mark.parametrize(
    "step, expected",
    [(0, 0.1), (5, 0.1 * 0.5**0.5), (10, 0.05), (20, 0.025)],
)
def test_exponential_decay_closed_form(step, expected):
    rate = schedule({"type": "exponential_decay", "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5})
    assert learning_rate_at(rate, step) == pytest.approx(expected, rel=1e-6)


def test_exponential_decay_staircase_floors_the_exponent():
    rate = schedule(
        {
            "type": "exponential_decay",
            "initial_learning_rate": 0.1,
            "decay_steps": 10,
            "decay_rate": 0.5,
            "staircase": True,
        }
    )
    assert [learning_rate_at(rate, step) for step in (9, 10, 15, 20)] == pytest.approx([0.1, 0.05, 0.05, 0.025])


@pytest.mark.parametrize(
    "step, expected",
    # lr_0 * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha) with lr_0 = 1, T = 100, alpha = 0.1
    [(0, 1.0), (25, 0.9 * (1 + math.cos(math.pi / 4)) / 2 + 0.1), (50, 0.55), (100, 0.1), (400, 0.1)],
)
def test_cosine_decay_closed_form(step, expected):
    rate = schedule({"type": "cosine_decay", "initial_learning_rate": 1.0, "decay_steps": 100, "alpha": 0.1})
    assert learning_rate_at(rate, step) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "step, expected",
    # linear warmup 0.01 -> 0.1 over 10 steps, then 0.1 * (1 + cos(pi * (t - 10) / 100)) / 2
    [(0, 0.01), (5, 0.055), (10, 0.1), (60, 0.05), (110, 0.0)],
)
def test_cosine_decay_with_warmup_closed_form(step, expected):
    rate = schedule(
        {
            "type": "cosine_decay",
            "initial_learning_rate": 0.01,
            "decay_steps": 100,
            "warmup_steps": 10,
            "warmup_target": 0.1,
        }
    )
    assert learning_rate_at(rate, step) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_cosine_warmup_needs_a_target():
    with pytest.raises(pydantic.ValidationError, match="warmup_target"):
        schedule({"type": "cosine_decay", "initial_learning_rate": 0.1, "decay_steps": 10, "warmup_steps": 5})


@pytest.mark.parametrize("step, expected", [(0, 1.0), (10, 1.0), (11, 0.5), (20, 0.5), (21, 0.1), (1000, 0.1)])
def test_piecewise_constant_closed_form(step, expected):
    rate = schedule({"type": "piecewise_constant", "boundaries": [10, 20], "values": [1.0, 0.5, 0.1]})
    assert learning_rate_at(rate, step) == pytest.approx(expected)


def test_piecewise_constant_boundaries_must_increase():
    with pytest.raises(pydantic.ValidationError, match="strictly increasing"):
        schedule({"type": "piecewise_constant", "boundaries": [20, 10], "values": [1.0, 0.5, 0.1]})


def test_optimizer_follows_its_schedule_step_counter():
    optimizer = build_optimizer(
        optimizer_params(
            {"type": "sgd", "learning_rate": {"type": "piecewise_constant", "boundaries": [2], "values": [1.0, 0.25]}}
        )
    )
    variable = keras.Variable(1.0)
    optimizer.build([variable])
    rates = []
    for _ in range(4):
        rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
        optimizer.apply_gradients([(keras.ops.ones(()), variable)])
    assert rates == [1.0, 1.0, 1.0, 0.25]
