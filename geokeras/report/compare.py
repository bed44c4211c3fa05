"""``geokeras compare``: the numbers of several run directories side by side (Markdown)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from geokeras.errors import GeokerasInputError
from geokeras.report.metric_names import current_metric_names


def load_metrics(run_dir: Path) -> dict[str, Any]:
    """The metrics.json of a finished run directory, renamed metrics under their current names
    (:data:`geokeras.report.metric_names.RENAMED_METRICS`), so older runs compare with newer ones."""
    path = Path(run_dir) / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise GeokerasInputError(f"{str(path)!r} does not exist: expected a finished run directory.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GeokerasInputError(f"{str(path)!r} is not valid JSON: {error}.") from None
    if not isinstance(metrics, dict):
        raise GeokerasInputError(
            f"expected {str(path)!r} to hold a JSON object of metric sections. "
            f"Received a JSON {type(metrics).__name__}."
        )
    return current_metric_names(metrics)


TIMING_METRICS = (
    "training.seconds",
    "training.samples_per_second",
    "ot.seconds",
    "ot.generate.seconds",
)
"""The flattened metrics that measure wall time: the only ones a rerun of a spec may change."""


def without_timings(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """metrics.json content minus :data:`TIMING_METRICS`: what reproduces exactly on one machine."""
    kept: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if name not in TIMING_METRICS:
            kept[key] = without_timings(value, f"{name}.") if isinstance(value, dict) else value
    return kept


def flatten_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists are left out (they are not one number)."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, f"{name}."))
        elif not isinstance(value, list):
            flat[name] = value
    return flat


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "-"
    return str(value)


def compare_runs(run_dirs: Sequence[Path]) -> str:
    """A Markdown table: one row per metric, one column per run."""
    columns = [flatten_metrics(load_metrics(run_dir)) for run_dir in run_dirs]
    names: list[str] = []
    for column in columns:
        names.extend(name for name in column if name not in names and name != "spec.hash")
    header = "| metric | " + " | ".join(Path(run_dir).name for run_dir in run_dirs) + " |"
    rule = "|---|" + "---|" * len(run_dirs)
    rows = [f"| {name} | " + " | ".join(_format(column.get(name)) for column in columns) + " |" for name in names]
    return "\n".join([header, rule, *rows]) + "\n"
