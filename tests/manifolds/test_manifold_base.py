"""The Manifold base: isometric embedding, noise, seeds, validation, tf.data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from geokeras.errors import SpecError
from geokeras.manifolds import Manifold, make
from geokeras.manifolds.curves import ArchimedeanSpiral, Circle
from geokeras.manifolds.params import ArchimedeanSpiralParams, CircleParams


def test_manifold_is_abstract():
    with pytest.raises(TypeError):
        Manifold()  # type: ignore[abstract]


def test_default_embedding_keeps_the_natural_space():
    circle = Circle()
    assert circle.ambient_dim == circle.natural_dim == 2
    np.testing.assert_array_equal(circle.embedding_frame, np.eye(2))
    equal = make({"type": "circle", "embed": {"ambient_dim": 2}})
    np.testing.assert_array_equal(equal.sample(50, seed=1), circle.sample(50, seed=1))


@pytest.mark.parametrize("ambient_dim", [3, 7, 64])
def test_isometric_embedding_preserves_pairwise_distances(ambient_dim):
    keys = {"type": "archimedean_spiral", "turns": 2.0}
    flat = make(keys)
    lifted = make({**keys, "embed": {"ambient_dim": ambient_dim}})
    assert lifted.ambient_dim == ambient_dim and lifted.natural_dim == 2 and lifted.intrinsic_dim == 1
    frame = lifted.embedding_frame
    assert frame.shape == (2, ambient_dim)
    np.testing.assert_allclose(frame @ frame.T, np.eye(2), atol=1e-12)
    points, parameters = lifted.sample_with_parameters(300, seed=4)
    flat_points, flat_parameters = flat.sample_with_parameters(300, seed=4)
    np.testing.assert_array_equal(parameters, flat_parameters)
    assert points.shape == (300, ambient_dim)
    np.testing.assert_allclose(pdist(points), pdist(flat_points), rtol=0, atol=1e-9)
    np.testing.assert_allclose(lifted.natural_coordinates(points), flat_points, atol=1e-12)
    # The frame is generic: the curve does not just sit in the first two coordinates.
    assert np.abs(points[:, 2:]).max() > 0.1


def test_embedding_frame_is_deterministic_and_seedable():
    keys = {"type": "circle", "embed": {"ambient_dim": 5}}
    np.testing.assert_array_equal(make(keys).embedding_frame, make(keys).embedding_frame)
    other = make(keys, embedding_seed=9)
    assert not np.allclose(other.embedding_frame, make(keys).embedding_frame)
    np.testing.assert_array_equal(other.embedding_frame, make(keys, embedding_seed=9).embedding_frame)


def test_same_seed_same_samples_different_seed_different():
    manifold = make({"type": "archimedean_spiral", "noise": {"std": 0.05}, "embed": {"ambient_dim": 3}})
    first = manifold.sample(200, seed=12)
    np.testing.assert_array_equal(first, manifold.sample(200, seed=12))
    np.testing.assert_array_equal(first, make(manifold.params).sample(200, seed=12))
    assert not np.allclose(first, manifold.sample(200, seed=13))


def test_gaussian_noise_has_the_requested_std_and_keeps_parameters():
    std = 0.05
    noisy = make({"type": "circle", "noise": {"type": "gaussian", "std": std}, "embed": {"ambient_dim": 4}})
    points, parameters = noisy.sample_with_parameters(20000, seed=2)
    clean = noisy.points_at(parameters)
    residual = points - clean
    assert residual.std() == pytest.approx(std, rel=0.02)
    assert abs(residual.mean()) < 3 * std / np.sqrt(residual.size)
    _, clean_parameters = make({"type": "circle", "embed": {"ambient_dim": 4}}).sample_with_parameters(20000, seed=2)
    np.testing.assert_array_equal(parameters, clean_parameters)


def test_ambient_dim_below_natural_dim_is_a_spec_error():
    with pytest.raises(SpecError, match="ambient_dim=1") as info:
        Circle(CircleParams(embed={"ambient_dim": 1}))
    assert info.value.path == ("embed", "ambient_dim")


def test_wrong_params_type_is_a_spec_error():
    with pytest.raises(SpecError, match="CircleParams"):
        Circle(ArchimedeanSpiralParams())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.sample(0, seed=0), "n=0"),
        (lambda m: m.sample(2.5, seed=0), "n=2.5"),
        (lambda m: m.sample(10, seed=-1), "seed=-1"),
        (lambda m: m.sample(10, seed=True), "seed=True"),
        (lambda m: m.points_at(np.zeros((3, 2))), r"shape \[n, 1\]"),
        (lambda m: m.natural_coordinates(np.zeros((3, 3))), r"shape \[n, 2\]"),
    ],
)
def test_eager_validation_names_received_value(call, message):
    with pytest.raises(ValueError, match=message):
        call(ArchimedeanSpiral())


def test_as_dataset_batches_the_samples():
    manifold = make({"type": "circle", "embed": {"ambient_dim": 3}})
    dataset = manifold.as_dataset(10, seed=3, batch_size=4)
    batches = [batch.numpy() for batch in dataset]
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert batches[0].dtype == np.float32
    np.testing.assert_allclose(np.concatenate(batches), manifold.sample(10, seed=3), atol=1e-6)
    pairs = next(iter(manifold.as_dataset(10, seed=3, batch_size=4, targets=True)))
    np.testing.assert_array_equal(pairs[0].numpy(), pairs[1].numpy())


def test_importing_manifolds_does_not_import_tensorflow():
    code = (
        "import sys, geokeras.manifolds as m; m.make({'type': 'circle'}).sample(3, seed=0); "
        "assert 'tensorflow' not in sys.modules and 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo_root())


def _repo_root() -> str:
    from pathlib import Path

    import geokeras

    return str(Path(geokeras.__file__).resolve().parents[1])


def test_with_noise_keeps_the_clean_points_and_adds_the_new_noise():
    from geokeras.manifolds import make

    torus = make({"type": "torus", "embed": {"type": "isometric", "ambient_dim": 5}})
    noisy = torus.with_noise({"type": "outliers", "fraction": 0.25, "std": 0.01})
    plain, drawn = torus.draw(40, 3), noisy.draw(40, 3)
    np.testing.assert_array_equal(drawn.clean, plain.clean)  # same parameters and embedding frame
    assert drawn.outliers.sum() == 10 and not np.array_equal(drawn.points, plain.points)
    assert noisy.params.type == "torus" and torus.params.noise.std == 0.0
