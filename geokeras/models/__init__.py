"""The autoencoder: spec -> Keras models, training, optimizers, runtime.

* ``params``: the ``model:``, ``train:`` and ``runtime:`` parameter models (no TensorFlow);
* ``builder``: :func:`build_autoencoder` -> :class:`Autoencoder` (encoder, decoder, autoencoder);
* ``optimizers``: :func:`build_optimizer`, learning-rate schedules;
* ``runtime``: :func:`configure_runtime` (seeds, determinism, precision, distribution strategy);
* ``training``: :func:`train_autoencoder` -> :class:`TrainingResult`.

Importing this package does not import TensorFlow: the names above are loaded on first use.
"""

from __future__ import annotations

from geokeras._lazy import lazy_attributes

_LAZY_NAMES = {
    "Autoencoder": "geokeras.models.builder",
    "build_autoencoder": "geokeras.models.builder",
    "build_optimizer": "geokeras.models.optimizers",
    "configure_runtime": "geokeras.models.runtime",
    "jit_compile_setting": "geokeras.models.runtime",
    "device_summary": "geokeras.models.runtime",
    "TrainingResult": "geokeras.models.training",
    "train_autoencoder": "geokeras.models.training",
}

__all__ = sorted(_LAZY_NAMES)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY_NAMES, __all__)
