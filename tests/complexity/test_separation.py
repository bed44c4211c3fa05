"""The line-separation lower bound on the regions of an encoder of a planar arc (complexity.separation)."""

from __future__ import annotations

import numpy as np
import pytest

from geokeras.complexity.separation import line_separation_bound


def test_a_straight_segment_has_no_change_and_a_graph_at_most_one():
    assert line_separation_bound(np.array([[0.0, 0.0], [1.0, 2.0]])) == 0
    # The graph of a wiggly function is encoded by phi(x) = x_1, one region: along any
    # non-vertical line the crossings come in the order of x_1, hence of the arc parameter,
    # so a cut changes the label exactly once; lines do cross it many times.
    x = np.linspace(0.0, 3.0, 2000)
    graph = np.column_stack([x, 0.3 * np.sin(12.0 * x)])
    assert line_separation_bound(graph) == 1


def test_an_arc_that_returns_inside_its_own_arch_needs_two_regions():
    # Early part: up the leg x = 2, over the top, down the leg x = 0; late part: under and up
    # the leg x = 1 inside the arch. On the line y = 1/2 the labels read early, late, early.
    arch = np.array([[2, 0], [2, 2], [0, 2], [0, 0], [0, -1], [1, -1], [1, 1.5]], np.float64)
    assert line_separation_bound(arch) == 2


def test_a_curve_encoded_by_a_two_region_map_never_gets_a_larger_bound():
    # phi(x) = x_2 + 3 |x_1| has two linear regions (x_1 < 0, x_1 > 0) and equals t along
    # x(t) = (0.5 sin 8t, t - 1.5 |sin 8t|): phi encodes the curve, so the bound is at most 2.
    t = np.linspace(0.0, 3.0, 4000)
    curve = np.column_stack([0.5 * np.sin(8.0 * t), t - 1.5 * np.abs(np.sin(8.0 * t))])
    assert np.all(np.diff(curve[:, 1] + 3.0 * np.abs(curve[:, 0])) > 0)
    assert 1 <= line_separation_bound(curve) <= 2


def test_the_bound_is_invariant_under_translation_and_scaling():
    # The sampled lines are placed relative to the curve's centre and radius.
    walk = np.cumsum(np.random.default_rng(4).normal(size=(60, 2)), axis=0)
    assert line_separation_bound(3.0 * walk + [5.0, -2.0]) == line_separation_bound(walk) >= 1


@pytest.mark.parametrize(
    "vertices, directions, match",
    [
        (np.zeros((1, 2)), 4, r"shape \[k >= 2, 2\].*\(1, 2\)"),
        (np.zeros((3, 3)), 4, r"\(3, 3\)"),
        (np.zeros((3, 2)), 0, "directions >= 1"),
    ],
)
def test_bad_input_is_reported(vertices, directions, match):
    with pytest.raises(ValueError, match=match):
        line_separation_bound(vertices, directions=directions)
