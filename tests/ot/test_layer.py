"""SemiDiscreteOT layer: the OT image, cell indices, top-k, config and .keras round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from geokeras.ot.layer import SemiDiscreteOT


def _problem(seed=0, count=50, dim=3):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(count, dim)).astype(np.float32),
        rng.normal(size=count).astype(np.float32),
        rng.normal(size=(200, dim)).astype(np.float32),
    )


def test_call_returns_the_target_of_the_best_score():
    y, h, x = _problem()
    layer = SemiDiscreteOT(y, heights=h, tile_targets=16)
    expected = np.argmax(x.astype(np.float64) @ y.T + h, axis=1)
    image, index = layer(x, return_index=True)
    np.testing.assert_array_equal(index.numpy(), expected)
    np.testing.assert_array_equal(image.numpy(), y[expected])
    np.testing.assert_array_equal(layer(x).numpy(), y[expected])
    np.testing.assert_array_equal(layer.cell_index(x).numpy(), expected)


def test_top_k_returns_the_best_scores_and_cells():
    y, h, x = _problem()
    image, scores, indices = SemiDiscreteOT(y, heights=h, tile_targets=16)(x, top_k=3)
    full = x @ y.T + h
    np.testing.assert_array_equal(indices.numpy(), np.argsort(-full, axis=1)[:, :3])
    np.testing.assert_allclose(scores.numpy(), -np.sort(-full, axis=1)[:, :3], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(image.numpy(), y[indices.numpy()[:, 0]])


def test_default_weights_are_uniform_and_given_weights_are_normalised():
    y, h, _ = _problem(count=4)
    np.testing.assert_allclose(SemiDiscreteOT(y).target_weights.numpy(), [0.25] * 4)
    weights = SemiDiscreteOT(y, target_weights=[1, 1, 2, 4]).target_weights.numpy()
    np.testing.assert_allclose(weights, [0.125, 0.125, 0.25, 0.5])


def test_config_round_trip():
    y, h, x = _problem()
    layer = SemiDiscreteOT(y, heights=h, float64_ties=True, tile_targets=7, name="ot")
    config = layer.get_config()
    assert config["num_targets"] == 50 and config["dim"] == 3 and "targets" not in config
    clone = SemiDiscreteOT.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


def test_keras_save_and_load_give_identical_outputs(tmp_path):
    y, h, x = _problem()
    inputs = keras.Input((3,))
    model = keras.Model(inputs, SemiDiscreteOT(y, heights=h, tile_targets=16)(inputs))
    path = tmp_path / "ot.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(loaded.layers[-1].heights.numpy(), h)


def test_invalid_arguments_are_reported():
    y, h, _ = _problem(count=4)
    with pytest.raises(ValueError, match=r"Expected heights of shape \[4\]. Received: heights.shape=\(3,\)"):
        SemiDiscreteOT(y, heights=h[:3])
    with pytest.raises(ValueError, match="positive target weights"):
        SemiDiscreteOT(y, target_weights=[1, 0, 1, 1])
    with pytest.raises(ValueError, match="Received: targets=None"):
        SemiDiscreteOT()
    with pytest.raises(ValueError, match="Received: top_k=5"):
        SemiDiscreteOT(y)(np.zeros((1, 3), np.float32), top_k=5)
    with pytest.raises(ValueError, match="`tile_targets`.*Received: tile_targets=0"):
        SemiDiscreteOT(y, tile_targets=0)
