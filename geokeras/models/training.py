"""Fitting the autoencoder: (1/k) sum_i loss(x_i, psi(phi(x_i))) (+ code L1) by minibatches.

:func:`train_autoencoder` compiles the autoencoder with the spec's optimizer and loss and
fits it on a deterministic input pipeline:

* validation samples: a seeded permutation of the sample indices picks
  ``floor(validation_split * k)`` of them (manifold samplers may return samples in parameter
  order, so the tail would be a biased piece of the manifold);
* epoch e visits the training samples in the order
  ``tf.random.experimental.stateless_shuffle(range(k_train), seed=[seed, e])`` (in index order
  without ``shuffle``), cut into batches of ``batch_size`` (the last one smaller). The order
  depends only on (seed, e), so a run resumed at epoch e sees exactly the batches the
  uninterrupted run would have seen;
* every ``checkpoint_every`` epochs (and at the end), ``checkpoint_dir`` receives
  ``autoencoder-epoch<NNNN>.keras`` (weights and optimizer state) and then ``checkpoint.json``
  (the epoch, the history and that file's name), each written to a temporary file and renamed,
  so the json always names a complete checkpoint;
* a NaN or infinite loss, seen after any batch or epoch, stops the fit and raises
  :class:`geokeras.errors.TrainingDivergedError`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf

from geokeras.errors import SpecError, TrainingDivergedError
from geokeras.models.builder import Autoencoder
from geokeras.models.optimizers import build_optimizer
from geokeras.models.params import TrainSpec

CHECKPOINT_STATE_FILE = "checkpoint.json"
CHECKPOINT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingResult:
    """What a fit did.

    Attributes:
        history: per-epoch values, ``{"loss": [...], "val_loss": [...]}`` (val_loss only with
            a validation split), for every epoch of the run including epochs before a resume.
        epochs: epochs trained in total (fewer than ``train.epochs`` after early stopping).
        final_loss: the training loss of the last epoch (``nan`` if no epoch ran), whatever it was;
            metrics.json adds the best epoch and the mean of the last ones
            (:func:`geokeras.models.loss_summary.training_metrics`).
        seconds: wall time of ``Model.fit`` in this call (tracing and compilation included).
        samples_per_second: training samples processed in this call / ``seconds``.
        initial_epoch: the epoch this call started from (0, or the resumed checkpoint's).
    """

    history: dict[str, list[float]]
    epochs: int
    final_loss: float
    seconds: float
    samples_per_second: float
    initial_epoch: int = 0


def reconstruction_loss(name: str) -> keras.losses.Loss:
    """The Keras loss for ``train.loss.reconstruction``.

    mse: mean_j (x_j - y_j)^2; mae: mean_j |x_j - y_j|; huber (delta = 1):
    mean_j [ (x_j - y_j)^2 / 2 if |x_j - y_j| <= 1 else |x_j - y_j| - 1/2 ].
    """
    losses = {
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "huber": keras.losses.Huber,
    }
    if name not in losses:
        raise SpecError(
            f"Unknown reconstruction loss {name!r}. Expected one of: {', '.join(losses)}.",
            path=("loss", "reconstruction"),
        )
    return losses[name]()


def train_autoencoder(
    bundle: Autoencoder,
    x_train: np.ndarray,
    train_spec: TrainSpec,
    *,
    jit_compile: Union[bool, str] = "auto",
    checkpoint_dir: Optional[Path] = None,
    log_dir: Optional[Path] = None,
    resume: bool = False,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainingResult:
    """Compile and fit ``bundle.autoencoder`` to reconstruct ``x_train``.

    Args:
        bundle: from :func:`geokeras.models.builder.build_autoencoder` (built inside the
            strategy's scope; the fit runs under the strategy the model was built in). Its
            ``code_l1`` must equal ``train_spec.loss.code_l1``.
        x_train: the samples, ``shape=[k, *input_shape]``, finite; cast to float32.
        train_spec: the ``train:`` section.
        jit_compile: for ``Model.compile`` (see
            :func:`geokeras.models.runtime.jit_compile_setting`).
        checkpoint_dir: where checkpoints go; ``None``: no checkpoints.
        log_dir: TensorBoard event files go here (see :class:`EpochScalarLogger`);
            ``None``: none.
        resume: continue from the checkpoint in ``checkpoint_dir`` (if there is one) up to
            ``train_spec.epochs`` epochs in total. The optimizer state and the epoch's
            batch order are restored; early stopping's patience counter restarts.
        seed: seeds the validation split and the per-epoch shuffles.
        callbacks: extra Keras callbacks (progress reporting, timing), run after the
            built-in ones (divergence guard, early stopping, checkpoints, event files, progress).

    Returns:
        A :class:`TrainingResult`.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite; ``epoch`` is 1-based.
        SpecError: ``early_stopping.monitor: val_loss`` without a validation split, or a
            validation split that leaves no sample on one side.
    """
    model = bundle.autoencoder
    samples = _checked_samples(x_train, bundle)
    _check_code_l1(bundle, train_spec)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a `checkpoint_dir` to resume from.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Received an invalid value for `seed`: expected an integer >= 0. Received: seed={seed!r}")

    train_samples, validation_samples = split_validation(samples, train_spec.validation_split, int(seed))
    if train_spec.early_stopping is not None and train_spec.early_stopping.monitor == "val_loss":
        if validation_samples is None:
            raise SpecError(
                "early stopping on val_loss needs validation samples. Received "
                f"validation_split: {train_spec.validation_split}. Expected "
                "train.validation_split > 0, or early_stopping.monitor: loss.",
                path=("early_stopping", "monitor"),
            )

    with model.distribute_strategy.scope():
        model.compile(
            optimizer=build_optimizer(train_spec.optimizer),
            loss=reconstruction_loss(train_spec.loss.reconstruction),
            jit_compile=jit_compile,
        )
        state = _load_checkpoint(model, Path(checkpoint_dir)) if resume else None

    initial_epoch = state.epoch if state else 0
    previous_history = state.history if state else {}
    total_epochs = train_spec.epochs
    if state is not None and (state.stopped_early or initial_epoch >= total_epochs):
        return _result(previous_history, initial_epoch, 0.0, 0, initial_epoch)

    batch_size = train_spec.batch_size
    steps_per_epoch = math.ceil(len(train_samples) / batch_size)
    uneven = uneven_batches(len(train_samples), batch_size, model.distribute_strategy.num_replicas_in_sync)
    if uneven and isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        warnings.warn(uneven, RuntimeWarning, stacklevel=2)
    dataset = epoch_batches(
        train_samples,
        batch_size=batch_size,
        shuffle=train_spec.shuffle,
        seed=int(seed),
        first_epoch=initial_epoch,
        end_epoch=total_epochs,
    )
    validation_dataset = (
        None
        if validation_samples is None
        else tf.data.Dataset.from_tensor_slices(validation_samples)
        .batch(batch_size)
        .map(lambda batch: (batch, batch))
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_dataset_options())
    )

    guard = DivergenceGuard()
    all_callbacks: list[keras.callbacks.Callback] = [guard]
    if train_spec.early_stopping is not None:
        stopping = train_spec.early_stopping
        all_callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=stopping.monitor,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
                restore_best_weights=stopping.restore_best_weights,
            )
        )
    if checkpoint_dir is not None:
        all_callbacks.append(
            EpochCheckpoint(
                Path(checkpoint_dir),
                every=train_spec.checkpoint_every,
                previous_history=previous_history,
                initial_epoch=initial_epoch,
            )
        )
    if log_dir is not None:
        all_callbacks.append(EpochScalarLogger(Path(log_dir)))
    progress = TrainingProgress(total_epochs, steps_per_epoch, train_spec.verbose)
    all_callbacks.append(progress)
    all_callbacks.extend(callbacks)

    start = time.perf_counter()
    try:
        with _keras_multi_worker_fit(model):
            fit_history = model.fit(
                dataset,
                epochs=total_epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                validation_data=validation_dataset,
                callbacks=all_callbacks,
                shuffle=False,  # the dataset is already shuffled, per epoch, by (seed, epoch)
                verbose=0,  # progress is TrainingProgress's
            )
    finally:
        progress.close()  # fit skips on_train_end when it raises
    seconds = time.perf_counter() - start

    if guard.diverged:
        raise TrainingDivergedError(guard.epoch + 1, guard.loss, guard.learning_rate)
    new_history = {key: [float(v) for v in values] for key, values in fit_history.history.items()}
    epochs_run = len(new_history.get("loss", []))
    history = _concatenate_histories(previous_history, new_history)
    samples_seen = epochs_run * len(train_samples)
    return _result(history, initial_epoch + epochs_run, seconds, samples_seen, initial_epoch)


def uneven_batches(samples: int, batch_size: int, replicas: int) -> Optional[str]:
    """Why batches of ``batch_size`` over ``replicas`` replicas do not train exactly as one replica, or None.

    Each replica gets its share of every batch and the replicas' mean losses are averaged with equal
    weights; that is the batch's mean loss only when the shares are equal, i.e. when ``batch_size``
    and the last batch (``samples mod batch_size``, if not 0) are multiples of ``replicas``.
    """
    last = samples % batch_size
    if replicas <= 1 or (batch_size % replicas == 0 and last % replicas == 0):
        return None
    return (
        f"train.batch_size {batch_size} over {samples} training samples (last batch {last or batch_size}) does not "
        f"split evenly over {replicas} replicas: their shares are weighted equally whatever their size, so the "
        f"losses differ slightly from one process's. Expected batches that are multiples of {replicas}."
    )


@contextlib.contextmanager
def _keras_multi_worker_fit(model: keras.Model) -> Iterator[None]:
    """Make ``model.fit`` work under ``MultiWorkerMirroredStrategy`` with more than one worker.

    Keras 3 (up to 3.15 at least) fails there twice; other strategies are left alone:

    * it builds the loss and metrics from the first batch reduced across replicas,
      ``strategy.reduce("MEAN", (x, y))``, which refuses a tuple across workers ("Attempt to convert
      a value (PerReplica...) with an unsupported type"). The build needs only shapes and dtypes,
      which this worker's own part of the batch has: this model's ``_maybe_symbolic_build`` takes it.
    * it averages each step's logs (the loss, scalars per replica) across workers with
      ``strategy.reduce("MEAN", value, axis=0)``, which refuses a scalar ("Invalid reduction dimension
      0 for input with 0 dimensions"). A scalar is averaged over the replicas (``axis=None``)
      instead, which is what the axis-0 mean of one value per replica would be.
    """
    strategy = model.distribute_strategy
    if not (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.num_replicas_in_sync > 1):
        yield
        return
    from keras.src.backend.tensorflow import trainer as keras_tf_trainer

    keras_reduce = keras_tf_trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str = "auto") -> Any:
        def reduce_one(value: Any) -> Any:
            local = strategy.experimental_local_results(value)[0] if _distributed(value) else value
            if reduction in ("auto", "mean") and getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return keras_reduce(value, strategy, reduction=reduction)

        return keras.tree.map_structure(reduce_one, values)

    def build_from_local_batch(iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, batches in iterator:
                batch = next(batches)
                data_batch = keras.tree.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0] if _distributed(value) else value,
                    batch,
                )
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build_from_local_batch
    keras_tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        keras_tf_trainer.reduce_per_replica = keras_reduce
        del model._maybe_symbolic_build


def _distributed(value: Any) -> bool:
    return isinstance(value, tf.distribute.DistributedValues)


# ------------------------------------------------------------------------------ data
def split_validation(
    samples: np.ndarray, validation_split: float, seed: int
) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Split ``samples`` (``shape=[k, ...]``) into training and validation samples.

    ``floor(validation_split * k)`` samples, chosen by ``numpy.random.default_rng(seed)
    .permutation(k)``, are held out; both parts keep the original sample order.

    Returns:
        ``(train, validation)``; ``validation`` is None when ``validation_split`` is 0.
    """
    count = len(samples)
    held_out = int(math.floor(validation_split * count))
    if validation_split == 0:
        return samples, None
    if held_out == 0 or held_out == count:
        raise SpecError(
            f"validation_split {validation_split} of {count} samples leaves "
            f"{held_out} validation and {count - held_out} training samples. Expected at "
            "least one of each: raise the split or the number of samples.",
            path=("validation_split",),
        )
    permutation = np.random.default_rng(seed).permutation(count)
    validation_indices = np.sort(permutation[:held_out])
    train_indices = np.sort(permutation[held_out:])
    return samples[train_indices], samples[validation_indices]


def epoch_batches(
    samples: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    first_epoch: int,
    end_epoch: int,
) -> tf.data.Dataset:
    """The (inputs, targets) batches of epochs ``first_epoch .. end_epoch - 1``, in order.

    Epoch e is ``ceil(k / batch_size)`` batches of ``shape=[b, *sample_shape]`` (inputs and
    targets are the same tensor), visiting the samples in the order
    ``stateless_shuffle(range(k), seed=[seed, e])`` (``range(k)`` without shuffle).
    """
    count = len(samples)
    # Keep the samples in host memory; each batch is gathered there and copied to the device.
    with tf.device("/cpu:0"):
        host_samples = tf.constant(samples)
    seed_tensor = tf.constant(seed, dtype=tf.int64)

    def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(count, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([seed_tensor, epoch]))
        starts = tf.data.Dataset.range(0, count, batch_size)
        return starts.map(lambda start: order[start : start + batch_size])

    def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.gather(host_samples, indices)
        return batch, batch

    return (
        tf.data.Dataset.range(first_epoch, end_epoch)
        .flat_map(one_epoch)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(_dataset_options())
    )


def _dataset_options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    # In-memory data: shard by batches across workers (there are no files to shard).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _checked_samples(x_train: Any, bundle: Autoencoder) -> np.ndarray:
    samples = np.asarray(x_train, dtype=np.float32)
    expected = bundle.input_shape
    if tuple(samples.shape[1:]) != tuple(expected) or samples.ndim < 1 or len(samples) == 0:
        sample_shape = ", ".join(map(str, expected))
        raise ValueError(
            f"Received an invalid value for `x_train`: expected shape [k, {sample_shape}] "
            f"with k >= 1 (the autoencoder's input shape). Received: shape={list(samples.shape)}"
        )
    bad = int(np.size(samples) - np.count_nonzero(np.isfinite(samples)))
    if bad:
        raise ValueError(
            f"Received an invalid value for `x_train`: expected finite values. Received {bad} NaN or infinite values."
        )
    return samples


def _check_code_l1(bundle: Autoencoder, train_spec: TrainSpec) -> None:
    if not math.isclose(bundle.code_l1, train_spec.loss.code_l1, rel_tol=1e-6, abs_tol=0.0):
        raise ValueError(
            f"The autoencoder was built with code_l1={bundle.code_l1} but train.loss.code_l1 is "
            f"{train_spec.loss.code_l1}. Expected build_autoencoder(..., "
            "code_l1=train_spec.loss.code_l1)."
        )


# ------------------------------------------------------------------------------ callbacks
class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss and remembers where it happened.

    Keras's TerminateOnNaN only stops; this keeps the epoch (0-based), the loss and the
    learning rate so that :func:`train_autoencoder` can raise
    :class:`~geokeras.errors.TrainingDivergedError` after ``fit`` returns (raising inside
    ``fit`` would skip the other callbacks' ``on_train_end``, e.g. closing TensorBoard files).
    """

    def __init__(self) -> None:
        super().__init__()
        self.diverged = False
        self.epoch = 0
        self.loss = math.nan
        self.learning_rate: Optional[float] = None

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self._check(logs)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._check(logs)

    def _check(self, logs: Optional[dict]) -> None:
        if self.diverged or not logs or logs.get("loss") is None:
            return
        loss = float(logs["loss"])
        if math.isfinite(loss):
            return
        self.diverged = True
        self.loss = loss
        try:
            self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except Exception:  # the rate is only for the message
            self.learning_rate = None
        self.model.stop_training = True


class TrainingProgress(keras.callbacks.Callback):
    """Training progress on the run's console (:mod:`geokeras.console`), as ``train.verbose`` asks.

    Numbered as Keras numbers ``fit(verbose=...)``: ``0``: nothing. ``1``: one bar over all epochs
    on a terminal, advancing within an epoch batch by batch (at most every ``refresh_seconds``),
    with elapsed time, ETA and the last loss; nothing when stderr is not a terminal. ``2``: a line
    per epoch, ``epoch 12/200  loss 0.00123  val_loss 0.00131  0.4 s``. Keras's own printing is off
    (``fit(verbose=0)``).
    """

    def __init__(self, total_epochs: int, steps_per_epoch: int, verbose: int, *, refresh_seconds: float = 0.1) -> None:
        super().__init__()
        if verbose not in (0, 1, 2):
            raise ValueError(f"Received an invalid value for `verbose`: expected 0, 1 or 2. Received: {verbose!r}")
        self.total_epochs = int(total_epochs)
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.verbose = verbose
        self.refresh_seconds = refresh_seconds
        self._bar = None
        self._epoch = 0
        self._epoch_started = 0.0
        self._last_refresh = 0.0
        self._info = ""

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        if self.verbose == 1:
            from geokeras.console import current_console

            self._bar = current_console().progress("training", self.total_epochs, unit="epochs")

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._epoch = epoch
        self._epoch_started = time.perf_counter()
        if self._bar is not None:
            self._bar.update(epoch, self._info)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        if self._bar is None:
            return
        now = time.perf_counter()
        if now - self._last_refresh >= self.refresh_seconds:
            self._last_refresh = now
            loss = (logs or {}).get("loss")
            info = f"loss {float(loss):.3g}" if loss is not None else self._info
            self._bar.update(self._epoch + min(batch + 1, self.steps_per_epoch) / self.steps_per_epoch, info)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        values = "  ".join(f"{key} {float(value):.3g}" for key, value in (logs or {}).items() if key.endswith("loss"))
        self._info = values
        if self._bar is not None:
            self._bar.update(epoch + 1, values)
        elif self.verbose == 2:
            from geokeras.console import current_console

            seconds = time.perf_counter() - self._epoch_started
            current_console().line(f"epoch {epoch + 1}/{self.total_epochs}  {values}  {seconds:.1f} s")

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        self.close()

    def close(self) -> None:
        """End the bar (also when ``fit`` raised); closing twice is harmless."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@dataclass(frozen=True)
class CheckpointState:
    """The content of ``checkpoint.json``."""

    epoch: int
    history: dict[str, list[float]] = field(default_factory=dict)
    model_file: str = ""
    stopped_early: bool = False


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the autoencoder (weights + optimizer state) every ``every`` epochs and at the end.

    Files: ``autoencoder-epoch<NNNN>.keras`` then ``checkpoint.json`` naming it, both written
    atomically (temporary file + rename); older checkpoint models are deleted afterwards.
    The end-of-training save comes after early stopping restored the best weights; when
    early stopping ended the fit it is marked ``stopped_early``, so resuming trains no
    further. Epochs with a non-finite loss are never saved.
    """

    def __init__(
        self,
        directory: Path,
        *,
        every: int,
        previous_history: Optional[dict[str, list[float]]] = None,
        initial_epoch: int = 0,
    ) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(
                f"Received an invalid value for `every`: expected an integer >= 1. Received: every={every}"
            )
        self.directory = Path(directory)
        self.every = every
        self.history = {key: list(values) for key, values in (previous_history or {}).items()}
        self.completed_epochs = initial_epoch
        self.diverged = False

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is None or not math.isfinite(float(loss)):
            self.diverged = True
            return
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.completed_epochs = epoch + 1
        if self.completed_epochs % self.every == 0:
            self._save(stopped_early=False)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self.diverged or self.completed_epochs == 0:
            return
        # Saved again even at a checkpoint epoch: early stopping may have restored weights.
        self._save(stopped_early=bool(self.model.stop_training))

    def _save(self, *, stopped_early: bool) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        model_file = f"autoencoder-epoch{self.completed_epochs:04d}.keras"
        # Keras insists on a .keras suffix, so the temporary file gets one too.
        temporary = self.directory / f".tmp-{os.getpid()}-{model_file}"
        self.model.save(temporary)
        os.replace(temporary, self.directory / model_file)
        state = {
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "epoch": self.completed_epochs,
            "model_file": model_file,
            "stopped_early": stopped_early,
            "history": self.history,
        }
        _write_json_atomically(self.directory / CHECKPOINT_STATE_FILE, state)
        for old in self.directory.glob("autoencoder-epoch*.keras"):
            if old.name != model_file:
                old.unlink(missing_ok=True)


class EpochScalarLogger(keras.callbacks.Callback):
    """TensorBoard scalars per epoch, laid out as Keras's TensorBoard callback lays them out.

    ``log_dir/train``: ``epoch_loss`` and ``epoch_learning_rate``; ``log_dir/validation``:
    ``epoch_loss`` (from ``val_loss``). Written with ``tf.summary.write`` and the "scalars"
    plugin's metadata, so it needs TensorFlow only, not the tensorboard package (which Keras's
    own callback imports, and which a training environment may lack).
    """

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        from tensorflow.core.framework import summary_pb2

        self.log_dir = Path(log_dir)
        self._writers: dict[str, Any] = {}
        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"
        self._metadata = metadata.SerializeToString()

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        values = {}
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                split, name = "validation", key[len("val_") :]
            else:
                split, name = "train", key
            values[(split, f"epoch_{name}")] = float(value)
        try:
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            values[("train", "epoch_learning_rate")] = rate
        except Exception:  # an optimizer without a readable rate: log the losses only
            pass
        for (split, tag), value in values.items():
            with self._writer(split).as_default():
                tf.summary.write(tag, tf.constant(value, tf.float32), step=epoch, metadata=self._metadata)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def _writer(self, split: str) -> Any:
        if split not in self._writers:
            with tf.device("/cpu:0"):
                self._writers[split] = tf.summary.create_file_writer(str(self.log_dir / split))
        return self._writers[split]


def read_checkpoint_state(checkpoint_dir: Path) -> Optional[CheckpointState]:
    """The state in ``checkpoint_dir/checkpoint.json``, or None if there is no checkpoint."""
    path = Path(checkpoint_dir) / CHECKPOINT_STATE_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return CheckpointState(
        epoch=int(data["epoch"]),
        history={key: [float(v) for v in values] for key, values in data.get("history", {}).items()},
        model_file=str(data["model_file"]),
        stopped_early=bool(data.get("stopped_early", False)),
    )


def _load_checkpoint(model: keras.Model, checkpoint_dir: Path) -> Optional[CheckpointState]:
    state = read_checkpoint_state(checkpoint_dir)
    if state is None:
        return None
    # The optimizer's slots must exist before load_weights can fill them.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(checkpoint_dir / state.model_file)
    return state


def _write_json_atomically(path: Path, data: dict) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _concatenate_histories(earlier: dict[str, list[float]], later: dict[str, list[float]]) -> dict[str, list[float]]:
    keys = list(earlier) + [key for key in later if key not in earlier]
    return {key: list(earlier.get(key, [])) + list(later.get(key, [])) for key in keys}


def _result(
    history: dict[str, list[float]], epochs: int, seconds: float, samples: int, initial_epoch: int
) -> TrainingResult:
    losses = history.get("loss", [])
    return TrainingResult(
        history={key: list(values) for key, values in history.items()},
        epochs=int(epochs),
        final_loss=float(losses[-1]) if losses else math.nan,
        seconds=float(seconds),
        samples_per_second=float(samples / seconds) if seconds > 0 else 0.0,
        initial_epoch=int(initial_epoch),
    )
