"""report.md: the human-readable summary of a run (pure Python, no matplotlib, no TensorFlow).

The metrics mapping it renders has the layout of ``metrics.json`` (docs/run-directory.md)::

    {
      "spec": {"name": ..., "hash": ...},            # shown in the title, not as a table
      "training": {"epochs": 200, "final_loss": 1.2e-4, "seconds": 31.5,
                   "samples_per_second": 130000.0, ...},
      "reconstruction": {"samples": 2000, "mse": ..., "chamfer": ..., "hausdorff": ...},
      ...                                             # one mapping per evaluator
    }

``"train"`` is accepted for ``"training"``, and evaluator sections may also be nested under
``"evaluate"``. Every ``warning`` key of a section (e.g. ``ot.warning`` when the OT solver did not
converge) is also listed under "Warnings" right below the title, so an approximate result
is not read as a success. Every other mapping becomes a section with a two-column table (nested keys
dotted), loose top-level numbers an "Other metrics" table. Numbers are formatted with 6
significant digits (``f"{value:.6g}"``); integers are written in full, booleans as
true/false, missing values as an em dash.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from geokeras.report.run_dir import TRAINING_METRICS  # rows of the summary table, in this order
from geokeras.report.verdicts import verdict_lines, verdicts

PROVENANCE_FIRST_KEYS = ("versions", "devices")

_MAX_LIST_ITEMS = 8
_MAX_PROVENANCE_CHARS = 240


def format_value(value: Any) -> str:
    """A metric as table text: 6 significant digits for floats, ints in full."""
    if value is None:
        return "—"
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):  # numpy bools too
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return f"{number:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) or type(value).__name__ == "ndarray":
        items = list(value)
        shown = ", ".join(format_value(item) for item in items[:_MAX_LIST_ITEMS])
        more = f", … ({len(items)} values)" if len(items) > _MAX_LIST_ITEMS else ""
        return f"[{shown}{more}]"
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={format_value(item)}" for key, item in value.items())
    return str(value)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def _table(header: tuple[str, str], rows: list[tuple[str, Any]]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---:|"]
    lines += [f"| {_cell(str(name))} | {_cell(format_value(value))} |" for name, value in rows]
    return lines


def _alt_text(title: str) -> str:
    return title.replace("[", "(").replace("]", ")").replace("\n", " ")


def _image_target(path: str) -> str:
    if path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise ValueError(f"Expected figure paths relative to the report, with forward slashes. Received: {path!r}.")
    return f"<{path}>" if any(char in path for char in " ()<>") else path


def _short(text: str) -> str:
    return text if len(text) <= _MAX_PROVENANCE_CHARS else text[: _MAX_PROVENANCE_CHARS - 1] + "…"


def _provenance_lines(provenance: Mapping[str, Any]) -> list[str]:
    keys = [key for key in PROVENANCE_FIRST_KEYS if key in provenance]
    keys += [key for key in provenance if key not in PROVENANCE_FIRST_KEYS]
    lines = []
    for key in keys:
        value = provenance[key]
        if isinstance(value, Mapping):
            text = ", ".join(f"{name} {format_value(item)}" for name, item in value.items())
        elif isinstance(value, (list, tuple)):
            text = ", ".join(
                " ".join(format_value(part) for part in item.values())
                if isinstance(item, Mapping)
                else format_value(item)
                for item in value
            )
        else:
            text = format_value(value)
        lines.append(f"- **{key}**: {_short(text) or '—'}")
    return lines


def metric_warnings(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(section, text)`` for every non-empty ``warning`` key (at any depth) of a metrics section.

    The section is the dotted path of the mapping holding it (``"ot"`` for ``ot.warning``).
    """
    found = []
    for section, values in metrics.items():
        if not isinstance(values, Mapping):
            continue
        for name, value in _flatten(values, f"{section}."):
            if name.endswith(".warning") and value:
                found.append((name.rsplit(".", 1)[0], format_value(value)))
    return found


def _warning_lines(metrics: Mapping[str, Any]) -> list[str]:
    return [f"- **{_cell(section)}**: {_cell(text)}" for section, text in metric_warnings(metrics)]


def _evaluator_names() -> set[str]:
    from geokeras.registry import EVALUATORS

    return set(EVALUATORS.names())


def render_report(
    *,
    spec_name: str,
    spec_hash: str,
    metrics: Mapping[str, Any],
    figures: Sequence[tuple[str, str]],
    provenance: Mapping[str, Any],
    spec: Mapping[str, Any] | None = None,
) -> str:
    """The text of report.md.

    Args:
        spec_name: the spec's ``name``.
        spec_hash: the content hash of the resolved spec (hex; the run directory shows its
            first 12 characters).
        metrics: the contents of metrics.json (layout in the module docstring).
        figures: ``(title, path)`` pairs, paths relative to report.md with forward slashes.
        provenance: the contents of provenance.json; ``versions`` and ``devices`` come first,
            every other key follows on one line each.
        spec: the resolved spec as a mapping (thresholds the verdicts quote, such as the OT
            solver's ``tol``); None: those thresholds are named, not given.

    Returns:
        Markdown: a title, the verdicts with the criteria that decided them
        (:mod:`geokeras.report.verdicts`), the warnings, the training summary table, one two-column table per evaluator
        (and per other metrics section), the figures as images, and the provenance.
    """
    run_name = f"{spec_name}-{spec_hash[:12]}"
    lines = [f"# {spec_name}", "", f"Spec content hash `{spec_hash}` (run `{run_name}`).", ""]
    headline = verdict_lines(verdicts(metrics, spec), format_value)
    if headline:
        lines += ["## Verdicts", ""] + headline + [""]
    warnings = _warning_lines(metrics)
    if warnings:
        lines += ["## Warnings", ""] + warnings + [""]

    training = metrics.get("training", metrics.get("train"))
    lines += ["## Training summary", ""]
    if isinstance(training, Mapping) and training:
        ordered = [(key, training[key]) for key in TRAINING_METRICS if key in training]
        rest = {key: value for key, value in training.items() if key not in TRAINING_METRICS}
        lines += _table(("quantity", "value"), ordered + _flatten(rest))
    else:
        lines.append("No training metrics were recorded.")
    lines.append("")

    evaluator_names = _evaluator_names()
    sections: list[tuple[str, Any]] = []
    loose: list[tuple[str, Any]] = []
    for name, values in metrics.items():
        if name in ("spec", "training", "train"):
            continue
        if name == "evaluate" and isinstance(values, Mapping):
            sections += [(f"Evaluator: {key}", value) for key, value in values.items()]
        elif isinstance(values, Mapping):
            sections.append((f"Evaluator: {name}" if name in evaluator_names else name, values))
        else:
            loose.append((name, values))
    for heading, values in sections:
        lines += [f"## {heading}", ""]
        if isinstance(values, Mapping) and values:
            lines += _table(("metric", "value"), _flatten(values))
        else:
            lines.append(f"No metrics ({format_value(values)}).")
        lines.append("")
    if loose:
        lines += ["## Other metrics", ""] + _table(("metric", "value"), loose) + [""]

    if figures:
        lines += ["## Figures", ""]
        for title, path in figures:
            # Markdown viewers show PNG and SVG inline; a PDF is linked (it opens in a PDF viewer).
            image = "" if str(path).lower().endswith(".pdf") else "!"
            lines += [f"### {title}", "", f"{image}[{_alt_text(title)}]({_image_target(str(path))})", ""]

    lines += ["## Provenance", ""]
    lines += _provenance_lines(provenance) or ["No provenance was recorded."]
    lines.append("")
    return "\n".join(lines)
