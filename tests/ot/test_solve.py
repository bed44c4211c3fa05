"""solve(): inputs as names, mappings or models; errors; metrics; solvers agree with each other
and with a discrete OT of many source samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from geokeras.errors import SpecError
from geokeras.ot.params import MonteCarloAdamParams, NewtonParams, UniformCubeSourceParams
from geokeras.ot.solve import OTResult, make_solver_params, normalised_weights, solve
from geokeras.ot.sources import make_source

QUADRANT_TARGETS = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)


def test_solver_parameters_from_names_mappings_models_and_options():
    assert make_solver_params("newton") == NewtonParams()
    assert make_solver_params({"type": "monte_carlo_adam", "tol": 0.05}).tol == 0.05
    assert make_solver_params(MonteCarloAdamParams(tol=0.05), max_steps=7).max_steps == 7
    assert make_solver_params(None, tol=0.1) == MonteCarloAdamParams(tol=0.1)


def test_unknown_solvers_and_keys_raise_spec_errors_with_key_paths():
    with pytest.raises(SpecError, match=r"^type: Unknown OT solver type 'newtn'.*Did you mean 'newton'"):
        solve(QUADRANT_TARGETS, solver="newtn")
    with pytest.raises(SpecError, match=r"^tolerance: unknown key 'tolerance'.*Expected one of:.* tol, type"):
        solve(QUADRANT_TARGETS, tolerance=0.1)
    with pytest.raises(SpecError, match=r"^source\.std: unknown key 'std'"):
        solve(QUADRANT_TARGETS, source={"type": "uniform_cube", "std": 1})


def test_bad_targets_weights_and_seeds_are_reported():
    with pytest.raises(ValueError, match=r"Received: targets.shape=\(4,\)"):
        solve(np.zeros(4))
    with pytest.raises(ValueError, match=r"Received: weights.shape=\(3,\)"):
        solve(QUADRANT_TARGETS, [1, 2, 3])
    with pytest.raises(ValueError, match=r"positive target weights.*Received: weights containing \[0.0\]"):
        solve(QUADRANT_TARGETS, [1, 2, 3, 0])
    with pytest.raises(ValueError, match="Received: seed=-1"):
        solve(QUADRANT_TARGETS, seed=-1)
    np.testing.assert_allclose(normalised_weights([1, 1, 2], 3), [0.25, 0.25, 0.5])


def test_result_metrics_are_json_and_the_layer_maps_to_the_targets():
    result = solve(QUADRANT_TARGETS, solver="newton", source=UniformCubeSourceParams())
    assert isinstance(result, OTResult)
    metrics = json.loads(json.dumps(result.to_metrics()))
    assert metrics["solver"] == "newton" and metrics["converged"] is True
    assert {"max_rel_mass_error", "tv", "empty_cells", "steps", "samples", "seconds"} <= set(metrics)
    x = np.array([[0.2, 0.3], [-0.2, -0.1]], np.float32)
    np.testing.assert_array_equal(result.layer(x).numpy(), QUADRANT_TARGETS[[0, 2]])


def test_newton_and_monte_carlo_agree():
    rng = np.random.default_rng(4)
    targets = rng.normal(size=(16, 2)).astype(np.float32)
    weights = rng.uniform(0.5, 1.5, size=16)
    exact = solve(targets, weights, solver="newton")
    sampled = solve(targets, weights, tol=0.005, seed=2)
    assert sampled.converged
    # The cell masses move by at most (facet length / |y_i - y_j|) per unit of height: with
    # TV <= 0.005 the heights agree to a small fraction of their spread.
    assert np.max(np.abs(sampled.heights - exact.heights)) <= 0.05 * np.ptp(exact.heights)


def test_transport_cost_matches_a_discrete_assignment_of_source_samples():
    # E|x - T(x)|^2 of the semi-discrete map against the optimal assignment of n source
    # samples to the targets replicated n / N times (an exact discrete OT, biased low by O(n^-1/2)).
    rng = np.random.default_rng(5)
    targets = rng.normal(scale=0.5, size=(8, 2)).astype(np.float32)
    result = solve(targets, solver="newton")
    source = make_source({"type": "uniform_cube", "sampling": "pseudo_random"}, 2)
    x = source.sample(1 << 16, seed=9).numpy()
    semi_discrete = float(np.mean(np.sum((x - result.layer(x).numpy()) ** 2, axis=1)))
    costs = []
    for repeat in range(4):
        sample = source.sample(512, seed=100 + repeat).numpy()
        replicated = np.repeat(targets, 512 // 8, axis=0)
        cost = np.sum((sample[:, None, :] - replicated[None, :, :]) ** 2, axis=2)
        rows, cols = linear_sum_assignment(cost)
        costs.append(cost[rows, cols].mean())
    spread = np.std(costs, ddof=1) / np.sqrt(len(costs))
    assert abs(np.mean(costs) - semi_discrete) <= 3 * spread
    # and no map does better than the OT map on the same large sample: shuffled images cost more.
    assert semi_discrete < float(np.mean(np.sum((x - targets[rng.integers(0, 8, len(x))]) ** 2, axis=1)))


def test_a_solve_stopped_early_is_a_warning_in_metrics_and_report():
    from geokeras.report.markdown import metric_warnings, render_report

    targets = np.random.default_rng(3).normal(size=(20, 2)).astype(np.float32)
    result = solve(targets, solver="newton", max_steps=1)
    metrics = result.to_metrics()
    assert result.steps == 1 and metrics["converged"] is False
    expected = (
        f"newton did not converge: max_steps=1 reached after 1 steps with max relative mass error "
        f"{result.max_rel_mass_error:.3g} (tol=1e-08), TV {result.tv:.3g}; the OT map is approximate."
    )
    assert metrics["warning"] == expected and 0.0 < metrics["tv"] <= 1.0
    report = render_report(
        spec_name="s", spec_hash="0" * 64, metrics={"training": {"epochs": 1}, "ot": metrics}, figures=[], provenance={}
    )
    assert f"## Warnings\n\n- **ot**: {expected}\n\n## Training summary" in report
    assert f"| warning | {expected} |" in report and "| converged | false |" in report
    nested = {"ot": metrics, "evaluate": {"x": {"warning": "w"}}, "loose": 1}
    assert metric_warnings(nested) == [("ot", expected), ("evaluate.x", "w")]
    converged = solve(targets, solver="newton").to_metrics()
    assert converged["converged"] is True and "warning" not in converged
    assert "## Warnings" not in render_report(
        spec_name="s", spec_hash="0" * 64, metrics={"ot": converged}, figures=[], provenance={}
    )
