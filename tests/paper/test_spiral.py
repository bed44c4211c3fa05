"""specs/paper/spiral.yaml: the spec, and the known answers behind its sweep over turns.

The experiment (docs/paper/spiral.md) trains one fixed autoencoder on spirals of more and more
turns; the training outcomes are not asserted here (they depend on optimisation), only the
mathematics the sweep's table rests on: the spiral's rectified linear complexity in closed form,
its growth with the turns, and the encodable-condition certificate (Theorem 4.12) for the
spec's architecture and for one small enough to be excluded.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from geokeras.complexity import encodable_certificate, manifold_rlc, rlc_bounds
from geokeras.complexity.separation import line_separation_bound
from geokeras.manifolds import make
from geokeras.spec import load_spec

SPEC = Path(__file__).resolve().parents[2] / "specs" / "paper" / "spiral.yaml"
SWEPT_TURNS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def spiral_rlc_closed_form(turns: float, a: float = 0.5, b: float = 0.2, w: float = 1.0) -> int:
    """N(R^2, spiral) of rho(theta) = (a + b theta) e^{i w theta}, theta in (0, 2 pi turns].

    The tangent makes the angle psi = arctan(w r / b) with the radius r = a + b theta (the
    radial speed is b, the tangential w r), so its direction is w theta + psi(theta), increasing,
    and turns by Theta = 2 pi w turns + psi(2 pi turns) - psi(0) in all. An arc is linear
    rectifiable iff its tangent directions lie in an open half-plane, i.e. span an angle < pi;
    a partition of a monotone total turning Theta into arcs each spanning < pi needs
    floor(Theta / pi) + 1 arcs, and the greedy partition achieves it.
    """
    theta_max = 2 * math.pi * turns
    total = w * theta_max + math.atan(w * (a + b * theta_max) / b) - math.atan(w * a / b)
    return math.floor(total / math.pi) + 1


def test_the_shipped_spec_validates_with_a_fixed_curve_autoencoder():
    spec = load_spec(SPEC)
    assert spec.manifold.type == "archimedean_spiral" and spec.manifold.measure == "volume"
    assert spec.model.latent_dim == 1 and spec.model.decoder.type == "mirror"
    kinds = [entry.type for entry in spec.evaluate]
    assert {"reconstruction", "learnability", "manifold_rlc", "rlc_on_manifold"} <= set(kinds)
    for turns in SWEPT_TURNS:  # every point of the documented sweep is a valid spec
        assert load_spec(SPEC, [f"manifold.turns={turns}", "seed=8"]).manifold.turns == turns


@pytest.mark.parametrize("turns", [0.25, *SWEPT_TURNS])
def test_spiral_rlc_matches_the_tangent_turning_closed_form(turns):
    result = manifold_rlc(make({"type": "archimedean_spiral", "turns": turns}), resolution=4096)
    assert result["pieces"] == result["lower"] == result["upper"] == spiral_rlc_closed_form(turns)
    assert result["closed"] is False and result["counted_as"] == "partition"


def test_spiral_rlc_grows_about_two_charts_per_turn():
    counts = [
        manifold_rlc(make({"type": "archimedean_spiral", "turns": t}), resolution=2048)["pieces"] for t in SWEPT_TURNS
    ]
    assert counts == [2, 3, 4, 5, 7, 9]  # floor(2 turns + (psi_end - psi_0) / pi) + 1
    assert all(x <= y for x, y in pairwise(counts))
    # Each extra turn adds a full 2 pi of tangent turning: exactly two more charts.
    assert all(count == 2 * turns + 1 for count, turns in zip(counts, SWEPT_TURNS) if turns == int(turns))


def test_no_architecture_with_two_regions_or_more_is_excluded_for_any_spiral():
    # The connected count grows two per turn (above), but one convex region can hold arcs of
    # many turns, so it bounds the pieces along the curve, not the regions. The proven bound:
    # along any line, distance to the centre is unimodal and the spiral's arc length grows with
    # the radius, so the arc parameters met along a line go down then up and a level cut
    # changes sides at most twice; a line through the centre meets both sides: exactly 2.
    for turns in (1.0, 2.0, 4.0):
        vertices, _ = make({"type": "archimedean_spiral", "a": 0.5, "b": 0.2, "turns": turns}).polyline(1024)
        assert line_separation_bound(vertices) == 2
    # So the certificate excludes nothing with two regions or more: 2-16-16-1 (the spec's
    # encoder, serra2018 18769) and even 2-1-1 (2 regions) are not excluded; only an affine
    # encoder (1 region) is, because the spiral is not linear rectifiable.
    spec_bounds = rlc_bounds([2, 16, 16, 1])
    assert spec_bounds["serra2018"] == 18769
    assert encodable_certificate(2, spec_bounds, manifold_lower=9)["status"] == "not_excluded"
    assert encodable_certificate(2, rlc_bounds([2, 1, 1]))["status"] == "not_excluded"
    assert encodable_certificate(2, {"trivial": 1})["status"] == "provably_not_encodable"
