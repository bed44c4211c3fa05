"""``SemiDiscreteOT``: the semi-discrete optimal transport map as a Keras 3 layer.

The layer holds targets y_i (the latent codes, shape=[N, d]), their weights nu_i (default
uniform) and heights h_i, and maps a source point x to

    T(x) = y_{c(x)},   c(x) = argmax_i <x, y_i> + h_i,

the gradient of the Brenier potential u_h(x) = max_i <x, y_i> + h_i (Lei et al. 2018 section 5;
Gu, Luo, Sun, Yau 2016). With the heights from :func:`geokeras.ot.solve`, T pushes the source
measure forward to sum_i nu_i delta_{y_i}.

Targets, weights and heights are non-trainable layer variables, so a ``.keras`` file stores
them in its weights (not in the JSON config, which only holds the sizes and options): saving
and loading reproduces the outputs exactly. Scores are computed in float32 in tiles of
``tile_targets`` targets (memory O(batch x tile_targets)); ``float64_ties`` re-checks near ties
in float64 (:mod:`geokeras.ot.assignment`). TensorFlow backend only.
"""

from __future__ import annotations

from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from geokeras.ot.assignment import DEFAULT_TILE_TARGETS, assign_tile, tile_targets, top_k_tile

__all__ = ["SemiDiscreteOT"]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"Received an invalid value for `{name}`: expected a positive integer. Received: {name}={value!r}."
        )
    return int(value)


@keras.saving.register_keras_serializable(package="geokeras")
class SemiDiscreteOT(keras.layers.Layer):
    """The semi-discrete OT map x -> y_{argmax_i <x, y_i> + h_i}.

    Args:
        targets: shape=[N, d], the targets y_i. May be None when ``num_targets`` and ``dim``
            are given (the variables start at zero; loading a ``.keras`` file fills them).
        heights: shape=[N] (default zeros: the power diagram is then the Voronoi diagram of
            the map x -> x shifted by |y_i|^2 / 2 -- use :func:`geokeras.ot.solve`).
        target_weights: shape=[N], positive, normalised to sum 1 (default uniform 1/N).
        num_targets, dim: N and d when ``targets`` is None.
        tile_targets: targets per score tile.
        float64_ties: re-check near ties of the best two scores in float64.

    Call arguments:
        x: shape=[batch, d], source points.
        return_index: also return the cell index c(x) (shape=[batch], int32).
        top_k: also return the ``top_k`` best scores and their cell indices (shape=[batch, k]
            each, best first).

    Returns:
        ``T(x)`` (shape=[batch, d]) alone, or the tuple ``(T(x), index)``,
        ``(T(x), top_scores, top_indices)`` or ``(T(x), index, top_scores, top_indices)``.
    """

    def __init__(
        self,
        targets: Any = None,
        heights: Any = None,
        target_weights: Any = None,
        *,
        num_targets: Optional[int] = None,
        dim: Optional[int] = None,
        tile_targets: int = DEFAULT_TILE_TARGETS,
        float64_ties: bool = False,
        **kwargs: Any,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if targets is not None:
            targets = np.asarray(targets, np.float32)
            if targets.ndim != 2 or targets.shape[0] < 1 or targets.shape[1] < 1:
                raise ValueError(
                    f"Expected targets of shape [N, d] with N, d >= 1. Received: targets.shape={targets.shape}."
                )
            if (num_targets is not None and num_targets != targets.shape[0]) or (
                dim is not None and dim != targets.shape[1]
            ):
                raise ValueError(
                    f"Expected num_targets and dim to match targets.shape={targets.shape}. "
                    f"Received: num_targets={num_targets}, dim={dim}."
                )
            num_targets, dim = targets.shape
        elif num_targets is None or dim is None:
            raise ValueError("Expected `targets`, or both `num_targets` and `dim`. Received: targets=None.")
        self.num_targets = _positive_int("num_targets", num_targets)
        self.dim = _positive_int("dim", dim)
        self.tile_targets = _positive_int("tile_targets", tile_targets)
        self.float64_ties = bool(float64_ties)

        heights_value = np.zeros(self.num_targets, np.float32) if heights is None else np.asarray(heights, np.float32)
        if heights_value.shape != (self.num_targets,):
            raise ValueError(
                f"Expected heights of shape [{self.num_targets}]. Received: heights.shape={heights_value.shape}."
            )
        if target_weights is None:
            weights_value = np.full(self.num_targets, 1.0 / self.num_targets, np.float32)
        else:
            weights_value = np.asarray(target_weights, np.float64)
            if weights_value.shape != (self.num_targets,) or not np.all(weights_value > 0):
                raise ValueError(
                    f"Expected {self.num_targets} positive target weights. Received: target_weights of shape "
                    f"{weights_value.shape} with minimum {weights_value.min() if weights_value.size else None}."
                )
            weights_value = (weights_value / weights_value.sum()).astype(np.float32)
        targets_value = np.zeros([self.num_targets, self.dim], np.float32) if targets is None else targets

        self.targets = self.add_weight(
            shape=(self.num_targets, self.dim),
            initializer=keras.initializers.Constant(targets_value),
            trainable=False,
            name="targets",
            dtype="float32",
        )
        self.heights = self.add_weight(
            shape=(self.num_targets,),
            initializer=keras.initializers.Constant(heights_value),
            trainable=False,
            name="heights",
            dtype="float32",
        )
        self.target_weights = self.add_weight(
            shape=(self.num_targets,),
            initializer=keras.initializers.Constant(weights_value),
            trainable=False,
            name="target_weights",
            dtype="float32",
        )
        self.built = True

    def _tiles(self) -> Any:
        return tile_targets(tf.convert_to_tensor(self.targets), tf.convert_to_tensor(self.heights), self.tile_targets)

    def call(self, x: Any, return_index: bool = False, top_k: Optional[int] = None) -> Any:
        x = tf.convert_to_tensor(x, tf.float32)
        tiles = self._tiles()
        index = assign_tile(x, tiles, float64_ties=self.float64_ties)
        image = tf.gather(tf.convert_to_tensor(self.targets), index)
        outputs: list = [image]
        if return_index:
            outputs.append(index)
        if top_k is not None:
            k = _positive_int("top_k", top_k)
            if k > self.num_targets:
                raise ValueError(f"Expected top_k <= N = {self.num_targets}. Received: top_k={k}.")
            outputs.extend(top_k_tile(x, tiles, k))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def cell_index(self, x: Any) -> Any:
        """c(x) = argmax_i <x, y_i> + h_i, shape=[batch], int32."""
        return self(x, return_index=True)[1]

    def set_heights(self, heights: Any) -> None:
        """Replace the heights (shape=[N])."""
        value = np.asarray(heights, np.float32)
        if value.shape != (self.num_targets,):
            raise ValueError(f"Expected heights of shape [{self.num_targets}]. Received: heights.shape={value.shape}.")
        self.heights.assign(value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], self.dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_targets=self.num_targets, dim=self.dim, tile_targets=self.tile_targets, float64_ties=self.float64_ties
        )
        return config
