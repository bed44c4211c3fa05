"""Monte-Carlo Adam: known answers in 1-D and 2-D, the stopping rule, checkpoint resume, pinned iterates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geokeras.ot.monte_carlo_adam import automatic_eval_samples
from geokeras.ot.newton import power_cells
from geokeras.ot.solve import solve

QUADRANT_TARGETS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)


def test_one_dimensional_cells_are_the_quantile_intervals():
    # Uniform source on [0, 1], sorted targets: cell i is [F_{i-1}, F_i], F = cumsum(nu).
    targets = np.array([[0.1], [0.3], [0.35], [0.8], [1.5], [2.0]], np.float32)
    weights = np.array([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
    tol = 0.01
    result = solve(targets, weights, source={"type": "uniform_cube", "low": 0, "high": 1}, tol=tol, seed=1)
    assert result.converged and result.tv_bound <= tol and result.empty_cells == 0
    h, y = result.heights, targets[:, 0].astype(np.float64)
    boundaries = (h[:-1] - h[1:]) / (y[1:] - y[:-1])  # <x, y_i> + h_i = <x, y_{i+1}> + h_{i+1}
    # TV <= tol bounds the mass error of every union of cells, so every boundary moves <= tol.
    np.testing.assert_allclose(boundaries, np.cumsum(weights)[:-1], atol=1.25 * tol)


def test_quadrants_with_a_symmetric_sobol_source_keep_zero_heights_exactly():
    # Each quadrant of a scrambled Sobol net holds exactly a quarter of it: the gradient is 0.
    result = solve(QUADRANT_TARGETS, tol=0.01, eval_samples=1 << 14)
    np.testing.assert_array_equal(result.heights, 0.0)
    assert result.converged and result.tv == 0.0 and result.max_rel_mass_error == 0.0


def test_pseudo_random_quadrants_and_unequal_weights_reach_the_closed_form():
    tol = 0.01
    source = {"type": "uniform_cube", "sampling": "pseudo_random"}
    equal = solve(QUADRANT_TARGETS, source=source, tol=tol, seed=3)
    unequal = solve(QUADRANT_TARGETS, [0.4, 0.1, 0.1, 0.4], source=source, tol=tol, seed=3)
    assert equal.converged and unequal.converged
    # A boundary at x = (h_j - h_i) / 2 moved by b moves mass b <= TV <= tol, so h moves <= 2 tol.
    np.testing.assert_allclose(equal.heights, 0.0, atol=2.5 * tol)
    np.testing.assert_allclose(unequal.heights, [0.3, -0.3, -0.3, 0.3], atol=2.5 * tol)
    areas, _, _ = power_cells(QUADRANT_TARGETS, unequal.heights, -0.5, 0.5)
    assert 0.5 * np.abs(areas - [0.4, 0.1, 0.1, 0.4]).sum() <= 1.25 * tol


def test_stopping_rule_holds_for_the_exact_masses_of_random_targets():
    rng = np.random.default_rng(0)
    targets = rng.normal(size=(32, 2)).astype(np.float32)
    tol = 0.02
    result = solve(targets, tol=tol, seed=0)
    assert result.converged and result.tv_bound <= tol
    areas, _, _ = power_cells(targets, result.heights, -0.5, 0.5)
    assert 0.5 * np.abs(areas - 1 / 32).sum() <= 1.25 * tol
    history = result.history
    assert len(history["step"]) == result.steps == len(history["chi2"])
    assert result.samples == sum(history["samples"])
    assert history["check_tv_bound"][-1] == result.tv_bound


def test_resumed_solve_gives_the_same_heights_as_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(1)
    targets = rng.normal(size=(16, 3)).astype(np.float32)
    keys = dict(tol=1e-3, eval_samples=4096, check_every=10, seed=5)
    uninterrupted = solve(targets, max_steps=40, **keys)
    first = solve(targets, max_steps=20, checkpoint_dir=tmp_path, **keys)
    resumed = solve(targets, max_steps=40, checkpoint_dir=tmp_path, **keys)
    assert first.steps == 20 and resumed.steps == uninterrupted.steps == 40
    assert not np.array_equal(first.heights, uninterrupted.heights)
    np.testing.assert_array_equal(resumed.heights, uninterrupted.heights)
    assert resumed.samples == uninterrupted.samples
    with pytest.raises(ValueError, match="different problem"):
        solve(targets + 1.0, max_steps=40, checkpoint_dir=tmp_path, **keys)


def test_automatic_evaluation_sample_size():
    # Two halves of 2^ceil(log2(sqrt(N) / tol^2)) points: sqrt(1024) / 0.02^2 = 80000 -> 2^17.
    assert automatic_eval_samples(1024, 0.02, 1 << 23) == 1 << 18
    assert automatic_eval_samples(4, 0.5, 1 << 23) == 2 * 4096
    assert automatic_eval_samples(10**6, 0.01, 1 << 20) == 1 << 20


SHARDED_SCRIPT = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from geokeras.ot.solve import solve
targets = np.random.default_rng(0).normal(size=(24, 3)).astype(np.float32)
keys = dict(max_steps=20, check_every=10, eval_samples=4096, tol=1e-3, seed=1)
one = solve(targets, **keys)
with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
    two = solve(targets, **keys)
print("IDENTICAL" if np.array_equal(one.heights, two.heights) else "DIFFERENT", two.steps)
"""


def test_targets_sharded_across_two_devices_give_the_same_heights():
    # Logical devices must be configured before TensorFlow starts: run in a fresh process.
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-2:] == ["IDENTICAL", "20"]


def test_one_step_moves_the_heights_by_the_learning_rate_times_the_score_scale():
    # Targets 0 and 1 on [0, 1] with zero heights: target 1 takes every source point, so the
    # gradient is w - nu = (-1/2, 1/2). Adam's first step is lr g / (|g| + eps) in units of the
    # score scale sigma_x rms|y - mean y| = (1/sqrt 12)(1/2), eps = 1e-3 / 2 (per target).
    import math

    lr = 0.05
    targets = np.array([[0.0], [1.0]], np.float32)
    result = solve(
        targets,
        source={"type": "uniform_cube", "low": 0, "high": 1},
        solver="monte_carlo_adam",
        max_steps=1,
        init="zeros",
        seed=0,
        learning_rate=lr,
    )
    step = lr * (0.5 / math.sqrt(12)) * 0.5 / (0.5 + 5e-4)
    np.testing.assert_allclose(result.heights, [step, -step], rtol=1e-5)


def test_the_time_limit_stops_the_solve_with_a_warning():
    targets = np.random.default_rng(6).normal(size=(12, 2)).astype(np.float32)
    result = solve(targets, tol=0.001, time_limit=1e-9, eval_samples=4096, seed=0)
    assert not result.converged and result.steps == 0  # the clock is read before the first block
    warning = result.to_metrics()["warning"]
    assert warning == (  # no wall time in it: metrics minus TIMING_METRICS reproduce exactly
        f"monte_carlo_adam did not converge: time_limit=1e-09 s was reached after 0 steps with TV bound "
        f"{result.tv_bound:.3g} (tol=0.001), TV {result.tv:.3g}, max relative mass error "
        f"{result.max_rel_mass_error:.3g}; the OT map is approximate."
    )


def test_time_limit_must_be_positive_and_finite():
    from geokeras.errors import SpecError
    from geokeras.ot.params import MonteCarloAdamParams

    assert MonteCarloAdamParams().time_limit == 600.0
    key = r"^time_limit: "
    with pytest.raises(SpecError, match=key + r"input should be greater than 0\. Received: 0\.$"):
        solve(QUADRANT_TARGETS, time_limit=0)
    finite = r"expected a finite number \(NaN and infinities are refused\)\. Received: inf\.$"
    with pytest.raises(SpecError, match=key + finite):
        solve(QUADRANT_TARGETS, time_limit=float("inf"))


def test_progress_lines_go_to_stderr_between_blocks(capsys):
    targets = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    solve(targets, max_steps=30, check_every=10, tol=1e-4, eval_samples=4096, progress_seconds=1e-9, seed=0)
    lines = capsys.readouterr().err.splitlines()
    progress = [line for line in lines if line.startswith("geokeras: monte_carlo_adam: step ")]
    # Before blocks 2 and 3 (the first block has nothing to report yet).
    assert [line.split(",")[0] for line in progress] == [
        "geokeras: monte_carlo_adam: step 10/30",
        "geokeras: monte_carlo_adam: step 20/30",
    ]
    assert all("of time_limit=600, TV bound (steps) " in line for line in progress)
    assert all(line.endswith(" 4096 samples/step") for line in progress)
    from geokeras.ot.params import MonteCarloAdamParams

    assert MonteCarloAdamParams().progress_seconds == 10.0  # quick solves print nothing


# The heights of the small solve below, computed by the solver before its split into setup, step,
# checkpointing and check loop; any change to the iterates (however small) shows here.
PINNED_HEIGHTS = [
    "-0x1.040d460000000p-6",
    "-0x1.97adda8000000p-4",
    "-0x1.7f645e8000000p-4",
    "0x1.7c4f49c000000p-3",
    "-0x1.e250688000000p-4",
    "0x1.20e3afc000000p-3",
]


def test_a_small_solve_reproduces_the_pinned_heights_bit_for_bit():
    import tensorflow as tf

    targets = np.array([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.9], [0.1, 0.2], [-1.1, -0.6], [0.8, -0.3]], np.float32)
    with tf.device("/CPU:0"):  # the pinned values are CPU float32 arithmetic
        result = solve(
            targets,
            max_steps=40,
            check_every=5,
            samples=256,
            sample_tile=128,
            stall_checks=1,
            average_window=10,
            tol=1e-3,
            eval_samples=4096,
            seed=3,
        )
    # Two schedule changes (256 -> 512 -> 1024 samples per step, learning rate halved each time).
    assert result.steps == 40 and not result.converged and result.samples == 17920
    assert sorted(set(result.history["samples"])) == [256, 512, 1024]
    np.testing.assert_array_equal(result.heights, [float.fromhex(value) for value in PINNED_HEIGHTS])


def test_adam_state_is_algorithm_1_and_meets_keras_adam_when_its_epsilon_is_rescaled():
    # Algorithm 1 adds epsilon to sqrt(v_hat); Keras adds it to sqrt(v) = sqrt(1 - beta_2^t) sqrt(v_hat),
    # so Keras with epsilon sqrt(1 - beta_2^t) takes the same step t (up to float32 rounding).
    import keras
    import tensorflow as tf

    from geokeras.ot.adam_state import AdamState

    beta_1, beta_2, epsilon, lr = 0.9, 0.999, 1e-2, 0.05
    gradients = [tf.constant([0.1, -0.2, 3e-3, 0.0]), tf.constant([-0.05, -0.1, 4e-3, 1e-3])]
    adam = AdamState(4, beta_1, beta_2, epsilon)
    ours = [adam.adam_delta(gradient, tf.constant(lr)).numpy() for gradient in gradients]
    g = gradients[0].numpy().astype(np.float64)  # step 1: m_hat = g, v_hat = g^2
    # rtol: in float32, 1 - float32(0.999) and float32(1 - 0.999) differ by 1.3e-5 relative.
    np.testing.assert_allclose(ours[0], lr * g / (np.abs(g) + epsilon), rtol=2e-5)
    assert int(adam.adam_t.numpy()) == 2

    def keras_steps(rescale: bool) -> list:
        variable = tf.Variable(tf.zeros([4]))
        optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        steps = []
        for t, gradient in enumerate(gradients, start=1):
            optimizer.epsilon = epsilon * math.sqrt(1 - beta_2**t) if rescale else epsilon
            before = variable.numpy()
            optimizer.apply_gradients([(gradient, variable)])
            steps.append(before - variable.numpy())
        return steps

    for theirs, mine in zip(keras_steps(rescale=True), ours, strict=True):
        np.testing.assert_allclose(theirs, mine, rtol=1e-5, atol=1e-9)
    # One epsilon for both: Keras' weighs 1 / sqrt(1 - beta_2) ~ 32 times more (the 3e-3 gradient's step shrinks).
    same_epsilon = keras_steps(rescale=False)[0]
    assert same_epsilon[2] < 0.5 * ours[0][2]
