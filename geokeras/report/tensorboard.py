"""What a finished run adds to its TensorBoard logs: hyperparameters, metrics and verdicts.

Training writes the per-epoch scalars (``logs/train``, ``logs/validation``:
:class:`geokeras.models.training.EpochScalarLogger`). Once metrics.json is known, the run writes
one more event file into ``logs/`` itself, so that ``tensorboard --logdir runs/`` compares runs:

* the **hparams session** (TensorBoard's HParams tab): the resolved spec flattened to dotted keys
  as an override writes them (``train.epochs``, ``model.encoder.widths``), see :func:`hparam_values`;
* every scalar of metrics.json as a scalar summary, dots turned into slashes
  (``reconstruction/mse``; booleans as 0 or 1), see :func:`metric_scalars`; the HParams tab
  shows them as the session's metrics;
* each verdict of report.md as a scalar ``verdicts/<name>`` (1 pass, 0 fail; undecided left out)
  and all of them, with their criteria, as the Markdown text summary ``verdicts``.

A sweep writes the experiment configuration (:func:`write_sweep_hparams_config`): its swept
keys and headline metrics as the HParams tab's columns. Everything is written with the
tensorboard package's own event writer and protocol buffers, without TensorFlow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from geokeras.report.compare import flatten_metrics, flatten_spec

MAX_HPARAMS = 200
"""At most this many spec keys become hyperparameters (in spec order); the rest are left out."""

HPARAMS_CONFIG_DIR = "tensorboard"
"""The folder of a sweep folder that holds the sweep's hparams experiment configuration."""

VERDICTS_TAG = "verdicts"
"""The tag of the verdicts' text summary, and the prefix of their scalars."""

Scalar = Union[bool, int, float, str]


def hparam_values(spec: Mapping[str, Any], *, limit: int = MAX_HPARAMS) -> dict[str, Scalar]:
    """The resolved spec as ``{dotted key: bool, int, float or str}``, in spec order, at most ``limit`` keys.

    Keys are those of :func:`geokeras.report.compare.flatten_spec` (``model.encoder.widths``,
    ``evaluate.0.samples``); a list or an empty mapping becomes its JSON text (``"[16, 16]"``);
    null values are left out (TensorBoard has no null).
    """
    values: dict[str, Scalar] = {}
    for key, value in flatten_spec(dict(spec)).items():
        if len(values) >= limit:
            break
        if value is None:
            continue
        values[key] = value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
    return values


def metric_tag(dotted: str) -> str:
    """``reconstruction.mse`` -> ``reconstruction/mse``: TensorBoard groups tags by their first part."""
    return dotted.replace(".", "/")


def metric_scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Every number of metrics.json as ``{tag: float}`` (:func:`metric_tag`); booleans as 0 or 1.

    Strings (a verdict's name, the spec's hash) and lists are not scalars: the verdicts are
    written as text, the spec's identity is the run's hparams. An exact integer beyond the float
    range (an architecture's region bound can have hundreds of digits) has no scalar either: it
    stays in metrics.json and report.md.
    """
    scalars = {}
    for key, value in flatten_metrics(dict(metrics)).items():
        if isinstance(value, bool):
            scalars[metric_tag(key)] = 1.0 if value else 0.0
        elif isinstance(value, float) or (isinstance(value, int) and abs(value) < 2**1023):
            scalars[metric_tag(key)] = float(value)
    return scalars


def verdict_tag(question: str) -> str:
    """``Learned a chart (learnability)`` -> ``verdicts/learned_a_chart_learnability``."""
    slug = re.sub(r"[^0-9a-z]+", "_", question.lower()).strip("_")
    return f"{VERDICTS_TAG}/{slug}"


def verdict_scalars(metrics: Mapping[str, Any], spec: Optional[Mapping[str, Any]] = None) -> dict[str, float]:
    """``{verdict tag: 1.0 pass, 0.0 fail}`` for each decided verdict of :func:`geokeras.report.verdicts.verdicts`."""
    from geokeras.report.verdicts import verdicts

    return _decided(verdicts(metrics, spec))


def _decided(found: Sequence[Any]) -> dict[str, float]:
    return {
        verdict_tag(verdict.question): 1.0 if verdict.passed else 0.0 for verdict in found if verdict.passed is not None
    }


def write_run_summaries(
    logs_dir: Union[str, Path],
    spec: Mapping[str, Any],
    metrics: Mapping[str, Any],
    *,
    trial_id: str,
) -> Path:
    """Write the hparams session, the metric and verdict scalars and the verdicts' text into ``logs_dir``.

    Args:
        logs_dir: the run's ``logs/`` folder (created if missing).
        spec: the resolved spec as a mapping (``Spec.to_dict()``).
        metrics: the content of metrics.json.
        trial_id: the session's group name in the HParams tab (the run directory's name).

    Returns:
        The event file written. The scalars are at the step of the last epoch (``training.epochs`` - 1,
        as the loss curves number epochs from 0).
    """
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.plugins.scalar.summary_v2 import scalar_pb
    from tensorboard.plugins.text.summary_v2 import text_pb

    from geokeras.report.markdown import format_value
    from geokeras.report.verdicts import verdict_lines, verdicts

    epochs = (metrics.get("training") or {}).get("epochs")
    step = max(epochs - 1, 0) if isinstance(epochs, int) and not isinstance(epochs, bool) else 0
    found = verdicts(metrics, spec)
    summaries = [hp.hparams_pb(hparam_values(spec), trial_id=trial_id)]
    scalars = {**metric_scalars(metrics), **_decided(found)}
    summaries += [scalar_pb(tag, value) for tag, value in scalars.items()]
    if found:
        summaries.append(text_pb(VERDICTS_TAG, "\n".join(verdict_lines(found, format_value))))
    return _write_events(Path(logs_dir), summaries, step)


def write_sweep_hparams_config(
    sweep_dir: Union[str, Path],
    swept_keys: Sequence[str],
    point_specs: Sequence[Mapping[str, Any]],
    run_dirs: Sequence[Union[str, Path]],
    headline: Sequence[str],
) -> Path:
    """The sweep's hparams experiment configuration, in ``sweep_dir/tensorboard/``: the HParams tab's columns.

    The hyperparameter columns are the swept keys (a key of a mapping stands for the keys under
    it); the metric columns are those of ``headline`` that some run reports as a number, then
    the verdicts' scalars the runs report, then the last epoch's training loss.

    Args:
        sweep_dir: the sweep folder (under the runs root, beside the points' run directories).
        swept_keys: the keys that take more than one value.
        point_specs: the points' resolved specs as mappings (for the columns' names and domains).
        run_dirs: the finished points' run directories (their metrics.json tell which metrics exist).
        headline: flattened metrics.json keys, in column order (``training.final_loss``).

    Returns:
        The event file written.
    """
    from tensorboard.plugins.hparams import summary_v2 as hp

    values_per_point = [hparam_values(spec) for spec in point_specs]
    names = [
        name
        for key in swept_keys
        for name in (values_per_point[0] if values_per_point else {})
        if name == key or name.startswith(f"{key}.")
    ]
    hparams = [_hparam(name, [values[name] for values in values_per_point if name in values]) for name in names]
    reported: dict[str, None] = {}
    for run_dir in run_dirs:
        written = Path(run_dir) / "metrics.json"
        if not written.is_file():  # a point whose run directory went away since: no columns from it
            continue
        metrics = json.loads(written.read_text(encoding="utf-8"))
        reported.update(dict.fromkeys([*metric_scalars(metrics), *verdict_scalars(metrics)]))
    tags = [metric_tag(name) for name in headline if metric_tag(name) in reported]
    tags += [tag for tag in reported if tag.startswith(f"{VERDICTS_TAG}/")]
    metrics = [hp.Metric(tag, display_name=tag.replace("/", ".")) for tag in tags]
    metrics.append(hp.Metric("epoch_loss", group="train", display_name="train loss (last epoch)"))
    return _write_events(Path(sweep_dir) / HPARAMS_CONFIG_DIR, [hp.hparams_config_pb(hparams, metrics)], 0)


def _hparam(name: str, values: Sequence[Scalar]) -> Any:
    """An ``HParam`` with a discrete domain when its values are all strings or all booleans."""
    from tensorboard.plugins.hparams import summary_v2 as hp

    distinct = sorted(set(values), key=repr)
    if distinct and (all(isinstance(v, str) for v in distinct) or all(isinstance(v, bool) for v in distinct)):
        return hp.HParam(name, hp.Discrete(distinct))
    return hp.HParam(name)


def _write_events(folder: Path, summaries: Sequence[Any], step: int) -> Path:
    """A new event file in ``folder`` holding ``summaries`` at ``step``, named as TensorFlow names them.

    Written with plain file I/O and the tensorboard package's record format (length, masked CRC32C,
    data, masked CRC32C): its own ``EventFileWriter`` would import TensorFlow through
    ``tensorboard.compat``, seconds of start-up the sweep driver has no need for.
    """
    import itertools
    import os
    import socket
    import time

    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    folder.mkdir(parents=True, exist_ok=True)
    stem = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}"
    path = next(folder / f"{stem}.{n}" for n in itertools.count() if not (folder / f"{stem}.{n}").exists())
    events = [event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")]
    events += [event_pb2.Event(wall_time=time.time(), step=step, summary=summary) for summary in summaries]
    with open(path, "xb") as file:
        records = RecordWriter(file)
        for event in events:
            records.write(event.SerializeToString())
    return path
