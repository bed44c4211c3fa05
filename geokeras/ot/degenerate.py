"""Degenerate targets, detected before any solver runs: duplicates and a single repeated point.

An encoder maps many inputs to exactly the same code when it saturates or collapses. For semi-
discrete OT that is harmless but must be handled before solving: two equal targets y_i = y_j
have scores <x, y_i> + h_i and <x, y_j> + h_j that differ by a constant, so one of the two cells
is empty (or, with h_i = h_j, both are the same set counted twice) and no heights can give each
its own mass. The measure sum_i nu_i delta_{y_i} does not change when equal targets are merged
into one carrying the summed weight, so the OT map onto the merged targets *is* the OT map of
the problem; :class:`MergedTargets` keeps the original-to-merged index map so that a training
code's cell is still known.

When every target is the same point there is nothing to transport: every source point goes to
it. For latent codes this means the encoder collapsed, and generation would decode one point;
:func:`merge_duplicate_targets` refuses such targets with a
:class:`~geokeras.errors.GeokerasInputError` (a single target given on purpose, N = 1, is fine).

Targets on a lower-dimensional affine subspace (codes on a line in a 2-D latent space, for
instance from a dead latent unit) are *not* degenerate: from an absolutely continuous source
the power cells are slabs orthogonal to that subspace and the problem is well posed; both
solvers handle them (``newton`` finds the neighbours of collinear targets from a 1-D hull).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geokeras.errors import GeokerasInputError

__all__ = ["MergedTargets", "merge_duplicate_targets"]


@dataclass(frozen=True)
class MergedTargets:
    """Distinct targets with summed weights, in the order of their first occurrence.

    Attributes:
        targets: shape=[K, d], float32, pairwise distinct.
        weights: shape=[K], float64, summing to 1: the summed weights of each group of equal targets.
        index: shape=[N], int64: original target i is merged target ``index[i]`` (the identity
            when no two targets are equal).
    """

    targets: np.ndarray
    weights: np.ndarray
    index: np.ndarray

    @property
    def merged(self) -> int:
        """How many original targets were absorbed into an equal earlier one (N - K)."""
        return int(self.index.shape[0] - self.targets.shape[0])


def merge_duplicate_targets(targets: np.ndarray, weights: np.ndarray) -> MergedTargets:
    """Merge exactly equal targets (float32 values; -0.0 equals 0.0) into one with the summed weight.

    Args:
        targets: shape=[N, d], finite float32 (``geokeras.ot.solve.checked_targets``).
        weights: shape=[N], positive, summing to 1.

    Raises:
        GeokerasInputError: N >= 2 targets and all of them the same point.
    """
    targets = np.asarray(targets, np.float32) + np.float32(0.0)  # -0.0 -> 0.0
    weights = np.asarray(weights, np.float64)
    count = targets.shape[0]
    unique, first, inverse = np.unique(targets, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if unique.shape[0] == count:
        return MergedTargets(targets, weights, np.arange(count, dtype=np.int64))
    if unique.shape[0] == 1:
        point = ", ".join(f"{value:.6g}" for value in targets[0][:8]) + (", ..." if targets.shape[1] > 8 else "")
        raise GeokerasInputError(
            f"Expected at least two distinct targets to transport onto. Received: all {count} targets "
            f"(latent codes) are the same point [{point}]: the encoder collapsed, so the OT map and "
            f"generation would send everything to one code. Check the reconstruction error and the "
            f"training (learning rate, code_l1, activations) before solving."
        )
    order = np.argsort(first, kind="stable")  # merged targets in order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    index = rank[inverse].astype(np.int64)
    summed = np.bincount(index, weights=weights, minlength=order.shape[0])
    return MergedTargets(unique[order], summed / summed.sum(), index)
