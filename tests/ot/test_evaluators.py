"""ot_quality and generation: MMD, sliced Wasserstein and mode coverage known answers; both evaluators."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from geokeras.errors import SpecError  # noqa: E402
from geokeras.evaluation import EvaluationContext  # noqa: E402
from geokeras.manifolds import make  # noqa: E402
from geokeras.ot.evaluators import (  # noqa: E402
    evaluate_generation,
    evaluate_ot_quality,
    gaussian_mmd,
    median_bandwidth,
    mode_coverage,
    sliced_wasserstein,
    wasserstein_1d,
)
from geokeras.ot.generation import GenerationResult  # noqa: E402
from geokeras.ot.params import GenerationEvaluatorParams, OTQualityParams  # noqa: E402
from geokeras.ot.solve import OTResult  # noqa: E402
from geokeras.ot.sources import make_source  # noqa: E402

QUADRANTS = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], np.float32)


# ----------------------------------------------------------------------------- distances
def test_mmd_of_a_sample_against_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 3))
    assert abs(gaussian_mmd(x, x, bandwidth=0.7)) < 1e-12


def test_mmd_of_shifted_gaussians_matches_the_closed_form():
    # P = N(0, I_2), Q = N(delta, I_2), kernel exp(-|a-b|^2 / (2 sigma^2)):
    # MMD^2 = 2 (sigma^2 / (sigma^2 + 2))^(d/2) (1 - exp(-|delta|^2 / (2 (sigma^2 + 2)))).
    rng = np.random.default_rng(1)
    n, sigma, delta = 4000, 1.0, np.array([1.0, 0.0])
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + delta
    closed = 2 * (sigma**2 / (sigma**2 + 2)) * (1 - np.exp(-1.0 / (2 * (sigma**2 + 2))))
    # The estimator's standard deviation at n = 2000 is about 0.0096 (measured over seeds), so
    # about 0.0068 at n = 4000: 3 of those.
    assert gaussian_mmd(x, y, sigma, unbiased=True) == pytest.approx(closed, abs=0.02)
    # The V-statistic exceeds the U-statistic by (1 - mean off-diagonal K) / n per sample set.
    assert gaussian_mmd(x, y, sigma) > gaussian_mmd(x, y, sigma, unbiased=True)


def test_median_bandwidth_is_the_median_pairwise_distance():
    assert median_bandwidth(np.array([[0.0], [1.0], [3.0]])) == 2.0


def test_wasserstein_1d_is_the_sorted_difference_formula_for_equal_sizes():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=300), rng.normal(size=300) * 2 + 1
    assert wasserstein_1d(u, v) == pytest.approx(np.mean((np.sort(u) - np.sort(v)) ** 2), rel=1e-12)
    assert sliced_wasserstein(u, v) == pytest.approx(np.sqrt(np.mean((np.sort(u) - np.sort(v)) ** 2)), rel=1e-12)


def test_wasserstein_1d_compares_quantile_functions_for_unequal_sizes():
    # F_u^-1 = 0 on (0, 1/2], 1 after; F_v^-1 = 0, 1/2, 1 on thirds: they differ by 1/2 on (1/3, 2/3].
    assert wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0, 0.5, 1.0])) == pytest.approx(1.0 / 12.0)
    u = np.random.default_rng(3).normal(size=50)
    v = np.random.default_rng(4).normal(size=70)
    assert wasserstein_1d(np.repeat(u, 3), v) == pytest.approx(wasserstein_1d(u, v), rel=1e-12)


def test_sliced_wasserstein_of_a_translate_is_the_projected_shift():
    x = np.random.default_rng(5).normal(size=(400, 3))
    delta = np.array([0.3, -1.2, 0.5])
    # Every projection of x + delta is the projection of x shifted by <delta, theta>, so
    # SW_2^2 = mean_theta <delta, theta>^2 -> |delta|^2 / d.
    assert sliced_wasserstein(x, x + delta, projections=4000, seed=1) == pytest.approx(
        np.linalg.norm(delta) / np.sqrt(3), rel=0.03
    )
    assert sliced_wasserstein(x, x) == 0.0


def test_mode_coverage_of_all_modes_and_of_one_mode():
    reference = np.repeat(np.arange(8), 10)
    every = mode_coverage(np.arange(8).repeat(3), reference, 8)
    assert every["mode_coverage"] == 1.0 and every["modes_covered"] == 8 and every["mode_tv"] == 0.0
    one = mode_coverage(np.full(40, 5), reference, 8)
    assert one["mode_coverage"] == 1 / 8 and one["modes"] == 8 and one["mode_tv"] == pytest.approx(7 / 8)


def test_mismatched_dimensions_are_refused():
    with pytest.raises(ValueError, match="x of dimension 2, y of dimension 3"):
        gaussian_mmd(np.zeros((3, 2)), np.zeros((3, 3)), 1.0)


# ----------------------------------------------------------------------------- evaluators
def quadrant_solution() -> OTResult:
    """The exact solution for four targets (+-1, +-1), equal weights, U[-1/2, 1/2]^2: h = 0."""
    return OTResult(
        heights=np.zeros(4),
        targets=QUADRANTS,
        weights=np.full(4, 0.25),
        source=make_source({"type": "uniform_cube"}, 2),
        solver="exact",
        max_rel_mass_error=0.0,
        tv=0.0,
        empty_cells=0,
        steps=0,
        samples=0,
        seconds=0.0,
        converged=True,
    )


def identity_decoder(dim: int):
    import keras

    inputs = keras.Input((dim,))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def context(manifold, ot=None, generation=None, **extra) -> EvaluationContext:
    return EvaluationContext(
        manifold=manifold,
        encoder=None,
        decoder=identity_decoder(2),
        autoencoder=None,
        x_train=np.zeros((1, 2)),
        seed=11,
        ot=ot,
        generation=generation,
        **extra,
    )


def test_ot_quality_of_the_exact_quadrant_solution(tmp_path):
    from geokeras.report.params import ReportSpec

    metrics = evaluate_ot_quality(
        OTQualityParams(samples=1 << 14),
        context(make({"type": "circle"}), ot=quadrant_solution(), figures_dir=tmp_path, report=ReportSpec(dpi=30)),
    )
    assert (
        metrics["sampled_empty_cells"] == 0 and metrics["distinct_targets"] == 4 and metrics["mass_samples"] == 1 << 14
    )
    assert metrics["sampled_max_rel_mass_error"] < 0.02 and metrics["sampled_tv"] < 0.005
    # E|x - T(x)|^2 = 2 E(1 - u)^2 with u ~ U(0, 1/2): 2 * 2 * (1 - 1/8) / 3 = 7/6.
    assert metrics["transport_cost"] == pytest.approx(7.0 / 6.0, abs=0.005)
    assert metrics["tv_noise_floor"] == pytest.approx(0.5 * 4 * np.sqrt(2 * 0.25 * 0.75 / (np.pi * (1 << 14))))
    assert (tmp_path / "ot_power_diagram.png").is_file()


def test_ot_evaluators_without_latent_ot_say_what_is_missing():
    for evaluate, params in (
        (evaluate_ot_quality, OTQualityParams()),
        (evaluate_generation, GenerationEvaluatorParams()),
    ):
        with pytest.raises(SpecError, match=r"^the .* evaluator needs the latent OT map\. Expected a `latent_ot`"):
            evaluate(params, context(make({"type": "circle"})))


def fake_generation(samples: np.ndarray) -> GenerationResult:
    n = len(samples)
    return GenerationResult(
        codes=samples.astype(np.float32),
        samples=samples,
        source_samples=np.zeros((n, 2)),
        top_cells=np.zeros(n, int),
        interpolated=np.zeros(n, bool),
        refused=np.zeros(n, bool),
        refused_share=0.25,
        refused_pair_share=0.125,
        interpolated_share=0.5,
    )


def test_generation_from_the_data_itself_covers_every_mode_and_beats_the_gaussian_baseline():
    mixture = make({"type": "gaussian_mixture", "modes": 8, "std": 0.05})
    codes = mixture.sample(2000, seed=21)  # identity "autoencoder": codes are the data
    ot = quadrant_solution()
    ot.targets, ot.weights = codes.astype(np.float32), np.full(len(codes), 1 / len(codes))
    metrics = evaluate_generation(
        GenerationEvaluatorParams(samples=1000, projections=64),
        context(mixture, ot=ot, generation=fake_generation(mixture.sample(1000, seed=22))),
    )
    assert metrics["modes_from"] == "manifold" and metrics["modes"] == 8
    assert metrics["mode_coverage"] == 1.0
    assert metrics["off_manifold_rate"] < 0.03  # q = 0.99 of each Gaussian: 1 % expected
    assert metrics["refused_share"] == 0.25 and metrics["generated"] == 1000 and metrics["held_out"] == 1000
    # A Gaussian fitted to eight separated modes fills the gaps between them.
    assert metrics["baseline_off_manifold_rate"] > 0.5
    assert metrics["mmd"] < metrics["baseline_mmd"]
    assert metrics["sliced_wasserstein"] < metrics["baseline_sliced_wasserstein"]


def test_generation_from_one_mode_covers_one_kth():
    mixture = make({"type": "gaussian_mixture", "modes": 8, "std": 0.05})
    points, parameters = mixture.sample_with_parameters(4000, seed=23)
    one_mode = points[parameters[:, 0] == 3][:300]
    ot = quadrant_solution()
    ot.targets, ot.weights = points.astype(np.float32), np.full(len(points), 1 / len(points))
    metrics = evaluate_generation(
        GenerationEvaluatorParams(samples=800, projections=16),
        context(mixture, ot=ot, generation=fake_generation(one_mode)),
    )
    assert metrics["mode_coverage"] == 1 / 8 and metrics["modes_covered"] == 1
