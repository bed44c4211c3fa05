"""``runtime:`` -> seeds, op determinism, precision policy and a ``tf.distribute.Strategy``.

Call :func:`configure_runtime` once at the start of every run, before building a model; it
sets every process-wide switch it owns (seeds, op determinism, the Keras dtype policy) to
the spec's value, so nothing leaks from one run to the next in the same process.

Typical use::

    strategy = configure_runtime(spec.runtime, spec.seed)
    with strategy.scope():
        bundle = build_autoencoder(spec.model, input_shape, code_l1=spec.train.loss.code_l1)
    result = train_autoencoder(bundle, x, spec.train, jit_compile=jit_compile_setting(spec.runtime))
"""

from __future__ import annotations

import faulthandler
import math
import os
import sys
import warnings
from typing import Mapping, Optional, Union

import keras
import tensorflow as tf

from geokeras.errors import GeokerasInputError, SpecError
from geokeras.models.params import RuntimeSpec

CLUSTER_TIMEOUT_VARIABLE = "GEOKERAS_CLUSTER_TIMEOUT"
DEFAULT_CLUSTER_TIMEOUT_SECONDS = 300.0
"""How long a multi-worker task waits for every task of ``TF_CONFIG`` to connect (``GEOKERAS_CLUSTER_TIMEOUT``)."""

MIXED_PRECISION_POLICY = "mixed_float16"
FULL_PRECISION_POLICY = "float32"


def configure_runtime(runtime_spec: RuntimeSpec, seed: int) -> tf.distribute.Strategy:
    """Seed everything, set determinism and precision, and return the distribution strategy.

    * ``keras.utils.set_random_seed(seed)`` seeds Python's ``random``, numpy and TensorFlow
      (and Keras's global seed generator), so weight initialisation and dropout repeat.
    * ``deterministic: true`` enables TensorFlow op determinism (same results on the same
      hardware and software, run after run); ``false`` disables it again. Keras then turns
      ``jit_compile: auto`` into no XLA, since not every XLA kernel is deterministic.
    * ``mixed_precision: true`` sets the Keras global policy ``mixed_float16`` (float16
      compute, float32 variables; the builder keeps every model's last layer in float32 and
      ``Model.compile`` wraps the optimizer in a ``LossScaleOptimizer``); ``false`` sets
      ``float32``. It is meant for GPUs: on a CPU it is slow, and a warning says so.
    * strategy: ``auto`` -> ``OneDeviceStrategy`` on the first GPU if there is one, else on the
      CPU; ``cpu``; ``gpu`` (the first GPU; an error without one); ``mirrored`` ->
      ``MirroredStrategy`` over all local GPUs (the CPU without any); ``multi_worker`` ->
      ``MultiWorkerMirroredStrategy`` configured by the ``TF_CONFIG`` environment variable
      (it must be created before TensorFlow runs any op, so run it in a fresh process; it waits
      for every task to connect, at most ``GEOKERAS_CLUSTER_TIMEOUT`` seconds: docs/scale-out.md).

    Args:
        runtime_spec: the ``runtime:`` section.
        seed: the spec's ``seed``.

    Returns:
        The strategy; build the models inside ``strategy.scope()``.

    Raises:
        SpecError: at ``("strategy",)`` when ``gpu`` is asked for and there is none.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"Received an invalid value for `seed`: expected an integer >= 0. Received: seed={seed!r}")
    if runtime_spec.strategy == "multi_worker":
        # First: listing logical devices initialises TensorFlow's context, after which collective
        # ops (which MultiWorkerMirroredStrategy configures) can no longer be set up.
        strategy = _multi_worker_strategy()
        gpus = tf.config.list_logical_devices("GPU")
    else:
        gpus = tf.config.list_logical_devices("GPU")
        strategy = _strategy(runtime_spec.strategy, gpus)

    _set_op_determinism(runtime_spec.deterministic)
    keras.utils.set_random_seed(seed)

    if runtime_spec.mixed_precision:
        if not gpus:
            warnings.warn(
                "runtime.mixed_precision is true but TensorFlow sees no GPU: mixed_float16 "
                "runs on the CPU, much slower than float32. Expected a GPU for mixed precision.",
                RuntimeWarning,
                stacklevel=2,
            )
        keras.mixed_precision.set_global_policy(MIXED_PRECISION_POLICY)
    else:
        keras.mixed_precision.set_global_policy(FULL_PRECISION_POLICY)
    return strategy


def jit_compile_setting(runtime_spec: RuntimeSpec) -> Union[bool, str]:
    """The value for ``Model.compile(jit_compile=...)``: ``"auto"``, ``True`` or ``False``.

    ``auto`` lets Keras decide: XLA when every layer supports it and op determinism is off.
    """
    value = runtime_spec.jit_compile
    if value == "auto" or isinstance(value, bool):
        return value
    raise SpecError(
        f"expected auto, true or false. Received: jit_compile={value!r}",
        path=("jit_compile",),
    )


def device_summary() -> list[str]:
    """The logical devices TensorFlow sees, e.g. ``["CPU: /device:CPU:0"]`` (for provenance)."""
    return [f"{device.device_type}: {device.name}" for device in tf.config.list_logical_devices()]


def _strategy(name: str, gpus: list) -> tf.distribute.Strategy:
    if name == "auto":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if name == "gpu":
        if not gpus:
            raise SpecError(
                "Received strategy: gpu, but TensorFlow sees no GPU on this machine "
                f"(devices: {', '.join(device_summary())}). Expected auto or cpu here, or a "
                "machine with a GPU and a GPU build of TensorFlow.",
                path=("strategy",),
            )
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return _multi_worker_strategy()
    raise SpecError(
        f"Unknown strategy {name!r}. Expected one of: auto, cpu, gpu, mirrored, multi_worker.",
        path=("strategy",),
    )


def _multi_worker_strategy() -> tf.distribute.Strategy:
    """``MultiWorkerMirroredStrategy()``, which blocks until every task of ``TF_CONFIG`` has connected.

    TensorFlow waits there in C++, holding Python's lock, for up to an hour, deaf to Ctrl-C; a task
    whose chief refused to start (its run directory exists, say) would hang. ``faulthandler``'s
    watchdog, a thread of its own that needs no Python lock, ends the process after
    :func:`cluster_timeout` seconds instead: exit 1, ``Timeout (0:05:00)!`` and where it waited.
    """
    seconds = cluster_timeout()
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        return _create_multi_worker_strategy()
    finally:
        faulthandler.cancel_dump_traceback_later()


def cluster_timeout(environ: Optional[Mapping[str, str]] = None) -> float:
    """Seconds a task waits for every task of ``TF_CONFIG`` to connect: ``GEOKERAS_CLUSTER_TIMEOUT``, default 300."""
    text = (os.environ if environ is None else environ).get(CLUSTER_TIMEOUT_VARIABLE, "")
    if not text.strip():
        return DEFAULT_CLUSTER_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise GeokerasInputError(
            f"expected {CLUSTER_TIMEOUT_VARIABLE} to be a number of seconds > 0. Received: {text!r}."
        )
    return seconds


def _create_multi_worker_strategy() -> tf.distribute.Strategy:
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise RuntimeError(
            "runtime.strategy multi_worker must be set up before TensorFlow runs any "
            "operation: start it in a fresh process (geokeras run ...) with TF_CONFIG set. "
            f"TensorFlow said: {error}"
        ) from error


def _set_op_determinism(enabled: bool) -> None:
    # TensorFlow exports only the switch that turns determinism on; the one that turns it
    # off again lives beside it in tensorflow.python.framework.config.
    from tensorflow.python.framework import config as tf_framework_config

    if enabled:
        tf.config.experimental.enable_op_determinism()
    elif tf_framework_config.is_op_determinism_enabled():
        tf_framework_config.disable_op_determinism()
