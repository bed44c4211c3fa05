"""The verdicts of a run and the criteria that decided them, for the head of report.md.

A verdict is a yes/no answer a run gives (did the encoder learn a chart of the manifold, can the
architecture encode it at all, did the OT solver converge, does the autoencoder denoise); each
comes with the metrics that decided it, their values and the threshold each was held to, so a
failed criterion is read next to its threshold:

    | verdict | answer | criterion | value | threshold | result |
    | Learned a chart (learnability) | no: not_encoded | learnability.injectivity.folds | 25 | = 0 | fail |

Only metrics present in metrics.json produce rows; pure Python (no TensorFlow, no matplotlib).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"


@dataclass(frozen=True)
class Criterion:
    """One metric held to a threshold: ``metric`` (dotted), its ``value``, the ``threshold`` text
    (``"= 0"``, ``"≥ regions_lower = 2"``) and the ``result`` (pass, fail or undecided)."""

    metric: str
    value: Any
    threshold: str
    result: str


@dataclass(frozen=True)
class Verdict:
    """A yes/no question the run answers, the ``answer`` text and the criteria that decided it."""

    question: str
    answer: str
    passed: Optional[bool]
    criteria: tuple[Criterion, ...]


def _get(section: Mapping[str, Any], path: str) -> Any:
    value: Any = section
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _held(metric: str, value: Any, threshold_text: str, test: Callable[[float], bool]) -> Criterion:
    number = _number(value)
    result = UNDECIDED if number is None else (PASS if test(number) else FAIL)
    return Criterion(metric, value, threshold_text, result)


def _answer(passed: Optional[bool], detail: str, yes: str = "yes") -> str:
    """``yes``/``no``/``undecided`` then the detail; a check that can only exclude says ``yes="not excluded"``."""
    word = "undecided" if passed is None else (yes if passed else "no")
    return f"{word}: {detail}" if detail else word


# ----------------------------------------------------------------------------- learnability
_CURVE_CRITERIA = (  # (failure name, metric under injectivity, threshold text, test)
    ("fold", "folds", "= 0", lambda value: value == 0),
    ("self_intersection", "self_intersections", "= 0", lambda value: value == 0),
)
_SURFACE_CRITERIA = (
    ("collapsed_polygon", "orientation.collapsed", "= 0", lambda value: value == 0),
    ("flipped_polygon", "folded_area_share", "= 0", lambda value: value == 0),
    ("boundary_self_intersection", "boundary.self_intersections", "= 0", lambda value: value == 0),
)
_UNMEASURED_FAILURES = {
    "degenerate_piece": "no piece of the curve mapped to a point",
    "closed_into_line": "a closed curve is never injective into R^1",
    "closed_surface_into_plane": "a closed surface is never injective into R^2",
}


def _learnability(section: Mapping[str, Any]) -> list[Verdict]:
    verdict = section.get("verdict")
    certificate = section.get("certificate")
    certificate_verdicts = (
        _certificate(certificate, "learnability.certificate") if isinstance(certificate, Mapping) else []
    )
    if verdict is None:
        return certificate_verdicts
    detail = verdict + (f" on {section['holds_for']}" if section.get("holds_for") else "")
    if section.get("reason"):
        detail += f" ({section['reason']})"
    if verdict == "provably_not_encodable":  # decided for every weight: the certificate's criteria decided it
        criteria = certificate_verdicts[0].criteria if certificate_verdicts else ()
        return [Verdict("Learned a chart (learnability)", _answer(False, detail), False, criteria)]
    failed = list(section.get("failed") or [])
    passed = {"encoded": True, "not_encoded": False}.get(verdict)
    injectivity = section.get("injectivity") or {}
    criteria = []
    for failure, key, threshold, test in (*_CURVE_CRITERIA, *_SURFACE_CRITERIA):
        value = _get(injectivity, key)
        if value is not None or failure in failed:
            criterion = _held(f"learnability.injectivity.{key}", value, threshold, test)
            if failure in failed and criterion.result != FAIL:
                criterion = Criterion(criterion.metric, value, threshold, FAIL)
            criteria.append(criterion)
    for failure in failed:
        if failure in _UNMEASURED_FAILURES:
            criteria.append(Criterion(f"learnability.failed: {failure}", None, _UNMEASURED_FAILURES[failure], FAIL))
    learned = Verdict("Learned a chart (learnability)", _answer(passed, detail), passed, tuple(criteria))
    return [learned, *certificate_verdicts]


# ----------------------------------------------------------------------------- certificates
def _certificate(certificate: Mapping[str, Any], where: str) -> list[Verdict]:
    status = certificate.get("status")
    if status is None:
        return []
    passed = {"provably_not_encodable": False, "not_excluded": True}.get(status)
    criteria = []
    if certificate.get("architecture_bound") is not None and certificate.get("regions_lower") is not None:
        lower = certificate["regions_lower"]
        criteria.append(
            _held(
                f"{where}.architecture_bound",
                certificate["architecture_bound"],
                f"≥ regions_lower = {lower}",
                lambda value: value >= lower,
            )
        )
    obstruction = certificate.get("obstruction")
    if obstruction:
        reason = obstruction.get("reason") if isinstance(obstruction, Mapping) else str(obstruction)
        criteria.append(Criterion(f"{where}.obstruction", reason, "none", FAIL))
    verdicts = [
        Verdict(
            f"Encodable by the architecture, for some weights ({where})",
            _answer(passed, "" if passed else status, yes="not excluded"),
            passed,
            tuple(criteria),
        )
    ]
    trained = certificate.get("trained_encoder")
    if trained is not None and certificate.get("manifold_rlc_lower") is not None:
        lower = certificate["manifold_rlc_lower"]
        trained_passed = {"not_an_encoding_map": False, "not_excluded": True}.get(trained)
        criterion = _held(
            f"{where}.encoder_pieces",
            certificate.get("encoder_pieces"),
            f"≥ manifold_rlc_lower = {lower}",
            lambda value: value >= lower,
        )
        verdicts.append(
            Verdict(
                f"Trained encoder not excluded by its pieces ({where})",
                _answer(trained_passed, "" if trained_passed else trained, yes="not excluded"),
                trained_passed,
                (criterion,),
            )
        )
    return verdicts


# ----------------------------------------------------------------------------- OT and denoising
def _ot(section: Mapping[str, Any], spec: Optional[Mapping[str, Any]]) -> list[Verdict]:
    if "converged" not in section:
        return []
    passed = bool(section["converged"])
    solver = _get(spec or {}, "latent_ot.solver") or {}
    checks = [("max_rel_mass_error", "tol", solver.get("tol"))]  # newton: exact cell areas
    if section.get("tv_bound") is not None:  # Monte-Carlo: the debiased TV bound, and max_rel_tol if set
        checks = [
            ("tv_bound", "tol", solver.get("tol")),
            ("max_rel_mass_error", "max_rel_tol", solver.get("max_rel_tol")),
        ]
    criteria = []
    for key, name, limit in checks:
        metric, value = f"ot.{key}", section.get(key)
        if _number(limit) is not None:
            criteria.append(_held(metric, value, f"≤ {name} = {limit:g}", lambda number, limit=limit: number <= limit))
        elif name == "tol":
            criteria.append(Criterion(metric, value, "≤ the solver's tol", "—"))
    detail = f"{section.get('solver', 'solver')}, {section.get('steps', '?')} steps"
    return [Verdict("OT solver converged (ot)", _answer(passed, detail), passed, tuple(criteria))]


def _denoising(section: Mapping[str, Any]) -> list[Verdict]:
    criteria = [
        _held(f"denoising.{group}.ratio", _get(section, f"{group}.ratio"), "< 1 (mean after / before)", lambda v: v < 1)
        for group in ("all", "inliers", "outliers")
        if isinstance(section.get(group), Mapping)
    ]
    if not criteria:
        return []
    overall = criteria[0].result
    passed = None if overall == UNDECIDED else overall == PASS
    return [
        Verdict("Denoises: points end closer to the manifold (denoising)", _answer(passed, ""), passed, tuple(criteria))
    ]


def verdict_lines(found: list[Verdict], format_value: Callable[[Any], str]) -> list[str]:
    """The Markdown of the "Verdicts" section: one line per verdict naming its failed criteria with
    their thresholds, then the table of every criterion (verdict and answer on its first row)."""
    if not found:
        return []
    lines = []
    for verdict in found:
        failed = [criterion for criterion in verdict.criteria if criterion.result == FAIL]
        because = "; ".join(
            f"{criterion.metric} {format_value(criterion.value)}, expected {criterion.threshold}"
            if criterion.value is not None
            else f"{criterion.metric} ({criterion.threshold})"
            for criterion in failed
        )
        lines.append(
            f"- **{_cell(verdict.question)}**: {_cell(verdict.answer)}" + (f" — {_cell(because)}" if because else "")
        )
    lines += ["", "| verdict | answer | criterion | value | threshold | result |", "|---|---|---|---:|---|---|"]
    for verdict in found:
        first = True
        for criterion in verdict.criteria or (None,):
            head = (verdict.question, verdict.answer) if first else ("", "")
            first = False
            cells = (
                ("—", "—", "—", "—")
                if criterion is None
                else (criterion.metric, format_value(criterion.value), criterion.threshold, _mark(criterion.result))
            )
            lines.append("| " + " | ".join(_cell(str(cell)) for cell in (*head, *cells)) + " |")
    return lines


def _mark(result: str) -> str:
    return {PASS: "pass", FAIL: "**fail**"}.get(result, result)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def verdicts(metrics: Mapping[str, Any], spec: Optional[Mapping[str, Any]] = None) -> list[Verdict]:
    """Every verdict metrics.json holds, in this order: learnability (and its certificate), the
    manifold_rlc certificate, the OT solve, denoising.

    Args:
        metrics: the content of metrics.json.
        spec: the resolved spec as a mapping, for thresholds that live in the spec (the OT
            solver's ``tol``); None: those thresholds are named, not given.
    """
    found: list[Verdict] = []
    learnability = metrics.get("learnability")
    if isinstance(learnability, Mapping):
        found += _learnability(learnability)
    certificate = _get(metrics, "manifold_rlc.certificate")
    if isinstance(certificate, Mapping):
        found += _certificate(certificate, "manifold_rlc.certificate")
    if isinstance(metrics.get("ot"), Mapping):
        found += _ot(metrics["ot"], spec)
    if isinstance(metrics.get("denoising"), Mapping):
        found += _denoising(metrics["denoising"])
    return found
