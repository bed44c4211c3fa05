"""Exact dyadic arithmetic and exact cell maps (geokeras.complexity.exact)."""

from fractions import Fraction

import numpy as np
import pytest

from geokeras.complexity.exact import Dyadic, ExactNetwork, fraction
from geokeras.complexity.lowering import AffineLayer, LoweredNetwork


def test_from_floats_is_exact_for_tiny_huge_and_float32_values():
    values = np.array([0.1, -3.0, 1e-300, 2.0**70, 0.0, np.float32(0.1)])
    exact = Dyadic.from_floats(values).to_fractions()
    assert [Fraction(v) for v in values.tolist()] == list(exact)


def test_from_floats_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        Dyadic.from_floats([1.0, np.nan])


def test_sum_that_floats_round_to_zero_keeps_its_sign():
    # 1 + 2^-60 - 1 is 0 in float64 and 2^-60 exactly.
    a, b = Dyadic.from_floats([1.0]), Dyadic.from_floats([2.0**-60])
    result = (a + b) - a
    assert result.sign().tolist() == [1]
    assert fraction(result) == Fraction(1, 2**60)


def test_matmul_matches_fractions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    exact = (Dyadic.from_floats(a) @ Dyadic.from_floats(b)).to_fractions()
    fa = [[Fraction(x) for x in row] for row in a.tolist()]
    fb = [[Fraction(x) for x in row] for row in b.tolist()]
    expected = [[sum(fa[i][k] * fb[k][j] for k in range(4)) for j in range(2)] for i in range(3)]
    assert exact.tolist() == expected


def _network():
    rng = np.random.default_rng(1)
    return LoweredNetwork(
        (
            AffineLayer(rng.normal(size=(2, 5)), rng.normal(size=5), "relu"),
            AffineLayer(rng.normal(size=(5, 4)), rng.normal(size=4), "leaky_relu", 0.25),
            AffineLayer(rng.normal(size=(4, 1)), rng.normal(size=1), "linear"),
        )
    )


def test_output_map_of_a_cell_matches_the_float_map_and_is_exact_affine():
    network = _network()
    exact = ExactNetwork(network)
    x = np.array([[0.3, -0.7]])
    pattern = network.activation_pattern(x)[0]
    linear, offset = exact.output_map(*exact.identity(), pattern)
    float_linear, float_offset = network.affine_maps(pattern[None])
    np.testing.assert_allclose(linear.to_floats(), float_linear[0], rtol=1e-12)
    np.testing.assert_allclose(offset.to_floats(), float_offset[0], rtol=1e-12)
    np.testing.assert_allclose(x @ linear.to_floats() + offset.to_floats(), network(x), rtol=1e-12)


def test_pre_activation_map_on_a_segment_parametrisation():
    network = _network()
    exact = ExactNetwork(network)
    p, d = np.array([0.1, 0.2]), np.array([0.5, -1.0])
    t = 0.375
    x = p + t * d
    pattern = network.activation_pattern(x[None])[0]
    linear, offset = exact.pre_activation_map(d[None], p, pattern, 1)
    expected = network.pre_activations(x[None])[1][0]
    np.testing.assert_allclose(t * linear.to_floats()[0] + offset.to_floats(), expected, rtol=1e-12)
