"""``geokeras compare``: several runs side by side, the spec keys that tell them apart first.

The table has one column per run and three kinds of rows, in this order:

* ``spec``: every key of the runs' ``resolved.yaml`` (flattened to dotted keys as overrides write
  them, ``model.encoder.widths``, ``evaluate.0.samples``) whose value is not the same in all runs;
* ``metric``: every scalar of their ``metrics.json`` (flattened, ``spec.hash`` left out);
* ``run``: the run directory of each column.

A column is labelled by its run's values of the differing keys (``turns=1, seed=7``, each key
shortened to its shortest unambiguous suffix), or by the run directory's name when no key differs
or the label would be longer than :data:`MAX_LABEL_CHARS`. A sweep folder (it holds
:data:`SWEEP_RECORD`) stands for the run directories of its points, in sweep order.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import yaml

from geokeras.errors import GeokerasInputError, shortened
from geokeras.report.markdown import format_value
from geokeras.report.metric_names import current_metric_names
from geokeras.report.run_dir import RESOLVED_SPEC

SWEEP_RECORD = "sweep.json"
"""The file that makes a folder a sweep folder: one record per point, in grid order (see geokeras/sweep.py)."""

MAX_LABEL_CHARS = 48
"""A column label longer than this is replaced by the run directory's name."""

FORMATS = ("markdown", "csv")


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


def load_resolved_spec(run_dir: Path) -> Optional[dict[str, Any]]:
    """The run's ``resolved.yaml`` as data; None when the run has none (runs of older geokeras versions)."""
    path = Path(run_dir) / RESOLVED_SPEC
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise GeokerasInputError(f"{str(path)!r} is not valid YAML: {error}.") from None
    if not isinstance(data, dict):
        raise GeokerasInputError(
            f"expected {str(path)!r} to hold a mapping of spec keys. Received a YAML {type(data).__name__}."
        )
    return data


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


def flatten_spec(data: Any, prefix: str = "") -> dict[str, Any]:
    """A resolved spec as ``{dotted key: value}``, keys as an override writes them.

    Mappings are followed (``model.encoder.widths``), and so are lists of mappings, by index
    (``evaluate.0.samples``); a list of scalars (``[16, 16]``) and an empty mapping are one value.
    """
    flat: dict[str, Any] = {}
    if isinstance(data, dict) and (data or not prefix):
        for key, value in data.items():
            flat.update(flatten_spec(value, f"{prefix}{key}."))
    elif isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        for index, item in enumerate(data):
            flat.update(flatten_spec(item, f"{prefix}{index}."))
    else:
        flat[prefix[:-1]] = data
    return flat


def raw_value(value: Any) -> str:
    """A value as CSV text a program reads back exactly: ``repr`` of floats (``nan``, ``inf``), integers in full,
    ``true``/``false``, lists and mappings as JSON, the empty string for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, right_aligned_from: int = 1) -> str:
    """A Markdown table of text cells (``|`` and backslashes escaped, newlines joined); columns from
    ``right_aligned_from`` on are right-aligned."""

    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    rule = ["---" if index < right_aligned_from else "---:" for index in range(len(header))]
    lines = ["| " + " | ".join(cell(text) for text in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(cell(text) for text in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _canonical(value: Any) -> str:
    """Equal values, equal text (NaN equals NaN; ``1`` and ``1.0`` differ, as in the content hash)."""
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Row:
    """One row of a comparison: its kind (``spec``, ``metric`` or ``run``), its key, one value per run (None:
    missing)."""

    kind: str
    key: str
    values: tuple[Any, ...]

    @property
    def differs(self) -> bool:
        """Whether the runs' values are not all the same (a missing value counts as null)."""
        return len({_canonical(value) for value in self.values}) > 1


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found: the runs, their column labels, the rows and notes for the reader."""

    run_dirs: tuple[Path, ...]
    labels: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]

    def markdown(self) -> str:
        """The table as Markdown (values as report.md writes them); when spec keys differ, a bold ``spec`` row
        heads them and a bold ``metrics`` row the metrics."""
        blank = ["" for _ in self.labels]
        has_spec_rows = any(row.kind == "spec" for row in self.rows)
        lines: list[list[str]] = []
        previous_kind = ""
        for row in self.rows:
            if has_spec_rows and row.kind != previous_kind and row.kind in ("spec", "metric"):
                lines.append([f"**{'spec' if row.kind == 'spec' else 'metrics'}**", *blank])
            previous_kind = row.kind
            if row.kind == "run":
                lines.append([row.key, *(Path(value).name for value in row.values)])
            else:
                lines.append([row.key, *(readable_value(value) for value in row.values)])
        return markdown_table(["key", *self.labels], lines)

    def csv(self) -> str:
        """The table as CSV: columns ``kind``, ``key`` and one per run (its label), values as :func:`raw_value`
        writes them (the ``run`` row holds the run directories' paths)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["kind", "key", *self.labels])
        writer.writerows([row.kind, row.key, *(raw_value(value) for value in row.values)] for row in self.rows)
        return buffer.getvalue()

    def render(self, format: str = "markdown") -> str:
        """:meth:`markdown` or :meth:`csv`."""
        if format not in FORMATS:
            raise GeokerasInputError(f"expected a format among {', '.join(FORMATS)}. Received: {format!r}.")
        return self.markdown() if format == "markdown" else self.csv()


def readable_value(value: Any) -> str:
    """A value as report.md writes it (:func:`~geokeras.report.markdown.format_value`: ``—`` for None,
    ``true``/``false``, 6 significant digits), with ``{}`` and ``[]`` for empty containers."""
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    return format_value(value)


def sweep_run_dirs(sweep_dir: Path) -> tuple[list[Path], list[str]]:
    """The run directories of a sweep folder's points, in sweep order, and notes on the points left out
    (failed, or sharing a run directory with an earlier point).

    A point's run directory lies beside the sweep folder (both in the sweep's runs root); the path recorded
    in :data:`SWEEP_RECORD` is used when the folders were moved apart.
    """
    path = Path(sweep_dir) / SWEEP_RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GeokerasInputError(f"{str(path)!r} is not valid JSON: {error}.") from None
    if not isinstance(record, list) or not all(isinstance(point, dict) and "run_dir" in point for point in record):
        raise GeokerasInputError(
            f"expected {str(path)!r} to hold a JSON list of sweep points, each with a run_dir. "
            f"Received: {shortened(json.dumps(record))}."
        )
    run_dirs: list[Path] = []
    notes: list[str] = []
    for point in record:
        recorded = Path(str(point["run_dir"]))
        beside = Path(sweep_dir).parent / recorded.name
        run_dir = beside if (beside / "metrics.json").is_file() or not recorded.is_dir() else recorded
        values = ", ".join(f"{key}={value}" for key, value in dict(point.get("values", {})).items())
        if not (run_dir / "metrics.json").is_file():
            status = point.get("status") or "unfinished"
            notes.append(f"{sweep_dir}: point {values} left out ({status}: no finished run).")
        else:
            run_dirs.append(run_dir)
    return run_dirs, notes


def expand_paths(paths: Sequence[Union[str, Path]]) -> tuple[list[Path], list[str]]:
    """Run directories (kept) and sweep folders (replaced by their points' runs), in the order given;
    a run named twice is shown once. Returns the run directories and notes for the reader."""
    run_dirs: list[Path] = []
    notes: list[str] = []
    seen: set[Path] = set()
    for given in map(Path, paths):
        if (given / "metrics.json").is_file():
            found = [given]
        elif (given / SWEEP_RECORD).is_file():
            found, sweep_notes = sweep_run_dirs(given)
            notes += sweep_notes
        elif given.is_dir():
            raise GeokerasInputError(
                f"expected a finished run directory (with metrics.json) or a sweep folder (with {SWEEP_RECORD}). "
                f"Received: {str(given)!r}, which holds neither."
            )
        else:
            raise GeokerasInputError(
                f"expected a finished run directory or a sweep folder. Received: {str(given)!r}, which does not exist."
            )
        for run_dir in found:
            if run_dir.resolve() in seen:
                notes.append(f"{run_dir}: named more than once; shown once.")
            else:
                seen.add(run_dir.resolve())
                run_dirs.append(run_dir)
    if not run_dirs:
        raise GeokerasInputError(
            f"expected at least one finished run. Received: {', '.join(map(str, paths))}, which hold none."
        )
    return run_dirs, notes


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key's shortest suffix that no other key ends with (``manifold.turns`` -> ``turns``); a suffix
    that is a list index or ``type`` keeps its parent (``manifold.type``)."""
    short: dict[str, str] = {}
    for key in keys:
        parts = key.split(".")
        for count in range(1, len(parts) + 1):
            suffix = ".".join(parts[-count:])
            if count == 1 and (parts[-1].isdigit() or parts[-1] == "type") and len(parts) > 1:
                continue
            if not any(other != key and (other == suffix or other.endswith("." + suffix)) for other in keys):
                break
        short[key] = suffix
    return short


def _labels(run_dirs: Sequence[Path], spec_rows: Sequence[Row], has_spec: Sequence[bool]) -> list[str]:
    short = _short_keys([row.key for row in spec_rows])
    labels = []
    for index, run_dir in enumerate(run_dirs):
        label = ", ".join(f"{short[row.key]}={readable_value(row.values[index])}" for row in spec_rows)
        too_long = not label or len(label) > MAX_LABEL_CHARS or not has_spec[index]
        labels.append(run_dir.name if too_long else label)
    if len(set(labels)) < len(labels):
        return [run_dir.name for run_dir in run_dirs]
    return labels


def _union_keys(columns: Sequence[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    known: set[str] = set()
    for column in columns:
        for key in column:
            if key not in known:
                known.add(key)
                keys.append(key)
    return keys


def compare(paths: Sequence[Union[str, Path]], *, only_differing: bool = False) -> Comparison:
    """Compare runs (run directories and sweep folders, see the module docstring).

    Args:
        paths: run directories and sweep folders, in column order.
        only_differing: keep only the metric rows whose values are not the same in every run (spec rows
            always differ).

    Raises:
        GeokerasInputError: a path that is neither a finished run directory nor a sweep folder, unreadable
            metrics.json, resolved.yaml or sweep.json, or no finished run at all.
    """
    run_dirs, notes = expand_paths(paths)
    specs = [load_resolved_spec(run_dir) for run_dir in run_dirs]
    for run_dir, spec in zip(run_dirs, specs):
        if spec is None:
            notes.append(f"{run_dir} has no {RESOLVED_SPEC} (a run of an older geokeras): its spec values are unknown.")
    known_specs = [flatten_spec(spec) for spec in specs if spec is not None]
    spec_rows = []
    for key in _union_keys(known_specs):
        row = Row("spec", key, tuple(flatten_spec(spec).get(key) if spec is not None else None for spec in specs))
        if len({_canonical(known.get(key)) for known in known_specs}) > 1:
            spec_rows.append(row)
    metric_columns = [flatten_metrics(load_metrics(run_dir)) for run_dir in run_dirs]
    metric_rows = [
        Row("metric", key, tuple(column.get(key) for column in metric_columns))
        for key in _union_keys(metric_columns)
        if key != "spec.hash"
    ]
    if only_differing:
        metric_rows = [row for row in metric_rows if row.differs]
    run_row = Row("run", "run", tuple(str(run_dir) for run_dir in run_dirs))
    labels = _labels(run_dirs, spec_rows, [spec is not None for spec in specs])
    return Comparison(tuple(run_dirs), tuple(labels), (*spec_rows, *metric_rows, run_row), tuple(notes))


def compare_runs(paths: Sequence[Union[str, Path]], *, only_differing: bool = False, format: str = "markdown") -> str:
    """The text of :func:`compare`'s table (``format``: ``markdown`` or ``csv``); notes are left out."""
    return compare(paths, only_differing=only_differing).render(format)
