"""This process's place in a multi-worker cluster, read from ``TF_CONFIG`` (no TensorFlow import).

``runtime.strategy: multi_worker`` trains with ``tf.distribute.MultiWorkerMirroredStrategy``, which
reads the cluster from the ``TF_CONFIG`` environment variable::

    {"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 1}}

Every task of the cluster (``chief`` and ``worker`` jobs) trains, each on its share of every batch.
One of them is the chief, by TensorFlow's rule: the ``chief`` task when the cluster has a ``chief``
job, else ``worker`` 0. The chief alone writes the run directory; :func:`cluster_task` tells a run
which one it is before anything is written or TensorFlow is imported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Mapping, Optional

from geokeras.errors import GeokerasInputError, shortened

TF_CONFIG_VARIABLE = "TF_CONFIG"
TRAINING_JOBS = ("chief", "worker")
"""The jobs whose tasks train; MultiWorkerMirroredStrategy knows no others (no ``ps``, no ``evaluator``)."""


@dataclass(frozen=True)
class ClusterTask:
    """One training task of a cluster.

    Attributes:
        task_type: ``"chief"`` or ``"worker"``.
        index: the task's index in its job.
        tasks: how many tasks train (the ``chief`` and ``worker`` jobs together).
        has_chief_job: whether the cluster names a ``chief`` job (then worker 0 is not the chief).
    """

    task_type: str
    index: int
    tasks: int
    has_chief_job: bool = False

    @property
    def is_chief(self) -> bool:
        """TensorFlow's rule: the ``chief`` task if there is a chief job, else worker 0."""
        if self.has_chief_job:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.index == 0

    def describe(self) -> str:
        """``worker 1 of 2`` (``chief of 3`` for a ``chief`` task)."""
        name = "chief" if self.task_type == "chief" else f"worker {self.index}"
        return f"{name} of {self.tasks}"


def cluster_task(environ: Optional[Mapping[str, str]] = None) -> Optional[ClusterTask]:
    """The task ``TF_CONFIG`` describes; None without ``TF_CONFIG`` or with a cluster of one task.

    A run that gets None behaves as a single process: it writes its run directory itself.

    Raises:
        GeokerasInputError: ``TF_CONFIG`` is not JSON, lacks ``cluster`` or ``task``, names a task
            that is not in its cluster, or a task type other than ``chief`` and ``worker``.
    """
    text = (os.environ if environ is None else environ).get(TF_CONFIG_VARIABLE, "")
    if not text.strip():
        return None
    try:
        config = json.loads(text)
    except ValueError as error:
        raise GeokerasInputError(
            f"expected {TF_CONFIG_VARIABLE} to be JSON, "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}. '
            f"Received {shortened(text)!r} ({error})."
        ) from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise GeokerasInputError(
            f"expected {TF_CONFIG_VARIABLE} to hold a 'cluster' mapping and a 'task' mapping. "
            f"Received {shortened(text)!r}."
        )
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in TRAINING_JOBS:
        raise GeokerasInputError(
            f"expected the task type of {TF_CONFIG_VARIABLE} to be one of {', '.join(TRAINING_JOBS)} "
            f"(runtime.strategy multi_worker trains on every task). Received: type={task_type!r}."
        )
    addresses = cluster.get(task_type)
    if (
        not isinstance(addresses, list)
        or isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(addresses)
    ):
        raise GeokerasInputError(
            f"expected the task of {TF_CONFIG_VARIABLE} to be in its cluster: an index from 0 to "
            f"len(cluster[{task_type!r}]) - 1. Received: index={index!r}, cluster={shortened(json.dumps(cluster))}."
        )
    tasks = sum(len(cluster.get(job) or []) for job in TRAINING_JOBS)
    if tasks <= 1:
        return None
    return ClusterTask(task_type=task_type, index=index, tasks=tasks, has_chief_job=bool(cluster.get("chief")))
