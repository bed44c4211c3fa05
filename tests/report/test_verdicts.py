"""report.md opens with the verdicts, each failed criterion next to its threshold."""

from __future__ import annotations

from geokeras.report.markdown import format_value, render_report
from geokeras.report.verdicts import FAIL, PASS, verdict_lines, verdicts

NOT_ENCODED = {
    "verdict": "not_encoded",
    "failed": ["fold"],
    "holds_for": "polyline(h=0.05)",
    "reason": None,
    "certificate": {"status": "not_excluded", "regions_lower": 2, "architecture_bound": 48, "obstruction": None},
    "injectivity": {"folds": 25, "self_intersections": 0, "pieces": 788},
}


def test_a_failed_learnability_verdict_names_the_criterion_and_its_threshold():
    found = verdicts({"learnability": NOT_ENCODED})
    learned, certificate = found
    assert learned.question == "Learned a chart (learnability)" and learned.passed is False
    assert learned.answer == "no: not_encoded on polyline(h=0.05)"
    assert [(c.metric, c.value, c.threshold, c.result) for c in learned.criteria] == [
        ("learnability.injectivity.folds", 25, "= 0", FAIL),
        ("learnability.injectivity.self_intersections", 0, "= 0", PASS),
    ]
    assert certificate.answer == "not excluded" and certificate.criteria[0].threshold == "≥ regions_lower = 2"
    lines = verdict_lines(found, format_value)
    assert lines[0] == (
        "- **Learned a chart (learnability)**: no: not_encoded on polyline(h=0.05) — "
        "learnability.injectivity.folds 25, expected = 0"
    )
    assert (
        "| Learned a chart (learnability) | no: not_encoded on polyline(h=0.05) | learnability.injectivity.folds | 25 "
        "| = 0 | **fail** |" in lines
    )
    assert "|  |  | learnability.injectivity.self_intersections | 0 | = 0 | pass |" in lines


def test_an_encoded_surface_passes_every_criterion():
    section = {
        "verdict": "encoded",
        "failed": [],
        "holds_for": "manifold",
        "injectivity": {
            "orientation": {"positive": 9, "negative": 0, "collapsed": 0},
            "folded_area_share": 0.0,
            "boundary": {"self_intersections": 0},
        },
    }
    (learned,) = verdicts({"learnability": section})
    assert learned.passed is True and learned.answer == "yes: encoded on manifold"
    assert [c.result for c in learned.criteria] == [PASS, PASS, PASS]
    assert verdict_lines([learned], format_value)[0] == "- **Learned a chart (learnability)**: yes: encoded on manifold"


def test_a_provably_not_encodable_architecture_shows_its_bound_below_the_lower_bound():
    section = {
        "verdict": "provably_not_encodable",
        "failed": [],
        "holds_for": "manifold",
        "certificate": {
            "status": "provably_not_encodable",
            "regions_lower": 64,
            "architecture_bound": 4,
            "obstruction": None,
        },
    }
    (learned,) = verdicts({"learnability": section})
    assert learned.passed is False
    assert [(c.metric, c.value, c.threshold, c.result) for c in learned.criteria] == [
        ("learnability.certificate.architecture_bound", 4, "≥ regions_lower = 64", FAIL)
    ]


def test_ot_convergence_is_held_to_the_spec_tolerance():
    newton = {"solver": "newton", "steps": 7, "converged": True, "max_rel_mass_error": 5e-10, "tv_bound": None}
    (verdict,) = verdicts({"ot": newton}, spec={"latent_ot": {"solver": {"tol": 1e-8}}})
    assert verdict.answer == "yes: newton, 7 steps"
    assert [(c.metric, c.threshold, c.result) for c in verdict.criteria] == [
        ("ot.max_rel_mass_error", "≤ tol = 1e-08", PASS)
    ]
    adam = {"solver": "monte_carlo_adam", "steps": 30, "converged": False, "max_rel_mass_error": 18.2, "tv_bound": 1.48}
    (verdict,) = verdicts({"ot": adam}, spec={"latent_ot": {"solver": {"tol": 0.1, "max_rel_tol": None}}})
    assert verdict.passed is False
    assert [(c.metric, c.value, c.threshold, c.result) for c in verdict.criteria] == [
        ("ot.tv_bound", 1.48, "≤ tol = 0.1", FAIL)
    ]
    (unknown,) = verdicts({"ot": adam})  # no spec: the threshold is named, not judged
    assert unknown.criteria[0].threshold == "≤ the solver's tol" and unknown.criteria[0].result == "—"


def test_denoising_passes_when_points_end_closer():
    section = {"all": {"ratio": 0.09}, "inliers": {"ratio": 0.5}, "outliers": {"ratio": 1.2}}
    (verdict,) = verdicts({"denoising": section})
    assert verdict.passed is True and [c.result for c in verdict.criteria] == [PASS, PASS, FAIL]


def test_report_opens_with_the_verdicts_and_keeps_the_warnings():
    metrics = {
        "spec": {"name": "x", "hash": "h"},
        "training": {"epochs": 2, "final_loss": 1.0},
        "ot": {"solver": "newton", "steps": 3, "converged": False, "max_rel_mass_error": 0.5, "warning": "stopped"},
        "learnability": NOT_ENCODED,
    }
    text = render_report(spec_name="x", spec_hash="a" * 64, metrics=metrics, figures=[], provenance={})
    assert text.index("## Verdicts") < text.index("## Warnings") < text.index("## Training summary")
    assert "- **ot**: stopped" in text
    assert "learnability.injectivity.folds 25, expected = 0" in text
    assert (
        "| OT solver converged (ot) | no: newton, 3 steps | ot.max_rel_mass_error | 0.5 | ≤ the solver's tol | — |"
        in text
    )


def test_no_verdict_no_section():
    text = render_report(
        spec_name="x", spec_hash="a" * 64, metrics={"reconstruction": {"mse": 1.0}}, figures=[], provenance={}
    )
    assert "## Verdicts" not in text
