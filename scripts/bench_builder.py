"""Training throughput: the spec-built autoencoder against the same model written in Keras.

Both sides train the same architecture (an MLP autoencoder 3-256-256-256-2, mirrored
decoder, ReLU) on the same data (points of the unit sphere S^2 in R^3, a 2-manifold), with
Adam, MSE, the same batch size and epochs, in the same process and under the same runtime
settings (``configure_runtime`` with the spec's runtime section, so op determinism and the
XLA choice are shared):

* spec:  ``build_autoencoder`` inside the strategy scope + ``train_autoencoder`` (its seeded
  tf.data pipeline, divergence guard and all);
* hand:  ``keras.Sequential`` Dense layers, ``model.compile`` and ``model.fit(x, x, ...)``.

Throughput is steady-state samples/s: the samples of one epoch divided by the median wall
time of epochs 2..E (epoch 1 carries the tracing and compilation; the median ignores epochs
stalled by other load on a shared machine). Rounds alternate the order of the two sides
(spec-hand, hand-spec, ...) to spread drift on a shared machine; each side's median over the
rounds is reported, and the goal is median(spec) / median(hand) >= 0.97.

Usage::

    .venv/bin/python scripts/bench_builder.py [--rounds 5] [--epochs 6] [--samples 20000] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from geokeras.models.builder import build_autoencoder  # noqa: E402
from geokeras.models.params import ModelSpec, RuntimeSpec, TrainSpec  # noqa: E402
from geokeras.models.runtime import configure_runtime, jit_compile_setting  # noqa: E402
from geokeras.models.training import train_autoencoder  # noqa: E402

HIDDEN_WIDTHS = [256, 256, 256]
LATENT_DIM = 2
AMBIENT_DIM = 3


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def sphere_samples(count: int, seed: int) -> np.ndarray:
    """Uniform samples of S^2 in R^3, ``shape=[count, 3]`` (normalised Gaussians)."""
    points = np.random.default_rng(seed).normal(size=(count, AMBIENT_DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def steady_throughput(timer: EpochTimer, samples: int) -> float:
    """samples / median wall time of epochs 2..E (the median shrugs off a stalled epoch)."""
    return samples / statistics.median(timer.seconds[1:])


def fresh_process_state() -> None:
    """Drop the previous run's models and graphs, so neither side inherits the other's."""
    keras.backend.clear_session()
    gc.collect()


def run_spec(x: np.ndarray, runtime: RuntimeSpec, train: TrainSpec, seed: int) -> float:
    model_spec = ModelSpec.model_validate(
        {
            "latent_dim": LATENT_DIM,
            "encoder": {"type": "mlp", "widths": HIDDEN_WIDTHS, "activation": "relu"},
            "decoder": {"type": "mirror"},
        }
    )
    strategy = configure_runtime(runtime, seed)
    with strategy.scope():
        bundle = build_autoencoder(model_spec, x.shape[1:])
    timer = EpochTimer()
    train_autoencoder(bundle, x, train, jit_compile=jit_compile_setting(runtime), seed=seed, callbacks=[timer])
    return steady_throughput(timer, len(x))


def run_hand(x: np.ndarray, runtime: RuntimeSpec, train: TrainSpec, seed: int) -> float:
    configure_runtime(runtime, seed)  # same seeds, determinism and precision as the spec side
    layers = [keras.Input(shape=(AMBIENT_DIM,))]
    layers += [keras.layers.Dense(width, activation="relu") for width in HIDDEN_WIDTHS]
    layers += [keras.layers.Dense(LATENT_DIM)]
    layers += [keras.layers.Dense(width, activation="relu") for width in reversed(HIDDEN_WIDTHS)]
    layers += [keras.layers.Dense(AMBIENT_DIM)]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile_setting(runtime))
    timer = EpochTimer()
    model.fit(
        x,
        x,
        batch_size=train.batch_size,
        epochs=train.epochs,
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    return steady_throughput(timer, len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6, help="per run; epoch 1 is not timed")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", default=None, help="also write the medians, rounds and settings as JSON here")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is not timed)")

    x = sphere_samples(args.samples, seed=0)
    runtime = RuntimeSpec()  # strategy auto, jit_compile auto, deterministic, float32
    train = TrainSpec.model_validate(
        {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": {"type": "adam", "learning_rate": 1e-3},
            "verbose": 0,
        }
    )
    spec_rates: list[float] = []
    hand_rates: list[float] = []
    started = time.perf_counter()
    for round_index in range(args.rounds):
        order = ("spec", "hand") if round_index % 2 == 0 else ("hand", "spec")
        for side in order:
            fresh_process_state()
            if side == "spec":
                spec_rates.append(run_spec(x, runtime, train, seed=round_index))
            else:
                hand_rates.append(run_hand(x, runtime, train, seed=round_index))
        print(
            f"round {round_index + 1}: spec {spec_rates[-1]:,.0f} samples/s, hand {hand_rates[-1]:,.0f} samples/s",
            flush=True,
        )
    spec_median = statistics.median(spec_rates)
    hand_median = statistics.median(hand_rates)
    ratio = spec_median / hand_median
    print()
    print(
        "| model | data | batch | timed epochs x rounds | spec samples/s (median) | hand samples/s (median) | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    widths = "-".join(map(str, [AMBIENT_DIM, *HIDDEN_WIDTHS, LATENT_DIM]))
    print(
        f"| MLP AE {widths} mirrored | {args.samples} x R^{AMBIENT_DIM} (S^2) | {args.batch_size} "
        f"| {args.epochs - 1} x {args.rounds} | {spec_median:,.0f} | {hand_median:,.0f} | {ratio:.3f} |"
    )
    print()
    print(
        f"ratio spec/hand = {ratio:.3f} (goal >= 0.97); per-round ratios: "
        + ", ".join(f"{s / h:.3f}" for s, h in zip(spec_rates, hand_rates))
    )
    devices = [d.name for d in tf.config.list_logical_devices()]
    seconds = time.perf_counter() - started
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, devices {devices}; {seconds:.0f} s"
    )
    if args.json:
        record = {
            "model": f"MLP AE {widths} mirrored",
            "samples": args.samples,
            "batch_size": args.batch_size,
            "timed_epochs": args.epochs - 1,
            "rounds": args.rounds,
            "spec_samples_per_s": spec_median,
            "hand_samples_per_s": hand_median,
            "ratio": ratio,
            "spec_rounds": spec_rates,
            "hand_rounds": hand_rates,
            "seconds": seconds,
            "environment": {"tensorflow": tf.__version__, "keras": keras.__version__, "devices": devices},
        }
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
