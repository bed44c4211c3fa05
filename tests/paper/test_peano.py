"""The shipped Peano-curve experiment (specs/paper/peano.yaml; docs/paper/peano.md).

Lei, Luo, Yau, Gu 2018, Theorem 4.14: the paper's Peano curve C_k (the 2-D Hilbert curve of
order k + 2) has 4^{k+1} units, and a fixed architecture cannot encode C_k for large k. The
proven form used by geokeras: every encoding map of the curve into R^1 has at least
``regions_lower`` convex linear regions (2 for a curve that is not linear rectifiable, and the
line-separation bound of geokeras.complexity.separation), so an architecture with fewer
regions is provably_not_encodable. The tests check, with geokeras's own functions and at tiny
training sizes, the mathematics behind the sweep's verdicts: the encoders' bounds, the curve's
connected RLC and regions bound for every swept order, and the rule
provably_not_encodable <=> bound < regions_lower, through the learnability evaluator itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import geokeras
from geokeras.complexity.bounds import rlc_bounds, tightest_upper_bound
from geokeras.complexity.certificate import PROVABLY_NOT_ENCODABLE, encodable_certificate
from geokeras.complexity.manifold_rlc import curve_rlc
from geokeras.complexity.separation import line_separation_bound
from geokeras.manifolds import make

SPEC = Path(__file__).resolve().parents[2] / "specs" / "paper" / "peano.yaml"
SWEPT_ORDERS = (1, 2, 3, 4, 5, 6)
SWEPT_WIDTH = 2
"""The documented sweep: manifold.order=1,2,3,4,5,6 model.encoder.widths=[2],[12] (12 is the spec's)."""


def shipped_widths(hidden: int | None = None) -> list[int]:
    spec = geokeras.load_spec(SPEC)
    assert spec.model.latent_dim == 1, "the experiment encodes a curve into R^1"
    return [2, *(spec.model.encoder.widths if hidden is None else [hidden]), 1]


def architecture_bound(hidden: int | None = None) -> int:
    return tightest_upper_bound(rlc_bounds(shipped_widths(hidden)))[1]


def regions_lower(order: int) -> int:
    """The proven lower bound on the regions of an encoding map, as the certificate computes it."""
    curve = make({"type": "hilbert", "dim": 2, "order": order})
    separation = line_separation_bound(curve.natural_vertices)
    return max(min(hilbert_rlc(order)[0], 2), separation)


def hilbert_rlc(order: int) -> tuple[int, int]:
    """(N(R^2, curve) as geokeras computes it, the paper's units) for the Hilbert curve of ``order``."""
    curve = make({"type": "hilbert", "dim": 2, "order": order})
    return curve_rlc(curve.natural_vertices, curve.closed).pieces, int(curve.units)


def test_shipped_encoder_bound_is_zaslavsky_for_one_hidden_layer():
    """One hidden layer of w ReLUs on R^2: at most 1 + w + C(w, 2) regions (Zaslavsky 1975, exact)."""
    widths = shipped_widths()
    assert len(widths) == 3, f"Expected one hidden layer. Received: widths={widths}."
    w = widths[1]
    assert architecture_bound() == 1 + w + math.comb(w, 2)
    assert rlc_bounds(widths)["lei2018"] == 2 * (1 + w + math.comb(w, 2))  # Theorem 4.5 as printed


def test_manifold_rlc_grows_like_the_paper_says():
    """N(R^2, C_k) >= 4^{k+1} units (order = k + 2), and the exact count grows at least 3x per order (about 4x)."""
    counts = {order: hilbert_rlc(order) for order in SWEPT_ORDERS}
    for order, (pieces, units) in counts.items():
        assert units == 4 ** (order - 1)  # C_k: 4^{k+1} units at order k + 2
        assert pieces >= units
    assert counts[3][1] == 16 and counts[4][1] == 64  # C_1 has 16 units, C_2 has 64
    assert counts[3][0] == 21 and counts[4][0] == 82  # the exact counts (geokeras's greedy sweep)
    pieces = [counts[order][0] for order in SWEPT_ORDERS]
    assert all(later >= 3 * earlier for earlier, later in zip(pieces, pieces[1:]))


def test_the_swept_orders_fall_on_both_sides_of_the_narrow_bound_only():
    """The sweep is interesting only if the 2-2-1 encoder is excluded at some orders and not at others;
    the 2-12-1 encoder (79 regions) is excluded at none."""
    needed = {order: regions_lower(order) for order in SWEPT_ORDERS}
    # Not linear rectifiable from order 1 on, and the separation bound grows with the order.
    assert needed[1] == 2 and all(needed[a] <= needed[b] for a, b in zip(SWEPT_ORDERS, SWEPT_ORDERS[1:]))
    narrow = architecture_bound(SWEPT_WIDTH)
    assert narrow == 1 + SWEPT_WIDTH + math.comb(SWEPT_WIDTH, 2)
    excluded = [order for order in SWEPT_ORDERS if narrow < needed[order]]
    assert excluded and excluded != list(SWEPT_ORDERS)
    assert excluded == list(range(excluded[0], SWEPT_ORDERS[-1] + 1))  # monotone: once excluded, always
    assert 1 not in excluded and 2 not in excluded
    assert all(architecture_bound() >= needed[order] for order in SWEPT_ORDERS)
    for order in SWEPT_ORDERS:
        status = encodable_certificate(needed[order], rlc_bounds(shipped_widths(SWEPT_WIDTH)))["status"]
        assert (status == PROVABLY_NOT_ENCODABLE) == (order in excluded)


@pytest.fixture(scope="module")
def one_epoch_verdicts(tmp_path_factory):
    """The learnability evaluator on the shipped spec with the narrow encoder, 1 epoch, at the
    last order its bound allows and the first it excludes."""
    bound = architecture_bound(SWEPT_WIDTH)
    first_excluded = next(order for order in SWEPT_ORDERS if bound < regions_lower(order))
    root = tmp_path_factory.mktemp("peano")
    results = {}
    for order in (first_excluded - 1, first_excluded):
        overrides = [
            f"manifold.order={order}",
            f"model.encoder.widths=[{SWEPT_WIDTH}]",
            "manifold.samples=256",
            "train.epochs=1",
            "train.batch_size=256",
            "evaluate=[{type: learnability, points: 200}]",
            "report.figures=false",
        ]
        result = geokeras.run(SPEC, out_dir=root / f"order{order}", overrides=overrides)
        results[order] = result.metrics["learnability"]
    return first_excluded, results


def test_verdict_is_provably_not_encodable_exactly_when_the_bound_is_below(one_epoch_verdicts):
    first_excluded, results = one_epoch_verdicts
    bound = architecture_bound(SWEPT_WIDTH)
    for order, learnability in results.items():
        certificate = learnability["certificate"]
        assert certificate["architecture_bound"] == bound
        assert certificate["manifold_rlc_lower"] == hilbert_rlc(order)[0]
        assert certificate["regions_lower"] == regions_lower(order)
        if bound < regions_lower(order):
            assert learnability["verdict"] == "provably_not_encodable"
            assert certificate["regions_lower_method"] == "line_separation"
        else:
            assert learnability["verdict"] in ("encoded", "not_encoded")
    assert results[first_excluded]["verdict"] == "provably_not_encodable"
    assert results[first_excluded - 1]["certificate"]["status"] == "not_excluded"
