"""What every OT source and every OT solver must satisfy.

Sources: samples of shape [n, dim], finite float32, a pure function of (seed, step), inside
their bounding box, with the declared per-coordinate standard deviation and a finite log
density on their own samples. Solvers: on a tiny plane problem (four weighted targets, the
uniform square source), heights of shape [N] with mean 0, weights summing to 1, cell masses of
fresh source samples summing to 1 and near the weights, plain-JSON metrics, and the same
heights for the same seed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from geokeras.ot.solve import solve
from geokeras.ot.sources import make_source
from tests.contracts.registries import entries, example

SEED = 5
TARGETS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], np.float32)
WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("dim", [1, 3])
@pytest.mark.parametrize("entry", entries("OT_SOURCES"))
def test_source_samples_have_the_shape_and_law_declared(entry, dim):
    source = make_source(example(entry), dim)
    assert source.dim == dim and source.uniform_dim >= dim
    points = np.asarray(source.sample(4096, SEED))
    assert points.shape == (4096, dim) and points.dtype == np.float32 and np.isfinite(points).all()
    np.testing.assert_array_equal(np.asarray(source.sample(4096, SEED)), points)
    assert not np.array_equal(np.asarray(source.sample(4096, SEED + 1)), points)
    assert not np.array_equal(np.asarray(source.sample(4096, SEED, step=1)), points)
    box = source.box()
    if box is not None:
        low, high = box
        assert np.all(points >= low - 1e-6) and np.all(points <= high + 1e-6)
    np.testing.assert_allclose(points.std(axis=0), source.coordinate_std(), rtol=0.05)
    np.testing.assert_allclose(points.mean(axis=0), source.mean(), atol=0.05 * source.coordinate_std())
    log_density = np.asarray(source.log_prob(points[:256]))
    assert log_density.shape == (256,) and np.isfinite(log_density).all()


def cell_masses(result, samples: int = 1 << 15) -> np.ndarray:
    """The share of fresh source samples in each power cell argmax_i <x, y_i> + h_i."""
    x = np.asarray(result.source.sample(samples, SEED + 100), dtype=np.float64)
    cells = np.argmax(x @ result.targets.T.astype(np.float64) + result.heights, axis=1)
    return np.bincount(cells, minlength=result.targets.shape[0]) / samples


@pytest.mark.parametrize("entry", entries("OT_SOLVERS"))
def test_solvers_transport_the_source_onto_the_weighted_targets(entry):
    params = example(entry)
    result = solve(TARGETS, WEIGHTS, source="uniform_cube", solver=params, seed=SEED)
    assert result.solver == entry.name and result.converged
    assert result.heights.shape == (4,) and np.isfinite(result.heights).all()
    assert abs(result.heights.mean()) < 1e-9
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(result.weights, WEIGHTS)
    masses = cell_masses(result)
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)
    assert 0.5 * np.abs(masses - WEIGHTS).sum() < max(2 * getattr(params, "tol", 0.0), 0.01)
    json.dumps(result.to_metrics(), allow_nan=False)
    again = solve(TARGETS, WEIGHTS, source="uniform_cube", solver=params, seed=SEED)
    np.testing.assert_array_equal(again.heights, result.heights)
