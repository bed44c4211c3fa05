"""AE-OT generation: dihedral angles, the extended OT map's closed forms, refusal at the singular set."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from geokeras.errors import SpecError  # noqa: E402
from geokeras.ot.generation import CodeNormalisation, ExtendedMap, dihedral_angles, generate, mass_centres  # noqa: E402
from geokeras.ot.sources import make_source  # noqa: E402

QUADRANTS = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])


def arccos_formula(y_i: np.ndarray, y_j: np.ndarray) -> np.ndarray:
    cosine = (np.sum(y_i * y_j, -1) + 1.0) / (np.sqrt(1 + np.sum(y_i**2, -1)) * np.sqrt(1 + np.sum(y_j**2, -1)))
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def test_dihedral_angle_of_identical_codes_is_exactly_zero():
    codes = np.random.default_rng(0).normal(size=(50, 5)) * 3.0
    assert np.all(dihedral_angles(codes, codes) == 0.0)
    import tensorflow as tf

    assert np.all(dihedral_angles(tf.constant(codes), tf.constant(codes)).numpy() == 0.0)


def test_dihedral_angle_matches_the_arccos_formula():
    rng = np.random.default_rng(1)
    y_i, y_j = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    np.testing.assert_allclose(dihedral_angles(y_i, y_j), arccos_formula(y_i, y_j), atol=1e-7)
    # Two opposite quadrant codes: cos theta = (-2 + 1) / 3.
    assert dihedral_angles(QUADRANTS[0], QUADRANTS[3]) == pytest.approx(np.arccos(-1.0 / 3.0), abs=1e-15)


def test_normalised_angles_do_not_depend_on_code_scale_or_offset():
    codes = np.random.default_rng(2).normal(size=(30, 3))
    moved = 7.5 * codes + np.array([3.0, -1.0, 2.0])
    a = CodeNormalisation.fit(codes).apply(codes)
    b = CodeNormalisation.fit(moved).apply(moved)
    np.testing.assert_allclose(dihedral_angles(a[:1], a), dihedral_angles(b[:1], b), atol=1e-12)
    assert np.sqrt(np.mean(np.sum(a**2, 1))) == pytest.approx(1.0)
    # Raw angles do change with scale: the threshold needs normalised codes to mean one thing.
    assert not np.allclose(dihedral_angles(codes[:1], codes), dihedral_angles(moved[:1], moved), atol=1e-3)


def test_mass_centres_of_the_quadrants():
    source = make_source({"type": "uniform_cube"}, 2)
    samples = (1 << 18) + 4096  # two chunks
    centres, counts = mass_centres(source, QUADRANTS, np.zeros(4), samples, seed=0)
    assert counts.sum() == samples
    np.testing.assert_allclose(counts / counts.sum(), 0.25, atol=0.002)
    np.testing.assert_allclose(centres, 0.25 * QUADRANTS, atol=0.002)


@pytest.mark.parametrize("interpolation", ["barycentric", "inverse_distance", "pairs", "none"])
def test_threshold_zero_never_interpolates(interpolation):
    codes = np.random.default_rng(3).normal(size=(40, 2))
    result = generate(
        codes,
        np.zeros(40),
        "uniform_cube",
        {"samples": 500, "interpolation": interpolation, "angle_threshold": 0.0},
        seed=4,
    )
    matches = np.all(result.codes[:, None, :] == codes.astype(np.float32)[None, :, :], axis=2)
    assert np.all(matches.any(axis=1)), "a generated code is not exactly a training code"
    np.testing.assert_array_equal(result.codes, codes.astype(np.float32)[result.top_cells])
    assert result.interpolated_share == 0.0
    if interpolation != "none":  # every neighbour is a different code: all refused
        assert result.refused_share == 1.0 and result.refused_pair_share == 1.0


@pytest.mark.parametrize("interpolation", ["barycentric", "pairs"])
def test_one_dimensional_extension_is_the_clipped_linear_ramp(interpolation):
    # Codes 0 and 1, h = 0, source U[-1/2, 1/2]: cells x < 0 and x > 0, centres -1/4 and 1/4.
    # Interpolating the codes along the centres gives code(x) = clip(1/2 + 2x, 0, 1).
    source = make_source({"type": "uniform_cube", "sampling": "pseudo_random"}, 1)
    result = generate(
        np.array([[0.0], [1.0]]),
        np.zeros(2),
        source,
        {"samples": 400, "interpolation": interpolation, "angle_threshold": np.pi},
        seed=5,
        centres=np.array([[-0.25], [0.25]]),
    )
    x = result.source_samples[:, 0].astype(np.float64)
    np.testing.assert_allclose(result.codes[:, 0], np.clip(0.5 + 2.0 * x, 0.0, 1.0), atol=1e-6)
    assert result.refused_share == 0.0


def test_barycentric_weights_are_the_barycentric_coordinates_in_a_triangle():
    targets = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    centres = np.array([[0.0, 0.0], [0.4, 0.0], [0.0, 0.4]])
    extended = ExtendedMap(targets, np.zeros(3), centres, interpolation="barycentric", angle_threshold=np.pi, top_k=2)
    x = np.array([[0.1, 0.1], [0.2, 0.05], [0.01, 0.3]], np.float32)
    mapped = extended(x)
    # With centres 0, 0.4 e1, 0.4 e2 and codes 0, 10 e1, 10 e2 the map is x -> 25 x.
    np.testing.assert_allclose(mapped["codes"].numpy(), 25.0 * x, rtol=1e-5)
    np.testing.assert_allclose(np.sum(mapped["weights"].numpy(), axis=1), 1.0, atol=1e-12)


def test_inverse_distance_stays_in_the_hull_and_hits_codes_at_their_centres():
    source = make_source({"type": "uniform_cube"}, 2)
    centres = 0.25 * QUADRANTS
    extended = ExtendedMap(
        QUADRANTS, np.zeros(4), centres, interpolation="inverse_distance", angle_threshold=np.pi, top_k=2
    )
    np.testing.assert_allclose(extended(centres.astype(np.float32))["codes"].numpy(), QUADRANTS, atol=1e-4)
    codes = extended(source.sample(300, seed=6))["codes"].numpy()
    assert np.all(np.abs(codes) <= 1.0 + 1e-6)


def test_no_interpolation_across_the_gap_between_two_modes():
    rng = np.random.default_rng(7)
    left = rng.normal(size=(30, 2)) * 0.05 + [-3.0, 0.0]
    right = rng.normal(size=(30, 2)) * 0.05 + [3.0, 0.0]
    codes = np.concatenate([left, right])
    heights = -0.5 * np.sum(codes**2, axis=1) / 0.1  # Voronoi-like cells: both modes' cells meet at x1 = 0
    heights -= heights.mean()
    settings = {"samples": 1000, "interpolation": "pairs", "top_k": 3}
    normalised = CodeNormalisation.fit(codes).apply(codes)
    within = max(
        dihedral_angles(normalised[:30, None], normalised[None, :30]).max(),
        dihedral_angles(normalised[30:, None], normalised[None, 30:]).max(),
    )
    across = dihedral_angles(normalised[:30, None], normalised[None, 30:]).min()
    assert within < across
    threshold = 0.5 * (within + across)
    cut = generate(codes, heights, "uniform_cube", {**settings, "angle_threshold": threshold}, seed=8)
    bridged = generate(codes, heights, "uniform_cube", {**settings, "angle_threshold": np.pi}, seed=8)
    gap = lambda generated: np.mean(np.abs(generated[:, 0]) < 2.5)  # noqa: E731
    assert gap(cut.codes) == 0.0 and cut.refused_share > 0.0
    assert gap(bridged.codes) > 0.0 and bridged.refused_share == 0.0


def test_invalid_settings_name_what_was_received():
    with pytest.raises(SpecError, match=r"^angle_threshold: "):
        generate(QUADRANTS, np.zeros(4), "uniform_cube", {"angle_threshold": -0.1})
    with pytest.raises(ValueError, match=r"Received: interpolation='linear'"):
        ExtendedMap(QUADRANTS, np.zeros(4), QUADRANTS, interpolation="linear")
    with pytest.raises(ValueError, match=r"Expected heights of shape \[4\]. Received: shape=\[3\]"):
        generate(QUADRANTS, np.zeros(3), "uniform_cube")


def test_pairs_is_continuous_across_a_facet_between_unequal_cells():
    # Codes 0 and 1, h = (0.1, -0.1), source U[-1/2, 1/2]: the facet is at x = h_0 - h_1 = 0.2,
    # cells [-0.5, 0.2] and [0.2, 0.5] with centres -0.15 and 0.35. The score gap s_0 - s_1 =
    # 0.2 - x is 0.35 at c_0 and -0.15 at c_1, so the code is 0.5 - (0.2 - x) / 0.7 on the left
    # and 0.5 + (x - 0.2) / 0.3 on the right (clipped to [0, 1]): 0.5 on the facet from both
    # sides. (Projecting onto the centres' segment instead jumps from 0.5 to 0.7 there.)
    extended = ExtendedMap(
        np.array([[0.0], [1.0]]),
        np.array([0.1, -0.1]),
        np.array([[-0.15], [0.35]]),
        interpolation="pairs",
        angle_threshold=np.pi,
        top_k=1,
    )
    x = np.array([-0.5, -0.15, 0.0, 0.2 - 2.0**-20, 0.2 + 2.0**-20, 0.3, 0.35, 0.5])
    expected = np.clip(np.where(x < 0.2, 0.5 - (0.2 - x) / 0.7, 0.5 + (x - 0.2) / 0.3), 0.0, 1.0)
    codes = extended(x[:, None].astype(np.float32))["codes"].numpy()[:, 0]
    np.testing.assert_allclose(codes, expected, atol=1e-6)
    assert abs(codes[3] - codes[4]) < 1e-5  # no jump across the facet
