"""Architecture RLC bounds in exact integers (geokeras.complexity.bounds)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from geokeras.complexity.bounds import (
    LOWER_BOUNDS,
    TRAINED_NETWORK_BOUNDS,
    UPPER_BOUNDS,
    arrangement_regions,
    lei2018_bound,
    montufar2014_lower_bound,
    montufar2017_bound,
    rlc_bounds,
    serra2018_bound,
    tightest_upper_bound,
    trained_network_bounds,
)
from geokeras.complexity.lowering import AffineLayer, LoweredNetwork
from geokeras.complexity.polyline import count_regions_on_polyline


@pytest.mark.parametrize("widths, expected", [([2, 3, 1], 14), ([1, 2, 1], 6), ([2, 4, 4, 1], 352)])
def test_lei2018_check_values(widths, expected):
    assert lei2018_bound(widths) == expected


def test_lei2018_is_exact_for_a_real_encoder():
    value = lei2018_bound([3, 768, 384, 192, 96, 48, 2])
    assert isinstance(value, int)
    assert math.log10(value) == pytest.approx(225.2216, abs=1e-3)  # ~1.7e225, beyond float range of exact ints


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_zaslavsky_one_layer_in_the_plane_is_one_plus_n_plus_pairs(n):
    bounds = rlc_bounds([2, n, 1])
    assert bounds["zaslavsky"] == 1 + n + n * (n - 1) // 2
    assert bounds["serra2018"] == bounds["zaslavsky"]  # Serra et al.: tight for one layer


def test_zaslavsky_only_for_one_hidden_layer_and_no_weight_dependent_bound_for_an_architecture():
    assert "zaslavsky" not in rlc_bounds([2, 3, 3, 1])
    assert set(rlc_bounds([2, 3, 3, 1])) <= set(UPPER_BOUNDS) | set(LOWER_BOUNDS)
    # The rank variant bounds one network: a rank-1 first layer of 2-3-1 has at most 4 regions.
    assert trained_network_bounds([2, 3, 1], ranks=[1]) == {"serra2018_rank": 4}
    assert rlc_bounds([2, 3, 1])["serra2018"] == 7
    assert set(TRAINED_NETWORK_BOUNDS).isdisjoint(UPPER_BOUNDS)


def test_serra2018_for_1_2_2_1_is_9_but_no_network_has_more_than_7_regions():
    # h1 = relu(x), h2 = relu(1 - x) break at 0 and 1; the units relu(h1 + 2 h2 - c), c = 1.5
    # and 3, each break twice more (at 0.5, 1.5 and at -0.5, 3): 6 breakpoints, 7 intervals.
    # No 1-2-2-1 network has more: a second-layer unit is a 3-piece PL function of x whose
    # slopes s_L, s_L + s_R, s_R never alternate in sign, so it has at most 2 zeros: 3 + 2 + 2.
    network = LoweredNetwork(
        [
            AffineLayer(np.array([[1.0, -1.0]]), np.array([0.0, 1.0]), "relu"),
            AffineLayer(np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([-1.5, -3.0]), "relu"),
            AffineLayer(np.array([[1.0], [1.0]]), np.array([0.0]), "linear"),
        ]
    )
    assert count_regions_on_polyline(network, np.array([[-10.0], [10.0]])).intervals == 7
    rng = np.random.default_rng(0)
    for _ in range(200):
        random = LoweredNetwork(
            [
                AffineLayer(rng.normal(size=(1, 2)), rng.normal(size=2), "relu"),
                AffineLayer(rng.normal(size=(2, 2)), rng.normal(size=2), "relu"),
                AffineLayer(rng.normal(size=(2, 1)), rng.normal(size=1), "linear"),
            ]
        )
        assert count_regions_on_polyline(random, np.array([[-1e3], [1e3]])).intervals <= 7
    assert serra2018_bound([1, 2, 2, 1]) == 9


@pytest.mark.parametrize("hidden", [[2], [3, 5], [2, 7, 4], [9, 9, 9, 9]])
def test_serra2018_for_input_dimension_one_is_the_product_of_widths_plus_one(hidden):
    assert serra2018_bound([1, *hidden, 1]) == math.prod(n + 1 for n in hidden)


def _serra_by_enumeration(widths, ranks=None):
    """Serra et al. 2018 Theorem 1 (and the rank variant) summed over J by brute force."""
    n0, hidden = widths[0], widths[1:-1]
    total = 0
    for js in itertools.product(*(range(n + 1) for n in hidden)):
        ok = True
        for level, j in enumerate(js):
            caps = [n0, hidden[level]] + [hidden[i] - js[i] for i in range(level)]
            if ranks is not None:
                caps += ranks[: level + 1]
            if j > min(caps):
                ok = False
                break
        if ok:
            total += math.prod(math.comb(n, j) for n, j in zip(hidden, js))
    return total


@pytest.mark.parametrize(
    "widths, ranks",
    [
        ([2, 3, 1], None),
        ([2, 3, 3, 1], None),
        ([3, 2, 4, 3, 1], None),
        ([1, 1, 1, 1], None),
        ([3, 4, 4, 4, 2], [3, 2, 4]),
        ([2, 5, 5, 1], [1, 2]),
    ],
)
def test_serra2018_dynamic_programme_equals_the_sum_over_j(widths, ranks):
    assert serra2018_bound(widths, ranks) == _serra_by_enumeration(widths, ranks)


@pytest.mark.parametrize("widths", [[2, 3, 1], [2, 8, 8, 8, 1], [3, 4, 2, 6, 1], [5, 3, 3, 1]])
def test_serra_is_at_most_montufar2017_which_is_at_most_lei_as_upper_bounds(widths):
    assert serra2018_bound(widths) <= montufar2017_bound(widths) <= lei2018_bound(widths)
    assert montufar2017_bound(widths) <= 2 ** sum(widths[1:-1])


def test_montufar2017_by_hand():
    # [3, 4, 2, 6]: d = 3, 2, 2: R(4, 3) * R(2, 2) * R(6, 2) = 15 * 4 * 22
    assert montufar2017_bound([3, 4, 2, 6, 1]) == 15 * 4 * 22


def test_montufar2014_lower_bound_by_hand_and_absent_when_a_layer_is_narrower_than_the_input():
    # [2, 4, 4, 1]: floor(4/2)^2 * R(4, 2) = 4 * 11
    assert montufar2014_lower_bound([2, 4, 4, 1]) == 44
    assert montufar2014_lower_bound([3, 2, 4, 1]) is None
    assert "montufar2014_lower" not in rlc_bounds([3, 2, 4, 1])
    assert rlc_bounds([2, 4, 4, 1])["montufar2014_lower"] <= rlc_bounds([2, 4, 4, 1])["serra2018"]


def test_trivial_bound_and_arrangement_regions():
    assert rlc_bounds([2, 3, 4, 1])["trivial"] == 2**7
    assert arrangement_regions(3, 2) == 7
    assert arrangement_regions(2, 5) == 4  # fewer hyperplanes than dimensions: 2^n


def test_no_hidden_layer_is_affine():
    bounds = rlc_bounds([3, 2])
    assert bounds["montufar2017"] == bounds["serra2018"] == bounds["trivial"] == 1


def test_tightest_upper_bound_ignores_lower_bounds():
    assert tightest_upper_bound({"lei2018": 14, "serra2018": 7, "montufar2014_lower": 3}) == ("serra2018", 7)
    with pytest.raises(ValueError, match="Received: keys="):
        tightest_upper_bound({"montufar2014_lower": 3})


@pytest.mark.parametrize(
    "widths, match",
    [
        ([2], r"at least 2 entries. Received: widths=\[2\]"),
        ([2, 0, 1], r"widths\[1\]=0"),
        ([2, 1.5, 1], r"widths\[1\]=1.5"),
        ("21", "Received: widths='21'"),
    ],
)
def test_invalid_widths_are_named(widths, match):
    with pytest.raises(ValueError, match=match):
        rlc_bounds(widths)


def test_ranks_must_match_the_hidden_layers():
    with pytest.raises(ValueError, match=r"one non-negative rank per hidden layer \(2\). Received: ranks=\[1\]"):
        serra2018_bound([2, 3, 3, 1], ranks=[1])


def test_ties_name_the_sharper_bound():
    assert tightest_upper_bound(rlc_bounds([2, 64, 64, 64, 1])) == ("serra2018", 9011897441)  # = montufar2017 here
