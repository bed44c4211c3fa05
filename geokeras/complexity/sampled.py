"""Sampled cell counts: distinct activation patterns among N points (a lower bound).

Where no exact count applies (high-dimensional inputs, images, point clouds without a
mesh), the number of distinct activation patterns rho(x_i) among N samples x_1..x_N is a
*lower bound* on the number of cells the samples' support meets: every distinct pattern is
a distinct cell (Lei et al. 2018, section 2), but cells no sample falls into are missed,
so the count grows with N and says nothing of the cells it has not seen. The result is
labelled ``bound: "lower"`` and carries the sample count.

Patterns use the convention of :mod:`geokeras.complexity.lowering` (z > 0 is active). The
forward pass is the lowered network's float64 numpy pass, in batches of ``batch_size``
samples, and each pattern is packed into bytes (``np.packbits``) so that memory is
N * hidden_units / 8 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from geokeras.complexity.lowering import LoweredNetwork, lower


@dataclass(frozen=True)
class SampledRegions:
    """Distinct activation patterns among samples.

    Attributes:
        cells: number of distinct patterns: a lower bound on the cells met by the samples'
            support.
        samples: N, the number of samples.
        patterns: shape=[cells, hidden_units], bool, the distinct patterns.
        sample_cells: shape=[N], the row of ``patterns`` of each sample.
        bound: always ``"lower"``.
    """

    cells: int
    samples: int
    patterns: np.ndarray
    sample_cells: np.ndarray
    bound: str = "lower"

    def as_metrics(self) -> dict[str, Any]:
        return {"cells": self.cells, "samples": self.samples, "bound": self.bound}


def count_regions_sampled(model: Any, samples: Any, batch_size: int | None = None) -> SampledRegions:
    """Distinct activation patterns of ``model`` among ``samples`` (a lower bound on cells).

    Args:
        model: a Keras model or a :class:`~geokeras.complexity.lowering.LoweredNetwork`.
        samples: shape=[N, input_dim] (or [N, H, W, C], flattened row-major like Keras).
        batch_size: samples per forward pass; default 2^22 / (widest layer), so a batch's
            [batch, width] float64 arrays stay near 32 MiB.
    """
    network: LoweredNetwork = lower(model)
    points = np.asarray(samples, dtype=np.float64)
    if points.ndim < 2 or points.shape[0] == 0:
        raise ValueError(f"Expected samples of shape [N, input_dim] with N >= 1. Received: shape={list(points.shape)}.")
    points = points.reshape(points.shape[0], -1)
    if points.shape[1] != network.input_dim:
        raise ValueError(
            f"Expected samples in the network's input space, shape [N, {network.input_dim}]. "
            f"Received: shape={list(np.shape(samples))}."
        )
    if batch_size is None:
        batch_size = max(1, (1 << 22) // max(network.widths))
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"Expected a positive integer batch_size. Received: batch_size={batch_size!r}.")
    units = network.hidden_units
    width = max(1, (units + 7) // 8)
    packed = np.zeros((points.shape[0], width), dtype=np.uint8)
    for first in range(0, points.shape[0], int(batch_size)):
        pattern = network.activation_pattern(points[first : first + int(batch_size)])
        if units:
            packed[first : first + pattern.shape[0]] = np.packbits(pattern, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
    _, first_index, inverse = np.unique(keys, return_index=True, return_inverse=True)
    patterns = np.unpackbits(packed[first_index], axis=1, count=units).astype(bool)
    return SampledRegions(
        cells=int(first_index.size),
        samples=int(points.shape[0]),
        patterns=patterns,
        sample_cells=inverse.reshape(-1).astype(np.int64),
    )
