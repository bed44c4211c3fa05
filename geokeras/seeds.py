"""Seeds derived from a run's seed: one place for how geokeras splits randomness into streams.

A run draws from several independent streams so that changing one thing (the number of
training samples, say) never changes another (the held-out samples). Two derivations exist,
both through numpy's ``SeedSequence``, which hashes its entropy list into well-mixed state:

* :func:`stream_seed` ``(seed, stream)``: the run's streams, numbered (the ``*_STREAM``
  constants below): ``SeedSequence([seed, stream])``, first 32-bit word of its state.
* :func:`purpose_seed` ``(seed, purpose)``: a stream named by a string such as
  ``"evaluate.reconstruction"`` (each evaluator draws its own held-out points):
  ``SeedSequence([seed, crc32(purpose)])``, two 32-bit words combined into a 63-bit seed.

An evaluator receives the run's evaluation seed, ``stream_seed(spec seed, EVALUATION_STREAM)``,
and derives its own with ``purpose_seed(that seed, "evaluate.<name>")``.

Inside one component, streams of a given seed are spawned where they are drawn:
``geokeras.manifolds.base.seeded_generator`` (``SeedSequence(seed).spawn``: parameters, noise
and outliers of a sample) and ``geokeras.ot.quasi_random.seed_pair`` (TensorFlow stateless
keys of the Monte-Carlo OT solver).

Every value here is part of the results: changing a formula moves every metric.
"""

from __future__ import annotations

import zlib

import numpy as np

from geokeras.manifolds.base import check_seed

TRAINING_DATA_STREAM = 0
"""Stream of the training samples."""
EVALUATION_STREAM = 1
"""Stream handed to the evaluators (each derives its own with :func:`purpose_seed`)."""
OT_SOLVE_STREAM = 2
"""Stream of the latent OT solve (and of the ``max_codes`` subsample of the codes)."""
OT_GENERATE_STREAM = 3
"""Stream of AE-OT generation."""


def stream_seed(seed: int, stream: int) -> int:
    """The seed of numbered ``stream`` of the run seed ``seed``: 32 bits of ``SeedSequence([seed, stream])``."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def purpose_seed(seed: int, purpose: str) -> int:
    """The seed of the stream named ``purpose`` of ``seed``: a 63-bit seed, the same in every run.

    ``SeedSequence([seed, crc32(purpose)])`` hashes both into two 32-bit words w0, w1; the seed is
    ``(w0 << 31) ^ w1``. The held-out samples of ``purpose_seed(seed, "evaluate.reconstruction")``
    are thus drawn from a different stream than the training samples drawn with ``seed``
    (independent, never the same points).
    """
    entropy = [check_seed(seed), zlib.crc32(purpose.encode("utf-8"))]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
