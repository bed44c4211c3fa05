"""What every encoder, decoder, optimizer and learning-rate schedule type must satisfy.

Networks: built from their example for the first data shape they accept (points of R^2, R^3
or 8x8 images), they map a batch to the declared output shape, finite, and survive a Keras
save / load with the same outputs. Optimizers and schedules: built from their example, a Keras
serialize / deserialize round trip gives the same configuration and learning rates.
"""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.errors import SpecError
from tests.contracts.registries import entries, example

LATENT_SHAPE = (2,)
DATA_SHAPES = [(2,), (3,), (8, 8, 1)]
BATCH = 5


def built(entry, role: str):
    """``(model, input_shape, output_shape)`` for the first data shape the type accepts."""
    from geokeras.models.params import MLPParams

    params = example(entry)
    for data_shape in DATA_SHAPES:
        shapes = (data_shape, LATENT_SHAPE) if role == "encoder" else (LATENT_SHAPE, data_shape)
        try:
            model = entry.load()(
                params, input_shape=shapes[0], output_shape=shapes[1], role=role, encoder_params=MLPParams(widths=[4])
            )
        except SpecError:
            continue
        return model, shapes[0], shapes[1]
    pytest.fail(f"{role} type {entry.name!r} accepts none of the data shapes {DATA_SHAPES}")


@pytest.mark.parametrize(
    "role, entry",
    [
        pytest.param(role, case.values[0], id=case.id)
        for role, attribute in (("encoder", "ENCODERS"), ("decoder", "DECODERS"))
        for case in entries(attribute)
    ],
)
def test_networks_have_the_declared_shapes_and_survive_save_and_load(role, entry, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model, input_shape, output_shape = built(entry, role)
    assert model.name == role
    assert tuple(model.input_shape) == (None, *input_shape) and tuple(model.output_shape) == (None, *output_shape)
    x = np.random.default_rng(0).uniform(size=(BATCH, *input_shape)).astype(np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (BATCH, *output_shape) and np.isfinite(y).all()
    model.save(tmp_path / f"{role}.keras")
    loaded = keras.saving.load_model(tmp_path / f"{role}.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)


@pytest.mark.parametrize("entry", entries("OPTIMIZERS"))
@pytest.mark.parametrize("schedule", [None, *entries("LEARNING_RATE_SCHEDULES")])
def test_optimizers_round_trip_through_keras_serialization(entry, schedule):
    import keras

    from geokeras.models.optimizers import build_optimizer, learning_rate_at

    params = example(entry)
    if schedule is not None:
        params = params.model_copy(update={"learning_rate": example(schedule)})
    optimizer = build_optimizer(params)
    assert isinstance(optimizer, keras.optimizers.Optimizer) and optimizer is not build_optimizer(params)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is type(optimizer)
    assert keras.optimizers.serialize(again) == keras.optimizers.serialize(optimizer)
    rates = [learning_rate_at(build_optimizer(params)._learning_rate, step) for step in (0, 150, 2000)]
    assert rates[0] > 0 and all(rate >= 0 and np.isfinite(rate) for rate in rates)


@pytest.mark.parametrize("entry", entries("LEARNING_RATE_SCHEDULES"))
def test_schedules_round_trip_through_keras_serialization(entry):
    import keras

    from geokeras.models.optimizers import build_learning_rate, learning_rate_at

    schedule = build_learning_rate(example(entry))
    assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    for step in (0, 50, 150, 999, 5000):
        assert learning_rate_at(again, step) == learning_rate_at(schedule, step) >= 0
    assert learning_rate_at(schedule, 0) > 0
