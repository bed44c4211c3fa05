"""What every manifold, noise, density and embedding type must satisfy.

Each registered manifold, built from its example, draws finite float64 samples of shape
[n, *sample_shape] (prod(sample_shape) = ambient_dim) with parameters of shape [n, parameter_dim],
the same for the same seed and others for another seed; its exact points at the drawn parameters
are the clean samples; and another noise model never moves the clean samples. Image data sets
read fake keras.datasets arrays (no network); the mesh example is a file of the repository.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geokeras.errors import SpecError, SpecErrors
from geokeras.manifolds import make
from tests.conftest import fake_keras_data
from tests.contracts.registries import REPOSITORY, entries, example, registry

SAMPLES = 24
SEED = 7


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Run from the repository root (the mesh example's path) with fake keras data sets."""
    monkeypatch.chdir(REPOSITORY)
    import keras

    fake = fake_keras_data(train=40, test=20)
    for name in dir(keras.datasets):
        loader = getattr(getattr(keras.datasets, name), "load_data", None)
        if callable(loader):
            monkeypatch.setattr(getattr(keras.datasets, name), "load_data", lambda: fake)


def manifold_of(entry, **keys):
    return make({**example(entry).model_dump(), **keys})


def check_sample(manifold, n=SAMPLES, seed=SEED):
    """The shape, dtype and finiteness contract of one draw; returns it."""
    drawn = manifold.draw(n, seed)
    assert drawn.points.shape == drawn.clean.shape == (n, *manifold.sample_shape)
    assert math.prod(manifold.sample_shape) == manifold.ambient_dim
    assert drawn.points.dtype == np.float64 and np.isfinite(drawn.points).all() and np.isfinite(drawn.clean).all()
    assert drawn.parameters.shape == (n, manifold.parameter_dim) and np.isfinite(drawn.parameters).all()
    assert drawn.outliers.shape == (n,) and drawn.outliers.dtype == bool
    return drawn


@pytest.mark.parametrize("entry", entries("MANIFOLDS"))
def test_samples_have_the_declared_shapes_and_are_finite(entry):
    manifold = manifold_of(entry)
    check_sample(manifold)
    points, parameters = manifold.sample_with_parameters(5, SEED)
    assert points.shape == (5, *manifold.sample_shape) and parameters.shape == (5, manifold.parameter_dim)
    intrinsic = manifold.intrinsic_dim
    assert intrinsic is None or 1 <= intrinsic <= manifold.natural_dim <= manifold.ambient_dim


@pytest.mark.parametrize("entry", entries("MANIFOLDS"))
def test_same_seed_same_samples_other_seed_other_samples(entry):
    manifold = manifold_of(entry, noise={"type": "gaussian", "std": 0.01})
    first, again = (
        manifold.draw(SAMPLES, SEED),
        manifold_of(entry, noise={"type": "gaussian", "std": 0.01}).draw(SAMPLES, SEED),
    )
    np.testing.assert_array_equal(first.points, again.points)
    np.testing.assert_array_equal(first.parameters, again.parameters)
    assert not np.array_equal(first.points, manifold.draw(SAMPLES, SEED + 1).points)


@pytest.mark.parametrize("entry", entries("MANIFOLDS"))
def test_points_at_the_drawn_parameters_are_the_clean_samples(entry):
    manifold = manifold_of(entry)
    drawn = manifold.draw(SAMPLES, SEED)
    exact = manifold.points_at(drawn.parameters)
    np.testing.assert_allclose(exact.reshape(drawn.clean.shape), drawn.clean, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("noise", entries("NOISES"))
@pytest.mark.parametrize("entry", entries("MANIFOLDS"))
def test_noise_never_moves_the_clean_samples(entry, noise):
    manifold = manifold_of(entry)
    noisy = manifold.with_noise({**example(noise).model_dump(), "std": 0.05})
    clean, perturbed = manifold.draw(SAMPLES, SEED), check_sample(noisy)
    np.testing.assert_array_equal(perturbed.clean, clean.clean)
    np.testing.assert_array_equal(perturbed.parameters, clean.parameters)
    assert not np.array_equal(perturbed.points, perturbed.clean)
    np.testing.assert_array_equal(
        perturbed.points[~perturbed.outliers] == perturbed.clean[~perturbed.outliers],
        np.zeros_like(perturbed.clean[~perturbed.outliers], dtype=bool),
    )


@pytest.mark.parametrize("embedding", entries("EMBEDDINGS"))
@pytest.mark.parametrize("manifold_type", ["circle", "sphere"])
def test_embeddings_lift_into_the_ambient_space_and_invert_on_the_image(manifold_type, embedding):
    params = {**example(embedding).model_dump(), "ambient_dim": 5}
    manifold = make({"type": manifold_type, "embed": params})
    drawn = check_sample(manifold)
    assert manifold.ambient_dim == 5 and drawn.points.shape == (SAMPLES, 5)
    again = make({"type": manifold_type, "embed": params}).draw(SAMPLES, SEED)
    np.testing.assert_array_equal(again.points, drawn.points)
    natural = manifold.natural_coordinates(drawn.clean)
    np.testing.assert_allclose(manifold.embed_natural_points(natural), drawn.clean, atol=1e-9)


def manifolds_taking(measure) -> list[str]:
    """The manifold types that accept ``measure`` (a density applies to some manifolds only)."""
    names = []
    for name in registry("MANIFOLDS").names():
        if name in ("mesh", "mnist", "fashion_mnist", "digits"):
            continue  # data: a density on them is refused, and loading them costs
        try:
            make({"type": name, "measure": measure})
        except (SpecError, SpecErrors):  # refused, or a type with required keys (a data file)
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("density", entries("DENSITIES"))
def test_densities_apply_to_some_manifold_and_sample_deterministically(density):
    measure = example(density).model_dump()
    names = manifolds_taking(measure)
    assert names, f"no manifold accepts the example of density {density.name!r}"
    for name in names[:2]:
        manifold = make({"type": name, "measure": measure})
        drawn = check_sample(manifold)
        np.testing.assert_array_equal(make({"type": name, "measure": measure}).sample(SAMPLES, SEED), drawn.points)
        assert not np.array_equal(manifold.sample(SAMPLES, SEED + 1), drawn.points)
