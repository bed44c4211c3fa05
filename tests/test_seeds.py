"""geokeras.seeds: the derived seeds are part of every result, so their values are pinned."""

from __future__ import annotations

import pytest

from geokeras.seeds import (
    EVALUATION_STREAM,
    OT_GENERATE_STREAM,
    OT_SOLVE_STREAM,
    TRAINING_DATA_STREAM,
    purpose_seed,
    stream_seed,
)


def test_stream_seed_values_are_pinned():
    # SeedSequence([seed, stream]).generate_state(1)[0], computed once and never to move.
    assert [stream_seed(0, 0), stream_seed(7, 1), stream_seed(7, 3), stream_seed(2**63, 2)] == [
        2968811710,
        369571992,
        3466196061,
        935617605,
    ]


def test_purpose_seed_values_are_pinned():
    assert [
        purpose_seed(0, "x"),
        purpose_seed(7, "evaluate.reconstruction"),
        purpose_seed(3, "evaluate.denoising.reference"),
        purpose_seed(2**64 + 5, "evaluate.generation"),
    ] == [3241452205607465801, 4896347151708930639, 5221415657697181822, 7708400680114622903]


def test_the_run_streams_are_distinct_and_numbered_as_documented():
    assert (TRAINING_DATA_STREAM, EVALUATION_STREAM, OT_SOLVE_STREAM, OT_GENERATE_STREAM) == (0, 1, 2, 3)


def test_purpose_seed_is_deterministic_and_purpose_specific():
    assert purpose_seed(7, "evaluate.reconstruction") == purpose_seed(7, "evaluate.reconstruction")
    assert purpose_seed(7, "evaluate.reconstruction") != purpose_seed(8, "evaluate.reconstruction")
    assert purpose_seed(7, "evaluate.reconstruction") != purpose_seed(7, "evaluate.other")
    assert 0 <= purpose_seed(0, "x") < 2**63


def test_purpose_seed_refuses_a_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        purpose_seed(-1, "x")
