"""Fitting: history, divergence, checkpoints and resume, determinism, the input pipeline."""

from __future__ import annotations

import json

import keras
import numpy as np
import pydantic
import pytest

from geokeras.errors import GeokerasInputError, SpecError, TrainingDivergedError
from geokeras.models.builder import build_autoencoder
from geokeras.models.params import EarlyStoppingSpec, ModelSpec, RuntimeSpec, TrainSpec
from geokeras.models.runtime import configure_runtime
from geokeras.models.training import (
    CHECKPOINT_STATE_FILE,
    epoch_batches,
    read_checkpoint_state,
    reconstruction_loss,
    split_validation,
    train_autoencoder,
)

MODEL = ModelSpec.model_validate(
    {"latent_dim": 1, "encoder": {"type": "mlp", "widths": [8, 8]}, "decoder": {"type": "mirror"}}
)


def circle(count: int = 96, seed: int = 0) -> np.ndarray:
    """Points of the unit circle in R^2, ``shape=[count, 2]``."""
    angles = np.random.default_rng(seed).uniform(0, 2 * np.pi, size=count)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def train_spec(**overrides) -> TrainSpec:
    values = {"epochs": 2, "batch_size": 32, "verbose": 0, "optimizer": {"type": "adam", "learning_rate": 1e-2}}
    values.update(overrides)
    return TrainSpec.model_validate(values)


def fresh_bundle(seed: int = 0, model: ModelSpec = MODEL, shape=(2,), code_l1: float = 0.0, runtime=None):
    strategy = configure_runtime(runtime or RuntimeSpec(deterministic=True), seed)
    with strategy.scope():
        return build_autoencoder(model, shape, code_l1=code_l1)


# ------------------------------------------------------------------------------ fit
def test_fit_reports_history_and_throughput():
    x = circle()
    result = train_autoencoder(fresh_bundle(), x, train_spec(epochs=3, validation_split=0.25))
    assert result.epochs == 3 and result.initial_epoch == 0
    assert sorted(result.history) == ["loss", "val_loss"]
    assert len(result.history["loss"]) == 3 and len(result.history["val_loss"]) == 3
    assert result.final_loss == result.history["loss"][-1]
    assert all(np.isfinite(result.history["loss"]))
    assert result.seconds > 0
    # 72 training samples per epoch (96 minus the 24 held out), 3 epochs.
    assert result.samples_per_second == pytest.approx(3 * 72 / result.seconds)


def test_training_reduces_the_reconstruction_error():
    x = circle(256)
    bundle = fresh_bundle()
    before = float(np.mean((keras.ops.convert_to_numpy(bundle.autoencoder(x)) - x) ** 2))
    result = train_autoencoder(bundle, x, train_spec(epochs=10))
    after = float(np.mean((keras.ops.convert_to_numpy(bundle.autoencoder(x)) - x) ** 2))
    assert after < 0.5 * before
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_loss_includes_the_code_penalty():
    x = circle(64)
    bundle = fresh_bundle(code_l1=0.1)
    spec = train_spec(epochs=1, batch_size=64, optimizer={"type": "sgd", "learning_rate": 1e-9}, loss={"code_l1": 0.1})
    codes = keras.ops.convert_to_numpy(bundle.encoder(x))
    reconstructions = keras.ops.convert_to_numpy(bundle.autoencoder(x))
    expected = np.mean((reconstructions - x) ** 2) + 0.1 * np.abs(codes).sum(axis=1).mean()
    result = train_autoencoder(bundle, x, spec)
    assert result.final_loss == pytest.approx(expected, rel=1e-4)


def test_code_l1_must_match_the_built_model():
    with pytest.raises(ValueError, match="code_l1"):
        train_autoencoder(fresh_bundle(), circle(), train_spec(loss={"code_l1": 0.5}))


def test_samples_of_the_wrong_shape_are_rejected():
    with pytest.raises(ValueError, match=r"expected shape \[k, 2\]"):
        train_autoencoder(fresh_bundle(), np.zeros((10, 3), np.float32), train_spec())
    bad = circle()
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        train_autoencoder(fresh_bundle(), bad, train_spec())


@pytest.mark.parametrize(
    "name, expected",
    # x - y = (0.5, -2): mse (0.25 + 4) / 2; mae (0.5 + 2) / 2; huber (0.125 + 1.5) / 2
    [("mse", 2.125), ("mae", 1.25), ("huber", 0.8125)],
)
def test_reconstruction_losses_closed_form(name, expected):
    loss = reconstruction_loss(name)
    value = loss(np.array([[0.5, -2.0]], np.float32), np.zeros((1, 2), np.float32))
    assert float(keras.ops.convert_to_numpy(value)) == pytest.approx(expected)


# ------------------------------------------------------------------------------ divergence
def test_huge_data_raises_diverged_in_epoch_one():
    x = circle() * np.float32(1e20)  # (1e20)^2 overflows float32: the first loss is inf
    with pytest.raises(TrainingDivergedError) as caught:
        train_autoencoder(fresh_bundle(), x, train_spec(epochs=3))
    assert caught.value.epoch == 1
    assert not np.isfinite(caught.value.loss)
    assert isinstance(caught.value, GeokerasInputError)
    assert "epoch 1" in str(caught.value) and "learning rate 0.01" in str(caught.value)


def test_divergence_names_the_epoch_and_skips_its_checkpoint(tmp_path):
    x = circle(64)
    # 2 batches per epoch: a sane rate for epochs 1-2 (steps 0-3), then 1e12 from step 4 on.
    spec = train_spec(
        epochs=5,
        optimizer={
            "type": "sgd",
            "learning_rate": {"type": "piecewise_constant", "boundaries": [3], "values": [1e-3, 1e12]},
        },
    )
    with pytest.raises(TrainingDivergedError) as caught:
        train_autoencoder(fresh_bundle(), x, spec, checkpoint_dir=tmp_path)
    assert caught.value.epoch == 3
    state = read_checkpoint_state(tmp_path)
    assert state.epoch == 2 and len(state.history["loss"]) == 2


# ------------------------------------------------------------------------------ checkpoints
def test_checkpoints_every_n_epochs_and_at_the_end(tmp_path):
    spec = train_spec(epochs=3, checkpoint_every=2)
    train_autoencoder(fresh_bundle(), circle(), spec, checkpoint_dir=tmp_path)
    data = json.loads((tmp_path / CHECKPOINT_STATE_FILE).read_text())
    assert data["epoch"] == 3 and data["stopped_early"] is False
    assert len(data["history"]["loss"]) == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["autoencoder-epoch0003.keras", CHECKPOINT_STATE_FILE]
    loaded = keras.models.load_model(tmp_path / data["model_file"])
    assert loaded.optimizer.iterations.numpy() == 3 * 3  # 96 samples / 32 = 3 steps per epoch


def test_resume_continues_to_the_same_total_and_matches_an_uninterrupted_run(tmp_path):
    x = circle()
    spec = train_spec(
        epochs=4,
        optimizer={
            "type": "adam",
            "learning_rate": {
                "type": "exponential_decay",
                "initial_learning_rate": 1e-2,
                "decay_steps": 3,
                "decay_rate": 0.5,
            },
        },
    )
    straight = train_autoencoder(fresh_bundle(), x, spec, seed=3)

    first = train_autoencoder(fresh_bundle(), x, spec.model_copy(update={"epochs": 2}), seed=3, checkpoint_dir=tmp_path)
    assert first.epochs == 2
    bundle = fresh_bundle(seed=99)  # different initial weights: the checkpoint must replace them
    resumed = train_autoencoder(bundle, x, spec, seed=3, checkpoint_dir=tmp_path, resume=True)
    assert resumed.initial_epoch == 2 and resumed.epochs == 4
    assert len(resumed.history["loss"]) == 4
    assert bundle.autoencoder.optimizer.iterations.numpy() == 4 * 3
    # Same weights, optimizer state and batch order: the same losses, bit for bit.
    assert resumed.history == straight.history

    again = train_autoencoder(fresh_bundle(), x, spec, seed=3, checkpoint_dir=tmp_path, resume=True)
    assert again.epochs == 4 and again.initial_epoch == 4 and again.history == straight.history


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    result = train_autoencoder(fresh_bundle(), circle(), train_spec(), checkpoint_dir=tmp_path / "new", resume=True)
    assert result.initial_epoch == 0 and result.epochs == 2


def test_resume_needs_a_checkpoint_dir():
    with pytest.raises(ValueError, match="checkpoint_dir"):
        train_autoencoder(fresh_bundle(), circle(), train_spec(), resume=True)


# ------------------------------------------------------------------------------ early stopping
def test_early_stopping_stops_after_patience(tmp_path):
    spec = train_spec(epochs=10, early_stopping={"monitor": "loss", "patience": 1, "min_delta": 1e6})
    result = train_autoencoder(fresh_bundle(), circle(), spec, checkpoint_dir=tmp_path)
    # Epoch 1 sets the best loss; epoch 2 cannot improve it by 1e6, so patience 1 runs out.
    assert result.epochs == 2
    state = read_checkpoint_state(tmp_path)
    assert state.stopped_early and state.epoch == 2
    resumed = train_autoencoder(fresh_bundle(), circle(), spec, checkpoint_dir=tmp_path, resume=True)
    assert resumed.epochs == 2


def test_early_stopping_on_val_loss_needs_a_validation_split():
    with pytest.raises(pydantic.ValidationError) as refused:  # the spec refuses it before training
        train_spec(early_stopping={"monitor": "val_loss"})
    assert refused.value.errors()[0]["loc"] == ("early_stopping", "monitor")
    # A spec that bypassed validation is still refused by the trainer.
    spec = train_spec().model_copy(update={"early_stopping": EarlyStoppingSpec(monitor="val_loss")})
    with pytest.raises(SpecError) as caught:
        train_autoencoder(fresh_bundle(), circle(), spec)
    assert caught.value.path == ("early_stopping", "monitor")


def test_validation_split_too_small_is_a_spec_error():
    with pytest.raises(SpecError) as caught:
        train_autoencoder(fresh_bundle(), circle(10), train_spec(validation_split=0.05))
    assert caught.value.path == ("validation_split",)


# ------------------------------------------------------------------------------ determinism
def test_two_runs_with_the_same_seed_are_identical():
    x = circle(128)
    spec = train_spec(epochs=3, validation_split=0.25)
    model = ModelSpec.model_validate(
        {"latent_dim": 1, "encoder": {"type": "mlp", "widths": [8, 8], "dropout": 0.1, "batch_norm": True}}
    )
    runs = []
    for _ in range(2):
        bundle = fresh_bundle(seed=5, model=model)
        result = train_autoencoder(bundle, x, spec, seed=5)
        runs.append((result.history, [w.copy() for w in bundle.autoencoder.get_weights()]))
    assert runs[0][0] == runs[1][0]
    for first, second in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(first, second)


def read_scalars(directory):
    import tensorflow as tf

    scalars = {}
    for path in sorted(directory.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars"
                number = tf.make_ndarray(value.tensor).item()
                scalars.setdefault(value.tag, []).append((event.step, number))
    return scalars


def test_event_files_hold_the_epoch_losses_and_learning_rate(tmp_path):
    result = train_autoencoder(fresh_bundle(), circle(), train_spec(epochs=2, validation_split=0.25), log_dir=tmp_path)
    train = read_scalars(tmp_path / "train")
    validation = read_scalars(tmp_path / "validation")
    assert train["epoch_loss"] == [
        (0, pytest.approx(result.history["loss"][0])),
        (1, pytest.approx(result.history["loss"][1])),
    ]
    assert [value for _, value in validation["epoch_loss"]] == pytest.approx(result.history["val_loss"])
    assert [value for _, value in train["epoch_learning_rate"]] == pytest.approx([1e-2, 1e-2])


# ------------------------------------------------------------------------------ pipeline
def collect_epochs(dataset, epochs, steps):
    batches = [inputs.numpy() for inputs, _ in dataset]
    assert len(batches) == epochs * steps
    return [batches[e * steps : (e + 1) * steps] for e in range(epochs)]


def test_each_epoch_visits_every_sample_once_in_a_seeded_order():
    samples = np.arange(10, dtype=np.float32).reshape(10, 1)
    dataset = epoch_batches(samples, batch_size=4, shuffle=True, seed=7, first_epoch=0, end_epoch=3)
    epochs = collect_epochs(dataset, 3, steps=3)
    orders = []
    for batches in epochs:
        assert [len(batch) for batch in batches] == [4, 4, 2]
        order = np.concatenate(batches)[:, 0]
        assert sorted(order) == list(range(10))
        orders.append(order.tolist())
    assert orders[0] != orders[1] != orders[2]
    # Epoch 2 alone (as after a resume) is the same as epoch 2 of the full run.
    resumed = collect_epochs(
        epoch_batches(samples, batch_size=4, shuffle=True, seed=7, first_epoch=2, end_epoch=3), 1, steps=3
    )
    assert np.concatenate(resumed[0])[:, 0].tolist() == orders[2]
    targets_equal_inputs = all(
        np.array_equal(i, t)
        for i, t in epoch_batches(samples, batch_size=4, shuffle=True, seed=7, first_epoch=0, end_epoch=1)
    )
    assert targets_equal_inputs


def test_without_shuffle_batches_follow_sample_order():
    samples = np.arange(5, dtype=np.float32).reshape(5, 1)
    (batches,) = collect_epochs(
        epoch_batches(samples, batch_size=2, shuffle=False, seed=0, first_epoch=0, end_epoch=1), 1, 3
    )
    assert [batch[:, 0].tolist() for batch in batches] == [[0, 1], [2, 3], [4]]


def test_validation_split_is_seeded_disjoint_and_ordered():
    samples = np.arange(20, dtype=np.float32).reshape(20, 1)
    train, validation = split_validation(samples, 0.25, seed=1)
    assert len(train) == 15 and len(validation) == 5
    assert sorted(np.concatenate([train, validation])[:, 0]) == list(range(20))
    assert np.all(np.diff(train[:, 0]) > 0) and np.all(np.diff(validation[:, 0]) > 0)
    again_train, again_validation = split_validation(samples, 0.25, seed=1)
    np.testing.assert_array_equal(validation, again_validation)
    _, other = split_validation(samples, 0.25, seed=2)
    assert not np.array_equal(validation, other)
    assert split_validation(samples, 0.0, seed=1)[1] is None


def test_training_inside_the_strategy_scope_works_too():
    strategy = configure_runtime(RuntimeSpec(), seed=0)
    with strategy.scope():
        bundle = build_autoencoder(MODEL, (2,))
        result = train_autoencoder(bundle, circle(), train_spec(epochs=1))
    assert result.epochs == 1 and np.isfinite(result.final_loss)
