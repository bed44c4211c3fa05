"""What every evaluator must satisfy: plain-JSON metrics, the same for the same seed.

Each registered evaluator runs, with its example parameters, on a small random (untrained)
autoencoder of a circle, in a context built as ``geokeras.api`` builds it: the held-out seed
derived from the spec's seed, and a latent OT map with its generated samples (what the
``latent_ot`` section gives the OT evaluators).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from geokeras.evaluate import run_evaluators
from geokeras.evaluate.compatibility import check_evaluators
from geokeras.evaluation import EvaluationContext
from geokeras.manifolds import make
from geokeras.report.compare import without_timings
from geokeras.report.params import ReportSpec
from geokeras.seeds import EVALUATION_STREAM, OT_GENERATE_STREAM, OT_SOLVE_STREAM, TRAINING_DATA_STREAM, stream_seed
from tests.contracts.registries import entries, example

SPEC_SEED = 3
LATENT_DIM = 2
TRAINING_SAMPLES = 48
PLAIN_TYPES = (dict, list, str, int, float, bool, type(None))


@pytest.fixture(scope="module")
def context_parts():
    """Manifold, models, data and the latent OT solution of a tiny run (no training: random weights)."""
    import keras

    from geokeras.models.builder import build_autoencoder
    from geokeras.models.params import MLPParams, ModelSpec
    from geokeras.ot.generation import generate
    from geokeras.ot.params import GenerateSpec
    from geokeras.ot.solve import solve

    keras.utils.set_random_seed(SPEC_SEED)
    manifold = make({"type": "circle"})
    x_train = manifold.sample(TRAINING_SAMPLES, stream_seed(SPEC_SEED, TRAINING_DATA_STREAM))
    bundle = build_autoencoder(ModelSpec(latent_dim=LATENT_DIM, encoder=MLPParams(widths=[8, 8])), (2,))
    codes = np.asarray(bundle.encoder.predict(x_train, verbose=0), dtype=np.float32)
    ot = solve(codes, source="uniform_cube", solver="newton", seed=stream_seed(SPEC_SEED, OT_SOLVE_STREAM))
    generation = generate(
        ot.targets,
        ot.heights,
        ot.source,
        GenerateSpec(samples=64),
        seed=stream_seed(SPEC_SEED, OT_GENERATE_STREAM),
        decoder=bundle.decoder,
    )
    return {"manifold": manifold, "bundle": bundle, "x_train": x_train, "ot": ot, "generation": generation}


def context_of(parts) -> EvaluationContext:
    bundle = parts["bundle"]
    return EvaluationContext(
        manifold=parts["manifold"],
        encoder=bundle.encoder,
        decoder=bundle.decoder,
        autoencoder=bundle.autoencoder,
        x_train=parts["x_train"],
        seed=stream_seed(SPEC_SEED, EVALUATION_STREAM),
        report=ReportSpec(figures=False),
        ot=parts["ot"],
        generation=parts["generation"],
    )


def assert_plain(value, where="metrics"):
    """Only dict / list / str / int / float / bool / None, at every depth."""
    assert type(value) in PLAIN_TYPES, f"{where} is a {type(value).__name__}"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        assert isinstance(key, (str, int)), f"{where} has the key {key!r}"
        assert_plain(item, f"{where}.{key}")


@pytest.mark.parametrize("entry", entries("EVALUATORS"))
def test_metrics_are_plain_json_and_the_same_for_the_same_seed(entry, context_parts):
    params = example(entry)
    check_evaluators([params], context_parts["manifold"])  # it applies to a circle
    first = run_evaluators([params], context_of(context_parts))
    assert list(first) == [entry.name]
    assert_plain(first)
    json.dumps(first, allow_nan=False)
    again = run_evaluators([params], context_of(context_parts))
    assert without_timings(again) == without_timings(first)
