"""Evaluators of the autoencoder and its data: reconstruction, denoising, manifold statistics and
learnability (the parameter models in ``evaluate/params.py``), and :func:`learnability` for an
encoder trained anywhere. The framework they plug into (:class:`EvaluationContext`,
:func:`run_evaluators`) lives in :mod:`geokeras.evaluation`. Importing this package never imports
TensorFlow; an evaluator's module is imported when it runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from geokeras.evaluation import EvaluationContext, plain_metrics, run_evaluators

__all__ = ["EvaluationContext", "learnability", "run_evaluators", "plain_metrics"]


def learnability(manifold: Any, encoder: Any, decoder: Any = None, *, seed: int = 0, **params: Any) -> dict:
    """The ``learnability`` section of metrics.json for an encoder trained anywhere.

    Decides exactly whether ``encoder`` is injective on the manifold's polyline or mesh, and
    whether any encoder of its architecture can be (docs/evaluators.md, "learnability").

    Args:
        manifold: a :class:`geokeras.manifolds.Manifold` or a mapping such as
            ``{"type": "archimedean_spiral", "turns": 2}`` (see :func:`geokeras.manifolds.make`).
        encoder: a Keras model R^ambient_dim -> R^latent_dim; the exact decision needs an
            affine + ReLU chain (Dense, ReLU, LeakyReLU, Conv2D, BatchNormalization, ...).
        decoder: optional Keras model R^latent_dim -> R^ambient_dim; with it the sampled
            numbers include the relative reconstruction error.
        seed: seeds the sample points of the sampled numbers.
        **params: the evaluator's keys (``points``, ``neighbours``, ``resolution``,
            ``mesh_resolution``, ``max_regions``).

    Returns:
        The same plain dict as ``metrics.json["learnability"]`` of a run.

    Raises:
        ValueError: an unknown key or an invalid value in ``params``.

    Example:
        >>> import geokeras.evaluate
        >>> section = geokeras.evaluate.learnability({"type": "circle"}, my_encoder, my_decoder)
        >>> section["verdict"], section["holds_for"]
    """
    from geokeras.evaluate.encoding_map import evaluate_learnability
    from geokeras.evaluate.params import LearnabilityParams
    from geokeras.manifolds import Manifold, make

    try:
        checked = LearnabilityParams.model_validate({"type": "learnability", **params})
    except ValidationError as error:
        detail = error.errors()[0]
        key = ".".join(str(part) for part in detail["loc"])
        raise ValueError(
            f"Invalid learnability parameter `{key}`: {detail['msg']}. Received: {detail.get('input')!r}."
        ) from None
    manifold = manifold if isinstance(manifold, Manifold) else make(manifold)
    context = EvaluationContext(
        manifold=manifold,
        encoder=encoder,
        decoder=decoder,
        autoencoder=None if decoder is None else _Composed(encoder, decoder),
        x_train=np.zeros((0, manifold.ambient_dim)),
        seed=seed,
    )
    return plain_metrics(evaluate_learnability(checked, context), "learnability")


class _Composed:
    """decoder after encoder, for ``predict`` (all the evaluator asks of the autoencoder)."""

    def __init__(self, encoder: Any, decoder: Any):
        self.encoder, self.decoder = encoder, decoder

    def predict(self, x: Any, batch_size: int = 1024, verbose: int = 0) -> Any:
        codes = self.encoder.predict(x, batch_size=batch_size, verbose=verbose)
        return self.decoder.predict(codes, batch_size=batch_size, verbose=verbose)
