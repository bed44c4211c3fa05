"""Evaluators: each turns a trained autoencoder and its data into a plain metrics dict.

An evaluator is registered in :data:`geokeras.registry.EVALUATORS` with a parameter model
(``evaluate/params.py``) and an implementation ``f(params, context) -> dict``.
:func:`run_evaluators` runs a spec's list of them. Importing this package never imports
TensorFlow; an evaluator's module is imported when it runs.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from geokeras.complexity import params as _complexity_params  # registers the complexity evaluators
from geokeras.errors import SpecError, SpecErrors, located_under
from geokeras.evaluate import params as _params  # registers the evaluator types
from geokeras.evaluate.context import EvaluationContext
from geokeras.ot import params as _ot_params  # registers the OT evaluators
from geokeras.registry import EVALUATORS

__all__ = ["EvaluationContext", "learnability", "run_evaluators", "plain_metrics"]

del _params, _complexity_params, _ot_params


def run_evaluators(evaluator_specs: Sequence[Any], context: EvaluationContext) -> dict[str, dict]:
    """Run each evaluator in order; return ``{evaluator type: its metrics}``.

    Args:
        evaluator_specs: the spec's ``evaluate`` list: parameter models (as validated by
            the spec), or mappings ``{"type": name, ...}``, or bare names.
        context: the trained models, the data and the report settings.

    Returns:
        ``{name: {metric: number}}``, every value a plain Python ``int``/``float``/``bool``/
        ``str`` (or list / dict of them), ready for ``json.dump``.

    Raises:
        SpecError / SpecErrors: every invalid entry, checked before any evaluator runs, and
            an evaluator's own refusal; key paths start at the entry's index in the list
            (``(0, "samples")``).
    """
    resolved = _resolved(evaluator_specs)
    results: dict[str, dict] = {}
    for index, params in enumerate(resolved):
        if params.type in results:
            raise ValueError(f"Evaluator {params.type!r} appears twice in the evaluate list.")
        with located_under(index):
            metrics = EVALUATORS.build(params, context)
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"Evaluator {params.type!r} must return a dict of metrics. "
                f"Received: {type(metrics).__name__}."
            )
        results[params.type] = plain_metrics(metrics, params.type)
    return results


def _resolved(evaluator_specs: Sequence[Any]) -> list[Any]:
    """The parameter model of every entry; the problems of all entries raised together."""
    resolved, problems = [], []
    for index, spec in enumerate(evaluator_specs):
        try:
            resolved.append(EVALUATORS.resolve(spec, key_path=(index,)))
        except SpecError as error:
            problems.append(error)
        except SpecErrors as errors:
            problems.extend(errors.errors)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SpecErrors(problems)
    return resolved


def plain_metrics(value: Any, where: str = "metrics") -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers and lists.

    Raises:
        TypeError: for anything that is not a number, bool, string, None, or a list /
            mapping of them (``where`` names the offending entry).
    """
    if isinstance(value, Mapping):
        return {str(key): plain_metrics(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return plain_metrics(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [plain_metrics(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"Expected a JSON-serializable metric (number, bool, string, list, dict) at {where}. "
        f"Received: {type(value).__name__}."
    )



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
        raise ValueError(f"Invalid learnability parameter `{key}`: {detail['msg']}. Received: {detail.get('input')!r}.") from None
    manifold = manifold if isinstance(manifold, Manifold) else make(manifold)
    context = EvaluationContext(
        manifold=manifold, encoder=encoder, decoder=decoder,
        autoencoder=None if decoder is None else _Composed(encoder, decoder),
        x_train=np.zeros((0, manifold.ambient_dim)), seed=seed,
    )
    return plain_metrics(evaluate_learnability(checked, context), "learnability")


class _Composed:
    """decoder after encoder, for ``predict`` (all the evaluator asks of the autoencoder)."""

    def __init__(self, encoder: Any, decoder: Any):
        self.encoder, self.decoder = encoder, decoder

    def predict(self, x: Any, batch_size: int = 1024, verbose: int = 0) -> Any:
        codes = self.encoder.predict(x, batch_size=batch_size, verbose=verbose)
        return self.decoder.predict(codes, batch_size=batch_size, verbose=verbose)
