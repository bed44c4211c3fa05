"""``geokeras report RUN_DIR``: redraw the figures and rewrite report.md of a finished run.

Nothing is trained. The run's resolved spec (``resolved.yaml``), with the ``report:`` settings
given (format, dpi), is loaded; the training data are drawn again from the spec's seeds; the
saved models (``models/*.keras``, and ``models/ot.keras`` with its AE-OT samples generated again
from the OT seeds) are loaded; the evaluators run again on them (they draw their own figures)
and the standard figures are drawn (:mod:`geokeras.report_stage`, the stage a run itself ends
with). ``metrics.json`` is never rewritten: figures must not change a metric. When the
evaluators' metrics differ from metrics.json (a different machine, or float32-stored OT
weights), a warning names them and metrics.json keeps the recorded numbers, which report.md shows.

The new files are written into a copy of the run directory (``.<name>.rerender`` beside it; files
that do not change are hard links where the file system allows) that replaces the run directory
only when complete, so an interrupted re-render leaves the run as it was. The run directory is
locked (:mod:`geokeras.report.run_lock`) meanwhile; a run still being written, a staging folder
or a folder that is not a finished run is refused (GeokerasInputError: exit status 2).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from geokeras.errors import GeokerasInputError
from geokeras.report.run_dir import RESOLVED_SPEC, recorded_spec_hash
from geokeras.report.run_lock import OWNER_FILE, RunDirectoryBusy, RunLock, busy_message, is_locked

FINISHED_RUN_FILES = (RESOLVED_SPEC, "metrics.json", "history.json", "provenance.json")
MODEL_FILES = ("encoder", "decoder", "autoencoder")
REWRITTEN = ("figures", "report.md", RESOLVED_SPEC, OWNER_FILE)
"""What a re-render replaces (the rest of the run directory is carried over unchanged)."""

METRIC_RTOL = 1e-9


@dataclass(frozen=True)
class RerenderResult:
    """What :func:`rerender` returns.

    Attributes:
        run_dir: the run directory, now with the new figures and report.md.
        figures: ``(title, path)`` of the figures in report.md, paths relative to the run directory.
        differing: dotted names of the metrics the re-run evaluators computed differently from
            metrics.json (kept as recorded; empty when they agree).
    """

    run_dir: Path
    figures: tuple[tuple[str, str], ...]
    differing: tuple[str, ...]


def rerender(run_dir: Union[str, Path], *, format: Optional[str] = None, dpi: Optional[int] = None) -> RerenderResult:
    """Redraw the figures and rewrite report.md of the finished run at ``run_dir``; no training.

    Args:
        run_dir: a finished run directory (``geokeras run``'s output).
        format: ``png``, ``svg`` or ``pdf`` (``report.format``); None keeps the run's.
        dpi: the figures' resolution (``report.dpi``); None keeps the run's.

    Returns:
        :class:`RerenderResult`.

    Raises:
        GeokerasInputError: not a finished run directory, a run still in progress, or bad
            ``format``/``dpi`` (a SpecError at ``report.format`` / ``report.dpi``).
    """
    run_dir = Path(run_dir)
    _check_finished(run_dir)
    spec = _load_spec(run_dir, format=format, dpi=dpi)
    lock = RunLock(run_dir)
    lock.acquire()
    staging = run_dir.parent / f".{run_dir.name}.rerender"
    try:
        if staging.exists() or staging.is_symlink():
            _remove(staging)  # left by an interrupted re-render: the run directory itself is intact
        _copy_run(run_dir, staging)
        figures, differing = _render_into(spec, run_dir, staging)
        _swap(run_dir, staging)
    except BaseException:
        _remove(staging)
        raise
    finally:
        (run_dir / OWNER_FILE).unlink(missing_ok=True)  # the run directory as it was, when not replaced
        lock.release()
    if differing:
        print(
            f"geokeras: warning: the re-run evaluators computed {len(differing)} metric(s) differently from "
            f"metrics.json ({', '.join(differing[:5])}{', ...' if len(differing) > 5 else ''}); metrics.json "
            f"is kept as recorded and report.md shows its numbers.",
            file=sys.stderr,
        )
    return RerenderResult(run_dir, figures, differing)


# ----------------------------------------------------------------------------- checks
def _check_finished(run_dir: Path) -> None:
    if run_dir.is_symlink() or not run_dir.is_dir():
        raise GeokerasInputError(
            f"expected a finished run directory. Received {str(run_dir)!r}, which is "
            f"{'a symlink' if run_dir.is_symlink() else 'not a directory'}."
        )
    if run_dir.name.endswith((".partial", ".rerender")) or (run_dir / "checkpoints").exists():
        raise GeokerasInputError(
            f"expected a finished run directory. Received {str(run_dir)!r}, the staging folder of a run in "
            f"progress or interrupted: finish it with `geokeras run SPEC --resume` first."
        )
    if is_locked(run_dir):
        raise RunDirectoryBusy(busy_message(run_dir))
    missing = [name for name in FINISHED_RUN_FILES if not (run_dir / name).is_file()]
    missing += [f"models/{name}.keras" for name in MODEL_FILES if not (run_dir / "models" / f"{name}.keras").is_file()]
    if missing:
        raise GeokerasInputError(
            f"expected a finished run directory with {', '.join(missing)}. Received {str(run_dir)!r}, which lacks them."
        )


def _load_spec(run_dir: Path, *, format: Optional[str], dpi: Optional[int]) -> Any:
    """The run's resolved spec with the report overrides; its hash must be the recorded one."""
    from geokeras.spec import load_spec

    overrides = [f"report.{key}={value}" for key, value in (("format", format), ("dpi", dpi)) if value is not None]
    as_run = load_spec(run_dir / RESOLVED_SPEC)
    recorded = recorded_spec_hash(run_dir)
    if recorded is not None and recorded not in (as_run.content_hash, _hash_of_every_key(as_run)):
        raise GeokerasInputError(
            f"expected {RESOLVED_SPEC} of {str(run_dir)!r} to resolve to its recorded hash {recorded}. "
            f"Received {as_run.content_hash}: it was edited, or written by a geokeras whose spec language differs."
        )
    return load_spec(run_dir / RESOLVED_SPEC, overrides) if overrides else as_run


def _hash_of_every_key(spec: Any) -> str:
    """The content hash as runs written before display-only keys were left out recorded it."""
    import hashlib

    canonical = json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- the staging copy
def _copy_run(run_dir: Path, staging: Path) -> None:
    """Everything but what a re-render rewrites; hard links where possible (no file is written through one)."""

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    shutil.copytree(
        run_dir,
        staging,
        symlinks=True,
        copy_function=link_or_copy,
        ignore=lambda folder, names: [name for name in names if Path(folder) == run_dir and name in REWRITTEN],
    )


def _swap(run_dir: Path, staging: Path) -> None:
    """Put ``staging`` in place of ``run_dir``: two renames, then the old folder is removed."""
    retired = run_dir.parent / f".{run_dir.name}.replaced"
    if retired.exists() or retired.is_symlink():
        _remove(retired)
    run_dir.rename(retired)
    try:
        staging.rename(run_dir)
    except BaseException:
        retired.rename(run_dir)
        raise
    _remove(retired)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- drawing
def _render_into(spec: Any, run_dir: Path, staging: Path) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Write figures/, report.md and resolved.yaml into ``staging``; ``(figures, differing metrics)``."""
    from geokeras import report_stage as stage
    from geokeras.api import _write_resolved_spec
    from geokeras.preflight import located_in_spec

    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    provenance = json.loads((run_dir / "provenance.json").read_text(encoding="utf-8"))
    _write_resolved_spec(spec, staging)
    figures: tuple = ()
    differing: tuple[str, ...] = ()
    if spec.report.figures:
        figures_dir = staging / "figures"
        figures_dir.mkdir()
        with located_in_spec(spec):
            trained = _trained_run(spec, run_dir, history)
            evaluated, evaluator_figures = stage.evaluate(spec, trained, figures_dir)
            codes = stage.encode(trained.encoder, trained.x_train)
            standard = stage.standard_figures(spec, trained, codes, figures_dir)
        figures = (*standard, *evaluator_figures)
        differing = tuple(
            name
            for section, values in evaluated.items()
            for name in _differences(metrics.get(section), values, section)
        )
    stage.write_report(spec, metrics, figures, provenance, staging)
    return figures, differing


def _trained_run(spec: Any, run_dir: Path, history: dict) -> Any:
    """The run's data (drawn again from its seeds) and its saved models."""
    import keras

    from geokeras import report_stage as stage
    from geokeras.api import _prepare

    prepared = _prepare(spec)  # runtime, manifold, seeds and training data, as the run had them
    models = {name: keras.models.load_model(run_dir / "models" / f"{name}.keras") for name in MODEL_FILES}
    ot = generation = None
    if spec.latent_ot is not None and (run_dir / "models" / "ot.keras").is_file():
        ot, generation = _saved_ot(spec, run_dir, prepared.seeds, models["decoder"])
    return stage.TrainedRun(
        manifold=prepared.manifold,
        x_train=prepared.x_train,
        parameters=prepared.parameters,
        encoder=models["encoder"],
        decoder=models["decoder"],
        autoencoder=models["autoencoder"],
        history=history,
        evaluation_seed=prepared.seeds["evaluation"],
        ot=ot,
        generation=generation,
    )


def _saved_ot(spec: Any, run_dir: Path, seeds: dict, decoder: Any) -> tuple[Any, Any]:
    """The OT map of ``models/ot.keras`` as an OTResult (solver numbers from metrics.json) and its
    AE-OT samples generated again with the run's seed."""
    import keras
    import numpy as np

    from geokeras.ot.generation import generate
    from geokeras.ot.layer import SemiDiscreteOT
    from geokeras.ot.solve import OTResult
    from geokeras.ot.sources import make_source

    model = keras.models.load_model(run_dir / "models" / "ot.keras")
    layer = next(layer for layer in model.layers if isinstance(layer, SemiDiscreteOT))
    targets = np.asarray(layer.targets, dtype=np.float32)
    heights = np.asarray(layer.heights, dtype=np.float64)
    weights = np.asarray(layer.target_weights, dtype=np.float64)
    weights = weights / weights.sum()
    recorded = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")).get("ot", {})
    result = OTResult(
        heights=heights,
        targets=targets,
        weights=weights,
        source=make_source(spec.latent_ot.source, targets.shape[1]),
        solver=recorded.get("solver", spec.latent_ot.solver.type),
        max_rel_mass_error=recorded.get("max_rel_mass_error", math.nan),
        tv=recorded.get("tv", math.nan),
        empty_cells=recorded.get("empty_cells", 0),
        steps=recorded.get("steps", 0),
        samples=recorded.get("samples", 0),
        seconds=recorded.get("seconds", 0.0),
        converged=recorded.get("converged", False),
        tv_bound=recorded.get("tv_bound"),
        evaluation_samples=recorded.get("evaluation_samples", 0),
        warning=recorded.get("warning"),
    )
    generation = generate(
        result.targets,
        result.heights,
        result.source,
        spec.latent_ot.generate,
        seed=seeds["ot_generate"],
        decoder=decoder,
    )
    return result, generation


def _differences(recorded: Any, computed: Any, where: str) -> list[str]:
    """Dotted names where ``computed`` differs from ``recorded`` (floats to METRIC_RTOL; timings ignored)."""
    from geokeras.report.compare import TIMING_METRICS

    if where in TIMING_METRICS:
        return []
    if isinstance(computed, dict):
        if not isinstance(recorded, dict):
            return [where]
        return [name for key in computed for name in _differences(recorded.get(key), computed[key], f"{where}.{key}")]
    if isinstance(computed, float) and isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
        same = math.isclose(computed, recorded, rel_tol=METRIC_RTOL) or (math.isnan(computed) and math.isnan(recorded))
        return [] if same else [where]
    normalised = json.loads(json.dumps(computed, default=float))  # tuples as lists, numpy scalars as numbers
    return [] if normalised == recorded else [where]
