"""The encodable-condition certificate (geokeras.complexity.certificate, Theorem 4.12)."""

from __future__ import annotations

import pytest

from geokeras.complexity.bounds import rlc_bounds
from geokeras.complexity.certificate import encodable_certificate
from geokeras.complexity.manifold_rlc import manifold_rlc
from geokeras.manifolds import make


def test_paper_curve_c1_is_provably_not_encodable_by_a_2_3_1_network():
    # C_1 (Hilbert order 3) has N(R^2, C_1) >= 16 units; N(2, 3, 1) <= 14 (lei2018), 7 (serra2018).
    curve = manifold_rlc(make({"type": "hilbert", "order": 3}))
    certificate = encodable_certificate(curve["lower"], rlc_bounds([2, 3, 1]))
    assert certificate["status"] == "provably_not_encodable"
    assert certificate["manifold_rlc_lower"] == curve["lower"] >= 16
    assert (certificate["bound_name"], certificate["architecture_bound"]) == ("zaslavsky", 7)
    assert certificate["excluded_by"] == ["lei2018", "zaslavsky", "montufar2017", "serra2018", "trivial"]


def test_a_bound_equal_to_the_manifold_rlc_excludes_nothing():
    certificate = encodable_certificate(7, {"serra2018": 7, "lei2018": 14, "montufar2014_lower": 3})
    assert certificate["status"] == "not_excluded"
    assert certificate["excluded_by"] == []


def test_only_the_bounds_below_the_manifold_rlc_are_listed():
    certificate = encodable_certificate(10, {"lei2018": 14, "serra2018": 7})
    assert certificate["status"] == "provably_not_encodable"
    assert certificate["excluded_by"] == ["serra2018"]


def test_a_trained_encoder_with_fewer_pieces_than_the_manifold_rlc_is_not_an_encoding_map():
    circle_rlc = 2  # partition count of a closed curve
    one_piece = encodable_certificate(circle_rlc, {"serra2018": 100}, encoder_pieces=1)
    assert (one_piece["trained_encoder"], one_piece["encoder_pieces"]) == ("not_an_encoding_map", 1)
    enough = encodable_certificate(circle_rlc, {"serra2018": 100}, encoder_pieces=2)
    assert enough["trained_encoder"] == "not_excluded"
    assert "trained_encoder" not in encodable_certificate(2, {"serra2018": 100})


@pytest.mark.parametrize(
    "arguments, match",
    [((-1, {"serra2018": 3}), "manifold_lower=-1"), ((True, {"serra2018": 3}), "manifold_lower=True"),
     ((2, {"serra2018": 2.5}), "serra2018=2.5"), ((2, {"montufar2014_lower": 3}), "at least one upper bound")],
)
def test_invalid_numbers_are_reported(arguments, match):
    with pytest.raises(ValueError, match=match):
        encodable_certificate(*arguments)
