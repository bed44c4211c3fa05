"""Embeddings into R^D: the isometric lift (a seeded orthonormal frame) and the nonlinear warp."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from geokeras.errors import SpecError
from geokeras.manifolds import make
from geokeras.manifolds.embeddings import IsometricEmbedding, NonlinearEmbedding
from geokeras.manifolds.params import IsometricEmbeddingParams, NonlinearEmbeddingParams

CURVES = [
    {"type": "circle", "radius": 2.0},
    {"type": "ellipse"},
    {"type": "archimedean_spiral", "turns": 3.0},
    {"type": "helix"},
    {"type": "trefoil"},
    {"type": "torus_knot", "p": 3, "q": 4},
    {"type": "hilbert", "dim": 3, "order": 2},
    {"type": "peano", "order": 2},
    {"type": "koch", "order": 3},
]


@pytest.mark.parametrize("keys", CURVES)
@pytest.mark.parametrize("ambient_dim", [None, 5, 40])
def test_isometric_embedding_preserves_all_pairwise_distances(keys, ambient_dim):
    flat = make(keys)
    lifted = make({**keys, "embed": {"type": "isometric", "ambient_dim": ambient_dim}})
    expected_dim = flat.natural_dim if ambient_dim is None else ambient_dim
    assert lifted.ambient_dim == expected_dim and lifted.intrinsic_dim == 1
    points, parameters = lifted.sample_with_parameters(300, seed=7)
    flat_points, flat_parameters = flat.sample_with_parameters(300, seed=7)
    np.testing.assert_array_equal(parameters, flat_parameters)  # the lift does not touch the parameters
    assert points.shape == (300, expected_dim)
    np.testing.assert_allclose(pdist(points), pdist(flat_points), rtol=0, atol=1e-12)
    frame = lifted.embedding_frame
    np.testing.assert_allclose(frame @ frame.T, np.eye(flat.natural_dim), atol=1e-14)
    # The exact ground truth lifts the same way: polyline lengths are unchanged.
    vertices, _ = lifted.polyline(64)
    flat_vertices, _ = flat.polyline(64)
    np.testing.assert_allclose(pdist(vertices), pdist(flat_vertices), rtol=0, atol=1e-12)


def test_identity_frame_when_the_dimension_is_kept():
    helix = make({"type": "helix", "embed": {"ambient_dim": 3}})
    np.testing.assert_array_equal(helix.embedding_frame, np.eye(3))
    np.testing.assert_array_equal(helix.sample(100, seed=1), make({"type": "helix"}).sample(100, seed=1))


def test_same_seed_same_frame_and_documented_seeding():
    params = IsometricEmbeddingParams(ambient_dim=7)
    first, second = IsometricEmbedding(params, 3).frame, IsometricEmbedding(params, 3).frame
    np.testing.assert_array_equal(first, second)
    assert not first.flags.writeable
    # Seeded by SeedSequence([k, D]) (or [seed, k, D]): the QR of a [D, k] Gaussian, signs fixed.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([3, 7])))
    q, r = np.linalg.qr(rng.standard_normal((7, 3)))
    np.testing.assert_allclose(first, (q * np.sign(np.diag(r))).T, atol=1e-15)
    seeded = IsometricEmbedding(params, 3, seed=5).frame
    assert not np.allclose(seeded, first)
    np.testing.assert_array_equal(seeded, IsometricEmbedding(params, 3, seed=5).frame)
    # Same k and D: the same frame for every manifold (sweeps stay comparable).
    np.testing.assert_array_equal(
        make({"type": "helix", "embed": {"ambient_dim": 7}}).embedding_frame,
        make({"type": "trefoil", "embed": {"ambient_dim": 7}}).embedding_frame,
    )


def test_nonlinear_embedding_shares_the_frame_and_reduces_to_it_at_strength_zero():
    keys = {"type": "trefoil"}
    isometric = make({**keys, "embed": {"type": "isometric", "ambient_dim": 6}})
    nonlinear = make({**keys, "embed": {"type": "nonlinear", "ambient_dim": 6, "strength": 0.5}})
    np.testing.assert_array_equal(nonlinear.embedding_frame, isometric.embedding_frame)
    flat = make({**keys, "embed": {"type": "nonlinear", "ambient_dim": 6, "strength": 0.0}})
    np.testing.assert_array_equal(flat.sample(200, seed=3), isometric.sample(200, seed=3))
    assert not np.allclose(nonlinear.sample(200, seed=3), isometric.sample(200, seed=3))
    # Same seed, same warp.
    np.testing.assert_array_equal(
        nonlinear.sample(50, seed=3),
        make({**keys, "embed": {"type": "nonlinear", "ambient_dim": 6, "strength": 0.5}}).sample(50, seed=3),
    )


@pytest.mark.parametrize("strength", [0.3, 0.9])
@pytest.mark.parametrize(
    "keys", [{"type": "archimedean_spiral", "turns": 2.0}, {"type": "hilbert", "dim": 3, "order": 2}]
)
def test_nonlinear_warp_is_bi_lipschitz_with_the_documented_constants(strength, keys):
    # (1 - s)|x - x'| <= |g(x F) - g(x' F)| <= (1 + s)|x - x'| for every pair of samples.
    embed = {"type": "nonlinear", "ambient_dim": 5, "strength": strength, "scale": 0.5, "features": 8}
    warped = make({**keys, "embed": embed})
    points, parameters = warped.sample_with_parameters(400, seed=9)
    natural = make(keys).points_at(parameters)
    ratios = pdist(points) / pdist(natural)
    assert ratios.min() >= 1.0 - strength - 1e-12 and ratios.max() <= 1.0 + strength + 1e-12
    assert ratios.max() - ratios.min() > 0.1 * strength  # and it does bend
    # Its differential's singular values, at the samples, lie in [1 - s, 1 + s] too.
    embedding = warped.embedding
    a, b = embedding.warp_matrices
    np.testing.assert_allclose([np.linalg.norm(a, 2), np.linalg.norm(b, 2)], 1.0, rtol=1e-12)
    y = embedding.lift(natural)
    sech2 = 1.0 / np.cosh(y @ a / 0.5) ** 2
    jacobians = np.eye(5)[None] + strength * np.einsum("dk,nk,ke->nde", a, sech2, b)
    singular = np.linalg.svd(jacobians, compute_uv=False)
    assert singular.min() >= 1.0 - strength - 1e-12 and singular.max() <= 1.0 + strength + 1e-12


def test_nonlinear_embedding_inverse_and_tangents():
    embed = {"type": "nonlinear", "ambient_dim": 4, "strength": 0.8, "scale": 0.7}
    spiral = make({"type": "archimedean_spiral", "turns": 2.0, "embed": embed})
    points, theta = spiral.sample_with_parameters(500, seed=2)
    natural = make({"type": "archimedean_spiral", "turns": 2.0}).points_at(theta)
    np.testing.assert_allclose(spiral.natural_coordinates(points), natural, atol=1e-12)
    # Pushed tangents are the derivative of the embedded curve (central differences).
    tangents = spiral.ambient_tangent_vectors(theta)
    step = 1e-6
    central = (spiral.points_at(theta + step) - spiral.points_at(theta - step)) / (2 * step)
    np.testing.assert_allclose(tangents[:, 0, :], central, atol=1e-7)


def test_warp_is_computed_in_chunks_without_changing_the_result():
    embedding = NonlinearEmbedding(NonlinearEmbeddingParams(ambient_dim=3, strength=0.5), 2)
    natural = np.random.default_rng(0).standard_normal((70_000, 2))  # more than one chunk of 65536 rows
    whole = embedding.apply(natural)
    # The formula g(y) = y + s l tanh(y A / l) B on all rows at once (BLAS may round the
    # products of differently sized blocks differently: equal to a few ulp).
    a, b = embedding.warp_matrices
    y = natural @ embedding.frame
    np.testing.assert_allclose(whole, y + 0.5 * np.tanh(y @ a) @ b, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "mapping, path, message",
    [
        (
            {"type": "helix", "embed": {"ambient_dim": 2}},
            ("embed", "ambient_dim"),
            "at least 3 .* Received: ambient_dim=2",
        ),
        ({"type": "circle", "embed": {"ambient_dim": 1}}, ("embed", "ambient_dim"), "at least 2"),
        (
            {"type": "peano", "dim": 3, "order": 1, "embed": {"type": "nonlinear", "ambient_dim": 2}},
            ("embed", "ambient_dim"),
            "at least 3",
        ),
        ({"type": "circle", "embed": {"ambient_dim": 0}}, ("embed", "ambient_dim"), "greater than 0"),
        ({"type": "circle", "embed": {"type": "nonlinear", "strength": 1.0}}, ("embed", "strength"), "less than 1"),
        ({"type": "circle", "embed": {"type": "nonlinear", "scale": -1.0}}, ("embed", "scale"), "greater than 0"),
        ({"type": "circle", "embed": {"type": "nonlinear", "features": 0}}, ("embed", "features"), "greater than 0"),
        ({"type": "circle", "embed": {"type": "isometric", "strength": 0.5}}, ("embed", "strength"), "unknown key"),
        ({"type": "circle", "embed": {"type": "curvy"}}, ("embed", "type"), "isometric"),
    ],
)
def test_bad_embeddings_name_the_key(mapping, path, message):
    with pytest.raises(SpecError, match=message) as info:
        make(mapping)
    assert info.value.path == path
