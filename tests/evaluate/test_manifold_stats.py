"""manifold_stats: TwoNN and Levina-Bickel MLE recover known intrinsic dimensions.

Tolerance: at N points of an m-manifold both estimates scatter by about m / sqrt(N) (the
standard deviation of the maximum-likelihood estimate of a Pareto exponent from N draws,
the model behind both estimators), so an estimate within 4 m / sqrt(N) of m is the test;
with N = 2000 that is 0.09 m. The seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.evaluate import EvaluationContext, run_evaluators
from geokeras.evaluate.manifold_stats import (
    SEED_PURPOSE,
    evaluate_manifold_stats,
    mle_dimension,
    neighbour_distances,
    two_nn_dimension,
)
from geokeras.evaluate.params import ManifoldStatsParams
from geokeras.manifolds import make

N = 2000


def tolerance(dim: int, count: int = N) -> float:
    return 4.0 * dim / np.sqrt(count)


KNOWN = [
    pytest.param({"type": "circle", "radius": 2.0}, 1, id="circle"),
    pytest.param({"type": "sphere", "dim": 2}, 2, id="sphere S^2"),
    pytest.param({"type": "sphere", "dim": 3}, 3, id="sphere S^3 in R^4"),
    pytest.param({"type": "circle", "embed": {"ambient_dim": 10}}, 1, id="circle in R^10"),
    pytest.param({"type": "torus"}, 2, id="torus"),
]


@pytest.mark.parametrize("params, dim", KNOWN)
def test_estimators_recover_the_true_dimension(params, dim):
    points = make(params).sample(N, seed=11)
    assert abs(two_nn_dimension(points) - dim) < tolerance(dim)
    assert abs(mle_dimension(points, k=10) - dim) < tolerance(dim)


def test_isometric_embedding_leaves_the_estimates_unchanged():
    """Both estimators see only distances, which the isometric lift preserves (to rounding)."""
    plane = make({"type": "circle"}).sample(N, seed=3)
    lifted = make({"type": "circle", "embed": {"ambient_dim": 10}}).sample(N, seed=3)
    assert lifted.shape == (N, 10)
    assert two_nn_dimension(lifted) == pytest.approx(two_nn_dimension(plane), rel=1e-9)
    assert mle_dimension(lifted) == pytest.approx(mle_dimension(plane), rel=1e-9)


def test_uniform_cube_of_dimension_three():
    points = np.random.default_rng(0).random((N, 3))
    # A cube has a boundary, where both estimators are biased low (module docstring).
    assert 3.0 - 2 * tolerance(3) < two_nn_dimension(points) < 3.0 + tolerance(3)
    assert 3.0 - 2 * tolerance(3) < mle_dimension(points) < 3.0 + tolerance(3)


def test_two_nn_closed_form_on_three_collinear_points():
    """Points 0, 1, 3: (r1, r2) = (1, 3), (1, 2), (2, 3), so mu = 3, 2, 1.5.

    Sorted, mu = 1.5, 2, 3 with F_i = i / 3; the last (F = 1) is never fitted, so with no
    discard the fit uses x = log 1.5, log 2 and y = -log(1 - 1/3), -log(1 - 2/3), and the
    line through the origin has slope m = sum(x y) / sum(x^2).
    """
    points = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_array_equal(neighbour_distances(points, 2), [[1.0, 3.0], [1.0, 2.0], [2.0, 3.0]])
    x = np.log([1.5, 2.0])
    y = -np.log([2.0 / 3.0, 1.0 / 3.0])
    assert two_nn_dimension(points, discard_fraction=0.0) == pytest.approx(float(x @ y / (x @ x)), rel=1e-14)


def test_mle_closed_form_on_an_integer_grid():
    """Points 0, 1, ..., 49 on a line.

    k = 3: an interior point has neighbours at 1, 1, 2, so its m_k(x)^(-1) = mean over j < 3
    of log(T_3 / T_j) = log 2; an end point has 1, 2, 3: (log 3 + log 1.5) / 2.
    k = 2: interior points have T_1 = T_2 = 1 (log ratio 0), the two ends log 2, so the
    inverse-averaged estimate is 1 / (2 log 2 / 50) = 25 / log 2.
    """
    points = np.arange(50, dtype=np.float64)[:, None]
    inverse = np.full(50, np.log(2.0))
    inverse[[0, -1]] = (np.log(3.0) + np.log(1.5)) / 2
    assert mle_dimension(points, k=3) == pytest.approx(1.0 / inverse.mean(), rel=1e-12)
    assert mle_dimension(points, k=2) == pytest.approx(25.0 / np.log(2.0), rel=1e-12)


def test_duplicates_are_dropped_before_estimating():
    points = make({"type": "sphere", "dim": 2}).sample(1000, seed=5)
    doubled = np.concatenate([points, points[::-1], points[:10]])
    assert two_nn_dimension(doubled) == two_nn_dimension(points)
    assert mle_dimension(doubled) == mle_dimension(points)
    assert neighbour_distances(doubled, 2).shape == (1000, 2)
    assert np.all(neighbour_distances(doubled, 2) > 0)


def test_input_checks_have_clear_messages():
    with pytest.raises(ValueError, match=r"at least k \+ 1 = 11 distinct points .* Received: 5 distinct"):
        mle_dimension(np.repeat(np.eye(5), 3, axis=0), k=10)
    with pytest.raises(ValueError, match=r"discard_fraction in \[0, 1\). Received: discard_fraction=1.0"):
        two_nn_dimension(np.eye(5), discard_fraction=1.0)
    with pytest.raises(ValueError, match="finite points"):
        two_nn_dimension(np.array([[0.0], [np.nan], [1.0], [2.0]]))
    with pytest.raises(ValueError, match=r"shape \[n, dim\]"):
        two_nn_dimension(np.zeros(5))
    with pytest.raises(ValueError, match="k=1"):
        mle_dimension(np.eye(5), k=1)


# ----------------------------------------------------------------------------- the evaluator
def context_for(manifold_params: dict, samples: int, seed: int = 0, sample_seed: int = 1) -> EvaluationContext:
    manifold = make(manifold_params)
    return EvaluationContext(
        manifold=manifold,
        encoder=None,
        decoder=None,
        autoencoder=None,
        x_train=manifold.sample(samples, seed=sample_seed),
        seed=seed,
    )


def test_evaluator_reports_true_and_estimated_dimension():
    context = context_for({"type": "sphere", "dim": 2, "embed": {"ambient_dim": 5}}, samples=N)
    metrics = run_evaluators(["manifold_stats"], context)["manifold_stats"]
    assert set(metrics) == {"true_dim", "ambient_dim", "samples", "k", "two_nn", "mle"}
    assert (metrics["true_dim"], metrics["ambient_dim"], metrics["samples"], metrics["k"]) == (2, 5, N, 10)
    assert abs(metrics["two_nn"] - 2) < tolerance(2) and abs(metrics["mle"] - 2) < tolerance(2)
    assert metrics["two_nn"] == two_nn_dimension(context.x_train) and metrics["mle"] == mle_dimension(context.x_train)


def test_evaluator_subsample_is_seeded_and_reproducible():
    params = ManifoldStatsParams(samples=500, estimators=["two_nn"])
    first = evaluate_manifold_stats(params, context_for({"type": "torus"}, samples=3000, seed=7))
    again = evaluate_manifold_stats(params, context_for({"type": "torus"}, samples=3000, seed=7))
    other = evaluate_manifold_stats(params, context_for({"type": "torus"}, samples=3000, seed=8))
    assert first == again and first["samples"] == 500 and "mle" not in first
    assert first["two_nn"] != other["two_nn"]
    # The subsample is the documented one: purpose_seed(seed, SEED_PURPOSE), without replacement.
    from geokeras.seeds import purpose_seed

    context = context_for({"type": "torus"}, samples=3000, seed=7)
    rng = np.random.Generator(np.random.PCG64(purpose_seed(7, SEED_PURPOSE)))
    chosen = context.x_train[np.sort(rng.choice(3000, size=500, replace=False))]
    assert first["two_nn"] == two_nn_dimension(chosen)


def test_evaluator_on_images_with_duplicates_and_unknown_dimension():
    """Digits drawn with replacement (n > N) repeat images: the duplicates are dropped."""
    digits = make({"type": "digits", "split": "test", "shape": "image"})
    x = digits.sample(1000, seed=0)  # 359 test images: about 337 distinct
    context = EvaluationContext(manifold=digits, encoder=None, decoder=None, autoencoder=None, x_train=x, seed=0)
    metrics = evaluate_manifold_stats(ManifoldStatsParams(samples=1000), context)
    distinct = len(np.unique(x.reshape(1000, -1), axis=0))
    assert metrics["true_dim"] is None and metrics["ambient_dim"] == 64 and metrics["samples"] == distinct < 359 + 1
    assert np.isfinite(metrics["two_nn"]) and np.isfinite(metrics["mle"])


def test_undefined_estimates_are_null():
    """Too few distinct points, or every distance ratio 1 (a regular lattice): null, not inf."""
    manifold = make({"type": "circle"})
    few = EvaluationContext(
        manifold=manifold,
        encoder=None,
        decoder=None,
        autoencoder=None,
        x_train=np.repeat(manifold.sample(2, seed=0), 4, axis=0),
        seed=0,
    )
    assert evaluate_manifold_stats(ManifoldStatsParams(), few) == {
        "true_dim": 1,
        "ambient_dim": 2,
        "samples": 2,
        "k": 10,
        "two_nn": None,
        "mle": None,
    }
    grid = np.mgrid[0:5, 0:5].reshape(2, -1).T.astype(np.float64)  # every point: 2 neighbours at 1
    lattice = EvaluationContext(manifold=manifold, encoder=None, decoder=None, autoencoder=None, x_train=grid, seed=0)
    metrics = evaluate_manifold_stats(ManifoldStatsParams(k=2), lattice)
    assert metrics["two_nn"] is None and metrics["mle"] is None


@pytest.mark.parametrize(
    "entry, path, message",
    [
        ({"type": "manifold_stats", "k": 1}, (0, "k"), "greater than or equal to 2"),
        ({"type": "manifold_stats", "estimators": ["pca"]}, (0, "estimators", 0), "two_nn"),
        ({"type": "manifold_stats", "estimators": []}, (0, "estimators"), "at least 1"),
        ({"type": "manifold_stats", "two_nn_discard": 1.0}, (0, "two_nn_discard"), "less than 1"),
    ],
)
def test_bad_parameters_name_the_key(entry, path, message):
    from geokeras.errors import SpecError

    with pytest.raises(SpecError) as caught:
        run_evaluators([entry], context_for({"type": "circle"}, samples=10))
    assert caught.value.path == path and message in str(caught.value)
