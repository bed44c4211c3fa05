"""The encodable-condition certificate (geokeras.complexity.certificate, Theorem 4.12)."""

from __future__ import annotations

import pytest

from geokeras.complexity.bounds import rlc_bounds
from geokeras.complexity.certificate import encodable_certificate
from geokeras.complexity.manifold_rlc import manifold_rlc
from geokeras.manifolds import make


def test_the_status_compares_the_regions_bound_not_the_connected_pieces():
    # C_1 (Hilbert order 3) needs >= 16 connected linear rectifiable pieces, more than the 7
    # regions of any 2-3-1 network (zaslavsky); but one convex region can meet the curve in
    # many arcs, so only a lower bound on *regions* decides the status.
    curve = manifold_rlc(make({"type": "hilbert", "order": 3}))
    assert curve["lower"] >= 16
    allowed = encodable_certificate(3, rlc_bounds([2, 3, 1]), manifold_lower=curve["lower"])
    assert allowed["status"] == "not_excluded" and allowed["manifold_rlc_lower"] == curve["lower"]
    excluded = encodable_certificate(8, rlc_bounds([2, 3, 1]), manifold_lower=curve["lower"])
    assert excluded["status"] == "provably_not_encodable" and excluded["regions_lower"] == 8
    assert (excluded["bound_name"], excluded["architecture_bound"]) == ("zaslavsky", 7)
    assert excluded["excluded_by"] == ["zaslavsky", "montufar2017", "serra2018"]


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
    one_piece = encodable_certificate(2, {"serra2018": 100}, manifold_lower=circle_rlc, encoder_pieces=1)
    assert (one_piece["trained_encoder"], one_piece["encoder_pieces"]) == ("not_an_encoding_map", 1)
    enough = encodable_certificate(2, {"serra2018": 100}, manifold_lower=circle_rlc, encoder_pieces=2)
    assert enough["trained_encoder"] == "not_excluded"
    assert "trained_encoder" not in encodable_certificate(2, {"serra2018": 100}, encoder_pieces=1)


@pytest.mark.parametrize(
    "arguments, match",
    [
        ((-1, {"serra2018": 3}), "regions_lower=-1"),
        ((True, {"serra2018": 3}), "regions_lower=True"),
        ((2, {"serra2018": 2.5}), "serra2018=2.5"),
        ((2, {"montufar2014_lower": 3}), "at least one upper bound"),
    ],
)
def test_invalid_numbers_are_reported(arguments, match):
    with pytest.raises(ValueError, match=match):
        encodable_certificate(*arguments)


# ----------------------------------------------------------------------------- for every weight
def test_weight_dependent_bounds_never_decide_the_status():
    # Hilbert order 4 needs at least 5 regions (line separation); 2-3-1 has at most 7 for every
    # weight, but a rank-1 first layer has at most 4: that is a fact about that network only.
    from geokeras.complexity.bounds import rlc_bounds, trained_network_bounds

    generic = encodable_certificate(5, rlc_bounds([2, 3, 1]), trained_bounds=trained_network_bounds([2, 3, 1], [2]))
    rank_one = encodable_certificate(5, rlc_bounds([2, 3, 1]), trained_bounds=trained_network_bounds([2, 3, 1], [1]))
    assert generic["status"] == rank_one["status"] == "not_excluded"
    assert rank_one["trained_network_bounds"] == {"serra2018_rank": 4}
    assert (
        rank_one["trained_network_excluded_by"] == ["serra2018_rank"] and generic["trained_network_excluded_by"] == []
    )


def test_the_public_certificate_of_an_architecture():
    from geokeras.complexity import certificate

    hilbert = {"type": "hilbert", "order": 4}
    assert certificate(hilbert, [2, 2, 1])["status"] == "provably_not_encodable"
    open_curve = certificate(hilbert, [2, 3, 1])
    assert open_curve["status"] == "not_excluded" and open_curve["obstruction"] is None
    assert open_curve["regions_lower"] == 5 and open_curve["regions_lower_method"] == "line_separation"
    with pytest.raises(ValueError, match=r"ambient dimension 2. Received: widths=\[3, 2, 1\]"):
        certificate(hilbert, [3, 2, 1])


@pytest.mark.parametrize(
    "manifold, widths, reason",
    [
        ({"type": "circle"}, [2, 8, 1], "a closed 1-manifold has no injective continuous map into R^1"),
        ({"type": "sphere", "dim": 2}, [3, 8, 2], "a closed 2-manifold has no injective continuous map into R^2"),
        ({"type": "torus"}, [3, 8, 2], "a closed 2-manifold"),
        ({"type": "disk"}, [2, 8, 1], "a 2-manifold has no injective continuous map into R^1 with 1 < 2"),
        ({"type": "mobius"}, [3, 8, 2], "a non-orientable surface"),
    ],
)
def test_topological_obstructions_decide_for_every_weight(manifold, widths, reason):
    from geokeras.complexity import certificate

    result = certificate(manifold, widths)
    assert result["status"] == "provably_not_encodable" and reason in result["obstruction"]["reason"]


@pytest.mark.parametrize(
    "manifold, widths",
    [({"type": "circle"}, [2, 8, 2]), ({"type": "disk"}, [2, 8, 2]), ({"type": "hemisphere"}, [3, 8, 2])],
)
def test_manifolds_that_embed_have_no_obstruction(manifold, widths):
    from geokeras.complexity import certificate

    assert certificate(manifold, widths)["obstruction"] is None
