"""Monte-Carlo Adam: semi-discrete OT in any dimension (solver type ``monte_carlo_adam``).

The energy E(h) = int max_i(<x, y_i> + h_i) dmu(x) - sum_i nu_i h_i is convex with gradient
grad E = w(h) - nu, w_i(h) = mu(W_i(h)) (Gu, Luo, Sun, Yau 2016; Lei et al. 2018 section 5;
AE-OT, An et al. ICLR 2020). One step:

1. draw M source points in two independent halves, in tiles of ``sample_tile`` rows: each
   half is a scrambled Sobol net (a linear matrix scramble keyed by the block of
   ``check_every`` steps, re-randomised every step by a fresh random digital shift, so each
   point is uniform and every step's estimate unbiased; tiles are aligned blocks of the net
   and cost one XOR each, :func:`geokeras.ot.quasi_random.net_tile`), or pseudo-random draws;
2. assign each to its power cell (tiled score matmul + argmax, :mod:`geokeras.ot.assignment`)
   and count: w_hat_i = #{x in W_i} / M, g = w_hat - nu (an unbiased estimate of grad E);
3. bias-corrected Adam (Kingma & Ba 2015, Algorithm 1) on h with step size
   lr * sigma_x * rms|y - mean y| (so lr is free of the code and source scales) and
   epsilon * (1/N); re-centre h to mean 0 (E is invariant under h + c);
4. average the iterates: h_bar is the running mean of the last ``average_window`` iterates
   (restarted at every schedule change); h_bar is what the solver evaluates and returns.

Schedule, checked on the host every ``check_every`` steps (the steps in between run in one
``tf.function`` ``tf.while_loop``: no host round trip inside): the *monitor* is the debiased
chi^2 of the steps' gradients (the two halves of each step's sample give two estimates whose
product has expectation chi^2 = sum_i (w_i - nu_i)^2 / nu_i up to the halves' correlation);
when it has not improved by 10 % for ``stall_checks`` checks, the samples per step double (up
to ``max_samples``) and the learning rate is multiplied by ``lr_decay``.

Stopping rule, independent of N: on an *independent* evaluation sample (the source's
evaluation stream, two independently scrambled halves A, B of M_e / 2 points each) at h_bar,
chi2_hat = sum_i (w^A_i - nu_i)(w^B_i - nu_i) / nu_i is unbiased for chi^2(w || nu), and
TV = 1/2 sum |w_i - nu_i| <= 1/2 sqrt(chi^2) (Cauchy-Schwarz). The solve stops when
1/2 sqrt(max(chi2_hat, 0)) <= tol (and, if set, the max relative error <= max_rel_tol).
The automatic M_e = 2 * 2^ceil(log2(sqrt(N) / tol^2)) makes the estimator's standard deviation
(about sqrt(N) / (M_e / 2) for pseudo-random points, less for Sobol nets) at most tol^2, a
quarter of the threshold 4 tol^2. The evaluation runs only when the monitor says the
threshold is near (its bound <= 4 tol: h_bar is usually well ahead of the current iterate),
and at the end.

Limits: the solve stops after ``max_steps`` steps or ``time_limit`` of wall time (default
600 s, read on the host between blocks of ``check_every`` steps, never inside the graph) with
``converged: False`` and a warning, unless the final evaluation meets the stopping rule. On a
terminal a bar over ``max_steps`` shows where it stands (:mod:`geokeras.console`); elsewhere a
line on stderr every ``progress_seconds``.

State (h, Adam moments, h_bar, counters, the schedule) lives in ``tf.Variable`` s saved by
``tf.train.Checkpoint`` after every check when ``checkpoint_dir`` is given; a solve of the same
problem (same targets, weights, source, solver keys and seed) resumes from it and produces the
same heights as an uninterrupted solve.

Code: :func:`_setup` (sizes, scales, initial heights), :class:`_State` (the variables and the
optimizer step; Adam itself in :mod:`geokeras.ot.adam_state`, which says how it differs from
``keras.optimizers.Adam``), :class:`_GradientEstimator` (steps 1-2), :func:`_compile_block` (the
``tf.function``), :func:`_open_checkpoint`, :func:`_check_loop` (schedule, stopping rule, limits,
progress) and :func:`_result` (the warning).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from geokeras.console import current_console
from geokeras.ot.adam_state import AdamState
from geokeras.ot.assignment import (
    SCORE_BLOCK_TARGETS,
    assign_blocked,
    assign_sharded,
    count_cells,
    disable_tensor_float_32,
    shard_targets,
    tile_targets,
)
from geokeras.ot.params import MonteCarloAdamParams
from geokeras.ot.quasi_random import POINTS_PER_SCRAMBLE, seed_pair, stream_key
from geokeras.ot.solve import OTResult, initial_heights, mass_errors

__all__ = ["automatic_eval_samples", "solve_monte_carlo_adam"]

TRAINING_STREAM = 0
EVALUATION_STREAM = 1
_IMPROVEMENT = 0.9  # a check "improves" when the monitor drops below 90 % of the best so far
_EVALUATE_BELOW = 4.0  # evaluate h_bar when the monitor's TV bound is below this many tol (h_bar leads it)


def _power_of_two_at_least(value: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1.0, value))))


def automatic_eval_samples(count: int, tol: float, cap: int) -> int:
    """M_e = 2 * 2^ceil(log2(sqrt(N) / tol^2)), at least 2 * 4096, at most ``cap`` (module docstring)."""
    half = max(4096, _power_of_two_at_least(math.sqrt(count) / tol**2))
    return int(min(2 * half, _power_of_two_at_least(cap)))


class _Evaluator:
    """Cell masses at given heights on the fixed, independent evaluation sample."""

    def __init__(self, source: Any, targets: Any, nu: np.ndarray, params: MonteCarloAdamParams, seed: int):
        count = targets.shape[0]
        total = params.eval_samples or automatic_eval_samples(count, params.tol, params.max_eval_samples)
        self.half = min(_power_of_two_at_least(total / 2), POINTS_PER_SCRAMBLE)
        self.samples = 2 * self.half
        self.source, self.targets, self.nu, self.params = source, targets, nu, params
        base = tf.constant(seed_pair(seed, EVALUATION_STREAM))
        self.keys = [stream_key(base, 0), stream_key(base, 1)]

    def __call__(self, heights: Any) -> dict[str, float]:
        counts = [
            count_cells(
                self.source,
                self.targets,
                heights,
                self.half,
                key,
                tile_rows=self.params.sample_tile,
                tile_targets=min(self.params.target_tile, SCORE_BLOCK_TARGETS),
                float64_ties=self.params.float64_ties,
            )[0]
            .numpy()
            .astype(np.float64)
            for key in self.keys
        ]
        w_a, w_b = counts[0] / self.half, counts[1] / self.half
        chi2 = float(np.sum((w_a - self.nu) * (w_b - self.nu) / self.nu))
        tv, max_rel = mass_errors(0.5 * (w_a + w_b), self.nu)
        return {
            "tv": tv,
            "tv_bound": 0.5 * math.sqrt(max(chi2, 0.0)),
            "max_rel_mass_error": max_rel,
            "empty_cells": int(np.sum((counts[0] + counts[1]) == 0)),
        }


def _fingerprint(targets: np.ndarray, nu: np.ndarray, source: Any, params: MonteCarloAdamParams, seed: int) -> int:
    """A 62-bit hash of everything that determines the iterates (not the step and time limits)."""
    keys = params.model_dump(exclude={"max_steps", "time_limit", "progress_seconds", "checkpoint_dir"})
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(targets).tobytes())
    digest.update(np.ascontiguousarray(nu).tobytes())
    digest.update(json.dumps([source.params.model_dump(), keys, seed], sort_keys=True, default=str).encode())
    return int.from_bytes(digest.digest()[:8], "little") >> 2


@dataclasses.dataclass(frozen=True)
class _Setup:
    """What a solve derives from its inputs before the first step; fixed for the whole solve.

    Attributes:
        targets: shape=[N, d] float32; nu: shape=[N] float64, the target weights.
        tile: source points per tile; a step's sample is two halves of (tiles / 2) * tile points.
        first_tiles, max_tiles: tiles per step at the start and at most (both even, >= 2).
        step_scale: sigma_x * rms|y - mean y|, the score scale; Adam's step size is learning_rate times it.
        epsilon: Adam's epsilon, ``params.epsilon / N`` (gradients scale like 1/N).
        heights: shape=[N] float64, the initial heights (``params.init``).
        fingerprint: :func:`_fingerprint` of the problem (checked before resuming a checkpoint).
    """

    targets: np.ndarray
    nu: np.ndarray
    tile: int
    first_tiles: int
    max_tiles: int
    step_scale: float
    epsilon: float
    heights: np.ndarray
    fingerprint: int

    @property
    def count(self) -> int:
        return self.targets.shape[0]


def _setup(targets: Any, weights: Any, source: Any, params: MonteCarloAdamParams, seed: int) -> _Setup:
    """Targets, weights, sample sizes (powers of two), step scale, epsilon and initial heights."""
    targets = np.asarray(targets, np.float32)
    nu = np.asarray(weights, np.float64)
    sample_tile = _power_of_two_at_least(params.sample_tile)
    first_samples = _power_of_two_at_least(params.samples)
    max_samples = min(_power_of_two_at_least(params.max_samples), POINTS_PER_SCRAMBLE)
    # A step's sample is two halves of (tiles / 2) * tile points each (tiles even, >= 2).
    first_samples = max(first_samples, 2)
    tile = min(sample_tile, first_samples // 2)
    y = targets.astype(np.float64)
    spread = math.sqrt(float(np.mean(np.sum((y - y.mean(0)) ** 2, axis=1)))) or 1.0
    return _Setup(
        targets=targets,
        nu=nu,
        tile=tile,
        first_tiles=first_samples // tile,
        max_tiles=max(max_samples // tile, first_samples // tile),
        step_scale=source.coordinate_std() * spread,
        epsilon=params.epsilon / targets.shape[0],
        heights=initial_heights(targets, source, params.init),
        fingerprint=_fingerprint(targets, nu, source, params, seed),
    )


class _State(AdamState):
    """Every variable of a solve (Adam's m, v, adam_t and those below); what ``tf.train.Checkpoint`` saves.

    h: the iterate; h_bar: the running mean of the last ``average_window`` iterates (since
    ``since_reset`` steps); step, samples_used: counters; tiles, learning_rate, best_monitor,
    stalls: the schedule (:func:`_update_schedule`); fingerprint: the problem's (:func:`_fingerprint`).
    """

    def __init__(self, setup: _Setup, params: MonteCarloAdamParams):
        super().__init__(setup.count, params.beta_1, params.beta_2, setup.epsilon, name="monte_carlo_adam")
        self.h = tf.Variable(setup.heights.astype(np.float32), name="h")
        self.h_bar = tf.Variable(setup.heights.astype(np.float32), name="h_bar")
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        self.since_reset = tf.Variable(0, dtype=tf.int64, name="since_reset")
        self.samples_used = tf.Variable(0, dtype=tf.int64, name="samples_used")
        self.tiles = tf.Variable(setup.first_tiles, dtype=tf.int32, name="tiles")
        self.learning_rate = tf.Variable(params.learning_rate, dtype=tf.float32, name="learning_rate")
        self.best_monitor = tf.Variable(np.inf, dtype=tf.float64, name="best_monitor")
        self.stalls = tf.Variable(0, dtype=tf.int64, name="stalls")
        self.fingerprint = tf.Variable(setup.fingerprint, dtype=tf.int64, name="fingerprint")

    def apply_gradient(self, gradient: Any, step_scale: float, tile: int, average_window: int) -> None:
        """One optimizer step (graph code): h <- h - Adam delta, re-centred to mean 0; h_bar, counters.

        The Adam step size is learning_rate * step_scale (module docstring, step 3); h_bar moves
        by 1/min(since_reset, average_window) of its distance to h (a running mean of the window).
        """
        h = self.h - self.adam_delta(gradient, self.learning_rate * step_scale)
        h = self.h.assign(h - tf.reduce_mean(h))
        since = self.since_reset.assign_add(1)
        weight = 1.0 / tf.cast(tf.minimum(since, average_window), tf.float32)
        self.h_bar.assign(self.h_bar + weight * (h - self.h_bar))
        self.step.assign_add(1)
        self.samples_used.assign_add(tf.cast(self.tiles * tile, tf.int64))


def _open_checkpoint(state: _State, folder: Any, fingerprint: int) -> tf.train.CheckpointManager:
    """A manager keeping the latest checkpoint of ``state`` in ``folder``; restores one found there.

    Raises:
        ValueError: the folder holds a checkpoint of a different problem (another fingerprint).
    """
    checkpoint = tf.train.Checkpoint(state=state)
    manager = tf.train.CheckpointManager(checkpoint, str(Path(folder)), max_to_keep=1)
    if manager.latest_checkpoint:
        saved_fingerprint = tf.train.load_variable(
            manager.latest_checkpoint, "state/fingerprint/.ATTRIBUTES/VARIABLE_VALUE"
        )
        if int(saved_fingerprint) != fingerprint:
            raise ValueError(
                f"Expected the checkpoint in {folder} to hold this problem (same targets, weights, source, "
                f"solver keys and seed). Received: a checkpoint of a different problem; use another folder."
            )
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    return manager


class _GradientEstimator:
    """The Monte-Carlo gradient of the dual energy at the current heights (module docstring, steps 1-2).

    grad E(h)_i = mu(W_i(h)) - nu_i (Gu, Luo, Sun, Yau 2016; AE-OT, An et al. 2020) is estimated on
    two independent halves A, B of a step's sample: g = 1/2 (w^A + w^B) - nu, and
    chi2 = sum_i (w^A_i - nu_i)(w^B_i - nu_i) / nu_i, the monitor's unbiased estimate of chi^2(w || nu).
    The targets stay resident: tiled on the default device, or sharded across the strategy's devices.
    """

    def __init__(
        self,
        setup: _Setup,
        state: _State,
        source: Any,
        params: MonteCarloAdamParams,
        seed: int,
        strategy: Optional[Any],
    ):
        count, targets = setup.count, setup.targets
        devices = _strategy_devices(strategy if strategy is not None else tf.distribute.get_strategy())
        shards = shard_targets(count, devices) if len(devices) > 1 else None
        if shards is not None and params.float64_ties:
            raise ValueError(
                f"Expected float64_ties=False with targets sharded across {len(shards)} devices. Received: "
                "float64_ties=True."
            )
        shard_constants = []
        for shard in shards or ():
            with tf.device(shard.device):  # resident on its device for the whole solve
                shard_constants.append(tf.identity(tf.constant(targets[shard.start : shard.stop])))
        self.shards, self.shard_constants = shards, shard_constants
        # Cache-sized score blocks (geokeras.ot.assignment): at most SCORE_BLOCK_TARGETS targets per tile.
        target_tile = min(params.target_tile, SCORE_BLOCK_TARGETS)
        self.target_tiles = tile_targets(targets, np.zeros(count, np.float32), target_tile)
        self.targets_tiled = tf.constant(self.target_tiles.targets)
        self.pad_heights = self.target_tiles.heights - 0.0  # zeros, -inf on padding
        self.nu = tf.constant(setup.nu, tf.float32)
        self.train_key = tf.constant(seed_pair(seed, TRAINING_STREAM))
        self.count, self.tile, self.state, self.source, self.params = count, setup.tile, state, source, params

    def streams(self) -> list:
        """One matrix scramble per half for a block of steps, keyed by its first step (graph code).

        Every step re-randomises it with its own digital shift (quasi_random.net_tile).
        """
        step = self.state.step
        return [self.source.stream(stream_key(self.train_key, step, -1 - half), self.tile) for half in (0, 1)]

    def _tiled(self, h: Any) -> Any:
        """Heights ``h`` (shape=[N]) in the tiles of the targets (-inf on the padding)."""
        shape = self.target_tiles.heights.shape
        padded = tf.concat([h, tf.zeros([shape[0] * shape[1] - self.count])], 0)
        return type(self.target_tiles)(self.targets_tiled, tf.reshape(padded, shape) + self.pad_heights, self.count)

    def _half_counts(self, half: int, nets: list, tiles: Any, half_tiles: Any) -> Any:
        """#{x in W_i} over the ``half_tiles`` tiles of one half of the step's sample, shape=[N] float32."""
        state = self.state
        # The two halves of a step are independent scrambles (keys (step, 0), (step, 1)):
        # the product of their errors is unbiased for chi^2 (the monitor).
        shift_key = stream_key(self.train_key, state.step, half)

        def body(t: Any, counts: Any) -> tuple[Any, Any]:
            x = self.source.tile_points(nets[half], t, shift_key)
            if self.shards is not None:
                index = assign_sharded(x, self.shard_constants, state.h, self.shards, self.params.target_tile)
            else:
                index = assign_blocked(x, tiles, float64_ties=self.params.float64_ties)
            # A segment sum, not tf.math.bincount: XLA needs the output size at compile time.
            return t + 1, counts + tf.math.unsorted_segment_sum(tf.ones_like(index), index, self.count)

        _, counts = tf.while_loop(lambda t, _: t < half_tiles, body, (tf.constant(0), tf.zeros([self.count], tf.int32)))
        return tf.cast(counts, tf.float32)

    def __call__(self, nets: list) -> tuple[Any, Any]:
        """(g, chi2) at the current ``state.h`` for step ``state.step`` (graph code)."""
        tiles = self._tiled(self.state.h.read_value())
        half_tiles = self.state.tiles // 2
        half_samples = tf.cast(half_tiles * self.tile, tf.float32)
        half_a = self._half_counts(0, nets, tiles, half_tiles) / half_samples
        half_b = self._half_counts(1, nets, tiles, half_tiles) / half_samples
        gradient = 0.5 * (half_a + half_b) - self.nu
        chi2 = tf.reduce_sum((half_a - self.nu) * (half_b - self.nu) / self.nu)
        return gradient, chi2


def _compile_block(setup: _Setup, state: _State, estimate: _GradientEstimator, params: MonteCarloAdamParams) -> Any:
    """``run_steps(steps)``: ``steps`` (a Python int, static) gradient + Adam steps in one ``tf.while_loop``.

    Returns the ``tf.function``; each call returns the steps' chi2 monitor values and
    max_i |g_i| / nu_i (shape=[steps] float32 each). No host round trip inside a block.
    """

    def one_step(record_index: Any, monitor: Any, inf_norm: Any, nets: list) -> tuple[Any, Any, Any]:
        gradient, chi2 = estimate(nets)
        state.apply_gradient(gradient, setup.step_scale, setup.tile, params.average_window)
        return (
            record_index + 1,
            monitor.write(record_index, chi2),
            inf_norm.write(record_index, tf.reduce_max(tf.abs(gradient) / estimate.nu)),
        )

    @tf.function(jit_compile=params.jit_compile or None)
    def run_steps(steps: Any) -> tuple[Any, Any]:
        monitor = tf.TensorArray(tf.float32, size=steps)
        inf_norm = tf.TensorArray(tf.float32, size=steps)
        nets = estimate.streams()
        _, monitor, inf_norm = tf.while_loop(
            lambda i, *_: i < steps,
            lambda i, monitor, inf_norm: one_step(i, monitor, inf_norm, nets),
            (tf.constant(0), monitor, inf_norm),
        )
        return monitor.stack(), inf_norm.stack()

    return run_steps


def solve_monte_carlo_adam(
    targets: np.ndarray,
    weights: np.ndarray,
    source: Any,
    params: MonteCarloAdamParams,
    seed: int = 0,
    checkpoint_dir: Optional[Any] = None,
    strategy: Optional[Any] = None,
) -> OTResult:
    """Semi-discrete OT by Monte-Carlo Adam (module docstring).

    Args:
        targets: shape=[N, d] float32; weights: shape=[N] float64 positive, summing to 1.
        source: a :class:`~geokeras.ot.sources.Source` of dimension d.
        params: :class:`~geokeras.ot.params.MonteCarloAdamParams`.
        seed: seeds the training stream (purpose 0) and the evaluation stream (purpose 1).
        checkpoint_dir: folder for ``tf.train.Checkpoint`` files (resumed when it holds a
            checkpoint of the same problem); None: ``params.checkpoint_dir``, else no checkpoints.
        strategy: a ``tf.distribute`` strategy (None: the one in scope). With more than one
            worker device the targets are sharded across them (each device scores its shard;
            the winners are compared on the default device); the heights are the same as on
            one device. ``float64_ties`` is not supported then.

    Returns:
        :class:`~geokeras.ot.solve.OTResult` with the averaged heights h_bar.

    Raises:
        ValueError: the checkpoint folder holds a different problem.
    """
    started = time.perf_counter()
    disable_tensor_float_32()
    setup = _setup(targets, weights, source, params, seed)
    state = _State(setup, params)
    folder = checkpoint_dir if checkpoint_dir is not None else params.checkpoint_dir
    manager = _open_checkpoint(state, folder, setup.fingerprint) if folder is not None else None
    run_steps = _compile_block(setup, state, _GradientEstimator(setup, state, source, params, seed, strategy), params)
    evaluate = _Evaluator(source, setup.targets, setup.nu, params, seed)
    history = _empty_history()
    converged, stop, quality = _check_loop(state, run_steps, evaluate, history, setup, params, manager, started)
    return _result(state, setup, source, params, evaluate, history, converged, stop, quality, started)


def _check_loop(
    state: _State,
    run_steps: Any,
    evaluate: _Evaluator,
    history: dict,
    setup: _Setup,
    params: MonteCarloAdamParams,
    manager: Optional[tf.train.CheckpointManager],
    started: float,
) -> tuple[bool, str, Optional[dict]]:
    """Run blocks of ``check_every`` steps until the stopping rule holds or a limit is reached.

    Between blocks, on the host: the clock (``time_limit``) and the progress (a bar on a terminal,
    else a line every ``progress_seconds``); after each block
    the monitor (mean chi2 of the block), the evaluation of h_bar when the monitor's TV bound is
    within ``_EVALUATE_BELOW`` tol, the schedule and a checkpoint.

    Returns:
        (converged, why it stopped otherwise, the last evaluation or None when the last block had none).
    """
    converged = False
    stop = f"max_steps={params.max_steps} reached"
    quality: Optional[dict] = None
    last_progress = started
    with current_console().progress("OT solve", params.max_steps, unit="steps") as bar:
        while int(state.step.numpy()) < params.max_steps:
            now = time.perf_counter()
            if now - started >= params.time_limit:
                stop = f"time_limit={params.time_limit:g} s was reached"
                break
            if history["chi2"]:
                bar.update(
                    int(state.step.numpy()), f"TV bound {_monitor_bound(history, params):.2g} (tol {params.tol:g})"
                )
                if params.progress_seconds is not None and now - last_progress >= params.progress_seconds:
                    last_progress = now
                    bar.note(_progress_line(state, history, now - started, params))
            converged, quality = _check_block(state, run_steps, evaluate, history, setup, params, manager)
            if converged:
                break
    return converged, stop, quality


def _check_block(
    state: _State,
    run_steps: Any,
    evaluate: _Evaluator,
    history: dict,
    setup: _Setup,
    params: MonteCarloAdamParams,
    manager: Optional[tf.train.CheckpointManager],
) -> tuple[bool, Optional[dict]]:
    """One block of ``check_every`` steps, then the check and the checkpoint: (converged, the evaluation or None)."""
    steps = min(params.check_every, params.max_steps - int(state.step.numpy()))
    monitor = _run_block(state, run_steps, steps, setup.tile, history)
    converged, quality = False, None
    if 0.5 * math.sqrt(max(monitor, 0.0)) <= _EVALUATE_BELOW * params.tol:
        quality = evaluate(state.h_bar)
        _record_check(history, int(state.step.numpy()), quality)
        converged = _stopping_rule_holds(quality, params)
    if not converged:
        _update_schedule(state, monitor, params, setup.max_tiles)
    if manager is not None:
        manager.save(checkpoint_number=int(state.step.numpy()))
    return converged, quality


def _run_block(state: _State, run_steps: Any, steps: int, tile: int, history: dict) -> float:
    """Run ``steps`` steps in one call, record them in ``history``; return the monitor (their mean chi2)."""
    first = int(state.step.numpy())
    samples_now = int(state.tiles.numpy()) * tile
    rate_now = float(state.learning_rate.numpy())
    chi2, max_rel = (value.numpy() for value in run_steps(steps))  # steps: static (XLA)
    history["step"].extend(range(first + 1, first + steps + 1))
    history["samples"].extend([samples_now] * steps)
    history["learning_rate"].extend([rate_now] * steps)
    history["chi2"].extend(chi2.astype(float).tolist())
    history["max_rel_gradient"].extend(max_rel.astype(float).tolist())
    return float(np.mean(chi2))


def _result(
    state: _State,
    setup: _Setup,
    source: Any,
    params: MonteCarloAdamParams,
    evaluate: _Evaluator,
    history: dict,
    converged: bool,
    stop: str,
    quality: Optional[dict],
    started: float,
) -> OTResult:
    """The OTResult at h_bar (re-centred in float64), evaluated now if the last block was not, with a warning
    when the stopping rule does not hold."""
    if quality is None:
        quality = evaluate(state.h_bar)
        _record_check(history, int(state.step.numpy()), quality)
        converged = _stopping_rule_holds(quality, params)  # a limit may stop a solve that is already done
    heights = state.h_bar.numpy().astype(np.float64)
    warning = None
    if not converged:
        warning = (
            f"monte_carlo_adam did not converge: {stop} after {int(state.step.numpy())} steps "
            f"with TV bound {quality['tv_bound']:.3g} (tol={params.tol:g}), "
            f"TV {quality['tv']:.3g}, max relative mass error {quality['max_rel_mass_error']:.3g}; "
            f"the OT map is approximate."
        )
    return OTResult(
        heights=heights - heights.mean(),
        targets=setup.targets,
        weights=setup.nu,
        source=source,
        solver="monte_carlo_adam",
        max_rel_mass_error=quality["max_rel_mass_error"],
        tv=quality["tv"],
        tv_bound=quality["tv_bound"],
        empty_cells=quality["empty_cells"],
        evaluation_samples=evaluate.samples,
        steps=int(state.step.numpy()),
        samples=int(state.samples_used.numpy()),
        seconds=time.perf_counter() - started,
        converged=converged,
        history=history,
        warning=warning,
    )


def _empty_history() -> dict[str, list]:
    """Per step: step, samples, learning_rate, chi2, max_rel_gradient; per evaluation: check_*."""
    return {
        "step": [],
        "samples": [],
        "learning_rate": [],
        "chi2": [],
        "max_rel_gradient": [],
        "check_step": [],
        "check_tv_bound": [],
        "check_tv": [],
        "check_max_rel_mass_error": [],
        "check_empty_cells": [],
    }


def _monitor_bound(history: dict, params: MonteCarloAdamParams) -> float:
    """The monitor's TV bound of the last block: 1/2 sqrt(mean chi2 of its steps)."""
    recent = history["chi2"][-params.check_every :]
    return 0.5 * math.sqrt(max(float(np.mean(recent)), 0.0))


def _progress_line(state: _State, history: dict, elapsed: float, params: MonteCarloAdamParams) -> str:
    """Where the solve stands, for a log: step, time against the limit, the monitor's TV bound against tol."""
    return (
        f"geokeras: monte_carlo_adam: step {int(state.step.numpy())}/{params.max_steps}, "
        f"{elapsed:.0f} s of time_limit={params.time_limit:g}, TV bound (steps) {_monitor_bound(history, params):.3g} "
        f"vs tol={params.tol:g}, {history['samples'][-1]} samples/step"
    )


def _strategy_devices(strategy: Any) -> list[str]:
    """The worker devices of a tf.distribute strategy ([] for the default strategy)."""
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return []
    try:
        return list(strategy.extended.worker_devices)
    except (RuntimeError, AttributeError):
        return []


def _stopping_rule_holds(quality: dict, params: MonteCarloAdamParams) -> bool:
    return quality["tv_bound"] <= params.tol and (
        params.max_rel_tol is None or quality["max_rel_mass_error"] <= params.max_rel_tol
    )


def _record_check(history: dict, step: int, quality: dict) -> None:
    history["check_step"].append(step)
    for key in ("tv_bound", "tv", "max_rel_mass_error", "empty_cells"):
        history[f"check_{key}"].append(quality[key])


def _update_schedule(state: _State, monitor: float, params: MonteCarloAdamParams, max_tiles: int) -> None:
    """Double the samples per step (and decay the learning rate) when the monitor stalls."""
    best = float(state.best_monitor.numpy())
    if monitor < _IMPROVEMENT * best:
        state.best_monitor.assign(monitor)
        state.stalls.assign(0)
        return
    stalls = int(state.stalls.assign_add(1).numpy())
    if stalls < params.stall_checks:
        return
    tiles = int(state.tiles.numpy())
    if tiles < max_tiles:
        state.tiles.assign(2 * tiles)
    state.learning_rate.assign(state.learning_rate * params.lr_decay)
    state.since_reset.assign(0)
    state.best_monitor.assign(monitor)
    state.stalls.assign(0)
